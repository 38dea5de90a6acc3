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
 * slot whole), so the pair is no longer a group afterwards; the test that
 * removes one of the pair comes last in the file. The lone device comes back
 * alone. No test removes a bridged device: those share their bridge's
 * requester ID, and 6.1's VT-d driver, releasing one, clears the context
 * entry the others use while still counting them on their domain (README,
 * "Supported kernels").
 *
 * Races with removal are made reproducible by the module's pause points
 * (fault.h): a close(), a bind and a stalled pin are held at the worst
 * moment while a device goes away; the debug kernel's KASAN and lockdep
 * witness what a lost race would do.
 */
#include <errno.h>
#include <pthread.h>
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

/* --- races with removal ----------------------------------------------------- */

static void *job_close(struct side_job *job)
{
	job->ret = close(job->fd) ? errno : 0;
	return NULL;
}

static void *job_remove(struct side_job *job)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/remove",
		 job->e->name);
	job->ret = -sysfs_write(path, "1");
	return NULL;
}

static void *job_bind(struct side_job *job)
{
	job->ret = bind_dev(job->fd, job->e, job->group_fd, &job->dev);
	return NULL;
}

/* Another file's whole story with a device: none of it may wait. */
static void *job_other_user(struct side_job *job)
{
	int fd = open_dev();
	__u32 ioas, dev, pt;

	job->ret = fd < 0 ? errno : 0;
	if (fd < 0)
		return NULL;
	job->ret = ioas_alloc(fd, &ioas) ?:
		   bind_dev(fd, job->e, job->group_fd, &dev) ?:
		   device_attach(fd, dev, (pt = ioas, &pt)) ?:
		   device_detach(fd, dev) ?: device_unbind(fd, dev);
	if (close(fd) && !job->ret)
		job->ret = errno;
	return NULL;
}

/*
 * close() walks the file's objects while hot-unplug detaches a device: the
 * walk is held just before it takes the automatic HWPT two devices of
 * different groups share, and the last of them is removed meanwhile, which
 * frees that HWPT. The removed device is the lone one, which comes back
 * alone (removing a device that shares its requester ID, as the bridged
 * ones do, confuses 6.1's VT-d driver about the others: README). Objects:
 * the IOAS (1), a device of the pair (2), the HWPT (3), the lone device
 * (4); the close visits them in ID order.
 */
TEST_F(hw, close_races_unplug)
{
	struct side_job closer = { .fn = job_close };
	struct side_job remover = { .fn = job_remove };
	uint64_t objects, pinned;
	__u32 ioas, pt, bdev, ldev, hwpt;
	int fd;

	ASSERT_EQ(0, device_unbind(self->fd, self->dev));
	objects = live_objects();
	pinned = pinned_pages();
	for (int round = 0; round < 3; round++) {
		if (round) {
			ASSERT_EQ(0, sysfs_write("/sys/bus/pci/rescan", "1"));
			close_devices(self);
			find_devices(_metadata, self);
		}
		fd = open_dev();
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, ioas_alloc(fd, &ioas));
		ASSERT_EQ(0, ioas_map_fixed(fd, ioas, IOVA_V, self->x, psize()));
		ASSERT_EQ(0, bind_dev(fd, self->pair[0],
				      self->pair_group_fd, &bdev));
		pt = ioas;
		ASSERT_EQ(0, device_attach(fd, bdev, &pt));
		hwpt = pt;
		ASSERT_EQ(0, bind_dev(fd, self->alone, self->alone_group_fd,
				      &ldev));
		pt = ioas;
		ASSERT_EQ(0, device_attach(fd, ldev, &pt));
		ASSERT_EQ(hwpt, pt) TH_LOG("the two groups should share a HWPT");
		ASSERT_EQ(3, hwpt);

		/* the walk's third visit waits */
		pause_arm(_metadata, "release", 3);
		closer.fd = fd;
		side_job_start(_metadata, &closer);
		ASSERT_TRUE(pause_reached(_metadata, "release", 20));
		remover.e = self->alone;
		edu_close(self->alone);
		side_job_start(_metadata, &remover);
		EXPECT_TRUE(side_job_finishes(&remover, 20))
			TH_LOG("the removal waited for close()");
		/*
		 * The HWPT the walk is about to visit goes with the device: of
		 * the IOAS, the HWPT and the lone device, two are left.
		 */
		for (int wait = 0; wait < 2000 && live_objects() != objects + 2;
		     wait++)
			usleep(10000);
		EXPECT_EQ(objects + 2, live_objects())
			TH_LOG("the removed device's HWPT was not freed");
		pause_release("release");
		pthread_join(closer.thread, NULL);
		pthread_join(remover.thread, NULL);
		EXPECT_EQ(0, closer.ret);
		EXPECT_EQ(0, remover.ret);
		EXPECT_EQ(objects, live_objects());
		EXPECT_EQ(pinned, pinned_pages());
	}
	ASSERT_EQ(0, sysfs_write("/sys/bus/pci/rescan", "1"));
}

/*
 * A pin that stalls (FUSE-backed memory would) while an attach fills a new
 * page table must stall only that attach: removing the very device being
 * attached, and another file's bind, attach, detach, unbind and close of
 * another device, all finish while the pin still waits.
 */
TEST_F(hw, stalled_pin_blocks_nobody)
{
	struct side_job attacher = { .fn = job_attach };
	struct side_job remover = { .fn = job_remove };
	struct side_job other = { .fn = job_other_user };
	uint64_t objects = live_objects(), pinned = pinned_pages();

	pause_arm(_metadata, "pin", 1);
	attacher.fd = self->fd;
	attacher.dev = self->dev;
	attacher.pt = self->ioas_a;
	side_job_start(_metadata, &attacher);
	ASSERT_TRUE(pause_reached(_metadata, "pin", 20));

	remover.e = self->alone;
	edu_close(self->alone);
	side_job_start(_metadata, &remover);
	usleep(200000);
	other.e = self->bridged[0];
	other.group_fd = self->bridged_group_fd;
	side_job_start(_metadata, &other);
	EXPECT_TRUE(side_job_finishes(&remover, 10))
		TH_LOG("removing the device waited for a stalled pin");
	EXPECT_TRUE(side_job_finishes(&other, 10))
		TH_LOG("another file's bind/attach/unbind waited for a stalled pin");
	EXPECT_TRUE(pause_waiting(_metadata, "pin"));
	pause_release("pin");
	pthread_join(attacher.thread, NULL);
	pthread_join(remover.thread, NULL);
	pthread_join(other.thread, NULL);
	EXPECT_EQ(0, remover.ret);
	EXPECT_EQ(0, other.ret) TH_LOG("other user: %s", errname(other.ret));
	/* the attach lost the race with the removal, and left nothing */
	EXPECT_EQ(ENODEV, attacher.ret) TH_LOG("attach: %s", errname(attacher.ret));
	EXPECT_EQ(objects, live_objects());
	EXPECT_EQ(pinned, pinned_pages());
	EXPECT_EQ(0, device_unbind(self->fd, self->dev));
	ASSERT_EQ(0, sysfs_write("/sys/bus/pci/rescan", "1"));
}

/* --- removal of attached devices (the pair last: see the top) ---------- */

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

/*
 * One device of a group goes while the rest keeps its page table and can
 * still move; and its removal races a bind of it. The bind is held after it
 * looked the device up and checked it (the device's IOMMU state is freed by
 * the removal); it must not bind a device that is gone, or one that binds
 * must never touch its IOMMU again. IOAS A has an automatic HWPT already
 * (the other device's, on the same IOMMU), so an attach there asks whether
 * the device could use it, the question that needs its IOMMU. The removal
 * waits for the bind (it takes the device lock the bind holds), so the bind
 * is expected to win; either outcome is checked. Last in the file: the
 * device comes back in a group of its own (see the top).
 */
TEST_F(hw, one_device_of_a_group)
{
	struct side_job binder = { .fn = job_bind };
	struct side_job remover = { .fn = job_remove };
	struct edu edus[EDU_MAX], *e;
	int n, i, group_fd;
	__u32 d0, d1, pt;
	char name[16];

	ASSERT_EQ(0, bind_dev(self->fd, self->pair[0], self->pair_group_fd, &d0));
	pt = self->ioas_a;
	ASSERT_EQ(0, device_attach(self->fd, d0, &pt));
	ASSERT_STREQ("X", dma_reads(_metadata, self, self->pair[0]));

	pause_arm(_metadata, "bind", 1);
	binder.fd = self->fd;
	binder.e = self->pair[1];
	binder.group_fd = self->pair_group_fd;
	side_job_start(_metadata, &binder);
	ASSERT_TRUE(pause_reached(_metadata, "bind", 20));
	remover.e = self->pair[1];
	edu_close(self->pair[1]);
	side_job_start(_metadata, &remover);
	/* the removal waits for the bind; give it a moment to get there */
	side_job_finishes(&remover, 2);
	pause_release("bind");
	pthread_join(binder.thread, NULL);
	pthread_join(remover.thread, NULL);
	EXPECT_EQ(0, remover.ret);
	if (binder.ret) {
		EXPECT_EQ(ENODEV, binder.ret);
	} else {
		/* bound before the removal: it is gone now */
		d1 = binder.dev;
		pt = self->ioas_a;
		EXPECT_EQ(ENODEV, device_attach(self->fd, d1, &pt));
		pt = self->ioas_b;
		EXPECT_EQ(ENODEV, hwpt_alloc(self->fd, d1, pt, 0, &pt));
		EXPECT_EQ(0, device_unbind(self->fd, d1));
	}

	/* the rest of the group kept its page table and can still move */
	EXPECT_STREQ("X", dma_reads(_metadata, self, self->pair[0]));
	pt = self->ioas_b;
	ASSERT_EQ(0, device_attach(self->fd, d0, &pt));
	EXPECT_STREQ("Y", dma_reads(_metadata, self, self->pair[0]));
	pt = self->ioas_a;
	ASSERT_EQ(0, device_attach(self->fd, d0, &pt));
	EXPECT_STREQ("X", dma_reads(_metadata, self, self->pair[0]));
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
