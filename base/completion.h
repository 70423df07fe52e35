/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Completions: "this happened", counted.  complete() lets one waiter
 * through, complete_all() every present and future one until
 * reinit_completion().  ->done is protected by the wait queue's lock.
 */
#ifndef NOPIN_BASE_COMPLETION_H
#define NOPIN_BASE_COMPLETION_H

#include <stdbool.h>

#include "base/wait.h"

struct completion {
	unsigned int done;
	wait_queue_head_t wait;
};

#define COMPLETION_INITIALIZER(work)                                                               \
	{                                                                                          \
		0, __WAIT_QUEUE_HEAD_INITIALIZER((work).wait)                                      \
	}
#define DECLARE_COMPLETION(work) struct completion work = COMPLETION_INITIALIZER(work)

static inline void init_completion(struct completion *x)
{
	x->done = 0;
	init_waitqueue_head(&x->wait);
}

/* Reuse a completion; its waiters must be gone. */
static inline void reinit_completion(struct completion *x)
{
	WRITE_ONCE(x->done, 0);
}

void complete(struct completion *x);
void complete_all(struct completion *x);
void __wait_for_completion(struct completion *x, const struct lock_site *site);
/* 0 once completed, or -EINTR if an interrupt was raised first. */
int __wait_for_completion_state(struct completion *x, unsigned int state,
				const struct lock_site *site);
bool try_wait_for_completion(struct completion *x);
bool completion_done(struct completion *x);

#define wait_for_completion(x) __wait_for_completion(x, _THIS_SITE)
#define wait_for_completion_interruptible(x)                                                       \
	__wait_for_completion_state(x, TASK_INTERRUPTIBLE, _THIS_SITE)
#define wait_for_completion_killable(x) __wait_for_completion_state(x, TASK_KILLABLE, _THIS_SITE)

#endif
