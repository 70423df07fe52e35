// SPDX-License-Identifier: GPL-2.0
/*
 * folio_referenced(): accessed bits of every mapping tested and cleared,
 * a secondary MMU's young answer OR-ed in (mmu_notifier_clear_flush_young),
 * and a VM_LOCKED mapping reported and marked.
 */
#include <fcntl.h>

#include "mm/internal.h"
#include "mm/swap.h"
#include "tests/lib/mm_util.h"

#define POOL_SIZE (4UL << 20)

/*
 * What the CPU's page walker does on an access through a TLB miss: set the
 * accessed bit.  Host reads through access_remote_vm() do not (gup sets
 * PG_referenced instead, as the kernel's FOLL_TOUCH does).
 */
static void hw_touch(struct mm_struct *mm, unsigned long addr)
{
	spinlock_t *ptl;
	pte_t *pte;

	mmap_read_lock(mm);
	pte = pte_offset_map_lock(mm, addr, &ptl);
	TEST_ASSERT(pte && pte_present(ptep_get(pte)), "no PTE at %#lx", addr);
	set_pte_at(mm, addr, pte, pte_mkyoung(ptep_get(pte)));
	pte_unmap_unlock(pte, ptl);
	mmap_read_unlock(mm);
}

static int referenced(struct page *page, unsigned long *vm_flags)
{
	unsigned long flags;
	int ret;

	lock_page(page);
	ret = folio_referenced(page, 1, vm_flags ? vm_flags : &flags);
	unlock_page(page);
	return ret;
}

TEST(young_pte_counts_once)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, PAGE_SIZE, PROT_READ | PROT_WRITE);
	struct page *page;
	unsigned long flags;

	mm_fill(mm, a, PAGE_SIZE, 1);
	page = mm_page_at(mm, a);
	TEST_ASSERT_EQ(referenced(page, &flags), 1);
	TEST_ASSERT(flags & VM_WRITE, "vm_flags %#lx", flags);
	TEST_ASSERT(!(mm_pte_val(mm, a) & _PAGE_ACCESSED), "accessed bit not cleared");
	TEST_ASSERT_EQ(referenced(page, NULL), 0);
	/* Unlocked callers try the lock themselves. */
	hw_touch(mm, a);
	TEST_ASSERT_EQ(folio_referenced(page, 0, &flags), 1);
	mmput(mm);
	test_pool_destroy(pool);
}

/* After fork, each process's accessed bit counts. */
TEST(every_mapping_counts)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *parent = test_mm(pool), *child;
	unsigned long a = test_mmap_anon(parent, PAGE_SIZE, PROT_READ | PROT_WRITE);
	struct page *page;

	mm_fill(parent, a, PAGE_SIZE, 1);
	child = test_fork(parent);
	page = mm_page_at(parent, a);
	TEST_ASSERT_EQ(referenced(page, NULL), 1); /* the child's copy starts old */
	hw_touch(parent, a);
	hw_touch(child, a);
	TEST_ASSERT_EQ(referenced(page, NULL), 2);
	TEST_ASSERT_EQ(referenced(page, NULL), 0);
	mmput(child);
	mmput(parent);
	test_pool_destroy(pool);
}

struct young_recorder {
	struct mmu_notifier mn;
	int calls;
	unsigned long start, end;
	int answer;
};

static int record_young(struct mmu_notifier *mn, struct mm_struct *mm, unsigned long start,
			unsigned long end)
{
	struct young_recorder *r = container_of(mn, struct young_recorder, mn);

	r->calls++;
	r->start = start;
	r->end = end;
	return r->answer;
}

static const struct mmu_notifier_ops young_ops = { .clear_flush_young = record_young };

/* A page the guest uses through its own tables, not the host's, is still used. */
TEST(secondary_mmu_young_is_ored_in)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, PAGE_SIZE, PROT_READ | PROT_WRITE);
	struct young_recorder r = { .mn.ops = &young_ops, .answer = 1 };
	struct page *page;

	mm_fill(mm, a, PAGE_SIZE, 1);
	page = mm_page_at(mm, a);
	TEST_ASSERT_EQ(referenced(page, NULL), 1); /* clear the host's bit */
	TEST_ASSERT_EQ(mmu_notifier_register(&r.mn, mm), 0);
	TEST_ASSERT_EQ(referenced(page, NULL), 1);
	TEST_ASSERT_EQ(r.calls, 1);
	TEST_ASSERT_EQ(r.start, a);
	TEST_ASSERT_EQ(r.end, a + PAGE_SIZE);
	r.answer = 0;
	TEST_ASSERT_EQ(referenced(page, NULL), 0);
	mmu_notifier_unregister(&r.mn, mm);
	mmput(mm);
	test_pool_destroy(pool);
}

/* A VM_LOCKED mapping: reported, and the page marked mlocked under the PTE lock. */
TEST(locked_vma_marks_mlocked)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, PAGE_SIZE, PROT_READ | PROT_WRITE);
	unsigned long flags;
	struct page *page;

	TEST_ASSERT_EQ(do_mlock(mm, a, PAGE_SIZE, 0), 0);
	page = mm_page_at(mm, a);
	TEST_ASSERT(PageMlocked(page), "not mlocked by the fault");
	munlock_page(page); /* as a munlock of another VMA would */
	referenced(page, &flags);
	TEST_ASSERT(flags & VM_LOCKED, "VM_LOCKED not reported: %#lx", flags);
	TEST_ASSERT(PageMlocked(page) && PageUnevictable(page), "not marked again");
	mmput(mm);
	test_pool_destroy(pool);
}

/*
 * vm_flags read by rmap walks while mprotect writes them under mmap_lock,
 * which the walks do not take: each an untorn load (TSan reports a plain
 * one; prot_flipper, tests/lib/mm_util.h).  The VMA is mlocked, so every
 * walk reads VM_LOCKED and keeps the page: page_referenced_one(),
 * try_to_unmap_one(), and invalid_munlock_vma() on the way to it.
 */
TEST(rmap_walks_while_mprotect_changes_the_flags)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, PAGE_SIZE, PROT_READ | PROT_WRITE);
	struct prot_flipper f;
	unsigned long flags;
	struct page *page;

	TEST_ASSERT_EQ(do_mlock(mm, a, PAGE_SIZE, 0), 0);
	page = mm_page_at(mm, a);
	prot_flipper_start(&f, mm, a, PAGE_SIZE);
	for (int i = 0; i < 3000; i++) {
		referenced(page, &flags);
		TEST_ASSERT(flags & VM_LOCKED, "vm_flags %#lx", flags);
		lock_page(page);
		TEST_ASSERT(!try_to_unmap(page, 0), "an mlocked page unmapped");
		TEST_ASSERT(try_to_munlock(page), "not mlocked");
		unlock_page(page);
	}
	prot_flipper_stop(&f);
	mmput(mm);
	test_pool_destroy(pool);
}
