/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * linux/iommu_replace.h - what iommu_replace.ko exports to other modules:
 * the domain switch.
 *
 * A module that owns the DMA of an iommu group (it claimed it through
 * iommu_replace_claim()) moves the group's hardware from one IOMMU domain
 * straight to another with iommu_replace_switch(): the devices never pass
 * through the blocking or the default domain on the way, and if the switch
 * fails the group is still on the domain it had. Where the kernel exports
 * iommu_group_replace_domain() (a build probe finds it: Debian's 6.12
 * does) that is what runs; elsewhere (Debian's 6.1) the iommu core keeps
 * the group on its blocking domain and the switch calls the IOMMU
 * driver's attach_dev for every device of the group, rolling back on
 * failure. The module parameter force_fallback picks the second way
 * everywhere.
 *
 * Intel VT-d and AMD-Vi block a device's DMA for a moment inside every
 * attach: a switch is atomic for the group, not hitless for each device.
 *
 * The symbols are in the IOMMU_REPLACE namespace:
 * MODULE_IMPORT_NS(IOMMU_REPLACE).
 */
#ifndef _LINUX_IOMMU_REPLACE_H
#define _LINUX_IOMMU_REPLACE_H

struct iommu_domain;
struct iommu_group;
struct iommu_replace_group;

struct iommu_replace_group *iommu_replace_claim(struct iommu_group *group,
						void *owner);
int iommu_replace_switch(struct iommu_replace_group *rg,
			 struct iommu_domain *domain);
struct iommu_domain *iommu_replace_domain(struct iommu_replace_group *rg);
void iommu_replace_release(struct iommu_replace_group *rg);

#endif /* _LINUX_IOMMU_REPLACE_H */
