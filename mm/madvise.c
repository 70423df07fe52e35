// SPDX-License-Identifier: GPL-2.0
/*
 * madvise, after the kernel's mm/madvise.c, for the advice the model acts
 * on: MADV_DONTNEED drops the pages of a range (the next touch faults in
 * zeroes, or the file's contents), MADV_PAGEOUT reclaims the pages of a
 * range now however recently they were used, MADV_DONTFORK/MADV_DOFORK
 * decide whether fork copies a range.
 */
#include <errno.h>

#include "mm/internal.h"
#include "mm/swap.h"

static bool madvise_behavior_valid(int behavior)
{
	switch (behavior) {
	case MADV_DONTNEED:
	case MADV_PAGEOUT:
	case MADV_DONTFORK:
	case MADV_DOFORK:
		return true;
	default:
		return false;
	}
}

/* Advice that changes VMAs needs mmap_lock for write; a zap or a pageout needs it for read. */
static bool madvise_need_mmap_write(int behavior)
{
	return behavior != MADV_DONTNEED && behavior != MADV_PAGEOUT;
}

/*
 * MADV_DONTNEED: zap the range's PTEs in one VMA.  zap_page_range_single()
 * announces the range (MMU_NOTIFY_CLEAR) before any PTE goes, so a
 * secondary MMU drops its copies first.  Locked memory must stay resident,
 * so a VM_LOCKED VMA refuses with -EINVAL, as in the kernel.
 */
static int madvise_dontneed(struct vm_area_struct *vma, unsigned long start, unsigned long end)
{
	if (vma->vm_flags & VM_LOCKED)
		return -EINVAL;
	zap_page_range_single(vma, start, end - start, NULL);
	return 0;
}

/*
 * Isolate the page of one present PTE for madvise_pageout(), under the PTE
 * lock: isolate_lru_page() only takes the LRU spinlock.  A page another
 * process maps too is left alone, as the kernel leaves it (paging it out
 * would take it from under a process that did not ask), and so is a page
 * off its LRU list (reclaim or migration has it already).
 */
static int madvise_pageout_pte(pte_t *pte, unsigned long addr, struct mm_walk *walk)
{
	pte_t entry = ptep_get(pte);
	struct page *page;

	if (!pte_present(entry))
		return 0;
	page = vm_normal_page(walk->vma, addr, entry);
	if (!page || page_mapcount(page) != 1 || isolate_lru_page(page))
		return 0;
	list_add(&page->lru, walk->private);
	return 0;
}

static const struct mm_walk_ops madvise_pageout_ops = {
	.pte_entry = madvise_pageout_pte,
};

/*
 * MADV_PAGEOUT: reclaim the range's pages now, through the same
 * shrink_page_list() as kswapd (reclaim_pages()), so each is unmapped
 * through the rmap with its notifier calls, written to swap (anon) or
 * dropped (clean file), and freed.  A page someone still holds (a lookup
 * in flight, a pin) is unmapped and stays in the swap cache, to be freed
 * by a later reclaim once the holder lets go.  Locked memory stays.
 */
static int madvise_pageout(struct vm_area_struct *vma, unsigned long start, unsigned long end)
{
	LIST_HEAD(page_list);
	int err;

	if (vma->vm_flags & VM_LOCKED)
		return -EINVAL;
	err = walk_page_range(vma, start, end, &madvise_pageout_ops, &page_list);
	if (!list_empty(&page_list))
		reclaim_pages(vma->vm_mm->pool, &page_list);
	return err;
}

/* MADV_DONTFORK/MADV_DOFORK: a VM_DONTCOPY split/merge of [start, end). */
static int madvise_update_vma(struct vm_area_struct *vma, unsigned long start, unsigned long end,
			      int behavior)
{
	unsigned long new_flags = vma->vm_flags;

	if (behavior == MADV_DONTFORK)
		new_flags |= VM_DONTCOPY;
	else
		new_flags &= ~VM_DONTCOPY;
	if (new_flags == vma->vm_flags)
		return 0;
	vma = vma_modify_flags(vma, start, end, new_flags);
	return IS_ERR(vma) ? PTR_ERR(vma) : 0;
}

static int madvise_vma_behavior(struct vm_area_struct *vma, unsigned long start, unsigned long end,
				int behavior)
{
	if (behavior == MADV_DONTNEED)
		return madvise_dontneed(vma, start, end);
	if (behavior == MADV_PAGEOUT)
		return madvise_pageout(vma, start, end);
	return madvise_update_vma(vma, start, end, behavior);
}

/*
 * Apply @behavior to every VMA part in [start, end).  Unlike mprotect, a
 * hole does not stop the walk: the advice goes to everything mapped, and
 * the call then reports the hole with -ENOMEM, as the kernel does.
 */
static int madvise_walk_vmas(struct mm_struct *mm, unsigned long start, unsigned long end,
			     int behavior)
{
	struct vm_area_struct *vma;
	int unmapped_error = 0;
	unsigned long tmp;
	int error;

	for (;;) {
		vma = find_vma(mm, start);
		if (!vma)
			return -ENOMEM;
		if (start < vma->vm_start) {
			unmapped_error = -ENOMEM;
			start = vma->vm_start;
			if (start >= end)
				break;
		}
		tmp = min(vma->vm_end, end);
		error = madvise_vma_behavior(vma, start, tmp, behavior);
		if (error)
			return error;
		start = tmp;
		if (start >= end)
			break;
	}
	return unmapped_error;
}

int do_madvise(struct mm_struct *mm, unsigned long start, size_t len_in, int behavior)
{
	unsigned long end, len;
	int error;

	if (!madvise_behavior_valid(behavior))
		return -EINVAL;
	if (offset_in_page(start))
		return -EINVAL;
	len = PAGE_ALIGN(len_in);
	/* Check for overflow. */
	if (len_in && !len)
		return -EINVAL;
	end = start + len;
	if (end < start)
		return -EINVAL;
	if (end == start)
		return 0;

	if (madvise_need_mmap_write(behavior))
		mmap_write_lock(mm);
	else
		mmap_read_lock(mm);
	error = madvise_walk_vmas(mm, start, end, behavior);
	if (madvise_need_mmap_write(behavior))
		mmap_write_unlock(mm);
	else
		mmap_read_unlock(mm);
	return error;
}
