// SPDX-License-Identifier: GPL-2.0
/*
 * wipe_stubs: a hostile guest that zeroes the kvm backend's stub page
 * (the #PF stub among them; GUEST_VMM_TOP + 0x4000, vmm/kvm/stubs.h's
 * DEVKVM_STUB_VA), then faults.  With the stubs gone the next exception
 * ran zeroes, faulting again without end inside KVM_RUN.  The page is
 * read-only to the guest: the first store faults and the VMM stops the
 * run, naming the page.  The soft vCPU refuses any access to the VMM's
 * top 16 MiB.  Reaching the end means the write went through: the image
 * says so and exits 1.
 */
#include "guest.h"

#define STUB_PAGE (GUEST_VMM_TOP + 0x4000)

int guest_main(unsigned int cpu, unsigned int ncpus, unsigned long ram_size)
{
	volatile unsigned long *stubs = (volatile unsigned long *)STUB_PAGE;

	printf("wipe_stubs: zeroing the VMM's stub page at %p, then faulting\n", (void *)stubs);
	for (int i = 0; i < 512; i++)
		stubs[i] = 0;
	__asm__ volatile("ud2");
	printf("wipe_stubs: FAIL: the guest wrote the VMM's stubs and survived a #UD\n");
	return 1;
}
