/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host page tables, after x86-64 with 4 levels: 48-bit virtual addresses,
 * 4 KiB pages, 512 eight-byte entries per table.
 *
 *	 47      39 38      30 29      21 20      12 11         0
 *	+----------+----------+----------+----------+------------+
 *	|   pgd    |   pud    |   pmd    |   pte    |   offset   |
 *	+----------+----------+----------+----------+------------+
 *
 * (p4d is folded away, as on a 4-level x86-64 kernel.)  Every table is one
 * frame of the mm's pool in state FRAME_PGTABLE, and an entry names the next
 * table or the data frame by its pool pfn, where hardware would put a
 * physical address.  Stepping down a level checks that the frame stepped
 * into is still a page table: a walker that reaches a freed table (the bug
 * rule 5, unlink before freeing page tables, forbids) is a sanitizer
 * report, not a silent read.
 *
 * Locking (the kernel's split PTE locks): the entries of a PTE table are
 * under that table's own spinlock, reached through the table's struct page
 * (pte_lockptr()); the upper levels are populated under mm->page_table_lock
 * and never cleared while a walker may be inside (free_pgtables() runs with
 * the VMAs unlinked and mmap_lock held for write).  So a walker reads upper
 * entries without a lock (acquire loads, pairing with the release store that
 * populates them) and takes the PTE lock to look at or change a PTE.
 *
 * A PTE that is not present and not none is a swap entry, a migration entry
 * being one kind of swap entry, in the x86-64 layout: type in the top five
 * bits, the offset inverted below it.
 */
#ifndef NOPIN_MM_PGTABLE_H
#define NOPIN_MM_PGTABLE_H

#include <stdbool.h>

#include "base/atomic.h"
#include "base/compiler.h"
#include "base/spinlock.h"
#include "mm/mm_types.h"
#include "mm/page_alloc.h"
#include "mm/sanitizer.h"

/* ---- geometry ---- */

#define PGDIR_SHIFT 39
#define PUD_SHIFT 30
#define PMD_SHIFT 21
#define PTRS_PER_PGD 512
#define PTRS_PER_PUD 512
#define PTRS_PER_PMD 512
#define PTRS_PER_PTE 512
#define PGDIR_SIZE (1UL << PGDIR_SHIFT)
#define PGDIR_MASK (~(PGDIR_SIZE - 1))
#define PUD_SIZE (1UL << PUD_SHIFT)
#define PUD_MASK (~(PUD_SIZE - 1))
#define PMD_SIZE (1UL << PMD_SHIFT)
#define PMD_MASK (~(PMD_SIZE - 1))

/* free_pgtables(): a ceiling of 0 means the top of the address space. */
#define USER_PGTABLES_CEILING 0UL

static inline unsigned long pgd_index(unsigned long addr)
{
	return (addr >> PGDIR_SHIFT) & (PTRS_PER_PGD - 1);
}
static inline unsigned long pud_index(unsigned long addr)
{
	return (addr >> PUD_SHIFT) & (PTRS_PER_PUD - 1);
}
static inline unsigned long pmd_index(unsigned long addr)
{
	return (addr >> PMD_SHIFT) & (PTRS_PER_PMD - 1);
}
static inline unsigned long pte_index(unsigned long addr)
{
	return (addr >> PAGE_SHIFT) & (PTRS_PER_PTE - 1);
}

/*
 * The end of the range [addr, end) that one entry of the level covers; the
 * "- 1" comparisons keep an end of 0 (the top of the address space) working.
 */
#define __pxx_addr_end(addr, end, size)                                                            \
	({                                                                                         \
		unsigned long __boundary = ((addr) + (size)) & ~((size)-1);                        \
		(__boundary - 1 < (end)-1) ? __boundary : (end);                                   \
	})
#define pgd_addr_end(addr, end) __pxx_addr_end(addr, end, PGDIR_SIZE)
#define pud_addr_end(addr, end) __pxx_addr_end(addr, end, PUD_SIZE)
#define pmd_addr_end(addr, end) __pxx_addr_end(addr, end, PMD_SIZE)

/* ---- entry bits (x86-64) ---- */

#define _PAGE_BIT_PRESENT 0
#define _PAGE_BIT_RW 1
#define _PAGE_BIT_USER 2
#define _PAGE_BIT_ACCESSED 5
#define _PAGE_BIT_DIRTY 6
#define _PAGE_BIT_PSE 7
#define _PAGE_BIT_GLOBAL 8
#define _PAGE_BIT_NX 63

#define _PAGE_PRESENT (1UL << _PAGE_BIT_PRESENT)
#define _PAGE_RW (1UL << _PAGE_BIT_RW)
#define _PAGE_USER (1UL << _PAGE_BIT_USER)
#define _PAGE_ACCESSED (1UL << _PAGE_BIT_ACCESSED)
#define _PAGE_DIRTY (1UL << _PAGE_BIT_DIRTY)
#define _PAGE_NX (1UL << _PAGE_BIT_NX)
/*
 * PROT_NONE: not present to the hardware, but a mapping all the same, so
 * pte_present() is true.  x86 reuses the global bit, meaningless in user
 * PTEs, as the kernel does.
 */
#define _PAGE_PROTNONE (1UL << _PAGE_BIT_GLOBAL)
/* In a swap PTE: the anon page was exclusive when swapped out (the kernel's choice of bit). */
#define _PAGE_SWP_EXCLUSIVE (1UL << _PAGE_BIT_PSE)

#define PTE_PFN_MASK 0x000ffffffffff000UL
/* What pte_modify() keeps: the frame and what the "hardware" recorded. */
#define _PAGE_CHG_MASK (PTE_PFN_MASK | _PAGE_ACCESSED | _PAGE_DIRTY)
/* An upper-level entry pointing at the next table. */
#define _PAGE_TABLE (_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY)

typedef struct {
	unsigned long pte;
} pte_t;
/* Upper levels are plain words, like mm_types.h's pgd_t. */
typedef unsigned long pud_t;
typedef unsigned long pmd_t;
typedef struct {
	unsigned long pgprot;
} pgprot_t;

static inline unsigned long pte_val(pte_t pte)
{
	return pte.pte;
}
static inline pte_t __pte(unsigned long val)
{
	return (pte_t){ val };
}
static inline unsigned long pgprot_val(pgprot_t prot)
{
	return prot.pgprot;
}
static inline pgprot_t __pgprot(unsigned long val)
{
	return (pgprot_t){ val };
}

#define PAGE_NONE __pgprot(_PAGE_PROTNONE | _PAGE_ACCESSED)

/* ---- one PTE ---- */

static inline bool pte_none(pte_t pte)
{
	return !pte_val(pte);
}
static inline bool pte_present(pte_t pte)
{
	return pte_val(pte) & (_PAGE_PRESENT | _PAGE_PROTNONE);
}
static inline bool pte_protnone(pte_t pte)
{
	return (pte_val(pte) & (_PAGE_PRESENT | _PAGE_PROTNONE)) == _PAGE_PROTNONE;
}
static inline bool pte_write(pte_t pte)
{
	return pte_val(pte) & _PAGE_RW;
}
static inline bool pte_dirty(pte_t pte)
{
	return pte_val(pte) & _PAGE_DIRTY;
}
static inline bool pte_young(pte_t pte)
{
	return pte_val(pte) & _PAGE_ACCESSED;
}
static inline bool pte_exec(pte_t pte)
{
	return !(pte_val(pte) & _PAGE_NX);
}
static inline bool pte_same(pte_t a, pte_t b)
{
	return pte_val(a) == pte_val(b);
}
static inline unsigned long pte_pfn(pte_t pte)
{
	return (pte_val(pte) & PTE_PFN_MASK) >> PAGE_SHIFT;
}

static inline pte_t pte_set_flags(pte_t pte, unsigned long set)
{
	return __pte(pte_val(pte) | set);
}
static inline pte_t pte_clear_flags(pte_t pte, unsigned long clear)
{
	return __pte(pte_val(pte) & ~clear);
}
/*
 * The helpers that set and clear one bit, pte_mkwrite()/pte_wrprotect() and
 * so on: x86's pgtable.h spells each out; here they are generated, as
 * page.h generates the page flag helpers.
 */
#define PTE_BIT_OPS(set, clear, bit)                                                               \
	static inline pte_t set(pte_t pte)                                                         \
	{                                                                                          \
		return pte_set_flags(pte, bit);                                                    \
	}                                                                                          \
	static inline pte_t clear(pte_t pte)                                                       \
	{                                                                                          \
		return pte_clear_flags(pte, bit);                                                  \
	}
PTE_BIT_OPS(pte_mkwrite, pte_wrprotect, _PAGE_RW)
PTE_BIT_OPS(pte_mkdirty, pte_mkclean, _PAGE_DIRTY)
PTE_BIT_OPS(pte_mkyoung, pte_mkold, _PAGE_ACCESSED)
#undef PTE_BIT_OPS

static inline pte_t pfn_pte(unsigned long pfn, pgprot_t prot)
{
	return __pte(((pfn << PAGE_SHIFT) & PTE_PFN_MASK) | pgprot_val(prot));
}
static inline pte_t mk_pte(struct page *page, pgprot_t prot)
{
	return pfn_pte(page_to_pfn(page), prot);
}
/* mprotect: new protection bits, same frame, same accessed and dirty bits. */
static inline pte_t pte_modify(pte_t pte, pgprot_t newprot)
{
	return __pte((pte_val(pte) & _PAGE_CHG_MASK) | (pgprot_val(newprot) & ~_PAGE_CHG_MASK));
}

/*
 * Reading and writing an entry in a table.  A PTE is read without its lock
 * by the fault path (which rechecks it under the lock), so every access is
 * one untorn relaxed load or store.
 */
static inline pte_t ptep_get(pte_t *ptep)
{
	return __pte(READ_ONCE(ptep->pte));
}
static inline void set_pte(pte_t *ptep, pte_t pte)
{
	WRITE_ONCE(ptep->pte, pte_val(pte));
}
static inline spinlock_t *ptlock_ptr(struct page *table);
/*
 * A user PTE is written only under its table's lock: the fault path
 * rechecks the entry under that lock, and reclaim, migration and mprotect
 * read-modify-write it there, so a store outside it loses the other
 * side's update.  Asserted here, where every user PTE write passes, so
 * lockdep names the path that dropped the lock too early.
 */
static inline void set_pte_at(struct mm_struct *mm, unsigned long addr, pte_t *ptep, pte_t pte)
{
#ifdef CONFIG_LOCKDEP
	/* Without lockdep the lookup of the lock would still cost an atomic load per PTE. */
	assert_spin_locked(ptlock_ptr(virt_to_page(mm->pool, ptep)));
#endif
	set_pte(ptep, pte);
}
static inline void pte_clear(struct mm_struct *mm, unsigned long addr, pte_t *ptep)
{
	set_pte(ptep, __pte(0));
}
/* One exchange: the "hardware" may not set a bit in between. */
static inline pte_t ptep_get_and_clear(struct mm_struct *mm, unsigned long addr, pte_t *ptep)
{
	return __pte(xchg_relaxed(&ptep->pte, 0));
}
static inline void ptep_set_wrprotect(struct mm_struct *mm, unsigned long addr, pte_t *ptep)
{
	clear_bit(_PAGE_BIT_RW, &ptep->pte);
}
/* PTE lock held.  True if the entry was young; the caller flushes (here: nothing to flush). */
static inline bool ptep_test_and_clear_young(struct vm_area_struct *vma, unsigned long addr,
					     pte_t *ptep)
{
	return fetch_and_relaxed(&ptep->pte, ~_PAGE_ACCESSED) & _PAGE_ACCESSED;
}

/* ---- swap and migration entries ---- */

/*
 * The arch-independent swap entry: type in the top bits, offset below,
 * as the kernel's swapops.h.  Types from MAX_SWAPFILES up are not swap
 * devices but other non-present kinds (migration).
 */
typedef struct {
	unsigned long val;
} swp_entry_t;

#define MAX_SWAPFILES_SHIFT 5
#define SWP_MIGRATION_NUM 2
#define MAX_SWAPFILES ((1 << MAX_SWAPFILES_SHIFT) - SWP_MIGRATION_NUM)
#define SWP_MIGRATION_READ MAX_SWAPFILES
#define SWP_MIGRATION_WRITE (MAX_SWAPFILES + 1)

#define SWP_TYPE_SHIFT (BITS_PER_LONG - MAX_SWAPFILES_SHIFT)
#define SWP_OFFSET_MASK ((1UL << SWP_TYPE_SHIFT) - 1)

static inline swp_entry_t swp_entry(unsigned long type, unsigned long offset)
{
	return (swp_entry_t){ (type << SWP_TYPE_SHIFT) | (offset & SWP_OFFSET_MASK) };
}
static inline unsigned int swp_type(swp_entry_t entry)
{
	return entry.val >> SWP_TYPE_SHIFT;
}
static inline unsigned long swp_offset(swp_entry_t entry)
{
	return entry.val & SWP_OFFSET_MASK;
}
static inline bool non_swap_entry(swp_entry_t entry)
{
	return swp_type(entry) >= MAX_SWAPFILES;
}

/*
 * In a PTE (x86-64): present and PROT_NONE bits clear, bits 1-8 free for
 * software flags, the offset inverted in bits 9-58 (the kernel inverts it
 * against L1TF; here it also keeps type 0 offset 0 from reading as
 * pte_none()), the type in bits 59-63.
 */
#define SWP_PTE_OFFSET_FIRST_BIT 9
#define SWP_PTE_OFFSET_BITS (BITS_PER_LONG - MAX_SWAPFILES_SHIFT - SWP_PTE_OFFSET_FIRST_BIT)
#define SWP_PTE_OFFSET_MASK ((1UL << SWP_PTE_OFFSET_BITS) - 1)
/* The largest offset a swap PTE holds; the all-ones offset would read as pte_none(). */
#define SWP_PTE_MAX_OFFSET (SWP_PTE_OFFSET_MASK - 1)

static inline pte_t swp_entry_to_pte(swp_entry_t entry)
{
	unsigned long inverted = ~swp_offset(entry) & SWP_PTE_OFFSET_MASK;

	return __pte(((unsigned long)swp_type(entry) << SWP_TYPE_SHIFT) |
		     (inverted << SWP_PTE_OFFSET_FIRST_BIT));
}
static inline swp_entry_t pte_to_swp_entry(pte_t pte)
{
	unsigned long inverted = (pte_val(pte) >> SWP_PTE_OFFSET_FIRST_BIT) & SWP_PTE_OFFSET_MASK;

	return swp_entry(pte_val(pte) >> SWP_TYPE_SHIFT, ~inverted & SWP_PTE_OFFSET_MASK);
}
static inline bool is_swap_pte(pte_t pte)
{
	return !pte_none(pte) && !pte_present(pte);
}
static inline pte_t pte_swp_mkexclusive(pte_t pte)
{
	return pte_set_flags(pte, _PAGE_SWP_EXCLUSIVE);
}
static inline bool pte_swp_exclusive(pte_t pte)
{
	return pte_val(pte) & _PAGE_SWP_EXCLUSIVE;
}
static inline pte_t pte_swp_clear_exclusive(pte_t pte)
{
	return pte_clear_flags(pte, _PAGE_SWP_EXCLUSIVE);
}

/* A migration entry stands for a page being moved; its offset is the old pfn. */
static inline swp_entry_t make_readable_migration_entry(unsigned long pfn)
{
	return swp_entry(SWP_MIGRATION_READ, pfn);
}
static inline swp_entry_t make_writable_migration_entry(unsigned long pfn)
{
	return swp_entry(SWP_MIGRATION_WRITE, pfn);
}
static inline swp_entry_t make_migration_entry(struct page *page, bool write)
{
	return write ? make_writable_migration_entry(page_to_pfn(page)) :
		       make_readable_migration_entry(page_to_pfn(page));
}
static inline bool is_migration_entry(swp_entry_t entry)
{
	return swp_type(entry) == SWP_MIGRATION_READ || swp_type(entry) == SWP_MIGRATION_WRITE;
}
static inline bool is_writable_migration_entry(swp_entry_t entry)
{
	return swp_type(entry) == SWP_MIGRATION_WRITE;
}
static inline struct page *pfn_swap_entry_to_page(struct frame_pool *pool, swp_entry_t entry)
{
	return pfn_to_page(pool, swp_offset(entry));
}

/* ---- protections ---- */

/*
 * The PTE protection a VMA's pages get (the kernel's protection_map[]):
 * private writable mappings map read-only so that the first write faults
 * and copies; PROT_NONE is _PAGE_PROTNONE.  [mm/pgtable.c]
 */
pgprot_t vm_get_page_prot(unsigned long vm_flags);
/*
 * Does writing a shared page of this VMA need a fault first, so the page is
 * marked dirty for writeback?  (Shared writable mappings of real files.)
 */
bool vma_wants_writenotify(struct vm_area_struct *vma);
/* vm_get_page_prot(), write-protected where writenotify is wanted (vma->vm_page_prot). */
pgprot_t vma_page_prot(struct vm_area_struct *vma);

/* ---- stepping down the levels ---- */

/* The struct page of the table an upper entry points at. */
static inline struct page *pgtable_entry_page(struct mm_struct *mm, unsigned long entry)
{
	return pfn_to_page(mm->pool, (entry & PTE_PFN_MASK) >> PAGE_SHIFT);
}

/* Reports a step into a frame that is not a live page table. [mm/pgtable.c] */
void pgtable_bad_frame(struct mm_struct *mm, unsigned long entry, unsigned long addr);

/* Is the frame an upper entry points at a page table?  Reports if not. */
static inline bool pgtable_check_entry(struct mm_struct *mm, unsigned long entry,
				       unsigned long addr)
{
	unsigned long pfn = (entry & PTE_PFN_MASK) >> PAGE_SHIFT;

	if (likely(pfn_valid(mm->pool, pfn) &&
		   page_frame_state(pfn_to_page(mm->pool, pfn)) == FRAME_PGTABLE))
		return true;
	pgtable_bad_frame(mm, entry, addr);
	return false;
}

/*
 * The table a present upper entry points at.  A frame that is not a page
 * table (a walk through a freed or reused table) is reported; the walk then
 * goes on reading it, as the hardware would.
 */
static inline void *pgtable_entry_table(struct mm_struct *mm, unsigned long entry,
					unsigned long addr)
{
	pgtable_check_entry(mm, entry, addr);
	return page_address(pgtable_entry_page(mm, entry));
}

/* Upper-level entries: acquire loads pair with the populating release store. */
static inline unsigned long pgtable_entry_get(unsigned long *entryp)
{
	return smp_load_acquire(entryp);
}
static inline bool pxx_none(unsigned long entry)
{
	return !entry;
}
#define pgd_none(e) pxx_none(e)
#define pud_none(e) pxx_none(e)
#define pmd_none(e) pxx_none(e)
#define pgdp_get(p) pgtable_entry_get(p)
#define pudp_get(p) pgtable_entry_get(p)
#define pmdp_get(p) pgtable_entry_get(p)

static inline pgd_t *pgd_offset(struct mm_struct *mm, unsigned long addr)
{
	return mm->pgd + pgd_index(addr);
}
/* The pud entry of @addr in the table @pgd points at (*pgd present). */
static inline pud_t *pud_offset(struct mm_struct *mm, pgd_t *pgd, unsigned long addr)
{
	pud_t *table = pgtable_entry_table(mm, pgdp_get(pgd), addr);

	return table + pud_index(addr);
}
static inline pmd_t *pmd_offset(struct mm_struct *mm, pud_t *pud, unsigned long addr)
{
	pmd_t *table = pgtable_entry_table(mm, pudp_get(pud), addr);

	return table + pmd_index(addr);
}
static inline pte_t *pte_offset_kernel(struct mm_struct *mm, pmd_t *pmd, unsigned long addr)
{
	pte_t *table = pgtable_entry_table(mm, pmdp_get(pmd), addr);

	return table + pte_index(addr);
}
/* No highmem: mapping a PTE table is finding it. */
#define pte_unmap(pte) ((void)(pte))

/* Clearing an upper entry: only free_pgd_range(), see the header comment. */
static inline void pxx_clear(unsigned long *entryp)
{
	WRITE_ONCE(*entryp, 0);
}

/* ---- allocating tables [mm/pgtable.c] ---- */

/* The top-level table of a new mm (mm_alloc), and its release (mmdrop). */
pgd_t *pgd_alloc(struct mm_struct *mm);
void pgd_free(struct mm_struct *mm, pgd_t *pgd);

/*
 * Populate the entry if it is none, under mm->page_table_lock, with a table
 * allocated (GFP_KERNEL, may sleep) before the lock is taken; a racing
 * populate wins and our table goes back.  Return the next level's entry for
 * @addr, or NULL (-ENOMEM).
 */
pud_t *pud_alloc(struct mm_struct *mm, pgd_t *pgd, unsigned long addr);
pmd_t *pmd_alloc(struct mm_struct *mm, pud_t *pud, unsigned long addr);
/* 0 or -ENOMEM; the PTE table, with its split lock, is in place after 0. */
int __pte_alloc(struct mm_struct *mm, pmd_t *pmd);
static inline int pte_alloc(struct mm_struct *mm, pmd_t *pmd)
{
	return pmd_none(pmdp_get(pmd)) ? __pte_alloc(mm, pmd) : 0;
}

/* Find the pmd entry of @addr without allocating; NULL if an upper level is missing. */
pmd_t *mm_find_pmd(struct mm_struct *mm, unsigned long addr);
/* The same, allocating the missing upper tables (NULL: -ENOMEM). */
pmd_t *mm_alloc_pmd(struct mm_struct *mm, unsigned long addr);

/*
 * For walks over [addr, end): the pmd entry covering @addr, or NULL where an
 * upper level has no table; *@next is where that entry's span (or the hole)
 * ends, clipped to @end.  No allocation, no lock: mmap_lock held.
 */
pmd_t *pmd_span(struct mm_struct *mm, unsigned long addr, unsigned long end, unsigned long *next);

/* Free a table that never reached a gather (a lost populate race, pgd_free). */
void pgtable_free(struct mm_struct *mm, struct page *table);

/* ---- the split PTE lock ---- */

/*
 * Each PTE table's lock lives outside the table and is reached through its
 * struct page.  Departs from the kernel, which embeds it in struct page (or
 * points at it from there): the model's struct page has no field for it, so
 * the pointer rides in page->private, which no page-table frame otherwise
 * uses.  Only this header and pgtable.c know where it is.
 */
static inline spinlock_t *ptlock_ptr(struct page *table)
{
	return (spinlock_t *)READ_ONCE(table->private);
}
static inline spinlock_t *pte_lockptr(struct mm_struct *mm, pmd_t *pmd)
{
	return ptlock_ptr(pgtable_entry_page(mm, pmdp_get(pmd)));
}
/* The PTE table's constructor and destructor: allocate and free its lock. */
bool pgtable_pte_page_ctor(struct page *table);
void pgtable_pte_page_dtor(struct page *table);

/*
 * The PTE of @addr under @pmd with its table's lock held, or NULL if the pmd
 * has no table.  Release with pte_unmap_unlock().
 */
pte_t *__pte_offset_map_lock(struct mm_struct *mm, pmd_t *pmd, unsigned long addr,
			     spinlock_t **ptlp);
/* The same from the top: NULL if any level is missing.  mmap_lock (or an rmap lock) held. */
pte_t *pte_offset_map_lock(struct mm_struct *mm, unsigned long addr, spinlock_t **ptlp);
/* Allocating every missing level first; NULL only on -ENOMEM. */
pte_t *get_locked_pte(struct mm_struct *mm, unsigned long addr, spinlock_t **ptlp);
/* The PTE of @addr under @pmd, allocating the PTE table; NULL on -ENOMEM. */
pte_t *pte_alloc_map_lock(struct mm_struct *mm, pmd_t *pmd, unsigned long addr, spinlock_t **ptlp);

static inline void pte_unmap_unlock(pte_t *pte, spinlock_t *ptl)
{
	spin_unlock(ptl);
	pte_unmap(pte);
}

/* ---- freeing tables [mm/pgtable.c] ---- */

struct mmu_gather;
/*
 * Free the page tables that map only [addr, end), keeping any table that
 * also maps below @floor or from @ceiling up (a neighbour VMA's); tables go
 * to @tlb.  The PTEs must already be zapped.
 */
void free_pgd_range(struct mmu_gather *tlb, unsigned long addr, unsigned long end,
		    unsigned long floor, unsigned long ceiling);

#endif
