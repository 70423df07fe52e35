/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Legacy switches (docs/design.md, "The museum: legacy switches"): each
 * brings back the historical code that broke one protocol rule, so a
 * scenario can show the sanitizer catching the failure.  A switch is a bit
 * in the object it changes (mm_struct.legacy for the primary MMU and the
 * notifier, kvm.legacy for the secondary MMU); nothing turns one on by
 * default.
 */
#ifndef NOPIN_BASE_LEGACY_H
#define NOPIN_BASE_LEGACY_H

#include <stdbool.h>

enum legacy_switch {
	LEGACY_FREE_PGTABLES_BEFORE_UNLINK, /* rule 5, unlink before freeing page tables */
	LEGACY_REGISTER_WITHOUT_ALL_LOCKS,  /* rule 4, register under all locks */
	LEGACY_NEWEST_ANON_VMA,		    /* rule 7, oldest anon_vma and root lock */
	LEGACY_MLOCK_TRYLOCK,		    /* rule 8, mlock under the PTE lock */
	LEGACY_NO_INVALIDATE_RETRY,	    /* rule 2, retry instead of pin */
	LEGACY_NO_REMOTE_FLUSH,		    /* rule 3, flush before return */
	LEGACY_SHADOW_ZAP_ONE_ALIAS,	    /* rule 1, invalidate before free */
	LEGACY_WRITABLE_TRACKED_REFAULT,    /* shadow coherence (not a protocol rule) */
	NR_LEGACY_SWITCHES,
};

#define LEGACY_BIT(sw) (1UL << (sw))

#define NR_PROTOCOL_RULES 8
/* Rule @rule's short name, e.g. "flush before return" for 3; "?" if none. */
const char *protocol_rule_name(int rule);

/* The switch's name as --legacy takes it, e.g. "newest_anon_vma". */
const char *legacy_name(enum legacy_switch sw);
/*
 * The number of the protocol rule the switch breaks (1-8), or 0 for one
 * that breaks no host-memory rule but the shadow MMU's coherence with
 * the guest's tables (legacy_broken() names it).
 */
int legacy_rule(enum legacy_switch sw);
/* What the switch breaks: its rule's short name, or the invariant's. */
const char *legacy_broken(enum legacy_switch sw);
/* What the switch brings back, one line for --help and reports. */
const char *legacy_bug(enum legacy_switch sw);
/* Parse a name; -EINVAL if it names no switch. */
int legacy_parse(const char *name, enum legacy_switch *sw);

static inline bool legacy_on(unsigned long legacy, enum legacy_switch sw)
{
	return legacy & LEGACY_BIT(sw);
}

#endif
