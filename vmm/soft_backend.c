// SPDX-License-Identifier: GPL-2.0
/*
 * The soft backend: the Capstone interpreter of vmm/soft/ with every guest
 * access going through the secondary MMU's per-vCPU software TLB, and,
 * once the guest has loaded a CR3 of its own, through its page tables too
 * (TDP, mmu/paging.c) or through the shadow tables made from them (the
 * shadow MMU, mmu/shadow_fault.c), whose writes to their own tables this
 * file hands to the shadow MMU after the instruction.
 *
 * The vCPU is "in guest mode" (mmu/tlb.c) while the interpreter runs: its
 * translations are lockless SPTE walks, and a remote flush kicks it.  A
 * translation that finds no SPTE takes the secondary fault
 * (kvm_vcpu_page_fault(): out of guest mode, mmu/fault.c, in again) and
 * re-executes the instruction, as a hardware vCPU does after an EPT
 * violation.  What is left here is the VMM's part: which addresses are
 * RAM, and what a refused access means.  The kvm backend borrows the
 * interpreter for one instruction at a time, on the same translations
 * (vmm_soft_emulate_insn(): its guest's writes to write-tracked page
 * tables).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/report.h"
#include "mmu/paging_walk.h"
#include "vmm/soft/soft_cpu.h"
#include "vmm/vm.h"

struct soft_vcpu {
	struct soft_cpu cpu;
	struct vmm_vcpu *vcpu;
	/* Port write captured by the pio callback, served by the run loop. */
	uint16_t pio_port;
	uint8_t pio_size;
	uint32_t pio_data;
	/*
	 * Why the last translation failed, for the run loop's message (empty
	 * if it did not): a refusal of the host's, or the guest's own tables'
	 * #PF when the guest has no handler for it.
	 */
	char fault[256];
	/*
	 * Writes to write-tracked guest page tables (the shadow MMU's) that
	 * the instruction under way translated: it writes them in place, and
	 * the shadows follow at the next instruction boundary.
	 */
	struct {
		uint64_t gpa;
		unsigned int len;
	} tracked[4];
	unsigned int nr_tracked;
};

static struct soft_vcpu *to_soft(struct vmm_vcpu *vcpu)
{
	return vcpu->backend_data;
}

static bool gpa_in_ram(struct vmm *vm, uint64_t gpa, unsigned int len)
{
	return gpa >= GUEST_RAM_BASE && gpa + len <= GUEST_RAM_BASE + vm->cfg.mem_bytes;
}

static const char *access_name(enum soft_access access)
{
	return access == SOFT_ACCESS_WRITE ? "write" :
	       access == SOFT_ACCESS_FETCH ? "fetch" :
					     "read";
}

/* What needed the secondary fault, for a message: the page, or a guest table on the way to it. */
static void describe_fault_gpa(struct soft_vcpu *s, const struct kvm_tlb_xlate *xl, uint64_t gva,
			       char *buf, size_t len)
{
	vmm_describe_fault_gpa(s->vcpu, xl->fault_gpa, xl->fault_level, gva, buf, len);
}

/*
 * No SPTE allows the access to xl->fault_gpa (the page, or a guest table
 * on the way to it): the secondary fault, as after an EPT violation.
 */
static enum soft_xlate_ret soft_page_fault(struct soft_vcpu *s, const struct kvm_tlb_xlate *xl,
					   uint64_t gva, enum soft_access access, uint64_t rip)
{
	struct kvm_vcpu *kv = s->vcpu->kvcpu;
	bool write = xl->fault_write;
	int ret = kvm_vcpu_page_fault(kv, xl->fault_gpa, write);
	char what[160];

	if (!ret)
		return SOFT_XLATE_RETRY;
	switch (vmm_memory_fault(s->vcpu, xl->fault_gpa, write, ret)) {
	case VMM_FAULT_RETRY:
		kvm_vcpu_enter_guest(kv);
		return SOFT_XLATE_RETRY;
	case VMM_FAULT_EXIT:
		/* Leave the run at the next instruction boundary; this one retries then. */
		s->vcpu->fault_pending = true;
		soft_cpu_kick(&s->cpu);
		kvm_vcpu_enter_guest(kv);
		return SOFT_XLATE_RETRY;
	case VMM_FAULT_STOP:
		break;
	}
	kvm_vcpu_enter_guest(kv);
	describe_fault_gpa(s, xl, gva, what, sizeof(what));
	snprintf(s->fault, sizeof(s->fault), "the host refused a %s of %s at rip %#lx: %s",
		 xl->fault_level ? (write ? "write" : "read") : access_name(access), what,
		 (unsigned long)rip, strerror(-ret));
	return SOFT_XLATE_FAULT;
}

/*
 * The instruction that translated them has written (or was retried, and
 * wrote nothing, which costs a zap): the shadows made from what it wrote
 * go now, after the write, as KVM calls its write tracker after it wrote
 * guest memory.  An instruction translates everything before it writes,
 * so this waits for the next one's fetch, or for the run to end.
 */
static void soft_track_writes(struct soft_vcpu *s)
{
	for (unsigned int i = 0; i < s->nr_tracked; i++)
		kvm_vcpu_track_write(s->vcpu->kvcpu, s->tracked[i].gpa, s->tracked[i].len);
	s->nr_tracked = 0;
}

/* A write the shadow MMU must hear of once it is done (mmu/kvm_host.h, track_write). */
static void soft_note_tracked_write(struct soft_vcpu *s, uint64_t gpa, unsigned int len)
{
	/* At most one destination per instruction, in two pages; room to spare. */
	if (WARN_ON_ONCE(s->nr_tracked == ARRAY_SIZE(s->tracked)))
		return;
	s->tracked[s->nr_tracked].gpa = gpa;
	s->tracked[s->nr_tracked].len = len;
	s->nr_tracked++;
}

/*
 * What the interpreter's TLB checks on every use of a translation it kept
 * (vmm/soft/access.h, soft_xlate()): the frame's state and generation,
 * frame_check_stamp()'s two loads, as two consecutive words of its struct
 * page.  A mismatch sends the access here, where kvm_vcpu_check_frame()
 * reports it.
 */
BUILD_BUG_ON(sizeof(enum frame_state) != sizeof(unsigned int));
BUILD_BUG_ON(offsetof(struct page, gen) != offsetof(struct page, state) + sizeof(unsigned int));

static void soft_xlate_guard(struct kvm_vcpu *kv, const struct kvm_tlb_xlate *xl,
			     struct soft_xlate *out)
{
	const struct page *page = pfn_to_page(kv->kvm->pool, xl->stamp.pfn);

	out->guard = (const unsigned int *)&page->state;
	out->guard_val[0] = xl->stamp.state;
	out->guard_val[1] = xl->stamp.gen;
}

/* A translation is made: check its frame, then hand it to the interpreter. */
static enum soft_xlate_ret soft_xlate_done(struct soft_vcpu *s, const struct kvm_tlb_xlate *xl,
					   unsigned int len, bool write, struct soft_xlate *out)
{
	struct kvm_vcpu *kv = s->vcpu->kvcpu;

	/*
	 * A stale translation (a legacy switch broke a rule) is reported here,
	 * naming the vCPU and the instruction; then the vCPU drops its TLB and
	 * retries, so one stale entry makes one report, not one per access.
	 */
	if (!kvm_vcpu_check_frame(kv, xl, xl->gpa, len, write)) {
		kvm_vcpu_clear_tlb(kv);
		soft_cpu_flush_tlb(&s->cpu);
		return SOFT_XLATE_RETRY;
	}
	out->hva = xl->hva;
	out->gpa = xl->gpa;
	/* A tracked write must come back here every time, to be noted. */
	if (write && xl->track_write) {
		soft_note_tracked_write(s, xl->gpa, len);
		return SOFT_XLATE_OK;
	}
	out->cacheable = true;
	soft_xlate_guard(kv, xl, out);
	return SOFT_XLATE_OK;
}

static enum soft_xlate_ret soft_freed_frame(struct soft_vcpu *s, uint64_t gva)
{
	snprintf(s->fault, sizeof(s->fault),
		 "the secondary MMU maps guest address %#lx to a freed frame (reported above)",
		 (unsigned long)gva);
	return SOFT_XLATE_FAULT;
}

/*
 * The guest's tables refuse the access: a #PF for the interpreter to
 * deliver, and the message it stops the guest with if the guest has no
 * handler.  A non-canonical address is a #GP, which it cannot deliver: the
 * guest stops.
 */
static enum soft_xlate_ret soft_guest_fault(struct soft_vcpu *s, const struct guest_walker *w,
					    enum soft_access access, uint64_t rip,
					    struct soft_xlate *out)
{
	const struct guest_walk_fault *f = &w->fault;
	char insn[96] = "";

	if (access != SOFT_ACCESS_FETCH)
		soft_cpu_describe_insn(&s->cpu, insn, sizeof(insn));
	else
		snprintf(insn, sizeof(insn), "instruction fetch at rip %#lx", (unsigned long)rip);
	if (f->vector == GUEST_WALK_GP) {
		snprintf(s->fault, sizeof(s->fault),
			 "guest %s of virtual address %#lx: %s (a #GP); %s", access_name(access),
			 (unsigned long)f->address, f->reason, insn);
		return SOFT_XLATE_OUTSIDE;
	}
	snprintf(s->fault, sizeof(s->fault),
		 "guest page fault: %s of virtual address %#lx: %s (level %d), error code %#x; %s",
		 access_name(access), (unsigned long)f->address, f->reason, f->level, f->error_code,
		 insn);
	out->error_code = f->error_code;
	return SOFT_XLATE_PAGE_FAULT;
}

/*
 * The access as the walk checks it: a user one at CPL 3, where the guest's
 * tables must grant U at every level (the interpreter makes an exception
 * frame's pushes at CPL 0, supervisor accesses, as the processor does).
 */
static uint32_t pferr_access(struct soft_vcpu *s, enum soft_access access)
{
	return (access == SOFT_ACCESS_WRITE ? PFERR_WRITE_MASK :
		access == SOFT_ACCESS_FETCH ? PFERR_FETCH_MASK :
					      0) |
	       (soft_cpu_cpl(&s->cpu) ? PFERR_USER_MASK : 0);
}

/*
 * The vCPU runs on the guest's tables (TDP): the walk and the TLB are
 * mmu/paging.c's; what is left here is the VMM's part, which addresses
 * are RAM and what a refusal means.
 */
static enum soft_xlate_ret soft_translate_paged(struct soft_vcpu *s, uint64_t gva, unsigned int len,
						enum soft_access access, uint64_t rip,
						struct soft_xlate *out)
{
	struct kvm_tlb_xlate xl;
	struct guest_walker w;
	int ret = kvm_vcpu_translate_gva(s->vcpu->kvcpu, gva, pferr_access(s, access), &xl, &w);
	char what[160];

	switch (ret) {
	case 0:
		return soft_xlate_done(s, &xl, len, access == SOFT_ACCESS_WRITE, out);
	case -EAGAIN:
		if (gpa_in_ram(s->vcpu->vm, xl.fault_gpa, 1))
			return soft_page_fault(s, &xl, gva, access, rip);
		describe_fault_gpa(s, &xl, gva, what, sizeof(what));
		snprintf(s->fault, sizeof(s->fault), "%s is outside guest RAM", what);
		return SOFT_XLATE_OUTSIDE;
	case GUEST_WALK_EXCEPTION:
		return soft_guest_fault(s, &w, access, rip, out);
	default:
		return soft_freed_frame(s, gva);
	}
}

static enum soft_xlate_ret soft_translate(void *opaque, uint64_t gva, unsigned int len,
					  enum soft_access access, uint64_t rip,
					  struct soft_xlate *out)
{
	struct soft_vcpu *s = opaque;
	struct kvm_vcpu *kv = s->vcpu->kvcpu;
	bool write = access == SOFT_ACCESS_WRITE;
	struct kvm_tlb_xlate xl;
	int ret;

	/*
	 * A new instruction: a refusal an earlier one did not stop on is
	 * forgotten, and the page-table writes of the last one reach the
	 * shadow MMU.
	 */
	if (access == SOFT_ACCESS_FETCH && gva == rip) {
		if (unlikely(s->fault[0]))
			s->fault[0] = '\0';
		if (unlikely(s->nr_tracked))
			soft_track_writes(s);
	}
	if (kv->cr3 != KVM_CR3_IDENTITY)
		return soft_translate_paged(s, gva, len, access, rip, out);
	/*
	 * On the identity map, guest virtual == guest physical (docs/design.md,
	 * Guest ABI), and with no tables of the guest's, every page is a user
	 * page too.
	 */
	if (!gpa_in_ram(s->vcpu->vm, gva, len))
		return SOFT_XLATE_OUTSIDE;
	ret = kvm_vcpu_translate(kv, gva, write, &xl);
	if (ret == -EAGAIN)
		return soft_page_fault(s, &xl, gva, access, rip);
	if (ret)
		return soft_freed_frame(s, gva);
	return soft_xlate_done(s, &xl, len, write, out);
}

/*
 * Every translation the interpreter asks for: s->fault is only ever the
 * reason of the last one, never of one whose #PF the guest's handler took.
 */
static enum soft_xlate_ret soft_translate_op(void *opaque, uint64_t gva, unsigned int len,
					     enum soft_access access, uint64_t rip,
					     struct soft_xlate *out)
{
	struct soft_vcpu *s = opaque;

	s->fault[0] = '\0';
	return soft_translate(opaque, gva, len, access, rip, out);
}

/*
 * `mov %reg, %cr3` and `invlpg`, as HC_LOAD_CR3 and HC_INVLPG: the MMU
 * drops what the vCPU's software TLB holds.  The decode cache is keyed by
 * guest-physical page, so it stays right whatever the guest's tables map.
 */
static int soft_load_cr3(void *opaque, uint64_t cr3)
{
	struct soft_vcpu *s = opaque;

	return kvm_vcpu_load_cr3(s->vcpu->kvcpu, cr3);
}

static void soft_invlpg(void *opaque, uint64_t gva)
{
	struct soft_vcpu *s = opaque;

	kvm_vcpu_invlpg(s->vcpu->kvcpu, gva);
}

static int soft_pio(void *opaque, uint16_t port, unsigned int size, bool in, uint32_t *val)
{
	struct soft_vcpu *s = opaque;
	struct vmm_exit exit = { .reason = VMM_EXIT_PIO, .port = port, .size = size, .in = true };

	if (in) {
		/* Reads are answered at once: no device here needs the run loop for one. */
		int ret = vmm_handle_pio(s->vcpu, &exit);

		*val = exit.data;
		return ret;
	}
	s->pio_port = port;
	s->pio_size = size;
	s->pio_data = *val;
	return SOFT_PIO_EXIT;
}

static const struct soft_mem_ops soft_vmm_mem_ops = {
	.translate = soft_translate_op,
	.pio = soft_pio,
	.load_cr3 = soft_load_cr3,
	.invlpg = soft_invlpg,
};

/* kvm_vcpu_ops: how the remote flush reaches this vCPU. */
static void soft_kvm_kick(struct kvm_vcpu *kv)
{
	struct vmm_vcpu *vcpu = kv->private;

	soft_cpu_kick(&to_soft(vcpu)->cpu);
}

/*
 * Called by the vCPU's own thread when it serves a flush request, after
 * kvm_vcpu_flush_tlb() cleared the software TLB: the interpreter's TLB
 * goes too, and every decoded page must show, at its next fetch, that it
 * is still on the frame it was decoded from, since a page whose
 * translation went may come back on another frame with other contents (a
 * truncated file page reads as zero).  A page that comes back on the same
 * frame, not freed since (its generation unchanged), holds the same bytes:
 * stores to it are seen by the decode cache however they are made.
 */
static void soft_kvm_flush_tlb(struct kvm_vcpu *kv)
{
	struct vmm_vcpu *vcpu = kv->private;

	soft_cpu_flush_tlb(&to_soft(vcpu)->cpu);
	soft_cpu_revalidate_code(&to_soft(vcpu)->cpu);
}

/*
 * The guest's INVLPG, TLB flush or CR3 load dropped translations from the
 * software TLB: the interpreter drops what it kept of them too.  Decoded
 * code stays, keyed by guest-physical page.
 */
static void soft_kvm_flush_tlb_guest(struct kvm_vcpu *kv)
{
	struct vmm_vcpu *vcpu = kv->private;

	soft_cpu_flush_tlb(&to_soft(vcpu)->cpu);
}

/* Inside a sanitizer report: which guest instruction made the access. */
static void soft_kvm_describe_access(struct kvm_vcpu *kv)
{
	struct vmm_vcpu *vcpu = kv->private;
	char buf[192];

	soft_cpu_describe_insn(&to_soft(vcpu)->cpu, buf, sizeof(buf));
	report_printf("  guest instruction: %s\n", buf);
}

/* The walk set an A or D bit of the guest's tables: a store like the guest's own. */
static void soft_kvm_guest_written(struct kvm_vcpu *kv, gpa_t gpa)
{
	struct vmm_vcpu *vcpu = kv->private;

	soft_decode_cache_written(&to_soft(vcpu)->cpu.cache, gpa);
}

static const struct kvm_vcpu_ops soft_kvm_vcpu_ops = {
	.kick = soft_kvm_kick,
	.flush_tlb = soft_kvm_flush_tlb,
	.describe_access = soft_kvm_describe_access,
	.guest_written = soft_kvm_guest_written,
	.flush_tlb_guest = soft_kvm_flush_tlb_guest,
};

/* A soft vCPU of @vcpu's, its interpreter on the VMM's translations; NULL with *@ret. */
static struct soft_vcpu *soft_vcpu_alloc(struct vmm_vcpu *vcpu, int *ret)
{
	struct soft_vcpu *s = calloc(1, sizeof(*s));

	*ret = -ENOMEM;
	if (!s)
		return NULL;
	s->vcpu = vcpu;
	*ret = soft_cpu_init(&s->cpu, &soft_vmm_mem_ops, s);
	if (*ret) {
		free(s);
		return NULL;
	}
	return s;
}

static int soft_vcpu_create(struct vmm_vcpu *vcpu)
{
	int ret;
	struct soft_vcpu *s = soft_vcpu_alloc(vcpu, &ret);

	if (!s)
		return ret;
	vcpu->backend_data = s;
	vcpu->kvcpu = kvm_create_vcpu(vcpu->vm->kvm, vcpu->id, &soft_kvm_vcpu_ops);
	if (IS_ERR(vcpu->kvcpu)) {
		ret = PTR_ERR(vcpu->kvcpu);
		vcpu->kvcpu = NULL;
		soft_cpu_destroy(&s->cpu);
		free(s);
		vcpu->backend_data = NULL;
		return ret;
	}
	vcpu->kvcpu->private = vcpu;
	return 0;
}

static void soft_vcpu_destroy(struct vmm_vcpu *vcpu)
{
	struct soft_vcpu *s = to_soft(vcpu);

	if (vcpu->kvcpu)
		kvm_destroy_vcpu(vcpu->kvcpu);
	soft_cpu_destroy(&s->cpu);
	free(s);
	vcpu->backend_data = NULL;
}

/* A stop whose reason a translation wrote in s->fault. */
static bool soft_stopped_in_translation(const struct soft_exit *exit)
{
	return exit->error == SOFT_ERR_OUTSIDE || exit->error == SOFT_ERR_DOUBLE_FAULT ||
	       (exit->error == SOFT_ERR_EXCEPTION && exit->vector == SOFT_VEC_PF);
}

static void soft_run(struct vmm_vcpu *vcpu, struct vmm_exit *exit)
{
	struct soft_vcpu *s = to_soft(vcpu);
	enum soft_exit_reason reason;

	s->fault[0] = '\0';
	/* What `mov %cr3, %reg` reads: an HC_LOAD_CR3 since the last run changed it. */
	s->cpu.cr3 = vcpu->kvcpu->cr3;
	kvm_vcpu_enter_guest(vcpu->kvcpu);
	reason = soft_cpu_run(&s->cpu, 0);
	kvm_vcpu_exit_guest(vcpu->kvcpu);
	soft_track_writes(s);

	switch (reason) {
	case SOFT_EXIT_PIO:
		*exit = (struct vmm_exit){ .reason = VMM_EXIT_PIO,
					   .port = s->pio_port,
					   .size = s->pio_size,
					   .data = s->pio_data };
		break;
	case SOFT_EXIT_HLT:
		exit->reason = VMM_EXIT_HLT;
		break;
	case SOFT_EXIT_ERROR:
		exit->reason = VMM_EXIT_ERROR;
		if (s->fault[0] && soft_stopped_in_translation(&s->cpu.exit))
			snprintf(exit->message, sizeof(exit->message), "%s\n%s", s->fault,
				 s->cpu.exit.message);
		else
			snprintf(exit->message, sizeof(exit->message), "%s", s->cpu.exit.message);
		break;
	default: /* kicked, or a limit nobody set */
		exit->reason = vcpu->fault_pending ? VMM_EXIT_MEMORY_FAULT : VMM_EXIT_KICK;
	}
}

static void soft_kick(struct vmm_vcpu *vcpu)
{
	soft_cpu_kick(&to_soft(vcpu)->cpu);
}

static void soft_regs_to_vmm(struct soft_cpu *cpu, struct vmm_regs *regs)
{
	BUILD_BUG_ON((int)VMM_NR_GPRS != (int)SOFT_NR_GPRS);
	memcpy(regs->gpr, cpu->gpr, sizeof(regs->gpr));
	regs->rip = cpu->rip;
	regs->rflags = soft_cpu_get_rflags(cpu);
}

static void soft_regs_from_vmm(struct soft_cpu *cpu, const struct vmm_regs *regs)
{
	memcpy(cpu->gpr, regs->gpr, sizeof(cpu->gpr));
	cpu->rip = regs->rip;
	soft_cpu_set_rflags(cpu, regs->rflags);
}

static void soft_get_regs(struct vmm_vcpu *vcpu, struct vmm_regs *regs)
{
	soft_regs_to_vmm(&to_soft(vcpu)->cpu, regs);
}

static void soft_set_regs(struct vmm_vcpu *vcpu, const struct vmm_regs *regs)
{
	soft_regs_from_vmm(&to_soft(vcpu)->cpu, regs);
}

BUILD_BUG_ON(SOFT_VEC_DE != DE_VECTOR || SOFT_VEC_UD != UD_VECTOR);
BUILD_BUG_ON(SOFT_VEC_GP != GP_VECTOR || SOFT_VEC_PF != PF_VECTOR);
BUILD_BUG_ON(SOFT_SEL_CODE != GUEST_CS || SOFT_SEL_DATA != GUEST_SS);
BUILD_BUG_ON(SOFT_SEL_USER_CODE != GUEST_USER_CS || SOFT_SEL_USER_DATA != GUEST_USER_SS);
BUILD_BUG_ON(SOFT_STAR_ABI != GUEST_STAR || SOFT_MSR_STAR != MSR_STAR);

/* HC_SET_EXCEPTION_HANDLER: the interpreter delivers the exception itself. */
static int soft_set_exception_handler(struct vmm_vcpu *vcpu, unsigned int vector, uint64_t rip,
				      uint64_t stack)
{
	return soft_cpu_set_exception_handler(&to_soft(vcpu)->cpu, vector, rip, stack);
}

static void soft_sse_from_vmm(struct soft_cpu *cpu, const struct vmm_sys_regs *sys)
{
	BUILD_BUG_ON(sizeof(cpu->xmm) != sizeof(sys->xmm));
	memcpy(cpu->xmm, sys->xmm, sizeof(sys->xmm));
	cpu->mxcsr = sys->mxcsr;
	BUILD_BUG_ON(sizeof(cpu->x87) != sizeof(sys->x87));
	memcpy(&cpu->fcw, &sys->x87[0], 2);
	memcpy(cpu->x87, sys->x87, sizeof(sys->x87));
}

static void soft_sse_to_vmm(const struct soft_cpu *cpu, struct vmm_sys_regs *sys)
{
	memcpy(sys->xmm, cpu->xmm, sizeof(sys->xmm));
	sys->mxcsr = cpu->mxcsr;
	memcpy(sys->x87, cpu->x87, sizeof(sys->x87));
	memcpy(&sys->x87[0], &cpu->fcw, 2);
}

/*
 * vmm_soft_emulate_insn(): a soft vCPU of its own for the one
 * instruction, on the caller's vCPU and its translations.  Its decode
 * cache lives for this instruction only, so no flush needs to reach it.
 * A translation that took a secondary fault abandons the instruction
 * (SOFT_XLATE_RETRY, nothing of it happened): it runs again here a few
 * times, then (-EAGAIN) the guest executes it again, as a CPU would.
 */
int vmm_soft_emulate_insn(struct vmm_vcpu *vcpu, struct vmm_regs *regs, struct vmm_sys_regs *sys,
			  char *msg, size_t len)
{
	enum soft_exit_reason reason = SOFT_EXIT_NONE;
	int ret;
	struct soft_vcpu *s = soft_vcpu_alloc(vcpu, &ret);

	if (!s)
		return ret;
	soft_regs_from_vmm(&s->cpu, regs);
	soft_sse_from_vmm(&s->cpu, sys);
	s->cpu.cr3 = vcpu->kvcpu->cr3;
	soft_cpu_set_cs(&s->cpu, sys->cs);
	s->cpu.sys.ss = sys->cs & 3 ? SOFT_SEL_USER_DATA : SOFT_SEL_DATA;
	s->cpu.sys.fs_base = sys->fs_base;
	s->cpu.sys.gs_base = sys->gs_base;
	for (int tries = 0; !s->cpu.stats.insns && tries < 16; tries++) {
		s->fault[0] = '\0';
		kvm_vcpu_enter_guest(vcpu->kvcpu);
		reason = soft_cpu_run(&s->cpu, 1);
		kvm_vcpu_exit_guest(vcpu->kvcpu);
		soft_track_writes(s);
		if (reason != SOFT_EXIT_LIMIT)
			break;
	}
	if (s->cpu.stats.insns && reason == SOFT_EXIT_LIMIT) {
		soft_regs_to_vmm(&s->cpu, regs);
		soft_sse_to_vmm(&s->cpu, sys);
	} else if (reason == SOFT_EXIT_LIMIT) {
		/* Invalidations kept undoing its faults: nothing of it happened yet. */
		ret = -EAGAIN;
	} else {
		char where[192];

		soft_cpu_describe_insn(&s->cpu, where, sizeof(where));
		if (reason == SOFT_EXIT_ERROR)
			snprintf(msg, len, "cannot emulate the write to a guest page table: %s%s%s",
				 s->fault, s->fault[0] ? "\n" : "", s->cpu.exit.message);
		else
			snprintf(msg, len,
				 "cannot emulate the write to a guest page table at %s (soft exit "
				 "%d)",
				 where, reason);
		ret = -EIO;
	}
	soft_cpu_destroy(&s->cpu);
	free(s);
	return ret;
}

uint64_t vmm_soft_insns(struct vmm_vcpu *vcpu)
{
	if (vcpu->vm->backend != &vmm_soft_backend || !vcpu->backend_data)
		return 0;
	return to_soft(vcpu)->cpu.stats.insns;
}

/* IN is completed inside the interpreter (soft_pio); nothing is left to do. */
static void soft_complete_pio_in(struct vmm_vcpu *vcpu, uint32_t val)
{
}

const struct vmm_backend_ops vmm_soft_backend = {
	.name = "soft",
	.vcpu_create = soft_vcpu_create,
	.vcpu_destroy = soft_vcpu_destroy,
	.run = soft_run,
	.kick = soft_kick,
	.get_regs = soft_get_regs,
	.set_regs = soft_set_regs,
	.complete_pio_in = soft_complete_pio_in,
	.set_exception_handler = soft_set_exception_handler,
	.guest_page_tables = true,
};
