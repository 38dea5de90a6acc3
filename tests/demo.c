// SPDX-License-Identifier: GPL-2.0-only
/*
 * demo - what "make demo" shows: the module at work in a guest.
 *
 * The story of a VMM: an edu DMA device is bound, two IO address spaces
 * map different buffers at the same IOVA, the device is attached to one,
 * replaced onto the other and detached, and its own DMA shows each time
 * which page table it uses. Then the same through VFIO, as a VMM keeps
 * it: a container of our backend's type hands out the device fd, whose
 * BAR0 drives the DMA, and the device attached through the container's
 * linked file is replaced onto the other page table. Prints a short report ("# " lines, which make
 * demo shows), with the latency of a replace against detach + attach, and
 * one TAP result per step, so the guest runner can tell a broken demo from
 * a good one. The guest has loaded the module from IORP_KO before this
 * runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <linux/iommu_replace.h>
#include <linux/vfio.h>

#include "edu.h"
#include "report.h"

#define DEV_PATH "/dev/iommu-replace"
#define STEPS 14

static int step_no, failures;

/* One step: a report line and its TAP result. */
static void step(bool ok, const char *label, const char *fmt, ...)
{
	va_list ap;

	printf("# %-10s ", label);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n%sok %d - %s\n", ok ? "" : "not ", ++step_no, label);
	failures += !ok;
}

static const char *modinfo(struct kmod_list *info, const char *key)
{
	struct kmod_list *l;

	kmod_list_foreach(l, info)
		if (!strcmp(kmod_module_info_get_key(l), key))
			return kmod_module_info_get_value(l);
	return "?";
}

static void show_module(void)
{
	const char *ko = getenv("IORP_KO");
	struct kmod_list *info = NULL;
	struct kmod_module *mod;
	struct kmod_ctx *ctx;
	bool ok = false;

	ctx = kmod_new(NULL, NULL);
	if (ctx && ko && !kmod_module_new_from_path(ctx, ko, &mod)) {
		ok = kmod_module_get_info(mod, &info) > 0;
		step(ok, "module", "iommu_replace %s (%s build), loaded through libkmod",
		     modinfo(info, "version"), modinfo(info, "flavour"));
		printf("# %-10s %s\n", "probes", modinfo(info, "compat"));
		kmod_module_info_free_list(info);
		kmod_module_unref(mod);
	} else {
		step(false, "module", "cannot read modinfo of %s", ko ? ko : "(IORP_KO unset)");
	}
	kmod_unref(ctx);
}

#define IOVA_V		0x100000ULL	/* the buffer the device reads */
#define IOVA_W		0x200000ULL	/* where it writes what it read */
#define MSG_LEN		32
#define ROUNDS		200

struct story {
	int fd, group_fd;
	struct edu edu;
	char *a_page, *b_page, *out_page;
	__u32 ioas_a, ioas_b, dev, hwpt_a, hwpt_b;
};

/* What the device reads at IOVA V, through its current page table */
static const char *device_reads(struct story *s)
{
	static char seen[MSG_LEN + 1];

	memset(s->out_page, 0, MSG_LEN);
	edu_dma(&s->edu, IOVA_V, MSG_LEN, false);
	edu_dma(&s->edu, IOVA_W, MSG_LEN, true);
	memcpy(seen, s->out_page, MSG_LEN);
	return seen[0] ? seen : "(nothing: the DMA was blocked)";
}

static int attach(struct story *s, __u32 pt, __u32 *out)
{
	struct iommu_replace_device_attach cmd = {
		.size = sizeof(cmd), .dev_id = s->dev, .pt_id = pt,
	};
	int err = call(s->fd, IOMMU_REPLACE_DEVICE_ATTACH, &cmd);

	if (!err && out)
		*out = cmd.pt_id;
	return err;
}

static int detach(struct story *s)
{
	struct iommu_replace_device_detach cmd = {
		.size = sizeof(cmd), .dev_id = s->dev,
	};

	return call(s->fd, IOMMU_REPLACE_DEVICE_DETACH, &cmd);
}

/* Median and worst of ROUNDS calls of round(), in microseconds */
static int time_rounds(struct story *s, int (*round)(struct story *, int),
		       double *median, double *worst)
{
	static double t[ROUNDS];

	for (int i = 0; i < ROUNDS; i++) {
		double start = now_us();
		int err = round(s, i);

		if (err)
			return err;
		t[i] = now_us() - start;
	}
	qsort(t, ROUNDS, sizeof(t[0]), cmp_double);
	*median = t[ROUNDS / 2];
	*worst = t[ROUNDS - 1];
	return 0;
}

static int replace_round(struct story *s, int i)
{
	return attach(s, i % 2 ? s->hwpt_a : s->hwpt_b, NULL);
}

/* what VFIO and older iommufd need: through the blocking domain */
static int detach_attach_round(struct story *s, int i)
{
	return detach(s) ?: attach(s, i % 2 ? s->hwpt_a : s->hwpt_b, NULL);
}

static int map_page(struct story *s, __u32 ioas, __u64 iova, void *page)
{
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = ioas,
		.user_va = (uintptr_t)page,
		.length = 4096,
		.iova = iova,
	};

	return call(s->fd, IOMMU_IOAS_MAP, &map);
}

/* A DMAR fault line the kernel logged since kmsg was opened, or "" */
static void find_fault(int kmsg, char *line, size_t len)
{
	char rec[512], *at;
	ssize_t n;

	for (int tries = 0; kmsg >= 0 && tries < 50; tries++) {
		usleep(20000);
		while ((n = read(kmsg, rec, sizeof(rec) - 1)) > 0 ||
		       (n < 0 && errno == EPIPE)) {
			if (n <= 0)
				continue;
			rec[n] = '\0';
			at = strstr(rec, "DMAR: ");
			if (at && strstr(at, "fault addr")) {
				snprintf(line, len, "%s", at);
				line[strcspn(line, "\n")] = '\0';
				return;
			}
		}
	}
}

/* The VMM's story: bind, two address spaces, attach, replace, detach. */
static void show_device(int fd)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_replace_device_bind bind = {
		.size = sizeof(bind),
		.flags = IOMMU_REPLACE_BIND_VFIO_GROUP,
	};
	struct iommu_hwpt_alloc hwpt = { .size = sizeof(hwpt) };
	struct story s = { .fd = fd, .group_fd = -1 };
	static char pages[3][4096] __attribute__((aligned(4096)));
	double median, worst, median2, worst2;
	char fault[256] = "";
	int err, kmsg;

	s.a_page = pages[0];
	s.b_page = pages[1];
	s.out_page = pages[2];
	strcpy(s.a_page, "hello from IOAS A");
	strcpy(s.b_page, "hello from IOAS B");

	err = -edu_claim_alone(&s.edu, &s.group_fd);
	step(!err, "edu", "DMA device %s, alone in iommu group %d, handed to vfio-pci: %s",
	     s.edu.name, s.edu.group, errname(err));
	if (err)
		return;

	err = call(fd, IOMMU_IOAS_ALLOC, &alloc);
	s.ioas_a = alloc.out_ioas_id;
	err = err ?: call(fd, IOMMU_IOAS_ALLOC, &alloc);
	s.ioas_b = alloc.out_ioas_id;
	err = err ?: map_page(&s, s.ioas_a, IOVA_V, s.a_page) ?:
	      map_page(&s, s.ioas_b, IOVA_V, s.b_page) ?:
	      map_page(&s, s.ioas_a, IOVA_W, s.out_page) ?:
	      map_page(&s, s.ioas_b, IOVA_W, s.out_page);
	step(!err, "ioas", "IOAS %u maps \"%s\" at IOVA %#llx; IOAS %u maps \"%s\" there",
	     s.ioas_a, s.a_page, IOVA_V, s.ioas_b, s.b_page);

	bind.vfio_group_fd = s.group_fd;
	bind.pci_domain = s.edu.domain;
	bind.pci_bus = s.edu.bus;
	bind.pci_devfn = s.edu.devfn;
	err = call(fd, IOMMU_REPLACE_DEVICE_BIND, &bind);
	s.dev = bind.out_dev_id;
	step(!err, "bind", "IOMMU_REPLACE_DEVICE_BIND, /dev/vfio/%d as proof -> device %u: %s",
	     s.edu.group, s.dev, errname(err));
	if (err)
		goto out;

	err = attach(&s, s.ioas_a, &s.hwpt_a);
	step(!err, "attach", "to IOAS %u -> automatic HWPT %u; the device reads \"%s\"",
	     s.ioas_a, s.hwpt_a, device_reads(&s));

	hwpt.dev_id = s.dev;
	hwpt.pt_id = s.ioas_b;
	err = call(fd, IOMMU_HWPT_ALLOC, &hwpt);
	s.hwpt_b = hwpt.out_hwpt_id;
	err = err ?: attach(&s, s.hwpt_b, NULL);
	step(!err, "replace", "to HWPT %u of IOAS %u, straight; the device reads \"%s\"",
	     s.hwpt_b, s.ioas_b, device_reads(&s));

	/* the automatic HWPT went with its last device: a lasting one of A */
	hwpt.pt_id = s.ioas_a;
	err = call(fd, IOMMU_HWPT_ALLOC, &hwpt);
	s.hwpt_a = hwpt.out_hwpt_id;
	err = err ?: time_rounds(&s, replace_round, &median, &worst) ?:
	      time_rounds(&s, detach_attach_round, &median2, &worst2);
	step(!err, "latency", "replace HWPT %u <-> %u, %d times: median %.0f us, worst %.0f us",
	     s.hwpt_a, s.hwpt_b, ROUNDS, median, worst);
	if (!err)
		printf("# %-10s detach + attach instead (DMA blocked between): median %.0f us, worst %.0f us (%.2fx)\n",
		       "", median2, worst2, median2 / median);

	err = attach(&s, s.hwpt_a, NULL);
	kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kmsg >= 0)
		lseek(kmsg, 0, SEEK_END);
	err = err ?: detach(&s);
	strcpy(s.out_page, "untouched");
	edu_dma(&s.edu, IOVA_W, MSG_LEN, true);	/* the device writes */
	find_fault(kmsg, fault, sizeof(fault));
	if (kmsg >= 0)
		close(kmsg);
	step(!err && !strcmp(s.out_page, "untouched"), "detach",
	     "DMA blocked: the device's write to IOVA %#llx left \"%s\"", IOVA_W,
	     s.out_page);
	printf("# %-10s the IOMMU logged: %s\n", "", fault[0] ? fault : "(nothing)");

out:
	close(s.group_fd);
	edu_close(&s.edu);
}

/* "Y" if the module registered its VFIO backend */
static char vfio_backend(void)
{
	FILE *f = fopen("/sys/module/iommu_replace/parameters/vfio_backend", "r");
	char c = '?';

	if (f) {
		if (fscanf(f, " %c", &c) != 1)
			c = '?';
		fclose(f);
	}
	return c;
}

/* Act two: the VMM keeps VFIO's container, group and device fds. */
static void show_vmm(void)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_replace_device_bind bind = {
		.size = sizeof(bind),
		.flags = IOMMU_REPLACE_BIND_VFIO_GROUP,
	};
	struct iommu_replace_vfio_link link = { .size = sizeof(link) };
	struct story s = { .group_fd = -1 };
	static char pages[3][4096] __attribute__((aligned(4096)));
	int container = -1, device_fd = -1, err;
	__u32 pt;

	if (vfio_backend() != 'Y') {
		for (int i = 0; i < 4; i++)
			printf("ok %d - vmm # SKIP no VFIO backend in this build (modinfo vfio_backend says why)\n",
			       ++step_no);
		return;
	}
	s.a_page = pages[0];
	s.b_page = pages[1];
	s.out_page = pages[2];
	strcpy(s.a_page, "hello from IOAS A, via VFIO");
	strcpy(s.b_page, "hello from IOAS B, via VFIO");

	s.fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	err = s.fd < 0 ? errno : -edu_claim_alone(&s.edu, &s.group_fd);
	container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	err = err ?: container < 0 ? errno : 0;
	err = err ?: ioctl(s.group_fd, VFIO_GROUP_SET_CONTAINER, &container) ? errno : 0;
	err = err ?: call(container, VFIO_SET_IOMMU, (void *)IOMMU_REPLACE_VFIO_TYPE);
	link.iommufd = s.fd;
	err = err ?: call(container, IOMMU_REPLACE_VFIO_LINK, &link);
	step(!err, "vfio", "container of type %#x (our backend), /dev/vfio/%d in it, linked to a new context: %s",
	     IOMMU_REPLACE_VFIO_TYPE, s.edu.group, errname(err));
	if (err)
		goto out;

	device_fd = ioctl(s.group_fd, VFIO_GROUP_GET_DEVICE_FD, s.edu.name);
	err = device_fd < 0 ? errno : -edu_open_vfio(&s.edu, device_fd);
	step(!err, "device fd", "VFIO_GROUP_GET_DEVICE_FD -> fd %d; BAR0 mapped through it reads ident %#x",
	     device_fd, err ? 0 : *(volatile uint32_t *)(s.edu.bar + EDU_REG_IDENT));
	if (err)
		goto out;

	err = call(s.fd, IOMMU_IOAS_ALLOC, &alloc);
	s.ioas_a = alloc.out_ioas_id;
	err = err ?: call(s.fd, IOMMU_IOAS_ALLOC, &alloc);
	s.ioas_b = alloc.out_ioas_id;
	err = err ?: map_page(&s, s.ioas_a, IOVA_V, s.a_page) ?:
	      map_page(&s, s.ioas_b, IOVA_V, s.b_page) ?:
	      map_page(&s, s.ioas_a, IOVA_W, s.out_page) ?:
	      map_page(&s, s.ioas_b, IOVA_W, s.out_page);
	bind.vfio_group_fd = s.group_fd;
	bind.pci_domain = s.edu.domain;
	bind.pci_bus = s.edu.bus;
	bind.pci_devfn = s.edu.devfn;
	err = err ?: call(s.fd, IOMMU_REPLACE_DEVICE_BIND, &bind);
	s.dev = bind.out_dev_id;
	err = err ?: attach(&s, s.ioas_a, &pt);
	step(!err, "vmm attach", "bound with the group fd (VFIO keeps the group), attached to IOAS %u; the device reads \"%s\"",
	     s.ioas_a, device_reads(&s));
	if (err)
		goto out;

	err = attach(&s, s.ioas_b, &pt);
	step(!err, "vmm replace", "to IOAS %u, straight; the device reads \"%s\"",
	     s.ioas_b, device_reads(&s));
out:
	edu_close(&s.edu);
	if (device_fd >= 0)
		close(device_fd);
	if (s.group_fd >= 0)
		close(s.group_fd);
	if (container >= 0)
		close(container);
	if (s.fd >= 0)
		close(s.fd);
	printf("# %-10s device fd, group, container and context closed: VFIO detached the group from our page table first\n",
	       "vmm close");
	/* the plan counts these steps whatever happened */
	while (step_no < STEPS)
		step(false, "vmm", "not reached");
}

int main(void)
{
	struct stat st;
	int fd, err;

	printf("TAP version 13\n1..%d\n", STEPS);
	show_module();

	err = stat(DEV_PATH, &st) ? errno : 0;
	step(!err && S_ISCHR(st.st_mode) && (st.st_mode & 07777) == 0600,
	     "device", "%s  char %u:%u  mode %04o  uid %u gid %u", DEV_PATH,
	     major(st.st_rdev), minor(st.st_rdev), st.st_mode & 07777,
	     st.st_uid, st.st_gid);

	fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	step(fd >= 0, "open", "fd %d: a new, empty context", fd);
	if (fd < 0)
		return 1;
	show_device(fd);
	close(fd);
	printf("# %-10s the context and everything it owned are freed\n", "close");
	show_vmm();
	return failures ? 1 : 0;
}
