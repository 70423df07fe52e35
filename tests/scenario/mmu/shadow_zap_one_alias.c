// SPDX-License-Identifier: GPL-2.0
/*
 * Museum: LEGACY_SHADOW_ZAP_ONE_ALIAS (rule 1, invalidate before free).
 *
 * The guest maps one page at three virtual addresses, so the shadow MMU
 * has three leaves for its gfn, and reads through each.  The host drops
 * the page (MADV_DONTNEED), which frees it once invalidate_range_start
 * has returned.  Then the guest reads through every alias again:
 *
 *  - with the rule, start zapped every leaf on the gfn's rmap and flushed:
 *    each read faults and finds the new, zeroed page;
 *  - with the switch, start zapped one leaf per gfn, as a shadow MMU that
 *    kept one reverse pointer per gfn would: the TLB was flushed, but the
 *    other two leaves still name the freed frame, and the reads through
 *    them are reported: "use-after-free read", or "stale translation"
 *    once the frame is reused.
 */
#include <string.h>

#include "base/legacy.h"
#include "mmu/shadow.h"
#include "tests/lib/paging_vm.h"

static const gva_t alias[] = { VA_A + 0x5000, VA_B + 0x7000, VA_HIGH + 0x3000 };

/* Returns how many of the reads after the drop were refused as use-after-free. */
static unsigned int drop_aliased_page(struct paging_vm *v)
{
	unsigned int refused = 0;

	for (unsigned int i = 0; i < ARRAY_SIZE(alias); i++)
		paging_map(v, alias[i], DATA_GPA(9), PT_WRITABLE_MASK);
	vcpu_write64(v->t.vcpu, DATA_GPA(9), 0x600d);
	load_cr3(v->t.vcpu, v->cr3);
	for (unsigned int i = 0; i < ARRAY_SIZE(alias); i++)
		TEST_ASSERT_EQ(gva_read64(v->t.vcpu, alias[i]), 0x600dUL);
	TEST_ASSERT_EQ(kvm_gfn_rmap_count(v->t.kvm, gpa_to_gfn(DATA_GPA(9))), 3U);

	TEST_ASSERT_EQ(do_madvise(v->t.mm, hva_of(v, DATA_GPA(9)), PAGE_SIZE, MADV_DONTNEED), 0);
	for (unsigned int i = 0; i < ARRAY_SIZE(alias); i++) {
		struct guest_walker w;
		uint64_t val = 0xbad;
		int r = kvm_vcpu_access_gva(v->t.vcpu, alias[i], &val, sizeof(val), 0, &w);

		if (r == -EFAULT) {
			refused++;
			continue;
		}
		TEST_ASSERT_EQ(r, 0);
		TEST_ASSERT_EQ(val, 0UL);
	}
	return refused;
}

TEST(with_every_alias_zapped)
{
	struct paging_vm v;

	paging_vm_create(&v, KVM_MMU_SHADOW);
	TEST_ASSERT_EQ(drop_aliased_page(&v), 0U);
	TEST_ASSERT_EQ(kvm_gfn_rmap_count(v.t.kvm, gpa_to_gfn(DATA_GPA(9))), 3U);
	expect_reports(REPORT_SANITIZER, 0);
	test_vm_destroy(&v.t);
}

TEST(legacy_shadow_zap_one_alias)
{
	struct paging_vm v;
	char title[128];

	paging_vm_create(&v, KVM_MMU_SHADOW);
	v.t.kvm->legacy = LEGACY_BIT(LEGACY_SHADOW_ZAP_ONE_ALIAS);
	TEST_ASSERT_EQ(drop_aliased_page(&v), 2U);
	expect_reports(REPORT_SANITIZER, 2);
	report_last_title(REPORT_SANITIZER, title, sizeof(title));
	/* Freed, or already reused: the re-fault through the zapped alias takes frames. */
	TEST_ASSERT(strstr(title, "use-after-free read") || strstr(title, "stale translation"),
		    "report: %s", title);

	/* test_vm_destroy() would fail on the counters this case is about. */
	kvm_destroy_vcpu(v.t.vcpu);
	kvm_destroy_vm(v.t.kvm);
	mmput(v.t.mm);
	TEST_ASSERT_EQ(test_pool_allocated(v.t.pool), 0UL);
	frame_pool_destroy(v.t.pool);
}
