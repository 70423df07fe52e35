// SPDX-License-Identifier: GPL-2.0
/*
 * The mutex slow paths: a FIFO of sleeping waiters under ->wait_lock.
 * The unlocker gives up ownership first and then wakes the first waiter,
 * which competes for the lock again (no handoff: a thread arriving on the
 * fast path may take it first, as in the kernel without the handoff bit).
 */
#include <errno.h>

#include "base/mutex.h"

struct mutex_waiter {
	struct list_head list;
	struct task_struct *task;
};

void __mutex_init(struct mutex *lock, const char *name, struct lock_class_key *key)
{
	atomic_long_set(&lock->owner, 0);
	lock->wait_lock = (arch_spinlock_t)__ARCH_SPIN_LOCK_UNLOCKED;
	INIT_LIST_HEAD(&lock->wait_list);
	lockdep_init_map(&lock->dep_map, name, key, 0);
}

/* Take the lock if it has no owner, keeping the flag bits. */
bool __mutex_trylock(struct mutex *lock)
{
	long curr = (long)current;
	long owner = atomic_long_read(&lock->owner);

	do {
		if (owner & ~MUTEX_FLAGS)
			return false;
	} while (!__atomic_compare_exchange_n(&lock->owner.counter, &owner, curr | owner, true,
					      __ATOMIC_ACQUIRE, __ATOMIC_RELAXED));
	return true;
}

/* Under wait_lock: the first waiter is worth waking only if the lock is free. */
static void mutex_wake_first(struct mutex *lock, struct wake_q_head *wake_q)
{
	struct mutex_waiter *first;

	if (list_empty(&lock->wait_list) || __mutex_owner(lock))
		return;
	first = list_first_entry(&lock->wait_list, struct mutex_waiter, list);
	wake_q_add(wake_q, first->task);
}

static void mutex_remove_waiter(struct mutex *lock, struct mutex_waiter *waiter)
{
	list_del(&waiter->list);
	if (list_empty(&lock->wait_list))
		__atomic_fetch_and(&lock->owner.counter, ~MUTEX_FLAG_WAITERS, __ATOMIC_RELAXED);
}

/*
 * Queue, then alternate between trying the lock and sleeping.  The task
 * state is set before each try, under wait_lock, and the unlocker wakes
 * only after it released ownership and took wait_lock: either our try sees
 * the lock free, or the wakeup finds us in a sleeping state and makes
 * schedule() return.
 */
int __mutex_lock_slowpath(struct mutex *lock, unsigned int state)
{
	struct mutex_waiter waiter = { .task = current };
	DEFINE_WAKE_Q(wake_q);
	int ret = 0;

	arch_spin_lock(&lock->wait_lock);
	list_add_tail(&waiter.list, &lock->wait_list);
	__atomic_fetch_or(&lock->owner.counter, MUTEX_FLAG_WAITERS, __ATOMIC_SEQ_CST);
	for (;;) {
		set_current_state(state);
		if (__mutex_trylock(lock))
			break;
		if (signal_pending_state(state, waiter.task)) {
			ret = -EINTR;
			break;
		}
		arch_spin_unlock(&lock->wait_lock);
		schedule();
		arch_spin_lock(&lock->wait_lock);
	}
	__set_current_state(TASK_RUNNING);
	mutex_remove_waiter(lock, &waiter);
	/* We may have been the one the unlocker woke: pass it on. */
	if (ret)
		mutex_wake_first(lock, &wake_q);
	arch_spin_unlock(&lock->wait_lock);
	wake_up_q(&wake_q);
	return ret;
}

void __mutex_unlock_slowpath(struct mutex *lock)
{
	long owner = atomic_long_read(&lock->owner);
	DEFINE_WAKE_Q(wake_q);

	while (!__atomic_compare_exchange_n(&lock->owner.counter, &owner, owner & MUTEX_FLAGS, true,
					    __ATOMIC_RELEASE, __ATOMIC_RELAXED))
		;
	if (!(owner & MUTEX_FLAG_WAITERS))
		return;
	arch_spin_lock(&lock->wait_lock);
	mutex_wake_first(lock, &wake_q);
	arch_spin_unlock(&lock->wait_lock);
	wake_up_q(&wake_q);
}
