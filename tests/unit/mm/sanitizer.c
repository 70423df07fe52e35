// SPDX-License-Identifier: GPL-2.0
/*
 * The frame sanitizer: each bad page state, double free, write after free
 * and stale stamps are reported, named and counted, and the free lists
 * survive every one of them; a correct user gets no report.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/current.h"
#include "base/err.h"
#include "base/sched_point.h"
#include "mm/page_alloc.h"
#include "mm/sanitizer.h"
#include "tests/lib/test_util.h"

static struct frame_pool *make_pool(unsigned long nr_frames, unsigned int flags)
{
	struct frame_pool *pool = frame_pool_create(nr_frames * PAGE_SIZE, flags);

	TEST_ASSERT(!IS_ERR(pool), "frame_pool_create: %ld", PTR_ERR(pool));
	return pool;
}

/* Exactly one sanitizer report, whose title starts with @prefix. */
static void expect_one_report(const char *prefix)
{
	char title[160];

	expect_reports(REPORT_SANITIZER, 1);
	report_last_title(REPORT_SANITIZER, title, sizeof(title));
	TEST_ASSERT(!strncmp(title, prefix, strlen(prefix)), "report \"%s\", expected \"%s...\"",
		    title, prefix);
}

static struct sanitizer_counters counters(struct frame_pool *pool)
{
	struct sanitizer_counters c;

	frame_pool_sanitizer_counters(pool, &c);
	return c;
}

/* After a report, the pool is whole: every frame free and on exactly one list. */
static void assert_pool_intact(struct frame_pool *pool)
{
	struct frame_pool_stats s;

	frame_pool_stats(pool, &s);
	TEST_ASSERT_EQ(s.free, s.total);
	TEST_ASSERT_EQ(s.allocated, 0UL);
	TEST_ASSERT_EQ(frame_pool_count_free_lists(pool), (long)s.total);
}

/* ---- write after free ---- */

TEST(write_after_free)
{
	struct frame_pool *pool = make_pool(1, 0);
	struct page *page = alloc_page(pool, GFP_KERNEL);
	unsigned char *addr = page_address(page);
	char title[160];

	put_page(page);
	addr[100] = 0x41;
	addr[200] = 0x42;
	page = alloc_page(pool, GFP_KERNEL);
	TEST_ASSERT(page_address(page) == addr, "the one frame again");
	expect_one_report("write after free");
	report_last_title(REPORT_SANITIZER, title, sizeof(title));
	TEST_ASSERT(strstr(title, "offset 0x64"), "names the first corrupted offset: %s", title);
	TEST_ASSERT_EQ(counters(pool).write_after_free, 1UL);
	TEST_ASSERT(addr[100] == PAGE_POISON && addr[200] == PAGE_POISON, "repaired");
	TEST_ASSERT_EQ(page_count(page), 1);
	put_page(page);
	page = alloc_page(pool, GFP_KERNEL);
	expect_reports(REPORT_SANITIZER, 0);
	put_page(page);
	assert_pool_intact(pool);
	frame_pool_destroy(pool);
}

/*
 * The poison check reads the frame in the widest words the CPU has: one
 * flipped bit in any byte, the first and last of the frame and of a 64-byte
 * word included, is still a write after free, named at its offset.
 */
TEST(write_after_free_of_one_bit_anywhere)
{
	static const unsigned long offsets[] = {
		0, 7, 63, 64, 2049, PAGE_SIZE - 64, PAGE_SIZE - 1
	};
	struct frame_pool *pool = make_pool(1, 0);

	for (size_t i = 0; i < ARRAY_SIZE(offsets); i++) {
		struct page *page = alloc_page(pool, GFP_KERNEL);
		unsigned char *addr = page_address(page);
		char title[160], where[32];

		put_page(page);
		addr[offsets[i]] ^= 1 << (i % 8);
		page = alloc_page(pool, GFP_KERNEL);
		expect_one_report("write after free");
		report_last_title(REPORT_SANITIZER, title, sizeof(title));
		snprintf(where, sizeof(where), "offset %#lx", offsets[i]);
		TEST_ASSERT(strstr(title, where), "%s: %s", where, title);
		TEST_ASSERT(addr[offsets[i]] == PAGE_POISON, "repaired");
		put_page(page);
	}
	TEST_ASSERT_EQ(counters(pool).write_after_free, ARRAY_SIZE(offsets));
	assert_pool_intact(pool);
	frame_pool_destroy(pool);
}

TEST(write_after_free_unseen_without_poison)
{
	struct frame_pool *pool = make_pool(1, FRAME_POOL_NO_POISON);
	struct page *page = alloc_page(pool, GFP_KERNEL);
	unsigned char *addr = page_address(page);

	put_page(page);
	addr[100] = 0x41;
	page = alloc_page(pool, GFP_KERNEL);
	TEST_ASSERT_EQ(counters(pool).write_after_free, 0UL);
	put_page(page);
	frame_pool_destroy(pool);
}

TEST(correct_use_is_silent)
{
	struct frame_pool *pool = make_pool(2, 0);

	for (int i = 0; i < 100; i++) {
		struct page *page = alloc_frame(pool, FRAME_DATA + i % 3, GFP_KERNEL);

		memset(page_address(page), i, PAGE_SIZE);
		put_page(page);
	}
	assert_pool_intact(pool);
	TEST_ASSERT_EQ(counters(pool).bad_page_state + counters(pool).write_after_free, 0UL);
	frame_pool_destroy(pool);
}

/* ---- double free ---- */

TEST(double_free_frame)
{
	struct frame_pool *pool = make_pool(4, 0);
	struct page *page = alloc_page(pool, GFP_KERNEL);

	free_frame(page);
	free_frame(page);
	expect_one_report("double free");
	TEST_ASSERT_EQ(counters(pool).double_free, 1UL);
	TEST_ASSERT_EQ(page_count(page), 0);
	assert_pool_intact(pool);
	frame_pool_destroy(pool);
}

TEST(double_put_page)
{
	struct frame_pool *pool = make_pool(4, 0);
	struct page *page = alloc_page(pool, GFP_KERNEL);

	put_page(page);
	put_page(page);
	expect_one_report("double free");
	TEST_ASSERT_EQ(counters(pool).double_free, 1UL);
	TEST_ASSERT_EQ(page_count(page), 0);
	assert_pool_intact(pool);
	/* The frame is still usable, once. */
	page = alloc_page(pool, GFP_KERNEL);
	put_page(page);
	assert_pool_intact(pool);
	frame_pool_destroy(pool);
}

static void *free_frame_thread(void *page)
{
	task_register("freer");
	free_frame(page);
	task_unregister();
	return NULL;
}

/* Two frees race past the state check: one frees, the other reports, the lists survive. */
TEST(racing_double_free)
{
	struct frame_pool *pool = make_pool(4, 0);
	struct page *page = alloc_page(pool, GFP_KERNEL);
	pthread_t thread;

	sched_point_arm("free_frame:checked", "freer");
	pthread_create(&thread, NULL, free_frame_thread, page);
	sched_point_wait("free_frame:checked");
	free_frame(page);
	sched_point_release("free_frame:checked");
	pthread_join(thread, NULL);
	expect_one_report("double free");
	TEST_ASSERT_EQ(counters(pool).double_free, 1UL);
	assert_pool_intact(pool);
	frame_pool_destroy(pool);
}

/* ---- bad page state, one per field ---- */

static void expect_bad_state(struct frame_pool *pool, const char *what)
{
	char prefix[96];

	snprintf(prefix, sizeof(prefix), "BUG: Bad page state: %s", what);
	expect_one_report(prefix);
	TEST_ASSERT_EQ(counters(pool).bad_page_state, 1UL);
	assert_pool_intact(pool);
}

TEST(bad_state_mapped)
{
	struct frame_pool *pool = make_pool(4, 0);
	struct page *page = alloc_page(pool, GFP_KERNEL);

	atomic_set(&page->_mapcount, 1);
	put_page(page);
	expect_bad_state(pool, "page still mapped");
	TEST_ASSERT_EQ(page_mapcount(page), 0);
	frame_pool_destroy(pool);
}

TEST(bad_state_referenced)
{
	struct frame_pool *pool = make_pool(4, 0);
	struct page *page = alloc_page(pool, GFP_KERNEL);

	get_page(page);
	free_frame(page);
	expect_bad_state(pool, "page still referenced");
	TEST_ASSERT_EQ(page_count(page), 0);
	frame_pool_destroy(pool);
}

TEST(bad_state_put_page_underflow)
{
	struct frame_pool *pool = make_pool(4, 0);
	struct page *page = alloc_page(pool, GFP_KERNEL);

	page_ref_sub(page, 1); /* a reference dropped without the put that frees */
	put_page(page);
	expect_one_report("BUG: Bad page state: page refcount underflow");
	TEST_ASSERT_EQ(page_count(page), 0);
	TEST_ASSERT_EQ(page_frame_state(page), FRAME_DATA);
	set_page_count(page, 1);
	put_page(page);
	assert_pool_intact(pool);
	frame_pool_destroy(pool);
}

TEST(bad_state_mlocked)
{
	struct frame_pool *pool = make_pool(4, 0);
	struct page *page = alloc_page(pool, GFP_KERNEL);

	SetPageMlocked(page);
	put_page(page);
	expect_bad_state(pool, "page still mlocked");
	TEST_ASSERT(!PageMlocked(page), "cleared");
	frame_pool_destroy(pool);
}

TEST(bad_state_mapping_set)
{
	struct frame_pool *pool = make_pool(4, 0);
	struct page *page = alloc_page(pool, GFP_KERNEL);
	static long fake_file_mapping[4];

	/* A file page freed while still in a page cache (an anon mapping is legal at free). */
	page->mapping = (struct address_space *)fake_file_mapping;
	put_page(page);
	expect_bad_state(pool, "page mapping still set");
	TEST_ASSERT(!page->mapping, "cleared");
	frame_pool_destroy(pool);
}

TEST(bad_state_locked)
{
	struct frame_pool *pool = make_pool(4, 0);
	struct page *page = alloc_page(pool, GFP_KERNEL);

	__SetPageLocked(page); /* as a freer that forgot unlock_page() would leave it */
	put_page(page);
	expect_bad_state(pool, "page still locked");
	TEST_ASSERT(!PageLocked(page), "cleared");
	frame_pool_destroy(pool);
}

TEST(bad_state_pinned)
{
	struct frame_pool *pool = make_pool(4, 0);
	struct page *page = alloc_page(pool, GFP_KERNEL);

	page_ref_pin(page);
	TEST_ASSERT(page_maybe_dma_pinned(page) && page_count(page) == 2, "pinned");
	free_frame(page);
	expect_bad_state(pool, "page still pinned");
	TEST_ASSERT(!page_maybe_dma_pinned(page), "cleared");
	frame_pool_destroy(pool);
}

TEST(pin_then_unpin_is_clean)
{
	struct frame_pool *pool = make_pool(4, 0);
	struct page *page = alloc_page(pool, GFP_KERNEL);

	page_ref_pin(page);
	page_ref_unpin(page);
	put_page(page);
	assert_pool_intact(pool);
	frame_pool_destroy(pool);
}

TEST(bad_state_on_lru)
{
	struct frame_pool *pool = make_pool(4, 0);
	struct page *page = alloc_page(pool, GFP_KERNEL);

	SetPageLRU(page);
	put_page(page);
	expect_bad_state(pool, "page still on an LRU list");
	frame_pool_destroy(pool);
}

TEST(get_page_on_free_page)
{
	struct frame_pool *pool = make_pool(4, 0);
	struct page *page = alloc_page(pool, GFP_KERNEL);

	put_page(page);
	get_page(page);
	expect_bad_state(pool, "get_page on a page with no reference");
	TEST_ASSERT_EQ(page_count(page), 0);
	frame_pool_destroy(pool);
}

TEST(free_descriptor_written)
{
	struct frame_pool *pool = make_pool(1, 0);
	struct page *page = alloc_page(pool, GFP_KERNEL);

	put_page(page);
	SetPageDirty(page); /* a stale user marks the free page dirty */
	page = alloc_page(pool, GFP_KERNEL);
	expect_one_report("BUG: Bad page state: flags set on a free page");
	TEST_ASSERT_EQ(page->flags, 0UL);
	put_page(page);
	frame_pool_destroy(pool);
}

TEST(leak_reported_at_destroy)
{
	struct frame_pool *pool = make_pool(4, 0);

	alloc_page(pool, GFP_KERNEL);
	frame_pool_destroy(pool);
	expect_one_report("frames leaked");
}

/* ---- stamps ---- */

struct describe_ctx {
	int calls;
};

static void describe(void *arg)
{
	struct describe_ctx *ctx = arg;

	ctx->calls++;
	report_printf("  (test instruction)\n");
}

TEST(stamp_valid_is_silent)
{
	struct frame_pool *pool = make_pool(4, 0);
	struct page *page = alloc_page(pool, GFP_KERNEL);
	struct frame_stamp stamp = frame_stamp_of(page);
	struct frame_access acc = { .addr = 0x100000, .size = 8, .write = true, .who = "vCPU 0" };

	TEST_ASSERT(frame_check_stamp(pool, &stamp, &acc), "stamp of a live frame");
	get_page(page);
	put_page(page);
	TEST_ASSERT(frame_check_stamp(pool, &stamp, &acc), "references come and go");
	put_page(page);
	frame_pool_destroy(pool);
}

TEST(stamp_after_free_is_use_after_free)
{
	struct frame_pool *pool = make_pool(4, 0);
	struct page *page = alloc_page(pool, GFP_KERNEL);
	struct frame_stamp stamp = frame_stamp_of(page);
	struct describe_ctx ctx = { 0 };
	struct frame_access acc = {
		.addr = 0x101008,
		.size = 4,
		.write = false,
		.who = "vCPU 1",
		.describe = describe,
		.ctx = &ctx,
	};

	put_page(page);
	TEST_ASSERT(!frame_check_stamp(pool, &stamp, &acc), "freed frame");
	expect_one_report("use-after-free read");
	TEST_ASSERT_EQ(ctx.calls, 1);
	acc.write = true;
	TEST_ASSERT(!frame_check_stamp(pool, &stamp, &acc), "freed frame");
	expect_one_report("use-after-free write");
	TEST_ASSERT_EQ(counters(pool).use_after_free, 2UL);
	frame_pool_destroy(pool);
}

/* What a stamp check of @acc on a freed frame prints, into @buf. */
static void stamp_report_text(struct frame_access *acc, char *buf, size_t len)
{
	struct frame_pool *pool = make_pool(1, 0);
	struct page *page = alloc_page(pool, GFP_KERNEL);
	struct frame_stamp stamp = frame_stamp_of(page);
	FILE *log = tmpfile();
	int saved = dup(2);
	size_t n;

	TEST_ASSERT(log && saved >= 0, "a log file");
	put_page(page);
	fflush(stderr);
	dup2(fileno(log), 2);
	TEST_ASSERT(!frame_check_stamp(pool, &stamp, acc), "freed frame");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	expect_one_report("use-after-free read");
	rewind(log);
	n = fread(buf, 1, len - 1, log);
	buf[n] = '\0';
	fclose(log);
	frame_pool_destroy(pool);
}

/* An access gives its size; a translation (a TLB fill, a table walk) has none to give. */
TEST(stamp_report_names_the_access)
{
	struct frame_access acc = { .addr = 0x101008, .size = 4, .who = "vCPU 1" };
	char text[4096];

	stamp_report_text(&acc, text, sizeof(text));
	TEST_ASSERT(strstr(text, "access: read of 4 bytes at 0x101008 by vCPU 1"), "%s", text);
	acc.size = 0;
	stamp_report_text(&acc, text, sizeof(text));
	TEST_ASSERT(strstr(text, "access: translation for a read at 0x101008 by vCPU 1"), "%s",
		    text);
	TEST_ASSERT(!strstr(text, "0 bytes"), "%s", text);
}

TEST(stamp_after_reuse_is_stale)
{
	struct frame_pool *pool = make_pool(1, 0);
	struct page *page = alloc_page(pool, GFP_KERNEL);
	struct frame_stamp stamp = frame_stamp_of(page);
	struct frame_access acc = { .addr = 0x1000, .size = 8, .who = "host page-table walk" };

	put_page(page);
	page = alloc_frame(pool, FRAME_PGTABLE, GFP_KERNEL);
	TEST_ASSERT_EQ(page_to_pfn(page), stamp.pfn);
	TEST_ASSERT(!frame_check_stamp(pool, &stamp, &acc), "reused frame");
	expect_one_report("stale translation: frame reused as page table");
	/* Reused as the same kind of frame: the generation still tells. */
	put_page(page);
	page = alloc_page(pool, GFP_KERNEL);
	TEST_ASSERT(!frame_check_stamp(pool, &stamp, &acc), "reused frame");
	expect_one_report("stale translation: frame reused as data");
	stamp = frame_stamp_of(page);
	TEST_ASSERT(frame_check_stamp(pool, &stamp, &acc), "a fresh stamp");
	put_page(page);
	frame_pool_destroy(pool);
}

TEST(stamp_outside_pool)
{
	struct frame_pool *pool = make_pool(4, 0);
	struct frame_stamp stamp = { .pfn = 4, .gen = 0, .state = FRAME_DATA };
	struct frame_access acc = { .addr = 0x1000, .size = 8, .who = "vCPU 0" };

	TEST_ASSERT(!frame_check_stamp(pool, &stamp, &acc), "pfn 4 of 4");
	expect_one_report("use-after-free read");
	frame_pool_destroy(pool);
}
