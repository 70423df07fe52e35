// SPDX-License-Identifier: GPL-2.0
/*
 * The stages of KVM's mmu_stress_test, on nopin's secondary MMU: the guest
 * writes all of a region, rewrites it and reads it back; then writes it
 * while the host has it read-only, each refused write coming back to the
 * test, which makes that one page writable again; then half of RAM's
 * memslot goes (the stack keeps a slot) and the guest finds the rest
 * intact and the other half gone; last, the host mm exits under the live VM, and the notifier's
 * release alone must leave nothing mapped.
 */
#include "tests/lib/ucall.h"

/* From above the image to below the stack (one vCPU). */
#define REGION_START (GUEST_RAM_BASE + (2UL << 20))
#define REGION_END(ram) (GUEST_RAM_BASE + (ram)-2 * GUEST_STACK_SIZE)

#ifdef NOPIN_GUEST

static unsigned long pattern(unsigned long *p, unsigned long stage)
{
	return (unsigned long)p * 31 + stage;
}

static void write_all(unsigned long *lo, unsigned long *hi, unsigned long stage)
{
	for (unsigned long *p = lo; p < hi; p += 512) /* a word per page is enough */
		*p = pattern(p, stage);
}

static void check_all(unsigned long *lo, unsigned long *hi, unsigned long stage)
{
	for (unsigned long *p = lo; p < hi; p += 512)
		GUEST_ASSERT(*p == pattern(p, stage));
}

__attribute__((used, noinline)) void guest_code(unsigned long cpu, unsigned long ncpus,
						unsigned long ram)
{
	unsigned long *lo = (unsigned long *)REGION_START;
	unsigned long *hi = (unsigned long *)REGION_END(ram);
	unsigned long *mid = (unsigned long *)(GUEST_RAM_BASE + ram / 2);

	write_all(lo, hi, 1);
	GUEST_SYNC(1);
	write_all(lo, hi, 2);
	GUEST_SYNC(2);
	check_all(lo, hi, 2);
	GUEST_SYNC(3);
	write_all(lo, hi, 4); /* the host made the region read-only */
	GUEST_SYNC(4);
	check_all(lo, mid, 4); /* the memslot now ends at mid */
	GUEST_SYNC(5);
	*mid = 5; /* outside every memslot: refused */
	GUEST_DONE();
}

#else /* the host side */

#include "mm/mm.h"
#include "tests/lib/test_util.h"

static void check_sync(struct vmm_vcpu *vcpu, enum vmm_run_exit r, unsigned long stage)
{
	struct ucall uc;

	TEST_ASSERT(r == VMM_RUN_UCALL, "stage %lu: run ended with %d (%s; fault at %#lx)", stage,
		    r, vcpu->vm->stop_message, (unsigned long)vcpu->fault_gpa);
	TEST_ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_SYNC);
	TEST_ASSERT_EQ(uc.args[0], stage);
}

TEST(mmu_stress_stages)
{
	struct vmm_vcpu *vcpu;
	struct vmm *vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	unsigned long ram = vm->cfg.mem_bytes, lo = REGION_START, hi = REGION_END(ram);
	unsigned long hva_lo = vm->ram_hva + (lo - GUEST_RAM_BASE), faults = 0;
	unsigned long mid = GUEST_RAM_BASE + ram / 2;
	enum vmm_run_exit r;

	check_sync(vcpu, vcpu_run(vcpu), 1);
	check_sync(vcpu, vcpu_run(vcpu), 2);
	check_sync(vcpu, vcpu_run(vcpu), 3);

	/* Stage 4: every page write-protected; each refused write comes back here. */
	TEST_ASSERT_EQ(do_mprotect(vm->mm, hva_lo, hi - lo, PROT_READ), 0);
	while ((r = vcpu_run(vcpu)) == VMM_RUN_MEMORY_FAULT) {
		unsigned long gpa = vcpu->fault_gpa & PAGE_MASK;

		TEST_ASSERT(vcpu->fault_write && gpa >= lo && gpa < hi,
			    "a write in the protected region, not %s at %#lx",
			    vcpu->fault_write ? "a write" : "a read", gpa);
		TEST_ASSERT_EQ(do_mprotect(vm->mm, vm->ram_hva + (gpa - GUEST_RAM_BASE), PAGE_SIZE,
					   PROT_READ | PROT_WRITE),
			       0);
		faults++;
	}
	check_sync(vcpu, r, 4);
	TEST_ASSERT_EQ(faults, (hi - lo) / PAGE_SIZE); /* one refusal per page, no more */

	/* Stage 5: RAM's memslot shrinks to its lower half; the stack keeps a slot of its own. */
	TEST_ASSERT_EQ(kvm_set_memory_region(vm->kvm, 0, 0, GUEST_RAM_BASE, 0, 0), 0);
	TEST_ASSERT_EQ(kvm_set_memory_region(vm->kvm, 0, 0, GUEST_RAM_BASE, ram / 2, vm->ram_hva),
		       0);
	TEST_ASSERT_EQ(kvm_set_memory_region(vm->kvm, 1, 0, hi, GUEST_RAM_BASE + ram - hi,
					     vm->ram_hva + (hi - GUEST_RAM_BASE)),
		       0);
	check_sync(vcpu, vcpu_run(vcpu), 5);
	TEST_ASSERT_EQ(vcpu_run(vcpu), VMM_RUN_MEMORY_FAULT);
	TEST_ASSERT(vcpu->fault_gpa == mid, "the access past the slot, at %#lx",
		    (unsigned long)vcpu->fault_gpa);

	/* No cleanup: the host mm exits under the VM; release must unmap it all. */
	TEST_ASSERT(kvm_mmu_spte(vm->kvm, gpa_to_gfn(lo)), "mapped before the exit");
	mmput(vm->mm);
	vm->mm = NULL;
	for (unsigned long gpa = lo; gpa < mid; gpa += PAGE_SIZE)
		TEST_ASSERT(!kvm_mmu_spte(vm->kvm, gpa_to_gfn(gpa)), "gpa %#lx unmapped", gpa);
	vmm_destroy(vm);
}

#endif
