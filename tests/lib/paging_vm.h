/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A VM whose guest has its own page tables, built in guest RAM through
 * the host mm, for the tests of mmu/paging.c (TDP) and the shadow MMU:
 * slot 0 is [TEST_GPA, TEST_GPA + 1 MiB), data pages in the low half,
 * table pages in the high half, and one empty PML4 to start with.
 *
 *	struct paging_vm v;
 *	paging_vm_create(&v, KVM_MMU_SHADOW);
 *	paging_map(&v, VA_A, DATA_GPA(1), PT_WRITABLE_MASK);
 *	load_cr3(v.t.vcpu, v.cr3);
 *	gva_write64(v.t.vcpu, VA_A, 1);
 *
 * Header-only.
 */
#ifndef NOPIN_TESTS_PAGING_VM_H
#define NOPIN_TESTS_PAGING_VM_H

#include <string.h>

#include "tests/lib/guest_tables.h"
#include "tests/lib/kvm_util.h"

#define MB (1UL << 20)
#define DATA_GPA(n) (TEST_GPA + (n)*PAGE_SIZE)
#define TABLES_GPA (TEST_GPA + TEST_SLOT_SIZE / 2)

/* Virtual addresses far from their GPAs, each with its own PML4 entry. */
#define VA_A 0x0000123400000000UL
#define VA_B 0x0000567800000000UL
#define VA_HIGH 0xffff888000000000UL

struct paging_vm {
	struct test_vm t;
	struct guest_tables gt;
	gpa_t cr3;
};

static void paging_host_read(void *ctx, gpa_t gpa, void *buf, size_t len)
{
	struct test_vm *t = ctx;

	mm_read(t->mm, t->hva + (gpa - t->gpa), buf, len);
}

static void paging_host_write(void *ctx, gpa_t gpa, const void *buf, size_t len)
{
	struct test_vm *t = ctx;

	mm_write(t->mm, t->hva + (gpa - t->gpa), buf, len);
}

static const struct guest_tables_ops paging_host_ops = {
	.read = paging_host_read,
	.write = paging_host_write,
};

static inline unsigned long hva_of(struct paging_vm *v, gpa_t gpa)
{
	return v->t.hva + (gpa - v->t.gpa);
}

/* A VM in @mode with one empty PML4, not loaded yet. */
static inline void paging_vm_create(struct paging_vm *v, enum kvm_mmu_mode mode)
{
	test_vm_create(&v->t, 16 * MB, 0);
	v->t.kvm->mmu_mode = mode;
	guest_tables_init(&v->gt, &paging_host_ops, &v->t, TABLES_GPA,
			  TEST_SLOT_SIZE / 2 / PAGE_SIZE);
	v->cr3 = guest_table_alloc(&v->gt);
}

static inline void paging_map(struct paging_vm *v, gva_t gva, gpa_t gpa, uint64_t flags)
{
	guest_map(&v->gt, v->cr3, gva, gpa, flags, PG_LEVEL_4K);
}

static inline void load_cr3(struct kvm_vcpu *vcpu, gpa_t cr3)
{
	TEST_ASSERT_EQ(kvm_vcpu_load_cr3(vcpu, cr3), 0);
}

static inline uint64_t gva_read64(struct kvm_vcpu *vcpu, gva_t gva)
{
	struct guest_walker w;
	uint64_t val = 0;
	int r = kvm_vcpu_access_gva(vcpu, gva, &val, sizeof(val), 0, &w);

	TEST_ASSERT(r == 0, "read of %#lx: %d (%s)", (unsigned long)gva, r,
		    r == GUEST_WALK_EXCEPTION ? w.fault.reason : "");
	return val;
}

static inline void gva_write64(struct kvm_vcpu *vcpu, gva_t gva, uint64_t val)
{
	struct guest_walker w;
	int r = kvm_vcpu_access_gva(vcpu, gva, &val, sizeof(val), PFERR_WRITE_MASK, &w);

	TEST_ASSERT(r == 0, "write of %#lx: %d (%s)", (unsigned long)gva, r,
		    r == GUEST_WALK_EXCEPTION ? w.fault.reason : "");
}

/* An access the guest's tables refuse, with this error code and reason. */
static inline void expect_guest_fault(struct kvm_vcpu *vcpu, gva_t gva, uint32_t access,
				      uint32_t error_code, const char *reason)
{
	struct guest_walker w;
	uint64_t val = 0;
	int r = kvm_vcpu_access_gva(vcpu, gva, &val, sizeof(val), access, &w);

	TEST_ASSERT(r == GUEST_WALK_EXCEPTION, "access %#x of %#lx: %d, expected a #PF (%s)",
		    access, (unsigned long)gva, r, reason);
	TEST_ASSERT_EQ(w.fault.address, gva);
	TEST_ASSERT_EQ(w.fault.error_code, error_code);
	TEST_ASSERT(!strcmp(w.fault.reason, reason), "reason '%s', expected '%s'", w.fault.reason,
		    reason);
}

static inline long walks(struct kvm_vcpu *vcpu)
{
	return kvm_stat_read(&vcpu->stat.guest_walks);
}

#endif
