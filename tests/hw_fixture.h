/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hw_fixture.h - the fixture of the real-device tests (hardware.c,
 * unplug.c): edu devices behind the emulated IOMMU (VT-d or AMD-Vi), and
 * DMA that shows which page table a device really uses.
 *
 * The guest has one edu device alone in its iommu group, a pair sharing one
 * (two functions of a root-bus slot) and a pair behind a PCIe-to-PCI bridge
 * sharing one with the bridge. Every test binds what it needs through
 * the VFIO group file (the devices are handed to vfio-pci) and maps three
 * one-page buffers:
 *
 *   IOAS A:  X at IOVA V,  Z at IOVA W
 *   IOAS B:  Y at IOVA V,  Z at IOVA W
 *
 * dma_reads() makes a device copy V into its own buffer and back out to W,
 * then tells what landed in Z: "X" or "Y" names the page table the device
 * really uses. A blocked DMA moves nothing, which dma_write_lands() checks
 * from the other side: the device writes a pattern to V and X and Y must
 * not change.
 *
 * Include it after "kselftest_harness.h" and "iorp_test.h".
 */
#ifndef IORP_HW_FIXTURE_H
#define IORP_HW_FIXTURE_H

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/vfio.h>

#include "edu.h"

#define IOVA_V		0x100000ULL
#define IOVA_W		0x200000ULL
#define MSI_IOVA	0xfee00000ULL	/* x86 MSI window: reserved by the IOMMU */
#define DMA_LEN		64

#define PAT_X		0xa1
#define PAT_Y		0xb2
#define PAT_WRITE	0xd4	/* what the device writes in write tests */
#define PAT_SENTINEL	0xe5	/* the device's buffer before a read */

FIXTURE(hw)
{
	int fd;
	struct edu edus[EDU_MAX];
	struct edu *alone, *pair[2], *bridged[2];
	int alone_group_fd, pair_group_fd, bridged_group_fd;
	unsigned char *x, *y, *z;
	__u32 ioas_a, ioas_b;
	__u32 dev;		/* the lone device, bound */
	bool fallback;		/* the switch takes the attach_dev walk */
};

static inline bool is_fallback(void)
{
	const char *compat = getenv("IORP_COMPAT");
	char mode = 'N';
	FILE *f;

	f = fopen("/sys/module/iommu_replace/parameters/force_fallback", "r");
	if (f) {
		if (fscanf(f, " %c", &mode) != 1)
			mode = 'N';
		fclose(f);
	}
	return mode == 'Y' || !compat ||
	       !strstr(compat, "iommu_group_replace_domain=yes");
}

static inline int open_group(int group)
{
	char path[64];

	snprintf(path, sizeof(path), "/dev/vfio/%d", group);
	return open(path, O_RDWR | O_CLOEXEC);
}

static inline int bind_flags(int fd, const struct edu *e, __u32 flags, int group_fd,
		      __u32 *dev)
{
	struct iommu_replace_device_bind cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.vfio_group_fd = group_fd,
		.pci_domain = e->domain,
		.pci_bus = e->bus,
		.pci_devfn = e->devfn,
	};
	int ret = ioctl_errno(fd, IOMMU_REPLACE_DEVICE_BIND, &cmd);

	if (!ret && dev)
		*dev = cmd.out_dev_id;
	return ret;
}

/* Bind with the VFIO group file as proof of access */
static inline int bind_dev(int fd, const struct edu *e, int group_fd, __u32 *dev)
{
	return bind_flags(fd, e, IOMMU_REPLACE_BIND_VFIO_GROUP, group_fd, dev);
}

/* Put e in the first free slot of two; false if both are taken */
static inline bool take_slot(struct edu **two, struct edu *e)
{
	for (int i = 0; i < 2; i++) {
		if (!two[i]) {
			two[i] = e;
			return true;
		}
	}
	return false;
}

/* Find the devices, give them to vfio-pci, open their BARs and groups. */
static inline void find_devices(struct __test_metadata *_metadata,
			 FIXTURE_DATA(hw) *self)
{
	int n, i;

	n = edu_find(self->edus);
	ASSERT_EQ(EDU_IN_GUEST, n);
	self->alone = NULL;
	memset(self->pair, 0, sizeof(self->pair));
	memset(self->bridged, 0, sizeof(self->bridged));
	for (i = 0; i < n; i++) {
		struct edu *e = &self->edus[i];

		ASSERT_LE(0, e->group) TH_LOG("%s has no iommu group", e->name);
		ASSERT_EQ(0, edu_use_driver(e, "vfio-pci"))
			TH_LOG("%s: cannot bind vfio-pci", e->name);
		ASSERT_EQ(0, edu_open(e)) TH_LOG("%s: no BAR0", e->name);
		if (edu_behind_bridge(e)) {
			ASSERT_TRUE(take_slot(self->bridged, e)) TH_LOG("%s", e->name);
		} else if (edu_group_size(e->group) > 1) {
			ASSERT_TRUE(take_slot(self->pair, e)) TH_LOG("%s", e->name);
		} else {
			self->alone = e;
		}
	}
	ASSERT_NE(NULL, self->alone);
	ASSERT_NE(NULL, self->pair[1]);
	ASSERT_NE(NULL, self->bridged[1]);
	ASSERT_EQ(self->pair[0]->group, self->pair[1]->group);
	ASSERT_EQ(self->bridged[0]->group, self->bridged[1]->group);
	self->alone_group_fd = open_group(self->alone->group);
	ASSERT_LE(0, self->alone_group_fd) TH_LOG("%s", strerror(errno));
	self->pair_group_fd = open_group(self->pair[0]->group);
	ASSERT_LE(0, self->pair_group_fd) TH_LOG("%s", strerror(errno));
	self->bridged_group_fd = open_group(self->bridged[0]->group);
	ASSERT_LE(0, self->bridged_group_fd) TH_LOG("%s", strerror(errno));
}

static inline void close_devices(FIXTURE_DATA(hw) *self)
{
	for (int i = 0; i < EDU_MAX; i++)
		edu_close(&self->edus[i]);
	if (self->alone_group_fd >= 0)
		close(self->alone_group_fd);
	if (self->pair_group_fd >= 0)
		close(self->pair_group_fd);
	if (self->bridged_group_fd >= 0)
		close(self->bridged_group_fd);
	self->alone_group_fd = self->pair_group_fd = self->bridged_group_fd = -1;
}

static const char *const pause_points[] = {
	"release", "bind", "auto_hwpt", "pin", "pin_next",
};

static const char *const fault_sites[] = {
	"domain_alloc", "iommu_map", "resv", "group_switch", "switch_dev",
	"switch_back", "pin", "incoherent",
};

FIXTURE_SETUP(hw)
{
	const char *topology = getenv("IORP_TOPOLOGY");
	unsigned long page = psize();

	self->fd = self->alone_group_fd = self->pair_group_fd = -1;
	self->bridged_group_fd = -1;
	memset(self->edus, 0, sizeof(self->edus));
	if (!topology || (strcmp(topology, "vtd") && strcmp(topology, "amd")))
		SKIP(return, "needs an emulated IOMMU (IORP_TOPOLOGY vtd or amd)");
	for (unsigned int i = 0; i < ARRAY_SIZE(fault_sites); i++)
		fault_arm(_metadata, fault_sites[i], 0);
	for (unsigned int i = 0; i < ARRAY_SIZE(pause_points); i++)
		pause_arm(_metadata, pause_points[i], 0);
	self->fallback = is_fallback();
	ASSERT_EQ(0, edu_load_vfio_pci());
	find_devices(_metadata, self);

	self->x = alloc_buffer(_metadata, 3 * page);
	self->y = self->x + page;
	self->z = self->y + page;
	memset(self->x, PAT_X, page);
	memset(self->y, PAT_Y, page);
	memset(self->z, 0, page);

	self->fd = open_dev();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas_a));
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas_b));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_a, IOVA_V, self->x, page));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_a, IOVA_W, self->z, page));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_b, IOVA_V, self->y, page));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_b, IOVA_W, self->z, page));
	ASSERT_EQ(0, bind_dev(self->fd, self->alone, self->alone_group_fd,
			      &self->dev));
}

FIXTURE_TEARDOWN(hw)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(fault_sites); i++)
		fault_arm(_metadata, fault_sites[i], 0);
	for (unsigned int i = 0; i < ARRAY_SIZE(pause_points); i++)
		pause_arm(_metadata, pause_points[i], 0);
	if (self->fd >= 0)
		close(self->fd);
	close_devices(self);
}

static inline bool all_bytes(const unsigned char *p, unsigned char v, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

static inline void dma(struct __test_metadata *_metadata, struct edu *e,
		uint64_t iova, bool to_ram)
{
	ASSERT_EQ(0, edu_dma(e, iova, DMA_LEN, to_ram))
		TH_LOG("%s: the DMA engine never finished", e->name);
}

/*
 * What device e reads at V, through whatever page table its group uses:
 * "X" or "Y", or what Z held when the read moved nothing. Needs W mapped.
 */
static const char *dma_reads(struct __test_metadata *_metadata,
			     FIXTURE_DATA(hw) *self, struct edu *e)
{
	memset(self->z, PAT_SENTINEL, DMA_LEN);
	dma(_metadata, e, IOVA_W, false);	/* device buffer = sentinel */
	memset(self->z, 0, DMA_LEN);
	dma(_metadata, e, IOVA_V, false);
	dma(_metadata, e, IOVA_W, true);
	if (all_bytes(self->z, PAT_X, DMA_LEN))
		return "X";
	if (all_bytes(self->z, PAT_Y, DMA_LEN))
		return "Y";
	if (all_bytes(self->z, PAT_SENTINEL, DMA_LEN))
		return "the sentinel (the read at V moved nothing)";
	if (all_bytes(self->z, 0, DMA_LEN))
		return "nothing (a DMA was blocked)";
	return "something else";
}

/* Load the device's buffer with PAT_WRITE, through W (mapped now). */
static inline void dma_load_pattern(struct __test_metadata *_metadata,
			     FIXTURE_DATA(hw) *self, struct edu *e)
{
	memset(self->z, PAT_WRITE, DMA_LEN);
	dma(_metadata, e, IOVA_W, false);
	memset(self->z, 0, DMA_LEN);
}

/*
 * The device writes its buffer (PAT_WRITE, see dma_load_pattern()) to V:
 * did it land in X or Y? Puts them back.
 */
static inline bool dma_write_lands(struct __test_metadata *_metadata,
			    FIXTURE_DATA(hw) *self, struct edu *e)
{
	bool landed;

	dma(_metadata, e, IOVA_V, true);
	landed = !all_bytes(self->x, PAT_X, DMA_LEN) ||
		 !all_bytes(self->y, PAT_Y, DMA_LEN);
	memset(self->x, PAT_X, DMA_LEN);
	memset(self->y, PAT_Y, DMA_LEN);
	return landed;
}

/* --- threads that race a test ------------------------------------------- */

/* Something a thread does while the test races it; done is set at the end. */
struct side_job {
	pthread_t thread;
	void *(*fn)(struct side_job *job);
	int fd, group_fd;
	struct edu *e;
	__u32 dev, pt;
	int ret;
	volatile bool done;
};

static inline void *side_job_run(void *arg)
{
	struct side_job *job = arg;

	job->fn(job);
	__atomic_store_n(&job->done, true, __ATOMIC_SEQ_CST);
	return NULL;
}

static inline void side_job_start(struct __test_metadata *_metadata,
				  struct side_job *job)
{
	job->done = false;
	ASSERT_EQ(0, pthread_create(&job->thread, NULL, side_job_run, job));
}

/* Did the job finish within seconds? The caller joins it either way. */
static inline bool side_job_finishes(struct side_job *job, double seconds)
{
	double end = now_seconds() + seconds;

	while (!__atomic_load_n(&job->done, __ATOMIC_SEQ_CST) &&
	       now_seconds() < end)
		usleep(1000);
	return __atomic_load_n(&job->done, __ATOMIC_SEQ_CST);
}

static inline void *job_attach(struct side_job *job)
{
	job->ret = device_attach(job->fd, job->dev, &job->pt);
	return NULL;
}

#endif /* IORP_HW_FIXTURE_H */
