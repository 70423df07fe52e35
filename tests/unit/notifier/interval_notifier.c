// SPDX-License-Identifier: GPL-2.0
/*
 * Interval notifiers: the odd/even sequence, read_begin/read_retry, inserts
 * and removes deferred while the tree is frozen, waiters woken by the last
 * invalidate_range_end, non-blockable refusals, and release at exit.
 *
 * The test thread plays the host: it opens a range with
 * mmu_notifier_invalidate_range_start() and closes it with _end() itself,
 * so "an invalidation is running" is a state the test holds, and the
 * other side of each race runs on a second thread, stopped at the
 * schedule points of notifier/mmu_notifier.c.
 */
#include <pthread.h>

#include "base/mutex.h"
#include "base/preempt.h"
#include "base/sched_point.h"
#include "mm/mmu_notifier.h"
#include "tests/lib/mm_util.h"

#define POOL_SIZE (8UL << 20)
#define BASE 0x100000UL
#define LEN 0x10000UL

struct isub {
	struct mmu_interval_notifier mni;
	struct mutex lock; /* the driver lock that orders set_seq against read_retry */
	int calls;
	unsigned long last_seq;
	struct mmu_notifier_range last_range;
	bool refuse_nonblock;
};

static bool isub_invalidate(struct mmu_interval_notifier *mni,
			    const struct mmu_notifier_range *range, unsigned long cur_seq)
{
	struct isub *s = container_of(mni, struct isub, mni);

	if (!mmu_notifier_range_blockable(range)) {
		TEST_ASSERT(in_atomic(), "non-blockable invalidate not atomic");
		if (s->refuse_nonblock || !mutex_trylock(&s->lock))
			return false;
	} else {
		mutex_lock(&s->lock);
	}
	TEST_ASSERT(cur_seq & 1, "invalidate with an even sequence %lu", cur_seq);
	mmu_interval_set_seq(mni, cur_seq);
	s->calls++;
	s->last_seq = cur_seq;
	s->last_range = *range;
	mutex_unlock(&s->lock);
	return true;
}

static const struct mmu_interval_notifier_ops isub_ops = {
	.invalidate = isub_invalidate,
};

static void isub_insert(struct isub *s, struct mm_struct *mm, unsigned long start,
			unsigned long len)
{
	*s = (struct isub){ 0 };
	mutex_init(&s->lock);
	TEST_ASSERT_EQ(mmu_interval_notifier_insert(&s->mni, mm, start, len, &isub_ops), 0);
}

/* Would a lookup validated now, begun at @seq, stand? */
static bool isub_retry(struct isub *s, unsigned long seq)
{
	bool retry;

	mutex_lock(&s->lock);
	retry = mmu_interval_read_retry(&s->mni, seq);
	mutex_unlock(&s->lock);
	return retry;
}

static void range_start(struct mmu_notifier_range *range, struct mm_struct *mm, unsigned long start,
			unsigned long end)
{
	mmu_notifier_range_init(range, MMU_NOTIFY_CLEAR, 0, mm, start, end);
	mmu_notifier_invalidate_range_start(range);
}

struct fixture {
	struct frame_pool *pool;
	struct mm_struct *mm;
};

static void fixture_init(struct fixture *f)
{
	f->pool = test_pool(POOL_SIZE);
	f->mm = test_mm(f->pool);
}

static void fixture_fini(struct fixture *f)
{
	mmput(f->mm);
	test_pool_destroy(f->pool);
}

TEST(insert_rejects_empty_and_wrapping_intervals)
{
	struct fixture f;
	struct isub s = { 0 };

	fixture_init(&f);
	TEST_ASSERT_EQ(mmu_interval_notifier_insert(&s.mni, f.mm, BASE, 0, &isub_ops), -EOVERFLOW);
	TEST_ASSERT_EQ(mmu_interval_notifier_insert(&s.mni, f.mm, ~0UL - 10, 100, &isub_ops),
		       -EOVERFLOW);
	fixture_fini(&f);
}

TEST(overlapping_invalidation_changes_the_sequence_others_do_not)
{
	struct fixture f;
	struct isub s;
	struct mmu_notifier_range range;
	unsigned long seq, seq2;

	fixture_init(&f);
	isub_insert(&s, f.mm, BASE, LEN);

	seq = mmu_interval_read_begin(&s.mni);
	TEST_ASSERT(!isub_retry(&s, seq), "idle interval wants a retry");

	/* Before and after the interval: not called, nothing to retry. */
	range_start(&range, f.mm, BASE - PAGE_SIZE, BASE);
	mmu_notifier_invalidate_range_end(&range);
	range_start(&range, f.mm, BASE + LEN, BASE + LEN + PAGE_SIZE);
	mmu_notifier_invalidate_range_end(&range);
	TEST_ASSERT_EQ(s.calls, 0);
	TEST_ASSERT(!isub_retry(&s, seq), "a disjoint range forced a retry");

	/* Its last byte overlaps. */
	range_start(&range, f.mm, BASE + LEN - 1, BASE + LEN + PAGE_SIZE);
	TEST_ASSERT_EQ(s.calls, 1);
	TEST_ASSERT_EQ(s.last_range.start, BASE + LEN - 1);
	TEST_ASSERT(mmu_interval_check_retry(&s.mni, seq), "no retry after invalidate");
	mmu_notifier_invalidate_range_end(&range);
	TEST_ASSERT(isub_retry(&s, seq), "no retry after the invalidation");

	seq2 = mmu_interval_read_begin(&s.mni);
	TEST_ASSERT(seq2 != seq, "read_begin returned the old sequence");
	TEST_ASSERT(!isub_retry(&s, seq2), "retry with nothing running");

	mmu_interval_notifier_remove(&s.mni);
	fixture_fini(&f);
}

struct reader {
	struct isub *s;
	unsigned long seq;
	bool done;
};

static void *read_begin_thread(void *arg)
{
	struct reader *r = arg;

	r->seq = mmu_interval_read_begin(&r->s->mni);
	smp_store_mb(r->done, true);
	return NULL;
}

/*
 * A read_begin() while its interval is being invalidated sleeps until the
 * last invalidation ends; one on an untouched interval does not, even
 * while the tree is frozen.
 */
TEST(read_begin_waits_for_the_last_end)
{
	struct fixture f;
	struct isub s, other;
	struct mmu_notifier_range r1, r2;
	struct reader rd = { .s = &s };
	pthread_t thread;
	unsigned long seq;

	fixture_init(&f);
	isub_insert(&s, f.mm, BASE, LEN);
	isub_insert(&other, f.mm, BASE + 16 * LEN, LEN);

	range_start(&r1, f.mm, BASE, BASE + PAGE_SIZE);
	range_start(&r2, f.mm, BASE, BASE + PAGE_SIZE); /* two overlapping invalidations */
	TEST_ASSERT_EQ(s.calls, 2);

	seq = mmu_interval_read_begin(&other.mni); /* does not wait */
	TEST_ASSERT(!isub_retry(&other, seq), "untouched interval wants a retry");

	sched_point_arm("mmu_interval_read_begin:wait", NULL);
	TEST_ASSERT_EQ(pthread_create(&thread, NULL, read_begin_thread, &rd), 0);
	sched_point_wait("mmu_interval_read_begin:wait"); /* it decided to sleep */
	sched_point_release("mmu_interval_read_begin:wait");

	mmu_notifier_invalidate_range_end(&r1);
	/* One still runs: the sequence stays odd, the reader stays asleep. */
	TEST_ASSERT(!smp_load_mb(rd.done), "woken before the last end");
	mmu_notifier_invalidate_range_end(&r2);
	pthread_join(thread, NULL);

	TEST_ASSERT_EQ(rd.seq, s.last_seq);
	TEST_ASSERT(!isub_retry(&s, rd.seq), "retry after every invalidation ended");

	mmu_interval_notifier_remove(&s.mni);
	mmu_interval_notifier_remove(&other.mni);
	fixture_fini(&f);
}

/* An insert while the tree is frozen waits on the deferred list, and its first read_begin waits too. */
TEST(insert_while_frozen_is_deferred_to_the_last_end)
{
	struct fixture f;
	struct isub s, late;
	struct mmu_notifier_range r1, r2;
	struct reader rd = { .s = &late };
	pthread_t thread;

	fixture_init(&f);
	isub_insert(&s, f.mm, BASE, LEN);
	range_start(&r1, f.mm, BASE, BASE + LEN); /* freezes the tree */

	isub_insert(&late, f.mm, BASE, LEN);
	/* A second invalidation walks the frozen tree: the late one is not there yet. */
	range_start(&r2, f.mm, BASE, BASE + LEN);
	TEST_ASSERT_EQ(late.calls, 0);
	TEST_ASSERT_EQ(s.calls, 2);

	sched_point_arm("mmu_interval_read_begin:wait", NULL);
	TEST_ASSERT_EQ(pthread_create(&thread, NULL, read_begin_thread, &rd), 0);
	sched_point_wait("mmu_interval_read_begin:wait");
	sched_point_release("mmu_interval_read_begin:wait");

	mmu_notifier_invalidate_range_end(&r1);
	mmu_notifier_invalidate_range_end(&r2);
	pthread_join(thread, NULL);

	/* Now in the tree. */
	range_start(&r1, f.mm, BASE, BASE + PAGE_SIZE);
	mmu_notifier_invalidate_range_end(&r1);
	TEST_ASSERT_EQ(late.calls, 1);
	TEST_ASSERT(isub_retry(&late, rd.seq), "no retry after an invalidation");

	mmu_interval_notifier_remove(&late.mni);
	mmu_interval_notifier_remove(&s.mni);
	fixture_fini(&f);
}

/* Insert and remove both while frozen: the insert is simply cancelled. */
TEST(remove_cancels_a_deferred_insert)
{
	struct fixture f;
	struct isub s, late;
	struct mmu_notifier_range r;
	int count;

	fixture_init(&f);
	isub_insert(&s, f.mm, BASE, LEN);
	range_start(&r, f.mm, BASE, BASE + LEN);
	count = atomic_read(&f.mm->mm_count);
	isub_insert(&late, f.mm, BASE, LEN);
	mmu_interval_notifier_remove(&late.mni); /* does not wait */
	TEST_ASSERT_EQ(atomic_read(&f.mm->mm_count), count);
	mmu_notifier_invalidate_range_end(&r);

	range_start(&r, f.mm, BASE, BASE + LEN);
	mmu_notifier_invalidate_range_end(&r);
	TEST_ASSERT_EQ(late.calls, 0);
	TEST_ASSERT_EQ(s.calls, 2);

	mmu_interval_notifier_remove(&s.mni);
	fixture_fini(&f);
}

struct remover {
	struct isub *s;
	bool done;
};

static void *remove_thread(void *arg)
{
	struct remover *r = arg;

	mmu_interval_notifier_remove(&r->s->mni);
	smp_store_mb(r->done, true);
	return NULL;
}

/* A remove while frozen waits for the thaw: afterwards its op is never called. */
TEST(remove_while_frozen_waits_for_the_last_end)
{
	struct fixture f;
	struct isub s, keep;
	struct mmu_notifier_range r;
	struct remover rm = { .s = &s };
	pthread_t thread;

	fixture_init(&f);
	isub_insert(&s, f.mm, BASE, LEN);
	isub_insert(&keep, f.mm, BASE, LEN);
	range_start(&r, f.mm, BASE, BASE + LEN);

	sched_point_arm("mmu_interval_notifier_remove:wait", NULL);
	TEST_ASSERT_EQ(pthread_create(&thread, NULL, remove_thread, &rm), 0);
	sched_point_wait("mmu_interval_notifier_remove:wait");
	sched_point_release("mmu_interval_notifier_remove:wait");
	TEST_ASSERT(!smp_load_mb(rm.done), "remove did not wait");
	mmu_notifier_invalidate_range_end(&r);
	pthread_join(thread, NULL);

	range_start(&r, f.mm, BASE, BASE + LEN);
	mmu_notifier_invalidate_range_end(&r);
	TEST_ASSERT_EQ(s.calls, 1);
	TEST_ASSERT_EQ(keep.calls, 2);

	mmu_interval_notifier_remove(&keep.mni);
	fixture_fini(&f);
}

/* A refused non-blockable start undoes its count: nothing stays frozen. */
TEST(nonblock_refusal_returns_eagain_and_thaws)
{
	struct fixture f;
	struct isub s;
	struct mmu_notifier_range r;
	unsigned long seq;

	fixture_init(&f);
	isub_insert(&s, f.mm, BASE, LEN);
	s.refuse_nonblock = true;

	mmu_notifier_range_init(&r, MMU_NOTIFY_UNMAP, 0, f.mm, BASE, BASE + LEN);
	TEST_ASSERT_EQ(mmu_notifier_invalidate_range_start_nonblock(&r), -EAGAIN);
	TEST_ASSERT_EQ(s.calls, 0);

	/* Not frozen: read_begin returns at once, an insert goes straight in. */
	seq = mmu_interval_read_begin(&s.mni);
	s.refuse_nonblock = false;
	mmu_notifier_range_init(&r, MMU_NOTIFY_UNMAP, 0, f.mm, BASE, BASE + LEN);
	TEST_ASSERT_EQ(mmu_notifier_invalidate_range_start_nonblock(&r), 0);
	mmu_notifier_invalidate_range_end(&r);
	TEST_ASSERT_EQ(s.calls, 1);
	TEST_ASSERT(isub_retry(&s, seq), "no retry after a non-blockable invalidation");

	mmu_interval_notifier_remove(&s.mni);
	fixture_fini(&f);
}

/* exit_mmap: every interval hears one blockable RELEASE of everything. */
TEST(exit_sends_release_to_every_interval)
{
	struct fixture f;
	struct isub a, b;

	fixture_init(&f);
	isub_insert(&a, f.mm, BASE, LEN);
	isub_insert(&b, f.mm, BASE + 100 * LEN, LEN);
	mmgrab(f.mm);
	mmput(f.mm);
	TEST_ASSERT_EQ(a.calls, 1);
	TEST_ASSERT_EQ(b.calls, 1);
	TEST_ASSERT_EQ(a.last_range.event, MMU_NOTIFY_RELEASE);
	TEST_ASSERT(a.last_range.start == 0 && a.last_range.end == ~0UL, "release range");
	TEST_ASSERT(mmu_notifier_range_blockable(&a.last_range), "release not blockable");

	mmu_interval_notifier_remove(&a.mni);
	mmu_interval_notifier_remove(&b.mni);
	mmdrop(f.mm);
	test_pool_destroy(f.pool);
}

/* The first insert registers the interval side under mm_take_all_locks(), in the locked variant too. */
TEST(insert_locked_under_mmap_lock)
{
	struct fixture f;
	struct isub s = { 0 };

	fixture_init(&f);
	mutex_init(&s.lock);
	mmap_write_lock(f.mm);
	TEST_ASSERT_EQ(mmu_interval_notifier_insert_locked(&s.mni, f.mm, BASE, LEN, &isub_ops), 0);
	mmap_write_unlock(f.mm);
	TEST_ASSERT(mm_has_notifiers(f.mm), "no subscriptions");
	mmu_interval_notifier_remove(&s.mni);
	fixture_fini(&f);
}

/*
 * read_begin() may sleep until an invalidation ends, and the invalidation
 * takes the driver lock in its op: calling read_begin() with that lock
 * held is a deadlock, which lockdep sees from the two orders alone.
 */
TEST(read_begin_under_the_invalidate_lock_is_reported)
{
	struct fixture f;
	struct isub s;
	struct mmu_notifier_range r;

#ifndef CONFIG_LOCKDEP
	TEST_REQUIRE(!"lockdep built in (Debug builds)");
#endif
	fixture_init(&f);
	isub_insert(&s, f.mm, BASE, LEN);
	range_start(&r, f.mm, BASE, BASE + LEN); /* invalidation -> driver lock */
	mmu_notifier_invalidate_range_end(&r);

	mutex_lock(&s.lock);
	mmu_interval_read_begin(&s.mni); /* driver lock -> invalidation */
	mutex_unlock(&s.lock);
	expect_reports(REPORT_LOCKDEP, 1);

	mmu_interval_notifier_remove(&s.mni);
	fixture_fini(&f);
}
