// SPDX-License-Identifier: GPL-2.0
/*
 * mmu_notifier: the secondary MMUs subscribed to an mm and the out-of-line
 * halves of the hooks in mm/mmu_notifier.h, after the kernel's
 * mm/mmu_notifier.c.
 *
 * Two kinds of subscriber hang off mm->notifier_subscriptions:
 *
 *  - classic notifiers on an hlist, walked inside a read section of one
 *    global SRCU domain, so a hook takes no lock of its own: callbacks run
 *    with whatever the host path holds (mmap_lock, i_mmap_rwsem, the
 *    anon_vma lock, the page lock; the young callbacks even the PTE lock),
 *    and may sleep unless the range says otherwise.  Removal waits for a
 *    grace period, so when it returns no callback of the removed
 *    subscriber runs anywhere.
 *
 *  - interval notifiers in an interval tree, each hearing only the ranges
 *    that overlap it, through the odd/even invalidate_seq (see
 *    mn_itree_inv_start_range()).
 *
 * The subscriptions structure, and every classic subscriber, appear under
 * mm_take_all_locks() (rule 4, register under all locks): see
 * __mmu_notifier_register().
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>

#include "base/bug.h"
#include "base/err.h"
#include "base/interval_tree.h"
#include "base/legacy.h"
#include "base/list.h"
#include "base/lockdep.h"
#include "base/preempt.h"
#include "base/sched_point.h"
#include "base/spinlock.h"
#include "base/wait.h"
#include "mm/mm.h"
#include "mm/mmu_notifier.h"
#include "notifier/srcu.h"

/*
 * One SRCU domain for every mm, as in the kernel: a grace period waits for
 * callbacks running on any mm, which is what unregistration needs anyway,
 * and a per-mm domain would cost a reader record per thread per mm.
 * Global because the kernel's is; set up on first use, since no hook
 * reaches SRCU before some mm has a subscriber.
 */
static struct srcu_struct srcu;
static pthread_once_t srcu_once = PTHREAD_ONCE_INIT;
static int srcu_init_error;

#ifdef CONFIG_LOCKDEP
struct lockdep_map __mmu_notifier_invalidate_range_start_map =
	STATIC_LOCKDEP_MAP_INIT("mmu_notifier_invalidate_range_start", NULL);
#endif

/*
 * Hung off mm->notifier_subscriptions from the first registration until
 * the mm_struct is freed.
 *
 * @lock serialises changes to @list (readers walk it under SRCU only) and
 * guards the interval side: @invalidate_seq, @active_invalidate_ranges,
 * @itree changes and @deferred_list.
 *
 * @invalidate_seq is even while no invalidation overlapping an interval
 * runs; then the tree may change.  The first such invalidation to start
 * makes it odd, which freezes the tree: inserts and removes go on
 * @deferred_list, because the invalidating threads walk the tree without
 * the lock.  When the last invalidation of any kind ends
 * (@active_invalidate_ranges back to 0) it becomes even again, the
 * deferred work is done and the waiters on @wq are woken.
 */
struct mmu_notifier_subscriptions {
	struct hlist_head list;
	bool has_itree;
	spinlock_t lock;
	unsigned long invalidate_seq;
	unsigned long active_invalidate_ranges;
	struct interval_tree_root itree;
	wait_queue_head_t wq;
	struct hlist_head deferred_list;
};

static void mmu_notifier_srcu_init(void)
{
	srcu_init_error = init_srcu_struct(&srcu);
}

static int mmu_notifier_srcu_ready(void)
{
	pthread_once(&srcu_once, mmu_notifier_srcu_init);
	return srcu_init_error;
}

static struct mmu_notifier_subscriptions *mm_subscriptions(struct mm_struct *mm)
{
	return smp_load_acquire(&mm->notifier_subscriptions);
}

static struct mmu_interval_notifier *interval_sub_of(struct interval_tree_node *node)
{
	return node ? container_of(node, struct mmu_interval_notifier, interval_tree) : NULL;
}

/*
 * Run a callback of a range that must not block inside an atomic section:
 * the kernel's non_block_start(), which makes might_sleep() in the callback
 * report.
 */
static void non_block_start(const struct mmu_notifier_range *range)
{
	if (!mmu_notifier_range_blockable(range))
		preempt_disable();
}

static void non_block_end(const struct mmu_notifier_range *range)
{
	if (!mmu_notifier_range_blockable(range))
		preempt_enable();
}

/* ---- interval notifiers: the odd/even sequence ---- */

static bool mn_itree_is_invalidating(struct mmu_notifier_subscriptions *subscriptions)
{
	lockdep_assert_held(&subscriptions->lock);
	return subscriptions->invalidate_seq & 1;
}

/*
 * Count one more invalidation in flight and, if it overlaps any interval,
 * freeze the tree (odd sequence).  Returns the first overlapping interval
 * and the sequence each overlapped subscriber must record.
 */
static struct mmu_interval_notifier *
mn_itree_inv_start_range(struct mmu_notifier_subscriptions *subscriptions,
			 const struct mmu_notifier_range *range, unsigned long *seq)
{
	struct interval_tree_node *node;
	struct mmu_interval_notifier *res = NULL;

	spin_lock(&subscriptions->lock);
	subscriptions->active_invalidate_ranges++;
	node = interval_tree_iter_first(&subscriptions->itree, range->start, range->end - 1);
	if (node) {
		WRITE_ONCE(subscriptions->invalidate_seq, subscriptions->invalidate_seq | 1);
		res = interval_sub_of(node);
	}
	*seq = subscriptions->invalidate_seq;
	spin_unlock(&subscriptions->lock);
	return res;
}

/* The tree is frozen while we walk it, so no lock. */
static struct mmu_interval_notifier *mn_itree_inv_next(struct mmu_interval_notifier *interval_sub,
						       const struct mmu_notifier_range *range)
{
	return interval_sub_of(interval_tree_iter_next(&interval_sub->interval_tree, range->start,
						       range->end - 1));
}

/*
 * One invalidation is over.  The last one out thaws the tree: the sequence
 * becomes even (readers that recorded the odd one now see a change), the
 * inserts and removes that waited are done, and whoever sleeps in
 * mmu_interval_read_begin() or _remove() is woken.
 */
static void mn_itree_inv_end(struct mmu_notifier_subscriptions *subscriptions)
{
	struct mmu_interval_notifier *interval_sub;
	struct hlist_node *next;

	spin_lock(&subscriptions->lock);
	if (WARN_ON(!subscriptions->active_invalidate_ranges) ||
	    --subscriptions->active_invalidate_ranges || !mn_itree_is_invalidating(subscriptions)) {
		spin_unlock(&subscriptions->lock);
		return;
	}

	WRITE_ONCE(subscriptions->invalidate_seq, subscriptions->invalidate_seq + 1);

	/*
	 * An interval on the deferred list and not in the tree waits to be
	 * inserted; one in the tree waits to be removed.
	 */
	hlist_for_each_entry_safe(interval_sub, next, &subscriptions->deferred_list,
				  deferred_item) {
		if (!interval_tree_node_linked(&interval_sub->interval_tree))
			interval_tree_insert(&interval_sub->interval_tree, &subscriptions->itree);
		else
			interval_tree_remove(&interval_sub->interval_tree, &subscriptions->itree);
		hlist_del_init(&interval_sub->deferred_item);
	}
	spin_unlock(&subscriptions->lock);

	wake_up_all(&subscriptions->wq);
}

/*
 * mmu_interval_read_begin - begin a lookup that mmu_interval_read_retry()
 * will validate.
 *
 * The interval's own sequence is what ops->invalidate last set (or what
 * insert gave it).  If it equals the mm's odd sequence, an invalidation
 * of this interval is running right now: whatever we look up may be torn
 * down before we install it, and retrying would spin, so sleep until the
 * last invalidation ends and the mm's sequence moves on.  Otherwise return
 * it: any invalidation that starts after this point sets the interval's
 * sequence to the (new, odd) mm sequence, which differs from what we
 * return, and read_retry() sees that.
 *
 * Since the interval's sequence only ever takes values of the mm's, and
 * the mm's only grows, "differs" is enough: no ABA.
 */
unsigned long mmu_interval_read_begin(struct mmu_interval_notifier *interval_sub)
{
	struct mmu_notifier_subscriptions *subscriptions = interval_sub->mm->notifier_subscriptions;
	unsigned long seq;
	bool is_invalidating;

	spin_lock(&subscriptions->lock);
	seq = READ_ONCE(interval_sub->invalidate_seq);
	is_invalidating = seq == subscriptions->invalidate_seq;
	spin_unlock(&subscriptions->lock);

	/*
	 * Sleeping here until an invalidation ends is taking the pseudo-lock
	 * that stands for "an invalidation is running": a caller holding a
	 * lock an invalidation needs would deadlock, and lockdep should say
	 * so whether or not this call happens to sleep.
	 */
	mmu_notifier_invalidate_map_record();
	if (is_invalidating) {
		sched_point("mmu_interval_read_begin:wait");
		wait_event(subscriptions->wq, READ_ONCE(subscriptions->invalidate_seq) != seq);
	}
	return seq;
}

/*
 * Call ops->invalidate of every interval overlapping @range.  A refusal
 * (non-blockable range only) undoes this range's count at once: the
 * caller backs out and will not call end.
 */
static int mn_itree_invalidate(struct mmu_notifier_subscriptions *subscriptions,
			       const struct mmu_notifier_range *range)
{
	struct mmu_interval_notifier *interval_sub;
	unsigned long cur_seq;

	for (interval_sub = mn_itree_inv_start_range(subscriptions, range, &cur_seq); interval_sub;
	     interval_sub = mn_itree_inv_next(interval_sub, range)) {
		bool ret;

		non_block_start(range);
		ret = interval_sub->ops->invalidate(interval_sub, range, cur_seq);
		non_block_end(range);
		if (!ret) {
			if (WARN_ON(mmu_notifier_range_blockable(range)))
				continue;
			mn_itree_inv_end(subscriptions);
			return -EAGAIN;
		}
	}
	return 0;
}

/* exit_mmap(): every interval hears a RELEASE of everything, which must succeed. */
static void mn_itree_release(struct mmu_notifier_subscriptions *subscriptions, struct mm_struct *mm)
{
	struct mmu_notifier_range range = {
		.mm = mm,
		.start = 0,
		.end = ULONG_MAX,
		.flags = MMU_NOTIFIER_RANGE_BLOCKABLE,
		.event = MMU_NOTIFY_RELEASE,
	};
	struct mmu_interval_notifier *interval_sub;
	unsigned long cur_seq;

	for (interval_sub = mn_itree_inv_start_range(subscriptions, &range, &cur_seq); interval_sub;
	     interval_sub = mn_itree_inv_next(interval_sub, &range))
		WARN_ON(!interval_sub->ops->invalidate(interval_sub, &range, cur_seq));
	mn_itree_inv_end(subscriptions);
}

/* ---- teardown ---- */

/*
 * exit_mmap(): the mm has no users left.  Every subscriber drops its
 * mappings in ->release, then all are unhashed; the grace period makes
 * sure a racing mmu_notifier_unregister() has finished its own ->release
 * before exit_mmap() goes on to free pages.
 */
static void mn_hlist_release(struct mmu_notifier_subscriptions *subscriptions, struct mm_struct *mm)
{
	struct mmu_notifier *subscription;
	int id;

	id = srcu_read_lock(&srcu);
	hlist_for_each_entry_srcu(subscription, &subscriptions->list, hlist,
				  srcu_read_lock_held(&srcu))
		if (subscription->ops->release)
			subscription->ops->release(subscription, mm);

	spin_lock(&subscriptions->lock);
	while (!hlist_empty(&subscriptions->list)) {
		subscription = hlist_entry(subscriptions->list.first, struct mmu_notifier, hlist);
		/*
		 * Unhashed, not freed: mmu_notifier_unregister() sees it is
		 * gone and only waits for the grace period.
		 */
		hlist_del_init_rcu(&subscription->hlist);
	}
	spin_unlock(&subscriptions->lock);
	/* Unhashed but still inside: an unregister now must wait for us. */
	sched_point("mmu_notifier_release:unhashed");
	srcu_read_unlock(&srcu, id);

	synchronize_srcu(&srcu);
}

void __mmu_notifier_release(struct mm_struct *mm)
{
	struct mmu_notifier_subscriptions *subscriptions = mm_subscriptions(mm);

	if (READ_ONCE(subscriptions->has_itree))
		mn_itree_release(subscriptions, mm);
	if (!hlist_empty(&subscriptions->list))
		mn_hlist_release(subscriptions, mm);
}

/* mmdrop(): the mm_struct is freed; every subscriber has unregistered. */
void __mmu_notifier_subscriptions_destroy(struct mm_struct *mm)
{
	struct mmu_notifier_subscriptions *subscriptions = mm->notifier_subscriptions;

	WARN_ON(!hlist_empty(&subscriptions->list));
	WARN_ON(!interval_tree_empty(&subscriptions->itree));
	free(subscriptions);
	mm->notifier_subscriptions = NULL;
}

/* ---- aging ---- */

/*
 * Ask every subscriber to clear its accessed bits in [start, end), with
 * (@flush) or without a flush of its TLBs; the page was young if any saw
 * an access.  Every subscriber is asked, since each keeps its own bits.
 */
static int mn_clear_young(struct mm_struct *mm, unsigned long start, unsigned long end, bool flush)
{
	struct mmu_notifier *subscription;
	int young = 0, id;

	id = srcu_read_lock(&srcu);
	hlist_for_each_entry_srcu(subscription, &mm_subscriptions(mm)->list, hlist,
				  srcu_read_lock_held(&srcu)) {
		const struct mmu_notifier_ops *ops = subscription->ops;
		int (*clear)(struct mmu_notifier *, struct mm_struct *, unsigned long,
			     unsigned long) = flush ? ops->clear_flush_young : ops->clear_young;

		if (clear)
			young |= clear(subscription, mm, start, end);
	}
	srcu_read_unlock(&srcu, id);
	return young;
}

int __mmu_notifier_clear_flush_young(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	return mn_clear_young(mm, start, end, true);
}

int __mmu_notifier_clear_young(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	return mn_clear_young(mm, start, end, false);
}

/* Stops at the first subscriber that saw an access: one is enough to keep the page. */
int __mmu_notifier_test_young(struct mm_struct *mm, unsigned long address)
{
	struct mmu_notifier *subscription;
	int young = 0, id;

	id = srcu_read_lock(&srcu);
	hlist_for_each_entry_srcu(subscription, &mm_subscriptions(mm)->list, hlist,
				  srcu_read_lock_held(&srcu)) {
		if (subscription->ops->test_young) {
			young = subscription->ops->test_young(subscription, mm, address);
			if (young)
				break;
		}
	}
	srcu_read_unlock(&srcu, id);
	return young;
}

/* ---- invalidation ---- */

/*
 * After a subscriber failed a non-blockable start, the caller will neither
 * change the PTEs nor call end; the subscribers that did start (all those
 * with an end, since one that can fail may have none) get their end now.
 */
static void mn_hlist_unwind_start(struct mmu_notifier_subscriptions *subscriptions,
				  const struct mmu_notifier_range *range)
{
	struct mmu_notifier *subscription;

	hlist_for_each_entry_srcu(subscription, &subscriptions->list, hlist,
				  srcu_read_lock_held(&srcu)) {
		if (!subscription->ops->invalidate_range_end)
			continue;
		non_block_start(range);
		subscription->ops->invalidate_range_end(subscription, range);
		non_block_end(range);
	}
}

static int mn_hlist_invalidate_range_start(struct mmu_notifier_subscriptions *subscriptions,
					   struct mmu_notifier_range *range)
{
	struct mmu_notifier *subscription;
	int ret = 0, id;

	id = srcu_read_lock(&srcu);
	mmu_notifier_invalidate_map_acquire();
	hlist_for_each_entry_srcu(subscription, &subscriptions->list, hlist,
				  srcu_read_lock_held(&srcu)) {
		const struct mmu_notifier_ops *ops = subscription->ops;
		int r;

		if (!ops->invalidate_range_start)
			continue;
		non_block_start(range);
		r = ops->invalidate_range_start(subscription, range);
		non_block_end(range);
		if (r) {
			/* Only a non-blockable range may be refused, and only with -EAGAIN. */
			WARN_ON(mmu_notifier_range_blockable(range) || r != -EAGAIN);
			/* A subscriber that can fail must not need its end. */
			WARN_ON(ops->invalidate_range_end);
			ret = r;
		}
	}
	if (ret)
		mn_hlist_unwind_start(subscriptions, range);
	mmu_notifier_invalidate_map_release();
	srcu_read_unlock(&srcu, id);
	return ret;
}

/*
 * Intervals first, then classic subscribers, as the kernel orders them.
 * If a classic subscriber refuses after the intervals accepted, the
 * interval side's count of this range is undone here too: the caller
 * backs out and will not call end.  (The kernel returns without that
 * undo, leaving the tree frozen; only the OOM reaper gets there.)
 */
int __mmu_notifier_invalidate_range_start(struct mmu_notifier_range *range)
{
	struct mmu_notifier_subscriptions *subscriptions = mm_subscriptions(range->mm);
	bool has_itree = READ_ONCE(subscriptions->has_itree);
	int ret;

	if (has_itree) {
		mmu_notifier_invalidate_map_acquire();
		ret = mn_itree_invalidate(subscriptions, range);
		mmu_notifier_invalidate_map_release();
		if (ret)
			return ret;
	}
	if (!hlist_empty(&subscriptions->list)) {
		ret = mn_hlist_invalidate_range_start(subscriptions, range);
		if (ret && has_itree)
			mn_itree_inv_end(subscriptions);
		return ret;
	}
	return 0;
}

static void mn_hlist_invalidate_end(struct mmu_notifier_subscriptions *subscriptions,
				    struct mmu_notifier_range *range)
{
	struct mmu_notifier *subscription;
	int id;

	id = srcu_read_lock(&srcu);
	mmu_notifier_invalidate_map_acquire();
	hlist_for_each_entry_srcu(subscription, &subscriptions->list, hlist,
				  srcu_read_lock_held(&srcu)) {
		if (!subscription->ops->invalidate_range_end)
			continue;
		non_block_start(range);
		subscription->ops->invalidate_range_end(subscription, range);
		non_block_end(range);
	}
	mmu_notifier_invalidate_map_release();
	srcu_read_unlock(&srcu, id);
}

void __mmu_notifier_invalidate_range_end(struct mmu_notifier_range *range)
{
	struct mmu_notifier_subscriptions *subscriptions = mm_subscriptions(range->mm);

	if (READ_ONCE(subscriptions->has_itree))
		mn_itree_inv_end(subscriptions);
	if (!hlist_empty(&subscriptions->list))
		mn_hlist_invalidate_end(subscriptions, range);
}

/* ---- registration ---- */

static struct mmu_notifier_subscriptions *mmu_notifier_subscriptions_alloc(void)
{
	struct mmu_notifier_subscriptions *subscriptions;

	subscriptions = calloc(1, sizeof(*subscriptions));
	if (!subscriptions)
		return NULL;
	INIT_HLIST_HEAD(&subscriptions->list);
	spin_lock_init(&subscriptions->lock);
	/* Even, and never 0: an interval's sequence of 0 would look like "none yet". */
	subscriptions->invalidate_seq = 2;
	interval_tree_root_init(&subscriptions->itree);
	init_waitqueue_head(&subscriptions->wq);
	INIT_HLIST_HEAD(&subscriptions->deferred_list);
	return subscriptions;
}

/*
 * Why all the locks (rule 4, register under all locks).  A host path that
 * changes PTEs of this mm holds mmap_lock, or reaches the page through the
 * reverse map and holds its file's i_mmap_rwsem or its anon_vma root's
 * rwsem, from before its invalidate_range_start until after its _end.  With
 * mmap_lock held for write and mm_take_all_locks(), none is in between: the
 * new subscriber hears a whole invalidation or none of it.  Without them a
 * truncation that started before the registration would end after it: the
 * subscriber never heard the start, so it may map a page whose PTE is about
 * to go, and the truncation frees that page under it; an interval tree
 * registered that way would see an end whose start it never counted.
 *
 * Everything that may fail or allocate happens before the locks are
 * taken (reclaim could need one of them); the subscriptions structure is
 * published with a release store, because hooks read it without a lock.
 *
 * @subscription NULL registers nothing but says the mm has intervals
 * (mmu_interval_notifier_insert()).
 */
int __mmu_notifier_register(struct mmu_notifier *subscription, struct mm_struct *mm)
{
	struct mmu_notifier_subscriptions *subscriptions = NULL;
	int ret;

	mmap_assert_write_locked(mm);
	/* The caller's mm_users reference keeps exit_mmap() away. */
	if (WARN_ON(atomic_read(&mm->mm_users) <= 0))
		return -EINVAL;

	ret = mmu_notifier_srcu_ready();
	if (ret)
		return ret;

	if (!mm->notifier_subscriptions) {
		subscriptions = mmu_notifier_subscriptions_alloc();
		if (!subscriptions)
			return -ENOMEM;
	}

	if (!legacy_on(mm->legacy, LEGACY_REGISTER_WITHOUT_ALL_LOCKS)) {
		ret = mm_take_all_locks(mm);
		if (unlikely(ret))
			goto out_clean;
	}
	sched_point("mmu_notifier_register:locked");

	if (subscriptions)
		smp_store_release(&mm->notifier_subscriptions, subscriptions);

	if (subscription) {
		mmgrab(mm);
		subscription->mm = mm;
		subscription->users = 1;

		spin_lock(&mm->notifier_subscriptions->lock);
		hlist_add_head_rcu(&subscription->hlist, &mm->notifier_subscriptions->list);
		spin_unlock(&mm->notifier_subscriptions->lock);
	} else {
		WRITE_ONCE(mm->notifier_subscriptions->has_itree, true);
	}
	/* Published: a test checks here that the rmap locks are still ours. */
	sched_point("mmu_notifier_register:published");

	if (!legacy_on(mm->legacy, LEGACY_REGISTER_WITHOUT_ALL_LOCKS))
		mm_drop_all_locks(mm);
	return 0;

out_clean:
	free(subscriptions);
	return ret;
}

int mmu_notifier_register(struct mmu_notifier *subscription, struct mm_struct *mm)
{
	int ret;

	mmap_write_lock(mm);
	ret = __mmu_notifier_register(subscription, mm);
	mmap_write_unlock(mm);
	return ret;
}

/*
 * If exit_mmap() has not unhashed the subscriber yet, it has not released
 * it either: do it here, inside a read section so that the grace period
 * below also covers this ->release.  Either way wait for the grace period,
 * which ends every callback of the subscriber running anywhere, including
 * a ->release that exit_mmap() is making right now.
 */
void mmu_notifier_unregister(struct mmu_notifier *subscription, struct mm_struct *mm)
{
	struct mmu_notifier_subscriptions *subscriptions = mm_subscriptions(mm);
	bool hashed;
	int id;

	might_sleep();
	if (WARN_ON(!subscriptions))
		return;

	spin_lock(&subscriptions->lock);
	hashed = !hlist_unhashed(&subscription->hlist);
	spin_unlock(&subscriptions->lock);

	if (hashed) {
		id = srcu_read_lock(&srcu);
		if (subscription->ops->release)
			subscription->ops->release(subscription, mm);
		srcu_read_unlock(&srcu, id);

		spin_lock(&subscriptions->lock);
		/* exit_mmap() may have unhashed it meanwhile: then this does nothing. */
		hlist_del_init_rcu(&subscription->hlist);
		spin_unlock(&subscriptions->lock);
	}

	synchronize_srcu(&srcu);

	WARN_ON(subscription->mm != mm);
	mmdrop(mm);
}

/* ---- shared subscriptions: get/put ---- */

static struct mmu_notifier *find_get_mmu_notifier(struct mm_struct *mm,
						  const struct mmu_notifier_ops *ops)
{
	struct mmu_notifier_subscriptions *subscriptions = mm->notifier_subscriptions;
	struct mmu_notifier *subscription;

	if (!subscriptions)
		return NULL;
	spin_lock(&subscriptions->lock);
	hlist_for_each_entry(subscription, &subscriptions->list, hlist) {
		if (subscription->ops != ops)
			continue;
		if (likely(subscription->users != UINT_MAX))
			subscription->users++;
		else
			subscription = ERR_PTR(-EOVERFLOW);
		spin_unlock(&subscriptions->lock);
		return subscription;
	}
	spin_unlock(&subscriptions->lock);
	return NULL;
}

struct mmu_notifier *mmu_notifier_get_locked(const struct mmu_notifier_ops *ops,
					     struct mm_struct *mm)
{
	struct mmu_notifier *subscription;
	int ret;

	mmap_assert_write_locked(mm);

	subscription = find_get_mmu_notifier(mm, ops);
	if (subscription)
		return subscription;

	subscription = ops->alloc_notifier(mm);
	if (IS_ERR(subscription))
		return subscription;
	subscription->ops = ops;
	ret = __mmu_notifier_register(subscription, mm);
	if (ret) {
		subscription->ops->free_notifier(subscription);
		return ERR_PTR(ret);
	}
	return subscription;
}

/* After the grace period: no callback of the subscription runs any more. */
static void mmu_notifier_free_rcu(struct rcu_head *rcu)
{
	struct mmu_notifier *subscription = container_of(rcu, struct mmu_notifier, rcu);
	struct mm_struct *mm = subscription->mm;

	subscription->ops->free_notifier(subscription);
	/* Pairs with the mmgrab() of __mmu_notifier_register(). */
	mmdrop(mm);
}

/*
 * Drop a reference from mmu_notifier_get_locked(); the last one unhashes
 * the subscription and frees it through call_srcu(), so this never
 * sleeps.  No ->release: the caller has already dropped its mappings.
 * Waiting for the frees is mmu_notifier_synchronize()'s job.
 */
void mmu_notifier_put(struct mmu_notifier *subscription)
{
	struct mmu_notifier_subscriptions *subscriptions = subscription->mm->notifier_subscriptions;

	spin_lock(&subscriptions->lock);
	if (WARN_ON(!subscription->users) || --subscription->users) {
		spin_unlock(&subscriptions->lock);
		return;
	}
	hlist_del_init_rcu(&subscription->hlist);
	spin_unlock(&subscriptions->lock);

	call_srcu(&srcu, &subscription->rcu, mmu_notifier_free_rcu);
}

/* Wait until every free queued by mmu_notifier_put() has run (module exit). */
void mmu_notifier_synchronize(void)
{
	if (mmu_notifier_srcu_ready())
		return;
	srcu_barrier(&srcu);
}

/* ---- interval notifiers: insert and remove ---- */

static int __mmu_interval_notifier_insert(struct mmu_interval_notifier *interval_sub,
					  struct mm_struct *mm,
					  struct mmu_notifier_subscriptions *subscriptions,
					  unsigned long start, unsigned long length,
					  const struct mmu_interval_notifier_ops *ops)
{
	unsigned long last;

	interval_sub->mm = mm;
	interval_sub->ops = ops;
	INIT_HLIST_NODE(&interval_sub->deferred_item);
	interval_tree_node_init(&interval_sub->interval_tree);
	/* The tree's intervals include their last byte. */
	if (length == 0 || __builtin_add_overflow(start, length - 1, &last))
		return -EOVERFLOW;
	interval_sub->interval_tree.start = start;
	interval_sub->interval_tree.last = last;

	/* The caller's mm_users reference keeps exit_mmap() away. */
	if (WARN_ON(atomic_read(&mm->mm_users) <= 0))
		return -EINVAL;

	/* Until remove: the interval may outlive the address space, not the struct. */
	mmgrab(mm);

	/*
	 * While invalidations are in flight the new interval cannot know
	 * whether one of them covers it, so it starts with the mm's current
	 * (odd) sequence: its first read_begin() waits for them all to end.
	 * If the tree is frozen (some invalidation walks it), the insert
	 * itself waits on the deferred list; if not, freezing it now is what
	 * makes that first read_begin() wait.  Idle, the interval starts one
	 * below the (even) sequence: odd, and different from it, so
	 * read_begin() does not wait, while a later invalidation still
	 * changes it.
	 */
	spin_lock(&subscriptions->lock);
	if (subscriptions->active_invalidate_ranges) {
		if (mn_itree_is_invalidating(subscriptions))
			hlist_add_head(&interval_sub->deferred_item, &subscriptions->deferred_list);
		else {
			WRITE_ONCE(subscriptions->invalidate_seq,
				   subscriptions->invalidate_seq | 1);
			interval_tree_insert(&interval_sub->interval_tree, &subscriptions->itree);
		}
		WRITE_ONCE(interval_sub->invalidate_seq, subscriptions->invalidate_seq);
	} else {
		WARN_ON(mn_itree_is_invalidating(subscriptions));
		WRITE_ONCE(interval_sub->invalidate_seq, subscriptions->invalidate_seq - 1);
		interval_tree_insert(&interval_sub->interval_tree, &subscriptions->itree);
	}
	spin_unlock(&subscriptions->lock);
	return 0;
}

/*
 * The first interval of an mm registers the interval side itself, under
 * mm_take_all_locks() like any subscriber: an invalidation counted in
 * active_invalidate_ranges must have been counted from its start.
 */
int mmu_interval_notifier_insert(struct mmu_interval_notifier *interval_sub, struct mm_struct *mm,
				 unsigned long start, unsigned long length,
				 const struct mmu_interval_notifier_ops *ops)
{
	struct mmu_notifier_subscriptions *subscriptions;
	int ret;

	might_lock(&mm->mmap_lock);

	subscriptions = mm_subscriptions(mm);
	if (!subscriptions || !READ_ONCE(subscriptions->has_itree)) {
		ret = mmu_notifier_register(NULL, mm);
		if (ret)
			return ret;
		subscriptions = mm_subscriptions(mm);
	}
	return __mmu_interval_notifier_insert(interval_sub, mm, subscriptions, start, length, ops);
}

int mmu_interval_notifier_insert_locked(struct mmu_interval_notifier *interval_sub,
					struct mm_struct *mm, unsigned long start,
					unsigned long length,
					const struct mmu_interval_notifier_ops *ops)
{
	struct mmu_notifier_subscriptions *subscriptions = mm->notifier_subscriptions;
	int ret;

	mmap_assert_write_locked(mm);

	if (!subscriptions || !subscriptions->has_itree) {
		ret = __mmu_notifier_register(NULL, mm);
		if (ret)
			return ret;
		subscriptions = mm->notifier_subscriptions;
	}
	return __mmu_interval_notifier_insert(interval_sub, mm, subscriptions, start, length, ops);
}

static bool mmu_interval_seq_released(struct mmu_notifier_subscriptions *subscriptions,
				      unsigned long seq)
{
	bool ret;

	spin_lock(&subscriptions->lock);
	ret = subscriptions->invalidate_seq != seq;
	spin_unlock(&subscriptions->lock);
	return ret;
}

/*
 * While the tree is frozen the interval cannot leave it (an invalidating
 * thread may be about to call its op): queue the removal and wait for the
 * thaw, after which no op of it runs.  An insert still on the deferred
 * list is simply cancelled.
 */
void mmu_interval_notifier_remove(struct mmu_interval_notifier *interval_sub)
{
	struct mm_struct *mm = interval_sub->mm;
	struct mmu_notifier_subscriptions *subscriptions = mm->notifier_subscriptions;
	unsigned long seq = 0;

	might_sleep();

	spin_lock(&subscriptions->lock);
	if (mn_itree_is_invalidating(subscriptions)) {
		if (!interval_tree_node_linked(&interval_sub->interval_tree)) {
			hlist_del_init(&interval_sub->deferred_item);
		} else {
			hlist_add_head(&interval_sub->deferred_item, &subscriptions->deferred_list);
			seq = subscriptions->invalidate_seq;
		}
	} else {
		WARN_ON(!interval_tree_node_linked(&interval_sub->interval_tree));
		interval_tree_remove(&interval_sub->interval_tree, &subscriptions->itree);
	}
	spin_unlock(&subscriptions->lock);

	/* Waiting for an invalidation to end: see mmu_interval_read_begin(). */
	mmu_notifier_invalidate_map_record();
	if (seq) {
		sched_point("mmu_interval_notifier_remove:wait");
		wait_event(subscriptions->wq, mmu_interval_seq_released(subscriptions, seq));
	}

	/* Pairs with the mmgrab() of the insert. */
	mmdrop(mm);
}
