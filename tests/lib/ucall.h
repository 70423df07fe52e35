/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest-to-host calls of the selftests-style tests (tests/guest/), after the
 * KVM selftests' ucall.h.  One file holds both sides of a test: compiled with
 * NOPIN_GUEST it is the guest image (GUEST_SYNC, GUEST_ASSERT, GUEST_DONE
 * make a HC_UCALL hypercall with a struct ucall on the guest's stack);
 * compiled for the host it is the test (vm_create_with_one_vcpu, vcpu_run,
 * get_ucall).
 *
 *	static void guest_code(void)		host:
 *	{					vm = vm_create_with_one_vcpu(&vcpu, guest_code);
 *		GUEST_SYNC(1);			vcpu_run(vcpu);
 *		GUEST_DONE();			TEST_ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_SYNC);
 *	}
 */
#ifndef NOPIN_TESTS_UCALL_H
#define NOPIN_TESTS_UCALL_H

#include "guest/abi.h"

#ifdef NOPIN_GUEST

void ucall(unsigned long cmd, unsigned long arg0, unsigned long arg1);
void __attribute__((noreturn)) ucall_assert(const char *file, unsigned long line, const char *expr);

#define GUEST_SYNC(arg) ucall(UCALL_SYNC, (unsigned long)(arg), 0)
#define GUEST_SYNC2(arg0, arg1) ucall(UCALL_SYNC, (unsigned long)(arg0), (unsigned long)(arg1))
#define GUEST_ASSERT(e)                                                                            \
	do {                                                                                       \
		if (!(e))                                                                          \
			ucall_assert(__FILE__, __LINE__, #e);                                      \
	} while (0)
#define GUEST_DONE() ucall(UCALL_DONE, 0, 0)

#else /* the host side */

#include "vmm/vm.h"

/*
 * A VM (the backend NOPIN_TEST_BACKEND names, soft by default; @mem bytes
 * of RAM on a @pool-byte pool) running the guest image @elf with one vCPU
 * that will start at its function @fn.  Guest memory accesses the host
 * refuses come back to the test (VMM_RUN_MEMORY_FAULT) instead of
 * stopping the guest.
 */
struct vmm *__vm_create_with_one_vcpu(const char *elf, struct vmm_vcpu **vcpu, const char *fn,
				      size_t mem, size_t pool);
/* The same in MMU mode @mmu (enum kvm_mmu_mode, or VMM_MMU_AUTO). */
struct vmm *__vm_create_with_one_vcpu_mmu(const char *elf, struct vmm_vcpu **vcpu, const char *fn,
					  size_t mem, size_t pool, int mmu);
/* The same with @cfg as the test made it (pressure agents, say), image and all. */
struct vmm *__vm_create_with_one_vcpu_cfg(const struct vmm_config *cfg, struct vmm_vcpu **vcpu,
					  const char *fn);
#define vm_create_with_one_vcpu(vcpu, fn)                                                          \
	__vm_create_with_one_vcpu(NOPIN_TEST_GUEST_ELF, vcpu, #fn, 16UL << 20, 32UL << 20)

/* Run until a ucall, the exit port, a stop or a refused access. */
static inline enum vmm_run_exit vcpu_run(struct vmm_vcpu *vcpu)
{
	return vmm_vcpu_run(vcpu);
}

/* The last ucall of @vcpu, copied out of guest memory; returns its cmd. */
unsigned long get_ucall(struct vmm_vcpu *vcpu, struct ucall *uc);

/* The guest address of symbol @name in guest image @elf, or 0. */
unsigned long __guest_symbol(const char *elf, const char *name);
#define guest_symbol(name) __guest_symbol(NOPIN_TEST_GUEST_ELF, name)

#endif
#endif
