// SPDX-License-Identifier: GPL-2.0-only
/*
 * ioas.c - IO address space objects and their ioctls: IOMMU_IOAS_ALLOC,
 * MAP, UNMAP, COPY, IOVA_RANGES, ALLOW_IOVAS, IOMMU_OPTION and
 * IOMMU_VFIO_IOAS.
 *
 * This file turns user arguments into calls on the IOAS's IO page table
 * (io_pagetable.c), after checking them: unknown flags and non-zero
 * reserved fields are EOPNOTSUPP, values that do not fit an unsigned long
 * EOVERFLOW, zero lengths EINVAL. A command that creates an object undoes
 * it when its answer cannot be written back; MAP and COPY keep the mapping
 * then, as upstream does.
 *
 * Locking: none of its own (io_pagetable.h; order: locking.h).
 */
#include <linux/capability.h>
#include <linux/errno.h>
#include <linux/iommu.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <uapi/linux/iommu_replace.h>
#include <iommu_replace/io_pagetable.h>

#define IORP_MAP_FLAGS (IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE | \
			IOMMU_IOAS_MAP_READABLE)

struct iorp_ioas *iorp_ioas_get(struct iorp_ctx *ctx, u32 id)
{
	struct iorp_object *obj = iorp_object_get(ctx, id, IORP_OBJ_IOAS);

	if (IS_ERR(obj))
		return ERR_CAST(obj);
	return container_of(obj, struct iorp_ioas, obj);
}

void iorp_ioas_destroy(struct iorp_object *obj)
{
	struct iorp_ioas *ioas = container_of(obj, struct iorp_ioas, obj);

	WARN_ON(!list_empty(&ioas->auto_hwpts));
	iorp_iopt_destroy(&ioas->iopt);
	mutex_destroy(&ioas->mutex);
}

/**
 * iorp_ioas_create() - a new, empty IOAS
 * @ctx: the context
 *
 * The caller publishes it (iorp_object_finalize()) or aborts it
 * (iorp_object_abort_and_destroy()). Return: the IOAS or an ERR_PTR.
 */
struct iorp_ioas *iorp_ioas_create(struct iorp_ctx *ctx)
{
	struct iorp_ioas *ioas;

	ioas = iorp_object_alloc_type(ctx, struct iorp_ioas, IORP_OBJ_IOAS);
	if (IS_ERR(ioas))
		return ioas;
	iorp_iopt_init(&ioas->iopt);
	mutex_init(&ioas->mutex);
	INIT_LIST_HEAD(&ioas->auto_hwpts);
	return ioas;
}

int iorp_cmd_ioas_alloc(struct iorp_ucmd *ucmd)
{
	struct iommu_ioas_alloc *cmd = ucmd->cmd;
	struct iorp_ioas *ioas;
	int ret;

	if (cmd->flags)
		return -EOPNOTSUPP;
	ioas = iorp_ioas_create(ucmd->ctx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	cmd->out_ioas_id = ioas->obj.id;
	ret = iorp_ucmd_respond(ucmd, sizeof(*cmd));
	if (ret)
		iorp_object_abort_and_destroy(ucmd->ctx, &ioas->obj);
	else
		iorp_object_finalize(ucmd->ctx, &ioas->obj);
	return ret;
}

/* MAP/COPY flags to IOMMU_* protection; DMA is always cache coherent. */
static int iorp_map_prot(u32 flags)
{
	int prot = IOMMU_CACHE;

	if (flags & IOMMU_IOAS_MAP_WRITEABLE)
		prot |= IOMMU_WRITE;
	if (flags & IOMMU_IOAS_MAP_READABLE)
		prot |= IOMMU_READ;
	return prot;
}

int iorp_cmd_ioas_map(struct iorp_ucmd *ucmd)
{
	struct iommu_ioas_map *cmd = ucmd->cmd;
	unsigned long iova = cmd->iova, end;
	struct iorp_ioas *ioas;
	int ret;

	if ((cmd->flags & ~IORP_MAP_FLAGS) || cmd->__reserved)
		return -EOPNOTSUPP;
	if (cmd->iova >= ULONG_MAX || cmd->length >= ULONG_MAX)
		return -EOVERFLOW;
	if (!(cmd->flags & (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)))
		return -EINVAL;

	/* as upstream: the IOAS first, then the length (iopt_alloc_pages()) */
	ioas = iorp_ioas_get(ucmd->ctx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	if (!cmd->length || cmd->length > ULONG_MAX - PAGE_SIZE) {
		ret = -EINVAL;
		goto out_put;
	}
	if (check_add_overflow((unsigned long)cmd->user_va,
			       (unsigned long)cmd->length, &end)) {
		ret = -EOVERFLOW;
		goto out_put;
	}
	ret = iorp_iopt_map_user(ucmd->ctx, &ioas->iopt, &iova, cmd->user_va,
				 cmd->length, iorp_map_prot(cmd->flags),
				 cmd->flags & IOMMU_IOAS_MAP_FIXED_IOVA);
	if (ret)
		goto out_put;
	/*
	 * An answer that cannot be written back leaves the mapping (as
	 * upstream): removing it could remove one another thread made since.
	 */
	cmd->iova = iova;
	ret = iorp_ucmd_respond(ucmd, sizeof(*cmd));
out_put:
	iorp_object_put(ucmd->ctx, &ioas->obj);
	return ret;
}

int iorp_cmd_ioas_copy(struct iorp_ucmd *ucmd)
{
	struct iommu_ioas_copy *cmd = ucmd->cmd;
	unsigned long dst_iova = cmd->dst_iova, last;
	struct iorp_ioas *src, *dst;
	int ret;

	if (cmd->flags & ~IORP_MAP_FLAGS)
		return -EOPNOTSUPP;
	if (cmd->length >= ULONG_MAX || cmd->src_iova >= ULONG_MAX ||
	    cmd->dst_iova >= ULONG_MAX)
		return -EOVERFLOW;
	if (!(cmd->flags & (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)) ||
	    !cmd->length)
		return -EINVAL;
	if (check_add_overflow((unsigned long)cmd->src_iova,
			       (unsigned long)cmd->length - 1, &last))
		return -EOVERFLOW;

	src = iorp_ioas_get(ucmd->ctx, cmd->src_ioas_id);
	if (IS_ERR(src))
		return PTR_ERR(src);
	dst = iorp_ioas_get(ucmd->ctx, cmd->dst_ioas_id);
	if (IS_ERR(dst)) {
		ret = PTR_ERR(dst);
		goto out_put_src;
	}
	ret = iorp_iopt_copy(&dst->iopt, &src->iopt, &dst_iova, cmd->src_iova,
			     cmd->length, iorp_map_prot(cmd->flags),
			     cmd->flags & IOMMU_IOAS_MAP_FIXED_IOVA);
	if (ret)
		goto out_put_dst;
	/* the mapping stays if the answer cannot be written, as for MAP */
	cmd->dst_iova = dst_iova;
	ret = iorp_ucmd_respond(ucmd, sizeof(*cmd));
out_put_dst:
	iorp_object_put(ucmd->ctx, &dst->obj);
out_put_src:
	iorp_object_put(ucmd->ctx, &src->obj);
	return ret;
}

int iorp_cmd_ioas_unmap(struct iorp_ucmd *ucmd)
{
	struct iommu_ioas_unmap *cmd = ucmd->cmd;
	unsigned long unmapped = 0, last;
	struct iorp_ioas *ioas;
	int ret;

	ioas = iorp_ioas_get(ucmd->ctx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	if (cmd->iova == 0 && cmd->length == U64_MAX) {
		ret = iorp_iopt_unmap_all(&ioas->iopt, &unmapped);
	} else if (cmd->iova >= ULONG_MAX || cmd->length >= ULONG_MAX) {
		ret = -EOVERFLOW;
	} else if (!cmd->length) {
		ret = -EINVAL;
	} else if (check_add_overflow((unsigned long)cmd->iova,
				      (unsigned long)cmd->length - 1, &last)) {
		ret = -EOVERFLOW;
	} else {
		ret = iorp_iopt_unmap(&ioas->iopt, cmd->iova, cmd->length,
				      &unmapped);
	}
	if (!ret) {
		/* the mappings are gone; report it as well as we can */
		cmd->length = unmapped;
		ret = iorp_ucmd_respond(ucmd, sizeof(*cmd));
	}
	iorp_object_put(ucmd->ctx, &ioas->obj);
	return ret;
}

int iorp_cmd_ioas_iova_ranges(struct iorp_ucmd *ucmd)
{
	struct iommu_ioas_iova_ranges *cmd = ucmd->cmd;
	struct iommu_iova_range __user *ranges =
		u64_to_user_ptr(cmd->allowed_iovas);
	struct rb_root_cached *reserved;
	unsigned long pos = 0, hole_last;
	u32 room = cmd->num_iovas;
	struct iorp_ioas *ioas;
	int ret = 0;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	ioas = iorp_ioas_get(ucmd->ctx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	down_read(&ioas->iopt.iova_rwsem);
	reserved = &ioas->iopt.reserved_itree;
	cmd->num_iovas = 0;
	cmd->out_iova_alignment = ioas->iopt.iova_alignment;
	/* every hole in the reserved ranges is a usable range */
	while (iorp_next_hole(&reserved, 1, &pos, ULONG_MAX, &hole_last)) {
		if (cmd->num_iovas < room) {
			struct iommu_iova_range range = {
				.start = pos,
				.last = hole_last,
			};

			if (copy_to_user(&ranges[cmd->num_iovas], &range,
					 sizeof(range))) {
				ret = -EFAULT;
				break;
			}
		}
		cmd->num_iovas++;
		if (hole_last == ULONG_MAX)
			break;
		pos = hole_last + 1;
	}
	up_read(&ioas->iopt.iova_rwsem);
	if (!ret)
		ret = iorp_ucmd_respond(ucmd, sizeof(*cmd));
	if (!ret && cmd->num_iovas > room)
		ret = -EMSGSIZE;
	iorp_object_put(ucmd->ctx, &ioas->obj);
	return ret;
}

/* Ranges copied from the caller at a time */
#define IORP_RANGES_CHUNK	(PAGE_SIZE / sizeof(struct iommu_iova_range))

/*
 * The caller's num ranges as a struct iorp_allowed and an interval tree of
 * them: each start below its last, none overlapping another (EINVAL).
 * O(num log num), and a fatal signal ends it (EINTR): num is the caller's.
 */
static struct iorp_allowed *iorp_allowed_from_user(struct iommu_iova_range __user *uranges,
						   u32 num,
						   struct rb_root_cached *tree)
{
	struct iommu_iova_range *chunk;
	struct iorp_allowed *allowed;
	u32 i;
	int ret = 0;

	*tree = RB_ROOT_CACHED;
	if (!num)
		return NULL;
	/* every node is filled in below; nothing needs zeroing */
	allowed = kvmalloc(struct_size(allowed, nodes, num),
			   GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	chunk = kmalloc_array(IORP_RANGES_CHUNK, sizeof(*chunk), GFP_KERNEL);
	if (!allowed || !chunk) {
		ret = -ENOMEM;
		goto err_free;
	}
	allowed->num = num;
	for (i = 0; i < num; i++) {
		struct interval_tree_node *node = &allowed->nodes[i];
		struct iommu_iova_range *range = &chunk[i % IORP_RANGES_CHUNK];

		if (i % IORP_RANGES_CHUNK == 0) {
			u32 n = min_t(u32, num - i, IORP_RANGES_CHUNK);

			if (fatal_signal_pending(current)) {
				ret = -EINTR;
				goto err_free;
			}
			cond_resched();
			if (copy_from_user(chunk, &uranges[i], n * sizeof(*chunk))) {
				ret = -EFAULT;
				goto err_free;
			}
		}
		if (range->start >= range->last ||
		    interval_tree_iter_first(tree, range->start, range->last)) {
			ret = -EINVAL;
			goto err_free;
		}
		node->start = range->start;
		node->last = range->last;
		interval_tree_insert(node, tree);
	}
	kfree(chunk);
	return allowed;

err_free:
	kfree(chunk);
	kvfree(allowed);
	return ERR_PTR(ret);
}

int iorp_cmd_ioas_allow_iovas(struct iorp_ucmd *ucmd)
{
	struct iommu_ioas_allow_iovas *cmd = ucmd->cmd;
	struct iorp_allowed *allowed;
	struct rb_root_cached tree;
	struct iorp_ioas *ioas;
	int ret;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	ioas = iorp_ioas_get(ucmd->ctx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	allowed = iorp_allowed_from_user(u64_to_user_ptr(cmd->allowed_iovas),
					 cmd->num_iovas, &tree);
	if (IS_ERR(allowed)) {
		ret = PTR_ERR(allowed);
		goto out_put;
	}
	ret = iorp_iopt_set_allowed(&ioas->iopt, allowed, &tree);
	if (ret)
		kvfree(allowed);
out_put:
	iorp_object_put(ucmd->ctx, &ioas->obj);
	return ret;
}

static int iorp_option_rlimit_mode(struct iorp_ctx *ctx,
				   struct iommu_option *cmd)
{
	int ret = 0;

	if (cmd->object_id)
		return -EOPNOTSUPP;
	if (cmd->op == IOMMU_OPTION_OP_GET) {
		cmd->val64 = READ_ONCE(ctx->account_mode) == IORP_ACCOUNT_MM;
		return 0;
	}
	if (!capable(CAP_SYS_RESOURCE))
		return -EPERM;
	/* only before anything could have been charged the other way */
	xa_lock(&ctx->objects);
	if (!xa_empty(&ctx->objects))
		ret = -EBUSY;
	else if (cmd->val64 > 1)
		ret = -EINVAL;
	else
		WRITE_ONCE(ctx->account_mode, cmd->val64 ? IORP_ACCOUNT_MM :
							  IORP_ACCOUNT_USER);
	xa_unlock(&ctx->objects);
	return ret;
}

static int iorp_option_huge_pages(struct iorp_ctx *ctx,
				  struct iommu_option *cmd)
{
	struct iorp_ioas *ioas;
	int ret = 0;

	ioas = iorp_ioas_get(ctx, cmd->object_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	if (cmd->op == IOMMU_OPTION_OP_GET)
		cmd->val64 = !READ_ONCE(ioas->iopt.disable_large_pages);
	else if (cmd->val64 > 1)
		ret = -EINVAL;
	else
		ret = iorp_iopt_set_large_pages(&ioas->iopt, cmd->val64);
	iorp_object_put(ctx, &ioas->obj);
	return ret;
}

int iorp_cmd_option(struct iorp_ucmd *ucmd)
{
	struct iommu_option *cmd = ucmd->cmd;
	struct iommu_option __user *ucmd_option = ucmd->ubuffer;
	int ret;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	if (cmd->op != IOMMU_OPTION_OP_GET && cmd->op != IOMMU_OPTION_OP_SET)
		return -EOPNOTSUPP;
	switch (cmd->option_id) {
	case IOMMU_OPTION_RLIMIT_MODE:
		ret = iorp_option_rlimit_mode(ucmd->ctx, cmd);
		break;
	case IOMMU_OPTION_HUGE_PAGES:
		ret = iorp_option_huge_pages(ucmd->ctx, cmd);
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (ret)
		return ret;
	if (copy_to_user(&ucmd_option->val64, &cmd->val64, sizeof(cmd->val64)))
		return -EFAULT;
	return 0;
}

int iorp_cmd_vfio_ioas(struct iorp_ucmd *ucmd)
{
	struct iommu_vfio_ioas *cmd = ucmd->cmd;
	struct iorp_ctx *ctx = ucmd->ctx;
	struct iorp_ioas *ioas;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	switch (cmd->op) {
	case IOMMU_VFIO_IOAS_GET:
		xa_lock(&ctx->objects);
		cmd->ioas_id = ctx->vfio_ioas ? ctx->vfio_ioas->obj.id : 0;
		xa_unlock(&ctx->objects);
		if (!cmd->ioas_id)
			return -ENODEV;
		return iorp_ucmd_respond(ucmd, sizeof(*cmd));
	case IOMMU_VFIO_IOAS_SET:
		ioas = iorp_ioas_get(ctx, cmd->ioas_id);
		if (IS_ERR(ioas))
			return PTR_ERR(ioas);
		xa_lock(&ctx->objects);
		ctx->vfio_ioas = ioas;
		xa_unlock(&ctx->objects);
		iorp_object_put(ctx, &ioas->obj);
		return 0;
	case IOMMU_VFIO_IOAS_CLEAR:
		xa_lock(&ctx->objects);
		ctx->vfio_ioas = NULL;
		xa_unlock(&ctx->objects);
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}
