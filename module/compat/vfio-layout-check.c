// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-layout-check.c - appended by vfio-layout to a file that includes
 * the kernel's drivers/vfio/vfio.h and then include/iommu_replace/
 * vfio_ops.h with IORP_VFIO_OPS_LAYOUT set to one candidate layout: it
 * builds only if the candidate matches the kernel's struct
 * vfio_iommu_driver_ops member for member (offset, size, type) and
 * enum vfio_group_type value for value.
 */
#include <linux/build_bug.h>
#include <linux/container_of.h>
#include <linux/stddef.h>

/* the kernel's struct, and ours */
#define IORP_KOPS struct vfio_iommu_driver_ops
#define IORP_OURS struct iorp_vfio_iommu_driver_ops

/* each uses its member once */
#define IORP_KOFF(m)	offsetof(IORP_KOPS, m)
#define IORP_OOFF(m)	offsetof(IORP_OURS, m)
#define IORP_KSIZE(m)	sizeof_field(IORP_KOPS, m)
#define IORP_OSIZE(m)	sizeof_field(IORP_OURS, m)
#define IORP_KTYPE(m)	typeof_member(IORP_KOPS, m)
#define IORP_OTYPE(m)	typeof_member(IORP_OURS, m)
#define IORP_COMPATIBLE(a, b)	__builtin_types_compatible_p(a, b)

static_assert(sizeof(IORP_KOPS) == sizeof(IORP_OURS));
static_assert(IORP_KOFF(name) == IORP_OOFF(name) &&
	      IORP_KSIZE(name) == IORP_OSIZE(name) &&
	      IORP_COMPATIBLE(IORP_KTYPE(name), IORP_OTYPE(name)));
static_assert(IORP_KOFF(owner) == IORP_OOFF(owner) &&
	      IORP_KSIZE(owner) == IORP_OSIZE(owner) &&
	      IORP_COMPATIBLE(IORP_KTYPE(owner), IORP_OTYPE(owner)));
static_assert(IORP_KOFF(open) == IORP_OOFF(open) &&
	      IORP_KSIZE(open) == IORP_OSIZE(open) &&
	      IORP_COMPATIBLE(IORP_KTYPE(open), IORP_OTYPE(open)));
static_assert(IORP_KOFF(release) == IORP_OOFF(release) &&
	      IORP_KSIZE(release) == IORP_OSIZE(release) &&
	      IORP_COMPATIBLE(IORP_KTYPE(release), IORP_OTYPE(release)));
static_assert(IORP_KOFF(ioctl) == IORP_OOFF(ioctl) &&
	      IORP_KSIZE(ioctl) == IORP_OSIZE(ioctl) &&
	      IORP_COMPATIBLE(IORP_KTYPE(ioctl), IORP_OTYPE(ioctl)));
static_assert(IORP_KOFF(detach_group) == IORP_OOFF(detach_group) &&
	      IORP_KSIZE(detach_group) == IORP_OSIZE(detach_group) &&
	      IORP_COMPATIBLE(IORP_KTYPE(detach_group), IORP_OTYPE(detach_group)));
static_assert(IORP_KOFF(pin_pages) == IORP_OOFF(pin_pages) &&
	      IORP_KSIZE(pin_pages) == IORP_OSIZE(pin_pages) &&
	      IORP_COMPATIBLE(IORP_KTYPE(pin_pages), IORP_OTYPE(pin_pages)));
static_assert(IORP_KOFF(unpin_pages) == IORP_OOFF(unpin_pages) &&
	      IORP_KSIZE(unpin_pages) == IORP_OSIZE(unpin_pages) &&
	      IORP_COMPATIBLE(IORP_KTYPE(unpin_pages), IORP_OTYPE(unpin_pages)));
static_assert(IORP_KOFF(register_device) == IORP_OOFF(register_device) &&
	      IORP_KSIZE(register_device) == IORP_OSIZE(register_device) &&
	      IORP_COMPATIBLE(IORP_KTYPE(register_device), IORP_OTYPE(register_device)));
static_assert(IORP_KOFF(unregister_device) == IORP_OOFF(unregister_device) &&
	      IORP_KSIZE(unregister_device) == IORP_OSIZE(unregister_device) &&
	      IORP_COMPATIBLE(IORP_KTYPE(unregister_device), IORP_OTYPE(unregister_device)));
static_assert(IORP_KOFF(dma_rw) == IORP_OOFF(dma_rw) &&
	      IORP_KSIZE(dma_rw) == IORP_OSIZE(dma_rw) &&
	      IORP_COMPATIBLE(IORP_KTYPE(dma_rw), IORP_OTYPE(dma_rw)));
static_assert(IORP_KOFF(group_iommu_domain) == IORP_OOFF(group_iommu_domain) &&
	      IORP_KSIZE(group_iommu_domain) == IORP_OSIZE(group_iommu_domain) &&
	      IORP_COMPATIBLE(IORP_KTYPE(group_iommu_domain), IORP_OTYPE(group_iommu_domain)));
/* the members whose types name an enum: ours is spelled differently */
static_assert(IORP_KOFF(attach_group) == IORP_OOFF(attach_group) &&
	      IORP_KSIZE(attach_group) == IORP_OSIZE(attach_group) &&
	      IORP_COMPATIBLE(IORP_KTYPE(attach_group),
			      int (*)(void *, struct iommu_group *,
				      enum vfio_group_type)));
#if IORP_VFIO_OPS_LAYOUT == IORP_VFIO_OPS_LAYOUT_NOTIFY
static_assert(IORP_KOFF(notify) == IORP_OOFF(notify) &&
	      IORP_KSIZE(notify) == IORP_OSIZE(notify) &&
	      IORP_COMPATIBLE(IORP_KTYPE(notify),
			      void (*)(void *, enum vfio_iommu_notify_type)));
static_assert(VFIO_IOMMU_CONTAINER_CLOSE == IORP_VFIO_CONTAINER_CLOSE);
#endif

static_assert(sizeof(enum vfio_group_type) ==
	      sizeof(enum iorp_vfio_group_type));
static_assert(VFIO_IOMMU == IORP_VFIO_IOMMU);
static_assert(VFIO_EMULATED_IOMMU == IORP_VFIO_EMULATED_IOMMU);
static_assert(VFIO_NO_IOMMU == IORP_VFIO_NO_IOMMU);

/* and the registration functions take the struct as declared */
static_assert(IORP_COMPATIBLE(typeof(vfio_register_iommu_driver),
			      int (const IORP_KOPS *)));
static_assert(IORP_COMPATIBLE(typeof(vfio_unregister_iommu_driver),
			      void (const IORP_KOPS *)));

MODULE_LICENSE("GPL");
