// SPDX-License-Identifier: GPL-2.0-only
/*
 * Probe: iommu_group_has_isolated_msi() says whether MSIs of a group are
 * isolated (Linux 6.3; before, irq_domain_check_msi_remap() and
 * IOMMU_CAP_INTR_REMAP).
 * Exports: iommu_group_has_isolated_msi
 */
#include <linux/iommu.h>

static __maybe_unused bool probe(struct iommu_group *group)
{
	return iommu_group_has_isolated_msi(group);
}
