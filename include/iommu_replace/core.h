/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * core.h - the per-open context, the object table and the ioctl plumbing.
 *
 * A struct iorp_ctx exists for each open file of /dev/iommu-replace and owns
 * every object created through that file. Objects are named by IDs from
 * ctx->objects, one ID space for all types, starting at 1.
 *
 * Object lifetime: obj->users counts the table's own reference, one per
 * object that depends on this one (a HWPT on its IOAS, an attached device on
 * its HWPT, an access on its IOAS), one for a kernel owner where there is
 * one (a bound device), and one per ioctl using the object right now.
 * IOMMU_DESTROY only succeeds when the table's reference is the only one
 * (EBUSY otherwise). An ID is reserved while its object is being built and
 * only published by iorp_object_finalize(), so nothing can reach a half-made
 * object.
 *
 * Locking (order: locking.h): ctx->objects' xa_lock (a spinlock) guards the
 * table, the users counts' transitions to and from one, and ctx->vfio_ioas.
 * It is the innermost lock; nothing sleeps under it. ctx->groups_lock
 * guards ctx->groups.
 */
#ifndef IORP_CORE_H
#define IORP_CORE_H

#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/xarray.h>

struct file;
struct iommu_group;
struct iorp_ioas;

enum iorp_obj_type {
	IORP_OBJ_ANY,		/* lookups: any type */
	IORP_OBJ_IOAS,
	IORP_OBJ_HWPT,
	IORP_OBJ_DEVICE,
	IORP_OBJ_MOCK,		/* a mock device (test flavour) */
	IORP_OBJ_MAX,
};

/**
 * struct iorp_object - what every object with an ID starts with
 * @users: references, see the file comment
 * @type: enum iorp_obj_type
 * @id: the ID in ctx->objects
 */
struct iorp_object {
	refcount_t users;
	enum iorp_obj_type type;
	u32 id;
};

/* How pinned memory is charged against RLIMIT_MEMLOCK (IOMMU_OPTION). */
enum iorp_account_mode {
	IORP_ACCOUNT_USER,	/* the user's locked_vm (default) */
	IORP_ACCOUNT_MM,	/* the process's locked_vm, like VFIO type1 */
	IORP_ACCOUNT_NONE,	/* CAP_IPC_LOCK: no limit (pages only) */
};

/**
 * struct iorp_ctx - state of one open file of /dev/iommu-replace
 * @file: the file (accesses hold a reference on it)
 * @objects: object table, ID -> struct iorp_object
 * @destroy_wait: woken when an object reference is dropped, for removals
 *                that wait for ioctls in flight
 * @account_mode: enum iorp_account_mode for new mappings (xa_lock)
 * @vfio_ioas: the IOAS of IOMMU_VFIO_IOAS, no reference (xa_lock)
 * @groups_lock: guards @groups
 * @groups: iommu group ID -> the file's record of a group it owns
 *          (struct iorp_owned_group, pci_device.c)
 */
struct iorp_ctx {
	struct file *file;
	struct xarray objects;
	wait_queue_head_t destroy_wait;
	enum iorp_account_mode account_mode;
	struct iorp_ioas *vfio_ioas;
	struct mutex groups_lock;	/* @groups */
	struct xarray groups;
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

int iorp_ucmd_respond(struct iorp_ucmd *ucmd, size_t cmd_len);

/* object.c */
void iorp_objects_init(struct iorp_ctx *ctx);
void iorp_objects_destroy_all(struct iorp_ctx *ctx);
struct iorp_object *iorp_object_alloc(struct iorp_ctx *ctx, size_t size,
				      enum iorp_obj_type type);
void iorp_object_finalize(struct iorp_ctx *ctx, struct iorp_object *obj);
void iorp_object_abort(struct iorp_ctx *ctx, struct iorp_object *obj);
void iorp_object_abort_and_destroy(struct iorp_ctx *ctx,
				   struct iorp_object *obj);
struct iorp_object *iorp_object_get(struct iorp_ctx *ctx, u32 id,
				    enum iorp_obj_type type);
void iorp_object_put(struct iorp_ctx *ctx, struct iorp_object *obj);
void iorp_object_drop(struct iorp_ctx *ctx, struct iorp_object *obj,
		      unsigned int n, bool destroy_if_unused);
void iorp_object_remove_owned(struct iorp_ctx *ctx, struct iorp_object *obj);
int iorp_object_destroy_user(struct iorp_ctx *ctx, u32 id,
			     enum iorp_obj_type type);
int iorp_cmd_destroy(struct iorp_ucmd *ucmd);

/*
 * Typed allocation. The object must be the first member, named obj, so an
 * ERR_PTR passes through container_of() unchanged.
 */
#define iorp_object_alloc_type(ctx, type_name, obj_type)			\
	container_of(iorp_object_alloc(ctx, sizeof(type_name) +		\
				       BUILD_BUG_ON_ZERO(offsetof(type_name, obj)), \
				       obj_type),				\
		     type_name, obj)

/* Destructors, one per type (object.c calls them). */
void iorp_ioas_destroy(struct iorp_object *obj);
void iorp_hwpt_destroy(struct iorp_object *obj);
void iorp_device_destroy(struct iorp_object *obj);
void iorp_mock_destroy(struct iorp_object *obj);

/* Command handlers */
int iorp_cmd_ioas_alloc(struct iorp_ucmd *ucmd);
int iorp_cmd_ioas_allow_iovas(struct iorp_ucmd *ucmd);
int iorp_cmd_ioas_copy(struct iorp_ucmd *ucmd);
int iorp_cmd_ioas_iova_ranges(struct iorp_ucmd *ucmd);
int iorp_cmd_ioas_map(struct iorp_ucmd *ucmd);
int iorp_cmd_ioas_unmap(struct iorp_ucmd *ucmd);
int iorp_cmd_option(struct iorp_ucmd *ucmd);
int iorp_cmd_vfio_ioas(struct iorp_ucmd *ucmd);
int iorp_cmd_hwpt_alloc(struct iorp_ucmd *ucmd);
int iorp_cmd_hwpt_invalidate(struct iorp_ucmd *ucmd);
int iorp_cmd_get_hw_info(struct iorp_ucmd *ucmd);
int iorp_cmd_test(struct iorp_ucmd *ucmd);
int iorp_cmd_device_bind(struct iorp_ucmd *ucmd);
int iorp_cmd_device_attach(struct iorp_ucmd *ucmd);
int iorp_cmd_device_detach(struct iorp_ucmd *ucmd);
int iorp_cmd_device_unbind(struct iorp_ucmd *ucmd);

/* chardev.c */
struct iorp_ctx *iorp_ctx_from_file(struct file *file);
struct file *iorp_ctx_file_create(const char *name);
int iorp_chardev_register(void);
void iorp_chardev_unregister(void);

/* vfio_backend.c */
bool iorp_vfio_group_linked(struct iorp_ctx *ctx,
			    struct iommu_group *iommu_group, bool *coherent);
void iorp_vfio_init(void);
void iorp_vfio_exit(void);

/* stats.c: module-wide counters, shown in debugfs */
enum iorp_stat {
	IORP_STAT_CONTEXTS,
	IORP_STAT_OBJECTS,
	IORP_STAT_ACCESSES,
	IORP_STAT_PINNED_PAGES,
	IORP_STAT_MAX,
};

void iorp_stat_add(enum iorp_stat stat, long delta);
void iorp_stats_init(void);
void iorp_stats_exit(void);

#endif /* IORP_CORE_H */
