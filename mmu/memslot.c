// SPDX-License-Identifier: GPL-2.0
/*
 * Memslots: which host virtual range backs which guest-physical range,
 * after kvm_set_memory_region() and its helpers in virt/kvm/kvm_main.c.
 *
 * Readers (faults, notifier callbacks) look slots up inside kvm->srcu
 * without a lock.  An update copies the current generation, changes the
 * copy and publishes it (kvm_swap_active_memslots()), then waits for the
 * readers of the old one before freeing it.  Deleting or moving a slot
 * first publishes the slot marked KVM_MEMSLOT_INVALID, so faults on it
 * retry, then zaps and flushes its range, and only then publishes the
 * final state: no SPTE of the old range survives, and none is made while
 * it goes.
 *
 * A swap never happens between an invalidation's start and its end
 * (mn_active_invalidate_count): start and end look the slots up apart,
 * and must find the same ones, or in_progress would not balance.
 */
#include <stdlib.h>
#include <string.h>

#include "base/bug.h"
#include "mmu/shadow.h"

struct kvm_memory_slot *gfn_to_memslot(struct kvm *kvm, gfn_t gfn)
{
	struct kvm_memslots *slots = srcu_dereference(kvm->memslots, &kvm->srcu);
	struct kvm_memory_slot *slot;

	kvm_for_each_memslot(slot, slots)
		if (gfn >= slot->base_gfn && gfn < slot->base_gfn + slot->npages)
			return slot;
	return NULL;
}

static struct kvm_memslots *kvm_dup_memslots(struct kvm_memslots *old)
{
	struct kvm_memslots *slots = malloc(sizeof(*slots));

	if (slots)
		memcpy(slots, old, sizeof(*slots));
	return slots;
}

static struct kvm_memory_slot *id_to_memslot(struct kvm_memslots *slots, int id)
{
	struct kvm_memory_slot *slot;

	kvm_for_each_memslot(slot, slots)
		if (slot->id == id)
			return slot;
	return NULL;
}

/* Keep the slots sorted by guest-physical address. */
static void kvm_sort_memslots(struct kvm_memslots *slots)
{
	for (int i = 1; i < slots->nr; i++) {
		struct kvm_memory_slot s = slots->slots[i];
		int j = i;

		for (; j > 0 && slots->slots[j - 1].base_gfn > s.base_gfn; j--)
			slots->slots[j] = slots->slots[j - 1];
		slots->slots[j] = s;
	}
}

/* Publish @new, once no invalidation is between start and end; free the old set. */
static void kvm_swap_active_memslots(struct kvm *kvm, struct kvm_memslots *new)
{
	struct kvm_memslots *old = kvm_memslots(kvm);

	lockdep_assert_held(&kvm->slots_lock);
	new->generation = ++kvm->memslots_generation;
	spin_lock(&kvm->mn_invalidate_lock);
	while (kvm->mn_active_invalidate_count) {
		spin_unlock(&kvm->mn_invalidate_lock);
		wait_event(kvm->mn_memslots_update_wq, !READ_ONCE(kvm->mn_active_invalidate_count));
		spin_lock(&kvm->mn_invalidate_lock);
	}
	rcu_assign_pointer(kvm->memslots, new);
	spin_unlock(&kvm->mn_invalidate_lock);
	/* Faults and callbacks that may still see @old finish first. */
	synchronize_srcu_expedited(&kvm->srcu);
	free(old);
}

/*
 * Zap the SPTEs of @slot's range and flush (kvm_arch_flush_shadow_memslot()),
 * and every shadow page: they are keyed by gfn, and the slot's rmap and
 * write-track counts go with it.
 */
static void kvm_flush_shadow_memslot(struct kvm *kvm, const struct kvm_memory_slot *slot)
{
	LIST_HEAD(invalid_list);
	bool flush;
	int idx;

	idx = srcu_read_lock(&kvm->srcu);
	write_lock(&kvm->mmu_lock);
	flush = kvm_mmu_zap_gfn_range(kvm, slot->base_gfn, slot->base_gfn + slot->npages);
	flush |= kvm_mmu_zap_all_shadow(kvm, &invalid_list);
	kvm_mmu_remote_flush_or_zap(kvm, &invalid_list, flush);
	write_unlock(&kvm->mmu_lock);
	srcu_read_unlock(&kvm->srcu, idx);
}

static void kvm_free_memslot(struct kvm *kvm, struct kvm_memory_slot *slot)
{
	kvm_free_shadow_memslot(slot);
	if (!slot->pinned)
		return;
	for (unsigned long i = 0; i < slot->npages; i++) {
		unsigned long entry = (unsigned long)slot->pinned[i];

		if (entry) {
			unpin_user_page((struct page *)(entry & ~1UL));
			atomic_long_dec(&kvm->stat.pages_pinned);
		}
	}
	free(slot->pinned);
	slot->pinned = NULL;
}

static bool kvm_memslot_overlaps(struct kvm_memslots *slots, int id, gfn_t base,
				 unsigned long npages)
{
	struct kvm_memory_slot *slot;

	kvm_for_each_memslot(slot, slots)
		if (slot->id != id && base < slot->base_gfn + slot->npages &&
		    slot->base_gfn < base + npages)
			return true;
	return false;
}

/* Delete (@new_base == INVALID_GPA) or move slot @id, old range zapped first. */
static int kvm_delete_or_move_memslot(struct kvm *kvm, int id, gfn_t new_base)
{
	struct kvm_memslots *invalid, *final;
	struct kvm_memory_slot *slot, old;

	invalid = kvm_dup_memslots(kvm_memslots(kvm));
	if (!invalid)
		return -ENOMEM;
	final = kvm_dup_memslots(invalid);
	if (!final) {
		free(invalid);
		return -ENOMEM;
	}
	slot = id_to_memslot(invalid, id);
	slot->flags |= KVM_MEMSLOT_INVALID;
	old = *slot;
	kvm_swap_active_memslots(kvm, invalid);
	kvm_flush_shadow_memslot(kvm, &old);

	slot = id_to_memslot(final, id);
	if (new_base == INVALID_GPA) {
		old = *slot;
		*slot = final->slots[--final->nr];
	} else {
		slot->base_gfn = new_base;
	}
	kvm_sort_memslots(final);
	kvm_swap_active_memslots(kvm, final);
	/* Only now: a callback inside the invalid generation may still walk the rmap. */
	if (new_base == INVALID_GPA)
		kvm_free_memslot(kvm, &old);
	return 0;
}

static int kvm_create_memslot(struct kvm *kvm, int id, uint32_t flags, gfn_t base,
			      unsigned long npages, unsigned long hva)
{
	struct kvm_memslots *slots = kvm_dup_memslots(kvm_memslots(kvm));
	struct kvm_memory_slot *slot;

	if (!slots)
		return -ENOMEM;
	slot = &slots->slots[slots->nr++];
	*slot = (struct kvm_memory_slot){
		.base_gfn = base,
		.npages = npages,
		.userspace_addr = hva,
		.flags = flags,
		.id = id,
	};
	if (kvm_alloc_shadow_memslot(slot)) {
		free(slots);
		return -ENOMEM;
	}
	if (kvm_pin_mode(kvm)) {
		slot->pinned = calloc(npages, sizeof(*slot->pinned));
		if (!slot->pinned) {
			kvm_free_shadow_memslot(slot);
			free(slots);
			return -ENOMEM;
		}
	}
	kvm_sort_memslots(slots);
	kvm_swap_active_memslots(kvm, slots);
	return 0;
}

static int check_memory_region(int id, uint32_t flags, gpa_t gpa, uint64_t size, unsigned long hva)
{
	if (id < 0 || id >= KVM_USER_MEM_SLOTS || (flags & ~KVM_MEM_READONLY))
		return -EINVAL;
	if ((gpa | size | hva) & ~PAGE_MASK)
		return -EINVAL;
	if (gpa >= 1ULL << KVM_GPA_BITS || size > (1ULL << KVM_GPA_BITS) - gpa)
		return -EINVAL;
	if (size && (hva < FIRST_USER_ADDRESS || hva >= TASK_SIZE || size > TASK_SIZE - hva))
		return -EINVAL;
	return 0;
}

int kvm_set_memory_region(struct kvm *kvm, int id, uint32_t flags, gpa_t gpa, uint64_t size,
			  unsigned long hva)
{
	unsigned long npages = size >> PAGE_SHIFT;
	gfn_t base = gpa_to_gfn(gpa);
	struct kvm_memory_slot *old;
	int r;

	r = check_memory_region(id, flags, gpa, size, hva);
	if (r)
		return r;
	mutex_lock(&kvm->slots_lock);
	old = id_to_memslot(kvm_memslots(kvm), id);
	if (!size) {
		r = old ? kvm_delete_or_move_memslot(kvm, id, INVALID_GPA) : -EINVAL;
	} else if (!old) {
		if (kvm_memslot_overlaps(kvm_memslots(kvm), id, base, npages))
			r = -EEXIST;
		else
			r = kvm_create_memslot(kvm, id, flags, base, npages, hva);
	} else if (npages != old->npages || hva != old->userspace_addr || flags != old->flags) {
		/* As KVM: a slot may move, not change its size, backing or flags. */
		r = -EINVAL;
	} else if (base == old->base_gfn) {
		r = 0;
	} else if (kvm_memslot_overlaps(kvm_memslots(kvm), id, base, npages)) {
		r = -EEXIST;
	} else {
		r = kvm_delete_or_move_memslot(kvm, id, base);
	}
	mutex_unlock(&kvm->slots_lock);
	return r;
}

void kvm_free_memslots(struct kvm *kvm)
{
	struct kvm_memslots *slots = kvm->memslots;
	struct kvm_memory_slot *slot;

	if (!slots)
		return;
	kvm_for_each_memslot(slot, slots)
		kvm_free_memslot(kvm, slot);
	free(slots);
	kvm->memslots = NULL;
}
