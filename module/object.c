// SPDX-License-Identifier: GPL-2.0-only
/*
 * object.c - the per-context object table.
 *
 * ctx->objects is an allocating xarray: ID -> struct iorp_object. Building an
 * object reserves its ID with XA_ZERO_ENTRY (lookups see nothing there);
 * iorp_object_finalize() publishes it, iorp_object_abort() gives the ID back.
 *
 * Removal comes in three forms, all taking the object out of the table under
 * the xa_lock in the same step that proves nobody else holds it:
 *  - IOMMU_DESTROY: only if the table's reference is the last (EBUSY else);
 *  - iorp_object_drop(): the same, for automatic objects such as an auto
 *    HWPT, in one step with dropping the reference of its last device;
 *  - iorp_object_remove_owned(): a kernel owner ends its object; the object
 *    leaves the table first, then the owner waits for ioctls still using it.
 * On close every object goes, leaves first (iorp_objects_destroy_all()).
 *
 * Locking: the xarray's xa_lock, the innermost lock (core.h, locking.h).
 */
#include <linux/bug.h>
#include <linux/errno.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include <uapi/linux/iommu_replace.h>
#include <iommu_replace/core.h>
#include <iommu_replace/fault.h>

static void (*const iorp_destroy_fns[IORP_OBJ_MAX])(struct iorp_object *) = {
	[IORP_OBJ_IOAS] = iorp_ioas_destroy,
	[IORP_OBJ_HWPT] = iorp_hwpt_destroy,
	[IORP_OBJ_DEVICE] = iorp_device_destroy,
#ifdef IORP_TEST
	[IORP_OBJ_MOCK] = iorp_mock_destroy,
#endif
};

void iorp_objects_init(struct iorp_ctx *ctx)
{
	xa_init_flags(&ctx->objects, XA_FLAGS_ALLOC1 | XA_FLAGS_ACCOUNT);
	init_waitqueue_head(&ctx->destroy_wait);
}

/**
 * iorp_object_alloc() - allocate an object and reserve its ID
 * @ctx: the owning context
 * @size: size of the containing structure
 * @type: enum iorp_obj_type
 *
 * The object holds the table's reference and is not reachable by ID until
 * iorp_object_finalize(). Return: the object or an ERR_PTR.
 */
struct iorp_object *iorp_object_alloc(struct iorp_ctx *ctx, size_t size,
				      enum iorp_obj_type type)
{
	struct iorp_object *obj;
	int ret;

	obj = kzalloc(size, GFP_KERNEL_ACCOUNT);
	if (!obj)
		return ERR_PTR(-ENOMEM);
	obj->type = type;
	refcount_set(&obj->users, 1);
	ret = xa_alloc(&ctx->objects, &obj->id, XA_ZERO_ENTRY, xa_limit_31b,
		       GFP_KERNEL_ACCOUNT);
	if (ret) {
		kfree(obj);
		return ERR_PTR(ret);
	}
	iorp_stat_add(IORP_STAT_OBJECTS, 1);
	return obj;
}

void iorp_object_finalize(struct iorp_ctx *ctx, struct iorp_object *obj)
{
	void *old;

	/*
	 * The ID was reserved, so the store needs no memory; a reservation
	 * reads back as NULL.
	 */
	old = xa_store(&ctx->objects, obj->id, obj, GFP_KERNEL);
	WARN_ON(old);
}

static void iorp_object_free(struct iorp_object *obj)
{
	kfree(obj);
	iorp_stat_add(IORP_STAT_OBJECTS, -1);
}

/* Undo iorp_object_alloc() of an object whose type state was never built. */
void iorp_object_abort(struct iorp_ctx *ctx, struct iorp_object *obj)
{
	void *old;

	old = xa_erase(&ctx->objects, obj->id);
	WARN_ON(old);	/* a reserved entry reads as NULL */
	iorp_object_free(obj);
}

/* Undo iorp_object_alloc() of a fully built but unpublished object. */
void iorp_object_abort_and_destroy(struct iorp_ctx *ctx,
				   struct iorp_object *obj)
{
	iorp_destroy_fns[obj->type](obj);
	iorp_object_abort(ctx, obj);
}

/**
 * iorp_object_get() - look up an object by ID and take a reference
 * @ctx: the context
 * @id: the ID
 * @type: the required type, or IORP_OBJ_ANY
 *
 * Return: the object, or ERR_PTR(-ENOENT) if no published object of that
 * type has the ID. Release with iorp_object_put().
 */
struct iorp_object *iorp_object_get(struct iorp_ctx *ctx, u32 id,
				    enum iorp_obj_type type)
{
	struct iorp_object *obj;

	xa_lock(&ctx->objects);
	obj = xa_load(&ctx->objects, id);
	if (!obj || (type != IORP_OBJ_ANY && obj->type != type) ||
	    !refcount_inc_not_zero(&obj->users))
		obj = ERR_PTR(-ENOENT);
	xa_unlock(&ctx->objects);
	return obj;
}

void iorp_object_put(struct iorp_ctx *ctx, struct iorp_object *obj)
{
	refcount_dec(&obj->users);
	/*
	 * Only a removal waits (the wait_event() further down): its full
	 * barrier before testing the count pairs with wq_has_sleeper()'s
	 * after the dec, so the common put skips the wait queue's lock.
	 */
	if (wq_has_sleeper(&ctx->destroy_wait))
		wake_up_all(&ctx->destroy_wait);
}

/* Under xa_lock: take obj out if only the table holds it. */
static bool iorp_object_take_if_unused(struct iorp_ctx *ctx,
				       struct iorp_object *obj)
{
	lockdep_assert_held(&ctx->objects.xa_lock);
	if (!refcount_dec_if_one(&obj->users))
		return false;
	__xa_erase(&ctx->objects, obj->id);
	/* an IOAS's object is its first member */
	if (obj->type == IORP_OBJ_IOAS &&
	    (struct iorp_object *)ctx->vfio_ioas == obj)
		ctx->vfio_ioas = NULL;
	return true;
}

static void iorp_object_destroy(struct iorp_object *obj)
{
	iorp_destroy_fns[obj->type](obj);
	iorp_object_free(obj);
}

/**
 * iorp_object_drop() - drop references, then maybe destroy the object
 * @ctx: the context
 * @obj: the object; the caller holds @n references on it
 * @n: references to drop
 * @destroy_if_unused: destroy the object if only the table holds it now
 *
 * Dropping and checking happen in one step under the table lock, so two
 * callers (or a caller and IOMMU_DESTROY) never both destroy the object and
 * nobody touches it after another destroyed it.
 */
void iorp_object_drop(struct iorp_ctx *ctx, struct iorp_object *obj,
		      unsigned int n, bool destroy_if_unused)
{
	bool taken = false;

	xa_lock(&ctx->objects);
	while (n--)
		refcount_dec(&obj->users);
	if (destroy_if_unused)
		taken = iorp_object_take_if_unused(ctx, obj);
	xa_unlock(&ctx->objects);
	wake_up_all(&ctx->destroy_wait);
	if (taken)
		iorp_object_destroy(obj);
}

/**
 * iorp_object_remove_owned() - end an object on behalf of its kernel owner
 * @ctx: the context
 * @obj: a published object; the caller holds the owner's reference, which
 *       this drops
 *
 * The object leaves the table at once, so no new ioctl can find it; then
 * this waits for the ioctls already using it and destroys it. Nothing else
 * may hold a lasting reference on an owned object.
 */
void iorp_object_remove_owned(struct iorp_ctx *ctx, struct iorp_object *obj)
{
	xa_erase(&ctx->objects, obj->id);
	refcount_dec(&obj->users);
	wait_event(ctx->destroy_wait, refcount_read(&obj->users) == 1);
	refcount_set(&obj->users, 0);
	iorp_object_destroy(obj);
}

/**
 * iorp_object_destroy_user() - destroy an object on user space's request
 * @ctx: the context
 * @id: its ID
 * @type: the type it must have, or IORP_OBJ_ANY
 *
 * Return: 0; ENOENT for an unknown ID or another type; EBUSY while anything
 * else holds the object.
 */
int iorp_object_destroy_user(struct iorp_ctx *ctx, u32 id,
			     enum iorp_obj_type type)
{
	struct iorp_object *obj;
	int ret = 0;

	xa_lock(&ctx->objects);
	obj = xa_load(&ctx->objects, id);
	if (!obj || (type != IORP_OBJ_ANY && obj->type != type))
		ret = -ENOENT;
	else if (!iorp_object_take_if_unused(ctx, obj))
		ret = -EBUSY;
	xa_unlock(&ctx->objects);
	if (!ret)
		iorp_object_destroy(obj);
	return ret;
}

int iorp_cmd_destroy(struct iorp_ucmd *ucmd)
{
	struct iommu_destroy *cmd = ucmd->cmd;

	return iorp_object_destroy_user(ucmd->ctx, cmd->id, IORP_OBJ_ANY);
}

/*
 * Called when the file is released: destroy objects nothing depends on,
 * again and again, until the table is empty. Destroying a dependent drops
 * its references, which frees the objects it depended on for the next pass.
 *
 * No ioctl runs any more, but hot-unplug still may: its work detaches a
 * device and can destroy an automatic HWPT at any moment. So an object is
 * only ever touched in the same xa_lock section that found it in the table
 * and took it out; between two objects nothing is held.
 */
void iorp_objects_destroy_all(struct iorp_ctx *ctx)
{
	struct iorp_object *obj;
	unsigned long index;
	bool progress, taken;

	do {
		progress = false;
		for (index = 0;; index++) {
			iorp_pause(IORP_PAUSE_RELEASE);
			xa_lock(&ctx->objects);
			obj = xa_find(&ctx->objects, &index, ULONG_MAX, XA_PRESENT);
			taken = obj && iorp_object_take_if_unused(ctx, obj);
			xa_unlock(&ctx->objects);
			if (!obj)
				break;
			if (taken) {
				iorp_object_destroy(obj);
				progress = true;
			}
			cond_resched();
		}
	} while (progress);
	WARN_ON(!xa_empty(&ctx->objects));
	xa_destroy(&ctx->objects);
}
