// SPDX-License-Identifier: GPL-2.0
/*
 * The lock checker: what it reports (order inversions of two and three
 * classes across threads, recursion, bad unlocks, failed assertions,
 * sleeping in atomic sections) and what it must not (a repeated order,
 * annotated nesting, thousands of nest-locked locks, trylocks, recursive
 * readers).  Threads run one after the other (kthread_run then
 * kthread_join), so every case is deterministic: lockdep reports an order
 * it has seen, not a deadlock that happened.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/completion.h"
#include "base/err.h"
#include "base/kthread.h"
#include "base/lockdep.h"
#include "base/mutex.h"
#include "base/preempt.h"
#include "base/rwlock.h"
#include "base/rwsem.h"
#include "base/spinlock.h"
#include "tests/lib/test_util.h"

#ifdef CONFIG_LOCKDEP
#define LOCKDEP_ENABLED 1
#else
#define LOCKDEP_ENABLED 0
#endif

/* Run @fn on its own thread to the end: the next step starts after it. */
static void run_thread(int (*fn)(void *), void *arg, const char *name)
{
	struct kthread *k = kthread_run(fn, arg, "%s", name);

	TEST_ASSERT(!IS_ERR(k), "kthread_run: %ld", PTR_ERR(k));
	TEST_ASSERT_EQ(kthread_join(k), 0);
}

/*
 * Record the line of a lock call: both the assignment and the call's
 * _THIS_SITE take the line of the AT() invocation.
 */
#define AT(line_var, stmt)                                                                         \
	do {                                                                                       \
		line_var = __LINE__;                                                               \
		stmt;                                                                              \
	} while (0)

static void assert_title_has(enum report_class cls, const char *fmt, ...) __printf(2, 3);
static void assert_title_has(enum report_class cls, const char *fmt, ...)
{
	char title[256], want[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	report_last_title(cls, title, sizeof(title));
	TEST_ASSERT(strstr(title, want), "report title '%s' does not name '%s'", title, want);
}

/*
 * Capture what reports print (stderr) into a file, to check the body of a
 * report and not only its title.
 */
struct capture {
	int saved_fd;
	FILE *file;
};

static void capture_start(struct capture *cap)
{
	fflush(stderr);
	cap->file = tmpfile();
	TEST_ASSERT(cap->file, "tmpfile");
	cap->saved_fd = dup(2);
	TEST_ASSERT(cap->saved_fd >= 0, "dup");
	TEST_ASSERT(dup2(fileno(cap->file), 2) == 2, "dup2");
}

/* Stop capturing; returns the text (malloc'd), which is also echoed to stderr. */
static char *capture_end(struct capture *cap)
{
	long len;
	char *text;

	fflush(stderr);
	dup2(cap->saved_fd, 2);
	close(cap->saved_fd);
	len = ftell(cap->file);
	text = calloc(1, len + 1);
	TEST_ASSERT(text, "calloc");
	rewind(cap->file);
	TEST_ASSERT_EQ(fread(text, 1, len, cap->file), (size_t)len);
	fclose(cap->file);
	fputs(text, stderr);
	return text;
}

static void assert_text_has(const char *text, const char *fmt, ...) __printf(2, 3);
static void assert_text_has(const char *text, const char *fmt, ...)
{
	char want[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	TEST_ASSERT(strstr(text, want), "report does not contain '%s'", want);
}

/* ---- order inversions -------------------------------------------------- */

struct two_locks {
	struct mutex a, b;
	int line_first, line_second; /* the sites of the thread's two lock calls */
};

static int take_a_then_b(void *arg)
{
	struct two_locks *t = arg;

	AT(t->line_first, mutex_lock(&t->a));
	AT(t->line_second, mutex_lock(&t->b));
	mutex_unlock(&t->b);
	mutex_unlock(&t->a);
	return 0;
}

static int take_b_then_a(void *arg)
{
	struct two_locks *t = arg;

	AT(t->line_first, mutex_lock(&t->b));
	AT(t->line_second, mutex_lock(&t->a));
	mutex_unlock(&t->a);
	mutex_unlock(&t->b);
	return 0;
}

static void init_two_locks(struct two_locks *t)
{
	mutex_init(&t->a);
	mutex_init(&t->b);
}

TEST(abba_reported)
{
	struct two_locks t;
	int a_then_b_first, a_then_b_second;
	struct capture cap;
	char *text;

	TEST_REQUIRE(LOCKDEP_ENABLED);
	init_two_locks(&t);
	run_thread(take_a_then_b, &t, "ab-thread");
	a_then_b_first = t.line_first;
	a_then_b_second = t.line_second;
	expect_reports(REPORT_LOCKDEP, 0);

	capture_start(&cap);
	run_thread(take_b_then_a, &t, "ba-thread");
	text = capture_end(&cap);
	expect_reports(REPORT_LOCKDEP, 1);
	/* The title names the new order: a taken at one site while holding b from another. */
	assert_title_has(REPORT_LOCKDEP, "circular locking dependency");
	assert_title_has(REPORT_LOCKDEP, "lockdep.c:%d", t.line_second);
	assert_title_has(REPORT_LOCKDEP, "lockdep.c:%d", t.line_first);
	/* The body also names the two sites of the order seen before, and the thread. */
	assert_text_has(text, "lockdep.c:%d", a_then_b_first);
	assert_text_has(text, "lockdep.c:%d", a_then_b_second);
	assert_text_has(text, "ba-thread");
	free(text);
}

TEST(same_order_twice_not_reported)
{
	struct two_locks t;

	init_two_locks(&t);
	run_thread(take_a_then_b, &t, "ab-1");
	run_thread(take_a_then_b, &t, "ab-2");
	take_a_then_b(&t);
	expect_reports(REPORT_LOCKDEP, 0);
}

TEST(inversion_reported_once)
{
	struct two_locks t;

	TEST_REQUIRE(LOCKDEP_ENABLED);
	init_two_locks(&t);
	take_a_then_b(&t);
	run_thread(take_b_then_a, &t, "ba-1");
	run_thread(take_b_then_a, &t, "ba-2");
	expect_reports(REPORT_LOCKDEP, 1);
}

struct three_locks {
	spinlock_t a, b, c;
	int line_c, line_a;
};

static int take_a_b(void *arg)
{
	struct three_locks *t = arg;

	spin_lock(&t->a);
	spin_lock(&t->b);
	spin_unlock(&t->b);
	spin_unlock(&t->a);
	return 0;
}

static int take_b_c(void *arg)
{
	struct three_locks *t = arg;

	spin_lock(&t->b);
	spin_lock(&t->c);
	spin_unlock(&t->c);
	spin_unlock(&t->b);
	return 0;
}

static int take_c_a(void *arg)
{
	struct three_locks *t = arg;

	AT(t->line_c, spin_lock(&t->c));
	AT(t->line_a, spin_lock(&t->a));
	spin_unlock(&t->a);
	spin_unlock(&t->c);
	return 0;
}

TEST(three_lock_cycle_reported)
{
	struct three_locks t;
	struct capture cap;
	char *text;

	TEST_REQUIRE(LOCKDEP_ENABLED);
	spin_lock_init(&t.a);
	spin_lock_init(&t.b);
	spin_lock_init(&t.c);
	run_thread(take_a_b, &t, "ab");
	run_thread(take_b_c, &t, "bc");
	expect_reports(REPORT_LOCKDEP, 0);
	capture_start(&cap);
	run_thread(take_c_a, &t, "ca");
	text = capture_end(&cap);
	expect_reports(REPORT_LOCKDEP, 1);
	assert_title_has(REPORT_LOCKDEP, "circular locking dependency");
	assert_title_has(REPORT_LOCKDEP, "lockdep.c:%d", t.line_a);
	assert_title_has(REPORT_LOCKDEP, "lockdep.c:%d", t.line_c);
	/* The existing chain a -> b -> c is printed, both links. */
	assert_text_has(text, "&t.a -> &t.b");
	assert_text_has(text, "&t.b -> &t.c");
	free(text);
}

/* Read acquisitions of an rwsem can wait behind a writer: they order like writes. */
TEST(rwsem_read_inversion_reported)
{
	struct rw_semaphore a, b;

	TEST_REQUIRE(LOCKDEP_ENABLED);
	init_rwsem(&a);
	init_rwsem(&b);
	down_read(&a);
	down_write(&b);
	up_write(&b);
	up_read(&a);
	down_write(&b);
	down_read(&a);
	up_read(&a);
	up_write(&b);
	expect_reports(REPORT_LOCKDEP, 1);
}

TEST(rwlock_inversion_reported)
{
	rwlock_t a;
	spinlock_t b;

	TEST_REQUIRE(LOCKDEP_ENABLED);
	rwlock_init(&a);
	spin_lock_init(&b);
	read_lock(&a);
	spin_lock(&b);
	spin_unlock(&b);
	read_unlock(&a);
	spin_lock(&b);
	write_lock(&a);
	write_unlock(&a);
	spin_unlock(&b);
	expect_reports(REPORT_LOCKDEP, 1);
}

/* A successful trylock is held but orders nothing: it could not have waited. */
TEST(trylock_records_no_order)
{
	struct two_locks t;

	init_two_locks(&t);
	mutex_lock(&t.a);
	TEST_ASSERT(mutex_trylock(&t.b), "trylock of a free mutex");
	lockdep_assert_held(&t.b);
	mutex_unlock(&t.b);
	mutex_unlock(&t.a);
	run_thread(take_b_then_a, &t, "ba");
	expect_reports(REPORT_LOCKDEP, 0);
}

/* But a lock taken under a trylock-held one is ordered after it and after those below. */
TEST(order_recorded_below_trylock)
{
	spinlock_t a, b, c;

	TEST_REQUIRE(LOCKDEP_ENABLED);
	spin_lock_init(&a);
	spin_lock_init(&b);
	spin_lock_init(&c);
	spin_lock(&a);
	TEST_ASSERT(spin_trylock(&b), "trylock of a free spinlock");
	spin_lock(&c);
	spin_unlock(&c);
	spin_unlock(&b);
	spin_unlock(&a);
	spin_lock(&c);
	spin_lock(&a);
	spin_unlock(&a);
	spin_unlock(&c);
	expect_reports(REPORT_LOCKDEP, 1);
}

/* ---- recursion and nesting ------------------------------------------------ */

TEST(recursive_locking_reported)
{
	struct mutex locks[2];
	int line;

	TEST_REQUIRE(LOCKDEP_ENABLED);
	for (int i = 0; i < 2; i++)
		mutex_init(&locks[i]); /* one site: one class */
	mutex_lock(&locks[0]);
	AT(line, mutex_lock(&locks[1]));
	expect_reports(REPORT_LOCKDEP, 1);
	assert_title_has(REPORT_LOCKDEP, "recursive locking");
	assert_title_has(REPORT_LOCKDEP, "lockdep.c:%d", line);
	mutex_unlock(&locks[1]);
	mutex_unlock(&locks[0]);
}

TEST(nested_subclass_allowed)
{
	spinlock_t locks[3];

	for (int i = 0; i < 3; i++)
		spin_lock_init(&locks[i]);
	spin_lock(&locks[0]);
	spin_lock_nested(&locks[1], 1);
	spin_lock_nested(&locks[2], 2);
	spin_unlock(&locks[2]);
	spin_unlock(&locks[1]);
	spin_unlock(&locks[0]);
	expect_reports(REPORT_LOCKDEP, 0);
}

/* Subclasses are classes of their own: their order is checked too. */
TEST(nested_subclass_order_checked)
{
	struct rw_semaphore sems[2];

	TEST_REQUIRE(LOCKDEP_ENABLED);
	for (int i = 0; i < 2; i++)
		init_rwsem(&sems[i]);
	down_write(&sems[0]);
	down_write_nested(&sems[1], 1);
	up_write(&sems[1]);
	up_write(&sems[0]);
	down_write_nested(&sems[1], 1);
	down_write(&sems[0]);
	up_write(&sems[0]);
	up_write(&sems[1]);
	expect_reports(REPORT_LOCKDEP, 1);
}

#define NR_NESTED 10000

/* mm_take_all_locks(): thousands of one class under one held outer lock. */
TEST(nest_lock_holds_thousands)
{
	struct rw_semaphore *sems = calloc(NR_NESTED, sizeof(*sems));
	struct mutex outer;
	spinlock_t inner;

	TEST_ASSERT(sems, "calloc");
	mutex_init(&outer);
	spin_lock_init(&inner);
	for (int i = 0; i < NR_NESTED; i++)
		init_rwsem(&sems[i]);

	mutex_lock(&outer);
	for (int i = 0; i < NR_NESTED; i++)
		down_write_nest_lock(&sems[i], &outer);
	if (LOCKDEP_ENABLED)
		TEST_ASSERT_EQ(lockdep_depth(), 2U); /* outer + one entry for the class */
	for (int i = 0; i < NR_NESTED; i++)
		TEST_ASSERT(rwsem_is_locked(&sems[i]), "sems[%d] not locked", i);
	lockdep_assert_held_write(&sems[NR_NESTED / 2]);
	/* Still an ordinary held lock for ordering what comes next. */
	spin_lock(&inner);
	spin_unlock(&inner);
	for (int i = NR_NESTED - 1; i >= 0; i--)
		up_write(&sems[i]);
	mutex_unlock(&outer);
	TEST_ASSERT_EQ(lockdep_depth(), 0U);
	for (int i = 0; i < NR_NESTED; i++)
		TEST_ASSERT(!rwsem_is_locked(&sems[i]), "sems[%d] still locked", i);
	expect_reports(REPORT_LOCKDEP, 0);
	free(sems);
}

TEST(nest_lock_not_held_reported)
{
	struct rw_semaphore sem;
	struct mutex outer;

	TEST_REQUIRE(LOCKDEP_ENABLED);
	init_rwsem(&sem);
	mutex_init(&outer);
	down_write_nest_lock(&sem, &outer);
	up_write(&sem);
	expect_reports(REPORT_LOCKDEP, 1);
	assert_title_has(REPORT_LOCKDEP, "nest_lock");
}

/* ---- unlock and assertions ---------------------------------------------- */

static struct lock_class_key pseudo_key __maybe_unused;
static struct lockdep_map pseudo_map = STATIC_LOCKDEP_MAP_INIT("pseudo_map", &pseudo_key);

TEST(unlock_of_unheld_reported)
{
	int line;

	TEST_REQUIRE(LOCKDEP_ENABLED);
	AT(line, lock_map_release(&pseudo_map));
	expect_reports(REPORT_LOCKDEP, 1);
	assert_title_has(REPORT_LOCKDEP, "bad unlock balance");
	assert_title_has(REPORT_LOCKDEP, "lockdep.c:%d", line);
}

static int unlock_foreign_mutex(void *arg)
{
	mutex_unlock(arg);
	return 0;
}

/* The thread that unlocks must be the one that holds it. */
TEST(unlock_by_other_thread_reported)
{
	struct mutex m;

	TEST_REQUIRE(LOCKDEP_ENABLED);
	mutex_init(&m);
	mutex_lock(&m);
	run_thread(unlock_foreign_mutex, &m, "unlocker");
	expect_reports(REPORT_LOCKDEP, 1);
	TEST_ASSERT(!mutex_is_locked(&m), "the unlock itself still happened");
	/* Our own entry is stale now; drop it the way the checker sees it. */
	lock_release(&m.dep_map, _THIS_SITE);
}

TEST(assert_held_reported_when_not_held)
{
	struct rw_semaphore sem;
	struct mutex m;
	int line;

	TEST_REQUIRE(LOCKDEP_ENABLED);
	mutex_init(&m);
	init_rwsem(&sem);

	AT(line, lockdep_assert_held(&m));
	expect_reports(REPORT_LOCKDEP, 1);
	assert_title_has(REPORT_LOCKDEP, "not held");
	assert_title_has(REPORT_LOCKDEP, "lockdep.c:%d", line);

	mutex_lock(&m);
	lockdep_assert_held(&m);
	mutex_unlock(&m);
	expect_reports(REPORT_LOCKDEP, 0);

	down_read(&sem);
	lockdep_assert_held(&sem);
	lockdep_assert_held_read(&sem);
	expect_reports(REPORT_LOCKDEP, 0);
	lockdep_assert_held_write(&sem);
	expect_reports(REPORT_LOCKDEP, 1);
	assert_title_has(REPORT_LOCKDEP, "not held for write");
	up_read(&sem);

	down_write(&sem);
	lockdep_assert_held_write(&sem);
	expect_reports(REPORT_LOCKDEP, 0);
	lockdep_assert_held_read(&sem);
	expect_reports(REPORT_LOCKDEP, 1);
	downgrade_write(&sem);
	lockdep_assert_held_read(&sem);
	up_read(&sem);
	expect_reports(REPORT_LOCKDEP, 0);
}

TEST(assert_none_held)
{
	spinlock_t l;

	TEST_REQUIRE(LOCKDEP_ENABLED);
	spin_lock_init(&l);
	lockdep_assert_none_held();
	expect_reports(REPORT_LOCKDEP, 0);
	spin_lock(&l);
	lockdep_assert_none_held();
	lockdep_assert_not_held(&l);
	spin_unlock(&l);
	expect_reports(REPORT_LOCKDEP, 2);
	lockdep_assert_not_held(&l);
	expect_reports(REPORT_LOCKDEP, 0);
}

/* Static locks are classes of their own, keyed by their address. */
static DEFINE_SPINLOCK(static_a);
static DEFINE_MUTEX(static_b);

TEST(static_locks_checked)
{
	TEST_REQUIRE(LOCKDEP_ENABLED);
	spin_lock(&static_a);
	lockdep_assert_held(&static_a);
	spin_unlock(&static_a);
	mutex_lock(&static_b);
	spin_lock(&static_a);
	spin_unlock(&static_a);
	mutex_unlock(&static_b);
	expect_reports(REPORT_LOCKDEP, 0);
	/* static_b -> static_a is known: a mutex under a spinlock is also a sleep in atomic. */
	spin_lock(&static_a);
	mutex_lock(&static_b);
	mutex_unlock(&static_b);
	spin_unlock(&static_a);
	expect_reports(REPORT_LOCKDEP, 1);
	expect_reports(REPORT_ATOMIC_SLEEP, 1);
}

/* One explicit key makes locks initialised at different sites one class. */
TEST(set_class_merges_classes)
{
	static struct lock_class_key shared_key;
	struct rw_semaphore x, y;

	TEST_REQUIRE(LOCKDEP_ENABLED);
	init_rwsem(&x);
	init_rwsem(&y);
	down_write(&x);
	down_write(&y); /* different classes: fine */
	up_write(&y);
	up_write(&x);
	expect_reports(REPORT_LOCKDEP, 0);
	__init_rwsem(&x, "shared", &shared_key);
	lockdep_set_class(&y, &shared_key);
	down_write(&x);
	down_write(&y);
	up_write(&y);
	up_write(&x);
	expect_reports(REPORT_LOCKDEP, 1);
	assert_title_has(REPORT_LOCKDEP, "recursive locking");
}

/* ---- pseudo-locks with recursive readers (SRCU) ----------------------------- */

static struct lock_class_key srcu_key __maybe_unused;
static struct lockdep_map srcu_map = STATIC_LOCKDEP_MAP_INIT("srcu", &srcu_key);

/*
 * Readers of a recursive-read map never wait for each other: nested read
 * sections, and a lock taken inside a read section and around one, are
 * fine.  Waiting for the readers (lock_map_sync) under that lock is the
 * real deadlock and is reported.
 */
TEST(recursive_read_rules)
{
	struct mutex m;

	TEST_REQUIRE(LOCKDEP_ENABLED);
	mutex_init(&m);
	lock_map_acquire_read(&srcu_map);
	lock_map_acquire_read(&srcu_map);
	mutex_lock(&m);
	mutex_unlock(&m);
	lock_map_release(&srcu_map);
	lock_map_release(&srcu_map);

	mutex_lock(&m);
	lock_map_acquire_read(&srcu_map);
	lock_map_release(&srcu_map);
	mutex_unlock(&m);
	expect_reports(REPORT_LOCKDEP, 0);

	mutex_lock(&m);
	lock_map_sync(&srcu_map); /* synchronize_srcu() under m, which readers take */
	mutex_unlock(&m);
	expect_reports(REPORT_LOCKDEP, 1);
	assert_title_has(REPORT_LOCKDEP, "circular locking dependency");
}

/* An exclusive pseudo-lock (the notifier's invalidate map) orders like a lock. */
TEST(exclusive_map_orders)
{
	static struct lock_class_key key __maybe_unused;
	static struct lockdep_map map = STATIC_LOCKDEP_MAP_INIT("invalidate_map", &key);
	struct mutex m;

	TEST_REQUIRE(LOCKDEP_ENABLED);
	mutex_init(&m);
	lock_map_acquire(&map);
	mutex_lock(&m);
	mutex_unlock(&m);
	lock_map_release(&map);
	mutex_lock(&m);
	lock_map_acquire(&map);
	lock_map_release(&map);
	mutex_unlock(&m);
	expect_reports(REPORT_LOCKDEP, 1);
}

/* ---- sleeping in atomic sections ------------------------------------------- */

TEST(mutex_in_spinlock_reported)
{
	spinlock_t l;
	struct mutex m;
	int line_spin, line_mutex;
	struct capture cap;
	char *text;

	TEST_REQUIRE(LOCKDEP_ENABLED);
	spin_lock_init(&l);
	mutex_init(&m);
	AT(line_spin, spin_lock(&l));
	capture_start(&cap);
	AT(line_mutex, mutex_lock(&m));
	text = capture_end(&cap);
	mutex_unlock(&m);
	spin_unlock(&l);
	expect_reports(REPORT_ATOMIC_SLEEP, 1);
	assert_title_has(REPORT_ATOMIC_SLEEP, "lockdep.c:%d", line_mutex);
	/* Where the atomic section was opened, and the spinlock held. */
	assert_text_has(text, "lockdep.c:%d", line_spin);
	assert_text_has(text, "&l");
	free(text);
}

TEST(might_sleep_in_preempt_disable_reported)
{
	int line;

	TEST_REQUIRE(LOCKDEP_ENABLED);
	preempt_disable();
	TEST_ASSERT(in_atomic(), "preempt_disable opens an atomic section");
	AT(line, might_sleep());
	preempt_enable();
	TEST_ASSERT(!in_atomic(), "preempt_enable closes it");
	expect_reports(REPORT_ATOMIC_SLEEP, 1);
	assert_title_has(REPORT_ATOMIC_SLEEP, "lockdep.c:%d", line);
}

TEST(might_sleep_outside_atomic_silent)
{
	rwlock_t rw;
	spinlock_t l;
	struct mutex m;
	struct rw_semaphore sem;

	rwlock_init(&rw);
	spin_lock_init(&l);
	mutex_init(&m);
	init_rwsem(&sem);
	might_sleep();
	spin_lock(&l);
	spin_unlock(&l);
	read_lock(&rw);
	read_unlock(&rw);
	mutex_lock(&m); /* after the spinlock is released: fine */
	down_read(&sem);
	might_sleep();
	up_read(&sem);
	mutex_unlock(&m);
	expect_reports(REPORT_ATOMIC_SLEEP, 0);
}

TEST(rwlock_opens_atomic_section)
{
	rwlock_t rw;

	rwlock_init(&rw);
	read_lock(&rw);
	TEST_ASSERT(in_atomic(), "read_lock");
	read_unlock(&rw);
	write_lock(&rw);
	TEST_ASSERT(in_atomic(), "write_lock");
	write_unlock(&rw);
	TEST_ASSERT(!in_atomic(), "after unlock");
	TEST_REQUIRE(LOCKDEP_ENABLED);
	read_lock(&rw);
	might_sleep();
	read_unlock(&rw);
	expect_reports(REPORT_ATOMIC_SLEEP, 1);
}

/* Lockdep itself: a task leaving with a lock held is reported at unregister. */
static int exit_holding(void *arg)
{
	spin_lock(arg);
	preempt_enable(); /* keep the count sane; the lock stays "held" */
	return 0;
}

TEST(exit_with_lock_held_reported)
{
	spinlock_t l;

	TEST_REQUIRE(LOCKDEP_ENABLED);
	spin_lock_init(&l);
	run_thread(exit_holding, &l, "leaker");
	expect_reports(REPORT_LOCKDEP, 1);
	assert_title_has(REPORT_LOCKDEP, "where none may be");
}
