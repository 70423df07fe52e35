// SPDX-License-Identifier: GPL-2.0
/*
 * Memslots: create, delete and move, the argument checks and overlap
 * errors, lookups, and that delete and move leave no SPTE of the old range
 * behind (a vCPU that used it faults again, at the new place).
 */
#include <sched.h>
#include <string.h>

#include "base/kthread.h"
#include "base/sched_point.h"
#include "mmu/spte.h"
#include "tests/lib/kvm_util.h"

#define RW (PROT_READ | PROT_WRITE)
#define MB (1UL << 20)

static int slot_id_at(struct kvm *kvm, gpa_t gpa)
{
	struct kvm_memory_slot *slot;
	int idx = srcu_read_lock(&kvm->srcu);
	int id;

	slot = gfn_to_memslot(kvm, gpa_to_gfn(gpa));
	id = slot ? slot->id : -1;
	srcu_read_unlock(&kvm->srcu, idx);
	return id;
}

TEST(memslot_create_lookup)
{
	struct frame_pool *pool = test_pool(16 * MB);
	struct mm_struct *mm = test_mm(pool);
	struct kvm *kvm = test_kvm(mm, 0);
	unsigned long a = test_mmap_anon(mm, 2 * MB, RW);

	test_set_slot(kvm, 3, 4 * MB, MB, a);
	test_set_slot(kvm, 1, 1 * MB, MB, a + MB);
	TEST_ASSERT_EQ(slot_id_at(kvm, 4 * MB), 3);
	TEST_ASSERT_EQ(slot_id_at(kvm, 5 * MB - 1), 3);
	TEST_ASSERT_EQ(slot_id_at(kvm, 5 * MB), -1);
	TEST_ASSERT_EQ(slot_id_at(kvm, 1 * MB), 1);
	TEST_ASSERT_EQ(slot_id_at(kvm, 0), -1);
	/* Sorted by address, whatever the order of creation. */
	TEST_ASSERT_EQ(kvm->memslots->slots[0].id, 1);
	TEST_ASSERT_EQ(kvm->memslots->slots[1].id, 3);
	/* A fault outside every slot is -EFAULT. */
	TEST_ASSERT_EQ(kvm_mmu_page_fault(kvm, NULL, 8 * MB, false), -EFAULT);

	kvm_destroy_vm(kvm);
	mmput(mm);
	test_pool_destroy(pool);
}

TEST(memslot_errors)
{
	struct frame_pool *pool = test_pool(16 * MB);
	struct mm_struct *mm = test_mm(pool);
	struct kvm *kvm = test_kvm(mm, 0);
	unsigned long a = test_mmap_anon(mm, 4 * MB, RW);

	test_set_slot(kvm, 0, 2 * MB, 2 * MB, a);
	/* Misaligned address, size or hva; bad id; bad flags; past 48 bits. */
	TEST_ASSERT_EQ(kvm_set_memory_region(kvm, 1, 0, 8 * MB + 1, MB, a), -EINVAL);
	TEST_ASSERT_EQ(kvm_set_memory_region(kvm, 1, 0, 8 * MB, MB + 1, a), -EINVAL);
	TEST_ASSERT_EQ(kvm_set_memory_region(kvm, 1, 0, 8 * MB, MB, a + 1), -EINVAL);
	TEST_ASSERT_EQ(kvm_set_memory_region(kvm, -1, 0, 8 * MB, MB, a), -EINVAL);
	TEST_ASSERT_EQ(kvm_set_memory_region(kvm, KVM_USER_MEM_SLOTS, 0, 8 * MB, MB, a), -EINVAL);
	TEST_ASSERT_EQ(kvm_set_memory_region(kvm, 1, 0x80, 8 * MB, MB, a), -EINVAL);
	TEST_ASSERT_EQ(kvm_set_memory_region(kvm, 1, 0, (1UL << 48) - MB, 2 * MB, a), -EINVAL);
	TEST_ASSERT_EQ(kvm_set_memory_region(kvm, 1, 0, 8 * MB, MB, TASK_SIZE), -EINVAL);
	/* Overlap at either end, and containment. */
	TEST_ASSERT_EQ(kvm_set_memory_region(kvm, 1, 0, MB, 2 * MB, a), -EEXIST);
	TEST_ASSERT_EQ(kvm_set_memory_region(kvm, 1, 0, 3 * MB, 2 * MB, a), -EEXIST);
	TEST_ASSERT_EQ(kvm_set_memory_region(kvm, 1, 0, 3 * MB, MB / 2, a), -EEXIST);
	/* Touching is not overlapping. */
	test_set_slot(kvm, 1, 4 * MB, MB, a + 2 * MB);
	/* A slot changes place only: not size, backing or flags. */
	TEST_ASSERT_EQ(kvm_set_memory_region(kvm, 0, 0, 2 * MB, MB, a), -EINVAL);
	TEST_ASSERT_EQ(kvm_set_memory_region(kvm, 0, 0, 2 * MB, 2 * MB, a + MB), -EINVAL);
	TEST_ASSERT_EQ(kvm_set_memory_region(kvm, 0, KVM_MEM_READONLY, 2 * MB, 2 * MB, a), -EINVAL);
	/* Moving onto another slot. */
	TEST_ASSERT_EQ(kvm_set_memory_region(kvm, 0, 0, 3 * MB, 2 * MB, a), -EEXIST);
	/* Deleting what is not there. */
	TEST_ASSERT_EQ(kvm_set_memory_region(kvm, 7, 0, 0, 0, 0), -EINVAL);
	/* Setting a slot to what it is already. */
	test_set_slot(kvm, 0, 2 * MB, 2 * MB, a);
	TEST_ASSERT_EQ(kvm->memslots->nr, 2);

	kvm_destroy_vm(kvm);
	mmput(mm);
	test_pool_destroy(pool);
}

TEST(memslot_delete_zaps)
{
	struct test_vm t;
	uint64_t gen;

	test_vm_create(&t, 16 * MB, 0);
	vcpu_write64(t.vcpu, t.gpa + 5 * PAGE_SIZE, 0x1234);
	TEST_ASSERT(kvm_mmu_spte(t.kvm, gpa_to_gfn(t.gpa + 5 * PAGE_SIZE)),
		    "no SPTE after a write");
	gen = t.kvm->memslots->generation;

	TEST_ASSERT_EQ(kvm_set_memory_region(t.kvm, 0, 0, t.gpa, 0, 0), 0);
	TEST_ASSERT(t.kvm->memslots->generation == gen + 2, "invalid, then final: two swaps");
	TEST_ASSERT_EQ(t.kvm->memslots->nr, 0);
	TEST_ASSERT_EQ(kvm_mmu_spte(t.kvm, gpa_to_gfn(t.gpa + 5 * PAGE_SIZE)), 0UL);
	/* The vCPU's TLB went too: the read finds no slot now. */
	uint64_t v;
	TEST_ASSERT_EQ(kvm_vcpu_read(t.vcpu, t.gpa + 5 * PAGE_SIZE, &v, sizeof(v)), -EFAULT);
	TEST_ASSERT(kvm_stat_read(&t.kvm->stat.remote_tlb_flushes) >= 1, "no flush");
	/* The host page is untouched. */
	mm_read(t.mm, t.hva + 5 * PAGE_SIZE, &v, sizeof(v));
	TEST_ASSERT_EQ(v, 0x1234UL);
	test_vm_destroy(&t);
}

TEST(memslot_move)
{
	struct test_vm t;

	test_vm_create(&t, 16 * MB, 0);
	vcpu_write64(t.vcpu, t.gpa + 3 * PAGE_SIZE, 0xabcd);
	test_set_slot(t.kvm, 0, 64 * MB, t.size, t.hva);
	TEST_ASSERT_EQ(kvm_mmu_spte(t.kvm, gpa_to_gfn(t.gpa + 3 * PAGE_SIZE)), 0UL);
	uint64_t v;
	TEST_ASSERT_EQ(kvm_vcpu_read(t.vcpu, t.gpa + 3 * PAGE_SIZE, &v, sizeof(v)), -EFAULT);
	/* Same host memory at the new address. */
	TEST_ASSERT_EQ(vcpu_read64(t.vcpu, 64 * MB + 3 * PAGE_SIZE), 0xabcdUL);
	test_vm_destroy(&t);
}

struct host_zap {
	struct test_vm *t;
	int done;
};

static int host_dontneed_fn(void *data)
{
	struct host_zap *h = data;

	TEST_ASSERT_EQ(do_madvise(h->t->mm, h->t->hva, PAGE_SIZE, MADV_DONTNEED), 0);
	return 0;
}

static int set_slot_fn(void *data)
{
	struct host_zap *h = data;

	test_set_slot(h->t->kvm, 1, 64 * MB, MB, h->t->hva);
	smp_store_release(&h->done, 1);
	return 0;
}

/*
 * A slot update waits while an invalidation is between start and end, so
 * that end sees the slots start saw (KVM's mn_active_invalidate_count).
 */
TEST(memslot_swap_waits_for_invalidation)
{
	struct host_zap h = { 0 };
	struct kthread *zap, *set;
	struct test_vm t;
	uint64_t gen;

	test_vm_create(&t, 16 * MB, 0);
	h.t = &t;
	vcpu_write64(t.vcpu, t.gpa, 1);
	gen = t.kvm->memslots->generation;
	TEST_ASSERT_EQ(sched_point_arm("kvm:invalidate_start_done", "host"), 0);
	zap = kthread_run(host_dontneed_fn, &h, "host");
	TEST_ASSERT_EQ(sched_point_wait("kvm:invalidate_start_done"), 0);
	TEST_ASSERT_EQ(t.kvm->mn_active_invalidate_count, 1L);
	TEST_ASSERT_EQ(t.kvm->mmu_invalidate_in_progress, 1L);

	set = kthread_run(set_slot_fn, &h, "slots");
	while (!waitqueue_active(&t.kvm->mn_memslots_update_wq))
		sched_yield();
	TEST_ASSERT(!smp_load_acquire(&h.done), "swapped during an invalidation");
	TEST_ASSERT_EQ(t.kvm->memslots->generation, gen);

	sched_point_release("kvm:invalidate_start_done");
	kthread_join(zap);
	kthread_join(set);
	TEST_ASSERT_EQ(t.kvm->memslots->generation, gen + 1);
	TEST_ASSERT_EQ(t.kvm->mmu_invalidate_in_progress, 0L);
	TEST_ASSERT_EQ(vcpu_read64(t.vcpu, 64 * MB), 0UL);
	test_vm_destroy(&t);
}

struct slot_update {
	struct kvm *kvm;
	unsigned long hva;
	int done;
};

static int add_slot_fn(void *data)
{
	struct slot_update *u = data;

	test_set_slot(u->kvm, 1, 64 * MB, MB, u->hva);
	smp_store_release(&u->done, 1);
	return 0;
}

/*
 * A reader inside kvm->srcu (a fault, a notifier callback) may hold the old
 * slots array: replacing it must wait for that reader before freeing it.
 * The updater is parked at the grace period's "readers busy" poll while we
 * still read the old array; if it returns first, it freed the array under
 * us.
 */
TEST(memslot_swap_waits_for_srcu_readers)
{
	struct frame_pool *pool = test_pool(16 * MB);
	struct mm_struct *mm = test_mm(pool);
	struct kvm *kvm = test_kvm(mm, 0);
	unsigned long a = test_mmap_anon(mm, 2 * MB, RW);
	struct slot_update u = { .kvm = kvm, .hva = a + MB };
	struct kvm_memslots *old;
	struct kthread *k;
	int idx;

	test_set_slot(kvm, 0, 0, MB, a);
	idx = srcu_read_lock(&kvm->srcu);
	old = srcu_dereference(kvm->memslots, &kvm->srcu);

	TEST_ASSERT_EQ(sched_point_arm("srcu:readers_busy", "slots"), 0);
	k = kthread_run(add_slot_fn, &u, "slots");
	TEST_ASSERT(!IS_ERR(k), "kthread_run: %ld", PTR_ERR(k));
	/* Either it waits for our section, or (the bug) it returns. */
	while (!sched_point_parked("srcu:readers_busy") && !smp_load_acquire(&u.done))
		sched_yield();
	TEST_ASSERT(!smp_load_acquire(&u.done),
		    "memslot replacement returned while a kvm->srcu reader held the old slots");
	TEST_ASSERT(kvm->memslots != old, "the new slots are not published");
	TEST_ASSERT_EQ(old->slots[0].id, 0);
	srcu_read_unlock(&kvm->srcu, idx);

	sched_point_release("srcu:readers_busy");
	TEST_ASSERT_EQ(kthread_join(k), 0);
	TEST_ASSERT_EQ(slot_id_at(kvm, 64 * MB), 1);

	kvm_destroy_vm(kvm);
	mmput(mm);
	test_pool_destroy(pool);
}
