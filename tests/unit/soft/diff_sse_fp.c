// SPDX-License-Identifier: GPL-2.0
/*
 * The soft vCPU's SSE/SSE2 floating point against Unicorn: random
 * sequences of arithmetic, compares, conversions and float shuffles (the
 * runner is tests/lib/soft_diff.h, which starts each sequence from xmm
 * registers holding special values now and then, and from a random
 * rounding mode, FTZ or DAZ); afterwards the general and xmm registers,
 * MXCSR's control bits, the flags and memory must be equal.
 *
 * Unicorn 2.0.1 is QEMU 5's softfloat, which differs from the hardware in
 * ways the generator steps around, and which tests/unit/soft/sse_fp.c pins
 * against the host's own instructions instead:
 * - it never sets MXCSR's exception flags, so only the control bits are
 *   compared;
 * - with a NaN in both operands it picks one as the x87 does (the larger
 *   significand), where SSE returns the first operand's: before a
 *   two-operand op the destination's NaN lanes are zeroed (cmpord and and,
 *   through the scratch register xmm15), so at most the source is a NaN;
 * - FTZ under a directed rounding mode can leave the smallest denormal
 *   where the hardware flushes to zero, and cvtsd2ss and cvtpd2ps ignore
 *   FTZ: the sequences start with FTZ clear;
 * - min and max under DAZ return a denormal operand as it is, where the
 *   hardware returns the zero it read: they run in sequences of their own,
 *   which start with DAZ clear too;
 * - a compare with a predicate above 7 is #UD, where the hardware ignores
 *   the immediate's high bits.
 */
#include "tests/lib/soft_diff.h"
#include "tests/lib/test_util.h"

#define SCRATCH 15

/* An xmm register the sequences compute in: xmm0..xmm14. */
static int freg(struct gen *g)
{
	return rnd(g, 15);
}

/* A 16-byte aligned memory operand, [rbx + 16*k], for the packed forms. */
static struct rm rm_aligned(struct gen *g)
{
	return (struct rm){ .mem = true, .form = 0, .disp = ((int)rnd(g, 13) - 6) * 16 };
}

/* An xmm register or a memory operand of @size bytes (16: aligned). */
static struct rm rm_fp(struct gen *g, unsigned int size)
{
	if (rnd(g, 3))
		return rm_reg(freg(g));
	return size == 16 ? rm_aligned(g) : rm_mem(g, size);
}

/*
 * The same for an instruction with an immediate: Unicorn 2.0.1 addresses
 * a rip-relative operand followed by an immediate one byte short (the
 * soft vCPU's README), so those use [rbx + d32] instead.
 */
static struct rm rm_fp_imm(struct gen *g, unsigned int size)
{
	struct rm rm = rm_fp(g, size);

	if (rm.mem && rm.form == 3)
		rm = (struct rm){ .mem = true, .form = 1, .disp = (int)rnd(g, 0x800) - 0x400 };
	return rm;
}

/* [@pfx] [REX] 0F @opc /r [ib]; @wide sets REX.W. */
static void emit_fp(struct gen *g, uint8_t pfx, uint8_t opc, bool wide, int reg, struct rm rm,
		    int immlen, uint8_t immv)
{
	if (pfx)
		b(g, pfx);
	emit(g, wide ? 8 : 4, false, (const uint8_t[]){ 0x0f, opc }, 2, reg, rm, immv, immlen);
}

/* Zero the NaN lanes of @x (see the top of the file); @pd: as doubles. */
static void no_nan(struct gen *g, int x, bool pd)
{
	uint8_t pfx = pd ? 0x66 : 0;

	emit_fp(g, 0, 0x28, false, SCRATCH, rm_reg(x), 0, 0);	      /* movaps */
	emit_fp(g, pfx, 0xc2, false, SCRATCH, rm_reg(SCRATCH), 1, 7); /* cmpordp[sd] */
	emit_fp(g, pfx, 0x54, false, x, rm_reg(SCRATCH), 0, 0);	      /* andp[sd] */
}

/* The prefix of a form: ps, pd, ss, sd. */
static const uint8_t form_pfx[4] = { 0, 0x66, 0xf3, 0xf2 };
static const uint8_t form_size[4] = { 16, 16, 4, 8 };

/* @opc (add sub mul div sqrt, min max) in one of the four forms. */
static void gen_arith_op(struct gen *g, uint8_t opc)
{
	unsigned int f = rnd(g, 4);
	int x = freg(g);

	if (opc != 0x51)
		no_nan(g, x, f & 1);
	emit_fp(g, form_pfx[f], opc, false, x, rm_fp(g, form_size[f]), 0, 0);
}

static void gen_arith(struct gen *g)
{
	static const uint8_t opc[] = { 0x58, 0x5c, 0x59, 0x5e, 0x51 };

	gen_arith_op(g, opc[rnd(g, 5)]);
}

/* cmpps cmppd cmpss cmpsd with each predicate. */
static void gen_cmp(struct gen *g)
{
	unsigned int f = rnd(g, 4);

	emit_fp(g, form_pfx[f], 0xc2, false, freg(g), rm_fp_imm(g, form_size[f]), 1, rnd(g, 8));
}

/* ucomiss ucomisd comiss comisd: ZF, PF, CF from the compare, OF, SF, AF cleared. */
static void gen_comi(struct gen *g)
{
	bool pd = rnd(g, 2);

	emit_fp(g, pd ? 0x66 : 0, rnd(g, 2) ? 0x2e : 0x2f, false, freg(g), rm_fp(g, pd ? 8 : 4), 0,
		0);
	g->defined = ALL;
}

/* cvtsi2ss cvtsi2sd from r/m32 and r/m64; cvt(t)ss2si cvt(t)sd2si to r32 and r64. */
static void gen_cvt_int(struct gen *g)
{
	bool sd = rnd(g, 2), wide = rnd(g, 2);
	uint8_t pfx = sd ? 0xf2 : 0xf3;

	if (rnd(g, 2)) {
		emit_fp(g, pfx, 0x2a, wide, freg(g),
			rnd(g, 3) ? rm_reg(rreg(g)) : rm_mem(g, wide ? 8 : 4), 0, 0);
		return;
	}
	emit_fp(g, pfx, rnd(g, 2) ? 0x2d : 0x2c, wide, wreg(g), rm_fp(g, sd ? 8 : 4), 0, 0);
}

/* The conversions between formats, and between packed integers and floats. */
static void gen_cvt(struct gen *g)
{
	static const struct {
		uint8_t pfx, opc, size;
	} cvt[] = {
		{ 0xf3, 0x5a, 4 },  /* cvtss2sd */
		{ 0xf2, 0x5a, 8 },  /* cvtsd2ss */
		{ 0, 0x5a, 8 },	    /* cvtps2pd */
		{ 0x66, 0x5a, 16 }, /* cvtpd2ps */
		{ 0, 0x5b, 16 },    /* cvtdq2ps */
		{ 0x66, 0x5b, 16 }, /* cvtps2dq */
		{ 0xf3, 0x5b, 16 }, /* cvttps2dq */
		{ 0xf3, 0xe6, 8 },  /* cvtdq2pd */
		{ 0xf2, 0xe6, 16 }, /* cvtpd2dq */
		{ 0x66, 0xe6, 16 }, /* cvttpd2dq */
	};
	unsigned int c = rnd(g, 10);
	struct rm rm = rm_fp(g, cvt[c].size);

	/* Unicorn loads 16 bytes for a cvtdq2pd from memory: not from the last 8 of the page. */
	if (rm.mem && rm.form == 3 && rm.target > DATA_BASE + DATA_SIZE - 16)
		rm.target -= 8;
	emit_fp(g, cvt[c].pfx, cvt[c].opc, false, freg(g), rm, 0, 0);
}

/* shufps shufpd unpcklps unpckhps unpcklpd unpckhpd movmskps movmskpd; movss movsd. */
static void gen_shuffle(struct gen *g)
{
	uint8_t pfx = rnd(g, 2) ? 0x66 : 0;
	bool sd = rnd(g, 2);

	switch (rnd(g, 4)) {
	case 3: /* movss/movsd: 0F 10 loads or moves, 0F 11 stores */
		if (rnd(g, 3))
			emit_fp(g, sd ? 0xf2 : 0xf3, 0x10, false, freg(g), rm_fp(g, sd ? 8 : 4), 0,
				0);
		else
			emit_fp(g, sd ? 0xf2 : 0xf3, 0x11, false, freg(g), rm_mem(g, sd ? 8 : 4), 0,
				0);
		break;
	case 0:
		emit_fp(g, pfx, 0xc6, false, freg(g), rm_fp_imm(g, 16), 1, rnd(g, 256));
		break;
	case 1:
		emit_fp(g, pfx, rnd(g, 2) ? 0x14 : 0x15, false, freg(g), rm_fp(g, 16), 0, 0);
		break;
	default:
		emit_fp(g, pfx, 0x50, rnd(g, 2), wreg(g), rm_reg(freg(g)), 0, 0);
		break;
	}
}

static void gen_one(struct gen *g)
{
	switch (rnd(g, 8)) {
	case 0:
	case 1:
	case 2:
		gen_arith(g);
		break;
	case 3:
		gen_cmp(g);
		break;
	case 4:
		gen_comi(g);
		break;
	case 5:
		gen_cvt_int(g);
		break;
	case 6:
		gen_cvt(g);
		break;
	default:
		gen_shuffle(g);
		break;
	}
}

/* min and max, which Unicorn gets wrong under DAZ. */
static void gen_one_no_daz(struct gen *g)
{
	gen_arith_op(g, rnd(g, 2) ? 0x5d : 0x5f);
}

#define MXCSR_FLAGS 0x3fu
#define MXCSR_DAZ 0x40u
#define MXCSR_FTZ 0x8000u

TEST(sse_fp_against_unicorn)
{
	soft_diff_mxcsr_mask = ~MXCSR_FLAGS;
	soft_diff_mxcsr_clear = MXCSR_FTZ;
	soft_diff_run(0x66706670, 4500, false, gen_one);
}

TEST(sse_fp_min_max_against_unicorn)
{
	soft_diff_mxcsr_mask = ~MXCSR_FLAGS;
	soft_diff_mxcsr_clear = MXCSR_FTZ | MXCSR_DAZ;
	soft_diff_run(0x6e6f66747a, 500, false, gen_one_no_daz);
}

TEST(sse_fp_against_unicorn_with_retries)
{
	unsigned long injected;

	soft_diff_mxcsr_mask = ~MXCSR_FLAGS;
	soft_diff_mxcsr_clear = MXCSR_FTZ;
	injected = soft_diff_run(0x6670726574, 1000, true, gen_one);
	TEST_ASSERT(injected > 500, "only %lu retries injected", injected);
}
