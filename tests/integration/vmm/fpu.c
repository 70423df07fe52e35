// SPDX-License-Identifier: GPL-2.0
/*
 * The `fpu` image, built for the x86-64 baseline (SSE2, no
 * -mgeneral-regs-only): doubles and floats, struct copies, memcpy and
 * memset as gcc emits them.  Its whole console must be the text
 * guest/fpu_report.h gives when the host computes it natively, on the
 * soft vCPU in tdp and shadow mode, and on kvm (this file is in the nested
 * list: tests/CMakeLists.txt) in shadow mode.  A paravirtual /dev/kvm
 * (no vmx or svm in the host's CPU flags, as kvm_pvm) cannot run SSE
 * itself: there the VMM must stop naming the instruction KVM refused,
 * which the last case checks from the soft label.
 */
#include <stdio.h>
#include <string.h>

#include "guest/fpu_report.h"
#include "tests/lib/test_util.h"
#include "tests/lib/vmm_util.h"
#include "vmm/kvm/devkvm_util.h"

/* Does the host CPU show hardware virtualization (else /dev/kvm is paravirtual)? */
static bool host_has_vmx_or_svm(void)
{
	struct devkvm_err err = { "" };
	bool found = devkvm_hardware(&err);

	TEST_ASSERT(found || !strstr(err.msg, "cannot read"), "%s", err.msg);
	return found;
}

/* The stop a paravirtual /dev/kvm gives: one line naming the SSE instruction it refused. */
static void expect_refusal(const struct guest_run *run)
{
	TEST_ASSERT(!run->guest_exited &&
			    strstr(run->stop_message,
				   "the host's KVM cannot run this instruction "
				   "(KVM_EXIT_INTERNAL_ERROR, emulation failure) "
				   "at rip 0x") &&
			    strstr(run->stop_message, "xmm") && !strchr(run->stop_message, '\n'),
		    "a paravirtual /dev/kvm: %s", run->stop_message);
}

static void run_fpu(enum kvm_mmu_mode mmu)
{
	char expect[1024];
	struct vmm_config cfg;
	struct guest_run run;

	/* Both backends have shadow mode; tdp is the soft vCPU's. */
	TEST_REQUIRE(mmu == KVM_MMU_SHADOW || test_backend() == VMM_BACKEND_SOFT);
	guest_config(&cfg, "fpu");
	cfg.mmu = mmu;
	guest_run(&cfg, &run);
	fpu_report(expect, sizeof(expect));
	TEST_ASSERT(strstr(expect, "fpu: pi by Simpson, 1000 steps: 3.14159265359"),
		    "the host's own report:\n%s", expect);
	if (test_backend() == VMM_BACKEND_KVM && !host_has_vmx_or_svm()) {
		expect_refusal(&run);
		return;
	}
	TEST_ASSERT(run.guest_exited && run.status == 0, "status %d (%s)\n%s", run.status,
		    run.stop_message, run.console);
	TEST_ASSERT(!strcmp(run.console, expect), "the console:\n%s\nexpected:\n%s", run.console,
		    expect);
}

TEST(fpu_tdp)
{
	run_fpu(KVM_MMU_TDP);
}

TEST(fpu_shadow)
{
	run_fpu(KVM_MMU_SHADOW);
}

/*
 * Run from the soft label on a machine whose /dev/kvm is paravirtual (the
 * nested label runs kvm inside QEMU there): the kvm backend, directly,
 * must stop at the image's first SSE instruction and name it.
 */
TEST(paravirtual_kvm_names_the_instruction_it_refused)
{
	struct devkvm_err err;
	struct vmm_config cfg;
	struct guest_run run;

	TEST_REQUIRE(test_backend() == VMM_BACKEND_SOFT);
	TEST_REQUIRE(devkvm_usable(&err) && !host_has_vmx_or_svm());
	guest_config(&cfg, "fpu");
	cfg.backend = VMM_BACKEND_KVM;
	cfg.mmu = KVM_MMU_SHADOW;
	guest_run(&cfg, &run);
	expect_refusal(&run);
}
