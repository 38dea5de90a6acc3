// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio_type1 - one VMM-style program, two backends. A VFIO type1
 * container is served either by iommu_replace.ko (loaded with vfio_type1=1:
 * suite vfio-type1) or by the kernel's own vfio_iommu_type1 (no module of
 * ours loaded: suite vfio-type1-kernel), in the same guest boot. Every
 * test asserts the same results of both, except where the two differ by
 * design, which the test names: the number of mappings (type1 stops at
 * its dma_entry_limit, 65535 unless raised; ours has no limit), what the
 * DMA_AVAIL capability says, the VADDR flag (type1 serves it; ours
 * refuses it, EINVAL), and the REPLACE extension (IOMMU_REPLACE_TYPE1_IOAS:
 * ours; type1 answers ENOTTY).
 *
 * The device is the edu function alone in its iommu group, driven through
 * its VFIO device fd; what a mapping does is proven by DMA: the device
 * reads at the IOVA under test and writes what it read to IOVA_W, a page
 * the test reads back.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include <linux/capability.h>
#include <linux/vfio.h>
#include <linux/iommu_replace.h>

#include "kselftest_harness.h"
#include "edu.h"
#include "iorp_test.h"
#include "emu-module/iorp_emu.h"

#define IOVA_V		0x100000ULL	/* the mappings under test */
#define IOVA_W		0x40000ULL	/* where the device writes what it read */
#define MSI_IOVA	0xfee00000ULL	/* x86 MSI window: never mappable */
#define DMA_LEN		64
#define PAT_SENTINEL	0xe5
/* a read the IOMMU blocks fills the device's buffer with zeros */
#define BLOCKED		0
#define SZ_4K		4096ULL
#define SZ_64K		0x10000ULL
#define BUF_SIZE	(2ULL << 20)
#define MANY		100000
#define offsetofend(type, member) \
	(offsetof(type, member) + sizeof(((type *)0)->member))

/*
 * Does iommu_replace.ko serve type1 containers in this guest? Loaded with
 * vfio_type1=1. (Its VFIO backend must then be registered: the setup
 * fails where the build has one, and skips where it has none.)
 */
static bool ours_expected(void)
{
	return edu_module_param_set("vfio_type1");
}

/* The build's word on the backend (modinfo vfio_backend), from the host. */
static const char *backend_status(void)
{
	const char *status = getenv("IORP_VFIO_BACKEND");

	return status ? status : "(IORP_VFIO_BACKEND is not set)";
}

static const char *backend_name(bool ours)
{
	return ours ? "iommu_replace.ko" : "the kernel's vfio_iommu_type1";
}

FIXTURE(t1) {
	struct edu e;
	int group_fd, container, device_fd;
	bool ours;
	unsigned char *buf;	/* BUF_SIZE of anonymous memory */
	unsigned char *w;	/* the page behind IOVA_W */
};

/*
 * VFIO lets one file have a group at a time: the process of a test that
 * ended may still be closing its own (a killed one, a timed-out one), so
 * EBUSY is waited out, for 10 s at most.
 */
static int open_group_file(const char *path)
{
	int fd, tries;

	for (tries = 0; tries < 100; tries++) {
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd >= 0 || errno != EBUSY)
			return fd;
		usleep(100000);
	}
	return fd;
}

static int open_edu_group(struct edu *e)
{
	struct edu edus[EDU_MAX];
	int n = edu_find(edus);
	char path[64];

	for (int i = 0; i < n; i++) {
		if (edus[i].group < 0 || edu_group_size(edus[i].group) != 1)
			continue;
		*e = edus[i];
		if (edu_use_driver(e, "vfio-pci"))
			return -1;
		snprintf(path, sizeof(path), "/dev/vfio/%d", e->group);
		return open_group_file(path);
	}
	return -1;
}

static int map_dma(int container, uint64_t iova, void *vaddr, uint64_t size,
		   uint32_t flags)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = flags,
		.vaddr = (uintptr_t)vaddr,
		.iova = iova,
		.size = size,
	};

	return ioctl(container, VFIO_IOMMU_MAP_DMA, &map) ? errno : 0;
}

#define RW (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)

/* 0 or the errno; *size is what was unmapped */
static int unmap_dma(int container, uint64_t iova, uint64_t *size,
		     uint32_t flags)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.flags = flags,
		.iova = iova,
		.size = *size,
	};

	if (ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap))
		return errno;
	*size = unmap.size;
	return 0;
}

/* IOMMU_REPLACE_TYPE1_IOAS: 0 or the errno; the answer in *out */
static int t1_ioas(int container, uint32_t op, uint32_t ioas_id,
		   struct iommu_replace_type1_ioas *out)
{
	struct iommu_replace_type1_ioas cmd = {
		.size = sizeof(cmd),
		.op = op,
		.ioas_id = ioas_id,
	};
	int ret = ioctl(container, IOMMU_REPLACE_TYPE1_IOAS, &cmd) ? errno : 0;

	if (out)
		*out = cmd;
	return ret;
}

/* The IOAS the container's devices use, and the one MAP_DMA acts on */
static void t1_ioas_ids(struct __test_metadata *_metadata, int container,
			uint32_t *attached, uint32_t *selected)
{
	struct iommu_replace_type1_ioas r;

	ASSERT_EQ(0, t1_ioas(container, IOMMU_REPLACE_TYPE1_IOAS_GET, 0, &r));
	*attached = r.out_attached_id;
	*selected = r.out_selected_id;
}

/*
 * The container with its backend set to type (the group in it), checked
 * to be served by the backend this run expects, and the device fd with
 * BAR0 mapped through it.
 */
static void container_open(struct __test_metadata *_metadata,
			   FIXTURE_DATA(t1) *self, unsigned long type)
{
	self->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->container);
	ASSERT_EQ(1, ioctl(self->container, VFIO_CHECK_EXTENSION, type));
	ASSERT_EQ(0, ioctl(self->group_fd, VFIO_GROUP_SET_CONTAINER,
			   &self->container));
	ASSERT_EQ(0, ioctl(self->container, VFIO_SET_IOMMU, type))
		TH_LOG("VFIO_SET_IOMMU(%lu): %s", type, strerror(errno));
	/* a failed open of one backend falls to the next: ask who serves */
	ASSERT_EQ(self->ours, ioctl(self->container, VFIO_CHECK_EXTENSION,
				    IOMMU_REPLACE_VFIO_TYPE) == 1)
		TH_LOG("the container is not served by %s",
		       backend_name(self->ours));
	self->device_fd = ioctl(self->group_fd, VFIO_GROUP_GET_DEVICE_FD,
				self->e.name);
	ASSERT_LE(0, self->device_fd);
	ASSERT_EQ(0, edu_open_vfio(&self->e, self->device_fd));
	ASSERT_EQ(0, map_dma(self->container, IOVA_W, self->w, SZ_4K, RW));
}

static void container_close(FIXTURE_DATA(t1) *self)
{
	edu_close(&self->e);
	if (self->device_fd >= 0)
		close(self->device_fd);
	self->device_fd = -1;
	if (self->container >= 0) {
		ioctl(self->group_fd, VFIO_GROUP_UNSET_CONTAINER);
		close(self->container);
	}
	self->container = -1;
}

FIXTURE_SETUP(t1)
{
	self->container = self->device_fd = -1;
	self->ours = ours_expected();
	if (self->ours && !edu_module_param_set("vfio_backend")) {
		ASSERT_NE(0, strncmp(backend_status(), "built:", 6))
			TH_LOG("built with the backend (%s), not registered",
			       backend_status());
		SKIP(return, "no VFIO backend in this build: %s",
		     backend_status());
	}
	ASSERT_EQ(0, edu_load_vfio_pci());
	/* the kernel's backend, where ours does not serve type1 */
	if (!self->ours)
		ASSERT_EQ(0, edu_load_module("vfio_iommu_type1"));
	self->group_fd = open_edu_group(&self->e);
	ASSERT_LE(0, self->group_fd) TH_LOG("no edu device alone in its group");
	self->buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	self->w = mmap(NULL, SZ_4K, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
	ASSERT_NE(MAP_FAILED, self->w);
	for (uint64_t off = 0; off < BUF_SIZE; off += SZ_4K)
		memset(self->buf + off, 0x10 + off / SZ_4K % 0x60, SZ_4K);
	memset(self->w, 0, SZ_4K);
	TH_LOG("backend: %s%s", backend_name(self->ours),
	       self->ours && !access("/sys/module/vfio_iommu_type1", F_OK) ?
	       " (vfio_iommu_type1 loaded too)" : "");
}

FIXTURE_TEARDOWN(t1)
{
	container_close(self);
	if (self->group_fd >= 0)
		close(self->group_fd);
	munmap(self->buf, BUF_SIZE);
	munmap(self->w, SZ_4K);
}

/* The byte of buf at page index i */
static unsigned char pat(uint64_t page)
{
	return 0x10 + page % 0x60;
}

/*
 * What the device reads at iova: the byte it found there (all DMA_LEN the
 * same; BLOCKED where the IOMMU blocked the read), PAT_SENTINEL if the
 * read moved nothing at all, -1 for a mix.
 */
static int dev_reads(struct __test_metadata *_metadata,
		     FIXTURE_DATA(t1) *self, uint64_t iova)
{
	memset(self->w, PAT_SENTINEL, DMA_LEN);
	ASSERT_EQ(0, edu_dma(&self->e, IOVA_W, DMA_LEN, false));
	memset(self->w, 0, DMA_LEN);
	ASSERT_EQ(0, edu_dma(&self->e, iova, DMA_LEN, false));
	ASSERT_EQ(0, edu_dma(&self->e, IOVA_W, DMA_LEN, true));
	for (int i = 1; i < DMA_LEN; i++)
		if (self->w[i] != self->w[0])
			return -1;
	return self->w[0];
}

/* --- what the container says ----------------------------------------------- */

TEST_F(t1, check_extension_and_info)
{
	struct vfio_iommu_type1_info *info;
	struct vfio_info_cap_header *hdr;
	struct vfio_iommu_type1_info_cap_iova_range *ranges = NULL;
	struct vfio_iommu_type1_info_dma_avail *avail = NULL;
	bool migration = false;
	size_t need;
	long cc;

	container_open(_metadata, self, VFIO_TYPE1v2_IOMMU);
	EXPECT_EQ(1, ioctl(self->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU));
	EXPECT_EQ(1, ioctl(self->container, VFIO_CHECK_EXTENSION, VFIO_UNMAP_ALL));
	EXPECT_EQ(0, ioctl(self->container, VFIO_CHECK_EXTENSION, 0x7fff));
	cc = ioctl(self->container, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU);
	EXPECT_TRUE(cc == 0 || cc == 1);
	TH_LOG("VFIO_DMA_CC_IOMMU: %ld", cc);

	/* too short for anything: EINVAL */
	info = calloc(1, 4096);
	ASSERT_NE(NULL, info);
	info->argsz = 8;
	EXPECT_EQ(-1, ioctl(self->container, VFIO_IOMMU_GET_INFO, info));
	EXPECT_EQ(EINVAL, errno);
	/* room for the struct only: the size it needs comes back, no caps */
	info->argsz = offsetofend(struct vfio_iommu_type1_info, cap_offset);
	info->cap_offset = 0x5a5a;
	ASSERT_EQ(0, ioctl(self->container, VFIO_IOMMU_GET_INFO, info));
	EXPECT_EQ(VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS, info->flags);
	EXPECT_EQ(0, info->cap_offset);
	need = info->argsz;
	ASSERT_LT(sizeof(*info), need);
	ASSERT_GE(4096, need);
	EXPECT_TRUE(info->iova_pgsizes & SZ_4K);
	EXPECT_EQ(0, info->iova_pgsizes & (SZ_4K - 1));
	TH_LOG("iova_pgsizes %#llx, %zu bytes with capabilities",
	       (unsigned long long)info->iova_pgsizes, need);

	memset(info, 0, 4096);
	info->argsz = need;
	ASSERT_EQ(0, ioctl(self->container, VFIO_IOMMU_GET_INFO, info));
	ASSERT_EQ(need, info->argsz);
	ASSERT_EQ(sizeof(*info), info->cap_offset);
	for (uint32_t off = info->cap_offset; off; off = hdr->next) {
		ASSERT_GE(need - sizeof(*hdr), off);
		hdr = (void *)((char *)info + off);
		EXPECT_EQ(1, hdr->version);
		if (hdr->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE)
			ranges = (void *)hdr;
		else if (hdr->id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL)
			avail = (void *)hdr;
		else if (hdr->id == VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION)
			migration = true;
	}
	/* dirty tracking: type1's, not ours */
	EXPECT_EQ(!self->ours, migration);
	ASSERT_NE(NULL, ranges);
	ASSERT_NE(NULL, avail);
	/* one mapping so far (IOVA_W) */
	if (self->ours) {
		EXPECT_EQ(UINT32_MAX, avail->avail);	/* no limit */
	} else {
		TH_LOG("type1's DMA_AVAIL: %u", avail->avail);
	}
	ASSERT_LE(1, ranges->nr_iovas);
	EXPECT_EQ(0, ranges->iova_ranges[0].start);
	for (uint32_t i = 0; i < ranges->nr_iovas; i++) {
		struct vfio_iova_range *r = &ranges->iova_ranges[i];

		TH_LOG("IOVA range %#llx-%#llx", (unsigned long long)r->start,
		       (unsigned long long)r->end);
		EXPECT_LE(r->start, r->end);
		/* the MSI window is in none */
		EXPECT_FALSE(r->start <= MSI_IOVA && MSI_IOVA <= r->end);
	}
	free(info);
}

/* --- MAP_DMA and UNMAP_DMA, proven by DMA ---------------------------------- */

/* The IOVA ranges the container maps (IOVA_RANGE), at most max; how many */
static int iova_ranges(int container, struct vfio_iova_range *out, int max)
{
	struct vfio_iommu_type1_info *info = calloc(1, 4096);
	struct vfio_info_cap_header *hdr;
	int n = 0;

	if (!info)
		return 0;
	info->argsz = 4096;
	if (ioctl(container, VFIO_IOMMU_GET_INFO, info) ||
	    !(info->flags & VFIO_IOMMU_INFO_CAPS) || info->argsz > 4096)
		goto out;
	for (uint32_t off = info->cap_offset; off && off < 4096; off = hdr->next) {
		struct vfio_iommu_type1_info_cap_iova_range *r;

		hdr = (void *)((char *)info + off);
		if (hdr->id != VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE)
			continue;
		r = (void *)hdr;
		for (n = 0; n < (int)r->nr_iovas && n < max; n++)
			out[n] = r->iova_ranges[n];
	}
out:
	free(info);
	return n;
}

TEST_F(t1, map_dma_proven_by_dma)
{
	uint64_t size;

	container_open(_metadata, self, VFIO_TYPE1v2_IOMMU);
	/* nothing at V: the read moves nothing */
	EXPECT_EQ(BLOCKED, dev_reads(_metadata, self, IOVA_V));
	ASSERT_EQ(0, map_dma(self->container, IOVA_V, self->buf, SZ_64K, RW));
	EXPECT_EQ(pat(0), dev_reads(_metadata, self, IOVA_V));
	EXPECT_EQ(pat(3), dev_reads(_metadata, self, IOVA_V + 3 * SZ_4K));
	/* unmapped: gone from the device's view at once */
	size = SZ_64K;
	ASSERT_EQ(0, unmap_dma(self->container, IOVA_V, &size, 0));
	EXPECT_EQ(SZ_64K, size);
	EXPECT_EQ(BLOCKED, dev_reads(_metadata, self, IOVA_V));
	/* other memory at the same IOVA */
	ASSERT_EQ(0, map_dma(self->container, IOVA_V, self->buf + 5 * SZ_4K,
			     SZ_4K, VFIO_DMA_MAP_FLAG_READ));
	EXPECT_EQ(pat(5), dev_reads(_metadata, self, IOVA_V));
	/* read-only for the device: its write moves nothing */
	memset(self->w, 0x77, DMA_LEN);
	ASSERT_EQ(0, edu_dma(&self->e, IOVA_W, DMA_LEN, false));
	ASSERT_EQ(0, edu_dma(&self->e, IOVA_V, DMA_LEN, true));
	EXPECT_EQ(pat(5), self->buf[5 * SZ_4K]);
	/* a 2 MiB mapping, read at its end */
	size = 0;
	ASSERT_EQ(0, unmap_dma(self->container, 0, &size, VFIO_DMA_UNMAP_FLAG_ALL));
	EXPECT_EQ(2 * SZ_4K, size);	/* V and W */
	ASSERT_EQ(0, map_dma(self->container, IOVA_W, self->w, SZ_4K, RW));
	ASSERT_EQ(0, map_dma(self->container, 0x200000, self->buf, BUF_SIZE, RW));
	EXPECT_EQ(pat(511), dev_reads(_metadata, self, 0x200000 + 511 * SZ_4K));
}

TEST_F(t1, map_dma_bad_input)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map), .flags = RW, .vaddr = (uintptr_t)self->buf,
		.iova = IOVA_V, .size = SZ_4K,
	};
	struct vfio_iova_range ranges[8];
	int c, i, n;
	void *ro;

	container_open(_metadata, self, VFIO_TYPE1v2_IOMMU);
	c = self->container;
	map.argsz = offsetofend(struct vfio_iommu_type1_dma_map, size) - 1;
	EXPECT_EQ(-1, ioctl(c, VFIO_IOMMU_MAP_DMA, &map));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(EINVAL, map_dma(c, IOVA_V, self->buf, SZ_4K, RW | (1 << 5)));
	EXPECT_EQ(EINVAL, map_dma(c, IOVA_V, self->buf, SZ_4K, 0));
	EXPECT_EQ(EINVAL, map_dma(c, IOVA_V, self->buf, 0, RW));
	EXPECT_EQ(EINVAL, map_dma(c, IOVA_V + 512, self->buf, SZ_4K, RW));
	EXPECT_EQ(EINVAL, map_dma(c, IOVA_V, self->buf + 512, SZ_4K, RW));
	EXPECT_EQ(EINVAL, map_dma(c, IOVA_V, self->buf, SZ_4K + 512, RW));
	EXPECT_EQ(EINVAL, map_dma(c, -SZ_4K, self->buf, 2 * SZ_4K, RW));
	EXPECT_EQ(EINVAL, map_dma(c, IOVA_V, (void *)-SZ_4K, 2 * SZ_4K, RW));
	/* the MSI window, and IOVA the IOMMU does not translate */
	EXPECT_EQ(EINVAL, map_dma(c, MSI_IOVA, self->buf, SZ_4K, RW));
	/* every gap between the ranges GET_INFO gives, and past the last */
	n = iova_ranges(c, ranges, 8);
	ASSERT_LE(2, n);	/* the MSI window at least */
	for (i = 0; i < n; i++) {
		if (ranges[i].end == UINT64_MAX)
			continue;
		EXPECT_EQ(EINVAL, map_dma(c, ranges[i].end + 1, self->buf,
					  SZ_4K, RW))
			TH_LOG("IOVA %#llx, after a range",
			       (unsigned long long)ranges[i].end + 1);
	}
	/* memory that is not there, or not writable for a writable map */
	ro = mmap(NULL, SZ_4K, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	EXPECT_EQ(EFAULT, map_dma(c, IOVA_V, ro, SZ_4K, RW));
	munmap(ro, SZ_4K);
	EXPECT_EQ(EFAULT, map_dma(c, IOVA_V, ro, SZ_4K, RW));
	/* the VADDR flag: type1 looks for the mapping; ours does not serve it */
	EXPECT_EQ(self->ours ? EINVAL : ENOENT,
		  map_dma(c, IOVA_V, self->buf, SZ_4K, VFIO_DMA_MAP_FLAG_VADDR));
	/* none of that left a mapping: the range maps now, once */
	ASSERT_EQ(0, map_dma(c, IOVA_V, self->buf, 2 * SZ_4K, RW));
	EXPECT_EQ(EEXIST, map_dma(c, IOVA_V + SZ_4K, self->buf, SZ_4K, RW));
	EXPECT_EQ(EEXIST, map_dma(c, IOVA_V - SZ_4K, self->buf, 2 * SZ_4K, RW));
	EXPECT_EQ(pat(1), dev_reads(_metadata, self, IOVA_V + SZ_4K));
}

/*
 * RLIMIT_MEMLOCK of the mapping process, without CAP_IPC_LOCK: exactly
 * the limit fits, one page more is ENOMEM, and an unmap gives it back.
 */
TEST_F(t1, map_dma_memlock_limit)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];
	struct rlimit lim = { .rlim_cur = 16 * SZ_4K, .rlim_max = 16 * SZ_4K };
	uint64_t size = 0;
	int c;

	container_open(_metadata, self, VFIO_TYPE1v2_IOMMU);
	c = self->container;
	/* W was mapped with CAP_IPC_LOCK, which type1 charges anyway */
	ASSERT_EQ(0, unmap_dma(c, 0, &size, VFIO_DMA_UNMAP_FLAG_ALL));
	/* this child process only: no CAP_IPC_LOCK, 16 pages of memlock */
	ASSERT_EQ(0, syscall(SYS_capget, &hdr, data));
	data[CAP_TO_INDEX(CAP_IPC_LOCK)].effective &= ~CAP_TO_MASK(CAP_IPC_LOCK);
	ASSERT_EQ(0, syscall(SYS_capset, &hdr, data));
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &lim));
	EXPECT_EQ(ENOMEM, map_dma(c, IOVA_V, self->buf, 17 * SZ_4K, RW));
	ASSERT_EQ(0, map_dma(c, IOVA_V, self->buf, 15 * SZ_4K, RW));
	ASSERT_EQ(0, map_dma(c, IOVA_W, self->w, SZ_4K, RW));	/* 16 */
	EXPECT_EQ(ENOMEM, map_dma(c, IOVA_V + SZ_64K, self->buf, SZ_4K, RW));
	EXPECT_EQ(pat(14), dev_reads(_metadata, self, IOVA_V + 14 * SZ_4K));
	size = 15 * SZ_4K;
	ASSERT_EQ(0, unmap_dma(c, IOVA_V, &size, 0));
	EXPECT_EQ(15 * SZ_4K, size);
	/* unmapped, uncharged: the same again fits */
	ASSERT_EQ(0, map_dma(c, IOVA_V, self->buf + SZ_4K, 15 * SZ_4K, RW));
	EXPECT_EQ(pat(1), dev_reads(_metadata, self, IOVA_V));
}

/* Two mappings, A at V and B right after it */
static void map_a_b(struct __test_metadata *_metadata, FIXTURE_DATA(t1) *self)
{
	ASSERT_EQ(0, map_dma(self->container, IOVA_V, self->buf, SZ_64K, RW));
	ASSERT_EQ(0, map_dma(self->container, IOVA_V + SZ_64K,
			     self->buf + SZ_64K, SZ_64K, RW));
}

TEST_F(t1, unmap_dma_v2)
{
	uint64_t size;
	int c;

	container_open(_metadata, self, VFIO_TYPE1v2_IOMMU);
	c = self->container;
	map_a_b(_metadata, self);
	/* a range that cuts a mapping: EINVAL, nothing unmapped */
	size = SZ_4K;
	EXPECT_EQ(EINVAL, unmap_dma(c, IOVA_V, &size, 0));
	size = SZ_64K;
	EXPECT_EQ(EINVAL, unmap_dma(c, IOVA_V + SZ_4K, &size, 0));
	size = SZ_64K + SZ_4K;
	EXPECT_EQ(EINVAL, unmap_dma(c, IOVA_V, &size, 0));
	EXPECT_EQ(pat(0), dev_reads(_metadata, self, IOVA_V));
	/* bad input */
	size = 0;
	EXPECT_EQ(EINVAL, unmap_dma(c, IOVA_V, &size, 0));
	size = SZ_64K;
	EXPECT_EQ(EINVAL, unmap_dma(c, IOVA_V + 512, &size, 0));
	size = SZ_64K + 512;
	EXPECT_EQ(EINVAL, unmap_dma(c, IOVA_V, &size, 0));
	size = 2 * SZ_4K;
	EXPECT_EQ(EINVAL, unmap_dma(c, -SZ_4K, &size, 0));
	size = SZ_64K;
	EXPECT_EQ(EINVAL, unmap_dma(c, IOVA_V, &size, 1 << 5));
	EXPECT_EQ(EINVAL, unmap_dma(c, IOVA_V, &size, VFIO_DMA_UNMAP_FLAG_ALL));
	size = 0;
	EXPECT_EQ(EINVAL, unmap_dma(c, IOVA_V, &size, VFIO_DMA_UNMAP_FLAG_ALL));
	/*
	 * a dirty bitmap with no struct for it after the unmap: EINVAL
	 * either way (type1: too short an argsz; ours: not served)
	 */
	size = SZ_64K;
	EXPECT_EQ(EINVAL, unmap_dma(c, IOVA_V, &size,
				    VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP));
	/* a range with no mapping: success, nothing */
	size = SZ_64K;
	ASSERT_EQ(0, unmap_dma(c, 0x800000, &size, 0));
	EXPECT_EQ(0, size);
	/* both, exactly covered */
	size = 2 * SZ_64K;
	ASSERT_EQ(0, unmap_dma(c, IOVA_V, &size, 0));
	EXPECT_EQ(2 * SZ_64K, size);
	EXPECT_EQ(BLOCKED, dev_reads(_metadata, self, IOVA_V));
	/* a range covering more than the mappings is fine */
	map_a_b(_metadata, self);
	size = 0x400000;
	ASSERT_EQ(0, unmap_dma(c, 0x0, &size, 0));
	EXPECT_EQ(2 * SZ_64K + SZ_4K, size);	/* W too */
	ASSERT_EQ(0, map_dma(c, IOVA_W, self->w, SZ_4K, RW));
	/* ALL: everything, W too */
	map_a_b(_metadata, self);
	size = 0;
	ASSERT_EQ(0, unmap_dma(c, 0, &size, VFIO_DMA_UNMAP_FLAG_ALL));
	EXPECT_EQ(2 * SZ_64K + SZ_4K, size);
	size = 0;
	ASSERT_EQ(0, unmap_dma(c, 0, &size, VFIO_DMA_UNMAP_FLAG_ALL));
	EXPECT_EQ(0, size);
}

TEST_F(t1, unmap_dma_v1)
{
	uint64_t size;
	int c;

	container_open(_metadata, self, VFIO_TYPE1_IOMMU);
	c = self->container;
	map_a_b(_metadata, self);
	/* starting inside a mapping: success, nothing unmapped */
	size = SZ_4K;
	ASSERT_EQ(0, unmap_dma(c, IOVA_V + SZ_4K, &size, 0));
	EXPECT_EQ(0, size);
	size = 2 * SZ_64K;
	ASSERT_EQ(0, unmap_dma(c, IOVA_V + SZ_4K, &size, 0));
	EXPECT_EQ(0, size);
	EXPECT_EQ(pat(1), dev_reads(_metadata, self, IOVA_V + SZ_4K));
	/* covering a mapping's first page: the whole mapping goes */
	size = SZ_4K;
	ASSERT_EQ(0, unmap_dma(c, IOVA_V, &size, 0));
	EXPECT_EQ(SZ_64K, size);
	EXPECT_EQ(BLOCKED, dev_reads(_metadata, self, IOVA_V + SZ_4K));
	EXPECT_EQ(pat(16), dev_reads(_metadata, self, IOVA_V + SZ_64K));
	/* B from before its start, past... up to its second page */
	size = SZ_64K + 2 * SZ_4K;
	ASSERT_EQ(0, unmap_dma(c, IOVA_V, &size, 0));
	EXPECT_EQ(SZ_64K, size);
	EXPECT_EQ(BLOCKED, dev_reads(_metadata, self, IOVA_V + SZ_64K));
}

/* --- scale ----------------------------------------------------------------- */

/*
 * MANY 4 KiB mappings of one page, then all of them unmapped in one call.
 * Type1 stops at its dma_entry_limit (ENOSPC); ours has no limit.
 */
TEST_F_TIMEOUT(t1, many_mappings, 600)
{
	/*
	 * The debug kernel (KASAN, lockdep) takes minutes for MANY: there,
	 * 70,000, still past type1's limit, exercise the same paths.
	 */
	struct utsname uts;
	int many = uname(&uts) || !strstr(uts.release, "-iorp-debug") ?
		   MANY : 70000;
	FILE *f = fopen("/sys/module/vfio_iommu_type1/parameters/dma_entry_limit",
			"r");
	unsigned int limit = 0;
	/* edu's DMA reaches 256 MiB: the first 61,440 of them */
	uint64_t size, base = 0x1000000ULL;
	struct timespec t0, t1;
	int i, ret = 0;

	if (f) {
		if (fscanf(f, "%u", &limit) != 1)
			limit = 0;
		fclose(f);
	}
	container_open(_metadata, self, VFIO_TYPE1v2_IOMMU);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < many; i++) {
		ret = map_dma(self->container, base + i * SZ_4K, self->buf,
			      SZ_4K, RW);
		if (ret)
			break;
	}
	if (self->ours) {
		EXPECT_EQ(many, i) TH_LOG("map %d: %s", i, strerror(ret));
	} else {
		/* W is one of type1's entries */
		ASSERT_NE(0, limit);
		EXPECT_EQ(ENOSPC, ret);
		EXPECT_EQ(limit - 1, i);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	TH_LOG("%d mappings of 4 KiB in %.1f s%s", i,
	       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
	       ret ? ", then ENOSPC (type1's dma_entry_limit)" : "");
	ASSERT_LT(60000, i);
	EXPECT_EQ(pat(0), dev_reads(_metadata, self, base));
	EXPECT_EQ(pat(0), dev_reads(_metadata, self, base + 60000 * SZ_4K));
	size = 0;
	ASSERT_EQ(0, unmap_dma(self->container, 0, &size,
			       VFIO_DMA_UNMAP_FLAG_ALL));
	EXPECT_EQ((uint64_t)(i + 1) * SZ_4K, size);
}

/* --- the container's groups ------------------------------------------------ */

/*
 * The pair of edu functions that share a group (the other group of the
 * guest without a bridge in it), both handed to vfio-pci; its group file.
 */
static int open_pair_group(struct edu *pair)
{
	struct edu edus[EDU_MAX];
	int n = edu_find(edus), found = 0;
	char path[64];

	for (int i = 0; i < n && found < 2; i++) {
		if (edus[i].group < 0 || edu_group_size(edus[i].group) != 2 ||
		    (found && edus[i].group != pair[0].group))
			continue;
		pair[found++] = edus[i];
	}
	if (found != 2 || edu_use_driver(&pair[0], "vfio-pci") ||
	    edu_use_driver(&pair[1], "vfio-pci"))
		return -1;
	snprintf(path, sizeof(path), "/dev/vfio/%d", pair[0].group);
	return open_group_file(path);
}

/* What device e reads at iova; W must be mapped (see dev_reads()). */
static int other_reads(struct __test_metadata *_metadata,
		       FIXTURE_DATA(t1) *self, struct edu *e, uint64_t iova)
{
	struct edu keep = self->e;
	int ret;

	self->e = *e;
	ret = dev_reads(_metadata, self, iova);
	self->e = keep;
	return ret;
}

/*
 * A second group joins a container with mappings (a group of two devices:
 * both are bound and attached, both DMA), leaves it while the first stays,
 * and joins again at once (ours: while the devices it left with may still
 * wait to be unbound): each time it meets every mapping the container
 * has.
 */
TEST_F(t1, second_group_leaves_and_returns)
{
	struct edu pair[2] = {};
	int pair_fd, dev_fd, dev0_fd, round;

	pair_fd = open_pair_group(pair);
	ASSERT_LE(0, pair_fd) TH_LOG("no pair of edu functions in one group");
	container_open(_metadata, self, VFIO_TYPE1v2_IOMMU);
	ASSERT_EQ(0, map_dma(self->container, IOVA_V, self->buf, SZ_64K, RW));
	for (round = 0; round < 2; round++) {
		ASSERT_EQ(0, ioctl(pair_fd, VFIO_GROUP_SET_CONTAINER,
				   &self->container));
		dev_fd = ioctl(pair_fd, VFIO_GROUP_GET_DEVICE_FD, pair[1].name);
		ASSERT_LE(0, dev_fd);
		ASSERT_EQ(0, edu_open_vfio(&pair[1], dev_fd));
		dev0_fd = ioctl(pair_fd, VFIO_GROUP_GET_DEVICE_FD, pair[0].name);
		ASSERT_LE(0, dev0_fd);
		ASSERT_EQ(0, edu_open_vfio(&pair[0], dev0_fd));
		EXPECT_EQ(pat(2), other_reads(_metadata, self, &pair[1],
					      IOVA_V + 2 * SZ_4K));
		EXPECT_EQ(pat(3), other_reads(_metadata, self, &pair[0],
					      IOVA_V + 3 * SZ_4K));
		/* a mapping made now reaches both groups */
		ASSERT_EQ(0, map_dma(self->container, 0x800000,
				     self->buf + 9 * SZ_4K, SZ_4K, RW));
		EXPECT_EQ(pat(9), other_reads(_metadata, self, &pair[1],
					      0x800000));
		EXPECT_EQ(pat(9), dev_reads(_metadata, self, 0x800000));
		edu_close(&pair[1]);
		close(dev_fd);
		edu_close(&pair[0]);
		close(dev0_fd);
		ASSERT_EQ(0, ioctl(pair_fd, VFIO_GROUP_UNSET_CONTAINER));
		/* the first group keeps the container and its mappings */
		EXPECT_EQ(pat(0), dev_reads(_metadata, self, IOVA_V));
		uint64_t size = SZ_4K;

		ASSERT_EQ(0, unmap_dma(self->container, 0x800000, &size, 0));
		EXPECT_EQ(SZ_4K, size);
	}
	close(pair_fd);
}

/*
 * debugfs' pinned_pages once it reads want, or what it reads after tries
 * more looks 100 ms apart: a closed or killed process's last references go
 * in a work item.
 */
static long pinned_pages_settle(long want, int tries)
{
	long n = edu_module_pinned_pages();

	while (n != want && tries-- > 0) {
		usleep(100000);
		n = edu_module_pinned_pages();
	}
	return n;
}

/* The VMM child wrote to ready[1] once set up: SIGKILL it and reap it. */
static void kill_vmm(struct __test_metadata *_metadata, pid_t pid,
		     int ready[2])
{
	int status;
	char c;

	close(ready[1]);
	EXPECT_EQ(1, read(ready[0], &c, 1)) TH_LOG("the VMM failed to start");
	close(ready[0]);
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));
}

/*
 * The VMM killed with maps live and its device attached: the group is
 * free for the next one, whose container starts empty, and (ours) no page
 * stays pinned.
 */
TEST_F(t1, vmm_killed_mid_flow)
{
	long before = self->ours ? pinned_pages_settle(0, 100) : -1, after;
	int ready[2];
	pid_t pid;

	if (self->ours) {
		ASSERT_EQ(0, before) TH_LOG("pages pinned before the test");
	}
	/* VFIO lets one file have the group: the VMM opens its own */
	close(self->group_fd);
	ASSERT_EQ(0, pipe(ready));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(ready[0]);
		self->group_fd = open_edu_group(&self->e);
		container_open(_metadata, self, VFIO_TYPE1v2_IOMMU);
		if (map_dma(self->container, IOVA_V, self->buf, BUF_SIZE, RW) ||
		    dev_reads(_metadata, self, IOVA_V) != pat(0))
			_exit(1);
		/*
		 * ours: the device moved to a second IOAS, the first still
		 * mapping (a SWITCH the VMM has not cleaned up after)
		 */
		if (self->ours) {
			struct iommu_replace_type1_ioas r;

			if (t1_ioas(self->container,
				    IOMMU_REPLACE_TYPE1_IOAS_ALLOC, 0, &r) ||
			    t1_ioas(self->container,
				    IOMMU_REPLACE_TYPE1_IOAS_SELECT, r.ioas_id,
				    NULL) ||
			    map_dma(self->container, IOVA_W, self->w, SZ_4K,
				    RW) ||
			    map_dma(self->container, IOVA_V, self->buf + SZ_4K,
				    BUF_SIZE - SZ_4K, RW) ||
			    t1_ioas(self->container,
				    IOMMU_REPLACE_TYPE1_IOAS_SWITCH, r.ioas_id,
				    NULL) ||
			    dev_reads(_metadata, self, IOVA_V) != pat(1))
				_exit(1);
		}
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(1);
	}
	kill_vmm(_metadata, pid, ready);
	if (self->ours) {
		after = pinned_pages_settle(before, 50);
		EXPECT_EQ(before, after) TH_LOG("pages left pinned");
	}
	self->group_fd = open_edu_group(&self->e);
	ASSERT_LE(0, self->group_fd) TH_LOG("the group is not free");
	container_open(_metadata, self, VFIO_TYPE1v2_IOMMU);
	EXPECT_EQ(BLOCKED, dev_reads(_metadata, self, IOVA_V));
	ASSERT_EQ(0, map_dma(self->container, IOVA_V, self->buf, SZ_4K, RW));
	EXPECT_EQ(pat(0), dev_reads(_metadata, self, IOVA_V));
}

/* --- the REPLACE extension (ours) ------------------------------------------ */

/*
 * A VMM builds a second address space with MAP_DMA while its device keeps
 * using the first, switches to it, back, and again; each step proven by
 * DMA. The kernel's type1 has no such thing (ENOTTY).
 */
TEST_F(t1, replace_extension)
{
	struct iommu_replace_type1_ioas r;
	uint32_t a, b, attached, selected;
	uint64_t size;

	container_open(_metadata, self, VFIO_TYPE1v2_IOMMU);
	ASSERT_EQ(0, map_dma(self->container, IOVA_V, self->buf, SZ_64K, RW));
	EXPECT_EQ(pat(0), dev_reads(_metadata, self, IOVA_V));
	if (!self->ours) {
		EXPECT_EQ(ENOTTY, t1_ioas(self->container,
					  IOMMU_REPLACE_TYPE1_IOAS_GET, 0, NULL));
		return;
	}
	t1_ioas_ids(_metadata, self->container, &a, &selected);
	EXPECT_EQ(a, selected);

	ASSERT_EQ(0, t1_ioas(self->container, IOMMU_REPLACE_TYPE1_IOAS_ALLOC,
			     0, &r));
	b = r.ioas_id;
	EXPECT_NE(a, b);
	EXPECT_EQ(a, r.out_attached_id);
	EXPECT_EQ(a, r.out_selected_id);
	ASSERT_EQ(0, t1_ioas(self->container, IOMMU_REPLACE_TYPE1_IOAS_SELECT,
			     b, &r));
	EXPECT_EQ(a, r.out_attached_id);
	EXPECT_EQ(b, r.out_selected_id);
	/* B: W, and other pages of buf at V */
	ASSERT_EQ(0, map_dma(self->container, IOVA_W, self->w, SZ_4K, RW));
	ASSERT_EQ(0, map_dma(self->container, IOVA_V, self->buf + 8 * SZ_4K,
			     SZ_64K, RW));
	/* the device still uses A */
	EXPECT_EQ(pat(0), dev_reads(_metadata, self, IOVA_V));

	ASSERT_EQ(0, t1_ioas(self->container, IOMMU_REPLACE_TYPE1_IOAS_SWITCH,
			     b, &r));
	EXPECT_EQ(b, r.out_attached_id);
	EXPECT_EQ(b, r.out_selected_id);
	EXPECT_EQ(pat(8), dev_reads(_metadata, self, IOVA_V));
	ASSERT_EQ(0, t1_ioas(self->container, IOMMU_REPLACE_TYPE1_IOAS_SWITCH,
			     a, NULL));
	EXPECT_EQ(pat(0), dev_reads(_metadata, self, IOVA_V));
	ASSERT_EQ(0, t1_ioas(self->container, IOMMU_REPLACE_TYPE1_IOAS_SWITCH,
			     b, NULL));
	EXPECT_EQ(pat(9), dev_reads(_metadata, self, IOVA_V + SZ_4K));
	/* switching to where the devices are: only selects */
	ASSERT_EQ(0, t1_ioas(self->container, IOMMU_REPLACE_TYPE1_IOAS_SELECT,
			     a, NULL));
	ASSERT_EQ(0, t1_ioas(self->container, IOMMU_REPLACE_TYPE1_IOAS_SWITCH,
			     b, NULL));
	t1_ioas_ids(_metadata, self->container, &attached, &selected);
	EXPECT_EQ(b, attached);
	EXPECT_EQ(b, selected);

	/* UNMAP_DMA acts on the selected IOAS: A's, not the device's */
	ASSERT_EQ(0, t1_ioas(self->container, IOMMU_REPLACE_TYPE1_IOAS_SELECT,
			     a, NULL));
	size = SZ_64K;
	ASSERT_EQ(0, unmap_dma(self->container, IOVA_V, &size, 0));
	EXPECT_EQ(SZ_64K, size);
	EXPECT_EQ(pat(8), dev_reads(_metadata, self, IOVA_V));
	ASSERT_EQ(0, t1_ioas(self->container, IOMMU_REPLACE_TYPE1_IOAS_SWITCH,
			     a, NULL));
	EXPECT_EQ(BLOCKED, dev_reads(_metadata, self, IOVA_V));
	ASSERT_EQ(0, t1_ioas(self->container, IOMMU_REPLACE_TYPE1_IOAS_SWITCH,
			     b, NULL));
	size = SZ_64K;
	ASSERT_EQ(0, unmap_dma(self->container, IOVA_V, &size, 0));
	EXPECT_EQ(SZ_64K, size);
	EXPECT_EQ(BLOCKED, dev_reads(_metadata, self, IOVA_V));

	/* A goes, with its mappings; the attached and selected B stays */
	EXPECT_EQ(EBUSY, t1_ioas(self->container,
				 IOMMU_REPLACE_TYPE1_IOAS_DESTROY, b, NULL));
	ASSERT_EQ(0, t1_ioas(self->container, IOMMU_REPLACE_TYPE1_IOAS_DESTROY,
			     a, NULL));
	EXPECT_EQ(ENOENT, t1_ioas(self->container,
				  IOMMU_REPLACE_TYPE1_IOAS_SELECT, a, NULL));
	ASSERT_EQ(0, map_dma(self->container, IOVA_V, self->buf + 5 * SZ_4K,
			     SZ_4K, RW));
	EXPECT_EQ(pat(5), dev_reads(_metadata, self, IOVA_V));
}

/*
 * Bad input changes nothing: wrong sizes, ops, IDs, reserved bits; and a
 * SWITCH the devices refuse (the IOAS maps their MSI window) leaves them
 * where they were.
 */
TEST_F(t1, replace_extension_bad_input)
{
	struct iommu_replace_type1_ioas cmd, r, *ro;
	uint32_t a, c, attached, selected;
	struct {
		struct iommu_replace_type1_ioas cmd;
		uint32_t tail;
	} big = {};

	container_open(_metadata, self, VFIO_TYPE1v2_IOMMU);
	ASSERT_EQ(0, map_dma(self->container, IOVA_V, self->buf, SZ_64K, RW));
	if (!self->ours) {
		EXPECT_EQ(ENOTTY, t1_ioas(self->container,
					  IOMMU_REPLACE_TYPE1_IOAS_ALLOC, 0,
					  NULL));
		return;
	}
	t1_ioas_ids(_metadata, self->container, &a, &selected);
	/* the ID the next IOAS gets (the lowest free one): none is made below */
	ASSERT_EQ(0, t1_ioas(self->container, IOMMU_REPLACE_TYPE1_IOAS_ALLOC,
			     0, &r));
	c = r.ioas_id;
	ASSERT_EQ(0, t1_ioas(self->container, IOMMU_REPLACE_TYPE1_IOAS_DESTROY,
			     c, NULL));

	EXPECT_EQ(EINVAL, t1_ioas(self->container, IOMMU_REPLACE_TYPE1_IOAS_GET,
				  a, NULL));
	EXPECT_EQ(EINVAL, t1_ioas(self->container,
				  IOMMU_REPLACE_TYPE1_IOAS_ALLOC, a, NULL));
	EXPECT_EQ(EOPNOTSUPP, t1_ioas(self->container, 5, a, NULL));
	EXPECT_EQ(EOPNOTSUPP, t1_ioas(self->container, UINT32_MAX, 0, NULL));
	for (uint32_t op = IOMMU_REPLACE_TYPE1_IOAS_SELECT;
	     op <= IOMMU_REPLACE_TYPE1_IOAS_DESTROY; op++) {
		EXPECT_EQ(ENOENT, t1_ioas(self->container, op, 0, NULL));
		EXPECT_EQ(ENOENT, t1_ioas(self->container, op, 9999, NULL));
	}
	cmd = (struct iommu_replace_type1_ioas){ .size = sizeof(cmd),
		.op = IOMMU_REPLACE_TYPE1_IOAS_ALLOC, .__reserved = 1 };
	EXPECT_EQ(-1, ioctl(self->container, IOMMU_REPLACE_TYPE1_IOAS, &cmd));
	EXPECT_EQ(EOPNOTSUPP, errno);
	cmd = (struct iommu_replace_type1_ioas){ .size = 8,
		.op = IOMMU_REPLACE_TYPE1_IOAS_ALLOC };
	EXPECT_EQ(-1, ioctl(self->container, IOMMU_REPLACE_TYPE1_IOAS, &cmd));
	EXPECT_EQ(EINVAL, errno);
	big.cmd.size = sizeof(big);
	big.cmd.op = IOMMU_REPLACE_TYPE1_IOAS_ALLOC;
	big.tail = 1;
	EXPECT_EQ(-1, ioctl(self->container, IOMMU_REPLACE_TYPE1_IOAS, &big));
	EXPECT_EQ(E2BIG, errno);
	EXPECT_EQ(-1, ioctl(self->container, IOMMU_REPLACE_TYPE1_IOAS, NULL));
	EXPECT_EQ(EFAULT, errno);
	/* a larger struct with a zero tail is fine */
	big.tail = 0;
	big.cmd.op = IOMMU_REPLACE_TYPE1_IOAS_GET;
	EXPECT_EQ(0, ioctl(self->container, IOMMU_REPLACE_TYPE1_IOAS, &big));
	EXPECT_EQ(a, big.cmd.out_attached_id);
	/* an answer that cannot be written: EFAULT, and no IOAS */
	ro = mmap(NULL, SZ_4K, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	*ro = (struct iommu_replace_type1_ioas){ .size = sizeof(*ro),
		.op = IOMMU_REPLACE_TYPE1_IOAS_ALLOC };
	ASSERT_EQ(0, mprotect(ro, SZ_4K, PROT_READ));
	EXPECT_EQ(-1, ioctl(self->container, IOMMU_REPLACE_TYPE1_IOAS, ro));
	EXPECT_EQ(EFAULT, errno);
	munmap(ro, SZ_4K);
	/* none of that made an IOAS: the next one gets the same ID */
	ASSERT_EQ(0, t1_ioas(self->container, IOMMU_REPLACE_TYPE1_IOAS_ALLOC,
			     0, &r));
	EXPECT_EQ(c, r.ioas_id);
	c = r.ioas_id;

	/* C maps the MSI window, which no device's page table may */
	ASSERT_EQ(0, t1_ioas(self->container, IOMMU_REPLACE_TYPE1_IOAS_SELECT,
			     c, NULL));
	ASSERT_EQ(0, map_dma(self->container, IOVA_W, self->w, SZ_4K, RW));
	ASSERT_EQ(0, map_dma(self->container, MSI_IOVA, self->buf, SZ_4K, RW));
	EXPECT_EQ(EADDRINUSE, t1_ioas(self->container,
				      IOMMU_REPLACE_TYPE1_IOAS_SWITCH, c, NULL));
	t1_ioas_ids(_metadata, self->container, &attached, &selected);
	EXPECT_EQ(a, attached);
	EXPECT_EQ(c, selected);
	EXPECT_EQ(pat(0), dev_reads(_metadata, self, IOVA_V));
	EXPECT_EQ(EBUSY, t1_ioas(self->container,
				 IOMMU_REPLACE_TYPE1_IOAS_DESTROY, c, NULL));
	EXPECT_EQ(EBUSY, t1_ioas(self->container,
				 IOMMU_REPLACE_TYPE1_IOAS_DESTROY, a, NULL));
	ASSERT_EQ(0, t1_ioas(self->container, IOMMU_REPLACE_TYPE1_IOAS_SELECT,
			     a, NULL));
	ASSERT_EQ(0, t1_ioas(self->container, IOMMU_REPLACE_TYPE1_IOAS_DESTROY,
			     c, NULL));
	EXPECT_EQ(pat(1), dev_reads(_metadata, self, IOVA_V + SZ_4K));
}

struct dma_loop {
	struct edu *e;
	unsigned char *w;
	volatile int stop;
	volatile long rounds;	/* read by the switching thread */
	long blocked, wrong, timeouts;
};

/*
 * The device reads V and writes it to W, again and again. A round either
 * moves pat(0), or meets a blocked moment (zeros, some or all), or ends
 * with other bytes (wrong) or a DMA that never completes (timeouts).
 */
static void *dma_loop(void *arg)
{
	struct dma_loop *l = arg;

	while (!l->stop) {
		bool blocked = false, wrong = false;

		memset(l->w, 0, DMA_LEN);
		if (edu_dma(l->e, IOVA_V, DMA_LEN, false) ||
		    edu_dma(l->e, IOVA_W, DMA_LEN, true)) {
			l->timeouts++;
			continue;
		}
		for (int i = 0; i < DMA_LEN; i++) {
			blocked |= l->w[i] == BLOCKED;
			wrong |= l->w[i] != BLOCKED && l->w[i] != pat(0);
		}
		l->blocked += blocked;
		l->wrong += wrong;
		l->rounds++;
	}
	return NULL;
}

/*
 * SWITCHes between two IOASes that map the same memory, while the device
 * does DMA all along: every switch succeeds, the device's DMA never sees
 * other memory or hangs, and it works after. edu's DMA takes about 100 ms
 * (a timer in QEMU), so the switching goes on, past 1,000, until 20 DMA
 * rounds (40 DMAs) had it under them, or for a minute at most.
 *
 * Blocked DMA is counted, not judged: the group never passes through a
 * blocking domain, but VT-d's and AMD-Vi's attach_dev block translation
 * for a moment inside every switch (README, "Replace is not hitless"), as
 * the kernel's own replace does.
 */
TEST_F_TIMEOUT(t1, replace_extension_under_dma, 600)
{
	struct dma_loop loop = { .e = &self->e, .w = self->w };
	struct iommu_replace_type1_ioas r;
	struct timespec t0, t1;
	uint32_t ids[2];
	pthread_t thread;
	int i, ret = 0;

	container_open(_metadata, self, VFIO_TYPE1v2_IOMMU);
	ASSERT_EQ(0, map_dma(self->container, IOVA_V, self->buf, SZ_64K, RW));
	if (!self->ours)
		SKIP(return, "the REPLACE extension is ours (type1: ENOTTY, asserted in replace_extension)");
	t1_ioas_ids(_metadata, self->container, &ids[0], &ids[1]);
	ASSERT_EQ(0, t1_ioas(self->container, IOMMU_REPLACE_TYPE1_IOAS_ALLOC,
			     0, &r));
	ids[1] = r.ioas_id;
	ASSERT_EQ(0, t1_ioas(self->container, IOMMU_REPLACE_TYPE1_IOAS_SELECT,
			     ids[1], NULL));
	ASSERT_EQ(0, map_dma(self->container, IOVA_W, self->w, SZ_4K, RW));
	ASSERT_EQ(0, map_dma(self->container, IOVA_V, self->buf, SZ_64K, RW));

	ASSERT_EQ(0, pthread_create(&thread, NULL, dma_loop, &loop));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; !ret && (i < 1000 || loop.rounds < 20); i++) {
		ret = t1_ioas(self->container, IOMMU_REPLACE_TYPE1_IOAS_SWITCH,
			      ids[i % 2], NULL);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (t1.tv_sec - t0.tv_sec > 60)
			break;
	}
	loop.stop = 1;
	pthread_join(thread, NULL);
	EXPECT_EQ(0, ret) TH_LOG("switch %d: %s", i - 1, strerror(ret));
	EXPECT_LE(1000, i);
	EXPECT_LE(20, loop.rounds);
	EXPECT_EQ(0, loop.wrong);
	EXPECT_EQ(0, loop.timeouts);
	TH_LOG("%d switches in %.2f s; %ld DMA rounds meanwhile, %ld met blocked translation, %ld other memory, %ld hung",
	       i, (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
	       loop.rounds, loop.blocked, loop.wrong, loop.timeouts);
	EXPECT_EQ(pat(0), dev_reads(_metadata, self, IOVA_V));
}

/*
 * The pair's group joins the container (pair[1] opened through its device
 * fd, which is returned); a second IOAS, *b, is made and selected, with W
 * and buf's pages from 16 on at V. *a is the IOAS the devices use.
 */
static int pair_joins_b(struct __test_metadata *_metadata,
			FIXTURE_DATA(t1) *self, int pair_fd, struct edu *pair,
			uint32_t *a, uint32_t *b)
{
	struct iommu_replace_type1_ioas r;
	uint32_t selected;
	int dev_fd;

	ASSERT_EQ(0, ioctl(pair_fd, VFIO_GROUP_SET_CONTAINER,
			   &self->container));
	dev_fd = ioctl(pair_fd, VFIO_GROUP_GET_DEVICE_FD, pair[1].name);
	ASSERT_LE(0, dev_fd);
	ASSERT_EQ(0, edu_open_vfio(&pair[1], dev_fd));
	t1_ioas_ids(_metadata, self->container, a, &selected);
	ASSERT_EQ(0, t1_ioas(self->container, IOMMU_REPLACE_TYPE1_IOAS_ALLOC,
			     0, &r));
	*b = r.ioas_id;
	ASSERT_EQ(0, t1_ioas(self->container, IOMMU_REPLACE_TYPE1_IOAS_SELECT,
			     *b, NULL));
	ASSERT_EQ(0, map_dma(self->container, IOVA_W, self->w, SZ_4K, RW));
	ASSERT_EQ(0, map_dma(self->container, IOVA_V, self->buf + 16 * SZ_4K,
			     SZ_64K, RW));
	return dev_fd;
}

/*
 * Two groups in the container switch together, and when the second one's
 * switch fails (fault injection), the first goes back; a group that joins
 * after a switch meets the attached IOAS.
 */
TEST_F(t1, replace_extension_two_groups)
{
	struct edu pair[2] = {};
	int pair_fd, dev_fd;
	uint32_t a, b, attached, selected;

	pair_fd = open_pair_group(pair);
	ASSERT_LE(0, pair_fd) TH_LOG("no pair of edu functions in one group");
	container_open(_metadata, self, VFIO_TYPE1v2_IOMMU);
	ASSERT_EQ(0, map_dma(self->container, IOVA_V, self->buf, SZ_64K, RW));
	if (!self->ours) {
		close(pair_fd);
		SKIP(return, "the REPLACE extension is ours (type1: ENOTTY, asserted in replace_extension)");
	}
	dev_fd = pair_joins_b(_metadata, self, pair_fd, pair, &a, &b);
	EXPECT_EQ(pat(0), other_reads(_metadata, self, &pair[1], IOVA_V));

	/* the first group's switch passes, the second's fails: both stay */
	fault_arm(_metadata, "group_switch", 2);
	EXPECT_EQ(EIO, t1_ioas(self->container, IOMMU_REPLACE_TYPE1_IOAS_SWITCH,
			       b, NULL));
	fault_arm(_metadata, "group_switch", 0);
	t1_ioas_ids(_metadata, self->container, &attached, &selected);
	EXPECT_EQ(a, attached);
	EXPECT_EQ(b, selected);
	EXPECT_EQ(pat(0), dev_reads(_metadata, self, IOVA_V));
	EXPECT_EQ(pat(0), other_reads(_metadata, self, &pair[1], IOVA_V));

	ASSERT_EQ(0, t1_ioas(self->container, IOMMU_REPLACE_TYPE1_IOAS_SWITCH,
			     b, NULL));
	EXPECT_EQ(pat(16), dev_reads(_metadata, self, IOVA_V));
	EXPECT_EQ(pat(17), other_reads(_metadata, self, &pair[1],
				       IOVA_V + SZ_4K));

	/* the pair leaves and joins again: it meets B */
	edu_close(&pair[1]);
	close(dev_fd);
	ASSERT_EQ(0, ioctl(pair_fd, VFIO_GROUP_UNSET_CONTAINER));
	ASSERT_EQ(0, ioctl(pair_fd, VFIO_GROUP_SET_CONTAINER,
			   &self->container));
	dev_fd = ioctl(pair_fd, VFIO_GROUP_GET_DEVICE_FD, pair[1].name);
	ASSERT_LE(0, dev_fd);
	ASSERT_EQ(0, edu_open_vfio(&pair[1], dev_fd));
	EXPECT_EQ(pat(18), other_reads(_metadata, self, &pair[1],
				       IOVA_V + 2 * SZ_4K));
	/* and back to A, both groups */
	ASSERT_EQ(0, t1_ioas(self->container, IOMMU_REPLACE_TYPE1_IOAS_SWITCH,
			     a, NULL));
	EXPECT_EQ(pat(0), dev_reads(_metadata, self, IOVA_V));
	EXPECT_EQ(pat(0), other_reads(_metadata, self, &pair[1], IOVA_V));
	edu_close(&pair[1]);
	close(dev_fd);
	ASSERT_EQ(0, ioctl(pair_fd, VFIO_GROUP_UNSET_CONTAINER));
	close(pair_fd);
}

/*
 * The fallback route (6.1): the second group's switch fails at its second
 * device, and putting its first device back fails too, which leaves that
 * group detached and blocked (device.c); the way back attaches it to its
 * old page table again, and the first group goes back too.
 */
TEST_F(t1, replace_extension_group_left_blocked)
{
	struct edu pair[2] = {};
	uint32_t a, b, attached, selected;
	int pair_fd, dev_fd, ret;

	pair_fd = open_pair_group(pair);
	ASSERT_LE(0, pair_fd) TH_LOG("no pair of edu functions in one group");
	container_open(_metadata, self, VFIO_TYPE1v2_IOMMU);
	ASSERT_EQ(0, map_dma(self->container, IOVA_V, self->buf, SZ_64K, RW));
	if (!self->ours) {
		close(pair_fd);
		SKIP(return, "the REPLACE extension is ours (type1: ENOTTY, asserted in replace_extension)");
	}
	dev_fd = pair_joins_b(_metadata, self, pair_fd, pair, &a, &b);

	/* devices walked: the first group's one, then the pair's two */
	fault_arm(_metadata, "switch_dev", 3);
	fault_arm(_metadata, "switch_back", 1);
	ret = t1_ioas(self->container, IOMMU_REPLACE_TYPE1_IOAS_SWITCH, b, NULL);
	fault_arm(_metadata, "switch_dev", 0);
	fault_arm(_metadata, "switch_back", 0);
	if (!ret) {
		/* the native route (6.12) walks no device of ours */
		EXPECT_EQ(pat(16), dev_reads(_metadata, self, IOVA_V));
		EXPECT_EQ(pat(16), other_reads(_metadata, self, &pair[1],
					       IOVA_V));
		edu_close(&pair[1]);
		close(dev_fd);
		close(pair_fd);
		SKIP(return, "the native route switched: the fallback walk's fault sites are not on it");
	}
	EXPECT_EQ(EIO, ret);
	t1_ioas_ids(_metadata, self->container, &attached, &selected);
	EXPECT_EQ(a, attached);
	EXPECT_EQ(pat(0), dev_reads(_metadata, self, IOVA_V));
	EXPECT_EQ(pat(0), other_reads(_metadata, self, &pair[1], IOVA_V));
	/* and the pair is attached for real: it switches with the rest */
	ASSERT_EQ(0, t1_ioas(self->container, IOMMU_REPLACE_TYPE1_IOAS_SWITCH,
			     b, NULL));
	EXPECT_EQ(pat(16), dev_reads(_metadata, self, IOVA_V));
	EXPECT_EQ(pat(16), other_reads(_metadata, self, &pair[1], IOVA_V));
	edu_close(&pair[1]);
	close(dev_fd);
	ASSERT_EQ(0, ioctl(pair_fd, VFIO_GROUP_UNSET_CONTAINER));
	close(pair_fd);
}

/* --- emulated devices (iorp_emu.ko): pins and copies through the container */

/*
 * The emulated devices of iorp_emu.ko (tests/emu-module) each sit alone in
 * an emulated iommu group and reach memory only through their container's
 * backend: vfio_pin_pages(), vfio_unpin_pages(), vfio_dma_rw(). The same
 * tests run on both backends; where they differ the test says so.
 */
#define IOVA_RO		0x300000ULL	/* a read-only mapping */
#define IOVA_WO		0x400000ULL	/* a write-only mapping */
#define IOVA_GONE	0x500000ULL	/* memory of a process that exited */
#define EMU_PAGES	16

FIXTURE(emu) {
	int group_fd, container, device_fd;
	bool ours;
	unsigned char *buf;	/* EMU_PAGES pages, mapped at IOVA_V */
	unsigned char *buf2;	/* EMU_PAGES pages, another IOAS's */
	struct iorp_emu_status base;	/* the device's counters at the open */
};

/* iorp_emu.ko, which the lane placed at /lib/iorp/emu.ko */
static int load_emu_module(void)
{
	struct kmod_module *mod = NULL;
	struct kmod_ctx *ctx;
	int ret;

	if (!access("/sys/module/iorp_emu", F_OK))
		return 0;
	ctx = kmod_new(NULL, NULL);
	if (!ctx)
		return -ENOMEM;
	ret = kmod_module_new_from_path(ctx, "/lib/iorp/emu.ko", &mod);
	if (!ret)
		ret = kmod_module_insert_module(mod, 0, NULL);
	if (ret == -EEXIST)
		ret = 0;
	kmod_module_unref(mod);
	kmod_unref(ctx);
	return ret;
}

/* the group file of an emulated device, or -1 */
static int open_emu_group(const char *dev)
{
	char path[128], link[128];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/platform/devices/%s/iommu_group",
		 dev);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -1;
	link[n] = 0;
	snprintf(path, sizeof(path), "/dev/vfio/%s", strrchr(link, '/') + 1);
	return open_group_file(path);
}

FIXTURE_SETUP(emu)
{
	self->group_fd = self->container = self->device_fd = -1;
	self->ours = ours_expected();
	if (self->ours && !edu_module_param_set("vfio_backend"))
		SKIP(return, "no VFIO backend in this build: %s",
		     backend_status());
	ASSERT_EQ(0, edu_load_module("vfio"));
	if (!self->ours)
		ASSERT_EQ(0, edu_load_module("vfio_iommu_type1"));
	ASSERT_EQ(0, load_emu_module()) TH_LOG("cannot load /lib/iorp/emu.ko");
	self->buf = mmap(NULL, 2 * EMU_PAGES * SZ_4K, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
	self->buf2 = self->buf + EMU_PAGES * SZ_4K;
	for (uint64_t i = 0; i < 2 * EMU_PAGES * SZ_4K; i++)
		self->buf[i] = (unsigned char)(i * 7 + i / SZ_4K);
}

FIXTURE_TEARDOWN(emu)
{
	/* a test that failed while a pin waited (errors: nothing to release) */
	if (self->ours)
		write_string(IORP_PAUSE_DIR "/pin_next", "0\n");
	if (self->device_fd >= 0)
		close(self->device_fd);
	if (self->container >= 0)
		close(self->container);
	if (self->group_fd >= 0)
		close(self->group_fd);
	munmap(self->buf, 2 * EMU_PAGES * SZ_4K);
}

static struct iorp_emu_status emu_status(struct __test_metadata *_metadata,
					 int fd);

/* the container of backend type with the device dev in it, and its fd */
static void emu_open(struct __test_metadata *_metadata,
		     FIXTURE_DATA(emu) *self, const char *dev,
		     unsigned long type)
{
	self->group_fd = open_emu_group(dev);
	ASSERT_LE(0, self->group_fd) TH_LOG("no group file for %s", dev);
	self->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->container);
	ASSERT_EQ(0, ioctl(self->group_fd, VFIO_GROUP_SET_CONTAINER,
			   &self->container));
	ASSERT_EQ(0, ioctl(self->container, VFIO_SET_IOMMU, type))
		TH_LOG("VFIO_SET_IOMMU(%lu): %s", type, strerror(errno));
	ASSERT_EQ(self->ours, ioctl(self->container, VFIO_CHECK_EXTENSION,
				    IOMMU_REPLACE_VFIO_TYPE) == 1);
	self->device_fd = ioctl(self->group_fd, VFIO_GROUP_GET_DEVICE_FD, dev);
	ASSERT_LE(0, self->device_fd);
	/* the counters run on while the module stays loaded */
	self->base = emu_status(_metadata, self->device_fd);
	ASSERT_EQ(0, self->base.pinned);
	ASSERT_EQ(0, map_dma(self->container, IOVA_V, self->buf,
			     EMU_PAGES * SZ_4K, RW));
}

static int emu_pin(int fd, uint64_t iova, uint32_t npage, bool write)
{
	struct iorp_emu_pin cmd = { .iova = iova, .npage = npage,
				    .write = write };

	return ioctl(fd, IORP_EMU_PIN, &cmd) ? errno : 0;
}

static int emu_unpin(int fd, uint64_t iova, uint32_t npage)
{
	struct iorp_emu_pin cmd = { .iova = iova, .npage = npage };

	return ioctl(fd, IORP_EMU_UNPIN, &cmd) ? errno : 0;
}

/* IORP_EMU_DMA_RW or IORP_EMU_PAGE_RW: 0 or the errno */
static int emu_rw(int fd, unsigned long op, uint64_t iova, void *data,
		  uint32_t len, bool write)
{
	struct iorp_emu_rw cmd = { .iova = iova, .len = len, .write = write,
				   .data = (uintptr_t)data };

	return ioctl(fd, op, &cmd) ? errno : 0;
}

static struct iorp_emu_status emu_status(struct __test_metadata *_metadata,
					 int fd)
{
	struct iorp_emu_status st = { 0 };

	EXPECT_EQ(0, ioctl(fd, IORP_EMU_STATUS, &st));
	return st;
}

/* what the device holds, and was told since emu_open() */
static struct iorp_emu_status emu_since_open(struct __test_metadata *_metadata,
					     FIXTURE_DATA(emu) *self)
{
	struct iorp_emu_status st = emu_status(_metadata, self->device_fd);

	st.unmap_calls -= self->base.unmap_calls;
	st.unpinned_by_unmap -= self->base.unpinned_by_unmap;
	return st;
}

/*
 * Pins give the device the pages the VMM mapped (the CPU writes through
 * them, the VMM sees it); copies cross pages; read-only mappings refuse
 * writes; an unmap first makes the device unpin; errnos as type1's.
 */
TEST_F(emu, pin_rw_and_unmap)
{
	unsigned char got[2 * SZ_4K], *ro;
	struct iorp_emu_status st;
	uint64_t size;

	emu_open(_metadata, self, IORP_EMU_DEV_UNMAP, VFIO_TYPE1v2_IOMMU);
	/* two pages from IOVA_V + 4K (type1 unpins only the IOVA pinned) */
	ASSERT_EQ(0, emu_pin(self->device_fd, IOVA_V + SZ_4K, 2, true));
	EXPECT_EQ(2, emu_status(_metadata, self->device_fd).pinned);
	ASSERT_EQ(0, emu_rw(self->device_fd, IORP_EMU_PAGE_RW,
			    IOVA_V + SZ_4K + 100, got, 16, false));
	EXPECT_EQ(0, memcmp(got, self->buf + SZ_4K + 100, 16));
	ASSERT_EQ(0, emu_rw(self->device_fd, IORP_EMU_PAGE_RW,
			    IOVA_V + 2 * SZ_4K + 8, "emulated", 8, true));
	EXPECT_EQ(0, memcmp(self->buf + 2 * SZ_4K + 8, "emulated", 8));
	/* a page it did not pin */
	EXPECT_EQ(ENOENT, emu_rw(self->device_fd, IORP_EMU_PAGE_RW,
				 IOVA_V, got, 16, false));

	/* copies: across a page boundary, both ways */
	ASSERT_EQ(0, emu_rw(self->device_fd, IORP_EMU_DMA_RW,
			    IOVA_V + 4000, got, sizeof(got), false));
	EXPECT_EQ(0, memcmp(got, self->buf + 4000, sizeof(got)));
	memset(got, 0x5a, 100);
	ASSERT_EQ(0, emu_rw(self->device_fd, IORP_EMU_DMA_RW,
			    IOVA_V + 5 * SZ_4K - 50, got, 100, true));
	EXPECT_EQ(0, memcmp(self->buf + 5 * SZ_4K - 50, got, 100));

	/* IOVA nothing maps: EINVAL, partly mapped too */
	EXPECT_EQ(EINVAL, emu_pin(self->device_fd, IOVA_RO, 1, false));
	EXPECT_EQ(EINVAL, emu_pin(self->device_fd,
				  IOVA_V + (EMU_PAGES - 1) * SZ_4K, 2, false));
	EXPECT_EQ(EINVAL, emu_rw(self->device_fd, IORP_EMU_DMA_RW, IOVA_RO,
				 got, 16, false));
	/* no pages: refused by VFIO itself */
	EXPECT_EQ(EINVAL, emu_pin(self->device_fd, IOVA_V, 0, false));
	EXPECT_EQ(2, emu_status(_metadata, self->device_fd).pinned);

	/* a read-only mapping: read pins and copies only */
	ro = self->buf2;
	ASSERT_EQ(0, map_dma(self->container, IOVA_RO, ro, SZ_4K,
			     VFIO_DMA_MAP_FLAG_READ));
	EXPECT_EQ(EPERM, emu_pin(self->device_fd, IOVA_RO, 1, true));
	EXPECT_EQ(EPERM, emu_rw(self->device_fd, IORP_EMU_DMA_RW, IOVA_RO,
				got, 16, true));
	ASSERT_EQ(0, emu_pin(self->device_fd, IOVA_RO, 1, false));
	ASSERT_EQ(0, emu_rw(self->device_fd, IORP_EMU_DMA_RW, IOVA_RO, got, 16,
			    false));
	EXPECT_EQ(0, memcmp(got, ro, 16));

	/* one page of a two-page pin goes alone */
	ASSERT_EQ(0, emu_unpin(self->device_fd, IOVA_V + SZ_4K, 1));
	st = emu_since_open(_metadata, self);
	EXPECT_EQ(2, st.pinned);
	EXPECT_EQ(0, st.unmap_calls);

	/* unmapping pinned IOVA: the device is told, unpins, the unmap ends */
	size = EMU_PAGES * SZ_4K;
	ASSERT_EQ(0, unmap_dma(self->container, IOVA_V, &size, 0));
	EXPECT_EQ(EMU_PAGES * SZ_4K, size);
	st = emu_since_open(_metadata, self);
	EXPECT_EQ(1, st.unmap_calls);
	EXPECT_EQ(IOVA_V, st.last_unmap_iova);
	EXPECT_EQ(EMU_PAGES * SZ_4K, st.last_unmap_length);
	EXPECT_EQ(1, st.unpinned_by_unmap);
	EXPECT_EQ(1, st.pinned);
	EXPECT_EQ(EINVAL, emu_rw(self->device_fd, IORP_EMU_DMA_RW, IOVA_V,
				 got, 16, false));
	/* the read-only page's pin is left to the close */
}

/*
 * A mapping the device may only write: type1 wants every copy's mapping
 * readable, and a pin's mapping to allow what the driver asks (the test
 * driver asks IOMMU_READ, and IOMMU_WRITE for a write), so both are
 * refused with EPERM, and nothing is pinned.
 */
TEST_F(emu, write_only_mapping_refuses_pins_and_copies)
{
	unsigned char got[16] = "written";

	emu_open(_metadata, self, IORP_EMU_DEV_UNMAP, VFIO_TYPE1v2_IOMMU);
	ASSERT_EQ(0, map_dma(self->container, IOVA_WO, self->buf2, SZ_4K,
			     VFIO_DMA_MAP_FLAG_WRITE));
	EXPECT_EQ(EPERM, emu_pin(self->device_fd, IOVA_WO, 1, false));
	EXPECT_EQ(EPERM, emu_pin(self->device_fd, IOVA_WO, 1, true));
	EXPECT_EQ(EPERM, emu_rw(self->device_fd, IORP_EMU_DMA_RW, IOVA_WO,
				got, sizeof(got), false));
	EXPECT_EQ(EPERM, emu_rw(self->device_fd, IORP_EMU_DMA_RW, IOVA_WO,
				got, sizeof(got), true));
	EXPECT_NE(0, memcmp(self->buf2, got, sizeof(got)));
	EXPECT_EQ(0, emu_status(_metadata, self->device_fd).pinned);
}

/*
 * Memory mapped by a process that has exited, never pinned: a pin is
 * refused with ENODEV and a copy with EPERM (type1's errnos: it pins and
 * copies through that process's address space), and the unmap still works.
 */
TEST_F(emu, memory_of_an_exited_process)
{
	unsigned char got[16];
	uint64_t size = SZ_4K;
	int status;
	pid_t pid;

	emu_open(_metadata, self, IORP_EMU_DEV_UNMAP, VFIO_TYPE1v2_IOMMU);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* a page of the child's own, mapped through the shared fd */
		char *mem = mmap(NULL, SZ_4K, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (mem == MAP_FAILED)
			_exit(2);
		memset(mem, 0x3c, SZ_4K);
		_exit(map_dma(self->container, IOVA_GONE, mem, SZ_4K, RW) ?
		      3 : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status)) TH_LOG("the child could not map");

	EXPECT_EQ(ENODEV, emu_pin(self->device_fd, IOVA_GONE, 1, false));
	EXPECT_EQ(EPERM, emu_rw(self->device_fd, IORP_EMU_DMA_RW, IOVA_GONE,
				got, sizeof(got), false));
	EXPECT_EQ(0, emu_status(_metadata, self->device_fd).pinned);
	ASSERT_EQ(0, unmap_dma(self->container, IOVA_GONE, &size, 0));
	EXPECT_EQ(SZ_4K, size);
}

/*
 * A device with no dma_unmap callback may copy but not pin: nothing could
 * ask for its pins back. Ours refuses it by device; VFIO itself refuses it
 * from 6.2 on, and 6.1's type1 refuses pins in a container where no device
 * has a dma_unmap callback (this one).
 */
TEST_F(emu, pin_refused_without_dma_unmap)
{
	unsigned char got[64];

	emu_open(_metadata, self, IORP_EMU_DEV_NO_UNMAP, VFIO_TYPE1v2_IOMMU);
	EXPECT_EQ(EINVAL, emu_pin(self->device_fd, IOVA_V, 1, false));
	EXPECT_EQ(0, emu_status(_metadata, self->device_fd).pinned);
	ASSERT_EQ(0, emu_rw(self->device_fd, IORP_EMU_DMA_RW, IOVA_V + 8, got,
			    sizeof(got), false));
	EXPECT_EQ(0, memcmp(got, self->buf + 8, sizeof(got)));
}

/* VFIO_TYPE1_IOMMU (v1): type1 pins for v2 only (EACCES); copies work */
TEST_F(emu, v1_container_copies_only)
{
	unsigned char got[64];

	emu_open(_metadata, self, IORP_EMU_DEV_UNMAP, VFIO_TYPE1_IOMMU);
	EXPECT_EQ(EACCES, emu_pin(self->device_fd, IOVA_V, 1, false));
	ASSERT_EQ(0, emu_rw(self->device_fd, IORP_EMU_DMA_RW, IOVA_V, got,
			    sizeof(got), false));
	EXPECT_EQ(0, memcmp(got, self->buf, sizeof(got)));
}

/*
 * SWITCH while the device holds pins: it is told to unpin everything in
 * the old IOAS first, then pins and copies reach the new one, and the old
 * one can go. The kernel's type1 has no SWITCH (ENOTTY).
 */
TEST_F(emu, switch_with_pins)
{
	struct iommu_replace_type1_ioas r;
	unsigned char got[64];
	struct iorp_emu_status st;
	uint32_t a, b, selected;

	emu_open(_metadata, self, IORP_EMU_DEV_UNMAP, VFIO_TYPE1v2_IOMMU);
	ASSERT_EQ(0, emu_pin(self->device_fd, IOVA_V, 3, true));
	if (!self->ours) {
		EXPECT_EQ(ENOTTY, t1_ioas(self->container,
					  IOMMU_REPLACE_TYPE1_IOAS_GET, 0, NULL));
		return;
	}
	t1_ioas_ids(_metadata, self->container, &a, &selected);
	ASSERT_EQ(0, t1_ioas(self->container, IOMMU_REPLACE_TYPE1_IOAS_ALLOC,
			     0, &r));
	b = r.ioas_id;
	ASSERT_EQ(0, t1_ioas(self->container, IOMMU_REPLACE_TYPE1_IOAS_SELECT,
			     b, NULL));
	ASSERT_EQ(0, map_dma(self->container, IOVA_V, self->buf2,
			     EMU_PAGES * SZ_4K, RW));
	/* the pins stay on a while B is only selected */
	EXPECT_EQ(3, emu_status(_metadata, self->device_fd).pinned);
	ASSERT_EQ(0, emu_rw(self->device_fd, IORP_EMU_DMA_RW, IOVA_V, got,
			    sizeof(got), false));
	EXPECT_EQ(0, memcmp(got, self->buf, sizeof(got)));
	/* the old IOAS is busy: a DESTROY waits for the switch */
	EXPECT_EQ(EBUSY, t1_ioas(self->container,
				 IOMMU_REPLACE_TYPE1_IOAS_DESTROY, a, NULL));

	ASSERT_EQ(0, t1_ioas(self->container, IOMMU_REPLACE_TYPE1_IOAS_SWITCH,
			     b, NULL));
	st = emu_since_open(_metadata, self);
	EXPECT_EQ(0, st.pinned);
	EXPECT_EQ(3, st.unpinned_by_unmap);
	/* one request, naming the mapping that held the pins, as type1 would */
	EXPECT_EQ(1, st.unmap_calls);
	EXPECT_EQ(IOVA_V, st.last_unmap_iova);
	EXPECT_EQ(EMU_PAGES * SZ_4K, st.last_unmap_length);
	ASSERT_EQ(0, emu_rw(self->device_fd, IORP_EMU_DMA_RW, IOVA_V, got,
			    sizeof(got), false));
	EXPECT_EQ(0, memcmp(got, self->buf2, sizeof(got)));
	ASSERT_EQ(0, emu_pin(self->device_fd, IOVA_V + SZ_4K, 1, true));
	ASSERT_EQ(0, emu_rw(self->device_fd, IORP_EMU_PAGE_RW, IOVA_V + SZ_4K,
			    got, 16, false));
	EXPECT_EQ(0, memcmp(got, self->buf2 + SZ_4K, 16));

	/* with no pin held, a SWITCH asks the device nothing */
	ASSERT_EQ(0, emu_unpin(self->device_fd, IOVA_V + SZ_4K, 1));
	ASSERT_EQ(0, t1_ioas(self->container, IOMMU_REPLACE_TYPE1_IOAS_SWITCH,
			     a, NULL));
	EXPECT_EQ(1, emu_since_open(_metadata, self).unmap_calls);
	ASSERT_EQ(0, emu_rw(self->device_fd, IORP_EMU_DMA_RW, IOVA_V, got,
			    sizeof(got), false));
	EXPECT_EQ(0, memcmp(got, self->buf, sizeof(got)));
	ASSERT_EQ(0, t1_ioas(self->container, IOMMU_REPLACE_TYPE1_IOAS_SWITCH,
			     b, NULL));
	/* the old IOAS holds nothing now */
	EXPECT_EQ(0, t1_ioas(self->container, IOMMU_REPLACE_TYPE1_IOAS_DESTROY,
			     a, NULL));
}

struct emu_pin_job {
	int fd;
	int ret;
};

static void *emu_pin_three(void *arg)
{
	struct emu_pin_job *job = arg;

	job->ret = emu_pin(job->fd, IOVA_V, 3, true);
	return NULL;
}

struct emu_switch_job {
	int container;
	uint32_t ioas;
	int ret;
	pid_t tid;		/* the thread's, once it started */
	volatile bool done;
};

static void *emu_switch(void *arg)
{
	struct emu_switch_job *job = arg;

	__atomic_store_n(&job->tid, gettid(), __ATOMIC_SEQ_CST);
	job->ret = t1_ioas(job->container, IOMMU_REPLACE_TYPE1_IOAS_SWITCH,
			   job->ioas, NULL);
	__atomic_store_n(&job->done, true, __ATOMIC_SEQ_CST);
	return NULL;
}

/* Wait (at most seconds) until thread tid sleeps uninterruptibly (D). */
static bool thread_blocks(pid_t tid, double seconds)
{
	double end = now_seconds() + seconds;
	char path[64], stat[512], *state;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	while (now_seconds() < end) {
		FILE *f = fopen(path, "r");
		size_t n = f ? fread(stat, 1, sizeof(stat) - 1, f) : 0;

		if (f)
			fclose(f);
		stat[n] = 0;
		state = strrchr(stat, ')');	/* after "pid (comm)" */
		if (state && state[1] == ' ' && state[2] == 'D')
			return true;
		usleep(1000);
	}
	return false;
}

/*
 * A SWITCH that comes while one vfio_pin_pages() of three pages is half
 * done (stopped at pause point "pin_next", before its second page) waits
 * for the whole pin, which gets its three pages; the SWITCH then asks the
 * device to drop them. The pin is not split: no page pinned first is
 * released by the SWITCH while a later one is pinned (type1 orders a pin
 * and an unmap the same way, under its lock).
 *
 * The SWITCH thread is seen asleep in the kernel before the pin goes on;
 * that only orders the test (before the fix it slept too, in the device's
 * dma_unmap). What tells the fix from the bug is the pin's result: before
 * the fix it failed with EINVAL.
 */
TEST_F(emu, switch_waits_for_a_pin_of_several_pages)
{
	/* static: a failed ASSERT leaves the threads running past this frame */
	static struct emu_switch_job switcher;
	static struct emu_pin_job pinner;
	struct iommu_replace_type1_ioas r;
	pthread_t pin_thread, switch_thread;
	struct iorp_emu_status st;
	uint32_t a, selected;

	if (!self->ours)
		SKIP(return, "SWITCH is iommu-replace's own container ioctl");
	emu_open(_metadata, self, IORP_EMU_DEV_UNMAP, VFIO_TYPE1v2_IOMMU);
	t1_ioas_ids(_metadata, self->container, &a, &selected);
	ASSERT_EQ(0, t1_ioas(self->container, IOMMU_REPLACE_TYPE1_IOAS_ALLOC,
			     0, &r));
	ASSERT_EQ(0, t1_ioas(self->container, IOMMU_REPLACE_TYPE1_IOAS_SELECT,
			     r.ioas_id, NULL));
	ASSERT_EQ(0, map_dma(self->container, IOVA_V, self->buf2,
			     EMU_PAGES * SZ_4K, RW));

	pause_arm(_metadata, "pin_next", 1);
	pinner.fd = self->device_fd;
	ASSERT_EQ(0, pthread_create(&pin_thread, NULL, emu_pin_three,
				    &pinner));
	if (!pause_reached(_metadata, "pin_next", 20)) {
		pause_release("pin_next");
		pthread_join(pin_thread, NULL);
		ASSERT_TRUE(false) TH_LOG("the pin never reached its second page (%s)",
					  errname(pinner.ret));
	}
	switcher.container = self->container;
	switcher.ioas = r.ioas_id;
	ASSERT_EQ(0, pthread_create(&switch_thread, NULL, emu_switch,
				    &switcher));
	/* the SWITCH goes as far as it can while the pin is stopped */
	while (!__atomic_load_n(&switcher.tid, __ATOMIC_SEQ_CST))
		usleep(1000);
	EXPECT_TRUE(thread_blocks(switcher.tid, 20))
		TH_LOG("the SWITCH never waited for anything");
	EXPECT_FALSE(__atomic_load_n(&switcher.done, __ATOMIC_SEQ_CST))
		TH_LOG("the SWITCH ended while a pin was half done");
	pause_release("pin_next");
	pthread_join(pin_thread, NULL);
	pthread_join(switch_thread, NULL);
	EXPECT_EQ(0, pinner.ret) TH_LOG("pin: %s", errname(pinner.ret));
	EXPECT_EQ(0, switcher.ret) TH_LOG("switch: %s", errname(switcher.ret));
	st = emu_since_open(_metadata, self);
	EXPECT_EQ(0, st.pinned);
	EXPECT_EQ(pinner.ret ? 0 : 3, st.unpinned_by_unmap);
	EXPECT_EQ(0, pinned_pages());
}

/*
 * One UNMAP_DMA over many mappings that each hold a pin: each mapping is
 * asked for once, and the unmap ends however many there are (the retry
 * budget is per mapping, as type1's).
 */
#define MANY_PINNED	120
#define IOVA_PINNED	0x1000000ULL

TEST_F(emu, unmap_many_pinned_mappings)
{
	unsigned char *mem = mmap(NULL, MANY_PINNED * SZ_4K,
				  PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct iorp_emu_status st;
	uint64_t size;

	ASSERT_NE(MAP_FAILED, mem);
	emu_open(_metadata, self, IORP_EMU_DEV_UNMAP, VFIO_TYPE1v2_IOMMU);
	for (int i = 0; i < MANY_PINNED; i++) {
		uint64_t iova = IOVA_PINNED + i * 2 * SZ_4K;

		ASSERT_EQ(0, map_dma(self->container, iova, mem + i * SZ_4K,
				     SZ_4K, RW));
		ASSERT_EQ(0, emu_pin(self->device_fd, iova, 1, true));
	}
	EXPECT_EQ(MANY_PINNED, emu_status(_metadata, self->device_fd).pinned);
	size = MANY_PINNED * 2 * SZ_4K;
	ASSERT_EQ(0, unmap_dma(self->container, IOVA_PINNED, &size, 0));
	EXPECT_EQ(MANY_PINNED * SZ_4K, size);
	st = emu_since_open(_metadata, self);
	EXPECT_EQ(0, st.pinned);
	EXPECT_EQ(MANY_PINNED, st.unpinned_by_unmap);
	EXPECT_EQ(MANY_PINNED, st.unmap_calls);
	munmap(mem, MANY_PINNED * SZ_4K);
}

/* An emulated group has no place in a container of our own type */
TEST_F(emu, refused_by_our_own_type)
{
	int container;

	container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, container);
	if (!self->ours) {
		/* no backend knows the type */
		EXPECT_EQ(0, ioctl(container, VFIO_CHECK_EXTENSION,
				   IOMMU_REPLACE_VFIO_TYPE));
		close(container);
		return;
	}
	self->group_fd = open_emu_group(IORP_EMU_DEV_UNMAP);
	ASSERT_LE(0, self->group_fd);
	ASSERT_EQ(0, ioctl(self->group_fd, VFIO_GROUP_SET_CONTAINER,
			   &container));
	EXPECT_EQ(-1, ioctl(container, VFIO_SET_IOMMU,
			    IOMMU_REPLACE_VFIO_TYPE));
	EXPECT_EQ(EOPNOTSUPP, errno);
	/* nothing changed: the same container takes type1 */
	EXPECT_EQ(0, ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	ioctl(self->group_fd, VFIO_GROUP_UNSET_CONTAINER);
	close(container);
}

struct emu_race {
	int fd;
	int iterations;
	int pinned, copied;	/* pins and copies that succeeded */
	int unexpected;		/* errnos no race explains */
};

/* pin, copy, unpin, over and over, while the IOVA comes and goes */
static void *emu_pinner(void *arg)
{
	struct emu_race *race = arg;
	unsigned char got[64];

	for (int i = 0; i < race->iterations; i++) {
		int err = emu_pin(race->fd, IOVA_V + (i % 4) * SZ_4K, 2, true);

		if (err && err != EINVAL)
			race->unexpected++;
		race->pinned += !err;
		err = emu_rw(race->fd, IORP_EMU_DMA_RW, IOVA_V, got,
			     sizeof(got), false);
		if (err && err != EINVAL)
			race->unexpected++;
		race->copied += !err;
		/* ENOENT: the unmap callback unpinned them first */
		err = emu_unpin(race->fd, IOVA_V + (i % 4) * SZ_4K, 2);
		if (err && err != ENOENT)
			race->unexpected++;
	}
	return NULL;
}

/*
 * Pins racing UNMAP_DMA, MAP_DMA and SWITCH: every unmap ends (pins of IOVA
 * being unmapped are refused meanwhile), no errno but "not mapped" reaches
 * the device, and nothing stays pinned. The debug lane's lockdep and KASAN
 * watch the callbacks' locking. Ours only: the kernel's type1 calls BUG()
 * when a driver pins again during an unmap more than ten times in a row
 * (vfio_dma_do_unmap()), which this race would reach.
 */
TEST_F_TIMEOUT(emu, pins_race_unmap_and_switch, 300)
{
	struct emu_race race = { .iterations = 3000 };
	struct iommu_replace_type1_ioas r;
	uint32_t ioas[2] = { 0, 0 };
	pthread_t thread;
	uint64_t size;
	int rounds = 0, joined;
	uint32_t selected;

	if (!self->ours)
		SKIP(return, "the kernel's type1 BUG()s on a driver that keeps pinning during an unmap");
	emu_open(_metadata, self, IORP_EMU_DEV_UNMAP, VFIO_TYPE1v2_IOMMU);
	t1_ioas_ids(_metadata, self->container, &ioas[0], &selected);
	ASSERT_EQ(0, t1_ioas(self->container, IOMMU_REPLACE_TYPE1_IOAS_ALLOC, 0,
			     &r));
	ioas[1] = r.ioas_id;
	race.fd = self->device_fd;
	ASSERT_EQ(0, pthread_create(&thread, NULL, emu_pinner, &race));
	while ((joined = pthread_tryjoin_np(thread, NULL)) == EBUSY &&
	       rounds < 100000) {
		uint32_t next = ioas[++rounds % 2];

		size = EMU_PAGES * SZ_4K;
		ASSERT_EQ(0, unmap_dma(self->container, IOVA_V, &size, 0));
		ASSERT_EQ(0, map_dma(self->container, IOVA_V, self->buf,
				     EMU_PAGES * SZ_4K, RW));
		/* the other IOAS maps the same IOVA, then the devices move */
		ASSERT_EQ(0, t1_ioas(self->container,
				     IOMMU_REPLACE_TYPE1_IOAS_SELECT, next,
				     NULL));
		size = EMU_PAGES * SZ_4K;
		unmap_dma(self->container, IOVA_V, &size, 0);
		ASSERT_EQ(0, map_dma(self->container, IOVA_V, self->buf2,
				     EMU_PAGES * SZ_4K, RW));
		ASSERT_EQ(0, t1_ioas(self->container,
				     IOMMU_REPLACE_TYPE1_IOAS_SWITCH, next,
				     NULL));
	}
	if (joined)
		pthread_join(thread, NULL);
	TH_LOG("%d rounds of unmap, map and switch; %d pins and %d copies of %d went through",
	       rounds, race.pinned, race.copied, race.iterations);
	EXPECT_EQ(0, race.unexpected);
	/* the race refuses some, never all */
	EXPECT_LT(0, race.pinned);
	EXPECT_LT(0, race.copied);
	EXPECT_EQ(0, emu_status(_metadata, self->device_fd).pinned);
}

/*
 * A VMM killed while its emulated device holds pins: the driver unpins at
 * close, the container goes, and nothing of ours stays pinned.
 */
TEST_F(emu, killed_with_pins)
{
	/* ours: the test flavour counts pinned pages in debugfs */
	long before = self->ours ? pinned_pages_settle(0, 100) : -1, after;
	int ready[2];
	pid_t pid;

	if (self->ours) {
		ASSERT_LE(0, before);
		if (before)
			TH_LOG("%ld pages pinned before the test, still after 10 s",
			       before);
	}
	ASSERT_EQ(0, pipe(ready));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(ready[0]);
		emu_open(_metadata, self, IORP_EMU_DEV_UNMAP,
			 VFIO_TYPE1v2_IOMMU);
		if (emu_pin(self->device_fd, IOVA_V, 4, true) ||
		    write(ready[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(1);
	}
	kill_vmm(_metadata, pid, ready);
	if (self->ours) {
		after = pinned_pages_settle(before, 50);
		EXPECT_EQ(before, after) TH_LOG("pages left pinned");
	}
	/* the group is free again, and the device holds nothing */
	emu_open(_metadata, self, IORP_EMU_DEV_UNMAP, VFIO_TYPE1v2_IOMMU);
	EXPECT_EQ(0, emu_status(_metadata, self->device_fd).pinned);
}

TEST_HARNESS_MAIN
