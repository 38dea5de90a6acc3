// SPDX-License-Identifier: GPL-2.0-only
/*
 * accounting - exactly how many pages are pinned, and who pays for them.
 *
 * Upstream iommufd pins user memory lazily: IOMMU_IOAS_MAP pins nothing
 * until a domain or an emulated access needs the pages, and the pages of one
 * MAP are pinned once however many domains map them, in however many IOASes
 * (IOMMU_IOAS_COPY shares them). Every pinned page shows in the pinning
 * process's VmPin (mm->pinned_vm, /proc/self/status) and in this module's
 * debugfs counter pinned_pages. Unless the caller has CAP_IPC_LOCK, pins are
 * also charged against RLIMIT_MEMLOCK: in RLIMIT_MODE 0 (the default) to the
 * user's locked_vm, in RLIMIT_MODE 1 to the process's (VmLck), as VFIO does.
 *
 * Every expected count is computed from the sizes the test mapped; the
 * baselines are taken when each test starts. MD_CHECK_REFS cross-checks the
 * counters page by page: a page pinned once has refs 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "iorp_test.h"

#define N	16UL		/* pages of a typical mapping */
#define IOVA(mib) ((__u64)MOCK_APERTURE_START + ((__u64)(mib) << 20))

FIXTURE(acct)
{
	int fd;
	unsigned long page;
	uint64_t base_pinned;	/* pinned_pages when the test started */
	uint64_t base_vmpin;	/* VmPin, in pages */
	uint64_t base_objects;
};

FIXTURE_SETUP(acct)
{
	self->page = psize();
	self->base_pinned = pinned_pages();
	self->base_vmpin = vm_pinned();
	self->base_objects = live_objects();
	self->fd = open_dev();
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(acct)
{
	if (self->fd >= 0) {
		/* the default, which a test may have lowered (module-wide) */
		EXPECT_EQ(0, set_temp_memory_limit(self->fd, 65536));
		close(self->fd);
	}
}

/* npages more than at the start are pinned, in the module and in VmPin */
static void expect_pinned(struct __test_metadata *_metadata,
			  FIXTURE_DATA(acct) *self, uint64_t npages,
			  const char *what)
{
	EXPECT_EQ(self->base_pinned + npages, pinned_pages())
		TH_LOG("%s: pinned_pages should be %llu above its baseline",
		       what, (unsigned long long)npages);
	EXPECT_EQ(self->base_vmpin + npages, vm_pinned())
		TH_LOG("%s: VmPin should be %llu pages above its baseline",
		       what, (unsigned long long)npages);
}

/* every page of [buf, buf + npages) is pinned exactly refs times */
static void expect_refs(struct __test_metadata *_metadata,
			FIXTURE_DATA(acct) *self, const void *buf,
			unsigned long npages, unsigned int refs,
			const char *what)
{
	int ret = check_refs(self->fd, buf, npages * self->page, refs);

	EXPECT_EQ(0, ret)
		TH_LOG("%s: pages not pinned exactly %u times (%s)", what, refs,
		       errname(ret));
}

static void set_memlock_limit(struct __test_metadata *_metadata,
			      unsigned long bytes)
{
	struct rlimit rl = { .rlim_cur = bytes, .rlim_max = bytes };

	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &rl));
}

TEST_F(acct, map_without_domain_pins_nothing)
{
	const unsigned long P = self->page;
	char *buf = alloc_buffer(_metadata, N * P);
	__u64 unmapped = 0;
	__u32 ioas, stdev;

	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, ioas, IOVA(0), buf, N * P));
	expect_pinned(_metadata, self, 0, "MAP, no domain");
	expect_refs(_metadata, self, buf, N, 0, "MAP, no domain");

	/* A domain attached later pins what the IOAS already maps */
	ASSERT_EQ(0, mock_domain(self->fd, ioas, &stdev, NULL, NULL));
	expect_pinned(_metadata, self, N, "domain attached");
	expect_refs(_metadata, self, buf, N, 1, "domain attached");

	/* ... and the last domain to go unpins it: the mapping is lazy again */
	ASSERT_EQ(0, destroy_id(self->fd, stdev));
	expect_pinned(_metadata, self, 0, "domain destroyed");
	expect_refs(_metadata, self, buf, N, 0, "domain destroyed");
	ASSERT_EQ(0, ioas_unmap_all(self->fd, ioas, &unmapped));
	EXPECT_EQ(N * P, unmapped);
	expect_pinned(_metadata, self, 0, "unmapped");
}

TEST_F(acct, pinned_once_however_many_domains)
{
	const unsigned long P = self->page, M = N / 2;
	char *buf = alloc_buffer(_metadata, N * P);
	char *buf2 = alloc_buffer(_metadata, M * P);
	__u32 ioas, stdev1, stdev2;
	__u64 unmapped = 0;

	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas));
	ASSERT_EQ(0, mock_domain(self->fd, ioas, &stdev1, NULL, NULL));
	expect_pinned(_metadata, self, 0, "domain, nothing mapped");

	ASSERT_EQ(0, ioas_map_fixed(self->fd, ioas, IOVA(0), buf, N * P));
	expect_pinned(_metadata, self, N, "MAP, one domain");
	expect_refs(_metadata, self, buf, N, 1, "MAP, one domain");

	ASSERT_EQ(0, mock_domain(self->fd, ioas, &stdev2, NULL, NULL));
	expect_pinned(_metadata, self, N, "second domain attached");
	expect_refs(_metadata, self, buf, N, 1, "second domain attached");

	ASSERT_EQ(0, ioas_map_fixed(self->fd, ioas, IOVA(1), buf2, M * P));
	expect_pinned(_metadata, self, N + M, "MAP, two domains");
	expect_refs(_metadata, self, buf2, M, 1, "MAP, two domains");

	/* Either domain alone keeps everything pinned */
	ASSERT_EQ(0, destroy_id(self->fd, stdev1));
	expect_pinned(_metadata, self, N + M, "first domain destroyed");
	expect_refs(_metadata, self, buf, N, 1, "first domain destroyed");

	ASSERT_EQ(0, destroy_id(self->fd, stdev2));
	expect_pinned(_metadata, self, 0, "both domains destroyed");
	expect_refs(_metadata, self, buf, N, 0, "both domains destroyed");
	expect_refs(_metadata, self, buf2, M, 0, "both domains destroyed");

	ASSERT_EQ(0, ioas_unmap_all(self->fd, ioas, &unmapped));
	EXPECT_EQ((N + M) * P, unmapped);
}

/* "Pinned once" is per MAP: two MAPs of the same memory pin it twice. */
TEST_F(acct, memory_mapped_twice_is_pinned_twice)
{
	const unsigned long P = self->page;
	char *buf = alloc_buffer(_metadata, N * P);
	__u32 ioas;

	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas));
	ASSERT_EQ(0, mock_domain(self->fd, ioas, NULL, NULL, NULL));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, ioas, IOVA(0), buf, N * P));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, ioas, IOVA(1), buf, N * P));
	expect_pinned(_metadata, self, 2 * N, "two MAPs of one buffer");
	expect_refs(_metadata, self, buf, N, 2, "two MAPs of one buffer");

	ASSERT_EQ(0, ioas_unmap(self->fd, ioas, IOVA(0), N * P, NULL));
	expect_pinned(_metadata, self, N, "one of them unmapped");
	expect_refs(_metadata, self, buf, N, 1, "one of them unmapped");
	ASSERT_EQ(0, ioas_unmap(self->fd, ioas, IOVA(1), N * P, NULL));
	expect_pinned(_metadata, self, 0, "both unmapped");
	expect_refs(_metadata, self, buf, N, 0, "both unmapped");
}

TEST_F(acct, copy_shares_pins_between_ioas)
{
	const unsigned long P = self->page, H = N / 2;
	char *buf = alloc_buffer(_metadata, N * P);
	__u32 ioas1, ioas2, ioas3;

	/* ioas1 and ioas2 have a domain each; ioas3 has none */
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas1));
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas3));
	ASSERT_EQ(0, mock_domain(self->fd, ioas1, NULL, NULL, NULL));
	ASSERT_EQ(0, mock_domain(self->fd, ioas2, NULL, NULL, NULL));

	ASSERT_EQ(0, ioas_map_fixed(self->fd, ioas1, IOVA(0), buf, N * P));
	expect_pinned(_metadata, self, N, "MAP into ioas1");

	/* all of it into ioas2, its second half again into ioas2 */
	ASSERT_EQ(0, ioas_copy_fixed(self->fd, ioas2, IOVA(0), ioas1, IOVA(0),
				     N * P));
	ASSERT_EQ(0, ioas_copy_fixed(self->fd, ioas2, IOVA(1), ioas1,
				     IOVA(0) + H * P, H * P));
	/* the first half into ioas3, which has no domain */
	ASSERT_EQ(0, ioas_copy_fixed(self->fd, ioas3, IOVA(0), ioas1, IOVA(0),
				     H * P));
	expect_pinned(_metadata, self, N, "COPY into ioas2 and ioas3");
	expect_refs(_metadata, self, buf, N, 1, "COPY into ioas2 and ioas3");

	/* unmapping one of the sharing areas unpins nothing */
	ASSERT_EQ(0, ioas_unmap(self->fd, ioas1, IOVA(0), N * P, NULL));
	expect_pinned(_metadata, self, N, "ioas1 unmapped");
	expect_refs(_metadata, self, buf, N, 1, "ioas1 unmapped");

	/* only the second half is still in a domain (ioas2 at IOVA(1)) */
	ASSERT_EQ(0, ioas_unmap(self->fd, ioas2, IOVA(0), N * P, NULL));
	expect_pinned(_metadata, self, H, "full copy unmapped");
	expect_refs(_metadata, self, buf, H, 0, "first half, full copy unmapped");
	expect_refs(_metadata, self, buf + H * P, H, 1,
		    "second half, full copy unmapped");

	/* ioas3 gets a domain: its lazy first half is pinned now, once */
	ASSERT_EQ(0, mock_domain(self->fd, ioas3, NULL, NULL, NULL));
	expect_pinned(_metadata, self, N, "domain on ioas3");
	expect_refs(_metadata, self, buf, N, 1, "domain on ioas3");

	ASSERT_EQ(0, ioas_unmap(self->fd, ioas2, IOVA(1), H * P, NULL));
	expect_pinned(_metadata, self, H, "ioas2 empty");
	ASSERT_EQ(0, ioas_unmap(self->fd, ioas3, IOVA(0), H * P, NULL));
	expect_pinned(_metadata, self, 0, "everything unmapped");
	expect_refs(_metadata, self, buf, N, 0, "everything unmapped");
}

TEST_F(acct, copy_from_a_lazy_mapping)
{
	const unsigned long P = self->page;
	char *buf = alloc_buffer(_metadata, N * P);
	__u32 lazy, dom;

	ASSERT_EQ(0, ioas_alloc(self->fd, &lazy));
	ASSERT_EQ(0, ioas_alloc(self->fd, &dom));
	ASSERT_EQ(0, mock_domain(self->fd, dom, NULL, NULL, NULL));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, lazy, IOVA(0), buf, N * P));
	expect_pinned(_metadata, self, 0, "MAP, no domain");

	ASSERT_EQ(0, ioas_copy_fixed(self->fd, dom, IOVA(0), lazy, IOVA(0),
				     N * P));
	expect_pinned(_metadata, self, N, "COPY into a domain");
	expect_refs(_metadata, self, buf, N, 1, "COPY into a domain");

	/* the source going away leaves the copy pinned */
	ASSERT_EQ(0, ioas_unmap(self->fd, lazy, IOVA(0), N * P, NULL));
	expect_pinned(_metadata, self, N, "source unmapped");
	ASSERT_EQ(0, ioas_unmap(self->fd, dom, IOVA(0), N * P, NULL));
	expect_pinned(_metadata, self, 0, "copy unmapped");
}

TEST_F(acct, access_and_domains_share_pins)
{
	const unsigned long P = self->page;
	char *buf = alloc_buffer(_metadata, N * P);
	__u32 ioas, stdev, item;
	int access_fd;

	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, ioas, IOVA(0), buf, N * P));
	ASSERT_EQ(0, create_access(self->fd, ioas,
				   MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				   &access_fd));
	expect_pinned(_metadata, self, 0, "access created");

	ASSERT_EQ(0, access_pages(self->fd, access_fd, 0, IOVA(0), N * P, buf,
				  &item));
	expect_pinned(_metadata, self, N, "pinned through the access");
	expect_refs(_metadata, self, buf, N, 1, "pinned through the access");

	ASSERT_EQ(0, mock_domain(self->fd, ioas, &stdev, NULL, NULL));
	expect_pinned(_metadata, self, N, "domain added");
	expect_refs(_metadata, self, buf, N, 1, "domain added");

	ASSERT_EQ(0, access_pages_destroy(self->fd, access_fd, item));
	expect_pinned(_metadata, self, N, "access pin dropped");
	ASSERT_EQ(0, destroy_id(self->fd, stdev));
	expect_pinned(_metadata, self, 0, "domain destroyed");

	/* part of the range through the access; closing it unpins */
	ASSERT_EQ(0, access_pages(self->fd, access_fd, 0, IOVA(0) + P, 2 * P,
				  buf + P, &item));
	expect_pinned(_metadata, self, 2, "two pages through the access");
	close(access_fd);
	expect_pinned(_metadata, self, 0, "access closed");
	expect_refs(_metadata, self, buf, N, 0, "access closed");
}

/*
 * A holder records the pages other holders pinned before it: a domain's
 * area takes them from access pins and from other areas, an access pin
 * from the areas, and each unpins only what nobody else holds when it
 * goes. Pinning runs in batches of three pages, so the records cross batch
 * boundaries; every domain must translate to the right pages throughout.
 */
TEST_F(acct, holders_record_each_others_pages)
{
	const unsigned long P = self->page, B = 64;
	char *buf = alloc_buffer(_metadata, B * P);
	__u32 ioas1, ioas2, stdev1, hwpt1, hwpt2, item_a, item_b, item_c;
	int access_fd;

	ASSERT_EQ(0, set_temp_memory_limit(self->fd, 3 * sizeof(void *)));
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas1));
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, mock_domain(self->fd, ioas2, NULL, &hwpt2, NULL));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, ioas1, IOVA(0), buf, B * P));
	ASSERT_EQ(0, create_access(self->fd, ioas1,
				   MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				   &access_fd));

	/* pages 8-15 and 40-47 through the access, 16-31 by ioas2's domain */
	ASSERT_EQ(0, access_pages(self->fd, access_fd, 0, IOVA(0) + 8 * P,
				  8 * P, buf + 8 * P, &item_a));
	ASSERT_EQ(0, access_pages(self->fd, access_fd, 0, IOVA(0) + 40 * P,
				  8 * P, buf + 40 * P, &item_b));
	ASSERT_EQ(0, ioas_copy_fixed(self->fd, ioas2, IOVA(1), ioas1,
				     IOVA(0) + 16 * P, 16 * P));
	expect_pinned(_metadata, self, 32, "access pins and a copy");
	EXPECT_EQ(0, check_map(self->fd, hwpt2, IOVA(1), buf + 16 * P, 16 * P));

	/* ioas1's domain: its area is built from all of them and the holes */
	ASSERT_EQ(0, mock_domain(self->fd, ioas1, &stdev1, &hwpt1, NULL));
	expect_pinned(_metadata, self, B, "domain on ioas1");
	expect_refs(_metadata, self, buf, B, 1, "domain on ioas1");
	EXPECT_EQ(0, check_map(self->fd, hwpt1, IOVA(0), buf, B * P));

	/* an access pin inside pages the domains hold pins nothing more */
	ASSERT_EQ(0, access_pages(self->fd, access_fd, 0, IOVA(0) + 20 * P,
				  8 * P, buf + 20 * P, &item_c));
	expect_pinned(_metadata, self, B, "access pin in held pages");
	expect_refs(_metadata, self, buf, B, 1, "access pin in held pages");

	/* ioas1's domain goes: what only it held is unpinned */
	ASSERT_EQ(0, destroy_id(self->fd, stdev1));
	expect_pinned(_metadata, self, 32, "ioas1's domain destroyed");
	expect_refs(_metadata, self, buf, 8, 0, "pages 0-7");
	expect_refs(_metadata, self, buf + 8 * P, 24, 1, "pages 8-31");
	expect_refs(_metadata, self, buf + 32 * P, 8, 0, "pages 32-39");
	expect_refs(_metadata, self, buf + 40 * P, 8, 1, "pages 40-47");
	expect_refs(_metadata, self, buf + 48 * P, 16, 0, "pages 48-63");
	EXPECT_EQ(0, check_map(self->fd, hwpt2, IOVA(1), buf + 16 * P, 16 * P));

	/* the copy goes: pages 20-27 stay for the access */
	ASSERT_EQ(0, ioas_unmap(self->fd, ioas2, IOVA(1), 16 * P, NULL));
	expect_pinned(_metadata, self, 24, "copy unmapped");
	expect_refs(_metadata, self, buf + 16 * P, 4, 0, "pages 16-19");
	expect_refs(_metadata, self, buf + 20 * P, 8, 1, "pages 20-27");
	expect_refs(_metadata, self, buf + 28 * P, 4, 0, "pages 28-31");

	ASSERT_EQ(0, access_pages_destroy(self->fd, access_fd, item_c));
	ASSERT_EQ(0, access_pages_destroy(self->fd, access_fd, item_a));
	expect_pinned(_metadata, self, 8, "two access pins dropped");
	ASSERT_EQ(0, access_pages_destroy(self->fd, access_fd, item_b));
	expect_pinned(_metadata, self, 0, "every access pin dropped");
	expect_refs(_metadata, self, buf, B, 0, "everything released");
	close(access_fd);
}

/*
 * Memory whose pages are in shuffled physical order: n pages (a power of
 * two) faulted in the order of a permutation, so that neighbours in the
 * buffer come from faults far apart, and rarely from neighbouring frames.
 */
static char *shuffled_buffer(struct __test_metadata *_metadata,
			     unsigned long n, unsigned long page)
{
	char *p = mmap(NULL, n * page, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, p);
	madvise(p, n * page, MADV_NOHUGEPAGE);
	/* 389 is prime to n */
	for (unsigned long i = 0; i < n; i++)
		memset(p + (i * 389 + 7) % n * page, 0xa5, page);
	return p;
}

/*
 * How many runs of physically contiguous pages n pages from buf make
 * (/proc/self/pagemap); 0 if the frames cannot be read (they read as 0
 * without CAP_SYS_ADMIN).
 */
static unsigned long physical_runs(const char *buf, unsigned long n,
				   unsigned long page)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	uint64_t entry, pfn, prev = 0;
	unsigned long runs = 0;

	for (unsigned long i = 0; fd >= 0 && i < n; i++) {
		off_t at = (uintptr_t)(buf + i * page) / page * sizeof(entry);

		if (pread(fd, &entry, sizeof(entry), at) != sizeof(entry)) {
			runs = 0;
			break;
		}
		pfn = entry & ((1ULL << 55) - 1);
		if (!pfn) {
			runs = 0;
			break;
		}
		runs += !i || pfn != prev + 1;
		prev = pfn;
	}
	if (fd >= 0)
		close(fd);
	return runs;
}

/*
 * A mapping of scattered pages records about one run per page, in more
 * chunks of runs than the first array of chunks holds (4 x 256 runs): its
 * domain translates every page right, a copy of a range crossing chunks
 * takes the pages from it, and an access pin from the holds.
 */
TEST_F(acct, scattered_pages_in_many_runs)
{
	const unsigned long P = self->page, B = 2048;
	char *buf = shuffled_buffer(_metadata, B, P);
	__u32 ioas1, ioas2, hwpt1, hwpt2, stdev1, item;
	unsigned long runs = physical_runs(buf, B, P);
	int access_fd;

	if (!runs)
		SKIP(return, "page frames unreadable in /proc/self/pagemap");
	ASSERT_LT(4 * 256UL, runs)
		TH_LOG("only %lu runs of contiguous frames in %lu shuffled pages",
		       runs, B);

	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas1));
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, mock_domain(self->fd, ioas1, &stdev1, &hwpt1, NULL));
	ASSERT_EQ(0, mock_domain(self->fd, ioas2, NULL, &hwpt2, NULL));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, ioas1, IOVA(0), buf, B * P));
	expect_pinned(_metadata, self, B, "scattered MAP");
	EXPECT_EQ(0, check_map(self->fd, hwpt1, IOVA(0), buf, B * P));

	ASSERT_EQ(0, ioas_copy_fixed(self->fd, ioas2, IOVA(16), ioas1,
				     IOVA(0) + 100 * P, 800 * P));
	expect_pinned(_metadata, self, B, "COPY across chunks");
	EXPECT_EQ(0, check_map(self->fd, hwpt2, IOVA(16), buf + 100 * P,
			       800 * P));

	ASSERT_EQ(0, create_access(self->fd, ioas1,
				   MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				   &access_fd));
	ASSERT_EQ(0, access_pages(self->fd, access_fd, 0, IOVA(0) + 250 * P,
				  20 * P, buf + 250 * P, &item));
	expect_refs(_metadata, self, buf, B, 1, "access pin over both");

	/* ioas1's domain goes: pages 100-899 stay, for the copy */
	ASSERT_EQ(0, destroy_id(self->fd, stdev1));
	expect_pinned(_metadata, self, 800, "first domain destroyed");
	expect_refs(_metadata, self, buf, 100, 0, "pages 0-99");
	expect_refs(_metadata, self, buf + 100 * P, 800, 1, "pages 100-899");
	expect_refs(_metadata, self, buf + 900 * P, B - 900, 0, "the rest");
	EXPECT_EQ(0, check_map(self->fd, hwpt2, IOVA(16), buf + 100 * P,
			       800 * P));

	ASSERT_EQ(0, ioas_unmap(self->fd, ioas2, IOVA(16), 800 * P, NULL));
	expect_pinned(_metadata, self, 20, "copy unmapped, access pin left");
	ASSERT_EQ(0, access_pages_destroy(self->fd, access_fd, item));
	expect_pinned(_metadata, self, 0, "everything released");
	close(access_fd);
}

TEST_F(acct, close_unpins_everything)
{
	const unsigned long P = self->page;
	char *buf = alloc_buffer(_metadata, N * P);
	__u32 ioas1, ioas2, item;
	int fd, access_fd;

	fd = open_dev();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioas_alloc(fd, &ioas1));
	ASSERT_EQ(0, ioas_alloc(fd, &ioas2));
	ASSERT_EQ(0, mock_domain(fd, ioas1, NULL, NULL, NULL));
	ASSERT_EQ(0, mock_domain(fd, ioas1, NULL, NULL, NULL));
	ASSERT_EQ(0, mock_domain(fd, ioas2, NULL, NULL, NULL));
	ASSERT_EQ(0, ioas_map_fixed(fd, ioas1, IOVA(0), buf, N * P));
	ASSERT_EQ(0, ioas_map_fixed(fd, ioas1, IOVA(1), buf, 2 * P));
	ASSERT_EQ(0, ioas_copy_fixed(fd, ioas2, IOVA(0), ioas1, IOVA(0),
				     N * P));
	ASSERT_EQ(0, create_access(fd, ioas2,
				   MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				   &access_fd));
	ASSERT_EQ(0, access_pages(fd, access_fd, 0, IOVA(0), N * P, buf,
				  &item));
	expect_pinned(_metadata, self, N + 2, "before close");

	/* the access holds the file open; closing both releases it all */
	close(fd);
	close(access_fd);
	expect_pinned(_metadata, self, 0, "after close");
	expect_refs(_metadata, self, buf, N, 0, "after close");
	EXPECT_EQ(self->base_objects, live_objects());
}

/*
 * RLIMIT_MODE 0: pins are charged to the user (user_struct->locked_vm)
 * against RLIMIT_MEMLOCK. The test becomes a fresh user without
 * CAP_IPC_LOCK, so the user's count starts at zero.
 */
TEST_F(acct, rlimit_mode0_charges_the_user)
{
	const unsigned long P = self->page, L = 8;
	char *buf = alloc_buffer(_metadata, 3 * L * P);
	char *locked = alloc_buffer(_metadata, 2 * P);
	__u32 ioas1, ioas2, ioas3;
	uint64_t base_locked, objects;

	ASSERT_EQ(0, rlimit_mode_get(self->fd));
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas1));
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas3));
	ASSERT_EQ(0, mock_domain(self->fd, ioas1, NULL, NULL, NULL));
	ASSERT_EQ(0, mock_domain(self->fd, ioas2, NULL, NULL, NULL));
	set_memlock_limit(_metadata, L * P);
	become_fresh_user(_metadata);

	/* mlock() charges the process, which mode 0 does not look at */
	base_locked = vm_locked();
	ASSERT_EQ(0, mlock(locked, 2 * P));
	EXPECT_EQ(base_locked + 2, vm_locked());

	/* one page over the limit: ENOMEM, and nothing pinned or charged */
	EXPECT_EQ(ENOMEM, ioas_map_fixed(self->fd, ioas1, IOVA(0), buf,
					 (L + 1) * P));
	expect_pinned(_metadata, self, 0, "MAP over the limit");
	/* exactly the limit fits, so the failed MAP charged nothing */
	EXPECT_EQ(0, ioas_map_fixed(self->fd, ioas1, IOVA(0), buf, L * P));
	expect_pinned(_metadata, self, L, "MAP of the limit");
	EXPECT_EQ(base_locked + 2, vm_locked())
		TH_LOG("mode 0 must not charge the process's locked_vm");
	EXPECT_EQ(ENOMEM, ioas_map_fixed(self->fd, ioas1, IOVA(1),
					 buf + L * P, P));
	expect_pinned(_metadata, self, L, "one more page");

	/* pages pinned already cost nothing more: COPY to another domain */
	EXPECT_EQ(0, ioas_copy_fixed(self->fd, ioas2, IOVA(0), ioas1, IOVA(0),
				     L * P));
	expect_pinned(_metadata, self, L, "COPY at the limit");

	/* a lazy MAP is free; the domain that would pin it is refused */
	EXPECT_EQ(0, ioas_map_fixed(self->fd, ioas3, IOVA(0), buf + L * P,
				    L * P));
	expect_pinned(_metadata, self, L, "lazy MAP at the limit");
	objects = live_objects();
	EXPECT_EQ(ENOMEM, mock_domain(self->fd, ioas3, NULL, NULL, NULL));
	expect_pinned(_metadata, self, L, "domain refused");
	EXPECT_EQ(objects, live_objects());

	/* unpinning gives the budget back, once the last sharer lets go */
	ASSERT_EQ(0, ioas_unmap(self->fd, ioas1, IOVA(0), L * P, NULL));
	EXPECT_EQ(ENOMEM, mock_domain(self->fd, ioas3, NULL, NULL, NULL));
	ASSERT_EQ(0, ioas_unmap(self->fd, ioas2, IOVA(0), L * P, NULL));
	expect_pinned(_metadata, self, 0, "all unmapped");
	EXPECT_EQ(0, mock_domain(self->fd, ioas3, NULL, NULL, NULL));
	expect_pinned(_metadata, self, L, "domain on the lazy MAP");
	EXPECT_EQ(base_locked + 2, vm_locked());
	ASSERT_EQ(0, munlock(locked, 2 * P));
}

/*
 * RLIMIT_MODE 1: pins are charged to the process (mm->locked_vm, VmLck), the
 * same budget mlock() uses, as VFIO type1 does (__account_locked_vm()).
 */
TEST_F(acct, rlimit_mode1_charges_the_process)
{
	const unsigned long P = self->page, L = 8;
	char *buf = alloc_buffer(_metadata, 2 * L * P);
	char *locked = alloc_buffer(_metadata, 2 * P);
	unsigned long budget;
	__u32 ioas, ioas0;
	uint64_t base_locked;
	int fd0;

	ASSERT_EQ(0, rlimit_mode_set(self->fd, 1));
	ASSERT_EQ(1, rlimit_mode_get(self->fd));
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas));
	ASSERT_EQ(0, mock_domain(self->fd, ioas, NULL, NULL, NULL));
	/* a second file, left in mode 0 */
	fd0 = open_dev();
	ASSERT_LE(0, fd0);
	ASSERT_EQ(0, ioas_alloc(fd0, &ioas0));
	ASSERT_EQ(0, mock_domain(fd0, ioas0, NULL, NULL, NULL));

	set_memlock_limit(_metadata, L * P);
	become_fresh_user(_metadata);
	base_locked = vm_locked();
	ASSERT_LE(base_locked + 4, L) TH_LOG("the process already locks %llu pages",
					     (unsigned long long)base_locked);
	budget = L - base_locked;

	EXPECT_EQ(ENOMEM, ioas_map_fixed(self->fd, ioas, IOVA(0), buf,
					 (budget + 1) * P));
	expect_pinned(_metadata, self, 0, "MAP over the limit");
	EXPECT_EQ(base_locked, vm_locked());

	EXPECT_EQ(0, ioas_map_fixed(self->fd, ioas, IOVA(0), buf, budget * P));
	expect_pinned(_metadata, self, budget, "MAP of the limit");
	EXPECT_EQ(base_locked + budget, vm_locked());
	EXPECT_EQ(ENOMEM, ioas_map_fixed(self->fd, ioas, IOVA(1),
					 buf + budget * P, P));
	EXPECT_EQ(base_locked + budget, vm_locked());

	ASSERT_EQ(0, ioas_unmap(self->fd, ioas, IOVA(0), budget * P, NULL));
	expect_pinned(_metadata, self, 0, "unmapped");
	EXPECT_EQ(base_locked, vm_locked());

	/* mlock() and pins draw on the one budget */
	ASSERT_EQ(0, mlock(locked, 2 * P));
	EXPECT_EQ(ENOMEM, ioas_map_fixed(self->fd, ioas, IOVA(0), buf,
					 (budget - 1) * P));
	EXPECT_EQ(0, ioas_map_fixed(self->fd, ioas, IOVA(0), buf,
				    (budget - 2) * P));
	EXPECT_EQ(base_locked + budget, vm_locked());
	expect_pinned(_metadata, self, budget - 2, "mlock plus MAP");

	/* the file in mode 0 charges the user instead: VmLck stays put */
	EXPECT_EQ(0, ioas_map_fixed(fd0, ioas0, IOVA(0), buf + L * P,
				    budget * P));
	EXPECT_EQ(base_locked + budget, vm_locked());
	expect_pinned(_metadata, self, 2 * budget - 2, "mode 0 file");

	close(fd0);
	ASSERT_EQ(0, ioas_unmap(self->fd, ioas, IOVA(0), (budget - 2) * P,
				NULL));
	ASSERT_EQ(0, munlock(locked, 2 * P));
	EXPECT_EQ(base_locked, vm_locked());
	expect_pinned(_metadata, self, 0, "all released");
}

/* iopt_alloc_pages(): a caller with CAP_IPC_LOCK is not charged at all */
TEST_F(acct, cap_ipc_lock_is_not_charged)
{
	const unsigned long P = self->page, L = 4;
	char *buf = alloc_buffer(_metadata, 8 * L * P);
	uint64_t base_locked = vm_locked();
	__u32 ioas, ioas1;
	int fd1;

	fd1 = open_dev();
	ASSERT_LE(0, fd1);
	ASSERT_EQ(0, rlimit_mode_set(fd1, 1));
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas));
	ASSERT_EQ(0, ioas_alloc(fd1, &ioas1));
	ASSERT_EQ(0, mock_domain(self->fd, ioas, NULL, NULL, NULL));
	ASSERT_EQ(0, mock_domain(fd1, ioas1, NULL, NULL, NULL));
	set_memlock_limit(_metadata, L * P);
	ASSERT_EQ(0, set_effective_cap(CAP_IPC_LOCK, true));

	EXPECT_EQ(0, ioas_map_fixed(self->fd, ioas, IOVA(0), buf, 4 * L * P));
	expect_pinned(_metadata, self, 4 * L, "mode 0, over the limit");
	EXPECT_EQ(0, ioas_map_fixed(fd1, ioas1, IOVA(0), buf + 4 * L * P,
				    4 * L * P));
	expect_pinned(_metadata, self, 8 * L, "mode 1, over the limit");
	EXPECT_EQ(base_locked, vm_locked());
	close(fd1);
	expect_pinned(_metadata, self, 4 * L, "mode 1 file closed");
}

/* iommufd_option_rlimit_mode() */
TEST_F(acct, rlimit_mode_switching)
{
	int fd2;
	__u32 ioas;

	EXPECT_EQ(0, rlimit_mode_get(self->fd));
	EXPECT_EQ(0, rlimit_mode_set(self->fd, 1));
	EXPECT_EQ(1, rlimit_mode_get(self->fd));
	EXPECT_EQ(0, rlimit_mode_set(self->fd, 0));
	EXPECT_EQ(0, rlimit_mode_get(self->fd));
	EXPECT_EQ(EINVAL, rlimit_mode_set(self->fd, 2));
	EXPECT_EQ(EINVAL, rlimit_mode_set(self->fd, UINT64_MAX));
	EXPECT_EQ(0, rlimit_mode_get(self->fd));

	/* the mode belongs to the file */
	fd2 = open_dev();
	ASSERT_LE(0, fd2);
	EXPECT_EQ(0, rlimit_mode_set(fd2, 1));
	EXPECT_EQ(1, rlimit_mode_get(fd2));
	EXPECT_EQ(0, rlimit_mode_get(self->fd));
	close(fd2);

	/* a file with objects cannot switch, whatever the value */
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas));
	EXPECT_EQ(EBUSY, rlimit_mode_set(self->fd, 1));
	EXPECT_EQ(EBUSY, rlimit_mode_set(self->fd, 0));
	EXPECT_EQ(EBUSY, rlimit_mode_set(self->fd, 2));
	EXPECT_EQ(0, rlimit_mode_get(self->fd));
	/* ... until it is empty again */
	ASSERT_EQ(0, destroy_id(self->fd, ioas));
	EXPECT_EQ(0, rlimit_mode_set(self->fd, 1));
	EXPECT_EQ(1, rlimit_mode_get(self->fd));

	/* SET needs CAP_SYS_RESOURCE, checked before anything else; GET not */
	ASSERT_EQ(0, set_effective_cap(CAP_SYS_RESOURCE, false));
	EXPECT_EQ(EPERM, rlimit_mode_set(self->fd, 0));
	EXPECT_EQ(EPERM, rlimit_mode_set(self->fd, 2));
	EXPECT_EQ(1, rlimit_mode_get(self->fd));
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas));
	EXPECT_EQ(EPERM, rlimit_mode_set(self->fd, 0));
	ASSERT_EQ(0, set_effective_cap(CAP_SYS_RESOURCE, true));
	EXPECT_EQ(EBUSY, rlimit_mode_set(self->fd, 0));
	EXPECT_EQ(1, rlimit_mode_get(self->fd));
}

TEST_HARNESS_MAIN
