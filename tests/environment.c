// SPDX-License-Identifier: GPL-2.0-only
/*
 * environment - the guest is the machine the runner promised.
 *
 * Every guest has five edu DMA devices (1234:11e8): on the root bus one
 * alone and a pair that are two functions of one slot, and a pair behind a
 * PCIe-to-PCI bridge. With an emulated IOMMU (IORP_TOPOLOGY=vtd or amd)
 * the lone device has an iommu group of its own, the root-bus pair shares
 * one (no ACS between the functions) and the bridged pair shares one with
 * its bridge (a conventional PCI bus cannot isolate its devices); without
 * one (none) there are no groups at all. vfio-pci must load: the distro
 * modules the initramfs carries, or the debug kernel's built-in driver.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "edu.h"

static const char *topology(void)
{
	const char *t = getenv("IORP_TOPOLOGY");

	return t ? t : "";
}

TEST(five_edu_devices)
{
	struct edu edus[EDU_MAX];

	EXPECT_EQ(EDU_IN_GUEST, edu_find(edus));
}

TEST(iommu_matches_topology)
{
	const char *t = topology();
	struct dirent *de;
	int dmar = 0, ivhd = 0;
	DIR *d;

	ASSERT_TRUE(!strcmp(t, "none") || !strcmp(t, "vtd") || !strcmp(t, "amd"))
		TH_LOG("IORP_TOPOLOGY='%s'", t);
	d = opendir("/sys/class/iommu");
	if (d) {
		while ((de = readdir(d))) {
			dmar += !strncmp(de->d_name, "dmar", 4);
			ivhd += !strncmp(de->d_name, "ivhd", 4);
		}
		closedir(d);
	}
	EXPECT_EQ(!strcmp(t, "vtd"), dmar > 0);
	EXPECT_EQ(!strcmp(t, "amd"), ivhd > 0);
}

TEST(edu_groups_match_topology)
{
	struct edu edus[EDU_MAX];
	int alone = 0, root_pair = 0, bridged_pair = 0;

	ASSERT_EQ(EDU_IN_GUEST, edu_find(edus));
	if (!strcmp(topology(), "none")) {
		struct dirent *de;
		DIR *d;

		for (int i = 0; i < EDU_IN_GUEST; i++) {
			EXPECT_EQ(-1, edus[i].group) TH_LOG("%s", edus[i].name);
		}
		/* no group at all: the directory is missing or empty */
		d = opendir("/sys/kernel/iommu_groups");
		while (d && (de = readdir(d))) {
			EXPECT_EQ('.', de->d_name[0]) TH_LOG("group %s", de->d_name);
		}
		if (d)
			closedir(d);
		return;
	}
	for (int i = 0; i < EDU_IN_GUEST; i++) {
		int same = 0;

		ASSERT_LE(0, edus[i].group) TH_LOG("%s has no group", edus[i].name);
		for (int j = 0; j < EDU_IN_GUEST; j++)
			same += edus[j].group == edus[i].group;
		if (same == 1) {
			alone++;
			EXPECT_EQ(1, edu_group_size(edus[i].group));
			EXPECT_FALSE(edu_behind_bridge(&edus[i]));
		} else if (edu_behind_bridge(&edus[i])) {
			bridged_pair++;
			EXPECT_EQ(2, same);
			/* the pair and their bridge */
			EXPECT_EQ(3, edu_group_size(edus[i].group))
				TH_LOG("%s", edus[i].name);
		} else {
			root_pair++;
			EXPECT_EQ(2, same);
			/* the pair, and nothing else */
			EXPECT_EQ(2, edu_group_size(edus[i].group))
				TH_LOG("%s", edus[i].name);
		}
	}
	EXPECT_EQ(1, alone);
	EXPECT_EQ(2, root_pair);
	EXPECT_EQ(2, bridged_pair);
}

/* The distro's vfio-pci with its dependencies, or built in (debug kernel). */
TEST(vfio_pci_loads)
{
	struct stat st;

	EXPECT_EQ(0, edu_load_vfio_pci());
	EXPECT_EQ(0, stat("/dev/vfio/vfio", &st));
}

TEST_HARNESS_MAIN
