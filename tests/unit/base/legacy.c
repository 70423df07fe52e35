// SPDX-License-Identifier: GPL-2.0
/* The legacy switch names parse back to their switches, and each says which rule it breaks. */
#include <errno.h>
#include <string.h>

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

/* What --help prints ends with the rule the switch breaks, by number and name. */
TEST(every_switch_names_its_rule)
{
	static const char *const rule[NR_LEGACY_SWITCHES] = {
		[LEGACY_FREE_PGTABLES_BEFORE_UNLINK] =
			"(rule 5, unlink before freeing page tables)",
		[LEGACY_REGISTER_WITHOUT_ALL_LOCKS] = "(rule 4, register under all locks)",
		[LEGACY_NEWEST_ANON_VMA] = "(rule 7, oldest anon_vma and root lock)",
		[LEGACY_MLOCK_TRYLOCK] = "(rule 8, mlock under the PTE lock)",
		[LEGACY_NO_INVALIDATE_RETRY] = "(rule 2, retry instead of pin)",
		[LEGACY_NO_REMOTE_FLUSH] = "(rule 3, flush before return)",
	};

	for (unsigned i = 0; i < NR_LEGACY_SWITCHES; i++) {
		const char *text = legacy_rule(i);
		size_t len = strlen(text), tail = strlen(rule[i]);

		TEST_ASSERT(len > tail && !strcmp(text + len - tail, rule[i]),
			    "%s: \"%s\" does not end with \"%s\"", legacy_name(i), text, rule[i]);
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
