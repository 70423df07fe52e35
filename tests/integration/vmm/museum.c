// SPDX-License-Identifier: GPL-2.0
/*
 * The museum (docs/design.md section 6) through its command: `nopin museum
 * --rule N` brings back each switch of rule N on what exposes it and runs
 * the same without it; it knows which guest, pressure and memory fit each
 * switch, so these tests only ask it, one rule each, and check that every
 * switch was caught and every run without it was clean.
 *
 * What the command does not print is checked here on in-process runs:
 * that a sanitizer report names the vCPU, the guest instruction and the
 * legacy switch taken; that a shadow alias's freed frame stops the guest
 * naming the alias; that raced faults retry; that writable_tracked_refault
 * needs the host to take the table away; and that pin mode gives reclaim
 * nothing where nopin mode gives it the guest's pages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
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
	TEST_ASSERT(strstr(text, "legacy switches taken: ") &&
			    strstr(strstr(text, "legacy switches taken: "), legacy_name(sw)),
		    "the report names the switch:\n%.2000s", text);
}

TEST(no_remote_flush_reports_the_guest_access)
{
	struct vmm_config cfg;
	struct guest_run run;

	pressure_config(&cfg);
	legacy_run_reports_on(&cfg, LEGACY_NO_REMOTE_FLUSH, &run);
}

/* Run @cfg: the guest exits 0 having printed @ok, its verdict on itself. */
static void run_verified(const struct vmm_config *cfg, struct guest_run *run, const char *ok)
{
	guest_run(cfg, run);
	TEST_ASSERT(run->guest_exited && run->status == 0, "status %d: %s\n%s", run->status,
		    run->stop_message, run->console);
	TEST_ASSERT(strstr(run->console, ok), "verified:\n%s", run->console);
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

/* ---- the command ---- */

/* `nopin museum @args`: its exit status, and stdout and stderr in @out. */
static int museum(const char *args, char *out, size_t len)
{
	char cmd[1024];
	size_t n = 0;
	FILE *p;
	int status;

	snprintf(cmd, sizeof(cmd), "%s museum --guest-dir %s %s 2>&1", NOPIN_CLI, NOPIN_GUEST_DIR,
		 args);
	p = popen(cmd, "r");
	TEST_ASSERT(p, "popen %s", cmd);
	while (n < len - 1 && !feof(p))
		n += fread(out + n, 1, len - 1 - n, p);
	out[n] = '\0';
	status = pclose(p);
	TEST_ASSERT(WIFEXITED(status), "%s: status %#x", cmd, status);
	return WEXITSTATUS(status);
}

/* The line of switch @sw in @out: caught, and clean without it. */
static void assert_shown(const char *out, enum legacy_switch sw)
{
	char key[64];
	const char *line, *eol;

	snprintf(key, sizeof(key), "| %s | ", legacy_name(sw));
	line = strstr(out, key);
	TEST_ASSERT(line, "no line for %s:\n%s", legacy_name(sw), out);
	eol = strchr(line, '\n');
	TEST_ASSERT(eol, "unterminated line");
	TEST_ASSERT(memmem(line, eol - line, legacy_history(sw), strlen(legacy_history(sw))),
		    "the line tells the history:\n%s", out);
	TEST_ASSERT(memmem(line, eol - line, "| caught: ", 10) &&
			    memmem(line, eol - line, "| without it: clean", 19),
		    "%s caught and clean without:\n%s", legacy_name(sw), out);
}

/* `nopin museum --rule @rule` shows every switch of the rule and exits 0. */
static void museum_rule(int rule)
{
	static char out[1 << 16];
	char args[32];
	unsigned int n = 0;

	snprintf(args, sizeof(args), "--rule %d", rule);
	TEST_ASSERT_EQ(museum(args, out, sizeof(out)), 0);
	for (unsigned int sw = 0; sw < NR_LEGACY_SWITCHES; sw++) {
		if (legacy_rule(sw) != rule)
			continue;
		assert_shown(out, sw);
		n++;
	}
	TEST_ASSERT(n > 0, "rule %d has a switch", rule);
	TEST_ASSERT(strstr(out, ", 0 failed"), "summary:\n%s", out);
}

TEST(museum_rule_1_invalidate_before_free)
{
	museum_rule(1);
}

TEST(museum_rule_2_retry_instead_of_pin)
{
	museum_rule(2);
}

TEST(museum_rule_3_flush_before_return)
{
	museum_rule(3);
}

TEST(museum_rule_4_register_under_all_locks)
{
	museum_rule(4);
}

TEST(museum_rule_5_unlink_before_freeing_page_tables)
{
	museum_rule(5);
}

TEST(museum_rule_6_notifier_outside_atomic_sections)
{
#ifndef CONFIG_LOCKDEP
	TEST_REQUIRE(!"the lock checker built in (Debug builds)");
#endif
	museum_rule(6);
}

TEST(museum_rule_7_oldest_anon_vma_and_root_lock)
{
	museum_rule(7);
}

TEST(museum_rule_8_mlock_under_the_pte_lock)
{
	museum_rule(8);
}

TEST(museum_shadow_coherence)
{
	museum_rule(0);
}

/* On kvm the switches a hardware vCPU cannot show say why; the rest are shown. */
TEST(museum_on_kvm_says_what_it_cannot_show)
{
	static char out[1 << 14];

	TEST_REQUIRE(access("/dev/kvm", R_OK | W_OK) == 0);
#ifndef CONFIG_LOCKDEP
	TEST_REQUIRE(!"the lock checker built in (Debug builds)");
#endif
	TEST_ASSERT_EQ(museum("--backend kvm --rule 3", out, sizeof(out)), 0);
	TEST_ASSERT(strstr(out, "| no_remote_flush | ") &&
			    strstr(out, "not shown on this backend: the guest's accesses are the "
					"hardware's"),
		    "says why not:\n%s", out);
	TEST_ASSERT(strstr(out, "1 switch, 0 shown, 0 failed"), "summary:\n%s", out);
	TEST_ASSERT_EQ(museum("--backend kvm --rule 6", out, sizeof(out)), 0);
	assert_shown(out, LEGACY_START_IN_TLB_GATHER);
}

TEST(museum_refuses_bad_options)
{
	static const char *const bad[] = { "--rule 9",	    "--rule x",		"--rule -1",
					   "--backend foo", "--no-such-option", "extra" };
	char out[1024];

	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		TEST_ASSERT_EQ(museum(bad[i], out, sizeof(out)), 2);
		TEST_ASSERT(strstr(out, "nopin museum: ") || strstr(out, "unrecognized option"),
			    "%s: %s", bad[i], out);
		TEST_ASSERT(strchr(out, '\n') == out + strlen(out) - 1, "%s: one line: %s", bad[i],
			    out);
	}
}
