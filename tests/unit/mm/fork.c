// SPDX-License-Identifier: GPL-2.0
/*
 * fork (dup_mm): the child's VMAs, COW of private memory in both
 * directions, shared memory staying shared, MADV_DONTFORK, mlock not
 * inherited, chains of forks, and every frame back in the pool whatever
 * order the processes exit in.
 */
#include <fcntl.h>

#include "mm/internal.h"
#include "tests/lib/mm_util.h"

#define RW (PROT_READ | PROT_WRITE)
#define VRW (VM_READ | VM_WRITE)
#define P(n) ((unsigned long)(n)*PAGE_SIZE)
#define BASE 0x200000000UL
#define A(n) (BASE + P(n))

static void map_fixed(struct mm_struct *mm, unsigned long addr, unsigned long len,
		      unsigned long prot, unsigned long flags)
{
	test_mmap(mm, addr, len, prot, flags | MAP_ANONYMOUS | MAP_FIXED, NULL, 0);
}

TEST(fork_copies_vmas_and_contents)
{
	struct frame_pool *pool = test_pool(16 << 20);
	struct mm_struct *parent = test_mm(pool), *child;

	map_fixed(parent, A(0), P(8), RW, MAP_PRIVATE);
	map_fixed(parent, A(8), P(4), PROT_READ, MAP_PRIVATE);
	map_fixed(parent, A(16), P(4), RW, MAP_SHARED);
	mm_fill(parent, A(0), P(8), 1);
	mm_fill(parent, A(16), P(4), 2);

	child = test_fork(parent);
	assert_vmas(child, 0, TASK_SIZE, { A(0), A(8), VRW }, { A(8), A(12), VM_READ },
		    { A(16), A(20), VRW | VM_SHARED });
	TEST_ASSERT_EQ(child->total_vm, parent->total_vm);
	mm_check(child, A(0), P(8), 1);
	mm_check_zero(child, A(8), P(4));
	mm_check(child, A(16), P(4), 2);
	mm_check_rmap_trees(parent);
	mm_check_rmap_trees(child);

	mmput(child);
	mm_check(parent, A(0), P(8), 1);
	mmput(parent);
	test_pool_destroy(pool);
}

/* Private pages are shared read-only after fork; the first write on either side copies. */
TEST(fork_cow_both_directions)
{
	struct frame_pool *pool = test_pool(16 << 20);
	struct mm_struct *parent = test_mm(pool), *child;

	map_fixed(parent, A(0), P(4), RW, MAP_PRIVATE);
	mm_fill(parent, A(0), P(4), 3);
	child = test_fork(parent);

	for (int i = 0; i < 4; i++) {
		TEST_ASSERT(mm_page_at(parent, A(i)) == mm_page_at(child, A(i)), "page %d shared",
			    i);
		TEST_ASSERT(!(mm_pte_val(parent, A(i)) & _PAGE_RW), "parent PTE %d writable", i);
		TEST_ASSERT(!(mm_pte_val(child, A(i)) & _PAGE_RW), "child PTE %d writable", i);
	}

	/* The child writes pages 0-1, the parent 2-3: each sees only its own writes. */
	mm_fill(child, A(0), P(2), 4);
	mm_fill(parent, A(2), P(2), 5);
	mm_check(parent, A(0), P(2), 3);
	mm_check(child, A(0), P(2), 4);
	mm_check(parent, A(2), P(2), 5);
	mm_check(child, A(2), P(2), 3);
	for (int i = 0; i < 4; i++)
		TEST_ASSERT(mm_page_at(parent, A(i)) != mm_page_at(child, A(i)), "page %d copied",
			    i);

	mmput(parent); /* the parent exits first: the child's pages stay */
	mm_check(child, A(0), P(2), 4);
	mm_check(child, A(2), P(2), 3);
	mmput(child);
	test_pool_destroy(pool);
}

TEST(fork_shared_anon_stays_shared)
{
	struct frame_pool *pool = test_pool(16 << 20);
	struct mm_struct *parent = test_mm(pool), *child;

	map_fixed(parent, A(0), P(4), RW, MAP_SHARED);
	mm_fill(parent, A(0), P(2), 6);
	child = test_fork(parent);
	/* Written after the fork, by either side: seen by both. */
	mm_fill(child, A(2), P(1), 7);
	mm_fill(parent, A(3), P(1), 8);
	mm_fill(child, A(0), P(1), 9);
	for (int i = 0; i < 2; i++) {
		struct mm_struct *mm = i ? child : parent;

		mm_check(mm, A(0), P(1), 9);
		mm_check(mm, A(1), P(1), 6);
		mm_check(mm, A(2), P(1), 7);
		mm_check(mm, A(3), P(1), 8);
	}
	TEST_ASSERT(mm_page_at(parent, A(2)) == mm_page_at(child, A(2)), "one shmem page");
	mmput(child);
	mmput(parent);
	test_pool_destroy(pool);
}

TEST(fork_dontfork)
{
	struct frame_pool *pool = test_pool(16 << 20);
	struct mm_struct *parent = test_mm(pool), *child;

	map_fixed(parent, A(0), P(8), RW, MAP_PRIVATE);
	mm_fill(parent, A(0), P(8), 10);
	TEST_ASSERT_EQ(do_madvise(parent, A(2), P(3), MADV_DONTFORK), 0);
	child = test_fork(parent);
	assert_vmas(child, 0, TASK_SIZE, { A(0), A(2), VRW }, { A(5), A(8), VRW });
	TEST_ASSERT_EQ(child->total_vm, 5UL);
	mm_check(child, A(0), P(2), 10);
	mm_check(child, A(5), P(3), 10);
	mmput(child);

	TEST_ASSERT_EQ(do_madvise(parent, A(2), P(3), MADV_DOFORK), 0);
	child = test_fork(parent);
	assert_vmas(child, 0, TASK_SIZE, { A(0), A(8), VRW });
	mm_check(child, A(0), P(8), 10);
	mmput(child);
	mmput(parent);
	test_pool_destroy(pool);
}

/*
 * mlock is not inherited.  The parent's later COW of a locked page moves
 * the lock to its new copy; the old page, now the child's alone, must not
 * be freed still mlocked when the child exits.
 */
TEST(fork_mlock_not_inherited)
{
	struct frame_pool *pool = test_pool(16 << 20);
	struct mm_struct *parent = test_mm(pool), *child;
	struct page *old;

	map_fixed(parent, A(0), P(4), RW, MAP_PRIVATE);
	mm_fill(parent, A(0), P(4), 11);
	TEST_ASSERT_EQ(do_mlock(parent, A(0), P(4), 0), 0);
	child = test_fork(parent);
	assert_vmas(child, 0, TASK_SIZE, { A(0), A(4), VRW });
	TEST_ASSERT_EQ(child->locked_vm, 0UL);
	TEST_ASSERT_EQ(parent->locked_vm, 4UL);

	old = mm_page_at(parent, A(1));
	mm_fill(parent, A(1), P(1), 12);
	TEST_ASSERT(PageMlocked(mm_page_at(parent, A(1))), "the parent's copy is locked");
	TEST_ASSERT(mm_page_at(child, A(1)) == old && !PageMlocked(old),
		    "the old page is unlocked");
	mm_check(child, A(0), P(4), 11);
	mmput(child);
	mm_check(parent, A(0), P(1), 11);
	mm_check(parent, A(1), P(1), 12);
	mmput(parent);
	test_pool_destroy(pool);
}

TEST(fork_private_file)
{
	struct frame_pool *pool = test_pool(16 << 20);
	struct mm_struct *parent = test_mm(pool), *child;
	struct file *file = test_file(pool, P(4), O_RDWR, 13);
	uint8_t buf[P(1)];

	test_mmap(parent, A(0), P(4), RW, MAP_PRIVATE | MAP_FIXED, file, 0);
	mm_fill(parent, A(1), P(1), 14); /* one COWed page, the rest the file's */
	child = test_fork(parent);
	mm_fill(child, A(2), P(1), 15);

	mm_check(child, A(1), P(1), 14);
	mm_check(child, A(2), P(1), 15);
	mm_read(child, A(3), buf, P(1));
	for (unsigned long i = 0; i < P(1); i++)
		TEST_ASSERT_EQ(buf[i], mm_pattern_byte(P(3) + i, 13));
	mm_read(parent, A(2), buf, P(1));
	for (unsigned long i = 0; i < P(1); i++)
		TEST_ASSERT_EQ(buf[i], mm_pattern_byte(P(2) + i, 13));

	mmput(parent);
	mmput(child);
	/* Private writes never reach the file. */
	test_file_read(file, 0, buf, P(1));
	for (unsigned long i = 0; i < P(1); i++)
		TEST_ASSERT_EQ(buf[i], mm_pattern_byte(i, 13));
	fput(file);
	test_pool_destroy(pool);
}

/*
 * Rule 7: a forked child's VMA has its own anon_vma whose root is the
 * parent's, and only the root's rwsem locks the tree.  Splitting the
 * child's VMA (mprotect of its middle) moves its chains in both trees; the
 * interval-tree updates assert the root's lock, so taking the child
 * anon_vma's own rwsem there is reported by lockdep.
 */
TEST(fork_child_vma_adjust_locks_root)
{
	struct frame_pool *pool = test_pool(16 << 20);
	struct mm_struct *parent = test_mm(pool), *child;
	struct vm_area_struct *vma;

	map_fixed(parent, A(0), P(8), RW, MAP_PRIVATE);
	mm_fill(parent, A(0), P(8), 16);
	child = test_fork(parent);
	mmap_read_lock(child);
	vma = find_vma(child, A(0));
	TEST_ASSERT(vma && vma->anon_vma, "child VMA has an anon_vma");
	TEST_ASSERT(vma->anon_vma != vma->anon_vma->root, "child anon_vma is not the root");
	mmap_read_unlock(child);

	TEST_ASSERT_EQ(do_mprotect(child, A(2), P(2), PROT_READ), 0);
	assert_vmas(child, 0, TASK_SIZE, { A(0), A(2), VRW }, { A(2), A(4), VM_READ },
		    { A(4), A(8), VRW });
	mm_check_rmap_trees(child);
	mm_check_rmap_trees(parent);
	mm_check(child, A(0), P(8), 16);

	mmput(child);
	mmput(parent);
	test_pool_destroy(pool);
}

/*
 * Rule 5: a file VMA unmapped leaves i_mmap under i_mmap_rwsem for write
 * (unlink_file_vma asserts it); read would let a truncation walk the tree
 * while it rebalances.
 */
TEST(fork_munmap_file_vma_unlinks_under_write)
{
	struct frame_pool *pool = test_pool(16 << 20);
	struct mm_struct *parent = test_mm(pool), *child;
	struct file *file = test_file(pool, P(4), O_RDWR, 17);

	test_mmap(parent, A(0), P(4), RW, MAP_SHARED | MAP_FIXED, file, 0);
	mm_fill(parent, A(0), P(4), 18); /* every page mapped, in both after fork */
	child = test_fork(parent);

	mmap_write_lock(child);
	TEST_ASSERT_EQ(do_munmap(child, A(0), P(4)), 0);
	mmap_write_unlock(child);
	TEST_ASSERT_EQ(mm_nr_vmas(child), 0);
	mm_check_rmap_trees(parent);
	mm_check(parent, A(0), P(4), 18);

	mmput(child);
	mmput(parent);
	fput(file);
	test_pool_destroy(pool);
}

/* Three generations, each writing some pages, exiting in an awkward order. */
TEST(fork_chain)
{
	struct frame_pool *pool = test_pool(16 << 20);
	struct mm_struct *a = test_mm(pool), *b, *c;

	map_fixed(a, A(0), P(6), RW, MAP_PRIVATE);
	mm_fill(a, A(0), P(6), 20);
	b = test_fork(a);
	mm_fill(b, A(1), P(1), 21);
	c = test_fork(b);
	mm_fill(c, A(2), P(1), 22);
	mm_fill(a, A(3), P(1), 23);
	mm_fill(b, A(4), P(1), 24);
	mm_check_rmap_trees(c);

	mmput(b); /* the middle generation first */
	mm_check(a, A(0), P(3), 20);
	mm_check(a, A(3), P(1), 23);
	mm_check(a, A(4), P(2), 20);
	mm_check(c, A(0), P(1), 20);
	mm_check(c, A(1), P(1), 21);
	mm_check(c, A(2), P(1), 22);
	mm_check(c, A(3), P(3), 20);
	mmput(a);
	mm_check(c, A(1), P(1), 21);
	mmput(c);
	test_pool_destroy(pool);
}

/* Forking in a loop does not grow the parent's anon_vma chain, and leaks nothing. */
TEST(fork_in_a_loop)
{
	struct frame_pool *pool = test_pool(16 << 20);
	struct mm_struct *parent = test_mm(pool), *child;
	struct vm_area_struct *vma;
	struct list_head *pos;
	int chain = 0;

	map_fixed(parent, A(0), P(4), RW, MAP_PRIVATE);
	for (int i = 0; i < 50; i++) {
		mm_fill(parent, A(i % 4), P(1), 30 + i);
		child = test_fork(parent);
		mm_fill(child, A((i + 1) % 4), P(1), 100 + i);
		mm_check(child, A(i % 4), P(1), 30 + i);
		mmput(child);
	}
	mmap_read_lock(parent);
	vma = vma_lookup(parent, A(0));
	list_for_each(pos, &vma->anon_vma_chain)
		chain++;
	mmap_read_unlock(parent);
	TEST_ASSERT_EQ(chain, 1);
	mmput(parent);
	test_pool_destroy(pool);
}

/* A fork that runs out of frames fails cleanly: NULL, the parent intact, nothing leaked. */
TEST(fork_out_of_memory)
{
	struct frame_pool *pool = test_pool(64 * PAGE_SIZE);
	struct mm_struct *parent = test_mm(pool);
	unsigned long before;
	int n = 0;

	/* Fill the pool to a few frames: the child will need tables it cannot get. */
	map_fixed(parent, A(0), P(64), RW, MAP_PRIVATE);
	while (frame_pool_nr_free(pool) > 2)
		mm_fill(parent, A(n++), P(1), 40);
	before = test_pool_allocated(pool);
	TEST_ASSERT(dup_mm(parent, "child") == NULL, "dup_mm succeeded with no frames");
	TEST_ASSERT_EQ(test_pool_allocated(pool), before);
	mm_check(parent, A(0), P(n), 40);
	mmput(parent);
	test_pool_destroy(pool);
}
