// SPDX-License-Identifier: GPL-2.0-only
/*
 * concurrency - MAP, COPY, UNMAP and IOVA_RANGES racing on one file.
 *
 * Workers, threads or processes sharing the file through fork(), loop for
 * a few seconds (or a fixed number of rounds, whichever ends first): MAP at
 * a fixed IOVA, COPY that into a second window (in the same IOAS or in the
 * other one), MAP at an automatic IOVA, read the IOVA ranges, then UNMAP all
 * three and check the byte counts. Each worker owns its windows, and
 * IOMMU_IOAS_ALLOW_IOVAS confines automatic IOVAs to a region no window
 * touches, so no error is legitimate here: EEXIST, ENOENT or EBUSY would
 * mean one worker saw another's half-made or half-removed mapping.
 *
 * Variants: one IOAS without a domain, one with a mock domain, two IOASes
 * each with a mock domain and copies crossing between them, the same with
 * processes, and with four threads; and two where one more thread keeps
 * attaching and destroying mock devices meanwhile, so domains are filled
 * and emptied while areas come and go (every mapping is page-aligned and
 * inside the mock aperture, so that cannot fail either). Afterwards every
 * IOAS is empty and the module-wide debugfs counters are back at their
 * baseline.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "iorp_test.h"

#define MAX_WORKERS	4
#define WINDOW_PAGES	8		/* a round maps 1..WINDOW_PAGES pages */
#define RUN_SECONDS	3.0
#define MAX_ROUNDS	20000UL
#define IOVA(mib) ((__u64)MOCK_APERTURE_START + ((__u64)(mib) << 20))
/* automatic IOVAs land here; worker windows are below IOVA(64) */
#define AUTO_START	IOVA(256)
#define AUTO_LAST	(IOVA(512) - 1)

struct worker {
	/* set up by the test */
	int fd;
	__u32 map_ioas, copy_ioas;
	__u64 map_iova, copy_iova;	/* this worker's windows */
	__u32 nranges;			/* what IOVA_RANGES must report */
	double deadline;
	/* results */
	unsigned long rounds;
	int err;			/* 0, or the errno of the first failure */
	unsigned long err_round;
	const char *err_op;
};

static void worker_fail(struct worker *w, const char *op, int err,
			unsigned long round)
{
	w->err = err;
	w->err_op = op;
	w->err_round = round;
}

/* One worker's loop; the first unexpected result ends it. */
static void *worker_run(void *arg)
{
	const unsigned long P = psize();
	struct worker *w = arg;
	unsigned long r;
	char *buf;

	buf = mmap(NULL, WINDOW_PAGES * P, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED) {
		worker_fail(w, "mmap", errno, 0);
		return NULL;
	}
	memset(buf, 0x3c, WINDOW_PAGES * P);

	for (r = 0; r < MAX_ROUNDS && now_seconds() < w->deadline; r++) {
		const __u64 len = (1 + r % WINDOW_PAGES) * P;
		struct iommu_iova_range ranges[4];
		__u64 auto_iova = 0, unmapped;
		__u32 n = 4;
		int err;

/* a call that must succeed */
#define STEP(op, call) do {						\
		err = (call);						\
		if (err) {						\
			worker_fail(w, op, err, r);			\
			goto out;					\
		}							\
	} while (0)
/* an UNMAP that must remove exactly len bytes */
#define UNMAP_STEP(op, ioas, iova) do {					\
		unmapped = 0;						\
		STEP(op, ioas_unmap(w->fd, ioas, iova, len, &unmapped)); \
		if (unmapped != len) {					\
			worker_fail(w, op " (byte count)", EIO, r);	\
			goto out;					\
		}							\
	} while (0)

		STEP("MAP", ioas_map_fixed(w->fd, w->map_ioas, w->map_iova,
					   buf, len));
		STEP("COPY", ioas_copy_fixed(w->fd, w->copy_ioas, w->copy_iova,
					     w->map_ioas, w->map_iova, len));
		STEP("automatic MAP", ioas_map_auto(w->fd, w->map_ioas, buf,
						    len, &auto_iova));
		if (auto_iova < AUTO_START || auto_iova + len - 1 > AUTO_LAST) {
			worker_fail(w, "automatic MAP outside the allowed list",
				    ERANGE, r);
			goto out;
		}
		STEP("IOVA_RANGES", ioas_iova_ranges(w->fd, w->map_ioas,
						     ranges, &n, NULL));
		if (n != w->nranges) {
			worker_fail(w, "IOVA_RANGES (count)", EIO, r);
			goto out;
		}
		UNMAP_STEP("UNMAP of the copy", w->copy_ioas, w->copy_iova);
		UNMAP_STEP("UNMAP of the automatic IOVA", w->map_ioas,
			   auto_iova);
		UNMAP_STEP("UNMAP", w->map_ioas, w->map_iova);
#undef UNMAP_STEP
#undef STEP
	}
out:
	w->rounds = r;
	munmap(buf, WINDOW_PAGES * P);
	return NULL;
}

/* Attaches a mock device to each IOAS in turn and destroys it again. */
struct churn {
	int fd;
	__u32 ioas[2];
	unsigned int nioas;
	double deadline;
	unsigned long rounds;
	int err;
	unsigned long err_round;
	const char *err_op;
};

static void *churn_run(void *arg)
{
	struct churn *c = arg;
	unsigned long r;

	for (r = 0; r < MAX_ROUNDS && now_seconds() < c->deadline; r++) {
		__u32 stdev;

		c->err = mock_domain(c->fd, c->ioas[r % c->nioas], &stdev,
				     NULL, NULL);
		if (c->err) {
			c->err_op = "MOCK_DOMAIN";
			break;
		}
		c->err = destroy_id(c->fd, stdev);
		if (c->err) {
			c->err_op = "DESTROY of the mock device";
			break;
		}
	}
	c->err_round = r;
	c->rounds = r;
	return NULL;
}

FIXTURE(race)
{
	int fd;
	__u32 ioas[2];
	unsigned int nioas;
	__u32 nranges[2];
	struct worker *workers;	/* MAP_SHARED: processes write results */
	uint64_t base_pinned, base_objects, base_vmpin;
};

FIXTURE_VARIANT(race)
{
	unsigned int workers;
	bool processes;
	bool mock_domain;
	bool two_ioas;
	bool domain_churn;
};

FIXTURE_VARIANT_ADD(race, threads_one_ioas_no_domain)
{
	.workers = 2,
	.processes = false,
	.mock_domain = false,
	.two_ioas = false,
};

FIXTURE_VARIANT_ADD(race, threads_one_ioas_mock_domain)
{
	.workers = 2,
	.processes = false,
	.mock_domain = true,
	.two_ioas = false,
};

FIXTURE_VARIANT_ADD(race, threads_two_ioas_mock_domains)
{
	.workers = 2,
	.processes = false,
	.mock_domain = true,
	.two_ioas = true,
};

FIXTURE_VARIANT_ADD(race, processes_one_ioas_mock_domain)
{
	.workers = 2,
	.processes = true,
	.mock_domain = true,
	.two_ioas = false,
};

FIXTURE_VARIANT_ADD(race, processes_two_ioas_mock_domains)
{
	.workers = 2,
	.processes = true,
	.mock_domain = true,
	.two_ioas = true,
};

FIXTURE_VARIANT_ADD(race, four_threads_two_ioas_mock_domains)
{
	.workers = 4,
	.processes = false,
	.mock_domain = true,
	.two_ioas = true,
};

FIXTURE_SETUP(race)
{
	const struct iommu_iova_range auto_region = {
		.start = AUTO_START,
		.last = AUTO_LAST,
	};

	ASSERT_GE(MAX_WORKERS, variant->workers);
	self->base_pinned = pinned_pages();
	self->base_objects = live_objects();
	self->base_vmpin = vm_pinned();
	self->workers = mmap(NULL, MAX_WORKERS * sizeof(struct worker),
			     PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->workers);

	self->fd = open_dev();
	ASSERT_LE(0, self->fd);
	self->nioas = variant->two_ioas ? 2 : 1;
	for (unsigned int i = 0; i < self->nioas; i++) {
		ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas[i]));
		if (variant->mock_domain) {
			ASSERT_EQ(0, mock_domain(self->fd, self->ioas[i], NULL,
						 NULL, NULL));
		}
		ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas[i],
					      &auto_region, 1));
		self->nranges[i] = 0;
		ASSERT_EQ(EMSGSIZE, ioas_iova_ranges(self->fd, self->ioas[i],
						     NULL, &self->nranges[i],
						     NULL));
	}
}

FIXTURE_TEARDOWN(race)
{
	if (self->fd >= 0)
		close(self->fd);
	munmap(self->workers, MAX_WORKERS * sizeof(struct worker));
}

FIXTURE_VARIANT_ADD(race, threads_one_ioas_domain_churn)
{
	.workers = 2,
	.processes = false,
	.mock_domain = false,
	.two_ioas = false,
	.domain_churn = true,
};

FIXTURE_VARIANT_ADD(race, threads_two_ioas_mock_domains_domain_churn)
{
	.workers = 2,
	.processes = false,
	.mock_domain = true,
	.two_ioas = true,
	.domain_churn = true,
};

TEST_F_TIMEOUT(race, map_copy_unmap, 120)
{
	const double deadline = now_seconds() + RUN_SECONDS;
	pthread_t threads[MAX_WORKERS];
	pid_t pids[MAX_WORKERS];
	struct churn churn = {
		.fd = self->fd,
		.ioas = { self->ioas[0], self->ioas[1] },
		.nioas = self->nioas,
		.deadline = deadline,
	};
	pthread_t churn_thread;
	__u64 unmapped;

	for (unsigned int i = 0; i < variant->workers; i++) {
		struct worker *w = &self->workers[i];

		memset(w, 0, sizeof(*w));
		w->fd = self->fd;
		w->map_ioas = self->ioas[i % self->nioas];
		w->copy_ioas = self->ioas[(i + 1) % self->nioas];
		w->nranges = self->nranges[i % self->nioas];
		/* even MiBs for fixed MAPs, odd ones for COPY destinations */
		w->map_iova = IOVA(2 * i);
		w->copy_iova = IOVA(2 * i + 1);
		w->deadline = deadline;
	}

	if (variant->domain_churn) {
		ASSERT_EQ(0, pthread_create(&churn_thread, NULL, churn_run,
					    &churn));
	}
	/* worker 0 runs here; the others in threads or child processes */
	for (unsigned int i = 1; i < variant->workers; i++) {
		struct worker *w = &self->workers[i];

		if (variant->processes) {
			pids[i] = fork();
			ASSERT_LE(0, pids[i]);
			if (pids[i] == 0) {
				worker_run(w);
				_exit(0);
			}
		} else {
			ASSERT_EQ(0, pthread_create(&threads[i], NULL,
						    worker_run, w));
		}
	}
	worker_run(&self->workers[0]);
	for (unsigned int i = 1; i < variant->workers; i++) {
		if (variant->processes) {
			int status = -1;

			EXPECT_EQ(pids[i], waitpid(pids[i], &status, 0));
			EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
				TH_LOG("worker %u process ended badly", i);
		} else {
			EXPECT_EQ(0, pthread_join(threads[i], NULL));
		}
	}

	if (variant->domain_churn) {
		EXPECT_EQ(0, pthread_join(churn_thread, NULL));
		EXPECT_EQ(0, churn.err)
			TH_LOG("domain churn: %s failed with %s in round %lu",
			       churn.err_op, errname(churn.err),
			       churn.err_round);
		EXPECT_LT(0, churn.rounds);
		TH_LOG("domain churn: %lu rounds", churn.rounds);
	}
	for (unsigned int i = 0; i < variant->workers; i++) {
		struct worker *w = &self->workers[i];

		EXPECT_EQ(0, w->err)
			TH_LOG("worker %u: %s failed with %s in round %lu", i,
			       w->err_op, errname(w->err), w->err_round);
		EXPECT_LT(0, w->rounds) TH_LOG("worker %u never ran", i);
		TH_LOG("worker %u: %lu rounds", i, w->rounds);
	}

	/* every worker cleaned up after itself: the IOASes are empty */
	for (unsigned int i = 0; i < self->nioas; i++) {
		unmapped = 1;
		EXPECT_EQ(0, ioas_unmap_all(self->fd, self->ioas[i],
					    &unmapped));
		EXPECT_EQ(0, unmapped) TH_LOG("IOAS %u still maps bytes", i);
	}
	EXPECT_EQ(self->base_pinned, pinned_pages());
	EXPECT_EQ(self->base_vmpin, vm_pinned());
	close(self->fd);
	self->fd = -1;
	EXPECT_EQ(self->base_objects, live_objects());
	EXPECT_EQ(self->base_pinned, pinned_pages());
}

/*
 * An access pinning through one thread while another keeps moving the
 * access between two IOASes mapping the same page: every pin made in the
 * old IOAS must be dropped by the move (the test driver's unmap callback),
 * never left behind. The fuzzer first found this race; the kernel's warning
 * ("access driver kept a pin after unmap") is what fails the lane.
 */
struct pin_vs_replace {
	int fd, access;
	char *buf;
	volatile int stop;
	unsigned long pins, bad;
};

static void *pin_loop(void *arg)
{
	struct pin_vs_replace *r = arg;
	__u32 item;

	while (!r->stop) {
		int ret = access_pages(r->fd, r->access, MOCK_FLAGS_ACCESS_WRITE,
				       MOCK_APERTURE_START, psize(), r->buf,
				       &item);

		if (!ret) {
			r->pins++;
			/* the move may already have dropped it: ENOENT */
			ret = access_pages_destroy(r->fd, r->access, item);
			if (ret && ret != ENOENT)
				r->bad++;
		} else if (ret != ENOENT && ret != EINVAL) {
			r->bad++;
		}
	}
	return NULL;
}

TEST(access_pin_races_replace)
{
	struct pin_vs_replace r = {};
	__u32 ioas[2];
	unsigned long moves = 0;
	double end = now_seconds() + 3;
	pthread_t thread;

	r.buf = alloc_buffer(_metadata, psize());
	r.fd = open_dev();
	ASSERT_LE(0, r.fd);
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(0, ioas_alloc(r.fd, &ioas[i]));
		ASSERT_EQ(0, ioas_map_fixed(r.fd, ioas[i], MOCK_APERTURE_START,
					    r.buf, psize()));
	}
	ASSERT_EQ(0, create_access(r.fd, ioas[0],
				   MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				   &r.access));
	ASSERT_EQ(0, pthread_create(&thread, NULL, pin_loop, &r));
	while (now_seconds() < end) {
		struct iommu_test_cmd cmd =
			TEST_CMD(IOMMU_TEST_OP_ACCESS_REPLACE_IOAS, r.access);

		cmd.access_replace_ioas.ioas_id = ioas[++moves % 2];
		EXPECT_EQ(0, ioctl_errno(r.fd, IOMMU_TEST_CMD, &cmd));
	}
	r.stop = 1;
	ASSERT_EQ(0, pthread_join(thread, NULL));
	EXPECT_EQ(0, r.bad);
	EXPECT_LT(0, r.pins);
	TH_LOG("%lu moves, %lu pins", moves, r.pins);
	close(r.access);
	close(r.fd);
	EXPECT_EQ(0, pinned_pages());
}

/*
 * Two mock devices share an automatic HWPT and are destroyed by two threads
 * at once while a third keeps trying IOMMU_DESTROY on the HWPT's ID: the
 * last detach frees the HWPT exactly once, whoever gets there (a use after
 * free here was found by KASAN on the debug kernel).
 */
struct last_detach {
	int fd;
	__u32 id;
	int ret;
};

static void *destroy_one(void *arg)
{
	struct last_detach *d = arg;

	d->ret = destroy_id(d->fd, d->id);
	return NULL;
}

TEST(auto_hwpt_last_detach_races_destroy)
{
	double end = now_seconds() + 3;
	unsigned long rounds = 0;
	__u32 ioas;
	char *buf;
	int fd;

	buf = alloc_buffer(_metadata, psize());
	fd = open_dev();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioas_alloc(fd, &ioas));
	ASSERT_EQ(0, ioas_map_fixed(fd, ioas, MOCK_APERTURE_START, buf,
				    psize()));
	while (now_seconds() < end) {
		struct last_detach devs[2] = { { .fd = fd }, { .fd = fd } };
		pthread_t threads[2];
		__u32 hwpt, hwpt2;
		int ret;

		ASSERT_EQ(0, mock_domain(fd, ioas, &devs[0].id, &hwpt, NULL));
		ASSERT_EQ(0, mock_domain(fd, ioas, &devs[1].id, &hwpt2, NULL));
		ASSERT_EQ(hwpt, hwpt2);	/* the automatic HWPT is shared */
		for (int i = 0; i < 2; i++)
			ASSERT_EQ(0, pthread_create(&threads[i], NULL,
						    destroy_one, &devs[i]));
		do {
			ret = destroy_id(fd, hwpt);
		} while (ret == EBUSY);
		/* freed by the last detach: gone, never destroyed by us */
		EXPECT_EQ(ENOENT, ret);
		for (int i = 0; i < 2; i++) {
			ASSERT_EQ(0, pthread_join(threads[i], NULL));
			EXPECT_EQ(0, devs[i].ret);
		}
		rounds++;
	}
	TH_LOG("%lu rounds", rounds);
	ASSERT_EQ(0, destroy_id(fd, ioas));
	close(fd);
	EXPECT_EQ(0, pinned_pages());
}

/*
 * An attach that reuses an automatic HWPT holds it while it tries. If the
 * HWPT's last device leaves meanwhile and the attach then fails, the attach
 * holds the last reference: it must destroy the HWPT, or the HWPT stays
 * with no device, keeping its IOAS busy. The attach is held at the moment
 * it took the HWPT (pause point "auto_hwpt") and made to fail afterwards.
 */
struct reuse_attach {
	int fd;
	__u32 ioas;
	int ret;
};

static void *attach_new_mock(void *arg)
{
	struct reuse_attach *r = arg;

	r->ret = mock_domain(r->fd, r->ioas, NULL, NULL, NULL);
	return NULL;
}

TEST(failed_auto_hwpt_reuse_leaves_no_orphan)
{
	struct reuse_attach r = {};
	uint64_t objects = live_objects();
	__u32 first, hwpt;
	pthread_t thread;
	char *buf;

	buf = alloc_buffer(_metadata, psize());
	r.fd = open_dev();
	ASSERT_LE(0, r.fd);
	ASSERT_EQ(0, ioas_alloc(r.fd, &r.ioas));
	ASSERT_EQ(0, ioas_map_fixed(r.fd, r.ioas, MOCK_APERTURE_START, buf,
				    psize()));
	ASSERT_EQ(0, mock_domain(r.fd, r.ioas, &first, &hwpt, NULL));

	pause_arm(_metadata, "auto_hwpt", 1);
	ASSERT_EQ(0, pthread_create(&thread, NULL, attach_new_mock, &r));
	ASSERT_TRUE(pause_reached(_metadata, "auto_hwpt", 20));
	/* the HWPT's only device leaves; the paused attach still holds it */
	EXPECT_EQ(0, destroy_id(r.fd, first));
	fault_arm(_metadata, "mock_attach", 1);
	pause_release("auto_hwpt");
	ASSERT_EQ(0, pthread_join(thread, NULL));
	fault_arm(_metadata, "mock_attach", 0);
	EXPECT_EQ(EIO, r.ret);

	/* the failed attach destroyed the HWPT it was left holding */
	EXPECT_EQ(ENOENT, destroy_id(r.fd, hwpt))
		TH_LOG("the automatic HWPT outlived its last device");
	EXPECT_EQ(0, destroy_id(r.fd, r.ioas));
	close(r.fd);
	EXPECT_EQ(objects, live_objects());
	EXPECT_EQ(0, pinned_pages());
}

/*
 * An automatic HWPT the driver refuses for a new device (EINVAL, nothing
 * changed: VT-d refuses a snoop-enforced domain behind an IOMMU without
 * snoop control) is passed over, as iommufd does: the device gets an
 * automatic HWPT of its own instead of the attach failing.
 */
TEST(incompatible_auto_hwpt_is_passed_over)
{
	uint64_t objects = live_objects();
	__u32 ioas, first, hwpt, second, other;
	char *buf;
	int fd;

	buf = alloc_buffer(_metadata, psize());
	fd = open_dev();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioas_alloc(fd, &ioas));
	ASSERT_EQ(0, ioas_map_fixed(fd, ioas, MOCK_APERTURE_START, buf, psize()));
	ASSERT_EQ(0, mock_domain(fd, ioas, &first, &hwpt, NULL));

	fault_arm(_metadata, "mock_incompatible", 1);
	EXPECT_EQ(0, mock_domain(fd, ioas, &second, &other, NULL));
	fault_arm(_metadata, "mock_incompatible", 0);
	EXPECT_NE(hwpt, other);

	/* the refused HWPT is untouched: its device leaves, it goes */
	EXPECT_EQ(0, destroy_id(fd, first));
	EXPECT_EQ(ENOENT, destroy_id(fd, hwpt));
	EXPECT_EQ(0, destroy_id(fd, second));
	EXPECT_EQ(ENOENT, destroy_id(fd, other));
	EXPECT_EQ(0, destroy_id(fd, ioas));
	close(fd);
	EXPECT_EQ(objects, live_objects());
	EXPECT_EQ(0, pinned_pages());
}

TEST_HARNESS_MAIN
