/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * report.h - helpers of the guest programs that print a report instead of
 * running under the kselftest harness: demo.c (make demo) and bench.c
 * (make bench). Their ioctl calls return the errno (0 for success), which
 * errname() turns into "ok" or "ENOENT" for the report.
 */
#ifndef IORP_REPORT_H
#define IORP_REPORT_H

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

static inline const char *errname(int err)
{
	const char *name = err ? strerrorname_np(err) : "ok";

	return name ? name : "?";
}

/* ioctl() returning the errno, or 0 */
static inline int call(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? errno : 0;
}

static inline double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* for qsort() of doubles */
static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

#endif /* IORP_REPORT_H */
