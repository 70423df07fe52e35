// SPDX-License-Identifier: GPL-2.0
/*
 * A generic walk over the PTEs of a VMA range (the kernel's
 * mm/pagewalk.c, reduced to the PTE level, which is the only one that
 * maps pages here): the caller's pte_entry() runs for every PTE that is
 * present or holds a swap entry, under that PTE table's lock.  Holes,
 * missing tables and none PTEs are skipped.
 */
#include "mm/internal.h"

static int walk_pte_range(pmd_t *pmd, unsigned long addr, unsigned long end, struct mm_walk *walk)
{
	pte_t *start_pte, *pte;
	int err = 0;

	start_pte = __pte_offset_map_lock(walk->mm, pmd, addr, &walk->ptl);
	if (!start_pte)
		return 0;
	for (pte = start_pte; addr != end; pte++, addr += PAGE_SIZE) {
		if (pte_none(ptep_get(pte)))
			continue;
		err = walk->ops->pte_entry(pte, addr, walk);
		if (err)
			break;
	}
	pte_unmap_unlock(start_pte, walk->ptl);
	walk->ptl = NULL;
	return err;
}

/**
 * walk_page_range - call @ops->pte_entry on each mapped PTE of [start, end)
 * @vma: the VMA the range lies in
 * @private: for the callback, as walk->private
 *
 * mmap_lock held.  Returns 0, the first nonzero value a callback returned
 * (which ends the walk), or -EINVAL for a range outside @vma.
 */
int walk_page_range(struct vm_area_struct *vma, unsigned long start, unsigned long end,
		    const struct mm_walk_ops *ops, void *private)
{
	struct mm_walk walk = {
		.ops = ops,
		.mm = vma->vm_mm,
		.vma = vma,
		.private = private,
	};
	unsigned long next;
	pmd_t *pmd;
	int err;

	if (start >= end || start < vma->vm_start || end > vma->vm_end || offset_in_page(start) ||
	    offset_in_page(end) || !ops || !ops->pte_entry)
		return -EINVAL;
	mmap_assert_locked(walk.mm);
	for (; start != end; start = next) {
		pmd = pmd_span(walk.mm, start, end, &next);
		if (!pmd || pmd_none(pmdp_get(pmd)))
			continue;
		err = walk_pte_range(pmd, start, next, &walk);
		if (err)
			return err;
	}
	return 0;
}
