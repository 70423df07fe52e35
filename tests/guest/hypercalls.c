// SPDX-License-Identifier: GPL-2.0
/*
 * The hypercalls of guest paging and exceptions on the soft backend, seen
 * from both sides: what each answers in flat and in tdp mode, that
 * HC_INVLPG, HC_FLUSH_TLB and a CR3 load (the hypercall or the native
 * `mov %reg, %cr3`) leave nothing of the vCPU's TLB behind, that `mov
 * %cr3` reads what was loaded, that a refused native CR3 load is a #GP the
 * guest's handler sees through the runtime's entry stub, and that with the
 * handler taken back it stops the guest with a message naming the vector,
 * the rip and the instruction.  The guest's tables themselves are the
 * paging tests' business: here CR3 is only ever the identity.
 */
#include "tests/lib/ucall.h"

#ifdef NOPIN_GUEST

#include "guest.h"

/* A page of its own, whose TLB entry the host looks for: each sync says where. */
static volatile unsigned long tlb_page[512] __attribute__((aligned(4096)));
static unsigned char gp_stack[4096] __attribute__((aligned(16)));
static volatile unsigned long gp_count, gp_rip, gp_error, gp_cs, gp_ss;

/* `mov %rax, %cr3` is 3 bytes: the handler steps over it. */
static void gp_handler(struct exception_frame *f)
{
	gp_count++;
	gp_rip = f->rip;
	gp_error = f->error_code;
	gp_cs = f->cs;
	gp_ss = f->ss;
	f->rip += 3;
}

/* A native CR3 load, at a known rip. */
static unsigned long native_load_cr3(unsigned long cr3)
{
	unsigned long rip;

	__asm__ volatile("lea 1f(%%rip), %0\n\t"
			 "1: mov %1, %%cr3"
			 : "=&r"(rip)
			 : "a"(cr3)
			 : "memory");
	return rip;
}

static unsigned long read_cr3(void)
{
	unsigned long cr3;

	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	return cr3;
}

static void expect_gp_at(unsigned long rip, unsigned long count)
{
	GUEST_ASSERT(gp_count == count);
	GUEST_ASSERT(gp_rip == rip && gp_error == 0);
	GUEST_ASSERT(gp_cs == GUEST_CS && gp_ss == GUEST_SS);
}

static long set_handler(unsigned long vector, unsigned long rip, unsigned long stack)
{
	return hypercall3(HC_SET_EXCEPTION_HANDLER, vector, rip, stack);
}

__attribute__((used, noinline)) void guest_flat(void)
{
	unsigned long stack = (unsigned long)gp_stack + sizeof(gp_stack), rip;

	GUEST_ASSERT(guest_load_cr3(GUEST_CR3_IDENTITY) == -GUEST_EOPNOTSUPP);
	GUEST_ASSERT(set_handler(5, 0x100000, stack) == -GUEST_EINVAL);
	GUEST_ASSERT(set_handler(32, 0x100000, stack) == -GUEST_EINVAL);
	GUEST_ASSERT(set_handler(GP_VECTOR, 0x0000800000000000UL, stack) == -GUEST_EINVAL);
	GUEST_ASSERT(set_handler(GP_VECTOR, 0x100000, GUEST_VMM_TOP + 0x1000) == -GUEST_EINVAL);
	GUEST_ASSERT(__guest_set_exception_handler(GP_VECTOR, gp_handler, stack) == 0);
	/* Every CR3 load is refused in flat mode: the native one is a #GP. */
	rip = native_load_cr3(GUEST_CR3_IDENTITY);
	expect_gp_at(rip, 1);
	GUEST_ASSERT(read_cr3() == GUEST_CR3_IDENTITY);

	tlb_page[0] = 1;
	GUEST_SYNC2(1, tlb_page); /* the page is in the TLB */
	tlb_page[0] = 2;
	GUEST_ASSERT(guest_flush_tlb() == 0);
	GUEST_SYNC2(2, tlb_page); /* not any more */
	tlb_page[0] = 3;
	GUEST_ASSERT(guest_invlpg((unsigned long)tlb_page) == 0);
	GUEST_SYNC2(3, tlb_page);

	/* Taken back, the #GP stops the guest. */
	GUEST_ASSERT(__guest_set_exception_handler(GP_VECTOR, NULL, 0) == 0);
	native_load_cr3(GUEST_CR3_IDENTITY);
	GUEST_DONE();
}

__attribute__((used, noinline)) void guest_tdp(void)
{
	unsigned long stack = (unsigned long)gp_stack + sizeof(gp_stack), rip;

	GUEST_ASSERT(__guest_set_exception_handler(GP_VECTOR, gp_handler, stack) == 0);
	GUEST_ASSERT(read_cr3() == GUEST_CR3_IDENTITY);
	/* An address bit at or above MAXPHYADDR; bits 11:0 are flags, not an error. */
	GUEST_ASSERT(guest_load_cr3(1UL << 50) == -GUEST_EINVAL);
	GUEST_ASSERT(guest_load_cr3(GUEST_RAM_BASE - 0x1000) == -GUEST_EINVAL);

	tlb_page[0] = 1;
	GUEST_SYNC2(1, tlb_page);
	tlb_page[0] = 2;
	GUEST_ASSERT(guest_load_cr3(GUEST_CR3_IDENTITY) == 0);
	GUEST_SYNC2(2, tlb_page);
	tlb_page[0] = 3;
	native_load_cr3(GUEST_CR3_IDENTITY);
	GUEST_ASSERT(gp_count == 0);
	GUEST_SYNC2(3, tlb_page);
	tlb_page[0] = 4;
	__asm__ volatile("invlpg (%0)" : : "r"(tlb_page) : "memory");
	GUEST_SYNC2(4, tlb_page);

	/* A CR3 the MMU refuses: #GP, CR3 unchanged. */
	rip = native_load_cr3(1UL << 50);
	expect_gp_at(rip, 1);
	GUEST_ASSERT(read_cr3() == GUEST_CR3_IDENTITY);
	GUEST_DONE();
}

/* Each clock's reading, for the host to compare with its own; then an unknown clock. */
__attribute__((used, noinline)) void guest_clock(void)
{
	long mono = (long)hypercall(HC_CLOCK_NS, HC_CLOCK_MONOTONIC, 0);
	long real = (long)hypercall(HC_CLOCK_NS, HC_CLOCK_REALTIME, 0);

	GUEST_SYNC2(mono, real);
	GUEST_ASSERT((long)hypercall(HC_CLOCK_NS, 2, 0) == -GUEST_EINVAL);
	GUEST_ASSERT((long)hypercall(HC_CLOCK_NS, ~0UL, 0) == -GUEST_EINVAL);
	GUEST_DONE();
}

__attribute__((used, noinline)) void guest_not_exec(void)
{
	static char buf[256];

	GUEST_ASSERT((long)hypercall(HC_EXEC_INFO, (unsigned long)buf, sizeof(buf)) ==
		     -GUEST_EOPNOTSUPP);
	GUEST_ASSERT((long)hypercall(HC_HOSTFS, (unsigned long)buf, 0) == -GUEST_EOPNOTSUPP);
	GUEST_ASSERT((long)hypercall(HC_EXEC_FAULT, (unsigned long)buf, 0) == -GUEST_EOPNOTSUPP);
	GUEST_ASSERT((long)hypercall(HC_EXEC_SYSCALLS, (unsigned long)buf, 0) == -GUEST_EOPNOTSUPP);
	GUEST_DONE();
}

__attribute__((used, noinline)) void guest_exec(unsigned int cpu, unsigned int ncpus,
						unsigned long ram_size)
{
	static char buf[4096];
	unsigned long ram_end = GUEST_RAM_BASE + ram_size;
	long size;

	buf[0] = 'x';
	size = (long)hypercall(HC_EXEC_INFO, (unsigned long)buf, 8);
	GUEST_ASSERT(size > 32 && buf[0] == 'x');
	GUEST_ASSERT((long)hypercall(HC_EXEC_INFO, 0x1000, 1UL << 20) == -GUEST_EFAULT);
	GUEST_ASSERT((long)hypercall(HC_EXEC_INFO, ram_end - 8, 1UL << 20) == -GUEST_EFAULT);
	GUEST_ASSERT((long)hypercall(HC_EXEC_INFO, (unsigned long)buf, sizeof(buf)) == size);
	GUEST_ASSERT(((struct exec_info *)buf)->argc == 1);
	GUEST_ASSERT((long)hypercall(HC_HOSTFS, 0, 0) == -GUEST_EFAULT);
	GUEST_ASSERT((long)hypercall(HC_HOSTFS, ram_end - 8, 0) == -GUEST_EFAULT);
	GUEST_ASSERT((long)hypercall(HC_EXEC_FAULT, ram_end, 0) == -GUEST_EFAULT);
	GUEST_ASSERT((long)hypercall(HC_EXEC_SYSCALLS, ram_end - 4096, 0) == -GUEST_EFAULT);
	GUEST_SYNC2(size, buf);
	GUEST_DONE();
}

#else /* the host side */

#include <string.h>
#include <time.h>

#include "tests/lib/vmm_util.h"
#include "vmm/exec.h"

#include "tests/lib/test_util.h"

static bool tlb_holds(struct vmm_vcpu *vcpu, unsigned long gva)
{
	struct kvm_vcpu *kv = vcpu->kvcpu;

	for (int i = 0; i < KVM_TLB_ENTRIES; i++)
		if (kv->tlb[i].valid && kv->tlb[i].gfn == gpa_to_gfn(gva))
			return true;
	return false;
}

/* The next ucall is stage @stage's sync; returns the guest's TLB page. */
static unsigned long expect_sync(struct vmm_vcpu *vcpu, unsigned long stage)
{
	enum vmm_run_exit r = vcpu_run(vcpu);
	struct ucall uc;

	TEST_ASSERT(r == VMM_RUN_UCALL, "stage %lu: run ended with %d (%s)", stage, r,
		    vcpu->vm->stop_message);
	TEST_ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_SYNC);
	TEST_ASSERT_EQ(uc.args[0], stage);
	return uc.args[1];
}

/*
 * Stage 1 leaves the guest's page in the TLB, as the ucall after it does
 * not evict it; every later stage, which makes the same ucall, must find
 * it gone.
 */
static void expect_tlb_stages(struct vmm_vcpu *vcpu, unsigned long stages)
{
	unsigned long page = expect_sync(vcpu, 1);

	TEST_ASSERT(tlb_holds(vcpu, page), "stage 1: the page is in the TLB");
	for (unsigned long stage = 2; stage <= stages; stage++) {
		TEST_ASSERT_EQ(expect_sync(vcpu, stage), page);
		TEST_ASSERT(!tlb_holds(vcpu, page), "stage %lu: the page is still in the TLB",
			    stage);
	}
}

TEST(flat_mode)
{
	struct vmm_vcpu *vcpu;
	struct vmm *vm = __vm_create_with_one_vcpu_mmu(NOPIN_TEST_GUEST_ELF, &vcpu, "guest_flat",
						       16UL << 20, 32UL << 20, KVM_MMU_FLAT);

	TEST_ASSERT_EQ(vm->kvm->mmu_mode, KVM_MMU_FLAT);
	expect_tlb_stages(vcpu, 3);
	TEST_ASSERT_EQ(vcpu_run(vcpu), VMM_RUN_STOPPED);
	TEST_ASSERT(strstr(vm->stop_message,
			   "#GP (general protection, vector 13, error code 0) at rip 0x") &&
			    strstr(vm->stop_message, "mov cr3, rax: CR3 0xffffffffffffffff refused "
						     "(Operation not supported)"),
		    "the vector, rip and instruction: %s", vm->stop_message);
	vmm_destroy(vm);
}

static long host_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/*
 * Each reading lies between the host's readings of the same clock before
 * and after the run: the realtime one is the wall clock (since the epoch),
 * not the monotonic one, which counts from boot.
 */
TEST(clock_ns_reads_the_clock_asked_for)
{
	struct vmm_vcpu *vcpu;
	struct vmm *vm = vm_create_with_one_vcpu(&vcpu, guest_clock);
	long mono0 = host_ns(CLOCK_MONOTONIC), real0 = host_ns(CLOCK_REALTIME);
	struct ucall uc;

	TEST_ASSERT_EQ(vcpu_run(vcpu), VMM_RUN_UCALL);
	TEST_ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_SYNC);
	TEST_ASSERT((long)uc.args[0] >= mono0 && (long)uc.args[0] <= host_ns(CLOCK_MONOTONIC),
		    "monotonic %ld not between the host's readings", (long)uc.args[0]);
	TEST_ASSERT((long)uc.args[1] >= real0 && (long)uc.args[1] <= host_ns(CLOCK_REALTIME),
		    "realtime %ld not between the host's readings", (long)uc.args[1]);
	TEST_ASSERT_EQ(vcpu_run(vcpu), VMM_RUN_UCALL);
	TEST_ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_DONE);
	vmm_destroy(vm);
}

TEST(exec_calls_need_nopin_exec)
{
	struct vmm_vcpu *vcpu;
	struct vmm *vm = vm_create_with_one_vcpu(&vcpu, guest_not_exec);
	struct ucall uc;

	TEST_ASSERT_EQ(vcpu_run(vcpu), VMM_RUN_UCALL);
	TEST_ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_DONE);
	vmm_destroy(vm);
}

/* The exec info written is the program's path, as argv[0] and as the path. */
TEST(exec_calls_refuse_what_is_not_ram)
{
	static char program[] = NOPIN_TEST_GUEST_ELF;
	char *argv[] = { program };
	struct vmm_exec_config exec = {
		.program = NOPIN_TEST_GUEST_ELF, .argc = 1, .argv = argv, .root = "/"
	};
	char want[4096], got[4096];
	struct vmm_config cfg;
	struct vmm_vcpu *vcpu;
	struct vmm *vm;
	struct ucall uc;
	size_t n = strlen(NOPIN_TEST_GUEST_ELF) + 1;

	guest_config(&cfg, "hello");
	cfg.image = NOPIN_TEST_GUEST_ELF;
	cfg.mem_bytes = 16UL << 20;
	cfg.exec = &exec;
	vm = __vm_create_with_one_vcpu_cfg(&cfg, &vcpu, "guest_exec");
	TEST_ASSERT_EQ(vcpu_run(vcpu), VMM_RUN_UCALL);
	TEST_ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_SYNC);
	TEST_ASSERT_EQ(uc.args[0], sizeof(struct exec_info) + 2 * n);
	TEST_ASSERT_EQ(vmm_read_guest(vm, uc.args[1], got, uc.args[0]), 0);
	memset(want, 0, sizeof(want));
	((struct exec_info *)want)->argc = 1;
	((struct exec_info *)want)->program_size = vm->exec->program_size;
	((struct exec_info *)want)->strings_len = 2 * n;
	memcpy(want + sizeof(struct exec_info), NOPIN_TEST_GUEST_ELF, n);
	memcpy(want + sizeof(struct exec_info) + n, NOPIN_TEST_GUEST_ELF, n);
	TEST_ASSERT(!memcmp(got, want, uc.args[0]), "the exec info");
	TEST_ASSERT_EQ(vcpu_run(vcpu), VMM_RUN_UCALL);
	TEST_ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_DONE);
	vmm_destroy(vm);
}

TEST(tdp_mode)
{
	struct vmm_vcpu *vcpu;
	struct vmm *vm = __vm_create_with_one_vcpu_mmu(NOPIN_TEST_GUEST_ELF, &vcpu, "guest_tdp",
						       16UL << 20, 32UL << 20, KVM_MMU_TDP);
	struct ucall uc;

	expect_tlb_stages(vcpu, 4);
	TEST_ASSERT_EQ(vcpu->kvcpu->cr3, KVM_CR3_IDENTITY);
	TEST_ASSERT_EQ(vcpu_run(vcpu), VMM_RUN_UCALL);
	TEST_ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_DONE);
	vmm_destroy(vm);
}

#endif
