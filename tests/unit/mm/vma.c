// SPDX-License-Identifier: GPL-2.0
/*
 * The VMA layer: mmap, munmap, mprotect, mlock and madvise, each checked
 * for the VMA shapes it leaves (every split and merge case), for what
 * happens to the memory (contents kept, dropped, protected, locked), for
 * the rmap trees' view of every VMA, and for its errors.
 */
#include <fcntl.h>
#include <limits.h>

#include "base/prandom.h"
#include "mm/internal.h"
#include "tests/lib/mm_util.h"

#define RW (PROT_READ | PROT_WRITE)
#define VR VM_READ
#define VRW (VM_READ | VM_WRITE)
#define P(n) ((unsigned long)(n)*PAGE_SIZE)
/* Fixed mappings go here: 2 MiB aligned, below where unhinted mmaps go. */
#define BASE 0x200000000UL
#define A(n) (BASE + P(n))

struct env {
	struct frame_pool *pool;
	struct mm_struct *mm;
	unsigned long baseline; /* frames allocated by an empty mm (its pgd) */
};

static void env_init(struct env *e)
{
	e->pool = test_pool(16 << 20);
	e->mm = test_mm(e->pool);
	e->baseline = test_pool_allocated(e->pool);
}

/* Tear down; every frame must be back and the sanitizer silent. */
static void env_fini(struct env *e)
{
	mmput(e->mm);
	test_pool_destroy(e->pool);
}

static unsigned long try_mmap(struct mm_struct *mm, unsigned long addr, unsigned long len,
			      unsigned long prot, unsigned long flags)
{
	return vm_mmap(mm, addr, len, prot, flags, NULL, 0);
}

static bool page_mlocked_at(struct mm_struct *mm, unsigned long addr)
{
	struct page *page = mm_lookup_page(mm, addr);
	bool mlocked;

	TEST_ASSERT(page, "no page at %#lx", addr);
	mlocked = PageMlocked(page) && PageUnevictable(page);
	put_page(page);
	return mlocked;
}

static bool page_present_at(struct mm_struct *mm, unsigned long addr)
{
	struct page *page = mm_lookup_page(mm, addr);

	if (page)
		put_page(page);
	return page;
}

/* ---- mmap ---- */

TEST(mmap_anon_private)
{
	struct env e;
	unsigned long a;

	env_init(&e);
	a = test_mmap_anon(e.mm, P(4), RW);
	TEST_ASSERT(a >= TASK_UNMAPPED_BASE && !offset_in_page(a), "address %#lx", a);
	assert_vmas(e.mm, 0, TASK_SIZE, { a, a + P(4), VRW });
	TEST_ASSERT_EQ(e.mm->total_vm, 4UL);
	mm_check_zero(e.mm, a, P(4));
	mm_fill(e.mm, a, P(4), 1);
	mm_check(e.mm, a, P(4), 1);
	mm_check_rmap_trees(e.mm);
	env_fini(&e);
}

TEST(mmap_errors)
{
	const unsigned long anon = MAP_PRIVATE | MAP_ANONYMOUS;
	struct env e;

	env_init(&e);
	test_mmap_fixed(e.mm, A(0), P(4), RW);
	mm_fill(e.mm, A(0), P(4), 2);

	TEST_ASSERT_EQ((long)try_mmap(e.mm, 0, 0, RW, anon), -EINVAL);
	TEST_ASSERT_EQ((long)try_mmap(e.mm, 0, P(1), 0x100, anon), -EINVAL);
	TEST_ASSERT_EQ((long)try_mmap(e.mm, 0, P(1), RW, MAP_ANONYMOUS), -EINVAL);
	TEST_ASSERT_EQ((long)try_mmap(e.mm, 0, P(1), RW, anon | MAP_GROWSDOWN), -EINVAL);
	TEST_ASSERT_EQ((long)try_mmap(e.mm, 0, P(1), RW, MAP_PRIVATE), -EINVAL);
	TEST_ASSERT_EQ((long)try_mmap(e.mm, A(8) + 1, P(1), RW, anon | MAP_FIXED), -EINVAL);
	TEST_ASSERT_EQ((long)try_mmap(e.mm, 0x1000, P(1), RW, anon | MAP_FIXED), -EPERM);
	TEST_ASSERT_EQ((long)try_mmap(e.mm, TASK_SIZE - P(1), P(2), RW, anon | MAP_FIXED), -ENOMEM);
	TEST_ASSERT_EQ((long)try_mmap(e.mm, 0, TASK_SIZE + P(1), RW, anon), -ENOMEM);
	TEST_ASSERT_EQ((long)try_mmap(e.mm, 0, ULONG_MAX, RW, anon), -ENOMEM);
	TEST_ASSERT_EQ((long)vm_mmap(e.mm, 0, P(1), RW, anon, NULL, 1), -EINVAL);
	TEST_ASSERT_EQ((long)try_mmap(e.mm, A(2), P(4), RW, anon | MAP_FIXED_NOREPLACE), -EEXIST);

	/* Nothing was mapped, and the mapping that was there is untouched. */
	assert_vmas(e.mm, 0, TASK_SIZE, { A(0), A(4), VRW });
	mm_check(e.mm, A(0), P(4), 2);
	TEST_ASSERT_EQ(e.mm->total_vm, 4UL);
	env_fini(&e);
}

TEST(mmap_hint)
{
	struct env e;
	unsigned long a;

	env_init(&e);
	a = test_mmap(e.mm, A(0), P(2), RW, MAP_PRIVATE | MAP_ANONYMOUS, NULL, 0);
	TEST_ASSERT_EQ(a, A(0));
	/* Taken: the hint is ignored, never replaced. */
	a = test_mmap(e.mm, A(0), P(2), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, NULL, 0);
	TEST_ASSERT(a >= A(2) || a + P(2) <= A(0), "hint overlapped: %#lx", a);
	/* An unaligned hint is rounded up. */
	a = test_mmap(e.mm, A(8) + 5, P(1), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, NULL, 0);
	TEST_ASSERT_EQ(a, A(9));
	TEST_ASSERT_EQ(mm_nr_vmas(e.mm), 3);
	env_fini(&e);
}

TEST(mmap_fills_gaps_lowest_first)
{
	struct env e;
	unsigned long a, b, c;

	env_init(&e);
	a = test_mmap_anon(e.mm, P(2), RW);
	b = test_mmap_anon(e.mm, P(2), PROT_READ);
	c = test_mmap_anon(e.mm, P(2), RW);
	TEST_ASSERT(b == a + P(2) && c == b + P(2), "%#lx %#lx %#lx", a, b, c);
	TEST_ASSERT_EQ(vm_munmap(e.mm, b, P(2)), 0);
	/* The hole is the lowest gap that fits: a smaller mapping goes there. */
	TEST_ASSERT_EQ(test_mmap_anon(e.mm, P(1), PROT_EXEC), b);
	env_fini(&e);
}

TEST(mmap_adjacent_merges)
{
	struct env e;

	env_init(&e);
	test_mmap_fixed(e.mm, A(0), P(4), RW);
	mm_fill(e.mm, A(0), P(4), 3); /* prev has an anon_vma, the next one none */
	test_mmap_fixed(e.mm, A(4), P(4), RW);
	assert_vmas(e.mm, 0, TASK_SIZE, { A(0), A(8), VRW });
	mm_fill(e.mm, A(4), P(4), 4);

	test_mmap_fixed(e.mm, A(8), P(4), PROT_READ);
	test_mmap_fixed(e.mm, A(12), P(4), RW);
	assert_vmas(e.mm, 0, TASK_SIZE, { A(0), A(8), VRW }, { A(8), A(12), VR },
		    { A(12), A(16), VRW });

	/* The middle one matching both neighbours joins all three. */
	TEST_ASSERT_EQ(do_mprotect(e.mm, A(8), P(4), RW), 0);
	assert_vmas(e.mm, 0, TASK_SIZE, { A(0), A(16), VRW });
	mm_check(e.mm, A(0), P(4), 3);
	mm_check(e.mm, A(4), P(4), 4);
	mm_check_zero(e.mm, A(8), P(8));
	TEST_ASSERT_EQ(e.mm->total_vm, 16UL);
	mm_check_rmap_trees(e.mm);
	env_fini(&e);
}

/*
 * mprotect rewrites the present PTEs of the range in change_pte_range();
 * set_pte_at() asserts the PTE table's lock, so a rewrite after the lock
 * is dropped is reported here, not only by a racing fault in a stress run.
 */
TEST(mprotect_rewrites_present_ptes)
{
	struct env e;

	env_init(&e);
	test_mmap_fixed(e.mm, A(0), P(4), RW);
	mm_fill(e.mm, A(0), P(4), 5);
	for (int i = 0; i < 4; i++)
		TEST_ASSERT(mm_pte_val(e.mm, A(i)) & _PAGE_RW, "PTE %d writable", i);

	TEST_ASSERT_EQ(do_mprotect(e.mm, A(0), P(4), PROT_READ), 0);
	for (int i = 0; i < 4; i++)
		TEST_ASSERT(!(mm_pte_val(e.mm, A(i)) & _PAGE_RW), "PTE %d read-only", i);
	TEST_ASSERT_EQ(mm_try_write(e.mm, A(0), "x", 1), -EFAULT);
	mm_check(e.mm, A(0), P(4), 5);
	env_fini(&e);
}

TEST(mmap_fixed_replaces)
{
	struct env e;
	unsigned long before;

	env_init(&e);
	test_mmap_fixed(e.mm, A(0), P(8), RW);
	mm_fill(e.mm, A(0), P(8), 5);
	before = test_pool_allocated(e.pool);

	test_mmap_fixed(e.mm, A(2), P(2), PROT_READ);
	assert_vmas(e.mm, 0, TASK_SIZE, { A(0), A(2), VRW }, { A(2), A(4), VR },
		    { A(4), A(8), VRW });
	/* The two pages that were there went back to the pool. */
	TEST_ASSERT_EQ(before - test_pool_allocated(e.pool), 2UL);
	mm_check(e.mm, A(0), P(2), 5);
	mm_check_zero(e.mm, A(2), P(2));
	mm_check(e.mm, A(4), P(4), 5);
	TEST_ASSERT_EQ(e.mm->total_vm, 8UL);
	mm_check_rmap_trees(e.mm);
	env_fini(&e);
}

TEST(mmap_populate)
{
	struct env e;
	unsigned long a;

	env_init(&e);
	a = test_mmap(e.mm, 0, P(4), RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, NULL, 0);
	for (int i = 0; i < 4; i++)
		TEST_ASSERT(page_present_at(e.mm, a + P(i)), "page %d not populated", i);
	a = test_mmap_anon(e.mm, P(4), RW);
	TEST_ASSERT(!page_present_at(e.mm, a), "populated without MAP_POPULATE");
	env_fini(&e);
}

TEST(mmap_shared_anon)
{
	const unsigned long flags = MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED;
	struct vm_area_struct *vma;
	struct env e;

	env_init(&e);
	test_mmap(e.mm, A(0), P(4), RW, flags, NULL, 0);
	test_mmap(e.mm, A(4), P(4), RW, flags, NULL, 0);
	/* Each is its own shmem object: adjacent, yet never one VMA. */
	assert_vmas(e.mm, 0, TASK_SIZE, { A(0), A(4), VRW | VM_SHARED },
		    { A(4), A(8), VRW | VM_SHARED });
	mmap_read_lock(e.mm);
	vma = vma_lookup(e.mm, A(0));
	TEST_ASSERT(vma->vm_file && vma->vm_pgoff == 0, "shmem file, offset 0");
	mmap_read_unlock(e.mm);

	mm_fill(e.mm, A(0), P(8), 6);
	TEST_ASSERT_EQ(vm_munmap(e.mm, A(1), P(2)), 0);
	assert_vmas(e.mm, 0, TASK_SIZE, { A(0), A(1), VRW | VM_SHARED },
		    { A(3), A(4), VRW | VM_SHARED }, { A(4), A(8), VRW | VM_SHARED });
	mm_check(e.mm, A(0), P(1), 6);
	mm_check(e.mm, A(3), P(5), 6);
	mm_check_rmap_trees(e.mm);
	env_fini(&e);
}

TEST(mmap_file_modes)
{
	struct file *ro, *rw, *wo;
	struct vm_area_struct *vma;
	uint8_t buf[32];
	struct env e;
	unsigned long a;

	env_init(&e);
	ro = test_file(e.pool, P(8), O_RDONLY, 7);
	rw = test_file(e.pool, P(8), O_RDWR, 7);
	wo = test_file(e.pool, P(8), O_WRONLY, 7);

	/* A read-only file: no shared writable mapping, now or by mprotect. */
	TEST_ASSERT_EQ((long)vm_mmap(e.mm, 0, P(2), RW, MAP_SHARED, ro, 0), -EACCES);
	a = test_mmap(e.mm, A(0), P(2), PROT_READ, MAP_SHARED | MAP_FIXED, ro, P(2));
	TEST_ASSERT_EQ(do_mprotect(e.mm, a, P(2), RW), -EACCES);
	mm_read(e.mm, a + P(1), buf, sizeof(buf));
	for (int i = 0; i < (int)sizeof(buf); i++)
		TEST_ASSERT_EQ(buf[i], mm_pattern_byte(P(3) + i, 7));
	/* A private writable mapping of it is fine: writes are COWed. */
	test_mmap(e.mm, A(4), P(2), RW, MAP_PRIVATE | MAP_FIXED, ro, 0);
	/* A write-only file cannot be mapped at all. */
	TEST_ASSERT_EQ((long)vm_mmap(e.mm, 0, P(2), PROT_READ, MAP_PRIVATE, wo, 0), -EACCES);
	/* A file is not anonymous memory. */
	TEST_ASSERT_EQ((long)vm_mmap(e.mm, 0, P(2), RW, MAP_SHARED | MAP_ANONYMOUS, rw, 0),
		       -EINVAL);

	test_mmap(e.mm, A(8), P(4), RW, MAP_SHARED | MAP_FIXED, rw, P(3));
	mmap_read_lock(e.mm);
	vma = vma_lookup(e.mm, A(8));
	TEST_ASSERT(vma && vma->vm_pgoff == 3 && vma->vm_file == rw, "file VMA at pgoff 3");
	mmap_read_unlock(e.mm);
	assert_vmas(e.mm, 0, TASK_SIZE, { A(0), A(2), VR }, { A(4), A(6), VRW },
		    { A(8), A(12), VRW | VM_SHARED });
	mm_check_rmap_trees(e.mm);

	fput(ro);
	fput(rw);
	fput(wo);
	env_fini(&e);
}

/* A file's bytes appear at the mapping's addresses, by offset. */
TEST(mmap_file_contents_by_offset)
{
	struct file *file;
	uint8_t buf[64];
	struct env e;

	env_init(&e);
	file = test_file(e.pool, P(8), O_RDWR, 8);
	test_mmap(e.mm, A(0), P(4), PROT_READ, MAP_PRIVATE | MAP_FIXED, file, P(3));
	mm_read(e.mm, A(1) + 100, buf, sizeof(buf));
	for (int i = 0; i < 64; i++)
		TEST_ASSERT_EQ(buf[i], mm_pattern_byte(P(4) + 100 + i, 8));
	fput(file);
	env_fini(&e);
}

/* ---- the lookups ---- */

TEST(find_vma_and_neighbours)
{
	struct vm_area_struct *v0, *v1, *v2, *vma, *prev;
	struct env e;

	env_init(&e);
	test_mmap_fixed(e.mm, A(0), P(2), PROT_READ);
	test_mmap_fixed(e.mm, A(4), P(2), RW);
	test_mmap_fixed(e.mm, A(8), P(2), PROT_READ);

	mmap_read_lock(e.mm);
	v0 = vma_lookup(e.mm, A(0));
	v1 = vma_lookup(e.mm, A(5));
	v2 = vma_lookup(e.mm, A(9) + 17);
	TEST_ASSERT(v0 && v1 && v2 && v0->vm_start == A(0) && v1->vm_start == A(4) &&
			    v2->vm_start == A(8),
		    "vma_lookup inside each VMA");
	TEST_ASSERT(find_vma(e.mm, 0) == v0 && find_vma(e.mm, A(1) + 5) == v0, "find_vma below");
	TEST_ASSERT(find_vma(e.mm, A(2)) == v1 && find_vma(e.mm, A(3)) == v1, "in a gap");
	TEST_ASSERT(find_vma(e.mm, A(10)) == NULL, "above all");
	TEST_ASSERT(vma_lookup(e.mm, A(2)) == NULL && vma_lookup(e.mm, A(6)) == NULL, "gaps");
	TEST_ASSERT(find_vma_intersection(e.mm, A(2), A(4)) == NULL, "gap only");
	TEST_ASSERT(find_vma_intersection(e.mm, A(2), A(5)) == v1, "reaches v1");
	TEST_ASSERT(vma_prev(v0) == NULL && vma_prev(v1) == v0 && vma_prev(v2) == v1, "prev");
	TEST_ASSERT(vma_next(v0) == v1 && vma_next(v1) == v2 && vma_next(v2) == NULL, "next");
	vma = find_vma_prev(e.mm, A(3), &prev);
	TEST_ASSERT(vma == v1 && prev == v0, "find_vma_prev in a gap");
	vma = find_vma_prev(e.mm, A(4), &prev);
	TEST_ASSERT(vma == v1 && prev == v0, "find_vma_prev at a start");
	vma = find_vma_prev(e.mm, A(20), &prev);
	TEST_ASSERT(vma == NULL && prev == v2, "find_vma_prev above all");
	vma = find_vma_prev(e.mm, 0, &prev);
	TEST_ASSERT(vma == v0 && prev == NULL, "find_vma_prev below all");
	mmap_read_unlock(e.mm);
	env_fini(&e);
}

TEST(many_vmas)
{
	enum { N = 300 };
	unsigned long order[N];
	uint64_t seed = 11;
	struct env e;

	env_init(&e);
	/* Alternating protections: N one-page VMAs that cannot merge. */
	for (int i = 0; i < N; i++) {
		test_mmap_fixed(e.mm, A(i), P(1), i % 2 ? PROT_READ : RW);
		order[i] = i;
	}
	for (int i = 0; i < N; i += 2)
		mm_fill(e.mm, A(i), P(1), i);
	TEST_ASSERT_EQ(mm_nr_vmas(e.mm), N);
	TEST_ASSERT_EQ(e.mm->map_count, N);

	mmap_read_lock(e.mm);
	for (int i = 0; i < N; i++) {
		struct vm_area_struct *vma = find_vma(e.mm, A(i) + 123);

		TEST_ASSERT(vma && vma->vm_start == A(i) && vma->vm_end == A(i + 1), "VMA %d", i);
	}
	mmap_read_unlock(e.mm);
	mm_check_rmap_trees(e.mm);

	for (int i = N - 1; i > 0; i--) {
		int j = prandom_u64(&seed) % (i + 1);
		unsigned long t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (int i = 0; i < N; i++) {
		unsigned long k = order[i];

		if (k % 2 == 0)
			mm_check(e.mm, A(k), P(1), k);
		TEST_ASSERT_EQ(vm_munmap(e.mm, A(k), P(1)), 0);
		if (i % 50 == 0)
			mm_check_rmap_trees(e.mm);
	}
	TEST_ASSERT_EQ(mm_nr_vmas(e.mm), 0);
	TEST_ASSERT_EQ(e.mm->total_vm, 0UL);
	/* Every data page and page table went back: only the pgd is left. */
	TEST_ASSERT_EQ(test_pool_allocated(e.pool), e.baseline);
	env_fini(&e);
}

/* ---- split_vma ---- */

TEST(split_vma_shapes)
{
	struct vm_area_struct *vma, *lo, *hi;
	struct file *file;
	struct env e;

	env_init(&e);
	test_mmap_fixed(e.mm, A(0), P(8), RW);
	mm_fill(e.mm, A(0), P(8), 12);
	file = test_file(e.pool, P(16), O_RDWR, 13);
	test_mmap(e.mm, A(16), P(8), RW, MAP_SHARED | MAP_FIXED, file, P(4));

	mmap_write_lock(e.mm);
	vma = vma_lookup(e.mm, A(0));
	TEST_ASSERT_EQ(split_vma(vma, A(0), 0), -EINVAL);
	TEST_ASSERT_EQ(split_vma(vma, A(8), 0), -EINVAL);
	TEST_ASSERT_EQ(split_vma(vma, A(3) + 1, 0), -EINVAL);
	/* new_below: the new VMA is the lower part, @vma keeps the upper. */
	TEST_ASSERT_EQ(split_vma(vma, A(3), 1), 0);
	lo = vma_lookup(e.mm, A(0));
	TEST_ASSERT(lo != vma && vma->vm_start == A(3) && lo->vm_end == A(3), "new below");
	TEST_ASSERT(lo->anon_vma == vma->anon_vma && lo->anon_vma, "same anon_vma");

	vma = vma_lookup(e.mm, A(16));
	TEST_ASSERT_EQ(split_vma(vma, A(18), 0), 0);
	hi = vma_lookup(e.mm, A(18));
	TEST_ASSERT(hi != vma && vma->vm_end == A(18) && hi->vm_pgoff == 6 && vma->vm_pgoff == 4,
		    "file split keeps offsets: %#lx %#lx", vma->vm_pgoff, hi->vm_pgoff);
	mmap_write_unlock(e.mm);

	assert_vmas(e.mm, 0, TASK_SIZE, { A(0), A(3), VRW }, { A(3), A(8), VRW },
		    { A(16), A(18), VRW | VM_SHARED }, { A(18), A(24), VRW | VM_SHARED });
	mm_check_rmap_trees(e.mm);
	mm_check(e.mm, A(0), P(8), 12);
	fput(file);
	env_fini(&e);
}

/* ---- munmap ---- */

/* One VMA [A(0), A(8)), filled; unmap [A(lo), A(hi)); expect @shape left. */
static void munmap_case(unsigned long lo, unsigned long hi, const struct vma_shape *shape, int n)
{
	struct env e;
	char buf[8];

	env_init(&e);
	test_mmap_fixed(e.mm, A(0), P(8), RW);
	mm_fill(e.mm, A(0), P(8), 20);
	TEST_ASSERT_EQ(vm_munmap(e.mm, A(lo), P(hi - lo)), 0);
	__assert_vmas(e.mm, 0, TASK_SIZE, shape, n, __FILE__, __LINE__);
	for (unsigned long i = 0; i < 8; i++) {
		if (i >= lo && i < hi)
			TEST_ASSERT_EQ(mm_try_read(e.mm, A(i), buf, 8), (long)-EFAULT);
		else
			mm_check(e.mm, A(i), P(1), 20);
	}
	TEST_ASSERT_EQ(e.mm->total_vm, 8 - (hi - lo));
	/* The unmapped pages are back in the pool. */
	TEST_ASSERT(test_pool_allocated(e.pool) <= e.baseline + (8 - (hi - lo)) + 3,
		    "%lu frames allocated", test_pool_allocated(e.pool));
	mm_check_rmap_trees(e.mm);
	env_fini(&e);
}

TEST(munmap_whole)
{
	munmap_case(0, 8, NULL, 0);
}

TEST(munmap_head)
{
	const struct vma_shape s[] = { { A(3), A(8), VRW } };

	munmap_case(0, 3, s, 1);
}

TEST(munmap_tail)
{
	const struct vma_shape s[] = { { A(0), A(5), VRW } };

	munmap_case(5, 8, s, 1);
}

TEST(munmap_middle)
{
	const struct vma_shape s[] = { { A(0), A(3), VRW }, { A(5), A(8), VRW } };

	munmap_case(3, 5, s, 2);
}

TEST(munmap_frees_page_tables)
{
	struct env e;

	env_init(&e);
	/* Three PTE tables' worth, straddling 2 MiB boundaries. */
	test_mmap_fixed(e.mm, A(500), P(600), RW);
	mm_fill(e.mm, A(500), P(600), 21);
	TEST_ASSERT_EQ(vm_munmap(e.mm, A(500), P(600)), 0);
	TEST_ASSERT_EQ(test_pool_allocated(e.pool), e.baseline);
	TEST_ASSERT_EQ(atomic_long_read(&e.mm->pgtables_bytes), 0L);
	env_fini(&e);
}

TEST(munmap_keeps_shared_page_tables)
{
	struct env e;

	env_init(&e);
	/* Two VMAs sharing one PTE table: unmapping one must keep it for the other. */
	test_mmap_fixed(e.mm, A(0), P(4), RW);
	test_mmap_fixed(e.mm, A(4), P(4), PROT_READ);
	mm_fill(e.mm, A(0), P(4), 22);
	TEST_ASSERT_EQ(vm_munmap(e.mm, A(4), P(4)), 0);
	mm_check(e.mm, A(0), P(4), 22);
	TEST_ASSERT_EQ(vm_munmap(e.mm, A(0), P(4)), 0);
	TEST_ASSERT_EQ(test_pool_allocated(e.pool), e.baseline);
	env_fini(&e);
}

TEST(munmap_across_vmas)
{
	struct env e;

	env_init(&e);
	test_mmap_fixed(e.mm, A(0), P(4), RW);
	test_mmap_fixed(e.mm, A(4), P(4), PROT_READ);
	test_mmap_fixed(e.mm, A(10), P(4), RW);
	mm_fill(e.mm, A(0), P(4), 23);
	mm_fill(e.mm, A(10), P(4), 24);
	TEST_ASSERT_EQ(vm_munmap(e.mm, A(2), P(10)), 0);
	assert_vmas(e.mm, 0, TASK_SIZE, { A(0), A(2), VRW }, { A(12), A(14), VRW });
	mm_check(e.mm, A(0), P(2), 23);
	mm_check(e.mm, A(12), P(2), 24);
	TEST_ASSERT_EQ(e.mm->total_vm, 4UL);
	mm_check_rmap_trees(e.mm);
	env_fini(&e);
}

TEST(munmap_nothing_and_errors)
{
	struct env e;

	env_init(&e);
	test_mmap_fixed(e.mm, A(0), P(4), RW);
	TEST_ASSERT_EQ(vm_munmap(e.mm, A(8), P(4)), 0); /* nothing there: not an error */
	TEST_ASSERT_EQ(vm_munmap(e.mm, A(0) + 1, P(1)), -EINVAL);
	TEST_ASSERT_EQ(vm_munmap(e.mm, A(0), 0), -EINVAL);
	TEST_ASSERT_EQ(vm_munmap(e.mm, A(0), ULONG_MAX - P(1)), -EINVAL);
	TEST_ASSERT_EQ(vm_munmap(e.mm, TASK_SIZE + P(1), P(1)), -EINVAL);
	/* An unaligned length covers its last partial page. */
	TEST_ASSERT_EQ(vm_munmap(e.mm, A(3), 1), 0);
	assert_vmas(e.mm, 0, TASK_SIZE, { A(0), A(3), VRW });
	env_fini(&e);
}

TEST(munmap_map_count_limit)
{
	struct env e;

	env_init(&e);
	test_mmap_fixed(e.mm, A(0), P(8), RW);
	test_mmap_fixed(e.mm, A(10), P(8), RW);
	sysctl_max_map_count = 2;
	/* A hole would make three VMAs: refused, nothing changed. */
	TEST_ASSERT_EQ(vm_munmap(e.mm, A(2), P(2)), -ENOMEM);
	/* So is a new mapping, and a split by mprotect. */
	TEST_ASSERT_EQ((long)try_mmap(e.mm, 0, P(1), RW, MAP_PRIVATE | MAP_ANONYMOUS), -ENOMEM);
	TEST_ASSERT_EQ(do_mprotect(e.mm, A(0), P(2), PROT_READ), -ENOMEM);
	assert_vmas(e.mm, 0, TASK_SIZE, { A(0), A(8), VRW }, { A(10), A(18), VRW });
	/*
	 * Unmapping across both ends splits twice, going one over the limit
	 * in between, as the kernel lets it: the result is back under it.
	 */
	TEST_ASSERT_EQ(vm_munmap(e.mm, A(6), P(6)), 0);
	assert_vmas(e.mm, 0, TASK_SIZE, { A(0), A(6), VRW }, { A(12), A(18), VRW });
	TEST_ASSERT_EQ(vm_munmap(e.mm, A(0), P(2)), 0);
	sysctl_max_map_count = DEFAULT_MAX_MAP_COUNT;
	env_fini(&e);
}

/* ---- mprotect ---- */

/* [A(0), A(8)) RW, filled; make [A(lo), A(hi)) read-only; expect @shape; then back. */
static void mprotect_case(unsigned long lo, unsigned long hi, const struct vma_shape *shape, int n)
{
	uint8_t byte = 1;
	struct env e;

	env_init(&e);
	test_mmap_fixed(e.mm, A(0), P(8), RW);
	mm_fill(e.mm, A(0), P(8), 30);
	TEST_ASSERT_EQ(do_mprotect(e.mm, A(lo), P(hi - lo), PROT_READ), 0);
	__assert_vmas(e.mm, 0, TASK_SIZE, shape, n, __FILE__, __LINE__);
	mm_check_rmap_trees(e.mm);
	for (unsigned long i = 0; i < 8; i++) {
		bool ro = i >= lo && i < hi;

		TEST_ASSERT(!ro || !(mm_pte_val(e.mm, A(i)) & _PAGE_RW), "PTE %lu writable", i);
		TEST_ASSERT_EQ(mm_try_write(e.mm, A(i) + P(1) - 1, &byte, 1),
			       ro ? (long)-EFAULT : 1L);
	}
	mm_check(e.mm, A(lo), P(hi - lo), 30);

	/* Back to read-write: one VMA again, and writable. */
	TEST_ASSERT_EQ(do_mprotect(e.mm, A(lo), P(hi - lo), RW), 0);
	assert_vmas(e.mm, 0, TASK_SIZE, { A(0), A(8), VRW });
	mm_fill(e.mm, A(0), P(8), 31);
	mm_check(e.mm, A(0), P(8), 31);
	mm_check_rmap_trees(e.mm);
	env_fini(&e);
}

TEST(mprotect_whole)
{
	const struct vma_shape s[] = { { A(0), A(8), VR } };

	mprotect_case(0, 8, s, 1);
}

TEST(mprotect_head)
{
	const struct vma_shape s[] = { { A(0), A(3), VR }, { A(3), A(8), VRW } };

	mprotect_case(0, 3, s, 2);
}

TEST(mprotect_tail)
{
	const struct vma_shape s[] = { { A(0), A(6), VRW }, { A(6), A(8), VR } };

	mprotect_case(6, 8, s, 2);
}

TEST(mprotect_middle)
{
	const struct vma_shape s[] = { { A(0), A(2), VRW },
				       { A(2), A(5), VR },
				       { A(5), A(8), VRW } };

	mprotect_case(2, 5, s, 3);
}

/* A part taking its neighbour's protection joins the neighbour. */
TEST(mprotect_merges_with_prev_and_next)
{
	struct env e;

	env_init(&e);
	test_mmap_fixed(e.mm, A(0), P(4), PROT_READ);
	test_mmap_fixed(e.mm, A(4), P(4), RW);
	test_mmap_fixed(e.mm, A(8), P(4), PROT_READ);
	mm_fill(e.mm, A(4), P(4), 32);

	/* The head of the middle VMA goes to prev, the tail to next. */
	TEST_ASSERT_EQ(do_mprotect(e.mm, A(4), P(1), PROT_READ), 0);
	assert_vmas(e.mm, 0, TASK_SIZE, { A(0), A(5), VR }, { A(5), A(8), VRW },
		    { A(8), A(12), VR });
	TEST_ASSERT_EQ(do_mprotect(e.mm, A(7), P(1), PROT_READ), 0);
	assert_vmas(e.mm, 0, TASK_SIZE, { A(0), A(5), VR }, { A(5), A(7), VRW },
		    { A(7), A(12), VR });
	mm_check_rmap_trees(e.mm);
	/* The rest: all one. */
	TEST_ASSERT_EQ(do_mprotect(e.mm, A(5), P(2), PROT_READ), 0);
	assert_vmas(e.mm, 0, TASK_SIZE, { A(0), A(12), VR });
	mm_check(e.mm, A(4), P(4), 32);
	mm_check_rmap_trees(e.mm);
	env_fini(&e);
}

TEST(mprotect_across_vmas)
{
	struct env e;

	env_init(&e);
	test_mmap_fixed(e.mm, A(0), P(4), RW);
	test_mmap_fixed(e.mm, A(4), P(4), PROT_READ | PROT_EXEC);
	test_mmap_fixed(e.mm, A(8), P(4), PROT_READ);
	mm_fill(e.mm, A(0), P(4), 33);
	TEST_ASSERT_EQ(do_mprotect(e.mm, A(2), P(8), PROT_READ), 0);
	assert_vmas(e.mm, 0, TASK_SIZE, { A(0), A(2), VRW }, { A(2), A(12), VR });
	mm_check(e.mm, A(0), P(4), 33);
	mm_check_rmap_trees(e.mm);
	env_fini(&e);
}

TEST(mprotect_none_and_back)
{
	uint8_t byte;
	struct env e;

	env_init(&e);
	test_mmap_fixed(e.mm, A(0), P(4), RW);
	mm_fill(e.mm, A(0), P(4), 34);
	TEST_ASSERT_EQ(do_mprotect(e.mm, A(1), P(2), PROT_NONE), 0);
	assert_vmas(e.mm, 0, TASK_SIZE, { A(0), A(1), VRW }, { A(1), A(3), 0 },
		    { A(3), A(4), VRW });
	TEST_ASSERT_EQ(mm_try_read(e.mm, A(1), &byte, 1), (long)-EFAULT);
	TEST_ASSERT_EQ(mm_try_read(e.mm, A(2) + 5, &byte, 1), (long)-EFAULT);
	TEST_ASSERT_EQ(do_mprotect(e.mm, A(1), P(2), PROT_READ), 0);
	mm_check(e.mm, A(0), P(4), 34);
	env_fini(&e);
}

TEST(mprotect_errors)
{
	struct env e;

	env_init(&e);
	test_mmap_fixed(e.mm, A(0), P(4), RW);
	test_mmap_fixed(e.mm, A(6), P(2), RW);
	TEST_ASSERT_EQ(do_mprotect(e.mm, A(0) + 1, P(1), PROT_READ), -EINVAL);
	TEST_ASSERT_EQ(do_mprotect(e.mm, A(0), P(1), 0x100), -EINVAL);
	TEST_ASSERT_EQ(do_mprotect(e.mm, A(0), 0, PROT_READ), 0);
	TEST_ASSERT_EQ(do_mprotect(e.mm, A(4), P(1), PROT_READ), -ENOMEM);
	TEST_ASSERT_EQ(do_mprotect(e.mm, A(0), ULONG_MAX - P(2), PROT_READ), -ENOMEM);
	assert_vmas(e.mm, 0, TASK_SIZE, { A(0), A(4), VRW }, { A(6), A(8), VRW });
	/* A hole ends the walk with -ENOMEM; what came before it is changed (as Linux does). */
	TEST_ASSERT_EQ(do_mprotect(e.mm, A(2), P(6), PROT_READ), -ENOMEM);
	assert_vmas(e.mm, 0, TASK_SIZE, { A(0), A(2), VRW }, { A(2), A(4), VR },
		    { A(6), A(8), VRW });
	env_fini(&e);
}

TEST(mprotect_file_backed_split)
{
	struct file *file;
	struct env e;

	env_init(&e);
	file = test_file(e.pool, P(16), O_RDWR, 35);
	test_mmap(e.mm, A(0), P(8), RW, MAP_SHARED | MAP_FIXED, file, P(2));
	TEST_ASSERT_EQ(do_mprotect(e.mm, A(3), P(2), PROT_READ), 0);
	assert_vmas(e.mm, 0, TASK_SIZE, { A(0), A(3), VRW | VM_SHARED },
		    { A(3), A(5), VR | VM_SHARED }, { A(5), A(8), VRW | VM_SHARED });
	mm_check_rmap_trees(e.mm);
	TEST_ASSERT_EQ(do_mprotect(e.mm, A(3), P(2), RW), 0);
	assert_vmas(e.mm, 0, TASK_SIZE, { A(0), A(8), VRW | VM_SHARED });
	mm_check_rmap_trees(e.mm);
	fput(file);
	env_fini(&e);
}

/* ---- mlock ---- */

TEST(mlock_middle_and_back)
{
	struct env e;

	env_init(&e);
	test_mmap_fixed(e.mm, A(0), P(8), RW);
	mm_fill(e.mm, A(0), P(8), 40);
	TEST_ASSERT_EQ(do_mlock(e.mm, A(2), P(3), 0), 0);
	assert_vmas(e.mm, 0, TASK_SIZE, { A(0), A(2), VRW }, { A(2), A(5), VRW | VM_LOCKED },
		    { A(5), A(8), VRW });
	TEST_ASSERT_EQ(e.mm->locked_vm, 3UL);
	for (int i = 0; i < 8; i++)
		TEST_ASSERT_EQ(page_mlocked_at(e.mm, A(i)), i >= 2 && i < 5);
	mm_check_rmap_trees(e.mm);

	TEST_ASSERT_EQ(do_munlock(e.mm, A(2), P(3)), 0);
	assert_vmas(e.mm, 0, TASK_SIZE, { A(0), A(8), VRW });
	TEST_ASSERT_EQ(e.mm->locked_vm, 0UL);
	for (int i = 0; i < 8; i++)
		TEST_ASSERT(!page_mlocked_at(e.mm, A(i)), "page %d still mlocked", i);
	mm_check(e.mm, A(0), P(8), 40);
	env_fini(&e);
}

TEST(mlock_head_tail_and_twice)
{
	struct env e;

	env_init(&e);
	test_mmap_fixed(e.mm, A(0), P(8), RW);
	TEST_ASSERT_EQ(do_mlock(e.mm, A(0), P(2), 0), 0);
	TEST_ASSERT_EQ(do_mlock(e.mm, A(6), P(2), 0), 0);
	assert_vmas(e.mm, 0, TASK_SIZE, { A(0), A(2), VRW | VM_LOCKED }, { A(2), A(6), VRW },
		    { A(6), A(8), VRW | VM_LOCKED });
	/*
	 * Locking what is locked counts nothing twice.  The two locked parts
	 * were faulted in with anon_vmas of their own (a locked VMA may not
	 * share an unlocked neighbour's), and VMAs with different anon_vmas
	 * never merge: the middle joins prev only, as in Linux.
	 */
	TEST_ASSERT_EQ(do_mlock(e.mm, A(0), P(8), 0), 0);
	assert_vmas(e.mm, 0, TASK_SIZE, { A(0), A(6), VRW | VM_LOCKED },
		    { A(6), A(8), VRW | VM_LOCKED });
	TEST_ASSERT_EQ(e.mm->locked_vm, 8UL);
	mm_check_rmap_trees(e.mm);
	env_fini(&e);
}

TEST(mlock_populates)
{
	struct env e;

	env_init(&e);
	test_mmap_fixed(e.mm, A(0), P(8), RW);
	TEST_ASSERT_EQ(do_mlock(e.mm, A(0), P(8), 0), 0);
	for (int i = 0; i < 8; i++)
		TEST_ASSERT(page_mlocked_at(e.mm, A(i)), "page %d not faulted in and mlocked", i);
	mm_check_zero(e.mm, A(0), P(8));
	env_fini(&e);
}

TEST(mlock_onfault)
{
	struct env e;

	env_init(&e);
	test_mmap_fixed(e.mm, A(0), P(8), RW);
	TEST_ASSERT_EQ(do_mlock(e.mm, A(0), P(8), MLOCK_ONFAULT), 0);
	assert_vmas(e.mm, 0, TASK_SIZE, { A(0), A(8), VRW | VM_LOCKED | VM_LOCKONFAULT });
	TEST_ASSERT_EQ(e.mm->locked_vm, 8UL);
	for (int i = 0; i < 8; i++)
		TEST_ASSERT(!page_present_at(e.mm, A(i)), "page %d faulted in early", i);
	mm_fill(e.mm, A(3), P(1), 41);
	TEST_ASSERT(page_mlocked_at(e.mm, A(3)), "a page faulted in later is mlocked");
	/* Plain mlock over it clears ONFAULT and faults in the rest. */
	TEST_ASSERT_EQ(do_mlock(e.mm, A(0), P(8), 0), 0);
	assert_vmas(e.mm, 0, TASK_SIZE, { A(0), A(8), VRW | VM_LOCKED });
	TEST_ASSERT(page_mlocked_at(e.mm, A(7)), "faulted in by mlock");
	TEST_ASSERT_EQ(e.mm->locked_vm, 8UL);
	env_fini(&e);
}

TEST(mlock_rounds_to_pages)
{
	struct env e;

	env_init(&e);
	test_mmap_fixed(e.mm, A(0), P(8), RW);
	TEST_ASSERT_EQ(do_mlock(e.mm, A(2) + 100, P(1), 0), 0);
	assert_vmas(e.mm, 0, TASK_SIZE, { A(0), A(2), VRW }, { A(2), A(4), VRW | VM_LOCKED },
		    { A(4), A(8), VRW });
	TEST_ASSERT_EQ(do_munlock(e.mm, A(2) + 5, 1), 0);
	assert_vmas(e.mm, 0, TASK_SIZE, { A(0), A(3), VRW }, { A(3), A(4), VRW | VM_LOCKED },
		    { A(4), A(8), VRW });
	env_fini(&e);
}

TEST(mlock_errors)
{
	struct env e;

	env_init(&e);
	test_mmap_fixed(e.mm, A(0), P(4), RW);
	test_mmap_fixed(e.mm, A(6), P(2), RW);
	TEST_ASSERT_EQ(do_mlock(e.mm, A(0), P(1), 0x8), -EINVAL);
	TEST_ASSERT_EQ(do_mlock(e.mm, A(4), P(1), 0), -ENOMEM);
	TEST_ASSERT_EQ(do_munlock(e.mm, A(4), P(1)), -ENOMEM);
	TEST_ASSERT_EQ(do_mlock(e.mm, A(0), ULONG_MAX, 0), -ENOMEM);
	/* A hole after the first VMA: that one is locked, then -ENOMEM. */
	TEST_ASSERT_EQ(do_mlock(e.mm, A(2), P(6), 0), -ENOMEM);
	assert_vmas(e.mm, 0, TASK_SIZE, { A(0), A(2), VRW }, { A(2), A(4), VRW | VM_LOCKED },
		    { A(6), A(8), VRW });
	TEST_ASSERT_EQ(e.mm->locked_vm, 2UL);
	env_fini(&e);
}

TEST(mlock_prot_none)
{
	struct env e;

	env_init(&e);
	test_mmap_fixed(e.mm, A(0), P(4), PROT_NONE);
	TEST_ASSERT_EQ(do_mlock(e.mm, A(0), P(4), 0), 0);
	assert_vmas(e.mm, 0, TASK_SIZE, { A(0), A(4), VM_LOCKED });
	TEST_ASSERT(!page_present_at(e.mm, A(0)), "PROT_NONE faulted in");
	env_fini(&e);
}

/* Unmapping mlocked memory unlocks its pages: none is freed still mlocked. */
TEST(munmap_mlocked)
{
	struct env e;

	env_init(&e);
	test_mmap_fixed(e.mm, A(0), P(8), RW);
	TEST_ASSERT_EQ(do_mlock(e.mm, A(0), P(8), 0), 0);
	mm_fill(e.mm, A(0), P(8), 42);
	TEST_ASSERT_EQ(vm_munmap(e.mm, A(2), P(4)), 0);
	assert_vmas(e.mm, 0, TASK_SIZE, { A(0), A(2), VRW | VM_LOCKED },
		    { A(6), A(8), VRW | VM_LOCKED });
	TEST_ASSERT_EQ(e.mm->locked_vm, 4UL);
	mm_check(e.mm, A(0), P(2), 42);
	env_fini(&e); /* exit unmaps the rest, still locked */
}

TEST(mmap_locked)
{
	struct env e;
	unsigned long a;

	env_init(&e);
	a = test_mmap(e.mm, 0, P(4), RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, NULL, 0);
	assert_vmas(e.mm, 0, TASK_SIZE, { a, a + P(4), VRW | VM_LOCKED });
	TEST_ASSERT_EQ(e.mm->locked_vm, 4UL);
	for (int i = 0; i < 4; i++)
		TEST_ASSERT(page_mlocked_at(e.mm, a + P(i)), "page %d", i);
	env_fini(&e);
}

/* ---- madvise ---- */

TEST(madvise_dontneed_anon)
{
	struct env e;
	unsigned long before;

	env_init(&e);
	test_mmap_fixed(e.mm, A(0), P(8), RW);
	mm_fill(e.mm, A(0), P(8), 50);
	before = test_pool_allocated(e.pool);
	TEST_ASSERT_EQ(do_madvise(e.mm, A(2), P(3), MADV_DONTNEED), 0);
	TEST_ASSERT_EQ(before - test_pool_allocated(e.pool), 3UL);
	assert_vmas(e.mm, 0, TASK_SIZE, { A(0), A(8), VRW });
	mm_check(e.mm, A(0), P(2), 50);
	mm_check_zero(e.mm, A(2), P(3));
	mm_check(e.mm, A(5), P(3), 50);
	env_fini(&e);
}

/* A private file mapping forgets its COWed copies: the file shows through again. */
TEST(madvise_dontneed_private_file)
{
	struct file *file;
	uint8_t buf[16];
	struct env e;

	env_init(&e);
	file = test_file(e.pool, P(4), O_RDWR, 51);
	test_mmap(e.mm, A(0), P(4), RW, MAP_PRIVATE | MAP_FIXED, file, 0);
	mm_fill(e.mm, A(0), P(4), 52);
	TEST_ASSERT_EQ(do_madvise(e.mm, A(1), P(1), MADV_DONTNEED), 0);
	mm_read(e.mm, A(1), buf, sizeof(buf));
	for (int i = 0; i < 16; i++)
		TEST_ASSERT_EQ(buf[i], mm_pattern_byte(P(1) + i, 51));
	mm_check(e.mm, A(2), P(2), 52);
	fput(file);
	env_fini(&e);
}

TEST(madvise_dontneed_locked_and_holes)
{
	struct env e;

	env_init(&e);
	test_mmap_fixed(e.mm, A(0), P(2), RW);
	test_mmap_fixed(e.mm, A(4), P(2), RW);
	mm_fill(e.mm, A(0), P(2), 53);
	mm_fill(e.mm, A(4), P(2), 53);
	/* The hole is reported, but both sides are dropped. */
	TEST_ASSERT_EQ(do_madvise(e.mm, A(0), P(6), MADV_DONTNEED), -ENOMEM);
	mm_check_zero(e.mm, A(0), P(2));
	mm_check_zero(e.mm, A(4), P(2));

	mm_fill(e.mm, A(0), P(2), 54);
	TEST_ASSERT_EQ(do_mlock(e.mm, A(0), P(2), 0), 0);
	TEST_ASSERT_EQ(do_madvise(e.mm, A(0), P(2), MADV_DONTNEED), -EINVAL);
	mm_check(e.mm, A(0), P(2), 54);
	env_fini(&e);
}

TEST(madvise_dontfork_shapes)
{
	struct env e;

	env_init(&e);
	test_mmap_fixed(e.mm, A(0), P(8), RW);
	mm_fill(e.mm, A(0), P(8), 55);
	TEST_ASSERT_EQ(do_madvise(e.mm, A(2), P(3), MADV_DONTFORK), 0);
	assert_vmas(e.mm, 0, TASK_SIZE, { A(0), A(2), VRW }, { A(2), A(5), VRW | VM_DONTCOPY },
		    { A(5), A(8), VRW });
	mm_check_rmap_trees(e.mm);
	TEST_ASSERT_EQ(do_madvise(e.mm, A(0), P(8), MADV_DOFORK), 0);
	assert_vmas(e.mm, 0, TASK_SIZE, { A(0), A(8), VRW });
	mm_check(e.mm, A(0), P(8), 55);
	env_fini(&e);
}

TEST(madvise_errors)
{
	struct env e;

	env_init(&e);
	test_mmap_fixed(e.mm, A(0), P(4), RW);
	TEST_ASSERT_EQ(do_madvise(e.mm, A(0), P(1), MADV_WILLNEED), -EINVAL);
	TEST_ASSERT_EQ(do_madvise(e.mm, A(0) + 1, P(1), MADV_DONTNEED), -EINVAL);
	TEST_ASSERT_EQ(do_madvise(e.mm, A(0), 0, MADV_DONTNEED), 0);
	TEST_ASSERT_EQ(do_madvise(e.mm, A(0), ULONG_MAX, MADV_DONTNEED), -EINVAL);
	TEST_ASSERT_EQ(do_madvise(e.mm, A(0), ULONG_MAX - P(2), MADV_DONTFORK), -EINVAL);
	TEST_ASSERT_EQ(do_madvise(e.mm, A(8), P(1), MADV_DONTFORK), -ENOMEM);
	assert_vmas(e.mm, 0, TASK_SIZE, { A(0), A(4), VRW });
	env_fini(&e);
}

/* ---- the end of an mm ---- */

TEST(exit_frees_everything)
{
	struct file *file;
	struct env e;
	unsigned long a;

	env_init(&e);
	file = test_file(e.pool, P(16), O_RDWR, 60);
	a = test_mmap_anon(e.mm, P(64), RW);
	mm_fill(e.mm, a, P(64), 61);
	test_mmap(e.mm, A(0), P(8), RW, MAP_SHARED | MAP_FIXED, file, 0);
	test_mmap(e.mm, A(8), P(8), RW, MAP_PRIVATE | MAP_FIXED, file, P(8));
	test_mmap(e.mm, A(16), P(8), RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, NULL, 0);
	mm_fill(e.mm, A(0), P(24), 62);
	TEST_ASSERT_EQ(do_mlock(e.mm, a, P(8), 0), 0);
	TEST_ASSERT_EQ(do_mprotect(e.mm, a + P(16), P(4), PROT_READ), 0);
	fput(file);
	env_fini(&e); /* every frame back, the sanitizer silent */
}

/* mmgrab keeps the struct past the last mmput; only the last mmdrop frees it. */
TEST(mm_users_and_count)
{
	struct env e;

	env_init(&e);
	test_mmap_anon(e.mm, P(4), RW);
	mmgrab(e.mm);
	mmget(e.mm);
	mmput(e.mm);
	TEST_ASSERT_EQ(mm_nr_vmas(e.mm), 1);
	mmput(e.mm); /* the last user: the address space goes */
	TEST_ASSERT_EQ(atomic_read(&e.mm->mm_users), 0);
	TEST_ASSERT(!mmget_not_zero(e.mm), "mmget_not_zero on a dead mm");
	TEST_ASSERT_EQ(mm_nr_vmas(e.mm), 0);
	TEST_ASSERT_EQ(test_pool_allocated(e.pool), e.baseline);
	mmdrop(e.mm);
	test_pool_destroy(e.pool);
}

/* The VMAs of @mm counted forwards with for_each_vma() and backwards with vma_prev(). */
static void check_vma_walks(struct mm_struct *mm)
{
	struct vm_area_struct *vma, *last = NULL;
	int forwards = 0, backwards = 0;

	/* Bounded: a broken index may loop, which must fail, not hang. */
	mmap_read_lock(mm);
	for_each_vma(mm, vma) {
		last = vma;
		if (++forwards > mm->map_count)
			break;
	}
	for (vma = last; vma && backwards <= mm->map_count; vma = vma_prev(vma))
		backwards++;
	TEST_ASSERT_EQ(forwards, mm->map_count);
	TEST_ASSERT_EQ(backwards, mm->map_count);
	mmap_read_unlock(mm);
	mm_check_rmap_trees(mm); /* each VMA in its leaf slot, in the tree's order */
}

/*
 * The VMA leaves (struct vma_leaf) through every change of their shape:
 * appends that fill leaf after leaf, inserts at the front and in the middle
 * of full leaves (halving them), removals that empty leaves, and a fork.
 */
TEST(vma_leaves_follow_the_tree)
{
	struct env e;
	struct mm_struct *child;

	env_init(&e);
	/* 40 VMAs from the top down: each new one goes in front of the first. */
	for (int i = 39; i >= 0; i--)
		test_mmap_fixed(e.mm, A(2 * i), P(1), i % 2 ? PROT_READ : RW);
	check_vma_walks(e.mm);
	/* Into every gap, in a scattered order. */
	for (int i = 0; i < 39; i++)
		test_mmap_fixed(e.mm, A(2 * ((i * 7) % 39) + 1), P(1), PROT_NONE);
	check_vma_walks(e.mm);
	/*
	 * Appends fill leaves of VMA_LEAF_SLOTS; then one insert into each
	 * full leaf j, at its slot j: every place a halving can put a VMA.
	 */
	for (int i = 0; i < VMA_LEAF_SLOTS * (VMA_LEAF_SLOTS + 1); i++)
		test_mmap_fixed(e.mm, A(128 + 2 * i + 2), P(1), i % 2 ? PROT_READ : RW);
	for (int j = 0; j <= VMA_LEAF_SLOTS; j++)
		test_mmap_fixed(e.mm, A(128 + 2 * (VMA_LEAF_SLOTS * j + j) + 1), P(1), PROT_NONE);
	check_vma_walks(e.mm);
	/* Every fourth one out, then a whole run: leaves emptied and freed. */
	for (int i = 0; i < 80; i += 4)
		TEST_ASSERT_EQ(vm_munmap(e.mm, A(i), P(1)), 0);
	check_vma_walks(e.mm);
	TEST_ASSERT_EQ(vm_munmap(e.mm, A(20), P(40)), 0);
	check_vma_walks(e.mm);
	child = test_fork(e.mm);
	check_vma_walks(child);
	TEST_ASSERT_EQ(child->map_count, e.mm->map_count);
	mmput(child);
	env_fini(&e);
}
