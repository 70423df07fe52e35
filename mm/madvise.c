// SPDX-License-Identifier: GPL-2.0
/*
 * madvise, after the kernel's mm/madvise.c, for the advice the model acts
 * on: MADV_DONTNEED drops the pages of a range (the next touch faults in
 * zeroes, or the file's contents), MADV_DONTFORK/MADV_DOFORK decide whether
 * fork copies a range.
 */
#include <errno.h>

#include "mm/internal.h"

static bool madvise_behavior_valid(int behavior)
{
	switch (behavior) {
	case MADV_DONTNEED:
	case MADV_DONTFORK:
	case MADV_DOFORK:
		return true;
	default:
		return false;
	}
}

/* Advice that changes VMAs needs mmap_lock for write; a zap needs it for read. */
static bool madvise_need_mmap_write(int behavior)
{
	return behavior != MADV_DONTNEED;
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
