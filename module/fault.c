// SPDX-License-Identifier: GPL-2.0-only
/*
 * fault.c - our own fault injection sites (test flavour); see fault.h.
 *
 * Locking: each site's countdown is an atomic; arming and firing race
 * harmlessly (a test arms one site at a time and waits for its operation).
 */
#include <linux/atomic.h>
#include <linux/debugfs.h>

#include <iommu_replace/fault.h>

static atomic_t iorp_fault_countdown[IORP_FAULT_MAX];

static const char *const iorp_fault_names[IORP_FAULT_MAX] = {
	[IORP_FAULT_MOCK_MAP] = "mock_map",
	[IORP_FAULT_MOCK_UNMAP] = "mock_unmap",
	[IORP_FAULT_MOCK_ATTACH] = "mock_attach",
	[IORP_FAULT_PIN] = "pin",
	[IORP_FAULT_DOMAIN_ALLOC] = "domain_alloc",
	[IORP_FAULT_IOMMU_MAP] = "iommu_map",
	[IORP_FAULT_RESV] = "resv",
	[IORP_FAULT_GROUP_SWITCH] = "group_switch",
	[IORP_FAULT_SWITCH_DEV] = "switch_dev",
};

/**
 * iorp_should_fail() - count a call of a fault site
 * @site: the site
 *
 * Return: true if this is the call the site was armed to fail.
 */
bool iorp_should_fail(enum iorp_fault_site site)
{
	atomic_t *countdown = &iorp_fault_countdown[site];
	int left = atomic_read(countdown);

	/* count down from an armed value; only the call reaching 0 fails */
	while (left > 0) {
		if (atomic_try_cmpxchg(countdown, &left, left - 1))
			return left == 1;
	}
	return false;
}

static int iorp_fault_get(void *data, u64 *val)
{
	*val = max(atomic_read(data), 0);
	return 0;
}

static int iorp_fault_set(void *data, u64 val)
{
	if (val > INT_MAX)
		return -EINVAL;
	atomic_set(data, val);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(iorp_fault_fops, iorp_fault_get, iorp_fault_set,
			 "%llu\n");

void iorp_faults_init(struct dentry *dir)
{
	struct dentry *faults = debugfs_create_dir("fault", dir);
	int i;

	for (i = 0; i < IORP_FAULT_MAX; i++)
		debugfs_create_file_unsafe(iorp_fault_names[i], 0600, faults,
					   &iorp_fault_countdown[i],
					   &iorp_fault_fops);
}
