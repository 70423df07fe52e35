// SPDX-License-Identifier: GPL-2.0
/*
 * The word-sized xchg/cmpxchg/try_cmpxchg of base/atomic.h return what the
 * kernel's do, smp_store_mb()/smp_load_mb() store and load, and two
 * threads counting through a try_cmpxchg loop lose no increment.
 */
#include <pthread.h>
#include <stdint.h>

#include "base/atomic.h"
#include "tests/lib/test_util.h"

TEST(cmpxchg_returns_the_old_value_and_swaps_only_on_match)
{
	uint64_t word = 5;

	TEST_ASSERT_EQ(cmpxchg(&word, 4, 9), 5);
	TEST_ASSERT_EQ(word, 5);
	TEST_ASSERT_EQ(cmpxchg(&word, 5, 9), 5);
	TEST_ASSERT_EQ(word, 9);
	TEST_ASSERT_EQ(cmpxchg_relaxed(&word, 9, 1), 9);
	TEST_ASSERT_EQ(word, 1);
}

TEST(try_cmpxchg_reports_what_it_found)
{
	int word = 3, old = 7;

	TEST_ASSERT(!try_cmpxchg(&word, &old, 8), "a stale old value must not swap");
	TEST_ASSERT_EQ(old, 3);
	TEST_ASSERT(try_cmpxchg_acquire(&word, &old, 8), "the value found must swap");
	TEST_ASSERT_EQ(word, 8);
	TEST_ASSERT(try_cmpxchg_release(&word, &(int){ 8 }, 2), "release flavour");
	TEST_ASSERT_EQ(word, 2);
	TEST_ASSERT(try_cmpxchg_acq_rel(&word, &(int){ 2 }, 4), "acq_rel flavour");
	TEST_ASSERT_EQ(word, 4);
}

TEST(try_cmpxchg128_swaps_both_words_or_reports_them)
{
	unsigned __int128 word __attribute__((aligned(16))) = (unsigned __int128)7 << 64 | 3;
	unsigned __int128 old = 3;

	TEST_ASSERT(!try_cmpxchg128(&word, &old, 9), "a different high word must not swap");
	TEST_ASSERT(old == word, "the value found is reported");
	TEST_ASSERT(try_cmpxchg128(&word, &old, (unsigned __int128)1 << 64 | 2), "swap");
	TEST_ASSERT(word == ((unsigned __int128)1 << 64 | 2), "both words stored");
}

TEST(xchg_returns_the_previous_value)
{
	unsigned long word = 11;

	TEST_ASSERT_EQ(xchg(&word, 12), 11);
	TEST_ASSERT_EQ(xchg_relaxed(&word, 13), 12);
	TEST_ASSERT_EQ(xchg_acq_rel(&word, 14), 13);
	TEST_ASSERT_EQ(word, 14);
}

TEST(smp_store_mb_stores_and_smp_load_mb_reads)
{
	bool word = false;

	smp_store_mb(word, true);
	TEST_ASSERT(smp_load_mb(word), "the stored value");
}

#define COUNT_PER_THREAD 200000

static void *count_with_try_cmpxchg(void *arg)
{
	long *word = arg;

	for (int i = 0; i < COUNT_PER_THREAD; i++) {
		long old = READ_ONCE(*word);

		while (!try_cmpxchg(word, &old, old + 1))
			;
	}
	return NULL;
}

TEST(try_cmpxchg_loop_loses_no_update)
{
	long word = 0;
	pthread_t t[2];

	for (int i = 0; i < 2; i++)
		TEST_ASSERT_EQ(pthread_create(&t[i], NULL, count_with_try_cmpxchg, &word), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	TEST_ASSERT_EQ(word, 2L * COUNT_PER_THREAD);
}
