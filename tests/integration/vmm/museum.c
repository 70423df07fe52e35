// SPDX-License-Identifier: GPL-2.0
/*
 * The secondary MMU's legacy switches on a real guest: under host pressure
 * with RAM larger than the pool, no_remote_flush and no_invalidate_retry
 * let the guest touch a freed frame, and the sanitizer's report names the
 * vCPU and the guest instruction; without them, and in pin mode, the same
 * run is clean.  no_invalidate_retry's window (a fault between its page
 * lookup and its install) is opened by the fault-race agent, which pages
 * out the page under a fault in flight every round, so the run catches the
 * switch however fast the vCPU runs.  Under --pressure reclaim a pinned guest gives reclaim
 * nothing and an unpinned one gives it its pages.  (The deterministic, schedule-point versions of these races
 * are tests/scenario/mmu; here the race is left to the pressure agents, so
 * a run that happens to miss it is repeated.)
 *
 * The shadow MMU's two switches on the ABI-only guest (guest/abi_only), in
 * shadow mode under the same pressure: shadow_zap_one_alias leaves the
 * other aliases of a reclaimed or migrated page mapping its freed frame,
 * and the sanitizer reports the guest's read through one;
 * writable_tracked_refault lets a page table the host took away come back
 * writable, and the guest's own check sees its PTE write ignored after a
 * CR3 reload.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/legacy.h"
#include "base/report.h"
#include "tests/lib/test_util.h"
#include "tests/lib/vmm_util.h"

#define MAX_TRIES 6

static void pressure_config(struct vmm_config *cfg)
{
	guest_config(cfg, "random");
	cfg->mem_bytes = 8UL << 20;
	cfg->pool_bytes = 4UL << 20;
	cfg->pressure = "all";
}

/* The same, with faults raced on purpose (vmm/pressure.c, agent_fault_race()). */
static void fault_race_config(struct vmm_config *cfg)
{
	pressure_config(cfg);
	cfg->pressure = "all,fault-race";
}

/* The ABI-only guest on its own tables, in shadow mode, under the same pressure. */
static void abi_shadow_config(struct vmm_config *cfg)
{
	guest_config(cfg, "abi_only");
	cfg->mmu = KVM_MMU_SHADOW;
	cfg->mem_bytes = 8UL << 20;
	cfg->pool_bytes = 4UL << 20;
	cfg->pressure = "all";
}

/*
 * Run @cfg with @sw until the sanitizer reports; the report names the
 * guest instruction.  @run is the run that reported.
 */
static void legacy_run_reports_on(struct vmm_config *cfg, enum legacy_switch sw,
				  struct guest_run *run)
{
	char log[] = "/tmp/nopin-museum-XXXXXX";
	int fd = mkstemp(log), saved = dup(2);
	unsigned long reports = 0;
	char text[65536];
	ssize_t n;

	TEST_ASSERT(fd >= 0 && saved >= 0, "temporary log");
	cfg->legacy = LEGACY_BIT(sw);
	/* The reports go to stderr: keep them to check what they say. */
	dup2(fd, 2);
	for (int i = 0; i < MAX_TRIES && !reports; i++) {
		guest_run(cfg, run);
		reports = report_consume(REPORT_SANITIZER);
	}
	dup2(saved, 2);
	n = pread(fd, text, sizeof(text) - 1, 0);
	text[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(log);
	TEST_ASSERT(reports > 0, "--legacy=%s: no report in %d runs", legacy_name(sw), MAX_TRIES);
	/* Freed and still free, or freed and handed out again: either is the bug. */
	TEST_ASSERT(strstr(text, "use-after-free") || strstr(text, "stale translation"),
		    "the report says what:\n%.2000s", text);
	TEST_ASSERT(strstr(text, "by vCPU 0"), "the report names the vCPU:\n%.2000s", text);
	TEST_ASSERT(strstr(text, "guest instruction: rip 0x"),
		    "the report shows the guest instruction:\n%.2000s", text);
}

TEST(no_remote_flush_reports_the_guest_access)
{
	struct vmm_config cfg;
	struct guest_run run;

	pressure_config(&cfg);
	legacy_run_reports_on(&cfg, LEGACY_NO_REMOTE_FLUSH, &run);
}

TEST(no_invalidate_retry_reports_the_guest_access)
{
	struct vmm_config cfg;
	struct guest_run run;

	fault_race_config(&cfg);
	legacy_run_reports_on(&cfg, LEGACY_NO_INVALIDATE_RETRY, &run);
}

/* Run @cfg: the guest exits 0 having printed @ok, its verdict on itself. */
static void run_verified(const struct vmm_config *cfg, struct guest_run *run, const char *ok)
{
	guest_run(cfg, run);
	TEST_ASSERT(run->guest_exited && run->status == 0, "status %d: %s\n%s", run->status,
		    run->stop_message, run->console);
	TEST_ASSERT(strstr(run->console, ok), "verified:\n%s", run->console);
}

TEST(same_run_without_switches_is_clean)
{
	struct vmm_config cfg;
	struct guest_run run;

	pressure_config(&cfg);
	run_verified(&cfg, &run, "random: ok");
	TEST_ASSERT(atomic_long_read(&run.stat.invalidations) > 0, "the host invalidated");
}

/* With the rule, every raced fault sees the sequence move and faults again. */
TEST(raced_faults_without_switches_retry_and_are_clean)
{
	struct vmm_config cfg;
	struct guest_run run;

	fault_race_config(&cfg);
	run_verified(&cfg, &run, "random: ok");
	TEST_ASSERT(atomic_long_read(&run.stat.pf_retries) > 0, "raced faults retried");
}

/*
 * A freed frame read through the alias the one-alias zap left behind: the
 * VMM stops the guest naming the virtual address, one of the aliases.
 */
TEST(shadow_zap_one_alias_reports_the_alias_read)
{
	/* VA_ALIAS0/1/2 of guest/abi_only/abi_only.c: 16 pages from each (ALIAS1 2 MiB apart). */
	static const char *const aliases[] = { "guest address 0x1000000", "guest address 0x7f000",
					       "guest address 0xffff8000000" };
	struct vmm_config cfg;
	struct guest_run run;
	bool named = false;

	abi_shadow_config(&cfg);
	legacy_run_reports_on(&cfg, LEGACY_SHADOW_ZAP_ONE_ALIAS, &run);
	for (unsigned int i = 0; i < ARRAY_SIZE(aliases); i++)
		named |= strstr(run.stop_message, aliases[i]) != NULL;
	TEST_ASSERT(!run.guest_exited && named && strstr(run.stop_message, "to a freed frame"),
		    "the stop names an alias: status %d (%s)\n%s", run.status, run.stop_message,
		    run.console);
}

/*
 * The guest's remap through its table's alias, unseen: it says so and
 * exits 1.  Nothing is reported, since no host frame is misused: the
 * shadow disagrees with the guest's table (docs/design.md, "Shadow MMU").
 */
TEST(writable_tracked_refault_fails_the_guest_check)
{
	struct vmm_config cfg;
	struct guest_run run;

	abi_shadow_config(&cfg);
	cfg.legacy = LEGACY_BIT(LEGACY_WRITABLE_TRACKED_REFAULT);
	for (int i = 0; i < MAX_TRIES; i++) {
		guest_run(&cfg, &run);
		if (run.status)
			break;
	}
	TEST_ASSERT(run.guest_exited && run.status == 1, "--legacy=%s: status %d in %d runs (%s)",
		    legacy_name(LEGACY_WRITABLE_TRACKED_REFAULT), run.status, MAX_TRIES,
		    run.stop_message);
	TEST_ASSERT(strstr(run.console, "abi: FAIL: ") &&
			    strstr(run.console, "after a PTE write through its table's alias") &&
			    strstr(run.console, "the guest page-table write went unseen"),
		    "the guest names what broke:\n%s", run.console);
	TEST_ASSERT_EQ(report_consume(REPORT_SANITIZER), 0UL);
}

/*
 * Without pressure the switch changes nothing: the guest touches each
 * table alias before the table is shadowed, so only a re-fault after the
 * host took the table away installs the writable leaf.
 */
TEST(writable_tracked_refault_needs_the_host_to_take_the_table)
{
	struct vmm_config cfg;
	struct guest_run run;

	abi_shadow_config(&cfg);
	cfg.pressure = NULL;
	cfg.pool_bytes = 16UL << 20;
	cfg.legacy = LEGACY_BIT(LEGACY_WRITABLE_TRACKED_REFAULT);
	run_verified(&cfg, &run, "abi: ok");
}

TEST(abi_guest_without_switches_is_clean)
{
	struct vmm_config cfg;
	struct guest_run run;

	abi_shadow_config(&cfg);
	run_verified(&cfg, &run, "abi: ok");
	TEST_ASSERT(atomic_long_read(&run.stat.shadow_sptes_zapped) > 0, "the host zapped aliases");
}

/* --pin under --pressure reclaim: the guest runs, and reclaim frees ~nothing of it. */
static void reclaim_run(bool pin, struct guest_run *run)
{
	char swap[] = "/tmp/nopin-swap-XXXXXX";
	int fd = mkstemp(swap);
	struct vmm_config cfg;

	TEST_ASSERT(fd >= 0, "mkstemp");
	guest_config(&cfg, "random");
	cfg.mem_bytes = 8UL << 20;
	cfg.pool_bytes = 16UL << 20; /* pinned RAM cannot be reclaimed: it must fit */
	cfg.swap_file = swap;
	cfg.pressure = "reclaim=2ms";
	cfg.pin = pin;
	guest_run(&cfg, run);
	close(fd);
	unlink(swap);
	TEST_ASSERT(run->guest_exited && run->status == 0, "status %d: %s\n%s", run->status,
		    run->stop_message, run->console);
	TEST_ASSERT(strstr(run->console, "random: ok"), "verified:\n%s", run->console);
}

TEST(pin_mode_runs_correctly_and_reclaim_frees_nothing)
{
	struct guest_run run;

	reclaim_run(true, &run);
	TEST_ASSERT(atomic_long_read(&run.stat.pages_pinned) > 1000, "pin mode pinned guest RAM");
	TEST_ASSERT(run.reclaimed < 16, "reclaim freed %lu frames of a pinned guest",
		    run.reclaimed);
	TEST_ASSERT_EQ(atomic_long_read(&run.stat.invalidations), 0);
}

TEST(nopin_mode_lets_reclaim_free_guest_pages)
{
	struct guest_run run;

	reclaim_run(false, &run);
	TEST_ASSERT_EQ(atomic_long_read(&run.stat.pages_pinned), 0);
	TEST_ASSERT(run.reclaimed > 1000, "reclaim freed %lu frames", run.reclaimed);
}
