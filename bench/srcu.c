// SPDX-License-Identifier: GPL-2.0
/*
 * SRCU beside its peers: the cost of an empty read section (lock + unlock)
 * on 1 and 2 threads, for this SRCU (membarrier() readers and fenced
 * readers), liburcu's memb flavour and a pthread rwlock taken for read; and
 * the latency of an idle grace period beside urcu_memb_synchronize_rcu().
 *
 *	bench_srcu [--csv] [iterations per thread]
 *
 * Each figure is the best of REPEATS runs.  Use a Release build: in Debug
 * builds every read section also goes through the lock checker.
 */
#include <pthread.h>
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
#define GP_CALLS 2000
#define MAX_THREADS 2

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
};

struct reader {
	struct bench *b;
	enum flavour flavour;
	double ns_per_pair;
};

static void read_loop(struct bench *b, enum flavour f)
{
	for (long i = 0; i < b->iterations; i++) {
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
	double t0;

	if (r->flavour == URCU_MEMB)
		urcu_memb_register_thread();
	read_loop(r->b, r->flavour); /* warm up: records, caches */
	pthread_barrier_wait(&r->b->start);
	t0 = now_ns();
	read_loop(r->b, r->flavour);
	r->ns_per_pair = (now_ns() - t0) / r->b->iterations;
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

static double read_side(struct bench *b, enum flavour f, int nr_threads)
{
	double best = 1e30;

	for (int i = 0; i < REPEATS; i++)
		best = min(best, read_side_once(b, f, nr_threads));
	return best;
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

static void print_table(struct bench *b)
{
	printf("read side: ns per srcu_read_lock+unlock pair (or the peer's), best of %d, "
	       "%ld pairs per thread\n",
	       REPEATS, b->iterations);
	printf("%-8s", "threads");
	for (int f = 0; f < NR_FLAVOURS; f++)
		printf(" %12s", flavour_names[f]);
	printf("\n");
	for (int t = 1; t <= MAX_THREADS; t++) {
		printf("%-8d", t);
		for (int f = 0; f < NR_FLAVOURS; f++) {
			double ns = read_side(b, f, t);

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
}

int main(int argc, char **argv)
{
	struct bench *b = calloc(1, sizeof(*b));

	if (!b)
		return 1;
	bench_csv_init(&argc, argv);
	task_register("bench-srcu");
	b->iterations = argc > 1 ? atol(argv[1]) : 20000000;
	if (b->iterations <= 0)
		b->iterations = 20000000;
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
