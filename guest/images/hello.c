// SPDX-License-Identifier: GPL-2.0
/* The smallest guest: each vCPU says hello; vCPU 0 waits for the others. */
#include "guest.h"

static unsigned int greeted;

int guest_main(unsigned int cpu, unsigned int ncpus, unsigned long ram_size)
{
	/* One line at a time: the console is per vCPU, but take turns for a tidy log. */
	while (__atomic_load_n(&greeted, __ATOMIC_ACQUIRE) != cpu)
		cpu_relax();
	printf("Hello from vCPU %u of %u, %lu MiB of RAM\n", cpu, ncpus, ram_size >> 20);
	__atomic_store_n(&greeted, cpu + 1, __ATOMIC_RELEASE);
	if (cpu == 0)
		while (__atomic_load_n(&greeted, __ATOMIC_ACQUIRE) != ncpus)
			cpu_relax();
	return 0;
}
