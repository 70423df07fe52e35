/* SPDX-License-Identifier: GPL-2.0 */
/*
 * struct rw_semaphore: a sleeping reader/writer lock, fair to writers.
 *
 * ->count holds RWSEM_WRITER_LOCKED, RWSEM_FLAG_WAITERS and, from bit 8
 * up, the number of readers.  The fast paths are one compare-and-exchange
 * and refuse whenever the waiters flag is set: once anyone queues, every
 * newcomer queues behind it, so a waiting writer holds off new readers.
 *
 * Queued waiters do not compete: whoever finds the lock free with waiters
 * queued (an unlocker, or a waiter that just queued) grants it, under
 * ->wait_lock, to the head of the queue -- one writer, or the run of
 * readers up to the next writer -- and wakes them.  A waiter therefore only
 * sleeps until it is told it owns the lock.
 */
#ifndef NOPIN_BASE_RWSEM_H
#define NOPIN_BASE_RWSEM_H

#include <stdbool.h>

#include "base/atomic.h"
#include "base/current.h"
#include "base/list.h"
#include "base/lockdep.h"
#include "base/preempt.h"
#include "base/spinlock.h"

#define RWSEM_WRITER_LOCKED 0x01L
#define RWSEM_FLAG_WAITERS 0x02L
#define RWSEM_READER_SHIFT 8
#define RWSEM_READER_BIAS (1L << RWSEM_READER_SHIFT)
#define RWSEM_READER_MASK (~(RWSEM_READER_BIAS - 1))
#define RWSEM_LOCK_MASK (RWSEM_WRITER_LOCKED | RWSEM_READER_MASK)

struct rw_semaphore {
	atomic_long_t count;
	arch_spinlock_t wait_lock;
	struct list_head wait_list;
	struct lockdep_map dep_map;
};

#ifdef CONFIG_LOCKDEP
#define __RWSEM_DEP_MAP_INIT(lockname) , .dep_map = { .name = #lockname }
#else
#define __RWSEM_DEP_MAP_INIT(name)
#endif

/* A static rwsem is its own class. */
#define __RWSEM_INITIALIZER(name)                                                                  \
	{                                                                                          \
		.count = ATOMIC_INIT(0), .wait_lock = __ARCH_SPIN_LOCK_UNLOCKED,                   \
		.wait_list = LIST_HEAD_INIT((name).wait_list) __RWSEM_DEP_MAP_INIT(name)           \
	}
#define DECLARE_RWSEM(name) struct rw_semaphore name = __RWSEM_INITIALIZER(name)

void __init_rwsem(struct rw_semaphore *sem, const char *name, struct lock_class_key *key);

/* One class per call site of init_rwsem(); __init_rwsem() names the class. */
#define init_rwsem(sem)                                                                            \
	do {                                                                                       \
		static struct lock_class_key __key;                                                \
		__init_rwsem((sem), #sem, &__key);                                                 \
	} while (0)

enum rwsem_waiter_type { RWSEM_WAITING_FOR_WRITE, RWSEM_WAITING_FOR_READ };

int rwsem_down_slowpath(struct rw_semaphore *sem, enum rwsem_waiter_type type, unsigned int state);
void rwsem_wake(struct rw_semaphore *sem);

static __always_inline bool __down_read_trylock(struct rw_semaphore *sem)
{
	long c = atomic_long_read(&sem->count);

	while (!(c & (RWSEM_WRITER_LOCKED | RWSEM_FLAG_WAITERS)))
		if (__atomic_compare_exchange_n(&sem->count.counter, &c, c + RWSEM_READER_BIAS,
						true, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			return true;
	return false;
}

static __always_inline bool __down_write_trylock(struct rw_semaphore *sem)
{
	long c = 0;

	return __atomic_compare_exchange_n(&sem->count.counter, &c, RWSEM_WRITER_LOCKED, false,
					   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static __always_inline int _down_read(struct rw_semaphore *sem, unsigned int subclass,
				      unsigned int state, const struct lock_site *site)
{
	int ret = 0;

	__might_sleep(site);
	rwsem_acquire_read(&sem->dep_map, subclass, 0, site);
	if (likely(__down_read_trylock(sem)))
		return 0;
	ret = rwsem_down_slowpath(sem, RWSEM_WAITING_FOR_READ, state);
	if (ret)
		rwsem_release(&sem->dep_map, site);
	return ret;
}

static __always_inline int _down_write(struct rw_semaphore *sem, unsigned int subclass,
				       struct lockdep_map *nest, unsigned int state,
				       const struct lock_site *site)
{
	int ret = 0;

	__might_sleep(site);
	rwsem_acquire_nest(&sem->dep_map, subclass, 0, nest, site);
	if (likely(__down_write_trylock(sem)))
		return 0;
	ret = rwsem_down_slowpath(sem, RWSEM_WAITING_FOR_WRITE, state);
	if (ret)
		rwsem_release(&sem->dep_map, site);
	return ret;
}

static __always_inline bool _down_read_trylock(struct rw_semaphore *sem,
					       const struct lock_site *site)
{
	if (!__down_read_trylock(sem))
		return false;
	rwsem_acquire_read(&sem->dep_map, 0, 1, site);
	return true;
}

static __always_inline bool _down_write_trylock(struct rw_semaphore *sem,
						const struct lock_site *site)
{
	if (!__down_write_trylock(sem))
		return false;
	rwsem_acquire(&sem->dep_map, 0, 1, site);
	return true;
}

static __always_inline void _up_read(struct rw_semaphore *sem, const struct lock_site *site)
{
	long c;

	rwsem_release(&sem->dep_map, site);
	c = __atomic_sub_fetch(&sem->count.counter, RWSEM_READER_BIAS, __ATOMIC_RELEASE);
	/* The last reader out hands the lock to whoever queued. */
	if (unlikely((c & (RWSEM_LOCK_MASK | RWSEM_FLAG_WAITERS)) == RWSEM_FLAG_WAITERS))
		rwsem_wake(sem);
}

static __always_inline void _up_write(struct rw_semaphore *sem, const struct lock_site *site)
{
	long c = RWSEM_WRITER_LOCKED;

	rwsem_release(&sem->dep_map, site);
	if (likely(__atomic_compare_exchange_n(&sem->count.counter, &c, 0, false, __ATOMIC_RELEASE,
					       __ATOMIC_RELAXED)))
		return;
	__atomic_fetch_and(&sem->count.counter, ~RWSEM_WRITER_LOCKED, __ATOMIC_RELEASE);
	rwsem_wake(sem);
}

void _downgrade_write(struct rw_semaphore *sem, const struct lock_site *site);

#define down_read(sem) ((void)_down_read(sem, 0, TASK_UNINTERRUPTIBLE, _THIS_SITE))
#define down_read_nested(sem, subclass)                                                            \
	((void)_down_read(sem, subclass, TASK_UNINTERRUPTIBLE, _THIS_SITE))
/* 0, or -EINTR if an interrupt was raised on the caller before it got the lock. */
#define down_read_interruptible(sem) _down_read(sem, 0, TASK_INTERRUPTIBLE, _THIS_SITE)
#define down_read_killable(sem) _down_read(sem, 0, TASK_KILLABLE, _THIS_SITE)
/* 1 if it took the lock, 0 if not, as the kernel's. */
#define down_read_trylock(sem) _down_read_trylock(sem, _THIS_SITE)
#define up_read(sem) _up_read(sem, _THIS_SITE)

#define down_write(sem) ((void)_down_write(sem, 0, NULL, TASK_UNINTERRUPTIBLE, _THIS_SITE))
#define down_write_nested(sem, subclass)                                                           \
	((void)_down_write(sem, subclass, NULL, TASK_UNINTERRUPTIBLE, _THIS_SITE))
/*
 * Many rwsems of one class, all under the held @nest_lock (any lock with a
 * ->dep_map): they share one held-lock entry (mm_take_all_locks()).
 */
#define down_write_nest_lock(sem, nest_lock)                                                       \
	((void)_down_write(sem, 0, &(nest_lock)->dep_map, TASK_UNINTERRUPTIBLE, _THIS_SITE))
#define down_write_killable(sem) _down_write(sem, 0, NULL, TASK_KILLABLE, _THIS_SITE)
#define down_write_trylock(sem) _down_write_trylock(sem, _THIS_SITE)
#define up_write(sem) _up_write(sem, _THIS_SITE)
/* Become a reader without letting a writer in between. */
#define downgrade_write(sem) _downgrade_write(sem, _THIS_SITE)

static inline bool rwsem_is_locked(struct rw_semaphore *sem)
{
	return atomic_long_read(&sem->count) & RWSEM_LOCK_MASK;
}

/* Someone waits: a long holder should consider dropping it. */
static inline bool rwsem_is_contended(struct rw_semaphore *sem)
{
	return atomic_long_read(&sem->count) & RWSEM_FLAG_WAITERS;
}

#endif
