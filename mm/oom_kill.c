// SPDX-License-Identifier: GPL-2.0
/*
 * The OOM reaper's address-space part, after __oom_reap_task_mm(): free the
 * private anonymous memory of an mm whose owner is being killed, without
 * waiting for it to exit.
 *
 * The reaper must not block on anything the victim might hold, so it takes
 * mmap_lock only by trylock and tells every secondary MMU that it cannot
 * sleep: mmu_notifier_invalidate_range_start_nonblock().  A subscriber that
 * would have to block (its own lock is contended, a device is busy) answers
 * -EAGAIN, and the reaper backs out of that VMA - nothing unmapped, the
 * notifier's end not called - and reports that it must try again later,
 * as the kernel's oom_reap_task() retries a few times before giving up.
 */
#include <errno.h>

#include "base/legacy.h"

#include "mm/internal.h"
#include "mm/mm.h"

/* Memory only the victim can see, and that can be freed without I/O. */
static bool vma_reapable(const struct vm_area_struct *vma)
{
	if (vma->vm_flags & (VM_LOCKED | VM_SHARED))
		return false;
	return vma_is_anonymous(vma);
}

/*
 * Reap what can be reaped of @mm.  Returns 0 when every reapable VMA was
 * zapped, -EAGAIN when mmap_lock was contended or a secondary MMU could not
 * invalidate without blocking (the caller retries later); both leave every
 * skipped range as it was.
 */
int __oom_reap_task_mm(struct mm_struct *mm)
{
	struct vm_area_struct *vma;
	int ret = 0;

	if (!mmap_read_trylock(mm))
		return -EAGAIN;
	for_each_vma(mm, vma) {
		struct mmu_notifier_range range;
		struct mmu_gather tlb;

		if (!vma_reapable(vma))
			continue;
		mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, mm, vma->vm_start,
					vma->vm_end);
		tlb_gather_mmu(&tlb, mm);
		if (unlikely(legacy_on(mm->legacy, LEGACY_ZAP_WITHOUT_NOTIFIER))) {
			/* LEGACY (--legacy=zap_without_notifier): the reaper of 4.6 to 4.13. */
			unmap_single_vma(&tlb, vma, range.start, range.end, NULL);
			tlb_finish_mmu(&tlb);
			continue;
		}
		if (mmu_notifier_invalidate_range_start_nonblock(&range)) {
			tlb_finish_mmu(&tlb);
			ret = -EAGAIN;
			continue;
		}
		unmap_single_vma(&tlb, vma, range.start, range.end, NULL);
		mmu_notifier_invalidate_range_end(&range);
		tlb_finish_mmu(&tlb);
	}
	mmap_read_unlock(mm);
	return ret;
}
