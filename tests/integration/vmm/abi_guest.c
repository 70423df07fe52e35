// SPDX-License-Identifier: GPL-2.0
/*
 * The ABI-only guest (guest/abi_only: the documented ABI and guest/abi.h,
 * none of guest/runtime) on its own page tables: aliases, two address
 * spaces switched by HC_LOAD_CR3, a remap with HC_INVLPG and a remap by a
 * PTE store through an alias of the table page, each checked by the guest
 * itself.  On 1 and 2 vCPUs (each on tables of its own), quiet and under
 * --pressure all with RAM twice the pool, in tdp and shadow mode, its
 * whole console is the same text and it exits 0; the harness fails a case
 * that left a sanitizer report.  Under pressure the
 * counters show the host invalidated its pages, and in shadow mode that
 * zaps went through the rmap and its table writes were emulated.
 *
 * The file is in the nested list too (tests/CMakeLists.txt): on the kvm
 * backend the shadow cases run and the tdp cases skip (tdp is the soft
 * vCPU's).
 */
#include <stdio.h>
#include <string.h>

#include "tests/lib/test_util.h"
#include "tests/lib/vmm_util.h"

#define NR_ROUNDS 16 /* guest/abi_only/abi_only.c */

/* Both backends have shadow mode; tdp is the soft vCPU's. */
static void require_mmu(enum kvm_mmu_mode mmu)
{
	TEST_REQUIRE(mmu == KVM_MMU_SHADOW || test_backend() == VMM_BACKEND_SOFT);
}

/* Everything the guest prints when every check passed. */
static void expected_console(char *buf, size_t len, const struct vmm_config *cfg)
{
	int n = snprintf(buf, len,
			 "abi: %u vCPUs, %zu MiB of RAM; each: 16 pages at 3 addresses, "
			 "2 address spaces, 8 table aliases\n",
			 cfg->nr_vcpus, cfg->mem_bytes >> 20);

	for (int r = 0; r < NR_ROUNDS; r++)
		n += snprintf(buf + n, len - n, "abi: round %d ok\n", r);
	snprintf(buf + n, len - n, "abi: ok\n");
}

static void abi_config(struct vmm_config *cfg, enum kvm_mmu_mode mmu, unsigned int vcpus,
		       bool pressure)
{
	guest_config(cfg, "abi_only");
	cfg->mmu = mmu;
	cfg->nr_vcpus = vcpus;
	cfg->mem_bytes = 8UL << 20;
	cfg->pool_bytes = pressure ? 4UL << 20 : 16UL << 20;
	if (pressure)
		cfg->pressure = "all";
}

static void run_abi_guest(enum kvm_mmu_mode mmu, unsigned int vcpus, bool pressure)
{
	char expect[2048];
	struct vmm_config cfg;
	struct guest_run run;

	require_mmu(mmu);
	abi_config(&cfg, mmu, vcpus, pressure);
	guest_run(&cfg, &run);
	expected_console(expect, sizeof(expect), &cfg);
	TEST_ASSERT(run.guest_exited && run.status == 0, "status %d (%s)\n%s", run.status,
		    run.stop_message, run.console);
	TEST_ASSERT(!strcmp(run.console, expect), "the console:\n%s\nexpected:\n%s", run.console,
		    expect);
	if (!pressure)
		return;
	TEST_ASSERT(atomic_long_read(&run.stat.invalidations) > 0, "the host invalidated");
	TEST_ASSERT(atomic_long_read(&run.stat.sptes_zapped) > 0, "SPTEs were zapped");
	TEST_ASSERT(run.reclaimed > 0, "the host reclaimed guest pages");
	if (mmu != KVM_MMU_SHADOW)
		return;
	TEST_ASSERT(atomic_long_read(&run.stat.shadow_sptes_zapped) > 0,
		    "invalidations zapped shadow leaves through the rmap");
	TEST_ASSERT(atomic_long_read(&run.stat.shadow_pte_writes) > 0,
		    "the guest's table writes were emulated");
}

TEST(tdp_1_quiet)
{
	run_abi_guest(KVM_MMU_TDP, 1, false);
}

TEST(tdp_1_pressure)
{
	run_abi_guest(KVM_MMU_TDP, 1, true);
}

TEST(tdp_2_quiet)
{
	run_abi_guest(KVM_MMU_TDP, 2, false);
}

TEST(tdp_2_pressure)
{
	run_abi_guest(KVM_MMU_TDP, 2, true);
}

TEST(shadow_1_quiet)
{
	run_abi_guest(KVM_MMU_SHADOW, 1, false);
}

TEST(shadow_1_pressure)
{
	run_abi_guest(KVM_MMU_SHADOW, 1, true);
}

TEST(shadow_2_quiet)
{
	run_abi_guest(KVM_MMU_SHADOW, 2, false);
}

TEST(shadow_2_pressure)
{
	run_abi_guest(KVM_MMU_SHADOW, 2, true);
}

/* Flat mode has no guest tables: the guest says the VMM refused them, and fails. */
TEST(flat_refuses_the_tables)
{
	struct vmm_config cfg;
	struct guest_run run;

	abi_config(&cfg, KVM_MMU_FLAT, 1, false);
	guest_run(&cfg, &run);
	TEST_ASSERT(run.guest_exited && run.status == 1, "status %d (%s)\n%s", run.status,
		    run.stop_message, run.console);
	TEST_ASSERT(strstr(run.console, "abi: FAIL: vCPU 0, round 0: HC_LOAD_CR3 at ") &&
			    strstr(run.console, "(the VMM refused the guest's page tables)"),
		    "the console:\n%s", run.console);
}
