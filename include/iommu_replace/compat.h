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
#include <linux/irqdomain.h>
#include <linux/mm.h>

#include "compat_config.h"

/* 6.3: iommu_map_sg() takes the gfp_t for its page-table allocations. */
static inline ssize_t iorp_iommu_map_sg(struct iommu_domain *domain,
					unsigned long iova,
					struct scatterlist *sg,
					unsigned int nents, int prot)
{
#ifdef HAVE_IOMMU_MAP_GFP
	return iommu_map_sg(domain, iova, sg, nents, prot, GFP_KERNEL_ACCOUNT);
#else
	return iommu_map_sg(domain, iova, sg, nents, prot);
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
 * 6.6: the core replaces a group's domain itself. Exported for iommufd only
 * (namespace IOMMUFD_INTERNAL, imported by domain_switch.c); the prototype
 * sits in a private header, so it is declared here.
 */
#ifdef HAVE_IOMMU_GROUP_REPLACE_DOMAIN
int iommu_group_replace_domain(struct iommu_group *group,
			       struct iommu_domain *new_domain);
#define IORP_HAVE_NATIVE_REPLACE true
static inline int iorp_group_replace_domain(struct iommu_group *group,
					    struct iommu_domain *domain)
{
	return iommu_group_replace_domain(group, domain);
}
#else
#define IORP_HAVE_NATIVE_REPLACE false
static inline int iorp_group_replace_domain(struct iommu_group *group,
					    struct iommu_domain *domain)
{
	return -EOPNOTSUPP;
}
#endif

/* 6.11: paging domains are allocated for a device, with an ERR_PTR. */
static inline struct iommu_domain *iorp_paging_domain_alloc(struct device *dev)
{
#ifdef HAVE_IOMMU_PAGING_DOMAIN_ALLOC
	return iommu_paging_domain_alloc(dev);
#else
	return iommu_domain_alloc(dev->bus) ?: ERR_PTR(-ENOMEM);
#endif
}

/* 6.3: MSI isolation is asked of the group. */
static inline bool iorp_group_has_isolated_msi(struct iommu_group *group,
					       struct device *dev)
{
#ifdef HAVE_IOMMU_GROUP_HAS_ISOLATED_MSI
	return iommu_group_has_isolated_msi(group);
#else
	return irq_domain_check_msi_remap() ||
	       device_iommu_capable(dev, IOMMU_CAP_INTR_REMAP);
#endif
}

/*
 * Newer GUP (6.12, not 6.1) breaks copy-on-write before a read-only
 * long-term pin of a private file page too, so the pinned page stays the
 * one the process sees when it writes; older GUP did that for anonymous
 * pages only (pages.c makes up for it where the mapping is writable).
 */
#ifdef HAVE_GUP_UNSHARE_ANON_ONLY
#define IORP_GUP_UNSHARES_FILE_PAGES false
#else
#define IORP_GUP_UNSHARES_FILE_PAGES true
#endif

/*
 * 6.2: a device says whether its IOMMU can force DMA to snoop CPU caches,
 * so a fresh domain can be told to before anything is mapped (what iommufd
 * does). Before, only the domain operation answered, for the IOMMUs
 * already attached: asked of a domain that never met one, 6.1's VT-d says
 * yes even where the hardware cannot, and every attach then fails.
 */
static inline bool iorp_can_enforce_cache_coherency(struct device *dev)
{
#ifdef HAVE_IOMMU_CAP_ENFORCE_CACHE_COHERENCY
	return device_iommu_capable(dev, IOMMU_CAP_ENFORCE_CACHE_COHERENCY);
#else
	return false;
#endif
}

/*
 * 6.6: the driver allocates a paging domain for a device (what iommufd
 * uses), and the domain knows its IOMMU from the start: aperture, page
 * sizes, snoop control. Before (and from drivers without it) a domain is
 * allocated by bus or as the core's UNMANAGED type, and 6.1's and 6.12's
 * VT-d fill in the real aperture and superpages only at its first attach.
 * The caller holds the device's IOMMU state (it is not being released).
 */
#ifdef HAVE_IOMMU_DOMAIN_ALLOC_USER
#define IORP_DOMAINS_KNOW_THEIR_IOMMU true
#else
#define IORP_DOMAINS_KNOW_THEIR_IOMMU false
#endif

static inline struct iommu_domain *iorp_device_domain_alloc(struct device *dev)
{
#ifdef HAVE_IOMMU_DOMAIN_ALLOC_USER
	const struct iommu_ops *ops = dev->iommu->iommu_dev->ops;
	struct iommu_domain *domain;

	if (ops->domain_alloc_user) {
		domain = ops->domain_alloc_user(dev, 0, NULL, NULL);
		if (IS_ERR_OR_NULL(domain))
			return domain ?: ERR_PTR(-ENOMEM);
		/* as iommufd: not every driver records itself */
		domain->owner = ops;
		return domain;
	}
#endif
	return iorp_paging_domain_alloc(dev);
}

/*
 * 6.6: the driver reports what its IOMMU is (IOMMU_GET_HW_INFO). *type
 * and *len stay as they are without a report, or with one larger than
 * size (which could not be given whole).
 */
static inline void iorp_iommu_hw_info(struct device *dev, u32 *type, void *data,
				      size_t size, u32 *len)
{
#ifdef HAVE_IOMMU_OPS_HW_INFO
	const struct iommu_ops *ops = dev->iommu->iommu_dev->ops;
	u32 length, hw_type;
	void *info;

	if (!ops->hw_info)
		return;
	info = ops->hw_info(dev, &length, &hw_type);
	if (IS_ERR_OR_NULL(info))
		return;
	if (length <= size) {
		memcpy(data, info, length);
		*len = length;
		*type = hw_type;
	}
	kfree(info);
#endif
}

/* 6.5: a domain records the driver that made it. */
static inline bool iorp_domain_is_for(struct iommu_domain *domain,
				      struct device *dev)
{
	const struct iommu_ops *ops = dev->iommu->iommu_dev->ops;

#ifdef HAVE_IOMMU_DOMAIN_OWNER
	return domain->owner == ops;
#else
	return domain->ops == ops->default_domain_ops;
#endif
}

#endif /* IORP_COMPAT_H */
