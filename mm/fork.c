// SPDX-License-Identifier: GPL-2.0
/*
 * fork's copy of an address space, after dup_mm()/dup_mmap() of the
 * kernel's kernel/fork.c.
 *
 * Every VMA is copied except MADV_DONTFORK ones.  A private VMA's copy gets
 * a chain to each of the parent's anon_vmas plus an anon_vma of its own
 * (anon_vma_fork()): pages the two share stay findable from either, pages
 * the child makes later belong to the child only.  copy_page_range() then
 * copies the PTEs, write-protecting private pages in the parent as well as
 * the child so that the first write on either side breaks COW; since that
 * weakens PTEs a secondary MMU may have copied, it brackets the parent's
 * range with invalidate_range_start/end (DESIGN.md rule 1).  mlock is not
 * inherited.
 */
#include <errno.h>
#include <stdlib.h>

#include "mm/internal.h"

/* A copy of @mpnt for @mm, linked into @mm and the file's i_mmap. */
static struct vm_area_struct *dup_vma(struct mm_struct *mm, struct vm_area_struct *mpnt, int *err)
{
	struct vm_area_struct *tmp = vm_area_dup(mpnt);

	*err = -ENOMEM;
	if (!tmp)
		return NULL;
	tmp->vm_mm = mm;
	*err = anon_vma_fork(tmp, mpnt);
	if (*err) {
		vm_area_free(tmp);
		return NULL;
	}
	tmp->vm_flags &= ~(VM_LOCKED | VM_LOCKONFAULT);
	if (tmp->vm_file)
		get_file(tmp->vm_file);
	vma_link(mm, tmp);
	return tmp;
}

/*
 * Copy @oldmm's VMAs and page tables into the empty @mm.  Both mmap_locks
 * are held for write: the parent's so that nothing changes under the copy
 * (and no fault races the write-protection), the child's for the asserts
 * of the VMA code, nested because all mmap_locks are one lock class.  On
 * error what was copied stays in @mm for the caller's mmput() to undo.
 *
 * Migration and reclaim walk the rmap without either mmap_lock, so a walk
 * may run while a VMA is copied.  The child's VMA joins the parent's
 * anon_vma tree before its PTEs are copied, after the parent's VMA in the
 * walk's order (base/interval_tree.c): a migration that has not yet
 * restored the parent's PTE will still visit the child and fix the
 * migration entry copied into it.
 */
static int dup_mmap(struct mm_struct *mm, struct mm_struct *oldmm)
{
	struct vm_area_struct *mpnt, *tmp;
	int retval = 0;

	mmap_write_lock(oldmm);
	down_write_nested(&mm->mmap_lock, SINGLE_DEPTH_NESTING);

	for_each_vma(oldmm, mpnt) {
		if (mpnt->vm_flags & VM_DONTCOPY)
			continue;
		tmp = dup_vma(mm, mpnt, &retval);
		if (!tmp)
			break;
		vm_stat_account(mm, tmp->vm_flags, vma_pages(tmp));
		retval = copy_page_range(tmp, mpnt);
		if (retval)
			break;
	}

	up_write(&mm->mmap_lock);
	mmap_write_unlock(oldmm);
	return retval;
}

struct mm_struct *dup_mm(struct mm_struct *oldmm, const char *owner)
{
	struct mm_struct *mm = mm_alloc(oldmm->pool, owner);

	if (!mm)
		return NULL;
	/* A museum switch follows the process into its children, as the bug would. */
	mm->legacy = oldmm->legacy;
	if (dup_mmap(mm, oldmm)) {
		mmput(mm);
		return NULL;
	}
	return mm;
}
