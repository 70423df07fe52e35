// SPDX-License-Identifier: GPL-2.0
/*
 * The mirror device under load: a device reader and a device writer work
 * on a shared anonymous buffer through the mirror while the host keeps
 * invalidating it underneath: MADV_DONTNEED of random pages (frees them),
 * migration of random pages (new frames), mprotect read-only and back
 * (write-protect).  The device never holds a reference, so every one of
 * those host changes must reach it through the interval notifier before
 * the frame is freed or reused.
 *
 * What is checked: the frame sanitizer sees no access through a stale
 * device entry (every device access and every zap checks the entry's
 * stamp) and no bad page state; every byte the device reads, and at the
 * end every byte the host reads, is either zero (a page dropped and
 * refaulted) or the byte the writer stores at that address; device writes
 * to a page made read-only are refused with -EPERM; every frame comes back
 * to the pool.
 *
 * The run lasts STRESS_SECONDS of wall time (a workload size, not a
 * check).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/kthread.h"
#include "base/prandom.h"
#include "mm/migrate.h"
#include "mmu/mirror.h"
#include "tests/lib/mm_util.h"

#define STRESS_SECONDS 5
#define POOL_SIZE (32UL << 20)
#define NPAGES 64UL
#define SIZE (NPAGES * PAGE_SIZE)
#define SEED 7
#define CHUNK 8UL /* pages per device access */

struct stress {
	struct frame_pool *pool;
	struct mm_struct *mm;
	struct mirror *m;
	unsigned long addr;
	bool stop;
	long reads, writes, eperm, dontneeds, migrated, mprotects;
};

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool stopping(struct stress *st)
{
	return READ_ONCE(st->stop);
}

/* Every byte is 0 or the one byte anyone ever writes at its address. */
static void check_bytes(const uint8_t *buf, unsigned long addr, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint8_t want = mm_pattern_byte(addr + i, SEED);

		TEST_ASSERT(buf[i] == 0 || buf[i] == want, "byte %#lx reads %#x (want 0 or %#x)",
			    addr + i, buf[i], want);
	}
}

static int device_reader(void *arg)
{
	struct stress *st = arg;
	uint8_t *buf = malloc(CHUNK * PAGE_SIZE);
	uint64_t rnd = 1;

	TEST_ASSERT(buf, "malloc");
	while (!stopping(st)) {
		unsigned long page = prandom_u64(&rnd) % (NPAGES - CHUNK + 1);
		unsigned long addr = st->addr + page * PAGE_SIZE;

		TEST_ASSERT_EQ(mirror_read(st->m, addr, buf, CHUNK, NULL), 0);
		check_bytes(buf, addr, CHUNK * PAGE_SIZE);
		st->reads++;
	}
	free(buf);
	return 0;
}

static int device_writer(void *arg)
{
	struct stress *st = arg;
	uint8_t *buf = malloc(CHUNK * PAGE_SIZE);
	uint64_t rnd = 2;

	TEST_ASSERT(buf, "malloc");
	while (!stopping(st)) {
		unsigned long page = prandom_u64(&rnd) % (NPAGES - CHUNK + 1);
		unsigned long addr = st->addr + page * PAGE_SIZE;
		int ret;

		for (size_t i = 0; i < CHUNK * PAGE_SIZE; i++)
			buf[i] = mm_pattern_byte(addr + i, SEED);
		ret = mirror_write(st->m, addr, buf, CHUNK, NULL);
		TEST_ASSERT(ret == 0 || ret == -EPERM, "mirror_write: %d", ret);
		if (ret)
			st->eperm++;
		else
			st->writes++;
	}
	free(buf);
	return 0;
}

/*
 * The host's invalidations until @end: drop, migrate and write-protect
 * random pages.  One thread does all three, and the host stores nothing
 * meanwhile: mprotect racing migration, and a GUP store racing
 * migration's copy, are races inside mm/ of their own, not what this test
 * (the mirror device against host invalidations) is about.
 */
static void host_churn(struct stress *st, double end)
{
	struct migrate_stats ms = { 0 };
	uint64_t rnd = 3;

	while (now_seconds() < end) {
		unsigned long addr = st->addr + (prandom_u64(&rnd) % NPAGES) * PAGE_SIZE;

		switch (prandom_u64(&rnd) % 3) {
		case 0:
			TEST_ASSERT_EQ(do_madvise(st->mm, addr, PAGE_SIZE, MADV_DONTNEED), 0);
			st->dontneeds++;
			break;
		case 1:
			st->migrated += migrate_random_pages(st->mm, 4, &rnd, &ms);
			break;
		default:
			TEST_ASSERT_EQ(do_mprotect(st->mm, addr, PAGE_SIZE, PROT_READ), 0);
			TEST_ASSERT_EQ(do_mprotect(st->mm, addr, PAGE_SIZE, PROT_READ | PROT_WRITE),
				       0);
			st->mprotects++;
			break;
		}
	}
}

static struct kthread *start(int (*fn)(void *), struct stress *st, const char *name)
{
	struct kthread *k = kthread_run(fn, st, "%s", name);

	TEST_ASSERT(!IS_ERR(k), "kthread_run %s", name);
	return k;
}

TEST(device_access_under_host_invalidation)
{
	struct stress *st = calloc(1, sizeof(*st));
	struct kthread *threads[2];
	uint8_t *buf;

	TEST_ASSERT(st, "calloc");
	st->pool = test_pool(POOL_SIZE);
	st->mm = test_mm(st->pool);
	st->m = mirror_open(st->mm);
	TEST_ASSERT(!IS_ERR(st->m), "mirror_open");
	st->addr = test_mmap_anon(st->mm, SIZE, PROT_READ | PROT_WRITE);

	threads[0] = start(device_reader, st, "dev-reader");
	threads[1] = start(device_writer, st, "dev-writer");
	host_churn(st, now_seconds() + STRESS_SECONDS);
	WRITE_ONCE(st->stop, true);
	for (int i = 0; i < 2; i++)
		TEST_ASSERT_EQ(kthread_join(threads[i]), 0);

	/* What the host sees at the end, device writes included. */
	buf = malloc(SIZE);
	TEST_ASSERT(buf, "malloc");
	mm_read(st->mm, st->addr, buf, SIZE);
	check_bytes(buf, st->addr, SIZE);
	free(buf);

	printf("%ld device reads, %ld writes (%ld refused read-only), %ld MADV_DONTNEED, "
	       "%ld pages migrated, %ld mprotect pairs, %lu invalidations, %lu device faults\n",
	       st->reads, st->writes, st->eperm, st->dontneeds, st->migrated, st->mprotects,
	       mirror_invalidations(st->m), mirror_faults(st->m));
	TEST_ASSERT(st->reads && st->writes && st->dontneeds && st->migrated && st->mprotects,
		    "some side made no progress");

	mirror_close(st->m);
	mmput(st->mm);
	/* No sanitizer report of any kind, every frame back. */
	test_pool_destroy(st->pool);
	free(st);
}
