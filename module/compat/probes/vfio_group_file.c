// SPDX-License-Identifier: GPL-2.0-only
/*
 * Probe: VFIO can tell whether a file is a VFIO group and whether a device
 * belongs to it, the proof of access IOMMU_REPLACE_DEVICE_BIND accepts.
 * Used through symbol_get(), so the module does not depend on vfio.ko.
 * Exports: vfio_file_is_group vfio_file_has_dev
 */
#include <linux/vfio.h>

static __maybe_unused bool probe(struct file *file, struct vfio_device *vdev)
{
	return vfio_file_is_group(file) && vfio_file_has_dev(file, vdev);
}
