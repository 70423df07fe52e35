// SPDX-License-Identifier: GPL-2.0
/*
 * SRCU beside its peers: the cost of an empty read section (lock + unlock)
 * on 1 and 2 threads, for this SRCU (membarrier() readers and fenced
 * readers), liburcu's memb flavour and a pthread rwlock taken for read; the
 * latency of an idle grace period beside urcu_memb_synchronize_rcu(); and
 * the latency of a grace period against 0 to 64 threads that run short read
 * sections back to back, beside urcu_memb_synchronize_rcu() against as many
 * liburcu readers.
 *
 *	bench_srcu [--csv] [iterations per thread]
 *
 * A read-side figure is the fastest chunk of CHUNK pairs of each thread,
 * and an idle grace period the best of REPEATS runs: both estimate the cost
 * on a quiet CPU, which a shared machine rarely gives a whole run.  Grace
 * periods against readers are medians.  Use a Release build: in Debug
 * builds every read section also goes through the lock checker.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

/*
 * _LGPL_SOURCE inlines liburcu's read side, as srcu_read_lock() is inlined.
 * liburcu has its own struct rcu_head and rcu_assign_pointer(): rename the
 * one (only its name changes, not its layout) and drop the other before
 * the project's take over.
 */
#define _LGPL_SOURCE
#define rcu_head urcu_rcu_head
#include <urcu/urcu-memb.h>
#undef rcu_head
#undef rcu_assign_pointer

#include "base/current.h"
#include "bench/bench.h"
#include "notifier/srcu.h"

#define REPEATS 3
#define CHUNK 65536
#define GP_CALLS 2000
#define MAX_THREADS 2
#define SWEEP_CALLS 100 /* grace periods timed per point of the sweep, at most */
#define SWEEP_MIN_CALLS 3
#define SWEEP_BUDGET_NS 1e9 /* per point: readers that spin hog the machine */
#define SWEEP_MAX_READERS 64
#define SECTION_LOADS 16 /* what a short read section does */

enum flavour { SRCU, SRCU_FENCED, URCU_MEMB, RWLOCK, NR_FLAVOURS };

static const char *const flavour_names[NR_FLAVOURS] = {
	[SRCU] = "nopin srcu",
	[SRCU_FENCED] = "srcu fenced",
	[URCU_MEMB] = "urcu memb",
	[RWLOCK] = "rwlock rd",
};

/* The same, as CSV column names. */
static const char *const flavour_ids[NR_FLAVOURS] = {
	[SRCU] = "nopin_srcu",
	[SRCU_FENCED] = "srcu_fenced",
	[URCU_MEMB] = "urcu_memb",
	[RWLOCK] = "rwlock_rd",
};

struct bench {
	struct srcu_struct ss, ss_fenced;
	pthread_rwlock_t rwlock;
	pthread_barrier_t start;
	long iterations;
	/* The sweep: readers run until stop; the section reads shared_data. */
	bool stop;
	unsigned long shared_data;
};

struct reader {
	struct bench *b;
	enum flavour flavour;
	double ns_per_pair;
};

static void read_loop(struct bench *b, enum flavour f, long iterations)
{
	for (long i = 0; i < iterations; i++) {
		int idx;

		switch (f) {
		case SRCU:
			idx = srcu_read_lock(&b->ss);
			srcu_read_unlock(&b->ss, idx);
			break;
		case SRCU_FENCED:
			idx = srcu_read_lock(&b->ss_fenced);
			srcu_read_unlock(&b->ss_fenced, idx);
			break;
		case URCU_MEMB:
			urcu_memb_read_lock();
			urcu_memb_read_unlock();
			break;
		default:
			pthread_rwlock_rdlock(&b->rwlock);
			pthread_rwlock_unlock(&b->rwlock);
			break;
		}
		barrier(); /* an empty section, but one per iteration */
	}
}

static void *reader_fn(void *arg)
{
	struct reader *r = arg;
	double best = 1e30;

	if (r->flavour == URCU_MEMB)
		urcu_memb_register_thread();
	read_loop(r->b, r->flavour, CHUNK); /* warm up: records, caches */
	pthread_barrier_wait(&r->b->start);
	for (long done = 0; done < r->b->iterations; done += CHUNK) {
		double t0 = now_ns();

		read_loop(r->b, r->flavour, CHUNK);
		best = min(best, now_ns() - t0);
	}
	r->ns_per_pair = best / CHUNK;
	if (r->flavour == URCU_MEMB)
		urcu_memb_unregister_thread();
	return NULL;
}

/* Mean over @nr_threads threads reading at once of ns per lock+unlock pair. */
static double read_side_once(struct bench *b, enum flavour f, int nr_threads)
{
	pthread_t threads[MAX_THREADS];
	struct reader r[MAX_THREADS];
	double sum = 0;

	pthread_barrier_init(&b->start, NULL, nr_threads);
	for (int t = 0; t < nr_threads; t++) {
		r[t] = (struct reader){ .b = b, .flavour = f };
		if (pthread_create(&threads[t], NULL, reader_fn, &r[t]))
			abort();
	}
	for (int t = 0; t < nr_threads; t++) {
		pthread_join(threads[t], NULL);
		sum += r[t].ns_per_pair;
	}
	pthread_barrier_destroy(&b->start);
	return sum / nr_threads;
}

enum gp_kind { GP_SRCU, GP_SRCU_EXP, GP_SRCU_FENCED, GP_URCU, NR_GP_KINDS };

static const char *const gp_names[NR_GP_KINDS] = {
	[GP_SRCU] = "synchronize_srcu",
	[GP_SRCU_EXP] = "synchronize_srcu_expedited",
	[GP_SRCU_FENCED] = "synchronize_srcu, fenced domain",
	[GP_URCU] = "urcu_memb_synchronize_rcu",
};

static void grace_period(struct bench *b, enum gp_kind k)
{
	switch (k) {
	case GP_SRCU:
		synchronize_srcu(&b->ss);
		break;
	case GP_SRCU_EXP:
		synchronize_srcu_expedited(&b->ss);
		break;
	case GP_SRCU_FENCED:
		synchronize_srcu(&b->ss_fenced);
		break;
	default:
		urcu_memb_synchronize_rcu();
		break;
	}
}

/* Microseconds per grace period with no reader inside. */
static double gp_latency(struct bench *b, enum gp_kind k)
{
	double best = 1e30;

	for (int i = 0; i < REPEATS; i++) {
		double t0 = now_ns();

		for (int n = 0; n < GP_CALLS; n++)
			grace_period(b, k);
		best = min(best, (now_ns() - t0) / GP_CALLS / 1e3);
	}
	return best;
}

/* ---- grace periods against busy readers ----------------------------------- */

struct sweep_reader {
	struct bench *b;
	enum gp_kind kind;
	unsigned long sections;
} __cacheline_aligned;

/* A short section: SECTION_LOADS loads of data an updater could replace. */
static void short_section(struct bench *b)
{
	for (int i = 0; i < SECTION_LOADS; i++)
		(void)READ_ONCE(b->shared_data);
}

static void *sweep_reader_fn(void *arg)
{
	struct sweep_reader *sr = arg;
	struct bench *b = sr->b;
	bool urcu = sr->kind == GP_URCU;
	struct srcu_struct *ssp = &b->ss;

	if (urcu)
		urcu_memb_register_thread();
	pthread_barrier_wait(&b->start);
	while (!READ_ONCE(b->stop)) {
		int idx = 0;

		if (urcu)
			urcu_memb_read_lock();
		else
			idx = srcu_read_lock(ssp);
		short_section(b);
		if (urcu)
			urcu_memb_read_unlock();
		else
			srcu_read_unlock(ssp, idx);
		WRITE_ONCE(sr->sections, sr->sections + 1);
	}
	if (urcu)
		urcu_memb_unregister_thread();
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Until every reader has run a section: a grace period before that waits for nobody. */
static void wait_readers_running(struct sweep_reader *sr, int nr_readers)
{
	for (int t = 0; t < nr_readers; t++)
		while (!READ_ONCE(sr[t].sections))
			sched_yield();
}

/*
 * Median microseconds per grace period of @k with @nr_readers busy readers,
 * over SWEEP_CALLS calls or as many as SWEEP_BUDGET_NS allows.  With more
 * readers than CPUs the figure is mostly the wait for preempted readers to
 * run again and leave their sections, for either flavour.
 */
static double gp_against_readers(struct bench *b, enum gp_kind k, int nr_readers)
{
	static struct sweep_reader sr[SWEEP_MAX_READERS];
	pthread_t threads[SWEEP_MAX_READERS];
	double us[SWEEP_CALLS], start;
	int n;

	WRITE_ONCE(b->stop, false);
	pthread_barrier_init(&b->start, NULL, nr_readers + 1);
	for (int t = 0; t < nr_readers; t++) {
		sr[t] = (struct sweep_reader){ .b = b, .kind = k };
		if (pthread_create(&threads[t], NULL, sweep_reader_fn, &sr[t]))
			die("pthread_create");
	}
	pthread_barrier_wait(&b->start);
	wait_readers_running(sr, nr_readers);
	start = now_ns();
	for (n = 0; n < SWEEP_CALLS; n++) {
		double t0 = now_ns();

		if (n >= SWEEP_MIN_CALLS && t0 - start > SWEEP_BUDGET_NS)
			break;
		WRITE_ONCE(b->shared_data, n); /* what an updater would unpublish */
		grace_period(b, k);
		us[n] = (now_ns() - t0) / 1e3;
	}
	WRITE_ONCE(b->stop, true);
	for (int t = 0; t < nr_readers; t++)
		pthread_join(threads[t], NULL);
	pthread_barrier_destroy(&b->start);
	qsort(us, n, sizeof(us[0]), cmp_double);
	return us[n / 2];
}

static const int sweep_points[] = { 0, 1, 2, 4, 8, 16, 64 };
static const enum gp_kind sweep_kinds[] = { GP_SRCU, GP_SRCU_EXP, GP_URCU };

/* The CSV columns of the sweep, one per entry of sweep_kinds. */
static const char *const sweep_ids[] = { "nopin_srcu", "nopin_srcu_expedited", "urcu_memb" };

static void print_sweep(struct bench *b)
{
	printf("\ngrace period against reader threads in short sections (%d loads each, back to "
	       "back):\nus per call, median of %d calls or of those that fit in %.0f s (at least "
	       "%d)\n",
	       SECTION_LOADS, SWEEP_CALLS, SWEEP_BUDGET_NS / 1e9, SWEEP_MIN_CALLS);
	printf("%-8s", "readers");
	for (int k = 0; k < ARRAY_SIZE(sweep_kinds); k++)
		printf(" %27s", gp_names[sweep_kinds[k]]);
	printf("\n");
	for (int p = 0; p < ARRAY_SIZE(sweep_points); p++) {
		printf("%-8d", sweep_points[p]);
		for (int k = 0; k < ARRAY_SIZE(sweep_kinds); k++) {
			double us = gp_against_readers(b, sweep_kinds[k], sweep_points[p]);

			printf(" %27.2f", us);
			bench_csv_n("gp_readers_us", sweep_points[p], sweep_ids[k], us);
		}
		printf("\n");
	}
}

static void print_table(struct bench *b)
{
	printf("read side: ns per srcu_read_lock+unlock pair (or the peer's), fastest chunk of %d "
	       "of %ld pairs per thread\n",
	       CHUNK, b->iterations);
	printf("%-8s", "threads");
	for (int f = 0; f < NR_FLAVOURS; f++)
		printf(" %12s", flavour_names[f]);
	printf("\n");
	for (int t = 1; t <= MAX_THREADS; t++) {
		printf("%-8d", t);
		for (int f = 0; f < NR_FLAVOURS; f++) {
			double ns = read_side_once(b, f, t);

			printf(" %12.2f", ns);
			bench_csv_n("read_side_ns", t, flavour_ids[f], ns);
		}
		printf("\n");
	}
	printf("\nidle grace period: us per call, best of %d x %d calls\n", REPEATS, GP_CALLS);
	for (int k = 0; k < NR_GP_KINDS; k++) {
		double us = gp_latency(b, k);

		printf("%-34s %10.2f\n", gp_names[k], us);
		bench_csv("grace_period_us", gp_names[k], "idle", us);
	}
	print_sweep(b);
}

int main(int argc, char **argv)
{
	struct bench *b = calloc(1, sizeof(*b));

	if (!b)
		return 1;
	bench_csv_init(&argc, argv);
	task_register("bench-srcu");
	b->iterations = argc > 1 ? atol(argv[1]) : 8000000;
	if (b->iterations < CHUNK)
		b->iterations = CHUNK;
	if (init_srcu_struct(&b->ss) || init_srcu_struct_fenced(&b->ss_fenced))
		return 1;
	pthread_rwlock_init(&b->rwlock, NULL);
	urcu_memb_register_thread();
#ifdef CONFIG_LOCKDEP
	printf("note: CONFIG_LOCKDEP build, SRCU read sections include the lock checker\n");
#endif
	if (b->ss.srcu_reader_fence)
		printf("note: membarrier() unavailable, every SRCU domain fences its readers\n");
	print_table(b);
	urcu_memb_unregister_thread();
	cleanup_srcu_struct(&b->ss_fenced);
	cleanup_srcu_struct(&b->ss);
	pthread_rwlock_destroy(&b->rwlock);
	free(b);
	return 0;
}
