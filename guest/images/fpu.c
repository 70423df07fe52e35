// SPDX-License-Identifier: GPL-2.0
/*
 * Floating point and SSE2, as gcc emits them for the x86-64 baseline: this
 * image alone is built without -mgeneral-regs-only (guest/CMakeLists.txt),
 * and prints what guest/fpu_report.h computes, which the host tests
 * compute natively and compare with the whole console.
 */
#include "guest.h"
#include "fpu_report.h"

static char report[1024];

int guest_main(unsigned int cpu, unsigned int ncpus, unsigned long ram_size)
{
	if (cpu)
		return 0;
	fpu_report(report, sizeof(report));
	/* A line at a time: printf() formats into a buffer of its own, shorter than the report. */
	for (const char *p = report; *p;) {
		char line[160];
		unsigned int n = 0;

		while (*p && *p != '\n' && n < sizeof(line) - 2)
			line[n++] = *p++;
		if (*p == '\n')
			line[n++] = *p++;
		line[n] = 0;
		printf("%s", line);
	}
	return 0;
}
