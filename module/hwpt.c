// SPDX-License-Identifier: GPL-2.0-only
/*
 * hwpt.c - hardware page tables: IOMMU_HWPT_ALLOC, IOMMU_GET_HW_INFO and
 * IOMMU_HWPT_INVALIDATE.
 *
 * A HWPT is an iommu_domain made by the kind of device it was allocated for
 * and kept filled from one IOAS from birth to destruction (the IOAS's page
 * table adds it to its domains). Only paging HWPTs exist; nesting is not
 * supported.
 *
 * Locking (order: locking.h): allocation runs under the device's
 * agroup->lock (which also keeps the group's attachment still) and
 * ioas->mutex (which also guards the IOAS's list of automatic HWPTs).
 */
#include <linux/bits.h>
#include <linux/errno.h>
#include <linux/iommu.h>
#include <linux/uaccess.h>

#include <uapi/linux/iommu_replace.h>
#include <iommu_replace/device.h>
#include <iommu_replace/fault.h>
#include <iommu_replace/io_pagetable.h>

/* Requests one IOMMU_HWPT_INVALIDATE may carry (as Debian's 6.12 iommufd). */
#define IORP_INVALIDATE_MAX_ENTRIES BIT(19)

/**
 * iorp_hwpt_alloc() - make a HWPT for a device, filled from an IOAS
 * @ctx: the context
 * @ioas: the IOAS (ioas->mutex held)
 * @idev: the device whose IOMMU the domain is for
 * @flags: IOMMU_HWPT_ALLOC_* flags
 * @auto_domain: an automatic HWPT (the caller links it into
 *               ioas->auto_hwpts once a device uses it)
 *
 * The HWPT is not published: finalize or abort it. Return: the HWPT or an
 * ERR_PTR (EOPNOTSUPP for flags the device cannot do).
 */
struct iorp_hwpt *iorp_hwpt_alloc(struct iorp_ctx *ctx, struct iorp_ioas *ioas,
				  struct iorp_device *idev, u32 flags,
				  bool auto_domain)
{
	struct iommu_domain *domain;
	struct iorp_hwpt *hwpt;
	int ret;

	lockdep_assert_held(&ioas->mutex);
	if (flags & ~idev->ops->alloc_flags)
		return ERR_PTR(-EOPNOTSUPP);

	hwpt = iorp_object_alloc_type(ctx, struct iorp_hwpt, IORP_OBJ_HWPT);
	if (IS_ERR(hwpt))
		return hwpt;
	hwpt->ctx = ctx;
	hwpt->ops = idev->ops;
	hwpt->ioas = ioas;
	refcount_inc(&ioas->obj.users);
	INIT_LIST_HEAD(&hwpt->iopt_node);
	INIT_LIST_HEAD(&hwpt->auto_node);
	hwpt->auto_domain = auto_domain;
	hwpt->nest_parent = flags & IOMMU_HWPT_ALLOC_NEST_PARENT;

	domain = idev->ops->domain_alloc(idev, flags, &hwpt->coherent);
	if (IS_ERR(domain)) {
		ret = PTR_ERR(domain);
		goto err_abort;
	}
	hwpt->domain = domain;
	/* as if the IOMMU could not force snooping (test flavour) */
	if (hwpt->coherent && iorp_should_fail(IORP_FAULT_INCOHERENT))
		hwpt->coherent = false;
	ret = iorp_iopt_add_domain(&ioas->iopt, hwpt);
	if (ret)
		goto err_abort;
	return hwpt;

err_abort:
	iorp_object_abort_and_destroy(ctx, &hwpt->obj);
	return ERR_PTR(ret);
}

/* Also undoes a partly built HWPT. */
void iorp_hwpt_destroy(struct iorp_object *obj)
{
	struct iorp_hwpt *hwpt = container_of(obj, struct iorp_hwpt, obj);
	struct iorp_ioas *ioas = hwpt->ioas;

	if (!list_empty(&hwpt->auto_node)) {
		mutex_lock(&ioas->mutex);
		list_del(&hwpt->auto_node);
		mutex_unlock(&ioas->mutex);
	}
	if (!list_empty(&hwpt->iopt_node))
		iorp_iopt_remove_domain(&ioas->iopt, hwpt);
	if (hwpt->domain)
		hwpt->ops->domain_free(hwpt->domain);
	iorp_object_put(hwpt->ctx, &ioas->obj);
}

int iorp_cmd_hwpt_alloc(struct iorp_ucmd *ucmd)
{
	struct iommu_hwpt_alloc *cmd = ucmd->cmd;
	struct iorp_object *pt_obj;
	struct iorp_device *idev;
	struct iorp_hwpt *hwpt;
	struct iorp_ioas *ioas;
	int ret;

	if (cmd->__reserved || cmd->__reserved2)
		return -EOPNOTSUPP;
	/* driver data comes with a type, and only with one */
	if (cmd->data_type == IOMMU_HWPT_DATA_NONE ? cmd->data_len : !cmd->data_len)
		return -EINVAL;

	idev = iorp_device_get(ucmd->ctx, cmd->dev_id);
	if (IS_ERR(idev))
		return PTR_ERR(idev);
	pt_obj = iorp_object_get(ucmd->ctx, cmd->pt_id, IORP_OBJ_ANY);
	if (IS_ERR(pt_obj)) {
		ret = -EINVAL;
		goto out_put_idev;
	}
	if (pt_obj->type == IORP_OBJ_HWPT) {
		ret = -EOPNOTSUPP;	/* a nested page table */
		goto out_put_pt;
	}
	if (pt_obj->type != IORP_OBJ_IOAS) {
		ret = -EINVAL;
		goto out_put_pt;
	}
	if (cmd->data_type != IOMMU_HWPT_DATA_NONE) {
		ret = -EOPNOTSUPP;	/* no driver-specific page tables */
		goto out_put_pt;
	}

	ioas = container_of(pt_obj, struct iorp_ioas, obj);
	/* a hot-unplugged device has no IOMMU to allocate from */
	mutex_lock(&idev->agroup->lock);
	if (READ_ONCE(idev->gone)) {
		hwpt = ERR_PTR(-ENODEV);
	} else {
		mutex_lock(&ioas->mutex);
		hwpt = iorp_hwpt_alloc(ucmd->ctx, ioas, idev, cmd->flags, false);
		mutex_unlock(&ioas->mutex);
	}
	mutex_unlock(&idev->agroup->lock);
	if (IS_ERR(hwpt)) {
		ret = PTR_ERR(hwpt);
		goto out_put_pt;
	}
	cmd->out_hwpt_id = hwpt->obj.id;
	ret = iorp_ucmd_respond(ucmd, sizeof(*cmd));
	if (ret)
		iorp_object_abort_and_destroy(ucmd->ctx, &hwpt->obj);
	else
		iorp_object_finalize(ucmd->ctx, &hwpt->obj);
out_put_pt:
	iorp_object_put(ucmd->ctx, pt_obj);
out_put_idev:
	iorp_object_put(ucmd->ctx, &idev->obj);
	return ret;
}

int iorp_cmd_get_hw_info(struct iorp_ucmd *ucmd)
{
	struct iommu_hw_info *cmd = ucmd->cmd;
	void __user *data = u64_to_user_ptr(cmd->data_uptr);
	struct iorp_hw_info info = {};
	struct iorp_device *idev;
	u32 copy;
	int ret;

	if (cmd->flags || cmd->__reserved[0] || cmd->__reserved[1] ||
	    cmd->__reserved[2])
		return -EOPNOTSUPP;
	idev = iorp_device_get(ucmd->ctx, cmd->dev_id);
	if (IS_ERR(idev))
		return PTR_ERR(idev);
	idev->ops->hw_info(idev, &info);

	/* what fits, then zeros for the rest of the caller's buffer */
	copy = min(cmd->data_len, info.len);
	ret = -EFAULT;
	if (copy_to_user(data, info.data, copy))
		goto out_put;
	if (cmd->data_len > copy && clear_user(data + copy, cmd->data_len - copy))
		goto out_put;
	cmd->data_len = info.len;
	cmd->out_data_type = info.type;
	cmd->out_max_pasid_log2 = info.max_pasid_log2;
	cmd->out_capabilities = info.capabilities;
	ret = iorp_ucmd_respond(ucmd, sizeof(*cmd));
out_put:
	iorp_object_put(ucmd->ctx, &idev->obj);
	return ret;
}

/*
 * Only nested page tables, which user space manages, take invalidations.
 * None exist here (paging HWPTs are kept coherent by the kernel), so a
 * well-formed request names no such table: ENOENT, as for any unknown ID.
 */
int iorp_cmd_hwpt_invalidate(struct iorp_ucmd *ucmd)
{
	struct iommu_hwpt_invalidate *cmd = ucmd->cmd;
	int ret = -ENOENT;

	if (cmd->__reserved)
		ret = -EOPNOTSUPP;
	else if (cmd->entry_num &&
		 (!cmd->data_uptr || !cmd->entry_len ||
		  cmd->entry_len > PAGE_SIZE ||
		  cmd->entry_num > IORP_INVALIDATE_MAX_ENTRIES))
		ret = -EINVAL;
	cmd->entry_num = 0;	/* requests handled */
	if (iorp_ucmd_respond(ucmd, sizeof(*cmd)))
		return -EFAULT;
	return ret;
}
