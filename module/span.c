// SPDX-License-Identifier: GPL-2.0-only
/*
 * span.c - finding the holes between intervals.
 *
 * IOVA allocation looks for IOVA no area or reservation uses; pinning looks
 * for page indexes no holder covers yet, and unpinning for indexes no holder
 * covers any more. All are "the next hole in [start, last] of the union of
 * some interval trees", which iorp_next_hole() answers in O(k log n) for a
 * hole after k covering intervals.
 *
 * Locking: the caller holds whatever guards the trees (locking.h).
 */
#include <linux/interval_tree.h>

#include <iommu_replace/io_pagetable.h>

/**
 * iorp_next_hole() - the first range in [*start, last] no tree covers
 * @trees: the interval trees
 * @ntrees: how many
 * @start: in: where to start looking; out: the start of the hole
 * @last: last index to consider (inclusive)
 * @hole_last: out: the last index of the hole
 *
 * Return: true if a hole was found.
 */
bool iorp_next_hole(struct rb_root_cached *const *trees, unsigned int ntrees,
		    unsigned long *start, unsigned long last,
		    unsigned long *hole_last)
{
	unsigned long pos = *start;

	if (pos > last)
		return false;
	for (;;) {
		struct interval_tree_node *first = NULL;
		unsigned int i;

		/* the covering interval that starts lowest, in any tree */
		for (i = 0; i < ntrees; i++) {
			struct interval_tree_node *node;

			node = interval_tree_iter_first(trees[i], pos, last);
			if (node && (!first || node->start < first->start))
				first = node;
		}
		if (!first) {
			*start = pos;
			*hole_last = last;
			return true;
		}
		if (first->start > pos) {
			*start = pos;
			*hole_last = first->start - 1;
			return true;
		}
		/* pos is covered up to first->last; look past it */
		if (first->last >= last)
			return false;
		pos = first->last + 1;
	}
}
