// SPDX-License-Identifier: GPL-2.0-only
/*
 * Probe: GUP breaks COW early only for anonymous pages: linux/mm.h still
 * declares the anon-only gup_must_unshare(flags, page) (6.1 does; 6.12
 * moved it to mm/internal.h and extended it to file pages). There, a
 * read-only long-term pin of a private file page goes stale once the
 * process writes to the page.
 */
#include <linux/mm.h>

static __maybe_unused bool probe(struct page *page)
{
	return gup_must_unshare(FOLL_PIN | FOLL_LONGTERM, page);
}
