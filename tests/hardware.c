// SPDX-License-Identifier: GPL-2.0-only
/*
 * hardware - real PCI devices behind the emulated IOMMU (VT-d or AMD-Vi):
 * bind, attach, replace, detach and unbind, each proven by edu DMA (see
 * hw_fixture.h for the devices, buffers and IOASes every test starts from).
 *
 * The switch route is the native iommu_group_replace_domain() unless the
 * kernel lacks it or the module was loaded with force_fallback=1; the
 * fault sweeps check that the fallback's per-device site fires exactly
 * when the fallback route is in use. Hot-unplug is unplug.c's.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "iorp_test.h"
#include "hw_fixture.h"

/* --- attach and replace ---------------------------------------------------- */

TEST_F(hw, attach_reads_ioas_a)
{
	__u32 pt = self->ioas_a, again;

	ASSERT_EQ(0, device_attach(self->fd, self->dev, &pt));
	EXPECT_NE(self->ioas_a, pt);
	EXPECT_NE(self->ioas_b, pt);
	EXPECT_STREQ("X", dma_reads(_metadata, self, self->alone));
	/* attaching to what it has is a no-op; to its IOAS reuses the HWPT */
	again = pt;
	EXPECT_EQ(0, device_attach(self->fd, self->dev, &again));
	EXPECT_EQ(pt, again);
	again = self->ioas_a;
	EXPECT_EQ(0, device_attach(self->fd, self->dev, &again));
	EXPECT_EQ(pt, again);
	/* the automatic HWPT lives while attached */
	EXPECT_EQ(EBUSY, destroy_id(self->fd, pt));
	EXPECT_EQ(EBUSY, destroy_id(self->fd, self->ioas_a));
	EXPECT_STREQ("X", dma_reads(_metadata, self, self->alone));
}

TEST_F(hw, replace_to_hwpt_b_and_back)
{
	__u32 pt = self->ioas_a, hwpt_b, back;

	ASSERT_EQ(0, hwpt_alloc(self->fd, self->dev, self->ioas_b, 0, &hwpt_b));
	ASSERT_EQ(0, device_attach(self->fd, self->dev, &pt));
	ASSERT_STREQ("X", dma_reads(_metadata, self, self->alone));

	back = hwpt_b;
	ASSERT_EQ(0, device_attach(self->fd, self->dev, &back));
	EXPECT_EQ(hwpt_b, back);
	EXPECT_STREQ("Y", dma_reads(_metadata, self, self->alone));
	/* the automatic HWPT of A went with its last device */
	EXPECT_EQ(ENOENT, destroy_id(self->fd, pt));

	back = self->ioas_a;
	ASSERT_EQ(0, device_attach(self->fd, self->dev, &back));
	EXPECT_STREQ("X", dma_reads(_metadata, self, self->alone));
	/* and to an IOAS (an automatic HWPT of B) */
	back = self->ioas_b;
	ASSERT_EQ(0, device_attach(self->fd, self->dev, &back));
	EXPECT_NE(hwpt_b, back);
	EXPECT_STREQ("Y", dma_reads(_metadata, self, self->alone));
	back = hwpt_b;
	ASSERT_EQ(0, device_attach(self->fd, self->dev, &back));
	EXPECT_STREQ("Y", dma_reads(_metadata, self, self->alone));
	EXPECT_EQ(EBUSY, destroy_id(self->fd, hwpt_b));
	ASSERT_EQ(0, device_detach(self->fd, self->dev));
	EXPECT_EQ(0, destroy_id(self->fd, hwpt_b));
}

/* --- failures leave the old attachment --------------------------------------- */

static const struct {
	const char *site;
	int err;
} steps[] = {
	{ "resv", ENOMEM },		/* reading the reserved regions */
	{ "domain_alloc", ENOMEM },	/* the new automatic HWPT's domain */
	{ "iommu_map", ENOMEM },	/* filling it from the IOAS */
	{ "group_switch", EIO },	/* the switch, before it starts */
	{ "switch_dev", EIO },		/* one device of the fallback walk */
};

/*
 * Sweep the n-th call of every step while moving dev to *target: each
 * failure must return the step's errno, leave the group's devices reading
 * what they read before ("before"), and leave the objects and pinned pages
 * as they were. Each sweep ends with the operation succeeding, then undo()
 * puts things back. fired[i] counts the failures of steps[i].
 */
static void sweep(struct __test_metadata *_metadata, FIXTURE_DATA(hw) *self,
		  __u32 dev, __u32 target, struct edu **edus, int nr_edus,
		  const char *before, void (*undo)(struct __test_metadata *,
						   FIXTURE_DATA(hw) *),
		  unsigned int *fired)
{
	for (unsigned int s = 0; s < ARRAY_SIZE(steps); s++) {
		unsigned int n;

		for (n = 1; n < 64; n++) {
			uint64_t objects = live_objects();
			uint64_t pinned = pinned_pages();
			__u32 pt = target;
			int ret;

			fault_arm(_metadata, steps[s].site, n);
			ret = device_attach(self->fd, dev, &pt);
			if (fault_left(_metadata, steps[s].site)) {
				fault_arm(_metadata, steps[s].site, 0);
				ASSERT_EQ(0, ret) TH_LOG("%s", errname(ret));
				undo(_metadata, self);
				break;
			}
			fired[s]++;
			ASSERT_EQ(steps[s].err, ret)
				TH_LOG("%s, call %u: %s", steps[s].site, n,
				       errname(ret));
			EXPECT_EQ(objects, live_objects());
			EXPECT_EQ(pinned, pinned_pages());
			for (int i = 0; i < nr_edus; i++) {
				if (before) {
					EXPECT_STREQ(before,
						     dma_reads(_metadata, self, edus[i]))
						TH_LOG("%s, call %u, %s", steps[s].site,
						       n, edus[i]->name);
				} else {
					EXPECT_FALSE(dma_write_lands(_metadata, self,
								     edus[i]))
						TH_LOG("%s, call %u, %s", steps[s].site,
						       n, edus[i]->name);
				}
			}
		}
		/* the sweep ends with the operation getting past the site */
		ASSERT_GT(64, n) TH_LOG("%s fired on every call", steps[s].site);
	}
}

/* Every step the operation goes through fired; switch_dev iff fallback. */
static void check_fired(struct __test_metadata *_metadata,
			FIXTURE_DATA(hw) *self, const unsigned int *fired,
			bool new_domain)
{
	for (unsigned int s = 0; s < ARRAY_SIZE(steps); s++) {
		const char *site = steps[s].site;
		bool expect;

		if (!strcmp(site, "switch_dev"))
			expect = self->fallback;
		else if (!strcmp(site, "domain_alloc") || !strcmp(site, "iommu_map"))
			expect = new_domain;
		else
			expect = true;
		EXPECT_EQ(expect, fired[s] > 0)
			TH_LOG("%s fired %u times (fallback route: %d)", site,
			       fired[s], self->fallback);
	}
}

static void back_to_a(struct __test_metadata *_metadata,
		      FIXTURE_DATA(hw) *self)
{
	__u32 pt = self->ioas_a;

	ASSERT_EQ(0, device_attach(self->fd, self->dev, &pt));
	ASSERT_STREQ("X", dma_reads(_metadata, self, self->alone));
}

TEST_F(hw, replace_to_ioas_failures_leave_a)
{
	unsigned int fired[ARRAY_SIZE(steps)] = { 0 };
	struct edu *e = self->alone;
	__u32 pt = self->ioas_a;

	ASSERT_EQ(0, device_attach(self->fd, self->dev, &pt));
	ASSERT_STREQ("X", dma_reads(_metadata, self, e));
	sweep(_metadata, self, self->dev, self->ioas_b, &e, 1, "X", back_to_a,
	      fired);
	check_fired(_metadata, self, fired, true);
}

TEST_F(hw, replace_to_hwpt_failures_leave_a)
{
	unsigned int fired[ARRAY_SIZE(steps)] = { 0 };
	struct edu *e = self->alone;
	__u32 pt = self->ioas_a, hwpt_b;

	ASSERT_EQ(0, hwpt_alloc(self->fd, self->dev, self->ioas_b, 0, &hwpt_b));
	ASSERT_EQ(0, device_attach(self->fd, self->dev, &pt));
	ASSERT_STREQ("X", dma_reads(_metadata, self, e));
	sweep(_metadata, self, self->dev, hwpt_b, &e, 1, "X", back_to_a, fired);
	check_fired(_metadata, self, fired, false);
}

static void detach_again(struct __test_metadata *_metadata,
			 FIXTURE_DATA(hw) *self)
{
	ASSERT_STREQ("X", dma_reads(_metadata, self, self->alone));
	dma_load_pattern(_metadata, self, self->alone);
	ASSERT_EQ(0, device_detach(self->fd, self->dev));
}

TEST_F(hw, attach_failures_leave_dma_blocked)
{
	unsigned int fired[ARRAY_SIZE(steps)] = { 0 };
	struct edu *e = self->alone;
	__u32 pt = self->ioas_a;

	ASSERT_EQ(0, device_attach(self->fd, self->dev, &pt));
	dma_load_pattern(_metadata, self, e);
	ASSERT_EQ(0, device_detach(self->fd, self->dev));
	ASSERT_FALSE(dma_write_lands(_metadata, self, e));
	sweep(_metadata, self, self->dev, self->ioas_a, &e, 1, NULL,
	      detach_again, fired);
	check_fired(_metadata, self, fired, true);
}

/* --- detach and unmap block DMA -------------------------------------------- */

/* Has the kernel logged a DMAR fault at IOVA V since kmsg was opened? */
static bool kmsg_has_fault(int kmsg)
{
	char rec[1024], want[64];
	ssize_t n;

	snprintf(want, sizeof(want), "fault addr 0x%llx", IOVA_V);
	for (;;) {
		n = read(kmsg, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* records were overwritten: go on */
		if (n <= 0)
			return false;
		rec[n] = '\0';
		if (strstr(rec, want))
			return true;
	}
}

TEST_F(hw, detach_blocks_dma)
{
	bool vtd = !strcmp(getenv("IORP_TOPOLOGY"), "vtd");
	struct edu *e = self->alone;
	__u32 pt = self->ioas_a;
	bool logged = false;
	int kmsg;

	ASSERT_EQ(0, device_attach(self->fd, self->dev, &pt));
	ASSERT_STREQ("X", dma_reads(_metadata, self, e));
	dma_load_pattern(_metadata, self, e);
	/* the pattern does land while attached */
	ASSERT_TRUE(dma_write_lands(_metadata, self, e));
	ASSERT_EQ(0, device_detach(self->fd, self->dev));
	/* detaching a detached device does nothing */
	ASSERT_EQ(0, device_detach(self->fd, self->dev));

	kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, kmsg);
	ASSERT_LE(0, lseek(kmsg, 0, SEEK_END));
	/*
	 * VT-d logs the fault (rate-limited to 10 lines per 5 s: earlier
	 * tests may have used them up, so write again for a while)
	 */
	for (int i = 0; i < (vtd ? 30 : 1) && !logged; i++) {
		EXPECT_FALSE(dma_write_lands(_metadata, self, e));
		for (int wait = 0; wait < 10 && !logged; wait++) {
			usleep(30000);
			logged = kmsg_has_fault(kmsg);
		}
	}
	close(kmsg);
	if (vtd) {
		EXPECT_TRUE(logged) TH_LOG("no DMAR fault at 0x%llx logged", IOVA_V);
	}

	pt = self->ioas_a;
	ASSERT_EQ(0, device_attach(self->fd, self->dev, &pt));
	EXPECT_STREQ("X", dma_reads(_metadata, self, e));
}

TEST_F(hw, unmap_blocks_then_map_works)
{
	struct edu *e = self->alone;
	__u32 pt = self->ioas_a;
	__u64 unmapped = 0;

	ASSERT_EQ(0, device_attach(self->fd, self->dev, &pt));
	ASSERT_STREQ("X", dma_reads(_metadata, self, e));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_a, IOVA_V, psize(),
				&unmapped));
	EXPECT_EQ(psize(), unmapped);
	EXPECT_STRNE("X", dma_reads(_metadata, self, e));
	dma_load_pattern(_metadata, self, e);
	EXPECT_FALSE(dma_write_lands(_metadata, self, e));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_a, IOVA_V, self->x,
				    psize()));
	EXPECT_STREQ("X", dma_reads(_metadata, self, e));
}

/* Does the IOAS let IOVA be mapped (is it in IOMMU_IOAS_IOVA_RANGES)? */
static bool iova_allowed(struct __test_metadata *_metadata, int fd,
			 __u32 ioas, __u64 iova)
{
	struct iommu_iova_range ranges[16];
	__u32 num = ARRAY_SIZE(ranges);

	EXPECT_EQ(0, ioas_iova_ranges(fd, ioas, ranges, &num, NULL));
	for (__u32 i = 0; i < num; i++)
		if (ranges[i].start <= iova && iova <= ranges[i].last)
			return true;
	return false;
}

TEST_F(hw, reserved_regions_follow_the_group)
{
	unsigned char *msi_page = self->x;
	__u32 pt = self->ioas_a;

	ASSERT_TRUE(iova_allowed(_metadata, self->fd, self->ioas_a, MSI_IOVA));
	ASSERT_EQ(0, device_attach(self->fd, self->dev, &pt));
	EXPECT_FALSE(iova_allowed(_metadata, self->fd, self->ioas_a, MSI_IOVA));
	EXPECT_EQ(EINVAL, ioas_map_fixed(self->fd, self->ioas_a, MSI_IOVA,
					 msi_page, psize()));

	/* B maps the MSI window: the group cannot move there */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_b, MSI_IOVA, msi_page,
				    psize()));
	pt = self->ioas_b;
	EXPECT_EQ(EADDRINUSE, device_attach(self->fd, self->dev, &pt));
	EXPECT_STREQ("X", dma_reads(_metadata, self, self->alone));
	EXPECT_FALSE(iova_allowed(_metadata, self->fd, self->ioas_a, MSI_IOVA));
	EXPECT_TRUE(iova_allowed(_metadata, self->fd, self->ioas_b, MSI_IOVA));

	/* without it, it can; A is free of the reservation afterwards */
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_b, MSI_IOVA, psize(), NULL));
	pt = self->ioas_b;
	ASSERT_EQ(0, device_attach(self->fd, self->dev, &pt));
	EXPECT_STREQ("Y", dma_reads(_metadata, self, self->alone));
	EXPECT_TRUE(iova_allowed(_metadata, self->fd, self->ioas_a, MSI_IOVA));
	EXPECT_FALSE(iova_allowed(_metadata, self->fd, self->ioas_b, MSI_IOVA));
	ASSERT_EQ(0, device_detach(self->fd, self->dev));
	EXPECT_TRUE(iova_allowed(_metadata, self->fd, self->ioas_b, MSI_IOVA));
}

/* --- the multi-device group ----------------------------------------------- */

TEST_F(hw, group_moves_together)
{
	struct edu **pair = self->pair;
	__u32 d0, d1, pt0, pt1, hwpt_b;

	ASSERT_EQ(0, bind_dev(self->fd, pair[0], self->pair_group_fd, &d0));
	ASSERT_EQ(0, bind_dev(self->fd, pair[1], self->pair_group_fd, &d1));
	ASSERT_EQ(0, hwpt_alloc(self->fd, d0, self->ioas_b, 0, &hwpt_b));

	/* attaching one moves the group: both devices read A */
	pt0 = self->ioas_a;
	ASSERT_EQ(0, device_attach(self->fd, d0, &pt0));
	EXPECT_STREQ("X", dma_reads(_metadata, self, pair[0]));
	EXPECT_STREQ("X", dma_reads(_metadata, self, pair[1]));

	/* the sibling may not use another HWPT than its group's */
	pt1 = hwpt_b;
	EXPECT_EQ(EINVAL, device_attach(self->fd, d1, &pt1));
	pt1 = self->ioas_b;
	EXPECT_EQ(EINVAL, device_attach(self->fd, d1, &pt1));
	EXPECT_STREQ("X", dma_reads(_metadata, self, pair[1]));
	pt1 = self->ioas_a;
	ASSERT_EQ(0, device_attach(self->fd, d1, &pt1));
	EXPECT_EQ(pt0, pt1);

	/* replacing through either moves both */
	pt0 = hwpt_b;
	ASSERT_EQ(0, device_attach(self->fd, d0, &pt0));
	EXPECT_STREQ("Y", dma_reads(_metadata, self, pair[0]));
	EXPECT_STREQ("Y", dma_reads(_metadata, self, pair[1]));
	pt1 = self->ioas_a;
	ASSERT_EQ(0, device_attach(self->fd, d1, &pt1));
	EXPECT_STREQ("X", dma_reads(_metadata, self, pair[0]));
	EXPECT_STREQ("X", dma_reads(_metadata, self, pair[1]));

	/* the group stays attached while one device is */
	ASSERT_EQ(0, device_detach(self->fd, d0));
	EXPECT_STREQ("X", dma_reads(_metadata, self, pair[0]));
	dma_load_pattern(_metadata, self, pair[0]);
	dma_load_pattern(_metadata, self, pair[1]);
	ASSERT_EQ(0, device_detach(self->fd, d1));
	EXPECT_FALSE(dma_write_lands(_metadata, self, pair[0]));
	EXPECT_FALSE(dma_write_lands(_metadata, self, pair[1]));
	/* the lone device's group is another: untouched */
	pt0 = self->ioas_b;
	ASSERT_EQ(0, device_attach(self->fd, self->dev, &pt0));
	EXPECT_STREQ("Y", dma_reads(_metadata, self, self->alone));
}

/*
 * Behind a PCIe-to-PCI bridge the devices reach the IOMMU with the bridge's
 * requester ID, so their group (the bridge and both) moves as one through
 * that alias. QEMU 7.2's AMD-Vi does not translate DMA from behind a
 * bridge at all, so there the ioctls are checked and the DMA half is a
 * counted skip.
 */
TEST_F(hw, bridged_group_moves_together)
{
	bool dma = !strcmp(getenv("IORP_TOPOLOGY"), "vtd");
	struct edu **pair = self->bridged;
	__u32 d0, d1, pt0, pt1, hwpt_b;

	ASSERT_EQ(0, bind_dev(self->fd, pair[0], self->bridged_group_fd, &d0));
	ASSERT_EQ(0, bind_dev(self->fd, pair[1], self->bridged_group_fd, &d1));
	ASSERT_EQ(0, hwpt_alloc(self->fd, d0, self->ioas_b, 0, &hwpt_b));

	pt0 = self->ioas_a;
	ASSERT_EQ(0, device_attach(self->fd, d0, &pt0));
	pt1 = self->ioas_a;
	ASSERT_EQ(0, device_attach(self->fd, d1, &pt1));
	EXPECT_EQ(pt0, pt1);
	if (dma) {
		EXPECT_STREQ("X", dma_reads(_metadata, self, pair[0]));
		EXPECT_STREQ("X", dma_reads(_metadata, self, pair[1]));
	}

	/* replacing through the second device moves the first too */
	pt1 = hwpt_b;
	ASSERT_EQ(0, device_attach(self->fd, d1, &pt1));
	if (dma) {
		EXPECT_STREQ("Y", dma_reads(_metadata, self, pair[0]));
		EXPECT_STREQ("Y", dma_reads(_metadata, self, pair[1]));
		dma_load_pattern(_metadata, self, pair[0]);
		dma_load_pattern(_metadata, self, pair[1]);
	}

	ASSERT_EQ(0, device_detach(self->fd, d0));
	ASSERT_EQ(0, device_detach(self->fd, d1));
	if (!dma)
		SKIP(return, "QEMU 7.2's AMD-Vi does not translate DMA from behind a PCI bridge");
	EXPECT_FALSE(dma_write_lands(_metadata, self, pair[0]));
	EXPECT_FALSE(dma_write_lands(_metadata, self, pair[1]));
}

static void pair_back_to_b(struct __test_metadata *_metadata,
			   FIXTURE_DATA(hw) *self)
{
	__u32 pt = self->ioas_b;

	/* self->dev is the pair's first device in this test */
	ASSERT_EQ(0, device_attach(self->fd, self->dev, &pt));
	ASSERT_STREQ("Y", dma_reads(_metadata, self, self->pair[1]));
}

/*
 * A failed replace of a group leaves every device on the old HWPT; on the
 * fallback route a failure in the middle of the walk rolls back the devices
 * switched before it.
 */
TEST_F(hw, group_replace_failures_leave_both)
{
	unsigned int fired[ARRAY_SIZE(steps)] = { 0 };
	unsigned int switch_dev = 4;
	__u32 d1, pt;

	ASSERT_STREQ("switch_dev", steps[switch_dev].site);
	ASSERT_EQ(0, device_unbind(self->fd, self->dev));
	ASSERT_EQ(0, bind_dev(self->fd, self->pair[0], self->pair_group_fd,
			      &self->dev));
	ASSERT_EQ(0, bind_dev(self->fd, self->pair[1], self->pair_group_fd, &d1));
	pt = self->ioas_b;
	ASSERT_EQ(0, device_attach(self->fd, self->dev, &pt));
	ASSERT_EQ(0, device_attach(self->fd, d1, &pt));
	sweep(_metadata, self, self->dev, self->ioas_a, self->pair, 2, "Y",
	      pair_back_to_b, fired);
	check_fired(_metadata, self, fired, true);
	/* the walk failed at each device, the second after a rollback */
	if (self->fallback) {
		EXPECT_LE(2, fired[switch_dev]);
	}
}

/* --- bad input -------------------------------------------------------------- */

/* A PCI device some kernel driver other than vfio-pci and pci-stub has */
static bool find_driver_owned(struct edu *out)
{
	struct dirent *de;
	bool found = false;
	DIR *d;

	d = opendir("/sys/bus/pci/devices");
	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		char link[320], target[128];
		ssize_t len;

		if (de->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "/sys/bus/pci/devices/%s/driver",
			 de->d_name);
		len = readlink(link, target, sizeof(target) - 1);
		if (len < 0)
			continue;
		target[len] = '\0';
		if (strstr(target, "/vfio-pci") || strstr(target, "/pci-stub"))
			continue;
		found = !pci_dev_parse(out, de->d_name) && out->group >= 0;
	}
	closedir(d);
	return found;
}

TEST_F(hw, bind_refuses_driver_owned_devices)
{
	struct edu owned;

	ASSERT_TRUE(find_driver_owned(&owned))
		TH_LOG("no PCI device with a driver (pcieport was expected)");
	/* root may bind a device only from vfio-pci or pci-stub */
	EXPECT_EQ(EBUSY, bind_flags(self->fd, &owned, 0, -1, NULL))
		TH_LOG("%s", owned.name);
	/* and a group file proves nothing for a device VFIO does not have */
	EXPECT_EQ(EINVAL, bind_dev(self->fd, &owned, self->alone_group_fd, NULL))
		TH_LOG("%s", owned.name);
}

TEST_F(hw, bind_refuses_bad_proof_and_flags)
{
	struct iommu_replace_device_bind cmd = {
		.size = sizeof(cmd),
		.flags = IOMMU_REPLACE_BIND_VFIO_GROUP,
		.vfio_group_fd = self->pair_group_fd,
		.pci_domain = self->pair[0]->domain,
		.pci_bus = self->pair[0]->bus,
		.pci_devfn = self->pair[0]->devfn,
	};
	struct edu missing = *self->pair[0];
	int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	uint64_t objects = live_objects();

	ASSERT_LE(0, null_fd);
	/* another group's file */
	EXPECT_EQ(EINVAL, bind_dev(self->fd, self->pair[0], self->alone_group_fd,
				   NULL));
	/* not a VFIO group, or no file at all */
	EXPECT_EQ(EBADF, bind_dev(self->fd, self->pair[0], null_fd, NULL));
	EXPECT_EQ(EBADF, bind_dev(self->fd, self->pair[0], -1, NULL));
	close(null_fd);
	/* unknown flags, non-zero reserved field */
	cmd.flags |= UNKNOWN_FLAG;
	EXPECT_EQ(EOPNOTSUPP, ioctl_errno(self->fd, IOMMU_REPLACE_DEVICE_BIND, &cmd));
	cmd.flags = IOMMU_REPLACE_BIND_VFIO_GROUP;
	cmd.__reserved = 1;
	EXPECT_EQ(EOPNOTSUPP, ioctl_errno(self->fd, IOMMU_REPLACE_DEVICE_BIND, &cmd));
	/* no such device */
	missing.bus = 0xfe;
	EXPECT_EQ(ENODEV, bind_dev(self->fd, &missing, self->pair_group_fd, NULL));
	/* a device already bound here */
	EXPECT_EQ(EBUSY, bind_dev(self->fd, self->alone, self->alone_group_fd,
				  NULL));
	EXPECT_EQ(objects, live_objects());
	/* and the good one still binds */
	cmd.__reserved = 0;
	EXPECT_EQ(0, ioctl_errno(self->fd, IOMMU_REPLACE_DEVICE_BIND, &cmd));
}

/* One file at a time owns a group; VFIO cannot take it meanwhile. */
TEST_F(hw, group_has_one_owner)
{
	int other = open_dev(), container = open("/dev/vfio/vfio", O_RDWR);
	__u32 other_dev;

	ASSERT_LE(0, other);
	ASSERT_LE(0, container);
	EXPECT_EQ(EBUSY, bind_dev(other, self->alone, self->alone_group_fd, NULL));
	/* the iommu core's answer to a second owner */
	EXPECT_EQ(-1, ioctl(self->alone_group_fd, VFIO_GROUP_SET_CONTAINER,
			    &container));
	EXPECT_EQ(EPERM, errno);

	/* unbinding gives the group back: VFIO may have it, and then not us */
	ASSERT_EQ(0, device_unbind(self->fd, self->dev));
	ASSERT_EQ(0, ioctl(self->alone_group_fd, VFIO_GROUP_SET_CONTAINER,
			   &container)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(EBUSY, bind_dev(other, self->alone, self->alone_group_fd, NULL));
	ASSERT_EQ(0, ioctl(self->alone_group_fd, VFIO_GROUP_UNSET_CONTAINER));
	EXPECT_EQ(0, bind_dev(other, self->alone, self->alone_group_fd,
			      &other_dev));
	close(container);
	close(other);
}

TEST_F(hw, foreign_and_dead_ids)
{
	int other = open_dev();
	__u32 foreign_ioas = 0, pt, hwpt, ioas_c, mock_stdev, mock_hwpt;

	ASSERT_LE(0, other);
	/* the other file's ID space: our device is unknown there */
	ASSERT_EQ(0, ioas_alloc(other, &foreign_ioas));
	pt = foreign_ioas;
	EXPECT_EQ(ENOENT, device_attach(other, self->dev, &pt));
	EXPECT_EQ(ENOENT, device_detach(other, self->dev));
	EXPECT_EQ(ENOENT, device_unbind(other, self->dev));
	/* and an ID only the other file has is unknown here */
	for (int i = 0; i < 8; i++)
		ASSERT_EQ(0, ioas_alloc(other, &foreign_ioas));
	pt = foreign_ioas;
	EXPECT_EQ(ENOENT, device_attach(self->fd, self->dev, &pt));
	close(other);

	/* objects of the wrong type */
	pt = self->dev;
	EXPECT_EQ(EINVAL, device_attach(self->fd, self->dev, &pt));
	pt = self->ioas_a;
	EXPECT_EQ(ENOENT, device_attach(self->fd, self->ioas_a, &pt));
	EXPECT_EQ(ENOENT, device_detach(self->fd, self->ioas_a));
	EXPECT_EQ(ENOENT, device_unbind(self->fd, self->ioas_a));

	/* destroyed objects */
	ASSERT_EQ(0, hwpt_alloc(self->fd, self->dev, self->ioas_b, 0, &hwpt));
	ASSERT_EQ(0, destroy_id(self->fd, hwpt));
	pt = hwpt;
	EXPECT_EQ(ENOENT, device_attach(self->fd, self->dev, &pt));
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas_c));
	ASSERT_EQ(0, destroy_id(self->fd, ioas_c));
	pt = ioas_c;
	EXPECT_EQ(ENOENT, device_attach(self->fd, self->dev, &pt));

	/* a HWPT of another IOMMU (the mock one, in an IOAS of its own) */
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas_c));
	ASSERT_EQ(0, mock_domain(self->fd, ioas_c, &mock_stdev, &mock_hwpt,
				 NULL));
	pt = mock_hwpt;
	EXPECT_EQ(EINVAL, device_attach(self->fd, self->dev, &pt));
	ASSERT_EQ(0, hwpt_alloc(self->fd, self->dev, self->ioas_b, 0, &hwpt));
	pt = hwpt;
	EXPECT_EQ(EINVAL, mock_domain_replace(self->fd, mock_stdev, &pt));

	/* still all good after all that */
	pt = hwpt;
	ASSERT_EQ(0, device_attach(self->fd, self->dev, &pt));
	EXPECT_STREQ("Y", dma_reads(_metadata, self, self->alone));
	/* an unbound device's ID is dead too */
	ASSERT_EQ(0, device_unbind(self->fd, self->dev));
	EXPECT_EQ(ENOENT, device_unbind(self->fd, self->dev));
	pt = self->ioas_a;
	EXPECT_EQ(ENOENT, device_attach(self->fd, self->dev, &pt));
	EXPECT_EQ(0, destroy_id(self->fd, hwpt));
}

/* --- what the IOMMU is: aperture, page sizes, coherency, info ----------- */

/*
 * A register of the VT-d unit behind e (its sysfs cap or ecap file); false
 * if the device has none (AMD-Vi).
 */
static bool vtd_register(const struct edu *e, const char *reg, uint64_t *val)
{
	char path[192];
	FILE *f;
	bool ok;

	snprintf(path, sizeof(path),
		 "/sys/bus/pci/devices/%s/iommu/intel-iommu/%s", e->name, reg);
	f = fopen(path, "r");
	if (!f)
		return false;
	ok = fscanf(f, "%" SCNx64, val) == 1;
	fclose(f);
	return ok;
}

/* The last IOVA the IOMMU behind e translates (VT-d: from its CAP). */
static uint64_t iommu_last_iova(const struct edu *e)
{
	uint64_t cap;
	unsigned int sagaw, mgaw, agaw, width;

	if (!vtd_register(e, "cap", &cap))
		return UINT64_MAX;	/* AMD-Vi: a v1 page table has 64 bits */
	/* the driver's choice: the widest supported AGAW of at most 57 bits */
	sagaw = (cap >> 8) & 0x1f;
	mgaw = ((cap >> 16) & 0x3f) + 1;
	for (agaw = 3; agaw > 0 && !(sagaw & (1 << agaw)); agaw--)
		;
	width = 30 + 9 * agaw;
	if (width > mgaw)
		width = mgaw;
	return (1ULL << width) - 1;
}

/* The highest IOVA IOMMU_IOAS_IOVA_RANGES reports. */
static uint64_t ioas_last_iova(struct __test_metadata *_metadata, int fd,
			       __u32 ioas)
{
	struct iommu_iova_range ranges[16];
	__u32 num = ARRAY_SIZE(ranges);

	EXPECT_EQ(0, ioas_iova_ranges(fd, ioas, ranges, &num, NULL));
	return num ? ranges[num - 1].last : 0;
}

/*
 * IOVA_RANGES tells the aperture the IOMMU really translates, whether the
 * page table was made while the device was blocked (HWPT_ALLOC, an
 * automatic HWPT) or while it used another (a replace's target); a map
 * beyond it is refused at once.
 */
TEST_F(hw, iova_ranges_are_the_iommus)
{
	const uint64_t last = iommu_last_iova(self->alone);
	__u32 pt = self->ioas_a, hwpt_b, ioas_c, hwpt_c;
	__u64 aperture;

	TH_LOG("the IOMMU translates IOVA up to %#" PRIx64, last);
	ASSERT_EQ(0, hwpt_alloc(self->fd, self->dev, self->ioas_b, 0, &hwpt_b));
	EXPECT_EQ(last, ioas_last_iova(_metadata, self->fd, self->ioas_b));
	ASSERT_EQ(0, device_attach(self->fd, self->dev, &pt));
	EXPECT_EQ(last, ioas_last_iova(_metadata, self->fd, self->ioas_a));
	ASSERT_EQ(0, hwpt_info(self->fd, pt, NULL, &aperture, NULL));
	EXPECT_EQ(last, aperture);

	/* a page table made while the device uses another */
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas_c));
	ASSERT_EQ(0, hwpt_alloc(self->fd, self->dev, ioas_c, 0, &hwpt_c));
	EXPECT_EQ(last, ioas_last_iova(_metadata, self->fd, ioas_c));
	if (last != UINT64_MAX) {
		EXPECT_EQ(EINVAL, ioas_map_fixed(self->fd, ioas_c, last + 1,
						 self->x, psize()));
		EXPECT_EQ(0, ioas_map_fixed(self->fd, ioas_c,
					    last + 1 - psize(), self->x, psize()));
	}
	pt = hwpt_c;
	ASSERT_EQ(0, device_attach(self->fd, self->dev, &pt));
	pt = hwpt_b;
	ASSERT_EQ(0, device_attach(self->fd, self->dev, &pt));
	EXPECT_STREQ("Y", dma_reads(_metadata, self, self->alone));
}

#define HUGE_IOVA	0x4000000ULL	/* 64 MiB: 2 MiB aligned, below edu's 28 bits */
#define SZ_2M		(2ULL << 20)

/* A 2 MiB hugetlbfs page, or NULL if the guest cannot give one. */
static unsigned char *huge_page(void)
{
	void *p;
	FILE *f;

	f = fopen("/proc/sys/vm/nr_hugepages", "w");
	if (f) {
		fputs("8\n", f);
		fclose(f);
	}
	p = mmap(NULL, SZ_2M, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* Does e read, at HUGE_IOVA + offset, the byte pattern of the huge page? */
static bool dma_reads_huge(struct __test_metadata *_metadata,
			   FIXTURE_DATA(hw) *self, struct edu *e,
			   const unsigned char *huge, uint64_t offset)
{
	memset(self->z, 0, DMA_LEN);
	dma(_metadata, e, HUGE_IOVA + offset, false);
	dma(_metadata, e, IOVA_W, true);
	return !memcmp(self->z, huge + offset, DMA_LEN);
}

/*
 * A 2 MiB page mapped at a 2 MiB aligned IOVA takes one 2 MiB IO page
 * wherever the IOMMU has them: in a page table made while the device was
 * blocked, and in a replace's target too, except on 6.1's VT-d, whose page
 * tables learn the IOMMU's page sizes only at their first attach (README,
 * "Supported kernels"). The device reads the right bytes through it.
 */
TEST_F(hw, superpages_where_the_iommu_has_them)
{
	const char *compat = getenv("IORP_COMPAT");
	bool knows_iommu = compat && strstr(compat, "iommu_domain_alloc_user=yes");
	unsigned char *huge = huge_page();
	__u64 pgsizes, pgsizes_b, size;
	bool vtd, has_2m;
	__u32 pt, hwpt_b;
	uint64_t cap;

	if (!huge)
		SKIP(return, "no 2 MiB hugetlbfs page in this guest");
	for (size_t i = 0; i < SZ_2M; i++)
		huge[i] = i * 7 + (i >> 12);
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_a, HUGE_IOVA, huge,
				    SZ_2M));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_b, HUGE_IOVA, huge,
				    SZ_2M));
	pt = self->ioas_a;
	ASSERT_EQ(0, device_attach(self->fd, self->dev, &pt));
	ASSERT_EQ(0, hwpt_info(self->fd, pt, &pgsizes, NULL, NULL));
	/* VT-d: second-level 2 MiB pages (CAP.SLLPS bit 0); AMD-Vi has them */
	vtd = vtd_register(self->alone, "cap", &cap);
	has_2m = !vtd || (cap & (1ULL << 34));
	EXPECT_EQ(has_2m, !!(pgsizes & SZ_2M));
	ASSERT_EQ(0, iopte_size(self->fd, pt, HUGE_IOVA + 0x1000, &size));
	EXPECT_EQ(has_2m ? SZ_2M : psize(), size);
	EXPECT_TRUE(dma_reads_huge(_metadata, self, self->alone, huge, 0x100040));
	EXPECT_STREQ("X", dma_reads(_metadata, self, self->alone));

	/* the target of a replace, made while the device uses A */
	ASSERT_EQ(0, hwpt_alloc(self->fd, self->dev, self->ioas_b, 0, &hwpt_b));
	ASSERT_EQ(0, hwpt_info(self->fd, hwpt_b, &pgsizes_b, NULL, NULL));
	EXPECT_EQ(has_2m && (knows_iommu || !vtd), !!(pgsizes_b & SZ_2M));
	ASSERT_EQ(0, iopte_size(self->fd, hwpt_b, HUGE_IOVA, &size));
	EXPECT_EQ(pgsizes_b & SZ_2M ? SZ_2M : psize(), size);
	pt = hwpt_b;
	ASSERT_EQ(0, device_attach(self->fd, self->dev, &pt));
	EXPECT_TRUE(dma_reads_huge(_metadata, self, self->alone, huge, 0x1ff000));
	EXPECT_STREQ("Y", dma_reads(_metadata, self, self->alone));
	munmap(huge, SZ_2M);
}

/*
 * With IOMMU_OPTION_HUGE_PAGES 0 every IO page is a small one, even where
 * the memory is one 2 MiB page: mapping must not join pages that follow
 * one another in memory (AMD-Vi's page table has every power of two from
 * 4 KiB, VT-d's 4 KiB, 2 MiB and 1 GiB). The device reads through them.
 */
TEST_F(hw, huge_pages_off_maps_small_io_pages)
{
	static const __u64 offsets[] = { 0, 0x1000, 0x40000, 0x100000, 0x1ff000 };
	unsigned char *huge = huge_page();
	__u64 off = 0, size;
	__u32 ioas, pt;

	if (!huge)
		SKIP(return, "no 2 MiB hugetlbfs page in this guest");
	for (size_t i = 0; i < SZ_2M; i++)
		huge[i] = i * 7 + (i >> 12);
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas));
	ASSERT_EQ(0, option_op(self->fd, IOMMU_OPTION_HUGE_PAGES,
			       IOMMU_OPTION_OP_SET, ioas, &off));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, ioas, HUGE_IOVA, huge, SZ_2M));
	/* where the device writes what it read */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, ioas, IOVA_W, self->z, psize()));
	pt = ioas;
	ASSERT_EQ(0, device_attach(self->fd, self->dev, &pt));
	for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		ASSERT_EQ(0, iopte_size(self->fd, pt, HUGE_IOVA + offsets[i],
					&size));
		EXPECT_EQ(psize(), size)
			TH_LOG("IO page at 2 MiB page offset 0x%llx",
			       (unsigned long long)offsets[i]);
	}
	EXPECT_TRUE(dma_reads_huge(_metadata, self, self->alone, huge, 0x100040));
	munmap(huge, SZ_2M);
}

/*
 * A page table forces cache-coherent DMA where the IOMMU can (VT-d with
 * snoop control, ECAP bit 7; AMD-Vi always), on every kernel.
 */
TEST_F(hw, coherency_enforced_where_the_iommu_can)
{
	__u32 pt = self->ioas_a, flags, hwpt_b;
	bool can = true;
	uint64_t ecap;

	if (vtd_register(self->alone, "ecap", &ecap))
		can = ecap & (1 << 7);
	ASSERT_EQ(0, hwpt_alloc(self->fd, self->dev, self->ioas_b, 0, &hwpt_b));
	ASSERT_EQ(0, device_attach(self->fd, self->dev, &pt));
	ASSERT_EQ(0, hwpt_info(self->fd, pt, NULL, NULL, &flags));
	EXPECT_EQ(can, !!(flags & IORP_HWPT_INFO_COHERENT));
	ASSERT_EQ(0, hwpt_info(self->fd, hwpt_b, NULL, NULL, &flags));
	EXPECT_EQ(can, !!(flags & IORP_HWPT_INFO_COHERENT));
	pt = hwpt_b;
	ASSERT_EQ(0, device_attach(self->fd, self->dev, &pt));
	EXPECT_STREQ("Y", dma_reads(_metadata, self, self->alone));
}

/*
 * IOMMU_GET_HW_INFO gives the IOMMU driver's own report where the kernel
 * has one (VT-d's capability registers, on kernels with the hw_info
 * operation), and IOMMU_HW_INFO_TYPE_NONE elsewhere.
 */
TEST_F(hw, hw_info_reports_the_iommu)
{
	const char *compat = getenv("IORP_COMPAT");
	bool kernel_reports = compat && strstr(compat, "iommu_ops_hw_info=yes");
	struct iommu_hw_info_vtd vtd;
	struct iommu_hw_info cmd = {
		.size = sizeof(cmd),
		.dev_id = self->dev,
		.data_len = sizeof(vtd),
		.data_uptr = (uintptr_t)&vtd,
	};
	uint64_t cap, ecap;

	memset(&vtd, 0xa5, sizeof(vtd));
	ASSERT_EQ(0, ioctl_errno(self->fd, IOMMU_GET_HW_INFO, &cmd));
	if (kernel_reports && vtd_register(self->alone, "cap", &cap) &&
	    vtd_register(self->alone, "ecap", &ecap)) {
		EXPECT_EQ(IOMMU_HW_INFO_TYPE_INTEL_VTD, cmd.out_data_type);
		EXPECT_EQ(sizeof(vtd), cmd.data_len);
		EXPECT_EQ(cap, vtd.cap_reg);
		EXPECT_EQ(ecap, vtd.ecap_reg);
	} else {
		EXPECT_EQ(IOMMU_HW_INFO_TYPE_NONE, cmd.out_data_type);
		EXPECT_EQ(0, cmd.data_len);
	}
}

/*
 * Reserved regions are enforced when a device attaches, as upstream does
 * (iommufd_hwpt_paging_alloc() does not look at them): a HWPT may be made
 * from an IOAS that maps the MSI window, and the device cannot attach to
 * it while it does.
 */
TEST_F(hw, hwpt_alloc_over_the_msi_window)
{
	__u32 pt = self->ioas_a, hwpt_b;

	ASSERT_EQ(0, device_attach(self->fd, self->dev, &pt));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_b, MSI_IOVA, self->x,
				    psize()));
	ASSERT_EQ(0, hwpt_alloc(self->fd, self->dev, self->ioas_b, 0, &hwpt_b));
	pt = hwpt_b;
	EXPECT_EQ(EADDRINUSE, device_attach(self->fd, self->dev, &pt));
	EXPECT_STREQ("X", dma_reads(_metadata, self, self->alone));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_b, MSI_IOVA, psize(), NULL));
	pt = hwpt_b;
	ASSERT_EQ(0, device_attach(self->fd, self->dev, &pt));
	EXPECT_STREQ("Y", dma_reads(_metadata, self, self->alone));
}

/*
 * A replace whose answer cannot be written back puts the device back on
 * the page table it had (the call fails with EFAULT); an attach whose
 * answer cannot be written back detaches again, as VFIO does.
 */
TEST_F(hw, unwritable_attach_result_changes_nothing)
{
	uint64_t objects, pinned;
	struct iommu_replace_device_attach cmd = {
		.size = sizeof(cmd),
		.dev_id = self->dev,
	};
	__u32 pt = self->ioas_a, old, hwpt_b;
	void *ro;

	ASSERT_EQ(0, hwpt_alloc(self->fd, self->dev, self->ioas_b, 0, &hwpt_b));
	objects = live_objects();
	pinned = pinned_pages();
	cmd.pt_id = self->ioas_a;
	ro = readonly_copy(_metadata, &cmd, sizeof(cmd));
	EXPECT_EQ(EFAULT, ioctl_errno(self->fd, IOMMU_REPLACE_DEVICE_ATTACH, ro));
	munmap(ro, psize());
	dma_load_pattern(_metadata, self, self->alone);
	EXPECT_FALSE(dma_write_lands(_metadata, self, self->alone));
	EXPECT_EQ(objects, live_objects());
	EXPECT_EQ(pinned, pinned_pages());

	ASSERT_EQ(0, device_attach(self->fd, self->dev, &pt));
	ASSERT_STREQ("X", dma_reads(_metadata, self, self->alone));
	old = pt;
	objects = live_objects();
	pinned = pinned_pages();
	for (int i = 0; i < 2; i++) {
		/* to a HWPT, and to an IOAS (a new automatic HWPT) */
		cmd.pt_id = i ? self->ioas_b : hwpt_b;
		ro = readonly_copy(_metadata, &cmd, sizeof(cmd));
		EXPECT_EQ(EFAULT, ioctl_errno(self->fd,
					      IOMMU_REPLACE_DEVICE_ATTACH, ro));
		munmap(ro, psize());
		EXPECT_STREQ("X", dma_reads(_metadata, self, self->alone));
		EXPECT_EQ(objects, live_objects());
		EXPECT_EQ(pinned, pinned_pages());
		/* still on the same HWPT */
		pt = self->ioas_a;
		EXPECT_EQ(0, device_attach(self->fd, self->dev, &pt));
		EXPECT_EQ(old, pt);
	}
}

/*
 * The one case where a failed replace does not leave the old page table
 * (fallback route): a device fails to switch and then also fails to go
 * back (6.1's VT-d out of memory; here the switch_back fault site). The
 * whole group is then blocked and detached, its automatic HWPT gone with
 * its last device; the device attaches again as from scratch.
 */
TEST_F(hw, replace_that_cannot_go_back_blocks_the_group)
{
	uint64_t objects, pinned;
	__u32 pt = self->ioas_a, hwpt_b, auto_a;

	if (!self->fallback)
		SKIP(return, "the native route puts the group back in the core");
	ASSERT_EQ(0, hwpt_alloc(self->fd, self->dev, self->ioas_b, 0, &hwpt_b));
	ASSERT_EQ(0, device_attach(self->fd, self->dev, &pt));
	auto_a = pt;
	ASSERT_STREQ("X", dma_reads(_metadata, self, self->alone));
	objects = live_objects();
	pinned = pinned_pages();
	fault_arm(_metadata, "switch_dev", 1);
	fault_arm(_metadata, "switch_back", 1);
	pt = hwpt_b;
	EXPECT_EQ(EIO, device_attach(self->fd, self->dev, &pt));
	EXPECT_EQ(0, fault_left(_metadata, "switch_back"));
	dma_load_pattern(_metadata, self, self->alone);
	EXPECT_FALSE(dma_write_lands(_metadata, self, self->alone));
	/* detached: A's automatic HWPT went with it, and its pins */
	EXPECT_EQ(objects - 1, live_objects());
	EXPECT_EQ(ENOENT, destroy_id(self->fd, auto_a));
	EXPECT_GT(pinned, pinned_pages());
	pt = hwpt_b;
	ASSERT_EQ(0, device_attach(self->fd, self->dev, &pt));
	EXPECT_STREQ("Y", dma_reads(_metadata, self, self->alone));
}

/* --- allocation failures inside the IOMMU driver (fail-nth) ---------------- */

struct fail_nth {
	int fd;		/* /proc/self/task/<tid>/fail-nth, or -1 */
};

/* Make every slab and page allocation of this task injectable, quietly. */
static bool fail_nth_setup(struct fail_nth *nth)
{
	static const char *const files[][2] = {
		{ "/sys/kernel/debug/failslab/ignore-gfp-wait", "N" },
		{ "/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait", "N" },
		{ "/sys/kernel/debug/failslab/verbose", "0" },
		{ "/sys/kernel/debug/fail_page_alloc/verbose", "0" },
	};
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%ld/fail-nth",
		 (long)syscall(SYS_gettid));
	nth->fd = open(path, O_RDWR | O_CLOEXEC);
	if (nth->fd < 0)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		sysfs_write(files[i][0], files[i][1]);
	return true;
}

static void fail_nth_arm(struct fail_nth *nth, unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	if (pwrite(nth->fd, buf, len, 0) != len)
		abort();
}

/* Did the armed failure fire? Disarms. */
static bool fail_nth_fired(struct fail_nth *nth)
{
	char buf[16] = "";
	ssize_t n = pread(nth->fd, buf, sizeof(buf) - 1, 0);

	while (pwrite(nth->fd, "0", 1, 0) != 1)
		;
	return n == 2 && buf[0] == '0';
}

/*
 * Every allocation on the way of a detach, an attach and a replace fails
 * in turn, the IOMMU driver's own included (6.1's VT-d allocates in every
 * attach, the way back to blocking too). Each call either succeeds or
 * fails leaving what it found; a detach always blocks DMA; nothing warns.
 * A replace that fails may find the driver unable to put the group back
 * as well: then (and only then) the group is left blocked and detached,
 * which the device's DMA and the live objects show (README, "Devices").
 */
TEST_F(hw, driver_allocation_failures)
{
	struct fail_nth nth;
	__u32 pt, hwpt_b, auto_a;
	unsigned int n, fired = 0;
	uint64_t objects, pinned;
	int ret;

	if (!fail_nth_setup(&nth))
		SKIP(return, "needs fail-nth (CONFIG_FAULT_INJECTION: the debug kernel)");
	ASSERT_EQ(0, hwpt_alloc(self->fd, self->dev, self->ioas_b, 0, &hwpt_b));

	/* detach */
	for (n = 1; n < 400; n++) {
		pt = self->ioas_a;
		ASSERT_EQ(0, device_attach(self->fd, self->dev, &pt));
		dma_load_pattern(_metadata, self, self->alone);
		fail_nth_arm(&nth, n);
		ret = device_detach(self->fd, self->dev);
		if (!fail_nth_fired(&nth))
			break;
		fired++;
		ASSERT_EQ(0, ret);
		EXPECT_FALSE(dma_write_lands(_metadata, self, self->alone))
			TH_LOG("detach with allocation %u failing: DMA not blocked", n);
	}
	ASSERT_EQ(0, ret);
	TH_LOG("detach: %u allocations failed in turn", n - 1);

	/* attach to a HWPT from detached */
	for (n = 1; n < 400; n++) {
		objects = live_objects();
		pinned = pinned_pages();
		pt = hwpt_b;
		fail_nth_arm(&nth, n);
		ret = device_attach(self->fd, self->dev, &pt);
		if (!fail_nth_fired(&nth))
			break;
		fired++;
		if (ret) {
			dma_load_pattern(_metadata, self, self->alone);
			EXPECT_FALSE(dma_write_lands(_metadata, self, self->alone));
			EXPECT_EQ(objects, live_objects());
			EXPECT_EQ(pinned, pinned_pages());
		} else {
			EXPECT_STREQ("Y", dma_reads(_metadata, self, self->alone));
			ASSERT_EQ(0, device_detach(self->fd, self->dev));
		}
	}
	ASSERT_EQ(0, ret);
	EXPECT_STREQ("Y", dma_reads(_metadata, self, self->alone));
	TH_LOG("attach: %u allocations failed in turn", n - 1);

	/* replace from A's automatic HWPT to B's HWPT */
	for (n = 1; n < 400; n++) {
		pt = self->ioas_a;
		ASSERT_EQ(0, device_attach(self->fd, self->dev, &pt));
		auto_a = pt;
		ASSERT_STREQ("X", dma_reads(_metadata, self, self->alone));
		objects = live_objects();
		pinned = pinned_pages();
		pt = hwpt_b;
		fail_nth_arm(&nth, n);
		ret = device_attach(self->fd, self->dev, &pt);
		if (!fail_nth_fired(&nth))
			break;
		fired++;
		if (!ret) {
			EXPECT_STREQ("Y", dma_reads(_metadata, self, self->alone));
			continue;
		}
		if (!strcmp("X", dma_reads(_metadata, self, self->alone))) {
			/* the old attachment, as it was */
			EXPECT_EQ(objects, live_objects());
			EXPECT_EQ(pinned, pinned_pages());
			pt = self->ioas_a;
			EXPECT_EQ(0, device_attach(self->fd, self->dev, &pt));
			EXPECT_EQ(auto_a, pt);
		} else {
			/* blocked and detached: A's automatic HWPT is gone */
			TH_LOG("replace, allocation %u: the group was left blocked", n);
			dma_load_pattern(_metadata, self, self->alone);
			EXPECT_FALSE(dma_write_lands(_metadata, self, self->alone));
			EXPECT_EQ(objects - 1, live_objects());
			EXPECT_EQ(ENOENT, destroy_id(self->fd, auto_a));
		}
		ASSERT_EQ(0, device_detach(self->fd, self->dev));
	}
	ASSERT_EQ(0, ret);
	EXPECT_STREQ("Y", dma_reads(_metadata, self, self->alone));
	TH_LOG("replace: %u allocations failed in turn", n - 1);
	EXPECT_LT(0, fired);
	close(nth.fd);
}

/* Closing the file with devices attached leaves no trace. */
TEST_F(hw, close_while_attached)
{
	uint64_t objects = live_objects(), pinned = pinned_pages();
	int other = open_dev(), container = open("/dev/vfio/vfio", O_RDWR);
	__u32 ioas, d0, d1, pt;

	ASSERT_LE(0, other);
	ASSERT_LE(0, container);
	ASSERT_EQ(0, ioas_alloc(other, &ioas));
	ASSERT_EQ(0, ioas_map_fixed(other, ioas, IOVA_V, self->y, psize()));
	ASSERT_EQ(0, ioas_map_fixed(other, ioas, IOVA_W, self->z, psize()));
	ASSERT_EQ(0, bind_dev(other, self->pair[0], self->pair_group_fd, &d0));
	ASSERT_EQ(0, bind_dev(other, self->pair[1], self->pair_group_fd, &d1));
	pt = ioas;
	ASSERT_EQ(0, device_attach(other, d0, &pt));
	ASSERT_EQ(0, device_attach(other, d1, &pt));
	EXPECT_STREQ("Y", dma_reads(_metadata, self, self->pair[1]));
	dma_load_pattern(_metadata, self, self->pair[1]);
	close(other);

	EXPECT_EQ(objects, live_objects());
	EXPECT_EQ(pinned, pinned_pages());
	EXPECT_FALSE(dma_write_lands(_metadata, self, self->pair[1]));
	/* ownership went back: VFIO can take the group */
	ASSERT_EQ(0, ioctl(self->pair_group_fd, VFIO_GROUP_SET_CONTAINER,
			   &container)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, ioctl(self->pair_group_fd, VFIO_GROUP_UNSET_CONTAINER));
	close(container);
}

TEST_HARNESS_MAIN
