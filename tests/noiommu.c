// SPDX-License-Identifier: GPL-2.0-only
/*
 * noiommu - without an IOMMU (IORP_TOPOLOGY=none) no device can be bound,
 * whatever proof is offered, and the device ioctls find nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "iorp_test.h"
#include "edu.h"

TEST(bind_without_iommu_is_enodev)
{
	const char *topology = getenv("IORP_TOPOLOGY");
	struct edu edus[EDU_MAX];
	uint64_t objects;
	int fd, n;

	ASSERT_STREQ("none", topology ? topology : "(unset)");
	n = edu_find(edus);
	ASSERT_EQ(EDU_IN_GUEST, n);
	fd = open_dev();
	ASSERT_LE(0, fd);
	objects = live_objects();
	for (int i = 0; i < n; i++) {
		struct iommu_replace_device_bind cmd = {
			.size = sizeof(cmd),
			.vfio_group_fd = -1,
			.pci_domain = edus[i].domain,
			.pci_bus = edus[i].bus,
			.pci_devfn = edus[i].devfn,
		};

		EXPECT_EQ(-1, edus[i].group) TH_LOG("%s", edus[i].name);
		EXPECT_EQ(ENODEV, ioctl_errno(fd, IOMMU_REPLACE_DEVICE_BIND, &cmd))
			TH_LOG("%s", edus[i].name);
		cmd.flags = IOMMU_REPLACE_BIND_VFIO_GROUP;
		EXPECT_EQ(ENODEV, ioctl_errno(fd, IOMMU_REPLACE_DEVICE_BIND, &cmd))
			TH_LOG("%s", edus[i].name);
	}
	EXPECT_EQ(objects, live_objects());
	close(fd);
}

TEST(device_ioctls_find_nothing)
{
	int fd = open_dev();
	__u32 ioas, pt;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioas_alloc(fd, &ioas));
	pt = ioas;
	EXPECT_EQ(ENOENT, device_attach(fd, ioas + 1, &pt));
	EXPECT_EQ(ENOENT, device_attach(fd, ioas, &pt));
	EXPECT_EQ(ENOENT, device_detach(fd, ioas));
	EXPECT_EQ(ENOENT, device_unbind(fd, ioas));
	close(fd);
}

TEST_HARNESS_MAIN
