// SPDX-License-Identifier: GPL-2.0-only
/*
 * stats.c - module-wide counters in debugfs, for tests and operators.
 *
 * /sys/kernel/debug/iommu_replace/{contexts,objects,accesses,pinned_pages}
 * read as decimal numbers: open files, objects with an ID (including ones
 * being built), emulated accesses, and user pages pinned right now. After
 * every file is closed all four must read 0; the test runner checks that
 * after each suite.
 *
 * Locking: the counters are atomics.
 */
#include <linux/atomic.h>
#include <linux/debugfs.h>

#include <iommu_replace/core.h>
#include <iommu_replace/fault.h>

static atomic_long_t iorp_stats[IORP_STAT_MAX];
static struct dentry *iorp_debugfs_dir;

static const char *const iorp_stat_names[IORP_STAT_MAX] = {
	[IORP_STAT_CONTEXTS] = "contexts",
	[IORP_STAT_OBJECTS] = "objects",
	[IORP_STAT_ACCESSES] = "accesses",
	[IORP_STAT_PINNED_PAGES] = "pinned_pages",
};

void iorp_stat_add(enum iorp_stat stat, long delta)
{
	atomic_long_add(delta, &iorp_stats[stat]);
}

static int iorp_stat_get(void *data, u64 *val)
{
	*val = atomic_long_read(data);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(iorp_stat_fops, iorp_stat_get, NULL, "%llu\n");

/* debugfs is optional: failures leave the counters unseen, nothing else. */
void iorp_stats_init(void)
{
	int i;

	iorp_debugfs_dir = debugfs_create_dir("iommu_replace", NULL);
	for (i = 0; i < IORP_STAT_MAX; i++)
		debugfs_create_file_unsafe(iorp_stat_names[i], 0444,
					   iorp_debugfs_dir, &iorp_stats[i],
					   &iorp_stat_fops);
	iorp_faults_init(iorp_debugfs_dir);
}

void iorp_stats_exit(void)
{
	int i;

	debugfs_remove_recursive(iorp_debugfs_dir);
	for (i = 0; i < IORP_STAT_MAX; i++)
		WARN(atomic_long_read(&iorp_stats[i]),
		     "iommu_replace: %ld %s left at unload\n",
		     atomic_long_read(&iorp_stats[i]), iorp_stat_names[i]);
}
