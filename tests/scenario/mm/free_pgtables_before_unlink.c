// SPDX-License-Identifier: GPL-2.0
/*
 * Rule 5, unlink before freeing page tables: free_pgtables() unlinks a VMA
 * from its anon_vma chains and from i_mmap before it frees the VMA's page
 * tables.
 *
 * Truncation walks a file's i_mmap under i_mmap_rwsem (read), without the
 * mmap_lock of any process, and walks each VMA's page tables: it reads the
 * pmd entry, then maps the PTE table it names and takes that table's
 * lock.  A munmap of the VMA racing with it zaps the PTEs and frees the
 * tables.  With the rule, munmap must take i_mmap_rwsem (for write) to
 * unlink the VMA before it frees the tables, so it waits for the walk.
 * Without it (the kernel before free_pgtables() did the unlinking, and
 * LEGACY_FREE_PGTABLES_BEFORE_UNLINK here) the tables go first: the
 * truncation steps from its pmd snapshot into a freed frame, and the host
 * page-table walk's frame check reports it.
 *
 * The race, held open with schedule points:
 *   truncate: i_mmap_rwsem (read), finds the VMA, reads the pmd entry,
 *             stops at "zap_pte_range:pte_table";
 *   munmap:   zaps the PTEs, stops at "free_pgtables:unlink" (before the
 *             unlink; with the switch, after the tables were freed);
 *   truncate: goes on into the PTE table.
 */
#include <fcntl.h>
#include <string.h>

#include "base/kthread.h"
#include "base/legacy.h"
#include "base/sched_point.h"
#include "mm/internal.h"
#include "mm/sanitizer.h"
#include "tests/lib/mm_util.h"

#define POOL_SIZE (16UL << 20)
#define BASE 0x200000000UL /* 1 GiB aligned: one pmd table covers both VMAs */
#define SEED 5

struct scenario {
	struct frame_pool *pool;
	struct file *file;
	struct mm_struct *mm;
	unsigned long anon;
};

static int truncate_thread(void *data)
{
	struct scenario *sc = data;

	return vfs_truncate(sc->file, 0);
}

static int munmap_thread(void *data)
{
	struct scenario *sc = data;

	return vm_munmap(sc->mm, BASE, PAGE_SIZE);
}

/*
 * A shared file page mapped at BASE, and an anonymous page in the next
 * 2 MiB: the PTE table of BASE is the file VMA's alone (munmap frees it),
 * the pmd table above it is shared (munmap keeps it), so the truncation's
 * pmd pointer stays good and only the table it names goes.
 */
static void scenario_init(struct scenario *sc, bool legacy)
{
	uint8_t byte;

	sc->pool = test_pool(POOL_SIZE);
	sc->file = test_file(sc->pool, 2 * PAGE_SIZE, O_RDWR, SEED);
	sc->mm = test_mm(sc->pool);
	if (legacy)
		sc->mm->legacy |= LEGACY_BIT(LEGACY_FREE_PGTABLES_BEFORE_UNLINK);
	test_mmap(sc->mm, BASE, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, sc->file,
		  0);
	sc->anon = test_mmap(sc->mm, BASE + PMD_SIZE, PAGE_SIZE, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, NULL, 0);
	mm_fill(sc->mm, sc->anon, PAGE_SIZE, SEED);
	mm_read(sc->mm, BASE, &byte, 1);
	TEST_ASSERT_EQ(byte, mm_pattern_byte(0, SEED));
}

/* Truncation inside the VMA's PTE table walk, munmap at its unlink: then both go on. */
static void race(struct scenario *sc)
{
	struct kthread *t, *m;

	TEST_ASSERT_EQ(sched_point_arm("zap_pte_range:pte_table", "truncate"), 0);
	t = kthread_run(truncate_thread, sc, "truncate");
	TEST_ASSERT(!IS_ERR(t), "kthread_run");
	TEST_ASSERT_EQ(sched_point_wait("zap_pte_range:pte_table"), 0);

	TEST_ASSERT_EQ(sched_point_arm("free_pgtables:unlink", "munmap"), 0);
	m = kthread_run(munmap_thread, sc, "munmap");
	TEST_ASSERT(!IS_ERR(m), "kthread_run");
	TEST_ASSERT_EQ(sched_point_wait("free_pgtables:unlink"), 0);

	sched_point_release("zap_pte_range:pte_table");
	TEST_ASSERT_EQ(kthread_stop(t), 0);
	sched_point_release("free_pgtables:unlink");
	TEST_ASSERT_EQ(kthread_stop(m), 0);
}

/* Either way the data are right afterwards: the file is empty, the anon page intact. */
static void check_after(struct scenario *sc)
{
	struct sanitizer_counters c;
	uint8_t byte;

	TEST_ASSERT_EQ(i_size_read(sc->file->f_mapping), 0);
	TEST_ASSERT_EQ(sc->file->f_mapping->nrpages, 0);
	TEST_ASSERT(interval_tree_empty(&sc->file->f_mapping->i_mmap), "VMA still in i_mmap");
	TEST_ASSERT_EQ(mm_try_read(sc->mm, BASE, &byte, 1), -EFAULT);
	TEST_ASSERT_EQ(get_mm_counter(sc->mm, MM_FILEPAGES), 0);
	mm_check(sc->mm, sc->anon, PAGE_SIZE, SEED);
	frame_pool_sanitizer_counters(sc->pool, &c);
	TEST_ASSERT(!c.bad_page_state && !c.double_free && !c.write_after_free,
		    "the race corrupted something else");
}

static void scenario_fini(struct scenario *sc)
{
	mmput(sc->mm);
	fput(sc->file);
	TEST_ASSERT_EQ(test_pool_allocated(sc->pool), 0);
	frame_pool_destroy(sc->pool);
}

TEST(munmap_unlinks_before_freeing_page_tables)
{
	struct sanitizer_counters c;
	struct scenario sc;

	scenario_init(&sc, false);
	race(&sc);
	check_after(&sc);
	frame_pool_sanitizer_counters(sc.pool, &c);
	TEST_ASSERT_EQ(c.use_after_free, 0);
	expect_reports(REPORT_SANITIZER, 0);
	scenario_fini(&sc);
}

TEST(legacy_truncation_walks_freed_page_table)
{
	struct sanitizer_counters c;
	struct scenario sc;
	char title[128];

	scenario_init(&sc, true);
	race(&sc);
	check_after(&sc);
	frame_pool_sanitizer_counters(sc.pool, &c);
	TEST_ASSERT_EQ(c.use_after_free, 1);
	report_last_title(REPORT_SANITIZER, title, sizeof(title));
	expect_reports(REPORT_SANITIZER, 1);
	TEST_ASSERT(strstr(title, "use-after-free"), "report: %s", title);
	scenario_fini(&sc);
}
