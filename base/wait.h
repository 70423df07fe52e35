/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Wait queues: sleep until a condition holds.
 *
 * The waiter queues itself and sets its task state under the queue's lock
 * before it tests the condition; a waker makes the condition true and then
 * calls wake_up_all(), which takes the same lock and wakes every queued
 * task.  Either the waker's lock comes first, and the waiter's test sees
 * the condition, or the waiter is queued first, and the wakeup makes its
 * schedule() return: no wakeup is lost, and the waiter re-tests after every
 * wakeup, so spurious ones are harmless.
 *
 *	wait_event(wq, READ_ONCE(obj->done));	WRITE_ONCE(obj->done, true);
 *						wake_up_all(&wq);
 */
#ifndef NOPIN_BASE_WAIT_H
#define NOPIN_BASE_WAIT_H

#include <errno.h>
#include <stdbool.h>

#include "base/current.h"
#include "base/list.h"
#include "base/preempt.h"
#include "base/spinlock.h"

struct wait_queue_entry {
	struct task_struct *task;
	struct list_head entry;
};

typedef struct wait_queue_head {
	arch_spinlock_t lock;
	struct list_head head;
} wait_queue_head_t;

#define __WAIT_QUEUE_HEAD_INITIALIZER(name)                                                        \
	{                                                                                          \
		.lock = __ARCH_SPIN_LOCK_UNLOCKED, .head = LIST_HEAD_INIT((name).head)             \
	}
#define DECLARE_WAIT_QUEUE_HEAD(name) wait_queue_head_t name = __WAIT_QUEUE_HEAD_INITIALIZER(name)

void init_waitqueue_head(wait_queue_head_t *wq_head);
void init_wait_entry(struct wait_queue_entry *wq_entry);
/*
 * Queue @wq_entry (if it is not yet) and set the task state; returns
 * -EINTR instead if @state is interruptible and an interrupt is pending.
 */
long prepare_to_wait_event(wait_queue_head_t *wq_head, struct wait_queue_entry *wq_entry,
			   unsigned int state);
void finish_wait(wait_queue_head_t *wq_head, struct wait_queue_entry *wq_entry);

/* Wake every task waiting on @wq_head (there are no exclusive waiters here). */
void wake_up_all(wait_queue_head_t *wq_head);
#define wake_up(wq_head) wake_up_all(wq_head)
/* With wq_head->lock held: queue every waiter on @wake_q, to wake_up_q() after unlocking. */
void wake_up_all_locked(wait_queue_head_t *wq_head, struct wake_q_head *wake_q);

/* Someone is queued; a lockless peek, so pair it with a barrier as the kernel says. */
static inline bool waitqueue_active(wait_queue_head_t *wq_head)
{
	return READ_ONCE(wq_head->head.next) != &wq_head->head;
}

/* The loop under every wait_event*(): @cmd sleeps, and may set __ret and break, as the kernel's. */
#define ___wait_event(wq_head, condition, state, cmd)                                              \
	({                                                                                         \
		struct wait_queue_entry __wq_entry;                                                \
		long __ret = 0;                                                                    \
                                                                                                   \
		init_wait_entry(&__wq_entry);                                                      \
		for (;;) {                                                                         \
			long __int = prepare_to_wait_event(&(wq_head), &__wq_entry, state);        \
                                                                                                   \
			if (condition)                                                             \
				break;                                                             \
			if (__int) {                                                               \
				__ret = __int;                                                     \
				break;                                                             \
			}                                                                          \
			cmd;                                                                       \
		}                                                                                  \
		finish_wait(&(wq_head), &__wq_entry);                                              \
		__ret;                                                                             \
	})

/* Sleep until @condition is true; @wq_head is the queue itself, as in the kernel. */
#define wait_event(wq_head, condition)                                                             \
	do {                                                                                       \
		might_sleep();                                                                     \
		if (condition)                                                                     \
			break;                                                                     \
		(void)___wait_event(wq_head, condition, TASK_UNINTERRUPTIBLE, schedule());         \
	} while (0)

/* 0 once @condition is true, or -EINTR if an interrupt is raised first. */
#define wait_event_interruptible(wq_head, condition)                                               \
	({                                                                                         \
		int __wret = 0;                                                                    \
		might_sleep();                                                                     \
		if (!(condition))                                                                  \
			__wret =                                                                   \
				___wait_event(wq_head, condition, TASK_INTERRUPTIBLE, schedule()); \
		__wret;                                                                            \
	})

#define wait_event_killable(wq_head, condition)                                                    \
	({                                                                                         \
		int __wret = 0;                                                                    \
		might_sleep();                                                                     \
		if (!(condition))                                                                  \
			__wret = ___wait_event(wq_head, condition, TASK_KILLABLE, schedule());     \
		__wret;                                                                            \
	})

/*
 * wait_event() for at most @timeout nanoseconds (a ktime_t): 0 once
 * @condition is true, -ETIME if the time ran out first.  The condition is
 * tested once more after the time ran out, as the kernel's does.
 */
#define wait_event_hrtimeout(wq_head, condition, timeout)                                          \
	({                                                                                         \
		int __wret = 0;                                                                    \
		might_sleep();                                                                     \
		if (!(condition))                                                                  \
			__wret = __wait_event_hrtimeout(wq_head, condition, timeout);              \
		__wret;                                                                            \
	})

#define __wait_event_hrtimeout(wq_head, condition, timeout)                                        \
	({                                                                                         \
		ktime_t __expires = ktime_get() + (timeout);                                       \
		bool __expired = false;                                                            \
                                                                                                   \
		___wait_event(wq_head, condition, TASK_UNINTERRUPTIBLE,                            \
			      __hrtimeout_sleep(__expires, __expired));                            \
	})

/* The sleep of __wait_event_hrtimeout(): once the time has run out, leave with -ETIME. */
#define __hrtimeout_sleep(expires, expired)                                                        \
	if (expired) {                                                                             \
		__ret = -ETIME;                                                                    \
		break;                                                                             \
	}                                                                                          \
	expired = !schedule_hrtimeout(&(expires))

#endif
