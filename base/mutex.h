/* SPDX-License-Identifier: GPL-2.0 */
/*
 * struct mutex: a sleeping lock with one owner.
 *
 * ->owner is the owning task, or 0, with MUTEX_FLAG_WAITERS in bit 0 while
 * someone sleeps on ->wait_list.  Uncontended lock and unlock are one
 * compare-and-exchange each (no syscall, no wait_lock): a lock from 0 to
 * current, an unlock from current back to 0, which fails, sending the
 * unlocker to the slow path, exactly when the waiters flag is set.
 *
 * mutex_lock_interruptible() can be ended by task_raise_interrupt(): the
 * waiter sleeps in schedule() in TASK_INTERRUPTIBLE, and raising the
 * interrupt wakes such a sleeper, which sees signal_pending() and leaves the
 * queue with -EINTR (see current.h for why no wakeup is lost).
 */
#ifndef NOPIN_BASE_MUTEX_H
#define NOPIN_BASE_MUTEX_H

#include <stdbool.h>

#include "base/atomic.h"
#include "base/current.h"
#include "base/list.h"
#include "base/lockdep.h"
#include "base/preempt.h"
#include "base/spinlock.h"

#define MUTEX_FLAG_WAITERS 0x01UL
#define MUTEX_FLAGS 0x07UL

struct mutex {
	atomic_long_t owner;
	arch_spinlock_t wait_lock;
	struct list_head wait_list;
	struct lockdep_map dep_map;
};

#ifdef CONFIG_LOCKDEP
#define __MUTEX_DEP_MAP_INIT(lockname) , .dep_map = { .name = #lockname }
#else
#define __MUTEX_DEP_MAP_INIT(name)
#endif

/* A static mutex is its own class. */
#define __MUTEX_INITIALIZER(name)                                                                  \
	{                                                                                          \
		.owner = ATOMIC_INIT(0), .wait_lock = __ARCH_SPIN_LOCK_UNLOCKED,                   \
		.wait_list = LIST_HEAD_INIT((name).wait_list) __MUTEX_DEP_MAP_INIT(name)           \
	}
#define DEFINE_MUTEX(name) struct mutex name = __MUTEX_INITIALIZER(name)

void __mutex_init(struct mutex *lock, const char *name, struct lock_class_key *key);

/* One class per call site of mutex_init(). */
#define mutex_init(mutex)                                                                          \
	do {                                                                                       \
		static struct lock_class_key __key;                                                \
		__mutex_init((mutex), #mutex, &__key);                                             \
	} while (0)

int __mutex_lock_slowpath(struct mutex *lock, unsigned int state);
void __mutex_unlock_slowpath(struct mutex *lock);
bool __mutex_trylock(struct mutex *lock);

static __always_inline bool __mutex_trylock_fast(struct mutex *lock)
{
	long zero = 0;

	return __atomic_compare_exchange_n(&lock->owner.counter, &zero, (long)current, false,
					   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static __always_inline bool __mutex_unlock_fast(struct mutex *lock)
{
	long curr = (long)current;

	return __atomic_compare_exchange_n(&lock->owner.counter, &curr, 0, false, __ATOMIC_RELEASE,
					   __ATOMIC_RELAXED);
}

static __always_inline int _mutex_lock_state(struct mutex *lock, unsigned int state,
					     unsigned int subclass, struct lockdep_map *nest,
					     const struct lock_site *site)
{
	int ret = 0;

	__might_sleep(site);
	mutex_acquire_nest(&lock->dep_map, subclass, 0, nest, site);
	if (likely(__mutex_trylock_fast(lock)))
		return 0;
	ret = __mutex_lock_slowpath(lock, state);
	if (ret)
		mutex_release(&lock->dep_map, site);
	return ret;
}

static __always_inline bool _mutex_trylock(struct mutex *lock, const struct lock_site *site)
{
	if (!__mutex_trylock(lock))
		return false;
	mutex_acquire(&lock->dep_map, 0, 1, site);
	return true;
}

static __always_inline void _mutex_unlock(struct mutex *lock, const struct lock_site *site)
{
	mutex_release(&lock->dep_map, site);
	if (likely(__mutex_unlock_fast(lock)))
		return;
	__mutex_unlock_slowpath(lock);
}

#define mutex_lock(lock) ((void)_mutex_lock_state(lock, TASK_UNINTERRUPTIBLE, 0, NULL, _THIS_SITE))
#define mutex_lock_nested(lock, subclass)                                                          \
	((void)_mutex_lock_state(lock, TASK_UNINTERRUPTIBLE, subclass, NULL, _THIS_SITE))
#define mutex_lock_nest_lock(lock, nest_lock)                                                      \
	((void)_mutex_lock_state(lock, TASK_UNINTERRUPTIBLE, 0, &(nest_lock)->dep_map, _THIS_SITE))
/* 0, or -EINTR if an interrupt was raised on the caller before it got the lock. */
#define mutex_lock_interruptible(lock)                                                             \
	_mutex_lock_state(lock, TASK_INTERRUPTIBLE, 0, NULL, _THIS_SITE)
#define mutex_lock_killable(lock) _mutex_lock_state(lock, TASK_KILLABLE, 0, NULL, _THIS_SITE)
/* 1 if it took the lock, 0 if not, as the kernel's. */
#define mutex_trylock(lock) _mutex_trylock(lock, _THIS_SITE)
#define mutex_unlock(lock) _mutex_unlock(lock, _THIS_SITE)

static inline struct task_struct *__mutex_owner(struct mutex *lock)
{
	return (struct task_struct *)(atomic_long_read(&lock->owner) & ~MUTEX_FLAGS);
}

static inline bool mutex_is_locked(struct mutex *lock)
{
	return __mutex_owner(lock) != NULL;
}

#endif
