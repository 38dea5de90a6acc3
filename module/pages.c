// SPDX-License-Identifier: GPL-2.0-only
/*
 * pages.c - pinning user memory once, however many users it has.
 *
 * A struct iorp_pages describes user memory of one process. Its pages are
 * pinned while a holder covers them (see io_pagetable.h): holding a range
 * pins the indexes no other holder covers yet, and releasing it unpins the
 * indexes nothing covers any more. pages->pinned maps each pinned index to
 * its struct page; it is what domains are filled from, so a page is pinned
 * once however many domains, IOASes and accesses use it.
 *
 * Accounting: every page entering pages->pinned is charged to
 * RLIMIT_MEMLOCK (the user's locked_vm, or the process's in IORP_ACCOUNT_MM
 * mode; not at all for a mapper with CAP_IPC_LOCK) and to the process's
 * pinned_vm; every page leaving is uncharged. A charge that would exceed
 * the limit fails the pin with ENOMEM.
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

/*
 * Unpin and forget every pinned page in [first, last]. pages->mutex keeps
 * the table still; unpinning may sleep, so no xa_lock is held across it.
 */
static void iorp_pages_unpin_range(struct iorp_pages *pages,
				   unsigned long first, unsigned long last)
{
	unsigned long index = first, count = 0, run;
	struct page *page;

	lockdep_assert_held(&pages->mutex);
	while (xa_find(&pages->pinned, &index, last, XA_PRESENT)) {
		/* a physically contiguous run is unpinned in one call */
		page = iorp_pages_pinned_run(pages, index, last, &run);
		iorp_pages_forget(pages, index, run);
		unpin_user_page_range_dirty_lock(page, run, pages->writable);
		count += run;
		index += run;
		if (index > last)
			break;
		cond_resched();
	}
	if (count) {
		pages->npinned -= count;
		iorp_pages_account(pages, -(long)count);
	}
}

/* Store a batch pinned at index; on failure nothing of it is kept. */
static int iorp_pages_store(struct iorp_pages *pages, unsigned long index,
			    struct page **batch, unsigned long n)
{
	XA_STATE(xas, &pages->pinned, index);
	unsigned long stored = 0;
	int ret;

	ret = iorp_pages_account(pages, n);
	if (ret)
		goto err_unpin;
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
	if (ret)
		goto err_forget;
	pages->npinned += n;
	return 0;

err_forget:
	if (stored)
		iorp_pages_forget(pages, index, stored);
	iorp_pages_account(pages, -(long)n);
err_unpin:
	unpin_user_pages(batch, n);
	return ret;
}

/* Pin [first, last], none of which is pinned yet; all or nothing. */
static int iorp_pages_pin_range(struct iorp_pages *pages, unsigned long first,
				unsigned long last)
{
	size_t limit = READ_ONCE(iorp_temp_memory_limit);
	unsigned long index = first, batch_len;
	struct page **batch;
	int ret = 0;

	lockdep_assert_held(&pages->mutex);
	batch_len = min(last - first + 1,
			max_t(size_t, limit / sizeof(*batch), 1));
	batch = kmalloc_array(batch_len, sizeof(*batch),
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
		ret = iorp_pages_store(pages, index, batch, got);
		if (ret)
			break;
		index += got;
	}
	kfree(batch);
	if (ret && index > first)
		iorp_pages_unpin_range(pages, first, index - 1);
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

/* Unpin every index of [first, last] no holder covers. */
static void iorp_pages_unpin_holes(struct iorp_pages *pages,
				   unsigned long first, unsigned long last)
{
	unsigned long pos = first, hole_last;

	while (iorp_pages_next_hole(pages, &pos, last, &hole_last)) {
		iorp_pages_unpin_range(pages, pos, hole_last);
		if (hole_last == last)
			break;
		pos = hole_last + 1;
	}
}

/**
 * iorp_pages_hold() - add a holder, pinning what it needs
 * @pages: the pages (pages->mutex held)
 * @tree: &pages->domain_holders or &pages->access_pins
 * @node: the holder's index range; inserted into @tree on success
 *
 * Return: 0, or an error with nothing changed.
 */
int iorp_pages_hold(struct iorp_pages *pages, struct rb_root_cached *tree,
		    struct interval_tree_node *node)
{
	unsigned long pos = node->start, hole_last;
	int ret;

	lockdep_assert_held(&pages->mutex);
	if (WARN_ON(node->last >= pages->npages))
		return -EINVAL;
	while (iorp_pages_next_hole(pages, &pos, node->last, &hole_last)) {
		ret = iorp_pages_pin_range(pages, pos, hole_last);
		if (ret) {
			/* what this call pinned is exactly the holes before pos */
			if (pos > node->start)
				iorp_pages_unpin_holes(pages, node->start, pos - 1);
			return ret;
		}
		if (hole_last == node->last)
			break;
		pos = hole_last + 1;
	}
	interval_tree_insert(node, tree);
	return 0;
}

/**
 * iorp_pages_unhold() - remove a holder, unpinning what nobody else holds
 * @pages: the pages (pages->mutex held)
 * @tree: the tree @node is in
 * @node: the holder
 */
void iorp_pages_unhold(struct iorp_pages *pages, struct rb_root_cached *tree,
		       struct interval_tree_node *node)
{
	lockdep_assert_held(&pages->mutex);
	interval_tree_remove(node, tree);
	iorp_pages_unpin_holes(pages, node->start, node->last);
}

/* The pinned page at index, or NULL (pages->mutex held). */
struct page *iorp_pages_pinned_page(struct iorp_pages *pages,
				    unsigned long index)
{
	lockdep_assert_held(&pages->mutex);
	return xa_load(&pages->pinned, index);
}

/**
 * iorp_pages_pinned_run() - a physically contiguous run of pinned pages
 * @pages: the pages (pages->mutex held)
 * @index: where the run starts
 * @last: the last index the run may reach
 * @run: out: how many pages the run holds (at least one if found)
 *
 * Return: the pinned page at @index, the first of @run pages that follow
 * one another in physical memory and are pinned at consecutive indexes;
 * NULL if @index is not pinned.
 */
struct page *iorp_pages_pinned_run(struct iorp_pages *pages,
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
		struct page *page = xa_load(&pages->pinned, index);
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
