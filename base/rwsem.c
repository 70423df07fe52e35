// SPDX-License-Identifier: GPL-2.0
/*
 * The rwsem slow paths: a FIFO of waiters, each granted the lock by
 * whoever finds it free (see rwsem.h).
 */
#include <errno.h>

#include "base/rwsem.h"

struct rwsem_waiter {
	struct list_head list;
	struct task_struct *task;
	enum rwsem_waiter_type type;
	bool granted; /* set, with release, by the granter; then we own the lock */
};

void __init_rwsem(struct rw_semaphore *sem, const char *name, struct lock_class_key *key)
{
	atomic_long_set(&sem->count, 0);
	sem->wait_lock = (arch_spinlock_t)__ARCH_SPIN_LOCK_UNLOCKED;
	INIT_LIST_HEAD(&sem->wait_list);
	lockdep_init_map(&sem->dep_map, name, key, 0);
}

/*
 * Tell @waiter it owns the lock.  Take the task reference first: once
 * ->granted is visible the waiter may return, unlock and exit.
 */
static void rwsem_grant_waiter(struct rwsem_waiter *waiter, struct wake_q_head *wake_q)
{
	struct task_struct *tsk = waiter->task;

	list_del(&waiter->list);
	wake_q_add(wake_q, tsk);
	smp_store_release(&waiter->granted, true);
}

/*
 * Under wait_lock: hand the lock to the head of the queue if it is free
 * for it -- one writer, or every reader up to the next writer.  While the
 * waiters flag is set no fast path can change the lock bits, so plain
 * atomic adds are enough here.
 */
static void rwsem_grant(struct rw_semaphore *sem, struct wake_q_head *wake_q)
{
	struct rwsem_waiter *waiter, *tmp;

	list_for_each_entry_safe(waiter, tmp, &sem->wait_list, list) {
		long c = atomic_long_read(&sem->count);

		if (waiter->type == RWSEM_WAITING_FOR_WRITE) {
			if (c & RWSEM_LOCK_MASK)
				break;
			__atomic_fetch_or(&sem->count.counter, RWSEM_WRITER_LOCKED,
					  __ATOMIC_ACQUIRE);
			rwsem_grant_waiter(waiter, wake_q);
			break;
		}
		if (c & RWSEM_WRITER_LOCKED)
			break;
		__atomic_fetch_add(&sem->count.counter, RWSEM_READER_BIAS, __ATOMIC_ACQUIRE);
		rwsem_grant_waiter(waiter, wake_q);
	}
	if (list_empty(&sem->wait_list))
		__atomic_fetch_and(&sem->count.counter, ~RWSEM_FLAG_WAITERS, __ATOMIC_RELAXED);
}

void rwsem_wake(struct rw_semaphore *sem)
{
	DEFINE_WAKE_Q(wake_q);

	arch_spin_lock(&sem->wait_lock);
	rwsem_grant(sem, &wake_q);
	arch_spin_unlock(&sem->wait_lock);
	wake_up_q(&wake_q);
}

/*
 * Leave the queue on an interrupt, unless the lock was granted meanwhile
 * (then we own it and return 0).  A writer leaving may unblock the readers
 * queued behind it, so grant again.
 */
static int rwsem_cancel_wait(struct rw_semaphore *sem, struct rwsem_waiter *waiter)
{
	DEFINE_WAKE_Q(wake_q);
	int ret = -EINTR;

	arch_spin_lock(&sem->wait_lock);
	if (smp_load_acquire(&waiter->granted)) {
		ret = 0;
	} else {
		list_del(&waiter->list);
		rwsem_grant(sem, &wake_q);
	}
	arch_spin_unlock(&sem->wait_lock);
	wake_up_q(&wake_q);
	return ret;
}

/*
 * Queue at the tail, raise the waiters flag (from now on every newcomer
 * queues), grant whatever is grantable -- the lock may have been released
 * between our failed fast path and the flag -- then sleep until granted.
 */
int rwsem_down_slowpath(struct rw_semaphore *sem, enum rwsem_waiter_type type, unsigned int state)
{
	struct rwsem_waiter waiter = { .task = current, .type = type };
	DEFINE_WAKE_Q(wake_q);
	int ret = 0;

	arch_spin_lock(&sem->wait_lock);
	list_add_tail(&waiter.list, &sem->wait_list);
	__atomic_fetch_or(&sem->count.counter, RWSEM_FLAG_WAITERS, __ATOMIC_SEQ_CST);
	rwsem_grant(sem, &wake_q);
	arch_spin_unlock(&sem->wait_lock);
	wake_up_q(&wake_q);

	for (;;) {
		set_current_state(state);
		if (smp_load_acquire(&waiter.granted))
			break;
		if (signal_pending_state(state, waiter.task)) {
			ret = rwsem_cancel_wait(sem, &waiter);
			break;
		}
		schedule();
	}
	__set_current_state(TASK_RUNNING);
	return ret;
}

void _downgrade_write(struct rw_semaphore *sem, const struct lock_site *site)
{
	long c;

	lock_downgrade(&sem->dep_map, site);
	c = __atomic_add_fetch(&sem->count.counter, RWSEM_READER_BIAS - RWSEM_WRITER_LOCKED,
			       __ATOMIC_RELEASE);
	/* Readers queued behind us may now come in with us. */
	if (c & RWSEM_FLAG_WAITERS)
		rwsem_wake(sem);
}
