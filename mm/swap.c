// SPDX-License-Identifier: GPL-2.0
/*
 * The LRU lists of a node (frame pool), after the kernel's mm/swap.c.
 *
 * Each data page that reclaim may take lives on one of five lists: active
 * and inactive for anonymous (swap-backed) and file pages, and the
 * unevictable list of mlocked pages.  New pages enter at the head of their
 * inactive list; reclaim takes from the tail, and a page found referenced
 * there is moved to the active list (mm/vmscan.c), whose aging sends the
 * pages not referenced again back to the inactive one.
 *
 * The kernel batches additions in per-CPU folio batches and takes the lock
 * once per batch; here each addition takes lru_lock.  The lists hold no
 * reference: a page whose last reference goes while it is on a list is taken
 * off by put_page() (__page_cache_release()), and isolation takes a reference
 * with get_page_unless_zero(), skipping pages already on their way out.
 */
#include <stdlib.h>

#include "base/bug.h"
#include "mm/swap.h"

struct pglist_data *pgdat_alloc(struct frame_pool *pool)
{
	struct pglist_data *pgdat = calloc(1, sizeof(*pgdat));

	if (!pgdat)
		return NULL;
	pgdat->pool = pool;
	spin_lock_init(&pgdat->lruvec.lru_lock);
	for (int lru = 0; lru < NR_LRU_LISTS; lru++)
		INIT_LIST_HEAD(&pgdat->lruvec.lists[lru]);
	init_waitqueue_head(&pgdat->kswapd_wait);
	mutex_init(&pgdat->kswapd_lock);
	return pgdat;
}

void pgdat_free(struct pglist_data *pgdat)
{
	if (!pgdat)
		return;
	kswapd_stop(pgdat->pool);
	free(pgdat);
}

static struct lruvec *page_lruvec(struct page *page)
{
	return &page->pool->pgdat->lruvec;
}

/* ---- moving pages on and off the lists, lru_lock held ---- */

static void add_page_to_lru_list(struct lruvec *lruvec, struct page *page)
{
	enum lru_list lru = page_lru(page);

	page->lru_list = lru;
	list_add(&page->lru, &lruvec->lists[lru]);
	lruvec->nr_pages[lru]++;
}

static void add_page_to_lru_list_tail(struct lruvec *lruvec, struct page *page)
{
	enum lru_list lru = page_lru(page);

	page->lru_list = lru;
	list_add_tail(&page->lru, &lruvec->lists[lru]);
	lruvec->nr_pages[lru]++;
}

/*
 * The count of the list the page is on, which is the list it was added to:
 * its flags may have moved on since (a flag changed while the page sat on
 * the list), and a count decremented by them wrapped below zero and left
 * reclaim scanning forever.  A change seen here is reported, not hidden.
 */
static void del_page_from_lru_list(struct lruvec *lruvec, struct page *page)
{
	enum lru_list lru = page->lru_list;

	WARN_ON_ONCE(lru != page_lru(page));
	list_del(&page->lru);
	lruvec->nr_pages[lru]--;
}

static void __lru_cache_add(struct page *page, bool active)
{
	struct lruvec *lruvec = page_lruvec(page);

	spin_lock(&lruvec->lru_lock);
	if (!PageLRU(page)) {
		if (active && !PageUnevictable(page))
			SetPageActive(page);
		SetPageLRU(page);
		add_page_to_lru_list(lruvec, page);
	}
	spin_unlock(&lruvec->lru_lock);
}

void lru_cache_add(struct page *page)
{
	__lru_cache_add(page, false);
}

void lru_cache_add_active(struct page *page)
{
	__lru_cache_add(page, true);
}

void activate_page(struct page *page)
{
	struct lruvec *lruvec = page_lruvec(page);

	spin_lock(&lruvec->lru_lock);
	if (PageLRU(page) && !PageActive(page) && !PageUnevictable(page)) {
		del_page_from_lru_list(lruvec, page);
		SetPageActive(page);
		add_page_to_lru_list(lruvec, page);
		atomic_long_inc(&page->pool->pgdat->stats.pgactivate);
	}
	spin_unlock(&lruvec->lru_lock);
}

/*
 * An access the page tables do not record (a read through the page cache,
 * a lookup): an inactive page referenced twice is activated, as the
 * kernel's folio_mark_accessed() does.
 */
void mark_page_accessed(struct page *page)
{
	if (!PageActive(page) && !PageUnevictable(page) && PageReferenced(page)) {
		activate_page(page);
		ClearPageReferenced(page);
	} else if (!PageReferenced(page)) {
		SetPageReferenced(page);
	}
}

/*
 * PG_mlocked is set and cleared under the PTE lock (mm/mlock.c, rmap);
 * PG_unevictable follows it here under lru_lock, moving the page between
 * the unevictable list and its inactive list if it is on one.  An isolated
 * page only has its flag changed: putback places it.
 */
void lru_update_evictable(struct page *page)
{
	struct lruvec *lruvec = page_lruvec(page);
	bool unevictable;

	spin_lock(&lruvec->lru_lock);
	unevictable = PageMlocked(page);
	if (unevictable != PageUnevictable(page)) {
		bool on_lru = PageLRU(page);

		if (on_lru)
			del_page_from_lru_list(lruvec, page);
		if (unevictable) {
			SetPageUnevictable(page);
			ClearPageActive(page);
		} else {
			ClearPageUnevictable(page);
		}
		if (on_lru)
			add_page_to_lru_list(lruvec, page);
	}
	spin_unlock(&lruvec->lru_lock);
}

int isolate_lru_page(struct page *page)
{
	struct lruvec *lruvec = page_lruvec(page);
	int ret = -EBUSY;

	spin_lock(&lruvec->lru_lock);
	if (PageLRU(page)) {
		get_page(page);
		del_page_from_lru_list(lruvec, page);
		ClearPageLRU(page);
		ret = 0;
	}
	spin_unlock(&lruvec->lru_lock);
	return ret;
}

unsigned long isolate_lru_pages(struct lruvec *lruvec, enum lru_list lru, unsigned long nr,
				struct list_head *dst, unsigned long *scanned)
{
	struct list_head *src = &lruvec->lists[lru];
	unsigned long taken = 0, scan = 0;
	struct page *page;
	LIST_HEAD(busy);

	spin_lock(&lruvec->lru_lock);
	while (taken < nr && !list_empty(src)) {
		page = list_last_entry(src, struct page, lru);
		scan++;
		/* Its last reference is gone: put_page() is taking it off. */
		if (!get_page_unless_zero(page)) {
			list_move(&page->lru, &busy);
			continue;
		}
		ClearPageLRU(page);
		list_move(&page->lru, dst);
		lruvec->nr_pages[lru]--;
		taken++;
	}
	list_splice(&busy, src);
	spin_unlock(&lruvec->lru_lock);
	if (scanned)
		*scanned = scan;
	return taken;
}

void putback_lru_page(struct page *page)
{
	struct lruvec *lruvec = page_lruvec(page);

	spin_lock(&lruvec->lru_lock);
	if (!WARN_ON(PageLRU(page))) {
		/* Mlocked meanwhile or not, the flags say where it goes. */
		if (PageMlocked(page) != PageUnevictable(page)) {
			if (PageMlocked(page)) {
				SetPageUnevictable(page);
				ClearPageActive(page);
			} else {
				ClearPageUnevictable(page);
			}
		}
		SetPageLRU(page);
		if (PageActive(page) || PageUnevictable(page))
			add_page_to_lru_list(lruvec, page);
		else
			add_page_to_lru_list_tail(lruvec, page);
	}
	spin_unlock(&lruvec->lru_lock);
	put_page(page);
}

void putback_lru_pages(struct list_head *pages)
{
	struct page *page, *next;

	list_for_each_entry_safe(page, next, pages, lru) {
		list_del(&page->lru);
		putback_lru_page(page);
	}
}

/*
 * The last reference to a page on a list is gone.  Isolation cannot take
 * it any more (get_page_unless_zero() fails), so under lru_lock the page
 * is ours to unlink.
 */
void __page_cache_release(struct page *page)
{
	struct lruvec *lruvec = page_lruvec(page);

	spin_lock(&lruvec->lru_lock);
	/*
	 * PG_lru on a page that is on no list (its lru link still poisoned
	 * from the allocator's list_del) is a corrupt flag, not ours to
	 * clear: the free path's bad page check reports it.
	 */
	if (PageLRU(page) && page->lru.next != LIST_POISON1) {
		del_page_from_lru_list(lruvec, page);
		ClearPageLRU(page);
		ClearPageActive(page);
	}
	spin_unlock(&lruvec->lru_lock);
}

void lru_counts(struct frame_pool *pool, unsigned long nr[NR_LRU_LISTS])
{
	struct lruvec *lruvec = &pool->pgdat->lruvec;

	spin_lock(&lruvec->lru_lock);
	for (int lru = 0; lru < NR_LRU_LISTS; lru++)
		nr[lru] = lruvec->nr_pages[lru];
	spin_unlock(&lruvec->lru_lock);
}
