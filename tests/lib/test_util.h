/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The test harness: TEST() cases, assertions that name the expression, file,
 * line and errno (after the KVM selftests' TEST_ASSERT), and the rule that a
 * test fails on any report (lockdep, sanitizer, WARN) it did not consume.
 *
 * Each case runs in its own forked child, so an assertion may fire from any
 * thread: it prints and ends the process, and the parent counts the case as
 * failed.  See tests/README.md for why this is not cmocka.
 */
#ifndef NOPIN_TESTS_TEST_UTIL_H
#define NOPIN_TESTS_TEST_UTIL_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/report.h"

struct test_case {
	const char *name;
	void (*fn)(void);
};

#define TEST(name)                                                                                 \
	static void name(void);                                                                    \
	static const struct test_case __test_case_##name __attribute__((                           \
		used, section("nopin_test_cases"), aligned(sizeof(void *)))) = { #name, name };    \
	static void name(void)

/* Exit status of a skipped case (ctest SKIP_RETURN_CODE). */
#define KSFT_SKIP 4

void test_assert(bool exp, const char *exp_str, const char *file, unsigned int line,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void test_skip(const char *file, unsigned int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));

#define TEST_ASSERT(e, fmt, ...) test_assert((e), #e, __FILE__, __LINE__, fmt, ##__VA_ARGS__)

#define TEST_ASSERT_EQ(a, b)                                                                       \
	do {                                                                                       \
		typeof(a) __a = (a);                                                               \
		typeof(b) __b = (b);                                                               \
		test_assert(__a == __b, #a " == " #b, __FILE__, __LINE__,                          \
			    "%#lx != %#lx (%s = %ld, %s = %ld)", (unsigned long)__a,               \
			    (unsigned long)__b, #a, (long)__a, #b, (long)__b);                     \
	} while (0)

#define TEST_FAIL(fmt, ...) TEST_ASSERT(false, fmt, ##__VA_ARGS__)

/* Skip the case (not a failure) when the machine cannot run it. */
#define TEST_REQUIRE(e)                                                                            \
	do {                                                                                       \
		if (!(e))                                                                          \
			test_skip(__FILE__, __LINE__, "requirement not met: %s", #e);              \
	} while (0)

/*
 * A test that provokes a report on purpose takes it off the books, so that
 * the harness does not fail the case: expect_reports(REPORT_LOCKDEP, 1)
 * asserts that exactly that many reports of the class were made since the
 * last call, and forgets them.
 */
#define expect_reports(cls, n)                                                                     \
	do {                                                                                       \
		unsigned long __got = report_consume(cls);                                         \
		test_assert(__got == (unsigned long)(n), "expect_reports(" #cls ", " #n ")",       \
			    __FILE__, __LINE__, "%lu %s reports, expected %lu", __got,             \
			    report_class_name(cls), (unsigned long)(n));                           \
	} while (0)

#endif
