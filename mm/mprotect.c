// SPDX-License-Identifier: GPL-2.0
/*
 * mprotect, after the kernel's mm/mprotect.c: new protections for a range,
 * VMA by VMA.  Each VMA's part of the range is split off and given its new
 * flags (vma_modify_flags(), which merges it with matching neighbours), and
 * then change_protection() brings its PTEs in line, announcing the range to
 * secondary MMUs first (MMU_NOTIFY_PROTECTION_VMA): a secondary MMU that
 * copied a writable PTE must drop it before the host's becomes read-only.
 * That PTE walk is here too, as in the kernel: it is mprotect's alone.
 */
#include <errno.h>

#include "mm/internal.h"

/* ---- the PTEs ---- */

/*
 * The new PTE for a present one.  Write permission is never granted here
 * (a write fault decides whether the page may be reused), only kept where
 * the PTE had it and the VMA still allows writes.
 */
static pte_t change_pte_prot(struct vm_area_struct *vma, pte_t oldpte, pgprot_t newprot)
{
	pte_t ptent = pte_modify(oldpte, newprot);

	if (pte_write(oldpte) && (vma->vm_flags & VM_WRITE) && !pte_protnone(ptent))
		ptent = pte_mkwrite(ptent);
	return ptent;
}

static long change_pte_range(struct vm_area_struct *vma, pmd_t *pmd, unsigned long addr,
			     unsigned long end, pgprot_t newprot)
{
	struct mm_struct *mm = vma->vm_mm;
	spinlock_t *ptl;
	pte_t *start_pte = __pte_offset_map_lock(mm, pmd, addr, &ptl);
	pte_t *pte = start_pte;
	long pages = 0;

	if (!pte)
		return 0;
	do {
		pte_t oldpte = ptep_get(pte);
		swp_entry_t entry;

		if (pte_present(oldpte)) {
			set_pte_at(mm, addr, pte, change_pte_prot(vma, oldpte, newprot));
			pages++;
		} else if (is_swap_pte(oldpte)) {
			entry = pte_to_swp_entry(oldpte);
			if (is_writable_migration_entry(entry) && !(vma->vm_flags & VM_WRITE)) {
				entry = make_readable_migration_entry(swp_offset(entry));
				set_pte_at(mm, addr, pte, swp_entry_to_pte(entry));
				pages++;
			}
		}
	} while (pte++, addr += PAGE_SIZE, addr != end);
	pte_unmap_unlock(start_pte, ptl);
	return pages;
}

long change_protection(struct vm_area_struct *vma, unsigned long start, unsigned long end)
{
	pgprot_t newprot = vma_page_prot(vma);
	struct mmu_notifier_range range;
	unsigned long addr, next;
	long pages = 0;
	pmd_t *pmd;

	if (start >= end)
		return 0;
	mmu_notifier_range_init(&range, MMU_NOTIFY_PROTECTION_VMA, 0, vma->vm_mm, start, end);
	mmu_notifier_invalidate_range_start(&range);
	for (addr = start; addr != end; addr = next) {
		pmd = pmd_span(vma->vm_mm, addr, end, &next);
		if (pmd && !pmd_none(pmdp_get(pmd)))
			pages += change_pte_range(vma, pmd, addr, next, newprot);
	}
	mmu_notifier_invalidate_range_end(&range);
	return pages;
}

/* ---- the VMAs ---- */

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

/* One VMA's part of the range: its access bits become @prot's, if its VM_MAY* bits allow. */
static int mprotect_vma(struct vm_area_struct *vma, unsigned long start, unsigned long end,
			unsigned long prot)
{
	unsigned long newflags = calc_vm_prot_bits(prot) | (vma->vm_flags & ~VM_ACCESS_FLAGS);

	if (!vm_access_allowed(newflags))
		return -EACCES;
	return mprotect_fixup(vma, start, end, newflags);
}

/*
 * Change the protection of [start, start + len) to @prot.  As in the
 * kernel, a hole in the range ends the walk with -ENOMEM, leaving the VMAs
 * before it changed, and a protection a VMA may not take (PROT_WRITE on a
 * shared mapping of a read-only file) ends it with -EACCES.
 */
int do_mprotect(struct mm_struct *mm, unsigned long start, size_t len, unsigned long prot)
{
	unsigned long end;
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
	error = apply_vma_range(mm, start, end, mprotect_vma, prot);
	mmap_write_unlock(mm);
	return error;
}
