// SPDX-License-Identifier: GPL-2.0
/*
 * try_to_unmap(): every mapping of a page found through rmap and removed,
 * each announced to secondary MMUs (MMU_NOTIFY_CLEAR) while the page is
 * still mapped; VM_LOCKED mappings stop it and mark the page (rule 8,
 * mlock under the PTE lock); TTU_IGNORE_MLOCK unmaps them too; TTU_MUNLOCK
 * only looks for them.
 */
#include <fcntl.h>

#include "mm/internal.h"
#include "mm/swap.h"
#include "tests/lib/mm_util.h"

#define POOL_SIZE (4UL << 20)

static bool unmap(struct page *page, enum ttu_flags flags)
{
	bool ret;

	lock_page(page);
	ret = try_to_unmap(page, flags);
	unlock_page(page);
	return ret;
}

struct unmap_recorder {
	struct mmu_notifier mn;
	struct page *page;
	int starts, ends;
	int mapcount_at_start;
	enum mmu_notifier_event event;
	unsigned long start, end;
};

static int rec_start(struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	struct unmap_recorder *r = container_of(mn, struct unmap_recorder, mn);

	r->starts++;
	r->event = range->event;
	r->start = range->start;
	r->end = range->end;
	r->mapcount_at_start = page_mapcount(r->page);
	return 0;
}

static void rec_end(struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	container_of(mn, struct unmap_recorder, mn)->ends++;
}

static const struct mmu_notifier_ops rec_ops = {
	.invalidate_range_start = rec_start,
	.invalidate_range_end = rec_end,
};

TEST(file_page_unmapped_everywhere_after_invalidate)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *x = test_mm(pool), *y = test_mm(pool);
	struct file *file = test_file(pool, 2 * PAGE_SIZE, O_RDWR, 3);
	unsigned long ax =
		test_mmap(x, 0, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, file, 0);
	unsigned long ay = test_mmap(y, 0, PAGE_SIZE, PROT_READ, MAP_PRIVATE, file, PAGE_SIZE);
	struct unmap_recorder rx = { .mn.ops = &rec_ops }, ry = { .mn.ops = &rec_ops };
	struct page *page;
	char c;

	mm_read(x, ax + PAGE_SIZE, &c, 1);
	mm_read(y, ay, &c, 1);
	page = mm_page_at(x, ax + PAGE_SIZE);
	TEST_ASSERT_EQ(mm_page_at(y, ay), page);
	TEST_ASSERT_EQ(page_mapcount(page), 2);
	rx.page = ry.page = page;
	TEST_ASSERT_EQ(mmu_notifier_register(&rx.mn, x), 0);
	TEST_ASSERT_EQ(mmu_notifier_register(&ry.mn, y), 0);

	get_page(page);
	TEST_ASSERT(unmap(page, 0), "still mapped");
	TEST_ASSERT_EQ(page_mapcount(page), 0);
	TEST_ASSERT_EQ(mm_pte_val(x, ax + PAGE_SIZE), 0UL);
	TEST_ASSERT_EQ(mm_pte_val(y, ay), 0UL);
	TEST_ASSERT_EQ(get_mm_counter(x, MM_FILEPAGES), 0UL);
	TEST_ASSERT_EQ(rx.starts, 1);
	TEST_ASSERT_EQ(rx.ends, 1);
	TEST_ASSERT_EQ(ry.starts, 1);
	TEST_ASSERT_EQ(rx.event, MMU_NOTIFY_CLEAR);
	TEST_ASSERT_EQ(rx.start, ax + PAGE_SIZE);
	TEST_ASSERT_EQ(rx.end, ax + 2 * PAGE_SIZE);
	TEST_ASSERT_EQ(ry.start, ay);
	/* Announced while the page was still mapped there. */
	TEST_ASSERT(rx.mapcount_at_start > 0 && ry.mapcount_at_start > 0,
		    "mapcount at start: %d, %d", rx.mapcount_at_start, ry.mapcount_at_start);
	put_page(page);

	/* Faults bring it back from the page cache. */
	mm_read(x, ax + PAGE_SIZE, &c, 1);
	TEST_ASSERT_EQ(mm_page_at(x, ax + PAGE_SIZE), page);
	mmu_notifier_unregister(&rx.mn, x);
	mmu_notifier_unregister(&ry.mn, y);
	mmput(x);
	mmput(y);
	fput(file);
	test_pool_destroy(pool);
}

/* The dirty bit of an unmapped shared PTE reaches the page. */
TEST(dirty_pte_dirties_page)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	struct file *file = test_file(pool, PAGE_SIZE, O_RDWR, 3);
	unsigned long a = test_mmap(mm, 0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, file, 0);
	struct page *page;

	mm_fill(mm, a, PAGE_SIZE, 4);
	page = mm_page_at(mm, a);
	lock_page(page);
	TEST_ASSERT_EQ(write_one_page(page), 0); /* clean, PTE write-protected */
	unlock_page(page);
	mm_fill(mm, a, PAGE_SIZE, 5); /* dirty again through the PTE */
	get_page(page);
	TEST_ASSERT(unmap(page, 0), "still mapped");
	TEST_ASSERT(PageDirty(page), "dirty bit lost");
	put_page(page);
	mm_check(mm, a, PAGE_SIZE, 5);
	mmput(mm);
	fput(file);
	test_pool_destroy(pool);
}

/*
 * x and y both mlock a file page; y's munlock clears the mark (no per-page
 * count here).  try_to_unmap meets x's VM_LOCKED VMA: it marks the page again
 * and stops.  TTU_IGNORE_MLOCK unmaps it anyway.
 */
TEST(mlock_stops_unmap_and_marks)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *x = test_mm(pool), *y = test_mm(pool);
	struct file *file = test_file(pool, PAGE_SIZE, O_RDWR, 3);
	unsigned long ax = test_mmap(x, 0, PAGE_SIZE, PROT_READ, MAP_SHARED | MAP_LOCKED, file, 0);
	unsigned long ay = test_mmap(y, 0, PAGE_SIZE, PROT_READ, MAP_SHARED | MAP_LOCKED, file, 0);
	struct page *page = mm_page_at(x, ax);

	TEST_ASSERT_EQ(mm_page_at(y, ay), page);
	TEST_ASSERT(PageMlocked(page), "not mlocked");
	TEST_ASSERT_EQ(do_munlock(y, ay, PAGE_SIZE), 0);
	TEST_ASSERT(!PageMlocked(page), "munlock kept the mark");

	/* TTU_MUNLOCK: only looks, finds x's locked VMA, marks. */
	lock_page(page);
	TEST_ASSERT(try_to_munlock(page), "x's VM_LOCKED VMA not found");
	unlock_page(page);
	TEST_ASSERT_EQ(page_mapcount(page), 2);
	munlock_page(page);

	TEST_ASSERT(!unmap(page, 0), "unmapped from a locked VMA");
	TEST_ASSERT(PageMlocked(page) && PageUnevictable(page), "not marked again");
	TEST_ASSERT(mm_pte_val(x, ax), "x's PTE gone");

	get_page(page);
	TEST_ASSERT(unmap(page, TTU_IGNORE_MLOCK), "TTU_IGNORE_MLOCK left it mapped");
	TEST_ASSERT(!PageMlocked(page), "unmapped from the locked VMA but still mlocked");
	put_page(page);

	/* Nobody locked maps it now: TTU_MUNLOCK finds nothing. */
	mm_check_zero(y, ay, 0);
	TEST_ASSERT_EQ(do_munlock(x, ax, PAGE_SIZE), 0);
	{
		char c;

		mm_read(x, ax, &c, 1);
		mm_read(y, ay, &c, 1);
	}
	page = mm_page_at(x, ax);
	lock_page(page);
	TEST_ASSERT(!try_to_munlock(page), "marked with no locked VMA");
	unlock_page(page);
	mmput(x);
	mmput(y);
	fput(file);
	test_pool_destroy(pool);
}
