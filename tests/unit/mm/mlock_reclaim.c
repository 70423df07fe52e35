// SPDX-License-Identifier: GPL-2.0
/*
 * mlock and reclaim: mlocked pages stay on the unevictable list and are
 * never reclaimed; munlocked they are; a page evictable by mistake (its
 * mark cleared by another VMA's munlock) is found locked by reclaim's rmap
 * walk, marked again and culled to the unevictable list.
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

TEST(mlocked_anon_never_reclaimed)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, 16 * PAGE_SIZE, PROT_READ | PROT_WRITE);
	int type = test_swapon(64);

	mm_fill(mm, a, 16 * PAGE_SIZE, 2);
	TEST_ASSERT_EQ(do_mlock(mm, a, 16 * PAGE_SIZE, 0), 0);
	TEST_ASSERT_EQ(shrink_node(pool->pgdat, 16), 0UL);
	TEST_ASSERT_EQ(nr_on(pool, LRU_UNEVICTABLE), 16UL);
	TEST_ASSERT_EQ(nr_swap_pages_used(), 0UL);

	TEST_ASSERT_EQ(do_munlock(mm, a, 8 * PAGE_SIZE), 0);
	TEST_ASSERT_EQ(shrink_node(pool->pgdat, 16), 8UL);
	TEST_ASSERT_EQ(nr_on(pool, LRU_UNEVICTABLE), 8UL);
	TEST_ASSERT_EQ(get_mm_counter(mm, MM_SWAPENTS), 8UL);
	mm_check(mm, a, 16 * PAGE_SIZE, 2);
	mmput(mm);
	TEST_ASSERT_EQ(swapoff(type), 0);
	test_pool_destroy(pool);
}

/* The file page x still locks, made evictable by y's munlock: reclaim culls it. */
TEST(reclaim_culls_page_of_locked_vma)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *x = test_mm(pool), *y = test_mm(pool);
	struct file *file = test_file(pool, PAGE_SIZE, O_RDWR, 3);
	unsigned long ax = test_mmap(x, 0, PAGE_SIZE, PROT_READ, MAP_SHARED | MAP_LOCKED, file, 0);
	unsigned long ay = test_mmap(y, 0, PAGE_SIZE, PROT_READ, MAP_SHARED | MAP_LOCKED, file, 0);
	struct page *page = mm_lookup_page(x, ax);

	TEST_ASSERT(page, "not mapped");
	put_page(page);
	TEST_ASSERT_EQ(do_munlock(y, ay, PAGE_SIZE), 0);
	TEST_ASSERT_EQ(nr_on(pool, LRU_UNEVICTABLE), 0UL);
	TEST_ASSERT_EQ(shrink_node(pool->pgdat, 1), 0UL);
	TEST_ASSERT(PageMlocked(page), "not marked again");
	TEST_ASSERT_EQ(nr_on(pool, LRU_UNEVICTABLE), 1UL);
	TEST_ASSERT_EQ(page_mapcount(page), 2);
	mmput(x);
	/* x's unmap cleared the mark; the page is evictable and goes. */
	TEST_ASSERT_EQ(nr_on(pool, LRU_UNEVICTABLE), 0UL);
	TEST_ASSERT_EQ(shrink_node(pool->pgdat, 1), 1UL);
	TEST_ASSERT_EQ(file->f_mapping->nrpages, 0UL);
	mmput(y);
	fput(file);
	test_pool_destroy(pool);
}
