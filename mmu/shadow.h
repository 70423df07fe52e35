/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The shadow MMU's insides, for the files of mmu/ (docs/design.md, "Guest
 * paging", "Shadow MMU"), after struct kvm_mmu_page and the rmap of
 * arch/x86/kvm/mmu/mmu.c.
 *
 * A shadow page is one FRAME_SECONDARY table page of 512 SPTEs that
 * shadows one guest table page: the gfn of that table and a role (its
 * level, and the rights the levels above it grant) are its key in
 * kvm->mmu_page_hash.  A guest 2 MiB or 1 GiB page is shadowed by direct
 * shadow pages of 4 KiB leaves, keyed by the large page's base gfn.  So
 * every shadow leaf is at level 1, and every leaf that maps a gfn is on
 * that gfn's rmap.  Upper shadow entries grant every right; the leaf has
 * the rights of the whole translation.
 *
 * Everything here is under kvm->mmu_lock (write), and the rmap lookups
 * inside kvm->srcu, except the vCPUs' lockless walks, which only read
 * tables and set A/D bits with a cmpxchg.  A zapped shadow page is
 * unlinked at once and its frame freed only after a remote flush (every
 * vCPU has left guest mode since, so no lockless walk is still in it):
 * kvm_mmu_commit_zap_page().
 */
#ifndef NOPIN_MMU_SHADOW_H
#define NOPIN_MMU_SHADOW_H

#include "mmu/paging_walk.h"
#include "mmu/spte.h"

union kvm_mmu_page_role {
	uint32_t word;
	struct {
		unsigned int level : 3;	 /* 4: a root ... 1: leaves */
		unsigned int direct : 1; /* a piece of a guest large page, not a guest table */
		unsigned int access : 3; /* ACC_* the guest's entries above grant */
		/* On the way to the VMM's top 16 MiB: some slots are the VMM's (sp_vmm_slot()). */
		unsigned int vmm_top : 1;
	};
};

struct kvm_mmu_page {
	struct hlist_node hash_link; /* kvm->mmu_page_hash, by gfn */
	struct list_head link;	     /* kvm->active_mmu_pages, or an invalid list */
	gfn_t gfn;		     /* the guest table shadowed; direct: the first gfn mapped */
	union kvm_mmu_page_role role;
	bool invalid;			  /* zapped; still some vCPU's root */
	int root_count;			  /* vCPUs holding it as a current or cached root */
	struct page *spt;		  /* the table; page->private points back here */
	struct kvm_rmap_head parent_ptes; /* the upper SPTEs that link it */
	/* Level 1, not direct: the gfn each leaf maps, for its rmap. */
	gfn_t gfns[SPTE_ENT_PER_PAGE];
};

static inline uint64_t *sp_sptes(const struct kvm_mmu_page *sp)
{
	return page_address(sp->spt);
}

/* The shadow page an SPTE lives in. */
static inline struct kvm_mmu_page *sptep_to_sp(struct kvm *kvm, uint64_t *sptep)
{
	return (struct kvm_mmu_page *)virt_to_page(kvm->pool, sptep)->private;
}

/* The gfn the leaf at index @i of @sp maps. */
static inline gfn_t kvm_mmu_page_get_gfn(const struct kvm_mmu_page *sp, unsigned int i)
{
	/* A vCPU reads it locklessly, after the leaf (shadow_hit()). */
	return sp->role.direct ? sp->gfn + i : READ_ONCE(sp->gfns[i]);
}

/*
 * The VMM's top 16 MiB in the shadow tables (kvm->vmm_top, the kvm
 * backend's).  A root, and a shadow page linked at slot 511 of a root or
 * of such a level-3 page (a guest table, or a direct page of a guest
 * 1 GiB page), has role.vmm_top: its slots that lead to the top, 511 at
 * levels 4 and 3, 504-511 at level 2, hold the VMM's entries from its
 * creation.  The guest may map the rest of PML4 slot 511 (a kernel at
 * 0xffffffff80000000): a shadow link then replaces the VMM's entry at
 * level 4 or 3, and the shadow page below carries it on.  The level-2
 * slots are never the guest's (the walk refuses the top 16 MiB,
 * kvm_vcpu_walk_gva()).  An emptied slot (a zap, an unlink) gets the
 * VMM's entry back instead of 0, so even a zapped root reaches the
 * VMM's stubs.
 */
static inline bool sp_vmm_slot(const struct kvm_mmu_page *sp, unsigned int i)
{
	return sp->role.vmm_top && sp->role.level > PG_LEVEL_4K &&
	       i >= PT64_INDEX(KVM_VMM_TOP_GVA, sp->role.level);
}

/* What slot @i of @sp holds when the MMU has nothing there: the VMM's entry, or 0. */
static inline uint64_t sp_empty_spte(const struct kvm *kvm, const struct kvm_mmu_page *sp,
				     unsigned int i)
{
	if (!sp_vmm_slot(sp, i))
		return 0;
	switch (sp->role.level) {
	case PT64_ROOT_4LEVEL:
		return kvm->vmm_top.pml4e;
	case PG_LEVEL_1G:
		return kvm->vmm_top.pdpte;
	default:
		return kvm->vmm_top.pde[i - PT64_INDEX(KVM_VMM_TOP_GVA, PG_LEVEL_2M)];
	}
}

/* Is @spte, in slot @i of @sp, the MMU's own: a leaf or a link, not empty nor the VMM's? */
static inline bool sp_spte_is_shadow(const struct kvm *kvm, const struct kvm_mmu_page *sp,
				     unsigned int i, uint64_t spte)
{
	return is_shadow_present_pte(spte) && spte != sp_empty_spte(kvm, sp, i);
}

/* ---- pte lists, the rmap [mmu/shadow_rmap.c] ---- */

/* KVM's pte_list_desc: 14 SPTE pointers and the next descriptor. */
#define PTE_LIST_EXT 14
struct pte_list_desc {
	struct pte_list_desc *more;
	unsigned int nr;
	uint64_t *sptes[PTE_LIST_EXT];
};

struct rmap_iterator {
	struct pte_list_desc *desc;
	unsigned int pos;
};

uint64_t *rmap_get_first(const struct kvm_rmap_head *head, struct rmap_iterator *iter);
uint64_t *rmap_get_next(struct rmap_iterator *iter);
#define for_each_rmap_spte(head, iter, sptep)                                                      \
	for (sptep = rmap_get_first(head, iter); sptep; sptep = rmap_get_next(iter))

/* Add @sptep (descriptors from @cache); remove it; count the list. */
void pte_list_add(struct kvm_mmu_obj_cache *cache, uint64_t *sptep, struct kvm_rmap_head *head);
void pte_list_remove(uint64_t *sptep, struct kvm_rmap_head *head);
unsigned int pte_list_count(const struct kvm_rmap_head *head);

/* @gfn's rmap in @slot. */
static inline struct kvm_rmap_head *gfn_to_rmap(struct kvm_memory_slot *slot, gfn_t gfn)
{
	return &slot->rmap[gfn - slot->base_gfn];
}

/* A slot's rmap and write-track arrays; 0 or -ENOMEM. */
int kvm_alloc_shadow_memslot(struct kvm_memory_slot *slot);
/* The rmap at slot index @i may be non-empty now: after a leaf joins it. */
void kvm_rmap_mark(struct kvm_memory_slot *slot, unsigned long i);
void kvm_free_shadow_memslot(struct kvm_memory_slot *slot);

/* Zap the leaf at @sptep, which maps @gfn, and take it off the rmap. */
void kvm_shadow_drop_leaf(struct kvm *kvm, uint64_t *sptep, gfn_t gfn);
/*
 * The notifier's handlers in SHADOW mode, through the rmap of each gfn of
 * [start, end) in @slot: zap every leaf (every alias), moving its dirty
 * and accessed bits to the host page; or test and clear A.  True if any
 * was present (zap: the caller flushes before it drops mmu_lock).
 */
bool kvm_shadow_zap_gfn_range(struct kvm *kvm, struct kvm_memory_slot *slot, gfn_t start,
			      gfn_t end);
bool kvm_shadow_age_gfn_range(struct kvm *kvm, struct kvm_memory_slot *slot, gfn_t start, gfn_t end,
			      bool clear);

/* Write tracking: is @gfn tracked (inside kvm->srcu, mmu_lock held)? */
bool kvm_gfn_is_write_tracked(struct kvm *kvm, struct kvm_memory_slot *slot, gfn_t gfn);
/* Must a leaf a fault installs for @gfn be read-only for tracking? */
bool kvm_gfn_write_protected(struct kvm *kvm, struct kvm_memory_slot *slot, gfn_t gfn);
/*
 * Count one more (fewer) shadow page of a guest table at @gfn.  The first
 * write-protects every leaf of @gfn, the flat one and the shadows'
 * (true: the caller flushes before anything relies on it).
 */
bool kvm_write_track_add_gfn(struct kvm *kvm, gfn_t gfn);
void kvm_write_track_remove_gfn(struct kvm *kvm, gfn_t gfn);
/* Give W back to the leaves of @gfn that tracking alone kept read-only (no longer tracked). */
void kvm_write_unprotect_gfn(struct kvm *kvm, gfn_t gfn);

/* ---- shadow pages [mmu/shadow.c] ---- */

/* Fill the vCPU's caches for one shadow fault; before mmu_lock. */
int kvm_mmu_topup_shadow_caches(struct kvm_vcpu *vcpu);
/*
 * Find or make the shadow page (@gfn, @role), from the vCPU's caches; a
 * new one of a guest table write-protects @gfn (*@flush: the caller
 * flushes).  NULL if the caches ran dry.
 */
struct kvm_mmu_page *kvm_mmu_get_page(struct kvm_vcpu *vcpu, gfn_t gfn,
				      union kvm_mmu_page_role role, bool *flush);
/* Point @sptep (in a table of @sptep_level > 1) at @child. */
void kvm_mmu_link_sp(struct kvm_vcpu *vcpu, uint64_t *sptep, struct kvm_mmu_page *child);
/* The child an upper SPTE links. */
struct kvm_mmu_page *spte_to_child_sp(struct kvm *kvm, uint64_t spte);
/*
 * Drop the upper SPTE at @sptep, which links a child; a child nothing
 * links nor counts as a root any more is zapped onto @invalid_list.
 */
void kvm_mmu_drop_link(struct kvm *kvm, uint64_t *sptep, struct list_head *invalid_list);
/* Zap @sp: its entries, its links, its hash entry.  True if it held a leaf. */
bool kvm_mmu_prepare_zap_page(struct kvm *kvm, struct kvm_mmu_page *sp,
			      struct list_head *invalid_list);
/* Free what was zapped, after a remote flush. */
void kvm_mmu_commit_zap_page(struct kvm *kvm, struct list_head *invalid_list);
void kvm_mmu_remote_flush_or_zap(struct kvm *kvm, struct list_head *invalid_list, bool flush);
/* Every shadow page (release, slot changes, VM destroy). */
bool kvm_mmu_zap_all_shadow(struct kvm *kvm, struct list_head *invalid_list);
/* The hash and list, at VM creation; every shadow page freed at destruction. */
int kvm_mmu_init_shadow(struct kvm *kvm);
void kvm_mmu_destroy_shadow(struct kvm *kvm);

/* The vCPU's current root, made now if it has none or it was zapped; NULL: caches dry. */
struct kvm_mmu_page *kvm_mmu_load_root(struct kvm_vcpu *vcpu, bool *flush);
/* SHADOW's side of a CR3 load, an INVLPG. */
void kvm_mmu_new_pgd(struct kvm_vcpu *vcpu, gpa_t cr3);
void kvm_mmu_invlpg(struct kvm_vcpu *vcpu, gva_t gva);

/* ---- the vCPU's side [mmu/shadow_fault.c] ---- */

/* [mmu/paging.c]: the guest walk through the flat SPTEs, as TDP makes it. */
/*
 * In guest mode: walk the guest's tables for @gva, every table page
 * through its flat SPTE, A/D set, then the page's own flat SPTE for the
 * access (*@f).  0; -EAGAIN with xl->fault_* (a secondary fault there
 * first); GUEST_WALK_EXCEPTION; -EFAULT.
 */
int kvm_vcpu_walk_gva(struct kvm_vcpu *vcpu, gva_t gva, uint32_t access, struct kvm_tlb_xlate *xl,
		      struct guest_walker *w, struct kvm_spte_frame *f);
bool tlb_allows(const struct kvm_tlb_entry *e, gfn_t vpn, uint32_t access);

/* SHADOW's kvm_vcpu_translate_gva(). */
int kvm_shadow_translate_gva(struct kvm_vcpu *vcpu, gva_t gva, uint32_t access,
			     struct kvm_tlb_xlate *xl, struct guest_walker *w);
/* The lockless walk of @root for @gva: the leaf's SPTE pointer, or NULL; *@level: the guest leaf's. */
uint64_t *kvm_shadow_walk_lockless(struct kvm *kvm, struct kvm_mmu_page *root, gva_t gva,
				   int *guest_level);

#endif
