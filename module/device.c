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
 * Locking (order: locking.h): agroup->lock around every attachment change,
 * and while an attach's answer is written (so it can be undone); ioas->mutex
 * while choosing or creating an automatic HWPT. An automatic HWPT that lost
 * its last device is destroyed after ioas->mutex is dropped.
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
 * @agroup: the device's group
 * @ops: the device's kind
 * @priv: the kind's state
 *
 * The caller links it into its group (iorp_device_link()), then publishes
 * it (iorp_object_finalize()) or aborts it (iorp_object_abort_and_destroy(),
 * linked or not). Creating takes no lock of the group, so a caller holding
 * a global lock can create. Return: the device or an ERR_PTR.
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
	INIT_LIST_HEAD(&idev->group_node);
	return idev;
}

/**
 * iorp_device_link() - put a created device in its group's device list
 * @idev: the device
 *
 * Takes the group's lock, which may be held across pinning user memory:
 * call it with no global lock held.
 */
void iorp_device_link(struct iorp_device *idev)
{
	struct iorp_attach_group *agroup = idev->agroup;

	mutex_lock(&agroup->lock);
	list_add_tail(&idev->group_node, &agroup->devices);
	mutex_unlock(&agroup->lock);
}

/**
 * iorp_device_bind() - make a device with a kernel owner usable
 * @ctx: the context
 * @agroup: the device's group
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
	iorp_device_link(idev);
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
	list_del_init(&idev->group_node);
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
 * The group's hardware is blocked although the group was attached to old
 * (a switch that could not put every device back): every device is
 * detached. The caller drops the returned references on old.
 */
static unsigned int iorp_group_blocked(struct iorp_attach_group *agroup,
				       struct iorp_hwpt *old)
{
	unsigned int refs = agroup->attached;
	struct iorp_device *idev;

	lockdep_assert_held(&agroup->lock);
	iorp_unreserve_devices(agroup, old->ioas, NULL);
	list_for_each_entry(idev, &agroup->devices, group_node)
		idev->attached = false;
	agroup->attached = 0;
	agroup->hwpt = NULL;
	return refs;
}

/*
 * Move the group (and idev, if it is not attached yet) to hwpt. On success
 * *old_hwpt and *old_refs say which references the caller must drop (after
 * releasing ioas->mutex). On failure nothing changed, unless the device
 * kind could not put the group back either: then the group is detached
 * and blocked, and *old_hwpt and *old_refs are the references to drop.
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
	if (agroup->need_coherent && !hwpt->coherent)
		return -EINVAL;
	ret = idev->ops->domain_compatible(idev, hwpt->domain);
	if (ret)
		return ret;
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
		/*
		 * A gone device's group is left attached for its gone work to
		 * detach: its way to blocking waits for a device of the group
		 * that is still leaving (6.1), which may still use old.
		 */
		if (old && !READ_ONCE(idev->gone) &&
		    idev->ops->group_domain(agroup) != old->domain) {
			*old_refs = iorp_group_blocked(agroup, old);
			*old_hwpt = old;
		}
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

/* Drop n attachment references on a HWPT; an unused automatic one goes. */
static void iorp_hwpt_put_attached(struct iorp_hwpt *hwpt, unsigned int n)
{
	iorp_object_drop(hwpt->ctx, &hwpt->obj, n, hwpt->auto_domain);
}

/*
 * References a change of page table leaves to drop: on the HWPT the group
 * left (n of them), and on a reused automatic HWPT the attach held while it
 * tried. Dropped after ioas->mutex, since the last reference on an
 * automatic HWPT destroys it.
 */
struct iorp_pt_refs {
	struct iorp_hwpt *old;
	unsigned int old_refs;
	struct iorp_hwpt *reused;
};

static void iorp_pt_refs_drop(struct iorp_pt_refs *refs)
{
	if (refs->old)
		iorp_hwpt_put_attached(refs->old, refs->old_refs);
	if (refs->reused)
		iorp_hwpt_put_attached(refs->reused, 1);
	memset(refs, 0, sizeof(*refs));
}

/* Attach to an automatic HWPT of ioas, reusing a compatible one. */
static int iorp_device_attach_ioas(struct iorp_device *idev,
				   struct iorp_ioas *ioas,
				   struct iorp_hwpt **hwpt_out,
				   struct iorp_pt_refs *refs)
{
	struct iorp_hwpt *hwpt;
	int ret;

	mutex_lock(&ioas->mutex);
	list_for_each_entry(hwpt, &ioas->auto_hwpts, auto_node) {
		if (idev->ops->domain_compatible(idev, hwpt->domain))
			continue;
		/* one that lost its last device may be on its way out */
		if (!refcount_inc_not_zero(&hwpt->obj.users))
			continue;
		iorp_pause(IORP_PAUSE_AUTO_HWPT);
		ret = iorp_group_set_hwpt(idev, hwpt, &refs->old,
					  &refs->old_refs);
		/*
		 * EINVAL with nothing changed: the driver cannot use this
		 * domain for the device (VT-d refuses a snoop-enforced one
		 * behind an IOMMU without snoop control); try the next, as
		 * iommufd does. Any other answer is the attach's.
		 */
		if (ret != -EINVAL || refs->old) {
			refs->reused = hwpt;
			goto out_unlock;
		}
		/*
		 * Its last device may have left meanwhile: then this reference
		 * is the last, and dropping it (later) destroys the HWPT.
		 */
		if (!refcount_dec_not_one(&hwpt->obj.users)) {
			refs->reused = hwpt;
			break;
		}
	}

	hwpt = iorp_hwpt_alloc(idev->ctx, ioas, idev, 0, true);
	if (IS_ERR(hwpt)) {
		ret = PTR_ERR(hwpt);
		goto out_unlock;
	}
	ret = iorp_group_set_hwpt(idev, hwpt, &refs->old, &refs->old_refs);
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

/*
 * Attach or replace, agroup->lock held; *hwpt is the HWPT attached after
 * success. The references to drop are left in refs.
 */
static int __iorp_device_change_pt(struct iorp_device *idev,
				   struct iorp_object *pt_obj,
				   enum iorp_change change,
				   struct iorp_hwpt **hwpt,
				   struct iorp_pt_refs *refs)
{
	lockdep_assert_held(&idev->agroup->lock);
	if (READ_ONCE(idev->gone))
		return -ENODEV;
	if ((change == IORP_ATTACH && idev->attached) ||
	    (change == IORP_REPLACE && !idev->attached))
		return -EINVAL;
	switch (pt_obj->type) {
	case IORP_OBJ_HWPT:
		*hwpt = container_of(pt_obj, struct iorp_hwpt, obj);
		return iorp_group_set_hwpt(idev, *hwpt, &refs->old,
					   &refs->old_refs);
	case IORP_OBJ_IOAS:
		return iorp_device_attach_ioas(idev,
					       container_of(pt_obj, struct iorp_ioas, obj),
					       hwpt, refs);
	default:
		return -EINVAL;
	}
}

/* Detach, agroup->lock held; the reference on the HWPT left is returned. */
static struct iorp_hwpt *__iorp_device_detach(struct iorp_device *idev)
{
	struct iorp_attach_group *agroup = idev->agroup;
	struct iorp_hwpt *hwpt = agroup->hwpt;

	lockdep_assert_held(&agroup->lock);
	if (!idev->attached)
		return NULL;
	if (agroup->attached == 1) {
		/* the way back to blocking does not fail */
		WARN_ON(idev->ops->group_switch(agroup, hwpt->domain, NULL));
		agroup->hwpt = NULL;
	}
	iorp_iopt_unreserve(&hwpt->ioas->iopt, idev);
	idev->attached = false;
	agroup->attached--;
	return hwpt;
}

static int iorp_device_change_pt(struct iorp_device *idev, u32 *pt_id,
				 enum iorp_change change)
{
	struct iorp_attach_group *agroup = idev->agroup;
	struct iorp_pt_refs refs = {};
	struct iorp_object *pt_obj;
	struct iorp_hwpt *hwpt;
	int ret;

	pt_obj = iorp_object_get(idev->ctx, *pt_id, IORP_OBJ_ANY);
	if (IS_ERR(pt_obj))
		return PTR_ERR(pt_obj);
	mutex_lock(&agroup->lock);
	ret = __iorp_device_change_pt(idev, pt_obj, change, &hwpt, &refs);
	if (!ret)
		*pt_id = hwpt->obj.id;
	iorp_pt_refs_drop(&refs);
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
 * cannot use the HWPT, or its group already uses another HWPT; ENODEV if
 * the device was removed.
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
 * one. On failure nothing changed (but see iommu_replace_switch() for the
 * one exception). Return: as iorp_device_attach(), but EINVAL if the device
 * is not attached.
 */
int iorp_device_replace(struct iorp_device *idev, u32 *pt_id)
{
	return iorp_device_change_pt(idev, pt_id, IORP_REPLACE);
}

/**
 * iorp_device_set_pt() - attach a device, or replace its page table
 * @idev: the device
 * @pt_id: in: an IOAS or HWPT ID; out: the HWPT attached
 *
 * Return: as iorp_device_replace(), whether the device is attached or not.
 */
int iorp_device_set_pt(struct iorp_device *idev, u32 *pt_id)
{
	return iorp_device_change_pt(idev, pt_id, IORP_ATTACH_OR_REPLACE);
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
	hwpt = __iorp_device_detach(idev);
	if (hwpt)
		iorp_hwpt_put_attached(hwpt, 1);
	mutex_unlock(&agroup->lock);
}

/**
 * iorp_device_hold_hwpt() - the HWPT a device is attached to, held
 * @idev: the device
 *
 * The reference keeps the HWPT, an automatic one too, with its IOMMU
 * domain filled, after its devices left it, so they can go back to it
 * with a switch that neither allocates nor pins.
 *
 * Return: the HWPT, to give to iorp_device_put_hwpt(), or NULL if the
 * device is not attached.
 */
struct iorp_hwpt *iorp_device_hold_hwpt(struct iorp_device *idev)
{
	struct iorp_attach_group *agroup = idev->agroup;
	struct iorp_hwpt *hwpt = NULL;

	mutex_lock(&agroup->lock);
	if (idev->attached) {
		hwpt = agroup->hwpt;
		refcount_inc(&hwpt->obj.users);	/* attached: not the last */
	}
	mutex_unlock(&agroup->lock);
	return hwpt;
}

/**
 * iorp_device_put_hwpt() - drop iorp_device_hold_hwpt()'s reference
 * @hwpt: the HWPT
 *
 * An automatic HWPT no device uses any more is destroyed, so the caller
 * must not hold its IOAS's ioas->mutex.
 */
void iorp_device_put_hwpt(struct iorp_hwpt *hwpt)
{
	iorp_hwpt_put_attached(hwpt, 1);
}

/*
 * Put back what a successful change did, because its answer could not be
 * written: an attached device goes back to the HWPT it had (refs still
 * holds it, so it still exists), a newly attached one is detached again,
 * as VFIO does. If the way back fails, the device is detached.
 */
static void iorp_device_undo_change(struct iorp_device *idev, bool was_attached,
				    struct iorp_pt_refs *refs)
{
	struct iorp_pt_refs back = {};

	lockdep_assert_held(&idev->agroup->lock);
	if (was_attached && !refs->old)
		return;		/* it was on that HWPT already */
	if (was_attached &&
	    (!iorp_group_set_hwpt(idev, refs->old, &back.old, &back.old_refs) ||
	     back.old)) {
		iorp_pt_refs_drop(&back);
		return;
	}
	back.old = __iorp_device_detach(idev);
	back.old_refs = 1;
	iorp_pt_refs_drop(&back);
}

int iorp_cmd_device_attach(struct iorp_ucmd *ucmd)
{
	struct iommu_replace_device_attach *cmd = ucmd->cmd;
	struct iorp_pt_refs refs = {};
	struct iorp_attach_group *agroup;
	struct iorp_object *pt_obj;
	struct iorp_device *idev;
	struct iorp_hwpt *hwpt;
	bool was_attached;
	int ret;

	if (cmd->flags)
		return -EOPNOTSUPP;
	idev = iorp_device_get(ucmd->ctx, cmd->dev_id);
	if (IS_ERR(idev))
		return PTR_ERR(idev);
	pt_obj = iorp_object_get(ucmd->ctx, cmd->pt_id, IORP_OBJ_ANY);
	if (IS_ERR(pt_obj)) {
		ret = PTR_ERR(pt_obj);
		goto out_put_idev;
	}
	/*
	 * The answer is written with the change still undoable: the group's
	 * lock held, the old HWPT's references not yet dropped.
	 */
	agroup = idev->agroup;
	mutex_lock(&agroup->lock);
	was_attached = idev->attached;
	ret = __iorp_device_change_pt(idev, pt_obj, IORP_ATTACH_OR_REPLACE,
				      &hwpt, &refs);
	if (!ret) {
		cmd->pt_id = hwpt->obj.id;
		ret = iorp_ucmd_respond(ucmd, sizeof(*cmd));
		if (ret)
			iorp_device_undo_change(idev, was_attached, &refs);
	}
	iorp_pt_refs_drop(&refs);
	mutex_unlock(&agroup->lock);
	iorp_object_put(ucmd->ctx, pt_obj);
out_put_idev:
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
