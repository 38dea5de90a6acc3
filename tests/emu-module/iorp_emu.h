/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iorp_emu.h - the test-only ioctls of iorp_emu.ko's emulated VFIO devices,
 * shared by the module and the tests (tests/vfio_type1.c). Issued on a VFIO
 * device fd of "iorp-emu.0" (with a dma_unmap callback) or "iorp-emu.1"
 * (without one). Each returns 0 or -1 with errno.
 */
#ifndef IORP_EMU_H
#define IORP_EMU_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define IORP_EMU_DEV_UNMAP	"iorp-emu.0"
#define IORP_EMU_DEV_NO_UNMAP	"iorp-emu.1"
/* pages one device keeps pinned at most, and pins at once at most */
#define IORP_EMU_MAX_PINS	256
#define IORP_EMU_MAX_NPAGE	64
/* bytes one IORP_EMU_DMA_RW copies at most */
#define IORP_EMU_MAX_RW		65536

/**
 * struct iorp_emu_pin - vfio_pin_pages() or vfio_unpin_pages()
 * @iova: IOVA in the first page
 * @npage: pages
 * @write: pin for writing (IOMMU_READ | IOMMU_WRITE, else IOMMU_READ)
 */
struct iorp_emu_pin {
	__u64 iova;
	__u32 npage;
	__u32 write;
};

/**
 * struct iorp_emu_rw - a copy between the caller's buffer and IOVA
 * @iova: where
 * @len: bytes (IORP_EMU_PAGE_RW: within one pinned page)
 * @write: copy @data to IOVA (else from it)
 * @__reserved: zero
 * @data: the caller's buffer
 */
struct iorp_emu_rw {
	__u64 iova;
	__u32 len;
	__u32 write;
	__u64 __reserved;
	__u64 data;
};

/**
 * struct iorp_emu_status - what the device holds and was told
 * @pinned: pages pinned now
 * @unmap_calls: dma_unmap callbacks received
 * @unpinned_by_unmap: pages a dma_unmap callback made the device unpin
 * @__reserved: zero
 * @last_unmap_iova: the range the last dma_unmap callback named
 * @last_unmap_length: its length
 */
struct iorp_emu_status {
	__u32 pinned;
	__u32 unmap_calls;
	__u32 unpinned_by_unmap;
	__u32 __reserved;
	__u64 last_unmap_iova;
	__u64 last_unmap_length;
};

#define IORP_EMU_PIN	_IOW('E', 0x40, struct iorp_emu_pin)
#define IORP_EMU_UNPIN	_IOW('E', 0x41, struct iorp_emu_pin)
/* vfio_dma_rw() */
#define IORP_EMU_DMA_RW	_IOW('E', 0x42, struct iorp_emu_rw)
/* the CPU reads or writes a pinned page through its struct page */
#define IORP_EMU_PAGE_RW _IOW('E', 0x43, struct iorp_emu_rw)
#define IORP_EMU_STATUS	_IOR('E', 0x44, struct iorp_emu_status)

#endif /* IORP_EMU_H */
