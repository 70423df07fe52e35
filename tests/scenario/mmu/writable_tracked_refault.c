// SPDX-License-Identifier: GPL-2.0
/*
 * Museum: LEGACY_WRITABLE_TRACKED_REFAULT (no protocol rule: the shadow
 * MMU's coherence with the guest's tables, "shadowed guest tables
 * write-protected", docs/design.md "Shadow MMU").
 *
 * The guest maps its own page table at VA_PT, reads VA_A through that
 * table (the table is shadowed, so write-tracked) and VA_PT.  The host
 * swaps the table page out, and the guest's next access to VA_PT faults
 * it back in.  Then the guest points VA_A at another page by a store
 * through VA_PT, reloads CR3 (which drops every translation) and reads
 * VA_A:
 *
 *  - with the rule, the re-fault installed VA_PT read-only: the store is
 *    emulated, the shadow leaf made from the old PTE goes, and the read
 *    sees the new page;
 *  - with the switch, the re-fault installed a writable leaf: the store
 *    goes straight to memory, nothing tells the shadow MMU, and the read
 *    after the CR3 reload still sees the old page.  No frame is misused,
 *    so the sanitizer says nothing; the guest's own check would fail.
 */
#include "base/legacy.h"
#include "mm/swap.h"
#include "mmu/shadow.h"
#include "tests/lib/paging_vm.h"

#define VA_PT (VA_B + 0x40000)

/* What VA_A reads after the guest remapped it through VA_PT. */
static uint64_t remap_after_reclaim(struct paging_vm *v)
{
	gpa_t pte_gpa = guest_pte_gpa(&v->gt, v->cr3, VA_A, PG_LEVEL_4K);
	gpa_t pt = pte_gpa & PAGE_MASK;

	test_swapon(256);
	vcpu_write64(v->t.vcpu, DATA_GPA(1), 1);
	vcpu_write64(v->t.vcpu, DATA_GPA(2), 2);
	paging_map(v, VA_A, DATA_GPA(1), PT_WRITABLE_MASK);
	paging_map(v, VA_PT, pt, PT_WRITABLE_MASK | PT_DIRTY_MASK);
	load_cr3(v->t.vcpu, v->cr3);
	TEST_ASSERT_EQ(gva_read64(v->t.vcpu, VA_A), 1UL);
	TEST_ASSERT_EQ(gva_read64(v->t.vcpu, VA_PT + (pte_gpa & ~PAGE_MASK)) & PAGE_MASK,
		       DATA_GPA(1));
	TEST_ASSERT_EQ(kvm_gfn_write_track_count(v->t.kvm, gpa_to_gfn(pt)), 1U);

	TEST_ASSERT(mm_pageout(v->t.mm, hva_of(v, pt)), "the table page swapped out");
	kvm_vcpu_flush_guest_tlb(v->t.vcpu);
	TEST_ASSERT_EQ(gva_read64(v->t.vcpu, VA_PT), guest_pte_read(&v->gt, pt));

	gva_write64(v->t.vcpu, VA_PT + (pte_gpa & ~PAGE_MASK),
		    DATA_GPA(2) | PT_PRESENT_MASK | PT_WRITABLE_MASK);
	load_cr3(v->t.vcpu, v->cr3);
	return gva_read64(v->t.vcpu, VA_A);
}

TEST(with_the_table_write_protected)
{
	struct paging_vm v;

	paging_vm_create(&v, KVM_MMU_SHADOW);
	TEST_ASSERT_EQ(remap_after_reclaim(&v), 2UL);
	TEST_ASSERT_EQ(kvm_stat_read(&v.t.vcpu->stat.tracked_writes), 1L);
	expect_reports(REPORT_SANITIZER, 0);
	test_vm_destroy(&v.t);
}

TEST(legacy_writable_tracked_refault)
{
	struct paging_vm v;

	paging_vm_create(&v, KVM_MMU_SHADOW);
	v.t.kvm->legacy = LEGACY_BIT(LEGACY_WRITABLE_TRACKED_REFAULT);
	TEST_ASSERT_EQ(remap_after_reclaim(&v), 1UL); /* the stale translation */
	TEST_ASSERT_EQ(kvm_stat_read(&v.t.vcpu->stat.tracked_writes), 0L);
	expect_reports(REPORT_SANITIZER, 0);
	test_vm_destroy(&v.t);
}
