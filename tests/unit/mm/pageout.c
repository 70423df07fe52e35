// SPDX-License-Identifier: GPL-2.0
/*
 * MADV_PAGEOUT: the pages of a range reclaimed now, through the rmap and
 * its notifier calls, and back with their data on the next touch; a page
 * someone holds is unmapped and waits in the swap cache for a later
 * reclaim; shared and locked pages stay.
 */
#include "mm/internal.h"
#include "mm/swap.h"
#include "tests/lib/mm_util.h"

#define POOL_SIZE (8UL << 20)

static bool pte_is_present(struct mm_struct *mm, unsigned long addr)
{
	return pte_present(__pte(mm_pte_val(mm, addr)));
}

TEST(pageout_reclaims_the_range_and_the_data_comes_back)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, 8 * PAGE_SIZE, PROT_READ | PROT_WRITE);
	int type = test_swapon(64);
	unsigned long before;

	mm_fill(mm, a, 8 * PAGE_SIZE, 5);
	before = test_pool_allocated(pool);
	/* Pages 2..5: however recently used, they go. */
	TEST_ASSERT_EQ(do_madvise(mm, a + 2 * PAGE_SIZE, 4 * PAGE_SIZE, MADV_PAGEOUT), 0);
	TEST_ASSERT_EQ(test_pool_allocated(pool), before - 4);
	for (int i = 0; i < 8; i++)
		TEST_ASSERT_EQ(pte_is_present(mm, a + i * PAGE_SIZE), i < 2 || i >= 6);
	TEST_ASSERT_EQ(get_mm_counter(mm, MM_SWAPENTS), 4UL);
	mm_check(mm, a, 8 * PAGE_SIZE, 5);
	mmput(mm);
	TEST_ASSERT_EQ(swapoff(type), 0);
	test_pool_destroy(pool);
}

/*
 * A lookup's reference (a secondary MMU's fault between gup and its
 * install): the page is unmapped, the notifier told, but it cannot be
 * freed under the holder; it waits in the swap cache, and goes with the
 * next reclaim once the holder lets go.
 */
TEST(a_held_page_is_unmapped_and_freed_after_the_holder_lets_go)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, PAGE_SIZE, PROT_READ | PROT_WRITE);
	int type = test_swapon(16);
	struct page *page;

	mm_fill(mm, a, PAGE_SIZE, 9);
	page = mm_lookup_page(mm, a);
	TEST_ASSERT_EQ(do_madvise(mm, a, PAGE_SIZE, MADV_PAGEOUT), 0);
	TEST_ASSERT(!pte_is_present(mm, a), "the PTE went");
	TEST_ASSERT(PageSwapCache(page) && page_frame_state(page) != FRAME_FREE,
		    "held: in the swap cache, not freed");
	put_page(page);
	TEST_ASSERT_EQ(shrink_node(pool->pgdat, SWAP_CLUSTER_MAX), 1UL);
	TEST_ASSERT_EQ(page_frame_state(page), FRAME_FREE);
	mm_check(mm, a, PAGE_SIZE, 9);
	mmput(mm);
	TEST_ASSERT_EQ(swapoff(type), 0);
	test_pool_destroy(pool);
}

/* A page a child maps too is not this process's to page out; nor is locked memory. */
TEST(shared_and_locked_pages_stay)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool), *child;
	unsigned long a = test_mmap_anon(mm, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE);
	int type = test_swapon(16);

	mm_fill(mm, a, 2 * PAGE_SIZE, 3);
	child = test_fork(mm);
	TEST_ASSERT_EQ(do_madvise(mm, a, 2 * PAGE_SIZE, MADV_PAGEOUT), 0);
	TEST_ASSERT(pte_is_present(mm, a) && pte_is_present(child, a), "shared: stays");
	mmput(child);
	TEST_ASSERT_EQ(do_mlock(mm, a, PAGE_SIZE, 0), 0);
	TEST_ASSERT_EQ(do_madvise(mm, a, PAGE_SIZE, MADV_PAGEOUT), -EINVAL);
	TEST_ASSERT_EQ(do_madvise(mm, a + PAGE_SIZE, PAGE_SIZE, MADV_PAGEOUT), 0);
	TEST_ASSERT(pte_is_present(mm, a) && !pte_is_present(mm, a + PAGE_SIZE),
		    "locked stays, the other goes");
	mm_check(mm, a, 2 * PAGE_SIZE, 3);
	mmput(mm);
	TEST_ASSERT_EQ(swapoff(type), 0);
	test_pool_destroy(pool);
}
