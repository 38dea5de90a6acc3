// SPDX-License-Identifier: GPL-2.0-only
/*
 * unplug - hot-unplug (PCI remove) of bound devices, proven by edu DMA
 * (hw_fixture.h).
 *
 * A removed device is detached and marked gone; its object stays until
 * unbound. When the last device of an owned group goes, the group's DMA
 * ownership is given up then. The suite runs last in its lane: a function
 * of the pair that is removed and rescanned comes back in an iommu group of
 * its own (Linux groups a slot's functions only when it enumerates the
 * slot whole), so the pair is no longer a group afterwards.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "iorp_test.h"
#include "hw_fixture.h"

static void remove_device(struct __test_metadata *_metadata, struct edu *e)
{
	char path[128];

	edu_close(e);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/remove", e->name);
	ASSERT_EQ(0, sysfs_write(path, "1"));
}

/* Bring removed devices back and set them up as the fixture does. */
static void rescan(struct __test_metadata *_metadata, FIXTURE_DATA(hw) *self)
{
	ASSERT_EQ(0, sysfs_write("/sys/bus/pci/rescan", "1"));
	close_devices(self);
	find_devices(_metadata, self);
}

TEST_F(hw, lone_device_attached)
{
	uint64_t objects, pinned;
	__u32 pt = self->ioas_a, hwpt;

	objects = live_objects();
	pinned = pinned_pages();
	ASSERT_EQ(0, device_attach(self->fd, self->dev, &pt));
	ASSERT_STREQ("X", dma_reads(_metadata, self, self->alone));
	remove_device(_metadata, self->alone);

	/* the device is detached and gone; its object waits for unbind */
	pt = self->ioas_a;
	EXPECT_EQ(ENODEV, device_attach(self->fd, self->dev, &pt));
	EXPECT_EQ(ENODEV, hwpt_alloc(self->fd, self->dev, self->ioas_b, 0, &hwpt));
	EXPECT_EQ(0, device_detach(self->fd, self->dev));
	/* the automatic HWPT went with the detach, and its pins */
	EXPECT_EQ(objects, live_objects());
	EXPECT_EQ(pinned, pinned_pages());
	EXPECT_EQ(0, device_unbind(self->fd, self->dev));
	EXPECT_EQ(objects - 1, live_objects());

	/* back on the bus, it binds and works again */
	rescan(_metadata, self);
	ASSERT_EQ(0, bind_dev(self->fd, self->alone, self->alone_group_fd,
			      &self->dev));
	pt = self->ioas_b;
	ASSERT_EQ(0, device_attach(self->fd, self->dev, &pt));
	EXPECT_STREQ("Y", dma_reads(_metadata, self, self->alone));
}

/* The rest of the group keeps its page table and can still move. */
TEST_F(hw, one_device_of_a_group)
{
	struct edu edus[EDU_MAX], *e;
	int n, i, group_fd;
	__u32 d0, d1, pt;
	char name[16];

	ASSERT_EQ(0, bind_dev(self->fd, self->pair[0], self->pair_group_fd, &d0));
	ASSERT_EQ(0, bind_dev(self->fd, self->pair[1], self->pair_group_fd, &d1));
	pt = self->ioas_a;
	ASSERT_EQ(0, device_attach(self->fd, d0, &pt));
	ASSERT_EQ(0, device_attach(self->fd, d1, &pt));
	ASSERT_STREQ("X", dma_reads(_metadata, self, self->pair[0]));
	remove_device(_metadata, self->pair[1]);
	EXPECT_STREQ("X", dma_reads(_metadata, self, self->pair[0]));

	pt = self->ioas_b;
	EXPECT_EQ(ENODEV, device_attach(self->fd, d1, &pt));
	ASSERT_EQ(0, device_attach(self->fd, d0, &pt));
	EXPECT_STREQ("Y", dma_reads(_metadata, self, self->pair[0]));
	pt = self->ioas_a;
	ASSERT_EQ(0, device_attach(self->fd, d0, &pt));
	EXPECT_STREQ("X", dma_reads(_metadata, self, self->pair[0]));
	EXPECT_EQ(0, device_unbind(self->fd, d1));
	EXPECT_EQ(0, device_unbind(self->fd, d0));

	/* back on the bus (in a group of its own now, see the top) */
	strcpy(name, self->pair[1]->name);
	ASSERT_EQ(0, sysfs_write("/sys/bus/pci/rescan", "1"));
	n = edu_find(edus);
	ASSERT_EQ(EDU_IN_GUEST, n);
	for (i = 0; i < n && strcmp(edus[i].name, name); i++)
		;
	ASSERT_GT(n, i) TH_LOG("%s did not come back", name);
	e = &edus[i];
	ASSERT_LE(0, e->group);
	ASSERT_EQ(0, edu_use_driver(e, "vfio-pci"));
	ASSERT_EQ(0, edu_open(e));
	group_fd = e->group == self->pair[0]->group ?
		   dup(self->pair_group_fd) : open_group(e->group);
	ASSERT_LE(0, group_fd);
	ASSERT_EQ(0, bind_dev(self->fd, e, group_fd, &d1));
	pt = self->ioas_b;
	ASSERT_EQ(0, device_attach(self->fd, d1, &pt));
	EXPECT_STREQ("Y", dma_reads(_metadata, self, e));
	EXPECT_EQ(0, device_unbind(self->fd, d1));
	edu_close(e);
	close(group_fd);
}

TEST_HARNESS_MAIN
