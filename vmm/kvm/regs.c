// SPDX-License-Identifier: GPL-2.0
/*
 * A vCPU's state as the rest of the backend reads it: its registers in
 * the VMM's order, and where the guest is, as an error message quotes it
 * (the instruction at rip, disassembled from guest RAM).
 */
#include <stdio.h>
#include <string.h>

#include <capstone/capstone.h>

#include "vmm/kvm/internal.h"

/* kvm_regs has its own order. */
void devkvm_get_regs(struct vmm_vcpu *vcpu, struct vmm_regs *regs)
{
	struct devkvm_vcpu *k = devkvm_vcpu_of(vcpu);
	struct kvm_regs r;
	struct devkvm_err err;

	if (devkvm_ioctl(k->fd, KVM_GET_REGS, &r, &err))
		memset(&r, 0, sizeof(r));
	regs->gpr[VMM_RAX] = r.rax;
	regs->gpr[VMM_RBX] = r.rbx;
	regs->gpr[VMM_RCX] = r.rcx;
	regs->gpr[VMM_RDX] = r.rdx;
	regs->gpr[VMM_RSI] = r.rsi;
	regs->gpr[VMM_RDI] = r.rdi;
	regs->gpr[VMM_RSP] = r.rsp;
	regs->gpr[VMM_RBP] = r.rbp;
	memcpy(&regs->gpr[VMM_R8], &r.r8, 8 * sizeof(uint64_t));
	regs->rip = r.rip;
	regs->rflags = r.rflags;
}

void devkvm_set_regs(struct vmm_vcpu *vcpu, const struct vmm_regs *regs)
{
	struct devkvm_vcpu *k = devkvm_vcpu_of(vcpu);
	struct kvm_regs r = {
		.rax = regs->gpr[VMM_RAX],
		.rbx = regs->gpr[VMM_RBX],
		.rcx = regs->gpr[VMM_RCX],
		.rdx = regs->gpr[VMM_RDX],
		.rsi = regs->gpr[VMM_RSI],
		.rdi = regs->gpr[VMM_RDI],
		.rsp = regs->gpr[VMM_RSP],
		.rbp = regs->gpr[VMM_RBP],
		.rip = regs->rip,
		.rflags = regs->rflags | 0x2,
	};
	struct devkvm_err err;

	memcpy(&r.r8, &regs->gpr[VMM_R8], 8 * sizeof(uint64_t));
	devkvm_ioctl(k->fd, KVM_SET_REGS, &r, &err);
}

void devkvm_describe_insn(struct vmm_vcpu *vcpu, uint64_t rip, char *buf, size_t len)
{
	uint8_t bytes[15];
	cs_insn *insn;
	csh cs;

	if (rip >= DEVKVM_TOP_VA) {
		snprintf(buf, len, "rip %#lx (in the VMM's stubs)", (unsigned long)rip);
		return;
	}
	snprintf(buf, len, "rip %#lx", (unsigned long)rip);
	if (vmm_read_guest(vcpu->vm, rip, bytes, sizeof(bytes)) ||
	    cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK)
		return;
	if (cs_disasm(cs, bytes, sizeof(bytes), rip, 1, &insn) == 1) {
		/* Bounded, so a message quoting it stays one readable line. */
		snprintf(buf, len, "rip %#lx: %.31s%s%.80s", (unsigned long)rip, insn->mnemonic,
			 insn->op_str[0] ? " " : "", insn->op_str);
		cs_free(insn, 1);
	}
	cs_close(&cs);
}

void devkvm_describe_rip(struct vmm_vcpu *vcpu, char *buf, size_t len)
{
	struct kvm_regs r;
	struct devkvm_err err;

	if (devkvm_ioctl(devkvm_vcpu_of(vcpu)->fd, KVM_GET_REGS, &r, &err))
		snprintf(buf, len, "rip unknown (%.100s)", err.msg);
	else
		devkvm_describe_insn(vcpu, r.rip, buf, len);
}
