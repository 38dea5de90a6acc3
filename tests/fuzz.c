// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz - random, structure-aware sequences of every ioctl of
 * /dev/iommu-replace and every IOMMU_TEST_CMD operation, over several open
 * files, access fds, threads and processes, with files, access fds and user
 * memory going away in the middle.
 *
 * The kernel is the main oracle: the lanes run on kernels that report
 * lockdep, KASAN, kmemleak and WARN splats, and the runner fails a lane on
 * any of them. The program itself asserts only what always holds:
 *
 *  - every ioctl succeeds or fails with an errno of the documented set
 *    (EBADF only when the file was closed under the call or on purpose);
 *  - a few outputs that cannot be otherwise: new IDs are non-zero 31-bit
 *    numbers, MAP at a fixed IOVA answers that IOVA, UNMAP never removes
 *    more than the range, IOVA_RANGES reports ordered ranges and a power of
 *    two alignment;
 *  - after the test closed everything it tracks, the process has no fd
 *    left open (else the fuzzer lost one, and the next check could not
 *    hold) and the module's debugfs counters (contexts, objects, accesses,
 *    pinned_pages) are back at their values from before it.
 *
 * A failure is reported with the seed, the test, the thread or child, the
 * operation number, the command, the struct as sent and the last results.
 *
 * Structure: each open file has pools of the IDs the kernel returned (IOAS,
 * HWPT, bound device, mock device) and of its recent mappings; commands
 * mostly take IDs from those pools, IOVAs in a small window of the mock
 * aperture aligned to the mock IO page, and user memory from a few buffers,
 * with edge values mixed in: 0, ~0, unaligned values, huge lengths, bad
 * pointers, unknown flags, stale and foreign IDs, and wrong struct sizes
 * (too small, larger with a zero or non-zero tail). The argument struct
 * itself is sometimes read-only, cut by an unmapped page, or not there at
 * all, so the "cannot write the answer back" paths run as well.
 *
 * Chaos: files are closed and reopened, access fds closed, buffers replaced
 * by new memory, by an inaccessible mapping or zapped while they are mapped
 * and pinned; in the "forks" test a child runs a burst on the inherited fds
 * and then exits after closing them, exits with them open, or is killed
 * with SIGKILL by the parent in the middle. Devices: a real PCI device (an
 * edu alone in its iommu group, where the guest has an IOMMU) is bound,
 * attached, replaced, detached and unbound like the mock ones, and is
 * hot-unplugged through sysfs and rescanned at any moment. ALLOW_IOVAS
 * now and then gets a list of up to HUGE_RANGES ranges.
 *
 * Memory safety of the fuzzer: every user pointer given to the kernel lies
 * in one reserved address range (the buffers, with inaccessible gaps and a
 * 32 MiB inaccessible tail) or in the per-thread argument pages, or is a
 * pointer no mapping of this process can be at (NULL with less than 32 KiB,
 * above 2^47, a kernel address); huge lengths go only with the latter. The
 * reserved range is never unmapped, only remapped, so memory the kernel may
 * write to through an IOVA or an ACCESS_RW is always the fuzzer's own.
 *
 * Bounds: IORP_FUZZ_SECONDS (default 20) is the budget of the whole
 * program, split evenly across the three tests; IORP_FUZZ_OPS (default 10
 * million) caps the operations of each test; IORP_FUZZ_SEED (decimal or
 * 0x-hex; default: from the clock) seeds everything and is printed first.
 * One PRNG stream per thread and child, derived from the seed: the
 * single_thread test replays the same calls from the seed (run it alone
 * with "fuzz -t single_thread", and IORP_FUZZ_OPS to stop at the failing
 * operation); threads and forks replay up to the interleaving. Memory
 * stays bounded: at most 4 MiB of buffers are mapped at once, files are
 * closed and reopened every few hundred operations. Each test's harness
 * timeout is its budget plus a margin, and an alarm() a little earlier
 * reports a hang with the seed.
 *
 * Needs root, debugfs, and the test flavour of iommu_replace; uses threads
 * (link with -pthread).
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "iorp_test.h"

/* --- configuration ---------------------------------------------------------- */

#define DEFAULT_SECONDS		20.0
#define DEFAULT_OPS		10000000UL
#define NR_TESTS		3	/* the budget is split across them */
#define TIMEOUT_MARGIN		60	/* harness timeout: budget + this */
#define ALARM_MARGIN		40	/* our own safety alarm: budget + this */

#define MAX_CTX			3	/* open /dev/iommu-replace files */
#define MAX_ACC			6	/* open access fds */
#define MAX_IDS			12	/* remembered IDs per kind per file */
#define MAX_MAPS		16	/* remembered mappings per file */
#define MAX_ITEMS		8	/* remembered ACCESS_PAGES per access */
#define MAX_STALE		16	/* destroyed IDs and closed fd numbers */
#define NR_THREADS		4
#define MAX_CHILDREN		3
#define CHILD_MAX_OPS		400
#define CHILD_SECONDS		1.5
#define CHILD_GRACE		10.0	/* then a child counts as hung */
#define CHILD_ALARM		15	/* a child's own safety alarm */
#define LAST_OPS		8	/* recent operations shown in a report */
#define HUGE_RANGES		(256U << 10)	/* the longest ALLOW_IOVAS list */

/*
 * The buffer region: a 64 KiB inaccessible head, NBUF buffers of BUF_LEN
 * separated by inaccessible gaps, one 2 MiB-aligned huge buffer (hugetlb
 * if the system has huge pages, else transparent huge pages), and an
 * inaccessible tail of TAIL_GUARD: a region pointer plus any length the
 * fuzzer pairs with it stays inside the region.
 */
#define NBUF			8
#define BUF_LEN			(256UL << 10)
#define BUF_GAP			(64UL << 10)
#define REGION_HEAD		(64UL << 10)
#define HUGE_LEN		(2UL << 20)
#define TAIL_GUARD		(32UL << 20)
/*
 * The region starts on this boundary: automatic IOVAs keep the alignment
 * of the user address (as upstream, for huge pages), so with a fixed
 * alignment a seed replays the same IOVAs whatever ASLR did.
 */
#define REGION_ALIGN		(16UL << 20)

/* Argument pages of a fuzzer: A read-write, B read-only, C and D none */
#define ARG_PAGES		4
#define ARG_MAX			256	/* bytes of a struct we build */
#define ARR_OFFSET		1024	/* arrays of ranges, hw info data */
#define ARR_END			3968	/* leaves room for a cut struct */

/* The IOVA window most commands aim at: inside the mock aperture */
#define WIN_START		((__u64)MOCK_APERTURE_START)
#define WIN_LEN			(4ULL << 20)
#define APERTURE_END		((__u64)MOCK_APERTURE_LAST + 1)

/* Pointers no mapping of this process can be at, with any length */
#define FAR_VA			(1ULL << 47)
#define KERNEL_VA		0xffff888000000000ULL

enum { MODE_SINGLE = 1, MODE_THREADS, MODE_FORKS };
static const char *const mode_names[] = {
	[MODE_SINGLE] = "single_thread",
	[MODE_THREADS] = "threads",
	[MODE_FORKS] = "forks",
};

static struct {
	bool loaded;
	double seconds;		/* the whole program */
	uint64_t seed;
	bool seed_given;
	unsigned long max_ops;	/* per test */
} cfg;

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Read the environment once, in the harness process, before any test. */
static void config_load(void)
{
	const char *s;
	char *end;

	if (cfg.loaded)
		return;
	cfg.loaded = true;
	cfg.seconds = DEFAULT_SECONDS;
	cfg.max_ops = DEFAULT_OPS;
	s = getenv("IORP_FUZZ_SECONDS");
	if (s && *s) {
		double v = strtod(s, &end);

		if (end != s && v > 0 && v < 1e6)
			cfg.seconds = v;
	}
	s = getenv("IORP_FUZZ_OPS");
	if (s && *s) {
		unsigned long v = strtoul(s, &end, 0);

		if (end != s && v)
			cfg.max_ops = v;
	}
	s = getenv("IORP_FUZZ_SEED");
	if (s && *s) {
		cfg.seed = strtoull(s, &end, 0);
		cfg.seed_given = end != s;
	}
	if (!cfg.seed_given) {
		struct timespec ts;
		uint64_t x;

		clock_gettime(CLOCK_REALTIME, &ts);
		x = (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
		x ^= (uint64_t)getpid() << 40;
		cfg.seed = splitmix(&x);
	}
}

static double test_seconds(void)
{
	double s;

	config_load();
	s = cfg.seconds / NR_TESTS;
	return s < 1 ? 1 : s;
}

/* The harness timeout of each test, evaluated when the test registers. */
static int fuzz_timeout(void)
{
	return (int)test_seconds() + TIMEOUT_MARGIN;
}

/* --- operations --------------------------------------------------------------- */

enum {
	OP_DESTROY, OP_IOAS_ALLOC, OP_IOAS_MAP, OP_IOAS_UNMAP,
	OP_IOAS_UNMAP_ALL, OP_IOAS_COPY, OP_IOVA_RANGES, OP_ALLOW_IOVAS,
	OP_OPTION, OP_VFIO_IOAS, OP_HWPT_ALLOC, OP_GET_HW_INFO,
	OP_HWPT_INVALIDATE, OP_ADD_RESERVED, OP_MOCK_DOMAIN,
	OP_MOCK_DOMAIN_FLAGS, OP_MOCK_REPLACE, OP_CHECK_MAP, OP_CHECK_REFS,
	OP_CREATE_ACCESS, OP_ACCESS_PAGES, OP_DESTROY_ACCESS_PAGES,
	OP_ACCESS_RW, OP_ACCESS_REPLACE_IOAS, OP_TEMP_LIMIT, OP_TEST_OTHER,
	OP_RAW, OP_OPEN, OP_CLOSE, OP_CLOSE_ACCESS, OP_BUFFER, OP_FORK,
	OP_DEV_BIND, OP_DEV_ATTACH, OP_DEV_DETACH, OP_DEV_UNBIND, OP_UNPLUG,
	NR_OPS
};

static const struct {
	const char *name;
	unsigned int weight;
} ops[NR_OPS] = {
	[OP_DESTROY] = { "DESTROY", 6 },
	[OP_IOAS_ALLOC] = { "IOAS_ALLOC", 5 },
	[OP_IOAS_MAP] = { "IOAS_MAP", 14 },
	[OP_IOAS_UNMAP] = { "IOAS_UNMAP", 8 },
	[OP_IOAS_UNMAP_ALL] = { "IOAS_UNMAP(all)", 2 },
	[OP_IOAS_COPY] = { "IOAS_COPY", 6 },
	[OP_IOVA_RANGES] = { "IOAS_IOVA_RANGES", 3 },
	[OP_ALLOW_IOVAS] = { "IOAS_ALLOW_IOVAS", 2 },
	[OP_OPTION] = { "OPTION", 2 },
	[OP_VFIO_IOAS] = { "VFIO_IOAS", 1 },
	[OP_HWPT_ALLOC] = { "HWPT_ALLOC", 3 },
	[OP_GET_HW_INFO] = { "GET_HW_INFO", 2 },
	[OP_HWPT_INVALIDATE] = { "HWPT_INVALIDATE", 1 },
	[OP_ADD_RESERVED] = { "T:ADD_RESERVED", 1 },
	[OP_MOCK_DOMAIN] = { "T:MOCK_DOMAIN", 5 },
	[OP_MOCK_DOMAIN_FLAGS] = { "T:MOCK_DOMAIN_FLAGS", 2 },
	[OP_MOCK_REPLACE] = { "T:MOCK_DOMAIN_REPLACE", 4 },
	[OP_CHECK_MAP] = { "T:MD_CHECK_MAP", 3 },
	[OP_CHECK_REFS] = { "T:MD_CHECK_REFS", 2 },
	[OP_CREATE_ACCESS] = { "T:CREATE_ACCESS", 4 },
	[OP_ACCESS_PAGES] = { "T:ACCESS_PAGES", 5 },
	[OP_DESTROY_ACCESS_PAGES] = { "T:DESTROY_ACCESS_PAGES", 3 },
	[OP_ACCESS_RW] = { "T:ACCESS_RW", 5 },
	[OP_ACCESS_REPLACE_IOAS] = { "T:ACCESS_REPLACE_IOAS", 2 },
	[OP_TEMP_LIMIT] = { "T:SET_TEMP_MEMORY_LIMIT", 1 },
	[OP_TEST_OTHER] = { "T:other op", 1 },
	[OP_RAW] = { "unknown ioctl", 1 },
	[OP_OPEN] = { "open", 1 },
	[OP_CLOSE] = { "close", 1 },
	[OP_CLOSE_ACCESS] = { "close access fd", 1 },
	[OP_BUFFER] = { "buffer remap/zap", 3 },
	[OP_FORK] = { "fork", 1 },
	[OP_DEV_BIND] = { "DEVICE_BIND", 2 },
	[OP_DEV_ATTACH] = { "DEVICE_ATTACH", 4 },
	[OP_DEV_DETACH] = { "DEVICE_DETACH", 2 },
	[OP_DEV_UNBIND] = { "DEVICE_UNBIND", 1 },
	[OP_UNPLUG] = { "PCI remove/rescan", 1 },
};

/* The errnos a call may fail with; EDEADLOCK is EDEADLK on x86. */
static const int allowed_errnos[] = {
	ENOTTY, E2BIG, EOPNOTSUPP, EINVAL, ENOENT, ENOMEM, EOVERFLOW, EBUSY,
	EEXIST, EFAULT, EADDRINUSE, ENOSPC, EPERM, EMSGSIZE, ENODEV, EBADFD,
	EBADE, EIO, EDEADLOCK, EBADF,
};
#define NR_ALLOWED	(sizeof(allowed_errnos) / sizeof(allowed_errnos[0]))
#define RES_OTHER	(NR_ALLOWED + 1)
#define NR_RES		(NR_ALLOWED + 2)	/* 0: success */

/* --- state -------------------------------------------------------------------- */

enum { K_IOAS, K_HWPT, K_IDEV, K_STDEV, NR_KINDS };

struct maprec {
	__u32 ioas;		/* 0: unused */
	__u64 iova, len, va;
};

struct ctx_slot {
	int fd;			/* -1: free */
	unsigned int gen;	/* bumped at every open and close */
	bool fresh;		/* nothing created yet: RLIMIT_MODE may be set */
	__u32 ids[NR_KINDS][MAX_IDS];
	unsigned int nids[NR_KINDS];
	struct maprec maps[MAX_MAPS];
	unsigned int nmaps;	/* ever added; the ring holds the last ones */
	struct {
		__u32 hwpt, ioas;
	} domains[MAX_IDS];	/* HWPTs a mock device got on an IOAS */
	unsigned int ndomains;
};

struct acc_slot {
	int fd;			/* -1: free */
	unsigned int gen;
	int ctx;		/* the file it was created on... */
	unsigned int ctx_gen;	/* ...while that slot had this generation */
	__u32 ioas;
	__u32 items[MAX_ITEMS];
	unsigned int nitems;
};

enum { BK_NONE, BK_ANON, BK_SHARED, BK_RDONLY, BK_HUGETLB, BK_THP };

struct buf_slot {
	char *addr;
	size_t len;
	int kind;
};

struct child {
	pid_t pid;		/* 0: free */
	unsigned int no;
	int fate;
	bool killed;
	double kill_at;		/* 0: not to be killed */
	double hung_at;
};

enum { FATE_CLEAN, FATE_OPEN, FATE_KILL };
static const char *const fate_names[] = {
	[FATE_CLEAN] = "closes its fds and exits",
	[FATE_OPEN] = "exits with its fds open",
	[FATE_KILL] = "is killed",
};

/* Shared with every child: what they did and the first failure. */
struct shared {
	int failed;
	int stop;
	unsigned long ops;	/* every fuzzer, children included */
	unsigned long child_ops;
	unsigned long forks;
	uint64_t count[NR_OPS][NR_RES];
	char report[3072];
};

struct world {
	pthread_mutex_t lock;	/* everything below, in threads mode */
	int mode;
	uint64_t seed;
	unsigned long max_ops;
	unsigned long ticket;	/* operations started, all threads */
	double deadline;
	struct shared *sh;

	struct ctx_slot ctx[MAX_CTX];
	unsigned int nopen;
	struct acc_slot acc[MAX_ACC];
	__u32 stale_ids[MAX_STALE];
	unsigned int nstale_ids;
	int stale_fds[MAX_STALE];
	unsigned int nstale_fds;

	char *region;		/* its head: REGION_HEAD inaccessible bytes */
	struct iommu_iova_range *huge_ranges;	/* HUGE_RANGES, disjoint */
	struct buf_slot buf[NBUF + 1];	/* buf[NBUF]: the huge one */
	bool hugetlb;

	struct child children[MAX_CHILDREN];
	unsigned int nforks;
};

struct fuzzer {
	struct world *w;
	uint64_t rng;
	char who[24];
	char *arg;		/* ARG_PAGES pages */
	bool child;
	unsigned long op_no;	/* the operation under way */
	unsigned long done;
	unsigned long max_ops;	/* children only */
	double deadline;
	struct {
		unsigned char op;
		unsigned char res;
	} last[LAST_OPS];
	unsigned int nlast;
};

/* One ioctl: built under the lock, fired without it. */
union args {
	__u32 size;
	struct iommu_destroy destroy;
	struct iommu_ioas_alloc ioas_alloc;
	struct iommu_ioas_map map;
	struct iommu_ioas_unmap unmap;
	struct iommu_ioas_copy copy;
	struct iommu_ioas_iova_ranges ranges;
	struct iommu_ioas_allow_iovas allow;
	struct iommu_option option;
	struct iommu_vfio_ioas vfio;
	struct iommu_hwpt_alloc hwpt;
	struct iommu_hw_info info;
	struct iommu_hwpt_invalidate inv;
	struct iommu_test_cmd test;
	struct iommu_replace_device_bind bind;
	struct iommu_replace_device_attach attach;
	struct iommu_replace_device_detach detach;
	struct iommu_replace_device_unbind unbind;
	unsigned char bytes[ARG_MAX];
	__u32 words[ARG_MAX / 4];
};

enum { PL_NORMAL, PL_RDONLY, PL_CUT, PL_NULL, PL_FAR };
static const char *const place_names[] = {
	[PL_NORMAL] = "in place",
	[PL_RDONLY] = "read-only",
	[PL_CUT] = "cut by an unmapped page",
	[PL_NULL] = "NULL",
	[PL_FAR] = "unmapped",
};

struct call {
	int op;
	int ctx;		/* the file's slot */
	unsigned int ctx_gen;
	int fd;
	bool fd_stale;		/* a closed fd number, on purpose */
	bool ebadf_ok;		/* an argument is a bad fd, on purpose */
	unsigned long nr;
	size_t ksize;		/* size of the kernel's struct */
	union args a;		/* the struct; after the call, its outputs */
	union args in;		/* the struct as sent, for reports */
	int place;
	int err;
	bool out;		/* succeeded in place: the outputs are in a */
};

/* --- PRNG: xorshift64*, one stream per fuzzer ----------------------------------- */

static uint64_t stream_seed(uint64_t seed, int mode, unsigned int stream)
{
	uint64_t x = seed ^ ((uint64_t)mode << 56) ^ ((uint64_t)stream << 32);
	uint64_t s = splitmix(&x);

	return s ? s : 1;
}

static uint64_t rnd(struct fuzzer *f)
{
	uint64_t x = f->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	f->rng = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/* 0 .. n - 1 */
static uint32_t below(struct fuzzer *f, uint32_t n)
{
	return (uint32_t)(((rnd(f) >> 32) * (uint64_t)n) >> 32);
}

static bool pct(struct fuzzer *f, unsigned int p)
{
	return below(f, 100) < p;
}

#define PICK(f, arr) ((arr)[below((f), sizeof(arr) / sizeof((arr)[0]))])

/* --- reports ---------------------------------------------------------------- */

static void lock(struct fuzzer *f)
{
	pthread_mutex_lock(&f->w->lock);
}

static void unlock(struct fuzzer *f)
{
	pthread_mutex_unlock(&f->w->lock);
}

static unsigned int result_index(int err)
{
	unsigned int i;

	if (!err)
		return 0;
	for (i = 0; i < NR_ALLOWED; i++)
		if (allowed_errnos[i] == err)
			return i + 1;
	return RES_OTHER;
}

static const char *result_name(unsigned int res)
{
	if (!res)
		return "ok";
	if (res == RES_OTHER)
		return "other";
	return errname(allowed_errnos[res - 1]);
}

#define APPEND(p, end, ...) do {					\
	int __n = snprintf((p), (end) - (p), __VA_ARGS__);		\
	(p) += __n < 0 ? 0 : (__n < (end) - (p) ? __n : (end) - (p) - 1); \
} while (0)

/*
 * Record the first failure of the test, from any thread or child, and stop
 * every fuzzer. c is the call that failed, or NULL.
 */
static void fail(struct fuzzer *f, const struct call *c, const char *what)
{
	struct shared *sh = f->w->sh;
	char *p = sh->report, *end = sh->report + sizeof(sh->report);
	unsigned int i, n;

	__atomic_store_n(&sh->stop, 1, __ATOMIC_SEQ_CST);
	if (__atomic_exchange_n(&sh->failed, 1, __ATOMIC_SEQ_CST))
		return;
	APPEND(p, end, "seed %#llx, %s, %s, op %lu: %s",
	       (unsigned long long)f->w->seed, mode_names[f->w->mode], f->who,
	       f->op_no, what);
	if (c) {
		APPEND(p, end, "; %s on fd %d%s, struct %s, size %u -> %s (%d)",
		       ops[c->op].name, c->fd, c->fd_stale ? " (stale)" : "",
		       place_names[c->place], c->in.size, errname(c->err),
		       c->err);
		if (c->nr != IOMMU_TEST_CMD || c->op == OP_RAW)
			APPEND(p, end, ", ioctl %#lx", c->nr);
		n = c->in.size < c->ksize ? c->ksize : c->in.size;
		if (n > ARG_MAX)
			n = ARG_MAX;
		APPEND(p, end, "; struct as sent (u32 words):");
		for (i = 0; i < (n + 3) / 4; i++)
			APPEND(p, end, " %08x", c->in.words[i]);
	}
	APPEND(p, end, "; last ops of %s:", f->who);
	n = f->nlast < LAST_OPS ? f->nlast : LAST_OPS;
	for (i = f->nlast - n; i < f->nlast; i++)
		APPEND(p, end, " %s=%s", ops[f->last[i % LAST_OPS].op].name,
		       result_name(f->last[i % LAST_OPS].res));
}

/*
 * Count a result. If strict (a call of the module, or open and close of
 * its files), an errno outside the documented set fails the test.
 */
static void account(struct fuzzer *f, int op, int err, bool strict,
		    bool ebadf_ok, const struct call *c)
{
	unsigned int res = result_index(err);

	__atomic_fetch_add(&f->w->sh->count[op][res], 1, __ATOMIC_RELAXED);
	f->last[f->nlast % LAST_OPS].op = op;
	f->last[f->nlast % LAST_OPS].res = res;
	f->nlast++;
	if (strict && (res == RES_OTHER || (err == EBADF && !ebadf_ok)))
		fail(f, c, "unexpected errno");
}

/* --- pools ------------------------------------------------------------------ */

static void add_id(struct world *w, int c, int kind, __u32 id)
{
	struct ctx_slot *s = &w->ctx[c];
	unsigned int i;

	for (i = 0; i < s->nids[kind]; i++)
		if (s->ids[kind][i] == id)
			return;
	if (s->nids[kind] < MAX_IDS)
		s->ids[kind][s->nids[kind]++] = id;
	else
		s->ids[kind][id % MAX_IDS] = id;
}

/* An object was destroyed: its ID becomes stale (it may come back). */
static void forget_id(struct world *w, int c, __u32 id)
{
	struct ctx_slot *s = &w->ctx[c];
	unsigned int k, i;

	for (k = 0; k < NR_KINDS; k++) {
		for (i = 0; i < s->nids[k]; i++) {
			if (s->ids[k][i] != id)
				continue;
			s->ids[k][i] = s->ids[k][--s->nids[k]];
			break;
		}
	}
	w->stale_ids[w->nstale_ids++ % MAX_STALE] = id;
}

/* A HWPT that was filled from ioas (if it still exists). */
static void add_domain(struct world *w, int c, __u32 hwpt, __u32 ioas)
{
	struct ctx_slot *s = &w->ctx[c];
	unsigned int i = s->ndomains++ % MAX_IDS;

	s->domains[i].hwpt = hwpt;
	s->domains[i].ioas = ioas;
}

static void add_map(struct world *w, int c, __u32 ioas, __u64 iova,
		    __u64 len, __u64 va)
{
	struct ctx_slot *s = &w->ctx[c];
	struct maprec *m = &s->maps[s->nmaps++ % MAX_MAPS];

	m->ioas = ioas;
	m->iova = iova;
	m->len = len;
	m->va = va;
}

/* Forget the remembered mappings of ioas inside [iova, iova + len - 1]. */
static void forget_maps(struct world *w, int c, __u32 ioas, __u64 iova,
			__u64 len)
{
	struct ctx_slot *s = &w->ctx[c];
	__u64 last = len ? iova + len - 1 : iova;
	unsigned int i;

	if (last < iova)
		last = UINT64_MAX;
	for (i = 0; i < MAX_MAPS; i++) {
		struct maprec *m = &s->maps[i];

		if (m->ioas == ioas && m->iova >= iova &&
		    m->iova + m->len - 1 <= last)
			m->ioas = 0;
	}
}

/* A remembered mapping of file c, of ioas if it has one (0: any). */
static const struct maprec *pick_map(struct fuzzer *f, int c, __u32 ioas)
{
	struct ctx_slot *s = &f->w->ctx[c];
	const struct maprec *any = NULL, *match = NULL;
	unsigned int i, start = below(f, MAX_MAPS);

	for (i = 0; i < MAX_MAPS; i++) {
		const struct maprec *m = &s->maps[(start + i) % MAX_MAPS];

		if (!m->ioas)
			continue;
		if (!any)
			any = m;
		if (m->ioas == ioas) {
			match = m;
			break;
		}
	}
	return match ? match : any;
}

static int pick_ctx(struct fuzzer *f)
{
	struct world *w = f->w;
	int open[MAX_CTX], n = 0, i;

	for (i = 0; i < MAX_CTX; i++)
		if (w->ctx[i].fd >= 0)
			open[n++] = i;
	return n ? open[below(f, n)] : -1;
}

static __u32 from_pool(struct fuzzer *f, int c, int kind)
{
	struct ctx_slot *s = &f->w->ctx[c];

	return s->ids[kind][below(f, s->nids[kind])];
}

/*
 * An ID for a field that wants an object of this kind: mostly one of the
 * file's, else another kind, another file's, a destroyed one, a small
 * number or an edge value.
 */
static __u32 pick_id(struct fuzzer *f, int c, int kind)
{
	static const __u32 edges[] = { 0, 0x7fffffff, 0x80000000, 0xffffffff };
	struct world *w = f->w;
	unsigned int r = below(f, 100);
	int k, other;

	if (r < 72 && w->ctx[c].nids[kind])
		return from_pool(f, c, kind);
	if (r < 82) {
		k = below(f, NR_KINDS);
		if (w->ctx[c].nids[k])
			return from_pool(f, c, k);
	}
	if (r < 88) {
		other = below(f, MAX_CTX);
		if (w->ctx[other].fd >= 0 && w->ctx[other].nids[kind])
			return from_pool(f, other, kind);
	}
	if (r < 93 && w->nstale_ids)
		return w->stale_ids[below(f, w->nstale_ids < MAX_STALE ?
					   w->nstale_ids : MAX_STALE)];
	if (r < 98)
		return below(f, 40);
	return pct(f, 50) ? PICK(f, edges) : (__u32)rnd(f);
}

/* An IOAS of file c: half the time one with a remembered mapping. */
static __u32 pick_ioas(struct fuzzer *f, int c)
{
	const struct maprec *m = pct(f, 50) ? pick_map(f, c, 0) : NULL;

	return m ? m->ioas : pick_id(f, c, K_IOAS);
}

/*
 * An fd number for IOMMU_TEST_CMD's id field where it names an access:
 * mostly a tracked access fd, else file c itself, a closed fd,
 * stdin/stdout/stderr or a number that is no fd. *slot gets the access
 * slot, or -1.
 */
static __u32 pick_access(struct fuzzer *f, int c, int *slot)
{
	struct world *w = f->w;
	unsigned int r = below(f, 100), i, start;

	*slot = -1;
	if (r < 90) {
		start = below(f, MAX_ACC);
		for (i = 0; i < MAX_ACC && *slot < 0; i++)
			if (w->acc[(start + i) % MAX_ACC].fd >= 0)
				*slot = (start + i) % MAX_ACC;
		if (*slot >= 0)
			return w->acc[*slot].fd;
	}
	if (r < 93)
		return w->ctx[c].fd;
	if (r < 95 && w->nstale_fds)
		return w->stale_fds[below(f, w->nstale_fds < MAX_STALE ?
					  w->nstale_fds : MAX_STALE)];
	if (r < 98)
		return below(f, 3);
	return pct(f, 50) ? 0xffffffffU : 1000 + below(f, 100000);
}

/* --- values ----------------------------------------------------------------- */

static __u64 mio(void)
{
	return mock_io_page();
}

static __u64 gen_iova(struct fuzzer *f)
{
	const __u64 P = psize(), M = mio();
	const __u64 edges[] = {
		0, M, WIN_START - M, APERTURE_END - P, APERTURE_END,
		0xfee00000ULL, 1ULL << 32,
	};
	const __u64 huge[] = {
		UINT64_MAX, UINT64_MAX - P + 1, 1ULL << 63, UINT64_MAX - P,
		(__u64)1 << 48,
	};
	unsigned int r = below(f, 100);
	__u64 iova;

	if (r < 82) {
		iova = WIN_START + (__u64)below(f, WIN_LEN / M) * M;
		return pct(f, 50) ? iova & ~(P - 1) : iova;
	}
	if (r < 87)
		return WIN_START + below(f, WIN_LEN) + 1;
	if (r < 94)
		return PICK(f, edges);
	return pct(f, 70) ? PICK(f, huge) : rnd(f);
}

/* A length for IOVA-only fields (UNMAP, COPY, reservations) */
static __u64 gen_len(struct fuzzer *f)
{
	const __u64 P = psize(), M = mio();
	const __u64 edges[] = { 0, 1, M - 1, M + 1, P + 1 };
	const __u64 huge[] = {
		UINT64_MAX, 1ULL << 63, WIN_LEN, 1ULL << 32, UINT64_MAX - P,
	};
	unsigned int r = below(f, 100);

	if (r < 78)
		return (1 + below(f, 32)) * M;
	if (r < 88)
		return (1 + below(f, 16)) * P;
	if (r < 94)
		return PICK(f, edges);
	return pct(f, 70) ? PICK(f, huge) : rnd(f);
}

/* A pointer into buffer s, aligned to the mock IO page or a page. */
static __u64 buf_ptr(struct fuzzer *f, unsigned int s, __u64 *room)
{
	struct buf_slot *b = &f->w->buf[s];
	const __u64 P = psize(), M = mio();
	__u64 off = (__u64)below(f, b->len / M) * M;

	if (pct(f, 50))
		off &= ~(P - 1);
	*room = b->len - off;
	return (uintptr_t)b->addr + off;
}

/*
 * User memory and a length for MAP. Region pointers get at most 2 MiB and
 * change, so everything stays in the region; huge lengths only go with
 * pointers where nothing of ours can be.
 */
static void gen_user(struct fuzzer *f, __u64 *va, __u64 *len)
{
	const __u64 P = psize(), M = mio();
	const __u64 huge[] = {
		UINT64_MAX, UINT64_MAX - P + 1, 1ULL << 63, 1ULL << 40,
		UINT64_MAX - P, 1ULL << 32,
	};
	unsigned int r = below(f, 100), s;
	__u64 room;

	if (r < 86) {
		s = below(f, NBUF + 1);
		*va = buf_ptr(f, s, &room);
		if (s == NBUF && pct(f, 40))
			*len = room;	/* up to a whole huge page */
		else
			*len = (1 + below(f, 32)) * M;
		if (pct(f, 40))
			*len = (*len + P - 1) & ~(P - 1);
		if (pct(f, 4))
			*va += 1 + below(f, M - 1);
		if (pct(f, 4)) {
			const __u64 odd[] = { 0, 1, M - 1, *len + 1 };

			*len = PICK(f, odd);
		}
		return;
	}
	if (r < 90) {
		*va = 0;
		*len = (1 + below(f, 8)) * P;
		return;
	}
	if (r < 93) {
		*va = (uintptr_t)f->w->region + below(f, REGION_HEAD);
		*len = (1 + below(f, 16)) * P;
		return;
	}
	*va = (r < 97 ? FAR_VA : KERNEL_VA) + (__u64)below(f, 1 << 20) * P;
	*len = pct(f, 50) ? (1 + below(f, 16)) * P :
	       pct(f, 70) ? PICK(f, huge) : rnd(f);
}

/*
 * A user buffer the kernel may write up to 64 KiB into (ACCESS_RW), or a
 * bad pointer with a length nothing of ours is at.
 */
static void gen_rw_user(struct fuzzer *f, __u64 *uptr, __u64 len)
{
	__u64 room;

	if (pct(f, 94)) {
		*uptr = buf_ptr(f, below(f, NBUF + 1), &room);
		if (pct(f, 5))
			*uptr += 1 + below(f, 63);
		return;
	}
	*uptr = PICK(f, ((const __u64[]){ 0, FAR_VA, KERNEL_VA }));
	if (!*uptr && len > (32 << 10))
		*uptr = FAR_VA;
}

static __u32 map_flags(struct fuzzer *f, bool fixed)
{
	__u32 flags = fixed ? IOMMU_IOAS_MAP_FIXED_IOVA : 0;
	unsigned int r = below(f, 100);

	if (r < 80)
		flags |= MAP_RW;
	else if (r < 88)
		flags |= IOMMU_IOAS_MAP_READABLE;
	else if (r < 94)
		flags |= IOMMU_IOAS_MAP_WRITEABLE;
	else if (r < 97)
		flags |= MAP_RW | (1U << (3 + below(f, 29)));
	/* else: neither readable nor writeable */
	return flags;
}

/* --- firing ------------------------------------------------------------------ */

/*
 * Start a call on a random open file: takes the lock, which the caller
 * releases with unlock() (also when this returns false: no file is open).
 */
static bool begin(struct fuzzer *f, struct call *c, int op, unsigned long nr,
		  size_t ksize)
{
	struct world *w = f->w;

	lock(f);
	memset(c, 0, sizeof(*c));
	c->op = op;
	c->nr = nr;
	c->ksize = ksize;
	c->a.size = ksize;
	c->ctx = pick_ctx(f);
	if (c->ctx < 0)
		return false;
	c->ctx_gen = w->ctx[c->ctx].gen;
	c->fd = w->ctx[c->ctx].fd;
	if (w->nstale_fds && pct(f, 1)) {
		c->fd = w->stale_fds[below(f, w->nstale_fds < MAX_STALE ?
					   w->nstale_fds : MAX_STALE)];
		c->fd_stale = true;
	}
	return true;
}

/* Break the size field now and then: too small, larger, with junk. */
static void fuzz_size(struct fuzzer *f, struct call *c)
{
	const unsigned int k = c->ksize;

	switch (below(f, 5)) {
	case 0:		/* too small: EINVAL below the command's minimum */
		c->a.size = below(f, k);
		break;
	case 1:		/* a newer program's struct with a zero tail */
		c->a.size = k + 1 + below(f, 64);
		break;
	case 2:		/* the same with a non-zero byte in the tail */
		c->a.size = k + 1 + below(f, 64);
		c->a.bytes[k + below(f, c->a.size - k)] = 1 + below(f, 255);
		break;
	case 3:		/* past what we copy: zeroes, then data, then a hole */
		c->a.size = ARG_MAX + below(f, 3 * psize());
		break;
	default:
		c->a.size = PICK(f, ((const __u32[]){ 0, 4, 0x7fffffff,
						      0xffffffff }));
		break;
	}
}

/*
 * Place the struct (mostly in page A; sometimes read-only, cut by the
 * unmapped page after A, or not there), drop the lock, call, take the lock
 * back and judge the result. Returns whether the file is still the one the
 * IDs were picked from, so the caller may record what it created.
 */
static bool fire(struct fuzzer *f, struct call *c)
{
	struct world *w = f->w;
	const size_t P = psize();
	char *A = f->arg, *B = f->arg + 2 * P;
	unsigned int r = below(f, 1000), k;
	size_t n;
	void *p;
	bool stale;

	if (pct(f, 5))
		fuzz_size(f, c);
	c->in = c->a;
	n = c->a.size > ARG_MAX ? ARG_MAX : c->a.size;
	if (n < c->ksize)
		n = c->ksize;
	if (r < 920) {
		c->place = PL_NORMAL;
		p = A;
		memcpy(p, &c->a, n);
	} else if (r < 950) {
		c->place = PL_RDONLY;
		p = B;
		mprotect(B, P, PROT_READ | PROT_WRITE);
		memcpy(p, &c->a, n);
		mprotect(B, P, PROT_READ);
	} else if (r < 975) {
		c->place = PL_CUT;
		k = 1 + below(f, c->ksize - 1);
		p = A + P - k;
		memcpy(p, &c->a, k);
	} else if (r < 988) {
		c->place = PL_NULL;
		p = NULL;
	} else {
		c->place = PL_FAR;
		p = (void *)(uintptr_t)FAR_VA;
	}

	unlock(f);
	c->err = ioctl(c->fd, c->nr, p) ? errno : 0;
	lock(f);

	if (c->place == PL_NORMAL)
		memcpy(&c->a, A, c->ksize);
	/*
	 * The kernel accepts any size from the command's minimum up, and the
	 * outputs read here all lie inside that minimum (IOMMU_TEST_CMD's is
	 * 68 of its 72 bytes): a success in place wrote them.
	 */
	c->out = !c->err && c->place == PL_NORMAL;
	stale = c->fd_stale || w->ctx[c->ctx].gen != c->ctx_gen;
	account(f, c->op, c->err, true, stale || c->ebadf_ok, c);
	return !stale;
}

/* An output that cannot be: fail with the call. */
static void check(struct fuzzer *f, const struct call *c, bool ok,
		  const char *what)
{
	if (!ok)
		fail(f, c, what);
}

static bool valid_new_id(__u32 id)
{
	return id && id < 0x80000000U;
}

/* --- the commands ------------------------------------------------------------ */

static void op_destroy(struct fuzzer *f)
{
	struct call c;

	if (begin(f, &c, OP_DESTROY, IOMMU_DESTROY, sizeof(c.a.destroy))) {
		c.a.destroy.id = pick_id(f, c.ctx, below(f, NR_KINDS));
		if (fire(f, &c) && !c.err)
			forget_id(f->w, c.ctx, c.in.destroy.id);
	}
	unlock(f);
}

static void op_ioas_alloc(struct fuzzer *f)
{
	struct call c;

	if (begin(f, &c, OP_IOAS_ALLOC, IOMMU_IOAS_ALLOC,
		  sizeof(c.a.ioas_alloc))) {
		if (pct(f, 3))
			c.a.ioas_alloc.flags = 1U << below(f, 32);
		f->w->ctx[c.ctx].fresh = false;
		if (fire(f, &c) && c.out) {
			check(f, &c, valid_new_id(c.a.ioas_alloc.out_ioas_id),
			      "IOAS_ALLOC returned an impossible ID");
			add_id(f->w, c.ctx, K_IOAS, c.a.ioas_alloc.out_ioas_id);
		}
	}
	unlock(f);
}

static void op_map(struct fuzzer *f)
{
	struct iommu_ioas_map *m;
	const struct maprec *old;
	struct call c;
	bool fixed;

	if (begin(f, &c, OP_IOAS_MAP, IOMMU_IOAS_MAP, sizeof(c.a.map))) {
		m = &c.a.map;
		fixed = pct(f, 75);
		m->ioas_id = pick_id(f, c.ctx, K_IOAS);
		m->flags = map_flags(f, fixed);
		gen_user(f, &m->user_va, &m->length);
		old = pct(f, 8) ? pick_map(f, c.ctx, m->ioas_id) : NULL;
		if (old)		/* over an existing mapping: EEXIST */
			m->iova = old->iova + (pct(f, 50) ? 0 : mio());
		else if (fixed || pct(f, 10))
			m->iova = gen_iova(f);
		if (pct(f, 2))
			m->__reserved = 1 + below(f, 0xffff);
		if (fire(f, &c) && c.out) {
			if (fixed)
				check(f, &c, m->iova == c.in.map.iova,
				      "MAP with a fixed IOVA mapped elsewhere");
			add_map(f->w, c.ctx, m->ioas_id, m->iova, m->length,
				m->user_va);
		}
	}
	unlock(f);
}

static void op_unmap(struct fuzzer *f, bool all)
{
	struct iommu_ioas_unmap *u;
	const struct maprec *m;
	struct call c;
	__u64 slack;

	if (begin(f, &c, all ? OP_IOAS_UNMAP_ALL : OP_IOAS_UNMAP,
		  IOMMU_IOAS_UNMAP, sizeof(c.a.unmap))) {
		u = &c.a.unmap;
		u->ioas_id = pick_id(f, c.ctx, K_IOAS);
		m = pct(f, 70) ? pick_map(f, c.ctx, u->ioas_id) : NULL;
		if (all) {
			u->iova = 0;
			u->length = UINT64_MAX;
		} else if (m) {
			u->ioas_id = pct(f, 90) ? m->ioas : u->ioas_id;
			u->iova = m->iova;
			u->length = m->len;
			switch (below(f, 4)) {
			case 0:		/* a wider range holding it */
				slack = (1 + below(f, 8)) * mio();
				u->iova = u->iova > slack ? u->iova - slack : 0;
				u->length += 2 * slack;
				break;
			case 1:		/* a part of it: never split, ENOENT */
				u->length = u->length > mio() ?
					    u->length - mio() : u->length;
				break;
			default:	/* exactly it */
				break;
			}
		} else {
			u->iova = gen_iova(f);
			u->length = gen_len(f);
		}
		if (fire(f, &c) && c.out) {
			check(f, &c, u->length <= c.in.unmap.length,
			      "UNMAP removed more than the range");
			forget_maps(f->w, c.ctx, u->ioas_id, c.in.unmap.iova,
				    c.in.unmap.length);
		}
	}
	unlock(f);
}

static void op_copy(struct fuzzer *f)
{
	struct iommu_ioas_copy *cp;
	const struct maprec *m;
	struct call c;
	__u64 off = 0;
	bool fixed;

	if (begin(f, &c, OP_IOAS_COPY, IOMMU_IOAS_COPY, sizeof(c.a.copy))) {
		cp = &c.a.copy;
		fixed = pct(f, 80);
		cp->flags = map_flags(f, fixed);
		cp->dst_ioas_id = pick_id(f, c.ctx, K_IOAS);
		m = pct(f, 85) ? pick_map(f, c.ctx, 0) : NULL;
		if (m) {
			cp->src_ioas_id = pct(f, 90) ? m->ioas :
				pick_id(f, c.ctx, K_IOAS);
			cp->length = m->len;
			if (pct(f, 30) && m->len > mio()) {
				off = (__u64)below(f, m->len / mio()) * mio();
				cp->length = m->len - off;
				if (pct(f, 50) && cp->length > mio())
					cp->length -= mio();
			}
			cp->src_iova = m->iova + off;
		} else {
			cp->src_ioas_id = pick_id(f, c.ctx, K_IOAS);
			cp->src_iova = gen_iova(f);
			cp->length = gen_len(f);
		}
		if (fixed || pct(f, 10))
			cp->dst_iova = gen_iova(f);
		if (fire(f, &c) && c.out && m) {
			if (fixed)
				check(f, &c, cp->dst_iova == c.in.copy.dst_iova,
				      "COPY to a fixed IOVA mapped elsewhere");
			add_map(f->w, c.ctx, cp->dst_ioas_id, cp->dst_iova,
				cp->length, m->va + off);
		}
	}
	unlock(f);
}

/* Output arrays and data live in page A, after the struct. */
static __u64 arr_ptr(struct fuzzer *f)
{
	return (uintptr_t)f->arg + ARR_OFFSET;
}

/* An array pointer: mostly page A, sometimes read-only, NULL or far. */
static __u64 gen_arr_ptr(struct fuzzer *f)
{
	unsigned int r = below(f, 100);

	if (r < 88)
		return arr_ptr(f);
	if (r < 92)
		return (uintptr_t)f->arg + 2 * psize();	/* read-only */
	if (r < 96)
		return 0;
	return FAR_VA;
}

static void op_iova_ranges(struct fuzzer *f)
{
	const unsigned int cap = (ARR_END - ARR_OFFSET) /
				 sizeof(struct iommu_iova_range);
	struct iommu_ioas_iova_ranges *r;
	struct iommu_iova_range *ranges;
	struct call c;
	unsigned int i;

	if (begin(f, &c, OP_IOVA_RANGES, IOMMU_IOAS_IOVA_RANGES,
		  sizeof(c.a.ranges))) {
		r = &c.a.ranges;
		r->ioas_id = pick_id(f, c.ctx, K_IOAS);
		r->num_iovas = PICK(f, ((const __u32[]){ 0, 1, 2, 4, 16, 64,
							 0xffffffff }));
		r->allowed_iovas = gen_arr_ptr(f);
		if (pct(f, 2))
			r->__reserved = 1;
		if (fire(f, &c) && c.out && r->allowed_iovas == arr_ptr(f) &&
		    c.in.ranges.num_iovas <= cap) {
			ranges = (void *)(uintptr_t)r->allowed_iovas;
			check(f, &c, r->num_iovas <= c.in.ranges.num_iovas,
			      "IOVA_RANGES succeeded with more ranges than room");
			check(f, &c, r->out_iova_alignment &&
			      !(r->out_iova_alignment &
				(r->out_iova_alignment - 1)) &&
			      r->out_iova_alignment <= psize(),
			      "IOVA_RANGES reported an impossible alignment");
			for (i = 0; i < r->num_iovas && i < cap; i++) {
				check(f, &c, ranges[i].start <= ranges[i].last &&
				      (!i || ranges[i].start > ranges[i - 1].last),
				      "IOVA_RANGES reported unordered ranges");
			}
		}
	}
	unlock(f);
}

static void gen_range(struct fuzzer *f, struct iommu_iova_range *r)
{
	const __u64 M = mio();
	__u64 a, b;

	switch (below(f, 8)) {
	case 0:
		r->start = WIN_START;
		r->last = WIN_START + WIN_LEN - 1;
		break;
	case 1:
		r->start = MOCK_APERTURE_START;
		r->last = MOCK_APERTURE_LAST;
		break;
	case 2:		/* start above last: EINVAL */
		r->start = WIN_START + WIN_LEN;
		r->last = WIN_START;
		break;
	case 3:
		r->start = 0;
		r->last = UINT64_MAX;
		break;
	case 4:
		r->start = rnd(f);
		r->last = rnd(f);
		break;
	default:	/* a piece of the window */
		a = WIN_START + (__u64)below(f, WIN_LEN / M) * M;
		b = WIN_START + (__u64)below(f, WIN_LEN / M) * M;
		r->start = a < b ? a : b;
		r->last = (a < b ? b : a) + M - 1;
		break;
	}
}

static void op_allow_iovas(struct fuzzer *f)
{
	struct iommu_ioas_allow_iovas *al;
	struct iommu_iova_range *ranges;
	struct call c;
	unsigned int i, n;

	if (begin(f, &c, OP_ALLOW_IOVAS, IOMMU_IOAS_ALLOW_IOVAS,
		  sizeof(c.a.allow))) {
		al = &c.a.allow;
		al->ioas_id = pick_id(f, c.ctx, K_IOAS);
		n = below(f, 5);
		ranges = (void *)(uintptr_t)arr_ptr(f);
		for (i = 0; i < n; i++)
			gen_range(f, &ranges[i]);
		al->num_iovas = pct(f, 95) ? n :
			PICK(f, ((const __u32[]){ 200, 0x10000000, 0xffffffff }));
		al->allowed_iovas = n && pct(f, 5) ? gen_arr_ptr(f) :
						    arr_ptr(f);
		if (f->w->huge_ranges && pct(f, 10)) {
			/* a long list of disjoint ranges (some overlap) */
			al->num_iovas = 1 + below(f, HUGE_RANGES);
			al->allowed_iovas = (uintptr_t)f->w->huge_ranges;
		}
		if (pct(f, 2))
			al->__reserved = 1;
		fire(f, &c);
	}
	unlock(f);
}

static void op_option(struct fuzzer *f)
{
	struct iommu_option *o;
	struct call c;
	unsigned int r;

	if (begin(f, &c, OP_OPTION, IOMMU_OPTION, sizeof(c.a.option))) {
		o = &c.a.option;
		r = below(f, 100);
		if (r < 45) {
			o->option_id = IOMMU_OPTION_RLIMIT_MODE;
			/* set only on a file nothing was created on yet */
			o->op = r < 12 && f->w->ctx[c.ctx].fresh ?
				IOMMU_OPTION_OP_SET : IOMMU_OPTION_OP_GET;
			o->val64 = below(f, 3);
			if (pct(f, 5))
				o->object_id = pick_id(f, c.ctx, K_IOAS);
		} else if (r < 92) {
			o->option_id = IOMMU_OPTION_HUGE_PAGES;
			o->op = pct(f, 50) ? IOMMU_OPTION_OP_SET :
					     IOMMU_OPTION_OP_GET;
			o->object_id = pick_id(f, c.ctx, K_IOAS);
			o->val64 = pct(f, 95) ? below(f, 2) : rnd(f);
		} else {
			o->option_id = 2 + below(f, 10);
			o->op = below(f, 4);
			o->__reserved = below(f, 2);
			o->object_id = pick_id(f, c.ctx, K_IOAS);
		}
		fire(f, &c);
	}
	unlock(f);
}

static void op_vfio_ioas(struct fuzzer *f)
{
	struct call c;

	if (begin(f, &c, OP_VFIO_IOAS, IOMMU_VFIO_IOAS, sizeof(c.a.vfio))) {
		c.a.vfio.op = pct(f, 95) ? below(f, 3) : 3 + below(f, 0xfffc);
		c.a.vfio.ioas_id = pick_id(f, c.ctx, K_IOAS);
		if (pct(f, 2))
			c.a.vfio.__reserved = 1;
		fire(f, &c);
	}
	unlock(f);
}

static void op_hwpt_alloc(struct fuzzer *f)
{
	struct iommu_hwpt_alloc *h;
	struct call c;
	unsigned int r;

	if (begin(f, &c, OP_HWPT_ALLOC, IOMMU_HWPT_ALLOC, sizeof(c.a.hwpt))) {
		h = &c.a.hwpt;
		h->dev_id = pick_id(f, c.ctx, K_IDEV);
		h->pt_id = pick_id(f, c.ctx, pct(f, 85) ? K_IOAS : K_HWPT);
		r = below(f, 100);
		if (r >= 75)
			h->flags = r < 88 ? IOMMU_HWPT_ALLOC_NEST_PARENT :
				   r < 92 ? IOMMU_HWPT_ALLOC_DIRTY_TRACKING :
				   r < 96 ? IOMMU_HWPT_FAULT_ID_VALID :
					    1U << below(f, 32);
		if (h->flags & IOMMU_HWPT_FAULT_ID_VALID)
			h->fault_id = pick_id(f, c.ctx, below(f, NR_KINDS));
		if (pct(f, 8)) {
			h->data_type = pct(f, 50) ? IOMMU_HWPT_DATA_VTD_S1 :
						    (__u32)rnd(f);
			h->data_len = pct(f, 80) ? 8 + below(f, 64) : 0;
			h->data_uptr = gen_arr_ptr(f);
		} else if (pct(f, 3)) {
			h->data_len = 16;	/* data without a type */
			h->data_uptr = arr_ptr(f);
		}
		if (pct(f, 2))
			h->__reserved = 1;
		if (pct(f, 2))
			h->__reserved2 = 1;
		f->w->ctx[c.ctx].fresh = false;
		if (fire(f, &c) && c.out) {
			check(f, &c, valid_new_id(h->out_hwpt_id),
			      "HWPT_ALLOC returned an impossible ID");
			add_id(f->w, c.ctx, K_HWPT, h->out_hwpt_id);
			add_domain(f->w, c.ctx, h->out_hwpt_id, h->pt_id);
		}
	}
	unlock(f);
}

static void op_get_hw_info(struct fuzzer *f)
{
	struct iommu_hw_info *h;
	struct call c;

	if (begin(f, &c, OP_GET_HW_INFO, IOMMU_GET_HW_INFO, sizeof(c.a.info))) {
		h = &c.a.info;
		h->dev_id = pick_id(f, c.ctx, K_IDEV);
		h->data_uptr = gen_arr_ptr(f);
		h->data_len = PICK(f, ((const __u32[]){ 0, 4, 8, 16, 64,
							2048 }));
		if (h->data_uptr != arr_ptr(f) || pct(f, 3))
			/* runs into the unmapped page after A at worst */
			h->data_len = PICK(f, ((const __u32[]){ 4096, 65536,
								0xffffffff }));
		if (pct(f, 2))
			h->flags = 1U << below(f, 32);
		if (pct(f, 2))
			h->__reserved[below(f, 3)] = 1;
		fire(f, &c);
	}
	unlock(f);
}

static void op_hwpt_invalidate(struct fuzzer *f)
{
	struct iommu_hwpt_invalidate *i;
	struct call c;

	if (begin(f, &c, OP_HWPT_INVALIDATE, IOMMU_HWPT_INVALIDATE,
		  sizeof(c.a.inv))) {
		i = &c.a.inv;
		i->hwpt_id = pick_id(f, c.ctx, K_HWPT);
		i->data_uptr = gen_arr_ptr(f);
		i->data_type = pct(f, 80) ? 0 : (__u32)rnd(f);
		i->entry_len = PICK(f, ((const __u32[]){ 0, 8, 16, 4096, 4097,
							 0xffffffff }));
		i->entry_num = PICK(f, ((const __u32[]){ 0, 1, 4, 1024,
							 0xffffffff }));
		if (pct(f, 2))
			i->__reserved = 1;
		fire(f, &c);
	}
	unlock(f);
}

/* IOMMU_TEST_CMD with op on the object id */
static bool begin_test(struct fuzzer *f, struct call *c, int op, __u32 top)
{
	if (!begin(f, c, op, IOMMU_TEST_CMD, sizeof(c->a.test)))
		return false;
	c->a.test.op = top;
	if (pct(f, 1))
		c->a.test.__reserved = 1;
	return true;
}

static void op_add_reserved(struct fuzzer *f)
{
	struct call c;

	if (begin_test(f, &c, OP_ADD_RESERVED, IOMMU_TEST_OP_ADD_RESERVED)) {
		c.a.test.id = pick_id(f, c.ctx, K_IOAS);
		c.a.test.add_reserved.start = gen_iova(f);
		c.a.test.add_reserved.length = pct(f, 85) ?
			(1 + below(f, 8)) * mio() : gen_len(f);
		fire(f, &c);
	}
	unlock(f);
}

static void op_mock_domain(struct fuzzer *f, bool with_flags)
{
	const __u32 dev_flags[] = {
		0, MOCK_FLAGS_DEVICE_NO_DIRTY, MOCK_FLAGS_DEVICE_HUGE_IOVA,
		MOCK_FLAGS_DEVICE_PASID,
		MOCK_FLAGS_DEVICE_HUGE_IOVA | MOCK_FLAGS_DEVICE_NO_DIRTY,
	};
	struct iommu_test_cmd *t;
	struct call c;

	if (begin_test(f, &c, with_flags ? OP_MOCK_DOMAIN_FLAGS : OP_MOCK_DOMAIN,
		       with_flags ? IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS :
				    IOMMU_TEST_OP_MOCK_DOMAIN)) {
		t = &c.a.test;
		t->id = pct(f, 75) ? pick_ioas(f, c.ctx) :
				     pick_id(f, c.ctx, K_HWPT);
		if (with_flags)
			t->mock_domain_flags.dev_flags = pct(f, 93) ?
				PICK(f, dev_flags) : 1U << below(f, 32);
		f->w->ctx[c.ctx].fresh = false;
		if (fire(f, &c) && c.out) {
			check(f, &c, valid_new_id(t->mock_domain.out_stdev_id) &&
			      valid_new_id(t->mock_domain.out_hwpt_id) &&
			      valid_new_id(t->mock_domain.out_idev_id),
			      "MOCK_DOMAIN returned an impossible ID");
			add_id(f->w, c.ctx, K_STDEV, t->mock_domain.out_stdev_id);
			add_id(f->w, c.ctx, K_HWPT, t->mock_domain.out_hwpt_id);
			add_id(f->w, c.ctx, K_IDEV, t->mock_domain.out_idev_id);
			if (t->mock_domain.out_hwpt_id != c.in.test.id)
				add_domain(f->w, c.ctx, t->mock_domain.out_hwpt_id,
					   c.in.test.id);
		}
	}
	unlock(f);
}

static void op_mock_replace(struct fuzzer *f)
{
	struct call c;

	if (begin_test(f, &c, OP_MOCK_REPLACE,
		       IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE)) {
		c.a.test.id = pick_id(f, c.ctx, K_STDEV);
		c.a.test.mock_domain_replace.pt_id =
			pick_id(f, c.ctx, pct(f, 50) ? K_IOAS : K_HWPT);
		if (fire(f, &c) && c.out) {
			__u32 pt = c.a.test.mock_domain_replace.pt_id;

			add_id(f->w, c.ctx, K_HWPT, pt);
			if (pt != c.in.test.mock_domain_replace.pt_id)
				add_domain(f->w, c.ctx, pt,
					   c.in.test.mock_domain_replace.pt_id);
		}
	}
	unlock(f);
}

/*
 * A piece of a remembered mapping of ioas (any if 0), at most 64 KiB:
 * returns false if the file remembers none.
 */
static bool map_piece(struct fuzzer *f, int c, __u32 ioas, __u64 *iova,
		      __u64 *len, __u64 *va)
{
	const struct maprec *m = pick_map(f, c, ioas);
	const __u64 M = mio();
	__u64 off = 0;

	if (!m)
		return false;
	if (m->len > M && pct(f, 40))
		off = (__u64)below(f, m->len / M) * M;
	*len = m->len - off;
	if (*len > (64 << 10))
		*len = (__u64)(1 + below(f, 32)) * M;
	if (pct(f, 30) && *len > M)
		*len = (__u64)(1 + below(f, *len / M)) * M;
	*iova = m->iova + off;
	*va = m->va + off;
	return true;
}

static void op_check_map(struct fuzzer *f)
{
	struct iommu_test_cmd *t;
	__u64 iova, len, va;
	struct call c;

	if (begin_test(f, &c, OP_CHECK_MAP, IOMMU_TEST_OP_MD_CHECK_MAP)) {
		struct ctx_slot *s = &f->w->ctx[c.ctx];
		__u32 ioas = 0;

		t = &c.a.test;
		t->id = pick_id(f, c.ctx, K_HWPT);
		if (s->ndomains && pct(f, 70)) {	/* a HWPT and its IOAS */
			unsigned int i = below(f, s->ndomains < MAX_IDS ?
						  s->ndomains : MAX_IDS);

			t->id = s->domains[i].hwpt;
			ioas = s->domains[i].ioas;
		}
		if (!map_piece(f, c.ctx, ioas, &iova, &len, &va) ||
		    pct(f, 10)) {
			iova = gen_iova(f);
			len = (1 + below(f, 16)) * mio();
			gen_rw_user(f, &va, len);
		}
		t->check_map.iova = iova;
		t->check_map.length = len;
		t->check_map.uptr = va;
		fire(f, &c);
	}
	unlock(f);
}

static void op_check_refs(struct fuzzer *f)
{
	struct iommu_test_cmd *t;
	struct call c;
	__u64 room;

	if (begin_test(f, &c, OP_CHECK_REFS, IOMMU_TEST_OP_MD_CHECK_REFS)) {
		t = &c.a.test;
		t->check_refs.uptr = buf_ptr(f, below(f, NBUF + 1), &room) &
				     ~(__u64)(psize() - 1);
		t->check_refs.length = (1 + below(f, 16)) * psize();
		if (pct(f, 5))
			t->check_refs.uptr += mio();
		if (pct(f, 5))
			t->check_refs.uptr = PICK(f, ((const __u64[]){
				0, FAR_VA, KERNEL_VA }));
		t->check_refs.refs = below(f, 4);
		fire(f, &c);
	}
	unlock(f);
}

static void op_create_access(struct fuzzer *f)
{
	struct world *w = f->w;
	struct iommu_test_cmd *t;
	struct acc_slot *a;
	struct call c;
	unsigned int i;
	int slot = -1;

	if (begin_test(f, &c, OP_CREATE_ACCESS, IOMMU_TEST_OP_CREATE_ACCESS)) {
		t = &c.a.test;
		t->id = pick_ioas(f, c.ctx);
		t->create_access.flags = pct(f, 80) ?
			MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES :
			pct(f, 90) ? 0 : 1U << below(f, 32);
		/*
		 * A new fd is tracked even if the file was closed meanwhile
		 * (it then keeps the file's context alive): close_all() must
		 * find it.
		 */
		fire(f, &c);
		if (c.out) {
			check(f, &c, (int)t->create_access.out_access_fd > 2,
			      "CREATE_ACCESS returned an impossible fd");
			for (i = 0; i < MAX_ACC; i++)
				if (w->acc[i].fd < 0)
					slot = i;
			if (slot < 0) {	/* full: a random one goes */
				slot = below(f, MAX_ACC);
				close(w->acc[slot].fd);
				w->stale_fds[w->nstale_fds++ % MAX_STALE] =
					w->acc[slot].fd;
			}
			a = &w->acc[slot];
			a->fd = t->create_access.out_access_fd;
			a->gen++;
			a->ctx = c.ctx;
			a->ctx_gen = c.ctx_gen;
			a->ioas = t->id;
			a->nitems = 0;
		}
	}
	unlock(f);
}

/*
 * begin_test() for an operation on an access (in the id field): mostly
 * through the file the access was made on, if that is still open. *slot
 * and *gen name the access slot (-1 if the id is no tracked access).
 */
static bool begin_access(struct fuzzer *f, struct call *c, int op, __u32 top,
			 int *slot, unsigned int *gen)
{
	struct world *w = f->w;
	struct acc_slot *a;

	if (!begin_test(f, c, op, top))
		return false;
	c->a.test.id = pick_access(f, c->ctx, slot);
	if (*slot < 0)
		return true;
	a = &w->acc[*slot];
	*gen = a->gen;
	if (!c->fd_stale && w->ctx[a->ctx].fd >= 0 &&
	    w->ctx[a->ctx].gen == a->ctx_gen && pct(f, 85)) {
		c->ctx = a->ctx;
		c->ctx_gen = a->ctx_gen;
		c->fd = w->ctx[a->ctx].fd;
	}
	return true;
}

/* The ID of an access slot must still hold the same fd to record items. */
static bool same_access(struct world *w, int slot, unsigned int gen)
{
	return slot >= 0 && w->acc[slot].gen == gen && w->acc[slot].fd >= 0;
}

static void op_access_pages(struct fuzzer *f)
{
	struct world *w = f->w;
	struct iommu_test_cmd *t;
	__u64 iova, len, va;
	unsigned int gen = 0;
	struct acc_slot *a;
	struct call c;
	int slot;

	if (begin_access(f, &c, OP_ACCESS_PAGES, IOMMU_TEST_OP_ACCESS_PAGES,
			 &slot, &gen)) {
		t = &c.a.test;
		if (!map_piece(f, c.ctx, slot >= 0 ? w->acc[slot].ioas : 0,
			       &iova, &len, &va) || pct(f, 8)) {
			iova = gen_iova(f);
			len = pct(f, 80) ? (1 + below(f, 16)) * mio() :
			      PICK(f, ((const __u64[]){ 0, 1, 17 << 20,
							UINT64_MAX }));
			va = 0;
		}
		t->access_pages.iova = iova;
		t->access_pages.length = len;
		/* the kernel compares the pinned pages with these: reads only */
		t->access_pages.uptr = pct(f, 70) ? va : pct(f, 60) ? 0 :
			va + psize();
		t->access_pages.flags = pct(f, 50) ? MOCK_FLAGS_ACCESS_WRITE : 0;
		if (pct(f, 5))
			t->access_pages.flags |= MOCK_FLAGS_ACCESS_SYZ;
		if (pct(f, 3))
			t->access_pages.flags |= 1U << below(f, 32);
		if (fire(f, &c) && c.out && same_access(w, slot, gen)) {
			a = &w->acc[slot];
			a->items[a->nitems++ % MAX_ITEMS] =
				t->access_pages.out_access_pages_id;
		}
	}
	unlock(f);
}

static void op_destroy_access_pages(struct fuzzer *f)
{
	struct world *w = f->w;
	struct iommu_test_cmd *t;
	unsigned int gen = 0, i, n;
	struct acc_slot *a;
	struct call c;
	int slot;

	if (begin_access(f, &c, OP_DESTROY_ACCESS_PAGES,
			 IOMMU_TEST_OP_DESTROY_ACCESS_PAGES, &slot, &gen)) {
		t = &c.a.test;
		n = slot >= 0 ? w->acc[slot].nitems : 0;
		if (n > MAX_ITEMS)
			n = MAX_ITEMS;
		t->destroy_access_pages.access_pages_id = n && pct(f, 80) ?
			w->acc[slot].items[below(f, n)] : below(f, 20);
		if (fire(f, &c) && !c.err && same_access(w, slot, gen)) {
			a = &w->acc[slot];
			for (i = 0; i < MAX_ITEMS; i++)
				if (a->items[i] ==
				    c.in.test.destroy_access_pages.access_pages_id)
					a->items[i] = 0;
		}
	}
	unlock(f);
}

static void op_access_rw(struct fuzzer *f)
{
	struct world *w = f->w;
	struct iommu_test_cmd *t;
	__u64 iova, len, va;
	unsigned int gen = 0;
	struct call c;
	int slot;

	if (begin_access(f, &c, OP_ACCESS_RW, IOMMU_TEST_OP_ACCESS_RW, &slot,
			 &gen)) {
		t = &c.a.test;
		if (!map_piece(f, c.ctx, slot >= 0 ? w->acc[slot].ioas : 0,
			       &iova, &len, &va) || pct(f, 8)) {
			iova = gen_iova(f);
			len = (1 + below(f, 16)) * mio();
		}
		if (pct(f, 10))		/* not on a page boundary */
			iova += 1 + below(f, 255);
		if (pct(f, 3))
			len = PICK(f, ((const __u64[]){ 0, 1, 17 << 20,
							UINT64_MAX }));
		t->access_rw.iova = iova;
		t->access_rw.length = len;
		if (len > (64 << 10))	/* never near anything of ours */
			t->access_rw.uptr = pct(f, 50) ? FAR_VA : KERNEL_VA;
		else
			gen_rw_user(f, &t->access_rw.uptr, len);
		t->access_rw.flags = below(f, 2) * MOCK_ACCESS_RW_WRITE;
		if (pct(f, 30))
			t->access_rw.flags |= MOCK_ACCESS_RW_SLOW_PATH;
		if (pct(f, 5))
			t->access_rw.flags |= MOCK_FLAGS_ACCESS_SYZ;
		if (pct(f, 3))
			t->access_rw.flags |= 1U << below(f, 32);
		fire(f, &c);
	}
	unlock(f);
}

static void op_access_replace(struct fuzzer *f)
{
	struct world *w = f->w;
	unsigned int gen = 0;
	struct call c;
	int slot;

	if (begin_access(f, &c, OP_ACCESS_REPLACE_IOAS,
			 IOMMU_TEST_OP_ACCESS_REPLACE_IOAS, &slot, &gen)) {
		c.a.test.access_replace_ioas.ioas_id = pick_ioas(f, c.ctx);
		if (fire(f, &c) && !c.err && same_access(w, slot, gen)) {
			/* the old IOAS's pins are gone with it */
			w->acc[slot].ioas = c.in.test.access_replace_ioas.ioas_id;
			w->acc[slot].nitems = 0;
		}
	}
	unlock(f);
}

static void op_temp_limit(struct fuzzer *f)
{
	struct call c;

	if (begin_test(f, &c, OP_TEMP_LIMIT,
		       IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT)) {
		/* 65536 (the default), small valid values, or invalid ones */
		c.a.test.memory_limit.limit = pct(f, 50) ? 65536 :
			PICK(f, ((const __u32[]){ 12, 16, 64, 4096, 1 << 20,
						  0, 11 }));
		fire(f, &c);
	}
	unlock(f);
}

/*
 * Operations the module does not implement (or not yet), with a zeroed
 * union: whatever they become, a zero pointer and zero lengths stay safe.
 */
static void op_test_other(struct fuzzer *f)
{
	struct call c;

	if (begin_test(f, &c, OP_TEST_OTHER, 0)) {
		c.a.test.op = PICK(f, ((const __u32[]){ 0, 13, 14, 15, 16, 0x80,
							0xffff, 0xffffffff }));
		c.a.test.id = pick_id(f, c.ctx, below(f, NR_KINDS));
		fire(f, &c);
	}
	unlock(f);
}

/* Command numbers the module does not implement, with a zeroed struct. */
/* --- a real PCI device, bound and hot-unplugged ------------------------------ */

/*
 * The edu device alone in its iommu group (PCI_NAME), found at the start:
 * the debug kernel has vfio-pci built in, so binding needs no module. It
 * is removed and rescanned at random; every bound device and the
 * notifier's work must cope. Serialised by pci_lock (sysfs only).
 */
static char pci_name[32];
static unsigned int pci_domain, pci_bus, pci_devfn;
static pthread_mutex_t pci_lock = PTHREAD_MUTEX_INITIALIZER;

static int sysfs_put(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, value, strlen(value));
	close(fd);
	return n == (ssize_t)strlen(value) ? 0 : -1;
}

static unsigned int pci_hex(const char *dev, const char *attr)
{
	unsigned int v = 0;
	char path[320];
	FILE *fp;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", dev, attr);
	fp = fopen(path, "r");
	if (!fp)
		return 0;
	if (fscanf(fp, "%x", &v) != 1)
		v = 0;
	fclose(fp);
	return v;
}

static bool pci_present(void)
{
	char path[96];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", pci_name);
	return !access(path, F_OK);
}

/* Hand the device to vfio-pci (after a rescan it has no driver). */
static void pci_to_vfio(void)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override",
		 pci_name);
	sysfs_put(path, "vfio-pci");
	sysfs_put("/sys/bus/pci/drivers_probe", pci_name);
}

/* Find the lone edu device; without an IOMMU there is none to find. */
static void pci_setup(void)
{
	unsigned int slot, fn;
	struct dirent *de;
	char path[320];
	DIR *d;

	if (pci_name[0] || !(d = opendir("/sys/bus/pci/devices")))
		return;
	while ((de = readdir(d))) {
		struct dirent *ge;
		int n = 0;
		DIR *g;

		if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof(pci_name) ||
		    pci_hex(de->d_name, "vendor") != 0x1234 ||
		    pci_hex(de->d_name, "device") != 0x11e8)
			continue;
		snprintf(path, sizeof(path),
			 "/sys/bus/pci/devices/%s/iommu_group/devices",
			 de->d_name);
		g = opendir(path);
		if (!g)
			continue;
		while ((ge = readdir(g)))
			n += ge->d_name[0] != '.';
		closedir(g);
		if (n != 1 ||
		    sscanf(de->d_name, "%x:%x:%x.%x", &pci_domain, &pci_bus,
			   &slot, &fn) != 4)
			continue;
		memcpy(pci_name, de->d_name, strlen(de->d_name) + 1);
		pci_devfn = slot << 3 | fn;
		break;
	}
	closedir(d);
	if (pci_name[0])
		pci_to_vfio();
}

/* Put the device back on the bus and on vfio-pci. */
static void pci_restore(void)
{
	if (!pci_name[0])
		return;
	pthread_mutex_lock(&pci_lock);
	if (!pci_present())
		sysfs_put("/sys/bus/pci/rescan", "1");
	pci_to_vfio();
	pthread_mutex_unlock(&pci_lock);
}

static void op_unplug(struct fuzzer *f)
{
	char path[128];
	int err = 0;

	lock(f);
	account(f, OP_UNPLUG, 0, false, false, NULL);
	unlock(f);
	if (!pci_name[0])
		return;
	pthread_mutex_lock(&pci_lock);
	if (pci_present()) {
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/remove",
			 pci_name);
		err = sysfs_put(path, "1");
	} else {
		err = sysfs_put("/sys/bus/pci/rescan", "1");
		pci_to_vfio();
	}
	pthread_mutex_unlock(&pci_lock);
	(void)err;	/* a race with another remove or rescan is fine */
}

static void op_dev_bind(struct fuzzer *f)
{
	struct iommu_replace_device_bind *b;
	struct call c;

	if (begin(f, &c, OP_DEV_BIND, IOMMU_REPLACE_DEVICE_BIND,
		  sizeof(c.a.bind))) {
		b = &c.a.bind;
		b->pci_domain = pci_domain;
		b->pci_bus = pci_bus;
		b->pci_devfn = pci_devfn;
		if (!pci_name[0] || pct(f, 10))
			b->pci_devfn = below(f, 256);
		if (pct(f, 10)) {	/* a file that is no VFIO group: EBADF */
			b->flags = IOMMU_REPLACE_BIND_VFIO_GROUP;
			b->vfio_group_fd = pct(f, 50) ? c.fd : (__u32)rnd(f);
			c.ebadf_ok = true;
		} else if (pct(f, 2)) {
			b->flags = 1U << below(f, 32);
			/* the VFIO-group bit with fd 0, which is no group */
			c.ebadf_ok = b->flags == IOMMU_REPLACE_BIND_VFIO_GROUP;
		}
		if (pct(f, 2))
			b->__reserved = 1;
		f->w->ctx[c.ctx].fresh = false;
		if (fire(f, &c) && c.out) {
			check(f, &c, valid_new_id(b->out_dev_id),
			      "DEVICE_BIND returned an impossible ID");
			add_id(f->w, c.ctx, K_IDEV, b->out_dev_id);
		}
	}
	unlock(f);
}

static void op_dev_attach(struct fuzzer *f)
{
	struct iommu_replace_device_attach *a;
	struct call c;

	if (begin(f, &c, OP_DEV_ATTACH, IOMMU_REPLACE_DEVICE_ATTACH,
		  sizeof(c.a.attach))) {
		a = &c.a.attach;
		a->dev_id = pick_id(f, c.ctx, K_IDEV);
		a->pt_id = pick_id(f, c.ctx, pct(f, 50) ? K_IOAS : K_HWPT);
		if (pct(f, 2))
			a->flags = 1U << below(f, 32);
		if (fire(f, &c) && c.out) {
			check(f, &c, valid_new_id(a->pt_id),
			      "DEVICE_ATTACH returned an impossible HWPT");
			add_id(f->w, c.ctx, K_HWPT, a->pt_id);
			if (a->pt_id != c.in.attach.pt_id)
				add_domain(f->w, c.ctx, a->pt_id,
					   c.in.attach.pt_id);
		}
	}
	unlock(f);
}

static void op_dev_detach(struct fuzzer *f)
{
	struct call c;

	if (begin(f, &c, OP_DEV_DETACH, IOMMU_REPLACE_DEVICE_DETACH,
		  sizeof(c.a.detach))) {
		c.a.detach.dev_id = pick_id(f, c.ctx, K_IDEV);
		if (pct(f, 2))
			c.a.detach.flags = 1U << below(f, 32);
		if (pct(f, 2))
			c.a.detach.__reserved = 1;
		fire(f, &c);
	}
	unlock(f);
}

static void op_dev_unbind(struct fuzzer *f)
{
	struct call c;

	if (begin(f, &c, OP_DEV_UNBIND, IOMMU_REPLACE_DEVICE_UNBIND,
		  sizeof(c.a.unbind))) {
		c.a.unbind.dev_id = pick_id(f, c.ctx, K_IDEV);
		if (fire(f, &c) && !c.err)
			forget_id(f->w, c.ctx, c.in.unbind.dev_id);
	}
	unlock(f);
}

static void op_raw(struct fuzzer *f)
{
	static const unsigned int nrs[] = {
		0x00, 0x7f, 0x8b, 0x8c, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93,
		0x9f, 0xa1, 0xa2, 0xbf, 0xff,
	};
	struct call c;

	if (begin(f, &c, OP_RAW, _IO(IOMMUFD_TYPE, PICK(f, nrs)), 64)) {
		if (pct(f, 25))		/* a known number, other size bits */
			c.nr = _IOWR(IOMMUFD_TYPE, 0x80 + below(f, 14),
				     struct iommu_destroy);
		c.a.size = PICK(f, ((const __u32[]){ 0, 8, 16, 64 }));
		fire(f, &c);
	}
	unlock(f);
}

/* --- chaos ------------------------------------------------------------------- */

static void ctx_open(struct fuzzer *f, int slot)
{
	struct world *w = f->w;
	struct ctx_slot *s = &w->ctx[slot];
	unsigned int gen = s->gen;
	int fd = open_dev();

	account(f, OP_OPEN, fd < 0 ? errno : 0, true, false, NULL);
	if (fd < 0)
		return;
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->gen = gen + 1;
	s->fresh = true;
	w->nopen++;
}

static void acc_close(struct fuzzer *f, int slot);

/*
 * Close a file, and most of the access fds made on it: the others keep its
 * context alive until they are closed.
 */
static void ctx_close(struct fuzzer *f, int slot)
{
	struct world *w = f->w;
	struct ctx_slot *s = &w->ctx[slot];
	unsigned int i;
	int ret;

	for (i = 0; i < MAX_ACC; i++)
		if (w->acc[i].fd >= 0 && w->acc[i].ctx == slot &&
		    w->acc[i].ctx_gen == s->gen && pct(f, 75))
			acc_close(f, i);
	ret = close(s->fd);

	account(f, OP_CLOSE, ret ? errno : 0, true, false, NULL);
	w->stale_fds[w->nstale_fds++ % MAX_STALE] = s->fd;
	s->fd = -1;
	s->gen++;
	w->nopen--;
}

static void op_open(struct fuzzer *f)
{
	unsigned int i, start = below(f, MAX_CTX);

	lock(f);
	for (i = 0; i < MAX_CTX; i++) {
		if (f->w->ctx[(start + i) % MAX_CTX].fd < 0) {
			ctx_open(f, (start + i) % MAX_CTX);
			break;
		}
	}
	unlock(f);
}

static void op_close(struct fuzzer *f)
{
	int c;

	lock(f);
	c = pick_ctx(f);
	if (c >= 0)
		ctx_close(f, c);
	unlock(f);
}

static void acc_close(struct fuzzer *f, int slot)
{
	struct world *w = f->w;
	struct acc_slot *a = &w->acc[slot];
	int ret = close(a->fd);

	account(f, OP_CLOSE_ACCESS, ret ? errno : 0, true, false, NULL);
	w->stale_fds[w->nstale_fds++ % MAX_STALE] = a->fd;
	a->fd = -1;
	a->gen++;
}

/* Close an access fd, preferably one whose file is closed already. */
static void op_close_access(struct fuzzer *f)
{
	struct world *w = f->w;
	unsigned int i, start = below(f, MAX_ACC);
	bool orphans = pct(f, 70);
	int slot = -1;

	lock(f);
	for (i = 0; i < MAX_ACC; i++) {
		struct acc_slot *a = &w->acc[(start + i) % MAX_ACC];

		if (a->fd < 0)
			continue;
		if (slot < 0)
			slot = (start + i) % MAX_ACC;
		if (orphans && w->ctx[a->ctx].gen != a->ctx_gen) {
			slot = (start + i) % MAX_ACC;
			break;
		}
	}
	if (slot >= 0)
		acc_close(f, slot);
	unlock(f);
}

/*
 * Put memory of kind at buffer i, replacing whatever was there (which may
 * be mapped in an IOAS and pinned). The address range never becomes free:
 * if the new mapping fails, an inaccessible one takes its place.
 */
static int buf_map(struct world *w, unsigned int i, int kind)
{
	struct buf_slot *b = &w->buf[i];
	int prot = PROT_READ | PROT_WRITE;
	int flags = MAP_FIXED | MAP_ANONYMOUS | MAP_POPULATE;
	void *p;
	int err;

	switch (kind) {
	case BK_NONE:
		prot = PROT_NONE;
		flags = MAP_FIXED | MAP_ANONYMOUS | MAP_NORESERVE;
		/* fall through */
	case BK_ANON:
	case BK_THP:
		flags |= MAP_PRIVATE;
		break;
	case BK_SHARED:
		flags |= MAP_SHARED;
		break;
	case BK_RDONLY:
		prot = PROT_READ;
		flags |= MAP_PRIVATE;
		break;
	case BK_HUGETLB:
		flags |= MAP_PRIVATE | MAP_HUGETLB;
		break;
	}
	p = mmap(b->addr, b->len, prot, flags, -1, 0);
	if (p != MAP_FAILED) {
		b->kind = kind;
		return 0;
	}
	err = errno;
	b->kind = BK_NONE;
	p = mmap(b->addr, b->len, PROT_NONE,
		 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		/* a hole: stop before anything could be mapped there */
		__atomic_store_n(&w->sh->stop, 1, __ATOMIC_SEQ_CST);
		return -1;
	}
	return err;
}

static int buf_kind(struct fuzzer *f, unsigned int i)
{
	if (i == NBUF)
		return f->w->hugetlb && pct(f, 50) ? BK_HUGETLB : BK_THP;
	return PICK(f, ((const int[]){ BK_ANON, BK_ANON, BK_SHARED,
				       BK_RDONLY }));
}

static void op_buffer(struct fuzzer *f)
{
	struct world *w = f->w;
	unsigned int i = below(f, NBUF + 1), r = below(f, 100);
	struct buf_slot *b = &w->buf[i];
	int err;

	lock(f);
	if (r < 25 && b->kind != BK_NONE) {	/* drop the pages, keep the VMA */
		err = madvise(b->addr, b->len, MADV_DONTNEED) ? errno : 0;
	} else if (r < 45 && b->kind != BK_NONE) {	/* unmap */
		err = buf_map(w, i, BK_NONE);
	} else {				/* new memory at the same place */
		err = buf_map(w, i, buf_kind(f, i));
	}
	if (err < 0)
		fail(f, NULL, "a buffer could not be kept reserved");
	else
		account(f, OP_BUFFER, err, false, false, NULL);
	unlock(f);
}

static void close_all(struct world *w)
{
	unsigned int i;

	for (i = 0; i < MAX_ACC; i++) {
		if (w->acc[i].fd >= 0)
			close(w->acc[i].fd);
		w->acc[i].fd = -1;
	}
	for (i = 0; i < MAX_CTX; i++) {
		if (w->ctx[i].fd >= 0)
			close(w->ctx[i].fd);
		w->ctx[i].fd = -1;
	}
	w->nopen = 0;
}

/* --- the loop --------------------------------------------------------------- */

static void fuzz_loop(struct fuzzer *f);

static void __attribute__((noreturn)) child_main(struct fuzzer *f,
						 unsigned int no, int fate)
{
	struct world *w = f->w;

	signal(SIGALRM, SIG_DFL);
	alarm(CHILD_ALARM);
	f->child = true;
	f->rng = stream_seed(w->seed, w->mode, 1000 + no);
	snprintf(f->who, sizeof(f->who), "child %u", no);
	f->done = 0;
	f->nlast = 0;
	f->max_ops = fate == FATE_KILL ? 100 * CHILD_MAX_OPS :
					 1 + below(f, CHILD_MAX_OPS);
	f->deadline = now_seconds() + CHILD_SECONDS;
	fuzz_loop(f);
	__atomic_fetch_add(&w->sh->child_ops, f->done, __ATOMIC_RELAXED);
	if (fate == FATE_CLEAN)
		close_all(w);
	_exit(0);
}

static void op_fork(struct fuzzer *f)
{
	struct world *w = f->w;
	struct child *ch = NULL;
	unsigned int i;
	int fate;
	pid_t pid;

	for (i = 0; i < MAX_CHILDREN; i++)
		if (!w->children[i].pid)
			ch = &w->children[i];
	if (!ch)
		return;
	fate = below(f, 3);
	ch->no = w->nforks++;
	pid = fork();
	if (pid == 0)
		child_main(f, ch->no, fate);
	account(f, OP_FORK, pid < 0 ? errno : 0, false, false, NULL);
	if (pid < 0)
		return;
	__atomic_fetch_add(&w->sh->forks, 1, __ATOMIC_RELAXED);
	ch->pid = pid;
	ch->fate = fate;
	ch->killed = false;
	ch->kill_at = fate == FATE_KILL ?
		      now_seconds() + (1 + below(f, 50)) / 1000.0 : 0;
	ch->hung_at = now_seconds() + CHILD_SECONDS + CHILD_GRACE;
}

/* Kill the children due, collect those that ended; all: wait for every one. */
static void reap(struct fuzzer *f, bool all)
{
	struct world *w = f->w;
	char what[128];
	unsigned int i, left;
	int status;
	double now;

	do {
		left = 0;
		now = now_seconds();
		for (i = 0; i < MAX_CHILDREN; i++) {
			struct child *ch = &w->children[i];

			if (!ch->pid)
				continue;
			if (!ch->killed && ch->kill_at && now >= ch->kill_at) {
				kill(ch->pid, SIGKILL);
				ch->killed = true;
			}
			if (!ch->killed && now >= ch->hung_at) {
				snprintf(what, sizeof(what),
					 "child %u (pid %d) still runs after %.0f s",
					 ch->no, ch->pid,
					 CHILD_SECONDS + CHILD_GRACE);
				fail(f, NULL, what);
				kill(ch->pid, SIGKILL);
				ch->killed = true;
			}
			if (waitpid(ch->pid, &status, WNOHANG) != ch->pid) {
				left++;
				continue;
			}
			if (!(WIFEXITED(status) && !WEXITSTATUS(status)) &&
			    !(WIFSIGNALED(status) &&
			      WTERMSIG(status) == SIGKILL && ch->killed)) {
				snprintf(what, sizeof(what),
					 "child %u (pid %d, %s) ended with status %#x",
					 ch->no, ch->pid, fate_names[ch->fate],
					 status);
				fail(f, NULL, what);
			}
			ch->pid = 0;
		}
		if (all && left)
			usleep(1000);
	} while (all && left);
}

static int choose_op(struct fuzzer *f)
{
	struct world *w = f->w;
	unsigned int weights[NR_OPS], total = 0, r, i;

	for (i = 0; i < NR_OPS; i++) {
		weights[i] = ops[i].weight;
		if (i == OP_FORK && (w->mode != MODE_FORKS || f->child))
			weights[i] = 0;
		total += weights[i];
	}
	/* nothing open: open something (a racy read is fine here) */
	if (!__atomic_load_n(&w->nopen, __ATOMIC_RELAXED) && pct(f, 90))
		return OP_OPEN;
	r = below(f, total);
	for (i = 0; i < NR_OPS; i++) {
		if (r < weights[i])
			return i;
		r -= weights[i];
	}
	return OP_OPEN;
}

static void op_unmap_range(struct fuzzer *f)
{
	op_unmap(f, false);
}

static void op_unmap_all(struct fuzzer *f)
{
	op_unmap(f, true);
}

static void op_mock_domain_plain(struct fuzzer *f)
{
	op_mock_domain(f, false);
}

static void op_mock_domain_flags(struct fuzzer *f)
{
	op_mock_domain(f, true);
}

static void (*const op_fns[NR_OPS])(struct fuzzer *f) = {
	[OP_DESTROY] = op_destroy,
	[OP_IOAS_ALLOC] = op_ioas_alloc,
	[OP_IOAS_MAP] = op_map,
	[OP_IOAS_UNMAP] = op_unmap_range,
	[OP_IOAS_UNMAP_ALL] = op_unmap_all,
	[OP_IOAS_COPY] = op_copy,
	[OP_IOVA_RANGES] = op_iova_ranges,
	[OP_ALLOW_IOVAS] = op_allow_iovas,
	[OP_OPTION] = op_option,
	[OP_VFIO_IOAS] = op_vfio_ioas,
	[OP_HWPT_ALLOC] = op_hwpt_alloc,
	[OP_GET_HW_INFO] = op_get_hw_info,
	[OP_HWPT_INVALIDATE] = op_hwpt_invalidate,
	[OP_ADD_RESERVED] = op_add_reserved,
	[OP_MOCK_DOMAIN] = op_mock_domain_plain,
	[OP_MOCK_DOMAIN_FLAGS] = op_mock_domain_flags,
	[OP_MOCK_REPLACE] = op_mock_replace,
	[OP_CHECK_MAP] = op_check_map,
	[OP_CHECK_REFS] = op_check_refs,
	[OP_CREATE_ACCESS] = op_create_access,
	[OP_ACCESS_PAGES] = op_access_pages,
	[OP_DESTROY_ACCESS_PAGES] = op_destroy_access_pages,
	[OP_ACCESS_RW] = op_access_rw,
	[OP_ACCESS_REPLACE_IOAS] = op_access_replace,
	[OP_TEMP_LIMIT] = op_temp_limit,
	[OP_TEST_OTHER] = op_test_other,
	[OP_RAW] = op_raw,
	[OP_OPEN] = op_open,
	[OP_CLOSE] = op_close,
	[OP_CLOSE_ACCESS] = op_close_access,
	[OP_BUFFER] = op_buffer,
	[OP_FORK] = op_fork,
	[OP_DEV_BIND] = op_dev_bind,
	[OP_DEV_ATTACH] = op_dev_attach,
	[OP_DEV_DETACH] = op_dev_detach,
	[OP_DEV_UNBIND] = op_dev_unbind,
	[OP_UNPLUG] = op_unplug,
};

static void fuzz_loop(struct fuzzer *f)
{
	struct world *w = f->w;

	while (!__atomic_load_n(&w->sh->stop, __ATOMIC_RELAXED) &&
	       now_seconds() < f->deadline) {
		if (f->child) {
			if (f->done >= f->max_ops)
				break;
			f->op_no = f->done;
		} else {
			f->op_no = __atomic_fetch_add(&w->ticket, 1,
						      __ATOMIC_RELAXED);
			if (f->op_no >= w->max_ops)
				break;
		}
		op_fns[choose_op(f)](f);
		f->done++;
		__atomic_fetch_add(&w->sh->ops, 1, __ATOMIC_RELAXED);
		if (w->mode == MODE_FORKS && !f->child)
			reap(f, false);
	}
}

static void *thread_main(void *arg)
{
	fuzz_loop(arg);
	return NULL;
}

/* --- setup, teardown, the tests ------------------------------------------------ */

static char alarm_msg[256];

static void on_alarm(int sig)
{
	ssize_t __attribute__((unused)) n;

	n = write(STDERR_FILENO, alarm_msg, strlen(alarm_msg));
	_exit(KSFT_FAIL);
}

static void *map_anon(size_t len, int prot, int flags)
{
	void *p = mmap(NULL, len, prot, flags | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * HUGE_RANGES disjoint ranges of half a page, a page apart, from 1 GiB in
 * the mock aperture, in a scrambled order; the last overlaps the first, so
 * a list of all of them is refused (EINVAL) and any shorter one accepted.
 */
static struct iommu_iova_range *huge_ranges_setup(void)
{
	const __u64 P = psize();
	struct iommu_iova_range *r;

	r = map_anon(HUGE_RANGES * sizeof(*r), PROT_READ | PROT_WRITE,
		     MAP_PRIVATE);
	if (!r)
		return NULL;
	for (unsigned int i = 0; i < HUGE_RANGES; i++) {
		__u64 k = (i * 2654435761ULL) % HUGE_RANGES;

		r[i].start = (1ULL << 30) + k * P;
		r[i].last = r[i].start + P / 2 - 1;
	}
	r[HUGE_RANGES - 1] = r[0];
	return r;
}

/* The buffer region; every buffer filled; 0 or an errno. */
static int region_setup(struct world *w, struct fuzzer *f)
{
	const size_t small = NBUF * (BUF_LEN + BUF_GAP);
	const size_t len = REGION_ALIGN + REGION_HEAD + small + 2 * HUGE_LEN +
			   TAIL_GUARD;
	uintptr_t huge;
	unsigned int i;
	void *p;
	int err;

	/* reserve more, start at an aligned address; the rest stays reserved */
	w->region = map_anon(len, PROT_NONE, MAP_PRIVATE | MAP_NORESERVE);
	if (!w->region)
		return errno;
	w->region = (char *)(((uintptr_t)w->region + REGION_ALIGN - 1) &
			     ~(uintptr_t)(REGION_ALIGN - 1));
	for (i = 0; i < NBUF; i++) {
		w->buf[i].addr = w->region + REGION_HEAD +
				 i * (BUF_LEN + BUF_GAP);
		w->buf[i].len = BUF_LEN;
	}
	huge = ((uintptr_t)w->region + REGION_HEAD + small + HUGE_LEN - 1) &
	       ~(uintptr_t)(HUGE_LEN - 1);
	w->buf[NBUF].addr = (char *)huge;
	w->buf[NBUF].len = HUGE_LEN;

	/* hugetlb pages are only there if the system reserved some */
	p = map_anon(HUGE_LEN, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_HUGETLB);
	if (p) {
		munmap(p, HUGE_LEN);
		w->hugetlb = true;
	}
	for (i = 0; i <= NBUF; i++) {
		err = buf_map(w, i, i == NBUF ? buf_kind(f, i) :
					i % 2 ? BK_SHARED : BK_ANON);
		if (err)
			return err < 0 ? EFAULT : err;
	}
	return 0;
}

/* ARG_PAGES pages: A read-write, C none, B read-only, D none. */
static char *arg_setup(void)
{
	const size_t P = psize();
	char *p = map_anon(ARG_PAGES * P, PROT_READ | PROT_WRITE, MAP_PRIVATE);

	if (!p)
		return NULL;
	memset(p, 0, ARG_PAGES * P);
	if (mprotect(p + P, P, PROT_NONE) || mprotect(p + 2 * P, P, PROT_READ) ||
	    mprotect(p + 3 * P, P, PROT_NONE))
		return NULL;
	return p;
}

static const char *const counter_names[] = {
	"contexts", "objects", "accesses", "pinned_pages",
};
#define NR_COUNTERS	4

static void read_counters(struct __test_metadata *_metadata, uint64_t *v)
{
	unsigned int i;

	for (i = 0; i < NR_COUNTERS; i++)
		v[i] = counter_read(_metadata, counter_names[i]);
}

/*
 * The fds the process still has open besides stdin, stdout and stderr,
 * logged with what they are: after close_all() there must be none, or the
 * fuzzer lost track of one (and the counters cannot be back).
 */
static unsigned int open_fds(struct __test_metadata *_metadata)
{
	unsigned int n = 0;
	char path[64], target[256];
	struct dirent *d;
	DIR *dir;
	ssize_t len;

	dir = opendir("/proc/self/fd");
	if (!dir)
		return 0;
	while ((d = readdir(dir))) {
		int fd = atoi(d->d_name);

		if (d->d_name[0] == '.' || fd <= 2 || fd == dirfd(dir))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		len = readlink(path, target, sizeof(target) - 1);
		target[len < 0 ? 0 : len] = 0;
		TH_LOG("fd %d (%s) is still open", fd, target);
		n++;
	}
	closedir(dir);
	return n;
}

/* Put the module's temporary memory limit back to its default. */
static int restore_temp_limit(void)
{
	struct iommu_test_cmd cmd =
		TEST_CMD(IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT, 0);
	int fd = open_dev(), ret;

	if (fd < 0)
		return errno;
	cmd.memory_limit.limit = 65536;
	ret = ioctl_errno(fd, IOMMU_TEST_CMD, &cmd);
	close(fd);
	return ret;
}

static void print_summary(struct __test_metadata *_metadata,
			  struct world *w, double seconds)
{
	struct shared *sh = w->sh;
	uint64_t ok = 0, failed = 0;
	char line[1024], *p, *end = line + sizeof(line);
	unsigned int op, res;

	for (op = 0; op < NR_OPS; op++) {
		ok += sh->count[op][0];
		for (res = 1; res < NR_RES; res++)
			failed += sh->count[op][res];
	}
	TH_LOG("%s: %lu operations in %.1f s (%lu by %lu children); calls: %llu succeeded, %llu failed",
	       mode_names[w->mode], sh->ops, seconds, sh->child_ops, sh->forks,
	       (unsigned long long)ok, (unsigned long long)failed);
	for (op = 0; op < NR_OPS; op++) {
		uint64_t total = 0;

		for (res = 0; res < NR_RES; res++)
			total += sh->count[op][res];
		if (!total)
			continue;
		p = line;
		APPEND(p, end, "  %-24s %7llu:", ops[op].name,
		       (unsigned long long)total);
		for (res = 0; res < NR_RES; res++)
			if (sh->count[op][res])
				APPEND(p, end, " %s %llu", result_name(res),
				       (unsigned long long)sh->count[op][res]);
		TH_LOG("%s", line);
	}
}

FIXTURE(fuzz)
{
	struct world *w;
	struct fuzzer *fz;	/* NR_THREADS of them */
};

FIXTURE_SETUP(fuzz)
{
	self->w = NULL;
	self->fz = NULL;
}

FIXTURE_TEARDOWN(fuzz)
{
	if (self->w)
		close_all(self->w);
	pci_restore();
	restore_temp_limit();
}

static void run(struct __test_metadata *_metadata, FIXTURE_DATA(fuzz) *self,
		int mode)
{
	const double seconds = test_seconds();
	unsigned int nthreads = mode == MODE_THREADS ? NR_THREADS : 1, i;
	uint64_t before[NR_COUNTERS], after[NR_COUNTERS];
	pthread_t threads[NR_THREADS];
	struct world *w;
	double start, waited;
	bool leaked = false;
	int err;

	config_load();
	TH_LOG("seed %#llx%s: rerun with IORP_FUZZ_SEED=%#llx (budget %.1f s, at most %lu operations)",
	       (unsigned long long)cfg.seed, cfg.seed_given ? "" : " (from the clock)",
	       (unsigned long long)cfg.seed, seconds, cfg.max_ops);

	read_counters(_metadata, before);
	w = map_anon(sizeof(*w), PROT_READ | PROT_WRITE, MAP_PRIVATE);
	ASSERT_NE(NULL, w);
	memset(w, 0, sizeof(*w));
	self->w = w;
	pthread_mutex_init(&w->lock, NULL);
	w->mode = mode;
	w->seed = cfg.seed;
	w->max_ops = cfg.max_ops;
	w->sh = map_anon(sizeof(*w->sh), PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(NULL, w->sh);
	for (i = 0; i < MAX_CTX; i++)
		w->ctx[i].fd = -1;
	for (i = 0; i < MAX_ACC; i++)
		w->acc[i].fd = -1;

	self->fz = map_anon(NR_THREADS * sizeof(*self->fz),
			    PROT_READ | PROT_WRITE, MAP_PRIVATE);
	ASSERT_NE(NULL, self->fz);
	for (i = 0; i < nthreads; i++) {
		struct fuzzer *f = &self->fz[i];

		memset(f, 0, sizeof(*f));
		f->w = w;
		f->rng = stream_seed(w->seed, mode, i);
		if (nthreads > 1)
			snprintf(f->who, sizeof(f->who), "thread %u", i);
		else
			snprintf(f->who, sizeof(f->who), "main");
		f->arg = arg_setup();
		ASSERT_NE(NULL, f->arg);
	}
	err = region_setup(w, &self->fz[0]);
	ASSERT_EQ(0, err) TH_LOG("cannot set up the buffers: %s", strerror(err));
	w->huge_ranges = huge_ranges_setup();
	ASSERT_NE(NULL, w->huge_ranges);
	pci_setup();
	TH_LOG("PCI device to bind and unplug: %s", pci_name[0] ? pci_name :
	       "none (no edu alone in an iommu group)");
	TH_LOG("buffers: %d x %lu KiB at %p, a 2 MiB %s buffer",
	       NBUF, BUF_LEN >> 10, (void *)w->buf[0].addr,
	       w->hugetlb ? "hugetlb or THP" : "THP (no hugetlb pages)");
	lock(&self->fz[0]);
	for (i = 0; i < 2; i++)
		ctx_open(&self->fz[0], i);
	unlock(&self->fz[0]);
	ASSERT_EQ(2, w->nopen) TH_LOG("cannot open %s", IORP_DEV);

	snprintf(alarm_msg, sizeof(alarm_msg),
		 "# fuzz: %s still running %d s after its budget (seed %#llx): a hung call or a fuzzer bug\n",
		 mode_names[mode], ALARM_MARGIN, (unsigned long long)w->seed);
	signal(SIGALRM, on_alarm);
	alarm((unsigned int)seconds + ALARM_MARGIN);

	start = now_seconds();
	w->deadline = start + seconds;
	for (i = 0; i < nthreads; i++)
		self->fz[i].deadline = w->deadline;
	if (mode == MODE_THREADS) {
		for (i = 0; i < nthreads; i++)
			ASSERT_EQ(0, pthread_create(&threads[i], NULL,
						    thread_main, &self->fz[i]));
		for (i = 0; i < nthreads; i++)
			pthread_join(threads[i], NULL);
	} else {
		fuzz_loop(&self->fz[0]);
		if (mode == MODE_FORKS)
			reap(&self->fz[0], true);
	}

	close_all(w);
	pci_restore();
	EXPECT_EQ(0, open_fds(_metadata))
		TH_LOG("the fuzzer lost track of an fd (seed %#llx)",
		       (unsigned long long)w->seed);
	EXPECT_EQ(0, restore_temp_limit());
	alarm(0);
	print_summary(_metadata, w, now_seconds() - start);
	ASSERT_EQ(0, w->sh->failed) TH_LOG("%s", w->sh->report);

	/* everything is closed: the module must be back where it was */
	waited = now_seconds();
	do {
		read_counters(_metadata, after);
		if (!memcmp(before, after, sizeof(before)))
			break;
		usleep(10000);
	} while (now_seconds() - waited < 5);
	for (i = 0; i < NR_COUNTERS; i++) {
		if (before[i] == after[i])
			continue;
		TH_LOG("debugfs %s: %llu before the test, %llu after it closed everything (seed %#llx)",
		       counter_names[i], (unsigned long long)before[i],
		       (unsigned long long)after[i],
		       (unsigned long long)w->seed);
		leaked = true;
	}
	EXPECT_FALSE(leaked);
}

TEST_F_TIMEOUT(fuzz, single_thread, fuzz_timeout())
{
	run(_metadata, self, MODE_SINGLE);
}

TEST_F_TIMEOUT(fuzz, threads, fuzz_timeout())
{
	run(_metadata, self, MODE_THREADS);
}

TEST_F_TIMEOUT(fuzz, forks, fuzz_timeout())
{
	run(_metadata, self, MODE_FORKS);
}

TEST_HARNESS_MAIN
