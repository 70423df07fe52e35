// SPDX-License-Identifier: GPL-2.0
/*
 * The integration matrix: every guest image with 1 and 2 vCPUs, on
 * anonymous and file-backed RAM, quiet and under --pressure all with guest
 * RAM larger than the frame pool.  Each run must print what its image
 * prints when it verified itself and exit 0; the harness fails a case that
 * left a sanitizer report.  Under pressure, the counters show the host
 * really reclaimed and invalidated; the hash image's digest is checked
 * against a native computation, and on file-backed RAM against the file.
 *
 * The images with page tables of their own (paging, ptedit) run in tdp
 * and shadow mode, 1 and 2 vCPUs, quiet and under pressure, and must
 * print the same whole console in each: their lines say what they
 * checked, never where or when.  So does usermode, a guest kernel with
 * a user program in ring 3 (syscall and sysret, iretq, FS and GS, faults
 * from ring 3, rounds over a user buffer that pressure reclaims under
 * it), on one vCPU.
 *
 * hello and exceptions run quiet only: each is over in a few
 * milliseconds, before any pressure agent's first round (each sleeps its
 * period, 10 ms or more, before acting, and stops when the guest exits),
 * and touches too little RAM for the pool to reclaim, so under pressure
 * nothing would act and the case would prove nothing.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "guest/xorshift.h"
#include "tests/lib/test_util.h"
#include "tests/lib/vmm_util.h"

static void check_hash(const struct guest_run *run)
{
	const char *line = strstr(run->console, "hash: ");
	unsigned long words, digest;

	TEST_ASSERT(line && sscanf(line, "hash: %lu words: %lx", &words, &digest) == 2,
		    "hash line:\n%s", run->console);
	TEST_ASSERT_EQ(digest, hash_image_digest(words));
}

/* @whole: @expect is the whole console, not a piece of it. */
static void run_case_mmu(const char *image, unsigned int vcpus, bool file, bool pressure,
			 const char *expect, int mmu, bool whole)
{
	char path[] = "/tmp/nopin-matrix-XXXXXX";
	struct vmm_config cfg;
	struct guest_run run;
	int fd = -1;

	guest_config(&cfg, image);
	if (mmu != VMM_MMU_AUTO)
		cfg.mmu = mmu;
	cfg.nr_vcpus = vcpus;
	cfg.mem_bytes = 6UL << 20;
	cfg.pool_bytes = pressure ? 4UL << 20 : 8UL << 20;
	if (pressure)
		cfg.pressure = "all";
	if (file) {
		fd = mkstemp(path);
		TEST_ASSERT(fd >= 0, "mkstemp");
		cfg.mem_file = path;
	}
	guest_run(&cfg, &run);
	TEST_ASSERT(run.guest_exited && run.status == 0, "%s: status %d (%s)\n%s", image,
		    run.status, run.stop_message, run.console);
	if (whole)
		TEST_ASSERT(!strcmp(run.console, expect), "%s printed:\n%s\nexpected:\n%s", image,
			    run.console, expect);
	else
		TEST_ASSERT(strstr(run.console, expect), "%s printed no '%s':\n%s", image, expect,
			    run.console);
	if (!strcmp(image, "hash"))
		check_hash(&run);
	if (pressure) {
		TEST_ASSERT(atomic_long_read(&run.stat.invalidations) > 0, "the host invalidated");
		TEST_ASSERT(atomic_long_read(&run.stat.sptes_zapped) > 0, "SPTEs were zapped");
	}
	if (fd >= 0) {
		close(fd);
		unlink(path);
	}
}

static void run_case(const char *image, unsigned int vcpus, bool file, bool pressure,
		     const char *expect)
{
	run_case_mmu(image, vcpus, file, pressure, expect, VMM_MMU_AUTO, false);
}

/*
 * The images again in shadow mode, 2 vCPUs under pressure on the soft
 * backend: they run on the identity CR3, so every invalidation goes
 * through the rmap as well as the flat SPTEs, and must change nothing.
 * (NOPIN_TEST_MMU=shadow runs the whole matrix so.)  On the kvm backend
 * shadow is the default mode: the cases above are these already.
 */
static void run_case_shadow(const char *image, const char *expect)
{
	TEST_REQUIRE(test_backend() == VMM_BACKEND_SOFT);
	run_case_mmu(image, 2, false, true, expect, KVM_MMU_SHADOW, false);
}

TEST(memtest_2_anon_pressure_shadow)
{
	run_case_shadow("memtest", "memtest: ok");
}

TEST(hash_2_anon_pressure_shadow)
{
	run_case_shadow("hash", "hash: ");
}

TEST(random_2_anon_pressure_shadow)
{
	run_case_shadow("random", "random: ok");
}

TEST(smp_2_anon_pressure_shadow)
{
	run_case_shadow("smp", "smp: 2 vCPUs, counter 20000, ok");
}

TEST(balloon_2_anon_pressure_shadow)
{
	run_case_shadow("balloon", "balloon: 4 rounds");
}

/*
 * The guests on tables of their own need a guest MMU: the soft backend has
 * tdp and shadow, the kvm backend shadow only (tdp is the soft vCPU's), so
 * under the nested label the shadow cases run on kvm and the tdp ones skip.
 */
static void require_guest_paging_backend(int mmu)
{
	TEST_REQUIRE(mmu == KVM_MMU_SHADOW || test_backend() == VMM_BACKEND_SOFT);
}

static void run_paging_case(const char *image, unsigned int vcpus, bool pressure, int mmu,
			    const char *expect)
{
	require_guest_paging_backend(mmu);
	run_case_mmu(image, vcpus, false, pressure, expect, mmu, true);
}

#define PAGING_COMMON                                                                              \
	"paging: aliases: 3 virtual pages over one frame, 48 writes each read 4 ways, A on read, " \
	"D on write, ok\n"                                                                         \
	"paging: remap with INVLPG ok; #PF unmapped read 0x0, write 0x2, read-only write 0x3, "    \
	"ok\n"                                                                                     \
	"paging: no-execute: a call faults with error code 0x11, ok\n"                             \
	"paging: address spaces: one virtual page in 2 PML4s, 16 CR3 switches, ok\n"               \
	"paging: 2 MiB page: 512 pieces through it and the identity map, ok\n"                     \
	"paging: 2 MiB page split into 4 KiB pages with one INVLPG, joined with a TLB flush, ok\n" \
	"paging: copy-on-write: 16 #PF copies, originals intact, ok\n"                             \
	"paging: demand paging: vCPU 0: 96 read faults, 96 write faults, ok\n"

static const char paging_1[] =
	"paging: 1 vCPUs, each on tables of its own with RAM identity-mapped\n" PAGING_COMMON
	"paging: 16 rounds rewritten and checked, ok\n"
	"paging: ok\n";

static const char paging_2[] =
	"paging: 2 vCPUs, each on tables of its own with RAM identity-mapped\n" PAGING_COMMON
	"paging: demand paging: vCPU 1: 96 read faults, 96 write faults, ok\n"
	"paging: 16 rounds rewritten and checked, ok\n"
	"paging: ok\n";

#define PTEDIT_VCPU0                                                                               \
	"ptedit: vCPU 0: 3000 ops: 697 remaps, 390 unmaps, 448 writes, 734 reads, 775 #PF, ok\n"

static const char ptedit_1[] =
	"ptedit: 1 vCPUs on one address space, 768 private frames, 32 shared\n" PTEDIT_VCPU0
	"ptedit: shootdown: 150 generations, each acknowledged by 1 vCPUs, 2400 checks, 420 #PF, "
	"ok\n"
	"ptedit: ok\n";

static const char ptedit_2[] =
	"ptedit: 2 vCPUs on one address space, 768 private frames, 32 shared\n" PTEDIT_VCPU0
	"ptedit: vCPU 1: 3000 ops: 774 remaps, 376 unmaps, 473 writes, 723 reads, 701 #PF, ok\n"
	"ptedit: shootdown: 150 generations, each acknowledged by 2 vCPUs, 2400 checks, 420 #PF, "
	"ok\n"
	"ptedit: ok\n";

TEST(paging_1_tdp_quiet)
{
	run_paging_case("paging", 1, false, KVM_MMU_TDP, paging_1);
}

TEST(paging_1_tdp_pressure)
{
	run_paging_case("paging", 1, true, KVM_MMU_TDP, paging_1);
}

TEST(paging_2_tdp_quiet)
{
	run_paging_case("paging", 2, false, KVM_MMU_TDP, paging_2);
}

TEST(paging_2_tdp_pressure)
{
	run_paging_case("paging", 2, true, KVM_MMU_TDP, paging_2);
}

TEST(paging_1_shadow_quiet)
{
	run_paging_case("paging", 1, false, KVM_MMU_SHADOW, paging_1);
}

TEST(paging_1_shadow_pressure)
{
	run_paging_case("paging", 1, true, KVM_MMU_SHADOW, paging_1);
}

TEST(paging_2_shadow_quiet)
{
	run_paging_case("paging", 2, false, KVM_MMU_SHADOW, paging_2);
}

TEST(paging_2_shadow_pressure)
{
	run_paging_case("paging", 2, true, KVM_MMU_SHADOW, paging_2);
}

TEST(ptedit_1_tdp_quiet)
{
	run_paging_case("ptedit", 1, false, KVM_MMU_TDP, ptedit_1);
}

TEST(ptedit_1_tdp_pressure)
{
	run_paging_case("ptedit", 1, true, KVM_MMU_TDP, ptedit_1);
}

TEST(ptedit_2_tdp_quiet)
{
	run_paging_case("ptedit", 2, false, KVM_MMU_TDP, ptedit_2);
}

TEST(ptedit_2_tdp_pressure)
{
	run_paging_case("ptedit", 2, true, KVM_MMU_TDP, ptedit_2);
}

TEST(ptedit_1_shadow_quiet)
{
	run_paging_case("ptedit", 1, false, KVM_MMU_SHADOW, ptedit_1);
}

TEST(ptedit_1_shadow_pressure)
{
	run_paging_case("ptedit", 1, true, KVM_MMU_SHADOW, ptedit_1);
}

TEST(ptedit_2_shadow_quiet)
{
	run_paging_case("ptedit", 2, false, KVM_MMU_SHADOW, ptedit_2);
}

TEST(ptedit_2_shadow_pressure)
{
	run_paging_case("ptedit", 2, true, KVM_MMU_SHADOW, ptedit_2);
}

static const char usermode_1[] =
	"usermode: cpuid: syscall yes, fsgsbase yes\n"
	"usermode: EFER 0xd01, STAR 0x18000800000000, LSTAR the entry, FMASK 0x44700\n"
	"usermode: rdmsr of MSR 0x12345678 and wrmsr of EFER 0xd03: #GP(0)\n"
	"usermode: iretq to ring 3 on the identity map: 3 syscalls, exit 7\n"
	"usermode: free RAM written and read back: ok\n"
	"usermode: a PTE stored through fs: (FS_BASE at its table) remaps the page: ok\n"
	"usermode: sysret to ring 3 and syscalls back: exit 0x55\n"
	"usermode: ring 3: TLS through the FS_BASE wrmsr set: read 0x7a7a, wrote 0x7a7b\n"
	"usermode: ring 3: TLS through wrfsbase: wrote 0x7b7b, rdfsbase ok\n"
	"usermode: ring 3: its own GS base across syscalls (swapgs in the entry), the kernel's "
	"per-CPU block in between: ok\n"
	"usermode: syscall: r11 0x402 (DF set), the kernel ran with FMASK 0x44700 clear, DF back "
	"after sysret: ok\n"
	"usermode: ring 3: 16 rounds over 256 user pages, ok\n"
	"usermode: ring 3: read of a supervisor page: #PF error code 0x5, frame CS 0x2b SS 0x23\n"
	"usermode: ring 3: write of it: #PF error code 0x7, frame CS 0x2b SS 0x23\n"
	"usermode: ring 3: fetch from kernel text: #PF error code 0x15, frame CS 0x2b SS 0x23\n"
	"usermode: ring 3: hlt: #GP error code 0x0, frame CS 0x2b SS 0x23\n"
	"usermode: ring 3: rdmsr: #GP error code 0x0, frame CS 0x2b SS 0x23\n"
	"usermode: ring 3: swapgs: #GP error code 0x0, frame CS 0x2b SS 0x23\n"
	"usermode: ring 3: ud2: #UD, frame CS 0x2b SS 0x23\n"
	"usermode: ring 3: div by 0: #DE, frame CS 0x2b SS 0x23\n"
	"usermode: iretq to ring 3 on its own tables: 3 syscalls, exit 7\n"
	"usermode: ok\n";

TEST(usermode_1_tdp_quiet)
{
	run_paging_case("usermode", 1, false, KVM_MMU_TDP, usermode_1);
}

TEST(usermode_1_shadow_quiet)
{
	run_paging_case("usermode", 1, false, KVM_MMU_SHADOW, usermode_1);
}

/* Kicks, flushes and faults while the vCPU is at CPL 3: the VMM's stubs run at CPL 0 and return. */
TEST(usermode_1_tdp_pressure)
{
	run_paging_case("usermode", 1, true, KVM_MMU_TDP, usermode_1);
}

TEST(usermode_1_shadow_pressure)
{
	run_paging_case("usermode", 1, true, KVM_MMU_SHADOW, usermode_1);
}

TEST(hello_1_anon_quiet)
{
	run_case("hello", 1, false, false, "Hello from vCPU 0 of 1");
}

TEST(hello_1_file_quiet)
{
	run_case("hello", 1, true, false, "Hello from vCPU 0 of 1");
}

TEST(hello_2_anon_quiet)
{
	run_case("hello", 2, false, false, "Hello from vCPU 0 of 2");
}

TEST(hello_2_file_quiet)
{
	run_case("hello", 2, true, false, "Hello from vCPU 0 of 2");
}

TEST(exceptions_1_anon_quiet)
{
	run_case("exceptions", 1, false, false,
		 "exceptions: 1 vCPUs, each #DE 3 #UD 4 (1 nested) #GP 3, ok");
}

TEST(exceptions_1_file_quiet)
{
	run_case("exceptions", 1, true, false,
		 "exceptions: 1 vCPUs, each #DE 3 #UD 4 (1 nested) #GP 3, ok");
}

TEST(exceptions_2_anon_quiet)
{
	run_case("exceptions", 2, false, false,
		 "exceptions: 2 vCPUs, each #DE 3 #UD 4 (1 nested) #GP 3, ok");
}

TEST(exceptions_2_file_quiet)
{
	run_case("exceptions", 2, true, false,
		 "exceptions: 2 vCPUs, each #DE 3 #UD 4 (1 nested) #GP 3, ok");
}

TEST(memtest_1_anon_quiet)
{
	run_case("memtest", 1, false, false, "memtest: ok");
}

TEST(memtest_1_anon_pressure)
{
	run_case("memtest", 1, false, true, "memtest: ok");
}

TEST(memtest_1_file_quiet)
{
	run_case("memtest", 1, true, false, "memtest: ok");
}

TEST(memtest_1_file_pressure)
{
	run_case("memtest", 1, true, true, "memtest: ok");
}

TEST(memtest_2_anon_quiet)
{
	run_case("memtest", 2, false, false, "memtest: ok");
}

TEST(memtest_2_anon_pressure)
{
	run_case("memtest", 2, false, true, "memtest: ok");
}

TEST(memtest_2_file_quiet)
{
	run_case("memtest", 2, true, false, "memtest: ok");
}

TEST(memtest_2_file_pressure)
{
	run_case("memtest", 2, true, true, "memtest: ok");
}

TEST(hash_1_anon_quiet)
{
	run_case("hash", 1, false, false, "hash: ");
}

TEST(hash_1_anon_pressure)
{
	run_case("hash", 1, false, true, "hash: ");
}

TEST(hash_1_file_quiet)
{
	run_case("hash", 1, true, false, "hash: ");
}

TEST(hash_1_file_pressure)
{
	run_case("hash", 1, true, true, "hash: ");
}

TEST(hash_2_anon_quiet)
{
	run_case("hash", 2, false, false, "hash: ");
}

TEST(hash_2_anon_pressure)
{
	run_case("hash", 2, false, true, "hash: ");
}

TEST(hash_2_file_quiet)
{
	run_case("hash", 2, true, false, "hash: ");
}

TEST(hash_2_file_pressure)
{
	run_case("hash", 2, true, true, "hash: ");
}

TEST(random_1_anon_quiet)
{
	run_case("random", 1, false, false, "random: ok");
}

TEST(random_1_anon_pressure)
{
	run_case("random", 1, false, true, "random: ok");
}

TEST(random_1_file_quiet)
{
	run_case("random", 1, true, false, "random: ok");
}

TEST(random_1_file_pressure)
{
	run_case("random", 1, true, true, "random: ok");
}

TEST(random_2_anon_quiet)
{
	run_case("random", 2, false, false, "random: ok");
}

TEST(random_2_anon_pressure)
{
	run_case("random", 2, false, true, "random: ok");
}

TEST(random_2_file_quiet)
{
	run_case("random", 2, true, false, "random: ok");
}

TEST(random_2_file_pressure)
{
	run_case("random", 2, true, true, "random: ok");
}

TEST(smp_1_anon_quiet)
{
	run_case("smp", 1, false, false, "smp: 1 vCPUs, counter 10000, ok");
}

TEST(smp_1_anon_pressure)
{
	run_case("smp", 1, false, true, "smp: 1 vCPUs, counter 10000, ok");
}

TEST(smp_1_file_quiet)
{
	run_case("smp", 1, true, false, "smp: 1 vCPUs, counter 10000, ok");
}

TEST(smp_1_file_pressure)
{
	run_case("smp", 1, true, true, "smp: 1 vCPUs, counter 10000, ok");
}

TEST(smp_2_anon_quiet)
{
	run_case("smp", 2, false, false, "smp: 2 vCPUs, counter 20000, ok");
}

TEST(smp_2_anon_pressure)
{
	run_case("smp", 2, false, true, "smp: 2 vCPUs, counter 20000, ok");
}

TEST(smp_2_file_quiet)
{
	run_case("smp", 2, true, false, "smp: 2 vCPUs, counter 20000, ok");
}

TEST(smp_2_file_pressure)
{
	run_case("smp", 2, true, true, "smp: 2 vCPUs, counter 20000, ok");
}

TEST(balloon_1_anon_quiet)
{
	run_case("balloon", 1, false, false, "balloon: 4 rounds");
}

TEST(balloon_1_anon_pressure)
{
	run_case("balloon", 1, false, true, "balloon: 4 rounds");
}

TEST(balloon_1_file_quiet)
{
	run_case("balloon", 1, true, false, "balloon: 4 rounds");
}

TEST(balloon_1_file_pressure)
{
	run_case("balloon", 1, true, true, "balloon: 4 rounds");
}

TEST(balloon_2_anon_quiet)
{
	run_case("balloon", 2, false, false, "balloon: 4 rounds");
}

TEST(balloon_2_anon_pressure)
{
	run_case("balloon", 2, false, true, "balloon: 4 rounds");
}

TEST(balloon_2_file_quiet)
{
	run_case("balloon", 2, true, false, "balloon: 4 rounds");
}

TEST(balloon_2_file_pressure)
{
	run_case("balloon", 2, true, true, "balloon: 4 rounds");
}
