// SPDX-License-Identifier: GPL-2.0
/*
 * Truncation and hole punching, after the kernel's mm/truncate.c and the
 * unmap_mapping_range() of its mm/memory.c: taking a range of a file away
 * from the page cache and from every process that maps it, without any
 * process's mmap_lock.
 *
 * Shrinking a file goes in the kernel's order (truncate_setsize() and
 * truncate_pagecache()):
 *   1. i_size drops first, so that no new fault maps a page past it
 *      (filemap_get_page() rechecks i_size once its new page is cached);
 *   2. unmap_mapping_range(): every PTE mapping the range, found through
 *      i_mmap under i_mmap_rwsem (read), is zapped under
 *      invalidate_range_start/end (MMU_NOTIFY_CLEAR), the private
 *      anonymous COWs of the file's pages too (even_cows): past the end of
 *      the file a private mapping gets SIGBUS like a shared one;
 *   3. truncate_inode_pages_range(): each page is locked, unmapped again
 *      if a fault mapped it meanwhile, and dropped from the cache;
 *   4. unmap_mapping_range() once more, for COWs copied from a page
 *      between 2 and 3;
 *   5. the backing file shrinks.
 * Pages go back to the pool from the zap's gather, after the notifier
 * start, or when the cache drops its reference: never while mapped.
 *
 * The kernel serialises truncations of one inode with its i_rwsem, and
 * keeps faults out of a range being truncated or punched with the
 * mapping's invalidate_lock.  The model has neither: callers serialise
 * their truncations of one file, and a fault racing a hole punch may map
 * the old contents until the punch's second pass (see vfs_fallocate()).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "base/bug.h"
#include "base/sched_point.h"
#include "mm/internal.h"
#include "mm/swap.h"

INTERVAL_TREE_DEFINE_TYPED(vma_interval_tree, struct vm_area_struct, shared)

/* Which PTEs of the range a zap removes (the kernel's struct zap_details). */
struct zap_details {
	struct page *single_page; /* only those mapping this page-cache page */
	bool even_cows;		  /* also anonymous pages: the private COWs */
};

/* The kernel's should_zap_page(): a private COW stays unless even_cows. */
static bool should_zap_page(const struct zap_details *details, struct page *page)
{
	if (details->single_page && page != details->single_page)
		return false;
	return details->even_cows || !PageAnon(page);
}

/* ---- zapping the PTEs of a file range ---- */

/* One PTE, PTE lock held. */
static void zap_mapping_pte(struct mmu_gather *tlb, struct vm_area_struct *vma, pte_t *pte,
			    unsigned long addr, const struct zap_details *details, long *rss)
{
	struct mm_struct *mm = vma->vm_mm;
	pte_t ptent = ptep_get(pte);
	struct page *page;
	swp_entry_t entry;

	if (pte_present(ptent)) {
		page = vm_normal_page(vma, addr, ptent);
		if (!page || !should_zap_page(details, page))
			return;
		ptent = ptep_get_and_clear(mm, addr, pte);
		if (!PageAnon(page)) {
			/* What the "hardware" recorded in the PTE is the page's now. */
			if (pte_dirty(ptent))
				set_page_dirty(page);
			if (pte_young(ptent))
				SetPageReferenced(page);
		}
		rss[mm_counter(page)]--;
		page_remove_rmap(page, vma);
		tlb_remove_page(tlb, page);
		return;
	}

	entry = pte_to_swp_entry(ptent);
	if (is_migration_entry(entry)) {
		/* No reference, no mapcount: migration finds the entry gone and maps nothing. */
		page = pfn_swap_entry_to_page(mm->pool, entry);
		if (!should_zap_page(details, page))
			return;
		rss[mm_counter(page)]--;
	} else if (!non_swap_entry(entry)) {
		/* A swapped-out private COW: only a truncation takes it, never a single page. */
		if (!details->even_cows || details->single_page)
			return;
		rss[MM_SWAPENTS]--;
		free_swap_and_cache(entry);
	} else {
		return;
	}
	pte_clear(mm, addr, pte);
}

/*
 * The PTE table is mapped from a snapshot of the pmd, and the pmd is
 * checked to still point at it once the table's lock is held, as the
 * kernel's pte_offset_map_lock() does.  Between the two only DESIGN.md
 * rule 5 keeps the table alive: munmap unlinks the VMA from i_mmap, which
 * this walk holds for read, before it frees the VMA's tables.
 */
static void zap_mapping_pte_range(struct mmu_gather *tlb, struct vm_area_struct *vma, pmd_t *pmd,
				  unsigned long addr, unsigned long end,
				  const struct zap_details *details)
{
	long rss[NR_MM_COUNTERS] = { 0 };
	pmd_t pmdval = pmdp_get(pmd);
	pte_t *start_pte, *pte;
	spinlock_t *ptl;

	if (pmd_none(pmdval))
		return;
	sched_point("unmap_mapping_range:pte_table");
	start_pte = __pte_offset_map_lock(tlb->mm, &pmdval, addr, &ptl);
	if (!start_pte)
		return;
	if (unlikely(pmdp_get(pmd) != pmdval)) {
		/* The table went (and maybe another came): nothing of ours is in it. */
		pte_unmap_unlock(start_pte, ptl);
		return;
	}
	pte = start_pte;
	do {
		if (!pte_none(ptep_get(pte)))
			zap_mapping_pte(tlb, vma, pte, addr, details, rss);
	} while (pte++, addr += PAGE_SIZE, addr != end);
	for (int i = 0; i < NR_MM_COUNTERS; i++)
		if (rss[i])
			add_mm_counter(tlb->mm, i, rss[i]);
	pte_unmap_unlock(start_pte, ptl);
}

/*
 * Zap [start, end) of one VMA of the file: the kernel's
 * zap_page_range_single() with zap_details.  Announced as MMU_NOTIFY_CLEAR
 * before the zap's atomic section opens (rules 1 and 6); the pages are
 * freed by tlb_finish_mmu(), after invalidate_range_end.
 */
static void unmap_mapping_range_vma(struct vm_area_struct *vma, unsigned long start,
				    unsigned long end, const struct zap_details *details)
{
	struct mm_struct *mm = vma->vm_mm;
	struct mmu_notifier_range range;
	struct mmu_gather tlb;
	unsigned long addr, next;
	pmd_t *pmd;

	tlb_gather_mmu(&tlb, mm);
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, start, end);
	mmu_notifier_invalidate_range_start(&range);
	tlb_start_zap(&tlb);
	for (addr = start; addr != end; addr = next) {
		pmd = pmd_span(mm, addr, end, &next);
		if (pmd && !pmd_none(pmdp_get(pmd)))
			zap_mapping_pte_range(&tlb, vma, pmd, addr, next, details);
	}
	tlb_end_zap(&tlb);
	mmu_notifier_invalidate_range_end(&range);
	tlb_finish_mmu(&tlb);
}

/* Every VMA of the file overlapping pages [first, last], i_mmap_rwsem held. */
static void unmap_mapping_range_tree(struct address_space *mapping, unsigned long first,
				     unsigned long last, const struct zap_details *details)
{
	struct vm_area_struct *vma;

	interval_tree_foreach_typed(vma_interval_tree, vma, &mapping->i_mmap, first, last) {
		unsigned long vba = vma->vm_pgoff;
		unsigned long vea = vba + vma_pages(vma) - 1;
		unsigned long zba = max(first, vba);
		unsigned long zea = min(last, vea);

		unmap_mapping_range_vma(vma, vma->vm_start + ((zba - vba) << PAGE_SHIFT),
					vma->vm_start + ((zea - vba + 1) << PAGE_SHIFT), details);
	}
}

static void __unmap_mapping_pages(struct address_space *mapping, unsigned long start,
				  unsigned long nr, const struct zap_details *details)
{
	unsigned long last = start + nr - 1;

	if (last < start)
		last = ULONG_MAX;
	i_mmap_lock_read(mapping);
	if (!interval_tree_empty(&mapping->i_mmap))
		unmap_mapping_range_tree(mapping, start, last, details);
	i_mmap_unlock_read(mapping);
}

/**
 * unmap_mapping_pages - unmap pages [start, start + nr) of a file everywhere
 * @mapping: the file
 * @start: first page index
 * @nr: number of pages (0 is treated as "to the end", as ULONG_MAX is)
 * @even_cows: remove the private anonymous COWs of these pages too
 */
void unmap_mapping_pages(struct address_space *mapping, unsigned long start, unsigned long nr,
			 bool even_cows)
{
	struct zap_details details = { .even_cows = even_cows };

	if (!nr)
		nr = ULONG_MAX - start;
	__unmap_mapping_pages(mapping, start, nr, &details);
}

/**
 * unmap_mapping_range - unmap a byte range of a file from every process
 * @mapping: the file
 * @holebegin: first byte; rounded down to its page
 * @holelen: bytes; rounded up to whole pages; 0 means to the end of the file
 * @even_cows: 1 to remove private COWs as well (truncation), 0 to keep them
 *	(hole punching, invalidation)
 */
void unmap_mapping_range(struct address_space *mapping, loff_t holebegin, loff_t holelen,
			 int even_cows)
{
	unsigned long start = (unsigned long)holebegin >> PAGE_SHIFT;
	unsigned long nr = 0;

	if (holelen) {
		unsigned long hole_end = PAGE_ALIGN((unsigned long)holebegin + holelen);

		nr = (hole_end >> PAGE_SHIFT) - start;
		if (!nr)
			return;
	}
	unmap_mapping_pages(mapping, start, nr, even_cows);
}

/* The PTEs of one locked page-cache page, and not its COWs (the kernel's unmap_mapping_folio()). */
static void unmap_mapping_page(struct page *page)
{
	struct zap_details details = { .single_page = page };

	WARN_ON(!PageLocked(page));
	__unmap_mapping_pages(page_mapping(page), page->index, 1, &details);
}

/* ---- dropping pages from the cache ---- */

/*
 * A locked page of @mapping leaves the cache: unmapped first if a fault
 * mapped it since the range was unmapped, its dirt thrown away (the bytes
 * are gone from the file), and the cache's reference dropped.
 */
static void truncate_inode_page(struct address_space *mapping, struct page *page)
{
	if (page_mapped(page))
		unmap_mapping_page(page);
	ClearPageDirty(page);
	delete_from_page_cache(page);
}

/* Zero [from, to) of the cached page at @index, if it is cached (a partial page of the range). */
static void truncate_partial_page(struct address_space *mapping, unsigned long index,
				  unsigned int from, unsigned int to)
{
	struct page *page = find_get_page(mapping, index);

	if (!page)
		return;
	lock_page(page);
	if (page->mapping == mapping && PageUptodate(page))
		memset((char *)page_address(page) + from, 0, to - from);
	unlock_page(page);
	put_page(page);
}

#define TRUNCATE_BATCH 16

/*
 * Drop the whole pages [start, end) from the cache.  A page whose mapping
 * changed while we waited for its lock was truncated by someone else, or
 * migrated, and then its replacement is in the cache: look again until a
 * pass finds nothing of ours left.
 */
static void truncate_whole_pages(struct address_space *mapping, unsigned long start,
				 unsigned long end)
{
	struct page *pages[TRUNCATE_BATCH];
	bool again;

	do {
		unsigned long index = start;
		unsigned int nr;

		again = false;
		while (index < end &&
		       (nr = find_get_pages(mapping, &index, false, pages, TRUNCATE_BATCH))) {
			for (unsigned int i = 0; i < nr; i++) {
				struct page *page = pages[i];

				if (page->index < end) {
					lock_page(page);
					if (page->mapping == mapping)
						truncate_inode_page(mapping, page);
					else
						again = true;
					unlock_page(page);
				}
				put_page(page);
			}
		}
	} while (again);
}

/**
 * truncate_inode_pages_range - drop a byte range of a file from the page cache
 * @mapping: the file
 * @lstart: first byte
 * @lend: last byte, inclusive; -1 for the end of the file
 *
 * Whole pages inside the range leave the cache (and any PTE that still
 * maps them); the parts of partial pages at either end are zeroed in place.
 * The caller unmapped the range first (unmap_mapping_range()), so most
 * pages are unmapped already.  May sleep.
 */
void truncate_inode_pages_range(struct address_space *mapping, loff_t lstart, loff_t lend)
{
	unsigned long start = ((unsigned long)lstart + PAGE_SIZE - 1) >> PAGE_SHIFT;
	unsigned int partial_start = lstart & ~PAGE_MASK;
	unsigned int partial_end = 0;
	unsigned long end = ULONG_MAX; /* first page past the whole ones */

	might_sleep();
	if (lend != -1) {
		end = ((unsigned long)lend + 1) >> PAGE_SHIFT;
		partial_end = (lend + 1) & ~PAGE_MASK;
	}
	if (partial_start) {
		unsigned long index = start - 1;
		unsigned int to = PAGE_SIZE;

		/* The range may begin and end in this one page. */
		if (lend != -1 && index == (unsigned long)lend >> PAGE_SHIFT) {
			to = partial_end;
			partial_end = 0;
		}
		truncate_partial_page(mapping, index, partial_start, to);
	}
	if (partial_end)
		truncate_partial_page(mapping, end, 0, partial_end);
	if (start < end)
		truncate_whole_pages(mapping, start, end);
}

void truncate_inode_pages(struct address_space *mapping, loff_t lstart)
{
	truncate_inode_pages_range(mapping, lstart, -1);
}

/*
 * The page cache side of shrinking a file to @newsize, i_size already set:
 * the kernel's truncate_pagecache(), steps 2 to 4 of the header comment.
 */
void truncate_pagecache(struct address_space *mapping, loff_t newsize)
{
	loff_t holebegin = PAGE_ALIGN(newsize);

	unmap_mapping_range(mapping, holebegin, 0, 1);
	sched_point("truncate:after_unmap");
	truncate_inode_pages(mapping, newsize);
	unmap_mapping_range(mapping, holebegin, 0, 1);
}

/*
 * The page cache side of punching [lstart, lend]: whole pages unmapped
 * (their private COWs stay: a private mapping keeps its copy of bytes the
 * file no longer has), partial pages zeroed.  The kernel's
 * truncate_pagecache_range().
 */
void truncate_pagecache_range(struct address_space *mapping, loff_t lstart, loff_t lend)
{
	loff_t unmap_start = PAGE_ALIGN(lstart);
	loff_t unmap_end = ((lend + 1) & PAGE_MASK) - 1;

	if (unmap_end > unmap_start)
		unmap_mapping_range(mapping, unmap_start, 1 + unmap_end - unmap_start, 0);
	truncate_inode_pages_range(mapping, lstart, lend);
}

/* ---- files ---- */

/**
 * vfs_truncate - set the size of a file
 * @file: the file
 * @size: the new size in bytes
 *
 * Growing only moves i_size (and the backing file's end): the new pages
 * read as zeroes.  Shrinking drops everything past the new end from the
 * cache and from every mapping, shared or private, and zeroes the tail of
 * a partial last page, so a later growth reads zeroes there too.  Returns
 * 0, -EINVAL, or the backing file's -errno.
 */
int vfs_truncate(struct file *file, loff_t size)
{
	struct address_space *mapping;
	loff_t oldsize;

	if (!file || size < 0)
		return -EINVAL;
	mapping = file->f_mapping;
	oldsize = i_size_read(mapping);
	if (size >= oldsize) {
		if (mapping->fd >= 0 && ftruncate(mapping->fd, size) < 0)
			return -errno;
		WRITE_ONCE(mapping->i_size, size);
		return 0;
	}
	/* The kernel's truncate_setsize(): i_size first, then the pages. */
	WRITE_ONCE(mapping->i_size, size);
	truncate_pagecache(mapping, size);
	/* Last, so a writeback that read the old i_size cannot write past the new end. */
	if (mapping->fd >= 0 && ftruncate(mapping->fd, size) < 0)
		return -errno;
	return 0;
}

/*
 * The backing file's side of a punch.  The kernel frees the blocks; a
 * filesystem that cannot punch makes the model write zeroes instead.
 */
static int punch_backing_file(int fd, loff_t offset, loff_t len)
{
	static const char zeroes[PAGE_SIZE];

	if (!fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, len))
		return 0;
	if (errno != EOPNOTSUPP)
		return -errno;
	while (len > 0) {
		size_t n = len < (loff_t)sizeof(zeroes) ? (size_t)len : sizeof(zeroes);
		ssize_t done = pwrite(fd, zeroes, n, offset);

		if (done < 0 && errno == EINTR)
			continue;
		if (done <= 0)
			return -EIO;
		offset += done;
		len -= done;
	}
	return 0;
}

/**
 * vfs_fallocate - punch a hole in a file
 * @file: the file
 * @mode: FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, the only mode modelled
 * @offset: first byte
 * @len: bytes
 *
 * The bytes read as zeroes afterwards, through the cache, every shared
 * mapping and the backing file; private COWs of the punched pages stay.
 * The cache is dropped before the backing file is punched (a dirty page
 * written back later would bring the old bytes back) and again after (a
 * fault in between may have read them in); a reader racing the punch may
 * see the old bytes until it returns.  0, -EINVAL, -EOPNOTSUPP or -errno.
 */
int vfs_fallocate(struct file *file, int mode, loff_t offset, loff_t len)
{
	struct address_space *mapping;
	loff_t end;
	int err = 0;

	if (!file || offset < 0 || len <= 0)
		return -EINVAL;
	if (mode != (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE))
		return -EOPNOTSUPP;
	mapping = file->f_mapping;
	/* Nothing past the end of the file to punch. */
	if (offset >= i_size_read(mapping))
		return 0;
	end = offset + min(len, i_size_read(mapping) - offset) - 1;

	truncate_pagecache_range(mapping, offset, end);
	if (mapping->fd >= 0) {
		err = punch_backing_file(mapping->fd, offset, end + 1 - offset);
		sched_point("punch_hole:after_backing_file");
		truncate_pagecache_range(mapping, offset, end);
	}
	return err;
}
