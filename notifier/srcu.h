/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Sleepable RCU: read sections that may block, grace periods per domain.
 *
 *	idx = srcu_read_lock(&ssp);		rcu_assign_pointer(gp, new);
 *	p = srcu_dereference(gp, &ssp);		synchronize_srcu(&ssp);
 *	... may sleep, take mutexes ...		free(old);
 *	srcu_read_unlock(&ssp, idx);
 *
 * A domain (struct srcu_struct) is independent of every other: a grace
 * period of one waits only for its own readers.  Read sections nest, may
 * block for as long as they like, and must end on the thread that began
 * them.  A grace period (synchronize_srcu()) waits for every read section
 * of the domain that began before it; call_srcu() runs a callback on the
 * domain's worker thread after one; srcu_barrier() waits for the callbacks
 * queued before it.
 *
 * The read side is a lookup of the caller's record in a thread-local cache,
 * a load of the domain's index and a load and store of a counter that only
 * the calling thread writes (acquire and release, which are plain moves on
 * x86-64), plus a compiler barrier: no atomic read-modify-write, no fence
 * and no call.  The updater pays instead, with
 * membarrier(); srcu.c has the argument for why that is enough.
 */
#ifndef NOPIN_NOTIFIER_SRCU_H
#define NOPIN_NOTIFIER_SRCU_H

#include <stdbool.h>

#include "base/bug.h"
#include "base/compiler.h"
#include "base/current.h"
#include "base/list.h"
#include "base/lockdep.h"
#include "base/mutex.h"
#include "base/sched_point.h"
#include "base/spinlock.h"
#include "base/wait.h"

struct kthread;

/* A callback queued by call_srcu(), embedded in the object it frees. */
struct rcu_head {
	struct rcu_head *next;
	void (*func)(struct rcu_head *head);
};

typedef void (*rcu_callback_t)(struct rcu_head *head);

/*
 * One thread's read-side state for one domain (the kernel's per-CPU
 * struct srcu_data, made per thread so that only one thread writes it).
 * Lock and unlock counts per index: a read section adds one to
 * srcu_lock_count[idx] on entry and to srcu_unlock_count[idx] on exit.
 */
struct srcu_reader {
	unsigned long srcu_lock_count[2];   /* written by the owner thread only */
	unsigned long srcu_unlock_count[2]; /* written by the owner thread only */
	unsigned long gen;		    /* the domain's srcu_gen */
	const char *ssp_name;		    /* the domain's name, for reports */
	struct list_head node;		    /* on ssp->srcu_readers, under srcu_readers_lock */
	struct srcu_reader *task_next;	    /* on the owner's list; the owner's only */
	atomic_t refs;			    /* one for the domain, one for the owner */
	bool owner_gone;		    /* the owner exited: its counts are final */
	bool domain_gone;		    /* cleanup_srcu_struct() dropped the record */
} __cacheline_aligned;

struct srcu_struct {
	/* What every reader reads, on one line that grace periods rarely write. */
	unsigned long srcu_gen; /* the domain's name in readers' caches; 0: not live */
	unsigned int srcu_idx;	/* bit 0 is the index new readers count on */
	bool srcu_reader_fence; /* readers fence themselves (no membarrier) */
	const char *name;
	struct lockdep_map dep_map; /* the read section, as a recursive-read pseudo-lock */

	/* Grace periods: serialised by srcu_gp_mutex. */
	struct mutex srcu_gp_mutex __cacheline_aligned;
	unsigned long srcu_gp_seq;    /* grace periods x 2; odd while one runs */
	spinlock_t srcu_readers_lock; /* protects srcu_readers against a scan */
	struct list_head srcu_readers;

	/* call_srcu(): callbacks wait here for the worker's next grace period. */
	spinlock_t srcu_cb_lock;
	struct rcu_head *srcu_cb_head;
	struct rcu_head **srcu_cb_tail;
	unsigned long srcu_cb_pending;	/* queued and not yet invoked, under srcu_cb_lock */
	bool srcu_cb_started;		/* the worker was started, under srcu_cb_lock */
	wait_queue_head_t srcu_cb_wq;	/* the worker sleeps here for work */
	struct kthread *srcu_cb_worker; /* started by the first call_srcu() */
};

int __init_srcu_struct(struct srcu_struct *ssp, const char *name, struct lock_class_key *key,
		       bool reader_fence);

/*
 * One lockdep class per call site, as the lock init macros.  Returns 0: the
 * kernel's may fail with -ENOMEM, this one allocates nothing up front.
 */
#define init_srcu_struct(ssp)                                                                      \
	({                                                                                         \
		static struct lock_class_key __srcu_key;                                           \
		__init_srcu_struct((ssp), #ssp, &__srcu_key, false);                               \
	})

/*
 * A domain whose readers fence for themselves (smp_mb() on entry and exit),
 * as every domain does when membarrier() is missing: for tests of that path
 * and for the benchmark's comparison.
 */
#define init_srcu_struct_fenced(ssp)                                                               \
	({                                                                                         \
		static struct lock_class_key __srcu_key;                                           \
		__init_srcu_struct((ssp), #ssp, &__srcu_key, true);                                \
	})

/* WARNs if a reader is still inside or a callback is still queued. */
void cleanup_srcu_struct(struct srcu_struct *ssp);

void synchronize_srcu(struct srcu_struct *ssp);
/* Polls without sleeping for longer before it backs off; otherwise synchronize_srcu(). */
void synchronize_srcu_expedited(struct srcu_struct *ssp);
void call_srcu(struct srcu_struct *ssp, struct rcu_head *head, rcu_callback_t func);
void srcu_barrier(struct srcu_struct *ssp);

/* Is the caller inside a read section of @ssp?  Exact in every build. */
bool srcu_read_lock_held(struct srcu_struct *ssp);

/* ---- the read side ------------------------------------------------------- */

/*
 * Each thread finds its record for a domain through a small direct-mapped
 * cache in thread-local storage, keyed by the domain's generation number,
 * which is never reused (an srcu_struct's address may be, after cleanup).
 * Tags and records are two arrays so that a lookup is one scaled-index load
 * of each.  Only domains whose readers rely on membarrier() are cached: a
 * cache hit is the whole fast path, and a fenced domain's sections take the
 * out-of-line path, whose smp_mb() costs more than the call to it.
 */
#define SRCU_CACHE_SLOTS 16
#define SRCU_GEN_EMPTY (~0UL) /* a cache slot that names no domain */

/*
 * Local-exec: nopin links only into executables (static libraries), so
 * the thread pointer plus a link-time constant reaches the arrays.
 */
#define __srcu_tls __thread __attribute__((tls_model("local-exec")))

extern __srcu_tls unsigned long srcu_cache_gen[SRCU_CACHE_SLOTS];
extern __srcu_tls struct srcu_reader *srcu_cache_reader[SRCU_CACHE_SLOTS];

int __srcu_read_lock_slow(struct srcu_struct *ssp);
void __srcu_read_unlock_slow(struct srcu_struct *ssp, int idx);
void __srcu_read_unlock_check(struct srcu_struct *ssp, int idx);

/* The caller's record if @ssp is a membarrier() domain it has in its cache. */
static __always_inline struct srcu_reader *srcu_cached_reader(struct srcu_struct *ssp)
{
	unsigned long gen = READ_ONCE(ssp->srcu_gen);
	unsigned int slot = gen % SRCU_CACHE_SLOTS;

	if (likely(srcu_cache_gen[slot] == gen))
		return srcu_cache_reader[slot];
	return NULL;
}

/*
 * The fast path: B and C below are compiler barriers, the reader's half of
 * the barrier pairs in srcu.c, which the updater's membarrier() turns into
 * full ones.  The slow path (srcu.c) does the same with smp_mb() for a
 * fenced domain.
 */
static __always_inline int __srcu_read_lock(struct srcu_struct *ssp, const struct lock_site *site)
{
	struct srcu_reader *r = srcu_cached_reader(ssp);
	int idx;

	if (unlikely(!r)) {
		idx = __srcu_read_lock_slow(ssp);
	} else {
		/* Acquire: a reader that sees a flip sees what the updater did before it. */
		idx = smp_load_acquire(&ssp->srcu_idx) & 1;
#ifdef CONFIG_LOCKDEP
		/* Debug builds let a test stall a reader here: a straggler (see srcu.c). */
		sched_point("srcu:read_lock_idx");
#endif
		WRITE_ONCE(r->srcu_lock_count[idx], r->srcu_lock_count[idx] + 1);
		barrier(); /* B: the count is up before the section reads */
	}
	lock_acquire(&ssp->dep_map, 0, 0, 2, NULL, site);
	return idx;
}

static __always_inline void __srcu_read_unlock(struct srcu_struct *ssp, int idx,
					       const struct lock_site *site)
{
	struct srcu_reader *r = srcu_cached_reader(ssp);

	lock_release(&ssp->dep_map, site);
#ifdef CONFIG_LOCKDEP
	__srcu_read_unlock_check(ssp, idx);
#endif
	if (unlikely(!r)) {
		__srcu_read_unlock_slow(ssp, idx);
		return;
	}
	barrier(); /* C: the section's accesses are done before the count */
	/* Release: a plain store on x86-64; tells TSan what C and the scan order. */
	smp_store_release(&r->srcu_unlock_count[idx], r->srcu_unlock_count[idx] + 1);
}

/* Enter a read section of @ssp; pass the index to srcu_read_unlock(). */
#define srcu_read_lock(ssp) __srcu_read_lock(ssp, _THIS_SITE)
#define srcu_read_unlock(ssp, idx) __srcu_read_unlock(ssp, idx, _THIS_SITE)

/* ---- publishing and reading pointers -------------------------------------- */

void __srcu_dereference_report(struct srcu_struct *ssp, const char *file, int line);

#ifdef CONFIG_LOCKDEP
#define __srcu_dereference_check(ssp, c)                                                           \
	do {                                                                                       \
		if (!(c) && !srcu_read_lock_held(ssp))                                             \
			__srcu_dereference_report(ssp, __FILE__, __LINE__);                        \
	} while (0)
#else
#define __srcu_dereference_check(ssp, c)                                                           \
	do {                                                                                       \
		(void)(ssp);                                                                       \
	} while (0)
#endif

/*
 * Load a pointer published with rcu_assign_pointer(), inside a read section
 * of @ssp or where @c (an updater's lock, say) keeps it from changing.  The
 * acquire load pairs with the publisher's release: the object's contents
 * are seen as they were when it was published.
 */
#define srcu_dereference_check(p, ssp, c)                                                          \
	({                                                                                         \
		__srcu_dereference_check(ssp, c);                                                  \
		smp_load_acquire(&(p));                                                            \
	})
#define srcu_dereference(p, ssp) srcu_dereference_check(p, ssp, 0)

/* The updater's own read, where @c (its lock held) keeps the pointer still. */
#ifdef CONFIG_LOCKDEP
#define rcu_dereference_protected(p, c)                                                            \
	({                                                                                         \
		WARN_ON_ONCE(!(c));                                                                \
		READ_ONCE(p);                                                                      \
	})
#else
#define rcu_dereference_protected(p, c) READ_ONCE(p)
#endif

/* Publish @v at @p: its contents are written before the pointer is. */
#define rcu_assign_pointer(p, v) smp_store_release(&(p), (v))

#endif
