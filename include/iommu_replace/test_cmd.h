/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * test_cmd.h - IOMMU_TEST_CMD, the test-only command of the test flavour.
 *
 * The layout and operation numbers are those of upstream iommufd's
 * selftest ABI, so the upstream iommufd selftest runs against
 * /dev/iommu-replace. Production builds do not have the command (ENOTTY).
 * Shared by the module and our own tests in tests/.
 */
#ifndef IORP_TEST_CMD_H
#define IORP_TEST_CMD_H

#include <linux/types.h>
#ifdef __KERNEL__
#include <uapi/linux/iommu_replace.h>
#else
#include <linux/iommu_replace.h>
#endif

#define IOMMU_REPLACE_NR_TEST_CMD	0xa0

/* Operations of IOMMU_TEST_CMD (the op field). */
enum {
	IOMMU_TEST_OP_ADD_RESERVED = 1,		/* reserve IOVA in an IOAS */
	IOMMU_TEST_OP_MOCK_DOMAIN,		/* new mock device, attached */
	IOMMU_TEST_OP_MD_CHECK_MAP,		/* mock page table maps uptr? */
	IOMMU_TEST_OP_MD_CHECK_REFS,		/* pin count of user pages */
	IOMMU_TEST_OP_CREATE_ACCESS,		/* emulated access, as an fd */
	IOMMU_TEST_OP_DESTROY_ACCESS_PAGES,	/* unpin one ACCESS_PAGES */
	IOMMU_TEST_OP_ACCESS_PAGES,		/* pin through an access */
	IOMMU_TEST_OP_ACCESS_RW,		/* read/write through an access */
	IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT,	/* cap temporary buffers */
	IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,	/* attach/replace a mock device */
	IOMMU_TEST_OP_ACCESS_REPLACE_IOAS,	/* move an access to an IOAS */
	IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS,	/* MOCK_DOMAIN with device flags */
	IOMMU_TEST_OP_DIRTY,			/* not supported yet */
	IOMMU_TEST_OP_MD_CHECK_IOTLB,		/* not supported yet */
	IOMMU_TEST_OP_TRIGGER_IOPF,		/* not supported yet */
};

/* Operations of our own, far above upstream's numbers. */
enum {
	IORP_TEST_OP_HWPT_INFO = 0x1000,	/* what a HWPT's domain is */
	IORP_TEST_OP_IOPTE_SIZE,		/* the IO page mapping an IOVA */
};

/* HWPT_INFO flags (hwpt_info.out_flags) */
enum {
	IORP_HWPT_INFO_COHERENT = 1 << 0,	/* the IOMMU forces snooping */
};

/* The IOVA window every mock page table translates. */
enum {
	MOCK_APERTURE_START = 1UL << 24,
	MOCK_APERTURE_LAST = (1UL << 31) - 1,
};

/* CREATE_ACCESS flags (create_access.flags) */
enum {
	MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES = 1 << 0,
};

/* ACCESS_PAGES flags (access_pages.flags) */
enum {
	MOCK_FLAGS_ACCESS_WRITE = 1 << 0,
	MOCK_FLAGS_ACCESS_SYZ = 1 << 16,
	/* ours: the access's unmap callback never unpins this pin */
	IORP_FLAGS_ACCESS_STICKY = 1 << 24,
};

/* ACCESS_RW flags (access_rw.flags) */
enum {
	MOCK_ACCESS_RW_WRITE = 1 << 0,
	MOCK_ACCESS_RW_SLOW_PATH = 1 << 2,
};

/* MOCK_DOMAIN_FLAGS device flags (mock_domain_flags.dev_flags) */
enum {
	MOCK_FLAGS_DEVICE_NO_DIRTY = 1 << 0,
	MOCK_FLAGS_DEVICE_HUGE_IOVA = 1 << 1,
	MOCK_FLAGS_DEVICE_PASID = 1 << 2,
};

/* PASID width a MOCK_FLAGS_DEVICE_PASID device reports */
#define MOCK_PASID_WIDTH 20

/**
 * struct iommu_test_cmd - ioctl(IOMMU_TEST_CMD)
 * @size: sizeof(struct iommu_test_cmd)
 * @op: one of IOMMU_TEST_OP_*
 * @id: the object the operation applies to (an IOAS, HWPT, mock device or
 *      access fd, depending on @op)
 * @__reserved: must be 0
 * @add_reserved: ADD_RESERVED: the IOVA range to reserve in IOAS @id
 * @mock_domain: MOCK_DOMAIN: creates a mock device, binds it, attaches it
 *               to IOAS or HWPT @id and returns the mock device's ID (stdev),
 *               the attached HWPT and the bound device (idev)
 * @mock_domain_flags: MOCK_DOMAIN_FLAGS: the same with MOCK_FLAGS_DEVICE_*
 * @mock_domain_replace: MOCK_DOMAIN_REPLACE: attaches mock device @id to
 *                       IOAS or HWPT @pt_id; returns the HWPT in @pt_id
 * @check_map: MD_CHECK_MAP: every MOCK page of the IOVA range in mock HWPT
 *             @id translates to the memory at @uptr
 * @check_refs: MD_CHECK_REFS: every page at @uptr is pinned @refs times
 * @create_access: CREATE_ACCESS: an emulated access on IOAS @id, returned as
 *                 a file descriptor (close() destroys it)
 * @destroy_access_pages: DESTROY_ACCESS_PAGES: unpins what the ACCESS_PAGES
 *                        call @access_pages_id pinned through access @id
 * @access_pages: ACCESS_PAGES: pins an IOVA range through access @id and
 *                checks the pages are those at @uptr
 * @access_rw: ACCESS_RW: copies between IOVA and @uptr through access @id
 * @memory_limit: SET_TEMP_MEMORY_LIMIT: largest temporary buffer, in bytes
 * @access_replace_ioas: ACCESS_REPLACE_IOAS: moves access @id to an IOAS
 * @dirty: DIRTY (upstream ABI; not supported)
 * @check_iotlb: MD_CHECK_IOTLB (upstream ABI; not supported)
 * @trigger_iopf: TRIGGER_IOPF (upstream ABI; not supported)
 * @hwpt_info: HWPT_INFO: the page sizes, aperture and IORP_HWPT_INFO_*
 *             flags of HWPT @id's domain
 * @iopte_size: IOPTE_SIZE: the size of the IO page that maps @iova in HWPT
 *              @id (found by unmapping a single page there, which the IOMMU
 *              widens to the whole IO page; the area is mapped back after)
 * @last: end marker; the minimum size ends here
 */
struct iommu_test_cmd {
	__u32 size;
	__u32 op;
	__u32 id;
	__u32 __reserved;
	union {
		struct {
			__aligned_u64 start;
			__aligned_u64 length;
		} add_reserved;
		struct {
			__u32 out_stdev_id;
			__u32 out_hwpt_id;
			__u32 out_idev_id;
		} mock_domain;
		struct {
			__u32 out_stdev_id;
			__u32 out_hwpt_id;
			__u32 out_idev_id;
			__u32 dev_flags;
		} mock_domain_flags;
		struct {
			__u32 pt_id;
		} mock_domain_replace;
		struct {
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
		} check_map;
		struct {
			__aligned_u64 length;
			__aligned_u64 uptr;
			__u32 refs;
		} check_refs;
		struct {
			__u32 out_access_fd;
			__u32 flags;
		} create_access;
		struct {
			__u32 access_pages_id;
		} destroy_access_pages;
		struct {
			__u32 flags;
			__u32 out_access_pages_id;
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
		} access_pages;
		struct {
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
			__u32 flags;
		} access_rw;
		struct {
			__u32 limit;
		} memory_limit;
		struct {
			__u32 ioas_id;
		} access_replace_ioas;
		struct {
			__u32 flags;
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 page_size;
			__aligned_u64 uptr;
			__aligned_u64 out_nr_dirty;
		} dirty;
		struct {
			__u32 id;
			__u32 iotlb;
		} check_iotlb;
		struct {
			__u32 dev_id;
			__u32 pasid;
			__u32 grpid;
			__u32 perm;
			__u64 addr;
		} trigger_iopf;
		struct {
			__aligned_u64 out_pgsize_bitmap;
			__aligned_u64 out_aperture_start;
			__aligned_u64 out_aperture_last;
			__u32 out_flags;
		} hwpt_info;
		struct {
			__aligned_u64 iova;
			__aligned_u64 out_size;
		} iopte_size;
	};
	__u32 last;
};

#define IOMMU_TEST_CMD _IO(IOMMUFD_TYPE, IOMMU_REPLACE_NR_TEST_CMD)

/* GET_HW_INFO of a mock device */
#define IOMMU_HW_INFO_TYPE_SELFTEST	0xfeedbeef
#define IOMMU_HW_INFO_SELFTEST_REGVAL	0xdeadbeef

/**
 * struct iommu_test_hw_info - GET_HW_INFO data of a mock device
 * @flags: always 0
 * @test_reg: always IOMMU_HW_INFO_SELFTEST_REGVAL
 */
struct iommu_test_hw_info {
	__u32 flags;
	__u32 test_reg;
};

#endif /* IORP_TEST_CMD_H */
