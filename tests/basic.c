// SPDX-License-Identifier: GPL-2.0-only
/*
 * basic - the device node and the ioctl argument rules of /dev/iommu-replace.
 *
 * Runs against whichever build of the module the guest loaded (test flavour,
 * production, or the DKMS-built one). IOMMU_DESTROY on an empty object table
 * is the probe command for the size rules: its answer for a well-formed call
 * is ENOENT, so any other errno shows which rule fired.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <linux/iommu_replace.h>
#include "iommu_replace/test_cmd.h"

#include "kselftest_harness.h"

#define DEV_PATH "/dev/iommu-replace"
#define MISC_MAJOR 10

/* ioctl() that returns the errno, or 0 on success. */
static int ioctl_errno(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? errno : 0;
}

TEST(node_is_root_only_misc_device)
{
	unsigned int major, minor;
	struct stat st;
	char buf[32];
	FILE *f;

	ASSERT_EQ(0, stat(DEV_PATH, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600, st.st_mode & 07777);
	EXPECT_EQ(0, st.st_uid);
	EXPECT_EQ(0, st.st_gid);

	/* The node must be the misc device the module registered. */
	f = fopen("/sys/class/misc/iommu-replace/dev", "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(buf, sizeof(buf), f));
	fclose(f);
	ASSERT_EQ(2, sscanf(buf, "%u:%u", &major, &minor));
	EXPECT_EQ(MISC_MAJOR, major);
	EXPECT_EQ(major, major(st.st_rdev));
	EXPECT_EQ(minor, minor(st.st_rdev));
}

TEST(open_close)
{
	int fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);

	ASSERT_LE(0, fd);
	EXPECT_EQ(0, close(fd));
}

/* Many contexts at once, closed in an order different from opening. */
TEST(many_open_files)
{
	int fds[64];

	for (int i = 0; i < 64; i++) {
		fds[i] = open(DEV_PATH, O_RDWR | O_CLOEXEC);
		ASSERT_LE(0, fds[i]);
	}
	for (int i = 0; i < 64; i += 2)
		EXPECT_EQ(0, close(fds[i]));
	for (int i = 63; i > 0; i -= 2)
		EXPECT_EQ(0, close(fds[i]));
}

FIXTURE(dev)
{
	int fd;
};

FIXTURE_SETUP(dev)
{
	self->fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(dev)
{
	close(self->fd);
}

TEST_F(dev, unknown_commands_are_enotty)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd) };
	const unsigned long cmds[] = {
		0,
		_IO(IOMMUFD_TYPE, 0x00),
		_IO(IOMMUFD_TYPE, 0x7f),	/* just below iommufd's range */
		_IO(IOMMUFD_TYPE, 0xbf),
		_IO(IOMMUFD_TYPE, 0xff),
		_IO('x', IOMMU_REPLACE_NR_DESTROY),	/* foreign type */
		/* DESTROY's number with size and direction bits set */
		_IOWR(IOMMUFD_TYPE, IOMMU_REPLACE_NR_DESTROY, struct iommu_destroy),
	};

	for (unsigned int i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		EXPECT_EQ(ENOTTY, ioctl_errno(self->fd, cmds[i], &cmd))
			TH_LOG("cmd %#lx", cmds[i]);
	}
}

TEST_F(dev, exact_size_reaches_the_handler)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = 1 };

	EXPECT_EQ(ENOENT, ioctl_errno(self->fd, IOMMU_DESTROY, &cmd));
	cmd.id = 0;
	EXPECT_EQ(ENOENT, ioctl_errno(self->fd, IOMMU_DESTROY, &cmd));
	cmd.id = 0xffffffff;
	EXPECT_EQ(ENOENT, ioctl_errno(self->fd, IOMMU_DESTROY, &cmd));
}

TEST_F(dev, size_below_minimum_is_einval)
{
	struct iommu_destroy cmd = { .id = 1 };

	for (cmd.size = 0; cmd.size < sizeof(cmd); cmd.size++) {
		EXPECT_EQ(EINVAL, ioctl_errno(self->fd, IOMMU_DESTROY, &cmd))
			TH_LOG("size %u", cmd.size);
	}
}

TEST_F(dev, larger_size_with_zero_tail_is_accepted)
{
	const unsigned int sizes[] = { sizeof(struct iommu_destroy) + 1, 16,
				       4096, 65536 };

	for (unsigned int i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct iommu_destroy *cmd = calloc(1, sizes[i]);

		ASSERT_NE(NULL, cmd);
		cmd->size = sizes[i];
		cmd->id = 1;
		EXPECT_EQ(ENOENT, ioctl_errno(self->fd, IOMMU_DESTROY, cmd))
			TH_LOG("size %u", sizes[i]);
		free(cmd);
	}
}

TEST_F(dev, nonzero_unknown_tail_is_e2big)
{
	const unsigned int sizes[] = { sizeof(struct iommu_destroy) + 1, 16,
				       4096 };

	for (unsigned int i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unsigned char *buf = calloc(1, sizes[i]);
		struct iommu_destroy *cmd = (void *)buf;

		ASSERT_NE(NULL, buf);
		cmd->size = sizes[i];
		cmd->id = 1;
		buf[sizes[i] - 1] = 0xff;	/* last byte of the tail */
		EXPECT_EQ(E2BIG, ioctl_errno(self->fd, IOMMU_DESTROY, cmd))
			TH_LOG("size %u", sizes[i]);
		free(buf);
	}
}

TEST_F(dev, unreadable_argument_is_efault)
{
	long page = sysconf(_SC_PAGESIZE);
	struct iommu_destroy *cmd;
	char *map;

	EXPECT_EQ(EFAULT, ioctl_errno(self->fd, IOMMU_DESTROY, NULL));

	/* A struct at the end of a page whose declared tail runs into a hole. */
	map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, munmap(map + page, page));
	cmd = (void *)(map + page - sizeof(*cmd));
	cmd->size = sizeof(*cmd) + 64;
	cmd->id = 1;
	EXPECT_EQ(EFAULT, ioctl_errno(self->fd, IOMMU_DESTROY, cmd));
	cmd->size = sizeof(*cmd);
	EXPECT_EQ(ENOENT, ioctl_errno(self->fd, IOMMU_DESTROY, cmd));
	munmap(map, page);
}

/* IOMMU_TEST_CMD exists in the test flavour only (IORP_FLAVOUR says which). */
TEST_F(dev, test_command_only_in_test_flavour)
{
	struct iommu_test_cmd cmd = { .size = sizeof(cmd), .op = 0 };
	const char *flavour = getenv("IORP_FLAVOUR");

	ASSERT_NE(NULL, flavour);
	if (!strcmp(flavour, "test")) {
		EXPECT_EQ(EOPNOTSUPP, ioctl_errno(self->fd, IOMMU_TEST_CMD, &cmd));
	} else {
		EXPECT_EQ(ENOTTY, ioctl_errno(self->fd, IOMMU_TEST_CMD, &cmd));
	}
}

TEST_HARNESS_MAIN
