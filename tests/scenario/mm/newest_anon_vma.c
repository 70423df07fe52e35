// SPDX-License-Identifier: GPL-2.0
/*
 * Rule 7, oldest anon_vma and root lock: an anon page that more than one
 * process of a fork tree may map records the oldest anon_vma (the root),
 * every process of the tree being chained to it; only an exclusive page
 * records the VMA's own, newest one.
 *
 * The historical code (LEGACY_NEWEST_ANON_VMA) recorded the faulting VMA's
 * own anon_vma for a page swapped in after fork.  When the child faults it
 * in first, the page records the child's anon_vma, which the parent's VMA
 * is not chained to; the parent then maps the same page from the swap
 * cache.  Reclaim's rmap walk from the page reaches the child only.
 *
 * While the child lives, that costs a miss: try_to_unmap() turns the
 * child's PTE into a swap entry and leaves the parent's in place, so the
 * page stays mapped and reclaim keeps it, a page rmap cannot fully see.
 * When the child exits, its anon_vma -- chained to the child's VMA only --
 * is freed, and the page the parent still maps names a freed anon_vma.  The
 * next rmap walk from the page (reclaim's) locks and searches it: the
 * sanitizer reports that use-after-free.  With the rule the page names the
 * root, which the parent's VMA keeps alive, and reclaim takes the page.
 *
 * Driven in order, single-threaded: swap out the shared page, child swaps
 * it in, parent swaps it in, (the child exits,) reclaim.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/legacy.h"
#include "mm/internal.h"
#include "mm/swap.h"
#include "tests/lib/mm_util.h"

#define POOL_SIZE (4UL << 20)
#define SEED 3

struct scenario {
	struct frame_pool *pool;
	struct mm_struct *parent, *child;
	unsigned long a;
	int swap_type;
};

/* The anon_vma of the VMA at @addr (the parent's is the fork tree's root). */
static struct anon_vma *own_anon_vma(struct mm_struct *mm, unsigned long addr)
{
	struct vm_area_struct *vma;
	struct anon_vma *anon_vma;

	mmap_read_lock(mm);
	vma = vma_lookup(mm, addr);
	anon_vma = vma ? vma->anon_vma : NULL;
	mmap_read_unlock(mm);
	return anon_vma;
}

static bool pte_present_at(struct mm_struct *mm, unsigned long addr)
{
	return pte_present(__pte(mm_pte_val(mm, addr)));
}

static struct page *setup(struct scenario *sc, bool legacy)
{
	struct page *page;

	sc->swap_type = test_swapon(16);
	sc->pool = test_pool(POOL_SIZE);
	sc->parent = test_mm(sc->pool);
	if (legacy)
		sc->parent->legacy |= LEGACY_BIT(LEGACY_NEWEST_ANON_VMA);
	sc->a = test_mmap_anon(sc->parent, PAGE_SIZE, PROT_READ | PROT_WRITE);
	mm_fill(sc->parent, sc->a, PAGE_SIZE, SEED);
	sc->child = dup_mm(sc->parent, "child");
	TEST_ASSERT(sc->child, "dup_mm");
	sc->child->legacy = sc->parent->legacy; /* dup_mm() does not copy the switches */

	/* Shared since fork: both PTEs become swap entries of one slot. */
	TEST_ASSERT(mm_pageout(sc->parent, sc->a), "shared page not reclaimed");
	/* The child swaps it in first, then the parent maps the same page. */
	mm_check(sc->child, sc->a, PAGE_SIZE, SEED);
	mm_check(sc->parent, sc->a, PAGE_SIZE, SEED);
	page = mm_lookup_page(sc->parent, sc->a);
	TEST_ASSERT(page && page == mm_lookup_page(sc->child, sc->a), "not one page");
	put_page(page);
	put_page(page);
	TEST_ASSERT_EQ(page_mapcount(page), 2);
	return page;
}

static void child_exits(struct scenario *sc)
{
	mm_check(sc->child, sc->a, PAGE_SIZE, SEED);
	mmput(sc->child);
	sc->child = NULL;
}

/* Both processes still read what was written; then everything goes. */
static void teardown(struct scenario *sc, unsigned long expected_reports)
{
	mm_check(sc->parent, sc->a, PAGE_SIZE, SEED);
	if (sc->child)
		child_exits(sc);
	mmput(sc->parent);
	TEST_ASSERT_EQ(nr_swap_pages_used(), 0UL);
	TEST_ASSERT_EQ(swapoff(sc->swap_type), 0);
	expect_reports(REPORT_SANITIZER, expected_reports);
	if (expected_reports) {
		TEST_ASSERT_EQ(test_pool_allocated(sc->pool), 0);
		frame_pool_destroy(sc->pool);
	} else {
		test_pool_destroy(sc->pool);
	}
}

TEST(oldest_anon_vma_reaches_both_processes)
{
	struct scenario sc;
	struct page *page = setup(&sc, false);

	TEST_ASSERT(page_anon_vma(page) == own_anon_vma(sc.parent, sc.a), "not the root");
	TEST_ASSERT(mm_pageout(sc.parent, sc.a), "reclaim missed a mapping");
	TEST_ASSERT(!pte_present_at(sc.parent, sc.a) && !pte_present_at(sc.child, sc.a),
		    "a PTE still maps the reclaimed page");
	teardown(&sc, 0);
}

TEST(oldest_anon_vma_outlives_the_child)
{
	struct scenario sc;
	struct page *page = setup(&sc, false);

	child_exits(&sc);
	TEST_ASSERT_EQ(page_mapcount(page), 1);
	TEST_ASSERT(mm_pageout(sc.parent, sc.a), "reclaim missed the parent's mapping");
	TEST_ASSERT(!pte_present_at(sc.parent, sc.a), "the parent's PTE still maps the page");
	teardown(&sc, 0);
}

TEST(legacy_newest_anon_vma_misses_the_parent)
{
	struct scenario sc;
	struct page *page = setup(&sc, true);
	unsigned long vm_flags;

	TEST_ASSERT(page_anon_vma(page) == own_anon_vma(sc.child, sc.a), "not the child's");
	TEST_ASSERT(page_anon_vma(page) != own_anon_vma(sc.parent, sc.a), "the root");
	/* The walk from the page sees only the child: the parent's access is lost. */
	mm_check(sc.parent, sc.a, PAGE_SIZE, SEED);
	lock_page(page);
	folio_referenced(page, 1, &vm_flags); /* clear what the walk can reach */
	unlock_page(page);

	TEST_ASSERT(!mm_pageout(sc.parent, sc.a), "reclaimed while the parent maps it");
	TEST_ASSERT(pte_present_at(sc.parent, sc.a), "parent's mapping gone");
	TEST_ASSERT(!pte_present_at(sc.child, sc.a), "the child's mapping was not reached");
	TEST_ASSERT_EQ(page_mapcount(page), 1);
	teardown(&sc, 0);
}

TEST(legacy_newest_anon_vma_freed_under_the_parent)
{
	struct sanitizer_counters c;
	struct scenario sc;
	struct page *page = setup(&sc, true);
	char title[128];

	child_exits(&sc); /* frees the child's anon_vma, which the page names */
	TEST_ASSERT_EQ(page_mapcount(page), 1);
	TEST_ASSERT(!mm_pageout(sc.parent, sc.a), "reclaimed while the parent maps it");
	TEST_ASSERT(pte_present_at(sc.parent, sc.a), "parent's mapping gone");
	frame_pool_sanitizer_counters(sc.pool, &c);
	TEST_ASSERT_EQ(c.use_after_free, 1);
	report_last_title(REPORT_SANITIZER, title, sizeof(title));
	TEST_ASSERT(strstr(title, "freed anon_vma"), "report: %s", title);
	teardown(&sc, 1);
}
