// SPDX-License-Identifier: GPL-2.0-only
/*
 * pages.c - pinning user memory once, however many users it has.
 *
 * A struct iorp_pages describes user memory of one process. Its pages are
 * pinned while a holder covers them (see io_pagetable.h): holding a range
 * pins the indexes no other holder covers yet, and releasing it unpins the
 * indexes nothing covers any more, so a page is pinned once however many
 * domains, IOASes and accesses use it. Each holder can name its pages: a
 * domain hold records them as runs of page frames (pfn_runs.c), built from
 * the batches it pinned and from the holders that had them already; an
 * access pin's pages are kept in pages->pinned. Releasing a holder unpins
 * from its own record, after the caller unmapped the pages everywhere, and
 * allocates nothing.
 *
 * Accounting: every page pinned is charged to RLIMIT_MEMLOCK (the user's
 * locked_vm, or the process's in IORP_ACCOUNT_MM mode; not at all for a
 * mapper with CAP_IPC_LOCK) and to the process's pinned_vm, one batch at a
 * time before it is recorded; every page unpinned is uncharged. A charge
 * that would exceed the limit fails the pin with ENOMEM.
 *
 * Pinning goes through pin_user_pages_fast() when the caller is the owning
 * process and pin_user_pages_remote() otherwise (an fd passed or inherited
 * across fork), in batches whose buffer is capped by the temporary memory
 * limit (a test command lowers it to exercise batch boundaries).
 *
 * Locking (order: locking.h): pages->mutex guards everything in struct
 * iorp_pages but the kref; callers of the hold functions take it.
 */
#include <linux/capability.h>
#include <linux/highmem.h>
#include <linux/kref.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/sched/user.h>
#include <linux/slab.h>

#include <iommu_replace/compat.h>
#include <iommu_replace/fault.h>
#include <iommu_replace/io_pagetable.h>

/* Largest temporary buffer the pinning loop allocates, in bytes. */
static size_t iorp_temp_memory_limit = 65536;

/* Pins of up to this many pages take their page array from the stack. */
#define IORP_PIN_SMALL_BATCH	8

void iorp_set_temp_memory_limit(size_t bytes)
{
	WRITE_ONCE(iorp_temp_memory_limit, bytes);
}

/**
 * iorp_pages_create() - describe user memory of the calling process
 * @uaddr: first byte
 * @length: bytes (non-zero; uaddr + length must not overflow)
 * @writable: to be pinned for write
 * @mode: how pinning it will be charged
 *
 * Nothing is pinned yet. Return: the pages with one reference, or ERR_PTR.
 */
struct iorp_pages *iorp_pages_create(unsigned long uaddr, unsigned long length,
				     bool writable,
				     enum iorp_account_mode mode)
{
	struct iorp_pages *pages;

	pages = kzalloc(sizeof(*pages), GFP_KERNEL_ACCOUNT);
	if (!pages)
		return ERR_PTR(-ENOMEM);
	kref_init(&pages->kref);
	mutex_init(&pages->mutex);
	pages->uaddr = uaddr & PAGE_MASK;
	pages->npages = (PAGE_ALIGN(uaddr + length) - pages->uaddr) >> PAGE_SHIFT;
	pages->writable = writable;
	/* as for mlock(), CAP_IPC_LOCK lifts RLIMIT_MEMLOCK */
	pages->account_mode = capable(CAP_IPC_LOCK) ? IORP_ACCOUNT_NONE : mode;
	xa_init_flags(&pages->pinned, XA_FLAGS_ACCOUNT);
	pages->domain_holders = RB_ROOT_CACHED;
	pages->access_pins = RB_ROOT_CACHED;

	mmgrab(current->mm);
	pages->mm = current->mm;
	get_task_struct(current->group_leader);
	pages->task = current->group_leader;
	pages->user = get_uid(current_user());
	return pages;
}

static void iorp_pages_release(struct kref *kref)
{
	struct iorp_pages *pages = container_of(kref, struct iorp_pages, kref);

	WARN_ON(pages->npinned || !xa_empty(&pages->pinned));
	WARN_ON(!RB_EMPTY_ROOT(&pages->domain_holders.rb_root) ||
		!RB_EMPTY_ROOT(&pages->access_pins.rb_root));
	/* only a leak (warned above) leaves it anything to free */
	if (!xa_empty(&pages->pinned))
		xa_destroy(&pages->pinned);
	free_uid(pages->user);
	put_task_struct(pages->task);
	mmdrop(pages->mm);
	mutex_destroy(&pages->mutex);
	kfree(pages);
}

void iorp_pages_put(struct iorp_pages *pages)
{
	kref_put(&pages->kref, iorp_pages_release);
}

/* RLIMIT_MEMLOCK for IORP_ACCOUNT_USER: the user's locked_vm. */
static int iorp_account_user(struct iorp_pages *pages, long npages)
{
	atomic_long_t *locked = &pages->user->locked_vm;
	unsigned long limit, cur;

	if (npages < 0) {
		WARN_ON(atomic_long_read(locked) < -npages);
		atomic_long_add(npages, locked);
		return 0;
	}
	limit = task_rlimit(pages->task, RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	cur = atomic_long_read(locked);
	do {
		if (cur + npages > limit)
			return -ENOMEM;
	} while (!atomic_long_try_cmpxchg(locked, &cur, cur + npages));
	return 0;
}

/* RLIMIT_MEMLOCK for IORP_ACCOUNT_MM: the process's locked_vm. */
static int iorp_account_mm(struct iorp_pages *pages, long npages)
{
	int ret;

	/* A process that is gone has no locked_vm left to uncharge. */
	if (!mmget_not_zero(pages->mm))
		return npages < 0 ? 0 : -EFAULT;
	mmap_write_lock(pages->mm);
	ret = __account_locked_vm(pages->mm, abs(npages), npages > 0,
				  pages->task, false);
	mmap_write_unlock(pages->mm);
	mmput(pages->mm);
	return ret;
}

/* Charge (npages > 0) or uncharge (npages < 0) pinned pages. */
static int iorp_pages_account(struct iorp_pages *pages, long npages)
{
	int ret;

	switch (pages->account_mode) {
	case IORP_ACCOUNT_USER:
		ret = iorp_account_user(pages, npages);
		break;
	case IORP_ACCOUNT_MM:
		ret = iorp_account_mm(pages, npages);
		break;
	default:
		ret = 0;
		break;
	}
	if (ret)
		return ret;
	atomic64_add(npages, &pages->mm->pinned_vm);
	iorp_stat_add(IORP_STAT_PINNED_PAGES, npages);
	return 0;
}

/*
 * A read-only long-term pin where GUP breaks copy-on-write of anonymous
 * pages only (6.1): a private file mapping the process may write is pinned
 * for write instead, which breaks copy-on-write now, as newer GUP does for
 * such a pin, rather than when the process writes and leaves the device
 * on the file's page. Anonymous memory (GUP unshares it itself) and shared
 * mappings are pinned read-only; nothing is forced: a mapping the process
 * cannot write (read-only, PROT_NONE) is pinned as it is, or not at all.
 * One mapping at a time, under mmap_lock, so the flags fit the mapping.
 */
static long iorp_pin_user_ro_cow(struct mm_struct *mm, unsigned long uaddr,
				 unsigned long n, unsigned int flags,
				 struct page **out)
{
	struct vm_area_struct *vma;
	long got = -EFAULT;

	mmap_read_lock(mm);
	vma = vma_lookup(mm, uaddr);
	if (vma) {
		n = min(n, (vma->vm_end - uaddr) >> PAGE_SHIFT);
		if (vma->vm_file &&
		    (vma->vm_flags & (VM_WRITE | VM_SHARED)) == VM_WRITE)
			flags |= FOLL_WRITE;
		got = iorp_pin_user_pages_remote(mm, uaddr, n, flags, out);
	}
	mmap_read_unlock(mm);
	return got;
}

static long iorp_pin_user(struct iorp_pages *pages, unsigned long uaddr,
			  unsigned long n, unsigned int flags, struct page **out)
{
	bool ro_cow = !IORP_GUP_UNSHARES_FILE_PAGES &&
		      (flags & (FOLL_LONGTERM | FOLL_WRITE)) == FOLL_LONGTERM;
	long got;

	if (current->mm == pages->mm && !ro_cow)
		return pin_user_pages_fast(uaddr, n, flags, out);
	if (!mmget_not_zero(pages->mm))
		return -EFAULT;
	if (ro_cow) {
		got = iorp_pin_user_ro_cow(pages->mm, uaddr, n, flags, out);
	} else {
		mmap_read_lock(pages->mm);
		got = iorp_pin_user_pages_remote(pages->mm, uaddr, n, flags,
						 out);
		mmap_read_unlock(pages->mm);
	}
	mmput(pages->mm);
	return got;
}

/*
 * Pin up to n pages from index, from the owning process; returns how many
 * (at least one) or an error. longterm pins are what holders keep; short
 * ones serve a single read or write. Memory is pinned as the process may
 * use it, never forced: a read-only pin of memory the process cannot read
 * fails with EFAULT (see also iorp_pin_user_ro_cow()).
 */
static long iorp_pages_get_user(struct iorp_pages *pages, unsigned long index,
				unsigned long n, struct page **out,
				bool longterm, bool write)
{
	unsigned long uaddr = pages->uaddr + (index << PAGE_SHIFT);
	unsigned int flags = (longterm ? FOLL_LONGTERM : 0) |
			     (write ? FOLL_WRITE : 0);
	long got;

	iorp_pause(IORP_PAUSE_PIN);
	if (iorp_should_fail(IORP_FAULT_PIN))
		return -ENOMEM;
	got = iorp_pin_user(pages, uaddr, n, flags, out);
	if (got == 0)
		return -EFAULT;
	return got;
}

/* Drop n entries from index on out of pages->pinned, in one locked walk. */
static void iorp_pages_forget(struct iorp_pages *pages, unsigned long index,
			      unsigned long n)
{
	XA_STATE(xas, &pages->pinned, index);
	struct page *page;

	xas_lock(&xas);
	xas_for_each(&xas, page, index + n - 1)
		xas_store(&xas, NULL);
	xas_unlock(&xas);
}

/* Unpin n pages that follow one another from page, adding them to *count. */
static void iorp_pages_unpin_run(struct iorp_pages *pages, struct page *page,
				 unsigned long n, unsigned long *count)
{
	unpin_user_page_range_dirty_lock(page, n, pages->writable);
	*count += n;
}

/* Uncharge what the unpins of one call counted. */
static void iorp_pages_unpinned(struct iorp_pages *pages, unsigned long count)
{
	if (count) {
		pages->npinned -= count;
		iorp_pages_account(pages, -(long)count);
	}
}

/*
 * A physically contiguous run of pages in pages->pinned from index, up to
 * last: the first page, and the run's length in *run (0 if index is not
 * there).
 */
static struct page *iorp_pages_xa_run(struct iorp_pages *pages,
				      unsigned long index, unsigned long last,
				      unsigned long *run)
{
	XA_STATE(xas, &pages->pinned, index);
	struct page *first;
	unsigned long n = 1;

	lockdep_assert_held(&pages->mutex);
	rcu_read_lock();
	first = xas_load(&xas);
	while (first && index + n <= last && xas_next(&xas) == nth_page(first, n))
		n++;
	rcu_read_unlock();
	*run = first ? n : 0;
	return first;
}

/*
 * Unpin and forget every page pages->pinned holds in [first, last], which
 * no holder covers. Unpinning may sleep, so no xa_lock is held across it.
 */
static void iorp_pages_unpin_xa_range(struct iorp_pages *pages,
				      unsigned long first, unsigned long last)
{
	unsigned long index = first, count = 0, run;
	struct page *page;

	lockdep_assert_held(&pages->mutex);
	while (xa_find(&pages->pinned, &index, last, XA_PRESENT)) {
		page = iorp_pages_xa_run(pages, index, last, &run);
		iorp_pages_forget(pages, index, run);
		iorp_pages_unpin_run(pages, page, run, &count);
		index += run;
		if (index > last)
			break;
		cond_resched();
	}
	iorp_pages_unpinned(pages, count);
}

/* Store a batch pinned at index; on failure nothing of it is kept. */
static int iorp_pages_store(struct iorp_pages *pages, unsigned long index,
			    struct page **batch, unsigned long n)
{
	XA_STATE(xas, &pages->pinned, index);
	unsigned long stored = 0;
	int ret;

	/* one locked walk; a missing xarray node is allocated and the walk resumed */
	do {
		xas_lock(&xas);
		while (stored < n) {
			xas_store(&xas, batch[stored]);
			if (xas_error(&xas))
				break;
			stored++;
			xas_next(&xas);
		}
		xas_unlock(&xas);
	} while (xas_nomem(&xas, GFP_KERNEL_ACCOUNT));
	ret = xas_error(&xas);
	if (ret && stored)
		iorp_pages_forget(pages, index, stored);
	return ret;
}

/*
 * Where the pages pinned in a batch go: into a domain hold's runs, or
 * into pages->pinned for an access. All or nothing.
 */
static int iorp_pages_record(struct iorp_pages *pages,
			     struct iorp_domain_hold *hold, unsigned long index,
			     struct page **batch, unsigned long n)
{
	if (hold)
		return iorp_hold_add_pages(hold, batch, n);
	return iorp_pages_store(pages, index, batch, n);
}

/*
 * Pin [first, last], which no holder covers, and record the pages (see
 * iorp_pages_record()). Every batch is charged and recorded before the
 * next is pinned; on failure the batches before stay pinned and recorded,
 * for the caller to unwind, and the failed one is released here.
 */
static int iorp_pages_pin_range(struct iorp_pages *pages,
				struct iorp_domain_hold *hold,
				unsigned long first, unsigned long last)
{
	size_t limit = READ_ONCE(iorp_temp_memory_limit);
	struct page **batch, *small_batch[IORP_PIN_SMALL_BATCH];
	unsigned long index = first, batch_len;
	int ret = 0;

	lockdep_assert_held(&pages->mutex);
	batch_len = min(last - first + 1,
			max_t(size_t, limit / sizeof(*batch), 1));
	/* a few pages (a one-page MAP) need no allocation */
	batch = batch_len <= ARRAY_SIZE(small_batch) ? small_batch :
		kmalloc_array(batch_len, sizeof(*batch),
			      GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!batch)
		return -ENOMEM;

	while (index <= last) {
		long got;

		/* the caller chose the length: a fatal signal ends it */
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		cond_resched();
		got = iorp_pages_get_user(pages, index,
					  min(last - index + 1, batch_len),
					  batch, true, pages->writable);
		if (got < 0) {
			ret = got;
			break;
		}
		ret = iorp_pages_account(pages, got);
		if (ret) {
			unpin_user_pages(batch, got);
			break;
		}
		ret = iorp_pages_record(pages, hold, index, batch, got);
		if (ret) {
			iorp_pages_account(pages, -got);
			unpin_user_pages(batch, got);
			break;
		}
		pages->npinned += got;
		index += got;
	}
	if (batch != small_batch)
		kfree(batch);
	return ret;
}

/* The next range of [*pos, last] no holder of any kind covers. */
static bool iorp_pages_next_hole(struct iorp_pages *pages, unsigned long *pos,
				 unsigned long last, unsigned long *hole_last)
{
	struct rb_root_cached *const trees[] = {
		&pages->domain_holders,
		&pages->access_pins,
	};

	return iorp_next_hole(trees, ARRAY_SIZE(trees), pos, last, hole_last);
}

/* The next range of [*pos, last] no access pin covers. */
static bool iorp_pages_next_unpinned(struct iorp_pages *pages,
				     unsigned long *pos, unsigned long last,
				     unsigned long *hole_last)
{
	struct rb_root_cached *const trees[] = { &pages->access_pins };

	return iorp_next_hole(trees, ARRAY_SIZE(trees), pos, last, hole_last);
}

/*
 * The end of the hole of [pos, last] that starts at pos, which the caller
 * found uncovered (an access pin's indexes are all in pages->pinned).
 */
static int iorp_pages_hole_at(struct iorp_pages *pages, unsigned long pos,
			      unsigned long last, unsigned long *hole_last)
{
	unsigned long start = pos;

	if (WARN_ON(!iorp_pages_next_hole(pages, &start, last, hole_last) ||
		    start != pos))
		return -EINVAL;
	return 0;
}

static struct iorp_domain_hold *iorp_pages_domain_hold(struct iorp_pages *pages,
						       unsigned long index)
{
	struct interval_tree_node *node;

	node = interval_tree_iter_first(&pages->domain_holders, index, index);
	return node ? container_of(node, struct iorp_domain_hold, node) : NULL;
}

/*
 * Unpin the pages a domain hold (not in the tree) records in [first, last]
 * that no holder covers.
 */
static void iorp_hold_unpin_holes(struct iorp_pages *pages,
				  struct iorp_domain_hold *hold,
				  unsigned long first, unsigned long last)
{
	unsigned long pos = first, hole_last, count = 0;

	while (iorp_pages_next_hole(pages, &pos, last, &hole_last)) {
		unsigned long i = iorp_hold_run_at(hold, pos);

		while (pos <= hole_last) {
			unsigned long end = min(iorp_hold_run_last(hold, i),
						hole_last);

			iorp_pages_unpin_run(pages,
					     pfn_to_page(iorp_hold_pfn(hold, i, pos)),
					     end - pos + 1, &count);
			pos = end + 1;
			i++;
			cond_resched();
		}
		if (hole_last == last)
			break;
	}
	iorp_pages_unpinned(pages, count);
}

/**
 * iorp_pages_hold_domain() - hold pages for domains, pinning what it needs
 * @pages: the pages (pages->mutex held)
 * @hold: its index range set; its runs are built here and it is inserted
 *        into pages->domain_holders on success
 *
 * Indexes other holders cover are recorded from them, the others pinned.
 * Return: 0, or an error with nothing changed.
 */
int iorp_pages_hold_domain(struct iorp_pages *pages,
			   struct iorp_domain_hold *hold)
{
	unsigned long pos = hold->node.start, last = hold->node.last;
	int ret = 0;

	lockdep_assert_held(&pages->mutex);
	if (WARN_ON(last >= pages->npages))
		return -EINVAL;
	iorp_hold_init_runs(hold);
	while (pos <= last) {
		struct iorp_domain_hold *other = iorp_pages_domain_hold(pages, pos);
		unsigned long end, run = 0;
		struct page *page = NULL;

		if (!other)
			page = iorp_pages_xa_run(pages, pos, last, &run);
		if (other) {
			end = min(other->node.last, last);
			ret = iorp_hold_copy(hold, other, pos, end);
		} else if (page) {
			/* pages an access pinned */
			end = pos + run - 1;
			ret = iorp_hold_add_run(hold, page_to_pfn(page), run);
		} else {
			/* nobody covers pos: a hole starts there */
			ret = iorp_pages_hole_at(pages, pos, last, &end) ?:
			      iorp_pages_pin_range(pages, hold, pos, end);
		}
		if (ret)
			goto err_unwind;
		pos = end + 1;
		cond_resched();
	}
	iorp_hold_trim_runs(hold);
	interval_tree_insert(&hold->node, &pages->domain_holders);
	return 0;

err_unwind:
	/* what this call pinned is the holes among the indexes it recorded */
	if (hold->filled)
		iorp_hold_unpin_holes(pages, hold, hold->node.start,
				      hold->node.start + hold->filled - 1);
	iorp_hold_free_runs(hold);
	return ret;
}

/**
 * iorp_pages_unhold_domain() - release a domain hold, unpinning what nobody
 * else holds
 * @pages: the pages (pages->mutex held)
 * @hold: a hold taken with iorp_pages_hold_domain()
 *
 * The caller has unmapped the pages from every domain. Allocates nothing.
 */
void iorp_pages_unhold_domain(struct iorp_pages *pages,
			      struct iorp_domain_hold *hold)
{
	lockdep_assert_held(&pages->mutex);
	interval_tree_remove(&hold->node, &pages->domain_holders);
	iorp_hold_unpin_holes(pages, hold, hold->node.start, hold->node.last);
	iorp_hold_free_runs(hold);
}

/*
 * Put the pages of [first, last], which no access pin covers, into
 * pages->pinned: from the domain holds that cover them, else pinned. On
 * failure the caller unwinds what was stored.
 */
static int iorp_pages_fill_xarray(struct iorp_pages *pages,
				  unsigned long first, unsigned long last)
{
	unsigned long pos = first;
	int ret = 0;

	while (pos <= last) {
		struct iorp_domain_hold *hold = iorp_pages_domain_hold(pages, pos);
		unsigned long end;

		if (hold) {
			unsigned long i = iorp_hold_run_at(hold, pos);

			end = min(hold->node.last, last);
			while (!ret && pos <= end) {
				unsigned long run_last = min(iorp_hold_run_last(hold, i),
							     end);
				unsigned long pfn = iorp_hold_pfn(hold, i, pos);

				for (; !ret && pos <= run_last; pos++, pfn++) {
					ret = xa_err(xa_store(&pages->pinned, pos,
							      pfn_to_page(pfn),
							      GFP_KERNEL_ACCOUNT));
					if (!(pos % 1024))
						cond_resched();
				}
				i++;
			}
		} else {
			/* no holder of any kind covers pos: a hole starts there */
			ret = iorp_pages_hole_at(pages, pos, last, &end) ?:
			      iorp_pages_pin_range(pages, NULL, pos, end);
		}
		if (ret)
			return ret;
		pos = end + 1;
	}
	return 0;
}

/*
 * Take the indexes of [first, last] that no access pin covers (any more)
 * out of pages->pinned, unpinning those no domain hold covers either.
 */
static void iorp_pages_drop_access_range(struct iorp_pages *pages,
					 unsigned long first,
					 unsigned long last)
{
	unsigned long pos = first, seg_last;

	while (iorp_pages_next_unpinned(pages, &pos, last, &seg_last)) {
		unsigned long hole = pos, hole_last;

		while (iorp_pages_next_hole(pages, &hole, seg_last, &hole_last)) {
			iorp_pages_unpin_xa_range(pages, hole, hole_last);
			if (hole_last == seg_last)
				break;
			hole = hole_last + 1;
		}
		iorp_pages_forget(pages, pos, seg_last - pos + 1);
		if (seg_last == last)
			break;
		pos = seg_last + 1;
	}
}

/**
 * iorp_pages_hold_access() - add an access pin, pinning what it needs
 * @pages: the pages (pages->mutex held)
 * @node: its index range; inserted into pages->access_pins on success
 *
 * Afterwards pages->pinned holds every index of @node.
 * Return: 0, or an error with nothing changed.
 */
int iorp_pages_hold_access(struct iorp_pages *pages,
			   struct interval_tree_node *node)
{
	unsigned long pos = node->start, seg_last;
	int ret;

	lockdep_assert_held(&pages->mutex);
	if (WARN_ON(node->last >= pages->npages))
		return -EINVAL;
	while (iorp_pages_next_unpinned(pages, &pos, node->last, &seg_last)) {
		ret = iorp_pages_fill_xarray(pages, pos, seg_last);
		if (ret) {
			/* what this call stored is in the unpinned ranges */
			iorp_pages_drop_access_range(pages, node->start,
						     node->last);
			return ret;
		}
		if (seg_last == node->last)
			break;
		pos = seg_last + 1;
	}
	interval_tree_insert(node, &pages->access_pins);
	return 0;
}

/**
 * iorp_pages_unhold_access() - remove an access pin, unpinning what nobody
 * else holds
 * @pages: the pages (pages->mutex held)
 * @node: a pin added with iorp_pages_hold_access()
 */
void iorp_pages_unhold_access(struct iorp_pages *pages,
			      struct interval_tree_node *node)
{
	lockdep_assert_held(&pages->mutex);
	interval_tree_remove(node, &pages->access_pins);
	iorp_pages_drop_access_range(pages, node->start, node->last);
}

/**
 * iorp_pages_pinned_page() - the page pinned at an index
 * @pages: the pages (pages->mutex held)
 * @index: a page index
 *
 * Return: the page an access pin or a domain hold keeps pinned there, or
 * NULL if no holder covers @index.
 */
struct page *iorp_pages_pinned_page(struct iorp_pages *pages,
				    unsigned long index)
{
	struct iorp_domain_hold *hold;
	struct page *page;
	unsigned long i;

	lockdep_assert_held(&pages->mutex);
	page = xa_load(&pages->pinned, index);
	if (page)
		return page;
	hold = iorp_pages_domain_hold(pages, index);
	if (!hold)
		return NULL;
	i = iorp_hold_run_at(hold, index);
	return pfn_to_page(iorp_hold_pfn(hold, i, index));
}

/**
 * iorp_pages_owner_gone() - has the process whose memory this is exited?
 * @pages: the pages
 *
 * Once true it stays true: an address space whose users have all gone
 * never gets one back.
 */
bool iorp_pages_owner_gone(struct iorp_pages *pages)
{
	return !atomic_read(&pages->mm->mm_users);
}

/**
 * iorp_pages_rw() - copy between a kernel buffer and the user memory
 * @pages: the pages
 * @offset: byte offset from pages->uaddr
 * @buf: kernel buffer
 * @length: bytes
 * @write: copy @buf into the memory (else out of it)
 *
 * Pinned pages are used directly; others are pinned for the copy only, so
 * this works after the owning process is gone for every pinned page.
 * Return: 0 or an error (EFAULT for memory that cannot be reached).
 */
int iorp_pages_rw(struct iorp_pages *pages, unsigned long offset, void *buf,
		  unsigned long length, bool write)
{
	int ret = 0;

	mutex_lock(&pages->mutex);
	while (length) {
		unsigned long index = offset >> PAGE_SHIFT;
		unsigned long in_page = offset & ~PAGE_MASK;
		unsigned long n = min(length, PAGE_SIZE - in_page);
		struct page *page = iorp_pages_pinned_page(pages, index);
		bool temporary = !page;
		void *va;

		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		cond_resched();
		if (temporary) {
			long got = iorp_pages_get_user(pages, index, 1, &page,
						       false, write);

			if (got < 0) {
				ret = got;
				break;
			}
		}
		va = kmap_local_page(page);
		if (write)
			memcpy(va + in_page, buf, n);
		else
			memcpy(buf, va + in_page, n);
		kunmap_local(va);
		if (temporary)
			unpin_user_pages_dirty_lock(&page, 1, write);
		else if (write)
			set_page_dirty_lock(page);
		offset += n;
		buf += n;
		length -= n;
	}
	mutex_unlock(&pages->mutex);
	return ret;
}
