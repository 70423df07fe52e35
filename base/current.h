/* SPDX-License-Identifier: GPL-2.0 */
/*
 * current: the per-thread task record.  A thread plays a CPU; its task
 * record carries what the kernel keeps in task_struct and preempt_count for
 * the checkers: its name, the locks it holds, how deep it is in atomic
 * sections, and a pending-interrupt flag that plays signal_pending().
 *
 * A thread that never called task_register() gets a record on first use of
 * `current`, named "thread-<tid>".
 *
 * It also carries what the kernel's sched.h gives the sleeping primitives:
 * a task state that set_current_state() publishes before a sleeper checks
 * its condition, schedule() that sleeps until wake_up_process() makes the
 * state TASK_RUNNING again (a futex on the state word), and a reference
 * count, because a waker may still hold the task after its waiter returned.
 */
#ifndef NOPIN_BASE_CURRENT_H
#define NOPIN_BASE_CURRENT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/atomic.h"
#include "base/compiler.h"
#include "base/lockdep_types.h"

#define TASK_COMM_LEN 24

struct kthread;

/* A pending wakeup, linked while a waker collects whom to wake (wake_q). */
struct wake_q_node {
	struct wake_q_node *next;
};

struct task_struct {
	char comm[TASK_COMM_LEN];
	int tid;		     /* gettid() */
	int cpu;		     /* index for per-"CPU" structures, assigned at register */
	unsigned int preempt_count;  /* > 0: in an atomic section */
	bool sigpending;	     /* signal_pending(): written by other threads */
	struct lockdep_task lockdep; /* held locks (empty without CONFIG_LOCKDEP) */
	void *srcu_readers;	     /* notifier/srcu.c's per-thread reader state */

	unsigned int __state;	   /* TASK_*; the futex word schedule() sleeps on */
	atomic_t usage;		   /* get_task_struct(); the thread holds one */
	struct wake_q_node wake_q; /* on a waker's wake_q */
	struct kthread *kthread;   /* set for threads started by kthread_run() */
};

/* The kernel's `current`; the record lives in thread-local storage. */
extern __thread struct task_struct *__current_task;
struct task_struct *__current_slow(void);

static inline struct task_struct *get_current(void)
{
	struct task_struct *tsk = __current_task;

	return likely(tsk) ? tsk : __current_slow();
}
#define current get_current()

/* Name the calling thread's record (creating it if needed). */
struct task_struct *task_register(const char *name);
/* Release the calling thread's record; it must hold no lock. */
void task_unregister(void);

/* A record outlives its thread while someone holds a reference. */
static inline struct task_struct *get_task_struct(struct task_struct *tsk)
{
	atomic_inc(&tsk->usage);
	return tsk;
}
void __put_task_struct(struct task_struct *tsk);
static inline void put_task_struct(struct task_struct *tsk)
{
	if (atomic_dec_and_test(&tsk->usage))
		__put_task_struct(tsk);
}

/*
 * signal_pending(): set by task_raise_interrupt() from any thread.  A
 * sequentially consistent load (a plain load on x86-64): a sleeper tests it
 * after publishing its task state, the raiser tests the state after
 * publishing the flag, and one of them must see the other's store.
 */
static inline bool signal_pending(struct task_struct *tsk)
{
	return __atomic_load_n(&tsk->sigpending, __ATOMIC_SEQ_CST);
}
/* Set the flag and wake @tsk if it sleeps interruptibly or killably. */
void task_raise_interrupt(struct task_struct *tsk);
void task_clear_interrupt(struct task_struct *tsk);

/* Number of "CPUs": the bound for task->cpu, sized for per-CPU arrays. */
#define NR_CPUS 64

/* ---- sleeping and waking (the kernel's sched.h) ---------------------------- */

#define TASK_RUNNING 0x0000U
#define TASK_INTERRUPTIBLE 0x0001U
#define TASK_UNINTERRUPTIBLE 0x0002U
#define TASK_WAKEKILL 0x0100U
#define TASK_KILLABLE (TASK_WAKEKILL | TASK_UNINTERRUPTIBLE)
#define TASK_NORMAL (TASK_INTERRUPTIBLE | TASK_UNINTERRUPTIBLE)

/*
 * set_current_state() is a full barrier after the store, so a sleeper's
 * later check of its condition cannot pass a waker's store of it unseen:
 *
 *	set_current_state(TASK_UNINTERRUPTIBLE);	cond = true;
 *	if (!cond)					wake_up_process(p);
 *		schedule();
 */
#define __set_current_state(state) __atomic_store_n(&current->__state, (state), __ATOMIC_RELAXED)
#define set_current_state(state) __atomic_store_n(&current->__state, (state), __ATOMIC_SEQ_CST)

/* Does a pending interrupt end a sleep in @state? */
static inline bool signal_pending_state(unsigned int state, struct task_struct *tsk)
{
	if (!(state & (TASK_INTERRUPTIBLE | TASK_WAKEKILL)))
		return false;
	return signal_pending(tsk);
}

/* Sleep until someone makes our state TASK_RUNNING (returns at once if it is). */
void schedule(void);

/* Nanoseconds of CLOCK_MONOTONIC, as the kernel's ktime_get() counts them. */
typedef int64_t ktime_t;
#define NSEC_PER_MSEC 1000000L
#define NSEC_PER_SEC 1000000000L
ktime_t ktime_get(void);
/*
 * schedule(), but back by the absolute time *@expires at the latest (the
 * kernel's schedule_hrtimeout(expires, HRTIMER_MODE_ABS)): 0 if the time
 * came, -EINTR if a wakeup or a pending interrupt came first.
 */
int schedule_hrtimeout(const ktime_t *expires);
/* Wake @tsk if its state is in @state; true if this call woke it. */
bool wake_up_state(struct task_struct *tsk, unsigned int state);
static inline bool wake_up_process(struct task_struct *tsk)
{
	return wake_up_state(tsk, TASK_NORMAL);
}

/*
 * A wake_q collects tasks to wake under a lock and wakes them after it is
 * dropped; each queued task is referenced, since it may return and exit
 * the moment it sees it was handed what it waited for.
 */
struct wake_q_head {
	struct wake_q_node *first;
	struct wake_q_node **lastp;
};

#define WAKE_Q_TAIL ((struct wake_q_node *)0x01)
#define DEFINE_WAKE_Q(name) struct wake_q_head name = { WAKE_Q_TAIL, &name.first }

void wake_q_add(struct wake_q_head *head, struct task_struct *tsk);
void wake_up_q(struct wake_q_head *head);

#endif
