// SPDX-License-Identifier: GPL-2.0-only
/*
 * Probe: an IOMMU driver can allocate a paging domain for a given device
 * (iommu_ops.domain_alloc_user, Linux 6.6; what iommufd allocates with).
 * Such a domain knows its IOMMU from the start: aperture, page sizes and
 * snoop control are those of the hardware before it is ever attached.
 */
#include <linux/iommu.h>

static __maybe_unused bool probe(const struct iommu_ops *ops)
{
	return ops->domain_alloc_user;
}
