// SPDX-License-Identifier: GPL-2.0
/*
 * The TLB gather (the kernel's mm/mmu_gather.c): what a zap unmaps is not
 * freed at once but collected, and freed only after the TLB flush that
 * makes the old translations unusable.  Pages are gathered with the
 * reference their PTE held; page-table pages on their lru list.
 *
 * The model's host "CPU" (access_remote_vm, GUP) walks the page tables on
 * every access and caches nothing, so the flush itself has nothing to do
 * here; secondary MMUs flushed their TLBs in invalidate_range_start, before
 * the zap began.  What the gather still guarantees is the order: a frame
 * returns to the pool only after every PTE that mapped it is gone.
 */
#include <stdlib.h>

#include "base/bug.h"
#include "base/preempt.h"
#include "mm/internal.h"

/* Pages per batch: a full batch is freed mid-zap (the kernel's MAX_GATHER_BATCH). */
#define MMU_GATHER_BATCH 512

static void __tlb_gather_mmu(struct mmu_gather *tlb, struct mm_struct *mm, bool fullmm)
{
	tlb->mm = mm;
	tlb->fullmm = fullmm;
	tlb->start = ~0UL;
	tlb->end = 0;
	tlb->nr_pages = 0;
	/* Without a batch every page is freed as it comes, as the kernel falls back to. */
	tlb->pages = malloc(MMU_GATHER_BATCH * sizeof(*tlb->pages));
	tlb->max_pages = tlb->pages ? MMU_GATHER_BATCH : 0;
	INIT_LIST_HEAD(&tlb->tables);
	tlb->in_zap = false;
}

void tlb_gather_mmu(struct mmu_gather *tlb, struct mm_struct *mm)
{
	__tlb_gather_mmu(tlb, mm, false);
}

/* exit_mmap: the whole address space goes and nobody else can use it. */
void tlb_gather_mmu_fullmm(struct mmu_gather *tlb, struct mm_struct *mm)
{
	__tlb_gather_mmu(tlb, mm, true);
}

/*
 * The zap runs as an atomic section, as the kernel's does under the PTE
 * locks and with the gather's batches pinned to the CPU: nothing inside may
 * sleep, which is why mmu_notifier_invalidate_range_start(), which may,
 * must have returned before this opens (rule 6, notifier outside atomic
 * sections).
 */
void tlb_start_zap(struct mmu_gather *tlb)
{
	WARN_ON(tlb->in_zap);
	preempt_disable();
	tlb->in_zap = true;
}

void tlb_end_zap(struct mmu_gather *tlb)
{
	WARN_ON(!tlb->in_zap);
	tlb->in_zap = false;
	preempt_enable();
}

/* The TLB flush: nothing caches host translations (see the top of the file). */
static void tlb_flush(struct mmu_gather *tlb)
{
	tlb->start = ~0UL;
	tlb->end = 0;
}

/* After the flush: drop the references the PTEs held; the last one frees. */
static void tlb_batch_pages_flush(struct mmu_gather *tlb)
{
	for (unsigned int i = 0; i < tlb->nr_pages; i++)
		put_page(tlb->pages[i]);
	tlb->nr_pages = 0;
}

static void tlb_flush_mmu(struct mmu_gather *tlb)
{
	tlb_flush(tlb);
	tlb_batch_pages_flush(tlb);
}

/*
 * @page's PTE is cleared and its rmap dropped; the gather takes over the
 * reference the PTE held.  A full batch is flushed and freed on the spot:
 * the PTEs of every page in it are gone already.  The zap records each
 * cleared PTE in the flush range first (tlb_remove_tlb_entry()): a page
 * gathered with the range empty would be freed by a flush that leaves its
 * translation behind, which the kernel's VM_BUG_ON(!tlb->end) catches.
 */
void tlb_remove_page(struct mmu_gather *tlb, struct page *page)
{
	WARN_ON(!tlb->end);
	if (tlb->nr_pages == tlb->max_pages) {
		tlb_flush_mmu(tlb);
		if (!tlb->max_pages) {
			put_page(page);
			return;
		}
	}
	tlb->pages[tlb->nr_pages++] = page;
}

/* A page-table page unlinked from its parent entry; freed at tlb_finish_mmu(). */
void tlb_remove_table(struct mmu_gather *tlb, struct page *table)
{
	list_add_tail(&table->lru, &tlb->tables);
}

static void tlb_free_tables(struct mmu_gather *tlb)
{
	struct page *table, *next;

	list_for_each_entry_safe(table, next, &tlb->tables, lru) {
		list_del(&table->lru);
		pgtable_free(tlb->mm, table);
	}
}

void tlb_finish_mmu(struct mmu_gather *tlb)
{
	WARN_ON(tlb->in_zap);
	tlb_flush_mmu(tlb);
	tlb_free_tables(tlb);
	free(tlb->pages);
	tlb->pages = NULL;
	tlb->max_pages = 0;
}
