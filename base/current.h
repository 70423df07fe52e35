/* SPDX-License-Identifier: GPL-2.0 */
/*
 * current: the per-thread task record.  A thread plays a CPU; its task
 * record carries what the kernel keeps in task_struct and preempt_count for
 * the checkers: its name, the locks it holds, how deep it is in atomic
 * sections, and a pending-interrupt flag that plays signal_pending().
 *
 * A thread that never called task_register() gets a record on first use of
 * `current`, named "thread-<tid>".
 */
#ifndef NOPIN_BASE_CURRENT_H
#define NOPIN_BASE_CURRENT_H

#include <stdbool.h>

#include "base/compiler.h"
#include "base/lockdep_types.h"

#define TASK_COMM_LEN 24

struct task_struct {
	char comm[TASK_COMM_LEN];
	int tid;		     /* gettid() */
	int cpu;		     /* index for per-"CPU" structures, assigned at register */
	unsigned int preempt_count;  /* > 0: in an atomic section */
	bool sigpending;	     /* signal_pending(): written by other threads */
	struct lockdep_task lockdep; /* held locks (empty without CONFIG_LOCKDEP) */
	void *srcu_readers;	     /* notifier/srcu.c's per-thread reader state */
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

/* signal_pending(): set by task_raise_interrupt() from any thread. */
static inline bool signal_pending(struct task_struct *tsk)
{
	return __atomic_load_n(&tsk->sigpending, __ATOMIC_ACQUIRE);
}
void task_raise_interrupt(struct task_struct *tsk);
void task_clear_interrupt(struct task_struct *tsk);

/* Number of "CPUs": the bound for task->cpu, sized for per-CPU arrays. */
#define NR_CPUS 64

#endif
