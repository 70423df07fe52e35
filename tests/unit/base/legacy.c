// SPDX-License-Identifier: GPL-2.0
/* The legacy switch names parse back to their switches; nothing else does. */
#include <errno.h>

#include "base/legacy.h"
#include "tests/lib/test_util.h"

TEST(every_name_parses_to_its_switch)
{
	for (unsigned i = 0; i < NR_LEGACY_SWITCHES; i++) {
		enum legacy_switch sw;

		TEST_ASSERT_EQ(legacy_parse(legacy_name(i), &sw), 0);
		TEST_ASSERT_EQ(sw, i);
		TEST_ASSERT(legacy_rule(i)[0] != '?', "switch %u has a rule", i);
	}
}

TEST(unknown_name_is_einval)
{
	enum legacy_switch sw;

	TEST_ASSERT_EQ(legacy_parse("no_such_switch", &sw), -EINVAL);
	TEST_ASSERT_EQ(legacy_parse("", &sw), -EINVAL);
}

TEST(bits_are_independent)
{
	unsigned long legacy = LEGACY_BIT(LEGACY_NEWEST_ANON_VMA);

	TEST_ASSERT(legacy_on(legacy, LEGACY_NEWEST_ANON_VMA), "set bit reads back");
	TEST_ASSERT(!legacy_on(legacy, LEGACY_MLOCK_TRYLOCK), "other bit clear");
}
