/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The mmu_notifier interface, after the kernel's include/linux/mmu_notifier.h:
 * how a secondary MMU (mmu/, a mirror device) hears about every change to a
 * host address space, and the inline hooks mm/ calls at each such change.
 *
 * The rule the hooks serve (rule 1, invalidate before free; docs/design.md,
 * "The eight protocol rules"): a path that removes or weakens a PTE a
 * secondary MMU may have copied brackets the change with
 *
 *	struct mmu_notifier_range range;
 *
 *	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, mm, start, end);
 *	mmu_notifier_invalidate_range_start(&range);	may sleep: no spinlock held
 *	... clear PTEs, gather pages ...
 *	mmu_notifier_invalidate_range_end(&range);
 *	... free the gathered pages (tlb_finish_mmu) ...
 *
 * and frees no page of the range before start has returned.  exit_mmap()
 * calls mmu_notifier_release() first instead.  Each hook costs one load
 * when the mm has no subscriber (mm_has_notifiers()).
 *
 * Implemented by notifier/mmu_notifier.c, which walks the subscribers
 * under SRCU.  Two kinds of subscriber: a classic mmu_notifier (KVM) hears
 * every range of the mm through start/end; an mmu_interval_notifier (a
 * mirror device) covers one interval and hears only ranges overlapping it,
 * through one invalidate op and a collision-retry sequence (below).
 * Registration holds mmap_lock for write and mm_take_all_locks() (rule 4,
 * register under all locks), so no invalidation is half-way through when a
 * subscriber appears.
 *
 * mm/fork.c calls mmu_notifier_subscriptions_init() when it makes an mm
 * (mm_alloc) and mmu_notifier_subscriptions_destroy() when it frees one
 * (mmdrop).
 */
#ifndef NOPIN_MM_MMU_NOTIFIER_H
#define NOPIN_MM_MMU_NOTIFIER_H

#include <stdbool.h>

#include "base/compiler.h"
#include "base/list.h"
#include "base/lockdep.h"
#include "base/preempt.h"
#include "mm/mm_types.h"
#include "notifier/srcu.h" /* struct rcu_head */

struct mmu_notifier;
struct mmu_interval_notifier;
struct mmu_notifier_subscriptions;

/*
 * Why a range is being invalidated; a subscriber may treat some events more
 * cheaply (a secondary MMU that mirrors protections can ignore nothing, a
 * driver migrating its own pages skips MIGRATE ranges it owns).
 */
enum mmu_notifier_event {
	MMU_NOTIFY_UNMAP = 0,	    /* munmap, mremap: the VMA goes away */
	MMU_NOTIFY_CLEAR,	    /* zap within a VMA: MADV_DONTNEED, truncate, COW, reclaim */
	MMU_NOTIFY_PROTECTION_VMA,  /* mprotect: the whole range takes the VMA's protection */
	MMU_NOTIFY_PROTECTION_PAGE, /* per-page permission change (fork write-protect) */
	MMU_NOTIFY_SOFT_DIRTY,	    /* soft-dirty tracking write-protects */
	MMU_NOTIFY_RELEASE,	    /* the mm is going away (interval notifiers) */
	MMU_NOTIFY_MIGRATE,	    /* migration; @owner names who migrates */
	MMU_NOTIFY_EXCLUSIVE,	    /* device-exclusive entries */
};

/* The callbacks may sleep: the caller holds no spinlock. */
#define MMU_NOTIFIER_RANGE_BLOCKABLE (1 << 0)

struct mmu_notifier_range {
	struct mm_struct *mm;
	unsigned long start; /* first byte */
	unsigned long end;   /* first byte after */
	unsigned int flags;  /* MMU_NOTIFIER_RANGE_* */
	enum mmu_notifier_event event;
	void *owner; /* MMU_NOTIFY_MIGRATE: the migrating driver */
};

/*
 * What a subscriber implements; any op may be NULL.  The signatures are the
 * kernel's.
 */
struct mmu_notifier_ops {
	/*
	 * The mm is being torn down (exit_mmap), or the subscriber is being
	 * unregistered: drop every secondary mapping of it.  Called once per
	 * subscription from exit_mmap(), before any page is freed, and may
	 * sleep.  Racing mmu_notifier_unregister() may call it a second time.
	 */
	void (*release)(struct mmu_notifier *subscription, struct mm_struct *mm);

	/*
	 * Aging, for reclaim: clear the accessed state of [start, end) in the
	 * secondary MMU (and flush its TLB in the _flush variant); return
	 * nonzero if any of it was young.  test_young only reports.
	 */
	int (*clear_flush_young)(struct mmu_notifier *subscription, struct mm_struct *mm,
				 unsigned long start, unsigned long end);
	int (*clear_young)(struct mmu_notifier *subscription, struct mm_struct *mm,
			   unsigned long start, unsigned long end);
	int (*test_young)(struct mmu_notifier *subscription, struct mm_struct *mm,
			  unsigned long address);

	/*
	 * The host is about to change [range->start, range->end): tear down
	 * every secondary mapping of it, flush, and keep new ones from being
	 * made until the matching invalidate_range_end.  Returns 0, or
	 * -EAGAIN only when the range is not blockable and doing the work
	 * would sleep; a subscriber that can fail must have no
	 * invalidate_range_end.
	 */
	int (*invalidate_range_start)(struct mmu_notifier *subscription,
				      const struct mmu_notifier_range *range);
	void (*invalidate_range_end)(struct mmu_notifier *subscription,
				     const struct mmu_notifier_range *range);

	/*
	 * For mmu_notifier_get_locked()/mmu_notifier_put() only: make the
	 * subscriber's structure for @mm (ERR_PTR on failure), and free it
	 * once the last put's grace period has passed.  free_notifier runs on
	 * the SRCU callback thread, with no lock held.
	 */
	struct mmu_notifier *(*alloc_notifier)(struct mm_struct *mm);
	void (*free_notifier)(struct mmu_notifier *subscription);
};

/*
 * One subscriber on one mm, embedded in the subscriber's own structure
 * (struct kvm embeds one).  Registration holds a reference on the
 * mm_struct (mmgrab) until unregistration.
 */
struct mmu_notifier {
	struct hlist_node hlist;
	const struct mmu_notifier_ops *ops;
	struct mm_struct *mm;
	struct rcu_head rcu; /* mmu_notifier_put()'s deferred free */
	unsigned int users;  /* mmu_notifier_get_locked() references */
};

/*
 * An interval subscriber's one op.  Called for every range overlapping the
 * interval, at invalidate_range_start time (and with MMU_NOTIFY_RELEASE
 * over everything at exit_mmap).  Under its own lock, the subscriber calls
 * mmu_interval_set_seq(@interval_sub, @cur_seq) and tears down its
 * mappings of the range.  Returns true; false only if the range is not
 * blockable and the work would sleep (the host then backs out, -EAGAIN).
 */
struct mmu_interval_notifier_ops {
	bool (*invalidate)(struct mmu_interval_notifier *interval_sub,
			   const struct mmu_notifier_range *range, unsigned long cur_seq);
};

/*
 * One interval of one mm, [interval_tree.start, interval_tree.last]
 * (bytes, last inclusive), embedded in the subscriber's structure.
 * invalidate_seq is written by mmu_interval_set_seq() under the
 * subscriber's lock and read by mmu_interval_read_retry() under it.
 */
struct mmu_interval_notifier {
	struct interval_tree_node interval_tree;
	const struct mmu_interval_notifier_ops *ops;
	struct mm_struct *mm;
	struct hlist_node deferred_item; /* insert/remove waiting for the tree to thaw */
	unsigned long invalidate_seq;
};

/* ---- registration [notifier/mmu_notifier.c] ---- */

/*
 * Subscribe @subscription (->ops set) to @mm.  The caller holds an
 * mm_users reference (the mm cannot be exiting).  Takes mmap_lock for
 * write (the __ variant expects it held), then mm_take_all_locks().
 * Returns 0, -ENOMEM, or -EINTR if an interrupt was pending.
 */
int mmu_notifier_register(struct mmu_notifier *subscription, struct mm_struct *mm);
int __mmu_notifier_register(struct mmu_notifier *subscription, struct mm_struct *mm);
/*
 * Unsubscribe: calls ->release if exit_mmap() has not already, waits for
 * every callback running on any CPU to return, and drops the mm reference.
 * After it returns no callback of @subscription runs.  May sleep.
 */
void mmu_notifier_unregister(struct mmu_notifier *subscription, struct mm_struct *mm);

/*
 * One shared subscription per (ops, mm): the existing one with a reference
 * more, or a new one from ops->alloc_notifier, registered.  mmap_lock held
 * for write.  Returns the subscription or an ERR_PTR.  The subscription
 * goes away at the last mmu_notifier_put(), which does not call ->release:
 * the caller has dropped its mappings.  ops->free_notifier runs after a
 * grace period; mmu_notifier_synchronize() waits for every such free.
 */
struct mmu_notifier *mmu_notifier_get_locked(const struct mmu_notifier_ops *ops,
					     struct mm_struct *mm);
void mmu_notifier_put(struct mmu_notifier *subscription);
void mmu_notifier_synchronize(void);

/* ---- interval notifiers [notifier/mmu_notifier.c] ----
 *
 * The collision-retry protocol a subscriber follows to map part of its
 * interval (hmm_range_fault() users, the mirror device in mmu/mirror.c):
 *
 *	again:
 *	seq = mmu_interval_read_begin(sub);	waits out a running invalidation
 *	mmap_read_lock(mm); look the pages up (no pin); mmap_read_unlock(mm);
 *	lock(driver lock);
 *	if (mmu_interval_read_retry(sub, seq)) { unlock; goto again; }
 *	install the mappings;
 *	unlock(driver lock);
 *
 * and in ops->invalidate, under the same driver lock, mmu_interval_set_seq()
 * then the teardown.  The mm's sequence is odd while some invalidation
 * overlapping any interval runs; an interval whose own sequence equals the
 * mm's is being invalidated right now.
 */

/*
 * Cover [start, start + length) of @mm.  The caller holds an mm_users
 * reference; the insert holds an mm_count one until remove.  0, -EOVERFLOW
 * (empty or wrapping), -ENOMEM, -EINTR.  _locked: mmap_lock held for write.
 */
int mmu_interval_notifier_insert(struct mmu_interval_notifier *interval_sub, struct mm_struct *mm,
				 unsigned long start, unsigned long length,
				 const struct mmu_interval_notifier_ops *ops);
int mmu_interval_notifier_insert_locked(struct mmu_interval_notifier *interval_sub,
					struct mm_struct *mm, unsigned long start,
					unsigned long length,
					const struct mmu_interval_notifier_ops *ops);
/*
 * Remove; if an invalidation is running, wait until it has ended, so that
 * no op runs after return.  Not from inside ops->invalidate.
 */
void mmu_interval_notifier_remove(struct mmu_interval_notifier *interval_sub);
/* The sequence to validate a lookup against; sleeps while the interval is being invalidated. */
unsigned long mmu_interval_read_begin(struct mmu_interval_notifier *interval_sub);

/* In ops->invalidate, under the subscriber's lock: later read_retry()s of older reads fail. */
static inline void mmu_interval_set_seq(struct mmu_interval_notifier *interval_sub,
					unsigned long cur_seq)
{
	WRITE_ONCE(interval_sub->invalidate_seq, cur_seq);
}

/*
 * Under the subscriber's lock, before installing what was looked up since
 * read_begin returned @seq: true if an invalidation has begun since, and
 * the lookup must be redone.
 */
static inline bool mmu_interval_read_retry(struct mmu_interval_notifier *interval_sub,
					   unsigned long seq)
{
	return READ_ONCE(interval_sub->invalidate_seq) != seq;
}

/*
 * The same without the lock, as an early way out of a long lookup: false
 * does not mean the lookup is valid, only read_retry() under the lock says
 * that.
 */
static inline bool mmu_interval_check_retry(struct mmu_interval_notifier *interval_sub,
					    unsigned long seq)
{
	return READ_ONCE(interval_sub->invalidate_seq) != seq;
}

/* ---- what the hooks call out of line [notifier/mmu_notifier.c] ---- */

void __mmu_notifier_subscriptions_destroy(struct mm_struct *mm);
void __mmu_notifier_release(struct mm_struct *mm);
int __mmu_notifier_clear_flush_young(struct mm_struct *mm, unsigned long start, unsigned long end);
int __mmu_notifier_clear_young(struct mm_struct *mm, unsigned long start, unsigned long end);
int __mmu_notifier_test_young(struct mm_struct *mm, unsigned long address);
int __mmu_notifier_invalidate_range_start(struct mmu_notifier_range *range);
void __mmu_notifier_invalidate_range_end(struct mmu_notifier_range *range);

#ifdef CONFIG_LOCKDEP
/*
 * A pseudo-lock standing for "an invalidation is running": lockdep then
 * sees "lock L held while invalidating" and "the subscriber takes L in its
 * callback" as a cycle, the deadlock of a host path that invalidates while
 * holding a lock the secondary MMU needs.  Global, as the kernel's is: the
 * rule is about lock classes, not about one mm.
 *
 * The kernel holds it across the whole start/end call.  Here the hook only
 * records the caller's locks against it, and notifier/mmu_notifier.c holds
 * it around the callbacks, inside the SRCU read section: this lockdep
 * counts the SRCU read lock as a recursive-read link in the chain, and a
 * chain map -> SRCU (read) -> L would not be a "strong" cycle it reports.
 * Interval ops run outside SRCU (the frozen tree keeps them), with the map
 * held around them too; mmu_interval_read_begin() and _remove(), which may
 * sleep until an invalidation ends, record the caller's locks against it.
 */
extern struct lockdep_map __mmu_notifier_invalidate_range_start_map;
#endif

/* Record the caller's held locks as taken before an invalidation. */
static inline void mmu_notifier_invalidate_map_record(void)
{
#ifdef CONFIG_LOCKDEP
	lock_map_acquire(&__mmu_notifier_invalidate_range_start_map);
	lock_map_release(&__mmu_notifier_invalidate_range_start_map);
#endif
}

static inline void mmu_notifier_invalidate_map_acquire(void)
{
#ifdef CONFIG_LOCKDEP
	lock_map_acquire(&__mmu_notifier_invalidate_range_start_map);
#endif
}

static inline void mmu_notifier_invalidate_map_release(void)
{
#ifdef CONFIG_LOCKDEP
	lock_map_release(&__mmu_notifier_invalidate_range_start_map);
#endif
}

/* ---- the hooks mm/ calls ---- */

/*
 * Published with a release store once the subscriptions are set up; the
 * acquire here makes them visible to a hook that sees the pointer.
 */
static inline bool mm_has_notifiers(struct mm_struct *mm)
{
	return unlikely(smp_load_acquire(&mm->notifier_subscriptions) != NULL);
}

static inline void mmu_notifier_subscriptions_init(struct mm_struct *mm)
{
	mm->notifier_subscriptions = NULL;
}

static inline void mmu_notifier_subscriptions_destroy(struct mm_struct *mm)
{
	if (mm_has_notifiers(mm))
		__mmu_notifier_subscriptions_destroy(mm);
}

static inline void mmu_notifier_range_init(struct mmu_notifier_range *range,
					   enum mmu_notifier_event event, unsigned int flags,
					   struct mm_struct *mm, unsigned long start,
					   unsigned long end)
{
	range->mm = mm;
	range->start = start;
	range->end = end;
	range->flags = flags;
	range->event = event;
	range->owner = NULL;
}

static inline void mmu_notifier_range_init_owner(struct mmu_notifier_range *range,
						 enum mmu_notifier_event event, unsigned int flags,
						 struct mm_struct *mm, unsigned long start,
						 unsigned long end, void *owner)
{
	mmu_notifier_range_init(range, event, flags, mm, start, end);
	range->owner = owner;
}

static inline bool mmu_notifier_range_blockable(const struct mmu_notifier_range *range)
{
	return range->flags & MMU_NOTIFIER_RANGE_BLOCKABLE;
}

/* exit_mmap(): every subscriber drops its mappings, before anything is unmapped. */
static inline void mmu_notifier_release(struct mm_struct *mm)
{
	if (mm_has_notifiers(mm))
		__mmu_notifier_release(mm);
}

/*
 * The range is about to change.  Subscribers may sleep, so this must not be
 * called inside an atomic section (rule 6, notifier outside atomic
 * sections): the might_sleep() here reports any caller that does, whether
 * or not a subscriber exists.
 */
static inline void mmu_notifier_invalidate_range_start(struct mmu_notifier_range *range)
{
	might_sleep();

	mmu_notifier_invalidate_map_record();
	if (mm_has_notifiers(range->mm)) {
		range->flags |= MMU_NOTIFIER_RANGE_BLOCKABLE;
		__mmu_notifier_invalidate_range_start(range);
	}
}

/*
 * The OOM reaper's variant: no subscriber may sleep.  Returns 0, or -EAGAIN
 * if one would have had to; the caller then leaves the PTEs alone and does
 * not call invalidate_range_end.
 */
static inline int mmu_notifier_invalidate_range_start_nonblock(struct mmu_notifier_range *range)
{
	mmu_notifier_invalidate_map_record();
	if (mm_has_notifiers(range->mm)) {
		range->flags &= ~MMU_NOTIFIER_RANGE_BLOCKABLE;
		return __mmu_notifier_invalidate_range_start(range);
	}
	return 0;
}

static inline void mmu_notifier_invalidate_range_end(struct mmu_notifier_range *range)
{
	if (mmu_notifier_range_blockable(range))
		might_sleep();

	if (mm_has_notifiers(range->mm))
		__mmu_notifier_invalidate_range_end(range);
}

static inline int mmu_notifier_clear_flush_young(struct mm_struct *mm, unsigned long start,
						 unsigned long end)
{
	if (mm_has_notifiers(mm))
		return __mmu_notifier_clear_flush_young(mm, start, end);
	return 0;
}

static inline int mmu_notifier_clear_young(struct mm_struct *mm, unsigned long start,
					   unsigned long end)
{
	if (mm_has_notifiers(mm))
		return __mmu_notifier_clear_young(mm, start, end);
	return 0;
}

static inline int mmu_notifier_test_young(struct mm_struct *mm, unsigned long address)
{
	if (mm_has_notifiers(mm))
		return __mmu_notifier_test_young(mm, address);
	return 0;
}

#endif
