// SPDX-License-Identifier: GPL-2.0-only
/*
 * Probe: iommu_map() takes a gfp_t for its page-table allocations
 * (Linux 6.3, which also removed iommu_map_atomic()).
 * Exports: iommu_map
 */
#include <linux/iommu.h>

static int __maybe_unused probe(struct iommu_domain *domain)
{
	return iommu_map(domain, 0, 0, PAGE_SIZE, IOMMU_READ, GFP_KERNEL);
}
