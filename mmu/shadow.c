// SPDX-License-Identifier: GPL-2.0
/*
 * Shadow pages, roots and the guest's page-table writes, after
 * kvm_mmu_get_page()/kvm_mmu_get_child_sp(), kvm_mmu_prepare_zap_page()/
 * kvm_mmu_commit_zap_page(), the roots and prev_roots, FNAME(invlpg) and
 * kvm_mmu_pte_write() of arch/x86/kvm/mmu/ (mmu/shadow.h has the
 * structures, docs/design.md "Shadow MMU" the story).
 *
 * Lifetime.  A shadow page lives while an upper SPTE links it or a vCPU
 * counts it as a root (current or cached).  When the last of those goes,
 * or the page is zapped for another reason, it is unlinked at once under
 * mmu_lock and put on an invalid list; its frame is freed only after
 * kvm_flush_remote_tlbs() has seen every vCPU out of guest mode, which is
 * where the lockless walks happen (the same guarantee as the flat SPTE
 * tables, which are kept until the VM dies: no walker steps into a freed
 * table).  A zapped root that a vCPU still counts stays until the vCPU
 * drops it; its entries are gone, so a walk through it finds nothing.
 */
#include <stdlib.h>

#include "base/bug.h"
#include "base/trace.h"
#include "mmu/shadow.h"

static struct hlist_head *sp_bucket(struct kvm *kvm, gfn_t gfn)
{
	return &kvm->mmu_page_hash[(gfn * 0x9e3779b97f4a7c15ULL) >> (64 - KVM_MMU_HASH_SHIFT)];
}

int kvm_mmu_init_shadow(struct kvm *kvm)
{
	INIT_LIST_HEAD(&kvm->active_mmu_pages);
	kvm->mmu_page_hash = calloc(KVM_NUM_MMU_PAGES, sizeof(*kvm->mmu_page_hash));
	return kvm->mmu_page_hash ? 0 : -ENOMEM;
}

static void kvm_mmu_free_sp(struct kvm *kvm, struct kvm_mmu_page *sp)
{
	sp->spt->private = 0;
	free_frame(sp->spt);
	free(sp);
	atomic_long_inc(&kvm->stat.shadow_pages_freed);
}

/* After kvm_mmu_zap_all() and the vCPUs' kvm_mmu_unload(): nothing is left but the empty hash. */
void kvm_mmu_destroy_shadow(struct kvm *kvm)
{
	WARN_ON(!list_empty(&kvm->active_mmu_pages));
	free(kvm->mmu_page_hash);
	kvm->mmu_page_hash = NULL;
}

static int topup_obj_cache(struct kvm_mmu_obj_cache *cache, size_t size, int min)
{
	while (cache->nobjs < min) {
		void *obj = calloc(1, size);

		if (!obj)
			return -ENOMEM;
		cache->objects[cache->nobjs++] = obj;
	}
	return 0;
}

/*
 * One shadow fault makes at most a root and three pages below it, and
 * adds a leaf and four links to pte lists.
 */
int kvm_mmu_topup_shadow_caches(struct kvm_vcpu *vcpu)
{
	struct kvm_mmu_memory_cache *mc = &vcpu->mmu_page_cache;
	int r;

	might_sleep();
	r = kvm_mmu_topup_memory_cache(vcpu->kvm, mc);
	if (!r && mc->nobjs < PT64_ROOT_4LEVEL)
		r = -ENOMEM;
	if (!r)
		r = topup_obj_cache(&vcpu->mmu_shadow_page_cache, sizeof(struct kvm_mmu_page),
				    PT64_ROOT_4LEVEL);
	if (!r)
		r = topup_obj_cache(&vcpu->mmu_pte_list_desc_cache, sizeof(struct pte_list_desc),
				    PT64_ROOT_4LEVEL + 1);
	return r;
}

static void free_obj_cache(struct kvm_mmu_obj_cache *cache)
{
	while (cache->nobjs)
		free(cache->objects[--cache->nobjs]);
}

static struct kvm_mmu_page *kvm_mmu_alloc_page(struct kvm_vcpu *vcpu, gfn_t gfn,
					       union kvm_mmu_page_role role)
{
	struct kvm_mmu_memory_cache *mc = &vcpu->mmu_page_cache;
	struct kvm_mmu_obj_cache *spc = &vcpu->mmu_shadow_page_cache;
	struct kvm *kvm = vcpu->kvm;
	struct kvm_mmu_page *sp;

	if (WARN_ON_ONCE(!mc->nobjs || !spc->nobjs))
		return NULL;
	sp = spc->objects[--spc->nobjs];
	*sp = (struct kvm_mmu_page){ .gfn = gfn, .role = role };
	sp->spt = mc->objects[--mc->nobjs];
	sp->spt->private = (unsigned long)sp;
	/* The frame is zeroed; the VMM's entries go in before anything links it. */
	for (unsigned int i = 0; role.vmm_top && i < SPTE_ENT_PER_PAGE; i++)
		sp_sptes(sp)[i] = sp_empty_spte(kvm, sp, i);
	hlist_add_head(&sp->hash_link, sp_bucket(kvm, gfn));
	list_add(&sp->link, &kvm->active_mmu_pages);
	atomic_long_inc(&kvm->stat.shadow_pages);
	return sp;
}

struct kvm_mmu_page *kvm_mmu_get_page(struct kvm_vcpu *vcpu, gfn_t gfn,
				      union kvm_mmu_page_role role, bool *flush)
{
	struct kvm *kvm = vcpu->kvm;
	struct kvm_mmu_page *sp;

	lockdep_assert_held_write(&kvm->mmu_lock);
	hlist_for_each_entry(sp, sp_bucket(kvm, gfn), hash_link)
		if (sp->gfn == gfn && sp->role.word == role.word && !sp->invalid)
			return sp;
	sp = kvm_mmu_alloc_page(vcpu, gfn, role);
	if (sp && !role.direct)
		*flush |= kvm_write_track_add_gfn(kvm, gfn);
	return sp;
}

struct kvm_mmu_page *spte_to_child_sp(struct kvm *kvm, uint64_t spte)
{
	return (struct kvm_mmu_page *)pfn_to_page(kvm->pool, spte_to_pfn(spte))->private;
}

void kvm_mmu_link_sp(struct kvm_vcpu *vcpu, uint64_t *sptep, struct kvm_mmu_page *child)
{
	uint64_t spte = ((uint64_t)page_to_pfn(child->spt) << PAGE_SHIFT) | SPTE_TABLE_BITS;

	pte_list_add(&vcpu->mmu_pte_list_desc_cache, sptep, &child->parent_ptes);
	/* Release: the child's entries are seen before the link to it. */
	smp_store_release(sptep, spte);
}

static bool sp_unused(const struct kvm_mmu_page *sp)
{
	return !sp->parent_ptes.val && !sp->root_count;
}

/*
 * Empty slot @i of @parent, an upper SPTE: the VMM's entry back in its
 * slot, or 0.  The old value.
 */
static uint64_t sp_clear_link(struct kvm *kvm, struct kvm_mmu_page *parent, unsigned int i)
{
	return xchg_acq_rel(&sp_sptes(parent)[i], sp_empty_spte(kvm, parent, i));
}

void kvm_mmu_drop_link(struct kvm *kvm, uint64_t *sptep, struct list_head *invalid_list)
{
	struct kvm_mmu_page *parent = sptep_to_sp(kvm, sptep);
	unsigned int i = sptep - sp_sptes(parent);
	uint64_t spte = sp_clear_link(kvm, parent, i);
	struct kvm_mmu_page *child;

	if (!sp_spte_is_shadow(kvm, parent, i, spte))
		return;
	child = spte_to_child_sp(kvm, spte);
	pte_list_remove(sptep, &child->parent_ptes);
	if (sp_unused(child))
		kvm_mmu_prepare_zap_page(kvm, child, invalid_list);
}

/* Every entry of @sp: leaves off their rmaps, children unlinked. */
static bool kvm_mmu_page_unlink_children(struct kvm *kvm, struct kvm_mmu_page *sp,
					 struct list_head *invalid_list)
{
	uint64_t *sptes = sp_sptes(sp);
	bool leaf = false;

	for (unsigned int i = 0; i < SPTE_ENT_PER_PAGE; i++) {
		if (!sp_spte_is_shadow(kvm, sp, i, spte_read(&sptes[i])))
			continue;
		if (sp->role.level == PG_LEVEL_4K) {
			kvm_shadow_drop_leaf(kvm, &sptes[i], kvm_mmu_page_get_gfn(sp, i));
			leaf = true;
		} else {
			kvm_mmu_drop_link(kvm, &sptes[i], invalid_list);
		}
	}
	return leaf;
}

static void kvm_mmu_unlink_parents(struct kvm *kvm, struct kvm_mmu_page *sp)
{
	struct rmap_iterator iter;
	uint64_t *sptep;

	while ((sptep = rmap_get_first(&sp->parent_ptes, &iter))) {
		struct kvm_mmu_page *parent = sptep_to_sp(kvm, sptep);

		sp_clear_link(kvm, parent, sptep - sp_sptes(parent));
		pte_list_remove(sptep, &sp->parent_ptes);
	}
}

bool kvm_mmu_prepare_zap_page(struct kvm *kvm, struct kvm_mmu_page *sp,
			      struct list_head *invalid_list)
{
	bool flush;

	lockdep_assert_held_write(&kvm->mmu_lock);
	if (sp->invalid)
		return false;
	sp->invalid = true;
	atomic_long_inc(&kvm->stat.shadow_pages_zapped);
	hlist_del(&sp->hash_link);
	if (!sp->role.direct)
		kvm_write_track_remove_gfn(kvm, sp->gfn);
	flush = kvm_mmu_page_unlink_children(kvm, sp, invalid_list);
	kvm_mmu_unlink_parents(kvm, sp);
	/* A root some vCPU counts stays, empty, until it lets go (kvm_mmu_put_root()). */
	if (!sp->root_count)
		list_move(&sp->link, invalid_list);
	return flush || !list_empty(invalid_list);
}

void kvm_mmu_commit_zap_page(struct kvm *kvm, struct list_head *invalid_list)
{
	struct kvm_mmu_page *sp, *tmp;

	lockdep_assert_held_write(&kvm->mmu_lock);
	if (list_empty(invalid_list))
		return;
	/* Every vCPU leaves guest mode, and so any lockless walk, before a frame goes. */
	kvm_flush_remote_tlbs(kvm);
	list_for_each_entry_safe(sp, tmp, invalid_list, link) {
		list_del(&sp->link);
		atomic_long_dec(&kvm->stat.shadow_pages);
		kvm_mmu_free_sp(kvm, sp);
	}
}

void kvm_mmu_remote_flush_or_zap(struct kvm *kvm, struct list_head *invalid_list, bool flush)
{
	/*
	 * Nothing zapped here, but someone's flush may still be under way
	 * outside mmu_lock: what we found gone may still be in a TLB.
	 */
	if (!list_empty(invalid_list))
		kvm_mmu_commit_zap_page(kvm, invalid_list);
	else if (flush || kvm_tlb_flush_pending(kvm))
		kvm_flush_remote_tlbs(kvm);
}

bool kvm_mmu_zap_all_shadow(struct kvm *kvm, struct list_head *invalid_list)
{
	struct kvm_mmu_page *sp, *tmp;
	bool flush = false;

	lockdep_assert_held_write(&kvm->mmu_lock);
	/* Roots first would do as well; a zap may move pages further on the list, so restart. */
restart:
	list_for_each_entry_safe(sp, tmp, &kvm->active_mmu_pages, link) {
		if (sp->invalid)
			continue;
		flush |= kvm_mmu_prepare_zap_page(kvm, sp, invalid_list);
		goto restart;
	}
	return flush;
}

/* ---- roots ---- */

/* Every root maps the VMM's top 16 MiB where the backend has one. */
static union kvm_mmu_page_role root_role(struct kvm *kvm)
{
	return (union kvm_mmu_page_role){ .level = PT64_ROOT_4LEVEL,
					  .access = ACC_ALL,
					  .vmm_top = !!kvm->vmm_top.pml4e };
}

static void kvm_mmu_put_root(struct kvm *kvm, struct kvm_mmu_root_info *root,
			     struct list_head *invalid_list)
{
	struct kvm_mmu_page *sp = root->sp;

	root->sp = NULL;
	root->pgd = INVALID_GPA;
	if (!sp)
		return;
	lockdep_assert_held_write(&kvm->mmu_lock);
	if (--sp->root_count || sp->parent_ptes.val)
		return;
	if (sp->invalid)
		list_move(&sp->link, invalid_list);
	else
		kvm_mmu_prepare_zap_page(kvm, sp, invalid_list);
}

struct kvm_mmu_page *kvm_mmu_load_root(struct kvm_vcpu *vcpu, bool *flush)
{
	struct kvm *kvm = vcpu->kvm;
	struct kvm_mmu_root_info *root = &vcpu->root;
	gpa_t pgd = vcpu->cr3 & PT64_BASE_ADDR_MASK;
	LIST_HEAD(invalid_list);
	struct kvm_mmu_page *sp;

	lockdep_assert_held_write(&kvm->mmu_lock);
	if (root->sp && !root->sp->invalid && root->pgd == pgd)
		return root->sp;
	kvm_mmu_put_root(kvm, root, &invalid_list);
	/* The flush for anything this freed comes with the caller's: they are off every walk already. */
	kvm_mmu_remote_flush_or_zap(kvm, &invalid_list, false);
	sp = kvm_mmu_get_page(vcpu, gpa_to_gfn(pgd), root_role(kvm), flush);
	if (!sp)
		return NULL;
	sp->root_count++;
	root->sp = sp;
	root->pgd = pgd;
	return sp;
}

hpa_t kvm_mmu_root_hpa(struct kvm_vcpu *vcpu)
{
	struct kvm_mmu_page *sp = vcpu->root.sp;

	return sp ? (hpa_t)page_to_pfn(sp->spt) << PAGE_SHIFT : 0;
}

int kvm_mmu_reload(struct kvm_vcpu *vcpu, hpa_t *root_hpa)
{
	struct kvm *kvm = vcpu->kvm;
	struct kvm_mmu_page *sp = vcpu->root.sp;
	bool flush = false;
	int r, idx;

	/* The vCPU's own root count keeps sp; only "invalid" may change under us. */
	if (sp && !READ_ONCE(sp->invalid) && vcpu->root.pgd == (vcpu->cr3 & PT64_BASE_ADDR_MASK))
		goto out;
	r = kvm_mmu_topup_shadow_caches(vcpu);
	if (r)
		return r;
	idx = srcu_read_lock(&kvm->srcu);
	write_lock(&kvm->mmu_lock);
	sp = kvm_mmu_load_root(vcpu, &flush);
	/* A new root write-protected its guest table: every vCPU drops what it may write through. */
	if (flush)
		kvm_flush_remote_tlbs(kvm);
	write_unlock(&kvm->mmu_lock);
	srcu_read_unlock(&kvm->srcu, idx);
	if (!sp)
		return -ENOMEM;
out:
	*root_hpa = kvm_mmu_root_hpa(vcpu);
	return 0;
}

/*
 * A CR3 load in SHADOW mode, after kvm_mmu_new_pgd() and its
 * cached_root_find_and_keep_current(): the current root goes to the front
 * of the cache, and a cached root of the new CR3 becomes current; without
 * one the vCPU makes it at its next miss.  The root that falls off the
 * end is put, which takes mmu_lock: out of guest mode.  A cached root is
 * as good as a new one, because every guest table it shadows is
 * write-tracked, so it is kept in step with the guest's tables.
 */
void kvm_mmu_new_pgd(struct kvm_vcpu *vcpu, gpa_t cr3)
{
	struct kvm_mmu_root_info cur = vcpu->root, evict;
	gpa_t pgd = cr3 & PT64_BASE_ADDR_MASK;
	int i;

	if (cur.sp && cur.pgd == pgd && cr3 != KVM_CR3_IDENTITY)
		return;
	for (i = 0; i < KVM_MMU_NUM_PREV_ROOTS; i++) {
		if (cr3 != KVM_CR3_IDENTITY && vcpu->prev_roots[i].sp &&
		    vcpu->prev_roots[i].pgd == pgd)
			break;
	}
	if (i < KVM_MMU_NUM_PREV_ROOTS) {
		/* Swap the hit to the front, then current and front change places. */
		atomic_long_inc(&vcpu->stat.cached_root_hits);
		evict = vcpu->prev_roots[i];
		vcpu->prev_roots[i] = vcpu->prev_roots[0];
		vcpu->prev_roots[0] = cur;
		vcpu->root = evict;
		return;
	}
	/* No shadow of the current CR3 was made: nothing to keep. */
	if (!cur.sp) {
		vcpu->root = (struct kvm_mmu_root_info){ .pgd = INVALID_GPA };
		return;
	}
	evict = vcpu->prev_roots[KVM_MMU_NUM_PREV_ROOTS - 1];
	for (i = KVM_MMU_NUM_PREV_ROOTS - 1; i > 0; i--)
		vcpu->prev_roots[i] = vcpu->prev_roots[i - 1];
	vcpu->prev_roots[0] = cur;
	vcpu->root = (struct kvm_mmu_root_info){ .pgd = INVALID_GPA };
	if (evict.sp) {
		bool in_guest = READ_ONCE(vcpu->mode) != OUTSIDE_GUEST_MODE;
		LIST_HEAD(invalid_list);

		int idx;

		if (in_guest)
			kvm_vcpu_exit_guest(vcpu);
		idx = srcu_read_lock(&vcpu->kvm->srcu);
		write_lock(&vcpu->kvm->mmu_lock);
		kvm_mmu_put_root(vcpu->kvm, &evict, &invalid_list);
		kvm_mmu_commit_zap_page(vcpu->kvm, &invalid_list);
		write_unlock(&vcpu->kvm->mmu_lock);
		srcu_read_unlock(&vcpu->kvm->srcu, idx);
		if (in_guest)
			kvm_vcpu_enter_guest(vcpu);
	}
}

void kvm_mmu_unload(struct kvm_vcpu *vcpu)
{
	struct kvm *kvm = vcpu->kvm;
	LIST_HEAD(invalid_list);
	int idx;

	idx = srcu_read_lock(&kvm->srcu);
	write_lock(&kvm->mmu_lock);
	kvm_mmu_put_root(kvm, &vcpu->root, &invalid_list);
	for (int i = 0; i < KVM_MMU_NUM_PREV_ROOTS; i++)
		kvm_mmu_put_root(kvm, &vcpu->prev_roots[i], &invalid_list);
	kvm_mmu_commit_zap_page(kvm, &invalid_list);
	write_unlock(&kvm->mmu_lock);
	srcu_read_unlock(&kvm->srcu, idx);
	free_obj_cache(&vcpu->mmu_shadow_page_cache);
	free_obj_cache(&vcpu->mmu_pte_list_desc_cache);
}

/*
 * FNAME(invlpg): drop the shadow of the page holding @gva in the current
 * root, its leaf or, for a guest large page, the direct shadow page under
 * it.  Write tracking keeps the shadows in step with the guest's tables
 * already; this is for whatever changed them behind the MMU's back (the
 * VMM's own writes to guest memory), which the guest then invalidates as
 * it would on the processor.
 */
void kvm_mmu_invlpg(struct kvm_vcpu *vcpu, gva_t gva)
{
	struct kvm *kvm = vcpu->kvm;
	struct kvm_mmu_page *sp = vcpu->root.sp;
	bool in_guest = READ_ONCE(vcpu->mode) != OUTSIDE_GUEST_MODE;
	LIST_HEAD(invalid_list);
	bool flush = false;
	int idx;

	if (!sp || !is_canonical_gva(gva))
		return;
	if (in_guest)
		kvm_vcpu_exit_guest(vcpu);
	idx = srcu_read_lock(&kvm->srcu);
	write_lock(&kvm->mmu_lock);
	for (int level = PT64_ROOT_4LEVEL; !sp->invalid; level--) {
		uint64_t *sptep = &sp_sptes(sp)[PT64_INDEX(gva, level)];
		uint64_t spte = spte_read(sptep);
		struct kvm_mmu_page *child;

		if (!sp_spte_is_shadow(kvm, sp, PT64_INDEX(gva, level), spte))
			break;
		if (level == PG_LEVEL_4K) {
			kvm_shadow_drop_leaf(kvm, sptep,
					     kvm_mmu_page_get_gfn(sp, PT64_INDEX(gva, 1)));
			flush = true;
			break;
		}
		child = spte_to_child_sp(kvm, spte);
		if (child->role.direct) {
			kvm_mmu_drop_link(kvm, sptep, &invalid_list);
			flush = true;
			break;
		}
		sp = child;
	}
	kvm_mmu_remote_flush_or_zap(kvm, &invalid_list, flush);
	write_unlock(&kvm->mmu_lock);
	srcu_read_unlock(&kvm->srcu, idx);
	if (in_guest)
		kvm_vcpu_enter_guest(vcpu);
}

/*
 * kvm_mmu_pte_write(): the guest wrote [@gpa, @gpa + @len) of a table some
 * shadow pages shadow.  The write is in guest memory already; every
 * shadow entry made from the guest entries it touched goes (a leaf, or
 * the link to the shadow of the next table), and the vCPUs flush before
 * mmu_lock is dropped.  A fault that walked the old entries and takes
 * mmu_lock after this finds them changed (FNAME(gpte_changed)) and walks
 * again; one that took it before installed what this zaps now.
 */
/* Zap the entries [@first, @last] of @sp, made from the guest entries a write touched. */
static bool kvm_mmu_zap_written(struct kvm *kvm, struct kvm_mmu_page *sp, unsigned int first,
				unsigned int last, struct list_head *invalid_list)
{
	bool flush = false;

	for (unsigned int i = first; i <= last && !sp->invalid; i++) {
		uint64_t *sptep = &sp_sptes(sp)[i];

		if (!sp_spte_is_shadow(kvm, sp, i, spte_read(sptep)))
			continue;
		flush = true;
		if (sp->role.level == PG_LEVEL_4K)
			kvm_shadow_drop_leaf(kvm, sptep, sp->gfns[i]);
		else
			kvm_mmu_drop_link(kvm, sptep, invalid_list);
	}
	return flush;
}

void kvm_mmu_track_write(struct kvm *kvm, gpa_t gpa, unsigned int len)
{
	gfn_t gfn = gpa_to_gfn(gpa);
	unsigned int first = (gpa & ~PAGE_MASK) / sizeof(uint64_t);
	unsigned int last = ((gpa & ~PAGE_MASK) + len - 1) / sizeof(uint64_t);
	LIST_HEAD(invalid_list);
	struct kvm_mmu_page *sp;
	bool flush = false;
	unsigned int n = 0;
	int idx;

	if (!len)
		return;
	if (last >= SPTE_ENT_PER_PAGE)
		last = SPTE_ENT_PER_PAGE - 1;
	atomic_long_inc(&kvm->stat.shadow_pte_writes);
	idx = srcu_read_lock(&kvm->srcu);
	write_lock(&kvm->mmu_lock);
	hlist_for_each_entry(sp, sp_bucket(kvm, gfn), hash_link)
		n += sp->gfn == gfn && !sp->role.direct;
	/* No table there any more: its leaves may be writable again, as they would be made now. */
	if (!n)
		kvm_write_unprotect_gfn(kvm, gfn);
	if (n) {
		/*
		 * Collected first: a zap can unhash another of them (a table
		 * that maps itself), though it frees none before the commit.
		 */
		struct kvm_mmu_page *sps[n];

		n = 0;
		hlist_for_each_entry(sp, sp_bucket(kvm, gfn), hash_link)
			if (sp->gfn == gfn && !sp->role.direct)
				sps[n++] = sp;
		for (unsigned int i = 0; i < n; i++)
			flush |= kvm_mmu_zap_written(kvm, sps[i], first, last, &invalid_list);
	}
	kvm_mmu_remote_flush_or_zap(kvm, &invalid_list, flush);
	write_unlock(&kvm->mmu_lock);
	srcu_read_unlock(&kvm->srcu, idx);
}

void kvm_vcpu_track_write(struct kvm_vcpu *vcpu, gpa_t gpa, unsigned int len)
{
	bool in_guest = READ_ONCE(vcpu->mode) != OUTSIDE_GUEST_MODE;

	atomic_long_inc(&vcpu->stat.tracked_writes);
	trace_instant("mmu", "guest page-table write", gpa);
	if (in_guest)
		kvm_vcpu_exit_guest(vcpu);
	kvm_mmu_track_write(vcpu->kvm, gpa, len);
	if (in_guest)
		kvm_vcpu_enter_guest(vcpu);
}
