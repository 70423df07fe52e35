// SPDX-License-Identifier: GPL-2.0
/*
 * Two threads fault and write pages of one mm while a third changes its
 * VMAs under them: munmap and mmap again, mprotect, mlock, MADV_DONTNEED,
 * MADV_DONTFORK, mremap away and back, and fork.
 *
 * The region is split in two.  The stable half is never unmapped or
 * zapped (the mutator only toggles its protection, locks it and forks), so
 * each of its pages must always hold exactly what its writer last wrote:
 * the writers keep a shadow and check every page after every write, and
 * the main thread checks them all at the end.  The volatile half is
 * unmapped, zapped and moved at random, so a page there may read as
 * zeroes or fail to read at all, but if it reads it must be either zeroes
 * or exactly its writer's last successful write: never poison, never a
 * stale or misplaced page.  Each page has one writer (even pages writer 0,
 * odd pages writer 1), so "last write" is well defined without locks.
 *
 * The frame sanitizer checks every free and allocation throughout, and the
 * harness fails the test on any report; test_pool_destroy() asserts that
 * every frame came back.
 */
#include <stdlib.h>
#include <string.h>

#include "base/kthread.h"
#include "base/prandom.h"
#include "mm/internal.h"
#include "tests/lib/mm_util.h"

#define RW (PROT_READ | PROT_WRITE)
#define P(n) ((unsigned long)(n)*PAGE_SIZE)
#define BASE 0x200000000UL
#define A(n) (BASE + P(n))

#define NR_PAGES 256
#define NR_STABLE 128	/* pages [0, NR_STABLE) are never unmapped or zapped */
#define SCRATCH A(4096) /* where mremap parks a volatile range */
/*
 * The mutator does at least MUTATOR_OPS operations and goes on until each
 * writer has done WRITER_MIN_ITERS steps; the writers go on until it stops.
 * So both sides overlap for all of that, however the threads are scheduled.
 */
#define MUTATOR_OPS 10000
#define WRITER_MIN_ITERS 10000

struct writer;

struct stress {
	struct mm_struct *mm;
	bool stop;
	struct writer *writers;
	/* Per page: the seed of its writer's last successful write, 0 for none. */
	uint64_t last_seed[NR_PAGES];
};

struct writer {
	struct stress *st;
	int id;
	unsigned long writes_ok, reads_ok, iters;
	uint8_t *buf, *want;
};

static void fill_pattern(uint8_t *buf, unsigned long addr, uint64_t seed)
{
	for (unsigned long i = 0; i < PAGE_SIZE; i++)
		buf[i] = seed ? mm_pattern_byte(addr + i, seed) : 0;
}

static bool all_zero(const uint8_t *buf)
{
	for (unsigned long i = 0; i < PAGE_SIZE; i++)
		if (buf[i])
			return false;
	return true;
}

/* Write page @p with a new seed; then read it back and check it. */
static void writer_step(struct writer *w, uint64_t *rng)
{
	struct stress *st = w->st;
	unsigned long p = (prandom_u64(rng) % (NR_PAGES / 2)) * 2 + w->id;
	unsigned long addr = A(p);
	uint64_t seed = ((w->iters + 1) << 9) | (p << 1) | 1; /* never 0: 0 is "zeroes" */
	bool stable = p < NR_STABLE;
	long ret;

	fill_pattern(w->buf, addr, seed);
	ret = mm_try_write(st->mm, addr, w->buf, PAGE_SIZE);
	TEST_ASSERT(ret == (long)PAGE_SIZE || ret == -EFAULT, "write page %lu: %ld", p, ret);
	if (ret == (long)PAGE_SIZE) {
		st->last_seed[p] = seed;
		w->writes_ok++;
	}

	ret = mm_try_read(st->mm, addr, w->buf, PAGE_SIZE);
	if (stable)
		TEST_ASSERT(ret == (long)PAGE_SIZE, "read stable page %lu: %ld", p, ret);
	else
		TEST_ASSERT(ret == (long)PAGE_SIZE || ret == -EFAULT, "read page %lu: %ld", p, ret);
	if (ret != (long)PAGE_SIZE)
		return;
	w->reads_ok++;
	fill_pattern(w->want, addr, st->last_seed[p]);
	if (!memcmp(w->buf, w->want, PAGE_SIZE))
		return;
	/* Only a volatile page may have been zapped since. */
	TEST_ASSERT(!stable && all_zero(w->buf),
		    "page %lu (%s) holds neither its last write (seed %#lx) nor zeroes: "
		    "first bytes %02x %02x %02x %02x",
		    p, stable ? "stable" : "volatile", st->last_seed[p], w->buf[0], w->buf[1],
		    w->buf[2], w->buf[3]);
}

static int writer_fn(void *arg)
{
	struct writer *w = arg;
	uint64_t rng = 0x1234567 + w->id;

	w->buf = malloc(PAGE_SIZE);
	w->want = malloc(PAGE_SIZE);
	TEST_ASSERT(w->buf && w->want, "malloc");
	while (!READ_ONCE(w->st->stop)) {
		writer_step(w, &rng);
		WRITE_ONCE(w->iters, w->iters + 1);
	}
	free(w->buf);
	free(w->want);
	return 0;
}

/* A random range of 1-16 pages inside [lo, hi) pages. */
static void pick_range(uint64_t *rng, unsigned long lo, unsigned long hi, unsigned long *start,
		       unsigned long *len)
{
	unsigned long n = 1 + prandom_u64(rng) % 16;
	unsigned long first = lo + prandom_u64(rng) % (hi - lo);

	n = min(n, hi - first);
	*start = A(first);
	*len = P(n);
}

static void assert_ret_in(long ret, long a, long b, long c, const char *op)
{
	TEST_ASSERT(ret == a || ret == b || ret == c, "%s: %ld", op, ret);
}

/* Operations that keep contents: fair game for the stable half too. */
static void mutate_keeping(struct stress *st, uint64_t *rng, unsigned long start, unsigned long len,
			   int op)
{
	struct mm_struct *mm = st->mm;
	long ret;

	switch (op) {
	case 0:
		ret = do_mprotect(mm, start, len, prandom_u64(rng) % 2 ? RW : PROT_READ);
		assert_ret_in(ret, 0, -ENOMEM, 0, "mprotect");
		break;
	case 1:
		ret = do_mlock(mm, start, len, prandom_u64(rng) % 2 ? MLOCK_ONFAULT : 0);
		assert_ret_in(ret, 0, -ENOMEM, 0, "mlock");
		break;
	case 2:
		ret = do_munlock(mm, start, len);
		assert_ret_in(ret, 0, -ENOMEM, 0, "munlock");
		break;
	case 3:
		ret = do_madvise(mm, start, len,
				 prandom_u64(rng) % 2 ? MADV_DONTFORK : MADV_DOFORK);
		assert_ret_in(ret, 0, -ENOMEM, 0, "madvise fork");
		break;
	}
}

/* Operations that may drop contents: the volatile half only. */
static void mutate_volatile(struct stress *st, uint64_t *rng, unsigned long start,
			    unsigned long len, int op)
{
	struct mm_struct *mm = st->mm;
	long ret;

	switch (op) {
	case 0:
		TEST_ASSERT_EQ(vm_munmap(mm, start, len), 0);
		if (prandom_u64(rng) % 4)
			break;
		/* Map it again at once. */
		__attribute__((fallthrough));
	case 1:
		ret = vm_mmap(mm, start, len, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, NULL, 0);
		TEST_ASSERT(ret == (long)start, "mmap fixed: %ld", ret);
		break;
	case 2:
		ret = do_madvise(mm, start, len, MADV_DONTNEED);
		assert_ret_in(ret, 0, -ENOMEM, -EINVAL, "madvise dontneed");
		break;
	case 3:
		ret = do_mprotect(mm, start, len, PROT_NONE);
		assert_ret_in(ret, 0, -ENOMEM, 0, "mprotect none");
		break;
	case 4:
		/* Away and back: the pages travel with their PTEs and return. */
		ret = do_mremap(mm, start, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, SCRATCH);
		if (ret == -EFAULT)
			break; /* not one mapping */
		TEST_ASSERT(ret == (long)SCRATCH, "mremap away: %ld", ret);
		ret = do_mremap(mm, SCRATCH, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, start);
		TEST_ASSERT(ret == (long)start, "mremap back: %ld", ret);
		break;
	}
}

static bool writers_done(struct stress *st)
{
	return READ_ONCE(st->writers[0].iters) >= WRITER_MIN_ITERS &&
	       READ_ONCE(st->writers[1].iters) >= WRITER_MIN_ITERS;
}

static int mutator_fn(void *arg)
{
	struct stress *st = arg;
	uint64_t rng = 0xfeedface;
	unsigned long start, len;

	for (int i = 0; i < MUTATOR_OPS || !writers_done(st); i++) {
		int what = prandom_u64(&rng) % 16;

		if (what < 4) {
			pick_range(&rng, 0, NR_STABLE, &start, &len);
			mutate_keeping(st, &rng, start, len, what);
		} else if (what < 8) {
			pick_range(&rng, NR_STABLE, NR_PAGES, &start, &len);
			mutate_keeping(st, &rng, start, len, what - 4);
		} else if (what < 15) {
			pick_range(&rng, NR_STABLE, NR_PAGES, &start, &len);
			mutate_volatile(st, &rng, start, len, (what - 8) % 5);
		} else {
			/* fork and exit: write-protects everything private under the writers */
			struct mm_struct *child = dup_mm(st->mm, "child");

			TEST_ASSERT(child, "dup_mm");
			mmput(child);
		}
	}
	WRITE_ONCE(st->stop, true);
	return 0;
}

TEST(mm_stress_fault_vs_vma_changes)
{
	struct frame_pool *pool = test_pool(64 << 20);
	struct stress *st = calloc(1, sizeof(*st));
	struct writer w[2] = { { .st = st, .id = 0 }, { .st = st, .id = 1 } };
	struct kthread *k[3];
	uint8_t *buf = malloc(PAGE_SIZE), *want = malloc(PAGE_SIZE);

	TEST_ASSERT(st && buf && want, "calloc");
	st->mm = test_mm(pool);
	st->writers = w;
	test_mmap(st->mm, A(0), P(NR_PAGES), RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, NULL, 0);

	k[0] = kthread_run(writer_fn, &w[0], "writer-0");
	k[1] = kthread_run(writer_fn, &w[1], "writer-1");
	k[2] = kthread_run(mutator_fn, st, "mutator");
	for (int i = 0; i < 3; i++)
		TEST_ASSERT(!IS_ERR(k[i]), "kthread_run %d", i);
	for (int i = 0; i < 3; i++)
		TEST_ASSERT_EQ(kthread_join(k[i]), 0);

	/* Every stable page holds its last write; the region is whole again. */
	TEST_ASSERT_EQ(do_mprotect(st->mm, A(0), P(NR_STABLE), RW), 0);
	for (int p = 0; p < NR_STABLE; p++) {
		mm_read(st->mm, A(p), buf, PAGE_SIZE);
		fill_pattern(want, A(p), st->last_seed[p]);
		TEST_ASSERT(!memcmp(buf, want, PAGE_SIZE), "stable page %d lost its last write", p);
	}
	printf("writer 0: %lu iterations, %lu writes, %lu reads; "
	       "writer 1: %lu iterations, %lu writes, %lu reads\n",
	       w[0].iters, w[0].writes_ok, w[0].reads_ok, w[1].iters, w[1].writes_ok,
	       w[1].reads_ok);

	mmput(st->mm);
	test_pool_destroy(pool);
	free(buf);
	free(want);
	free(st);
}
