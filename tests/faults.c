// SPDX-License-Identifier: GPL-2.0-only
/*
 * faults - every failure our own fault sites can cause leaves nothing
 * changed.
 *
 * The test flavour has countdowns in /sys/kernel/debug/iommu_replace/fault/
 * (module/fault.c): writing N makes the N-th call of a site fail once. For
 * each operation (attach, replace, map, copy, unmap) and each site (the mock
 * IOMMU's map, unmap and attach, and page pinning) this sweeps N = 1, 2, ...
 * until the operation no longer reaches the N-th call. Every failure must
 * come back with the site's errno and leave the state as it was: the same
 * objects and pinned pages (debugfs), the same mappings in every page table
 * (IOMMU_TEST_OP_MD_CHECK_MAP), the devices on their page tables. Every
 * site an operation goes through must fire at least once, so the sweep
 * cannot pass by never reaching a site.
 *
 * The state each operation starts from: IOAS A with mapping M1 in two page
 * tables (the automatic one of mock device D1, and a manual one mock device
 * D2 is attached to), and IOAS B with mapping M2 and no page table.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kselftest_harness.h"
#include "iorp_test.h"

#define MAX_SWEEP	4096

enum site { MOCK_MAP, MOCK_UNMAP, MOCK_ATTACH, PIN, NR_SITES };

static const struct {
	const char *file;
	int err;	/* what the failed operation must return */
} sites[NR_SITES] = {
	[MOCK_MAP] = { "mock_map", ENOMEM },
	[MOCK_UNMAP] = { "mock_unmap", EIO },
	[MOCK_ATTACH] = { "mock_attach", EIO },
	[PIN] = { "pin", ENOMEM },
};

#define BUF_PAGES	8

FIXTURE(faults)
{
	int fd;
	__u32 ioas_a, ioas_b;
	__u32 d1, h1, d2, h2, idev1;
	char *m1, *m2, *m3;
	size_t len;
	__u64 iova1, iova2, iova3;
	unsigned long base_pinned, base_objects;
	unsigned int fired[NR_SITES];
};

FIXTURE_SETUP(faults)
{
	self->len = BUF_PAGES * psize();
	self->m1 = alloc_buffer(_metadata, self->len);
	self->m2 = alloc_buffer(_metadata, self->len);
	self->m3 = alloc_buffer(_metadata, self->len);
	self->iova1 = MOCK_APERTURE_START;
	self->iova2 = MOCK_APERTURE_START + 4 * self->len;
	self->iova3 = MOCK_APERTURE_START + 8 * self->len;
	for (int s = 0; s < NR_SITES; s++)
		fault_arm(_metadata, sites[s].file, 0);

	self->fd = open_dev();
	ASSERT_LE(0, self->fd);
	/* pin in batches of two pages, so pinning fails between batches too */
	ASSERT_EQ(0, set_temp_memory_limit(self->fd, 2 * sizeof(void *)));
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas_a));
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas_b));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_a, self->iova1,
				    self->m1, self->len));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_b, self->iova2,
				    self->m2, self->len));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_a, &self->d1, &self->h1,
				 &self->idev1));
	ASSERT_EQ(0, hwpt_alloc(self->fd, self->idev1, self->ioas_a, 0,
				&self->h2));
	ASSERT_EQ(0, mock_domain(self->fd, self->h2, &self->d2, NULL, NULL));
	self->base_pinned = pinned_pages();
	self->base_objects = live_objects();
}

FIXTURE_TEARDOWN(faults)
{
	for (int s = 0; s < NR_SITES; s++)
		fault_arm(_metadata, sites[s].file, 0);
	EXPECT_EQ(0, set_temp_memory_limit(self->fd, 65536));
	close(self->fd);
}

/* M1 is mapped in both page tables of A; IOVA iova of A is not. */
static void check_state(struct __test_metadata *_metadata,
			FIXTURE_DATA(faults) *self, __u64 unmapped_iova,
			const char *what)
{
	EXPECT_EQ(self->base_pinned, pinned_pages()) TH_LOG("%s", what);
	EXPECT_EQ(self->base_objects, live_objects()) TH_LOG("%s", what);
	EXPECT_EQ(0, check_map(self->fd, self->h1, self->iova1, self->m1,
			       self->len)) TH_LOG("%s", what);
	EXPECT_EQ(0, check_map(self->fd, self->h2, self->iova1, self->m1,
			       self->len)) TH_LOG("%s", what);
	if (unmapped_iova) {
		EXPECT_EQ(EINVAL, check_map(self->fd, self->h1, unmapped_iova,
					    self->m3, mock_io_page()))
			TH_LOG("%s", what);
	}
	/* D1 still on its automatic page table, which it keeps alive */
	EXPECT_EQ(EBUSY, destroy_id(self->fd, self->h1)) TH_LOG("%s", what);
}

/*
 * Run op with site s failing at call 1, 2, ... until op no longer reaches
 * the armed call; after each failure check nothing changed, after each
 * success undo the operation. Returns how often the site fired.
 */
static unsigned int sweep(struct __test_metadata *_metadata,
			  FIXTURE_DATA(faults) *self, const char *name,
			  enum site s, int (*op)(FIXTURE_DATA(faults) *),
			  void (*undo)(struct __test_metadata *,
				       FIXTURE_DATA(faults) *),
			  __u64 unmapped_iova)
{
	unsigned int n, fired = 0;

	for (n = 1; n <= MAX_SWEEP; n++) {
		int ret;

		fault_arm(_metadata, sites[s].file, n);
		ret = op(self);
		if (fault_left(_metadata, sites[s].file) == 0) {
			fired++;
			fault_arm(_metadata, sites[s].file, 0);
			ASSERT_EQ(sites[s].err, ret)
				TH_LOG("%s with %s failing at call %u: %s", name,
				       sites[s].file, n, errname(ret));
			check_state(_metadata, self, unmapped_iova, name);
			continue;
		}
		fault_arm(_metadata, sites[s].file, 0);
		ASSERT_EQ(0, ret) TH_LOG("%s failed (%s) without a fault", name,
					 errname(ret));
		undo(_metadata, self);
		check_state(_metadata, self, unmapped_iova, name);
		break;
	}
	ASSERT_GT(MAX_SWEEP, n) TH_LOG("%s never stopped reaching %s", name,
				       sites[s].file);
	TH_LOG("%s: %s fired at calls 1..%u", name, sites[s].file, fired);
	return fired;
}

/* attach: a new mock device to IOAS B, which gets a page table for it */
static __u32 new_dev;

static int op_attach(FIXTURE_DATA(faults) *self)
{
	return mock_domain(self->fd, self->ioas_b, &new_dev, NULL, NULL);
}

static void undo_attach(struct __test_metadata *_metadata,
			FIXTURE_DATA(faults) *self)
{
	ASSERT_EQ(0, destroy_id(self->fd, new_dev));
}

/* replace: D1 from its page table in A to a new one in B */
static int op_replace(FIXTURE_DATA(faults) *self)
{
	__u32 pt = self->ioas_b;

	return mock_domain_replace(self->fd, self->d1, &pt);
}

static void undo_replace(struct __test_metadata *_metadata,
			 FIXTURE_DATA(faults) *self)
{
	__u32 pt = self->ioas_a;

	ASSERT_EQ(0, mock_domain_replace(self->fd, self->d1, &pt));
	/* back on an automatic page table of A: the old one was freed */
	self->h1 = pt;
}

/* map: M3 into A, so into both its page tables */
static int op_map(FIXTURE_DATA(faults) *self)
{
	return ioas_map_fixed(self->fd, self->ioas_a, self->iova3, self->m3,
			      self->len);
}

static void undo_map_or_copy(struct __test_metadata *_metadata,
			     FIXTURE_DATA(faults) *self)
{
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_a, self->iova3, self->len,
				NULL));
}

/* copy: M2 from B (not pinned there) into A */
static int op_copy(FIXTURE_DATA(faults) *self)
{
	return ioas_copy_fixed(self->fd, self->ioas_a, self->iova3,
			       self->ioas_b, self->iova2, self->len);
}

/* unmap: M1 out of A */
static int op_unmap(FIXTURE_DATA(faults) *self)
{
	return ioas_unmap(self->fd, self->ioas_a, self->iova1, self->len,
			  NULL);
}

static void undo_unmap(struct __test_metadata *_metadata,
		       FIXTURE_DATA(faults) *self)
{
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_a, self->iova1,
				    self->m1, self->len));
}

TEST_F(faults, attach)
{
	EXPECT_LT(0, sweep(_metadata, self, "attach", PIN, op_attach,
			   undo_attach, 0));
	EXPECT_LT(0, sweep(_metadata, self, "attach", MOCK_MAP, op_attach,
			   undo_attach, 0));
	EXPECT_LT(0, sweep(_metadata, self, "attach", MOCK_ATTACH, op_attach,
			   undo_attach, 0));
}

TEST_F(faults, replace)
{
	EXPECT_LT(0, sweep(_metadata, self, "replace", PIN, op_replace,
			   undo_replace, 0));
	EXPECT_LT(0, sweep(_metadata, self, "replace", MOCK_MAP, op_replace,
			   undo_replace, 0));
	EXPECT_LT(0, sweep(_metadata, self, "replace", MOCK_ATTACH, op_replace,
			   undo_replace, 0));
}

TEST_F(faults, map)
{
	EXPECT_LT(0, sweep(_metadata, self, "map", PIN, op_map,
			   undo_map_or_copy, self->iova3));
	EXPECT_LT(0, sweep(_metadata, self, "map", MOCK_MAP, op_map,
			   undo_map_or_copy, self->iova3));
}

TEST_F(faults, copy)
{
	EXPECT_LT(0, sweep(_metadata, self, "copy", PIN, op_copy,
			   undo_map_or_copy, self->iova3));
	EXPECT_LT(0, sweep(_metadata, self, "copy", MOCK_MAP, op_copy,
			   undo_map_or_copy, self->iova3));
}

TEST_F(faults, unmap)
{
	EXPECT_LT(0, sweep(_metadata, self, "unmap", MOCK_UNMAP, op_unmap,
			   undo_unmap, 0));
}

/* After all of it, closing the file leaves nothing behind. */
TEST(nothing_left)
{
	int fd = open_dev();
	__u32 ioas, dev;
	char *buf;

	ASSERT_LE(0, fd);
	buf = alloc_buffer(_metadata, 4 * psize());
	ASSERT_EQ(0, ioas_alloc(fd, &ioas));
	ASSERT_EQ(0, ioas_map_fixed(fd, ioas, MOCK_APERTURE_START, buf,
				    4 * psize()));
	ASSERT_EQ(0, mock_domain(fd, ioas, &dev, NULL, NULL));
	ASSERT_LT(0, pinned_pages());
	close(fd);
	EXPECT_EQ(0, pinned_pages());
	EXPECT_EQ(0, live_objects());
}

TEST_HARNESS_MAIN
