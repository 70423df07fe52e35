/* SPDX-License-Identifier: GPL-2.0 */
/* What every benchmark needs: a clock, and a way out when setup fails. */
#ifndef NOPIN_BENCH_BENCH_H
#define NOPIN_BENCH_BENCH_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* CLOCK_MONOTONIC, in nanoseconds and in seconds. */
static inline double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static inline double now_s(void)
{
	return now_ns() / 1e9;
}

/* Setup failed: a benchmark has nothing to measure then. */
static inline void __attribute__((noreturn)) die(const char *what)
{
	perror(what);
	exit(1);
}

/* The same, for a call that returned @err (-errno, or what it got instead). */
static inline void __attribute__((noreturn)) die_err(const char *what, long err)
{
	fprintf(stderr, "%s: %s: %ld\n", program_invocation_short_name, what, err);
	exit(1);
}

#endif
