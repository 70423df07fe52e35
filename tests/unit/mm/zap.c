// SPDX-License-Identifier: GPL-2.0
/*
 * The zap (zap_pte_range() and its callers): one PTE walk serves munmap,
 * exit, MADV_DONTNEED and truncation, and each check it makes holds on
 * every path: the pmd entry rechecked under the PTE lock, a PTE that rmap
 * does not count reported as a bad page map, every cleared PTE in the TLB
 * flush range before its page reaches the gather.  (The rss counters, the
 * notifier bracket and the atomic section are checked on each path by
 * fault.c, exit.c, notifier_calls.c and truncate.c.)
 */
#include <fcntl.h>
#include <string.h>

#include "base/kthread.h"
#include "base/sched_point.h"
#include "mm/internal.h"
#include "tests/lib/mm_util.h"

#define POOL_SIZE (16UL << 20)
#define BASE 0x200000000UL /* PMD-aligned: the VMA has a PTE table of its own */
#define NR_PAGES 4
#define SEED 13
#define RW (PROT_READ | PROT_WRITE)

/* ---- the pmd recheck ---- */

/*
 * What khugepaged does to a PTE table under a walker that holds neither
 * mmap_lock nor the table's lock, played by hand (the model has no
 * khugepaged): the table at @addr is replaced by a copy in a new one, and
 * the old one is left empty but allocated, since a walker that read the
 * pmd entry before may still lock it.  Returns the old table, for
 * pgtable_free() once that walker is done.
 */
static struct page *replace_pte_table(struct mm_struct *mm, unsigned long addr)
{
	pmd_t *pmd = mm_find_pmd(mm, addr);
	struct page *old = pgtable_entry_page(mm, pmdp_get(pmd));
	spinlock_t *old_ptl = ptlock_ptr(old), *new_ptl;
	pte_t *src = page_address(old), *dst;

	pxx_clear(pmd);
	TEST_ASSERT_EQ(__pte_alloc(mm, pmd), 0);
	dst = page_address(pgtable_entry_page(mm, pmdp_get(pmd)));
	new_ptl = pte_lockptr(mm, pmd);
	spin_lock(old_ptl);
	spin_lock_nested(new_ptl, SINGLE_DEPTH_NESTING);
	for (int i = 0; i < PTRS_PER_PTE; i++) {
		set_pte(dst + i, ptep_get(src + i));
		pte_clear(mm, 0, src + i);
	}
	spin_unlock(new_ptl);
	spin_unlock(old_ptl);
	return old;
}

/*
 * Run @fn(@arg) as thread @comm until its first zap has read the pmd entry
 * of BASE, and replace that table under it.  Returns the thread, still
 * parked at "zap_pte_range:pte_table", and the old table in *@old_table.
 */
static struct kthread *park_zap_and_replace_table(struct mm_struct *mm, int (*fn)(void *),
						  void *arg, const char *comm,
						  struct page **old_table)
{
	struct kthread *k;

	TEST_ASSERT_EQ(sched_point_arm("zap_pte_range:pte_table", comm), 0);
	k = kthread_run(fn, arg, "%s", comm);
	TEST_ASSERT(!IS_ERR(k), "kthread_run");
	TEST_ASSERT_EQ(sched_point_wait("zap_pte_range:pte_table"), 0);
	*old_table = replace_pte_table(mm, BASE);
	return k;
}

static int munmap_thread(void *data)
{
	struct mm_struct *mm = data;

	return vm_munmap(mm, BASE, NR_PAGES * PAGE_SIZE);
}

/*
 * munmap's zap read the pmd entry, then the table was replaced: it must
 * zap the new table, not the one its snapshot names.  Without the recheck
 * the pages would stay mapped in a table that munmap then frees.
 */
TEST(munmap_zaps_the_table_the_pmd_names_under_the_lock)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	unsigned long before = test_pool_allocated(pool);
	struct page *old_table;
	struct kthread *m;

	test_mmap(mm, BASE, NR_PAGES * PAGE_SIZE, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, NULL,
		  0);
	mm_fill(mm, BASE, NR_PAGES * PAGE_SIZE, SEED);
	TEST_ASSERT_EQ(get_mm_counter(mm, MM_ANONPAGES), NR_PAGES);

	m = park_zap_and_replace_table(mm, munmap_thread, mm, "munmap", &old_table);
	sched_point_release("zap_pte_range:pte_table");
	TEST_ASSERT_EQ(kthread_stop(m), 0);

	TEST_ASSERT_EQ(get_mm_counter(mm, MM_ANONPAGES), 0);
	expect_reports(REPORT_WARN, 0); /* no table freed with live entries */
	pgtable_free(mm, old_table);
	TEST_ASSERT_EQ(test_pool_allocated(pool), before);
	mmput(mm);
	test_pool_destroy(pool);
}

static int truncate_thread(void *data)
{
	struct file *file = data;

	return vfs_truncate(file, 0);
}

/*
 * The same for truncation's first unmap_mapping_range(): after it, no PTE
 * maps a page of the file.  (Truncation unmaps each page again as it drops
 * it, which would hide a miss by the end of vfs_truncate().)
 */
TEST(unmap_mapping_range_zaps_the_table_the_pmd_names_under_the_lock)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct file *file = test_file(pool, NR_PAGES * PAGE_SIZE, O_RDWR, SEED);
	struct mm_struct *mm = test_mm(pool);
	struct page *old_table;
	struct kthread *t;
	uint8_t byte;

	test_mmap(mm, BASE, NR_PAGES * PAGE_SIZE, RW, MAP_SHARED | MAP_FIXED, file, 0);
	for (int i = 0; i < NR_PAGES; i++)
		mm_read(mm, BASE + i * PAGE_SIZE, &byte, 1);
	TEST_ASSERT_EQ(get_mm_counter(mm, MM_FILEPAGES), NR_PAGES);

	t = park_zap_and_replace_table(mm, truncate_thread, file, "truncate", &old_table);
	TEST_ASSERT_EQ(sched_point_arm("truncate:after_unmap", "truncate"), 0);
	sched_point_release("zap_pte_range:pte_table");
	TEST_ASSERT_EQ(sched_point_wait("truncate:after_unmap"), 0);

	TEST_ASSERT_EQ(get_mm_counter(mm, MM_FILEPAGES), 0);
	for (int i = 0; i < NR_PAGES; i++)
		TEST_ASSERT_EQ(mm_pte_val(mm, BASE + i * PAGE_SIZE), 0UL);

	sched_point_release("truncate:after_unmap");
	TEST_ASSERT_EQ(kthread_stop(t), 0);
	TEST_ASSERT_EQ(file->f_mapping->nrpages, 0);
	pgtable_free(mm, old_table);
	mmput(mm);
	fput(file);
	test_pool_destroy(pool);
}

/* ---- a PTE that rmap does not count ---- */

/*
 * Make the page at @addr look mapped by nobody though its PTE maps it:
 * the state a PTE copied without its rmap (or an rmap dropped twice)
 * leaves behind.
 */
static void forget_mapping(struct mm_struct *mm, unsigned long addr)
{
	struct page *page = mm_lookup_page(mm, addr);

	TEST_ASSERT(page && page_mapcount(page) == 1, "one mapping at %#lx", addr);
	atomic_set(&page->_mapcount, 0);
	put_page(page);
}

/* The zap reported the PTE itself (mm, address, entry), not an rmap underflow. */
static void expect_bad_page_map(void)
{
	char title[128];

	report_last_title(REPORT_WARN, title, sizeof(title));
	expect_reports(REPORT_WARN, 1);
	TEST_ASSERT(strstr(title, "Bad page map"), "report: %s", title);
}

TEST(munmap_reports_a_pte_rmap_does_not_count)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, NR_PAGES * PAGE_SIZE, RW);

	mm_fill(mm, a, NR_PAGES * PAGE_SIZE, SEED);
	forget_mapping(mm, a + PAGE_SIZE);
	TEST_ASSERT_EQ(vm_munmap(mm, a, NR_PAGES * PAGE_SIZE), 0);
	expect_bad_page_map();
	/* The PTE's reference went to the gather all the same: nothing leaks. */
	TEST_ASSERT_EQ(get_mm_counter(mm, MM_ANONPAGES), 0);
	mmput(mm);
	test_pool_destroy(pool);
}

TEST(exit_reports_a_pte_rmap_does_not_count)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, NR_PAGES * PAGE_SIZE, RW);

	mm_fill(mm, a, NR_PAGES * PAGE_SIZE, SEED);
	forget_mapping(mm, a);
	mmput(mm);
	expect_bad_page_map();
	test_pool_destroy(pool);
}

TEST(truncate_reports_a_pte_rmap_does_not_count)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct file *file = test_file(pool, NR_PAGES * PAGE_SIZE, O_RDWR, SEED);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap(mm, 0, NR_PAGES * PAGE_SIZE, RW, MAP_SHARED, file, 0);
	uint8_t byte;

	mm_read(mm, a + 3 * PAGE_SIZE, &byte, 1);
	forget_mapping(mm, a + 3 * PAGE_SIZE);
	TEST_ASSERT_EQ(vfs_truncate(file, 2 * PAGE_SIZE), 0);
	expect_bad_page_map();
	TEST_ASSERT_EQ(get_mm_counter(mm, MM_FILEPAGES), 0);
	TEST_ASSERT_EQ(file->f_mapping->nrpages, 0);
	mmput(mm);
	fput(file);
	test_pool_destroy(pool);
}

/* ---- the TLB flush range ---- */

/* A page gathered while no cleared PTE is in the flush range would outlive its translation. */
TEST(gathering_a_page_outside_the_flush_range_is_reported)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	struct page *page = alloc_page(pool, GFP_KERNEL);
	struct mmu_gather tlb;

	tlb_gather_mmu(&tlb, mm);
	tlb_remove_page(&tlb, page);
	expect_reports(REPORT_WARN, 1);
	tlb_finish_mmu(&tlb);
	mmput(mm);
	test_pool_destroy(pool);
}
