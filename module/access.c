// SPDX-License-Identifier: GPL-2.0-only
/*
 * access.c - emulated access: pin and copy IOAS memory for drivers that
 * emulate their DMA (the API is described in access.h).
 *
 * Pins: each pin call is recorded in access->pins with the IOAS it was made
 * in, so an unpin finds its pages even after the access moved to another
 * IOAS (or finds that the module released them: a pin the driver kept
 * through every request to drop it when the access moved). In the IO page
 * table a pin becomes, per area it covers, a shared struct iorp_access_pin
 * holder of the pages (users counts identical ranges) and one count in
 * area->num_accesses, which makes an unmap of the area ask the accesses to
 * unpin first.
 *
 * Locking (order: locking.h): access->lock guards the access's IOAS and pin
 * records; area->num_accesses and the access pin holders are guarded by
 * the area's pages->mutex, the area itself by iova_rwsem (read).
 */
#include <linux/errno.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/iommu.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include <iommu_replace/access.h>
#include <iommu_replace/fault.h>
#include <iommu_replace/io_pagetable.h>

/**
 * struct iorp_access_pinrec - one pin call of an access
 * @node: in access->pins
 * @ioas: the IOAS the pages were pinned in; NULL once the module released
 *	the pages itself, the driver having kept them past every request
 *	(the record waits for the driver's unpin, or the access's end)
 * @iova: the IOVA range pinned
 * @length: its length
 */
struct iorp_access_pinrec {
	struct list_head node;
	struct iorp_ioas *ioas;
	unsigned long iova;
	unsigned long length;
};

/**
 * iorp_access_create() - create an access, not yet attached
 * @ctx: the context whose IOASes it will use
 * @ops: the driver's callbacks; @ops->unmap is required
 * @data: the driver's cookie for them
 *
 * Return: the access or an ERR_PTR.
 */
struct iorp_access *iorp_access_create(struct iorp_ctx *ctx,
				       const struct iorp_access_ops *ops,
				       void *data)
{
	struct iorp_access *access;

	if (!ops->unmap)
		return ERR_PTR(-EINVAL);
	access = kzalloc(sizeof(*access), GFP_KERNEL_ACCOUNT);
	if (!access)
		return ERR_PTR(-ENOMEM);
	access->ctx = ctx;
	access->ops = ops;
	access->data = data;
	mutex_init(&access->attach_lock);
	mutex_init(&access->lock);
	INIT_LIST_HEAD(&access->pins);
	access->links[0].access = access;
	access->links[1].access = access;
	get_file(ctx->file);
	iorp_stat_add(IORP_STAT_ACCESSES, 1);
	return access;
}

/*
 * Join an IOAS's access list through links[link], raising the IOAS's
 * alignment to PAGE_SIZE for an access that pins.
 */
static int iorp_access_join(struct iorp_access *access, struct iorp_ioas *ioas,
			    unsigned int link)
{
	struct iorp_iopt *iopt = &ioas->iopt;
	int ret = 0;

	mutex_lock(&iopt->access_lock);
	if (access->ops->needs_pin_pages) {
		down_write(&iopt->domains_rwsem);
		down_write(&iopt->iova_rwsem);
		iopt->pinning_accesses++;
		ret = iorp_iopt_recalc_alignment(iopt);
		if (ret)
			iopt->pinning_accesses--;
		up_write(&iopt->iova_rwsem);
		up_write(&iopt->domains_rwsem);
	}
	if (!ret)
		list_add_tail(&access->links[link].node, &iopt->accesses);
	mutex_unlock(&iopt->access_lock);
	return ret;
}

static void iorp_access_leave(struct iorp_access *access,
			      struct iorp_ioas *ioas, unsigned int link)
{
	struct iorp_iopt *iopt = &ioas->iopt;

	mutex_lock(&iopt->access_lock);
	list_del(&access->links[link].node);
	if (access->ops->needs_pin_pages) {
		down_write(&iopt->domains_rwsem);
		down_write(&iopt->iova_rwsem);
		iopt->pinning_accesses--;
		WARN_ON(iorp_iopt_recalc_alignment(iopt));
		up_write(&iopt->iova_rwsem);
		up_write(&iopt->domains_rwsem);
	}
	mutex_unlock(&iopt->access_lock);
}

/*
 * Walk the areas covering [iova, iova + length) without gaps and call fn
 * on each piece; stops at the first error. iova_rwsem held. Pieces after
 * the first must start, and pieces before the last end, on page bounds of
 * their pages (so pinned page arrays never repeat a page): EINVAL else.
 */
struct iorp_piece_op {
	int (*fn)(struct iorp_area *area, unsigned long offset,
		  unsigned long len, void *arg);
};

static int iorp_walk_pieces(struct iorp_iopt *iopt, unsigned long iova,
			    unsigned long length, bool page_bounds,
			    const struct iorp_piece_op *op, void *arg)
{
	unsigned long last = iova + length - 1, pos = iova;
	struct interval_tree_node *node;
	int ret;

	lockdep_assert_held(&iopt->iova_rwsem);
	for (node = interval_tree_iter_first(&iopt->area_itree, iova, last);
	     node; node = interval_tree_iter_next(node, iova, last)) {
		struct iorp_area *area = container_of(node, struct iorp_area, iova);
		unsigned long end = min(node->last, last);
		unsigned long offset = area->start_byte + pos - node->start;

		if (node->start > pos)
			return -ENOENT;
		if (page_bounds &&
		    ((pos != iova && offset % PAGE_SIZE) ||
		     (end != last && (area->start_byte + end - node->start + 1) % PAGE_SIZE)))
			return -EINVAL;
		ret = op->fn(area, offset, end - pos + 1, arg);
		if (ret)
			return ret;
		if (end == last)
			return 0;
		pos = end + 1;
	}
	return -ENOENT;
}

/* A range to pin or copy: non-empty and not wrapping around. */
static int iorp_check_range(unsigned long iova, unsigned long length)
{
	unsigned long last;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;
	return 0;
}

/* Find the access pin holder of exactly [first, last], or NULL. */
static struct iorp_access_pin *iorp_find_pin(struct iorp_pages *pages,
					     unsigned long first,
					     unsigned long last)
{
	struct interval_tree_node *node;

	for (node = interval_tree_iter_first(&pages->access_pins, first, last);
	     node; node = interval_tree_iter_next(node, first, last))
		if (node->start == first && node->last == last)
			return container_of(node, struct iorp_access_pin, node);
	return NULL;
}

/*
 * EFAULT from memory whose process has exited becomes ESRCH: the two are
 * different answers for VFIO (type1 gives ENODEV or EPERM for the first).
 * An exited process never comes back, so the answer holds after the fact.
 */
static int iorp_access_fault(struct iorp_pages *pages, int ret)
{
	return ret == -EFAULT && iorp_pages_owner_gone(pages) ? -ESRCH : ret;
}

/*
 * Does the area allow prot? A mapping allows IOMMU_READ and IOMMU_WRITE at
 * most (its IOMMU_CACHE is the module's, not the user's): any other bit
 * asked for is refused, as type1 refuses it.
 */
static bool iorp_area_allows(struct iorp_area *area, int prot)
{
	return !(prot & ~(area->prot & (IOMMU_READ | IOMMU_WRITE)));
}

struct iorp_pin_walk {
	struct page **out;
	int prot;
	unsigned long pinned;	/* bytes pinned so far, for unwinding */
};

static int iorp_pin_piece(struct iorp_area *area, unsigned long offset,
			  unsigned long len, void *arg)
{
	unsigned long first = offset >> PAGE_SHIFT;
	unsigned long last = (offset + len - 1) >> PAGE_SHIFT;
	struct iorp_pages *pages = area->pages;
	struct iorp_pin_walk *walk = arg;
	struct iorp_access_pin *pin;
	unsigned long i;
	int ret = 0;

	if (area->unmapping)
		return -EINVAL;
	if (!iorp_area_allows(area, walk->prot))
		return -EPERM;
	mutex_lock(&pages->mutex);
	pin = iorp_find_pin(pages, first, last);
	if (pin) {
		pin->users++;
	} else {
		pin = kzalloc(sizeof(*pin), GFP_KERNEL_ACCOUNT);
		if (!pin) {
			ret = -ENOMEM;
			goto out_unlock;
		}
		pin->node.start = first;
		pin->node.last = last;
		pin->users = 1;
		ret = iorp_pages_hold_access(pages, &pin->node);
		if (ret) {
			kfree(pin);
			ret = iorp_access_fault(pages, ret);
			goto out_unlock;
		}
	}
	area->num_accesses++;
	for (i = first; i <= last; i++)
		*walk->out++ = iorp_pages_pinned_page(pages, i);
	walk->pinned += len;
out_unlock:
	mutex_unlock(&pages->mutex);
	return ret;
}

static int iorp_unpin_piece(struct iorp_area *area, unsigned long offset,
			    unsigned long len, void *arg)
{
	struct iorp_pages *pages = area->pages;
	struct iorp_access_pin *pin;

	mutex_lock(&pages->mutex);
	pin = iorp_find_pin(pages, offset >> PAGE_SHIFT,
			    (offset + len - 1) >> PAGE_SHIFT);
	if (!WARN_ON(!pin) && !--pin->users) {
		iorp_pages_unhold_access(pages, &pin->node);
		kfree(pin);
	}
	area->num_accesses--;
	mutex_unlock(&pages->mutex);
	return 0;
}

static const struct iorp_piece_op iorp_pin_op = { .fn = iorp_pin_piece };
static const struct iorp_piece_op iorp_unpin_op = { .fn = iorp_unpin_piece };

/* Release one pin call's pages, if the module has not (access->lock held). */
static void iorp_access_unpin_rec(struct iorp_access_pinrec *rec)
{
	struct iorp_iopt *iopt;

	if (!rec->ioas)
		return;
	iopt = &rec->ioas->iopt;
	down_read(&iopt->iova_rwsem);
	WARN_ON(iorp_walk_pieces(iopt, rec->iova, rec->length, false,
				 &iorp_unpin_op, NULL));
	up_read(&iopt->iova_rwsem);
	rec->ioas = NULL;
}

/* Release one pin call's pages and forget it (access->lock held). */
static void iorp_access_release_pinrec(struct iorp_access_pinrec *rec)
{
	iorp_access_unpin_rec(rec);
	list_del(&rec->node);
	kfree(rec);
}

/*
 * Pin [iova, iova + length) into out and keep rec for it in access->pins
 * (access->lock held); on failure nothing is pinned and rec is the
 * caller's to free.
 */
static int iorp_access_pin_locked(struct iorp_access *access,
				  struct iorp_access_pinrec *rec,
				  unsigned long iova, unsigned long length,
				  struct page **out, int prot)
{
	struct iorp_pin_walk walk = { .out = out, .prot = prot };
	struct iorp_iopt *iopt;
	int ret;

	lockdep_assert_held(&access->lock);
	if (!access->ioas)
		return -ENOENT;
	iopt = &access->ioas->iopt;
	down_read(&iopt->iova_rwsem);
	ret = iorp_walk_pieces(iopt, iova, length, true, &iorp_pin_op, &walk);
	if (ret && walk.pinned)
		iorp_walk_pieces(iopt, iova, walk.pinned, false,
				 &iorp_unpin_op, NULL);
	up_read(&iopt->iova_rwsem);
	if (ret)
		return ret;
	rec->ioas = access->ioas;
	rec->iova = iova;
	rec->length = length;
	list_add_tail(&rec->node, &access->pins);
	return 0;
}

/**
 * iorp_access_pin_pages() - pin the pages behind an IOVA range
 * @access: an attached access whose ops set needs_pin_pages
 * @iova: start of the range
 * @length: bytes, non-zero
 * @out: receives one page per page the range touches
 * @prot: what the mappings must allow, IOMMU_READ and/or IOMMU_WRITE (0:
 *	nothing asked, as iommufd's accesses); with IOMMU_WRITE the pages
 *	will be written
 *
 * The pages stay pinned, and the range mapped, until
 * iorp_access_unpin_pages() with the same @iova and @length. Return: 0;
 * ENOENT if the range is not fully mapped or the access not attached;
 * EPERM if a mapping does not allow @prot; EINVAL for a range being
 * unmapped; ENOMEM or EFAULT when pinning fails; ESRCH for memory not
 * pinned yet whose process has exited.
 */
int iorp_access_pin_pages(struct iorp_access *access, unsigned long iova,
			  unsigned long length, struct page **out, int prot)
{
	struct iorp_access_pinrec *rec;
	int ret;

	ret = iorp_check_range(iova, length);
	if (ret)
		return ret;
	if (WARN_ON(!access->ops->needs_pin_pages))
		return -EINVAL;
	rec = kzalloc(sizeof(*rec), GFP_KERNEL_ACCOUNT);
	if (!rec)
		return -ENOMEM;
	mutex_lock(&access->lock);
	ret = iorp_access_pin_locked(access, rec, iova, length, out, prot);
	mutex_unlock(&access->lock);
	if (ret)
		kfree(rec);
	return ret;
}

/**
 * iorp_access_pin_each_page() - pin npage pages, each a pin of its own
 * @access: an attached access whose ops set needs_pin_pages
 * @iova: start of the first page, page aligned
 * @npage: pages, 1 to IORP_ACCESS_PIN_EACH_MAX
 * @out: receives the @npage pages
 * @prot: as iorp_access_pin_pages()
 *
 * As @npage calls of iorp_access_pin_pages() of one page each, so that
 * each page is unpinned on its own; but all or nothing, and no move of
 * the access to another IOAS falls between two pages: then no page
 * pinned first can be released by a move while a later one is pinned
 * (type1's vfio_pin_pages() holds its lock likewise). Return: 0, or the
 * error of the first page that failed, as iorp_access_pin_pages(), with
 * nothing pinned.
 */
int iorp_access_pin_each_page(struct iorp_access *access, unsigned long iova,
			      unsigned int npage, struct page **out, int prot)
{
	struct iorp_access_pinrec *rec, *next;
	LIST_HEAD(spare);
	unsigned int i;
	int ret;

	if (!npage || npage > IORP_ACCESS_PIN_EACH_MAX ||
	    !PAGE_ALIGNED(iova))
		return -EINVAL;
	ret = iorp_check_range(iova, (unsigned long)npage << PAGE_SHIFT);
	if (ret)
		return ret;
	if (WARN_ON(!access->ops->needs_pin_pages))
		return -EINVAL;
	for (i = 0; i < npage; i++) {
		rec = kzalloc(sizeof(*rec), GFP_KERNEL_ACCOUNT);
		if (!rec) {
			ret = -ENOMEM;
			goto out_free;
		}
		list_add(&rec->node, &spare);
	}

	mutex_lock(&access->lock);
	for (i = 0; i < npage; i++) {
		if (i)
			iorp_pause(IORP_PAUSE_PIN_NEXT);
		rec = list_first_entry(&spare, struct iorp_access_pinrec, node);
		list_del(&rec->node);
		ret = iorp_access_pin_locked(access, rec, iova + i * PAGE_SIZE,
					     PAGE_SIZE, &out[i], prot);
		if (ret) {
			list_add(&rec->node, &spare);
			goto out_undo;
		}
	}
	mutex_unlock(&access->lock);
	return 0;

out_undo:
	/* this call's records are the last i in the list */
	while (i--) {
		rec = list_last_entry(&access->pins, struct iorp_access_pinrec,
				      node);
		iorp_access_unpin_rec(rec);
		list_move(&rec->node, &spare);
	}
	mutex_unlock(&access->lock);
out_free:
	list_for_each_entry_safe(rec, next, &spare, node)
		kfree(rec);
	return ret;
}

/*
 * Release and forget one pin call of the range: the oldest, or for a pin
 * just made (just_made), the newest that holds its pages.
 */
static void iorp_access_forget_pin(struct iorp_access *access,
				   unsigned long iova, unsigned long length,
				   bool just_made)
{
	struct iorp_access_pinrec *rec;

	mutex_lock(&access->lock);
	if (just_made) {
		list_for_each_entry_reverse(rec, &access->pins, node)
			if (rec->ioas && rec->iova == iova &&
			    rec->length == length)
				goto found;
	} else {
		list_for_each_entry(rec, &access->pins, node)
			if (rec->iova == iova && rec->length == length)
				goto found;
	}
	WARN(1, "iommu_replace: unpin of %#lx+%#lx that was never pinned\n",
	     iova, length);
	goto out_unlock;
found:
	iorp_access_release_pinrec(rec);
out_unlock:
	mutex_unlock(&access->lock);
}

/**
 * iorp_access_unpin_pages() - undo iorp_access_pin_pages()
 * @access: the access
 * @iova: as given to the pin
 * @length: as given to the pin
 *
 * Of several pins of the range, the oldest goes: it may be one the module
 * already released (the driver kept it through every request when the
 * access moved), which is only forgotten now. Pages stay pinned too long
 * rather than too short when a driver that kept a pin pinned again.
 */
void iorp_access_unpin_pages(struct iorp_access *access, unsigned long iova,
			     unsigned long length)
{
	iorp_access_forget_pin(access, iova, length, false);
}

/**
 * iorp_access_undo_pin() - undo the iorp_access_pin_pages() just made
 * @access: the access
 * @iova: as given to the pin
 * @length: as given to the pin
 *
 * For a caller's error path, right after the pin: the newest pin of the
 * range that holds its pages goes (iorp_access_unpin_pages() could take
 * an older one the module released).
 */
void iorp_access_undo_pin(struct iorp_access *access, unsigned long iova,
			  unsigned long length)
{
	iorp_access_forget_pin(access, iova, length, true);
}

struct iorp_rw_walk {
	void *buf;
	int prot;
};

static int iorp_rw_piece(struct iorp_area *area, unsigned long offset,
			 unsigned long len, void *arg)
{
	struct iorp_rw_walk *walk = arg;
	int ret;

	if (!iorp_area_allows(area, walk->prot))
		return -EPERM;
	ret = iorp_pages_rw(area->pages, offset, walk->buf, len,
			    walk->prot & IOMMU_WRITE);
	walk->buf += len;
	return iorp_access_fault(area->pages, ret);
}

static const struct iorp_piece_op iorp_rw_op = { .fn = iorp_rw_piece };

/**
 * iorp_access_rw() - copy between a kernel buffer and IOVA
 * @access: an attached access
 * @iova: start of the range
 * @buf: kernel buffer of @length bytes
 * @length: bytes, non-zero
 * @prot: what the mappings must allow, IOMMU_READ and/or IOMMU_WRITE (0:
 *	nothing asked, as iommufd's accesses); with IOMMU_WRITE @buf is
 *	copied to the IOVA range, else from it
 *
 * Pinned pages are copied even after their process has exited. Return: 0;
 * ENOENT if the range is not fully mapped or the access not attached;
 * EPERM if a mapping does not allow @prot; EFAULT if memory that is not
 * pinned cannot be reached; ESRCH if such memory's process has exited.
 */
int iorp_access_rw(struct iorp_access *access, unsigned long iova, void *buf,
		   unsigned long length, int prot)
{
	struct iorp_rw_walk walk = { .buf = buf, .prot = prot };
	int ret;

	ret = iorp_check_range(iova, length);
	if (ret)
		return ret;
	mutex_lock(&access->lock);
	if (access->ioas) {
		down_read(&access->ioas->iopt.iova_rwsem);
		ret = iorp_walk_pieces(&access->ioas->iopt, iova, length,
				       false, &iorp_rw_op, &walk);
		up_read(&access->ioas->iopt.iova_rwsem);
	} else {
		ret = -ENOENT;
	}
	mutex_unlock(&access->lock);
	return ret;
}

/*
 * Ask the driver to drop every pin it made in old, as unmaps would: for
 * the first pin left in old, the range from the start of the area holding
 * its first byte to the end of the area holding its last (one mapping for
 * a VFIO pin, which is one page; type1 names a whole mapping too). No pin
 * can land in old meanwhile (access->ioas is not old). A pin the driver
 * keeps through a request and IORP_ACCESS_UNMAP_TRIES more is passed over
 * (the ones passed over are the first in the list), so the pins after it
 * are still asked for; iorp_access_drop_pins() then releases what was kept.
 */
#define IORP_ACCESS_UNMAP_TRIES 3

static void iorp_access_unmap_old(struct iorp_access *access,
				  struct iorp_ioas *old)
{
	struct iorp_access_pinrec *rec, *prev = NULL;
	unsigned int tries = 0, passed = 0;

	lockdep_assert_held(&access->attach_lock);
	for (;;) {
		struct interval_tree_node *node;
		unsigned long iova, length, last;
		unsigned int skip = passed;
		bool found = false;

		mutex_lock(&access->lock);
		list_for_each_entry(rec, &access->pins, node) {
			if (rec->ioas == old && !skip--) {
				found = true;
				iova = rec->iova;
				length = rec->length;
				break;
			}
		}
		mutex_unlock(&access->lock);
		if (!found)
			return;
		/* rec is only compared: it may be freed by now */
		if (rec == prev && ++tries > IORP_ACCESS_UNMAP_TRIES) {
			passed++;
			prev = NULL;
			continue;
		}
		if (rec != prev)
			tries = 0;
		prev = rec;

		/* pins never wrap (iorp_check_range()), nor do areas */
		down_read(&old->iopt.iova_rwsem);
		last = iova + length - 1;
		node = interval_tree_iter_first(&old->iopt.area_itree, iova, iova);
		if (node)
			iova = node->start;
		node = interval_tree_iter_first(&old->iopt.area_itree, last, last);
		if (node)
			last = node->last;
		length = last - iova + 1;
		up_read(&old->iopt.iova_rwsem);
		access->ops->unmap(access->data, iova, length);
		cond_resched();
	}
}

/*
 * Pins the driver left behind in ioas, a driver bug: release their pages.
 * The records stay until the driver unpins, so that unpin is no surprise.
 */
static void iorp_access_drop_pins(struct iorp_access *access,
				  struct iorp_ioas *ioas)
{
	struct iorp_access_pinrec *rec;

	mutex_lock(&access->lock);
	list_for_each_entry(rec, &access->pins, node) {
		if (rec->ioas != ioas)
			continue;
		WARN_ONCE(1, "iommu_replace: access driver kept a pin after unmap\n");
		iorp_access_unpin_rec(rec);
	}
	mutex_unlock(&access->lock);
}

/*
 * Move the access from its IOAS (possibly none) to new (possibly NULL).
 * The access joins new before it leaves the old IOAS, so if joining fails
 * nothing changed. While the driver is asked to drop its pins in the old
 * IOAS, the access has no IOAS: pins and copies fail (ENOENT), so no pin
 * of either IOAS is made, or unpinned in place of another, in between.
 * Takes over the caller's reference on new.
 */
static int iorp_access_change_ioas(struct iorp_access *access,
				   struct iorp_ioas *new)
{
	unsigned int new_link = !access->link;
	struct iorp_ioas *old;
	int ret;

	lockdep_assert_held(&access->attach_lock);
	old = access->ioas;
	if (new) {
		ret = iorp_access_join(access, new, new_link);
		if (ret) {
			iorp_object_put(access->ctx, &new->obj);
			return ret;
		}
	}
	if (old) {
		mutex_lock(&access->lock);
		access->ioas = NULL;
		mutex_unlock(&access->lock);
		/* the driver drops every pin it made in the old IOAS */
		iorp_access_unmap_old(access, old);
		iorp_access_drop_pins(access, old);
		iorp_access_leave(access, old, access->link);
		iorp_object_put(access->ctx, &old->obj);
	}
	mutex_lock(&access->lock);
	access->ioas = new;
	mutex_unlock(&access->lock);
	if (new)
		access->link = new_link;
	return 0;
}

/**
 * iorp_access_attach() - attach a detached access to an IOAS
 * @access: the access
 * @ioas_id: the IOAS
 *
 * Return: 0; ENOENT for an unknown IOAS; EINVAL if already attached;
 * EADDRINUSE if the access pins and the IOAS has mappings that are not
 * page aligned.
 */
int iorp_access_attach(struct iorp_access *access, u32 ioas_id)
{
	struct iorp_ioas *ioas;
	int ret = -EINVAL;

	mutex_lock(&access->attach_lock);
	if (!access->ioas) {
		ioas = iorp_ioas_get(access->ctx, ioas_id);
		ret = IS_ERR(ioas) ? PTR_ERR(ioas) :
				     iorp_access_change_ioas(access, ioas);
	}
	mutex_unlock(&access->attach_lock);
	return ret;
}

/**
 * iorp_access_replace() - move an attached access to another IOAS
 * @access: the access
 * @ioas_id: the new IOAS
 *
 * The driver's unmap callback is asked to drop every pin on the old IOAS
 * (area by area; meanwhile pins and copies fail with ENOENT). On failure
 * the access stays on its old IOAS. Return: as
 * iorp_access_attach(), but EINVAL if the access is not attached.
 */
int iorp_access_replace(struct iorp_access *access, u32 ioas_id)
{
	struct iorp_ioas *ioas;
	int ret = -EINVAL;

	mutex_lock(&access->attach_lock);
	if (access->ioas) {
		ioas = iorp_ioas_get(access->ctx, ioas_id);
		if (IS_ERR(ioas)) {
			ret = PTR_ERR(ioas);
		} else if (ioas == access->ioas) {
			iorp_object_put(access->ctx, &ioas->obj);
			ret = 0;
		} else {
			ret = iorp_access_change_ioas(access, ioas);
		}
	}
	mutex_unlock(&access->attach_lock);
	return ret;
}

/**
 * iorp_access_detach() - detach an access (no-op if detached)
 * @access: the access
 */
void iorp_access_detach(struct iorp_access *access)
{
	mutex_lock(&access->attach_lock);
	if (access->ioas)
		iorp_access_change_ioas(access, NULL);
	mutex_unlock(&access->attach_lock);
}

/**
 * iorp_access_destroy() - detach and free an access
 * @access: the access
 */
void iorp_access_destroy(struct iorp_access *access)
{
	struct iorp_access_pinrec *rec, *next;
	struct file *file = access->ctx->file;

	iorp_access_detach(access);
	/* only pins the module released are left, and never unpinned */
	list_for_each_entry_safe(rec, next, &access->pins, node) {
		WARN_ON(rec->ioas);
		list_del(&rec->node);
		kfree(rec);
	}
	mutex_destroy(&access->lock);
	mutex_destroy(&access->attach_lock);
	kfree(access);
	iorp_stat_add(IORP_STAT_ACCESSES, -1);
	fput(file);
}
