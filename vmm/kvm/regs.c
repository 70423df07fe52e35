// SPDX-License-Identifier: GPL-2.0
/*
 * A vCPU's state as the rest of the backend reads it: its registers in
 * the VMM's order, the CR3 the hardware walks, and where the guest is, as
 * an error message quotes it (the instruction at rip, disassembled from
 * guest RAM, found through the guest's own tables when it has some).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <capstone/capstone.h>

#include "mmu/paging_walk.h"
#include "vmm/kvm/internal.h"

/*
 * The root the vCPU counts now: the flat root on the identity CR3, else
 * its shadow root, zapped or not, which the MMU frees only once the vCPU
 * lets it go, and the vCPU lets it go only through the MMU, on its own
 * thread, before the next KVM_RUN syncs the hardware.  A vCPU that loaded
 * a CR3 and has no root for it yet gets the flat root: only the flush
 * stub runs then, on the VMM's pages every root maps, since
 * devkvm_load_mmu() makes the root before guest code runs.
 */
static uint64_t devkvm_counted_root(struct vmm_vcpu *vcpu)
{
	struct kvm_vcpu *kv = vcpu->kvcpu;
	hpa_t root = kv->cr3 == KVM_CR3_IDENTITY ? 0 : kvm_mmu_root_hpa(kv);

	return root ? root : (uint64_t)page_to_pfn(vcpu->vm->kvm->root) << PAGE_SHIFT;
}

int devkvm_sync_cr3(struct vmm_vcpu *vcpu)
{
	struct devkvm_vcpu *k = devkvm_vcpu_of(vcpu);
	uint64_t root = devkvm_counted_root(vcpu);
	struct kvm_sregs sregs;
	struct devkvm_err err;
	int ret;

	if (root == k->hw_cr3)
		return 0;
	ret = devkvm_ioctl(k->fd, KVM_GET_SREGS, &sregs, &err);
	if (ret)
		return ret;
	sregs.cr3 = root;
	ret = devkvm_ioctl(k->fd, KVM_SET_SREGS, &sregs, &err);
	if (ret)
		return ret;
	k->hw_cr3 = root;
	return 1;
}

struct kvm_segment devkvm_segment(uint16_t selector)
{
	bool code = selector == DEVKVM_SEL_CODE || selector == DEVKVM_SEL_USER_CODE;

	return (struct kvm_segment){ .limit = 0xffffffff,
				     .selector = selector,
				     .type = code ? 11 :
						    3, /* execute/read or read/write, accessed */
				     .present = 1,
				     .dpl = selector & 3,
				     .s = 1,
				     .l = code,
				     .db = !code,
				     .g = 1 };
}

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

/* A message's look at the guest's tables, through the host mm: the A/D bits stay as they are. */
static int devkvm_peek_pte(void *ctx, gpa_t gpa, int level, uint64_t *pte)
{
	return vmm_read_guest(ctx, gpa, pte, sizeof(*pte));
}

static int devkvm_peek_cmpxchg(void *ctx, gpa_t gpa, int level, uint64_t *old, uint64_t new)
{
	return 1;
}

static const struct guest_walk_ops devkvm_peek_ops = {
	.read_pte = devkvm_peek_pte,
	.cmpxchg_pte = devkvm_peek_cmpxchg,
};

/*
 * Read up to @len bytes of the instruction at guest-virtual @rip: through
 * the guest's own tables if it has some, up to the end of its page.  How
 * many, or 0.
 */
static size_t devkvm_read_insn(struct vmm_vcpu *vcpu, uint64_t rip, uint8_t *bytes, size_t len)
{
	struct guest_paging pg = { .cr3 = vcpu->kvcpu->cr3,
				   .nxe = true,
				   .maxphyaddr = GUEST_MAXPHYADDR };
	size_t n = len;
	uint64_t gpa = rip;
	struct guest_walker w;

	if (pg.cr3 != KVM_CR3_IDENTITY) {
		n = min(len, (size_t)(PAGE_SIZE - (rip & (PAGE_SIZE - 1))));
		if (guest_walk_addr(&w, &pg, &devkvm_peek_ops, vcpu->vm, rip, PFERR_FETCH_MASK))
			return 0;
		gpa = w.gpa;
	}
	if (vmm_read_guest(vcpu->vm, gpa, bytes, n))
		return 0;
	return n;
}

void devkvm_describe_insn(struct vmm_vcpu *vcpu, uint64_t rip, char *buf, size_t len)
{
	uint8_t bytes[15];
	cs_insn *insn;
	size_t n;
	csh cs;

	if (rip >= DEVKVM_TOP_VA) {
		snprintf(buf, len, "rip %#lx (in the VMM's stubs)", (unsigned long)rip);
		return;
	}
	snprintf(buf, len, "rip %#lx", (unsigned long)rip);
	n = devkvm_read_insn(vcpu, rip, bytes, sizeof(bytes));
	if (!n || cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK)
		return;
	if (cs_disasm(cs, bytes, n, rip, 1, &insn) == 1) {
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
