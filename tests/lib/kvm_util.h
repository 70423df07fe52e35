/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for tests of the secondary MMU (mmu/): a VM on a test mm with
 * one slot of guest RAM in a line, vCPU threads of the access engine, and
 * guest-physical reads and writes that assert they worked.
 *
 *	struct test_vm t;
 *
 *	test_vm_create(&t, 16 << 20, 0);	pool, mm, VM, a 1 MiB anon slot at 1 MiB
 *	vcpu_write(t.vcpu, t.gpa, buf, len);
 *	test_vm_destroy(&t);			asserts every frame came back
 *
 * or test_vm_create_file(&t, 16 << 20, size, seed) for a slot on a shared
 * file mapping (t.file).
 *
 * Header-only: every helper is static inline.
 */
#ifndef NOPIN_TESTS_KVM_UTIL_H
#define NOPIN_TESTS_KVM_UTIL_H

#include <fcntl.h>

#include "base/completion.h"
#include "base/spinlock.h"
#include "mmu/kvm_host.h"
#include "tests/lib/mm_util.h"

#define TEST_GPA 0x100000UL
#define TEST_SLOT_SIZE (1UL << 20)

struct test_vm {
	struct frame_pool *pool;
	struct mm_struct *mm;
	struct kvm *kvm;
	struct kvm_vcpu *vcpu; /* vCPU 0, created by test_vm_create() */
	unsigned long hva;     /* the mapping behind slot 0 */
	gpa_t gpa;	       /* where slot 0 starts */
	size_t size;
	struct file *file; /* what slot 0 maps, NULL for anonymous memory */
};

static inline struct kvm *test_kvm(struct mm_struct *mm, unsigned int flags)
{
	struct kvm *kvm = kvm_create_vm(mm, flags);

	TEST_ASSERT(!IS_ERR_OR_NULL(kvm), "kvm_create_vm: %ld", PTR_ERR(kvm));
	return kvm;
}

static inline void test_set_slot(struct kvm *kvm, int id, gpa_t gpa, size_t size, unsigned long hva)
{
	int r = kvm_set_memory_region(kvm, id, 0, gpa, size, hva);

	TEST_ASSERT(!r, "kvm_set_memory_region(%d, %#lx, %#zx, %#lx): %d", id, (unsigned long)gpa,
		    size, hva, r);
}

static inline struct kvm_vcpu *test_vcpu(struct kvm *kvm, int id)
{
	struct kvm_vcpu *vcpu = kvm_create_vcpu(kvm, id, NULL);

	TEST_ASSERT(!IS_ERR_OR_NULL(vcpu), "kvm_create_vcpu: %ld", PTR_ERR(vcpu));
	return vcpu;
}

/* Pool of @pool_bytes, an mm, a VM (@flags), slot 0 of TEST_SLOT_SIZE anon RAM, vCPU 0. */
static inline void test_vm_create(struct test_vm *t, size_t pool_bytes, unsigned int flags)
{
	t->pool = test_pool(pool_bytes);
	t->mm = test_mm(t->pool);
	t->kvm = test_kvm(t->mm, flags);
	t->size = TEST_SLOT_SIZE;
	t->gpa = TEST_GPA;
	t->file = NULL;
	t->hva = test_mmap_anon(t->mm, t->size, PROT_READ | PROT_WRITE);
	test_set_slot(t->kvm, 0, t->gpa, t->size, t->hva);
	t->vcpu = test_vcpu(t->kvm, 0);
}

/*
 * The same with slot 0 of @size bytes on a MAP_SHARED mapping of a file
 * holding @seed's pattern (test_file()): what the guest writes lands in it.
 */
static inline void test_vm_create_file(struct test_vm *t, size_t pool_bytes, size_t size,
				       uint64_t seed)
{
	t->pool = test_pool(pool_bytes);
	t->mm = test_mm(t->pool);
	t->kvm = test_kvm(t->mm, 0);
	t->size = size;
	t->gpa = TEST_GPA;
	t->file = test_file(t->pool, size, O_RDWR, seed);
	t->hva = test_mmap(t->mm, 0, size, PROT_READ | PROT_WRITE, MAP_SHARED, t->file, 0);
	test_set_slot(t->kvm, 0, t->gpa, t->size, t->hva);
	t->vcpu = test_vcpu(t->kvm, 0);
}

static inline void test_vm_destroy(struct test_vm *t)
{
	if (t->vcpu)
		kvm_destroy_vcpu(t->vcpu);
	kvm_destroy_vm(t->kvm);
	mmput(t->mm);
	if (t->file)
		fput(t->file);
	test_pool_destroy(t->pool);
}

static inline void vcpu_write(struct kvm_vcpu *vcpu, gpa_t gpa, const void *buf, size_t len)
{
	int r = kvm_vcpu_write(vcpu, gpa, buf, len);

	TEST_ASSERT(!r, "kvm_vcpu_write(%#lx, %zu): %d", (unsigned long)gpa, len, r);
}

static inline void vcpu_read(struct kvm_vcpu *vcpu, gpa_t gpa, void *buf, size_t len)
{
	int r = kvm_vcpu_read(vcpu, gpa, buf, len);

	TEST_ASSERT(!r, "kvm_vcpu_read(%#lx, %zu): %d", (unsigned long)gpa, len, r);
}

static inline uint64_t vcpu_read64(struct kvm_vcpu *vcpu, gpa_t gpa)
{
	uint64_t v;

	vcpu_read(vcpu, gpa, &v, sizeof(v));
	return v;
}

static inline void vcpu_write64(struct kvm_vcpu *vcpu, gpa_t gpa, uint64_t v)
{
	vcpu_write(vcpu, gpa, &v, sizeof(v));
}

static inline long kvm_stat_read(atomic_long_t *stat)
{
	return atomic_long_read(stat);
}

/*
 * A vCPU thread that reads the word at @gpa, then stays in guest mode as a
 * vCPU running guest code does, honouring kicks (its TLB flushed on each),
 * until @go, and reads the word again: what it saw after the host changed
 * the page is @second, and @r the second read's result.  @cached is
 * completed once the first read has filled its TLB.
 */
struct guest_reader {
	struct kvm_vcpu *vcpu;
	gpa_t gpa;
	struct completion cached;
	int go;
	uint64_t first, second;
	int r;
};

static inline int guest_reader_fn(void *data)
{
	struct guest_reader *g = data;
	unsigned int spins = 0;

	TEST_ASSERT_EQ(__kvm_vcpu_read(g->vcpu, g->gpa, &g->first, 8), 0);
	complete(&g->cached);
	while (!smp_load_acquire(&g->go)) {
		if (kvm_vcpu_kick_pending(g->vcpu))
			kvm_vcpu_exit_guest(g->vcpu);
		cpu_spin_wait(&spins);
	}
	g->r = __kvm_vcpu_read(g->vcpu, g->gpa, &g->second, 8);
	kvm_vcpu_exit_guest(g->vcpu);
	return 0;
}

#endif
