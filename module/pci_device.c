// SPDX-License-Identifier: GPL-2.0-only
/*
 * pci_device.c - PCI devices behind a real IOMMU: IOMMU_REPLACE_DEVICE_BIND
 * and the device kind device.c drives them through.
 *
 * Binding proves the caller may own the device's DMA (a VFIO group fd of
 * the device's group, or CAP_SYS_ADMIN for a device bound to vfio-pci or
 * pci-stub), checks what iommufd checks (MSIs isolated by interrupt
 * remapping unless allow_unsafe_interrupts, DMA cache coherent), and makes
 * the file own the whole iommu group. A group that sits in a VFIO container
 * of our backend linked to the file (vfio_backend.c) is VFIO's already:
 * the file borrows it instead (iorp_replace_borrow()), holds no VFIO file,
 * and gives it back when VFIO detaches it from the container
 * (iorp_pci_vfio_group_left(): the hardware is blocked at once, its
 * devices can no longer attach, and are detached moments later).
 *
 * Each file keeps one struct iorp_owned_group per iommu group it owns, in
 * ctx->groups by group ID: the attachment state of device.c (agroup), and
 * the claimed group of domain_switch.c (linux/iommu_replace.h) that moves
 * the group's hardware. It lives while a device of the group is bound;
 * when the last one goes, the hardware goes back to the blocking domain
 * and only then is the group's DMA ownership released.
 *
 * The record also holds the group's software-MSI window (IOMMUs that map
 * MSI doorbells through the page table, as Arm SMMUs do; none on x86): every
 * domain the group switches to gets the MSI cookie for it, as with iommufd.
 * On kernels whose domains learn their IOMMU only when first attached
 * (6.1), it also holds what the IOMMU is: learned at the claim, it gives
 * every later domain the right aperture and coherency (iorp_pci_learn()).
 *
 * Hot-unplug (a bus notifier) does only what cannot wait. At
 * BUS_NOTIFY_DEL_DEVICE the device is marked gone, so nothing touches its
 * IOMMU state again; switches of its group wait until the core has let it
 * go; and when the last device of an owned group goes, the group's DMA
 * ownership is given up, as the iommu core requires. At
 * BUS_NOTIFY_REMOVED_DEVICE the core has released the device (its IOMMU
 * driver has stopped its DMA and let go of our domain): then a work item
 * detaches it and frees what its HWPT held, outside the notifier and every
 * global lock. A user whose pin stalls cannot hold up hot-unplug, or
 * anybody else.
 *
 * Locking (order: locking.h): device_lock of the device being bound keeps
 * its driver; iorp_pci_lock guards the bound list and the records'
 * @emptied; ctx->groups_lock guards ctx->groups and the records' @refs;
 * pci->iommu_lock is read around every use of the device's IOMMU state and
 * written by the notifier to mark the device gone. iorp_pci_lock (and the
 * device lock) are never held while waiting for something a user can
 * stall: no agroup->lock under them (iorp_device_link() comes after).
 */
#include <linux/capability.h>
#include <linux/device.h>
#include <linux/file.h>
#include <linux/iommu.h>
#include <linux/iommu_replace.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/pci.h>
#include <linux/rwsem.h>
#include <linux/slab.h>
#include <linux/vfio.h>
#include <linux/vfio_pci_core.h>
#include <linux/workqueue.h>

#include <uapi/linux/iommu_replace.h>
#include <iommu_replace/compat.h>
#include <iommu_replace/device.h>
#include <iommu_replace/fault.h>

static bool allow_unsafe_interrupts;
module_param(allow_unsafe_interrupts, bool, 0644);
MODULE_PARM_DESC(allow_unsafe_interrupts,
		 "bind devices whose MSIs the IOMMU does not isolate (unsafe: the device can then interrupt at will)");

/**
 * struct iorp_owned_group - an iommu group a file owns
 * @agroup: the attachment state device.c keeps (agroup.priv points here)
 * @ctx: the file's context
 * @node: in iorp_pci_owned, until the record is freed (iorp_pci_lock)
 * @refs: bound devices of the group (ctx->groups_lock)
 * @id: the iommu group's ID, its key in ctx->groups
 * @iommu_group: the group (holds a reference)
 * @rg: the claimed group that switches the hardware
 * @emptied: the group lost its last device, or left its VFIO container:
 *           ownership given up, and the record left ctx->groups
 *           (iorp_pci_lock)
 * @borrowed: VFIO owns the group's DMA (a group in a container of ours)
 * @sw_msi_start: the software-MSI window's IOVA, PHYS_ADDR_MAX for none
 * @aperture_end: 6.1: the last IOVA the IOMMU translates, learned at claim
 * @coherent: 6.1: the IOMMU forces snooping (learned at claim)
 * @learned: 6.1: the two above are known; if the claim could not learn
 *           them, the next domain introduced while the group is detached
 *           does (agroup.lock from then on)
 */
struct iorp_owned_group {
	struct iorp_attach_group agroup;
	struct iorp_ctx *ctx;
	struct list_head node;
	unsigned int refs;
	unsigned int id;
	struct iommu_group *iommu_group;
	struct iommu_replace_group *rg;
	bool emptied;
	bool borrowed;
	phys_addr_t sw_msi_start;
	dma_addr_t aperture_end;
	bool coherent;
	bool learned;
};

/**
 * struct iorp_pci_dev - a bound PCI device (iorp_device.priv)
 * @pdev: the device (holds a reference)
 * @proof: the VFIO group file given as proof of access, held, or NULL
 * @idev: its device object
 * @node: in iorp_pci_bound
 * @iommu_lock: read around every use of the device's IOMMU state
 * @gone: removed: its IOMMU state may be freed (@iommu_lock)
 * @gone_work: detaches the device after its removal
 */
struct iorp_pci_dev {
	struct pci_dev *pdev;
	struct file *proof;
	struct iorp_device *idev;
	struct list_head node;
	struct rw_semaphore iommu_lock;	/* @gone, the device's IOMMU state */
	bool gone;
	struct work_struct gone_work;
};

/*
 * Under iorp_pci_lock: the bound devices, the owned groups (the notifier
 * finds a group through them even while its last device is being
 * unbound), and the device being removed between its DEL_DEVICE and
 * REMOVED_DEVICE (PCI removals are serialised), so a group claimed in
 * between knows it too.
 */
static LIST_HEAD(iorp_pci_bound);
static LIST_HEAD(iorp_pci_owned);
static DEFINE_MUTEX(iorp_pci_lock);
static struct device *iorp_pci_leaving_dev;
static struct iommu_group *iorp_pci_leaving_group;

static struct iorp_owned_group *to_owned_group(struct iorp_attach_group *agroup)
{
	return container_of(agroup, struct iorp_owned_group, agroup);
}

static int iorp_pci_dev_coherent(struct device *dev, void *data)
{
	bool *coherent = data;

	if (!iorp_can_enforce_cache_coherency(dev))
		*coherent = false;
	return 0;
}

static int iorp_pci_first_dev(struct device *dev, void *data)
{
	*(struct device **)data = get_device(dev);
	return 1;	/* stop at the first */
}

/*
 * Take the device's IOMMU state for a moment: false (and nothing taken) if
 * the device is gone. Release with up_read(&pci->iommu_lock).
 */
static bool iorp_pci_iommu_get(struct iorp_pci_dev *pci)
{
	down_read(&pci->iommu_lock);
	if (!pci->gone)
		return true;
	up_read(&pci->iommu_lock);
	return false;
}

/* Where the IOMMU expects MSI doorbells mapped, or PHYS_ADDR_MAX. */
static phys_addr_t iorp_pci_sw_msi(struct iommu_group *iommu_group)
{
	struct iommu_resv_region *region, *next;
	phys_addr_t start = PHYS_ADDR_MAX;
	LIST_HEAD(regions);

	iommu_get_group_resv_regions(iommu_group, &regions);
	list_for_each_entry_safe(region, next, &regions, list) {
		if (region->type == IOMMU_RESV_SW_MSI)
			start = region->start;
		kfree(region);
	}
	return start;
}

/*
 * On kernels whose domains meet their IOMMU only at their first attach:
 * let a throwaway domain meet it (the group is blocked, just claimed) and
 * keep what it learned. Without that, a domain filled before its first
 * attach reports a 57-bit aperture, and enforcing coherency on it
 * succeeds whatever the IOMMU can do.
 */
static void iorp_pci_learn(struct iorp_owned_group *owned, struct device *dev)
{
	struct iommu_domain *domain;

	owned->aperture_end = DMA_BIT_MASK(64);
	if (IORP_DOMAINS_KNOW_THEIR_IOMMU)
		return;
	domain = iorp_paging_domain_alloc(dev);
	if (IS_ERR(domain))
		return;
	if (!iorp_replace_introduce(owned->rg, domain, &owned->coherent)) {
		owned->aperture_end = domain->geometry.aperture_end;
		owned->learned = true;
	}
	iommu_domain_free(domain);
}

/*
 * The file's record of an iommu group, made if new: the group claimed, or
 * borrowed from VFIO when it sits in a container of ours linked to @ctx
 * (whose VFIO_DMA_CC_IOMMU said @coherent).
 */
static struct iorp_owned_group *iorp_owned_group_get(struct iorp_ctx *ctx,
						     struct iommu_group *iommu_group,
						     struct device *dev,
						     bool borrowed, bool coherent)
{
	unsigned int id = iommu_group_id(iommu_group);
	struct iorp_owned_group *owned;
	int ret;

	lockdep_assert_held(&iorp_pci_lock);
	mutex_lock(&ctx->groups_lock);
	owned = xa_load(&ctx->groups, id);
	if (owned && owned->borrowed != borrowed) {
		owned = ERR_PTR(-EBUSY);	/* cannot be: VFIO or we own it */
		goto out_unlock;
	}
	if (owned) {
		owned->refs++;
		goto out_unlock;
	}
	owned = kzalloc(sizeof(*owned), GFP_KERNEL_ACCOUNT);
	if (!owned) {
		owned = ERR_PTR(-ENOMEM);
		goto out_unlock;
	}
	owned->borrowed = borrowed;
	if (borrowed)
		owned->rg = iorp_replace_borrow(iommu_group);
	else
		owned->rg = iommu_replace_claim(iommu_group, ctx);
	if (IS_ERR(owned->rg)) {
		ret = PTR_ERR(owned->rg);
		goto err_free;
	}
	ret = xa_err(xa_store(&ctx->groups, id, owned, GFP_KERNEL_ACCOUNT));
	if (ret)
		goto err_release;
	iorp_attach_group_init(&owned->agroup, owned);
	/* what VFIO_DMA_CC_IOMMU told KVM holds for every page table */
	owned->agroup.need_coherent = coherent;
	owned->ctx = ctx;
	owned->id = id;
	owned->iommu_group = iommu_group_ref_get(iommu_group);
	owned->sw_msi_start = iorp_pci_sw_msi(iommu_group);
	owned->refs = 1;
	list_add_tail(&owned->node, &iorp_pci_owned);
	if (iorp_pci_leaving_group == iommu_group)
		iorp_replace_leaving(owned->rg, iorp_pci_leaving_dev);
	iorp_pci_learn(owned, dev);
	goto out_unlock;

err_release:
	iommu_replace_release(owned->rg);
err_free:
	kfree(owned);
	owned = ERR_PTR(ret);
out_unlock:
	mutex_unlock(&ctx->groups_lock);
	return owned;
}

/* Drop a bound device's hold; the last one gives the group back. */
static void iorp_owned_group_put(struct iorp_owned_group *owned)
{
	struct iorp_ctx *ctx = owned->ctx;

	lockdep_assert_held(&iorp_pci_lock);
	mutex_lock(&ctx->groups_lock);
	if (--owned->refs) {
		mutex_unlock(&ctx->groups_lock);
		return;
	}
	/* a record whose group emptied left ctx->groups then */
	if (!owned->emptied)
		xa_erase(&ctx->groups, owned->id);
	mutex_unlock(&ctx->groups_lock);
	list_del(&owned->node);
	WARN_ON(owned->agroup.hwpt || !list_empty(&owned->agroup.devices));
	iommu_replace_release(owned->rg);
	iommu_group_put(owned->iommu_group);
	mutex_destroy(&owned->agroup.lock);
	kfree(owned);
}

/*
 * A paging domain for the device's IOMMU. Where the driver can make one
 * for the device (iommufd's way), it knows its IOMMU from the start. Else
 * (6.1) it is introduced to the IOMMU now if the group is blocked, which
 * gives it the real aperture and the IOMMU's superpages; otherwise it gets
 * the aperture learned at claim, and 4 KiB IO pages for what it maps
 * before its first attach.
 */
static struct iommu_domain *iorp_pci_domain_alloc(struct iorp_device *idev,
						  u32 flags, bool *coherent)
{
	struct iorp_owned_group *owned = to_owned_group(idev->agroup);
	struct iorp_pci_dev *pci = idev->priv;
	struct device *dev = &pci->pdev->dev;
	struct iommu_domain *domain;

	lockdep_assert_held(&idev->agroup->lock);
	if (iorp_should_fail(IORP_FAULT_DOMAIN_ALLOC))
		return ERR_PTR(-ENOMEM);
	if (!iorp_pci_iommu_get(pci))
		return ERR_PTR(-ENODEV);
	domain = iorp_device_domain_alloc(dev);
	if (IS_ERR(domain))
		goto out_put;
	*coherent = false;
	if (IORP_DOMAINS_KNOW_THEIR_IOMMU) {
		/* no snooping bypass where the IOMMU can prevent it */
		if (iorp_can_enforce_cache_coherency(dev) &&
		    domain->ops->enforce_cache_coherency) {
			*coherent = domain->ops->enforce_cache_coherency(domain);
			if (!*coherent) {
				iommu_domain_free(domain);
				domain = ERR_PTR(-EINVAL);
			}
		}
		goto out_put;
	}
	if (!idev->agroup->hwpt &&
	    !iorp_replace_introduce(owned->rg, domain, coherent)) {
		if (!owned->learned) {
			/* the claim could not learn it (busy, or no memory) */
			owned->aperture_end = domain->geometry.aperture_end;
			owned->coherent = *coherent;
			owned->learned = true;
		}
		goto out_put;
	}
	/*
	 * The aperture the driver itself sets at the first attach; snooping
	 * forced before anything is mapped, where the IOMMU can do it.
	 */
	domain->geometry.aperture_end = min(domain->geometry.aperture_end,
					    owned->aperture_end);
	if (owned->coherent && domain->ops->enforce_cache_coherency)
		*coherent = domain->ops->enforce_cache_coherency(domain);
out_put:
	up_read(&pci->iommu_lock);
	return domain;
}

static int iorp_pci_domain_compatible(struct iorp_device *idev,
				      struct iommu_domain *domain)
{
	struct iorp_pci_dev *pci = idev->priv;
	int ret;

	if (!iorp_pci_iommu_get(pci))
		return -ENODEV;
	ret = iorp_domain_is_for(domain, &pci->pdev->dev) ? 0 : -EINVAL;
	up_read(&pci->iommu_lock);
	return ret;
}

static int iorp_pci_group_switch(struct iorp_attach_group *agroup,
				 struct iommu_domain *old,
				 struct iommu_domain *new)
{
	struct iorp_owned_group *owned = to_owned_group(agroup);
	int ret;

	lockdep_assert_held(&agroup->lock);
	if (new && owned->sw_msi_start != PHYS_ADDR_MAX) {
		/* once per domain: a domain has the cookie already */
		ret = iommu_get_msi_cookie(new, owned->sw_msi_start);
		if (ret && ret != -EEXIST)
			return ret;
	}
	return iommu_replace_switch(owned->rg, new);
}

static struct iommu_domain *iorp_pci_group_domain(struct iorp_attach_group *agroup)
{
	return iommu_replace_domain(to_owned_group(agroup)->rg);
}

/* The IOVA the group's IOMMU must never see mapped. */
static int iorp_pci_reserved(struct iorp_device *idev, struct list_head *list)
{
	struct iorp_owned_group *owned = to_owned_group(idev->agroup);
	struct iommu_resv_region *region, *next;
	LIST_HEAD(regions);
	int ret = 0;

	if (iorp_should_fail(IORP_FAULT_RESV))
		return -ENOMEM;
	ret = iommu_get_group_resv_regions(owned->iommu_group, &regions);
	list_for_each_entry_safe(region, next, &regions, list) {
		struct iorp_resv *resv;

		/* what the kernel may map for its own use but need not */
		if (!ret && region->type != IOMMU_RESV_DIRECT_RELAXABLE) {
			resv = kzalloc(sizeof(*resv), GFP_KERNEL);
			if (resv) {
				resv->start = region->start;
				resv->last = region->start + region->length - 1;
				list_add_tail(&resv->node, list);
			} else {
				ret = -ENOMEM;
			}
		}
		kfree(region);
	}
	return ret;
}

static void iorp_pci_hw_info(struct iorp_device *idev,
			     struct iorp_hw_info *info)
{
	struct iorp_pci_dev *pci = idev->priv;

	info->type = IOMMU_HW_INFO_TYPE_NONE;
	if (!iorp_pci_iommu_get(pci))
		return;
	iorp_iommu_hw_info(&pci->pdev->dev, &info->type, info->data,
			   sizeof(info->data), &info->len);
	up_read(&pci->iommu_lock);
}

static void iorp_pci_unbind(struct iorp_device *idev)
{
	struct iorp_pci_dev *pci = idev->priv;

	mutex_lock(&iorp_pci_lock);
	list_del(&pci->node);
	mutex_unlock(&iorp_pci_lock);
	/* off the list, so no new work: wait for one under way */
	cancel_work_sync(&pci->gone_work);
	mutex_lock(&iorp_pci_lock);
	iorp_owned_group_put(to_owned_group(idev->agroup));
	mutex_unlock(&iorp_pci_lock);
	if (pci->proof)
		fput(pci->proof);
	pci_dev_put(pci->pdev);
	kfree(pci);
}

static const struct iorp_device_ops iorp_pci_device_ops = {
	.domain_alloc = iorp_pci_domain_alloc,
	.domain_free = iommu_domain_free,
	.domain_compatible = iorp_pci_domain_compatible,
	.group_switch = iorp_pci_group_switch,
	.group_domain = iorp_pci_group_domain,
	.reserved = iorp_pci_reserved,
	.hw_info = iorp_pci_hw_info,
	.unbind = iorp_pci_unbind,
};

/* Is the device's driver one that leaves its DMA to whoever owns it? */
static bool iorp_pci_driver_is(struct pci_dev *pdev, const char *name)
{
	device_lock_assert(&pdev->dev);
	return pdev->dev.driver && !strcmp(pdev->dev.driver->name, name);
}

/*
 * A VFIO group file proves access if the caller could open /dev/vfio/N of
 * the device's group: VFIO must know the file as a group holding the
 * device. VFIO is looked up at run time, so a build without the VFIO
 * backend (which links to vfio) does not need it.
 */
#ifdef HAVE_VFIO_GROUP_FILE
static int iorp_pci_vfio_proof(struct pci_dev *pdev, struct file *file)
{
	bool (*is_group)(struct file *file) = symbol_get(vfio_file_is_group);
	bool (*has_dev)(struct file *file, struct vfio_device *vdev) =
		symbol_get(vfio_file_has_dev);
	int ret = -EBADF;

	if (!is_group || !has_dev)
		goto out_put;
	if (!is_group(file))
		goto out_put;
	ret = -EINVAL;
	/* vfio-pci's driver data is its device, which starts with vfio's */
	if (iorp_pci_driver_is(pdev, "vfio-pci")) {
		struct vfio_pci_core_device *vdev = dev_get_drvdata(&pdev->dev);

		if (vdev && has_dev(file, &vdev->vdev))
			ret = 0;
	}
out_put:
	if (has_dev)
		symbol_put(vfio_file_has_dev);
	if (is_group)
		symbol_put(vfio_file_is_group);
	return ret;
}
#else
static int iorp_pci_vfio_proof(struct pci_dev *pdev, struct file *file)
{
	return -EBADF;	/* this kernel's VFIO cannot vouch for a group */
}
#endif

/* With the device locked: may the caller own the device's DMA? */
static int iorp_pci_check_access(struct pci_dev *pdev,
				 struct iommu_replace_device_bind *cmd,
				 struct file **proof)
{
	int ret;

	device_lock_assert(&pdev->dev);
	*proof = NULL;
	if (!(cmd->flags & IOMMU_REPLACE_BIND_VFIO_GROUP)) {
		if (!capable(CAP_SYS_ADMIN))
			return -EPERM;
		return iorp_pci_driver_is(pdev, "vfio-pci") ||
		       iorp_pci_driver_is(pdev, "pci-stub") ? 0 : -EBUSY;
	}
	*proof = fget(cmd->vfio_group_fd);
	if (!*proof)
		return -EBADF;
	ret = iorp_pci_vfio_proof(pdev, *proof);
	if (ret) {
		fput(*proof);
		*proof = NULL;
	}
	return ret;
}

static bool iorp_pci_bound_to(struct pci_dev *pdev, struct iorp_ctx *ctx)
{
	struct iorp_pci_dev *pci;

	lockdep_assert_held(&iorp_pci_lock);
	list_for_each_entry(pci, &iorp_pci_bound, node)
		if (pci->pdev == pdev && pci->idev->ctx == ctx && !pci->gone)
			return true;
	return false;
}

/* After its removal: detach the device, outside the notifier. */
static void iorp_pci_gone_work(struct work_struct *work)
{
	struct iorp_pci_dev *pci = container_of(work, struct iorp_pci_dev,
						gone_work);

	iorp_device_detach(pci->idev);
}

/* What a bind checks of a device's IOMMU (iorp_pci_collect_dev(): the same). */
static int iorp_pci_check_iommu(struct pci_dev *pdev,
				struct iommu_group *iommu_group)
{
	if (!device_iommu_capable(&pdev->dev, IOMMU_CAP_CACHE_COHERENCY))
		return -EINVAL;
	if (!iorp_group_has_isolated_msi(iommu_group, &pdev->dev)) {
		if (!allow_unsafe_interrupts)
			return -EPERM;
		dev_warn(&pdev->dev,
			 "iommu_replace: MSIs not isolated; bound because allow_unsafe_interrupts is set\n");
	}
	return 0;
}

/*
 * Record a checked device as bound to the file (the device object is
 * created, not yet linked nor published). A device between DEL_DEVICE and
 * REMOVED_DEVICE is still registered, and root may even have given it a
 * driver again: it is leaving all the same (ENODEV). A device bound to the
 * file before and gone since (unplugged, or its group taken back by VFIO)
 * does not stand in the way: its object only waits to be destroyed.
 */
static struct iorp_device *iorp_pci_add(struct iorp_ctx *ctx,
					struct iorp_pci_dev *pci,
					struct iommu_group *iommu_group,
					bool borrowed, bool coherent)
{
	struct iorp_owned_group *owned;
	struct iorp_device *idev;

	lockdep_assert_held(&iorp_pci_lock);
	if (iorp_pci_leaving_dev == &pci->pdev->dev)
		return ERR_PTR(-ENODEV);
	if (iorp_pci_bound_to(pci->pdev, ctx))
		return ERR_PTR(-EBUSY);
	owned = iorp_owned_group_get(ctx, iommu_group, &pci->pdev->dev,
				     borrowed, coherent);
	if (IS_ERR(owned))
		return ERR_CAST(owned);
	idev = iorp_device_create(ctx, &owned->agroup, &iorp_pci_device_ops,
				  pci);
	if (IS_ERR(idev)) {
		iorp_owned_group_put(owned);
		return idev;
	}
	pci->idev = idev;
	list_add_tail(&pci->node, &iorp_pci_bound);
	return idev;
}

static struct iorp_pci_dev *iorp_pci_dev_alloc(struct pci_dev *pdev)
{
	struct iorp_pci_dev *pci = kzalloc(sizeof(*pci), GFP_KERNEL_ACCOUNT);

	if (!pci)
		return NULL;
	pci->pdev = pdev;
	init_rwsem(&pci->iommu_lock);
	INIT_WORK(&pci->gone_work, iorp_pci_gone_work);
	return pci;
}

/*
 * Bind the locked device to the file. The device lock keeps its driver,
 * so a device that passed the checks is not being removed: removal
 * releases the driver first (pci_stop_dev()), then tells the notifier,
 * which then finds the device bound. A device already gone is ENODEV; one
 * caught between losing its driver and leaving the bus fails the driver
 * check (EBUSY, or EINVAL with a VFIO group file).
 */
static struct iorp_device *iorp_pci_bind_locked(struct iorp_ctx *ctx,
						struct pci_dev *pdev,
						struct iommu_group *iommu_group,
						struct iommu_replace_device_bind *cmd)
{
	struct iorp_device *idev;
	struct iorp_pci_dev *pci;
	bool borrowed, coherent = false;
	int ret;

	device_lock_assert(&pdev->dev);
	if (!device_is_registered(&pdev->dev))
		return ERR_PTR(-ENODEV);
	pci = iorp_pci_dev_alloc(pdev);
	if (!pci)
		return ERR_PTR(-ENOMEM);
	ret = iorp_pci_check_access(pdev, cmd, &pci->proof);
	if (ret)
		goto err_free;
	ret = iorp_pci_check_iommu(pdev, iommu_group);
	if (ret)
		goto err_put_proof;

	/* checked, not yet seen by the notifier: the window a removal has */
	iorp_pause(IORP_PAUSE_BIND);
	mutex_lock(&iorp_pci_lock);
	/*
	 * Checked under iorp_pci_lock: a group leaving its container is
	 * unlinked first and then looked for under this lock.
	 */
	borrowed = pci->proof &&
		   iorp_vfio_group_linked(ctx, iommu_group, &coherent);
	idev = iorp_pci_add(ctx, pci, iommu_group, borrowed, coherent);
	mutex_unlock(&iorp_pci_lock);
	if (IS_ERR(idev)) {
		ret = PTR_ERR(idev);
		goto err_put_proof;
	}
	if (borrowed) {
		/*
		 * Held, the group file would hold the container, which holds
		 * this file: VFIO's detach tells us when the group goes.
		 */
		fput(pci->proof);
		pci->proof = NULL;
	}
	return idev;

err_put_proof:
	if (pci->proof)
		fput(pci->proof);
err_free:
	kfree(pci);
	return ERR_PTR(ret);
}

/* The devices of a group, each with a reference (iorp_pci_bind_group()). */
struct iorp_group_devs {
	struct device **devs;
	unsigned int room;
	unsigned int nr;
	int ret;
};

/*
 * Under the iommu group's mutex: the core frees a device's IOMMU state
 * only once the device has left the group under that mutex, so what every
 * bind checks of each device's IOMMU is read here.
 */
static int iorp_pci_collect_dev(struct device *dev, void *data)
{
	struct iorp_group_devs *gd = data;

	if (gd->nr == gd->room)
		gd->ret = -EAGAIN;	/* a device joined the group meanwhile */
	else if (!dev_is_pci(dev))
		gd->ret = -EOPNOTSUPP;
	else if (!device_iommu_capable(dev, IOMMU_CAP_CACHE_COHERENCY))
		gd->ret = -EINVAL;
	if (gd->ret)
		return gd->ret;
	gd->devs[gd->nr++] = get_device(dev);
	return 0;
}

/**
 * iorp_pci_bind_group() - bind every device of a group that VFIO attached
 * to a type1 container of ours to the container's context
 * @ctx: the container's context (the kernel's, vfio_backend.c)
 * @iommu_group: the group; VFIO owns its DMA (blocked)
 * @coherent: VFIO_DMA_CC_IOMMU promised the group's DMA snoops
 * @nr: out: how many devices
 *
 * VFIO's attach of the group calls this with VFIO's locks held, so no
 * device lock (it ranks above them, locking.h). None is needed to keep the
 * devices' drivers: VFIO owns the group's DMA, and the file borrows that
 * ownership. A removal is caught as at a bind: under iorp_pci_lock a
 * device is either still in the group and not leaving (the notifier will
 * then find it bound), or refused (ENODEV). Only PCI devices are served
 * (EOPNOTSUPP for a group with another kind); the checks of a bind are
 * made of every device (EINVAL, EPERM).
 *
 * Return: the devices, published, each with a reference for the caller,
 * which ends them with iorp_pci_unbind_group(); or an ERR_PTR.
 */
struct iorp_device **iorp_pci_bind_group(struct iorp_ctx *ctx,
					 struct iommu_group *iommu_group,
					 bool coherent, unsigned int *nr)
{
	struct iorp_group_devs gd = {};
	struct iorp_device **idevs;
	struct iorp_pci_dev *pci;
	unsigned int i, made = 0;
	int ret = 0;

	gd.room = iorp_group_device_count(iommu_group);
	if (!gd.room)
		return ERR_PTR(-ENODEV);
	gd.devs = kcalloc(gd.room, sizeof(*gd.devs), GFP_KERNEL);
	idevs = kcalloc(gd.room, sizeof(*idevs), GFP_KERNEL_ACCOUNT);
	if (!gd.devs || !idevs) {
		ret = -ENOMEM;
		goto out_free;
	}
	iommu_group_for_each_dev(iommu_group, &gd, iorp_pci_collect_dev);
	ret = gd.ret;
	if (ret)
		goto out_put_devs;
	if (!iorp_group_has_isolated_msi(iommu_group, gd.devs[0])) {
		if (!allow_unsafe_interrupts) {
			ret = -EPERM;
			goto out_put_devs;
		}
		pr_warn("iommu_replace: iommu group %d: MSIs not isolated; bound because allow_unsafe_interrupts is set\n",
			iommu_group_id(iommu_group));
	}

	mutex_lock(&iorp_pci_lock);
	for (made = 0; made < gd.nr; made++) {
		struct device *dev = gd.devs[made];
		struct iorp_device *idev;

		/* released by the core already: not in the group any more */
		if (dev->iommu_group != iommu_group ||
		    !device_is_registered(dev)) {
			ret = -ENODEV;
			break;
		}
		pci = iorp_pci_dev_alloc(to_pci_dev(dev));
		if (!pci) {
			ret = -ENOMEM;
			break;
		}
		idev = iorp_pci_add(ctx, pci, iommu_group, true, coherent);
		if (IS_ERR(idev)) {
			kfree(pci);
			ret = PTR_ERR(idev);
			break;
		}
		pci_dev_get(pci->pdev);	/* the device object's */
		idevs[made] = idev;
	}
	mutex_unlock(&iorp_pci_lock);
	if (ret) {
		while (made--)
			iorp_object_abort_and_destroy(ctx, &idevs[made]->obj);
		goto out_put_devs;
	}
	/* the group's lock may wait on a pin: with no global lock held */
	for (i = 0; i < gd.nr; i++) {
		iorp_device_link(idevs[i]);
		refcount_inc(&idevs[i]->obj.users);	/* the caller's */
		iorp_object_finalize(ctx, &idevs[i]->obj);
	}
	*nr = gd.nr;

out_put_devs:
	for (i = 0; i < gd.nr; i++)
		put_device(gd.devs[i]);
out_free:
	kfree(gd.devs);
	if (ret) {
		kfree(idevs);
		return ERR_PTR(ret);
	}
	return idevs;
}

/**
 * iorp_pci_unbind_group() - end what iorp_pci_bind_group() made
 * @idevs: its devices; freed
 * @nr: how many
 *
 * Detaches each device first. Waits for their group's lock: call it with
 * no global lock held.
 */
void iorp_pci_unbind_group(struct iorp_device **idevs, unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++)
		iorp_device_unbind(idevs[i]);
	kfree(idevs);
}

int iorp_cmd_device_bind(struct iorp_ucmd *ucmd)
{
	struct iommu_replace_device_bind *cmd = ucmd->cmd;
	struct iorp_ctx *ctx = ucmd->ctx;
	struct iommu_group *iommu_group;
	struct iorp_device *idev;
	struct pci_dev *pdev;
	int ret;

	if ((cmd->flags & ~IOMMU_REPLACE_BIND_VFIO_GROUP) || cmd->__reserved)
		return -EOPNOTSUPP;
	pdev = pci_get_domain_bus_and_slot(cmd->pci_domain, cmd->pci_bus,
					   cmd->pci_devfn);
	if (!pdev)
		return -ENODEV;
	iommu_group = iommu_group_get(&pdev->dev);
	if (!iommu_group) {
		ret = -ENODEV;
		goto out_put_pdev;
	}
	device_lock(&pdev->dev);
	idev = iorp_pci_bind_locked(ctx, pdev, iommu_group, cmd);
	device_unlock(&pdev->dev);
	iommu_group_put(iommu_group);
	if (IS_ERR(idev)) {
		ret = PTR_ERR(idev);
		goto out_put_pdev;
	}
	/* the group's lock may wait on a pin: taken with no global lock held */
	iorp_device_link(idev);

	cmd->out_dev_id = idev->obj.id;
	ret = iorp_ucmd_respond(ucmd, sizeof(*cmd));
	if (ret)
		iorp_object_abort_and_destroy(ctx, &idev->obj);
	else
		iorp_object_finalize(ctx, &idev->obj);
	return ret;	/* the device object holds pdev now */

out_put_pdev:
	pci_dev_put(pdev);
	return ret;
}

/* The device is on its way out: nothing may use its IOMMU state again. */
static void iorp_pci_mark_gone(struct iorp_pci_dev *pci)
{
	down_write(&pci->iommu_lock);
	pci->gone = true;
	WRITE_ONCE(pci->idev->gone, true);
	up_write(&pci->iommu_lock);
}

/**
 * iorp_pci_vfio_group_left() - a borrowed group leaves its VFIO container
 * @ctx: the context the container was linked to
 * @iommu_group: the group
 *
 * Called by VFIO's detach of the group (VFIO's locks held, maybe a device
 * lock too), before VFIO gives up the group's DMA ownership. Only what
 * cannot wait happens here, as at hot-unplug: the group's devices bound to
 * @ctx are marked gone (they can no longer attach), the group's hardware
 * goes to the blocking domain (rg->lock only: no lock a stalled pin may
 * hold), and the record leaves ctx->groups, so a later bind starts
 * afresh. Detaching the devices and freeing what their HWPT held follows
 * in their gone_work, outside VFIO's locks.
 */
void iorp_pci_vfio_group_left(struct iorp_ctx *ctx,
			      struct iommu_group *iommu_group)
{
	unsigned int id = iommu_group_id(iommu_group);
	struct iorp_owned_group *owned;
	struct iorp_pci_dev *pci;

	mutex_lock(&iorp_pci_lock);
	mutex_lock(&ctx->groups_lock);
	owned = xa_load(&ctx->groups, id);
	if (owned && owned->borrowed && owned->iommu_group == iommu_group) {
		owned->refs++;		/* ours until the end of this call */
		owned->emptied = true;
		xa_erase(&ctx->groups, id);
	} else {
		owned = NULL;
	}
	mutex_unlock(&ctx->groups_lock);
	if (owned) {
		/* devices bound but not yet linked into the group too */
		list_for_each_entry(pci, &iorp_pci_bound, node) {
			if (pci->idev->agroup != &owned->agroup)
				continue;
			iorp_pci_mark_gone(pci);
			queue_work(system_long_wq, &pci->gone_work);
		}
	}
	mutex_unlock(&iorp_pci_lock);
	if (!owned)
		return;

	/* blocked now, whatever an attach of the group holds or pins */
	iorp_replace_abandon(owned->rg);
	mutex_lock(&iorp_pci_lock);
	iorp_owned_group_put(owned);
	mutex_unlock(&iorp_pci_lock);
}

/**
 * iorp_pci_group_coherent() - will our page tables for the group force
 * DMA to snoop CPU caches?
 * @iommu_group: a group whose DMA VFIO has just claimed (blocked)
 *
 * Where domains know their IOMMU from the start, exactly when every
 * device's IOMMU says it can (iorp_pci_domain_alloc() then enforces it).
 * Elsewhere (6.1) a throwaway domain meets the group's IOMMU, as at a
 * claim (iorp_pci_learn()), under iorp_pci_lock so that it never walks a
 * device the core is releasing; a group with a device leaving says no.
 */
bool iorp_pci_group_coherent(struct iommu_group *iommu_group)
{
	struct iommu_replace_group *rg;
	struct iommu_domain *domain;
	struct device *dev = NULL;
	bool coherent = true;

	if (IORP_DOMAINS_KNOW_THEIR_IOMMU) {
		iommu_group_for_each_dev(iommu_group, &coherent,
					 iorp_pci_dev_coherent);
		return coherent;
	}
	coherent = false;
	mutex_lock(&iorp_pci_lock);
	if (iorp_pci_leaving_group == iommu_group)
		goto out_unlock;
	iommu_group_for_each_dev(iommu_group, &dev, iorp_pci_first_dev);
	if (!dev)
		goto out_unlock;
	rg = iorp_replace_borrow(iommu_group);
	if (IS_ERR(rg))
		goto out_put;
	domain = iorp_paging_domain_alloc(dev);
	if (!IS_ERR(domain)) {
		if (iorp_replace_introduce(rg, domain, &coherent))
			coherent = false;
		iommu_domain_free(domain);
	}
	iommu_replace_release(rg);
out_put:
	put_device(dev);
out_unlock:
	mutex_unlock(&iorp_pci_lock);
	return coherent;
}

/*
 * Every file owning the device's iommu group hears that the device is
 * leaving; when it was the group's last device, the ownership goes back to
 * the core now instead (the walk may still touch the device: the core
 * releases it only at REMOVED_DEVICE).
 */
static void iorp_pci_group_lost(struct iommu_group *iommu_group,
				struct device *leaving, bool last)
{
	struct iorp_owned_group *owned;

	lockdep_assert_held(&iorp_pci_lock);
	list_for_each_entry(owned, &iorp_pci_owned, node) {
		if (owned->iommu_group != iommu_group || owned->emptied)
			continue;
		if (!last) {
			iorp_replace_leaving(owned->rg, leaving);
			continue;
		}
		iorp_replace_abandon(owned->rg);
		owned->emptied = true;
		/*
		 * Out of ctx->groups: a device that joins this iommu group
		 * later (a rescan) is claimed anew, not through this record.
		 */
		mutex_lock(&owned->ctx->groups_lock);
		xa_erase(&owned->ctx->groups, owned->id);
		mutex_unlock(&owned->ctx->groups_lock);
	}
}

/*
 * A device is being removed (DEL_DEVICE), or was (REMOVED_DEVICE). Only
 * what cannot wait happens here; see the file comment.
 */
static int iorp_pci_notify(struct notifier_block *nb, unsigned long action,
			   void *data)
{
	struct iorp_owned_group *owned;
	struct device *dev = data;
	struct iommu_group *iommu_group;
	struct iorp_pci_dev *pci;

	if (action == BUS_NOTIFY_REMOVED_DEVICE) {
		/*
		 * Out of its group and of our domains now: switches may go on,
		 * and the device can be detached, which may free the domain it
		 * was on.
		 */
		mutex_lock(&iorp_pci_lock);
		if (iorp_pci_leaving_dev == dev) {
			iorp_pci_leaving_dev = NULL;
			iorp_pci_leaving_group = NULL;
		}
		list_for_each_entry(owned, &iorp_pci_owned, node)
			iorp_replace_left(owned->rg, dev);
		list_for_each_entry(pci, &iorp_pci_bound, node) {
			if (&pci->pdev->dev != dev)
				continue;
			/* marked at DEL_DEVICE already, unless removals overlapped */
			iorp_pci_mark_gone(pci);
			queue_work(system_long_wq, &pci->gone_work);
		}
		mutex_unlock(&iorp_pci_lock);
		return NOTIFY_OK;
	}
	if (action != BUS_NOTIFY_DEL_DEVICE)
		return NOTIFY_DONE;
	iommu_group = iommu_group_get(dev);
	if (!iommu_group)
		return NOTIFY_DONE;
	mutex_lock(&iorp_pci_lock);
	list_for_each_entry(pci, &iorp_pci_bound, node)
		if (&pci->pdev->dev == dev)
			iorp_pci_mark_gone(pci);
	iorp_pci_group_lost(iommu_group, dev,
			    iorp_group_device_count(iommu_group) == 1);
	/* compared, never dereferenced; cleared at REMOVED_DEVICE */
	iorp_pci_leaving_dev = dev;
	iorp_pci_leaving_group = iommu_group;
	mutex_unlock(&iorp_pci_lock);
	iommu_group_put(iommu_group);
	return NOTIFY_OK;
}

/*
 * After the iommu core's own notifier (priority 0), so that at
 * REMOVED_DEVICE the core has let the device go before switches may touch
 * the group's devices again and before the device's domain may be freed.
 */
static struct notifier_block iorp_pci_nb = {
	.notifier_call = iorp_pci_notify,
	.priority = -1,
};

int iorp_pci_init(void)
{
	return bus_register_notifier(&pci_bus_type, &iorp_pci_nb);
}

void iorp_pci_exit(void)
{
	bus_unregister_notifier(&pci_bus_type, &iorp_pci_nb);
}
