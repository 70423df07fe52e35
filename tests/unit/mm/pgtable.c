// SPDX-License-Identifier: GPL-2.0
/*
 * Page tables: the PTE format and its swap and migration encodings, tables
 * drawn from the pool as page-table frames, split PTE locks, freeing a
 * range's tables around its neighbours, the walker, and the sanitizer
 * report for a walk through a freed table.
 */
#include "base/preempt.h"
#include "mm/internal.h"
#include "mm/sanitizer.h"
#include "tests/lib/mm_util.h"

#define GiB (1UL << 30)

static unsigned long pool_frames(struct frame_pool *pool)
{
	return test_pool_allocated(pool);
}

/* ---- entry formats ---- */

TEST(pte_bits_round_trip)
{
	pgprot_t prot = vm_get_page_prot(VM_READ | VM_WRITE | VM_SHARED);
	pte_t pte = pfn_pte(0x12345, prot);

	TEST_ASSERT_EQ(pte_pfn(pte), 0x12345UL);
	TEST_ASSERT(pte_present(pte) && pte_write(pte) && !pte_exec(pte), "pte %#lx", pte_val(pte));
	TEST_ASSERT(!pte_dirty(pte) && pte_young(pte), "pte %#lx", pte_val(pte));
	pte = pte_mkold(pte_mkdirty(pte_wrprotect(pte)));
	TEST_ASSERT(!pte_write(pte) && pte_dirty(pte) && !pte_young(pte), "pte %#lx", pte_val(pte));
	TEST_ASSERT_EQ(pte_pfn(pte), 0x12345UL);
	TEST_ASSERT(pte_none(__pte(0)) && !pte_present(__pte(0)), "zero pte");
}

TEST(pte_modify_keeps_frame_and_hardware_bits)
{
	pte_t pte = pte_mkdirty(pfn_pte(77, vm_get_page_prot(VM_READ | VM_WRITE | VM_SHARED)));
	pte_t none = pte_modify(pte, vm_get_page_prot(VM_NONE));
	pte_t back = pte_modify(none, vm_get_page_prot(VM_READ | VM_EXEC));

	/* PROT_NONE: still a mapping (present), but not to the "hardware". */
	TEST_ASSERT(pte_present(none) && pte_protnone(none) && !pte_write(none), "%#lx",
		    pte_val(none));
	TEST_ASSERT(!(pte_val(none) & _PAGE_PRESENT), "%#lx", pte_val(none));
	TEST_ASSERT(!pte_protnone(back) && pte_exec(back) && !pte_write(back), "%#lx",
		    pte_val(back));
	TEST_ASSERT(pte_dirty(back) && pte_pfn(back) == 77, "%#lx", pte_val(back));
}

TEST(vm_page_prot_follows_protection_map)
{
	/* Private writable: read-only, so that the first write faults (COW). */
	TEST_ASSERT(!(pgprot_val(vm_get_page_prot(VM_READ | VM_WRITE)) & _PAGE_RW), "private");
	TEST_ASSERT(pgprot_val(vm_get_page_prot(VM_READ | VM_WRITE | VM_SHARED)) & _PAGE_RW,
		    "shared");
	TEST_ASSERT(pgprot_val(vm_get_page_prot(VM_READ)) & _PAGE_NX, "no exec: NX");
	TEST_ASSERT(!(pgprot_val(vm_get_page_prot(VM_READ | VM_EXEC)) & _PAGE_NX), "exec");
	TEST_ASSERT_EQ(pgprot_val(vm_get_page_prot(VM_SHARED)), pgprot_val(PAGE_NONE));
}

TEST(swap_entry_round_trip)
{
	static const unsigned long offsets[] = { 0, 1, 4096, SWP_PTE_MAX_OFFSET };
	static const unsigned int types[] = { 0, 1, MAX_SWAPFILES - 1 };

	for (unsigned int t = 0; t < ARRAY_SIZE(types); t++) {
		for (unsigned int o = 0; o < ARRAY_SIZE(offsets); o++) {
			swp_entry_t e = swp_entry(types[t], offsets[o]);
			pte_t pte = swp_entry_to_pte(e);
			swp_entry_t back = pte_to_swp_entry(pte);

			TEST_ASSERT(is_swap_pte(pte), "type %u offset %#lx: pte %#lx", types[t],
				    offsets[o], pte_val(pte));
			TEST_ASSERT_EQ(swp_type(back), types[t]);
			TEST_ASSERT_EQ(swp_offset(back), offsets[o]);
			TEST_ASSERT(!non_swap_entry(back), "a swap device entry");
			/* The exclusive marker rides beside the entry without changing it. */
			pte = pte_swp_mkexclusive(pte);
			TEST_ASSERT(pte_swp_exclusive(pte) && is_swap_pte(pte), "%#lx",
				    pte_val(pte));
			TEST_ASSERT_EQ(pte_to_swp_entry(pte).val, e.val);
		}
	}
}

TEST(migration_entry_names_its_page)
{
	struct frame_pool *pool = test_pool(1 << 20);
	struct page *page = alloc_page(pool, GFP_KERNEL);

	for (int write = 0; write < 2; write++) {
		swp_entry_t e =
			pte_to_swp_entry(swp_entry_to_pte(make_migration_entry(page, write)));

		TEST_ASSERT(is_migration_entry(e) && non_swap_entry(e), "type %u", swp_type(e));
		TEST_ASSERT_EQ(is_writable_migration_entry(e), (bool)write);
		TEST_ASSERT(pfn_swap_entry_to_page(pool, e) == page, "page");
	}
	put_page(page);
	test_pool_destroy(pool);
}

/* ---- tables ---- */

/* Make the PTE table for @addr exist (no PTE set). */
static void touch_table(struct mm_struct *mm, unsigned long addr)
{
	spinlock_t *ptl;
	pte_t *pte = get_locked_pte(mm, addr, &ptl);

	TEST_ASSERT(pte, "get_locked_pte(%#lx)", addr);
	TEST_ASSERT(pte_none(ptep_get(pte)), "fresh pte");
	pte_unmap_unlock(pte, ptl);
}

static void free_all_tables(struct mm_struct *mm)
{
	struct mmu_gather tlb;

	tlb_gather_mmu(&tlb, mm);
	free_pgd_range(&tlb, FIRST_USER_ADDRESS, TASK_SIZE, FIRST_USER_ADDRESS,
		       USER_PGTABLES_CEILING);
	tlb_finish_mmu(&tlb);
}

TEST(tables_are_pgtable_frames_from_the_pool)
{
	struct frame_pool *pool = test_pool(4 << 20);
	struct mm_struct *mm = test_mm(pool);
	unsigned long base = pool_frames(pool), a = 16 * GiB;
	pmd_t *pmd;

	mmap_write_lock(mm);
	touch_table(mm, a); /* pud, pmd and pte tables */
	TEST_ASSERT_EQ(pool_frames(pool), base + 3);
	TEST_ASSERT_EQ(atomic_long_read(&mm->pgtables_bytes), 3 * PAGE_SIZE);
	touch_table(mm, a + 511 * PAGE_SIZE); /* same PTE table */
	TEST_ASSERT_EQ(pool_frames(pool), base + 3);
	touch_table(mm, a + PMD_SIZE); /* a new PTE table */
	TEST_ASSERT_EQ(pool_frames(pool), base + 4);
	touch_table(mm, a + PUD_SIZE); /* a new pmd and PTE table */
	TEST_ASSERT_EQ(pool_frames(pool), base + 6);
	touch_table(mm, a + PGDIR_SIZE); /* a new pud, pmd and PTE table */
	TEST_ASSERT_EQ(pool_frames(pool), base + 9);

	pmd = mm_find_pmd(mm, a);
	TEST_ASSERT(pmd && !pmd_none(pmdp_get(pmd)), "pmd of %#lx", a);
	TEST_ASSERT_EQ(page_frame_state(pgtable_entry_page(mm, pmdp_get(pmd))), FRAME_PGTABLE);
	TEST_ASSERT(!mm_find_pmd(mm, a + 2 * PGDIR_SIZE), "no table there");

	free_all_tables(mm);
	TEST_ASSERT_EQ(pool_frames(pool), base);
	TEST_ASSERT_EQ(atomic_long_read(&mm->pgtables_bytes), 0L);
	mmap_write_unlock(mm);
	mmput(mm);
	test_pool_destroy(pool);
}

TEST(pte_offset_map_lock_without_table_is_null)
{
	struct frame_pool *pool = test_pool(1 << 20);
	struct mm_struct *mm = test_mm(pool);
	unsigned long before = pool_frames(pool);
	spinlock_t *ptl;

	mmap_read_lock(mm);
	TEST_ASSERT(!pte_offset_map_lock(mm, GiB, &ptl), "no table, no pte");
	TEST_ASSERT(!in_atomic(), "no lock left held");
	mmap_read_unlock(mm);
	TEST_ASSERT_EQ(pool_frames(pool), before); /* and nothing allocated */
	mmput(mm);
	test_pool_destroy(pool);
}

TEST(each_pte_table_has_its_own_lock)
{
	struct frame_pool *pool = test_pool(1 << 20);
	struct mm_struct *mm = test_mm(pool);
	spinlock_t *ptl_a, *ptl_b, *ptl_c;
	pte_t *pte;

	mmap_write_lock(mm);
	pte = get_locked_pte(mm, GiB, &ptl_a);
	TEST_ASSERT(pte && spin_is_locked(ptl_a) && in_atomic(), "held after lookup");
	pte_unmap_unlock(pte, ptl_a);
	pte = get_locked_pte(mm, GiB + PAGE_SIZE, &ptl_b);
	pte_unmap_unlock(pte, ptl_b);
	pte = get_locked_pte(mm, GiB + PMD_SIZE, &ptl_c);
	pte_unmap_unlock(pte, ptl_c);
	TEST_ASSERT(ptl_a == ptl_b, "one table, one lock");
	TEST_ASSERT(ptl_a != ptl_c && ptl_a != &mm->page_table_lock, "split locks");
	TEST_ASSERT(!spin_is_locked(ptl_a) && !in_atomic(), "released");

	/* Two tables' locks at once, as fork does: one class, nested. */
	spin_lock(ptl_a);
	spin_lock_nested(ptl_c, 1);
	spin_unlock(ptl_c);
	spin_unlock(ptl_a);

	free_all_tables(mm);
	mmap_write_unlock(mm);
	mmput(mm);
	test_pool_destroy(pool);
}

/*
 * free_pgd_range() frees only tables that map nothing outside [floor,
 * ceiling): neighbours' tables stay.
 */
TEST(free_pgd_range_keeps_neighbours_tables)
{
	struct frame_pool *pool = test_pool(4 << 20);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = 4 * GiB, base = pool_frames(pool);
	struct mmu_gather tlb;

	mmap_write_lock(mm);
	touch_table(mm, a);		       /* a neighbour below, in the same PTE table */
	touch_table(mm, a + 8 * PAGE_SIZE);    /* the range being freed ... */
	touch_table(mm, a + 3 * PMD_SIZE);     /* ... spans three more PTE tables */
	touch_table(mm, a + 5 * PMD_SIZE + 8); /* a neighbour above */
	TEST_ASSERT_EQ(pool_frames(pool), base + 5);

	/* [a + 4 pages, a + 4 PMDs), between neighbours ending at a + 1 page and starting at a + 5 PMDs. */
	tlb_gather_mmu(&tlb, mm);
	free_pgd_range(&tlb, a + 4 * PAGE_SIZE, a + 4 * PMD_SIZE, a + PAGE_SIZE, a + 5 * PMD_SIZE);
	tlb_finish_mmu(&tlb);
	/* The table at a is shared with the lower neighbour; only a + 3 PMDs' went. */
	TEST_ASSERT_EQ(pool_frames(pool), base + 4);
	TEST_ASSERT(mm_find_pmd(mm, a) && !pmd_none(pmdp_get(mm_find_pmd(mm, a))), "kept");
	TEST_ASSERT(pmd_none(pmdp_get(mm_find_pmd(mm, a + 3 * PMD_SIZE))), "freed");

	/* With no neighbours left, everything goes, upper levels included. */
	free_all_tables(mm);
	TEST_ASSERT_EQ(pool_frames(pool), base);
	TEST_ASSERT(!mm_find_pmd(mm, a), "pud table freed too");
	mmap_write_unlock(mm);
	mmput(mm);
	test_pool_destroy(pool);
}

/* Tables under FIRST_USER_ADDRESS's PMD are freed at exit too. */
TEST(lowest_mapping_tables_freed_at_exit)
{
	struct frame_pool *pool = test_pool(1 << 20);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap(mm, FIRST_USER_ADDRESS, PAGE_SIZE, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, NULL, 0);

	mm_fill(mm, a, PAGE_SIZE, 3);
	mmput(mm);
	test_pool_destroy(pool); /* asserts no table was left behind */
}

/*
 * The bug rule 5, unlink before freeing page tables, prevents, done by
 * hand: a PTE table freed while an entry still leads to it.  A walk that
 * steps into it is reported, and treats the table as absent rather than
 * taking a lock that is gone.
 */
TEST(walk_into_freed_table_is_reported)
{
	struct frame_pool *pool = test_pool(1 << 20);
	struct mm_struct *mm = test_mm(pool);
	struct sanitizer_counters c;
	spinlock_t *ptl;
	pmd_t *pmd;

	mmap_write_lock(mm);
	touch_table(mm, GiB);
	pmd = mm_find_pmd(mm, GiB);
	pgtable_free(mm, pgtable_entry_page(mm, pmdp_get(pmd)));

	TEST_ASSERT(!pte_offset_map_lock(mm, GiB, &ptl), "a freed table is no table");
	expect_reports(REPORT_SANITIZER, 1);
	frame_pool_sanitizer_counters(pool, &c);
	TEST_ASSERT_EQ(c.use_after_free, 1UL);

	pxx_clear(pmd); /* undo the damage so the rest can be torn down */
	free_all_tables(mm);
	mmap_write_unlock(mm);
	mmput(mm);
	TEST_ASSERT_EQ(test_pool_allocated(pool), 0UL);
	frame_pool_destroy(pool);
}

TEST(freeing_table_with_live_entry_is_reported)
{
	struct frame_pool *pool = test_pool(1 << 20);
	struct mm_struct *mm = test_mm(pool);
	struct mmu_gather tlb;
	spinlock_t *ptl;
	pte_t *pte;

	mmap_write_lock(mm);
	pte = get_locked_pte(mm, GiB, &ptl);
	set_pte(pte, swp_entry_to_pte(swp_entry(1, 5))); /* an entry nobody zapped */
	pte_unmap_unlock(pte, ptl);

	tlb_gather_mmu(&tlb, mm);
	free_pgd_range(&tlb, GiB, GiB + PAGE_SIZE, 0, 0);
	tlb_finish_mmu(&tlb);
	expect_reports(REPORT_WARN, 1);
	mmap_write_unlock(mm);
	mmput(mm);
	test_pool_destroy(pool);
}

/* ---- the walker ---- */

struct walk_record {
	unsigned long addrs[16];
	int nr;
	int stop_at; /* return 7 from this call (1-based), 0: never */
};

static int record_pte(pte_t *pte, unsigned long addr, struct mm_walk *walk)
{
	struct walk_record *rec = walk->private;

	TEST_ASSERT(in_atomic() && spin_is_locked(walk->ptl), "PTE lock held in pte_entry");
	TEST_ASSERT(pte_present(ptep_get(pte)), "only mapped PTEs are visited");
	rec->addrs[rec->nr++] = addr;
	return rec->nr == rec->stop_at ? 7 : 0;
}

static const struct mm_walk_ops record_ops = { .pte_entry = record_pte };

TEST(walk_page_range_visits_mapped_ptes_in_order)
{
	struct frame_pool *pool = test_pool(4 << 20);
	struct mm_struct *mm = test_mm(pool);
	unsigned long len = 1024 * PAGE_SIZE; /* spans at least two PTE tables */
	unsigned long a = test_mmap_anon(mm, len, PROT_READ | PROT_WRITE);
	static const unsigned long touched[] = { 0, 5, 511, 512, 1023 };
	struct walk_record rec = { 0 };
	struct vm_area_struct *vma;

	for (unsigned int i = 0; i < ARRAY_SIZE(touched); i++)
		mm_fill(mm, a + touched[i] * PAGE_SIZE, 1, i);

	mmap_read_lock(mm);
	vma = vma_lookup(mm, a);
	TEST_ASSERT_EQ(walk_page_range(vma, a, a + len, &record_ops, &rec), 0);
	TEST_ASSERT_EQ(rec.nr, (int)ARRAY_SIZE(touched));
	for (unsigned int i = 0; i < ARRAY_SIZE(touched); i++)
		TEST_ASSERT_EQ(rec.addrs[i], a + touched[i] * PAGE_SIZE);

	/* A nonzero return ends the walk and is passed back. */
	rec = (struct walk_record){ .stop_at = 2 };
	TEST_ASSERT_EQ(walk_page_range(vma, a, a + len, &record_ops, &rec), 7);
	TEST_ASSERT_EQ(rec.nr, 2);
	TEST_ASSERT(!in_atomic(), "lock dropped on early stop");

	TEST_ASSERT_EQ(walk_page_range(vma, a, a + len + PAGE_SIZE, &record_ops, &rec), -EINVAL);
	TEST_ASSERT_EQ(walk_page_range(vma, a + 1, a + len, &record_ops, &rec), -EINVAL);
	TEST_ASSERT_EQ(walk_page_range(vma, a, a, &record_ops, &rec), -EINVAL);
	mmap_read_unlock(mm);
	mmput(mm);
	test_pool_destroy(pool);
}

TEST(pmd_span_skips_missing_levels)
{
	struct frame_pool *pool = test_pool(1 << 20);
	struct mm_struct *mm = test_mm(pool);
	unsigned long next;

	mmap_write_lock(mm);
	/* Nothing at all: the whole pgd entry's span is a hole. */
	TEST_ASSERT(!pmd_span(mm, GiB + 5 * PAGE_SIZE, TASK_SIZE, &next), "hole");
	TEST_ASSERT_EQ(next, PGDIR_SIZE);
	TEST_ASSERT(!pmd_span(mm, GiB, GiB + PAGE_SIZE, &next), "hole");
	TEST_ASSERT_EQ(next, GiB + PAGE_SIZE); /* clipped to end */
	touch_table(mm, GiB);
	TEST_ASSERT(!pmd_span(mm, 3 * GiB, 4 * GiB + 1, &next), "no pmd table there");
	TEST_ASSERT_EQ(next, 4 * GiB);
	TEST_ASSERT(pmd_span(mm, GiB + PAGE_SIZE, TASK_SIZE, &next), "pmd");
	TEST_ASSERT_EQ(next, GiB + PMD_SIZE);
	free_all_tables(mm);
	mmap_write_unlock(mm);
	mmput(mm);
	test_pool_destroy(pool);
}
