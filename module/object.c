// SPDX-License-Identifier: GPL-2.0-only
/*
 * object.c - the per-context object table.
 *
 * Every object user space can name by ID lives in ctx->objects, an
 * allocating xarray (IDs start at 1; one ID space for all object types).
 * The xarray's own lock serialises insertion, lookup and removal.
 *
 * No object type exists yet, so the table stays empty and IOMMU_DESTROY
 * can only report that the ID is unknown.
 */
#include <linux/bug.h>
#include <linux/errno.h>

#include <uapi/linux/iommu_replace.h>
#include <iommu_replace/core.h>

void iorp_objects_init(struct iorp_ctx *ctx)
{
	xa_init_flags(&ctx->objects, XA_FLAGS_ALLOC1);
}

/* Called when the file is released: nothing may outlive the context. */
void iorp_objects_destroy_all(struct iorp_ctx *ctx)
{
	WARN_ON(!xa_empty(&ctx->objects));
	xa_destroy(&ctx->objects);
}

int iorp_cmd_destroy(struct iorp_ucmd *ucmd)
{
	struct iommu_destroy *cmd = ucmd->cmd;

	if (!xa_load(&ucmd->ctx->objects, cmd->id))
		return -ENOENT;
	return -EBUSY;
}
