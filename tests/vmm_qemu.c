// SPDX-License-Identifier: GPL-2.0-only
/*
 * vmm_qemu - a real VMM nobody here wrote: Debian's unmodified
 * qemu-system-x86_64, started inside the guest with the edu device alone
 * in its group passed through (-device vfio-pci), sets up a VFIO type1
 * container that iommu_replace.ko serves (vfio_type1=1, with the kernel's
 * vfio_iommu_type1 unloaded, so nothing else could) and maps its RAM with
 * MAP_DMA. Its CPU never runs (-S); the test drives the inner machine
 * through QEMU's qtest protocol instead: the edu's BAR0 and bus mastering
 * through the inner PCI bus, a pattern into inner RAM, the edu's DMA from
 * that RAM into the device and back to other RAM, read back. The DMA
 * lands only if QEMU's own MAP_DMA calls reached the IOMMU through us.
 * QEMU then exits on SIGTERM, and nothing stays pinned.
 *
 * Debian's QEMU has no qtest accelerator; -accel tcg -S with -qtest works
 * (tests/../shared/design/testing-facts.md). The guest's initramfs carries
 * QEMU, its libraries and data when a suite runs this program
 * (tests/qemu/run-lane).
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "edu.h"

#define QEMU		"/usr/bin/qemu-system-x86_64"
#define SOCK		"/tmp/vmm_qemu.sock"
#define INNER_SLOT	5		/* the edu's slot on the inner bus 0 */
#define INNER_BAR0	0xe0000000UL	/* where the test puts its BAR0 */
#define INNER_SRC	0x100000UL	/* inner RAM the device reads */
#define INNER_DST	0x200000UL	/* inner RAM the device writes */
#define DMA_LEN		64
#define INNER_RAM_MIB	128

/* Unload the kernel's type1 backend, so only ours can serve type1. */
static int unload_kernel_type1(void)
{
	struct kmod_module *mod;
	struct kmod_ctx *ctx;
	int ret;

	if (access("/sys/module/vfio_iommu_type1/initstate", F_OK))
		return 0;	/* not loaded (or built in: pinned_pages tells) */
	ctx = kmod_new(NULL, NULL);
	if (!ctx)
		return -ENOMEM;
	ret = kmod_module_new_from_name(ctx, "vfio_iommu_type1", &mod);
	if (!ret) {
		ret = kmod_module_remove_module(mod, 0);
		kmod_module_unref(mod);
	}
	kmod_unref(ctx);
	return ret;
}

/* --- the qtest connection ---------------------------------------------------- */

struct qtest {
	int fd;
	pid_t pid;
	char line[512];
};

/* One command; its answer ("OK ...") in q->line. 0, or -1 on no answer. */
static int qt(struct qtest *q, const char *fmt, ...)
{
	char cmd[256];
	size_t len = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd) - 1, fmt, ap);
	va_end(ap);
	strcat(cmd, "\n");
	if (write(q->fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd))
		return -1;
	/* answers are lines; asynchronous "IRQ" lines are not asked for */
	while (len < sizeof(q->line) - 1) {
		struct pollfd p = { .fd = q->fd, .events = POLLIN };

		if (poll(&p, 1, 5000) != 1 || read(q->fd, q->line + len, 1) != 1)
			return -1;
		if (q->line[len] == '\n')
			break;
		len++;
	}
	q->line[len] = '\0';
	return strncmp(q->line, "OK", 2) ? -1 : 0;
}

/* The value of an "OK 0x..." answer */
static uint64_t qt_value(struct qtest *q)
{
	return strtoull(q->line + 3, NULL, 16);
}

static uint32_t cfg_read(struct qtest *q, unsigned int reg)
{
	if (qt(q, "outl 0xcf8 0x%x", 0x80000000u | INNER_SLOT << 11 | reg) ||
	    qt(q, "inl 0xcfc"))
		return 0;
	return qt_value(q);
}

static int cfg_write16(struct qtest *q, unsigned int reg, uint16_t val)
{
	return qt(q, "outl 0xcf8 0x%x", 0x80000000u | INNER_SLOT << 11 | reg) ?:
	       qt(q, "outw 0xcfc 0x%x", val);
}

static int cfg_write32(struct qtest *q, unsigned int reg, uint32_t val)
{
	return qt(q, "outl 0xcf8 0x%x", 0x80000000u | INNER_SLOT << 11 | reg) ?:
	       qt(q, "outl 0xcfc 0x%x", val);
}

/* One edu DMA in the inner machine; 0 once its engine is done. */
static int inner_dma(struct qtest *q, uint64_t src, uint64_t dst, bool to_ram)
{
	int tries;

	if (qt(q, "writeq 0x%lx 0x%lx", INNER_BAR0 + EDU_REG_SRC, src) ||
	    qt(q, "writeq 0x%lx 0x%lx", INNER_BAR0 + EDU_REG_DST, dst) ||
	    qt(q, "writeq 0x%lx 0x%x", INNER_BAR0 + EDU_REG_COUNT, DMA_LEN) ||
	    qt(q, "writeq 0x%lx 0x%x", INNER_BAR0 + EDU_REG_CMD,
	       EDU_CMD_START | (to_ram ? EDU_CMD_TO_RAM : 0)))
		return -1;
	for (tries = 0; tries < 2000; tries++) {
		if (qt(q, "readq 0x%lx", INNER_BAR0 + EDU_REG_CMD))
			return -1;
		if (!(qt_value(q) & EDU_CMD_START))
			return 0;
		usleep(1000);
	}
	return -1;
}

/* Start QEMU with the device passed through; the qtest connection. */
static int qemu_start(struct qtest *q, const struct edu *e)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char device[96], mem[16];
	struct pollfd p;
	int lfd;

	unlink(SOCK);
	strcpy(addr.sun_path, SOCK);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (void *)&addr, sizeof(addr)) || listen(lfd, 1))
		return -1;
	snprintf(device, sizeof(device), "vfio-pci,host=%s,addr=%d.0,rombar=0",
		 e->name, INNER_SLOT);
	snprintf(mem, sizeof(mem), "%dM", INNER_RAM_MIB);
	q->pid = fork();
	if (q->pid < 0)
		return -1;
	if (!q->pid) {
		/* a test that fails half-way takes QEMU with it */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() == 1)
			_exit(126);
		execl(QEMU, QEMU, "-machine", "pc", "-accel", "tcg", "-S",
		      "-m", mem, "-nodefaults", "-display", "none",
		      "-no-user-config", "-qtest", "unix:" SOCK,
		      "-qtest-log", "/dev/null",
		      "-device", device, (char *)NULL);
		_exit(127);
	}
	p.fd = lfd;
	p.events = POLLIN;
	if (poll(&p, 1, 20000) != 1) {
		close(lfd);
		return -1;
	}
	q->fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	close(lfd);
	unlink(SOCK);
	return q->fd < 0 ? -1 : 0;
}

TEST(qemu_vfio_pci_dma_through_type1_container)
{
	char pattern_hex[2 * DMA_LEN + 1], want_hex[2 * DMA_LEN + 3];
	struct qtest q = { .fd = -1 };
	long before, during, after;
	struct edu edus[EDU_MAX], e;
	int n, status, tries;

	/* the suite's lanes carry QEMU (tests/qemu/run-lane) */
	ASSERT_EQ(0, access(QEMU, X_OK)) TH_LOG("no %s in this guest", QEMU);
	ASSERT_TRUE(edu_module_param_set("vfio_backend") && edu_module_param_set("vfio_type1"))
		TH_LOG("the module must serve type1 (vfio_type1=1, backend built)");
	ASSERT_EQ(0, edu_load_vfio_pci());
	ASSERT_EQ(0, unload_kernel_type1())
		TH_LOG("vfio_iommu_type1 cannot be unloaded");

	n = edu_find(edus);
	for (e.group = -1; n > 0; n--) {
		if (edus[n - 1].group >= 0 && edu_group_size(edus[n - 1].group) == 1)
			e = edus[n - 1];
	}
	ASSERT_LE(0, e.group) TH_LOG("no edu device alone in its group");
	ASSERT_EQ(0, edu_use_driver(&e, "vfio-pci"));
	before = edu_module_pinned_pages();
	ASSERT_LE(0, before);

	ASSERT_EQ(0, qemu_start(&q, &e)) TH_LOG("QEMU did not come up");
	/* the inner machine is built by the first answer: RAM mapped */
	ASSERT_EQ(0, qt(&q, "outl 0xcf8 0x80000000")) TH_LOG("qtest: %s", q.line);
	during = edu_module_pinned_pages();
	EXPECT_LE(before + INNER_RAM_MIB * 256, during)
		TH_LOG("QEMU's RAM is not pinned by iommu_replace.ko");
	TH_LOG("QEMU runs; iommu_replace.ko pins %ld pages", during - before);

	/* the edu on the inner bus: BAR0 placed, memory and bus mastering on */
	ASSERT_EQ((uint32_t)EDU_DEVICE << 16 | EDU_VENDOR, cfg_read(&q, 0));
	ASSERT_EQ(0, cfg_write32(&q, 0x10, INNER_BAR0));
	ASSERT_EQ(0, cfg_write16(&q, 0x04, 0x6));
	ASSERT_EQ(0, qt(&q, "readl 0x%lx", INNER_BAR0 + EDU_REG_IDENT));
	ASSERT_EQ(EDU_IDENT, qt_value(&q));

	/* a pattern into inner RAM, through the device and back to other RAM */
	for (int i = 0; i < DMA_LEN; i++)
		sprintf(pattern_hex + 2 * i, "%02x", (0x30 + i * 7) & 0xff);
	ASSERT_EQ(0, qt(&q, "write 0x%lx 0x%x 0x%s", INNER_SRC, DMA_LEN,
			pattern_hex));
	ASSERT_EQ(0, qt(&q, "write 0x%lx 0x%x 0x%0*d", INNER_DST, DMA_LEN,
			2 * DMA_LEN, 0));
	ASSERT_EQ(0, inner_dma(&q, INNER_SRC, EDU_BUF, false));
	ASSERT_EQ(0, inner_dma(&q, EDU_BUF, INNER_DST, true));
	ASSERT_EQ(0, qt(&q, "read 0x%lx 0x%x", INNER_DST, DMA_LEN));
	snprintf(want_hex, sizeof(want_hex), "0x%s", pattern_hex);
	EXPECT_STREQ(want_hex, q.line + 3)
		TH_LOG("the device's DMA did not go through QEMU's mappings");

	/* QEMU exits cleanly, and lets go of everything */
	kill(q.pid, SIGTERM);
	ASSERT_EQ(q.pid, waitpid(q.pid, &status, 0));
	close(q.fd);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("QEMU status %#x", status);
	for (tries = 0; tries < 50; tries++) {
		after = edu_module_pinned_pages();
		if (after == before)
			break;
		usleep(100000);
	}
	EXPECT_EQ(before, after) TH_LOG("pages left pinned");
	/* the guest as it was, for the suites after this one */
	EXPECT_EQ(0, edu_load_module("vfio_iommu_type1"));
}

TEST_HARNESS_MAIN
