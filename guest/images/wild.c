// SPDX-License-Identifier: GPL-2.0
/*
 * wild: a guest bug the VMM must report, not survive: a read through a
 * null pointer, below RAM where nothing is mapped.  Used by the bad-input
 * tests; it never exits by itself.
 */
#include "guest.h"

int guest_main(unsigned int cpu, unsigned int ncpus, unsigned long ram_size)
{
	unsigned long addr = 0x10;
	volatile unsigned long *null;

	/* Hide the constant from gcc, which rightly refuses to compile a known-bad load. */
	__asm__("" : "+r"(addr));
	null = (volatile unsigned long *)addr;

	printf("wild: reading %p\n", (void *)null);
	return (int)*null;
}
