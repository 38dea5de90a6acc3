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
 * What is guaranteed:
 *  - a switch to NULL (the blocking domain) does not fail, and the group's
 *    DMA is blocked when it returns (on 6.1's VT-d, whose way back
 *    allocates, a device the driver cannot attach is left blocked with no
 *    domain; it is retried first);
 *  - a failed switch leaves the group on its old domain, with one
 *    exception on the fallback route: if the driver also fails to put a
 *    device back (6.1's VT-d out of memory or of domain IDs), the whole
 *    group is left on the blocking domain, and iommu_replace_domain() says
 *    NULL. On the native route the core itself puts the group back;
 *  - not hitless: Intel VT-d and AMD-Vi block a device's DMA for a moment
 *    inside every attach, so DMA that straddles a switch can be lost or
 *    torn (measured; README "Replace is not hitless"). A switch is atomic
 *    for the group, never a visit to the blocking or default domain.
 *
 * Hot-unplug is the caller's to watch (a bus notifier): when the group's
 * last device is removed, release the group at its BUS_NOTIFY_DEL_DEVICE,
 * before the core releases the device (the core wants an empty group to
 * have no owner); and no switch may run on the fallback route while the
 * core releases a device of the group (6.1 does that without the group's
 * mutex). iommu_replace.ko's own devices do both (pci_device.c).
 *
 * The symbols are in the IOMMU_REPLACE namespace:
 * MODULE_IMPORT_NS(IOMMU_REPLACE).
 */
#ifndef _LINUX_IOMMU_REPLACE_H
#define _LINUX_IOMMU_REPLACE_H

struct iommu_domain;
struct iommu_group;
struct iommu_replace_group;

struct iommu_replace_group *iommu_replace_claim(struct iommu_group *iommu_group,
						void *owner);
int iommu_replace_switch(struct iommu_replace_group *rg,
			 struct iommu_domain *domain);
struct iommu_domain *iommu_replace_domain(struct iommu_replace_group *rg);
void iommu_replace_release(struct iommu_replace_group *rg);

#endif /* _LINUX_IOMMU_REPLACE_H */
