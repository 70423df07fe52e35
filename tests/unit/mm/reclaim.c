// SPDX-License-Identifier: GPL-2.0
/*
 * Reclaim outcomes: clean file pages dropped, dirty ones written back
 * first, anon pages to swap, shrink_node() to a target, proactive_reclaim()
 * to a whole working set, direct reclaim for
 * an allocation that finds the pool empty, kswapd between its watermarks,
 * and OOM (a report naming who wanted memory) when nothing can be freed.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/sched_point.h"
#include "mm/internal.h"
#include "mm/swap.h"
#include "tests/lib/mm_util.h"

/* Assert [addr, addr + len) maps test_file(@seed) from file offset 0. */
static void check_file_map(struct mm_struct *mm, unsigned long addr, size_t len, uint64_t seed)
{
	unsigned char buf[PAGE_SIZE];

	for (size_t off = 0; off < len; off += PAGE_SIZE) {
		mm_read(mm, addr + off, buf, PAGE_SIZE);
		for (size_t i = 0; i < PAGE_SIZE; i++)
			TEST_ASSERT(buf[i] == mm_pattern_byte(off + i, seed), "file byte %zu",
				    off + i);
	}
}

TEST(clean_file_page_dropped)
{
	struct frame_pool *pool = test_pool(4UL << 20);
	struct mm_struct *mm = test_mm(pool);
	struct file *file = test_file(pool, 4 * PAGE_SIZE, O_RDWR, 11);
	unsigned long a = test_mmap(mm, 0, 4 * PAGE_SIZE, PROT_READ, MAP_SHARED, file, 0);
	unsigned long before;

	check_file_map(mm, a, 4 * PAGE_SIZE, 11);
	TEST_ASSERT_EQ(file->f_mapping->nrpages, 4UL);
	before = test_pool_allocated(pool);
	TEST_ASSERT(mm_pageout(mm, a + PAGE_SIZE), "clean page not reclaimed");
	TEST_ASSERT_EQ(file->f_mapping->nrpages, 3UL);
	TEST_ASSERT_EQ(test_pool_allocated(pool), before - 1);
	TEST_ASSERT_EQ(mm_pte_val(mm, a + PAGE_SIZE), 0UL);
	TEST_ASSERT_EQ(atomic_long_read(&pool->pgdat->stats.pgwriteback), 0L);
	check_file_map(mm, a, 4 * PAGE_SIZE, 11);
	mmput(mm);
	fput(file);
	test_pool_destroy(pool);
}

TEST(dirty_file_page_written_back_first)
{
	struct frame_pool *pool = test_pool(4UL << 20);
	struct mm_struct *mm = test_mm(pool);
	struct file *file = test_file(pool, 2 * PAGE_SIZE, O_RDWR, 11);
	unsigned long a =
		test_mmap(mm, 0, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, file, 0);
	unsigned char buf[PAGE_SIZE];

	mm_fill(mm, a, PAGE_SIZE, 12);
	TEST_ASSERT(mm_pageout(mm, a), "dirty page not reclaimed");
	TEST_ASSERT_EQ(atomic_long_read(&pool->pgdat->stats.pgwriteback), 1L);
	test_file_read(file, 0, buf, PAGE_SIZE);
	for (unsigned long i = 0; i < PAGE_SIZE; i++)
		TEST_ASSERT(buf[i] == mm_pattern_byte(a + i, 12), "file byte %lu not written", i);
	mm_check(mm, a, PAGE_SIZE, 12);
	mmput(mm);
	fput(file);
	test_pool_destroy(pool);
}

/* A private COW of a file page is anonymous: it goes to swap, the file keeps its own. */
TEST(private_cow_goes_to_swap)
{
	struct frame_pool *pool = test_pool(4UL << 20);
	struct mm_struct *mm = test_mm(pool);
	struct file *file = test_file(pool, PAGE_SIZE, O_RDWR, 11);
	unsigned long a = test_mmap(mm, 0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, file, 0);
	int type = test_swapon(8);

	mm_fill(mm, a, PAGE_SIZE, 13);
	TEST_ASSERT(mm_pageout(mm, a), "COW page not reclaimed");
	TEST_ASSERT_EQ(nr_swap_pages_used(), 1UL);
	mm_check(mm, a, PAGE_SIZE, 13);
	mmput(mm);
	fput(file);
	TEST_ASSERT_EQ(swapoff(type), 0);
	test_pool_destroy(pool);
}

TEST(shrink_node_reaches_target)
{
	struct frame_pool *pool = test_pool(4UL << 20);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, 128 * PAGE_SIZE, PROT_READ | PROT_WRITE);
	struct file *file = test_file(pool, 64 * PAGE_SIZE, O_RDWR, 11);
	unsigned long f = test_mmap(mm, 0, 64 * PAGE_SIZE, PROT_READ, MAP_SHARED, file, 0);
	unsigned long freed, before;
	int type = test_swapon(256);

	mm_fill(mm, a, 128 * PAGE_SIZE, 14);
	check_file_map(mm, f, 64 * PAGE_SIZE, 11);
	before = test_pool_allocated(pool);
	freed = shrink_node(pool->pgdat, 96);
	TEST_ASSERT(freed >= 96, "freed %lu of 96", freed);
	TEST_ASSERT(test_pool_allocated(pool) <= before - 96, "frames not back");
	TEST_ASSERT(atomic_long_read(&pool->pgdat->stats.pswpout) > 0, "nothing swapped");
	mm_check(mm, a, 128 * PAGE_SIZE, 14);
	check_file_map(mm, f, 64 * PAGE_SIZE, 11);
	mmput(mm);
	fput(file);
	TEST_ASSERT_EQ(nr_swap_pages_used(), 0UL);
	TEST_ASSERT_EQ(swapoff(type), 0);
	test_pool_destroy(pool);
}

/*
 * A working set all just touched: the first looks activate every page, so
 * one shrink_node() frees only part of it; proactive_reclaim() calls it
 * again, as memory.reclaim does, until the whole target is freed.
 */
TEST(proactive_reclaim_frees_a_just_touched_working_set)
{
	struct frame_pool *pool = test_pool(4UL << 20);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, 512 * PAGE_SIZE, PROT_READ | PROT_WRITE);
	int type = test_swapon(1024);

	mm_fill(mm, a, 512 * PAGE_SIZE, 16);
	TEST_ASSERT_EQ(proactive_reclaim(pool->pgdat, 512), 512UL);
	TEST_ASSERT_EQ(get_mm_counter(mm, MM_ANONPAGES), 0UL);
	mm_check(mm, a, 512 * PAGE_SIZE, 16);
	mmput(mm);
	TEST_ASSERT_EQ(nr_swap_pages_used(), 0UL);
	TEST_ASSERT_EQ(swapoff(type), 0);
	test_pool_destroy(pool);
}

/* Nothing reclaimable (anon, no swap): the loop gives up and frees nothing. */
TEST(proactive_reclaim_gives_up_without_progress)
{
	struct frame_pool *pool = test_pool(4UL << 20);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, 64 * PAGE_SIZE, PROT_READ | PROT_WRITE);

	mm_fill(mm, a, 64 * PAGE_SIZE, 17);
	TEST_ASSERT_EQ(proactive_reclaim(pool->pgdat, 64), 0UL);
	mm_check(mm, a, 64 * PAGE_SIZE, 17);
	mmput(mm);
	test_pool_destroy(pool);
}

/* Twice the pool's size of anon memory, through direct reclaim to swap. */
TEST(direct_reclaim_makes_room)
{
	struct frame_pool *pool = test_pool(2UL << 20); /* 512 frames */
	struct mm_struct *mm = test_mm(pool);
	unsigned long len = 1024 * PAGE_SIZE;
	unsigned long a = test_mmap_anon(mm, len, PROT_READ | PROT_WRITE);
	int type = test_swapon(2048);

	reclaim_enable(pool);
	mm_fill(mm, a, len, 15);
	mm_check(mm, a, len, 15);
	TEST_ASSERT(atomic_long_read(&pool->pgdat->stats.direct_calls) > 0, "no direct reclaim");
	TEST_ASSERT_EQ(report_count(REPORT_OOM), 0UL);
	mmput(mm);
	TEST_ASSERT_EQ(nr_swap_pages_used(), 0UL);
	TEST_ASSERT_EQ(swapoff(type), 0);
	test_pool_destroy(pool);
}

/* No swap, nothing file-backed: the fault fails with -ENOMEM and OOM names the task. */
TEST(oom_when_nothing_can_be_freed)
{
	struct frame_pool *pool = test_pool(1UL << 20); /* 256 frames */
	struct mm_struct *mm = test_mm(pool);
	unsigned long len = 512 * PAGE_SIZE;
	unsigned long a = test_mmap_anon(mm, len, PROT_READ | PROT_WRITE);
	unsigned char buf[PAGE_SIZE];
	char title[128];
	long ret = 0;

	reclaim_enable(pool);
	memset(buf, 1, sizeof(buf));
	for (unsigned long off = 0; off < len; off += PAGE_SIZE) {
		ret = mm_try_write(mm, a + off, buf, PAGE_SIZE);
		if (ret < 0)
			break;
	}
	TEST_ASSERT_EQ(ret, (long)-ENOMEM);
	TEST_ASSERT(report_count(REPORT_OOM) >= 1, "no OOM report");
	report_last_title(REPORT_OOM, title, sizeof(title));
	TEST_ASSERT(strstr(title, "test-main"), "OOM report names nobody: %s", title);
	report_consume(REPORT_OOM);
	mmput(mm);
	test_pool_destroy(pool);
}

/*
 * kswapd: woken when an allocation leaves fewer than the low watermark's
 * frames free, it reclaims to the high one in the background.
 */
TEST(kswapd_restores_high_watermark)
{
	struct frame_pool *pool = test_pool(2UL << 20); /* 512 frames */
	struct mm_struct *mm = test_mm(pool);
	unsigned long len = 448 * PAGE_SIZE;
	unsigned long a = test_mmap_anon(mm, len, PROT_READ | PROT_WRITE);
	int type = test_swapon(1024);

	struct page *page;

	mm_fill(mm, a, len, 16);
	TEST_ASSERT(frame_pool_nr_free(pool) < 128, "%lu free", frame_pool_nr_free(pool));
	TEST_ASSERT_EQ(sched_point_arm("kswapd:balanced", "kswapd"), 0);
	TEST_ASSERT_EQ(kswapd_run(pool, 128, 192), 0);
	/* The next allocation that takes a batch from the zone wakes kswapd. */
	frame_pool_drain_pcp(pool);
	page = alloc_page(pool, GFP_NOWAIT);
	TEST_ASSERT(page, "no frame");
	put_page(page);
	TEST_ASSERT_EQ(sched_point_wait("kswapd:balanced"), 0);
	TEST_ASSERT(frame_pool_nr_free(pool) >= 192, "kswapd left %lu free",
		    frame_pool_nr_free(pool));
	TEST_ASSERT(atomic_long_read(&pool->pgdat->stats.kswapd_runs) > 0, "kswapd never ran");
	sched_point_release("kswapd:balanced");
	kswapd_stop(pool);
	mm_check(mm, a, len, 16);
	mmput(mm);
	TEST_ASSERT_EQ(nr_swap_pages_used(), 0UL);
	TEST_ASSERT_EQ(swapoff(type), 0);
	test_pool_destroy(pool);
}

/* A page pinned for DMA stays: writes through the pin must land in it. */
TEST(pinned_page_not_reclaimed)
{
	struct frame_pool *pool = test_pool(4UL << 20);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, PAGE_SIZE, PROT_READ | PROT_WRITE);
	struct page *pinned;
	int type = test_swapon(8);

	mm_fill(mm, a, PAGE_SIZE, 17);
	TEST_ASSERT_EQ(get_user_pages(mm, a, 1, FOLL_PIN | FOLL_WRITE, &pinned), 1L);
	TEST_ASSERT(!mm_pageout(mm, a), "pinned page reclaimed");
	TEST_ASSERT_EQ(nr_swap_pages_used(), 0UL);
	unpin_user_page(pinned);
	TEST_ASSERT(mm_pageout(mm, a), "unpinned page not reclaimed");
	mm_check(mm, a, PAGE_SIZE, 17);
	mmput(mm);
	TEST_ASSERT_EQ(swapoff(type), 0);
	test_pool_destroy(pool);
}

/*
 * A reference taken before reclaim unmapped the page (a GUP lookup that may
 * still be copying into it): the page is not written out under it, nor
 * dropped; once the reference goes, the next pass writes and frees it.
 */
TEST(page_held_from_before_unmap_not_written)
{
	struct frame_pool *pool = test_pool(4UL << 20);
	struct mm_struct *mm = test_mm(pool);
	struct file *file = test_file(pool, PAGE_SIZE, O_RDWR, 11);
	unsigned long a = test_mmap(mm, 0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, file, 0);
	struct page *held;

	mm_fill(mm, a, PAGE_SIZE, 18);
	TEST_ASSERT_EQ(get_user_pages(mm, a, 1, FOLL_GET | FOLL_WRITE, &held), 1L);
	TEST_ASSERT(!mm_pageout(mm, a), "reclaimed under a reference");
	TEST_ASSERT_EQ(mm_pte_val(mm, a), 0UL); /* unmapped all the same */
	TEST_ASSERT(PageDirty(held), "cleaned under a reference");
	TEST_ASSERT_EQ(atomic_long_read(&pool->pgdat->stats.pgwriteback), 0L);
	put_page(held);
	TEST_ASSERT_EQ(shrink_node(pool->pgdat, 1), 1UL);
	TEST_ASSERT_EQ(atomic_long_read(&pool->pgdat->stats.pgwriteback), 1L);
	TEST_ASSERT_EQ(file->f_mapping->nrpages, 0UL);
	mm_check(mm, a, PAGE_SIZE, 18);
	mmput(mm);
	fput(file);
	test_pool_destroy(pool);
}
