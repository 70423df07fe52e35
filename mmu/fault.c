// SPDX-License-Identifier: GPL-2.0
/*
 * The secondary fault path (docs/design.md, rule 2, retry instead of pin),
 * after direct_page_fault() and kvm_mmu_faultin_pfn() in
 * arch/x86/kvm/mmu/mmu.c:
 *
 *	mmu_seq = kvm->mmu_invalidate_seq;	snapshot, before the host lookup
 *	smp_rmb();
 *	lockless pre-check			an invalidation is already running
 *	get_user_page_ref(hva)			fault in; a short reference
 *	write_lock(&kvm->mmu_lock);
 *	mmu_invalidate_retry_gfn(mmu_seq)	an invalidation started since?
 *	  yes: drop everything, retry		(the page may be gone already)
 *	  no:  install the SPTE
 *	write_unlock(&kvm->mmu_lock);
 *	put_page(page);				no reference outlives the fault
 *
 * Why it is enough: an invalidation raises mmu_invalidate_in_progress
 * under mmu_lock before it zaps, and bumps mmu_invalidate_seq before it
 * lowers it again.  A lookup that raced with any part of an invalidation
 * therefore finds, under mmu_lock, either the count raised over its gfn or
 * the sequence moved.  Once the SPTE is in, the notifier keeps it honest:
 * the next invalidation of the page zaps it before the host frees.  The
 * SPTE is writable only where the host PTE is (and the slot is not
 * read-only): a write through it must not bypass COW or mprotect.
 */
#include <sched.h>

#include "base/trace.h"
#include "base/bug.h"
#include "base/legacy.h"
#include "base/sched_point.h"
#include "mmu/shadow.h"

/*
 * Fault injection: make every Nth locked retry check fail, to prove the
 * retry path (after a KVM fault-injection patch seen on the list).  Only
 * the locked check: it runs once per attempt, so attempts do get through.
 */
static bool kvm_mmu_invalidate_retry_should_fail(struct kvm *kvm)
{
	unsigned int interval = READ_ONCE(kvm->fault_inject_retry_interval);

	if (!interval || atomic_long_inc_return(&kvm->fault_inject_count) % interval)
		return false;
	atomic_long_inc(&kvm->stat.pf_retries_injected);
	return true;
}

bool mmu_invalidate_retry_gfn_unsafe(struct kvm *kvm, unsigned long mmu_seq, gfn_t gfn)
{
	/* Plain reads of the range: false positives and negatives are both fine here. */
	if (READ_ONCE(kvm->mmu_invalidate_in_progress) &&
	    gfn >= READ_ONCE(kvm->mmu_invalidate_range_start) &&
	    gfn < READ_ONCE(kvm->mmu_invalidate_range_end))
		return true;
	return READ_ONCE(kvm->mmu_invalidate_seq) != mmu_seq;
}

bool mmu_invalidate_retry_gfn(struct kvm *kvm, unsigned long mmu_seq, gfn_t gfn)
{
	lockdep_assert_held(&kvm->mmu_lock);
	if (kvm_mmu_invalidate_retry_should_fail(kvm))
		return true;
	if (unlikely(kvm->mmu_invalidate_in_progress)) {
		/* begin and range_add happen under one hold of mmu_lock. */
		if (WARN_ON_ONCE(kvm->mmu_invalidate_range_start == INVALID_GPA))
			return true;
		if (gfn >= kvm->mmu_invalidate_range_start && gfn < kvm->mmu_invalidate_range_end)
			return true;
	}
	/* Pairs with the smp_wmb() of kvm_mmu_invalidate_end(): seq moves before the count drops. */
	smp_rmb();
	return kvm->mmu_invalidate_seq != mmu_seq;
}

/*
 * Pin mode, the baseline: the first fault of a page takes a long-term pin
 * and keeps it until the slot or the VM goes; no notifier will ever tell
 * us the host changed its mind.  Memory pinned here cannot be reclaimed
 * or migrated.
 */
#define PINNED_RO 1UL

static int kvm_pin_fault(struct kvm *kvm, struct kvm_mmu_memory_cache *mc,
			 struct kvm_memory_slot *slot, gfn_t gfn, unsigned long hva, bool write)
{
	unsigned long idx = gfn - slot->base_gfn;
	unsigned long entry = (unsigned long)READ_ONCE(slot->pinned[idx]);
	struct page *page = NULL;
	long got = -EFAULT;

	if (!entry) {
		if (!mmget_not_zero(kvm->mm))
			return -EFAULT;
		if (!(slot->flags & KVM_MEM_READONLY))
			got = get_user_pages(kvm->mm, hva, 1, FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE,
					     &page);
		entry = (unsigned long)page;
		if (got != 1 && !write) {
			got = get_user_pages(kvm->mm, hva, 1, FOLL_PIN | FOLL_LONGTERM, &page);
			entry = (unsigned long)page | PINNED_RO;
		}
		mmput(kvm->mm);
		if (got != 1)
			return got < 0 ? (int)got : -EFAULT;
		write_lock(&kvm->mmu_lock);
		if (slot->pinned[idx]) {
			/* Another vCPU pinned it first. */
			write_unlock(&kvm->mmu_lock);
			unpin_user_page(page);
			entry = (unsigned long)READ_ONCE(slot->pinned[idx]);
		} else {
			WRITE_ONCE(slot->pinned[idx], (struct page *)entry);
			write_unlock(&kvm->mmu_lock);
			atomic_long_inc(&kvm->stat.pages_pinned);
		}
	}
	page = (struct page *)(entry & ~PINNED_RO);
	if (write && (entry & PINNED_RO))
		return -EFAULT;
	write_lock(&kvm->mmu_lock);
	kvm_mmu_map(kvm, mc, gfn, page, !(entry & PINNED_RO), write);
	write_unlock(&kvm->mmu_lock);
	atomic_long_inc(&kvm->stat.pf_fixed);
	return 0;
}

/* One attempt, inside kvm->srcu: 0, -EAGAIN to retry, or an error. */
static int __kvm_mmu_page_fault(struct kvm *kvm, struct kvm_mmu_memory_cache *mc, gfn_t gfn,
				bool write)
{
	bool check_seq = !legacy_on(kvm->legacy, LEGACY_NO_INVALIDATE_RETRY);
	struct kvm_memory_slot *slot = gfn_to_memslot(kvm, gfn);
	unsigned long mmu_seq, hva;
	struct page *page;
	bool writable;
	int r;

	if (!slot)
		return -EFAULT;
	/* Being deleted or moved: its SPTEs are being zapped; wait it out. */
	if (slot->flags & KVM_MEMSLOT_INVALID)
		return -EAGAIN;
	if (write && (slot->flags & KVM_MEM_READONLY))
		return -EFAULT;
	hva = gfn_to_hva_memslot(slot, gfn);
	if (kvm_pin_mode(kvm))
		return kvm_pin_fault(kvm, mc, slot, gfn, hva, write);

	mmu_seq = READ_ONCE(kvm->mmu_invalidate_seq);
	smp_rmb();
	/* Do not contend for the page, or mmu_lock, while its range is being invalidated. */
	if (check_seq && mmu_invalidate_retry_gfn_unsafe(kvm, mmu_seq, gfn)) {
		atomic_long_inc(&kvm->stat.pf_retries_early);
		return -EAGAIN;
	}
	/* The VM holds mm_count only: an exited mm has nothing to give. */
	if (!mmget_not_zero(kvm->mm))
		return -EFAULT;
	r = get_user_page_ref(kvm->mm, hva, write, &page, &writable);
	if (r) {
		mmput(kvm->mm);
		return r;
	}
	/*
	 * A test, or the fault-race pressure agent, stops here to invalidate
	 * the page at @hva between the lookup and the install.
	 */
	sched_point_data("kvm:fault_after_gup", (void *)hva);
	if (slot->flags & KVM_MEM_READONLY)
		writable = false;

	write_lock(&kvm->mmu_lock);
	if (check_seq && mmu_invalidate_retry_gfn(kvm, mmu_seq, gfn)) {
		r = -EAGAIN;
	} else {
		/* A guest page table the shadow MMU shadows: its writes are emulated. */
		bool tracked = kvm_gfn_write_protected(kvm, slot, gfn);

		__kvm_mmu_map(kvm, mc, gfn, page, writable, tracked, write);
		atomic_long_inc(&kvm->stat.pf_fixed);
	}
	write_unlock(&kvm->mmu_lock);
	/*
	 * KVM drops the reference still under mmu_lock; here a last put may
	 * free the page, which is no business of an atomic section.  The
	 * SPTE is covered by the notifier either way.
	 */
	put_page(page);
	mmput(kvm->mm);
	return r;
}

int kvm_mmu_page_fault(struct kvm *kvm, struct kvm_vcpu *vcpu, gpa_t gpa, bool write)
{
	struct kvm_mmu_memory_cache local = { 0 };
	struct kvm_mmu_memory_cache *mc = vcpu ? &vcpu->mmu_page_cache : &local;
	gfn_t gfn = gpa_to_gfn(gpa);
	int r, idx;

	might_sleep();
	atomic_long_inc(&kvm->stat.faults);
	if (gfn >= KVM_MAX_GFN)
		return -EFAULT;
	trace_begin("mmu", write ? "fault (write)" : "fault (read)");
	for (;;) {
		/* Table pages now: under mmu_lock an allocation could not reclaim. */
		r = kvm_mmu_topup_memory_cache(kvm, mc);
		if (r)
			break;
		idx = srcu_read_lock(&kvm->srcu);
		r = __kvm_mmu_page_fault(kvm, mc, gfn, write);
		srcu_read_unlock(&kvm->srcu, idx);
		if (r != -EAGAIN)
			break;
		atomic_long_inc(&kvm->stat.pf_retries);
		trace_instant("mmu", "fault retry", gfn);
		/* The invalidation we collided with needs the CPU to finish. */
		sched_yield();
	}
	if (!vcpu)
		kvm_mmu_free_memory_cache(&local);
	trace_end("mmu", write ? "fault (write)" : "fault (read)");
	return r;
}
