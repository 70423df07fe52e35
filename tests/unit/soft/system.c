// SPDX-License-Identifier: GPL-2.0
/*
 * The system state of the soft vCPU, on flat memory: each transition
 * between CPL 0 and CPL 3 to the register (sysret, syscall, an exception
 * from CPL 3 and the iretq back), swapgs, the MSRs and their #GPs, the
 * privileged instructions at CPL 3, the FS and GS bases and the segment
 * overrides that add them.
 *
 * The memory is flat RAM in which only a few pages are user pages: the
 * test's translate callback refuses an access at CPL 3 to any other with
 * the #PF a guest's tables would give (P and U, W for a write, I/D for a
 * fetch), as the VMM's does through the guest walk, so an exception frame
 * pushed at CPL 3 would be a double fault.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/lib/test_util.h"
#include "vmm/soft/soft_cpu.h"

#define RAM_BASE 0x100000UL
#define RAM_SIZE 0x10000UL

#define CODE (RAM_BASE + 0x0000)    /* CPL 0's code */
#define USER (RAM_BASE + 0x1000)    /* user page: CPL 3's code */
#define HANDLER (RAM_BASE + 0x2000) /* handlers, 0x100 apart */
#define UDATA (RAM_BASE + 0x3000)   /* user page */
#define KDATA (RAM_BASE + 0x4000)
#define USTACK (RAM_BASE + 0x5800) /* in a user page */
#define GP_STACK (RAM_BASE + 0x7000)
#define UD_STACK (RAM_BASE + 0x8000)
#define PF_STACK (RAM_BASE + 0x9000)
#define KSTACK (RAM_BASE + 0xa000)

#define GP_HANDLER (HANDLER + 0x000)
#define UD_HANDLER (HANDLER + 0x100)
#define PF_HANDLER (HANDLER + 0x200)

#define NONCANONICAL 0x8000000000000000UL
#define USER_PAGES ((1u << 1) | (1u << 3) | (1u << 5))

struct ram {
	uint8_t bytes[RAM_SIZE];
	struct soft_cpu *cpu;
	uint16_t ports; /* outs seen */
};

static enum soft_xlate_ret ram_translate(void *opaque, uint64_t gva, unsigned int len,
					 enum soft_access access, uint64_t rip,
					 struct soft_xlate *out)
{
	struct ram *r = opaque;
	unsigned int page = (gva - RAM_BASE) >> 12;

	if (gva < RAM_BASE || gva + len > RAM_BASE + RAM_SIZE)
		return SOFT_XLATE_OUTSIDE;
	if (soft_cpu_cpl(r->cpu) && !(USER_PAGES & (1u << page))) {
		out->error_code = PFERR_PRESENT_MASK | PFERR_USER_MASK |
				  (access == SOFT_ACCESS_WRITE ? PFERR_WRITE_MASK : 0) |
				  (access == SOFT_ACCESS_FETCH ? PFERR_FETCH_MASK : 0);
		return SOFT_XLATE_PAGE_FAULT;
	}
	out->gpa = gva;
	out->hva = r->bytes + (gva - RAM_BASE);
	return SOFT_XLATE_OK;
}

static int ram_pio(void *opaque, uint16_t port, unsigned int size, bool in, uint32_t *val)
{
	struct ram *r = opaque;

	r->ports++;
	return 0;
}

static int ram_load_cr3(void *opaque, uint64_t cr3)
{
	return 0;
}

static void ram_invlpg(void *opaque, uint64_t gva)
{
}

static const struct soft_mem_ops ram_ops = {
	.translate = ram_translate,
	.pio = ram_pio,
	.load_cr3 = ram_load_cr3,
	.invlpg = ram_invlpg,
};

#define BYTES(...) ((const uint8_t[]){ __VA_ARGS__ }), sizeof((const uint8_t[]){ __VA_ARGS__ })

static void put(struct ram *r, uint64_t gva, const void *code, size_t len)
{
	memcpy(r->bytes + (gva - RAM_BASE), code, len);
}

static uint64_t peek(struct ram *r, uint64_t gva)
{
	uint64_t v;

	memcpy(&v, r->bytes + (gva - RAM_BASE), 8);
	return v;
}

static void poke(struct ram *r, uint64_t gva, uint64_t v)
{
	memcpy(r->bytes + (gva - RAM_BASE), &v, 8);
}

/* A vCPU at CPL 0 at CODE, with syscall enabled and STAR the ABI's. */
static struct ram *ram_new(struct soft_cpu *cpu)
{
	struct ram *r = calloc(1, sizeof(*r));

	TEST_ASSERT(r, "calloc");
	TEST_ASSERT_EQ(soft_cpu_init(cpu, &ram_ops, r), 0);
	r->cpu = cpu;
	cpu->rip = CODE;
	cpu->gpr[SOFT_RSP] = KSTACK;
	cpu->sys.efer |= SOFT_EFER_SCE;
	cpu->sys.star = SOFT_STAR_ABI;
	return r;
}

static void ram_free(struct soft_cpu *cpu, struct ram *r)
{
	soft_cpu_destroy(cpu);
	free(r);
}

/* The vCPU at CPL 3, at USER, as a sysret would leave it. */
static void enter_user(struct soft_cpu *cpu)
{
	cpu->sys.cs = SOFT_SEL_USER_CODE;
	cpu->sys.ss = SOFT_SEL_USER_DATA;
	cpu->rip = USER;
	cpu->gpr[SOFT_RSP] = USTACK;
}

/* Handlers that stop on hlt, so the test looks at the frame, for each vector. */
static void set_handlers(struct soft_cpu *cpu, struct ram *r)
{
	static const uint8_t hlt = 0xf4;

	put(r, GP_HANDLER, &hlt, 1);
	put(r, UD_HANDLER, &hlt, 1);
	put(r, PF_HANDLER, &hlt, 1);
	TEST_ASSERT_EQ(soft_cpu_set_exception_handler(cpu, SOFT_VEC_GP, GP_HANDLER, GP_STACK), 0);
	TEST_ASSERT_EQ(soft_cpu_set_exception_handler(cpu, SOFT_VEC_UD, UD_HANDLER, UD_STACK), 0);
	TEST_ASSERT_EQ(soft_cpu_set_exception_handler(cpu, SOFT_VEC_PF, PF_HANDLER, PF_STACK), 0);
}

#define run_to(cpu, n, want)                                                                       \
	do {                                                                                       \
		enum soft_exit_reason __r = soft_cpu_run(cpu, n);                                  \
                                                                                                   \
		TEST_ASSERT(__r == (want), "run ended with %d, not %s: %s", __r, #want,            \
			    (cpu)->exit.message);                                                  \
	} while (0)

/*
 * The handler of @vector was entered at CPL 0 from the instruction at @rip,
 * and stopped on its hlt: the frame (SS, RSP, RFLAGS, CS, RIP, error code)
 * holds @cs and @ss as they were.
 */
static void expect_delivery(struct soft_cpu *cpu, struct ram *r, uint64_t stack, uint64_t handler,
			    uint64_t rip, uint16_t cs, uint16_t ss, uint64_t rsp, int64_t error)
{
	TEST_ASSERT(cpu->exit.reason == SOFT_EXIT_HLT && cpu->rip == handler + 1,
		    "not in the handler at %#lx: rip %#lx, %s", (unsigned long)handler,
		    (unsigned long)cpu->rip, cpu->exit.message);
	TEST_ASSERT_EQ(soft_cpu_cpl(cpu), 0u);
	TEST_ASSERT_EQ(cpu->sys.cs, SOFT_SEL_CODE);
	TEST_ASSERT_EQ(peek(r, stack - 8), (uint64_t)ss);
	TEST_ASSERT_EQ(peek(r, stack - 16), rsp);
	TEST_ASSERT_EQ(peek(r, stack - 32), (uint64_t)cs);
	TEST_ASSERT_EQ(peek(r, stack - 40), rip);
	if (error >= 0)
		TEST_ASSERT_EQ(peek(r, stack - 48), (uint64_t)error);
}

TEST(sysret_enters_cpl3_with_the_flags_of_r11)
{
	struct soft_cpu cpu;
	struct ram *r = ram_new(&cpu);

	put(r, CODE, BYTES(0x48, 0x0f, 0x07)); /* sysretq */
	put(r, USER, BYTES(0x90));	       /* nop */
	cpu.gpr[SOFT_RCX] = USER;
	cpu.gpr[SOFT_R11] = ~0UL; /* every flag: RF, VM and the reserved bits do not load */
	run_to(&cpu, 1, SOFT_EXIT_LIMIT);
	TEST_ASSERT_EQ(cpu.rip, USER);
	TEST_ASSERT_EQ(cpu.sys.cs, 0x2b);
	TEST_ASSERT_EQ(cpu.sys.ss, 0x23);
	TEST_ASSERT_EQ(soft_cpu_cpl(&cpu), 3u);
	TEST_ASSERT_EQ(soft_cpu_get_rflags(&cpu), 0x3c7fd7UL);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RSP], KSTACK); /* the kernel's to switch, not sysret's */

	/* STAR[63:48] with RPL bits: CS and SS get RPL 3 whatever they say. */
	cpu.sys.cs = SOFT_SEL_CODE;
	cpu.rip = CODE;
	cpu.sys.star = (uint64_t)0x18 << 48 | (uint64_t)0x08 << 32;
	cpu.gpr[SOFT_R11] = 0x202;
	run_to(&cpu, 1, SOFT_EXIT_LIMIT);
	TEST_ASSERT_EQ(cpu.sys.cs, 0x2b);
	TEST_ASSERT_EQ(cpu.sys.ss, 0x23);
	TEST_ASSERT_EQ(soft_cpu_get_rflags(&cpu), 0x202UL);
	ram_free(&cpu, r);
}

TEST(syscall_saves_rip_and_rflags_and_masks_with_fmask)
{
	struct soft_cpu cpu;
	struct ram *r = ram_new(&cpu);
	uint64_t rflags = X86_IF | X86_DF | X86_CF | X86_AF | 0x2;

	put(r, USER, BYTES(0x0f, 0x05)); /* syscall */
	put(r, HANDLER, BYTES(0xf4));
	cpu.sys.lstar = HANDLER;
	cpu.sys.fmask = X86_IF | X86_DF | X86_TF | 0xffff0000UL; /* the bits that clear */
	enter_user(&cpu);
	soft_cpu_set_rflags(&cpu, rflags);
	run_to(&cpu, 0, SOFT_EXIT_HLT);
	TEST_ASSERT_EQ(cpu.rip, HANDLER + 1);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RCX], USER + 2);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_R11], rflags);
	TEST_ASSERT_EQ(soft_cpu_get_rflags(&cpu), X86_CF | X86_AF | 0x2);
	TEST_ASSERT_EQ(cpu.sys.cs, SOFT_SEL_CODE);
	TEST_ASSERT_EQ(cpu.sys.ss, SOFT_SEL_DATA);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RSP], USTACK); /* no stack switch */

	/* STAR[47:32]'s RPL bits: CS drops them, SS is 8 above it as written. */
	cpu.sys.star = (uint64_t)0x0b << 32;
	enter_user(&cpu);
	run_to(&cpu, 0, SOFT_EXIT_HLT);
	TEST_ASSERT_EQ(cpu.sys.cs, 0x08);
	TEST_ASSERT_EQ(cpu.sys.ss, 0x13);
	ram_free(&cpu, r);
}

TEST(syscall_and_sysret_need_efer_sce_and_sysret_cpl0)
{
	struct soft_cpu cpu;
	struct ram *r = ram_new(&cpu);

	set_handlers(&cpu, r);
	put(r, CODE, BYTES(0x0f, 0x05, 0x48, 0x0f, 0x07)); /* syscall; sysretq */
	cpu.sys.efer &= ~(uint64_t)SOFT_EFER_SCE;
	run_to(&cpu, 0, SOFT_EXIT_HLT);
	expect_delivery(&cpu, r, UD_STACK, UD_HANDLER, CODE, 0x08, 0x10, KSTACK, -1);

	cpu.sys.cs = SOFT_SEL_CODE;
	cpu.rip = CODE + 2;
	cpu.gpr[SOFT_RSP] = KSTACK;
	run_to(&cpu, 0, SOFT_EXIT_HLT);
	expect_delivery(&cpu, r, UD_STACK, UD_HANDLER, CODE + 2, 0x08, 0x10, KSTACK, -1);

	/* sysret at CPL 3: #GP(0) */
	cpu.sys.efer |= SOFT_EFER_SCE;
	put(r, USER, BYTES(0x48, 0x0f, 0x07));
	enter_user(&cpu);
	run_to(&cpu, 0, SOFT_EXIT_HLT);
	expect_delivery(&cpu, r, GP_STACK, GP_HANDLER, USER, 0x2b, 0x23, USTACK, 0);

	/* sysret to a non-canonical rcx: #GP(0) at CPL 0, nothing changed */
	cpu.sys.cs = SOFT_SEL_CODE;
	cpu.sys.ss = SOFT_SEL_DATA;
	cpu.rip = CODE + 2;
	cpu.gpr[SOFT_RSP] = KSTACK;
	cpu.gpr[SOFT_RCX] = NONCANONICAL;
	cpu.gpr[SOFT_R11] = 0x202;
	run_to(&cpu, 0, SOFT_EXIT_HLT);
	expect_delivery(&cpu, r, GP_STACK, GP_HANDLER, CODE + 2, 0x08, 0x10, KSTACK, 0);
	TEST_ASSERT_EQ(peek(r, GP_STACK - 24), X86_RF | 0x2);
	ram_free(&cpu, r);
}

TEST(swapgs_trades_the_gs_bases_and_is_gp_at_cpl3)
{
	struct soft_cpu cpu;
	struct ram *r = ram_new(&cpu);

	set_handlers(&cpu, r);
	put(r, CODE, BYTES(0x0f, 0x01, 0xf8, 0x0f, 0x01, 0xf8)); /* swapgs; swapgs */
	put(r, USER, BYTES(0x0f, 0x01, 0xf8));
	cpu.sys.gs_base = 0x1111;
	cpu.sys.kernel_gs_base = 0x2222;
	run_to(&cpu, 1, SOFT_EXIT_LIMIT);
	TEST_ASSERT_EQ(cpu.sys.gs_base, 0x2222UL);
	TEST_ASSERT_EQ(cpu.sys.kernel_gs_base, 0x1111UL);
	run_to(&cpu, 1, SOFT_EXIT_LIMIT);
	TEST_ASSERT_EQ(cpu.sys.gs_base, 0x1111UL);

	enter_user(&cpu);
	run_to(&cpu, 0, SOFT_EXIT_HLT);
	expect_delivery(&cpu, r, GP_STACK, GP_HANDLER, USER, 0x2b, 0x23, USTACK, 0);
	TEST_ASSERT_EQ(cpu.sys.gs_base, 0x1111UL);
	ram_free(&cpu, r);
}

/* rdmsr (or wrmsr of edx:eax) of @msr at CODE: the vector it raised, or -1. */
static int msr_op(struct soft_cpu *cpu, struct ram *r, bool write, uint32_t msr, uint64_t val)
{
	if (write)
		put(r, CODE, BYTES(0x0f, 0x30, 0x90));
	else
		put(r, CODE, BYTES(0x0f, 0x32, 0x90));
	soft_cpu_invalidate_page(cpu, CODE);
	cpu->rip = CODE;
	cpu->gpr[SOFT_RSP] = KSTACK;
	cpu->sys.cs = SOFT_SEL_CODE;
	cpu->gpr[SOFT_RCX] = msr | 0xdead00000000UL; /* rcx[63:32] is ignored */
	cpu->gpr[SOFT_RAX] = (uint32_t)val | 0xbeef00000000UL;
	cpu->gpr[SOFT_RDX] = val >> 32;
	cpu->stats.exceptions = 0;
	run_to(cpu, 1, SOFT_EXIT_LIMIT);
	if (cpu->stats.exceptions)
		return cpu->rip == GP_HANDLER ? SOFT_VEC_GP : 99;
	TEST_ASSERT_EQ(cpu->rip, CODE + 2);
	return -1;
}

TEST(rdmsr_and_wrmsr_of_the_msrs_that_exist)
{
	static const uint32_t msrs[] = {
		SOFT_MSR_STAR,	  SOFT_MSR_LSTAR,   SOFT_MSR_CSTAR,
		SOFT_MSR_FS_BASE, SOFT_MSR_GS_BASE, SOFT_MSR_KERNEL_GS_BASE
	};
	struct soft_cpu cpu;
	struct ram *r = ram_new(&cpu);

	set_handlers(&cpu, r);
	for (unsigned int i = 0; i < ARRAY_SIZE(msrs); i++) {
		uint64_t v = 0xffff800000001000UL + i;

		TEST_ASSERT_EQ(msr_op(&cpu, r, true, msrs[i], v), -1);
		cpu.gpr[SOFT_RAX] = cpu.gpr[SOFT_RDX] = ~0UL;
		TEST_ASSERT_EQ(msr_op(&cpu, r, false, msrs[i], 0), -1);
		TEST_ASSERT_EQ(cpu.gpr[SOFT_RAX], v & 0xffffffff);
		TEST_ASSERT_EQ(cpu.gpr[SOFT_RDX], v >> 32);
	}
	TEST_ASSERT_EQ(cpu.sys.fs_base, 0xffff800000001003UL);
	TEST_ASSERT_EQ(cpu.sys.kernel_gs_base, 0xffff800000001005UL);
	TEST_ASSERT_EQ(msr_op(&cpu, r, true, SOFT_MSR_FMASK, 0x47700), -1);
	TEST_ASSERT_EQ(cpu.sys.fmask, 0x47700UL);

	/* EFER: LME, LMA and NXE, and SCE as the guest sets it; nothing else changes. */
	TEST_ASSERT_EQ(msr_op(&cpu, r, false, SOFT_MSR_EFER, 0), -1);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RAX], 0xd01UL);
	TEST_ASSERT_EQ(msr_op(&cpu, r, true, SOFT_MSR_EFER, 0xd00), -1);
	TEST_ASSERT_EQ(cpu.sys.efer, 0xd00UL);
	TEST_ASSERT_EQ(msr_op(&cpu, r, true, SOFT_MSR_EFER, 0x501), SOFT_VEC_GP); /* LME off */
	TEST_ASSERT_EQ(msr_op(&cpu, r, true, SOFT_MSR_EFER, 0x1d01), SOFT_VEC_GP);
	TEST_ASSERT_EQ(cpu.sys.efer, 0xd00UL);

	/* No such MSR; an address that is not canonical; FMASK's reserved half. */
	TEST_ASSERT_EQ(msr_op(&cpu, r, false, 0x10, 0), SOFT_VEC_GP);
	TEST_ASSERT_EQ(msr_op(&cpu, r, true, 0xc0000103, 0), SOFT_VEC_GP);
	TEST_ASSERT_EQ(msr_op(&cpu, r, true, SOFT_MSR_LSTAR, NONCANONICAL), SOFT_VEC_GP);
	TEST_ASSERT_EQ(msr_op(&cpu, r, true, SOFT_MSR_GS_BASE, 0x0000800000000000UL), SOFT_VEC_GP);
	TEST_ASSERT_EQ(msr_op(&cpu, r, true, SOFT_MSR_FMASK, 1UL << 32), SOFT_VEC_GP);
	TEST_ASSERT_EQ(cpu.sys.lstar, 0xffff800000001001UL);
	TEST_ASSERT_EQ(peek(r, GP_STACK - 48), 0UL);

	/* Without a handler the guest stops, naming the MSR. */
	TEST_ASSERT_EQ(soft_cpu_set_exception_handler(&cpu, SOFT_VEC_GP, 0, 0), 0);
	cpu.rip = CODE;
	cpu.gpr[SOFT_RCX] = 0x1b;
	run_to(&cpu, 0, SOFT_EXIT_ERROR);
	TEST_ASSERT_EQ(cpu.exit.error, SOFT_ERR_EXCEPTION);
	TEST_ASSERT(strstr(cpu.exit.message, "MSR 0x1b is not there"), "%s", cpu.exit.message);
	ram_free(&cpu, r);
}

TEST(privileged_instructions_at_cpl3_are_gp)
{
	static const struct {
		uint8_t bytes[4];
		const char *name;
	} insns[] = {
		{ { 0xf4 }, "hlt" },
		{ { 0x0f, 0x32 }, "rdmsr" },
		{ { 0x0f, 0x30 }, "wrmsr" },
		{ { 0x0f, 0x20, 0xd8 }, "mov rax, cr3" },
		{ { 0x0f, 0x22, 0xd8 }, "mov cr3, rax" },
		{ { 0x0f, 0x20, 0xd0 }, "mov rax, cr2" },
		{ { 0x0f, 0x22, 0xd0 }, "mov cr2, rax" },
		{ { 0x0f, 0x01, 0x38 }, "invlpg" },
		{ { 0xe4, 0x80 }, "in" },
		{ { 0xe6, 0x80 }, "out" },
		{ { 0xfa }, "cli" },
		{ { 0xfb }, "sti" },
	};
	struct soft_cpu cpu;
	struct ram *r = ram_new(&cpu);

	set_handlers(&cpu, r);
	for (unsigned int i = 0; i < ARRAY_SIZE(insns); i++) {
		put(r, USER, insns[i].bytes, 4);
		soft_cpu_invalidate_page(&cpu, USER);
		enter_user(&cpu);
		cpu.gpr[SOFT_RAX] = UDATA;
		cpu.gpr[SOFT_RCX] = SOFT_MSR_LSTAR;
		cpu.cr2 = 0x1234;
		cpu.sys.lstar = 0;
		soft_cpu_set_rflags(&cpu, X86_IF | 0x2);
		run_to(&cpu, 0, SOFT_EXIT_HLT);
		TEST_ASSERT(cpu.rip == GP_HANDLER + 1, "%s at CPL 3: rip %#lx", insns[i].name,
			    (unsigned long)cpu.rip);
		expect_delivery(&cpu, r, GP_STACK, GP_HANDLER, USER, 0x2b, 0x23, USTACK, 0);
		TEST_ASSERT(cpu.cr2 == 0x1234 && cpu.sys.lstar == 0 && r->ports == 0,
			    "%s changed something", insns[i].name);
		TEST_ASSERT_EQ(peek(r, GP_STACK - 24), X86_RF | X86_IF | 0x2);
	}

	/* With IOPL 3, in, out, cli and sti are the user's. */
	put(r, USER, BYTES(0xe6, 0x80, 0xfa, 0xfb, 0xe4, 0x80));
	soft_cpu_invalidate_page(&cpu, USER);
	enter_user(&cpu);
	soft_cpu_set_rflags(&cpu, (3UL << 12) | X86_IF | 0x2);
	run_to(&cpu, 2, SOFT_EXIT_LIMIT);
	TEST_ASSERT_EQ(r->ports, 1);
	TEST_ASSERT_EQ(soft_cpu_get_rflags(&cpu) & X86_IF, 0UL);
	run_to(&cpu, 2, SOFT_EXIT_LIMIT);
	TEST_ASSERT_EQ(r->ports, 2);
	TEST_ASSERT_EQ(soft_cpu_get_rflags(&cpu) & X86_IF, X86_IF);
	ram_free(&cpu, r);
}

TEST(an_exception_at_cpl3_enters_cpl0_and_iretq_returns)
{
	struct soft_cpu cpu;
	struct ram *r = ram_new(&cpu);

	set_handlers(&cpu, r);
	/* 0: mov rax, [UDATA]; 8: mov rax, [KDATA]; 16: mov qword [KDATA], 1; 28: nop */
	put(r, USER,
	    BYTES(0x48, 0x8b, 0x04, 0x25, 0x00, 0x30, 0x10, 0x00, 0x48, 0x8b, 0x04, 0x25, 0x00,
		  0x40, 0x10, 0x00, 0x48, 0xc7, 0x04, 0x25, 0x00, 0x40, 0x10, 0x00, 0x01, 0x00,
		  0x00, 0x00, 0x90));
	/* The #PF handler: hlt; add rsp, 8; add qword [rsp], 8; iretq */
	put(r, PF_HANDLER,
	    BYTES(0xf4, 0x48, 0x83, 0xc4, 0x08, 0x48, 0x83, 0x04, 0x24, 0x08, 0x48, 0xcf));
	enter_user(&cpu);
	soft_cpu_set_rflags(&cpu, X86_IF | X86_CF | 0x2);

	/* A read of a supervisor page: #PF with P and U, on the handler's stack at CPL 0. */
	run_to(&cpu, 0, SOFT_EXIT_HLT);
	expect_delivery(&cpu, r, PF_STACK, PF_HANDLER, USER + 8, 0x2b, 0x23, USTACK,
			PFERR_PRESENT_MASK | PFERR_USER_MASK);
	TEST_ASSERT_EQ(cpu.cr2, KDATA);
	TEST_ASSERT_EQ(cpu.sys.ss, 0); /* a change of privilege loads a null SS */
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RSP], PF_STACK - 48);
	TEST_ASSERT_EQ(soft_cpu_get_rflags(&cpu), X86_CF | 0x2);

	/* iretq back to CPL 3, past the read, with the user's stack and flags. */
	run_to(&cpu, 3, SOFT_EXIT_LIMIT);
	TEST_ASSERT_EQ(cpu.rip, USER + 16);
	TEST_ASSERT_EQ(cpu.sys.cs, 0x2b);
	TEST_ASSERT_EQ(cpu.sys.ss, 0x23);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RSP], USTACK);
	TEST_ASSERT_EQ(soft_cpu_get_rflags(&cpu), X86_IF | X86_CF | 0x2);

	/* A write: W too; and a fetch of a supervisor page: I/D. */
	run_to(&cpu, 0, SOFT_EXIT_HLT);
	expect_delivery(&cpu, r, PF_STACK, PF_HANDLER, USER + 16, 0x2b, 0x23, USTACK,
			PFERR_PRESENT_MASK | PFERR_USER_MASK | PFERR_WRITE_MASK);
	TEST_ASSERT_EQ(peek(r, KDATA), 0UL);
	cpu.rip = PF_HANDLER + 1;
	poke(r, PF_STACK - 40, CODE); /* "return" to CPL 3 at a supervisor page */
	run_to(&cpu, 0, SOFT_EXIT_HLT);
	expect_delivery(&cpu, r, PF_STACK, PF_HANDLER, CODE + 8, 0x2b, 0x23, USTACK,
			PFERR_PRESENT_MASK | PFERR_USER_MASK | PFERR_FETCH_MASK);
	ram_free(&cpu, r);
}

TEST(iretq_to_cpl3_checks_its_selectors)
{
	static const struct {
		uint64_t cs, ss;
		uint32_t error_code;
	} bad[] = {
		{ 0x2b, 0x10, 0x10 }, /* ring 0's SS for ring 3's CS */
		{ 0x2b, 0x00, 0x00 }, /* a null SS at CPL 3 */
		{ 0x2b, 0x20, 0x20 }, /* the user data segment at RPL 0 */
		{ 0x28, 0x23, 0x28 }, /* the user code segment at RPL 0 */
		{ 0x1b, 0x23, 0x18 }, /* the 32-bit one */
		{ 0x0b, 0x13, 0x08 }, /* ring 0's code at RPL 3 */
	};
	struct soft_cpu cpu;
	struct ram *r = ram_new(&cpu);

	set_handlers(&cpu, r);
	put(r, CODE, BYTES(0x48, 0xcf));
	put(r, USER, BYTES(0x48, 0xcf));
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		cpu.rip = CODE;
		cpu.sys.cs = SOFT_SEL_CODE;
		cpu.gpr[SOFT_RSP] = KSTACK - 40;
		poke(r, KSTACK - 40, USER);
		poke(r, KSTACK - 32, bad[i].cs);
		poke(r, KSTACK - 24, 0x2);
		poke(r, KSTACK - 16, USTACK);
		poke(r, KSTACK - 8, bad[i].ss);
		run_to(&cpu, 0, SOFT_EXIT_HLT);
		TEST_ASSERT(cpu.rip == GP_HANDLER + 1 &&
				    peek(r, GP_STACK - 48) == bad[i].error_code,
			    "frame %u: rip %#lx, error code %#lx", i, (unsigned long)cpu.rip,
			    (unsigned long)peek(r, GP_STACK - 48));
		TEST_ASSERT_EQ(peek(r, GP_STACK - 40), CODE);
	}

	/* At CPL 3: back to CPL 0 is #GP(its CS); IOPL and IF stay the user's (IOPL 0). */
	enter_user(&cpu);
	soft_cpu_set_rflags(&cpu, X86_IF | 0x2);
	cpu.gpr[SOFT_RSP] = UDATA;
	poke(r, UDATA, USER);
	poke(r, UDATA + 8, SOFT_SEL_CODE);
	poke(r, UDATA + 16, 0x2);
	poke(r, UDATA + 24, USTACK);
	poke(r, UDATA + 32, SOFT_SEL_DATA);
	run_to(&cpu, 0, SOFT_EXIT_HLT);
	expect_delivery(&cpu, r, GP_STACK, GP_HANDLER, USER, 0x2b, 0x23, UDATA, 0x08);

	enter_user(&cpu);
	soft_cpu_set_rflags(&cpu, X86_IF | 0x2);
	cpu.gpr[SOFT_RSP] = UDATA;
	poke(r, UDATA + 8, SOFT_SEL_USER_CODE);
	poke(r, UDATA + 16, (3UL << 12) | X86_CF | 0x2);
	poke(r, UDATA + 32, SOFT_SEL_USER_DATA);
	run_to(&cpu, 1, SOFT_EXIT_LIMIT);
	TEST_ASSERT_EQ(cpu.rip, USER);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RSP], USTACK);
	TEST_ASSERT_EQ(soft_cpu_get_rflags(&cpu), X86_IF | X86_CF | 0x2);

	/* From CPL 0, iretq sets IOPL and IF for CPL 3. */
	cpu.rip = CODE;
	cpu.sys.cs = SOFT_SEL_CODE;
	cpu.gpr[SOFT_RSP] = KSTACK - 40;
	poke(r, KSTACK - 32, SOFT_SEL_USER_CODE);
	poke(r, KSTACK - 24, (3UL << 12) | 0x2);
	poke(r, KSTACK - 8, SOFT_SEL_USER_DATA);
	run_to(&cpu, 1, SOFT_EXIT_LIMIT);
	TEST_ASSERT_EQ(soft_cpu_get_rflags(&cpu), (3UL << 12) | 0x2);
	TEST_ASSERT_EQ(soft_cpu_cpl(&cpu), 3u);
	ram_free(&cpu, r);
}

TEST(fs_and_gs_bases_and_the_overrides_that_add_them)
{
	struct soft_cpu cpu;
	struct ram *r = ram_new(&cpu);

	set_handlers(&cpu, r);
	/*
	 * 0: wrfsbase rbx;  5: rdfsbase rax;  10: wrgsbase rdx;  15: rdgsbase ecx
	 * 19: mov rax, fs:[0x28];  28: mov gs:[rbx], rax;  32: lea rax, fs:[rbx + 8]
	 * 37: movsq es:[rdi], fs:[rsi];  40: mov rsi, [rbx] (no override)
	 */
	put(r, USER,
	    BYTES(0xf3, 0x48, 0x0f, 0xae, 0xd3, 0xf3, 0x48, 0x0f, 0xae, 0xc0, 0xf3, 0x48, 0x0f,
		  0xae, 0xda, 0xf3, 0x0f, 0xae, 0xc9, 0x64, 0x48, 0x8b, 0x04, 0x25, 0x28, 0x00,
		  0x00, 0x00, 0x65, 0x48, 0x89, 0x03, 0x64, 0x48, 0x8d, 0x43, 0x08, 0x64, 0x48,
		  0xa5, 0x48, 0x8b, 0x33));
	enter_user(&cpu); /* at CPL 3: CR4.FSGSBASE is set */
	cpu.gpr[SOFT_RBX] = UDATA + 0x100;
	cpu.gpr[SOFT_RDX] = 0xffff888812345678UL;
	run_to(&cpu, 4, SOFT_EXIT_LIMIT);
	TEST_ASSERT_EQ(cpu.sys.fs_base, UDATA + 0x100);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RAX], UDATA + 0x100);
	TEST_ASSERT_EQ(cpu.sys.gs_base, 0xffff888812345678UL);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RCX], 0x12345678UL); /* the 32-bit form zero-extends */

	poke(r, UDATA + 0x128, 0xabcdef);
	cpu.sys.gs_base = 0x800;
	cpu.gpr[SOFT_RSI] = 0x10;
	cpu.gpr[SOFT_RDI] = UDATA + 0x200;
	poke(r, UDATA + 0x110, 0x5151);
	run_to(&cpu, 4, SOFT_EXIT_LIMIT);
	TEST_ASSERT_EQ(peek(r, UDATA + 0x900), 0xabcdefUL); /* gs:[rbx] */
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RAX], UDATA + 0x108);   /* lea adds no base */
	TEST_ASSERT_EQ(peek(r, UDATA + 0x200), 0x5151UL);   /* movsq from fs:rsi to rdi */
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RSI], 0x18UL);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RDI], UDATA + 0x208);
	run_to(&cpu, 1, SOFT_EXIT_LIMIT);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RSI], 0UL); /* [rbx] itself, which holds nothing */

	/* A non-canonical base is #GP(0). */
	put(r, USER, BYTES(0xf3, 0x48, 0x0f, 0xae, 0xd3));
	soft_cpu_invalidate_page(&cpu, USER);
	enter_user(&cpu);
	cpu.gpr[SOFT_RBX] = NONCANONICAL;
	run_to(&cpu, 0, SOFT_EXIT_HLT);
	expect_delivery(&cpu, r, GP_STACK, GP_HANDLER, USER, 0x2b, 0x23, USTACK, 0);
	TEST_ASSERT_EQ(cpu.sys.fs_base, UDATA + 0x100);
	ram_free(&cpu, r);
}

TEST(cpuid_offers_syscall_and_fsgsbase)
{
	struct soft_cpu cpu;
	struct ram *r = ram_new(&cpu);

	put(r, CODE, BYTES(0x0f, 0xa2, 0x0f, 0xa2, 0x0f, 0xa2));
	cpu.gpr[SOFT_RAX] = 0;
	run_to(&cpu, 1, SOFT_EXIT_LIMIT);
	TEST_ASSERT(cpu.gpr[SOFT_RAX] >= 7, "max leaf %lu", (unsigned long)cpu.gpr[SOFT_RAX]);
	cpu.gpr[SOFT_RAX] = 7;
	cpu.gpr[SOFT_RCX] = 0;
	run_to(&cpu, 1, SOFT_EXIT_LIMIT);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RBX] & 1, 1UL);
	cpu.gpr[SOFT_RAX] = 0x80000001;
	run_to(&cpu, 1, SOFT_EXIT_LIMIT);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RDX] & (1UL << 11), 1UL << 11);
	ram_free(&cpu, r);
}
