// SPDX-License-Identifier: GPL-2.0
/*
 * The LRU lists: where new anon and file pages go, activation by
 * mark_page_accessed() and by reclaim finding a page referenced, aging back
 * to the inactive list, the unevictable list for mlocked pages, isolation
 * and putback, and pages leaving their list when freed.
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "mm/internal.h"
#include "mm/swap.h"
#include "tests/lib/mm_util.h"

#define POOL_SIZE (4UL << 20)

static unsigned long nr_on(struct frame_pool *pool, enum lru_list lru)
{
	unsigned long nr[NR_LRU_LISTS];

	lru_counts(pool, nr);
	return nr[lru];
}

TEST(new_pages_join_inactive_lists)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	struct file *file = test_file(pool, 2 * PAGE_SIZE, O_RDWR, 1);
	unsigned long a = test_mmap_anon(mm, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE);
	unsigned long f = test_mmap(mm, 0, 2 * PAGE_SIZE, PROT_READ, MAP_SHARED, file, 0);
	struct page *page;

	mm_fill(mm, a, 4 * PAGE_SIZE, 1);
	mm_read(mm, f, &(char){ 0 }, 1);
	mm_read(mm, f + PAGE_SIZE, &(char){ 0 }, 1);
	TEST_ASSERT_EQ(nr_on(pool, LRU_INACTIVE_ANON), 4UL);
	TEST_ASSERT_EQ(nr_on(pool, LRU_INACTIVE_FILE), 2UL);
	TEST_ASSERT_EQ(nr_on(pool, LRU_ACTIVE_ANON) + nr_on(pool, LRU_ACTIVE_FILE), 0UL);
	page = mm_page_at(mm, a);
	TEST_ASSERT(PageLRU(page) && !PageActive(page), "flags %#lx", page->flags);
	TEST_ASSERT_EQ(page_lru(page), LRU_INACTIVE_ANON);

	/* Freed pages leave their lists. */
	TEST_ASSERT_EQ(vm_munmap(mm, a, 4 * PAGE_SIZE), 0);
	TEST_ASSERT_EQ(nr_on(pool, LRU_INACTIVE_ANON), 0UL);
	mmput(mm);
	TEST_ASSERT_EQ(nr_on(pool, LRU_INACTIVE_FILE), 2UL); /* the page cache holds them */
	fput(file);
	TEST_ASSERT_EQ(nr_on(pool, LRU_INACTIVE_FILE), 0UL);
	test_pool_destroy(pool);
}

TEST(mark_page_accessed_twice_activates)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, PAGE_SIZE, PROT_READ | PROT_WRITE);
	struct page *page;

	mm_fill(mm, a, PAGE_SIZE, 1);
	page = mm_page_at(mm, a);
	ClearPageReferenced(page); /* gup's lookups touch it (FOLL_TOUCH) */
	mark_page_accessed(page);
	TEST_ASSERT(PageReferenced(page) && !PageActive(page), "first access activated");
	mark_page_accessed(page);
	TEST_ASSERT(PageActive(page), "second access did not activate");
	TEST_ASSERT_EQ(nr_on(pool, LRU_ACTIVE_ANON), 1UL);
	TEST_ASSERT_EQ(nr_on(pool, LRU_INACTIVE_ANON), 0UL);
	mmput(mm);
	TEST_ASSERT_EQ(nr_on(pool, LRU_ACTIVE_ANON), 0UL);
	test_pool_destroy(pool);
}

TEST(isolate_and_putback)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, PAGE_SIZE, PROT_READ | PROT_WRITE);
	struct page *page;
	int refs;

	mm_fill(mm, a, PAGE_SIZE, 1);
	page = mm_page_at(mm, a);
	refs = page_count(page);
	TEST_ASSERT_EQ(isolate_lru_page(page), 0);
	TEST_ASSERT(!PageLRU(page), "still PG_lru");
	TEST_ASSERT_EQ(page_count(page), refs + 1);
	TEST_ASSERT_EQ(isolate_lru_page(page), -EBUSY);
	TEST_ASSERT_EQ(nr_on(pool, LRU_INACTIVE_ANON), 0UL);
	/* Unmapped while isolated: the isolation reference keeps it. */
	TEST_ASSERT_EQ(vm_munmap(mm, a, PAGE_SIZE), 0);
	TEST_ASSERT_EQ(page_count(page), 1);
	putback_lru_page(page); /* the last reference: freed, off every list */
	TEST_ASSERT_EQ(nr_on(pool, LRU_INACTIVE_ANON), 0UL);
	mmput(mm);
	test_pool_destroy(pool);
}

/* mlock moves pages to the unevictable list and munlock back; reclaim skips them. */
TEST(mlocked_pages_are_unevictable)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE);

	mm_fill(mm, a, 4 * PAGE_SIZE, 1);
	TEST_ASSERT_EQ(do_mlock(mm, a, 2 * PAGE_SIZE, 0), 0);
	TEST_ASSERT_EQ(nr_on(pool, LRU_UNEVICTABLE), 2UL);
	TEST_ASSERT_EQ(nr_on(pool, LRU_INACTIVE_ANON), 2UL);
	TEST_ASSERT(PageUnevictable(mm_page_at(mm, a)), "not unevictable");
	TEST_ASSERT_EQ(do_munlock(mm, a, PAGE_SIZE), 0);
	TEST_ASSERT_EQ(nr_on(pool, LRU_UNEVICTABLE), 1UL);
	TEST_ASSERT_EQ(nr_on(pool, LRU_INACTIVE_ANON), 3UL);
	mmput(mm);
	TEST_ASSERT_EQ(nr_on(pool, LRU_UNEVICTABLE), 0UL);
	test_pool_destroy(pool);
}

/*
 * Aging: reclaim meets freshly written anon pages referenced and activates
 * them; the next pass finds the active list longer than the inactive one,
 * ages it (the accessed bits were cleared when they were activated), sends
 * them back to the inactive list, and reclaims from there.
 */
TEST(aging_moves_referenced_to_active_and_back)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, 8 * PAGE_SIZE, PROT_READ | PROT_WRITE);
	struct reclaim_stats *st = &pool->pgdat->stats;
	int type;

	type = test_swapon(16);

	mm_fill(mm, a, 8 * PAGE_SIZE, 1);
	/* A batch is reclaimed whole: the target is met by the first batch past aging. */
	TEST_ASSERT_EQ(shrink_node(pool->pgdat, 1), 8UL);
	TEST_ASSERT_EQ(atomic_long_read(&st->pgactivate), 8L);
	TEST_ASSERT_EQ(atomic_long_read(&st->pgdeactivate), 8L);
	TEST_ASSERT_EQ(get_mm_counter(mm, MM_SWAPENTS), 8UL);

	/* Faulted back in: on the active list, as pages in use. */
	mm_check(mm, a, 8 * PAGE_SIZE, 1);
	TEST_ASSERT_EQ(nr_on(pool, LRU_ACTIVE_ANON), 8UL);
	mm_check(mm, a, 8 * PAGE_SIZE, 1);
	mmput(mm);
	TEST_ASSERT_EQ(swapoff(type), 0);
	test_pool_destroy(pool);
}
