// SPDX-License-Identifier: GPL-2.0
/*
 * Guest exceptions on the soft vCPU, on flat memory: each vector's frame
 * to the byte (SS, RSP, RFLAGS with RF, CS, RIP, the error code, below a
 * 16-byte aligned top), IF and TF cleared in the handler, iretq back, CR2
 * of a #PF; a stop naming the vector when there is no handler; faults
 * that leave no trace of the faulting instruction; a handler that faults
 * with another vector; a fault while pushing a frame; iretq's checks;
 * mov to and from CR2 and CR3, and invlpg; the decode cache across a CR3
 * switch and a handler that patches the instruction it returns to; kicks
 * and retries in the middle of a delivery.
 *
 * The memory is flat RAM with two test-made mappings: a range whose
 * accesses are a guest #PF (as if the guest's tables had no entry), and a
 * virtual page that two CR3 values map to two different physical pages.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/lib/test_util.h"
#include "vmm/soft/soft_cpu.h"

#define RAM_BASE 0x100000UL
#define RAM_SIZE 0x10000UL

#define CODE (RAM_BASE + 0x0000)
#define HANDLER (RAM_BASE + 0x1000) /* handlers, 0x100 apart */
#define DATA (RAM_BASE + 0x2000)
#define STACK_TOP (RAM_BASE + 0x3800)
#define DE_STACK (RAM_BASE + 0x4000) /* each handler's stack top */
#define UD_STACK (RAM_BASE + 0x5000)
#define GP_STACK (RAM_BASE + 0x6000)
#define PF_STACK (RAM_BASE + 0x7000)
#define ALIAS_VA (RAM_BASE + 0x8000) /* mapped by CR3_A to itself, by CR3_B to the next page */
#define UNMAPPED (RAM_BASE + 0xa000) /* a page the "guest's tables" do not map: #PF */

#define CR3_A 0x1000UL
#define CR3_B 0x2000UL
#define NONCANONICAL 0x8000000000000000UL

struct ram {
	uint8_t bytes[RAM_SIZE];
	uint64_t pf_lo, pf_hi; /* accesses in [pf_lo, pf_hi) are a #PF */
	uint64_t cr3;
	uint64_t invlpg[4];
	unsigned int nr_invlpg;
	/* kick the vCPU at the nth write translation; retry the nth translation */
	struct soft_cpu *kick_cpu;
	unsigned long writes, kick_at, translations, retry_at;
};

static enum soft_xlate_ret ram_translate(void *opaque, uint64_t gva, unsigned int len,
					 enum soft_access access, uint64_t rip,
					 struct soft_xlate *out)
{
	struct ram *r = opaque;
	uint64_t gpa = gva;

	if (++r->translations == r->retry_at)
		return SOFT_XLATE_RETRY;
	if (access == SOFT_ACCESS_WRITE && r->kick_cpu && ++r->writes == r->kick_at)
		soft_cpu_kick(r->kick_cpu);
	if (gva >= r->pf_lo && gva < r->pf_hi) {
		out->error_code = (access == SOFT_ACCESS_WRITE ? PFERR_WRITE_MASK : 0) |
				  (access == SOFT_ACCESS_FETCH ? PFERR_FETCH_MASK : 0);
		return SOFT_XLATE_PAGE_FAULT;
	}
	if (gva >> 12 == ALIAS_VA >> 12 && r->cr3 == CR3_B)
		gpa += 0x1000;
	if (gpa < RAM_BASE || gpa + len > RAM_BASE + RAM_SIZE)
		return SOFT_XLATE_OUTSIDE;
	out->gpa = gpa;
	out->hva = r->bytes + (gpa - RAM_BASE);
	return SOFT_XLATE_OK;
}

static int ram_load_cr3(void *opaque, uint64_t cr3)
{
	struct ram *r = opaque;

	if (cr3 != CR3_A && cr3 != CR3_B)
		return -EINVAL;
	r->cr3 = cr3;
	return 0;
}

static void ram_invlpg(void *opaque, uint64_t gva)
{
	struct ram *r = opaque;

	if (r->nr_invlpg < 4)
		r->invlpg[r->nr_invlpg++] = gva;
}

static const struct soft_mem_ops ram_ops = {
	.translate = ram_translate,
	.load_cr3 = ram_load_cr3,
	.invlpg = ram_invlpg,
};

static const struct soft_mem_ops ram_ops_no_paging = { .translate = ram_translate };

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

static struct ram *ram_new(struct soft_cpu *cpu, const struct soft_mem_ops *ops, const void *code,
			   size_t len)
{
	struct ram *r = calloc(1, sizeof(*r));

	TEST_ASSERT(r, "calloc");
	put(r, CODE, code, len);
	r->pf_lo = UNMAPPED;
	r->pf_hi = UNMAPPED + 0x1000;
	TEST_ASSERT_EQ(soft_cpu_init(cpu, ops, r), 0);
	cpu->rip = CODE;
	cpu->gpr[SOFT_RSP] = STACK_TOP;
	return r;
}

static void ram_free(struct soft_cpu *cpu, struct ram *r)
{
	soft_cpu_destroy(cpu);
	free(r);
}

#define BYTES(...) ((const uint8_t[]){ __VA_ARGS__ }), sizeof((const uint8_t[]){ __VA_ARGS__ })

/* hlt; add qword [rsp], skip; iretq: stops for the test to look, then returns past the insn. */
static void handler_skip(struct ram *r, uint64_t at, uint8_t skip)
{
	put(r, at, BYTES(0xf4, 0x48, 0x83, 0x04, 0x24, skip, 0x48, 0xcf));
}

/* The same for a vector with an error code: hlt; add rsp, 8; add qword [rsp], skip; iretq. */
static void handler_skip_error(struct ram *r, uint64_t at, uint8_t skip)
{
	put(r, at, BYTES(0xf4, 0x48, 0x83, 0xc4, 0x08, 0x48, 0x83, 0x04, 0x24, skip, 0x48, 0xcf));
}

/* Run to @reason, or fail saying why the run ended. */
#define run_to(cpu, want)                                                                          \
	do {                                                                                       \
		enum soft_exit_reason __r = soft_cpu_run(cpu, 0);                                  \
                                                                                                   \
		TEST_ASSERT(__r == (want), "run ended with %d, not %s: %s", __r, #want,            \
			    (cpu)->exit.message);                                                  \
	} while (0)

static void expect_message(struct soft_cpu *cpu, const char *what)
{
	TEST_ASSERT(strstr(cpu->exit.message, what), "message \"%s\" lacks \"%s\"",
		    cpu->exit.message, what);
}

/* The frame below @top: SS, RSP, RFLAGS, CS, RIP, as pushed. */
static void expect_frame_ss(struct ram *r, uint64_t top, uint64_t ss, uint64_t rip, uint64_t rsp,
			    uint64_t rflags)
{
	TEST_ASSERT_EQ(peek(r, top - 8), ss);
	TEST_ASSERT_EQ(peek(r, top - 16), rsp);
	TEST_ASSERT_EQ(peek(r, top - 24), rflags);
	TEST_ASSERT_EQ(peek(r, top - 32), 0x08UL);
	TEST_ASSERT_EQ(peek(r, top - 40), rip);
}

/* The same, from code on the VMM's data segment. */
static void expect_frame(struct ram *r, uint64_t top, uint64_t rip, uint64_t rsp, uint64_t rflags)
{
	expect_frame_ss(r, top, 0x10, rip, rsp, rflags);
}

TEST(divide_error_frame_and_iretq)
{
	struct soft_cpu cpu;
	/* 0: nop; 1: div ecx; 3: hlt */
	struct ram *r = ram_new(&cpu, &ram_ops, BYTES(0x90, 0xf7, 0xf1, 0xf4));

	handler_skip(r, HANDLER, 2);
	TEST_ASSERT_EQ(soft_cpu_set_exception_handler(&cpu, SOFT_VEC_DE, HANDLER, DE_STACK), 0);
	soft_cpu_set_rflags(&cpu, X86_IF | X86_TF | X86_CF | 0x2);
	cpu.gpr[SOFT_RAX] = 1234;

	run_to(&cpu, SOFT_EXIT_HLT);
	TEST_ASSERT_EQ(cpu.rip, HANDLER + 1);
	/* RF set, as for every fault; no error code for #DE */
	expect_frame(r, DE_STACK, CODE + 1, STACK_TOP, X86_RF | X86_IF | X86_TF | X86_CF | 0x2);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RSP], DE_STACK - 40);
	/* An interrupt gate: IF and TF clear in the handler; CF untouched. */
	TEST_ASSERT_EQ(soft_cpu_get_rflags(&cpu), X86_CF | 0x2);
	TEST_ASSERT_EQ(cpu.stats.exceptions, 1UL);
	TEST_ASSERT_EQ(cpu.stats.insns, 2UL); /* nop and the handler's hlt: div did not retire */
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RAX], 1234UL);

	/* iretq: back past the div, with the stack and the flags as they were (RF dropped). */
	run_to(&cpu, SOFT_EXIT_HLT);
	TEST_ASSERT_EQ(cpu.rip, CODE + 4);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RSP], STACK_TOP);
	TEST_ASSERT_EQ(soft_cpu_get_rflags(&cpu), X86_IF | X86_TF | X86_CF | 0x2);
	ram_free(&cpu, r);
}

TEST(general_protection_has_an_error_code_and_an_aligned_frame)
{
	struct soft_cpu cpu;
	/* 0: mov rax, [rax] (non-canonical); 3: hlt */
	struct ram *r = ram_new(&cpu, &ram_ops, BYTES(0x48, 0x8b, 0x00, 0xf4));

	handler_skip_error(r, HANDLER, 3);
	/* The top is aligned down to 16 bytes before the push. */
	TEST_ASSERT_EQ(soft_cpu_set_exception_handler(&cpu, SOFT_VEC_GP, HANDLER, GP_STACK + 12),
		       0);
	cpu.gpr[SOFT_RAX] = NONCANONICAL;
	cpu.gpr[SOFT_RSP] = STACK_TOP - 8; /* not 16-byte aligned itself */

	run_to(&cpu, SOFT_EXIT_HLT);
	expect_frame(r, GP_STACK, CODE, STACK_TOP - 8, X86_RF | 0x2);
	TEST_ASSERT_EQ(peek(r, GP_STACK - 48), 0UL); /* the error code */
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RSP], GP_STACK - 48);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RAX], NONCANONICAL);

	run_to(&cpu, SOFT_EXIT_HLT);
	TEST_ASSERT_EQ(cpu.rip, CODE + 4);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RSP], STACK_TOP - 8);
	ram_free(&cpu, r);
}

/* ud2, an instruction outside the subset and undecodable bytes: all #UD for a guest with a handler. */
TEST(invalid_opcode_from_ud2_unsupported_and_undecodable)
{
	struct soft_cpu cpu;
	/* 0: ud2; 2: ds fsin (x87, not offered); 5: (06, invalid in 64-bit mode); 6: hlt */
	struct ram *r = ram_new(&cpu, &ram_ops, BYTES(0x0f, 0x0b, 0x3e, 0xd9, 0xfe, 0x06, 0xf4));
	static const uint64_t rips[] = { CODE, CODE + 2, CODE + 5 };
	static const uint8_t lens[] = { 2, 3, 1 };

	handler_skip(r, HANDLER, 0);
	TEST_ASSERT_EQ(soft_cpu_set_exception_handler(&cpu, SOFT_VEC_UD, HANDLER, UD_STACK), 0);
	for (int i = 0; i < 3; i++) {
		run_to(&cpu, SOFT_EXIT_HLT);
		TEST_ASSERT_EQ(cpu.rip, HANDLER + 1);
		expect_frame(r, UD_STACK, rips[i], STACK_TOP, X86_RF | 0x2);
		/* Stopped on the handler's hlt: its skip is set for this instruction. */
		handler_skip(r, HANDLER, lens[i]);
		soft_cpu_invalidate_page(&cpu, HANDLER);
	}
	run_to(&cpu, SOFT_EXIT_HLT);
	TEST_ASSERT_EQ(cpu.rip, CODE + 7);
	TEST_ASSERT_EQ(cpu.stats.exceptions, 3UL);

	/* Without the handler, each stops as before; ud2 names its vector. */
	TEST_ASSERT_EQ(soft_cpu_set_exception_handler(&cpu, SOFT_VEC_UD, 0, 0), 0);
	cpu.rip = CODE;
	run_to(&cpu, SOFT_EXIT_ERROR);
	TEST_ASSERT_EQ(cpu.exit.error, SOFT_ERR_EXCEPTION);
	TEST_ASSERT_EQ(cpu.exit.vector, SOFT_VEC_UD);
	expect_message(&cpu, "#UD (invalid opcode, vector 6) at rip 0x100000: ud2");
	cpu.rip = CODE + 2;
	run_to(&cpu, SOFT_EXIT_ERROR);
	TEST_ASSERT_EQ(cpu.exit.error, SOFT_ERR_UNSUPPORTED);
	expect_message(&cpu, "unsupported instruction at rip 0x100002: fsin");
	cpu.rip = CODE + 5;
	run_to(&cpu, SOFT_EXIT_ERROR);
	TEST_ASSERT_EQ(cpu.exit.error, SOFT_ERR_DECODE);
	ram_free(&cpu, r);
}

TEST(page_fault_sets_cr2_and_pushes_the_error_code)
{
	struct soft_cpu cpu;
	/* 0: mov [rdi], rax; 3: jmp rdx; (the fetch at UNMAPPED faults) */
	struct ram *r = ram_new(&cpu, &ram_ops, BYTES(0x48, 0x89, 0x07, 0xff, 0xe2));

	/* mov rcx, cr2; hlt; add rsp, 8; add qword [rsp], 3; iretq */
	put(r, HANDLER,
	    BYTES(0x0f, 0x20, 0xd1, 0xf4, 0x48, 0x83, 0xc4, 0x08, 0x48, 0x83, 0x04, 0x24, 0x03,
		  0x48, 0xcf));
	TEST_ASSERT_EQ(soft_cpu_set_exception_handler(&cpu, SOFT_VEC_PF, HANDLER, PF_STACK), 0);
	cpu.gpr[SOFT_RDI] = UNMAPPED + 0x18;
	cpu.gpr[SOFT_RDX] = UNMAPPED + 0x40;

	run_to(&cpu, SOFT_EXIT_HLT);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RCX], UNMAPPED + 0x18); /* mov %cr2 in the handler */
	TEST_ASSERT_EQ(cpu.cr2, UNMAPPED + 0x18);
	expect_frame(r, PF_STACK, CODE, STACK_TOP, X86_RF | 0x2);
	TEST_ASSERT_EQ(peek(r, PF_STACK - 48), (uint64_t)PFERR_WRITE_MASK);

	/* Back past the store; then the jump's target cannot be fetched: rip and CR2 are it. */
	handler_skip_error(r, HANDLER + 0x100, 0);
	TEST_ASSERT_EQ(soft_cpu_set_exception_handler(&cpu, SOFT_VEC_PF, HANDLER + 0x100, PF_STACK),
		       0);
	run_to(&cpu, SOFT_EXIT_HLT);
	TEST_ASSERT_EQ(cpu.rip, HANDLER + 0x101);
	TEST_ASSERT_EQ(cpu.cr2, UNMAPPED + 0x40);
	expect_frame(r, PF_STACK, UNMAPPED + 0x40, STACK_TOP, X86_RF | 0x2);
	TEST_ASSERT_EQ(peek(r, PF_STACK - 48), (uint64_t)PFERR_FETCH_MASK);
	ram_free(&cpu, r);
}

TEST(an_exception_without_a_handler_stops_naming_it)
{
	struct soft_cpu cpu;
	/* 0: mov rax, [rax]; 3: mov [rdi], rax */
	struct ram *r = ram_new(&cpu, &ram_ops, BYTES(0x48, 0x8b, 0x00, 0x48, 0x89, 0x07));

	/* A handler for another vector changes nothing. */
	TEST_ASSERT_EQ(soft_cpu_set_exception_handler(&cpu, SOFT_VEC_UD, HANDLER, UD_STACK), 0);
	cpu.gpr[SOFT_RAX] = NONCANONICAL;
	run_to(&cpu, SOFT_EXIT_ERROR);
	TEST_ASSERT_EQ(cpu.exit.error, SOFT_ERR_EXCEPTION);
	TEST_ASSERT_EQ(cpu.exit.vector, SOFT_VEC_GP);
	TEST_ASSERT_EQ(cpu.exit.error_code, 0u);
	TEST_ASSERT_EQ(cpu.rip, CODE);
	expect_message(&cpu, "#GP (general protection, vector 13, error code 0) at rip 0x100000: "
			     "mov rax, qword ptr [rax]: a read of 8 bytes at non-canonical address "
			     "0x8000000000000000");
	expect_message(&cpu, "rip=0000000000100000");

	cpu.rip = CODE + 3;
	cpu.gpr[SOFT_RDI] = UNMAPPED + 8;
	run_to(&cpu, SOFT_EXIT_ERROR);
	TEST_ASSERT_EQ(cpu.exit.vector, SOFT_VEC_PF);
	TEST_ASSERT_EQ(cpu.exit.error_code, (uint32_t)PFERR_WRITE_MASK);
	TEST_ASSERT_EQ(cpu.exit.addr, UNMAPPED + 8);
	expect_message(&cpu, "#PF (page fault, vector 14, error code 0x2) at rip 0x100003: "
			     "mov qword ptr [rdi], rax: a write of 8 bytes at 0x10a008");
	TEST_ASSERT_EQ(cpu.stats.exceptions, 0UL);
	ram_free(&cpu, r);
}

/*
 * An instruction that faults has changed nothing: each of these would
 * write a register, the flags, the stack or memory before its fault if
 * the interpreter were careless.
 */
struct precise_case {
	const char *name;
	uint8_t code[4];
	unsigned int vector;
};

static const struct precise_case precise_cases[] = {
	{ "xadd [rdi], rax into an unmapped page", { 0x48, 0x0f, 0xc1, 0x07 }, SOFT_VEC_PF },
	{ "pop [rdi] into an unmapped page", { 0x8f, 0x07 }, SOFT_VEC_PF },
	{ "push rax through a non-canonical rsp", { 0x50 }, SOFT_VEC_GP },
	{ "call [rsi] to a non-canonical target", { 0xff, 0x16 }, SOFT_VEC_GP },
	{ "ret to a non-canonical target", { 0xc3 }, SOFT_VEC_GP },
	{ "jmp rbx to a non-canonical target", { 0xff, 0xe3 }, SOFT_VEC_GP },
};

TEST(faults_are_precise)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(precise_cases); i++) {
		const struct precise_case *c = &precise_cases[i];
		struct soft_cpu cpu;
		struct ram *r = ram_new(&cpu, &ram_ops, c->code, sizeof(c->code));
		uint64_t gpr[SOFT_NR_GPRS], rflags, stack[4];

		for (int g = 0; g < SOFT_NR_GPRS; g++)
			cpu.gpr[g] = 0x1111 * (g + 1);
		cpu.gpr[SOFT_RSP] = c->code[0] == 0x50 ? 0x0000800000000000UL + 8 : STACK_TOP - 16;
		cpu.gpr[SOFT_RDI] = UNMAPPED + 0x20;
		cpu.gpr[SOFT_RSI] = DATA;
		cpu.gpr[SOFT_RBX] = NONCANONICAL;
		poke(r, DATA, NONCANONICAL);
		poke(r, STACK_TOP - 16, NONCANONICAL);
		soft_cpu_set_rflags(&cpu, X86_ZF | X86_SF | 0x2);
		memcpy(gpr, cpu.gpr, sizeof(gpr));
		rflags = soft_cpu_get_rflags(&cpu);
		memcpy(stack, r->bytes + (STACK_TOP - 32 - RAM_BASE), sizeof(stack));

		TEST_ASSERT(soft_cpu_run(&cpu, 0) == SOFT_EXIT_ERROR &&
				    cpu.exit.error == SOFT_ERR_EXCEPTION &&
				    cpu.exit.vector == c->vector,
			    "%s: %s", c->name, cpu.exit.message);
		TEST_ASSERT(!memcmp(gpr, cpu.gpr, sizeof(gpr)), "%s: a register changed", c->name);
		TEST_ASSERT(soft_cpu_get_rflags(&cpu) == rflags, "%s: the flags changed", c->name);
		TEST_ASSERT(cpu.rip == CODE, "%s: rip %#lx", c->name, (unsigned long)cpu.rip);
		TEST_ASSERT(!memcmp(stack, r->bytes + (STACK_TOP - 32 - RAM_BASE), sizeof(stack)),
			    "%s: the stack was written", c->name);
		ram_free(&cpu, r);
	}
}

/* A rep string instruction commits per iteration: the fault comes with rcx counting what is left. */
TEST(rep_movs_faults_at_the_iteration)
{
	struct soft_cpu cpu;
	struct ram *r = ram_new(&cpu, &ram_ops, BYTES(0xf3, 0xa4, 0xf4)); /* rep movsb; hlt */

	cpu.gpr[SOFT_RSI] = DATA;
	cpu.gpr[SOFT_RDI] = UNMAPPED - 4;
	cpu.gpr[SOFT_RCX] = 16;
	memset(r->bytes + (DATA - RAM_BASE), 0x5a, 16);
	run_to(&cpu, SOFT_EXIT_ERROR);
	TEST_ASSERT_EQ(cpu.exit.vector, SOFT_VEC_PF);
	TEST_ASSERT_EQ(cpu.rip, CODE);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RCX], 12UL);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RSI], DATA + 4);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RDI], UNMAPPED);
	TEST_ASSERT_EQ(peek(r, UNMAPPED - 8) >> 32, 0x5a5a5a5aUL);
	ram_free(&cpu, r);
}

/*
 * A handler that faults with another vector: #GP's handler executes ud2,
 * whose frame lands on #UD's own stack and returns into #GP's handler.
 */
TEST(nested_delivery)
{
	struct soft_cpu cpu;
	/* 0: mov rax, [rax] (#GP); 3: hlt */
	struct ram *r = ram_new(&cpu, &ram_ops, BYTES(0x48, 0x8b, 0x00, 0xf4));
	const uint64_t gp = HANDLER, ud = HANDLER + 0x100;

	/* #GP: ud2; add rsp, 8; add qword [rsp], 3; iretq */
	put(r, gp,
	    BYTES(0x0f, 0x0b, 0x48, 0x83, 0xc4, 0x08, 0x48, 0x83, 0x04, 0x24, 0x03, 0x48, 0xcf));
	/* #UD: add qword [rsp], 2; iretq */
	put(r, ud, BYTES(0x48, 0x83, 0x04, 0x24, 0x02, 0x48, 0xcf));
	TEST_ASSERT_EQ(soft_cpu_set_exception_handler(&cpu, SOFT_VEC_GP, gp, GP_STACK), 0);
	TEST_ASSERT_EQ(soft_cpu_set_exception_handler(&cpu, SOFT_VEC_UD, ud, UD_STACK), 0);
	cpu.gpr[SOFT_RAX] = NONCANONICAL;
	soft_cpu_set_rflags(&cpu, X86_IF | 0x2);

	run_to(&cpu, SOFT_EXIT_HLT);
	TEST_ASSERT_EQ(cpu.rip, CODE + 4);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RSP], STACK_TOP);
	TEST_ASSERT_EQ(soft_cpu_get_rflags(&cpu), X86_IF | 0x2);
	TEST_ASSERT_EQ(cpu.stats.exceptions, 2UL);
	/*
	 * The frames are still on their stacks, each rip moved past its
	 * instruction by its handler: #UD's came from inside #GP's handler.
	 */
	expect_frame(r, GP_STACK, CODE + 3, STACK_TOP, X86_RF | X86_IF | 0x2);
	expect_frame(r, UD_STACK, gp + 2, GP_STACK - 48, X86_RF | 0x2);
	ram_free(&cpu, r);
}

/* A fault while the frame is pushed: a double fault, which stops the guest with nothing changed. */
TEST(fault_while_delivering_is_a_double_fault)
{
	/* The first stack's frame would start on a mapped page and run into the unmapped one. */
	static const uint64_t stacks[] = { UNMAPPED + 0x1010, 0xffff800000000000UL, 0x10000 };
	static const char *const why[] = {
		"double fault: #PF (page fault, vector 14, error code 0x2) while delivering #GP "
		"(general protection, vector 13, error code 0) to its handler at 0x101000, stack "
		"0x10b010, rip 0x100000: mov rax, qword ptr [rax]: a write of 8 bytes at 0x10aff8",
		"double fault: #GP (general protection, vector 13, error code 0) while delivering "
		"#GP",
		"guest write of 8 bytes at 0xfff8 outside every memslot while delivering an "
		"exception to its handler, rip 0x100000: mov rax, qword ptr [rax]",
	};

	for (int i = 0; i < 3; i++) {
		struct soft_cpu cpu;
		struct ram *r = ram_new(&cpu, &ram_ops, BYTES(0x48, 0x8b, 0x00, 0xf4));

		handler_skip_error(r, HANDLER, 3);
		TEST_ASSERT_EQ(
			soft_cpu_set_exception_handler(&cpu, SOFT_VEC_GP, HANDLER, stacks[i]), 0);
		/* A #PF handler does not catch the #PF of a delivery either. */
		TEST_ASSERT_EQ(soft_cpu_set_exception_handler(&cpu, SOFT_VEC_PF, HANDLER, PF_STACK),
			       0);
		cpu.gpr[SOFT_RAX] = NONCANONICAL;
		run_to(&cpu, SOFT_EXIT_ERROR);
		TEST_ASSERT_EQ(cpu.exit.error, i < 2 ? SOFT_ERR_DOUBLE_FAULT : SOFT_ERR_OUTSIDE);
		expect_message(&cpu, why[i]);
		TEST_ASSERT_EQ(cpu.rip, CODE);
		TEST_ASSERT_EQ(cpu.gpr[SOFT_RSP], STACK_TOP);
		TEST_ASSERT_EQ(cpu.stats.exceptions, 0UL);
		TEST_ASSERT(!peek(r, UNMAPPED + 0x1008) && !peek(r, UNMAPPED + 0x1000),
			    "a frame was half pushed");
		ram_free(&cpu, r);
	}
}

/* iretq takes only the VMM's code segment, its data segment or a null SS, and a canonical rip. */
TEST(iretq_checks_its_frame)
{
	static const struct {
		uint64_t rip, cs, ss;
		uint32_t error_code;
	} bad[] = {
		{ CODE + 2, 0x33, 0x10, 0x30 },	 { CODE + 2, 0x10, 0x10, 0x10 },
		{ CODE + 2, 0x08, 0x2b, 0x28 },	 { CODE + 2, 0x08, 0x03, 0x00 },
		{ NONCANONICAL, 0x08, 0x10, 0 },
	};
	struct soft_cpu cpu;
	struct ram *r = ram_new(&cpu, &ram_ops, BYTES(0x48, 0xcf, 0xf4)); /* iretq; hlt */
	const uint64_t frame = DATA;

	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		cpu.rip = CODE;
		cpu.gpr[SOFT_RSP] = frame;
		poke(r, frame, bad[i].rip);
		poke(r, frame + 8, bad[i].cs);
		poke(r, frame + 16, 0x2);
		poke(r, frame + 24, STACK_TOP);
		poke(r, frame + 32, bad[i].ss);
		run_to(&cpu, SOFT_EXIT_ERROR);
		TEST_ASSERT(cpu.exit.vector == SOFT_VEC_GP &&
				    cpu.exit.error_code == bad[i].error_code,
			    "frame %u: %s", i, cpu.exit.message);
		TEST_ASSERT_EQ(cpu.gpr[SOFT_RSP], frame);
	}
	expect_message(&cpu, "iretq to non-canonical rip");

	/* A null SS is fine; every RFLAGS bit iretq may load is loaded, RF and VM are not. */
	cpu.rip = CODE;
	poke(r, frame, CODE + 2);
	poke(r, frame + 8, 0x08);
	poke(r, frame + 16, ~0UL);
	poke(r, frame + 32, 0);
	run_to(&cpu, SOFT_EXIT_HLT);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RSP], STACK_TOP);
	TEST_ASSERT_EQ(soft_cpu_get_rflags(&cpu), 0x3c7fd7UL);

	/* NT is set now: a task return, #GP(0). */
	cpu.rip = CODE;
	cpu.gpr[SOFT_RSP] = frame;
	run_to(&cpu, SOFT_EXIT_ERROR);
	TEST_ASSERT_EQ(cpu.exit.vector, SOFT_VEC_GP);
	expect_message(&cpu, "iretq with NT set");

	/* With a #GP handler, the frame carries the selector, and SS as it is: null since the iretq above. */
	soft_cpu_set_rflags(&cpu, 0x2);
	handler_skip_error(r, HANDLER, 0);
	TEST_ASSERT_EQ(soft_cpu_set_exception_handler(&cpu, SOFT_VEC_GP, HANDLER, GP_STACK), 0);
	cpu.rip = CODE;
	poke(r, frame + 8, 0x33);
	run_to(&cpu, SOFT_EXIT_HLT);
	TEST_ASSERT_EQ(peek(r, GP_STACK - 48), 0x30UL);
	expect_frame_ss(r, GP_STACK, 0, CODE, frame, X86_RF | 0x2);
	ram_free(&cpu, r);
}

TEST(mov_cr2_cr3_and_invlpg)
{
	struct soft_cpu cpu;
	/*
	 * 0: mov rax, cr3;  3: mov cr3, rbx;  6: mov rcx, cr3;  9: invlpg [rdx]
	 * 12: invlpg [rbp] (non-canonical: nothing);  16: mov cr2, rsi;  19: mov rdi, cr2
	 * 22: hlt;  23: mov cr3, r8 (refused);  27: mov rax, cr0
	 */
	struct ram *r = ram_new(&cpu, &ram_ops,
				BYTES(0x0f, 0x20, 0xd8, 0x0f, 0x22, 0xdb, 0x0f, 0x20, 0xd9, 0x0f,
				      0x01, 0x3a, 0x0f, 0x01, 0x7d, 0x00, 0x0f, 0x22, 0xd6, 0x0f,
				      0x20, 0xd7, 0xf4, 0x41, 0x0f, 0x22, 0xd8, 0x0f, 0x20, 0xc0));

	cpu.cr3 = CR3_A;
	cpu.gpr[SOFT_RBX] = CR3_B;
	cpu.gpr[SOFT_RDX] = DATA + 0x123;
	cpu.gpr[SOFT_RBP] = NONCANONICAL;
	cpu.gpr[SOFT_RSI] = 0xfeed;
	run_to(&cpu, SOFT_EXIT_HLT);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RAX], CR3_A);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RCX], CR3_B);
	TEST_ASSERT_EQ(r->cr3, CR3_B); /* through ops->load_cr3 */
	TEST_ASSERT_EQ(r->nr_invlpg, 1u);
	TEST_ASSERT_EQ(r->invlpg[0], DATA + 0x123);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RDI], 0xfeedUL);

	/* A CR3 the VMM refuses is #GP(0), CR3 unchanged. */
	cpu.gpr[SOFT_R8] = 0x3000;
	run_to(&cpu, SOFT_EXIT_ERROR);
	TEST_ASSERT_EQ(cpu.exit.vector, SOFT_VEC_GP);
	TEST_ASSERT_EQ(cpu.rip, CODE + 23);
	expect_message(&cpu, "mov cr3, r8: CR3 0x3000 refused (Invalid argument)");
	TEST_ASSERT_EQ(cpu.cr3, CR3_B);
	TEST_ASSERT_EQ(r->cr3, CR3_B);

	/* CR0 is outside the subset. */
	cpu.rip = CODE + 27;
	run_to(&cpu, SOFT_EXIT_ERROR);
	TEST_ASSERT_EQ(cpu.exit.error, SOFT_ERR_UNSUPPORTED);
	expect_message(&cpu, "mov rax, cr0");
	ram_free(&cpu, r);

	/* Without the paging ops, a CR3 load and invlpg are outside the subset too. */
	r = ram_new(&cpu, &ram_ops_no_paging, BYTES(0x0f, 0x22, 0xdb, 0x0f, 0x01, 0x3a));
	run_to(&cpu, SOFT_EXIT_ERROR);
	TEST_ASSERT_EQ(cpu.exit.error, SOFT_ERR_UNSUPPORTED);
	cpu.rip = CODE + 3;
	run_to(&cpu, SOFT_EXIT_ERROR);
	TEST_ASSERT_EQ(cpu.exit.error, SOFT_ERR_UNSUPPORTED);
	ram_free(&cpu, r);
}

/*
 * The decode cache is keyed by guest-physical page: the same virtual code
 * page under two CR3 values runs two different instructions.
 */
TEST(decode_cache_across_a_cr3_switch)
{
	struct soft_cpu cpu;
	/* mov cr3, rbx; call rdx; mov cr3, rcx; call rdx; hlt */
	struct ram *r =
		ram_new(&cpu, &ram_ops,
			BYTES(0x0f, 0x22, 0xdb, 0xff, 0xd2, 0x0f, 0x22, 0xd9, 0xff, 0xd2, 0xf4));

	put(r, ALIAS_VA, BYTES(0x83, 0xc0, 0x01, 0xc3));	  /* add eax, 1; ret */
	put(r, ALIAS_VA + 0x1000, BYTES(0x83, 0xc0, 0x0a, 0xc3)); /* add eax, 10; ret */
	cpu.gpr[SOFT_RBX] = CR3_A;
	cpu.gpr[SOFT_RCX] = CR3_B;
	cpu.gpr[SOFT_RDX] = ALIAS_VA;
	run_to(&cpu, SOFT_EXIT_HLT);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RAX], 11UL);
	ram_free(&cpu, r);
}

/*
 * A #UD handler that patches the faulting instruction into nops and
 * returns to it without skipping: the store dropped the decoded ud2.
 */
TEST(handler_patches_the_instruction_it_returns_to)
{
	struct soft_cpu cpu;
	struct ram *r = ram_new(&cpu, &ram_ops, BYTES(0x0f, 0x0b, 0xf4)); /* ud2; hlt */

	/* mov word [0x100000], 0x9090; iretq */
	put(r, HANDLER,
	    BYTES(0x66, 0xc7, 0x04, 0x25, 0x00, 0x00, 0x10, 0x00, 0x90, 0x90, 0x48, 0xcf));
	TEST_ASSERT_EQ(soft_cpu_set_exception_handler(&cpu, SOFT_VEC_UD, HANDLER, UD_STACK), 0);
	run_to(&cpu, SOFT_EXIT_HLT);
	TEST_ASSERT_EQ(cpu.rip, CODE + 3);
	TEST_ASSERT_EQ(cpu.stats.exceptions, 1UL);
	TEST_ASSERT(cpu.cache.invalidations >= 1, "the patched page was not dropped");
	ram_free(&cpu, r);
}

/* A kick during a delivery: the frame is pushed whole and the run stops at the handler. */
TEST(kick_during_a_delivery)
{
	struct soft_cpu cpu;
	struct ram *r = ram_new(&cpu, &ram_ops, BYTES(0x48, 0x8b, 0x00, 0xf4));

	handler_skip_error(r, HANDLER, 3);
	TEST_ASSERT_EQ(soft_cpu_set_exception_handler(&cpu, SOFT_VEC_GP, HANDLER, GP_STACK), 0);
	cpu.gpr[SOFT_RAX] = NONCANONICAL;
	r->kick_cpu = &cpu;
	r->kick_at = 3; /* the third of the frame's six slots */
	run_to(&cpu, SOFT_EXIT_KICK);
	TEST_ASSERT_EQ(cpu.rip, HANDLER);
	expect_frame(r, GP_STACK, CODE, STACK_TOP, X86_RF | 0x2);
	run_to(&cpu, SOFT_EXIT_HLT);
	run_to(&cpu, SOFT_EXIT_HLT);
	TEST_ASSERT_EQ(cpu.rip, CODE + 4);
	ram_free(&cpu, r);
}

/* A translation retried in the middle of the frame: the instruction faults again, one frame. */
TEST(retry_during_a_delivery)
{
	for (unsigned long at = 1; at <= 8; at++) {
		struct soft_cpu cpu;
		/* 0: mov [rdi], rax (#PF); 3: hlt */
		struct ram *r = ram_new(&cpu, &ram_ops, BYTES(0x48, 0x89, 0x07, 0xf4));

		handler_skip_error(r, HANDLER, 3);
		TEST_ASSERT_EQ(soft_cpu_set_exception_handler(&cpu, SOFT_VEC_PF, HANDLER, PF_STACK),
			       0);
		cpu.gpr[SOFT_RDI] = UNMAPPED;
		r->retry_at = at;
		run_to(&cpu, SOFT_EXIT_HLT);
		TEST_ASSERT_EQ(cpu.stats.retries, 1UL);
		TEST_ASSERT_EQ(cpu.stats.exceptions, 1UL);
		expect_frame(r, PF_STACK, CODE, STACK_TOP, X86_RF | 0x2);
		TEST_ASSERT_EQ(peek(r, PF_STACK - 48), (uint64_t)PFERR_WRITE_MASK);
		run_to(&cpu, SOFT_EXIT_HLT);
		TEST_ASSERT_EQ(cpu.rip, CODE + 4);
		ram_free(&cpu, r);
	}
}

TEST(registering_a_handler)
{
	struct soft_cpu cpu;
	struct ram *r = ram_new(&cpu, &ram_ops, BYTES(0xf4));

	TEST_ASSERT_EQ(soft_cpu_set_exception_handler(&cpu, SOFT_NR_VECTORS, HANDLER, GP_STACK),
		       -EINVAL);
	TEST_ASSERT_EQ(soft_cpu_set_exception_handler(&cpu, SOFT_VEC_GP, NONCANONICAL, GP_STACK),
		       -EINVAL);
	TEST_ASSERT_EQ(soft_cpu_set_exception_handler(&cpu, SOFT_VEC_GP, HANDLER, NONCANONICAL),
		       -EINVAL);
	TEST_ASSERT_EQ(soft_cpu_set_exception_handler(&cpu, SOFT_VEC_GP, HANDLER, GP_STACK), 0);
	TEST_ASSERT_EQ(cpu.handlers[SOFT_VEC_GP].stack, GP_STACK);
	/* 0 removes it, whatever the stack says. */
	TEST_ASSERT_EQ(soft_cpu_set_exception_handler(&cpu, SOFT_VEC_GP, 0, NONCANONICAL), 0);
	TEST_ASSERT_EQ(cpu.handlers[SOFT_VEC_GP].rip, 0UL);
	ram_free(&cpu, r);
}
