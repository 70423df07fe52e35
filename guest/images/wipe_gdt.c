// SPDX-License-Identifier: GPL-2.0
/*
 * wipe_gdt: a hostile guest that zeroes the VMM's GDT, the first page of
 * the VMM's top 16 MiB on the kvm backend (vmm/kvm/stubs.h), then faults.
 * With the GDT gone the next exception could load no code segment, and
 * the kvm backend once spun in KVM_RUN for ever.  The page is read-only to
 * the guest: the first store faults and the VMM stops the run, naming the
 * page.  The soft vCPU refuses any access to the VMM's top 16 MiB.
 * Reaching the end means the write went through: the image says so and
 * exits 1.
 */
#include "guest.h"

int guest_main(unsigned int cpu, unsigned int ncpus, unsigned long ram_size)
{
	volatile unsigned long *gdt = (volatile unsigned long *)GUEST_VMM_TOP;

	printf("wipe_gdt: zeroing the VMM's GDT at %p, then faulting\n", (void *)gdt);
	for (int i = 0; i < 512; i++)
		gdt[i] = 0;
	__asm__ volatile("ud2");
	printf("wipe_gdt: FAIL: the guest wrote the VMM's GDT and survived a #UD\n");
	return 1;
}
