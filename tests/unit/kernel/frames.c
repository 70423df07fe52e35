// SPDX-License-Identifier: GPL-2.0
/*
 * The exec guest kernel's frame allocator (guest/kernel/mm.c) on the
 * host: its "RAM" a buffer (the direct map's offset points there), its
 * hypercalls recorded instead of made.  Checks that the lowest free
 * frame goes first, that a reported frame is taken back with
 * HC_PAGE_REUSE (with the reported run after it, one call) and zeroed
 * before use, and that freed frames are reported at the flush, sorted,
 * in runs, without those allocated again in between.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/lib/test_util.h"

#include "guest/runtime/guest.h"

/* mm.c's hypercalls, recorded: the runtime's inline one would trap on the host. */
struct call {
	unsigned long nr, gpa, len;
};
static struct call calls[64];
static unsigned int nr_calls;

static unsigned long record_hypercall(unsigned long nr, unsigned long a0, unsigned long a1)
{
	if (nr_calls < 64)
		calls[nr_calls++] = (struct call){ nr, a0, a1 };
	return 0;
}
#define hypercall(nr, a0, a1) record_hypercall(nr, a0, a1)

#include "guest/kernel/mm.c"

/* ---- the stubs: what mm.c calls of the runtime and the kernel ---- */

void panic(const char *fmt, ...)
{
	TEST_FAIL("the kernel panicked: %s", fmt);
	abort();
}

unsigned long pte_read(const unsigned long *pte)
{
	return *pte;
}

void pte_write(unsigned long *pte, unsigned long val)
{
	*pte = val;
}

unsigned long ram_free_start(void)
{
	return GUEST_RAM_BASE;
}

unsigned long ram_free_end(void)
{
	return GUEST_RAM_BASE;
}

/* ---- helpers ---- */

#define RAM_FRAMES 256
static char *ram;

/* RAM_FRAMES frames from GUEST_RAM_BASE, all free and reported, as mm_init() leaves them. */
static void setup(void)
{
	if (!ram)
		ram = aligned_alloc(PAGE_SIZE, RAM_FRAMES * PAGE_SIZE);
	memset(ram, 0xa5, RAM_FRAMES * PAGE_SIZE); /* what the host may hand back */
	direct_map_offset = (unsigned long)ram - GUEST_RAM_BASE;
	memset(frame_free_map, 0, sizeof(frame_free_map));
	memset(frame_reported_map, 0, sizeof(frame_reported_map));
	nr_frames = RAM_FRAMES;
	nr_freed = 0;
	set_bits(frame_free_map, 0, RAM_FRAMES);
	nr_free = RAM_FRAMES;
	alloc_cursor = 0;
	report_free(0, RAM_FRAMES);
	nr_calls = 0;
}

static unsigned long frame(unsigned long pfn)
{
	return GUEST_RAM_BASE + pfn * PAGE_SIZE;
}

static void expect_call(unsigned int i, unsigned long nr, unsigned long pfn, unsigned long n)
{
	TEST_ASSERT(i < nr_calls, "call %u made (%u made)", i, nr_calls);
	TEST_ASSERT_EQ(calls[i].nr, nr);
	TEST_ASSERT_EQ(calls[i].gpa, frame(pfn));
	TEST_ASSERT_EQ(calls[i].len, n * PAGE_SIZE);
}

/* ---- the cases ---- */

TEST(frames_come_lowest_first_zeroed_with_one_reuse_per_batch)
{
	setup();
	for (unsigned long i = 0; i < REUSE_BATCH + 1; i++) {
		unsigned long pa = frame_alloc();
		const unsigned long *words = phys_to_virt(pa);

		TEST_ASSERT_EQ(pa, frame(i));
		for (unsigned long w = 0; w < PAGE_SIZE / 8; w++)
			TEST_ASSERT_EQ(words[w], 0);
	}
	TEST_ASSERT_EQ(nr_calls, 2);
	expect_call(0, HC_PAGE_REUSE, 0, REUSE_BATCH);
	expect_call(1, HC_PAGE_REUSE, REUSE_BATCH, REUSE_BATCH);
	TEST_ASSERT_EQ(frames_free(), RAM_FRAMES - REUSE_BATCH - 1);
}

TEST(freed_frames_are_reported_at_the_flush_sorted_in_runs)
{
	setup();
	for (int i = 0; i < 10; i++)
		frame_alloc();
	nr_calls = 0;
	frame_free(frame(7));
	frame_free(frame(2));
	frame_free(frame(3));
	frame_free(frame(8));
	TEST_ASSERT_EQ(nr_calls, 0); /* nothing until the system call ends */
	flush_freed_frames();
	TEST_ASSERT_EQ(nr_calls, 2);
	expect_call(0, HC_PAGE_REPORT_FREE, 2, 2);
	expect_call(1, HC_PAGE_REPORT_FREE, 7, 2);
	flush_freed_frames();
	TEST_ASSERT_EQ(nr_calls, 2); /* nothing twice */
}

TEST(a_frame_freed_and_taken_again_before_the_flush_is_not_reported)
{
	setup();
	for (int i = 0; i < 4; i++)
		frame_alloc();
	nr_calls = 0;
	frame_free(frame(1));
	frame_free(frame(2));
	/* The lowest free frame goes first: 1, freed but never reported, so no reuse call. */
	TEST_ASSERT_EQ(frame_alloc(), frame(1));
	TEST_ASSERT_EQ(nr_calls, 0);
	flush_freed_frames();
	TEST_ASSERT_EQ(nr_calls, 1);
	expect_call(0, HC_PAGE_REPORT_FREE, 2, 1);
	/* 2 is reported now: taking it again is a reuse of it, and of the reported run after it. */
	nr_calls = 0;
	TEST_ASSERT_EQ(frame_alloc(), frame(2));
	expect_call(0, HC_PAGE_REUSE, 2, 1);
	/* 4 was taken back with the first batch (0-63): no call. */
	TEST_ASSERT_EQ(frame_alloc(), frame(4));
	TEST_ASSERT_EQ(nr_calls, 1);
}

TEST(out_of_frames_is_zero_and_a_full_batch_flushes_itself)
{
	setup();
	for (int i = 0; i < RAM_FRAMES; i++)
		TEST_ASSERT(frame_alloc(), "frame %d", i);
	TEST_ASSERT_EQ(frame_alloc(), 0);
	nr_calls = 0;
	for (int i = RAM_FRAMES - 1; i >= 0; i--)
		frame_free(frame((unsigned long)i));
	/* FREED_BATCH (256) fit the list: the 256 frames went as one sorted run. */
	flush_freed_frames();
	TEST_ASSERT_EQ(nr_calls, 1);
	expect_call(0, HC_PAGE_REPORT_FREE, 0, RAM_FRAMES);
	TEST_ASSERT_EQ(frames_free(), RAM_FRAMES);
}
