// SPDX-License-Identifier: GPL-2.0
/*
 * The soft vCPU's SSE edges that the differential test cannot see, Unicorn
 * 2.0.1 not having them: #GP(0) for an unaligned 16-byte operand and for
 * MXCSR's reserved bits, fxsave's layout to the byte, popcnt, the flags
 * cmpxchg8b/16b keep and cmpxchg16b's atomicity between two vCPU threads,
 * cpuid's feature bits, the x87 control word as the host keeps it (fldcw,
 * fnstcw, fninit, fxsave, fxrstor), and clean stops naming the
 * SSE-encoded instructions outside the subset (SSSE3, MMX, VEX) and the
 * x87's arithmetic, and of SSE on a soft vCPU without the guest's xmm
 * registers.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/test_util.h"
#include "vmm/soft/soft_cpu.h"

#define RAM_BASE 0x100000UL
#define RAM_SIZE 0x4000UL
#define DATA (RAM_BASE + 0x2000) /* rbx points here */

static uint8_t ram[RAM_SIZE] __attribute__((aligned(16)));

static enum soft_xlate_ret ram_translate(void *opaque, uint64_t gva, unsigned int len,
					 enum soft_access access, uint64_t rip,
					 struct soft_xlate *out)
{
	if (gva < RAM_BASE || gva + len > RAM_BASE + RAM_SIZE)
		return SOFT_XLATE_OUTSIDE;
	out->gpa = gva;
	out->hva = ram + (gva - RAM_BASE);
	return SOFT_XLATE_OK;
}

static const struct soft_mem_ops ram_ops = { .translate = ram_translate };

#define CODE(...) ((const uint8_t[]){ __VA_ARGS__ }), sizeof((const uint8_t[]){ __VA_ARGS__ })

/* @code then hlt at RAM_BASE, rbx at DATA, the data bytes 0xaa. */
static void load(struct soft_cpu *cpu, const uint8_t *code, size_t len)
{
	memset(ram, 0xaa, sizeof(ram));
	memcpy(ram, code, len);
	ram[len] = 0xf4;
	TEST_ASSERT_EQ(soft_cpu_init(cpu, &ram_ops, NULL), 0);
	cpu->rip = RAM_BASE;
	cpu->gpr[SOFT_RBX] = DATA;
}

static void run_to_hlt(struct soft_cpu *cpu)
{
	TEST_ASSERT(soft_cpu_run(cpu, 0) == SOFT_EXIT_HLT, "exit %d: %s", cpu->exit.reason,
		    cpu->exit.message);
}

/* The run stops on a #GP(0) with no handler, at the instruction at @off. */
static void expect_gp(struct soft_cpu *cpu, unsigned int off, const char *name)
{
	TEST_ASSERT_EQ(soft_cpu_run(cpu, 0), SOFT_EXIT_ERROR);
	TEST_ASSERT_EQ(cpu->exit.error, SOFT_ERR_EXCEPTION);
	TEST_ASSERT_EQ(cpu->exit.vector, SOFT_VEC_GP);
	TEST_ASSERT_EQ(cpu->exit.error_code, 0u);
	TEST_ASSERT_EQ(cpu->rip, RAM_BASE + off);
	TEST_ASSERT(strstr(cpu->exit.message, name), "\"%s\" lacks \"%s\"", cpu->exit.message,
		    name);
}

static void expect_unsupported(const uint8_t *code, size_t len, const char *name)
{
	struct soft_cpu cpu;

	load(&cpu, code, len);
	TEST_ASSERT_EQ(soft_cpu_run(&cpu, 0), SOFT_EXIT_ERROR);
	TEST_ASSERT_EQ(cpu.exit.error, SOFT_ERR_UNSUPPORTED);
	TEST_ASSERT_EQ(cpu.rip, RAM_BASE);
	TEST_ASSERT(strstr(cpu.exit.message, name), "\"%s\" lacks \"%s\"", cpu.exit.message, name);
	soft_cpu_destroy(&cpu);
}

TEST(unaligned_16_byte_operands_are_gp)
{
	static const struct {
		uint8_t code[8];
		unsigned int len;
		const char *name;
	} cases[] = {
		{ { 0x66, 0x0f, 0x6f, 0x43, 0x08 }, 5, "movdqa" },
		{ { 0x0f, 0x29, 0x43, 0x04 }, 4, "movaps" },
		{ { 0x66, 0x0f, 0xfc, 0x43, 0x08 }, 5, "paddb" },
		{ { 0x66, 0x0f, 0x70, 0x43, 0x01, 0x1b }, 6, "pshufd" },
		{ { 0x66, 0x0f, 0xe7, 0x43, 0x08 }, 5, "movntdq" },
		{ { 0x0f, 0xae, 0x43, 0x08 }, 4, "fxsave" },
		{ { 0x48, 0x0f, 0xae, 0x4b, 0x08 }, 5, "fxrstor64" },
		{ { 0xf0, 0x48, 0x0f, 0xc7, 0x4b, 0x08 }, 6, "cmpxchg16b" },
	};
	struct soft_cpu cpu;
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* nop first, so the fault's rip is not the start */
		uint8_t code[9] = { 0x90 };

		memcpy(code + 1, cases[i].code, cases[i].len);
		load(&cpu, code, cases[i].len + 1);
		expect_gp(&cpu, 1, cases[i].name);
		soft_cpu_destroy(&cpu);
	}

	/* The unaligned forms and the 8-byte operands have no such rule. */
	load(&cpu, CODE(0xf3, 0x0f, 0x6f, 0x43, 0x01,	/* movdqu xmm0, [rbx+1] */
			0xf2, 0x0f, 0x10, 0x4b, 0x03,	/* movsd xmm1, [rbx+3] */
			0x0f, 0x16, 0x53, 0x05,		/* movhps xmm2, [rbx+5] */
			0xf0, 0x0f, 0xc7, 0x4b, 0x04)); /* lock cmpxchg8b [rbx+4] */
	run_to_hlt(&cpu);
	TEST_ASSERT_EQ(cpu.xmm[0].q[0], 0xaaaaaaaaaaaaaaaaUL);
	soft_cpu_destroy(&cpu);
}

TEST(mxcsr_reserved_bits_are_gp)
{
	struct soft_cpu cpu;

	/* mov dword [rbx], 0xffff; ldmxcsr [rbx]; stmxcsr [rbx+4] */
	load(&cpu, CODE(0xc7, 0x03, 0xff, 0xff, 0, 0, 0x0f, 0xae, 0x13, 0x0f, 0xae, 0x5b, 0x04));
	run_to_hlt(&cpu);
	TEST_ASSERT_EQ(cpu.mxcsr, 0xffffu);
	TEST_ASSERT_EQ(*(uint32_t *)&ram[DATA - RAM_BASE + 4], 0xffffu);
	soft_cpu_destroy(&cpu);

	/* mov dword [rbx], 0x11f80; ldmxcsr [rbx] */
	load(&cpu, CODE(0xc7, 0x03, 0x80, 0x1f, 1, 0, 0x0f, 0xae, 0x13));
	expect_gp(&cpu, 6, "ldmxcsr");
	TEST_ASSERT_EQ(cpu.mxcsr, SOFT_MXCSR_RESET);
	soft_cpu_destroy(&cpu);

	/* fxsave [rbx]; or byte [rbx+26], 1 (MXCSR bit 16); fxrstor [rbx] */
	load(&cpu, CODE(0x0f, 0xae, 0x03, 0x80, 0x4b, 0x1a, 0x01, 0x0f, 0xae, 0x0b));
	expect_gp(&cpu, 7, "fxrstor");
	soft_cpu_destroy(&cpu);
}

TEST(fxsave_layout_and_fxrstor)
{
	const uint8_t *area = &ram[DATA - RAM_BASE];
	struct soft_cpu cpu;
	unsigned int i;

	/* fxsave64 [rbx]; mov byte [rbx+160+16*3], 0x5a; fxrstor [rbx] */
	load(&cpu, CODE(0x48, 0x0f, 0xae, 0x03, 0xc6, 0x83, 0xd0, 0, 0, 0, 0x5a, 0x0f, 0xae, 0x0b));
	for (i = 0; i < SOFT_NR_XMMS; i++) {
		cpu.xmm[i].q[0] = 0x0101010101010101UL * i;
		cpu.xmm[i].q[1] = ~cpu.xmm[i].q[0];
	}
	cpu.mxcsr = 0x3fc1;
	TEST_ASSERT_EQ(soft_cpu_run(&cpu, 1), SOFT_EXIT_LIMIT);
	/* FCW as fninit leaves it; FSW, FTW (all empty), FOP, FIP, FDP zero. */
	TEST_ASSERT_EQ(area[0], 0x7f);
	TEST_ASSERT_EQ(area[1], 0x03);
	for (i = 2; i < 24; i++)
		TEST_ASSERT_EQ(area[i], 0);
	TEST_ASSERT_EQ(*(const uint32_t *)&area[24], 0x3fc1u);
	TEST_ASSERT_EQ(*(const uint32_t *)&area[28], 0xffffu); /* MXCSR_MASK */
	for (i = 32; i < 160; i++) /* ST0..ST7: 10 bytes each, the pad not written */
		TEST_ASSERT_EQ(area[i], (i - 32) % 16 < 10 ? 0 : 0xaa);
	TEST_ASSERT(!memcmp(&area[160], cpu.xmm, 256), "xmm0..15 at 160");
	for (i = 416; i < 512; i++)
		TEST_ASSERT_EQ(area[i], 0xaa);

	cpu.xmm[3].q[0] = 0;
	cpu.mxcsr = SOFT_MXCSR_RESET;
	run_to_hlt(&cpu);
	TEST_ASSERT_EQ(cpu.xmm[3].q[0], 0x030303030303035aUL);
	TEST_ASSERT_EQ(cpu.mxcsr, 0x3fc1u);
	soft_cpu_destroy(&cpu);
}

TEST(popcnt_counts_and_sets_only_zf)
{
	struct soft_cpu cpu;

	/* popcnt rax, rcx; popcnt edx, ecx; popcnt si, cx (66 f3 and f3 66); popcnt edi, r8d */
	load(&cpu, CODE(0xf3, 0x48, 0x0f, 0xb8, 0xc1, 0xf3, 0x0f, 0xb8, 0xd1, 0x66, 0xf3, 0x0f,
			0xb8, 0xf1, 0xf3, 0x66, 0x0f, 0xb8, 0xe9, 0xf3, 0x41, 0x0f, 0xb8, 0xf8));
	cpu.gpr[SOFT_RCX] = 0xff00000000000f0fUL;
	cpu.gpr[SOFT_RDX] = -1UL;
	cpu.gpr[SOFT_RSI] = -1UL;
	cpu.gpr[SOFT_RBP] = -1UL;
	cpu.gpr[SOFT_R8] = 0xffffffff00000000UL;
	soft_cpu_set_rflags(&cpu, 0x2 | X86_CF | X86_PF | X86_AF | X86_SF | X86_OF);
	TEST_ASSERT_EQ(soft_cpu_run(&cpu, 1), SOFT_EXIT_LIMIT);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RAX], 16UL);
	TEST_ASSERT_EQ(soft_cpu_get_rflags(&cpu), 0x2UL);
	run_to_hlt(&cpu);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RDX], 8UL); /* a 32-bit destination is zero-extended */
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RSI], 0xffffffffffff0008UL);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RBP], 0xffffffffffff0008UL);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RDI], 0UL);
	TEST_ASSERT_EQ(soft_cpu_get_rflags(&cpu), 0x2UL | X86_ZF);
	soft_cpu_destroy(&cpu);
}

TEST(cmpxchg16b_and_8b_change_only_zf)
{
	uint64_t *m = (uint64_t *)&ram[DATA - RAM_BASE];
	uint64_t keep = X86_CF | X86_PF | X86_AF | X86_SF | X86_OF;
	struct soft_cpu cpu;

	/* lock cmpxchg16b [rbx] twice: the first misses, the second swaps */
	load(&cpu, CODE(0xf0, 0x48, 0x0f, 0xc7, 0x0b, 0xf0, 0x48, 0x0f, 0xc7, 0x0b));
	m[0] = 1;
	m[1] = 2;
	cpu.gpr[SOFT_RAX] = 1;
	cpu.gpr[SOFT_RDX] = 3;
	cpu.gpr[SOFT_RCX] = 0x44;
	soft_cpu_set_rflags(&cpu, 0x2 | keep | X86_ZF);
	TEST_ASSERT_EQ(soft_cpu_run(&cpu, 1), SOFT_EXIT_LIMIT);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RAX], 1UL);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RDX], 2UL);
	TEST_ASSERT_EQ(soft_cpu_get_rflags(&cpu), 0x2 | keep);
	run_to_hlt(&cpu);
	TEST_ASSERT_EQ(m[0], DATA);
	TEST_ASSERT_EQ(m[1], 0x44UL);
	TEST_ASSERT_EQ(soft_cpu_get_rflags(&cpu), 0x2 | keep | X86_ZF);
	soft_cpu_destroy(&cpu);

	/* cmpxchg8b [rbx+4]: edx:eax, ecx:ebx, the upper halves ignored */
	load(&cpu, CODE(0x0f, 0xc7, 0x4b, 0x04));
	m[0] = 0x1111111100000000UL;
	m[1] = 0x22222222;
	cpu.gpr[SOFT_RAX] = 0xff00000011111111UL;
	cpu.gpr[SOFT_RDX] = 0xff00000022222222UL;
	cpu.gpr[SOFT_RCX] = 0xff00000000000005UL;
	run_to_hlt(&cpu);
	TEST_ASSERT_EQ(m[0], ((uint64_t)(uint32_t)DATA << 32));
	TEST_ASSERT_EQ(m[1], 0x5UL);
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RAX], 0xff00000011111111UL); /* untouched on success */
	TEST_ASSERT(soft_cpu_get_rflags(&cpu) & X86_ZF, "ZF after a match");
	soft_cpu_destroy(&cpu);
}

static void *vcpu_run(void *arg)
{
	return (void *)(long)soft_cpu_run(arg, 0);
}

/*
 * Two vCPU threads add one to both halves of a 16-byte counter with lock
 * cmpxchg16b loops: a torn or lost update shows as a count short of both
 * threads' iterations, or as halves that differ.
 */
TEST(cmpxchg16b_is_atomic_between_vcpus)
{
	enum { ITERS = 20000 };
	static const uint8_t code[] = {
		0x48, 0x8b, 0x07,	      /* 0: mov rax, [rdi] */
		0x48, 0x8b, 0x57, 0x08,	      /* 3: mov rdx, [rdi + 8] */
		0x48, 0x8d, 0x58, 0x01,	      /* 7: lea rbx, [rax + 1] */
		0x48, 0x8d, 0x4a, 0x01,	      /* 11: lea rcx, [rdx + 1] */
		0xf0, 0x48, 0x0f, 0xc7, 0x0f, /* 15: lock cmpxchg16b [rdi] */
		0x75, 0xf1,		      /* 20: jnz 7 */
		0xff, 0xce,		      /* 22: dec esi */
		0x75, 0xe6,		      /* 24: jnz 0 */
	};
	uint64_t *m = (uint64_t *)&ram[DATA - RAM_BASE];
	struct soft_cpu cpu[2];
	pthread_t t[2];
	void *ret;
	int i;

	load(&cpu[0], code, sizeof(code));
	TEST_ASSERT_EQ(soft_cpu_init(&cpu[1], &ram_ops, NULL), 0);
	m[0] = m[1] = 0;
	for (i = 0; i < 2; i++) {
		cpu[i].rip = RAM_BASE;
		cpu[i].gpr[SOFT_RDI] = DATA;
		cpu[i].gpr[SOFT_RSI] = ITERS;
	}
	for (i = 0; i < 2; i++)
		TEST_ASSERT_EQ(pthread_create(&t[i], NULL, vcpu_run, &cpu[i]), 0);
	for (i = 0; i < 2; i++) {
		pthread_join(t[i], &ret);
		TEST_ASSERT_EQ((long)ret, (long)SOFT_EXIT_HLT);
		soft_cpu_destroy(&cpu[i]);
	}
	TEST_ASSERT_EQ(m[0], 2UL * ITERS);
	TEST_ASSERT_EQ(m[1], 2UL * ITERS);
}

TEST(cpuid_offers_what_is_implemented)
{
	struct soft_cpu cpu;

	load(&cpu, CODE(0xb8, 1, 0, 0, 0, 0x0f, 0xa2)); /* mov eax, 1; cpuid */
	run_to_hlt(&cpu);
	/* FPU, TSC, CX8, CMOV, FXSR, SSE, SSE2; CX16, POPCNT: nothing else. */
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RDX], 1UL | (1UL << 4) | (1UL << 8) | (1UL << 15) |
						  (1UL << 24) | (1UL << 25) | (1UL << 26));
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RCX], (1UL << 13) | (1UL << 23));
	soft_cpu_destroy(&cpu);
}

TEST(sse_outside_the_subset_names_itself)
{
	expect_unsupported(CODE(0x66, 0x0f, 0x38, 0x00, 0xc1), "pshufb");    /* SSSE3 */
	expect_unsupported(CODE(0x66, 0x0f, 0x3a, 0x15, 0xc1, 3), "pextrw"); /* SSE4.1 */
	expect_unsupported(CODE(0x0f, 0xfc, 0xc1), "paddb mm0");	     /* MMX */
	expect_unsupported(CODE(0xf2, 0x0f, 0xf0, 0x03), "lddqu");	     /* SSE3 */
	expect_unsupported(CODE(0xc5, 0xf9, 0x6f, 0xc1), "vmovdqa");	     /* VEX */
	expect_unsupported(CODE(0xc5, 0xf9, 0xef, 0xc1), "vpxor");
	/* maskmovdqu with an fs override: its implicit operand's segment is not modelled */
	expect_unsupported(CODE(0x64, 0x66, 0x0f, 0xf7, 0xc1), "maskmovdqu");
}

/* What the host's x87 reads back after fldcw @v. */
static uint16_t host_fcw_after(uint16_t v)
{
	uint16_t saved, r;

	__asm__ volatile("fnstcw %0" : "=m"(saved));
	__asm__ volatile("fldcw %1; fnstcw %0" : "=m"(r) : "m"(v));
	__asm__ volatile("fldcw %0" : : "m"(saved));
	return r;
}

/*
 * fldcw then fnstcw reads back what the host's x87 does (bit 6 set, bits
 * 13..15 clear); the status word is zero, as nothing runs on the x87; wait
 * and fnclex do nothing; fninit is 0x37f again.
 */
TEST(x87_control_word_as_the_host_keeps_it)
{
	static const uint16_t values[] = { 0, 0xffff, 0x027f, 0x0c7f, 0x037f };
	uint8_t *data = &ram[DATA - RAM_BASE];
	struct soft_cpu cpu;

	for (unsigned int i = 0; i < ARRAY_SIZE(values); i++) {
		/* fldcw [rbx]; wait; fnstcw [rbx+2]; fnstsw [rbx+4]; fnstsw ax; fnclex */
		load(&cpu, CODE(0xd9, 0x2b, 0x9b, 0xd9, 0x7b, 0x02, 0xdd, 0x7b, 0x04, 0xdf, 0xe0,
				0xdb, 0xe2));
		memcpy(data, &values[i], 2);
		cpu.gpr[SOFT_RAX] = 0x1234;
		run_to_hlt(&cpu);
		TEST_ASSERT_EQ(*(uint16_t *)&data[2], host_fcw_after(values[i]));
		TEST_ASSERT_EQ(*(uint16_t *)&data[4], 0);
		TEST_ASSERT_EQ(cpu.gpr[SOFT_RAX], 0UL);
		TEST_ASSERT_EQ(cpu.fcw, host_fcw_after(values[i]));
		soft_cpu_destroy(&cpu);
	}
	/* fldcw [rbx]; fninit; fnstcw [rbx+2] */
	load(&cpu, CODE(0xd9, 0x2b, 0xdb, 0xe3, 0xd9, 0x7b, 0x02));
	memcpy(data, &values[1], 2);
	run_to_hlt(&cpu);
	TEST_ASSERT_EQ(*(uint16_t *)&data[2], SOFT_FCW_RESET);
	soft_cpu_destroy(&cpu);
}

/* fxsave writes the control word fldcw set; fxrstor loads one as fldcw would. */
TEST(fxsave_and_fxrstor_keep_the_x87_control_word)
{
	uint8_t *data = &ram[DATA - RAM_BASE];
	uint16_t v = 0x0c7f, odd = 0xe000;
	struct soft_cpu cpu;

	/* fldcw [rbx]; fxsave [rbx+0x100]; fxrstor [rbx+0x300] */
	load(&cpu, CODE(0xd9, 0x2b, 0x0f, 0xae, 0x83, 0x00, 0x01, 0, 0, 0x0f, 0xae, 0x8b, 0x00,
			0x03, 0, 0));
	memcpy(data, &v, 2);
	memset(data + 0x300, 0, 512);
	memcpy(data + 0x300, &odd, 2);
	*(uint32_t *)&data[0x300 + 24] = SOFT_MXCSR_RESET;
	run_to_hlt(&cpu);
	TEST_ASSERT_EQ(*(uint16_t *)&data[0x100], 0x0c7f);
	TEST_ASSERT_EQ(cpu.fcw, host_fcw_after(odd));
	soft_cpu_destroy(&cpu);
}

/* The x87's transcendentals differ between processors: not offered (x87.c). */
TEST(x87_transcendentals_name_themselves)
{
	expect_unsupported(CODE(0xd9, 0xfe), "fsin");
	expect_unsupported(CODE(0xd9, 0xf2), "fptan");
	expect_unsupported(CODE(0xd9, 0xf0), "f2xm1");
}
