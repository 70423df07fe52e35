// SPDX-License-Identifier: GPL-2.0
/*
 * The #PF stub's exit, and the root the hardware walks.
 *
 * In flat mode every #PF is the VMM's: the guest's accesses translate on
 * the VMM's tables, so a missing SPTE is a secondary fault, served by
 * kvm_vcpu_page_fault() as the soft vCPU serves its own, and the stub's
 * iretq retries the access.
 *
 * In shadow mode (--mmu shadow) a guest on its own tables runs on the
 * shadow MMU's root of its CR3 (mmu/shadow*.c), which the hardware walks
 * as it walks the flat root on the identity CR3; every shadow root maps
 * the VMM's top 16 MiB too (kvm->vmm_top, tables.c), so the stubs run on
 * any of them.
 *
 * The root.  Before each entry devkvm_load_mmu() makes sure the vCPU's
 * root exists and is not a zapped one (KVM's kvm_mmu_reload()), and
 * points the hardware's CR3 at it with KVM_SET_SREGS when it walks
 * another; the flush stub then runs before any guest code and reloads CR3
 * natively.  KVM_SET_SREGS is no flush the guest can count on: a changed
 * CR3 makes today's KVM reset its MMU context and flush the vCPU's ASID or
 * VPID on the next entry, but that is KVM's choice, and entries of a
 * tagged TLB (VPID, ASID) outlive VM exits; the guest's own `mov %cr3` is
 * the architecture's flush of every non-global entry (leaf SPTEs have no
 * G bit, and there are no PCIDs).  HC_INVLPG and HC_FLUSH_TLB ask for the
 * same flush (kvm_vcpu_ops.flush_tlb_guest), so the hardware has dropped
 * what the guest invalidated before it runs guest code again (the shadow
 * leaf an INVLPG zaps comes with a remote flush of its own besides).  A
 * root the MMU zapped while the vCPU counts it (slot deletion, release)
 * stays the vCPU's, empty but for the VMM's top: the guest's next access
 * faults, the fault makes the new root, and the next entry moves the
 * hardware to it.  The hardware never walks a root the vCPU does not
 * count (devkvm_sync_cr3(), before every KVM_RUN), so none is freed under
 * it.
 *
 * Faults.  The shadow MMU translates the faulting address for the access
 * the error code names (kvm_vcpu_translate_gva(), or kvm_vcpu_translate()
 * on the identity map), in guest mode as the soft vCPU does, with the
 * secondary faults it needs on the way: a leaf installed is retried by
 * the stub's iretq; the guest's tables refusing it is the guest's #PF; a
 * write to a write-tracked gfn (a guest page table, mapped read-only with
 * SPTE_MMU_WRITABLE) is emulated.  For those two the VMM unwinds the
 * stub: KVM completes the port exit, then the guest's rax comes back
 * from where the stub pushed it on IST1, and its rip, rsp and
 * rflags from the CPU's frame there (struct devkvm_pf_frame); the stub's
 * iretq is never taken.  The #PF goes to the handler the guest registered
 * as the soft vCPU delivers it (vmm/soft/exception.c; docs/design.md,
 * Guest ABI): the 64-bit frame with the error code below the handler's
 * stack top, IF and TF clear, and CR2 set with KVM_SET_SREGS for the
 * handler's `mov %cr2`; the stub puts CR2 back after each fault of the
 * VMM's, so only those the guest sees show there.  The tracked write is
 * emulated by the soft interpreter (vmm_soft_emulate_insn()), which
 * writes in place and reports it to kvm_vcpu_track_write(), and the guest
 * goes on after the instruction.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mmu/paging_walk.h"
#include "vmm/kvm/internal.h"

/* RFLAGS bits an interrupt gate clears, and RF, which a fault's frame has. */
#define DEVKVM_RFLAGS_TF (1UL << 8)
#define DEVKVM_RFLAGS_IF (1UL << 9)
#define DEVKVM_RFLAGS_NT (1UL << 14)
#define DEVKVM_RFLAGS_RF (1UL << 16)

/* ---- the root ---- */

int devkvm_load_mmu(struct vmm_vcpu *vcpu, struct vmm_exit *exit)
{
	struct kvm_vcpu *kv = vcpu->kvcpu;
	hpa_t root;
	int ret;

	if (vcpu->vm->kvm->mmu_mode != KVM_MMU_SHADOW)
		return 0;
	if (kv->cr3 != KVM_CR3_IDENTITY) {
		ret = kvm_mmu_reload(kv, &root);
		if (ret) {
			exit->reason = VMM_EXIT_ERROR;
			snprintf(exit->message, sizeof(exit->message),
				 "no shadow root for the guest's CR3 %#lx: %s",
				 (unsigned long)kv->cr3, strerror(-ret));
			return ret;
		}
	}
	ret = devkvm_sync_cr3(vcpu);
	if (ret < 0) {
		exit->reason = VMM_EXIT_ERROR;
		snprintf(exit->message, sizeof(exit->message),
			 "KVM_SET_SREGS for the shadow root failed: %s", strerror(-ret));
		return ret;
	}
	/* Another table than the hardware walked: its TLB goes before guest code runs. */
	if (ret)
		kvm_make_request(KVM_REQ_TLB_FLUSH, kv);
	return 0;
}

void devkvm_kvcpu_flush_tlb_guest(struct kvm_vcpu *kv)
{
	/* Served by the flush stub on the way into guest mode; flat mode has nothing to drop. */
	if (kv->kvm->mmu_mode == KVM_MMU_SHADOW)
		kvm_make_request(KVM_REQ_TLB_FLUSH, kv);
}

/* ---- the fault ---- */

static bool devkvm_stop(struct vmm_exit *exit, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static bool devkvm_stop(struct vmm_exit *exit, const char *fmt, ...)
{
	va_list ap;

	exit->reason = VMM_EXIT_ERROR;
	va_start(ap, fmt);
	vsnprintf(exit->message, sizeof(exit->message), fmt, ap);
	va_end(ap);
	return false;
}

static const char *devkvm_access_name(uint32_t access)
{
	return access & PFERR_FETCH_MASK ? "fetch" : access & PFERR_WRITE_MASK ? "write" : "read";
}

/*
 * A secondary fault the host refused (@ret, at @gpa): what
 * vmm_memory_fault() makes of it.  @what names the access for the message.
 */
static bool devkvm_refused(struct vmm_vcpu *vcpu, uint64_t gpa, bool write, int ret,
			   const char *what, uint64_t rip, struct vmm_exit *exit)
{
	char insn[160];

	switch (vmm_memory_fault(vcpu, gpa, write, ret)) {
	case VMM_FAULT_RETRY:
		return true; /* the stub's iretq retries the access */
	case VMM_FAULT_EXIT:
		exit->reason = VMM_EXIT_MEMORY_FAULT;
		return false;
	case VMM_FAULT_STOP:
		break;
	}
	devkvm_describe_insn(vcpu, rip, insn, sizeof(insn));
	return devkvm_stop(exit, "guest %s at %s %s (%s), %s", write ? "write" : "read", what,
			   ret == -EFAULT ? "outside every memslot, or refused by the host" :
					    "failed",
			   strerror(-ret), insn);
}

/* The #PF stub's stack at its exit, at the top of its IST1 page. */
static const struct devkvm_pf_frame *devkvm_pf_frame_of(struct vmm_vcpu *vcpu)
{
	return (const struct devkvm_pf_frame *)((const char *)devkvm_fault_mailbox_of(vcpu) +
						DEVKVM_PAGE_SIZE) -
	       1;
}

/*
 * The guest's registers where the #PF stub interrupted it: KVM's port
 * exit completed first, so that KVM_SET_REGS is the last word, then rax
 * as the stub pushed it and rip, rsp, rflags, CS and SS from the
 * CPU's frame, on IST1 (struct devkvm_pf_frame).  SS matters: a CPU may
 * load a null SS as it enters the stub through its IST gate (QEMU's
 * does), and the guest goes on without the stub's iretq; CS and SS are
 * ring 3's where the guest was at CPL 3.  The caller sets @regs and
 * @sregs.  0, or -EIO with k->flush_err saying why.
 */
static int devkvm_unwind_pf_stub(struct vmm_vcpu *vcpu, struct vmm_regs *regs,
				 struct kvm_sregs *sregs)
{
	struct devkvm_vcpu *k = devkvm_vcpu_of(vcpu);
	const struct devkvm_pf_frame *f = devkvm_pf_frame_of(vcpu);
	struct devkvm_err err = { "" };
	int ret = devkvm_settle(vcpu);

	if (ret)
		return ret;
	if (devkvm_ioctl(k->fd, KVM_GET_SREGS, sregs, &err)) {
		snprintf(k->flush_err, sizeof(k->flush_err), "unwinding the #PF stub: %s", err.msg);
		return -EIO;
	}
	devkvm_get_regs(vcpu, regs);
	regs->gpr[VMM_RAX] = f->rax;
	regs->gpr[VMM_RSP] = f->rsp;
	regs->rip = f->rip;
	regs->rflags = f->rflags;
	/* The frame's segments back; a null SS stays null. */
	sregs->cs = devkvm_segment(f->cs);
	if (f->ss)
		sregs->ss = devkvm_segment(f->ss);
	return 0;
}

/*
 * The unwound registers and sregs into the vCPU: the guest goes on from
 * there.  CR3 is the one the hardware walks now: a flush stub that ran
 * since the unwinding (a translation or the emulation enters guest mode)
 * may have moved it to the vCPU's current root.
 */
static bool devkvm_resume_at(struct vmm_vcpu *vcpu, const struct vmm_regs *regs,
			     struct kvm_sregs *sregs, struct vmm_exit *exit)
{
	struct devkvm_err err = { "" };

	sregs->cr3 = devkvm_vcpu_of(vcpu)->hw_cr3;
	devkvm_set_regs(vcpu, regs);
	if (devkvm_ioctl(devkvm_vcpu_of(vcpu)->fd, KVM_SET_SREGS, sregs, &err))
		return devkvm_stop(exit, "after the #PF stub: %s", err.msg);
	return true;
}

/*
 * The host refused a write to the handler's stack as the VMM pushed the
 * #PF frame (the mprotect agent's window, say).  Nothing was pushed: the
 * guest goes back to the faulting instruction, unwound, and
 * vmm_memory_fault() decides as for any guest access; on a retry the
 * instruction faults again and the delivery starts over.
 */
static bool devkvm_frame_refused(struct vmm_vcpu *vcpu, const struct guest_walker *w,
				 const struct vmm_regs *regs, struct kvm_sregs *sregs,
				 struct vmm_exit *exit)
{
	char what[64];

	if (!devkvm_resume_at(vcpu, regs, sregs, exit))
		return false;
	snprintf(what, sizeof(what), "%#lx (the #PF frame's stack)", (unsigned long)w->gpa);
	return devkvm_refused(vcpu, w->gpa, true, -EFAULT, what, regs->rip, exit);
}

/* The guest's tables refuse the access: its #PF handler gets it, or the guest stops. */
static bool devkvm_guest_page_fault(struct vmm_vcpu *vcpu, const struct guest_walk_fault *f,
				    uint32_t access, uint64_t rip, struct vmm_exit *exit)
{
	struct devkvm_vcpu *k = devkvm_vcpu_of(vcpu);
	const struct devkvm_pf_frame *f_ist;
	struct kvm_sregs sregs;
	struct vmm_regs regs;
	struct guest_walker w = { 0 };
	uint64_t frame[6], top = k->guest_pf_stack & ~15UL;
	char insn[160];
	int ret;

	if (access & PFERR_FETCH_MASK)
		snprintf(insn, sizeof(insn), "instruction fetch at rip %#lx", (unsigned long)rip);
	else
		devkvm_describe_insn(vcpu, rip, insn, sizeof(insn));
	if (f->vector != GUEST_WALK_PF)
		return devkvm_stop(exit, "guest %s of virtual address %#lx: %s (a #GP); %s",
				   devkvm_access_name(access), (unsigned long)f->address, f->reason,
				   insn);
	if (!k->guest_pf_rip)
		return devkvm_stop(exit,
				   "guest page fault: %s of virtual address %#lx: %s (level %d), "
				   "error code %#x; %s",
				   devkvm_access_name(access), (unsigned long)f->address, f->reason,
				   f->level, f->error_code, insn);
	ret = devkvm_unwind_pf_stub(vcpu, &regs, &sregs);
	if (ret)
		return devkvm_stop(exit, "%s", k->flush_err);
	f_ist = devkvm_pf_frame_of(vcpu);
	/*
	 * From the stack top down: SS, RSP, RFLAGS (RF set, as for a fault),
	 * CS, RIP, error code; CS and SS as they were, ring 3's for a fault at
	 * CPL 3.  The pushes are supervisor accesses, as the CPU's are.
	 */
	frame[5] = f_ist->ss;
	frame[4] = regs.gpr[VMM_RSP];
	frame[3] = regs.rflags | DEVKVM_RFLAGS_RF;
	frame[2] = f_ist->cs;
	frame[1] = rip;
	frame[0] = f->error_code;
	ret = kvm_vcpu_access_gva(vcpu->kvcpu, top - sizeof(frame), frame, sizeof(frame),
				  PFERR_WRITE_MASK, &w);
	if (ret == -EFAULT)
		return devkvm_frame_refused(vcpu, &w, &regs, &sregs, exit);
	if (ret)
		return devkvm_stop(exit,
				   "double fault: %s while delivering #PF (page fault, vector 14, "
				   "error code %#x) to its handler at %#lx, stack %#lx, %s",
				   ret == GUEST_WALK_EXCEPTION ? w.fault.reason : strerror(-ret),
				   f->error_code, (unsigned long)k->guest_pf_rip,
				   (unsigned long)k->guest_pf_stack, insn);
	regs.gpr[VMM_RSP] = top - sizeof(frame);
	regs.rflags &= ~(DEVKVM_RFLAGS_IF | DEVKVM_RFLAGS_TF | DEVKVM_RFLAGS_NT | DEVKVM_RFLAGS_RF);
	regs.rip = k->guest_pf_rip;
	/* The handler runs at CPL 0; from CPL 3 on the flat data segment (a CPU would load null). */
	if (f_ist->cs != DEVKVM_SEL_CODE) {
		sregs.cs = devkvm_segment(DEVKVM_SEL_CODE);
		sregs.ss = devkvm_segment(DEVKVM_SEL_DATA);
	}
	/* CR2 for the handler's mov %cr2; the stub keeps it there across the VMM's own faults. */
	sregs.cr2 = f->address;
	devkvm_fault_mailbox_of(vcpu)->guest_cr2 = f->address;
	return devkvm_resume_at(vcpu, &regs, &sregs, exit);
}

/*
 * The guest's xmm registers and MXCSR for the emulation (an SSE store to
 * a page table is a tracked write like any other): the VMM's stubs never
 * touch them, so at the #PF stub's exit they are the faulting
 * instruction's.  0, or -EIO with the vCPU stopped.
 */
/* struct kvm_fpu's x87 fields as they lie in an fxsave64 area, and back (MXCSR apart). */
static void kvm_fpu_to_fxsave(const struct kvm_fpu *fpu, uint8_t area[160])
{
	memset(area, 0, 160);
	memcpy(&area[0], &fpu->fcw, 2);
	memcpy(&area[2], &fpu->fsw, 2);
	area[4] = fpu->ftwx;
	memcpy(&area[6], &fpu->last_opcode, 2);
	memcpy(&area[8], &fpu->last_ip, 8);
	memcpy(&area[16], &fpu->last_dp, 8);
	for (int i = 0; i < 8; i++)
		memcpy(&area[32 + 16 * i], fpu->fpr[i], 16);
}

static void kvm_fpu_from_fxsave(struct kvm_fpu *fpu, const uint8_t area[160])
{
	memcpy(&fpu->fcw, &area[0], 2);
	memcpy(&fpu->fsw, &area[2], 2);
	fpu->ftwx = area[4];
	memcpy(&fpu->last_opcode, &area[6], 2);
	memcpy(&fpu->last_ip, &area[8], 8);
	memcpy(&fpu->last_dp, &area[16], 8);
	for (int i = 0; i < 8; i++)
		memcpy(fpu->fpr[i], &area[32 + 16 * i], 16);
}

static int devkvm_get_sse(struct vmm_vcpu *vcpu, struct kvm_fpu *fpu, struct vmm_sys_regs *sys,
			  struct vmm_exit *exit)
{
	struct devkvm_err err = { "" };

	if (devkvm_ioctl(devkvm_vcpu_of(vcpu)->fd, KVM_GET_FPU, fpu, &err)) {
		devkvm_stop(exit, "KVM_GET_FPU for an emulated page-table write: %s", err.msg);
		return -EIO;
	}
	BUILD_BUG_ON(sizeof(fpu->xmm) != sizeof(sys->xmm));
	memcpy(sys->xmm, fpu->xmm, sizeof(sys->xmm));
	sys->mxcsr = fpu->mxcsr;
	kvm_fpu_to_fxsave(fpu, sys->x87);
	return 0;
}

/* What the emulated instruction left in the SSE registers, back into the vCPU if it changed. */
static int devkvm_put_sse(struct vmm_vcpu *vcpu, struct kvm_fpu *fpu,
			  const struct vmm_sys_regs *sys, struct vmm_exit *exit)
{
	struct devkvm_err err = { "" };

	uint8_t x87[sizeof(sys->x87)];

	kvm_fpu_to_fxsave(fpu, x87);
	if (!memcmp(fpu->xmm, sys->xmm, sizeof(sys->xmm)) && fpu->mxcsr == sys->mxcsr &&
	    !memcmp(x87, sys->x87, sizeof(x87)))
		return 0;
	memcpy(fpu->xmm, sys->xmm, sizeof(sys->xmm));
	fpu->mxcsr = sys->mxcsr;
	kvm_fpu_from_fxsave(fpu, sys->x87);
	if (devkvm_ioctl(devkvm_vcpu_of(vcpu)->fd, KVM_SET_FPU, fpu, &err)) {
		devkvm_stop(exit, "KVM_SET_FPU after an emulated page-table write: %s", err.msg);
		return -EIO;
	}
	return 0;
}

/* A write to a write-tracked guest page table: the soft interpreter makes it. */
static bool devkvm_emulate_tracked_write(struct vmm_vcpu *vcpu, struct vmm_exit *exit)
{
	struct vmm_sys_regs sys;
	struct kvm_fpu fpu;
	struct kvm_sregs sregs;
	struct vmm_regs regs;
	int ret;

	if (devkvm_unwind_pf_stub(vcpu, &regs, &sregs))
		return devkvm_stop(exit, "%s", devkvm_vcpu_of(vcpu)->flush_err);
	sys = (struct vmm_sys_regs){ .cs = sregs.cs.selector,
				     .fs_base = sregs.fs.base,
				     .gs_base = sregs.gs.base };
	if (devkvm_get_sse(vcpu, &fpu, &sys, exit))
		return false;
	ret = vmm_soft_emulate_insn(vcpu, &regs, &sys, exit->message, sizeof(exit->message));
	if (ret && ret != -EAGAIN) {
		exit->reason = VMM_EXIT_ERROR;
		return false;
	}
	if (!ret && devkvm_put_sse(vcpu, &fpu, &sys, exit))
		return false;
	/* After the instruction, or (-EAGAIN) at it again: it faults anew and comes back here. */
	return devkvm_resume_at(vcpu, &regs, &sregs, exit);
}

static bool devkvm_in_ram(struct vmm *vm, uint64_t gpa)
{
	return gpa >= GUEST_RAM_BASE && gpa < GUEST_RAM_BASE + vm->cfg.mem_bytes;
}

/*
 * The shadow MMU's translation of the faulting access, in guest mode
 * (where lockless walks of shadow tables are made: a remote flush waits
 * for them before a table is freed), with the secondary faults it asks
 * for.  The software TLB goes first: the hardware faulted, so whatever it
 * holds is not what the hardware walked.  0 (@xl), GUEST_WALK_EXCEPTION
 * (@w), or an error: of a secondary fault (*@refused, @xl->fault_*), with
 * the vCPU out of guest mode, or -ENXIO for a table or page outside RAM.
 */
static int devkvm_translate(struct vmm_vcpu *vcpu, uint64_t addr, uint32_t access,
			    struct kvm_tlb_xlate *xl, struct guest_walker *w, bool *refused)
{
	struct kvm_vcpu *kv = vcpu->kvcpu;
	int ret;

	*refused = false;
	kvm_vcpu_enter_guest(kv);
	kvm_vcpu_clear_tlb(kv);
	for (int tries = 0;; tries++) {
		ret = kv->cr3 == KVM_CR3_IDENTITY ?
			      kvm_vcpu_translate(kv, addr, access & PFERR_WRITE_MASK, xl) :
			      kvm_vcpu_translate_gva(kv, addr, access, xl, w);
		if (ret != -EAGAIN || tries == 64)
			break;
		if (!devkvm_in_ram(vcpu->vm, xl->fault_gpa)) {
			ret = -ENXIO;
			break;
		}
		ret = kvm_vcpu_page_fault(kv, xl->fault_gpa, xl->fault_write);
		if (ret) {
			*refused = true;
			return ret;
		}
	}
	kvm_vcpu_exit_guest(kv);
	return ret;
}

/* The #PF stub's exit on a vCPU in shadow mode: the fault at @addr, the CPU's frame @f. */
static bool devkvm_shadow_page_fault(struct vmm_vcpu *vcpu, uint64_t addr,
				     const struct devkvm_pf_frame *f, struct vmm_exit *exit)
{
	struct kvm_vcpu *kv = vcpu->kvcpu;
	uint32_t access = f->error_code & (PFERR_WRITE_MASK | PFERR_USER_MASK | PFERR_FETCH_MASK);
	bool write = access & PFERR_WRITE_MASK, refused;
	uint64_t rip = f->rip;
	struct kvm_tlb_xlate xl = { 0 };
	struct guest_walker w;
	char what[160];
	int ret;

	/* On the identity map: the secondary fault as in flat mode, then has the gfn a table? */
	if (kv->cr3 == KVM_CR3_IDENTITY) {
		snprintf(what, sizeof(what), "%#lx", (unsigned long)addr);
		ret = kvm_vcpu_page_fault(kv, addr, write);
		if (ret)
			return devkvm_refused(vcpu, addr, write, ret, what, rip, exit);
		if (!write)
			return true;
	}
	ret = devkvm_translate(vcpu, addr, access, &xl, &w, &refused);
	if (!ret)
		return write && xl.track_write ? devkvm_emulate_tracked_write(vcpu, exit) : true;
	if (ret == GUEST_WALK_EXCEPTION)
		return devkvm_guest_page_fault(vcpu, &w.fault, access, rip, exit);
	vmm_describe_fault_gpa(vcpu, xl.fault_gpa, xl.fault_level, addr, what, sizeof(what));
	if (ret == -ENXIO)
		return devkvm_stop(exit, "%s is outside guest RAM", what);
	if (refused)
		return devkvm_refused(vcpu, xl.fault_gpa, xl.fault_write, ret, what, rip, exit);
	return devkvm_stop(exit,
			   "the secondary MMU maps virtual address %#lx to a freed frame (reported "
			   "above), or could not translate it (%s)",
			   (unsigned long)addr, strerror(-ret));
}

/*
 * A #PF in the VMM's top 16 MiB on the identity map: a write to one of
 * the VMM's read-only pages (tables.c), or an access where it maps
 * nothing.  There is nothing to fault in: the guest stops, the page
 * named.  On tables of its own, the guest's walk refuses the range first
 * (devkvm_translate()), as the soft vCPU's does.
 */
static bool devkvm_top_fault(struct vmm_vcpu *vcpu, uint64_t cr2, const struct devkvm_pf_frame *f,
			     struct vmm_exit *exit)
{
	char what[96], insn[160];

	devkvm_top_describe(cr2, what, sizeof(what));
	if (f->error_code & PFERR_FETCH_MASK)
		snprintf(insn, sizeof(insn), "instruction fetch at rip %#lx",
			 (unsigned long)f->rip);
	else
		devkvm_describe_insn(vcpu, f->rip, insn, sizeof(insn));
	return devkvm_stop(exit,
			   "guest page fault: %s of virtual address %#lx: %s (the VMM's top "
			   "16 MiB), error code %#lx; %s",
			   devkvm_access_name(f->error_code), (unsigned long)cr2, what,
			   (unsigned long)f->error_code, insn);
}

/*
 * @cr2 is the stub's rax, which KVM copied to kvm_run at the exit
 * (kvm_valid_regs, devkvm_keep_exit()); the error code and the rip are
 * the CPU's, read from its frame on IST1, where the stub left it.  No
 * ioctl.
 */
bool devkvm_handle_page_fault(struct vmm_vcpu *vcpu, uint64_t cr2, struct vmm_exit *exit)
{
	const struct devkvm_pf_frame *f = devkvm_pf_frame_of(vcpu);
	bool write = f->error_code & PFERR_WRITE_MASK;
	char what[32];
	int ret;

	if (cr2 >= DEVKVM_TOP_VA && vcpu->kvcpu->cr3 == KVM_CR3_IDENTITY)
		return devkvm_top_fault(vcpu, cr2, f, exit);
	if (vcpu->vm->kvm->mmu_mode == KVM_MMU_SHADOW)
		return devkvm_shadow_page_fault(vcpu, cr2, f, exit);
	/* Out of guest mode already: the stub's exit is the EPT-violation exit. */
	ret = kvm_vcpu_page_fault(vcpu->kvcpu, cr2, write);
	if (!ret)
		return true;
	snprintf(what, sizeof(what), "%#lx", (unsigned long)cr2);
	return devkvm_refused(vcpu, cr2, write, ret, what, f->rip, exit);
}
