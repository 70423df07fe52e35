// SPDX-License-Identifier: GPL-2.0
/*
 * Reclaim, after the kernel's mm/vmscan.c: free frames by taking pages off
 * the old end of the inactive LRU lists.  A clean file page is dropped from
 * the page cache (the file has it), a dirty one is written back first, and
 * an anonymous page is given a swap slot, unmapped (each PTE becomes a swap
 * entry), written to the swap file and dropped from the swap cache.
 *
 * Every unmap goes through try_to_unmap(), which announces each PTE with
 * mmu_notifier_invalidate_range_start() before it clears it; the page is
 * freed only afterwards, when reclaim drops the last reference (rule 1,
 * invalidate before free).
 *
 * Three callers: kswapd, one thread per pool, woken by the allocator when
 * free frames fall below the low watermark and reclaiming until the high
 * one is reached; direct reclaim, from an allocation that found the pool
 * empty (the pool's reclaim hook), which reports OOM when nothing at all
 * can be freed; and proactive reclaim, a caller's target reclaimed with
 * memory.reclaim's loop.
 */
#include <errno.h>
#include <sched.h>

#include "base/trace.h"
#include "base/bug.h"
#include "base/current.h"
#include "base/kthread.h"
#include "base/report.h"
#include "base/sched_point.h"
#include "mm/internal.h"
#include "mm/swap.h"

/* Passes of shrink_node(): the first looks at 1/2^DEF_PRIORITY of each list. */
#define DEF_PRIORITY 12

struct scan_control {
	unsigned long nr_to_reclaim;
	unsigned long nr_reclaimed;
	unsigned long nr_scanned;
	bool ignore_references; /* reclaim_pages(): the caller chose the pages */
};

/*
 * Reclaim does not recurse: an allocation made while this thread reclaims
 * (a notifier callback allocating a table during try_to_unmap(), say) must
 * not enter reclaim again, where it would wait on the rmap locks it holds.
 * The kernel marks the task PF_MEMALLOC; base/'s task record has no flags
 * word, so a thread-local plays that bit of current->flags.
 */
static __thread int current_in_reclaim;

enum page_references {
	PAGEREF_RECLAIM,
	PAGEREF_RECLAIM_CLEAN,
	PAGEREF_KEEP,
	PAGEREF_ACTIVATE,
};

/*
 * Was the page used since reclaim last looked?  Any young mapping of an
 * anon page activates it; a file page needs two looks (or two mappings)
 * to be activated, as the kernel's folio_check_references() has it, so a
 * file read once passes through the inactive list.
 */
static enum page_references page_check_references(struct page *page)
{
	unsigned long vm_flags;
	int referenced_ptes = folio_referenced(page, 1, &vm_flags);
	bool referenced_page = TestClearPageReferenced(page);

	if (vm_flags & VM_LOCKED)
		return PAGEREF_ACTIVATE; /* marked mlocked: putback culls it */
	if (referenced_ptes) {
		if (PageSwapBacked(page))
			return PAGEREF_ACTIVATE;
		SetPageReferenced(page);
		if (referenced_page || referenced_ptes > 1)
			return PAGEREF_ACTIVATE;
		return PAGEREF_KEEP;
	}
	if (referenced_page && !PageSwapBacked(page))
		return PAGEREF_RECLAIM_CLEAN;
	return PAGEREF_RECLAIM;
}

/*
 * Write a dirty page out, page locked: to its slot for an anon page in the
 * swap cache, to its file otherwise.  0, or -EIO (the page stays dirty).
 */
static int pageout(struct pglist_data *pgdat, struct page *page)
{
	int err;

	if (PageAnon(page)) {
		if (!TestClearPageDirty(page))
			return 0;
		SetPageWriteback(page);
		err = swap_writepage(page);
		ClearPageWriteback(page);
		if (err) {
			SetPageDirty(page);
			return err;
		}
		atomic_long_inc(&pgdat->stats.pswpout);
		return 0;
	}
	err = write_one_page(page);
	if (!err)
		atomic_long_inc(&pgdat->stats.pgwriteback);
	return err;
}

/*
 * An unmapped page in the page cache or the swap cache that only reclaim
 * (its isolation reference) and the cache hold.  With the page unmapped
 * and locked, no new reference can come through a PTE, and lookups in the
 * caches wait for the page lock before they use the page; a reference
 * taken before the unmap (a GUP lookup, access_remote_vm() copying into the
 * page) may still be in use.  Acquire: what its holder did before dropping
 * it is done when we see it gone.
 */
static bool page_only_cached(struct page *page)
{
	return smp_load_acquire(&page->_refcount.counter) == 2 && !page_mapped(page);
}

/*
 * Take a clean, unmapped, locked page out of the swap cache or the page
 * cache, if reclaim's isolation reference and the cache's are the only
 * ones (the kernel's __remove_mapping()).  A page someone else holds, a
 * lookup in progress or a pin, stays.
 */
static bool remove_mapping(struct page *page)
{
	if (!page_only_cached(page) || PageDirty(page))
		return false;
	if (PageSwapCache(page)) {
		delete_from_swap_cache(page);
		return true;
	}
	if (!page_mapping(page))
		return false;
	delete_from_page_cache(page);
	return true;
}

/*
 * Try to free each isolated page of @page_list; the ones that stay are left
 * on it (with PG_active for those to activate) for the caller's putback.
 */
static unsigned long shrink_page_list(struct list_head *page_list, struct pglist_data *pgdat,
				      struct scan_control *sc)
{
	unsigned long nr_reclaimed = 0;
	struct page *page, *next;
	LIST_HEAD(ret_pages);

	list_for_each_entry_safe(page, next, page_list, lru) {
		list_del(&page->lru);
		atomic_long_inc(&pgdat->stats.pgscan);
		sc->nr_scanned++;
		if (!trylock_page(page))
			goto keep;
		if (PageMlocked(page) || PageWriteback(page))
			goto keep_locked;
		/* Writes through a pin must land in this page, not in a copy on swap. */
		if (page_maybe_dma_pinned(page))
			goto activate_locked;

		switch (sc->ignore_references ? PAGEREF_RECLAIM : page_check_references(page)) {
		case PAGEREF_ACTIVATE:
			goto activate_locked;
		case PAGEREF_KEEP:
			goto keep_locked;
		case PAGEREF_RECLAIM:
		case PAGEREF_RECLAIM_CLEAN:
			break;
		}

		if (PageSwapBacked(page) && !PageAnon(page))
			goto activate_locked; /* shmem: not swapped in this model (yet) */
		if (PageAnon(page) && !PageSwapCache(page)) {
			/* A full swap file (or none) is not an error: the page stays. */
			if (add_to_swap_slot(page))
				goto activate_locked;
			SetPageDirty(page);
		}

		if (page_mapped(page)) {
			sched_point("reclaim:before_unmap");
			if (!try_to_unmap(page, 0))
				goto activate_locked;
		}
		/*
		 * Someone still holds the page from before the unmap and may be
		 * writing to it: write it out on a later pass, not under that
		 * writer.  (The kernel writes it now and counts on the writer
		 * dirtying the page again once done, as __access_remote_vm()
		 * does with set_page_dirty_lock().)
		 */
		if (!page_only_cached(page))
			goto keep_locked;
		if (PageDirty(page) && pageout(pgdat, page))
			goto activate_locked;
		sched_point("reclaim:before_remove_mapping");
		if (!remove_mapping(page))
			goto keep_locked;

		unlock_page(page);
		nr_reclaimed++;
		atomic_long_inc(&pgdat->stats.pgsteal);
		/*
		 * The isolation reference: the last, unless a swap-cache lookup
		 * got in just before the removal; that thread finds the page out
		 * of the cache under its lock, drops it and reads the slot.
		 */
		put_page(page);
		continue;

	activate_locked:
		/*
		 * Kept with a slot no swap PTE refers to: give the slot back,
		 * so a page in the swap cache always has a swap PTE behind it
		 * (the kernel waits until swap runs short).
		 */
		if (PageSwapCache(page))
			try_to_free_swap(page);
		if (!PageMlocked(page) && !PageActive(page)) {
			SetPageActive(page);
			atomic_long_inc(&pgdat->stats.pgactivate);
		}
	keep_locked:
		unlock_page(page);
	keep:
		list_add(&page->lru, &ret_pages);
	}
	list_splice(&ret_pages, page_list);
	return nr_reclaimed;
}

static unsigned long shrink_inactive_list(struct pglist_data *pgdat, enum lru_list lru,
					  unsigned long nr, struct scan_control *sc)
{
	unsigned long nr_reclaimed;
	LIST_HEAD(page_list);

	atomic_inc(&pgdat->nr_reclaim_batches);
	nr_reclaimed = 0;
	if (isolate_lru_pages(&pgdat->lruvec, lru, nr, &page_list, NULL)) {
		nr_reclaimed = shrink_page_list(&page_list, pgdat, sc);
		putback_lru_pages(&page_list);
	}
	atomic_dec(&pgdat->nr_reclaim_batches);
	return nr_reclaimed;
}

/*
 * Aging: pages at the old end of an active list that were referenced since
 * the last look go back to its head, the others to the inactive list,
 * where reclaim will find them (the kernel sends even referenced anon
 * pages to the inactive list nowadays; the older rule reads more plainly).
 */
static void shrink_active_list(struct pglist_data *pgdat, enum lru_list lru, unsigned long nr)
{
	struct page *page, *next;
	unsigned long vm_flags;
	LIST_HEAD(page_list);

	atomic_inc(&pgdat->nr_reclaim_batches);
	isolate_lru_pages(&pgdat->lruvec, lru, nr, &page_list, NULL);
	list_for_each_entry_safe(page, next, &page_list, lru) {
		if (folio_referenced(page, 0, &vm_flags) && !(vm_flags & VM_LOCKED))
			continue; /* stays active */
		ClearPageActive(page);
		atomic_long_inc(&pgdat->stats.pgdeactivate);
	}
	putback_lru_pages(&page_list);
	atomic_dec(&pgdat->nr_reclaim_batches);
}

/* Pages of one list to look at in a pass of @priority: all of them at 0. */
static unsigned long scan_count(unsigned long size, int priority)
{
	return max(size >> priority, min(size, SWAP_CLUSTER_MAX));
}

/*
 * One kind (file or anon) at one priority: age the active list if the
 * inactive one is no longer, then reclaim from the inactive one a batch at
 * a time until the pass's share is scanned or the target met.
 */
static void shrink_lruvec(struct pglist_data *pgdat, enum lru_list inactive, int priority,
			  struct scan_control *sc)
{
	enum lru_list active = inactive + LRU_ACTIVE_ANON - LRU_INACTIVE_ANON;
	unsigned long counts[NR_LRU_LISTS], nr;

	lru_counts(pgdat->pool, counts);
	if (counts[active] && counts[inactive] <= counts[active])
		shrink_active_list(pgdat, active, scan_count(counts[active], priority));
	lru_counts(pgdat->pool, counts);
	nr = scan_count(counts[inactive], priority);
	while (nr && sc->nr_reclaimed < sc->nr_to_reclaim) {
		unsigned long batch = min(nr, SWAP_CLUSTER_MAX);

		sc->nr_reclaimed += shrink_inactive_list(pgdat, inactive, batch, sc);
		nr -= batch;
	}
}

/*
 * Reclaim until @nr_to_reclaim frames are freed, in passes of rising
 * priority, as the kernel's do_try_to_free_pages(): the first pass looks
 * at 1/4096 of each list, the last at all of it.  Freshly used pages are
 * activated when first met and need the aging of a later pass (which finds
 * them no longer young) to come back within reach, so a pool full of pages
 * all just touched is still reclaimed, by the deeper passes.  Anon lists
 * are scanned only while swap has a free slot.
 */
unsigned long shrink_node(struct pglist_data *pgdat, unsigned long nr_to_reclaim)
{
	struct scan_control sc = { .nr_to_reclaim = nr_to_reclaim };

	might_sleep();
	current_in_reclaim++;
	trace_begin("mm", "reclaim batch");
	for (int priority = DEF_PRIORITY; priority >= 0; priority--) {
		shrink_lruvec(pgdat, LRU_INACTIVE_FILE, priority, &sc);
		if (sc.nr_reclaimed < sc.nr_to_reclaim && nr_swap_pages_free())
			shrink_lruvec(pgdat, LRU_INACTIVE_ANON, priority, &sc);
		if (sc.nr_reclaimed >= sc.nr_to_reclaim)
			break;
	}
	trace_end("mm", "reclaim batch");
	trace_instant("mm", "reclaimed", sc.nr_reclaimed);
	current_in_reclaim--;
	return sc.nr_reclaimed;
}

/*
 * Reclaim the isolated pages of @page_list whether or not they were used
 * lately (the kernel's reclaim_pages(), behind MADV_PAGEOUT); the pages that
 * stay go back to their lists.  Returns how many were freed.
 */
unsigned long reclaim_pages(struct frame_pool *pool, struct list_head *page_list)
{
	struct scan_control sc = { .ignore_references = true };
	unsigned long nr;

	might_sleep();
	current_in_reclaim++;
	nr = shrink_page_list(page_list, pool->pgdat, &sc);
	current_in_reclaim--;
	putback_lru_pages(page_list);
	return nr;
}

/* ---- direct reclaim ---- */

#define MAX_RECLAIM_RETRIES 16	/* passes with nothing freed before OOM, as the kernel's */
#define MAX_ISOLATED_WAITS 1000 /* yields waiting for other reclaimers' batches */

/*
 * The pool's reclaim hook: an allocation that may sleep found no free
 * frame.  The frames freed land on this thread's per-CPU list, where the
 * allocator looks next.  Nothing freed and nothing left to try: report
 * OOM naming the task that wanted memory; the allocation then fails and
 * the caller returns -ENOMEM (VM_FAULT_OOM for a fault).
 */
long try_to_free_pages(struct frame_pool *pool, unsigned long nr_wanted, void *arg)
{
	struct pglist_data *pgdat = pool->pgdat;
	unsigned long nr;

	/* Already reclaiming on this thread: the allocation fails instead (see above). */
	if (current_in_reclaim)
		return 0;
	atomic_long_inc(&pgdat->stats.direct_calls);
	for (int no_progress = 0, waits = 0;;) {
		nr = shrink_node(pgdat, nr_wanted);
		if (nr)
			return nr;
		/*
		 * Nothing freed here, but kswapd or another direct reclaimer
		 * may have freed frames: that is progress too, as the kernel's
		 * should_reclaim_retry() counts what is free, not what it freed.
		 */
		if (frame_pool_nr_free(pool))
			return 1;
		/*
		 * Or they hold the pages we would have taken, isolated in a
		 * batch: what they free or put back is ours to try, so wait
		 * for them rather than count a failure.  Bounded, as two
		 * reclaimers that each found nothing may see each other.
		 */
		if (atomic_read(&pgdat->nr_reclaim_batches) && ++waits < MAX_ISOLATED_WAITS) {
			sched_yield();
			continue;
		}
		if (++no_progress == MAX_RECLAIM_RETRIES)
			break;
		sched_yield();
	}
	atomic_long_inc(&pgdat->stats.oom_reports);
	frame_pool_report_oom(pool, current->comm);
	return 0;
}

/* ---- proactive reclaim ---- */

/*
 * Reclaim @nr_to_reclaim frames, or all that reclaim can free: the
 * kernel's memory.reclaim (user_proactive_reclaim(), memory_reclaim()
 * before v6.13), which calls the reclaimer again, a quarter of what is
 * left at a time, until the target is met, and gives up after
 * MAX_RECLAIM_RETRIES calls that freed nothing.
 *
 * One shrink_node() is not enough for a working set all just used: its
 * first looks activate every young page, and the aging that makes one
 * reclaimable again (the second look finds it old) runs once a priority,
 * before that priority's reclaim, so the pages activated in the last pass
 * wait for the next call.  kswapd gets there by looping until its
 * watermark is met, direct reclaim by retrying; this is the loop for a
 * caller that names its target.  Returns how many frames were freed.
 */
unsigned long proactive_reclaim(struct pglist_data *pgdat, unsigned long nr_to_reclaim)
{
	unsigned long nr_reclaimed = 0;
	int nr_retries = MAX_RECLAIM_RETRIES;

	while (nr_reclaimed < nr_to_reclaim) {
		unsigned long batch = (nr_to_reclaim - nr_reclaimed) / 4;
		unsigned long reclaimed;

		if (signal_pending(current))
			break;
		reclaimed = shrink_node(pgdat, max(batch, SWAP_CLUSTER_MAX));
		if (!reclaimed && !nr_retries--)
			break;
		nr_reclaimed += reclaimed;
	}
	return nr_reclaimed;
}

void reclaim_enable(struct frame_pool *pool)
{
	frame_pool_set_reclaim(pool, try_to_free_pages, NULL);
}

/* ---- kswapd ---- */

static bool pgdat_balanced(struct pglist_data *pgdat)
{
	struct frame_pool *pool = pgdat->pool;

	return frame_pool_nr_free(pool) >= READ_ONCE(pool->wmark_high);
}

/* Reclaim until the high watermark is reached or a pass frees nothing. */
static void balance_pgdat(struct pglist_data *pgdat)
{
	while (!pgdat_balanced(pgdat) && !kthread_should_stop()) {
		atomic_long_inc(&pgdat->stats.kswapd_runs);
		if (!shrink_node(pgdat, SWAP_CLUSTER_MAX))
			break;
		/* What we freed sits on our per-CPU list: give it to the zone. */
		frame_pool_drain_pcp(pgdat->pool);
	}
}

static int kswapd(void *arg)
{
	struct pglist_data *pgdat = arg;

	while (!kthread_should_stop()) {
		wait_event(pgdat->kswapd_wait,
			   atomic_read(&pgdat->kswapd_wake) || kthread_should_stop());
		if (kthread_should_stop())
			break;
		atomic_set(&pgdat->kswapd_wake, 0);
		balance_pgdat(pgdat);
		sched_point("kswapd:balanced");
	}
	return 0;
}

void wakeup_kswapd(struct frame_pool *pool)
{
	struct pglist_data *pgdat = pool->pgdat;

	if (!pgdat || atomic_read(&pgdat->kswapd_wake))
		return;
	if (!atomic_xchg(&pgdat->kswapd_wake, 1))
		wake_up(&pgdat->kswapd_wait);
}

int kswapd_run(struct frame_pool *pool, unsigned long low, unsigned long high)
{
	struct pglist_data *pgdat = pool->pgdat;
	struct kthread *k;
	int ret;

	ret = frame_pool_set_watermarks(pool, low, high);
	if (ret)
		return ret;
	mutex_lock(&pgdat->kswapd_lock);
	if (!pgdat->kswapd) {
		k = kthread_run(kswapd, pgdat, "kswapd");
		if (IS_ERR(k))
			ret = PTR_ERR(k);
		else
			pgdat->kswapd = k;
	}
	mutex_unlock(&pgdat->kswapd_lock);
	return ret;
}

void kswapd_stop(struct frame_pool *pool)
{
	struct pglist_data *pgdat = pool->pgdat;
	struct kthread *k;

	mutex_lock(&pgdat->kswapd_lock);
	k = pgdat->kswapd;
	pgdat->kswapd = NULL;
	mutex_unlock(&pgdat->kswapd_lock);
	if (k)
		kthread_stop(k);
}
