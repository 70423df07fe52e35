// SPDX-License-Identifier: GPL-2.0
/*
 * Page-table pages: allocating them from the pool, populating the upper
 * levels under mm->page_table_lock, the split PTE lock of each PTE table,
 * the locked PTE lookups, and freeing a range's tables into a TLB gather
 * (after the kernel's mm/memory.c, mm/pgtable-generic.c and x86's pgtable.c).
 */
#include <stdlib.h>

#include "base/bug.h"
#include "base/report.h"
#include "mm/internal.h"
#include "mm/pgtable.h"

/* ---- protections ---- */

pgprot_t vm_get_page_prot(unsigned long vm_flags)
{
	unsigned long prot = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED;

	if (!(vm_flags & VM_ACCESS_FLAGS))
		return PAGE_NONE;
	if (!(vm_flags & VM_EXEC))
		prot |= _PAGE_NX;
	/* Private writable: read-only until a write fault copies or reuses the page. */
	if ((vm_flags & (VM_WRITE | VM_SHARED)) == (VM_WRITE | VM_SHARED))
		prot |= _PAGE_RW;
	return __pgprot(prot);
}

/*
 * A shared writable mapping of a real file maps its pages read-only until
 * written, so that the write fault marks the page dirty: the page cache
 * learns of every page that must be written back.  shmem pages are
 * swap-backed and need no such notice.
 */
static bool __vma_wants_writenotify(struct vm_area_struct *vma, unsigned long vm_flags)
{
	if ((vm_flags & (VM_WRITE | VM_SHARED)) != (VM_WRITE | VM_SHARED))
		return false;
	return vma->vm_file && !test_bit(AS_SHMEM, &vma->vm_file->f_mapping->flags);
}

bool vma_wants_writenotify(struct vm_area_struct *vma)
{
	return __vma_wants_writenotify(vma, vma->vm_flags);
}

/*
 * Departs from the kernel, which caches this in vma->vm_page_prot.  An
 * rmap walk (remove_migration_pte()) asks while mprotect may change
 * vm_flags (vma_modify_flags()): one load, so one answer.
 */
pgprot_t vma_page_prot(struct vm_area_struct *vma)
{
	unsigned long vm_flags = READ_ONCE(vma->vm_flags);
	pgprot_t prot = vm_get_page_prot(vm_flags);

	if (__vma_wants_writenotify(vma, vm_flags))
		prot = __pgprot(pgprot_val(prot) & ~_PAGE_RW);
	return prot;
}

/* ---- walking ---- */

void pgtable_bad_frame(struct mm_struct *mm, unsigned long entry, unsigned long addr)
{
	unsigned long pfn = (entry & PTE_PFN_MASK) >> PAGE_SHIFT;
	struct frame_stamp stamp = { .pfn = pfn, .state = FRAME_PGTABLE };
	struct frame_access acc = {
		.addr = addr,
		.size = sizeof(pte_t),
		.who = "host page-table walk",
	};

	if (pfn_valid(mm->pool, pfn))
		stamp.gen = READ_ONCE(pfn_to_page(mm->pool, pfn)->gen);
	__frame_check_stamp(mm->pool, &stamp, &acc);
	/* An entry outside the pool is not a stale table but a corrupt one. */
	BUG_ON(!pfn_valid(mm->pool, pfn));
}

pmd_t *mm_find_pmd(struct mm_struct *mm, unsigned long addr)
{
	pgd_t *pgd = pgd_offset(mm, addr);
	pud_t *pud;

	if (pgd_none(pgdp_get(pgd)))
		return NULL;
	pud = pud_offset(mm, pgd, addr);
	if (pud_none(pudp_get(pud)))
		return NULL;
	return pmd_offset(mm, pud, addr);
}

pmd_t *pmd_span(struct mm_struct *mm, unsigned long addr, unsigned long end, unsigned long *next)
{
	pgd_t *pgd = pgd_offset(mm, addr);
	pud_t *pud;

	if (pgd_none(pgdp_get(pgd))) {
		*next = pgd_addr_end(addr, end);
		return NULL;
	}
	pud = pud_offset(mm, pgd, addr);
	if (pud_none(pudp_get(pud))) {
		*next = pud_addr_end(addr, end);
		return NULL;
	}
	*next = pmd_addr_end(addr, end);
	return pmd_offset(mm, pud, addr);
}

pmd_t *mm_alloc_pmd(struct mm_struct *mm, unsigned long addr)
{
	pud_t *pud = pud_alloc(mm, pgd_offset(mm, addr), addr);

	return pud ? pmd_alloc(mm, pud, addr) : NULL;
}

/* ---- allocating and freeing table frames ---- */

static struct page *pgtable_alloc_one(struct mm_struct *mm)
{
	struct page *table = alloc_frame(mm->pool, FRAME_PGTABLE, GFP_KERNEL | __GFP_ZERO);

	if (table)
		atomic_long_add(PAGE_SIZE, &mm->pgtables_bytes);
	return table;
}

/* A table being freed must map nothing: a leftover entry is a leaked page or table. */
static void pgtable_check_empty(struct page *table)
{
	unsigned long *entries = page_address(table);

	for (int i = 0; i < PTRS_PER_PTE; i++) {
		if (unlikely(READ_ONCE(entries[i]))) {
			report_start(REPORT_WARN, "page table freed with live entries");
			report_printf("  table pfn %lu, entry %d = %#lx\n", page_to_pfn(table), i,
				      entries[i]);
			dump_stack();
			report_end();
			return;
		}
	}
}

void pgtable_free(struct mm_struct *mm, struct page *table)
{
	pgtable_check_empty(table);
	if (ptlock_ptr(table))
		pgtable_pte_page_dtor(table);
	atomic_long_sub(PAGE_SIZE, &mm->pgtables_bytes);
	free_frame(table);
}

pgd_t *pgd_alloc(struct mm_struct *mm)
{
	struct page *table = alloc_frame(mm->pool, FRAME_PGTABLE, GFP_KERNEL | __GFP_ZERO);

	return table ? page_address(table) : NULL;
}

void pgd_free(struct mm_struct *mm, pgd_t *pgd)
{
	struct page *table = virt_to_page(mm->pool, pgd);

	pgtable_check_empty(table);
	free_frame(table);
}

/*
 * Every PTE lock is one lock class ("ptlock"), as in the kernel: two of them
 * are taken together only with spin_lock_nested() (fork, mremap).
 */
bool pgtable_pte_page_ctor(struct page *table)
{
	spinlock_t *ptl = malloc(sizeof(*ptl));

	if (!ptl)
		return false;
	spin_lock_init(ptl);
	WRITE_ONCE(table->private, (unsigned long)ptl);
	return true;
}

void pgtable_pte_page_dtor(struct page *table)
{
	spinlock_t *ptl = ptlock_ptr(table);

	WRITE_ONCE(table->private, 0);
	free(ptl);
}

/* ---- populating the upper levels ---- */

/*
 * Install @table in the empty entry *@entryp, or give it back if a racing
 * fault got there first.  The release store publishes the zeroed table
 * (and, for a PTE table, its lock) to walkers that read the entry without
 * page_table_lock.
 */
static void pgtable_populate(struct mm_struct *mm, unsigned long *entryp, struct page *table)
{
	spin_lock(&mm->page_table_lock);
	if (pxx_none(READ_ONCE(*entryp))) {
		smp_store_release(entryp, (page_to_pfn(table) << PAGE_SHIFT) | _PAGE_TABLE);
		table = NULL;
	}
	spin_unlock(&mm->page_table_lock);
	if (table)
		pgtable_free(mm, table);
}

static int __pxx_alloc(struct mm_struct *mm, unsigned long *entryp)
{
	struct page *table = pgtable_alloc_one(mm);

	if (!table)
		return -ENOMEM;
	pgtable_populate(mm, entryp, table);
	return 0;
}

pud_t *pud_alloc(struct mm_struct *mm, pgd_t *pgd, unsigned long addr)
{
	if (pgd_none(pgdp_get(pgd)) && __pxx_alloc(mm, pgd))
		return NULL;
	return pud_offset(mm, pgd, addr);
}

pmd_t *pmd_alloc(struct mm_struct *mm, pud_t *pud, unsigned long addr)
{
	if (pud_none(pudp_get(pud)) && __pxx_alloc(mm, pud))
		return NULL;
	return pmd_offset(mm, pud, addr);
}

int __pte_alloc(struct mm_struct *mm, pmd_t *pmd)
{
	struct page *table = pgtable_alloc_one(mm);

	if (!table)
		return -ENOMEM;
	if (!pgtable_pte_page_ctor(table)) {
		pgtable_free(mm, table);
		return -ENOMEM;
	}
	pgtable_populate(mm, pmd, table);
	return 0;
}

/* ---- locked PTE lookups ---- */

pte_t *__pte_offset_map_lock(struct mm_struct *mm, pmd_t *pmd, unsigned long addr,
			     spinlock_t **ptlp)
{
	pmd_t pmdval = pmdp_get(pmd);
	spinlock_t *ptl;

	if (pmd_none(pmdval))
		return NULL;
	/* A freed table has no lock to take: reported, and treated as absent. */
	if (!pgtable_check_entry(mm, pmdval, addr))
		return NULL;
	ptl = ptlock_ptr(pgtable_entry_page(mm, pmdval));
	spin_lock(ptl);
	*ptlp = ptl;
	return (pte_t *)page_address(pgtable_entry_page(mm, pmdval)) + pte_index(addr);
}

pte_t *pte_offset_map_lock(struct mm_struct *mm, unsigned long addr, spinlock_t **ptlp)
{
	pmd_t *pmd = mm_find_pmd(mm, addr);

	return pmd ? __pte_offset_map_lock(mm, pmd, addr, ptlp) : NULL;
}

pte_t *pte_alloc_map_lock(struct mm_struct *mm, pmd_t *pmd, unsigned long addr, spinlock_t **ptlp)
{
	if (pte_alloc(mm, pmd))
		return NULL;
	return __pte_offset_map_lock(mm, pmd, addr, ptlp);
}

pte_t *get_locked_pte(struct mm_struct *mm, unsigned long addr, spinlock_t **ptlp)
{
	pmd_t *pmd = mm_alloc_pmd(mm, addr);

	return pmd ? pte_alloc_map_lock(mm, pmd, addr, ptlp) : NULL;
}

/* ---- freeing a range's tables ---- */

/*
 * free_pgd_range() and its levels.  A table may go only if everything it
 * maps lies inside [floor, ceiling): below floor or from ceiling up there
 * may be a neighbouring VMA whose PTEs share it.  At each level the span of
 * the table is rounded out to that level's size and compared with floor and
 * ceiling; the PTE level does that once, up front, for the whole range.
 * The tables' entries were zapped already; their pages go to the gather,
 * and are freed after the TLB flush by tlb_finish_mmu().
 */
static void free_pte_range(struct mmu_gather *tlb, pmd_t *pmd, unsigned long addr)
{
	struct page *table = pgtable_entry_page(tlb->mm, pmdp_get(pmd));

	pxx_clear(pmd);
	tlb_remove_table(tlb, table);
}

/* May the table covering [start & ~(size - 1), +size) go, given floor and ceiling? */
static bool pgtable_span_free(unsigned long start, unsigned long end, unsigned long floor,
			      unsigned long ceiling, unsigned long mask)
{
	start &= mask;
	if (start < floor)
		return false;
	if (ceiling) {
		ceiling &= mask;
		if (!ceiling)
			return false;
	}
	return end - 1 <= ceiling - 1;
}

static void free_pmd_range(struct mmu_gather *tlb, pud_t *pud, unsigned long addr,
			   unsigned long end, unsigned long floor, unsigned long ceiling)
{
	unsigned long start = addr, next;
	pmd_t *pmd = pmd_offset(tlb->mm, pud, addr);

	do {
		next = pmd_addr_end(addr, end);
		if (pmd_none(pmdp_get(pmd)))
			continue;
		free_pte_range(tlb, pmd, addr);
	} while (pmd++, addr = next, addr != end);

	if (!pgtable_span_free(start, end, floor, ceiling, PUD_MASK))
		return;
	pmd = pmd_offset(tlb->mm, pud, start & PUD_MASK);
	pxx_clear(pud);
	tlb_remove_table(tlb, virt_to_page(tlb->mm->pool, pmd));
}

static void free_pud_range(struct mmu_gather *tlb, pgd_t *pgd, unsigned long addr,
			   unsigned long end, unsigned long floor, unsigned long ceiling)
{
	unsigned long start = addr, next;
	pud_t *pud = pud_offset(tlb->mm, pgd, addr);

	do {
		next = pud_addr_end(addr, end);
		if (pud_none(pudp_get(pud)))
			continue;
		free_pmd_range(tlb, pud, addr, next, floor, ceiling);
	} while (pud++, addr = next, addr != end);

	if (!pgtable_span_free(start, end, floor, ceiling, PGDIR_MASK))
		return;
	pud = pud_offset(tlb->mm, pgd, start & PGDIR_MASK);
	pxx_clear(pgd);
	tlb_remove_table(tlb, virt_to_page(tlb->mm->pool, pud));
}

void free_pgd_range(struct mmu_gather *tlb, unsigned long addr, unsigned long end,
		    unsigned long floor, unsigned long ceiling)
{
	unsigned long next;
	pgd_t *pgd;

	/*
	 * Nothing is ever mapped below FIRST_USER_ADDRESS, so no table there is
	 * shared with anything: a floor that low is no floor at all.
	 */
	if (floor <= FIRST_USER_ADDRESS)
		floor = 0;
	/* Trim the range to the whole PTE tables that lie inside [floor, ceiling). */
	addr &= PMD_MASK;
	if (addr < floor) {
		addr += PMD_SIZE;
		if (!addr)
			return;
	}
	if (ceiling) {
		ceiling &= PMD_MASK;
		if (!ceiling)
			return;
	}
	if (end - 1 > ceiling - 1)
		end -= PMD_SIZE;
	if (addr > end - 1)
		return;

	pgd = pgd_offset(tlb->mm, addr);
	do {
		next = pgd_addr_end(addr, end);
		if (pgd_none(pgdp_get(pgd)))
			continue;
		free_pud_range(tlb, pgd, addr, next, floor, ceiling);
	} while (pgd++, addr = next, addr != end);
}
