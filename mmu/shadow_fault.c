// SPDX-License-Identifier: GPL-2.0
/*
 * The shadow MMU, the vCPU's side: a guest-virtual address through the
 * TLB, the shadow root of the vCPU's CR3, and on a miss the shadow page
 * fault, after FNAME(page_fault) and FNAME(fetch) in
 * arch/x86/kvm/mmu/paging_tmpl.h:
 *
 *	gva --TLB hit------------------------------------------> frame
 *	gva --lockless walk of the shadow root (4 levels)-------> leaf --> frame
 *	miss: guest_walk_addr(), each guest PTE read through the flat SPTE of
 *	      its table page (a secondary fault if it has none), A/D set;
 *	      the data page's flat SPTE, faulted in the same way;
 *	      out of guest mode, under mmu_lock: the retry check on
 *	      mmu_invalidate_seq, FNAME(gpte_changed), a shadow page per
 *	      level (found by gfn and role, or made and its gfn
 *	      write-protected), and the leaf, with the frame of the flat SPTE
 *	      and the rights of the whole translation.
 *
 * The guest's tables are read the way TDP reads them (mmu/paging.c):
 * through the flat SPTE tables in guest mode, so a table page the host
 * swapped out or migrated between two walks is faulted in again like any
 * page, and none is ever pinned (rule 2, retry instead of pin).  Under
 * mmu_lock a present flat SPTE cannot be zapped, so its frame is still
 * the page's (rule 1, invalidate before free): that is where
 * FNAME(gpte_changed) reads the entries again, and where the leaf takes
 * its frame from.
 */
#include <sched.h>

#include "base/bug.h"
#include "base/legacy.h"
#include "base/sched_point.h"
#include "base/trace.h"
#include "mmu/shadow.h"

uint64_t *kvm_shadow_walk_lockless(struct kvm *kvm, struct kvm_mmu_page *root, gva_t gva,
				   int *guest_level)
{
	struct kvm_mmu_page *sp = root;

	*guest_level = PG_LEVEL_4K;
	if (!is_canonical_gva(gva))
		return NULL;
	for (int level = PT64_ROOT_4LEVEL; level > PG_LEVEL_4K; level--) {
		unsigned int i = PT64_INDEX(gva, level);
		uint64_t spte = spte_read(&sp_sptes(sp)[i]);
		struct page *table;

		/* The VMM's entries lead to its own tables, which are no shadow pages. */
		if (!sp_spte_is_shadow(kvm, sp, i, spte))
			return NULL;
		table = kvm_mmu_spte_table(kvm, spte);
		if (!table)
			return NULL;
		sp = (struct kvm_mmu_page *)table->private;
		/* The first direct page is a piece of a guest leaf at this level. */
		if (*guest_level == PG_LEVEL_4K && sp->role.direct)
			*guest_level = level;
	}
	return &sp_sptes(sp)[PT64_INDEX(gva, PG_LEVEL_4K)];
}

uint64_t kvm_vcpu_shadow_spte(struct kvm_vcpu *vcpu, gva_t gva)
{
	struct kvm_mmu_page *root = vcpu->root.sp;
	uint64_t *sptep;
	int level;

	if (!root)
		return 0;
	sptep = kvm_shadow_walk_lockless(vcpu->kvm, root, gva, &level);
	return sptep ? spte_read(sptep) : 0;
}

/* Does the shadow leaf allow @access?  A write to a write-tracked gfn does: it is emulated. */
static bool shadow_leaf_allows(uint64_t spte, uint32_t access)
{
	return is_shadow_present_pte(spte) &&
	       (!(access & PFERR_WRITE_MASK) || spte_mmu_writable(spte)) &&
	       (!(access & PFERR_USER_MASK) || (spte & PT_USER_MASK)) &&
	       (!(access & PFERR_FETCH_MASK) || !(spte & PT64_NX_MASK));
}

/*
 * The translation through the leaf at @sptep, in guest mode: A (and D)
 * set in it, the frame checked, the TLB filled.  -EAGAIN if it went
 * meanwhile.
 */
static int shadow_hit(struct kvm_vcpu *vcpu, gva_t gva, uint64_t *sptep, int guest_level,
		      bool write, struct kvm_tlb_xlate *xl)
{
	struct kvm_mmu_page *sp = sptep_to_sp(vcpu->kvm, sptep);
	gfn_t gfn = kvm_mmu_page_get_gfn(sp, sptep - sp_sptes(sp));
	gpa_t gpa = gfn_to_gpa(gfn) | (gva & ~PAGE_MASK);
	gfn_t vpn = gva >> PAGE_SHIFT;
	struct kvm_tlb_entry *e = kvm_tlb_entry(vcpu, vpn);
	struct kvm_spte_frame f;
	int r = kvm_vcpu_sptep_frame(vcpu, sptep, gpa, write, &f);

	if (r)
		return r;
	/* Re-made for another gfn between the two reads: look again. */
	if (unlikely(kvm_mmu_page_get_gfn(sp, sptep - sp_sptes(sp)) != gfn))
		return -EAGAIN;
	*e = (struct kvm_tlb_entry){
		.vpn = vpn,
		.gfn = gfn,
		.hva = f.hva,
		.stamp = f.stamp,
		.valid = true,
		.paged = true,
		.writable = spte_writable_dirty(f.spte),
		.exec = !(f.spte & PT64_NX_MASK),
		.user = f.spte & PT_USER_MASK,
		.level = guest_level,
	};
	kvm_tlb_hit(e, gpa, xl);
	/* The guest's own page table: written in place, then kvm_vcpu_track_write(). */
	xl->track_write = f.tracked;
	return 0;
}

/*
 * FNAME(gpte_changed): is the guest entry at @level still what the walk
 * read?  Read under mmu_lock through its table page's flat SPTE, which
 * no invalidation can zap meanwhile; no SPTE, or a frame that is not the
 * one the SPTE was made from, counts as changed (walk again).
 */
static bool gpte_changed(struct kvm_vcpu *vcpu, const struct guest_walker *w, int level)
{
	struct kvm *kvm = vcpu->kvm;
	gpa_t gpa = w->pte_gpa[level - 1];
	uint64_t *sptep = kvm_mmu_walk_lockless(kvm, gpa_to_gfn(gpa));
	struct frame_access acc = { .addr = gpa, .size = 8, .who = "shadow fault" };
	struct frame_stamp stamp;
	uint64_t spte;

	lockdep_assert_held_write(&kvm->mmu_lock);
	spte = sptep ? spte_read(sptep) : 0;
	if (!is_shadow_present_pte(spte))
		return true;
	stamp = spte_frame_stamp(kvm, spte);
	if (!frame_check_stamp(kvm->pool, &stamp, &acc))
		return true;
	return READ_ONCE(*(uint64_t *)((char *)page_address(pfn_to_page(kvm->pool, stamp.pfn)) +
				       (gpa & ~PAGE_MASK))) != w->ptes[level - 1];
}

/*
 * The key of the shadow page under the entry of @sp for the walk @w of
 * @gva.  The one under a slot of the VMM's, on the way to its top 16 MiB,
 * carries the VMM's entries on (role.vmm_top).
 */
static void child_key(const struct kvm_mmu_page *sp, gva_t gva, const struct guest_walker *w,
		      gfn_t *gfn, union kvm_mmu_page_role *role)
{
	int level = sp->role.level;

	*role = (union kvm_mmu_page_role){ .level = level - 1 };
	role->vmm_top = level > PG_LEVEL_2M && sp_vmm_slot(sp, PT64_INDEX(gva, level));
	if (level > w->level) {
		/* A guest table: the one the guest's entry at this level names. */
		*gfn = gpa_to_gfn(w->ptes[level - 1] & PT64_BASE_ADDR_MASK);
		role->access =
			sp->role.access & (w->ptes[level - 1] & (ACC_WRITE_MASK | ACC_USER_MASK));
		if (!(w->ptes[level - 1] & PT64_NX_MASK))
			role->access |= sp->role.access & ACC_EXEC_MASK;
		return;
	}
	/* Inside a guest large page: 4 KiB pieces of it, keyed by the first gfn they map. */
	role->direct = 1;
	role->access = w->access;
	*gfn = gpa_to_gfn(w->gpa) & ~(spte_level_pages(level) - 1);
}

/*
 * The leaf: the flat SPTE's frame, the rights of the whole translation.
 * True if it replaced a leaf of another frame, which a vCPU's TLB may
 * hold and no rmap will find any more: the caller flushes.
 */
static bool shadow_set_leaf(struct kvm_vcpu *vcpu, struct kvm_mmu_page *sp, unsigned int i,
			    const struct guest_walker *w, struct kvm_memory_slot *slot,
			    uint64_t flat)
{
	struct kvm *kvm = vcpu->kvm;
	uint64_t *sptep = &sp_sptes(sp)[i];
	gfn_t gfn = gpa_to_gfn(w->gpa);
	/* As protect_clean_gpte(): writable once the guest's leaf is dirty. */
	bool writable = (w->access & ACC_WRITE_MASK) && (w->ptes[w->level - 1] & PT_DIRTY_MASK) &&
			spte_mmu_writable(flat);
	uint64_t spte = (flat & (SPTE_BASE_ADDR_MASK | (SPTE_GEN_MASK << SPTE_GEN_SHIFT))) |
			PT_PRESENT_MASK | PT_ACCESSED_MASK;

	if (w->access & ACC_USER_MASK)
		spte |= PT_USER_MASK;
	if (!(w->access & ACC_EXEC_MASK))
		spte |= PT64_NX_MASK;
	if (writable)
		spte |= kvm_gfn_write_protected(kvm, slot, gfn) ? SPTE_MMU_WRITABLE :
								  PT_WRITABLE_MASK;
	uint64_t old = spte_read(sptep);

	if (is_shadow_present_pte(old))
		kvm_shadow_drop_leaf(kvm, sptep, kvm_mmu_page_get_gfn(sp, i));
	if (!sp->role.direct)
		WRITE_ONCE(sp->gfns[i], gfn);
	pte_list_add(&vcpu->mmu_pte_list_desc_cache, sptep, gfn_to_rmap(slot, gfn));
	kvm_rmap_mark(slot, gfn - slot->base_gfn);
	/* Release: the gfn is seen before the leaf (shadow_hit() reads it locklessly). */
	smp_store_release(sptep, spte);
	atomic_long_inc(&vcpu->stat.shadow_faults);
	return is_shadow_present_pte(old) && spte_to_pfn(old) != spte_to_pfn(spte);
}

/*
 * FNAME(fetch), under mmu_lock: a shadow page for each level of the walk,
 * linked, then the leaf.  -EAGAIN when the walk is stale: an invalidation
 * of the page since @mmu_seq (rule 2, retry instead of pin), its flat
 * SPTE gone, or a guest entry changed before its table was write-tracked.
 */
static int shadow_fetch(struct kvm_vcpu *vcpu, gva_t gva, const struct guest_walker *w,
			unsigned long mmu_seq)
{
	struct kvm *kvm = vcpu->kvm;
	gfn_t gfn = gpa_to_gfn(w->gpa);
	struct kvm_memory_slot *slot = gfn_to_memslot(kvm, gfn);
	uint64_t *flatp = kvm_mmu_walk_lockless(kvm, gfn);
	uint64_t flat = flatp ? spte_read(flatp) : 0;
	struct kvm_mmu_page *sp;
	bool flush = false;
	int level;

	if (!slot || !slot->rmap || (slot->flags & KVM_MEMSLOT_INVALID))
		return -EAGAIN;
	if (!legacy_on(kvm->legacy, LEGACY_NO_INVALIDATE_RETRY) &&
	    mmu_invalidate_retry_gfn(kvm, mmu_seq, gfn))
		return -EAGAIN;
	if (!is_shadow_present_pte(flat))
		return -EAGAIN;
	sp = kvm_mmu_load_root(vcpu, &flush);
	if (!sp)
		return -ENOMEM;
	for (level = PT64_ROOT_4LEVEL;; level--) {
		uint64_t *sptep = &sp_sptes(sp)[PT64_INDEX(gva, level)];
		union kvm_mmu_page_role role;
		struct kvm_mmu_page *child;
		gfn_t child_gfn;

		/*
		 * Write-protected first, flushed, then compared: a vCPU that
		 * wrote the entry through a writable translation has done so
		 * by now, and any later write is emulated and waits for
		 * mmu_lock.
		 */
		if (flush) {
			kvm_flush_remote_tlbs(kvm);
			flush = false;
		}
		if (!sp->role.direct && gpte_changed(vcpu, w, level))
			return -EAGAIN;
		if (level == PG_LEVEL_4K) {
			if (shadow_set_leaf(vcpu, sp, PT64_INDEX(gva, level), w, slot, flat))
				kvm_flush_remote_tlbs(kvm);
			return 0;
		}
		if (sp_spte_is_shadow(kvm, sp, PT64_INDEX(gva, level), spte_read(sptep))) {
			sp = spte_to_child_sp(kvm, spte_read(sptep));
			continue;
		}
		/* Empty, or the VMM's entry, which the link replaces (child_key()). */
		child_key(sp, gva, w, &child_gfn, &role);
		child = kvm_mmu_get_page(vcpu, child_gfn, role, &flush);
		if (!child)
			return -ENOMEM;
		kvm_mmu_link_sp(vcpu, sptep, child);
		sp = child;
	}
}

/* Out of guest mode, with the caches filled: the locked half of the fault. */
static int shadow_page_fault_locked(struct kvm_vcpu *vcpu, gva_t gva, const struct guest_walker *w,
				    unsigned long mmu_seq)
{
	struct kvm *kvm = vcpu->kvm;
	int r, idx;

	r = kvm_mmu_topup_shadow_caches(vcpu);
	if (r)
		return r;
	trace_begin("mmu", "shadow fault");
	idx = srcu_read_lock(&kvm->srcu);
	write_lock(&kvm->mmu_lock);
	r = shadow_fetch(vcpu, gva, w, mmu_seq);
	write_unlock(&kvm->mmu_lock);
	srcu_read_unlock(&kvm->srcu, idx);
	trace_end("mmu", "shadow fault");
	return r;
}

/*
 * The shadow page fault of a miss: 0 when a leaf was installed (look
 * again), -EAGAIN with xl->fault_* when a GPA needs a secondary fault
 * first, GUEST_WALK_EXCEPTION, or an error.
 */
static int shadow_page_fault(struct kvm_vcpu *vcpu, gva_t gva, uint32_t access,
			     struct kvm_tlb_xlate *xl, struct guest_walker *w)
{
	struct kvm *kvm = vcpu->kvm;
	struct kvm_spte_frame f;
	unsigned long mmu_seq;
	bool in_guest;
	int r;

	/* Before the walk reads anything (rule 2, retry instead of pin). */
	mmu_seq = READ_ONCE(kvm->mmu_invalidate_seq);
	smp_rmb();
	r = kvm_vcpu_walk_gva(vcpu, gva, access, xl, w, &f);
	if (r)
		return r;
	/* mmu_lock is no lock for guest mode: a flush under it waits for us. */
	in_guest = READ_ONCE(vcpu->mode) != OUTSIDE_GUEST_MODE;
	if (in_guest)
		kvm_vcpu_exit_guest(vcpu);
	/* A test stops here to change a guest entry between the walk and the install. */
	sched_point("kvm:shadow_fault_after_walk");
	r = shadow_page_fault_locked(vcpu, gva, w, mmu_seq);
	if (r == -EAGAIN)
		sched_yield();
	if (in_guest)
		kvm_vcpu_enter_guest(vcpu);
	return r == -EAGAIN ? 0 : r;
}

int kvm_shadow_translate_gva(struct kvm_vcpu *vcpu, gva_t gva, uint32_t access,
			     struct kvm_tlb_xlate *xl, struct guest_walker *w)
{
	bool write = access & PFERR_WRITE_MASK;
	gfn_t vpn = gva >> PAGE_SHIFT;
	struct kvm_tlb_entry *e = kvm_tlb_entry(vcpu, vpn);
	int r;

	if (likely(tlb_allows(e, vpn, access))) {
		atomic_long_inc(&vcpu->stat.tlb_hits);
		kvm_tlb_hit(e, gfn_to_gpa(e->gfn) | (gva & ~PAGE_MASK), xl);
		return 0;
	}
	atomic_long_inc(&vcpu->stat.tlb_misses);
	for (;;) {
		struct kvm_mmu_page *root = vcpu->root.sp;
		uint64_t *sptep = NULL;
		int level;

		if (root)
			sptep = kvm_shadow_walk_lockless(vcpu->kvm, root, gva, &level);
		if (sptep && shadow_leaf_allows(spte_read(sptep), access)) {
			r = shadow_hit(vcpu, gva, sptep, level, write, xl);
			if (r != -EAGAIN)
				return r;
		}
		r = shadow_page_fault(vcpu, gva, access, xl, w);
		if (r)
			return r;
	}
}
