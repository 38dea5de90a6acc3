// SPDX-License-Identifier: GPL-2.0-only
/*
 * fault.c - our own fault injection sites and pause points (test
 * flavour); see fault.h.
 *
 * Locking: each site's countdown is an atomic; arming and firing race
 * harmlessly (a test arms one site at a time and waits for its operation).
 * A pause point's state is an atomic: idle -> armed (the test), armed ->
 * waiting (by cmpxchg, the one thread that stops there), waiting -> idle
 * (the test's release, or the waiter's own timeout).
 */
#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/jiffies.h>
#include <linux/wait.h>

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
	[IORP_FAULT_SWITCH_BACK] = "switch_back",
	[IORP_FAULT_MOCK_INCOMPATIBLE] = "mock_incompatible",
	[IORP_FAULT_INCOHERENT] = "incoherent",
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

/* A waiter goes on by itself after this long, so no test can hang a thread. */
#define IORP_PAUSE_MAX_WAIT	(30 * HZ)

enum { IORP_PAUSE_IDLE, IORP_PAUSE_ARMED, IORP_PAUSE_WAITING };

/**
 * struct iorp_pause_state - one pause point
 * @state: IORP_PAUSE_*
 * @countdown: while armed, arrivals left until the one that waits
 */
struct iorp_pause_state {
	atomic_t state;
	atomic_t countdown;
};

static struct iorp_pause_state iorp_pause_points[IORP_PAUSE_MAX];
static DECLARE_WAIT_QUEUE_HEAD(iorp_pause_wq);

static const char *const iorp_pause_names[IORP_PAUSE_MAX] = {
	[IORP_PAUSE_RELEASE] = "release",
	[IORP_PAUSE_BIND] = "bind",
	[IORP_PAUSE_AUTO_HWPT] = "auto_hwpt",
	[IORP_PAUSE_PIN] = "pin",
	[IORP_PAUSE_PIN_NEXT] = "pin_next",
};

/**
 * iorp_pause() - wait here if a test armed this point
 * @point: the pause point
 *
 * The thread whose arrival ends the armed countdown waits until the test
 * releases the point, at most IORP_PAUSE_MAX_WAIT; every other thread goes
 * on at once.
 */
void iorp_pause(enum iorp_pause_point point)
{
	struct iorp_pause_state *p = &iorp_pause_points[point];

	might_sleep();
	if (atomic_read(&p->state) != IORP_PAUSE_ARMED ||
	    !atomic_dec_and_test(&p->countdown) ||
	    atomic_cmpxchg(&p->state, IORP_PAUSE_ARMED, IORP_PAUSE_WAITING) !=
	    IORP_PAUSE_ARMED)
		return;
	wait_event_timeout(iorp_pause_wq,
			   atomic_read(&p->state) != IORP_PAUSE_WAITING,
			   IORP_PAUSE_MAX_WAIT);
	atomic_cmpxchg(&p->state, IORP_PAUSE_WAITING, IORP_PAUSE_IDLE);
}

static int iorp_pause_get(void *data, u64 *val)
{
	struct iorp_pause_state *p = data;

	*val = atomic_read(&p->state);
	return 0;
}

/* N > 0 arms the point for the N-th arrival; 0 disarms it, freeing a waiter */
static int iorp_pause_set(void *data, u64 val)
{
	struct iorp_pause_state *p = data;

	if (val > INT_MAX)
		return -EINVAL;
	atomic_set(&p->state, IORP_PAUSE_IDLE);
	if (val) {
		atomic_set(&p->countdown, val);
		atomic_set(&p->state, IORP_PAUSE_ARMED);
	}
	wake_up_all(&iorp_pause_wq);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(iorp_pause_fops, iorp_pause_get, iorp_pause_set,
			 "%llu\n");

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
	struct dentry *pauses = debugfs_create_dir("pause", dir);
	int i;

	for (i = 0; i < IORP_FAULT_MAX; i++)
		debugfs_create_file_unsafe(iorp_fault_names[i], 0600, faults,
					   &iorp_fault_countdown[i],
					   &iorp_fault_fops);
	for (i = 0; i < IORP_PAUSE_MAX; i++)
		debugfs_create_file_unsafe(iorp_pause_names[i], 0600, pauses,
					   &iorp_pause_points[i],
					   &iorp_pause_fops);
}
