// SPDX-License-Identifier: GPL-2.0
/*
 * unsupported: executes fsin, outside what the soft vCPU interprets (the
 * x87 transcendentals differ between processors, so no one answer is the
 * hardware's; gcc never emits x87 code with -mgeneral-regs-only).  The VMM must
 * stop the guest naming the instruction.  Used by the bad-input tests.
 */
#include "guest.h"

int guest_main(unsigned int cpu, unsigned int ncpus, unsigned long ram_size)
{
	printf("unsupported: running fsin\n");
	__asm__ volatile("fsin");
	return 0;
}
