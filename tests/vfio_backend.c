// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio_backend - the VFIO IOMMU backend, as a VMM meets it: a container of
 * type IOMMU_REPLACE_VFIO_TYPE, the device fd VFIO then hands out (BAR0
 * and config space through it, not sysfs), the container linked to a
 * /dev/iommu-replace file, and attach, replace and detach of the
 * container's devices proven by edu DMA (hw_fixture.h: the pair of edu
 * functions sharing a group is the VMM's device here). Then what a VMM's
 * end looks like to the module: the group leaving the container, the VMM
 * killed with maps live, and the module unloaded and loaded again while
 * VFIO is in use.
 *
 * Where the build could not verify VFIO's private interface for the
 * kernel, the module has no backend and every test skips saying why (the
 * host's checks require the backend for Debian's 6.1 and 6.12 kernels).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "iorp_test.h"
#include "hw_fixture.h"

#define BACKEND_PARAM "/sys/module/iommu_replace/parameters/vfio_backend"

/* The build's word on the backend (modinfo vfio_backend), from the host. */
static const char *backend_status(void)
{
	const char *status = getenv("IORP_VFIO_BACKEND");

	return status ? status : "(IORP_VFIO_BACKEND is not set)";
}

static bool backend_built(void)
{
	return !strncmp(backend_status(), "built:", 6);
}

/* The module's own word: 'Y' registered, 'N' not, '?' no parameter. */
static char backend_registered(void)
{
	char c = '?';
	FILE *f = fopen(BACKEND_PARAM, "r");

	if (f) {
		if (fscanf(f, " %c", &c) != 1)
			c = '?';
		fclose(f);
	}
	return c;
}

/* Skip where the build has no backend; fail where it has one unregistered. */
#define NEED_BACKEND()							\
	do {								\
		if (!backend_built())					\
			SKIP(return, "no VFIO backend in this build: %s",	\
			     backend_status());				\
		ASSERT_EQ('Y', backend_registered())			\
			TH_LOG("built with the backend (%s), not registered",	\
			       backend_status());			\
	} while (0)

static int open_container(void)
{
	return open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
}

/* The group into the container, and the container's backend set. */
static int container_set(int container, int group_fd, unsigned long type)
{
	if (ioctl(group_fd, VFIO_GROUP_SET_CONTAINER, &container))
		return errno;
	return ioctl_errno(container, VFIO_SET_IOMMU, (void *)type);
}

static int vfio_link(int container, int fd)
{
	struct iommu_replace_vfio_link cmd = {
		.size = sizeof(cmd),
		.iommufd = fd,
	};

	return ioctl_errno(container, IOMMU_REPLACE_VFIO_LINK, &cmd);
}

static long check_extension(int container, unsigned long ext)
{
	return ioctl(container, VFIO_CHECK_EXTENSION, ext);
}

/* --- the backend without a container ---------------------------------------- */

TEST_F(hw, vfio_check_extension_without_container)
{
	int c;

	NEED_BACKEND();
	c = open_container();
	ASSERT_LE(0, c) TH_LOG("/dev/vfio/vfio: %s", strerror(errno));
	/* VFIO asks every backend with no container data */
	EXPECT_EQ(1, check_extension(c, IOMMU_REPLACE_VFIO_TYPE));
	EXPECT_EQ(0, check_extension(c, IOMMU_REPLACE_VFIO_TYPE + 1));
	EXPECT_EQ(0, check_extension(c, VFIO_DMA_CC_IOMMU));
	/* no backend set yet: VFIO itself refuses what it does not know */
	EXPECT_EQ(EINVAL, vfio_link(c, self->fd));
	close(c);
}

/* --- the VMM flow ------------------------------------------------------------ */

TEST_F(hw, vfio_vmm_flow_attach_replace_detach)
{
	struct edu *e = self->pair[0], *other = self->pair[1];
	__u32 dev0, dev1, pt = self->ioas_a, hwpt_flags = 0, again;
	int c, device_fd;
	long cc;

	NEED_BACKEND();
	c = open_container();
	ASSERT_LE(0, c);
	ASSERT_EQ(0, container_set(c, self->pair_group_fd,
				   IOMMU_REPLACE_VFIO_TYPE));
	cc = check_extension(c, VFIO_DMA_CC_IOMMU);
	ASSERT_TRUE(cc == 0 || cc == 1) TH_LOG("VFIO_DMA_CC_IOMMU: %ld", cc);
	EXPECT_EQ(1, check_extension(c, IOMMU_REPLACE_VFIO_TYPE));

	/* the device fd VFIO hands out only with a backend */
	device_fd = ioctl(self->pair_group_fd, VFIO_GROUP_GET_DEVICE_FD, e->name);
	ASSERT_LE(0, device_fd) TH_LOG("GET_DEVICE_FD: %s", strerror(errno));
	ASSERT_EQ(0, edu_open_vfio(e, device_fd));

	/* before the link the group is VFIO's: a bind would claim it */
	EXPECT_EQ(EBUSY, bind_dev(self->fd, e, self->pair_group_fd, &dev0));
	ASSERT_EQ(0, vfio_link(c, self->fd));
	EXPECT_EQ(EBUSY, vfio_link(c, self->fd));
	ASSERT_EQ(0, bind_dev(self->fd, e, self->pair_group_fd, &dev0));
	ASSERT_EQ(0, bind_dev(self->fd, other, self->pair_group_fd, &dev1));
	EXPECT_EQ(EBUSY, bind_dev(self->fd, e, self->pair_group_fd, &again));
	/* VFIO keeps the group blocked until it is attached */
	dma_load_pattern(_metadata, self, e);
	EXPECT_FALSE(dma_write_lands(_metadata, self, e));

	ASSERT_EQ(0, device_attach(self->fd, dev0, &pt));
	EXPECT_STREQ("X", dma_reads(_metadata, self, e));
	/* what VFIO_DMA_CC_IOMMU said is what the page table does */
	ASSERT_EQ(0, hwpt_info(self->fd, pt, NULL, NULL, &hwpt_flags));
	EXPECT_EQ(cc, !!(hwpt_flags & IORP_HWPT_INFO_COHERENT));
	again = pt;
	ASSERT_EQ(0, device_attach(self->fd, dev1, &again));
	EXPECT_EQ(pt, again);

	/* replace moves the whole group */
	again = self->ioas_b;
	ASSERT_EQ(0, device_attach(self->fd, dev0, &again));
	EXPECT_STREQ("Y", dma_reads(_metadata, self, e));
	EXPECT_STREQ("Y", dma_reads(_metadata, self, other));
	again = self->ioas_a;
	ASSERT_EQ(0, device_attach(self->fd, dev1, &again));
	EXPECT_STREQ("X", dma_reads(_metadata, self, e));

	/* detached, VFIO's group is blocked again */
	ASSERT_EQ(0, device_detach(self->fd, dev0));
	EXPECT_STREQ("X", dma_reads(_metadata, self, e));
	ASSERT_EQ(0, device_detach(self->fd, dev1));
	dma_load_pattern(_metadata, self, e);
	EXPECT_FALSE(dma_write_lands(_metadata, self, e));

	/* attach again, then the group leaves the container */
	again = self->ioas_a;
	ASSERT_EQ(0, device_attach(self->fd, dev0, &again));
	EXPECT_STREQ("X", dma_reads(_metadata, self, e));
	edu_close(e);
	close(device_fd);
	ASSERT_EQ(0, ioctl(self->pair_group_fd, VFIO_GROUP_UNSET_CONTAINER));
	/* off our page table: its writes to V reach neither X nor Y */
	dma_load_pattern(_metadata, self, other);
	EXPECT_FALSE(dma_write_lands(_metadata, self, other));
	/* and its devices can no longer attach through this file */
	again = self->ioas_a;
	EXPECT_EQ(ENODEV, device_attach(self->fd, dev0, &again));
	EXPECT_EQ(0, destroy_id(self->fd, dev0));
	EXPECT_EQ(0, destroy_id(self->fd, dev1));
	/* the group is free: the file may claim it for itself now */
	EXPECT_EQ(0, bind_dev(self->fd, other, self->pair_group_fd, &dev1));
	close(c);
}

TEST_F(hw, vfio_bad_input_changes_nothing)
{
	struct iommu_replace_vfio_link link = { .size = sizeof(link) };
	struct {
		struct iommu_replace_vfio_link link;
		__u32 tail;
	} big = { .link.size = sizeof(big), .tail = 1 };
	int c, c1, other_fd;
	__u32 dev;

	NEED_BACKEND();
	/* a group this file owns cannot join a container */
	c = open_container();
	ASSERT_LE(0, c);
	EXPECT_EQ(EPERM, container_set(c, self->alone_group_fd,
				       IOMMU_REPLACE_VFIO_TYPE));
	ASSERT_EQ(0, container_set(c, self->pair_group_fd,
				   IOMMU_REPLACE_VFIO_TYPE));

	link.iommufd = self->fd;
	link.flags = 1;
	EXPECT_EQ(EOPNOTSUPP, ioctl_errno(c, IOMMU_REPLACE_VFIO_LINK, &link));
	link.flags = 0;
	link.__reserved = 1;
	EXPECT_EQ(EOPNOTSUPP, ioctl_errno(c, IOMMU_REPLACE_VFIO_LINK, &link));
	link.__reserved = 0;
	link.size = 4;
	EXPECT_EQ(EINVAL, ioctl_errno(c, IOMMU_REPLACE_VFIO_LINK, &link));
	big.link.iommufd = self->fd;
	EXPECT_EQ(E2BIG, ioctl_errno(c, IOMMU_REPLACE_VFIO_LINK, &big));
	EXPECT_EQ(EBADF, vfio_link(c, -1));
	EXPECT_EQ(EINVAL, vfio_link(c, c));	/* not /dev/iommu-replace */
	/* none of that linked it: a bind would claim the group, VFIO's */
	EXPECT_EQ(EBUSY, bind_dev(self->fd, self->pair[0], self->pair_group_fd,
				  &dev));
	/* linked to another file: not this one's to bind */
	other_fd = open_dev();
	ASSERT_LE(0, other_fd);
	ASSERT_EQ(0, vfio_link(c, other_fd));
	close(other_fd);	/* the container holds it */
	EXPECT_EQ(EBUSY, bind_dev(self->fd, self->pair[0], self->pair_group_fd,
				  &dev));
	EXPECT_EQ(EBUSY, vfio_link(c, self->fd));
	/* another group's file is no proof */
	EXPECT_EQ(EINVAL, bind_dev(self->fd, self->pair[0],
				   self->bridged_group_fd, &dev));

	/* a type1 container does not know the link */
	ASSERT_EQ(0, edu_load_module("vfio_iommu_type1"));
	c1 = open_container();
	ASSERT_LE(0, c1);
	ASSERT_EQ(0, container_set(c1, self->bridged_group_fd,
				   VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(ENOTTY, vfio_link(c1, self->fd));
	EXPECT_EQ(EBUSY, bind_dev(self->fd, self->bridged[0],
				  self->bridged_group_fd, &dev));
	close(c1);
	close(c);
}

/*
 * A group whose VFIO_DMA_CC_IOMMU said 1 keeps the promise: a page table
 * that does not force snooping (the "incoherent" fault site makes one) is
 * refused, at attach and at replace, and nothing changes. Where the answer
 * was 0 (VT-d without snoop control) such a page table is fine.
 */
TEST_F(hw, vfio_coherency_promise_is_kept)
{
	struct edu *e = self->pair[0];
	__u32 dev, pt = self->ioas_a, hwpt_b;
	int c, ret;
	long cc;

	NEED_BACKEND();
	c = open_container();
	ASSERT_LE(0, c);
	ASSERT_EQ(0, container_set(c, self->pair_group_fd,
				   IOMMU_REPLACE_VFIO_TYPE));
	cc = check_extension(c, VFIO_DMA_CC_IOMMU);
	ASSERT_EQ(0, vfio_link(c, self->fd));
	ASSERT_EQ(0, bind_dev(self->fd, e, self->pair_group_fd, &dev));

	fault_arm(_metadata, "incoherent", 1);
	ret = device_attach(self->fd, dev, &pt);
	if (cc == 1) {
		/* the site fired: the HWPT really was incoherent */
		EXPECT_EQ(0, fault_left(_metadata, "incoherent"));
		EXPECT_EQ(EINVAL, ret) TH_LOG("attach: %s", errname(ret));
		dma_load_pattern(_metadata, self, e);
		EXPECT_FALSE(dma_write_lands(_metadata, self, e));
		pt = self->ioas_a;
		ASSERT_EQ(0, device_attach(self->fd, dev, &pt));
	} else {
		/* nothing promised, nothing to refuse (VT-d without snoop control) */
		TH_LOG("VFIO_DMA_CC_IOMMU is 0 here: only the other half is covered");
		EXPECT_EQ(0, ret) TH_LOG("attach: %s", errname(ret));
	}
	EXPECT_STREQ("X", dma_reads(_metadata, self, e));

	fault_arm(_metadata, "incoherent", 1);
	ASSERT_EQ(0, hwpt_alloc(self->fd, dev, self->ioas_b, 0, &hwpt_b));
	pt = hwpt_b;
	ret = device_attach(self->fd, dev, &pt);
	EXPECT_EQ(cc == 1 ? EINVAL : 0, ret) TH_LOG("replace: %s", errname(ret));
	EXPECT_STREQ(cc == 1 ? "X" : "Y", dma_reads(_metadata, self, e));
	fault_arm(_metadata, "incoherent", 0);
	ASSERT_EQ(0, device_detach(self->fd, dev));
	close(c);
}

/* --- the VMM's end ----------------------------------------------------------- */

static void *job_unset_container(struct side_job *job)
{
	job->ret = ioctl(job->group_fd, VFIO_GROUP_UNSET_CONTAINER) ? errno : 0;
	return NULL;
}

/*
 * VFIO takes a group back while a replace of it (from IOAS A to B) waits
 * on a stalled pin (FUSE-backed memory would stall): the group must leave
 * at once, the replace then fails, and once its devices are detached
 * (moments later, in a work item) nothing of A's page table is left.
 */
TEST_F(hw, vfio_group_leaves_while_a_pin_stalls)
{
	struct side_job attacher = { .fn = job_attach };
	struct side_job unsetter = { .fn = job_unset_container };
	struct edu *e = self->pair[0];
	uint64_t objects, pinned;
	__u32 dev, pt = self->ioas_a;
	int c, tries;

	NEED_BACKEND();
	c = open_container();
	ASSERT_LE(0, c);
	ASSERT_EQ(0, container_set(c, self->pair_group_fd,
				   IOMMU_REPLACE_VFIO_TYPE));
	ASSERT_EQ(0, vfio_link(c, self->fd));
	ASSERT_EQ(0, bind_dev(self->fd, e, self->pair_group_fd, &dev));
	objects = live_objects();
	pinned = pinned_pages();
	ASSERT_EQ(0, device_attach(self->fd, dev, &pt));
	ASSERT_STREQ("X", dma_reads(_metadata, self, e));

	pause_arm(_metadata, "pin", 1);
	attacher.fd = self->fd;
	attacher.dev = dev;
	attacher.pt = self->ioas_b;
	side_job_start(_metadata, &attacher);
	ASSERT_TRUE(pause_reached(_metadata, "pin", 20));
	unsetter.group_fd = self->pair_group_fd;
	side_job_start(_metadata, &unsetter);
	EXPECT_TRUE(side_job_finishes(&unsetter, 10))
		TH_LOG("VFIO's detach of the group waited for a stalled pin");
	EXPECT_TRUE(pause_waiting(_metadata, "pin"));
	pause_release("pin");
	pthread_join(attacher.thread, NULL);
	pthread_join(unsetter.thread, NULL);
	EXPECT_EQ(0, unsetter.ret) TH_LOG("unset: %s", errname(unsetter.ret));
	EXPECT_EQ(ENODEV, attacher.ret) TH_LOG("replace: %s", errname(attacher.ret));
	dma_load_pattern(_metadata, self, e);
	EXPECT_FALSE(dma_write_lands(_metadata, self, e));
	/* A's automatic HWPT goes with the detach, in the work item */
	for (tries = 0; tries < 100; tries++) {
		if (live_objects() == objects && pinned_pages() == pinned)
			break;
		usleep(50000);
	}
	EXPECT_EQ(objects, live_objects());
	EXPECT_EQ(pinned, pinned_pages());
	EXPECT_EQ(0, destroy_id(self->fd, dev));
	close(c);
}

/*
 * The child is a VMM: its own container, group file and /dev/iommu-replace
 * file, a device fd, 2 MiB mapped and its device attached and proven by
 * DMA. It says "ready" and waits to be killed.
 */
static void vmm_child(struct edu *e, int ready_fd)
{
	int c, group_fd, fd, device_fd, ok = 0;
	size_t len = 2 << 20;
	unsigned char *buf;
	__u32 dev, ioas, pt;

	group_fd = open_group(e->group);
	c = open_container();
	fd = open_dev();
	if (group_fd < 0 || c < 0 || fd < 0 ||
	    container_set(c, group_fd, IOMMU_REPLACE_VFIO_TYPE) ||
	    vfio_link(c, fd))
		goto out;
	device_fd = ioctl(group_fd, VFIO_GROUP_GET_DEVICE_FD, e->name);
	if (device_fd < 0 || edu_open_vfio(e, device_fd) ||
	    bind_dev(fd, e, group_fd, &dev) || ioas_alloc(fd, &ioas))
		goto out;
	buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (buf == MAP_FAILED)
		goto out;
	memset(buf, PAT_X, DMA_LEN);
	pt = ioas;
	if (ioas_map_fixed(fd, ioas, IOVA_V, buf, len) ||
	    device_attach(fd, dev, &pt))
		goto out;
	/* the device copies V to V + 1 MiB, through the page table */
	if (edu_dma(e, IOVA_V, DMA_LEN, false) ||
	    edu_dma(e, IOVA_V + (1 << 20), DMA_LEN, true))
		goto out;
	ok = all_bytes(buf + (1 << 20), PAT_X, DMA_LEN);
out:
	if (write(ready_fd, ok ? "ready" : "fail!", 5) != 5)
		_exit(1);
	for (;;)
		pause();
}

TEST_F(hw, vfio_killed_vmm_leaves_nothing)
{
	struct edu *e = self->pair[0];
	char word[6] = "";
	int pipe_fds[2], status, tries;
	uint64_t pinned_before = pinned_pages();
	uint64_t contexts_before = counter_read(_metadata, "contexts");
	pid_t pid;

	NEED_BACKEND();
	/* the VMM opens the group itself: a group file opens once */
	close(self->pair_group_fd);
	self->pair_group_fd = -1;
	ASSERT_EQ(0, pipe(pipe_fds));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(pipe_fds[0]);
		close(self->fd);
		vmm_child(e, pipe_fds[1]);
	}
	close(pipe_fds[1]);
	ASSERT_EQ(5, read(pipe_fds[0], word, 5));
	close(pipe_fds[0]);
	EXPECT_STREQ("ready", word) TH_LOG("the VMM's DMA did not go through");
	EXPECT_LE(pinned_before + (2 << 20) / psize(), pinned_pages());

	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	/* the last files may go a moment later (delayed fput) */
	for (tries = 0; tries < 100; tries++) {
		if (pinned_pages() == pinned_before &&
		    counter_read(_metadata, "contexts") == contexts_before)
			break;
		usleep(50000);
	}
	EXPECT_EQ(pinned_before, pinned_pages());
	EXPECT_EQ(contexts_before, counter_read(_metadata, "contexts"));
	/* the group is free again: it opens, and this file can claim it */
	self->pair_group_fd = open_group(e->group);
	ASSERT_LE(0, self->pair_group_fd) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(0, bind_dev(self->fd, e, self->pair_group_fd, NULL));
}

TEST_F(hw, vfio_module_unloads_and_loads_while_vfio_is_busy)
{
	int c, c1, device_fd;

	NEED_BACKEND();
	/* nothing of this file may hold the module */
	close(self->fd);
	self->fd = -1;

	/* a container of our type holds the module */
	c = open_container();
	ASSERT_LE(0, c);
	ASSERT_EQ(0, container_set(c, self->pair_group_fd,
				   IOMMU_REPLACE_VFIO_TYPE));
	EXPECT_EQ(-EWOULDBLOCK, edu_unload_ours());
	/* until the group leaves it (closing the container is not enough) */
	close(c);
	EXPECT_EQ(-EWOULDBLOCK, edu_unload_ours());
	ASSERT_EQ(0, ioctl(self->pair_group_fd, VFIO_GROUP_UNSET_CONTAINER));

	/* VFIO busy with type1: a device in use, then ours goes and comes */
	ASSERT_EQ(0, edu_load_module("vfio_iommu_type1"));
	c1 = open_container();
	ASSERT_LE(0, c1);
	ASSERT_EQ(0, container_set(c1, self->bridged_group_fd,
				   VFIO_TYPE1v2_IOMMU));
	device_fd = ioctl(self->bridged_group_fd, VFIO_GROUP_GET_DEVICE_FD,
			  self->bridged[0]->name);
	ASSERT_LE(0, device_fd) TH_LOG("GET_DEVICE_FD: %s", strerror(errno));
	ASSERT_EQ(0, edu_unload_ours());
	EXPECT_EQ('?', backend_registered());
	c = open_container();
	ASSERT_LE(0, c);
	EXPECT_EQ(0, check_extension(c, IOMMU_REPLACE_VFIO_TYPE));
	close(c);
	ASSERT_EQ(0, edu_load_ours(NULL));
	EXPECT_EQ('Y', backend_registered());
	c = open_container();
	ASSERT_LE(0, c);
	EXPECT_EQ(1, check_extension(c, IOMMU_REPLACE_VFIO_TYPE));
	close(c);
	/* type1's container is untouched by all of it */
	EXPECT_EQ(1, check_extension(c1, VFIO_TYPE1v2_IOMMU));
	close(device_fd);
	close(c1);
}

TEST_HARNESS_MAIN
