// SPDX-License-Identifier: GPL-2.0
/*
 * The kvm backend on this machine's /dev/kvm: guest images run on the
 * secondary MMU's tables as their page tables, faults come back through
 * the #PF stub, remote flushes through the kick and the flush NMI.  Skipped
 * (and counted as skipped) where /dev/kvm is missing; tests/nested runs
 * them inside QEMU there (issue 9).  RAM stays small: a secondary fault is
 * a guest exit, costly under nested virtualization.
 */
#include <string.h>
#include <unistd.h>

#include "tests/lib/test_util.h"
#include "tests/lib/vmm_util.h"
#include "vmm/kvm/kvm_util.h"

static void kvm_config(struct vmm_config *cfg, const char *image, unsigned int vcpus)
{
	struct kvm_err err;
	int fd = kvm_open_dev(&err);

	TEST_REQUIRE(fd >= 0);
	close(fd);
	guest_config(cfg, image);
	cfg->backend = VMM_BACKEND_KVM;
	cfg->nr_vcpus = vcpus;
	cfg->mem_bytes = 2UL << 20;
	cfg->pool_bytes = 8UL << 20;
}

static void run_ok(struct vmm_config *cfg, const char *expect)
{
	struct guest_run run;

	guest_run(cfg, &run);
	TEST_ASSERT(run.guest_exited && run.status == 0, "%s: status %d (%s)\n%s", cfg->image,
		    run.status, run.stop_message, run.console);
	TEST_ASSERT(strstr(run.console, expect), "no '%s':\n%s", expect, run.console);
	TEST_ASSERT(atomic_long_read(&run.stat.pf_fixed) > 0, "faults came through the stub");
}

TEST(hello_1)
{
	struct vmm_config cfg;

	kvm_config(&cfg, "hello", 1);
	run_ok(&cfg, "Hello from vCPU 0 of 1");
}

TEST(smp_2)
{
	struct vmm_config cfg;

	kvm_config(&cfg, "smp", 2);
	run_ok(&cfg, "smp: 2 vCPUs, counter 20000, ok");
}

TEST(random_under_pressure_with_ram_larger_than_the_pool)
{
	struct vmm_config cfg;

	kvm_config(&cfg, "random", 1);
	cfg.pool_bytes = 1UL << 20;
	cfg.pressure = "all";
	run_ok(&cfg, "random: ok");
}

TEST(smp_2_under_pressure)
{
	struct vmm_config cfg;

	kvm_config(&cfg, "smp", 2);
	cfg.pool_bytes = 1UL << 20;
	cfg.pressure = "all";
	run_ok(&cfg, "smp: 2 vCPUs, counter 20000, ok");
}

TEST(wild_access_is_reported_with_the_instruction)
{
	struct vmm_config cfg;
	struct guest_run run;

	kvm_config(&cfg, "wild", 1);
	guest_run(&cfg, &run);
	TEST_ASSERT(!run.guest_exited && run.status == VMM_EXIT_GUEST_STOPPED, "stopped: %d",
		    run.status);
	TEST_ASSERT(strstr(run.stop_message, "at 0x10 outside every memslot") &&
			    strstr(run.stop_message, "rip 0x") && strstr(run.stop_message, "mov"),
		    "address, rip and instruction: %s", run.stop_message);
}
