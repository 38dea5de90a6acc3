// SPDX-License-Identifier: GPL-2.0-only
/*
 * io_pagetable.c - the IO page table of an IOAS: areas, reserved and
 * allowed IOVA, IOVA allocation, and keeping every domain filled.
 *
 * Data structures: io_pagetable.h; lock order: locking.h. The invariant this file
 * keeps: while iopt->domains is non-empty every area is populated (its pages
 * held and pinned) and mapped into every domain; while it is empty no area
 * holds pages for domains. Every operation either completes or leaves the
 * table, the domains and the pins as they were.
 *
 * Unmapping an area that emulated accesses have pinned asks the accesses to
 * unpin (their unmap callback) with the IOVA locks dropped, then retries.
 */
#include <linux/errno.h>
#include <linux/iommu.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/scatterlist.h>
#include <linux/sched/signal.h>
#include <linux/sizes.h>
#include <linux/slab.h>

#include <iommu_replace/access.h>
#include <iommu_replace/compat.h>
#include <iommu_replace/device.h>
#include <iommu_replace/fault.h>
#include <iommu_replace/io_pagetable.h>

/* An access keeps refusing to unpin an area: give up after this many tries. */
#define IORP_UNMAP_MAX_TRIES 100

/* A piece of pages to map at consecutive IOVA (MAP has one, COPY many). */
struct iorp_map_elem {
	struct iorp_pages *pages;
	unsigned long start_byte;
	unsigned long length;
};

void iorp_iopt_init(struct iorp_iopt *iopt)
{
	init_rwsem(&iopt->domains_rwsem);
	init_rwsem(&iopt->iova_rwsem);
	iopt->area_itree = RB_ROOT_CACHED;
	iopt->reserved_itree = RB_ROOT_CACHED;
	iopt->allowed_itree = RB_ROOT_CACHED;
	INIT_LIST_HEAD(&iopt->domains);
	iopt->iova_alignment = 1;
	mutex_init(&iopt->access_lock);
	INIT_LIST_HEAD(&iopt->accesses);
}

static struct iorp_area *iorp_area_first(struct iorp_iopt *iopt,
					 unsigned long start,
					 unsigned long last)
{
	struct interval_tree_node *node;

	node = interval_tree_iter_first(&iopt->area_itree, start, last);
	return node ? container_of(node, struct iorp_area, iova) : NULL;
}

/*
 * The area after area in IOVA order if it starts at or before last, else
 * NULL. Areas never overlap: the next in the tree's order is the next one,
 * with no search from the root.
 */
static struct iorp_area *iorp_area_next(struct iorp_area *area,
					unsigned long last)
{
	struct rb_node *node;

	if (area->iova.last >= last)
		return NULL;
	node = rb_next(&area->iova.rb);
	if (!node)
		return NULL;
	area = container_of(node, struct iorp_area, iova.rb);
	return area->iova.start <= last ? area : NULL;
}

/*
 * Unmap IOVA from a domain where failing is not an option: what an IOMMU
 * failed to unmap is tried once more.
 */
static void iorp_domain_unmap(struct iommu_domain *domain, unsigned long iova,
			      size_t len)
{
	size_t done = iommu_unmap(domain, iova, len);

	if (done < len)
		done += iommu_unmap(domain, iova + done, len - done);
	WARN_ON(done != len);
}

static void iorp_area_unmap(struct iorp_area *area, struct iommu_domain *domain)
{
	iorp_domain_unmap(domain, iorp_area_iova(area), iorp_area_length(area));
}

/*
 * Pieces of an area mapped per IOMMU call: the call syncs the IOTLB once
 * for all of them (an IOMMU in caching mode, like a VMM's virtual VT-d,
 * flushes at every sync).
 */
#define IORP_MAP_PIECES		64

/*
 * Map bytes [from, to) of the area (offsets from its first byte) into a
 * domain from the runs of its hold: each run is a piece of its own (so the
 * IOMMU can use large pages where the run and the IOVA allow them), and up
 * to IORP_MAP_PIECES pieces go in one call. With large pages disabled each
 * page is mapped by a call of its own: one call joins pieces that follow
 * one another in memory, and would map them with larger IO pages. All or
 * nothing. A killable map (one the caller
 * asked for, which may be long) stops at a fatal signal (EINTR); one that
 * puts a mapping back must not.
 */
static int iorp_area_map_range(struct iorp_area *area,
			       struct iommu_domain *domain, unsigned long from,
			       unsigned long to, bool killable)
{
	struct iorp_domain_hold *hold = &area->hold;
	struct iorp_pages *pages = area->pages;
	unsigned long area_begin = area->start_byte + from;
	unsigned long area_end = area->start_byte + to;
	unsigned long first = area_begin >> PAGE_SHIFT;
	unsigned long last = (area_end - 1) >> PAGE_SHIFT;
	bool large = !area->iopt->disable_large_pages;
	unsigned long index = first, i;
	struct scatterlist *sgl, fallback[2];
	unsigned int room = large ? IORP_MAP_PIECES : 1;
	int ret = 0;

	lockdep_assert_held(&area->iopt->iova_rwsem);
	/* never more pieces than pages; a short range needs no allocation */
	room = min_t(unsigned long, room, last - first + 1);
	/* putting a mapping back must not fail for want of a page: two do */
	sgl = room > ARRAY_SIZE(fallback) ?
	      kmalloc_array(room, sizeof(*sgl), GFP_KERNEL | __GFP_NOWARN) :
	      NULL;
	if (!sgl) {
		sgl = fallback;
		room = min_t(unsigned int, room, ARRAY_SIZE(fallback));
	}
	mutex_lock(&pages->mutex);
	if (WARN_ON(!area->populated || hold->filled !=
		    hold->node.last - hold->node.start + 1)) {
		ret = -EFAULT;
		goto out_unlock;
	}
	i = iorp_hold_run_at(hold, first);
	while (index <= last) {
		unsigned long batch = index, lo0 = 0;
		unsigned int nents = 0;
		size_t len = 0;
		ssize_t mapped;

		sg_init_table(sgl, room);
		for (; index <= last && nents < room; nents++) {
			unsigned long run_last = min(iorp_hold_run_last(hold, i),
						     last);
			/* a scatterlist entry holds less than 4 GiB */
			unsigned long n = min(run_last - index + 1,
					      SZ_1G >> PAGE_SHIFT);
			struct page *page = pfn_to_page(iorp_hold_pfn(hold, i,
								      index));
			unsigned long lo, hi;

			if (!large)
				n = 1;
			/* the bytes of the pages that belong to the range */
			lo = max(index << PAGE_SHIFT, area_begin);
			hi = min((index + n) << PAGE_SHIFT, area_end);
			if (!nents)
				lo0 = lo;
			sg_set_page(&sgl[nents], page, hi - lo, lo & ~PAGE_MASK);
			len += hi - lo;
			index += n;
			if (index > run_last)
				i++;
		}
		sg_mark_end(&sgl[nents - 1]);
		if (killable && fatal_signal_pending(current))
			ret = -EINTR;
		else if (iorp_should_fail(IORP_FAULT_IOMMU_MAP))
			ret = -ENOMEM;
		if (ret) {
			index = batch;
			break;
		}
		cond_resched();
		/* on failure the call unmaps what it mapped itself */
		mapped = iorp_iommu_map_sg(domain, iorp_area_iova(area) + lo0 -
					   area->start_byte, sgl, nents,
					   area->prot);
		if (mapped != len) {
			ret = mapped < 0 ? mapped : -EIO;
			if (WARN_ON(mapped >= 0) && mapped)
				iorp_domain_unmap(domain,
						  iorp_area_iova(area) + lo0 -
						  area->start_byte, mapped);
			index = batch;
			break;
		}
	}
out_unlock:
	mutex_unlock(&pages->mutex);
	if (sgl != fallback)
		kfree(sgl);
	if (ret && index > first)
		iorp_domain_unmap(domain, iorp_area_iova(area) + from,
				  (index << PAGE_SHIFT) - area_begin);
	return ret;
}

/* Map the whole area into a domain; all or nothing. */
static int iorp_area_map(struct iorp_area *area, struct iommu_domain *domain,
			 bool killable)
{
	return iorp_area_map_range(area, domain, 0, iorp_area_length(area),
				   killable);
}

static int iorp_area_populate(struct iorp_area *area)
{
	int ret;

	mutex_lock(&area->pages->mutex);
	ret = iorp_pages_hold_domain(area->pages, &area->hold);
	mutex_unlock(&area->pages->mutex);
	if (!ret)
		area->populated = true;
	return ret;
}

static void iorp_area_depopulate(struct iorp_area *area)
{
	mutex_lock(&area->pages->mutex);
	iorp_pages_unhold_domain(area->pages, &area->hold);
	mutex_unlock(&area->pages->mutex);
	area->populated = false;
}

/* Make a new area mapped in every domain; undone on failure. */
static int iorp_area_fill_domains(struct iorp_iopt *iopt, struct iorp_area *area)
{
	struct iorp_hwpt *hwpt, *failed;
	int ret;

	if (list_empty(&iopt->domains))
		return 0;
	ret = iorp_area_populate(area);
	if (ret)
		return ret;
	list_for_each_entry(hwpt, &iopt->domains, iopt_node) {
		ret = iorp_area_map(area, hwpt->domain, true);
		if (ret)
			goto err_unmap;
	}
	return 0;

err_unmap:
	failed = hwpt;
	list_for_each_entry(hwpt, &iopt->domains, iopt_node) {
		if (hwpt == failed)
			break;
		iorp_area_unmap(area, hwpt->domain);
	}
	iorp_area_depopulate(area);
	return ret;
}

/* Take an area no domain maps any more out of the table, and free it. */
static void iorp_area_free(struct iorp_iopt *iopt, struct iorp_area *area)
{
	lockdep_assert_held_write(&iopt->iova_rwsem);
	if (area->populated)
		iorp_area_depopulate(area);
	interval_tree_remove(&area->iova, &iopt->area_itree);
	iorp_pages_put(area->pages);
	kfree(area);
}

/* Take an area out of every domain and the table, and free it. */
static void iorp_area_destroy(struct iorp_iopt *iopt, struct iorp_area *area)
{
	struct iorp_hwpt *hwpt;

	lockdep_assert_held(&iopt->domains_rwsem);
	if (area->populated)
		list_for_each_entry(hwpt, &iopt->domains, iopt_node)
			iorp_area_unmap(area, hwpt->domain);
	iorp_area_free(iopt, area);
}

/* Is [iova, iova + length) acceptable for a new mapping? */
static int iorp_iopt_check_iova(struct iorp_iopt *iopt, unsigned long iova,
				unsigned long length)
{
	unsigned long last;

	lockdep_assert_held(&iopt->iova_rwsem);
	if (iova & (iopt->iova_alignment - 1))
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;
	if (interval_tree_iter_first(&iopt->reserved_itree, iova, last))
		return -EINVAL;
	if (interval_tree_iter_first(&iopt->area_itree, iova, last))
		return -EEXIST;
	return 0;
}

/* Find IOVA in the window [start, last] for length bytes aligned to align. */
static bool iorp_iopt_find_in_window(struct iorp_iopt *iopt,
				     unsigned long start, unsigned long last,
				     unsigned long length, unsigned long align,
				     unsigned long *iova)
{
	struct rb_root_cached *const used[] = {
		&iopt->area_itree,
		&iopt->reserved_itree,
	};
	unsigned long pos = start, hole_last, candidate;

	while (iorp_next_hole(used, ARRAY_SIZE(used), &pos, last, &hole_last)) {
		if (!check_add_overflow(pos, align - 1, &candidate)) {
			candidate &= ~(align - 1);
			if (candidate <= hole_last &&
			    hole_last - candidate >= length - 1) {
				*iova = candidate;
				return true;
			}
		}
		if (hole_last == last)
			break;
		pos = hole_last + 1;
	}
	return false;
}

/*
 * Choose IOVA for a new mapping: the lowest free IOVA, inside the allowed
 * ranges if there are any, never in the first or last page, aligned as much
 * as the length and the user address allow (up to a huge page) so the
 * mapping can use large IOMMU pages.
 */
static int iorp_iopt_alloc_iova(struct iorp_iopt *iopt, unsigned long *iova,
				unsigned long uaddr, unsigned long length)
{
	const unsigned long lowest = PAGE_SIZE, highest = ULONG_MAX - PAGE_SIZE;
	struct interval_tree_node *allowed;
	unsigned long align;

	lockdep_assert_held(&iopt->iova_rwsem);
	if (length >= ULONG_MAX / 2)
		return -EOVERFLOW;
	align = roundup_pow_of_two(length);
	if (uaddr)
		align = min(align, 1UL << __ffs(uaddr));
	align = min_t(unsigned long, align, PMD_SIZE);
	if (align < iopt->iova_alignment)
		return -EINVAL;

	if (RB_EMPTY_ROOT(&iopt->allowed_itree.rb_root))
		return iorp_iopt_find_in_window(iopt, lowest, highest, length,
						align, iova) ? 0 : -ENOSPC;
	for (allowed = interval_tree_iter_first(&iopt->allowed_itree, lowest,
						highest);
	     allowed;
	     allowed = interval_tree_iter_next(allowed, lowest, highest)) {
		if (iorp_iopt_find_in_window(iopt, max(allowed->start, lowest),
					     min(allowed->last, highest),
					     length, align, iova))
			return 0;
		/* the caller chose how many ranges there are */
		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
	}
	return -ENOSPC;
}

/*
 * Map elems at consecutive IOVA, one area each: at *iova if fixed, else at
 * allocated IOVA returned in *iova. uaddr_hint guides the alignment.
 */
static int iorp_iopt_map_elems(struct iorp_iopt *iopt,
			       struct iorp_map_elem *elems, unsigned int nelems,
			       unsigned long *iova, unsigned long uaddr_hint,
			       unsigned long length, int prot, bool fixed)
{
	struct iorp_area **areas, *one_area = NULL;
	unsigned long next_iova;
	unsigned int i, done = 0;
	int ret;

	/* a MAP has one element: no array for it */
	areas = nelems == 1 ? &one_area :
		kvcalloc(nelems, sizeof(*areas), GFP_KERNEL_ACCOUNT);
	if (!areas)
		return -ENOMEM;
	for (i = 0; i < nelems; i++) {
		areas[i] = kzalloc(sizeof(*areas[i]), GFP_KERNEL_ACCOUNT);
		if (!areas[i]) {
			ret = -ENOMEM;
			goto out_free;
		}
		cond_resched();
	}

	down_read(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);
	if (length & (iopt->iova_alignment - 1)) {
		ret = -EINVAL;
		goto out_unlock;
	}
	if (fixed)
		ret = iorp_iopt_check_iova(iopt, *iova, length);
	else
		ret = iorp_iopt_alloc_iova(iopt, iova, uaddr_hint, length);
	if (ret)
		goto out_unlock;

	/* check every element before changing anything */
	for (i = 0; i < nelems; i++) {
		if (((elems[i].start_byte % PAGE_SIZE) |
		     elems[i].length) & (iopt->iova_alignment - 1)) {
			ret = -EINVAL;
			goto out_unlock;
		}
		if ((prot & IOMMU_WRITE) && !elems[i].pages->writable) {
			ret = -EPERM;
			goto out_unlock;
		}
	}

	next_iova = *iova;
	for (done = 0; done < nelems; done++) {
		struct iorp_area *area = areas[done];
		struct iorp_map_elem *elem = &elems[done];

		area->iopt = iopt;
		area->pages = elem->pages;
		area->start_byte = elem->start_byte;
		area->prot = prot;
		area->iova.start = next_iova;
		area->iova.last = next_iova + elem->length - 1;
		area->hold.node.start = elem->start_byte >> PAGE_SHIFT;
		area->hold.node.last = (elem->start_byte + elem->length - 1) >>
				       PAGE_SHIFT;
		ret = iorp_area_fill_domains(iopt, area);
		if (ret)
			break;
		kref_get(&area->pages->kref);
		interval_tree_insert(&area->iova, &iopt->area_itree);
		areas[done] = NULL;
		next_iova += elem->length;
	}
	if (ret) {
		/* the areas of this call are the ones at [*iova, next_iova) */
		while (done--) {
			struct iorp_area *area;

			area = iorp_area_first(iopt, *iova, next_iova - 1);
			iorp_area_destroy(iopt, area);
			cond_resched();
		}
	}
out_unlock:
	up_write(&iopt->iova_rwsem);
	up_read(&iopt->domains_rwsem);
out_free:
	for (i = 0; i < nelems; i++)
		kfree(areas[i]);
	if (areas != &one_area)
		kvfree(areas);
	return ret;
}

/**
 * iorp_iopt_map_user() - map user memory of the calling process
 * @ctx: the context (for its accounting mode)
 * @iopt: the IO page table
 * @iova: in if @fixed, else out
 * @uaddr: user address
 * @length: bytes, non-zero; uaddr + length must not overflow
 * @prot: IOMMU_READ / IOMMU_WRITE
 * @fixed: map at *iova
 *
 * Return: 0, or an error with nothing changed.
 */
int iorp_iopt_map_user(struct iorp_ctx *ctx, struct iorp_iopt *iopt,
		       unsigned long *iova, unsigned long uaddr,
		       unsigned long length, int prot, bool fixed)
{
	struct iorp_map_elem elem;
	int ret;

	elem.pages = iorp_pages_create(uaddr, length, prot & IOMMU_WRITE,
				       READ_ONCE(ctx->account_mode));
	if (IS_ERR(elem.pages))
		return PTR_ERR(elem.pages);
	elem.start_byte = uaddr - elem.pages->uaddr;
	elem.length = length;
	ret = iorp_iopt_map_elems(iopt, &elem, 1, iova, uaddr, length, prot,
				  fixed);
	iorp_pages_put(elem.pages);
	return ret;
}

/**
 * iorp_iopt_copy() - map memory already mapped in another IOAS
 * @dst: the IO page table to map into
 * @src: the IO page table holding the source range (may be @dst)
 * @dst_iova: in if @fixed, else out
 * @src_iova: start of the source range
 * @length: bytes, non-zero, without overflow
 * @prot: IOMMU_READ / IOMMU_WRITE
 * @fixed: map at *dst_iova
 *
 * The source range must be covered by areas without gaps (ENOENT). The new
 * areas share the source's pages, so nothing is pinned twice.
 */
int iorp_iopt_copy(struct iorp_iopt *dst, struct iorp_iopt *src,
		   unsigned long *dst_iova, unsigned long src_iova,
		   unsigned long length, int prot, bool fixed)
{
	unsigned long last = src_iova + length - 1, pos = src_iova;
	struct iorp_map_elem *elems = NULL;
	unsigned int nelems = 0, i;
	struct iorp_area *area;
	int ret = 0;

	down_read(&src->iova_rwsem);
	/* count the areas first (the caller chose how many), then record them */
	for (area = iorp_area_first(src, src_iova, last); area;
	     area = iorp_area_next(area, last)) {
		if (area->iova.start > pos) {
			ret = -ENOENT;	/* a gap */
			goto out_unlock;
		}
		if (!(++nelems % 1024)) {
			if (fatal_signal_pending(current)) {
				ret = -EINTR;
				goto out_unlock;
			}
			cond_resched();
		}
		if (area->iova.last >= last)
			break;
		pos = area->iova.last + 1;
	}
	if (!area) {
		ret = -ENOENT;
		goto out_unlock;
	}
	elems = kvcalloc(nelems, sizeof(*elems), GFP_KERNEL_ACCOUNT);
	if (!elems) {
		ret = -ENOMEM;
		goto out_unlock;
	}
	pos = src_iova;
	for (i = 0, area = iorp_area_first(src, src_iova, last); i < nelems;
	     i++, area = iorp_area_next(area, last)) {
		unsigned long end = min(area->iova.last, last);

		elems[i].pages = area->pages;
		elems[i].start_byte = area->start_byte + pos -
				      iorp_area_iova(area);
		elems[i].length = end - pos + 1;
		kref_get(&area->pages->kref);
		pos = end + 1;
		cond_resched();
	}
out_unlock:
	up_read(&src->iova_rwsem);
	if (ret)
		return ret;

	ret = iorp_iopt_map_elems(dst, elems, nelems, dst_iova,
				  elems[0].pages->uaddr + elems[0].start_byte,
				  length, prot, fixed);
	for (i = 0; i < nelems; i++)
		iorp_pages_put(elems[i].pages);
	kvfree(elems);
	return ret;
}

/* Ask every access of the IOAS to drop its pins in a range. */
static void iorp_iopt_notify_unmap(struct iorp_iopt *iopt, unsigned long iova,
				   unsigned long length)
{
	struct iorp_access_link *link;

	mutex_lock(&iopt->access_lock);
	list_for_each_entry(link, &iopt->accesses, node)
		link->access->ops->unmap(link->access->data, iova, length);
	mutex_unlock(&iopt->access_lock);
}

/* Let accesses pin in areas of [start, last] again after a failed unmap. */
static void iorp_iopt_clear_unmapping(struct iorp_iopt *iopt,
				      unsigned long start, unsigned long last)
{
	struct iorp_area *area;

	lockdep_assert_held_write(&iopt->iova_rwsem);
	for (area = iorp_area_first(iopt, start, last); area;
	     area = iorp_area_next(area, last))
		area->unmapping = false;
}

/*
 * Take the areas of [start, last] out of every domain, all or none: if an
 * IOMMU fails to unmap one, everything unmapped so far is mapped back and
 * the call fails with EIO. first is the first of them (iorp_area_first()),
 * looked up under the same hold of iova_rwsem.
 */
static int iorp_iopt_unmap_domains(struct iorp_iopt *iopt,
				   struct iorp_area *first, unsigned long last)
{
	struct iorp_area *area, *failed_area;
	struct iorp_hwpt *hwpt, *failed_hwpt;

	lockdep_assert_held(&iopt->domains_rwsem);
	lockdep_assert_held_write(&iopt->iova_rwsem);
	list_for_each_entry(hwpt, &iopt->domains, iopt_node) {
		for (area = first; area; area = iorp_area_next(area, last)) {
			size_t len = iorp_area_length(area);

			if (iommu_unmap(hwpt->domain, iorp_area_iova(area),
					len) != len)
				goto err_remap;
			cond_resched();
		}
	}
	return 0;

err_remap:
	failed_hwpt = hwpt;
	failed_area = area;
	/* finish the failed one, so it can be mapped back whole */
	iorp_area_unmap(failed_area, failed_hwpt->domain);
	list_for_each_entry(hwpt, &iopt->domains, iopt_node) {
		for (area = first; area; area = iorp_area_next(area, last)) {
			WARN_ON(iorp_area_map(area, hwpt->domain, false));
			if (hwpt == failed_hwpt && area == failed_area)
				return -EIO;
		}
	}
	return -EIO;
}

static int iorp_iopt_unmap_range(struct iorp_iopt *iopt, unsigned long start,
				 unsigned long last, bool empty_ok,
				 unsigned long *unmapped)
{
	unsigned long total = 0, asked_iova = 0;
	unsigned int tries = 0, area_tries = 0;
	struct iorp_area *area, *first, *next, *pinned;
	int ret;

again:
	down_read(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);
	/*
	 * Mappings are never split: refuse before changing anything. Note
	 * the first area an access still pins.
	 */
	pinned = NULL;
	first = iorp_area_first(iopt, start, last);
	for (area = first; area; area = iorp_area_next(area, last)) {
		if (area->iova.start < start || area->iova.last > last) {
			/* a MAP in a hole meanwhile: forget what was asked */
			if (tries)
				iorp_iopt_clear_unmapping(iopt, start, last);
			up_write(&iopt->iova_rwsem);
			up_read(&iopt->domains_rwsem);
			return -ENOENT;
		}
		if (area->num_accesses && !pinned)
			pinned = area;
		cond_resched();
	}
	/* accesses let go of their pins first */
	if (pinned) {
		unsigned long iova = iorp_area_iova(pinned);
		unsigned long len = iorp_area_length(pinned);

		pinned->unmapping = true;
		up_write(&iopt->iova_rwsem);
		up_read(&iopt->domains_rwsem);
		/*
		 * The budget is per area, as type1's retries are per mapping:
		 * no new pin lands in an area being unmapped, so only a driver
		 * that keeps its pins exhausts it. Maps into holes of the
		 * range meanwhile can make new areas to ask: a fatal signal
		 * ends the wait.
		 */
		if (!tries++ || iova != asked_iova)
			area_tries = 0;
		asked_iova = iova;
		ret = ++area_tries > IORP_UNMAP_MAX_TRIES ? -EDEADLOCK :
		      fatal_signal_pending(current) ? -EINTR : 0;
		if (ret) {
			/* every area asked so far, not only this one */
			down_write(&iopt->iova_rwsem);
			iorp_iopt_clear_unmapping(iopt, start, last);
			up_write(&iopt->iova_rwsem);
			return ret;
		}
		iorp_iopt_notify_unmap(iopt, iova, len);
		goto again;
	}
	ret = iorp_iopt_unmap_domains(iopt, first, last);
	if (ret) {
		iorp_iopt_clear_unmapping(iopt, start, last);
		goto out_unlock;
	}
	for (area = first; area; area = next) {
		next = iorp_area_next(area, last);
		total += iorp_area_length(area);
		iorp_area_free(iopt, area);
		cond_resched();
	}
	if (!total && !empty_ok)
		ret = -ENOENT;
	else
		*unmapped = total;
out_unlock:
	up_write(&iopt->iova_rwsem);
	up_read(&iopt->domains_rwsem);
	return ret;
}

/**
 * iorp_iopt_unmap() - remove the mappings inside a range
 * @iopt: the IO page table
 * @iova: start
 * @length: bytes, non-zero, without overflow
 * @unmapped: out: bytes removed
 *
 * Return: 0; ENOENT if the range holds no mapping or cuts one; EIO if an
 * IOMMU failed to unmap (nothing changed); EDEADLOCK if an access never
 * lets go of its pins; EINTR for a fatal signal while accesses are asked.
 */
int iorp_iopt_unmap(struct iorp_iopt *iopt, unsigned long iova,
		    unsigned long length, unsigned long *unmapped)
{
	return iorp_iopt_unmap_range(iopt, iova, iova + length - 1, false,
				     unmapped);
}

int iorp_iopt_unmap_all(struct iorp_iopt *iopt, unsigned long *unmapped)
{
	return iorp_iopt_unmap_range(iopt, 0, ULONG_MAX, true, unmapped);
}

/**
 * iorp_iopt_unmap_type1() - VFIO type1's unmap of a range
 * @iopt: the IO page table
 * @iova: start
 * @length: bytes, non-zero, without overflow
 * @v1: type1 v1: a range that starts inside a mapping unmaps nothing
 *      (success, size 0); else every mapping that starts in the range goes,
 *      whole, even past its end. Else (v2) a range that cuts a mapping
 *      changes nothing (EINVAL)
 * @unmapped: out: bytes removed; 0 for a range with no mapping
 *
 * Return: 0; EINVAL for a cut (v2, or v1 racing a map into the range);
 * EIO, EDEADLOCK, EINTR as iorp_iopt_unmap().
 */
int iorp_iopt_unmap_type1(struct iorp_iopt *iopt, unsigned long iova,
			  unsigned long length, bool v1,
			  unsigned long *unmapped)
{
	unsigned long start = iova, last = iova + length - 1;
	struct iorp_area *area;
	int ret;

	*unmapped = 0;
	if (v1) {
		down_read(&iopt->iova_rwsem);
		area = iorp_area_first(iopt, start, last);
		if (area && area->iova.start < start) {
			up_read(&iopt->iova_rwsem);
			return 0;
		}
		area = iorp_area_first(iopt, last, last);
		if (area)
			last = area->iova.last;
		up_read(&iopt->iova_rwsem);
	}
	ret = iorp_iopt_unmap_range(iopt, start, last, true, unmapped);
	return ret == -ENOENT ? -EINVAL : ret;
}

/**
 * iorp_iopt_pgsize_bitmap() - the IO page sizes every domain supports
 * @iopt: the IO page table
 *
 * As VFIO type1 reports them: the sizes of PAGE_SIZE and up that all of
 * the IOAS's domains have, PAGE_SIZE standing for smaller ones; every size
 * from PAGE_SIZE up while there is no domain.
 */
unsigned long iorp_iopt_pgsize_bitmap(struct iorp_iopt *iopt)
{
	unsigned long bitmap = PAGE_MASK;
	struct iorp_hwpt *hwpt;

	down_read(&iopt->domains_rwsem);
	list_for_each_entry(hwpt, &iopt->domains, iopt_node) {
		unsigned long sizes = hwpt->domain->pgsize_bitmap;

		if (sizes & ~PAGE_MASK)
			sizes = (sizes & PAGE_MASK) | PAGE_SIZE;
		bitmap &= sizes;
	}
	up_read(&iopt->domains_rwsem);
	return bitmap;
}

static int __iorp_iopt_reserve(struct iorp_iopt *iopt, unsigned long start,
			       unsigned long last, const void *owner)
{
	struct iorp_reserved *reserved;

	lockdep_assert_held_write(&iopt->iova_rwsem);
	if (interval_tree_iter_first(&iopt->area_itree, start, last) ||
	    interval_tree_iter_first(&iopt->allowed_itree, start, last))
		return -EADDRINUSE;
	reserved = kzalloc(sizeof(*reserved), GFP_KERNEL_ACCOUNT);
	if (!reserved)
		return -ENOMEM;
	reserved->node.start = start;
	reserved->node.last = last;
	reserved->owner = owner;
	interval_tree_insert(&reserved->node, &iopt->reserved_itree);
	return 0;
}

/* Drop the reservations of @owner, or all of them for a NULL owner. */
static void __iorp_iopt_unreserve(struct iorp_iopt *iopt, const void *owner)
{
	struct interval_tree_node *node, *next;

	lockdep_assert_held_write(&iopt->iova_rwsem);
	for (node = interval_tree_iter_first(&iopt->reserved_itree, 0, ULONG_MAX);
	     node; node = next) {
		struct iorp_reserved *reserved =
			container_of(node, struct iorp_reserved, node);

		next = interval_tree_iter_next(node, 0, ULONG_MAX);
		if (owner && reserved->owner != owner)
			continue;
		interval_tree_remove(node, &iopt->reserved_itree);
		kfree(reserved);
	}
}

/**
 * iorp_iopt_reserve() - make IOVA unusable for mappings
 * @iopt: the IO page table
 * @start: first IOVA
 * @last: last IOVA (inclusive)
 * @owner: identifies the reservation for iorp_iopt_unreserve()
 *
 * Return: 0, or EADDRINUSE if a mapping or an allowed range is there.
 */
int iorp_iopt_reserve(struct iorp_iopt *iopt, unsigned long start,
		      unsigned long last, const void *owner)
{
	int ret;

	down_write(&iopt->iova_rwsem);
	ret = __iorp_iopt_reserve(iopt, start, last, owner);
	up_write(&iopt->iova_rwsem);
	return ret;
}

/* Drop every reservation of @owner. */
void iorp_iopt_unreserve(struct iorp_iopt *iopt, const void *owner)
{
	down_write(&iopt->iova_rwsem);
	__iorp_iopt_unreserve(iopt, owner);
	up_write(&iopt->iova_rwsem);
}

/**
 * iorp_iopt_set_allowed() - replace the allowed ranges
 * @iopt: the IO page table
 * @allowed: the new ranges, disjoint, or NULL for none; the table takes
 *           them on success
 * @tree: an interval tree of exactly @allowed's nodes
 *
 * Each reservation is looked up in the new tree, not each new range among
 * the reservations: a caller chooses how many ranges there are.
 * Return: 0, or EADDRINUSE if a reserved range intersects one of them.
 */
int iorp_iopt_set_allowed(struct iorp_iopt *iopt, struct iorp_allowed *allowed,
			  struct rb_root_cached *tree)
{
	struct interval_tree_node *node;
	struct iorp_allowed *old;

	down_write(&iopt->iova_rwsem);
	for (node = interval_tree_iter_first(&iopt->reserved_itree, 0, ULONG_MAX);
	     node; node = interval_tree_iter_next(node, 0, ULONG_MAX)) {
		if (interval_tree_iter_first(tree, node->start, node->last)) {
			up_write(&iopt->iova_rwsem);
			return -EADDRINUSE;
		}
	}
	old = iopt->allowed;
	iopt->allowed = allowed;
	iopt->allowed_itree = *tree;
	up_write(&iopt->iova_rwsem);
	kvfree(old);
	return 0;
}

/*
 * The alignment the table needs: the smallest page of every domain, and
 * PAGE_SIZE for pinning accesses or with large pages disabled. Fails if it
 * would exceed PAGE_SIZE (EINVAL) or an existing area breaks it
 * (EADDRINUSE). extra is a domain about to be added, or NULL.
 */
static int iorp_iopt_alignment(struct iorp_iopt *iopt,
			       struct iommu_domain *extra,
			       unsigned long *alignment)
{
	unsigned long align = 1, mask;
	struct iorp_hwpt *hwpt;
	struct iorp_area *area;

	lockdep_assert_held(&iopt->domains_rwsem);
	lockdep_assert_held(&iopt->iova_rwsem);
	list_for_each_entry(hwpt, &iopt->domains, iopt_node)
		align = max(align, 1UL << __ffs(hwpt->domain->pgsize_bitmap));
	if (extra)
		align = max(align, 1UL << __ffs(extra->pgsize_bitmap));
	if (iopt->pinning_accesses || iopt->disable_large_pages)
		align = max(align, PAGE_SIZE);
	if (align > PAGE_SIZE)
		return -EINVAL;
	mask = align - 1;
	for (area = iorp_area_first(iopt, 0, ULONG_MAX); area;
	     area = iorp_area_next(area, ULONG_MAX)) {
		if ((iorp_area_iova(area) | iorp_area_length(area) |
		     (area->start_byte % PAGE_SIZE)) & mask)
			return -EADDRINUSE;
		cond_resched();
	}
	*alignment = align;
	return 0;
}

/* Recompute the alignment after a change that needs it (locks held). */
int iorp_iopt_recalc_alignment(struct iorp_iopt *iopt)
{
	unsigned long align;
	int ret;

	lockdep_assert_held_write(&iopt->iova_rwsem);
	ret = iorp_iopt_alignment(iopt, NULL, &align);
	if (!ret)
		iopt->iova_alignment = align;
	return ret;
}

/**
 * iorp_iopt_add_domain() - start keeping a HWPT's domain filled
 * @iopt: the IO page table
 * @hwpt: the HWPT, whose domain is empty
 *
 * Reserves the IOVA outside the domain's aperture, pins what the areas need
 * if this is the first domain, and maps every area. Return: 0, or an error
 * with nothing changed.
 */
int iorp_iopt_add_domain(struct iorp_iopt *iopt, struct iorp_hwpt *hwpt)
{
	struct iommu_domain *domain = hwpt->domain;
	const struct iommu_domain_geometry *geo = &domain->geometry;
	struct iorp_area *area, *failed;
	bool first;
	unsigned long align;
	int ret;

	down_write(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);
	first = list_empty(&iopt->domains);
	ret = iorp_iopt_alignment(iopt, domain, &align);
	if (ret)
		goto out_unlock;
	if (geo->aperture_start) {
		ret = __iorp_iopt_reserve(iopt, 0, geo->aperture_start - 1, hwpt);
		if (ret)
			goto out_unreserve;
	}
	if (geo->aperture_end != ULONG_MAX) {
		ret = __iorp_iopt_reserve(iopt, geo->aperture_end + 1,
					  ULONG_MAX, hwpt);
		if (ret)
			goto out_unreserve;
	}

	for (area = iorp_area_first(iopt, 0, ULONG_MAX); area;
	     area = iorp_area_next(area, ULONG_MAX)) {
		if (first) {
			ret = iorp_area_populate(area);
			if (ret)
				goto err_unmap;
		}
		ret = iorp_area_map(area, domain, true);
		if (ret) {
			if (first)
				iorp_area_depopulate(area);
			goto err_unmap;
		}
	}
	list_add_tail(&hwpt->iopt_node, &iopt->domains);
	iopt->iova_alignment = align;
	goto out_unlock;

err_unmap:
	failed = area;
	for (area = iorp_area_first(iopt, 0, ULONG_MAX); area != failed;
	     area = iorp_area_next(area, ULONG_MAX)) {
		iorp_area_unmap(area, domain);
		if (first)
			iorp_area_depopulate(area);
		cond_resched();
	}
out_unreserve:
	__iorp_iopt_unreserve(iopt, hwpt);
out_unlock:
	up_write(&iopt->iova_rwsem);
	up_write(&iopt->domains_rwsem);
	return ret;
}

/**
 * iorp_iopt_remove_domain() - stop keeping a HWPT's domain filled
 * @iopt: the IO page table
 * @hwpt: a HWPT added with iorp_iopt_add_domain(); no device may use it
 *
 * Unmaps every area from the domain and, if it was the last domain, unpins
 * what only domains needed.
 */
void iorp_iopt_remove_domain(struct iorp_iopt *iopt, struct iorp_hwpt *hwpt)
{
	struct iorp_area *area;

	down_write(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);
	list_del(&hwpt->iopt_node);
	for (area = iorp_area_first(iopt, 0, ULONG_MAX); area;
	     area = iorp_area_next(area, ULONG_MAX)) {
		iorp_area_unmap(area, hwpt->domain);
		if (list_empty(&iopt->domains))
			iorp_area_depopulate(area);
		/* as many areas as the user made: not killable, must finish */
		cond_resched();
	}
	__iorp_iopt_unreserve(iopt, hwpt);
	WARN_ON(iorp_iopt_recalc_alignment(iopt));
	up_write(&iopt->iova_rwsem);
	up_write(&iopt->domains_rwsem);
}

/**
 * iorp_iopt_set_large_pages() - IOMMU_OPTION_HUGE_PAGES
 * @iopt: the IO page table
 * @enable: map contiguous memory with large pages (the default)
 *
 * Disabling requires PAGE_SIZE alignment of every area (EADDRINUSE) and is
 * refused once domains hold mappings (EINVAL).
 */
int iorp_iopt_set_large_pages(struct iorp_iopt *iopt, bool enable)
{
	int ret = 0;

	down_write(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);
	if (iopt->disable_large_pages == !enable)
		goto out_unlock;	/* no change */
	if (!enable && !list_empty(&iopt->domains) &&
	    !RB_EMPTY_ROOT(&iopt->area_itree.rb_root)) {
		ret = -EINVAL;
		goto out_unlock;
	}
	iopt->disable_large_pages = !enable;
	ret = iorp_iopt_recalc_alignment(iopt);
	if (ret)
		iopt->disable_large_pages = enable;
out_unlock:
	up_write(&iopt->iova_rwsem);
	up_write(&iopt->domains_rwsem);
	return ret;
}

/* The IOAS is going away: no domain or access uses it any more. */
void iorp_iopt_destroy(struct iorp_iopt *iopt)
{
	struct iorp_area *area;

	WARN_ON(!list_empty(&iopt->domains) || !list_empty(&iopt->accesses));
	down_read(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);
	while ((area = iorp_area_first(iopt, 0, ULONG_MAX))) {
		iorp_area_destroy(iopt, area);
		cond_resched();
	}
	__iorp_iopt_unreserve(iopt, NULL);
	kvfree(iopt->allowed);
	iopt->allowed = NULL;
	iopt->allowed_itree = RB_ROOT_CACHED;
	up_write(&iopt->iova_rwsem);
	up_read(&iopt->domains_rwsem);
	mutex_destroy(&iopt->access_lock);
}

#ifdef IORP_TEST
/**
 * iorp_iopt_iopte_size() - the size of the IO page mapping an IOVA
 * @iopt: the IO page table
 * @domain: one of its domains
 * @iova: a mapped IOVA
 * @size: out: the size
 *
 * Unmaps the page at @iova, which the IOMMU widens to the whole IO page
 * holding it, and maps that range back from the area's pinned pages. The
 * device must not use the range meanwhile (test flavour only).
 * Return: 0; ENOENT if no area maps @iova in a domain.
 */
int iorp_iopt_iopte_size(struct iorp_iopt *iopt, struct iommu_domain *domain,
			 unsigned long iova, size_t *size)
{
	unsigned long base, from, to;
	struct iorp_area *area;
	int ret = -ENOENT;

	down_read(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);
	area = iorp_area_first(iopt, iova, iova);
	if (!area || !area->populated)
		goto out_unlock;
	*size = iommu_unmap(domain, iova & PAGE_MASK, PAGE_SIZE);
	ret = 0;
	if (!*size)
		goto out_unlock;
	/* the IO page, clipped to the area, goes back as it was */
	base = (iova & PAGE_MASK) & ~(*size - 1);
	from = max(base, iorp_area_iova(area)) - iorp_area_iova(area);
	to = min(base + *size - 1, area->iova.last) - iorp_area_iova(area) + 1;
	ret = iorp_area_map_range(area, domain, from, to, false);
out_unlock:
	up_write(&iopt->iova_rwsem);
	up_read(&iopt->domains_rwsem);
	return ret;
}
#endif
