/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * compat.h - the one place where kernel API differences are resolved.
 *
 * compat_config.h is generated per kernel by module/compat/run-probes: one
 * HAVE_<PROBE> macro per file in module/compat/probes/. This header turns
 * those macros into iorp_* wrappers with one calling convention, so the rest
 * of the module never tests a kernel version or a HAVE_* macro itself.
 */
#ifndef IORP_COMPAT_H
#define IORP_COMPAT_H

#include <linux/iommu.h>

#include "compat_config.h"

#endif /* IORP_COMPAT_H */
