// SPDX-License-Identifier: GPL-2.0
/*
 * Idle page tracking, after mm/page_idle.c: from outside the mm, clear the
 * accessed bits of a range's pages in every mapping (the primary MMU's
 * PTEs, and through mmu_notifier_clear_flush_young every secondary MMU's),
 * the way a userspace working-set estimator or DAMON ages memory.
 */
#include "mm/internal.h"
#include "mm/mm.h"

long page_idle_clear_range(struct mm_struct *mm, unsigned long start, unsigned long len)
{
	long young = 0;

	for (unsigned long addr = start; addr < start + len; addr += PAGE_SIZE) {
		unsigned long vm_flags = 0;
		struct page *page;

		/* Present pages only: aging must not fault anything in. */
		if (get_user_pages(mm, addr, 1, FOLL_GET | FOLL_NOFAULT, &page) != 1)
			continue;
		if (folio_referenced(page, 0, &vm_flags) > 0)
			young++;
		put_page(page);
	}
	return young;
}
