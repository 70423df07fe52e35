// SPDX-License-Identifier: GPL-2.0
/*
 * Museum: LEGACY_START_IN_TLB_GATHER (rule 6, notifier outside atomic
 * sections).
 *
 * A device mirrors part of an address space; its invalidate_range_start
 * takes the device's mutex, which may sleep (a real device waits there for
 * its hardware to stop using the pages).  The host munmaps the range:
 *
 *  - with the rule, unmap_vmas() announces the range before the zap's
 *    atomic section opens: the callback runs preemptible, the lock checker
 *    is silent, the range is gone and its frames are back in the pool;
 *  - with the switch, as from 2.6.27 until the preemptible mmu_gather
 *    (3.0), the start runs inside the gather's atomic section: start's own
 *    might_sleep() and the callback's mutex_lock() are each reported as
 *    "sleeping function called from invalid context", and the reports
 *    name the switch.  Nothing deadlocks here only because the model's
 *    atomic sections do not really disable preemption; on a real CPU the
 *    callback would sleep with preemption off.
 */
#include <string.h>

#include "base/legacy.h"
#include "base/mutex.h"
#include "base/preempt.h"
#include "mm/mmu_notifier.h"
#include "tests/lib/mm_util.h"
#include "tests/lib/test_util.h"

#define POOL (4UL << 20)
#define LEN (16 * PAGE_SIZE)

struct device {
	struct mmu_notifier mn;
	struct mutex lock; /* held while the device's hardware walks its tables */
	int starts, starts_in_atomic;
};

static int device_start(struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	struct device *dev = container_of(mn, struct device, mn);

	dev->starts_in_atomic += in_atomic();
	mutex_lock(&dev->lock);
	dev->starts++;
	mutex_unlock(&dev->lock);
	return 0;
}

static const struct mmu_notifier_ops device_ops = { .invalidate_range_start = device_start };

/* Map, fill and mirror LEN bytes, then munmap them; returns the frames in use before. */
static unsigned long munmap_mirrored(struct frame_pool *pool, struct mm_struct *mm,
				     struct device *dev)
{
	unsigned long addr = test_mmap_anon(mm, LEN, PROT_READ | PROT_WRITE), before;

	mutex_init(&dev->lock);
	dev->mn.ops = &device_ops;
	TEST_ASSERT_EQ(mmu_notifier_register(&dev->mn, mm), 0);
	mm_fill(mm, addr, LEN, 1);
	before = test_pool_allocated(pool);
	TEST_ASSERT_EQ(vm_munmap(mm, addr, LEN), 0);
	TEST_ASSERT(mm_try_read(mm, addr, &(char){ 0 }, 1) < 0, "the range is unmapped");
	TEST_ASSERT(test_pool_allocated(pool) <= before - LEN / PAGE_SIZE,
		    "the range's frames are back in the pool");
	TEST_ASSERT_EQ(dev->starts, 1);
	return before;
}

static void done(struct frame_pool *pool, struct mm_struct *mm, struct device *dev)
{
	mmu_notifier_unregister(&dev->mn, mm);
	mmput(mm);
	test_pool_destroy(pool);
}

TEST(start_before_the_atomic_section)
{
	struct frame_pool *pool = test_pool(POOL);
	struct mm_struct *mm = test_mm(pool);
	struct device dev = { 0 };

	munmap_mirrored(pool, mm, &dev);
	TEST_ASSERT_EQ(dev.starts_in_atomic, 0);
	expect_reports(REPORT_ATOMIC_SLEEP, 0);
	TEST_ASSERT_EQ(legacy_tainted(), 0UL);
	done(pool, mm, &dev);
}

TEST(legacy_start_in_tlb_gather)
{
	struct frame_pool *pool = test_pool(POOL);
	struct mm_struct *mm = test_mm(pool);
	struct device dev = { 0 };
	char title[160];

	mm->legacy = LEGACY_BIT(LEGACY_START_IN_TLB_GATHER);
	munmap_mirrored(pool, mm, &dev);
	TEST_ASSERT_EQ(dev.starts_in_atomic, 1);
	TEST_ASSERT_EQ(legacy_tainted(), LEGACY_BIT(LEGACY_START_IN_TLB_GATHER));
#ifndef CONFIG_LOCKDEP
	TEST_REQUIRE(!"might_sleep() checks built in (Debug builds)");
#endif
	/* The start's might_sleep(), and the callback's mutex_lock(). */
	expect_reports(REPORT_ATOMIC_SLEEP, 2);
	report_last_title(REPORT_ATOMIC_SLEEP, title, sizeof(title));
	TEST_ASSERT(strstr(title, "sleeping function called from invalid context"), "report: %s",
		    title);
	done(pool, mm, &dev);
}
