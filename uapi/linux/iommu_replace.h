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
#define IOMMU_REPLACE_NR_IOAS_ALLOC		0x81
#define IOMMU_REPLACE_NR_IOAS_ALLOW_IOVAS	0x82
#define IOMMU_REPLACE_NR_IOAS_COPY		0x83
#define IOMMU_REPLACE_NR_IOAS_IOVA_RANGES	0x84
#define IOMMU_REPLACE_NR_IOAS_MAP		0x85
#define IOMMU_REPLACE_NR_IOAS_UNMAP		0x86
#define IOMMU_REPLACE_NR_OPTION			0x87
#define IOMMU_REPLACE_NR_VFIO_IOAS		0x88
#define IOMMU_REPLACE_NR_HWPT_ALLOC		0x89
#define IOMMU_REPLACE_NR_GET_HW_INFO		0x8a
#define IOMMU_REPLACE_NR_HWPT_INVALIDATE	0x8d

/* Commands of our own start here, far from iommufd's and VFIO's numbers. */
#define IOMMU_REPLACE_NR_BASE			0xc0
#define IOMMU_REPLACE_NR_DEVICE_BIND		(IOMMU_REPLACE_NR_BASE + 0)
#define IOMMU_REPLACE_NR_DEVICE_ATTACH		(IOMMU_REPLACE_NR_BASE + 1)
#define IOMMU_REPLACE_NR_DEVICE_DETACH		(IOMMU_REPLACE_NR_BASE + 2)
#define IOMMU_REPLACE_NR_DEVICE_UNBIND		(IOMMU_REPLACE_NR_BASE + 3)

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

#ifndef IOMMU_IOAS_ALLOC
/**
 * struct iommu_ioas_alloc - ioctl(IOMMU_IOAS_ALLOC)
 * @size: sizeof(struct iommu_ioas_alloc)
 * @flags: must be 0
 * @out_ioas_id: the ID of the new IO address space
 *
 * Creates an empty IO address space (IOAS): a table from IO virtual
 * addresses (IOVA) to user memory, mapped into every hardware page table
 * attached to it.
 */
struct iommu_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};

#define IOMMU_IOAS_ALLOC _IO(IOMMUFD_TYPE, IOMMU_REPLACE_NR_IOAS_ALLOC)
#endif

#ifndef IOMMU_IOAS_IOVA_RANGES
/**
 * struct iommu_iova_range - an inclusive range of IOVA
 * @start: first IOVA of the range
 * @last: last IOVA of the range (inclusive)
 */
struct iommu_iova_range {
	__aligned_u64 start;
	__aligned_u64 last;
};

/**
 * struct iommu_ioas_iova_ranges - ioctl(IOMMU_IOAS_IOVA_RANGES)
 * @size: sizeof(struct iommu_ioas_iova_ranges)
 * @ioas_id: the IOAS to query
 * @num_iovas: in: capacity of the @allowed_iovas array; out: the number of
 *             ranges the IOAS has
 * @__reserved: must be 0
 * @allowed_iovas: user pointer to an array of struct iommu_iova_range
 * @out_iova_alignment: the alignment every IOVA and length given to MAP or
 *                      COPY must have (1 means any; never above PAGE_SIZE)
 *
 * Reports the IOVA ranges a mapping may use: everything not reserved by an
 * attached device, a hardware page table's aperture or a test reservation.
 * The ranges shrink as devices attach and grow back as they detach. If the
 * array is too small the call fails with EMSGSIZE after filling what fits
 * and setting @num_iovas to the number needed.
 */
struct iommu_ioas_iova_ranges {
	__u32 size;
	__u32 ioas_id;
	__u32 num_iovas;
	__u32 __reserved;
	__aligned_u64 allowed_iovas;
	__aligned_u64 out_iova_alignment;
};

#define IOMMU_IOAS_IOVA_RANGES _IO(IOMMUFD_TYPE, IOMMU_REPLACE_NR_IOAS_IOVA_RANGES)
#endif

#ifndef IOMMU_IOAS_ALLOW_IOVAS
/**
 * struct iommu_ioas_allow_iovas - ioctl(IOMMU_IOAS_ALLOW_IOVAS)
 * @size: sizeof(struct iommu_ioas_allow_iovas)
 * @ioas_id: the IOAS to change
 * @num_iovas: number of entries in @allowed_iovas (0 clears the list)
 * @__reserved: must be 0
 * @allowed_iovas: user pointer to an array of struct iommu_iova_range
 *
 * Replaces the IOAS's list of allowed ranges. While a list is set, automatic
 * IOVA allocation only picks IOVA inside it, and nothing may reserve IOVA
 * inside it: an attach that would fails with EADDRINUSE. The call itself
 * fails with EADDRINUSE if a range is already reserved, and EINVAL for a
 * range whose start is not below its last or that overlaps another. Its
 * cost grows as n log n with the number of ranges (millions are fine; the
 * kernel memory they take counts against the caller's memory cgroup:
 * ENOMEM beyond it), and a fatal signal ends it (EINTR); a failed call
 * leaves the old list.
 */
struct iommu_ioas_allow_iovas {
	__u32 size;
	__u32 ioas_id;
	__u32 num_iovas;
	__u32 __reserved;
	__aligned_u64 allowed_iovas;
};

#define IOMMU_IOAS_ALLOW_IOVAS _IO(IOMMUFD_TYPE, IOMMU_REPLACE_NR_IOAS_ALLOW_IOVAS)
#endif

#ifndef IOMMU_IOAS_MAP
/**
 * enum iommufd_ioas_map_flags - flags of IOMMU_IOAS_MAP and IOMMU_IOAS_COPY
 * @IOMMU_IOAS_MAP_FIXED_IOVA: place the mapping at the given IOVA; without
 *                             it the kernel chooses the IOVA
 * @IOMMU_IOAS_MAP_WRITEABLE: devices may write to the memory
 * @IOMMU_IOAS_MAP_READABLE: devices may read the memory
 */
enum iommufd_ioas_map_flags {
	IOMMU_IOAS_MAP_FIXED_IOVA = 1 << 0,
	IOMMU_IOAS_MAP_WRITEABLE = 1 << 1,
	IOMMU_IOAS_MAP_READABLE = 1 << 2,
};

/**
 * struct iommu_ioas_map - ioctl(IOMMU_IOAS_MAP)
 * @size: sizeof(struct iommu_ioas_map)
 * @flags: enum iommufd_ioas_map_flags
 * @ioas_id: the IOAS to map into
 * @__reserved: must be 0
 * @user_va: start of the user memory to map
 * @length: number of bytes to map
 * @iova: in with IOMMU_IOAS_MAP_FIXED_IOVA: where to map; out: where the
 *        mapping was placed
 *
 * Maps user memory at an IOVA. The memory is pinned, once, as soon as a
 * hardware page table or an emulated access needs it, and counts against
 * the caller's RLIMIT_MEMLOCK. A fixed IOVA range must be free (EEXIST
 * otherwise), allowed and not reserved; IOVA, length and the offset of
 * @user_va in its page must be multiples of the IOAS's IOVA alignment.
 * Read-only memory is pinned as the process may read it, never forced:
 * memory it cannot read fails with EFAULT. If @iova cannot be written
 * back the call fails with EFAULT but the mapping stays, as with iommufd.
 * A fatal signal ends a long pin (EINTR), leaving nothing mapped.
 */
struct iommu_ioas_map {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__u32 __reserved;
	__aligned_u64 user_va;
	__aligned_u64 length;
	__aligned_u64 iova;
};

#define IOMMU_IOAS_MAP _IO(IOMMUFD_TYPE, IOMMU_REPLACE_NR_IOAS_MAP)
#endif

#ifndef IOMMU_IOAS_COPY
/**
 * struct iommu_ioas_copy - ioctl(IOMMU_IOAS_COPY)
 * @size: sizeof(struct iommu_ioas_copy)
 * @flags: enum iommufd_ioas_map_flags for the new mapping
 * @dst_ioas_id: the IOAS to map into (may be the source IOAS)
 * @src_ioas_id: the IOAS holding the mapping to copy
 * @length: number of bytes to copy
 * @dst_iova: as @iova of struct iommu_ioas_map
 * @src_iova: start of the range to copy in the source IOAS
 *
 * Maps memory that is already mapped in another IOAS, sharing its pinned
 * pages instead of pinning again. The source range must lie within mappings
 * made by MAP or COPY (ENOENT otherwise). As for MAP, a result that cannot
 * be written back fails with EFAULT and leaves the mapping.
 */
struct iommu_ioas_copy {
	__u32 size;
	__u32 flags;
	__u32 dst_ioas_id;
	__u32 src_ioas_id;
	__aligned_u64 length;
	__aligned_u64 dst_iova;
	__aligned_u64 src_iova;
};

#define IOMMU_IOAS_COPY _IO(IOMMUFD_TYPE, IOMMU_REPLACE_NR_IOAS_COPY)
#endif

#ifndef IOMMU_IOAS_UNMAP
/**
 * struct iommu_ioas_unmap - ioctl(IOMMU_IOAS_UNMAP)
 * @size: sizeof(struct iommu_ioas_unmap)
 * @ioas_id: the IOAS to unmap from
 * @iova: start of the range
 * @length: in: bytes to unmap; out: bytes that were unmapped
 *
 * Removes every mapping inside the range. Mappings are never split: one that
 * crosses either end of the range makes the call fail with ENOENT, as does a
 * range holding no mapping. iova 0 with length U64_MAX removes everything
 * and succeeds on an empty IOAS. EIO means an IOMMU failed to unmap; the
 * mappings are then all still in place. An emulated access pinning in the
 * range is asked to unpin first: EDEADLOCK if it keeps a mapping's pins
 * through 100 requests, EINTR for a fatal signal meanwhile (nothing
 * unmapped either way).
 */
struct iommu_ioas_unmap {
	__u32 size;
	__u32 ioas_id;
	__aligned_u64 iova;
	__aligned_u64 length;
};

#define IOMMU_IOAS_UNMAP _IO(IOMMUFD_TYPE, IOMMU_REPLACE_NR_IOAS_UNMAP)
#endif

#ifndef IOMMU_OPTION
/**
 * enum iommufd_option - options of IOMMU_OPTION
 * @IOMMU_OPTION_RLIMIT_MODE: how pinned memory is charged against
 *                            RLIMIT_MEMLOCK: 0 (default) per user, 1 per
 *                            process (as VFIO type1 does). Global to the
 *                            file; object_id must be 0; setting it needs
 *                            CAP_SYS_RESOURCE and a file without objects.
 * @IOMMU_OPTION_HUGE_PAGES: per IOAS (object_id): 1 (default) maps
 *                           physically contiguous memory with the largest
 *                           page sizes the hardware supports, 0 maps every
 *                           page on its own (for measurements)
 */
enum iommufd_option {
	IOMMU_OPTION_RLIMIT_MODE = 0,
	IOMMU_OPTION_HUGE_PAGES = 1,
};

/**
 * enum iommufd_option_ops - operations of IOMMU_OPTION
 * @IOMMU_OPTION_OP_SET: set the option to @val64
 * @IOMMU_OPTION_OP_GET: read the option into @val64
 */
enum iommufd_option_ops {
	IOMMU_OPTION_OP_SET = 0,
	IOMMU_OPTION_OP_GET = 1,
};

/**
 * struct iommu_option - ioctl(IOMMU_OPTION)
 * @size: sizeof(struct iommu_option)
 * @option_id: enum iommufd_option
 * @op: enum iommufd_option_ops
 * @__reserved: must be 0
 * @object_id: the object a per-object option applies to, else 0
 * @val64: the value to set, or the value read
 */
struct iommu_option {
	__u32 size;
	__u32 option_id;
	__u16 op;
	__u16 __reserved;
	__u32 object_id;
	__aligned_u64 val64;
};

#define IOMMU_OPTION _IO(IOMMUFD_TYPE, IOMMU_REPLACE_NR_OPTION)
#endif

#ifndef IOMMU_VFIO_IOAS
/**
 * enum iommufd_vfio_ioas_op - operations of IOMMU_VFIO_IOAS
 * @IOMMU_VFIO_IOAS_GET: report the IOAS VFIO compatibility uses
 * @IOMMU_VFIO_IOAS_SET: make @ioas_id the IOAS VFIO compatibility uses
 * @IOMMU_VFIO_IOAS_CLEAR: forget it (the IOAS itself stays)
 */
enum iommufd_vfio_ioas_op {
	IOMMU_VFIO_IOAS_GET = 0,
	IOMMU_VFIO_IOAS_SET = 1,
	IOMMU_VFIO_IOAS_CLEAR = 2,
};

/**
 * struct iommu_vfio_ioas - ioctl(IOMMU_VFIO_IOAS)
 * @size: sizeof(struct iommu_vfio_ioas)
 * @ioas_id: in for SET, out for GET
 * @op: enum iommufd_vfio_ioas_op
 * @__reserved: must be 0
 *
 * VFIO's container ioctls carry no IOAS ID, so one IOAS per file serves
 * them. GET fails with ENODEV when none is set.
 */
struct iommu_vfio_ioas {
	__u32 size;
	__u32 ioas_id;
	__u16 op;
	__u16 __reserved;
};

#define IOMMU_VFIO_IOAS _IO(IOMMUFD_TYPE, IOMMU_REPLACE_NR_VFIO_IOAS)
#endif

#ifndef IOMMU_HWPT_ALLOC
/**
 * enum iommufd_hwpt_alloc_flags - flags of IOMMU_HWPT_ALLOC
 * @IOMMU_HWPT_ALLOC_NEST_PARENT: the page table may later be the parent of
 *                                a nested page table
 * @IOMMU_HWPT_ALLOC_DIRTY_TRACKING: dirty tracking (not supported yet:
 *                                   EOPNOTSUPP)
 * @IOMMU_HWPT_FAULT_ID_VALID: @fault_id is valid (not supported yet:
 *                             EOPNOTSUPP)
 */
enum iommufd_hwpt_alloc_flags {
	IOMMU_HWPT_ALLOC_NEST_PARENT = 1 << 0,
	IOMMU_HWPT_ALLOC_DIRTY_TRACKING = 1 << 1,
	IOMMU_HWPT_FAULT_ID_VALID = 1 << 2,
};

/**
 * enum iommu_hwpt_data_type - driver data given to IOMMU_HWPT_ALLOC
 * @IOMMU_HWPT_DATA_NONE: none; a paging page table filled from an IOAS
 * @IOMMU_HWPT_DATA_VTD_S1: an Intel VT-d stage-1 table (not supported yet)
 */
enum iommu_hwpt_data_type {
	IOMMU_HWPT_DATA_NONE = 0,
	IOMMU_HWPT_DATA_VTD_S1 = 1,
};

/**
 * struct iommu_hwpt_alloc - ioctl(IOMMU_HWPT_ALLOC)
 * @size: sizeof(struct iommu_hwpt_alloc)
 * @flags: enum iommufd_hwpt_alloc_flags
 * @dev_id: a bound device; the page table is made for its IOMMU
 * @pt_id: the IOAS whose mappings fill the page table
 * @out_hwpt_id: the ID of the new hardware page table (HWPT)
 * @__reserved: must be 0
 * @data_type: enum iommu_hwpt_data_type; only IOMMU_HWPT_DATA_NONE so far
 * @data_len: length of the driver data (0 for IOMMU_HWPT_DATA_NONE)
 * @data_uptr: user pointer to the driver data
 * @fault_id: a fault queue, with IOMMU_HWPT_FAULT_ID_VALID
 * @__reserved2: must be 0
 *
 * Creates a hardware page table that user space owns: devices attach to it
 * by its ID, it holds the IOAS (which cannot be destroyed meanwhile) and it
 * lives until IOMMU_DESTROY, which fails with EBUSY while a device is
 * attached. Attaching a device directly to an IOAS instead creates (or
 * reuses) an automatic HWPT that goes away with its last device.
 */
struct iommu_hwpt_alloc {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 pt_id;
	__u32 out_hwpt_id;
	__u32 __reserved;
	__u32 data_type;
	__u32 data_len;
	__aligned_u64 data_uptr;
	__u32 fault_id;
	__u32 __reserved2;
};

#define IOMMU_HWPT_ALLOC _IO(IOMMUFD_TYPE, IOMMU_REPLACE_NR_HWPT_ALLOC)
#endif

#ifndef IOMMU_GET_HW_INFO
/**
 * enum iommu_hw_info_type - the format of IOMMU_GET_HW_INFO's data
 * @IOMMU_HW_INFO_TYPE_NONE: the IOMMU driver reports nothing
 * @IOMMU_HW_INFO_TYPE_INTEL_VTD: struct iommu_hw_info_vtd
 */
enum iommu_hw_info_type {
	IOMMU_HW_INFO_TYPE_NONE = 0,
	IOMMU_HW_INFO_TYPE_INTEL_VTD = 1,
};

/**
 * enum iommu_hw_info_vtd_flags - flags of struct iommu_hw_info_vtd
 * @IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17: the IOMMU may need its page-walk
 *                                         caches flushed after a PTE changes
 *                                         from non-present to present
 */
enum iommu_hw_info_vtd_flags {
	IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17 = 1 << 0,
};

/**
 * struct iommu_hw_info_vtd - IOMMU_GET_HW_INFO data of an Intel VT-d unit
 * @flags: enum iommu_hw_info_vtd_flags
 * @__reserved: 0
 * @cap_reg: the unit's capability register (VT-d specification 11.4.2)
 * @ecap_reg: its extended capability register (11.4.3)
 */
struct iommu_hw_info_vtd {
	__u32 flags;
	__u32 __reserved;
	__aligned_u64 cap_reg;
	__aligned_u64 ecap_reg;
};

/**
 * enum iommufd_hw_capabilities - capabilities IOMMU_GET_HW_INFO reports
 * @IOMMU_HW_CAP_DIRTY_TRACKING: the IOMMU can track dirty pages
 * @IOMMU_HW_CAP_PCI_PASID_EXEC: PASID with execute permission
 * @IOMMU_HW_CAP_PCI_PASID_PRIV: PASID with privileged mode
 */
enum iommufd_hw_capabilities {
	IOMMU_HW_CAP_DIRTY_TRACKING = 1 << 0,
	IOMMU_HW_CAP_PCI_PASID_EXEC = 1 << 1,
	IOMMU_HW_CAP_PCI_PASID_PRIV = 1 << 2,
};

/**
 * struct iommu_hw_info - ioctl(IOMMU_GET_HW_INFO)
 * @size: sizeof(struct iommu_hw_info)
 * @flags: must be 0
 * @dev_id: a bound device
 * @data_len: in: size of the buffer at @data_uptr; out: the size of the
 *            driver's data
 * @data_uptr: user buffer for the driver's data; bytes beyond the data are
 *             zeroed, a short buffer gets what fits
 * @out_data_type: enum iommu_hw_info_type
 * @out_max_pasid_log2: PASID width the device supports (0: none)
 * @__reserved: must be 0
 * @out_capabilities: enum iommufd_hw_capabilities
 *
 * Reports what the IOMMU behind a device can do.
 */
struct iommu_hw_info {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 data_len;
	__aligned_u64 data_uptr;
	__u32 out_data_type;
	__u8 out_max_pasid_log2;
	__u8 __reserved[3];
	__aligned_u64 out_capabilities;
};

#define IOMMU_GET_HW_INFO _IO(IOMMUFD_TYPE, IOMMU_REPLACE_NR_GET_HW_INFO)
#endif

#ifndef IOMMU_HWPT_INVALIDATE
/**
 * struct iommu_hwpt_invalidate - ioctl(IOMMU_HWPT_INVALIDATE)
 * @size: sizeof(struct iommu_hwpt_invalidate)
 * @hwpt_id: the hardware page table whose caches to invalidate
 * @data_uptr: user pointer to an array of driver-specific requests
 * @data_type: the format of the requests
 * @entry_len: size of one request
 * @entry_num: in: number of requests; out: number handled
 * @__reserved: must be 0
 *
 * Flushes the caches of a page table that user space manages (nesting).
 * No such page tables exist yet: paging page tables filled from an IOAS are
 * kept coherent by the kernel, so a well-formed call fails with ENOENT.
 */
struct iommu_hwpt_invalidate {
	__u32 size;
	__u32 hwpt_id;
	__aligned_u64 data_uptr;
	__u32 data_type;
	__u32 entry_len;
	__u32 entry_num;
	__u32 __reserved;
};

#define IOMMU_HWPT_INVALIDATE _IO(IOMMUFD_TYPE, IOMMU_REPLACE_NR_HWPT_INVALIDATE)
#endif

/**
 * DOC: devices
 *
 * A PCI device behind an IOMMU is used in four steps: bind it to the file
 * (the file then owns the DMA of the device's whole iommu group), attach it
 * to an IOAS or HWPT, attach it again to another one to replace the IO page
 * table, and unbind it (closing the file does that too). While no device of
 * a group is attached the group's DMA is blocked. Devices of one group
 * share one HWPT: attaching one moves the group, and a device may not be
 * attached to another HWPT than the one its group uses.
 */

/**
 * enum iommu_replace_bind_flags - flags of IOMMU_REPLACE_DEVICE_BIND
 * @IOMMU_REPLACE_BIND_VFIO_GROUP: @vfio_group_fd, a VFIO group file the
 *                                 caller opened (/dev/vfio/N) holding the
 *                                 device (bound to vfio-pci), proves the
 *                                 caller may own the device's DMA. The
 *                                 group is attached to no container (the
 *                                 file then owns the group), or to a
 *                                 container of IOMMU_REPLACE_VFIO_TYPE
 *                                 linked to this file (VFIO owns it; see
 *                                 "VFIO IOMMU backend"). Without this flag
 *                                 the caller needs CAP_SYS_ADMIN and the
 *                                 device must be bound to vfio-pci or
 *                                 pci-stub.
 */
enum iommu_replace_bind_flags {
	IOMMU_REPLACE_BIND_VFIO_GROUP = 1 << 0,
};

/**
 * struct iommu_replace_device_bind - ioctl(IOMMU_REPLACE_DEVICE_BIND)
 * @size: sizeof(struct iommu_replace_device_bind)
 * @flags: enum iommu_replace_bind_flags
 * @vfio_group_fd: with IOMMU_REPLACE_BIND_VFIO_GROUP, the proof of access;
 *                 the module holds a reference on it until unbind (not
 *                 for a group in a linked container)
 * @pci_domain: PCI domain (segment) of the device
 * @pci_bus: its bus number
 * @pci_devfn: its device and function number (device << 3 | function)
 * @__reserved: must be 0
 * @out_dev_id: the ID of the bound device
 *
 * Binds a PCI device to the file. The first device of an iommu group makes
 * the file own the DMA of the whole group, whose DMA is then blocked until
 * a device attaches; every other device of the group must be bound to no
 * driver, or to a driver that does not use the DMA API (vfio-pci,
 * pci-stub, pcieport). Errors: ENODEV (no such device, or no IOMMU in
 * front of it), EPERM (no proof of access, or MSIs not isolated by
 * interrupt remapping unless the module parameter allow_unsafe_interrupts
 * is set), EINVAL (the IOMMU cannot keep DMA cache coherent, or the VFIO
 * group fd is not the device's group), EBADF (@vfio_group_fd is not a
 * VFIO group), EBUSY (a driver or another file uses the group, or the
 * device is bound to this file already).
 */
struct iommu_replace_device_bind {
	__u32 size;
	__u32 flags;
	__s32 vfio_group_fd;
	__u32 pci_domain;
	__u8 pci_bus;
	__u8 pci_devfn;
	__u16 __reserved;
	__u32 out_dev_id;
};

#define IOMMU_REPLACE_DEVICE_BIND _IO(IOMMUFD_TYPE, IOMMU_REPLACE_NR_DEVICE_BIND)

/**
 * struct iommu_replace_device_attach - ioctl(IOMMU_REPLACE_DEVICE_ATTACH)
 * @size: sizeof(struct iommu_replace_device_attach)
 * @flags: must be 0
 * @dev_id: a bound device
 * @pt_id: in: an IOAS (the device gets a compatible automatic HWPT of it,
 *         made if needed) or a HWPT; out: the HWPT now attached
 *
 * Attaches the device, moving its group's DMA to the HWPT. If the device is
 * attached already this REPLACES its IO page table: the group's hardware
 * goes from the old HWPT straight to the new one without passing through a
 * blocking or default domain, and if that fails every device of the group
 * stays on the old HWPT.
 *
 * Replace is not hitless: Intel VT-d and AMD-Vi block each device's DMA for
 * a moment inside the switch (on 6.1 and 6.12 alike), so DMA in flight
 * across a replace can be lost or torn, about as often as across a detach
 * and attach (README, "Performance" measures it per kernel and IOMMU).
 * What replace guarantees is that the device never sees the blocking or
 * default domain's translation, nor any page table but the old and the new.
 *
 * One exception to "a failure leaves the old HWPT": on kernels without
 * iommu_group_replace_domain() (6.1), if the IOMMU driver fails to switch a
 * device and then also fails to put it back (6.1's VT-d allocates in every
 * attach, so only when it is out of memory or domain IDs), the whole group
 * is left blocked and its devices detached; the call returns the error.
 *
 * The device's reserved IOVA ranges are reserved in the new IOAS first
 * (EADDRINUSE if mapped or allowed there). Errors: ENOENT (unknown ID),
 * EINVAL (a HWPT of another IOMMU, or one other than the one the device's
 * group uses), ENODEV (the device was hot-unplugged). If the result cannot
 * be written back (EFAULT) the change is undone: a replaced device goes
 * back to the HWPT it had (if that switch fails too, it is detached), a
 * newly attached one is detached again.
 */
struct iommu_replace_device_attach {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 pt_id;
};

#define IOMMU_REPLACE_DEVICE_ATTACH _IO(IOMMUFD_TYPE, IOMMU_REPLACE_NR_DEVICE_ATTACH)

/**
 * struct iommu_replace_device_detach - ioctl(IOMMU_REPLACE_DEVICE_DETACH)
 * @size: sizeof(struct iommu_replace_device_detach)
 * @flags: must be 0
 * @dev_id: a bound device
 * @__reserved: must be 0
 *
 * Detaches the device; when the last attached device of a group detaches,
 * the group's DMA is blocked by the time the call returns. Detaching a
 * detached device does nothing. Detach does not fail (on 6.1's VT-d, whose
 * way back to blocking allocates, a device the driver cannot attach to the
 * blocking domain is left blocked with no domain, after retries).
 */
struct iommu_replace_device_detach {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 __reserved;
};

#define IOMMU_REPLACE_DEVICE_DETACH _IO(IOMMUFD_TYPE, IOMMU_REPLACE_NR_DEVICE_DETACH)

/**
 * struct iommu_replace_device_unbind - ioctl(IOMMU_REPLACE_DEVICE_UNBIND)
 * @size: sizeof(struct iommu_replace_device_unbind)
 * @dev_id: a device bound with IOMMU_REPLACE_DEVICE_BIND
 *
 * Detaches the device if needed and unbinds it. When the last bound device
 * of a group goes, the group's hardware is put back on the blocking domain
 * and only then is its DMA ownership released. IOMMU_DESTROY of @dev_id
 * does the same. EBUSY while another ioctl uses the device.
 */
struct iommu_replace_device_unbind {
	__u32 size;
	__u32 dev_id;
};

#define IOMMU_REPLACE_DEVICE_UNBIND _IO(IOMMUFD_TYPE, IOMMU_REPLACE_NR_DEVICE_UNBIND)

/**
 * DOC: VFIO IOMMU backend
 *
 * When the kernel's VFIO has containers (CONFIG_VFIO_CONTAINER) and the
 * build verified the layout of VFIO's private backend interface for the
 * target kernel, the module registers a VFIO IOMMU backend (modinfo
 * "vfio_backend" and the kernel log say whether it did, and why not).
 * A VMM then keeps the VFIO flow it knows: open /dev/vfio/vfio and the
 * group, VFIO_GROUP_SET_CONTAINER, VFIO_SET_IOMMU with
 * IOMMU_REPLACE_VFIO_TYPE, VFIO_GROUP_GET_DEVICE_FD. VFIO owns the group's
 * DMA and keeps it blocked until the group is attached to an IO page
 * table of this module.
 *
 * On a container with no backend yet, VFIO_CHECK_EXTENSION answers 1 for
 * IOMMU_REPLACE_VFIO_TYPE. On a container of this type,
 * VFIO_CHECK_EXTENSION(VFIO_DMA_CC_IOMMU) answers 1 when the IOMMU of every
 * device in the container forces DMA to snoop CPU caches, else 0 (6.1's
 * KVM reads it when a group joins); such a group then refuses (EINVAL) a
 * HWPT that does not force snooping.
 *
 * To use the container's devices through this module: IOMMU_REPLACE_VFIO_LINK
 * on the container (after VFIO_SET_IOMMU) names the /dev/iommu-replace file
 * that serves it; then IOMMU_REPLACE_DEVICE_BIND with
 * IOMMU_REPLACE_BIND_VFIO_GROUP and the group fd binds a device of the
 * container to that file, and IOAS, HWPT, attach, replace and detach work
 * as for any bound device. The file borrows VFIO's ownership of the group
 * rather than claiming it, and holds no reference on the group file. When
 * the group leaves the container (VFIO_GROUP_UNSET_CONTAINER, its file
 * closed, the VMM killed), its DMA leaves our page tables for the blocking
 * domain before VFIO takes it back; its devices can no longer attach
 * (ENODEV) and are detached moments later; their objects stay.
 */
#define IOMMU_REPLACE_VFIO_TYPE		0x4952

/* an ioctl of VFIO containers: never a /dev/iommu-replace command */
#define IOMMU_REPLACE_NR_VFIO_LINK	0xd0

/**
 * struct iommu_replace_vfio_link - ioctl(IOMMU_REPLACE_VFIO_LINK), on a VFIO
 * container of type IOMMU_REPLACE_VFIO_TYPE
 * @size: sizeof(struct iommu_replace_vfio_link)
 * @flags: must be 0
 * @iommufd: an open /dev/iommu-replace file
 * @__reserved: must be 0
 *
 * Links the container to the file, once for the container's life; the
 * container holds the file until VFIO releases its backend (when its last
 * group leaves it). Errors: EINVAL (the
 * container has no backend yet, or @iommufd is not /dev/iommu-replace),
 * EBADF (@iommufd is not open), EBUSY (linked already), EOPNOTSUPP
 * (@flags or @__reserved), and the size rules above. Other types' containers
 * answer as their backend does (type1: ENOTTY).
 */
struct iommu_replace_vfio_link {
	__u32 size;
	__u32 flags;
	__s32 iommufd;
	__u32 __reserved;
};

#define IOMMU_REPLACE_VFIO_LINK _IO(IOMMUFD_TYPE, IOMMU_REPLACE_NR_VFIO_LINK)

/* an ioctl of type1 containers this module serves: never a /dev/iommu-replace command */
#define IOMMU_REPLACE_NR_VFIO_TYPE1_IOAS	0xd1

/**
 * enum iommu_replace_type1_ioas_op - what IOMMU_REPLACE_TYPE1_IOAS does
 * @IOMMU_REPLACE_TYPE1_IOAS_GET: nothing; reports the two IDs (@ioas_id 0)
 * @IOMMU_REPLACE_TYPE1_IOAS_ALLOC: a new, empty IOAS of the container; its
 *                                 ID comes back in @ioas_id (in: 0)
 * @IOMMU_REPLACE_TYPE1_IOAS_SELECT: VFIO_IOMMU_MAP_DMA and
 *                                  VFIO_IOMMU_UNMAP_DMA act on @ioas_id
 *                                  from now on; the devices stay
 * @IOMMU_REPLACE_TYPE1_IOAS_SWITCH: every device of the container moves to
 *                                  @ioas_id, which is then selected too
 * @IOMMU_REPLACE_TYPE1_IOAS_DESTROY: frees @ioas_id and its mappings; it
 *                                   must be neither attached nor selected
 */
enum iommu_replace_type1_ioas_op {
	IOMMU_REPLACE_TYPE1_IOAS_GET = 0,
	IOMMU_REPLACE_TYPE1_IOAS_ALLOC = 1,
	IOMMU_REPLACE_TYPE1_IOAS_SELECT = 2,
	IOMMU_REPLACE_TYPE1_IOAS_SWITCH = 3,
	IOMMU_REPLACE_TYPE1_IOAS_DESTROY = 4,
};

/**
 * struct iommu_replace_type1_ioas - ioctl(IOMMU_REPLACE_TYPE1_IOAS), on a VFIO
 * container of type VFIO_TYPE1_IOMMU or VFIO_TYPE1v2_IOMMU that this module
 * serves (module parameter vfio_type1): the REPLACE extension of type1
 * @size: sizeof(struct iommu_replace_type1_ioas)
 * @op: enum iommu_replace_type1_ioas_op
 * @ioas_id: in: the IOAS of SELECT, SWITCH and DESTROY; out: ALLOC's
 * @out_attached_id: out: the IOAS the container's devices use
 * @out_selected_id: out: the IOAS MAP_DMA and UNMAP_DMA act on
 * @__reserved: must be 0
 *
 * A type1 container starts with one IOAS, attached and selected. To move
 * its devices to another address space without unmapping under them or
 * taking them out of the container: ALLOC an IOAS, SELECT it, fill it with
 * the MAP_DMA calls type1 knows, SWITCH, DESTROY the old one. SWITCH moves
 * each iommu group from its page table to one of the new IOAS as
 * IOMMU_DEVICE_REPLACE does, never through the blocking domain (the IOMMU
 * driver may still block translation for a moment inside the switch, as
 * VT-d and AMD-Vi do); if a group cannot move, the groups already moved go
 * back to the page tables they had, which were kept for that, and nothing
 * changed (the errno is the group's: EADDRINUSE when the IOAS maps a
 * device's reserved range). Should even the way back fail for a device (a
 * fatal signal, no memory, the IOMMU driver refusing), the kernel log says
 * so and the device is detached: its group is blocked unless another of
 * its devices went back. Emulated (mdev-style) devices, which pin and copy
 * through the container, move last: each is asked (its dma_unmap callback,
 * once per mapping of the old IOAS that holds pins) to unpin what it
 * pinned there; until that is done their pins and copies fail (EINVAL),
 * then they reach the new IOAS.
 *
 * An IOAS no device uses pins nothing: memory MAP_DMA put there is pinned
 * and charged (RLIMIT_MEMLOCK) when a SWITCH attaches it, so EFAULT and
 * ENOMEM for it come from SWITCH, and until the old IOAS is destroyed or
 * its devices left it, both are pinned and charged. A group joining the
 * container later attaches to the attached IOAS, which VFIO_IOMMU_GET_INFO
 * describes; MAP_DMA and UNMAP_DMA act on the selected one. All of the
 * container's type1 ioctls run one at a time. Every op that succeeds
 * answers with the two IDs after it.
 *
 * Errors: EINVAL (@ioas_id not 0 for GET or ALLOC; a container released
 * meanwhile), ENOENT (not an IOAS of this container), EBUSY (DESTROY of the
 * attached or selected IOAS; for a moment too after a group left the
 * container, until its devices are detached), EOPNOTSUPP (@op unknown, @__reserved), the
 * size rules above; SWITCH also as IOMMU_DEVICE_REPLACE fails (ENOMEM,
 * EFAULT, EINTR, EINVAL for a page table a group cannot use); EFAULT when
 * the answer cannot be written, after SELECT, SWITCH or DESTROY took
 * effect (ALLOC then makes nothing); ENOTTY on a container not served as
 * type1 by this module (the kernel's vfio_iommu_type1 answers ENOTTY too).
 */
struct iommu_replace_type1_ioas {
	__u32 size;
	__u32 op;
	__u32 ioas_id;
	__u32 out_attached_id;
	__u32 out_selected_id;
	__u32 __reserved;
};

#define IOMMU_REPLACE_TYPE1_IOAS _IO(IOMMUFD_TYPE, IOMMU_REPLACE_NR_VFIO_TYPE1_IOAS)

#endif /* _UAPI_LINUX_IOMMU_REPLACE_H */
