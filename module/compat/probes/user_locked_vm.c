// SPDX-License-Identifier: GPL-2.0-only
/*
 * Probe: struct user_struct counts locked_vm, which per-user RLIMIT_MEMLOCK
 * accounting charges (present whenever CONFIG_NET, BPF, perf, io_uring or
 * VFIO needs it).
 * Exports: free_uid
 * Required: needs struct user_struct.locked_vm for RLIMIT_MEMLOCK accounting
 */
#include <linux/sched/user.h>

static __maybe_unused long probe(struct user_struct *user)
{
	long locked = atomic_long_read(&user->locked_vm);

	free_uid(user);
	return locked;
}
