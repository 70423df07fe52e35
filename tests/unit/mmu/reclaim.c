// SPDX-License-Identifier: GPL-2.0
/*
 * The secondary MMU under the host's reclaim and migration: a guest page
 * swapped out faults back in with its data; a page the guest dirtied only
 * through its SPTE is written to swap, not dropped as clean; file data
 * written by the guest survives reclaim and is in the file; migration
 * moves guest pages and the guest follows.
 */
#include "mm/migrate.h"
#include "mm/swap.h"
#include "mmu/spte.h"
#include "tests/lib/kvm_util.h"

#define MB (1UL << 20)
#define NR 32

static void guest_fill(struct kvm_vcpu *vcpu, gpa_t gpa, unsigned long n, uint64_t seed)
{
	for (unsigned long i = 0; i < n; i++)
		vcpu_write64(vcpu, gpa + i * PAGE_SIZE + 8 * (i % 64), seed * 1000 + i);
}

static void guest_check(struct kvm_vcpu *vcpu, gpa_t gpa, unsigned long n, uint64_t seed)
{
	for (unsigned long i = 0; i < n; i++)
		TEST_ASSERT_EQ(vcpu_read64(vcpu, gpa + i * PAGE_SIZE + 8 * (i % 64)),
			       seed * 1000 + i);
}

TEST(fault_host_page_swapped)
{
	struct test_vm t;
	unsigned long freed;

	test_vm_create(&t, 16 * MB, 0);
	test_swapon(1024);
	guest_fill(t.vcpu, t.gpa, NR, 1);
	freed = shrink_node(t.pool->pgdat, 4 * NR);
	TEST_ASSERT(freed >= NR, "reclaimed %lu", freed);
	TEST_ASSERT(atomic_long_read(&t.pool->pgdat->stats.pswpout) >= NR, "not swapped out");
	TEST_ASSERT(kvm_stat_read(&t.kvm->stat.sptes_zapped) >= NR, "SPTEs not zapped");
	for (unsigned long i = 0; i < NR; i++)
		TEST_ASSERT_EQ(kvm_mmu_spte(t.kvm, gpa_to_gfn(t.gpa) + i), 0UL);
	guest_check(t.vcpu, t.gpa, NR, 1);
	TEST_ASSERT(atomic_long_read(&t.pool->pgdat->stats.pswpin) >= NR, "not swapped in");
	test_vm_destroy(&t);
}

/*
 * After swap-in the host page is clean, its copy on swap.  A guest write
 * through a writable SPTE dirties only the SPTE; reclaim's unmap must move
 * that to the page, or the page is dropped as clean and the write lost.
 */
TEST(guest_dirty_survives_second_swapout)
{
	atomic_long_t *pswpout;
	struct test_vm t;
	long before;

	test_vm_create(&t, 16 * MB, 0);
	pswpout = &t.pool->pgdat->stats.pswpout;
	test_swapon(1024);
	guest_fill(t.vcpu, t.gpa, NR, 1);
	shrink_node(t.pool->pgdat, 4 * NR);
	guest_check(t.vcpu, t.gpa, NR, 1);
	guest_fill(t.vcpu, t.gpa, NR, 2);
	before = atomic_long_read(pswpout);
	shrink_node(t.pool->pgdat, 4 * NR);
	/* Swapped out again, or the check below reads memory and proves nothing. */
	TEST_ASSERT(atomic_long_read(pswpout) - before >= NR, "second reclaim swapped out %ld",
		    atomic_long_read(pswpout) - before);
	guest_check(t.vcpu, t.gpa, NR, 2);
	test_vm_destroy(&t);
}

TEST(file_data_survives_reclaim)
{
	struct test_vm t;

	test_vm_create_file(&t, 16 * MB, NR * PAGE_SIZE, 3);
	guest_fill(t.vcpu, t.gpa, NR, 7);
	TEST_ASSERT(shrink_node(t.pool->pgdat, 4 * NR) >= NR, "file pages not reclaimed");
	for (unsigned long i = 0; i < NR; i++) {
		uint64_t v;

		test_file_read(t.file, i * PAGE_SIZE + 8 * (i % 64), &v, sizeof(v));
		TEST_ASSERT_EQ(v, 7000 + i);
	}
	guest_check(t.vcpu, t.gpa, NR, 7);
	test_vm_destroy(&t);
}

TEST(migration_moves_guest_pages)
{
	struct migrate_stats st = { 0 };
	uint64_t seed = 1;
	struct test_vm t;
	long migrated;

	test_vm_create(&t, 16 * MB, 0);
	guest_fill(t.vcpu, t.gpa, NR, 4);
	migrated = migrate_random_pages(t.mm, NR, &seed, &st);
	TEST_ASSERT(migrated > 0, "nothing migrated (busy %lu, again %lu)", st.busy, st.again);
	TEST_ASSERT(kvm_stat_read(&t.kvm->stat.sptes_zapped) >= migrated, "SPTEs not zapped");
	guest_check(t.vcpu, t.gpa, NR, 4);
	for (unsigned long i = 0; i < NR; i++) {
		struct page *page = mm_lookup_page(t.mm, t.hva + i * PAGE_SIZE);

		TEST_ASSERT_EQ(spte_to_pfn(kvm_mmu_spte(t.kvm, gpa_to_gfn(t.gpa) + i)),
			       page_to_pfn(page));
		put_page(page);
	}
	test_vm_destroy(&t);
}
