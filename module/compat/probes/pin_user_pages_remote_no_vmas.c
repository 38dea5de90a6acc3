// SPDX-License-Identifier: GPL-2.0-only
/*
 * Probe: pin_user_pages_remote() lost its vmas argument (Linux 6.5).
 * Exports: pin_user_pages_remote
 */
#include <linux/mm.h>

static __maybe_unused long probe(struct mm_struct *mm, struct page **pages)
{
	return pin_user_pages_remote(mm, 0, 1, FOLL_LONGTERM, pages, NULL);
}
