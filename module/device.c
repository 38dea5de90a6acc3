// SPDX-License-Identifier: GPL-2.0-only
/*
 * device.c - bound devices: attach, replace and detach.
 *
 * Every kind of device goes through these functions; the kind only moves
 * its group's hardware (iorp_device_ops.group_switch). The rules:
 *  - attaching to an IOAS reuses a compatible automatic HWPT of that IOAS
 *    or makes one; attaching to a HWPT uses it if the device can;
 *  - the devices of a group share one HWPT: a device may join its group's
 *    HWPT, and moving one attached device moves the whole group;
 *  - a device's reserved IOVA ranges are reserved in the target IOAS before
 *    the hardware switches and released from the old one after;
 *  - replace either completes for the whole group or changes nothing; the
 *    hardware never passes through the blocking domain on the way;
 *  - detaching the last attached device blocks the group's DMA.
 *
 * Locking: group->lock around every attachment change; ioas->mutex while
 * choosing or creating an automatic HWPT. An automatic HWPT that lost its
 * last device is destroyed after ioas->mutex is dropped.
 */
#include <linux/errno.h>
#include <linux/slab.h>

#include <uapi/linux/iommu_replace.h>
#include <iommu_replace/device.h>
#include <iommu_replace/fault.h>
#include <iommu_replace/io_pagetable.h>

void iorp_attach_group_init(struct iorp_attach_group *agroup, void *priv)
{
	mutex_init(&agroup->lock);
	INIT_LIST_HEAD(&agroup->devices);
	agroup->priv = priv;
}

/**
 * iorp_device_create() - a device object, not yet published
 * @ctx: the context
 * @group: the device's group
 * @ops: the device's kind
 * @priv: the kind's state
 *
 * The caller publishes it (iorp_object_finalize()) or aborts it
 * (iorp_object_abort_and_destroy()). Return: the device or an ERR_PTR.
 */
struct iorp_device *iorp_device_create(struct iorp_ctx *ctx,
				       struct iorp_attach_group *agroup,
				       const struct iorp_device_ops *ops,
				       void *priv)
{
	struct iorp_device *idev;

	idev = iorp_object_alloc_type(ctx, struct iorp_device, IORP_OBJ_DEVICE);
	if (IS_ERR(idev))
		return idev;
	idev->ctx = ctx;
	idev->agroup = agroup;
	idev->ops = ops;
	idev->priv = priv;
	mutex_lock(&agroup->lock);
	list_add_tail(&idev->group_node, &agroup->devices);
	mutex_unlock(&agroup->lock);
	return idev;
}

/**
 * iorp_device_bind() - make a device with a kernel owner usable
 * @ctx: the context
 * @group: the device's group
 * @ops: the device's kind
 * @priv: the kind's state
 *
 * The device object is published with a reference for the caller, its
 * owner, which must end it with iorp_device_unbind(). Return: the device or
 * an ERR_PTR.
 */
struct iorp_device *iorp_device_bind(struct iorp_ctx *ctx,
				     struct iorp_attach_group *agroup,
				     const struct iorp_device_ops *ops,
				     void *priv)
{
	struct iorp_device *idev = iorp_device_create(ctx, agroup, ops, priv);

	if (IS_ERR(idev))
		return idev;
	refcount_inc(&idev->obj.users);	/* the owner's */
	iorp_object_finalize(ctx, &idev->obj);
	return idev;
}

/* Detaches if needed; ends the owner's reference and the object. */
void iorp_device_unbind(struct iorp_device *idev)
{
	iorp_device_detach(idev);
	iorp_object_remove_owned(idev->ctx, &idev->obj);
}

void iorp_device_destroy(struct iorp_object *obj)
{
	struct iorp_device *idev = container_of(obj, struct iorp_device, obj);

	iorp_device_detach(idev);
	mutex_lock(&idev->agroup->lock);
	list_del(&idev->group_node);
	mutex_unlock(&idev->agroup->lock);
	if (idev->ops->unbind)
		idev->ops->unbind(idev);
}

struct iorp_device *iorp_device_get(struct iorp_ctx *ctx, u32 id)
{
	struct iorp_object *obj = iorp_object_get(ctx, id, IORP_OBJ_DEVICE);

	if (IS_ERR(obj))
		return ERR_CAST(obj);
	return container_of(obj, struct iorp_device, obj);
}

/* Drop n attachment references on a HWPT; an unused automatic one goes. */
static void iorp_hwpt_put_attached(struct iorp_hwpt *hwpt, unsigned int n)
{
	iorp_object_drop(hwpt->ctx, &hwpt->obj, n, hwpt->auto_domain);
}

static void iorp_unreserve_devices(struct iorp_attach_group *agroup,
				   struct iorp_ioas *ioas,
				   struct iorp_device *extra)
{
	struct iorp_device *idev;

	list_for_each_entry(idev, &agroup->devices, group_node)
		if (idev->attached || idev == extra)
			iorp_iopt_unreserve(&ioas->iopt, idev);
}

/* Reserve a device's reserved ranges in an IOAS, all or none. */
static int iorp_reserve_device(struct iorp_device *idev,
			       struct iorp_ioas *ioas)
{
	struct iorp_resv *resv, *next;
	LIST_HEAD(list);
	int ret;

	ret = idev->ops->reserved(idev, &list);
	list_for_each_entry(resv, &list, node) {
		if (ret)
			break;
		ret = iorp_iopt_reserve(&ioas->iopt, resv->start, resv->last,
					idev);
	}
	list_for_each_entry_safe(resv, next, &list, node)
		kfree(resv);
	if (ret)
		iorp_iopt_unreserve(&ioas->iopt, idev);
	return ret;
}

/*
 * Reserve the ranges of the group's attached devices and of @extra (a
 * device about to attach) in @ioas; all or none.
 */
static int iorp_reserve_devices(struct iorp_attach_group *agroup,
				struct iorp_ioas *ioas,
				struct iorp_device *extra)
{
	struct iorp_device *idev;
	int ret;

	list_for_each_entry(idev, &agroup->devices, group_node) {
		if (!idev->attached && idev != extra)
			continue;
		ret = iorp_reserve_device(idev, ioas);
		if (ret) {
			iorp_unreserve_devices(agroup, ioas, extra);
			return ret;
		}
	}
	return 0;
}

/*
 * Move the group (and idev, if it is not attached yet) to hwpt. On success
 * *old_hwpt and *old_refs say which references the caller must drop (after
 * releasing ioas->mutex); on failure nothing changed.
 */
static int iorp_group_set_hwpt(struct iorp_device *idev, struct iorp_hwpt *hwpt,
			       struct iorp_hwpt **old_hwpt,
			       unsigned int *old_refs)
{
	struct iorp_attach_group *agroup = idev->agroup;
	struct iorp_hwpt *old = agroup->hwpt;
	int ret;

	lockdep_assert_held(&agroup->lock);
	*old_hwpt = NULL;
	*old_refs = 0;
	if (!idev->ops->domain_compatible(idev, hwpt->domain))
		return -EINVAL;
	if (old == hwpt) {
		if (idev->attached)
			return 0;
		/* a device joins the HWPT its group already uses */
		ret = iorp_reserve_device(idev, hwpt->ioas);
		if (ret)
			return ret;
		refcount_inc(&hwpt->obj.users);
		idev->attached = true;
		agroup->attached++;
		return 0;
	}
	/* the devices of a group share one HWPT */
	if (old && !idev->attached)
		return -EINVAL;

	if (!old || old->ioas != hwpt->ioas) {
		ret = iorp_reserve_devices(agroup, hwpt->ioas, idev);
		if (ret)
			return ret;
	}
	ret = idev->ops->group_switch(agroup, old ? old->domain : NULL,
				      hwpt->domain);
	if (ret) {
		if (!old || old->ioas != hwpt->ioas)
			iorp_unreserve_devices(agroup, hwpt->ioas, idev);
		return ret;
	}
	if (old && old->ioas != hwpt->ioas)
		iorp_unreserve_devices(agroup, old->ioas, NULL);

	/* every attached device now holds the new HWPT instead of the old */
	if (!idev->attached) {
		idev->attached = true;
		agroup->attached++;
	}
	refcount_add(agroup->attached, &hwpt->obj.users);
	agroup->hwpt = hwpt;
	*old_hwpt = old;
	*old_refs = old ? agroup->attached : 0;
	return 0;
}

/* Attach to an automatic HWPT of ioas, reusing a compatible one. */
static int iorp_device_attach_ioas(struct iorp_device *idev,
				   struct iorp_ioas *ioas,
				   struct iorp_hwpt **hwpt_out,
				   struct iorp_hwpt **old, unsigned int *old_refs)
{
	struct iorp_hwpt *hwpt;
	int ret;

	mutex_lock(&ioas->mutex);
	list_for_each_entry(hwpt, &ioas->auto_hwpts, auto_node) {
		if (!idev->ops->domain_compatible(idev, hwpt->domain))
			continue;
		/* one that lost its last device may be on its way out */
		if (!refcount_inc_not_zero(&hwpt->obj.users))
			continue;
		iorp_pause(IORP_PAUSE_AUTO_HWPT);
		ret = iorp_group_set_hwpt(idev, hwpt, old, old_refs);
		iorp_object_put(idev->ctx, &hwpt->obj);
		goto out_unlock;
	}

	hwpt = iorp_hwpt_alloc(idev->ctx, ioas, idev, 0, true);
	if (IS_ERR(hwpt)) {
		ret = PTR_ERR(hwpt);
		goto out_unlock;
	}
	ret = iorp_group_set_hwpt(idev, hwpt, old, old_refs);
	if (ret) {
		iorp_object_abort_and_destroy(idev->ctx, &hwpt->obj);
		goto out_unlock;
	}
	list_add_tail(&hwpt->auto_node, &ioas->auto_hwpts);
	iorp_object_finalize(idev->ctx, &hwpt->obj);
out_unlock:
	mutex_unlock(&ioas->mutex);
	if (!ret)
		*hwpt_out = hwpt;
	return ret;
}

/* What a change of page table may be, by whether the device is attached */
enum iorp_change {
	IORP_ATTACH,		/* the device must be detached */
	IORP_REPLACE,		/* it must be attached */
	IORP_ATTACH_OR_REPLACE,	/* either (the ioctl) */
};

static int iorp_device_change_pt(struct iorp_device *idev, u32 *pt_id,
				 enum iorp_change change)
{
	struct iorp_attach_group *agroup = idev->agroup;
	struct iorp_hwpt *hwpt = NULL, *old = NULL;
	struct iorp_object *pt_obj;
	unsigned int old_refs = 0;
	int ret;

	pt_obj = iorp_object_get(idev->ctx, *pt_id, IORP_OBJ_ANY);
	if (IS_ERR(pt_obj))
		return PTR_ERR(pt_obj);
	mutex_lock(&agroup->lock);
	if (idev->gone) {
		ret = -ENODEV;
		goto out_unlock;
	}
	if ((change == IORP_ATTACH && idev->attached) ||
	    (change == IORP_REPLACE && !idev->attached)) {
		ret = -EINVAL;
		goto out_unlock;
	}
	switch (pt_obj->type) {
	case IORP_OBJ_HWPT:
		hwpt = container_of(pt_obj, struct iorp_hwpt, obj);
		ret = iorp_group_set_hwpt(idev, hwpt, &old, &old_refs);
		break;
	case IORP_OBJ_IOAS:
		ret = iorp_device_attach_ioas(idev,
					      container_of(pt_obj, struct iorp_ioas, obj),
					      &hwpt, &old, &old_refs);
		break;
	default:
		ret = -EINVAL;
		break;
	}
	if (!ret)
		*pt_id = hwpt->obj.id;
	if (old)
		iorp_hwpt_put_attached(old, old_refs);
out_unlock:
	mutex_unlock(&agroup->lock);
	iorp_object_put(idev->ctx, pt_obj);
	return ret;
}

/**
 * iorp_device_attach() - attach a detached device
 * @idev: the device
 * @pt_id: in: an IOAS or HWPT ID; out: the HWPT attached
 *
 * Return: 0; ENOENT for an unknown ID; EINVAL if the device is attached,
 * cannot use the HWPT, or its group already uses another HWPT.
 */
int iorp_device_attach(struct iorp_device *idev, u32 *pt_id)
{
	return iorp_device_change_pt(idev, pt_id, IORP_ATTACH);
}

/**
 * iorp_device_replace() - move an attached device's group to another HWPT
 * @idev: the device
 * @pt_id: in: an IOAS or HWPT ID; out: the HWPT attached
 *
 * The group's hardware goes from the old page table straight to the new
 * one. On failure nothing changed. Return: as iorp_device_attach(), but
 * EINVAL if the device is not attached.
 */
int iorp_device_replace(struct iorp_device *idev, u32 *pt_id)
{
	return iorp_device_change_pt(idev, pt_id, IORP_REPLACE);
}

/**
 * iorp_device_detach() - detach a device (no-op if not attached)
 * @idev: the device
 *
 * The last device of a group to leave blocks the group's DMA.
 */
void iorp_device_detach(struct iorp_device *idev)
{
	struct iorp_attach_group *agroup = idev->agroup;
	struct iorp_hwpt *hwpt;

	mutex_lock(&agroup->lock);
	if (!idev->attached)
		goto out_unlock;
	hwpt = agroup->hwpt;
	if (agroup->attached == 1) {
		WARN_ON(idev->ops->group_switch(agroup, hwpt->domain, NULL));
		agroup->hwpt = NULL;
	}
	iorp_iopt_unreserve(&hwpt->ioas->iopt, idev);
	idev->attached = false;
	agroup->attached--;
	iorp_hwpt_put_attached(hwpt, 1);
out_unlock:
	mutex_unlock(&agroup->lock);
}

int iorp_cmd_device_attach(struct iorp_ucmd *ucmd)
{
	struct iommu_replace_device_attach *cmd = ucmd->cmd;
	struct iorp_device *idev;
	u32 pt_id = cmd->pt_id;
	int ret;

	if (cmd->flags)
		return -EOPNOTSUPP;
	idev = iorp_device_get(ucmd->ctx, cmd->dev_id);
	if (IS_ERR(idev))
		return PTR_ERR(idev);
	ret = iorp_device_change_pt(idev, &pt_id, IORP_ATTACH_OR_REPLACE);
	if (!ret) {
		cmd->pt_id = pt_id;
		ret = iorp_ucmd_respond(ucmd, sizeof(*cmd));
		if (ret)
			iorp_device_detach(idev);	/* as VFIO does */
	}
	iorp_object_put(ucmd->ctx, &idev->obj);
	return ret;
}

int iorp_cmd_device_detach(struct iorp_ucmd *ucmd)
{
	struct iommu_replace_device_detach *cmd = ucmd->cmd;
	struct iorp_device *idev;

	if (cmd->flags || cmd->__reserved)
		return -EOPNOTSUPP;
	idev = iorp_device_get(ucmd->ctx, cmd->dev_id);
	if (IS_ERR(idev))
		return PTR_ERR(idev);
	iorp_device_detach(idev);
	iorp_object_put(ucmd->ctx, &idev->obj);
	return 0;
}

int iorp_cmd_device_unbind(struct iorp_ucmd *ucmd)
{
	struct iommu_replace_device_unbind *cmd = ucmd->cmd;

	return iorp_object_destroy_user(ucmd->ctx, cmd->dev_id, IORP_OBJ_DEVICE);
}
