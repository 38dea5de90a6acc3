// SPDX-License-Identifier: GPL-2.0-only
/*
 * Probe: the core can replace a group's domain without a detour through the
 * blocking domain (Linux 6.6). The prototype lives in a private header, so
 * only the export and its IOMMUFD_INTERNAL namespace are checked.
 * Exports: iommu_group_replace_domain@IOMMUFD_INTERNAL
 */
#include <linux/iommu.h>
