// SPDX-License-Identifier: GPL-2.0
/*
 * exit_mmap() gives everything back: after the last mmput() of processes
 * that used anonymous, file-backed (shared and private) and shmem memory,
 * forked, and COWed in both directions, every frame is back in the pool
 * (data pages, page-table pages, page-cache pages once the file is closed)
 * and the sanitizer saw nothing.  test_pool_destroy() asserts both.
 */
#include <fcntl.h>
#include <string.h>

#include "mm/internal.h"
#include "tests/lib/mm_util.h"

#define POOL_SIZE (16UL << 20)
#define NR_PAGES 8UL
#define LEN (NR_PAGES * PAGE_SIZE)

/* [addr, addr + len) maps the file from @off: holds test_file()'s pattern by file offset. */
static void check_file_bytes(struct mm_struct *mm, unsigned long addr, unsigned long off,
			     size_t len, uint64_t seed)
{
	static uint8_t buf[LEN];

	mm_read(mm, addr, buf, len);
	for (size_t i = 0; i < len; i++)
		TEST_ASSERT(buf[i] == mm_pattern_byte(off + i, seed), "byte %#lx of the file",
			    off + i);
}

/* Touch every kind of memory @mm can have; returns the addresses used. */
struct layout {
	unsigned long anon, shared_anon, file_shared, file_private;
};

static void use_everything(struct mm_struct *mm, struct file *file, struct layout *l)
{
	l->anon = test_mmap_anon(mm, LEN, PROT_READ | PROT_WRITE);
	l->shared_anon =
		test_mmap(mm, 0, LEN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, NULL, 0);
	l->file_shared = test_mmap(mm, 0, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, file, 0);
	l->file_private = test_mmap(mm, 0, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE, file, 0);

	mm_fill(mm, l->anon, LEN, 1);
	mm_fill(mm, l->shared_anon, LEN, 2);
	mm_fill(mm, l->file_shared, LEN / 2, 3);
	/* Half the private file mapping COWed, half still the page cache's pages. */
	mm_fill(mm, l->file_private, LEN / 2, 4);
	check_file_bytes(mm, l->file_private + LEN / 2, LEN / 2, LEN / 2, 0x5eed);
}

TEST(exit_frees_every_frame)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct file *file = test_file(pool, LEN, O_RDWR, 0x5eed);
	struct mm_struct *mm = test_mm(pool);
	struct layout l;

	use_everything(mm, file, &l);
	TEST_ASSERT(test_pool_allocated(pool) > 0, "the mm used no frame");
	mmput(mm);

	/* Only the file's page cache is left; closing the file drops it. */
	TEST_ASSERT(file->f_mapping->nrpages > 0, "no page cached");
	TEST_ASSERT_EQ(test_pool_allocated(pool), file->f_mapping->nrpages);
	fput(file);
	test_pool_destroy(pool);
}

TEST(exit_after_fork_and_cow_frees_every_frame)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct file *file = test_file(pool, LEN, O_RDWR, 0x5eed);
	struct mm_struct *parent = test_mm(pool), *child;
	struct layout l;

	use_everything(parent, file, &l);
	child = test_fork(parent);

	/* COW in both directions, on anon and on the private file mapping. */
	mm_fill(child, l.anon, LEN / 2, 11);
	mm_fill(parent, l.anon + LEN / 2, LEN / 2, 12);
	mm_fill(child, l.file_private + LEN / 2, PAGE_SIZE, 13);
	mm_fill(child, l.shared_anon, PAGE_SIZE, 14);
	mm_check(parent, l.shared_anon, PAGE_SIZE, 14);
	mm_check(parent, l.anon, LEN / 2, 1);

	/* The parent exits first: the child's anon_vmas hold the root. */
	mmput(parent);
	mm_check(child, l.anon, LEN / 2, 11);
	mm_check(child, l.anon + LEN / 2, LEN / 2, 1);
	mmput(child);

	fput(file);
	test_pool_destroy(pool);
}

TEST(exit_of_three_generations_frees_every_frame)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *a = test_mm(pool), *b, *c;
	unsigned long addr = test_mmap_anon(a, LEN, PROT_READ | PROT_WRITE);

	mm_fill(a, addr, LEN, 1);
	b = dup_mm(a, "b");
	TEST_ASSERT(b, "dup_mm");
	mm_fill(b, addr, PAGE_SIZE, 2);
	c = dup_mm(b, "c");
	TEST_ASSERT(c, "dup_mm");
	mm_fill(c, addr + PAGE_SIZE, PAGE_SIZE, 3);

	/* The middle generation goes first, then the root's owner. */
	mmput(b);
	mmput(a);
	mm_check(c, addr, PAGE_SIZE, 2);
	mm_check(c, addr + PAGE_SIZE, PAGE_SIZE, 3);
	mm_check(c, addr + 2 * PAGE_SIZE, LEN - 2 * PAGE_SIZE, 1);
	mmput(c);
	test_pool_destroy(pool);
}
