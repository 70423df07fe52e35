// SPDX-License-Identifier: GPL-2.0
/*
 * current and kthreads: lazily created and registered task records, CPU
 * numbers, the interrupt flag, sleeping and waking, and kthread start,
 * stop and join.
 */
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "base/current.h"
#include "base/err.h"
#include "base/kthread.h"
#include "base/completion.h"
#include "base/wait.h"
#include "tests/lib/test_util.h"

struct record_seen {
	char comm[TASK_COMM_LEN];
	int tid, expected_tid, cpu;
	struct task_struct *tsk;
};

static void *lazy_thread(void *arg)
{
	struct record_seen *seen = arg;

	seen->expected_tid = gettid();
	seen->tsk = current;
	seen->tid = current->tid;
	seen->cpu = current->cpu;
	strcpy(seen->comm, current->comm);
	TEST_ASSERT(current == seen->tsk, "one record per thread");
	return NULL;
}

TEST(current_created_lazily)
{
	struct record_seen seen = { 0 };
	char expected[TASK_COMM_LEN];
	pthread_t thread;

	TEST_ASSERT_EQ(pthread_create(&thread, NULL, lazy_thread, &seen), 0);
	TEST_ASSERT_EQ(pthread_join(thread, NULL), 0);
	TEST_ASSERT_EQ(seen.tid, seen.expected_tid);
	snprintf(expected, sizeof(expected), "thread-%d", seen.expected_tid);
	TEST_ASSERT(!strcmp(seen.comm, expected), "name '%s', expected '%s'", seen.comm, expected);
	TEST_ASSERT(seen.cpu >= 0 && seen.cpu < NR_CPUS, "cpu %d", seen.cpu);
	TEST_ASSERT(seen.tsk != current, "another thread, another record");
}

TEST(task_register_names)
{
	struct task_struct *tsk = task_register("named");

	TEST_ASSERT(tsk == current, "registers the calling thread's record");
	TEST_ASSERT(!strcmp(current->comm, "named"), "comm '%s'", current->comm);
	TEST_ASSERT_EQ(current->tid, gettid());
	/* A name longer than the field is cut, never overflows. */
	task_register("a-name-much-longer-than-twenty-four-characters");
	TEST_ASSERT_EQ(strlen(current->comm), (size_t)TASK_COMM_LEN - 1);
}

TEST(task_unregister_then_new_record)
{
	struct task_struct *old = current;

	get_task_struct(old); /* keep it to compare */
	task_unregister();
	TEST_ASSERT(current != old, "a fresh record after unregister");
	TEST_ASSERT(!strncmp(current->comm, "thread-", 7), "lazily named '%s'", current->comm);
	put_task_struct(old);
	task_register("test-main");
}

static void *cpu_thread(void *arg)
{
	*(int *)arg = current->cpu;
	return NULL;
}

/* Round robin: NR_CPUS consecutive threads get NR_CPUS different numbers. */
TEST(cpus_round_robin)
{
	bool seen[NR_CPUS] = { false };
	int cpus[NR_CPUS];
	pthread_t thread;

	for (int i = 0; i < NR_CPUS; i++) {
		TEST_ASSERT_EQ(pthread_create(&thread, NULL, cpu_thread, &cpus[i]), 0);
		TEST_ASSERT_EQ(pthread_join(thread, NULL), 0);
		TEST_ASSERT(cpus[i] >= 0 && cpus[i] < NR_CPUS, "cpu %d", cpus[i]);
		TEST_ASSERT(!seen[cpus[i]], "cpu %d given twice among %d threads", cpus[i],
			    NR_CPUS);
		seen[cpus[i]] = true;
	}
}

TEST(signal_pending_set_clear)
{
	TEST_ASSERT(!signal_pending(current), "clear at start");
	task_raise_interrupt(current);
	TEST_ASSERT(signal_pending(current), "raised");
	TEST_ASSERT(signal_pending_state(TASK_INTERRUPTIBLE, current), "ends interruptible sleeps");
	TEST_ASSERT(signal_pending_state(TASK_KILLABLE, current), "ends killable sleeps");
	TEST_ASSERT(!signal_pending_state(TASK_UNINTERRUPTIBLE, current),
		    "not uninterruptible ones");
	task_clear_interrupt(current);
	TEST_ASSERT(!signal_pending(current), "cleared");
}

/* schedule() in an interruptible state returns at once with an interrupt pending. */
TEST(schedule_with_pending_interrupt_returns)
{
	task_raise_interrupt(current);
	set_current_state(TASK_INTERRUPTIBLE);
	schedule();
	TEST_ASSERT_EQ(current->__state, TASK_RUNNING);
	task_clear_interrupt(current);
}

struct sleeper {
	struct task_struct *tsk;
	bool flag;
};

/* The bare protocol every primitive is built on: state, test, schedule. */
static int sleep_until_flag(void *arg)
{
	struct sleeper *s = arg;

	for (;;) {
		set_current_state(TASK_UNINTERRUPTIBLE);
		if (__atomic_load_n(&s->flag, __ATOMIC_SEQ_CST))
			break;
		schedule();
	}
	__set_current_state(TASK_RUNNING);
	return 0;
}

TEST(wake_up_process_wakes_sleeper)
{
	static struct sleeper s;
	struct kthread *k;

	for (int i = 0; i < 2000; i++) {
		s.flag = false;
		k = kthread_run(sleep_until_flag, &s, "sleeper");
		TEST_ASSERT(!IS_ERR(k), "kthread_run");
		if (i % 2)
			sched_yield(); /* sometimes let it go to sleep first */
		__atomic_store_n(&s.flag, true, __ATOMIC_SEQ_CST);
		wake_up_process(kthread_task(k));
		TEST_ASSERT_EQ(kthread_join(k), 0);
	}
}

/* ---- kthreads --------------------------------------------------------------- */

struct worker {
	wait_queue_head_t wq;
	unsigned long loops;
	char comm[TASK_COMM_LEN];
	struct completion ready;
};

static int worker_fn(void *arg)
{
	struct worker *w = arg;

	strcpy(w->comm, current->comm);
	complete(&w->ready);
	while (!kthread_should_stop()) {
		w->loops++;
		/* Sleeps until kthread_stop() wakes it: nobody wakes w->wq. */
		wait_event(w->wq, kthread_should_stop());
	}
	return 42;
}

TEST(kthread_stop_returns_value)
{
	static struct worker w;
	struct kthread *k;

	init_waitqueue_head(&w.wq);
	init_completion(&w.ready);
	k = kthread_run(worker_fn, &w, "worker/%d", 7);
	TEST_ASSERT(!IS_ERR(k), "kthread_run");
	/* Registered under its name before kthread_run() returns. */
	TEST_ASSERT(!strcmp(kthread_task(k)->comm, "worker/7"), "comm '%s'", kthread_task(k)->comm);
	wait_for_completion(&w.ready);
	TEST_ASSERT_EQ(kthread_stop(k), 42);
	TEST_ASSERT(!strcmp(w.comm, "worker/7"), "comm seen by the thread '%s'", w.comm);
	TEST_ASSERT(w.loops <= 1, "loops %lu", w.loops);
}

static int returns_arg(void *arg)
{
	return (int)(long)arg;
}

TEST(kthread_join_returns_value)
{
	struct kthread *k = kthread_run(returns_arg, (void *)-5L, "short");

	TEST_ASSERT(!IS_ERR(k), "kthread_run");
	TEST_ASSERT_EQ(kthread_join(k), -5);
	/* Stopping a thread that already returned is fine too. */
	k = kthread_run(returns_arg, (void *)3L, "short-2");
	TEST_ASSERT(!IS_ERR(k), "kthread_run");
	TEST_ASSERT_EQ(kthread_stop(k), 3);
}

TEST(kthread_should_stop_elsewhere_false)
{
	TEST_ASSERT(!kthread_should_stop(), "not a kthread");
}
