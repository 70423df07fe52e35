// SPDX-License-Identifier: GPL-2.0
/*
 * Page migration, after the kernel's mm/migrate.c, and try_to_migrate(),
 * which the kernel keeps in mm/rmap.c and which lives here beside its only
 * user: moving a page's contents to a new frame while processes map it,
 * without any process's mmap_lock.
 *
 * One page goes through the kernel's steps (migrate_folio_unmap() and
 * migrate_folio_move()):
 *  1. The old page is locked, which keeps truncation, reclaim and other
 *     migrations away, and a pinned page is refused: whoever pinned it may
 *     be writing into the frame (DMA), and would keep writing there.
 *  2. try_to_migrate(): through the rmap, each PTE mapping it is announced
 *     to secondary MMUs (MMU_NOTIFY_MIGRATE; rule 1, invalidate before
 *     free) and replaced, under its PTE lock, by a migration entry naming
 *     the old frame, with the write permission it had.  The PTE's reference
 *     and mapcount go; RSS stays.  A fault that meets the entry waits for
 *     the page lock and retries (migration_entry_wait()).
 *  3. The references are checked: only ours, and the page cache's or the
 *     swap cache's, may remain; any other (a GUP lookup, a secondary MMU's
 *     short reference in flight) makes the move fail with -EAGAIN.  If the
 *     count is right, the cache slot passes to the new page, under the
 *     cache's lock so that no lookup takes a reference in between.
 *  4. Contents and flags are copied to the new page: nobody can write the
 *     old one now (no PTE maps it, nobody else holds it).
 *  5. remove_migration_ptes(): each entry becomes a PTE to the new frame
 *     (to the old one again if step 3 failed).
 *  6. Only now is the old frame freed: every PTE points elsewhere.
 *
 * An anonymous page records its anon_vma, and the rmap walks of steps 2
 * and 5 need it while the page is unmapped: a reference keeps it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/bug.h"
#include "base/prandom.h"
#include "base/sched_point.h"
#include "mm/internal.h"
#include "mm/migrate.h"
#include "mm/swap.h"

/* ---- step 2: PTEs to migration entries ---- */

/*
 * Replace the PTE mapping @page at @address in @vma by a migration entry.
 * The rmap lock is held (rmap_walk()); the notifier start comes before the
 * PTE lock, and the PTE's reference is dropped after the entry is in place
 * (ours keeps the page).
 */
static bool try_to_migrate_one(struct page *page, struct vm_area_struct *vma, unsigned long address,
			       void *arg)
{
	struct mm_struct *mm = vma->vm_mm;
	struct mmu_notifier_range range;
	spinlock_t *ptl;
	pte_t *pte, pteval;
	swp_entry_t entry;

	mmu_notifier_range_init_owner(&range, MMU_NOTIFY_MIGRATE, 0, mm, address,
				      address + PAGE_SIZE, NULL);
	mmu_notifier_invalidate_range_start(&range);
	pte = page_vma_mapped_pte(page, vma, address, &ptl);
	if (pte) {
		pteval = ptep_get_and_clear(mm, address, pte);
		/* The dirty bit lives in the page while no PTE can hold it. */
		if (pte_dirty(pteval))
			set_page_dirty(page);
		entry = make_migration_entry(page, pte_write(pteval));
		set_pte_at(mm, address, pte, swp_entry_to_pte(entry));
		page_remove_rmap(page, vma);
		put_page(page);
		pte_unmap_unlock(pte, ptl);
	}
	mmu_notifier_invalidate_range_end(&range);
	return true;
}

static int page_not_mapped(struct page *page)
{
	return !page_mapped(page);
}

/* Every PTE of the locked @page becomes a migration entry; false if one could not. */
static bool try_to_migrate(struct page *page)
{
	struct rmap_walk_control rwc = {
		.rmap_one = try_to_migrate_one,
		.done = page_not_mapped,
	};

	WARN_ON(!PageLocked(page));
	rmap_walk(page, &rwc);
	return !page_mapped(page);
}

/* ---- step 5: migration entries back to PTEs ---- */

/*
 * The migration entry for @old at @address in @vma, if it is still there,
 * becomes a PTE to @page (the new page, or @old itself after a failure).
 * A writable entry maps writable; an anon page mapped writable is
 * exclusive (a COW mapping's entries were made read-only if it forked).
 */
static bool remove_migration_pte(struct page *page, struct vm_area_struct *vma,
				 unsigned long address, void *arg)
{
	struct mm_struct *mm = vma->vm_mm;
	struct page *old = arg;
	spinlock_t *ptl;
	pte_t *pte, pteval;
	swp_entry_t entry;

	pte = pte_offset_map_lock(mm, address, &ptl);
	if (!pte)
		return true;
	pteval = ptep_get(pte);
	if (!is_swap_pte(pteval))
		goto unlock;
	entry = pte_to_swp_entry(pteval);
	if (!is_migration_entry(entry) || swp_offset(entry) != page_to_pfn(old))
		goto unlock;

	pteval = mk_pte(page, vma_page_prot(vma));
	if (is_writable_migration_entry(entry))
		pteval = pte_mkwrite(pte_mkdirty(pteval));
	get_page(page);
	if (PageAnon(page))
		page_add_anon_rmap(page, vma, address, is_writable_migration_entry(entry));
	else
		page_add_file_rmap(page, vma);
	set_pte_at(mm, address, pte, pteval);
unlock:
	pte_unmap_unlock(pte, ptl);
	return true;
}

/* Turn every migration entry for @src into a PTE to @dst (locked, its mapping set). */
static void remove_migration_ptes(struct page *src, struct page *dst)
{
	struct rmap_walk_control rwc = {
		.rmap_one = remove_migration_pte,
		.arg = src,
	};

	rmap_walk(dst, &rwc);
}

/* ---- the fault side ---- */

/**
 * migration_entry_wait - a fault found a migration entry
 * @mm: the faulting mm (mmap_lock held for read)
 * @pmd: the pmd entry covering @address
 * @address: the faulting address
 *
 * Wait until the page's move is done, then return so the fault retries.
 * The migrating thread holds the old page's lock from before the first
 * entry is made until after the last is gone, and removing ours needs the
 * PTE lock we hold: so announcing ourselves on the page's wait queue
 * before we drop that lock cannot miss the unlock.  We take no reference
 * (the kernel's migration_entry_wait_on_locked()): one would make the
 * move fail its reference check.  The struct page outlives the frame, so
 * testing its lock bit after the frame is freed is safe.
 */
void migration_entry_wait(struct mm_struct *mm, pmd_t *pmd, unsigned long address)
{
	struct page_wait_queue *q;
	struct page *page;
	spinlock_t *ptl;
	swp_entry_t entry;
	pte_t *ptep, pte;

	ptep = __pte_offset_map_lock(mm, pmd, address, &ptl);
	if (!ptep)
		return;
	pte = ptep_get(ptep);
	entry = pte_to_swp_entry(pte);
	if (!is_swap_pte(pte) || !is_migration_entry(entry)) {
		pte_unmap_unlock(ptep, ptl);
		return;
	}
	page = pfn_swap_entry_to_page(mm->pool, entry);
	q = page_waitqueue(page);
	atomic_inc(&q->waiters);
	smp_mb__after_atomic();
	pte_unmap_unlock(ptep, ptl);

	sched_point("migrate:entry_wait");
	wait_event(q->wq, !PageLocked(page));
	atomic_dec(&q->waiters);
}

/* ---- steps 3 and 4: contents, flags, the cache slot ---- */

/* The kernel's folio_migrate_flags(), for what the model's pages carry. */
static void migrate_page_states(struct page *newpage, struct page *page)
{
	if (PageUptodate(page))
		SetPageUptodate(newpage);
	if (TestClearPageDirty(page))
		SetPageDirty(newpage);
	if (PageReferenced(page))
		SetPageReferenced(newpage);
	if (TestClearPageActive(page))
		SetPageActive(newpage);
	if (PageWorkingset(page))
		SetPageWorkingset(newpage);
	if (PageSwapBacked(page))
		SetPageSwapBacked(newpage);
	/* Mapped into a VM_LOCKED VMA, the new page is marked again as it is mapped. */
	if (TestClearPageMlocked(page))
		SetPageMlocked(newpage);
	if (TestClearPageUnevictable(page))
		SetPageUnevictable(newpage);
}

/* An anon page in the swap cache: its slot passes to @newpage, under the swap file's lock. */
static int swapcache_migrate_page(struct page *newpage, struct page *page, int expected_count)
{
	swp_entry_t entry = page_swap_entry(page);
	struct swap_info_struct *si = swp_swap_info(entry);
	unsigned long offset = swp_offset(entry);

	if (!si)
		return -EAGAIN;
	spin_lock(&si->lock);
	if (WARN_ON(si->swap_cache[offset] != page) || !page_ref_freeze(page, expected_count)) {
		spin_unlock(&si->lock);
		return -EAGAIN;
	}
	WRITE_ONCE(newpage->private, entry.val);
	SetPageSwapCache(newpage);
	get_page(newpage);
	si->swap_cache[offset] = newpage;
	ClearPageSwapCache(page);
	WRITE_ONCE(page->private, 0);
	page_ref_unfreeze(page, expected_count - 1); /* less the swap cache's */
	spin_unlock(&si->lock);
	return 0;
}

/*
 * Step 3, the kernel's folio_migrate_mapping().  An anon page outside the
 * swap cache can be found only through its PTEs, which are migration
 * entries now: its count cannot rise once checked, and the freeze is only
 * for the ordering.
 */
static int migrate_page_move_mapping(struct page *newpage, struct page *page)
{
	struct address_space *mapping = page_mapping(page);

	if (!PageAnon(page))
		return filemap_migrate_page(mapping, newpage, page, 2);
	newpage->index = page->index;
	WRITE_ONCE(newpage->mapping, READ_ONCE(page->mapping));
	if (PageSwapCache(page))
		return swapcache_migrate_page(newpage, page, 2);
	if (!page_ref_freeze(page, 1))
		return -EAGAIN;
	page_ref_unfreeze(page, 1);
	return 0;
}

/*
 * A reference on the anon_vma of a locked anon page, so the rmap walks can
 * find its VMAs while the page is unmapped.  Only good if the page is still
 * mapped once the reference is held: the anon_vma could otherwise have
 * been freed and reused (the kernel's folio_get_anon_vma()).
 */
static struct anon_vma *page_get_anon_vma(struct page *page)
{
	struct anon_vma *anon_vma = page_anon_vma(page);

	if (!anon_vma || !atomic_inc_not_zero(&anon_vma->refcount))
		return NULL;
	if (!page_mapped(page)) {
		put_anon_vma(anon_vma);
		return NULL;
	}
	return anon_vma;
}

/* Can @page move at all?  Locked. */
static int migrate_page_check(struct page *page)
{
	if (page_maybe_dma_pinned(page) || PageWriteback(page))
		return -EBUSY;
	/* Truncated meanwhile: nothing left to move. */
	if (!PageAnon(page) && !page_mapping(page))
		return -EAGAIN;
	return 0;
}

/*
 * Steps 2 to 5 for the locked @page and @newpage.  0, or -errno with the
 * old page mapped back.
 */
static int __migrate_page(struct page *newpage, struct page *page)
{
	struct anon_vma *anon_vma = NULL;
	bool remap = true; /* are there (or may there be) PTEs to fix up? */
	int rc;

	rc = migrate_page_check(page);
	if (rc)
		return rc;
	if (PageAnon(page)) {
		anon_vma = page_get_anon_vma(page);
		/* Unmapped: nothing maps it, so only a swap-cache page is worth moving. */
		if (!anon_vma && !PageSwapCache(page))
			return -EAGAIN;
		remap = anon_vma;
	}

	rc = -EAGAIN;
	if (page_mapped(page) && !try_to_migrate(page))
		goto restore;
	/* Exclusivity comes back from the entries (see remove_migration_pte()). */
	ClearPageAnonExclusive(page);
	sched_point("migrate:unmapped");

	rc = migrate_page_move_mapping(newpage, page);
	if (rc) {
		WRITE_ONCE(newpage->mapping, NULL);
		goto restore;
	}
	/*
	 * Only now is nobody else able to write the old page: a reference
	 * taken before its PTE went (a GUP lookup copying into it) was still
	 * held at the check, or its write is done.  A lookup that finds the
	 * new page in a cache meanwhile sees it locked and not yet uptodate,
	 * and waits on its lock.
	 */
	memcpy(page_address(newpage), page_address(page), PAGE_SIZE);
	migrate_page_states(newpage, page);
	if (remap)
		remove_migration_ptes(page, newpage);
	goto out;

restore:
	if (remap)
		remove_migration_ptes(page, page);
out:
	if (anon_vma)
		put_anon_vma(anon_vma);
	return rc;
}

/*
 * Move @page, on which the caller holds a reference, to a new frame: 0
 * with the new page in *@newpagep (with a reference for the caller; the
 * caller's reference to the old page is then its last), or -errno with
 * the old page where it was.
 */
static int unmap_and_move(struct page *page, enum migrate_mode mode, struct page **newpagep)
{
	struct page *newpage;
	int rc;

	might_sleep();
	newpage = alloc_page(page->pool, GFP_KERNEL);
	if (!newpage)
		return -ENOMEM;
	if (mode == MIGRATE_ASYNC) {
		if (!trylock_page(page)) {
			put_page(newpage);
			return -EAGAIN;
		}
	} else {
		lock_page(page);
	}
	/* Fresh, so this cannot fail; locked, so whoever finds it waits for the move. */
	WARN_ON(!trylock_page(newpage));

	rc = __migrate_page(newpage, page);

	unlock_page(newpage);
	unlock_page(page);
	if (rc) {
		put_page(newpage);
		return rc;
	}
	*newpagep = newpage;
	return 0;
}

/* Back where it came from: its list, or just our reference dropped. */
static void migrate_putback(struct page *page, bool isolated)
{
	if (isolated)
		putback_lru_page(page);
	else
		put_page(page);
}

int migrate_page_to_new(struct page *page, bool isolated, enum migrate_mode mode)
{
	struct page *newpage;
	int rc = unmap_and_move(page, mode, &newpage);

	if (rc) {
		migrate_putback(page, isolated);
		return rc;
	}
	/* Step 6: nothing maps the old frame now; ours is its last reference. */
	put_page(page);
	migrate_putback(newpage, isolated);
	return 0;
}

int migrate_pages(struct list_head *from, enum migrate_mode mode, unsigned int *nr_succeeded)
{
	struct page *page, *next, *newpage;
	unsigned int succeeded = 0;
	int failed = 0;

	list_for_each_entry_safe(page, next, from, lru) {
		if (unmap_and_move(page, mode, &newpage)) {
			failed++;
			continue;
		}
		list_del(&page->lru);
		put_page(page);
		putback_lru_page(newpage);
		succeeded++;
	}
	if (nr_succeeded)
		*nr_succeeded = succeeded;
	return failed;
}

/* ---- the random driver ---- */

/* A uniformly chosen page address of @mm; mmap_lock held.  0 if it maps nothing. */
static unsigned long random_address(struct mm_struct *mm, uint64_t *seed)
{
	struct vm_area_struct *vma;
	unsigned long total = 0, pick;

	for_each_vma(mm, vma)
		total += vma_pages(vma);
	if (!total)
		return 0;
	pick = prandom_u64(seed) % total;
	for_each_vma(mm, vma) {
		if (pick < vma_pages(vma))
			return vma->vm_start + (pick << PAGE_SHIFT);
		pick -= vma_pages(vma);
	}
	return 0;
}

/* The page mapped at @addr now, with a reference, or NULL; mmap_lock held. */
static struct page *lookup_mapped_page(struct mm_struct *mm, unsigned long addr)
{
	struct vm_area_struct *vma = vma_lookup(mm, addr);
	struct page *page = NULL;
	spinlock_t *ptl;
	pte_t *pte;

	if (!vma)
		return NULL;
	pte = pte_offset_map_lock(mm, addr, &ptl);
	if (!pte)
		return NULL;
	if (pte_present(ptep_get(pte)) && !pte_protnone(ptep_get(pte))) {
		page = vm_normal_page(vma, addr, ptep_get(pte));
		if (page)
			get_page(page);
	}
	pte_unmap_unlock(pte, ptl);
	return page;
}

static void migrate_count(struct migrate_stats *stats, int rc)
{
	if (!rc)
		stats->migrated++;
	else if (rc == -EBUSY)
		stats->busy++;
	else if (rc == -ENOMEM)
		stats->nomem++;
	else
		stats->again++;
}

long migrate_random_pages(struct mm_struct *mm, unsigned long nr, uint64_t *seed,
			  struct migrate_stats *stats)
{
	struct migrate_stats local = { 0 };
	struct page **pages;
	unsigned long found = 0;

	if (!nr)
		return 0;
	pages = calloc(nr, sizeof(*pages));
	if (!pages)
		return -ENOMEM;

	mmap_read_lock(mm);
	for (unsigned long tries = 0; tries < 4 * nr && found < nr; tries++) {
		unsigned long addr = random_address(mm, seed);
		struct page *page;
		bool dup = false;

		local.scanned++;
		page = addr ? lookup_mapped_page(mm, addr) : NULL;
		if (!page)
			continue;
		for (unsigned long i = 0; i < found; i++)
			dup |= pages[i] == page;
		if (dup) {
			put_page(page);
			continue;
		}
		pages[found++] = page;
	}
	mmap_read_unlock(mm);

	/*
	 * Each page is taken off its LRU list first, as the kernel's callers
	 * isolate theirs: reclaim then cannot work on it meanwhile, and its
	 * list flags are ours to change.  A page on no list is someone else's
	 * (reclaim's, most likely): skipped.
	 */
	for (unsigned long i = 0; i < found; i++) {
		struct page *page = pages[i];

		if (isolate_lru_page(page)) {
			put_page(page);
			local.again++;
			continue;
		}
		put_page(page); /* the isolation reference stands for ours */
		migrate_count(&local, migrate_page_to_new(page, true, MIGRATE_SYNC));
	}
	free(pages);

	if (stats) {
		stats->scanned += local.scanned;
		stats->migrated += local.migrated;
		stats->busy += local.busy;
		stats->again += local.again;
		stats->nomem += local.nomem;
	}
	return local.migrated;
}
