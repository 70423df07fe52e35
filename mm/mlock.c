// SPDX-License-Identifier: GPL-2.0
/*
 * mlock and munlock, after the kernel's mm/mlock.c.
 *
 * Two levels.  A VMA is locked by VM_LOCKED (and VM_LOCKONFAULT for
 * MLOCK_ONFAULT), which mm->locked_vm counts in pages.  A page mapped by a
 * locked VMA is marked PG_mlocked (and PG_unevictable, so that reclaim
 * leaves it alone): new pages by the fault path (mlock_new_page()), pages
 * already mapped when the VMA becomes locked by a walk of its page tables
 * here, and the mark is cleared by the same walk at munlock and by the
 * unmap of a locked VMA (page_remove_rmap()).  The frame sanitizer reports
 * a frame freed while still PG_mlocked.
 *
 * The kernel counts, per folio, how many locked VMAs map it (mlock_count)
 * and so clears PG_mlocked only when the last one goes.  struct page has
 * no such count here: munlock clears the mark at once, and a page that
 * another locked VMA still maps is marked again when reclaim's rmap walk
 * meets that VMA, under the PTE lock (rule 8, mlock under the PTE lock) —
 * the kernel's behaviour before its mlock_count, too.
 */
#include <errno.h>

#include "mm/internal.h"
#include "mm/swap.h"

/* ---- the mark on pages ---- */

/* A page just faulted into a VM_LOCKED VMA, mapped under its PTE lock. */
void mlock_new_page(struct page *page)
{
	if (!TestSetPageMlocked(page))
		lru_update_evictable(page);
}

/* PG_unevictable follows PG_mlocked, moving the page between LRU lists (mm/swap.c). */
void mlock_page(struct page *page)
{
	if (!TestSetPageMlocked(page))
		lru_update_evictable(page);
}

void munlock_page(struct page *page)
{
	if (TestClearPageMlocked(page))
		lru_update_evictable(page);
}

/*
 * Mark or unmark the pages already mapped in [start, end) of @vma, under
 * each page-table page's PTE lock, after the VMA's flags changed: the
 * kernel's mlock_vma_pages_range().  Only present, normal pages carry the
 * mark; swap entries are marked when they are faulted back in.
 */
static int mlock_pte_entry(pte_t *pte, unsigned long addr, struct mm_walk *walk)
{
	struct page *page;

	if (!pte_present(ptep_get(pte)))
		return 0;
	page = vm_normal_page(walk->vma, addr, ptep_get(pte));
	if (!page)
		return 0;
	if (walk->vma->vm_flags & VM_LOCKED)
		mlock_page(page);
	else
		munlock_page(page);
	return 0;
}

static const struct mm_walk_ops mlock_walk_ops = {
	.pte_entry = mlock_pte_entry,
};

static void mlock_vma_pages_range(struct vm_area_struct *vma, unsigned long start,
				  unsigned long end)
{
	walk_page_range(vma, start, end, &mlock_walk_ops, NULL);
}

/* ---- VMAs ---- */

/*
 * Give [start, end) of @vma the lock flags of @newflags: split/merge the
 * VMA, account locked_vm, and (un)mark the pages already mapped.  Faulting
 * in the rest is the caller's, after the write lock is dropped.
 */
static int mlock_fixup(struct vm_area_struct *vma, unsigned long start, unsigned long end,
		       unsigned long newflags)
{
	struct mm_struct *mm = vma->vm_mm;
	unsigned long oldflags = vma->vm_flags;
	long nr_pages;

	if (newflags == oldflags)
		return 0;
	vma = vma_modify_flags(vma, start, end, newflags);
	if (IS_ERR(vma))
		return PTR_ERR(vma);

	nr_pages = (end - start) >> PAGE_SHIFT;
	if (!(newflags & VM_LOCKED))
		nr_pages = -nr_pages;
	else if (oldflags & VM_LOCKED)
		nr_pages = 0; /* only VM_LOCKONFAULT changed */
	WRITE_ONCE(mm->locked_vm, READ_ONCE(mm->locked_vm) + nr_pages);

	/* Locked before and after: the pages are marked already. */
	if ((newflags & VM_LOCKED) && (oldflags & VM_LOCKED))
		return 0;
	mlock_vma_pages_range(vma, start, end);
	return 0;
}

/* One VMA's part of the range: its lock flags become @flags. */
static int mlock_vma(struct vm_area_struct *vma, unsigned long start, unsigned long end,
		     unsigned long flags)
{
	return mlock_fixup(vma, start, end,
			   (vma->vm_flags & ~(VM_LOCKED | VM_LOCKONFAULT)) | flags);
}

/*
 * Set the lock flags @flags (VM_LOCKED [| VM_LOCKONFAULT], or 0 to unlock)
 * on every VMA of [start, start + len).  As in the kernel, a hole ends the
 * walk with -ENOMEM, leaving the VMAs before it changed.
 */
static int apply_vma_lock_flags(struct mm_struct *mm, unsigned long start, size_t len,
				unsigned long flags)
{
	unsigned long end = start + len;

	if (end < start)
		return -EINVAL;
	if (end == start)
		return 0;
	return apply_vma_range(mm, start, end, mlock_vma, flags);
}

/*
 * Fault in [start, start + len) VMA by VMA, under mmap_lock for read: the
 * kernel's __mm_populate() (mm/gup.c there).  VM_LOCKONFAULT VMAs are left
 * to fault as they are touched, and PROT_NONE ones cannot be faulted at all
 * (mlock still locks them).  With @ignore_errors a VMA that fails is
 * skipped (mmap's MAP_POPULATE); otherwise the first error is returned.
 */
int __mm_populate(struct mm_struct *mm, unsigned long start, unsigned long len, int ignore_errors)
{
	unsigned long end = start + len, nstart, nend;
	struct vm_area_struct *vma;
	long ret = 0;

	mmap_read_lock(mm);
	for (nstart = start; nstart < end; nstart = nend) {
		vma = find_vma(mm, nstart);
		if (!vma || vma->vm_start >= end)
			break;
		nstart = max(nstart, vma->vm_start);
		nend = min(end, vma->vm_end);
		if (vma->vm_flags & VM_LOCKONFAULT)
			continue;
		if (!(vma->vm_flags & VM_ACCESS_FLAGS))
			continue;
		ret = populate_vma_page_range(vma, nstart, nend);
		if (ret < 0) {
			if (ignore_errors) {
				ret = 0;
				continue;
			}
			break;
		}
	}
	mmap_read_unlock(mm);
	return ret < 0 ? ret : 0;
}

/*
 * mlock(2)/mlock2(2): lock [start, start + len), rounded out to pages, and
 * fault it in unless MLOCK_ONFAULT.  The kernel checks RLIMIT_MEMLOCK here;
 * the model has no rlimits, and locked_vm only counts.
 */
int do_mlock(struct mm_struct *mm, unsigned long start, size_t len, unsigned int flags)
{
	unsigned long vm_flags = VM_LOCKED;
	int error;

	if (flags & ~MLOCK_ONFAULT)
		return -EINVAL;
	if (flags & MLOCK_ONFAULT)
		vm_flags |= VM_LOCKONFAULT;
	if (len > TASK_SIZE)
		return -ENOMEM;
	len = PAGE_ALIGN(len + offset_in_page(start));
	start &= PAGE_MASK;

	mmap_write_lock(mm);
	error = apply_vma_lock_flags(mm, start, len, vm_flags);
	mmap_write_unlock(mm);
	if (error)
		return error;

	error = __mm_populate(mm, start, len, 0);
	/* POSIX: a range that cannot be faulted in is "not enough memory". */
	return error == -EFAULT ? -ENOMEM : error;
}

int do_munlock(struct mm_struct *mm, unsigned long start, size_t len)
{
	int error;

	if (len > TASK_SIZE)
		return -ENOMEM;
	len = PAGE_ALIGN(len + offset_in_page(start));
	start &= PAGE_MASK;

	mmap_write_lock(mm);
	error = apply_vma_lock_flags(mm, start, len, 0);
	mmap_write_unlock(mm);
	return error;
}
