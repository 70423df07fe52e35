// SPDX-License-Identifier: GPL-2.0
/*
 * The frame pool: sizes, what a fresh frame looks like, accounting with
 * per-CPU caches, gfp behaviour on an empty pool and the reclaim hook, the
 * page lock, and two threads allocating and freeing without losing a frame.
 */
#include <pthread.h>
#include <sched.h>
#include <string.h>

#include "base/current.h"
#include "base/err.h"
#include "base/mutex.h"
#include "base/spinlock.h"
#include "mm/page_alloc.h"
#include "mm/sanitizer.h"
#include "tests/lib/test_util.h"

static struct frame_pool *make_pool(unsigned long nr_frames, unsigned int flags)
{
	struct frame_pool *pool = frame_pool_create(nr_frames * PAGE_SIZE, flags);

	TEST_ASSERT(!IS_ERR(pool), "frame_pool_create(%lu frames): %ld", nr_frames, PTR_ERR(pool));
	return pool;
}

/* free + allocated == total, and the free lists hold exactly the free frames. */
static void assert_accounting(struct frame_pool *pool, unsigned long allocated)
{
	struct frame_pool_stats s;

	frame_pool_stats(pool, &s);
	TEST_ASSERT_EQ(s.allocated, allocated);
	TEST_ASSERT_EQ(s.free + s.allocated, s.total);
	TEST_ASSERT_EQ(frame_pool_count_free_lists(pool), (long)s.free);
}

static bool all_bytes(const void *addr, unsigned char byte)
{
	const unsigned char *p = addr;

	for (unsigned long i = 0; i < PAGE_SIZE; i++)
		if (p[i] != byte)
			return false;
	return true;
}

TEST(pool_rejects_bad_sizes)
{
	TEST_ASSERT_EQ(PTR_ERR(frame_pool_create(0, 0)), -EINVAL);
	TEST_ASSERT_EQ(PTR_ERR(frame_pool_create(PAGE_SIZE + 1, 0)), -EINVAL);
	TEST_ASSERT_EQ(PTR_ERR(frame_pool_create(100, 0)), -EINVAL);
	TEST_ASSERT_EQ(PTR_ERR(frame_pool_create(PAGE_SIZE, 0x80)), -EINVAL);
}

TEST(pool_of_one_frame)
{
	struct frame_pool *pool = make_pool(1, 0);
	struct page *page = alloc_page(pool, GFP_NOWAIT);

	TEST_ASSERT(page, "the only frame");
	TEST_ASSERT(!alloc_page(pool, GFP_NOWAIT), "a second frame from a pool of one");
	put_page(page);
	assert_accounting(pool, 0);
	frame_pool_destroy(pool);
}

TEST(fresh_frame_is_clean)
{
	struct frame_pool *pool = make_pool(16, 0);
	struct page *page = alloc_frame(pool, FRAME_PGTABLE, GFP_KERNEL);
	void *addr;

	TEST_ASSERT(page, "alloc_frame");
	addr = page_address(page);
	TEST_ASSERT_EQ(page_count(page), 1);
	TEST_ASSERT_EQ(page_mapcount(page), 0);
	TEST_ASSERT(!page_mapped(page) && !page_maybe_dma_pinned(page), "unmapped, unpinned");
	TEST_ASSERT_EQ(page->flags, 0UL);
	TEST_ASSERT(!page->mapping && !PageAnon(page), "no mapping");
	TEST_ASSERT_EQ(page_frame_state(page), FRAME_PGTABLE);
	TEST_ASSERT(frame_pool_contains(pool, addr), "address inside the pool");
	TEST_ASSERT_EQ(((unsigned long)addr & ~PAGE_MASK), 0UL);
	TEST_ASSERT(virt_to_page(pool, (char *)addr + 123) == page, "virt_to_page");
	TEST_ASSERT(pfn_to_page(pool, page_to_pfn(page)) == page, "pfn round trip");
	put_page(page);
	frame_pool_destroy(pool);
}

TEST(refcount_and_flags)
{
	struct frame_pool *pool = make_pool(4, 0);
	struct page *page = alloc_page(pool, GFP_KERNEL);
	unsigned int gen = page->gen;

	get_page(page);
	TEST_ASSERT(get_page_unless_zero(page), "speculative reference on a live page");
	page_ref_add(page, 2);
	TEST_ASSERT_EQ(page_count(page), 5);
	page_ref_sub(page, 2);
	put_page(page);
	put_page(page);
	TEST_ASSERT_EQ(page_frame_state(page), FRAME_DATA);
	TEST_ASSERT(!TestSetPageDirty(page) && TestSetPageDirty(page), "TestSetPageDirty");
	TEST_ASSERT(TestClearPageDirty(page) && !PageDirty(page), "TestClearPageDirty");
	SetPageUptodate(page);
	SetPageReferenced(page);
	__SetPageSwapBacked(page);
	put_page(page); /* last one: flags that may be set at free are simply cleared */
	TEST_ASSERT_EQ(page_frame_state(page), FRAME_FREE);
	TEST_ASSERT_EQ(page->gen, gen + 1);
	TEST_ASSERT(!get_page_unless_zero(page), "speculative reference on a free page");
	page = alloc_page(pool, GFP_KERNEL);
	TEST_ASSERT_EQ(page->flags, 0UL);
	put_page(page);
	frame_pool_destroy(pool);
}

TEST(anon_mapping_bit)
{
	struct frame_pool *pool = make_pool(4, 0);
	struct page *page = alloc_page(pool, GFP_KERNEL);
	static long fake_anon_vma[4], fake_mapping[4];

	page->mapping = (struct address_space *)((unsigned long)fake_anon_vma | PAGE_MAPPING_ANON);
	TEST_ASSERT(PageAnon(page), "anon bit");
	TEST_ASSERT(page_anon_vma(page) == (struct anon_vma *)fake_anon_vma, "page_anon_vma");
	TEST_ASSERT(!page_mapping(page), "no file mapping for anon");
	page->mapping = (struct address_space *)fake_mapping;
	TEST_ASSERT(!PageAnon(page) && !page_anon_vma(page), "file page");
	TEST_ASSERT(page_mapping(page) == (struct address_space *)fake_mapping, "page_mapping");
	page->mapping = NULL;
	put_page(page);
	frame_pool_destroy(pool);
}

TEST(accounting)
{
	struct frame_pool *pool = make_pool(64, 0);
	struct page *pages[10];
	struct frame_pool_stats s;

	for (int i = 0; i < 10; i++)
		pages[i] = alloc_page(pool, GFP_KERNEL);
	assert_accounting(pool, 10);
	frame_pool_stats(pool, &s);
	TEST_ASSERT_EQ(s.total, 64UL);
	TEST_ASSERT_EQ(s.free, 54UL);
	TEST_ASSERT_EQ(s.alloc_calls, 10UL);
	for (int i = 0; i < 10; i++)
		put_page(pages[i]);
	assert_accounting(pool, 0);
	frame_pool_stats(pool, &s);
	TEST_ASSERT_EQ(s.free_calls, 10UL);
	TEST_ASSERT(s.pcp_free > 0, "freed frames wait in this CPU's cache");
	frame_pool_drain_pcp(pool);
	frame_pool_stats(pool, &s);
	TEST_ASSERT_EQ(s.pcp_free, 0UL);
	TEST_ASSERT_EQ(s.free, 64UL);
	frame_pool_destroy(pool);
}

TEST(gfp_zero_and_poison)
{
	struct frame_pool *pool = make_pool(1, 0);
	struct page *page = alloc_page(pool, GFP_KERNEL);
	struct frame_pool_stats s;

	memset(page_address(page), 0x5a, PAGE_SIZE);
	put_page(page);
	TEST_ASSERT(all_bytes(page_address(page), PAGE_POISON), "a free frame holds poison");
	page = alloc_page(pool, GFP_KERNEL);
	TEST_ASSERT(all_bytes(page_address(page), PAGE_POISON), "no __GFP_ZERO: poison stays");
	memset(page_address(page), 0x5a, PAGE_SIZE);
	put_page(page);
	page = alloc_page(pool, GFP_KERNEL | __GFP_ZERO);
	TEST_ASSERT(all_bytes(page_address(page), 0), "__GFP_ZERO");
	put_page(page);
	frame_pool_stats(pool, &s);
	TEST_ASSERT_EQ(s.poison_checks, 2UL);
	frame_pool_destroy(pool);
}

TEST(no_poison_pool)
{
	struct frame_pool *pool = make_pool(1, FRAME_POOL_NO_POISON);
	struct page *page = alloc_page(pool, GFP_KERNEL);
	struct frame_pool_stats s;

	memset(page_address(page), 0x5a, PAGE_SIZE);
	put_page(page);
	TEST_ASSERT(all_bytes(page_address(page), 0x5a), "not poisoned");
	page = alloc_page(pool, GFP_KERNEL | __GFP_ZERO);
	TEST_ASSERT(all_bytes(page_address(page), 0), "__GFP_ZERO");
	put_page(page);
	frame_pool_stats(pool, &s);
	TEST_ASSERT_EQ(s.poison_checks, 0UL);
	frame_pool_destroy(pool);
}

struct reclaim_ctx {
	int calls;
	unsigned long nr_wanted;
	struct page *victim; /* freed by the hook, if set */
	long progress;	     /* returned when there is no victim */
};

static long test_reclaim(struct frame_pool *pool, unsigned long nr_wanted, void *arg)
{
	struct reclaim_ctx *ctx = arg;

	ctx->calls++;
	ctx->nr_wanted = nr_wanted;
	if (ctx->victim) {
		put_page(ctx->victim);
		ctx->victim = NULL;
		return 1;
	}
	return ctx->progress;
}

static void fill_pool(struct frame_pool *pool, struct page **pages, int nr)
{
	for (int i = 0; i < nr; i++) {
		pages[i] = alloc_page(pool, GFP_NOWAIT);
		TEST_ASSERT(pages[i], "frame %d of %d", i, nr);
	}
}

TEST(empty_pool_nowait_fails_without_reclaim)
{
	struct frame_pool *pool = make_pool(4, 0);
	struct reclaim_ctx ctx = { 0 };
	struct frame_pool_stats s;
	struct page *pages[4];

	frame_pool_set_reclaim(pool, test_reclaim, &ctx);
	fill_pool(pool, pages, 4);
	TEST_ASSERT(!alloc_page(pool, GFP_NOWAIT), "empty pool");
	TEST_ASSERT(!alloc_page(pool, GFP_ATOMIC), "empty pool");
	TEST_ASSERT_EQ(ctx.calls, 0);
	frame_pool_stats(pool, &s);
	TEST_ASSERT_EQ(s.alloc_failed, 2UL);
	for (int i = 0; i < 4; i++)
		put_page(pages[i]);
	frame_pool_destroy(pool);
}

TEST(empty_pool_kernel_calls_reclaim)
{
	struct frame_pool *pool = make_pool(4, 0);
	struct reclaim_ctx ctx = { 0 };
	struct page *pages[4], *page;

	frame_pool_set_reclaim(pool, test_reclaim, &ctx);
	fill_pool(pool, pages, 4);
	/* No progress: one call, then NULL. */
	TEST_ASSERT(!alloc_page(pool, GFP_KERNEL), "nothing reclaimable");
	TEST_ASSERT_EQ(ctx.calls, 1);
	TEST_ASSERT(ctx.nr_wanted > 0, "asked for frames");
	/* The hook frees a frame: the allocation gets it. */
	ctx.calls = 0;
	ctx.victim = pages[2];
	page = alloc_page(pool, GFP_KERNEL);
	TEST_ASSERT(page == pages[2], "got the reclaimed frame");
	TEST_ASSERT_EQ(ctx.calls, 1);
	for (int i = 0; i < 4; i++)
		put_page(pages[i]);
	frame_pool_destroy(pool);
}

TEST(reclaim_retries_are_bounded)
{
	struct frame_pool *pool = make_pool(2, 0);
	struct reclaim_ctx ctx = { .progress = 1 }; /* claims progress, frees nothing */
	struct page *pages[2];

	frame_pool_set_reclaim(pool, test_reclaim, &ctx);
	fill_pool(pool, pages, 2);
	TEST_ASSERT(!alloc_page(pool, GFP_KERNEL | __GFP_NORETRY), "noretry");
	TEST_ASSERT_EQ(ctx.calls, 1);
	ctx.calls = 0;
	TEST_ASSERT(!alloc_page(pool, GFP_KERNEL), "still nothing");
	TEST_ASSERT(ctx.calls > 1 && ctx.calls <= 64, "retried a bounded number of times: %d",
		    ctx.calls);
	put_page(pages[0]);
	put_page(pages[1]);
	frame_pool_destroy(pool);
}

struct fill_and_free {
	struct frame_pool *pool;
	int nr;
};

static void *alloc_all_then_free(void *arg)
{
	struct fill_and_free *f = arg;
	struct page *pages[8];

	task_register("cpu-cache-filler");
	fill_pool(f->pool, pages, f->nr);
	for (int i = 0; i < f->nr; i++)
		put_page(pages[i]);
	task_unregister();
	return NULL;
}

/* Frames another CPU freed into its cache are still free for us. */
TEST(other_cpu_cache_is_drained_when_empty)
{
	struct frame_pool *pool = make_pool(4, 0);
	struct fill_and_free f = { pool, 4 };
	struct frame_pool_stats s;
	struct page *pages[4];
	pthread_t thread;

	pthread_create(&thread, NULL, alloc_all_then_free, &f);
	pthread_join(thread, NULL);
	frame_pool_stats(pool, &s);
	TEST_ASSERT_EQ(s.free, 4UL);
	TEST_ASSERT_EQ(s.pcp_free, 4UL);
	fill_pool(pool, pages, 4);
	for (int i = 0; i < 4; i++)
		put_page(pages[i]);
	assert_accounting(pool, 0);
	frame_pool_destroy(pool);
}

TEST(watermarks)
{
	struct frame_pool *pool = make_pool(64, 0);
	struct frame_pool_stats s;

	TEST_ASSERT_EQ(frame_pool_set_watermarks(pool, 8, 4), -EINVAL);
	TEST_ASSERT_EQ(frame_pool_set_watermarks(pool, 8, 65), -EINVAL);
	TEST_ASSERT_EQ(frame_pool_set_watermarks(pool, 8, 16), 0);
	frame_pool_stats(pool, &s);
	TEST_ASSERT(s.wmark_low == 8 && s.wmark_high == 16, "low %lu high %lu", s.wmark_low,
		    s.wmark_high);
	frame_pool_destroy(pool);
}

TEST(oom_report_names_who)
{
	struct frame_pool *pool = make_pool(4, 0);
	char title[160];

	frame_pool_report_oom(pool, "test fault path");
	expect_reports(REPORT_OOM, 1);
	report_last_title(REPORT_OOM, title, sizeof(title));
	TEST_ASSERT(strstr(title, "test fault path"), "title: %s", title);
	frame_pool_destroy(pool);
}

/* ---- the page lock ---- */

TEST(trylock_excludes)
{
	struct frame_pool *pool = make_pool(4, 0);
	struct page *page = alloc_page(pool, GFP_KERNEL);

	TEST_ASSERT(trylock_page(page), "unlocked page");
	TEST_ASSERT(PageLocked(page), "PG_locked");
	TEST_ASSERT(!trylock_page(page), "already locked");
	unlock_page(page);
	TEST_ASSERT(!PageLocked(page), "unlocked");
	lock_page(page);
	TEST_ASSERT(!trylock_page(page), "locked by lock_page");
	unlock_page(page);
	put_page(page);
	frame_pool_destroy(pool);
}

struct locker {
	struct page *page;
	int acquired;
};

static void *lock_page_thread(void *arg)
{
	struct locker *l = arg;

	task_register("page-locker");
	lock_page(l->page);
	smp_store_release(&l->acquired, 1);
	unlock_page(l->page);
	task_unregister();
	return NULL;
}

TEST(lock_page_waits_for_unlock)
{
	struct frame_pool *pool = make_pool(4, 0);
	struct locker l = { .page = alloc_page(pool, GFP_KERNEL) };
	struct page_wait_queue *q = page_waitqueue(l.page);
	pthread_t thread;

	lock_page(l.page);
	pthread_create(&thread, NULL, lock_page_thread, &l);
	/* Until the thread is queued on the page's wait queue: it found the page locked. */
	while (!waitqueue_active(&q->wq))
		sched_yield();
	TEST_ASSERT(!smp_load_acquire(&l.acquired), "took a locked page");
	unlock_page(l.page);
	pthread_join(thread, NULL);
	TEST_ASSERT(l.acquired, "the waiter got the lock once it was released");
	TEST_ASSERT(!PageLocked(l.page), "and released it");
	TEST_ASSERT_EQ(atomic_read(&q->waiters), 0);
	put_page(l.page);
	frame_pool_destroy(pool);
}

#ifdef CONFIG_LOCKDEP
/* The page lock is a lockdep class: taking it in both orders against a mutex is reported. */
TEST(page_lock_order_is_checked)
{
	struct frame_pool *pool = make_pool(4, 0);
	struct page *a = alloc_page(pool, GFP_KERNEL);
	struct page *b = alloc_page(pool, GFP_KERNEL);
	struct mutex m;

	mutex_init(&m);
	lock_page(a);
	mutex_lock(&m);
	mutex_unlock(&m);
	unlock_page(a);
	expect_reports(REPORT_LOCKDEP, 0);
	mutex_lock(&m);
	lock_page(b);
	unlock_page(b);
	mutex_unlock(&m);
	expect_reports(REPORT_LOCKDEP, 1);
	put_page(a);
	put_page(b);
	frame_pool_destroy(pool);
}

TEST(lock_page_in_atomic_is_reported)
{
	struct frame_pool *pool = make_pool(4, 0);
	struct page *page = alloc_page(pool, GFP_KERNEL);
	spinlock_t lock;

	spin_lock_init(&lock);
	spin_lock(&lock);
	lock_page(page);
	unlock_page(page);
	spin_unlock(&lock);
	expect_reports(REPORT_ATOMIC_SLEEP, 1);
	put_page(page);
	frame_pool_destroy(pool);
}
#endif

/* ---- two threads, 10^6 pairs each ---- */

#define PAIRS_PER_THREAD 1000000
#define PAIR_BATCH 8

struct pair_worker {
	struct frame_pool *pool;
	unsigned long failed;
};

static void *alloc_free_pairs(void *arg)
{
	struct pair_worker *w = arg;
	struct page *batch[PAIR_BATCH];

	task_register("pairs");
	for (int i = 0; i < PAIRS_PER_THREAD / PAIR_BATCH; i++) {
		for (int j = 0; j < PAIR_BATCH; j++) {
			batch[j] = alloc_page(w->pool, GFP_NOWAIT);
			if (!batch[j]) {
				w->failed++;
				continue;
			}
			*(unsigned long *)page_address(batch[j]) = page_to_pfn(batch[j]);
		}
		for (int j = 0; j < PAIR_BATCH; j++) {
			if (!batch[j])
				continue;
			TEST_ASSERT_EQ(*(unsigned long *)page_address(batch[j]),
				       page_to_pfn(batch[j]));
			put_page(batch[j]);
		}
	}
	task_unregister();
	return NULL;
}

TEST(two_threads_lose_no_frame)
{
	struct frame_pool *pool = make_pool(256, 0);
	struct pair_worker w[2] = { { pool, 0 }, { pool, 0 } };
	struct frame_pool_stats s;
	pthread_t threads[2];

	for (int i = 0; i < 2; i++)
		pthread_create(&threads[i], NULL, alloc_free_pairs, &w[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(threads[i], NULL);
	TEST_ASSERT(!w[0].failed && !w[1].failed, "allocations failed: %lu, %lu", w[0].failed,
		    w[1].failed);
	assert_accounting(pool, 0);
	frame_pool_stats(pool, &s);
	TEST_ASSERT_EQ(s.alloc_calls, 2UL * PAIRS_PER_THREAD);
	TEST_ASSERT_EQ(s.free_calls, 2UL * PAIRS_PER_THREAD);
	TEST_ASSERT_EQ(s.free, 256UL);
	frame_pool_destroy(pool);
}
