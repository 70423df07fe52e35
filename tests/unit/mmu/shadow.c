// SPDX-License-Identifier: GPL-2.0
/*
 * The shadow MMU (mmu/shadow*.c), driven through the access engine by
 * guest-virtual address, with the guest's tables built in guest RAM
 * through the host mm: shadow pages found by gfn and role, the rmap of
 * every alias, invalidation, aging and dirty through it, write tracking
 * across reclaim and migration of the table page, roots per CR3 and the
 * cache of previous roots, INVLPG, and release.
 */
#include <sched.h>

#include "base/kthread.h"
#include "base/prandom.h"
#include "base/legacy.h"
#include "base/sched_point.h"
#include "mm/mmu_notifier.h"
#include "mm/swap.h"
#include "mmu/shadow.h"
#include "tests/lib/paging_vm.h"

static void shadow_vm_create(struct paging_vm *v)
{
	paging_vm_create(v, KVM_MMU_SHADOW);
}

static long shadow_pages(struct paging_vm *v)
{
	return kvm_stat_read(&v->t.kvm->stat.shadow_pages);
}

static unsigned int track_count(struct paging_vm *v, gpa_t gpa)
{
	return kvm_gfn_write_track_count(v->t.kvm, gpa_to_gfn(gpa));
}

static unsigned int rmap_count(struct paging_vm *v, gpa_t gpa)
{
	return kvm_gfn_rmap_count(v->t.kvm, gpa_to_gfn(gpa));
}

static uint64_t shadow_spte(struct paging_vm *v, gva_t gva)
{
	return kvm_vcpu_shadow_spte(v->t.vcpu, gva);
}

/*
 * One access builds the root and a shadow page per level below it, each
 * keyed by the guest table it shadows and write-tracking it; the next
 * page of the same guest table needs none, and a guest table linked from
 * two places is shadowed once.
 */
TEST(shadow_pages_by_gfn_and_role)
{
	struct paging_vm v;
	gpa_t pt;

	shadow_vm_create(&v);
	paging_map(&v, VA_A, DATA_GPA(1), PT_WRITABLE_MASK);
	paging_map(&v, VA_A + PAGE_SIZE, DATA_GPA(2), PT_WRITABLE_MASK);
	load_cr3(v.t.vcpu, v.cr3);
	gva_write64(v.t.vcpu, VA_A, 11);
	TEST_ASSERT_EQ(shadow_pages(&v), 4L);
	for (int level = 4; level >= 1; level--)
		TEST_ASSERT_EQ(track_count(&v, guest_table_of(&v.gt, v.cr3, VA_A, level)), 1U);
	TEST_ASSERT_EQ(track_count(&v, DATA_GPA(1)), 0U);
	TEST_ASSERT_EQ(kvm_stat_read(&v.t.kvm->stat.pages_pinned), 0L);

	gva_write64(v.t.vcpu, VA_A + PAGE_SIZE, 12);
	TEST_ASSERT_EQ(shadow_pages(&v), 4L);

	/* VA_B's PDE names VA_A's page table: new PDPT and PD shadows, the PT's is found. */
	pt = guest_table_of(&v.gt, v.cr3, VA_A, PG_LEVEL_4K);
	guest_pte_write(&v.gt, guest_pte_gpa(&v.gt, v.cr3, VA_B, PG_LEVEL_2M),
			pt | GUEST_TABLE_BITS);
	TEST_ASSERT_EQ(gva_read64(v.t.vcpu, VA_B + PAGE_SIZE), 12UL);
	TEST_ASSERT_EQ(shadow_pages(&v), 6L);
	TEST_ASSERT_EQ(track_count(&v, pt), 1U);
	TEST_ASSERT_EQ(rmap_count(&v, DATA_GPA(2)), 1U); /* one leaf: the PT's shadow is shared */
	TEST_ASSERT_EQ(gva_read64(v.t.vcpu, VA_A + PAGE_SIZE), 12UL);
	test_vm_destroy(&v.t);
}

/* A read-only guest table level makes a shadow page of another role. */
TEST(access_of_the_levels_above_is_in_the_role)
{
	struct paging_vm v;
	gpa_t pt, pde_b;

	shadow_vm_create(&v);
	paging_map(&v, VA_A, DATA_GPA(1), PT_WRITABLE_MASK);
	load_cr3(v.t.vcpu, v.cr3);
	gva_write64(v.t.vcpu, VA_A, 1);
	pt = guest_table_of(&v.gt, v.cr3, VA_A, PG_LEVEL_4K);
	pde_b = guest_pte_gpa(&v.gt, v.cr3, VA_B, PG_LEVEL_2M);
	/* The same page table under a read-only PDE. */
	guest_pte_write(&v.gt, pde_b, pt | PT_PRESENT_MASK | PT_USER_MASK);
	TEST_ASSERT_EQ(gva_read64(v.t.vcpu, VA_B), 1UL);
	TEST_ASSERT_EQ(track_count(&v, pt), 2U);
	TEST_ASSERT(!spte_mmu_writable(shadow_spte(&v, VA_B)), "read-only through VA_B");
	expect_guest_fault(v.t.vcpu, VA_B, PFERR_WRITE_MASK, PFERR_PRESENT_MASK | PFERR_WRITE_MASK,
			   "PDE read-only");
	gva_write64(v.t.vcpu, VA_A, 2);
	TEST_ASSERT_EQ(gva_read64(v.t.vcpu, VA_B), 2UL);
	test_vm_destroy(&v.t);
}

/*
 * Every alias of a gfn is on its rmap, in every address space; an
 * invalidation of the gfn zaps them all, so none names the freed frame:
 * a survivor would be read through by the next access, and the sanitizer
 * would report a use-after-free (the museum's shadow_zap_one_alias).
 */
TEST(invalidation_zaps_every_alias)
{
	const gva_t alias[] = { VA_A + 0x5000, VA_B + 0x7000, VA_HIGH + 0x3000 };
	struct paging_vm v;
	gpa_t cr3_b;

	shadow_vm_create(&v);
	cr3_b = guest_table_alloc(&v.gt);
	for (unsigned int i = 0; i < ARRAY_SIZE(alias); i++) {
		paging_map(&v, alias[i], DATA_GPA(9), PT_WRITABLE_MASK);
		guest_map(&v.gt, cr3_b, alias[i] + PAGE_SIZE, DATA_GPA(9), PT_WRITABLE_MASK,
			  PG_LEVEL_4K);
	}
	load_cr3(v.t.vcpu, cr3_b);
	for (unsigned int i = 0; i < ARRAY_SIZE(alias); i++)
		gva_write64(v.t.vcpu, alias[i] + PAGE_SIZE + 8 * i, 90 + i);
	load_cr3(v.t.vcpu, v.cr3);
	for (unsigned int i = 0; i < ARRAY_SIZE(alias); i++)
		TEST_ASSERT_EQ(gva_read64(v.t.vcpu, alias[i] + 8 * i), 90UL + i);
	TEST_ASSERT_EQ(rmap_count(&v, DATA_GPA(9)), 6U);

	TEST_ASSERT_EQ(do_madvise(v.t.mm, hva_of(&v, DATA_GPA(9)), PAGE_SIZE, MADV_DONTNEED), 0);
	TEST_ASSERT_EQ(rmap_count(&v, DATA_GPA(9)), 0U);
	for (unsigned int i = 0; i < ARRAY_SIZE(alias); i++) {
		TEST_ASSERT_EQ(shadow_spte(&v, alias[i]), 0UL);
		TEST_ASSERT_EQ(gva_read64(v.t.vcpu, alias[i] + 8 * i), 0UL);
	}
	load_cr3(v.t.vcpu, cr3_b);
	for (unsigned int i = 0; i < ARRAY_SIZE(alias); i++)
		TEST_ASSERT_EQ(gva_read64(v.t.vcpu, alias[i] + PAGE_SIZE + 8 * i), 0UL);
	/* The harness fails the test on any sanitizer report: none read a freed frame. */
	test_vm_destroy(&v.t);
}

/* Many aliases: the rmap grows past one descriptor and still finds them all. */
TEST(rmap_of_many_aliases)
{
	struct paging_vm v;

	shadow_vm_create(&v);
	for (int i = 0; i < 40; i++)
		paging_map(&v, VA_A + i * PAGE_SIZE, DATA_GPA(3), PT_WRITABLE_MASK);
	load_cr3(v.t.vcpu, v.cr3);
	for (int i = 0; i < 40; i++)
		gva_write64(v.t.vcpu, VA_A + i * PAGE_SIZE + 8 * (i % 8), i);
	TEST_ASSERT_EQ(rmap_count(&v, DATA_GPA(3)), 40U);
	TEST_ASSERT(mm_try_migrate(v.t.mm, hva_of(&v, DATA_GPA(3))), "migrated");
	TEST_ASSERT_EQ(rmap_count(&v, DATA_GPA(3)), 0U);
	for (int i = 0; i < 8; i++)
		TEST_ASSERT_EQ(gva_read64(v.t.vcpu, VA_A + (39 - i) * PAGE_SIZE + 8 * i), 32UL + i);
	TEST_ASSERT_EQ(rmap_count(&v, DATA_GPA(3)), 8U);
	test_vm_destroy(&v.t);
}

/* Aging finds an alias's accessed bit through the rmap, and clears it there. */
TEST(aging_through_the_rmap)
{
	struct paging_vm v;
	unsigned long hva;

	shadow_vm_create(&v);
	paging_map(&v, VA_A, DATA_GPA(4), PT_WRITABLE_MASK);
	paging_map(&v, VA_B, DATA_GPA(4), PT_WRITABLE_MASK);
	load_cr3(v.t.vcpu, v.cr3);
	hva = hva_of(&v, DATA_GPA(4));
	gva_read64(v.t.vcpu, VA_B);
	/* Only the shadow leaf maps it: the flat SPTE was made for the walk's data check. */
	TEST_ASSERT_EQ(mmu_notifier_clear_young(v.t.mm, hva, hva + PAGE_SIZE), 1);
	TEST_ASSERT(!(shadow_spte(&v, VA_B) & PT_ACCESSED_MASK), "A cleared in the alias");
	TEST_ASSERT_EQ(mmu_notifier_test_young(v.t.mm, hva), 0);
	kvm_vcpu_flush_guest_tlb(v.t.vcpu);
	gva_read64(v.t.vcpu, VA_A);
	TEST_ASSERT_EQ(mmu_notifier_test_young(v.t.mm, hva), 1);
	test_vm_destroy(&v.t);
}

/* A write through an alias dirties its shadow leaf; the zap moves D to the file page. */
TEST(dirty_reaches_the_host_page_through_the_rmap)
{
	struct paging_vm v;
	struct guest_tables gt;
	uint64_t val = 0;
	long dirty;

	/* Guest RAM on a shared file, so clean pages are dropped, not swapped. */
	test_vm_create_file(&v.t, 16 * MB, TEST_SLOT_SIZE, 0);
	v.t.kvm->mmu_mode = KVM_MMU_SHADOW;
	guest_tables_init(&gt, &paging_host_ops, &v.t, TABLES_GPA, 16);
	v.gt = gt;
	v.cr3 = guest_table_alloc(&v.gt);
	paging_map(&v, VA_A, DATA_GPA(5), PT_WRITABLE_MASK | PT_DIRTY_MASK);
	load_cr3(v.t.vcpu, v.cr3);
	/* The flat SPTE is made clean by a read; only the alias is written. */
	gva_read64(v.t.vcpu, VA_A);
	gva_write64(v.t.vcpu, VA_A + 16, 0xd1d1);
	dirty = kvm_stat_read(&v.t.kvm->stat.dirty_transferred);
	TEST_ASSERT(shadow_spte(&v, VA_A) & PT_DIRTY_MASK, "the alias's leaf is dirty");
	TEST_ASSERT(mm_pageout(v.t.mm, hva_of(&v, DATA_GPA(5))), "written back and dropped");
	TEST_ASSERT(kvm_stat_read(&v.t.kvm->stat.dirty_transferred) > dirty, "D moved");
	mm_read(v.t.mm, hva_of(&v, DATA_GPA(5)) + 16, &val, sizeof(val));
	TEST_ASSERT_EQ(val, 0xd1d1UL);
	test_vm_destroy(&v.t);
}

/*
 * The guest maps its own page table at VA_PT and rewrites a PTE through
 * it: the write is emulated (in place, then kvm_vcpu_track_write()), the
 * shadow leaf made from the old PTE goes, and the next access sees the
 * new one.  A write through the identity map does the same.
 */
static void remap_through_the_table(struct paging_vm *v, gva_t va_pt, bool identity)
{
	gpa_t pte_gpa = guest_pte_gpa(&v->gt, v->cr3, VA_A, PG_LEVEL_4K);
	gva_t pte_va = va_pt + (pte_gpa & ~PAGE_MASK);
	long writes = kvm_stat_read(&v->t.vcpu->stat.tracked_writes);
	uint64_t pte = DATA_GPA(2) | PT_PRESENT_MASK | PT_WRITABLE_MASK;

	TEST_ASSERT(shadow_spte(v, VA_A), "VA_A is shadowed");
	if (identity) {
		load_cr3(v->t.vcpu, KVM_CR3_IDENTITY);
		vcpu_write64(v->t.vcpu, pte_gpa, pte);
		load_cr3(v->t.vcpu, v->cr3);
	} else {
		gva_write64(v->t.vcpu, pte_va, pte);
	}
	TEST_ASSERT_EQ(kvm_stat_read(&v->t.vcpu->stat.tracked_writes), writes + 1);
	TEST_ASSERT_EQ(guest_pte_read(&v->gt, pte_gpa), pte);
	TEST_ASSERT_EQ(shadow_spte(v, VA_A), 0UL);
	TEST_ASSERT_EQ(gva_read64(v->t.vcpu, VA_A), 2UL);
}

static gva_t map_own_table(struct paging_vm *v)
{
	const gva_t va_pt = VA_B + 0x40000;
	gpa_t pt = guest_table_of(&v->gt, v->cr3, VA_A, PG_LEVEL_4K);

	/* Dirty already: only write tracking keeps its leaf read-only. */
	paging_map(v, va_pt, pt, PT_WRITABLE_MASK | PT_DIRTY_MASK);
	return va_pt;
}

/* VA_A on page 1 (page 2 holds 2), and its page table mapped at the address returned. */
static gva_t remap_setup(struct paging_vm *v)
{
	vcpu_write64(v->t.vcpu, DATA_GPA(1), 1);
	vcpu_write64(v->t.vcpu, DATA_GPA(2), 2);
	paging_map(v, VA_A, DATA_GPA(1), PT_WRITABLE_MASK);
	return map_own_table(v);
}

TEST(guest_pte_write_is_emulated)
{
	struct paging_vm v;
	gva_t va_pt;
	gpa_t pt;

	shadow_vm_create(&v);
	va_pt = remap_setup(&v);
	pt = guest_table_of(&v.gt, v.cr3, VA_A, PG_LEVEL_4K);
	load_cr3(v.t.vcpu, v.cr3);
	TEST_ASSERT_EQ(gva_read64(v.t.vcpu, VA_A), 1UL);
	/* A fault on a tracked gfn maps it read-only, emulating writes: in the flat map too. */
	TEST_ASSERT_EQ(gva_read64(v.t.vcpu, va_pt), guest_pte_read(&v.gt, pt));
	TEST_ASSERT(!is_writable_pte(shadow_spte(&v, va_pt)), "the table's alias is read-only");
	TEST_ASSERT(shadow_spte(&v, va_pt) & SPTE_MMU_WRITABLE, "... for write tracking only");
	TEST_ASSERT(!is_writable_pte(kvm_mmu_spte(v.t.kvm, gpa_to_gfn(pt))), "flat read-only");
	remap_through_the_table(&v, va_pt, false);
	/* Back to DATA_GPA(1), through the identity map this time. */
	guest_pte_write(&v.gt, guest_pte_gpa(&v.gt, v.cr3, VA_A, 1), DATA_GPA(1) | PT_PRESENT_MASK);
	kvm_vcpu_invlpg(v.t.vcpu, VA_A);
	TEST_ASSERT_EQ(gva_read64(v.t.vcpu, VA_A), 1UL);
	remap_through_the_table(&v, va_pt, true);
	test_vm_destroy(&v.t);
}

/*
 * A page the guest wrote through an alias becomes a guest table only
 * later: shadowing it write-protects the alias's leaf that is already
 * there, so the next write through it is seen.
 */
TEST(shadowing_a_table_write_protects_its_aliases)
{
	struct paging_vm v;
	gva_t va_pt;

	shadow_vm_create(&v);
	va_pt = remap_setup(&v);
	load_cr3(v.t.vcpu, v.cr3);
	/* The last entry of VA_A's page table, unused: written while it is plain data. */
	gva_write64(v.t.vcpu, va_pt + PAGE_SIZE - 8, 0);
	TEST_ASSERT(is_writable_pte(shadow_spte(&v, va_pt)), "writable while not a shadowed table");
	TEST_ASSERT_EQ(gva_read64(v.t.vcpu, VA_A), 1UL);
	TEST_ASSERT(!is_writable_pte(shadow_spte(&v, va_pt)), "write-protected once shadowed");
	remap_through_the_table(&v, va_pt, false);
	test_vm_destroy(&v.t);
}

struct gva_read_arg {
	struct kvm_vcpu *vcpu;
	gva_t gva;
	uint64_t val;
};

static int gva_read_fn(void *data)
{
	struct gva_read_arg *a = data;

	a->val = gva_read64(a->vcpu, a->gva);
	return 0;
}

/*
 * Another vCPU rewrites the PTE the fault walked, after the walk and
 * before the fault shadows the table (so the write is not tracked yet):
 * FNAME(gpte_changed) under mmu_lock sees it, and the fault walks again
 * rather than install a leaf from the old entry.
 */
TEST(fault_rechecks_the_entries_it_walked)
{
	struct gva_read_arg a;
	struct kvm_vcpu *vcpu1;
	struct paging_vm v;
	struct kthread *k;
	gpa_t pte_gpa;

	shadow_vm_create(&v);
	vcpu_write64(v.t.vcpu, DATA_GPA(1), 1);
	vcpu_write64(v.t.vcpu, DATA_GPA(2), 2);
	paging_map(&v, VA_A, DATA_GPA(1), PT_WRITABLE_MASK);
	pte_gpa = guest_pte_gpa(&v.gt, v.cr3, VA_A, PG_LEVEL_4K);
	load_cr3(v.t.vcpu, v.cr3);
	vcpu1 = test_vcpu(v.t.kvm, 1);
	a = (struct gva_read_arg){ .vcpu = v.t.vcpu, .gva = VA_A };
	TEST_ASSERT_EQ(sched_point_arm("kvm:shadow_fault_after_walk", "vcpu0"), 0);
	k = kthread_run(gva_read_fn, &a, "vcpu0");
	TEST_ASSERT_EQ(sched_point_wait("kvm:shadow_fault_after_walk"), 0);
	TEST_ASSERT_EQ(track_count(&v, pte_gpa), 0U);
	vcpu_write64(vcpu1, pte_gpa, DATA_GPA(2) | PT_PRESENT_MASK | PT_ACCESSED_MASK);
	sched_point_release("kvm:shadow_fault_after_walk");
	kthread_join(k);
	TEST_ASSERT_EQ(a.val, 2UL);
	kvm_destroy_vcpu(vcpu1);
	test_vm_destroy(&v.t);
}

/* A write to an upper guest entry drops the link: the whole subtree goes. */
TEST(guest_pde_write_unlinks_the_subtree)
{
	struct paging_vm v;
	gpa_t pde_gpa, pt;
	long zapped, writes;

	shadow_vm_create(&v);
	vcpu_write64(v.t.vcpu, DATA_GPA(1), 1);
	paging_map(&v, VA_A, DATA_GPA(1), PT_WRITABLE_MASK);
	pde_gpa = guest_pte_gpa(&v.gt, v.cr3, VA_A, PG_LEVEL_2M);
	pt = guest_table_of(&v.gt, v.cr3, VA_A, PG_LEVEL_4K);
	load_cr3(v.t.vcpu, v.cr3);
	TEST_ASSERT_EQ(gva_read64(v.t.vcpu, VA_A), 1UL);
	zapped = kvm_stat_read(&v.t.kvm->stat.shadow_pages_zapped);
	/* Through the identity map: the PD's gfn is tracked like any other. */
	load_cr3(v.t.vcpu, KVM_CR3_IDENTITY);
	vcpu_write64(v.t.vcpu, pde_gpa, 0);
	TEST_ASSERT_EQ(kvm_stat_read(&v.t.kvm->stat.shadow_pages_zapped), zapped + 1);
	TEST_ASSERT_EQ(track_count(&v, pt), 0U); /* nothing shadows the page table now */
	/* Its first write is still emulated, and gives the leaf W back; the next is plain. */
	writes = kvm_stat_read(&v.t.vcpu->stat.tracked_writes);
	vcpu_write64(v.t.vcpu, pt, 0);
	TEST_ASSERT(is_writable_pte(kvm_mmu_spte(v.t.kvm, gpa_to_gfn(pt))), "W given back");
	vcpu_write64(v.t.vcpu, pt + 8, 0);
	TEST_ASSERT_EQ(kvm_stat_read(&v.t.vcpu->stat.tracked_writes), writes + 1);
	load_cr3(v.t.vcpu, v.cr3);
	expect_guest_fault(v.t.vcpu, VA_A, 0, 0, "PDE not present");
	test_vm_destroy(&v.t);
}

/*
 * Write tracking is by gfn: the host swaps the guest's page table out, or
 * migrates it, and brings it back; the leaf a fault makes for it then is
 * read-only again, and a guest write to it is still emulated and seen.
 */
static void tracking_survives(bool migrate)
{
	struct paging_vm v;
	gva_t va_pt;
	gpa_t pt;

	shadow_vm_create(&v);
	test_swapon(256);
	va_pt = remap_setup(&v);
	pt = guest_table_of(&v.gt, v.cr3, VA_A, PG_LEVEL_4K);
	load_cr3(v.t.vcpu, v.cr3);
	TEST_ASSERT_EQ(gva_read64(v.t.vcpu, VA_A), 1UL);
	gva_read64(v.t.vcpu, va_pt);
	TEST_ASSERT_EQ(track_count(&v, pt), 1U);
	if (migrate)
		TEST_ASSERT(mm_try_migrate(v.t.mm, hva_of(&v, pt)), "migrated");
	else
		TEST_ASSERT(mm_pageout(v.t.mm, hva_of(&v, pt)), "swapped out");
	TEST_ASSERT_EQ(kvm_mmu_spte(v.t.kvm, gpa_to_gfn(pt)), 0UL);
	TEST_ASSERT_EQ(shadow_spte(&v, va_pt), 0UL);
	TEST_ASSERT_EQ(track_count(&v, pt), 1U);
	/* Back in by a write fault, through the alias: read-only all the same. */
	kvm_vcpu_flush_guest_tlb(v.t.vcpu);
	remap_through_the_table(&v, va_pt, false);
	TEST_ASSERT(!is_writable_pte(shadow_spte(&v, va_pt)), "the table's alias is read-only");
	TEST_ASSERT(!is_writable_pte(kvm_mmu_spte(v.t.kvm, gpa_to_gfn(pt))), "flat read-only");
	test_vm_destroy(&v.t);
}

TEST(write_tracking_survives_reclaim_of_the_table)
{
	tracking_survives(false);
}

TEST(write_tracking_survives_migration_of_the_table)
{
	tracking_survives(true);
}

/* A 2 MiB guest page: a direct shadow page of 4 KiB leaves, its gfns not tracked. */
TEST(large_guest_page_is_shadowed_by_small_leaves)
{
	const gpa_t big = 4 * MB;
	struct paging_vm v;
	unsigned long hva;
	gpa_t pde;

	shadow_vm_create(&v);
	hva = test_mmap_anon(v.t.mm, 4 * MB, PROT_READ | PROT_WRITE);
	test_set_slot(v.t.kvm, 1, big, 4 * MB, hva);
	mm_write(v.t.mm, hva + 0x1000, &(uint64_t){ 11 }, 8);
	mm_write(v.t.mm, hva + 0x1ff000, &(uint64_t){ 12 }, 8);
	mm_write(v.t.mm, hva + 2 * MB + 0x1000, &(uint64_t){ 21 }, 8);
	guest_map(&v.gt, v.cr3, VA_A, big, PT_WRITABLE_MASK, PG_LEVEL_2M);
	load_cr3(v.t.vcpu, v.cr3);
	TEST_ASSERT_EQ(gva_read64(v.t.vcpu, VA_A + 0x1000), 11UL);
	TEST_ASSERT_EQ(gva_read64(v.t.vcpu, VA_A + 0x1ff000), 12UL);
	TEST_ASSERT_EQ(shadow_pages(&v), 4L); /* root, PDPT, PD and one direct page */
	TEST_ASSERT_EQ(track_count(&v, big), 0U);
	gva_write64(v.t.vcpu, VA_A + 0x1ff008, 13);
	TEST_ASSERT(is_writable_pte(shadow_spte(&v, VA_A + 0x1ff000)), "a writable 4 KiB leaf");
	TEST_ASSERT_EQ(rmap_count(&v, big + 0x1ff000), 1U);

	/* The VMM rewrites the PDE behind the MMU's back; the guest's INVLPG drops the lot. */
	pde = guest_pte_gpa(&v.gt, v.cr3, VA_A, PG_LEVEL_2M);
	guest_pte_write(&v.gt, pde, (big + 2 * MB) | PT_PAGE_SIZE_MASK | PT_PRESENT_MASK);
	kvm_vcpu_invlpg(v.t.vcpu, VA_A + 0x1ff000);
	TEST_ASSERT_EQ(gva_read64(v.t.vcpu, VA_A + 0x1000), 21UL);
	test_vm_destroy(&v.t);
}

TEST(guest_rights_reach_the_leaf)
{
	struct paging_vm v;
	uint64_t spte;

	shadow_vm_create(&v);
	paging_map(&v, VA_A, DATA_GPA(4), PT64_NX_MASK | PT_DIRTY_MASK);
	paging_map(&v, VA_B, DATA_GPA(4), PT_WRITABLE_MASK | PT_USER_MASK);
	vcpu_write64(v.t.vcpu, DATA_GPA(4), 0);
	load_cr3(v.t.vcpu, v.cr3);
	TEST_ASSERT_EQ(gva_read64(v.t.vcpu, VA_A), 0UL);
	spte = shadow_spte(&v, VA_A);
	TEST_ASSERT((spte & (PT_WRITABLE_MASK | SPTE_MMU_WRITABLE | PT64_NX_MASK)) == PT64_NX_MASK,
		    "read-only, no execute: %#lx", (unsigned long)spte);
	expect_guest_fault(v.t.vcpu, VA_A, PFERR_WRITE_MASK, PFERR_PRESENT_MASK | PFERR_WRITE_MASK,
			   "PTE read-only");
	expect_guest_fault(v.t.vcpu, VA_A, PFERR_FETCH_MASK | PFERR_USER_MASK,
			   PFERR_PRESENT_MASK | PFERR_USER_MASK | PFERR_FETCH_MASK,
			   "PTE supervisor-only");
	/* A read leaves the leaf read-only until the guest's D is set by a write. */
	gva_read64(v.t.vcpu, VA_B);
	TEST_ASSERT(!is_writable_pte(shadow_spte(&v, VA_B)), "clean: read-only");
	gva_write64(v.t.vcpu, VA_B, 5);
	TEST_ASSERT(is_writable_pte(shadow_spte(&v, VA_B)), "dirty: writable");
	TEST_ASSERT(guest_pte_read(&v.gt, guest_pte_gpa(&v.gt, v.cr3, VA_B, 1)) & PT_DIRTY_MASK,
		    "D set in the guest's PTE");
	test_vm_destroy(&v.t);
}

/*
 * Roots per CR3: switching back to a cached root walks nothing and makes
 * nothing; the fifth address space pushes a root out of the cache, which,
 * linked by nothing else, is zapped.
 */
TEST(cr3_switch_keeps_previous_roots)
{
	struct paging_vm v;
	gpa_t cr3[5];
	long pages, walks0, zapped;

	shadow_vm_create(&v);
	cr3[0] = v.cr3;
	for (int i = 1; i < 5; i++)
		cr3[i] = guest_table_alloc(&v.gt);
	for (int i = 0; i < 5; i++) {
		guest_map(&v.gt, cr3[i], VA_A, DATA_GPA(10 + i), PT_WRITABLE_MASK, PG_LEVEL_4K);
		load_cr3(v.t.vcpu, cr3[i]);
		gva_write64(v.t.vcpu, VA_A, 100 + i);
	}
	/* Current: cr3[4]; cached: cr3[3], [2], [1]; cr3[0]'s root is gone. */
	TEST_ASSERT_EQ(track_count(&v, cr3[0]), 0U);
	TEST_ASSERT_EQ(track_count(&v, cr3[1]), 1U);
	pages = shadow_pages(&v);
	walks0 = walks(v.t.vcpu);
	for (int i = 3; i >= 1; i--) {
		load_cr3(v.t.vcpu, cr3[i]);
		TEST_ASSERT_EQ(gva_read64(v.t.vcpu, VA_A), 100UL + i);
	}
	TEST_ASSERT_EQ(walks(v.t.vcpu), walks0);
	TEST_ASSERT_EQ(shadow_pages(&v), pages);
	TEST_ASSERT_EQ(kvm_stat_read(&v.t.vcpu->stat.cached_root_hits), 3L);

	zapped = kvm_stat_read(&v.t.kvm->stat.shadow_pages_zapped);
	load_cr3(v.t.vcpu, cr3[0]);
	TEST_ASSERT_EQ(gva_read64(v.t.vcpu, VA_A), 100UL);
	TEST_ASSERT_EQ(track_count(&v, cr3[0]), 1U);
	TEST_ASSERT(kvm_stat_read(&v.t.kvm->stat.shadow_pages_zapped) > zapped, "one went");
	load_cr3(v.t.vcpu, KVM_CR3_IDENTITY);
	TEST_ASSERT_EQ(vcpu_read64(v.t.vcpu, DATA_GPA(11)), 101UL);
	test_vm_destroy(&v.t);
}

/*
 * The VMM rewrites a guest PTE behind the MMU's back (not a guest write,
 * so not tracked): the shadow keeps the old translation, as a TLB may,
 * until the guest's INVLPG of that page, which leaves the others.
 */
TEST(invlpg_drops_the_leaf)
{
	struct paging_vm v;

	shadow_vm_create(&v);
	vcpu_write64(v.t.vcpu, DATA_GPA(1), 1);
	vcpu_write64(v.t.vcpu, DATA_GPA(2), 2);
	vcpu_write64(v.t.vcpu, DATA_GPA(3), 3);
	paging_map(&v, VA_A, DATA_GPA(1), 0);
	paging_map(&v, VA_A + PAGE_SIZE, DATA_GPA(2), 0);
	load_cr3(v.t.vcpu, v.cr3);
	TEST_ASSERT_EQ(gva_read64(v.t.vcpu, VA_A), 1UL);
	TEST_ASSERT_EQ(gva_read64(v.t.vcpu, VA_A + PAGE_SIZE), 2UL);
	paging_map(&v, VA_A, DATA_GPA(3), 0);
	kvm_vcpu_flush_guest_tlb(v.t.vcpu);
	TEST_ASSERT_EQ(gva_read64(v.t.vcpu, VA_A), 1UL); /* the shadow is stale */
	kvm_vcpu_invlpg(v.t.vcpu, VA_A + 0x123);
	TEST_ASSERT_EQ(shadow_spte(&v, VA_A), 0UL);
	TEST_ASSERT(shadow_spte(&v, VA_A + PAGE_SIZE), "the next page's leaf stays");
	TEST_ASSERT_EQ(gva_read64(v.t.vcpu, VA_A), 3UL);
	test_vm_destroy(&v.t);
}

/*
 * release (the mm exits under the VM): every shadow page goes, roots
 * included, and every rmap and write-track count is empty; the vCPU's
 * zapped root maps nothing.
 */
TEST(release_zaps_every_shadow_page)
{
	struct paging_vm v;
	gpa_t pt;

	shadow_vm_create(&v);
	paging_map(&v, VA_A, DATA_GPA(1), PT_WRITABLE_MASK);
	paging_map(&v, VA_B, DATA_GPA(1), PT_WRITABLE_MASK);
	pt = guest_table_of(&v.gt, v.cr3, VA_A, PG_LEVEL_4K);
	load_cr3(v.t.vcpu, v.cr3);
	gva_write64(v.t.vcpu, VA_A, 1);
	gva_read64(v.t.vcpu, VA_B);
	TEST_ASSERT_EQ(rmap_count(&v, DATA_GPA(1)), 2U);
	/* What exit_mmap() calls first. */
	v.t.kvm->mmu_notifier.ops->release(&v.t.kvm->mmu_notifier, v.t.mm);
	TEST_ASSERT_EQ(rmap_count(&v, DATA_GPA(1)), 0U);
	TEST_ASSERT_EQ(track_count(&v, pt), 0U);
	TEST_ASSERT_EQ(track_count(&v, v.cr3), 0U);
	TEST_ASSERT_EQ(shadow_spte(&v, VA_A), 0UL);
	/* All but the vCPU's zapped root are freed already. */
	TEST_ASSERT_EQ(shadow_pages(&v), 1L);
	kvm_vcpu_exit_guest(v.t.vcpu);
	kvm_mmu_unload(v.t.vcpu);
	TEST_ASSERT_EQ(shadow_pages(&v), 0L);
	test_vm_destroy(&v.t);
}

/*
 * The kvm backend's top 16 MiB (kvm->vmm_top), faked: a PDPT, a PD and a
 * page table of the VMM's, linked as tables.c links them.
 */
#define TOP_KERNEL 0xffffffff80000000UL /* PML4 511, PDPT 510 */
#define TOP_BESIDE 0xfffffffffe000000UL /* PML4 511, PDPT 511, PD 496 */

struct fake_top {
	struct page *pdpt, *pd, *pt;
};

static uint64_t fake_top_entry(struct page *page)
{
	return ((uint64_t)page_to_pfn(page) << PAGE_SHIFT) | PT_PRESENT_MASK | PT_WRITABLE_MASK |
	       PT_ACCESSED_MASK | PT_DIRTY_MASK;
}

static void fake_top_create(struct paging_vm *v, struct fake_top *top)
{
	struct page **pages[] = { &top->pdpt, &top->pd, &top->pt };
	struct kvm_vmm_top *t = &v->t.kvm->vmm_top;

	for (unsigned int i = 0; i < ARRAY_SIZE(pages); i++) {
		*pages[i] = alloc_frame(v->t.kvm->pool, FRAME_SECONDARY, GFP_KERNEL | __GFP_ZERO);
		TEST_ASSERT(*pages[i], "a frame for the fake top");
	}
	t->pml4e = fake_top_entry(top->pdpt);
	t->pdpte = fake_top_entry(top->pd);
	t->pde[0] = fake_top_entry(top->pt);
	((uint64_t *)page_address(top->pdpt))[511] = t->pdpte;
	((uint64_t *)page_address(top->pd))[504] = t->pde[0];
}

static void fake_top_destroy(struct fake_top *top)
{
	free_frame(top->pdpt);
	free_frame(top->pd);
	free_frame(top->pt);
}

static struct kvm_mmu_page *child_sp(struct paging_vm *v, struct kvm_mmu_page *sp, unsigned int i)
{
	uint64_t spte = spte_read(&sp_sptes(sp)[i]);

	TEST_ASSERT(is_shadow_present_pte(spte) && spte != sp_empty_spte(v->t.kvm, sp, i),
		    "slot %u of a level-%d shadow page links a shadow page", i, sp->role.level);
	return spte_to_child_sp(v->t.kvm, spte);
}

/*
 * Every root maps the VMM's top from its creation, and keeps it when the
 * MMU empties the slot (a zap, release); a guest mapping beside it in
 * PML4 slot 511 (a kernel at 0xffffffff80000000, a page in the last GiB)
 * carries the VMM's entries down into the shadow pages on the way.
 */
TEST(every_root_keeps_the_vmm_top)
{
	struct paging_vm v;
	struct fake_top top;
	struct kvm_mmu_page *root, *l3, *l2;
	const struct kvm_vmm_top *t;
	gpa_t pml4e;

	shadow_vm_create(&v);
	fake_top_create(&v, &top);
	t = &v.t.kvm->vmm_top;
	paging_map(&v, VA_A, DATA_GPA(1), PT_WRITABLE_MASK);
	load_cr3(v.t.vcpu, v.cr3);
	gva_write64(v.t.vcpu, VA_A, 1);
	root = v.t.vcpu->root.sp;
	TEST_ASSERT_EQ(sp_sptes(root)[511], t->pml4e);
	TEST_ASSERT_EQ(shadow_spte(&v, KVM_VMM_TOP_GVA), 0UL); /* no shadow leaf: the VMM's */

	paging_map(&v, TOP_KERNEL, DATA_GPA(2), PT_WRITABLE_MASK);
	paging_map(&v, TOP_BESIDE, DATA_GPA(3), PT_WRITABLE_MASK);
	gva_write64(v.t.vcpu, TOP_KERNEL, 2);
	gva_write64(v.t.vcpu, TOP_BESIDE, 3);
	TEST_ASSERT_EQ(gva_read64(v.t.vcpu, TOP_KERNEL), 2UL);
	TEST_ASSERT_EQ(gva_read64(v.t.vcpu, TOP_BESIDE), 3UL);
	l3 = child_sp(&v, root, 511);
	TEST_ASSERT(l3->role.vmm_top && !child_sp(&v, l3, 510)->role.vmm_top, "vmm_top roles");
	l2 = child_sp(&v, l3, 511);
	TEST_ASSERT(l2->role.vmm_top, "the last GiB's PD shadow is on the way to the top");
	for (unsigned int i = 504; i < 512; i++)
		TEST_ASSERT_EQ(sp_sptes(l2)[i], t->pde[i - 504]);

	/* The guest drops its PML4 entry 511 (a tracked write): the root gets the VMM's back. */
	pml4e = guest_pte_gpa(&v.gt, v.cr3, TOP_KERNEL, 4);
	guest_pte_write(&v.gt, pml4e, 0);
	kvm_mmu_track_write(v.t.kvm, pml4e, 8);
	TEST_ASSERT_EQ(sp_sptes(root)[511], t->pml4e);
	expect_guest_fault(v.t.vcpu, TOP_KERNEL, 0, 0, "PML4E not present");

	/* Release empties the root, which still reaches the VMM's pages. */
	v.t.kvm->mmu_notifier.ops->release(&v.t.kvm->mmu_notifier, v.t.mm);
	TEST_ASSERT(root->invalid, "the root was zapped");
	TEST_ASSERT_EQ(sp_sptes(root)[511], t->pml4e);
	for (unsigned int i = 0; i < 511; i++)
		TEST_ASSERT_EQ(sp_sptes(root)[i], 0UL);
	kvm_vcpu_exit_guest(v.t.vcpu);
	kvm_mmu_unload(v.t.vcpu);
	fake_top_destroy(&top);
	test_vm_destroy(&v.t);
}

/*
 * A guest PTE that maps the top 16 MiB is refused (a #PF naming the
 * VMM's top), and never replaces the VMM's entry; INVLPG there and a
 * zap of the subtree leave the VMM's entries as they were.
 */
TEST(guest_mapping_of_the_vmm_top_is_refused)
{
	struct paging_vm v;
	struct fake_top top;
	struct kvm_mmu_page *l2;
	const struct kvm_vmm_top *t;

	shadow_vm_create(&v);
	fake_top_create(&v, &top);
	t = &v.t.kvm->vmm_top;
	paging_map(&v, TOP_BESIDE, DATA_GPA(3), PT_WRITABLE_MASK);
	paging_map(&v, KVM_VMM_TOP_GVA, DATA_GPA(4), PT_WRITABLE_MASK);
	paging_map(&v, KVM_VMM_TOP_GVA + 0x200000, DATA_GPA(4), PT_WRITABLE_MASK);
	load_cr3(v.t.vcpu, v.cr3);
	gva_write64(v.t.vcpu, TOP_BESIDE, 3);
	expect_guest_fault(v.t.vcpu, KVM_VMM_TOP_GVA, 0, 0, "the VMM's top 16 MiB");
	expect_guest_fault(v.t.vcpu, KVM_VMM_TOP_GVA + 0x200008, PFERR_WRITE_MASK, PFERR_WRITE_MASK,
			   "the VMM's top 16 MiB");
	l2 = child_sp(&v, child_sp(&v, v.t.vcpu->root.sp, 511), 511);
	TEST_ASSERT_EQ(sp_sptes(l2)[504], t->pde[0]);
	TEST_ASSERT_EQ(sp_sptes(l2)[505], 0UL);
	TEST_ASSERT_EQ(shadow_spte(&v, KVM_VMM_TOP_GVA), 0UL);
	TEST_ASSERT_EQ(rmap_count(&v, DATA_GPA(4)), 0U);

	kvm_vcpu_invlpg(v.t.vcpu, KVM_VMM_TOP_GVA);
	kvm_vcpu_invlpg(v.t.vcpu, TOP_BESIDE);
	TEST_ASSERT_EQ(sp_sptes(l2)[504], t->pde[0]);
	TEST_ASSERT_EQ(shadow_spte(&v, TOP_BESIDE), 0UL);
	TEST_ASSERT_EQ(gva_read64(v.t.vcpu, TOP_BESIDE), 3UL);
	/* The guest's PDPT entry 511 rewritten: the subtree goes, the VMM's PD comes back. */
	kvm_mmu_track_write(v.t.kvm, guest_pte_gpa(&v.gt, v.cr3, TOP_BESIDE, 3), 8);
	TEST_ASSERT_EQ(sp_sptes(child_sp(&v, v.t.vcpu->root.sp, 511))[511], t->pdpte);
	kvm_vcpu_exit_guest(v.t.vcpu);
	kvm_mmu_unload(v.t.vcpu);
	fake_top_destroy(&top);
	test_vm_destroy(&v.t);
}

/*
 * Two vCPU threads in guest mode on one address space, one of them
 * rewriting PTEs through an alias of the page table (emulated writes),
 * while a host thread swaps out and migrates the data pages and the table
 * page, until it has made RACE_INVALIDATIONS.  Each data page holds its own number, so any read through any
 * mapping must give 0-3; a leaf that outlived its frame would be reported
 * by the sanitizer, a lock taken in guest mode by lockdep, a race by TSan.
 */
#define RACE_PAGES 16
#define RACE_ROUNDS 3000       /* accesses per vCPU, at least */
#define RACE_INVALIDATIONS 100 /* and until the host has made as many */

struct race {
	struct paging_vm *v;
	gva_t va_pt;
	gpa_t pt;
	int stop;
};

struct race_vcpu {
	struct race *race;
	struct kvm_vcpu *vcpu;
	bool writer;
	uint64_t seed;
	long bad;
};

static int race_vcpu_fn(void *data)
{
	struct race_vcpu *rv = data;
	struct race *race = rv->race;
	struct guest_walker w;

	for (int i = 0; i < RACE_ROUNDS || !smp_load_acquire(&race->stop); i++) {
		unsigned int n = prandom_u64(&rv->seed) % RACE_PAGES;
		uint64_t val = ~0UL;

		if (rv->writer && !(i % 4)) {
			uint64_t pte = DATA_GPA(prandom_u64(&rv->seed) % 4) | PT_PRESENT_MASK |
				       PT_WRITABLE_MASK;

			TEST_ASSERT_EQ(__kvm_vcpu_access_gva(rv->vcpu, race->va_pt + 8 * n, &pte,
							     sizeof(pte), PFERR_WRITE_MASK, &w),
				       0);
			continue;
		}
		TEST_ASSERT_EQ(__kvm_vcpu_access_gva(rv->vcpu, VA_A + n * PAGE_SIZE, &val,
						     sizeof(val), 0, &w),
			       0);
		rv->bad += val >= 4;
	}
	kvm_vcpu_exit_guest(rv->vcpu);
	return 0;
}

static int race_host_fn(void *data)
{
	struct race *race = data;
	uint64_t seed = 7;

	while (!smp_load_acquire(&race->stop)) {
		unsigned int n = prandom_u64(&seed) % 5;
		gpa_t gpa = n < 4 ? DATA_GPA(n) : race->pt;

		if (prandom_u64(&seed) % 2)
			mm_try_pageout(race->v->t.mm, hva_of(race->v, gpa));
		else
			mm_try_migrate(race->v->t.mm, hva_of(race->v, gpa));
	}
	return 0;
}

TEST(faults_writes_and_invalidations_race)
{
	struct race_vcpu rv[2];
	struct kthread *k[3];
	struct race race;
	struct paging_vm v;

	shadow_vm_create(&v);
	test_swapon(1024);
	for (int i = 0; i < 4; i++)
		vcpu_write64(v.t.vcpu, DATA_GPA(i), i);
	for (int n = 0; n < RACE_PAGES; n++)
		paging_map(&v, VA_A + n * PAGE_SIZE, DATA_GPA(n % 4), PT_WRITABLE_MASK);
	race = (struct race){ .v = &v, .va_pt = map_own_table(&v) };
	race.pt = guest_table_of(&v.gt, v.cr3, VA_A, PG_LEVEL_4K);
	rv[0] = (struct race_vcpu){ .race = &race, .vcpu = v.t.vcpu, .writer = true, .seed = 1 };
	rv[1] = (struct race_vcpu){ .race = &race, .vcpu = test_vcpu(v.t.kvm, 1), .seed = 2 };
	for (int i = 0; i < 2; i++)
		load_cr3(rv[i].vcpu, v.cr3);
	k[2] = kthread_run(race_host_fn, &race, "host");
	k[0] = kthread_run(race_vcpu_fn, &rv[0], "vcpu0");
	k[1] = kthread_run(race_vcpu_fn, &rv[1], "vcpu1");
	while (kvm_stat_read(&v.t.kvm->stat.invalidations) < RACE_INVALIDATIONS)
		sched_yield();
	smp_store_release(&race.stop, 1);
	for (int i = 0; i < 3; i++)
		kthread_join(k[i]);
	TEST_ASSERT_EQ(rv[0].bad + rv[1].bad, 0L);
	TEST_ASSERT(kvm_stat_read(&rv[0].vcpu->stat.tracked_writes) > 0, "emulated writes");
	kvm_destroy_vcpu(rv[1].vcpu);
	test_vm_destroy(&v.t);
}
