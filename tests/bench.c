// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench - what "make bench" prints: the cost of iommu-replace's operations
 * on a real device, each next to VFIO type1 measured in the same guest, on
 * the same edu device, with the same memory at the same IOVA.
 *
 *   map / unmap  IOMMU_IOAS_MAP and IOMMU_IOAS_UNMAP on an IOAS the device
 *                is attached to, against VFIO_IOMMU_MAP_DMA and
 *                VFIO_IOMMU_UNMAP_DMA on a type1v2 container holding the
 *                device's group: 4 KiB, 2 MiB, 64 MiB, 256 MiB and 1 GiB,
 *                of memory backed by 4 KiB pages (faulted in order, which
 *                gives them mostly in physical order, and in shuffled
 *                order, so that almost no two neighbours are contiguous
 *                and every page is an IOMMU mapping of its own), by
 *                transparent huge pages and by
 *                hugetlbfs 2 MiB pages (a backing the guest cannot provide
 *                is reported as skipped, with the reason). The same
 *                MAP_DMA and UNMAP_DMA are timed a third time on a type1v2
 *                container of iommu-replace's type1 mode (the module
 *                loaded again with vfio_type1=1, so the container is ours
 *                and unmodified type1 VMMs get it): what such a VMM gains
 *                or loses by the switch. Where the kernel has upstream
 *                iommufd (/dev/iommu: the reference kernel make bench
 *                boots after Debian's), the same IOMMU_IOAS_MAP and
 *                IOMMU_IOAS_UNMAP are timed a fourth time on it, the
 *                device's VFIO cdev bound to it, as a VMM would.
 *   scale        up to 1,000,000 separate 4 KiB mappings in one address
 *                space (type1 stops at its dma_entry_limit, 65,535 by
 *                default, with ENOSPC): the time per map and per unmap
 *                with 1K, 64K and 1M mappings in it, and the slab memory
 *                each mapping takes (/proc/meminfo, before and after).
 *                The mappings share SCALE_POOL of pages; DMA through the
 *                first and last mapping edu's 28-bit DMA reaches proves
 *                them after they are made. --short makes 2,048.
 *   memory       the kernel memory the 256 MiB map of each backing takes,
 *                per 4 KiB page: slab and vmalloc (/proc/meminfo).
 *   pinned once  a 64 MiB buffer mapped for the device's group and a
 *                second group (two edu functions): through one IOAS of
 *                ours with a HWPT (a domain) per group, through one type1
 *                container (which puts both groups in one domain where it
 *                can) and through a type1 container per group; the pages
 *                pinned (the guest's FOLL_PIN count) and charged
 *                (locked_vm) per page.
 *   new domain   IOMMU_HWPT_ALLOC of a new domain for an address space
 *                that maps 256 MiB (which maps it all into the domain) and
 *                the device attached to it: ours and upstream iommufd's.
 *   switch       moving a group from one populated 64 MiB address space
 *                to another: IOMMU_REPLACE_DEVICE_ATTACH straight onto the
 *                other HWPT (replace) against detach then attach, median
 *                and 99th percentile, for the device alone in its group
 *                and for the second group (moving one of its devices moves
 *                both), with the module as loaded and loaded again with
 *                force_fallback=1 (its own switch route where the kernel
 *                has the native one); and what type1 offers instead (one
 *                address space per container, so the VMM unmaps the old
 *                memory and maps the new).
 *   DMA lost     the device writes run.loss_dmas times a pass while another
 *                thread switches it between the two address spaces back to
 *                back (replace, then detach + attach): how many writes
 *                landed nowhere, and from that and the switches done, how
 *                long each switch keeps DMA blocked. (QEMU's edu performs a
 *                DMA in one instant, 100 ms after it is started, so a write
 *                samples whether the device is blocked at that instant.)
 *                Both drivers block a device's DMA for a moment inside
 *                every attach: replace is not hitless, and this says how
 *                much it loses.
 *
 *   profile      where maps and unmaps spend their time: ftrace's
 *                function graph of ours, type1 and upstream iommufd, folded
 *                into a call tree (skipped, with the reason, on a kernel
 *                that cannot trace); of the same page again and again,
 *                of 1,000 fresh separate mappings then their unmaps (as
 *                the scale rows at a thousand mappings), and of 64 MiB
 *                maps with ioctl() and the kernel's pin calls alone
 *                traced: pinning's share of a map, the "pin-only" figure.
 *
 * "bench --short" (what make check runs, to prove the program works) does
 * one pass of the sizes up to 2 MiB, two rounds each; its figures mean
 * nothing. "bench --profile" makes the profiles alone.
 *
 * The mechanisms take turns, run.passes times each (the device is
 * bound to iommu-replace, then its group is put in a type1 container, then
 * the module is loaded again in type1 mode and the group put in a
 * container of ours, then with force_fallback=1 for the switch rows, then
 * its cdev is bound to upstream iommufd, and so on), so that whatever
 * slows the guest for a
 * while (TCG warming up, the host's load) falls on all. Each figure is the
 * median of all rounds of all passes, with the fastest and slowest round
 * beside it; a ratio is type1's median over ours, or over type1 mode's,
 * or upstream iommufd's over ours (above 1: iommu-replace is faster). Type1 mode is skipped, with the reason, when the module was
 * not loaded from a file the program knows (IORP_KO) or has no VFIO
 * backend for this kernel. In every
 * pass, before each size and backing is timed, DMA of the edu device
 * through that mapping (its first bytes read, written back near its end,
 * or at the end of what the device can reach) proves it is the one the
 * device uses. The TAP results say only whether
 * each step worked; no figure is judged. Under QEMU TCG absolute times
 * are slow; the ratios are what carries over. After the table come the
 * same figures as one "# json" line and the chart's data as "# tsv" lines,
 * which make bench writes to files.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/iommu_replace.h>
#include <linux/mman.h>
#include <linux/vfio.h>

#include "edu.h"
#include "ftrace_profile.h"
#include "report.h"

#define DEV_PATH	"/dev/iommu-replace"
#define IOMMUFD_PATH	"/dev/iommu"

/* VFIO's device cdev (Linux 6.6), which Debian 12's <linux/vfio.h> lacks */
#ifndef VFIO_DEVICE_BIND_IOMMUFD
struct vfio_device_bind_iommufd {
	__u32 argsz;
	__u32 flags;
	__s32 iommufd;
	__u32 out_devid;
};

#define VFIO_DEVICE_BIND_IOMMUFD	_IO(VFIO_TYPE, VFIO_BASE + 18)

struct vfio_device_attach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
	__u32 pt_id;
};

#define VFIO_DEVICE_ATTACH_IOMMUFD_PT	_IO(VFIO_TYPE, VFIO_BASE + 19)
#endif

#define IOVA_BASE	0x1000000ULL	/* 16 MiB, 2 MiB aligned */
#define DMA_LIMIT	(1ULL << 28)	/* edu's DMA mask: 28 bits */
#define SWITCH_LEN	(64UL << 20)
#define HUGE_2M		(2UL << 20)
#define MAX_PASSES	5
#define SIZES		5
#define BACKINGS	4
#define MAX_SAMPLES	(100 * MAX_PASSES)

enum backing { PAGES_4K, SCATTERED, THP, HUGETLB };

static const char *const backing_names[BACKINGS] = {
	[PAGES_4K] = "4 KiB pages",
	[SCATTERED] = "4 KiB, shuffled",
	[THP] = "transparent huge pages",
	[HUGETLB] = "hugetlbfs 2 MiB pages",
};

/* rounds per pass */
static const struct {
	const char *name;
	size_t len;
	int rounds;
} sizes[SIZES] = {
	{ "4 KiB", 4096, 100 },
	{ "2 MiB", 2UL << 20, 10 },
	{ "64 MiB", 64UL << 20, 3 },
	{ "256 MiB", 256UL << 20, 1 },
	{ "1 GiB", 1UL << 30, 1 },
};

/* what a run does: the full benchmark or the short one of make check */
static struct {
	int passes;
	size_t max_len;		/* largest size timed, and buffer size */
	int rounds_cap;		/* at most this many rounds per size and pass */
	int switch_rounds, remap_rounds, loss_dmas;
	unsigned long scale_max;	/* separate 4 KiB mappings at most */
	int new_domain_rounds;
	int profile_ops;	/* one-page maps and unmaps profiled */
	unsigned long profile_fresh;	/* and fresh mappings, as in scale */
	unsigned long profile_pin;	/* and 64 MiB maps */
} run = { MAX_PASSES, 1UL << 30, 100, 50, 3, 20, 1000000, 3, 200, 1000, 5 };

static const typeof(run) short_run = {
	1, 2UL << 20, 2, 4, 1, 2, 2048, 1, 10, 20, 1
};

/*
 * The profile's function graph goes this deep below ioctl(); a node
 * under PROFILE_MIN_US per operation is left out of the report.
 */
#define PROFILE_GRAPH_DEPTH	8
#define PROFILE_MIN_US		1.5

/* a new domain for an address space that maps this much (or run.max_len) */
#define NEW_DOMAIN_LEN	(256UL << 20)

static size_t new_domain_len(void)
{
	return NEW_DOMAIN_LEN < run.max_len ? NEW_DOMAIN_LEN : run.max_len;
}

/*
 * Scale: separate 4 KiB mappings from SCALE_IOVA on, of the pages of
 * SCALE_POOL bytes of memory in turn (a page backs many mappings, as the
 * guest has no 4 GiB to spare); the time per map and per unmap is the mean
 * over the SCALE_WINDOW operations that end (map) or start (unmap) at
 * scale_at[] live mappings. edu's 28-bit DMA reaches the first
 * SCALE_REACHABLE mappings: the first and the last of those prove the
 * mappings are the device's.
 */
#define SCALE_IOVA	IOVA_BASE
#define SCALE_POOL	SWITCH_LEN
#define SCALE_WINDOW	1000UL
#define SCALE_POINTS	3
#define SCALE_REACHABLE	((DMA_LIMIT - SCALE_IOVA) / 4096)
static const unsigned long scale_at[SCALE_POINTS] = { 1000, 64000, 1000000 };
static const char *const scale_names[SCALE_POINTS] = { "1K", "64K", "1M" };
/* the last mapping stays below x86's MSI window, which no IOAS maps */
_Static_assert(SCALE_IOVA + 1000000ULL * 4096 <= 0xfee00000ULL,
	       "scale mappings reach the MSI window");

#define LOSS_LEN	64

/* timed rounds of one operation, in microseconds, from every pass */
struct samples {
	double t[MAX_SAMPLES];
	int n;
};

struct figure {
	double median, p99, best, worst;
};

/* many separate mappings in one address space, one pass after another */
struct scale {
	struct samples map[SCALE_POINTS], unmap[SCALE_POINTS];	/* us per op */
	unsigned long reached;	/* mappings made in the last pass */
	int stopped;		/* the errno that ended it there, or 0 */
	double slab_per_map;	/* bytes of slab per mapping, last pass */
};

/* the mechanism under test: iommu-replace's IOAS or a type1 container */
struct mech {
	const char *name;
	int fd;			/* /dev/iommu-replace or the container */
	__u32 ioas;		/* iommu-replace only */
	bool capped;		/* the kernel's type1: a mapping limit */
	struct samples map[BACKINGS][SIZES], unmap[BACKINGS][SIZES];
	struct scale scale;
	struct samples new_domain;	/* HWPT_ALLOC + attach: iommufd APIs */
	/* per 4 KiB page of a new_domain_len() map, last pass: bytes of */
	bool memory_known[BACKINGS];
	double slab_per_page[BACKINGS];		/* slab */
	double vmalloc_per_page[BACKINGS];	/* vmalloc */
	/* a 64 MiB map traced, us: all of it and its pinning (0: unknown) */
	double traced_map_us, traced_pin_us;
};

/*
 * pages pinned in the whole guest (FOLL_PIN), and charged to this process;
 * PIN_UNKNOWN where a counter could not be read
 */
struct pin_count {
	long long pinned, charged;
};

#define PIN_UNKNOWN LLONG_MIN

/* What one way of mapping a buffer for two groups pinned and charged */
struct pinned_once {
	const char *how;	/* NULL: not measured */
	struct pin_count added;
	int err;
};

#define PIN_WAYS 3

/* how the module switches a group: as loaded, or made to use its fallback */
enum { ROUTE_AS_LOADED, ROUTE_FALLBACK, ROUTES };
/* what moves: the bench device alone in its group, or a two-device group */
enum { ONE_DEVICE, TWO_DEVICES, GROUP_KINDS };

static const char *const switch_cases[ROUTES][GROUP_KINDS] = {
	{ "one-device group", "two-device group" },
	{ "one-device group, force_fallback", "two-device group, force_fallback" },
};

struct switch_times {
	struct samples replace, detach_attach;
};

struct bench {
	struct edu edu;
	int group_fd;
	/* run.max_len of each backing, populated; NULL if the guest has none */
	char *mem[BACKINGS];
	char why_not[BACKINGS][96];	/* why mem[] is NULL */
	char *mem_a, *mem_b;	/* SWITCH_LEN each: mem[PAGES_4K] and another */
	struct mech ours, type1, type1_mode, iommufd;
	char type1_mode_skipped[96];	/* why type1 mode was not timed */
	char iommufd_skipped[96];	/* why upstream iommufd was not timed */
	char fallback_skipped[96];	/* why the fallback was not timed */
	int cdev_fd;		/* the device's VFIO cdev, iommufd passes only */
	__u32 iommufd_dev;	/* its device ID in the iommufd */
	__u32 iommufd_hwpt;	/* the HWPT it is attached to there */
	__u32 dev, hwpt_a, hwpt_b;
	/*
	 * A second iommu group of two edu functions (pinned once, and the
	 * switch of a two-device group); pair_fd -1 without one, why_no_pair
	 * says why. In a pass of ours: their device IDs and their HWPTs on the
	 * two address spaces.
	 */
	struct edu pair[2];
	int pair_fd, pair_err;
	char why_no_pair[96];
	__u32 pair_dev[2], pair_hwpt_a, pair_hwpt_b;
	struct switch_times sw[ROUTES][GROUP_KINDS];
	struct samples remap;
	/* DMA across switches: [0] replace, [1] detach + attach */
	unsigned long dmas[2], lost[2], switches[2];
	double switching_us[2];
	struct pinned_once pinned[PIN_WAYS];
};

static int step_no, failures;

static void step(bool ok, const char *what, const char *fmt, ...)
{
	va_list ap;

	if (fmt) {
		printf("# ");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
	}
	printf("%sok %d - %s\n", ok ? "" : "not ", ++step_no, what);
	failures += !ok;
}

static void add_sample(struct samples *s, double us)
{
	if (s->n < MAX_SAMPLES)
		s->t[s->n++] = us;
}

static struct figure summarise(struct samples *s)
{
	qsort(s->t, s->n, sizeof(s->t[0]), cmp_double);
	return (struct figure){
		.median = s->t[s->n / 2],
		/* nearest rank: the smallest sample at or above 99% of them */
		.p99 = s->t[(s->n * 99 + 99) / 100 - 1],
		.best = s->t[0], .worst = s->t[s->n - 1],
	};
}

/* --- the mechanisms ---------------------------------------------------------- */

static int mech_map(struct mech *m, __u64 iova, void *va, size_t len)
{
	if (m->ioas) {
		struct iommu_ioas_map map = {
			.size = sizeof(map),
			.flags = IOMMU_IOAS_MAP_FIXED_IOVA |
				 IOMMU_IOAS_MAP_READABLE |
				 IOMMU_IOAS_MAP_WRITEABLE,
			.ioas_id = m->ioas,
			.user_va = (uintptr_t)va,
			.length = len,
			.iova = iova,
		};

		return call(m->fd, IOMMU_IOAS_MAP, &map);
	} else {
		struct vfio_iommu_type1_dma_map map = {
			.argsz = sizeof(map),
			.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
			.vaddr = (uintptr_t)va,
			.iova = iova,
			.size = len,
		};

		return call(m->fd, VFIO_IOMMU_MAP_DMA, &map);
	}
}

static int mech_unmap(struct mech *m, __u64 iova, size_t len)
{
	if (m->ioas) {
		struct iommu_ioas_unmap unmap = {
			.size = sizeof(unmap),
			.ioas_id = m->ioas,
			.iova = iova,
			.length = len,
		};

		return call(m->fd, IOMMU_IOAS_UNMAP, &unmap);
	} else {
		struct vfio_iommu_type1_dma_unmap unmap = {
			.argsz = sizeof(unmap),
			.iova = iova,
			.size = len,
		};

		return call(m->fd, VFIO_IOMMU_UNMAP_DMA, &unmap);
	}
}

/*
 * Device e reads the first 64 bytes at IOVA_BASE (mem, marked with who)
 * and writes them back at IOVA_BASE + back: EIO unless they arrive.
 */
static int edu_round_trip(struct edu *e, char *mem, size_t back,
			  const char *who)
{
	snprintf(mem, 64, "read through %s", who);
	memset(mem + back, 0, 64);
	if (edu_dma(e, IOVA_BASE, 64, false) ||
	    edu_dma(e, IOVA_BASE + back, 64, true) ||
	    memcmp(mem, mem + back, 64))
		return EIO;
	return 0;
}

/*
 * The device reads the first bytes of a mapping at IOVA_BASE of len bytes
 * of mem and writes them back near its end (below the device's DMA
 * limit): proof that this mechanism's mapping is the one the device uses.
 */
static int dma_round_trip(struct bench *b, struct mech *m, char *mem,
			  size_t len)
{
	size_t reach = IOVA_BASE + len > DMA_LIMIT ? DMA_LIMIT - IOVA_BASE : len;

	return edu_round_trip(&b->edu, mem, reach > 4096 ? reach - 64 : 2048,
			      m->name);
}

/* The same, around a mapping made for it and unmapped after */
static int prove_dma(struct bench *b, struct mech *m, char *mem, size_t len)
{
	int err = mech_map(m, IOVA_BASE, mem, len);

	if (err)
		return err;
	err = dma_round_trip(b, m, mem, len);
	return mech_unmap(m, IOVA_BASE, len) ?: err;
}

/*
 * The number after key in a /proc file: a /proc/vmstat count, or the kB
 * of a "key: N kB" line of /proc/meminfo or /proc/self/status; -1
 */
static long long proc_number(const char *file, const char *key)
{
	size_t key_len = strlen(key);
	long long v = -1;
	char line[128];
	FILE *f = fopen(file, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, key_len) &&
		    (line[key_len] == ' ' || line[key_len] == ':') &&
		    sscanf(line + key_len + 1, " %lld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* A line of /proc/meminfo ("Slab", "VmallocUsed"), in bytes; -1 if unknown */
static long long meminfo_bytes(const char *key)
{
	long long kb = proc_number("/proc/meminfo", key);

	return kb < 0 ? -1 : kb * 1024;
}

/*
 * The kernel memory a map of len bytes of backing k took, per 4 KiB page:
 * /proc/meminfo's Slab and VmallocUsed before the map (slab0, vmalloc0)
 * and now.
 */
static void note_memory_per_page(struct mech *m, int k, size_t len,
				 long long slab0, long long vmalloc0)
{
	long long slab = meminfo_bytes("Slab");
	long long vmalloc = meminfo_bytes("VmallocUsed");
	double pages = len / 4096;

	m->memory_known[k] = slab0 >= 0 && vmalloc0 >= 0 && slab >= 0 &&
			     vmalloc >= 0;
	m->slab_per_page[k] = (slab - slab0) / pages;
	m->vmalloc_per_page[k] = (vmalloc - vmalloc0) / pages;
}

/*
 * Prove, then map and unmap, each size of each backing in turn, timed. The
 * first round of the new-domain length also notes the kernel memory the
 * map takes per page.
 */
static int time_map_unmap(struct bench *b, struct mech *m)
{
	for (int k = 0; k < BACKINGS; k++) {
		for (int s = 0; b->mem[k] && s < SIZES; s++) {
			size_t len = sizes[s].len;
			int rounds = sizes[s].rounds < run.rounds_cap ?
				     sizes[s].rounds : run.rounds_cap;
			int err;

			if (len > run.max_len)
				break;
			err = prove_dma(b, m, b->mem[k], len);
			if (err)
				return err;
			for (int i = 0; i < rounds; i++) {
				bool note = !i && len == new_domain_len();
				long long slab0 = note ? meminfo_bytes("Slab") : 0;
				long long vmalloc0 = note ?
						     meminfo_bytes("VmallocUsed") : 0;
				double t0 = now_us(), t1, t2;

				err = mech_map(m, IOVA_BASE, b->mem[k], len);
				t1 = now_us();
				if (!err && note)
					note_memory_per_page(m, k, len, slab0,
							     vmalloc0);
				t2 = now_us();
				err = err ?: mech_unmap(m, IOVA_BASE, len);
				if (err)
					return err;
				add_sample(&m->map[k][s], t1 - t0);
				add_sample(&m->unmap[k][s], now_us() - t2);
			}
		}
	}
	return 0;
}

static __u64 scale_iova(unsigned long i)
{
	return SCALE_IOVA + (__u64)i * 4096;
}

static char *scale_va(struct bench *b, unsigned long i)
{
	return b->mem_a + (i % (SCALE_POOL / 4096)) * 4096;
}

/* The device reads mapping first and writes what it read into mapping last. */
static int scale_prove(struct bench *b, unsigned long first, unsigned long last)
{
	char *src = scale_va(b, first), *dst = scale_va(b, last) + 2048;

	snprintf(src, 64, "mapping %lu of many", first);
	memset(dst, 0, 64);
	if (edu_dma(&b->edu, scale_iova(first), 64, false) ||
	    edu_dma(&b->edu, scale_iova(last) + 2048, 64, true))
		return EIO;
	return memcmp(src, dst, 64) ? EIO : 0;
}

/*
 * Map run.scale_max separate 4 KiB mappings, or as many as the mechanism
 * takes (type1 stops at its dma_entry_limit with ENOSPC), timing the
 * windows of scale_at[]; prove them by DMA, read the slab they take, and
 * unmap them all, timing the windows again.
 */
static int time_scale(struct bench *b, struct mech *m)
{
	struct scale *sc = &m->scale;
	unsigned long i, n = run.scale_max, reachable;
	long long slab = meminfo_bytes("Slab");
	double t0 = 0;
	int err = 0;

	for (i = 0; i < n; i++) {
		for (int k = 0; k < SCALE_POINTS; k++)
			if (i == scale_at[k] - SCALE_WINDOW)
				t0 = now_us();
		err = mech_map(m, scale_iova(i), scale_va(b, i), 4096);
		if (err)
			break;
		for (int k = 0; k < SCALE_POINTS; k++)
			if (i + 1 == scale_at[k])
				add_sample(&sc->map[k],
					   (now_us() - t0) / SCALE_WINDOW);
	}
	sc->reached = i;
	sc->stopped = err;
	/* type1's dma_entry_limit: where it stops is the figure */
	if (err == ENOSPC && m->capped && i)
		err = 0;
	if (!err) {
		long long now = meminfo_bytes("Slab");

		sc->slab_per_map = slab >= 0 && now >= 0 ?
				   (double)(now - slab) / i : -1;
		reachable = i < SCALE_REACHABLE ? i : SCALE_REACHABLE;
		err = scale_prove(b, 0, reachable - 1);
		if (err)
			printf("# %s, scale: DMA through mappings 0 and %lu: %s\n",
			       m->name, reachable - 1, errname(err));
	} else {
		printf("# %s, scale: map %lu: %s\n", m->name, i, errname(err));
	}
	/* unmap op j finds n - j mappings */
	n = i;
	for (unsigned long j = 0; j < n; j++) {
		int e;

		for (int k = 0; k < SCALE_POINTS; k++)
			if (n >= scale_at[k] && j == n - scale_at[k])
				t0 = now_us();
		e = mech_unmap(m, scale_iova(j), 4096);
		if (e) {
			printf("# %s, scale: unmap %lu: %s\n", m->name, j,
			       errname(e));
			return err ?: e;
		}
		for (int k = 0; k < SCALE_POINTS; k++)
			if (n >= scale_at[k] &&
			    j + 1 == n - scale_at[k] + SCALE_WINDOW)
				add_sample(&sc->unmap[k],
					   (now_us() - t0) / SCALE_WINDOW);
	}
	return err;
}

/* --- iommu-replace ---------------------------------------------------------- */

static int attach_dev(struct bench *b, __u32 dev, __u32 pt)
{
	struct iommu_replace_device_attach cmd = {
		.size = sizeof(cmd), .dev_id = dev, .pt_id = pt,
	};

	return call(b->ours.fd, IOMMU_REPLACE_DEVICE_ATTACH, &cmd);
}

static int detach_dev(struct bench *b, __u32 dev)
{
	struct iommu_replace_device_detach cmd = {
		.size = sizeof(cmd), .dev_id = dev,
	};

	return call(b->ours.fd, IOMMU_REPLACE_DEVICE_DETACH, &cmd);
}

static int attach(struct bench *b, __u32 pt)
{
	return attach_dev(b, b->dev, pt);
}

static int detach(struct bench *b)
{
	return detach_dev(b, b->dev);
}

static int ioas_alloc(int fd, __u32 *id)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	int err = call(fd, IOMMU_IOAS_ALLOC, &alloc);

	*id = alloc.out_ioas_id;
	return err;
}

/* A HWPT of IOAS ioas for device dev, on fd: ours or upstream iommufd */
static int hwpt_alloc_on(int fd, __u32 dev, __u32 ioas, __u32 *id)
{
	struct iommu_hwpt_alloc hwpt = {
		.size = sizeof(hwpt), .dev_id = dev, .pt_id = ioas,
	};
	int err = call(fd, IOMMU_HWPT_ALLOC, &hwpt);

	*id = hwpt.out_hwpt_id;
	return err;
}

static int hwpt_alloc(struct bench *b, __u32 ioas, __u32 *id)
{
	return hwpt_alloc_on(b->ours.fd, b->dev, ioas, id);
}

/* Bind the device with its VFIO group as proof; attach it to an IOAS. */
static int ours_setup(struct bench *b)
{
	struct iommu_replace_device_bind bind = {
		.size = sizeof(bind),
		.flags = IOMMU_REPLACE_BIND_VFIO_GROUP,
		.vfio_group_fd = b->group_fd,
		.pci_domain = b->edu.domain,
		.pci_bus = b->edu.bus,
		.pci_devfn = b->edu.devfn,
	};
	int fd = open(DEV_PATH, O_RDWR | O_CLOEXEC), err;

	if (fd < 0)
		return errno;
	b->ours.fd = fd;
	err = ioas_alloc(fd, &b->ours.ioas) ?:
	      call(fd, IOMMU_REPLACE_DEVICE_BIND, &bind);
	b->dev = bind.out_dev_id;
	return err ?: hwpt_alloc(b, b->ours.ioas, &b->hwpt_a) ?:
	       attach(b, b->hwpt_a);
}

/*
 * Move the bench device, or the pair's group, onto HWPT to: straight (a
 * replace; moving one device of a group moves the group), or detached
 * first (every device of the group, then each attached again).
 */
static int move(struct bench *b, int kind, __u32 to, bool straight)
{
	if (kind == ONE_DEVICE)
		return straight ? attach(b, to) : detach(b) ?: attach(b, to);
	if (straight)
		return attach_dev(b, b->pair_dev[0], to);
	return detach_dev(b, b->pair_dev[0]) ?: detach_dev(b, b->pair_dev[1]) ?:
	       attach_dev(b, b->pair_dev[0], to) ?:
	       attach_dev(b, b->pair_dev[1], to);
}

static int time_switch(struct bench *b, int kind, bool straight,
		       struct samples *s)
{
	__u32 a = kind == ONE_DEVICE ? b->hwpt_a : b->pair_hwpt_a;
	__u32 other = kind == ONE_DEVICE ? b->hwpt_b : b->pair_hwpt_b;

	for (int i = 0; i < run.switch_rounds; i++) {
		__u32 to = i % 2 ? a : other;
		double t0 = now_us();
		int err = move(b, kind, to, straight);

		if (err)
			return err;
		add_sample(s, now_us() - t0);
	}
	return 0;
}

/* The switching side of a DMA-loss run: back to back until told to stop */
struct switcher {
	struct bench *b;
	bool straight;
	bool stop;
	unsigned long done;
	int err;
};

static void *switch_loop(void *arg)
{
	struct switcher *sw = arg;

	while (!__atomic_load_n(&sw->stop, __ATOMIC_SEQ_CST) && !sw->err) {
		__u32 to = sw->done % 2 ? sw->b->hwpt_a : sw->b->hwpt_b;

		sw->err = sw->straight ? attach(sw->b, to) :
			  detach(sw->b) ?: attach(sw->b, to);
		sw->done++;
	}
	return NULL;
}

/*
 * The device writes its buffer (the same bytes both address spaces hold at
 * IOVA_BASE) to IOVA_BASE + 4 KiB run.loss_dmas times while another thread
 * switches it back to back: a write that reached neither address space,
 * or only part of it, was lost.
 */
static int dma_loss(struct bench *b, bool straight)
{
	struct switcher sw = { .b = b, .straight = straight };
	char *dst_a = b->mem_a + 4096, *dst_b = b->mem_b + 4096;
	int i = straight ? 0 : 1, err, n;
	pthread_t thread;
	double t0;

	err = attach(b, b->hwpt_a);
	if (err)
		return err;
	memset(b->mem_a, 0x5a, LOSS_LEN);
	memset(b->mem_b, 0x5a, LOSS_LEN);
	if (edu_dma(&b->edu, IOVA_BASE, LOSS_LEN, false))
		return EIO;
	t0 = now_us();
	err = pthread_create(&thread, NULL, switch_loop, &sw);
	if (err)
		return err;
	for (n = 0; n < run.loss_dmas; n++) {
		memset(dst_a, 0, LOSS_LEN);
		memset(dst_b, 0, LOSS_LEN);
		if (edu_dma(&b->edu, IOVA_BASE + 4096, LOSS_LEN, true)) {
			err = EIO;
			break;
		}
		b->lost[i] += memcmp(dst_a, b->mem_a, LOSS_LEN) &&
			      memcmp(dst_b, b->mem_b, LOSS_LEN);
	}
	__atomic_store_n(&sw.stop, true, __ATOMIC_SEQ_CST);
	pthread_join(thread, NULL);
	b->dmas[i] += n;
	b->switches[i] += sw.done;
	b->switching_us[i] += now_us() - t0;
	return err ?: sw.err;
}

static int both_prove(struct edu *e1, struct edu *e2, char *mem);

/*
 * The pair bound, the group given a HWPT of its own on each address space
 * (ours.ioas, other) and both devices attached to the first: DMA of both
 * devices proves it there, and after a replace onto the other HWPT, on the
 * other address space; then it goes back.
 */
static int pair_setup(struct bench *b, __u32 other)
{
	struct iommu_replace_device_bind bind = {
		.size = sizeof(bind), .flags = IOMMU_REPLACE_BIND_VFIO_GROUP,
		.vfio_group_fd = b->pair_fd,
	};
	int err = 0;

	for (int i = 0; !err && i < 2; i++) {
		bind.pci_domain = b->pair[i].domain;
		bind.pci_bus = b->pair[i].bus;
		bind.pci_devfn = b->pair[i].devfn;
		err = call(b->ours.fd, IOMMU_REPLACE_DEVICE_BIND, &bind);
		b->pair_dev[i] = bind.out_dev_id;
	}
	return err ?:
	       hwpt_alloc_on(b->ours.fd, b->pair_dev[0], b->ours.ioas,
			     &b->pair_hwpt_a) ?:
	       hwpt_alloc_on(b->ours.fd, b->pair_dev[0], other,
			     &b->pair_hwpt_b) ?:
	       attach_dev(b, b->pair_dev[0], b->pair_hwpt_a) ?:
	       attach_dev(b, b->pair_dev[1], b->pair_hwpt_a) ?:
	       both_prove(&b->pair[0], &b->pair[1], b->mem_a) ?:
	       move(b, TWO_DEVICES, b->pair_hwpt_b, true) ?:
	       both_prove(&b->pair[0], &b->pair[1], b->mem_b) ?:
	       move(b, TWO_DEVICES, b->pair_hwpt_a, true);
}

/*
 * Two populated 64 MiB address spaces; the device, then the pair's group
 * (where there is one), moves between them, by replace and by detach +
 * attach. Before it is timed, the device's DMA proves each address space
 * (which also takes its first attach to the other domain out of the
 * samples). As loaded, DMA across the bench device's switches too.
 */
static int ours_switch(struct bench *b, int route)
{
	struct switch_times *one = &b->sw[route][ONE_DEVICE];
	struct switch_times *two = &b->sw[route][TWO_DEVICES];
	struct mech other = { .name = "the other IOAS", .fd = b->ours.fd };
	int err;

	err = ioas_alloc(b->ours.fd, &other.ioas) ?:
	      hwpt_alloc(b, other.ioas, &b->hwpt_b) ?:
	      mech_map(&b->ours, IOVA_BASE, b->mem_a, SWITCH_LEN) ?:
	      mech_map(&other, IOVA_BASE, b->mem_b, SWITCH_LEN) ?:
	      dma_round_trip(b, &b->ours, b->mem_a, SWITCH_LEN) ?:
	      move(b, ONE_DEVICE, b->hwpt_b, true) ?:
	      dma_round_trip(b, &other, b->mem_b, SWITCH_LEN) ?:
	      move(b, ONE_DEVICE, b->hwpt_a, true) ?:
	      time_switch(b, ONE_DEVICE, true, &one->replace) ?:
	      time_switch(b, ONE_DEVICE, false, &one->detach_attach);
	if (!err && b->pair_fd >= 0)
		err = pair_setup(b, other.ioas) ?:
		      time_switch(b, TWO_DEVICES, true, &two->replace) ?:
		      time_switch(b, TWO_DEVICES, false, &two->detach_attach);
	if (!err && route == ROUTE_AS_LOADED)
		err = dma_loss(b, true) ?: dma_loss(b, false);
	return err;
}

/* The device onto HWPT or IOAS pt: ours, or upstream iommufd's cdev */
static int mech_attach(struct bench *b, struct mech *m, __u32 pt)
{
	struct vfio_device_attach_iommufd_pt cmd = {
		.argsz = sizeof(cmd), .pt_id = pt,
	};

	if (m != &b->iommufd)
		return attach(b, pt);
	return call(b->cdev_fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &cmd);
}

static int destroy_id(int fd, __u32 id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return call(fd, IOMMU_DESTROY, &cmd);
}

/*
 * A new domain for the address space of m (the device dev attached to it
 * through home), which maps NEW_DOMAIN_LEN of 4 KiB pages: IOMMU_HWPT_ALLOC,
 * which maps all of it into the new domain, and the device attached to
 * that (a replace), timed together. DMA through the new domain proves it;
 * then the device goes back home and the domain is destroyed, untimed.
 */
static int time_new_domain(struct bench *b, struct mech *m, __u32 dev,
			   __u32 home)
{
	size_t len = new_domain_len();
	int err = mech_map(m, IOVA_BASE, b->mem[PAGES_4K], len), e;

	if (err)
		return err;
	for (int i = 0; !err && i < run.new_domain_rounds; i++) {
		double t0 = now_us();
		__u32 hwpt;

		err = hwpt_alloc_on(m->fd, dev, m->ioas, &hwpt);
		if (err)
			break;
		err = mech_attach(b, m, hwpt);
		if (!err)
			add_sample(&m->new_domain, now_us() - t0);
		err = err ?: dma_round_trip(b, m, b->mem[PAGES_4K], len);
		/* the first error is the one to report */
		e = mech_attach(b, m, home);
		err = err ?: e;
		e = destroy_id(m->fd, hwpt);
		err = err ?: e;
	}
	e = mech_unmap(m, IOVA_BASE, len);
	return err ?: e;
}

/* --- VFIO type1 ------------------------------------------------------------- */

/*
 * The group in a new type1v2 container, kept in m->fd; ours tells whose
 * backend must serve it: iommu-replace's type1 mode, or the kernel's.
 */
static int type1_setup(struct bench *b, struct mech *m, bool ours)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	int fd, err;

	/* the kernel's own backend, whatever an earlier program unloaded */
	err = edu_load_module("vfio_iommu_type1");
	if (err)
		return -err;
	fd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return errno;
	m->fd = fd;
	if (ioctl(fd, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
	    ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) != 1)
		return ENOTSUP;
	if (call(b->group_fd, VFIO_GROUP_GET_STATUS, &status))
		return errno;
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE))
		return EBUSY;
	err = call(b->group_fd, VFIO_GROUP_SET_CONTAINER, &fd) ?:
	      call(fd, VFIO_SET_IOMMU, (void *)(uintptr_t)VFIO_TYPE1v2_IOMMU);
	if (err)
		return err;
	/* a set container asks its backend alone: ours knows its own type */
	if ((ioctl(fd, VFIO_CHECK_EXTENSION, IOMMU_REPLACE_VFIO_TYPE) == 1) !=
	    ours)
		return EPROTO;
	return 0;
}

/* type1's way to the other address space: unmap the old, map the new */
static int type1_remap(struct bench *b)
{
	int err = mech_map(&b->type1, IOVA_BASE, b->mem_a, SWITCH_LEN);

	for (int i = 0; !err && i < run.remap_rounds; i++) {
		double t0 = now_us();

		err = mech_unmap(&b->type1, IOVA_BASE, SWITCH_LEN) ?:
		      mech_map(&b->type1, IOVA_BASE, i % 2 ? b->mem_a : b->mem_b,
			       SWITCH_LEN);
		add_sample(&b->remap, now_us() - t0);
	}
	return err ?: mech_unmap(&b->type1, IOVA_BASE, SWITCH_LEN);
}

/* --- upstream iommufd: the device's VFIO cdev bound to /dev/iommu ----------- */

/* /dev/vfio/devices/vfioN of the device, from its sysfs vfio-dev directory */
static int cdev_path(struct bench *b, char *path, size_t len)
{
	char dir[128];
	struct dirent *d;
	DIR *dp;
	int err = ENOENT;

	snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s/vfio-dev",
		 b->edu.name);
	dp = opendir(dir);
	if (!dp)
		return errno;
	while ((d = readdir(dp)))
		if (!strncmp(d->d_name, "vfio", 4)) {
			snprintf(path, len, "/dev/vfio/devices/%s", d->d_name);
			err = 0;
			break;
		}
	closedir(dp);
	return err;
}

/*
 * What a VMM does with upstream iommufd: the device's VFIO cdev bound to a
 * new /dev/iommu (kept in m->fd) and attached to a HWPT of a new IOAS
 * (allocated, as ours is: an automatic one would go with every move of
 * the device away from it), BAR0 mapped through the cdev (opening it
 * reset the device). VFIO refuses the cdev
 * while the group file is open (EBUSY), so that is closed first;
 * iommufd_close() opens it again.
 */
static int iommufd_setup(struct bench *b, struct mech *m)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	char path[sizeof("/dev/vfio/devices/") + NAME_MAX];
	int err;

	err = cdev_path(b, path, sizeof(path));
	if (err)
		return err;
	close(b->group_fd);
	b->group_fd = -1;
	b->cdev_fd = open(path, O_RDWR | O_CLOEXEC);
	if (b->cdev_fd < 0)
		return errno;
	m->fd = open(IOMMUFD_PATH, O_RDWR | O_CLOEXEC);
	if (m->fd < 0)
		return errno;
	bind.iommufd = m->fd;
	err = call(b->cdev_fd, VFIO_DEVICE_BIND_IOMMUFD, &bind) ?:
	      ioas_alloc(m->fd, &m->ioas);
	if (err)
		return err;
	b->iommufd_dev = bind.out_devid;
	err = hwpt_alloc_on(m->fd, b->iommufd_dev, m->ioas, &b->iommufd_hwpt);
	if (err)
		return err;
	return mech_attach(b, m, b->iommufd_hwpt) ?:
	       -edu_open_vfio(&b->edu, b->cdev_fd);
}

/*
 * Close the cdev (BAR0 mapped through it first: the mapping holds it open)
 * and the iommufd, then give the device back as the other passes use it:
 * BAR0 through sysfs, the group file open. 0 or an errno.
 */
static int iommufd_close(struct bench *b, struct mech *m)
{
	char path[64];

	edu_close(&b->edu);
	if (b->cdev_fd >= 0)
		close(b->cdev_fd);
	if (m->fd >= 0)
		close(m->fd);
	b->cdev_fd = m->fd = -1;
	m->ioas = 0;
	if (b->group_fd < 0) {
		snprintf(path, sizeof(path), "/dev/vfio/%d", b->edu.group);
		b->group_fd = open(path, O_RDWR | O_CLOEXEC);
		if (b->group_fd < 0)
			return errno;
	}
	return -edu_open(&b->edu);
}

/* --- pinned once: one buffer for two groups' domains ----------------------- */

/*
 * A second iommu group, of two edu functions on the root bus (devices
 * behind the bridge are not taken: QEMU's AMD-Vi does not translate their
 * DMA): both handed to vfio-pci (a group is usable only whole) and opened,
 * in b->pair, the group file in b->pair_fd. 0, or an errno with
 * b->why_no_pair set (ENODEV: the guest has no such group).
 */
static int claim_pair(struct bench *b)
{
	struct edu edus[EDU_MAX];
	int n = edu_find(edus), found = 0, err;
	char path[64];

	if (n < 0) {
		snprintf(b->why_no_pair, sizeof(b->why_no_pair),
			 "the PCI devices cannot be listed: %s", errname(-n));
		return -n;
	}
	for (int i = 0; i < n && found < 2; i++) {
		if (edus[i].group < 0 || edus[i].group == b->edu.group ||
		    edu_behind_bridge(&edus[i]) ||
		    edu_group_size(edus[i].group) != 2 ||
		    (found && edus[i].group != b->pair[0].group))
			continue;
		b->pair[found++] = edus[i];
	}
	if (found < 2) {
		snprintf(b->why_no_pair, sizeof(b->why_no_pair),
			 "no iommu group of two edu functions on the root bus");
		return ENODEV;
	}
	err = -edu_load_vfio_pci();
	for (int i = 0; !err && i < 2; i++)
		err = -edu_use_driver(&b->pair[i], "vfio-pci") ?:
		      -edu_open(&b->pair[i]);
	snprintf(path, sizeof(path), "/dev/vfio/%d", b->pair[0].group);
	if (!err) {
		b->pair_fd = open(path, O_RDWR | O_CLOEXEC);
		err = b->pair_fd < 0 ? errno : 0;
	}
	if (err)
		snprintf(b->why_no_pair, sizeof(b->why_no_pair),
			 "group %d: %s", b->pair[0].group, errname(err));
	return err;
}

static struct pin_count pins_now(void)
{
	long long in, out, locked_kb;
	int fd;

	/*
	 * Fold the CPUs' pending counter deltas into /proc/vmstat first;
	 * without it the counts lag by up to a few hundred pages.
	 */
	fd = open("/proc/sys/vm/stat_refresh", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t done = write(fd, "1", 1);

		(void)done;
		close(fd);
	}
	in = proc_number("/proc/vmstat", "nr_foll_pin_acquired");
	out = proc_number("/proc/vmstat", "nr_foll_pin_released");
	locked_kb = proc_number("/proc/self/status", "VmLck");
	return (struct pin_count){
		.pinned = in < 0 || out < 0 ? PIN_UNKNOWN : in - out,
		.charged = locked_kb < 0 ? PIN_UNKNOWN : locked_kb / 4,
	};
}

/* what was added between two counts; PIN_UNKNOWN where either is */
static struct pin_count pins_added(struct pin_count before,
				   struct pin_count after)
{
	return (struct pin_count){
		.pinned = before.pinned == PIN_UNKNOWN ||
			  after.pinned == PIN_UNKNOWN ? PIN_UNKNOWN :
			  after.pinned - before.pinned,
		.charged = before.charged == PIN_UNKNOWN ||
			   after.charged == PIN_UNKNOWN ? PIN_UNKNOWN :
			   after.charged - before.charged,
	};
}

/*
 * This thread's capabilities: read into saved, or (restore) set back to
 * saved; else CAP_IPC_LOCK taken out of the effective set (it stays
 * permitted). 0 or an errno.
 */
static int ipc_lock_caps(struct __user_cap_data_struct *saved, bool restore)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (restore)
		return syscall(SYS_capset, &hdr, saved) ? errno : 0;
	if (syscall(SYS_capget, &hdr, saved))
		return errno;
	memcpy(data, saved, sizeof(data));
	data[0].effective &= ~(1U << CAP_IPC_LOCK);
	return syscall(SYS_capset, &hdr, data) ? errno : 0;
}

/*
 * The buffer at IOVA_BASE read and written back by each device: each
 * device's domain maps it.
 */
static int both_prove(struct edu *e1, struct edu *e2, char *mem)
{
	return edu_round_trip(e1, mem, 4096, e1->name) ?:
	       edu_round_trip(e2, mem, 4096, e2->name);
}

/*
 * Ours: one IOAS in the process accounting mode (IOMMU_OPTION_RLIMIT_MODE,
 * so the charge shows in VmLck), both devices bound, each attached to a
 * HWPT of its own (two domains), the buffer mapped once.
 */
static int pin_ours(struct bench *b, struct pin_count *added)
{
	struct iommu_option mm_mode = {
		.size = sizeof(mm_mode), .option_id = IOMMU_OPTION_RLIMIT_MODE,
		.op = IOMMU_OPTION_OP_SET, .val64 = 1,
	};
	struct iommu_replace_device_bind bind = {
		.size = sizeof(bind), .flags = IOMMU_REPLACE_BIND_VFIO_GROUP,
	};
	struct edu *e[2] = { &b->edu, &b->pair[0] };
	int groups[2] = { b->group_fd, b->pair_fd };
	struct mech m = { .name = "iommu-replace" };
	struct pin_count before;
	int err = 0;

	m.fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	if (m.fd < 0)
		return errno;
	err = call(m.fd, IOMMU_OPTION, &mm_mode) ?: ioas_alloc(m.fd, &m.ioas);
	for (int i = 0; !err && i < 2; i++) {
		struct iommu_replace_device_attach at = {
			.size = sizeof(at),
		};

		bind.vfio_group_fd = groups[i];
		bind.pci_domain = e[i]->domain;
		bind.pci_bus = e[i]->bus;
		bind.pci_devfn = e[i]->devfn;
		err = call(m.fd, IOMMU_REPLACE_DEVICE_BIND, &bind);
		at.dev_id = bind.out_dev_id;
		err = err ?: hwpt_alloc_on(m.fd, at.dev_id, m.ioas, &at.pt_id) ?:
		      call(m.fd, IOMMU_REPLACE_DEVICE_ATTACH, &at);
	}
	before = pins_now();
	err = err ?: mech_map(&m, IOVA_BASE, b->mem_a, SWITCH_LEN);
	if (!err) {
		*added = pins_added(before, pins_now());
		err = both_prove(&b->edu, &b->pair[0], b->mem_a);
	}
	close(m.fd);
	return err;
}

/*
 * type1: both groups in one container (type1 puts them in one domain when
 * it can), or each in a container of its own, the buffer mapped in each.
 */
static int pin_type1(struct bench *b, int containers, struct pin_count *added)
{
	struct mech m[2] = { { .fd = -1 }, { .fd = -1 } };
	int groups[2] = { b->group_fd, b->pair_fd };
	struct pin_count before;
	int err = 0;

	for (int i = 0; !err && i < containers; i++) {
		m[i].fd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
		if (m[i].fd < 0)
			err = errno;
	}
	for (int i = 0; !err && i < 2; i++) {
		int fd = m[containers == 2 ? i : 0].fd;

		err = call(groups[i], VFIO_GROUP_SET_CONTAINER, &fd);
		if (!err && (containers == 2 || !i))
			err = call(fd, VFIO_SET_IOMMU,
				   (void *)(uintptr_t)VFIO_TYPE1v2_IOMMU);
	}
	before = pins_now();
	for (int i = 0; !err && i < containers; i++)
		err = mech_map(&m[i], IOVA_BASE, b->mem_a, SWITCH_LEN);
	if (!err) {
		*added = pins_added(before, pins_now());
		err = both_prove(&b->edu, &b->pair[0], b->mem_a);
	}
	for (int i = 0; i < 2; i++)
		ioctl(groups[i], VFIO_GROUP_UNSET_CONTAINER);
	for (int i = 0; i < containers; i++)
		if (m[i].fd >= 0)
			close(m[i].fd);
	return err;
}

/*
 * SWITCH_LEN of 4 KiB pages mapped for the bench device's group and a
 * second group, each on its own domain: ours through one IOAS, type1
 * through one container and through a container per group. The pages
 * pinned (the guest's FOLL_PIN count) and charged (the process's locked_vm,
 * CAP_IPC_LOCK left out of the effective set meanwhile: with it ours
 * charges nothing, as upstream iommufd) per page of the buffer. One
 * result; skipped, with the reason, without a second group.
 */
static void pinned_once(struct bench *b)
{
	struct __user_cap_data_struct caps[2];
	struct pinned_once *ways = b->pinned;
	int err, back;

	if (b->pair_err == ENODEV) {
		printf("ok %d - pinned once # SKIP %s\n", ++step_no,
		       b->why_no_pair);
		return;
	}
	ways[0].how = "iommu-replace, one IOAS, a HWPT per group";
	ways[1].how = "VFIO type1, one container for both groups";
	ways[2].how = "VFIO type1, a container per group";
	err = ipc_lock_caps(caps, false);
	if (!err) {
		ways[0].err = pin_ours(b, &ways[0].added);
		ways[1].err = pin_type1(b, 1, &ways[1].added);
		ways[2].err = pin_type1(b, 2, &ways[2].added);
		for (int i = 0; i < PIN_WAYS; i++)
			err = err ?: ways[i].err;
		back = ipc_lock_caps(caps, true);
		err = err ?: back;
	}
	step(!err, "pinned once", "a %lu MiB buffer for group %d (%s) and group %d (%s): %s",
	     SWITCH_LEN >> 20, b->edu.group, b->edu.name, b->pair[0].group,
	     b->pair[0].name, errname(err));
}

static void print_pinned_once(struct pinned_once *ways)
{
	double pages = SWITCH_LEN / 4096;

	if (!ways[0].how)
		return;
	printf("#\n# one %lu MiB buffer of 4 KiB pages mapped for two iommu groups: pages pinned\n"
	       "# (the guest's FOLL_PIN count) and charged (locked_vm) per page of the buffer\n"
	       "# (type1 puts two groups of one container in one domain where it can)\n",
	       SWITCH_LEN >> 20);
	for (int i = 0; i < PIN_WAYS; i++) {
		printf("# %-44s", ways[i].how);
		if (ways[i].added.pinned == PIN_UNKNOWN)
			printf(" pinned unknown");
		else
			printf(" pinned %5.2f", ways[i].added.pinned / pages);
		if (ways[i].added.charged == PIN_UNKNOWN)
			printf("  charged unknown\n");
		else
			printf("  charged %5.2f\n", ways[i].added.charged / pages);
	}
}

/* --- the report ------------------------------------------------------------- */

/*
 * ours, type1 and their ratio; type1 mode and its ratio (type1 over it),
 * upstream iommufd and its ratio (iommufd over ours), each if timed
 */
static void print_row(const char *label, struct samples *ours,
		      struct samples *type1, struct samples *type1_mode,
		      struct samples *iommufd)
{
	struct figure o = summarise(ours), t = summarise(type1), m;

	printf("# %-14s %10.1f %8.0f..%-8.0f %10.1f %8.0f..%-8.0f %6.2f",
	       label, o.median, o.best, o.worst, t.median, t.best, t.worst,
	       t.median / o.median);
	if (type1_mode->n) {
		m = summarise(type1_mode);
		printf(" %10.1f %8.0f..%-8.0f %6.2f", m.median, m.best, m.worst,
		       t.median / m.median);
	}
	if (iommufd->n) {
		m = summarise(iommufd);
		printf(" %10.1f %8.0f..%-8.0f %6.2f", m.median, m.best, m.worst,
		       m.median / o.median);
	}
	printf("\n");
}

/* median, p99 (best..worst), in a column width wide */
static void print_switch_figure(struct samples *s, int width)
{
	struct figure f = summarise(s);
	char text[64];

	snprintf(text, sizeof(text), "%.0f  p99 %.0f (%.0f..%.0f)", f.median,
		 f.p99, f.best, f.worst);
	printf(" %-*s", width, text);
}

static double print_switch(const char *label, struct samples *s)
{
	struct figure f = summarise(s);

	printf("# %-32s %10.0f us (%.0f..%.0f, %d rounds)\n", label, f.median,
	       f.best, f.worst, s->n);
	return f.median;
}

/* One mechanism's scale rows: microseconds per op at each point, slab */
static void print_scale(struct mech *m)
{
	struct scale *sc = &m->scale;

	for (int op = 0; op < 2; op++) {
		printf("# %-26s %-5s", op ? "" : m->name, op ? "unmap" : "map");
		for (int k = 0; k < SCALE_POINTS; k++) {
			struct samples *smp = op ? &sc->unmap[k] : &sc->map[k];

			if (scale_at[k] > run.scale_max)
				continue;
			if (smp->n)
				printf(" %9.1f", summarise(smp).median);
			else
				printf(" %9s", "-");
		}
		if (op)
			printf("\n");
		else if (sc->stopped)
			printf("   stopped at %lu (%s)", sc->reached,
			       errname(sc->stopped));
		else
			printf("   %lu mappings", sc->reached);
		if (!op && sc->slab_per_map >= 0)
			printf("; slab %.0f bytes each\n", sc->slab_per_map);
		else if (!op)
			printf("; slab unknown\n");
	}
}

/*
 * Kernel memory per 4 KiB page of a new_domain_len() map: slab and
 * vmalloc, a column per mechanism
 */
static void print_memory(struct bench *b)
{
	struct mech *mechs[] = { &b->ours, &b->type1, &b->type1_mode,
				 &b->iommufd };
	static const char *const short_names[] = {
		"iommu-rep", "type1", "type1 mode", "iommufd",
	};

	printf("#\n# kernel memory a %zu MiB map takes, bytes per 4 KiB page (last pass): slab\n"
	       "# and vmalloc (/proc/meminfo Slab and VmallocUsed; the IOMMU page tables, the\n"
	       "# same for every mechanism, are in neither)\n",
	       new_domain_len() >> 20);
	printf("# %-32s", "");
	for (int i = 0; i < 4; i++)
		if (mechs[i]->map[PAGES_4K][0].n)
			printf(" %13.13s", short_names[i]);
	printf("\n");
	for (int k = 0; k < BACKINGS; k++) {
		for (int what = 0; b->mem[k] && what < 2; what++) {
			printf("# %-24s %-7s", what ? "" : backing_names[k],
			       what ? "vmalloc" : "slab");
			for (int i = 0; i < 4; i++) {
				struct mech *m = mechs[i];

				if (!m->map[PAGES_4K][0].n)
					continue;
				if (!m->memory_known[k])
					printf(" %13s", "-");
				else
					printf(" %13.1f", what ? m->vmalloc_per_page[k] :
					       m->slab_per_page[k]);
			}
			printf("\n");
		}
	}
}

static void report(struct bench *b)
{
	double replace, remap, new_domain;
	char label[32];

	printf("#\n# microseconds per call, %d passes each; median, then fastest..slowest round\n",
	       run.passes);
	printf("# %-14s %10s %18s %10s %18s %6s", "", "iommu-rep", "", "type1",
	       "", "ratio");
	if (!*b->type1_mode_skipped)
		printf(" %10s %18s %6s", "type1 mode", "", "ratio");
	if (!*b->iommufd_skipped)
		printf(" %10s %18s %6s", "iommufd", "", "ratio");
	printf("\n");
	if (*b->type1_mode_skipped)
		printf("# (type1 mode skipped: %s)\n", b->type1_mode_skipped);
	if (*b->iommufd_skipped)
		printf("# (upstream iommufd skipped: %s)\n", b->iommufd_skipped);
	for (int k = 0; k < BACKINGS; k++) {
		printf("# %s:\n", backing_names[k]);
		if (!b->mem[k]) {
			printf("#   skipped: %s\n", b->why_not[k]);
			continue;
		}
		for (int s = 0; s < SIZES && sizes[s].len <= run.max_len; s++) {
			snprintf(label, sizeof(label), "map %s", sizes[s].name);
			print_row(label, &b->ours.map[k][s], &b->type1.map[k][s],
				  &b->type1_mode.map[k][s], &b->iommufd.map[k][s]);
			snprintf(label, sizeof(label), "unmap %s", sizes[s].name);
			print_row(label, &b->ours.unmap[k][s],
				  &b->type1.unmap[k][s], &b->type1_mode.unmap[k][s],
				  &b->iommufd.unmap[k][s]);
		}
	}
	printf("#\n# up to %lu separate 4 KiB mappings in one address space, of %lu pages: microseconds\n"
	       "# per map (the 1,000 up to N) and unmap (the 1,000 from N, lowest IOVA first) with\n"
	       "# N mappings in it, median of passes; /proc/meminfo Slab per mapping, last pass\n",
	       run.scale_max, SCALE_POOL / 4096);
	printf("# %-26s %-5s", "", "");
	for (int k = 0; k < SCALE_POINTS; k++)
		if (scale_at[k] <= run.scale_max)
			printf(" %9s", scale_names[k]);
	printf("\n");
	print_scale(&b->ours);
	print_scale(&b->type1);
	if (!*b->type1_mode_skipped)
		print_scale(&b->type1_mode);
	if (!*b->iommufd_skipped)
		print_scale(&b->iommufd);
	print_memory(b);
	print_pinned_once(b->pinned);
	printf("#\n# a new domain for an address space mapping %zu MiB (HWPT_ALLOC, which maps it, + attach):\n",
	       new_domain_len() >> 20);
	new_domain = print_switch("iommu-replace", &b->ours.new_domain);
	if (b->iommufd.new_domain.n)
		printf("# %-32s %10.0f us (ratio %.2f)\n", "upstream iommufd",
		       summarise(&b->iommufd.new_domain).median,
		       summarise(&b->iommufd.new_domain).median / new_domain);
	printf("#\n# moving a group to another populated 64 MiB address space, microseconds:\n"
	       "# median, 99th percentile (fastest..slowest), %d rounds a pass\n",
	       run.switch_rounds);
	printf("# %-34s %-28s %s\n", "", "replace", "detach + attach");
	for (int r = 0; r < ROUTES; r++) {
		for (int k = 0; k < GROUP_KINDS; k++) {
			struct switch_times *sw = &b->sw[r][k];
			const char *why = r == ROUTE_FALLBACK &&
					  *b->fallback_skipped ?
					  b->fallback_skipped : b->why_no_pair;

			if (!sw->replace.n) {
				printf("# %-34s skipped: %s\n",
				       switch_cases[r][k], why);
				continue;
			}
			printf("# %-34s", switch_cases[r][k]);
			print_switch_figure(&sw->replace, 28);
			print_switch_figure(&sw->detach_attach, 0);
			printf("\n");
		}
	}
	replace = summarise(&b->sw[ROUTE_AS_LOADED][ONE_DEVICE].replace).median;
	remap = print_switch("VFIO type1, unmap + map", &b->remap);
	printf("# %-32s %10.0fx\n", "type1 over replace", remap / replace);
	printf("#\n# DMA while the device is switched back to back (each DMA samples one instant):\n");
	for (int i = 0; i < 2; i++) {
		double blocked = (double)b->lost[i] / b->dmas[i];

		printf("# %-32s %3lu of %3lu DMAs lost (%2.0f%%) over %lu switches in %.1f s: DMA blocked about %.1f us per switch\n",
		       i ? "iommu-replace, detach + attach" : "iommu-replace, replace",
		       b->lost[i], b->dmas[i], 100 * blocked, b->switches[i],
		       b->switching_us[i] / 1e6,
		       blocked * b->switching_us[i] / b->switches[i]);
	}
}

/* --- the figures for files: JSON, and a TSV for the chart ------------------- */

/* "name": {"median": .., "best": .., "worst": ..} of a mechanism, if timed */
static void json_figure(const char *name, struct samples *s, bool *first)
{
	struct figure f;

	if (!s->n)
		return;
	f = summarise(s);
	printf("%s\"%s\": {\"median\": %.2f, \"p99\": %.2f, \"best\": %.2f, \"worst\": %.2f}",
	       *first ? "" : ", ", name, f.median, f.p99, f.best, f.worst);
	*first = false;
}

static void json_scale(struct mech *m, bool *first)
{
	struct scale *sc = &m->scale;

	printf("%s{\"mechanism\": \"%s\", \"reached\": %lu, \"stopped\": \"%s\", \"slab_bytes_per_mapping\": %.0f",
	       *first ? "" : ", ", m->name, sc->reached,
	       sc->stopped ? errname(sc->stopped) : "", sc->slab_per_map);
	for (int op = 0; op < 2; op++) {
		bool f = true;

		printf(", \"%s_us\": {", op ? "unmap" : "map");
		for (int k = 0; k < SCALE_POINTS; k++)
			json_figure(scale_names[k],
				    op ? &sc->unmap[k] : &sc->map[k], &f);
		printf("}");
	}
	printf("}");
	*first = false;
}

/*
 * One line "# json {...}" with every figure (make bench writes it to
 * bench.json), and "# tsv" lines of each map and unmap row's ratios, type1
 * over ours and upstream iommufd over ours (NaN where not timed): the
 * chart's data (bench.tsv).
 */
static void report_files(struct bench *b)
{
	struct mech *mechs[] = { &b->ours, &b->type1, &b->type1_mode,
				 &b->iommufd };
	const unsigned int nmechs = sizeof(mechs) / sizeof(mechs[0]);
	bool first = true;
	char kernel[128] = "";
	FILE *f = fopen("/proc/sys/kernel/osrelease", "r");

	if (f) {
		if (fgets(kernel, sizeof(kernel), f))
			kernel[strcspn(kernel, "\n")] = 0;
		fclose(f);
	}
	printf("# json {\"kernel\": \"%s\", \"topology\": \"%s\", \"passes\": %d, \"unit\": \"us\", \"rows\": [",
	       kernel, getenv("IORP_TOPOLOGY") ?: "", run.passes);
	for (int k = 0; k < BACKINGS; k++) {
		for (int s = 0; b->mem[k] && s < SIZES &&
		     sizes[s].len <= run.max_len; s++) {
			for (int op = 0; op < 2; op++) {
				bool f2 = true;

				printf("%s{\"op\": \"%s\", \"backing\": \"%s\", \"size\": \"%s\", \"us\": {",
				       first ? "" : ", ", op ? "unmap" : "map",
				       backing_names[k], sizes[s].name);
				for (unsigned int i = 0; i < nmechs; i++) {
					struct mech *m = mechs[i];

					json_figure(m->name, op ? &m->unmap[k][s] :
						    &m->map[k][s], &f2);
				}
				printf("}}");
				first = false;
			}
		}
	}
	printf("], \"scale\": [");
	first = true;
	for (unsigned int i = 0; i < nmechs; i++)
		if (mechs[i]->scale.reached)
			json_scale(mechs[i], &first);
	printf("], \"memory_per_page\": [");
	first = true;
	for (unsigned int i = 0; i < nmechs; i++) {
		for (int k = 0; k < BACKINGS; k++) {
			struct mech *m = mechs[i];

			if (!m->memory_known[k])
				continue;
			printf("%s{\"mechanism\": \"%s\", \"backing\": \"%s\", \"map_bytes\": %zu, \"slab_bytes\": %.1f, \"vmalloc_bytes\": %.1f}",
			       first ? "" : ", ", m->name, backing_names[k],
			       new_domain_len(), m->slab_per_page[k],
			       m->vmalloc_per_page[k]);
			first = false;
		}
	}
	printf("], \"pinned_once\": [");
	for (int i = 0; b->pinned[0].how && i < PIN_WAYS; i++) {
		struct pin_count *c = &b->pinned[i].added;

		printf("%s{\"how\": \"%s\", \"buffer_bytes\": %lu, \"pinned_pages\": ",
		       i ? ", " : "", b->pinned[i].how, SWITCH_LEN);
		if (c->pinned == PIN_UNKNOWN)
			printf("null");
		else
			printf("%lld", c->pinned);
		printf(", \"charged_pages\": ");
		if (c->charged == PIN_UNKNOWN)
			printf("null}");
		else
			printf("%lld}", c->charged);
	}
	printf("], \"switch_us\": {");
	first = true;
	for (int r = 0; r < ROUTES; r++) {
		for (int k = 0; k < GROUP_KINDS; k++) {
			char name[96];

			snprintf(name, sizeof(name), "replace, %s",
				 switch_cases[r][k]);
			json_figure(name, &b->sw[r][k].replace, &first);
			snprintf(name, sizeof(name), "detach + attach, %s",
				 switch_cases[r][k]);
			json_figure(name, &b->sw[r][k].detach_attach, &first);
		}
	}
	json_figure("VFIO type1, unmap + map", &b->remap, &first);
	printf("}, \"new_domain_us\": {");
	first = true;
	json_figure(b->ours.name, &b->ours.new_domain, &first);
	json_figure(b->iommufd.name, &b->iommufd.new_domain, &first);
	printf("}, \"dma_lost\": {\"replace\": [%lu, %lu], \"detach + attach\": [%lu, %lu]}",
	       b->lost[0], b->dmas[0], b->lost[1], b->dmas[1]);
	/* the pinning profile's: how close a map is to pinning alone */
	printf(", \"pin_share\": {");
	first = true;
	for (unsigned int i = 0; i < nmechs; i++) {
		struct mech *m = mechs[i];

		if (!m->traced_pin_us)
			continue;
		printf("%s\"%s\": {\"map_us_traced\": %.1f, \"pin_us_traced\": %.1f, \"map_over_pin\": %.3f}",
		       first ? "" : ", ", m->name, m->traced_map_us,
		       m->traced_pin_us, m->traced_map_us / m->traced_pin_us);
		first = false;
	}
	printf("}}\n");

	for (int k = 0; k < BACKINGS; k++) {
		for (int s = 0; b->mem[k] && s < SIZES &&
		     sizes[s].len <= run.max_len; s++) {
			for (int op = 0; op < 2; op++) {
				struct samples *o = op ? &b->ours.unmap[k][s] :
						    &b->ours.map[k][s];
				struct samples *t = op ? &b->type1.unmap[k][s] :
						    &b->type1.map[k][s];
				struct samples *u = op ? &b->iommufd.unmap[k][s] :
						    &b->iommufd.map[k][s];
				double om = summarise(o).median;

				printf("# tsv %s %s, %s\t%.3f\t", op ? "unmap" : "map",
				       sizes[s].name, backing_names[k],
				       summarise(t).median / om);
				if (u->n)
					printf("%.3f\n", summarise(u).median / om);
				else
					printf("NaN\n");
			}
		}
	}
}

/* Anonymous memory, 2 MiB aligned, populated; huge: as THP, else 4 KiB pages */
static char *anonymous(size_t len, bool huge)
{
	char *p = mmap(NULL, len + HUGE_2M, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	p = (char *)(((uintptr_t)p + HUGE_2M - 1) & ~(HUGE_2M - 1));
	madvise(p, len, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	memset(p, 0x5a, len);
	return p;
}

/*
 * 4 KiB pages in shuffled physical order: len of anonymous memory faulted
 * in the order of a permutation of its pages, so that pages next to each
 * other in the buffer come from faults far apart, and rarely from frames
 * next to each other.
 */
static char *shuffled(size_t len)
{
	size_t n = len / 4096;
	char *p = mmap(NULL, len + HUGE_2M, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	p = (char *)(((uintptr_t)p + HUGE_2M - 1) & ~(HUGE_2M - 1));
	madvise(p, len, MADV_NOHUGEPAGE);
	/* an odd stride is prime to n, a power of two */
	for (size_t i = 0; i < n; i++)
		memset(p + (i * 40503 + 11) % n * 4096, 0x5a, 4096);
	return p;
}

/* How much of the process's anonymous memory is in huge pages, in MiB. */
static long anon_huge_mib(void)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "r");
	char line[128];
	long kib = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "AnonHugePages: %ld kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib < 0 ? -1 : kib >> 10;
}

/* nr_hugepages before hugetlb() raised it, to put back at the end; or -1 */
static long hugepages_before = -1;

static int set_nr_hugepages(long n)
{
	FILE *f = fopen("/proc/sys/vm/nr_hugepages", "w");
	int err = !f || fprintf(f, "%ld\n", n) < 0;

	if (f)
		err |= fclose(f);
	return err ? EIO : 0;
}

/*
 * hugetlbfs 2 MiB pages: as many more as len needs, reserved, populated;
 * the pool goes back to what it was when they are freed (release_hugetlb()).
 */
static char *hugetlb(size_t len, char *why, size_t why_len)
{
	FILE *f = fopen("/proc/sys/vm/nr_hugepages", "r");
	long have = -1;
	char *p;

	if (f && fscanf(f, "%ld", &have) != 1)
		have = -1;
	if (f)
		fclose(f);
	if (have < 0 || set_nr_hugepages(have + len / HUGE_2M)) {
		snprintf(why, why_len, "cannot raise /proc/sys/vm/nr_hugepages");
		return NULL;
	}
	hugepages_before = have;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB |
		 MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED) {
		snprintf(why, why_len, "%zu MiB of hugetlbfs 2 MiB pages not available (%s)",
			 len >> 20, errname(errno));
		/* what the pool did get is for the other kinds of memory */
		set_nr_hugepages(have);
		hugepages_before = -1;
		return NULL;
	}
	memset(p, 0x5a, len);
	return p;
}

/* Free the hugetlbfs pages and shrink the pool back. */
static void release_hugetlb(char *p, size_t len)
{
	if (p)
		munmap(p, len);
	if (hugepages_before >= 0)
		set_nr_hugepages(hugepages_before);
}

/*
 * The memory of every backing, and a second 64 MiB to switch to; the huge
 * pages first, while the guest's memory is not yet fragmented.
 */
static int buffers(struct bench *b)
{
	long huge;

	b->mem[HUGETLB] = hugetlb(run.max_len, b->why_not[HUGETLB],
				  sizeof(b->why_not[HUGETLB]));
	huge = anon_huge_mib();
	b->mem[THP] = anonymous(run.max_len, true);
	if (!b->mem[THP]) {
		snprintf(b->why_not[THP], sizeof(b->why_not[THP]),
			 "no %zu MiB of memory: %s", run.max_len >> 20,
			 errname(errno));
	} else {
		huge = huge >= 0 ? anon_huge_mib() - huge : -1;
		if (huge * 2 < (long)(run.max_len >> 20)) {
			snprintf(b->why_not[THP], sizeof(b->why_not[THP]),
				 "only %ld of %zu MiB in transparent huge pages",
				 huge, run.max_len >> 20);
			munmap(b->mem[THP], run.max_len);
			b->mem[THP] = NULL;
		}
	}
	b->mem[PAGES_4K] = anonymous(run.max_len > SWITCH_LEN ? run.max_len :
				     SWITCH_LEN, false);
	b->mem_b = anonymous(SWITCH_LEN, false);
	if (!b->mem[PAGES_4K] || !b->mem_b)
		return ENOMEM;
	b->mem_a = b->mem[PAGES_4K];
	b->mem[SCATTERED] = shuffled(run.max_len);
	if (!b->mem[SCATTERED])
		snprintf(b->why_not[SCATTERED], sizeof(b->why_not[SCATTERED]),
			 "no %zu MiB to fault in shuffled: %s", run.max_len >> 20,
			 errname(errno));
	printf("# memory: %zu MiB of each backing; transparent huge pages: %ld MiB\n",
	       run.max_len >> 20, huge);
	return 0;
}

/* Close our context, which unbinds its devices and frees its objects. */
static void ours_close(struct bench *b)
{
	if (b->ours.fd >= 0)
		close(b->ours.fd);
	b->ours.fd = -1;
}

/* One pass of iommu-replace: bind, prove, time, and close (which unbinds) */
static int ours_pass(struct bench *b, int pass)
{
	int err;

	err = ours_setup(b) ?: prove_dma(b, &b->ours, b->mem_a, SWITCH_LEN);
	step(!err, "iommu-replace", "pass %d, iommu-replace: bound, attached to HWPT %u of IOAS %u, DMA through it: %s",
	     pass, b->hwpt_a, b->ours.ioas, errname(err));
	err = err ?: time_map_unmap(b, &b->ours) ?: time_scale(b, &b->ours) ?:
	      time_new_domain(b, &b->ours, b->dev, b->hwpt_a) ?:
	      ours_switch(b, ROUTE_AS_LOADED);
	ours_close(b);
	return err;
}

/* Take the group out of a type1 container and close it. */
static void type1_close(struct bench *b, struct mech *m)
{
	if (m->fd >= 0) {
		ioctl(b->group_fd, VFIO_GROUP_UNSET_CONTAINER);
		close(m->fd);
	}
	m->fd = -1;
}

/* One pass of type1: a container for the group, prove, time, take it out */
static int type1_pass(struct bench *b, int pass)
{
	int err;

	err = type1_setup(b, &b->type1, false) ?:
	      prove_dma(b, &b->type1, b->mem_a, SWITCH_LEN);
	step(!err, "VFIO type1", "pass %d, VFIO type1: group %d in a type1v2 container, DMA through it: %s",
	     pass, b->edu.group, errname(err));
	err = err ?: time_map_unmap(b, &b->type1) ?: time_scale(b, &b->type1) ?:
	      type1_remap(b);
	type1_close(b, &b->type1);
	return err;
}

/*
 * iommu-replace loaded again from the suite's file, in type1 mode or not.
 * A file closed a moment ago may still hold the module (its release runs
 * later): a few tries, 100 ms apart. 0 or an errno.
 */
static int ours_reload(const char *params)
{
	int err;

	for (int tries = 0; tries < 50; tries++) {
		err = edu_unload_ours();
		if (err != -EWOULDBLOCK)
			break;
		usleep(100 * 1000);
	}
	if (err && err != -ENOENT)
		return -err;
	return -edu_load_ours(params);
}

/*
 * One pass of type1 mode: the module in type1 mode, a container for the
 * group (ours now), prove, time, take it out, the module loaded as it was
 * (also after a failure). Two results, both skipped when type1 mode cannot
 * be had, with the reason. The module's counters start again with each
 * load, so the suite's final "nothing left" check sees the last load only.
 */
static int type1_mode_pass(struct bench *b, int pass)
{
	const char *ko = getenv("IORP_KO");
	char *why = b->type1_mode_skipped;
	size_t why_len = sizeof(b->type1_mode_skipped);
	const char *failed = "timing";
	int err, back;

	if (!ko || !*ko)
		snprintf(why, why_len, "the module file is not known (no IORP_KO)");
	else if (!edu_module_param_set("vfio_backend"))
		snprintf(why, why_len, "the module has no VFIO backend for this kernel");
	if (*why) {
		printf("ok %d - iommu-replace type1 mode # SKIP %s\n", ++step_no, why);
		printf("ok %d - iommu-replace type1 mode timed # SKIP %s\n", ++step_no, why);
		return 0;
	}
	err = ours_reload("vfio_type1=1") ?:
	      type1_setup(b, &b->type1_mode, true) ?:
	      prove_dma(b, &b->type1_mode, b->mem_a, SWITCH_LEN);
	step(!err, "iommu-replace type1 mode", "pass %d, iommu-replace loaded again with vfio_type1=1: group %d in a type1v2 container of ours, DMA through it: %s",
	     pass, b->edu.group, errname(err));
	err = err ?: time_map_unmap(b, &b->type1_mode) ?:
	      time_scale(b, &b->type1_mode);
	type1_close(b, &b->type1_mode);
	back = ours_reload(NULL);
	if (!err && back)
		failed = "loading iommu-replace again without vfio_type1";
	err = err ?: back;
	step(!err, "iommu-replace type1 mode timed", err ? "pass %d, %s: %s" : NULL,
	     pass, failed, errname(err));
	return err;
}

/*
 * Does the module file (IORP_KO) use the kernel's native replace where it
 * can? Its modinfo "compat" line says what its build found. 1, 0, or -1
 * where the file's modinfo cannot be read.
 */
static int module_has_native_replace(const char *ko)
{
	struct kmod_list *info = NULL, *l;
	struct kmod_module *mod;
	struct kmod_ctx *ctx;
	int native = -1;

	ctx = kmod_new(NULL, NULL);
	if (!ctx)
		return -1;
	if (!kmod_module_new_from_path(ctx, ko, &mod)) {
		if (kmod_module_get_info(mod, &info) > 0) {
			native = 0;
			kmod_list_foreach(l, info) {
				const char *key = kmod_module_info_get_key(l);
				const char *value = kmod_module_info_get_value(l);

				if (key && value && !strcmp(key, "compat") &&
				    strstr(value, "iommu_group_replace_domain=yes"))
					native = 1;
			}
			kmod_module_info_free_list(info);
		}
		kmod_module_unref(mod);
	}
	kmod_unref(ctx);
	return native;
}

/*
 * One pass of the fallback switch: the module loaded again with
 * force_fallback=1, so it switches groups by its own route even where the
 * kernel has iommu_group_replace_domain(); the switch rows timed again; the
 * module loaded as it was (also after a failure). One result, skipped
 * without the module's file (IORP_KO), or where the module has no native
 * route (there the rows as loaded are the fallback's).
 */
static int fallback_pass(struct bench *b, int pass)
{
	const char *ko = getenv("IORP_KO");
	int err, back, native = ko && *ko ? module_has_native_replace(ko) : 0;

	if (ko && *ko && native < 0) {
		step(false, "iommu-replace force_fallback", "pass %d: the modinfo of %s cannot be read",
		     pass, ko);
		return EIO;
	}
	if (!ko || !*ko)
		snprintf(b->fallback_skipped, sizeof(b->fallback_skipped),
			 "the module file is not known (no IORP_KO)");
	else if (!native)
		snprintf(b->fallback_skipped, sizeof(b->fallback_skipped),
			 "no native route on this kernel: the rows above are the fallback's");
	if (*b->fallback_skipped) {
		printf("ok %d - iommu-replace force_fallback # SKIP %s\n",
		       ++step_no, b->fallback_skipped);
		return 0;
	}
	err = ours_reload("force_fallback=1");
	/* the rows below are the fallback's only if the module took it */
	if (!err && !edu_module_param_set("force_fallback")) {
		printf("# force_fallback does not read Y after the module was loaded with it\n");
		err = EINVAL;
	}
	err = err ?: ours_setup(b) ?:
	      prove_dma(b, &b->ours, b->mem_a, SWITCH_LEN) ?:
	      ours_switch(b, ROUTE_FALLBACK);
	ours_close(b);
	back = ours_reload(NULL);
	err = err ?: back;
	step(!err, "iommu-replace force_fallback", "pass %d, iommu-replace loaded again with force_fallback=1, the switch timed: %s",
	     pass, errname(err));
	return err;
}

/* Is upstream iommufd missing? Then b->iommufd_skipped says why. */
static bool iommufd_missing(struct bench *b)
{
	char cdev[sizeof("/dev/vfio/devices/") + NAME_MAX];
	char *why = b->iommufd_skipped;

	if (access(IOMMUFD_PATH, F_OK))
		snprintf(why, sizeof(b->iommufd_skipped),
			 "this kernel has no %s (CONFIG_IOMMUFD)", IOMMUFD_PATH);
	else if (cdev_path(b, cdev, sizeof(cdev)))
		snprintf(why, sizeof(b->iommufd_skipped),
			 "the device has no VFIO cdev (CONFIG_VFIO_DEVICE_CDEV)");
	return *why;
}

/*
 * One pass of upstream iommufd, where the kernel has it (the reference
 * kernel of make bench): the device's cdev bound to /dev/iommu, prove,
 * time, close, the device given back. Two results, both skipped without
 * /dev/iommu, with the reason.
 */
static int iommufd_pass(struct bench *b, int pass)
{
	char *why = b->iommufd_skipped;
	int err, back;

	if (iommufd_missing(b)) {
		printf("ok %d - upstream iommufd # SKIP %s\n", ++step_no, why);
		printf("ok %d - upstream iommufd timed # SKIP %s\n", ++step_no, why);
		return 0;
	}
	err = iommufd_setup(b, &b->iommufd) ?:
	      prove_dma(b, &b->iommufd, b->mem_a, SWITCH_LEN);
	step(!err, "upstream iommufd", "pass %d, upstream iommufd: the device's VFIO cdev bound to %s, attached to HWPT %u of IOAS %u, DMA through it: %s",
	     pass, IOMMUFD_PATH, b->iommufd_hwpt, b->iommufd.ioas,
	     errname(err));
	err = err ?: time_map_unmap(b, &b->iommufd) ?:
	      time_scale(b, &b->iommufd) ?:
	      time_new_domain(b, &b->iommufd, b->iommufd_dev, b->iommufd_hwpt);
	back = iommufd_close(b, &b->iommufd);
	err = err ?: back;
	step(!err, "upstream iommufd timed", err ? "pass %d: %s" : NULL, pass,
	     errname(err));
	return err;
}

/* What a profile times and traces. */
enum profile_kind {
	PROFILE_ONE_PAGE,	/* map + unmap of one page, again and again */
	PROFILE_FRESH,		/* as the scale rows at 1,000 mappings */
	PROFILE_PIN,		/* 64 MiB maps, unmaps untraced: pinning's share */
	PROFILE_KINDS
};

static const struct {
	const char *step, *what;
} profile_kinds[PROFILE_KINDS] = {
	[PROFILE_ONE_PAGE] = { "", "one-page map + unmap" },
	[PROFILE_FRESH] = { ", fresh mappings", "one-page map + unmap" },
	[PROFILE_PIN] = { ", 64 MiB maps", "64 MiB map" },
};

/*
 * Pinning, for PROFILE_PIN: the time in the kernel's two exported calls
 * that pin user pages, whichever a mechanism uses (ours and upstream
 * iommufd the first for the mapping process, type1 the second); charging
 * the pages and recording them are each mechanism's own, counted as the
 * rest.
 */
static const char *const pin_functions[] = {
	"pin_user_pages_fast", "pin_user_pages_remote",
};

#define PIN_FUNCTIONS	(sizeof(pin_functions) / sizeof(pin_functions[0]))

/*
 * The operations of a profile, n of each, timed (untraced) or traced:
 * PROFILE_ONE_PAGE maps and unmaps the same page at the same IOVA, one
 * after the other; PROFILE_FRESH makes n separate mappings, then unmaps
 * them all in the same order; PROFILE_PIN maps 64 MiB of 4 KiB pages and
 * unmaps it with the tracer paused. Adds to untraced the time per map +
 * unmap (each pair's, the mean of the fresh ones) or per map (PIN).
 */
static int profile_ops(struct bench *b, struct mech *m, enum profile_kind kind,
		       unsigned long n, struct samples *untraced)
{
	double t0 = now_us();
	unsigned long i;
	int err = 0;

	switch (kind) {
	case PROFILE_ONE_PAGE:
		for (i = 0; !err && i < n; i++) {
			t0 = now_us();
			err = mech_map(m, IOVA_BASE, b->mem[PAGES_4K], 4096) ?:
			      mech_unmap(m, IOVA_BASE, 4096);
			if (untraced)
				add_sample(untraced, now_us() - t0);
		}
		return err;
	case PROFILE_PIN:
		for (i = 0; !err && i < n; i++) {
			t0 = now_us();
			err = mech_map(m, IOVA_BASE, b->mem[PAGES_4K], SWITCH_LEN);
			if (!err && untraced)
				add_sample(untraced, now_us() - t0);
			/* a failure here is the program's (why stays empty) */
			if (!err && !untraced)
				err = profile_pause(true);
			err = err ?: mech_unmap(m, IOVA_BASE, SWITCH_LEN);
			if (!err && !untraced)
				err = profile_pause(false);
		}
		return err;
	case PROFILE_FRESH:
	default:
		break;
	}
	for (i = 0; !err && i < n; i++)
		err = mech_map(m, scale_iova(i), scale_va(b, i), 4096);
	if (err) {
		/* the i - 1 made before the failure, in one call */
		if (i > 1)
			mech_unmap(m, scale_iova(0), (i - 1) * 4096);
		return err;
	}
	/* a failure leaves the rest mapped: closing m unmaps them */
	for (i = 0; !err && i < n; i++)
		err = mech_unmap(m, scale_iova(i), 4096);
	if (!err && untraced)
		add_sample(untraced, (now_us() - t0) / n);
	return err;
}

/*
 * Where the maps and unmaps of m spend their time: ops of each untraced
 * (their time), then as many traced by the function graph tracer. 0 or an
 * errno; an errno with why set: the kernel cannot trace.
 */
static int profile_mech(struct bench *b, struct mech *m, enum profile_kind kind,
			unsigned long ops, char *why, size_t why_len)
{
	/* PROFILE_PIN traces the maps only */
	unsigned long calls = kind == PROFILE_PIN ? ops : 2 * ops, seen = 0;
	static struct call_tree tree;
	static struct samples untraced;
	char only[96];
	int err, e;

	untraced.n = 0;
	err = profile_ops(b, m, kind, ops, &untraced);
	/*
	 * PROFILE_PIN traces ioctl() and the pin calls alone: tracing every
	 * call would add the tracer's cost to GUP's calls per page and swamp
	 * the pin's time
	 */
	if (kind == PROFILE_PIN)
		snprintf(only, sizeof(only), "__x64_sys_ioctl %s %s",
			 pin_functions[0], pin_functions[1]);
	err = err ?: profile_start(PROFILE_GRAPH_DEPTH,
				   kind == PROFILE_PIN ? only : NULL, why,
				   why_len);
	if (err)
		return err;
	err = profile_ops(b, m, kind, ops, NULL);
	/* a failure here is the program's: why stays empty, no skip */
	e = profile_stop(&tree);
	err = err ?: e;
	if (err)
		return err;
	/* every ioctl() entered and left inside the trace: the tree is whole */
	for (int i = 0; i < tree.n; i++)
		if (tree.node[i].parent < 0 &&
		    !strcmp(tree.node[i].name, "__x64_sys_ioctl"))
			seen = tree.node[i].calls;
	printf("#\n# %s: a %s takes %.1f us untraced (%s); traced (%s),\n"
	       "# microseconds and calls per %s%s%s%s:\n",
	       m->name, profile_kinds[kind].what, summarise(&untraced).median,
	       kind == PROFILE_FRESH ? "the mean, as in the scale rows" : "median",
	       kind == PROFILE_PIN ? "only three functions hooked" :
	       "the tracer's cost in every figure",
	       profile_kinds[kind].what,
	       tree.lost ? "; THE TRACE BUFFER LOST EVENTS" : "",
	       seen != calls ? "; NOT EVERY CALL WAS TRACED" : "",
	       tree.full ? "; the tree was full, paths left out" : "");
	profile_print(&tree, -1, ops, PROFILE_MIN_US);
	/* a tree with calls missing would mislead: the step fails */
	if (tree.lost || seen != calls)
		return EIO;
	if (kind == PROFILE_PIN) {
		double all = profile_time_in(&tree, "__x64_sys_ioctl") / ops;
		double pin = 0;

		for (size_t i = 0; i < PIN_FUNCTIONS; i++)
			pin += profile_time_in(&tree, pin_functions[i]) / ops;
		/* a map that pinned nothing would be no map of 64 MiB */
		if (pin <= 0 || all <= 0) {
			printf("# %s: no call to %s or %s in the graph\n",
			       m->name, pin_functions[0], pin_functions[1]);
			return EIO;
		}
		m->traced_map_us = all;
		m->traced_pin_us = pin;
		printf("# %s: pinning (GUP) takes %.0f%% of a 64 MiB map; the map costs %.2f times its pinning\n",
		       m->name, 100 * pin / all, all / pin);
	}
	return 0;
}

/*
 * One profile's result: a skip with why (no tracer), or a step. A failed
 * one leaves no pin share for bench.json.
 */
static void profile_step(struct mech *m, enum profile_kind kind, int err,
			 const char *why)
{
	const char *what = m->name;
	char name[96];

	if (err)
		m->traced_map_us = m->traced_pin_us = 0;

	snprintf(name, sizeof(name), "profile %s%s", what,
		 profile_kinds[kind].step);
	if (*why && err)
		printf("ok %d - %s # SKIP %s\n", ++step_no, name, why);
	else
		step(!err, name, err ? "%s: %s" : NULL, name, errname(err));
}

/*
 * The profiles after the table: ours, type1 and upstream iommufd (where
 * the kernel has it), each set up afresh, of one kind.
 */
static void profile_pass(struct bench *b, enum profile_kind kind)
{
	unsigned long ops = kind == PROFILE_FRESH ? run.profile_fresh :
			    kind == PROFILE_PIN ? run.profile_pin :
			    run.profile_ops;
	char why[160] = "";
	int err, back;

	switch (kind) {
	case PROFILE_ONE_PAGE:
		printf("#\n# where one-page maps and unmaps spend their time: ftrace's function graph\n"
		       "# of %lu of each, ", ops);
		break;
	case PROFILE_FRESH:
		printf("#\n# where maps and unmaps of %lu fresh separate mappings spend their time, as the\n"
		       "# scale rows at a thousand mappings (all mapped, then all unmapped in order):\n"
		       "# ftrace's function graph, ", ops);
		break;
	default:
		printf("#\n# pinning's share of a map: %lu maps of 64 MiB of 4 KiB pages (their unmaps\n"
		       "# untraced), ftrace's function graph, ", ops);
		break;
	}
	if (kind == PROFILE_PIN)
		printf("of ioctl(), %s and %s alone\n", pin_functions[0],
		       pin_functions[1]);
	else
		printf("%d calls deep from ioctl(), nodes of %.1f us or more\n",
		       PROFILE_GRAPH_DEPTH, PROFILE_MIN_US);
	err = ours_setup(b) ?:
	      profile_mech(b, &b->ours, kind, ops, why, sizeof(why));
	ours_close(b);
	profile_step(&b->ours, kind, err, why);

	*why = 0;
	err = type1_setup(b, &b->type1, false) ?:
	      profile_mech(b, &b->type1, kind, ops, why, sizeof(why));
	type1_close(b, &b->type1);
	profile_step(&b->type1, kind, err, why);

	if (iommufd_missing(b)) {
		printf("ok %d - profile upstream iommufd%s # SKIP %s\n",
		       ++step_no, profile_kinds[kind].step, b->iommufd_skipped);
		return;
	}
	*why = 0;
	err = iommufd_setup(b, &b->iommufd) ?:
	      profile_mech(b, &b->iommufd, kind, ops, why, sizeof(why));
	back = iommufd_close(b, &b->iommufd);
	err = err ?: back;
	profile_step(&b->iommufd, kind, err, why);
}

int main(int argc, char **argv)
{
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
	static struct bench b = {
		.group_fd = -1,
		.ours = { .name = "iommu-replace", .fd = -1 },
		.type1 = { .name = "VFIO type1", .fd = -1, .capped = true },
		.type1_mode = { .name = "iommu-replace type1 mode", .fd = -1 },
		.iommufd = { .name = "upstream iommufd", .fd = -1 },
		.cdev_fd = -1,
		.pair_fd = -1,
	};
	int err;

	bool profile_only = argc > 1 && !strcmp(argv[1], "--profile");
	bool reported;

	if (argc > 1 && !strcmp(argv[1], "--short"))
		run = short_run;
	/* the profiles alone, of the smallest buffers */
	if (profile_only) {
		run.passes = 0;
		run.max_len = short_run.max_len;
	}
	/*
	 * the device, then per pass: ours, type1, type1 mode, fallback,
	 * iommufd, timed; then pinned once and the profiles of ours, type1
	 * and iommufd, of each kind
	 */
	printf("TAP version 13\n1..%d\n",
	       1 + 9 * run.passes + !profile_only + 3 * PROFILE_KINDS);
	err = setrlimit(RLIMIT_MEMLOCK, &unlimited) ? errno : buffers(&b) ?:
	      -edu_claim_alone(&b.edu, &b.group_fd);
	/* a second group the guest has must work; none is a skip */
	b.pair_err = ENODEV;
	if (!err && !profile_only) {
		b.pair_err = claim_pair(&b);
		printf("# a second iommu group: %s\n", b.pair_err ? b.why_no_pair :
		       "two edu functions");
		if (b.pair_err != ENODEV)
			err = b.pair_err;
	}
	step(!err, "device", "edu %s alone in iommu group %d, on vfio-pci%s; memory of each backing: %s",
	     b.edu.name, b.edu.group, b.pair_err ? "" : ", and a second group",
	     errname(err));
	for (int pass = 1; !err && pass <= run.passes; pass++) {
		err = ours_pass(&b, pass);
		step(!err, "iommu-replace timed", NULL);
		err = err ?: type1_pass(&b, pass);
		step(!err, "VFIO type1 timed", NULL);
		err = err ?: type1_mode_pass(&b, pass);
		err = err ?: fallback_pass(&b, pass);
		err = err ?: iommufd_pass(&b, pass);
	}
	if (!err && !profile_only)
		pinned_once(&b);
	/* the table, the profiles, then the files (with the pin's share) */
	reported = !failures && !profile_only;
	if (reported)
		report(&b);
	if (!failures) {
		for (int kind = 0; kind < PROFILE_KINDS; kind++)
			profile_pass(&b, kind);
	}
	if (reported)
		report_files(&b);
	if (b.group_fd >= 0)
		close(b.group_fd);
	if (b.pair_fd >= 0)
		close(b.pair_fd);
	edu_close(&b.edu);
	edu_close(&b.pair[0]);
	edu_close(&b.pair[1]);
	release_hugetlb(b.mem[HUGETLB], run.max_len);
	return failures ? 1 : 0;
}
