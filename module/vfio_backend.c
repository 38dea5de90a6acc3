// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio_backend.c - the VFIO IOMMU backend: containers of type
 * IOMMU_REPLACE_VFIO_TYPE.
 *
 * VFIO hands a VMM its device fd only when the group sits in a container
 * with an IOMMU backend. Registering one (VFIO's private interface,
 * vfio_ops.h) lets a VMM keep the VFIO flow it knows while this module owns
 * translation. VFIO does the ownership part: it claims the group's DMA
 * when the group joins a container (the group's DMA is then blocked) and
 * calls attach_group/detach_group of the container's backend.
 *
 * Each container of our type has one struct iorp_vfio_container: the
 * groups VFIO attached to it (struct iorp_vfio_group), whether each
 * one's IOMMU forces DMA to snoop CPU caches (what VFIO_DMA_CC_IOMMU
 * answers, which 6.1's KVM reads when a group joins), and the
 * /dev/iommu-replace file the VMM linked it to (IOMMU_REPLACE_VFIO_LINK, an
 * ioctl on the container).
 * Devices of those groups are then bound to that file with their group fd
 * (IOMMU_REPLACE_DEVICE_BIND): the file borrows VFIO's ownership of the
 * group instead of claiming it (pci_device.c). When VFIO detaches a group
 * (VFIO_GROUP_UNSET_CONTAINER, the group file closed, the VMM killed), the
 * group's hardware leaves our page tables for the blocking domain before
 * VFIO gives the group's DMA ownership back to the kernel, and its devices
 * can no longer attach; detaching them follows in a work item.
 *
 * The container holds the linked file until VFIO releases the backend
 * (when its last group leaves); the file holds no VFIO file of a borrowed
 * group, so there is no reference cycle.
 *
 * With the parameter vfio_type1, containers set to VFIO_TYPE1_IOMMU or
 * VFIO_TYPE1v2_IOMMU are served too, for VMMs that know only type1: such a
 * container has a context of its own (iorp_ctx_file_create(); no fd names
 * it) with one IOAS. VFIO's attach of a group binds its devices to that
 * context and attaches them to the IOAS (pci_device.c,
 * iorp_pci_bind_group()); VFIO's detach blocks the group as above, and a
 * work item unbinds the devices. Type1's ioctls are vfio_type1.c's.
 * IOMMU_REPLACE_TYPE1_IOAS (type1's REPLACE extension) gives such a
 * container more IOASes: MAP_DMA and UNMAP_DMA act on the selected one,
 * and SWITCH moves every device to another one at once.
 *
 * Emulated (mdev-style) devices join type1 containers too: their drivers
 * pin and copy (vfio_pin_pages(), vfio_unpin_pages(), vfio_dma_rw())
 * through the container's access (access.h), which sits on the attached
 * IOAS and moves with a SWITCH. VFIO registers each device that is opened
 * (register_device); those with a dma_unmap callback are listed in the
 * container, and only they may pin: an unmap of pinned IOVA (UNMAP_DMA, a
 * SWITCH) first calls every listed device's dma_unmap, as type1 does.
 * Containers of our own type serve no emulated group (their devices are
 * bound and attached by the VMM, which has no handle on an emulated one).
 *
 * Without a verified layout of the private interface for the target
 * kernel (module/compat/vfio-layout), none of this is built, and modinfo
 * ("vfio_backend") and the kernel log say so.
 *
 * Locking: iorp_vfio_lock guards every container's @groups and link, and
 * the list of containers. VFIO calls attach_group, detach_group and
 * release with its own locks held (locking.h names them; a device lock
 * too when a group's last vfio device is unbound), VFIO_CHECK_EXTENSION
 * under its container lock, and the other ioctls with no lock at all.
 * So detach_group does only what cannot wait (pci_device.c). A type1
 * attach_group binds and attaches under VFIO's locks, as type1 itself
 * does: the group's lock it takes can only wait on a MAP_DMA of the same
 * container. Order: VFIO's locks, then iorp_pci_lock, then iorp_vfio_lock
 * (bind looks a group up under iorp_pci_lock); detach_group drops
 * iorp_vfio_lock before it calls pci_device.c.
 *
 * A type1 container's ioas_lock comes before all of those but VFIO's: it
 * makes one thing at a time of a group's attach, a left group's unbind (the
 * reap work), MAP_DMA, UNMAP_DMA, GET_INFO and the IOMMU_REPLACE_TYPE1_IOAS
 * ops (as type1 serves its ioctls under its own lock), so SWITCH sees every
 * device once and none is unbound under it; it guards the IOAS IDs. An
 * ioctl or a reap work holds the container (kref) while it runs; the last
 * reference fputs the context's file.
 *
 * A container's emu_lock lists its emulated devices (emu_devs); it is held
 * while their dma_unmap callbacks run, so it comes after iopt->access_lock
 * (which the access's unmap callback runs under for an unmap; a SWITCH's
 * runs under access->attach_lock, item 7) and before the drivers'
 * own locks and access->lock (their unpins): item 8a in locking.h. VFIO
 * registers and unregisters devices under its own locks. A pin runs under
 * a driver's lock, so it only reads the list, under RCU.
 */
#include <linux/device.h>
#include <linux/file.h>
#include <linux/iommu.h>
#include <linux/kmod.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/rculist.h>
#include <linux/slab.h>
#include <linux/vfio.h>
#include <linux/workqueue.h>

#include <uapi/linux/iommu_replace.h>
#include <iommu_replace/compat.h>
#include <iommu_replace/access.h>
#include <iommu_replace/core.h>
#include <iommu_replace/device.h>
#include <iommu_replace/io_pagetable.h>
#include <iommu_replace/vfio_type1.h>

static bool vfio_backend;
module_param(vfio_backend, bool, 0444);
MODULE_PARM_DESC(vfio_backend,
		 "read-only: the VFIO IOMMU backend is registered (VFIO_SET_IOMMU type IOMMU_REPLACE_VFIO_TYPE)");

static bool vfio_type1;
module_param(vfio_type1, bool, 0444);
MODULE_PARM_DESC(vfio_type1,
		 "serve VFIO_TYPE1_IOMMU and VFIO_TYPE1v2_IOMMU containers too, in place of vfio_iommu_type1 (which is loaded first, so this backend is asked first)");

#ifdef IORP_VFIO_OPS_LAYOUT

#include <iommu_replace/vfio_ops.h>

/**
 * struct iorp_vfio_group - an iommu group VFIO attached to a container
 * @node: in container->groups
 * @iommu_group: the group (VFIO holds it while attached)
 * @coherent: every device's IOMMU forces DMA to snoop CPU caches (an
 *            emulated group's CPU copies always do)
 * @emulated: an emulated (mdev-style) group: no IOMMU, no devices bound
 * @idevs: type1: the group's devices, bound to the container's context
 * @nr_idevs: how many
 * @container: type1, once the group left: its container, held until
 *             @reap_work has unbound the devices
 * @reap_work: type1: unbinds the devices of a group that left
 */
struct iorp_vfio_group {
	struct list_head node;
	struct iommu_group *iommu_group;
	bool coherent;
	bool emulated;
	struct iorp_device **idevs;
	unsigned int nr_idevs;
	struct iorp_vfio_container *container;
	struct work_struct reap_work;
};

/**
 * struct iorp_vfio_container - VFIO's iommu_data for a container of ours
 * @node: in iorp_vfio_containers until VFIO releases it
 * @kref: VFIO's reference, an ioctl's, a reap work's
 * @groups: struct iorp_vfio_group, node
 * @file: the linked /dev/iommu-replace file (held), or NULL; a type1
 *        container's own context's file
 * @ctx: its context
 * @type1: opened as VFIO_TYPE1_IOMMU or VFIO_TYPE1v2_IOMMU: the context
 *         is the kernel's, and its devices are attached to one IOAS
 * @v2: VFIO_TYPE1v2_IOMMU's unmap semantics (vfio_type1.c)
 * @ioas_lock: type1: see Locking above
 * @attached_id: type1: the IOAS (in @ctx) the devices are attached to
 * @selected_id: type1: the IOAS MAP_DMA and UNMAP_DMA act on
 * @access: type1: emulated devices' pins and copies; on @attached_id
 * @emu_lock: see Locking above
 * @emu_devs: struct iorp_vfio_emu_dev, node: open devices that may pin
 */
struct iorp_vfio_container {
	struct list_head node;
	struct kref kref;
	struct list_head groups;
	struct file *file;
	struct iorp_ctx *ctx;
	bool type1;
	bool v2;
	struct mutex ioas_lock;	/* see Locking above; guards the two IDs */
	u32 attached_id;
	u32 selected_id;
	struct iorp_access *access;
	struct mutex emu_lock;	/* see Locking above; guards @emu_devs */
	struct list_head emu_devs;
};

/**
 * struct iorp_vfio_emu_dev - an open device with a dma_unmap callback
 * @node: in container->emu_devs (RCU: pins look groups up without a lock)
 * @vdev: the device (VFIO unregisters it before freeing it)
 * @iommu_group: its group (the group lives while the device is open)
 * @rcu: frees the entry after pins that may be reading it
 */
struct iorp_vfio_emu_dev {
	struct list_head node;
	struct vfio_device *vdev;
	struct iommu_group *iommu_group;
	struct rcu_head rcu;
};

static DEFINE_MUTEX(iorp_vfio_lock);
static LIST_HEAD(iorp_vfio_containers);
/* reaps the devices of type1 groups that left; drained at module exit */
static struct workqueue_struct *iorp_vfio_wq;

/**
 * iorp_vfio_group_linked() - may @ctx borrow the group from VFIO?
 * @ctx: a context
 * @iommu_group: an iommu group
 * @coherent: out: VFIO_DMA_CC_IOMMU promised snooping for the group, so
 *            every page table it uses must force it
 *
 * Return: true if the group is attached to a container of ours linked to
 * @ctx. Stays true until VFIO detaches the group, which then tells
 * iorp_pci_vfio_group_left(); the caller holds iorp_pci_lock across this
 * check and recording the group, so that cannot fall in between.
 */
bool iorp_vfio_group_linked(struct iorp_ctx *ctx,
			    struct iommu_group *iommu_group, bool *coherent)
{
	struct iorp_vfio_container *container;
	struct iorp_vfio_group *vgroup;
	bool linked = false;

	mutex_lock(&iorp_vfio_lock);
	list_for_each_entry(container, &iorp_vfio_containers, node) {
		if (container->ctx != ctx)
			continue;
		list_for_each_entry(vgroup, &container->groups, node) {
			if (vgroup->iommu_group == iommu_group) {
				linked = true;
				*coherent = vgroup->coherent;
			}
		}
	}
	mutex_unlock(&iorp_vfio_lock);
	return linked;
}

static bool iorp_vfio_is_type1(unsigned long type)
{
	return READ_ONCE(vfio_type1) &&
	       (type == VFIO_TYPE1_IOMMU || type == VFIO_TYPE1v2_IOMMU);
}

/*
 * An unmap of IOVA the container's access pinned (UNMAP_DMA, or a SWITCH
 * leaving the IOAS: one call per mapping holding pins): every listed
 * device unpins what it pinned in the range, through
 * iorp_vfio_unpin_pages().
 */
static void iorp_vfio_emu_unmap(void *data, unsigned long iova,
				unsigned long length)
{
	struct iorp_vfio_container *container = data;
	struct iorp_vfio_emu_dev *edev;

	mutex_lock(&container->emu_lock);
	list_for_each_entry(edev, &container->emu_devs, node)
		edev->vdev->ops->dma_unmap(edev->vdev, iova, length);
	mutex_unlock(&container->emu_lock);
}

static const struct iorp_access_ops iorp_vfio_access_ops = {
	.needs_pin_pages = true,
	.unmap = iorp_vfio_emu_unmap,
};

/*
 * A type1 container's own context (the kernel's; its file is in no fd
 * table), IOAS and access. Its pins are charged as type1 charges them: to the
 * mapping process's locked_vm.
 */
static int iorp_vfio_type1_open(struct iorp_vfio_container *container)
{
	struct iorp_ioas *ioas;
	struct file *file;
	int ret;

	file = iorp_ctx_file_create("[iommu-replace-type1]");
	if (IS_ERR(file))
		return PTR_ERR(file);
	container->ctx = iorp_ctx_from_file(file);
	container->ctx->account_mode = IORP_ACCOUNT_MM;
	ioas = iorp_ioas_create(container->ctx);
	if (IS_ERR(ioas)) {
		fput(file);
		return PTR_ERR(ioas);
	}
	container->attached_id = ioas->obj.id;
	container->selected_id = ioas->obj.id;
	iorp_object_finalize(container->ctx, &ioas->obj);
	container->access = iorp_access_create(container->ctx,
					       &iorp_vfio_access_ops,
					       container);
	if (IS_ERR(container->access)) {
		ret = PTR_ERR(container->access);
		goto out_fput;
	}
	ret = iorp_access_attach(container->access, container->attached_id);
	if (ret)
		goto out_destroy;
	container->file = file;
	return 0;

out_destroy:
	iorp_access_destroy(container->access);
out_fput:
	container->access = NULL;
	fput(file);
	return ret;
}

static void *iorp_vfio_open(unsigned long type)
{
	struct iorp_vfio_container *container;
	int ret;

	if (type != IOMMU_REPLACE_VFIO_TYPE && !iorp_vfio_is_type1(type))
		return ERR_PTR(-EINVAL);
	container = kzalloc(sizeof(*container), GFP_KERNEL_ACCOUNT);
	if (!container)
		return ERR_PTR(-ENOMEM);
	kref_init(&container->kref);
	INIT_LIST_HEAD(&container->groups);
	mutex_init(&container->ioas_lock);
	mutex_init(&container->emu_lock);
	INIT_LIST_HEAD(&container->emu_devs);
	if (type != IOMMU_REPLACE_VFIO_TYPE) {
		container->type1 = true;
		container->v2 = type == VFIO_TYPE1v2_IOMMU;
		ret = iorp_vfio_type1_open(container);
		if (ret) {
			mutex_destroy(&container->emu_lock);
			mutex_destroy(&container->ioas_lock);
			kfree(container);
			return ERR_PTR(ret);
		}
	}
	mutex_lock(&iorp_vfio_lock);
	list_add_tail(&container->node, &iorp_vfio_containers);
	mutex_unlock(&iorp_vfio_lock);
	return container;
}

static void iorp_vfio_container_free(struct kref *kref)
{
	struct iorp_vfio_container *container =
		container_of(kref, struct iorp_vfio_container, kref);

	/* VFIO unregistered every device before their groups left */
	WARN_ON_ONCE(!list_empty(&container->emu_devs));
	if (container->access)
		iorp_access_destroy(container->access);
	if (container->file)
		fput(container->file);	/* deferred: never under VFIO's locks */
	mutex_destroy(&container->emu_lock);
	mutex_destroy(&container->ioas_lock);
	kfree(container);
}

static void iorp_vfio_container_put(struct iorp_vfio_container *container)
{
	kref_put(&container->kref, iorp_vfio_container_free);
}

static void iorp_vfio_release(void *data)
{
	struct iorp_vfio_container *container = data;

	mutex_lock(&iorp_vfio_lock);
	/* VFIO detaches every group before it releases the container */
	WARN_ON_ONCE(!list_empty(&container->groups));
	list_del(&container->node);
	mutex_unlock(&iorp_vfio_lock);
	iorp_vfio_container_put(container);
}

/* Is the container (still) one of ours? iorp_vfio_lock held. */
static bool iorp_vfio_container_live(struct iorp_vfio_container *container)
{
	struct iorp_vfio_container *c;

	lockdep_assert_held(&iorp_vfio_lock);
	list_for_each_entry(c, &iorp_vfio_containers, node)
		if (c == container)
			return true;
	return false;
}

/* the DMA cache coherency VFIO_DMA_CC_IOMMU reports: all groups have it */
static long iorp_vfio_cache_coherent(struct iorp_vfio_container *container)
{
	struct iorp_vfio_group *vgroup;
	long ret = 1;

	mutex_lock(&iorp_vfio_lock);
	list_for_each_entry(vgroup, &container->groups, node)
		if (!vgroup->coherent)
			ret = 0;
	mutex_unlock(&iorp_vfio_lock);
	return ret;
}

/*
 * Asked with no container (VFIO_SET_IOMMU's choice, a container without a
 * backend) or of one of ours. IOMMU_REPLACE_VFIO_TYPE is 1 for every
 * container of ours, type1 too: it tells a program who serves it.
 */
static long iorp_vfio_check_extension(struct iorp_vfio_container *container,
				      unsigned long ext)
{
	switch (ext) {
	case IOMMU_REPLACE_VFIO_TYPE:
		return 1;
	case VFIO_TYPE1_IOMMU:
	case VFIO_TYPE1v2_IOMMU:
	case VFIO_UNMAP_ALL:
		/* a container of our own type serves none of type1's ioctls */
		return container ? container->type1 : READ_ONCE(vfio_type1);
	case VFIO_DMA_CC_IOMMU:
		/* no container yet: nothing to say, as type1 answers */
		return container ? iorp_vfio_cache_coherent(container) : 0;
	default:
		return 0;
	}
}

/* IOMMU_REPLACE_VFIO_LINK: the container's groups serve this file */
static long iorp_vfio_link(struct iorp_vfio_container *container,
			   void __user *uarg)
{
	struct iommu_replace_vfio_link cmd;
	struct iorp_ctx *ctx;
	struct file *file;
	u32 size;
	int ret;

	if (get_user(size, (u32 __user *)uarg))
		return -EFAULT;
	if (size < offsetofend(struct iommu_replace_vfio_link, iommufd))
		return -EINVAL;
	ret = copy_struct_from_user(&cmd, sizeof(cmd), uarg, size);
	if (ret)
		return ret;
	if (cmd.flags || cmd.__reserved)
		return -EOPNOTSUPP;
	file = fget(cmd.iommufd);
	if (!file)
		return -EBADF;
	ctx = iorp_ctx_from_file(file);
	if (!ctx) {
		fput(file);
		return -EINVAL;
	}
	mutex_lock(&iorp_vfio_lock);
	/*
	 * VFIO passes container ioctls on without its lock, so a group
	 * leaving at the same moment may have released the container: then
	 * it is gone from the list, and only its pointer is compared. (Were
	 * another container of ours allocated at that address meanwhile, it
	 * would be linked instead: its owner's own link then fails with
	 * EBUSY, and its groups still bind only with its group fds.)
	 */
	if (!iorp_vfio_container_live(container)) {
		ret = -EINVAL;
	} else if (container->file) {
		/* a type1 container's is its own context's */
		ret = -EBUSY;
	} else {
		container->file = file;
		container->ctx = ctx;
		file = NULL;
	}
	mutex_unlock(&iorp_vfio_lock);
	if (file)
		fput(file);
	return ret;
}

/*
 * A type1 container for an ioctl, held (a reference), or an errno.
 * VFIO calls with none of its locks, so the last group may be leaving and
 * the container being released: the reference, taken under iorp_vfio_lock
 * while the container is still listed, keeps it, its context and IOASes
 * for the call. What this cannot tell apart is a container released and
 * another one allocated at the same address meanwhile: a call racing its
 * own container's release may then land in that other one. Only VFIO could
 * close that window (its own type1 frees the container's data under such
 * a call).
 */
static int iorp_vfio_type1_get(struct iorp_vfio_container *container)
{
	int ret = 0;

	mutex_lock(&iorp_vfio_lock);
	if (!iorp_vfio_container_live(container))
		ret = -EINVAL;		/* released: VFIO's answer then */
	else if (!container->type1)
		ret = -ENOTTY;		/* of our own type */
	else
		kref_get(&container->kref);
	mutex_unlock(&iorp_vfio_lock);
	return ret;
}

/*
 * A type1 container's MAP_DMA, UNMAP_DMA (the selected IOAS) or GET_INFO
 * (the attached one: what the devices allow), vfio_type1.c. Under
 * ioas_lock, as type1 serves them under its own lock: a SWITCH, a group's
 * attach and a DESTROY come before or after, never in between.
 */
static long iorp_vfio_type1_ioctl(struct iorp_vfio_container *container,
				  unsigned int cmd, unsigned long arg)
{
	u32 ioas_id;
	long ret;

	ret = iorp_vfio_type1_get(container);
	if (ret)
		return ret;
	mutex_lock(&container->ioas_lock);
	ioas_id = cmd == VFIO_IOMMU_GET_INFO ? container->attached_id :
					       container->selected_id;
	ret = iorp_type1_ioctl(container->ctx, ioas_id, container->v2, cmd,
			       (void __user *)arg);
	mutex_unlock(&container->ioas_lock);
	iorp_vfio_container_put(container);
	return ret;
}

static void iorp_vfio_ioas_set(struct iorp_vfio_container *container,
			       u32 attached_id, u32 selected_id)
{
	lockdep_assert_held(&container->ioas_lock);
	container->attached_id = attached_id;
	container->selected_id = selected_id;
}

/* Is ioas_id an IOAS of the container's context? ENOENT if not. */
static int iorp_vfio_ioas_check(struct iorp_vfio_container *container,
				u32 ioas_id)
{
	struct iorp_ioas *ioas = iorp_ioas_get(container->ctx, ioas_id);

	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	iorp_object_put(container->ctx, &ioas->obj);
	return 0;
}

/* A device of a SWITCH, and the HWPT it had, held for the way back */
struct iorp_vfio_switch_dev {
	struct iorp_device *idev;
	struct iorp_hwpt *old;
};

/*
 * The container's devices, each with its HWPT held; *n of them. ioas_lock
 * keeps them from being unbound (the reap waits for it) and new groups
 * out; groups can only leave meanwhile, so the count only shrinks.
 */
static struct iorp_vfio_switch_dev *
iorp_vfio_switch_devs(struct iorp_vfio_container *container, unsigned int *n)
{
	struct iorp_vfio_switch_dev *devs;
	struct iorp_vfio_group *vgroup;
	unsigned int count = 0, i;

	lockdep_assert_held(&container->ioas_lock);
	mutex_lock(&iorp_vfio_lock);
	list_for_each_entry(vgroup, &container->groups, node)
		count += vgroup->nr_idevs;
	mutex_unlock(&iorp_vfio_lock);
	devs = kcalloc(count, sizeof(*devs), GFP_KERNEL_ACCOUNT);
	if (!devs)
		return NULL;
	*n = 0;
	mutex_lock(&iorp_vfio_lock);
	list_for_each_entry(vgroup, &container->groups, node)
		for (i = 0; i < vgroup->nr_idevs && *n < count; i++)
			devs[(*n)++].idev = vgroup->idevs[i];
	mutex_unlock(&iorp_vfio_lock);
	for (i = 0; i < *n; i++)
		devs[i].old = iorp_device_hold_hwpt(devs[i].idev);
	return devs;
}

/*
 * The way back after a failed SWITCH: every device goes back to the HWPT it
 * had, which the hold kept filled, so nothing is pinned again. Devices the
 * SWITCH did not reach are there already (nothing to do); the failed
 * group's devices may have been left detached (device.c): they are
 * attached again. A device that cannot go back (a fatal signal, no memory,
 * the IOMMU driver refusing) is detached, so none is left on the new IOAS.
 */
static void iorp_vfio_switch_back(struct iorp_vfio_switch_dev *devs,
				  unsigned int n)
{
	unsigned int i = n;

	while (i--) {
		u32 pt_id;
		int err;

		if (!devs[i].old)
			continue;
		pt_id = devs[i].old->obj.id;
		err = iorp_device_set_pt(devs[i].idev, &pt_id);
		if (!err || err == -ENODEV)
			continue;
		iorp_device_detach(devs[i].idev);
		pr_warn_ratelimited("iommu-replace: type1 container: a device could not go back to its page table (error %d) and is detached\n",
				    err);
	}
}

/*
 * SWITCH: every device and the access to ioas_id, or none. A device that is
 * not attached (a group leaving meanwhile: gone, ENODEV) is not moved.
 */
static int iorp_vfio_ioas_switch(struct iorp_vfio_container *container,
				 u32 ioas_id)
{
	struct iorp_vfio_switch_dev *devs;
	unsigned int n, i;
	int ret;

	lockdep_assert_held(&container->ioas_lock);
	ret = iorp_vfio_ioas_check(container, ioas_id);
	if (ret)
		return ret;
	if (ioas_id != container->attached_id) {
		devs = iorp_vfio_switch_devs(container, &n);
		if (!devs)
			return -ENOMEM;
		for (i = 0; i < n && !ret; i++) {
			u32 pt_id = ioas_id;

			if (!devs[i].old)
				continue;
			/* a group's first device moves it, the others follow */
			ret = iorp_device_replace(devs[i].idev, &pt_id);
			if (ret == -ENODEV)
				ret = 0;
		}
		/* emulated devices last: told to unpin, they pin again after */
		if (!ret)
			ret = iorp_access_replace(container->access, ioas_id);
		if (ret)
			iorp_vfio_switch_back(devs, n);
		for (i = 0; i < n; i++)
			if (devs[i].old)
				iorp_device_put_hwpt(devs[i].old);
		kfree(devs);
	}
	if (!ret)
		iorp_vfio_ioas_set(container, ioas_id, ioas_id);
	return ret;
}

static int iorp_vfio_ioas_op(struct iorp_vfio_container *container,
			     struct iommu_replace_type1_ioas *cmd)
{
	u32 id = cmd->ioas_id;
	int ret;

	lockdep_assert_held(&container->ioas_lock);
	switch (cmd->op) {
	case IOMMU_REPLACE_TYPE1_IOAS_GET:
		return id ? -EINVAL : 0;
	case IOMMU_REPLACE_TYPE1_IOAS_SELECT:
		ret = iorp_vfio_ioas_check(container, id);
		if (!ret)
			iorp_vfio_ioas_set(container, container->attached_id,
					   id);
		return ret;
	case IOMMU_REPLACE_TYPE1_IOAS_SWITCH:
		return iorp_vfio_ioas_switch(container, id);
	case IOMMU_REPLACE_TYPE1_IOAS_DESTROY:
		ret = iorp_vfio_ioas_check(container, id);
		if (ret)
			return ret;
		if (id == container->attached_id ||
		    id == container->selected_id)
			return -EBUSY;
		return iorp_object_destroy_user(container->ctx, id,
						IORP_OBJ_IOAS);
	default:
		return -EOPNOTSUPP;
	}
}

/*
 * IOMMU_REPLACE_TYPE1_IOAS: type1's REPLACE extension. The answer is
 * written after ioas_lock is dropped; an IOAS ALLOC made is published only
 * once its answer reached the caller.
 */
static long iorp_vfio_ioas(struct iorp_vfio_container *container,
			   void __user *uarg)
{
	struct iommu_replace_type1_ioas cmd;
	struct iorp_ioas *ioas = NULL;
	u32 size;
	int ret;

	ret = iorp_vfio_type1_get(container);
	if (ret)
		return ret;
	if (get_user(size, (u32 __user *)uarg)) {
		ret = -EFAULT;
		goto out_put;
	}
	if (size < offsetofend(struct iommu_replace_type1_ioas, __reserved)) {
		ret = -EINVAL;
		goto out_put;
	}
	ret = copy_struct_from_user(&cmd, sizeof(cmd), uarg, size);
	if (ret)
		goto out_put;
	if (cmd.__reserved) {
		ret = -EOPNOTSUPP;
		goto out_put;
	}

	mutex_lock(&container->ioas_lock);
	if (cmd.op == IOMMU_REPLACE_TYPE1_IOAS_ALLOC) {
		ioas = cmd.ioas_id ? ERR_PTR(-EINVAL) :
				     iorp_ioas_create(container->ctx);
		ret = PTR_ERR_OR_ZERO(ioas);
		if (!ret)
			cmd.ioas_id = ioas->obj.id;
	} else {
		ret = iorp_vfio_ioas_op(container, &cmd);
	}
	cmd.out_attached_id = container->attached_id;
	cmd.out_selected_id = container->selected_id;
	mutex_unlock(&container->ioas_lock);
	if (ret)
		goto out_put;

	if (copy_to_user(uarg, &cmd, min_t(u32, size, sizeof(cmd))))
		ret = -EFAULT;
	if (ioas && ret)
		iorp_object_abort_and_destroy(container->ctx, &ioas->obj);
	else if (ioas)
		iorp_object_finalize(container->ctx, &ioas->obj);
out_put:
	iorp_vfio_container_put(container);
	return ret;
}

static long iorp_vfio_ioctl(void *data, unsigned int cmd, unsigned long arg)
{
	/* data is NULL when VFIO asks before any backend is set */
	if (cmd == VFIO_CHECK_EXTENSION)
		return iorp_vfio_check_extension(data, arg);
	if (!data)
		return -EINVAL;
	if (cmd == IOMMU_REPLACE_VFIO_LINK)
		return iorp_vfio_link(data, (void __user *)arg);
	if (cmd == IOMMU_REPLACE_TYPE1_IOAS)
		return iorp_vfio_ioas(data, (void __user *)arg);
	if (cmd == VFIO_IOMMU_GET_INFO || cmd == VFIO_IOMMU_MAP_DMA ||
	    cmd == VFIO_IOMMU_UNMAP_DMA)
		return iorp_vfio_type1_ioctl(data, cmd, arg);
	return -ENOTTY;
}

/* --- emulated devices: pins and copies through the container's access --- */

/* May a device of iommu_group pin? Only a listed one (it has dma_unmap). */
static bool iorp_vfio_emu_may_pin(struct iorp_vfio_container *container,
				  struct iommu_group *iommu_group)
{
	struct iorp_vfio_emu_dev *edev;
	bool listed = false;

	rcu_read_lock();
	list_for_each_entry_rcu(edev, &container->emu_devs, node) {
		if (edev->iommu_group == iommu_group) {
			listed = true;
			break;
		}
	}
	rcu_read_unlock();
	return listed;
}

/*
 * The IOVA of the page under user_iova, and of the page past npage pages
 * from there, or EINVAL (type1's errno for IOVA nothing can map).
 */
static int iorp_vfio_pin_range(dma_addr_t user_iova, int npage,
			       unsigned long *iova)
{
	u64 end;

	if (npage <= 0 || npage > VFIO_PIN_PAGES_MAX_ENTRIES)
		return -EINVAL;
	if (check_add_overflow(ALIGN_DOWN((u64)user_iova, PAGE_SIZE),
			       (u64)npage << PAGE_SHIFT, &end) ||
	    end - 1 > ULONG_MAX)
		return -EINVAL;
	*iova = ALIGN_DOWN(user_iova, PAGE_SIZE);
	return 0;
}

/*
 * vfio_pin_pages(): the npage pages from the one holding user_iova, each
 * pinned on its own, so a driver may unpin them one by one (type1's
 * granularity); all or none, and a SWITCH comes before or after them all
 * (as type1's unmaps do). Return, as type1's: npage; EINVAL for a device
 * that may not pin or IOVA not mapped; EPERM for a pin a mapping does not allow
 * (any prot but IOMMU_READ and IOMMU_WRITE, and those the mapping lacks);
 * ENODEV for memory not pinned whose process has exited (memory pinned,
 * as a device's domain holds it, is pinned again where type1 says ENODEV);
 * EACCES on a VFIO_TYPE1_IOMMU container (type1 pins for v2 only).
 */
static int iorp_vfio_pin_pages(void *data, struct iommu_group *iommu_group,
			       dma_addr_t user_iova, int npage, int prot,
			       struct page **pages)
{
	struct iorp_vfio_container *container = data;
	unsigned long iova;
	int ret;

	if (!container->type1 || !pages)
		return -EINVAL;
	if (!container->v2)
		return -EACCES;
	ret = iorp_vfio_pin_range(user_iova, npage, &iova);
	if (ret)
		return ret;
	if (!iorp_vfio_emu_may_pin(container, iommu_group))
		return -EINVAL;
	ret = iorp_access_pin_each_page(container->access, iova, npage, pages,
					prot);
	if (!ret)
		return npage;
	if (ret == -ENOENT)
		return -EINVAL;
	return ret == -ESRCH ? -ENODEV : ret;
}

static_assert(VFIO_PIN_PAGES_MAX_ENTRIES <= IORP_ACCESS_PIN_EACH_MAX);

/* vfio_unpin_pages(): VFIO checked 0 < npage <= VFIO_PIN_PAGES_MAX_ENTRIES */
static void iorp_vfio_unpin_pages(void *data, dma_addr_t user_iova, int npage)
{
	struct iorp_vfio_container *container = data;
	unsigned long iova;
	int i;

	/* only pins made by iorp_vfio_pin_pages() come back here */
	if (!container->type1 || iorp_vfio_pin_range(user_iova, npage, &iova))
		return;
	for (i = 0; i < npage; i++)
		iorp_access_unpin_pages(container->access,
					iova + i * PAGE_SIZE, PAGE_SIZE);
}

/*
 * vfio_dma_rw(): a copy by the CPU at IOVA of the attached IOAS; nothing
 * stays pinned. As type1: EINVAL for IOVA not mapped; EPERM for a mapping
 * that is not readable, a write to one that is not writable, and memory
 * not pinned whose process has exited. (Pinned memory is copied after its
 * process has exited, where type1 says EPERM: it copies through the
 * process's address space.)
 */
static int iorp_vfio_dma_rw(void *data, dma_addr_t user_iova, void *buf,
			    size_t count, bool write)
{
	struct iorp_vfio_container *container = data;
	int ret;

	if (!container->type1 || user_iova > ULONG_MAX)
		return -EINVAL;
	ret = iorp_access_rw(container->access, user_iova, buf, count,
			     IOMMU_READ | (write ? IOMMU_WRITE : 0));
	if (ret == -ENOENT || ret == -EOVERFLOW)
		return -EINVAL;
	return ret == -ESRCH ? -EPERM : ret;
}

/*
 * VFIO opened a device of one of the container's groups (its first open,
 * under VFIO's locks). One with a dma_unmap callback is listed: it may pin,
 * and unmaps are told to it. A device without one is not: its pins are
 * refused, since nothing could ask for them back.
 */
static void iorp_vfio_register_device(void *data, struct vfio_device *vdev)
{
	struct iorp_vfio_container *container = data;
	struct iorp_vfio_emu_dev *edev;
	struct iommu_group *iommu_group;

	if (!vdev->ops->dma_unmap)
		return;
	iommu_group = iommu_group_get(vdev->dev);
	if (!iommu_group)
		return;
	/* VFIO holds the group while the device is open */
	iommu_group_put(iommu_group);
	edev = kzalloc(sizeof(*edev), GFP_KERNEL_ACCOUNT);
	if (!edev) {
		pr_warn_ratelimited("iommu-replace: no memory to list %s: its pins will be refused\n",
				    dev_name(vdev->dev));
		return;
	}
	edev->vdev = vdev;
	edev->iommu_group = iommu_group;
	mutex_lock(&container->emu_lock);
	list_add_tail_rcu(&edev->node, &container->emu_devs);
	mutex_unlock(&container->emu_lock);
}

/* VFIO closed the device (its driver dropped its pins in close_device) */
static void iorp_vfio_unregister_device(void *data, struct vfio_device *vdev)
{
	struct iorp_vfio_container *container = data;
	struct iorp_vfio_emu_dev *edev, *found = NULL;

	mutex_lock(&container->emu_lock);
	list_for_each_entry(edev, &container->emu_devs, node) {
		if (edev->vdev == vdev) {
			found = edev;
			list_del_rcu(&found->node);
			break;
		}
	}
	mutex_unlock(&container->emu_lock);
	if (found)
		kfree_rcu(found, rcu);
}

/*
 * Type1: unbind the devices of a group that left its container. The file
 * holds this module; its last fput() here is deferred (a kworker's), and
 * module exit drains iorp_vfio_wq first anyway.
 */
static void iorp_vfio_type1_reap(struct work_struct *work)
{
	struct iorp_vfio_group *vgroup = container_of(work,
						      struct iorp_vfio_group,
						      reap_work);
	struct iorp_vfio_container *container = vgroup->container;

	/* not under a SWITCH that may still hold the devices */
	mutex_lock(&container->ioas_lock);
	iorp_pci_unbind_group(vgroup->idevs, vgroup->nr_idevs);
	mutex_unlock(&container->ioas_lock);
	iorp_vfio_container_put(container);
	kfree(vgroup);
}

/* Type1: a group left (or failed to join): its devices go in a work item */
static void iorp_vfio_type1_queue_reap(struct iorp_vfio_container *container,
				       struct iorp_vfio_group *vgroup)
{
	kref_get(&container->kref);
	vgroup->container = container;
	INIT_WORK(&vgroup->reap_work, iorp_vfio_type1_reap);
	queue_work(iorp_vfio_wq, &vgroup->reap_work);
}

/*
 * Type1: bind the group's devices to the container's context and attach
 * them to its IOAS, which fills a page table for the group from every
 * mapping the container has. VFIO's locks are held: the group's lock may
 * wait on a pin, but only of a MAP_DMA of this container; the attach's
 * switch may wait (killable) for a device of the group being removed
 * (domain_switch.c), whose removal past its DEL_DEVICE needs none of
 * VFIO's locks: a vfio-pci device leaves VFIO in its driver's remove,
 * before that, unless root bound vfio-pci to it again in between (then a
 * fatal signal ends the wait). A failed attach is undone without a wait.
 *
 * A refusal at VFIO_SET_IOMMU makes VFIO offer the container to the next
 * backend, vfio_iommu_type1 if loaded: said in the kernel log.
 */
static int iorp_vfio_type1_attach(struct iorp_vfio_container *container,
				  struct iorp_vfio_group *vgroup)
{
	int id = iommu_group_id(vgroup->iommu_group);
	unsigned int i;
	int ret;

	vgroup->idevs = iorp_pci_bind_group(container->ctx,
					    vgroup->iommu_group,
					    vgroup->coherent,
					    &vgroup->nr_idevs);
	if (IS_ERR(vgroup->idevs)) {
		ret = PTR_ERR(vgroup->idevs);
		kfree(vgroup);
		goto out_refused;
	}
	for (i = 0; i < vgroup->nr_idevs; i++) {
		u32 pt_id = container->attached_id;

		ret = iorp_device_attach(vgroup->idevs[i], &pt_id);
		if (ret) {
			/*
			 * Undone as when the group leaves: blocked now, with
			 * no wait for a device being removed (under VFIO's
			 * locks), and unbound by the reap work, which owns
			 * @vgroup from here.
			 */
			iorp_pci_vfio_group_left(container->ctx,
						 vgroup->iommu_group);
			iorp_vfio_type1_queue_reap(container, vgroup);
			goto out_refused;
		}
	}
	return 0;

out_refused:
	pr_info_ratelimited("iommu-replace: type1 container: iommu group %d refused (error %d)\n",
			    id, ret);
	return ret;
}

static int iorp_vfio_attach_group(void *data, struct iommu_group *iommu_group,
				  enum iorp_vfio_group_type type)
{
	struct iorp_vfio_container *container = data;
	struct iorp_vfio_group *vgroup;
	int ret;

	/*
	 * Emulated (mdev-style) groups pin through a type1 container's
	 * access; no-IOMMU groups have no translation to own.
	 */
	if (type == IORP_VFIO_EMULATED_IOMMU ? !container->type1 :
					       type != IORP_VFIO_IOMMU)
		return -EOPNOTSUPP;

	vgroup = kzalloc(sizeof(*vgroup), GFP_KERNEL_ACCOUNT);
	if (!vgroup)
		return -ENOMEM;
	vgroup->iommu_group = iommu_group;
	vgroup->emulated = type == IORP_VFIO_EMULATED_IOMMU;
	vgroup->coherent = vgroup->emulated ||
			   iorp_pci_group_coherent(iommu_group);
	if (container->type1 && !vgroup->emulated) {
		/* a SWITCH sees the group with all its devices, or not at all */
		mutex_lock(&container->ioas_lock);
		/* on failure, @vgroup is freed or the reap work's */
		ret = iorp_vfio_type1_attach(container, vgroup);
		if (ret) {
			mutex_unlock(&container->ioas_lock);
			return ret;
		}
	}

	mutex_lock(&iorp_vfio_lock);
	list_add_tail(&vgroup->node, &container->groups);
	mutex_unlock(&iorp_vfio_lock);
	if (container->type1 && !vgroup->emulated)
		mutex_unlock(&container->ioas_lock);
	return 0;
}

static void iorp_vfio_detach_group(void *data, struct iommu_group *iommu_group)
{
	struct iorp_vfio_container *container = data;
	struct iorp_vfio_group *vgroup, *found = NULL;
	struct iorp_ctx *ctx;

	/* unlinked first: a bind from now on does not borrow the group */
	mutex_lock(&iorp_vfio_lock);
	list_for_each_entry(vgroup, &container->groups, node) {
		if (vgroup->iommu_group == iommu_group) {
			found = vgroup;
			list_del(&found->node);
			break;
		}
	}
	ctx = container->ctx;	/* lives while the container holds its file */
	mutex_unlock(&iorp_vfio_lock);
	WARN_ON_ONCE(!found);
	/* then off our page tables, before VFIO gives up the ownership */
	if (ctx && !(found && found->emulated))
		iorp_pci_vfio_group_left(ctx, iommu_group);
	if (found && found->idevs) {
		/* their objects go later, outside VFIO's locks */
		iorp_vfio_type1_queue_reap(container, found);
		return;
	}
	kfree(found);
}

static const struct iorp_vfio_iommu_driver_ops iorp_vfio_ops = {
	.name		= "iommu-replace",
	.owner		= THIS_MODULE,
	.open		= iorp_vfio_open,
	.release	= iorp_vfio_release,
	.ioctl		= iorp_vfio_ioctl,
	.attach_group	= iorp_vfio_attach_group,
	.detach_group	= iorp_vfio_detach_group,
	.pin_pages	= iorp_vfio_pin_pages,
	.unpin_pages	= iorp_vfio_unpin_pages,
	.register_device = iorp_vfio_register_device,
	.unregister_device = iorp_vfio_unregister_device,
	.dma_rw		= iorp_vfio_dma_rw,
};

/**
 * iorp_vfio_init() - register the VFIO IOMMU backend
 *
 * A failure is logged and leaves the module working without the backend.
 */
void iorp_vfio_init(void)
{
	int ret;

	iorp_vfio_wq = alloc_workqueue("iommu_replace_vfio", 0, 0);
	if (!iorp_vfio_wq) {
		pr_warn("iommu-replace: VFIO IOMMU backend not registered (no workqueue)\n");
		return;
	}
	/*
	 * VFIO_SET_IOMMU asks the backends last registered first: with
	 * vfio_iommu_type1 registered before this one, type1 containers are
	 * ours (until somebody loads vfio_iommu_type1 anew).
	 */
	if (vfio_type1) {
		ret = request_module("vfio_iommu_type1");
		if (ret)
			pr_info("iommu-replace: modprobe vfio_iommu_type1 failed (%d): should it be loaded after this module, type1 containers are its\n",
				ret);
	}
	ret = vfio_register_iommu_driver(&iorp_vfio_ops);
	if (ret) {
		pr_warn("iommu-replace: VFIO IOMMU backend not registered (error %d)\n",
			ret);
		destroy_workqueue(iorp_vfio_wq);
		return;
	}
	vfio_backend = true;
	pr_info("iommu-replace: VFIO IOMMU backend registered, type %#x%s (%s)\n",
		IOMMU_REPLACE_VFIO_TYPE,
		vfio_type1 ? " and type1" : "", IORP_VFIO_BACKEND_STATUS);
}

/**
 * iorp_vfio_exit() - unregister the VFIO IOMMU backend
 *
 * No container uses it by now: each holds a reference on this module.
 */
void iorp_vfio_exit(void)
{
	if (!vfio_backend)
		return;
	vfio_unregister_iommu_driver(&iorp_vfio_ops);
	destroy_workqueue(iorp_vfio_wq);	/* the last reaps finish */
	vfio_backend = false;
}

#else /* !IORP_VFIO_OPS_LAYOUT */

bool iorp_vfio_group_linked(struct iorp_ctx *ctx,
			    struct iommu_group *iommu_group, bool *coherent)
{
	return false;
}

void iorp_vfio_init(void)
{
	pr_info("iommu-replace: no VFIO IOMMU backend in this build%s: %s\n",
		vfio_type1 ? " (vfio_type1 has no effect)" : "",
		IORP_VFIO_BACKEND_STATUS);
}

void iorp_vfio_exit(void)
{
}

#endif /* IORP_VFIO_OPS_LAYOUT */

MODULE_INFO(vfio_backend, IORP_VFIO_BACKEND_STATUS);
