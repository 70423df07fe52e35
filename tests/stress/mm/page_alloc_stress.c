// SPDX-License-Identifier: GPL-2.0
/*
 * The frame pool under two threads for longer: random batch sizes, frames
 * handed from one thread to the other so each frees what the other
 * allocated, contents and stamps verified on the way, and at the end not
 * one frame lost and not one report.  Then the page lock, contended.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "base/current.h"
#include "base/err.h"
#include "base/prandom.h"
#include "base/spinlock.h"
#include "mm/page_alloc.h"
#include "mm/sanitizer.h"
#include "tests/lib/test_util.h"

#define NR_THREADS 2
#define ROUNDS 50000
#define MAX_BATCH 64
#define POOL_FRAMES 1024

/* Frames on their way to a thread, linked through page->lru (theirs while allocated). */
struct inbox {
	spinlock_t lock;
	struct list_head pages;
	int count;
};

/* Beyond this a sender frees the frame itself: a descheduled receiver must not drain the pool. */
#define INBOX_MAX 256

struct worker {
	struct frame_pool *pool;
	struct inbox *inbox;  /* ours */
	struct inbox *outbox; /* the other thread's */
	pthread_barrier_t *done;
	uint64_t rand;
	unsigned long allocated, freed, failed;
};

static uint64_t frame_tag(struct page *page)
{
	return (page_to_pfn(page) * 0x9e3779b97f4a7c15ull) ^ page->gen;
}

static void fill_frame(struct page *page)
{
	uint64_t *words = page_address(page), tag = frame_tag(page);

	for (unsigned long i = 0; i < PAGE_SIZE / sizeof(*words); i++)
		words[i] = tag ^ i;
}

static void verify_and_free(struct worker *w, struct page *page)
{
	uint64_t *words = page_address(page), tag = frame_tag(page);

	for (unsigned long i = 0; i < PAGE_SIZE / sizeof(*words); i++)
		TEST_ASSERT(words[i] == (tag ^ i), "pfn %lu word %lu: %#lx", page_to_pfn(page), i,
			    (unsigned long)words[i]);
	put_page(page);
	w->freed++;
}

static struct page *alloc_random_frame(struct worker *w)
{
	static const enum frame_state states[] = { FRAME_DATA, FRAME_PGTABLE, FRAME_SECONDARY };
	uint64_t r = prandom_u64(&w->rand);
	bool zero = !(r & 7);
	struct page *page;

	page = alloc_frame(w->pool, states[(r >> 3) % 3], GFP_NOWAIT | (zero ? __GFP_ZERO : 0));
	if (!page)
		return NULL;
	if (zero) {
		const uint64_t *words = page_address(page);

		for (unsigned long i = 0; i < PAGE_SIZE / sizeof(*words); i++)
			TEST_ASSERT(!words[i], "__GFP_ZERO frame %lu word %lu", page_to_pfn(page),
				    i);
	}
	fill_frame(page);
	w->allocated++;
	return page;
}

static bool send(struct worker *w, struct page *page)
{
	bool sent = false;

	spin_lock(&w->outbox->lock);
	if (w->outbox->count < INBOX_MAX) {
		list_add_tail(&page->lru, &w->outbox->pages);
		w->outbox->count++;
		sent = true;
	}
	spin_unlock(&w->outbox->lock);
	return sent;
}

/* Free everything the other thread sent us, checking its stamp first. */
static void drain_inbox(struct worker *w)
{
	struct frame_access acc = { .size = PAGE_SIZE, .who = "stress receiver" };
	struct page *page, *next;
	LIST_HEAD(pages);

	spin_lock(&w->inbox->lock);
	list_splice_init(&w->inbox->pages, &pages);
	w->inbox->count = 0;
	spin_unlock(&w->inbox->lock);
	list_for_each_entry_safe(page, next, &pages, lru) {
		struct frame_stamp stamp = frame_stamp_of(page);

		list_del(&page->lru);
		TEST_ASSERT(frame_check_stamp(w->pool, &stamp, &acc), "stamp of a held frame");
		verify_and_free(w, page);
	}
}

static void one_round(struct worker *w)
{
	int batch = 1 + prandom_u64(&w->rand) % MAX_BATCH;
	struct page *pages[MAX_BATCH];
	int n = 0;

	while (n < batch) {
		pages[n] = alloc_random_frame(w);
		if (!pages[n]) {
			/* The other thread holds the rest for us: take ours back first. */
			w->failed++;
			drain_inbox(w);
			break;
		}
		n++;
	}
	for (int i = 0; i < n; i++) {
		if (!(prandom_u64(&w->rand) & 1) || !send(w, pages[i]))
			verify_and_free(w, pages[i]);
	}
	drain_inbox(w);
}

static void *stress_thread(void *arg)
{
	struct worker *w = arg;

	task_register("frame-stress");
	for (int round = 0; round < ROUNDS; round++)
		one_round(w);
	pthread_barrier_wait(w->done); /* nobody sends any more */
	drain_inbox(w);
	task_unregister();
	return NULL;
}

TEST(frames_cross_threads)
{
	struct frame_pool *pool = frame_pool_create(POOL_FRAMES * PAGE_SIZE, 0);
	struct inbox inbox[NR_THREADS];
	struct worker w[NR_THREADS];
	pthread_t threads[NR_THREADS];
	struct sanitizer_counters c;
	struct frame_pool_stats s;
	pthread_barrier_t done;
	unsigned long allocated = 0, freed = 0;

	TEST_ASSERT(!IS_ERR(pool), "frame_pool_create");
	pthread_barrier_init(&done, NULL, NR_THREADS);
	for (int i = 0; i < NR_THREADS; i++) {
		spin_lock_init(&inbox[i].lock);
		INIT_LIST_HEAD(&inbox[i].pages);
		inbox[i].count = 0;
	}
	for (int i = 0; i < NR_THREADS; i++) {
		w[i] = (struct worker){ .pool = pool,
					.inbox = &inbox[i],
					.outbox = &inbox[(i + 1) % NR_THREADS],
					.done = &done,
					.rand = 0x1234567ull * (i + 1) };
		pthread_create(&threads[i], NULL, stress_thread, &w[i]);
	}
	for (int i = 0; i < NR_THREADS; i++) {
		pthread_join(threads[i], NULL);
		allocated += w[i].allocated;
		freed += w[i].freed;
	}
	TEST_ASSERT_EQ(allocated, freed);
	frame_pool_stats(pool, &s);
	TEST_ASSERT_EQ(s.allocated, 0UL);
	TEST_ASSERT_EQ(s.free, s.total);
	TEST_ASSERT_EQ(s.alloc_calls, allocated);
	TEST_ASSERT_EQ(s.free_calls, freed);
	TEST_ASSERT_EQ(frame_pool_count_free_lists(pool), (long)POOL_FRAMES);
	frame_pool_sanitizer_counters(pool, &c);
	TEST_ASSERT(!c.bad_page_state && !c.double_free && !c.write_after_free && !c.use_after_free,
		    "sanitizer counts %lu %lu %lu %lu", c.bad_page_state, c.double_free,
		    c.write_after_free, c.use_after_free);
	printf("%lu frames allocated and freed, %lu + %lu allocations found the pool empty\n",
	       allocated, w[0].failed, w[1].failed);
	pthread_barrier_destroy(&done);
	frame_pool_destroy(pool);
}

/* ---- the page lock, contended ---- */

#define LOCK_ROUNDS 200000
#define LOCK_PAGES 4

struct lock_worker {
	struct page **pages;
	uint64_t rand;
};

/* The count lives in the frame and is bumped non-atomically: only the page lock protects it. */
static void *lock_thread(void *arg)
{
	struct lock_worker *w = arg;

	task_register("page-lock-stress");
	for (int i = 0; i < LOCK_ROUNDS; i++) {
		struct page *page = w->pages[prandom_u64(&w->rand) % LOCK_PAGES];
		volatile unsigned long *count = page_address(page);

		if (prandom_u64(&w->rand) & 1)
			lock_page(page);
		else
			while (!trylock_page(page))
				;
		*count = *count + 1;
		count[1] = count[1] + 1;
		unlock_page(page);
	}
	task_unregister();
	return NULL;
}

TEST(page_lock_contended)
{
	struct frame_pool *pool = frame_pool_create(LOCK_PAGES * PAGE_SIZE, 0);
	struct page *pages[LOCK_PAGES];
	struct lock_worker w[NR_THREADS];
	pthread_t threads[NR_THREADS];
	unsigned long total = 0;

	TEST_ASSERT(!IS_ERR(pool), "frame_pool_create");
	for (int i = 0; i < LOCK_PAGES; i++)
		pages[i] = alloc_page(pool, GFP_KERNEL | __GFP_ZERO);
	for (int i = 0; i < NR_THREADS; i++) {
		w[i] = (struct lock_worker){ .pages = pages, .rand = 0xabcdefull * (i + 1) };
		pthread_create(&threads[i], NULL, lock_thread, &w[i]);
	}
	for (int i = 0; i < NR_THREADS; i++)
		pthread_join(threads[i], NULL);
	for (int i = 0; i < LOCK_PAGES; i++) {
		unsigned long *count = page_address(pages[i]);

		TEST_ASSERT_EQ(count[0], count[1]);
		TEST_ASSERT(!PageLocked(pages[i]), "page %d left locked", i);
		total += count[0];
		put_page(pages[i]);
	}
	TEST_ASSERT_EQ(total, (unsigned long)NR_THREADS * LOCK_ROUNDS);
	frame_pool_destroy(pool);
}
