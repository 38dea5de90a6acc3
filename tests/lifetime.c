// SPDX-License-Identifier: GPL-2.0-only
/*
 * lifetime - what outlives what: closing a file with live objects, the order
 * IOMMU_DESTROY allows, and a file shared with, or left behind by, another
 * process.
 *
 * The upstream rules (drivers/iommu/iommufd/main.c iommufd_object_remove()
 * and iommufd_fops_release(), device.c, hw_pagetable.c):
 *  - an object another object holds a reference on cannot be destroyed
 *    (EBUSY): an IOAS while a HWPT or an emulated access uses it, a HWPT
 *    while a device is attached to it, a device while it is bound;
 *  - an automatic HWPT (made by attaching to an IOAS) goes away with its
 *    last device; destroying a mock device object detaches and unbinds it;
 *  - closing the file destroys every object, dependents first; an emulated
 *    access holds the file, so that happens when the access is closed too;
 *  - pages are unpinned, and charged back to the process that pinned them,
 *    when the last thing using them goes, whoever (or whatever process)
 *    makes it go.
 *
 * Every test ends with the module-wide debugfs counters (pinned pages, live
 * objects) and this process's VmPin back at their values from its start.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "iorp_test.h"

#define N	16UL		/* pages of a typical mapping */
#define IOVA(mib) ((__u64)MOCK_APERTURE_START + ((__u64)(mib) << 20))

FIXTURE(life)
{
	unsigned long page;
	uint64_t base_pinned;
	uint64_t base_objects;
	uint64_t base_vmpin;
};

FIXTURE_SETUP(life)
{
	self->page = psize();
	self->base_pinned = pinned_pages();
	self->base_objects = live_objects();
	self->base_vmpin = vm_pinned();
}

FIXTURE_TEARDOWN(life)
{
}

static void expect_baseline(struct __test_metadata *_metadata,
			    FIXTURE_DATA(life) *self, const char *what)
{
	EXPECT_EQ(self->base_pinned, pinned_pages())
		TH_LOG("%s: pinned_pages is not back to its baseline", what);
	EXPECT_EQ(self->base_objects, live_objects())
		TH_LOG("%s: objects is not back to its baseline", what);
	EXPECT_EQ(self->base_vmpin, vm_pinned())
		TH_LOG("%s: VmPin is not back to its baseline", what);
}

/*
 * A file holding one of everything: two IOASes with mappings (one shared by
 * COPY), mock devices on an automatic and on a manual HWPT, a HWPT with no
 * device, an access with pinned pages and one without, the VFIO compat IOAS.
 */
struct busy_file {
	int fd;
	int access_fd;		/* pins pages */
	int plain_access_fd;	/* pins nothing */
	char *buf;
};

static void build_busy_file(struct __test_metadata *_metadata,
			    FIXTURE_DATA(life) *self, struct busy_file *b)
{
	const unsigned long P = self->page;
	struct iommu_vfio_ioas compat = {
		.size = sizeof(compat),
		.op = IOMMU_VFIO_IOAS_SET,
	};
	__u32 ioas1, ioas2, stdev, idev, manual, spare, item;

	b->buf = alloc_buffer(_metadata, 2 * N * P);
	b->fd = open_dev();
	ASSERT_LE(0, b->fd);
	ASSERT_EQ(0, ioas_alloc(b->fd, &ioas1));
	ASSERT_EQ(0, ioas_alloc(b->fd, &ioas2));
	ASSERT_EQ(0, mock_domain(b->fd, ioas1, &stdev, NULL, &idev));
	ASSERT_EQ(0, mock_domain(b->fd, ioas1, NULL, NULL, NULL));
	ASSERT_EQ(0, hwpt_alloc(b->fd, idev, ioas2, 0, &manual));
	ASSERT_EQ(0, mock_domain(b->fd, manual, NULL, NULL, NULL));
	ASSERT_EQ(0, hwpt_alloc(b->fd, idev, ioas2, 0, &spare));
	ASSERT_EQ(0, ioas_map_fixed(b->fd, ioas1, IOVA(0), b->buf, N * P));
	ASSERT_EQ(0, ioas_copy_fixed(b->fd, ioas2, IOVA(0), ioas1, IOVA(0),
				     N * P));
	ASSERT_EQ(0, ioas_map_fixed(b->fd, ioas2, IOVA(1), b->buf + N * P,
				    N * P));
	ASSERT_EQ(0, create_access(b->fd, ioas2,
				   MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				   &b->access_fd));
	ASSERT_EQ(0, access_pages(b->fd, b->access_fd, 0, IOVA(1), N * P,
				  b->buf + N * P, &item));
	ASSERT_EQ(0, create_access(b->fd, ioas1, 0, &b->plain_access_fd));
	compat.ioas_id = ioas1;
	ASSERT_EQ(0, ioctl_errno(b->fd, IOMMU_VFIO_IOAS, &compat));

	EXPECT_EQ(self->base_pinned + 2 * N, pinned_pages());
	EXPECT_LT(self->base_objects, live_objects());
}

/* Closing the file last: everything goes at the last close. */
TEST_F(life, close_with_every_kind_of_object)
{
	struct busy_file b;
	uint64_t pinned, objects;

	build_busy_file(_metadata, self, &b);
	pinned = pinned_pages();
	objects = live_objects();

	/*
	 * iommufd_access_create() takes a reference on the file: while an
	 * access is open, closing the file destroys nothing and its pins
	 * stay valid.
	 */
	close(b.fd);
	EXPECT_EQ(pinned, pinned_pages());
	EXPECT_EQ(objects, live_objects());
	close(b.plain_access_fd);
	close(b.access_fd);
	expect_baseline(_metadata, self, "file and accesses closed");
}

/* Closing the accesses first, then the file. */
TEST_F(life, close_accesses_then_file)
{
	struct busy_file b;

	build_busy_file(_metadata, self, &b);
	close(b.access_fd);
	close(b.plain_access_fd);
	/* the access pins were on pages the domains hold pinned anyway */
	EXPECT_EQ(self->base_pinned + 2 * N, pinned_pages());
	close(b.fd);
	expect_baseline(_metadata, self, "accesses and file closed");
}

TEST_F(life, automatic_hwpt_goes_with_its_last_device)
{
	const unsigned long P = self->page;
	char *buf = alloc_buffer(_metadata, N * P);
	struct iommu_hw_info info = { .size = sizeof(info) };
	__u32 ioas, stdev1, hwpt1, idev1, stdev2, hwpt2, idev2;
	uint64_t objects_ioas;
	__u64 unmapped = 0;
	int fd;

	fd = open_dev();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioas_alloc(fd, &ioas));
	objects_ioas = live_objects();
	ASSERT_EQ(0, ioas_map_fixed(fd, ioas, IOVA(0), buf, N * P));
	ASSERT_EQ(0, mock_domain(fd, ioas, &stdev1, &hwpt1, &idev1));
	/* a second compatible device shares the automatic HWPT */
	ASSERT_EQ(0, mock_domain(fd, ioas, &stdev2, &hwpt2, &idev2));
	EXPECT_EQ(hwpt1, hwpt2);
	EXPECT_EQ(self->base_pinned + N, pinned_pages());

	/* everything in the chain is held by something */
	EXPECT_EQ(EBUSY, destroy_id(fd, ioas));
	EXPECT_EQ(EBUSY, destroy_id(fd, hwpt1));
	EXPECT_EQ(EBUSY, destroy_id(fd, idev1));
	EXPECT_EQ(EBUSY, destroy_id(fd, idev2));
	EXPECT_EQ(self->base_pinned + N, pinned_pages());
	EXPECT_EQ(0, check_map(fd, hwpt1, IOVA(0), buf, N * P));

	/* the first device goes: the HWPT stays for the second */
	ASSERT_EQ(0, destroy_id(fd, stdev1));
	EXPECT_EQ(ENOENT, destroy_id(fd, idev1));
	info.dev_id = idev1;
	EXPECT_EQ(ENOENT, ioctl_errno(fd, IOMMU_GET_HW_INFO, &info));
	EXPECT_EQ(EBUSY, destroy_id(fd, hwpt1));
	EXPECT_EQ(0, check_map(fd, hwpt1, IOVA(0), buf, N * P));
	EXPECT_EQ(self->base_pinned + N, pinned_pages());

	/* the last device goes: so does the HWPT, and with it the pins */
	ASSERT_EQ(0, destroy_id(fd, stdev2));
	EXPECT_EQ(ENOENT, destroy_id(fd, hwpt1));
	EXPECT_EQ(ENOENT, destroy_id(fd, idev2));
	EXPECT_EQ(objects_ioas, live_objects());
	EXPECT_EQ(self->base_pinned, pinned_pages());

	/* the mapping itself is still in the IOAS */
	ASSERT_EQ(0, ioas_unmap_all(fd, ioas, &unmapped));
	EXPECT_EQ(N * P, unmapped);
	EXPECT_EQ(0, destroy_id(fd, ioas));
	expect_baseline(_metadata, self, "all destroyed");
	close(fd);
}

TEST_F(life, manual_hwpt_destroy_order)
{
	const unsigned long P = self->page;
	char *buf = alloc_buffer(_metadata, N * P);
	__u32 ioas, stdev, autopt, idev, manual, pt, stdev2, hwpt2;
	int fd;

	fd = open_dev();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioas_alloc(fd, &ioas));
	ASSERT_EQ(0, ioas_map_fixed(fd, ioas, IOVA(0), buf, N * P));
	ASSERT_EQ(0, mock_domain(fd, ioas, &stdev, &autopt, &idev));
	ASSERT_EQ(0, hwpt_alloc(fd, idev, ioas, 0, &manual));
	EXPECT_NE(autopt, manual);
	EXPECT_EQ(self->base_pinned + N, pinned_pages());

	/* the device moves to the manual HWPT: the automatic one is gone */
	pt = manual;
	ASSERT_EQ(0, mock_domain_replace(fd, stdev, &pt));
	EXPECT_EQ(manual, pt);
	EXPECT_EQ(ENOENT, destroy_id(fd, autopt));
	EXPECT_EQ(EBUSY, destroy_id(fd, manual));
	EXPECT_EQ(EBUSY, destroy_id(fd, ioas));
	EXPECT_EQ(0, check_map(fd, manual, IOVA(0), buf, N * P));

	/* back to the IOAS: a new automatic HWPT, never the manual one */
	pt = ioas;
	ASSERT_EQ(0, mock_domain_replace(fd, stdev, &pt));
	EXPECT_NE(manual, pt);
	EXPECT_NE(ioas, pt);
	EXPECT_EQ(0, check_map(fd, pt, IOVA(0), buf, N * P));

	/* a manual HWPT with no device still holds its IOAS and its pins */
	ASSERT_EQ(0, destroy_id(fd, stdev));
	EXPECT_EQ(ENOENT, destroy_id(fd, pt));
	EXPECT_EQ(EBUSY, destroy_id(fd, ioas));
	EXPECT_EQ(self->base_pinned + N, pinned_pages());
	EXPECT_EQ(0, check_map(fd, manual, IOVA(0), buf, N * P));

	/* a device attached to it directly at creation */
	ASSERT_EQ(0, mock_domain(fd, manual, &stdev2, &hwpt2, NULL));
	EXPECT_EQ(manual, hwpt2);
	EXPECT_EQ(EBUSY, destroy_id(fd, manual));
	ASSERT_EQ(0, destroy_id(fd, stdev2));
	/* a manual HWPT outlives its last device until destroyed */
	EXPECT_EQ(self->base_pinned + N, pinned_pages());

	ASSERT_EQ(0, destroy_id(fd, manual));
	EXPECT_EQ(self->base_pinned, pinned_pages());
	EXPECT_EQ(0, destroy_id(fd, ioas));
	expect_baseline(_metadata, self, "all destroyed");
	close(fd);
}

TEST_F(life, access_holds_its_ioas)
{
	const unsigned long P = self->page;
	char *buf = alloc_buffer(_metadata, N * P);
	int fd, access_fd;
	__u32 ioas, item;

	fd = open_dev();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioas_alloc(fd, &ioas));
	ASSERT_EQ(0, ioas_map_fixed(fd, ioas, IOVA(0), buf, N * P));

	/* an access with pinned pages */
	ASSERT_EQ(0, create_access(fd, ioas,
				   MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				   &access_fd));
	ASSERT_EQ(0, access_pages(fd, access_fd, 0, IOVA(0), N * P, buf,
				  &item));
	EXPECT_EQ(self->base_pinned + N, pinned_pages());
	EXPECT_EQ(EBUSY, destroy_id(fd, ioas));
	EXPECT_EQ(self->base_pinned + N, pinned_pages());
	close(access_fd);
	EXPECT_EQ(self->base_pinned, pinned_pages());

	/* an access that pins nothing holds the IOAS as well */
	ASSERT_EQ(0, create_access(fd, ioas, 0, &access_fd));
	EXPECT_EQ(EBUSY, destroy_id(fd, ioas));
	close(access_fd);

	EXPECT_EQ(0, destroy_id(fd, ioas));
	expect_baseline(_metadata, self, "IOAS destroyed");
	close(fd);
}

/* A child's result: 0, or the number of the step that failed */
static int wait_child(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 1000 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

TEST_F(life, fork_child_uses_the_inherited_file)
{
	const unsigned long P = self->page, M = N / 2;
	char *buf = alloc_buffer(_metadata, N * P);
	__u32 ioas, hwpt;
	__u64 unmapped = 0;
	pid_t pid;
	int fd;

	fd = open_dev();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioas_alloc(fd, &ioas));
	ASSERT_EQ(0, mock_domain(fd, ioas, NULL, &hwpt, NULL));
	ASSERT_EQ(0, ioas_map_fixed(fd, ioas, IOVA(0), buf, N * P));
	EXPECT_EQ(self->base_pinned + N, pinned_pages());
	EXPECT_EQ(self->base_vmpin + N, vm_pinned());

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* the child maps memory of its own and unmaps the parent's */
		char *mine = mmap(NULL, M * P, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (mine == MAP_FAILED)
			_exit(1);
		memset(mine, 0x5a, M * P);
		if (ioas_map_fixed(fd, ioas, IOVA(1), mine, M * P))
			_exit(2);
		if (check_map(fd, hwpt, IOVA(1), mine, M * P))
			_exit(3);
		if (ioas_unmap(fd, ioas, IOVA(0), N * P, &unmapped) ||
		    unmapped != N * P)
			_exit(4);
		_exit(0);
	}
	EXPECT_EQ(0, wait_child(pid)) TH_LOG("the child failed at that step");

	/* the parent sees the child's work */
	EXPECT_EQ(ENOENT, ioas_unmap(fd, ioas, IOVA(0), N * P, NULL));
	/* the child's pages stay pinned after it exited, charged to it */
	EXPECT_EQ(self->base_pinned + M, pinned_pages());
	/* the parent's were unpinned by the child and uncharged from it */
	EXPECT_EQ(self->base_vmpin, vm_pinned());
	EXPECT_EQ(0, ioas_unmap_all(fd, ioas, &unmapped));
	EXPECT_EQ(M * P, unmapped);
	EXPECT_EQ(self->base_pinned, pinned_pages());
	close(fd);
	expect_baseline(_metadata, self, "file closed");
}

/*
 * Memory an exited child mapped and no domain pinned: an access can
 * neither pin nor copy it, with iommufd's errno (EFAULT; the VFIO backend
 * gives type1's), nothing is left pinned, and the parent unmaps it.
 */
TEST_F(life, access_to_memory_of_an_exited_process)
{
	const unsigned long P = self->page;
	char bytes[16];
	__u64 unmapped = 0;
	int fd, access;
	__u32 ioas;
	pid_t pid;

	fd = open_dev();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioas_alloc(fd, &ioas));
	ASSERT_EQ(0, create_access(fd, ioas,
				   MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				   &access));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char *mine = mmap(NULL, 2 * P, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (mine == MAP_FAILED)
			_exit(1);
		memset(mine, 0x5a, 2 * P);
		_exit(ioas_map_fixed(fd, ioas, IOVA(0), mine, 2 * P) ? 2 : 0);
	}
	ASSERT_EQ(0, wait_child(pid)) TH_LOG("the child failed at that step");

	EXPECT_EQ(EFAULT, access_pages(fd, access, 0, IOVA(0), P, NULL, NULL));
	EXPECT_EQ(EFAULT, access_pages(fd, access, MOCK_FLAGS_ACCESS_WRITE,
				       IOVA(0), 2 * P, NULL, NULL));
	EXPECT_EQ(EFAULT, access_rw(fd, access, 0, IOVA(0), sizeof(bytes),
				    bytes));
	EXPECT_EQ(self->base_pinned, pinned_pages());
	EXPECT_EQ(0, ioas_unmap_all(fd, ioas, &unmapped));
	EXPECT_EQ(2 * P, unmapped);
	close(access);
	close(fd);
	expect_baseline(_metadata, self, "file closed");
}

TEST_F(life, fork_parent_closes_first)
{
	const unsigned long P = self->page;
	int to_child[2], to_parent[2];
	__u32 ioas;
	char c = 0;
	pid_t pid;
	int fd;

	fd = open_dev();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioas_alloc(fd, &ioas));
	ASSERT_EQ(0, mock_domain(fd, ioas, NULL, NULL, NULL));
	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(to_parent));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char *mine;

		close(to_child[1]);
		close(to_parent[0]);
		if (read(to_child[0], &c, 1) != 1)
			_exit(1);
		mine = mmap(NULL, N * P, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (mine == MAP_FAILED)
			_exit(2);
		memset(mine, 0x5a, N * P);
		if (ioas_map_fixed(fd, ioas, IOVA(0), mine, N * P))
			_exit(3);
		if (write(to_parent[1], "m", 1) != 1)
			_exit(4);
		/* exits, still holding the mapping, when the parent says so */
		if (read(to_child[0], &c, 1) != 1)
			_exit(5);
		_exit(0);
	}
	close(to_child[0]);
	close(to_parent[1]);

	/* the parent lets go of the file; the child keeps it alive */
	close(fd);
	ASSERT_EQ(1, write(to_child[1], "c", 1));
	EXPECT_EQ(1, read(to_parent[0], &c, 1));
	EXPECT_EQ(self->base_pinned + N, pinned_pages());
	EXPECT_LT(self->base_objects, live_objects());

	ASSERT_EQ(1, write(to_child[1], "x", 1));
	EXPECT_EQ(0, wait_child(pid)) TH_LOG("the child failed at that step");
	expect_baseline(_metadata, self, "the child exited");
	close(to_child[1]);
	close(to_parent[0]);
}

/*
 * A child opens its own file, builds objects, then maps in a loop, telling
 * the parent after each MAP; the parent kills it with SIGKILL part-way. Its
 * files close on exit, and nothing may be left pinned or allocated.
 */
static void killed_in_a_map_loop(struct __test_metadata *_metadata,
				 FIXTURE_DATA(life) *self, bool with_extras)
{
	const unsigned long P = self->page, chunk = 16, want = 32;
	unsigned long seen = 0;
	int progress[2];
	pid_t pid;
	char c;

	ASSERT_EQ(0, pipe(progress));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		__u32 ioas, ioas2, idev, hwpt, item;
		int fd, access_fd;
		char *buf;

		close(progress[0]);
		fd = open_dev();
		if (fd < 0)
			_exit(1);
		buf = mmap(NULL, chunk * P, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (buf == MAP_FAILED)
			_exit(2);
		memset(buf, 0x5a, chunk * P);
		if (ioas_alloc(fd, &ioas) ||
		    mock_domain(fd, ioas, NULL, NULL, &idev))
			_exit(3);
		if (with_extras) {
			/* a manual HWPT, a lazy IOAS with an access pinning */
			if (hwpt_alloc(fd, idev, ioas, 0, &hwpt) ||
			    ioas_alloc(fd, &ioas2) ||
			    ioas_map_fixed(fd, ioas2, IOVA(0), buf,
					   chunk * P) ||
			    create_access(fd, ioas2,
					  MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
					  &access_fd) ||
			    access_pages(fd, access_fd, 0, IOVA(0), chunk * P,
					 buf, &item))
				_exit(4);
		}
		for (unsigned long i = 0; i < 4096; i++) {
			if (ioas_map_fixed(fd, ioas, IOVA(1) + i * chunk * P,
					   buf, chunk * P))
				_exit(5);
			if (write(progress[1], "m", 1) != 1)
				_exit(6);
		}
		pause();
		_exit(7);
	}
	close(progress[1]);
	while (seen < want && read(progress[0], &c, 1) == 1)
		seen++;
	EXPECT_EQ(want, seen) TH_LOG("the child stopped early");
	/* every MAP pins its pages anew: at least want MAPs' worth */
	EXPECT_LE(self->base_pinned + want * chunk, pinned_pages());
	EXPECT_LT(self->base_objects, live_objects());

	ASSERT_EQ(0, kill(pid, SIGKILL));
	EXPECT_EQ(1000 + SIGKILL, wait_child(pid));
	close(progress[0]);
	expect_baseline(_metadata, self, "the killed child was reaped");
}

TEST_F(life, killed_process_leaves_nothing_pinned)
{
	killed_in_a_map_loop(_metadata, self, false);
}

TEST_F(life, killed_process_with_access_and_hwpt_leaves_nothing)
{
	killed_in_a_map_loop(_metadata, self, true);
}

/* A file with an IOAS of two one-page areas and an access that pins */
static void two_areas_and_an_access(struct __test_metadata *_metadata,
				    unsigned long P, int *fd, __u32 *ioas,
				    int *access, char **buf)
{
	*buf = alloc_buffer(_metadata, 2 * P);
	*fd = open_dev();
	ASSERT_LE(0, *fd);
	ASSERT_EQ(0, ioas_alloc(*fd, ioas));
	ASSERT_EQ(0, ioas_map_fixed(*fd, *ioas, IOVA(0), *buf, P));
	ASSERT_EQ(0, ioas_map_fixed(*fd, *ioas, IOVA(0) + P, *buf + P, P));
	ASSERT_EQ(0, create_access(*fd, *ioas,
				   MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				   access));
}

/*
 * An unmap that an access never lets go of gives up with EDEADLOCK and
 * changes nothing: every area it asked the access to unpin takes pins
 * again afterwards, not only the one it asked last.
 */
TEST_F(life, unmap_deadlock_leaves_every_area_usable)
{
	const unsigned long P = self->page;
	__u32 ioas, item, sticky;
	__u64 unmapped = 0;
	int fd, access;
	char *buf;

	/* two areas: the access lets go of its pin in the first only */
	two_areas_and_an_access(_metadata, P, &fd, &ioas, &access, &buf);
	ASSERT_EQ(0, access_pages(fd, access, 0, IOVA(0), P, buf, &item));
	ASSERT_EQ(0, access_pages(fd, access, IORP_FLAGS_ACCESS_STICKY,
				  IOVA(0) + P, P, buf + P, &sticky));

	EXPECT_EQ(EDEADLOCK, ioas_unmap(fd, ioas, IOVA(0), 2 * P, &unmapped));
	/* both areas are still mapped and take pins */
	EXPECT_EQ(0, access_pages(fd, access, 0, IOVA(0), P, buf, &item))
		TH_LOG("the first area refuses pins after the failed unmap");
	EXPECT_EQ(0, access_pages_destroy(fd, access, item));
	EXPECT_EQ(0, access_pages(fd, access, 0, IOVA(0) + P, P, buf + P,
				  &item))
		TH_LOG("the second area refuses pins after the failed unmap");
	EXPECT_EQ(0, access_pages_destroy(fd, access, item));

	/* once the access lets go, the unmap goes through */
	EXPECT_EQ(0, access_pages_destroy(fd, access, sticky));
	EXPECT_EQ(0, ioas_unmap(fd, ioas, IOVA(0), 2 * P, &unmapped));
	EXPECT_EQ(2 * P, unmapped);
	close(access);
	close(fd);
	expect_baseline(_metadata, self, "after the deadlocked unmap");
}

/*
 * An access moved to another IOAS while its driver keeps one pin through
 * every request to drop it (a driver bug): the module passes over that
 * pin, asks for the pins after it, then releases the kept pages itself,
 * with one kernel WARN. A failed pin of the same range afterwards undoes
 * itself; the driver's own unpin of the kept pin later is quiet, and
 * nothing stays pinned. The WARN is a WARN_ONCE: exactly one is expected
 * because no test before this one in the suite's module load reached it
 * (tests/qemu/init loads the module afresh for each suite).
 */
TEST_F(life, access_move_passes_over_a_kept_pin)
{
	const char *warn = "iommu_replace: access driver kept a pin after unmap";
	const unsigned long P = self->page;
	struct expected_warn w;
	__u32 ioas, other, item, kept;
	int fd, access;
	char *buf;

	two_areas_and_an_access(_metadata, P, &fd, &ioas, &access, &buf);
	ASSERT_EQ(0, ioas_alloc(fd, &other));
	/* the kept pin first: the module asks for it first */
	ASSERT_EQ(0, access_pages(fd, access, IORP_FLAGS_ACCESS_STICKY,
				  IOVA(0), P, buf, &kept));
	ASSERT_EQ(0, access_pages(fd, access, 0, IOVA(0) + P, P, buf + P,
				  &item));
	EXPECT_EQ(self->base_pinned + 2, pinned_pages());

	expect_warn_begin(_metadata, &w, warn);
	EXPECT_EQ(0, access_replace_ioas(fd, access, other));
	EXPECT_EQ(1, expect_warn_end(_metadata, &w))
		TH_LOG("the module's WARN for the kept pin, once");
	/* the pin after the kept one was asked for: the driver let it go */
	EXPECT_EQ(ENOENT, access_pages_destroy(fd, access, item));
	/* the kept one's pages are released */
	EXPECT_EQ(self->base_pinned, pinned_pages());
	/*
	 * A failed pin of the same range in the new IOAS (not the pages the
	 * driver expected) undoes itself, not the released pin.
	 */
	ASSERT_EQ(0, ioas_map_fixed(fd, other, IOVA(0), buf, P));
	EXPECT_EQ(EBADE, access_pages(fd, access, 0, IOVA(0), P, buf + P,
				      &item));
	EXPECT_EQ(self->base_pinned, pinned_pages());
	/* the driver's late unpin is quiet (a WARN would panic the guest) */
	EXPECT_EQ(0, access_pages_destroy(fd, access, kept));
	close(access);
	close(fd);
	expect_baseline(_metadata, self, "after the kept pin");
}

TEST_HARNESS_MAIN
