// SPDX-License-Identifier: GPL-2.0
/*
 * Requests and the remote TLB flush: a vCPU in guest mode is kicked and
 * the flush waits for it to leave; a vCPU outside guest mode gets a
 * request it serves on entry; a request raised while entering is served
 * before the vCPU runs.
 */
#include "base/completion.h"
#include "base/kthread.h"
#include "base/spinlock.h"
#include "mmu/spte.h"
#include "tests/lib/kvm_util.h"

#define MB (1UL << 20)

struct guest_thread {
	struct kvm_vcpu *vcpu;
	gpa_t gpa;
	struct completion in_guest, go;
	uint64_t first, second;
	bool was_kicked;
};

/* Read, stay in guest mode until kicked, leave; then read again. */
static int vcpu_spin_in_guest(void *data)
{
	struct guest_thread *g = data;
	unsigned int spins = 0;

	TEST_ASSERT_EQ(__kvm_vcpu_read(g->vcpu, g->gpa, &g->first, 8), 0);
	complete(&g->in_guest);
	while (!kvm_vcpu_kick_pending(g->vcpu))
		cpu_spin_wait(&spins);
	g->was_kicked = true;
	kvm_vcpu_exit_guest(g->vcpu);
	wait_for_completion(&g->go);
	TEST_ASSERT_EQ(kvm_vcpu_read(g->vcpu, g->gpa, &g->second, 8), 0);
	return 0;
}

TEST(flush_kicks_vcpu_in_guest)
{
	struct guest_thread g = { 0 };
	struct kthread *k;
	struct test_vm t;

	test_vm_create(&t, 16 * MB, 0);
	vcpu_write64(t.vcpu, t.gpa, 0x77);
	g.vcpu = t.vcpu;
	g.gpa = t.gpa;
	init_completion(&g.in_guest);
	init_completion(&g.go);
	k = kthread_run(vcpu_spin_in_guest, &g, "vcpu0");
	wait_for_completion(&g.in_guest);
	TEST_ASSERT_EQ(READ_ONCE(t.vcpu->mode), IN_GUEST_MODE);

	/* Returns only once the vCPU has left guest mode. */
	TEST_ASSERT_EQ(do_madvise(t.mm, t.hva, PAGE_SIZE, MADV_DONTNEED), 0);
	TEST_ASSERT(READ_ONCE(g.was_kicked), "flush returned before the vCPU saw the kick");
	TEST_ASSERT(test_bit(KVM_REQ_TLB_FLUSH, &t.vcpu->requests), "no request left");
	complete(&g.go);
	kthread_join(k);
	/*
	 * Counted after the vCPU left guest mode, which is all the flush waits
	 * for: read it once the vCPU thread is done.
	 */
	TEST_ASSERT_EQ(kvm_stat_read(&t.vcpu->stat.kicks_acked), 1L);
	TEST_ASSERT_EQ(g.first, 0x77UL);
	TEST_ASSERT_EQ(g.second, 0UL);
	TEST_ASSERT_EQ(t.vcpu->requests, 0UL);
	test_vm_destroy(&t);
}

TEST(flush_vcpu_outside_guest)
{
	struct test_vm t;
	long flushes;

	test_vm_create(&t, 16 * MB, 0);
	vcpu_write64(t.vcpu, t.gpa, 0x99);
	TEST_ASSERT_EQ(READ_ONCE(t.vcpu->mode), OUTSIDE_GUEST_MODE);
	TEST_ASSERT(t.vcpu->tlb[gpa_to_gfn(t.gpa) % KVM_TLB_ENTRIES].valid, "TLB not filled");
	flushes = kvm_stat_read(&t.vcpu->stat.tlb_flushes);
	TEST_ASSERT_EQ(do_madvise(t.mm, t.hva, PAGE_SIZE, MADV_DONTNEED), 0);
	/* No kick: a request waits for the next entry, the TLB is still full. */
	TEST_ASSERT_EQ(kvm_stat_read(&t.vcpu->stat.kicks_acked), 0L);
	TEST_ASSERT(test_bit(KVM_REQ_TLB_FLUSH, &t.vcpu->requests), "no request");
	TEST_ASSERT(t.vcpu->tlb[gpa_to_gfn(t.gpa) % KVM_TLB_ENTRIES].valid, "flushed early");
	TEST_ASSERT_EQ(vcpu_read64(t.vcpu, t.gpa), 0UL);
	TEST_ASSERT_EQ(kvm_stat_read(&t.vcpu->stat.tlb_flushes), flushes + 1);
	test_vm_destroy(&t);
}

TEST(request_served_on_entry)
{
	struct test_vm t;

	test_vm_create(&t, 16 * MB, 0);
	vcpu_read64(t.vcpu, t.gpa);
	kvm_make_request(KVM_REQ_TLB_FLUSH, t.vcpu);
	TEST_ASSERT(kvm_request_pending(t.vcpu), "not pending");
	kvm_vcpu_enter_guest(t.vcpu);
	TEST_ASSERT(!kvm_request_pending(t.vcpu), "still pending");
	TEST_ASSERT(!t.vcpu->tlb[gpa_to_gfn(t.gpa) % KVM_TLB_ENTRIES].valid, "TLB not flushed");
	TEST_ASSERT_EQ(READ_ONCE(t.vcpu->mode), IN_GUEST_MODE);
	kvm_vcpu_exit_guest(t.vcpu);
	test_vm_destroy(&t);
}

/* Two vCPUs, both cached the page: both must drop it. */
TEST(flush_every_vcpu)
{
	struct kvm_vcpu *v1;
	struct test_vm t;

	test_vm_create(&t, 16 * MB, 0);
	v1 = test_vcpu(t.kvm, 1);
	vcpu_write64(t.vcpu, t.gpa, 1);
	TEST_ASSERT_EQ(vcpu_read64(v1, t.gpa), 1UL);
	TEST_ASSERT_EQ(do_madvise(t.mm, t.hva, PAGE_SIZE, MADV_DONTNEED), 0);
	TEST_ASSERT_EQ(vcpu_read64(t.vcpu, t.gpa), 0UL);
	TEST_ASSERT_EQ(vcpu_read64(v1, t.gpa), 0UL);
	kvm_destroy_vcpu(v1);
	test_vm_destroy(&t);
}

struct parked_vcpu {
	struct kvm_vcpu *vcpu;
	gpa_t gpa;
	struct completion in_guest, go;
};

/* Into guest mode with the page in its TLB, and out only when told, kicked or not. */
static int vcpu_park_in_guest(void *data)
{
	struct parked_vcpu *p = data;
	uint64_t v;

	TEST_ASSERT_EQ(__kvm_vcpu_read(p->vcpu, p->gpa, &v, 8), 0);
	complete(&p->in_guest);
	wait_for_completion(&p->go);
	kvm_vcpu_exit_guest(p->vcpu);
	return 0;
}

struct madvise_thread {
	struct test_vm *t;
	int done;
};

static int madvise_dontneed(void *data)
{
	struct madvise_thread *m = data;

	TEST_ASSERT_EQ(do_madvise(m->t->mm, m->t->hva, PAGE_SIZE, MADV_DONTNEED), 0);
	smp_store_release(&m->done, 1);
	return 0;
}

static unsigned int flush_waiters(struct kvm *kvm)
{
	struct wait_queue_entry *w;
	unsigned int n = 0;

	arch_spin_lock(&kvm->tlb_flush_wq.lock);
	list_for_each_entry(w, &kvm->tlb_flush_wq.head, entry)
		n++;
	arch_spin_unlock(&kvm->tlb_flush_wq.lock);
	return n;
}

/*
 * The invalidation waits for its vCPUs with mmu_lock dropped, so a fault
 * is not held up by a vCPU that is slow to answer its kick; rule 3 still
 * holds for a second invalidation of the same page, which finds nothing
 * left to zap: it returns only once the first one's flush is done, since
 * the vCPU may still hold the page in its TLB until then.
 */
TEST(invalidation_that_found_nothing_waits_for_the_flush_under_way)
{
	struct madvise_thread first = { 0 }, second = { 0 };
	struct parked_vcpu p = { 0 };
	struct kthread *kv, *k1, *k2;
	struct test_vm t;

	test_vm_create(&t, 16 * MB, 0);
	vcpu_write64(t.vcpu, t.gpa, 0x55);
	p.vcpu = t.vcpu;
	p.gpa = t.gpa;
	init_completion(&p.in_guest);
	init_completion(&p.go);
	kv = kthread_run(vcpu_park_in_guest, &p, "vcpu0");
	wait_for_completion(&p.in_guest);

	/* The first zaps the SPTE and waits for the vCPU, outside mmu_lock. */
	first.t = &t;
	k1 = kthread_run(madvise_dontneed, &first, "first");
	while (flush_waiters(t.kvm) < 1)
		sched_yield();
	TEST_ASSERT(write_trylock(&t.kvm->mmu_lock), "mmu_lock held while the vCPU is waited for");
	write_unlock(&t.kvm->mmu_lock);
	TEST_ASSERT_EQ(kvm_mmu_spte(t.kvm, gpa_to_gfn(t.gpa)), 0UL);

	/* The second finds nothing to zap; it must not return before the vCPU left. */
	TEST_ASSERT_EQ(sched_point_arm("kvm:invalidate_start_done", "second"), 0);
	second.t = &t;
	k2 = kthread_run(madvise_dontneed, &second, "second");
	while (flush_waiters(t.kvm) < 2 && !sched_point_parked("kvm:invalidate_start_done"))
		sched_yield();
	TEST_ASSERT(!sched_point_parked("kvm:invalidate_start_done"),
		    "returned while the vCPU may still use the zapped SPTE");
	TEST_ASSERT_EQ(READ_ONCE(t.vcpu->mode), EXITING_GUEST_MODE);

	complete(&p.go);
	TEST_ASSERT_EQ(sched_point_wait("kvm:invalidate_start_done"), 0);
	sched_point_release("kvm:invalidate_start_done");
	kthread_join(k1);
	kthread_join(k2);
	kthread_join(kv);
	TEST_ASSERT(first.done && second.done, "both returned");
	TEST_ASSERT_EQ(t.kvm->tlb_flush_done, t.kvm->tlb_flush_requested);
	test_vm_destroy(&t);
}
