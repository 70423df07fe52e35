/* SPDX-License-Identifier: GPL-2.0 */
/* What every benchmark needs: a clock, and a way out when setup fails. */
#ifndef NOPIN_BENCH_BENCH_H
#define NOPIN_BENCH_BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Setup failed: a benchmark has nothing to measure then. */
static inline void __attribute__((noreturn)) die(const char *what)
{
	perror(what);
	exit(1);
}

#endif
