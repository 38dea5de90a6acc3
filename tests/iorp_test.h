/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iorp_test.h - helpers shared by the test programs that use the ioctls:
 * ioctl wrappers (IOAS, HWPT, devices, IOMMU_TEST_CMD), the debugfs
 * counters and fault sites, credentials and buffers.
 *
 * Include it after "kselftest_harness.h". Helpers that can fail a test take
 * the harness's _metadata and use its ASSERT macros; the ioctl wrappers
 * return 0 or the errno, so a test states the errno it expects. Everything
 * is static inline: a program that does not use a helper gets no warning.
 *
 * The module-wide debugfs counters (pinned_pages, objects) are read only
 * through pinned_pages() and live_objects(): a missing or malformed counter
 * file fails the test with a message saying so, it never reads as zero.
 */
#ifndef IORP_TEST_H
#define IORP_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/iommu_replace.h>

#include "iommu_replace/test_cmd.h"

#define IORP_DEV		"/dev/iommu-replace"
#define IORP_DEBUGFS_DIR	"/sys/kernel/debug/iommu_replace"

/* A flag bit no command defines (bit 16 is the selftest "syz" flag). */
#define UNKNOWN_FLAG		(1U << 30)

static inline unsigned long psize(void)
{
	static unsigned long page;

	if (!page)
		page = sysconf(_SC_PAGESIZE);
	return page;
}

/*
 * The IO page size of the mock IOMMU, and so the IOVA alignment of an IOAS
 * with a mock domain attached.
 */
static inline unsigned long mock_io_page(void)
{
	return psize() / 2;
}

/* ioctl() that returns the errno, or 0 on success. */
static inline int ioctl_errno(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? errno : 0;
}

/* "ENOENT" for log messages; "0" for success. */
static inline const char *errname(int err)
{
	const char *name = err ? strerrorname_np(err) : "0";

	return name ? name : "?";
}

static inline int open_dev(void)
{
	return open(IORP_DEV, O_RDWR | O_CLOEXEC);
}

/* --- debugfs counters --------------------------------------------------- */

/*
 * A counter file holds one decimal number (a trailing newline is allowed).
 * debugfs attribute files cannot be re-read at an offset, so every read
 * opens the file afresh.
 */
static inline uint64_t counter_read(struct __test_metadata *_metadata,
				    const char *name)
{
	unsigned long long val;
	char path[128], buf[64], *end;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", IORP_DEBUGFS_DIR, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd)
		TH_LOG("cannot open %s: %s (is debugfs mounted, and the %s",
		       path, strerror(errno),
		       "test flavour of iommu_replace loaded?)");
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ASSERT_LT(0, n)
		TH_LOG("cannot read %s: %s", path,
		       n < 0 ? strerror(errno) : "empty file");
	buf[n] = 0;
	errno = 0;
	val = strtoull(buf, &end, 10);
	ASSERT_TRUE(end != buf && !errno && (*end == '\n' || !*end))
		TH_LOG("%s holds \"%s\", not a decimal number", path, buf);
	return val;
}

/* user pages pinned right now, module-wide */
#define pinned_pages() counter_read(_metadata, "pinned_pages")
/* objects with an ID, module-wide */
#define live_objects() counter_read(_metadata, "objects")

/* --- /proc/self/status ---------------------------------------------------- */

/* The value, in kB, of a "Key:   N kB" line of /proc/self/status. */
static inline uint64_t proc_status_kb(struct __test_metadata *_metadata,
				      const char *key)
{
	size_t klen = strlen(key);
	long long val = -1;
	char line[256];
	FILE *f;

	f = fopen("/proc/self/status", "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			val = strtoll(line + klen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	ASSERT_LE(0, val) TH_LOG("no %s line in /proc/self/status", key);
	return val;
}

/* mm->pinned_vm, in pages */
#define vm_pinned() (proc_status_kb(_metadata, "VmPin") * 1024 / psize())
/* mm->locked_vm, in pages */
#define vm_locked() (proc_status_kb(_metadata, "VmLck") * 1024 / psize())

/* --- memory --------------------------------------------------------------- */

/*
 * Private anonymous memory, faulted in, without transparent huge pages:
 * MD_CHECK_REFS only counts pins on small pages.
 */
static inline void *alloc_buffer(struct __test_metadata *_metadata, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, p);
	madvise(p, len, MADV_NOHUGEPAGE);
	memset(p, 0xa5, len);
	return p;
}

/* Faulted-in memory that user space may read but not write. */
static inline void *alloc_readonly(struct __test_metadata *_metadata,
				   size_t len)
{
	void *p = alloc_buffer(_metadata, len);

	ASSERT_EQ(0, mprotect(p, len, PROT_READ));
	return p;
}

/*
 * An address range no access can touch: PROT_NONE, and kept reserved so a
 * later mmap() cannot land there (unmapping it would free it for reuse).
 */
static inline void *no_access_range(struct __test_metadata *_metadata,
				    size_t len)
{
	void *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	ASSERT_NE(MAP_FAILED, p);
	return p;
}

/*
 * A read-only copy of an ioctl argument: the kernel can read it, not write
 * it back. Free with munmap(p, psize()).
 */
static inline void *readonly_copy(struct __test_metadata *_metadata,
				  const void *cmd, size_t len)
{
	void *p = mmap(NULL, psize(), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, p);
	memcpy(p, cmd, len);
	ASSERT_EQ(0, mprotect(p, psize(), PROT_READ));
	return p;
}

/* --- credentials ---------------------------------------------------------- */

static inline int set_effective_cap(int cap, bool on)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return errno;
	if (on)
		data[CAP_TO_INDEX(cap)].effective |= CAP_TO_MASK(cap);
	else
		data[CAP_TO_INDEX(cap)].effective &= ~CAP_TO_MASK(cap);
	return syscall(SYS_capset, &hdr, data) ? errno : 0;
}

/*
 * Become a user nobody else is, without CAP_IPC_LOCK: pinned pages are then
 * charged against RLIMIT_MEMLOCK (upstream does not charge a caller with
 * CAP_IPC_LOCK), and the per-user locked_vm count that RLIMIT_MODE 0 uses
 * starts at zero. The other capabilities stay, so the test can still read
 * debugfs and create mock devices. The harness runs each test in a process
 * of its own, so this ends with the test.
 */
static inline void become_fresh_user(struct __test_metadata *_metadata)
{
	uid_t id = 0x10000 + (getpid() & 0xffff);
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];
	int lock = CAP_TO_INDEX(CAP_IPC_LOCK);

	ASSERT_EQ(0, prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0));
	ASSERT_EQ(0, setgroups(0, NULL));
	ASSERT_EQ(0, setresgid(id, id, id));
	ASSERT_EQ(0, setresuid(id, id, id));
	/* the uid change emptied the effective set: refill it, minus one */
	ASSERT_EQ(0, syscall(SYS_capget, &hdr, data));
	data[lock].permitted &= ~CAP_TO_MASK(CAP_IPC_LOCK);
	data[lock].inheritable &= ~CAP_TO_MASK(CAP_IPC_LOCK);
	data[0].effective = data[0].permitted;
	data[1].effective = data[1].permitted;
	ASSERT_EQ(0, syscall(SYS_capset, &hdr, data));
	ASSERT_EQ(0, syscall(SYS_capget, &hdr, data));
	ASSERT_EQ(0, data[lock].effective & CAP_TO_MASK(CAP_IPC_LOCK));
	ASSERT_EQ(id, geteuid());
}

/* --- IOAS ----------------------------------------------------------------- */

#define MAP_RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
#define MAP_FIXED_RW (IOMMU_IOAS_MAP_FIXED_IOVA | MAP_RW)

static inline int ioas_alloc(int fd, __u32 *id)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	int ret = ioctl_errno(fd, IOMMU_IOAS_ALLOC, &cmd);

	if (!ret)
		*id = cmd.out_ioas_id;
	return ret;
}

static inline int ioas_map_flags(int fd, __u32 ioas, __u32 flags,
				 const void *va, __u64 len, __u64 *iova)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.ioas_id = ioas,
		.user_va = (uintptr_t)va,
		.length = len,
		.iova = *iova,
	};
	int ret = ioctl_errno(fd, IOMMU_IOAS_MAP, &cmd);

	if (!ret)
		*iova = cmd.iova;
	return ret;
}

static inline int ioas_map_fixed(int fd, __u32 ioas, __u64 iova,
				 const void *va, __u64 len)
{
	return ioas_map_flags(fd, ioas, MAP_FIXED_RW, va, len, &iova);
}

static inline int ioas_map_auto(int fd, __u32 ioas, const void *va, __u64 len,
				__u64 *iova)
{
	*iova = 0;
	return ioas_map_flags(fd, ioas, MAP_RW, va, len, iova);
}

/* *unmapped (optional) gets the number of bytes unmapped */
static inline int ioas_unmap(int fd, __u32 ioas, __u64 iova, __u64 len,
			     __u64 *unmapped)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas,
		.iova = iova,
		.length = len,
	};
	int ret = ioctl_errno(fd, IOMMU_IOAS_UNMAP, &cmd);

	if (!ret && unmapped)
		*unmapped = cmd.length;
	return ret;
}

static inline int ioas_unmap_all(int fd, __u32 ioas, __u64 *unmapped)
{
	return ioas_unmap(fd, ioas, 0, UINT64_MAX, unmapped);
}

static inline int ioas_copy_fixed(int fd, __u32 dst, __u64 dst_iova,
				  __u32 src, __u64 src_iova, __u64 len)
{
	struct iommu_ioas_copy cmd = {
		.size = sizeof(cmd),
		.flags = MAP_FIXED_RW,
		.dst_ioas_id = dst,
		.src_ioas_id = src,
		.length = len,
		.dst_iova = dst_iova,
		.src_iova = src_iova,
	};

	return ioctl_errno(fd, IOMMU_IOAS_COPY, &cmd);
}

/* *num: capacity of ranges in, number of ranges out */
static inline int ioas_iova_ranges(int fd, __u32 ioas,
				   struct iommu_iova_range *ranges,
				   __u32 *num, __u64 *alignment)
{
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas,
		.num_iovas = *num,
		.allowed_iovas = (uintptr_t)ranges,
	};
	int ret = ioctl_errno(fd, IOMMU_IOAS_IOVA_RANGES, &cmd);

	if (!ret || ret == EMSGSIZE) {
		*num = cmd.num_iovas;
		if (alignment)
			*alignment = cmd.out_iova_alignment;
	}
	return ret;
}

static inline int ioas_allow_iovas(int fd, __u32 ioas,
				   const struct iommu_iova_range *ranges,
				   __u32 num)
{
	struct iommu_ioas_allow_iovas cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas,
		.num_iovas = num,
		.allowed_iovas = (uintptr_t)ranges,
	};

	return ioctl_errno(fd, IOMMU_IOAS_ALLOW_IOVAS, &cmd);
}

static inline int destroy_id(int fd, __u32 id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return ioctl_errno(fd, IOMMU_DESTROY, &cmd);
}

/* *val: the value to set in, the value read out */
static inline int option_op(int fd, __u32 option, __u16 op, __u32 object,
			    __u64 *val)
{
	struct iommu_option cmd = {
		.size = sizeof(cmd),
		.option_id = option,
		.op = op,
		.object_id = object,
		.val64 = *val,
	};
	int ret = ioctl_errno(fd, IOMMU_OPTION, &cmd);

	if (!ret)
		*val = cmd.val64;
	return ret;
}

static inline int rlimit_mode_set(int fd, __u64 mode)
{
	return option_op(fd, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0,
			 &mode);
}

/* The mode, or -errno */
static inline long long rlimit_mode_get(int fd)
{
	__u64 mode = 0xdead;
	int ret = option_op(fd, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET,
			    0, &mode);

	return ret ? -ret : (long long)mode;
}

static inline int hwpt_alloc(int fd, __u32 dev, __u32 pt, __u32 flags,
			     __u32 *hwpt)
{
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.dev_id = dev,
		.pt_id = pt,
	};
	int ret = ioctl_errno(fd, IOMMU_HWPT_ALLOC, &cmd);

	if (!ret)
		*hwpt = cmd.out_hwpt_id;
	return ret;
}

/* --- IOMMU_TEST_CMD --------------------------------------------------------- */

#define TEST_CMD(_op, _id) { .size = sizeof(struct iommu_test_cmd), \
			     .op = (_op), .id = (_id) }

/* A mock device, bound and attached to IOAS or HWPT pt; any out may be NULL */
static inline int mock_domain(int fd, __u32 pt, __u32 *stdev, __u32 *hwpt,
			      __u32 *idev)
{
	struct iommu_test_cmd cmd = TEST_CMD(IOMMU_TEST_OP_MOCK_DOMAIN, pt);
	int ret = ioctl_errno(fd, IOMMU_TEST_CMD, &cmd);

	if (ret)
		return ret;
	if (stdev)
		*stdev = cmd.mock_domain.out_stdev_id;
	if (hwpt)
		*hwpt = cmd.mock_domain.out_hwpt_id;
	if (idev)
		*idev = cmd.mock_domain.out_idev_id;
	return 0;
}

/* Moves mock device stdev to IOAS or HWPT *pt; *pt gets the HWPT */
static inline int mock_domain_replace(int fd, __u32 stdev, __u32 *pt)
{
	struct iommu_test_cmd cmd =
		TEST_CMD(IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, stdev);
	int ret;

	cmd.mock_domain_replace.pt_id = *pt;
	ret = ioctl_errno(fd, IOMMU_TEST_CMD, &cmd);
	if (!ret)
		*pt = cmd.mock_domain_replace.pt_id;
	return ret;
}

static inline int add_reserved(int fd, __u32 ioas, __u64 start, __u64 len)
{
	struct iommu_test_cmd cmd = TEST_CMD(IOMMU_TEST_OP_ADD_RESERVED, ioas);

	cmd.add_reserved.start = start;
	cmd.add_reserved.length = len;
	return ioctl_errno(fd, IOMMU_TEST_CMD, &cmd);
}

/* 0 if every page of [va, va + len) is pinned exactly refs times */
static inline int check_refs(int fd, const void *va, __u64 len, __u32 refs)
{
	struct iommu_test_cmd cmd = TEST_CMD(IOMMU_TEST_OP_MD_CHECK_REFS, 0);

	cmd.check_refs.uptr = (uintptr_t)va;
	cmd.check_refs.length = len;
	cmd.check_refs.refs = refs;
	return ioctl_errno(fd, IOMMU_TEST_CMD, &cmd);
}

/* 0 if mock HWPT hwpt translates [iova, iova + len) to the memory at va */
static inline int check_map(int fd, __u32 hwpt, __u64 iova, const void *va,
			    __u64 len)
{
	struct iommu_test_cmd cmd = TEST_CMD(IOMMU_TEST_OP_MD_CHECK_MAP, hwpt);

	cmd.check_map.iova = iova;
	cmd.check_map.length = len;
	cmd.check_map.uptr = (uintptr_t)va;
	return ioctl_errno(fd, IOMMU_TEST_CMD, &cmd);
}

/* Pin in batches of at most bytes / sizeof(void *) pages (module-wide). */
static inline int set_temp_memory_limit(int fd, __u32 bytes)
{
	struct iommu_test_cmd cmd = TEST_CMD(IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT,
					     0);

	cmd.memory_limit.limit = bytes;
	return ioctl_errno(fd, IOMMU_TEST_CMD, &cmd);
}

static inline int create_access(int fd, __u32 ioas, __u32 flags,
				int *access_fd)
{
	struct iommu_test_cmd cmd = TEST_CMD(IOMMU_TEST_OP_CREATE_ACCESS, ioas);
	int ret;

	cmd.create_access.flags = flags;
	ret = ioctl_errno(fd, IOMMU_TEST_CMD, &cmd);
	if (!ret)
		*access_fd = cmd.create_access.out_access_fd;
	return ret;
}

/* HWPT_INFO: what a HWPT's domain is (test flavour) */
static inline int hwpt_info(int fd, __u32 hwpt, __u64 *pgsize_bitmap,
			    __u64 *aperture_last, __u32 *flags)
{
	struct iommu_test_cmd cmd = TEST_CMD(IORP_TEST_OP_HWPT_INFO, hwpt);
	int ret = ioctl_errno(fd, IOMMU_TEST_CMD, &cmd);

	if (ret)
		return ret;
	if (pgsize_bitmap)
		*pgsize_bitmap = cmd.hwpt_info.out_pgsize_bitmap;
	if (aperture_last)
		*aperture_last = cmd.hwpt_info.out_aperture_last;
	if (flags)
		*flags = cmd.hwpt_info.out_flags;
	return 0;
}

/* IOPTE_SIZE: the IO page size mapping iova in a HWPT (test flavour) */
static inline int iopte_size(int fd, __u32 hwpt, __u64 iova, __u64 *size)
{
	struct iommu_test_cmd cmd = TEST_CMD(IORP_TEST_OP_IOPTE_SIZE, hwpt);
	int ret;

	cmd.iopte_size.iova = iova;
	ret = ioctl_errno(fd, IOMMU_TEST_CMD, &cmd);
	if (!ret)
		*size = cmd.iopte_size.out_size;
	return ret;
}

/* Pins [iova, iova + len) through an access; *item names the pin */
static inline int access_pages(int fd, int access_fd, __u32 flags, __u64 iova,
			       __u64 len, const void *va, __u32 *item)
{
	struct iommu_test_cmd cmd =
		TEST_CMD(IOMMU_TEST_OP_ACCESS_PAGES, (__u32)access_fd);
	int ret;

	cmd.access_pages.flags = flags;
	cmd.access_pages.iova = iova;
	cmd.access_pages.length = len;
	cmd.access_pages.uptr = (uintptr_t)va;
	ret = ioctl_errno(fd, IOMMU_TEST_CMD, &cmd);
	if (!ret && item)
		*item = cmd.access_pages.out_access_pages_id;
	return ret;
}

static inline int access_pages_destroy(int fd, int access_fd, __u32 item)
{
	struct iommu_test_cmd cmd =
		TEST_CMD(IOMMU_TEST_OP_DESTROY_ACCESS_PAGES, (__u32)access_fd);

	cmd.destroy_access_pages.access_pages_id = item;
	return ioctl_errno(fd, IOMMU_TEST_CMD, &cmd);
}

static inline int access_rw(int fd, int access_fd, __u32 flags, __u64 iova,
			    __u64 len, void *va)
{
	struct iommu_test_cmd cmd =
		TEST_CMD(IOMMU_TEST_OP_ACCESS_RW, (__u32)access_fd);

	cmd.access_rw.flags = flags;
	cmd.access_rw.iova = iova;
	cmd.access_rw.length = len;
	cmd.access_rw.uptr = (uintptr_t)va;
	return ioctl_errno(fd, IOMMU_TEST_CMD, &cmd);
}

/* Move an access to another IOAS (the driver is asked to unpin first) */
static inline int access_replace_ioas(int fd, int access_fd, __u32 ioas)
{
	struct iommu_test_cmd cmd =
		TEST_CMD(IOMMU_TEST_OP_ACCESS_REPLACE_IOAS, (__u32)access_fd);

	cmd.access_replace_ioas.ioas_id = ioas;
	return ioctl_errno(fd, IOMMU_TEST_CMD, &cmd);
}

/* --- a kernel WARN provoked on purpose ------------------------------------ */

/*
 * A test that provokes the module's WARN for a driver bug the module
 * survives brackets it with these. The guests boot with panic_on_warn=1,
 * and tests/qemu/run-lane fails a lane whose kernel log holds a WARNING
 * line. expect_warn_begin() lifts the panic and writes a marker naming
 * the WARN's text to the kernel log; expect_warn_end() counts how many
 * times the text was logged since (through /dev/kmsg), writes the closing
 * marker and puts the panic back. run-lane passes over the first WARNING
 * line between the markers that follows the text, and no other.
 */
#define EXPECT_WARN_MARK	"iommu-replace test: expected WARN"
#define PANIC_ON_WARN		"/proc/sys/kernel/panic_on_warn"

struct expected_warn {
	const char *text;
	int kmsg;		/* /dev/kmsg, read from the first marker on */
	char panic_on_warn[8];	/* as it was */
};

static inline int write_string(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return errno;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		ret = errno ? errno : EIO;
	close(fd);
	return ret;
}

static inline void expect_warn_begin(struct __test_metadata *_metadata,
				     struct expected_warn *w, const char *text)
{
	char mark[256];
	bool read_ok;
	FILE *f;
	int err;

	w->text = text;
	f = fopen(PANIC_ON_WARN, "r");
	ASSERT_NE(NULL, f) TH_LOG("%s: %s", PANIC_ON_WARN, strerror(errno));
	read_ok = fgets(w->panic_on_warn, sizeof(w->panic_on_warn), f);
	fclose(f);
	ASSERT_TRUE(read_ok) TH_LOG("%s: nothing to read", PANIC_ON_WARN);
	w->kmsg = open("/dev/kmsg", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, w->kmsg);
	/* <3>: an error, so it reaches the console whatever its loglevel */
	snprintf(mark, sizeof(mark), "<3>" EXPECT_WARN_MARK " begin: %s", text);
	errno = 0;
	if (lseek(w->kmsg, 0, SEEK_END) < 0 ||
	    write(w->kmsg, mark, strlen(mark)) <= 0) {
		err = errno ? errno : EIO;
		close(w->kmsg);
		ASSERT_TRUE(false) TH_LOG("/dev/kmsg: %s", strerror(err));
	}
	/*
	 * Last: a failed step above leaves the panic in place. A test that
	 * dies before expect_warn_end() leaves it lifted; tests/qemu/init
	 * puts it back after the program and reports that as a failure.
	 */
	err = write_string(PANIC_ON_WARN, "0");
	if (err) {
		close(w->kmsg);
		ASSERT_EQ(0, err) TH_LOG("%s: %s", PANIC_ON_WARN, strerror(err));
	}
}

/* How many times the text was logged since expect_warn_begin() */
static inline int expect_warn_end(struct __test_metadata *_metadata,
				  struct expected_warn *w)
{
	const char *end = "<3>" EXPECT_WARN_MARK " end";
	static char rec[8192];	/* the longest record kmsg gives */
	int seen = 0;
	ssize_t n;

	for (;;) {
		n = read(w->kmsg, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* records were lost: read on */
		if (n <= 0) {
			EXPECT_EQ(EAGAIN, errno);	/* nothing more */
			break;
		}
		rec[n] = 0;
		if (strstr(rec, w->text) && !strstr(rec, EXPECT_WARN_MARK))
			seen++;
	}
	EXPECT_LT(0, write(w->kmsg, end, strlen(end)));
	EXPECT_EQ(0, write_string(PANIC_ON_WARN, w->panic_on_warn));
	close(w->kmsg);
	return seen;
}

/* --- devices ---------------------------------------------------------------- */

/* Attach (or replace, when attached) to IOAS or HWPT *pt; *pt gets the HWPT */
static inline int device_attach(int fd, __u32 dev, __u32 *pt)
{
	struct iommu_replace_device_attach cmd = {
		.size = sizeof(cmd),
		.dev_id = dev,
		.pt_id = *pt,
	};
	int ret = ioctl_errno(fd, IOMMU_REPLACE_DEVICE_ATTACH, &cmd);

	if (!ret)
		*pt = cmd.pt_id;
	return ret;
}

static inline int device_detach(int fd, __u32 dev)
{
	struct iommu_replace_device_detach cmd = {
		.size = sizeof(cmd),
		.dev_id = dev,
	};

	return ioctl_errno(fd, IOMMU_REPLACE_DEVICE_DETACH, &cmd);
}

static inline int device_unbind(int fd, __u32 dev)
{
	struct iommu_replace_device_unbind cmd = {
		.size = sizeof(cmd),
		.dev_id = dev,
	};

	return ioctl_errno(fd, IOMMU_REPLACE_DEVICE_UNBIND, &cmd);
}

/* --- fault sites (test flavour, module/fault.c) ------------------------------ */

#define IORP_FAULT_DIR		IORP_DEBUGFS_DIR "/fault"

/* Make the n-th call of a site from now on fail, once; 0 disarms it. */
static inline void fault_arm(struct __test_metadata *_metadata,
			     const char *site, unsigned int n)
{
	char path[128], buf[16];
	int fd, len;

	snprintf(path, sizeof(path), IORP_FAULT_DIR "/%s", site);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, fd) TH_LOG("cannot open %s: %s", path, strerror(errno));
	len = snprintf(buf, sizeof(buf), "%u\n", n);
	ASSERT_EQ(len, write(fd, buf, len));
	close(fd);
}

/* Calls left before a site fires: 0 once it fired, or when disarmed */
static inline unsigned int fault_left(struct __test_metadata *_metadata,
				      const char *site)
{
	char name[64];

	snprintf(name, sizeof(name), "fault/%s", site);
	return counter_read(_metadata, name);
}

/* --- time ------------------------------------------------------------------- */

static inline double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* --- pause points (fault.h): races made reproducible ----------------------- */

#define IORP_PAUSE_DIR		IORP_DEBUGFS_DIR "/pause"

enum { PAUSE_IDLE, PAUSE_ARMED, PAUSE_WAITING };

/*
 * Arm a pause point (n >= 1: the n-th thread to reach it from now on waits
 * there), or release it and any waiter (n = 0).
 */
static inline void pause_arm(struct __test_metadata *_metadata,
			     const char *point, unsigned int n)
{
	char path[128], buf[16];
	int fd, len;

	snprintf(path, sizeof(path), IORP_PAUSE_DIR "/%s", point);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, fd) TH_LOG("cannot open %s: %s", path, strerror(errno));
	len = snprintf(buf, sizeof(buf), "%u\n", n);
	ASSERT_EQ(len, write(fd, buf, len));
	close(fd);
}

#define pause_release(point) pause_arm(_metadata, point, 0)

/* Wait (at most seconds) until a thread waits at the point. */
static inline bool pause_reached(struct __test_metadata *_metadata,
				 const char *point, double seconds)
{
	double end = now_seconds() + seconds;
	char name[64];

	snprintf(name, sizeof(name), "pause/%s", point);
	while (counter_read(_metadata, name) != PAUSE_WAITING) {
		if (now_seconds() > end)
			return false;
		usleep(1000);
	}
	return true;
}

/* Is a thread still waiting at the point? */
static inline bool pause_waiting(struct __test_metadata *_metadata,
				 const char *point)
{
	char name[64];

	snprintf(name, sizeof(name), "pause/%s", point);
	return counter_read(_metadata, name) == PAUSE_WAITING;
}

#endif /* IORP_TEST_H */
