// SPDX-License-Identifier: GPL-2.0
/*
 * An address space's life, from mm_alloc() to the last mmdrop(), and its
 * copy at fork: the part of the kernel's kernel/fork.c that is about
 * mm_structs, which this file plays.  The references and the checks made
 * on a dead mm belong with the copy that makes most mms, not with the VMA
 * layer (mm/mmap.c), which keeps exit_mmap(), the teardown of the VMAs
 * the last mmput() asks for, as the kernel does.
 *
 * fork copies every VMA except MADV_DONTFORK ones.  A private VMA's copy
 * gets a chain to each of the parent's anon_vmas plus an anon_vma of its
 * own (anon_vma_fork()): pages the two share stay findable from either,
 * pages the child makes later belong to the child only.  copy_page_range()
 * (mm/copy_page_range.c) then copies the PTEs, write-protecting private
 * pages in the parent as well as the child so that the first write on
 * either side breaks COW; since that weakens PTEs a secondary MMU may have
 * copied, it brackets the parent's range with invalidate_range_start/end
 * (rule 1, invalidate before free).  mlock is not inherited.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/bug.h"
#include "base/report.h"
#include "mm/internal.h"

/* ---- the mm_struct ---- */

struct mm_struct *mm_alloc(struct frame_pool *pool, const char *owner)
{
	struct mm_struct *mm = calloc(1, sizeof(*mm));

	if (!mm)
		return NULL;
	mm->pool = pool;
	init_rwsem(&mm->mmap_lock);
	interval_tree_root_init(&mm->mm_rb);
	INIT_LIST_HEAD(&mm->vma_leaves);
	INIT_LIST_HEAD(&mm->vma_leaf_spares);
	spin_lock_init(&mm->page_table_lock);
	atomic_set(&mm->mm_users, 1);
	atomic_set(&mm->mm_count, 1);
	snprintf(mm->owner, sizeof(mm->owner), "%s", owner ? owner : "mm");
	mmu_notifier_subscriptions_init(mm);

	mm->pgd = pgd_alloc(mm);
	if (!mm->pgd) {
		free(mm);
		return NULL;
	}
	return mm;
}

void mmput(struct mm_struct *mm)
{
	if (atomic_dec_and_test(&mm->mm_users)) {
		exit_mmap(mm);
		mmdrop(mm);
	}
}

static const char *const resident_page_types[NR_MM_COUNTERS] = {
	[MM_FILEPAGES] = "MM_FILEPAGES",
	[MM_ANONPAGES] = "MM_ANONPAGES",
	[MM_SWAPENTS] = "MM_SWAPENTS",
	[MM_SHMEMPAGES] = "MM_SHMEMPAGES",
};

/* The kernel's check_mm(): every counter of a dead mm must be back at zero. */
static void check_mm(struct mm_struct *mm)
{
	long pgtables = atomic_long_read(&mm->pgtables_bytes);

	for (int i = 0; i < NR_MM_COUNTERS; i++) {
		long x = atomic_long_read(&mm->rss_stat[i]);

		if (unlikely(x)) {
			report_start(REPORT_WARN, "BUG: Bad rss-counter state");
			report_printf("  mm %s: %s = %ld\n", mm->owner, resident_page_types[i], x);
			report_end();
		}
	}
	if (unlikely(pgtables)) {
		report_start(REPORT_WARN, "BUG: non-zero pgtables_bytes on freeing mm");
		report_printf("  mm %s: %ld bytes\n", mm->owner, pgtables);
		report_end();
	}
}

/* The last mmgrab reference: the struct and its top-level table go. */
void mmdrop(struct mm_struct *mm)
{
	if (!atomic_dec_and_test(&mm->mm_count))
		return;
	WARN_ON(!interval_tree_empty(&mm->mm_rb));
	vma_leaves_destroy(mm);
	pgd_free(mm, mm->pgd);
	mmu_notifier_subscriptions_destroy(mm);
	check_mm(mm);
	free(mm);
}

/* ---- fork ---- */

/* A copy of @mpnt for @mm, linked into @mm and the file's i_mmap. */
static struct vm_area_struct *dup_vma(struct mm_struct *mm, struct vm_area_struct *mpnt, int *err)
{
	struct vm_area_struct *tmp = vm_area_dup(mpnt);

	*err = -ENOMEM;
	if (!tmp)
		return NULL;
	tmp->vm_mm = mm;
	/* vm_area_dup() readied the parent's VMA leaves; linking needs the child's. */
	*err = vma_leaf_topup(mm);
	if (*err) {
		vm_area_free(tmp);
		return NULL;
	}
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
