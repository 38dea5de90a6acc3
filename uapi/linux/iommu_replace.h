/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * iommu_replace.h - user API of /dev/iommu-replace
 *
 * The character device speaks the iommufd ioctl ABI for the commands it
 * implements (same numbers, same structs, same errno rules), so code written
 * for the IOAS and HWPT ioctls of <linux/iommufd.h> runs unchanged against it.
 * Commands upstream iommufd reaches through VFIO device fds (bind, attach,
 * replace, detach) are added by this header in a number range upstream does
 * not use.
 *
 * This header is self-contained. In user space it pulls in a system
 * <linux/iommufd.h> when one exists, and every iommufd definition below is
 * guarded by the presence of its ioctl macro, so the two headers can be
 * included in either order and an older system header is completed here.
 */
#ifndef _UAPI_LINUX_IOMMU_REPLACE_H
#define _UAPI_LINUX_IOMMU_REPLACE_H

#include <linux/ioctl.h>
#include <linux/types.h>

#if !defined(__KERNEL__) && defined(__has_include)
#if __has_include("linux/iommufd.h")
#include <linux/iommufd.h>
#endif
#endif

/**
 * DOC: ioctl argument format
 *
 * Every command takes a pointer to a struct whose first __u32 is the size of
 * that struct as the caller knows it. The rules, identical to iommufd's:
 *
 *  - A size smaller than the smallest struct the kernel accepts for the
 *    command fails with EINVAL.
 *  - A size larger than the kernel's struct is accepted only if every byte
 *    past the kernel's struct is zero; otherwise the call fails with E2BIG.
 *    So new fields can be appended and old binaries keep working.
 *  - A size between the two is accepted; the missing tail reads as zero.
 *  - Outputs are written back up to the size the caller gave.
 *
 * Common errnos:
 *
 *  - ENOTTY: the command number is not implemented.
 *  - E2BIG: non-zero bytes in a part of the struct the kernel does not know.
 *  - EOPNOTSUPP: a known field (flags, a reserved field) holds a value the
 *    kernel does not support.
 *  - EINVAL: a field is understood but its value is wrong.
 *  - ENOENT: an object ID or IOVA does not exist.
 *  - EBUSY: the object is in use by another object.
 *  - ENOMEM: out of memory.
 *  - EOVERFLOW: arithmetic on the given values overflowed.
 */

#ifndef IOMMUFD_TYPE
#define IOMMUFD_TYPE (';')
#endif

/*
 * Command numbers shared with iommufd. Numbers are spelled out rather than
 * taken from iommufd's enum so both headers can coexist.
 */
#define IOMMU_REPLACE_NR_DESTROY		0x80

/* Commands of our own start here, far from iommufd's and VFIO's numbers. */
#define IOMMU_REPLACE_NR_BASE			0xc0

#ifndef IOMMU_DESTROY
/**
 * struct iommu_destroy - ioctl(IOMMU_DESTROY)
 * @size: sizeof(struct iommu_destroy)
 * @id: ID of the object to destroy; any type of object that user space
 *      created and that nothing else depends on
 *
 * Fails with ENOENT for an unknown ID and EBUSY while another object holds a
 * reference to the object.
 */
struct iommu_destroy {
	__u32 size;
	__u32 id;
};

#define IOMMU_DESTROY _IO(IOMMUFD_TYPE, IOMMU_REPLACE_NR_DESTROY)
#endif

#endif /* _UAPI_LINUX_IOMMU_REPLACE_H */
