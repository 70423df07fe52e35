// SPDX-License-Identifier: GPL-2.0
/*
 * The soft vCPU's SSE and SSE2 against Unicorn: random sequences of the
 * SSE instructions the interpreter runs (tests/lib/soft_diff.h has the
 * runner), between integer moves that carry values to and from the xmm
 * registers; afterwards the general and xmm registers, MXCSR, the flags
 * and the data and stack pages must be equal.  Each instruction comes with
 * the redundant prefixes the architecture allows, in random order, so a
 * decoder that trusts the prefixes' positions is caught.
 *
 * Unicorn 2.0.1 checks neither the 16-byte alignment of SSE operands nor
 * MXCSR's reserved bits, and has no popcnt: tests/unit/soft/sse.c checks
 * those against the architecture.
 */
#include "tests/lib/soft_diff.h"
#include "tests/lib/test_util.h"

/* An xmm register, 0..15. */
static int xreg(struct gen *g)
{
	return rnd(g, 16);
}

/*
 * A 16-byte aligned memory operand: [rbx + 16k], [rbx + rbp*s - 16k]
 * (rbp is 16) or rip-relative.
 */
static struct rm rm_mem16(struct gen *g)
{
	switch (rnd(g, 3)) {
	case 0:
		return (struct rm){ .mem = true, .form = 0, .disp = ((int)rnd(g, 13) - 6) * 16 };
	case 1:
		if (!g->frame)
			return (struct rm){ .mem = true,
					    .form = 2,
					    .scale = rnd(g, 4),
					    .disp = -(int)rnd(g, 8) * 16 };
		/* fall through */
	default:
		return (struct rm){ .mem = true,
				    .form = 3,
				    .target = DATA_BASE + rnd(g, DATA_SIZE / 16) * 16 };
	}
}

/* An xmm register or an aligned m128. */
static struct rm rm_x128(struct gen *g)
{
	return rnd(g, 2) ? rm_reg(xreg(g)) : rm_mem16(g);
}

/*
 * Emit @pfx (0, 0x66, 0xf2 or 0xf3) [REX] 0F @opc..., with the redundant
 * prefixes the architecture allows in random order: now and then a
 * cs/ds/es/ss override (ignored in 64-bit mode) and a 67 (every data
 * address fits in 32 bits), and a REX with W=0 where it changes nothing.
 * @w: REX.W, which does change movd into movq.
 */
static void emit_op(struct gen *g, uint8_t pfx, const uint8_t *op, int oplen, bool w, int reg,
		    struct rm rm, uint64_t immv, int immlen)
{
	static const uint8_t segs[] = { 0x26, 0x2e, 0x36, 0x3e };
	unsigned int n = 0, i, j;
	uint8_t p[3], t;

	if (pfx)
		p[n++] = pfx;
	if (!rnd(g, 4))
		p[n++] = segs[rnd(g, 4)];
	if (!rnd(g, 4))
		p[n++] = 0x67;
	for (i = n; i > 1; i--) {
		j = rnd(g, i);
		t = p[i - 1];
		p[i - 1] = p[j];
		p[j] = t;
	}
	for (i = 0; i < n; i++)
		b(g, p[i]);
	emit(g, w ? 8 : 4, !rnd(g, 4), op, oplen, reg, rm, immv, immlen);
}

static void emit_sse(struct gen *g, uint8_t pfx, uint8_t opc, int reg, struct rm rm)
{
	emit_op(g, pfx, (const uint8_t[]){ 0x0f, opc }, 2, false, reg, rm, 0, 0);
}

static void emit_sse_imm(struct gen *g, uint8_t pfx, uint8_t opc, int reg, struct rm rm,
			 uint8_t immv)
{
	emit_op(g, pfx, (const uint8_t[]){ 0x0f, opc }, 2, false, reg, rm, immv, 1);
}

/* mov r32, imm32 (B8+r), for counts and MXCSR values. */
static void mov_imm32(struct gen *g, int reg, uint32_t v)
{
	if (reg & 8)
		b(g, 0x41);
	b(g, 0xb8 + (reg & 7));
	imm(g, v, 4);
}

/* movdqa movdqu movaps movups movapd movupd, loads and stores; movd and movq with a gpr. */
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
		emit_op(g, 0x66, (const uint8_t[]){ 0x0f, 0x6e }, 2, rnd(g, 2), xreg(g),
			rnd(g, 2) ? rm_mem(g, 8) : rm_reg(rreg(g)), 0, 0);
		return;
	case 1: /* movd/movq r/m, xmm: 66 [REX.W] 0F 7E */
		emit_op(g, 0x66, (const uint8_t[]){ 0x0f, 0x7e }, 2, rnd(g, 2), xreg(g),
			rnd(g, 2) ? rm_mem(g, 8) : rm_reg(wreg(g)), 0, 0);
		return;
	}
	rm = !rnd(g, 3) ? rm_reg(xreg(g)) : forms[f].aligned ? rm_mem16(g) : rm_mem(g, 16);
	emit_sse(g, forms[f].pfx, rnd(g, 2) || !rm.mem ? forms[f].load : forms[f].store, xreg(g),
		 rm);
}

/*
 * The partial moves: movss/movsd (a load zero-extends, a register move
 * merges), movlps/movhps/movlpd/movhpd, movhlps/movlhps, movq xmm (F3 0F
 * 7E, 66 0F D6), and the non-temporal stores movntdq/movntps/movntpd,
 * movnti and maskmovdqu.
 */
static void gen_sse_partial(struct gen *g)
{
	static const uint8_t lh[] = { 0x12, 0x16 }; /* movlps/movhlps, movhps/movlhps */
	uint8_t pfx;

	switch (rnd(g, 7)) {
	case 0: /* movss, movsd */
		pfx = rnd(g, 2) ? 0xf3 : 0xf2;
		emit_sse(g, pfx, 0x10 + rnd(g, 2), xreg(g),
			 rnd(g, 3) ? rm_mem(g, 8) : rm_reg(xreg(g)));
		/* 0x11 with a register is the store form between registers: merges too. */
		return;
	case 1: /* movlps, movhps, movlpd, movhpd: loads and stores */
		emit_sse(g, rnd(g, 2) ? 0x66 : 0, lh[rnd(g, 2)] + rnd(g, 2), xreg(g), rm_mem(g, 8));
		return;
	case 2: /* movhlps, movlhps */
		emit_sse(g, 0, lh[rnd(g, 2)], xreg(g), rm_reg(xreg(g)));
		return;
	case 3: /* movq xmm, xmm/m64; movq xmm/m64, xmm */
		if (rnd(g, 2))
			emit_sse(g, 0xf3, 0x7e, xreg(g),
				 rnd(g, 2) ? rm_mem(g, 8) : rm_reg(xreg(g)));
		else
			emit_sse(g, 0x66, 0xd6, xreg(g),
				 rnd(g, 2) ? rm_mem(g, 8) : rm_reg(xreg(g)));
		return;
	case 4: /* movntdq, movntps, movntpd */
		switch (rnd(g, 3)) {
		case 0:
			emit_sse(g, 0x66, 0xe7, xreg(g), rm_mem16(g));
			return;
		default:
			emit_sse(g, rnd(g, 2) ? 0x66 : 0, 0x2b, xreg(g), rm_mem16(g));
			return;
		}
	case 5: /* maskmovdqu: to [rdi], in the data pages */
		emit_sse(g, 0x66, 0xf7, xreg(g), rm_reg(xreg(g)));
		return;
	default: /* movnti m32/m64, r */
		emit_op(g, 0, (const uint8_t[]){ 0x0f, 0xc3 }, 2, rnd(g, 2), rreg(g), rm_mem(g, 8),
			0, 0);
		return;
	}
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

	emit_sse(g, ops[o].pfx, ops[o].opc, xreg(g), rm_x128(g));
}

/*
 * The packed integer ops, 66 0F op xmm, xmm/m128, and the interleaves of
 * the ps/pd forms.
 */
static void gen_sse_packed(struct gen *g)
{
	static const uint8_t ops[] = {
		0xfc, 0xfd, 0xfe, 0xd4, 0xf8, 0xf9, 0xfa, 0xfb, /* padd, psub: b w d q */
		0xec, 0xed, 0xdc, 0xdd, 0xe8, 0xe9, 0xd8, 0xd9, /* padd, psub: s[bw] us[bw] */
		0x74, 0x75, 0x76, 0x64, 0x65, 0x66,		/* pcmpeq, pcmpgt: b w d */
		0xda, 0xde, 0xea, 0xee, 0xe0, 0xe3, /* pminub pmaxub pminsw pmaxsw pavgb pavgw */
		0xd5, 0xe5, 0xe4, 0xf4, 0xf5, 0xf6, /* pmullw pmulhw pmulhuw pmuludq pmaddwd psadbw */
		0x60, 0x61, 0x62, 0x6c, 0x68, 0x69, 0x6a, 0x6d, /* punpck[lh]: bw wd dq qdq */
		0x63, 0x6b, 0x67,				/* packsswb packssdw packuswb */
	};

	if (!rnd(g, 10)) /* unpcklps unpckhps unpcklpd unpckhpd */
		emit_sse(g, rnd(g, 2) ? 0x66 : 0, 0x14 + rnd(g, 2), xreg(g), rm_x128(g));
	else
		emit_sse(g, 0x66, ops[rnd(g, sizeof(ops))], xreg(g), rm_x128(g));
}

/*
 * The shifts: by an immediate (66 0F 71/72/73 /n ib) and by the low
 * quadword of an xmm/m128 (66 0F D1..), with counts around each lane's
 * width; the xmm count is put there by movd from eax now and then.
 */
static void gen_sse_shift(struct gen *g)
{
	static const struct {
		uint8_t opc, ext, width; /* immediate form: opcode, /ext; lane bits */
		uint8_t by_xmm;		 /* the xmm-count form, 0 for none */
	} ops[] = {
		{ 0x71, 2, 16, 0xd1 }, { 0x72, 2, 32, 0xd2 }, { 0x73, 2, 64, 0xd3 }, /* psrl */
		{ 0x71, 4, 16, 0xe1 }, { 0x72, 4, 32, 0xe2 },			     /* psra */
		{ 0x71, 6, 16, 0xf1 }, { 0x72, 6, 32, 0xf2 }, { 0x73, 6, 64, 0xf3 }, /* psll */
		{ 0x73, 3, 16, 0 },    { 0x73, 7, 16, 0 }, /* psrldq, pslldq (bytes) */
	};
	unsigned int o = rnd(g, sizeof(ops) / sizeof(ops[0]));
	unsigned int count = rnd(g, 4) ? rnd(g, 2 * ops[o].width + 1) : rnd(g, 256);
	int x = xreg(g);

	if (!ops[o].by_xmm || rnd(g, 2)) {
		emit_sse_imm(g, 0x66, ops[o].opc, ops[o].ext, rm_reg(xreg(g)), count);
		return;
	}
	if (rnd(g, 3)) {
		mov_imm32(g, RAX, count);
		emit_op(g, 0x66, (const uint8_t[]){ 0x0f, 0x6e }, 2, false, x, rm_reg(RAX), 0, 0);
		emit_sse(g, 0x66, ops[o].by_xmm, xreg(g), rm_reg(x));
		return;
	}
	emit_sse(g, 0x66, ops[o].by_xmm, xreg(g), rm_x128(g));
}

/* pshufd pshuflw pshufhw shufps shufpd, pextrw pinsrw, pmovmskb movmskps movmskpd. */
static void gen_sse_shuffle(struct gen *g)
{
	static const uint8_t shuf_pfx[] = { 0x66, 0xf2, 0xf3 };

	switch (rnd(g, 5)) {
	case 0:
		emit_sse_imm(g, shuf_pfx[rnd(g, 3)], 0x70, xreg(g), rm_x128(g), rnd(g, 256));
		return;
	case 1:
		emit_sse_imm(g, rnd(g, 2) ? 0x66 : 0, 0xc6, xreg(g), rm_x128(g), rnd(g, 256));
		return;
	case 2: /* pextrw r32, xmm, imm */
		emit_sse_imm(g, 0x66, 0xc5, wreg(g), rm_reg(xreg(g)), rnd(g, 256));
		return;
	case 3: /* pinsrw xmm, r32/m16, imm */
		emit_sse_imm(g, 0x66, 0xc4, xreg(g), rnd(g, 2) ? rm_reg(rreg(g)) : rm_mem(g, 2),
			     rnd(g, 256));
		return;
	default: /* pmovmskb, movmskps, movmskpd */
		switch (rnd(g, 3)) {
		case 0:
			emit_sse(g, 0x66, 0xd7, wreg(g), rm_reg(xreg(g)));
			return;
		default:
			emit_sse(g, rnd(g, 2) ? 0x66 : 0, 0x50, wreg(g), rm_reg(xreg(g)));
			return;
		}
	}
}

/*
 * The loops of glibc's SSE2 strlen and memchr: a byte broadcast (movd,
 * punpcklbw, punpcklwd, pshufd 0) or a zeroed register, pcmpeqb against 16
 * loaded bytes, pmovmskb, and test of the mask.
 */
static void gen_sse_strlen(struct gen *g)
{
	int z = xreg(g), v = xreg(g), m = wreg(g);

	if (rnd(g, 2)) {
		emit_sse(g, 0x66, 0xef, z, rm_reg(z)); /* pxor z, z */
	} else {
		mov_imm32(g, RAX, rnd(g, 256));
		emit_sse(g, 0x66, 0x6e, z, rm_reg(RAX)); /* movd z, eax */
		emit_sse(g, 0x66, 0x60, z, rm_reg(z));	 /* punpcklbw z, z */
		emit_sse(g, 0x66, 0x61, z, rm_reg(z));	 /* punpcklwd z, z */
		emit_sse_imm(g, 0x66, 0x70, z, rm_reg(z), 0);
	}
	if (rnd(g, 2))
		emit_sse(g, 0xf3, 0x6f, v, rm_mem(g, 16)); /* movdqu */
	else
		emit_sse(g, 0x66, 0x6f, v, rm_mem16(g));		     /* movdqa */
	emit_sse(g, 0x66, 0x74, z, rm_reg(v));				     /* pcmpeqb z, v */
	emit_sse(g, 0x66, 0xd7, m, rm_reg(z));				     /* pmovmskb m, z */
	emit(g, 4, false, (const uint8_t[]){ 0x85 }, 1, m, rm_reg(m), 0, 0); /* test m, m */
	g->defined = ALL & ~AF;
}

/*
 * ldmxcsr of a valid value (exceptions masked, any rounding, sticky flags,
 * FTZ and DAZ) and stmxcsr; fxsave, and fxrstor of what it saved with now
 * and then an xmm slot overwritten.  Unicorn 2.0.1 leaves fxsave's FOP
 * field alone where the processor writes it (zero here, the x87 being
 * idle): the sequence zeroes it before.
 */
static void gen_sse_state(struct gen *g)
{
	uint32_t mxcsr = 0x1f80 | rnd(g, 4) << 13 | rnd(g, 64);
	struct rm rm = rm_mem(g, 4), area;

	switch (rnd(g, 3)) {
	case 0:
		if (!rnd(g, 4))
			mxcsr |= rnd(g, 2) ? 0x8000 : 0x40;
		emit(g, 4, false, (const uint8_t[]){ 0xc7 }, 1, 0, rm, mxcsr, 4);
		emit_sse(g, 0, 0xae, 2, rm); /* ldmxcsr */
		return;
	case 1:
		emit_sse(g, 0, 0xae, 3, rm); /* stmxcsr */
		return;
	}
	/* A 512-byte area in the data pages, sometimes across their boundary at rbx. */
	area = (struct rm){ .mem = true, .form = 1, .disp = ((int)rnd(g, 225) - 256) * 16 };
	rm = area;
	rm.disp += 6;
	emit(g, 2, false, (const uint8_t[]){ 0xc7 }, 1, 0, rm, 0, 2);
	emit_op(g, 0, (const uint8_t[]){ 0x0f, 0xae }, 2, rnd(g, 2), 0, area, 0, 0); /* fxsave */
	if (rnd(g, 2))
		return;
	if (rnd(g, 2)) {
		rm = area;
		rm.disp += 160 + 16 * rnd(g, 16);
		emit_sse(g, 0x66, 0x7f, xreg(g), rm); /* movdqa [slot], x */
	}
	emit_op(g, 0, (const uint8_t[]){ 0x0f, 0xae }, 2, rnd(g, 2), 1, area, 0, 0); /* fxrstor */
}

/*
 * prefetchnta/t0/t1/t2 (no access), cmpxchg8b and cmpxchg16b, locked or
 * not, half of them with rdx:rax loaded from the operand so they succeed.
 * Unicorn 2.0.1 gives these the arithmetic flags from before the last
 * flag-setting instruction (but ZF): only ZF is compared after them, and
 * tests/unit/soft/sse.c checks the rest are kept.
 */
static void gen_sse_misc(struct gen *g)
{
	bool wide = rnd(g, 2);
	struct rm rm, hi;

	if (!rnd(g, 3)) {
		emit_op(g, 0, (const uint8_t[]){ 0x0f, 0x18 }, 2, false, rnd(g, 4), rm_mem(g, 8), 0,
			0);
		return;
	}
	rm = wide ? rm_mem16(g) : rm_mem(g, 8);
	if (rnd(g, 2)) {
		hi = rm;
		hi.disp += wide ? 8 : 4;
		hi.target += wide ? 8 : 4;
		emit(g, wide ? 8 : 4, false, (const uint8_t[]){ 0x8b }, 1, RAX, rm, 0, 0);
		emit(g, wide ? 8 : 4, false, (const uint8_t[]){ 0x8b }, 1, RDX, hi, 0, 0);
	}
	if (rnd(g, 2))
		b(g, 0xf0);
	emit_op(g, 0, (const uint8_t[]){ 0x0f, 0xc7 }, 2, wide, 1, rm, 0, 0);
	g->defined = ZF;
}

static void gen_one(struct gen *g)
{
	switch (rnd(g, 10)) {
	case 0:
		gen_sse_mov(g);
		break;
	case 1:
		gen_sse_partial(g);
		break;
	case 2:
		gen_sse_logic(g);
		break;
	case 3:
	case 4:
		gen_sse_packed(g);
		break;
	case 5:
		gen_sse_shift(g);
		break;
	case 6:
		gen_sse_shuffle(g);
		break;
	case 7:
		gen_sse_strlen(g);
		break;
	case 8:
		gen_sse_state(g);
		break;
	default:
		gen_sse_misc(g);
		break;
	}
}

TEST(sse_against_unicorn)
{
	soft_diff_run(0x737365, 6500, false, gen_one);
}

TEST(sse_against_unicorn_with_retries)
{
	unsigned long injected = soft_diff_run(0x737365726574, 1500, true, gen_one);

	TEST_ASSERT(injected > 500, "only %lu retries injected", injected);
}
