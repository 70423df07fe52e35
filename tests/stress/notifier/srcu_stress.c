// SPDX-License-Identifier: GPL-2.0
/*
 * SRCU under load: readers dereference shared pointers to objects that two
 * updaters keep replacing and freeing, one after synchronize_srcu(), the
 * other through call_srcu().  Objects are frames from the frame pool, so a
 * free poisons the frame and moves its generation on: a reader that reaches
 * a freed object sees poison instead of its magic, or a stale stamp, which
 * the frame sanitizer reports.  Readers check every object on every read;
 * meanwhile short-lived threads enter and exit, so reader records are
 * created and reaped under running grace periods.
 *
 * The run lasts STRESS_SECONDS of wall time (a workload size, not a check);
 * the case passes with no broken object seen, every frame back in the pool
 * and no report.
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/kthread.h"
#include "base/mutex.h"
#include "base/prandom.h"
#include "mm/page_alloc.h"
#include "mm/sanitizer.h"
#include "notifier/srcu.h"
#include "tests/lib/test_util.h"

#define STRESS_SECONDS 10
#define NR_SLOTS 4
#define NR_READERS 2
#define OBJ_MAGIC 0x5352435553545253ul /* "SRTSUCRS" */
#define OBJ_WORDS 64
#define CALL_SRCU_BATCH 256 /* call_srcu() frees between srcu_barrier() calls */

/* A published object: the first bytes of one frame. */
struct stress;

struct obj {
	unsigned long magic;
	unsigned long serial;	  /* per slot, rising with every replacement */
	struct frame_stamp stamp; /* of the frame it lives in */
	struct stress *owner;	  /* for the call_srcu() callback */
	struct rcu_head rh;
	unsigned long payload[OBJ_WORDS]; /* serial ^ word index, every word */
};

struct stress {
	struct frame_pool *pool;
	struct srcu_struct ss;	     /* protects slots[] */
	struct srcu_struct ss_other; /* nested inside ss's sections, protects nothing */
	struct obj *slots[NR_SLOTS];
	unsigned long next_serial[NR_SLOTS]; /* under slots_lock */
	struct mutex slots_lock;	     /* serialises the updaters' swaps */
	struct mutex reader_mutex;	     /* readers sleep on it inside sections */
	bool stop;
	long reads, gps, callbacks_queued, callbacks_run, churned;
};

static void obj_fill(struct stress *st, struct obj *o, struct page *page, unsigned long serial)
{
	o->magic = OBJ_MAGIC;
	o->owner = st;
	o->serial = serial;
	o->stamp = frame_stamp_of(page);
	for (int i = 0; i < OBJ_WORDS; i++)
		o->payload[i] = serial ^ i;
}

/* A reader's view of one object: everything must be as it was published. */
static void obj_check(struct stress *st, const struct obj *o, unsigned long *last_serial)
{
	struct frame_access acc = { .addr = (unsigned long)o, .size = sizeof(*o), .who = "reader" };
	unsigned long serial;

	TEST_ASSERT(o->magic == OBJ_MAGIC, "object %p: magic %#lx, freed under a reader", o,
		    o->magic);
	/* A stale stamp is reported by the sanitizer (and fails the case). */
	frame_check_stamp(st->pool, &o->stamp, &acc);
	serial = o->serial;
	for (int i = 0; i < OBJ_WORDS; i++)
		TEST_ASSERT(o->payload[i] == (serial ^ i), "object %p word %d: %#lx", o, i,
			    o->payload[i]);
	TEST_ASSERT(serial >= *last_serial, "serial went back: %lu after %lu", serial,
		    *last_serial);
	*last_serial = serial;
}

static struct obj *obj_alloc(struct stress *st, unsigned long serial)
{
	struct page *page = alloc_page(st->pool, GFP_KERNEL);
	struct obj *o;

	TEST_ASSERT(page, "frame pool exhausted");
	o = page_address(page);
	obj_fill(st, o, page, serial);
	return o;
}

static void obj_free(struct stress *st, struct obj *o)
{
	__free_page(virt_to_page(st->pool, o));
}

static void obj_free_cb(struct rcu_head *rh)
{
	struct obj *o = container_of(rh, struct obj, rh);
	struct stress *st = o->owner;

	obj_free(st, o);
	fetch_add(&st->callbacks_run, 1);
}

/* Publish a new object in @slot and return the old one, now unreachable. */
static struct obj *slot_replace(struct stress *st, int slot)
{
	struct obj *old, *new;

	mutex_lock(&st->slots_lock);
	new = obj_alloc(st, ++st->next_serial[slot]);
	old = rcu_dereference_protected(st->slots[slot], lockdep_is_held(&st->slots_lock));
	rcu_assign_pointer(st->slots[slot], new);
	mutex_unlock(&st->slots_lock);
	return old;
}

/* ---- readers ---------------------------------------------------------------- */

static void reader_section(struct stress *st, unsigned long *last, uint64_t *rnd)
{
	uint64_t r = prandom_u64(rnd);
	int idx = srcu_read_lock(&st->ss);

	for (int s = 0; s < NR_SLOTS; s++)
		obj_check(st, srcu_dereference(st->slots[s], &st->ss), &last[s]);
	/* Now and then block inside the section, with the objects in hand. */
	if ((r & 63) == 0) {
		const struct obj *o = srcu_dereference(st->slots[r >> 8 & (NR_SLOTS - 1)], &st->ss);
		int idx2 = srcu_read_lock(&st->ss_other);

		mutex_lock(&st->reader_mutex);
		sched_yield();
		mutex_unlock(&st->reader_mutex);
		srcu_read_unlock(&st->ss_other, idx2);
		obj_check(st, o, &last[r >> 8 & (NR_SLOTS - 1)]);
	}
	srcu_read_unlock(&st->ss, idx);
}

static int reader_fn(void *arg)
{
	struct stress *st = arg;
	unsigned long last[NR_SLOTS] = { 0 };
	uint64_t rnd = (uintptr_t)&last | 1;
	long n = 0;

	while (!READ_ONCE(st->stop)) {
		reader_section(st, last, &rnd);
		n++;
	}
	fetch_add(&st->reads, n);
	return 0;
}

/* Lives for a few sections: its record is made, then reaped by a grace period. */
static int short_reader_fn(void *arg)
{
	struct stress *st = arg;
	unsigned long last[NR_SLOTS] = { 0 };
	uint64_t rnd = (uintptr_t)&last | 1;

	for (int i = 0; i < 16; i++)
		reader_section(st, last, &rnd);
	return 0;
}

/* ---- updaters ---------------------------------------------------------------- */

static int updater_sync_fn(void *arg)
{
	struct stress *st = arg;
	uint64_t rnd = 0x9e3779b97f4a7c15ull;
	long n = 0;

	while (!READ_ONCE(st->stop)) {
		uint64_t r = prandom_u64(&rnd);
		struct obj *old = slot_replace(st, r % NR_SLOTS);

		if (r & 0x100)
			synchronize_srcu_expedited(&st->ss);
		else
			synchronize_srcu(&st->ss);
		if ((r & 0xf000) == 0)
			synchronize_srcu(&st->ss_other);
		obj_free(st, old);
		n++;
	}
	fetch_add(&st->gps, n);
	return 0;
}

static int updater_call_srcu_fn(void *arg)
{
	struct stress *st = arg;
	uint64_t rnd = 0x2545f4914f6cdd1dull;
	long n = 0;

	while (!READ_ONCE(st->stop)) {
		struct obj *old = slot_replace(st, prandom_u64(&rnd) % NR_SLOTS);

		call_srcu(&st->ss, &old->rh, obj_free_cb);
		if (++n % CALL_SRCU_BATCH == 0)
			srcu_barrier(&st->ss);
	}
	fetch_add(&st->callbacks_queued, n);
	return 0;
}

/* ---- the run ---------------------------------------------------------------- */

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct kthread *start(int (*fn)(void *), struct stress *st, const char *name, int i)
{
	struct kthread *k = kthread_run(fn, st, "%s-%d", name, i);

	TEST_ASSERT(!IS_ERR(k), "kthread_run: %ld", PTR_ERR(k));
	return k;
}

/* Until the deadline, start short-lived readers one after another. */
static void churn_readers(struct stress *st, double deadline)
{
	while (now_seconds() < deadline) {
		TEST_ASSERT_EQ(kthread_join(start(short_reader_fn, st, "short", 0)), 0);
		st->churned++;
	}
}

static void stress_init(struct stress *st)
{
	memset(st, 0, sizeof(*st));
	st->pool = frame_pool_create(32ul << 20, 0);
	TEST_ASSERT(!IS_ERR(st->pool), "frame_pool_create: %ld", PTR_ERR(st->pool));
	TEST_ASSERT_EQ(init_srcu_struct(&st->ss), 0);
	TEST_ASSERT_EQ(init_srcu_struct(&st->ss_other), 0);
	mutex_init(&st->slots_lock);
	mutex_init(&st->reader_mutex);
	for (int s = 0; s < NR_SLOTS; s++)
		st->slots[s] = obj_alloc(st, ++st->next_serial[s]);
}

static void stress_teardown(struct stress *st)
{
	synchronize_srcu(&st->ss);
	for (int s = 0; s < NR_SLOTS; s++)
		obj_free(st, st->slots[s]);
	srcu_barrier(&st->ss);
	cleanup_srcu_struct(&st->ss);
	cleanup_srcu_struct(&st->ss_other);
	/* Reports every frame not back in the pool. */
	frame_pool_destroy(st->pool);
}

TEST(srcu_readers_never_see_freed_objects)
{
	struct stress *st = malloc(sizeof(*st));
	struct kthread *readers[NR_READERS], *sync_updater, *cb_updater;

	TEST_ASSERT(st, "malloc");
	stress_init(st);
	for (int i = 0; i < NR_READERS; i++)
		readers[i] = start(reader_fn, st, "reader", i);
	sync_updater = start(updater_sync_fn, st, "sync-updater", 0);
	cb_updater = start(updater_call_srcu_fn, st, "cb-updater", 0);

	churn_readers(st, now_seconds() + STRESS_SECONDS);
	WRITE_ONCE(st->stop, true);
	for (int i = 0; i < NR_READERS; i++)
		TEST_ASSERT_EQ(kthread_join(readers[i]), 0);
	TEST_ASSERT_EQ(kthread_join(sync_updater), 0);
	TEST_ASSERT_EQ(kthread_join(cb_updater), 0);
	stress_teardown(st);

	printf("%ld read sections, %ld synchronize_srcu, %ld call_srcu (%ld run), "
	       "%ld short-lived readers\n",
	       st->reads, st->gps, st->callbacks_queued, st->callbacks_run, st->churned);
	TEST_ASSERT_EQ(st->callbacks_run, st->callbacks_queued);
	/* Not a figure of merit: only proof that every side did run. */
	TEST_ASSERT(st->reads > 0 && st->gps > 0 && st->callbacks_queued > 0 && st->churned > 0,
		    "some thread made no progress");
	free(st);
}
