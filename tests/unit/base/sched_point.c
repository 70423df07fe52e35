// SPDX-License-Identifier: GPL-2.0
/*
 * base/sched_point.h: a thread parks at an armed point and the test sees
 * the state before and after releasing it; two threads at two points in a
 * chosen order, reproducing a lost update every time; nth-hit parking;
 * task-name filtering; the data a parked thread hands over; unarmed points and other names pass through; parking
 * inside a spinlock's atomic section is not a sleep-in-atomic; misuse WARNs.
 *
 * Where the failure mode would be "the thread parks when it must not" (or
 * the reverse), the test does not block on it: it yields until the thread
 * is either parked or done, so a broken filter fails at once instead of
 * hanging until the ctest timeout.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "base/err.h"
#include "base/kthread.h"
#include "base/sched_point.h"
#include "base/spinlock.h"
#include "tests/lib/test_util.h"

/* A kthread named @comm running @fn. */
struct racer {
	struct kthread *thread;
	void (*fn)(struct racer *);
	void *arg;
	const char *point; /* pass_point()'s schedule point */
	int progress;	   /* how far @fn got; written by it, read by the test */
	int done;
};

static int racer_main(void *arg)
{
	struct racer *r = arg;

	r->fn(r);
	smp_store_release(&r->done, 1);
	return 0;
}

static void racer_start(struct racer *r, const char *comm, void (*fn)(struct racer *), void *arg)
{
	r->fn = fn;
	r->arg = arg;
	r->progress = 0;
	r->done = 0;
	r->thread = kthread_run(racer_main, r, "%s", comm);
	TEST_ASSERT(!IS_ERR(r->thread), "kthread_run: %ld", PTR_ERR(r->thread));
}

static void racer_join(struct racer *r)
{
	TEST_ASSERT_EQ(kthread_join(r->thread), 0);
}

static int progress(struct racer *r)
{
	return __atomic_load_n(&r->progress, __ATOMIC_ACQUIRE);
}

static void advance(struct racer *r)
{
	__atomic_fetch_add(&r->progress, 1, __ATOMIC_RELEASE);
}

/* Yield until @r is parked at @name (true) or has finished (false). */
static bool parked_before_done(struct racer *r, const char *name)
{
	for (;;) {
		if (sched_point_parked(name))
			return true;
		if (smp_load_acquire(&r->done))
			return false;
		sched_yield();
	}
}

static void pass_point(struct racer *r)
{
	sched_point(r->point);
	advance(r);
}

/* A racer that passes schedule point @point once. */
static void racer_start_at(struct racer *r, const char *comm, const char *point)
{
	r->point = point;
	racer_start(r, comm, pass_point, NULL);
}

TEST(parks_until_released)
{
	struct racer r;

	TEST_ASSERT_EQ(sched_point_arm("test:park", NULL), 0);
	racer_start_at(&r, "parker", "test:park");
	TEST_ASSERT_EQ(sched_point_wait("test:park"), 0);
	TEST_ASSERT(sched_point_parked("test:park"), "wait returned, not parked");
	/* Parked before the increment that follows the point. */
	TEST_ASSERT_EQ(progress(&r), 0);
	TEST_ASSERT(!smp_load_acquire(&r.done), "thread finished while parked");
	sched_point_release("test:park");
	racer_join(&r);
	TEST_ASSERT_EQ(progress(&r), 1);
	TEST_ASSERT(!sched_point_parked("test:park"), "still parked after release");
	TEST_ASSERT_EQ(atomic_read(&sched_points_armed), 0);
}

static void pass_point_with_data(struct racer *r)
{
	sched_point_data(r->point, r->arg);
	advance(r);
}

/* The parked thread says what it is working on; nobody hears it once it goes on. */
TEST(parked_thread_hands_over_its_data)
{
	void *data = NULL;
	int work;
	struct racer r;

	TEST_ASSERT_EQ(sched_point_arm("test:data", NULL), 0);
	r.point = "test:data";
	racer_start(&r, "worker", pass_point_with_data, &work);
	TEST_ASSERT_EQ(sched_point_wait("test:data"), 0);
	TEST_ASSERT(sched_point_parked_data("test:data", &data), "parked");
	TEST_ASSERT(data == &work, "data %p, passed %p", data, (void *)&work);
	sched_point_release("test:data");
	racer_join(&r);
	data = NULL;
	TEST_ASSERT(!sched_point_parked_data("test:data", &data) && !data, "gone with release");
}

TEST(wait_after_thread_parked_returns_at_once)
{
	struct racer r;

	sched_point_arm("test:early", NULL);
	racer_start_at(&r, "early", "test:early");
	TEST_ASSERT(parked_before_done(&r, "test:early"), "passed an armed point");
	TEST_ASSERT_EQ(sched_point_wait("test:early"), 0);
	TEST_ASSERT_EQ(progress(&r), 0);
	sched_point_release("test:early");
	racer_join(&r);
	TEST_ASSERT_EQ(progress(&r), 1);
}

/*
 * A non-atomic increment split by a point: read, point, write.  Parking A
 * between its read and its write while B increments reproduces the lost
 * update on every run.
 */
struct shared_counter {
	long value;
};

static void split_increment(struct racer *r)
{
	struct shared_counter *c = r->arg;
	long v = READ_ONCE(c->value);

	sched_point("test:inc:between");
	WRITE_ONCE(c->value, v + 1);
	advance(r);
}

TEST(driven_interleaving_loses_an_update)
{
	struct shared_counter c = { 0 };
	struct racer a, b;

	/* Only "inc-a" parks; "inc-b" passes the same point. */
	sched_point_arm("test:inc:between", "inc-a");
	racer_start(&a, "inc-a", split_increment, &c);
	sched_point_wait("test:inc:between");
	racer_start(&b, "inc-b", split_increment, &c);
	racer_join(&b);
	TEST_ASSERT_EQ(READ_ONCE(c.value), 1);
	sched_point_release("test:inc:between");
	racer_join(&a);
	/* A wrote back the value it read before B's increment. */
	TEST_ASSERT_EQ(READ_ONCE(c.value), 1);
	TEST_ASSERT_EQ(progress(&a) + progress(&b), 2);
}

/* Two threads parked at two points at once, released in a chosen order. */
struct order_log {
	spinlock_t lock;
	char seq[8];
	int n;
};

static void log_after_point(struct racer *r, const char *point, char tag)
{
	struct order_log *log = r->arg;

	sched_point(point);
	spin_lock(&log->lock);
	log->seq[log->n++] = tag;
	spin_unlock(&log->lock);
}

static void first_thread(struct racer *r)
{
	log_after_point(r, "test:p1", '1');
}

static void second_thread(struct racer *r)
{
	log_after_point(r, "test:p2", '2');
}

static void run_two_points(bool release_p2_first, const char *want)
{
	struct order_log log = { .n = 0 };
	struct racer t1, t2;

	spin_lock_init(&log.lock);
	sched_point_arm("test:p1", "t1");
	sched_point_arm("test:p2", "t2");
	racer_start(&t1, "t1", first_thread, &log);
	racer_start(&t2, "t2", second_thread, &log);
	sched_point_wait("test:p1");
	sched_point_wait("test:p2");
	TEST_ASSERT(sched_point_parked("test:p1") && sched_point_parked("test:p2"),
		    "both should be parked at once");
	TEST_ASSERT_EQ(log.n, 0);
	if (release_p2_first) {
		sched_point_release("test:p2");
		racer_join(&t2);
		sched_point_release("test:p1");
		racer_join(&t1);
	} else {
		sched_point_release("test:p1");
		racer_join(&t1);
		sched_point_release("test:p2");
		racer_join(&t2);
	}
	log.seq[log.n] = 0;
	TEST_ASSERT(!strcmp(log.seq, want), "order %s, want %s", log.seq, want);
}

TEST(two_points_two_threads_chosen_order)
{
	run_two_points(true, "21");
	run_two_points(false, "12");
}

static void loop_over_point(struct racer *r)
{
	for (int i = 0; i < 5; i++) {
		sched_point("test:loop");
		advance(r);
	}
}

TEST(nth_hit_parks)
{
	struct racer r;

	TEST_ASSERT_EQ(sched_point_arm_count("test:loop", NULL, 3), 0);
	racer_start(&r, "looper", loop_over_point, NULL);
	TEST_ASSERT(parked_before_done(&r, "test:loop"), "never parked");
	/* Parked at the third hit: two iterations completed. */
	TEST_ASSERT_EQ(progress(&r), 2);
	sched_point_release("test:loop");
	racer_join(&r);
	TEST_ASSERT_EQ(progress(&r), 5);
}

TEST(nth_hit_counts_only_matching_tasks)
{
	struct racer other, wanted;

	sched_point_arm_count("test:loop", "wanted", 2);
	racer_start(&other, "other", loop_over_point, NULL);
	TEST_ASSERT(!parked_before_done(&other, "test:loop"), "other task parked");
	racer_join(&other);
	racer_start(&wanted, "wanted", loop_over_point, NULL);
	TEST_ASSERT(parked_before_done(&wanted, "test:loop"), "wanted task never parked");
	TEST_ASSERT_EQ(progress(&wanted), 1);
	sched_point_release("test:loop");
	racer_join(&wanted);
}

TEST(other_task_passes_a_filtered_point)
{
	struct racer other, wanted;

	sched_point_arm("test:filter", "wanted");
	racer_start_at(&other, "other", "test:filter");
	TEST_ASSERT(!parked_before_done(&other, "test:filter"), "a task of another name parked");
	racer_join(&other);
	TEST_ASSERT_EQ(progress(&other), 1);

	racer_start_at(&wanted, "wanted", "test:filter");
	TEST_ASSERT_EQ(sched_point_wait("test:filter"), 0);
	TEST_ASSERT_EQ(progress(&wanted), 0);
	sched_point_release("test:filter");
	racer_join(&wanted);
	TEST_ASSERT_EQ(progress(&wanted), 1);
}

TEST(unarmed_points_do_not_block)
{
	struct racer r;

	/* Nothing armed: the fast path. */
	TEST_ASSERT_EQ(atomic_read(&sched_points_armed), 0);
	racer_start_at(&r, "free", "test:unarmed");
	TEST_ASSERT(!parked_before_done(&r, "test:unarmed"), "parked at an unarmed point");
	racer_join(&r);
	TEST_ASSERT_EQ(progress(&r), 1);

	/* Another point armed: the slow path, which must not match this name. */
	sched_point_arm("test:armed", NULL);
	racer_start_at(&r, "free", "test:unarmed");
	TEST_ASSERT(!parked_before_done(&r, "test:armed"), "parked at the wrong point");
	racer_join(&r);
	TEST_ASSERT_EQ(progress(&r), 1);
	TEST_ASSERT(!sched_point_parked("test:armed"), "armed point parked");
	sched_point_release("test:armed");
}

TEST(second_thread_passes_while_first_is_parked)
{
	struct racer a, b;

	sched_point_arm("test:once", NULL);
	racer_start_at(&a, "first", "test:once");
	sched_point_wait("test:once");
	racer_start_at(&b, "second", "test:once");
	racer_join(&b);
	TEST_ASSERT_EQ(progress(&b), 1);
	TEST_ASSERT_EQ(progress(&a), 0);
	sched_point_release("test:once");
	racer_join(&a);
	TEST_ASSERT_EQ(progress(&a), 1);
}

TEST(release_before_reached_disarms)
{
	struct racer r;

	sched_point_arm("test:cancel", NULL);
	TEST_ASSERT(!sched_point_parked("test:cancel"), "parked with no thread");
	sched_point_release("test:cancel");
	TEST_ASSERT_EQ(atomic_read(&sched_points_armed), 0);
	racer_start_at(&r, "late", "test:cancel");
	TEST_ASSERT(!parked_before_done(&r, "test:cancel"), "parked at a cancelled point");
	racer_join(&r);
	TEST_ASSERT_EQ(progress(&r), 1);
}

/* One thread stopped at two points in turn; the first is re-armed after. */
static void two_stops(struct racer *r)
{
	sched_point("test:stop1");
	advance(r);
	sched_point("test:stop2");
	advance(r);
	sched_point("test:stop1");
	advance(r);
}

TEST(one_thread_two_stops_and_rearm)
{
	struct racer r;

	sched_point_arm("test:stop1", "stopper");
	sched_point_arm("test:stop2", "stopper");
	racer_start(&r, "stopper", two_stops, NULL);
	sched_point_wait("test:stop1");
	TEST_ASSERT_EQ(progress(&r), 0);
	sched_point_release("test:stop1");
	sched_point_wait("test:stop2");
	TEST_ASSERT_EQ(progress(&r), 1);
	/* Re-arm stop1 while the thread is parked at stop2: it parks again. */
	sched_point_arm("test:stop1", "stopper");
	sched_point_release("test:stop2");
	sched_point_wait("test:stop1");
	TEST_ASSERT_EQ(progress(&r), 2);
	sched_point_release("test:stop1");
	racer_join(&r);
	TEST_ASSERT_EQ(progress(&r), 3);
}

/* Parking under a spinlock is not a sleep in atomic context. */
struct locked_arg {
	spinlock_t lock;
	int in_atomic_while_parked;
};

static void park_under_spinlock(struct racer *r)
{
	struct locked_arg *la = r->arg;

	spin_lock(&la->lock);
	sched_point("test:atomic");
	WRITE_ONCE(la->in_atomic_while_parked, in_atomic());
	spin_unlock(&la->lock);
	advance(r);
}

TEST(park_inside_atomic_section)
{
	struct locked_arg la = { .in_atomic_while_parked = -1 };
	struct racer r;

	spin_lock_init(&la.lock);
	sched_point_arm("test:atomic", NULL);
	racer_start(&r, "atomic", park_under_spinlock, &la);
	sched_point_wait("test:atomic");
	/* The parked thread holds the lock: the window a race test drives. */
	TEST_ASSERT(!spin_trylock(&la.lock), "lock free while its holder is parked");
	sched_point_release("test:atomic");
	racer_join(&r);
	TEST_ASSERT_EQ(READ_ONCE(la.in_atomic_while_parked), 1);
	TEST_ASSERT_EQ(progress(&r), 1);
	/* The harness fails the case on any sleep-in-atomic report. */
}

TEST(misuse_warns)
{
	TEST_ASSERT_EQ(sched_point_arm_count("test:misuse", NULL, 0), -EINVAL);
	expect_reports(REPORT_WARN, 1);
	TEST_ASSERT_EQ(sched_point_wait("test:misuse"), -ENOENT);
	expect_reports(REPORT_WARN, 1);
	sched_point_release("test:misuse");
	expect_reports(REPORT_WARN, 1);
	TEST_ASSERT_EQ(sched_point_arm("test:misuse", NULL), 0);
	TEST_ASSERT_EQ(sched_point_arm("test:misuse", "t"), -EBUSY);
	expect_reports(REPORT_WARN, 1);
	TEST_ASSERT_EQ(sched_point_arm("test:a-point-name-far-too-long-to-fit-in-the-table-slot-"
				       "of-sixty-four-bytes",
				       NULL),
		       -ENAMETOOLONG);
	expect_reports(REPORT_WARN, 1);
	sched_point_release("test:misuse");
	TEST_ASSERT_EQ(atomic_read(&sched_points_armed), 0);
}

TEST(many_points_armed_then_table_full)
{
	char names[SCHED_POINT_MAX + 1][16];
	int i;

	for (i = 0; i <= SCHED_POINT_MAX; i++)
		snprintf(names[i], sizeof(names[i]), "test:many%d", i);
	for (i = 0; i < SCHED_POINT_MAX; i++)
		TEST_ASSERT_EQ(sched_point_arm(names[i], NULL), 0);
	TEST_ASSERT_EQ(sched_point_arm(names[SCHED_POINT_MAX], NULL), -ENOSPC);
	expect_reports(REPORT_WARN, 1);
	TEST_ASSERT_EQ(atomic_read(&sched_points_armed), SCHED_POINT_MAX);
	for (i = 0; i < SCHED_POINT_MAX; i++)
		sched_point_release(names[i]);
	TEST_ASSERT_EQ(atomic_read(&sched_points_armed), 0);
}
