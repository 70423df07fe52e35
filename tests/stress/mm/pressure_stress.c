// SPDX-License-Identifier: GPL-2.0
/*
 * The integrity stress of memory pressure: several process families use
 * anonymous, shared-anonymous and file memory that together exceed the
 * frame pool, while reclaim (kswapd, direct reclaim and a thread calling
 * shrink_node()), migration (migrate_random_pages() on every process) and
 * truncation (shrinking and regrowing, and punching holes in, each
 * family's file) run beside them.
 *
 * A family is a parent process and a fork chain below it (children fork
 * grandchildren, and exit), driven by one worker thread.  Every page has
 * a shadow: the seed of the pattern last written to it (0 for zeroes),
 * one per process for private anonymous memory (a child starts with a
 * copy of its parent's shadow at fork) and one per family for the shared
 * mappings.  Every read is checked against the shadow: whatever reclaim
 * swapped out, migration moved or writeback cleaned, a process must read
 * exactly what it last wrote.  Truncation and hole punching change what a
 * family's file holds, so they run under the family's lock and update its
 * shadow; reclaim and migration are not told anything.
 *
 * At the end every process exits, and the test asserts that no sanitizer
 * report was made, every swap slot is free and every frame is back.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/kthread.h"
#include "base/mutex.h"
#include "base/prandom.h"
#include "mm/internal.h"
#include "mm/migrate.h"
#include "mm/swap.h"
#include "tests/lib/mm_util.h"

#define RW (PROT_READ | PROT_WRITE)
#define NR_FAMILIES 3
#define MAX_DEPTH 3	/* the parent and up to two generations below it */
#define NR_ANON 192	/* private anonymous pages per process */
#define NR_SHM 32	/* shared anonymous pages per family */
#define NR_FILE 96	/* pages of each family's file, mapped shared */
#define POOL_FRAMES 640 /* < 3 * (192 + 32 + 96) + COW copies + page tables */
#define SWAP_SLOTS 4096
#define WORKER_OPS 10000 /* per family */
#define MIGRATE_BATCH 8

struct process {
	struct mm_struct *mm;
	uint64_t anon[NR_ANON]; /* shadow seeds */
};

struct stress;

struct family {
	struct stress *st;
	int id;
	struct mutex lock; /* the chain, the shadows, the file's size */
	struct process chain[MAX_DEPTH];
	int depth;
	struct file *file;
	unsigned long anon, shm, fmap; /* the same addresses in every process of the chain */
	uint64_t shm_seed[NR_SHM];
	uint64_t file_seed[NR_FILE];
	uint64_t rand;
	uint64_t next_seed;
	unsigned long ops;
};

struct stress {
	struct frame_pool *pool;
	struct family fam[NR_FAMILIES];
	bool stop;
	atomic_t workers_left;
	unsigned long migrated, truncations, punches, shrunk;
};

static uint64_t fam_rand(struct family *f)
{
	return prandom_u64(&f->rand);
}

/*
 * Write @seed's pattern to the page at @addr as a kernel writer through GUP
 * must (access_process_vm(), a driver writing into user pages): with a
 * reference, and the page dirtied under its lock afterwards, so that
 * writeback or swap-out racing with the copy does not clean the page
 * after the old contents went out.  mm_fill() is not used for this:
 * access_remote_vm() (mm/gup.c) does not dirty the page it wrote, and
 * under this stress a write racing with swap-out or writeback is lost.
 */
static void write_page(struct mm_struct *mm, unsigned long addr, uint64_t seed)
{
	uint8_t *data;
	struct page *page;

	TEST_ASSERT_EQ(get_user_pages(mm, addr, 1, FOLL_GET | FOLL_WRITE, &page), 1);
	data = page_address(page);
	for (unsigned long i = 0; i < PAGE_SIZE; i++)
		data[i] = mm_pattern_byte(addr + i, seed);
	lock_page(page);
	set_page_dirty(page);
	unlock_page(page);
	put_page(page);
}

static void check_page(struct mm_struct *mm, unsigned long addr, uint64_t seed)
{
	if (seed)
		mm_check(mm, addr, PAGE_SIZE, seed);
	else
		mm_check_zero(mm, addr, PAGE_SIZE);
}

/* ---- one family's worker ---- */

static void family_write(struct family *f)
{
	struct process *p = &f->chain[fam_rand(f) % f->depth];
	uint64_t seed = ++f->next_seed;
	unsigned int i;

	switch (fam_rand(f) % 3) {
	case 0:
		i = fam_rand(f) % NR_ANON;
		write_page(p->mm, f->anon + i * PAGE_SIZE, seed);
		p->anon[i] = seed;
		break;
	case 1:
		i = fam_rand(f) % NR_SHM;
		write_page(p->mm, f->shm + i * PAGE_SIZE, seed);
		f->shm_seed[i] = seed;
		break;
	default:
		i = fam_rand(f) % NR_FILE;
		write_page(p->mm, f->fmap + i * PAGE_SIZE, seed);
		f->file_seed[i] = seed;
		break;
	}
}

static void family_check(struct family *f)
{
	struct process *p = &f->chain[fam_rand(f) % f->depth];
	unsigned int i = fam_rand(f) % NR_ANON;

	check_page(p->mm, f->anon + i * PAGE_SIZE, p->anon[i]);
	i = fam_rand(f) % NR_SHM;
	check_page(p->mm, f->shm + i * PAGE_SIZE, f->shm_seed[i]);
	i = fam_rand(f) % NR_FILE;
	check_page(p->mm, f->fmap + i * PAGE_SIZE, f->file_seed[i]);
}

/* The youngest process forks, or exits. */
static void family_fork_or_exit(struct family *f)
{
	struct process *youngest = &f->chain[f->depth - 1];

	if (f->depth < MAX_DEPTH && fam_rand(f) % 2) {
		struct process *child = &f->chain[f->depth];

		child->mm = dup_mm(youngest->mm, "child");
		TEST_ASSERT(child->mm, "dup_mm");
		memcpy(child->anon, youngest->anon, sizeof(child->anon));
		f->depth++;
	} else if (f->depth > 1) {
		/* A whole check of what is about to go, then the exit. */
		for (unsigned int i = 0; i < NR_ANON; i++)
			check_page(youngest->mm, f->anon + i * PAGE_SIZE, youngest->anon[i]);
		mmput(youngest->mm);
		youngest->mm = NULL;
		f->depth--;
	}
}

static int worker_thread(void *data)
{
	struct family *f = data;
	struct stress *st = f->st;

	for (unsigned long n = 0; n < WORKER_OPS; n++) {
		unsigned int op = fam_rand(f) % 16;

		mutex_lock(&f->lock);
		if (op < 8)
			family_write(f);
		else if (op < 15)
			family_check(f);
		else
			family_fork_or_exit(f);
		f->ops++;
		mutex_unlock(&f->lock);
	}
	if (atomic_dec_and_test(&st->workers_left))
		WRITE_ONCE(st->stop, true);
	return 0;
}

/* ---- the pressure ---- */

/* Migrate a few random pages of every process, over and over. */
static int migrate_thread(void *data)
{
	struct stress *st = data;
	struct migrate_stats stats = { 0 };
	uint64_t seed = 0x5eed;

	while (!READ_ONCE(st->stop)) {
		struct family *f = &st->fam[prandom_u64(&seed) % NR_FAMILIES];
		struct mm_struct *mm;

		/* A process of the chain, kept from exiting under us by mm_users. */
		mutex_lock(&f->lock);
		mm = f->chain[prandom_u64(&seed) % f->depth].mm;
		mmget(mm);
		mutex_unlock(&f->lock);
		migrate_random_pages(mm, MIGRATE_BATCH, &seed, &stats);
		mmput(mm);
	}
	st->migrated = stats.migrated;
	return 0;
}

/*
 * Shrink a family's file and grow it back, or punch a hole in it: the
 * pages cut off read as zeroes afterwards, in every process of the chain.
 */
static int truncate_thread(void *data)
{
	struct stress *st = data;
	uint64_t seed = 0x7c;

	while (!READ_ONCE(st->stop)) {
		struct family *f = &st->fam[prandom_u64(&seed) % NR_FAMILIES];
		unsigned long from = prandom_u64(&seed) % NR_FILE;
		unsigned long len = 1 + prandom_u64(&seed) % (NR_FILE - from);

		mutex_lock(&f->lock);
		if (prandom_u64(&seed) % 2) {
			TEST_ASSERT_EQ(vfs_truncate(f->file, from * PAGE_SIZE), 0);
			TEST_ASSERT_EQ(vfs_truncate(f->file, NR_FILE * PAGE_SIZE), 0);
			len = NR_FILE - from;
			st->truncations++;
		} else {
			TEST_ASSERT_EQ(vfs_fallocate(f->file,
						     FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
						     from * PAGE_SIZE, len * PAGE_SIZE),
				       0);
			st->punches++;
		}
		memset(&f->file_seed[from], 0, len * sizeof(f->file_seed[0]));
		/* Every process sees it: check one page of the range in one of them. */
		check_page(f->chain[prandom_u64(&seed) % f->depth].mm, f->fmap + from * PAGE_SIZE,
			   0);
		mutex_unlock(&f->lock);
	}
	return 0;
}

/* Reclaim on its own schedule, beside kswapd and direct reclaim. */
static int shrink_thread(void *data)
{
	struct stress *st = data;

	while (!READ_ONCE(st->stop))
		st->shrunk += shrink_node(st->pool->pgdat, SWAP_CLUSTER_MAX);
	return 0;
}

/* ---- setup and teardown ---- */

static void family_init(struct stress *st, struct family *f, int id)
{
	struct mm_struct *mm = test_mm(st->pool);

	f->st = st;
	f->id = id;
	mutex_init(&f->lock);
	f->rand = 0x1234 + id;
	f->next_seed = (uint64_t)id << 40;
	f->chain[0].mm = mm;
	f->depth = 1;
	f->file = test_file(st->pool, NR_FILE * PAGE_SIZE, O_RDWR, 0);
	f->anon = test_mmap_anon(mm, NR_ANON * PAGE_SIZE, RW);
	f->shm = test_mmap(mm, 0, NR_SHM * PAGE_SIZE, RW, MAP_SHARED | MAP_ANONYMOUS, NULL, 0);
	f->fmap = test_mmap(mm, 0, NR_FILE * PAGE_SIZE, RW, MAP_SHARED, f->file, 0);
	/* Seed 0 of test_file() is a pattern too, not zeroes: start from a written state. */
	for (unsigned int i = 0; i < NR_FILE; i++) {
		f->file_seed[i] = ++f->next_seed;
		write_page(mm, f->fmap + i * PAGE_SIZE, f->file_seed[i]);
	}
}

/* Check every page of every process, then let them all exit. */
static void family_fini(struct family *f)
{
	for (int d = f->depth - 1; d >= 0; d--) {
		struct process *p = &f->chain[d];

		for (unsigned int i = 0; i < NR_ANON; i++)
			check_page(p->mm, f->anon + i * PAGE_SIZE, p->anon[i]);
		for (unsigned int i = 0; i < NR_SHM; i++)
			check_page(p->mm, f->shm + i * PAGE_SIZE, f->shm_seed[i]);
		for (unsigned int i = 0; i < NR_FILE; i++)
			check_page(p->mm, f->fmap + i * PAGE_SIZE, f->file_seed[i]);
		mmput(p->mm);
	}
	fput(f->file);
}

TEST(pressure_reclaim_migrate_truncate)
{
	static struct stress st;
	struct kthread *workers[NR_FAMILIES], *mig, *trunc, *shrink;
	char name[16];
	int type;

	st.pool = test_pool(POOL_FRAMES * PAGE_SIZE);
	type = test_swapon(SWAP_SLOTS);
	reclaim_enable(st.pool);
	TEST_ASSERT_EQ(kswapd_run(st.pool, POOL_FRAMES / 16, POOL_FRAMES / 8), 0);

	for (int i = 0; i < NR_FAMILIES; i++)
		family_init(&st, &st.fam[i], i);
	atomic_set(&st.workers_left, NR_FAMILIES);

	for (int i = 0; i < NR_FAMILIES; i++) {
		snprintf(name, sizeof(name), "worker%d", i);
		workers[i] = kthread_run(worker_thread, &st.fam[i], "%s", name);
		TEST_ASSERT(!IS_ERR(workers[i]), "kthread_run");
	}
	mig = kthread_run(migrate_thread, &st, "migrate");
	trunc = kthread_run(truncate_thread, &st, "truncate");
	shrink = kthread_run(shrink_thread, &st, "shrink");
	TEST_ASSERT(!IS_ERR(mig) && !IS_ERR(trunc) && !IS_ERR(shrink), "kthread_run");

	for (int i = 0; i < NR_FAMILIES; i++)
		TEST_ASSERT_EQ(kthread_stop(workers[i]), 0);
	TEST_ASSERT_EQ(kthread_stop(mig), 0);
	TEST_ASSERT_EQ(kthread_stop(trunc), 0);
	TEST_ASSERT_EQ(kthread_stop(shrink), 0);
	kswapd_stop(st.pool);

	printf("pressure: %lu pages migrated, %lu truncations, %lu punches, %lu reclaimed by "
	       "shrink_node, %ld swapped out, %ld swapped in\n",
	       st.migrated, st.truncations, st.punches, st.shrunk,
	       atomic_long_read(&st.pool->pgdat->stats.pswpout),
	       atomic_long_read(&st.pool->pgdat->stats.pswpin));
	TEST_ASSERT(st.migrated > 0, "no page migrated");
	TEST_ASSERT(atomic_long_read(&st.pool->pgdat->stats.pswpout) > 0, "nothing swapped out");

	for (int i = 0; i < NR_FAMILIES; i++)
		family_fini(&st.fam[i]);
	TEST_ASSERT_EQ(nr_swap_pages_used(), 0);
	TEST_ASSERT_EQ(swapoff(type), 0);
	test_pool_destroy(st.pool);
}
