// SPDX-License-Identifier: GPL-2.0
/*
 * Museum: LEGACY_NO_REMOTE_FLUSH (rule 3, flush before return).
 *
 * A vCPU reads a page, filling its TLB, and stays in guest mode.  The host
 * drops the page (MADV_DONTNEED), which frees it as soon as
 * invalidate_range_start has returned.  Then the vCPU reads again:
 *
 *  - with the rule, start zapped the SPTE and kicked the vCPU out of guest
 *    mode, waiting for it; it flushed its TLB on re-entry, faults, and
 *    reads the new, zeroed page;
 *  - with the switch, start zapped the SPTE but told no vCPU: the TLB
 *    still names the freed frame and the read through it is reported.
 */
#include <string.h>

#include "base/completion.h"
#include "base/kthread.h"
#include "base/legacy.h"
#include "base/spinlock.h"
#include "mmu/spte.h"
#include "tests/lib/kvm_util.h"

#define MB (1UL << 20)

static void run(struct test_vm *t, struct guest_reader *g)
{
	struct kthread *k;

	vcpu_write64(t->vcpu, t->gpa, 0x600d);
	*g = (struct guest_reader){ .vcpu = t->vcpu, .gpa = t->gpa };
	init_completion(&g->cached);
	k = kthread_run(guest_reader_fn, g, "vcpu0");
	wait_for_completion(&g->cached);
	TEST_ASSERT_EQ(do_madvise(t->mm, t->hva, PAGE_SIZE, MADV_DONTNEED), 0);
	TEST_ASSERT_EQ(kvm_mmu_spte(t->kvm, gpa_to_gfn(t->gpa)), 0UL);
	smp_store_release(&g->go, 1);
	kthread_join(k);
	TEST_ASSERT_EQ(g->first, 0x600dUL);
}

TEST(with_remote_flush)
{
	struct test_vm t;
	struct guest_reader g;

	test_vm_create(&t, 16 * MB, 0);
	run(&t, &g);
	TEST_ASSERT_EQ(g.r, 0);
	TEST_ASSERT_EQ(g.second, 0UL);
	TEST_ASSERT_EQ(kvm_stat_read(&t.vcpu->stat.kicks_acked), 1L);
	expect_reports(REPORT_SANITIZER, 0);
	test_vm_destroy(&t);
}

TEST(legacy_no_remote_flush)
{
	struct test_vm t;
	struct guest_reader g;
	char title[128];

	test_vm_create(&t, 16 * MB, 0);
	t.kvm->legacy = LEGACY_BIT(LEGACY_NO_REMOTE_FLUSH);
	run(&t, &g);
	TEST_ASSERT_EQ(g.r, -EFAULT);
	TEST_ASSERT_EQ(kvm_stat_read(&t.vcpu->stat.kicks_acked), 0L);
	expect_reports(REPORT_SANITIZER, 1);
	report_last_title(REPORT_SANITIZER, title, sizeof(title));
	TEST_ASSERT(strstr(title, "use-after-free read"), "report: %s", title);

	kvm_destroy_vcpu(t.vcpu);
	kvm_destroy_vm(t.kvm);
	mmput(t.mm);
	TEST_ASSERT_EQ(test_pool_allocated(t.pool), 0UL);
	frame_pool_destroy(t.pool);
}
