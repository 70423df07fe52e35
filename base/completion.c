// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <limits.h>

#include "base/completion.h"

#define COMPLETE_ALL UINT_MAX

/*
 * Every waiter re-tests ->done under the lock and only one can consume a
 * count, so waking them all is correct, if not frugal.  The waiters are
 * collected in the same critical section as the count: once we unlock, a
 * waiter that sees ->done may return and free @x, so afterwards we touch
 * only the (referenced) tasks.
 */
void complete(struct completion *x)
{
	DEFINE_WAKE_Q(wake_q);

	arch_spin_lock(&x->wait.lock);
	if (x->done != COMPLETE_ALL)
		x->done++;
	wake_up_all_locked(&x->wait, &wake_q);
	arch_spin_unlock(&x->wait.lock);
	wake_up_q(&wake_q);
}

void complete_all(struct completion *x)
{
	DEFINE_WAKE_Q(wake_q);

	arch_spin_lock(&x->wait.lock);
	x->done = COMPLETE_ALL;
	wake_up_all_locked(&x->wait, &wake_q);
	arch_spin_unlock(&x->wait.lock);
	wake_up_q(&wake_q);
}

/* Under the lock: take one count if there is one. */
static bool completion_consume(struct completion *x)
{
	if (!x->done)
		return false;
	if (x->done != COMPLETE_ALL)
		x->done--;
	return true;
}

int __wait_for_completion_state(struct completion *x, unsigned int state,
				const struct lock_site *site)
{
	struct wait_queue_entry wait;
	int ret = 0;

	__might_sleep(site);
	init_wait_entry(&wait);
	for (;;) {
		bool done;

		ret = prepare_to_wait_event(&x->wait, &wait, state);
		arch_spin_lock(&x->wait.lock);
		done = completion_consume(x);
		arch_spin_unlock(&x->wait.lock);
		if (done) {
			ret = 0;
			break;
		}
		if (ret)
			break;
		schedule();
	}
	finish_wait(&x->wait, &wait);
	return ret;
}

void __wait_for_completion(struct completion *x, const struct lock_site *site)
{
	__wait_for_completion_state(x, TASK_UNINTERRUPTIBLE, site);
}

bool try_wait_for_completion(struct completion *x)
{
	bool done;

	arch_spin_lock(&x->wait.lock);
	done = completion_consume(x);
	arch_spin_unlock(&x->wait.lock);
	return done;
}

bool completion_done(struct completion *x)
{
	bool done;

	arch_spin_lock(&x->wait.lock);
	done = x->done != 0;
	arch_spin_unlock(&x->wait.lock);
	return done;
}
