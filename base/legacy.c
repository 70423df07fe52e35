// SPDX-License-Identifier: GPL-2.0
/* Names and one-line descriptions of the legacy switches. */
#include <errno.h>
#include <string.h>

#include "base/compiler.h"
#include "base/legacy.h"

static const struct {
	const char *name;
	const char *rule;
} legacy_switches[NR_LEGACY_SWITCHES] = {
	[LEGACY_FREE_PGTABLES_BEFORE_UNLINK] = { "free_pgtables_before_unlink",
						 "munmap frees page tables before unlinking "
						 "the VMA from rmap (rule 5, unlink before "
						 "freeing page tables)" },
	[LEGACY_REGISTER_WITHOUT_ALL_LOCKS] = { "register_without_all_locks",
						"mmu_notifier_register skips mm_take_all_locks() "
						"(rule 4, register under all locks)" },
	[LEGACY_NEWEST_ANON_VMA] = { "newest_anon_vma",
				     "a shared anon page records the VMA's newest anon_vma "
				     "(rule 7, oldest anon_vma and root lock)" },
	[LEGACY_MLOCK_TRYLOCK] = { "mlock_trylock",
				   "try_to_unmap sets mlocked through an mmap_lock trylock "
				   "(rule 8, mlock under the PTE lock)" },
	[LEGACY_NO_INVALIDATE_RETRY] = { "no_invalidate_retry",
					 "the secondary fault path skips the invalidation "
					 "sequence check (rule 2, retry instead of pin)" },
	[LEGACY_NO_REMOTE_FLUSH] = { "no_remote_flush",
				     "invalidation zaps SPTEs without flushing vCPU TLBs "
				     "(rule 3, flush before return)" },
};

const char *legacy_name(enum legacy_switch sw)
{
	return (unsigned)sw < NR_LEGACY_SWITCHES ? legacy_switches[sw].name : "?";
}

const char *legacy_rule(enum legacy_switch sw)
{
	return (unsigned)sw < NR_LEGACY_SWITCHES ? legacy_switches[sw].rule : "?";
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
