// SPDX-License-Identifier: GPL-2.0-only
/*
 * Probe: an IOMMU driver can report what its hardware is
 * (iommu_ops.hw_info, Linux 6.6; what IOMMU_GET_HW_INFO returns).
 */
#include <linux/iommu.h>

static __maybe_unused bool probe(const struct iommu_ops *ops)
{
	return ops->hw_info;
}
