// SPDX-License-Identifier: GPL-2.0
/*
 * SRCU: what a grace period waits for and what it does not, nesting,
 * independent domains, call_srcu() and srcu_barrier(), the lockdep checks,
 * and the life of reader records across thread exit and domain cleanup.
 *
 * Threads are ordered with completions, joins and the schedule points in
 * srcu.c: "srcu:readers_busy" (a grace period's check found readers inside
 * and it is about to poll again) and "srcu:after_flip".  An updater parked
 * at "srcu:readers_busy" has seen the reader and not returned; the updater
 * itself asserts, the moment synchronize_srcu() returns, that the reader had
 * left, so a grace period that ends early fails the case at once.
 */
#include <stdlib.h>
#include <string.h>

#include "base/completion.h"
#include "base/err.h"
#include "base/kthread.h"
#include "base/mutex.h"
#include "base/sched_point.h"
#include "notifier/srcu.h"
#include "tests/lib/test_util.h"

/* A reader that parks inside its section until released. */
struct parked_reader {
	struct srcu_struct *ssp;
	struct completion entered;
	struct completion release;
	int idx;
	bool left; /* set just before srcu_read_unlock() */
};

static void parked_reader_init(struct parked_reader *pr, struct srcu_struct *ssp)
{
	memset(pr, 0, sizeof(*pr));
	pr->ssp = ssp;
	init_completion(&pr->entered);
	init_completion(&pr->release);
}

static int parked_reader_fn(void *arg)
{
	struct parked_reader *pr = arg;

	pr->idx = srcu_read_lock(pr->ssp);
	complete(&pr->entered);
	/* Readers may block: this one sleeps inside its section. */
	wait_for_completion(&pr->release);
	WRITE_ONCE(pr->left, true);
	srcu_read_unlock(pr->ssp, pr->idx);
	return 0;
}

static struct kthread *start_parked_reader(struct parked_reader *pr, const char *name)
{
	struct kthread *k = kthread_run(parked_reader_fn, pr, "%s", name);

	TEST_ASSERT(!IS_ERR(k), "kthread_run: %ld", PTR_ERR(k));
	wait_for_completion(&pr->entered);
	return k;
}

static void release_parked_reader(struct parked_reader *pr, struct kthread *k)
{
	complete(&pr->release);
	TEST_ASSERT_EQ(kthread_join(k), 0);
}

/* An updater that runs one grace period; @must_wait_for, if set, must have left by then. */
struct updater {
	struct srcu_struct *ssp;
	struct parked_reader *must_wait_for;
	bool returned;
};

static int updater_fn(void *arg)
{
	struct updater *u = arg;

	synchronize_srcu(u->ssp);
	if (u->must_wait_for)
		TEST_ASSERT(READ_ONCE(u->must_wait_for->left),
			    "synchronize_srcu() returned while a reader that began before it "
			    "was still inside");
	WRITE_ONCE(u->returned, true);
	return 0;
}

static struct kthread *start_updater(struct updater *u, struct srcu_struct *ssp,
				     struct parked_reader *must_wait_for)
{
	struct kthread *k;

	u->ssp = ssp;
	u->must_wait_for = must_wait_for;
	u->returned = false;
	k = kthread_run(updater_fn, u, "updater");
	TEST_ASSERT(!IS_ERR(k), "kthread_run: %ld", PTR_ERR(k));
	return k;
}

/* Park the updater at its next poll that finds readers inside. */
static void wait_updater_blocked(struct updater *u)
{
	TEST_ASSERT_EQ(sched_point_arm("srcu:readers_busy", "updater"), 0);
	TEST_ASSERT_EQ(sched_point_wait("srcu:readers_busy"), 0);
	TEST_ASSERT(!READ_ONCE(u->returned), "the updater returned with a reader inside");
}

static unsigned long nr_reader_records(struct srcu_struct *ssp)
{
	struct srcu_reader *r;
	unsigned long n = 0;

	spin_lock(&ssp->srcu_readers_lock);
	list_for_each_entry(r, &ssp->srcu_readers, node)
		n++;
	spin_unlock(&ssp->srcu_readers_lock);
	return n;
}

/* ---- grace periods --------------------------------------------------------- */

static void check_gp_waits_for_blocked_reader(struct srcu_struct *ssp)
{
	struct parked_reader pr;
	struct updater u;
	struct kthread *r, *k;

	parked_reader_init(&pr, ssp);
	r = start_parked_reader(&pr, "reader");
	k = start_updater(&u, ssp, &pr);

	/* Two polls in a row find the reader inside; neither returns. */
	wait_updater_blocked(&u);
	sched_point_release("srcu:readers_busy");
	wait_updater_blocked(&u);

	release_parked_reader(&pr, r);
	sched_point_release("srcu:readers_busy");
	TEST_ASSERT_EQ(kthread_join(k), 0);
	TEST_ASSERT(u.returned, "updater did not finish");
	cleanup_srcu_struct(ssp);
}

TEST(gp_waits_for_blocked_reader)
{
	struct srcu_struct ss;

	TEST_ASSERT_EQ(init_srcu_struct(&ss), 0);
	check_gp_waits_for_blocked_reader(&ss);
}

/* The same with readers that fence for themselves (no membarrier()). */
TEST(gp_waits_for_blocked_reader_fenced)
{
	struct srcu_struct ss;

	TEST_ASSERT_EQ(init_srcu_struct_fenced(&ss), 0);
	TEST_ASSERT(ss.srcu_reader_fence, "fenced domain without reader fences");
	check_gp_waits_for_blocked_reader(&ss);
}

TEST(gp_waits_for_reader_inside_before_flip)
{
	struct srcu_struct ss;
	struct parked_reader pr;
	struct updater u;
	struct kthread *r, *k;

	TEST_ASSERT_EQ(init_srcu_struct(&ss), 0);
	parked_reader_init(&pr, &ss);
	r = start_parked_reader(&pr, "reader");
	TEST_ASSERT_EQ(sched_point_arm("srcu:after_flip", "updater"), 0);
	k = start_updater(&u, &ss, &pr);
	TEST_ASSERT_EQ(sched_point_wait("srcu:after_flip"), 0);
	/* The flip sent new readers elsewhere; ours still counts on the old index. */
	TEST_ASSERT(pr.idx != (READ_ONCE(ss.srcu_idx) & 1), "reader idx %d", pr.idx);
	TEST_ASSERT_EQ(sched_point_arm("srcu:readers_busy", "updater"), 0);
	sched_point_release("srcu:after_flip");
	TEST_ASSERT_EQ(sched_point_wait("srcu:readers_busy"), 0);
	TEST_ASSERT(!READ_ONCE(u.returned), "the updater returned with a reader inside");
	release_parked_reader(&pr, r);
	sched_point_release("srcu:readers_busy");
	TEST_ASSERT_EQ(kthread_join(k), 0);
	cleanup_srcu_struct(&ss);
}

/*
 * A straggler loads srcu_idx before a flip and bumps the old index's count
 * after that grace period has ended.  Its section began after that grace
 * period, but before the next one, which must wait for it although it
 * counts on the index nobody else enters: the scan before the flip.
 */
TEST(gp_waits_for_straggler_of_previous_gp)
{
	struct srcu_struct ss;
	struct parked_reader pr;
	struct updater u;
	struct kthread *r, *k;

#ifndef CONFIG_LOCKDEP
	TEST_REQUIRE(false /* the schedule point in srcu_read_lock() */);
#endif
	TEST_ASSERT_EQ(init_srcu_struct(&ss), 0);
	parked_reader_init(&pr, &ss);
	TEST_ASSERT_EQ(sched_point_arm("srcu:read_lock_idx", "straggler"), 0);
	r = kthread_run(parked_reader_fn, &pr, "straggler");
	TEST_ASSERT(!IS_ERR(r), "kthread_run");
	TEST_ASSERT_EQ(sched_point_wait("srcu:read_lock_idx"), 0);

	/* A whole grace period passes between its load of srcu_idx and its count. */
	synchronize_srcu(&ss);
	sched_point_release("srcu:read_lock_idx");
	wait_for_completion(&pr.entered);
	TEST_ASSERT(pr.idx != (READ_ONCE(ss.srcu_idx) & 1), "not a straggler: idx %d", pr.idx);

	k = start_updater(&u, &ss, &pr);
	wait_updater_blocked(&u);
	release_parked_reader(&pr, r);
	sched_point_release("srcu:readers_busy");
	TEST_ASSERT_EQ(kthread_join(k), 0);
	cleanup_srcu_struct(&ss);
}

/* A straggler that enters and leaves at once; its second lock is parkable. */
static int quick_straggler_fn(void *arg)
{
	struct srcu_struct *ssp = arg;
	int idx;

	/* Its record exists before the check: creating it takes srcu_readers_lock. */
	idx = srcu_read_lock(ssp);
	srcu_read_unlock(ssp, idx);
	idx = srcu_read_lock(ssp);
	srcu_read_unlock(ssp, idx);
	return 0;
}

/*
 * Why a check sums the unlocks before the locks.  A reader R stays inside
 * on the index the updater scans after the flip; the updater is parked
 * between its two sums while a straggler enters and leaves on that same
 * index.  Unlocks first, the locks then count the straggler's entry and the
 * sum stays unbalanced.  Locks first, the unlocks would count the
 * straggler's exit against R's entry: balanced, the grace period over with
 * R inside.
 */
TEST(check_sums_unlocks_before_locks)
{
	struct srcu_struct ss;
	struct parked_reader pr;
	struct updater u;
	struct kthread *r, *s, *k;

#ifndef CONFIG_LOCKDEP
	TEST_REQUIRE(false /* the schedule point in srcu_read_lock() */);
#endif
	TEST_ASSERT_EQ(init_srcu_struct(&ss), 0);
	/* The straggler has loaded srcu_idx for its second section, not yet counted. */
	TEST_ASSERT_EQ(sched_point_arm_count("srcu:read_lock_idx", "straggler", 2), 0);
	s = kthread_run(quick_straggler_fn, &ss, "straggler");
	TEST_ASSERT(!IS_ERR(s), "kthread_run");
	TEST_ASSERT_EQ(sched_point_wait("srcu:read_lock_idx"), 0);

	parked_reader_init(&pr, &ss);
	r = start_parked_reader(&pr, "reader");

	/* The updater's first check of R's index, after the flip, between its sums. */
	TEST_ASSERT_EQ(sched_point_arm("srcu:after_flip", "updater"), 0);
	k = start_updater(&u, &ss, &pr);
	TEST_ASSERT_EQ(sched_point_wait("srcu:after_flip"), 0);
	TEST_ASSERT_EQ(sched_point_arm("srcu:between_sums", "updater"), 0);
	sched_point_release("srcu:after_flip");
	TEST_ASSERT_EQ(sched_point_wait("srcu:between_sums"), 0);

	/* The straggler enters and leaves on R's index. */
	sched_point_release("srcu:read_lock_idx");
	TEST_ASSERT_EQ(kthread_join(s), 0);

	TEST_ASSERT_EQ(sched_point_arm("srcu:readers_busy", "updater"), 0);
	sched_point_release("srcu:between_sums");
	while (!sched_point_parked("srcu:readers_busy") && !READ_ONCE(u.returned))
		sched_yield();
	TEST_ASSERT(!READ_ONCE(u.returned),
		    "grace period ended with a reader inside: the check summed the locks "
		    "before the unlocks");

	release_parked_reader(&pr, r);
	sched_point_release("srcu:readers_busy");
	TEST_ASSERT_EQ(kthread_join(k), 0);
	cleanup_srcu_struct(&ss);
}

TEST(gp_does_not_wait_for_later_reader)
{
	struct srcu_struct ss;
	struct parked_reader pr;
	struct updater u;
	struct kthread *r, *k;

	TEST_ASSERT_EQ(init_srcu_struct(&ss), 0);
	TEST_ASSERT_EQ(sched_point_arm("srcu:after_flip", "updater"), 0);
	k = start_updater(&u, &ss, NULL);
	TEST_ASSERT_EQ(sched_point_wait("srcu:after_flip"), 0);

	/* Enters while synchronize_srcu() is pending, after the flip. */
	parked_reader_init(&pr, &ss);
	r = start_parked_reader(&pr, "late-reader");
	TEST_ASSERT_EQ(pr.idx, READ_ONCE(ss.srcu_idx) & 1);

	sched_point_release("srcu:after_flip");
	TEST_ASSERT_EQ(kthread_join(k), 0);
	TEST_ASSERT(u.returned && !READ_ONCE(pr.left), "grace period ended with the reader inside");
	release_parked_reader(&pr, r);
	cleanup_srcu_struct(&ss);
}

TEST(gp_with_no_readers_returns)
{
	struct srcu_struct ss;
	unsigned long seq;

	TEST_ASSERT_EQ(init_srcu_struct(&ss), 0);
	seq = ss.srcu_gp_seq;
	synchronize_srcu(&ss);
	synchronize_srcu_expedited(&ss);
	TEST_ASSERT_EQ(ss.srcu_gp_seq, seq + 4);
	TEST_ASSERT_EQ(ss.srcu_idx, 2u);
	cleanup_srcu_struct(&ss);
}

/* ---- nesting ---------------------------------------------------------------- */

TEST(nested_sections_held_until_outermost_unlock)
{
	struct srcu_struct ss;
	int outer, inner;

	TEST_ASSERT_EQ(init_srcu_struct(&ss), 0);
	TEST_ASSERT(!srcu_read_lock_held(&ss), "held before any section");
	outer = srcu_read_lock(&ss);
	inner = srcu_read_lock(&ss);
	TEST_ASSERT(srcu_read_lock_held(&ss), "not held in the inner section");
	srcu_read_unlock(&ss, inner);
	TEST_ASSERT(srcu_read_lock_held(&ss), "not held after the inner unlock");
	srcu_read_unlock(&ss, outer);
	TEST_ASSERT(!srcu_read_lock_held(&ss), "held after the outer unlock");
	cleanup_srcu_struct(&ss);
}

/* An outer section on the old index, an inner one begun and ended after the flip. */
struct nesting_reader {
	struct parked_reader pr;
	struct completion go_inner, inner_done;
	int inner_idx;
};

static int nesting_reader_fn(void *arg)
{
	struct nesting_reader *nr = arg;
	struct parked_reader *pr = &nr->pr;

	pr->idx = srcu_read_lock(pr->ssp);
	complete(&pr->entered);
	wait_for_completion(&nr->go_inner);
	nr->inner_idx = srcu_read_lock(pr->ssp);
	srcu_read_unlock(pr->ssp, nr->inner_idx);
	complete(&nr->inner_done);
	wait_for_completion(&pr->release);
	WRITE_ONCE(pr->left, true);
	srcu_read_unlock(pr->ssp, pr->idx);
	return 0;
}

TEST(gp_waits_for_outer_section_across_flip)
{
	struct srcu_struct ss;
	struct nesting_reader nr;
	struct updater u;
	struct kthread *r, *k;

	TEST_ASSERT_EQ(init_srcu_struct(&ss), 0);
	parked_reader_init(&nr.pr, &ss);
	init_completion(&nr.go_inner);
	init_completion(&nr.inner_done);
	r = kthread_run(nesting_reader_fn, &nr, "reader");
	TEST_ASSERT(!IS_ERR(r), "kthread_run");
	wait_for_completion(&nr.pr.entered);

	TEST_ASSERT_EQ(sched_point_arm("srcu:after_flip", "updater"), 0);
	k = start_updater(&u, &ss, &nr.pr);
	TEST_ASSERT_EQ(sched_point_wait("srcu:after_flip"), 0);
	complete(&nr.go_inner);
	wait_for_completion(&nr.inner_done);
	TEST_ASSERT(nr.inner_idx != nr.pr.idx, "inner section on the old index");

	TEST_ASSERT_EQ(sched_point_arm("srcu:readers_busy", "updater"), 0);
	sched_point_release("srcu:after_flip");
	TEST_ASSERT_EQ(sched_point_wait("srcu:readers_busy"), 0);
	TEST_ASSERT(!READ_ONCE(u.returned), "returned with the outer section open");
	release_parked_reader(&nr.pr, r);
	sched_point_release("srcu:readers_busy");
	TEST_ASSERT_EQ(kthread_join(k), 0);
	cleanup_srcu_struct(&ss);
}

/* ---- independent domains ---------------------------------------------------- */

TEST(domains_do_not_wait_for_each_other)
{
	struct srcu_struct a, b;
	struct parked_reader pr;
	struct kthread *r;
	int idx;

	TEST_ASSERT_EQ(init_srcu_struct(&a), 0);
	TEST_ASSERT_EQ(init_srcu_struct(&b), 0);
	parked_reader_init(&pr, &a);
	r = start_parked_reader(&pr, "reader-a");

	/* Neither a reader of a on another thread nor one on ours holds b back. */
	synchronize_srcu(&b);
	idx = srcu_read_lock(&a);
	synchronize_srcu(&b);
	srcu_barrier(&b);
	srcu_read_unlock(&a, idx);
	TEST_ASSERT(!READ_ONCE(pr.left), "a's reader left early");
	expect_reports(REPORT_LOCKDEP, 0);

	release_parked_reader(&pr, r);
	synchronize_srcu(&a);
	cleanup_srcu_struct(&b);
	cleanup_srcu_struct(&a);
}

/*
 * One thread, more domains than cache slots, sections open in several at
 * once.  (All are one lockdep class, from one init site: a grace period of
 * one inside a section of another would be reported, as in the kernel.)
 */
TEST(many_domains_one_thread)
{
	enum { N = 3 * SRCU_CACHE_SLOTS + 1 };
	struct srcu_struct *ss = calloc(N, sizeof(*ss));
	int idx[N];

	TEST_ASSERT(ss, "calloc");
	for (int i = 0; i < N; i++)
		TEST_ASSERT_EQ(init_srcu_struct(&ss[i]), 0);
	for (int i = 0; i < N; i += 2)
		idx[i] = srcu_read_lock(&ss[i]);
	for (int i = 0; i < N; i++)
		TEST_ASSERT(srcu_read_lock_held(&ss[i]) == !(i & 1), "domain %d", i);
	for (int i = 0; i < N; i += 2)
		srcu_read_unlock(&ss[i], idx[i]);
	for (int i = 0; i < N; i++) {
		TEST_ASSERT(!srcu_read_lock_held(&ss[i]), "domain %d", i);
		synchronize_srcu(&ss[i]);
		cleanup_srcu_struct(&ss[i]);
	}
	free(ss);
	expect_reports(REPORT_LOCKDEP, 0);
}

/* ---- call_srcu and srcu_barrier ------------------------------------------- */

struct cb_obj {
	struct rcu_head rh;
	int runs;
	struct parked_reader *must_wait_for;
};

static void cb_obj_fn(struct rcu_head *rh)
{
	struct cb_obj *obj = container_of(rh, struct cb_obj, rh);

	if (obj->must_wait_for)
		TEST_ASSERT(READ_ONCE(obj->must_wait_for->left),
			    "callback ran while a reader older than call_srcu() was inside");
	fetch_add(&obj->runs, 1);
}

TEST(call_srcu_runs_once_after_gp)
{
	enum { N = 8 };
	struct srcu_struct ss;
	struct cb_obj obj[N] = { 0 };
	struct parked_reader pr;
	struct kthread *r;

	TEST_ASSERT_EQ(init_srcu_struct(&ss), 0);
	parked_reader_init(&pr, &ss);
	r = start_parked_reader(&pr, "reader");
	TEST_ASSERT_EQ(sched_point_arm("srcu:readers_busy", NULL), 0);
	for (int i = 0; i < N; i++) {
		obj[i].must_wait_for = &pr;
		call_srcu(&ss, &obj[i].rh, cb_obj_fn);
	}
	/* The worker's grace period found the reader inside: nothing ran. */
	TEST_ASSERT_EQ(sched_point_wait("srcu:readers_busy"), 0);
	for (int i = 0; i < N; i++)
		TEST_ASSERT_EQ(READ_ONCE(obj[i].runs), 0);
	release_parked_reader(&pr, r);
	sched_point_release("srcu:readers_busy");

	srcu_barrier(&ss);
	for (int i = 0; i < N; i++)
		TEST_ASSERT_EQ(READ_ONCE(obj[i].runs), 1);
	/* Once only: more grace periods and barriers run nothing again. */
	synchronize_srcu(&ss);
	srcu_barrier(&ss);
	for (int i = 0; i < N; i++)
		TEST_ASSERT_EQ(READ_ONCE(obj[i].runs), 1);
	cleanup_srcu_struct(&ss);
}

struct queuer {
	struct srcu_struct *ssp;
	struct cb_obj *objs;
	int n;
};

static int queuer_fn(void *arg)
{
	struct queuer *q = arg;

	for (int i = 0; i < q->n; i++) {
		int idx = srcu_read_lock(q->ssp);

		/* Queued from inside a section: fine, it runs after a later grace period. */
		call_srcu(q->ssp, &q->objs[i].rh, cb_obj_fn);
		srcu_read_unlock(q->ssp, idx);
	}
	return 0;
}

TEST(srcu_barrier_waits_for_queued_callbacks)
{
	enum { THREADS = 3, PER_THREAD = 200 };
	struct srcu_struct ss;
	struct cb_obj *objs = calloc(THREADS * PER_THREAD, sizeof(*objs));
	struct queuer q[THREADS];
	struct kthread *k[THREADS];

	TEST_ASSERT(objs, "calloc");
	TEST_ASSERT_EQ(init_srcu_struct(&ss), 0);
	/* Nothing queued: returns at once and starts no worker. */
	srcu_barrier(&ss);
	TEST_ASSERT(!ss.srcu_cb_worker, "worker started without a callback");

	for (int t = 0; t < THREADS; t++) {
		q[t] = (struct queuer){ &ss, objs + t * PER_THREAD, PER_THREAD };
		k[t] = kthread_run(queuer_fn, &q[t], "queuer-%d", t);
		TEST_ASSERT(!IS_ERR(k[t]), "kthread_run");
	}
	for (int t = 0; t < THREADS; t++)
		TEST_ASSERT_EQ(kthread_join(k[t]), 0);
	srcu_barrier(&ss);
	for (int i = 0; i < THREADS * PER_THREAD; i++)
		TEST_ASSERT_EQ(READ_ONCE(objs[i].runs), 1);
	cleanup_srcu_struct(&ss);
	free(objs);
}

/* ---- lockdep -------------------------------------------------------------- */

TEST(synchronize_in_own_section_reported)
{
	struct srcu_struct ss;
	char title[160];
	int idx;

	TEST_ASSERT_EQ(init_srcu_struct(&ss), 0);
	idx = srcu_read_lock(&ss);
	synchronize_srcu(&ss);
	expect_reports(REPORT_LOCKDEP, 1);
	report_last_title(REPORT_LOCKDEP, title, sizeof(title));
	TEST_ASSERT(!strcmp(title, "synchronize_srcu() inside a read section of the same domain"),
		    "title: %s", title);
	srcu_barrier(&ss);
	expect_reports(REPORT_LOCKDEP, 1);
	srcu_read_unlock(&ss, idx);
	synchronize_srcu(&ss);
	cleanup_srcu_struct(&ss);
}

TEST(synchronize_in_other_domain_section_silent)
{
	struct srcu_struct a, b;
	int idx;

	TEST_ASSERT_EQ(init_srcu_struct(&a), 0);
	TEST_ASSERT_EQ(init_srcu_struct(&b), 0);
	idx = srcu_read_lock(&a);
	synchronize_srcu(&b);
	synchronize_srcu_expedited(&b);
	srcu_read_unlock(&a, idx);
	expect_reports(REPORT_LOCKDEP, 0);
	cleanup_srcu_struct(&a);
	cleanup_srcu_struct(&b);
}

/* Readers take m inside their sections; a grace period waited for under m deadlocks. */
TEST(synchronize_under_lock_readers_take_reported)
{
	struct srcu_struct ss;
	struct mutex m;
	int idx;

#ifndef CONFIG_LOCKDEP
	TEST_REQUIRE(false /* CONFIG_LOCKDEP */);
#endif
	TEST_ASSERT_EQ(init_srcu_struct(&ss), 0);
	mutex_init(&m);
	idx = srcu_read_lock(&ss);
	mutex_lock(&m);
	mutex_unlock(&m);
	srcu_read_unlock(&ss, idx);
	expect_reports(REPORT_LOCKDEP, 0);

	mutex_lock(&m);
	synchronize_srcu(&ss);
	mutex_unlock(&m);
	expect_reports(REPORT_LOCKDEP, 1);
	cleanup_srcu_struct(&ss);
}

TEST(dereference_outside_section_reported)
{
	struct srcu_struct ss;
	int value = 1, *gp = NULL;
	int idx;

#ifndef CONFIG_LOCKDEP
	TEST_REQUIRE(false /* CONFIG_LOCKDEP */);
#endif
	TEST_ASSERT_EQ(init_srcu_struct(&ss), 0);
	rcu_assign_pointer(gp, &value);
	idx = srcu_read_lock(&ss);
	TEST_ASSERT_EQ(*srcu_dereference(gp, &ss), 1);
	srcu_read_unlock(&ss, idx);
	TEST_ASSERT_EQ(*srcu_dereference_check(gp, &ss, true), 1);
	expect_reports(REPORT_LOCKDEP, 0);
	TEST_ASSERT_EQ(*srcu_dereference(gp, &ss), 1);
	expect_reports(REPORT_LOCKDEP, 1);
	cleanup_srcu_struct(&ss);
}

/* ---- reader records ------------------------------------------------------- */

static int read_once_fn(void *arg)
{
	struct srcu_struct *ssp = arg;
	int idx = srcu_read_lock(ssp);

	srcu_read_unlock(ssp, idx);
	return 0;
}

TEST(exited_readers_are_reaped)
{
	enum { THREADS = 8 };
	struct srcu_struct ss;

	TEST_ASSERT_EQ(init_srcu_struct(&ss), 0);
	for (int t = 0; t < THREADS; t++) {
		struct kthread *k = kthread_run(read_once_fn, &ss, "reader-%d", t);

		TEST_ASSERT(!IS_ERR(k), "kthread_run");
		TEST_ASSERT_EQ(kthread_join(k), 0);
	}
	TEST_ASSERT_EQ(nr_reader_records(&ss), (unsigned long)THREADS);
	synchronize_srcu(&ss);
	TEST_ASSERT_EQ(nr_reader_records(&ss), 0ul);
	cleanup_srcu_struct(&ss);
}

static int exit_inside_fn(void *arg)
{
	srcu_read_lock((struct srcu_struct *)arg);
	return 0;
}

TEST(exit_inside_section_reported)
{
	struct srcu_struct ss;
	struct kthread *k;
	char title[160];

	TEST_ASSERT_EQ(init_srcu_struct(&ss), 0);
	k = kthread_run(exit_inside_fn, &ss, "leaver");
	TEST_ASSERT(!IS_ERR(k), "kthread_run");
	TEST_ASSERT_EQ(kthread_join(k), 0);
	expect_reports(REPORT_WARN, 1);
	report_last_title(REPORT_WARN, title, sizeof(title));
	TEST_ASSERT(strstr(title, "exited inside an SRCU read section"), "title: %s", title);
	/* The exiting task also held the domain's lockdep map; that is lockdep's report. */
	report_consume(REPORT_LOCKDEP);

	/* Its record stays counted: cleanup finds a reader inside. */
	cleanup_srcu_struct(&ss);
	expect_reports(REPORT_WARN, 1);
}

TEST(cleanup_with_reader_inside_reported)
{
	struct srcu_struct ss;

	TEST_ASSERT_EQ(init_srcu_struct(&ss), 0);
	srcu_read_lock(&ss);
	cleanup_srcu_struct(&ss);
	expect_reports(REPORT_WARN, 1);
	TEST_ASSERT(!srcu_read_lock_held(&ss), "a cleaned-up domain still held");
}

/* A new domain in the memory of a cleaned-up one must not inherit its records. */
TEST(reinit_at_same_address)
{
	struct srcu_struct ss;
	struct updater u;
	struct parked_reader self = { 0 };
	struct kthread *k;
	int idx;

	TEST_ASSERT_EQ(init_srcu_struct(&ss), 0);
	idx = srcu_read_lock(&ss);
	srcu_read_unlock(&ss, idx);
	cleanup_srcu_struct(&ss);

	TEST_ASSERT_EQ(init_srcu_struct(&ss), 0);
	TEST_ASSERT_EQ(nr_reader_records(&ss), 0ul);
	idx = srcu_read_lock(&ss);
	TEST_ASSERT_EQ(nr_reader_records(&ss), 1ul);
	TEST_ASSERT(srcu_read_lock_held(&ss), "not held");

	/* This thread is the reader the new domain's grace period must wait for. */
	k = start_updater(&u, &ss, &self);
	wait_updater_blocked(&u);
	WRITE_ONCE(self.left, true);
	srcu_read_unlock(&ss, idx);
	sched_point_release("srcu:readers_busy");
	TEST_ASSERT_EQ(kthread_join(k), 0);
	cleanup_srcu_struct(&ss);
}
