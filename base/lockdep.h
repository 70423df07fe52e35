/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lockdep: the lock-order checker.
 *
 * Every lock embeds a struct lockdep_map naming its class (one per init call
 * site, see lockdep_types.h).  The lock primitives tell the checker about
 * each acquisition and release with the call site; the checker keeps, per
 * task, the stack of held locks and, globally, the graph of "B was taken
 * while A was held" between classes.  An acquisition that would close a
 * cycle in that graph is reported with the sites of both directions at the
 * moment the second order is first seen, whether or not the threads ever
 * actually deadlock.  Also reported: taking a second lock of a held class
 * without a nesting annotation, releasing a lock that is not held, and
 * failed lockdep_assert_*().
 *
 * Read acquisitions take part in the graph with the kernel's rules for
 * shared lockers: @read is 0 for an exclusive acquisition, 1 for a shared
 * one that can block behind a waiting writer (rwsem, rwlock readers) and 2
 * for a recursive shared one that never does (an SRCU read section).  Two
 * orders only make a deadlock if the cycle is "strong" (no lock in it is
 * both entered recursively-shared and held shared), so nested SRCU readers
 * or rr->mutex->rr orders are not reported, while synchronize_srcu() under
 * a lock its readers take is.
 *
 * A successful trylock is held (asserts see it) but records no order, since
 * it could not have waited; locks taken under it are ordered after it.
 * Locks of one class taken with a nest lock held (down_write_nest_lock())
 * share one held-lock entry with a count, so mm_take_all_locks() can hold
 * thousands.  One inversion is reported once (its order then stays out of
 * the graph), and a thread that ends, or calls task_unregister(), holding
 * a lock is reported.
 *
 * Without CONFIG_LOCKDEP all of this compiles to nothing.
 */
#ifndef NOPIN_BASE_LOCKDEP_H
#define NOPIN_BASE_LOCKDEP_H

#include <stdbool.h>

#include "base/compiler.h"
#include "base/lockdep_types.h"

struct task_struct;

/* The subclass of the one inner lock of a held class (mm_struct in fork). */
#define SINGLE_DEPTH_NESTING 1

#ifdef CONFIG_LOCKDEP

void lockdep_init_map(struct lockdep_map *map, const char *name, struct lock_class_key *key,
		      unsigned int subclass);
void lock_acquire(struct lockdep_map *map, unsigned int subclass, int trylock, int read,
		  struct lockdep_map *nest_lock, const struct lock_site *site);
void lock_release(struct lockdep_map *map, const struct lock_site *site);
/* The held exclusive @map becomes shared (downgrade_write()). */
void lock_downgrade(struct lockdep_map *map, const struct lock_site *site);
/* An acquisition that is released at once: records the order, holds nothing. */
void lock_sync(struct lockdep_map *map, unsigned int subclass, int read,
	       const struct lock_site *site);
/* @read: -1 any, 0 exclusive, 1 shared (either kind). */
bool lock_is_held_type(const struct lockdep_map *map, int read);

void lockdep_assert_held_failed(const struct lockdep_map *map, int read,
				const struct lock_site *site);
void __lockdep_assert_none_held(const struct lock_site *site);
void __lockdep_assert_not_held(const struct lockdep_map *map, const struct lock_site *site);

/* Print the locks @tsk holds into the current report (its owner thread only). */
void lockdep_print_held_locks(struct task_struct *tsk);
/* How many held-lock entries the calling thread has (nest-locked ones count once). */
unsigned int lockdep_depth(void);

#define lockdep_set_class_and_name(lock, key, name) lockdep_init_map(&(lock)->dep_map, name, key, 0)
#define lockdep_set_class(lock, key) lockdep_set_class_and_name(lock, key, #key)

#define lockdep_is_held(lock) lock_is_held_type(&(lock)->dep_map, -1)

#define __lockdep_assert_held(lock, r)                                                             \
	do {                                                                                       \
		if (unlikely(!lock_is_held_type(&(lock)->dep_map, (r))))                           \
			lockdep_assert_held_failed(&(lock)->dep_map, (r), _THIS_SITE);             \
	} while (0)
#define lockdep_assert_held(lock) __lockdep_assert_held(lock, -1)
#define lockdep_assert_held_write(lock) __lockdep_assert_held(lock, 0)
#define lockdep_assert_held_read(lock) __lockdep_assert_held(lock, 1)
#define lockdep_assert_not_held(lock) __lockdep_assert_not_held(&(lock)->dep_map, _THIS_SITE)
#define lockdep_assert_none_held() __lockdep_assert_none_held(_THIS_SITE)

/* The per-lock-type annotations the primitives use. */
#define spin_acquire(m, s, t, site) lock_acquire(m, s, t, 0, NULL, site)
#define spin_acquire_nest(m, s, t, n, site) lock_acquire(m, s, t, 0, n, site)
#define spin_release(m, site) lock_release(m, site)
#define rwlock_acquire(m, s, t, site) lock_acquire(m, s, t, 0, NULL, site)
#define rwlock_acquire_read(m, s, t, site) lock_acquire(m, s, t, 1, NULL, site)
#define rwlock_release(m, site) lock_release(m, site)
#define mutex_acquire(m, s, t, site) lock_acquire(m, s, t, 0, NULL, site)
#define mutex_acquire_nest(m, s, t, n, site) lock_acquire(m, s, t, 0, n, site)
#define mutex_release(m, site) lock_release(m, site)
#define rwsem_acquire(m, s, t, site) lock_acquire(m, s, t, 0, NULL, site)
#define rwsem_acquire_nest(m, s, t, n, site) lock_acquire(m, s, t, 0, n, site)
#define rwsem_acquire_read(m, s, t, site) lock_acquire(m, s, t, 1, NULL, site)
#define rwsem_release(m, site) lock_release(m, site)

/*
 * Pseudo-locks: a lockdep_map that is not a lock, held across a region so
 * the checker sees orders against it (SRCU read sections, the
 * invalidate_range_start map of the mmu_notifier).
 */
#define lock_map_acquire(m) lock_acquire(m, 0, 0, 0, NULL, _THIS_SITE)
#define lock_map_acquire_read(m) lock_acquire(m, 0, 0, 2, NULL, _THIS_SITE)
#define lock_map_acquire_tryread(m) lock_acquire(m, 0, 1, 2, NULL, _THIS_SITE)
#define lock_map_release(m) lock_release(m, _THIS_SITE)
/* "Wait for every holder": the order of a synchronize against read sections. */
#define lock_map_sync(m) lock_sync(m, 0, 1, _THIS_SITE)

/* Record the order of taking @lock here without taking it. */
#define might_lock(lock)                                                                           \
	do {                                                                                       \
		lock_acquire(&(lock)->dep_map, 0, 0, 0, NULL, _THIS_SITE);                         \
		lock_release(&(lock)->dep_map, _THIS_SITE);                                        \
	} while (0)
#define might_lock_read(lock)                                                                      \
	do {                                                                                       \
		lock_acquire(&(lock)->dep_map, 0, 0, 1, NULL, _THIS_SITE);                         \
		lock_release(&(lock)->dep_map, _THIS_SITE);                                        \
	} while (0)

#else /* !CONFIG_LOCKDEP */

static inline void lockdep_init_map(struct lockdep_map *map, const char *name,
				    struct lock_class_key *key, unsigned int subclass)
{
}
static inline void lockdep_print_held_locks(struct task_struct *tsk)
{
}
static inline unsigned int lockdep_depth(void)
{
	return 0;
}

#define lock_acquire(m, s, t, r, n, site) ((void)0)
#define lock_release(m, site) ((void)0)
#define lock_downgrade(m, site) ((void)0)
#define lock_sync(m, s, r, site) ((void)0)

#define lockdep_set_class_and_name(lock, key, name) ((void)(lock))
#define lockdep_set_class(lock, key) ((void)(lock))
#define lockdep_is_held(lock) ((void)(lock), 1)
#define lockdep_assert_held(lock) ((void)(lock))
#define lockdep_assert_held_write(lock) ((void)(lock))
#define lockdep_assert_held_read(lock) ((void)(lock))
#define lockdep_assert_not_held(lock) ((void)(lock))
#define lockdep_assert_none_held() ((void)0)

#define spin_acquire(m, s, t, site) ((void)0)
#define spin_acquire_nest(m, s, t, n, site) ((void)0)
#define spin_release(m, site) ((void)0)
#define rwlock_acquire(m, s, t, site) ((void)0)
#define rwlock_acquire_read(m, s, t, site) ((void)0)
#define rwlock_release(m, site) ((void)0)
#define mutex_acquire(m, s, t, site) ((void)0)
#define mutex_acquire_nest(m, s, t, n, site) ((void)0)
#define mutex_release(m, site) ((void)0)
#define rwsem_acquire(m, s, t, site) ((void)0)
#define rwsem_acquire_nest(m, s, t, n, site) ((void)0)
#define rwsem_acquire_read(m, s, t, site) ((void)0)
#define rwsem_release(m, site) ((void)0)

#define lock_map_acquire(m) ((void)(m))
#define lock_map_acquire_read(m) ((void)(m))
#define lock_map_acquire_tryread(m) ((void)(m))
#define lock_map_release(m) ((void)(m))
#define lock_map_sync(m) ((void)(m))
#define might_lock(lock) ((void)(lock))
#define might_lock_read(lock) ((void)(lock))

#endif /* CONFIG_LOCKDEP */

#endif
