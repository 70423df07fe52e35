// SPDX-License-Identifier: GPL-2.0
/*
 * hash: fill the free RAM with xorshift64* data from a fixed seed, then
 * digest it with FNV-1a in the order written.  The host test computes the
 * same digest natively (guest/xorshift.h) and compares: any page lost or
 * mixed up by reclaim, swap or migration changes it.
 */
#include "guest.h"
#include "xorshift.h"

int guest_main(unsigned int cpu, unsigned int ncpus, unsigned long ram_size)
{
	unsigned long *lo = (unsigned long *)ram_free_start();
	unsigned long *hi = (unsigned long *)ram_free_end();
	unsigned long h = FNV64_OFFSET;
	uint64_t state = HASH_SEED;

	if (cpu != 0)
		return 0;
	for (unsigned long *p = lo; p < hi; p++)
		*p = prandom_u64(&state);
	for (unsigned long *p = lo; p < hi; p++)
		h = fnv1a64_word(h, *p);
	printf("hash: %lu words: %016lx\n", (unsigned long)(hi - lo), h);
	return 0;
}
