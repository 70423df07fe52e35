// SPDX-License-Identifier: GPL-2.0
/*
 * Task records and the sleep/wake machinery under every blocking primitive.
 */
#include <errno.h>
#include <linux/futex.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/bug.h"
#include "base/current.h"
#include "base/lockdep.h"

/* The kernel's `current`: each thread's own record. */
__thread struct task_struct *__current_task;

/*
 * Global like the kernel's CPU numbering: threads get "CPU" numbers round
 * robin, so per-CPU arrays of NR_CPUS entries are shared by few threads.
 */
static atomic_t next_cpu = ATOMIC_INIT(0);

/* The thread-exit hook that drops the thread's reference to its record. */
static pthread_key_t task_exit_key;
static pthread_once_t task_exit_key_once = PTHREAD_ONCE_INIT;

static void task_exit(void *arg);

static void task_exit_key_init(void)
{
	if (pthread_key_create(&task_exit_key, task_exit))
		abort();
}

struct task_struct *__current_slow(void)
{
	struct task_struct *tsk = calloc(1, sizeof(*tsk));

	if (!tsk)
		abort();
	tsk->tid = gettid();
	tsk->cpu = (atomic_inc_return(&next_cpu) - 1) % NR_CPUS;
	snprintf(tsk->comm, sizeof(tsk->comm), "thread-%d", tsk->tid);
	atomic_set(&tsk->usage, 1);
	tsk->__state = TASK_RUNNING;
	__current_task = tsk;
	pthread_once(&task_exit_key_once, task_exit_key_init);
	pthread_setspecific(task_exit_key, tsk);
	return tsk;
}

struct task_struct *task_register(const char *name)
{
	struct task_struct *tsk = current;

	snprintf(tsk->comm, sizeof(tsk->comm), "%s", name);
	return tsk;
}

static void task_release_current(struct task_struct *tsk)
{
	lockdep_assert_none_held();
	WARN_ON(tsk->preempt_count);
	__current_task = NULL;
	pthread_setspecific(task_exit_key, NULL);
	put_task_struct(tsk);
}

void task_unregister(void)
{
	struct task_struct *tsk = __current_task;

	if (tsk)
		task_release_current(tsk);
}

/* A thread ended without task_unregister(): the kernel's do_exit() checks. */
static void task_exit(void *arg)
{
	struct task_struct *tsk = arg;

	__current_task = tsk;
	task_release_current(tsk);
}

void __put_task_struct(struct task_struct *tsk)
{
	free(tsk);
}

/*
 * Interrupts play signals: the flag is published before the wakeup, and
 * the sleeper tests it after publishing its sleeping state, so one of the
 * two sees the other (both are full barriers).
 */
void task_raise_interrupt(struct task_struct *tsk)
{
	__atomic_store_n(&tsk->sigpending, true, __ATOMIC_SEQ_CST);
	wake_up_state(tsk, TASK_INTERRUPTIBLE | TASK_WAKEKILL);
}

void task_clear_interrupt(struct task_struct *tsk)
{
	__atomic_store_n(&tsk->sigpending, false, __ATOMIC_SEQ_CST);
}

static void futex_wait(unsigned int *uaddr, unsigned int val)
{
	syscall(SYS_futex, uaddr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

/* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC time, FUTEX_WAIT a relative one. */
static void futex_wait_until(unsigned int *uaddr, unsigned int val, ktime_t expires)
{
	struct timespec ts = { .tv_sec = expires / NSEC_PER_SEC,
			       .tv_nsec = expires % NSEC_PER_SEC };

	syscall(SYS_futex, uaddr, FUTEX_WAIT_BITSET_PRIVATE, val, &ts, NULL,
		FUTEX_BITSET_MATCH_ANY);
}

static void futex_wake(unsigned int *uaddr)
{
	syscall(SYS_futex, uaddr, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/*
 * The futex word is the task state itself: FUTEX_WAIT sleeps only if the
 * state is still the sleeping one, so a wakeup between our test and the
 * syscall makes the syscall return at once.
 */
void schedule(void)
{
	struct task_struct *tsk = current;
	unsigned int state;

	while ((state = __atomic_load_n(&tsk->__state, __ATOMIC_ACQUIRE)) != TASK_RUNNING) {
		/* As the kernel's __schedule(): a pending interrupt ends the sleep. */
		if (signal_pending_state(state, tsk)) {
			__set_current_state(TASK_RUNNING);
			break;
		}
		futex_wait(&tsk->__state, state);
	}
}

ktime_t ktime_get(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

/* schedule() with a deadline: the time running out wakes us as a waker would. */
int schedule_hrtimeout(const ktime_t *expires)
{
	struct task_struct *tsk = current;
	unsigned int state;

	while ((state = __atomic_load_n(&tsk->__state, __ATOMIC_ACQUIRE)) != TASK_RUNNING) {
		if (signal_pending_state(state, tsk))
			break;
		if (ktime_get() >= *expires) {
			__set_current_state(TASK_RUNNING);
			return 0;
		}
		futex_wait_until(&tsk->__state, state, *expires);
	}
	__set_current_state(TASK_RUNNING);
	return -EINTR;
}

bool wake_up_state(struct task_struct *tsk, unsigned int state)
{
	unsigned int curr = __atomic_load_n(&tsk->__state, __ATOMIC_SEQ_CST);

	do {
		if (!(curr & state))
			return false;
	} while (!__atomic_compare_exchange_n(&tsk->__state, &curr, TASK_RUNNING, true,
					      __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
	futex_wake(&tsk->__state);
	return true;
}

void wake_q_add(struct wake_q_head *head, struct task_struct *tsk)
{
	struct wake_q_node *node = &tsk->wake_q;
	struct wake_q_node *old = NULL;

	/*
	 * Already on some waker's queue: that waker wakes it after this
	 * point (it clears ->next just before waking), which is enough.
	 */
	if (!__atomic_compare_exchange_n(&node->next, &old, WAKE_Q_TAIL, false, __ATOMIC_SEQ_CST,
					 __ATOMIC_RELAXED))
		return;
	get_task_struct(tsk);
	/* Atomic: other wakers may be failing their exchange on this word. */
	__atomic_store_n(head->lastp, node, __ATOMIC_RELAXED);
	head->lastp = &node->next;
}

void wake_up_q(struct wake_q_head *head)
{
	struct wake_q_node *node = head->first;

	while (node != WAKE_Q_TAIL) {
		struct task_struct *tsk = container_of(node, struct task_struct, wake_q);

		node = __atomic_load_n(&node->next, __ATOMIC_RELAXED);
		__atomic_store_n(&tsk->wake_q.next, NULL, __ATOMIC_SEQ_CST);
		wake_up_process(tsk);
		put_task_struct(tsk);
	}
	head->first = WAKE_Q_TAIL;
	head->lastp = &head->first;
}
