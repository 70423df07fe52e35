// SPDX-License-Identifier: GPL-2.0
/*
 * The classic mmu_notifier: registration, unregistration and exit, the
 * shared get/put subscriptions freed through call_srcu, non-blockable
 * ranges refused with -EAGAIN, and the young callbacks.
 *
 * Invalidations are made by calling the hooks of mm/mmu_notifier.h
 * directly, as a host path would, so each test controls exactly when a
 * range starts and ends.
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include "base/completion.h"
#include "base/current.h"
#include "base/err.h"
#include "base/kthread.h"
#include "base/preempt.h"
#include "base/sched_point.h"
#include "mm/mmu_notifier.h"
#include "tests/lib/mm_util.h"

#define POOL_SIZE (8UL << 20)

struct sub {
	struct mmu_notifier mn;
	int starts, ends, releases, young_calls;
	bool refuse_nonblock; /* start returns -EAGAIN on a non-blockable range */
	bool atomic_seen;     /* a callback ran in an atomic section */
	int young;	      /* what the young callbacks return */
	unsigned long pte_at_release;
	unsigned long watch; /* an address whose PTE release records */
};

static struct sub *to_sub(struct mmu_notifier *mn)
{
	return container_of(mn, struct sub, mn);
}

static int sub_start(struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	struct sub *s = to_sub(mn);

	s->atomic_seen |= in_atomic();
	if (s->refuse_nonblock && !mmu_notifier_range_blockable(range))
		return -EAGAIN;
	s->starts++;
	return 0;
}

static void sub_end(struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	to_sub(mn)->ends++;
}

static void sub_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct sub *s = to_sub(mn);

	s->releases++;
	if (s->watch)
		s->pte_at_release = mm_pte_val(mm, s->watch);
}

static int sub_clear_young(struct mmu_notifier *mn, struct mm_struct *mm, unsigned long start,
			   unsigned long end)
{
	to_sub(mn)->young_calls++;
	return to_sub(mn)->young;
}

static int sub_test_young(struct mmu_notifier *mn, struct mm_struct *mm, unsigned long address)
{
	to_sub(mn)->young_calls++;
	return to_sub(mn)->young;
}

static const struct mmu_notifier_ops sub_ops = {
	.release = sub_release,
	.invalidate_range_start = sub_start,
	.invalidate_range_end = sub_end,
	.clear_flush_young = sub_clear_young,
	.clear_young = sub_clear_young,
	.test_young = sub_test_young,
};

/* A subscriber that may refuse, and so has no end (the rule for -EAGAIN). */
static const struct mmu_notifier_ops refusing_ops = {
	.invalidate_range_start = sub_start,
};

static void invalidate(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	struct mmu_notifier_range range;

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, start, end);
	mmu_notifier_invalidate_range_start(&range);
	mmu_notifier_invalidate_range_end(&range);
}

TEST(register_then_unregister)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	struct sub s = { .mn.ops = &sub_ops };
	int count = atomic_read(&mm->mm_count);

	TEST_ASSERT(!mm_has_notifiers(mm), "notifiers before registration");
	TEST_ASSERT_EQ(mmu_notifier_register(&s.mn, mm), 0);
	TEST_ASSERT(mm_has_notifiers(mm), "no notifiers after registration");
	TEST_ASSERT(s.mn.mm == mm, "subscription->mm");
	TEST_ASSERT_EQ(atomic_read(&mm->mm_count), count + 1);

	invalidate(mm, 0x10000, 0x20000);
	TEST_ASSERT_EQ(s.starts, 1);
	TEST_ASSERT_EQ(s.ends, 1);
	TEST_ASSERT(!s.atomic_seen, "blockable callbacks ran atomic");

	mmu_notifier_unregister(&s.mn, mm);
	TEST_ASSERT_EQ(s.releases, 1);
	TEST_ASSERT_EQ(atomic_read(&mm->mm_count), count);
	invalidate(mm, 0x10000, 0x20000);
	TEST_ASSERT_EQ(s.starts, 1);

	mmput(mm);
	test_pool_destroy(pool);
}

/* exit_mmap() releases first, while the pages are still mapped; unregister after does not. */
TEST(exit_releases_before_unmapping_and_unregister_does_not_again)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	struct sub s = { .mn.ops = &sub_ops };
	const char byte = 1;

	s.watch = test_mmap_anon(mm, PAGE_SIZE, PROT_READ | PROT_WRITE);
	mm_write(mm, s.watch, &byte, 1);
	TEST_ASSERT_EQ(mmu_notifier_register(&s.mn, mm), 0);

	mmget(mm); /* a second user: the first mmput does not exit */
	mmput(mm);
	TEST_ASSERT_EQ(s.releases, 0);
	mmput(mm); /* exit_mmap: the subscription's mmgrab keeps the struct */
	TEST_ASSERT_EQ(s.releases, 1);
	TEST_ASSERT(s.pte_at_release & 1, "PTE gone before ->release (%#lx)", s.pte_at_release);
	/* The unmap that followed found no subscriber: release unhashed it. */
	TEST_ASSERT_EQ(s.starts, 0);

	mmu_notifier_unregister(&s.mn, mm);
	TEST_ASSERT_EQ(s.releases, 1);
	test_pool_destroy(pool);
}

TEST(nonblock_start_refused_with_eagain_unwinds_the_others)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	struct sub ok = { .mn.ops = &sub_ops };
	struct sub refuser = { .mn.ops = &refusing_ops, .refuse_nonblock = true };
	struct mmu_notifier_range range;

	TEST_ASSERT_EQ(mmu_notifier_register(&ok.mn, mm), 0);
	TEST_ASSERT_EQ(mmu_notifier_register(&refuser.mn, mm), 0);

	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, mm, 0x10000, 0x20000);
	TEST_ASSERT_EQ(mmu_notifier_invalidate_range_start_nonblock(&range), -EAGAIN);
	/* The subscriber that started got its end; the caller must not call end. */
	TEST_ASSERT_EQ(ok.starts, 1);
	TEST_ASSERT_EQ(ok.ends, 1);
	TEST_ASSERT_EQ(refuser.starts, 0);
	/* Non-blockable callbacks run atomic, so a sleep in them is reported. */
	TEST_ASSERT(ok.atomic_seen && refuser.atomic_seen, "non-blockable start not atomic");

	/* Blockable, nobody refuses. */
	invalidate(mm, 0x10000, 0x20000);
	TEST_ASSERT_EQ(ok.starts, 2);
	TEST_ASSERT_EQ(refuser.starts, 1);

	mmu_notifier_unregister(&refuser.mn, mm);
	ok.atomic_seen = false;
	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, mm, 0x10000, 0x20000);
	TEST_ASSERT_EQ(mmu_notifier_invalidate_range_start_nonblock(&range), 0);
	mmu_notifier_invalidate_range_end(&range);
	TEST_ASSERT_EQ(ok.starts, 3);
	TEST_ASSERT_EQ(ok.ends, 3);

	mmu_notifier_unregister(&ok.mn, mm);
	mmput(mm);
	test_pool_destroy(pool);
}

TEST(young_callbacks_or_and_test_young_stops_at_the_first)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	struct sub a = { .mn.ops = &sub_ops, .young = 0 };
	struct sub b = { .mn.ops = &sub_ops, .young = 1 };

	TEST_ASSERT_EQ(mmu_notifier_register(&a.mn, mm), 0);
	TEST_ASSERT_EQ(mmu_notifier_register(&b.mn, mm), 0);

	TEST_ASSERT_EQ(mmu_notifier_clear_flush_young(mm, 0x10000, 0x11000), 1);
	TEST_ASSERT_EQ(mmu_notifier_clear_young(mm, 0x10000, 0x11000), 1);
	TEST_ASSERT_EQ(a.young_calls, 2);
	TEST_ASSERT_EQ(b.young_calls, 2);
	/* b registered last, so it is first on the list; it is young: a is not asked. */
	TEST_ASSERT_EQ(mmu_notifier_test_young(mm, 0x10000), 1);
	TEST_ASSERT_EQ(b.young_calls, 3);
	TEST_ASSERT_EQ(a.young_calls, 2);
	b.young = 0;
	TEST_ASSERT_EQ(mmu_notifier_test_young(mm, 0x10000), 0);
	TEST_ASSERT_EQ(a.young_calls, 3);

	mmu_notifier_unregister(&a.mn, mm);
	mmu_notifier_unregister(&b.mn, mm);
	mmput(mm);
	test_pool_destroy(pool);
}

/* ---- get/put ---- */

struct shared_sub {
	struct mmu_notifier mn;
	int *frees;
	struct task_struct *freed_by;
};

static int shared_frees;

static struct mmu_notifier *shared_alloc(struct mm_struct *mm)
{
	struct shared_sub *s = calloc(1, sizeof(*s));

	if (!s)
		return ERR_PTR(-ENOMEM);
	s->frees = &shared_frees;
	return &s->mn;
}

static void shared_free(struct mmu_notifier *mn)
{
	struct shared_sub *s = container_of(mn, struct shared_sub, mn);

	/* Runs after the grace period, on the SRCU callback thread. */
	TEST_ASSERT(current != READ_ONCE(s->freed_by), "freed on the putting thread");
	fetch_add(s->frees, 1);
	free(s);
}

static int shared_starts;

static int shared_start(struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	shared_starts++;
	return 0;
}

static const struct mmu_notifier_ops shared_ops = {
	.invalidate_range_start = shared_start,
	.alloc_notifier = shared_alloc,
	.free_notifier = shared_free,
};

TEST(get_locked_shares_one_subscription_and_put_frees_it_after_a_grace_period)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	struct mmu_notifier *a, *b;
	int count = atomic_read(&mm->mm_count);

	mmap_write_lock(mm);
	a = mmu_notifier_get_locked(&shared_ops, mm);
	b = mmu_notifier_get_locked(&shared_ops, mm);
	mmap_write_unlock(mm);
	TEST_ASSERT(!IS_ERR(a) && a == b, "get_locked: %p %p", a, b);
	TEST_ASSERT_EQ(a->users, 2);

	invalidate(mm, 0x10000, 0x20000);
	TEST_ASSERT_EQ(shared_starts, 1); /* one subscription, one call */

	container_of(a, struct shared_sub, mn)->freed_by = current;
	mmu_notifier_put(b);
	invalidate(mm, 0x10000, 0x20000);
	TEST_ASSERT_EQ(shared_starts, 2);
	mmu_notifier_put(a);
	/* Unhashed at once: no more calls, freed later. */
	invalidate(mm, 0x10000, 0x20000);
	TEST_ASSERT_EQ(shared_starts, 2);

	mmu_notifier_synchronize();
	TEST_ASSERT_EQ(smp_load_mb(shared_frees), 1);
	TEST_ASSERT_EQ(atomic_read(&mm->mm_count), count);

	mmput(mm);
	test_pool_destroy(pool);
}

/* ---- unregister racing exit ---- */

struct racer {
	struct mmu_notifier mn;
	struct completion in_release, leave_release;
	int releases;
	bool release_returned;
};

static void racer_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct racer *r = container_of(mn, struct racer, mn);

	/* Only exit's release blocks: unregister's own (if any) passes. */
	if (fetch_add(&r->releases, 1) == 0) {
		complete(&r->in_release);
		wait_for_completion(&r->leave_release);
		smp_store_mb(r->release_returned, true);
	}
}

static const struct mmu_notifier_ops racer_ops = {
	.release = racer_release,
};

static void *exit_thread(void *arg)
{
	mmput(arg);
	return NULL;
}

static void *unregister_thread(void *arg)
{
	struct racer *r = arg;

	mmu_notifier_unregister(&r->mn, r->mn.mm);
	/* The grace period covers exit's ->release: it has returned. */
	TEST_ASSERT(smp_load_mb(r->release_returned),
		    "unregister returned while exit_mmap's ->release ran");
	return NULL;
}

TEST(unregister_waits_for_a_release_exit_is_making)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	struct racer r = { .mn.ops = &racer_ops };
	pthread_t exiter, unregisterer;

	init_completion(&r.in_release);
	init_completion(&r.leave_release);
	TEST_ASSERT_EQ(mmu_notifier_register(&r.mn, mm), 0);
	mmgrab(mm); /* ours, for after the exit */

	TEST_ASSERT_EQ(pthread_create(&exiter, NULL, exit_thread, mm), 0);
	wait_for_completion(&r.in_release);
	TEST_ASSERT_EQ(pthread_create(&unregisterer, NULL, unregister_thread, &r), 0);
	complete(&r.leave_release);
	pthread_join(unregisterer, NULL);
	pthread_join(exiter, NULL);
	TEST_ASSERT(r.releases >= 1 && r.releases <= 2, "%d releases", r.releases);

	mmdrop(mm);
	test_pool_destroy(pool);
}

struct late_unregister {
	struct sub *s;
	struct mm_struct *mm;
	bool returned;
};

static int late_unregister_fn(void *arg)
{
	struct late_unregister *u = arg;

	mmu_notifier_unregister(&u->s->mn, u->mm);
	smp_store_mb(u->returned, true);
	return 0;
}

/*
 * Exit has released and unhashed the subscription and is parked still
 * inside the notifier's SRCU section, where a callback of the subscriber
 * may still run.  An unregister that finds the subscription unhashed must
 * still wait for that grace period, or its caller frees the subscriber
 * under exit's walk.  The unregistering thread is parked at the grace
 * period's "readers busy" poll; if it returns first, it skipped the wait.
 */
TEST(unregister_after_exit_unhashed_waits_for_the_grace_period)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	struct sub s = { .mn.ops = &sub_ops };
	struct late_unregister u = { .s = &s, .mm = mm };
	pthread_t exiter;
	struct kthread *k;

	TEST_ASSERT_EQ(mmu_notifier_register(&s.mn, mm), 0);
	mmgrab(mm); /* ours, for after the exit */

	TEST_ASSERT_EQ(sched_point_arm("mmu_notifier_release:unhashed", NULL), 0);
	TEST_ASSERT_EQ(pthread_create(&exiter, NULL, exit_thread, mm), 0);
	TEST_ASSERT_EQ(sched_point_wait("mmu_notifier_release:unhashed"), 0);
	TEST_ASSERT_EQ(s.releases, 1);

	TEST_ASSERT_EQ(sched_point_arm("srcu:readers_busy", "unregisterer"), 0);
	k = kthread_run(late_unregister_fn, &u, "unregisterer");
	TEST_ASSERT(!IS_ERR(k), "kthread_run: %ld", PTR_ERR(k));
	/* Either it waits for exit's section, or (the bug) it returns. */
	while (!sched_point_parked("srcu:readers_busy") && !smp_load_mb(u.returned))
		sched_yield();
	TEST_ASSERT(!smp_load_mb(u.returned),
		    "mmu_notifier_unregister() returned while exit_mmap() was inside the "
		    "SRCU section: no grace period after exit unhashed the subscription");

	sched_point_release("mmu_notifier_release:unhashed");
	sched_point_release("srcu:readers_busy");
	TEST_ASSERT_EQ(kthread_join(k), 0);
	pthread_join(exiter, NULL);
	TEST_ASSERT_EQ(s.releases, 1);

	mmdrop(mm);
	test_pool_destroy(pool);
}

/* ---- rule 4, register under all locks, the other way round ---- */

struct reg_ctx {
	struct sub *s;
	struct mm_struct *mm;
	struct file *file;
};

static void *register_thread(void *arg)
{
	struct reg_ctx *c = arg;

	TEST_ASSERT_EQ(mmu_notifier_register(&c->s->mn, c->mm), 0);
	return NULL;
}

static void *truncate_thread(void *arg)
{
	struct reg_ctx *c = arg;

	TEST_ASSERT_EQ(vfs_truncate(c->file, 0), 0);
	return NULL;
}

/*
 * A truncation that reaches the file while a registration holds all the
 * locks waits for it, and the new subscriber then hears the whole
 * invalidation: a start for every end.
 */
TEST(rmap_walk_waits_for_a_registration_and_is_heard_in_full)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	struct sub s = { .mn.ops = &sub_ops };
	struct reg_ctx c = { .s = &s, .mm = mm };
	pthread_t registrar, truncator;
	unsigned long addr;
	char buf[16];

	c.file = shmem_file_setup(pool, "file", 4 * PAGE_SIZE);
	TEST_ASSERT(!IS_ERR(c.file), "shmem_file_setup");
	addr = test_mmap(mm, 0, 4 * PAGE_SIZE, PROT_READ, MAP_SHARED, c.file, 0);
	mm_read(mm, addr, buf, sizeof(buf)); /* a PTE to zap */

	sched_point_arm("mmu_notifier_register:locked", NULL);
	TEST_ASSERT_EQ(pthread_create(&registrar, NULL, register_thread, &c), 0);
	sched_point_wait("mmu_notifier_register:locked");
	TEST_ASSERT(rwsem_is_locked(&c.file->f_mapping->i_mmap_rwsem), "i_mmap_rwsem not held");

	TEST_ASSERT_EQ(pthread_create(&truncator, NULL, truncate_thread, &c), 0);
	while (!rwsem_is_contended(&c.file->f_mapping->i_mmap_rwsem))
		sched_yield();
	TEST_ASSERT_EQ(s.starts, 0);
	sched_point_release("mmu_notifier_register:locked");
	pthread_join(registrar, NULL);
	pthread_join(truncator, NULL);

	TEST_ASSERT(s.starts >= 1, "the truncation was not heard");
	TEST_ASSERT_EQ(s.starts, s.ends);

	mmu_notifier_unregister(&s.mn, mm);
	TEST_ASSERT_EQ(vm_munmap(mm, addr, 4 * PAGE_SIZE), 0);
	fput(c.file);
	mmput(mm);
	test_pool_destroy(pool);
}

/*
 * Rule 4 the other way round: the locks must still be held when the
 * subscription becomes visible, or a truncation could start between the
 * drop and the publication and end after it, unheard at its start.  Parked
 * after the publication, the registrar must still hold the file's
 * i_mmap_rwsem.
 */
TEST(registration_publishes_before_dropping_the_rmap_locks)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	struct sub s = { .mn.ops = &sub_ops };
	struct reg_ctx c = { .s = &s, .mm = mm };
	pthread_t registrar;
	unsigned long addr;

	c.file = shmem_file_setup(pool, "file", 4 * PAGE_SIZE);
	TEST_ASSERT(!IS_ERR(c.file), "shmem_file_setup");
	addr = test_mmap(mm, 0, 4 * PAGE_SIZE, PROT_READ, MAP_SHARED, c.file, 0);

	sched_point_arm("mmu_notifier_register:published", NULL);
	TEST_ASSERT_EQ(pthread_create(&registrar, NULL, register_thread, &c), 0);
	sched_point_wait("mmu_notifier_register:published");
	TEST_ASSERT(rwsem_is_locked(&c.file->f_mapping->i_mmap_rwsem),
		    "rule 4: subscription published after mm_drop_all_locks()");
	sched_point_release("mmu_notifier_register:published");
	pthread_join(registrar, NULL);

	mmu_notifier_unregister(&s.mn, mm);
	TEST_ASSERT_EQ(vm_munmap(mm, addr, 4 * PAGE_SIZE), 0);
	fput(c.file);
	mmput(mm);
	test_pool_destroy(pool);
}
