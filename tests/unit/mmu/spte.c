// SPDX-License-Identifier: GPL-2.0
/*
 * SPTE tables: the x86-64 entry format, install and walk, zapping ranges
 * (empty, sparse, across top-level entries), and the table frames' state.
 */
#include "base/prandom.h"
#include "mmu/spte.h"
#include "tests/lib/kvm_util.h"

#define MB (1UL << 20)

struct spte_env {
	struct frame_pool *pool;
	struct mm_struct *mm;
	struct kvm *kvm;
	struct kvm_mmu_memory_cache mc;
};

static void env_init(struct spte_env *e)
{
	e->pool = test_pool(16 * MB);
	e->mm = test_mm(e->pool);
	e->kvm = test_kvm(e->mm, 0);
	e->mc = (struct kvm_mmu_memory_cache){ 0 };
}

static void env_map(struct spte_env *e, gfn_t gfn, struct page *page, bool writable)
{
	TEST_ASSERT_EQ(kvm_mmu_topup_memory_cache(e->kvm, &e->mc), 0);
	write_lock(&e->kvm->mmu_lock);
	kvm_mmu_map(e->kvm, &e->mc, gfn, page, writable, false);
	write_unlock(&e->kvm->mmu_lock);
}

static bool env_zap(struct spte_env *e, gfn_t start, gfn_t end)
{
	bool ret;

	write_lock(&e->kvm->mmu_lock);
	ret = kvm_mmu_zap_gfn_range(e->kvm, start, end);
	write_unlock(&e->kvm->mmu_lock);
	return ret;
}

static void env_destroy(struct spte_env *e)
{
	kvm_mmu_free_memory_cache(&e->mc);
	kvm_destroy_vm(e->kvm);
	mmput(e->mm);
	test_pool_destroy(e->pool);
}

TEST(spte_format)
{
	struct spte_env e;
	struct page *page;
	uint64_t spte;

	env_init(&e);
	page = alloc_page(e.pool, GFP_KERNEL);
	TEST_ASSERT(page, "alloc_page");
	TEST_ASSERT_EQ(page_frame_state(e.kvm->root), FRAME_SECONDARY);
	env_map(&e, 0x12345, page, true);
	spte = kvm_mmu_spte(e.kvm, 0x12345);
	TEST_ASSERT(spte & PT_PRESENT_MASK, "present");
	TEST_ASSERT(spte & PT_WRITABLE_MASK, "writable");
	TEST_ASSERT(spte & PT_USER_MASK, "user");
	TEST_ASSERT(!(spte & PT64_NX_MASK), "guest RAM is executable, as a KVM memslot");
	TEST_ASSERT(!(spte & PT_DIRTY_MASK), "dirty without a write");
	TEST_ASSERT_EQ(spte_to_pfn(spte), page_to_pfn(page));
	TEST_ASSERT_EQ(spte_gen(spte), page->gen & SPTE_GEN_MASK);
	/* Neighbours are not mapped. */
	TEST_ASSERT_EQ(kvm_mmu_spte(e.kvm, 0x12344), 0UL);
	TEST_ASSERT_EQ(kvm_mmu_spte(e.kvm, 0x12346), 0UL);
	/* Root, and one table at each of the three lower levels. */
	TEST_ASSERT_EQ(kvm_stat_read(&e.kvm->stat.tables_allocated), 4L);
	/* A second page in the same last-level table needs no new table. */
	env_map(&e, 0x12346, page, false);
	TEST_ASSERT_EQ(kvm_stat_read(&e.kvm->stat.tables_allocated), 4L);
	TEST_ASSERT(!is_writable_pte(kvm_mmu_spte(e.kvm, 0x12346)), "read-only");

	TEST_ASSERT(env_zap(&e, 0x12345, 0x12346), "nothing zapped");
	TEST_ASSERT_EQ(kvm_mmu_spte(e.kvm, 0x12345), 0UL);
	TEST_ASSERT(is_shadow_present_pte(kvm_mmu_spte(e.kvm, 0x12346)), "zapped too much");
	TEST_ASSERT(env_zap(&e, 0, KVM_MAX_GFN), "nothing zapped");
	free_frame(page);
	env_destroy(&e);
}

TEST(spte_zap_ranges)
{
	/* One page per top-level entry, and two in one far corner. */
	const gfn_t gfns[] = { 5, 1ULL << 27, (3ULL << 27) + 511, (3ULL << 27) + 512,
			       KVM_MAX_GFN - 1 };
	struct spte_env e;
	struct page *page;

	env_init(&e);
	page = alloc_page(e.pool, GFP_KERNEL);
	for (unsigned int i = 0; i < ARRAY_SIZE(gfns); i++)
		env_map(&e, gfns[i], page, true);
	for (unsigned int i = 0; i < ARRAY_SIZE(gfns); i++)
		TEST_ASSERT(kvm_mmu_spte(e.kvm, gfns[i]), "gfn %#lx", (unsigned long)gfns[i]);

	/* Empty ranges between them zap nothing. */
	TEST_ASSERT(!env_zap(&e, 6, 1ULL << 27), "zapped in a hole");
	TEST_ASSERT(!env_zap(&e, (1ULL << 27) + 1, (3ULL << 27) + 511), "zapped in a hole");
	TEST_ASSERT(!env_zap(&e, 0, 0), "empty range");
	TEST_ASSERT_EQ(kvm_stat_read(&e.kvm->stat.sptes_zapped), 0L);
	/* A range across a last-level table boundary. */
	TEST_ASSERT(env_zap(&e, (3ULL << 27) + 511, (3ULL << 27) + 513), "boundary");
	TEST_ASSERT_EQ(kvm_stat_read(&e.kvm->stat.sptes_zapped), 2L);
	TEST_ASSERT(kvm_mmu_spte(e.kvm, KVM_MAX_GFN - 1), "last gfn zapped");
	/* A range past the end is clipped. */
	TEST_ASSERT(env_zap(&e, KVM_MAX_GFN - 1, ~0ULL), "last gfn");
	TEST_ASSERT(env_zap(&e, 0, KVM_MAX_GFN), "the rest");
	TEST_ASSERT_EQ(kvm_stat_read(&e.kvm->stat.sptes_zapped), (long)ARRAY_SIZE(gfns));
	for (unsigned int i = 0; i < ARRAY_SIZE(gfns); i++)
		TEST_ASSERT_EQ(kvm_mmu_spte(e.kvm, gfns[i]), 0UL);
	free_frame(page);
	env_destroy(&e);
}

/* The zap moves the SPTE's dirty and accessed bits to the page. */
TEST(spte_zap_transfers_dirty)
{
	struct spte_env e;
	struct page *page;

	env_init(&e);
	page = alloc_page(e.pool, GFP_KERNEL);
	TEST_ASSERT_EQ(kvm_mmu_topup_memory_cache(e.kvm, &e.mc), 0);
	write_lock(&e.kvm->mmu_lock);
	kvm_mmu_map(e.kvm, &e.mc, 9, page, true, true);
	write_unlock(&e.kvm->mmu_lock);
	TEST_ASSERT(!PageDirty(page) && !PageReferenced(page), "fresh page");
	TEST_ASSERT(env_zap(&e, 9, 10), "zap");
	TEST_ASSERT(PageDirty(page), "dirty bit lost");
	TEST_ASSERT(PageReferenced(page), "accessed bit lost");
	TEST_ASSERT_EQ(kvm_stat_read(&e.kvm->stat.dirty_transferred), 1L);
	ClearPageDirty(page);
	ClearPageReferenced(page);
	free_frame(page);
	env_destroy(&e);
}

static long env_audit(struct spte_env *e)
{
	long leaves;

	write_lock(&e->kvm->mmu_lock);
	leaves = kvm_mmu_audit_sptes(e->kvm);
	write_unlock(&e->kvm->mmu_lock);
	return leaves;
}

/*
 * The range walks go by each table's summary of its present cache lines:
 * an install that forgot to set it would leave a leaf no zap reaches, a
 * zap that forgot to clear it a summary the audit's full walk disagrees
 * with.  Sparse installs on line and table boundaries, zaps that cut
 * lines in two, and after the last zap a full walk finds nothing.
 */
TEST(spte_present_summary_follows_installs_and_zaps)
{
	/* On line and table boundaries, and at both ends of the guest-physical space. */
	const gfn_t gfns[] = { 0, 7, 8, 9, 511, 512, 513, 4095, 4096 };
	const gfn_t far[] = { (1 << 18) + 77, (1 << 27) - 1, (1 << 27) + 8 * 64 + 3,
			      KVM_MAX_GFN - 1 };
	struct spte_env e;
	struct page *page;
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	long mapped = ARRAY_SIZE(gfns) + ARRAY_SIZE(far);

	env_init(&e);
	page = alloc_page(e.pool, GFP_KERNEL);
	for (unsigned int i = 0; i < ARRAY_SIZE(gfns); i++)
		env_map(&e, gfns[i], page, true);
	for (unsigned int i = 0; i < ARRAY_SIZE(far); i++)
		env_map(&e, far[i], page, true);
	/* Scattered through one 1 GiB region, each its own table or line. */
	for (int i = 0; i < 64; i++) {
		gfn_t gfn = (2ULL << 27) + (prandom_u64(&x) % (1ULL << 18));

		if (!kvm_mmu_spte(e.kvm, gfn))
			mapped++;
		env_map(&e, gfn, page, false);
	}
	TEST_ASSERT_EQ(env_audit(&e), mapped);

	/* Zaps that end inside a line leave the rest of it present. */
	TEST_ASSERT(env_zap(&e, 8, 9), "gfn 8");
	TEST_ASSERT(kvm_mmu_spte(e.kvm, 9) && kvm_mmu_spte(e.kvm, 7), "its line neighbours");
	TEST_ASSERT(env_zap(&e, 1, 512), "7, 9, 511");
	TEST_ASSERT(kvm_mmu_spte(e.kvm, 0) && kvm_mmu_spte(e.kvm, 512), "outside the range");
	TEST_ASSERT_EQ(env_audit(&e), mapped - 4);
	/* A range walk over a line whose entries all went, and over an empty table. */
	TEST_ASSERT(!env_zap(&e, 1, 512), "zapped twice");
	TEST_ASSERT(env_zap(&e, 4095, 4097), "across a table boundary");
	TEST_ASSERT_EQ(env_audit(&e), mapped - 6);
	TEST_ASSERT(env_zap(&e, 2ULL << 27, 3ULL << 27), "the scattered ones");
	TEST_ASSERT_EQ(env_audit(&e), (long)(ARRAY_SIZE(gfns) + ARRAY_SIZE(far)) - 6);

	/* Everything: the full walk, which trusts no summary, finds no leaf. */
	TEST_ASSERT(env_zap(&e, 0, KVM_MAX_GFN), "the rest");
	TEST_ASSERT_EQ(env_audit(&e), 0L);
	TEST_ASSERT_EQ(kvm_stat_read(&e.kvm->stat.sptes_zapped), mapped);
	/* Mapped again into the emptied tables, found again by a range zap. */
	env_map(&e, 513, page, true);
	TEST_ASSERT_EQ(env_audit(&e), 1L);
	TEST_ASSERT(env_zap(&e, 0, KVM_MAX_GFN), "mapped again");
	TEST_ASSERT_EQ(env_audit(&e), 0L);
	free_frame(page);
	env_destroy(&e);
}
