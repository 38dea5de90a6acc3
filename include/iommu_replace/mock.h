/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mock.h - the mock IOMMU and mock devices of the test flavour.
 *
 * A mock device (IORP_OBJ_MOCK, the "stdev" of the test command) is a
 * device of its own kind with its own group, bound to the context that made
 * it. Its "hardware" is one pointer: the domain it would translate DMA
 * with. Mock domains are real struct iommu_domain with a software page
 * table, so the IO page table drives them through iommu_map() and
 * iommu_unmap() exactly as it drives hardware domains. They work beside a
 * real IOMMU, which never sees them.
 *
 * Locking: a mock device's hardware pointer is guarded by its agroup->lock
 * (order: locking.h).
 */
#ifndef IORP_MOCK_H
#define IORP_MOCK_H

#include <linux/types.h>

#include <iommu_replace/core.h>
#include <iommu_replace/device.h>

/* The mock IOMMU's smallest page: half a CPU page, as upstream's mock. */
#define IORP_MOCK_PAGE_SIZE	(PAGE_SIZE / 2)
/* Its large page, for devices created with MOCK_FLAGS_DEVICE_HUGE_IOVA. */
#define IORP_MOCK_HUGE_PAGE_SIZE (512 * IORP_MOCK_PAGE_SIZE)

/**
 * struct iorp_mock - a mock device (IORP_OBJ_MOCK)
 * @obj: the object; destroying it detaches and unbinds the device
 * @flags: MOCK_FLAGS_DEVICE_*
 * @hw_domain: the domain its DMA would use, or NULL (blocked)
 * @group: its own group
 * @idev: its bound device
 */
struct iorp_mock {
	struct iorp_object obj;
	u32 flags;
	struct iommu_domain *hw_domain;
	struct iorp_attach_group agroup;
	struct iorp_device *idev;
};

struct iorp_mock *iorp_mock_create(struct iorp_ctx *ctx, u32 flags);
void iorp_mock_abort(struct iorp_ctx *ctx, struct iorp_mock *mock);
bool iorp_is_mock_domain(struct iommu_domain *domain);

#endif /* IORP_MOCK_H */
