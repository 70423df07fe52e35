// SPDX-License-Identifier: GPL-2.0
/*
 * What a frame costs: alloc_page() + put_page() pairs from the frame pool,
 * with poisoning on and off, with 1 and 2 threads, beside glibc's
 * malloc(4096) + free() and malloc + memset + free measured in the same run.
 * Each thread allocates a batch, then frees it, so per-CPU caches and
 * malloc's bins both see more than one object in flight.  A figure is the
 * fastest chunk of CHUNK_PAIRS pairs of each thread (the mean over threads):
 * the cost on a quiet CPU, which a shared machine rarely gives a whole run.
 *
 *	bench_frame_alloc [--csv] [PAIRS_PER_THREAD [BATCH]]	(default 1000000 16)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/current.h"
#include "base/err.h"
#include "bench/bench.h"
#include "mm/page_alloc.h"

#define MAX_BATCH 256
#define MAX_THREADS 2
#define CHUNK_PAIRS 4096

enum peer { NOPIN_POISON, NOPIN_NO_POISON, MALLOC_FREE, MALLOC_MEMSET_FREE };

static const char *const peer_names[] = {
	[NOPIN_POISON] = "nopin alloc_page+put_page, poison",
	[NOPIN_NO_POISON] = "nopin alloc_page+put_page, no poison",
	[MALLOC_FREE] = "glibc malloc(4096)+free",
	[MALLOC_MEMSET_FREE] = "glibc malloc(4096)+memset+free",
};

/* The same, as CSV column names. */
static const char *const peer_ids[] = {
	[NOPIN_POISON] = "nopin_poison",
	[NOPIN_NO_POISON] = "nopin_no_poison",
	[MALLOC_FREE] = "malloc_free",
	[MALLOC_MEMSET_FREE] = "malloc_memset_free",
};

struct run {
	enum peer peer;
	struct frame_pool *pool;
	unsigned long pairs;
	int batch;
	pthread_barrier_t start;
	unsigned long failed;
};

struct worker {
	struct run *r;
	double best_ns; /* the fastest chunk, per pair */
};

static void nopin_pairs(struct run *r, unsigned long pairs)
{
	struct page *pages[MAX_BATCH];
	unsigned long failed = 0;

	for (unsigned long done = 0; done < pairs; done += r->batch) {
		for (int i = 0; i < r->batch; i++) {
			pages[i] = alloc_page(r->pool, GFP_NOWAIT);
			failed += !pages[i];
		}
		for (int i = 0; i < r->batch; i++)
			if (pages[i])
				put_page(pages[i]);
	}
	fetch_add(&r->failed, failed);
}

static void malloc_pairs(struct run *r, unsigned long pairs, bool touch)
{
	void *bufs[MAX_BATCH];

	for (unsigned long done = 0; done < pairs; done += r->batch) {
		for (int i = 0; i < r->batch; i++) {
			bufs[i] = malloc(PAGE_SIZE);
			if (touch && bufs[i])
				memset(bufs[i], 0x6b, PAGE_SIZE);
		}
		/* Keep the compiler from pairing each malloc with its free. */
		__asm__ __volatile__("" : : "r"(bufs) : "memory");
		for (int i = 0; i < r->batch; i++)
			free(bufs[i]);
	}
}

static void run_pairs(struct run *r, unsigned long pairs)
{
	if (r->peer == MALLOC_FREE || r->peer == MALLOC_MEMSET_FREE)
		malloc_pairs(r, pairs, r->peer == MALLOC_MEMSET_FREE);
	else
		nopin_pairs(r, pairs);
}

static void *bench_thread(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->r;
	/* Whole batches, so that every chunk allocates and frees alike. */
	unsigned long chunk = max(CHUNK_PAIRS / r->batch, 1) * r->batch;

	task_register("bench");
	pthread_barrier_wait(&r->start);
	w->best_ns = 1e30;
	for (unsigned long done = 0; done < r->pairs; done += chunk) {
		double t0 = now_ns();

		run_pairs(r, chunk);
		w->best_ns = min(w->best_ns, (now_ns() - t0) / chunk);
	}
	task_unregister();
	return NULL;
}

/* ns per pair: @nr_threads threads doing r->pairs pairs each from a common start. */
static double run_threads(struct run *r, int nr_threads)
{
	pthread_t threads[MAX_THREADS];
	struct worker w[MAX_THREADS];
	double sum = 0;

	pthread_barrier_init(&r->start, NULL, nr_threads);
	for (int i = 0; i < nr_threads; i++) {
		w[i] = (struct worker){ .r = r };
		pthread_create(&threads[i], NULL, bench_thread, &w[i]);
	}
	for (int i = 0; i < nr_threads; i++) {
		pthread_join(threads[i], NULL);
		sum += w[i].best_ns;
	}
	pthread_barrier_destroy(&r->start);
	return sum / nr_threads;
}

static void measure(enum peer peer, int nr_threads, unsigned long pairs, int batch)
{
	struct run r = { .peer = peer, .pairs = pairs, .batch = batch };
	double ns;

	if (peer == NOPIN_POISON || peer == NOPIN_NO_POISON) {
		r.pool = frame_pool_create(64UL << 20,
					   peer == NOPIN_NO_POISON ? FRAME_POOL_NO_POISON : 0);
		if (IS_ERR(r.pool)) {
			printf("%-40s %7d %12s %12s\n", peer_names[peer], nr_threads, "n/a", "n/a");
			return;
		}
	}
	r.pairs = pairs / 10; /* warm the caches and the pool's touched frames */
	run_threads(&r, nr_threads);
	r.pairs = pairs;
	r.failed = 0;
	ns = run_threads(&r, nr_threads);
	printf("%-40s %7d %12.1f %12.2f", peer_names[peer], nr_threads, ns, nr_threads / ns * 1e3);
	bench_csv_n("ns_per_pair", nr_threads, peer_ids[peer], ns);
	if (r.failed)
		printf("   (%lu allocations failed)", r.failed);
	printf("\n");
	if (r.pool)
		frame_pool_destroy(r.pool);
}

int main(int argc, char **argv)
{
	unsigned long pairs;
	int batch;

	bench_csv_init(&argc, argv);
	pairs = argc > 1 ? strtoul(argv[1], NULL, 0) : 1000000;
	batch = argc > 2 ? atoi(argv[2]) : 16;

	task_register("bench-main");
	if (batch < 1 || batch > MAX_BATCH)
		batch = 16;
	pairs = max(pairs / batch, 1UL) * batch;
	printf("frame alloc+free pairs: %lu per thread, in batches of %d", pairs, batch);
#ifdef CONFIG_LOCKDEP
	printf(" (CONFIG_LOCKDEP build: lock checks and free backtraces included)");
#endif
	printf("\n\n%-40s %7s %12s %12s\n", "allocator", "threads", "ns/pair/thr", "Mpairs/s");
	for (enum peer peer = NOPIN_POISON; peer <= MALLOC_MEMSET_FREE; peer++)
		for (int threads = 1; threads <= MAX_THREADS; threads++)
			measure(peer, threads, pairs, batch);
	return 0;
}
