// SPDX-License-Identifier: GPL-2.0-only
/*
 * Probe: a device reports whether its IOMMU can enforce cache coherency
 * for a domain (IOMMU_CAP_ENFORCE_CACHE_COHERENCY, Linux 6.2; before, the
 * domain operation alone said so).
 */
#include <linux/iommu.h>

static __maybe_unused bool probe(struct device *dev)
{
	return device_iommu_capable(dev, IOMMU_CAP_ENFORCE_CACHE_COHERENCY);
}
