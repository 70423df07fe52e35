// SPDX-License-Identifier: GPL-2.0
/*
 * mremap, after the kernel's mm/mremap.c: shrink a mapping in place, grow
 * it in place when the space above it is free, or move it, carrying its
 * PTEs (and so its pages, untouched) to the new address.
 *
 * A move makes a VMA at the new address whose file offsets continue the old
 * one's (copy_vma()), so every page keeps its index and its anon_vma; moves
 * the PTEs across table by table (move_page_tables()); and unmaps the old
 * range, which by then maps nothing.  Secondary MMUs hear of the old range
 * going (MMU_NOTIFY_UNMAP) before the first PTE leaves it.
 */
#include <errno.h>

#include "mm/internal.h"

/*
 * An rmap walker (reclaim, truncation) holds no mmap_lock: with the PTEs
 * half moved it could look for a page at its old address after it left and
 * at its new one before it arrived, and miss it.  Holding the VMA's i_mmap
 * and anon_vma locks across each table's move makes it see all old or all
 * new.  The kernel skips this when the new VMA sorts after the old one in
 * every rmap walk; the model always takes them.
 */
static void take_rmap_locks(struct vm_area_struct *vma)
{
	if (vma->vm_file)
		i_mmap_lock_write(vma->vm_file->f_mapping);
	if (vma->anon_vma)
		anon_vma_lock_write(vma->anon_vma);
}

static void drop_rmap_locks(struct vm_area_struct *vma)
{
	if (vma->anon_vma)
		anon_vma_unlock_write(vma->anon_vma);
	if (vma->vm_file)
		i_mmap_unlock_write(vma->vm_file->f_mapping);
}

/*
 * Move the PTEs of [old_addr, old_end), all under @old_pmd's table, to the
 * table under @new_pmd (allocated already).  Both PTE locks are held, the
 * second nested (one lock class): no fault or walker sees a PTE in neither
 * place.  The host TLB flush the kernel does for the old range has nothing
 * to flush in the model (see mm/mmu_gather.c).
 */
static void move_ptes(struct vm_area_struct *vma, pmd_t *old_pmd, unsigned long old_addr,
		      unsigned long old_end, pmd_t *new_pmd, unsigned long new_addr)
{
	struct mm_struct *mm = vma->vm_mm;
	spinlock_t *old_ptl, *new_ptl;
	pte_t *old_pte, *new_pte;
	pte_t pte;

	take_rmap_locks(vma);
	old_pte = __pte_offset_map_lock(mm, old_pmd, old_addr, &old_ptl);
	if (!old_pte)
		goto out;
	new_pte = pte_offset_kernel(mm, new_pmd, new_addr);
	new_ptl = pte_lockptr(mm, new_pmd);
	if (new_ptl != old_ptl)
		spin_lock_nested(new_ptl, SINGLE_DEPTH_NESTING);

	for (; old_addr < old_end;
	     old_pte++, old_addr += PAGE_SIZE, new_pte++, new_addr += PAGE_SIZE) {
		if (pte_none(ptep_get(old_pte)))
			continue;
		pte = ptep_get_and_clear(mm, old_addr, old_pte);
		set_pte_at(mm, new_addr, new_pte, pte);
	}

	if (new_ptl != old_ptl)
		spin_unlock(new_ptl);
	spin_unlock(old_ptl);
out:
	drop_rmap_locks(vma);
}

/* How far from @old_addr one step may go: to the end of a PTE table on either side. */
static unsigned long get_extent(unsigned long old_addr, unsigned long old_end,
				unsigned long new_addr)
{
	unsigned long extent = ((old_addr + PMD_SIZE) & PMD_MASK) - old_addr;

	extent = min(extent, old_end - old_addr);
	return min(extent, ((new_addr + PMD_SIZE) & PMD_MASK) - new_addr);
}

/*
 * Move the PTEs of [old_addr, old_addr + len) of @vma to @new_addr in
 * @new_vma, allocating page tables there as needed (before any lock is
 * taken: allocation may sleep).  Returns how many bytes were moved, less
 * than @len only if a table could not be allocated.
 */
unsigned long move_page_tables(struct vm_area_struct *vma, unsigned long old_addr,
			       struct vm_area_struct *new_vma, unsigned long new_addr,
			       unsigned long len)
{
	struct mm_struct *mm = vma->vm_mm;
	unsigned long extent, old_end = old_addr + len;
	struct mmu_notifier_range range;
	pmd_t *old_pmd, *new_pmd;

	mmap_assert_write_locked(mm);
	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, mm, old_addr, old_end);
	mmu_notifier_invalidate_range_start(&range);

	for (; old_addr < old_end; old_addr += extent, new_addr += extent) {
		cond_resched();
		extent = get_extent(old_addr, old_end, new_addr);
		old_pmd = mm_find_pmd(mm, old_addr);
		if (!old_pmd || pmd_none(pmdp_get(old_pmd)))
			continue;
		new_pmd = mm_alloc_pmd(mm, new_addr);
		if (!new_pmd || pte_alloc(mm, new_pmd))
			break;
		move_ptes(vma, old_pmd, old_addr, old_addr + extent, new_pmd, new_addr);
	}

	mmu_notifier_invalidate_range_end(&range);
	return len + old_addr - old_end;
}

/*
 * Move [old_addr, old_addr + old_len) of @vma to a new VMA at @new_addr of
 * @new_len bytes, then unmap the old range.  On a failed table allocation
 * the moved PTEs go back (their tables exist) and the new VMA is unmapped.
 */
static unsigned long move_vma(struct vm_area_struct *vma, unsigned long old_addr,
			      unsigned long old_len, unsigned long new_len, unsigned long new_addr)
{
	struct mm_struct *mm = vma->vm_mm;
	unsigned long vm_flags = vma->vm_flags;
	unsigned long new_pgoff, moved_len;
	struct vm_area_struct *new_vma;
	long err = 0;

	/* A move may split the old VMA in three and add one: room for it all. */
	if (mm->map_count >= sysctl_max_map_count - 3)
		return -ENOMEM;

	new_pgoff = vma->vm_pgoff + ((old_addr - vma->vm_start) >> PAGE_SHIFT);
	new_vma = copy_vma(vma, new_addr, new_len, new_pgoff);
	if (!new_vma)
		return -ENOMEM;

	moved_len = move_page_tables(vma, old_addr, new_vma, new_addr, old_len);
	if (moved_len < old_len) {
		move_page_tables(new_vma, new_addr, vma, old_addr, moved_len);
		err = -ENOMEM;
	}

	/* The new VMA counts from now; unmapping the old range uncounts it. */
	vm_stat_account(mm, vm_flags, new_len >> PAGE_SHIFT);
	if (err) {
		do_munmap(mm, new_addr, new_len);
		return err;
	}
	do_munmap(mm, old_addr, old_len);

	/* Its neighbours at the new place may match it now. */
	new_vma = find_vma(mm, new_addr);
	if (new_vma)
		vma_merge_neighbours(new_vma);
	return new_addr;
}

/*
 * The VMA that [addr, addr + old_len) lies in, checked for being resized to
 * @new_len: it must be one VMA (-EFAULT otherwise, as in the kernel) and
 * its offsets must not wrap.
 */
static struct vm_area_struct *vma_to_resize(struct mm_struct *mm, unsigned long addr,
					    unsigned long old_len, unsigned long new_len)
{
	struct vm_area_struct *vma = vma_lookup(mm, addr);
	unsigned long pgoff;

	if (!vma)
		return ERR_PTR(-EFAULT);
	if (old_len > vma->vm_end - addr)
		return ERR_PTR(-EFAULT);
	if (new_len == old_len)
		return vma;
	pgoff = vma->vm_pgoff + ((addr - vma->vm_start) >> PAGE_SHIFT);
	if (pgoff + (new_len >> PAGE_SHIFT) < pgoff)
		return ERR_PTR(-EINVAL);
	return vma;
}

/* Is the space of @delta bytes right above @vma free? */
static bool vma_expandable(struct vm_area_struct *vma, unsigned long delta)
{
	unsigned long end = vma->vm_end + delta;

	if (end < vma->vm_end || end > TASK_SIZE)
		return false;
	return !find_vma_intersection(vma->vm_mm, vma->vm_end, end);
}

/* MREMAP_FIXED: move to exactly @new_addr, replacing what is there. */
static unsigned long mremap_to(struct mm_struct *mm, unsigned long addr, unsigned long old_len,
			       unsigned long new_addr, unsigned long new_len)
{
	struct vm_area_struct *vma;
	unsigned long ret;

	if (offset_in_page(new_addr))
		return -EINVAL;
	if (new_len > TASK_SIZE || new_addr > TASK_SIZE - new_len)
		return -EINVAL;
	/* The old and new ranges may not overlap. */
	if (addr + old_len > new_addr && new_addr + new_len > addr)
		return -EINVAL;
	ret = get_unmapped_area(mm, new_addr, new_len, 0, MAP_FIXED);
	if (IS_ERR_VALUE(ret))
		return ret;

	ret = do_munmap(mm, new_addr, new_len);
	if (ret)
		return ret;
	if (old_len > new_len) {
		ret = do_munmap(mm, addr + new_len, old_len - new_len);
		if (ret)
			return ret;
		old_len = new_len;
	}
	vma = vma_to_resize(mm, addr, old_len, new_len);
	if (IS_ERR(vma))
		return PTR_ERR(vma);
	return move_vma(vma, addr, old_len, new_len, new_addr);
}

/* Grow @vma in place by @delta bytes, at its end. */
static unsigned long mremap_expand(struct vm_area_struct *vma, unsigned long addr,
				   unsigned long delta)
{
	vm_stat_account(vma->vm_mm, vma->vm_flags, delta >> PAGE_SHIFT);
	vma_merge_extend(vma, delta);
	return addr;
}

/*
 * Resize [addr, addr + old_len) to @new_len: in place if it shrinks or the
 * space above is free, else (MREMAP_MAYMOVE) at a new address, or exactly
 * at @new_addr (MREMAP_FIXED).  Returns the address or -EINVAL, -EFAULT
 * (the old range is not one mapping), -ENOMEM (no room, and may not move).
 * The kernel's old_len == 0 (duplicate a shared mapping) and
 * MREMAP_DONTUNMAP are not modelled: -EINVAL.  An mlocked mapping's new
 * part is faulted in after the lock is dropped, as mlock promises.
 */
unsigned long do_mremap(struct mm_struct *mm, unsigned long addr, unsigned long old_len,
			unsigned long new_len, unsigned long flags, unsigned long new_addr)
{
	struct vm_area_struct *vma;
	unsigned long ret, pgoff;
	bool locked = false;

	if (flags & ~(MREMAP_FIXED | MREMAP_MAYMOVE))
		return -EINVAL;
	if ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE))
		return -EINVAL;
	if (offset_in_page(addr))
		return -EINVAL;
	old_len = PAGE_ALIGN(old_len);
	new_len = PAGE_ALIGN(new_len);
	if (!new_len || !old_len)
		return -EINVAL;

	mmap_write_lock(mm);
	if (flags & MREMAP_FIXED) {
		ret = mremap_to(mm, addr, old_len, new_addr, new_len);
		goto out;
	}

	/* Shrinking always works in place. */
	if (old_len >= new_len) {
		ret = addr;
		if (old_len != new_len) {
			ret = do_munmap(mm, addr + new_len, old_len - new_len);
			if (!ret)
				ret = addr;
		}
		goto out;
	}

	vma = vma_to_resize(mm, addr, old_len, new_len);
	if (IS_ERR(vma)) {
		ret = PTR_ERR(vma);
		goto out;
	}

	/* The old range runs to the VMA's end: can the VMA just grow? */
	if (old_len == vma->vm_end - addr && vma_expandable(vma, new_len - old_len)) {
		ret = mremap_expand(vma, addr, new_len - old_len);
		goto out;
	}

	ret = -ENOMEM;
	if (flags & MREMAP_MAYMOVE) {
		pgoff = vma->vm_pgoff + ((addr - vma->vm_start) >> PAGE_SHIFT);
		ret = get_unmapped_area(mm, 0, new_len, pgoff, 0);
		if (!IS_ERR_VALUE(ret))
			ret = move_vma(vma, addr, old_len, new_len, ret);
	}
out:
	if (!IS_ERR_VALUE(ret) && new_len > old_len) {
		vma = vma_lookup(mm, ret);
		locked = vma && (vma->vm_flags & VM_LOCKED);
	}
	mmap_write_unlock(mm);
	if (locked)
		__mm_populate(mm, ret + old_len, new_len - old_len, 1);
	return ret;
}
