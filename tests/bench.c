// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench - what "make bench" prints: the cost of iommu-replace's operations
 * on a real device, each next to VFIO type1 measured in the same guest, on
 * the same edu device, with the same memory at the same IOVA.
 *
 *   map / unmap  IOMMU_IOAS_MAP and IOMMU_IOAS_UNMAP on an IOAS the device
 *                is attached to, against VFIO_IOMMU_MAP_DMA and
 *                VFIO_IOMMU_UNMAP_DMA on a type1v2 container holding the
 *                device's group: one 4 KiB page, 2 MiB, 64 MiB.
 *   switch       moving the device from one populated 64 MiB address space
 *                to another: IOMMU_REPLACE_DEVICE_ATTACH straight onto the
 *                other HWPT (replace), detach then attach, and what type1
 *                offers instead (one address space per container, so the
 *                VMM unmaps the old memory and maps the new).
 *   DMA lost     the device writes LOSS_DMAS times a pass while another
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
 * The two mechanisms take turns, PASSES times each (the device is bound
 * to iommu-replace, then its group is put in a container, and so on), so
 * that whatever slows the guest for a while (TCG warming up, the host's
 * load) falls on both. Each figure is the median of all rounds of all
 * passes, with the fastest and slowest round beside it; the ratio is
 * type1's median over ours (above 1: iommu-replace is faster). In every
 * pass a DMA of the edu device through the mechanism proves its mapping is
 * the one the device uses. The TAP results say only whether each step
 * worked; no figure is judged. Under QEMU TCG absolute times are slow; the
 * ratios are what carries over.
 */
#include <errno.h>
#include <fcntl.h>
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
#include <time.h>
#include <unistd.h>

#include <linux/iommu_replace.h>
#include <linux/vfio.h>

#include "edu.h"
#include "report.h"

#define DEV_PATH	"/dev/iommu-replace"
#define IOVA_BASE	0x1000000ULL	/* 16 MiB: all of it below edu's 28-bit mask */
#define BIG		(64UL << 20)
#define PASSES		5
#define STEPS		(1 + 4 * PASSES)	/* the device, then two per mechanism and pass */
#define SIZES		3
#define MAX_SAMPLES	(200 * PASSES)

/* rounds per pass */
static const struct {
	const char *name;
	size_t len;
	int rounds;
} sizes[SIZES] = {
	{ "4 KiB", 4096, 200 },
	{ "2 MiB", 2UL << 20, 20 },
	{ "64 MiB", BIG, 3 },
};

#define SWITCH_ROUNDS	50
#define REMAP_ROUNDS	3
#define LOSS_DMAS	20	/* x PASSES: a hundred DMAs per way of switching */
#define LOSS_LEN	64

/* timed rounds of one operation, in microseconds, from every pass */
struct samples {
	double t[MAX_SAMPLES];
	int n;
};

struct figure {
	double median, best, worst;
};

/* the mechanism under test: iommu-replace's IOAS or a type1 container */
struct mech {
	const char *name;
	int fd;			/* /dev/iommu-replace or the container */
	__u32 ioas;		/* iommu-replace only */
	struct samples map[SIZES], unmap[SIZES];
};

struct bench {
	struct edu edu;
	int group_fd;
	char *mem_a, *mem_b;	/* BIG each, populated */
	struct mech ours, type1;
	__u32 dev, hwpt_a, hwpt_b;
	struct samples replace, detach_attach, remap;
	/* DMA across switches: [0] replace, [1] detach + attach */
	unsigned long dmas[2], lost[2], switches[2];
	double switching_us[2];
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
		.median = s->t[s->n / 2], .best = s->t[0], .worst = s->t[s->n - 1],
	};
}

/* --- the two mechanisms ---------------------------------------------------- */

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
 * The device copies the first bytes of the mapped memory to the page after
 * them, through the IOMMU: proof that this mechanism's mapping is the one
 * the device uses.
 */
static int prove_dma(struct bench *b, struct mech *m)
{
	char *mem = b->mem_a;
	int err;

	snprintf(mem, 64, "read through %s", m->name);
	memset(mem + 4096, 0, 64);
	err = mech_map(m, IOVA_BASE, mem, BIG);
	if (err)
		return err;
	if (edu_dma(&b->edu, IOVA_BASE, 64, false) ||
	    edu_dma(&b->edu, IOVA_BASE + 4096, 64, true) ||
	    memcmp(mem, mem + 4096, 64))
		err = EIO;
	return mech_unmap(m, IOVA_BASE, BIG) ?: err;
}

/* Map and unmap each size in turn, timing each call. */
static int time_map_unmap(struct bench *b, struct mech *m)
{
	for (int s = 0; s < SIZES; s++) {
		for (int i = 0; i < sizes[s].rounds; i++) {
			double t0 = now_us(), t1;
			int err = mech_map(m, IOVA_BASE, b->mem_a, sizes[s].len);

			t1 = now_us();
			err = err ?: mech_unmap(m, IOVA_BASE, sizes[s].len);
			if (err)
				return err;
			add_sample(&m->map[s], t1 - t0);
			add_sample(&m->unmap[s], now_us() - t1);
		}
	}
	return 0;
}

/* --- iommu-replace ---------------------------------------------------------- */

static int attach(struct bench *b, __u32 pt)
{
	struct iommu_replace_device_attach cmd = {
		.size = sizeof(cmd), .dev_id = b->dev, .pt_id = pt,
	};

	return call(b->ours.fd, IOMMU_REPLACE_DEVICE_ATTACH, &cmd);
}

static int detach(struct bench *b)
{
	struct iommu_replace_device_detach cmd = {
		.size = sizeof(cmd), .dev_id = b->dev,
	};

	return call(b->ours.fd, IOMMU_REPLACE_DEVICE_DETACH, &cmd);
}

static int ioas_alloc(int fd, __u32 *id)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	int err = call(fd, IOMMU_IOAS_ALLOC, &alloc);

	*id = alloc.out_ioas_id;
	return err;
}

static int hwpt_alloc(struct bench *b, __u32 ioas, __u32 *id)
{
	struct iommu_hwpt_alloc hwpt = {
		.size = sizeof(hwpt), .dev_id = b->dev, .pt_id = ioas,
	};
	int err = call(b->ours.fd, IOMMU_HWPT_ALLOC, &hwpt);

	*id = hwpt.out_hwpt_id;
	return err;
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

static int time_switch(struct bench *b, bool straight, struct samples *s)
{
	for (int i = 0; i < SWITCH_ROUNDS; i++) {
		__u32 to = i % 2 ? b->hwpt_a : b->hwpt_b;
		double t0 = now_us();
		int err = straight ? attach(b, to) : detach(b) ?: attach(b, to);

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
 * IOVA_BASE) to IOVA_BASE + 4 KiB LOSS_DMAS times while another thread
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
	for (n = 0; n < LOSS_DMAS; n++) {
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

/* Two populated 64 MiB address spaces; the device moves between them. */
static int ours_switch(struct bench *b)
{
	struct mech other = { .fd = b->ours.fd };

	return ioas_alloc(b->ours.fd, &other.ioas) ?:
	       hwpt_alloc(b, other.ioas, &b->hwpt_b) ?:
	       mech_map(&b->ours, IOVA_BASE, b->mem_a, BIG) ?:
	       mech_map(&other, IOVA_BASE, b->mem_b, BIG) ?:
	       time_switch(b, true, &b->replace) ?:
	       time_switch(b, false, &b->detach_attach) ?:
	       dma_loss(b, true) ?: dma_loss(b, false);
}

/* --- VFIO type1 ------------------------------------------------------------- */

static int type1_setup(struct bench *b)
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
	b->type1.fd = fd;
	if (ioctl(fd, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
	    ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) != 1)
		return ENOTSUP;
	if (call(b->group_fd, VFIO_GROUP_GET_STATUS, &status))
		return errno;
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE))
		return EBUSY;
	return call(b->group_fd, VFIO_GROUP_SET_CONTAINER, &fd) ?:
	       call(fd, VFIO_SET_IOMMU, (void *)(uintptr_t)VFIO_TYPE1v2_IOMMU);
}

/* type1's way to the other address space: unmap the old, map the new */
static int type1_remap(struct bench *b)
{
	int err = mech_map(&b->type1, IOVA_BASE, b->mem_a, BIG);

	for (int i = 0; !err && i < REMAP_ROUNDS; i++) {
		double t0 = now_us();

		err = mech_unmap(&b->type1, IOVA_BASE, BIG) ?:
		      mech_map(&b->type1, IOVA_BASE, i % 2 ? b->mem_a : b->mem_b, BIG);
		add_sample(&b->remap, now_us() - t0);
	}
	return err ?: mech_unmap(&b->type1, IOVA_BASE, BIG);
}

/* --- the report ------------------------------------------------------------- */

static void print_row(const char *label, struct samples *ours,
		      struct samples *type1)
{
	struct figure o = summarise(ours), t = summarise(type1);

	printf("# %-14s %10.0f %8.0f..%-8.0f %10.0f %8.0f..%-8.0f %6.2f\n",
	       label, o.median, o.best, o.worst, t.median, t.best, t.worst,
	       t.median / o.median);
}

static double print_switch(const char *label, struct samples *s)
{
	struct figure f = summarise(s);

	printf("# %-32s %10.0f us (%.0f..%.0f, %d rounds)\n", label, f.median,
	       f.best, f.worst, s->n);
	return f.median;
}

static void report(struct bench *b)
{
	double replace, remap;
	char label[32];

	printf("#\n# microseconds per call, %d passes each; median, then fastest..slowest round\n",
	       PASSES);
	printf("# %-14s %10s %18s %10s %18s %6s\n", "",
	       "iommu-rep", "", "type1", "", "ratio");
	for (int s = 0; s < SIZES; s++) {
		snprintf(label, sizeof(label), "map %s", sizes[s].name);
		print_row(label, &b->ours.map[s], &b->type1.map[s]);
		snprintf(label, sizeof(label), "unmap %s", sizes[s].name);
		print_row(label, &b->ours.unmap[s], &b->type1.unmap[s]);
	}
	printf("#\n# moving the device to another populated 64 MiB address space:\n");
	replace = print_switch("iommu-replace, replace", &b->replace);
	print_switch("iommu-replace, detach + attach", &b->detach_attach);
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

static char *populated(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* One pass of iommu-replace: bind, prove, time, and close (which unbinds) */
static int ours_pass(struct bench *b, int pass)
{
	int err;

	err = ours_setup(b) ?: prove_dma(b, &b->ours);
	step(!err, "iommu-replace", "pass %d, iommu-replace: bound, attached to HWPT %u of IOAS %u, DMA through it: %s",
	     pass, b->hwpt_a, b->ours.ioas, errname(err));
	err = err ?: time_map_unmap(b, &b->ours) ?: ours_switch(b);
	if (b->ours.fd >= 0)
		close(b->ours.fd);
	b->ours.fd = -1;
	return err;
}

/* One pass of type1: a container for the group, prove, time, take it out */
static int type1_pass(struct bench *b, int pass)
{
	int err;

	err = type1_setup(b) ?: prove_dma(b, &b->type1);
	step(!err, "VFIO type1", "pass %d, VFIO type1: group %d in a type1v2 container, DMA through it: %s",
	     pass, b->edu.group, errname(err));
	err = err ?: time_map_unmap(b, &b->type1) ?: type1_remap(b);
	if (b->type1.fd >= 0) {
		ioctl(b->group_fd, VFIO_GROUP_UNSET_CONTAINER);
		close(b->type1.fd);
	}
	b->type1.fd = -1;
	return err;
}

int main(void)
{
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
	static struct bench b = {
		.group_fd = -1,
		.ours = { .name = "iommu-replace", .fd = -1 },
		.type1 = { .name = "VFIO type1", .fd = -1 },
	};
	int err;

	printf("TAP version 13\n1..%d\n", STEPS);
	b.mem_a = populated(BIG);
	b.mem_b = populated(BIG);
	err = !b.mem_a || !b.mem_b ? ENOMEM :
	      setrlimit(RLIMIT_MEMLOCK, &unlimited) ? errno :
	      -edu_claim_alone(&b.edu, &b.group_fd);
	step(!err, "device", "edu %s alone in iommu group %d, on vfio-pci; 2 x 64 MiB of memory: %s",
	     b.edu.name, b.edu.group, errname(err));
	for (int pass = 1; !err && pass <= PASSES; pass++) {
		err = ours_pass(&b, pass);
		step(!err, "iommu-replace timed", NULL);
		err = err ?: type1_pass(&b, pass);
		step(!err, "VFIO type1 timed", NULL);
	}
	if (!failures)
		report(&b);
	if (b.group_fd >= 0)
		close(b.group_fd);
	edu_close(&b.edu);
	return failures ? 1 : 0;
}
