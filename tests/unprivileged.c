// SPDX-License-Identifier: GPL-2.0-only
/*
 * unprivileged - what a user who is not root can and cannot do.
 *
 * /dev/iommu-replace is created 0600 root:root; udev/70-iommu-replace.rules
 * may give a group 0660 access. A user who can open the node still:
 *  - cannot pin more than its RLIMIT_MEMLOCK (in RLIMIT_MODE 0, the default,
 *    counted per user over all its files and processes), cannot raise that
 *    limit, and cannot switch the accounting mode (needs CAP_SYS_RESOURCE);
 *  - cannot reach another file's objects: IDs are per file, and an emulated
 *    access fd of another file is refused even when the fd itself was
 *    inherited or passed over a unix socket;
 *  - gains no privilege from a file root opened and handed over: limits and
 *    capabilities are those of the caller, never of the opener.
 * Not tested here yet: that it cannot bind a device it has no VFIO access
 * to. That test arrives with the device-bind ioctl.
 *
 * Every test stays root and forks children that drop their privileges for
 * real: RLIMIT_MEMLOCK set, the bounding set emptied, then setgroups(),
 * setresgid() and setresuid() to numeric IDs (the guest has no user
 * database), and every capability cleared (CAP_IPC_LOCK, CAP_SYS_RESOURCE,
 * CAP_SYS_ADMIN and CAP_DAC_OVERRIDE among them), all verified. A child
 * runs a function of this file and talks to the test over a SOCK_SEQPACKET
 * socket: "S:<point>" when it reaches a point where the root side checks
 * the module's debugfs counters or the child's VmPin (the child waits for a
 * reply), "F:<line>: <what>" when one of its checks fails, then it exits.
 * Children never use the harness's ASSERTs (those belong to the test
 * process).
 *
 * Anything the test changes on the node (mode, owner, group) is put back by
 * FIXTURE_TEARDOWN_PARENT, which runs in the harness's process even when the
 * test process dies, and is checked there.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "iorp_test.h"

#define N	16UL		/* pages of a typical mapping */
#define IOVA(mib) ((__u64)MOCK_APERTURE_START + ((__u64)(mib) << 20))

/* Numeric IDs: the guest has no /etc/passwd or /etc/group */
#define NOBODY		65534	/* uid and gid of "nobody" */
#define NODE_GID	0x7e57	/* the group a udev rule would give the node */
#define OTHER_ID	0x7e58	/* an owner that is neither root nor a child */

FIXTURE(unpriv)
{
	struct stat node;		/* the node as the test found it */
	bool node_changed;		/* the test chmod/chown'ed it */
	uint64_t base_pinned;
	uint64_t base_objects;
	unsigned long page;
};

FIXTURE_SETUP(unpriv)
{
	self->page = psize();
	ASSERT_EQ(0, stat(IORP_DEV, &self->node))
		TH_LOG("%s: %s", IORP_DEV, strerror(errno));
	ASSERT_TRUE(S_ISCHR(self->node.st_mode));
	ASSERT_EQ(0, geteuid()) TH_LOG("the test itself must run as root");
	self->base_pinned = pinned_pages();
	self->base_objects = live_objects();
}

/*
 * Runs in the harness's process (FIXTURE_TEARDOWN_PARENT), which shares
 * *self, after the test process ended however it ended. Children need no
 * cleanup: they die with the test process (PR_SET_PDEATHSIG), and one that
 * is not waiting for it yet finds its socket closed at its next point.
 */
FIXTURE_TEARDOWN_PARENT(unpriv)
{
	struct stat now;

	if (!self->node_changed)
		return;
	EXPECT_EQ(0, chown(IORP_DEV, self->node.st_uid, self->node.st_gid));
	EXPECT_EQ(0, chmod(IORP_DEV, self->node.st_mode & 07777));
	ASSERT_EQ(0, stat(IORP_DEV, &now));
	EXPECT_EQ(self->node.st_mode, now.st_mode)
		TH_LOG("the node's mode was not restored");
	EXPECT_EQ(self->node.st_uid, now.st_uid);
	EXPECT_EQ(self->node.st_gid, now.st_gid);
}

/* What the udev rule does: group gid, mode 0660 */
static void node_to_group(struct __test_metadata *_metadata,
			  FIXTURE_DATA(unpriv) *self, gid_t gid)
{
	self->node_changed = true;
	ASSERT_EQ(0, chown(IORP_DEV, 0, gid));
	ASSERT_EQ(0, chmod(IORP_DEV, 0660));
}

/* --- the child's side ------------------------------------------------------ */

/* Who a child becomes */
struct who {
	const char *name;	/* for messages */
	uid_t uid;
	gid_t gid;
	int ngroups;		/* supplementary groups */
	gid_t groups[2];
	unsigned long memlock;	/* RLIMIT_MEMLOCK in pages; 0: inherited */
};

static int kid_sock = -1;	/* in a child: its end of the socket */

static void __attribute__((noreturn, format(printf, 2, 3)))
kid_fail(int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n;

	n = snprintf(msg, sizeof(msg), "F:line %d: ", line);
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - n, fmt, ap);
	va_end(ap);
	send(kid_sock, msg, strlen(msg), MSG_NOSIGNAL);
	_exit(1);
}

#define KID_CHECK(cond, ...) do {					\
	if (!(cond))							\
		kid_fail(__LINE__, __VA_ARGS__);			\
} while (0)

#define __KID_EXPECT(want, got, text) do {				\
	int __want = (want), __got = (got);				\
									\
	if (__got != __want)						\
		kid_fail(__LINE__, "%s: %s, expected %s", text,	\
			 errname(__got), errname(__want));		\
} while (0)

/* An ioctl wrapper (or anything returning 0 or an errno) gives err */
#define KID_EXPECT(err, call) __KID_EXPECT(err, call, #call)

/* A system call that returns -1 and sets errno gives err (0: succeeds) */
#define KID_SYSCALL(err, call) __KID_EXPECT(err, (call) < 0 ? errno : 0, #call)

/* Data, and a file descriptor if fd >= 0, in one message */
static int send_msg(int sock, const void *buf, size_t len, int fd)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cmsg;

	if (fd >= 0) {
		memset(&control, 0, sizeof(control));
		msg.msg_control = control.buf;
		msg.msg_controllen = sizeof(control.buf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	}
	return sendmsg(sock, &msg, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

/* One message; *fd (if fd) gets a descriptor sent with it, or -1 */
static ssize_t recv_msg(int sock, void *buf, size_t len, int *fd)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	struct cmsghdr *cmsg;
	ssize_t n;

	if (fd)
		*fd = -1;
	n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return n;
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		if (cmsg->cmsg_level == SOL_SOCKET &&
		    cmsg->cmsg_type == SCM_RIGHTS && fd)
			memcpy(fd, CMSG_DATA(cmsg), sizeof(int));
	}
	return n;
}

/*
 * Tell the test we reached point, and wait for its answer (any message,
 * perhaps with data and a descriptor, which buf and fd receive).
 */
static ssize_t kid_sync_recv(const char *point, void *buf, size_t len, int *fd)
{
	char msg[128], dummy;
	ssize_t n;

	snprintf(msg, sizeof(msg), "S:%s", point);
	if (send_msg(kid_sock, msg, strlen(msg), -1))
		_exit(3);
	n = recv_msg(kid_sock, buf ? buf : &dummy, buf ? len : 1, fd);
	if (n <= 0)
		_exit(3);	/* the test is gone */
	return n;
}

static void kid_sync(const char *point)
{
	kid_sync_recv(point, NULL, 0, NULL);
}

static bool caps_all_clear(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return false;
	for (int i = 0; i < 2; i++) {
		if (data[i].effective || data[i].permitted ||
		    data[i].inheritable)
			return false;
	}
	return true;
}

/* Become who, for good, in a child; failures are reported as the child's */
static void become(const struct who *who, pid_t test)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct none[2] = {};
	gid_t groups[8];
	uid_t r, e, s;
	gid_t rg, eg, sg;
	int cap, n;

	if (who->memlock) {
		struct rlimit rl = {
			.rlim_cur = who->memlock * psize(),
			.rlim_max = who->memlock * psize(),
		};

		KID_SYSCALL(0, setrlimit(RLIMIT_MEMLOCK, &rl));
	}
	/* nothing can come back through exec either */
	for (cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
		KID_SYSCALL(0, prctl(PR_CAPBSET_DROP, cap, 0, 0, 0));
	KID_CHECK(cap > CAP_SYS_RESOURCE, "only %d capabilities?", cap);
	KID_SYSCALL(0, prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0));
	KID_SYSCALL(0, setgroups(who->ngroups, who->groups));
	KID_SYSCALL(0, setresgid(who->gid, who->gid, who->gid));
	KID_SYSCALL(0, setresuid(who->uid, who->uid, who->uid));
	/* a uid change cleared them already; uid 0 needs it done */
	KID_SYSCALL(0, syscall(SYS_capset, &hdr, none));

	KID_CHECK(caps_all_clear(), "capabilities left");
	KID_CHECK(!prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0),
		  "CAP_SYS_ADMIN left in the bounding set");
	KID_SYSCALL(0, getresuid(&r, &e, &s));
	KID_CHECK(r == who->uid && e == who->uid && s == who->uid,
		  "uids %u %u %u", r, e, s);
	KID_SYSCALL(0, getresgid(&rg, &eg, &sg));
	KID_CHECK(rg == who->gid && eg == who->gid && sg == who->gid,
		  "gids %u %u %u", rg, eg, sg);
	n = getgroups(8, groups);
	KID_CHECK(n == who->ngroups, "%d supplementary groups", n);
	for (int i = 0; i < n; i++)
		KID_CHECK(groups[i] == who->groups[i], "group %u", groups[i]);
	/* a change of credentials clears it, so only now */
	KID_SYSCALL(0, prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0));
	if (getppid() != test)
		_exit(3);	/* the test died before that */
}

/* Faulted-in private memory, in a child */
static char *kid_buffer(unsigned long npages, int fill)
{
	char *p = mmap(NULL, npages * psize(), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	KID_CHECK(p != MAP_FAILED, "mmap: %s", strerror(errno));
	madvise(p, npages * psize(), MADV_NOHUGEPAGE);
	memset(p, fill, npages * psize());
	return p;
}

/* open() of the node: 0 or the errno; *fd (if fd) gets the fd or -1 */
static int try_open(int flags, int *fd)
{
	int f = open(IORP_DEV, flags | O_CLOEXEC), err = errno;

	if (fd)
		*fd = f;
	else if (f >= 0)
		close(f);
	return f < 0 ? err : 0;
}

/* --- the test's side --------------------------------------------------------- */

struct kid {
	const char *name;
	pid_t pid;
	int sock;	/* the test's end */
};

typedef void (*kid_fn)(const void *arg);

static void kid_start(struct __test_metadata *_metadata, struct kid *k,
		      const struct who *who, kid_fn fn, const void *arg)
{
	pid_t test = getpid();
	int sv[2];

	k->name = who->name;
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv));
	fflush(stdout);
	fflush(stderr);
	k->pid = fork();
	ASSERT_LE(0, k->pid);
	if (k->pid == 0) {
		close(sv[0]);
		kid_sock = sv[1];
		become(who, test);
		fn(arg);
		_exit(0);
	}
	close(sv[1]);
	k->sock = sv[0];
}

/*
 * The child's next message must say it reached point. A failure report or
 * the end of the conversation fails the test, with the child's own words.
 */
static void kid_point(struct __test_metadata *_metadata, struct kid *k,
		      const char *point)
{
	char msg[600];
	ssize_t n;

	n = recv_msg(k->sock, msg, sizeof(msg) - 1, NULL);
	msg[n > 0 ? n : 0] = 0;
	ASSERT_LT(0, n) TH_LOG("%s ended before \"%s\"", k->name, point);
	ASSERT_EQ('S', msg[0]) TH_LOG("%s failed before \"%s\": %s", k->name,
				      point, msg + 2);
	ASSERT_STREQ(point, msg + 2);
}

/* Let a child waiting at a point go on, with data and a fd if given */
static void kid_resume(struct __test_metadata *_metadata, struct kid *k,
		       const void *data, size_t len, int fd)
{
	ASSERT_EQ(0, send_msg(k->sock, data ? data : "g", data ? len : 1, fd));
}

/* The child's last words (a failure, if any) and its exit status */
static void kid_finish(struct __test_metadata *_metadata, struct kid *k)
{
	char msg[600] = "";
	int status = 0;
	ssize_t n;

	n = recv_msg(k->sock, msg, sizeof(msg) - 1, NULL);
	msg[n > 0 ? n : 0] = 0;
	close(k->sock);
	ASSERT_EQ(k->pid, waitpid(k->pid, &status, 0));
	EXPECT_EQ(0, n) TH_LOG("%s: %s", k->name,
			       msg[0] == 'F' ? msg + 2 : msg);
	ASSERT_TRUE(WIFEXITED(status))
		TH_LOG("%s was killed by signal %d", k->name,
		       WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	ASSERT_EQ(0, WEXITSTATUS(status)) TH_LOG("%s failed", k->name);
}

static void run_kid(struct __test_metadata *_metadata, const struct who *who,
		    kid_fn fn, const void *arg)
{
	struct kid k;

	kid_start(_metadata, &k, who, fn, arg);
	kid_finish(_metadata, &k);
}

/* A "Key:   N kB" line of /proc/<pid>/status, in pages */
static uint64_t status_pages(struct __test_metadata *_metadata, pid_t pid,
			     const char *key)
{
	size_t klen = strlen(key);
	long long kb = -1;
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	ASSERT_NE(NULL, f) TH_LOG("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			kb = strtoll(line + klen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	ASSERT_LE(0, kb) TH_LOG("no %s line in %s", key, path);
	return kb * 1024 / psize();
}

/*
 * A uid no other test and no process in the guest uses, so its per-user
 * locked_vm (what RLIMIT_MODE 0 charges) starts at zero; which tells the
 * users of one test apart.
 */
static uid_t fresh_uid(int which)
{
	return 0x30000 + 0x10000 * which + (getpid() & 0xffff);
}

/* --- ioctls iorp_test.h has no wrapper for ----------------------------------- */

static int hw_info(int fd, __u32 dev)
{
	struct iommu_test_hw_info data;
	struct iommu_hw_info cmd = {
		.size = sizeof(cmd),
		.dev_id = dev,
		.data_len = sizeof(data),
		.data_uptr = (uintptr_t)&data,
	};

	return ioctl_errno(fd, IOMMU_GET_HW_INFO, &cmd);
}

static int vfio_ioas_set(int fd, __u32 ioas)
{
	struct iommu_vfio_ioas cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas,
		.op = IOMMU_VFIO_IOAS_SET,
	};

	return ioctl_errno(fd, IOMMU_VFIO_IOAS, &cmd);
}

static int huge_pages_get(int fd, __u32 ioas)
{
	__u64 val = 0;

	return option_op(fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, ioas,
			 &val);
}

static int replace_access_ioas(int fd, int access_fd, __u32 ioas)
{
	struct iommu_test_cmd cmd =
		TEST_CMD(IOMMU_TEST_OP_ACCESS_REPLACE_IOAS, (__u32)access_fd);

	cmd.access_replace_ioas.ioas_id = ioas;
	return ioctl_errno(fd, IOMMU_TEST_CMD, &cmd);
}

/* =========================================================================== */
/* 1. root only by default                                                     */
/* =========================================================================== */

static void kid_cannot_open(const void *arg)
{
	(void)arg;
	KID_EXPECT(EACCES, try_open(O_RDWR, NULL));
	KID_EXPECT(EACCES, try_open(O_RDONLY, NULL));
	KID_EXPECT(EACCES, try_open(O_WRONLY, NULL));
}

/*
 * uid 0 owns the node, so the owner's rw- bits let a uid-0 process in with
 * no capability at all: the DAC check matches the owner before it would
 * look for CAP_DAC_OVERRIDE. What it opened works, and still does not lend
 * it CAP_SYS_RESOURCE.
 */
static void kid_root_without_caps_opens(const void *arg)
{
	__u32 ioas;
	int fd;

	(void)arg;
	KID_EXPECT(0, try_open(O_RDWR, &fd));
	/* the file is empty: only the missing capability can refuse */
	KID_EXPECT(EPERM, rlimit_mode_set(fd, 1));
	KID_EXPECT(0, ioas_alloc(fd, &ioas));
	KID_EXPECT(0, destroy_id(fd, ioas));
	close(fd);
}

static void kid_root_without_caps_cannot_open(const void *arg)
{
	(void)arg;
	KID_EXPECT(EACCES, try_open(O_RDWR, NULL));
	KID_EXPECT(EACCES, try_open(O_RDONLY, NULL));
}

TEST_F(unpriv, root_only_by_default)
{
	const struct who nobody = {
		.name = "nobody", .uid = NOBODY, .gid = NOBODY,
	};
	const struct who nobody_in_root_group = {
		.name = "nobody in group 0", .uid = NOBODY, .gid = NOBODY,
		.ngroups = 1, .groups = { 0 },
	};
	const struct who capless_root = {
		.name = "root without capabilities", .uid = 0, .gid = 0,
	};
	int fd;

	/* the module creates it so, and nothing in the guest changes it */
	EXPECT_EQ(0600, self->node.st_mode & 07777)
		TH_LOG("mode %o", self->node.st_mode & 07777);
	EXPECT_EQ(0, self->node.st_uid);
	EXPECT_EQ(0, self->node.st_gid);

	run_kid(_metadata, &nobody, kid_cannot_open, NULL);
	/* the group bits are empty: group root gets nothing either */
	run_kid(_metadata, &nobody_in_root_group, kid_cannot_open, NULL);
	run_kid(_metadata, &capless_root, kid_root_without_caps_opens,
		NULL);

	/*
	 * The other side of the same check: owned by someone else, the node
	 * is closed to a uid-0 process without CAP_DAC_OVERRIDE, and open to
	 * root with it.
	 */
	self->node_changed = true;
	ASSERT_EQ(0, chown(IORP_DEV, OTHER_ID, OTHER_ID));
	run_kid(_metadata, &capless_root,
		kid_root_without_caps_cannot_open, NULL);
	fd = open_dev();
	ASSERT_LE(0, fd) TH_LOG("root: %s", strerror(errno));
	close(fd);
}

/* =========================================================================== */
/* 2. a group given access, as the udev rule does                              */
/* =========================================================================== */

/* Everything a VMM does, with no capability */
static void kid_real_work(const void *arg)
{
	const unsigned long P = psize();
	char *buf = kid_buffer(N, 0x3c);
	__u32 ioas, stdev, hwpt;
	__u64 unmapped = 0;
	int fd;

	(void)arg;
	KID_EXPECT(0, try_open(O_RDWR, &fd));
	KID_EXPECT(0, ioas_alloc(fd, &ioas));
	KID_EXPECT(0, ioas_map_fixed(fd, ioas, IOVA(0), buf, N * P));
	/* the domain pins the mapping, charged to this user */
	KID_EXPECT(0, mock_domain(fd, ioas, &stdev, &hwpt, NULL));
	KID_EXPECT(0, check_map(fd, hwpt, IOVA(0), buf, N * P));
	KID_EXPECT(0, check_refs(fd, buf, N * P, 1));
	kid_sync("pinned");
	KID_EXPECT(0, ioas_unmap_all(fd, ioas, &unmapped));
	KID_CHECK(unmapped == N * P, "unmapped %llu bytes",
		  (unsigned long long)unmapped);
	KID_EXPECT(0, check_refs(fd, buf, N * P, 0));
	KID_EXPECT(0, destroy_id(fd, stdev));
	KID_EXPECT(0, destroy_id(fd, ioas));
	KID_EXPECT(ENOENT, destroy_id(fd, ioas));
	close(fd);
}

TEST_F(unpriv, group_access_like_the_udev_rule)
{
	const struct who member = {
		.name = "group member", .uid = fresh_uid(0),
		.gid = fresh_uid(0), .ngroups = 1, .groups = { NODE_GID },
		.memlock = 4 * N,
	};
	const struct who outsider = {
		.name = "not a group member", .uid = fresh_uid(1),
		.gid = fresh_uid(1), .memlock = 4 * N,
	};
	struct kid k;

	node_to_group(_metadata, self, NODE_GID);

	kid_start(_metadata, &k, &member, kid_real_work, NULL);
	kid_point(_metadata, &k, "pinned");
	EXPECT_EQ(self->base_pinned + N, pinned_pages());
	EXPECT_EQ(N, status_pages(_metadata, k.pid, "VmPin"));
	kid_resume(_metadata, &k, NULL, 0, -1);
	kid_finish(_metadata, &k);
	EXPECT_EQ(self->base_pinned, pinned_pages());
	EXPECT_EQ(self->base_objects, live_objects());

	run_kid(_metadata, &outsider, kid_cannot_open, NULL);
}

/* =========================================================================== */
/* 3. RLIMIT_MEMLOCK binds                                                     */
/* =========================================================================== */

#define L	16UL	/* the children's RLIMIT_MEMLOCK, in pages */

static void kid_cannot_lift_the_limit(void)
{
	const unsigned long P = psize();
	struct rlimit rl = { .rlim_cur = L * P, .rlim_max = (L + 1) * P };
	struct rlimit inf = { .rlim_cur = RLIM_INFINITY,
			      .rlim_max = RLIM_INFINITY };

	KID_SYSCALL(EPERM, setrlimit(RLIMIT_MEMLOCK, &rl));
	KID_SYSCALL(EPERM, setrlimit(RLIMIT_MEMLOCK, &inf));
	KID_SYSCALL(EPERM, prlimit(0, RLIMIT_MEMLOCK, &inf, NULL));
	KID_SYSCALL(0, getrlimit(RLIMIT_MEMLOCK, &rl));
	KID_CHECK(rl.rlim_cur == L * P && rl.rlim_max == L * P,
		  "RLIMIT_MEMLOCK is now %llu/%llu",
		  (unsigned long long)rl.rlim_cur,
		  (unsigned long long)rl.rlim_max);
}

static void kid_pins_up_to_its_limit(const void *arg)
{
	const unsigned long P = psize();
	char *buf = kid_buffer(2 * L + 2, 0x11);
	char *more = buf + L * P, *lazy = buf + (L + 1) * P;
	__u32 ioas1, ioas2, other_ioas, item;
	int fd, fd2, access_fd;

	(void)arg;
	kid_cannot_lift_the_limit();
	KID_EXPECT(0, try_open(O_RDWR, &fd));
	/* an empty file, so only the missing capability can refuse */
	KID_EXPECT(EPERM, rlimit_mode_set(fd, 1));
	KID_EXPECT(EPERM, rlimit_mode_set(fd, 0));
	KID_CHECK(rlimit_mode_get(fd) == 0, "mode %lld", rlimit_mode_get(fd));

	KID_EXPECT(0, ioas_alloc(fd, &ioas1));
	KID_EXPECT(0, mock_domain(fd, ioas1, NULL, NULL, NULL));
	KID_EXPECT(0, ioas_alloc(fd, &ioas2));	/* no domain: lazy */

	KID_EXPECT(ENOMEM, ioas_map_fixed(fd, ioas1, IOVA(0), buf,
					  (L + 1) * P));
	kid_sync("refused");

	/* the whole limit: so the refused MAP left nothing charged */
	KID_EXPECT(0, ioas_map_fixed(fd, ioas1, IOVA(0), buf, L * P));
	KID_EXPECT(ENOMEM, ioas_map_fixed(fd, ioas1, IOVA(1), more, P));
	/* a lazy MAP costs nothing; whatever would pin it is refused */
	KID_EXPECT(0, ioas_map_fixed(fd, ioas2, IOVA(0), lazy, P));
	KID_EXPECT(ENOMEM, mock_domain(fd, ioas2, NULL, NULL, NULL));
	KID_EXPECT(0, create_access(fd, ioas2,
				    MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				    &access_fd));
	KID_EXPECT(ENOMEM, access_pages(fd, access_fd, 0, IOVA(0), P, lazy,
					&item));
	/* the budget is the user's: another file does not reset it */
	KID_EXPECT(0, try_open(O_RDWR, &fd2));
	KID_EXPECT(0, ioas_alloc(fd2, &other_ioas));
	KID_EXPECT(0, mock_domain(fd2, other_ioas, NULL, NULL, NULL));
	KID_EXPECT(ENOMEM, ioas_map_fixed(fd2, other_ioas, IOVA(0), more, P));
	close(fd2);
	kid_sync("full");	/* meanwhile another process of this user tries */

	/* unpinning gives the budget back */
	KID_EXPECT(0, ioas_unmap_all(fd, ioas1, NULL));
	KID_EXPECT(0, access_pages(fd, access_fd, 0, IOVA(0), P, lazy, &item));
	KID_EXPECT(0, mock_domain(fd, ioas2, NULL, NULL, NULL));
	kid_sync("one page");
	close(access_fd);
	close(fd);
}

/* Another process of the same user, with a file of its own */
static void kid_same_user_pins_nothing(const void *arg)
{
	char *buf = kid_buffer(1, 0x22);
	__u32 ioas;
	int fd;

	(void)arg;
	KID_EXPECT(0, try_open(O_RDWR, &fd));
	KID_EXPECT(0, ioas_alloc(fd, &ioas));
	KID_EXPECT(0, mock_domain(fd, ioas, NULL, NULL, NULL));
	KID_EXPECT(ENOMEM, ioas_map_fixed(fd, ioas, IOVA(0), buf, psize()));
	close(fd);
}

TEST_F(unpriv, memlock_limit_binds_the_unprivileged)
{
	const struct who user = {
		.name = "limited user", .uid = fresh_uid(0),
		.gid = fresh_uid(0), .ngroups = 1, .groups = { NODE_GID },
		.memlock = L,
	};
	struct who same = user;
	struct kid k;

	same.name = "second process of the limited user";
	node_to_group(_metadata, self, NODE_GID);
	kid_start(_metadata, &k, &user, kid_pins_up_to_its_limit, NULL);

	kid_point(_metadata, &k, "refused");
	EXPECT_EQ(self->base_pinned, pinned_pages());
	EXPECT_EQ(0, status_pages(_metadata, k.pid, "VmPin"));
	kid_resume(_metadata, &k, NULL, 0, -1);

	kid_point(_metadata, &k, "full");
	EXPECT_EQ(self->base_pinned + L, pinned_pages());
	EXPECT_EQ(L, status_pages(_metadata, k.pid, "VmPin"));
	run_kid(_metadata, &same, kid_same_user_pins_nothing, NULL);
	EXPECT_EQ(self->base_pinned + L, pinned_pages());
	kid_resume(_metadata, &k, NULL, 0, -1);

	kid_point(_metadata, &k, "one page");
	EXPECT_EQ(self->base_pinned + 1, pinned_pages());
	EXPECT_EQ(1, status_pages(_metadata, k.pid, "VmPin"));
	kid_resume(_metadata, &k, NULL, 0, -1);

	kid_finish(_metadata, &k);
	EXPECT_EQ(self->base_pinned, pinned_pages());
	EXPECT_EQ(self->base_objects, live_objects());
}

/* =========================================================================== */
/* 4. IDs and access fds are per file                                          */
/* =========================================================================== */

/* The objects of the test's (root's) file */
struct a_objects {
	int fd;			/* the file; the child closes its copy */
	__u32 ioas, stdev, auto_hwpt, idev, hwpt;
	__u32 item;		/* an ACCESS_PAGES pin of each access */
	int inherited_access;	/* created before the fork */
};

#define A_IDS(a) { (a).ioas, (a).stdev, (a).auto_hwpt, (a).idev, (a).hwpt }

/* Everything B can try with an access of A's file */
static void kid_try_foreign_access(int fd, int access_fd, __u32 item,
				   __u32 my_ioas, char *mine)
{
	const unsigned long P = psize();
	char *probe = kid_buffer(1, 0x77);

	KID_EXPECT(ENOENT, access_pages(fd, access_fd, 0, IOVA(0), P, NULL,
					NULL));
	KID_EXPECT(ENOENT, access_rw(fd, access_fd, 0, IOVA(0), P, probe));
	KID_CHECK(probe[0] == 0x77 && probe[P - 1] == 0x77,
		  "ACCESS_RW read A's memory: %#x", probe[0]);
	KID_EXPECT(ENOENT, access_rw(fd, access_fd, MOCK_ACCESS_RW_WRITE,
				     IOVA(0), P, probe));
	KID_EXPECT(ENOENT, access_pages_destroy(fd, access_fd, item));
	KID_EXPECT(ENOENT, replace_access_ioas(fd, access_fd, my_ioas));
	/* B's own memory at the same IOVA is untouched */
	KID_CHECK(mine[0] == 0x5a, "B's buffer changed");
	munmap(probe, P);
}

static void kid_uses_foreign_ids(const void *arg)
{
	const struct a_objects *inherited = arg;
	const unsigned long P = psize();
	char *mine = kid_buffer(N, 0x5a);
	__u32 ioas, stdev, hwpt, idev, my_access_item, out;
	struct iommu_iova_range range = { IOVA(8), IOVA(9) - 1 };
	struct a_objects a;
	int fd, passed, my_access;
	__u32 num = 1;

	/* B has A's access fd by inheritance, but not A's file */
	close(inherited->fd);
	KID_EXPECT(0, try_open(O_RDWR, &fd));
	KID_EXPECT(0, ioas_alloc(fd, &ioas));
	KID_EXPECT(0, mock_domain(fd, ioas, &stdev, &hwpt, &idev));
	KID_EXPECT(0, ioas_map_fixed(fd, ioas, IOVA(0), mine, N * P));

	/* A's IDs, and its second access fd over the socket */
	KID_CHECK(kid_sync_recv("ready", &a, sizeof(a), &passed) == sizeof(a),
		  "short message");
	KID_CHECK(passed >= 0, "no access fd came with the message");
	for (int i = 0; i < 5; i++) {
		__u32 ids[] = A_IDS(a), id = ids[i];

		KID_CHECK(id != ioas && id != stdev && id != hwpt &&
			  id != idev, "A's ID %u is also one of B's", id);
	}

	/* every object of A, by its ID, in B's file */
	KID_EXPECT(ENOENT, ioas_map_fixed(fd, a.ioas, IOVA(1), mine, P));
	KID_EXPECT(ENOENT, ioas_unmap_all(fd, a.ioas, NULL));
	KID_EXPECT(ENOENT, ioas_copy_fixed(fd, ioas, IOVA(2), a.ioas, IOVA(0),
					   P));
	KID_EXPECT(ENOENT, ioas_copy_fixed(fd, a.ioas, IOVA(2), ioas, IOVA(0),
					   P));
	KID_EXPECT(ENOENT, ioas_iova_ranges(fd, a.ioas, &range, &num, NULL));
	KID_EXPECT(ENOENT, ioas_allow_iovas(fd, a.ioas, &range, 1));
	KID_EXPECT(ENOENT, huge_pages_get(fd, a.ioas));
	KID_EXPECT(ENOENT, vfio_ioas_set(fd, a.ioas));
	KID_EXPECT(ENOENT, add_reserved(fd, a.ioas, IOVA(8), P));
	KID_EXPECT(ENOENT, create_access(fd, a.ioas, 0, &my_access));
	KID_EXPECT(ENOENT, mock_domain(fd, a.ioas, NULL, NULL, NULL));
	/* a pt_id that names nothing is EINVAL, as upstream's HWPT_ALLOC */
	KID_EXPECT(EINVAL, hwpt_alloc(fd, idev, a.ioas, 0, &out));
	KID_EXPECT(ENOENT, hwpt_alloc(fd, a.idev, ioas, 0, &out));
	KID_EXPECT(ENOENT, hw_info(fd, a.idev));
	out = ioas;
	KID_EXPECT(ENOENT, mock_domain_replace(fd, a.stdev, &out));
	out = a.hwpt;
	KID_EXPECT(ENOENT, mock_domain_replace(fd, stdev, &out));
	out = a.ioas;
	KID_EXPECT(ENOENT, mock_domain_replace(fd, stdev, &out));
	KID_EXPECT(ENOENT, check_map(fd, a.hwpt, IOVA(0), mine, P));
	KID_EXPECT(ENOENT, check_map(fd, a.auto_hwpt, IOVA(0), mine, P));
	for (int i = 0; i < 5; i++) {
		__u32 ids[] = A_IDS(a);

		KID_EXPECT(ENOENT, destroy_id(fd, ids[i]));
	}

	/* A's access fds, inherited and passed, are no access of B's file */
	kid_try_foreign_access(fd, inherited->inherited_access,
			       inherited->item, ioas, mine);
	kid_try_foreign_access(fd, passed, a.item, ioas, mine);

	/* B's own objects answer B, so the refusals were about ownership */
	KID_EXPECT(0, check_map(fd, hwpt, IOVA(0), mine, N * P));
	KID_EXPECT(0, hw_info(fd, idev));
	KID_EXPECT(0, create_access(fd, ioas,
				    MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				    &my_access));
	KID_EXPECT(0, access_pages(fd, my_access, 0, IOVA(0), P, mine,
				   &my_access_item));
	KID_EXPECT(0, access_pages_destroy(fd, my_access, my_access_item));
	close(my_access);
	num = 1;
	KID_EXPECT(0, ioas_iova_ranges(fd, ioas, &range, &num, NULL));
	out = ioas;
	KID_EXPECT(0, mock_domain_replace(fd, stdev, &out));

	/* A checks its objects while B still holds its fds */
	kid_sync("tried");
	close(passed);
	close(inherited->inherited_access);
	close(fd);
}

TEST_F(unpriv, ids_are_per_file)
{
	const unsigned long P = self->page;
	const struct who b = {
		.name = "B", .uid = fresh_uid(0), .gid = fresh_uid(0),
		.ngroups = 1, .groups = { NODE_GID }, .memlock = 4 * N,
	};
	char *buf = alloc_buffer(_metadata, N * P);
	char *check = alloc_buffer(_metadata, P);
	struct a_objects a = {}, msg;
	int passed_access;
	__u32 item2, filler, pt;
	struct kid k;

	/* A: the test, as root; its IDs are well above any of B's */
	a.fd = open_dev();
	ASSERT_LE(0, a.fd);
	for (int i = 0; i < 8; i++)
		ASSERT_EQ(0, ioas_alloc(a.fd, &filler));
	ASSERT_EQ(0, ioas_alloc(a.fd, &a.ioas));
	ASSERT_EQ(0, mock_domain(a.fd, a.ioas, &a.stdev, &a.auto_hwpt,
				 &a.idev));
	ASSERT_EQ(0, hwpt_alloc(a.fd, a.idev, a.ioas, 0, &a.hwpt));
	ASSERT_EQ(0, ioas_map_fixed(a.fd, a.ioas, IOVA(0), buf, N * P));
	ASSERT_EQ(0, create_access(a.fd, a.ioas,
				   MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				   &a.inherited_access));
	ASSERT_EQ(0, access_pages(a.fd, a.inherited_access, 0, IOVA(0), 2 * P,
				  buf, &a.item));
	EXPECT_EQ(self->base_pinned + N, pinned_pages());

	node_to_group(_metadata, self, NODE_GID);
	kid_start(_metadata, &k, &b, kid_uses_foreign_ids, &a);

	/* an access made after the fork reaches B only over the socket */
	ASSERT_EQ(0, create_access(a.fd, a.ioas,
				   MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				   &passed_access));
	ASSERT_EQ(0, access_pages(a.fd, passed_access, 0, IOVA(0) + 2 * P, P,
				  buf + 2 * P, &item2));
	kid_point(_metadata, &k, "ready");
	msg = a;
	msg.item = item2;
	kid_resume(_metadata, &k, &msg, sizeof(msg), passed_access);

	kid_point(_metadata, &k, "tried");
	/* A's objects are all there, unchanged */
	EXPECT_EQ(0, check_map(a.fd, a.auto_hwpt, IOVA(0), buf, N * P));
	EXPECT_EQ(0, check_map(a.fd, a.hwpt, IOVA(0), buf, N * P));
	EXPECT_EQ(0, check_refs(a.fd, buf, N * P, 1));
	EXPECT_EQ(self->base_pinned + N + N, pinned_pages())
		TH_LOG("A's N pages and B's N");
	memset(check, 0, P);
	EXPECT_EQ(0, access_rw(a.fd, a.inherited_access, 0, IOVA(0), P,
			       check));
	EXPECT_EQ(0, memcmp(check, buf, P));
	memset(check, 0, P);
	EXPECT_EQ(0, access_rw(a.fd, passed_access, 0, IOVA(0) + P, P, check));
	EXPECT_EQ(0, memcmp(check, buf + P, P));
	kid_resume(_metadata, &k, NULL, 0, -1);
	kid_finish(_metadata, &k);

	/* ... and A can use and destroy them */
	EXPECT_EQ(0, hw_info(a.fd, a.idev));
	EXPECT_EQ(0, access_pages_destroy(a.fd, a.inherited_access, a.item));
	EXPECT_EQ(0, access_pages_destroy(a.fd, passed_access, item2));
	pt = a.hwpt;
	EXPECT_EQ(0, mock_domain_replace(a.fd, a.stdev, &pt));
	EXPECT_EQ(a.hwpt, pt);
	close(a.inherited_access);
	close(passed_access);
	EXPECT_EQ(0, ioas_unmap_all(a.fd, a.ioas, NULL));
	EXPECT_EQ(self->base_pinned, pinned_pages());
	EXPECT_EQ(0, destroy_id(a.fd, a.stdev));
	EXPECT_EQ(0, destroy_id(a.fd, a.hwpt));
	EXPECT_EQ(0, destroy_id(a.fd, a.ioas));
	close(a.fd);
	EXPECT_EQ(self->base_objects, live_objects());
}

/* =========================================================================== */
/* 5. a file root opened lends no privilege                                    */
/* =========================================================================== */

struct root_files {
	int fd;		/* root's file, inherited; an IOAS with a domain */
	__u32 ioas;
};

static void kid_uses_roots_file(const void *arg)
{
	const struct root_files *r = arg;
	const unsigned long P = psize();
	char *buf = kid_buffer(L + 2, 0x33);
	int empty;

	/* the node is still 0600 root:root: only the fds let it in */
	KID_EXPECT(EACCES, try_open(O_RDWR, NULL));
	kid_sync_recv("want the empty file", NULL, 0, &empty);
	KID_CHECK(empty >= 0, "no fd came with the message");

	/* pins are charged to the caller: root's CAP_IPC_LOCK is not lent */
	KID_EXPECT(ENOMEM, ioas_map_fixed(r->fd, r->ioas, IOVA(0), buf,
					  (L + 1) * P));
	KID_EXPECT(0, ioas_map_fixed(r->fd, r->ioas, IOVA(0), buf, L * P));
	KID_EXPECT(ENOMEM, ioas_map_fixed(r->fd, r->ioas, IOVA(1),
					  buf + L * P, P));
	/* nor is root's CAP_SYS_RESOURCE, on a file it could switch */
	KID_EXPECT(EPERM, rlimit_mode_set(empty, 1));
	KID_CHECK(rlimit_mode_get(empty) == 0, "mode switched");
	kid_sync("pinned");
	close(empty);
	/* exits leaving its mapping, and its pins, in root's IOAS */
}

TEST_F(unpriv, a_file_root_opened_lends_no_privilege)
{
	const struct who user = {
		.name = "limited user", .uid = fresh_uid(0),
		.gid = fresh_uid(0), .memlock = L,
	};
	uint64_t my_vmpin = status_pages(_metadata, getpid(), "VmPin");
	struct root_files r;
	__u64 unmapped = 0;
	struct kid k;
	int empty;

	ASSERT_EQ(0, self->node.st_mode & 077) TH_LOG("the node is not 0600");
	r.fd = open_dev();
	ASSERT_LE(0, r.fd);
	ASSERT_EQ(0, ioas_alloc(r.fd, &r.ioas));
	ASSERT_EQ(0, mock_domain(r.fd, r.ioas, NULL, NULL, NULL));
	kid_start(_metadata, &k, &user, kid_uses_roots_file, &r);

	/* opened after the fork: it reaches the child only over the socket */
	empty = open_dev();
	ASSERT_LE(0, empty);
	/* root could: the file is empty */
	ASSERT_EQ(0, rlimit_mode_set(empty, 0));
	kid_point(_metadata, &k, "want the empty file");
	kid_resume(_metadata, &k, "e", 1, empty);
	kid_point(_metadata, &k, "pinned");
	EXPECT_EQ(self->base_pinned + L, pinned_pages());
	EXPECT_EQ(L, status_pages(_metadata, k.pid, "VmPin"));
	EXPECT_EQ(my_vmpin, status_pages(_metadata, getpid(), "VmPin"));
	EXPECT_EQ(0, rlimit_mode_get(empty));
	kid_resume(_metadata, &k, NULL, 0, -1);
	kid_finish(_metadata, &k);

	/* the mapping outlives its mapper, and goes with root's unmap */
	EXPECT_EQ(self->base_pinned + L, pinned_pages());
	EXPECT_EQ(0, ioas_unmap_all(r.fd, r.ioas, &unmapped));
	EXPECT_EQ(L * self->page, unmapped);
	EXPECT_EQ(self->base_pinned, pinned_pages());
	close(empty);
	close(r.fd);
	EXPECT_EQ(self->base_objects, live_objects());
}

TEST_HARNESS_MAIN
