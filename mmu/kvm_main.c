// SPDX-License-Identifier: GPL-2.0
/*
 * VM and vCPU lifetime, after kvm_create_vm()/kvm_destroy_vm() in
 * virt/kvm/kvm_main.c.  A VM holds its mm with mmgrab() only: the address
 * space may exit under it (the notifier's release zaps every SPTE then),
 * and later faults find nothing to map.
 */
#include <stdio.h>
#include <stdlib.h>

#include "base/bug.h"
#include "mmu/shadow.h"

static void kvm_init_locks(struct kvm *kvm)
{
	rwlock_init(&kvm->mmu_lock);
	mutex_init(&kvm->slots_lock);
	mutex_init(&kvm->vcpu_lock);
	spin_lock_init(&kvm->mn_invalidate_lock);
	spin_lock_init(&kvm->tables_lock);
	init_waitqueue_head(&kvm->mn_memslots_update_wq);
	init_waitqueue_head(&kvm->tlb_flush_wq);
	INIT_LIST_HEAD(&kvm->tables);
}

struct kvm *kvm_create_vm(struct mm_struct *mm, unsigned int flags)
{
	struct kvm *kvm = calloc(1, sizeof(*kvm));
	int r = -ENOMEM;

	if (!kvm)
		return ERR_PTR(-ENOMEM);
	kvm->mm = mm;
	mmgrab(mm);
	kvm->pool = mm->pool;
	kvm->flags = flags;
	kvm->mmu_invalidate_range_start = INVALID_GPA;
	kvm->mmu_invalidate_range_end = INVALID_GPA;
	kvm_init_locks(kvm);
	init_srcu_struct(&kvm->srcu);
	kvm->memslots = calloc(1, sizeof(*kvm->memslots));
	if (!kvm->memslots)
		goto out_srcu;
	r = kvm_mmu_init_shadow(kvm);
	if (r)
		goto out_slots;
	r = kvm_mmu_alloc_root(kvm);
	if (r)
		goto out_slots;
	if (!kvm_pin_mode(kvm)) {
		r = kvm_init_mmu_notifier(kvm);
		if (r)
			goto out_tables;
	}
	return kvm;

out_tables:
	kvm_mmu_free_tables(kvm);
out_slots:
	kvm_mmu_destroy_shadow(kvm);
	free(kvm->memslots);
out_srcu:
	cleanup_srcu_struct(&kvm->srcu);
	mmdrop(mm);
	free(kvm);
	return ERR_PTR(r);
}

void kvm_destroy_vm(struct kvm *kvm)
{
	WARN_ON(kvm->online_vcpus);
	if (!kvm_pin_mode(kvm)) {
		/* Calls ->release (zap all) unless exit_mmap() already did. */
		mmu_notifier_unregister(&kvm->mmu_notifier, kvm->mm);
		/* Unregistered between a start and its end: that end never comes. */
		if (kvm->mn_active_invalidate_count)
			kvm->mn_active_invalidate_count = 0;
		else
			WARN_ON(kvm->mmu_invalidate_in_progress);
	}
	kvm_mmu_zap_all(kvm);
	kvm_free_memslots(kvm);
	kvm_mmu_free_tables(kvm);
	kvm_mmu_destroy_shadow(kvm);
	cleanup_srcu_struct(&kvm->srcu);
	mmdrop(kvm->mm);
	free(kvm);
}

struct kvm_vcpu *kvm_create_vcpu(struct kvm *kvm, int id, const struct kvm_vcpu_ops *ops)
{
	struct kvm_vcpu *vcpu;

	if (id < 0 || id >= NR_CPUS)
		return ERR_PTR(-EINVAL);
	vcpu = calloc(1, sizeof(*vcpu));
	if (!vcpu)
		return ERR_PTR(-ENOMEM);
	vcpu->kvm = kvm;
	vcpu->vcpu_id = id;
	vcpu->mode = OUTSIDE_GUEST_MODE;
	vcpu->cr3 = KVM_CR3_IDENTITY;
	vcpu->root.pgd = INVALID_GPA;
	for (int i = 0; i < KVM_MMU_NUM_PREV_ROOTS; i++)
		vcpu->prev_roots[i].pgd = INVALID_GPA;
	vcpu->ops = ops ? ops : &kvm_access_vcpu_ops;
	snprintf(vcpu->name, sizeof(vcpu->name), "vCPU %d", id);

	mutex_lock(&kvm->vcpu_lock);
	if (kvm->vcpus[id]) {
		mutex_unlock(&kvm->vcpu_lock);
		free(vcpu);
		return ERR_PTR(-EEXIST);
	}
	/* Under mmu_lock: a remote flush walks the array holding it. */
	write_lock(&kvm->mmu_lock);
	WRITE_ONCE(kvm->vcpus[id], vcpu);
	kvm->online_vcpus++;
	write_unlock(&kvm->mmu_lock);
	mutex_unlock(&kvm->vcpu_lock);
	return vcpu;
}

void kvm_destroy_vcpu(struct kvm_vcpu *vcpu)
{
	struct kvm *kvm = vcpu->kvm;

	kvm_vcpu_exit_guest(vcpu);
	mutex_lock(&kvm->vcpu_lock);
	write_lock(&kvm->mmu_lock);
	WRITE_ONCE(kvm->vcpus[vcpu->vcpu_id], NULL);
	kvm->online_vcpus--;
	write_unlock(&kvm->mmu_lock);
	mutex_unlock(&kvm->vcpu_lock);
	/* A flusher waiting outside mmu_lock may still look at it (kvm_flush_remote_tlbs_wait()). */
	synchronize_srcu(&kvm->srcu);
	kvm_mmu_unload(vcpu);
	kvm_mmu_free_memory_cache(&vcpu->mmu_page_cache);
	free(vcpu);
}
