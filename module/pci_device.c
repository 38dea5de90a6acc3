// SPDX-License-Identifier: GPL-2.0-only
/*
 * pci_device.c - PCI devices behind a real IOMMU: IOMMU_REPLACE_DEVICE_BIND
 * and the device kind device.c drives them through.
 *
 * Binding proves the caller may own the device's DMA (a VFIO group fd of
 * the device's group, or CAP_SYS_ADMIN for a device bound to vfio-pci or
 * pci-stub), checks what iommufd checks (MSIs isolated by interrupt
 * remapping unless allow_unsafe_interrupts, DMA cache coherent), and makes
 * the file own the whole iommu group.
 *
 * Each file keeps one struct iorp_pci_group per iommu group it owns, in
 * ctx->groups by group ID: the common group state of device.c, and the
 * claimed group of domain_switch.c (linux/iommu_replace.h) that moves the
 * group's hardware. It lives while a device of the group is bound; when the
 * last one goes, the hardware goes back to the blocking domain and only
 * then is the group's DMA ownership released.
 *
 * The record also holds the group's software-MSI window (IOMMUs that map
 * MSI doorbells through the page table, as Arm SMMUs do; none on x86): every
 * domain the group switches to gets the MSI cookie for it, as with iommufd.
 *
 * Hot-unplug: a bus notifier finds bound devices being removed, detaches
 * them and marks them gone; their objects stay until unbound. When the last
 * device of an owned group is removed the group's DMA ownership is given up
 * right then, as the iommu core requires of a group that becomes empty.
 *
 * Locking: iorp_pci_lock guards iorp_pci_bound and the records' @rg, and
 * comes first; then ctx->groups_lock (ctx->groups, the records' refcounts)
 * or a record's group.lock (which also guards @rg, see device.h).
 */
#include <linux/capability.h>
#include <linux/device.h>
#include <linux/file.h>
#include <linux/iommu.h>
#include <linux/iommu_replace.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/vfio.h>
#include <linux/vfio_pci_core.h>

#include <uapi/linux/iommu_replace.h>
#include <iommu_replace/compat.h>
#include <iommu_replace/device.h>
#include <iommu_replace/fault.h>

static bool allow_unsafe_interrupts;
module_param(allow_unsafe_interrupts, bool, 0644);
MODULE_PARM_DESC(allow_unsafe_interrupts,
		 "bind devices whose MSIs the IOMMU does not isolate (unsafe: the device can then interrupt at will)");

/**
 * struct iorp_pci_group - an iommu group a file owns
 * @group: the state device.c keeps (group.priv points here)
 * @ctx: the file's context
 * @refs: bound devices of the group (ctx->groups_lock)
 * @id: the iommu group's ID, its key in ctx->groups
 * @iommu_group: the group (its reference is @rg's), NULL with @rg
 * @rg: the claimed group that switches the hardware; NULL once the group
 *      lost its last device (cleared under iorp_pci_lock and group.lock)
 * @sw_msi_start: the software-MSI window's IOVA, PHYS_ADDR_MAX for none
 */
struct iorp_pci_group {
	struct iorp_attach_group agroup;
	struct iorp_ctx *ctx;
	unsigned int refs;
	unsigned int id;
	struct iommu_group *iommu_group;
	struct iommu_replace_group *rg;
	phys_addr_t sw_msi_start;
};

/**
 * struct iorp_pci_dev - a bound PCI device (iorp_device.priv)
 * @pdev: the device (holds a reference)
 * @proof: the VFIO group file given as proof of access, held, or NULL
 * @idev: its device object
 * @node: in iorp_pci_bound
 */
struct iorp_pci_dev {
	struct pci_dev *pdev;
	struct file *proof;
	struct iorp_device *idev;
	struct list_head node;
};

static LIST_HEAD(iorp_pci_bound);
static DEFINE_MUTEX(iorp_pci_lock);

static struct iorp_pci_group *to_pci_group(struct iorp_attach_group *agroup)
{
	return container_of(agroup, struct iorp_pci_group, agroup);
}

/* Where the IOMMU expects MSI doorbells mapped, or PHYS_ADDR_MAX. */
static phys_addr_t iorp_pci_sw_msi(struct iommu_group *group)
{
	struct iommu_resv_region *region, *next;
	phys_addr_t start = PHYS_ADDR_MAX;
	LIST_HEAD(regions);

	iommu_get_group_resv_regions(group, &regions);
	list_for_each_entry_safe(region, next, &regions, list) {
		if (region->type == IOMMU_RESV_SW_MSI)
			start = region->start;
		kfree(region);
	}
	return start;
}

/* The file's record of an iommu group, made (and the group claimed) if new. */
static struct iorp_pci_group *iorp_pci_group_get(struct iorp_ctx *ctx,
						 struct iommu_group *group)
{
	unsigned int id = iommu_group_id(group);
	struct iorp_pci_group *pg;
	int ret;

	lockdep_assert_held(&iorp_pci_lock);
	mutex_lock(&ctx->groups_lock);
	pg = xa_load(&ctx->groups, id);
	if (pg) {
		pg->refs++;
		goto out_unlock;
	}
	pg = kzalloc(sizeof(*pg), GFP_KERNEL_ACCOUNT);
	if (!pg) {
		pg = ERR_PTR(-ENOMEM);
		goto out_unlock;
	}
	pg->rg = iommu_replace_claim(group, ctx);
	if (IS_ERR(pg->rg)) {
		ret = PTR_ERR(pg->rg);
		goto err_free;
	}
	ret = xa_err(xa_store(&ctx->groups, id, pg, GFP_KERNEL_ACCOUNT));
	if (ret)
		goto err_release;
	iorp_attach_group_init(&pg->agroup, pg);
	pg->ctx = ctx;
	pg->id = id;
	pg->iommu_group = group;
	pg->sw_msi_start = iorp_pci_sw_msi(group);
	pg->refs = 1;
	goto out_unlock;

err_release:
	iommu_replace_release(pg->rg);
err_free:
	kfree(pg);
	pg = ERR_PTR(ret);
out_unlock:
	mutex_unlock(&ctx->groups_lock);
	return pg;
}

/* Drop a bound device's hold; the last one gives the group back. */
static void iorp_pci_group_put(struct iorp_pci_group *pg)
{
	struct iorp_ctx *ctx = pg->ctx;

	lockdep_assert_held(&iorp_pci_lock);
	mutex_lock(&ctx->groups_lock);
	if (--pg->refs) {
		mutex_unlock(&ctx->groups_lock);
		return;
	}
	/* a record whose group emptied left ctx->groups then */
	if (pg->rg)
		xa_erase(&ctx->groups, pg->id);
	mutex_unlock(&ctx->groups_lock);
	WARN_ON(pg->agroup.hwpt || !list_empty(&pg->agroup.devices));
	if (pg->rg)
		iommu_replace_release(pg->rg);
	mutex_destroy(&pg->agroup.lock);
	kfree(pg);
}

static struct iommu_domain *iorp_pci_domain_alloc(struct iorp_device *idev,
						  u32 flags, bool *coherent)
{
	struct iorp_pci_dev *pci = idev->priv;
	struct device *dev = &pci->pdev->dev;
	struct iommu_domain *domain;

	if (iorp_should_fail(IORP_FAULT_DOMAIN_ALLOC))
		return ERR_PTR(-ENOMEM);
	domain = iorp_paging_domain_alloc(dev);
	if (IS_ERR(domain))
		return domain;
	/* no snooping bypass: every mapping is cache coherent */
	*coherent = iorp_enforce_cache_coherency(domain, dev);
	return domain;
}

static bool iorp_pci_domain_compatible(struct iorp_device *idev,
				       struct iommu_domain *domain)
{
	struct iorp_pci_dev *pci = idev->priv;

	return iorp_domain_is_for(domain, &pci->pdev->dev);
}

static int iorp_pci_group_switch(struct iorp_attach_group *agroup,
				 struct iommu_domain *old,
				 struct iommu_domain *new)
{
	struct iorp_pci_group *pg = to_pci_group(agroup);
	int ret;

	lockdep_assert_held(&agroup->lock);
	WARN_ON(iommu_replace_domain(pg->rg) != old);
	if (new && pg->sw_msi_start != PHYS_ADDR_MAX) {
		/* once per domain: a domain has the cookie already */
		ret = iommu_get_msi_cookie(new, pg->sw_msi_start);
		if (ret && ret != -EEXIST)
			return ret;
	}
	return iommu_replace_switch(pg->rg, new);
}

/* The IOVA the group's IOMMU must never see mapped. */
static int iorp_pci_reserved(struct iorp_device *idev, struct list_head *list)
{
	struct iorp_pci_dev *pci = idev->priv;
	struct iommu_resv_region *region, *next;
	struct iommu_group *group;
	LIST_HEAD(regions);
	int ret = 0;

	if (iorp_should_fail(IORP_FAULT_RESV))
		return -ENOMEM;
	group = iommu_group_get(&pci->pdev->dev);
	if (!group)
		return -ENODEV;
	ret = iommu_get_group_resv_regions(group, &regions);
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
	iommu_group_put(group);
	return ret;
}

static void iorp_pci_hw_info(struct iorp_device *idev,
			     struct iorp_hw_info *info)
{
	info->type = IOMMU_HW_INFO_TYPE_NONE;
}

static void iorp_pci_unbind(struct iorp_device *idev)
{
	struct iorp_pci_dev *pci = idev->priv;

	mutex_lock(&iorp_pci_lock);
	list_del(&pci->node);
	iorp_pci_group_put(to_pci_group(idev->agroup));
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
	.reserved = iorp_pci_reserved,
	.hw_info = iorp_pci_hw_info,
	.unbind = iorp_pci_unbind,
};

/* Is the device's driver one that leaves its DMA to whoever owns it? */
static bool iorp_pci_driver_is(struct pci_dev *pdev, const char *name)
{
	return pdev->dev.driver && !strcmp(pdev->dev.driver->name, name);
}

/*
 * A VFIO group file proves access if the caller could open /dev/vfio/N of
 * the device's group: VFIO must know the file as a group holding the
 * device. VFIO is looked up at run time, so this module does not need it.
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
	device_lock(&pdev->dev);
	/* vfio-pci's driver data is its device, which starts with vfio's */
	if (iorp_pci_driver_is(pdev, "vfio-pci")) {
		struct vfio_pci_core_device *vdev = dev_get_drvdata(&pdev->dev);

		if (vdev && has_dev(file, &vdev->vdev))
			ret = 0;
	}
	device_unlock(&pdev->dev);
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

static int iorp_pci_check_access(struct pci_dev *pdev,
				 struct iommu_replace_device_bind *cmd,
				 struct file **proof)
{
	int ret;

	*proof = NULL;
	if (!(cmd->flags & IOMMU_REPLACE_BIND_VFIO_GROUP)) {
		if (!capable(CAP_SYS_ADMIN))
			return -EPERM;
		device_lock(&pdev->dev);
		ret = iorp_pci_driver_is(pdev, "vfio-pci") ||
		      iorp_pci_driver_is(pdev, "pci-stub") ? 0 : -EBUSY;
		device_unlock(&pdev->dev);
		return ret;
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
		if (pci->pdev == pdev && pci->idev->ctx == ctx)
			return true;
	return false;
}

int iorp_cmd_device_bind(struct iorp_ucmd *ucmd)
{
	struct iommu_replace_device_bind *cmd = ucmd->cmd;
	struct iorp_ctx *ctx = ucmd->ctx;
	struct iommu_group *group;
	struct iorp_pci_group *pg;
	struct iorp_device *idev;
	struct iorp_pci_dev *pci;
	struct pci_dev *pdev;
	int ret;

	if ((cmd->flags & ~IOMMU_REPLACE_BIND_VFIO_GROUP) || cmd->__reserved)
		return -EOPNOTSUPP;
	pdev = pci_get_domain_bus_and_slot(cmd->pci_domain, cmd->pci_bus,
					   cmd->pci_devfn);
	if (!pdev)
		return -ENODEV;
	group = iommu_group_get(&pdev->dev);
	if (!group) {
		ret = -ENODEV;
		goto err_put_pdev;
	}
	pci = kzalloc(sizeof(*pci), GFP_KERNEL_ACCOUNT);
	if (!pci) {
		ret = -ENOMEM;
		goto err_put_group;
	}
	pci->pdev = pdev;
	ret = iorp_pci_check_access(pdev, cmd, &pci->proof);
	if (ret)
		goto err_free;
	if (!device_iommu_capable(&pdev->dev, IOMMU_CAP_CACHE_COHERENCY)) {
		ret = -EINVAL;
		goto err_put_proof;
	}
	if (!iorp_group_has_isolated_msi(group, &pdev->dev)) {
		if (!allow_unsafe_interrupts) {
			ret = -EPERM;
			goto err_put_proof;
		}
		dev_warn(&pdev->dev,
			 "iommu_replace: MSIs not isolated; bound because allow_unsafe_interrupts is set\n");
	}

	iorp_pause(IORP_PAUSE_BIND);
	mutex_lock(&iorp_pci_lock);
	if (iorp_pci_bound_to(pdev, ctx)) {
		ret = -EBUSY;
		goto err_unlock;
	}
	pg = iorp_pci_group_get(ctx, group);
	if (IS_ERR(pg)) {
		ret = PTR_ERR(pg);
		goto err_unlock;
	}
	idev = iorp_device_create(ctx, &pg->agroup, &iorp_pci_device_ops, pci);
	if (IS_ERR(idev)) {
		ret = PTR_ERR(idev);
		iorp_pci_group_put(pg);
		goto err_unlock;
	}
	pci->idev = idev;
	list_add_tail(&pci->node, &iorp_pci_bound);
	mutex_unlock(&iorp_pci_lock);
	iommu_group_put(group);

	cmd->out_dev_id = idev->obj.id;
	ret = iorp_ucmd_respond(ucmd, sizeof(*cmd));
	if (ret)
		iorp_object_abort_and_destroy(ctx, &idev->obj);
	else
		iorp_object_finalize(ctx, &idev->obj);
	return ret;

err_unlock:
	mutex_unlock(&iorp_pci_lock);
err_put_proof:
	if (pci->proof)
		fput(pci->proof);
err_free:
	kfree(pci);
err_put_group:
	iommu_group_put(group);
err_put_pdev:
	pci_dev_put(pdev);
	return ret;
}

/*
 * The last device of an owned group is leaving it: every bound device of
 * the group is gone and detached, so give up the ownership now. The
 * record stays until its devices are unbound, but leaves ctx->groups: the
 * group's ID may be given to a new group.
 */
static void iorp_pci_group_emptied(struct iommu_group *group)
{
	struct iorp_pci_dev *pci;

	lockdep_assert_held(&iorp_pci_lock);
	list_for_each_entry(pci, &iorp_pci_bound, node) {
		struct iorp_pci_group *pg = to_pci_group(pci->idev->agroup);

		if (pg->iommu_group != group || !pg->rg)
			continue;
		mutex_lock(&pg->agroup.lock);
		WARN_ON(pg->agroup.hwpt);
		iommu_replace_release(pg->rg);
		pg->rg = NULL;
		pg->iommu_group = NULL;
		mutex_unlock(&pg->agroup.lock);
		mutex_lock(&pg->ctx->groups_lock);
		xa_erase(&pg->ctx->groups, pg->id);
		mutex_unlock(&pg->ctx->groups_lock);
	}
}

/*
 * A device is being removed. A bound one is detached and can never attach
 * again. Its group may be emptied by it, bound or not (a bridge).
 */
static int iorp_pci_notify(struct notifier_block *nb, unsigned long action,
			   void *data)
{
	struct device *dev = data;
	struct iommu_group *group;
	struct iorp_pci_dev *pci;

	if (action != BUS_NOTIFY_DEL_DEVICE)
		return NOTIFY_DONE;
	group = iommu_group_get(dev);
	if (!group)
		return NOTIFY_DONE;
	mutex_lock(&iorp_pci_lock);
	list_for_each_entry(pci, &iorp_pci_bound, node) {
		struct iorp_device *idev = pci->idev;

		if (&pci->pdev->dev != dev)
			continue;
		/* gone first, so nothing attaches it again after the detach */
		mutex_lock(&idev->agroup->lock);
		idev->gone = true;
		mutex_unlock(&idev->agroup->lock);
		iorp_device_detach(idev);
	}
	if (iorp_group_device_count(group) == 1)
		iorp_pci_group_emptied(group);
	mutex_unlock(&iorp_pci_lock);
	iommu_group_put(group);
	return NOTIFY_OK;
}

static struct notifier_block iorp_pci_nb = {
	.notifier_call = iorp_pci_notify,
};

int iorp_pci_init(void)
{
	return bus_register_notifier(&pci_bus_type, &iorp_pci_nb);
}

void iorp_pci_exit(void)
{
	bus_unregister_notifier(&pci_bus_type, &iorp_pci_nb);
}
