// SPDX-License-Identifier: GPL-2.0
/*
 * Reclaim under load: threads write and read anonymous memory (in one mm,
 * and in a child forked from it, sharing pages COW) and a shared file
 * mapping, together several times the frame pool, while kswapd and direct
 * reclaim swap and write back under them.  Every read is checked against a
 * shadow of what that thread last wrote; at the end every frame and every
 * swap slot is back and the sanitizer and lockdep saw nothing.
 *
 * The workers load and store as the process's own CPU would (cpu_access()),
 * not through access_remote_vm(), whose writes through a gup reference do
 * not dirty the page afterwards (see cpu_access()).
 *
 * The child writes only pages it never shared with the parent: the
 * parent's COW copy of a shared page (wp_page_copy() reads it after
 * dropping the PTE lock) followed by the child reusing that page once the
 * parent's references are gone is ordered only by a relaxed read of the
 * refcount (wp_can_reuse_anon_page()), which TSan reports as a data race;
 * it is not reclaim's, and is left to the fault code.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/kthread.h"
#include "base/prandom.h"
#include "mm/internal.h"
#include "mm/swap.h"
#include "tests/lib/mm_util.h"

#define POOL_SIZE (4UL << 20) /* 1024 frames */
#define ANON_PAGES 2048	      /* per mm: twice the pool */
#define FILE_PAGES 256
#define OPS 20000

struct worker {
	struct mm_struct *mm;
	unsigned long base;
	unsigned long first, nr; /* pages [first, first + nr) of base are this worker's */
	uint64_t *shadow;	 /* seed last written per page; 0: never written (zeroes) */
	uint64_t rand;
};

/*
 * A load or store of the process itself, as a CPU makes it: through a
 * present PTE (writable for a store), under the PTE lock, setting the
 * accessed and dirty bits as the page walker would, and faulting first
 * otherwise.  Unlike access_remote_vm() (whose gup reference can outlive
 * the PTE), the access is ordered with reclaim's unmap by that lock.
 */
static void cpu_access(struct mm_struct *mm, unsigned long addr, void *buf, bool write)
{
	for (;;) {
		struct vm_area_struct *vma;
		spinlock_t *ptl;
		vm_fault_t ret;
		pte_t *pte;

		mmap_read_lock(mm);
		pte = pte_offset_map_lock(mm, addr, &ptl);
		if (pte) {
			pte_t entry = ptep_get(pte);

			if (pte_present(entry) && (!write || pte_write(entry))) {
				char *p = page_address(pfn_to_page(mm->pool, pte_pfn(entry)));

				if (write)
					memcpy(p, buf, PAGE_SIZE);
				else
					memcpy(buf, p, PAGE_SIZE);
				entry = pte_mkyoung(entry);
				if (write)
					entry = pte_mkdirty(entry);
				set_pte_at(mm, addr, pte, entry);
				pte_unmap_unlock(pte, ptl);
				mmap_read_unlock(mm);
				return;
			}
			pte_unmap_unlock(pte, ptl);
		}
		vma = vma_lookup(mm, addr);
		TEST_ASSERT(vma, "no VMA at %#lx", addr);
		ret = handle_mm_fault(vma, addr, write ? FAULT_FLAG_WRITE : 0);
		mmap_read_unlock(mm);
		TEST_ASSERT(!(ret & VM_FAULT_ERROR), "fault at %#lx: %#x", addr, ret);
	}
}

static void cpu_fill(struct mm_struct *mm, unsigned long addr, uint64_t seed)
{
	unsigned char buf[PAGE_SIZE];

	for (unsigned long i = 0; i < PAGE_SIZE; i++)
		buf[i] = seed ? mm_pattern_byte(addr + i, seed) : 0;
	cpu_access(mm, addr, buf, true);
}

static void cpu_check(struct mm_struct *mm, unsigned long addr, uint64_t seed)
{
	unsigned char buf[PAGE_SIZE];

	cpu_access(mm, addr, buf, false);
	for (unsigned long i = 0; i < PAGE_SIZE; i++) {
		unsigned char want = seed ? mm_pattern_byte(addr + i, seed) : 0;

		TEST_ASSERT(buf[i] == want, "byte at %#lx is %#x, expected %#x (seed %lu)",
			    addr + i, buf[i], want, (unsigned long)seed);
	}
}

static int worker_fn(void *data)
{
	struct worker *w = data;

	for (int op = 0; op < OPS; op++) {
		unsigned long i = w->first + prandom_u64(&w->rand) % w->nr;
		unsigned long addr = w->base + i * PAGE_SIZE;

		if (prandom_u64(&w->rand) % 3) {
			cpu_check(w->mm, addr, w->shadow[i]);
		} else {
			w->shadow[i] = (op + 1) * 1000003ULL + i;
			cpu_fill(w->mm, addr, w->shadow[i]);
		}
	}
	return 0;
}

TEST(reclaim_under_faults_fork_and_file_writes)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *parent = test_mm(pool), *child;
	struct file *file = test_file(pool, FILE_PAGES * PAGE_SIZE, O_RDWR, 1);
	unsigned long a = test_mmap_anon(parent, ANON_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE);
	unsigned long f = test_mmap(parent, 0, FILE_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE,
				    MAP_SHARED, file, 0);
	static uint64_t shadow_p[ANON_PAGES], shadow_c[ANON_PAGES], shadow_f[FILE_PAGES];
	struct worker w[4];
	struct kthread *k[4];
	int type;

	type = test_swapon(4 * ANON_PAGES);
	reclaim_enable(pool);
	TEST_ASSERT_EQ(kswapd_run(pool, 64, 160), 0);

	/* The parent's first half is written before fork: the child shares it COW. */
	for (unsigned long i = 0; i < ANON_PAGES / 2; i++) {
		cpu_fill(parent, a + i * PAGE_SIZE, 7);
		shadow_p[i] = shadow_c[i] = 7;
	}
	child = test_fork(parent);
	for (unsigned long i = 0; i < FILE_PAGES; i++) {
		cpu_fill(parent, f + i * PAGE_SIZE, 5);
		shadow_f[i] = 5;
	}

	w[0] = (struct worker){ parent, a, 0, ANON_PAGES / 2, shadow_p, 1 };
	w[1] = (struct worker){ parent, a, ANON_PAGES / 2, ANON_PAGES / 2, shadow_p, 2 };
	/*
	 * The child writes only what it never shared: a COW break in one
	 * process racing a reuse in the other is a race TSan sees (see the
	 * comment at the top), which reclaim has nothing to do with.
	 */
	w[2] = (struct worker){ child, a, ANON_PAGES / 2, ANON_PAGES / 2, shadow_c, 3 };
	w[3] = (struct worker){ parent, f, 0, FILE_PAGES, shadow_f, 4 };
	for (int i = 0; i < 4; i++) {
		k[i] = kthread_run(worker_fn, &w[i], "worker%d", i);
		TEST_ASSERT(!IS_ERR(k[i]), "kthread_run");
	}
	for (int i = 0; i < 4; i++)
		TEST_ASSERT_EQ(kthread_join(k[i]), 0);
	kswapd_stop(pool);

	TEST_ASSERT(atomic_long_read(&pool->pgdat->stats.pswpout) > 0, "nothing swapped");
	TEST_ASSERT_EQ(report_count(REPORT_OOM), 0UL);
	/* Everything once more, single-threaded, through whatever reclaim left. */
	for (unsigned long i = 0; i < ANON_PAGES; i++) {
		cpu_check(parent, a + i * PAGE_SIZE, shadow_p[i]);
		cpu_check(child, a + i * PAGE_SIZE, shadow_c[i]);
	}
	mmput(child);
	mmput(parent);
	fput(file);
	TEST_ASSERT_EQ(nr_swap_pages_used(), 0UL);
	TEST_ASSERT_EQ(swapoff(type), 0);
	test_pool_destroy(pool);
}
