// SPDX-License-Identifier: GPL-2.0-only
/*
 * pfn_runs.c - the pinned pages of a domain hold, as runs of page frames.
 *
 * A struct iorp_domain_hold records the pages of its index range in index
 * order, as struct iorp_pfn_run: each run is pages that follow one another
 * in physical memory, so a 2 MiB huge page is one run and memory of 4 KiB
 * pages in random frames costs one run per page. A run stores its first
 * frame and its first index; its length is where the next run (or the
 * recorded range) starts. A single run lives in the hold itself (no
 * allocation); more live in page-sized chunks, found through an array of
 * chunk pointers, so no allocation grows beyond a page but that array
 * (8 bytes per 256 runs). The runs are built once while the hold is taken,
 * the last chunk trimmed to fit, read while it is held, and freed whole:
 * releasing a hold never allocates.
 *
 * Locking: the hold's pages->mutex, taken by the callers (pages.c and the
 * readers in io_pagetable.c).
 */
#include <linux/mm.h>
#include <linux/slab.h>

#include <iommu_replace/io_pagetable.h>

#define IORP_RUNS_PER_CHUNK	(PAGE_SIZE / sizeof(struct iorp_pfn_run))

/**
 * iorp_hold_init_runs() - make a hold's record of pages empty
 * @hold: the hold, not in any tree
 */
void iorp_hold_init_runs(struct iorp_domain_hold *hold)
{
	hold->chunks = NULL;
	hold->nchunks = 0;
	hold->chunks_room = 0;
	hold->nruns = 0;
	hold->filled = 0;
}

/**
 * iorp_hold_free_runs() - free a hold's record of pages, leaving it empty
 * @hold: the hold, not in any tree
 *
 * The pages it names stay pinned: unpinning them is the caller's business.
 */
void iorp_hold_free_runs(struct iorp_domain_hold *hold)
{
	unsigned long c;

	if (hold->chunks) {
		for (c = 0; c < hold->nchunks; c++) {
			kfree(hold->chunks[c]);
			if (!(c % 1024))
				cond_resched();
		}
		kvfree(hold->chunks);
	}
	iorp_hold_init_runs(hold);
}

static struct iorp_pfn_run *iorp_hold_run(struct iorp_domain_hold *hold,
					  unsigned long i)
{
	if (!hold->chunks)
		return &hold->one;
	return &hold->chunks[i / IORP_RUNS_PER_CHUNK][i % IORP_RUNS_PER_CHUNK];
}

/* One more chunk, the array of chunks grown if full; ENOMEM changes nothing. */
static int iorp_hold_add_chunk(struct iorp_domain_hold *hold)
{
	struct iorp_pfn_run *chunk;

	if (hold->nchunks == hold->chunks_room) {
		unsigned long room = max(hold->chunks_room * 2, 4UL);
		struct iorp_pfn_run **chunks;

		chunks = kvmalloc_array(room, sizeof(*chunks),
					GFP_KERNEL_ACCOUNT);
		if (!chunks)
			return -ENOMEM;
		if (hold->nchunks)
			memcpy(chunks, hold->chunks,
			       hold->nchunks * sizeof(*chunks));
		kvfree(hold->chunks);
		hold->chunks = chunks;
		hold->chunks_room = room;
	}
	chunk = kmalloc_array(IORP_RUNS_PER_CHUNK, sizeof(*chunk),
			      GFP_KERNEL_ACCOUNT);
	if (!chunk)
		return -ENOMEM;
	hold->chunks[hold->nchunks++] = chunk;
	return 0;
}

/* Room for run number nruns; on ENOMEM the record says what it said. */
static int iorp_hold_make_room(struct iorp_domain_hold *hold)
{
	bool from_one = !hold->chunks;
	int ret;

	if (!hold->nruns)
		return 0;	/* the first run lives in @one */
	if (hold->nruns < hold->nchunks * IORP_RUNS_PER_CHUNK)
		return 0;
	ret = iorp_hold_add_chunk(hold);
	if (ret) {
		if (from_one && hold->chunks) {
			/* only the array was made: the run stays in @one */
			kvfree(hold->chunks);
			hold->chunks = NULL;
			hold->chunks_room = 0;
		}
		return ret;
	}
	if (from_one)
		hold->chunks[0][0] = hold->one;
	return 0;
}

/**
 * iorp_hold_add_run() - record the next n indexes of a hold
 * @hold: the hold being built
 * @pfn: the page frame of the first
 * @n: how many pages, which follow one another from @pfn
 *
 * A run that continues the last one extends it. Return: 0, or ENOMEM with
 * nothing recorded.
 */
int iorp_hold_add_run(struct iorp_domain_hold *hold, unsigned long pfn,
		      unsigned long n)
{
	struct iorp_pfn_run *run;

	if (hold->nruns) {
		run = iorp_hold_run(hold, hold->nruns - 1);
		if (run->pfn + (hold->filled - run->start) == pfn) {
			hold->filled += n;
			return 0;
		}
	}
	if (iorp_hold_make_room(hold))
		return -ENOMEM;
	run = iorp_hold_run(hold, hold->nruns);
	run->pfn = pfn;
	run->start = hold->filled;
	hold->nruns++;
	hold->filled += n;
	return 0;
}

/**
 * iorp_hold_trim_runs() - give back what the last chunk does not use
 * @hold: a hold that is complete and takes no more runs
 *
 * Trimming is optional: if the smaller chunk cannot be had, nothing
 * changes.
 */
void iorp_hold_trim_runs(struct iorp_domain_hold *hold)
{
	unsigned long used;
	struct iorp_pfn_run *chunk;

	if (!hold->nchunks)
		return;
	used = hold->nruns - (hold->nchunks - 1) * IORP_RUNS_PER_CHUNK;
	if (used == IORP_RUNS_PER_CHUNK)
		return;
	chunk = kmalloc_array(used, sizeof(*chunk),
			      GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!chunk)
		return;
	memcpy(chunk, hold->chunks[hold->nchunks - 1], used * sizeof(*chunk));
	kfree(hold->chunks[hold->nchunks - 1]);
	hold->chunks[hold->nchunks - 1] = chunk;
}

/**
 * iorp_hold_add_pages() - record the next n indexes of a hold from a batch
 * @hold: the hold being built
 * @batch: the pages, as pinning returned them
 * @n: how many
 *
 * Return: 0, or ENOMEM with nothing of the batch recorded.
 */
int iorp_hold_add_pages(struct iorp_domain_hold *hold, struct page **batch,
			unsigned long n)
{
	unsigned long nruns = hold->nruns, filled = hold->filled;
	unsigned long i = 0, len;

	while (i < n) {
		unsigned long pfn = page_to_pfn(batch[i]);

		for (len = 1; i + len < n; len++)
			if (page_to_pfn(batch[i + len]) != pfn + len)
				break;
		if (iorp_hold_add_run(hold, pfn, len)) {
			/*
			 * A run's length is where the next starts: forgetting
			 * the runs and indexes added undoes them (chunks made
			 * meanwhile stay, empty, until the record is freed).
			 */
			hold->nruns = nruns;
			hold->filled = filled;
			return -ENOMEM;
		}
		i += len;
	}
	return 0;
}

/**
 * iorp_hold_run_at() - the run holding an index
 * @hold: a hold whose runs record @index
 * @index: a page index (of the pages, not of the hold)
 *
 * Return: the number of the run.
 */
unsigned long iorp_hold_run_at(struct iorp_domain_hold *hold,
			       unsigned long index)
{
	unsigned long offset = index - hold->node.start;
	unsigned long lo = 0, hi;

	if (WARN_ON_ONCE(!hold->nruns || offset >= hold->filled))
		return 0;
	/* the last run that starts at or before offset */
	hi = hold->nruns - 1;
	while (lo < hi) {
		unsigned long mid = lo + (hi - lo + 1) / 2;

		if (iorp_hold_run(hold, mid)->start <= offset)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

/**
 * iorp_hold_run_first() - the first index of a run
 * @hold: the hold
 * @i: a run of it
 *
 * Return: a page index (of the pages).
 */
unsigned long iorp_hold_run_first(struct iorp_domain_hold *hold,
				  unsigned long i)
{
	return hold->node.start + iorp_hold_run(hold, i)->start;
}

/**
 * iorp_hold_run_last() - the last index of a run
 * @hold: the hold
 * @i: a run of it
 *
 * Return: a page index (of the pages).
 */
unsigned long iorp_hold_run_last(struct iorp_domain_hold *hold,
				 unsigned long i)
{
	unsigned long end = i + 1 < hold->nruns ?
			    iorp_hold_run(hold, i + 1)->start : hold->filled;

	return hold->node.start + end - 1;
}

/**
 * iorp_hold_pfn() - the page frame recorded for an index
 * @hold: the hold
 * @i: the run holding @index (iorp_hold_run_at())
 * @index: a page index (of the pages)
 *
 * Return: the page frame number.
 */
unsigned long iorp_hold_pfn(struct iorp_domain_hold *hold, unsigned long i,
			    unsigned long index)
{
	return iorp_hold_run(hold, i)->pfn + index -
	       iorp_hold_run_first(hold, i);
}

/**
 * iorp_hold_copy() - record pages another hold holds
 * @hold: the hold being built, recorded up to just before @first
 * @from: a hold of the same pages that records [@first, @last]
 * @first: first page index
 * @last: last page index
 *
 * Return: 0, or ENOMEM with [@first, @last] recorded up to some index
 * (pages @from holds, so nothing to unpin).
 */
int iorp_hold_copy(struct iorp_domain_hold *hold,
		   struct iorp_domain_hold *from, unsigned long first,
		   unsigned long last)
{
	unsigned long i = iorp_hold_run_at(from, first), index = first;

	while (index <= last) {
		unsigned long run_last = min(iorp_hold_run_last(from, i), last);
		int ret;

		ret = iorp_hold_add_run(hold, iorp_hold_pfn(from, i, index),
					run_last - index + 1);
		if (ret)
			return ret;
		index = run_last + 1;
		i++;
		cond_resched();
	}
	return 0;
}
