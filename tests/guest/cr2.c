// SPDX-License-Identifier: GPL-2.0
/*
 * CR2 once the guest has a #PF handler holds only the guest's own #PFs,
 * never the VMM's secondary faults.  On the kvm backend every secondary
 * fault is a guest #PF into the VMM's stub; the stub that runs while the
 * guest has no #PF handler leaves CR2 as the fault set it (none of the
 * guest's can be there, and it saves two emulated instructions on
 * kvm_pvm), the one after registration puts the guest's CR2 back
 * (vmm/kvm/stubs.S).  In flat mode the guest takes no #PF of its own, so
 * CR2 reads 0 once fresh pages were faulted in after registering, on
 * either backend.
 */
#include "tests/lib/ucall.h"

#ifdef NOPIN_GUEST

#include "guest.h"

#define FRESH_PAGES 32

static unsigned char pf_stack[4096] __attribute__((aligned(16)));

static void pf_handler(struct exception_frame *f)
{
	GUEST_ASSERT(!"no #PF of the guest's in flat mode");
}

/* The first write to each of @n pages from @va: a secondary fault each. */
static void touch(unsigned long va, unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		*(volatile unsigned char *)(va + i * PAGE_SIZE) = 1;
}

__attribute__((used, noinline)) void guest_code(void)
{
	unsigned long va = ram_free_start();

	touch(va, FRESH_PAGES);
	GUEST_ASSERT(__guest_set_exception_handler(PF_VECTOR, pf_handler,
						   (unsigned long)pf_stack + sizeof(pf_stack)) ==
		     0);
	touch(va + FRESH_PAGES * PAGE_SIZE, FRESH_PAGES);
	GUEST_SYNC(guest_read_cr2());
	GUEST_DONE();
}

#else /* the host side */

#include "tests/lib/test_util.h"
#include "tests/lib/vmm_util.h"

static void expect_cr2_zero(struct vmm_vcpu *vcpu, const char *when)
{
	struct ucall uc;
	enum vmm_run_exit r = vcpu_run(vcpu);

	TEST_ASSERT(r == VMM_RUN_UCALL, "%s: run ended with %d (%s)", when, r,
		    vcpu->vm->stop_message);
	TEST_ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_SYNC);
	TEST_ASSERT(uc.args[0] == 0, "%s: the guest reads CR2 %#lx, a fault of the VMM's", when,
		    (unsigned long)uc.args[0]);
}

TEST(cr2_shows_no_fault_of_the_vmms_once_the_guest_has_a_pf_handler)
{
	struct vmm_vcpu *vcpu;
	struct vmm *vm = __vm_create_with_one_vcpu_mmu(NOPIN_TEST_GUEST_ELF, &vcpu, "guest_code",
						       16UL << 20, 32UL << 20, KVM_MMU_FLAT);
	struct ucall uc;

	expect_cr2_zero(vcpu, "after faulting in fresh pages");
	TEST_ASSERT_EQ(vcpu_run(vcpu), VMM_RUN_UCALL);
	TEST_ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_DONE);
	vmm_destroy(vm);
}

#endif
