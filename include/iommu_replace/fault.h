/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fault.h - fault injection of our own (test flavour), for the failures
 * the kernel's fail-nth cannot reach: the mock IOMMU's map, unmap and
 * attach (failing, or refusing the domain as incompatible), page
 * pinning, and every step of a real device's attach and replace (its
 * domain, filling it, its reserved regions, the switch, one device of the
 * fallback walk, and putting one back after a failed one); and a HWPT
 * that does not force DMA to snoop CPU caches, as on an IOMMU that cannot.
 *
 * Each site has a countdown in debugfs,
 * /sys/kernel/debug/iommu_replace/fault/<site>: writing N > 0 makes the N-th
 * call from then on fail (once); 0 disarms; reading gives the calls left
 * before it fires, 0 once it fired or when disarmed. Module-wide.
 * Production builds have no sites: iorp_should_fail() is always false.
 *
 * Pause points make races reproducible: a test writes N > 0 to
 * /sys/kernel/debug/iommu_replace/pause/<point>, and the N-th thread to
 * reach the point from then on waits there (the file then reads 2) until
 * the test writes 0, or at most 30 seconds; meanwhile the test does what
 * must race with it. Reading gives 0 (idle), 1 (armed) or 2 (a thread
 * waits). Only one thread waits per arming; others pass. Production builds
 * pause nowhere.
 *
 * Locking: the countdowns and pause states are atomics, outside the lock
 * order (locking.h). A pause point must be reached where sleeping is
 * allowed.
 */
#ifndef IORP_FAULT_H
#define IORP_FAULT_H

#include <linux/types.h>

struct dentry;

enum iorp_fault_site {
	IORP_FAULT_MOCK_MAP,	/* a mock domain's map_pages() */
	IORP_FAULT_MOCK_UNMAP,	/* a mock domain's unmap_pages() unmaps nothing */
	IORP_FAULT_MOCK_ATTACH,	/* a mock group's switch to a domain */
	IORP_FAULT_PIN,		/* pinning user pages */
	IORP_FAULT_DOMAIN_ALLOC,	/* allocating a device's IOMMU domain */
	IORP_FAULT_IOMMU_MAP,	/* mapping an area into a domain */
	IORP_FAULT_RESV,	/* reading a device's reserved regions */
	IORP_FAULT_GROUP_SWITCH,	/* a group switch, before it starts */
	IORP_FAULT_SWITCH_DEV,	/* one device of a fallback group switch */
	IORP_FAULT_SWITCH_BACK,	/* putting one back after a failed switch */
	IORP_FAULT_MOCK_INCOMPATIBLE,	/* a mock group refuses a domain (EINVAL) */
	IORP_FAULT_INCOHERENT,	/* a new HWPT does not force snooping */
	IORP_FAULT_MAX,
};

enum iorp_pause_point {
	IORP_PAUSE_RELEASE,	/* closing a file, before it destroys an object */
	IORP_PAUSE_BIND,	/* binding a PCI device, after its checks (device locked) */
	IORP_PAUSE_AUTO_HWPT,	/* attaching, with a reused automatic HWPT held */
	IORP_PAUSE_PIN,		/* pinning user pages, before the pin */
	IORP_PAUSE_PIN_NEXT,	/* a VFIO pin of pages, before each but the first */
	IORP_PAUSE_MAX,
};

#ifdef IORP_TEST
bool iorp_should_fail(enum iorp_fault_site site);
void iorp_pause(enum iorp_pause_point point);
void iorp_faults_init(struct dentry *dir);
#else
static inline bool iorp_should_fail(enum iorp_fault_site site)
{
	return false;
}

static inline void iorp_pause(enum iorp_pause_point point)
{
}

static inline void iorp_faults_init(struct dentry *dir)
{
}
#endif

#endif /* IORP_FAULT_H */
