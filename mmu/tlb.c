// SPDX-License-Identifier: GPL-2.0
/*
 * vCPU requests and the remote TLB flush (rule 3, flush before return), after
 * virt/kvm/kvm_main.c and vcpu_enter_guest() in arch/x86/kvm/x86.c.
 *
 * A vCPU caches translations in its TLB while it is in guest mode and
 * keeps them across an exit, as hardware with VPIDs does; it drops them
 * when it serves KVM_REQ_TLB_FLUSH, which it does on its way into guest
 * mode.  So a flush has two cases per vCPU:
 *
 *  - outside guest mode: setting the request is enough, the vCPU serves it
 *    before it can use its TLB again;
 *  - in guest mode (or on its way out): kick it, like an IPI, and wait
 *    until it has left guest mode.  It serves the request on re-entry.
 *
 * Which case applies is decided with the Dekker pairing KVM uses:
 *
 *	requester			vCPU
 *	set_bit(req, requests)		mode = IN_GUEST_MODE
 *	smp_mb()			smp_mb()
 *	read mode			read requests
 *
 * Either the vCPU sees the request before it enters, or the requester
 * sees it in guest mode and kicks.  kvm_flush_remote_tlbs() runs with
 * mmu_lock held, so its wait spins; a vCPU in guest mode takes no lock, so
 * it always gets to the kick.  The notifier's invalidation splits it: the
 * kicks under mmu_lock, the wait after, sleeping if it lasts, so that
 * faults do not spin on mmu_lock meanwhile (kvm_flush_remote_tlbs_wait()).
 */
#include <string.h>

#include "base/bug.h"
#include "base/spinlock.h"
#include "base/trace.h"
#include "base/wait.h"
#include "mmu/kvm_host.h"

void kvm_make_request(int req, struct kvm_vcpu *vcpu)
{
	/* Whatever the request is about (a zap) is visible before the request. */
	smp_wmb();
	set_bit(req & KVM_REQUEST_MASK, &vcpu->requests);
}

bool kvm_request_pending(struct kvm_vcpu *vcpu)
{
	return READ_ONCE(vcpu->requests);
}

bool kvm_check_request(int req, struct kvm_vcpu *vcpu)
{
	if (!test_bit(req, &vcpu->requests))
		return false;
	clear_bit(req, &vcpu->requests);
	/* Serve the request after clearing it: a new one is not lost. */
	smp_mb__after_atomic();
	return true;
}

/* IN_GUEST_MODE -> EXITING_GUEST_MODE; returns the mode it found. */
static int kvm_vcpu_exiting_guest_mode(struct kvm_vcpu *vcpu)
{
	int mode = IN_GUEST_MODE;

	smp_mb__before_atomic();
	try_cmpxchg(&vcpu->mode, &mode, EXITING_GUEST_MODE);
	return mode;
}

/* Has the vCPU left guest mode since kick number @seq? */
static bool kvm_vcpu_kick_acked(struct kvm_vcpu *vcpu, unsigned long seq)
{
	return smp_load_acquire(&vcpu->ipi_ack) >= seq ||
	       smp_load_acquire(&vcpu->mode) == OUTSIDE_GUEST_MODE;
}

/*
 * Set @req in every vCPU and kick each one not outside guest mode; with
 * KVM_REQUEST_WAIT, record in @seqs the kick each must acknowledge (0:
 * none), as kvm_make_vcpus_request_mask() IPIs only the vCPUs
 * kvm_request_needs_ipi() finds in guest mode.  A vCPU outside guest mode
 * is neither kicked nor waited for, running or not: it serves the request
 * before it uses its TLB again.  True if any was kicked.
 */
static bool kvm_kick_all_vcpus(struct kvm *kvm, unsigned int req, unsigned long *seqs)
{
	bool called = false;

	for (int i = 0; i < NR_CPUS; i++) {
		struct kvm_vcpu *vcpu = READ_ONCE(kvm->vcpus[i]);

		seqs[i] = 0;
		if (!vcpu)
			continue;
		kvm_make_request(req, vcpu);
		/* The full barrier of the Dekker pairing is the cmpxchg's. */
		if (kvm_vcpu_exiting_guest_mode(vcpu) == OUTSIDE_GUEST_MODE)
			continue;
		if (!(req & KVM_REQUEST_WAIT))
			continue;
		seqs[i] = fetch_add(&vcpu->ipi_seq, 1) + 1;
		vcpu->ops->kick(vcpu);
		called = true;
	}
	return called;
}

static bool kvm_all_kicks_acked(struct kvm *kvm, const unsigned long *seqs)
{
	for (int i = 0; i < NR_CPUS; i++)
		if (seqs[i] && !kvm_vcpu_kick_acked(READ_ONCE(kvm->vcpus[i]), seqs[i]))
			return false;
	return true;
}

/* Under mmu_lock: spin, since the vCPU in guest mode takes no lock to get to the kick. */
static void kvm_spin_for_kicks(struct kvm *kvm, const unsigned long *seqs)
{
	unsigned int spins = 0;

	while (!kvm_all_kicks_acked(kvm, seqs))
		cpu_spin_wait(&spins);
}

bool kvm_make_all_cpus_request(struct kvm *kvm, unsigned int req)
{
	unsigned long seqs[NR_CPUS];
	bool called = kvm_kick_all_vcpus(kvm, req, seqs);

	if (called)
		kvm_spin_for_kicks(kvm, seqs);
	return called;
}

/* Flush @gen is done, and so is every one before it (see kvm_flush_remote_tlbs_wait()). */
static void kvm_tlb_flush_done(struct kvm *kvm, unsigned long gen)
{
	unsigned long done = READ_ONCE(kvm->tlb_flush_done);

	while (done < gen && !try_cmpxchg(&kvm->tlb_flush_done, &done, gen))
		;
	/* The cmpxchg's barrier orders the store before the look at the queue. */
	smp_mb();
	if (waitqueue_active(&kvm->tlb_flush_wq))
		wake_up_all(&kvm->tlb_flush_wq);
}

bool kvm_tlb_flush_pending(struct kvm *kvm)
{
	return smp_load_acquire(&kvm->tlb_flush_done) != READ_ONCE(kvm->tlb_flush_requested);
}

/*
 * Called with mmu_lock held (for write), which keeps the vCPU array still:
 * vCPUs come and go under it.
 */
void kvm_flush_remote_tlbs(struct kvm *kvm)
{
	unsigned long gen;

	lockdep_assert_held_write(&kvm->mmu_lock);
	gen = kvm->tlb_flush_requested + 1;
	WRITE_ONCE(kvm->tlb_flush_requested, gen);
	atomic_long_inc(&kvm->stat.remote_tlb_flushes);
	trace_begin("mmu", "remote TLB flush");
	kvm_make_all_cpus_request(kvm,
				  KVM_REQ_TLB_FLUSH | KVM_REQUEST_WAIT | KVM_REQUEST_NO_WAKEUP);
	kvm_tlb_flush_done(kvm, gen);
	trace_end("mmu", "remote TLB flush");
}

void kvm_flush_remote_tlbs_begin(struct kvm *kvm, struct kvm_tlb_flush *f, bool zapped)
{
	lockdep_assert_held_write(&kvm->mmu_lock);
	f->gen = kvm->tlb_flush_requested;
	f->zapped = zapped;
	f->kicked = false;
	if (!zapped)
		return;
	WRITE_ONCE(kvm->tlb_flush_requested, ++f->gen);
	atomic_long_inc(&kvm->stat.remote_tlb_flushes);
	f->kicked = kvm_kick_all_vcpus(
		kvm, KVM_REQ_TLB_FLUSH | KVM_REQUEST_WAIT | KVM_REQUEST_NO_WAKEUP, f->seqs);
}

/* Spins before sleeping: a vCPU running guest code sees a kick within this. */
#define KVM_FLUSH_SPINS 2000

static bool kvm_tlb_flush_acked(struct kvm *kvm, struct kvm_tlb_flush *f)
{
	return !f->kicked || kvm_all_kicks_acked(kvm, f->seqs);
}

static bool kvm_tlb_flush_covered(struct kvm *kvm, struct kvm_tlb_flush *f)
{
	return smp_load_acquire(&kvm->tlb_flush_done) >= f->gen;
}

/*
 * Until @cond: a short spin, then a sleep on tlb_flush_wq if @may_block,
 * else a spin that yields now and then.
 */
static void kvm_tlb_flush_wait_until(struct kvm *kvm, struct kvm_tlb_flush *f,
				     bool (*cond)(struct kvm *kvm, struct kvm_tlb_flush *f),
				     bool may_block)
{
	unsigned int yields = 0;

	for (int i = 0; !cond(kvm, f); i++) {
		if (may_block && i >= KVM_FLUSH_SPINS) {
			wait_event(kvm->tlb_flush_wq, cond(kvm, f));
			return;
		}
		if (may_block)
			cpu_relax();
		else
			cpu_spin_wait(&yields);
	}
}

/*
 * The second half of the flush kvm_flush_remote_tlbs_begin() started,
 * after mmu_lock was dropped: wait until every vCPU kicked has left guest
 * mode, and until every flush requested before ours is done too.
 *
 * Why this keeps rule 3 (flush before return) though mmu_lock is no
 * longer held.  The rule is kept per SPTE by whoever zaps it: the zapper
 * returns only once every vCPU has dropped it.  Holding mmu_lock across
 * the flush gave one more thing, which is what a second zapper relies on:
 * whoever takes mmu_lock after a zap and finds the SPTE gone may return at
 * once, since the flush that goes with the zap is done.  Here the zapper
 * numbers its flush (tlb_flush_requested, under mmu_lock) and every other
 * holder of mmu_lock that may return on the strength of "nothing there"
 * waits for the number it saw: the notifier through this function with
 * @zapped false, kvm_mmu_remote_flush_or_zap() by flushing itself while a
 * flush is pending.  Flush N being done covers every flush before it,
 * so tlb_flush_done can simply be the largest number done: its requester
 * set KVM_REQ_TLB_FLUSH in every vCPU after it took mmu_lock, so after
 * every earlier zap, and each vCPU has since been outside guest mode (or
 * acknowledged the kick), so it serves that request, which drops its whole
 * TLB, before it uses a translation again.
 *
 * What mmu_lock no longer covers is the vCPU array: the waiter runs inside
 * kvm->srcu, and kvm_destroy_vcpu() waits for a grace period before it
 * frees a vCPU.  Faults meanwhile take mmu_lock and install other gfns;
 * those of the range retry while it is in progress (rule 2).  So a fault
 * no longer spins on mmu_lock while the invalidation waits for a vCPU.
 *
 * The wait spins a little, then, if @may_block, sleeps on tlb_flush_wq,
 * which a vCPU wakes when it acknowledges a kick (kvm_vcpu_exit_guest()):
 * on a busy machine the vCPU it waits for may need the very CPU the
 * waiter spins on.
 */
void kvm_flush_remote_tlbs_wait(struct kvm *kvm, struct kvm_tlb_flush *f, bool may_block)
{
	if (f->zapped) {
		kvm_tlb_flush_wait_until(kvm, f, kvm_tlb_flush_acked, may_block);
		kvm_tlb_flush_done(kvm, f->gen);
	} else {
		/* Nothing of ours to flush: the flushes of what we may have found gone. */
		kvm_tlb_flush_wait_until(kvm, f, kvm_tlb_flush_covered, may_block);
	}
}

void kvm_vcpu_clear_tlb(struct kvm_vcpu *vcpu)
{
	memset(vcpu->tlb, 0, sizeof(vcpu->tlb));
}

/* Serving KVM_REQ_TLB_FLUSH: the software TLB, then whatever the backend caches. */
void kvm_vcpu_flush_tlb(struct kvm_vcpu *vcpu)
{
	atomic_long_inc(&vcpu->stat.tlb_flushes);
	kvm_vcpu_clear_tlb(vcpu);
	if (vcpu->ops->flush_tlb)
		vcpu->ops->flush_tlb(vcpu);
}

void kvm_vcpu_enter_guest(struct kvm_vcpu *vcpu)
{
	for (;;) {
		if (kvm_check_request(KVM_REQ_TLB_FLUSH, vcpu))
			kvm_vcpu_flush_tlb(vcpu);
		smp_store_release(&vcpu->mode, IN_GUEST_MODE);
		smp_mb();
		if (!kvm_request_pending(vcpu))
			return;
		/* A request came in while entering: serve it first. */
		smp_store_release(&vcpu->mode, OUTSIDE_GUEST_MODE);
	}
}

void kvm_vcpu_exit_guest(struct kvm_vcpu *vcpu)
{
	unsigned long seq;

	/*
	 * Release: the guest's accesses are done before a requester sees us
	 * out.  The full barrier orders that store before the read of
	 * ipi_seq, a Dekker pair with the kicker's raise of it: either we see
	 * the kick and acknowledge it, or the kicker finds us out of guest mode.
	 */
	smp_store_release(&vcpu->mode, OUTSIDE_GUEST_MODE);
	smp_mb();
	seq = smp_load_acquire(&vcpu->ipi_seq);
	if (READ_ONCE(vcpu->ipi_ack) != seq) {
		smp_store_release(&vcpu->ipi_ack, seq);
		atomic_long_inc(&vcpu->stat.kicks_acked);
		/* A flusher may sleep on it (kvm_flush_remote_tlbs_wait()): the ack, then the look. */
		smp_mb();
		if (waitqueue_active(&vcpu->kvm->tlb_flush_wq))
			wake_up_all(&vcpu->kvm->tlb_flush_wq);
	}
}

bool kvm_vcpu_kick_pending(struct kvm_vcpu *vcpu)
{
	return READ_ONCE(vcpu->mode) == EXITING_GUEST_MODE ||
	       READ_ONCE(vcpu->ipi_seq) != READ_ONCE(vcpu->ipi_ack);
}
