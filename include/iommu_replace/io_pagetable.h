/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * io_pagetable.h - IO address spaces, their areas, and pinned user pages.
 *
 * An IOAS owns a struct iorp_iopt: interval trees of IOVA ranges
 *  - areas: one per MAP or COPY, each a window onto a struct iorp_pages;
 *  - reserved: IOVA nothing may map (test reservations, device reserved
 *    regions, the outside of every attached page table's aperture);
 *  - allowed: if non-empty, the only IOVA automatic allocation may use;
 * and the list of HWPTs filled from it ("domains"). Every area is mapped in
 * every domain.
 *
 * A struct iorp_pages is a range of user memory of one process, shared by
 * every area that maps it (COPY shares, it does not pin again). Pages are
 * pinned lazily: only while something needs them, which is recorded as
 * "holders", interval trees of page indexes:
 *  - domain_holders: an area while its IOAS has at least one domain
 *    (struct iorp_domain_hold);
 *  - access_pins: ranges an emulated access pinned.
 * A page is pinned exactly once while any holder covers it, charged once to
 * RLIMIT_MEMLOCK, and unpinned (dirtied if writable) when the last holder
 * goes. A domain hold records its pages as runs of physically contiguous
 * page frames (struct iorp_pfn_run), built while pinning and freed whole:
 * a 2 MiB huge page is one run, and only memory in scattered frames costs
 * a run per page. Only indexes an access pins are kept page by page, in
 * pages->pinned (index -> struct page), from which access pins hand out
 * their pages.
 *
 * Locking (order: locking.h): ioas->mutex guards the automatic HWPTs,
 * iopt->access_lock the accesses, domains_rwsem the domain list,
 * iova_rwsem the three trees and the areas, pages->mutex the pages' pinned
 * table, holders (with the runs of domain holds) and accounting.
 */
#ifndef IORP_IO_PAGETABLE_H
#define IORP_IO_PAGETABLE_H

#include <linux/interval_tree.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/rbtree.h>
#include <linux/rwsem.h>
#include <linux/xarray.h>

#include <iommu_replace/core.h>

struct iommu_domain;
struct mm_struct;
struct page;
struct task_struct;
struct user_struct;
struct iorp_hwpt;

/**
 * struct iorp_iopt - the IO page table of an IOAS
 * @domains_rwsem: guards @domains
 * @iova_rwsem: guards the trees, the areas in them and @iova_alignment
 * @area_itree: struct iorp_area by IOVA
 * @reserved_itree: struct iorp_reserved by IOVA
 * @allowed_itree: the nodes of @allowed, by IOVA
 * @allowed: the ranges of IOMMU_IOAS_ALLOW_IOVAS, or NULL
 * @domains: struct iorp_hwpt (iopt_node) filled from this IOAS
 * @iova_alignment: alignment of every IOVA, length and in-page offset
 * @disable_large_pages: IOMMU_OPTION_HUGE_PAGES is 0
 * @pinning_accesses: attached accesses that pin pages (need PAGE_SIZE
 *                    alignment); under iova_rwsem
 * @access_lock: guards @accesses; held while accesses are told to unmap
 * @accesses: struct iorp_access_link of the accesses attached
 */
struct iorp_iopt {
	struct rw_semaphore domains_rwsem;
	struct rw_semaphore iova_rwsem;
	struct rb_root_cached area_itree;
	struct rb_root_cached reserved_itree;
	struct rb_root_cached allowed_itree;
	struct iorp_allowed *allowed;
	struct list_head domains;
	unsigned long iova_alignment;
	bool disable_large_pages;
	unsigned int pinning_accesses;
	struct mutex access_lock;	/* @accesses, callbacks */
	struct list_head accesses;
};

/**
 * struct iorp_pages - user memory of one process that areas map
 * @kref: one per area using it
 * @mutex: guards everything below
 * @mm: the process whose memory this is (mmgrab)
 * @task: its thread group leader, whose RLIMIT_MEMLOCK applies
 * @user: the user charged in IORP_ACCOUNT_USER mode
 * @account_mode: enum iorp_account_mode
 * @uaddr: user address of page index 0 (page aligned)
 * @npages: number of pages
 * @writable: pinned for write (and dirtied on unpin)
 * @pinned: page index -> struct page, for every index an access pin covers
 * @npinned: number of indexes some holder covers, all pinned and charged
 * @domain_holders: struct iorp_domain_hold of the areas whose IOAS has domains
 * @access_pins: struct iorp_access_pin
 */
struct iorp_pages {
	struct kref kref;
	struct mutex mutex;	/* everything below */
	struct mm_struct *mm;
	struct task_struct *task;
	struct user_struct *user;
	enum iorp_account_mode account_mode;
	unsigned long uaddr;
	unsigned long npages;
	bool writable;
	struct xarray pinned;
	unsigned long npinned;
	struct rb_root_cached domain_holders;
	struct rb_root_cached access_pins;
};

/**
 * struct iorp_pfn_run - pinned pages that follow one another in memory
 * @pfn: the page frame of the first
 * @start: the index of the first, counted from the first index of the hold
 *
 * The run ends where the next one starts, the last where the hold's
 * recorded indexes end.
 */
struct iorp_pfn_run {
	unsigned long pfn;
	unsigned long start;
};

/**
 * struct iorp_domain_hold - the pages an area holds for its IOAS's domains
 * @node: its page index range, in pages->domain_holders while held
 * @chunks: the runs (struct iorp_pfn_run) recording the pinned pages of
 *          @node in index order, IORP_RUNS_PER_CHUNK per chunk; NULL while
 *          there is at most one run, kept in @one
 * @nchunks: chunks allocated
 * @chunks_room: entries of the @chunks array
 * @nruns: runs recorded
 * @filled: indexes from @node.start recorded (all of @node once held)
 * @one: the single run of a hold that has no more, so a small or
 *       physically contiguous mapping allocates nothing
 *
 * Each area records its own runs, even of pages it shares with another
 * area (COPY): about 16 bytes per run, so a mapping of scattered 4 KiB
 * pages costs at most 16 bytes per page per area, charged to the memory
 * cgroup of the process.
 */
struct iorp_domain_hold {
	struct interval_tree_node node;
	struct iorp_pfn_run **chunks;
	unsigned long nchunks;
	unsigned long chunks_room;
	unsigned long nruns;
	unsigned long filled;
	struct iorp_pfn_run one;
};

/**
 * struct iorp_area - one mapping in an IOAS
 * @iova: the IOVA range, in iopt->area_itree
 * @hold: its page index range (set at creation) and, while @populated, its
 *        pinned pages (under pages->mutex)
 * @iopt: the IO page table it belongs to
 * @pages: the memory it maps (holds a kref)
 * @start_byte: offset of the area's first byte from pages->uaddr
 * @prot: IOMMU_READ / IOMMU_WRITE
 * @populated: pinned and mapped into every domain of @iopt
 * @num_accesses: access pins inside the area
 * @unmapping: being removed; accesses may no longer pin in it
 */
struct iorp_area {
	struct interval_tree_node iova;
	struct iorp_domain_hold hold;
	struct iorp_iopt *iopt;
	struct iorp_pages *pages;
	unsigned long start_byte;
	int prot;
	bool populated;
	unsigned int num_accesses;
	bool unmapping;
};

/**
 * struct iorp_access_pin - page indexes pinned for emulated accesses
 * @node: the index range, in pages->access_pins
 * @users: pins of exactly this range
 */
struct iorp_access_pin {
	struct interval_tree_node node;
	unsigned int users;
};

/**
 * struct iorp_reserved - IOVA nothing may map
 * @node: the range, in iopt->reserved_itree
 * @owner: who reserved it (a device, a HWPT, or the test command's cookie),
 *         so it can release exactly its own reservations
 */
struct iorp_reserved {
	struct interval_tree_node node;
	const void *owner;
};

/**
 * struct iorp_allowed - the IOVA ranges set by one IOMMU_IOAS_ALLOW_IOVAS
 * @num: how many
 * @nodes: the ranges, in one allocation (a caller may give millions);
 *         they are the nodes of iopt->allowed_itree
 */
struct iorp_allowed {
	unsigned long num;
	struct interval_tree_node nodes[];
};

/**
 * struct iorp_ioas - an IO address space (IORP_OBJ_IOAS)
 * @obj: the object
 * @iopt: its IO page table
 * @mutex: guards @auto_hwpts; taken before iopt's locks
 * @auto_hwpts: automatic HWPTs filled from it (struct iorp_hwpt, auto_node)
 */
struct iorp_ioas {
	struct iorp_object obj;
	struct iorp_iopt iopt;
	struct mutex mutex;	/* @auto_hwpts */
	struct list_head auto_hwpts;
};

static inline unsigned long iorp_area_iova(struct iorp_area *area)
{
	return area->iova.start;
}

static inline unsigned long iorp_area_length(struct iorp_area *area)
{
	return area->iova.last - area->iova.start + 1;
}

struct iorp_ioas *iorp_ioas_get(struct iorp_ctx *ctx, u32 id);
struct iorp_ioas *iorp_ioas_create(struct iorp_ctx *ctx);

/* io_pagetable.c */
void iorp_iopt_init(struct iorp_iopt *iopt);
void iorp_iopt_destroy(struct iorp_iopt *iopt);
int iorp_iopt_map_user(struct iorp_ctx *ctx, struct iorp_iopt *iopt,
		       unsigned long *iova, unsigned long uaddr,
		       unsigned long length, int prot, bool fixed);
int iorp_iopt_copy(struct iorp_iopt *dst, struct iorp_iopt *src,
		   unsigned long *dst_iova, unsigned long src_iova,
		   unsigned long length, int prot, bool fixed);
int iorp_iopt_unmap(struct iorp_iopt *iopt, unsigned long iova,
		    unsigned long length, unsigned long *unmapped);
int iorp_iopt_unmap_all(struct iorp_iopt *iopt, unsigned long *unmapped);
int iorp_iopt_unmap_type1(struct iorp_iopt *iopt, unsigned long iova,
			  unsigned long length, bool v1,
			  unsigned long *unmapped);
unsigned long iorp_iopt_pgsize_bitmap(struct iorp_iopt *iopt);
int iorp_iopt_reserve(struct iorp_iopt *iopt, unsigned long start,
		      unsigned long last, const void *owner);
void iorp_iopt_unreserve(struct iorp_iopt *iopt, const void *owner);
int iorp_iopt_set_allowed(struct iorp_iopt *iopt, struct iorp_allowed *allowed,
			  struct rb_root_cached *tree);
int iorp_iopt_add_domain(struct iorp_iopt *iopt, struct iorp_hwpt *hwpt);
void iorp_iopt_remove_domain(struct iorp_iopt *iopt, struct iorp_hwpt *hwpt);
int iorp_iopt_set_large_pages(struct iorp_iopt *iopt, bool enable);
int iorp_iopt_recalc_alignment(struct iorp_iopt *iopt);
int iorp_iopt_iopte_size(struct iorp_iopt *iopt, struct iommu_domain *domain,
			 unsigned long iova, size_t *size);

/* pages.c */
struct iorp_pages *iorp_pages_create(unsigned long uaddr, unsigned long length,
				     bool writable,
				     enum iorp_account_mode mode);
void iorp_pages_put(struct iorp_pages *pages);
int iorp_pages_hold_domain(struct iorp_pages *pages,
			   struct iorp_domain_hold *hold);
void iorp_pages_unhold_domain(struct iorp_pages *pages,
			      struct iorp_domain_hold *hold);
int iorp_pages_hold_access(struct iorp_pages *pages,
			   struct interval_tree_node *node);
void iorp_pages_unhold_access(struct iorp_pages *pages,
			      struct interval_tree_node *node);
struct page *iorp_pages_pinned_page(struct iorp_pages *pages,
				    unsigned long index);
bool iorp_pages_owner_gone(struct iorp_pages *pages);
int iorp_pages_rw(struct iorp_pages *pages, unsigned long offset, void *buf,
		  unsigned long length, bool write);
void iorp_set_temp_memory_limit(size_t bytes);

/* pfn_runs.c */
void iorp_hold_init_runs(struct iorp_domain_hold *hold);
void iorp_hold_free_runs(struct iorp_domain_hold *hold);
void iorp_hold_trim_runs(struct iorp_domain_hold *hold);
int iorp_hold_add_run(struct iorp_domain_hold *hold, unsigned long pfn,
		      unsigned long n);
int iorp_hold_add_pages(struct iorp_domain_hold *hold, struct page **batch,
			unsigned long n);
int iorp_hold_copy(struct iorp_domain_hold *hold,
		   struct iorp_domain_hold *from, unsigned long first,
		   unsigned long last);
unsigned long iorp_hold_run_at(struct iorp_domain_hold *hold,
			       unsigned long index);
unsigned long iorp_hold_run_first(struct iorp_domain_hold *hold,
				  unsigned long i);
unsigned long iorp_hold_run_last(struct iorp_domain_hold *hold,
				 unsigned long i);
unsigned long iorp_hold_pfn(struct iorp_domain_hold *hold, unsigned long i,
			    unsigned long index);

/* span.c */
bool iorp_next_hole(struct rb_root_cached *const *trees, unsigned int ntrees,
		    unsigned long *start, unsigned long last,
		    unsigned long *hole_last);

#endif /* IORP_IO_PAGETABLE_H */
