// SPDX-License-Identifier: GPL-2.0-only
/*
 * Probe: iommu_paging_domain_alloc(dev) allocates a paging domain for a
 * device and returns an ERR_PTR (Linux 6.11; iommu_domain_alloc(bus) before).
 * Exports: iommu_paging_domain_alloc
 */
#include <linux/iommu.h>

static __maybe_unused struct iommu_domain *probe(struct device *dev)
{
	return iommu_paging_domain_alloc(dev);
}
