// SPDX-License-Identifier: GPL-2.0
/*
 * unsupported: executes an x87 instruction, outside what the soft vCPU
 * interprets (gcc never emits it with -mgeneral-regs-only).  The VMM must
 * stop the guest naming the instruction.  Used by the bad-input tests.
 */
#include "guest.h"

int guest_main(unsigned int cpu, unsigned int ncpus, unsigned long ram_size)
{
	printf("unsupported: running fninit\n");
	__asm__ volatile("fninit");
	return 0;
}
