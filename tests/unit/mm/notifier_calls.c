// SPDX-License-Identifier: GPL-2.0
/*
 * Where mm/ calls the mmu_notifier, and what the notifier layer does with
 * the calls.
 *
 * A recording "mirror" plays a secondary MMU: it makes translations of host
 * pages through get_user_page_ref() (keeping only a frame stamp, no
 * reference) and drops them when invalidate_range_start (or release)
 * covers them.  When it drops one it checks the stamp: a frame already
 * freed is a sanitizer report, so the test fails if a host path frees a
 * page before announcing its range (rule 1, invalidate before free).  It
 * also checks that the host PTE still maps the frame at that moment (the
 * announcement comes before the change), that start never runs in an
 * atomic section (rule 6, notifier outside atomic sections), and logs
 * every call so each test can assert the event and the range.
 */
#include <string.h>

#include "base/mutex.h"
#include "base/spinlock.h"
#include "mm/internal.h"
#include "mm/mmu_notifier.h"
#include "mm/sanitizer.h"
#include "tests/lib/mm_util.h"

#define POOL_SIZE (16UL << 20)
#define NR_PAGES 8UL
#define LEN (NR_PAGES * PAGE_SIZE)
#define MAX_SPTES 64
#define MAX_LOG 64

enum call { CALL_START, CALL_END, CALL_RELEASE };

struct logged_call {
	enum call call;
	enum mmu_notifier_event event;
	unsigned long start, end;
	bool blockable;
};

/* One translation the mirror holds: no reference, only what it was made from. */
struct spte {
	unsigned long addr;
	struct frame_stamp stamp;
	bool valid;
};

struct mirror {
	struct mmu_notifier mn;
	struct mm_struct *mm;
	struct spte sptes[MAX_SPTES];
	int nr_sptes;
	struct logged_call log[MAX_LOG];
	int nr_log;
	int in_progress; /* starts not yet ended */
	int zapped;	 /* translations dropped by start or release */
};

static struct mirror *to_mirror(struct mmu_notifier *mn)
{
	return container_of(mn, struct mirror, mn);
}

static void log_call(struct mirror *m, enum call call, const struct mmu_notifier_range *range)
{
	TEST_ASSERT(m->nr_log < MAX_LOG, "notifier log full");
	m->log[m->nr_log++] = (struct logged_call){
		.call = call,
		.event = range ? range->event : MMU_NOTIFY_RELEASE,
		.start = range ? range->start : 0,
		.end = range ? range->end : ~0UL,
		.blockable = range ? mmu_notifier_range_blockable(range) : true,
	};
}

/*
 * Drop one translation, as a secondary MMU's zap does.  The frame must
 * not be freed yet (frame_check_stamp() reports if it was), and the host
 * must not have changed its PTE before announcing it.
 */
static void zap_spte(struct mirror *m, struct spte *s)
{
	struct frame_access acc = { .addr = s->addr, .size = 1, .who = "mirror zap" };

	TEST_ASSERT(frame_check_stamp(m->mm->pool, &s->stamp, &acc),
		    "frame of %#lx freed before the notifier heard of it", s->addr);
	TEST_ASSERT(mm_pte_pfn(m->mm, s->addr) == (long)s->stamp.pfn,
		    "host PTE of %#lx changed before invalidate_range_start", s->addr);
	s->valid = false;
	m->zapped++;
}

static int mirror_invalidate_range_start(struct mmu_notifier *mn,
					 const struct mmu_notifier_range *range)
{
	struct mirror *m = to_mirror(mn);

	/* mm/ calls it where it may sleep; the notifier makes non-blockable calls atomic. */
	TEST_ASSERT(in_atomic() == !mmu_notifier_range_blockable(range),
		    "invalidate_range_start in an atomic section");
	TEST_ASSERT(range->mm == m->mm && range->start < range->end, "bad range");
	log_call(m, CALL_START, range);
	m->in_progress++;
	for (int i = 0; i < m->nr_sptes; i++) {
		struct spte *s = &m->sptes[i];

		if (s->valid && s->addr >= range->start && s->addr < range->end)
			zap_spte(m, s);
	}
	return 0;
}

static void mirror_invalidate_range_end(struct mmu_notifier *mn,
					const struct mmu_notifier_range *range)
{
	struct mirror *m = to_mirror(mn);

	log_call(m, CALL_END, range);
	TEST_ASSERT(m->in_progress-- > 0, "end without start");
}

static void mirror_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct mirror *m = to_mirror(mn);

	TEST_ASSERT(!in_atomic(), "release in an atomic section");
	log_call(m, CALL_RELEASE, NULL);
	for (int i = 0; i < m->nr_sptes; i++)
		if (m->sptes[i].valid)
			zap_spte(m, &m->sptes[i]);
}

static const struct mmu_notifier_ops mirror_ops = {
	.release = mirror_release,
	.invalidate_range_start = mirror_invalidate_range_start,
	.invalidate_range_end = mirror_invalidate_range_end,
};

static void mirror_register(struct mirror *m, struct mm_struct *mm)
{
	memset(m, 0, sizeof(*m));
	m->mm = mm;
	m->mn.ops = &mirror_ops;
	TEST_ASSERT_EQ(mmu_notifier_register(&m->mn, mm), 0);
	TEST_ASSERT(mm_has_notifiers(mm), "registered but no notifiers");
}

/* Translate [addr, addr + len) as the secondary MMU's fault path would. */
static void mirror_map(struct mirror *m, unsigned long addr, size_t len, bool write)
{
	for (unsigned long a = addr; a < addr + len; a += PAGE_SIZE) {
		struct page *page;
		bool writable;

		TEST_ASSERT(m->nr_sptes < MAX_SPTES, "mirror full");
		TEST_ASSERT_EQ(get_user_page_ref(m->mm, a, write, &page, &writable), 0);
		m->sptes[m->nr_sptes++] = (struct spte){ a, frame_stamp_of(page), true };
		put_page(page);
	}
}

/* Every translation still held must still be good, and the calls balanced. */
static void mirror_check(struct mirror *m)
{
	struct frame_access acc = { .size = 1, .who = "mirror check" };

	TEST_ASSERT_EQ(m->in_progress, 0);
	for (int i = 0; i < m->nr_sptes; i++) {
		acc.addr = m->sptes[i].addr;
		if (m->sptes[i].valid)
			TEST_ASSERT(frame_check_stamp(m->mm->pool, &m->sptes[i].stamp, &acc),
				    "mirrored frame of %#lx freed unannounced", acc.addr);
	}
}

static bool spte_valid(struct mirror *m, unsigned long addr)
{
	for (int i = 0; i < m->nr_sptes; i++)
		if (m->sptes[i].addr == addr)
			return m->sptes[i].valid;
	TEST_FAIL("%#lx never mirrored", addr);
	return false;
}

/* Has the frame behind @addr's translation been freed since it was made? */
static bool spte_frame_freed(struct mirror *m, unsigned long addr)
{
	for (int i = 0; i < m->nr_sptes; i++) {
		struct spte *s = &m->sptes[i];

		if (s->addr == addr)
			return READ_ONCE(m->mm->pool->mem_map[s->stamp.pfn].gen) != s->stamp.gen;
	}
	TEST_FAIL("%#lx never mirrored", addr);
	return false;
}

/* How many starts of @event covered [lo, hi), each with its matching end. */
static int announced(struct mirror *m, enum mmu_notifier_event event, unsigned long lo,
		     unsigned long hi)
{
	int starts = 0, ends = 0;

	for (int i = 0; i < m->nr_log; i++) {
		struct logged_call *c = &m->log[i];

		if (c->event != event || c->start > lo || c->end < hi)
			continue;
		TEST_ASSERT(c->blockable, "mm/ announced a non-blockable range");
		starts += c->call == CALL_START;
		ends += c->call == CALL_END;
	}
	TEST_ASSERT_EQ(starts, ends);
	return starts;
}

static int count_calls(struct mirror *m, enum call call)
{
	int n = 0;

	for (int i = 0; i < m->nr_log; i++)
		n += m->log[i].call == call;
	return n;
}

static void teardown(struct mirror *m, struct mm_struct *mm, struct frame_pool *pool)
{
	mmu_notifier_unregister(&m->mn, mm);
	mmput(mm);
	test_pool_destroy(pool);
}

/* ---- the call sites ---- */

TEST(munmap_announces_unmap_before_freeing)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	unsigned long addr = test_mmap_anon(mm, LEN, PROT_READ | PROT_WRITE);
	unsigned long lo = addr + 2 * PAGE_SIZE, hi = addr + 5 * PAGE_SIZE;
	struct mirror m;

	mm_fill(mm, addr, LEN, 1);
	mirror_register(&m, mm);
	mirror_map(&m, addr, LEN, true);

	TEST_ASSERT_EQ(vm_munmap(mm, lo, hi - lo), 0);
	TEST_ASSERT(announced(&m, MMU_NOTIFY_UNMAP, lo, hi) >= 1, "munmap not announced as UNMAP");
	for (unsigned long a = addr; a < addr + LEN; a += PAGE_SIZE) {
		bool inside = a >= lo && a < hi;

		TEST_ASSERT(spte_valid(&m, a) == !inside, "translation of %#lx", a);
		/* The frames went back, after the announcement: the test could have failed. */
		TEST_ASSERT(spte_frame_freed(&m, a) == inside, "frame of %#lx", a);
	}
	mirror_check(&m);
	teardown(&m, mm, pool);
}

TEST(mprotect_announces_protection_vma)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	unsigned long addr = test_mmap_anon(mm, LEN, PROT_READ | PROT_WRITE);
	unsigned long lo = addr + PAGE_SIZE, hi = addr + 3 * PAGE_SIZE;
	struct mirror m;

	mm_fill(mm, addr, LEN, 1);
	mirror_register(&m, mm);
	mirror_map(&m, addr, LEN, true);

	TEST_ASSERT_EQ(do_mprotect(mm, lo, hi - lo, PROT_READ), 0);
	TEST_ASSERT(announced(&m, MMU_NOTIFY_PROTECTION_VMA, lo, hi) >= 1,
		    "mprotect not announced as PROTECTION_VMA");
	for (unsigned long a = addr; a < addr + LEN; a += PAGE_SIZE) {
		TEST_ASSERT(spte_valid(&m, a) == !(a >= lo && a < hi), "translation of %#lx", a);
		TEST_ASSERT(!spte_frame_freed(&m, a), "mprotect freed %#lx", a);
	}
	mm_check(mm, addr, LEN, 1);
	mirror_check(&m);
	teardown(&m, mm, pool);
}

TEST(madv_dontneed_announces_clear_before_freeing)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	unsigned long addr = test_mmap_anon(mm, LEN, PROT_READ | PROT_WRITE);
	unsigned long lo = addr + 4 * PAGE_SIZE, hi = addr + LEN;
	struct mirror m;

	mm_fill(mm, addr, LEN, 1);
	mirror_register(&m, mm);
	mirror_map(&m, addr, LEN, false);

	TEST_ASSERT_EQ(do_madvise(mm, lo, hi - lo, MADV_DONTNEED), 0);
	TEST_ASSERT(announced(&m, MMU_NOTIFY_CLEAR, lo, hi) >= 1,
		    "DONTNEED not announced as CLEAR");
	for (unsigned long a = addr; a < addr + LEN; a += PAGE_SIZE) {
		bool inside = a >= lo && a < hi;

		TEST_ASSERT(spte_valid(&m, a) == !inside, "translation of %#lx", a);
		TEST_ASSERT(spte_frame_freed(&m, a) == inside, "frame of %#lx", a);
	}
	mm_check_zero(mm, lo, hi - lo);
	mirror_check(&m);
	teardown(&m, mm, pool);
}

/* fork write-protects the parent's private PTEs: the mirror's writable copies must go. */
TEST(fork_announces_parent_write_protect)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool), *child;
	unsigned long addr = test_mmap_anon(mm, LEN, PROT_READ | PROT_WRITE);
	struct mirror m;

	mm_fill(mm, addr, LEN, 1);
	mirror_register(&m, mm);
	mirror_map(&m, addr, LEN, true);

	child = test_fork(mm);
	TEST_ASSERT(announced(&m, MMU_NOTIFY_PROTECTION_PAGE, addr, addr + LEN) >= 1,
		    "fork's write-protect not announced");
	for (unsigned long a = addr; a < addr + LEN; a += PAGE_SIZE) {
		TEST_ASSERT(!spte_valid(&m, a), "writable translation of %#lx kept over fork", a);
		TEST_ASSERT(!spte_frame_freed(&m, a), "fork freed %#lx", a);
	}
	mirror_check(&m);
	mmput(child);
	teardown(&m, mm, pool);
}

/*
 * A write to a page shared since fork replaces it in the writer's page
 * table: the writer's mirror must drop its copy of the old page first.
 */
TEST(cow_break_announces_clear)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *parent = test_mm(pool), *child;
	unsigned long addr = test_mmap_anon(parent, LEN, PROT_READ | PROT_WRITE);
	unsigned long at = addr + 3 * PAGE_SIZE;
	struct mirror m;

	mm_fill(parent, addr, LEN, 1);
	child = test_fork(parent);
	mirror_register(&m, child);
	mirror_map(&m, addr, LEN, false);

	mm_fill(child, at, PAGE_SIZE, 2);
	TEST_ASSERT(announced(&m, MMU_NOTIFY_CLEAR, at, at + PAGE_SIZE) == 1,
		    "COW break not announced as CLEAR");
	for (unsigned long a = addr; a < addr + LEN; a += PAGE_SIZE)
		TEST_ASSERT(spte_valid(&m, a) == (a != at), "translation of %#lx", a);

	/* Once the parent lets go, the old frame is freed: it was announced in time. */
	mmput(parent);
	TEST_ASSERT(spte_frame_freed(&m, at), "the parent's page outlived both mappings");
	mm_check(child, at, PAGE_SIZE, 2);
	mirror_check(&m);
	teardown(&m, child, pool);
}

/* exit_mmap(): release, once, before any frame goes; then nothing more. */
TEST(exit_releases_before_freeing)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	unsigned long addr = test_mmap_anon(mm, LEN, PROT_READ | PROT_WRITE);
	struct mirror m;

	mm_fill(mm, addr, LEN, 1);
	mirror_register(&m, mm);
	mirror_map(&m, addr, LEN, true);

	mmgrab(mm); /* keep the mm_struct to unregister from, as KVM does */
	mmput(mm);
	TEST_ASSERT_EQ(count_calls(&m, CALL_RELEASE), 1);
	TEST_ASSERT_EQ(m.log[0].call, CALL_RELEASE);
	TEST_ASSERT_EQ(m.nr_log, 1); /* unhashed by release: exit's unmap was not heard */
	TEST_ASSERT_EQ(m.zapped, (int)NR_PAGES);
	for (unsigned long a = addr; a < addr + LEN; a += PAGE_SIZE)
		TEST_ASSERT(spte_frame_freed(&m, a), "exit kept %#lx", a);

	mmu_notifier_unregister(&m.mn, mm);
	TEST_ASSERT_EQ(count_calls(&m, CALL_RELEASE), 1); /* not again */
	mmdrop(mm);
	test_pool_destroy(pool);
}

/* ---- the notifier layer itself ---- */

TEST(unregister_releases_and_stops_callbacks)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	unsigned long addr = test_mmap_anon(mm, LEN, PROT_READ | PROT_WRITE);
	struct mirror a, b;

	mm_fill(mm, addr, LEN, 1);
	mirror_register(&a, mm);
	mirror_register(&b, mm);
	mirror_map(&a, addr, PAGE_SIZE, false);

	TEST_ASSERT_EQ(vm_munmap(mm, addr + PAGE_SIZE, PAGE_SIZE), 0);
	TEST_ASSERT(announced(&a, MMU_NOTIFY_UNMAP, addr + PAGE_SIZE, addr + 2 * PAGE_SIZE) &&
			    announced(&b, MMU_NOTIFY_UNMAP, addr + PAGE_SIZE, addr + 2 * PAGE_SIZE),
		    "a subscriber missed the call");

	mmu_notifier_unregister(&a.mn, mm);
	TEST_ASSERT_EQ(count_calls(&a, CALL_RELEASE), 1);
	TEST_ASSERT(!spte_valid(&a, addr), "release left a translation");
	a.nr_log = 0;
	TEST_ASSERT_EQ(vm_munmap(mm, addr + 2 * PAGE_SIZE, PAGE_SIZE), 0);
	TEST_ASSERT_EQ(a.nr_log, 0);
	TEST_ASSERT(announced(&b, MMU_NOTIFY_UNMAP, addr + 2 * PAGE_SIZE, addr + 3 * PAGE_SIZE),
		    "the other subscriber stopped hearing");

	mmput(mm); /* b is released by exit, a is not again */
	TEST_ASSERT_EQ(a.nr_log, 0);
	TEST_ASSERT_EQ(count_calls(&b, CALL_RELEASE), 1);
	mmu_notifier_unregister(&b.mn, mm); /* the last reference: frees the mm_struct */
	test_pool_destroy(pool);
}

/* A subscriber that would have to sleep refuses a non-blockable range. */
static int refuse_start(struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	/* Non-blockable callbacks run as an atomic section: sleeping would report. */
	TEST_ASSERT(in_atomic() == !mmu_notifier_range_blockable(range), "atomic mismatch");
	return mmu_notifier_range_blockable(range) ? 0 : -EAGAIN;
}

static const struct mmu_notifier_ops refuse_ops = { .invalidate_range_start = refuse_start };

TEST(nonblock_start_fails_and_unwinds)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	struct mmu_notifier refuser = { .ops = &refuse_ops };
	struct mmu_notifier_range range;
	struct mirror m;

	mirror_register(&m, mm);
	TEST_ASSERT_EQ(mmu_notifier_register(&refuser, mm), 0);

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, 0x10000, 0x20000);
	TEST_ASSERT_EQ(mmu_notifier_invalidate_range_start_nonblock(&range), -EAGAIN);
	/* The mirror started and got its end at once; the caller calls no end. */
	TEST_ASSERT_EQ(count_calls(&m, CALL_START), 1);
	TEST_ASSERT_EQ(count_calls(&m, CALL_END), 1);
	TEST_ASSERT(!m.log[0].blockable, "nonblock range marked blockable");

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, 0x10000, 0x20000);
	mmu_notifier_invalidate_range_start(&range);
	mmu_notifier_invalidate_range_end(&range);
	TEST_ASSERT_EQ(count_calls(&m, CALL_START), 2);
	TEST_ASSERT_EQ(count_calls(&m, CALL_END), 2);

	mmu_notifier_unregister(&refuser, mm);
	teardown(&m, mm, pool);
}

static int young_a(struct mmu_notifier *mn, struct mm_struct *mm, unsigned long s, unsigned long e)
{
	return 0;
}

static int young_b(struct mmu_notifier *mn, struct mm_struct *mm, unsigned long s, unsigned long e)
{
	return 1;
}

static int test_young_b(struct mmu_notifier *mn, struct mm_struct *mm, unsigned long address)
{
	return address == 0x42000;
}

static const struct mmu_notifier_ops old_ops = { .clear_young = young_a,
						 .clear_flush_young = young_a };
static const struct mmu_notifier_ops young_ops = { .clear_young = young_b,
						   .clear_flush_young = young_b,
						   .test_young = test_young_b };

TEST(young_callbacks_or_their_answers)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	struct mmu_notifier old = { .ops = &old_ops }, young = { .ops = &young_ops };

	TEST_ASSERT(!mm_has_notifiers(mm), "notifiers before any registration");
	TEST_ASSERT_EQ(mmu_notifier_clear_young(mm, 0, ~0UL), 0);
	TEST_ASSERT_EQ(mmu_notifier_register(&old, mm), 0);
	TEST_ASSERT_EQ(mmu_notifier_clear_young(mm, 0, ~0UL), 0);
	TEST_ASSERT_EQ(mmu_notifier_register(&young, mm), 0);
	TEST_ASSERT_EQ(mmu_notifier_clear_young(mm, 0, ~0UL), 1);
	TEST_ASSERT_EQ(mmu_notifier_clear_flush_young(mm, 0, ~0UL), 1);
	TEST_ASSERT_EQ(mmu_notifier_test_young(mm, 0x42000), 1);
	TEST_ASSERT_EQ(mmu_notifier_test_young(mm, 0x43000), 0);

	mmu_notifier_unregister(&young, mm);
	TEST_ASSERT_EQ(mmu_notifier_clear_young(mm, 0, ~0UL), 0);
	mmu_notifier_unregister(&old, mm);
	mmput(mm);
	test_pool_destroy(pool);
}

/* The hook's might_sleep() catches a caller in an atomic section, subscriber or not. */
TEST(start_in_atomic_section_is_reported)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	struct mmu_notifier_range range;
	DEFINE_SPINLOCK(lock);

#ifndef CONFIG_LOCKDEP
	TEST_REQUIRE(!"might_sleep() checks built in (Debug builds)");
#endif
	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, mm, 0x10000, 0x20000);
	spin_lock(&lock);
	mmu_notifier_invalidate_range_start(&range);
	mmu_notifier_invalidate_range_end(&range);
	spin_unlock(&lock);
	expect_reports(REPORT_ATOMIC_SLEEP, 1); /* start's; end sleeps only for a blockable range */
	mmput(mm);
	test_pool_destroy(pool);
}

static DEFINE_MUTEX(secondary_lock);

static int locking_start(struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	mutex_lock(&secondary_lock);
	mutex_unlock(&secondary_lock);
	return 0;
}

static const struct mmu_notifier_ops locking_ops = { .invalidate_range_start = locking_start };

/*
 * The invalidation pseudo-lock: a host path that announces a range while
 * holding a lock the secondary MMU takes in its callback would deadlock.
 * Lockdep sees it from the two orders alone, without the deadlock: here
 * the second order is taken on an mm with no subscriber.
 */
TEST(invalidate_under_a_callback_lock_is_reported)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool), *other = test_mm(pool);
	struct mmu_notifier locker = { .ops = &locking_ops };
	struct mmu_notifier_range range;

#ifndef CONFIG_LOCKDEP
	TEST_REQUIRE(!"lockdep built in (Debug builds)");
#endif
	TEST_ASSERT_EQ(mmu_notifier_register(&locker, mm), 0);
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, 0x10000, 0x20000);
	mmu_notifier_invalidate_range_start(&range);
	mmu_notifier_invalidate_range_end(&range);

	mutex_lock(&secondary_lock);
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, other, 0x10000, 0x20000);
	mmu_notifier_invalidate_range_start(&range);
	mmu_notifier_invalidate_range_end(&range);
	mutex_unlock(&secondary_lock);
	expect_reports(REPORT_LOCKDEP, 1);
	mmu_notifier_unregister(&locker, mm);
	mmput(other);
	mmput(mm);
	test_pool_destroy(pool);
}
