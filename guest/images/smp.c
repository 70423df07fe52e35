// SPDX-License-Identifier: GPL-2.0
/*
 * smp: every vCPU fills and checks a private region, bumps a shared counter
 * with locked xadd and a shared bitmap with lock bts/cmpxchg, and writes its
 * stripe of a shared region; vCPU 0 waits for all, then verifies the
 * counter, the bitmap and every stripe.
 */
#include "guest.h"

#define BUMPS 10000
#define MAX_CPUS 64

static unsigned long counter;
static unsigned long bitmap;
static unsigned int finished;
static int failed;

static void fail(const char *what, unsigned long at, unsigned long want, unsigned long got)
{
	printf("smp: %s at %lx: expected %lx, found %lx\n", what, at, want, got);
	__atomic_store_n(&failed, 1, __ATOMIC_RELAXED);
}

static void private_region(unsigned long *lo, unsigned long *hi, unsigned int cpu)
{
	for (unsigned long *p = lo; p < hi; p++)
		*p = (unsigned long)p ^ cpu;
	for (unsigned long *p = lo; p < hi; p++)
		if (*p != ((unsigned long)p ^ cpu))
			fail("private", (unsigned long)p, (unsigned long)p ^ cpu, *p);
}

static void set_bit_cmpxchg(unsigned int bit)
{
	unsigned long old = __atomic_load_n(&bitmap, __ATOMIC_RELAXED);

	while (!__atomic_compare_exchange_n(&bitmap, &old, old | (1UL << bit), false,
					    __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		;
}

int guest_main(unsigned int cpu, unsigned int ncpus, unsigned long ram_size)
{
	unsigned long start = ram_free_start(), end = ram_free_end();
	unsigned long half = ((end - start) / 2) & ~(PAGE_SIZE - 1);
	unsigned long share = (half / ncpus) & ~7UL;
	unsigned long *shared = (unsigned long *)start;
	unsigned long *priv = (unsigned long *)(start + half + cpu * share);

	if (ncpus > MAX_CPUS)
		return cpu == 0 ? 2 : 0;
	private_region(priv, priv + share / 8, cpu);
	for (unsigned int i = 0; i < BUMPS; i++)
		__atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
	set_bit_cmpxchg(cpu);
	/* Stripes interleave word by word: neighbours share every cache line. */
	for (unsigned long i = cpu; i < half / 8; i += ncpus)
		shared[i] = i * 0x100 + cpu;
	__atomic_add_fetch(&finished, 1, __ATOMIC_ACQ_REL);
	if (cpu != 0)
		return 0;
	while (__atomic_load_n(&finished, __ATOMIC_ACQUIRE) != ncpus)
		cpu_relax();
	if (counter != (unsigned long)BUMPS * ncpus)
		fail("counter", (unsigned long)&counter, (unsigned long)BUMPS * ncpus, counter);
	if (bitmap != (ncpus == 64 ? ~0UL : (1UL << ncpus) - 1))
		fail("bitmap", (unsigned long)&bitmap, (1UL << ncpus) - 1, bitmap);
	for (unsigned long i = 0; i < half / 8; i++)
		if (shared[i] != i * 0x100 + i % ncpus)
			fail("shared", (unsigned long)&shared[i], i * 0x100 + i % ncpus, shared[i]);
	printf("smp: %u vCPUs, counter %lu, %s\n", ncpus, counter, failed ? "FAILED" : "ok");
	return failed;
}
