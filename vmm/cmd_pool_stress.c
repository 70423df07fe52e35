// SPDX-License-Identifier: GPL-2.0
/*
 * nopin pool-stress: threads allocate and free batches of frames from one
 * pool, writing a pattern into each frame and checking it before the free.
 * Then, unless --no-show-sanitizer, one deliberate write after free and one
 * deliberate double free, so the sanitizer's reports can be seen; then the
 * pool's and the sanitizer's counters.
 *
 * Exit status: 0 if every pattern held, no frame was lost and the
 * sanitizer reported exactly the two planted bugs; 1 otherwise; 2 for a
 * usage error.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/current.h"
#include "base/err.h"
#include "base/prandom.h"
#include "mm/page_alloc.h"
#include "mm/sanitizer.h"
#include "vmm/commands.h"
#include "vmm/util.h"

#define MAX_BATCH 32

struct pool_stress_opts {
	size_t pool_bytes;
	unsigned long threads;
	unsigned long iterations;
	bool show_sanitizer;
};

struct stress_thread {
	pthread_t thread;
	int id;
	struct frame_pool *pool;
	unsigned long iterations;
	uint64_t rand;
	unsigned long frames, failed, corrupt;
};

/* What a frame holds while this thread owns it: its pfn and generation, mixed. */
static uint64_t frame_tag(struct page *page)
{
	return (page_to_pfn(page) * 0x9e3779b97f4a7c15ull) ^ page->gen;
}

static void write_pattern(struct page *page)
{
	uint64_t *words = page_address(page), tag = frame_tag(page);

	for (unsigned long i = 0; i < PAGE_SIZE / sizeof(*words); i++)
		words[i] = tag + i;
}

static bool pattern_intact(struct page *page)
{
	const uint64_t *words = page_address(page);
	uint64_t tag = frame_tag(page);

	for (unsigned long i = 0; i < PAGE_SIZE / sizeof(*words); i++)
		if (words[i] != tag + i)
			return false;
	return true;
}

static void stress_batch(struct stress_thread *t)
{
	struct page *batch[MAX_BATCH];
	int n = 1 + prandom_u64(&t->rand) % MAX_BATCH, got = 0;

	while (got < n) {
		batch[got] = alloc_page(t->pool, GFP_KERNEL);
		if (!batch[got]) {
			t->failed++;
			break;
		}
		write_pattern(batch[got++]);
	}
	for (int i = 0; i < got; i++) {
		t->corrupt += !pattern_intact(batch[i]);
		put_page(batch[i]);
	}
	t->frames += got;
}

static void *stress_thread_fn(void *arg)
{
	struct stress_thread *t = arg;
	char name[TASK_COMM_LEN];

	snprintf(name, sizeof(name), "pool-stress/%d", t->id);
	task_register(name);
	for (unsigned long i = 0; i < t->iterations; i++)
		stress_batch(t);
	task_unregister();
	return NULL;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Run the threads; returns frames allocated and freed, or -1 if a pattern broke. */
static long run_threads(struct frame_pool *pool, const struct pool_stress_opts *o,
			unsigned long *failed)
{
	struct stress_thread threads[NR_CPUS];
	unsigned long frames = 0, corrupt = 0;

	*failed = 0;
	for (unsigned long i = 0; i < o->threads; i++) {
		threads[i] = (struct stress_thread){ .id = i,
						     .pool = pool,
						     .iterations = o->iterations,
						     .rand = 0x9e3779b97f4a7c15ull * (i + 1) };
		pthread_create(&threads[i].thread, NULL, stress_thread_fn, &threads[i]);
	}
	for (unsigned long i = 0; i < o->threads; i++) {
		pthread_join(threads[i].thread, NULL);
		frames += threads[i].frames;
		corrupt += threads[i].corrupt;
		*failed += threads[i].failed;
	}
	if (corrupt)
		fprintf(stderr, "pool-stress: %lu frames lost their pattern while allocated\n",
			corrupt);
	return corrupt ? -1 : (long)frames;
}

/* The planted bugs: a stale pointer written through after the free, and a second put. */
static void show_write_after_free(struct frame_pool *pool)
{
	struct page *page = alloc_page(pool, GFP_KERNEL);
	char *stale;

	if (!page)
		return;
	stale = page_address(page);
	printf("\n== deliberate write after free: frame %lu is freed, then written through a "
	       "stale pointer; its next allocation finds the poison broken\n",
	       page_to_pfn(page));
	fflush(stdout);
	put_page(page);
	memcpy(stale + 0x40, "stale", 5);
	/* This CPU's cache is LIFO: the frame just freed comes back first. */
	page = alloc_page(pool, GFP_KERNEL);
	if (page)
		put_page(page);
}

static void show_double_free(struct frame_pool *pool)
{
	struct page *page = alloc_page(pool, GFP_KERNEL);

	if (!page)
		return;
	printf("\n== deliberate double free: put_page() twice on frame %lu\n", page_to_pfn(page));
	fflush(stdout);
	put_page(page);
	put_page(page);
}

static void print_counters(struct frame_pool *pool, const struct sanitizer_counters *c)
{
	struct frame_pool_stats s;

	frame_pool_stats(pool, &s);
	printf("\n%-29s      %s\n", "pool", "sanitizer");
	printf("  %-14s %12lu      %-16s %8lu\n", "frames", s.total, "bad page state",
	       c->bad_page_state);
	printf("  %-14s %12lu      %-16s %8lu\n", "free", s.free, "double free", c->double_free);
	printf("  %-14s %12lu      %-16s %8lu\n", "allocated", s.allocated, "write after free",
	       c->write_after_free);
	printf("  %-14s %12lu      %-16s %8lu\n", "alloc calls", s.alloc_calls, "use after free",
	       c->use_after_free);
	printf("  %-14s %12lu\n", "free calls", s.free_calls);
	printf("  %-14s %12lu\n", "alloc failed", s.alloc_failed);
	printf("  %-14s %12lu\n", "poison checks", s.poison_checks);
}

static bool outcome_ok(struct frame_pool *pool, const struct pool_stress_opts *o,
		       const struct sanitizer_counters *c)
{
	unsigned long planted = o->show_sanitizer ? 1 : 0;
	struct frame_pool_stats s;

	frame_pool_stats(pool, &s);
	if (s.allocated || s.free != s.total) {
		fprintf(stderr, "pool-stress: %lu frames unaccounted for\n", s.total - s.free);
		return false;
	}
	return c->write_after_free == planted && c->double_free == planted && !c->bad_page_state &&
	       !c->use_after_free;
}

static int pool_stress(const struct pool_stress_opts *o)
{
	struct frame_pool *pool = frame_pool_create(o->pool_bytes, 0);
	struct sanitizer_counters c;
	unsigned long failed;
	double start;
	long frames;
	bool ok;

	if (IS_ERR(pool)) {
		fprintf(stderr, "pool-stress: cannot create the pool: %s\n",
			strerror(-PTR_ERR(pool)));
		return 1;
	}
	printf("pool %zu KiB (%zu frames), %lu threads x %lu batches of 1-%d frames\n",
	       o->pool_bytes >> 10, o->pool_bytes / PAGE_SIZE, o->threads, o->iterations,
	       MAX_BATCH);
	start = now_seconds();
	frames = run_threads(pool, o, &failed);
	if (frames >= 0)
		printf("%ld frames allocated, written, checked and freed in %.2f s; "
		       "%lu allocations found the pool empty\n",
		       frames, now_seconds() - start, failed);
	if (o->show_sanitizer) {
		fflush(stdout); /* the reports go to stderr: keep the story in order */
		show_write_after_free(pool);
		show_double_free(pool);
	}
	frame_pool_sanitizer_counters(pool, &c);
	print_counters(pool, &c);
	ok = frames >= 0 && outcome_ok(pool, o, &c);
	frame_pool_destroy(pool);
	return ok ? 0 : 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: nopin pool-stress [--pool SIZE] [--threads N] [--iterations N]\n"
		"                         [--show-sanitizer | --no-show-sanitizer]\n"
		"  --pool SIZE         pool size, K/M/G suffixes (default 256M)\n"
		"  --threads N         allocating threads, 1-%d (default 2)\n"
		"  --iterations N      batches per thread (default 100000)\n"
		"  --no-show-sanitizer skip the planted write after free and double free\n",
		NR_CPUS);
}

enum { OPT_POOL = 'p', OPT_THREADS = 't', OPT_ITER = 'i', OPT_SHOW = 's', OPT_NO_SHOW = 'n' };

static const struct option long_options[] = {
	{ "pool", required_argument, NULL, OPT_POOL },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "iterations", required_argument, NULL, OPT_ITER },
	{ "show-sanitizer", no_argument, NULL, OPT_SHOW },
	{ "no-show-sanitizer", no_argument, NULL, OPT_NO_SHOW },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* One option; returns 0, or the exit status for a usage error (or -1 after --help). */
static int parse_option(int opt, const char *arg, struct pool_stress_opts *o)
{
	switch (opt) {
	case OPT_POOL:
		if (parse_size(arg, &o->pool_bytes))
			return bad_option("pool-stress", "--pool", arg,
					  "expected a size such as 64M or 1G");
		if (o->pool_bytes % PAGE_SIZE)
			return bad_option("pool-stress", "--pool", arg,
					  "not a whole number of 4 KiB frames");
		return 0;
	case OPT_THREADS:
		if (parse_count(arg, &o->threads) || o->threads > NR_CPUS)
			return bad_option("pool-stress", "--threads", arg,
					  "expected a count from 1 to 64");
		return 0;
	case OPT_ITER:
		if (parse_count(arg, &o->iterations))
			return bad_option("pool-stress", "--iterations", arg,
					  "expected a positive count");
		return 0;
	case OPT_SHOW:
	case OPT_NO_SHOW:
		o->show_sanitizer = opt == OPT_SHOW;
		return 0;
	case 'h':
		usage(stdout);
		return -1;
	default:
		return 2;
	}
}

static int parse_options(int argc, char **argv, struct pool_stress_opts *o)
{
	int opt, ret;

	opterr = 0; /* our own one-line messages */
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
		if (opt == ':') {
			fprintf(stderr, "pool-stress: %s needs a value\n", argv[optind - 1]);
			return 2;
		}
		if (opt == '?') {
			fprintf(stderr, "pool-stress: unknown option '%s' (try --help)\n",
				argv[optind - 1]);
			return 2;
		}
		ret = parse_option(opt, optarg, o);
		if (ret)
			return ret;
	}
	if (optind < argc) {
		fprintf(stderr, "pool-stress: unexpected argument '%s' (try --help)\n",
			argv[optind]);
		return 2;
	}
	return 0;
}

int cmd_pool_stress(int argc, char **argv)
{
	struct pool_stress_opts o = {
		.pool_bytes = FRAME_POOL_DEFAULT_SIZE,
		.threads = 2,
		.iterations = 100000,
		.show_sanitizer = true,
	};
	int ret = parse_options(argc, argv, &o);

	if (ret)
		return ret < 0 ? 0 : ret;
	return pool_stress(&o);
}
