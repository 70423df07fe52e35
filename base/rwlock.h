/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rwlock_t: a spinning reader/writer lock.  Like a spinlock it opens an
 * atomic section, for readers and writers alike.
 *
 * ->cnts holds _QW_LOCKED, _QW_WAITING and, from bit 8 up, the readers.  A
 * spinning writer raises _QW_WAITING, which keeps new readers out, and
 * takes the lock once the readers drained: writers are not starved.  So,
 * unlike the kernel's rwlock in interrupt context, a reader must not take
 * a read lock it already holds: with a writer waiting that deadlocks, and
 * lockdep reports it as recursive locking.
 */
#ifndef NOPIN_BASE_RWLOCK_H
#define NOPIN_BASE_RWLOCK_H

#include <stdbool.h>

#include "base/compiler.h"
#include "base/lockdep.h"
#include "base/preempt.h"
#include "base/spinlock.h"

#define _QW_LOCKED 0x01
#define _QW_WAITING 0x02
#define _QW_WMASK (_QW_LOCKED | _QW_WAITING)
#define _QR_BIAS 0x100

typedef struct {
	int cnts;
	struct lockdep_map dep_map;
} rwlock_t;

#ifdef CONFIG_LOCKDEP
#define __RWLOCK_DEP_MAP_INIT(lockname) , .dep_map = { .name = #lockname }
#else
#define __RWLOCK_DEP_MAP_INIT(name)
#endif

/* A static rwlock is its own class. */
#define __RW_LOCK_UNLOCKED(name)                                                                   \
	(rwlock_t)                                                                                 \
	{                                                                                          \
		.cnts = 0 __RWLOCK_DEP_MAP_INIT(name)                                              \
	}
#define DEFINE_RWLOCK(x) rwlock_t x = __RW_LOCK_UNLOCKED(x)

static inline void __rwlock_init(rwlock_t *lock, const char *name, struct lock_class_key *key)
{
	lock->cnts = 0;
	lockdep_init_map(&lock->dep_map, name, key, 0);
}

/* One class per call site of rwlock_init(). */
#define rwlock_init(lock)                                                                          \
	do {                                                                                       \
		static struct lock_class_key __key;                                                \
		__rwlock_init((lock), #lock, &__key);                                              \
	} while (0)

static __always_inline bool arch_read_trylock(rwlock_t *lock)
{
	int c = __atomic_load_n(&lock->cnts, __ATOMIC_RELAXED);

	while (!(c & _QW_WMASK))
		if (__atomic_compare_exchange_n(&lock->cnts, &c, c + _QR_BIAS, true,
						__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			return true;
	return false;
}

static __always_inline void arch_read_lock(rwlock_t *lock)
{
	unsigned int spins = 0;

	while (unlikely(!arch_read_trylock(lock)))
		cpu_spin_wait(&spins);
}

static __always_inline bool arch_write_trylock(rwlock_t *lock)
{
	int c = __atomic_load_n(&lock->cnts, __ATOMIC_RELAXED);

	/* Free, or free but for some writer's "waiting" mark, which we may take over. */
	return (c == 0 || c == _QW_WAITING) &&
	       __atomic_compare_exchange_n(&lock->cnts, &c, _QW_LOCKED, false, __ATOMIC_ACQUIRE,
					   __ATOMIC_RELAXED);
}

static __always_inline void arch_write_lock(rwlock_t *lock)
{
	unsigned int spins = 0;

	while (unlikely(!arch_write_trylock(lock))) {
		/* Keep new readers out while the present ones drain. */
		if (!(__atomic_load_n(&lock->cnts, __ATOMIC_RELAXED) & _QW_WAITING))
			__atomic_fetch_or(&lock->cnts, _QW_WAITING, __ATOMIC_RELAXED);
		cpu_spin_wait(&spins);
	}
}

static __always_inline void arch_read_unlock(rwlock_t *lock)
{
	__atomic_fetch_sub(&lock->cnts, _QR_BIAS, __ATOMIC_RELEASE);
}

static __always_inline void arch_write_unlock(rwlock_t *lock)
{
	/* Keep another writer's waiting mark. */
	__atomic_fetch_and(&lock->cnts, ~_QW_LOCKED, __ATOMIC_RELEASE);
}

static __always_inline void _read_lock(rwlock_t *lock, const struct lock_site *site)
{
	__preempt_disable(site);
	rwlock_acquire_read(&lock->dep_map, 0, 0, site);
	arch_read_lock(lock);
}

static __always_inline void _write_lock(rwlock_t *lock, const struct lock_site *site)
{
	__preempt_disable(site);
	rwlock_acquire(&lock->dep_map, 0, 0, site);
	arch_write_lock(lock);
}

static __always_inline bool _read_trylock(rwlock_t *lock, const struct lock_site *site)
{
	__preempt_disable(site);
	if (arch_read_trylock(lock)) {
		rwlock_acquire_read(&lock->dep_map, 0, 1, site);
		return true;
	}
	__preempt_enable(site);
	return false;
}

static __always_inline bool _write_trylock(rwlock_t *lock, const struct lock_site *site)
{
	__preempt_disable(site);
	if (arch_write_trylock(lock)) {
		rwlock_acquire(&lock->dep_map, 0, 1, site);
		return true;
	}
	__preempt_enable(site);
	return false;
}

static __always_inline void _read_unlock(rwlock_t *lock, const struct lock_site *site)
{
	rwlock_release(&lock->dep_map, site);
	arch_read_unlock(lock);
	__preempt_enable(site);
}

static __always_inline void _write_unlock(rwlock_t *lock, const struct lock_site *site)
{
	rwlock_release(&lock->dep_map, site);
	arch_write_unlock(lock);
	__preempt_enable(site);
}

#define read_lock(lock) _read_lock(lock, _THIS_SITE)
#define read_trylock(lock) _read_trylock(lock, _THIS_SITE)
#define read_unlock(lock) _read_unlock(lock, _THIS_SITE)
#define write_lock(lock) _write_lock(lock, _THIS_SITE)
#define write_trylock(lock) _write_trylock(lock, _THIS_SITE)
#define write_unlock(lock) _write_unlock(lock, _THIS_SITE)

#endif
