// SPDX-License-Identifier: GPL-2.0-only
/*
 * warn_on_load - a module whose init hits WARN_ON(1). Only the runner's
 * self-test loads it, to prove that a kernel warning in a guest fails the
 * lane (the guests boot with panic_on_warn=1 and the host scans the log).
 */
#include <linux/bug.h>
#include <linux/module.h>

static int __init warn_on_load_init(void)
{
	WARN_ON(1);
	return 0;
}

static void __exit warn_on_load_exit(void)
{
}

module_init(warn_on_load_init);
module_exit(warn_on_load_exit);
MODULE_DESCRIPTION("iommu-replace runner self-test: WARN_ON at load");
MODULE_LICENSE("GPL");
