// SPDX-License-Identifier: GPL-2.0
/*
 * Rule 8, mlock under the PTE lock: when reclaim's try_to_unmap() meets a
 * page mapped in a VM_LOCKED VMA, it marks the page mlocked while it still
 * holds the PTE lock under which it saw the mapping.
 *
 * The historical code dropped the PTE lock and marked the page under a
 * trylock of the VMA's mmap_lock instead (LEGACY_MLOCK_TRYLOCK).  mmap_lock
 * does not keep the PTE: a COW fault holds it only for read, and replaces
 * the mapping meanwhile, clearing the mark page_remove_rmap() gives a page
 * leaving a locked VMA (there is none to clear yet).  The late mark then
 * lands on a page no locked VMA maps, nothing ever clears it, and the page
 * is freed "still mlocked" (the kernel's bad page state).
 *
 * The race, held open with a schedule point:
 *   mm x maps a file page privately in a VM_LOCKED VMA (read-only, not yet
 *   COWed); mm y maps it too, and y's munlock clears the page's mark;
 *   reclaim: page locked, try_to_unmap() finds x's locked VMA, stops at
 *            "try_to_unmap:mlock" (with the rule the mark is already set,
 *            under the PTE lock; with the switch not yet);
 *   x:       writes the page: COW fault, the locked VMA now maps a copy;
 *   reclaim: goes on.  Then the file is closed and its page freed.
 */
#include <fcntl.h>
#include <string.h>

#include "base/kthread.h"
#include "base/legacy.h"
#include "base/sched_point.h"
#include "mm/internal.h"
#include "mm/swap.h"
#include "tests/lib/mm_util.h"

#define POOL_SIZE (4UL << 20)
#define SEED 4

struct scenario {
	struct frame_pool *pool;
	struct file *file;
	struct mm_struct *x, *y;
	unsigned long ax, ay;
	struct page *page;
};

static int reclaim_thread(void *data)
{
	struct scenario *sc = data;
	bool unmapped;

	lock_page(sc->page);
	unmapped = try_to_unmap(sc->page, 0);
	unlock_page(sc->page);
	return unmapped;
}

static void setup(struct scenario *sc, bool legacy)
{
	char c;

	sc->pool = test_pool(POOL_SIZE);
	sc->file = test_file(sc->pool, PAGE_SIZE, O_RDWR, SEED);
	sc->x = test_mm(sc->pool);
	sc->y = test_mm(sc->pool);
	if (legacy) {
		sc->x->legacy |= LEGACY_BIT(LEGACY_MLOCK_TRYLOCK);
		sc->y->legacy |= LEGACY_BIT(LEGACY_MLOCK_TRYLOCK);
	}
	sc->ax = test_mmap(sc->x, 0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, sc->file, 0);
	/* On fault, so the read maps the page-cache page itself, not a COW copy. */
	TEST_ASSERT_EQ(do_mlock(sc->x, sc->ax, PAGE_SIZE, MLOCK_ONFAULT), 0);
	mm_read(sc->x, sc->ax, &c, 1);
	sc->ay = test_mmap(sc->y, 0, PAGE_SIZE, PROT_READ, MAP_SHARED | MAP_LOCKED, sc->file, 0);
	sc->page = mm_lookup_page(sc->x, sc->ax);
	TEST_ASSERT(sc->page && !PageAnon(sc->page), "x does not map the page-cache page");
	TEST_ASSERT(PageMlocked(sc->page), "page of a locked VMA not mlocked");
	/* No mlock count per page: y's munlock clears the mark x still wants. */
	TEST_ASSERT_EQ(do_munlock(sc->y, sc->ay, PAGE_SIZE), 0);
	TEST_ASSERT(!PageMlocked(sc->page), "munlock kept the mark");
}

static void race(struct scenario *sc)
{
	struct kthread *reclaim;

	TEST_ASSERT_EQ(sched_point_arm("try_to_unmap:mlock", "reclaimer"), 0);
	reclaim = kthread_run(reclaim_thread, sc, "reclaimer");
	TEST_ASSERT(!IS_ERR(reclaim), "kthread_run");
	TEST_ASSERT_EQ(sched_point_wait("try_to_unmap:mlock"), 0);
	/* x's write: COW under mmap_lock (read), the locked VMA leaves the page. */
	mm_fill(sc->x, sc->ax, PAGE_SIZE, SEED + 1);
	sched_point_release("try_to_unmap:mlock");
	TEST_ASSERT_EQ(kthread_stop(reclaim), 0); /* a locked VMA: not unmapped */
}

static void teardown(struct scenario *sc)
{
	mm_check(sc->x, sc->ax, PAGE_SIZE, SEED + 1);
	put_page(sc->page);
	mmput(sc->x);
	mmput(sc->y);
	fput(sc->file); /* the page leaves the page cache: its last reference */
}

TEST(mark_under_pte_lock_is_cleared_by_cow)
{
	struct scenario sc = { 0 };

	setup(&sc, false);
	race(&sc);
	TEST_ASSERT(!PageMlocked(sc.page), "page no locked VMA maps is still mlocked");
	teardown(&sc);
	TEST_ASSERT_EQ(report_count(REPORT_SANITIZER), 0UL);
	test_pool_destroy(sc.pool);
}

TEST(legacy_trylock_frees_page_still_mlocked)
{
	struct scenario sc = { 0 };
	char title[128];

	setup(&sc, true);
	race(&sc);
	TEST_ASSERT(PageMlocked(sc.page), "the late mark did not land");
	teardown(&sc);
	report_last_title(REPORT_SANITIZER, title, sizeof(title));
	expect_reports(REPORT_SANITIZER, 1);
	TEST_ASSERT(strstr(title, "Bad page state: page still mlocked"), "reported: %s", title);
	frame_pool_destroy(sc.pool);
}
