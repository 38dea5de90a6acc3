// SPDX-License-Identifier: GPL-2.0-only
/*
 * Probe: the core can replace a group's domain without a detour through the
 * blocking domain (Debian's 6.12 has it, 6.1 not). The prototype lives in a
 * private header, so only the export and its IOMMUFD_INTERNAL namespace are
 * checked.
 * Exports: iommu_group_replace_domain@IOMMUFD_INTERNAL
 */
#include <linux/iommu.h>
