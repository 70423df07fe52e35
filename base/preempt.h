/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Atomic sections.  Nothing preempts a thread here, but the rule the kernel
 * enforces still matters to the model: code holding a spinlock (or inside
 * preempt_disable()) must not sleep, because on a real CPU it would sleep
 * with preemption off.  So a spinlock, rwlock or preempt_disable() raises
 * current->preempt_count, and every primitive that may block calls
 * might_sleep(), which reports a call made inside such a section.
 *
 * The count is kept in every build (in_atomic() is cheap and code may ask);
 * the report and the record of where the section was opened are lockdep's.
 */
#ifndef NOPIN_BASE_PREEMPT_H
#define NOPIN_BASE_PREEMPT_H

#include "base/compiler.h"
#include "base/current.h"
#include "base/lockdep_types.h"

static __always_inline void __preempt_disable(const struct lock_site *site)
{
	struct task_struct *tsk = current;

#ifdef CONFIG_LOCKDEP
	if (tsk->preempt_count++ == 0)
		tsk->lockdep.preempt_site = site;
#else
	tsk->preempt_count++;
#endif
	barrier();
}

void __preempt_count_underflow(const struct lock_site *site);

static __always_inline void __preempt_enable(const struct lock_site *site)
{
	struct task_struct *tsk = current;

	barrier();
#ifdef CONFIG_LOCKDEP
	if (unlikely(tsk->preempt_count == 0)) {
		__preempt_count_underflow(site);
		return;
	}
#endif
	tsk->preempt_count--;
}

#define preempt_disable() __preempt_disable(_THIS_SITE)
#define preempt_enable() __preempt_enable(_THIS_SITE)

static inline unsigned int preempt_count(void)
{
	return current->preempt_count;
}

static inline bool in_atomic(void)
{
	return preempt_count() != 0;
}

#ifdef CONFIG_LOCKDEP
void __might_sleep_report(const struct lock_site *site);

/* Report if the caller, which may block, is inside an atomic section. */
static __always_inline void __might_sleep(const struct lock_site *site)
{
	if (unlikely(in_atomic()))
		__might_sleep_report(site);
}
#define might_sleep() __might_sleep(_THIS_SITE)
#else
#define __might_sleep(site) ((void)0)
#define might_sleep() ((void)0)
#endif

/* A point where a long loop would let others run; here only the sleep check. */
#define cond_resched() might_sleep()

#endif
