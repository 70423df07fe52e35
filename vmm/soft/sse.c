// SPDX-License-Identifier: GPL-2.0
/*
 * SSE and SSE2: the xmm registers and MXCSR, and the instructions gcc and
 * libc emit for the x86-64 baseline.  Operands are read whole before
 * anything is written, as everywhere in the interpreter (access.h), so a
 * retried translation leaves no trace.
 */
#include <capstone/capstone.h>
#include <string.h>

#include "vmm/soft/interp.h"

/*
 * The value of an xmm-or-memory operand: @size bytes (4, 8 or 16) into the
 * low bytes of @v, the rest zero.  @align16: a memory operand must be
 * 16-byte aligned (movdqa, movaps and the packed arithmetic without VEX),
 * else #GP(0).
 */
static int xmm_src(struct soft_exec *e, const struct soft_operand *op, unsigned int size,
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
		return soft_fault(e, SOFT_VEC_GP, 0, "a 16-byte SSE access at unaligned %#lx",
				  (unsigned long)gva);
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
		return soft_fault(e, SOFT_VEC_GP, 0, "a 16-byte SSE access at unaligned %#lx",
				  (unsigned long)gva);
	return soft_mem_write_bytes(e, gva, size, v);
}

/* movdqa, movdqu, movaps, movups, movapd, movupd: 16 bytes either way. */
static int exec_mov128(struct soft_exec *e, bool align16)
{
	const struct soft_operand *op = e->insn->op;
	union soft_xmm v;
	int ret = xmm_src(e, &op[1], 16, align16, &v);

	return ret ? ret : xmm_dst(e, &op[0], 16, align16, &v);
}

/*
 * movd and movq between an xmm register and a gpr or memory: to an xmm the
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
			ret = xmm_src(e, &op[1], size, false, &v);
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

static int exec_logic(struct soft_exec *e, unsigned int id)
{
	const struct soft_operand *op = e->insn->op;
	union soft_xmm *d = &e->cpu->xmm[op[0].reg], s;
	int ret = xmm_src(e, &op[1], 16, true, &s);

	if (ret)
		return ret;
	switch (id) {
	case X86_INS_PXOR:
	case X86_INS_XORPS:
	case X86_INS_XORPD:
		d->q[0] ^= s.q[0];
		d->q[1] ^= s.q[1];
		break;
	case X86_INS_POR:
	case X86_INS_ORPS:
	case X86_INS_ORPD:
		d->q[0] |= s.q[0];
		d->q[1] |= s.q[1];
		break;
	case X86_INS_PAND:
	case X86_INS_ANDPS:
	case X86_INS_ANDPD:
		d->q[0] &= s.q[0];
		d->q[1] &= s.q[1];
		break;
	default: /* pandn, andnps, andnpd */
		d->q[0] = ~d->q[0] & s.q[0];
		d->q[1] = ~d->q[1] & s.q[1];
		break;
	}
	return X_OK;
}

int soft_execute_sse(struct soft_exec *e)
{
	unsigned int id = e->insn->id;

	switch (id) {
	case X86_INS_MOVDQA:
	case X86_INS_MOVAPS:
	case X86_INS_MOVAPD:
		return exec_mov128(e, true);
	case X86_INS_MOVDQU:
	case X86_INS_MOVUPS:
	case X86_INS_MOVUPD:
		return exec_mov128(e, false);
	case X86_INS_MOVD:
		return exec_movdq(e, 4);
	case X86_INS_MOVQ:
		return exec_movdq(e, 8);
	case X86_INS_PXOR:
	case X86_INS_POR:
	case X86_INS_PAND:
	case X86_INS_PANDN:
	case X86_INS_XORPS:
	case X86_INS_XORPD:
	case X86_INS_ORPS:
	case X86_INS_ORPD:
	case X86_INS_ANDPS:
	case X86_INS_ANDPD:
	case X86_INS_ANDNPS:
	case X86_INS_ANDNPD:
		return exec_logic(e, id);
	}
	return soft_execute_sse_fp(e);
}

/* For sse_fp.c: the same operand rules. */
int soft_sse_src(struct soft_exec *e, const struct soft_operand *op, unsigned int size,
		 bool align16, union soft_xmm *v)
{
	return xmm_src(e, op, size, align16, v);
}
