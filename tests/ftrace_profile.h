/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ftrace_profile.h - where a system call's time goes, from ftrace's
 * function graph tracer: bench.c's profiles of maps and unmaps.
 *
 * profile_start() traces this process's ioctl() calls (set_graph_function
 * __x64_sys_ioctl, set_ftrace_pid) to a depth, every function or (with
 * set_ftrace_filter) a few named ones; profile_stop() reads the trace
 * back and folds it into a call tree: one node per call path, with how
 * often it was called and the time spent in it, children included. The
 * tracer's own cost is in every figure (each traced call adds some, and
 * with every function traced each untraced one too), so the tree says
 * where the time goes, not how much a call costs untraced; with a few
 * functions hooked the cost is small. It expects a tracer
 * nobody else uses (a test guest):
 * profile_start() refuses one that has a tracer, a pid filter or a
 * function filter set, and profile_stop() puts back every setting it
 * changed. Single-threaded: one tree, the tracer's files written and read
 * by one caller.
 */
#ifndef IORP_FTRACE_PROFILE_H
#define IORP_FTRACE_PROFILE_H

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#define PROFILE_NODES	1024
#define PROFILE_DEPTH	32	/* the most max_graph_depth we accept */

struct call_node {
	char name[56];
	int parent;		/* index, or -1 for a top-level call */
	int depth;		/* 0 for a top-level call */
	unsigned long calls;
	double us;		/* children included */
};

struct call_tree {
	struct call_node node[PROFILE_NODES];
	int n;
	bool full;		/* paths that did not fit were dropped */
	bool lost;		/* the trace buffer dropped events */
};

static char tracefs[32];
static bool tracefs_mounted;	/* by us: unmounted again at the end */
static bool profile_owns_tracer;	/* checked unused, changed by us */

/*
 * What profile_start() changes, in the order it changes them, and what it
 * sets; the value found is kept in saved and put back by profile_reset().
 * The filters (set_graph_function, set_ftrace_filter, set_ftrace_pid) and
 * current_tracer are not saved: profile_start() refuses a tracer whose
 * filters or tracer are set, and leaves it as it is.
 */
static struct {
	const char *file, *value;
	char saved[32];
	bool changed;
} profile_settings[] = {
	{ "tracing_on", "0" },
	{ "options/funcgraph-irqs", "0" },
	{ "options/funcgraph-proc", "0" },
	{ "options/funcgraph-abstime", "0" },
	{ "options/funcgraph-tail", "0" },
	{ "max_graph_depth", NULL },	/* the depth asked for */
	{ "buffer_size_kb", "32768" },
};

#define PROFILE_SETTINGS (sizeof(profile_settings) / sizeof(profile_settings[0]))

/* write s to the tracer file name; 0 or an errno */
static int tracefs_write(const char *name, const char *s)
{
	char path[96];
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/%s", tracefs, name);
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return errno;
	/* a filter file takes one name per write() */
	for (size_t left = strlen(s); !err && left;) {
		ssize_t n = write(fd, s, left);

		if (n > 0) {
			s += n;
			left -= n;
		} else {
			err = n < 0 ? errno : EIO;
		}
	}
	if (close(fd) && !err)
		err = errno;
	return err;
}

/* the first line of the tracer file name, without its newline; an errno */
static int tracefs_read(const char *name, char *buf, size_t len)
{
	char path[96];
	int err = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tracefs, name);
	buf[0] = 0;
	f = fopen(path, "r");
	if (!f)
		return errno;
	if (fgets(buf, len, f))
		buf[strcspn(buf, "\n")] = 0;
	else if (ferror(f))
		err = EIO;
	fclose(f);
	return err;
}

/* tracefs, mounted if nobody has: 0 or an errno */
static int tracefs_find(void)
{
	static const char *const where[] = {
		"/sys/kernel/tracing", "/sys/kernel/debug/tracing",
	};
	char path[64];

	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/trace", where[i]);
		if (!access(path, F_OK)) {
			snprintf(tracefs, sizeof(tracefs), "%s", where[i]);
			return 0;
		}
	}
	if (mount("tracefs", where[0], "tracefs", 0, NULL))
		return errno;
	tracefs_mounted = true;
	snprintf(tracefs, sizeof(tracefs), "%s", where[0]);
	return 0;
}

/* Everything profile_start() changed put back as it was. */
static void profile_reset(void)
{
	if (profile_owns_tracer) {
		tracefs_write("tracing_on", "0");
		tracefs_write("current_tracer", "nop");
		tracefs_write("set_graph_function", "");
		tracefs_write("set_ftrace_filter", "");
		tracefs_write("set_ftrace_pid", "");
	}
	for (size_t i = PROFILE_SETTINGS; i--;) {
		if (profile_settings[i].changed)
			tracefs_write(profile_settings[i].file,
				      profile_settings[i].saved);
		profile_settings[i].changed = false;
	}
	profile_owns_tracer = false;
	if (tracefs_mounted && !umount(tracefs))
		tracefs_mounted = false;
}

/*
 * The value to put back from what a tracer file read: its leading number,
 * or for a buffer never used, "7 (expanded: 1408)", the size it takes
 * when used; "" where there is none ("X": the CPUs' sizes differ).
 */
static void profile_saved_value(char *saved)
{
	char *expanded = strstr(saved, "(expanded: ");

	if (expanded)
		memmove(saved, expanded + 11, strlen(expanded + 11) + 1);
	saved[strspn(saved, "0123456789")] = 0;
}

/*
 * Trace this process's ioctl() calls to depth levels; with only (a list of
 * functions, __x64_sys_ioctl among them), those functions alone: the
 * others are not even hooked, so the tracer adds little to their
 * time. 0, or an errno: with why set where this kernel or guest cannot be
 * traced so (no tracefs, no function graph tracer, a tracer in use), else
 * a failure, said in a TAP comment. profile_stop() ends it.
 */
static int profile_start(int depth, const char *only, char *why,
			 size_t why_len)
{
	char pid[16], depth_s[16], buf[64], tracers[512];
	const char *failed = NULL;
	int err;

	/* the call tree keeps a stack of PROFILE_DEPTH calls */
	if (depth < 1 || depth > PROFILE_DEPTH) {
		printf("# profile: depth %d is not 1 to %d\n", depth,
		       PROFILE_DEPTH);
		return EINVAL;
	}
	err = tracefs_find();
	if (err) {
		snprintf(why, why_len, "no tracefs: %s", strerror(err));
		return err;
	}
	err = tracefs_read("available_tracers", tracers, sizeof(tracers));
	if (!err && !strstr(tracers, "function_graph")) {
		snprintf(why, why_len, "this kernel has no function graph tracer (CONFIG_FUNCTION_GRAPH_TRACER)");
		err = EOPNOTSUPP;
		goto out_reset;
	}
	if (err) {
		failed = "available_tracers";
		goto out_failed;
	}
	/* a tracer someone else set up is left alone */
	failed = "current_tracer";
	err = tracefs_read(failed, buf, sizeof(buf));
	if (!err && strcmp(buf, "nop"))
		err = EBUSY;
	if (!err) {
		failed = "set_ftrace_pid";
		err = tracefs_read(failed, buf, sizeof(buf));
	}
	if (!err && *buf && strncmp(buf, "no pid", 6))
		err = EBUSY;
	if (!err) {
		failed = "set_graph_function";
		err = tracefs_read(failed, buf, sizeof(buf));
	}
	if (!err && *buf && !strstr(buf, "all functions enabled"))
		err = EBUSY;
	if (!err) {
		failed = "set_ftrace_filter";
		err = tracefs_read(failed, buf, sizeof(buf));
	}
	if (!err && *buf && !strstr(buf, "all functions enabled"))
		err = EBUSY;
	if (err == EBUSY) {
		snprintf(why, why_len, "%s: the tracer is in use (%s is set)",
			 tracefs, failed);
		goto out_reset;
	}
	if (err)
		goto out_failed;
	profile_owns_tracer = true;
	snprintf(pid, sizeof(pid), "%d", getpid());
	snprintf(depth_s, sizeof(depth_s), "%d", depth);
	for (size_t i = 0; !err && i < PROFILE_SETTINGS; i++) {
		char *saved = profile_settings[i].saved;

		failed = profile_settings[i].file;
		err = tracefs_read(failed, saved, sizeof(profile_settings[i].saved));
		profile_saved_value(saved);
		if (!err && !*saved)
			err = EINVAL;
		if (err)
			break;
		err = tracefs_write(failed, profile_settings[i].value ?: depth_s);
		profile_settings[i].changed = !err;
	}
	/*
	 * The filter is taken when the file is closed, where an unknown
	 * function is not reported: read it back.
	 */
	if (!err) {
		failed = "set_graph_function";
		err = tracefs_write(failed, "__x64_sys_ioctl\n") ?:
		      tracefs_read(failed, buf, sizeof(buf));
		if (!err && strncmp(buf, "__x64_sys_ioctl", 15))
			err = ENOENT;
	}
	/* each name ends in a blank, so an unknown one fails the write */
	if (!err && only) {
		char list[256];

		failed = "set_ftrace_filter";
		snprintf(list, sizeof(list), "%s\n", only);
		err = tracefs_write(failed, list);
	}
	if (!err) {
		failed = "set_ftrace_pid";
		err = tracefs_write(failed, pid);
	}
	if (!err) {
		failed = "current_tracer";
		err = tracefs_write("trace", "") ?:
		      tracefs_write(failed, "function_graph");
	}
	if (!err) {
		failed = "tracing_on";
		err = tracefs_write(failed, "1");
	}
	if (!err)
		return 0;
out_failed:
	printf("# profile: %s/%s: %s\n", tracefs, failed, strerror(err));
out_reset:
	profile_reset();
	return err;
}

/* Pause (or go on with) the trace between profile_start() and _stop(). */
static int profile_pause(bool pause)
{
	return tracefs_write("tracing_on", pause ? "0" : "1");
}

/* Microseconds in calls named name, those inside another of them not again */
static double profile_time_in(struct call_tree *t, const char *name)
{
	double us = 0;

	for (int i = 0; i < t->n; i++) {
		int p = t->node[i].parent;

		if (strcmp(t->node[i].name, name))
			continue;
		while (p >= 0 && strcmp(t->node[p].name, name))
			p = t->node[p].parent;
		if (p < 0)
			us += t->node[i].us;
	}
	return us;
}

/* the child of parent (-1: top level) called name, added if new */
static int call_node(struct call_tree *t, int parent, int depth,
		     const char *name, size_t len)
{
	struct call_node *c;

	if (len >= sizeof(c->name))
		len = sizeof(c->name) - 1;
	for (int i = 0; i < t->n; i++) {
		c = &t->node[i];
		if (c->parent == parent && !strncmp(c->name, name, len) &&
		    !c->name[len])
			return i;
	}
	if (t->n == PROFILE_NODES) {
		t->full = true;
		return -1;
	}
	c = &t->node[t->n];
	memset(c, 0, sizeof(*c));
	memcpy(c->name, name, len);
	c->parent = parent;
	c->depth = depth;
	return t->n++;
}

/*
 * One line of the function graph: " 1)   0.557 us    |    name();",
 * " 1)               |    name() {" or " 1) + 12.04 us   |  }". A module's
 * function reads "name [module]()": the name is kept, the module dropped.
 */
static void profile_line(struct call_tree *t, int *stack, int *depth,
			 const char *line)
{
	const char *bar = strchr(line, '|'), *unit, *fn, *end;
	double us = 0;
	int i;

	if (!bar || line[0] == '#')
		return;
	/* the duration is the number before " us", left of the bar */
	unit = strstr(line, " us");
	if (unit && unit < bar) {
		const char *num = unit;

		while (num > line && (isdigit(num[-1]) || num[-1] == '.'))
			num--;
		us = strtod(num, NULL);
	}
	fn = bar + 1;
	while (*fn == ' ')
		fn++;
	if (*fn == '}') {
		if (*depth > 0) {
			i = stack[--*depth];
			if (i >= 0)
				t->node[i].us += us;
		}
		return;
	}
	end = strstr(fn, "()");
	if (!end || end == fn)
		return;
	if (strchr(fn, ' ') && strchr(fn, ' ') < end)
		end = strchr(fn, ' ');
	i = *depth == 0 ? -1 : stack[*depth - 1];
	/* under a path that did not fit (i < 0 below the top), nothing is kept */
	if (*depth == 0 || i >= 0) {
		i = call_node(t, i, *depth, fn, end - fn);
		if (i >= 0)
			t->node[i].calls++;
	}
	if (strstr(end, "{")) {
		if (*depth < PROFILE_DEPTH)
			stack[(*depth)++] = i;
	} else if (i >= 0) {
		t->node[i].us += us;
	}
}

/*
 * Events the ring buffer overwrote since it was cleared: the "overrun:"
 * of every CPU's stats (the trace file does not show them).
 */
static unsigned long profile_overruns(void)
{
	unsigned long sum = 0, n;
	char path[96], line[128];

	for (int cpu = 0;; cpu++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/per_cpu/cpu%d/stats", tracefs,
			 cpu);
		f = fopen(path, "r");
		if (!f)
			break;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "overrun: %lu", &n) == 1)
				sum += n;
		fclose(f);
	}
	return sum;
}

/* Stop tracing and fold the trace into t. 0 or an errno. */
static int profile_stop(struct call_tree *t)
{
	int stack[PROFILE_DEPTH], depth = 0;
	char path[96], line[512];
	FILE *f;

	tracefs_write("tracing_on", "0");
	memset(t, 0, sizeof(*t));
	t->lost = profile_overruns() > 0;
	snprintf(path, sizeof(path), "%s/trace", tracefs);
	f = fopen(path, "r");
	if (!f) {
		int err = errno;

		profile_reset();
		return err;
	}
	while (fgets(line, sizeof(line), f)) {
		profile_line(t, stack, &depth, line);
	}
	fclose(f);
	profile_reset();
	return 0;
}

/*
 * The tree, each node's time and calls per op (ops: how many operations
 * the traced calls made), nodes under min_us per op left out.
 */
static void profile_print(struct call_tree *t, int parent, unsigned long ops,
			  double min_us)
{
	for (int i = 0; i < t->n; i++) {
		struct call_node *c = &t->node[i];

		if (c->parent != parent || c->us / ops < min_us)
			continue;
		printf("#   %*s%-*s %8.2f us %6.2f calls\n", 2 * c->depth, "",
		       48 - 2 * c->depth, c->name, c->us / ops,
		       (double)c->calls / ops);
		profile_print(t, i, ops, min_us);
	}
}

#endif /* IORP_FTRACE_PROFILE_H */
