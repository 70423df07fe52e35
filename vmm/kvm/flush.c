// SPDX-License-Identifier: GPL-2.0
/*
 * The remote flush on the kvm backend: the vCPU's thread serves
 * KVM_REQ_TLB_FLUSH by running the guest's flush stub (stubs.S), on its
 * way into guest mode or out of it, before it acknowledges the kick, and
 * keeps aside meanwhile the exit the kick interrupted.
 * devkvm_run_flush_stub() says why it goes as it does.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/kvm/internal.h"

/* What KVM_RUN returned and exited for, kept in @ge until the VMM serves it. */
void devkvm_keep_exit(struct devkvm_vcpu *k, int ret, struct devkvm_exit *ge)
{
	struct kvm_run *run = k->run;

	memset(ge, 0, sizeof(*ge));
	ge->ret = ret;
	if (ret)
		return;
	ge->reason = run->exit_reason;
	if (ge->reason == KVM_EXIT_IO) {
		ge->port = run->io.port;
		ge->size = run->io.size;
		ge->in = run->io.direction == KVM_EXIT_IO_IN;
		if (!ge->in)
			memcpy(&ge->data, (uint8_t *)run + run->io.data_offset,
			       min(run->io.size, (uint8_t)4));
		/* Now: a flush's own KVM_RUNs rewrite kvm_run's registers. */
		if (ge->port == DEVKVM_PORT_PAGE_FAULT)
			ge->cr2 = run->s.regs.regs.rax;
	} else if (ge->reason == KVM_EXIT_FAIL_ENTRY) {
		ge->detail = run->fail_entry.hardware_entry_failure_reason;
	} else if (ge->reason == KVM_EXIT_INTERNAL_ERROR) {
		ge->detail = run->internal.suberror;
	}
}

/* An exit that carries nothing to serve: a kick. */
static bool devkvm_exit_is_kick(const struct devkvm_exit *ge)
{
	return ge->ret == -EINTR || ge->ret == -EAGAIN || (!ge->ret && ge->reason == KVM_EXIT_INTR);
}

/*
 * May the guest run on (the flush handler) before the VMM has served this
 * exit?  After a kick, a hlt or an OUT, yes: KVM completes the OUT on the
 * next KVM_RUN and its data is kept.  Not after an IN, which the next
 * KVM_RUN would complete before the VMM has answered, nor after an exit
 * that ends the run.
 */
static bool devkvm_exit_resumable(const struct devkvm_exit *ge)
{
	if (ge->ret == -EINTR || ge->ret == -EAGAIN)
		return true;
	if (ge->ret)
		return false;
	switch (ge->reason) {
	case KVM_EXIT_INTR:
	case KVM_EXIT_HLT:
		return true;
	case KVM_EXIT_IO:
		return !ge->in && ge->port != DEVKVM_PORT_EXCEPTION;
	default:
		return false;
	}
}

/* KVM_RUN for the flush, a kick that lands meanwhile only makes it go round again. */
static int devkvm_run_again(struct devkvm_vcpu *k)
{
	int ret;

	do {
		ret = __devkvm_ioctl(k->fd, KVM_RUN, NULL) < 0 ? -errno : 0;
		WRITE_ONCE(k->run->immediate_exit, 0);
	} while (ret == -EINTR || ret == -EAGAIN);
	return ret;
}

static void devkvm_flush_failed(struct vmm_vcpu *vcpu, int ret, const char *what)
{
	struct devkvm_vcpu *k = devkvm_vcpu_of(vcpu);
	char why[96], where[160];

	if (ret)
		snprintf(why, sizeof(why), "%s", strerror(-ret));
	else if (k->run->exit_reason == KVM_EXIT_SHUTDOWN)
		snprintf(why, sizeof(why), "a triple fault (KVM_EXIT_SHUTDOWN)");
	else if (k->run->exit_reason == KVM_EXIT_IO)
		snprintf(why, sizeof(why), "port %#x (KVM_EXIT_IO)", k->run->io.port);
	else
		snprintf(why, sizeof(why), "KVM exit reason %u", k->run->exit_reason);
	devkvm_describe_rip(vcpu, where, sizeof(where));
	snprintf(k->flush_err, sizeof(k->flush_err), "TLB flush: %s: %s at %s", what, why, where);
}

/*
 * Let KVM finish the exit it returned (complete an OUT, or an IN with the
 * VMM's answer) without running the guest, so that its registers are
 * where the guest goes on from.
 */
int devkvm_settle(struct vmm_vcpu *vcpu)
{
	struct devkvm_vcpu *k = devkvm_vcpu_of(vcpu);
	int ret;

	WRITE_ONCE(k->run->immediate_exit, 1);
	ret = __devkvm_ioctl(k->fd, KVM_RUN, NULL) < 0 ? -errno : 0;
	WRITE_ONCE(k->run->immediate_exit, 0);
	if (ret == -EINTR)
		return 0;
	devkvm_flush_failed(vcpu, ret, "KVM_RUN with immediate_exit did not return at once");
	return -EIO;
}

/*
 * An exception KVM still holds for the guest (a #PF it was delivering when
 * the kick came) would be taken before the flush stub's first instruction.
 * Let the guest take it first: its stub exits before any guest instruction
 * runs, and that exit is the one the VMM serves after the flush.
 *
 * Not one whose gate is the guest's own handler (a #GP the guest handles,
 * say): taking it would run the handler, any guest code, before the flush.
 * It is dropped instead.  Every such vector is a fault, reported with rip
 * on the faulting instruction, which raises it again when the guest goes
 * on from there after the flush, as it does after an exit that interrupted
 * the delivery.
 */
static int devkvm_take_pending_exception(struct vmm_vcpu *vcpu)
{
	struct devkvm_vcpu *k = devkvm_vcpu_of(vcpu);
	struct kvm_vcpu_events ev;
	struct devkvm_err err;
	int ret = devkvm_ioctl(k->fd, KVM_GET_VCPU_EVENTS, &ev, &err);

	if (ret) {
		snprintf(k->flush_err, sizeof(k->flush_err), "TLB flush: %s", err.msg);
		return ret;
	}
	if (!ev.exception.injected && !ev.exception.pending)
		return 0;
	if (ev.exception.nr < 32 && (k->guest_gates & (1u << ev.exception.nr))) {
		ev.exception.injected = 0;
		ev.exception.pending = 0;
		ret = devkvm_ioctl(k->fd, KVM_SET_VCPU_EVENTS, &ev, &err);
		if (ret)
			snprintf(k->flush_err, sizeof(k->flush_err), "TLB flush: %s", err.msg);
		return ret;
	}
	if (k->exit_unserved && !devkvm_exit_is_kick(&k->exit)) {
		devkvm_flush_failed(vcpu, 0,
				    "an exception is pending behind an exit not served yet");
		return -EIO;
	}
	ret = devkvm_run_again(k);
	if (ret || k->run->exit_reason != KVM_EXIT_IO ||
	    (k->run->io.port != DEVKVM_PORT_PAGE_FAULT &&
	     k->run->io.port != DEVKVM_PORT_EXCEPTION)) {
		devkvm_flush_failed(vcpu, ret, "the pending exception did not reach its stub");
		return -EIO;
	}
	devkvm_keep_exit(k, 0, &k->exit);
	k->exit_unserved = true;
	return 0;
}

/*
 * Enter the flush stub as an interrupt gate would, at CPL 0 on the vCPU's
 * IST2 stack, with two iret frames at its top: the stub's returns to the
 * vCPU's trampoline, still at CPL 0 and on IST2, and the trampoline's, at
 * the very top, returns to where the guest was, at CPL 3 as well as 0 (a
 * trampoline at CPL 3 could write no port).  A guest already in its
 * trampoline goes through it again: the frame at the top is still the one
 * saved the first time.
 */
static int devkvm_enter_flush_stub(struct vmm_vcpu *vcpu)
{
	struct devkvm_vcpu *k = devkvm_vcpu_of(vcpu);
	struct devkvm_flush_mailbox *mb = devkvm_flush_mailbox_of(vcpu);
	uint64_t *resume = (uint64_t *)((char *)mb + PAGE_SIZE) - 5, *frame = resume - 5;
	uint64_t resume_va = DEVKVM_IST2_TOP(vcpu->id) - 5 * sizeof(uint64_t);
	struct kvm_sregs sregs;
	struct kvm_regs r;
	struct devkvm_err err;
	int ret = devkvm_ioctl(k->fd, KVM_GET_REGS, &r, &err);

	if (!ret)
		ret = devkvm_ioctl(k->fd, KVM_GET_SREGS, &sregs, &err);
	if (!ret) {
		if (r.rip - DEVKVM_TRAMPOLINE_VA(vcpu->id) >= DEVKVM_TRAMPOLINE_SIZE) {
			resume[0] = r.rip;
			resume[1] = sregs.cs.selector;
			resume[2] = r.rflags;
			resume[3] = r.rsp;
			resume[4] = sregs.ss.selector;
		}
		frame[0] = DEVKVM_TRAMPOLINE_VA(vcpu->id);
		frame[1] = DEVKVM_SEL_CODE;
		frame[2] = 0x2;
		frame[3] = resume_va;
		frame[4] = DEVKVM_SEL_DATA;
		r.rip = devkvm_stub_va(devkvm_flush_stub);
		r.rsp = resume_va - 5 * sizeof(uint64_t);
		r.rflags = 0x2; /* IF and TF clear, as through an interrupt gate */
		ret = devkvm_ioctl(k->fd, KVM_SET_REGS, &r, &err);
	}
	if (!ret && sregs.cs.selector != DEVKVM_SEL_CODE) {
		sregs.cs = devkvm_segment(DEVKVM_SEL_CODE);
		sregs.ss = devkvm_segment(DEVKVM_SEL_DATA);
		ret = devkvm_ioctl(k->fd, KVM_SET_SREGS, &sregs, &err);
	}
	if (ret)
		snprintf(k->flush_err, sizeof(k->flush_err), "TLB flush: %s", err.msg);
	return ret;
}

/*
 * Run the guest's flush stub: a new number in the flush mailbox, the
 * guest's registers set to enter the stub, and KVM_RUN until the
 * trampoline acknowledges that number.
 *
 * Why before the kick's acknowledgement: the kvm_flush_remote_tlbs() that
 * kicked the vCPU waits for it (kvm_vcpu_exit_guest()), and the
 * invalidate_range_start behind that must not return while the guest's
 * TLB may still hold a translation of its range (rule 3, flush before
 * return).  Only the guest can drop its TLB entries, so it runs the flush
 * before the VMM acknowledges.
 *
 * Why through the guest's registers: KVM_SET_REGS puts rip at the stub,
 * rsp on IST2 below an iret frame and clears IF, as an interrupt gate
 * would (and KVM_SET_SREGS CPL 0's segments, for a guest at CPL 3), so
 * nothing of the hypervisor's event delivery is needed (an injected NMI
 * was not, devkvm.c says why).  The stub and the trampoline live in the
 * VMM's pages and are the first thing the guest runs: no guest code runs
 * meanwhile.
 *
 * Why a trampoline: the stub's iretq returns to its vCPU's trampoline,
 * which writes DEVKVM_PORT_FLUSH_ACK and returns through the guest's own
 * frame at the top of IST2.  The exit comes after the stub's iretq, so
 * the guest is never stopped inside the stub, and the next flush, keeping
 * that frame, enters a clean stack below it.
 *
 * Why the interrupted exit is kept aside: the KVM_RUN the kick ended may
 * have exited for something of its own (an OUT, a hlt, the #PF stub's
 * port), kept in k->exit while exit_unserved.  The guest runs the stub
 * before the VMM serves it only where KVM completes that exit without the
 * VMM (devkvm_exit_resumable()); devkvm_settle() lets KVM complete it
 * first, so the registers the stub returns to are where the guest goes on
 * from, and the VMM serves the exit after the flush.  An exception KVM
 * still holds goes first (devkvm_take_pending_exception()).
 *
 * 0, or -EIO with k->flush_err saying why.
 */
static int devkvm_run_flush_stub(struct vmm_vcpu *vcpu)
{
	struct devkvm_vcpu *k = devkvm_vcpu_of(vcpu);
	struct devkvm_flush_mailbox *mb = devkvm_flush_mailbox_of(vcpu);
	uint64_t gen = ++k->flush_gen;
	int ret;

	/*
	 * The stub runs on the root the vCPU counts now: the MMU may have
	 * replaced the one the hardware walked (a zapped root, a CR3 load)
	 * and freed it since; every root maps the stub.
	 */
	ret = devkvm_sync_cr3(vcpu);
	if (ret < 0) {
		devkvm_flush_failed(vcpu, ret, "KVM_SET_SREGS for the current root failed");
		return -EIO;
	}
	ret = devkvm_take_pending_exception(vcpu);
	if (ret || (k->exit_unserved && !devkvm_exit_resumable(&k->exit)))
		return ret; /* the guest crashed: it will not run again */
	ret = devkvm_settle(vcpu);
	if (!ret)
		ret = devkvm_enter_flush_stub(vcpu);
	if (ret)
		return -EIO;
	smp_store_release(&mb->req, gen);
	ret = devkvm_run_again(k);
	if (!ret && k->run->exit_reason == KVM_EXIT_IO &&
	    k->run->io.port == DEVKVM_PORT_FLUSH_ACK && smp_load_acquire(&mb->ack) == gen)
		return 0;
	devkvm_flush_failed(vcpu, ret, "the guest's flush stub did not acknowledge");
	return -EIO;
}

/*
 * kvm_vcpu_ops.flush_tlb: the vCPU's thread serves KVM_REQ_TLB_FLUSH, on its
 * way into guest mode or (devkvm_flush_before_ack()) out of it.  On the way
 * in, the flush's own KVM_RUNs clear immediate_exit: a kick that came
 * meanwhile, still unacknowledged, or the end of the VM, is for the guest's
 * KVM_RUN next, so it is set again.
 */
void devkvm_kvcpu_flush_tlb(struct kvm_vcpu *kv)
{
	struct vmm_vcpu *vcpu = kv->private;
	struct devkvm_vcpu *k = devkvm_vcpu_of(vcpu);
	bool entering = smp_load_acquire(&kv->mode) == OUTSIDE_GUEST_MODE;

	if (k->flush_err[0])
		return;
	devkvm_run_flush_stub(vcpu);
	if (entering && (kvm_vcpu_kick_pending(kv) || vmm_stopping(vcpu->vm)))
		smp_store_release(&k->run->immediate_exit, 1);
}

/*
 * Before the vCPU acknowledges a kick (kvm_vcpu_exit_guest()), serve the
 * flush requests that came while it ran: the kvm_flush_remote_tlbs() that
 * kicked it waits, so it returns only after the guest's stub ran.  Past
 * an exit the guest cannot go on from without the VMM (an IN waiting for
 * its answer, a crash), a request waits for the next entry, which serves
 * it before the guest's next instruction.
 */
void devkvm_flush_before_ack(struct vmm_vcpu *vcpu)
{
	struct devkvm_vcpu *k = devkvm_vcpu_of(vcpu);

	while (!k->flush_err[0] && devkvm_exit_resumable(&k->exit) &&
	       kvm_check_request(KVM_REQ_TLB_FLUSH, vcpu->kvcpu))
		kvm_vcpu_flush_tlb(vcpu->kvcpu);
}
