// SPDX-License-Identifier: GPL-2.0
/*
 * Swap: the swap file (sparse, slots, full), anonymous pages out to it and
 * back, slots shared after fork and freed when the last swap PTE goes, and
 * two threads faulting one swap entry ending with one page.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/completion.h"
#include "base/kthread.h"
#include "base/sched_point.h"
#include "mm/internal.h"
#include "mm/swap.h"
#include "tests/lib/mm_util.h"

#define POOL_SIZE (8UL << 20)

static bool pte_is_swap(struct mm_struct *mm, unsigned long addr)
{
	pte_t pte = __pte(mm_pte_val(mm, addr));

	return !pte_none(pte) && !pte_present(pte) && !non_swap_entry(pte_to_swp_entry(pte));
}

static swp_entry_t swap_entry_at(struct mm_struct *mm, unsigned long addr)
{
	TEST_ASSERT(pte_is_swap(mm, addr), "no swap PTE at %#lx", addr);
	return pte_to_swp_entry(__pte(mm_pte_val(mm, addr)));
}

TEST(swapon_creates_sparse_file)
{
	char path[64];
	struct stat st;
	int type;

	snprintf(path, sizeof(path), "/tmp/nopin-swap-sparse-%d", getpid());
	type = swapon(path, 256);
	TEST_ASSERT(type >= 0, "swapon: %d", type);
	TEST_ASSERT_EQ(stat(path, &st), 0);
	unlink(path);
	TEST_ASSERT_EQ((unsigned long)st.st_size, 256 * PAGE_SIZE);
	TEST_ASSERT(st.st_blocks == 0, "%ld blocks allocated", (long)st.st_blocks);
	TEST_ASSERT_EQ(nr_swap_pages_free(), 255UL); /* slot 0 is the header */
	TEST_ASSERT_EQ(nr_swap_pages_used(), 0UL);
	TEST_ASSERT_EQ(swapon("/nonexistent-dir/swap", 16), -ENOENT);
	TEST_ASSERT_EQ(swapon(path, 1), -EINVAL);
	TEST_ASSERT_EQ(swapoff(type), 0);
	TEST_ASSERT_EQ(swapoff(type), -EINVAL);
	TEST_ASSERT_EQ(nr_swap_pages_free(), 0UL);
}

TEST(anon_round_trip)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, 8 * PAGE_SIZE, PROT_READ | PROT_WRITE);
	unsigned long before;
	int type = test_swapon(64);

	mm_fill(mm, a, 8 * PAGE_SIZE, 7);
	before = test_pool_allocated(pool);
	for (int i = 0; i < 8; i++)
		TEST_ASSERT(mm_pageout(mm, a + i * PAGE_SIZE), "page %d not reclaimed", i);
	for (int i = 0; i < 8; i++)
		TEST_ASSERT(pte_is_swap(mm, a + i * PAGE_SIZE), "page %d: no swap PTE", i);
	TEST_ASSERT_EQ(test_pool_allocated(pool), before - 8);
	TEST_ASSERT_EQ(get_mm_counter(mm, MM_SWAPENTS), 8UL);
	TEST_ASSERT_EQ(get_mm_counter(mm, MM_ANONPAGES), 0UL);
	TEST_ASSERT_EQ(nr_swap_pages_used(), 8UL);
	TEST_ASSERT_EQ(atomic_long_read(&pool->pgdat->stats.pswpout), 8L);

	/* Back in on access, with the data; an exclusive page gives its slot back. */
	mm_check(mm, a, 8 * PAGE_SIZE, 7);
	TEST_ASSERT_EQ(atomic_long_read(&pool->pgdat->stats.pswpin), 8L);
	TEST_ASSERT_EQ(get_mm_counter(mm, MM_SWAPENTS), 0UL);
	TEST_ASSERT_EQ(get_mm_counter(mm, MM_ANONPAGES), 8UL);
	TEST_ASSERT_EQ(nr_swap_pages_used(), 0UL);

	/* Writable again without a COW: the page is exclusive. */
	mm_fill(mm, a, 8 * PAGE_SIZE, 8);
	mm_check(mm, a, 8 * PAGE_SIZE, 8);
	mmput(mm);
	TEST_ASSERT_EQ(swapoff(type), 0);
	test_pool_destroy(pool);
}

TEST(swapped_page_written_after_swapin_goes_out_again)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, PAGE_SIZE, PROT_READ | PROT_WRITE);
	int type = test_swapon(16);

	for (int round = 0; round < 4; round++) {
		mm_fill(mm, a, PAGE_SIZE, round);
		TEST_ASSERT(mm_pageout(mm, a), "round %d: not reclaimed", round);
		mm_check(mm, a, PAGE_SIZE, round);
	}
	mmput(mm);
	TEST_ASSERT_EQ(nr_swap_pages_used(), 0UL);
	TEST_ASSERT_EQ(swapoff(type), 0);
	test_pool_destroy(pool);
}

/* After fork both PTEs become swap entries of one slot; both come back to one page. */
TEST(fork_shares_slot_and_page)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *parent = test_mm(pool), *child;
	unsigned long a = test_mmap_anon(parent, PAGE_SIZE, PROT_READ | PROT_WRITE);
	struct page *pp, *cp;
	swp_entry_t entry;
	int type = test_swapon(16);

	mm_fill(parent, a, PAGE_SIZE, 3);
	child = test_fork(parent);
	TEST_ASSERT(mm_pageout(parent, a), "shared page not reclaimed");
	entry = swap_entry_at(parent, a);
	TEST_ASSERT_EQ(swap_entry_at(child, a).val, entry.val);
	TEST_ASSERT_EQ(__swap_count(entry), 2);

	mm_check(child, a, PAGE_SIZE, 3);
	TEST_ASSERT_EQ(__swap_count(entry), 1);
	mm_check(parent, a, PAGE_SIZE, 3);
	TEST_ASSERT_EQ(nr_swap_pages_used(), 0UL);
	pp = mm_lookup_page(parent, a);
	cp = mm_lookup_page(child, a);
	TEST_ASSERT(pp && pp == cp, "parent and child map different pages");
	TEST_ASSERT_EQ(page_mapcount(pp), 2);
	put_page(pp);
	put_page(cp);
	TEST_ASSERT_EQ(atomic_long_read(&pool->pgdat->stats.pswpin), 1L);

	/* Still COW: the child's write is its own. */
	mm_fill(child, a, PAGE_SIZE, 4);
	mm_check(parent, a, PAGE_SIZE, 3);
	mm_check(child, a, PAGE_SIZE, 4);

	/* A slot shared at fork time: the fork duplicates its count. */
	TEST_ASSERT(mm_pageout(parent, a), "parent page not reclaimed");
	entry = swap_entry_at(parent, a);
	mmput(child);
	child = dup_mm(parent, "child2");
	TEST_ASSERT_EQ(__swap_count(entry), 2);
	mm_check(child, a, PAGE_SIZE, 3);
	mm_check(parent, a, PAGE_SIZE, 3);
	mmput(child);
	mmput(parent);
	TEST_ASSERT_EQ(nr_swap_pages_used(), 0UL);
	TEST_ASSERT_EQ(swapoff(type), 0);
	test_pool_destroy(pool);
}

TEST(zap_frees_slots)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool), *child;
	unsigned long a = test_mmap_anon(mm, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE);
	int type = test_swapon(16);

	mm_fill(mm, a, 4 * PAGE_SIZE, 1);
	for (int i = 0; i < 4; i++)
		TEST_ASSERT(mm_pageout(mm, a + i * PAGE_SIZE), "page %d", i);
	TEST_ASSERT_EQ(nr_swap_pages_used(), 4UL);
	TEST_ASSERT_EQ(do_madvise(mm, a, PAGE_SIZE, MADV_DONTNEED), 0);
	TEST_ASSERT_EQ(nr_swap_pages_used(), 3UL);
	mm_check_zero(mm, a, PAGE_SIZE);
	TEST_ASSERT_EQ(vm_munmap(mm, a + PAGE_SIZE, PAGE_SIZE), 0);
	TEST_ASSERT_EQ(nr_swap_pages_used(), 2UL);

	/* A slot two mms share goes with the second zap. */
	child = test_fork(mm);
	mmput(mm);
	TEST_ASSERT_EQ(nr_swap_pages_used(), 2UL);
	mm_check(child, a + 2 * PAGE_SIZE, 2 * PAGE_SIZE, 1);
	mmput(child);
	TEST_ASSERT_EQ(nr_swap_pages_used(), 0UL);
	TEST_ASSERT_EQ(swapoff(type), 0);
	test_pool_destroy(pool);
}

/* A slot still held refuses swapoff. */
TEST(swapoff_busy)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, PAGE_SIZE, PROT_READ | PROT_WRITE);
	int type = test_swapon(16);

	mm_fill(mm, a, PAGE_SIZE, 1);
	TEST_ASSERT(mm_pageout(mm, a), "not reclaimed");
	TEST_ASSERT_EQ(swapoff(type), -EBUSY);
	mmput(mm);
	TEST_ASSERT_EQ(swapoff(type), 0);
	test_pool_destroy(pool);
}

/* Another task (reclaim, migration) holds a page locked until told to let go. */
struct page_holder {
	struct page *page;
	struct completion locked, release;
};

static int hold_page_locked(void *data)
{
	struct page_holder *h = data;

	lock_page(h->page);
	complete(&h->locked);
	wait_for_completion(&h->release);
	unlock_page(h->page);
	return 0;
}

/*
 * The last swap PTE goes while the page is locked (zap only tries the page
 * lock), so the page stays in the swap cache holding its slot, with nobody
 * left to map it.  swapoff() drops such pages instead of refusing.
 */
TEST(swapoff_drops_orphaned_swap_cache)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool), *child;
	unsigned long a = test_mmap_anon(mm, PAGE_SIZE, PROT_READ | PROT_WRITE);
	int type = test_swapon(16);
	struct page_holder h;
	struct kthread *k;

	mm_fill(mm, a, PAGE_SIZE, 1);
	child = test_fork(mm);
	TEST_ASSERT(mm_pageout(mm, a), "not reclaimed");
	mm_check(child, a, PAGE_SIZE, 1); /* shared: the page stays in the swap cache */
	h.page = mm_lookup_page(child, a);
	TEST_ASSERT(h.page && PageSwapCache(h.page), "swapped-in shared page not in swap cache");
	init_completion(&h.locked);
	init_completion(&h.release);
	k = kthread_run(hold_page_locked, &h, "page-holder");
	wait_for_completion(&h.locked);

	mmput(mm); /* zaps the parent's swap PTE: the slot is the cache's alone now */
	complete(&h.release);
	TEST_ASSERT_EQ(kthread_join(k), 0);
	put_page(h.page);
	mmput(child);
	TEST_ASSERT_EQ(nr_swap_pages_used(), 1UL);
	TEST_ASSERT_EQ(swapoff(type), 0);
	TEST_ASSERT_EQ(nr_swap_pages_used(), 0UL);
	test_pool_destroy(pool);
}

/* A full swap file leaves the rest mapped: no crash, no OOM, data intact. */
TEST(full_swap_file_is_enospc)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, 8 * PAGE_SIZE, PROT_READ | PROT_WRITE);
	int type = test_swapon(4), freed = 0;

	mm_fill(mm, a, 8 * PAGE_SIZE, 5);
	for (int i = 0; i < 8; i++)
		freed += mm_pageout(mm, a + i * PAGE_SIZE);
	TEST_ASSERT_EQ(freed, 3);
	TEST_ASSERT_EQ(nr_swap_pages_free(), 0UL);
	TEST_ASSERT_EQ(get_mm_counter(mm, MM_ANONPAGES), 5UL);
	mm_check(mm, a, 8 * PAGE_SIZE, 5);
	mmput(mm);
	TEST_ASSERT_EQ(swapoff(type), 0);
	test_pool_destroy(pool);
}

struct fault_arg {
	struct mm_struct *mm;
	unsigned long addr;
};

static int read_page_thread(void *data)
{
	struct fault_arg *f = data;

	mm_check(f->mm, f->addr, PAGE_SIZE, 9);
	return 0;
}

/*
 * Two threads fault one swap entry: the first inserts its new page in the
 * swap cache and is stopped there before reading it; the second must find
 * that page (and wait for the read), not read a second copy.
 */
TEST(two_faults_one_entry_one_page)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, PAGE_SIZE, PROT_READ | PROT_WRITE);
	struct fault_arg f = { mm, a };
	struct kthread *t1, *t2;
	int type = test_swapon(16);

	mm_fill(mm, a, PAGE_SIZE, 9);
	TEST_ASSERT(mm_pageout(mm, a), "not reclaimed");

	TEST_ASSERT_EQ(sched_point_arm("swapin:inserted", "fault1"), 0);
	t1 = kthread_run(read_page_thread, &f, "fault1");
	TEST_ASSERT_EQ(sched_point_wait("swapin:inserted"), 0);
	t2 = kthread_run(read_page_thread, &f, "fault2");
	sched_point_release("swapin:inserted");
	TEST_ASSERT_EQ(kthread_stop(t1), 0);
	TEST_ASSERT_EQ(kthread_stop(t2), 0);

	TEST_ASSERT_EQ(atomic_long_read(&pool->pgdat->stats.pswpin), 1L);
	TEST_ASSERT_EQ(get_mm_counter(mm, MM_ANONPAGES), 1UL);
	TEST_ASSERT_EQ(get_mm_counter(mm, MM_SWAPENTS), 0UL);
	mm_check(mm, a, PAGE_SIZE, 9);
	mmput(mm);
	TEST_ASSERT_EQ(nr_swap_pages_used(), 0UL);
	TEST_ASSERT_EQ(swapoff(type), 0);
	test_pool_destroy(pool);
}

struct clear_recorder {
	struct mmu_notifier mn;
	struct mm_struct *mm;
	unsigned long addr;
	int starts, ends;
	bool present_at_start; /* the PTE still mapped the page when announced */
	enum mmu_notifier_event event;
};

static int clear_start(struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	struct clear_recorder *r = container_of(mn, struct clear_recorder, mn);
	pte_t *pte = pte_offset_kernel(r->mm, mm_find_pmd(r->mm, r->addr), r->addr);

	r->starts++;
	r->event = range->event;
	r->present_at_start = pte_present(ptep_get(pte));
	return 0;
}

static void clear_end(struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	container_of(mn, struct clear_recorder, mn)->ends++;
}

static const struct mmu_notifier_ops clear_ops = {
	.invalidate_range_start = clear_start,
	.invalidate_range_end = clear_end,
};

/* Rule 1, invalidate before free: a secondary MMU hears of the swap-out before the PTE changes. */
TEST(swap_out_announced_before_unmap)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, PAGE_SIZE, PROT_READ | PROT_WRITE);
	struct clear_recorder r = { .mn.ops = &clear_ops, .mm = mm, .addr = a };
	int type = test_swapon(8);

	mm_fill(mm, a, PAGE_SIZE, 1);
	TEST_ASSERT_EQ(mmu_notifier_register(&r.mn, mm), 0);
	TEST_ASSERT(mm_pageout(mm, a), "not reclaimed");
	TEST_ASSERT_EQ(r.starts, 1);
	TEST_ASSERT_EQ(r.ends, 1);
	TEST_ASSERT_EQ(r.event, MMU_NOTIFY_CLEAR);
	TEST_ASSERT(r.present_at_start, "PTE already gone at invalidate_range_start");
	mmu_notifier_unregister(&r.mn, mm);
	mm_check(mm, a, PAGE_SIZE, 1);
	mmput(mm);
	TEST_ASSERT_EQ(swapoff(type), 0);
	test_pool_destroy(pool);
}
