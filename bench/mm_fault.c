// SPDX-License-Identifier: GPL-2.0
/*
 * What a fault costs in the model, beside the host kernel doing the same in
 * the same run, per 4 KiB page:
 *
 *   zero-fill fault   model: handle_mm_fault() on each untouched page of an
 *                     anonymous mapping (mmap_lock held for read across the
 *                     loop), and access_remote_vm() writing one byte to
 *                     each (GUP lookup + the same fault + the copy);
 *                     kernel: mmap(MAP_PRIVATE|MAP_ANONYMOUS), then one
 *                     store to each page (a real page fault that zeroes a
 *                     page).
 *   present page      model: get_user_page_ref() + put_page() on a mapped
 *                     page (what the secondary MMU's fault path does: the
 *                     page-table walk under the PTE lock, a reference, no
 *                     fault), and access_remote_vm() reading one byte;
 *                     kernel: a minor fault, mapping a page that is already
 *                     in the page cache (a fresh MAP_SHARED mapping of a
 *                     populated memfd), and for scale a plain load from a
 *                     mapped page (no fault at all).
 *   munmap            per page of a fully touched mapping: model vm_munmap()
 *                     (notifier start, zap, free_pgtables, the gather
 *                     freeing pages and tables), kernel munmap().
 *
 * Each figure is the best of ROUNDS runs.  Use a Release build for figures
 * worth quoting: Debug builds run the lock checker on every lock.
 *
 *	bench_mm_fault [--csv] [PAGES]		(default 16384, 64 MiB)
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/current.h"
#include "mm/internal.h"
#include "bench/bench.h"

#define ROUNDS 5

/* ---- the model ---- */

struct model {
	struct frame_pool *pool;
	struct mm_struct *mm;
	unsigned long addr;
	unsigned long pages;
};

static void model_map(struct model *m)
{
	m->mm = mm_alloc(m->pool, "bench");
	if (!m->mm)
		die("mm_alloc");
	m->addr = vm_mmap(m->mm, 0, m->pages * PAGE_SIZE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, NULL, 0);
	if (IS_ERR_VALUE(m->addr))
		die("vm_mmap");
}

static void model_unmap(struct model *m)
{
	mmput(m->mm);
	m->mm = NULL;
}

static double model_handle_mm_fault(struct model *m)
{
	struct vm_area_struct *vma;
	double t0, t1;

	model_map(m);
	mmap_read_lock(m->mm);
	vma = vma_lookup(m->mm, m->addr);
	t0 = now_ns();
	for (unsigned long i = 0; i < m->pages; i++)
		if (handle_mm_fault(vma, m->addr + i * PAGE_SIZE, FAULT_FLAG_WRITE))
			die("handle_mm_fault");
	t1 = now_ns();
	mmap_read_unlock(m->mm);
	model_unmap(m);
	return (t1 - t0) / m->pages;
}

static void model_touch_all(struct model *m, unsigned int gup_flags)
{
	char c = 1;

	for (unsigned long i = 0; i < m->pages; i++)
		if (access_remote_vm(m->mm, m->addr + i * PAGE_SIZE, &c, 1, gup_flags) != 1)
			die("access_remote_vm");
}

static double model_first_touch(struct model *m)
{
	double t0, t1;

	model_map(m);
	t0 = now_ns();
	model_touch_all(m, FOLL_WRITE);
	t1 = now_ns();
	model_unmap(m);
	return (t1 - t0) / m->pages;
}

static double model_get_ref(struct model *m)
{
	struct page *page;
	bool writable;
	double t0, t1;

	model_map(m);
	model_touch_all(m, FOLL_WRITE);
	t0 = now_ns();
	for (unsigned long i = 0; i < m->pages; i++) {
		if (get_user_page_ref(m->mm, m->addr + i * PAGE_SIZE, false, &page, &writable))
			die("get_user_page_ref");
		put_page(page);
	}
	t1 = now_ns();
	model_unmap(m);
	return (t1 - t0) / m->pages;
}

static double model_present_read(struct model *m)
{
	double t0, t1;

	model_map(m);
	model_touch_all(m, FOLL_WRITE);
	t0 = now_ns();
	model_touch_all(m, 0);
	t1 = now_ns();
	model_unmap(m);
	return (t1 - t0) / m->pages;
}

static double model_munmap(struct model *m)
{
	double t0, t1;

	model_map(m);
	model_touch_all(m, FOLL_WRITE);
	t0 = now_ns();
	if (vm_munmap(m->mm, m->addr, m->pages * PAGE_SIZE))
		die("vm_munmap");
	t1 = now_ns();
	model_unmap(m);
	return (t1 - t0) / m->pages;
}

/* ---- the host kernel ---- */

/* Where the loads' sum goes, so the compiler keeps them. */
static volatile char sink;

static char *kernel_map(unsigned long pages, int flags, int fd)
{
	char *p = mmap(NULL, pages * PAGE_SIZE, PROT_READ | PROT_WRITE, flags, fd, 0);

	if (p == MAP_FAILED)
		die("mmap");
	return p;
}

static void kernel_touch(volatile char *p, unsigned long pages)
{
	for (unsigned long i = 0; i < pages; i++)
		p[i * PAGE_SIZE] = 1;
}

static double kernel_first_touch(unsigned long pages)
{
	char *p = kernel_map(pages, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	double t0 = now_ns(), t1;

	kernel_touch(p, pages);
	t1 = now_ns();
	munmap(p, pages * PAGE_SIZE);
	return (t1 - t0) / pages;
}

static double kernel_minor_fault(unsigned long pages)
{
	int fd = memfd_create("bench_mm_fault", 0);
	volatile char *p;
	double t0, t1;
	char sum = 0;

	if (fd < 0 || ftruncate(fd, pages * PAGE_SIZE))
		die("memfd");
	p = kernel_map(pages, MAP_SHARED, fd);
	kernel_touch(p, pages); /* populate the page cache */
	munmap((void *)p, pages * PAGE_SIZE);
	p = kernel_map(pages, MAP_SHARED, fd);
	t0 = now_ns();
	for (unsigned long i = 0; i < pages; i++)
		sum += p[i * PAGE_SIZE];
	t1 = now_ns();
	munmap((void *)p, pages * PAGE_SIZE);
	close(fd);
	sink = sum;
	return (t1 - t0) / pages;
}

static double kernel_present_load(unsigned long pages)
{
	volatile char *p = kernel_map(pages, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	double t0, t1;
	char sum = 0;

	kernel_touch(p, pages);
	t0 = now_ns();
	for (unsigned long i = 0; i < pages; i++)
		sum += p[i * PAGE_SIZE];
	t1 = now_ns();
	munmap((void *)p, pages * PAGE_SIZE);
	sink = sum;
	return (t1 - t0) / pages;
}

static double kernel_munmap(unsigned long pages)
{
	char *p = kernel_map(pages, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	double t0, t1;

	kernel_touch(p, pages);
	t0 = now_ns();
	munmap(p, pages * PAGE_SIZE);
	t1 = now_ns();
	return (t1 - t0) / pages;
}

/* ---- the table ---- */

typedef double (*model_fn)(struct model *m);
typedef double (*kernel_fn)(unsigned long pages);

static double best_model(model_fn fn, struct model *m)
{
	double best = 1e30;

	for (int r = 0; r < ROUNDS; r++)
		best = min(best, fn(m));
	return best;
}

static double best_kernel(kernel_fn fn, unsigned long pages)
{
	double best = 1e30;

	for (int r = 0; r < ROUNDS; r++)
		best = min(best, fn(pages));
	return best;
}

static void row(const char *what, const char *model_how, double model_ns, const char *kernel_how,
		double kernel_ns)
{
	printf("%-17s | %-36s %9.1f | %-30s %8.1f | %7.2fx\n", what, model_how, model_ns,
	       kernel_how, kernel_ns, model_ns / kernel_ns);
	bench_csv("ns_per_page", model_how, "model", model_ns);
	bench_csv("ns_per_page", model_how, "kernel", kernel_ns);
}

int main(int argc, char **argv)
{
	struct model m;

	bench_csv_init(&argc, argv);
	m = (struct model){ .pages = argc > 1 ? strtoul(argv[1], NULL, 0) : 16384 };
	if (!m.pages)
		m.pages = 16384;
	task_register("bench");
	/* Room for the pages, their tables, and the pool's per-CPU caches. */
	m.pool = frame_pool_create(ALIGN((m.pages + m.pages / 256 + 1024) * PAGE_SIZE, 1UL << 20),
				   0);
	if (IS_ERR_OR_NULL(m.pool))
		die("frame_pool_create");

	printf("bench_mm_fault: %lu pages (%lu MiB) per run, best of %d runs, ns per page\n",
	       m.pages, m.pages * PAGE_SIZE >> 20, ROUNDS);
	printf("%-17s | %-36s %9s | %-30s %8s | %8s\n", "", "model", "ns", "host kernel", "ns",
	       "model/kernel");
	row("zero-fill fault", "handle_mm_fault (write)", best_model(model_handle_mm_fault, &m),
	    "mmap + store to each page", best_kernel(kernel_first_touch, m.pages));
	row("", "access_remote_vm 1-byte write", best_model(model_first_touch, &m),
	    "mmap + store to each page", best_kernel(kernel_first_touch, m.pages));
	row("present page", "get_user_page_ref + put_page", best_model(model_get_ref, &m),
	    "minor fault (page-cache hit)", best_kernel(kernel_minor_fault, m.pages));
	row("", "access_remote_vm 1-byte read", best_model(model_present_read, &m),
	    "load from a mapped page", best_kernel(kernel_present_load, m.pages));
	row("munmap", "vm_munmap of touched pages", best_model(model_munmap, &m),
	    "munmap of touched pages", best_kernel(kernel_munmap, m.pages));
	frame_pool_destroy(m.pool);
	return 0;
}
