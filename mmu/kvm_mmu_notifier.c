// SPDX-License-Identifier: GPL-2.0
/*
 * The VM's mmu_notifier callbacks, after kvm_mmu_notifier_* in
 * virt/kvm/kvm_main.c: how the host's changes reach the SPTEs.  This is
 * the subscriber's side; mm/mmu_notifier.h has the hooks the host's mm
 * calls, and notifier/mmu_notifier.c the layer that calls subscribers.
 *
 * invalidate_range_start raises mmu_invalidate_in_progress and widens the
 * invalidation range (under mmu_lock, before anything is zapped), zaps the
 * SPTEs of every slot overlapping the host range, moving their dirty and
 * accessed bits to the host pages, and flushes every vCPU's TLB before it
 * returns (rule 2, retry instead of pin; rule 3, flush before return).
 * invalidate_range_end bumps mmu_invalidate_seq, then lowers in_progress.
 * A range that overlaps no slot never touches mmu_lock nor the sequence:
 * invalidations of memory the guest does not see cost a scan of the slots.
 */
#include "base/trace.h"
#include "base/bug.h"
#include "base/legacy.h"
#include "base/sched_point.h"
#include "mmu/shadow.h"

static struct kvm *mmu_notifier_to_kvm(struct mmu_notifier *mn)
{
	return container_of(mn, struct kvm, mmu_notifier);
}

void kvm_mmu_invalidate_begin(struct kvm *kvm)
{
	lockdep_assert_held_write(&kvm->mmu_lock);
	WRITE_ONCE(kvm->mmu_invalidate_in_progress, kvm->mmu_invalidate_in_progress + 1);
	if (kvm->mmu_invalidate_in_progress == 1) {
		WRITE_ONCE(kvm->mmu_invalidate_range_start, INVALID_GPA);
		WRITE_ONCE(kvm->mmu_invalidate_range_end, INVALID_GPA);
	}
}

/* The union of every invalidation in progress: it only grows until they all end. */
void kvm_mmu_invalidate_range_add(struct kvm *kvm, gfn_t start, gfn_t end)
{
	lockdep_assert_held_write(&kvm->mmu_lock);
	WARN_ON_ONCE(!kvm->mmu_invalidate_in_progress);
	if (kvm->mmu_invalidate_range_start == INVALID_GPA) {
		WRITE_ONCE(kvm->mmu_invalidate_range_start, start);
		WRITE_ONCE(kvm->mmu_invalidate_range_end, end);
	} else {
		if (start < kvm->mmu_invalidate_range_start)
			WRITE_ONCE(kvm->mmu_invalidate_range_start, start);
		if (end > kvm->mmu_invalidate_range_end)
			WRITE_ONCE(kvm->mmu_invalidate_range_end, end);
	}
}

void kvm_mmu_invalidate_end(struct kvm *kvm)
{
	lockdep_assert_held_write(&kvm->mmu_lock);
	WRITE_ONCE(kvm->mmu_invalidate_seq, kvm->mmu_invalidate_seq + 1);
	/* A fault that sees the count drop sees the new sequence (its smp_rmb()). */
	smp_wmb();
	WRITE_ONCE(kvm->mmu_invalidate_in_progress, kvm->mmu_invalidate_in_progress - 1);
	WARN_ON_ONCE(kvm->mmu_invalidate_in_progress < 0);
}

struct kvm_gfn_range {
	struct kvm_memory_slot *slot;
	gfn_t start, end;
};

typedef bool (*gfn_handler_t)(struct kvm *kvm, struct kvm_gfn_range *range);

struct kvm_hva_range {
	unsigned long start, end;
	gfn_handler_t handler; /* NULL: on_lock only */
	void (*on_lock)(struct kvm *kvm);
	bool flush_on_ret;
	/* Wait for the flush after dropping mmu_lock (kvm_flush_remote_tlbs_wait()). */
	bool flush_unlocked;
	bool may_block;
};

struct kvm_mmu_notifier_return {
	bool ret;
	bool found_memslot;
};

/*
 * Run @range's handler on the part of every slot the host range overlaps,
 * under mmu_lock, taken (and on_lock called) only at the first such slot.
 */
static struct kvm_mmu_notifier_return __kvm_handle_hva_range(struct kvm *kvm,
							     const struct kvm_hva_range *range)
{
	struct kvm_mmu_notifier_return r = { 0 };
	struct kvm_memslots *slots;
	struct kvm_memory_slot *slot;
	int idx;

	idx = srcu_read_lock(&kvm->srcu);
	slots = srcu_dereference(kvm->memslots, &kvm->srcu);
	kvm_for_each_memslot(slot, slots) {
		unsigned long slot_end = slot->userspace_addr + (slot->npages << PAGE_SHIFT);
		unsigned long hva_start =
			range->start > slot->userspace_addr ? range->start : slot->userspace_addr;
		unsigned long hva_end = range->end < slot_end ? range->end : slot_end;
		struct kvm_gfn_range gfn_range;

		if (hva_start >= hva_end)
			continue;
		gfn_range = (struct kvm_gfn_range){
			.slot = slot,
			.start =
				slot->base_gfn + ((hva_start - slot->userspace_addr) >> PAGE_SHIFT),
			.end = slot->base_gfn +
			       ((hva_end - slot->userspace_addr + PAGE_SIZE - 1) >> PAGE_SHIFT),
		};
		if (!r.found_memslot) {
			r.found_memslot = true;
			write_lock(&kvm->mmu_lock);
			if (range->on_lock)
				range->on_lock(kvm);
		}
		if (range->handler)
			r.ret |= range->handler(kvm, &gfn_range);
	}
	if (range->flush_unlocked && r.found_memslot) {
		struct kvm_tlb_flush f;

		kvm_flush_remote_tlbs_begin(kvm, &f, r.ret);
		write_unlock(&kvm->mmu_lock);
		kvm_flush_remote_tlbs_wait(kvm, &f, range->may_block);
	} else {
		if (range->flush_on_ret && r.ret)
			kvm_flush_remote_tlbs(kvm);
		if (r.found_memslot)
			write_unlock(&kvm->mmu_lock);
	}
	srcu_read_unlock(&kvm->srcu, idx);
	return r;
}

/*
 * The flat SPTEs by a range walk; in SHADOW mode the shadow leaves too,
 * every alias of every gfn through its rmap (rule 1, invalidate before
 * free).
 */
static bool kvm_mmu_unmap_gfn_range(struct kvm *kvm, struct kvm_gfn_range *range)
{
	bool flush;

	kvm_mmu_invalidate_range_add(kvm, range->start, range->end);
	flush = kvm_mmu_zap_gfn_range(kvm, range->start, range->end);
	if (kvm->mmu_mode == KVM_MMU_SHADOW)
		flush |= kvm_shadow_zap_gfn_range(kvm, range->slot, range->start, range->end);
	return flush;
}

/* Trace span names: the window between start and end, by what the host does. */
static const char *invalidate_trace_name(const struct mmu_notifier_range *range)
{
	static const char *const names[] = {
		[MMU_NOTIFY_UNMAP] = "invalidate (unmap)",
		[MMU_NOTIFY_CLEAR] = "invalidate (clear)",
		[MMU_NOTIFY_PROTECTION_VMA] = "invalidate (mprotect)",
		[MMU_NOTIFY_PROTECTION_PAGE] = "invalidate (write-protect)",
		[MMU_NOTIFY_SOFT_DIRTY] = "invalidate (soft-dirty)",
		[MMU_NOTIFY_RELEASE] = "invalidate (release)",
		[MMU_NOTIFY_MIGRATE] = "invalidate (migrate)",
		[MMU_NOTIFY_EXCLUSIVE] = "invalidate (exclusive)",
	};

	return range->event < ARRAY_SIZE(names) ? names[range->event] : "invalidate";
}

static int kvm_mmu_notifier_invalidate_range_start(struct mmu_notifier *mn,
						   const struct mmu_notifier_range *range)
{
	struct kvm *kvm = mmu_notifier_to_kvm(mn);
	const struct kvm_hva_range hva_range = {
		.start = range->start,
		.end = range->end,
		.handler = kvm_mmu_unmap_gfn_range,
		.on_lock = kvm_mmu_invalidate_begin,
		/* The museum's no_remote_flush: zap, but leave the vCPUs' TLBs alone. */
		.flush_on_ret = !legacy_on(kvm->legacy, LEGACY_NO_REMOTE_FLUSH),
		/*
		 * Faults need not spin on mmu_lock while the vCPUs are waited
		 * for.  Not for the shadow MMU, whose write tracking also
		 * takes "no leaf left" to mean "none in a TLB" without a flush
		 * of its own.
		 */
		.flush_unlocked = !legacy_on(kvm->legacy, LEGACY_NO_REMOTE_FLUSH) &&
				  kvm->mmu_mode != KVM_MMU_SHADOW,
		.may_block = mmu_notifier_range_blockable(range),
	};
	struct kvm_mmu_notifier_return r;

	trace_begin("mmu", invalidate_trace_name(range));
	/* Until the matching end, memslots stay as they are (see memslot.c). */
	spin_lock(&kvm->mn_invalidate_lock);
	WRITE_ONCE(kvm->mn_active_invalidate_count, kvm->mn_active_invalidate_count + 1);
	spin_unlock(&kvm->mn_invalidate_lock);

	r = __kvm_handle_hva_range(kvm, &hva_range);
	atomic_long_inc(r.found_memslot ? &kvm->stat.invalidations :
					  &kvm->stat.invalidations_missed);
	if (r.found_memslot && range->event <= MMU_NOTIFY_EXCLUSIVE)
		atomic_long_inc(&kvm->stat.invalidations_by_event[range->event]);
	/* A test stops here: SPTEs zapped and flushed, the host not yet changed. */
	if (r.found_memslot)
		sched_point("kvm:invalidate_start_done");
	return 0;
}

static void kvm_mmu_notifier_invalidate_range_end(struct mmu_notifier *mn,
						  const struct mmu_notifier_range *range)
{
	struct kvm *kvm = mmu_notifier_to_kvm(mn);
	const struct kvm_hva_range hva_range = {
		.start = range->start,
		.end = range->end,
		.on_lock = kvm_mmu_invalidate_end,
	};
	bool wake;

	__kvm_handle_hva_range(kvm, &hva_range);

	spin_lock(&kvm->mn_invalidate_lock);
	if (!WARN_ON_ONCE(!kvm->mn_active_invalidate_count))
		WRITE_ONCE(kvm->mn_active_invalidate_count, kvm->mn_active_invalidate_count - 1);
	wake = !kvm->mn_active_invalidate_count;
	spin_unlock(&kvm->mn_invalidate_lock);
	if (wake)
		wake_up(&kvm->mn_memslots_update_wq);
	trace_end("mmu", invalidate_trace_name(range));
}

static bool kvm_mmu_age_range(struct kvm *kvm, struct kvm_gfn_range *range, bool clear)
{
	bool young = kvm_mmu_age_gfn_range(kvm, range->start, range->end, clear);

	if (kvm->mmu_mode == KVM_MMU_SHADOW)
		young |=
			kvm_shadow_age_gfn_range(kvm, range->slot, range->start, range->end, clear);
	return young;
}

static bool kvm_age_gfn(struct kvm *kvm, struct kvm_gfn_range *range)
{
	return kvm_mmu_age_range(kvm, range, true);
}

static bool kvm_test_age_gfn(struct kvm *kvm, struct kvm_gfn_range *range)
{
	return kvm_mmu_age_range(kvm, range, false);
}

static int kvm_mmu_notifier_clear_flush_young(struct mmu_notifier *mn, struct mm_struct *mm,
					      unsigned long start, unsigned long end)
{
	const struct kvm_hva_range range = {
		.start = start, .end = end, .handler = kvm_age_gfn, .flush_on_ret = true
	};

	(void)mm;
	return __kvm_handle_hva_range(mmu_notifier_to_kvm(mn), &range).ret;
}

/* No flush: a vCPU that keeps a stale "young" a while longer costs nothing. */
static int kvm_mmu_notifier_clear_young(struct mmu_notifier *mn, struct mm_struct *mm,
					unsigned long start, unsigned long end)
{
	const struct kvm_hva_range range = { .start = start, .end = end, .handler = kvm_age_gfn };

	(void)mm;
	return __kvm_handle_hva_range(mmu_notifier_to_kvm(mn), &range).ret;
}

static int kvm_mmu_notifier_test_young(struct mmu_notifier *mn, struct mm_struct *mm,
				       unsigned long address)
{
	const struct kvm_hva_range range = { .start = address,
					     .end = address + 1,
					     .handler = kvm_test_age_gfn };

	(void)mm;
	return __kvm_handle_hva_range(mmu_notifier_to_kvm(mn), &range).ret;
}

/* exit_mmap() or unregister: every SPTE goes before the host frees a page. */
static void kvm_mmu_notifier_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct kvm *kvm = mmu_notifier_to_kvm(mn);
	int idx;

	(void)mm;
	idx = srcu_read_lock(&kvm->srcu);
	kvm_mmu_zap_all(kvm);
	srcu_read_unlock(&kvm->srcu, idx);
}

static const struct mmu_notifier_ops kvm_mmu_notifier_ops = {
	.invalidate_range_start = kvm_mmu_notifier_invalidate_range_start,
	.invalidate_range_end = kvm_mmu_notifier_invalidate_range_end,
	.clear_flush_young = kvm_mmu_notifier_clear_flush_young,
	.clear_young = kvm_mmu_notifier_clear_young,
	.test_young = kvm_mmu_notifier_test_young,
	.release = kvm_mmu_notifier_release,
};

int kvm_init_mmu_notifier(struct kvm *kvm)
{
	kvm->mmu_notifier.ops = &kvm_mmu_notifier_ops;
	return mmu_notifier_register(&kvm->mmu_notifier, kvm->mm);
}
