/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Legacy switches (docs/design.md, "The museum: legacy switches"): each
 * brings back the historical code that broke one protocol rule, so a
 * scenario can show the sanitizer catching the failure.  A switch is a bit
 * in the object it changes (mm_struct.legacy for the primary MMU and the
 * notifier, kvm.legacy for the secondary MMU); nothing turns one on by
 * default.
 *
 * Like the kernel's taint flags, a switch marks the process the first time
 * its historical code runs (legacy_on() finding it set), and every report
 * from then on names the switches taken (base/report.c), so a report
 * caused by a switch says so.
 */
#ifndef NOPIN_BASE_LEGACY_H
#define NOPIN_BASE_LEGACY_H

#include <stdbool.h>

#include "base/compiler.h"

enum legacy_switch {
	LEGACY_FREE_PGTABLES_BEFORE_UNLINK, /* rule 5, unlink before freeing page tables */
	LEGACY_REGISTER_WITHOUT_ALL_LOCKS,  /* rule 4, register under all locks */
	LEGACY_NEWEST_ANON_VMA,		    /* rule 7, oldest anon_vma and root lock */
	LEGACY_MLOCK_TRYLOCK,		    /* rule 8, mlock under the PTE lock */
	LEGACY_NO_INVALIDATE_RETRY,	    /* rule 2, retry instead of pin */
	LEGACY_NO_REMOTE_FLUSH,		    /* rule 3, flush before return */
	LEGACY_SHADOW_ZAP_ONE_ALIAS,	    /* rule 1, invalidate before free */
	LEGACY_WRITABLE_TRACKED_REFAULT,    /* shadow coherence (not a protocol rule) */
	LEGACY_ZAP_WITHOUT_NOTIFIER,	    /* rule 1, invalidate before free */
	LEGACY_START_IN_TLB_GATHER,	    /* rule 6, notifier outside atomic sections */
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
/*
 * The kernel history the switch stands for, one line: subsystem, year,
 * what broke (docs/design.md section 6 tells each at length).
 */
const char *legacy_history(enum legacy_switch sw);
/* Parse a name; -EINVAL if it names no switch. */
int legacy_parse(const char *name, enum legacy_switch *sw);

/* Mark @sw taken: reports name it from now on (the kernel's add_taint()). */
void legacy_taint(enum legacy_switch sw);
/* The LEGACY_BIT()s of the switches taken since the last legacy_taint_clear(). */
unsigned long legacy_tainted(void);
/*
 * Forget the switches taken: for a process that runs several VMs one after
 * another (nopin museum, tests), so that each run's reports name its own.
 */
void legacy_taint_clear(void);
/*
 * Print the names of the switches in @bits, comma-separated, to @buf;
 * "none" if there is none.  Returns @buf.
 */
char *legacy_names(unsigned long bits, char *buf, unsigned long len);

/*
 * Is @sw set in @legacy (an object's legacy bits)?  A caller asks only where
 * it is about to run the switch's historical code, so a set bit taints.
 */
static inline bool legacy_on(unsigned long legacy, enum legacy_switch sw)
{
	if (likely(!(legacy & LEGACY_BIT(sw))))
		return false;
	legacy_taint(sw);
	return true;
}

#endif
