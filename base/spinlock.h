/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Spinlocks.
 *
 * arch_spinlock_t is the raw word: test-and-test-and-set with a pause in the
 * spin, no checking, no atomic section.  The sleeping primitives use it for
 * their wait lists, and the checker's own tables never need it.
 *
 * spinlock_t is the lock the model's code takes: it opens an atomic section
 * (so might_sleep() inside it reports) and tells lockdep.  The checker hears
 * of the acquisition before the spin, so an order inversion is reported
 * even on the run where it really deadlocks.
 */
#ifndef NOPIN_BASE_SPINLOCK_H
#define NOPIN_BASE_SPINLOCK_H

#include <sched.h>
#include <stdbool.h>

#include "base/compiler.h"
#include "base/lockdep.h"
#include "base/preempt.h"

typedef struct {
	int locked;
} arch_spinlock_t;

#define __ARCH_SPIN_LOCK_UNLOCKED                                                                  \
	{                                                                                          \
		0                                                                                  \
	}

static __always_inline void cpu_relax(void)
{
	__builtin_ia32_pause();
}

static __always_inline bool arch_spin_trylock(arch_spinlock_t *lock)
{
	return !__atomic_load_n(&lock->locked, __ATOMIC_RELAXED) &&
	       !__atomic_exchange_n(&lock->locked, 1, __ATOMIC_ACQUIRE);
}

/*
 * A kernel spinlock holder cannot be preempted; a thread here can, and
 * spinning through the holder's whole time slice on a busy machine costs
 * milliseconds per acquisition.  So, after a short spin, give the CPU away.
 */
#define SPIN_YIELD_AFTER 128

static __always_inline void cpu_spin_wait(unsigned int *spins)
{
	if (++*spins < SPIN_YIELD_AFTER) {
		cpu_relax();
	} else {
		*spins = 0;
		sched_yield();
	}
}

static __always_inline void arch_spin_lock(arch_spinlock_t *lock)
{
	unsigned int spins = 0;

	while (unlikely(!arch_spin_trylock(lock))) {
		/* Spin on a shared line, not on the exchange that steals it. */
		while (__atomic_load_n(&lock->locked, __ATOMIC_RELAXED))
			cpu_spin_wait(&spins);
	}
}

static __always_inline void arch_spin_unlock(arch_spinlock_t *lock)
{
	__atomic_store_n(&lock->locked, 0, __ATOMIC_RELEASE);
}

static __always_inline bool arch_spin_is_locked(arch_spinlock_t *lock)
{
	return __atomic_load_n(&lock->locked, __ATOMIC_RELAXED);
}

typedef struct spinlock {
	arch_spinlock_t raw_lock;
	struct lockdep_map dep_map;
} spinlock_t;

#ifdef CONFIG_LOCKDEP
#define __SPIN_DEP_MAP_INIT(lockname) , .dep_map = { .name = #lockname }
#else
#define __SPIN_DEP_MAP_INIT(lockname)
#endif

/* A static spinlock is its own class; a plain initializer so it may be static. */
#define __SPIN_LOCK_INITIALIZER(lockname)                                                          \
	{                                                                                          \
		.raw_lock = __ARCH_SPIN_LOCK_UNLOCKED __SPIN_DEP_MAP_INIT(lockname)                \
	}
#define __SPIN_LOCK_UNLOCKED(lockname) ((spinlock_t)__SPIN_LOCK_INITIALIZER(lockname))
#define DEFINE_SPINLOCK(x) spinlock_t x = __SPIN_LOCK_INITIALIZER(x)

static inline void __spin_lock_init(spinlock_t *lock, const char *name, struct lock_class_key *key)
{
	lock->raw_lock = (arch_spinlock_t)__ARCH_SPIN_LOCK_UNLOCKED;
	lockdep_init_map(&lock->dep_map, name, key, 0);
}

/* One class per call site of spin_lock_init(). */
#define spin_lock_init(lock)                                                                       \
	do {                                                                                       \
		static struct lock_class_key __key;                                                \
		__spin_lock_init((lock), #lock, &__key);                                           \
	} while (0)

static __always_inline void _spin_lock_nest(spinlock_t *lock, unsigned int subclass,
					    struct lockdep_map *nest_lock,
					    const struct lock_site *site)
{
	__preempt_disable(site);
	spin_acquire_nest(&lock->dep_map, subclass, 0, nest_lock, site);
	arch_spin_lock(&lock->raw_lock);
}

static __always_inline bool _spin_trylock(spinlock_t *lock, const struct lock_site *site)
{
	__preempt_disable(site);
	if (arch_spin_trylock(&lock->raw_lock)) {
		spin_acquire(&lock->dep_map, 0, 1, site);
		return true;
	}
	__preempt_enable(site);
	return false;
}

static __always_inline void _spin_unlock(spinlock_t *lock, const struct lock_site *site)
{
	spin_release(&lock->dep_map, site);
	arch_spin_unlock(&lock->raw_lock);
	__preempt_enable(site);
}

#define spin_lock(lock) _spin_lock_nest(lock, 0, NULL, _THIS_SITE)
/* A second lock of a held class, ordered by the caller (e.g. by address). */
#define spin_lock_nested(lock, subclass) _spin_lock_nest(lock, subclass, NULL, _THIS_SITE)
/* Many locks of one class, all taken under the held @nest_lock. */
#define spin_lock_nest_lock(lock, nest_lock)                                                       \
	_spin_lock_nest(lock, 0, &(nest_lock)->dep_map, _THIS_SITE)
#define spin_trylock(lock) _spin_trylock(lock, _THIS_SITE)
#define spin_unlock(lock) _spin_unlock(lock, _THIS_SITE)

static inline bool spin_is_locked(spinlock_t *lock)
{
	return arch_spin_is_locked(&lock->raw_lock);
}

#define assert_spin_locked(lock) lockdep_assert_held(lock)

#endif
