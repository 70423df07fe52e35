/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Schedule points: named places in production code where a test can stop a
 * thread, do the other side of a race, and let it go.  They turn "the
 * window is a few instructions wide" into a deterministic test.
 *
 *	sched_point("truncate:after_unmap");	<- in mm/truncate.c
 *
 *	sched_point_arm("truncate:after_unmap", NULL);	<- in the test
 *	... start the thread that will reach it ...
 *	sched_point_wait("truncate:after_unmap");	until it is parked there
 *	... the other side of the race ...
 *	sched_point_release("truncate:after_unmap");	let it go; disarms
 *
 * While no point is armed anywhere, sched_point() is one relaxed load of a
 * global counter and a branch predicted not taken (the kernel would use a
 * static key).  A point may be reached inside an atomic section, with
 * spinlocks held: parking waits on a raw pthread condition variable, never
 * on the project's sleeping primitives, so it does not trip might_sleep().
 *
 * Several points may be armed at once (thread A at P1, thread B at P2);
 * each name is armed at most once at a time.  A point parks one thread, then
 * is disarmed by sched_point_release(); other threads that reach it while
 * one is parked pass through.
 */
#ifndef NOPIN_BASE_SCHED_POINT_H
#define NOPIN_BASE_SCHED_POINT_H

#include <stdbool.h>

#include "base/atomic.h"
#include "base/compiler.h"

/* How many points may be armed at once. */
#define SCHED_POINT_MAX 16

/* Number of armed points; see sched_point.c for why it is global. */
extern atomic_t sched_points_armed;

void __sched_point(const char *name, void *data);

/* A named place where an armed test may park the calling thread. */
static __always_inline void sched_point(const char *name)
{
	if (unlikely(atomic_read(&sched_points_armed)))
		__sched_point(name, NULL);
}

/*
 * The same, telling whoever parked the thread what it is working on (the
 * address a fault looked up): sched_point_parked_data() hands @data over
 * while the thread is parked, when it is still valid.
 */
static __always_inline void sched_point_data(const char *name, void *data)
{
	if (unlikely(atomic_read(&sched_points_armed)))
		__sched_point(name, data);
}

/*
 * Arm @name: the @nth (1-based) time a matching thread reaches it, that
 * thread parks.  @task_name matches current->comm; NULL matches any thread.
 * Returns 0, or -EBUSY if @name is already armed, -EINVAL for nth == 0,
 * -ENAMETOOLONG, or -ENOSPC when too many points are armed (all but 0 also
 * WARN, so a test that ignores the value still fails).
 */
int sched_point_arm_count(const char *name, const char *task_name, unsigned int nth);

/* Park the first matching thread that reaches @name. */
static inline int sched_point_arm(const char *name, const char *task_name)
{
	return sched_point_arm_count(name, task_name, 1);
}

/* Block until a thread is parked at @name: 0, or -ENOENT if it is not armed. */
int sched_point_wait(const char *name);

/* Is a thread parked at @name right now?  If so, and @data, *@data is what it passed. */
bool sched_point_parked_data(const char *name, void **data);

static inline bool sched_point_parked(const char *name)
{
	return sched_point_parked_data(name, NULL);
}

/*
 * Let the thread parked at @name continue and disarm @name.  If no thread
 * has parked yet, only disarms it (a test cancelling a point it showed was
 * never reached).  Releasing a point that is not armed WARNs.
 */
void sched_point_release(const char *name);

#endif
