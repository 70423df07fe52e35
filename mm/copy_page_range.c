// SPDX-License-Identifier: GPL-2.0
/*
 * fork's copy of the page tables (the kernel's copy_page_range(), which
 * lives in its mm/memory.c): the child's PTEs for each VMA dup_mmap()
 * copies.  Apart from memory.c because it is neither a fault nor a zap,
 * and apart from fork.c because it is a PTE walk under both processes'
 * PTE locks, which is the page-table layer's business.
 *
 * A private (COW) mapping's pages are shared, and both sides' PTEs made
 * read-only so the first write on either side copies; since that weakens
 * what a secondary MMU may have copied from the parent, the parent's range
 * is announced first (MMU_NOTIFY_PROTECTION_PAGE; rule 1, invalidate
 * before free).  A page that may be pinned for DMA is copied at once
 * instead, so the pin and the parent keep seeing one page.
 */
#include "base/bug.h"
#include "mm/internal.h"
#include "mm/swap.h"

/*
 * The child gets a private copy of an anon page now rather than sharing it
 * COW, because the parent's page may be pinned (DMA into it must stay
 * visible to the parent, and COW would move the parent off it).  Needs a
 * page allocated beforehand: -EAGAIN asks the caller to drop the locks and
 * allocate one.
 */
static int copy_present_page(struct vm_area_struct *dst_vma, pte_t *dst_pte, unsigned long addr,
			     long *rss, struct page **prealloc, struct page *page)
{
	struct page *new_page = *prealloc;
	pte_t pte;

	if (!new_page)
		return -EAGAIN;
	*prealloc = NULL;
	copy_user_highpage(new_page, page);
	page_add_new_anon_rmap(new_page, dst_vma, addr);
	lru_cache_add(new_page);
	rss[MM_ANONPAGES]++;
	pte = maybe_mkwrite(pte_mkdirty(mk_pte(new_page, vma_page_prot(dst_vma))), dst_vma);
	set_pte_at(dst_vma->vm_mm, addr, dst_pte, pte);
	return 0;
}

/* Both PTE locks held: share the page with the child, write-protecting a COW mapping. */
static int copy_present_pte(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma,
			    pte_t *dst_pte, pte_t *src_pte, unsigned long addr, long *rss,
			    struct page **prealloc)
{
	pte_t pte = ptep_get(src_pte);
	struct page *page = vm_normal_page(src_vma, addr, pte);

	if (page && PageAnon(page)) {
		get_page(page);
		if (unlikely(page_try_dup_anon_rmap(page, src_vma))) {
			put_page(page);
			return copy_present_page(dst_vma, dst_pte, addr, rss, prealloc, page);
		}
		rss[MM_ANONPAGES]++;
	} else if (page) {
		get_page(page);
		page_dup_file_rmap(page);
		rss[mm_counter_file(page)]++;
	}
	if (is_cow_mapping(src_vma->vm_flags) && pte_write(pte)) {
		ptep_set_wrprotect(src_vma->vm_mm, addr, src_pte);
		pte = pte_wrprotect(pte);
	}
	if (src_vma->vm_flags & VM_SHARED)
		pte = pte_mkclean(pte);
	set_pte_at(dst_vma->vm_mm, addr, dst_pte, pte_mkold(pte));
	return 0;
}

static void copy_swap_pte(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma,
			  pte_t *dst_pte, pte_t *src_pte, unsigned long addr, long *rss)
{
	pte_t pte = ptep_get(src_pte);
	swp_entry_t entry = pte_to_swp_entry(pte);

	if (is_migration_entry(entry)) {
		rss[mm_counter(pfn_swap_entry_to_page(src_vma->vm_mm->pool, entry))]++;
		/* Both sides of a COW mapping must fault when migration ends. */
		if (is_writable_migration_entry(entry) && is_cow_mapping(src_vma->vm_flags)) {
			pte = swp_entry_to_pte(make_readable_migration_entry(swp_offset(entry)));
			set_pte_at(src_vma->vm_mm, addr, src_pte, pte);
		}
	} else if (!non_swap_entry(entry)) {
		/* The parent's PTE holds the slot, so it cannot be free. */
		WARN_ON(swap_duplicate(entry));
		rss[MM_SWAPENTS]++;
		pte = pte_swp_clear_exclusive(pte);
		set_pte_at(src_vma->vm_mm, addr, src_pte, pte);
	}
	set_pte_at(dst_vma->vm_mm, addr, dst_pte, pte);
}

/*
 * Copy one PTE table's worth.  Returns 0, -ENOMEM, or -EAGAIN with *@addrp
 * at the PTE that needs a fresh page in *@prealloc.
 */
static int copy_pte_table(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma,
			  pmd_t *dst_pmd, pmd_t *src_pmd, unsigned long *addrp, unsigned long end,
			  struct page **prealloc)
{
	struct mm_struct *src_mm = src_vma->vm_mm;
	unsigned long addr = *addrp;
	long rss[NR_MM_COUNTERS] = { 0 };
	spinlock_t *dst_ptl, *src_ptl;
	pte_t *dst_pte, *src_pte, *orig_dst_pte;
	int ret = 0;

	dst_pte = pte_alloc_map_lock(dst_vma->vm_mm, dst_pmd, addr, &dst_ptl);
	if (!dst_pte)
		return -ENOMEM;
	orig_dst_pte = dst_pte;
	src_pte = pte_offset_kernel(src_mm, src_pmd, addr);
	src_ptl = pte_lockptr(src_mm, src_pmd);
	spin_lock_nested(src_ptl, 1);
	do {
		pte_t ptent = ptep_get(src_pte);

		if (pte_none(ptent))
			continue;
		if (!pte_present(ptent))
			copy_swap_pte(dst_vma, src_vma, dst_pte, src_pte, addr, rss);
		else
			ret = copy_present_pte(dst_vma, src_vma, dst_pte, src_pte, addr, rss,
					       prealloc);
		if (ret)
			break;
	} while (dst_pte++, src_pte++, addr += PAGE_SIZE, addr != end);
	spin_unlock(src_ptl);
	pte_unmap_unlock(orig_dst_pte, dst_ptl);
	add_mm_rss_vec(dst_vma->vm_mm, rss);
	*addrp = addr;
	return ret;
}

static int copy_pte_range(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma,
			  pmd_t *dst_pmd, pmd_t *src_pmd, unsigned long addr, unsigned long end)
{
	struct page *prealloc = NULL;
	int ret;

	for (;;) {
		ret = copy_pte_table(dst_vma, src_vma, dst_pmd, src_pmd, &addr, end, &prealloc);
		if (ret != -EAGAIN)
			break;
		prealloc = alloc_anon_page(dst_vma, GFP_KERNEL);
		if (!prealloc)
			return -ENOMEM;
	}
	if (prealloc)
		put_page(prealloc);
	return ret;
}

static int copy_page_tables(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma)
{
	unsigned long addr, next, end = src_vma->vm_end;
	pmd_t *src_pmd, *dst_pmd;
	int ret;

	for (addr = src_vma->vm_start; addr != end; addr = next) {
		src_pmd = pmd_span(src_vma->vm_mm, addr, end, &next);
		if (!src_pmd || pmd_none(pmdp_get(src_pmd)))
			continue;
		dst_pmd = mm_alloc_pmd(dst_vma->vm_mm, addr);
		if (!dst_pmd)
			return -ENOMEM;
		ret = copy_pte_range(dst_vma, src_vma, dst_pmd, src_pmd, addr, next);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * fork: give the child @dst the parent's PTEs of @src.  Mappings with no
 * anon pages are skipped: the child faults their pages in from the file.
 * In a COW mapping the parent's writable PTEs become read-only, which
 * weakens what a secondary MMU may have copied: announced as
 * MMU_NOTIFY_PROTECTION_PAGE.  Both mmap_locks are held for write.
 */
int copy_page_range(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma)
{
	struct mmu_notifier_range range;
	bool is_cow = is_cow_mapping(src_vma->vm_flags);
	int ret;

	if (!src_vma->anon_vma)
		return 0;
	if (is_cow) {
		mmu_notifier_range_init(&range, MMU_NOTIFY_PROTECTION_PAGE, 0, src_vma->vm_mm,
					src_vma->vm_start, src_vma->vm_end);
		mmu_notifier_invalidate_range_start(&range);
	}
	ret = copy_page_tables(dst_vma, src_vma);
	if (is_cow)
		mmu_notifier_invalidate_range_end(&range);
	return ret;
}
