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
 *    thus never holds a pointer to one of our domains.
 *
 * The way back to blocking on the fallback route: 6.1's VT-d has no
 * blocked domain, so the core's blocking domain is an empty paging domain
 * whose attach allocates (and may need a domain ID). VT-d and AMD-Vi stop
 * a device's translation before anything in their attach can fail, so a
 * failed attach still leaves the device's DMA blocked, only without a
 * domain; the attach is retried a few times (a failed small allocation
 * seldom fails again) and then left so. Such a device takes a domain again
 * at its next switch or when the ownership is released (6.1's VT-d could
 * not release it if it were removed as it is: the retries make that
 * unlikely, nothing here can make it impossible). A switch that fails and
 * cannot put every device back where it was moves the whole group to
 * blocking, and says so: iommu_replace_domain() is NULL then.
 *
 * While a device of the group is being removed, from its
 * BUS_NOTIFY_DEL_DEVICE until the core has let it go (6.1's core releases
 * it without the group's mutex), switches wait: iorp_replace_leaving().
 * Until then the device may still be on the domain a switch would leave,
 * and that domain must not be freed under it.
 *
 * Locking: rg->lock serialises switches of one group and guards the state
 * below; the walk runs under the group's own mutex (taken by
 * iommu_group_for_each_dev()), so nothing here takes that mutex from inside
 * the walk. Order: locking.h.
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

/* Attempts of an attach that must not fail before it is given up. */
#define IORP_BLOCK_TRIES	4

static bool force_fallback;
module_param(force_fallback, bool, 0444);
MODULE_PARM_DESC(force_fallback,
		 "switch domains with the attach_dev walk even where the kernel can replace them itself");

/**
 * struct iommu_replace_group - a group whose DMA this module switches
 * @iommu_group: the group (holds a reference until @abandoned)
 * @lock: serialises switches and guards the fields below
 * @domain: the domain the hardware uses, NULL for the blocking domain
 * @blocking: fallback only: the core's blocking domain, seen at claim
 * @leaving: fallback only: a device being removed; switches wait until the
 *           core has let it go
 * @left: woken when @leaving is cleared
 * @native: switches go through the core
 * @borrowed: the DMA ownership is another owner's (VFIO's, for a group in
 *            a container of our backend): never released here
 * @abandoned: the group lost its last device and its ownership was given
 *             up (or, borrowed, its owner takes it back); only
 *             iommu_replace_release() is left to do
 */
struct iommu_replace_group {
	struct iommu_group *iommu_group;
	struct mutex lock;	/* switches; the fields below */
	struct iommu_domain *domain;
	struct iommu_domain *blocking;
	struct device *leaving;
	wait_queue_head_t left;
	bool native;
	bool borrowed;
	bool abandoned;
};

static int iorp_first_dev(struct device *dev, void *data)
{
	*(struct device **)data = get_device(dev);
	return 1;	/* stop at the first */
}

/* Claim the group for @owner, or borrow it from its owner (@owner NULL). */
static struct iommu_replace_group *iorp_replace_take(struct iommu_group *iommu_group,
						     void *owner)
{
	struct iommu_replace_group *rg;
	struct device *dev = NULL;
	int ret;

	rg = kzalloc(sizeof(*rg), GFP_KERNEL_ACCOUNT);
	if (!rg)
		return ERR_PTR(-ENOMEM);
	mutex_init(&rg->lock);
	init_waitqueue_head(&rg->left);
	rg->native = IORP_HAVE_NATIVE_REPLACE && !force_fallback;
	rg->borrowed = !owner;
	/*
	 * Only a sanity check (the core calls it racy): what guarantees the
	 * owner is the caller's, the VFIO container the group sits in.
	 */
	if (rg->borrowed)
		ret = iommu_group_dma_owner_claimed(iommu_group) ? 0 : -EINVAL;
	else
		ret = iommu_group_claim_dma_owner(iommu_group, owner);
	if (ret) {
		ret = ret == -EPERM ? -EBUSY : ret;
		goto err_free;
	}
	rg->iommu_group = iommu_group_ref_get(iommu_group);
	if (!rg->native) {
		iommu_group_for_each_dev(iommu_group, &dev, iorp_first_dev);
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
	if (!rg->borrowed)
		iommu_group_release_dma_owner(iommu_group);
	iommu_group_put(iommu_group);
err_free:
	mutex_destroy(&rg->lock);
	kfree(rg);
	return ERR_PTR(ret);
}

/**
 * iommu_replace_claim() - take a group's DMA ownership for domain switches
 * @iommu_group: the group; none of its devices may have a DMA-API driver
 * @owner: the owner's cookie
 *
 * The hardware is then on the blocking domain. Return: the claimed group,
 * or ERR_PTR(-EBUSY) if a driver or another owner uses the group.
 */
struct iommu_replace_group *iommu_replace_claim(struct iommu_group *iommu_group,
						void *owner)
{
	if (WARN_ON(!owner))
		return ERR_PTR(-EINVAL);
	return iorp_replace_take(iommu_group, owner);
}
EXPORT_SYMBOL_NS_GPL(iommu_replace_claim, IOMMU_REPLACE);

/**
 * iorp_replace_borrow() - switch the domains of a group someone else owns
 * @iommu_group: a group whose DMA ownership VFIO holds (a group in a
 *               container of our VFIO backend), its hardware blocked
 *
 * As iommu_replace_claim(), but the ownership stays with its owner:
 * iommu_replace_release() and iorp_replace_abandon() put the hardware back
 * on the blocking domain, where the owner left it, and release nothing.
 * Return: the group, or ERR_PTR(-EINVAL) if nobody owns it.
 */
struct iommu_replace_group *iorp_replace_borrow(struct iommu_group *iommu_group)
{
	return iorp_replace_take(iommu_group, NULL);
}

/*
 * Put one device on the blocking domain. Does not fail: a driver that
 * cannot finish the attach has blocked the device's DMA before failing
 * (VT-d and AMD-Vi do), so after the last try the device is blocked with no
 * domain; see the file comment.
 */
static void iorp_block_dev(struct iommu_domain *blocking, struct device *dev)
{
	unsigned int i;

	for (i = 0; i < IORP_BLOCK_TRIES; i++)
		if (!blocking->ops->attach_dev(blocking, dev))
			return;
	dev_info(dev, "iommu_replace: cannot attach the blocking domain; DMA stays blocked without one\n");
}

/* The state of one fallback walk. */
struct iorp_switch_walk {
	struct iommu_replace_group *rg;
	struct iommu_domain *to;
	struct device **done;	/* devices switched, in walk order */
	unsigned int ndone, room;
	bool stranded;		/* a device could not go back to rg->domain */
	int ret;
};

static int iorp_count_dev(struct device *dev, void *data)
{
	(*(unsigned int *)data)++;
	return 0;
}

/* How many devices the group holds right now */
unsigned int iorp_group_device_count(struct iommu_group *iommu_group)
{
	unsigned int count = 0;

	iommu_group_for_each_dev(iommu_group, &count, iorp_count_dev);
	return count;
}

/* Back to where the walk took it from; blocked if even that fails. */
static void iorp_switch_back(struct iorp_switch_walk *walk, struct device *dev)
{
	struct iommu_replace_group *rg = walk->rg;

	if (!rg->domain) {
		iorp_block_dev(rg->blocking, dev);
		return;
	}
	if (iorp_should_fail(IORP_FAULT_SWITCH_BACK) ||
	    rg->domain->ops->attach_dev(rg->domain, dev)) {
		iorp_block_dev(rg->blocking, dev);
		walk->stranded = true;
	}
}

/* Make room for one more switched device (one joined mid-walk). */
static int iorp_switch_grow(struct iorp_switch_walk *walk)
{
	struct device **done;

	if (walk->ndone < walk->room)
		return 0;
	done = krealloc_array(walk->done, walk->room + 4, sizeof(*done),
			      GFP_KERNEL);
	if (!done)
		return -ENOMEM;
	walk->done = done;
	walk->room += 4;
	return 0;
}

static int iorp_switch_dev(struct device *dev, void *data)
{
	struct iorp_switch_walk *walk = data;
	unsigned int i;

	walk->ret = iorp_switch_grow(walk);
	if (!walk->ret) {
		walk->ret = iorp_should_fail(IORP_FAULT_SWITCH_DEV) ? -EIO :
			    walk->to->ops->attach_dev(walk->to, dev);
		if (!walk->ret) {
			walk->done[walk->ndone++] = dev;
			return 0;
		}
		/* a driver may leave a failed device half attached */
		iorp_switch_back(walk, dev);
	}
	for (i = 0; i < walk->ndone; i++)
		iorp_switch_back(walk, walk->done[i]);
	return walk->ret;
}

/* A device being removed is left to the core (see iorp_replace_leaving()) */
static int iorp_block_one(struct device *dev, void *data)
{
	struct iommu_replace_group *rg = data;

	if (dev != rg->leaving)
		iorp_block_dev(rg->blocking, dev);
	return 0;
}

static int iorp_switch_fallback(struct iommu_replace_group *rg,
				struct iommu_domain *to)
{
	struct iorp_switch_walk walk = {
		.rg = rg,
		.to = to,
	};

	if (!to) {
		iommu_group_for_each_dev(rg->iommu_group, rg, iorp_block_one);
		return 0;
	}
	walk.room = iorp_group_device_count(rg->iommu_group);
	walk.done = kcalloc(walk.room, sizeof(*walk.done), GFP_KERNEL);
	if (!walk.done)
		return -ENOMEM;
	iommu_group_for_each_dev(rg->iommu_group, &walk, iorp_switch_dev);
	kfree(walk.done);
	if (walk.stranded) {
		/* not all could go back: none stays, the group is blocked */
		iommu_group_for_each_dev(rg->iommu_group, rg, iorp_block_one);
		rg->domain = NULL;
	}
	return walk.ret;
}

static int iorp_switch_native(struct iommu_replace_group *rg,
			      struct iommu_domain *to)
{
	if (!rg->domain)
		return iommu_attach_group(to, rg->iommu_group);
	if (!to) {
		iommu_detach_group(rg->domain, rg->iommu_group);
		return 0;
	}
	return iorp_group_replace_domain(rg->iommu_group, to);
}

/**
 * iommu_replace_switch() - move the group's hardware to another domain
 * @rg: a claimed group
 * @domain: the domain to use, or NULL for the blocking domain
 *
 * The devices go from the current domain straight to @domain. A switch to
 * the blocking domain does not fail. On failure the group is still on its
 * current domain, except where the IOMMU driver also fails to put a device
 * back (6.1's VT-d short of memory or domain IDs): then the whole group is
 * on the blocking domain, which iommu_replace_domain() tells. A group that
 * lost its last device cannot switch to a domain (-ENODEV). While a device
 * of the group is being removed (see iorp_replace_leaving()) the switch
 * waits for the removal; a fatal signal ends the wait (-EINTR) unless
 * @domain is NULL.
 *
 * Return: 0, or an error with the group on the domain described above.
 */
/*
 * Take rg->lock once no device of the group is being removed. The way to
 * blocking waits as long as it takes (the removal is under way and does
 * not need anything a switch holds); a switch to a domain stops at a fatal
 * signal.
 */
static int iorp_replace_lock_settled(struct iommu_replace_group *rg,
				     bool killable)
{
	for (;;) {
		mutex_lock(&rg->lock);
		if (!rg->leaving)
			return 0;
		mutex_unlock(&rg->lock);
		if (!killable)
			wait_event(rg->left, !READ_ONCE(rg->leaving));
		else if (wait_event_killable(rg->left, !READ_ONCE(rg->leaving)))
			return -EINTR;
	}
}

int iommu_replace_switch(struct iommu_replace_group *rg,
			 struct iommu_domain *domain)
{
	int ret;

	ret = iorp_replace_lock_settled(rg, !!domain);
	if (ret)
		return ret;
	if (domain == rg->domain)
		goto out_unlock;
	if (rg->abandoned) {
		ret = domain ? -ENODEV : 0;
		goto out_unlock;
	}
	if (domain && iorp_should_fail(IORP_FAULT_GROUP_SWITCH)) {
		ret = -EIO;
		goto out_unlock;
	}
	if (rg->native)
		ret = iorp_switch_native(rg, domain);
	else
		ret = iorp_switch_fallback(rg, domain);
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

/* Blocking domain, then the ownership goes back to the core (if ours). */
static void iorp_replace_give_up(struct iommu_replace_group *rg)
{
	lockdep_assert_held(&rg->lock);
	if (rg->abandoned)
		return;
	if (rg->native && rg->domain)
		iommu_detach_group(rg->domain, rg->iommu_group);
	else if (!rg->native && rg->domain)
		iommu_group_for_each_dev(rg->iommu_group, rg, iorp_block_one);
	rg->domain = NULL;
	if (!rg->borrowed)
		iommu_group_release_dma_owner(rg->iommu_group);
	iommu_group_put(rg->iommu_group);
	rg->abandoned = true;
}

/**
 * iommu_replace_release() - put the hardware on the blocking domain and
 * give up the group's DMA ownership
 * @rg: a claimed group; freed
 */
void iommu_replace_release(struct iommu_replace_group *rg)
{
	/*
	 * No waiting for a device being removed: the core's own release of
	 * the ownership attaches its default domain to every device, that
	 * one too, and our domains are off the hardware either way.
	 */
	mutex_lock(&rg->lock);
	iorp_replace_give_up(rg);
	mutex_unlock(&rg->lock);
	mutex_destroy(&rg->lock);
	kfree(rg);
}
EXPORT_SYMBOL_NS_GPL(iommu_replace_release, IOMMU_REPLACE);

/**
 * iorp_replace_abandon() - the group lost its last device
 * @rg: a claimed group
 *
 * The hardware goes to the blocking domain and the ownership back to the
 * core now, as the core requires of a group that becomes empty; called at
 * the device's BUS_NOTIFY_DEL_DEVICE, before the core releases it, so the
 * walk may still touch it. @rg stays valid until iommu_replace_release();
 * switches to a domain fail.
 */
void iorp_replace_abandon(struct iommu_replace_group *rg)
{
	mutex_lock(&rg->lock);
	iorp_replace_give_up(rg);
	mutex_unlock(&rg->lock);
}

/**
 * iorp_replace_leaving() - a device of the group is being removed
 * @rg: a claimed group
 * @dev: the device (at its BUS_NOTIFY_DEL_DEVICE)
 *
 * Switches of the fallback route wait from now until iorp_replace_left():
 * the core releases the device (its driver detaches it from whatever
 * domain it is on) without the group's mutex on 6.1, and until then that
 * domain must stay. A switch under way finishes first. The native route
 * leaves all of that to the core. Moving the device itself, say to
 * blocking, is not an option: devices that share a requester ID (behind a
 * PCIe-to-PCI bridge) would all move with it.
 */
void iorp_replace_leaving(struct iommu_replace_group *rg, struct device *dev)
{
	mutex_lock(&rg->lock);
	if (!rg->native && !rg->abandoned)
		WRITE_ONCE(rg->leaving, dev);
	mutex_unlock(&rg->lock);
}

/**
 * iorp_replace_left() - a removed device is out of its group
 * @rg: a claimed group
 * @dev: the device (at its BUS_NOTIFY_REMOVED_DEVICE, after the core's)
 *
 * Forgets @dev if it was the group's leaving device; waiting switches go
 * on.
 */
void iorp_replace_left(struct iommu_replace_group *rg, struct device *dev)
{
	mutex_lock(&rg->lock);
	if (rg->leaving == dev) {
		WRITE_ONCE(rg->leaving, NULL);
		wake_up_all(&rg->left);
	}
	mutex_unlock(&rg->lock);
}

struct iorp_introduce {
	struct iommu_replace_group *rg;
	struct iommu_domain *domain;
	bool coherent;
	int ret;
};

static int iorp_introduce_dev(struct device *dev, void *data)
{
	struct iorp_introduce *intro = data;
	struct iommu_domain *domain = intro->domain;

	intro->ret = domain->ops->attach_dev(domain, dev);
	if (!intro->ret && domain->ops->enforce_cache_coherency)
		intro->coherent = domain->ops->enforce_cache_coherency(domain);
	iorp_block_dev(intro->rg->blocking, dev);
	return 1;	/* one device is enough */
}

/**
 * iorp_replace_introduce() - let an empty domain meet the group's IOMMU
 * @rg: a claimed group, blocked
 * @domain: a new, empty domain for the group's IOMMU
 * @coherent: out: the domain now forces DMA to snoop CPU caches
 *
 * A domain allocated by bus (6.1) learns its IOMMU's address width, page
 * sizes and snoop control only at its first attach, and is filled before
 * that here. While the group is blocked its first device can attach the
 * empty domain and go back to blocking (the DMA stays blocked throughout),
 * after which the domain has the real aperture, the IOMMU's superpages,
 * and cache coherency forced if the IOMMU can.
 *
 * Return: 0; -EBUSY if the group is not blocked, uses the native route or
 * is losing a device, or the driver's error.
 */
int iorp_replace_introduce(struct iommu_replace_group *rg,
			   struct iommu_domain *domain, bool *coherent)
{
	struct iorp_introduce intro = { .rg = rg, .domain = domain,
					.ret = -ENODEV };

	mutex_lock(&rg->lock);
	if (rg->native || rg->abandoned || rg->domain || rg->leaving)
		intro.ret = -EBUSY;
	else
		iommu_group_for_each_dev(rg->iommu_group, &intro,
					 iorp_introduce_dev);
	mutex_unlock(&rg->lock);
	*coherent = intro.coherent;
	return intro.ret;
}

#ifdef HAVE_IOMMU_GROUP_REPLACE_DOMAIN
MODULE_IMPORT_NS(IOMMUFD_INTERNAL);
#endif
