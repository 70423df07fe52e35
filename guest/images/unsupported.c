// SPDX-License-Identifier: GPL-2.0
/*
 * unsupported: executes an x87 load, outside what the soft vCPU
 * interprets (it keeps the x87 control word, not its arithmetic; gcc never
 * emits either with -mgeneral-regs-only).  The VMM must
 * stop the guest naming the instruction.  Used by the bad-input tests.
 */
#include "guest.h"

int guest_main(unsigned int cpu, unsigned int ncpus, unsigned long ram_size)
{
	printf("unsupported: running fld1\n");
	__asm__ volatile("fld1");
	return 0;
}
