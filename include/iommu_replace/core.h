/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * core.h - the per-open context and the plumbing every ioctl handler shares.
 *
 * A struct iorp_ctx exists for each open file of /dev/iommu-replace and owns
 * every object created through that file. Handlers receive a struct
 * iorp_ucmd holding the context and the caller's struct, already copied in
 * and size-checked by the dispatcher (chardev.c).
 *
 * Locking: ctx->objects is an xarray; its internal lock serialises the object
 * table. No other lock exists yet.
 */
#ifndef IORP_CORE_H
#define IORP_CORE_H

#include <linux/types.h>
#include <linux/xarray.h>

/**
 * struct iorp_ctx - state of one open file of /dev/iommu-replace
 * @objects: object table, ID -> object; IDs start at 1
 */
struct iorp_ctx {
	struct xarray objects;
};

/**
 * struct iorp_ucmd - one ioctl call as seen by its handler
 * @ctx: the context of the file the call was made on
 * @ubuffer: the caller's struct in user memory
 * @user_size: the size the caller declared in the struct's first u32
 * @cmd: kernel copy of the struct, zero-extended to the kernel's size
 */
struct iorp_ucmd {
	struct iorp_ctx *ctx;
	void __user *ubuffer;
	u32 user_size;
	void *cmd;
};

/* object.c */
void iorp_objects_init(struct iorp_ctx *ctx);
void iorp_objects_destroy_all(struct iorp_ctx *ctx);
int iorp_cmd_destroy(struct iorp_ucmd *ucmd);

/* chardev.c */
int iorp_chardev_register(void);
void iorp_chardev_unregister(void);

#endif /* IORP_CORE_H */
