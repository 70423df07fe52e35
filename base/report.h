/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reports: the one way any checker (lockdep, might_sleep, the frame
 * sanitizer, WARN_ON) tells the user that a rule was broken.  A report is one
 * block on stderr, framed so it reads as a unit even when threads race, and
 * counted per class so tests can fail on any report they did not expect.
 *
 *	report_start(REPORT_SANITIZER, "use-after-free read");
 *	report_printf("  frame %lu ...\n", pfn);
 *	report_end();
 */
#ifndef NOPIN_BASE_REPORT_H
#define NOPIN_BASE_REPORT_H

#include <stdbool.h>

#include "base/compiler.h"

enum report_class {
	REPORT_LOCKDEP,	     /* lock order, recursion, bad unlock, lock not held */
	REPORT_ATOMIC_SLEEP, /* might_sleep() inside an atomic section */
	REPORT_SANITIZER,    /* frame sanitizer: bad page state, use after free, ... */
	REPORT_WARN,	     /* WARN_ON() */
	REPORT_OOM,	     /* an allocation nothing could satisfy */
	NR_REPORT_CLASSES
};

void report_start(enum report_class cls, const char *fmt, ...) __printf(2, 3);
void report_printf(const char *fmt, ...) __printf(1, 2);
void report_end(void);

/* Counters since the process started (or the last report_consume()). */
unsigned long report_count(enum report_class cls);
unsigned long report_total(void);
/* Returns the count of @cls and zeroes it: the caller expected them. */
unsigned long report_consume(enum report_class cls);
/* The title of the last report of @cls, for tests that check what was named. */
const char *report_last_title(enum report_class cls, char *buf, unsigned long len);
const char *report_class_name(enum report_class cls);

/* Print the calling thread's backtrace into the current report. */
void dump_stack(void);

#endif
