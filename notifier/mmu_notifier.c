// SPDX-License-Identifier: GPL-2.0
/*
 * mmu_notifier: the list of secondary MMUs subscribed to an mm and the
 * out-of-line halves of the hooks in mm/mmu_notifier.h, after the kernel's
 * mm/mmu_notifier.c.
 *
 * The subscriber list of each mm is walked inside a read section of one
 * global SRCU domain, so a hook never takes a lock of its own: callbacks
 * run with whatever the host path holds (mmap_lock, i_mmap_rwsem, the
 * anon_vma lock, the page lock; the young callbacks even the PTE lock), and
 * they may sleep unless the range says otherwise.  Removal from the list
 * (unregister, exit) waits for a grace period, so when it returns no
 * callback of the removed subscriber is running anywhere.
 *
 * This is issue 3's version: registration takes mmap_lock for write only.
 * Protocol 4 (register under mm_take_all_locks(), so that no rmap walk is
 * half-way through an invalidation when a subscriber appears) and interval
 * notifiers come with the notifier issue.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "base/bug.h"
#include "base/list.h"
#include "base/lockdep.h"
#include "base/preempt.h"
#include "base/spinlock.h"
#include "mm/mm.h"
#include "mm/mmu_notifier.h"
#include "notifier/srcu.h"

/*
 * One SRCU domain for every mm, as in the kernel: a grace period waits for
 * callbacks running on any mm, which is what unregistration needs anyway,
 * and a per-mm domain would cost a reader record per thread per mm.
 * Global because the kernel's is; set up by the first registration, since
 * no hook reaches SRCU before some mm has a subscriber.
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
 * the mm_struct is freed.  @lock serialises list changes; readers walk
 * the list under SRCU only.
 */
struct mmu_notifier_subscriptions {
	struct hlist_head list;
	spinlock_t lock;
};

static void mmu_notifier_srcu_init(void)
{
	srcu_init_error = init_srcu_struct(&srcu);
}

static struct mmu_notifier_subscriptions *mm_subscriptions(struct mm_struct *mm)
{
	return smp_load_acquire(&mm->notifier_subscriptions);
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

/* ---- teardown ---- */

/*
 * exit_mmap(): the mm has no users left.  Every subscriber drops its
 * mappings in ->release, then all are unhashed; the grace period makes
 * sure a racing mmu_notifier_unregister() has finished its own ->release
 * before exit_mmap() goes on to free pages.
 */
void __mmu_notifier_release(struct mm_struct *mm)
{
	struct mmu_notifier_subscriptions *subscriptions = mm_subscriptions(mm);
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
	srcu_read_unlock(&srcu, id);

	synchronize_srcu(&srcu);
}

/* mmdrop(): the mm_struct is freed; every subscriber has unregistered. */
void __mmu_notifier_subscriptions_destroy(struct mm_struct *mm)
{
	struct mmu_notifier_subscriptions *subscriptions = mm->notifier_subscriptions;

	WARN_ON(!hlist_empty(&subscriptions->list));
	free(subscriptions);
	mm->notifier_subscriptions = NULL;
}

/* ---- aging ---- */

int __mmu_notifier_clear_flush_young(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	struct mmu_notifier *subscription;
	int young = 0, id;

	id = srcu_read_lock(&srcu);
	hlist_for_each_entry_srcu(subscription, &mm_subscriptions(mm)->list, hlist,
				  srcu_read_lock_held(&srcu))
		if (subscription->ops->clear_flush_young)
			young |= subscription->ops->clear_flush_young(subscription, mm, start, end);
	srcu_read_unlock(&srcu, id);
	return young;
}

int __mmu_notifier_clear_young(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	struct mmu_notifier *subscription;
	int young = 0, id;

	id = srcu_read_lock(&srcu);
	hlist_for_each_entry_srcu(subscription, &mm_subscriptions(mm)->list, hlist,
				  srcu_read_lock_held(&srcu))
		if (subscription->ops->clear_young)
			young |= subscription->ops->clear_young(subscription, mm, start, end);
	srcu_read_unlock(&srcu, id);
	return young;
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

int __mmu_notifier_invalidate_range_start(struct mmu_notifier_range *range)
{
	return mn_hlist_invalidate_range_start(mm_subscriptions(range->mm), range);
}

void __mmu_notifier_invalidate_range_end(struct mmu_notifier_range *range)
{
	struct mmu_notifier_subscriptions *subscriptions = mm_subscriptions(range->mm);
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

/* ---- registration ---- */

static struct mmu_notifier_subscriptions *mmu_notifier_subscriptions_alloc(void)
{
	struct mmu_notifier_subscriptions *subscriptions;

	subscriptions = calloc(1, sizeof(*subscriptions));
	if (!subscriptions)
		return NULL;
	INIT_HLIST_HEAD(&subscriptions->list);
	spin_lock_init(&subscriptions->lock);
	return subscriptions;
}

/*
 * mmap_lock held for write, so no fault, munmap or mprotect of this mm is
 * in flight while the subscriber appears.  (Not yet: rmap walks, which hold
 * only i_mmap_rwsem or the anon_vma lock; mm_take_all_locks() closes that.)
 */
int __mmu_notifier_register(struct mmu_notifier *subscription, struct mm_struct *mm)
{
	struct mmu_notifier_subscriptions *subscriptions;

	mmap_assert_write_locked(mm);
	/* The caller's mm_users reference keeps exit_mmap() away. */
	if (WARN_ON(atomic_read(&mm->mm_users) <= 0))
		return -EINVAL;

	pthread_once(&srcu_once, mmu_notifier_srcu_init);
	if (srcu_init_error)
		return srcu_init_error;

	subscriptions = mm->notifier_subscriptions;
	if (!subscriptions) {
		subscriptions = mmu_notifier_subscriptions_alloc();
		if (!subscriptions)
			return -ENOMEM;
		/* Hooks read the pointer without mmap_lock: publish it initialised. */
		smp_store_release(&mm->notifier_subscriptions, subscriptions);
	}

	mmgrab(mm);
	subscription->mm = mm;
	subscription->users = 1;
	spin_lock(&subscriptions->lock);
	hlist_add_head_rcu(&subscription->hlist, &subscriptions->list);
	spin_unlock(&subscriptions->lock);
	return 0;
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
