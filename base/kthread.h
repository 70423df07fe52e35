/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel threads: a pthread with a task record of its own name.
 *
 *	static int worker(void *arg)
 *	{
 *		while (!kthread_should_stop())
 *			do_work(arg);
 *		return 0;
 *	}
 *
 *	struct kthread *k = kthread_run(worker, arg, "reclaim/%d", node);
 *	...
 *	ret = kthread_stop(k);	// asks it to stop, waits, returns worker()'s result
 *
 * kthread_stop() also wakes the thread from whatever sleep it is in, as the
 * kernel's does, so `wait_event(wq, cond || kthread_should_stop())` ends.
 */
#ifndef NOPIN_BASE_KTHREAD_H
#define NOPIN_BASE_KTHREAD_H

#include <stdbool.h>

#include "base/compiler.h"
#include "base/current.h"

struct kthread;

/*
 * Start @threadfn(@data) on a new thread named by @namefmt, registered
 * before @threadfn runs.  Returns the thread, or ERR_PTR(-errno).
 */
struct kthread *kthread_run(int (*threadfn)(void *data), void *data, const char *namefmt, ...)
	__printf(3, 4);
/* On a kthread: has kthread_stop() been called for it?  Elsewhere: false. */
bool kthread_should_stop(void);
/* Ask @k to stop, wake it, wait for it; returns its function's result and frees @k. */
int kthread_stop(struct kthread *k);
/* Wait for @k to return by itself; returns its function's result and frees @k. */
int kthread_join(struct kthread *k);
/* The task record of @k (valid until kthread_stop()/kthread_join()). */
struct task_struct *kthread_task(struct kthread *k);

#endif
