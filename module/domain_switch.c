// SPDX-License-Identifier: GPL-2.0-only
/*
 * domain_switch.c - move an iommu group from one domain straight to
 * another (the API of linux/iommu_replace.h).
 *
 * Claiming a group takes its DMA ownership, which puts the hardware on the
 * core's blocking domain. Then:
 *  - native (the kernel exports iommu_group_replace_domain()): the core
 *    attaches, replaces and detaches; it keeps track of the domain;
 *  - fallback (Linux 6.1, or force_fallback=1): the core is never told; it
 *    keeps recording its blocking domain while this file moves the hardware
 *    with the IOMMU driver's attach_dev, device by device, inside one
 *    iommu_group_for_each_dev() walk so that the group's mutex is held
 *    throughout. A device that fails undoes the ones before it (and itself,
 *    which a driver may have left half attached) in the same walk. The core
 *    thus never holds a pointer to one of our domains, and a device added
 *    to the group later lands safely on the blocking domain. The way back
 *    to the blocking domain needs no memory and has nothing to undo, so it
 *    cannot fail: releasing the group takes it before the domain may go.
 *
 * Locking: rg->lock serialises switches of one group; the walk runs under
 * the group's own mutex (taken by iommu_group_for_each_dev()). Nothing
 * here takes the group's mutex from inside the walk.
 */
#include <linux/device.h>
#include <linux/iommu.h>
#include <linux/iommu_replace.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/slab.h>

#include <iommu_replace/compat.h>
#include <iommu_replace/device.h>
#include <iommu_replace/fault.h>

static bool force_fallback;
module_param(force_fallback, bool, 0444);
MODULE_PARM_DESC(force_fallback,
		 "switch domains with the attach_dev walk even where the kernel can replace them itself");

/**
 * struct iommu_replace_group - a group whose DMA this module switches
 * @group: the group (holds a reference)
 * @lock: serialises switches and guards @domain
 * @domain: the domain the hardware uses, NULL for the blocking domain
 * @blocking: fallback only: the core's blocking domain, seen at claim
 * @native: switches go through the core
 */
struct iommu_replace_group {
	struct iommu_group *group;
	struct mutex lock;	/* switches; @domain */
	struct iommu_domain *domain;
	struct iommu_domain *blocking;
	bool native;
};

static int iorp_first_dev(struct device *dev, void *data)
{
	*(struct device **)data = get_device(dev);
	return 1;	/* stop at the first */
}

/**
 * iommu_replace_claim() - take a group's DMA ownership for domain switches
 * @group: the group; none of its devices may have a DMA-API driver
 * @owner: the owner's cookie
 *
 * The hardware is then on the blocking domain. Return: the claimed group,
 * or ERR_PTR(-EBUSY) if a driver or another owner uses the group.
 */
struct iommu_replace_group *iommu_replace_claim(struct iommu_group *group,
						void *owner)
{
	struct iommu_replace_group *rg;
	struct device *dev = NULL;
	int ret;

	rg = kzalloc(sizeof(*rg), GFP_KERNEL_ACCOUNT);
	if (!rg)
		return ERR_PTR(-ENOMEM);
	mutex_init(&rg->lock);
	rg->native = IORP_HAVE_NATIVE_REPLACE && !force_fallback;
	ret = iommu_group_claim_dma_owner(group, owner);
	if (ret) {
		ret = ret == -EPERM ? -EBUSY : ret;
		goto err_free;
	}
	rg->group = iommu_group_ref_get(group);
	if (!rg->native) {
		iommu_group_for_each_dev(group, &dev, iorp_first_dev);
		if (dev) {
			rg->blocking = iommu_get_domain_for_dev(dev);
			put_device(dev);
		}
		if (!rg->blocking) {
			ret = -ENODEV;	/* an empty group, or no IOMMU */
			goto err_release;
		}
	}
	return rg;

err_release:
	iommu_group_release_dma_owner(group);
	iommu_group_put(group);
err_free:
	mutex_destroy(&rg->lock);
	kfree(rg);
	return ERR_PTR(ret);
}
EXPORT_SYMBOL_NS_GPL(iommu_replace_claim, IOMMU_REPLACE);

/* The state of one fallback walk. */
struct iorp_switch_walk {
	struct iommu_domain *from, *to;
	struct device **done;	/* devices switched, in walk order */
	unsigned int ndone, room;
	int ret;
};

static int iorp_count_dev(struct device *dev, void *data)
{
	(*(unsigned int *)data)++;
	return 0;
}

/* How many devices the group holds right now */
unsigned int iorp_group_device_count(struct iommu_group *group)
{
	unsigned int count = 0;

	iommu_group_for_each_dev(group, &count, iorp_count_dev);
	return count;
}

static int iorp_switch_dev(struct device *dev, void *data)
{
	struct iorp_switch_walk *walk = data;
	unsigned int i;

	if (walk->ndone == walk->room) {
		/* a device joined the group since it was counted: untouched */
		walk->ret = -EAGAIN;
	} else {
		walk->ret = iorp_should_fail(IORP_FAULT_SWITCH_DEV) ? -EIO :
			    walk->to->ops->attach_dev(walk->to, dev);
		if (!walk->ret) {
			walk->done[walk->ndone++] = dev;
			return 0;
		}
		/* a driver may leave a failed device half attached */
		WARN_ON(walk->from->ops->attach_dev(walk->from, dev));
	}
	/* the devices switched before go back where they came from */
	for (i = 0; i < walk->ndone; i++)
		WARN_ON(walk->from->ops->attach_dev(walk->from, walk->done[i]));
	return walk->ret;
}

/* One device to the blocking domain, which no IOMMU driver refuses */
static int iorp_block_dev(struct device *dev, void *data)
{
	struct iommu_domain *blocking = data;

	WARN_ON(blocking->ops->attach_dev(blocking, dev));
	return 0;
}

static int iorp_switch_fallback(struct iommu_replace_group *rg,
				struct iommu_domain *to)
{
	struct iorp_switch_walk walk = {
		.from = rg->domain ?: rg->blocking,
		.to = to,
	};

	if (!to) {
		iommu_group_for_each_dev(rg->group, rg->blocking, iorp_block_dev);
		return 0;
	}
	walk.room = iorp_group_device_count(rg->group);
	walk.done = kcalloc(walk.room, sizeof(*walk.done), GFP_KERNEL);
	if (!walk.done)
		return -ENOMEM;
	iommu_group_for_each_dev(rg->group, &walk, iorp_switch_dev);
	kfree(walk.done);
	return walk.ret;
}

static int iorp_switch_native(struct iommu_replace_group *rg,
			      struct iommu_domain *to)
{
	if (!rg->domain)
		return iommu_attach_group(to, rg->group);
	if (!to) {
		iommu_detach_group(rg->domain, rg->group);
		return 0;
	}
	return iorp_group_replace_domain(rg->group, to);
}

/**
 * iommu_replace_switch() - move the group's hardware to another domain
 * @rg: a claimed group
 * @domain: the domain to use, or NULL for the blocking domain
 *
 * The devices go from the current domain straight to @domain. A switch to
 * the blocking domain does not fail. Return: 0, or an error with the group
 * still on its current domain.
 */
int iommu_replace_switch(struct iommu_replace_group *rg,
			 struct iommu_domain *domain)
{
	int ret = 0;

	mutex_lock(&rg->lock);
	if (domain == rg->domain)
		goto out_unlock;
	if (domain && iorp_should_fail(IORP_FAULT_GROUP_SWITCH)) {
		ret = -EIO;
		goto out_unlock;
	}
	if (rg->native)
		ret = iorp_switch_native(rg, domain);
	else
		ret = iorp_switch_fallback(rg, domain);
	WARN_ON(ret && !domain);
	if (!ret)
		rg->domain = domain;
out_unlock:
	mutex_unlock(&rg->lock);
	return ret;
}
EXPORT_SYMBOL_NS_GPL(iommu_replace_switch, IOMMU_REPLACE);

/**
 * iommu_replace_domain() - the domain the group's hardware uses
 * @rg: a claimed group
 *
 * Return: the domain, or NULL for the blocking domain.
 */
struct iommu_domain *iommu_replace_domain(struct iommu_replace_group *rg)
{
	struct iommu_domain *domain;

	mutex_lock(&rg->lock);
	domain = rg->domain;
	mutex_unlock(&rg->lock);
	return domain;
}
EXPORT_SYMBOL_NS_GPL(iommu_replace_domain, IOMMU_REPLACE);

/**
 * iommu_replace_release() - put the hardware on the blocking domain and
 * give up the group's DMA ownership
 * @rg: a claimed group; freed
 */
void iommu_replace_release(struct iommu_replace_group *rg)
{
	iommu_replace_switch(rg, NULL);
	iommu_group_release_dma_owner(rg->group);
	iommu_group_put(rg->group);
	mutex_destroy(&rg->lock);
	kfree(rg);
}
EXPORT_SYMBOL_NS_GPL(iommu_replace_release, IOMMU_REPLACE);

#ifdef HAVE_IOMMU_GROUP_REPLACE_DOMAIN
MODULE_IMPORT_NS(IOMMUFD_INTERNAL);
#endif
