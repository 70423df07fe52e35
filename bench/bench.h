/* SPDX-License-Identifier: GPL-2.0 */
/* What every benchmark needs: a clock, and a way out when setup fails. */
#ifndef NOPIN_BENCH_BENCH_H
#define NOPIN_BENCH_BENCH_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

/*
 * --csv: one run gives both the table and the figures as CSV, for
 * scripts/bench.  The table (everything printed to stdout) goes to stderr
 * instead, and each figure a benchmark hands to bench_csv() is one line
 * "section,row,column,value" on the real stdout: a long format, so that every
 * benchmark's tables, whatever their shape, fit one header, and a plot or a
 * goal (bench/goals.tsv) names a figure by section, row and column.  A comma
 * in a name becomes a semicolon.  Without --csv, bench_csv() does nothing.
 */
static FILE *bench_csv_out;

/* Call first in main(): takes --csv out of argv wherever it is. */
static inline void bench_csv_init(int *argc, char **argv)
{
	int fd, j = 1;

	for (int i = 1; i < *argc; i++)
		if (strcmp(argv[i], "--csv"))
			argv[j++] = argv[i];
		else
			bench_csv_out = stdout;
	*argc = j;
	argv[j] = NULL;
	if (!bench_csv_out)
		return;
	fflush(stdout);
	fd = dup(STDOUT_FILENO);
	if (fd < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0 || !(bench_csv_out = fdopen(fd, "w")))
		die("--csv");
	setvbuf(stdout, NULL, _IOLBF, 0); /* the table, interleaved in order with stderr */
	fprintf(bench_csv_out, "section,row,column,value\n");
}

/* A name as a CSV field: a comma in it (a table's label) becomes a semicolon. */
static inline void bench_csv_name(const char *name)
{
	for (; *name; name++)
		fputc(*name == ',' ? ';' : *name, bench_csv_out);
	fputc(',', bench_csv_out);
}

static inline void bench_csv(const char *section, const char *row, const char *column, double value)
{
	if (!bench_csv_out)
		return;
	bench_csv_name(section);
	bench_csv_name(row);
	bench_csv_name(column);
	fprintf(bench_csv_out, "%.10g\n", value);
	fflush(bench_csv_out);
}

/* The same, for a row that is a number (a sweep's x: pages, threads, VMAs). */
static inline void bench_csv_n(const char *section, unsigned long row, const char *column,
			       double value)
{
	char r[32];

	snprintf(r, sizeof(r), "%lu", row);
	bench_csv(section, r, column, value);
}

#endif
