// SPDX-License-Identifier: GPL-2.0
/*
 * Museum: LEGACY_NO_INVALIDATE_RETRY (rule 2, retry instead of pin).
 *
 * A vCPU's fault looks the host page up and stops ("kvm:fault_after_gup")
 * holding its short reference.  The host then drops the page (MADV_DONTNEED:
 * invalidate_range_start finds no SPTE yet, the PTE goes, end bumps the
 * sequence) and the page now lives only by the fault's reference.  The
 * fault goes on:
 *
 *  - with the rule, it sees the sequence moved under mmu_lock, drops the
 *    reference (freeing the page) and retries: it maps the new, zeroed page;
 *  - with the switch, it installs the SPTE anyway and drops the reference:
 *    the SPTE now names a freed frame, and the vCPU's next access through
 *    it is a use-after-free report.
 */
#include <string.h>

#include "base/kthread.h"
#include "base/legacy.h"
#include "base/sched_point.h"
#include "mmu/spte.h"
#include "tests/lib/kvm_util.h"

#define MB (1UL << 20)

struct vcpu_read_arg {
	struct kvm_vcpu *vcpu;
	gpa_t gpa;
	uint64_t val;
	int r;
};

static int vcpu_read_fn(void *data)
{
	struct vcpu_read_arg *a = data;

	a->r = kvm_vcpu_read(a->vcpu, a->gpa, &a->val, sizeof(a->val));
	return 0;
}

/* Fault at t->gpa with the host page dropped between lookup and install. */
static void race_fault_with_dontneed(struct test_vm *t, struct vcpu_read_arg *a)
{
	struct kthread *k;

	mm_write(t->mm, t->hva, &(uint64_t){ 0x5eed }, 8);
	*a = (struct vcpu_read_arg){ .vcpu = t->vcpu, .gpa = t->gpa };
	TEST_ASSERT_EQ(sched_point_arm("kvm:fault_after_gup", "vcpu0"), 0);
	k = kthread_run(vcpu_read_fn, a, "vcpu0");
	TEST_ASSERT_EQ(sched_point_wait("kvm:fault_after_gup"), 0);
	TEST_ASSERT_EQ(do_madvise(t->mm, t->hva, PAGE_SIZE, MADV_DONTNEED), 0);
	sched_point_release("kvm:fault_after_gup");
	kthread_join(k);
}

TEST(with_retry)
{
	struct vcpu_read_arg a;
	struct test_vm t;

	test_vm_create(&t, 16 * MB, 0);
	race_fault_with_dontneed(&t, &a);
	TEST_ASSERT_EQ(a.r, 0);
	TEST_ASSERT_EQ(a.val, 0UL);
	TEST_ASSERT(kvm_stat_read(&t.kvm->stat.pf_retries) >= 1, "no retry");
	/* The guest and the host see one page. */
	vcpu_write64(t.vcpu, t.gpa, 0xabc);
	uint64_t v;
	mm_read(t.mm, t.hva, &v, sizeof(v));
	TEST_ASSERT_EQ(v, 0xabcUL);
	expect_reports(REPORT_SANITIZER, 0);
	test_vm_destroy(&t);
}

TEST(legacy_no_invalidate_retry)
{
	struct vcpu_read_arg a;
	struct test_vm t;
	char title[128];

	test_vm_create(&t, 16 * MB, 0);
	t.kvm->legacy = LEGACY_BIT(LEGACY_NO_INVALIDATE_RETRY);
	race_fault_with_dontneed(&t, &a);
	TEST_ASSERT_EQ(kvm_stat_read(&t.kvm->stat.pf_retries), 0L);
	/* The stale SPTE's frame was freed; the access after the fault caught it. */
	TEST_ASSERT_EQ(a.r, -EFAULT);
	expect_reports(REPORT_SANITIZER, 1);
	report_last_title(REPORT_SANITIZER, title, sizeof(title));
	TEST_ASSERT(strstr(title, "use-after-free read"), "report: %s", title);

	kvm_destroy_vcpu(t.vcpu);
	kvm_destroy_vm(t.kvm);
	mmput(t.mm);
	TEST_ASSERT_EQ(test_pool_allocated(t.pool), 0UL);
	frame_pool_destroy(t.pool);
}
