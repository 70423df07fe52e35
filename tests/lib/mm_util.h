/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for tests of the host address space, after the KVM selftests'
 * library: a pool and an mm in a line each, mappings that assert they
 * worked, and reads, writes and pattern checks that go through the mm's
 * page tables (access_remote_vm, faulting in as needed) as a process's own
 * loads and stores would.
 *
 *	struct frame_pool *pool = test_pool(16 << 20);
 *	struct mm_struct *mm = test_mm(pool);
 *	unsigned long a = test_mmap_anon(mm, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE);
 *
 *	mm_fill(mm, a, 4 * PAGE_SIZE, 1);
 *	mm_check(mm, a, 4 * PAGE_SIZE, 1);
 *	mmput(mm);
 *	test_pool_destroy(pool);	asserts that every frame came back
 *
 * Every helper fails the test (TEST_ASSERT) when the operation does.
 */
#ifndef NOPIN_TESTS_MM_UTIL_H
#define NOPIN_TESTS_MM_UTIL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "mm/mm.h"
#include "tests/lib/test_util.h"

/* A frame pool of @bytes (poisoned, sanitized). */
struct frame_pool *test_pool(size_t bytes);
/* Assert that no frame of @pool is allocated and no sanitizer report was made, then destroy it. */
void test_pool_destroy(struct frame_pool *pool);
/* Frames of @pool allocated right now (data and page tables). */
unsigned long test_pool_allocated(struct frame_pool *pool);

/* A new empty mm on @pool. */
struct mm_struct *test_mm(struct frame_pool *pool);

/*
 * swapon() that must succeed: a swap file of @nr_pages slots at a fresh
 * temporary path, already unlinked (the open file stays until swapoff() or
 * the end of the process).  Returns its type.
 */
int test_swapon(unsigned long nr_pages);

/* vm_mmap() that must succeed: anonymous private memory anywhere. */
unsigned long test_mmap_anon(struct mm_struct *mm, size_t len, unsigned long prot);
/* vm_mmap() that must succeed, with every argument. */
unsigned long test_mmap(struct mm_struct *mm, unsigned long addr, size_t len, unsigned long prot,
			unsigned long flags, struct file *file, unsigned long offset);
/* vm_mmap() that must succeed: anonymous private memory at exactly @addr (MAP_FIXED). */
unsigned long test_mmap_fixed(struct mm_struct *mm, unsigned long addr, size_t len,
			      unsigned long prot);

/* dup_mm() that must succeed: @mm's child, as fork() makes it. */
struct mm_struct *test_fork(struct mm_struct *mm);

/* Host reads and writes through @mm's page tables; return bytes done or -errno. */
long mm_try_write(struct mm_struct *mm, unsigned long addr, const void *buf, size_t len);
long mm_try_read(struct mm_struct *mm, unsigned long addr, void *buf, size_t len);
/* The same, asserting that all @len bytes were done. */
void mm_write(struct mm_struct *mm, unsigned long addr, const void *buf, size_t len);
void mm_read(struct mm_struct *mm, unsigned long addr, void *buf, size_t len);

/*
 * A pattern that depends on each byte's address and on @seed, so a page
 * that turns up at the wrong address, or a stale copy, does not match.
 */
uint8_t mm_pattern_byte(unsigned long addr, uint64_t seed);
void mm_fill(struct mm_struct *mm, unsigned long addr, size_t len, uint64_t seed);
/* Assert [addr, addr + len) holds @seed's pattern (name the first wrong byte). */
void mm_check(struct mm_struct *mm, unsigned long addr, size_t len, uint64_t seed);
/* Assert [addr, addr + len) reads as zeroes. */
void mm_check_zero(struct mm_struct *mm, unsigned long addr, size_t len);

/*
 * A real file of @size bytes holding @seed's pattern by file offset (byte i
 * is mm_pattern_byte(i, seed)), opened with @flags (O_RDWR, O_RDONLY ...)
 * through filp_open() and already unlinked.  fput() it when done.
 */
struct file *test_file(struct frame_pool *pool, size_t size, int flags, uint64_t seed);
/* pread() @len bytes at @off of the file behind @file, asserting it worked. */
void test_file_read(struct file *file, off_t off, void *buf, size_t len);

/* One VMA as a test expects it. */
struct vma_shape {
	unsigned long start, end;
	unsigned long flags; /* compared under VMA_SHAPE_FLAGS */
};
/* What a shape compares: access, sharing, mlock, dontfork. */
#define VMA_SHAPE_FLAGS                                                                            \
	(VM_READ | VM_WRITE | VM_EXEC | VM_SHARED | VM_LOCKED | VM_LOCKONFAULT | VM_DONTCOPY)

/* Number of VMAs of @mm (takes mmap_lock). */
int mm_nr_vmas(struct mm_struct *mm);
/*
 * Assert that the VMAs of @mm overlapping [lo, hi) are exactly @shape[0..n),
 * in order; on mismatch print them all.  Checks map_count against the tree.
 */
void __assert_vmas(struct mm_struct *mm, unsigned long lo, unsigned long hi,
		   const struct vma_shape *shape, int n, const char *file, int line);
#define assert_vmas(mm, lo, hi, ...)                                                               \
	do {                                                                                       \
		const struct vma_shape __s[] = { __VA_ARGS__ };                                    \
		__assert_vmas(mm, lo, hi, __s, ARRAY_SIZE(__s), __FILE__, __LINE__);               \
	} while (0)
#define assert_no_vmas(mm, lo, hi) __assert_vmas(mm, lo, hi, NULL, 0, __FILE__, __LINE__)

/*
 * Assert that every VMA of @mm is where each tree expects it: the mm's tree
 * under its bounds, its file's i_mmap and each anon_vma's tree under its
 * pgoff range, VMAs disjoint.
 */
void mm_check_rmap_trees(struct mm_struct *mm);

/* The page mapped at @addr right now (no fault), with a reference; NULL if none. */
struct page *mm_lookup_page(struct mm_struct *mm, unsigned long addr);
/* The page mapped at @addr, which must be mapped; no reference: the mapping keeps it. */
struct page *mm_page_at(struct mm_struct *mm, unsigned long addr);
/* Isolate the page mapped at @addr and reclaim it, whatever its references; true if freed. */
bool mm_pageout(struct mm_struct *mm, unsigned long addr);
/*
 * The same for a page others may be working on too (kswapd, a vCPU's
 * faults): reclaim, or migrate to a new frame, the page mapped at @addr
 * if it is there and on an LRU list; true if it was freed or moved.
 */
bool mm_try_pageout(struct mm_struct *mm, unsigned long addr);
bool mm_try_migrate(struct mm_struct *mm, unsigned long addr);
/* The raw PTE of @addr right now (0 if none or no table), read under the PTE lock. */
unsigned long mm_pte_val(struct mm_struct *mm, unsigned long addr);
/* The pfn of the frame @addr maps right now, or -1 if none. */
long mm_pfn_at(struct mm_struct *mm, unsigned long addr);
/*
 * The same without mmap_lock, for code that runs inside the path under
 * test (a notifier callback, an rmap walk) and must not take it: the
 * caller holds what keeps @mm's page tables alive; only the PTE lock is
 * taken.
 */
unsigned long __mm_pte_val(struct mm_struct *mm, unsigned long addr);
long mm_pte_pfn(struct mm_struct *mm, unsigned long addr);

/*
 * A thread flipping [addr, addr + len) of @mm between read-write and
 * read-only by mprotect, as the pressure agent does, so an rmap walk meets
 * vm_flags changing under it.  started and stop are relaxed: they order
 * nothing TSan could see, so the flips race with the caller's walks.
 */
struct prot_flipper {
	struct mm_struct *mm;
	unsigned long addr;
	size_t len;
	int started, stop;
	pthread_t thread;
};

/* Returns once the thread has flipped at least once. */
void prot_flipper_start(struct prot_flipper *f, struct mm_struct *mm, unsigned long addr,
			size_t len);
void prot_flipper_stop(struct prot_flipper *f);

#endif
