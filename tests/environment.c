// SPDX-License-Identifier: GPL-2.0-only
/*
 * environment - the guest is the machine the runner promised.
 *
 * Every guest has three edu DMA devices (1234:11e8): one alone on the root
 * bus and two behind a PCIe-to-PCI bridge. With an emulated IOMMU
 * (IORP_TOPOLOGY=vtd or amd) the lone device has an iommu group of its own
 * and the bridged pair shares one group; without one (none) there are no
 * groups at all. vfio-pci must load: the distro modules the initramfs
 * carries, or the debug kernel's built-in driver.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libkmod.h>

#include "kselftest_harness.h"

#define PCI_DEVICES "/sys/bus/pci/devices"
#define MAX_EDU 8
#define DEV_LEN 64	/* "/sys/bus/pci/devices/0000:00:00.0" fits */

static unsigned int read_hex(const char *dir, const char *name)
{
	char path[PATH_MAX];
	unsigned int v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%x", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

/* Fills devs[] with the sysfs paths of the edu devices; returns how many. */
static int find_edu(char devs[][DEV_LEN])
{
	struct dirent *de;
	int n = 0;
	DIR *d;

	d = opendir(PCI_DEVICES);
	if (!d)
		return -errno;
	while ((de = readdir(d)) && n < MAX_EDU) {
		char path[DEV_LEN];

		if (de->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), PCI_DEVICES "/%s",
			     de->d_name) >= DEV_LEN)
			continue;
		if (read_hex(path, "vendor") == 0x1234 &&
		    read_hex(path, "device") == 0x11e8)
			strcpy(devs[n++], path);
	}
	closedir(d);
	return n;
}

static int count_entries(const char *path)
{
	struct dirent *de;
	int n = 0;
	DIR *d;

	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* The group number of a device, or -1 when it has none. */
static int group_of(const char *dev)
{
	char link[PATH_MAX], target[PATH_MAX];
	ssize_t len;

	snprintf(link, sizeof(link), "%s/iommu_group", dev);
	len = readlink(link, target, sizeof(target) - 1);
	if (len < 0)
		return -1;
	target[len] = '\0';
	return atoi(strrchr(target, '/') + 1);
}

static const char *topology(void)
{
	const char *t = getenv("IORP_TOPOLOGY");

	return t ? t : "";
}

TEST(three_edu_devices)
{
	char devs[MAX_EDU][DEV_LEN];

	EXPECT_EQ(3, find_edu(devs));
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
	char devs[MAX_EDU][DEV_LEN], path[PATH_MAX];
	int groups[MAX_EDU], alone = 0, shared = 0;

	ASSERT_EQ(3, find_edu(devs));
	for (int i = 0; i < 3; i++)
		groups[i] = group_of(devs[i]);

	if (!strcmp(topology(), "none")) {
		for (int i = 0; i < 3; i++) {
			EXPECT_EQ(-1, groups[i]) TH_LOG("%s", devs[i]);
		}
		EXPECT_GE(0, count_entries("/sys/kernel/iommu_groups"));
		return;
	}
	for (int i = 0; i < 3; i++) {
		int same = 0;

		ASSERT_LE(0, groups[i]) TH_LOG("%s has no group", devs[i]);
		for (int j = 0; j < 3; j++)
			same += groups[j] == groups[i];
		snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%d/devices",
			 groups[i]);
		if (same == 1) {
			alone++;
			EXPECT_EQ(1, count_entries(path));
		} else {
			shared++;
			EXPECT_EQ(2, same);
			/* the pair and the bridge in front of it */
			EXPECT_LE(3, count_entries(path));
		}
	}
	EXPECT_EQ(1, alone);
	EXPECT_EQ(2, shared);
}

/* The distro's vfio-pci with its dependencies, or built in (debug kernel). */
TEST(vfio_pci_loads)
{
	struct kmod_list *list = NULL, *l;
	struct kmod_ctx *ctx;
	struct stat st;

	ctx = kmod_new(NULL, NULL);
	ASSERT_NE(NULL, ctx);
	ASSERT_EQ(0, kmod_module_new_from_lookup(ctx, "vfio-pci", &list));
	ASSERT_NE(NULL, list);
	kmod_list_foreach(l, list) {
		struct kmod_module *mod = kmod_module_get_module(l);

		EXPECT_LE(0, kmod_module_probe_insert_module(mod, 0, NULL, NULL,
							     NULL, NULL));
		kmod_module_unref(mod);
	}
	kmod_module_unref_list(list);
	kmod_unref(ctx);
	EXPECT_EQ(0, stat("/dev/vfio/vfio", &st));
}

TEST_HARNESS_MAIN
