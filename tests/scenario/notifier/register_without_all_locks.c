// SPDX-License-Identifier: GPL-2.0
/*
 * Rule 4, register under all locks: mmu_notifier registration must hold
 * mm_take_all_locks().
 *
 * A truncation walks the file's i_mmap with i_mmap_rwsem held for read,
 * and for each VMA brackets its zap with invalidate_range_start/_end.
 * It does not hold mmap_lock.  A secondary MMU registering in the middle
 * of that, between the start and the zap, has missed the start: nothing
 * tells it the pages of the range are about to go, so its first fault maps
 * one (the host PTE is still there), the truncation then zaps and frees
 * it, and the secondary MMU is left with a translation to a freed frame.
 * It hears only the end, which it never saw begin.
 *
 * mm_take_all_locks() takes every i_mmap_rwsem of the mm for write, so
 * the registration waits for the truncation's whole walk; its fault then
 * finds the truncated page gone (SIGBUS) and maps only what survived.
 *
 * LEGACY_REGISTER_WITHOUT_ALL_LOCKS in mm->legacy skips the locks.
 *
 * The secondary MMU here is KVM's shape reduced to a handful of entries:
 * an invalidate sequence and an in-progress count bumped by its
 * start/end, and a fault that installs a translation (a frame stamp, no
 * reference) only if no invalidation ran since it sampled the sequence.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>

#include "base/err.h"
#include "base/legacy.h"
#include "base/sched_point.h"
#include "base/spinlock.h"
#include "mm/mmu_notifier.h"
#include "mm/sanitizer.h"
#include "mmu/mirror.h"
#include "tests/lib/mm_util.h"

#define POOL_SIZE (16UL << 20)
#define NR_PAGES 8UL
#define FILE_SIZE (NR_PAGES * PAGE_SIZE)
#define SEED 2

struct spte {
	unsigned long addr;
	struct frame_stamp stamp;
	bool valid;
};

struct secondary {
	struct mmu_notifier mn;
	struct mm_struct *mm;
	spinlock_t mmu_lock;
	unsigned long mmu_invalidate_seq;
	long mmu_invalidate_in_progress;
	bool unbalanced_end; /* an end whose start it never heard */
	int stale_zaps;	     /* translations whose frame was freed before the zap */
	struct spte sptes[NR_PAGES];
	int nr_sptes;
};

static struct secondary *to_secondary(struct mmu_notifier *mn)
{
	return container_of(mn, struct secondary, mn);
}

static int secondary_invalidate_range_start(struct mmu_notifier *mn,
					    const struct mmu_notifier_range *range)
{
	struct secondary *s = to_secondary(mn);

	spin_lock(&s->mmu_lock);
	s->mmu_invalidate_in_progress++;
	for (int i = 0; i < s->nr_sptes; i++) {
		struct spte *e = &s->sptes[i];
		struct frame_access acc = { .addr = e->addr,
					    .size = 1,
					    .who = "secondary MMU zap" };

		if (!e->valid || e->addr < range->start || e->addr >= range->end)
			continue;
		/* The host announces before it frees: the frame must still be the one mapped. */
		if (!frame_check_stamp(s->mm->pool, &e->stamp, &acc))
			s->stale_zaps++;
		e->valid = false;
	}
	spin_unlock(&s->mmu_lock);
	return 0;
}

static void secondary_invalidate_range_end(struct mmu_notifier *mn,
					   const struct mmu_notifier_range *range)
{
	struct secondary *s = to_secondary(mn);

	spin_lock(&s->mmu_lock);
	s->mmu_invalidate_seq++;
	if (s->mmu_invalidate_in_progress)
		s->mmu_invalidate_in_progress--;
	else
		s->unbalanced_end = true;
	spin_unlock(&s->mmu_lock);
}

static const struct mmu_notifier_ops secondary_ops = {
	.invalidate_range_start = secondary_invalidate_range_start,
	.invalidate_range_end = secondary_invalidate_range_end,
};

/* KVM's fault: sample the sequence, look up without a pin, install unless an invalidation ran. */
static int secondary_fault(struct secondary *s, unsigned long addr)
{
	for (;;) {
		unsigned long seq;
		struct page *page;
		bool retry;
		int ret;

		spin_lock(&s->mmu_lock);
		seq = s->mmu_invalidate_seq;
		spin_unlock(&s->mmu_lock);

		ret = get_user_page_ref(s->mm, addr, false, &page, NULL);
		if (ret)
			return ret;

		spin_lock(&s->mmu_lock);
		retry = s->mmu_invalidate_in_progress || s->mmu_invalidate_seq != seq;
		if (!retry)
			s->sptes[s->nr_sptes++] = (struct spte){
				.addr = addr,
				.stamp = frame_stamp_of(page),
				.valid = true,
			};
		spin_unlock(&s->mmu_lock);
		put_page(page);
		if (!retry)
			return 0;
	}
}

/* A device access through every valid translation: a freed frame is a report. */
static int secondary_access(struct secondary *s)
{
	int stale = 0;

	spin_lock(&s->mmu_lock);
	for (int i = 0; i < s->nr_sptes; i++) {
		struct spte *e = &s->sptes[i];
		struct frame_access acc = { .addr = e->addr, .size = 1, .who = "secondary MMU" };

		if (e->valid && !frame_check_stamp(s->mm->pool, &e->stamp, &acc))
			stale++;
	}
	spin_unlock(&s->mmu_lock);
	return stale;
}

struct scenario {
	struct frame_pool *pool;
	struct mm_struct *mm;
	struct file *file;
	unsigned long addr;
	struct secondary s;
	int fault_first, fault_last; /* the secondary's faults of the first and last page */
	struct mirror *mirror;	     /* the interval-notifier variant */
};

static void *truncate_thread(void *arg)
{
	struct scenario *sc = arg;

	TEST_ASSERT_EQ(vfs_truncate(sc->file, FILE_SIZE / 2), 0);
	return NULL;
}

/* The VMM thread: register, then fault a page that survives and one that does not. */
/* The same with the mirror device, whose first interval registers the interval side. */
static void *open_mirror_thread(void *arg)
{
	struct scenario *sc = arg;
	uint8_t buf[PAGE_SIZE];

	sc->mirror = mirror_open(sc->mm);
	TEST_ASSERT(!IS_ERR(sc->mirror), "mirror_open");
	sc->fault_first = mirror_read(sc->mirror, sc->addr, buf, 1, NULL);
	sc->fault_last = mirror_read(sc->mirror, sc->addr + FILE_SIZE - PAGE_SIZE, buf, 1, NULL);
	return NULL;
}

static void *register_thread(void *arg)
{
	struct scenario *sc = arg;

	TEST_ASSERT_EQ(mmu_notifier_register(&sc->s.mn, sc->mm), 0);
	sc->fault_first = secondary_fault(&sc->s, sc->addr);
	sc->fault_last = secondary_fault(&sc->s, sc->addr + FILE_SIZE - PAGE_SIZE);
	return NULL;
}

/* The mapping reads the file's pattern (by file offset) for its first @len bytes. */
static void check_file_data(struct scenario *sc, size_t len)
{
	static uint8_t buf[FILE_SIZE];

	mm_read(sc->mm, sc->addr, buf, len);
	for (size_t i = 0; i < len; i++)
		if (buf[i] != mm_pattern_byte(i, SEED))
			TEST_FAIL("byte %zu of the file reads %#x", i, buf[i]);
}

static void scenario_init(struct scenario *sc, bool legacy)
{
	*sc = (struct scenario){ 0 };
	sc->pool = test_pool(POOL_SIZE);
	sc->mm = test_mm(sc->pool);
	if (legacy)
		sc->mm->legacy |= LEGACY_BIT(LEGACY_REGISTER_WITHOUT_ALL_LOCKS);
	sc->file = test_file(sc->pool, FILE_SIZE, O_RDWR, SEED);
	sc->addr = test_mmap(sc->mm, 0, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, sc->file, 0);
	/* Every page mapped at the host: the truncation has PTEs to zap. */
	check_file_data(sc, FILE_SIZE);
	sc->s.mn.ops = &secondary_ops;
	sc->s.mm = sc->mm;
	spin_lock_init(&sc->s.mmu_lock);
}

/* Everything freed; the pool's sanitizer counted @use_after_free stale translations. */
static void scenario_fini(struct scenario *sc, unsigned long use_after_free)
{
	struct sanitizer_counters c;

	if (sc->s.mn.mm)
		mmu_notifier_unregister(&sc->s.mn, sc->mm);
	if (sc->mirror)
		mirror_close(sc->mirror);
	mmput(sc->mm);
	fput(sc->file);
	frame_pool_sanitizer_counters(sc->pool, &c);
	TEST_ASSERT_EQ(c.use_after_free, use_after_free);
	TEST_ASSERT(!c.bad_page_state && !c.double_free && !c.write_after_free, "sanitizer");
	TEST_ASSERT_EQ(test_pool_allocated(sc->pool), 0);
	frame_pool_destroy(sc->pool);
}

/*
 * Park the truncation between invalidate_range_start and its zap of the
 * VMA, holding i_mmap_rwsem for read.
 */
static void park_truncation(struct scenario *sc, pthread_t *truncator)
{
	sched_point_arm("zap_pte_range:pte_table", NULL);
	TEST_ASSERT_EQ(pthread_create(truncator, NULL, truncate_thread, sc), 0);
	sched_point_wait("zap_pte_range:pte_table");
}

TEST(registration_waits_for_the_truncation)
{
	struct scenario sc;
	pthread_t truncator, registrar;
	struct address_space *mapping;

	scenario_init(&sc, false);
	mapping = sc.file->f_mapping;
	park_truncation(&sc, &truncator);

	TEST_ASSERT_EQ(pthread_create(&registrar, NULL, register_thread, &sc), 0);
	/* mm_take_all_locks() queues behind the truncation's i_mmap_rwsem. */
	while (!rwsem_is_contended(&mapping->i_mmap_rwsem))
		sched_yield();
	TEST_ASSERT(!mm_has_notifiers(sc.mm), "registered mid-invalidation");

	sched_point_release("zap_pte_range:pte_table");
	pthread_join(truncator, NULL);
	pthread_join(registrar, NULL);

	/* It saw the truncated file: the last page is past the end, the first is fine. */
	TEST_ASSERT_EQ(sc.fault_first, 0);
	TEST_ASSERT_EQ(sc.fault_last, -EFAULT);
	TEST_ASSERT(!sc.s.unbalanced_end, "an end without its start");
	TEST_ASSERT_EQ(sc.s.stale_zaps, 0);
	TEST_ASSERT_EQ(secondary_access(&sc.s), 0);
	check_file_data(&sc, FILE_SIZE / 2);
	expect_reports(REPORT_SANITIZER, 0);

	scenario_fini(&sc, 0);
}

TEST(legacy_registration_mid_truncation_maps_a_page_that_is_then_freed)
{
	struct scenario sc;
	pthread_t truncator, registrar;
	char title[128];

	scenario_init(&sc, true);
	park_truncation(&sc, &truncator);

	/* No locks: it registers and faults while the truncation is parked. */
	TEST_ASSERT_EQ(pthread_create(&registrar, NULL, register_thread, &sc), 0);
	pthread_join(registrar, NULL);
	TEST_ASSERT_EQ(sc.fault_first, 0);
	TEST_ASSERT_EQ(sc.fault_last, 0); /* the host PTE was still there */

	sched_point_release("zap_pte_range:pte_table");
	pthread_join(truncator, NULL);

	TEST_ASSERT(sc.s.unbalanced_end, "the secondary MMU heard the start it should have missed");
	/*
	 * The truncation freed the last page while the secondary MMU still
	 * mapped it; truncate_pagecache()'s second unmap pass announced the
	 * range only afterwards, and the zap found the frame freed.
	 */
	TEST_ASSERT_EQ(sc.s.stale_zaps, 1);
	report_last_title(REPORT_SANITIZER, title, sizeof(title));
	expect_reports(REPORT_SANITIZER, 1);
	TEST_ASSERT(strstr(title, "use-after-free") || strstr(title, "stale"), "report: %s", title);

	scenario_fini(&sc, 1);
}

/*
 * The same race with an interval notifier: the mirror device's first
 * interval registers the mm's interval side, and must wait as well.
 */
TEST(mirror_open_waits_for_the_truncation)
{
	struct scenario sc;
	pthread_t truncator, opener;
	struct address_space *mapping;

	scenario_init(&sc, false);
	mapping = sc.file->f_mapping;
	park_truncation(&sc, &truncator);

	TEST_ASSERT_EQ(pthread_create(&opener, NULL, open_mirror_thread, &sc), 0);
	while (!rwsem_is_contended(&mapping->i_mmap_rwsem))
		sched_yield();
	sched_point_release("zap_pte_range:pte_table");
	pthread_join(truncator, NULL);
	pthread_join(opener, NULL);

	TEST_ASSERT_EQ(sc.fault_first, 0);
	TEST_ASSERT_EQ(sc.fault_last, -EFAULT);
	check_file_data(&sc, FILE_SIZE / 2);
	scenario_fini(&sc, 0);
}

/*
 * With the switch, the interval side appears between the truncation's
 * start and end: the end finds no invalidation counted (a WARN), the
 * mirror maps the last page, and the truncation frees it under the
 * device's entry; the next pass's zap finds the frame freed.
 */
TEST(legacy_mirror_opened_mid_truncation_maps_a_page_that_is_then_freed)
{
	struct scenario sc;
	pthread_t truncator, opener;

	scenario_init(&sc, true);
	park_truncation(&sc, &truncator);

	TEST_ASSERT_EQ(pthread_create(&opener, NULL, open_mirror_thread, &sc), 0);
	pthread_join(opener, NULL);
	TEST_ASSERT_EQ(sc.fault_first, 0);
	TEST_ASSERT_EQ(sc.fault_last, 0);

	sched_point_release("zap_pte_range:pte_table");
	pthread_join(truncator, NULL);

	expect_reports(REPORT_WARN, 1);	     /* an invalidate_range_end without its start */
	expect_reports(REPORT_SANITIZER, 1); /* the mirror's zap of the freed frame */
	scenario_fini(&sc, 1);
}
