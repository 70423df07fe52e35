/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rwlock_t: a spinning reader/writer lock, queued like the kernel's qrwlock.
 * Like a spinlock it opens an atomic section, for readers and writers alike.
 *
 * ->cnts holds _QW_LOCKED, _QW_WAITING and, from bit 8 up, the readers.  The
 * fast paths are one compare-and-exchange: a writer takes a lock that is
 * entirely free, a reader one with no writer bit.  Everyone else queues, in
 * ticket order (->next_ticket, ->owner_ticket: the kernel's wait_lock), and
 * only the head of the queue competes for the lock:
 *
 *  - a writer at the head raises _QW_WAITING, which keeps new readers and
 *    fast-path writers out, waits for the readers to drain and then turns
 *    WAITING into LOCKED;
 *  - a reader at the head waits for the writer to leave.
 *
 * The queue is what makes the lock fair among writers.  Without it a writer
 * that drops the lock and takes it again at once (the aging loop over a
 * whole memslot does) wins every time against a writer that was spinning
 * for it on a busy CPU, and an mmap_lock holder waiting in
 * invalidate_range_start() for mmu_lock starves everybody behind it.
 *
 * Readers are not recursive: with a writer queued, a reader that takes a
 * read lock it already holds deadlocks, and lockdep reports it as recursive
 * locking (the kernel's rwlock allows it only in interrupt context).
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
	unsigned int next_ticket, owner_ticket; /* the queue of slow-path lockers */
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
	lock->next_ticket = lock->owner_ticket = 0;
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

static __always_inline bool arch_write_trylock(rwlock_t *lock)
{
	int c = 0;

	return __atomic_compare_exchange_n(&lock->cnts, &c, _QW_LOCKED, false, __ATOMIC_ACQUIRE,
					   __ATOMIC_RELAXED);
}

/* Wait for our turn at the head of the slow-path queue. */
static __always_inline unsigned int rwlock_queue_enter(rwlock_t *lock)
{
	unsigned int ticket = __atomic_fetch_add(&lock->next_ticket, 1, __ATOMIC_RELAXED);
	unsigned int spins = 0;

	while (__atomic_load_n(&lock->owner_ticket, __ATOMIC_ACQUIRE) != ticket)
		cpu_spin_wait(&spins);
	return ticket;
}

static __always_inline void rwlock_queue_leave(rwlock_t *lock, unsigned int ticket)
{
	__atomic_store_n(&lock->owner_ticket, ticket + 1, __ATOMIC_RELEASE);
}

static __always_inline void arch_read_lock(rwlock_t *lock)
{
	unsigned int spins = 0, ticket;

	if (likely(arch_read_trylock(lock)))
		return;
	ticket = rwlock_queue_enter(lock);
	/* At the head no writer waits: only a holder's LOCKED can be set. */
	while (!arch_read_trylock(lock))
		cpu_spin_wait(&spins);
	rwlock_queue_leave(lock, ticket);
}

static __always_inline void arch_write_lock(rwlock_t *lock)
{
	unsigned int spins = 0, ticket;
	int c;

	if (likely(arch_write_trylock(lock)))
		return;
	ticket = rwlock_queue_enter(lock);
	__atomic_fetch_or(&lock->cnts, _QW_WAITING, __ATOMIC_RELAXED);
	for (;;) {
		c = _QW_WAITING;
		if (__atomic_compare_exchange_n(&lock->cnts, &c, _QW_LOCKED, false,
						__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			break;
		cpu_spin_wait(&spins);
	}
	rwlock_queue_leave(lock, ticket);
}

static __always_inline void arch_read_unlock(rwlock_t *lock)
{
	__atomic_fetch_sub(&lock->cnts, _QR_BIAS, __ATOMIC_RELEASE);
}

static __always_inline void arch_write_unlock(rwlock_t *lock)
{
	/* Keep the waiting mark of the writer at the head of the queue. */
	__atomic_fetch_and(&lock->cnts, ~_QW_LOCKED, __ATOMIC_RELEASE);
}

/* Someone waits in the slow path (KVM yields mmu_lock on this). */
static inline bool rwlock_is_contended(rwlock_t *lock)
{
	return __atomic_load_n(&lock->next_ticket, __ATOMIC_RELAXED) !=
	       __atomic_load_n(&lock->owner_ticket, __ATOMIC_RELAXED);
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
