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
		TEST_ASSERT(legacy_bug(i)[0] != '?', "switch %u says what it brings back", i);
		TEST_ASSERT(legacy_history(i)[0] != '?', "switch %u names its kernel history", i);
	}
}

/* Each switch breaks the rule the museum shows it with, named as docs/design.md names it. */
TEST(every_switch_names_its_rule)
{
	static const char *const rule[NR_LEGACY_SWITCHES] = {
		[LEGACY_FREE_PGTABLES_BEFORE_UNLINK] = "unlink before freeing page tables",
		[LEGACY_REGISTER_WITHOUT_ALL_LOCKS] = "register under all locks",
		[LEGACY_NEWEST_ANON_VMA] = "oldest anon_vma and root lock",
		[LEGACY_MLOCK_TRYLOCK] = "mlock under the PTE lock",
		[LEGACY_NO_INVALIDATE_RETRY] = "retry instead of pin",
		[LEGACY_NO_REMOTE_FLUSH] = "flush before return",
		[LEGACY_SHADOW_ZAP_ONE_ALIAS] = "invalidate before free",
		/* No protocol rule: the shadow MMU's coherence with the guest's tables. */
		[LEGACY_WRITABLE_TRACKED_REFAULT] = "shadowed guest tables write-protected",
		[LEGACY_ZAP_WITHOUT_NOTIFIER] = "invalidate before free",
		[LEGACY_START_IN_TLB_GATHER] = "notifier outside atomic sections",
	};

	for (unsigned i = 0; i < NR_LEGACY_SWITCHES; i++)
		TEST_ASSERT(!strcmp(legacy_broken(i), rule[i]),
			    "%s breaks rule %d, %s; expected %s", legacy_name(i), legacy_rule(i),
			    legacy_broken(i), rule[i]);
	TEST_ASSERT_EQ(legacy_rule(LEGACY_WRITABLE_TRACKED_REFAULT), 0);
}

TEST(rule_names_cover_the_eight_rules)
{
	for (int n = 1; n <= NR_PROTOCOL_RULES; n++)
		TEST_ASSERT(protocol_rule_name(n)[0] != '?', "rule %d has a name", n);
	TEST_ASSERT(!strcmp(protocol_rule_name(0), "?"), "no rule 0");
	TEST_ASSERT(!strcmp(protocol_rule_name(9), "?"), "no rule 9");
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

/* A switch taken marks the process until cleared, and reports name what it marked. */
TEST(taken_switches_taint_until_cleared)
{
	unsigned long legacy =
		LEGACY_BIT(LEGACY_NO_REMOTE_FLUSH) | LEGACY_BIT(LEGACY_MLOCK_TRYLOCK);
	char names[128];

	TEST_ASSERT_EQ(legacy_tainted(), 0UL);
	TEST_ASSERT(!legacy_on(legacy, LEGACY_NEWEST_ANON_VMA), "a clear bit does not taint");
	TEST_ASSERT_EQ(legacy_tainted(), 0UL);
	TEST_ASSERT(legacy_on(legacy, LEGACY_NO_REMOTE_FLUSH), "set bit reads back");
	TEST_ASSERT(legacy_on(legacy, LEGACY_MLOCK_TRYLOCK), "set bit reads back");
	TEST_ASSERT_EQ(legacy_tainted(), legacy);
	TEST_ASSERT(!strcmp(legacy_names(legacy_tainted(), names, sizeof(names)),
			    "mlock_trylock, no_remote_flush"),
		    "names: %s", names);
	legacy_taint_clear();
	TEST_ASSERT_EQ(legacy_tainted(), 0UL);
	TEST_ASSERT(!strcmp(legacy_names(0, names, sizeof(names)), "none"), "names: %s", names);
}
