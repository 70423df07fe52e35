/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Memory pressure: the LRU lists of a frame pool [mm/swap.c], swap files
 * and their slots [mm/swapfile.c], the swap cache and swap-in
 * [mm/swap_state.c], and reclaim - shrinking the lists to a target, the
 * background reclaimer and direct reclaim [mm/vmscan.c].  After the
 * kernel's swap.h, swapops.h and vmscan.c.
 *
 * A frame pool plays one NUMA node: it has one set of LRU lists and one
 * reclaimer thread (the kernel's struct pglist_data, "pgdat").
 *
 * Lock order (everything here is below the page lock):
 *   page lock
 *     mapping->i_mmap_rwsem / anon_vma->root->rwsem   (the rmap walk)
 *       PTE lock
 *         lruvec->lru_lock, swap_info->lock           (leaves)
 */
#ifndef NOPIN_MM_SWAP_H
#define NOPIN_MM_SWAP_H

#include "base/atomic.h"
#include "base/list.h"
#include "base/mutex.h"
#include "base/spinlock.h"
#include "base/wait.h"
#include "mm/mm.h"
#include "mm/pgtable.h"

/* ---- LRU lists [mm/swap.c] ---- */

enum lru_list {
	LRU_INACTIVE_ANON,
	LRU_ACTIVE_ANON,
	LRU_INACTIVE_FILE,
	LRU_ACTIVE_FILE,
	LRU_UNEVICTABLE,
	NR_LRU_LISTS
};

/*
 * The lists, under lru_lock.  A page is on a list iff PG_lru; PG_active and
 * PG_unevictable of a page on a list change only under lru_lock, so the list
 * a page is on can always be computed from its flags (page_lru()).  The
 * lists hold no reference: the final put_page() takes a page off.
 */
struct lruvec {
	spinlock_t lru_lock;
	struct list_head lists[NR_LRU_LISTS]; /* the head is the young end */
	unsigned long nr_pages[NR_LRU_LISTS];
};

/* Reclaim and swap events of one node (the kernel's vm_event_states). */
struct reclaim_stats {
	atomic_long_t pgscan;	  /* pages looked at by shrink_page_list() */
	atomic_long_t pgsteal;	  /* of which freed */
	atomic_long_t pgactivate; /* moved to an active list */
	atomic_long_t pgdeactivate;
	atomic_long_t pswpout;	   /* pages written to swap */
	atomic_long_t pswpin;	   /* pages read from swap */
	atomic_long_t pgwriteback; /* dirty file pages written back by reclaim */
	atomic_long_t kswapd_runs; /* balance_pgdat() rounds */
	atomic_long_t direct_calls;
	atomic_long_t oom_reports;
};

struct kthread;

/* One node: a pool's LRU lists and its reclaimer, the kernel's pglist_data. */
struct pglist_data {
	struct frame_pool *pool;
	struct lruvec lruvec;
	/* kswapd: sleeps on kswapd_wait until the pool falls below its low watermark. */
	wait_queue_head_t kswapd_wait;
	atomic_t kswapd_wake; /* set by wakeup_kswapd(), cleared by kswapd */
	struct kthread *kswapd;
	struct mutex kswapd_lock; /* kswapd_run()/kswapd_stop() */
	/*
	 * Reclaim batches under way, each holding pages isolated from the
	 * LRU: a direct reclaimer that found nothing waits for them (the
	 * kernel throttles on its NR_ISOLATED counts instead).
	 */
	atomic_t nr_reclaim_batches;
	struct reclaim_stats stats;
};

/* [mm/swap.c] node setup, called by frame_pool_create()/frame_pool_destroy(). */
struct pglist_data *pgdat_alloc(struct frame_pool *pool);
void pgdat_free(struct pglist_data *pgdat);

/* The list @page belongs on, from its flags. */
static inline enum lru_list page_lru(const struct page *page)
{
	enum lru_list lru;

	if (PageUnevictable(page))
		return LRU_UNEVICTABLE;
	lru = PageSwapBacked(page) ? LRU_INACTIVE_ANON : LRU_INACTIVE_FILE;
	if (PageActive(page))
		lru += LRU_ACTIVE_ANON - LRU_INACTIVE_ANON;
	return lru;
}

/* A new page (the caller holds a reference) joins its inactive list, unless it is on one. */
void lru_cache_add(struct page *page);
/* The same, on the active list: a page just faulted back from swap is in use. */
void lru_cache_add_active(struct page *page);
/* Accessed through a path without a PTE (read(), a GUP lookup): the second time activates. */
void mark_page_accessed(struct page *page);
/* Move a page on an inactive list to its active list. */
void activate_page(struct page *page);
/* PG_mlocked changed: move the page to or from the unevictable list. */
void lru_update_evictable(struct page *page);
/*
 * Take a page the caller holds a reference on off its list, with a reference
 * of its own: 0, or -EBUSY if it was not on one.  Page may be locked or not.
 */
int isolate_lru_page(struct page *page);
/* Put an isolated page back on the list its flags name, and drop the isolation reference. */
void putback_lru_page(struct page *page);
void putback_lru_pages(struct list_head *pages);
/*
 * Move up to @nr pages from the old end of @lru to @dst, each with a
 * reference and PG_lru cleared; returns how many, *@scanned how many looked at.
 */
unsigned long isolate_lru_pages(struct lruvec *lruvec, enum lru_list lru, unsigned long nr,
				struct list_head *dst, unsigned long *scanned);
/* The final put_page() of a page still on a list: take it off. [put_page()] */
void __page_cache_release(struct page *page);
/* Pages on each list right now. */
void lru_counts(struct frame_pool *pool, unsigned long nr[NR_LRU_LISTS]);

/* ---- swap files [mm/swapfile.c] ---- */

/*
 * swap_map[offset]: how many swap PTEs (and shmem entries, none yet) refer
 * to the slot, plus SWAP_HAS_CACHE while a page of the swap cache stands
 * for it.  The kernel keeps a byte with continuation pages past 0x3e; a
 * 16-bit count here has room enough.
 */
#define SWAP_HAS_CACHE 0x8000
#define SWAP_MAP_MAX 0x7fff

struct swap_info_struct {
	spinlock_t lock; /* swap_map, swap cache, counters */
	unsigned int type;
	int fd;
	char *path;
	unsigned long max;	    /* slots, slot 0 included (the header, never handed out) */
	unsigned long inuse_pages;  /* slots with a nonzero swap_map */
	unsigned long cluster_next; /* next-fit scan starts here */
	unsigned short *swap_map;
	/*
	 * The swap cache: the page standing for each slot, under lock; set
	 * exactly when SWAP_HAS_CACHE is.  The kernel keeps an address_space
	 * (an xarray) per 64 MiB of swap.
	 */
	struct page **swap_cache;
	atomic_long_t nr_reads, nr_writes;
	/* The first failed slot I/O (-errno, its byte offset), and how many failed; under lock. */
	int io_error;
	bool io_error_write;
	off_t io_error_pos;
	unsigned long nr_io_errors;
};

/*
 * Open or create @path as a swap file of @nr_pages slots, created sparse
 * (ftruncate, no writes); returns its type (>= 0) or -errno.  Each slot is
 * a page at offset slot * PAGE_SIZE; slot 0 is never used, as the kernel's
 * header page.
 */
int swapon(const char *path, unsigned long nr_pages);
/*
 * The first slot read or write that failed on any swap file, for the
 * message of a run it ended: "a write-back of swap file PATH at offset
 * 0x...: No space left on device (N failed)" into @buf; false if none did.
 */
bool swap_describe_error(char *buf, size_t len);
/*
 * Close swap file @type.  Pages left in the swap cache with no swap PTE
 * behind them are dropped first, as the kernel's try_to_unuse() does; a
 * slot a PTE still holds makes it -EBUSY (the kernel's swapoff would swap
 * every such page back in; here the caller frees its mms first).  May sleep.
 */
int swapoff(int type);
struct swap_info_struct *swp_swap_info(swp_entry_t entry);
/* Slots in use on every swap file, and slots free. */
unsigned long nr_swap_pages_used(void);
unsigned long nr_swap_pages_free(void);

/*
 * A free slot, returned with SWAP_HAS_CACHE set and @page in the swap cache
 * for it (PG_swapcache, page->private): 0, or -ENOSPC when every swap file
 * is full (or none is on).  Page locked.
 */
int add_to_swap_slot(struct page *page);
/* fork: one more swap PTE refers to @entry.  0, or -ENOENT if the slot is free. */
int swap_duplicate(swp_entry_t entry);
/* A swap PTE referring to @entry is gone (mapped back in): drop its count. */
void swap_free(swp_entry_t entry);
/*
 * zap: a swap PTE is gone for good; drop its count and, if only the swap
 * cache still holds the slot and nobody maps its page, free that too.
 */
void free_swap_and_cache(swp_entry_t entry);
/* PTE references to @entry (SWAP_HAS_CACHE not counted). */
int __swap_count(swp_entry_t entry);
/* Write @page (locked, in the swap cache) to its slot; 0 or -EIO. */
int swap_writepage(struct page *page);
/* Read @page's slot into it (locked, in the swap cache); 0 or -EIO. */
int swap_readpage(struct page *page);

/* ---- the swap cache [mm/swap_state.c] ---- */

static inline swp_entry_t page_swap_entry(const struct page *page)
{
	return (swp_entry_t){ READ_ONCE(page->private) };
}
/* The page of the swap cache standing for @entry, with a reference, or NULL. */
struct page *lookup_swap_cache(swp_entry_t entry);
/*
 * The page for @entry, from the swap cache or read from the swap file into
 * a new frame: with a reference, unlocked, uptodate unless the read failed.
 * NULL if the slot was freed meanwhile (the PTE that named it is gone) or
 * there is no memory (*@oom).  Two threads faulting one entry end with one
 * page: the slot's SWAP_HAS_CACHE is taken by whoever inserts first.
 */
struct page *read_swap_cache_async(swp_entry_t entry, struct frame_pool *pool, bool *oom);
/* Take a locked page out of the swap cache: drops SWAP_HAS_CACHE and the cache's reference. */
void delete_from_swap_cache(struct page *page);
/*
 * Locked page: if no swap PTE refers to its slot any more, leave the swap
 * cache and free the slot.  The page becomes dirty: its only copy is now
 * in memory.  True if it did.
 */
bool try_to_free_swap(struct page *page);

/* ---- reclaim [mm/vmscan.c] ---- */

#define SWAP_CLUSTER_MAX 32UL

/*
 * Reclaim up to @nr_to_reclaim frames from @pool's LRU lists: clean file
 * pages dropped, dirty ones written back first, anon pages to swap.
 * Returns frames freed (0: nothing could be).
 */
unsigned long shrink_node(struct pglist_data *pgdat, unsigned long nr_to_reclaim);
/*
 * Reclaim until @nr_to_reclaim frames are freed or reclaim stops making
 * progress, calling shrink_node() again as the kernel's memory.reclaim
 * does.  Returns how many were freed.
 */
unsigned long proactive_reclaim(struct pglist_data *pgdat, unsigned long nr_to_reclaim);
/*
 * Reclaim the isolated pages of @page_list (isolate_lru_page()) however
 * recently used (the kernel's reclaim_pages(), behind MADV_PAGEOUT); the
 * ones that stay are put back.  Returns frames freed.
 */
unsigned long reclaim_pages(struct frame_pool *pool, struct list_head *page_list);
/*
 * Direct reclaim, installed as the pool's reclaim hook by
 * reclaim_enable(): reclaims for an allocation that found the pool empty,
 * and reports OOM (REPORT_OOM, naming the task) when nothing can be freed.
 */
long try_to_free_pages(struct frame_pool *pool, unsigned long nr_wanted, void *arg);
/* Turn on direct reclaim for @pool (off by default: a bare pool fails when empty). */
void reclaim_enable(struct frame_pool *pool);
/*
 * Start @pool's background reclaimer ("kswapd/<owner>"): woken when an
 * allocation leaves fewer than @low frames free, it reclaims until @high are.
 * 0 or -errno.  kswapd_stop() stops it (frame_pool_destroy() too).
 */
int kswapd_run(struct frame_pool *pool, unsigned long low, unsigned long high);
void kswapd_stop(struct frame_pool *pool);
/* From the allocator: free frames fell below the low watermark. [alloc_frame()] */
void wakeup_kswapd(struct frame_pool *pool);

#endif
