// SPDX-License-Identifier: GPL-2.0
/*
 * The shadow MMU's reverse map and write tracking, after the rmap and
 * kvm_page_track of arch/x86/kvm/mmu/.
 *
 * The rmap: one gfn may be mapped at many guest-virtual addresses, by many
 * guest tables, in many address spaces, so it has as many shadow leaves.
 * Each is on the gfn's list (slot->rmap, KVM's pte_list: one pointer
 * inline, or a chain of descriptors of 14), and an invalidation of the
 * gfn zaps every one of them before it returns (rule 1, invalidate before
 * free): a leaf left behind names a frame the host is about to free.
 *
 * Write tracking: a gfn that holds a guest table some shadow page shadows
 * is counted in slot->gfn_write_track.  While the count is not zero no
 * leaf of the gfn is writable, the flat one (the identity map's) or any
 * shadow's, so every guest write to the table reaches the MMU
 * (kvm_mmu_track_write()).  The count is by gfn, not by frame: the host
 * may swap the table page out or migrate it, and the leaf made when it
 * comes back is read-only again.
 */
#include <stdlib.h>

#include "base/bug.h"
#include "base/legacy.h"
#include "mmu/shadow.h"

static bool rmap_is_desc(const struct kvm_rmap_head *head)
{
	return head->val & 1;
}

static struct pte_list_desc *rmap_desc(const struct kvm_rmap_head *head)
{
	return (struct pte_list_desc *)(head->val & ~1UL);
}

uint64_t *rmap_get_first(const struct kvm_rmap_head *head, struct rmap_iterator *iter)
{
	iter->desc = NULL;
	if (!head->val)
		return NULL;
	if (!rmap_is_desc(head))
		return (uint64_t *)head->val;
	iter->desc = rmap_desc(head);
	iter->pos = 0;
	return iter->desc->sptes[0];
}

uint64_t *rmap_get_next(struct rmap_iterator *iter)
{
	if (!iter->desc)
		return NULL;
	if (++iter->pos < iter->desc->nr)
		return iter->desc->sptes[iter->pos];
	iter->desc = iter->desc->more;
	iter->pos = 0;
	return iter->desc ? iter->desc->sptes[0] : NULL;
}

static struct pte_list_desc *desc_from_cache(struct kvm_mmu_obj_cache *cache)
{
	struct pte_list_desc *desc;

	/* The fault topped the cache up before it took mmu_lock. */
	BUG_ON(!cache->nobjs);
	desc = cache->objects[--cache->nobjs];
	desc->more = NULL;
	desc->nr = 0;
	return desc;
}

/* New entries go into the first descriptor; a full one gets a new one in front. */
void pte_list_add(struct kvm_mmu_obj_cache *cache, uint64_t *sptep, struct kvm_rmap_head *head)
{
	struct pte_list_desc *desc;

	if (!head->val) {
		head->val = (unsigned long)sptep;
		return;
	}
	if (!rmap_is_desc(head)) {
		desc = desc_from_cache(cache);
		desc->sptes[desc->nr++] = (uint64_t *)head->val;
	} else {
		desc = rmap_desc(head);
		if (desc->nr == PTE_LIST_EXT) {
			struct pte_list_desc *first = desc_from_cache(cache);

			first->more = desc;
			desc = first;
		}
	}
	desc->sptes[desc->nr++] = sptep;
	head->val = (unsigned long)desc | 1;
}

/* Fill the hole at @desc->sptes[@i] with the first descriptor's last entry. */
static void pte_list_desc_remove_entry(struct kvm_rmap_head *head, struct pte_list_desc *desc,
				       unsigned int i)
{
	struct pte_list_desc *first = rmap_desc(head);

	desc->sptes[i] = first->sptes[--first->nr];
	if (first->nr)
		return;
	head->val = first->more ? (unsigned long)first->more | 1 : 0;
	free(first);
}

void pte_list_remove(uint64_t *sptep, struct kvm_rmap_head *head)
{
	struct pte_list_desc *desc;

	if (!rmap_is_desc(head)) {
		BUG_ON(head->val != (unsigned long)sptep);
		head->val = 0;
		return;
	}
	for (desc = rmap_desc(head); desc; desc = desc->more)
		for (unsigned int i = 0; i < desc->nr; i++)
			if (desc->sptes[i] == sptep) {
				pte_list_desc_remove_entry(head, desc, i);
				return;
			}
	BUG();
}

unsigned int pte_list_count(const struct kvm_rmap_head *head)
{
	struct pte_list_desc *desc;
	unsigned int n = 0;

	if (!rmap_is_desc(head))
		return head->val ? 1 : 0;
	for (desc = rmap_desc(head); desc; desc = desc->more)
		n += desc->nr;
	return n;
}

/* Gfns a bit of rmap_groups stands for, and groups a bit of rmap_blocks. */
#define RMAP_GROUP_SHIFT 6
#define RMAP_BLOCK_SHIFT (2 * RMAP_GROUP_SHIFT)

static unsigned long bitmap_words(unsigned long bits)
{
	return (bits + BITS_PER_LONG - 1) / BITS_PER_LONG;
}

int kvm_alloc_shadow_memslot(struct kvm_memory_slot *slot)
{
	unsigned long groups = (slot->npages >> RMAP_GROUP_SHIFT) + 1;

	slot->rmap = calloc(slot->npages, sizeof(*slot->rmap));
	slot->gfn_write_track = calloc(slot->npages, sizeof(*slot->gfn_write_track));
	slot->rmap_groups = calloc(bitmap_words(groups), sizeof(unsigned long));
	slot->rmap_blocks = calloc(bitmap_words(bitmap_words(groups)), sizeof(unsigned long));
	if (slot->rmap && slot->gfn_write_track && slot->rmap_groups && slot->rmap_blocks)
		return 0;
	kvm_free_shadow_memslot(slot);
	return -ENOMEM;
}

/* Every shadow page was zapped before the slot went (kvm_flush_shadow_memslot()). */
void kvm_free_shadow_memslot(struct kvm_memory_slot *slot)
{
	if (slot->rmap)
		for (unsigned long i = 0; i < slot->npages; i++)
			WARN_ON_ONCE(slot->rmap[i].val);
	free(slot->rmap);
	free(slot->gfn_write_track);
	free(slot->rmap_groups);
	free(slot->rmap_blocks);
	slot->rmap = NULL;
	slot->gfn_write_track = NULL;
	slot->rmap_groups = NULL;
	slot->rmap_blocks = NULL;
}

void kvm_shadow_drop_leaf(struct kvm *kvm, uint64_t *sptep, gfn_t gfn)
{
	struct kvm_memory_slot *slot = gfn_to_memslot(kvm, gfn);
	/* An exchange: the A/D bits a vCPU sets up to this instant come with it. */
	uint64_t spte = xchg_acq_rel(sptep, 0);

	if (!is_shadow_present_pte(spte))
		return;
	kvm_mmu_transfer_spte_state(kvm, spte);
	atomic_long_inc(&kvm->stat.shadow_sptes_zapped);
	if (!WARN_ON_ONCE(!slot))
		pte_list_remove(sptep, gfn_to_rmap(slot, gfn));
}

/*
 * Every alias of @gfn.  The museum's shadow_zap_one_alias stops after the
 * first, as a shadow MMU that kept one reverse pointer per gfn would.
 */
static bool kvm_zap_rmap(struct kvm *kvm, struct kvm_memory_slot *slot, gfn_t gfn)
{
	struct kvm_rmap_head *head = gfn_to_rmap(slot, gfn);
	struct rmap_iterator iter;
	uint64_t *sptep;
	bool flush = false;

	while ((sptep = rmap_get_first(head, &iter))) {
		kvm_shadow_drop_leaf(kvm, sptep, gfn);
		flush = true;
		if (legacy_on(kvm->legacy, LEGACY_SHADOW_ZAP_ONE_ALIAS))
			break;
	}
	return flush;
}

static bool kvm_age_rmap(struct kvm *kvm, struct kvm_memory_slot *slot, gfn_t gfn, bool clear)
{
	struct rmap_iterator iter;
	uint64_t *sptep;
	bool young = false;

	for_each_rmap_spte(gfn_to_rmap(slot, gfn), &iter, sptep)
	{
		if (!(spte_read(sptep) & PT_ACCESSED_MASK))
			continue;
		young = true;
		if (clear) {
			fetch_and_relaxed(sptep, ~PT_ACCESSED_MASK);
			atomic_long_inc(&kvm->stat.young_cleared);
		}
	}
	return young;
}

/*
 * The rmap of the slot's gfn at index @i may now be non-empty: its group's
 * and block's bits go on (mmu_lock held for write).  They go off only in
 * a range walk that finds the group empty; a bit left on costs a walk its
 * 64 loads, a bit missing would hide a leaf from every invalidation.
 */
void kvm_rmap_mark(struct kvm_memory_slot *slot, unsigned long i)
{
	unsigned long g = i >> RMAP_GROUP_SHIFT;

	__set_bit(g, slot->rmap_groups);
	__set_bit(g / BITS_PER_LONG, slot->rmap_blocks);
}

/* The first set bit of @map in [i, end), or end. */
static unsigned long next_set_bit(const unsigned long *map, unsigned long i, unsigned long end)
{
	while (i < end) {
		unsigned long word = map[i / BITS_PER_LONG] >> (i % BITS_PER_LONG);

		if (word) {
			i += __builtin_ctzl(word);
			return i < end ? i : end;
		}
		i = (i / BITS_PER_LONG + 1) * BITS_PER_LONG;
	}
	return end;
}

static bool kvm_rmap_group_empty(struct kvm_memory_slot *slot, unsigned long g)
{
	unsigned long i = g << RMAP_GROUP_SHIFT, end = i + (1UL << RMAP_GROUP_SHIFT);

	for (end = end < slot->npages ? end : slot->npages; i < end; i++)
		if (slot->rmap[i].val)
			return false;
	return true;
}

/*
 * The rmaps of slot indexes [s, e) that the summary says may be non-empty:
 * a block bit per 4096 gfns, then a group bit per 64, so that a range
 * costs what it maps, as the SPTE walk does, however large it is.  A zap
 * turns off the bits of the groups it leaves empty.
 */
static bool kvm_shadow_rmap_range(struct kvm *kvm, struct kvm_memory_slot *slot, gfn_t start,
				  gfn_t end, int op)
{
	unsigned long s, e, b, g;
	bool ret = false;

	lockdep_assert_held_write(&kvm->mmu_lock);
	if (start < slot->base_gfn)
		start = slot->base_gfn;
	if (end > slot->base_gfn + slot->npages)
		end = slot->base_gfn + slot->npages;
	if (start >= end)
		return false;
	s = start - slot->base_gfn;
	e = end - slot->base_gfn;
	for (b = next_set_bit(slot->rmap_blocks, s >> RMAP_BLOCK_SHIFT,
			      ((e - 1) >> RMAP_BLOCK_SHIFT) + 1);
	     b <= (e - 1) >> RMAP_BLOCK_SHIFT;
	     b = next_set_bit(slot->rmap_blocks, b + 1, ((e - 1) >> RMAP_BLOCK_SHIFT) + 1)) {
		unsigned long lo = b << (RMAP_BLOCK_SHIFT - RMAP_GROUP_SHIFT);
		unsigned long hi = (e - 1) >> RMAP_GROUP_SHIFT;

		if (lo < s >> RMAP_GROUP_SHIFT)
			lo = s >> RMAP_GROUP_SHIFT;
		if (hi > ((b + 1) << (RMAP_BLOCK_SHIFT - RMAP_GROUP_SHIFT)) - 1)
			hi = ((b + 1) << (RMAP_BLOCK_SHIFT - RMAP_GROUP_SHIFT)) - 1;
		for (g = next_set_bit(slot->rmap_groups, lo, hi + 1); g <= hi;
		     g = next_set_bit(slot->rmap_groups, g + 1, hi + 1)) {
			unsigned long i = g << RMAP_GROUP_SHIFT,
				      last = i + (1UL << RMAP_GROUP_SHIFT);

			i = i > s ? i : s;
			for (last = last < e ? last : e; i < last; i++) {
				gfn_t gfn = slot->base_gfn + i;

				if (!slot->rmap[i].val)
					continue;
				ret |= op < 0 ? kvm_zap_rmap(kvm, slot, gfn) :
						kvm_age_rmap(kvm, slot, gfn, op);
			}
			if (op < 0 && kvm_rmap_group_empty(slot, g))
				__clear_bit(g, slot->rmap_groups);
		}
		if (!slot->rmap_groups[b])
			__clear_bit(b, slot->rmap_blocks);
	}
	return ret;
}

bool kvm_shadow_zap_gfn_range(struct kvm *kvm, struct kvm_memory_slot *slot, gfn_t start, gfn_t end)
{
	return kvm_shadow_rmap_range(kvm, slot, start, end, -1);
}

bool kvm_shadow_age_gfn_range(struct kvm *kvm, struct kvm_memory_slot *slot, gfn_t start, gfn_t end,
			      bool clear)
{
	return kvm_shadow_rmap_range(kvm, slot, start, end, clear);
}

bool kvm_gfn_is_write_tracked(struct kvm *kvm, struct kvm_memory_slot *slot, gfn_t gfn)
{
	(void)kvm;
	return slot->gfn_write_track && READ_ONCE(slot->gfn_write_track[gfn - slot->base_gfn]);
}

/*
 * What a fault installs for @gfn: read-only while it is tracked.  The
 * museum's writable_tracked_refault forgets that on the way back in, as
 * a shadow MMU that write-protected a table page only when it first
 * shadowed it would: the leaf made after the host took the page away and
 * brought it back is writable, and the guest's next write to its table
 * goes unseen.
 */
bool kvm_gfn_write_protected(struct kvm *kvm, struct kvm_memory_slot *slot, gfn_t gfn)
{
	if (legacy_on(kvm->legacy, LEGACY_WRITABLE_TRACKED_REFAULT))
		return false;
	return kvm_gfn_is_write_tracked(kvm, slot, gfn);
}

/* W off in every shadow leaf of @gfn, SPTE_MMU_WRITABLE on: a write is emulated. */
static bool kvm_rmap_write_protect(struct kvm_memory_slot *slot, gfn_t gfn)
{
	struct rmap_iterator iter;
	uint64_t *sptep;
	bool flush = false;

	for_each_rmap_spte(gfn_to_rmap(slot, gfn), &iter, sptep)
	{
		uint64_t spte = spte_read(sptep);

		do {
			if (!is_writable_pte(spte))
				break;
		} while (!try_cmpxchg_acq_rel(sptep, &spte,
					      (spte & ~PT_WRITABLE_MASK) | SPTE_MMU_WRITABLE));
		flush |= is_writable_pte(spte);
	}
	return flush;
}

/* W back instead of SPTE_MMU_WRITABLE; adding a right needs no flush. */
static void spte_unprotect(uint64_t *sptep)
{
	uint64_t spte = spte_read(sptep);

	do {
		if (!(spte & SPTE_MMU_WRITABLE))
			return;
	} while (
		!try_cmpxchg_acq_rel(sptep, &spte, (spte & ~SPTE_MMU_WRITABLE) | PT_WRITABLE_MASK));
}

void kvm_write_unprotect_gfn(struct kvm *kvm, gfn_t gfn)
{
	struct kvm_memory_slot *slot = gfn_to_memslot(kvm, gfn);
	struct rmap_iterator iter;
	uint64_t *sptep;

	lockdep_assert_held_write(&kvm->mmu_lock);
	if (!slot || !slot->rmap || kvm_gfn_is_write_tracked(kvm, slot, gfn))
		return;
	sptep = kvm_mmu_walk_lockless(kvm, gfn);
	if (sptep)
		spte_unprotect(sptep);
	for_each_rmap_spte(gfn_to_rmap(slot, gfn), &iter, sptep) spte_unprotect(sptep);
}

bool kvm_write_track_add_gfn(struct kvm *kvm, gfn_t gfn)
{
	struct kvm_memory_slot *slot = gfn_to_memslot(kvm, gfn);
	unsigned short *count;

	lockdep_assert_held_write(&kvm->mmu_lock);
	if (WARN_ON_ONCE(!slot || !slot->gfn_write_track))
		return false;
	count = &slot->gfn_write_track[gfn - slot->base_gfn];
	WRITE_ONCE(*count, *count + 1);
	if (*count > 1)
		return false;
	return kvm_mmu_write_protect_gfn(kvm, gfn) | kvm_rmap_write_protect(slot, gfn);
}

void kvm_write_track_remove_gfn(struct kvm *kvm, gfn_t gfn)
{
	struct kvm_memory_slot *slot = gfn_to_memslot(kvm, gfn);
	unsigned short *count;

	lockdep_assert_held_write(&kvm->mmu_lock);
	if (WARN_ON_ONCE(!slot || !slot->gfn_write_track))
		return;
	count = &slot->gfn_write_track[gfn - slot->base_gfn];
	if (!WARN_ON_ONCE(!*count))
		WRITE_ONCE(*count, *count - 1);
}

static unsigned int kvm_gfn_count(struct kvm *kvm, gfn_t gfn, bool track)
{
	struct kvm_memory_slot *slot;
	unsigned int n = 0;
	int idx;

	idx = srcu_read_lock(&kvm->srcu);
	write_lock(&kvm->mmu_lock);
	slot = gfn_to_memslot(kvm, gfn);
	if (slot && slot->rmap)
		n = track ? slot->gfn_write_track[gfn - slot->base_gfn] :
			    pte_list_count(gfn_to_rmap(slot, gfn));
	write_unlock(&kvm->mmu_lock);
	srcu_read_unlock(&kvm->srcu, idx);
	return n;
}

unsigned int kvm_gfn_write_track_count(struct kvm *kvm, gfn_t gfn)
{
	return kvm_gfn_count(kvm, gfn, true);
}

unsigned int kvm_gfn_rmap_count(struct kvm *kvm, gfn_t gfn)
{
	return kvm_gfn_count(kvm, gfn, false);
}
