/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Trace events in Chrome's trace-event JSON (it opens in Perfetto and
 * chrome://tracing): one track per thread, named after its task (vCPU 0,
 * pressure/reclaim, kswapd/...), with spans for faults, invalidations,
 * flushes and reclaim batches and instants for retries.
 *
 * Off unless trace_open() was called: then a tracepoint costs one load.
 * Like the kernel's ftrace buffer, the sink is global: tracepoints sit in
 * layers (mm/, mmu/) that have no object to hang it on.
 */
#ifndef NOPIN_BASE_TRACE_H
#define NOPIN_BASE_TRACE_H

#include <stdbool.h>

#include "base/compiler.h"

struct trace_sink;
extern struct trace_sink *trace_sink; /* NULL: tracing off */

/*
 * Start writing events to @path; 0 or -errno.  trace_close() finishes the
 * JSON; call it when no traced thread runs any more.  It returns 0, or the
 * first write error of the whole trace (-ENOSPC on a full disk, -EFBIG
 * past RLIMIT_FSIZE): an incomplete trace is never passed off as whole.
 */
int trace_open(const char *path);
int trace_close(void);

void __trace_event(char phase, const char *cat, const char *name, long arg);

static inline bool trace_enabled(void)
{
	return unlikely(__atomic_load_n(&trace_sink, __ATOMIC_RELAXED) != NULL);
}

/* A span on the calling thread's track: begin and end pair up by nesting. */
#define trace_begin(cat, name)                                                                     \
	do {                                                                                       \
		if (trace_enabled())                                                               \
			__trace_event('B', cat, name, 0);                                          \
	} while (0)
#define trace_end(cat, name)                                                                       \
	do {                                                                                       \
		if (trace_enabled())                                                               \
			__trace_event('E', cat, name, 0);                                          \
	} while (0)
/* A point event with one number attached (pages, a gfn ...). */
#define trace_instant(cat, name, arg)                                                              \
	do {                                                                                       \
		if (trace_enabled())                                                               \
			__trace_event('i', cat, name, (long)(arg));                                \
	} while (0)

#endif
