// SPDX-License-Identifier: GPL-2.0
/*
 * The secondary MMU's legacy switches on a real guest: under host pressure
 * with RAM larger than the pool, no_remote_flush and no_invalidate_retry
 * let the guest touch a freed frame, and the sanitizer's report names the
 * vCPU and the guest instruction; without them, and in pin mode, the same
 * run is clean.  Under --pressure reclaim a pinned guest gives reclaim
 * nothing and an unpinned one gives it its pages.  (The deterministic, schedule-point versions of these races
 * are tests/scenario/mmu; here the race is left to the pressure agents, so
 * a run that happens to miss it is repeated.)
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

/* Run with @sw until the sanitizer reports; the report names the guest instruction. */
static void legacy_run_reports(enum legacy_switch sw)
{
	char log[] = "/tmp/nopin-museum-XXXXXX";
	int fd = mkstemp(log), saved = dup(2);
	struct vmm_config cfg;
	struct guest_run run;
	unsigned long reports = 0;
	char text[65536];
	ssize_t n;

	TEST_ASSERT(fd >= 0 && saved >= 0, "temporary log");
	pressure_config(&cfg);
	cfg.legacy = LEGACY_BIT(sw);
	/* The reports go to stderr: keep them to check what they say. */
	dup2(fd, 2);
	for (int i = 0; i < MAX_TRIES && !reports; i++) {
		guest_run(&cfg, &run);
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
	legacy_run_reports(LEGACY_NO_REMOTE_FLUSH);
}

TEST(no_invalidate_retry_reports_the_guest_access)
{
	legacy_run_reports(LEGACY_NO_INVALIDATE_RETRY);
}

TEST(same_run_without_switches_is_clean)
{
	struct vmm_config cfg;
	struct guest_run run;

	pressure_config(&cfg);
	guest_run(&cfg, &run);
	TEST_ASSERT(run.guest_exited && run.status == 0, "status %d: %s\n%s", run.status,
		    run.stop_message, run.console);
	TEST_ASSERT(strstr(run.console, "random: ok"), "verified:\n%s", run.console);
	TEST_ASSERT(atomic_long_read(&run.stat.invalidations) > 0, "the host invalidated");
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
