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
 * sees it in guest mode and kicks.  A flush runs with mmu_lock held, so
 * the wait spins; a vCPU in guest mode takes no lock, so it always gets
 * to the kick.
 */
#include <string.h>

#include "base/bug.h"
#include "base/spinlock.h"
#include "base/trace.h"
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

bool kvm_make_all_cpus_request(struct kvm *kvm, unsigned int req)
{
	unsigned long seqs[NR_CPUS];
	bool called = false;
	int i;

	for (i = 0; i < NR_CPUS; i++) {
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
	for (i = 0; i < NR_CPUS; i++) {
		struct kvm_vcpu *vcpu = READ_ONCE(kvm->vcpus[i]);
		unsigned int spins = 0;

		if (!seqs[i])
			continue;
		while (!kvm_vcpu_kick_acked(vcpu, seqs[i]))
			cpu_spin_wait(&spins);
	}
	return called;
}

/*
 * Called with mmu_lock held (for write), which keeps the vCPU array still:
 * vCPUs come and go under it.
 */
void kvm_flush_remote_tlbs(struct kvm *kvm)
{
	atomic_long_inc(&kvm->stat.remote_tlb_flushes);
	trace_begin("mmu", "remote TLB flush");
	kvm_make_all_cpus_request(kvm,
				  KVM_REQ_TLB_FLUSH | KVM_REQUEST_WAIT | KVM_REQUEST_NO_WAKEUP);
	trace_end("mmu", "remote TLB flush");
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
	}
}

bool kvm_vcpu_kick_pending(struct kvm_vcpu *vcpu)
{
	return READ_ONCE(vcpu->mode) == EXITING_GUEST_MODE ||
	       READ_ONCE(vcpu->ipi_seq) != READ_ONCE(vcpu->ipi_ack);
}
