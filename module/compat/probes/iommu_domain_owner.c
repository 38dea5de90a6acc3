// SPDX-License-Identifier: GPL-2.0-only
/*
 * Probe: an iommu_domain records the iommu_ops of the driver that made it
 * (domain->owner, Linux 6.5), which tells whether a device can use it.
 */
#include <linux/iommu.h>

static __maybe_unused const struct iommu_ops *probe(struct iommu_domain *domain)
{
	return domain->owner;
}
