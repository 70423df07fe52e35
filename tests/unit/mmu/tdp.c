// SPDX-License-Identifier: GPL-2.0
/*
 * TDP: a vCPU on the guest's own tables (mmu/paging.c), driven through the
 * access engine by guest-virtual address, with the tables built in guest
 * RAM through the host mm.  Every guest table page is reached through an
 * SPTE that is faulted in like a data page's; the TLB caches virtual pages
 * with the rights of the whole translation; INVLPG and CR3 loads drop what
 * the guest changed; and a host invalidation of a table page (a zap,
 * reclaim, migration) leaves no translation derived through it alive.
 */
#include "base/legacy.h"
#include "mm/swap.h"
#include "mmu/spte.h"
#include "tests/lib/paging_vm.h"

static void tdp_vm_create(struct paging_vm *v)
{
	paging_vm_create(v, KVM_MMU_TDP);
}

TEST(cr3_loads_need_tdp_and_ram)
{
	struct paging_vm v;

	tdp_vm_create(&v);
	v.t.kvm->mmu_mode = KVM_MMU_FLAT;
	TEST_ASSERT_EQ(kvm_vcpu_load_cr3(v.t.vcpu, v.cr3), -EOPNOTSUPP);
	v.t.kvm->mmu_mode = KVM_MMU_TDP;
	TEST_ASSERT_EQ(kvm_vcpu_load_cr3(v.t.vcpu, 0x10000), -EINVAL); /* below the slot */
	TEST_ASSERT_EQ(kvm_vcpu_load_cr3(v.t.vcpu, v.t.gpa + v.t.size), -EINVAL);
	TEST_ASSERT_EQ(kvm_vcpu_load_cr3(v.t.vcpu, v.cr3 | 1ULL << GUEST_MAXPHYADDR), -EINVAL);
	TEST_ASSERT_EQ(kvm_vcpu_load_cr3(v.t.vcpu, v.cr3 | 1ULL << 55), -EINVAL);
	TEST_ASSERT_EQ(v.t.vcpu->cr3, KVM_CR3_IDENTITY);
	/* PWT and PCD are flags, not address. */
	load_cr3(v.t.vcpu, v.cr3 | 0x18);
	load_cr3(v.t.vcpu, KVM_CR3_IDENTITY);
	TEST_ASSERT_EQ(kvm_stat_read(&v.t.vcpu->stat.cr3_loads), 2L);
	test_vm_destroy(&v.t);
}

/* Until the guest loads a CR3, a guest-virtual address is its guest-physical one. */
TEST(identity_map_until_a_cr3_load)
{
	struct paging_vm v;

	tdp_vm_create(&v);
	vcpu_write64(v.t.vcpu, DATA_GPA(3), 33);
	TEST_ASSERT_EQ(gva_read64(v.t.vcpu, DATA_GPA(3)), 33UL);
	TEST_ASSERT_EQ(walks(v.t.vcpu), 0L);
	test_vm_destroy(&v.t);
}

/*
 * The first access walks four guest tables no SPTE maps yet: five
 * secondary faults, one per table page and one for the page, each a
 * short reference, and A set in every entry through a writable SPTE.
 */
TEST(walk_faults_in_every_table_page)
{
	struct paging_vm v;
	long faults;

	tdp_vm_create(&v);
	paging_map(&v, VA_A, DATA_GPA(5), PT_WRITABLE_MASK);
	mm_write(v.t.mm, hva_of(&v, DATA_GPA(5)) + 8, &(uint64_t){ 0x5555 }, 8);
	load_cr3(v.t.vcpu, v.cr3);
	faults = kvm_stat_read(&v.t.kvm->stat.faults);
	TEST_ASSERT_EQ(gva_read64(v.t.vcpu, VA_A + 8), 0x5555UL);
	TEST_ASSERT_EQ(kvm_stat_read(&v.t.kvm->stat.faults) - faults, 5L);
	TEST_ASSERT_EQ(kvm_stat_read(&v.t.kvm->stat.pages_pinned), 0L);
	for (int level = 4; level >= 1; level--) {
		gpa_t pte_gpa = guest_pte_gpa(&v.gt, v.cr3, VA_A, level);
		uint64_t spte = kvm_mmu_spte(v.t.kvm, gpa_to_gfn(pte_gpa));

		TEST_ASSERT(guest_pte_read(&v.gt, pte_gpa) & PT_ACCESSED_MASK, "A at level %d",
			    level);
		TEST_ASSERT(!(guest_pte_read(&v.gt, pte_gpa) & PT_DIRTY_MASK), "no D at %d", level);
		/* The A update was a store: the table's SPTE is writable and dirty. */
		TEST_ASSERT(spte_writable_dirty(spte), "table SPTE %#lx at level %d",
			    (unsigned long)spte, level);
	}
	/* A read leaves the data page's SPTE clean. */
	TEST_ASSERT(!(kvm_mmu_spte(v.t.kvm, gpa_to_gfn(DATA_GPA(5))) & PT_DIRTY_MASK), "clean");
	test_vm_destroy(&v.t);
}

TEST(tlb_caches_by_virtual_page)
{
	struct kvm_tlb_xlate xl;
	struct guest_walker w;
	struct paging_vm v;
	long w0;

	tdp_vm_create(&v);
	paging_map(&v, VA_A, DATA_GPA(1), PT_WRITABLE_MASK);
	load_cr3(v.t.vcpu, v.cr3);
	gva_write64(v.t.vcpu, VA_A, 1);
	w0 = walks(v.t.vcpu);
	TEST_ASSERT_EQ(gva_read64(v.t.vcpu, VA_A + 16), 0UL);
	gva_write64(v.t.vcpu, VA_A + 24, 2);
	TEST_ASSERT_EQ(walks(v.t.vcpu), w0);
	/* The GPA engine still means guest-physical on the same vCPU. */
	TEST_ASSERT_EQ(vcpu_read64(v.t.vcpu, DATA_GPA(1)), 1UL);
	vcpu_write64(v.t.vcpu, DATA_GPA(1) + 32, 3);
	TEST_ASSERT_EQ(gva_read64(v.t.vcpu, VA_A + 32), 3UL);
	TEST_ASSERT_EQ(walks(v.t.vcpu), w0);
	/* A hit answers with the guest-physical address too (the decode cache's key). */
	kvm_vcpu_enter_guest(v.t.vcpu);
	TEST_ASSERT_EQ(kvm_vcpu_translate_gva(v.t.vcpu, VA_A + 0x48, 0, &xl, &w), 0);
	TEST_ASSERT_EQ(xl.gpa, DATA_GPA(1) + 0x48);
	kvm_vcpu_exit_guest(v.t.vcpu);
	TEST_ASSERT_EQ(walks(v.t.vcpu), w0);
	test_vm_destroy(&v.t);
}

/*
 * A virtual page whose number is a gfn, mapped to another gfn: the GPA
 * engine and the guest-virtual translation use one TLB, and neither may
 * take the other's entry.
 */
TEST(gpa_and_gva_entries_do_not_mix)
{
	struct paging_vm v;

	tdp_vm_create(&v);
	vcpu_write64(v.t.vcpu, DATA_GPA(1), 1);
	vcpu_write64(v.t.vcpu, DATA_GPA(2), 2);
	paging_map(&v, DATA_GPA(1), DATA_GPA(2), 0);
	load_cr3(v.t.vcpu, v.cr3);
	TEST_ASSERT_EQ(gva_read64(v.t.vcpu, DATA_GPA(1)), 2UL);
	TEST_ASSERT_EQ(vcpu_read64(v.t.vcpu, DATA_GPA(1)), 1UL);
	TEST_ASSERT_EQ(gva_read64(v.t.vcpu, DATA_GPA(1)), 2UL);
	test_vm_destroy(&v.t);
}

/* One GPA at three virtual addresses, one of them in the upper half. */
TEST(aliases_see_each_others_writes)
{
	const gva_t alias[] = { VA_A + 0x5000, VA_B + 0x7000, VA_HIGH + 0x3000 };
	struct paging_vm v;

	tdp_vm_create(&v);
	for (unsigned int i = 0; i < ARRAY_SIZE(alias); i++)
		paging_map(&v, alias[i], DATA_GPA(9), PT_WRITABLE_MASK);
	load_cr3(v.t.vcpu, v.cr3);
	for (unsigned int i = 0; i < ARRAY_SIZE(alias); i++) {
		gva_write64(v.t.vcpu, alias[i] + 8 * i, 100 + i);
		for (unsigned int j = 0; j < ARRAY_SIZE(alias); j++)
			TEST_ASSERT_EQ(gva_read64(v.t.vcpu, alias[j] + 8 * i), 100UL + i);
	}
	TEST_ASSERT_EQ(vcpu_read64(v.t.vcpu, DATA_GPA(9) + 16), 102UL);
	test_vm_destroy(&v.t);
}

/*
 * The guest's D bit makes a translation writable in the TLB: the first
 * write after a read walks again and sets it.
 */
TEST(first_write_after_a_read_sets_dirty)
{
	struct paging_vm v;
	gpa_t pte_gpa;
	long w0;

	tdp_vm_create(&v);
	paging_map(&v, VA_A, DATA_GPA(2), PT_WRITABLE_MASK);
	pte_gpa = guest_pte_gpa(&v.gt, v.cr3, VA_A, PG_LEVEL_4K);
	vcpu_write64(v.t.vcpu, DATA_GPA(2), 0); /* the SPTE is writable and dirty */
	load_cr3(v.t.vcpu, v.cr3);
	gva_read64(v.t.vcpu, VA_A);
	TEST_ASSERT_EQ(guest_pte_read(&v.gt, pte_gpa) & (PT_ACCESSED_MASK | PT_DIRTY_MASK),
		       PT_ACCESSED_MASK);
	w0 = walks(v.t.vcpu);
	gva_write64(v.t.vcpu, VA_A, 7);
	TEST_ASSERT_EQ(walks(v.t.vcpu), w0 + 1);
	TEST_ASSERT(guest_pte_read(&v.gt, pte_gpa) & PT_DIRTY_MASK, "D set by the write");
	gva_write64(v.t.vcpu, VA_A + 8, 8);
	TEST_ASSERT_EQ(walks(v.t.vcpu), w0 + 1);
	test_vm_destroy(&v.t);
}

TEST(guest_rights_are_checked_on_hits_too)
{
	struct paging_vm v;

	tdp_vm_create(&v);
	/* Read-only and no execute, though dirty and with a writable SPTE. */
	paging_map(&v, VA_A, DATA_GPA(4), PT64_NX_MASK | PT_DIRTY_MASK);
	vcpu_write64(v.t.vcpu, DATA_GPA(4), 0);
	load_cr3(v.t.vcpu, v.cr3);
	TEST_ASSERT_EQ(gva_read64(v.t.vcpu, VA_A), 0UL); /* cached now */
	expect_guest_fault(v.t.vcpu, VA_A, PFERR_WRITE_MASK, PFERR_PRESENT_MASK | PFERR_WRITE_MASK,
			   "PTE read-only");
	expect_guest_fault(v.t.vcpu, VA_A, PFERR_FETCH_MASK, PFERR_PRESENT_MASK | PFERR_FETCH_MASK,
			   "PTE no-execute");
	expect_guest_fault(v.t.vcpu, VA_A + PAGE_SIZE, 0, 0, "PTE not present");
	expect_guest_fault(v.t.vcpu, VA_B, PFERR_WRITE_MASK, PFERR_WRITE_MASK, "PML4E not present");
	TEST_ASSERT_EQ(kvm_stat_read(&v.t.vcpu->stat.guest_page_faults), 4L);
	test_vm_destroy(&v.t);
}

/*
 * The guest remaps a page: the TLB keeps the old translation, as the
 * processor may, until INVLPG of that page, which leaves the others.
 */
TEST(invlpg_drops_that_page_only)
{
	struct paging_vm v;
	long w0;

	tdp_vm_create(&v);
	vcpu_write64(v.t.vcpu, DATA_GPA(1), 1);
	vcpu_write64(v.t.vcpu, DATA_GPA(2), 2);
	vcpu_write64(v.t.vcpu, DATA_GPA(3), 3);
	paging_map(&v, VA_A, DATA_GPA(1), 0);
	paging_map(&v, VA_A + PAGE_SIZE, DATA_GPA(2), 0);
	load_cr3(v.t.vcpu, v.cr3);
	TEST_ASSERT_EQ(gva_read64(v.t.vcpu, VA_A), 1UL);
	TEST_ASSERT_EQ(gva_read64(v.t.vcpu, VA_A + PAGE_SIZE), 2UL);

	paging_map(&v, VA_A, DATA_GPA(3), 0);
	TEST_ASSERT_EQ(gva_read64(v.t.vcpu, VA_A), 1UL); /* stale until invalidated */
	kvm_vcpu_invlpg(v.t.vcpu, VA_A + 0x123);
	w0 = walks(v.t.vcpu);
	TEST_ASSERT_EQ(gva_read64(v.t.vcpu, VA_A), 3UL);
	TEST_ASSERT_EQ(gva_read64(v.t.vcpu, VA_A + PAGE_SIZE), 2UL);
	TEST_ASSERT_EQ(walks(v.t.vcpu), w0 + 1);

	/* Unmap. */
	guest_pte_write(&v.gt, guest_pte_gpa(&v.gt, v.cr3, VA_A + PAGE_SIZE, 1), 0);
	kvm_vcpu_invlpg(v.t.vcpu, VA_A + PAGE_SIZE);
	expect_guest_fault(v.t.vcpu, VA_A + PAGE_SIZE, 0, 0, "PTE not present");
	TEST_ASSERT_EQ(gva_read64(v.t.vcpu, VA_A), 3UL);
	test_vm_destroy(&v.t);
}

/* INVLPG of any address of a 2 MiB page drops every 4 KiB piece the TLB holds of it. */
TEST(invlpg_drops_all_of_a_large_page)
{
	const gpa_t big = 4 * MB; /* 2 MiB aligned, in a slot of its own */
	struct paging_vm v;
	unsigned long hva;
	gpa_t pde;

	tdp_vm_create(&v);
	hva = test_mmap_anon(v.t.mm, 4 * MB, PROT_READ | PROT_WRITE);
	test_set_slot(v.t.kvm, 1, big, 4 * MB, hva);
	mm_write(v.t.mm, hva + 0x1000, &(uint64_t){ 11 }, 8);
	mm_write(v.t.mm, hva + 0x1ff000, &(uint64_t){ 12 }, 8);
	mm_write(v.t.mm, hva + 2 * MB + 0x1000, &(uint64_t){ 21 }, 8);
	mm_write(v.t.mm, hva + 2 * MB + 0x1ff000, &(uint64_t){ 22 }, 8);
	guest_map(&v.gt, v.cr3, VA_A, big, PT_WRITABLE_MASK, PG_LEVEL_2M);
	load_cr3(v.t.vcpu, v.cr3);
	TEST_ASSERT_EQ(gva_read64(v.t.vcpu, VA_A + 0x1000), 11UL);
	TEST_ASSERT_EQ(gva_read64(v.t.vcpu, VA_A + 0x1ff000), 12UL);

	pde = guest_pte_gpa(&v.gt, v.cr3, VA_A, PG_LEVEL_2M);
	guest_pte_write(&v.gt, pde, (big + 2 * MB) | PT_PAGE_SIZE_MASK | PT_PRESENT_MASK);
	kvm_vcpu_invlpg(v.t.vcpu, VA_A + 0x1ff000 + 8);
	TEST_ASSERT_EQ(gva_read64(v.t.vcpu, VA_A + 0x1000), 21UL);
	TEST_ASSERT_EQ(gva_read64(v.t.vcpu, VA_A + 0x1ff000), 22UL);
	test_vm_destroy(&v.t);
}

/* Two address spaces over the same virtual address, switched by CR3 loads. */
TEST(cr3_switches_address_spaces)
{
	struct paging_vm v;
	gpa_t cr3_b;

	tdp_vm_create(&v);
	cr3_b = guest_table_alloc(&v.gt);
	paging_map(&v, VA_A, DATA_GPA(1), PT_WRITABLE_MASK);
	guest_map(&v.gt, cr3_b, VA_A, DATA_GPA(2), PT_WRITABLE_MASK, PG_LEVEL_4K);
	load_cr3(v.t.vcpu, v.cr3);
	gva_write64(v.t.vcpu, VA_A, 0xaaaa);
	load_cr3(v.t.vcpu, cr3_b);
	TEST_ASSERT_EQ(gva_read64(v.t.vcpu, VA_A), 0UL);
	gva_write64(v.t.vcpu, VA_A, 0xbbbb);
	load_cr3(v.t.vcpu, v.cr3);
	TEST_ASSERT_EQ(gva_read64(v.t.vcpu, VA_A), 0xaaaaUL);
	load_cr3(v.t.vcpu, KVM_CR3_IDENTITY);
	TEST_ASSERT_EQ(gva_read64(v.t.vcpu, DATA_GPA(2)), 0xbbbbUL);
	test_vm_destroy(&v.t);
}

/*
 * The host drops the guest's page table (MADV_DONTNEED: it reads as zero
 * afterwards).  Only the table page's SPTE is zapped, the data page's
 * stays; still the translation derived through the table must go with
 * the remote flush, and the next access walks the now empty table.
 * Without the flush (the museum's no_remote_flush), it would live on.
 */
static void zap_table_page(bool flush)
{
	struct paging_vm v;
	gpa_t pt;

	tdp_vm_create(&v);
	if (!flush)
		v.t.kvm->legacy = LEGACY_BIT(LEGACY_NO_REMOTE_FLUSH);
	paging_map(&v, VA_A, DATA_GPA(6), PT_WRITABLE_MASK);
	pt = guest_table_of(&v.gt, v.cr3, VA_A, PG_LEVEL_4K);
	load_cr3(v.t.vcpu, v.cr3);
	gva_write64(v.t.vcpu, VA_A, 66);
	TEST_ASSERT(kvm_mmu_spte(v.t.kvm, gpa_to_gfn(pt)), "the table's SPTE");

	TEST_ASSERT_EQ(do_madvise(v.t.mm, hva_of(&v, pt), PAGE_SIZE, MADV_DONTNEED), 0);
	TEST_ASSERT_EQ(kvm_mmu_spte(v.t.kvm, gpa_to_gfn(pt)), 0UL);
	TEST_ASSERT(kvm_mmu_spte(v.t.kvm, gpa_to_gfn(DATA_GPA(6))), "the page's SPTE stays");
	if (flush)
		expect_guest_fault(v.t.vcpu, VA_A, 0, 0, "PTE not present");
	else
		TEST_ASSERT_EQ(gva_read64(v.t.vcpu, VA_A), 66UL);
	test_vm_destroy(&v.t);
}

TEST(zapped_table_page_takes_its_translations)
{
	zap_table_page(true);
}

TEST(zapped_table_page_without_flush_leaves_them)
{
	zap_table_page(false);
}

/* Reclaim swaps the guest's tables out; the next walk faults them back in. */
TEST(table_pages_reclaimed)
{
	struct paging_vm v;
	gpa_t table[5];
	long faults;

	tdp_vm_create(&v);
	test_swapon(256);
	paging_map(&v, VA_A, DATA_GPA(7), PT_WRITABLE_MASK);
	load_cr3(v.t.vcpu, v.cr3);
	gva_write64(v.t.vcpu, VA_A, 77);
	for (int level = 4; level >= 1; level--)
		table[level] = guest_table_of(&v.gt, v.cr3, VA_A, level);
	for (int level = 4; level >= 1; level--) {
		TEST_ASSERT(mm_pageout(v.t.mm, hva_of(&v, table[level])), "level %d out", level);
		TEST_ASSERT_EQ(kvm_mmu_spte(v.t.kvm, gpa_to_gfn(table[level])), 0UL);
	}
	faults = kvm_stat_read(&v.t.kvm->stat.faults);
	TEST_ASSERT_EQ(gva_read64(v.t.vcpu, VA_A), 77UL);
	TEST_ASSERT_EQ(kvm_stat_read(&v.t.kvm->stat.faults) - faults, 4L);
	TEST_ASSERT(atomic_long_read(&v.t.pool->pgdat->stats.pswpin) >= 4, "swapped in");
	test_vm_destroy(&v.t);
}

/*
 * A table page the host swapped in is clean, its copy on swap.  The walk's
 * A update is a store through the SPTE: it must dirty the page, or the
 * next reclaim drops it as clean and the guest's A bit is lost.
 */
TEST(accessed_bit_survives_reclaim_of_its_table)
{
	struct paging_vm v;
	gpa_t pt, pte_gpa;

	tdp_vm_create(&v);
	test_swapon(256);
	paging_map(&v, VA_A, DATA_GPA(8), 0);
	pte_gpa = guest_pte_gpa(&v.gt, v.cr3, VA_A, PG_LEVEL_4K);
	pt = pte_gpa & PAGE_MASK;
	TEST_ASSERT(mm_pageout(v.t.mm, hva_of(&v, pt)), "out");
	load_cr3(v.t.vcpu, v.cr3);
	/* The walk faults the table in for reading, then for its A update. */
	gva_read64(v.t.vcpu, VA_A);
	TEST_ASSERT(mm_pageout(v.t.mm, hva_of(&v, pt)), "out again");
	TEST_ASSERT(guest_pte_read(&v.gt, pte_gpa) & PT_ACCESSED_MASK, "the A bit was written");
	test_vm_destroy(&v.t);
}

/* Migration moves a table page under the guest: the walk follows it. */
TEST(table_pages_migrated)
{
	struct paging_vm v;

	tdp_vm_create(&v);
	paging_map(&v, VA_A, DATA_GPA(10), PT_WRITABLE_MASK);
	load_cr3(v.t.vcpu, v.cr3);
	gva_write64(v.t.vcpu, VA_A, 1010);
	for (int level = 4; level >= 1; level--) {
		gpa_t table = guest_table_of(&v.gt, v.cr3, VA_A, level);
		long pfn = mm_pfn_at(v.t.mm, hva_of(&v, table));

		TEST_ASSERT(mm_try_migrate(v.t.mm, hva_of(&v, table)), "level %d migrated", level);
		TEST_ASSERT(mm_pfn_at(v.t.mm, hva_of(&v, table)) != pfn, "level %d moved", level);
		TEST_ASSERT_EQ(kvm_mmu_spte(v.t.kvm, gpa_to_gfn(table)), 0UL);
		TEST_ASSERT_EQ(gva_read64(v.t.vcpu, VA_A), 1010UL);
		gva_write64(v.t.vcpu, VA_A + 8 * level, level);
	}
	TEST_ASSERT_EQ(vcpu_read64(v.t.vcpu, DATA_GPA(10) + 8 * 4), 4UL);
	test_vm_destroy(&v.t);
}
