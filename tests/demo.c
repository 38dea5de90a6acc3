// SPDX-License-Identifier: GPL-2.0-only
/*
 * demo - what "make demo" shows: the module at work in a guest.
 *
 * Prints a short report ("# " lines, which make demo shows) and one TAP
 * result per step, so the guest runner can tell a broken demo from a good
 * one. The guest has loaded the module from IORP_KO before this runs.
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
#include <unistd.h>

#include <libkmod.h>
#include <linux/iommu_replace.h>

#define DEV_PATH "/dev/iommu-replace"
#define STEPS 8

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

static const char *errname(int err)
{
	switch (err) {
	case 0: return "success";
	case ENOENT: return "ENOENT";
	case EINVAL: return "EINVAL";
	case E2BIG: return "E2BIG";
	case ENOTTY: return "ENOTTY";
	default: return strerror(err);
	}
}

static int call(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? errno : 0;
}

/* An IO address space: map a buffer at a kernel-chosen IOVA, unmap it. */
static void show_ioas(int fd)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_iova_range range = {};
	struct iommu_ioas_iova_ranges ranges = {
		.size = sizeof(ranges),
		.num_iovas = 1,
		.allowed_iovas = (uintptr_t)&range,
	};
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
		.length = 64 * 1024,
	};
	struct iommu_ioas_unmap unmap = { .size = sizeof(unmap) };
	static char buffer[64 * 1024] __attribute__((aligned(65536)));
	int err;

	err = call(fd, IOMMU_IOAS_ALLOC, &alloc);
	ranges.ioas_id = alloc.out_ioas_id;
	if (!err)
		err = call(fd, IOMMU_IOAS_IOVA_RANGES, &ranges);
	step(!err, "ioas", "IOMMU_IOAS_ALLOC -> id %u, usable IOVA %#llx-%#llx, alignment %llu",
	     alloc.out_ioas_id, (unsigned long long)range.start,
	     (unsigned long long)range.last,
	     (unsigned long long)ranges.out_iova_alignment);

	map.ioas_id = alloc.out_ioas_id;
	map.user_va = (uintptr_t)buffer;
	err = call(fd, IOMMU_IOAS_MAP, &map);
	unmap.ioas_id = alloc.out_ioas_id;
	unmap.iova = map.iova;
	unmap.length = map.length;
	if (!err)
		err = call(fd, IOMMU_IOAS_UNMAP, &unmap);
	step(!err && unmap.length == map.length, "map",
	     "64 KiB at IOVA %#llx (nothing pinned until a page table needs it), unmapped %llu bytes",
	     (unsigned long long)map.iova, (unsigned long long)unmap.length);
}

int main(void)
{
	struct { struct iommu_destroy cmd; unsigned char tail[8]; } big = {};
	struct iommu_destroy destroy = { .size = sizeof(destroy), .id = 1 };
	struct stat st;
	int fd, err, err2;

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

	err = call(fd, IOMMU_DESTROY, &destroy);
	step(err == ENOENT, "destroy", "IOMMU_DESTROY id 1 -> %s (the context owns no objects yet)",
	     errname(err));

	destroy.size = sizeof(destroy) - 1;
	err = call(fd, IOMMU_DESTROY, &destroy);
	big.cmd.size = sizeof(big);
	big.cmd.id = 1;
	big.tail[7] = 1;
	err2 = call(fd, IOMMU_DESTROY, &big);
	step(err == EINVAL && err2 == E2BIG, "sizes",
	     "size %zu -> %s; size %zu with a non-zero unknown tail -> %s",
	     sizeof(destroy) - 1, errname(err), sizeof(big), errname(err2));

	err = call(fd, _IO(IOMMUFD_TYPE, 0xff), &destroy);
	step(err == ENOTTY, "unknown", "ioctl _IO(';', 0xff) -> %s", errname(err));

	show_ioas(fd);

	close(fd);
	printf("# %-10s the context and everything it owned are freed\n", "close");
	return failures ? 1 : 0;
}
