// SPDX-License-Identifier: GPL-2.0
/*
 * The interpreter proper: one decoded instruction at a time, dispatched on
 * Capstone's instruction id.  Every handler reads its operands (which may
 * translate guest addresses and so return X_RETRY) before it changes any
 * register, flag or byte of memory; see access.h.
 */
#include <capstone/capstone.h>
#include <string.h>

#include "base/compiler.h"
#include "vmm/soft/access.h"
#include "vmm/soft/interp.h"
#include "vmm/soft/system.h"

/* ---- registers and operands ---- */

static uint64_t reg_read(struct soft_cpu *cpu, unsigned int reg, unsigned int size)
{
	if (reg & SOFT_REG_HIGH8)
		return (cpu->gpr[reg & 3] >> 8) & 0xff;
	return cpu->gpr[reg] & soft_size_mask(size);
}

/* 32-bit writes zero the upper half; 8- and 16-bit writes merge. */
static void reg_write(struct soft_cpu *cpu, unsigned int reg, unsigned int size, uint64_t val)
{
	uint64_t *r;

	if (reg & SOFT_REG_HIGH8) {
		r = &cpu->gpr[reg & 3];
		*r = (*r & ~0xff00UL) | ((val & 0xff) << 8);
		return;
	}
	r = &cpu->gpr[reg];
	switch (size) {
	case 1:
		*r = (*r & ~0xffUL) | (val & 0xff);
		break;
	case 2:
		*r = (*r & ~0xffffUL) | (val & 0xffff);
		break;
	case 4:
		*r = (uint32_t)val;
		break;
	default:
		*r = val;
		break;
	}
}

/* The offset of a memory operand, as lea computes it: no segment base. */
static uint64_t operand_offset(struct soft_exec *e, const struct soft_operand *op)
{
	uint64_t a = op->val;

	if (op->base == SOFT_REG_RIP)
		a += e->next_rip;
	else if (op->base != SOFT_REG_NONE)
		a += e->cpu->gpr[op->base];
	if (op->index != SOFT_REG_NONE)
		a += e->cpu->gpr[op->index] * op->scale;
	return op->addr32 ? (uint32_t)a : a;
}

/* The linear address of a memory operand: its offset, plus an FS or GS base. */
static uint64_t effective_address(struct soft_exec *e, const struct soft_operand *op)
{
	return operand_offset(e, op) + soft_segment_base(e);
}

static uint64_t sign_extend(uint64_t v, unsigned int size)
{
	unsigned int shift = 64 - size * 8;

	return (uint64_t)((int64_t)(v << shift) >> shift);
}

/* The value of @op, @size bytes, zero-extended. */
static int op_read(struct soft_exec *e, const struct soft_operand *op, unsigned int size,
		   uint64_t *val)
{
	switch (op->type) {
	case SOFT_OP_REG:
		*val = reg_read(e->cpu, op->reg, size);
		return X_OK;
	case SOFT_OP_IMM:
		*val = op->val & soft_size_mask(size);
		return X_OK;
	default:
		return soft_mem_read(e, effective_address(e, op), size, val);
	}
}

/* ---- arithmetic ---- */

enum alu_op {
	ALU_ADD,
	ALU_OR,
	ALU_ADC,
	ALU_SBB,
	ALU_AND,
	ALU_SUB,
	ALU_XOR,
	ALU_CMP,
	ALU_TEST,
	ALU_INC,
	ALU_DEC,
	ALU_NEG,
	ALU_NOT,
	ALU_XCHG,
	ALU_XADD,
};

/* @a op @b; records the flags (lazily).  @cin: CF before the instruction. */
static uint64_t alu(struct soft_flags *f, enum alu_op op, uint64_t a, uint64_t b, unsigned int size,
		    unsigned int cin)
{
	uint64_t r;

	switch (op) {
	case ALU_ADD:
	case ALU_XADD:
		r = a + b;
		soft_flags_set(f, SOFT_CC_ADD, size, a, b, r, 0);
		return r;
	case ALU_ADC:
		r = a + b + cin;
		soft_flags_set(f, SOFT_CC_ADD, size, a, b, r, cin);
		return r;
	case ALU_SUB:
	case ALU_CMP:
		r = a - b;
		soft_flags_set(f, SOFT_CC_SUB, size, a, b, r, 0);
		return r;
	case ALU_SBB:
		r = a - b - cin;
		soft_flags_set(f, SOFT_CC_SUB, size, a, b, r, cin);
		return r;
	case ALU_AND:
	case ALU_TEST:
		r = a & b;
		break;
	case ALU_OR:
		r = a | b;
		break;
	case ALU_XOR:
		r = a ^ b;
		break;
	case ALU_INC:
		r = a + 1;
		soft_flags_set(f, SOFT_CC_INC, size, a, 1, r, cin);
		return r;
	case ALU_DEC:
		r = a - 1;
		soft_flags_set(f, SOFT_CC_DEC, size, a, 1, r, cin);
		return r;
	case ALU_NEG:
		r = -a;
		soft_flags_set(f, SOFT_CC_SUB, size, 0, a, r, 0);
		return r;
	case ALU_NOT:
		return ~a;
	default: /* ALU_XCHG */
		return b;
	}
	soft_flags_set(f, SOFT_CC_LOGIC, size, a, b, r, 0);
	return r;
}

static bool alu_writes(enum alu_op op)
{
	return op != ALU_CMP && op != ALU_TEST;
}

/*
 * dst = dst op src, for a register or memory destination.  A memory
 * destination is translated once for writing; with a lock prefix (or for
 * xchg, which is always locked) the update is a compare-and-exchange loop
 * on the host address.  xadd also returns the old value to its source.
 */
static int exec_alu(struct soft_exec *e, enum alu_op op, const struct soft_operand *dst,
		    const struct soft_operand *src, unsigned int size)
{
	struct soft_cpu *cpu = e->cpu;
	unsigned int cin = soft_flag_cf(&cpu->flags);
	uint64_t a, b = 0, r;
	struct soft_dest d;
	int ret;

	if (src) {
		ret = op_read(e, src, src->type == SOFT_OP_IMM ? 8 : size, &b);
		if (ret)
			return ret;
		b &= soft_size_mask(size);
	}
	if (dst->type == SOFT_OP_REG) {
		a = reg_read(cpu, dst->reg, size);
		r = alu(&cpu->flags, op, a, b, size, cin);
		if (op == ALU_XCHG || op == ALU_XADD)
			reg_write(cpu, src->reg, size, a);
		if (alu_writes(op))
			reg_write(cpu, dst->reg, size, r);
		return X_OK;
	}
	if (!alu_writes(op)) {
		ret = soft_mem_read(e, effective_address(e, dst), size, &a);
		if (!ret)
			alu(&cpu->flags, op, a, b, size, cin);
		return ret;
	}
	ret = soft_dest_prepare(e, effective_address(e, dst), size, &d);
	if (ret)
		return ret;
	a = soft_dest_load(&d);
	if ((e->insn->prefix & SOFT_PFX_LOCK) || op == ALU_XCHG) {
		do
			r = alu(&cpu->flags, op, a, b, size, cin);
		while (!soft_dest_cmpxchg(e, &d, &a, r & soft_size_mask(size)));
	} else {
		r = alu(&cpu->flags, op, a, b, size, cin);
		soft_dest_store(e, &d, r);
	}
	if (op == ALU_XCHG || op == ALU_XADD)
		reg_write(cpu, src->reg, size, a);
	return X_OK;
}

static int exec_cmpxchg(struct soft_exec *e)
{
	const struct soft_operand *dst = &e->insn->op[0], *src = &e->insn->op[1];
	struct soft_cpu *cpu = e->cpu;
	unsigned int size = dst->size;
	uint64_t acc = reg_read(cpu, SOFT_RAX, size), val = reg_read(cpu, src->reg, size), cur;
	struct soft_dest d;
	int ret;

	if (dst->type == SOFT_OP_REG) {
		cur = reg_read(cpu, dst->reg, size);
		alu(&cpu->flags, ALU_CMP, acc, cur, size, 0);
		/* A failed compare writes the old value back: a 32-bit one zero-extends. */
		if (cur != acc)
			reg_write(cpu, SOFT_RAX, size, cur);
		reg_write(cpu, dst->reg, size, cur == acc ? val : cur);
		return X_OK;
	}
	ret = soft_dest_prepare(e, effective_address(e, dst), size, &d);
	if (ret)
		return ret;
	cur = acc;
	if (!soft_dest_cmpxchg(e, &d, &cur, val)) {
		/* The processor writes the old value back; a no-op we need not make. */
		alu(&cpu->flags, ALU_CMP, acc, cur, size, 0);
		reg_write(cpu, SOFT_RAX, size, cur);
	} else {
		alu(&cpu->flags, ALU_CMP, acc, acc, size, 0);
	}
	return X_OK;
}

/* Write @val to a register or memory operand (a plain store). */
static int op_write(struct soft_exec *e, const struct soft_operand *op, unsigned int size,
		    uint64_t val)
{
	if (op->type == SOFT_OP_REG) {
		reg_write(e->cpu, op->reg, size, val);
		return X_OK;
	}
	return soft_mem_write(e, effective_address(e, op), size, val);
}

/*
 * Read-modify-write of a register or memory destination with a function
 * that sets its flags eagerly (shifts, rotates, bit operations): the
 * destination is translated for writing before anything changes.
 */
typedef uint64_t (*rmw_fn)(struct soft_cpu *cpu, uint64_t a, uint64_t b, unsigned int size);

static int exec_rmw(struct soft_exec *e, const struct soft_operand *dst, uint64_t b,
		    unsigned int size, rmw_fn fn)
{
	struct soft_cpu *cpu = e->cpu;
	struct soft_dest d;
	uint64_t a;
	int ret;

	if (dst->type == SOFT_OP_REG) {
		reg_write(cpu, dst->reg, size, fn(cpu, reg_read(cpu, dst->reg, size), b, size));
		return X_OK;
	}
	ret = soft_dest_prepare(e, effective_address(e, dst), size, &d);
	if (ret)
		return ret;
	a = soft_dest_load(&d);
	soft_dest_store(e, &d, fn(cpu, a, b, size));
	return X_OK;
}

/* ---- shifts and rotates (flags computed eagerly) ---- */

static void set_szp(uint64_t *fl, uint64_t r, unsigned int size)
{
	r &= soft_size_mask(size);
	*fl &= ~(X86_ZF | X86_SF | X86_PF);
	*fl |= r ? 0 : X86_ZF;
	*fl |= (r & soft_sign_bit(size)) ? X86_SF : 0;
	*fl |= __builtin_parity(r & 0xff) ? 0 : X86_PF;
}

static void set_flag(uint64_t *fl, uint64_t flag, bool on)
{
	*fl = on ? *fl | flag : *fl & ~flag;
}

/*
 * An instruction that sets every arithmetic flag itself: RFLAGS becomes
 * concrete without computing the lazy flags it is about to overwrite.
 */
static void flags_overwrite_arith(struct soft_flags *f)
{
	if (f->op != SOFT_CC_EFLAGS) {
		f->rflags &= ~X86_ARITH_FLAGS;
		f->op = SOFT_CC_EFLAGS;
	}
}

static unsigned int shift_count(uint64_t b, unsigned int size)
{
	return b & (size == 8 ? 63 : 31);
}

static uint64_t do_shift(struct soft_cpu *cpu, uint64_t a, uint64_t b, unsigned int size,
			 unsigned int id)
{
	unsigned int c = shift_count(b, size), bits = size * 8;
	uint64_t m = soft_size_mask(size), sign = soft_sign_bit(size), r;
	uint64_t *fl = &cpu->flags.rflags;
	bool cf;

	if (!c)
		return a;
	flags_overwrite_arith(&cpu->flags);
	switch (id) {
	case X86_INS_SHL:
	case X86_INS_SAL:
		r = c < 64 ? a << c : 0;
		cf = c <= bits && ((a << (c - 1)) & sign);
		set_flag(fl, X86_OF, ((r & sign) != 0) ^ cf);
		break;
	case X86_INS_SHR:
		r = a >> c;
		cf = (a >> (c - 1)) & 1;
		set_flag(fl, X86_OF, a & sign);
		break;
	default: /* SAR */
		r = (uint64_t)((int64_t)sign_extend(a, size) >> c);
		cf = ((int64_t)sign_extend(a, size) >> (c - 1)) & 1;
		set_flag(fl, X86_OF, false);
		break;
	}
	set_flag(fl, X86_CF, cf);
	set_flag(fl, X86_AF, false);
	set_szp(fl, r, size);
	return r & m;
}

static uint64_t do_rotate(struct soft_cpu *cpu, uint64_t a, uint64_t b, unsigned int size,
			  unsigned int id)
{
	unsigned int c = shift_count(b, size), bits = size * 8, n;
	uint64_t m = soft_size_mask(size), sign = soft_sign_bit(size), r = a;
	uint64_t *fl = &cpu->flags.rflags;
	bool cf;

	if (!c)
		return a;
	soft_flags_materialize(&cpu->flags);
	cf = *fl & X86_CF;
	switch (id) {
	case X86_INS_ROL:
		n = c % bits;
		r = n ? ((a << n) | (a >> (bits - n))) & m : a;
		cf = r & 1;
		set_flag(fl, X86_OF, ((r & sign) != 0) ^ cf);
		break;
	case X86_INS_ROR:
		n = c % bits;
		r = n ? ((a >> n) | (a << (bits - n))) & m : a;
		cf = r & sign;
		set_flag(fl, X86_OF, ((r >> (bits - 1)) ^ (r >> (bits - 2))) & 1);
		break;
	case X86_INS_RCL:
		for (n = c % (bits + 1); n; n--) {
			bool out = r & sign;

			r = ((r << 1) | cf) & m;
			cf = out;
		}
		set_flag(fl, X86_OF, ((r & sign) != 0) ^ cf);
		break;
	default: /* RCR */
		for (n = c % (bits + 1); n; n--) {
			bool out = r & 1;

			r = (r >> 1) | (cf ? sign : 0);
			cf = out;
		}
		set_flag(fl, X86_OF, ((r >> (bits - 1)) ^ (r >> (bits - 2))) & 1);
		break;
	}
	set_flag(fl, X86_CF, cf);
	return r;
}

static uint64_t fn_shl(struct soft_cpu *c, uint64_t a, uint64_t b, unsigned int s)
{
	return do_shift(c, a, b, s, X86_INS_SHL);
}

static uint64_t fn_shr(struct soft_cpu *c, uint64_t a, uint64_t b, unsigned int s)
{
	return do_shift(c, a, b, s, X86_INS_SHR);
}

static uint64_t fn_sar(struct soft_cpu *c, uint64_t a, uint64_t b, unsigned int s)
{
	return do_shift(c, a, b, s, X86_INS_SAR);
}

static uint64_t fn_rol(struct soft_cpu *c, uint64_t a, uint64_t b, unsigned int s)
{
	return do_rotate(c, a, b, s, X86_INS_ROL);
}

static uint64_t fn_ror(struct soft_cpu *c, uint64_t a, uint64_t b, unsigned int s)
{
	return do_rotate(c, a, b, s, X86_INS_ROR);
}

static uint64_t fn_rcl(struct soft_cpu *c, uint64_t a, uint64_t b, unsigned int s)
{
	return do_rotate(c, a, b, s, X86_INS_RCL);
}

static uint64_t fn_rcr(struct soft_cpu *c, uint64_t a, uint64_t b, unsigned int s)
{
	return do_rotate(c, a, b, s, X86_INS_RCR);
}

static int exec_shift(struct soft_exec *e, rmw_fn fn)
{
	const struct soft_insn *insn = e->insn;
	uint64_t count = 1;
	int ret;

	/* "shl eax" (D1 /4) has one operand; the count is 1. */
	if (insn->nops > 1) {
		ret = op_read(e, &insn->op[1], 1, &count);
		if (ret)
			return ret;
	}
	return exec_rmw(e, &insn->op[0], count, insn->op[0].size, fn);
}

/*
 * shld/shrd: dst shifted by count, filled from src (gcc's 128-bit shifts).
 * A 16-bit shift by 16 is defined (src whole, CF the last bit out of
 * dst); by more than 16 it is undefined, and done as if the operands were
 * wider.
 */
static int exec_shiftd(struct soft_exec *e, bool left)
{
	const struct soft_operand *dst = &e->insn->op[0];
	unsigned int size = dst->size, bits = size * 8, c;
	uint64_t m = soft_size_mask(size), sign = soft_sign_bit(size), s, count, a, r;
	struct soft_cpu *cpu = e->cpu;
	uint64_t *fl = &cpu->flags.rflags;
	struct soft_dest d;
	int ret;

	ret = op_read(e, &e->insn->op[1], size, &s);
	if (!ret)
		ret = op_read(e, &e->insn->op[2], 1, &count);
	if (ret)
		return ret;
	c = shift_count(count, size);
	if (dst->type == SOFT_OP_REG) {
		a = reg_read(cpu, dst->reg, size);
	} else {
		ret = soft_dest_prepare(e, effective_address(e, dst), size, &d);
		if (ret)
			return ret;
		a = soft_dest_load(&d);
	}
	if (c) {
		flags_overwrite_arith(&cpu->flags);
		if (left) {
			r = ((a << c) | (c <= bits ? s >> (bits - c) : 0)) & m;
			set_flag(fl, X86_CF, c <= bits && ((a >> (bits - c)) & 1));
		} else {
			r = ((a >> c) | (c <= bits ? s << (bits - c) : 0)) & m;
			set_flag(fl, X86_CF, (a >> (c - 1)) & 1);
		}
		set_flag(fl, X86_OF, (r ^ a) & sign);
		set_flag(fl, X86_AF, false);
		set_szp(fl, r, size);
	} else {
		r = a;
	}
	if (dst->type == SOFT_OP_REG)
		reg_write(cpu, dst->reg, size, r);
	else
		soft_dest_store(e, &d, r);
	return X_OK;
}

/* ---- multiply and divide ---- */

static void set_mul_flags(struct soft_cpu *cpu, bool overflow, uint64_t low, unsigned int size)
{
	uint64_t *fl = &cpu->flags.rflags;

	flags_overwrite_arith(&cpu->flags);
	set_flag(fl, X86_CF, overflow);
	set_flag(fl, X86_OF, overflow);
	set_flag(fl, X86_AF, false);
	set_szp(fl, low, size);
}

/* mul/imul with one operand: rdx:rax (ax for bytes) = rax * src. */
static int exec_mul1(struct soft_exec *e, bool sign)
{
	const struct soft_operand *src = &e->insn->op[0];
	struct soft_cpu *cpu = e->cpu;
	unsigned int size = src->size, bits = size * 8;
	uint64_t b, a = reg_read(cpu, SOFT_RAX, size), lo, hi;
	int ret = op_read(e, src, size, &b);
	bool ovf;

	if (ret)
		return ret;
	if (sign) {
		__int128 p =
			(__int128)(int64_t)sign_extend(a, size) * (int64_t)sign_extend(b, size);

		lo = (uint64_t)p & soft_size_mask(size);
		hi = (uint64_t)(p >> bits) & soft_size_mask(size);
		ovf = p != (__int128)(int64_t)sign_extend(lo, size);
	} else {
		unsigned __int128 p = (unsigned __int128)a * b;

		lo = (uint64_t)p & soft_size_mask(size);
		hi = (uint64_t)(p >> bits) & soft_size_mask(size);
		ovf = hi != 0;
	}
	if (size == 1) {
		reg_write(cpu, SOFT_RAX, 2, lo | (hi << 8));
	} else {
		reg_write(cpu, SOFT_RAX, size, lo);
		reg_write(cpu, SOFT_RDX, size, hi);
	}
	set_mul_flags(cpu, ovf, lo, size);
	return X_OK;
}

/* imul with two or three operands: dst = src1 * src2, truncated. */
static int exec_imul(struct soft_exec *e)
{
	const struct soft_insn *insn = e->insn;
	const struct soft_operand *dst = &insn->op[0];
	unsigned int size = dst->size;
	uint64_t a, b, lo;
	__int128 p;
	int ret;

	if (insn->nops == 1)
		return exec_mul1(e, true);
	ret = op_read(e, &insn->op[insn->nops == 3 ? 1 : 0], size, &a);
	if (!ret)
		ret = op_read(e, &insn->op[insn->nops - 1], size, &b);
	if (ret)
		return ret;
	p = (__int128)(int64_t)sign_extend(a, size) * (int64_t)sign_extend(b, size);
	lo = (uint64_t)p & soft_size_mask(size);
	reg_write(e->cpu, dst->reg, size, lo);
	set_mul_flags(e->cpu, p != (__int128)(int64_t)sign_extend(lo, size), lo, size);
	return X_OK;
}

static int divide_error(struct soft_exec *e)
{
	return soft_fault(e, SOFT_VEC_DE, 0, "%s", "");
}

/* div/idiv: rdx:rax (ax for bytes) / src; flags are undefined and left alone. */
static int exec_div(struct soft_exec *e, bool sign)
{
	const struct soft_operand *src = &e->insn->op[0];
	struct soft_cpu *cpu = e->cpu;
	unsigned int size = src->size, bits = size * 8;
	uint64_t b, lo, hi, q, r;
	int ret = op_read(e, src, size, &b);

	if (ret)
		return ret;
	if (!b)
		return divide_error(e);
	if (size == 1) {
		lo = reg_read(cpu, SOFT_RAX, 1);
		hi = (cpu->gpr[SOFT_RAX] >> 8) & 0xff;
	} else {
		lo = reg_read(cpu, SOFT_RAX, size);
		hi = reg_read(cpu, SOFT_RDX, size);
	}
	if (sign) {
		unsigned __int128 u = ((unsigned __int128)hi << bits) | lo;
		__int128 d = (int64_t)sign_extend(b, size), n, sq, sr;

		/* Sign-extend the 2*size-byte dividend. */
		n = (__int128)(u << (128 - 2 * bits)) >> (128 - 2 * bits);
		/* The most negative dividend over -1 overflows even __int128. */
		if (d == -1 && u == (unsigned __int128)1 << (2 * bits - 1))
			return divide_error(e);
		sq = n / d;
		sr = n % d;
		if (sq != (__int128)(int64_t)sign_extend((uint64_t)sq, size))
			return divide_error(e);
		q = (uint64_t)sq;
		r = (uint64_t)sr;
	} else {
		unsigned __int128 n = ((unsigned __int128)hi << bits) | lo, uq;

		uq = n / b;
		if (uq >> bits)
			return divide_error(e);
		q = (uint64_t)uq;
		r = (uint64_t)(n % b);
	}
	if (size == 1) {
		reg_write(cpu, SOFT_RAX, 2, (q & 0xff) | ((r & 0xff) << 8));
	} else {
		reg_write(cpu, SOFT_RAX, size, q);
		reg_write(cpu, SOFT_RDX, size, r);
	}
	return X_OK;
}

/* ---- bit tests and scans ---- */

static uint64_t fn_bt(struct soft_cpu *cpu, uint64_t a, uint64_t b, unsigned int size,
		      unsigned int id)
{
	uint64_t bit = 1UL << (b & (size * 8 - 1));

	soft_flags_materialize(&cpu->flags);
	set_flag(&cpu->flags.rflags, X86_CF, a & bit);
	switch (id) {
	case X86_INS_BTS:
		return a | bit;
	case X86_INS_BTR:
		return a & ~bit;
	case X86_INS_BTC:
		return a ^ bit;
	default:
		return a;
	}
}

static int exec_bt(struct soft_exec *e)
{
	const struct soft_insn *insn = e->insn;
	const struct soft_operand *dst = &insn->op[0], *src = &insn->op[1];
	unsigned int size = dst->size, bits = size * 8;
	struct soft_cpu *cpu = e->cpu;
	struct soft_operand mem = *dst;
	struct soft_dest d;
	uint64_t b, a, r;
	int ret;

	ret = op_read(e, src, size, &b);
	if (ret)
		return ret;
	if (dst->type == SOFT_OP_REG) {
		r = fn_bt(cpu, reg_read(cpu, dst->reg, size), b, size, insn->id);
		if (insn->id != X86_INS_BT)
			reg_write(cpu, dst->reg, size, r);
		return X_OK;
	}
	/* A register bit offset reaches beyond the operand: signed, in operand units. */
	if (src->type == SOFT_OP_REG) {
		mem.val += ((int64_t)sign_extend(b, size) >> __builtin_ctz(bits)) * size;
		b &= bits - 1;
	}
	if (insn->id == X86_INS_BT) {
		ret = soft_mem_read(e, effective_address(e, &mem), size, &a);
		if (!ret)
			fn_bt(cpu, a, b, size, insn->id);
		return ret;
	}
	ret = soft_dest_prepare(e, effective_address(e, &mem), size, &d);
	if (ret)
		return ret;
	a = soft_dest_load(&d);
	if (insn->prefix & SOFT_PFX_LOCK) {
		do
			r = fn_bt(cpu, a, b, size, insn->id);
		while (!soft_dest_cmpxchg(e, &d, &a, r));
	} else {
		soft_dest_store(e, &d, fn_bt(cpu, a, b, size, insn->id));
	}
	return X_OK;
}

/*
 * bsf/bsr.  gcc emits "rep bsf" for __builtin_ctz, which Capstone decodes as
 * tzcnt: the interpreter runs tzcnt and lzcnt as bsf and bsr, which is what
 * a CPU without BMI1/ABM does, and its cpuid advertises neither.
 */
static int exec_bitscan(struct soft_exec *e, bool reverse)
{
	const struct soft_operand *dst = &e->insn->op[0];
	struct soft_cpu *cpu = e->cpu;
	unsigned int size = dst->size;
	uint64_t b;
	int ret = op_read(e, &e->insn->op[1], size, &b);

	if (ret)
		return ret;
	soft_flags_materialize(&cpu->flags);
	set_flag(&cpu->flags.rflags, X86_ZF, !b);
	/*
	 * A zero source leaves the destination's value, written back (so a
	 * 32-bit one is zero-extended, as Intel parts and QEMU do).
	 */
	reg_write(cpu, dst->reg, size,
		  !b	  ? reg_read(cpu, dst->reg, size) :
		  reverse ? 63 - __builtin_clzl(b) :
			    __builtin_ctzl(b));
	return X_OK;
}

/* ---- stack and control flow ---- */

static unsigned int stack_size(const struct soft_insn *insn)
{
	return insn->opsize == 2 ? 2 : 8;
}

static int exec_push(struct soft_exec *e)
{
	const struct soft_operand *src = &e->insn->op[0];
	unsigned int size = stack_size(e->insn);
	struct soft_cpu *cpu = e->cpu;
	uint64_t v, sp = cpu->gpr[SOFT_RSP] - size;
	int ret;

	ret = op_read(e, src, src->type == SOFT_OP_IMM ? 8 : size, &v);
	if (!ret)
		ret = soft_mem_write(e, sp, size, v);
	if (!ret)
		cpu->gpr[SOFT_RSP] = sp;
	return ret;
}

static int exec_pop(struct soft_exec *e)
{
	const struct soft_operand *dst = &e->insn->op[0];
	unsigned int size = stack_size(e->insn);
	struct soft_cpu *cpu = e->cpu;
	uint64_t v, old_sp = cpu->gpr[SOFT_RSP];
	int ret;

	ret = soft_mem_read(e, old_sp, size, &v);
	if (ret)
		return ret;
	if (dst->type == SOFT_OP_REG) {
		cpu->gpr[SOFT_RSP] = old_sp + size;
		reg_write(cpu, dst->reg, size, v);
		return X_OK;
	}
	/* A memory destination is addressed with the incremented rsp. */
	cpu->gpr[SOFT_RSP] = old_sp + size;
	ret = soft_mem_write(e, effective_address(e, dst), size, v);
	if (ret)
		cpu->gpr[SOFT_RSP] = old_sp;
	return ret;
}

/* A branch to a non-canonical address faults on the branch, before it changes anything. */
static int check_target(struct soft_exec *e, uint64_t target)
{
	if (__builtin_expect(soft_canonical(target), 1))
		return X_OK;
	return soft_fault(e, SOFT_VEC_GP, 0, "a branch to non-canonical address %#lx",
			  (unsigned long)target);
}

/* The target of a jmp or call: relative immediate, register or memory. */
static int branch_target(struct soft_exec *e, uint64_t *target)
{
	const struct soft_operand *op = &e->insn->op[0];
	int ret;

	if (op->type == SOFT_OP_IMM) {
		*target = e->next_rip + op->val;
		return check_target(e, *target);
	}
	ret = op_read(e, op, 8, target);
	return ret ? ret : check_target(e, *target);
}

static int exec_call(struct soft_exec *e)
{
	struct soft_cpu *cpu = e->cpu;
	uint64_t target, sp = cpu->gpr[SOFT_RSP] - 8;
	int ret = branch_target(e, &target);

	if (!ret)
		ret = soft_mem_write(e, sp, 8, e->next_rip);
	if (ret)
		return ret;
	cpu->gpr[SOFT_RSP] = sp;
	e->next_rip = target;
	return X_OK;
}

static int exec_ret(struct soft_exec *e)
{
	struct soft_cpu *cpu = e->cpu;
	uint64_t target;
	int ret = soft_mem_read(e, cpu->gpr[SOFT_RSP], 8, &target);

	if (!ret)
		ret = check_target(e, target);
	if (ret)
		return ret;
	cpu->gpr[SOFT_RSP] += 8 + (e->insn->nops ? (uint16_t)e->insn->op[0].val : 0);
	e->next_rip = target;
	return X_OK;
}

/* leave: rsp = rbp, then pop rbp; with 0x66 a 16-bit pop into bp alone. */
static int exec_leave(struct soft_exec *e)
{
	unsigned int size = stack_size(e->insn);
	struct soft_cpu *cpu = e->cpu;
	uint64_t v;
	int ret = soft_mem_read(e, cpu->gpr[SOFT_RBP], size, &v);

	if (ret)
		return ret;
	cpu->gpr[SOFT_RSP] = cpu->gpr[SOFT_RBP] + size;
	reg_write(cpu, SOFT_RBP, size, v);
	return X_OK;
}

/* ---- string instructions ---- */

enum string_op { STR_MOVS, STR_STOS, STR_LODS, STR_CMPS, STR_SCAS };

/* Iterations of a rep string instruction between two looks at the kick flag. */
#define REP_BATCH 4096

/* rsi or rdi moved by @delta: with 0x67 the 32-bit register, zero-extended as any 32-bit write. */
static void string_advance(uint64_t *reg, int64_t delta, bool addr32)
{
	*reg += delta;
	if (addr32)
		*reg = (uint32_t)*reg;
}

static int string_step(struct soft_exec *e, enum string_op op, unsigned int size, int64_t delta)
{
	struct soft_cpu *cpu = e->cpu;
	bool addr32 = e->insn->prefix & SOFT_PFX_ADDRSIZE;
	uint64_t mask = addr32 ? 0xffffffffUL : ~0UL;
	/* The source's segment may be overridden, the destination's (ES) not. */
	uint64_t src = (cpu->gpr[SOFT_RSI] & mask) + soft_segment_base(e);
	uint64_t dst = cpu->gpr[SOFT_RDI] & mask;
	uint64_t *rsi = &cpu->gpr[SOFT_RSI], *rdi = &cpu->gpr[SOFT_RDI];
	uint64_t a, b;
	int ret;

	switch (op) {
	case STR_MOVS:
		ret = soft_mem_read(e, src, size, &a);
		if (!ret)
			ret = soft_mem_write(e, dst, size, a);
		if (ret)
			return ret;
		string_advance(rsi, delta, addr32);
		string_advance(rdi, delta, addr32);
		return X_OK;
	case STR_STOS:
		ret = soft_mem_write(e, dst, size, cpu->gpr[SOFT_RAX]);
		if (ret)
			return ret;
		string_advance(rdi, delta, addr32);
		return X_OK;
	case STR_LODS:
		ret = soft_mem_read(e, src, size, &a);
		if (ret)
			return ret;
		reg_write(cpu, SOFT_RAX, size, a);
		string_advance(rsi, delta, addr32);
		return X_OK;
	case STR_CMPS:
		ret = soft_mem_read(e, src, size, &a);
		if (!ret)
			ret = soft_mem_read(e, dst, size, &b);
		if (ret)
			return ret;
		alu(&cpu->flags, ALU_CMP, a, b, size, 0);
		string_advance(rsi, delta, addr32);
		string_advance(rdi, delta, addr32);
		return X_OK;
	default: /* SCAS */
		ret = soft_mem_read(e, dst, size, &b);
		if (ret)
			return ret;
		alu(&cpu->flags, ALU_CMP, reg_read(cpu, SOFT_RAX, size), b, size, 0);
		string_advance(rdi, delta, addr32);
		return X_OK;
	}
}

/* The count of a rep: rcx, or ecx with 0x67. */
static uint64_t rep_count(struct soft_cpu *cpu, bool addr32)
{
	return addr32 ? (uint32_t)cpu->gpr[SOFT_RCX] : cpu->gpr[SOFT_RCX];
}

/*
 * A rep prefix repeats while rcx != 0, committing each iteration; after a
 * batch, a pending kick ends the instruction early with rip still on it,
 * as an interrupt would, so a long memset cannot delay a kick for long.
 * The element size comes from the opcode byte and the prefixes
 * (insn->strsize), never from the decoder's name for the instruction;
 * 0x67 makes esi, edi and ecx the registers.
 */
static int exec_string(struct soft_exec *e, enum string_op op)
{
	struct soft_cpu *cpu = e->cpu;
	uint8_t pfx = e->insn->prefix;
	unsigned int size = e->insn->strsize;
	bool addr32 = pfx & SOFT_PFX_ADDRSIZE;
	int64_t delta = (soft_flags_get(&cpu->flags) & X86_DF) ? -(int64_t)size : size;
	bool cond = op == STR_CMPS || op == STR_SCAS;
	unsigned int n;
	int ret;

	if (!size) /* movsd/cmpsd of SSE2, which share the string forms' names */
		return soft_unsupported(e);
	if (!(pfx & (SOFT_PFX_REP | SOFT_PFX_REPNE)))
		return string_step(e, op, size, delta);
	for (n = 0; rep_count(cpu, addr32); n++) {
		if (n == REP_BATCH) {
			if (READ_ONCE(cpu->kick)) {
				e->next_rip = cpu->rip;
				return X_OK;
			}
			n = 0;
		}
		ret = string_step(e, op, size, delta);
		if (ret)
			return ret;
		cpu->gpr[SOFT_RCX] =
			addr32 ? (uint32_t)(cpu->gpr[SOFT_RCX] - 1) : cpu->gpr[SOFT_RCX] - 1;
		if (cond && soft_flag_zf(&cpu->flags) != !(pfx & SOFT_PFX_REPNE))
			break;
	}
	return X_OK;
}

/* ---- port I/O and system instructions ---- */

static int exec_pio(struct soft_exec *e, bool in)
{
	const struct soft_insn *insn = e->insn;
	const struct soft_operand *port_op = &insn->op[in ? 1 : 0], *data = &insn->op[in ? 0 : 1];
	struct soft_cpu *cpu = e->cpu;
	unsigned int size = data->size;
	uint16_t port =
		port_op->type == SOFT_OP_IMM ? (uint8_t)port_op->val : (uint16_t)cpu->gpr[SOFT_RDX];
	uint32_t val = in ? 0xffffffff : reg_read(cpu, SOFT_RAX, size);
	int ret;

	/* No I/O permission bitmap: above IOPL every port is #GP(0). */
	if (soft_cpu_cpl(cpu) > soft_iopl(cpu))
		return soft_privileged(e);
	ret = cpu->ops->pio ? cpu->ops->pio(cpu->opaque, port, size, in, &val) : 0;
	if (ret < 0)
		return soft_stop(e, SOFT_ERR_PIO,
				 "port %s of %u bytes at port %#x failed (%d), rip %#lx",
				 in ? "in" : "out", size, port, ret, (unsigned long)cpu->rip);
	if (in)
		reg_write(cpu, SOFT_RAX, size, val);
	if (ret == SOFT_PIO_EXIT) {
		cpu->exit.reason = SOFT_EXIT_PIO;
		cpu->exit.port = port;
		cpu->exit.size = size;
		cpu->exit.in = in;
		cpu->exit.data = val;
	}
	return X_OK;
}

/*
 * cpuid describes a plain 64-bit CPU with only what the interpreter does:
 * vendor "NopinSoftCPU"; FPU, TSC, CX8, CMOV (with FPU: FCMOV too), FXSR,
 * SSE and SSE2; CX16 and POPCNT; syscall; FSGSBASE.  Nothing of SSE3 and later, AVX, XSAVE or
 * CLFLUSH.
 */
static void exec_cpuid(struct soft_cpu *cpu)
{
	uint32_t leaf = cpu->gpr[SOFT_RAX], a = 0, b = 0, c = 0, d = 0;

	switch (leaf) {
	case 0:
		a = 7;
		b = 0x69706f4e; /* "Nopi" */
		d = 0x666f536e; /* "nSof" */
		c = 0x55504374; /* "tCPU" */
		break;
	case 1:
		a = 0x00060f00;				      /* family 6 */
		d = 1u | (1u << 4) | (1u << 8) | (1u << 15) | /* FPU, TSC, CX8, CMOV (FCMOV) */
		    (1u << 24) | (1u << 25) | (1u << 26);     /* FXSR, SSE, SSE2 */
		c = (1u << 13) | (1u << 23);		      /* CX16, POPCNT */
		break;
	case 7:
		b = cpu->gpr[SOFT_RCX] == 0 ? 1u << 0 : 0; /* subleaf 0: FSGSBASE */
		break;
	case 0x80000000:
		a = 0x80000001;
		break;
	case 0x80000001:
		d = (1u << 29) | (1u << 11); /* long mode, syscall */
		break;
	}
	reg_write(cpu, SOFT_RAX, 4, a);
	reg_write(cpu, SOFT_RBX, 4, b);
	reg_write(cpu, SOFT_RCX, 4, c);
	reg_write(cpu, SOFT_RDX, 4, d);
}

/*
 * cmpxchg8b and cmpxchg16b: edx:eax (rdx:rax with REX.W) against the
 * memory operand; equal, ecx:ebx (rcx:rbx) is stored and ZF set, else the
 * value found is loaded into the pair and ZF cleared; no other flag
 * changes.  Locked or not, it is one host compare-and-exchange (an
 * unlocked one being atomic is allowed).  cmpxchg16b's operand must be
 * 16-byte aligned: #GP(0).
 */
static int exec_cmpxchg_pair(struct soft_exec *e)
{
	uint64_t gva = effective_address(e, &e->insn->op[0]), *r = e->cpu->gpr;
	bool wide = e->insn->opsize == 8, ok;
	unsigned __int128 old16;
	struct soft_dest d;
	uint64_t old8;
	int ret;

	if (wide && (gva & 15))
		return soft_fault(e, SOFT_VEC_GP, 0, "cmpxchg16b at unaligned %#lx",
				  (unsigned long)gva);
	ret = soft_dest_prepare(e, gva, wide ? 16 : 8, &d);
	if (ret)
		return ret;
	if (wide) {
		old16 = (unsigned __int128)r[SOFT_RDX] << 64 | r[SOFT_RAX];
		ok = soft_dest_cmpxchg16(e, &d, &old16,
					 (unsigned __int128)r[SOFT_RCX] << 64 | r[SOFT_RBX]);
		if (!ok) {
			r[SOFT_RAX] = old16;
			r[SOFT_RDX] = old16 >> 64;
		}
	} else {
		old8 = (uint64_t)(uint32_t)r[SOFT_RDX] << 32 | (uint32_t)r[SOFT_RAX];
		ok = soft_dest_cmpxchg(e, &d, &old8,
				       (uint64_t)(uint32_t)r[SOFT_RCX] << 32 |
					       (uint32_t)r[SOFT_RBX]);
		if (!ok) {
			r[SOFT_RAX] = (uint32_t)old8;
			r[SOFT_RDX] = old8 >> 32;
		}
	}
	soft_flags_materialize(&e->cpu->flags);
	set_flag(&e->cpu->flags.rflags, X86_ZF, ok);
	return X_OK;
}

/* popcnt: ZF says the source was zero; CF, PF, AF, SF and OF are cleared. */
static int exec_popcnt(struct soft_exec *e)
{
	const struct soft_operand *op = e->insn->op;
	unsigned int size = e->insn->opsize;
	uint64_t v;
	int ret = op_read(e, &op[1], size, &v);

	if (ret)
		return ret;
	soft_flags_materialize(&e->cpu->flags);
	e->cpu->flags.rflags &= ~X86_ARITH_FLAGS;
	set_flag(&e->cpu->flags.rflags, X86_ZF, !v);
	reg_write(e->cpu, op[0].reg, size, __builtin_popcountll(v));
	return X_OK;
}

/*
 * An instruction outside the interpreted subset: #UD for a guest that has
 * a handler for it (which may emulate the instruction, or skip it), a stop
 * naming the instruction otherwise.
 */
int soft_unsupported(struct soft_exec *e)
{
	struct soft_cpu *cpu = e->cpu;
	const uint8_t *b = e->insn->bytes;
	char dis[128];

	if (soft_has_handler(cpu, SOFT_VEC_UD))
		return soft_raise(e, SOFT_VEC_UD, 0);
	soft_disasm(cpu->cache.decoder, e->insn, cpu->rip, dis, sizeof(dis));
	return soft_stop(e, SOFT_ERR_UNSUPPORTED,
			 "unsupported instruction at rip %#lx: %s (bytes %02x %02x %02x %02x...)",
			 (unsigned long)cpu->rip, dis, b[0], b[1], b[2], b[3]);
}

/*
 * mov to and from CR2 and CR3 (the others are outside the subset).  A CR3
 * load goes to the VMM (ops->load_cr3), which drops what the translations
 * cached; one it refuses is #GP(0), with nothing changed.
 */
static int exec_mov_cr(struct soft_exec *e)
{
	const struct soft_operand *op = e->insn->op;
	struct soft_cpu *cpu = e->cpu;
	bool load = op[0].type == SOFT_OP_CR;
	unsigned int cr = load ? op[0].reg : op[1].reg;
	uint64_t v;
	int ret;

	if (soft_cpu_cpl(cpu))
		return soft_privileged(e);
	if (!load && (cr == 2 || cr == 3)) {
		reg_write(cpu, op[0].reg, 8, cr == 2 ? cpu->cr2 : cpu->cr3);
		return X_OK;
	}
	v = cpu->gpr[op[1].reg];
	if (cr == 2) {
		cpu->cr2 = v;
		return X_OK;
	}
	if (cr != 3 || !cpu->ops->load_cr3)
		return soft_unsupported(e);
	ret = cpu->ops->load_cr3(cpu->opaque, v);
	if (ret)
		return soft_fault(e, SOFT_VEC_GP, 0, "CR3 %#lx refused (%s)", (unsigned long)v,
				  strerror(-ret));
	soft_cpu_flush_tlb(cpu);
	cpu->cr3 = v;
	return X_OK;
}

/* invlpg: the VMM drops what it cached for the page; a non-canonical address is a no-op. */
static int exec_invlpg(struct soft_exec *e)
{
	struct soft_cpu *cpu = e->cpu;
	uint64_t gva = effective_address(e, &e->insn->op[0]);

	if (soft_cpu_cpl(cpu))
		return soft_privileged(e);
	if (!cpu->ops->invlpg)
		return soft_unsupported(e);
	if (soft_canonical(gva))
		cpu->ops->invlpg(cpu->opaque, gva);
	soft_cpu_flush_tlb(cpu);
	return X_OK;
}

static int exec_cond(struct soft_exec *e)
{
	const struct soft_insn *insn = e->insn;
	struct soft_cpu *cpu = e->cpu;
	bool taken = soft_cond(&cpu->flags, insn->cc);
	uint64_t v;
	int ret;

	switch (insn->id) {
	case X86_INS_SETAE ... X86_INS_SETS:
		return op_write(e, &insn->op[0], 1, taken);
	default: /* CMOVcc: the source is read, and a 32-bit destination zero-extended, either way */
		ret = op_read(e, &insn->op[1], insn->op[0].size, &v);
		if (ret)
			return ret;
		if (!taken)
			v = reg_read(cpu, insn->op[0].reg, insn->op[0].size);
		reg_write(cpu, insn->op[0].reg, insn->op[0].size, v);
		return X_OK;
	}
}

/*
 * movsxd sign-extends a doubleword into a quadword with REX.W only.
 * Without it, it is a plain 32-bit move (16-bit with 0x66), zero-extending
 * as every 32-bit write does.  Capstone 4 names the 64-bit register
 * whatever the prefixes say (63 /r without REX.W is "movsxd rsp, dword
 * ptr [...]"), so the size is the prefixes' (insn->opsize).
 */
static int exec_movsxd(struct soft_exec *e)
{
	const struct soft_insn *insn = e->insn;
	const struct soft_operand *op = insn->op;
	unsigned int size = insn->opsize == 8 ? op[1].size : insn->opsize;
	uint64_t v;
	int ret;

	ret = op_read(e, &op[1], size, &v);
	if (ret)
		return ret;
	if (insn->opsize == 8)
		v = sign_extend(v, size);
	reg_write(e->cpu, op[0].reg, insn->opsize, v);
	return X_OK;
}

int soft_execute(struct soft_exec *e)
{
	const struct soft_insn *insn = e->insn;
	const struct soft_operand *op = insn->op;
	struct soft_cpu *cpu = e->cpu;
	uint64_t v;
	int ret;

	switch (insn->kind) {
	case SOFT_K_NORMAL:
		break;
	case SOFT_K_MOV_CR:
		return exec_mov_cr(e);
	case SOFT_K_SSE:
		return soft_execute_sse(e);
	case SOFT_K_X87:
		return soft_execute_x87(e);
	default:
		return soft_unsupported(e);
	}
	switch (insn->id) {
	case X86_INS_MOV:
	case X86_INS_MOVABS:
		ret = op_read(e, &op[1], op[0].size, &v);
		return ret ? ret : op_write(e, &op[0], op[0].size, v);
	case X86_INS_MOVSXD:
		return exec_movsxd(e);
	case X86_INS_MOVZX:
	case X86_INS_MOVSX:
		ret = op_read(e, &op[1], op[1].size, &v);
		if (ret)
			return ret;
		if (insn->id == X86_INS_MOVSX)
			v = sign_extend(v, op[1].size);
		reg_write(cpu, op[0].reg, op[0].size, v);
		return X_OK;
	case X86_INS_LEA:
		reg_write(cpu, op[0].reg, op[0].size, operand_offset(e, &op[1]));
		return X_OK;
	case X86_INS_ADD:
		return exec_alu(e, ALU_ADD, &op[0], &op[1], op[0].size);
	case X86_INS_OR:
		return exec_alu(e, ALU_OR, &op[0], &op[1], op[0].size);
	case X86_INS_ADC:
		return exec_alu(e, ALU_ADC, &op[0], &op[1], op[0].size);
	case X86_INS_SBB:
		return exec_alu(e, ALU_SBB, &op[0], &op[1], op[0].size);
	case X86_INS_AND:
		return exec_alu(e, ALU_AND, &op[0], &op[1], op[0].size);
	case X86_INS_SUB:
		return exec_alu(e, ALU_SUB, &op[0], &op[1], op[0].size);
	case X86_INS_XOR:
		return exec_alu(e, ALU_XOR, &op[0], &op[1], op[0].size);
	case X86_INS_CMP:
		return exec_alu(e, ALU_CMP, &op[0], &op[1], op[0].size);
	case X86_INS_TEST:
		return exec_alu(e, ALU_TEST, &op[0], &op[1], op[0].size);
	case X86_INS_INC:
		return exec_alu(e, ALU_INC, &op[0], NULL, op[0].size);
	case X86_INS_DEC:
		return exec_alu(e, ALU_DEC, &op[0], NULL, op[0].size);
	case X86_INS_NEG:
		return exec_alu(e, ALU_NEG, &op[0], NULL, op[0].size);
	case X86_INS_NOT:
		return exec_alu(e, ALU_NOT, &op[0], NULL, op[0].size);
	case X86_INS_XCHG:
		/* Capstone puts a memory operand of xchg first or second; make it the destination. */
		if (op[1].type == SOFT_OP_MEM)
			return exec_alu(e, ALU_XCHG, &op[1], &op[0], op[0].size);
		return exec_alu(e, ALU_XCHG, &op[0], &op[1], op[0].size);
	case X86_INS_XADD:
		return exec_alu(e, ALU_XADD, &op[0], &op[1], op[0].size);
	case X86_INS_CMPXCHG:
		return exec_cmpxchg(e);
	case X86_INS_CMPXCHG8B:
	case X86_INS_CMPXCHG16B:
		return exec_cmpxchg_pair(e);
	case X86_INS_POPCNT:
		return exec_popcnt(e);
	case X86_INS_SHL:
	case X86_INS_SAL:
		return exec_shift(e, fn_shl);
	case X86_INS_SHR:
		return exec_shift(e, fn_shr);
	case X86_INS_SAR:
		return exec_shift(e, fn_sar);
	case X86_INS_ROL:
		return exec_shift(e, fn_rol);
	case X86_INS_ROR:
		return exec_shift(e, fn_ror);
	case X86_INS_RCL:
		return exec_shift(e, fn_rcl);
	case X86_INS_RCR:
		return exec_shift(e, fn_rcr);
	case X86_INS_SHLD:
		return exec_shiftd(e, true);
	case X86_INS_SHRD:
		return exec_shiftd(e, false);
	case X86_INS_MUL:
		return exec_mul1(e, false);
	case X86_INS_IMUL:
		return exec_imul(e);
	case X86_INS_DIV:
		return exec_div(e, false);
	case X86_INS_IDIV:
		return exec_div(e, true);
	case X86_INS_BT:
	case X86_INS_BTS:
	case X86_INS_BTR:
	case X86_INS_BTC:
		return exec_bt(e);
	case X86_INS_WAIT: /* alone; the escapes (D8..DF) are SOFT_K_X87 */
		return soft_execute_x87(e);
	case X86_INS_BSF:
	case X86_INS_TZCNT:
		return exec_bitscan(e, false);
	case X86_INS_BSR:
	case X86_INS_LZCNT:
		return exec_bitscan(e, true);
	case X86_INS_BSWAP:
		v = reg_read(cpu, op[0].reg, op[0].size);
		v = op[0].size == 8 ? __builtin_bswap64(v) : __builtin_bswap32(v);
		reg_write(cpu, op[0].reg, op[0].size, v);
		return X_OK;
	case X86_INS_SETAE ... X86_INS_SETS:
	case X86_INS_CMOVA ... X86_INS_CMOVS:
		return exec_cond(e);
	case X86_INS_JAE ... X86_INS_JS:
		if (insn->id == X86_INS_JRCXZ || insn->id == X86_INS_JECXZ) {
			if (!reg_read(cpu, SOFT_RCX, insn->id == X86_INS_JRCXZ ? 8 : 4))
				e->next_rip += op[0].val;
			return X_OK;
		}
		if (insn->id == X86_INS_JMP)
			break;
		if (soft_cond(&cpu->flags, insn->cc))
			e->next_rip += op[0].val;
		return X_OK;
	case X86_INS_PUSH:
		return exec_push(e);
	case X86_INS_POP:
		return exec_pop(e);
	case X86_INS_CALL:
		return exec_call(e);
	case X86_INS_RET:
		return exec_ret(e);
	case X86_INS_LEAVE:
		return exec_leave(e);
	case X86_INS_CBW:
		reg_write(cpu, SOFT_RAX, 2, sign_extend(cpu->gpr[SOFT_RAX], 1));
		return X_OK;
	case X86_INS_CWDE:
		reg_write(cpu, SOFT_RAX, 4, sign_extend(cpu->gpr[SOFT_RAX], 2));
		return X_OK;
	case X86_INS_CDQE:
		reg_write(cpu, SOFT_RAX, 8, sign_extend(cpu->gpr[SOFT_RAX], 4));
		return X_OK;
	case X86_INS_CWD:
		reg_write(cpu, SOFT_RDX, 2, (cpu->gpr[SOFT_RAX] & 0x8000) ? ~0UL : 0);
		return X_OK;
	case X86_INS_CDQ:
		reg_write(cpu, SOFT_RDX, 4, (cpu->gpr[SOFT_RAX] & 0x80000000) ? ~0UL : 0);
		return X_OK;
	case X86_INS_CQO:
		reg_write(cpu, SOFT_RDX, 8, (int64_t)cpu->gpr[SOFT_RAX] < 0 ? ~0UL : 0);
		return X_OK;
	case X86_INS_MOVSB:
	case X86_INS_MOVSW:
	case X86_INS_MOVSD:
	case X86_INS_MOVSQ:
		return exec_string(e, STR_MOVS);
	case X86_INS_STOSB:
	case X86_INS_STOSW:
	case X86_INS_STOSD:
	case X86_INS_STOSQ:
		return exec_string(e, STR_STOS);
	case X86_INS_LODSB:
	case X86_INS_LODSW:
	case X86_INS_LODSD:
	case X86_INS_LODSQ:
		return exec_string(e, STR_LODS);
	case X86_INS_CMPSB:
	case X86_INS_CMPSW:
	case X86_INS_CMPSD:
	case X86_INS_CMPSQ:
		return exec_string(e, STR_CMPS);
	case X86_INS_SCASB:
	case X86_INS_SCASW:
	case X86_INS_SCASD:
	case X86_INS_SCASQ:
		return exec_string(e, STR_SCAS);
	case X86_INS_CLD:
	case X86_INS_STD:
		soft_flags_materialize(&cpu->flags);
		set_flag(&cpu->flags.rflags, X86_DF, insn->id == X86_INS_STD);
		return X_OK;
	case X86_INS_IN:
		return exec_pio(e, true);
	case X86_INS_OUT:
		return exec_pio(e, false);
	case X86_INS_HLT:
		if (soft_cpu_cpl(cpu))
			return soft_privileged(e);
		cpu->exit.reason = SOFT_EXIT_HLT;
		return X_OK;
	case X86_INS_NOP:
	case X86_INS_PAUSE:
	case X86_INS_ENDBR64:
	case X86_INS_LFENCE:
	case X86_INS_SFENCE:
		return X_OK;
	case X86_INS_MFENCE:
		smp_mb();
		return X_OK;
	case X86_INS_CPUID:
		exec_cpuid(cpu);
		return X_OK;
	case X86_INS_RDTSC:
		/* Deterministic: the count of retired instructions. */
		reg_write(cpu, SOFT_RAX, 4, cpu->stats.insns);
		reg_write(cpu, SOFT_RDX, 4, cpu->stats.insns >> 32);
		return X_OK;
	case X86_INS_UD2:
	case X86_INS_UD2B:
		return soft_fault(e, SOFT_VEC_UD, 0, "%s", "");
	case X86_INS_IRETQ:
		return soft_exec_iretq(e);
	case X86_INS_INVLPG:
		return exec_invlpg(e);
	case X86_INS_SYSCALL:
	case X86_INS_SYSRET:
	case X86_INS_SWAPGS:
	case X86_INS_RDMSR:
	case X86_INS_WRMSR:
	case X86_INS_CLI:
	case X86_INS_STI:
	case X86_INS_RDFSBASE:
	case X86_INS_RDGSBASE:
	case X86_INS_WRFSBASE:
	case X86_INS_WRGSBASE:
		return soft_exec_system(e);
	}
	if (insn->id == X86_INS_JMP) {
		ret = branch_target(e, &v);
		if (!ret)
			e->next_rip = v;
		return ret;
	}
	return soft_unsupported(e);
}

/* For sse.c: the same operand rules as every other instruction. */
uint64_t soft_effective_address(struct soft_exec *e, const struct soft_operand *op)
{
	return effective_address(e, op);
}

uint64_t soft_reg_read(struct soft_cpu *cpu, unsigned int reg, unsigned int size)
{
	return reg_read(cpu, reg, size);
}

void soft_reg_write(struct soft_cpu *cpu, unsigned int reg, unsigned int size, uint64_t val)
{
	reg_write(cpu, reg, size, val);
}

/*
 * ---- threaded dispatch ----
 *
 * The commonest forms of the commonest instructions get a handler of
 * their own, chosen once when the instruction is decoded and kept with it
 * in the decode cache, so the run loop calls it straight away: no switch
 * on the instruction id, and for register and immediate operands no
 * switch on the operand type.  Each does exactly what soft_execute() does
 * for that form (the differential test runs them against Unicorn); every
 * other instruction, and every other form, is soft_execute() itself.
 */

/* A register or immediate operand's value, as op_read() gives it. */
static inline uint64_t op_value(struct soft_cpu *cpu, const struct soft_operand *op,
				unsigned int size)
{
	if (op->type == SOFT_OP_REG)
		return reg_read(cpu, op->reg, size);
	return op->val & soft_size_mask(size);
}

/* dst = dst op src for a register destination and a register or immediate source. */
static inline __attribute__((always_inline)) int alu_reg(struct soft_exec *e, enum alu_op op)
{
	const struct soft_operand *o = e->insn->op;
	struct soft_cpu *cpu = e->cpu;
	unsigned int size = o[0].size;
	uint64_t a = reg_read(cpu, o[0].reg, size), b, r;

	b = op_value(cpu, &o[1], o[1].type == SOFT_OP_IMM ? 8 : size) & soft_size_mask(size);
	r = alu(&cpu->flags, op, a, b, size, 0);
	if (alu_writes(op))
		reg_write(cpu, o[0].reg, size, r);
	return X_OK;
}

/* inc and dec of a register: CF is kept. */
static inline __attribute__((always_inline)) int alu_reg1(struct soft_exec *e, enum alu_op op)
{
	const struct soft_operand *o = e->insn->op;
	struct soft_cpu *cpu = e->cpu;
	unsigned int size = o[0].size;

	reg_write(cpu, o[0].reg, size,
		  alu(&cpu->flags, op, reg_read(cpu, o[0].reg, size), 0, size,
		      soft_flag_cf(&cpu->flags)));
	return X_OK;
}

#define ALU_HANDLERS(name, alu_op)                                                                 \
	static int x_##name##_reg(struct soft_exec *e)                                             \
	{                                                                                          \
		return alu_reg(e, alu_op);                                                         \
	}                                                                                          \
	static int x_##name(struct soft_exec *e)                                                   \
	{                                                                                          \
		const struct soft_operand *o = e->insn->op;                                        \
                                                                                                   \
		return exec_alu(e, alu_op, &o[0], &o[1], o[0].size);                               \
	}

ALU_HANDLERS(add, ALU_ADD)
ALU_HANDLERS(or, ALU_OR)
ALU_HANDLERS(and, ALU_AND)
ALU_HANDLERS(sub, ALU_SUB)
ALU_HANDLERS(xor, ALU_XOR)
ALU_HANDLERS(cmp, ALU_CMP)
ALU_HANDLERS(test, ALU_TEST)

static int x_inc_reg(struct soft_exec *e)
{
	return alu_reg1(e, ALU_INC);
}

static int x_dec_reg(struct soft_exec *e)
{
	return alu_reg1(e, ALU_DEC);
}

/* mov between registers, or of an immediate to one. */
static int x_mov_reg(struct soft_exec *e)
{
	const struct soft_operand *o = e->insn->op;

	reg_write(e->cpu, o[0].reg, o[0].size, op_value(e->cpu, &o[1], o[0].size));
	return X_OK;
}

static int x_mov_load(struct soft_exec *e)
{
	const struct soft_operand *o = e->insn->op;
	uint64_t v;
	int ret = soft_mem_read(e, effective_address(e, &o[1]), o[0].size, &v);

	if (!ret)
		reg_write(e->cpu, o[0].reg, o[0].size, v);
	return ret;
}

static int x_mov_store(struct soft_exec *e)
{
	const struct soft_operand *o = e->insn->op;

	return soft_mem_write(e, effective_address(e, &o[0]), o[0].size,
			      op_value(e->cpu, &o[1], o[0].size));
}

static int x_lea(struct soft_exec *e)
{
	const struct soft_operand *o = e->insn->op;

	reg_write(e->cpu, o[0].reg, o[0].size, operand_offset(e, &o[1]));
	return X_OK;
}

static int x_jcc(struct soft_exec *e)
{
	if (soft_cond(&e->cpu->flags, e->insn->cc))
		e->next_rip += e->insn->op[0].val;
	return X_OK;
}

static int x_jmp(struct soft_exec *e)
{
	uint64_t target;
	int ret = branch_target(e, &target);

	if (!ret)
		e->next_rip = target;
	return ret;
}

static int x_cond(struct soft_exec *e)
{
	return exec_cond(e);
}

/* cmovcc between registers: exec_cond() without op_read(). */
static int x_cmov_reg(struct soft_exec *e)
{
	const struct soft_operand *o = e->insn->op;
	struct soft_cpu *cpu = e->cpu;
	unsigned int size = o[0].size;
	bool taken = soft_cond(&cpu->flags, e->insn->cc);

	reg_write(cpu, o[0].reg, size, reg_read(cpu, taken ? o[1].reg : o[0].reg, size));
	return X_OK;
}

static int x_push(struct soft_exec *e)
{
	return exec_push(e);
}

static int x_pop(struct soft_exec *e)
{
	return exec_pop(e);
}

static int x_call(struct soft_exec *e)
{
	return exec_call(e);
}

static int x_ret(struct soft_exec *e)
{
	return exec_ret(e);
}

static int x_imul(struct soft_exec *e)
{
	return exec_imul(e);
}

/* imul with two or three register or immediate operands: exec_imul() without op_read(). */
static int x_imul_reg(struct soft_exec *e)
{
	const struct soft_insn *insn = e->insn;
	const struct soft_operand *o = insn->op;
	struct soft_cpu *cpu = e->cpu;
	unsigned int size = o[0].size;
	uint64_t a = op_value(cpu, &o[insn->nops == 3 ? 1 : 0], size);
	uint64_t b = op_value(cpu, &o[insn->nops - 1], size), lo;
	__int128 p = (__int128)(int64_t)sign_extend(a, size) * (int64_t)sign_extend(b, size);

	lo = (uint64_t)p & soft_size_mask(size);
	reg_write(cpu, o[0].reg, size, lo);
	set_mul_flags(cpu, p != (__int128)(int64_t)sign_extend(lo, size), lo, size);
	return X_OK;
}

static int x_shl(struct soft_exec *e)
{
	return exec_shift(e, fn_shl);
}

static int x_shr(struct soft_exec *e)
{
	return exec_shift(e, fn_shr);
}

static int x_sar(struct soft_exec *e)
{
	return exec_shift(e, fn_sar);
}

static int x_rol(struct soft_exec *e)
{
	return exec_shift(e, fn_rol);
}

static int x_ror(struct soft_exec *e)
{
	return exec_shift(e, fn_ror);
}

static bool is_reg(const struct soft_operand *op)
{
	return op->type == SOFT_OP_REG;
}

static bool is_reg_or_imm(const struct soft_operand *op)
{
	return op->type == SOFT_OP_REG || op->type == SOFT_OP_IMM;
}

/* The two-operand ALU instructions: the register form and the general one. */
static int (*alu_handler(const struct soft_insn *insn))(struct soft_exec *e)
{
	static const struct {
		unsigned int id;
		int (*reg)(struct soft_exec *e), (*any)(struct soft_exec *e);
	} alus[] = {
		{ X86_INS_ADD, x_add_reg, x_add },    { X86_INS_OR, x_or_reg, x_or },
		{ X86_INS_AND, x_and_reg, x_and },    { X86_INS_SUB, x_sub_reg, x_sub },
		{ X86_INS_XOR, x_xor_reg, x_xor },    { X86_INS_CMP, x_cmp_reg, x_cmp },
		{ X86_INS_TEST, x_test_reg, x_test },
	};
	const struct soft_operand *o = insn->op;

	for (unsigned int i = 0; i < ARRAY_SIZE(alus); i++) {
		if (alus[i].id != insn->id)
			continue;
		if (insn->nops != 2)
			return NULL;
		if (is_reg(&o[0]) && is_reg_or_imm(&o[1]) && !(insn->prefix & SOFT_PFX_LOCK))
			return alus[i].reg;
		return alus[i].any;
	}
	return NULL;
}

int (*soft_insn_handler(const struct soft_insn *insn))(struct soft_exec *e)
{
	const struct soft_operand *o = insn->op;
	int (*fn)(struct soft_exec * e);

	if (insn->kind != SOFT_K_NORMAL)
		return soft_execute;
	fn = alu_handler(insn);
	if (fn)
		return fn;
	switch (insn->id) {
	case X86_INS_MOV:
	case X86_INS_MOVABS:
		if (insn->nops != 2)
			break;
		if (is_reg(&o[0]) && is_reg_or_imm(&o[1]))
			return x_mov_reg;
		if (is_reg(&o[0]) && o[1].type == SOFT_OP_MEM)
			return x_mov_load;
		if (o[0].type == SOFT_OP_MEM && is_reg_or_imm(&o[1]))
			return x_mov_store;
		break;
	case X86_INS_INC:
		return insn->nops == 1 && is_reg(&o[0]) ? x_inc_reg : soft_execute;
	case X86_INS_DEC:
		return insn->nops == 1 && is_reg(&o[0]) ? x_dec_reg : soft_execute;
	case X86_INS_LEA:
		return x_lea;
	case X86_INS_JAE ... X86_INS_JS:
		if (insn->id == X86_INS_JMP)
			return x_jmp;
		if (insn->id == X86_INS_JCXZ || insn->id == X86_INS_JECXZ ||
		    insn->id == X86_INS_JRCXZ)
			break;
		return x_jcc;
	case X86_INS_CMOVA ... X86_INS_CMOVS:
		if (is_reg(&o[0]) && is_reg(&o[1]))
			return x_cmov_reg;
		return x_cond;
	case X86_INS_SETAE ... X86_INS_SETS:
		return x_cond;
	case X86_INS_PUSH:
		return x_push;
	case X86_INS_POP:
		return x_pop;
	case X86_INS_CALL:
		return x_call;
	case X86_INS_RET:
		return x_ret;
	case X86_INS_IMUL:
		if (insn->nops >= 2 && is_reg_or_imm(&o[1]) && is_reg_or_imm(&o[insn->nops - 1]))
			return x_imul_reg;
		return x_imul;
	case X86_INS_SHL:
	case X86_INS_SAL:
		return x_shl;
	case X86_INS_SHR:
		return x_shr;
	case X86_INS_SAR:
		return x_sar;
	case X86_INS_ROL:
		return x_rol;
	case X86_INS_ROR:
		return x_ror;
	}
	return soft_execute;
}

bool soft_insn_fixed_target(const struct soft_insn *insn)
{
	return insn->exec == x_jcc || (insn->exec == x_jmp && insn->op[0].type == SOFT_OP_IMM);
}
