// SPDX-License-Identifier: GPL-2.0-only
/*
 * main.c - module entry and exit, and what modinfo reports.
 *
 * modinfo shows the version, the flavour (prod, or test with IOMMU_TEST_CMD
 * compiled in) and "compat": the kernel features the build probes found
 * (module/compat/run-probes), as name=yes|no pairs; "vfio_backend": whether
 * the VFIO IOMMU backend is built in, and why not (vfio_backend.c).
 */
#include <linux/module.h>

#include <iommu_replace/compat.h>
#include <iommu_replace/core.h>
#include <iommu_replace/device.h>

static int __init iorp_init(void)
{
	int ret;

	iorp_stats_init();
	ret = iorp_pci_init();
	if (ret)
		goto err_stats;
	ret = iorp_chardev_register();
	if (ret)
		goto err_pci;
	iorp_vfio_init();
	return 0;

err_pci:
	iorp_pci_exit();
err_stats:
	iorp_stats_exit();
	return ret;
}

static void __exit iorp_exit(void)
{
	iorp_vfio_exit();
	iorp_chardev_unregister();
	iorp_pci_exit();
	iorp_stats_exit();
}

module_init(iorp_init);
module_exit(iorp_exit);

MODULE_DESCRIPTION("iommufd-style IO address spaces and IO page table replacement");
MODULE_AUTHOR("iommu-replace developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(IORP_VERSION);
#ifdef IORP_TEST
MODULE_INFO(flavour, "test");
#else
MODULE_INFO(flavour, "prod");
#endif
MODULE_INFO(compat, IORP_COMPAT_FEATURES);
