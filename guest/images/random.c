// SPDX-License-Identifier: GPL-2.0
/*
 * random: random page reads and writes over the free RAM, self-verifying.
 * A page always holds words derived from (its address, its version); a
 * write rewrites a whole page at version + 1, a read checks a whole page
 * against the version it should have.  The versions (one byte per page)
 * sit at the start of the free RAM.  vCPUs work on disjoint page sets
 * (page index mod ncpus), so no locking is needed.
 */
#include "base/prandom.h"
#include "guest.h"

#define OPS_PER_CPU 3000

static unsigned int finished;
static int failed;

static unsigned long word_of(unsigned long addr, unsigned char version)
{
	uint64_t x = addr ^ ((unsigned long)version << 48) ^ 0x5bd1e995UL;

	return prandom_u64(&x);
}

static void write_page(unsigned long page, unsigned char version)
{
	unsigned long *p = (unsigned long *)page;

	for (unsigned int i = 0; i < PAGE_SIZE / 8; i++)
		p[i] = word_of(page + 8 * i, version);
}

static int check_page(unsigned long page, unsigned char version)
{
	unsigned long *p = (unsigned long *)page;

	for (unsigned int i = 0; i < PAGE_SIZE / 8; i++) {
		unsigned long want = word_of(page + 8 * i, version);

		if (p[i] != want) {
			printf("random: at %p (version %u): expected %016lx, found %016lx\n", &p[i],
			       version, want, p[i]);
			return 1;
		}
	}
	return 0;
}

int guest_main(unsigned int cpu, unsigned int ncpus, unsigned long ram_size)
{
	unsigned long free = ram_free_start(), end = ram_free_end();
	unsigned long npages = (end - free) / (PAGE_SIZE + 1);
	unsigned char *version = (unsigned char *)free;
	unsigned long base = (free + npages + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	uint64_t state = 0x243f6a8885a308d3UL + cpu;
	unsigned long reads = 0, writes = 0;

	while (base + npages * PAGE_SIZE > end)
		npages--;
	/* Start from version 0 everywhere: write each of this vCPU's pages once. */
	for (unsigned long i = cpu; i < npages; i += ncpus) {
		version[i] = 0;
		write_page(base + i * PAGE_SIZE, 0);
	}
	for (unsigned int op = 0; op < OPS_PER_CPU && npages >= ncpus && !failed; op++) {
		unsigned long r = prandom_u64(&state);
		unsigned long i = (r >> 8) % (npages / ncpus) * ncpus + cpu;
		unsigned long page = base + i * PAGE_SIZE;

		if (r & 1) {
			write_page(page, ++version[i]);
			writes++;
		} else {
			if (check_page(page, version[i]))
				__atomic_store_n(&failed, 1, __ATOMIC_RELAXED);
			reads++;
		}
	}
	printf("random: vCPU %u: %lu pages, %lu reads, %lu writes\n", cpu, npages / ncpus, reads,
	       writes);
	__atomic_add_fetch(&finished, 1, __ATOMIC_ACQ_REL);
	if (cpu != 0)
		return 0;
	while (__atomic_load_n(&finished, __ATOMIC_ACQUIRE) != ncpus)
		cpu_relax();
	printf("random: %s\n", failed ? "FAILED" : "ok");
	return failed;
}
