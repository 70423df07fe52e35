// SPDX-License-Identifier: GPL-2.0
/* The protocol rules' names, and the legacy switches' names and bugs. */
#include <errno.h>
#include <string.h>

#include "base/compiler.h"
#include "base/legacy.h"

/* The eight protocol rules, by number (docs/design.md, "The eight protocol rules"). */
static const char *const protocol_rules[NR_PROTOCOL_RULES + 1] = {
	[1] = "invalidate before free",
	[2] = "retry instead of pin",
	[3] = "flush before return",
	[4] = "register under all locks",
	[5] = "unlink before freeing page tables",
	[6] = "notifier outside atomic sections",
	[7] = "oldest anon_vma and root lock",
	[8] = "mlock under the PTE lock",
};

static const struct {
	const char *name;
	int rule;
	const char *bug;
} legacy_switches[NR_LEGACY_SWITCHES] = {
	[LEGACY_FREE_PGTABLES_BEFORE_UNLINK] = { "free_pgtables_before_unlink", 5,
						 "munmap frees page tables before unlinking "
						 "the VMA from rmap" },
	[LEGACY_REGISTER_WITHOUT_ALL_LOCKS] = { "register_without_all_locks", 4,
						"mmu_notifier_register skips "
						"mm_take_all_locks()" },
	[LEGACY_NEWEST_ANON_VMA] = { "newest_anon_vma", 7,
				     "a shared anon page records the VMA's newest anon_vma" },
	[LEGACY_MLOCK_TRYLOCK] = { "mlock_trylock", 8,
				   "try_to_unmap sets mlocked through an mmap_lock trylock" },
	[LEGACY_NO_INVALIDATE_RETRY] = { "no_invalidate_retry", 2,
					 "the secondary fault path skips the invalidation "
					 "sequence check" },
	[LEGACY_NO_REMOTE_FLUSH] = { "no_remote_flush", 3,
				     "invalidation zaps SPTEs without flushing vCPU TLBs" },
	[LEGACY_SHADOW_ZAP_ONE_ALIAS] = { "shadow_zap_one_alias", 1,
					  "invalidation zaps one shadow leaf per gfn, not "
					  "every alias" },
	[LEGACY_WRITABLE_TRACKED_REFAULT] = { "writable_tracked_refault", 0,
					      "a re-fault of a write-tracked gfn installs a "
					      "writable leaf" },
};

/* The shadow MMU's invariant that no protocol rule covers (docs/design.md, "Shadow MMU"). */
static const char shadow_coherence[] = "shadowed guest tables write-protected";

const char *protocol_rule_name(int rule)
{
	return rule >= 1 && rule <= NR_PROTOCOL_RULES ? protocol_rules[rule] : "?";
}

const char *legacy_name(enum legacy_switch sw)
{
	return (unsigned)sw < NR_LEGACY_SWITCHES ? legacy_switches[sw].name : "?";
}

int legacy_rule(enum legacy_switch sw)
{
	return (unsigned)sw < NR_LEGACY_SWITCHES ? legacy_switches[sw].rule : 0;
}

const char *legacy_broken(enum legacy_switch sw)
{
	if ((unsigned)sw >= NR_LEGACY_SWITCHES)
		return "?";
	return legacy_rule(sw) ? protocol_rule_name(legacy_rule(sw)) : shadow_coherence;
}

const char *legacy_bug(enum legacy_switch sw)
{
	return (unsigned)sw < NR_LEGACY_SWITCHES ? legacy_switches[sw].bug : "?";
}

int legacy_parse(const char *name, enum legacy_switch *sw)
{
	for (unsigned i = 0; i < NR_LEGACY_SWITCHES; i++) {
		if (!strcmp(name, legacy_switches[i].name)) {
			*sw = i;
			return 0;
		}
	}
	return -EINVAL;
}
