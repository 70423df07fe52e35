/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the files of mm/ call of each other; not for other folders.
 * [file] names who implements each piece.
 *
 * Page-table entries, swap and migration entries, and the walkers live in
 * mm/pgtable.h [mm/pgtable.c]: pte_t and the x86-64 bits (_PAGE_PRESENT,
 * _PAGE_RW, _PAGE_USER, _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_NX), pte_pfn(),
 * pfn_pte(), pte_mkwrite()/pte_wrprotect()/pte_mkold()/pte_mkclean(),
 * pte_none(), pte_present(), swp_entry_t with swp_entry()/swp_type()/
 * swp_offset()/pte_to_swp_entry()/swp_entry_to_pte(), migration entries
 * (make_migration_entry(), is_migration_entry()), and
 *   pte_t *pte_offset_map_lock(mm, addr, spinlock_t **ptlp)  (NULL if no table)
 *   pte_t *get_locked_pte(mm, addr, spinlock_t **ptlp)       (allocates tables)
 *   void pte_unmap_unlock(pte_t *pte, spinlock_t *ptl)
 * Each PTE page has its own spinlock (the split PTE lock, allocated when the
 * table is and reached through the table's struct page); upper levels are
 * under mm->page_table_lock.
 */
#ifndef NOPIN_MM_INTERNAL_H
#define NOPIN_MM_INTERNAL_H

#include <string.h>

#include "mm/mm.h"
#include "mm/mmu_notifier.h"
#include "mm/pgtable.h"

/* ---- the TLB gather [mm/mmu_gather.c] ----
 *
 * Pages and page-table pages unmapped by a zap are not freed at once: they
 * are gathered and freed by tlb_finish_mmu(), after the (model's) TLB flush.
 * The zap itself, between tlb_start_zap() and tlb_end_zap(), is an atomic
 * section (preempt_disable), so it must open after
 * mmu_notifier_invalidate_range_start() has returned (rule 6, notifier
 * outside atomic sections).
 */
struct mmu_gather {
	struct mm_struct *mm;
	bool fullmm; /* exit_mmap: the whole address space goes */
	unsigned long start, end;
	struct page **pages; /* gathered data pages (a reference each) */
	unsigned int nr_pages, max_pages;
	struct list_head tables; /* gathered page-table pages, on page->lru */
	bool in_zap;
};
void tlb_gather_mmu(struct mmu_gather *tlb, struct mm_struct *mm);
void tlb_gather_mmu_fullmm(struct mmu_gather *tlb, struct mm_struct *mm);
void tlb_start_zap(struct mmu_gather *tlb); /* opens the atomic section */
void tlb_end_zap(struct mmu_gather *tlb);
void tlb_remove_page(struct mmu_gather *tlb, struct page *page); /* may flush a full batch */
void tlb_remove_table(struct mmu_gather *tlb, struct page *table);
void tlb_finish_mmu(struct mmu_gather *tlb); /* frees what was gathered */

/* ---- zapping page ranges, freeing page tables [mm/memory.c] ---- */

/*
 * Which PTEs of a range a zap removes (the kernel's struct zap_details);
 * a NULL details removes all of them (munmap, exit, MADV_DONTNEED).
 */
struct zap_details {
	struct page *single_page; /* only those mapping this page-cache page */
	bool even_cows;		  /* also anonymous pages: a file mapping's private COWs */
};
/*
 * Zap [start, end) of every VMA from @vma on, bracketed by one
 * invalidate_range_start/end (MMU_NOTIFY_UNMAP); pages go to @tlb.
 */
void unmap_vmas(struct mmu_gather *tlb, struct vm_area_struct *vma, unsigned long start,
		unsigned long end);
/* Zap [start, end) of one VMA into @tlb; the caller brackets it with the notifier. */
void unmap_single_vma(struct mmu_gather *tlb, struct vm_area_struct *vma, unsigned long start_addr,
		      unsigned long end_addr, const struct zap_details *details);
/* MADV_DONTNEED and unmap_mapping_range(): zap within one VMA (MMU_NOTIFY_CLEAR). */
void zap_page_range_single(struct vm_area_struct *vma, unsigned long address, unsigned long size,
			   const struct zap_details *details);
/*
 * Zap every PTE mapping file pages [start, start + nr) (nr 0: to the end),
 * each VMA under invalidate_range_start/end (MMU_NOTIFY_CLEAR); with
 * @even_cows the private anonymous COWs of those pages too.
 */
void unmap_mapping_pages(struct address_space *mapping, unsigned long start, unsigned long nr,
			 bool even_cows);
/* The same by bytes: [holebegin, holebegin + holelen) rounded out to pages; holelen 0: to the end. */
void unmap_mapping_range(struct address_space *mapping, loff_t holebegin, loff_t holelen,
			 int even_cows);
/* Every PTE of one locked page-cache page, not its COWs (the kernel's unmap_mapping_folio()). */
void unmap_mapping_page(struct page *page);
/*
 * Unlink every VMA from @vma up to @ceiling from rmap (unlink_anon_vmas,
 * unlink_file_vma) and only then free their page tables into @tlb, keeping
 * the tables that [floor, ceiling) shares with neighbours (rule 5, unlink
 * before freeing page tables).
 */
void free_pgtables(struct mmu_gather *tlb, struct vm_area_struct *vma, unsigned long floor,
		   unsigned long ceiling);
/*
 * The same in the historical order (--legacy=free_pgtables_before_unlink):
 * tables freed, and @tlb finished, before the unlink.
 */
void legacy_free_pgtables_before_unlink(struct mmu_gather *tlb, struct vm_area_struct *vma,
					unsigned long floor, unsigned long ceiling);

/* ---- the other page-range walks: fork, mprotect, mremap, populate ---- */

/* fork: copy @src's PTEs into @dst, write-protecting private ones in both. [mm/copy_page_range.c] */
int copy_page_range(struct vm_area_struct *dst, struct vm_area_struct *src);
/* mprotect: apply vma->vm_flags (already updated) to [start, end)'s PTEs. [mm/mprotect.c] */
long change_protection(struct vm_area_struct *vma, unsigned long start, unsigned long end);
/* mremap: move the PTEs of [old_addr, old_addr + len) to new_addr. [mm/mremap.c] */
unsigned long move_page_tables(struct vm_area_struct *vma, unsigned long old_addr,
			       struct vm_area_struct *new_vma, unsigned long new_addr,
			       unsigned long len);
/* Fault in every page of [start, end) (MAP_POPULATE, mlock). [mm/gup.c] */
long populate_vma_page_range(struct vm_area_struct *vma, unsigned long start, unsigned long end);

/* A PTE-level walk under each table's PTE lock [mm/pagewalk.c]. */
struct mm_walk;
struct mm_walk_ops {
	/* Called with the PTE lock held (atomic section) for each present or swap PTE. */
	int (*pte_entry)(pte_t *pte, unsigned long addr, struct mm_walk *walk);
};
struct mm_walk {
	const struct mm_walk_ops *ops;
	struct mm_struct *mm;
	struct vm_area_struct *vma;
	spinlock_t *ptl; /* the PTE lock held around pte_entry */
	void *private;
};
int walk_page_range(struct vm_area_struct *vma, unsigned long start, unsigned long end,
		    const struct mm_walk_ops *ops, void *private);

/* ---- VMA plumbing [mm/mmap.c] ---- */

/*
 * Ready the VMA leaves linking a VMA into @mm may need (vm_area_alloc()
 * and vm_area_dup() do it for the VMA's own mm): 0 or -ENOMEM.
 */
int vma_leaf_topup(struct mm_struct *mm);
/* Free an mm's spare VMA leaves; its index must be empty (mmdrop()). */
void vma_leaves_destroy(struct mm_struct *mm);
void vma_link(struct mm_struct *mm, struct vm_area_struct *vma); /* tree + rmap + file */
struct vm_area_struct *vm_area_alloc(struct mm_struct *mm);
struct vm_area_struct *vm_area_dup(struct vm_area_struct *orig);
void vm_area_free(struct vm_area_struct *vma);
/* PROT_* as VM_READ/VM_WRITE/VM_EXEC (the kernel's mman.h). */
static inline unsigned long calc_vm_prot_bits(unsigned long prot)
{
	return ((prot & PROT_READ) ? VM_READ : 0) | ((prot & PROT_WRITE) ? VM_WRITE : 0) |
	       ((prot & PROT_EXEC) ? VM_EXEC : 0);
}
/* total_vm, and locked_vm for VM_LOCKED @flags, by @npages (mmap_lock held for write). */
void vm_stat_account(struct mm_struct *mm, unsigned long flags, long npages);
/*
 * Give [start, end) of @vma the flags @new_flags: split where needed, set,
 * merge with neighbours that now match.  Returns the VMA now covering
 * [start, end) or ERR_PTR(-ENOMEM).  mprotect, mlock and madvise apply what
 * the flags mean to the PTEs afterwards.
 */
struct vm_area_struct *vma_modify_flags(struct vm_area_struct *vma, unsigned long start,
					unsigned long end, unsigned long new_flags);
/* Apply [start, end) of @vma's new flags, derived from @arg; 0 or -errno. */
typedef int (*vma_range_fixup_t)(struct vm_area_struct *vma, unsigned long start, unsigned long end,
				 unsigned long arg);
/*
 * @fixup on each VMA's part of [start, end) in turn (mprotect, mlock);
 * -ENOMEM at a hole, else @fixup's first error, else 0.
 */
int apply_vma_range(struct mm_struct *mm, unsigned long start, unsigned long end,
		    vma_range_fixup_t fixup, unsigned long arg);
/* Merge @vma with matching neighbours; returns the VMA covering it after. */
struct vm_area_struct *vma_merge_neighbours(struct vm_area_struct *vma);
/* mremap in place: grow @vma by @delta bytes into free space above it. */
struct vm_area_struct *vma_merge_extend(struct vm_area_struct *vma, unsigned long delta);
/* mremap move: a linked VMA like @vma at [addr, addr + len) from @pgoff; NULL on -ENOMEM. */
struct vm_area_struct *copy_vma(struct vm_area_struct *vma, unsigned long addr, unsigned long len,
				unsigned long pgoff);
/* Free address space for @len bytes (MAP_FIXED: check @addr); an address or -errno. */
unsigned long get_unmapped_area(struct mm_struct *mm, unsigned long addr, unsigned long len,
				unsigned long pgoff, unsigned long flags);

/* ---- mlock state of pages [mm/mlock.c] ---- */
void mlock_new_page(struct page *page); /* fault in a VM_LOCKED VMA */
void mlock_page(struct page *page);
void munlock_page(struct page *page);
/*
 * Fault in [start, start + len) VMA by VMA, taking mmap_lock for read (the
 * kernel's __mm_populate, in its gup.c): mmap's MAP_POPULATE/MAP_LOCKED
 * (ignore_errors) and mlock.  0 or -errno.
 */
int __mm_populate(struct mm_struct *mm, unsigned long start, unsigned long len, int ignore_errors);
static inline void mm_populate(struct mm_struct *mm, unsigned long addr, unsigned long len)
{
	(void)__mm_populate(mm, addr, len, 1);
}

/* ---- rmap [mm/rmap.c] ---- */
int anon_vma_prepare(struct vm_area_struct *vma);
int anon_vma_clone(struct vm_area_struct *dst, struct vm_area_struct *src);
int anon_vma_fork(struct vm_area_struct *vma, struct vm_area_struct *pvma);
void unlink_anon_vmas(struct vm_area_struct *vma);
void anon_vma_lock_write(struct anon_vma *anon_vma); /* the root's rwsem */
void anon_vma_unlock_write(struct anon_vma *anon_vma);
void anon_vma_lock_read(struct anon_vma *anon_vma);
void anon_vma_unlock_read(struct anon_vma *anon_vma);
void put_anon_vma(struct anon_vma *anon_vma);

/* A fresh anon page, mapped only here: this VMA's own anon_vma, exclusive. */
void page_add_new_anon_rmap(struct page *page, struct vm_area_struct *vma, unsigned long address);
/*
 * An anon page gaining a mapping (fork, swap-in, migration).  A page that is
 * not exclusive records the oldest anon_vma, the root (rule 7, oldest
 * anon_vma and root lock), so an rmap walk from it reaches every process of
 * the fork tree.
 */
void page_add_anon_rmap(struct page *page, struct vm_area_struct *vma, unsigned long address,
			bool exclusive);
void page_add_file_rmap(struct page *page, struct vm_area_struct *vma);
void page_remove_rmap(struct page *page, struct vm_area_struct *vma);
/* fork: one more mapping of a page the parent maps (no anon_vma change). */
void page_dup_file_rmap(struct page *page);
int page_try_dup_anon_rmap(struct page *page, struct vm_area_struct *src_vma);

/* i_mmap of a file-backed VMA, under mapping->i_mmap_rwsem [mm/rmap.c] */
void i_mmap_lock_write(struct address_space *mapping);
void i_mmap_unlock_write(struct address_space *mapping);
void i_mmap_lock_read(struct address_space *mapping);
void i_mmap_unlock_read(struct address_space *mapping);
void vma_link_file(struct vm_area_struct *vma);
void unlink_file_vma(struct vm_area_struct *vma);

/* A reference that keeps an anon_vma (not its pages' rmap) alive. */
static inline void get_anon_vma(struct anon_vma *anon_vma)
{
	atomic_inc(&anon_vma->refcount);
}

/*
 * Walking the reverse map of one page [mm/rmap.c].
 *
 * rmap_walk() visits every VMA that may map @page (locked by the caller):
 * through the anon_vma the page records, under its root's rwsem (read), or
 * through its file's i_mmap, under i_mmap_rwsem (read).  For each VMA that
 * covers the page's index and that ->invalid_vma does not reject, it calls
 * ->rmap_one with the address the page has there; ->rmap_one returning
 * false, or ->done returning true, ends the walk.  ->rmap_one finds the PTE
 * itself, with page_vma_mapped_pte(), under the PTE lock.
 */
struct rmap_walk_control {
	void *arg;
	bool try_lock;	/* do not sleep on the rmap lock: set ->contended instead */
	bool contended; /* out: try_lock failed */
	bool (*rmap_one)(struct page *page, struct vm_area_struct *vma, unsigned long address,
			 void *arg);
	int (*done)(struct page *page);
	/* Lock the anon_vma another way (page_lock_anon_vma_read for an unlocked page). */
	struct anon_vma *(*anon_lock)(struct page *page, struct rmap_walk_control *rwc);
	bool (*invalid_vma)(struct vm_area_struct *vma, void *arg);
};
void rmap_walk(struct page *page, struct rmap_walk_control *rwc);
/* The same with the anon_vma (root) or i_mmap_rwsem already held. */
void rmap_walk_locked(struct page *page, struct rmap_walk_control *rwc);
/*
 * Lock (read) the anon_vma of an anon page that may be neither locked nor
 * referenced: NULL if it is no longer mapped.  Unlock with
 * anon_vma_unlock_read().
 */
struct anon_vma *page_lock_anon_vma_read(struct page *page, struct rmap_walk_control *rwc);
/* Where @page's index falls in @vma, or -EFAULT if outside it. */
unsigned long vma_address(struct page *page, struct vm_area_struct *vma);
/*
 * The present PTE mapping @page at @address in @vma, PTE lock held (release
 * with pte_unmap_unlock()), or NULL if it does not map it there.
 */
pte_t *page_vma_mapped_pte(struct page *page, struct vm_area_struct *vma, unsigned long address,
			   spinlock_t **ptlp);
/*
 * Write-protect and clean every shared PTE of a locked page-cache page,
 * each under invalidate_range_start/end (MMU_NOTIFY_PROTECTION_PAGE).
 * Returns how many PTEs were writable or dirty.
 */
int page_mkclean(struct page *page);

/*
 * Reclaim's rmap walks [mm/rmap.c], page locked.  folio_referenced(): how
 * many mappings were young (host accessed bit OR mmu_notifier_clear_flush_young),
 * clearing them; VM_LOCKED in *vm_flags if a locked VMA maps it (then marked
 * mlocked: rule 8, mlock under the PTE lock).  try_to_unmap(): every PTE
 * becomes nothing (file) or a swap entry (anon in the swap cache), each
 * under invalidate_range_start/end (MMU_NOTIFY_CLEAR); true if unmapped
 * after.
 */
enum ttu_flags {
	TTU_MUNLOCK = 0x4,	/* only look for a VM_LOCKED VMA and mark the page */
	TTU_IGNORE_MLOCK = 0x8, /* unmap from VM_LOCKED VMAs too */
};
int folio_referenced(struct page *page, int is_locked, unsigned long *vm_flags);
bool try_to_unmap(struct page *page, enum ttu_flags flags);
/* After munlock: mark the page again if another VM_LOCKED VMA maps it. */
bool try_to_munlock(struct page *page);

/* ---- the page cache [mm/filemap.c] ---- */
struct page *find_get_page(struct address_space *mapping, unsigned long index);
/*
 * Up to @nr cached pages from index *@start on (only dirty ones if @dirty),
 * each with a reference; *@start moves past the last one returned.
 */
unsigned int find_get_pages(struct address_space *mapping, unsigned long *start, bool dirty,
			    struct page **pages, unsigned int nr);
/*
 * The page at @index, read from the file (or zero-filled for shmem) if not
 * cached; with a reference, uptodate, unlocked.  NULL past i_size (SIGBUS),
 * ERR_PTR(-ENOMEM/-EIO).
 */
struct page *filemap_get_page(struct address_space *mapping, unsigned long index);
void delete_from_page_cache(struct page *page); /* page locked, unmapped */
/*
 * Migration: hand @page's cache slot, mapping and index to @newpage, if
 * @page holds exactly @expected_count references; 0 or -EAGAIN.  Both locked.
 */
int filemap_migrate_page(struct address_space *mapping, struct page *newpage, struct page *page,
			 int expected_count);
/*
 * Page locked (and still locked on return, unlike the kernel's, which
 * unlocked it): write a dirty page-cache page to its file and clean it,
 * write-protecting its shared PTEs first (page_mkclean), so later writes
 * fault and dirty it again.  0, or -EIO (the page stays dirty).
 */
int write_one_page(struct page *page);
/* i_size, read without a lock (vfs_truncate() may change it). */
static inline loff_t i_size_read(const struct address_space *mapping)
{
	return READ_ONCE(mapping->i_size);
}

/* ---- migration [mm/migrate.c]; the API is mm/migrate.h ---- */

/* A fault met a migration entry: wait for the page's move to finish, then retry. */
void migration_entry_wait(struct mm_struct *mm, pmd_t *pmd, unsigned long address);

/* ---- truncation [mm/truncate.c] ---- */

/* Drop [lstart, lend] (lend -1: to the end) from the cache; partial pages zeroed. */
void truncate_inode_pages_range(struct address_space *mapping, loff_t lstart, loff_t lend);
void truncate_inode_pages(struct address_space *mapping, loff_t lstart);
/* Shrinking to @newsize (i_size set): unmap with COWs, drop the pages, unmap again. */
void truncate_pagecache(struct address_space *mapping, loff_t newsize);
/* Punching [lstart, lend]: unmap whole pages (not COWs), drop them, zero partial ones. */
void truncate_pagecache_range(struct address_space *mapping, loff_t lstart, loff_t lend);

/* ---- page-table helpers of the fault, zap and fork paths [mm/memory.c] ---- */

/*
 * A GUP read pin (FOLL_PIN without FOLL_WRITE) of an anon page that is not
 * exclusive: the fault copies it (or claims it, if nobody else maps it) and
 * maps the result read-only, so the pin and the process see one page.
 */
#define FAULT_FLAG_UNSHARE 0x400

/*
 * The page a present PTE maps, or NULL (reported) if the PTE points outside
 * the pool.  A PTE mapping a frame that is not data (freed, or reused as a
 * table) is a sanitizer report, and NULL too.  PTE lock held.
 */
struct page *vm_normal_page(struct vm_area_struct *vma, unsigned long addr, pte_t pte);
/* A fresh anonymous page: swap-backed, and uptodate once its contents are written. */
struct page *alloc_anon_page(struct vm_area_struct *vma, gfp_t gfp);

static inline pte_t maybe_mkwrite(pte_t pte, struct vm_area_struct *vma)
{
	if (likely(vma->vm_flags & VM_WRITE))
		pte = pte_mkwrite(pte);
	return pte;
}

static inline void copy_user_highpage(struct page *to, struct page *from)
{
	memcpy(page_address(to), page_address(from), PAGE_SIZE);
}

/* Apply the rss deltas one PTE table's walk gathered (zap, fork). */
static inline void add_mm_rss_vec(struct mm_struct *mm, long *rss)
{
	for (int i = 0; i < NR_MM_COUNTERS; i++)
		if (rss[i])
			add_mm_counter(mm, i, rss[i]);
}

/* Which RSS counter a mapped page counts in. */
static inline int mm_counter_file(struct page *page)
{
	struct address_space *mapping = page_mapping(page);

	return mapping && test_bit(AS_SHMEM, &mapping->flags) ? MM_SHMEMPAGES : MM_FILEPAGES;
}
static inline int mm_counter(struct page *page)
{
	return PageAnon(page) ? MM_ANONPAGES : mm_counter_file(page);
}

#endif
