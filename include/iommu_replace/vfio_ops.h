/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vfio_ops.h - VFIO's private IOMMU-backend interface, declared again.
 *
 * The kernel declares struct vfio_iommu_driver_ops, enum vfio_group_type
 * and vfio_register_iommu_driver() in drivers/vfio/vfio.h, which no headers
 * package ships. This module declares them itself, under its own names and
 * in the two layouts Debian's kernels have: 6.1's, which ends with a
 * notify member, and 6.12's, which does not. Which one (if any) matches
 * the target kernel is decided at build time by module/compat/vfio-layout,
 * never by a version number: it compares the kernel's own description of
 * the struct (the BTF of its vfio module, or its private header where the
 * kernel source is at hand) with the layouts these declarations were
 * checked against. Only then is IORP_VFIO_OPS_LAYOUT defined (in
 * compat_config.h, through iommu_replace/compat.h, included first).
 */
#ifndef IORP_VFIO_OPS_H
#define IORP_VFIO_OPS_H

#include <linux/types.h>

#ifndef IORP_VFIO_OPS_LAYOUT
#error "include vfio_ops.h only where IORP_VFIO_OPS_LAYOUT is defined"
#endif

/* the two layouts module/compat/vfio-layout can report */
#define IORP_VFIO_OPS_LAYOUT_NOTIFY	1	/* 6.1: with notify */
#define IORP_VFIO_OPS_LAYOUT_PLAIN	2	/* 6.12: without it */

struct iommu_domain;
struct iommu_group;
struct module;
struct page;
struct vfio_device;

/* enum vfio_group_type: what kind of group VFIO attaches */
enum iorp_vfio_group_type {
	IORP_VFIO_IOMMU = 0,		/* a device behind an IOMMU */
	IORP_VFIO_EMULATED_IOMMU = 1,	/* mdev-style, DMA through pins */
	IORP_VFIO_NO_IOMMU = 2,		/* unsafe no-IOMMU mode */
};

/* enum vfio_iommu_notify_type (6.1 only) */
enum iorp_vfio_notify_type {
	IORP_VFIO_CONTAINER_CLOSE = 0,
};

/* struct vfio_iommu_driver_ops, member for member */
struct iorp_vfio_iommu_driver_ops {
	char *name;
	struct module *owner;
	void *(*open)(unsigned long arg);
	void (*release)(void *iommu_data);
	long (*ioctl)(void *iommu_data, unsigned int cmd, unsigned long arg);
	int (*attach_group)(void *iommu_data, struct iommu_group *group,
			    enum iorp_vfio_group_type type);
	void (*detach_group)(void *iommu_data, struct iommu_group *group);
	int (*pin_pages)(void *iommu_data, struct iommu_group *group,
			 dma_addr_t user_iova, int npage, int prot,
			 struct page **pages);
	void (*unpin_pages)(void *iommu_data, dma_addr_t user_iova, int npage);
	void (*register_device)(void *iommu_data, struct vfio_device *vdev);
	void (*unregister_device)(void *iommu_data, struct vfio_device *vdev);
	int (*dma_rw)(void *iommu_data, dma_addr_t user_iova, void *data,
		      size_t count, bool write);
	struct iommu_domain *(*group_iommu_domain)(void *iommu_data,
						   struct iommu_group *group);
#if IORP_VFIO_OPS_LAYOUT == IORP_VFIO_OPS_LAYOUT_NOTIFY
	void (*notify)(void *iommu_data, enum iorp_vfio_notify_type event);
#endif
};

/* the layout check includes the kernel's own declarations instead */
#ifndef IORP_VFIO_LAYOUT_CHECK
int vfio_register_iommu_driver(const struct iorp_vfio_iommu_driver_ops *ops);
void vfio_unregister_iommu_driver(const struct iorp_vfio_iommu_driver_ops *ops);
#endif

#endif /* IORP_VFIO_OPS_H */
