// SPDX-License-Identifier: GPL-2.0
/*
 * The soft vCPU's SSE and SSE2 against Unicorn: random sequences of the
 * SSE instructions the interpreter runs (tests/lib/soft_diff.h has the
 * runner), between integer moves that carry values to and from the xmm
 * registers; afterwards the general and xmm registers, MXCSR, the flags
 * and the data and stack pages must be equal.
 */
#include "tests/lib/soft_diff.h"
#include "tests/lib/test_util.h"

/* An xmm register, 0..15. */
static int xreg(struct gen *g)
{
	return rnd(g, 16);
}

/* A 16-byte aligned memory operand: [rbx + 16*k]. */
static struct rm rm_mem16(struct gen *g)
{
	return (struct rm){ .mem = true, .form = 0, .disp = ((int)rnd(g, 13) - 6) * 16 };
}

/* @pfx (0, 0x66, 0xf3 or 0xf2) 0F @opc, xmm, xmm/m. */
static void emit_sse(struct gen *g, uint8_t pfx, uint8_t opc, int reg, struct rm rm)
{
	const uint8_t op[2] = { 0x0f, opc };

	if (pfx)
		b(g, pfx);
	emit(g, 4, false, op, 2, reg, rm, 0, 0);
}

/* movdqa movdqu movaps movups movapd movupd, loads and stores; movd and movq. */
static void gen_sse_mov(struct gen *g)
{
	static const struct {
		uint8_t pfx, load, store;
		bool aligned;
	} forms[] = {
		{ 0x66, 0x6f, 0x7f, true }, { 0xf3, 0x6f, 0x7f, false },
		{ 0, 0x28, 0x29, true },    { 0, 0x10, 0x11, false },
		{ 0x66, 0x28, 0x29, true }, { 0x66, 0x10, 0x11, false },
	};
	unsigned int f = rnd(g, 6);
	struct rm rm;

	switch (rnd(g, 4)) {
	case 0: /* movd/movq xmm, r/m: 66 [REX.W] 0F 6E */
		b(g, 0x66);
		emit(g, rnd(g, 2) ? 8 : 4, false, (const uint8_t[]){ 0x0f, 0x6e }, 2, xreg(g),
		     rnd(g, 2) ? rm_mem(g, 8) : rm_reg(rreg(g)), 0, 0);
		return;
	case 1: /* movd/movq r/m, xmm: 66 [REX.W] 0F 7E */
		b(g, 0x66);
		emit(g, rnd(g, 2) ? 8 : 4, false, (const uint8_t[]){ 0x0f, 0x7e }, 2, xreg(g),
		     rnd(g, 2) ? rm_mem(g, 8) : rm_reg(wreg(g)), 0, 0);
		return;
	}
	rm = !rnd(g, 3) ? rm_reg(xreg(g)) : forms[f].aligned ? rm_mem16(g) : rm_mem(g, 16);
	emit_sse(g, forms[f].pfx, rnd(g, 2) || !rm.mem ? forms[f].load : forms[f].store, xreg(g),
		 rm);
}

/* pxor por pand pandn, and the ps/pd logic ops. */
static void gen_sse_logic(struct gen *g)
{
	static const struct {
		uint8_t pfx, opc;
	} ops[] = { { 0x66, 0xef }, { 0x66, 0xeb }, { 0x66, 0xdb }, { 0x66, 0xdf },
		    { 0, 0x57 },    { 0, 0x56 },    { 0, 0x54 },    { 0, 0x55 },
		    { 0x66, 0x57 }, { 0x66, 0x56 }, { 0x66, 0x54 }, { 0x66, 0x55 } };
	unsigned int o = rnd(g, 12);

	emit_sse(g, ops[o].pfx, ops[o].opc, xreg(g), rnd(g, 2) ? rm_reg(xreg(g)) : rm_mem16(g));
}

static void gen_one(struct gen *g)
{
	switch (rnd(g, 2)) {
	case 0:
		gen_sse_mov(g);
		break;
	default:
		gen_sse_logic(g);
		break;
	}
}

TEST(sse_against_unicorn)
{
	soft_diff_run(0x737365, 4000, false, gen_one);
}

TEST(sse_against_unicorn_with_retries)
{
	unsigned long injected = soft_diff_run(0x737365726574, 1000, true, gen_one);

	TEST_ASSERT(injected > 500, "only %lu retries injected", injected);
}
