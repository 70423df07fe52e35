/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The frame pool: every frame the model manages (data pages, host page
 * tables, secondary tables) comes from one mmap'd region, handed out and
 * taken back here, after the kernel's page_alloc.c.
 *
 * A pool is one zone with no buddy orders: a global free list under the
 * zone lock, and in front of it a per-"CPU" cache (the kernel's pcp lists)
 * per current->cpu, each under its own spinlock, refilled from and drained
 * to the zone a batch at a time.  Two threads on two CPU indices allocate
 * and free without sharing a lock.  Frames in per-CPU caches are free.
 *
 * Every free goes through the frame sanitizer (mm/sanitizer.h): bad page
 * state checks, then poison; every allocation verifies the poison.
 */
#ifndef NOPIN_MM_PAGE_ALLOC_H
#define NOPIN_MM_PAGE_ALLOC_H

#include <stddef.h>

#include "base/atomic.h"
#include "base/current.h"
#include "base/list.h"
#include "base/lockdep_types.h"
#include "base/spinlock.h"
#include "base/wait.h"
#include "mm/gfp.h"
#include "mm/page.h"

#define FRAME_POOL_DEFAULT_SIZE (256UL << 20)

/* frame_pool_create() flags */
#define FRAME_POOL_NO_POISON 0x1u /* skip poisoning (benchmark comparison only) */

/* Direct reclaim: returns frames freed (> 0), 0 for no progress. */
typedef long (*frame_reclaim_fn)(struct frame_pool *pool, unsigned long nr_wanted, void *arg);

/* A per-CPU cache of free frames (the kernel's struct per_cpu_pages). */
struct per_cpu_pages {
	spinlock_t lock;
	struct list_head list; /* LIFO: the frame freed last is the cache-hot one */
	int count;	       /* frames on list; written under lock, summed without */
	/*
	 * Events, counted here rather than in one shared word (vm_event_states),
	 * and under lock, so with plain stores: an atomic increment would cost
	 * each allocation and each free one more locked instruction, which
	 * after a free's poisoning waits for 4 KiB of stores to drain.
	 */
	unsigned long nr_alloc;
	unsigned long nr_free;
	unsigned long nr_poison_checks;
} __cacheline_aligned;

/*
 * lock_page() sleepers wait on a queue hashed from the page, as in the
 * kernel's page_wait_table.  @waiters replaces the kernel's PG_waiters bit:
 * unlock_page() wakes the queue only when someone sleeps on it.
 */
#define PAGE_WAIT_TABLE_BITS 6
struct page_wait_queue {
	wait_queue_head_t wq;
	atomic_t waiters;
} __cacheline_aligned;

enum sanitizer_kind {
	SAN_BAD_PAGE_STATE,
	SAN_DOUBLE_FREE,
	SAN_WRITE_AFTER_FREE,
	SAN_USE_AFTER_FREE, /* use-after-free and stale-translation reports */
	NR_SAN_KINDS
};

struct frame_pool {
	void *base;	      /* the frames, nr_frames * PAGE_SIZE bytes */
	struct page *mem_map; /* their descriptors, pfn-indexed, outside the region */
	unsigned long nr_frames;
	unsigned int flags; /* FRAME_POOL_* */
	int pcp_batch;	    /* frames moved between a pcp list and the zone at once */
	int pcp_high;	    /* a pcp list above this returns a batch */

	/* The zone: the global free list and what the allocator's slow path reads. */
	spinlock_t lock;
	struct list_head free_list;
	unsigned long nr_free;	  /* frames on free_list, under lock */
	unsigned long wmark_low;  /* kswapd wakes below this (later) */
	unsigned long wmark_high; /* and sleeps above this */
	frame_reclaim_fn reclaim;
	void *reclaim_arg;
	/* The LRU lists and the reclaimer of this "node" (mm/swap.h). */
	struct pglist_data *pgdat;
	atomic_long_t nr_alloc_failed;
	atomic_long_t nr_reclaim_calls;

	atomic_long_t san_counts[NR_SAN_KINDS]; /* reports made about this pool */

	struct per_cpu_pages pcp[NR_CPUS];
	struct page_wait_queue page_wait[1 << PAGE_WAIT_TABLE_BITS];
	/* For lockdep, every page lock of the pool is this one lock of class "page lock". */
	struct lockdep_map page_lock_map;
};

struct frame_pool_stats {
	unsigned long total;	     /* frames in the pool */
	unsigned long free;	     /* on the zone free list or in a per-CPU cache */
	unsigned long pcp_free;	     /* of which in per-CPU caches */
	unsigned long allocated;     /* allocations minus frees */
	unsigned long alloc_calls;   /* successful allocations */
	unsigned long alloc_failed;  /* allocations that returned NULL */
	unsigned long free_calls;    /* frames freed (double frees excluded) */
	unsigned long poison_checks; /* allocations that verified the poison */
	unsigned long reclaim_calls; /* direct reclaim hook invocations */
	unsigned long wmark_low;
	unsigned long wmark_high;
};

struct frame_pool *frame_pool_create(size_t bytes, unsigned int flags);
void frame_pool_destroy(struct frame_pool *pool);
void frame_pool_set_reclaim(struct frame_pool *pool, frame_reclaim_fn reclaim, void *arg);
int frame_pool_set_watermarks(struct frame_pool *pool, unsigned long low, unsigned long high);
void frame_pool_stats(struct frame_pool *pool, struct frame_pool_stats *stats);
unsigned long frame_pool_nr_free(struct frame_pool *pool);
void frame_pool_drain_pcp(struct frame_pool *pool);
long frame_pool_count_free_lists(struct frame_pool *pool);
void frame_pool_report_oom(struct frame_pool *pool, const char *who);

struct page *alloc_frame(struct frame_pool *pool, enum frame_state state, gfp_t gfp);
void free_frame(struct page *page);

static inline struct page *alloc_page(struct frame_pool *pool, gfp_t gfp)
{
	return alloc_frame(pool, FRAME_DATA, gfp);
}

static inline void __free_page(struct page *page)
{
	free_frame(page);
}

/* ---- frame <-> descriptor <-> address (the kernel's FLATMEM memory model) ---- */

static inline unsigned long page_to_pfn(const struct page *page)
{
	return page - page->pool->mem_map;
}

static inline struct page *pfn_to_page(struct frame_pool *pool, unsigned long pfn)
{
	return pool->mem_map + pfn;
}

static inline bool pfn_valid(const struct frame_pool *pool, unsigned long pfn)
{
	return pfn < pool->nr_frames;
}

static inline void *page_address(const struct page *page)
{
	return (char *)page->pool->base + (page_to_pfn(page) << PAGE_SHIFT);
}

static inline struct page *virt_to_page(struct frame_pool *pool, const void *addr)
{
	unsigned long off = (const char *)addr - (const char *)pool->base;

	return pfn_to_page(pool, off >> PAGE_SHIFT);
}

static inline bool frame_pool_contains(const struct frame_pool *pool, const void *addr)
{
	unsigned long off = (const char *)addr - (const char *)pool->base;

	return off < pool->nr_frames << PAGE_SHIFT;
}

/* ---- the page lock (PG_locked) ---- */

void lock_page(struct page *page);
struct page_wait_queue *page_waitqueue(struct page *page);
bool trylock_page(struct page *page);
void unlock_page(struct page *page);

#endif
