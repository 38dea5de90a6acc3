// SPDX-License-Identifier: GPL-2.0-only
/*
 * Probe: the DMA ownership API every ownership model builds on
 * (iommu_group_claim_dma_owner, Linux 5.19).
 * Exports: iommu_group_claim_dma_owner iommu_group_release_dma_owner
 * Required: needs iommu_group_claim_dma_owner() (Linux 5.19 or later, CONFIG_IOMMU_API=y)
 */
#include <linux/iommu.h>

static int __maybe_unused probe(struct iommu_group *group, void *owner)
{
	int ret = iommu_group_claim_dma_owner(group, owner);

	if (!ret)
		iommu_group_release_dma_owner(group);
	return ret;
}
