// SPDX-License-Identifier: GPL-2.0
/*
 * balloon: fill a region, report half of it free (the host may discard
 * those pages: HC_PAGE_REPORT_FREE), check the half it kept, take the
 * reported half back (HC_PAGE_REUSE), find it zero or unchanged page by
 * page, rewrite and verify all of it.  Several rounds.
 */
#include "guest.h"

#define ROUNDS 4
#define CHUNK (64 * PAGE_SIZE) /* report granule */

static unsigned long value(unsigned long addr, unsigned int round)
{
	return addr * 31 + round + 1;
}

/* 1 if the host discarded the page (zero), 0 if unchanged, -1 if neither. */
static int check_reused_page(unsigned long page, unsigned int round)
{
	unsigned long *p = (unsigned long *)page;
	bool zero = p[0] == 0;

	for (unsigned int i = 0; i < PAGE_SIZE / 8; i++) {
		unsigned long want = zero ? 0 : value((unsigned long)&p[i], round);

		if (p[i] != want) {
			printf("balloon: reused page %lx word %u: expected %lx, found %lx\n", page,
			       i, want, p[i]);
			return -1;
		}
	}
	return zero;
}

int guest_main(unsigned int cpu, unsigned int ncpus, unsigned long ram_size)
{
	unsigned long start = ram_free_start();
	unsigned long len = ((ram_free_end() - start) / (2 * CHUNK)) * 2 * CHUNK;
	unsigned long discarded = 0;

	if (cpu != 0)
		return 0;
	for (unsigned int round = 0; round < ROUNDS; round++) {
		for (unsigned long *p = (unsigned long *)start; p < (unsigned long *)(start + len);
		     p++)
			*p = value((unsigned long)p, round);
		/* Report every other chunk free. */
		for (unsigned long c = start; c < start + len; c += 2 * CHUNK)
			if ((long)hypercall(HC_PAGE_REPORT_FREE, c, CHUNK) < 0)
				return 3;
		for (unsigned long c = start + CHUNK; c < start + len; c += 2 * CHUNK)
			for (unsigned long *p = (unsigned long *)c;
			     p < (unsigned long *)(c + CHUNK); p++)
				if (*p != value((unsigned long)p, round)) {
					printf("balloon: kept word %p: found %lx\n", p, *p);
					return 1;
				}
		for (unsigned long c = start; c < start + len; c += 2 * CHUNK) {
			hypercall(HC_PAGE_REUSE, c, CHUNK);
			for (unsigned long pg = c; pg < c + CHUNK; pg += PAGE_SIZE) {
				int r = check_reused_page(pg, round);

				if (r < 0)
					return 1;
				discarded += r;
			}
		}
	}
	printf("balloon: %d rounds over %lu KiB, %lu pages came back zero\n", ROUNDS, len >> 10,
	       discarded);
	return 0;
}
