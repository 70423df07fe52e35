// SPDX-License-Identifier: GPL-2.0
/*
 * The protocol rules' names; the legacy switches' names, bugs and kernel
 * histories; and the taint the switches leave on the process.
 */
#include <errno.h>
#include <stdio.h>
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
	const char *history; /* subsystem, year: what broke */
} legacy_switches[NR_LEGACY_SWITCHES] = {
	[LEGACY_FREE_PGTABLES_BEFORE_UNLINK] = {
		.name = "free_pgtables_before_unlink",
		.rule = 5,
		.bug = "munmap frees page tables before unlinking the VMA from rmap",
		.history = "mm, 2005: page tables freed while truncation and reclaim could still walk "
			   "them; the unlink moved into free_pgtables()",
	},
	[LEGACY_REGISTER_WITHOUT_ALL_LOCKS] = {
		.name = "register_without_all_locks",
		.rule = 4,
		.bug = "mmu_notifier_register skips mm_take_all_locks()",
		.history = "mm, 2008: a registration under mmap_sem alone could land inside a "
			   "truncation's invalidation; mm_take_all_locks() (2.6.27)",
	},
	[LEGACY_NEWEST_ANON_VMA] = {
		.name = "newest_anon_vma",
		.rule = 7,
		.bug = "a shared anon page records the VMA's newest anon_vma",
		.history = "mm/rmap, 2010: a page a child swapped in named the child's anon_vma, freed "
			   "at its exit; fixed by the oldest anon_vma (2.6.34)",
	},
	[LEGACY_MLOCK_TRYLOCK] = {
		.name = "mlock_trylock",
		.rule = 8,
		.bug = "try_to_unmap sets mlocked through an mmap_lock trylock",
		.history = "mm/mlock, 2015: fuzzing hit \"Bad page state ... mlocked\"; rmap sets it "
			   "under the PTE lock since 4.4",
	},
	[LEGACY_NO_INVALIDATE_RETRY] = {
		.name = "no_invalidate_retry",
		.rule = 2,
		.bug = "the secondary fault path skips the invalidation sequence check",
		.history = "KVM, 2008: unpinned, a fault could map a page an invalidation was freeing; "
			   "mmu_notifier_seq/count and retry (2.6.27)",
	},
	[LEGACY_NO_REMOTE_FLUSH] = {
		.name = "no_remote_flush",
		.rule = 3,
		.bug = "invalidation zaps SPTEs without flushing vCPU TLBs",
		.history = "KVM, 2008: a vCPU's TLB kept a freed page; the callbacks flush every vCPU "
			   "before returning (mode handshake 2011)",
	},
	[LEGACY_SHADOW_ZAP_ONE_ALIAS] = {
		.name = "shadow_zap_one_alias",
		.rule = 1,
		.bug = "invalidation zaps one shadow leaf per gfn, not every alias",
		.history = "KVM, 2008: a gfn mapped at many guest addresses; the notifier callbacks zap "
			   "its whole rmap (kvm_unmap_rmapp())",
	},
	[LEGACY_WRITABLE_TRACKED_REFAULT] = {
		.name = "writable_tracked_refault",
		.rule = 0,
		.bug = "a re-fault of a write-tracked gfn installs a writable leaf",
		.history = "KVM, 2007: the shadow MMU must see every guest page-table write; write "
			   "protection is rechecked at each leaf install",
	},
	[LEGACY_ZAP_WITHOUT_NOTIFIER] = {
		.name = "zap_without_notifier",
		.rule = 1,
		.bug = "the OOM reaper and MADV_DONTNEED zap without invalidate_range_start/end",
		.history = "mm/oom_kill, 2017: the OOM reaper (4.6) zapped without the notifier and "
			   "could corrupt a KVM guest's memory (fixed 4.14)",
	},
	[LEGACY_START_IN_TLB_GATHER] = {
		.name = "start_in_tlb_gather",
		.rule = 6,
		.bug = "munmap and exit call invalidate_range_start inside the zap's atomic section",
		.history = "mm, 2011: range_start ran inside the per-CPU, non-preemptible mmu_gather, so"
			   " no callback could sleep (preemptible in 3.0)",
	},
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

const char *legacy_history(enum legacy_switch sw)
{
	return (unsigned)sw < NR_LEGACY_SWITCHES ? legacy_switches[sw].history : "?";
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

/*
 * The switches taken, like the kernel's tainted_mask: one word for the
 * process, since a report (base/report.c) is printed by whoever hits the
 * bug and knows nothing of the mm or VM whose switch caused it.
 */
static unsigned long legacy_taint_mask;

void legacy_taint(enum legacy_switch sw)
{
	/* The common case, already marked, is a load. */
	if (!(READ_ONCE(legacy_taint_mask) & LEGACY_BIT(sw)))
		__atomic_fetch_or(&legacy_taint_mask, LEGACY_BIT(sw), __ATOMIC_RELAXED);
}

unsigned long legacy_tainted(void)
{
	return READ_ONCE(legacy_taint_mask);
}

void legacy_taint_clear(void)
{
	WRITE_ONCE(legacy_taint_mask, 0UL);
}

char *legacy_names(unsigned long bits, char *buf, unsigned long len)
{
	unsigned long used = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < NR_LEGACY_SWITCHES && used < len; i++)
		if (bits & LEGACY_BIT(i))
			used += snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
					 legacy_switches[i].name);
	if (!used)
		snprintf(buf, len, "none");
	return buf;
}
