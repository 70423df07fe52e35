// SPDX-License-Identifier: GPL-2.0
/*
 * The swap cache and the swap-in read path, after the kernel's
 * mm/swap_state.c.
 *
 * A page being swapped out, or just read back, stands in the swap cache for
 * its slot (PG_swapcache, page->private = the entry, a reference held by
 * the cache).  A fault on a swap PTE looks there first, so every process
 * that shares the slot (after fork) maps the same page, and two threads
 * faulting one entry at once read it once: whoever inserts the new page
 * first (taking SWAP_HAS_CACHE) reads it, the other finds it and waits on
 * its page lock for the read to finish.
 *
 * Unlike the kernel's: no swap readahead (a fault reads its own slot
 * only), and no workingset refault detection.
 */
#include <sched.h>

#include "base/bug.h"
#include "base/sched_point.h"
#include "mm/swap.h"

struct page *lookup_swap_cache(swp_entry_t entry)
{
	struct swap_info_struct *si = swp_swap_info(entry);
	struct page *page;

	if (!si)
		return NULL;
	spin_lock(&si->lock);
	page = si->swap_cache[swp_offset(entry)];
	if (page)
		get_page(page); /* the cache holds one: never the last */
	spin_unlock(&si->lock);
	return page;
}

enum swapcache_insert { SWAPCACHE_ADDED, SWAPCACHE_EXISTS, SWAPCACHE_SLOT_FREE };

/*
 * Insert the new, locked @page for @entry, unless the slot already has a
 * cache page or is free (its last swap PTE went while we allocated): the
 * kernel's swapcache_prepare() and add_to_swap_cache() in one step.
 */
static enum swapcache_insert add_to_swap_cache(struct page *page, swp_entry_t entry)
{
	struct swap_info_struct *si = swp_swap_info(entry);
	unsigned long offset = swp_offset(entry);
	enum swapcache_insert ret = SWAPCACHE_ADDED;

	if (!si)
		return SWAPCACHE_SLOT_FREE;
	spin_lock(&si->lock);
	if (!(si->swap_map[offset] & SWAP_MAP_MAX)) {
		ret = SWAPCACHE_SLOT_FREE;
	} else if (si->swap_map[offset] & SWAP_HAS_CACHE) {
		ret = SWAPCACHE_EXISTS;
	} else {
		si->swap_map[offset] |= SWAP_HAS_CACHE;
		get_page(page);
		si->swap_cache[offset] = page;
		WRITE_ONCE(page->private, entry.val);
		SetPageSwapCache(page);
	}
	spin_unlock(&si->lock);
	return ret;
}

struct page *read_swap_cache_async(swp_entry_t entry, struct frame_pool *pool, bool *oom)
{
	struct page *page;

	*oom = false;
	for (;;) {
		page = lookup_swap_cache(entry);
		if (page)
			return page;

		page = alloc_page(pool, GFP_KERNEL);
		if (!page) {
			*oom = true;
			return NULL;
		}
		__SetPageSwapBacked(page);
		/* Nobody can see it yet: this cannot fail, but lockdep must hear of it. */
		WARN_ON(!trylock_page(page));

		switch (add_to_swap_cache(page, entry)) {
		case SWAPCACHE_ADDED:
			break;
		case SWAPCACHE_EXISTS:
			/* Another thread inserted first: use its page. */
			unlock_page(page);
			put_page(page);
			sched_yield();
			continue;
		case SWAPCACHE_SLOT_FREE:
			unlock_page(page);
			put_page(page);
			return NULL;
		}

		sched_point("swapin:inserted");
		if (!swap_readpage(page)) {
			SetPageUptodate(page);
			atomic_long_inc(&pool->pgdat->stats.pswpin);
		}
		/* Faulted back in: it is in use, give it the active list. */
		lru_cache_add_active(page);
		unlock_page(page);
		return page;
	}
}

void delete_from_swap_cache(struct page *page)
{
	swp_entry_t entry = page_swap_entry(page);
	struct swap_info_struct *si = swp_swap_info(entry);
	unsigned long offset = swp_offset(entry);

	WARN_ON(!PageLocked(page));
	if (WARN_ON(!PageSwapCache(page) || !si))
		return;
	spin_lock(&si->lock);
	WARN_ON(si->swap_cache[offset] != page);
	si->swap_cache[offset] = NULL;
	ClearPageSwapCache(page);
	WRITE_ONCE(page->private, 0);
	si->swap_map[offset] &= ~SWAP_HAS_CACHE;
	if (!si->swap_map[offset])
		si->inuse_pages--;
	spin_unlock(&si->lock);
	put_page(page); /* the cache's: the caller holds one too */
}

bool try_to_free_swap(struct page *page)
{
	WARN_ON(!PageLocked(page));
	if (!PageSwapCache(page) || PageWriteback(page))
		return false;
	if (__swap_count(page_swap_entry(page)))
		return false;
	delete_from_swap_cache(page);
	SetPageDirty(page);
	return true;
}
