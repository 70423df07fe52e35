// SPDX-License-Identifier: GPL-2.0
/*
 * The secondary fault path: host page present or absent, write-protected
 * (COW after fork, mprotect), read-only slots, the retry when an
 * invalidation runs between the host lookup and the install (made
 * deterministic with the "kvm:fault_after_gup" schedule point), and the
 * fault-injection switch.  No reference outlives a fault.
 */
#include <sched.h>
#include <string.h>

#include "base/kthread.h"
#include "base/sched_point.h"
#include "mmu/spte.h"
#include "tests/lib/kvm_util.h"

#define MB (1UL << 20)
#define RW (PROT_READ | PROT_WRITE)

static uint64_t spte_of(struct test_vm *t, unsigned long off)
{
	return kvm_mmu_spte(t->kvm, gpa_to_gfn(t->gpa + off));
}

TEST(fault_host_page_absent)
{
	struct test_vm t;
	uint64_t spte;

	test_vm_create(&t, 16 * MB, 0);
	TEST_ASSERT_EQ(vcpu_read64(t.vcpu, t.gpa + 7 * PAGE_SIZE), 0UL);
	spte = spte_of(&t, 7 * PAGE_SIZE);
	TEST_ASSERT(is_shadow_present_pte(spte), "no SPTE after the read fault");
	TEST_ASSERT_EQ((long)spte_to_pfn(spte), mm_pfn_at(t.mm, t.hva + 7 * PAGE_SIZE));

	vcpu_write64(t.vcpu, t.gpa + 7 * PAGE_SIZE + 8, 0xfeedUL);
	spte = spte_of(&t, 7 * PAGE_SIZE);
	TEST_ASSERT(is_writable_pte(spte) && (spte & PT_DIRTY_MASK), "spte %#lx",
		    (unsigned long)spte);
	uint64_t v;
	mm_read(t.mm, t.hva + 7 * PAGE_SIZE + 8, &v, sizeof(v));
	TEST_ASSERT_EQ(v, 0xfeedUL);
	/* The short reference is gone: only the host's mapping holds the page. */
	struct page *page = mm_lookup_page(t.mm, t.hva + 7 * PAGE_SIZE);
	TEST_ASSERT_EQ(page_count(page), 2); /* the mapping + mm_lookup_page's */
	put_page(page);
	TEST_ASSERT_EQ(kvm_stat_read(&t.kvm->stat.pf_retries), 0L);
	test_vm_destroy(&t);
}

TEST(fault_host_page_present)
{
	struct test_vm t;
	uint8_t buf[PAGE_SIZE];

	test_vm_create(&t, 16 * MB, 0);
	mm_fill(t.mm, t.hva, 4 * PAGE_SIZE, 42);
	for (int i = 0; i < 4; i++) {
		vcpu_read(t.vcpu, t.gpa + i * PAGE_SIZE, buf, PAGE_SIZE);
		for (unsigned long j = 0; j < PAGE_SIZE; j++)
			TEST_ASSERT(buf[j] == mm_pattern_byte(t.hva + i * PAGE_SIZE + j, 42),
				    "page %d byte %lu", i, j);
		TEST_ASSERT_EQ((long)spte_to_pfn(spte_of(&t, i * PAGE_SIZE)),
			       mm_pfn_at(t.mm, t.hva + i * PAGE_SIZE));
	}
	/* A second read hits the TLB. */
	long hits = kvm_stat_read(&t.vcpu->stat.tlb_hits);
	vcpu_read(t.vcpu, t.gpa, buf, 8);
	TEST_ASSERT_EQ(kvm_stat_read(&t.vcpu->stat.tlb_hits), hits + 1);
	test_vm_destroy(&t);
}

TEST(fault_cow_after_fork)
{
	struct test_vm t;
	struct mm_struct *child;
	uint64_t v;

	test_vm_create(&t, 16 * MB, 0);
	vcpu_write64(t.vcpu, t.gpa, 111);
	/* fork write-protects the parent's PTEs: the SPTE must go with them. */
	child = test_fork(t.mm);
	TEST_ASSERT(!is_writable_pte(spte_of(&t, 0)), "writable SPTE survived fork");

	/* A read maps the shared page read-only. */
	TEST_ASSERT_EQ(vcpu_read64(t.vcpu, t.gpa), 111UL);
	TEST_ASSERT(!is_writable_pte(spte_of(&t, 0)), "SPTE of a COW page is writable");
	TEST_ASSERT_EQ(mm_pfn_at(t.mm, t.hva), mm_pfn_at(child, t.hva));

	/* A write breaks COW in the host, and maps the new page. */
	vcpu_write64(t.vcpu, t.gpa, 222);
	TEST_ASSERT(mm_pfn_at(t.mm, t.hva) != mm_pfn_at(child, t.hva), "COW not broken");
	TEST_ASSERT_EQ((long)spte_to_pfn(spte_of(&t, 0)), mm_pfn_at(t.mm, t.hva));
	mm_read(child, t.hva, &v, sizeof(v));
	TEST_ASSERT_EQ(v, 111UL);
	mm_read(t.mm, t.hva, &v, sizeof(v));
	TEST_ASSERT_EQ(v, 222UL);
	mmput(child);
	test_vm_destroy(&t);
}

TEST(fault_write_protected)
{
	struct test_vm t;
	uint64_t v = 5;

	test_vm_create(&t, 16 * MB, 0);
	vcpu_write64(t.vcpu, t.gpa + PAGE_SIZE, 77);
	TEST_ASSERT_EQ(do_mprotect(t.mm, t.hva, t.size, PROT_READ), 0);
	TEST_ASSERT_EQ(spte_of(&t, PAGE_SIZE), 0UL);
	TEST_ASSERT_EQ(vcpu_read64(t.vcpu, t.gpa + PAGE_SIZE), 77UL);
	TEST_ASSERT(!is_writable_pte(spte_of(&t, PAGE_SIZE)), "writable SPTE of a read-only page");
	TEST_ASSERT_EQ(kvm_vcpu_write(t.vcpu, t.gpa + PAGE_SIZE, &v, sizeof(v)), -EFAULT);
	TEST_ASSERT_EQ(do_mprotect(t.mm, t.hva, t.size, RW), 0);
	vcpu_write64(t.vcpu, t.gpa + PAGE_SIZE, 78);
	TEST_ASSERT_EQ(vcpu_read64(t.vcpu, t.gpa + PAGE_SIZE), 78UL);
	test_vm_destroy(&t);
}

TEST(fault_readonly_slot)
{
	struct test_vm t;
	uint64_t v = 1;

	test_vm_create(&t, 16 * MB, 0);
	unsigned long a = test_mmap_anon(t.mm, MB, RW);
	mm_fill(t.mm, a, PAGE_SIZE, 9);
	TEST_ASSERT_EQ(kvm_set_memory_region(t.kvm, 1, KVM_MEM_READONLY, 16 * MB, MB, a), 0);
	vcpu_read(t.vcpu, 16 * MB, &v, sizeof(v));
	TEST_ASSERT(!is_writable_pte(kvm_mmu_spte(t.kvm, gpa_to_gfn(16 * MB))), "writable");
	TEST_ASSERT_EQ(kvm_vcpu_write(t.vcpu, 16 * MB, &v, sizeof(v)), -EFAULT);
	test_vm_destroy(&t);
}

struct fault_thread {
	struct kvm_vcpu *vcpu;
	gpa_t gpa;
	uint64_t val;
	int r;
};

static int vcpu_read_fn(void *data)
{
	struct fault_thread *f = data;

	f->r = kvm_vcpu_read(f->vcpu, f->gpa, &f->val, sizeof(f->val));
	return 0;
}

/*
 * The host drops the page between the vCPU's lookup and its install: the
 * install must not happen (the page is freed as soon as the fault drops
 * its reference), the fault retries and maps the new page.
 */
TEST(fault_retry_on_invalidation)
{
	struct fault_thread f;
	struct kthread *k;
	struct test_vm t;
	long old_pfn;

	test_vm_create(&t, 16 * MB, 0);
	mm_write(t.mm, t.hva, &(uint64_t){ 0xdead }, 8);
	old_pfn = mm_pfn_at(t.mm, t.hva);
	f = (struct fault_thread){ .vcpu = t.vcpu, .gpa = t.gpa };
	TEST_ASSERT_EQ(sched_point_arm("kvm:fault_after_gup", "vcpu0"), 0);
	k = kthread_run(vcpu_read_fn, &f, "vcpu0");
	TEST_ASSERT_EQ(sched_point_wait("kvm:fault_after_gup"), 0);

	/* The vCPU holds a short reference to the old page and is about to map it. */
	TEST_ASSERT_EQ(do_madvise(t.mm, t.hva, PAGE_SIZE, MADV_DONTNEED), 0);
	TEST_ASSERT_EQ(t.kvm->mmu_invalidate_in_progress, 0L);
	sched_point_release("kvm:fault_after_gup");
	kthread_join(k);

	TEST_ASSERT_EQ(f.r, 0);
	TEST_ASSERT_EQ(f.val, 0UL); /* the new, zeroed page; not 0xdead */
	TEST_ASSERT(kvm_stat_read(&t.kvm->stat.pf_retries) >= 1, "no retry");
	TEST_ASSERT(spte_to_pfn(spte_of(&t, 0)) == (unsigned long)mm_pfn_at(t.mm, t.hva),
		    "SPTE maps pfn %lu, host %ld (old %ld)", spte_to_pfn(spte_of(&t, 0)),
		    mm_pfn_at(t.mm, t.hva), old_pfn);
	test_vm_destroy(&t);
}

/* An invalidation in progress over the gfn stops the fault before the host lookup. */
TEST(fault_precheck_while_in_progress)
{
	struct test_vm t;
	unsigned long seq;

	test_vm_create(&t, 16 * MB, 0);
	write_lock(&t.kvm->mmu_lock);
	kvm_mmu_invalidate_begin(t.kvm);
	kvm_mmu_invalidate_range_add(t.kvm, gpa_to_gfn(t.gpa), gpa_to_gfn(t.gpa) + 1);
	seq = t.kvm->mmu_invalidate_seq;
	TEST_ASSERT(mmu_invalidate_retry_gfn(t.kvm, seq, gpa_to_gfn(t.gpa)), "in range");
	TEST_ASSERT(!mmu_invalidate_retry_gfn(t.kvm, seq, gpa_to_gfn(t.gpa) + 1), "out of range");
	TEST_ASSERT(mmu_invalidate_retry_gfn(t.kvm, seq - 1, gpa_to_gfn(t.gpa) + 1), "old seq");
	kvm_mmu_invalidate_end(t.kvm);
	TEST_ASSERT(mmu_invalidate_retry_gfn(t.kvm, seq, gpa_to_gfn(t.gpa)), "seq moved");
	TEST_ASSERT(!mmu_invalidate_retry_gfn(t.kvm, seq + 1, gpa_to_gfn(t.gpa)), "idle");
	write_unlock(&t.kvm->mmu_lock);
	TEST_ASSERT(mmu_invalidate_retry_gfn_unsafe(t.kvm, seq, gpa_to_gfn(t.gpa)), "unsafe");
	test_vm_destroy(&t);
}

/*
 * Invalidations overlapping in time (two notifier callers, each between its
 * start and end) share one range, the union of theirs: a fault on a gfn
 * that only a later, overlapping range covers must retry too, or it maps a
 * page that invalidation is taking away.  Each later range widens one end.
 */
TEST(fault_precheck_covers_union_of_overlapping_ranges)
{
	struct test_vm t;
	unsigned long seq;
	gfn_t g;

	test_vm_create(&t, 16 * MB, 0);
	g = gpa_to_gfn(t.gpa);
	write_lock(&t.kvm->mmu_lock);
	kvm_mmu_invalidate_begin(t.kvm);
	kvm_mmu_invalidate_range_add(t.kvm, g + 2, g + 4);
	kvm_mmu_invalidate_begin(t.kvm);
	kvm_mmu_invalidate_range_add(t.kvm, g + 3, g + 6); /* widens the end */
	kvm_mmu_invalidate_begin(t.kvm);
	kvm_mmu_invalidate_range_add(t.kvm, g, g + 3); /* widens the start */
	seq = t.kvm->mmu_invalidate_seq;
	for (gfn_t i = g; i < g + 6; i++)
		TEST_ASSERT(mmu_invalidate_retry_gfn(t.kvm, seq, i), "gfn +%lu in the union",
			    (unsigned long)(i - g));
	TEST_ASSERT(!mmu_invalidate_retry_gfn(t.kvm, seq, g + 6), "past the union");
	/* One caller ending leaves the others in progress: the union stays. */
	kvm_mmu_invalidate_end(t.kvm);
	seq = t.kvm->mmu_invalidate_seq;
	TEST_ASSERT(mmu_invalidate_retry_gfn(t.kvm, seq, g + 5), "union kept while in progress");
	TEST_ASSERT(mmu_invalidate_retry_gfn(t.kvm, seq, g), "union kept while in progress");
	kvm_mmu_invalidate_end(t.kvm);
	kvm_mmu_invalidate_end(t.kvm);
	write_unlock(&t.kvm->mmu_lock);
	test_vm_destroy(&t);
}

TEST(fault_injected_retries)
{
	struct test_vm t;

	test_vm_create(&t, 16 * MB, 0);
	t.kvm->fault_inject_retry_interval = 2;
	for (int i = 0; i < 32; i++)
		vcpu_write64(t.vcpu, t.gpa + i * PAGE_SIZE, i);
	for (int i = 0; i < 32; i++)
		TEST_ASSERT_EQ(vcpu_read64(t.vcpu, t.gpa + i * PAGE_SIZE), (uint64_t)i);
	TEST_ASSERT(kvm_stat_read(&t.kvm->stat.pf_retries_injected) >= 16, "%ld injected",
		    kvm_stat_read(&t.kvm->stat.pf_retries_injected));
	TEST_ASSERT_EQ(kvm_stat_read(&t.kvm->stat.pf_retries),
		       kvm_stat_read(&t.kvm->stat.pf_retries_injected));
	test_vm_destroy(&t);
}

/* A fault after the mm exited finds nothing: the VM held mm_count only. */
TEST(fault_after_mm_exit)
{
	struct test_vm t;
	uint64_t v;

	test_vm_create(&t, 16 * MB, 0);
	vcpu_write64(t.vcpu, t.gpa, 1);
	mmput(t.mm); /* the last user: exit_mmap, release zaps the SPTEs */
	TEST_ASSERT_EQ(spte_of(&t, 0), 0UL);
	TEST_ASSERT_EQ(kvm_vcpu_read(t.vcpu, t.gpa, &v, sizeof(v)), -EFAULT);
	kvm_destroy_vcpu(t.vcpu);
	kvm_destroy_vm(t.kvm);
	test_pool_destroy(t.pool);
}

static int host_dontneed_fn(void *data)
{
	struct test_vm *t = data;

	TEST_ASSERT_EQ(do_madvise(t->mm, t->hva, PAGE_SIZE, MADV_DONTNEED), 0);
	return 0;
}

/*
 * Between an invalidation's start and its end no SPTE of the range may be
 * made, even though start has already zapped: a fault in the window
 * retries (caught by the lockless pre-check) until end.
 */
TEST(fault_waits_out_invalidation_window)
{
	struct fault_thread f;
	struct kthread *host, *vcpu;
	struct test_vm t;

	test_vm_create(&t, 16 * MB, 0);
	vcpu_write64(t.vcpu, t.gpa, 0x42);
	TEST_ASSERT_EQ(sched_point_arm("kvm:invalidate_start_done", "host"), 0);
	host = kthread_run(host_dontneed_fn, &t, "host");
	TEST_ASSERT_EQ(sched_point_wait("kvm:invalidate_start_done"), 0);
	TEST_ASSERT_EQ(spte_of(&t, 0), 0UL);

	f = (struct fault_thread){ .vcpu = t.vcpu, .gpa = t.gpa };
	vcpu = kthread_run(vcpu_read_fn, &f, "vcpu0");
	while (kvm_stat_read(&t.kvm->stat.pf_retries) < 3)
		sched_yield();
	TEST_ASSERT(kvm_stat_read(&t.kvm->stat.pf_retries_early) >= 3, "not the pre-check");
	TEST_ASSERT_EQ(spte_of(&t, 0), 0UL);

	sched_point_release("kvm:invalidate_start_done");
	kthread_join(host);
	kthread_join(vcpu);
	TEST_ASSERT_EQ(f.r, 0);
	TEST_ASSERT_EQ(f.val, 0UL);
	TEST_ASSERT_EQ((long)spte_to_pfn(spte_of(&t, 0)), mm_pfn_at(t.mm, t.hva));
	test_vm_destroy(&t);
}
