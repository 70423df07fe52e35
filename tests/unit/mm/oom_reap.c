// SPDX-License-Identifier: GPL-2.0
/*
 * The OOM reaper frees a victim's private anonymous memory through
 * non-blockable notifier ranges; a secondary MMU that would have to block
 * says -EAGAIN and the reaper backs out of that range, leaving it intact.
 */
#include <errno.h>

#include "mm/mmu_notifier.h"
#include "tests/lib/mm_util.h"
#include "tests/lib/test_util.h"

#define POOL (4UL << 20)
#define LEN (16 * PAGE_SIZE)

struct busy_mirror {
	struct mmu_notifier mn;
	bool refuse_nonblock;
	int starts, ends, nonblock_starts;
};

static int busy_start(struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	struct busy_mirror *b = container_of(mn, struct busy_mirror, mn);

	b->starts++;
	if (!mmu_notifier_range_blockable(range)) {
		b->nonblock_starts++;
		if (b->refuse_nonblock)
			return -EAGAIN; /* our lock is contended: we would have to sleep */
	}
	return 0;
}

/* A subscriber that may refuse has no end (the kernel WARNs otherwise). */
static const struct mmu_notifier_ops busy_ops = {
	.invalidate_range_start = busy_start,
};

/* A well-behaved second subscriber: its start is undone when another refuses. */
static void counting_end(struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	container_of(mn, struct busy_mirror, mn)->ends++;
}

static const struct mmu_notifier_ops counting_ops = {
	.invalidate_range_start = busy_start,
	.invalidate_range_end = counting_end,
};

TEST(reaps_private_anon_and_leaves_the_rest)
{
	struct frame_pool *pool = test_pool(POOL);
	struct mm_struct *mm = test_mm(pool);
	unsigned long anon = test_mmap_anon(mm, LEN, PROT_READ | PROT_WRITE);
	unsigned long shared =
		test_mmap(mm, 0, LEN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, NULL, 0);
	unsigned long before;

	mm_fill(mm, anon, LEN, 1);
	mm_fill(mm, shared, LEN, 2);
	before = test_pool_allocated(pool);
	TEST_ASSERT_EQ(__oom_reap_task_mm(mm), 0);
	TEST_ASSERT(test_pool_allocated(pool) <= before - LEN / PAGE_SIZE,
		    "the private anon pages went back to the pool");
	mm_check_zero(mm, anon, LEN); /* refaults as fresh zero pages */
	mm_check(mm, shared, LEN, 2); /* shared memory is not the reaper's */
	mmput(mm);
	test_pool_destroy(pool);
}

TEST(busy_secondary_mmu_makes_the_reaper_back_out)
{
	struct frame_pool *pool = test_pool(POOL);
	struct mm_struct *mm = test_mm(pool);
	struct busy_mirror b = { .mn.ops = &busy_ops, .refuse_nonblock = true };
	struct busy_mirror other = { .mn.ops = &counting_ops };
	unsigned long anon = test_mmap_anon(mm, LEN, PROT_READ | PROT_WRITE);

	mm_fill(mm, anon, LEN, 3);
	TEST_ASSERT_EQ(mmu_notifier_register(&other.mn, mm), 0);
	TEST_ASSERT_EQ(mmu_notifier_register(&b.mn, mm), 0);
	b.starts = other.starts = other.ends = 0;
	TEST_ASSERT_EQ(__oom_reap_task_mm(mm), -EAGAIN);
	TEST_ASSERT(b.nonblock_starts >= 1, "the reaper asked without blocking");
	TEST_ASSERT_EQ(other.starts, other.ends); /* the other subscriber's start was undone */
	mm_check(mm, anon, LEN, 3);		  /* nothing was unmapped */

	/* The mirror's lock is free now: the retry succeeds. */
	b.refuse_nonblock = false;
	TEST_ASSERT_EQ(__oom_reap_task_mm(mm), 0);
	TEST_ASSERT(other.ends > 0 && other.starts == other.ends, "a full start/end pair");
	mm_check_zero(mm, anon, LEN);
	mmu_notifier_unregister(&b.mn, mm);
	mmu_notifier_unregister(&other.mn, mm);
	mmput(mm);
	test_pool_destroy(pool);
}

TEST(contended_mmap_lock_is_eagain)
{
	struct frame_pool *pool = test_pool(POOL);
	struct mm_struct *mm = test_mm(pool);
	unsigned long anon = test_mmap_anon(mm, LEN, PROT_READ | PROT_WRITE);

	mm_fill(mm, anon, LEN, 4);
	mmap_write_lock(mm);
	TEST_ASSERT_EQ(__oom_reap_task_mm(mm), -EAGAIN);
	mmap_write_unlock(mm);
	mm_check(mm, anon, LEN, 4);
	mmput(mm);
	test_pool_destroy(pool);
}
