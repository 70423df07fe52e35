// SPDX-License-Identifier: GPL-2.0
/*
 * SSE and SSE2 but for their floating point (sse_fp.c): the xmm registers
 * and MXCSR, the moves, logic ops and packed integer instructions gcc and
 * libc emit for the x86-64 baseline, and the state instructions (ldmxcsr,
 * stmxcsr, fxsave, fxrstor).  Operands are read whole before anything is
 * written, as everywhere in the interpreter (access.h), so a retried
 * translation leaves no trace.  None of these touches RFLAGS.
 */
#include <capstone/capstone.h>
#include <string.h>

#include "vmm/soft/interp.h"

/* The MXCSR bits ldmxcsr and fxrstor accept (fxsave's MXCSR_MASK): DAZ is one. */
#define MXCSR_MASK 0xffff

/* fxsave's 512-byte area: the x87 header, ST0..ST7 every 16 bytes, then xmm0..xmm15. */
#define FX_SIZE 512
#define FX_MXCSR 24
#define FX_MXCSR_MASK 28
#define FX_XMM0 160

static int unaligned_gp(struct soft_exec *e, uint64_t gva)
{
	return soft_fault(e, SOFT_VEC_GP, 0, "a 16-byte aligned access at %#lx",
			  (unsigned long)gva);
}

/*
 * The value of an xmm-or-memory operand: @size bytes (2, 4, 8 or 16) into
 * the low bytes of @v, the rest zero.  @align16: a memory operand must be
 * 16-byte aligned (movdqa, movaps and the packed arithmetic without VEX),
 * else #GP(0).
 */
int soft_sse_src(struct soft_exec *e, const struct soft_operand *op, unsigned int size,
		 bool align16, union soft_xmm *v)
{
	uint64_t gva;

	memset(v, 0, sizeof(*v));
	if (op->type == SOFT_OP_XMM) {
		memcpy(v, &e->cpu->xmm[op->reg], size);
		return X_OK;
	}
	gva = soft_effective_address(e, op);
	if (align16 && (gva & 15))
		return unaligned_gp(e, gva);
	return soft_mem_read_bytes(e, gva, size, v);
}

/* Store the low @size bytes of @v to an xmm-or-memory destination; an xmm keeps the rest. */
static int xmm_dst(struct soft_exec *e, const struct soft_operand *op, unsigned int size,
		   bool align16, const union soft_xmm *v)
{
	uint64_t gva;

	if (op->type == SOFT_OP_XMM) {
		memcpy(&e->cpu->xmm[op->reg], v, size);
		return X_OK;
	}
	gva = soft_effective_address(e, op);
	if (align16 && (gva & 15))
		return unaligned_gp(e, gva);
	return soft_mem_write_bytes(e, gva, size, v);
}

/* ---- moves ---- */

/* movdqa, movdqu, movaps, movups, movapd, movupd, movntdq, movntps, movntpd: 16 bytes. */
static int exec_mov128(struct soft_exec *e, bool align16)
{
	const struct soft_operand *op = e->insn->op;
	union soft_xmm v;
	int ret = soft_sse_src(e, &op[1], 16, align16, &v);

	return ret ? ret : xmm_dst(e, &op[0], 16, align16, &v);
}

/*
 * movd and movq between an xmm register and a gpr or memory, and movq
 * between two xmm registers (F3 0F 7E, 66 0F D6): to an xmm register the
 * value is zero-extended to 128 bits; from one, its low 4 or 8 bytes.
 */
static int exec_movdq(struct soft_exec *e, unsigned int size)
{
	const struct soft_operand *op = e->insn->op;
	struct soft_cpu *cpu = e->cpu;
	union soft_xmm v;
	int ret;

	if (op[0].type == SOFT_OP_XMM) {
		if (op[1].type == SOFT_OP_REG) {
			memset(&v, 0, sizeof(v));
			v.q[0] = soft_reg_read(cpu, op[1].reg, size);
		} else {
			ret = soft_sse_src(e, &op[1], size, false, &v);
			if (ret)
				return ret;
		}
		cpu->xmm[op[0].reg] = v;
		return X_OK;
	}
	v = cpu->xmm[op[1].reg];
	if (op[0].type == SOFT_OP_REG) {
		soft_reg_write(cpu, op[0].reg, 8, size == 4 ? v.d[0] : v.q[0]);
		return X_OK;
	}
	return xmm_dst(e, &op[0], size, false, &v);
}

/*
 * movss and movsd (F3/F2 0F 10/11): a load from memory zero-extends to 128
 * bits; between registers only the low lane moves, and a store writes it.
 */
static int exec_movs(struct soft_exec *e, unsigned int size)
{
	const struct soft_operand *op = e->insn->op;
	union soft_xmm v;
	int ret = soft_sse_src(e, &op[1], size, false, &v);

	if (ret)
		return ret;
	if (op[1].type == SOFT_OP_MEM) {
		e->cpu->xmm[op[0].reg] = v;
		return X_OK;
	}
	return xmm_dst(e, &op[0], size, false, &v);
}

/*
 * One quadword: movlps/movlpd and movhps/movhpd load or store the low or
 * high half of a register, the other half kept; movhlps and movlhps copy
 * one register's half @src into another's half @dst.
 */
static int exec_movhalf(struct soft_exec *e, unsigned int dst, unsigned int src)
{
	const struct soft_operand *op = e->insn->op;
	struct soft_cpu *cpu = e->cpu;
	union soft_xmm v;
	int ret;

	if (op[0].type == SOFT_OP_MEM) {
		v.q[0] = cpu->xmm[op[1].reg].q[src];
		return xmm_dst(e, &op[0], 8, false, &v);
	}
	if (op[1].type == SOFT_OP_MEM) {
		ret = soft_sse_src(e, &op[1], 8, false, &v);
		if (ret)
			return ret;
	} else {
		v.q[0] = cpu->xmm[op[1].reg].q[src];
	}
	cpu->xmm[op[0].reg].q[dst] = v.q[0];
	return X_OK;
}

/* movnti: a gpr to memory, the non-temporal hint ignored. */
static int exec_movnti(struct soft_exec *e)
{
	const struct soft_operand *op = e->insn->op;

	return soft_mem_write(e, soft_effective_address(e, &op[0]), op[1].size,
			      soft_reg_read(e->cpu, op[1].reg, op[1].size));
}

/*
 * maskmovdqu: the bytes of the first register whose mask byte (in the
 * second) has its top bit set, stored at ds:rdi (edi with 0x67); the
 * others are not written, so each selected byte is its own store into the
 * destination translated whole.
 */
static int exec_maskmovdqu(struct soft_exec *e)
{
	const struct soft_operand *op = e->insn->op;
	struct soft_cpu *cpu = e->cpu;
	const union soft_xmm *v = &cpu->xmm[op[0].reg], *m = &cpu->xmm[op[1].reg];
	const uint8_t *esc = memchr(e->insn->bytes, 0x0f, e->insn->len);
	uint64_t gva = cpu->gpr[SOFT_RDI];
	struct soft_dest d;
	unsigned int i;
	uint8_t *p;
	int ret;

	/* An fs/gs override moves the implicit operand: not modelled, like theirs anywhere. */
	if (!esc || memchr(e->insn->bytes, 0x64, esc - e->insn->bytes) ||
	    memchr(e->insn->bytes, 0x65, esc - e->insn->bytes))
		return soft_unsupported(e);
	if (e->insn->prefix & SOFT_PFX_ADDRSIZE)
		gva = (uint32_t)gva;
	ret = soft_dest_prepare(e, gva, 16, &d);
	if (ret)
		return ret;
	for (i = 0; i < 16; i++) {
		if (!(m->b[i] & 0x80))
			continue;
		p = d.split && i >= d.split ? (uint8_t *)d.x[1].hva + (i - d.split) :
					      (uint8_t *)d.x[0].hva + i;
		WRITE_ONCE(*p, v->b[i]);
	}
	soft_decode_cache_written(&cpu->cache, d.x[0].gpa);
	if (d.split)
		soft_decode_cache_written(&cpu->cache, d.x[1].gpa);
	return X_OK;
}

/* pmovmskb, movmskps, movmskpd: the sign bit of each @lane-byte lane, into a gpr. */
static int exec_movmsk(struct soft_exec *e, unsigned int lane)
{
	const struct soft_operand *op = e->insn->op;
	const union soft_xmm *s = &e->cpu->xmm[op[1].reg];
	unsigned int i, mask = 0;

	for (i = 0; i < 16 / lane; i++)
		mask |= (s->b[i * lane + lane - 1] >> 7) << i;
	soft_reg_write(e->cpu, op[0].reg, 8, mask);
	return X_OK;
}

/* ---- packed integer ---- */

static inline int8_t sat_s8(int v)
{
	return v > 127 ? 127 : v < -128 ? -128 : v;
}

static inline uint8_t sat_u8(int v)
{
	return v > 255 ? 255 : v < 0 ? 0 : v;
}

static inline int16_t sat_s16(int v)
{
	return v > 32767 ? 32767 : v < -32768 ? -32768 : v;
}

static inline uint16_t sat_u16(int v)
{
	return v > 65535 ? 65535 : v < 0 ? 0 : v;
}

#define LANES(n, lane, expr)                                                                       \
	do {                                                                                       \
		for (i = 0; i < (n); i++)                                                          \
			r.lane[i] = (expr);                                                        \
	} while (0)
#define SB(v, i) ((int8_t)(v).b[i])
#define SW(v, i) ((int16_t)(v).w[i])
#define SD(v, i) ((int32_t)(v).d[i])

/*
 * The lane-wise logic, arithmetic, compares and saturating ops; false if
 * @id is not one of them.
 */
static bool packed_arith(unsigned int id, const union soft_xmm *dp, const union soft_xmm *sp,
			 union soft_xmm *rp)
{
	const union soft_xmm d = *dp, s = *sp;
	union soft_xmm r = d;
	unsigned int i;

	switch (id) {
	case X86_INS_PXOR:
	case X86_INS_XORPS:
	case X86_INS_XORPD:
		LANES(2, q, d.q[i] ^ s.q[i]);
		break;
	case X86_INS_POR:
	case X86_INS_ORPS:
	case X86_INS_ORPD:
		LANES(2, q, d.q[i] | s.q[i]);
		break;
	case X86_INS_PAND:
	case X86_INS_ANDPS:
	case X86_INS_ANDPD:
		LANES(2, q, d.q[i] & s.q[i]);
		break;
	case X86_INS_PANDN:
	case X86_INS_ANDNPS:
	case X86_INS_ANDNPD:
		LANES(2, q, ~d.q[i] & s.q[i]);
		break;
	case X86_INS_PADDB:
		LANES(16, b, d.b[i] + s.b[i]);
		break;
	case X86_INS_PADDW:
		LANES(8, w, d.w[i] + s.w[i]);
		break;
	case X86_INS_PADDD:
		LANES(4, d, d.d[i] + s.d[i]);
		break;
	case X86_INS_PADDQ:
		LANES(2, q, d.q[i] + s.q[i]);
		break;
	case X86_INS_PSUBB:
		LANES(16, b, d.b[i] - s.b[i]);
		break;
	case X86_INS_PSUBW:
		LANES(8, w, d.w[i] - s.w[i]);
		break;
	case X86_INS_PSUBD:
		LANES(4, d, d.d[i] - s.d[i]);
		break;
	case X86_INS_PSUBQ:
		LANES(2, q, d.q[i] - s.q[i]);
		break;
	case X86_INS_PADDSB:
		LANES(16, b, sat_s8(SB(d, i) + SB(s, i)));
		break;
	case X86_INS_PADDSW:
		LANES(8, w, sat_s16(SW(d, i) + SW(s, i)));
		break;
	case X86_INS_PADDUSB:
		LANES(16, b, sat_u8(d.b[i] + s.b[i]));
		break;
	case X86_INS_PADDUSW:
		LANES(8, w, sat_u16(d.w[i] + s.w[i]));
		break;
	case X86_INS_PSUBSB:
		LANES(16, b, sat_s8(SB(d, i) - SB(s, i)));
		break;
	case X86_INS_PSUBSW:
		LANES(8, w, sat_s16(SW(d, i) - SW(s, i)));
		break;
	case X86_INS_PSUBUSB:
		LANES(16, b, sat_u8(d.b[i] - s.b[i]));
		break;
	case X86_INS_PSUBUSW:
		LANES(8, w, sat_u16(d.w[i] - s.w[i]));
		break;
	case X86_INS_PCMPEQB:
		LANES(16, b, d.b[i] == s.b[i] ? 0xff : 0);
		break;
	case X86_INS_PCMPEQW:
		LANES(8, w, d.w[i] == s.w[i] ? 0xffff : 0);
		break;
	case X86_INS_PCMPEQD:
		LANES(4, d, d.d[i] == s.d[i] ? ~0u : 0);
		break;
	case X86_INS_PCMPGTB:
		LANES(16, b, SB(d, i) > SB(s, i) ? 0xff : 0);
		break;
	case X86_INS_PCMPGTW:
		LANES(8, w, SW(d, i) > SW(s, i) ? 0xffff : 0);
		break;
	case X86_INS_PCMPGTD:
		LANES(4, d, SD(d, i) > SD(s, i) ? ~0u : 0);
		break;
	case X86_INS_PMINUB:
		LANES(16, b, d.b[i] < s.b[i] ? d.b[i] : s.b[i]);
		break;
	case X86_INS_PMAXUB:
		LANES(16, b, d.b[i] > s.b[i] ? d.b[i] : s.b[i]);
		break;
	case X86_INS_PMINSW:
		LANES(8, w, SW(d, i) < SW(s, i) ? d.w[i] : s.w[i]);
		break;
	case X86_INS_PMAXSW:
		LANES(8, w, SW(d, i) > SW(s, i) ? d.w[i] : s.w[i]);
		break;
	case X86_INS_PAVGB:
		LANES(16, b, (d.b[i] + s.b[i] + 1) >> 1);
		break;
	case X86_INS_PAVGW:
		LANES(8, w, (d.w[i] + s.w[i] + 1) >> 1);
		break;
	case X86_INS_PMULLW:
		LANES(8, w, SW(d, i) * SW(s, i));
		break;
	case X86_INS_PMULHW:
		LANES(8, w, (SW(d, i) * SW(s, i)) >> 16);
		break;
	case X86_INS_PMULHUW:
		LANES(8, w, ((uint32_t)d.w[i] * s.w[i]) >> 16);
		break;
	case X86_INS_PMULUDQ:
		LANES(2, q, (uint64_t)d.d[2 * i] * s.d[2 * i]);
		break;
	case X86_INS_PMADDWD:
		/* The one overflow, 0x8000 * 0x8000 twice, wraps to 0x80000000. */
		LANES(4, d,
		      (uint32_t)(SW(d, 2 * i) * SW(s, 2 * i)) +
			      (uint32_t)(SW(d, 2 * i + 1) * SW(s, 2 * i + 1)));
		break;
	case X86_INS_PSADBW:
		memset(&r, 0, sizeof(r));
		for (i = 0; i < 16; i++)
			r.q[i / 8] += d.b[i] > s.b[i] ? d.b[i] - s.b[i] : s.b[i] - d.b[i];
		break;
	default:
		return false;
	}
	*rp = r;
	return true;
}

/*
 * Interleaves and packs: the low or high halves of both operands
 * interleaved (punpck*, unpcklps..), or both narrowed with saturation, the
 * destination's lanes first (pack*); false if @id is not one of them.
 */
static bool packed_shuffle(unsigned int id, const union soft_xmm *dp, const union soft_xmm *sp,
			   union soft_xmm *rp)
{
	const union soft_xmm d = *dp, s = *sp;
	union soft_xmm r;
	unsigned int i;

	switch (id) {
	case X86_INS_PUNPCKLBW:
		LANES(16, b, (i & 1 ? s : d).b[i / 2]);
		break;
	case X86_INS_PUNPCKHBW:
		LANES(16, b, (i & 1 ? s : d).b[8 + i / 2]);
		break;
	case X86_INS_PUNPCKLWD:
		LANES(8, w, (i & 1 ? s : d).w[i / 2]);
		break;
	case X86_INS_PUNPCKHWD:
		LANES(8, w, (i & 1 ? s : d).w[4 + i / 2]);
		break;
	case X86_INS_PUNPCKLDQ:
	case X86_INS_UNPCKLPS:
		LANES(4, d, (i & 1 ? s : d).d[i / 2]);
		break;
	case X86_INS_PUNPCKHDQ:
	case X86_INS_UNPCKHPS:
		LANES(4, d, (i & 1 ? s : d).d[2 + i / 2]);
		break;
	case X86_INS_PUNPCKLQDQ:
	case X86_INS_UNPCKLPD:
		LANES(2, q, (i & 1 ? s : d).q[0]);
		break;
	case X86_INS_PUNPCKHQDQ:
	case X86_INS_UNPCKHPD:
		LANES(2, q, (i & 1 ? s : d).q[1]);
		break;
	case X86_INS_PACKSSWB:
		LANES(16, b, sat_s8(i < 8 ? SW(d, i) : SW(s, i - 8)));
		break;
	case X86_INS_PACKUSWB:
		LANES(16, b, sat_u8(i < 8 ? SW(d, i) : SW(s, i - 8)));
		break;
	case X86_INS_PACKSSDW:
		LANES(8, w, sat_s16(i < 4 ? SD(d, i) : SD(s, i - 4)));
		break;
	default:
		return false;
	}
	*rp = r;
	return true;
}

/* An instruction of the two groups above: xmm, xmm/m128 (aligned). */
static int exec_packed(struct soft_exec *e, unsigned int id)
{
	const struct soft_operand *op = e->insn->op;
	union soft_xmm *d = &e->cpu->xmm[op[0].reg], s;
	int ret = soft_sse_src(e, &op[1], 16, true, &s);

	if (ret)
		return ret;
	if (!packed_arith(id, d, &s, d) && !packed_shuffle(id, d, &s, d))
		return soft_unsupported(e);
	return X_OK;
}

/*
 * The shifts: psll/psrl/psra by an immediate or by the low quadword of an
 * xmm/m128 operand; a count past the lane shifts everything out (psra:
 * fills with the sign).  pslldq/psrldq shift the register by bytes.
 */
static int exec_shift(struct soft_exec *e, unsigned int id)
{
	const struct soft_operand *op = e->insn->op;
	union soft_xmm *d = &e->cpu->xmm[op[0].reg], a = *d, r, s;
	uint64_t c;
	unsigned int i;
	int ret;

	if (op[1].type == SOFT_OP_IMM) {
		c = op[1].val & 0xff;
	} else {
		ret = soft_sse_src(e, &op[1], 16, true, &s);
		if (ret)
			return ret;
		c = s.q[0];
	}
	switch (id) {
	case X86_INS_PSLLW:
		LANES(8, w, c > 15 ? 0 : a.w[i] << c);
		break;
	case X86_INS_PSLLD:
		LANES(4, d, c > 31 ? 0 : a.d[i] << c);
		break;
	case X86_INS_PSLLQ:
		LANES(2, q, c > 63 ? 0 : a.q[i] << c);
		break;
	case X86_INS_PSRLW:
		LANES(8, w, c > 15 ? 0 : a.w[i] >> c);
		break;
	case X86_INS_PSRLD:
		LANES(4, d, c > 31 ? 0 : a.d[i] >> c);
		break;
	case X86_INS_PSRLQ:
		LANES(2, q, c > 63 ? 0 : a.q[i] >> c);
		break;
	case X86_INS_PSRAW:
		LANES(8, w, SW(a, i) >> (c > 15 ? 15 : c));
		break;
	case X86_INS_PSRAD:
		LANES(4, d, SD(a, i) >> (c > 31 ? 31 : c));
		break;
	case X86_INS_PSLLDQ:
		LANES(16, b, i >= c ? a.b[i - c] : 0);
		break;
	default: /* psrldq */
		LANES(16, b, i + c < 16 ? a.b[i + c] : 0);
		break;
	}
	*d = r;
	return X_OK;
}

/*
 * The shuffles with an immediate: pshufd picks each dword, pshuflw and
 * pshufhw each word of one half (the other copied), shufps two dwords of
 * each operand and shufpd a quadword of each.
 */
static int exec_shuffle_imm(struct soft_exec *e, unsigned int id)
{
	const struct soft_operand *op = e->insn->op;
	union soft_xmm *dst = &e->cpu->xmm[op[0].reg], d = *dst, s, r;
	unsigned int i, n = op[2].val & 0xff;
	int ret = soft_sse_src(e, &op[1], 16, true, &s);

	if (ret)
		return ret;
	switch (id) {
	case X86_INS_PSHUFD:
		LANES(4, d, s.d[(n >> 2 * i) & 3]);
		break;
	case X86_INS_PSHUFLW:
		r.q[1] = s.q[1];
		LANES(4, w, s.w[(n >> 2 * i) & 3]);
		break;
	case X86_INS_PSHUFHW:
		r.q[0] = s.q[0];
		for (i = 0; i < 4; i++)
			r.w[4 + i] = s.w[4 + ((n >> 2 * i) & 3)];
		break;
	case X86_INS_SHUFPS:
		LANES(4, d, (i < 2 ? d : s).d[(n >> 2 * i) & 3]);
		break;
	default: /* shufpd */
		LANES(2, q, (i ? s : d).q[(n >> i) & 1]);
		break;
	}
	*dst = r;
	return X_OK;
}

/*
 * pextrw r32, xmm, imm (66 0F C5): the word, zero-extended.  SSE4.1's
 * 66 0F 3A 15, which Capstone also names pextrw, is not offered.
 */
static int exec_pextrw(struct soft_exec *e)
{
	const struct soft_operand *op = e->insn->op;
	const uint8_t *esc = memchr(e->insn->bytes, 0x0f, e->insn->len);

	if (!esc || esc[1] != 0xc5)
		return soft_unsupported(e);
	soft_reg_write(e->cpu, op[0].reg, 8, e->cpu->xmm[op[1].reg].w[op[2].val & 7]);
	return X_OK;
}

/* pinsrw xmm, r32/m16, imm: one word replaced. */
static int exec_pinsrw(struct soft_exec *e)
{
	const struct soft_operand *op = e->insn->op;
	uint64_t v;
	int ret;

	if (op[1].type == SOFT_OP_REG) {
		v = soft_reg_read(e->cpu, op[1].reg, 2);
	} else {
		ret = soft_mem_read(e, soft_effective_address(e, &op[1]), 2, &v);
		if (ret)
			return ret;
	}
	e->cpu->xmm[op[0].reg].w[op[2].val & 7] = v;
	return X_OK;
}

/* ---- the SSE state ---- */

static int reserved_mxcsr(struct soft_exec *e, uint32_t mxcsr)
{
	return soft_fault(e, SOFT_VEC_GP, 0, "MXCSR %#x sets reserved bits", mxcsr);
}

static int exec_ldmxcsr(struct soft_exec *e)
{
	uint64_t v;
	int ret = soft_mem_read(e, soft_effective_address(e, &e->insn->op[0]), 4, &v);

	if (ret)
		return ret;
	if (v & ~MXCSR_MASK)
		return reserved_mxcsr(e, v);
	e->cpu->mxcsr = v;
	return X_OK;
}

static int exec_stmxcsr(struct soft_exec *e)
{
	return soft_mem_write(e, soft_effective_address(e, &e->insn->op[0]), 4, e->cpu->mxcsr);
}

/*
 * fxsave and fxsave64 (which differ only in the x87 instruction and data
 * pointers' format, both zero here: x87.c).  The area is read first and
 * only the fields the processor writes are replaced: each ST register's
 * six pad bytes and bytes 416..511 keep what the guest had there.
 */
static int exec_fxsave(struct soft_exec *e)
{
	uint64_t gva = soft_effective_address(e, &e->insn->op[0]);
	uint32_t mxcsr_mask = MXCSR_MASK;
	uint8_t area[FX_SIZE];
	int ret;

	if (gva & 15)
		return unaligned_gp(e, gva);
	ret = soft_mem_read_bytes(e, gva, FX_SIZE, area);
	if (ret)
		return ret;
	soft_x87_fxsave(e->cpu, area);
	memcpy(&area[FX_MXCSR], &e->cpu->mxcsr, 4);
	memcpy(&area[FX_MXCSR_MASK], &mxcsr_mask, 4);
	memcpy(&area[FX_XMM0], e->cpu->xmm, sizeof(e->cpu->xmm));
	return soft_mem_write_bytes(e, gva, FX_SIZE, area);
}

/* fxrstor and fxrstor64: the x87 state, MXCSR (#GP(0) on a reserved bit), the xmm registers. */
static int exec_fxrstor(struct soft_exec *e)
{
	uint64_t gva = soft_effective_address(e, &e->insn->op[0]);
	uint8_t area[FX_SIZE];
	uint32_t mxcsr;
	int ret;

	if (gva & 15)
		return unaligned_gp(e, gva);
	ret = soft_mem_read_bytes(e, gva, FX_SIZE, area);
	if (ret)
		return ret;
	memcpy(&mxcsr, &area[FX_MXCSR], 4);
	if (mxcsr & ~MXCSR_MASK)
		return reserved_mxcsr(e, mxcsr);
	e->cpu->mxcsr = mxcsr;
	soft_x87_fxrstor(e->cpu, area);
	memcpy(e->cpu->xmm, &area[FX_XMM0], sizeof(e->cpu->xmm));
	return X_OK;
}

int soft_execute_sse(struct soft_exec *e)
{
	unsigned int id = e->insn->id;

	switch (id) {
	case X86_INS_MOVDQA:
	case X86_INS_MOVAPS:
	case X86_INS_MOVAPD:
	case X86_INS_MOVNTDQ:
	case X86_INS_MOVNTPS:
	case X86_INS_MOVNTPD:
		return exec_mov128(e, true);
	case X86_INS_MOVDQU:
	case X86_INS_MOVUPS:
	case X86_INS_MOVUPD:
		return exec_mov128(e, false);
	case X86_INS_MOVD:
		return exec_movdq(e, 4);
	case X86_INS_MOVQ:
		return exec_movdq(e, 8);
	case X86_INS_MOVSS:
		return exec_movs(e, 4);
	case X86_INS_MOVSD:
		return exec_movs(e, 8);
	case X86_INS_MOVLPS:
	case X86_INS_MOVLPD:
		return exec_movhalf(e, 0, 0);
	case X86_INS_MOVHPS:
	case X86_INS_MOVHPD:
		return exec_movhalf(e, 1, 1);
	case X86_INS_MOVHLPS:
		return exec_movhalf(e, 0, 1);
	case X86_INS_MOVLHPS:
		return exec_movhalf(e, 1, 0);
	case X86_INS_MOVNTI:
		return exec_movnti(e);
	case X86_INS_MASKMOVDQU:
		return exec_maskmovdqu(e);
	case X86_INS_PMOVMSKB:
		return exec_movmsk(e, 1);
	case X86_INS_MOVMSKPS:
		return exec_movmsk(e, 4);
	case X86_INS_MOVMSKPD:
		return exec_movmsk(e, 8);
	case X86_INS_PXOR:
	case X86_INS_XORPS:
	case X86_INS_XORPD:
	case X86_INS_POR:
	case X86_INS_ORPS:
	case X86_INS_ORPD:
	case X86_INS_PAND:
	case X86_INS_ANDPS:
	case X86_INS_ANDPD:
	case X86_INS_PANDN:
	case X86_INS_ANDNPS:
	case X86_INS_ANDNPD:
	case X86_INS_PADDB:
	case X86_INS_PADDW:
	case X86_INS_PADDD:
	case X86_INS_PADDQ:
	case X86_INS_PSUBB:
	case X86_INS_PSUBW:
	case X86_INS_PSUBD:
	case X86_INS_PSUBQ:
	case X86_INS_PADDSB:
	case X86_INS_PADDSW:
	case X86_INS_PADDUSB:
	case X86_INS_PADDUSW:
	case X86_INS_PSUBSB:
	case X86_INS_PSUBSW:
	case X86_INS_PSUBUSB:
	case X86_INS_PSUBUSW:
	case X86_INS_PCMPEQB:
	case X86_INS_PCMPEQW:
	case X86_INS_PCMPEQD:
	case X86_INS_PCMPGTB:
	case X86_INS_PCMPGTW:
	case X86_INS_PCMPGTD:
	case X86_INS_PMINUB:
	case X86_INS_PMAXUB:
	case X86_INS_PMINSW:
	case X86_INS_PMAXSW:
	case X86_INS_PAVGB:
	case X86_INS_PAVGW:
	case X86_INS_PMULLW:
	case X86_INS_PMULHW:
	case X86_INS_PMULHUW:
	case X86_INS_PMULUDQ:
	case X86_INS_PMADDWD:
	case X86_INS_PSADBW:
	case X86_INS_PUNPCKLBW:
	case X86_INS_PUNPCKHBW:
	case X86_INS_PUNPCKLWD:
	case X86_INS_PUNPCKHWD:
	case X86_INS_PUNPCKLDQ:
	case X86_INS_PUNPCKHDQ:
	case X86_INS_PUNPCKLQDQ:
	case X86_INS_PUNPCKHQDQ:
	case X86_INS_UNPCKLPS:
	case X86_INS_UNPCKHPS:
	case X86_INS_UNPCKLPD:
	case X86_INS_UNPCKHPD:
	case X86_INS_PACKSSWB:
	case X86_INS_PACKUSWB:
	case X86_INS_PACKSSDW:
		return exec_packed(e, id);
	case X86_INS_PSLLW:
	case X86_INS_PSLLD:
	case X86_INS_PSLLQ:
	case X86_INS_PSRLW:
	case X86_INS_PSRLD:
	case X86_INS_PSRLQ:
	case X86_INS_PSRAW:
	case X86_INS_PSRAD:
	case X86_INS_PSLLDQ:
	case X86_INS_PSRLDQ:
		return exec_shift(e, id);
	case X86_INS_PSHUFD:
	case X86_INS_PSHUFLW:
	case X86_INS_PSHUFHW:
	case X86_INS_SHUFPS:
	case X86_INS_SHUFPD:
		return exec_shuffle_imm(e, id);
	case X86_INS_PEXTRW:
		return exec_pextrw(e);
	case X86_INS_PINSRW:
		return exec_pinsrw(e);
	case X86_INS_LDMXCSR:
		return exec_ldmxcsr(e);
	case X86_INS_STMXCSR:
		return exec_stmxcsr(e);
	case X86_INS_FXSAVE:
	case X86_INS_FXSAVE64:
		return exec_fxsave(e);
	case X86_INS_FXRSTOR:
	case X86_INS_FXRSTOR64:
		return exec_fxrstor(e);
	case X86_INS_PREFETCHNTA:
	case X86_INS_PREFETCHT0:
	case X86_INS_PREFETCHT1:
	case X86_INS_PREFETCHT2:
		return X_OK; /* a hint: no access, no fault */
	}
	return soft_execute_sse_fp(e);
}
