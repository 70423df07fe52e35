// SPDX-License-Identifier: GPL-2.0
/*
 * mremap: shrinking, growing in place, moving (the pages travel with their
 * PTEs, never copied), MREMAP_FIXED, the rmap view of a moved page, mlocked
 * mappings, and the errors.
 */
#include <fcntl.h>
#include <limits.h>
#include <string.h>

#include "mm/internal.h"
#include "tests/lib/mm_util.h"

#define RW (PROT_READ | PROT_WRITE)
#define VR VM_READ
#define VRW (VM_READ | VM_WRITE)
#define P(n) ((unsigned long)(n)*PAGE_SIZE)
#define BASE 0x200000000UL
#define A(n) (BASE + P(n))

struct env {
	struct frame_pool *pool;
	struct mm_struct *mm;
};

static void env_init(struct env *e)
{
	e->pool = test_pool(16 << 20);
	e->mm = test_mm(e->pool);
}

static void env_fini(struct env *e)
{
	mm_check_rmap_trees(e->mm);
	mmput(e->mm);
	test_pool_destroy(e->pool);
}

static long remap(struct env *e, unsigned long addr, unsigned long old_len, unsigned long new_len,
		  unsigned long flags, unsigned long new_addr)
{
	return do_mremap(e->mm, addr, old_len, new_len, flags, new_addr);
}

/* The struct page behind each of @n pages from @addr (identity only). */
static void pages_at(struct mm_struct *mm, unsigned long addr, int n, struct page **pages)
{
	for (int i = 0; i < n; i++) {
		pages[i] = mm_lookup_page(mm, addr + P(i));
		TEST_ASSERT(pages[i], "no page at %#lx", addr + P(i));
		put_page(pages[i]);
	}
}

/* [new, new + len) holds what @seed's pattern put at [old, old + len) before a move. */
static void check_moved(struct mm_struct *mm, unsigned long new, unsigned long old,
			unsigned long len, uint64_t seed)
{
	static uint8_t buf[PAGE_SIZE];

	for (unsigned long off = 0; off < len; off += PAGE_SIZE) {
		mm_read(mm, new + off, buf, PAGE_SIZE);
		for (unsigned long j = 0; j < PAGE_SIZE; j++)
			TEST_ASSERT(buf[j] == mm_pattern_byte(old + off + j, seed),
				    "byte at %#lx (was %#lx) is %#x", new + off + j, old + off + j,
				    buf[j]);
	}
}

static void assert_unmapped(struct mm_struct *mm, unsigned long addr, unsigned long len)
{
	uint8_t byte;

	for (unsigned long a = addr; a < addr + len; a += PAGE_SIZE)
		TEST_ASSERT_EQ(mm_try_read(mm, a, &byte, 1), (long)-EFAULT);
}

TEST(mremap_shrink)
{
	struct env e;
	unsigned long before;

	env_init(&e);
	test_mmap_fixed(e.mm, A(0), P(8), RW);
	mm_fill(e.mm, A(0), P(8), 1);
	before = test_pool_allocated(e.pool);
	TEST_ASSERT_EQ(remap(&e, A(0), P(8), P(3), 0, 0), (long)A(0));
	assert_vmas(e.mm, 0, TASK_SIZE, { A(0), A(3), VRW });
	TEST_ASSERT_EQ(before - test_pool_allocated(e.pool), 5UL);
	mm_check(e.mm, A(0), P(3), 1);
	assert_unmapped(e.mm, A(3), P(5));
	TEST_ASSERT_EQ(e.mm->total_vm, 3UL);
	/* Same size: nothing to do. */
	TEST_ASSERT_EQ(remap(&e, A(0), P(3), P(3), 0, 0), (long)A(0));
	env_fini(&e);
}

TEST(mremap_grow_in_place)
{
	struct env e;

	env_init(&e);
	test_mmap_fixed(e.mm, A(0), P(4), RW);
	mm_fill(e.mm, A(0), P(4), 2);
	TEST_ASSERT_EQ(remap(&e, A(0), P(4), P(8), 0, 0), (long)A(0));
	assert_vmas(e.mm, 0, TASK_SIZE, { A(0), A(8), VRW });
	mm_check(e.mm, A(0), P(4), 2);
	mm_check_zero(e.mm, A(4), P(4));
	TEST_ASSERT_EQ(e.mm->total_vm, 8UL);
	env_fini(&e);
}

/* Growing up to a matching neighbour joins it. */
TEST(mremap_grow_in_place_merges_next)
{
	struct env e;

	env_init(&e);
	test_mmap_fixed(e.mm, A(0), P(4), RW);
	test_mmap_fixed(e.mm, A(6), P(2), RW);
	mm_fill(e.mm, A(0), P(4), 3);
	TEST_ASSERT_EQ(remap(&e, A(0), P(4), P(6), 0, 0), (long)A(0));
	assert_vmas(e.mm, 0, TASK_SIZE, { A(0), A(8), VRW });
	mm_check(e.mm, A(0), P(4), 3);
	env_fini(&e);
}

/* No room above: -ENOMEM, unless it may move; a move carries the very pages. */
TEST(mremap_move)
{
	struct page *before[4], *after[4];
	struct env e;
	long ret;

	env_init(&e);
	test_mmap_fixed(e.mm, A(0), P(4), RW);
	test_mmap_fixed(e.mm, A(4), P(4), PROT_READ);
	mm_fill(e.mm, A(0), P(4), 4);
	pages_at(e.mm, A(0), 4, before);

	TEST_ASSERT_EQ(remap(&e, A(0), P(4), P(6), 0, 0), (long)-ENOMEM);
	ret = remap(&e, A(0), P(4), P(6), MREMAP_MAYMOVE, 0);
	TEST_ASSERT(!IS_ERR_VALUE(ret) && ret != (long)A(0), "moved: %ld", ret);
	pages_at(e.mm, ret, 4, after);
	for (int i = 0; i < 4; i++)
		TEST_ASSERT(before[i] == after[i], "page %d was copied, not moved", i);
	check_moved(e.mm, ret, A(0), P(4), 4);
	mm_check_zero(e.mm, ret + P(4), P(2));
	assert_unmapped(e.mm, A(0), P(4));
	assert_vmas(e.mm, ret, ret + P(6), { ret, ret + P(6), VRW });
	TEST_ASSERT_EQ(e.mm->total_vm, 10UL);
	/* The moved VMA takes writes like any other. */
	mm_fill(e.mm, ret, P(6), 5);
	mm_check(e.mm, ret, P(6), 5);
	env_fini(&e);
}

/* A middle part moved out leaves the old VMA split in two. */
TEST(mremap_move_middle)
{
	struct env e;
	long ret;

	env_init(&e);
	test_mmap_fixed(e.mm, A(0), P(8), RW);
	mm_fill(e.mm, A(0), P(8), 6);
	ret = remap(&e, A(2), P(2), P(4), MREMAP_MAYMOVE, 0);
	TEST_ASSERT(!IS_ERR_VALUE(ret), "mremap: %ld", ret);
	assert_vmas(e.mm, A(0), A(8), { A(0), A(2), VRW }, { A(4), A(8), VRW });
	assert_vmas(e.mm, ret, ret + P(4), { ret, ret + P(4), VRW });
	mm_check(e.mm, A(0), P(2), 6);
	mm_check(e.mm, A(4), P(4), 6);
	check_moved(e.mm, ret, A(2), P(2), 6);
	mm_check_zero(e.mm, ret + P(2), P(2));
	env_fini(&e);
}

TEST(mremap_fixed)
{
	struct page *before[4], *after[4];
	struct env e;

	env_init(&e);
	test_mmap_fixed(e.mm, A(0), P(4), RW);
	test_mmap_fixed(e.mm, A(100), P(2), PROT_READ); /* replaced by the move */
	test_mmap_fixed(e.mm, A(103), P(2), PROT_READ); /* half replaced */
	mm_fill(e.mm, A(0), P(4), 7);
	pages_at(e.mm, A(0), 4, before);

	TEST_ASSERT_EQ(remap(&e, A(0), P(4), P(4), MREMAP_MAYMOVE | MREMAP_FIXED, A(100)),
		       (long)A(100));
	pages_at(e.mm, A(100), 4, after);
	for (int i = 0; i < 4; i++)
		TEST_ASSERT(before[i] == after[i], "page %d was copied", i);
	assert_vmas(e.mm, 0, TASK_SIZE, { A(100), A(104), VRW }, { A(104), A(105), VR });
	assert_unmapped(e.mm, A(0), P(4));

	/* Shrinking while moving drops the tail first. */
	TEST_ASSERT_EQ(remap(&e, A(100), P(4), P(1), MREMAP_MAYMOVE | MREMAP_FIXED, A(200)),
		       (long)A(200));
	assert_vmas(e.mm, 0, TASK_SIZE, { A(104), A(105), VR }, { A(200), A(201), VRW });
	check_moved(e.mm, A(200), A(0), P(1), 7);
	env_fini(&e);
}

TEST(mremap_errors)
{
	struct env e;

	env_init(&e);
	test_mmap_fixed(e.mm, A(0), P(4), RW);
	test_mmap_fixed(e.mm, A(4), P(4), PROT_READ);
	TEST_ASSERT_EQ(remap(&e, A(0), P(4), P(8), 0x4 /* MREMAP_DONTUNMAP */, 0), (long)-EINVAL);
	TEST_ASSERT_EQ(remap(&e, A(0), P(4), P(8), MREMAP_FIXED, A(20)), (long)-EINVAL);
	TEST_ASSERT_EQ(remap(&e, A(0) + 1, P(4), P(8), MREMAP_MAYMOVE, 0), (long)-EINVAL);
	TEST_ASSERT_EQ(remap(&e, A(0), P(4), 0, MREMAP_MAYMOVE, 0), (long)-EINVAL);
	TEST_ASSERT_EQ(remap(&e, A(0), 0, P(4), MREMAP_MAYMOVE, 0), (long)-EINVAL);
	TEST_ASSERT_EQ(remap(&e, A(10), P(1), P(2), MREMAP_MAYMOVE, 0), (long)-EFAULT);
	TEST_ASSERT_EQ(remap(&e, A(2), P(4), P(8), MREMAP_MAYMOVE, 0), (long)-EFAULT);
	/* MREMAP_FIXED: unaligned, overlapping, out of range. */
	TEST_ASSERT_EQ(remap(&e, A(0), P(4), P(4), MREMAP_MAYMOVE | MREMAP_FIXED, A(20) + 1),
		       (long)-EINVAL);
	TEST_ASSERT_EQ(remap(&e, A(0), P(4), P(4), MREMAP_MAYMOVE | MREMAP_FIXED, A(2)),
		       (long)-EINVAL);
	TEST_ASSERT_EQ(remap(&e, A(0), P(4), P(4), MREMAP_MAYMOVE | MREMAP_FIXED, TASK_SIZE - P(2)),
		       (long)-EINVAL);
	assert_vmas(e.mm, 0, TASK_SIZE, { A(0), A(4), VRW }, { A(4), A(8), VR });
	env_fini(&e);
}

/* A shared file mapping moved keeps its file offsets: it still shows, and writes, the file. */
TEST(mremap_file_shared)
{
	struct file *file;
	uint8_t buf[P(1)];
	struct env e;
	long ret;

	env_init(&e);
	file = test_file(e.pool, P(8), O_RDWR, 8);
	test_mmap(e.mm, A(0), P(4), RW, MAP_SHARED | MAP_FIXED, file, P(2));
	test_mmap_fixed(e.mm, A(4), P(1), PROT_READ);
	mm_read(e.mm, A(1), buf, 16); /* fault one page in before the move */

	ret = remap(&e, A(0), P(4), P(6), MREMAP_MAYMOVE, 0);
	TEST_ASSERT(!IS_ERR_VALUE(ret), "mremap: %ld", ret);
	mmap_read_lock(e.mm);
	TEST_ASSERT_EQ(vma_lookup(e.mm, ret)->vm_pgoff, 2UL);
	mmap_read_unlock(e.mm);
	mm_read(e.mm, ret + P(5), buf, P(1)); /* the grown part: file page 7 */
	for (unsigned long i = 0; i < P(1); i++)
		TEST_ASSERT_EQ(buf[i], mm_pattern_byte(P(7) + i, 8));

	memset(buf, 0x5a, sizeof(buf));
	mm_write(e.mm, ret + P(1), buf, P(1));
	TEST_ASSERT_EQ(filemap_write_and_wait(file->f_mapping), 0);
	test_file_read(file, P(3), buf, P(1));
	for (unsigned long i = 0; i < P(1); i++)
		TEST_ASSERT_EQ(buf[i], 0x5a);
	mm_check_rmap_trees(e.mm);
	fput(file);
	env_fini(&e);
}

struct rmap_seen {
	struct vm_area_struct *vma;
	unsigned long address;
	int n;
};

static bool record_rmap_one(struct page *page, struct vm_area_struct *vma, unsigned long address,
			    void *arg)
{
	struct rmap_seen *seen = arg;
	spinlock_t *ptl;
	pte_t *pte = page_vma_mapped_pte(page, vma, address, &ptl);

	if (!pte)
		return true;
	pte_unmap_unlock(pte, ptl);
	seen->vma = vma;
	seen->address = address;
	seen->n++;
	return true;
}

/*
 * After a move the reverse map finds an anonymous page at its new address:
 * the new VMA continues the old one's offsets and is chained to its
 * anon_vma.
 */
TEST(mremap_rmap_finds_moved_page)
{
	struct rmap_seen seen = { 0 };
	struct rmap_walk_control rwc = { .rmap_one = record_rmap_one, .arg = &seen };
	struct page *page;
	struct env e;
	long ret;

	env_init(&e);
	test_mmap_fixed(e.mm, A(0), P(4), RW);
	test_mmap_fixed(e.mm, A(4), P(1), PROT_READ);
	mm_fill(e.mm, A(0), P(4), 9);
	ret = remap(&e, A(0), P(4), P(8), MREMAP_MAYMOVE, 0);
	TEST_ASSERT(!IS_ERR_VALUE(ret), "mremap: %ld", ret);

	page = mm_lookup_page(e.mm, ret + P(2));
	TEST_ASSERT(page && PageAnon(page), "anon page at the new place");
	lock_page(page);
	rmap_walk(page, &rwc);
	unlock_page(page);
	put_page(page);
	TEST_ASSERT_EQ(seen.n, 1);
	TEST_ASSERT_EQ(seen.address, (unsigned long)ret + P(2));
	env_fini(&e);
}

TEST(mremap_mlocked)
{
	struct env e;
	long ret;

	env_init(&e);
	test_mmap_fixed(e.mm, A(0), P(4), RW);
	TEST_ASSERT_EQ(do_mlock(e.mm, A(0), P(4), 0), 0);
	mm_fill(e.mm, A(0), P(4), 10);

	/* Grown in place: the new part is locked and faulted in. */
	TEST_ASSERT_EQ(remap(&e, A(0), P(4), P(6), 0, 0), (long)A(0));
	TEST_ASSERT_EQ(e.mm->locked_vm, 6UL);
	for (int i = 0; i < 6; i++) {
		struct page *page = mm_lookup_page(e.mm, A(i));

		TEST_ASSERT(page && PageMlocked(page), "page %d locked", i);
		put_page(page);
	}

	/* Moved: the pages stay locked, the count follows. */
	test_mmap_fixed(e.mm, A(6), P(1), PROT_READ);
	ret = remap(&e, A(0), P(6), P(8), MREMAP_MAYMOVE, 0);
	TEST_ASSERT(!IS_ERR_VALUE(ret), "mremap: %ld", ret);
	TEST_ASSERT_EQ(e.mm->locked_vm, 8UL);
	for (int i = 0; i < 8; i++) {
		struct page *page = mm_lookup_page(e.mm, ret + P(i));

		TEST_ASSERT(page && PageMlocked(page), "moved page %d locked", i);
		put_page(page);
	}
	check_moved(e.mm, ret, A(0), P(4), 10);
	mm_check_zero(e.mm, ret + P(4), P(4));
	env_fini(&e);
}

/* Moving memory shared with a child after fork: COW still separates them. */
TEST(mremap_after_fork)
{
	struct mm_struct *child;
	struct env e;
	long ret;

	env_init(&e);
	test_mmap_fixed(e.mm, A(0), P(4), RW);
	test_mmap_fixed(e.mm, A(4), P(1), PROT_READ);
	mm_fill(e.mm, A(0), P(4), 11);
	child = test_fork(e.mm);

	ret = remap(&e, A(0), P(4), P(6), MREMAP_MAYMOVE, 0);
	TEST_ASSERT(!IS_ERR_VALUE(ret), "mremap: %ld", ret);
	check_moved(e.mm, ret, A(0), P(4), 11);
	mm_fill(e.mm, ret, P(2), 12);
	mm_check(child, A(0), P(4), 11);
	mm_fill(child, A(2), P(2), 13);
	mm_check(child, A(2), P(2), 13);
	mm_check(e.mm, ret, P(2), 12);
	mm_check_rmap_trees(child);
	mmput(child);
	env_fini(&e);
}

/*
 * A recording notifier: the first invalidation covering @watch must come
 * while the page is still mapped there (announced before the PTE moves),
 * as MMU_NOTIFY_UNMAP, outside any atomic section, and be ended.
 */
struct move_recorder {
	struct mmu_notifier mn;
	unsigned long watch;
	int starts, ends, atomic_starts;
	bool seen;
	enum mmu_notifier_event event;
	bool mapped_at_start;
};

static int recorder_start(struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	struct move_recorder *r = container_of(mn, struct move_recorder, mn);

	r->starts++;
	r->atomic_starts += in_atomic();
	if (!r->seen && range->start <= r->watch && r->watch < range->end) {
		r->seen = true;
		r->event = range->event;
		/* The mover holds mmap_lock for write: the tables are stable; the PTE lock is free. */
		r->mapped_at_start = mm_pte_pfn(range->mm, r->watch) >= 0;
	}
	return 0;
}

static void recorder_end(struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	container_of(mn, struct move_recorder, mn)->ends++;
}

static const struct mmu_notifier_ops recorder_ops = {
	.invalidate_range_start = recorder_start,
	.invalidate_range_end = recorder_end,
};

TEST(mremap_announces_the_move)
{
	struct move_recorder r = { .mn.ops = &recorder_ops, .watch = A(1) };
	struct env e;
	long ret;

	env_init(&e);
	test_mmap_fixed(e.mm, A(0), P(4), RW);
	test_mmap_fixed(e.mm, A(4), P(1), PROT_READ);
	mm_fill(e.mm, A(0), P(4), 14);
	TEST_ASSERT_EQ(mmu_notifier_register(&r.mn, e.mm), 0);

	ret = remap(&e, A(0), P(4), P(8), MREMAP_MAYMOVE, 0);
	TEST_ASSERT(!IS_ERR_VALUE(ret), "mremap: %ld", ret);
	TEST_ASSERT(r.seen && r.event == MMU_NOTIFY_UNMAP, "old range announced as UNMAP");
	TEST_ASSERT(r.mapped_at_start, "announced only after the PTE had moved");
	TEST_ASSERT_EQ(r.atomic_starts, 0);
	TEST_ASSERT(r.starts > 0 && r.starts == r.ends, "%d starts, %d ends", r.starts, r.ends);

	mmu_notifier_unregister(&r.mn, e.mm);
	check_moved(e.mm, ret, A(0), P(4), 14);
	env_fini(&e);
}
