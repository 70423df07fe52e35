// SPDX-License-Identifier: GPL-2.0
/*
 * mprotect, after the kernel's mm/mprotect.c: new protections for a range,
 * VMA by VMA.  Each VMA's part of the range is split off and given its new
 * flags (vma_modify_flags(), which merges it with matching neighbours), and
 * then change_protection() brings its PTEs in line, announcing the range to
 * secondary MMUs first (MMU_NOTIFY_PROTECTION_VMA): a secondary MMU that
 * copied a writable PTE must drop it before the host's becomes read-only.
 */
#include <errno.h>

#include "mm/internal.h"

/*
 * Is every access bit of @newflags allowed by the VMA's VM_MAY* bits?  Each
 * VM_MAYx is VM_x shifted left by four, as in the kernel.
 */
static bool vm_access_allowed(unsigned long newflags)
{
	return !((newflags & ~(newflags >> 4)) & VM_ACCESS_FLAGS);
}

/*
 * Apply @newflags to [start, end) of @vma.  A private mapping of an mlocked
 * VMA that becomes writable is faulted in for write at once, as mlock
 * promises no faults later: the kernel does the same to break COW here
 * rather than on the next write.
 */
static int mprotect_fixup(struct vm_area_struct *vma, unsigned long start, unsigned long end,
			  unsigned long newflags)
{
	unsigned long oldflags = vma->vm_flags;

	if (newflags == oldflags)
		return 0;
	vma = vma_modify_flags(vma, start, end, newflags);
	if (IS_ERR(vma))
		return PTR_ERR(vma);

	change_protection(vma, start, end);

	if ((oldflags & (VM_WRITE | VM_SHARED | VM_LOCKED)) == VM_LOCKED && (newflags & VM_WRITE))
		populate_vma_page_range(vma, start, end);
	return 0;
}

/*
 * Change the protection of [start, start + len) to @prot.  As in the
 * kernel, a hole in the range ends the walk with -ENOMEM, leaving the VMAs
 * before it changed, and a protection a VMA may not take (PROT_WRITE on a
 * shared mapping of a read-only file) ends it with -EACCES.
 */
int do_mprotect(struct mm_struct *mm, unsigned long start, size_t len, unsigned long prot)
{
	struct vm_area_struct *vma;
	unsigned long end, nstart, tmp, newflags;
	int error;

	if (offset_in_page(start))
		return -EINVAL;
	if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC))
		return -EINVAL;
	if (!len)
		return 0;
	len = PAGE_ALIGN(len);
	end = start + len;
	if (end <= start)
		return -ENOMEM;

	mmap_write_lock(mm);
	vma = find_vma(mm, start);
	error = -ENOMEM;
	if (!vma || vma->vm_start > start)
		goto out;

	for (nstart = start;;) {
		newflags = calc_vm_prot_bits(prot) | (vma->vm_flags & ~VM_ACCESS_FLAGS);
		if (!vm_access_allowed(newflags)) {
			error = -EACCES;
			break;
		}
		tmp = min(vma->vm_end, end);
		error = mprotect_fixup(vma, nstart, tmp, newflags);
		if (error)
			break;
		nstart = tmp;
		if (nstart >= end)
			break;
		/*
		 * The fixup may have split or merged: look the next VMA up
		 * afresh.  A merge may have made one VMA of this and the
		 * next, which then starts below @nstart: not a hole.
		 */
		vma = find_vma(mm, nstart);
		if (!vma || vma->vm_start > nstart) {
			error = -ENOMEM;
			break;
		}
	}
out:
	mmap_write_unlock(mm);
	return error;
}
