// SPDX-License-Identifier: GPL-2.0
/*
 * Migration: anon, shared-anon, file and swap-cache pages move to new
 * frames with their contents, mappings and state; every PTE passes through
 * a migration entry announced with MMU_NOTIFY_MIGRATE; a fault on an entry
 * waits for the move; pinned or otherwise referenced pages refuse to move
 * and stay as they were; the old frame is freed only at the end.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/kthread.h"
#include "base/sched_point.h"
#include "mm/internal.h"
#include "mm/migrate.h"
#include "mm/sanitizer.h"
#include "mm/swap.h"
#include "tests/lib/mm_util.h"

#define POOL_SIZE (16UL << 20)
#define RW (PROT_READ | PROT_WRITE)

/* The page mapped at @addr (which must be); the PTE keeps it, our reference is dropped. */
/* Migrate the page mapped at @addr, isolated from its LRU list; returns what migration did. */
static int migrate_at(struct mm_struct *mm, unsigned long addr)
{
	struct page *page = mm_lookup_page(mm, addr);

	TEST_ASSERT(page, "nothing mapped at %#lx", addr);
	TEST_ASSERT_EQ(isolate_lru_page(page), 0);
	put_page(page);
	return migrate_page_to_new(page, true, MIGRATE_SYNC);
}

static bool stamp_live(struct frame_pool *pool, struct frame_stamp *stamp)
{
	return READ_ONCE(pool->mem_map[stamp->pfn].gen) == stamp->gen &&
	       page_frame_state(&pool->mem_map[stamp->pfn]) == stamp->state;
}

static bool is_migration_pte(unsigned long val)
{
	pte_t pte = __pte(val);

	return is_swap_pte(pte) && is_migration_entry(pte_to_swp_entry(pte));
}

TEST(anon_page_moves_with_its_contents)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, 4 * PAGE_SIZE, RW);
	struct frame_stamp old_stamp;
	struct page *old, *new;
	unsigned long allocated;

	mm_fill(mm, a, 4 * PAGE_SIZE, 1);
	old = mm_page_at(mm, a + PAGE_SIZE);
	old_stamp = frame_stamp_of(old);
	allocated = test_pool_allocated(pool);

	TEST_ASSERT_EQ(migrate_at(mm, a + PAGE_SIZE), 0);

	new = mm_page_at(mm, a + PAGE_SIZE);
	TEST_ASSERT(new != old, "page did not move");
	TEST_ASSERT(!stamp_live(pool, &old_stamp), "old frame not freed");
	TEST_ASSERT_EQ(test_pool_allocated(pool), allocated);
	TEST_ASSERT(PageAnon(new) && PageAnonExclusive(new), "new page not exclusive anon");
	TEST_ASSERT_EQ(page_mapcount(new), 1);
	TEST_ASSERT_EQ(page_count(new), 1);
	TEST_ASSERT_EQ(get_mm_counter(mm, MM_ANONPAGES), 4);
	TEST_ASSERT(pte_write(__pte(mm_pte_val(mm, a + PAGE_SIZE))), "lost write permission");
	mm_check(mm, a, 4 * PAGE_SIZE, 1);
	/* Exclusive: a write reuses it rather than copying. */
	mm_fill(mm, a + PAGE_SIZE, PAGE_SIZE, 2);
	TEST_ASSERT(mm_page_at(mm, a + PAGE_SIZE) == new, "write after migration copied");

	mmput(mm);
	test_pool_destroy(pool);
}

TEST(shared_anon_page_moves_in_every_process)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *parent = test_mm(pool), *child, *grandchild;
	unsigned long a = test_mmap_anon(parent, 2 * PAGE_SIZE, RW);
	struct page *old, *new;

	mm_fill(parent, a, 2 * PAGE_SIZE, 1);
	child = test_fork(parent);
	grandchild = dup_mm(child, "grandchild");
	TEST_ASSERT(grandchild, "dup_mm");
	old = mm_page_at(parent, a);
	TEST_ASSERT_EQ(page_mapcount(old), 3);

	TEST_ASSERT_EQ(migrate_at(child, a), 0);

	new = mm_page_at(parent, a);
	TEST_ASSERT(new != old, "page did not move");
	TEST_ASSERT(mm_page_at(child, a) == new &&mm_page_at(grandchild, a) == new,
		    "a process still maps the old page");
	TEST_ASSERT_EQ(page_mapcount(new), 3);
	TEST_ASSERT(!PageAnonExclusive(new), "shared page became exclusive");
	TEST_ASSERT(!pte_write(__pte(mm_pte_val(child, a))), "shared page mapped writable");
	/* COW still works both ways. */
	mm_fill(child, a, PAGE_SIZE, 2);
	mm_check(parent, a, 2 * PAGE_SIZE, 1);
	mm_check(grandchild, a, 2 * PAGE_SIZE, 1);
	mm_check(child, a, PAGE_SIZE, 2);

	mmput(grandchild);
	mmput(child);
	mmput(parent);
	test_pool_destroy(pool);
}

TEST(file_page_moves_in_the_cache_and_every_mapping)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct file *file = test_file(pool, 2 * PAGE_SIZE, O_RDWR, 9);
	struct mm_struct *m1 = test_mm(pool), *m2 = test_mm(pool);
	unsigned long s = test_mmap(m1, 0, 2 * PAGE_SIZE, RW, MAP_SHARED, file, 0);
	unsigned long p = test_mmap(m2, 0, 2 * PAGE_SIZE, PROT_READ, MAP_PRIVATE, file, 0);
	uint8_t byte = 0xa5, buf;
	struct page *old, *new, *cached;

	mm_write(m1, s, &byte, 1); /* dirty, through a writable PTE */
	mm_read(m2, p, &buf, 1);
	old = mm_page_at(m1, s);
	TEST_ASSERT(mm_page_at(m2, p) == old, "both map the cached page");

	TEST_ASSERT_EQ(migrate_at(m1, s), 0);

	new = mm_page_at(m1, s);
	cached = find_get_page(file->f_mapping, 0);
	TEST_ASSERT(new != old &&cached == new, "cache does not hold the new page");
	put_page(cached);
	TEST_ASSERT(mm_page_at(m2, p) == new, "private mapping kept the old page");
	TEST_ASSERT(new->mapping == file->f_mapping &&new->index == 0, "new page's mapping");
	TEST_ASSERT(PageDirty(new) && PageUptodate(new), "state not carried over");
	TEST_ASSERT_EQ(page_mapcount(new), 2);
	TEST_ASSERT_EQ(page_count(new), 3); /* two PTEs and the cache */
	mm_read(m2, p, &buf, 1);
	TEST_ASSERT_EQ(buf, 0xa5);

	/* The dirt reaches the file. */
	TEST_ASSERT_EQ(filemap_write_and_wait(file->f_mapping), 0);
	test_file_read(file, 0, &buf, 1);
	TEST_ASSERT_EQ(buf, 0xa5);

	mmput(m1);
	mmput(m2);
	fput(file);
	test_pool_destroy(pool);
}

/* A pin means DMA may target the frame: the page stays put, mapped as before. */
TEST(pinned_page_refuses_to_move)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, PAGE_SIZE, RW);
	struct page *pinned;

	mm_fill(mm, a, PAGE_SIZE, 1);
	TEST_ASSERT_EQ(get_user_pages(mm, a, 1, FOLL_PIN | FOLL_WRITE, &pinned), 1);
	TEST_ASSERT_EQ(migrate_at(mm, a), -EBUSY);
	TEST_ASSERT(mm_page_at(mm, a) == pinned, "pinned page moved");
	TEST_ASSERT(pte_present(__pte(mm_pte_val(mm, a))), "PTE left as an entry");
	unpin_user_page(pinned);
	TEST_ASSERT_EQ(migrate_at(mm, a), 0);
	TEST_ASSERT(mm_page_at(mm, a) != pinned, "unpinned page did not move");
	mm_check(mm, a, PAGE_SIZE, 1);
	mmput(mm);
	test_pool_destroy(pool);
}

/* Someone else's reference (a lookup in flight): -EAGAIN, and the PTEs come back. */
TEST(referenced_page_is_mapped_back)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *parent = test_mm(pool), *child;
	unsigned long a = test_mmap_anon(parent, PAGE_SIZE, RW);
	struct page *page, *extra;

	mm_fill(parent, a, PAGE_SIZE, 1);
	child = test_fork(parent);
	page = mm_page_at(parent, a);
	extra = mm_lookup_page(child, a);

	TEST_ASSERT_EQ(migrate_at(parent, a), -EAGAIN);
	TEST_ASSERT(mm_page_at(parent, a) == page && mm_page_at(child, a) == page, "page moved");
	TEST_ASSERT_EQ(page_mapcount(page), 2);
	TEST_ASSERT_EQ(page_count(page), 3);
	put_page(extra);
	mm_check(parent, a, PAGE_SIZE, 1);
	mm_check(child, a, PAGE_SIZE, 1);

	mmput(child);
	mmput(parent);
	test_pool_destroy(pool);
}

/* MIGRATE_ASYNC gives up on a locked page rather than sleeping on it. */
TEST(async_migration_skips_a_locked_page)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, PAGE_SIZE, RW);
	struct page *page;

	mm_fill(mm, a, PAGE_SIZE, 1);
	page = mm_page_at(mm, a);
	lock_page(page);
	get_page(page);
	TEST_ASSERT_EQ(isolate_lru_page(page), 0);
	put_page(page);
	TEST_ASSERT_EQ(migrate_page_to_new(page, true, MIGRATE_ASYNC), -EAGAIN);
	TEST_ASSERT(PageLRU(page), "not put back on its list");
	unlock_page(page);
	TEST_ASSERT(mm_page_at(mm, a) == page, "locked page moved");
	get_page(page);
	TEST_ASSERT_EQ(isolate_lru_page(page), 0);
	put_page(page);
	TEST_ASSERT_EQ(migrate_page_to_new(page, true, MIGRATE_ASYNC), 0);
	TEST_ASSERT(mm_page_at(mm, a) != page, "unlocked page did not move");
	mm_check(mm, a, PAGE_SIZE, 1);
	mmput(mm);
	test_pool_destroy(pool);
}

/* ---- racing faults ---- */

struct migrate_arg {
	struct mm_struct *mm;
	unsigned long addr;
	int ret;
};

static int migrate_thread(void *data)
{
	struct migrate_arg *arg = data;

	arg->ret = migrate_at(arg->mm, arg->addr);
	return 0;
}

static int read_thread(void *data)
{
	struct migrate_arg *arg = data;

	mm_check(arg->mm, arg->addr, PAGE_SIZE, 1);
	return 0;
}

static int write_thread(void *data)
{
	struct migrate_arg *arg = data;

	mm_fill(arg->mm, arg->addr, PAGE_SIZE, 2);
	return 0;
}

/*
 * A fault that meets the migration entry waits on the page lock until the
 * move is done, and then sees the new page: a write made then lands in it.
 */
static void fault_waits_for_migration(int (*fault)(void *), uint64_t seed_after)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, PAGE_SIZE, RW);
	struct migrate_arg marg = { mm, a, -1 }, farg = { mm, a, 0 };
	struct kthread *mk, *fk;
	struct page *old;

	mm_fill(mm, a, PAGE_SIZE, 1);
	old = mm_page_at(mm, a);
	TEST_ASSERT_EQ(sched_point_arm("migrate:unmapped", "migrate"), 0);
	mk = kthread_run(migrate_thread, &marg, "migrate");
	TEST_ASSERT(!IS_ERR(mk), "kthread_run");
	sched_point_wait("migrate:unmapped");
	TEST_ASSERT(is_migration_pte(mm_pte_val(mm, a)), "no migration entry while moving");

	TEST_ASSERT_EQ(sched_point_arm("migrate:entry_wait", "fault"), 0);
	fk = kthread_run(fault, &farg, "fault");
	TEST_ASSERT(!IS_ERR(fk), "kthread_run");
	sched_point_wait("migrate:entry_wait");
	sched_point_release("migrate:entry_wait");
	sched_point_release("migrate:unmapped");

	TEST_ASSERT_EQ(kthread_stop(mk), 0);
	TEST_ASSERT_EQ(kthread_stop(fk), 0);
	TEST_ASSERT_EQ(marg.ret, 0);
	TEST_ASSERT(mm_page_at(mm, a) != old, "page did not move");
	mm_check(mm, a, PAGE_SIZE, seed_after);
	mmput(mm);
	test_pool_destroy(pool);
}

TEST(read_fault_waits_on_migration_entry)
{
	fault_waits_for_migration(read_thread, 1);
}

TEST(write_fault_waits_on_migration_entry)
{
	fault_waits_for_migration(write_thread, 2);
}

/* munmap while the page is in flight: the entry is zapped, the new page freed unmapped. */
TEST(munmap_during_migration)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, 2 * PAGE_SIZE, RW);
	struct migrate_arg marg = { mm, a, -1 };
	unsigned long allocated;
	struct kthread *mk;

	mm_fill(mm, a, 2 * PAGE_SIZE, 1);
	allocated = test_pool_allocated(pool);
	TEST_ASSERT_EQ(sched_point_arm("migrate:unmapped", "migrate"), 0);
	mk = kthread_run(migrate_thread, &marg, "migrate");
	TEST_ASSERT(!IS_ERR(mk), "kthread_run");
	sched_point_wait("migrate:unmapped");
	TEST_ASSERT_EQ(vm_munmap(mm, a, PAGE_SIZE), 0);
	TEST_ASSERT_EQ(get_mm_counter(mm, MM_ANONPAGES), 1);
	sched_point_release("migrate:unmapped");
	TEST_ASSERT_EQ(kthread_stop(mk), 0);
	TEST_ASSERT_EQ(marg.ret, 0);
	TEST_ASSERT_EQ(test_pool_allocated(pool), allocated - 1);
	mm_check(mm, a + PAGE_SIZE, PAGE_SIZE, 1);
	mmput(mm);
	test_pool_destroy(pool);
}

/* ---- the notifier ---- */

struct mirror {
	struct mmu_notifier mn;
	struct mm_struct *mm;
	unsigned long addr;
	struct frame_stamp stamp;
	bool valid;
	int migrate_starts;
};

/* The frame must still be live and still mapped when the migration is announced. */
static int mirror_start(struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	struct mirror *m = container_of(mn, struct mirror, mn);
	struct frame_access acc = { .addr = m->addr, .size = 1, .who = "mirror zap" };

	TEST_ASSERT(!in_atomic(), "invalidate_range_start in an atomic section");
	if (range->event == MMU_NOTIFY_MIGRATE)
		m->migrate_starts++;
	if (!m->valid || m->addr < range->start || m->addr >= range->end)
		return 0;
	TEST_ASSERT_EQ(range->event, MMU_NOTIFY_MIGRATE);
	TEST_ASSERT(frame_check_stamp(m->mm->pool, &m->stamp, &acc), "frame freed before start");
	TEST_ASSERT(mm_pte_pfn(m->mm, m->addr) == (long)m->stamp.pfn,
		    "host PTE changed before start");
	m->valid = false;
	return 0;
}

static const struct mmu_notifier_ops mirror_ops = {
	.invalidate_range_start = mirror_start,
};

TEST(migration_is_announced_before_the_pte_changes)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, PAGE_SIZE, RW);
	struct mirror m = { .mm = mm, .addr = a, .mn.ops = &mirror_ops };
	struct page *page;
	bool writable;

	mm_fill(mm, a, PAGE_SIZE, 1);
	TEST_ASSERT_EQ(mmu_notifier_register(&m.mn, mm), 0);
	TEST_ASSERT_EQ(get_user_page_ref(mm, a, false, &page, &writable), 0);
	m.stamp = frame_stamp_of(page);
	m.valid = true;
	put_page(page);

	TEST_ASSERT_EQ(migrate_at(mm, a), 0);
	TEST_ASSERT(!m.valid, "secondary mapping survived the migration");
	TEST_ASSERT_EQ(m.migrate_starts, 1);
	mm_check(mm, a, PAGE_SIZE, 1);

	mmu_notifier_unregister(&m.mn, mm);
	mmput(mm);
	test_pool_destroy(pool);
}

/* ---- LRU pages, the swap cache, the random driver ---- */

TEST(isolated_lru_pages_move_and_go_back_on_the_list)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, 4 * PAGE_SIZE, RW);
	struct page *pages[4], *pinned, *page;
	unsigned int succeeded;
	LIST_HEAD(list);

	mm_fill(mm, a, 4 * PAGE_SIZE, 1);
	TEST_ASSERT_EQ(get_user_pages(mm, a, 1, FOLL_PIN, &pinned), 1);
	for (int i = 0; i < 4; i++) {
		pages[i] = mm_page_at(mm, a + i * PAGE_SIZE);
		if (!PageLRU(pages[i])) {
			get_page(pages[i]);
			lru_cache_add(pages[i]);
			put_page(pages[i]);
		}
		TEST_ASSERT_EQ(isolate_lru_page(pages[i]), 0);
		list_add_tail(&pages[i]->lru, &list);
	}

	TEST_ASSERT_EQ(migrate_pages(&list, MIGRATE_SYNC, &succeeded), 1);
	TEST_ASSERT_EQ(succeeded, 3);
	TEST_ASSERT(list_is_singular(&list) && list_first_entry(&list, struct page, lru) == pinned,
		    "the pinned page is not the one left");
	for (int i = 1; i < 4; i++) {
		page = mm_page_at(mm, a + i * PAGE_SIZE);
		TEST_ASSERT(page != pages[i] && PageLRU(page),
			    "page %d: not moved or not on a list", i);
	}
	putback_lru_pages(&list);
	TEST_ASSERT(PageLRU(pinned), "failed page not put back");
	unpin_user_page(pinned);
	mm_check(mm, a, 4 * PAGE_SIZE, 1);
	mmput(mm);
	test_pool_destroy(pool);
}

TEST(random_driver_moves_pages_of_every_kind)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct file *file = test_file(pool, 16 * PAGE_SIZE, O_RDWR, 4);
	struct mm_struct *mm = test_mm(pool), *child;
	unsigned long anon = test_mmap_anon(mm, 16 * PAGE_SIZE, RW);
	unsigned long shm =
		test_mmap(mm, 0, 16 * PAGE_SIZE, RW, MAP_SHARED | MAP_ANONYMOUS, NULL, 0);
	unsigned long f = test_mmap(mm, 0, 16 * PAGE_SIZE, RW, MAP_SHARED, file, 0);
	struct migrate_stats stats = { 0 };
	uint64_t seed = 12345;
	uint8_t buf[16 * PAGE_SIZE];
	long moved;

	mm_fill(mm, anon, 16 * PAGE_SIZE, 1);
	mm_fill(mm, shm, 16 * PAGE_SIZE, 2);
	mm_fill(mm, f, 16 * PAGE_SIZE, 3);
	child = test_fork(mm);

	moved = migrate_random_pages(mm, 24, &seed, &stats);
	TEST_ASSERT(moved > 0, "nothing moved");
	TEST_ASSERT_EQ((unsigned long)moved, stats.migrated);
	TEST_ASSERT_EQ(stats.busy, 0);
	moved = migrate_random_pages(child, 24, &seed, &stats);
	TEST_ASSERT(moved > 0, "nothing moved in the child");

	for (struct mm_struct *m = mm;; m = child) {
		mm_check(m, anon, 16 * PAGE_SIZE, 1);
		mm_check(m, shm, 16 * PAGE_SIZE, 2);
		mm_check(m, f, 16 * PAGE_SIZE, 3);
		if (m == child)
			break;
	}
	TEST_ASSERT_EQ(filemap_write_and_wait(file->f_mapping), 0);
	test_file_read(file, 0, buf, sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i++)
		TEST_ASSERT(buf[i] == mm_pattern_byte(f + i, 3), "file byte %zu", i);

	mmput(child);
	mmput(mm);
	fput(file);
	test_pool_destroy(pool);
}

/* A page of the swap cache that processes still map: the slot passes to the new page. */
TEST(swapcache_page_moves_with_its_slot)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool), *child;
	unsigned long a = test_mmap_anon(mm, PAGE_SIZE, RW);
	struct page *old, *new, *cached;
	swp_entry_t entry;
	int type;

	type = test_swapon(16);
	mm_fill(mm, a, PAGE_SIZE, 1);
	child = test_fork(mm);
	old = mm_page_at(mm, a);
	lock_page(old);
	TEST_ASSERT_EQ(add_to_swap_slot(old), 0);
	unlock_page(old);
	entry = page_swap_entry(old);

	TEST_ASSERT_EQ(migrate_at(child, a), 0);

	new = mm_page_at(mm, a);
	TEST_ASSERT(new != old &&mm_page_at(child, a) == new, "not moved in both processes");
	TEST_ASSERT(PageSwapCache(new) && page_swap_entry(new).val == entry.val,
		    "new page does not hold the slot");
	cached = lookup_swap_cache(entry);
	TEST_ASSERT(cached == new, "swap cache names another page");
	put_page(cached);
	TEST_ASSERT_EQ(page_count(new), 3); /* two PTEs and the swap cache */
	mm_check(mm, a, PAGE_SIZE, 1);
	mm_check(child, a, PAGE_SIZE, 1);

	lock_page(new);
	TEST_ASSERT(try_to_free_swap(new), "slot still referenced");
	unlock_page(new);
	mmput(child);
	mmput(mm);
	TEST_ASSERT_EQ(swapoff(type), 0);
	test_pool_destroy(pool);
}

/*
 * The migration entry becomes a PTE with the VMA's protection, read while
 * mprotect may write vm_flags (vma_page_prot()): one untorn load (TSan
 * reports a plain one; prot_flipper, tests/lib/mm_util.h).
 */
TEST(migration_while_mprotect_changes_the_flags)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, PAGE_SIZE, RW);
	struct prot_flipper f;
	int moved = 0;

	mm_fill(mm, a, PAGE_SIZE, 7);
	prot_flipper_start(&f, mm, a, PAGE_SIZE);
	for (int i = 0; i < 1000; i++)
		moved += mm_try_migrate(mm, a);
	prot_flipper_stop(&f);
	TEST_ASSERT(moved > 0, "the page never moved");
	mm_check(mm, a, PAGE_SIZE, 7);
	mmput(mm);
	test_pool_destroy(pool);
}
