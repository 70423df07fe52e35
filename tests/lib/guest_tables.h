/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest page tables a test builds from the host side, in guest RAM: table
 * pages handed out in a line from a range of guest-physical memory, and
 * entries read and written through the caller's accessors (the host mm,
 * the VMM's guest-RAM helpers), as another CPU would write them.
 *
 *	struct guest_tables gt;
 *	guest_tables_init(&gt, &ops, ctx, first_gpa, nr_pages);
 *	gpa_t cr3 = guest_table_alloc(&gt);			a PML4
 *	guest_map(&gt, cr3, gva, gpa, PT_WRITABLE_MASK, PG_LEVEL_4K);
 *	kvm_vcpu_load_cr3(vcpu, cr3);
 *
 * Upper entries grant every right (P, W, U); the leaf has P and the
 * flags asked for, and PS above level 1.  Header-only.
 */
#ifndef NOPIN_TESTS_GUEST_TABLES_H
#define NOPIN_TESTS_GUEST_TABLES_H

#include <string.h>

#include "mmu/paging_walk.h"
#include "tests/lib/test_util.h"

struct guest_tables_ops {
	void (*read)(void *ctx, gpa_t gpa, void *buf, size_t len);
	void (*write)(void *ctx, gpa_t gpa, const void *buf, size_t len);
};

struct guest_tables {
	const struct guest_tables_ops *ops;
	void *ctx;
	gpa_t next, end; /* table pages not handed out yet */
};

#define GUEST_TABLE_BITS (PT_PRESENT_MASK | PT_WRITABLE_MASK | PT_USER_MASK)

static inline void guest_tables_init(struct guest_tables *gt, const struct guest_tables_ops *ops,
				     void *ctx, gpa_t first, unsigned long nr_pages)
{
	gt->ops = ops;
	gt->ctx = ctx;
	gt->next = first;
	gt->end = first + nr_pages * PAGE_SIZE;
}

/* A zeroed table page. */
static inline gpa_t guest_table_alloc(struct guest_tables *gt)
{
	static const uint64_t zero[PT64_ENT_PER_PAGE];
	gpa_t gpa = gt->next;

	TEST_ASSERT(gpa < gt->end, "out of guest table pages");
	gt->ops->write(gt->ctx, gpa, zero, sizeof(zero));
	gt->next += PAGE_SIZE;
	return gpa;
}

static inline uint64_t guest_pte_read(struct guest_tables *gt, gpa_t pte_gpa)
{
	uint64_t pte;

	gt->ops->read(gt->ctx, pte_gpa, &pte, sizeof(pte));
	return pte;
}

static inline void guest_pte_write(struct guest_tables *gt, gpa_t pte_gpa, uint64_t pte)
{
	gt->ops->write(gt->ctx, pte_gpa, &pte, sizeof(pte));
}

/* Where the entry of @gva at @level is under @cr3, making the tables above it as needed. */
static inline gpa_t guest_pte_gpa(struct guest_tables *gt, gpa_t cr3, gva_t gva, int level)
{
	gpa_t table = cr3 & PT64_BASE_ADDR_MASK;

	for (int l = PT64_ROOT_4LEVEL; l > level; l--) {
		gpa_t pte_gpa = table + PT64_INDEX(gva, l) * sizeof(uint64_t);
		uint64_t pte = guest_pte_read(gt, pte_gpa);

		if (!(pte & PT_PRESENT_MASK)) {
			pte = guest_table_alloc(gt) | GUEST_TABLE_BITS;
			guest_pte_write(gt, pte_gpa, pte);
		}
		TEST_ASSERT(!(pte & PT_PAGE_SIZE_MASK), "a large page above level %d", level);
		table = pte & PT64_BASE_ADDR_MASK;
	}
	return table + PT64_INDEX(gva, level) * sizeof(uint64_t);
}

/* Map @gva to @gpa with a leaf at @level with P and @flags (W, U, NX ...). */
static inline void guest_map(struct guest_tables *gt, gpa_t cr3, gva_t gva, gpa_t gpa,
			     uint64_t flags, int level)
{
	uint64_t leaf = gpa | PT_PRESENT_MASK | flags;

	if (level > PG_LEVEL_4K)
		leaf |= PT_PAGE_SIZE_MASK;
	guest_pte_write(gt, guest_pte_gpa(gt, cr3, gva, level), leaf);
}

/* The page of the table holding the entry of @gva at @level. */
static inline gpa_t guest_table_of(struct guest_tables *gt, gpa_t cr3, gva_t gva, int level)
{
	return guest_pte_gpa(gt, cr3, gva, level) & PAGE_MASK;
}

#endif
