// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's paging, the vCPU's side: the CR3 it runs on, the
 * invalidations it makes of what it cached (INVLPG, a CR3 load), and the
 * two-dimensional translation of the soft vCPU (TDP), as a CPU with EPT
 * makes it:
 *
 *	gva --TLB hit--------------------------------------------> frame
 *	gva --guest_walk_addr(): CR3 -> PML4E -> PDPTE -> PDE -> PTE --> gpa --SPTE--> frame
 *	                            each guest table page: gpa --SPTE--> frame
 *
 * Every guest-physical address the walk meets, the guest's table pages
 * included, goes through the SPTE tables like any guest access: a missing
 * SPTE is a secondary fault (-EAGAIN, then kvm_vcpu_page_fault() and the
 * instruction again), never a pin (rule 2, retry instead of pin); a write
 * of an A or D bit needs a writable SPTE, which it marks dirty as any guest
 * store does.  The frame of each is checked against its stamp.
 *
 * The TLB then caches the virtual page with the frame of the data page,
 * its stamp and the rights of the whole translation.  What an entry was
 * derived from, the guest's table pages included, is covered by the
 * remote flush: an invalidation that zaps any SPTE, a table page's as
 * much as a data page's, flushes every vCPU's whole TLB before it returns
 * (rule 3, flush before return), and a vCPU walks only in guest mode, so
 * its walk either ends before that flush is acknowledged or starts after
 * it, from the SPTEs as they are then.  The guest's own changes to its
 * tables reach the TLB as the architecture says: through INVLPG and CR3
 * loads (docs/design.md, "Guest paging").
 */
#include <errno.h>

#include "base/trace.h"
#include "mmu/paging_walk.h"
#include "mmu/shadow.h"

const char *kvm_mmu_mode_name(enum kvm_mmu_mode mode)
{
	static const char *const names[] = {
		[KVM_MMU_FLAT] = "flat",
		[KVM_MMU_TDP] = "tdp",
		[KVM_MMU_SHADOW] = "shadow",
	};

	return (unsigned int)mode < ARRAY_SIZE(names) ? names[mode] : "?";
}

/* Is @gpa in a page of some memslot? */
static bool cr3_in_ram(struct kvm *kvm, gpa_t gpa)
{
	bool found;
	int idx;

	idx = srcu_read_lock(&kvm->srcu);
	found = gfn_to_memslot(kvm, gpa_to_gfn(gpa)) != NULL;
	srcu_read_unlock(&kvm->srcu, idx);
	return found;
}

/*
 * Bits 11:0 of CR3 are flags (PWT, PCD) the walk ignores; an address bit
 * at or above MAXPHYADDR is a #GP, and so, the VMM's choice, is a PML4
 * outside RAM.
 */
int kvm_vcpu_load_cr3(struct kvm_vcpu *vcpu, gpa_t cr3)
{
	if (vcpu->kvm->mmu_mode == KVM_MMU_FLAT)
		return -EOPNOTSUPP;
	if (cr3 != KVM_CR3_IDENTITY &&
	    (cr3 >> GUEST_MAXPHYADDR || !cr3_in_ram(vcpu->kvm, cr3 & PT64_BASE_ADDR_MASK)))
		return -EINVAL;
	atomic_long_inc(&vcpu->stat.cr3_loads);
	trace_instant("mmu", "guest CR3 load", cr3);
	if (vcpu->kvm->mmu_mode == KVM_MMU_SHADOW)
		kvm_mmu_new_pgd(vcpu, cr3);
	vcpu->cr3 = cr3;
	/* No global pages: a CR3 load drops every translation. */
	kvm_vcpu_flush_guest_tlb(vcpu);
	return 0;
}

/*
 * Drop the translations of the page holding @gva, of whatever size the
 * guest's leaf was, and nothing else.  That is enough because the TLB
 * holds leaf translations only, with no paging-structure cache: a miss
 * walks from CR3 through the tables as they are in memory, so an upper
 * entry the guest changed is seen by the next walk of every address under
 * it, and those still cached are the guest's to invalidate, page by page
 * or with a CR3 load, as on the processor.  The decode cache is keyed by
 * guest-physical page, so no mapping change reaches it.
 */
void kvm_vcpu_invlpg(struct kvm_vcpu *vcpu, gva_t gva)
{
	gfn_t vpn = gva >> PAGE_SHIFT;

	atomic_long_inc(&vcpu->stat.invlpgs);
	trace_instant("mmu", "guest INVLPG", gva);
	if (vcpu->kvm->mmu_mode == KVM_MMU_SHADOW && vcpu->cr3 != KVM_CR3_IDENTITY)
		kvm_mmu_invlpg(vcpu, gva);
	for (int i = 0; i < KVM_TLB_ENTRIES; i++) {
		struct kvm_tlb_entry *e = &vcpu->tlb[i];

		/* On the identity map a page's vpn is its gfn: INVLPG drops it too. */
		if (e->valid && !((e->vpn ^ vpn) >> ((e->level - 1) * PT64_LEVEL_BITS)))
			e->valid = false;
	}
	if (vcpu->ops->flush_tlb_guest)
		vcpu->ops->flush_tlb_guest(vcpu);
}

void kvm_vcpu_flush_guest_tlb(struct kvm_vcpu *vcpu)
{
	kvm_vcpu_clear_tlb(vcpu);
	if (vcpu->ops->flush_tlb_guest)
		vcpu->ops->flush_tlb_guest(vcpu);
}

/* ---- TDP: the guest's tables, read through the SPTE tables ---- */

struct tdp_walk {
	struct kvm_vcpu *vcpu;
	struct kvm_tlb_xlate *xl; /* where a secondary fault is asked for */
};

/* The host address of the guest PTE at @gpa, in a table of @level. */
static int tdp_pte(struct tdp_walk *t, gpa_t gpa, int level, bool write, uint64_t **ptep)
{
	struct kvm_spte_frame f;
	int r = kvm_vcpu_spte_frame(t->vcpu, gpa, write, &f);

	if (r == -EAGAIN) {
		t->xl->fault_gpa = gpa;
		t->xl->fault_write = write;
		t->xl->fault_level = level;
	}
	if (r)
		return r;
	*ptep = (uint64_t *)((char *)f.hva + (gpa & ~PAGE_MASK));
	return 0;
}

static int tdp_read_pte(void *ctx, gpa_t gpa, int level, uint64_t *pte)
{
	uint64_t *ptep;
	int r = tdp_pte(ctx, gpa, level, false, &ptep);

	if (!r)
		*pte = READ_ONCE(*ptep);
	return r;
}

/* The A/D update: a guest store, through a writable SPTE it marks dirty. */
static int tdp_cmpxchg_pte(void *ctx, gpa_t gpa, int level, uint64_t *old, uint64_t new)
{
	struct tdp_walk *t = ctx;
	uint64_t *ptep;
	int r = tdp_pte(t, gpa, level, true, &ptep);

	if (r)
		return r;
	if (!try_cmpxchg(ptep, old, new))
		return 0;
	if (t->vcpu->ops->guest_written)
		t->vcpu->ops->guest_written(t->vcpu, gpa);
	return 1;
}

static const struct guest_walk_ops tdp_walk_ops = {
	.read_pte = tdp_read_pte,
	.cmpxchg_pte = tdp_cmpxchg_pte,
};

/* The soft vCPU's paging: long mode with EFER.NXE. */
static void vcpu_guest_paging(const struct kvm_vcpu *vcpu, struct guest_paging *pg)
{
	pg->cr3 = vcpu->cr3;
	pg->nxe = true;
	pg->maxphyaddr = GUEST_MAXPHYADDR;
}

bool tlb_allows(const struct kvm_tlb_entry *e, gfn_t vpn, uint32_t access)
{
	return e->valid && e->paged && e->vpn == vpn &&
	       (!(access & PFERR_WRITE_MASK) || e->writable) &&
	       (!(access & PFERR_FETCH_MASK) || e->exec) &&
	       (!(access & PFERR_USER_MASK) || e->user);
}

/*
 * Writable in the TLB only once the guest's leaf is dirty, as KVM's
 * protect_clean_gpte() has it: the first write through a translation a
 * read made walks again and sets D.
 */
static void tdp_fill(struct kvm_tlb_entry *e, gfn_t vpn, const struct guest_walker *w,
		     const struct kvm_spte_frame *f)
{
	*e = (struct kvm_tlb_entry){
		.vpn = vpn,
		.gfn = gpa_to_gfn(w->gpa),
		.hva = f->hva,
		.stamp = f->stamp,
		.valid = true,
		.paged = true,
		.writable = (w->access & ACC_WRITE_MASK) &&
			    (w->ptes[w->level - 1] & PT_DIRTY_MASK) && spte_writable_dirty(f->spte),
		.exec = w->access & ACC_EXEC_MASK,
		.user = w->access & ACC_USER_MASK,
		.level = w->level,
	};
}

/*
 * The VMM's top 16 MiB are never the guest's, whatever its tables say
 * (docs/design.md, "The guest ABI"): on the kvm backend every shadow root
 * keeps the VMM's pages there, so no guest mapping may be made of them,
 * and on the soft vCPU an access there is refused the same way, a #PF
 * with P clear that names no level of the guest's tables.
 */
static int vmm_top_fault(struct guest_walker *w, gva_t gva, uint32_t access)
{
	w->fault = (struct guest_walk_fault){
		.vector = GUEST_WALK_PF,
		.error_code = access & (PFERR_WRITE_MASK | PFERR_USER_MASK | PFERR_FETCH_MASK),
		.address = gva,
		.reason = "the VMM's top 16 MiB",
	};
	return GUEST_WALK_EXCEPTION;
}

int kvm_vcpu_walk_gva(struct kvm_vcpu *vcpu, gva_t gva, uint32_t access, struct kvm_tlb_xlate *xl,
		      struct guest_walker *w, struct kvm_spte_frame *f)
{
	bool write = access & PFERR_WRITE_MASK;
	struct tdp_walk t = { .vcpu = vcpu, .xl = xl };
	struct guest_paging pg;
	int r;

	atomic_long_inc(&vcpu->stat.guest_walks);
	vcpu_guest_paging(vcpu, &pg);
	if (gva >= KVM_VMM_TOP_GVA)
		r = vmm_top_fault(w, gva, access);
	else
		r = guest_walk_addr(w, &pg, &tdp_walk_ops, &t, gva, access);
	if (r == GUEST_WALK_EXCEPTION) {
		atomic_long_inc(&vcpu->stat.guest_page_faults);
		trace_instant("mmu", "guest page fault", gva);
	}
	if (r)
		return r;
	r = kvm_vcpu_spte_frame(vcpu, w->gpa, write, f);
	if (r) {
		xl->fault_gpa = w->gpa;
		xl->fault_write = write;
		xl->fault_level = 0;
	}
	return r;
}

int kvm_vcpu_translate_gva(struct kvm_vcpu *vcpu, gva_t gva, uint32_t access,
			   struct kvm_tlb_xlate *xl, struct guest_walker *w)
{
	bool write = access & PFERR_WRITE_MASK;
	gfn_t vpn = gva >> PAGE_SHIFT;
	struct kvm_tlb_entry *e;
	struct kvm_spte_frame f;
	int r;

	if (vcpu->cr3 == KVM_CR3_IDENTITY)
		return kvm_vcpu_translate(vcpu, gva, write, xl);
	if (vcpu->kvm->mmu_mode == KVM_MMU_SHADOW)
		return kvm_shadow_translate_gva(vcpu, gva, access, xl, w);
	e = kvm_tlb_entry(vcpu, vpn);
	if (likely(tlb_allows(e, vpn, access))) {
		atomic_long_inc(&vcpu->stat.tlb_hits);
		kvm_tlb_hit(e, gfn_to_gpa(e->gfn) | (gva & ~PAGE_MASK), xl);
		return 0;
	}
	atomic_long_inc(&vcpu->stat.tlb_misses);
	r = kvm_vcpu_walk_gva(vcpu, gva, access, xl, w, &f);
	if (r)
		return r;
	tdp_fill(e, vpn, w, &f);
	kvm_tlb_hit(e, w->gpa, xl);
	return 0;
}
