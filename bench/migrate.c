// SPDX-License-Identifier: GPL-2.0
/*
 * Migration throughput, in pages per second: the model's
 * migrate_page_to_new() on every page of a touched mapping (each page
 * isolated from its LRU list first, as the kernel's callers do), for
 *
 *   anon, 1 mapping     private anonymous memory of one process;
 *   anon, N mappings    the same pages shared by fork with N - 1 children
 *                       (every PTE becomes a migration entry and back: the
 *                       rmap walks grow with N);
 *   file, shared        a shared mapping of a real file (the page-cache
 *                       slot moves too);
 *   anon + notifier     one process with an mmu_notifier subscriber that
 *                       does nothing: the cost of announcing each PTE.
 *
 * Beside it, in the same run: memcpy() of the same number of pages (the
 * floor: a migration copies each page once), and the host kernel's
 * move_pages(2) of a touched anonymous mapping between two NUMA nodes,
 * when the machine has two (otherwise the row says so).
 *
 * Each figure is the best of ROUNDS runs.  Use a Release build for figures
 * worth quoting: Debug builds run the lock checker on every lock.
 *
 *	bench_migrate [--csv] [PAGES]		(default 4096, 16 MiB)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench/bench.h"
#include "mm/internal.h"
#include "mm/migrate.h"
#include "mm/mmu_notifier.h"
#include "mm/swap.h"

#define ROUNDS 5
#define MPOL_MF_MOVE (1 << 1)

/* The page mapped at @addr, isolated from its list (or with a plain reference). */
static struct page *take_page(struct mm_struct *mm, unsigned long addr, bool *isolated)
{
	struct page *page = NULL;
	spinlock_t *ptl;
	pte_t *pte;

	mmap_read_lock(mm);
	pte = pte_offset_map_lock(mm, addr, &ptl);
	if (pte) {
		if (pte_present(ptep_get(pte))) {
			page = pfn_to_page(mm->pool, pte_pfn(ptep_get(pte)));
			get_page(page);
		}
		pte_unmap_unlock(pte, ptl);
	}
	mmap_read_unlock(mm);
	if (!page)
		return NULL;
	*isolated = !isolate_lru_page(page);
	if (!*isolated) {
		put_page(page); /* on no list: reclaim's, not ours to move */
		return NULL;
	}
	put_page(page);
	return page;
}

/* Migrate every page of [addr, addr + n pages) once; returns ns taken, counts failures. */
static double migrate_range(struct mm_struct *mm, unsigned long addr, unsigned long n,
			    unsigned long *failed)
{
	double t0 = now_ns();

	for (unsigned long i = 0; i < n; i++) {
		bool isolated;
		struct page *page = take_page(mm, addr + i * PAGE_SIZE, &isolated);

		if (!page || migrate_page_to_new(page, isolated, MIGRATE_SYNC))
			(*failed)++;
	}
	return now_ns() - t0;
}

static void touch(struct mm_struct *mm, unsigned long addr, unsigned long n)
{
	char byte = 1;

	for (unsigned long i = 0; i < n; i++)
		if (access_remote_vm(mm, addr + i * PAGE_SIZE, &byte, 1, FOLL_WRITE) != 1)
			die("touch");
}

static int nop_start(struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	return 0;
}

static const struct mmu_notifier_ops nop_ops = {
	.invalidate_range_start = nop_start,
};

enum kind { ANON, ANON_SHARED, FILE_SHARED, ANON_NOTIFIER };

/* One model figure: pages per second, best of ROUNDS. */
static double model_rate(enum kind kind, unsigned long n, int mappings, unsigned long *failed)
{
	size_t pool_bytes = (n * (mappings + 2) + 4096) * PAGE_SIZE;
	struct frame_pool *pool = frame_pool_create(pool_bytes, 0);
	struct mm_struct *mm = mm_alloc(pool, "bench");
	struct mm_struct *children[64];
	struct mmu_notifier mn = { .ops = &nop_ops };
	struct file *file = NULL;
	char path[] = "/tmp/nopin-bench-migrate-XXXXXX";
	unsigned long addr, len = n * PAGE_SIZE;
	double best = 0;
	int fd;

	if (!pool || !mm)
		die("model setup");
	if (kind == FILE_SHARED) {
		fd = mkstemp(path);
		if (fd < 0 || ftruncate(fd, len))
			die("bench file");
		close(fd);
		file = filp_open(pool, path, O_RDWR, 0);
		unlink(path);
		if (IS_ERR(file))
			die("filp_open");
		addr = vm_mmap(mm, 0, len, PROT_READ | PROT_WRITE, MAP_SHARED, file, 0);
	} else {
		addr = vm_mmap(mm, 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       NULL, 0);
	}
	if (IS_ERR_VALUE(addr))
		die("vm_mmap");
	touch(mm, addr, n);
	for (int i = 0; i < mappings - 1; i++) {
		children[i] = dup_mm(mm, "child");
		if (!children[i])
			die("dup_mm");
	}
	if (kind == ANON_NOTIFIER && mmu_notifier_register(&mn, mm))
		die("mmu_notifier_register");

	for (int r = 0; r < ROUNDS; r++) {
		double ns = migrate_range(mm, addr, n, failed);
		double rate = n / (ns / 1e9);

		if (rate > best)
			best = rate;
	}

	if (kind == ANON_NOTIFIER)
		mmu_notifier_unregister(&mn, mm);
	for (int i = 0; i < mappings - 1; i++)
		mmput(children[i]);
	mmput(mm);
	if (file)
		fput(file);
	frame_pool_destroy(pool);
	return best;
}

static double memcpy_rate(unsigned long n)
{
	size_t len = n * PAGE_SIZE;
	char *src = malloc(len), *dst = malloc(len);
	double best = 0;

	if (!src || !dst)
		die("malloc");
	memset(src, 1, len);
	memset(dst, 2, len);
	for (int r = 0; r < ROUNDS; r++) {
		double t0 = now_ns(), rate;

		for (unsigned long i = 0; i < n; i++)
			memcpy(dst + i * PAGE_SIZE, src + i * PAGE_SIZE, PAGE_SIZE);
		__asm__ volatile("" : : "r"(dst) : "memory");
		rate = n / ((now_ns() - t0) / 1e9);
		if (rate > best)
			best = rate;
	}
	free(src);
	free(dst);
	return best;
}

/* The host kernel moving a touched anonymous mapping between nodes 0 and 1; 0 if it cannot. */
static double kernel_move_pages_rate(unsigned long n)
{
	size_t len = n * PAGE_SIZE;
	void **pages = calloc(n, sizeof(*pages));
	int *nodes = calloc(n, sizeof(*nodes)), *status = calloc(n, sizeof(*status));
	double best = 0;
	char *mem;

	if (access("/sys/devices/system/node/node1", F_OK) || !pages || !nodes || !status)
		goto out;
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		goto out;
	memset(mem, 1, len);
	for (unsigned long i = 0; i < n; i++)
		pages[i] = mem + i * PAGE_SIZE;
	for (int r = 0; r < 2 * ROUNDS; r++) {
		double t0, rate;

		for (unsigned long i = 0; i < n; i++)
			nodes[i] = r & 1 ? 0 : 1;
		t0 = now_ns();
		if (syscall(SYS_move_pages, 0, n, pages, nodes, status, MPOL_MF_MOVE)) {
			best = 0;
			break;
		}
		rate = n / ((now_ns() - t0) / 1e9);
		if (rate > best)
			best = rate;
	}
	munmap(mem, len);
out:
	free(pages);
	free(nodes);
	free(status);
	return best;
}

/* One row of the table, and of the CSV under --csv. */
static void rate(const char *label, const char *id, double pages_per_s)
{
	printf("%-34s %14.0f\n", label, pages_per_s);
	bench_csv("pages_per_s", id, "rate", pages_per_s);
}

int main(int argc, char **argv)
{
	unsigned long n, failed = 0;
	double kernel;

	bench_csv_init(&argc, argv);
	n = argc > 1 ? strtoul(argv[1], NULL, 0) : 4096;
	if (!n)
		n = 4096;
	printf("migration throughput, %lu pages, best of %d\n", n, ROUNDS);
	printf("%-34s %14s\n", "case", "pages/s");
	rate("model: anon, 1 mapping", "anon_1", model_rate(ANON, n, 1, &failed));
	rate("model: anon, 8 mappings (fork)", "anon_8",
	     model_rate(ANON_SHARED, n / 4, 8, &failed));
	rate("model: anon, 64 mappings (fork)", "anon_64",
	     model_rate(ANON_SHARED, n / 32, 64, &failed));
	rate("model: file, shared mapping", "file_shared", model_rate(FILE_SHARED, n, 1, &failed));
	rate("model: anon + a notifier", "anon_notifier", model_rate(ANON_NOTIFIER, n, 1, &failed));
	rate("memcpy of a page (floor)", "memcpy", memcpy_rate(n));
	kernel = kernel_move_pages_rate(n);
	if (kernel > 0)
		rate("kernel: move_pages(2), node 0<->1", "kernel_move_pages", kernel);
	else
		printf("%-34s %14s\n", "kernel: move_pages(2)", "n/a (1 node)");
	if (failed)
		printf("(%lu migrations failed and were not retried)\n", failed);
	return 0;
}
