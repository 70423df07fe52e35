// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's paging, the vCPU's side: the CR3 it runs on and the
 * invalidations it makes of what it cached (INVLPG, a CR3 reload).  A
 * vCPU's software TLB caches translations of guest virtual pages, so each
 * of these drops what it names from it; in FLAT mode the guest has no
 * tables, and a CR3 load is refused.
 */
#include <errno.h>

#include "mmu/kvm_host.h"

const char *kvm_mmu_mode_name(enum kvm_mmu_mode mode)
{
	static const char *const names[] = {
		[KVM_MMU_FLAT] = "flat",
		[KVM_MMU_TDP] = "tdp",
		[KVM_MMU_SHADOW] = "shadow",
	};

	return (unsigned int)mode < ARRAY_SIZE(names) ? names[mode] : "?";
}

/* Is @gpa the start of a page of some memslot? */
static bool cr3_in_ram(struct kvm *kvm, gpa_t gpa)
{
	bool found;
	int idx;

	if (gpa & (PAGE_SIZE - 1))
		return false;
	idx = srcu_read_lock(&kvm->srcu);
	found = gfn_to_memslot(kvm, gpa_to_gfn(gpa)) != NULL;
	srcu_read_unlock(&kvm->srcu, idx);
	return found;
}

int kvm_vcpu_load_cr3(struct kvm_vcpu *vcpu, gpa_t cr3)
{
	if (vcpu->kvm->mmu_mode == KVM_MMU_FLAT)
		return -EOPNOTSUPP;
	if (cr3 != KVM_CR3_IDENTITY && !cr3_in_ram(vcpu->kvm, cr3))
		return -EINVAL;
	vcpu->cr3 = cr3;
	kvm_vcpu_flush_guest_tlb(vcpu);
	return 0;
}

/* Architecturally INVLPG may drop more than the page: here, everything. */
void kvm_vcpu_invlpg(struct kvm_vcpu *vcpu, gva_t gva)
{
	(void)gva;
	kvm_vcpu_flush_guest_tlb(vcpu);
}

void kvm_vcpu_flush_guest_tlb(struct kvm_vcpu *vcpu)
{
	kvm_vcpu_clear_tlb(vcpu);
}
