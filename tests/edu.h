/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * edu.h - QEMU's edu PCI device, as a DMA engine that proves which IO page
 * table a device really uses.
 *
 * edu (1234:11e8) has a 4 KiB buffer at device address 0x40000 and a DMA
 * engine that copies between it and bus addresses (IOVA behind an IOMMU):
 * BAR0 registers 0x80 source, 0x88 destination, 0x90 count, 0x98 command
 * (bit 0 start, cleared when done; bit 1 direction, set for device to
 * RAM). A DMA the IOMMU does not translate reads nothing and writes
 * nothing. The default DMA mask is 28 bits: keep IOVA below 256 MiB.
 *
 * These helpers work from sysfs, as root: the device is handed to vfio-pci
 * (whose group file is the proof of access the bind ioctl wants), BAR0 is
 * mapped through its resource0 file, bus mastering is set in its config
 * space. No test harness here, so the demo can use it too. Programs that
 * include it link with -lkmod (edu_load_vfio_pci()).
 */
#ifndef IORP_EDU_H
#define IORP_EDU_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <libkmod.h>

#define EDU_VENDOR	0x1234
#define EDU_DEVICE	0x11e8
#define EDU_IDENT	0x010000ed
#define EDU_BUF		0x40000UL	/* the device's own buffer */
#define EDU_BUF_SIZE	4096
#define EDU_BAR_SIZE	(1 << 20)
#define EDU_MAX		8
/*
 * The guests of tests/qemu/run-lane have five: one alone on the root bus, a
 * pair of functions of one root-bus slot, and a pair behind a PCIe-to-PCI
 * bridge (bus number above 0).
 */
#define EDU_IN_GUEST	5

#define EDU_REG_IDENT	0x00
#define EDU_REG_SRC	0x80
#define EDU_REG_DST	0x88
#define EDU_REG_COUNT	0x90
#define EDU_REG_CMD	0x98
#define EDU_CMD_START	1
#define EDU_CMD_TO_RAM	2

struct edu {
	char name[16];		/* "0000:00:04.0" */
	unsigned int domain, bus, devfn;
	int group;		/* iommu group number, -1 for none */
	volatile uint8_t *bar;	/* BAR0, once mapped */
};

static inline int sysfs_write(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t len = strlen(value), n;

	if (fd < 0)
		return -errno;
	n = write(fd, value, len);
	close(fd);
	return n == len ? 0 : (n < 0 ? -errno : -EIO);
}

static inline unsigned int sysfs_hex(const char *dev, const char *attr)
{
	char path[320];
	unsigned int v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", dev, attr);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%x", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

static inline int edu_group_of(const char *dev)
{
	char link[128], target[256];
	ssize_t len;

	snprintf(link, sizeof(link), "/sys/bus/pci/devices/%s/iommu_group", dev);
	len = readlink(link, target, sizeof(target) - 1);
	if (len < 0)
		return -1;
	target[len] = '\0';
	return atoi(strrchr(target, '/') + 1);
}

/* Fill e in for the PCI device named "0000:00:04.0"; -EINVAL if not one */
static inline int pci_dev_parse(struct edu *e, const char *name)
{
	unsigned int slot, fn;

	memset(e, 0, sizeof(*e));
	if (strlen(name) >= sizeof(e->name) ||
	    sscanf(name, "%x:%x:%x.%x", &e->domain, &e->bus, &slot, &fn) != 4)
		return -EINVAL;
	strcpy(e->name, name);
	e->devfn = slot << 3 | fn;
	e->group = edu_group_of(name);
	return 0;
}

/* Behind a bridge: on a bus other than the root bus */
static inline bool edu_behind_bridge(const struct edu *e)
{
	return e->bus != 0;
}

/* The edu devices in the machine; returns how many (at most EDU_MAX). */
static inline int edu_find(struct edu *edus)
{
	struct dirent *de;
	int n = 0;
	DIR *d;

	d = opendir("/sys/bus/pci/devices");
	if (!d)
		return -errno;
	while ((de = readdir(d)) && n < EDU_MAX) {
		if (de->d_name[0] == '.' ||
		    sysfs_hex(de->d_name, "vendor") != EDU_VENDOR ||
		    sysfs_hex(de->d_name, "device") != EDU_DEVICE)
			continue;
		n += !pci_dev_parse(&edus[n], de->d_name);
	}
	closedir(d);
	return n;
}

/* How many devices the iommu group holds */
static inline int edu_group_size(int group)
{
	char path[64];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%d/devices", group);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Is iommu_replace.ko's boolean parameter name set ('Y')? */
static inline bool edu_module_param_set(const char *name)
{
	char path[128], c = 'N';
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/iommu_replace/parameters/%s",
		 name);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (fscanf(f, " %c", &c) != 1)
		c = 'N';
	fclose(f);
	return c == 'Y';
}

/* iommu_replace.ko's debugfs counter pinned_pages; -1 where there is none */
static inline long edu_module_pinned_pages(void)
{
	FILE *f = fopen("/sys/kernel/debug/iommu_replace/pinned_pages", "r");
	long n = -1;

	if (f) {
		if (fscanf(f, "%ld", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

/* Load a module and its dependencies by name, as modprobe would. */
static inline int edu_load_module(const char *name)
{
	struct kmod_list *list = NULL, *l;
	struct kmod_ctx *ctx;
	int ret;

	ctx = kmod_new(NULL, NULL);
	if (!ctx)
		return -ENOMEM;
	ret = kmod_module_new_from_lookup(ctx, name, &list);
	if (!ret && !list)
		ret = -ENOENT;
	kmod_list_foreach(l, list) {
		struct kmod_module *mod = kmod_module_get_module(l);
		int err = kmod_module_probe_insert_module(mod, 0, NULL, NULL,
							  NULL, NULL);

		if (err < 0 && !ret)
			ret = err;
		kmod_module_unref(mod);
	}
	kmod_module_unref_list(list);
	kmod_unref(ctx);
	return ret < 0 ? ret : 0;
}

/*
 * Load the module file the guest loaded for this suite (IORP_KO) again,
 * with the suite's parameters (IORP_KO_PARAMS) and then extra ones (NULL
 * for none). 0 or a negative errno.
 */
static inline int edu_load_ours(const char *extra)
{
	const char *ko = getenv("IORP_KO"), *params = getenv("IORP_KO_PARAMS");
	struct kmod_module *mod;
	struct kmod_ctx *ctx;
	char all[256];
	int ret;

	if (!ko || !*ko)
		return -ENOENT;
	if (snprintf(all, sizeof(all), "%s %s", params ? params : "",
		     extra ? extra : "") >= (int)sizeof(all))
		return -E2BIG;
	ctx = kmod_new(NULL, NULL);
	if (!ctx)
		return -ENOMEM;
	ret = kmod_module_new_from_path(ctx, ko, &mod);
	if (!ret) {
		ret = kmod_module_insert_module(mod, 0, all);
		kmod_module_unref(mod);
	}
	kmod_unref(ctx);
	return ret;
}

/*
 * Unload iommu_replace, without waiting for its users; 0 or a negative
 * errno, as edu_load_ours().
 */
static inline int edu_unload_ours(void)
{
	return syscall(__NR_delete_module, "iommu_replace", O_NONBLOCK) ?
	       -errno : 0;
}

/* Load vfio-pci and its dependencies (the debug kernel has it built in). */
static inline int edu_load_vfio_pci(void)
{
	return edu_load_module("vfio-pci");
}

/* Hand the device to a driver (vfio-pci, pci-stub) by driver_override. */
static inline int edu_use_driver(const struct edu *e, const char *driver)
{
	char path[192], cur[128], link[128];
	ssize_t len;
	int ret;

	snprintf(link, sizeof(link), "/sys/bus/pci/devices/%s/driver", e->name);
	len = readlink(link, cur, sizeof(cur) - 1);
	if (len >= 0) {
		cur[len] = '\0';
		if (!strcmp(strrchr(cur, '/') + 1, driver))
			return 0;
		snprintf(path, sizeof(path), "%s/unbind", link);
		ret = sysfs_write(path, e->name);
		if (ret)
			return ret;
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override",
		 e->name);
	ret = sysfs_write(path, driver);
	if (ret)
		return ret;
	return sysfs_write("/sys/bus/pci/drivers_probe", e->name);
}

/* Map BAR0 and set bus mastering; the device must answer its ident. */
static inline int edu_open(struct edu *e)
{
	char path[128];
	uint16_t cmd;
	void *bar;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", e->name);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (pread(fd, &cmd, 2, 4) != 2) {
		close(fd);
		return -EIO;
	}
	cmd |= 0x6;	/* memory space, bus master */
	if (pwrite(fd, &cmd, 2, 4) != 2) {
		close(fd);
		return -EIO;
	}
	close(fd);

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource0", e->name);
	fd = open(path, O_RDWR | O_SYNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	bar = mmap(NULL, EDU_BAR_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (bar == MAP_FAILED)
		return -errno;
	e->bar = bar;
	return *(volatile uint32_t *)(e->bar + EDU_REG_IDENT) == EDU_IDENT ?
	       0 : -ENODEV;
}

/*
 * What a VMM does with its VFIO device fd instead of sysfs: memory decoding
 * and bus mastering on through the config region, BAR0 mapped through the
 * BAR0 region (e->bar from then on). The device must answer its ident.
 * Needs <linux/vfio.h>.
 */
#ifdef VFIO_DEVICE_GET_REGION_INFO
static inline int edu_open_vfio(struct edu *e, int device_fd)
{
	struct vfio_region_info cfg = {
		.argsz = sizeof(cfg), .index = VFIO_PCI_CONFIG_REGION_INDEX,
	};
	struct vfio_region_info bar = {
		.argsz = sizeof(bar), .index = VFIO_PCI_BAR0_REGION_INDEX,
	};
	uint16_t cmd;
	void *map;

	if (ioctl(device_fd, VFIO_DEVICE_GET_REGION_INFO, &cfg) ||
	    ioctl(device_fd, VFIO_DEVICE_GET_REGION_INFO, &bar))
		return -errno;
	if (!(bar.flags & VFIO_REGION_INFO_FLAG_MMAP) || bar.size < EDU_BAR_SIZE)
		return -EINVAL;
	if (pread(device_fd, &cmd, 2, cfg.offset + 4) != 2)
		return -EIO;
	cmd |= 0x6;	/* memory space, bus master */
	if (pwrite(device_fd, &cmd, 2, cfg.offset + 4) != 2)
		return -EIO;
	map = mmap(NULL, EDU_BAR_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		   device_fd, bar.offset);
	if (map == MAP_FAILED)
		return -errno;
	if (e->bar)
		munmap((void *)e->bar, EDU_BAR_SIZE);
	e->bar = map;
	return *(volatile uint32_t *)(e->bar + EDU_REG_IDENT) == EDU_IDENT ?
	       0 : -ENODEV;
}
#endif

static inline void edu_close(struct edu *e)
{
	if (e->bar)
		munmap((void *)e->bar, EDU_BAR_SIZE);
	e->bar = NULL;
}

/*
 * The first edu device alone in its iommu group, handed to vfio-pci with
 * BAR0 open (*e), and its VFIO group file opened (*group_fd): what the
 * report programs bind. Returns 0 or a negative errno (-ENODEV: none).
 */
static inline int edu_claim_alone(struct edu *e, int *group_fd)
{
	struct edu edus[EDU_MAX];
	int n = edu_find(edus), ret;
	char path[64];

	for (int i = 0; i < n; i++) {
		if (edus[i].group < 0 || edu_group_size(edus[i].group) != 1)
			continue;
		*e = edus[i];
		ret = edu_load_vfio_pci() ?: edu_use_driver(e, "vfio-pci") ?:
		      edu_open(e);
		if (ret)
			return ret;
		snprintf(path, sizeof(path), "/dev/vfio/%d", e->group);
		*group_fd = open(path, O_RDWR | O_CLOEXEC);
		return *group_fd < 0 ? -errno : 0;
	}
	return -ENODEV;
}

/*
 * One DMA of len bytes: RAM at iova into the device's buffer, or (to_ram)
 * the buffer out to RAM at iova. Returns 0 once the engine is done, or
 * -ETIMEDOUT. A DMA the IOMMU blocks completes too, moving nothing.
 */
static inline int edu_dma(struct edu *e, uint64_t iova, uint32_t len,
			  bool to_ram)
{
	volatile uint64_t *src = (volatile uint64_t *)(e->bar + EDU_REG_SRC);
	volatile uint64_t *dst = (volatile uint64_t *)(e->bar + EDU_REG_DST);
	volatile uint64_t *count = (volatile uint64_t *)(e->bar + EDU_REG_COUNT);
	volatile uint64_t *cmd = (volatile uint64_t *)(e->bar + EDU_REG_CMD);
	struct timespec pause = { .tv_nsec = 100000 };
	int tries;

	*src = to_ram ? EDU_BUF : iova;
	*dst = to_ram ? iova : EDU_BUF;
	*count = len;
	*cmd = EDU_CMD_START | (to_ram ? EDU_CMD_TO_RAM : 0);
	for (tries = 0; tries < 50000; tries++) {
		if (!(*cmd & EDU_CMD_START))
			return 0;
		nanosleep(&pause, NULL);
	}
	return -ETIMEDOUT;
}

#endif /* IORP_EDU_H */
