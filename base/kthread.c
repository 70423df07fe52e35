// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/completion.h"
#include "base/err.h"
#include "base/kthread.h"

struct kthread {
	pthread_t thread;
	int (*threadfn)(void *data);
	void *data;
	int result;
	bool should_stop;
	struct task_struct *task; /* referenced: kthread_stop() may wake it after it exited */
	struct completion started;
	char comm[TASK_COMM_LEN];
};

static void *kthread(void *arg)
{
	struct kthread *k = arg;
	struct task_struct *tsk = task_register(k->comm);

	tsk->kthread = k;
	k->task = get_task_struct(tsk);
	complete(&k->started);
	k->result = k->threadfn(k->data);
	tsk->kthread = NULL;
	task_unregister();
	return NULL;
}

struct kthread *kthread_run(int (*threadfn)(void *data), void *data, const char *namefmt, ...)
{
	struct kthread *k = calloc(1, sizeof(*k));
	va_list ap;
	int err;

	if (!k)
		return ERR_PTR(-ENOMEM);
	k->threadfn = threadfn;
	k->data = data;
	init_completion(&k->started);
	va_start(ap, namefmt);
	vsnprintf(k->comm, sizeof(k->comm), namefmt, ap);
	va_end(ap);
	err = pthread_create(&k->thread, NULL, kthread, k);
	if (err) {
		free(k);
		return ERR_PTR(-err);
	}
	/* As kthread_create(): the thread exists, with its name, when we return. */
	wait_for_completion(&k->started);
	return k;
}

bool kthread_should_stop(void)
{
	struct kthread *k = current->kthread;

	return k && smp_load_acquire(&k->should_stop);
}

struct task_struct *kthread_task(struct kthread *k)
{
	return k->task;
}

int kthread_join(struct kthread *k)
{
	int ret;

	might_sleep();
	pthread_join(k->thread, NULL);
	ret = k->result;
	put_task_struct(k->task);
	free(k);
	return ret;
}

int kthread_stop(struct kthread *k)
{
	smp_store_release(&k->should_stop, true);
	wake_up_process(k->task);
	return kthread_join(k);
}
