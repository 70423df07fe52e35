// SPDX-License-Identifier: GPL-2.0
/*
 * Rule 8, mlock under the PTE lock, on reclaim's aging walk: when
 * page_referenced_one() meets a page mapped in a VM_LOCKED VMA it marks
 * the page mlocked before it drops the PTE lock under which it saw the
 * mapping.  Marked after, the mapping may be gone by then (a COW fault
 * holds mmap_lock only for read and needs only the PTE lock), its
 * page_remove_rmap() has already cleared the mark, and the late mark lands
 * on a page no locked VMA maps: nothing clears it, and the page is freed
 * "still mlocked".
 *
 * The race, held open with a schedule point after the PTE lock is dropped:
 *   mm x maps a file page privately in a VM_LOCKED VMA (read-only, not yet
 *   COWed); mm y maps it too, and y's munlock clears the page's mark;
 *   reclaim: page locked, folio_referenced() finds x's locked VMA, stops at
 *            "page_referenced_one:mlock" (the mark must already be set);
 *   x:       writes the page: COW fault, the locked VMA now maps a copy;
 *   reclaim: goes on.  The page must not be mlocked.
 * The same with x's munlock in place of the write: the page stays mapped,
 * in a VMA no longer locked.
 */
#include <fcntl.h>

#include "base/kthread.h"
#include "base/sched_point.h"
#include "mm/internal.h"
#include "tests/lib/mm_util.h"

#define POOL_SIZE (4UL << 20)
#define SEED 6

struct scenario {
	struct frame_pool *pool;
	struct file *file;
	struct mm_struct *x, *y;
	unsigned long ax, ay;
	struct page *page;
};

/* Reclaim's aging of the page, as shrink_page_list() does it: page locked. */
static int reclaim_thread(void *data)
{
	struct scenario *sc = data;
	unsigned long vm_flags;

	lock_page(sc->page);
	folio_referenced(sc->page, 1, &vm_flags);
	unlock_page(sc->page);
	return !!(vm_flags & VM_LOCKED);
}

static void setup(struct scenario *sc)
{
	char c;

	sc->pool = test_pool(POOL_SIZE);
	sc->file = test_file(sc->pool, PAGE_SIZE, O_RDWR, SEED);
	sc->x = test_mm(sc->pool);
	sc->y = test_mm(sc->pool);
	sc->ax = test_mmap(sc->x, 0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, sc->file, 0);
	/* On fault, so the read maps the page-cache page itself, not a COW copy. */
	TEST_ASSERT_EQ(do_mlock(sc->x, sc->ax, PAGE_SIZE, MLOCK_ONFAULT), 0);
	mm_read(sc->x, sc->ax, &c, 1);
	sc->ay = test_mmap(sc->y, 0, PAGE_SIZE, PROT_READ, MAP_SHARED | MAP_LOCKED, sc->file, 0);
	sc->page = mm_lookup_page(sc->x, sc->ax);
	TEST_ASSERT(sc->page && !PageAnon(sc->page), "x does not map the page-cache page");
	/* No mlock count per page: y's munlock clears the mark x still wants. */
	TEST_ASSERT_EQ(do_munlock(sc->y, sc->ay, PAGE_SIZE), 0);
	TEST_ASSERT(!PageMlocked(sc->page), "munlock kept the mark");
}

/* Park reclaim after the PTE lock is dropped, run @other, let reclaim go on. */
static void race(struct scenario *sc, void (*other)(struct scenario *sc))
{
	struct kthread *reclaim;

	TEST_ASSERT_EQ(sched_point_arm("page_referenced_one:mlock", "reclaimer"), 0);
	reclaim = kthread_run(reclaim_thread, sc, "reclaimer");
	TEST_ASSERT(!IS_ERR(reclaim), "kthread_run");
	TEST_ASSERT_EQ(sched_point_wait("page_referenced_one:mlock"), 0);
	TEST_ASSERT(PageMlocked(sc->page), "not marked before the PTE lock was dropped");
	other(sc);
	sched_point_release("page_referenced_one:mlock");
	TEST_ASSERT_EQ(kthread_stop(reclaim), 1); /* it saw the locked VMA */
	TEST_ASSERT(!PageMlocked(sc->page), "page no locked VMA maps is still mlocked");
}

static void teardown(struct scenario *sc)
{
	put_page(sc->page);
	mmput(sc->x);
	mmput(sc->y);
	fput(sc->file); /* the page leaves the page cache: its last reference */
	TEST_ASSERT_EQ(report_count(REPORT_SANITIZER), 0UL);
	test_pool_destroy(sc->pool);
}

/* x's write: COW under mmap_lock (read), the locked VMA leaves the page. */
static void x_cow(struct scenario *sc)
{
	mm_fill(sc->x, sc->ax, PAGE_SIZE, SEED + 1);
}

/* x's munlock: the VMA stays, no longer locked, and clears the page's mark. */
static void x_munlock(struct scenario *sc)
{
	TEST_ASSERT_EQ(do_munlock(sc->x, sc->ax, PAGE_SIZE), 0);
}

TEST(referenced_mark_under_pte_lock_is_cleared_by_cow)
{
	struct scenario sc = { 0 };

	setup(&sc);
	race(&sc, x_cow);
	mm_check(sc.x, sc.ax, PAGE_SIZE, SEED + 1);
	teardown(&sc);
}

TEST(referenced_mark_under_pte_lock_is_cleared_by_munlock)
{
	struct scenario sc = { 0 };

	setup(&sc);
	race(&sc, x_munlock);
	TEST_ASSERT(mm_lookup_page(sc.x, sc.ax) == sc.page, "x still maps the page");
	put_page(sc.page); /* mm_lookup_page's reference */
	teardown(&sc);
}
