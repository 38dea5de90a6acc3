/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vfio_type1.h - VFIO type1's container ioctls, served from an IOAS
 * (vfio_type1.c), for the type1 containers of the VFIO backend.
 */
#ifndef IORP_VFIO_TYPE1_H
#define IORP_VFIO_TYPE1_H

#include <linux/types.h>

struct iorp_ctx;

long iorp_type1_ioctl(struct iorp_ctx *ctx, u32 ioas_id, bool v2,
		      unsigned int cmd, void __user *uarg);

#endif /* IORP_VFIO_TYPE1_H */
