// SPDX-License-Identifier: GPL-2.0
/*
 * The frame pool: one zone of order-0 frames with per-CPU caches in front,
 * after the kernel's mm/page_alloc.c.
 *
 * Allocation takes the first frame of this CPU's pcp list, refilling the
 * list with a batch from the zone when it is empty; freeing puts the frame
 * at the head of this CPU's list and returns a batch from the tail once the
 * list grows past pcp_high.  Lock order: a pcp lock, then the zone lock.
 * Only when both this CPU's list and the zone are empty does an allocation
 * drain every other CPU's list, then, if its gfp allows, ask the reclaim
 * hook for frames (direct reclaim).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/bug.h"
#include "base/err.h"
#include "base/lockdep.h"
#include "base/preempt.h"
#include "base/report.h"
#include "base/sched_point.h"
#include "mm/page_alloc.h"
#include "mm/sanitizer.h"
#include "mm/swap.h"

#define PCP_BATCH_MAX 32
/* Direct reclaim asks for this many frames (the kernel's SWAP_CLUSTER_MAX). */
#define DIRECT_RECLAIM_NR 32UL
/* Rounds of reclaim that made progress yet left the pool empty, before failing. */
#define MAX_RECLAIM_RETRIES 16

/*
 * The class of every pool's page lock.  Global like the kernel's static
 * lock_class_keys: lockdep names a class by the address of its key.
 */
static struct lock_class_key page_lock_key;

static struct per_cpu_pages *this_cpu_pcp(struct frame_pool *pool)
{
	return &pool->pcp[(unsigned int)current->cpu % NR_CPUS];
}

/* ---- moving frames between a pcp list and the zone ---- */

/*
 * Refill @pcp with up to a batch from the zone.  Called under pcp->lock.
 * True if the zone is left below its low watermark: kswapd should run.
 */
static bool rmqueue_bulk(struct frame_pool *pool, struct per_cpu_pages *pcp)
{
	bool low;
	int moved = 0;

	spin_lock(&pool->lock);
	while (moved < pool->pcp_batch && !list_empty(&pool->free_list)) {
		list_move_tail(pool->free_list.next, &pcp->list);
		moved++;
	}
	pool->nr_free -= moved;
	WRITE_ONCE(pcp->count, pcp->count + moved);
	low = pool->nr_free < pool->wmark_low;
	spin_unlock(&pool->lock);
	return low;
}

/* Return the @nr coldest frames of @pcp to the zone.  Called under pcp->lock. */
static void free_pcppages_bulk(struct frame_pool *pool, struct per_cpu_pages *pcp, int nr)
{
	spin_lock(&pool->lock);
	for (int i = 0; i < nr; i++)
		list_move(pcp->list.prev, &pool->free_list);
	pool->nr_free += nr;
	WRITE_ONCE(pcp->count, pcp->count - nr);
	spin_unlock(&pool->lock);
}

static void drain_pcp(struct frame_pool *pool, struct per_cpu_pages *pcp)
{
	spin_lock(&pcp->lock);
	if (pcp->count)
		free_pcppages_bulk(pool, pcp, pcp->count);
	spin_unlock(&pcp->lock);
}

/* Give every per-CPU cache back to the zone (the kernel's drain_all_pages()). */
void frame_pool_drain_pcp(struct frame_pool *pool)
{
	for (int cpu = 0; cpu < NR_CPUS; cpu++)
		drain_pcp(pool, &pool->pcp[cpu]);
}

/* ---- allocation ---- */

static struct page *rmqueue(struct frame_pool *pool)
{
	struct per_cpu_pages *pcp = this_cpu_pcp(pool);
	bool low = false;
	struct page *page;

	spin_lock(&pcp->lock);
	if (list_empty(&pcp->list))
		low = rmqueue_bulk(pool, pcp);
	page = list_first_entry_or_null(&pcp->list, struct page, lru);
	if (page) {
		list_del(&page->lru);
		WRITE_ONCE(pcp->count, pcp->count - 1);
		WRITE_ONCE(pcp->nr_alloc, pcp->nr_alloc + 1);
		/* prep_new_page() checks it; counted here, under the lock. */
		if (page->poisoned)
			WRITE_ONCE(pcp->nr_poison_checks, pcp->nr_poison_checks + 1);
	}
	spin_unlock(&pcp->lock);
	/* Checked once per batch taken from the zone, as the kernel's zone_watermark_ok(). */
	if (unlikely(low))
		wakeup_kswapd(pool);
	return page;
}

static long reclaim_frames(struct frame_pool *pool)
{
	frame_reclaim_fn reclaim;
	void *arg;

	spin_lock(&pool->lock);
	reclaim = pool->reclaim;
	arg = pool->reclaim_arg;
	spin_unlock(&pool->lock);
	if (!reclaim)
		return 0;
	atomic_long_inc(&pool->nr_reclaim_calls);
	return reclaim(pool, DIRECT_RECLAIM_NR, arg);
}

/*
 * Direct reclaim: the caller may sleep, so let the hook free frames and try
 * again while it makes progress.  Frames it frees land on the reclaiming
 * thread's pcp list, which may be ours or not: drain before retrying.
 */
static struct page *alloc_pages_direct_reclaim(struct frame_pool *pool, gfp_t gfp)
{
	for (int retries = 0; retries < MAX_RECLAIM_RETRIES; retries++) {
		struct page *page;

		if (reclaim_frames(pool) <= 0)
			return NULL;
		page = rmqueue(pool);
		if (!page) {
			frame_pool_drain_pcp(pool);
			page = rmqueue(pool);
		}
		if (page || (gfp & __GFP_NORETRY))
			return page;
	}
	return NULL;
}

static struct page *alloc_pages_slowpath(struct frame_pool *pool, gfp_t gfp)
{
	struct page *page;

	/* Frames cached by other CPUs are free too. */
	frame_pool_drain_pcp(pool);
	page = rmqueue(pool);
	if (page || !gfpflags_allow_blocking(gfp))
		return page;
	return alloc_pages_direct_reclaim(pool, gfp);
}

static void prep_new_page(struct frame_pool *pool, struct page *page, enum frame_state state,
			  gfp_t gfp)
{
	check_new_page(page);
	page->poisoned = false;
	set_page_count(page, 1);
	WRITE_ONCE(page->state, state);
	if (gfp & __GFP_ZERO)
		memset(page_address(page), 0, PAGE_SIZE);
}

/**
 * alloc_frame - allocate one frame
 * @pool: the pool
 * @state: what the frame will hold (FRAME_DATA, FRAME_PGTABLE, FRAME_SECONDARY)
 * @gfp: GFP_KERNEL (may reclaim and sleep), GFP_NOWAIT/GFP_ATOMIC, | __GFP_ZERO
 *
 * Returns the frame's page with refcount 1, mapcount 0, no flags and no
 * mapping, or NULL if the pool is empty (and reclaim, if allowed, found
 * nothing).  Reporting out-of-memory is the caller's business.
 */
struct page *alloc_frame(struct frame_pool *pool, enum frame_state state, gfp_t gfp)
{
	struct page *page;

	if (WARN_ON(state == FRAME_FREE || state >= NR_FRAME_STATES))
		return NULL;
	if (gfpflags_allow_blocking(gfp))
		might_sleep();
	page = rmqueue(pool);
	if (unlikely(!page))
		page = alloc_pages_slowpath(pool, gfp);
	if (unlikely(!page)) {
		atomic_long_inc(&pool->nr_alloc_failed);
		return NULL;
	}
	prep_new_page(pool, page, state, gfp);
	return page;
}

/* ---- freeing ---- */

static void free_to_pcp(struct frame_pool *pool, struct page *page)
{
	struct per_cpu_pages *pcp = this_cpu_pcp(pool);

	spin_lock(&pcp->lock);
	list_add(&page->lru, &pcp->list);
	WRITE_ONCE(pcp->count, pcp->count + 1);
	WRITE_ONCE(pcp->nr_free, pcp->nr_free + 1);
	if (pcp->count > pool->pcp_high)
		free_pcppages_bulk(pool, pcp, pool->pcp_batch);
	spin_unlock(&pcp->lock);
}

/*
 * The final free of a frame whose refcount is already 0; the caller held
 * 1 + @extra_refs references (only free_frame() can see extras).
 *
 * The bad page checks come first, while the descriptor still shows the
 * state it was freed in.  The exchange of state to FRAME_FREE is the point
 * of no return: of two racing frees of one frame exactly one wins it, and
 * the loser reports a double free without touching the free lists.  Then
 * the generation moves on, so every stamp of the frame goes stale, and the
 * frame is poisoned before any allocator can see it again.
 */
static void free_unref_page(struct page *page, int extra_refs, const char *how)
{
	struct frame_pool *pool = page->pool;

	/* An anon page keeps its anon_vma pointer to the end, as the kernel's does. */
	if (PageAnon(page))
		WRITE_ONCE(page->mapping, NULL);
	free_page_is_bad(page, extra_refs);
	WRITE_ONCE(page->flags, 0);
	WRITE_ONCE(page->index, 0);
	WRITE_ONCE(page->private, 0);
	if (xchg(&page->state, FRAME_FREE) == FRAME_FREE) {
		report_double_free(page, how);
		return;
	}
	record_free_site(page);
	WRITE_ONCE(page->gen, page->gen + 1);
	if (!(pool->flags & FRAME_POOL_NO_POISON))
		poison_page(page);
	free_to_pcp(pool, page);
}

/* put_page() dropped the last reference. */
void __put_page(struct page *page)
{
	/* Still on an LRU list: no isolation can take it now, so take it off. */
	if (PageLRU(page))
		__page_cache_release(page);
	free_unref_page(page, 0, "put_page");
}

/**
 * free_frame - drop the last reference to a frame and free it (also __free_page)
 *
 * Departs from the kernel's __free_page(), which is a plain put: here the
 * caller asserts that its reference is the last one, and any other (a
 * mapping's, a pin's, a lookup's) is reported as a bad page state.  A frame
 * already free, or whose references another free took first, is a double
 * free.
 */
void free_frame(struct page *page)
{
	int refs;

	if (unlikely(page_frame_state(page) == FRAME_FREE)) {
		report_double_free(page, "free_frame");
		return;
	}
	sched_point("free_frame:checked");
	/* An exchange, so that a racing get_page_unless_zero() fails from here on. */
	refs = atomic_xchg(&page->_refcount, 0);
	if (unlikely(!refs)) {
		report_double_free(page, "free_frame");
		return;
	}
	free_unref_page(page, refs - 1, "free_frame");
}

/* ---- the page lock ---- */

/* The queue lock_page() sleeps on for @page (shared with other pages). */
struct page_wait_queue *page_waitqueue(struct page *page)
{
	unsigned long hash = page_to_pfn(page) * 0x61c8864680b583ebUL; /* hash_64() */

	return &page->pool->page_wait[hash >> (64 - PAGE_WAIT_TABLE_BITS)];
}

bool trylock_page(struct page *page)
{
	if (test_and_set_bit_lock(PG_locked, &page->flags))
		return false;
	lock_acquire(&page->pool->page_lock_map, 0, 1, 0, NULL, _THIS_SITE);
	return true;
}

/*
 * The waiter announces itself in q->waiters before it looks at PG_locked,
 * and unlock_page() clears PG_locked before it looks at q->waiters, each
 * with a full barrier between: either the waiter sees the page unlocked, or
 * the unlocker sees the waiter and wakes the queue.
 */
static void lock_page_wait(struct page *page)
{
	struct page_wait_queue *q = page_waitqueue(page);

	atomic_inc(&q->waiters);
	smp_mb__after_atomic();
	while (test_and_set_bit_lock(PG_locked, &page->flags))
		wait_event(q->wq, !PageLocked(page));
	atomic_dec(&q->waiters);
}

void lock_page(struct page *page)
{
	might_sleep();
	/* Told before waiting, so an order inversion is reported even when it deadlocks. */
	lock_acquire(&page->pool->page_lock_map, 0, 0, 0, NULL, _THIS_SITE);
	if (unlikely(test_and_set_bit_lock(PG_locked, &page->flags)))
		lock_page_wait(page);
}

void unlock_page(struct page *page)
{
	struct page_wait_queue *q = page_waitqueue(page);

	if (WARN_ON(!PageLocked(page)))
		return;
	lock_release(&page->pool->page_lock_map, _THIS_SITE);
	clear_bit_unlock(PG_locked, &page->flags);
	smp_mb__after_atomic();
	if (atomic_read(&q->waiters))
		wake_up_all(&q->wq);
}

/* ---- the pool ---- */

static int pool_size_check(size_t bytes, unsigned int flags)
{
	if (!bytes) {
		fprintf(stderr, "frame pool: size 0: a pool needs at least one 4 KiB frame\n");
		return -EINVAL;
	}
	if (!IS_ALIGNED(bytes, PAGE_SIZE)) {
		fprintf(stderr, "frame pool: size %zu is not a whole number of 4 KiB frames\n",
			bytes);
		return -EINVAL;
	}
	if (flags & ~FRAME_POOL_NO_POISON) {
		fprintf(stderr, "frame pool: unknown flags %#x\n", flags);
		return -EINVAL;
	}
	return 0;
}

static void pool_init_pcp(struct frame_pool *pool)
{
	/* Small pools get small batches, so that a few frames are not all stuck in one cache. */
	pool->pcp_batch = (int)max(1UL, min((unsigned long)PCP_BATCH_MAX, pool->nr_frames / 64));
	pool->pcp_high = 4 * pool->pcp_batch;
	for (int cpu = 0; cpu < NR_CPUS; cpu++) {
		spin_lock_init(&pool->pcp[cpu].lock);
		INIT_LIST_HEAD(&pool->pcp[cpu].list);
	}
}

static void pool_init_frames(struct frame_pool *pool)
{
	/* In pfn order, so a fresh pool hands out pfn 0 first. */
	for (unsigned long pfn = 0; pfn < pool->nr_frames; pfn++) {
		struct page *page = &pool->mem_map[pfn];

		page->pool = pool;
		page->state = FRAME_FREE;
		list_add_tail(&page->lru, &pool->free_list);
	}
	pool->nr_free = pool->nr_frames;
}

static struct frame_pool *pool_alloc(unsigned long nr_frames)
{
	struct frame_pool *pool = aligned_alloc(64, ALIGN(sizeof(*pool), 64));

	if (!pool)
		return NULL;
	memset(pool, 0, sizeof(*pool));
	pool->nr_frames = nr_frames;
	pool->mem_map = calloc(nr_frames, sizeof(struct page));
	/* Anonymous memory reads as zero until written: a fresh frame needs no poison check. */
	pool->base = mmap(NULL, nr_frames << PAGE_SHIFT, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (!pool->mem_map || pool->base == MAP_FAILED) {
		if (pool->base != MAP_FAILED)
			munmap(pool->base, nr_frames << PAGE_SHIFT);
		free(pool->mem_map);
		free(pool);
		return NULL;
	}
	return pool;
}

/**
 * frame_pool_create - map a pool of @bytes / 4 KiB frames
 * @bytes: a nonzero multiple of PAGE_SIZE (FRAME_POOL_DEFAULT_SIZE is 256 MiB)
 * @flags: FRAME_POOL_NO_POISON to skip poisoning (benchmarks only)
 *
 * Returns the pool, ERR_PTR(-EINVAL) for a bad size or flag (saying why on
 * stderr), or ERR_PTR(-ENOMEM).
 */
struct frame_pool *frame_pool_create(size_t bytes, unsigned int flags)
{
	struct frame_pool *pool;
	int ret = pool_size_check(bytes, flags);

	if (ret)
		return ERR_PTR(ret);
	pool = pool_alloc(bytes >> PAGE_SHIFT);
	if (!pool)
		return ERR_PTR(-ENOMEM);
	pool->flags = flags;
	spin_lock_init(&pool->lock);
	INIT_LIST_HEAD(&pool->free_list);
	pool_init_pcp(pool);
	pool_init_frames(pool);
	for (size_t i = 0; i < ARRAY_SIZE(pool->page_wait); i++)
		init_waitqueue_head(&pool->page_wait[i].wq);
	lockdep_init_map(&pool->page_lock_map, "page lock", &page_lock_key, 0);
	pool->pgdat = pgdat_alloc(pool);
	if (!pool->pgdat) {
		frame_pool_destroy(pool);
		return ERR_PTR(-ENOMEM);
	}
	return pool;
}

static void report_leaked_frames(struct frame_pool *pool, unsigned long leaked)
{
	unsigned long shown = 0;

	report_start(REPORT_SANITIZER, "frames leaked: %lu of %lu frames still allocated", leaked,
		     pool->nr_frames);
	for (unsigned long pfn = 0; pfn < pool->nr_frames && shown < 8; pfn++) {
		struct page *page = &pool->mem_map[pfn];

		if (page->state == FRAME_FREE)
			continue;
		report_printf("  pfn %lu: %s, refcount %d, mapcount %d\n", pfn,
			      frame_state_name(page->state), page_ref_count(page),
			      page_mapcount(page));
		shown++;
	}
	if (shown < leaked)
		report_printf("  ... and %lu more\n", leaked - shown);
	report_end();
}

/* Unmap the pool; every frame should be free by now, the others are reported. */
void frame_pool_destroy(struct frame_pool *pool)
{
	unsigned long leaked = 0;

	if (IS_ERR_OR_NULL(pool))
		return;
	pgdat_free(pool->pgdat); /* stops the reclaimer first */
	for (unsigned long pfn = 0; pfn < pool->nr_frames; pfn++)
		leaked += page_frame_state(&pool->mem_map[pfn]) != FRAME_FREE;
	if (leaked)
		report_leaked_frames(pool, leaked);
	munmap(pool->base, pool->nr_frames << PAGE_SHIFT);
	free(pool->mem_map);
	free(pool);
}

void frame_pool_set_reclaim(struct frame_pool *pool, frame_reclaim_fn reclaim, void *arg)
{
	spin_lock(&pool->lock);
	pool->reclaim = reclaim;
	pool->reclaim_arg = arg;
	spin_unlock(&pool->lock);
}

int frame_pool_set_watermarks(struct frame_pool *pool, unsigned long low, unsigned long high)
{
	if (low > high || high > pool->nr_frames)
		return -EINVAL;
	spin_lock(&pool->lock);
	pool->wmark_low = low;
	pool->wmark_high = high;
	spin_unlock(&pool->lock);
	return 0;
}

/*
 * Frames move between the zone and a pcp list only under the zone lock, so
 * with it held the zone count plus every list's count is exact but for
 * allocations and frees in flight.
 */
void frame_pool_stats(struct frame_pool *pool, struct frame_pool_stats *stats)
{
	unsigned long allocs = 0, frees = 0, checks = 0, pcp_free = 0;

	spin_lock(&pool->lock);
	for (int cpu = 0; cpu < NR_CPUS; cpu++) {
		struct per_cpu_pages *pcp = &pool->pcp[cpu];

		pcp_free += READ_ONCE(pcp->count);
		allocs += READ_ONCE(pcp->nr_alloc);
		frees += READ_ONCE(pcp->nr_free);
		checks += READ_ONCE(pcp->nr_poison_checks);
	}
	*stats = (struct frame_pool_stats){
		.total = pool->nr_frames,
		.free = pool->nr_free + pcp_free,
		.pcp_free = pcp_free,
		.allocated = allocs - frees,
		.alloc_calls = allocs,
		.alloc_failed = atomic_long_read(&pool->nr_alloc_failed),
		.free_calls = frees,
		.poison_checks = checks,
		.reclaim_calls = atomic_long_read(&pool->nr_reclaim_calls),
		.wmark_low = pool->wmark_low,
		.wmark_high = pool->wmark_high,
	};
	spin_unlock(&pool->lock);
}

unsigned long frame_pool_nr_free(struct frame_pool *pool)
{
	struct frame_pool_stats stats;

	frame_pool_stats(pool, &stats);
	return stats.free;
}

static long count_free_list(struct list_head *list, long expected)
{
	struct page *page;
	long n = 0;

	list_for_each_entry(page, list, lru) {
		if (WARN_ON(page_frame_state(page) != FRAME_FREE))
			return -EUCLEAN;
		n++;
	}
	return WARN_ON(n != expected) ? -EUCLEAN : n;
}

/*
 * Walk every free list and count the frames on it, checking that each is
 * FRAME_FREE and that each list's count is right: -EUCLEAN (and a warning)
 * if not.  Only meaningful while nobody allocates or frees.
 */
long frame_pool_count_free_lists(struct frame_pool *pool)
{
	long total = 0, n;

	for (int cpu = 0; cpu < NR_CPUS; cpu++) {
		struct per_cpu_pages *pcp = &pool->pcp[cpu];

		spin_lock(&pcp->lock);
		n = count_free_list(&pcp->list, pcp->count);
		spin_unlock(&pcp->lock);
		if (n < 0)
			return n;
		total += n;
	}
	spin_lock(&pool->lock);
	n = count_free_list(&pool->free_list, pool->nr_free);
	spin_unlock(&pool->lock);
	return n < 0 ? n : total + n;
}

/* An allocation nothing could satisfy: say who wanted memory and what the pool holds. */
void frame_pool_report_oom(struct frame_pool *pool, const char *who)
{
	struct frame_pool_stats s;

	frame_pool_stats(pool, &s);
	report_start(REPORT_OOM, "Out of memory: %s could not get a frame", who);
	report_printf("  pool: %lu frames, %lu free (%lu in per-CPU caches), %lu allocated\n",
		      s.total, s.free, s.pcp_free, s.allocated);
	report_printf("  allocations: %lu, failed %lu; frees %lu; direct reclaim calls %lu\n",
		      s.alloc_calls, s.alloc_failed, s.free_calls, s.reclaim_calls);
	report_printf("  watermarks: low %lu, high %lu\n", s.wmark_low, s.wmark_high);
	dump_stack();
	report_end();
}
