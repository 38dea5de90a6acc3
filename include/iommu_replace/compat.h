/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * compat.h - the one place where kernel API differences are resolved.
 *
 * compat_config.h is generated per kernel by module/compat/run-probes: one
 * HAVE_<PROBE> macro per file in module/compat/probes/. This header turns
 * those macros into iorp_* wrappers with one calling convention, so the rest
 * of the module never tests a kernel version or a HAVE_* macro itself.
 */
#ifndef IORP_COMPAT_H
#define IORP_COMPAT_H

#include <linux/iommu.h>
#include <linux/mm.h>

#include "compat_config.h"

/* 6.3: iommu_map() takes the gfp_t for its page-table allocations. */
static inline int iorp_iommu_map(struct iommu_domain *domain,
				 unsigned long iova, phys_addr_t paddr,
				 size_t size, int prot)
{
#ifdef HAVE_IOMMU_MAP_GFP
	return iommu_map(domain, iova, paddr, size, prot, GFP_KERNEL_ACCOUNT);
#else
	return iommu_map(domain, iova, paddr, size, prot);
#endif
}

/* 6.5: pin_user_pages_remote() lost its vmas argument. Needs mmap_lock. */
static inline long iorp_pin_user_pages_remote(struct mm_struct *mm,
					      unsigned long start,
					      unsigned long nr_pages,
					      unsigned int gup_flags,
					      struct page **pages)
{
#ifdef HAVE_PIN_USER_PAGES_REMOTE_NO_VMAS
	return pin_user_pages_remote(mm, start, nr_pages, gup_flags, pages,
				     NULL);
#else
	return pin_user_pages_remote(mm, start, nr_pages, gup_flags, pages,
				     NULL, NULL);
#endif
}

/*
 * Newer GUP (6.12, not 6.1) breaks COW before a read-only long-term pin of
 * a private file page too, so the pinned page stays the one the process
 * sees; older GUP did that for anonymous pages only.
 */
#ifdef HAVE_GUP_UNSHARE_ANON_ONLY
#define IORP_RO_PIN_BREAKS_COW_ITSELF false
#else
#define IORP_RO_PIN_BREAKS_COW_ITSELF true
#endif

#endif /* IORP_COMPAT_H */
