// SPDX-License-Identifier: GPL-2.0
/*
 * crash: a guest that wrecks its CPU state, then faults.  It loads an
 * empty IDT and drops its stack: the #UD that follows finds no gate, nor
 * do the #GP and #DF after it, so the CPU shuts down (a triple fault).
 * The VMM must stop the run saying so, never hang.  The soft vCPU does not
 * interpret lidt and stops it there, naming the instruction.
 *
 * crash_by_exception() is for a test that starts a vCPU there instead: a
 * #UD with the VMM's IDT intact, an exception no guest expects.
 */
#include "guest.h"

__attribute__((used, noinline, noreturn)) void crash_by_exception(void)
{
	__asm__ volatile("ud2");
	__builtin_unreachable();
}

int guest_main(unsigned int cpu, unsigned int ncpus, unsigned long ram_size)
{
	static const struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) no_idt = { 0, 0 };

	printf("crash: loading an empty IDT, then faulting\n");
	__asm__ volatile("lidt %0\n\t"
			 "xor %%esp, %%esp\n\t"
			 "ud2"
			 :
			 : "m"(no_idt)
			 : "memory");
	return 0;
}
