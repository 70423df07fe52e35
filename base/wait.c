// SPDX-License-Identifier: GPL-2.0
#include "base/wait.h"

void init_waitqueue_head(wait_queue_head_t *wq_head)
{
	wq_head->lock = (arch_spinlock_t)__ARCH_SPIN_LOCK_UNLOCKED;
	INIT_LIST_HEAD(&wq_head->head);
}

void init_wait_entry(struct wait_queue_entry *wq_entry)
{
	wq_entry->task = current;
	INIT_LIST_HEAD(&wq_entry->entry);
}

long prepare_to_wait_event(wait_queue_head_t *wq_head, struct wait_queue_entry *wq_entry,
			   unsigned int state)
{
	long ret = 0;

	arch_spin_lock(&wq_head->lock);
	if (signal_pending_state(state, wq_entry->task)) {
		/*
		 * Leave the queue now: a wakeup meant for the condition must
		 * not be spent on us while we return without testing it again.
		 */
		list_del_init(&wq_entry->entry);
		ret = -EINTR;
	} else {
		if (list_empty(&wq_entry->entry))
			list_add_tail(&wq_entry->entry, &wq_head->head);
		set_current_state(state);
	}
	arch_spin_unlock(&wq_head->lock);
	return ret;
}

void finish_wait(wait_queue_head_t *wq_head, struct wait_queue_entry *wq_entry)
{
	__set_current_state(TASK_RUNNING);
	arch_spin_lock(&wq_head->lock);
	list_del_init(&wq_entry->entry);
	arch_spin_unlock(&wq_head->lock);
}

/*
 * Collect the queued tasks under the lock, referenced, and wake them after
 * it is dropped: a woken waiter's first act is to take that lock again
 * (finish_wait()), and the wakeup is a syscall it should not spin behind.
 * After the unlock nothing touches @wq_head, which the woken may free.
 */
void wake_up_all_locked(wait_queue_head_t *wq_head, struct wake_q_head *wake_q)
{
	struct wait_queue_entry *curr;

	list_for_each_entry(curr, &wq_head->head, entry)
		wake_q_add(wake_q, curr->task);
}

void wake_up_all(wait_queue_head_t *wq_head)
{
	DEFINE_WAKE_Q(wake_q);

	arch_spin_lock(&wq_head->lock);
	wake_up_all_locked(wq_head, &wake_q);
	arch_spin_unlock(&wq_head->lock);
	wake_up_q(&wake_q);
}
