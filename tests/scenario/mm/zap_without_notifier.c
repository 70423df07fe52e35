// SPDX-License-Identifier: GPL-2.0
/*
 * Museum: LEGACY_ZAP_WITHOUT_NOTIFIER (rule 1, invalidate before free).
 *
 * A vCPU reads a page of guest RAM, so the secondary MMU maps it and the
 * vCPU's TLB holds the translation, and stays in guest mode.  The host
 * then takes the page away through one of the two zaps the switch
 * changes, MADV_DONTNEED or the OOM reaper, and the gathered page is
 * freed at tlb_finish_mmu().  Then the vCPU reads again:
 *
 *  - with the rule, the zap announced the range first: start zapped the
 *    SPTE and flushed the vCPU, whose read faults and finds the new,
 *    zeroed page;
 *  - with the switch, no secondary MMU heard of it, as with the OOM
 *    reaper of Linux 4.6 to 4.13: the SPTE and the TLB still name the
 *    freed frame, the read through them is reported, and the report
 *    names the switch.
 */
#include <string.h>

#include "base/completion.h"
#include "base/kthread.h"
#include "base/legacy.h"
#include "base/spinlock.h"
#include "mm/mm.h"
#include "mmu/spte.h"
#include "tests/lib/kvm_util.h"

#define MB (1UL << 20)

static void madvise_dontneed(struct test_vm *t)
{
	TEST_ASSERT_EQ(do_madvise(t->mm, t->hva, PAGE_SIZE, MADV_DONTNEED), 0);
}

/* The OOM killer chose the VMM: its private anonymous RAM goes at once. */
static void oom_reap(struct test_vm *t)
{
	TEST_ASSERT_EQ(__oom_reap_task_mm(t->mm), 0);
}

/* The vCPU caches the page, the host drops it with @drop, the vCPU reads again. */
static void run(struct test_vm *t, struct guest_reader *g, void (*drop)(struct test_vm *t))
{
	struct kthread *k;

	vcpu_write64(t->vcpu, t->gpa, 0x600d);
	*g = (struct guest_reader){ .vcpu = t->vcpu, .gpa = t->gpa };
	init_completion(&g->cached);
	k = kthread_run(guest_reader_fn, g, "vcpu0");
	wait_for_completion(&g->cached);
	drop(t);
	TEST_ASSERT_EQ(mm_pte_val(t->mm, t->hva), 0UL);
	smp_store_release(&g->go, 1);
	kthread_join(k);
	TEST_ASSERT_EQ(g->first, 0x600dUL);
}

static void with_the_rule(void (*drop)(struct test_vm *t))
{
	struct test_vm t;
	struct guest_reader g;

	test_vm_create(&t, 16 * MB, 0);
	run(&t, &g, drop);
	TEST_ASSERT_EQ(g.r, 0);
	TEST_ASSERT_EQ(g.second, 0UL);
	TEST_ASSERT(kvm_stat_read(&t.vcpu->stat.kicks_acked) >= 1, "the vCPU was flushed");
	expect_reports(REPORT_SANITIZER, 0);
	TEST_ASSERT_EQ(legacy_tainted(), 0UL);
	test_vm_destroy(&t);
}

static void with_the_switch(void (*drop)(struct test_vm *t))
{
	struct test_vm t;
	struct guest_reader g;
	char title[128];

	test_vm_create(&t, 16 * MB, 0);
	t.mm->legacy = LEGACY_BIT(LEGACY_ZAP_WITHOUT_NOTIFIER);
	run(&t, &g, drop);
	TEST_ASSERT_EQ(g.r, -EFAULT);
	TEST_ASSERT_EQ(kvm_stat_read(&t.vcpu->stat.kicks_acked), 0L);
	TEST_ASSERT(kvm_mmu_spte(t.kvm, gpa_to_gfn(t.gpa)) != 0, "the SPTE survived the zap");
	expect_reports(REPORT_SANITIZER, 1);
	report_last_title(REPORT_SANITIZER, title, sizeof(title));
	TEST_ASSERT(strstr(title, "use-after-free read"), "report: %s", title);
	/* The report's last lines name the switch (base/report.c). */
	TEST_ASSERT_EQ(legacy_tainted(), LEGACY_BIT(LEGACY_ZAP_WITHOUT_NOTIFIER));

	/* test_vm_destroy() would fail on the counters this case is about. */
	kvm_destroy_vcpu(t.vcpu);
	kvm_destroy_vm(t.kvm);
	mmput(t.mm);
	TEST_ASSERT_EQ(test_pool_allocated(t.pool), 0UL);
	frame_pool_destroy(t.pool);
}

TEST(madvise_dontneed_announces_the_range)
{
	with_the_rule(madvise_dontneed);
}

TEST(legacy_madvise_dontneed_without_notifier)
{
	with_the_switch(madvise_dontneed);
}

TEST(oom_reaper_announces_the_range)
{
	with_the_rule(oom_reap);
}

TEST(legacy_oom_reaper_without_notifier)
{
	with_the_switch(oom_reap);
}
