// SPDX-License-Identifier: GPL-2.0
/*
 * Reclaim and swap, per 4 KiB page, and the cost of an rmap walk against
 * the number of processes mapping a page:
 *
 *   swap out    model: shrink_node() reclaiming every page of a written
 *               anonymous mapping to a swap file (LRU scan, aging, the rmap
 *               walk, a swap slot, try_to_unmap() with its notifier calls,
 *               the pwrite() of the page, the free);
 *               peer: the host kernel's pwrite() of the same pages to a
 *               file, page by page (the I/O alone).
 *   swap in     model: access_remote_vm() reading one byte of each page
 *               (fault, swap cache, pread(), map);
 *               peer: pread() of the same pages.
 *   rmap walk   folio_referenced() of one anon page shared by a fork chain
 *               of depth 1, 8, 64 (2, 9, 65 mappings): the anon_vma tree
 *               walk, each VMA's page-table walk under its PTE lock.
 *
 * Each figure is the best of ROUNDS runs.  Use a Release build for figures
 * worth quoting: Debug builds run the lock checker on every lock.
 *
 *	bench_reclaim [--csv] [PAGES]		(default 8192, 32 MiB)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/current.h"
#include "mm/internal.h"
#include "mm/swap.h"
#include "bench/bench.h"

#define ROUNDS 3

static unsigned long mmap_anon(struct mm_struct *mm, unsigned long len)
{
	unsigned long a =
		vm_mmap(mm, 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, NULL, 0);

	if (IS_ERR_VALUE(a))
		die("vm_mmap");
	return a;
}

static void touch(struct mm_struct *mm, unsigned long a, unsigned long pages, bool write)
{
	char c = 1;

	for (unsigned long i = 0; i < pages; i++)
		if (access_remote_vm(mm, a + i * PAGE_SIZE, &c, 1, write ? FOLL_WRITE : 0) != 1)
			die("access_remote_vm");
}

/* ns per page to swap @pages out with shrink_node(), and back in by faults. */
static void model_swap(unsigned long pages, const char *path, double *out_ns, double *in_ns)
{
	struct frame_pool *pool = frame_pool_create((pages + pages / 2 + 1024) << PAGE_SHIFT, 0);
	struct mm_struct *mm;
	unsigned long a, got;
	int type;
	double t;

	if (IS_ERR(pool))
		die("frame_pool_create");
	type = swapon(path, pages + 16);
	if (type < 0)
		die("swapon");
	mm = mm_alloc(pool, "bench");
	a = mmap_anon(mm, pages << PAGE_SHIFT);
	touch(mm, a, pages, true);

	t = now_ns();
	got = shrink_node(pool->pgdat, pages);
	*out_ns = (now_ns() - t) / (got ? got : 1);
	if (got < pages / 2)
		fprintf(stderr, "note: reclaimed only %lu of %lu\n", got, pages);

	t = now_ns();
	touch(mm, a, pages, false);
	*in_ns = (now_ns() - t) / pages;

	mmput(mm);
	if (swapoff(type))
		die("swapoff");
	frame_pool_destroy(pool);
}

static void kernel_io(unsigned long pages, const char *path, double *w_ns, double *r_ns)
{
	char *buf = aligned_alloc(PAGE_SIZE, PAGE_SIZE);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	double t;

	if (fd < 0 || !buf)
		die("open");
	memset(buf, 0x5a, PAGE_SIZE);
	if (ftruncate(fd, (off_t)(pages + 16) << PAGE_SHIFT))
		die("ftruncate");
	t = now_ns();
	for (unsigned long i = 0; i < pages; i++)
		if (pwrite(fd, buf, PAGE_SIZE, (off_t)(i + 1) << PAGE_SHIFT) != PAGE_SIZE)
			die("pwrite");
	*w_ns = (now_ns() - t) / pages;
	t = now_ns();
	for (unsigned long i = 0; i < pages; i++)
		if (pread(fd, buf, PAGE_SIZE, (off_t)(i + 1) << PAGE_SHIFT) != PAGE_SIZE)
			die("pread");
	*r_ns = (now_ns() - t) / pages;
	close(fd);
	unlink(path);
	free(buf);
}

/* ns per folio_referenced() of a page mapped by a fork chain @depth deep. */
static double rmap_walk_ns(int depth, int *mappings)
{
	struct frame_pool *pool = frame_pool_create(64UL << 20, 0);
	struct mm_struct *mms[65];
	unsigned long a, vm_flags;
	struct page *page = NULL;
	const int walks = 2000;
	spinlock_t *ptl;
	double t;
	pte_t *pte;

	if (IS_ERR(pool))
		die("frame_pool_create");
	mms[0] = mm_alloc(pool, "bench");
	a = mmap_anon(mms[0], PAGE_SIZE);
	touch(mms[0], a, 1, true);
	for (int i = 1; i <= depth; i++) {
		mms[i] = dup_mm(mms[i - 1], "child");
		if (!mms[i])
			die("dup_mm");
	}
	mmap_read_lock(mms[0]);
	pte = pte_offset_map_lock(mms[0], a, &ptl);
	if (pte) {
		page = pfn_to_page(pool, pte_pfn(ptep_get(pte)));
		get_page(page);
		pte_unmap_unlock(pte, ptl);
	}
	mmap_read_unlock(mms[0]);
	if (!page)
		die("no page");
	*mappings = page_mapcount(page);

	lock_page(page);
	t = now_ns();
	for (int i = 0; i < walks; i++)
		folio_referenced(page, 1, &vm_flags);
	t = (now_ns() - t) / walks;
	unlock_page(page);
	put_page(page);
	for (int i = depth; i >= 0; i--)
		mmput(mms[i]);
	frame_pool_destroy(pool);
	return t;
}

int main(int argc, char **argv)
{
	unsigned long pages;
	double out = 1e30, in = 1e30, w = 1e30, r = 1e30;
	static const int depths[] = { 1, 8, 64 };
	char path[64];

	bench_csv_init(&argc, argv);
	pages = argc > 1 ? strtoul(argv[1], NULL, 0) : 8192;
	task_register("bench");
	snprintf(path, sizeof(path), "/tmp/nopin-bench-swap-%d", getpid());
	for (int i = 0; i < ROUNDS; i++) {
		double o, n, pw, pr;

		model_swap(pages, path, &o, &n);
		unlink(path);
		kernel_io(pages, path, &pw, &pr);
		out = o < out ? o : out;
		in = n < in ? n : in;
		w = pw < w ? pw : w;
		r = pr < r ? pr : r;
	}
	printf("reclaim and swap, %lu pages (best of %d)\n", pages, ROUNDS);
	printf("%-34s %12s %14s\n", "", "ns/page", "pages/s");
	printf("%-34s %12.0f %14.0f\n", "model: swap out (shrink_node)", out, 1e9 / out);
	printf("%-34s %12.0f %14.0f\n", "kernel: pwrite 4 KiB (peer)", w, 1e9 / w);
	printf("%-34s %12.0f %14.0f\n", "model: swap in (fault)", in, 1e9 / in);
	printf("%-34s %12.0f %14.0f\n", "kernel: pread 4 KiB (peer)", r, 1e9 / r);
	bench_csv("ns_per_page", "swap_out", "model", out);
	bench_csv("ns_per_page", "swap_out", "kernel_pwrite", w);
	bench_csv("ns_per_page", "swap_in", "model", in);
	bench_csv("ns_per_page", "swap_in", "kernel_pread", r);

	printf("\nrmap walk: folio_referenced() of an anon page shared by a fork chain\n");
	printf("%-10s %10s %14s %16s\n", "depth", "mappings", "ns/walk", "ns/mapping");
	for (size_t i = 0; i < ARRAY_SIZE(depths); i++) {
		double best = 1e30;
		int maps = 0;

		for (int k = 0; k < ROUNDS; k++) {
			double ns = rmap_walk_ns(depths[i], &maps);

			best = ns < best ? ns : best;
		}
		printf("%-10d %10d %14.0f %16.1f\n", depths[i], maps, best, best / maps);
		bench_csv_n("rmap_walk", maps, "ns_per_walk", best);
	}
	return 0;
}
