// SPDX-License-Identifier: GPL-2.0-only
/*
 * inputs - bad input for every IOAS and HWPT ioctl, IOMMU_DESTROY and
 * IOMMU_TEST_CMD.
 *
 * Every case passes one bad value in an otherwise valid call and expects the
 * errno upstream iommufd (Linux 6.12, drivers/iommu/iommufd/) returns for
 * it; the comment above each group of cases names the upstream check. Where
 * upstream accepts a value that looks wrong (an unaligned IOVA on an IOAS
 * without a domain, a user_va that cannot be accessed while nothing needs the
 * pages yet) the case expects success, so the rule is pinned down both ways.
 *
 * After every call the test checks that nothing changed: the IOAS reports
 * the same usable IOVA ranges and alignment, the module-wide debugfs counters
 * of pinned pages and live objects are unchanged, the one known mapping can
 * still be copied whole, the free probe range can still be mapped, and the
 * IOAS of another open file is still there. A case upstream accepts is
 * undone (unmapped, destroyed) before that check.
 *
 * The fixture runs twice: "no_domain" (the IOAS under test has no domain:
 * IOVA alignment 1, nothing is pinned) and "mock_domain" (a mock device is
 * attached: alignment PAGE_SIZE / 2, only the mock aperture is usable, MAP
 * pins at once).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "iorp_test.h"

#define BUF_PAGES	16
#define MAX_RANGES	8

/* An ID no file has: IDs are allocated upwards from 1 (xa_limit_31b). */
#define NEVER_ID	0x7ffffff0U

struct snapshot {
	struct iommu_iova_range ranges[MAX_RANGES];
	__u32 nranges;
	__u64 alignment;
	uint64_t pinned;
	uint64_t objects;
};

FIXTURE(inputs)
{
	int fd;
	unsigned long page;
	unsigned long align;	/* IOVA alignment of the IOAS under test */
	char *buf;		/* BUF_PAGES pages */

	__u32 ioas;		/* the IOAS under test */
	__u32 stdev, hwpt, idev; /* its mock device (mock_domain variant) */
	__u32 scratch;		/* a domain-less IOAS for probes */
	/* an IOAS with a mock device: IDs of every other object type */
	__u32 dev_ioas, dev_stdev, dev_hwpt, dev_idev;
	int other_fd;		/* another open file, and IDs only it has: */
	__u32 other_ioas, other_stdev, other_hwpt, other_idev;
	/* IDs that are no IOAS of this file: missing, other types, other file */
	__u32 bad_ids[9];

	__u64 a_iova, a_len;	/* the one mapping of the IOAS, from buf */
	__u64 free_iova;	/* FREE_LEN bytes nothing is mapped at */
	__u64 resv_iova, resv_len; /* an ADD_RESERVED range */
	struct snapshot snap;
};

FIXTURE_VARIANT(inputs)
{
	bool mock_domain;
};

FIXTURE_VARIANT_ADD(inputs, no_domain)
{
	.mock_domain = false,
};

FIXTURE_VARIANT_ADD(inputs, mock_domain)
{
	.mock_domain = true,
};

#define FREE_LEN	(4 * self->page)
#define SCRATCH_IOVA	((__u64)MOCK_APERTURE_START)

static void take_snapshot(struct __test_metadata *_metadata,
			  FIXTURE_DATA(inputs) *self, struct snapshot *s)
{
	memset(s, 0, sizeof(*s));
	s->nranges = MAX_RANGES;
	ASSERT_EQ(0, ioas_iova_ranges(self->fd, self->ioas, s->ranges,
				      &s->nranges, &s->alignment));
	s->pinned = pinned_pages();
	s->objects = live_objects();
}

/* The state after a call is the state of the last snapshot. */
static void expect_unchanged(struct __test_metadata *_metadata,
			     FIXTURE_DATA(inputs) *self, const char *what)
{
	struct iommu_iova_range other_range;
	__u64 unmapped = 0;
	struct snapshot now;
	__u32 n = 1;

	take_snapshot(_metadata, self, &now);
	EXPECT_EQ(self->snap.nranges, now.nranges)
		TH_LOG("%s: the number of usable IOVA ranges changed", what);
	EXPECT_EQ(0, memcmp(self->snap.ranges, now.ranges, sizeof(now.ranges)))
		TH_LOG("%s: the usable IOVA ranges changed", what);
	EXPECT_EQ(self->snap.alignment, now.alignment)
		TH_LOG("%s: the IOVA alignment changed", what);
	EXPECT_EQ(self->snap.pinned, now.pinned)
		TH_LOG("%s: pinned_pages changed", what);
	EXPECT_EQ(self->snap.objects, now.objects)
		TH_LOG("%s: the number of live objects changed", what);

	/* The known mapping is still there in one piece: COPY needs all of it */
	EXPECT_EQ(0, ioas_copy_fixed(self->fd, self->scratch, SCRATCH_IOVA,
				     self->ioas, self->a_iova, self->a_len))
		TH_LOG("%s: the known mapping is no longer whole", what);
	EXPECT_EQ(0, ioas_unmap(self->fd, self->scratch, SCRATCH_IOVA,
				self->a_len, &unmapped));
	EXPECT_EQ(self->a_len, unmapped);

	/* Nothing was left behind in the free probe range */
	EXPECT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->free_iova,
				    self->buf, FREE_LEN))
		TH_LOG("%s: the free probe range is no longer free", what);
	unmapped = 0;
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas, self->free_iova,
				FREE_LEN, &unmapped));
	EXPECT_EQ(FREE_LEN, unmapped);

	/* The other file's IOAS is untouched */
	EXPECT_EQ(0, ioas_iova_ranges(self->other_fd, self->other_ioas,
				      &other_range, &n, NULL))
		TH_LOG("%s: the other file's IOAS is gone", what);
}

/*
 * One call that upstream rejects with errno want (0: accepts, changing
 * nothing), then the check that nothing changed.
 */
#define EXPECT_REJECTED(want, call, what) do {				\
	int __want = (want), __got = (call);				\
									\
	EXPECT_EQ(__want, __got)					\
		TH_LOG("%s: got %s, want %s", (what), errname(__got),	\
		       errname(__want));				\
	expect_unchanged(_metadata, self, (what));			\
} while (0)

FIXTURE_SETUP(inputs)
{
	unsigned int tries = 0;
	__u32 max_id;

	self->fd = -1;
	self->other_fd = -1;
	self->page = psize();
	self->align = variant->mock_domain ? mock_io_page() : 1;
	self->buf = alloc_buffer(_metadata, BUF_PAGES * self->page);

	self->fd = open_dev();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas));
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->scratch));
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->dev_ioas));
	ASSERT_EQ(0, mock_domain(self->fd, self->dev_ioas, &self->dev_stdev,
				 &self->dev_hwpt, &self->dev_idev));
	max_id = self->dev_stdev > self->dev_hwpt ? self->dev_stdev :
						    self->dev_hwpt;
	if (self->dev_idev > max_id)
		max_id = self->dev_idev;
	if (variant->mock_domain) {
		ASSERT_EQ(0, mock_domain(self->fd, self->ioas, &self->stdev,
					 &self->hwpt, &self->idev));
		if (self->stdev > max_id)
			max_id = self->stdev;
		if (self->hwpt > max_id)
			max_id = self->hwpt;
		if (self->idev > max_id)
			max_id = self->idev;
	}

	self->a_iova = MOCK_APERTURE_START + 16 * self->page;
	self->a_len = 2 * self->page;
	self->free_iova = MOCK_APERTURE_START + 64 * self->page;
	self->resv_iova = MOCK_APERTURE_START + 128 * self->page;
	self->resv_len = 4 * self->page;
	ASSERT_EQ(0, add_reserved(self->fd, self->ioas, self->resv_iova,
				  self->resv_len));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->a_iova,
				    self->buf, self->a_len));

	/*
	 * Every file numbers its objects from 1, so "an ID of another file"
	 * must be one this file does not have, now or after a test creates a
	 * few objects of its own: well above this file's largest ID.
	 */
	self->other_fd = open_dev();
	ASSERT_LE(0, self->other_fd);
	do {
		ASSERT_EQ(0, ioas_alloc(self->other_fd, &self->other_ioas));
	} while (self->other_ioas <= max_id + 32 && ++tries < 256);
	ASSERT_LT(max_id + 32, self->other_ioas);
	ASSERT_EQ(0, mock_domain(self->other_fd, self->other_ioas,
				 &self->other_stdev, &self->other_hwpt,
				 &self->other_idev));

	self->bad_ids[0] = 0;
	self->bad_ids[1] = NEVER_ID;
	self->bad_ids[2] = self->dev_hwpt;
	self->bad_ids[3] = self->dev_idev;
	self->bad_ids[4] = self->dev_stdev;
	self->bad_ids[5] = self->other_ioas;
	self->bad_ids[6] = self->other_hwpt;
	self->bad_ids[7] = self->other_idev;
	self->bad_ids[8] = self->other_stdev;

	take_snapshot(_metadata, self, &self->snap);
}

FIXTURE_TEARDOWN(inputs)
{
	if (self->other_fd >= 0)
		close(self->other_fd);
	if (self->fd >= 0)
		close(self->fd);
}

/* Runs one IOMMU_IOAS_MAP case; a mapping it made is unmapped again. */
static void run_map(struct __test_metadata *_metadata,
		    FIXTURE_DATA(inputs) *self, bool dom, const char *rule,
		    struct iommu_ioas_map cmd, int err, int err_dom)
{
	int want = dom ? err_dom : err;
	__u64 unmapped = 0;
	int got;

	cmd.size = sizeof(cmd);
	got = ioctl_errno(self->fd, IOMMU_IOAS_MAP, &cmd);
	EXPECT_EQ(want, got)
		TH_LOG("IOAS_MAP, %s: got %s, want %s", rule, errname(got),
		       errname(want));
	if (!got) {
		EXPECT_EQ(0, ioas_unmap(self->fd, cmd.ioas_id, cmd.iova,
					cmd.length, &unmapped));
		EXPECT_EQ(cmd.length, unmapped);
	}
	expect_unchanged(_metadata, self, rule);
}

TEST_F(inputs, ioas_map)
{
	const unsigned long P = self->page;
	const __u64 A = self->a_iova, F = self->free_iova;
	const __u64 R = self->resv_iova;
	const bool dom = variant->mock_domain;
	void *hole = no_access_range(_metadata, 4 * P);
	void *ro = alloc_readonly(_metadata, P);
	char *buf = self->buf;
	const struct {
		const char *rule;
		struct iommu_ioas_map cmd;
		int err;	/* no domain */
		int err_dom;	/* mock domain attached */
	} cases[] = {
		/* iommufd_ioas_map(): unknown flags or __reserved */
		{ "unknown flag bit 3",
		  { .flags = MAP_FIXED_RW | 1U << 3, .user_va = (uintptr_t)buf,
		    .length = P, .iova = F }, EOPNOTSUPP, EOPNOTSUPP },
		{ "unknown flag bit 31",
		  { .flags = MAP_FIXED_RW | 1U << 31, .user_va = (uintptr_t)buf,
		    .length = P, .iova = F }, EOPNOTSUPP, EOPNOTSUPP },
		{ "non-zero __reserved",
		  { .flags = MAP_FIXED_RW, .__reserved = 1,
		    .user_va = (uintptr_t)buf, .length = P, .iova = F },
		  EOPNOTSUPP, EOPNOTSUPP },
		/* iommufd_ioas_map(): iova or length >= ULONG_MAX */
		{ "iova U64_MAX",
		  { .flags = MAP_FIXED_RW, .user_va = (uintptr_t)buf,
		    .length = P, .iova = UINT64_MAX }, EOVERFLOW, EOVERFLOW },
		{ "length U64_MAX",
		  { .flags = MAP_FIXED_RW, .user_va = (uintptr_t)buf,
		    .length = UINT64_MAX, .iova = F }, EOVERFLOW, EOVERFLOW },
		/* iommufd_ioas_map(): neither READABLE nor WRITEABLE */
		{ "no access permission",
		  { .flags = IOMMU_IOAS_MAP_FIXED_IOVA,
		    .user_va = (uintptr_t)buf, .length = P, .iova = F },
		  EINVAL, EINVAL },
		/* iopt_alloc_pages(): length == 0 or > SIZE_MAX - PAGE_SIZE */
		{ "zero length",
		  { .flags = MAP_FIXED_RW, .user_va = (uintptr_t)buf,
		    .length = 0, .iova = F }, EINVAL, EINVAL },
		{ "length U64_MAX - 1",
		  { .flags = MAP_FIXED_RW, .user_va = (uintptr_t)buf,
		    .length = UINT64_MAX - 1, .iova = F }, EINVAL, EINVAL },
		/* iopt_alloc_pages(): user_va + length wraps */
		{ "user_va + length wraps",
		  { .flags = MAP_FIXED_RW, .user_va = -(__u64)P,
		    .length = 2 * P, .iova = F }, EOVERFLOW, EOVERFLOW },
		/* iopt_check_iova(): iova + length - 1 wraps */
		{ "iova + length wraps",
		  { .flags = MAP_FIXED_RW, .user_va = (uintptr_t)buf,
		    .length = 2 * P, .iova = -(__u64)P }, EOVERFLOW, EOVERFLOW },
		/* iopt_alloc_iova(): length >= ULONG_MAX / 2 */
		{ "automatic IOVA for 2^63 bytes",
		  { .flags = MAP_RW, .user_va = (uintptr_t)buf,
		    .length = 1ULL << 63 }, EOVERFLOW, EOVERFLOW },
		/*
		 * iopt_check_iova(), iopt_alloc_area_pages(), iopt_insert_area():
		 * iova, length and the offset of user_va in its page must be
		 * multiples of iopt->iova_alignment: 1 without a domain, the
		 * mock IO page (PAGE_SIZE / 2) with the mock domain.
		 */
		{ "iova not aligned",
		  { .flags = MAP_FIXED_RW, .user_va = (uintptr_t)buf,
		    .length = P, .iova = F + 1 }, 0, EINVAL },
		{ "length not aligned",
		  { .flags = MAP_FIXED_RW, .user_va = (uintptr_t)buf,
		    .length = P + 1, .iova = F }, 0, EINVAL },
		{ "user_va not aligned in its page",
		  { .flags = MAP_FIXED_RW, .user_va = (uintptr_t)buf + 1,
		    .length = P / 2, .iova = F }, 0, EINVAL },
		{ "user_va, length and iova at half a page",
		  { .flags = MAP_FIXED_RW, .user_va = (uintptr_t)buf + P / 2,
		    .length = P / 2, .iova = F + P / 2 }, 0, 0 },
		/* iopt_check_iova(): an area intersects the range */
		{ "fixed IOVA on an existing mapping",
		  { .flags = MAP_FIXED_RW, .user_va = (uintptr_t)buf,
		    .length = self->a_len, .iova = A }, EEXIST, EEXIST },
		{ "fixed IOVA overlapping the start of a mapping",
		  { .flags = MAP_FIXED_RW, .user_va = (uintptr_t)buf,
		    .length = 2 * P, .iova = A - P }, EEXIST, EEXIST },
		{ "fixed IOVA overlapping the end of a mapping",
		  { .flags = MAP_FIXED_RW, .user_va = (uintptr_t)buf,
		    .length = 2 * P, .iova = A + self->a_len - P },
		  EEXIST, EEXIST },
		/* iopt_check_iova(): a reserved range intersects: EINVAL */
		{ "fixed IOVA inside a test reservation",
		  { .flags = MAP_FIXED_RW, .user_va = (uintptr_t)buf,
		    .length = P, .iova = R + P }, EINVAL, EINVAL },
		{ "fixed IOVA running into a test reservation",
		  { .flags = MAP_FIXED_RW, .user_va = (uintptr_t)buf,
		    .length = 2 * P, .iova = R - P }, EINVAL, EINVAL },
		/* iopt_table_add_domain() reserves all IOVA outside the aperture */
		{ "fixed IOVA below the mock aperture",
		  { .flags = MAP_FIXED_RW, .user_va = (uintptr_t)buf,
		    .length = P, .iova = MOCK_APERTURE_START - P }, 0, EINVAL },
		{ "fixed IOVA above the mock aperture",
		  { .flags = MAP_FIXED_RW, .user_va = (uintptr_t)buf,
		    .length = P, .iova = (__u64)MOCK_APERTURE_LAST + 1 },
		  0, EINVAL },
		{ "fixed IOVA across the end of the mock aperture",
		  { .flags = MAP_FIXED_RW, .user_va = (uintptr_t)buf,
		    .length = 2 * P,
		    .iova = (__u64)MOCK_APERTURE_LAST + 1 - P }, 0, EINVAL },
		/*
		 * Pages are pinned only when a domain (or an access) needs
		 * them: without one MAP never touches user memory, with the
		 * mock domain pin_user_pages() fails with EFAULT.
		 */
		{ "user_va not accessible",
		  { .flags = MAP_FIXED_RW, .user_va = (uintptr_t)hole,
		    .length = P, .iova = F }, 0, EFAULT },
		{ "WRITEABLE map of read-only memory",
		  { .flags = MAP_FIXED_RW, .user_va = (uintptr_t)ro,
		    .length = P, .iova = F }, 0, EFAULT },
		{ "READABLE map of read-only memory",
		  { .flags = IOMMU_IOAS_MAP_FIXED_IOVA |
			     IOMMU_IOAS_MAP_READABLE,
		    .user_va = (uintptr_t)ro, .length = P, .iova = F }, 0, 0 },
		/*
		 * Read-only pins are never forced: memory the process cannot
		 * read (PROT_NONE) is not pinned for a READABLE map either.
		 */
		{ "READABLE map of inaccessible memory",
		  { .flags = IOMMU_IOAS_MAP_FIXED_IOVA |
			     IOMMU_IOAS_MAP_READABLE,
		    .user_va = (uintptr_t)hole, .length = P, .iova = F },
		  0, EFAULT },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		struct iommu_ioas_map cmd = cases[i].cmd;

		cmd.ioas_id = self->ioas;
		run_map(_metadata, self, dom, cases[i].rule, cmd, cases[i].err,
			cases[i].err_dom);
	}
}

/*
 * iommufd_get_ioas(): a missing ID, ID 0 and an ID of another type: ENOENT.
 * The IOAS is looked up before the length is checked (iopt_alloc_pages()),
 * so a bad ID with a bad length is ENOENT too.
 */
TEST_F(inputs, ioas_map_bad_ids)
{
	const __u64 lengths[] = { self->page, 0, UINT64_MAX - 1 };

	for (unsigned int i = 0; i < ARRAY_SIZE(self->bad_ids); i++) {
		for (unsigned int l = 0; l < ARRAY_SIZE(lengths); l++) {
			struct iommu_ioas_map cmd = {
				.flags = MAP_FIXED_RW,
				.ioas_id = self->bad_ids[i],
				.user_va = (uintptr_t)self->buf,
				.length = lengths[l],
				.iova = self->free_iova,
			};

			run_map(_metadata, self, variant->mock_domain,
				"bad IOAS ID", cmd, ENOENT, ENOENT);
		}
	}
	/* the same for a user_va + length that wraps */
	for (unsigned int i = 0; i < ARRAY_SIZE(self->bad_ids); i++) {
		struct iommu_ioas_map cmd = {
			.flags = MAP_FIXED_RW,
			.ioas_id = self->bad_ids[i],
			.user_va = -(__u64)self->page,
			.length = 2 * self->page,
			.iova = self->free_iova,
		};

		run_map(_metadata, self, variant->mock_domain,
			"bad IOAS ID, user_va + length wraps", cmd, ENOENT,
			ENOENT);
	}
}

/*
 * MAP and COPY whose result cannot be written back fail with EFAULT but
 * keep the mapping, as upstream does: undoing it could remove a mapping
 * another thread made at that IOVA in the meantime.
 */
TEST_F(inputs, unwritable_map_result_keeps_the_mapping)
{
	const __u64 F = self->free_iova, P = self->page;
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = MAP_FIXED_RW,
		.ioas_id = self->ioas,
		.user_va = (uintptr_t)self->buf,
		.length = P,
		.iova = F,
	};
	struct iommu_ioas_copy copy = {
		.size = sizeof(copy),
		.flags = MAP_FIXED_RW,
		.dst_ioas_id = self->ioas,
		.src_ioas_id = self->ioas,
		.length = self->a_len,
		.dst_iova = F + P,
		.src_iova = self->a_iova,
	};
	__u64 unmapped = 0;
	void *ro;

	ro = readonly_copy(_metadata, &map, sizeof(map));
	EXPECT_EQ(EFAULT, ioctl_errno(self->fd, IOMMU_IOAS_MAP, ro));
	munmap(ro, self->page);
	EXPECT_EQ(EEXIST, ioas_map_fixed(self->fd, self->ioas, F, self->buf, P))
		TH_LOG("MAP with an unwritable result removed its mapping");

	ro = readonly_copy(_metadata, &copy, sizeof(copy));
	EXPECT_EQ(EFAULT, ioctl_errno(self->fd, IOMMU_IOAS_COPY, ro));
	munmap(ro, self->page);
	EXPECT_EQ(EEXIST, ioas_map_fixed(self->fd, self->ioas, F + P, self->buf,
					 P))
		TH_LOG("COPY with an unwritable result removed its mapping");

	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas, F, FREE_LEN, &unmapped));
	EXPECT_EQ(P + self->a_len, unmapped);
	expect_unchanged(_metadata, self, "unwritable MAP and COPY results");
}

static void run_copy(struct __test_metadata *_metadata,
		     FIXTURE_DATA(inputs) *self, bool dom, const char *rule,
		     struct iommu_ioas_copy cmd, int err, int err_dom)
{
	int want = dom ? err_dom : err;
	__u64 unmapped = 0;
	int got;

	cmd.size = sizeof(cmd);
	got = ioctl_errno(self->fd, IOMMU_IOAS_COPY, &cmd);
	EXPECT_EQ(want, got)
		TH_LOG("IOAS_COPY, %s: got %s, want %s", rule, errname(got),
		       errname(want));
	if (!got) {
		EXPECT_EQ(0, ioas_unmap(self->fd, cmd.dst_ioas_id, cmd.dst_iova,
					cmd.length, &unmapped));
		EXPECT_EQ(cmd.length, unmapped);
	}
	expect_unchanged(_metadata, self, rule);
}

TEST_F(inputs, ioas_copy)
{
	const unsigned long P = self->page;
	const __u64 A = self->a_iova, F = self->free_iova;
	const __u64 R = self->resv_iova;
	const __u64 ro_iova = MOCK_APERTURE_START + 32 * P;
	const bool dom = variant->mock_domain;
	void *ro = alloc_readonly(_metadata, P);
	__u64 iova = ro_iova;
	const struct {
		const char *rule;
		struct iommu_ioas_copy cmd;
		int err;
		int err_dom;
	} cases[] = {
		/*
		 * iommufd_ioas_copy(): unknown flags (bit 16 is avoided: test
		 * builds strip it as the selftest "syz" flag)
		 */
		{ "unknown flag bit 3",
		  { .flags = MAP_FIXED_RW | 1U << 3, .length = P,
		    .src_iova = A, .dst_iova = F }, EOPNOTSUPP, EOPNOTSUPP },
		{ "unknown flag bit 31",
		  { .flags = MAP_FIXED_RW | 1U << 31, .length = P,
		    .src_iova = A, .dst_iova = F }, EOPNOTSUPP, EOPNOTSUPP },
		/* iommufd_ioas_copy(): any of the three >= ULONG_MAX */
		{ "length U64_MAX",
		  { .flags = MAP_FIXED_RW, .length = UINT64_MAX,
		    .src_iova = A, .dst_iova = F }, EOVERFLOW, EOVERFLOW },
		{ "src_iova U64_MAX",
		  { .flags = MAP_FIXED_RW, .length = P,
		    .src_iova = UINT64_MAX, .dst_iova = F },
		  EOVERFLOW, EOVERFLOW },
		{ "dst_iova U64_MAX",
		  { .flags = MAP_FIXED_RW, .length = P,
		    .src_iova = A, .dst_iova = UINT64_MAX },
		  EOVERFLOW, EOVERFLOW },
		/* iommufd_ioas_copy(): neither READABLE nor WRITEABLE */
		{ "no access permission",
		  { .flags = IOMMU_IOAS_MAP_FIXED_IOVA, .length = P,
		    .src_iova = A, .dst_iova = F }, EINVAL, EINVAL },
		/* iopt_get_pages(): zero length, wrap, source not all mapped */
		{ "zero length",
		  { .flags = MAP_FIXED_RW, .length = 0,
		    .src_iova = A, .dst_iova = F }, EINVAL, EINVAL },
		{ "src_iova + length wraps",
		  { .flags = MAP_FIXED_RW, .length = 2 * P,
		    .src_iova = -(__u64)P, .dst_iova = F },
		  EOVERFLOW, EOVERFLOW },
		{ "source range not mapped",
		  { .flags = MAP_FIXED_RW, .length = P,
		    .src_iova = F + P, .dst_iova = F }, ENOENT, ENOENT },
		{ "source range runs past the end of the mapping",
		  { .flags = MAP_FIXED_RW, .length = 2 * P,
		    .src_iova = A + P, .dst_iova = F }, ENOENT, ENOENT },
		{ "source range starts before the mapping",
		  { .flags = MAP_FIXED_RW, .length = 2 * P,
		    .src_iova = A - P, .dst_iova = F }, ENOENT, ENOENT },
		{ "source range is part of a mapping",
		  { .flags = MAP_FIXED_RW, .length = P,
		    .src_iova = A + P, .dst_iova = F }, 0, 0 },
		/* iopt_check_iova() on the destination */
		{ "dst_iova + length wraps",
		  { .flags = MAP_FIXED_RW, .length = 2 * P,
		    .src_iova = A, .dst_iova = -(__u64)P },
		  EOVERFLOW, EOVERFLOW },
		{ "destination on an existing mapping",
		  { .flags = MAP_FIXED_RW, .length = 2 * P,
		    .src_iova = A, .dst_iova = A }, EEXIST, EEXIST },
		{ "destination inside a test reservation",
		  { .flags = MAP_FIXED_RW, .length = P,
		    .src_iova = A, .dst_iova = R }, EINVAL, EINVAL },
		{ "destination below the mock aperture",
		  { .flags = MAP_FIXED_RW, .length = P,
		    .src_iova = A, .dst_iova = MOCK_APERTURE_START - 2 * P },
		  0, EINVAL },
		/* alignment of the destination IOAS, as for MAP */
		{ "destination IOVA not aligned",
		  { .flags = MAP_FIXED_RW, .length = P,
		    .src_iova = A, .dst_iova = F + 1 }, 0, EINVAL },
		{ "length not aligned",
		  { .flags = MAP_FIXED_RW, .length = P + 1,
		    .src_iova = A, .dst_iova = F }, 0, EINVAL },
		{ "source offset not aligned in its page",
		  { .flags = MAP_FIXED_RW, .length = P / 2,
		    .src_iova = A + 100, .dst_iova = F }, 0, EINVAL },
		/* iopt_insert_area(): WRITEABLE needs pages mapped writeable */
		{ "WRITEABLE copy of a READABLE-only mapping",
		  { .flags = MAP_FIXED_RW, .length = P,
		    .src_iova = ro_iova, .dst_iova = F }, EPERM, EPERM },
		{ "READABLE copy of a READABLE-only mapping",
		  { .flags = IOMMU_IOAS_MAP_FIXED_IOVA |
			     IOMMU_IOAS_MAP_READABLE, .length = P,
		    .src_iova = ro_iova, .dst_iova = F }, 0, 0 },
	};

	ASSERT_EQ(0, ioas_map_flags(self->fd, self->ioas,
				    IOMMU_IOAS_MAP_FIXED_IOVA |
				    IOMMU_IOAS_MAP_READABLE, ro, P, &iova));
	take_snapshot(_metadata, self, &self->snap);

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		struct iommu_ioas_copy cmd = cases[i].cmd;

		cmd.src_ioas_id = self->ioas;
		cmd.dst_ioas_id = self->ioas;
		run_copy(_metadata, self, dom, cases[i].rule, cmd, cases[i].err,
			 cases[i].err_dom);
	}
}

/* Source and destination IDs are looked up separately: each must be an IOAS */
TEST_F(inputs, ioas_copy_bad_ids)
{

	for (unsigned int i = 0; i < ARRAY_SIZE(self->bad_ids); i++) {
		struct iommu_ioas_copy cmd = {
			.flags = MAP_FIXED_RW,
			.length = self->page,
			.src_iova = self->a_iova,
			.dst_iova = SCRATCH_IOVA,
		};

		cmd.src_ioas_id = self->bad_ids[i];
		cmd.dst_ioas_id = self->scratch;
		run_copy(_metadata, self, variant->mock_domain,
			 "bad source IOAS ID", cmd, ENOENT, ENOENT);
		cmd.src_ioas_id = self->ioas;
		cmd.dst_ioas_id = self->bad_ids[i];
		run_copy(_metadata, self, variant->mock_domain,
			 "bad destination IOAS ID", cmd, ENOENT, ENOENT);
	}
}

TEST_F(inputs, ioas_unmap)
{
	const unsigned long P = self->page;
	const __u64 A = self->a_iova, F = self->free_iova;
	const struct {
		const char *rule;
		__u64 iova, length;
		int err;
	} cases[] = {
		/*
		 * iopt_unmap_iova(): length 0 (iova 0 included: only
		 * length U64_MAX at iova 0 means "everything")
		 */
		{ "zero length", A, 0, EINVAL },
		{ "zero length at IOVA 0", 0, 0, EINVAL },
		/* iommufd_ioas_unmap(): iova or length >= ULONG_MAX */
		{ "iova U64_MAX", UINT64_MAX, P, EOVERFLOW },
		{ "length U64_MAX at a non-zero IOVA", P, UINT64_MAX, EOVERFLOW },
		/* iopt_unmap_iova(): iova + length - 1 wraps */
		{ "iova + length wraps", 2 * P, UINT64_MAX - P, EOVERFLOW },
		/* iommufd_ioas_unmap(): nothing unmapped */
		{ "nothing mapped in the range", F, FREE_LEN, ENOENT },
		/* iopt_unmap_iova_range(): areas are never split */
		{ "first half of a mapping", A, P, ENOENT },
		{ "second half of a mapping", A + P, P, ENOENT },
		{ "hole, then part of a mapping", A - P, 2 * P, ENOENT },
		{ "part of a mapping, then a hole", A + P, 2 * P, ENOENT },
		{ "one byte short of a mapping", A, self->a_len - 1, ENOENT },
	};
	__u64 unmapped = 0;

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		int got = ioas_unmap(self->fd, self->ioas, cases[i].iova,
				     cases[i].length, NULL);

		EXPECT_EQ(cases[i].err, got)
			TH_LOG("IOAS_UNMAP, %s: got %s, want %s", cases[i].rule,
			       errname(got), errname(cases[i].err));
		expect_unchanged(_metadata, self, cases[i].rule);
	}
	/* iommufd_get_ioas() */
	for (unsigned int i = 0; i < ARRAY_SIZE(self->bad_ids); i++) {
		EXPECT_REJECTED(ENOENT, ioas_unmap(self->fd, self->bad_ids[i],
						   self->a_iova, self->a_len,
						   NULL),
				"IOAS_UNMAP with a bad IOAS ID");
		EXPECT_REJECTED(ENOENT, ioas_unmap_all(self->fd,
						       self->bad_ids[i], NULL),
				"IOAS_UNMAP of everything with a bad IOAS ID");
	}

	/*
	 * The range need not be aligned, only contain whole areas: one byte
	 * of hole on each side still unmaps the mapping, and reports its
	 * exact length.
	 */
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas, A - 1, self->a_len + 2,
				&unmapped));
	EXPECT_EQ(self->a_len, unmapped);
	unmapped = 1;
	EXPECT_EQ(0, ioas_unmap_all(self->fd, self->ioas, &unmapped));
	EXPECT_EQ(0, unmapped);
}


TEST_F(inputs, ioas_alloc)
{
	/* iommufd_ioas_alloc_ioctl(): flags must be 0 */
	const __u32 flags[] = { 1, 1U << 3, 1U << 31, UINT32_MAX };

	for (unsigned int i = 0; i < ARRAY_SIZE(flags); i++) {
		struct iommu_ioas_alloc cmd = {
			.size = sizeof(cmd),
			.flags = flags[i],
		};

		EXPECT_REJECTED(EOPNOTSUPP,
				ioctl_errno(self->fd, IOMMU_IOAS_ALLOC, &cmd),
				"IOAS_ALLOC with unknown flags");
	}
}

TEST_F(inputs, ioas_iova_ranges)
{
	const __u64 R = self->resv_iova;
	const bool dom = variant->mock_domain;
	struct iommu_iova_range want[2], got[4], sentinel;
	struct iommu_ioas_iova_ranges cmd;
	void *hole = no_access_range(_metadata, self->page);
	void *ro = alloc_readonly(_metadata, self->page);
	__u64 alignment = 0;
	void *ro_cmd;
	__u32 n;

	/*
	 * iommufd_ioas_iova_ranges(): the holes of the reserved tree. Without
	 * a domain that is everything but the test reservation; the mock
	 * domain reserves everything outside its aperture.
	 */
	want[0].start = dom ? MOCK_APERTURE_START : 0;
	want[0].last = R - 1;
	want[1].start = R + self->resv_len;
	want[1].last = dom ? (__u64)MOCK_APERTURE_LAST : UINT64_MAX;
	memset(&sentinel, 0xee, sizeof(sentinel));

	memset(got, 0xee, sizeof(got));
	n = ARRAY_SIZE(got);
	ASSERT_EQ(0, ioas_iova_ranges(self->fd, self->ioas, got, &n,
				      &alignment));
	ASSERT_EQ(2, n);
	EXPECT_EQ(0, memcmp(want, got, sizeof(want)));
	EXPECT_EQ(0, memcmp(&sentinel, &got[2], sizeof(sentinel)));
	EXPECT_EQ(self->align, alignment);

	/* Too small an array: EMSGSIZE, the number needed, what fits */
	memset(got, 0xee, sizeof(got));
	n = 0;
	alignment = 0;
	EXPECT_REJECTED(EMSGSIZE, ioas_iova_ranges(self->fd, self->ioas, got,
						   &n, &alignment),
			"IOVA_RANGES into no room");
	EXPECT_EQ(2, n);
	EXPECT_EQ(self->align, alignment);
	EXPECT_EQ(0, memcmp(&sentinel, &got[0], sizeof(sentinel)));
	n = 0;
	EXPECT_REJECTED(EMSGSIZE, ioas_iova_ranges(self->fd, self->ioas, NULL,
						   &n, NULL),
			"IOVA_RANGES into no room, NULL array");
	EXPECT_EQ(2, n);
	n = 1;
	EXPECT_REJECTED(EMSGSIZE, ioas_iova_ranges(self->fd, self->ioas, got,
						   &n, NULL),
			"IOVA_RANGES into room for one range");
	EXPECT_EQ(2, n);
	EXPECT_EQ(0, memcmp(&want[0], &got[0], sizeof(want[0])));
	EXPECT_EQ(0, memcmp(&sentinel, &got[1], sizeof(sentinel)));

	/* An array the kernel cannot write */
	n = 2;
	EXPECT_REJECTED(EFAULT, ioas_iova_ranges(self->fd, self->ioas, hole,
						 &n, NULL),
			"IOVA_RANGES into inaccessible memory");
	n = 2;
	EXPECT_REJECTED(EFAULT, ioas_iova_ranges(self->fd, self->ioas, ro, &n,
						 NULL),
			"IOVA_RANGES into read-only memory");

	/* A command the kernel cannot write back */
	memset(&cmd, 0, sizeof(cmd));
	cmd.size = sizeof(cmd);
	cmd.ioas_id = self->ioas;
	ro_cmd = readonly_copy(_metadata, &cmd, sizeof(cmd));
	EXPECT_REJECTED(EFAULT, ioctl_errno(self->fd, IOMMU_IOAS_IOVA_RANGES,
					    ro_cmd),
			"IOVA_RANGES with a read-only command");
	munmap(ro_cmd, self->page);

	/* iommufd_ioas_iova_ranges(): __reserved */
	cmd.num_iovas = ARRAY_SIZE(got);
	cmd.allowed_iovas = (uintptr_t)got;
	cmd.__reserved = 1;
	EXPECT_REJECTED(EOPNOTSUPP, ioctl_errno(self->fd,
						IOMMU_IOAS_IOVA_RANGES, &cmd),
			"IOVA_RANGES with a non-zero __reserved");

	for (unsigned int i = 0; i < ARRAY_SIZE(self->bad_ids); i++) {
		n = ARRAY_SIZE(got);
		EXPECT_REJECTED(ENOENT, ioas_iova_ranges(self->fd,
							 self->bad_ids[i], got,
							 &n, NULL),
				"IOVA_RANGES with a bad IOAS ID");
	}
}

/* Automatic IOVA allocation lands inside [lo, last]: the allowed list. */
static void expect_auto_map_within(struct __test_metadata *_metadata,
				   FIXTURE_DATA(inputs) *self, __u64 lo,
				   __u64 last, const char *what)
{
	__u64 iova = 0;

	ASSERT_EQ(0, ioas_map_auto(self->fd, self->ioas, self->buf,
				   self->page, &iova))
		TH_LOG("%s: automatic MAP failed", what);
	EXPECT_LE(lo, iova) TH_LOG("%s: IOVA %#llx outside the allowed list",
				   what, (unsigned long long)iova);
	EXPECT_LE(iova + self->page - 1, last)
		TH_LOG("%s: IOVA %#llx outside the allowed list", what,
		       (unsigned long long)iova);
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas, iova, self->page, NULL));
}

TEST_F(inputs, ioas_allow_iovas)
{
	const unsigned long P = self->page;
	const __u64 F = self->free_iova, R = self->resv_iova;
	const __u64 A = self->a_iova;
	const bool dom = variant->mock_domain;
	const struct iommu_iova_range window = {
		.start = MOCK_APERTURE_START + 256 * P,
		.last = MOCK_APERTURE_START + 264 * P - 1,
	};
	struct iommu_iova_range *edge;
	struct iommu_ioas_allow_iovas cmd;
	void *hole = no_access_range(_metadata, P);
	char *two;
	const struct {
		const char *rule;
		struct iommu_iova_range r[2];
		__u32 num;
		int err;
		int err_dom;
	} cases[] = {
		/* iommufd_ioas_load_iovas(): start >= last is EINVAL */
		{ "start above last", { { F + P, F } }, 1, EINVAL, EINVAL },
		{ "start equal to last", { { F, F } }, 1, EINVAL, EINVAL },
		/* iommufd_ioas_load_iovas(): ranges of the list overlap */
		{ "overlapping ranges",
		  { { F, F + 2 * P - 1 }, { F + P, F + 3 * P - 1 } }, 2,
		  EINVAL, EINVAL },
		{ "good range, then a bad one",
		  { { F, F + P - 1 }, { F + 3 * P, F + 2 * P } }, 2,
		  EINVAL, EINVAL },
		/* iopt_set_allow_iova(): a range intersects a reservation */
		{ "range over a test reservation",
		  { { R - P, R } }, 1, EADDRINUSE, EADDRINUSE },
		{ "range below the mock aperture",
		  { { P, 2 * P - 1 } }, 1, 0, EADDRINUSE },
		/* Mappings do not matter: no check against areas */
		{ "range over an existing mapping",
		  { { A, A + self->a_len - 1 } }, 1, 0, 0 },
	};

	/* iommufd_ioas_allow_iovas() swaps the whole list in, or nothing */
	ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas, &window, 1));
	expect_auto_map_within(_metadata, self, window.start, window.last,
			       "allowed list set");

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		int want = dom ? cases[i].err_dom : cases[i].err;
		int got = ioas_allow_iovas(self->fd, self->ioas, cases[i].r,
					   cases[i].num);

		EXPECT_EQ(want, got)
			TH_LOG("ALLOW_IOVAS, %s: got %s, want %s",
			       cases[i].rule, errname(got), errname(want));
		if (!got) {
			ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas,
						      &window, 1));
		}
		expect_auto_map_within(_metadata, self, window.start,
				       window.last, cases[i].rule);
		expect_unchanged(_metadata, self, cases[i].rule);
	}

	/* The array is read in full before anything changes: EFAULT */
	EXPECT_REJECTED(EFAULT, ioas_allow_iovas(self->fd, self->ioas, hole, 1),
			"ALLOW_IOVAS from inaccessible memory");
	two = mmap(NULL, 2 * P, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, two);
	ASSERT_EQ(0, mprotect(two + P, P, PROT_NONE));
	edge = (void *)(two + P - sizeof(*edge));
	edge->start = F;
	edge->last = F + P - 1;
	EXPECT_REJECTED(EFAULT, ioas_allow_iovas(self->fd, self->ioas, edge, 2),
			"ALLOW_IOVAS, second range inaccessible");
	expect_auto_map_within(_metadata, self, window.start, window.last,
			       "inaccessible array");

	/* __reserved, and IDs (iommufd_get_ioas()) */
	memset(&cmd, 0, sizeof(cmd));
	cmd.size = sizeof(cmd);
	cmd.ioas_id = self->ioas;
	cmd.num_iovas = 1;
	cmd.allowed_iovas = (uintptr_t)edge;
	cmd.__reserved = 1;
	EXPECT_REJECTED(EOPNOTSUPP, ioctl_errno(self->fd,
						IOMMU_IOAS_ALLOW_IOVAS, &cmd),
			"ALLOW_IOVAS with a non-zero __reserved");
	for (unsigned int i = 0; i < ARRAY_SIZE(self->bad_ids); i++) {
		EXPECT_REJECTED(ENOENT, ioas_allow_iovas(self->fd,
							 self->bad_ids[i],
							 edge, 1),
				"ALLOW_IOVAS with a bad IOAS ID");
	}
	expect_auto_map_within(_metadata, self, window.start, window.last,
			       "bad __reserved and IDs");

	/* An empty list clears it */
	EXPECT_REJECTED(0, ioas_allow_iovas(self->fd, self->ioas, NULL, 0),
			"ALLOW_IOVAS clearing the list");
	munmap(two, 2 * P);
}

TEST_F(inputs, option)
{
	const bool dom = variant->mock_domain;
	struct iommu_option cmd;
	__u64 val, half_iova = 0;
	void *ro_cmd;

	/* iommufd_option(): __reserved, then an unknown option ID */
	memset(&cmd, 0, sizeof(cmd));
	cmd.size = sizeof(cmd);
	cmd.option_id = IOMMU_OPTION_RLIMIT_MODE;
	cmd.op = IOMMU_OPTION_OP_GET;
	cmd.__reserved = 1;
	EXPECT_REJECTED(EOPNOTSUPP, ioctl_errno(self->fd, IOMMU_OPTION, &cmd),
			"OPTION with a non-zero __reserved");
	val = 0;
	EXPECT_REJECTED(EOPNOTSUPP, option_op(self->fd, 2, IOMMU_OPTION_OP_GET,
					      0, &val),
			"OPTION 2");
	EXPECT_REJECTED(EOPNOTSUPP, option_op(self->fd, UINT32_MAX,
					      IOMMU_OPTION_OP_GET, self->ioas,
					      &val),
			"OPTION U32_MAX");

	/* iommufd_option_rlimit_mode(): global, object_id must be 0 */
	EXPECT_REJECTED(EOPNOTSUPP, option_op(self->fd,
					      IOMMU_OPTION_RLIMIT_MODE,
					      IOMMU_OPTION_OP_GET, self->ioas,
					      &val),
			"RLIMIT_MODE with an object_id");
	/* ... an unknown op */
	EXPECT_REJECTED(EOPNOTSUPP, option_op(self->fd,
					      IOMMU_OPTION_RLIMIT_MODE, 2, 0,
					      &val),
			"RLIMIT_MODE op 2");
	/* ... SET on a file that has objects: EBUSY, whatever the value */
	EXPECT_REJECTED(EBUSY, rlimit_mode_set(self->fd, 1),
			"RLIMIT_MODE SET 1 with objects");
	EXPECT_REJECTED(EBUSY, rlimit_mode_set(self->fd, 2),
			"RLIMIT_MODE SET 2 with objects");
	EXPECT_EQ(0, rlimit_mode_get(self->fd));

	/* iommufd_ioas_option(): HUGE_PAGES needs an IOAS (iommufd_get_ioas) */
	for (unsigned int i = 0; i < ARRAY_SIZE(self->bad_ids); i++) {
		val = 0;
		EXPECT_REJECTED(ENOENT, option_op(self->fd,
						  IOMMU_OPTION_HUGE_PAGES,
						  IOMMU_OPTION_OP_GET,
						  self->bad_ids[i], &val),
				"HUGE_PAGES GET with a bad IOAS ID");
		EXPECT_REJECTED(ENOENT, option_op(self->fd,
						  IOMMU_OPTION_HUGE_PAGES,
						  IOMMU_OPTION_OP_SET,
						  self->bad_ids[i], &val),
				"HUGE_PAGES SET with a bad IOAS ID");
	}
	/* iommufd_ioas_option_huge_pages(): unknown op, value not 0 or 1 */
	EXPECT_REJECTED(EOPNOTSUPP, option_op(self->fd,
					      IOMMU_OPTION_HUGE_PAGES, 2,
					      self->ioas, &val),
			"HUGE_PAGES op 2");
	val = 2;
	EXPECT_REJECTED(EINVAL, option_op(self->fd, IOMMU_OPTION_HUGE_PAGES,
					  IOMMU_OPTION_OP_SET, self->ioas,
					  &val),
			"HUGE_PAGES SET 2");
	val = 0;
	EXPECT_EQ(0, option_op(self->fd, IOMMU_OPTION_HUGE_PAGES,
			       IOMMU_OPTION_OP_GET, self->ioas, &val));
	EXPECT_EQ(1, val);

	/*
	 * iopt_disable_large_pages(): refused (EINVAL) while a domain holds
	 * mappings; without a domain it takes effect, raising the IOVA
	 * alignment to PAGE_SIZE until it is turned back on.
	 */
	val = 0;
	if (dom) {
		EXPECT_REJECTED(EINVAL, option_op(self->fd,
						  IOMMU_OPTION_HUGE_PAGES,
						  IOMMU_OPTION_OP_SET,
						  self->ioas, &val),
				"HUGE_PAGES SET 0 with a domain and mappings");
	} else {
		__u64 alignment = 0;
		__u32 n = 0;

		ASSERT_EQ(0, option_op(self->fd, IOMMU_OPTION_HUGE_PAGES,
				       IOMMU_OPTION_OP_SET, self->ioas, &val));
		EXPECT_EQ(EMSGSIZE, ioas_iova_ranges(self->fd, self->ioas, NULL,
						     &n, &alignment));
		EXPECT_EQ(self->page, alignment);
		EXPECT_EQ(EINVAL, ioas_map_flags(self->fd, self->ioas,
						 MAP_FIXED_RW, self->buf,
						 self->page / 2, &half_iova));
		val = 1;
		ASSERT_EQ(0, option_op(self->fd, IOMMU_OPTION_HUGE_PAGES,
				       IOMMU_OPTION_OP_SET, self->ioas, &val));
		expect_unchanged(_metadata, self, "HUGE_PAGES 0, then 1");
	}
	val = 0;
	EXPECT_EQ(0, option_op(self->fd, IOMMU_OPTION_HUGE_PAGES,
			       IOMMU_OPTION_OP_GET, self->ioas, &val));
	EXPECT_EQ(1, val);

	/* iommufd_option() writes val64 back: EFAULT if it cannot */
	memset(&cmd, 0, sizeof(cmd));
	cmd.size = sizeof(cmd);
	cmd.option_id = IOMMU_OPTION_HUGE_PAGES;
	cmd.op = IOMMU_OPTION_OP_GET;
	cmd.object_id = self->ioas;
	ro_cmd = readonly_copy(_metadata, &cmd, sizeof(cmd));
	EXPECT_REJECTED(EFAULT, ioctl_errno(self->fd, IOMMU_OPTION, ro_cmd),
			"OPTION GET with a read-only command");
	munmap(ro_cmd, self->page);
}

static int vfio_ioas_op(int fd, __u16 op, __u16 reserved, __u32 *ioas)
{
	struct iommu_vfio_ioas cmd = {
		.size = sizeof(cmd),
		.ioas_id = *ioas,
		.op = op,
		.__reserved = reserved,
	};
	int ret = ioctl_errno(fd, IOMMU_VFIO_IOAS, &cmd);

	if (!ret)
		*ioas = cmd.ioas_id;
	return ret;
}

/* The compat IOAS, or 0 if there is none (GET gives ENODEV) */
static __u32 vfio_ioas_get(struct __test_metadata *_metadata, int fd)
{
	__u32 id = 0;
	int ret = vfio_ioas_op(fd, IOMMU_VFIO_IOAS_GET, 0, &id);

	EXPECT_TRUE(ret == 0 || ret == ENODEV)
		TH_LOG("VFIO_IOAS GET: %s", errname(ret));
	return ret ? 0 : id;
}

/*
 * iommufd_vfio_ioas(): __reserved and unknown ops; SET looks the ID up as
 * an IOAS. A rejected call leaves the compat IOAS as it was (want).
 */
static void vfio_ioas_rejections(struct __test_metadata *_metadata,
				 FIXTURE_DATA(inputs) *self, __u32 want)
{
	__u32 id;

	id = self->scratch;
	EXPECT_REJECTED(EOPNOTSUPP, vfio_ioas_op(self->fd, IOMMU_VFIO_IOAS_SET,
						 1, &id),
			"VFIO_IOAS SET with a non-zero __reserved");
	EXPECT_REJECTED(EOPNOTSUPP, vfio_ioas_op(self->fd, 3, 0, &id),
			"VFIO_IOAS op 3");
	EXPECT_REJECTED(EOPNOTSUPP, vfio_ioas_op(self->fd, UINT16_MAX, 0, &id),
			"VFIO_IOAS op U16_MAX");
	for (unsigned int i = 0; i < ARRAY_SIZE(self->bad_ids); i++) {
		id = self->bad_ids[i];
		EXPECT_REJECTED(ENOENT, vfio_ioas_op(self->fd,
						     IOMMU_VFIO_IOAS_SET, 0,
						     &id),
				"VFIO_IOAS SET with a bad IOAS ID");
	}
	EXPECT_EQ(want, vfio_ioas_get(_metadata, self->fd));
}

TEST_F(inputs, vfio_ioas)
{
	struct iommu_vfio_ioas cmd;
	void *ro_cmd;
	__u32 id, tmp;

	/* get_compat_ioas(): no compat IOAS yet is ENODEV */
	id = 0;
	EXPECT_REJECTED(ENODEV, vfio_ioas_op(self->fd, IOMMU_VFIO_IOAS_GET, 0,
					     &id),
			"VFIO_IOAS GET with no compat IOAS");
	vfio_ioas_rejections(_metadata, self, 0);

	id = self->ioas;
	ASSERT_EQ(0, vfio_ioas_op(self->fd, IOMMU_VFIO_IOAS_SET, 0, &id));
	EXPECT_EQ(self->ioas, vfio_ioas_get(_metadata, self->fd));
	vfio_ioas_rejections(_metadata, self, self->ioas);

	/* GET writes ioas_id back: EFAULT if it cannot */
	memset(&cmd, 0, sizeof(cmd));
	cmd.size = sizeof(cmd);
	cmd.op = IOMMU_VFIO_IOAS_GET;
	ro_cmd = readonly_copy(_metadata, &cmd, sizeof(cmd));
	EXPECT_REJECTED(EFAULT, ioctl_errno(self->fd, IOMMU_VFIO_IOAS, ro_cmd),
			"VFIO_IOAS GET with a read-only command");
	munmap(ro_cmd, self->page);

	/* CLEAR forgets it, and may be repeated */
	id = 0;
	EXPECT_EQ(0, vfio_ioas_op(self->fd, IOMMU_VFIO_IOAS_CLEAR, 0, &id));
	EXPECT_EQ(0, vfio_ioas_get(_metadata, self->fd));
	EXPECT_EQ(0, vfio_ioas_op(self->fd, IOMMU_VFIO_IOAS_CLEAR, 0, &id));

	/* iommufd_object_remove(): destroying the compat IOAS unsets it */
	ASSERT_EQ(0, ioas_alloc(self->fd, &tmp));
	id = tmp;
	ASSERT_EQ(0, vfio_ioas_op(self->fd, IOMMU_VFIO_IOAS_SET, 0, &id));
	EXPECT_EQ(tmp, vfio_ioas_get(_metadata, self->fd));
	EXPECT_EQ(0, destroy_id(self->fd, tmp));
	EXPECT_EQ(0, vfio_ioas_get(_metadata, self->fd));
	expect_unchanged(_metadata, self, "VFIO_IOAS");
}

static void run_hwpt_alloc(struct __test_metadata *_metadata,
			   FIXTURE_DATA(inputs) *self, const char *rule,
			   struct iommu_hwpt_alloc cmd, int want)
{
	int got;

	cmd.size = sizeof(cmd);
	got = ioctl_errno(self->fd, IOMMU_HWPT_ALLOC, &cmd);
	EXPECT_EQ(want, got)
		TH_LOG("HWPT_ALLOC, %s: got %s, want %s", rule, errname(got),
		       errname(want));
	if (!got) {
		EXPECT_EQ(0, destroy_id(self->fd, cmd.out_hwpt_id));
	}
	expect_unchanged(_metadata, self, rule);
}

TEST_F(inputs, hwpt_alloc)
{
	const __u32 dev = self->dev_idev, pt = self->ioas;
	const __u32 bad_devs[] = { 0, NEVER_ID, self->ioas, self->dev_hwpt,
				   self->dev_stdev, self->other_idev,
				   self->other_ioas };
	const __u32 bad_pts[] = { 0, NEVER_ID, self->dev_idev, self->dev_stdev,
				  self->other_ioas, self->other_hwpt };
	char data[64] = {};
	const struct {
		const char *rule;
		struct iommu_hwpt_alloc cmd;
		int err;
	} cases[] = {
		/* the positive control: the rest only change one field */
		{ "valid", { .dev_id = dev, .pt_id = pt }, 0 },
		/* iommufd_hwpt_alloc(): __reserved */
		{ "non-zero __reserved",
		  { .dev_id = dev, .pt_id = pt, .__reserved = 1 }, EOPNOTSUPP },
		/*
		 * iommufd_hwpt_paging_alloc(): flags outside NEST_PARENT |
		 * DIRTY_TRACKING (FAULT_ID_VALID is one of them)
		 */
		{ "unknown flag bit 3",
		  { .flags = 1U << 3, .dev_id = dev, .pt_id = pt }, EOPNOTSUPP },
		{ "unknown flag bit 31",
		  { .flags = 1U << 31, .dev_id = dev, .pt_id = pt },
		  EOPNOTSUPP },
		{ "FAULT_ID_VALID on a paging HWPT",
		  { .flags = IOMMU_HWPT_FAULT_ID_VALID, .dev_id = dev,
		    .pt_id = pt }, EOPNOTSUPP },
		/* iommufd_hwpt_alloc(): data_len must be 0 exactly for NONE */
		{ "DATA_NONE with a data_len",
		  { .dev_id = dev, .pt_id = pt,
		    .data_type = IOMMU_HWPT_DATA_NONE, .data_len = 8,
		    .data_uptr = (uintptr_t)data }, EINVAL },
		{ "a data type with data_len 0",
		  { .dev_id = dev, .pt_id = pt,
		    .data_type = IOMMU_HWPT_DATA_VTD_S1,
		    .data_uptr = (uintptr_t)data }, EINVAL },
		/* mock domain_alloc_user(): no driver data for a paging HWPT */
		{ "driver data for a paging HWPT",
		  { .dev_id = dev, .pt_id = pt,
		    .data_type = IOMMU_HWPT_DATA_VTD_S1, .data_len = 24,
		    .data_uptr = (uintptr_t)data }, EOPNOTSUPP },
		/*
		 * iommufd_hwpt_nested_alloc(): a HWPT as pt_id means nesting,
		 * which needs driver data
		 */
		{ "pt_id of a paging HWPT without driver data",
		  { .dev_id = dev, .pt_id = self->dev_hwpt }, EOPNOTSUPP },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++)
		run_hwpt_alloc(_metadata, self, cases[i].rule, cases[i].cmd,
			       cases[i].err);

	/* iommufd_get_device(): dev_id must name a bound device */
	for (unsigned int i = 0; i < ARRAY_SIZE(bad_devs); i++) {
		struct iommu_hwpt_alloc cmd = { .dev_id = bad_devs[i],
						.pt_id = pt };

		run_hwpt_alloc(_metadata, self, "bad dev_id", cmd, ENOENT);
	}
	/*
	 * iommufd_hwpt_alloc(): a pt_id that is not an IOAS or HWPT, or no
	 * object at all, is EINVAL, not ENOENT
	 */
	for (unsigned int i = 0; i < ARRAY_SIZE(bad_pts); i++) {
		struct iommu_hwpt_alloc cmd = { .dev_id = dev,
						.pt_id = bad_pts[i] };

		run_hwpt_alloc(_metadata, self, "bad pt_id", cmd, EINVAL);
	}
}

TEST_F(inputs, get_hw_info)
{
	const __u32 bad_devs[] = { 0, NEVER_ID, self->ioas, self->dev_hwpt,
				   self->dev_stdev, self->other_idev,
				   self->other_ioas };
	struct iommu_test_hw_info *info;
	struct iommu_hw_info cmd;
	unsigned char data[16];
	void *hole = no_access_range(_metadata, self->page);
	void *ro_cmd;

#define HW_INFO(...) ((struct iommu_hw_info){ .size = sizeof(cmd), \
	.dev_id = self->dev_idev, __VA_ARGS__ })

	/* iommufd_get_hw_info(): flags and each __reserved byte */
	cmd = HW_INFO(.flags = 1);
	EXPECT_REJECTED(EOPNOTSUPP, ioctl_errno(self->fd, IOMMU_GET_HW_INFO,
						&cmd),
			"GET_HW_INFO with flags");
	for (unsigned int i = 0; i < 3; i++) {
		cmd = HW_INFO();
		cmd.__reserved[i] = 1;
		EXPECT_REJECTED(EOPNOTSUPP, ioctl_errno(self->fd,
							IOMMU_GET_HW_INFO,
							&cmd),
				"GET_HW_INFO with a non-zero __reserved byte");
	}
	/* iommufd_get_device() */
	for (unsigned int i = 0; i < ARRAY_SIZE(bad_devs); i++) {
		cmd = HW_INFO();
		cmd.dev_id = bad_devs[i];
		EXPECT_REJECTED(ENOENT, ioctl_errno(self->fd, IOMMU_GET_HW_INFO,
						    &cmd),
				"GET_HW_INFO with a bad dev_id");
	}
	/* the data buffer is written: EFAULT if it cannot be */
	cmd = HW_INFO(.data_len = sizeof(*info), .data_uptr = (uintptr_t)hole);
	EXPECT_REJECTED(EFAULT, ioctl_errno(self->fd, IOMMU_GET_HW_INFO, &cmd),
			"GET_HW_INFO into inaccessible memory");
	cmd = HW_INFO();
	ro_cmd = readonly_copy(_metadata, &cmd, sizeof(cmd));
	EXPECT_REJECTED(EFAULT, ioctl_errno(self->fd, IOMMU_GET_HW_INFO,
					    ro_cmd),
			"GET_HW_INFO with a read-only command");
	munmap(ro_cmd, self->page);

	/* data_len 0: nothing copied, data_len says what the driver has */
	memset(data, 0xff, sizeof(data));
	cmd = HW_INFO(.data_uptr = (uintptr_t)data);
	ASSERT_EQ(0, ioctl_errno(self->fd, IOMMU_GET_HW_INFO, &cmd));
	EXPECT_EQ(sizeof(*info), cmd.data_len);
	EXPECT_EQ(IOMMU_HW_INFO_TYPE_SELFTEST, cmd.out_data_type);
	EXPECT_EQ(0xff, data[0]);
	/* a short buffer gets what fits, nothing more */
	cmd = HW_INFO(.data_len = 4, .data_uptr = (uintptr_t)data);
	ASSERT_EQ(0, ioctl_errno(self->fd, IOMMU_GET_HW_INFO, &cmd));
	EXPECT_EQ(sizeof(*info), cmd.data_len);
	EXPECT_EQ(0, data[0] | data[1] | data[2] | data[3]);
	EXPECT_EQ(0xff, data[4]);
	/* a long one: the data, then zeros up to data_len */
	cmd = HW_INFO(.data_len = sizeof(data), .data_uptr = (uintptr_t)data);
	ASSERT_EQ(0, ioctl_errno(self->fd, IOMMU_GET_HW_INFO, &cmd));
	EXPECT_EQ(sizeof(*info), cmd.data_len);
	info = (void *)data;
	EXPECT_EQ(0, info->flags);
	EXPECT_EQ(IOMMU_HW_INFO_SELFTEST_REGVAL, info->test_reg);
	for (unsigned int i = sizeof(*info); i < sizeof(data); i++) {
		EXPECT_EQ(0, data[i]) TH_LOG("byte %u not cleared", i);
	}
#undef HW_INFO
	expect_unchanged(_metadata, self, "GET_HW_INFO");
}

TEST_F(inputs, hwpt_invalidate)
{
	const __u32 bad_hwpts[] = { 0, NEVER_ID, self->dev_hwpt, self->ioas,
				    self->dev_idev, self->dev_stdev,
				    self->other_hwpt, self->other_ioas };
	unsigned char entries[64] = {};
	struct iommu_hwpt_invalidate cmd;
	const struct {
		const char *rule;
		struct iommu_hwpt_invalidate cmd;
		int err;
	} cases[] = {
		/* iommufd_hwpt_invalidate(): __reserved */
		{ "non-zero __reserved",
		  { .hwpt_id = self->dev_hwpt, .data_uptr = (uintptr_t)entries,
		    .entry_len = 8, .entry_num = 1, .__reserved = 1 },
		  EOPNOTSUPP },
		/*
		 * iommufd_hwpt_invalidate(): with entries, a NULL array, a
		 * zero or above-PAGE_SIZE entry_len, or more than 2^19 entries
		 * (the last two are bounds of the Debian 6.12 tree)
		 */
		{ "entries without an array",
		  { .hwpt_id = self->dev_hwpt, .entry_len = 8,
		    .entry_num = 1 }, EINVAL },
		{ "entry_len 0",
		  { .hwpt_id = self->dev_hwpt, .data_uptr = (uintptr_t)entries,
		    .entry_num = 1 }, EINVAL },
		{ "entry_len above PAGE_SIZE",
		  { .hwpt_id = self->dev_hwpt, .data_uptr = (uintptr_t)entries,
		    .entry_len = psize() + 1, .entry_num = 1 }, EINVAL },
		{ "more than 2^19 entries",
		  { .hwpt_id = self->dev_hwpt, .data_uptr = (uintptr_t)entries,
		    .entry_len = 8, .entry_num = (1U << 19) + 1 }, EINVAL },
		/*
		 * iommufd_get_hwpt_nested(): only a nested HWPT has caches
		 * user space invalidates; a paging HWPT is ENOENT
		 */
		{ "paging HWPT, no entries",
		  { .hwpt_id = self->dev_hwpt }, ENOENT },
		{ "paging HWPT, one entry",
		  { .hwpt_id = self->dev_hwpt, .data_uptr = (uintptr_t)entries,
		    .entry_len = 8, .entry_num = 1 }, ENOENT },
	};

	/* On every failure entry_num is written back as 0 (none handled) */
	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		cmd = cases[i].cmd;
		cmd.size = sizeof(cmd);
		EXPECT_REJECTED(cases[i].err,
				ioctl_errno(self->fd, IOMMU_HWPT_INVALIDATE,
					    &cmd),
				cases[i].rule);
		EXPECT_EQ(0, cmd.entry_num)
			TH_LOG("HWPT_INVALIDATE, %s: entry_num %u written back",
			       cases[i].rule, cmd.entry_num);
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(bad_hwpts); i++) {
		memset(&cmd, 0, sizeof(cmd));
		cmd.size = sizeof(cmd);
		cmd.hwpt_id = bad_hwpts[i];
		EXPECT_REJECTED(ENOENT, ioctl_errno(self->fd,
						    IOMMU_HWPT_INVALIDATE,
						    &cmd),
				"HWPT_INVALIDATE with a bad hwpt_id");
	}
}

TEST_F(inputs, destroy)
{
	const __u32 missing[] = { 0, NEVER_ID, self->other_ioas,
				  self->other_hwpt, self->other_idev,
				  self->other_stdev };
	__u32 tmp;

	/* iommufd_object_remove(): no object (ID 0 is never one) */
	for (unsigned int i = 0; i < ARRAY_SIZE(missing); i++) {
		EXPECT_REJECTED(ENOENT, destroy_id(self->fd, missing[i]),
				"DESTROY of an ID this file does not have");
	}

	/*
	 * iommufd_object_remove(): another object holds a users reference:
	 * the bound (and attached) device, the HWPT it is attached to, the
	 * IOAS that HWPT maps.
	 */
	EXPECT_REJECTED(EBUSY, destroy_id(self->fd, self->dev_idev),
			"DESTROY of a bound device");
	EXPECT_REJECTED(EBUSY, destroy_id(self->fd, self->dev_hwpt),
			"DESTROY of a HWPT with a device");
	EXPECT_REJECTED(EBUSY, destroy_id(self->fd, self->dev_ioas),
			"DESTROY of an IOAS with a HWPT");
	if (variant->mock_domain) {
		EXPECT_REJECTED(EBUSY, destroy_id(self->fd, self->ioas),
				"DESTROY of the IOAS under test");
		EXPECT_REJECTED(EBUSY, destroy_id(self->fd, self->hwpt),
				"DESTROY of its HWPT");
		/* the refused HWPT still translates the known mapping */
		EXPECT_EQ(0, check_map(self->fd, self->hwpt, self->a_iova,
				       self->buf, self->a_len));
	}
	/* the refused device and HWPT still answer */
	EXPECT_EQ(0, hwpt_alloc(self->fd, self->dev_idev, self->scratch, 0,
				&tmp));
	EXPECT_EQ(0, destroy_id(self->fd, tmp));
	EXPECT_EQ(0, check_map(self->fd, self->dev_hwpt, MOCK_APERTURE_START,
			       self->buf, 0));

	/* an object goes once */
	ASSERT_EQ(0, ioas_alloc(self->fd, &tmp));
	EXPECT_EQ(0, destroy_id(self->fd, tmp));
	EXPECT_REJECTED(ENOENT, destroy_id(self->fd, tmp),
			"DESTROY of a destroyed object");
}

/* Every command, fed an unreadable argument: EFAULT (get_user of size) */
TEST_F(inputs, unreadable_arguments)
{
	const struct {
		const char *name;
		unsigned long cmd;
	} cmds[] = {
		{ "IOMMU_DESTROY", IOMMU_DESTROY },
		{ "IOMMU_IOAS_ALLOC", IOMMU_IOAS_ALLOC },
		{ "IOMMU_IOAS_ALLOW_IOVAS", IOMMU_IOAS_ALLOW_IOVAS },
		{ "IOMMU_IOAS_COPY", IOMMU_IOAS_COPY },
		{ "IOMMU_IOAS_IOVA_RANGES", IOMMU_IOAS_IOVA_RANGES },
		{ "IOMMU_IOAS_MAP", IOMMU_IOAS_MAP },
		{ "IOMMU_IOAS_UNMAP", IOMMU_IOAS_UNMAP },
		{ "IOMMU_OPTION", IOMMU_OPTION },
		{ "IOMMU_VFIO_IOAS", IOMMU_VFIO_IOAS },
		{ "IOMMU_HWPT_ALLOC", IOMMU_HWPT_ALLOC },
		{ "IOMMU_GET_HW_INFO", IOMMU_GET_HW_INFO },
		{ "IOMMU_HWPT_INVALIDATE", IOMMU_HWPT_INVALIDATE },
		{ "IOMMU_TEST_CMD", IOMMU_TEST_CMD },
	};
	void *hole = no_access_range(_metadata, self->page);

	for (unsigned int i = 0; i < ARRAY_SIZE(cmds); i++) {
		EXPECT_REJECTED(EFAULT, ioctl_errno(self->fd, cmds[i].cmd,
						    NULL),
				cmds[i].name);
		EXPECT_REJECTED(EFAULT, ioctl_errno(self->fd, cmds[i].cmd,
						    hole),
				cmds[i].name);
	}
}

/*
 * Commands that create an object and then fail to write its ID back undo
 * the creation (iommufd_object_abort_and_destroy() before finalize).
 */
TEST_F(inputs, unwritable_results_create_nothing)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_hwpt_alloc hwpt = {
		.size = sizeof(hwpt),
		.dev_id = self->dev_idev,
		.pt_id = self->ioas,
	};
	struct iommu_test_cmd mock = TEST_CMD(IOMMU_TEST_OP_MOCK_DOMAIN,
					      self->dev_ioas);
	struct iommu_test_cmd access = TEST_CMD(IOMMU_TEST_OP_CREATE_ACCESS,
						self->scratch);
	int probe;
	void *ro;

	ro = readonly_copy(_metadata, &alloc, sizeof(alloc));
	EXPECT_REJECTED(EFAULT, ioctl_errno(self->fd, IOMMU_IOAS_ALLOC, ro),
			"IOAS_ALLOC with a read-only command");
	munmap(ro, self->page);

	ro = readonly_copy(_metadata, &hwpt, sizeof(hwpt));
	EXPECT_REJECTED(EFAULT, ioctl_errno(self->fd, IOMMU_HWPT_ALLOC, ro),
			"HWPT_ALLOC with a read-only command");
	munmap(ro, self->page);

	ro = readonly_copy(_metadata, &mock, sizeof(mock));
	EXPECT_REJECTED(EFAULT, ioctl_errno(self->fd, IOMMU_TEST_CMD, ro),
			"MOCK_DOMAIN with a read-only command");
	munmap(ro, self->page);

	/* ... and no file descriptor is left behind for an access */
	probe = dup(0);
	ASSERT_LE(0, probe);
	close(probe);
	ro = readonly_copy(_metadata, &access, sizeof(access));
	EXPECT_REJECTED(EFAULT, ioctl_errno(self->fd, IOMMU_TEST_CMD, ro),
			"CREATE_ACCESS with a read-only command");
	munmap(ro, self->page);
	EXPECT_EQ(probe, dup(0)) TH_LOG("CREATE_ACCESS leaked an fd");
	close(probe);
}

static int test_cmd(int fd, struct iommu_test_cmd cmd)
{
	cmd.size = sizeof(cmd);
	return ioctl_errno(fd, IOMMU_TEST_CMD, &cmd);
}

TEST_F(inputs, test_cmd_ops_and_reservations)
{
	const unsigned long P = self->page;
	const struct iommu_iova_range window = {
		.start = MOCK_APERTURE_START + 256 * P,
		.last = MOCK_APERTURE_START + 264 * P - 1,
	};
	const __u32 ops[] = { 0, 1000, UINT32_MAX };
	struct iommu_test_cmd cmd;

	/*
	 * iommufd_test(): unknown ops. (It never reads __reserved, so a
	 * non-zero one is not tested.)
	 */
	for (unsigned int i = 0; i < ARRAY_SIZE(ops); i++) {
		cmd = (struct iommu_test_cmd)TEST_CMD(ops[i], self->ioas);
		EXPECT_REJECTED(EOPNOTSUPP, test_cmd(self->fd, cmd),
				"TEST_CMD with an unknown op");
	}

	/* iommufd_test_add_reserved(): zero length, wrap, then the IOAS */
	EXPECT_REJECTED(EINVAL, add_reserved(self->fd, self->ioas,
					     self->free_iova, 0),
			"ADD_RESERVED of zero length");
	EXPECT_REJECTED(EOVERFLOW, add_reserved(self->fd, self->ioas, -(__u64)P,
						2 * P),
			"ADD_RESERVED wrapping");
	for (unsigned int i = 0; i < ARRAY_SIZE(self->bad_ids); i++) {
		EXPECT_REJECTED(ENOENT, add_reserved(self->fd, self->bad_ids[i],
						     self->free_iova, P),
				"ADD_RESERVED with a bad IOAS ID");
	}
	/* iopt_reserve_iova(): over a mapping or an allowed range */
	EXPECT_REJECTED(EADDRINUSE, add_reserved(self->fd, self->ioas,
						 self->a_iova + self->a_len - 1,
						 P),
			"ADD_RESERVED over a mapping");
	ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas, &window, 1));
	EXPECT_REJECTED(EADDRINUSE, add_reserved(self->fd, self->ioas,
						 window.last, P),
			"ADD_RESERVED over an allowed range");
	ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas, NULL, 0));

	/* SET_TEMP_MEMORY_LIMIT: below one batch element is EINVAL */
	cmd = (struct iommu_test_cmd)TEST_CMD(
		IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT, 0);
	cmd.memory_limit.limit = 0;
	EXPECT_REJECTED(EINVAL, test_cmd(self->fd, cmd),
			"SET_TEMP_MEMORY_LIMIT 0");
	cmd.memory_limit.limit = sizeof(unsigned long) + sizeof(__u32) - 1;
	EXPECT_REJECTED(EINVAL, test_cmd(self->fd, cmd),
			"SET_TEMP_MEMORY_LIMIT below one element");
}

TEST_F(inputs, test_cmd_mock_devices)
{
	const __u32 missing[] = { 0, NEVER_ID, self->other_ioas,
				  self->other_hwpt };
	const __u32 not_pt[] = { self->dev_idev, self->dev_stdev };
	const __u32 not_stdev[] = { 0, self->dev_idev, self->dev_ioas,
				    self->dev_hwpt, self->other_stdev };
	struct iommu_test_cmd cmd;
	__u32 pt;

	/* iommufd_device_change_pt(): no such object, or not an IOAS/HWPT */
	for (unsigned int i = 0; i < ARRAY_SIZE(missing); i++) {
		EXPECT_REJECTED(ENOENT, mock_domain(self->fd, missing[i], NULL,
						    NULL, NULL),
				"MOCK_DOMAIN on an ID this file does not have");
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(not_pt); i++) {
		EXPECT_REJECTED(EINVAL, mock_domain(self->fd, not_pt[i], NULL,
						    NULL, NULL),
				"MOCK_DOMAIN on a device");
	}
	/* mock_dev_create(): unknown device flags */
	cmd = (struct iommu_test_cmd)TEST_CMD(IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS,
					      self->dev_ioas);
	cmd.mock_domain_flags.dev_flags = UNKNOWN_FLAG;
	EXPECT_REJECTED(EINVAL, test_cmd(self->fd, cmd),
			"MOCK_DOMAIN_FLAGS with unknown device flags");

	/*
	 * iommufd_test_mock_domain_replace(): the ID must be a mock device
	 * object; the target as for attach. The device stays where it was:
	 * its HWPT is still busy.
	 */
	for (unsigned int i = 0; i < ARRAY_SIZE(not_stdev); i++) {
		pt = self->scratch;
		EXPECT_REJECTED(ENOENT, mock_domain_replace(self->fd,
							    not_stdev[i], &pt),
				"MOCK_DOMAIN_REPLACE of no mock device");
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(missing); i++) {
		pt = missing[i];
		EXPECT_REJECTED(ENOENT, mock_domain_replace(self->fd,
							    self->dev_stdev,
							    &pt),
				"MOCK_DOMAIN_REPLACE to a missing ID");
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(not_pt); i++) {
		pt = not_pt[i];
		EXPECT_REJECTED(EINVAL, mock_domain_replace(self->fd,
							    self->dev_stdev,
							    &pt),
				"MOCK_DOMAIN_REPLACE to a device");
	}
	EXPECT_REJECTED(EBUSY, destroy_id(self->fd, self->dev_hwpt),
			"the device's HWPT after rejected replaces");
}

TEST_F(inputs, test_cmd_checks)
{
	const unsigned long P = self->page, M = mock_io_page();
	const __u64 A = self->a_iova;
	const bool dom = variant->mock_domain;
	const __u32 not_hwpt[] = { 0, NEVER_ID, self->ioas, self->dev_idev,
				   self->other_hwpt };
	void *hole = no_access_range(_metadata, 2 * P);
	char *buf = self->buf;

	/* iommufd_test_md_check_pa(): mock-page alignment of all three */
	EXPECT_REJECTED(EINVAL, check_map(self->fd, self->dev_hwpt, A + 1, buf,
					  M),
			"MD_CHECK_MAP, IOVA not aligned");
	EXPECT_REJECTED(EINVAL, check_map(self->fd, self->dev_hwpt, A, buf,
					  M + 1),
			"MD_CHECK_MAP, length not aligned");
	EXPECT_REJECTED(EINVAL, check_map(self->fd, self->dev_hwpt, A, buf + 1,
					  M),
			"MD_CHECK_MAP, uptr not aligned");
	/* ... then the ID must be a mock paging HWPT */
	for (unsigned int i = 0; i < ARRAY_SIZE(not_hwpt); i++) {
		EXPECT_REJECTED(ENOENT, check_map(self->fd, not_hwpt[i], A, buf,
						  M),
				"MD_CHECK_MAP of no HWPT");
	}
	/* ... an IOVA the HWPT does not translate is EINVAL */
	EXPECT_REJECTED(EINVAL, check_map(self->fd, self->dev_hwpt, A, buf, M),
			"MD_CHECK_MAP of an IOVA not mapped");
	if (dom) {
		EXPECT_EQ(0, check_map(self->fd, self->hwpt, A, buf,
				       self->a_len));
		EXPECT_REJECTED(EINVAL, check_map(self->fd, self->hwpt, A,
						  buf + self->a_len,
						  self->a_len),
				"MD_CHECK_MAP against other memory");
		EXPECT_REJECTED(EFAULT, check_map(self->fd, self->hwpt, A, hole,
						  self->a_len),
				"MD_CHECK_MAP against inaccessible memory");
	}

	/* iommufd_test_md_check_refs(): page alignment, wrap, then refs */
	EXPECT_REJECTED(EINVAL, check_refs(self->fd, buf + 1, P, 0),
			"MD_CHECK_REFS, uptr not aligned");
	EXPECT_REJECTED(EINVAL, check_refs(self->fd, buf, P + M, 0),
			"MD_CHECK_REFS, length not aligned");
	EXPECT_REJECTED(EINVAL, check_refs(self->fd, (void *)-(intptr_t)P,
					   2 * P, 0),
			"MD_CHECK_REFS wrapping");
	EXPECT_REJECTED(EFAULT, check_refs(self->fd, hole, P, 0),
			"MD_CHECK_REFS of inaccessible memory");
	/* the known mapping is pinned once with the domain, else not at all */
	EXPECT_EQ(0, check_refs(self->fd, buf, self->a_len, dom ? 1 : 0));
	EXPECT_REJECTED(EIO, check_refs(self->fd, buf, self->a_len,
					dom ? 0 : 1),
			"MD_CHECK_REFS with the wrong count");
	EXPECT_REJECTED(EIO, check_refs(self->fd, buf, self->a_len, 2),
			"MD_CHECK_REFS with count 2");
}

TEST_F(inputs, test_cmd_access)
{
	const unsigned long P = self->page;
	const __u64 base = MOCK_APERTURE_START, ro_iova = base + 8 * P;
	void *hole = no_access_range(_metadata, P);
	void *ro = alloc_readonly(_metadata, P);
	int access_fd, plain_fd, null_fd, probe;
	__u64 iova = ro_iova;
	__u32 acc_ioas, item;
	char bytes[64];

	/* iommufd_test_create_access(): flags, then the IOAS of the attach */
	probe = dup(0);
	ASSERT_LE(0, probe);
	close(probe);
	EXPECT_REJECTED(EOPNOTSUPP, create_access(self->fd, self->scratch,
						  1U << 1, &access_fd),
			"CREATE_ACCESS with unknown flags");
	for (unsigned int i = 0; i < ARRAY_SIZE(self->bad_ids); i++) {
		EXPECT_REJECTED(ENOENT, create_access(self->fd,
						      self->bad_ids[i], 0,
						      &access_fd),
				"CREATE_ACCESS on a bad IOAS ID");
	}
	EXPECT_EQ(probe, dup(0)) TH_LOG("CREATE_ACCESS leaked an fd");
	close(probe);

	/* An access on an IOAS of its own, with one RW and one RO mapping */
	ASSERT_EQ(0, ioas_alloc(self->fd, &acc_ioas));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, acc_ioas, base, self->buf,
				    2 * P));
	ASSERT_EQ(0, ioas_map_flags(self->fd, acc_ioas,
				    IOMMU_IOAS_MAP_FIXED_IOVA |
				    IOMMU_IOAS_MAP_READABLE, ro, P, &iova));
	ASSERT_EQ(0, create_access(self->fd, acc_ioas,
				   MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				   &access_fd));
	ASSERT_EQ(0, create_access(self->fd, acc_ioas, 0, &plain_fd));
	null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, null_fd);
	take_snapshot(_metadata, self, &self->snap);

	/* iommufd_test_access_pages(): length cap, flags, fd, pin support */
	EXPECT_REJECTED(ENOMEM, access_pages(self->fd, access_fd, 0, base,
					     (16 << 20) + 1, self->buf, &item),
			"ACCESS_PAGES above 16 MiB");
	EXPECT_REJECTED(EOPNOTSUPP, access_pages(self->fd, access_fd, 1U << 5,
						 base, P, self->buf, &item),
			"ACCESS_PAGES with unknown flags");
	EXPECT_REJECTED(EBADFD, access_pages(self->fd, -1, 0, base, P,
					     self->buf, &item),
			"ACCESS_PAGES through fd -1");
	EXPECT_REJECTED(EBADFD, access_pages(self->fd, self->fd, 0, base, P,
					     self->buf, &item),
			"ACCESS_PAGES through the iommu fd");
	EXPECT_REJECTED(EBADFD, access_pages(self->fd, null_fd, 0, base, P,
					     self->buf, &item),
			"ACCESS_PAGES through /dev/null");
	EXPECT_REJECTED(EOPNOTSUPP, access_pages(self->fd, plain_fd, 0, base,
						 P, self->buf, &item),
			"ACCESS_PAGES through an access that does not pin");
	/* iommufd_access_pin_pages(): zero length, wrap, unmapped, RO */
	EXPECT_REJECTED(EINVAL, access_pages(self->fd, access_fd, 0, base, 0,
					     self->buf, &item),
			"ACCESS_PAGES of zero length");
	EXPECT_REJECTED(EOVERFLOW, access_pages(self->fd, access_fd, 0,
						-(__u64)P, 2 * P, NULL, &item),
			"ACCESS_PAGES wrapping");
	EXPECT_REJECTED(ENOENT, access_pages(self->fd, access_fd, 0,
					     base + 4 * P, P, NULL, &item),
			"ACCESS_PAGES of an IOVA not mapped");
	EXPECT_REJECTED(ENOENT, access_pages(self->fd, access_fd, 0, base + P,
					     2 * P, NULL, &item),
			"ACCESS_PAGES running past a mapping");
	EXPECT_REJECTED(EPERM, access_pages(self->fd, access_fd,
					    MOCK_FLAGS_ACCESS_WRITE, ro_iova, P,
					    ro, &item),
			"ACCESS_PAGES for write of a read-only mapping");
	/* iommufd_test_check_pages(): the pages are not those at uptr */
	EXPECT_REJECTED(EBADE, access_pages(self->fd, access_fd, 0, base, P,
					    self->buf + P, &item),
			"ACCESS_PAGES against other memory");
	/* iommufd_test_access_item_destroy(): no such pin */
	EXPECT_REJECTED(ENOENT, access_pages_destroy(self->fd, access_fd,
						     12345),
			"DESTROY_ACCESS_PAGES of no pin");
	EXPECT_REJECTED(EBADFD, access_pages_destroy(self->fd, null_fd, 0),
			"DESTROY_ACCESS_PAGES through /dev/null");

	/* iommufd_test_access_rw() and iommufd_access_rw() */
	EXPECT_REJECTED(ENOMEM, access_rw(self->fd, access_fd, 0, base,
					  (16 << 20) + 1, bytes),
			"ACCESS_RW above 16 MiB");
	EXPECT_REJECTED(EOPNOTSUPP, access_rw(self->fd, access_fd, 1U << 5,
					      base, sizeof(bytes), bytes),
			"ACCESS_RW with unknown flags");
	EXPECT_REJECTED(EBADFD, access_rw(self->fd, null_fd, 0, base,
					  sizeof(bytes), bytes),
			"ACCESS_RW through /dev/null");
	EXPECT_REJECTED(EINVAL, access_rw(self->fd, access_fd, 0, base, 0,
					  bytes),
			"ACCESS_RW of zero length");
	EXPECT_REJECTED(EOVERFLOW, access_rw(self->fd, access_fd, 0,
					     -(__u64)16, sizeof(bytes), bytes),
			"ACCESS_RW wrapping");
	EXPECT_REJECTED(ENOENT, access_rw(self->fd, access_fd, 0, base + 4 * P,
					  sizeof(bytes), bytes),
			"ACCESS_RW of an IOVA not mapped");
	EXPECT_REJECTED(EFAULT, access_rw(self->fd, access_fd,
					  MOCK_ACCESS_RW_WRITE, base,
					  sizeof(bytes), hole),
			"ACCESS_RW write from inaccessible memory");
	EXPECT_REJECTED(EPERM, access_rw(self->fd, access_fd,
					 MOCK_ACCESS_RW_WRITE, ro_iova,
					 sizeof(bytes), bytes),
			"ACCESS_RW write to a read-only mapping");
	EXPECT_EQ(0, access_rw(self->fd, access_fd, 0, base, sizeof(bytes),
			       bytes));
	EXPECT_EQ(0, memcmp(bytes, self->buf, sizeof(bytes)));

	/*
	 * iommufd_access_replace(): the new IOAS is looked up as an IOAS;
	 * on failure the access stays on its IOAS
	 */
	for (unsigned int i = 0; i < ARRAY_SIZE(self->bad_ids); i++) {
		struct iommu_test_cmd cmd =
			TEST_CMD(IOMMU_TEST_OP_ACCESS_REPLACE_IOAS,
				 (__u32)access_fd);

		cmd.access_replace_ioas.ioas_id = self->bad_ids[i];
		EXPECT_REJECTED(ENOENT, test_cmd(self->fd, cmd),
				"ACCESS_REPLACE_IOAS to a bad IOAS ID");
	}
	EXPECT_EQ(0, access_rw(self->fd, access_fd, 0, base, sizeof(bytes),
			       bytes));

	close(null_fd);
	close(plain_fd);
	close(access_fd);
	EXPECT_EQ(0, destroy_id(self->fd, acc_ioas));
}

TEST_HARNESS_MAIN
