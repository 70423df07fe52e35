/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Lazy arithmetic flags.  Most instructions that write flags are followed by
 * another that overwrites them unread, so the interpreter records the
 * operation, its operands and its result, and computes a flag only when a
 * jcc, setcc, cmovcc, adc/sbb or rotate through carry asks for it.  Rarer
 * flag writers (shifts, multiplies, bit tests) materialize RFLAGS at once
 * (SOFT_CC_EFLAGS).  Operands and result are stored masked to their size.
 */
#ifndef NOPIN_VMM_SOFT_FLAGS_H
#define NOPIN_VMM_SOFT_FLAGS_H

#include <stdbool.h>
#include <stdint.h>

#define X86_CF (1UL << 0)
#define X86_PF (1UL << 2)
#define X86_AF (1UL << 4)
#define X86_ZF (1UL << 6)
#define X86_SF (1UL << 7)
#define X86_TF (1UL << 8)
#define X86_IF (1UL << 9)
#define X86_DF (1UL << 10)
#define X86_OF (1UL << 11)
#define X86_NT (1UL << 14)
#define X86_RF (1UL << 16)
#define X86_VM (1UL << 17)
#define X86_ARITH_FLAGS (X86_CF | X86_PF | X86_AF | X86_ZF | X86_SF | X86_OF)

enum soft_cc_op {
	SOFT_CC_EFLAGS, /* rflags holds every flag */
	SOFT_CC_ADD,	/* add, adc (cin), inc (cin is the preserved CF) */
	SOFT_CC_SUB,	/* sub, sbb, cmp, neg, dec (as add) */
	SOFT_CC_LOGIC,	/* and, or, xor, test: CF = OF = AF = 0 */
	SOFT_CC_INC,	/* like ADD with src2 = 1, CF preserved in cin */
	SOFT_CC_DEC,	/* like SUB with src2 = 1, CF preserved in cin */
};

struct soft_flags {
	uint64_t src1, src2, res;
	uint8_t op;
	uint8_t size;	 /* bytes */
	uint8_t cin;	 /* carry in (adc/sbb), or the preserved CF (inc/dec) */
	uint64_t rflags; /* all flags if op == SOFT_CC_EFLAGS, else the non-arithmetic ones */
};

static inline uint64_t soft_size_mask(unsigned int size)
{
	return size == 8 ? ~0UL : (1UL << (size * 8)) - 1;
}

static inline uint64_t soft_sign_bit(unsigned int size)
{
	return 1UL << (size * 8 - 1);
}

static inline void soft_flags_set(struct soft_flags *f, enum soft_cc_op op, unsigned int size,
				  uint64_t src1, uint64_t src2, uint64_t res, unsigned int cin)
{
	uint64_t m = soft_size_mask(size);

	f->op = op;
	f->size = size;
	f->src1 = src1 & m;
	f->src2 = src2 & m;
	f->res = res & m;
	f->cin = cin;
}

static inline bool soft_flag_cf(const struct soft_flags *f)
{
	switch (f->op) {
	case SOFT_CC_ADD:
		return f->res < f->src1 || (f->cin && f->res == f->src1);
	case SOFT_CC_SUB:
		return f->src1 < f->src2 || (f->cin && f->src1 == f->src2);
	case SOFT_CC_LOGIC:
		return false;
	case SOFT_CC_INC:
	case SOFT_CC_DEC:
		return f->cin;
	default:
		return f->rflags & X86_CF;
	}
}

static inline bool soft_flag_zf(const struct soft_flags *f)
{
	return f->op == SOFT_CC_EFLAGS ? f->rflags & X86_ZF : f->res == 0;
}

static inline bool soft_flag_sf(const struct soft_flags *f)
{
	return f->op == SOFT_CC_EFLAGS ? f->rflags & X86_SF : f->res & soft_sign_bit(f->size);
}

static inline bool soft_flag_pf(const struct soft_flags *f)
{
	return f->op == SOFT_CC_EFLAGS ? f->rflags & X86_PF : !__builtin_parity(f->res & 0xff);
}

/* The size is only the recorded operation's: RFLAGS set whole (SOFT_CC_EFLAGS) has none. */
static inline bool soft_flag_of(const struct soft_flags *f)
{
	switch (f->op) {
	case SOFT_CC_ADD:
	case SOFT_CC_INC:
		return (f->src1 ^ f->res) & (f->src2 ^ f->res) & soft_sign_bit(f->size);
	case SOFT_CC_SUB:
	case SOFT_CC_DEC:
		return (f->src1 ^ f->src2) & (f->src1 ^ f->res) & soft_sign_bit(f->size);
	case SOFT_CC_LOGIC:
		return false;
	default:
		return f->rflags & X86_OF;
	}
}

static inline bool soft_flag_af(const struct soft_flags *f)
{
	switch (f->op) {
	case SOFT_CC_EFLAGS:
		return f->rflags & X86_AF;
	case SOFT_CC_LOGIC:
		return false;
	default:
		return (f->src1 ^ f->src2 ^ f->res) & 0x10;
	}
}

/* All of RFLAGS, computing the arithmetic flags if they are still lazy. */
static inline uint64_t soft_flags_get(const struct soft_flags *f)
{
	uint64_t r;

	if (f->op == SOFT_CC_EFLAGS)
		return f->rflags;
	r = f->rflags & ~X86_ARITH_FLAGS;
	r |= soft_flag_cf(f) ? X86_CF : 0;
	r |= soft_flag_pf(f) ? X86_PF : 0;
	r |= soft_flag_af(f) ? X86_AF : 0;
	r |= soft_flag_zf(f) ? X86_ZF : 0;
	r |= soft_flag_sf(f) ? X86_SF : 0;
	r |= soft_flag_of(f) ? X86_OF : 0;
	return r;
}

/* Make RFLAGS concrete, so an instruction can change some flags and keep the rest. */
static inline void soft_flags_materialize(struct soft_flags *f)
{
	f->rflags = soft_flags_get(f);
	f->op = SOFT_CC_EFLAGS;
}

/*
 * A condition after cmp or sub (no borrow in), straight from the operands:
 * the flags' definitions folded into one comparison each.  Operands are
 * stored masked to their size; shifted to the top of the word they compare
 * as signed numbers of their size.
 */
static inline bool soft_cond_sub(const struct soft_flags *f, unsigned int cc)
{
	unsigned int shift = 64 - f->size * 8;
	int64_t s1 = (int64_t)(f->src1 << shift), s2 = (int64_t)(f->src2 << shift);

	switch (cc >> 1) {
	case 1: /* B: CF */
		return f->src1 < f->src2;
	case 2: /* E: ZF */
		return f->src1 == f->src2;
	case 3: /* BE: CF or ZF */
		return f->src1 <= f->src2;
	case 6: /* L: SF != OF */
		return s1 < s2;
	default: /* LE: ZF or SF != OF */
		return s1 <= s2;
	}
}

/* x86 condition codes 0..15 (the low nibble of jcc/setcc/cmovcc opcodes). */
static inline bool soft_cond(const struct soft_flags *f, unsigned int cc)
{
	bool r;

	/* The common cases first: ZF and SF of any lazy result, then a compare's conditions. */
	if (f->op != SOFT_CC_EFLAGS && (cc >> 1 == 2 || cc >> 1 == 4))
		return (cc >> 1 == 2 ? !f->res : !!(f->res & soft_sign_bit(f->size))) ^ (cc & 1);
	if (f->op == SOFT_CC_SUB && !f->cin && ((0xce >> (cc >> 1)) & 1))
		return soft_cond_sub(f, cc) ^ (cc & 1);
	switch (cc >> 1) {
	case 0: /* O */
		r = soft_flag_of(f);
		break;
	case 1: /* B */
		r = soft_flag_cf(f);
		break;
	case 2: /* E */
		r = soft_flag_zf(f);
		break;
	case 3: /* BE */
		r = soft_flag_cf(f) || soft_flag_zf(f);
		break;
	case 4: /* S */
		r = soft_flag_sf(f);
		break;
	case 5: /* P */
		r = soft_flag_pf(f);
		break;
	case 6: /* L */
		r = soft_flag_sf(f) != soft_flag_of(f);
		break;
	default: /* LE */
		r = soft_flag_zf(f) || soft_flag_sf(f) != soft_flag_of(f);
		break;
	}
	return r ^ (cc & 1);
}

#endif
