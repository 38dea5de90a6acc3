// SPDX-License-Identifier: GPL-2.0-only
/*
 * bounds - calls whose work a caller chooses by its arguments: they finish
 * in time proportional to that work (no quadratic walks), and SIGKILL ends
 * them early.
 *
 * IOMMU_IOAS_ALLOW_IOVAS with four million disjoint ranges, given in an
 * order the kernel cannot take advantage of, must be accepted; one
 * overlapping pair among them must be found; and a process killed in the
 * middle of such a call must die long before the call would have finished.
 * COPY over a hundred thousand areas and UNMAP of all of them must finish
 * too. Each call runs in a child process, so a call that never returns
 * shows up as a failure with its time, not as a hung suite.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "iorp_test.h"

#define MANY_RANGES	(4UL << 20)
#define MANY_AREAS	100000UL
/* a call that needs longer than this is reported as not finishing */
#define CALL_DEADLINE	300.0

/*
 * MANY_RANGES disjoint one-page ranges, every other page from IOVA 4 GiB,
 * in a scrambled order (a stride coprime to the count).
 */
static struct iommu_iova_range *many_ranges(struct __test_metadata *_metadata,
					    unsigned long n)
{
	const __u64 P = psize(), base = 1ULL << 32;
	struct iommu_iova_range *r;

	r = mmap(NULL, n * sizeof(*r), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, r);
	for (unsigned long i = 0; i < n; i++) {
		unsigned long k = (i * 2654435761UL) % n;

		r[i].start = base + 2 * k * P;
		r[i].last = r[i].start + P - 1;
	}
	return r;
}

/*
 * Run fn in a child; the child's exit status is fn's errno (0 for
 * success). Returns it, or -1 if the child did not finish by the deadline
 * (it is then killed) or died of a signal. *seconds is how long it took.
 */
static int in_child(int (*fn)(void *arg), void *arg, double *seconds)
{
	double start = now_seconds();
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid)
		_exit(fn(arg));
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (now_seconds() - start > CALL_DEADLINE) {
			kill(pid, SIGKILL);
			*seconds = now_seconds() - start;
			return -1;
		}
		usleep(10000);
	}
	*seconds = now_seconds() - start;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

struct allow_call {
	int fd;
	__u32 ioas;
	struct iommu_iova_range *ranges;
	unsigned long n;
	int ready;		/* pipe: the child writes a byte before the call */
};

static int allow_call_run(void *arg)
{
	struct allow_call *c = arg;

	if (c->ready >= 0 && write(c->ready, "x", 1) != 1)
		return EIO;
	return ioas_allow_iovas(c->fd, c->ioas, c->ranges, c->n);
}

FIXTURE(bounds)
{
	int fd;
	__u32 ioas;
};

FIXTURE_SETUP(bounds)
{
	self->fd = open_dev();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas));
}

FIXTURE_TEARDOWN(bounds)
{
	close(self->fd);
}

TEST_F_TIMEOUT(bounds, allow_iovas_four_million_ranges, 900)
{
	struct allow_call c = {
		.fd = self->fd,
		.ioas = self->ioas,
		.n = MANY_RANGES,
		.ready = -1,
	};
	const __u64 P = psize();
	char *buf = alloc_buffer(_metadata, P);
	struct iommu_iova_range usable;
	double seconds;
	__u32 n = 1;
	__u64 iova;
	int ret;

	c.ranges = many_ranges(_metadata, c.n);
	ret = in_child(allow_call_run, &c, &seconds);
	TH_LOG("ALLOW_IOVAS with %lu ranges: %.1f s", c.n, seconds);
	ASSERT_EQ(0, ret) TH_LOG("ALLOW_IOVAS with %lu ranges: %s after %.0f s",
				 c.n, ret < 0 ? "did not finish" : errname(ret),
				 seconds);

	/* automatic IOVA now lands in the lowest allowed range */
	ASSERT_EQ(0, ioas_map_auto(self->fd, self->ioas, buf, P, &iova));
	EXPECT_EQ(1ULL << 32, iova);
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas, iova, P, NULL));

	/*
	 * A list that would move automatic IOVA lower (its first range is
	 * below all the others) but whose last range repeats another: refused,
	 * and the old list stays.
	 */
	c.ranges[0].start = 1ULL << 31;
	c.ranges[0].last = c.ranges[0].start + P - 1;
	c.ranges[c.n - 1] = c.ranges[1];
	ret = in_child(allow_call_run, &c, &seconds);
	TH_LOG("ALLOW_IOVAS with an overlap among %lu ranges: %.1f s", c.n,
	       seconds);
	EXPECT_EQ(EINVAL, ret);
	EXPECT_EQ(0, ioas_iova_ranges(self->fd, self->ioas, &usable, &n, NULL));
	ASSERT_EQ(0, ioas_map_auto(self->fd, self->ioas, buf, P, &iova));
	EXPECT_EQ(1ULL << 32, iova) TH_LOG("the refused list replaced the old");
	munmap(c.ranges, c.n * sizeof(*c.ranges));
}

/*
 * A process killed during the call dies at once: compared with the time
 * the whole call takes, the time from SIGKILL to the process's end is
 * small (the call checks for a fatal signal as it goes). The kill comes a
 * tenth into the call, so a call that did not check would run on for
 * nine tenths of it; the bound is half, which leaves the exit itself
 * (tearing down the child's 64 MiB of ranges, slow in a loaded TCG guest:
 * 1.04 s of a 3.2 s call was seen) room without hiding a missing check.
 */
TEST_F_TIMEOUT(bounds, allow_iovas_killable, 900)
{
	struct allow_call c = {
		.fd = self->fd,
		.ioas = self->ioas,
		.n = MANY_RANGES,
	};
	double whole, start, after_kill;
	int pipefd[2], status;
	char byte;
	pid_t pid;
	int ret;

	c.ranges = many_ranges(_metadata, c.n);
	c.ready = -1;
	ret = in_child(allow_call_run, &c, &whole);
	ASSERT_EQ(0, ret) TH_LOG("the whole call: %s after %.0f s",
				 ret < 0 ? "did not finish" : errname(ret), whole);

	ASSERT_EQ(0, pipe(pipefd));
	c.ready = pipefd[1];
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(allow_call_run(&c));
	close(pipefd[1]);
	ASSERT_EQ(1, read(pipefd[0], &byte, 1));
	close(pipefd[0]);
	/* well inside the call */
	usleep(whole * 1e6 / 10);
	start = now_seconds();
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, WNOHANG) == 0 &&
	       now_seconds() - start < CALL_DEADLINE)
		usleep(1000);
	after_kill = now_seconds() - start;
	TH_LOG("whole call %.2f s, SIGKILL to exit %.3f s", whole, after_kill);
	EXPECT_LT(after_kill * 2, whole)
		TH_LOG("the call ran on after SIGKILL");
	if (after_kill >= CALL_DEADLINE)
		waitpid(pid, &status, 0);
	munmap(c.ranges, c.n * sizeof(*c.ranges));
}

struct many_areas {
	int fd;
	unsigned long n;	/* areas */
	__u32 src, dst;
	double *seconds;	/* shared with the parent: the COPY's time */
};

/* COPY one range covering all n areas, then UNMAP everything. */
static int copy_then_unmap(void *arg)
{
	struct many_areas *m = arg;
	const __u64 len = m->n * psize();
	__u64 unmapped = 0;
	double start = now_seconds();
	int ret;

	ret = ioas_copy_fixed(m->fd, m->dst, MOCK_APERTURE_START, m->src,
			      MOCK_APERTURE_START, len);
	*m->seconds = now_seconds() - start;
	if (ret)
		return ret;
	ret = ioas_unmap_all(m->fd, m->dst, &unmapped);
	if (ret)
		return ret;
	ret = ioas_unmap_all(m->fd, m->src, &unmapped);
	if (ret)
		return ret;
	return unmapped == len ? 0 : EIO;
}

/* n one-page areas, then a COPY of all of them; returns the COPY's time */
static double copy_of_areas(struct __test_metadata *_metadata, int fd,
			    unsigned long n, char *buf)
{
	double *shared = mmap(NULL, sizeof(double), PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct many_areas m = { .fd = fd, .n = n, .seconds = shared };
	const __u64 P = psize();
	double seconds, copy;
	int ret;

	ASSERT_NE(MAP_FAILED, shared);
	ASSERT_EQ(0, ioas_alloc(fd, &m.src));
	ASSERT_EQ(0, ioas_alloc(fd, &m.dst));
	for (unsigned long i = 0; i < n; i++)
		ASSERT_EQ(0, ioas_map_fixed(fd, m.src,
					    MOCK_APERTURE_START + i * P, buf, P));
	ret = in_child(copy_then_unmap, &m, &seconds);
	copy = *shared;
	TH_LOG("COPY of %lu areas: %.2f s (with both UNMAPs: %.1f s)", n, copy,
	       seconds);
	EXPECT_EQ(0, ret) TH_LOG("%s after %.0f s",
				 ret < 0 ? "did not finish" : errname(ret),
				 seconds);
	munmap(shared, sizeof(double));
	return copy;
}

/*
 * COPY's cost is linear in the areas it covers: five times as many take
 * nowhere near twenty-five times as long (a reallocation per area made it
 * quadratic once).
 */
TEST_F_TIMEOUT(bounds, copy_and_unmap_of_many_areas, 900)
{
	char *buf = alloc_buffer(_metadata, psize());
	double small, large;

	small = copy_of_areas(_metadata, self->fd, MANY_AREAS / 5, buf);
	large = copy_of_areas(_metadata, self->fd, MANY_AREAS, buf);
	EXPECT_LT(large, 12 * small + 0.5)
		TH_LOG("5x the areas took %.0fx the time", large / small);
}

TEST_HARNESS_MAIN
