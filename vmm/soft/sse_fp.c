// SPDX-License-Identifier: GPL-2.0
/*
 * SSE and SSE2 floating point: scalar and packed single and double
 * arithmetic, compares and conversions, rounded and flagged as MXCSR says
 * (the moves and float-domain shuffles are sse.c's).
 *
 * The arithmetic is the host's own.  This file only runs where the host is
 * x86-64, whose SSE2 is the architecture being emulated: each instruction
 * runs as itself on the host, on copies of the guest's operands, with the
 * host's MXCSR set to the guest's rounding mode, FTZ and DAZ, every
 * exception masked and every flag clear.  That is faithful bit for bit:
 * the result of an SSE instruction with its exceptions masked is a
 * function of its operands and of those MXCSR bits alone (IEEE 754's
 * defaults, plus the x86 rules for NaN operands, the integer indefinite
 * and denormals, which the host applies because it is the same
 * architecture), and the flags the host raises are the ones the guest's
 * instruction raises.  What masking changes is what happens after an
 * exception, which fp_raise() and fp_lane_flags() do for the guest as the
 * architecture says.
 * A softfloat would have to rebuild each of those x86 rules; QEMU's does
 * not, in the versions the differential test runs against (its generator
 * says where).
 *
 * rcpps, rsqrtps, rcpss and rsqrtss are left out: their approximations
 * differ between processor generations and vendors, so no host result is
 * "the hardware's", and the soft vCPU would answer differently on two
 * machines.
 */
#include <capstone/capstone.h>
#include <string.h>

#include "vmm/soft/interp.h"

#if !defined(__x86_64__)
#error "sse_fp.c runs SSE instructions on the host: an x86-64 host"
#endif

#define MXCSR_FLAGS 0x3fu /* IE DE ZE OE UE PE, sticky */
#define MXCSR_IE 0x01u
#define MXCSR_DE 0x02u
#define MXCSR_ZE 0x04u
#define MXCSR_OE 0x08u
#define MXCSR_UE 0x10u
#define MXCSR_PE 0x20u
#define MXCSR_DAZ 0x40u
#define MXCSR_MASKS 0x1f80u /* IM .. PM, each 7 bits above its flag */
#define MXCSR_OM 0x400u
#define MXCSR_UM 0x800u
#define MXCSR_FTZ 0x8000u

/*
 * One instruction as the host runs it: xmm0 is the destination, xmm1 the
 * source (a memory operand is loaded into it first), rax the general
 * register of a conversion.  @mxcsr goes in as the host's MXCSR for the
 * instruction and comes out as the host's MXCSR after it.
 */
struct host_fp {
	union soft_xmm d, s;
	uint64_t gpr;
	uint32_t mxcsr;
	uint8_t zf, pf, cf; /* (u)comis */
};

typedef void (*host_fp_fn)(struct host_fp *h);

/*
 * The host's own MXCSR is saved and restored inside the same asm statement
 * as the instruction, so no code of the compiler's runs under the guest's.
 */
#define HOST_FP(name, insn)                                                                        \
	static void host_##name(struct host_fp *h)                                                 \
	{                                                                                          \
		uint32_t saved;                                                                    \
                                                                                                   \
		asm volatile("stmxcsr %[saved]\n\t"                                                \
			     "ldmxcsr %[mx]\n\t"                                                   \
			     "movdqu %[d], %%xmm0\n\t"                                             \
			     "movdqu %[s], %%xmm1\n\t" insn "\n\t"                                 \
			     "setz %[zf]\n\t"                                                      \
			     "setp %[pf]\n\t"                                                      \
			     "setc %[cf]\n\t"                                                      \
			     "stmxcsr %[mx]\n\t"                                                   \
			     "ldmxcsr %[saved]\n\t"                                                \
			     "movdqu %%xmm0, %[d]"                                                 \
			     : [d] "+m"(h->d), [mx] "+m"(h->mxcsr), [saved] "=m"(saved),           \
			       "+a"(h->gpr), [zf] "=q"(h->zf), [pf] "=q"(h->pf), [cf] "=q"(h->cf)  \
			     : [s] "m"(h->s)                                                       \
			     : "xmm0", "xmm1", "cc");                                              \
	}

/* The four forms of an arithmetic op: ps, pd, ss, sd. */
#define HOST_FP4(op)                                                                               \
	HOST_FP(op##ps, #op "ps %%xmm1, %%xmm0")                                                   \
	HOST_FP(op##pd, #op "pd %%xmm1, %%xmm0")                                                   \
	HOST_FP(op##ss, #op "ss %%xmm1, %%xmm0")                                                   \
	HOST_FP(op##sd, #op "sd %%xmm1, %%xmm0")

HOST_FP4(add)
HOST_FP4(sub)
HOST_FP4(mul)
HOST_FP4(div)
HOST_FP4(min)
HOST_FP4(max)
HOST_FP4(sqrt)

/* The compares: the predicate is an immediate, so one function per predicate. */
#define HOST_CMP(form)                                                                             \
	HOST_FP(cmp##form##0, "cmp" #form " $0, %%xmm1, %%xmm0")                                   \
	HOST_FP(cmp##form##1, "cmp" #form " $1, %%xmm1, %%xmm0")                                   \
	HOST_FP(cmp##form##2, "cmp" #form " $2, %%xmm1, %%xmm0")                                   \
	HOST_FP(cmp##form##3, "cmp" #form " $3, %%xmm1, %%xmm0")                                   \
	HOST_FP(cmp##form##4, "cmp" #form " $4, %%xmm1, %%xmm0")                                   \
	HOST_FP(cmp##form##5, "cmp" #form " $5, %%xmm1, %%xmm0")                                   \
	HOST_FP(cmp##form##6, "cmp" #form " $6, %%xmm1, %%xmm0")                                   \
	HOST_FP(cmp##form##7, "cmp" #form " $7, %%xmm1, %%xmm0")                                   \
	static const host_fp_fn host_cmp##form[8] = {                                              \
		host_cmp##form##0, host_cmp##form##1, host_cmp##form##2, host_cmp##form##3,        \
		host_cmp##form##4, host_cmp##form##5, host_cmp##form##6, host_cmp##form##7,        \
	};

HOST_CMP(ps)
HOST_CMP(pd)
HOST_CMP(ss)
HOST_CMP(sd)

HOST_FP(ucomiss, "ucomiss %%xmm1, %%xmm0")
HOST_FP(ucomisd, "ucomisd %%xmm1, %%xmm0")
HOST_FP(comiss, "comiss %%xmm1, %%xmm0")
HOST_FP(comisd, "comisd %%xmm1, %%xmm0")

HOST_FP(cvtsi2ssl, "cvtsi2ssl %%eax, %%xmm0")
HOST_FP(cvtsi2ssq, "cvtsi2ssq %%rax, %%xmm0")
HOST_FP(cvtsi2sdl, "cvtsi2sdl %%eax, %%xmm0")
HOST_FP(cvtsi2sdq, "cvtsi2sdq %%rax, %%xmm0")
HOST_FP(cvtss2sil, "cvtss2si %%xmm1, %%eax")
HOST_FP(cvtss2siq, "cvtss2si %%xmm1, %%rax")
HOST_FP(cvtsd2sil, "cvtsd2si %%xmm1, %%eax")
HOST_FP(cvtsd2siq, "cvtsd2si %%xmm1, %%rax")
HOST_FP(cvttss2sil, "cvttss2si %%xmm1, %%eax")
HOST_FP(cvttss2siq, "cvttss2si %%xmm1, %%rax")
HOST_FP(cvttsd2sil, "cvttsd2si %%xmm1, %%eax")
HOST_FP(cvttsd2siq, "cvttsd2si %%xmm1, %%rax")
HOST_FP(cvtss2sd, "cvtss2sd %%xmm1, %%xmm0")
HOST_FP(cvtsd2ss, "cvtsd2ss %%xmm1, %%xmm0")
HOST_FP(cvtps2pd, "cvtps2pd %%xmm1, %%xmm0")
HOST_FP(cvtpd2ps, "cvtpd2ps %%xmm1, %%xmm0")
HOST_FP(cvtdq2ps, "cvtdq2ps %%xmm1, %%xmm0")
HOST_FP(cvtdq2pd, "cvtdq2pd %%xmm1, %%xmm0")
HOST_FP(cvtps2dq, "cvtps2dq %%xmm1, %%xmm0")
HOST_FP(cvttps2dq, "cvttps2dq %%xmm1, %%xmm0")
HOST_FP(cvtpd2dq, "cvtpd2dq %%xmm1, %%xmm0")
HOST_FP(cvttpd2dq, "cvttpd2dq %%xmm1, %%xmm0")

/* Where an instruction's operands come from and its result goes. */
enum fp_kind {
	FP_XMM,	     /* xmm, xmm/m: the result is the destination register */
	FP_CMP,	     /* the same, the host function chosen by the predicate */
	FP_COMI,     /* xmm, xmm/m: the result is ZF, PF, CF */
	FP_FROM_GPR, /* cvtsi2ss/sd xmm, r/m32 or r/m64 */
	FP_TO_GPR,   /* cvt(t)ss/sd2si r32 or r64, xmm/m */
};

/*
 * An instruction whose result may overflow or be tiny: its lanes (the
 * low bits), its operands' and its result's format, and how its result's
 * significand depends on its operands' (fp_significand_inexact()).
 */
#define T_LANES 0x07
#define T_IN64 0x08  /* the operands are doubles */
#define T_OUT64 0x10 /* the result is */
#define T_PROD 0x20  /* mul, div, a conversion: on each operand's significand alone */
#define T_SUM 0x40   /* add, sub: on both at one scale */

struct fp_op {
	uint8_t kind;
	uint8_t size;	 /* bytes of a memory source */
	uint8_t tiny;	 /* T_*, 0 if the result is never tiny and never overflows */
	bool align16;	 /* a memory source must be 16-byte aligned */
	host_fp_fn fn;	 /* FP_TO_GPR, FP_FROM_GPR: the 32-bit form */
	host_fp_fn fn64; /* their 64-bit form */
	const host_fp_fn *cmp;
};

/*
 * The arithmetic's four forms; @t: T_PROD or T_SUM, or 0 for min and max
 * (which return an operand) and sqrt (never smaller than its operand).
 */
#define ARITH(OP, op, t)                                                                           \
	[FP_##OP##PS] = { FP_XMM, 16, (t) ? 4 | (t) : 0, true, host_##op##ps },                    \
	[FP_##OP##PD] = { FP_XMM, 16, (t) ? 2 | T_IN64 | T_OUT64 | (t) : 0, true, host_##op##pd }, \
	[FP_##OP##SS] = { FP_XMM, 4, (t) ? 1 | (t) : 0, false, host_##op##ss },                    \
	[FP_##OP##SD] = { FP_XMM, 8, (t) ? 1 | T_IN64 | T_OUT64 | (t) : 0, false, host_##op##sd }

/*
 * The table, in an order of its own; fp_index[] maps a Capstone id to an
 * entry (0: not here), so the lookup is two loads.
 */
enum fp_entry {
	FP_NONE,
	FP_ADDPS = 1,
	FP_ADDPD,
	FP_ADDSS,
	FP_ADDSD,
	FP_SUBPS,
	FP_SUBPD,
	FP_SUBSS,
	FP_SUBSD,
	FP_MULPS,
	FP_MULPD,
	FP_MULSS,
	FP_MULSD,
	FP_DIVPS,
	FP_DIVPD,
	FP_DIVSS,
	FP_DIVSD,
	FP_MINPS,
	FP_MINPD,
	FP_MINSS,
	FP_MINSD,
	FP_MAXPS,
	FP_MAXPD,
	FP_MAXSS,
	FP_MAXSD,
	FP_SQRTPS,
	FP_SQRTPD,
	FP_SQRTSS,
	FP_SQRTSD,
	FP_CMPPS,
	FP_CMPPD,
	FP_CMPSS,
	FP_CMPSD,
	FP_UCOMISS,
	FP_UCOMISD,
	FP_COMISS,
	FP_COMISD,
	FP_CVTSI2SS,
	FP_CVTSI2SD,
	FP_CVTSS2SI,
	FP_CVTSD2SI,
	FP_CVTTSS2SI,
	FP_CVTTSD2SI,
	FP_CVTSS2SD,
	FP_CVTSD2SS,
	FP_CVTPS2PD,
	FP_CVTPD2PS,
	FP_CVTDQ2PS,
	FP_CVTDQ2PD,
	FP_CVTPS2DQ,
	FP_CVTTPS2DQ,
	FP_CVTPD2DQ,
	FP_CVTTPD2DQ,
	FP_NR_ENTRIES,
};

static const struct fp_op fp_ops[FP_NR_ENTRIES] = {
	ARITH(ADD, add, T_SUM),
	ARITH(SUB, sub, T_SUM),
	ARITH(MUL, mul, T_PROD),
	ARITH(DIV, div, T_PROD),
	ARITH(MIN, min, 0),
	ARITH(MAX, max, 0),
	ARITH(SQRT, sqrt, 0),
	/* A compare's result is a mask, never a tiny number. */
	[FP_CMPPS] = { FP_CMP, 16, 0, true, NULL, NULL, host_cmpps },
	[FP_CMPPD] = { FP_CMP, 16, 0, true, NULL, NULL, host_cmppd },
	[FP_CMPSS] = { FP_CMP, 4, 0, false, NULL, NULL, host_cmpss },
	[FP_CMPSD] = { FP_CMP, 8, 0, false, NULL, NULL, host_cmpsd },
	[FP_UCOMISS] = { FP_COMI, 4, 0, false, host_ucomiss },
	[FP_UCOMISD] = { FP_COMI, 8, 0, false, host_ucomisd },
	[FP_COMISS] = { FP_COMI, 4, 0, false, host_comiss },
	[FP_COMISD] = { FP_COMI, 8, 0, false, host_comisd },
	/* An integer converts to a normal number or zero: never tiny. */
	[FP_CVTSI2SS] = { FP_FROM_GPR, 0, 0, false, host_cvtsi2ssl, host_cvtsi2ssq },
	[FP_CVTSI2SD] = { FP_FROM_GPR, 0, 0, false, host_cvtsi2sdl, host_cvtsi2sdq },
	[FP_CVTSS2SI] = { FP_TO_GPR, 4, 0, false, host_cvtss2sil, host_cvtss2siq },
	[FP_CVTSD2SI] = { FP_TO_GPR, 8, 0, false, host_cvtsd2sil, host_cvtsd2siq },
	[FP_CVTTSS2SI] = { FP_TO_GPR, 4, 0, false, host_cvttss2sil, host_cvttss2siq },
	[FP_CVTTSD2SI] = { FP_TO_GPR, 8, 0, false, host_cvttsd2sil, host_cvttsd2siq },
	[FP_CVTSS2SD] = { FP_XMM, 4, 0, false, host_cvtss2sd },
	[FP_CVTSD2SS] = { FP_XMM, 8, 1 | T_IN64 | T_PROD, false, host_cvtsd2ss },
	[FP_CVTPS2PD] = { FP_XMM, 8, 0, false, host_cvtps2pd },
	[FP_CVTPD2PS] = { FP_XMM, 16, 2 | T_IN64 | T_PROD, true, host_cvtpd2ps },
	[FP_CVTDQ2PS] = { FP_XMM, 16, 0, true, host_cvtdq2ps },
	[FP_CVTDQ2PD] = { FP_XMM, 8, 0, false, host_cvtdq2pd },
	[FP_CVTPS2DQ] = { FP_XMM, 16, 0, true, host_cvtps2dq },
	[FP_CVTTPS2DQ] = { FP_XMM, 16, 0, true, host_cvttps2dq },
	[FP_CVTPD2DQ] = { FP_XMM, 16, 0, true, host_cvtpd2dq },
	[FP_CVTTPD2DQ] = { FP_XMM, 16, 0, true, host_cvttpd2dq },
};

/* Capstone 4 names a compare with a predicate below 8 by its pseudo-op. */
#define CMP_IDS(FORM)                                                                              \
	[X86_INS_CMP##FORM] = FP_CMP##FORM, [X86_INS_CMPEQ##FORM] = FP_CMP##FORM,                  \
	[X86_INS_CMPLT##FORM] = FP_CMP##FORM, [X86_INS_CMPLE##FORM] = FP_CMP##FORM,                \
	[X86_INS_CMPUNORD##FORM] = FP_CMP##FORM, [X86_INS_CMPNEQ##FORM] = FP_CMP##FORM,            \
	[X86_INS_CMPNLT##FORM] = FP_CMP##FORM, [X86_INS_CMPNLE##FORM] = FP_CMP##FORM,              \
	[X86_INS_CMPORD##FORM] = FP_CMP##FORM
#define ARITH_IDS(OP)                                                                              \
	[X86_INS_##OP##PS] = FP_##OP##PS, [X86_INS_##OP##PD] = FP_##OP##PD,                        \
	[X86_INS_##OP##SS] = FP_##OP##SS, [X86_INS_##OP##SD] = FP_##OP##SD
#define ONE_ID(OP) [X86_INS_##OP] = FP_##OP

static const uint8_t fp_index[X86_INS_ENDING] = {
	ARITH_IDS(ADD),	   ARITH_IDS(SUB),   ARITH_IDS(MUL),   ARITH_IDS(DIV),	  ARITH_IDS(MIN),
	ARITH_IDS(MAX),	   ARITH_IDS(SQRT),  CMP_IDS(PS),      CMP_IDS(PD),	  CMP_IDS(SS),
	CMP_IDS(SD),	   ONE_ID(UCOMISS),  ONE_ID(UCOMISD),  ONE_ID(COMISS),	  ONE_ID(COMISD),
	ONE_ID(CVTSI2SS),  ONE_ID(CVTSI2SD), ONE_ID(CVTSS2SI), ONE_ID(CVTSD2SI),  ONE_ID(CVTTSS2SI),
	ONE_ID(CVTTSD2SI), ONE_ID(CVTSS2SD), ONE_ID(CVTSD2SS), ONE_ID(CVTPS2PD),  ONE_ID(CVTPD2PS),
	ONE_ID(CVTDQ2PS),  ONE_ID(CVTDQ2PD), ONE_ID(CVTPS2DQ), ONE_ID(CVTTPS2DQ), ONE_ID(CVTPD2DQ),
	ONE_ID(CVTTPD2DQ),
};

/* Run @fn on the host with the guest's rounding, DAZ and FTZ; returns the flags it raised. */
static uint32_t fp_run(const struct soft_cpu *cpu, host_fp_fn fn, struct host_fp *h)
{
	uint32_t g = cpu->mxcsr;

	h->mxcsr = (g & ~MXCSR_FLAGS) | MXCSR_MASKS;
	/* FTZ applies only while underflow is masked. */
	if (!(g & MXCSR_UM))
		h->mxcsr &= ~MXCSR_FTZ;
	fn(h);
	return h->mxcsr & MXCSR_FLAGS;
}

/* Lane @i of @v, in the format @f64 says. */
static uint64_t lane_get(const union soft_xmm *v, bool f64, unsigned int i)
{
	return f64 ? v->q[i] : v->d[i];
}

static void lane_set(union soft_xmm *v, bool f64, unsigned int i, uint64_t bits)
{
	if (f64)
		v->q[i] = bits;
	else
		v->d[i] = bits;
}

/* A lane as sign, exponent (unbiased, of the value normalized) and fraction. */
struct fp_parts {
	uint64_t sign, frac;
	int exp;
	bool zero, special; /* special: an infinity or a NaN */
};

static struct fp_parts fp_split(uint64_t v, bool f64)
{
	int mbits = f64 ? 52 : 23, emax = f64 ? 0x7ff : 0xff, bias = emax >> 1;
	uint64_t fmask = (1UL << mbits) - 1;
	int e = (v >> mbits) & emax, shift;
	struct fp_parts p = { .sign = v >> (f64 ? 63 : 31) & 1, .frac = v & fmask };

	p.special = e == emax;
	p.zero = !e && !p.frac;
	if (e || p.zero) {
		p.exp = e - bias;
		return p;
	}
	shift = mbits + 1 - (64 - __builtin_clzl(p.frac)); /* a denormal, normalized */
	p.frac = (p.frac << shift) & fmask;
	p.exp = 1 - bias - shift;
	return p;
}

static uint64_t fp_join(const struct fp_parts *p, int exp, bool f64)
{
	int mbits = f64 ? 52 : 23, bias = f64 ? 0x3ff : 0x7f;

	return p->sign << (f64 ? 63 : 31) | (uint64_t)(exp + bias) << mbits | p->frac;
}

/*
 * With overflow or underflow unmasked, the hardware's precision flag for a
 * lane that traps says whether the significand, rounded with an unbounded
 * exponent, is inexact.  That depends on the operands' significands alone
 * for a product, a quotient or a conversion, and on both at one scale for
 * a sum, so the host computes it from operands scaled by powers of two
 * (exactly) to where nothing overflows or is tiny.  @h holds the lane's
 * operands, the other lanes 1.0.
 */
static bool fp_significand_inexact(const struct soft_cpu *cpu, host_fp_fn fn, unsigned int tiny,
				   struct host_fp *h, unsigned int i)
{
	bool f64 = tiny & T_IN64, daz = cpu->mxcsr & MXCSR_DAZ;
	struct fp_parts a = fp_split(lane_get(&h->d, f64, i), f64);
	struct fp_parts b = fp_split(lane_get(&h->s, f64, i), f64);
	int p = f64 ? 53 : 24, top;

	if (tiny & T_PROD) {
		lane_set(&h->d, f64, i, a.zero || a.special ? 0 : fp_join(&a, 0, f64));
		lane_set(&h->s, f64, i, fp_join(&b, 0, f64));
		return fp_run(cpu, fn, h) & MXCSR_PE;
	}
	/* A sum: a zero, or a denormal under DAZ, leaves the other operand exact. */
	if (a.zero || b.zero ||
	    (daz && (a.exp < (f64 ? -1022 : -126) || b.exp < (f64 ? -1022 : -126))))
		return false;
	top = a.exp > b.exp ? a.exp : b.exp;
	/* An addend below the other's last bit and the rounding bit: inexact. */
	if (a.exp < top - p - 1 || b.exp < top - p - 1)
		return true;
	lane_set(&h->d, f64, i, fp_join(&a, a.exp - top, f64));
	lane_set(&h->s, f64, i, fp_join(&b, b.exp - top, f64));
	return fp_run(cpu, fn, h) & MXCSR_PE;
}

/* A denormal in lane @i of a result: nonzero, with a zero exponent. */
static bool fp_denormal_lane(const union soft_xmm *v, bool f64, unsigned int i)
{
	uint64_t x = lane_get(v, f64, i);

	if (f64)
		return !(x & 0x7ff0000000000000UL) && (x << 1);
	return !(x & 0x7f800000u) && (x & 0x7fffffffu);
}

/*
 * The flags of an instruction whose result may overflow or be tiny, when
 * the guest unmasked overflow or underflow: the hardware counts them lane
 * by lane.  With underflow unmasked, a tiny result is signalled even when
 * it is exact, and FTZ does not apply; the host ran masked and without FTZ
 * (fp_run()), so an exact tiny result is a denormal it left without UE.
 * A lane whose unmasked overflow or underflow traps delivers no result,
 * and its precision flag is fp_significand_inexact()'s.  Each lane runs
 * alone, the other lanes of both operands 1.0, which every operation here
 * takes exactly.
 */
static uint32_t fp_lane_flags(const struct soft_cpu *cpu, host_fp_fn fn, unsigned int tiny,
			      const struct host_fp *in)
{
	uint32_t unmasked = ~(cpu->mxcsr >> 7) & (MXCSR_OE | MXCSR_UE), raised = 0, r;
	bool in64 = tiny & T_IN64;
	unsigned int i, j;
	struct host_fp h;

	for (i = 0; i < (tiny & T_LANES); i++) {
		struct host_fp lane = *in;

		for (j = 0; j < (tiny & T_LANES); j++) {
			if (j == i)
				continue;
			lane_set(&lane.d, in64, j, in64 ? 0x3ff0000000000000UL : 0x3f800000u);
			lane_set(&lane.s, in64, j, in64 ? 0x3ff0000000000000UL : 0x3f800000u);
		}
		h = lane;
		r = fp_run(cpu, fn, &h);
		if ((unmasked & MXCSR_UE) && fp_denormal_lane(&h.d, tiny & T_OUT64, i))
			r |= MXCSR_UE;
		if (r & unmasked) {
			r &= ~MXCSR_PE;
			if (fp_significand_inexact(cpu, fn, tiny, &lane, i))
				r |= MXCSR_PE;
		}
		raised |= r;
	}
	return raised;
}

/*
 * The flags @raised go into the guest's MXCSR.  An exception the guest
 * unmasked is #XM instead: the destination keeps its value (the caller
 * writes nothing), and, as the pre-computation exceptions (invalid,
 * denormal operand, divide by zero) stop the instruction before it
 * computes, only those are flagged if one of them is unmasked.  The soft
 * vCPU runs as if CR4.OSXMMEXCPT were set, which the guest ABI's CPU state
 * says.
 */
static int fp_raise(struct soft_exec *e, uint32_t raised)
{
	struct soft_cpu *cpu = e->cpu;
	uint32_t unmasked = raised & ~(cpu->mxcsr >> 7) & MXCSR_FLAGS;

	if (!unmasked) {
		cpu->mxcsr |= raised;
		return X_OK;
	}
	if (unmasked & (MXCSR_IE | MXCSR_DE | MXCSR_ZE))
		raised &= MXCSR_IE | MXCSR_DE | MXCSR_ZE;
	if (!soft_has_handler(cpu, SOFT_VEC_XM))
		return soft_fault(e, SOFT_VEC_XM, 0,
				  "unmasked SIMD floating-point exception, MXCSR %#x",
				  (unsigned int)(cpu->mxcsr | raised));
	cpu->mxcsr |= raised;
	return soft_raise(e, SOFT_VEC_XM, 0);
}

static int exec_fp(struct soft_exec *e, const struct fp_op *op)
{
	const struct soft_insn *insn = e->insn;
	const struct soft_operand *dst = &insn->op[0], *src = &insn->op[1];
	struct soft_cpu *cpu = e->cpu;
	bool wide = insn->opsize == 8;
	struct host_fp h = { 0 }, in;
	host_fp_fn fn = op->fn;
	uint32_t raised;
	int ret;

	switch (op->kind) {
	case FP_FROM_GPR:
		h.d = cpu->xmm[dst->reg];
		if (wide)
			fn = op->fn64;
		if (src->type == SOFT_OP_REG) {
			h.gpr = soft_reg_read(cpu, src->reg, wide ? 8 : 4);
		} else {
			ret = soft_sse_src(e, src, wide ? 8 : 4, false, &h.s);
			if (ret)
				return ret;
			h.gpr = h.s.q[0];
		}
		break;
	case FP_CMP:
		fn = op->cmp[insn->bytes[insn->len - 1] & 7];
		/* fall through */
	default:
		if (op->kind == FP_TO_GPR && wide)
			fn = op->fn64;
		if (dst->type == SOFT_OP_XMM)
			h.d = cpu->xmm[dst->reg];
		ret = soft_sse_src(e, src, op->size, op->align16, &h.s);
		if (ret)
			return ret;
		break;
	}
	in = h;
	raised = fp_run(cpu, fn, &h);
	if (op->tiny && (~cpu->mxcsr & (MXCSR_OM | MXCSR_UM)))
		raised = fp_lane_flags(cpu, fn, op->tiny, &in);
	ret = fp_raise(e, raised);
	if (ret)
		return ret;
	switch (op->kind) {
	case FP_COMI:
		soft_flags_materialize(&cpu->flags);
		cpu->flags.rflags &= ~X86_ARITH_FLAGS;
		cpu->flags.rflags |=
			(h.zf ? X86_ZF : 0) | (h.pf ? X86_PF : 0) | (h.cf ? X86_CF : 0);
		break;
	case FP_TO_GPR:
		soft_reg_write(cpu, dst->reg, wide ? 8 : 4, h.gpr);
		break;
	default:
		cpu->xmm[dst->reg] = h.d;
		break;
	}
	return X_OK;
}

int soft_execute_sse_fp(struct soft_exec *e)
{
	unsigned int id = e->insn->id;

	if (id < X86_INS_ENDING && fp_index[id])
		return exec_fp(e, &fp_ops[fp_index[id]]);
	return soft_unsupported(e);
}
