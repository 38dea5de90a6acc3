// SPDX-License-Identifier: GPL-2.0-only
/*
 * chardev.c - /dev/iommu-replace: per-open contexts and ioctl dispatch.
 *
 * Each open() allocates a struct iorp_ctx and release() frees it with every
 * object it still owns. A context the kernel owns has an anonymous file of
 * the same kind (iorp_ctx_file_create()). The file holds a reference on the module (fops
 * .owner), so the module cannot be unloaded while any file is open.
 *
 * Dispatch follows iommufd's rules: commands are _IO(';', nr) and are looked
 * up in iorp_ioctl_ops[] by their full number. The first u32 of the argument is the size of
 * the caller's struct; a size below the command's minimum is EINVAL, and the
 * struct is copied with copy_struct_from_user(), which zero-fills a short
 * struct and fails a longer one with E2BIG unless its unknown tail is zero.
 * Unknown commands are ENOTTY.
 *
 * Locking: none here; handlers lock what they touch (locking.h).
 */
#include <linux/anon_inodes.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <uapi/linux/iommu_replace.h>
#include <iommu_replace/core.h>
#include <iommu_replace/test_cmd.h>

/* Every command struct; the dispatcher copies the caller's one into this. */
union iorp_ucmd_buffer {
	struct iommu_destroy destroy;
	struct iommu_hw_info hw_info;
	struct iommu_hwpt_alloc hwpt_alloc;
	struct iommu_hwpt_invalidate hwpt_invalidate;
	struct iommu_ioas_alloc ioas_alloc;
	struct iommu_ioas_allow_iovas allow_iovas;
	struct iommu_ioas_copy ioas_copy;
	struct iommu_ioas_iova_ranges iova_ranges;
	struct iommu_ioas_map map;
	struct iommu_ioas_unmap unmap;
	struct iommu_option option;
	struct iommu_vfio_ioas vfio_ioas;
	struct iommu_replace_device_bind device_bind;
	struct iommu_replace_device_attach device_attach;
	struct iommu_replace_device_detach device_detach;
	struct iommu_replace_device_unbind device_unbind;
#ifdef IORP_TEST
	struct iommu_test_cmd test;
#endif
};

/**
 * struct iorp_ioctl_op - one command of the dispatch table
 * @size: size of the kernel's struct for the command
 * @min_size: smallest size a caller may declare (end of the last field
 *            every version of the struct has)
 * @ioctl_num: the full ioctl number, to reject foreign type or size bits
 * @execute: the handler
 */
struct iorp_ioctl_op {
	unsigned int size;
	unsigned int min_size;
	unsigned int ioctl_num;
	int (*execute)(struct iorp_ucmd *ucmd);
};

#define IORP_IOCTL_OP(_ioctl, _fn, _struct, _last)			\
	{								\
		.size = sizeof(_struct) +				\
			BUILD_BUG_ON_ZERO(sizeof(union iorp_ucmd_buffer) < \
					  sizeof(_struct)),		\
		.min_size = offsetofend(_struct, _last),		\
		.ioctl_num = _ioctl,					\
		.execute = _fn,						\
	}

static const struct iorp_ioctl_op iorp_ioctl_ops[] = {
	IORP_IOCTL_OP(IOMMU_DESTROY, iorp_cmd_destroy, struct iommu_destroy, id),
	IORP_IOCTL_OP(IOMMU_GET_HW_INFO, iorp_cmd_get_hw_info,
		      struct iommu_hw_info, __reserved),
	IORP_IOCTL_OP(IOMMU_HWPT_ALLOC, iorp_cmd_hwpt_alloc,
		      struct iommu_hwpt_alloc, __reserved),
	IORP_IOCTL_OP(IOMMU_HWPT_INVALIDATE, iorp_cmd_hwpt_invalidate,
		      struct iommu_hwpt_invalidate, __reserved),
	IORP_IOCTL_OP(IOMMU_IOAS_ALLOC, iorp_cmd_ioas_alloc,
		      struct iommu_ioas_alloc, out_ioas_id),
	IORP_IOCTL_OP(IOMMU_IOAS_ALLOW_IOVAS, iorp_cmd_ioas_allow_iovas,
		      struct iommu_ioas_allow_iovas, allowed_iovas),
	IORP_IOCTL_OP(IOMMU_IOAS_COPY, iorp_cmd_ioas_copy,
		      struct iommu_ioas_copy, src_iova),
	IORP_IOCTL_OP(IOMMU_IOAS_IOVA_RANGES, iorp_cmd_ioas_iova_ranges,
		      struct iommu_ioas_iova_ranges, out_iova_alignment),
	IORP_IOCTL_OP(IOMMU_IOAS_MAP, iorp_cmd_ioas_map, struct iommu_ioas_map,
		      iova),
	IORP_IOCTL_OP(IOMMU_IOAS_UNMAP, iorp_cmd_ioas_unmap,
		      struct iommu_ioas_unmap, length),
	IORP_IOCTL_OP(IOMMU_OPTION, iorp_cmd_option, struct iommu_option,
		      val64),
	IORP_IOCTL_OP(IOMMU_VFIO_IOAS, iorp_cmd_vfio_ioas,
		      struct iommu_vfio_ioas, __reserved),
	IORP_IOCTL_OP(IOMMU_REPLACE_DEVICE_BIND, iorp_cmd_device_bind,
		      struct iommu_replace_device_bind, out_dev_id),
	IORP_IOCTL_OP(IOMMU_REPLACE_DEVICE_ATTACH, iorp_cmd_device_attach,
		      struct iommu_replace_device_attach, pt_id),
	IORP_IOCTL_OP(IOMMU_REPLACE_DEVICE_DETACH, iorp_cmd_device_detach,
		      struct iommu_replace_device_detach, __reserved),
	IORP_IOCTL_OP(IOMMU_REPLACE_DEVICE_UNBIND, iorp_cmd_device_unbind,
		      struct iommu_replace_device_unbind, dev_id),
#ifdef IORP_TEST
	IORP_IOCTL_OP(IOMMU_TEST_CMD, iorp_cmd_test, struct iommu_test_cmd,
		      last),
#endif
};

/**
 * iorp_ucmd_respond() - write a command's struct back to the caller
 * @ucmd: the call
 * @cmd_len: size of the kernel's struct
 *
 * Writes as much as the caller's struct holds. Return: 0 or -EFAULT.
 */
int iorp_ucmd_respond(struct iorp_ucmd *ucmd, size_t cmd_len)
{
	if (copy_to_user(ucmd->ubuffer, ucmd->cmd,
			 min_t(size_t, ucmd->user_size, cmd_len)))
		return -EFAULT;
	return 0;
}

/* The table is short; a scan costs less than the ioctl entry itself. */
static const struct iorp_ioctl_op *iorp_find_op(unsigned int cmd)
{
	const struct iorp_ioctl_op *op;

	for (op = iorp_ioctl_ops; op < iorp_ioctl_ops + ARRAY_SIZE(iorp_ioctl_ops); op++)
		if (op->ioctl_num == cmd)
			return op;
	return NULL;
}

static long iorp_fops_ioctl(struct file *filp, unsigned int cmd,
			    unsigned long arg)
{
	const struct iorp_ioctl_op *op;
	union iorp_ucmd_buffer buf;
	struct iorp_ucmd ucmd = {
		.ctx = filp->private_data,
		.ubuffer = (void __user *)arg,
		.cmd = &buf,
	};
	int ret;

	op = iorp_find_op(cmd);
	if (!op)
		return -ENOTTY;

	ret = get_user(ucmd.user_size, (u32 __user *)ucmd.ubuffer);
	if (ret)
		return ret;
	if (ucmd.user_size < op->min_size)
		return -EINVAL;
	ret = copy_struct_from_user(ucmd.cmd, op->size, ucmd.ubuffer,
				    ucmd.user_size);
	if (ret)
		return ret;
	return op->execute(&ucmd);
}

static struct iorp_ctx *iorp_ctx_alloc(void)
{
	struct iorp_ctx *ctx;

	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL_ACCOUNT);
	if (!ctx)
		return NULL;
	iorp_objects_init(ctx);
	mutex_init(&ctx->groups_lock);
	xa_init(&ctx->groups);
	iorp_stat_add(IORP_STAT_CONTEXTS, 1);
	return ctx;
}

static void iorp_ctx_free(struct iorp_ctx *ctx)
{
	iorp_objects_destroy_all(ctx);
	WARN_ON(!xa_empty(&ctx->groups));
	xa_destroy(&ctx->groups);
	mutex_destroy(&ctx->groups_lock);
	kfree(ctx);
	iorp_stat_add(IORP_STAT_CONTEXTS, -1);
}

static int iorp_fops_open(struct inode *inode, struct file *filp)
{
	struct iorp_ctx *ctx = iorp_ctx_alloc();

	if (!ctx)
		return -ENOMEM;
	ctx->file = filp;
	filp->private_data = ctx;
	return 0;
}

static int iorp_fops_release(struct inode *inode, struct file *filp)
{
	iorp_ctx_free(filp->private_data);
	return 0;
}

static const struct file_operations iorp_fops = {
	.owner = THIS_MODULE,
	.open = iorp_fops_open,
	.release = iorp_fops_release,
	.unlocked_ioctl = iorp_fops_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

/* Root-only by default; udev/70-iommu-replace.rules can open it to a group. */
static struct miscdevice iorp_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "iommu-replace",
	.nodename = "iommu-replace",
	.mode = 0600,
	.fops = &iorp_fops,
};

/**
 * iorp_ctx_from_file() - the context of a /dev/iommu-replace file
 * @file: any file
 *
 * Return: the context, or NULL if @file is not one of ours. It lives as
 * long as the caller holds the file.
 */
struct iorp_ctx *iorp_ctx_from_file(struct file *file)
{
	return file->f_op == &iorp_fops ? file->private_data : NULL;
}

/**
 * iorp_ctx_file_create() - a context no device node opened
 * @name: what the file is, as /proc/PID/fdinfo and lsof show it
 *
 * For a context the kernel owns (a VFIO type1 container's, vfio_backend.c):
 * it works as one user space opened, and its last fput() releases it, with
 * every object it holds, as a close does.
 *
 * Return: the file, or an ERR_PTR.
 */
struct file *iorp_ctx_file_create(const char *name)
{
	struct iorp_ctx *ctx = iorp_ctx_alloc();
	struct file *file;

	if (!ctx)
		return ERR_PTR(-ENOMEM);
	file = anon_inode_getfile(name, &iorp_fops, ctx, O_RDWR);
	if (IS_ERR(file)) {
		iorp_ctx_free(ctx);
		return file;
	}
	ctx->file = file;
	return file;
}

int iorp_chardev_register(void)
{
	return misc_register(&iorp_misc);
}

void iorp_chardev_unregister(void)
{
	misc_deregister(&iorp_misc);
}
