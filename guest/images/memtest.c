// SPDX-License-Identifier: GPL-2.0
/*
 * memtest: pattern passes over the free RAM, each vCPU on its own share.
 * Each pass writes a pattern derived from the address and the pass number,
 * then verifies it; a mismatch prints the address, the expected and the
 * found word and fails the run.  Prints MB/s per pass (vCPU 0's share).
 */
#include "guest.h"

#define PASSES 3

static unsigned int finished;
static int failed;

static unsigned long pattern(unsigned long addr, unsigned int pass)
{
	unsigned long x = addr * 0x9e3779b97f4a7c15UL + pass;

	return x ^ (x >> 29) ^ ((unsigned long)pass << 56);
}

static int run_pass(unsigned long *lo, unsigned long *hi, unsigned int pass)
{
	for (unsigned long *p = lo; p < hi; p++)
		*p = pattern((unsigned long)p, pass);
	for (unsigned long *p = lo; p < hi; p++) {
		unsigned long want = pattern((unsigned long)p, pass);

		if (*p != want) {
			printf("memtest: pass %u: at %p: expected %016lx, found %016lx\n", pass, p,
			       want, *p);
			return 1;
		}
	}
	return 0;
}

int guest_main(unsigned int cpu, unsigned int ncpus, unsigned long ram_size)
{
	unsigned long start = ram_free_start(), end = ram_free_end();
	unsigned long share = ((end - start) / ncpus) & ~(PAGE_SIZE - 1);
	unsigned long *lo = (unsigned long *)(start + cpu * share);
	unsigned long *hi = (unsigned long *)(start + (cpu + 1) * share);

	if (cpu == 0)
		printf("memtest: %u vCPUs, %lu KiB each, %d passes\n", ncpus, share >> 10, PASSES);
	for (unsigned int pass = 0; pass < PASSES && !failed; pass++) {
		unsigned long t0 = clock_ns(), dt;

		if (run_pass(lo, hi, pass))
			__atomic_store_n(&failed, 1, __ATOMIC_RELAXED);
		dt = clock_ns() - t0;
		if (cpu == 0 && dt)
			printf("memtest: pass %u: %lu MB/s\n", pass, 2 * share * 1000 / dt);
	}
	__atomic_add_fetch(&finished, 1, __ATOMIC_ACQ_REL);
	if (cpu != 0)
		return 0;
	while (__atomic_load_n(&finished, __ATOMIC_ACQUIRE) != ncpus)
		cpu_relax();
	printf("memtest: %s\n", failed ? "FAILED" : "ok");
	return failed;
}
