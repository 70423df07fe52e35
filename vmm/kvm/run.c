// SPDX-License-Identifier: GPL-2.0
/*
 * The kvm backend's run loop: one trip through KVM_RUN per call, the kick
 * that ends it early (SIGUSR1 and immediate_exit), and the exit served:
 * the #PF stub's by fault.c, the exception stub's and KVM's fatal exits
 * as one line naming the reason, rip and instruction, port I/O for
 * vmm/devices.c.
 */
#include <capstone/capstone.h>
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "base/atomic.h"
#include "vmm/kvm/internal.h"

/* ---- the kick ---- */

static __thread struct kvm_run *devkvm_this_run; /* for the kick signal's handler */

static void devkvm_kick_signal(int sig)
{
	/*
	 * The kick that lands between two KVM_RUNs is not lost: the next one
	 * returns at once.  An atomic store, as the kicker's: both may write
	 * the flag at once (a stop kicks every vCPU while a flush kicks too).
	 */
	if (devkvm_this_run)
		WRITE_ONCE(devkvm_this_run->immediate_exit, 1);
}

void devkvm_kick_signal_init(void)
{
	struct sigaction sa = { .sa_handler = devkvm_kick_signal };

	sigaction(SIGUSR1, &sa, NULL); /* no SA_RESTART: KVM_RUN returns -EINTR */
}

/* kvm_vcpu_ops.kick: the remote flush's kick is a signal. */
void devkvm_kvcpu_kick(struct kvm_vcpu *kv)
{
	struct devkvm_vcpu *k = devkvm_vcpu_of(kv->private);

	smp_store_release(&k->run->immediate_exit, 1);
	if (smp_load_acquire(&k->thread_known))
		pthread_kill(k->thread, SIGUSR1);
}

void devkvm_kick(struct vmm_vcpu *vcpu)
{
	devkvm_kvcpu_kick(vcpu->kvcpu);
}

static const char *const devkvm_exception_names[32] = {
	[0] = "#DE divide error",
	[1] = "#DB",
	[2] = "NMI",
	[3] = "#BP",
	[4] = "#OF",
	[5] = "#BR",
	[6] = "#UD invalid opcode",
	[7] = "#NM",
	[8] = "#DF double fault",
	[9] = "coprocessor",
	[10] = "#TS",
	[11] = "#NP",
	[12] = "#SS",
	[13] = "#GP general protection",
	[16] = "#MF",
	[17] = "#AC",
	[18] = "#MC",
	[19] = "#XM",
};

/* ---- serving the exit ---- */

/* An exception no guest expects: the stub's exit, the vector, error code and rip in registers. */
static void devkvm_guest_exception(struct vmm_vcpu *vcpu, struct vmm_exit *exit)
{
	struct vmm_regs regs;
	unsigned long vector;
	char insn[160];

	devkvm_get_regs(vcpu, &regs);
	vector = regs.gpr[VMM_RAX];
	devkvm_describe_insn(vcpu, regs.gpr[VMM_RDX], insn, sizeof(insn));
	exit->reason = VMM_EXIT_ERROR;
	snprintf(exit->message, sizeof(exit->message),
		 "the guest crashed: exception %s (vector %lu, error code %#lx) at %s",
		 vector < 32 && devkvm_exception_names[vector] ? devkvm_exception_names[vector] :
								 "?",
		 vector, (unsigned long)regs.gpr[VMM_RCX], insn);
}

static void devkvm_exit_pio(struct vmm_vcpu *vcpu, const struct devkvm_exit *ge,
			    struct vmm_exit *exit)
{
	if (ge->port == DEVKVM_PORT_PAGE_FAULT) {
		if (devkvm_handle_page_fault(vcpu, ge->cr2, exit))
			exit->reason = VMM_EXIT_KICK; /* nothing for the run loop: resume */
		return;
	}
	if (ge->port == DEVKVM_PORT_EXCEPTION) {
		devkvm_guest_exception(vcpu, exit);
		return;
	}
	exit->reason = VMM_EXIT_PIO;
	exit->port = ge->port;
	exit->size = ge->size;
	exit->in = ge->in;
	exit->data = ge->data;
}

/*
 * KVM_INTERNAL_ERROR_EMULATION: the host's KVM had to emulate an
 * instruction and could not.  A paravirtual /dev/kvm (kvm_pvm) runs guest
 * code through its emulator and stops on SSE, x87, popcnt or cmpxchg16b:
 * name the instruction, from the bytes KVM reports if it does, else from
 * guest memory, so the message says what this host refused.
 */
static void devkvm_emulation_failed(struct vmm_vcpu *vcpu, struct vmm_exit *exit)
{
	const struct kvm_run *run = devkvm_vcpu_of(vcpu)->run;
	char where[160] = "";
	struct vmm_regs regs;
	cs_insn *insn;
	csh cs;

	devkvm_get_regs(vcpu, &regs);
	if ((run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES) &&
	    run->emulation_failure.ndata >= 3 &&
	    cs_open(CS_ARCH_X86, CS_MODE_64, &cs) == CS_ERR_OK) {
		if (cs_disasm(cs, run->emulation_failure.insn_bytes,
			      min(run->emulation_failure.insn_size, (uint8_t)15), regs.rip, 1,
			      &insn) == 1) {
			snprintf(where, sizeof(where), "rip %#lx: %.31s%s%.80s",
				 (unsigned long)regs.rip, insn->mnemonic,
				 insn->op_str[0] ? " " : "", insn->op_str);
			cs_free(insn, 1);
		}
		cs_close(&cs);
	}
	if (!where[0])
		devkvm_describe_insn(vcpu, regs.rip, where, sizeof(where));
	snprintf(exit->message, sizeof(exit->message),
		 "the host's KVM cannot run this instruction (KVM_EXIT_INTERNAL_ERROR, "
		 "emulation failure) at %s",
		 where);
}

/* An exit that ends the run: what KVM said, and where the guest was. */
static void devkvm_exit_fatal(struct vmm_vcpu *vcpu, const struct devkvm_exit *ge,
			      struct vmm_exit *exit)
{
	char where[160];

	exit->reason = VMM_EXIT_ERROR;
	devkvm_describe_rip(vcpu, where, sizeof(where));
	/*
	 * On AMD, KVM answers a shutdown by resetting the VMCB: the registers
	 * then hold the reset vector, not where the guest was.
	 */
	if (ge->reason == KVM_EXIT_SHUTDOWN && !strncmp(where, "rip 0xfff0", 10) &&
	    !isxdigit((unsigned char)where[10]))
		snprintf(where, sizeof(where),
			 "an unknown rip (KVM reset the vCPU on shutdown, as on AMD SVM)");
	switch (ge->reason) {
	case KVM_EXIT_SHUTDOWN:
		snprintf(exit->message, sizeof(exit->message),
			 "the guest crashed: triple fault (KVM_EXIT_SHUTDOWN) at %s", where);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(exit->message, sizeof(exit->message),
			 "KVM could not enter the guest (KVM_EXIT_FAIL_ENTRY, hardware reason "
			 "%#lx) at %s",
			 (unsigned long)ge->detail, where);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		if (ge->detail == KVM_INTERNAL_ERROR_EMULATION) {
			devkvm_emulation_failed(vcpu, exit);
			break;
		}
		snprintf(exit->message, sizeof(exit->message),
			 "KVM internal error (KVM_EXIT_INTERNAL_ERROR, suberror %lu) at %s",
			 (unsigned long)ge->detail, where);
		break;
	default:
		snprintf(exit->message, sizeof(exit->message),
			 "unexpected KVM exit reason %u at %s", ge->reason, where);
	}
}

static void devkvm_serve_exit(struct vmm_vcpu *vcpu, const struct devkvm_exit *ge,
			      struct vmm_exit *exit)
{
	if (ge->ret == -EINTR || ge->ret == -EAGAIN)
		return;
	if (ge->ret < 0) {
		exit->reason = VMM_EXIT_ERROR;
		snprintf(exit->message, sizeof(exit->message), "KVM_RUN failed: %s",
			 strerror(-ge->ret));
		return;
	}
	switch (ge->reason) {
	case KVM_EXIT_IO:
		devkvm_exit_pio(vcpu, ge, exit);
		break;
	case KVM_EXIT_HLT:
		exit->reason = VMM_EXIT_HLT;
		break;
	case KVM_EXIT_INTR:
		break;
	default:
		devkvm_exit_fatal(vcpu, ge, exit);
	}
}

void devkvm_complete_pio_in(struct vmm_vcpu *vcpu, uint32_t val)
{
	struct kvm_run *run = devkvm_vcpu_of(vcpu)->run;

	memcpy((uint8_t *)run + run->io.data_offset, &val, min(run->io.size, (uint8_t)4));
}

/* ---- the run ---- */

/* One trip through KVM_RUN running guest code, its exit kept. */
static void devkvm_run_guest(struct devkvm_vcpu *k)
{
	int ret;

	smp_store_mb(k->in_guest, true);
	ret = __devkvm_ioctl(k->fd, KVM_RUN, NULL) < 0 ? -errno : 0;
	/*
	 * A full barrier: a kicker that saw in_guest set had made its
	 * request before, and devkvm_flush_before_ack() looks after this.
	 */
	smp_store_mb(k->in_guest, false);
	WRITE_ONCE(k->run->immediate_exit, 0);
	devkvm_keep_exit(k, ret, &k->exit);
	k->exit_unserved = true;
}

void devkvm_run(struct vmm_vcpu *vcpu, struct vmm_exit *exit)
{
	struct devkvm_vcpu *k = devkvm_vcpu_of(vcpu);

	if (!k->thread_known) {
		k->thread = pthread_self();
		devkvm_this_run = k->run;
		smp_store_release(&k->thread_known, true);
	}
	exit->reason = VMM_EXIT_KICK;
	/* The root of the guest's CR3, as KVM's kvm_mmu_reload() before entry. */
	if (devkvm_load_mmu(vcpu, exit))
		return;
	/* Serves pending flushes; one may hand over an exit of its own to serve. */
	kvm_vcpu_enter_guest(vcpu->kvcpu);
	if (!k->flush_err[0] && !k->exit_unserved)
		devkvm_run_guest(k);
	devkvm_flush_before_ack(vcpu);
	kvm_vcpu_exit_guest(vcpu->kvcpu);
	k->exit_unserved = false;
	if (k->flush_err[0]) {
		exit->reason = VMM_EXIT_ERROR;
		snprintf(exit->message, sizeof(exit->message), "%s", k->flush_err);
		return;
	}
	devkvm_serve_exit(vcpu, &k->exit, exit);
}
