// SPDX-License-Identifier: GPL-2.0
/*
 * Guests that misbehave towards the VMM without breaking a rule of the
 * guest ABI, for tests/unit/vmm/cli_hostile.c.  One source, one image per
 * behaviour (tests/CMakeLists.txt builds each with its -DHOSTILE_...):
 *
 *   hostile_halt      vCPU 0 halts with interrupts enabled (sti; hlt),
 *                     the others return from guest_main() and halt
 *   hostile_cli_halt  every vCPU halts with interrupts disabled (cli; hlt)
 *   hostile_spin      vCPU 0 says so, then spins for ever: only a signal
 *                     to nopin ends it
 *   hostile_exit121   exits 121, the VMM's own "guest stopped" status
 *
 * Each prints a line first, so a test knows the guest ran.
 */
#include "guest.h"

int guest_main(unsigned int cpu, unsigned int ncpus, unsigned long ram_size)
{
#if defined(HOSTILE_HALT)
	if (cpu)
		return 0;
	printf("hostile: halting with interrupts on\n");
	for (;;)
		__asm__ volatile("sti; hlt");
#elif defined(HOSTILE_CLI_HALT)
	if (!cpu)
		printf("hostile: halting with interrupts off\n");
	for (;;)
		__asm__ volatile("cli; hlt");
#elif defined(HOSTILE_SPIN)
	if (!cpu)
		printf("hostile: spinning\n");
	for (;;)
		cpu_relax();
#elif defined(HOSTILE_EXIT121)
	printf("hostile: exiting 121\n");
	return 121;
#else
#error "build with one of -DHOSTILE_HALT, -DHOSTILE_CLI_HALT, -DHOSTILE_SPIN, -DHOSTILE_EXIT121"
#endif
}
