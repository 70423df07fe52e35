// SPDX-License-Identifier: GPL-2.0
/*
 * The soft vCPU against Unicorn: random instruction sequences from the whole
 * interpreted subset, encoded here from a small table of x86-64 encodings,
 * run from the same registers, flags and memory on both; afterwards the
 * registers, the arithmetic flags the architecture defines at that point,
 * and the data and stack pages must be equal.
 *
 * The generator tracks which flags are defined (a logic op leaves AF
 * undefined, a shift by more than one OF, a multiply all but CF and OF...),
 * so an instruction that reads flags only reads defined ones and the final
 * comparison masks the rest.  It keeps rbx, rbp, rsi, rdi and rsp as
 * pointers (never written at random), divides only where the quotient fits,
 * and branches only forward, so every sequence ends.
 *
 * Exceptions, where Unicorn has them: an iretq through a frame the sequence
 * builds (Unicorn with the VMM's GDT); and a sequence may end in a divide
 * by zero or a ud2, which Unicorn stops on at the faulting instruction and
 * the soft vCPU delivers to a handler: the frame must hold Unicorn's rip,
 * rsp and flags, and every other register must be Unicorn's (a fault is
 * precise).  Unicorn has no canonical-address checks, so #GP is not here.
 */
#include <string.h>

#include "tests/lib/soft_diff.h"
#include "tests/lib/test_util.h"
#include "vmm/soft/soft_cpu.h"

/* Flags each condition code reads, in cc order (O NO B AE E NE BE A S NS P NP L GE LE G). */
static const unsigned int cc_reads[8] = { OF, CF, ZF, CF | ZF, SF, PF, SF | OF, ZF | SF | OF };

/* ---- instruction classes ---- */

/* add or adc sbb and sub xor cmp (op 0..7) and test. */
static void gen_alu(struct gen *g)
{
	unsigned int size = rand_size(g), op = rnd(g, 9), form = rnd(g, 5);
	int dst, src, immlen = size == 1 ? 1 : size == 2 ? 2 : 4;
	bool rex8 = false, lock;
	uint8_t opc[1];

	if ((op == 2 || op == 3) && !(g->defined & CF))
		op -= 2; /* adc/sbb read CF: use add/sub instead */
	if (size == 1)
		byte_regs(g, &rex8, &dst, &src);
	else {
		dst = wreg(g);
		src = rreg(g);
	}
	lock = op != 7 && op != 8 && rnd(g, 3) == 0;
	if (op == 8) { /* test: 84/85 r/m,r or F6/F7 /0 imm */
		if (form < 3) {
			opc[0] = size == 1 ? 0x84 : 0x85;
			emit(g, size, rex8, opc, 1, src, form ? rm_mem(g, size) : rm_reg(dst), 0,
			     0);
		} else {
			opc[0] = size == 1 ? 0xf6 : 0xf7;
			emit(g, size, rex8, opc, 1, 0, form == 3 ? rm_mem(g, size) : rm_reg(dst),
			     rand_imm(g), immlen);
		}
		g->defined = ALL & ~AF;
		return;
	}
	switch (form) {
	case 0: /* r/m(reg), reg */
		opc[0] = op * 8 + (size == 1 ? 0 : 1);
		emit(g, size, rex8, opc, 1, src, rm_reg(dst), 0, 0);
		break;
	case 1: /* mem, reg */
		if (lock)
			b(g, 0xf0);
		opc[0] = op * 8 + (size == 1 ? 0 : 1);
		emit(g, size, rex8, opc, 1, src, rm_mem(g, size), 0, 0);
		break;
	case 2: /* reg, mem */
		opc[0] = op * 8 + (size == 1 ? 2 : 3);
		emit(g, size, rex8, opc, 1, dst, rm_mem(g, size), 0, 0);
		break;
	default: { /* r/m, imm (80/81/83) */
		struct rm rm = form == 3 ? rm_reg(dst) : rm_mem(g, size);
		bool imm8 = size != 1 && rnd(g, 2);

		if (rm.mem && lock)
			b(g, 0xf0);
		opc[0] = size == 1 ? 0x80 : imm8 ? 0x83 : 0x81;
		emit(g, size, rex8, opc, 1, op, rm, rand_imm(g), imm8 ? 1 : immlen);
		break;
	}
	}
	g->defined = (op == 1 || op == 4 || op == 6) ? ALL & ~AF : ALL;
}

/* inc dec not neg, register or (maybe locked) memory. */
static void gen_unary(struct gen *g)
{
	unsigned int size = rand_size(g), op = rnd(g, 4);
	struct rm rm = rnd(g, 2) ? rm_mem(g, size) : rm_reg(wreg(g));
	uint8_t opc[1];

	/* Unicorn 2.0.1 computes the flags of lock neg from the old value (a QEMU bug). */
	if (rm.mem && op != 3 && rnd(g, 2))
		b(g, 0xf0);
	if (op < 2) { /* FE/FF /0 inc, /1 dec */
		opc[0] = size == 1 ? 0xfe : 0xff;
		emit(g, size, size == 1, opc, 1, op, rm, 0, 0);
		g->defined |= ALL & ~CF;
	} else { /* F6/F7 /2 not, /3 neg */
		opc[0] = size == 1 ? 0xf6 : 0xf7;
		emit(g, size, size == 1, opc, 1, op, rm, 0, 0);
		if (op == 3)
			g->defined = ALL;
	}
}

/* rol ror rcl rcr shl shr sar by 1, imm8 or cl. */
static void gen_shift(struct gen *g)
{
	static const int ops[] = { 0, 1, 2, 3, 4, 5, 7 };
	unsigned int size = rand_size(g), op = ops[rnd(g, 7)], bits = size * 8, c, how = rnd(g, 3);
	struct rm rm = rnd(g, 3) ? rm_reg(wreg(g)) : rm_mem(g, size);
	uint8_t opc[1];

	if ((op == 2 || op == 3) && !(g->defined & CF))
		op -= 2;
	/*
	 * Counts from 0 to twice the width; the CPU masks them to 5 bits (6
	 * for a quadword), and a masked count of 0 changes no flag.
	 */
	c = rnd(g, 2 * bits);
	if (how == 0)
		c = 1;
	if (how == 2) {
		b(g, 0xb1); /* mov cl, imm8: bits above the count mask must be ignored */
		b(g, c | (rnd(g, 2) ? 0 : bits == 64 ? 0x40 : 0x20));
		opc[0] = size == 1 ? 0xd2 : 0xd3;
		emit(g, size, size == 1, opc, 1, op, rm, 0, 0);
	} else if (how == 0) {
		opc[0] = size == 1 ? 0xd0 : 0xd1;
		emit(g, size, size == 1, opc, 1, op, rm, 0, 0);
	} else {
		opc[0] = size == 1 ? 0xc0 : 0xc1;
		emit(g, size, size == 1, opc, 1, op, rm, c, 1);
	}
	c &= bits == 64 ? 63 : 31;
	if (!c)
		return;
	if (op < 4)
		g->defined = (g->defined & ~(CF | OF)) | CF | (c == 1 ? OF : 0);
	else if (c >= bits) /* a byte or word shifted past its width: CF undefined */
		g->defined = PF | ZF | SF;
	else
		g->defined = CF | PF | ZF | SF | (c == 1 ? OF : 0);
}

/* shld/shrd r/m, r, imm8|cl, counts below the width. */
static void gen_shiftd(struct gen *g)
{
	unsigned int size = 2 << rnd(g, 3), bits = size * 8, c = rnd(g, bits), by_cl = rnd(g, 2);
	struct rm rm = rnd(g, 3) ? rm_reg(wreg(g)) : rm_mem(g, size);
	uint8_t opc[2] = { 0x0f, (rnd(g, 2) ? 0xa4 : 0xac) + by_cl };

	if (bits == 16)
		c = rnd(g, 17); /* 16 is defined for a word: the source whole */
	/*
	 * Unicorn 2.0.1 (QEMU 5) forgets the immediate of shld/shrd when it
	 * computes a rip-relative address (one byte short): no such operand.
	 */
	while (!by_cl && rm.mem && rm.form == 3)
		rm = rm_mem(g, size);
	if (by_cl) {
		b(g, 0xb1); /* mov cl, imm8 */
		b(g, c);
		emit(g, size, false, opc, 2, rreg(g), rm, 0, 0);
	} else {
		emit(g, size, false, opc, 2, rreg(g), rm, c, 1);
	}
	if (c)
		g->defined = CF | PF | ZF | SF | (c == 1 ? OF : 0);
}

/* mul, imul (one, two and three operands). */
static void gen_mul(struct gen *g)
{
	unsigned int size = rand_size(g), form = rnd(g, 4);
	struct rm rm = rnd(g, 2) ? rm_reg(rreg(g)) : rm_mem(g, size);
	uint8_t opc[2];

	if (form < 2 || size == 1) { /* F6/F7 /4 mul, /5 imul */
		opc[0] = size == 1 ? 0xf6 : 0xf7;
		emit(g, size, size == 1, opc, 1, 4 + (form & 1), rm, 0, 0);
	} else if (form == 2) { /* 0F AF imul r, r/m */
		opc[0] = 0x0f;
		opc[1] = 0xaf;
		emit(g, size, false, opc, 2, wreg(g), rm, 0, 0);
	} else { /* 69 iz / 6B ib */
		bool imm8 = rnd(g, 2);

		opc[0] = imm8 ? 0x6b : 0x69;
		emit(g, size, false, opc, 1, wreg(g), rm, rand_imm(g),
		     imm8      ? 1 :
		     size == 2 ? 2 :
				 4);
	}
	g->defined = CF | OF;
}

/* div/idiv by a register made safe first: positive, >= 2, and a dividend that fits. */
static void gen_div(struct gen *g)
{
	static const int divisors[] = { 1, 8, 9, 10, 11, 12, 13, 14, 15 }; /* not rax, rdx */
	unsigned int size = rand_size(g);
	bool sign = rnd(g, 2);
	int r = divisors[rnd(g, 9)];
	uint8_t opc[1];

	/* and r, 0x7fff; or r, 2 (as 32-bit ops, so the whole register is small) */
	opc[0] = 0x81;
	emit(g, 4, false, opc, 1, 4, rm_reg(r), size == 1 ? 0x7f : 0x7fff, 4);
	opc[0] = 0x83;
	emit(g, 4, false, opc, 1, 1, rm_reg(r), 2, 1);
	if (size == 1) {
		if (r >= 4 && r < 8) /* needs no REX; r is never 4..7 here */
			return;
		if (sign) {
			b(g, 0x66);
			b(g, 0x98); /* cbw */
		} else {
			b(g, 0x0f); /* movzx eax, al */
			b(g, 0xb6);
			b(g, 0xc0);
		}
	} else if (sign) {
		if (size == 2)
			b(g, 0x66);
		if (size == 8)
			b(g, 0x48);
		b(g, 0x99); /* cwd/cdq/cqo */
	} else {
		b(g, 0x31); /* xor edx, edx */
		b(g, 0xd2);
	}
	opc[0] = size == 1 ? 0xf6 : 0xf7;
	emit(g, size, size == 1, opc, 1, sign ? 7 : 6, rm_reg(r), 0, 0);
	g->defined = 0;
}

static int pick_cc(struct gen *g)
{
	int cc = rnd(g, 16), i;

	for (i = 0; i < 16; i++, cc = (cc + 1) % 16)
		if ((cc_reads[cc >> 1] & g->defined) == cc_reads[cc >> 1])
			return cc;
	return -1;
}

/* setcc, cmovcc. */
static void gen_cond(struct gen *g)
{
	int cc = pick_cc(g);
	uint8_t opc[2] = { 0x0f };

	if (cc < 0)
		return;
	if (rnd(g, 2)) {
		bool rex8;
		int dst, src;

		byte_regs(g, &rex8, &dst, &src);
		opc[1] = 0x90 + cc;
		emit(g, 1, rex8, opc, 2, 0, rnd(g, 3) ? rm_reg(dst) : rm_mem(g, 1), 0, 0);
	} else {
		unsigned int size = 2 << rnd(g, 3);

		opc[1] = 0x40 + cc;
		emit(g, size, false, opc, 2, wreg(g), rnd(g, 2) ? rm_reg(rreg(g)) : rm_mem(g, size),
		     0, 0);
	}
}

static void gen_simple(struct gen *g);

/* A forward jcc or jmp over one simple instruction. */
static void gen_jump(struct gen *g)
{
	int cc = rnd(g, 4) ? pick_cc(g) : -1;
	bool near = rnd(g, 2);
	unsigned int at, from, before;
	int32_t rel;

	if (!rnd(g, 8)) { /* jrcxz / jecxz (67 E3), rcx sometimes zeroed first */
		if (rnd(g, 2)) {
			b(g, 0x31); /* xor ecx, ecx */
			b(g, 0xc9);
			g->defined = ALL & ~AF;
		}
		if (rnd(g, 2))
			b(g, 0x67);
		b(g, 0xe3);
		near = false;
	} else if (cc < 0) {
		b(g, near ? 0xe9 : 0xeb);
	} else if (near) {
		b(g, 0x0f);
		b(g, 0x80 + cc);
	} else {
		b(g, 0x70 + cc);
	}
	at = g->len;
	imm(g, 0, near ? 4 : 1);
	from = g->len;
	before = g->defined;
	gen_simple(g);
	g->defined &= before; /* defined whether or not the branch was taken */
	rel = g->len - from;
	if (near)
		memcpy(&g->code[at], &rel, 4);
	else
		g->code[at] = rel;
}

/* [push imm8] call L; jmp M; L: <simple>; ret [8]; M: */
static void gen_call(struct gen *g)
{
	bool arg = rnd(g, 2);
	unsigned int call_at, jmp_at, l;
	int32_t rel;

	if (arg) {
		b(g, 0x6a);
		b(g, rnd(g, 256));
	}
	b(g, 0xe8);
	call_at = g->len;
	imm(g, 0, 4);
	b(g, 0xeb);
	jmp_at = g->len;
	b(g, 0);
	l = g->len;
	gen_simple(g);
	if (arg) {
		b(g, 0xc2); /* ret 8: drops the argument */
		imm(g, 8, 2);
	} else {
		b(g, 0xc3);
	}
	rel = l - (call_at + 4);
	memcpy(&g->code[call_at], &rel, 4);
	g->code[jmp_at] = g->len - (jmp_at + 1);
}

/*
 * Indirect branches, as gcc emits them for function pointers and jump
 * tables: lea r, [rip + L], then jmp r over a simple instruction, or
 * call r / call [mem] (the target stored first) into a body that returns.
 */
static void gen_indirect(struct gen *g)
{
	unsigned int form = rnd(g, 3), lea_end, jmp_at = 0, before = g->defined;
	int r = wreg(g), d8 = (int)rnd(g, 180) - 96;
	int32_t rel;

	b(g, 0x48 | (r & 8 ? 4 : 0));
	b(g, 0x8d);
	b(g, 0x05 | (r & 7) << 3);
	imm(g, 0, 4);
	lea_end = g->len;
	switch (form) {
	case 0: /* jmp r; <simple>; L: */
		if (r & 8)
			b(g, 0x41);
		b(g, 0xff);
		b(g, 0xe0 | (r & 7));
		gen_simple(g);
		g->defined = before; /* never executed */
		break;
	case 1: /* call r */
		if (r & 8)
			b(g, 0x41);
		b(g, 0xff);
		b(g, 0xd0 | (r & 7));
		break;
	default: /* mov [rbx + d8], r; call [rbx + d8] */
		b(g, 0x48 | (r & 8 ? 4 : 0));
		b(g, 0x89);
		b(g, 0x40 | (r & 7) << 3 | RBX);
		b(g, d8);
		b(g, 0xff);
		b(g, 0x50 | RBX);
		b(g, d8);
		break;
	}
	if (form) { /* jmp M; L: <simple>; ret; M: */
		b(g, 0xeb);
		jmp_at = g->len;
		b(g, 0);
	}
	rel = g->len - lea_end;
	memcpy(&g->code[lea_end - 4], &rel, 4);
	if (form) {
		gen_simple(g);
		b(g, 0xc3);
		g->code[jmp_at] = g->len - (jmp_at + 1);
	}
}

/* push/pop of registers, immediates and memory, keeping the stack in its page. */
static void gen_stack(struct gen *g)
{
	unsigned int what = rnd(g, 5);
	uint8_t opc[1];
	int r;

	if (g->depth > 0 && (what < 2 || g->depth > 40)) {
		if (what == 0) { /* pop m64: 8F /0 */
			opc[0] = 0x8f;
			emit(g, 4, false, opc, 1, 0, rm_mem(g, 8), 0, 0);
		} else {
			r = wreg(g);
			if (r & 8)
				b(g, 0x41);
			b(g, 0x58 + (r & 7));
		}
		g->depth--;
		return;
	}
	switch (what) {
	case 2:
		r = rreg(g);
		if (r & 8)
			b(g, 0x41);
		b(g, 0x50 + (r & 7));
		break;
	case 3:
		if (rnd(g, 2)) {
			b(g, 0x6a);
			b(g, rnd(g, 256));
		} else {
			b(g, 0x68);
			imm(g, rand_imm(g), 4);
		}
		break;
	default: /* push m64: FF /6 */
		opc[0] = 0xff;
		emit(g, 4, false, opc, 1, 6, rm_mem(g, 8), 0, 0);
		break;
	}
	g->depth++;
}

/* mov family, lea, movzx/movsx/movsxd, cbw..cqo, bswap, xchg. */
static void gen_mov(struct gen *g)
{
	unsigned int size = rand_size(g), form = rnd(g, 12);
	uint8_t opc[2];
	bool rex8 = false;
	int dst, src;

	if (size == 1)
		byte_regs(g, &rex8, &dst, &src);
	else {
		dst = wreg(g);
		src = rreg(g);
	}
	switch (form) {
	case 0: /* 88/89 r/m, r */
		opc[0] = size == 1 ? 0x88 : 0x89;
		emit(g, size, rex8, opc, 1, src, rnd(g, 2) ? rm_reg(dst) : rm_mem(g, size), 0, 0);
		break;
	case 1: /* 8A/8B r, r/m */
		opc[0] = size == 1 ? 0x8a : 0x8b;
		emit(g, size, rex8, opc, 1, dst, rm_mem(g, size), 0, 0);
		break;
	case 2: /* C6/C7 r/m, imm */
		opc[0] = size == 1 ? 0xc6 : 0xc7;
		emit(g, size, rex8, opc, 1, 0, rnd(g, 2) ? rm_reg(dst) : rm_mem(g, size),
		     rand_imm(g),
		     size == 1 ? 1 :
		     size == 2 ? 2 :
				 4);
		break;
	case 3: /* B8+r imm32 / movabs imm64 */
		dst = wreg(g);
		b(g, (rnd(g, 2) ? 0x48 : 0x40) | (dst >> 3));
		if (g->code[g->len - 1] & 8) {
			b(g, 0xb8 + (dst & 7));
			imm(g, rand_imm(g), 8);
		} else {
			b(g, 0xb8 + (dst & 7));
			imm(g, rand_imm(g), 4);
		}
		break;
	case 4: /* lea */
		opc[0] = 0x8d;
		emit(g, size == 1 ? 8 : size, false, opc, 1, wreg(g), rm_mem(g, 8), 0, 0);
		break;
	case 5: /* movzx/movsx r, r/m8|16 */
	case 6: {
		unsigned int dsize = 2 << rnd(g, 3), ssize = dsize == 2 ? 1 : 1 + rnd(g, 2);

		opc[0] = 0x0f;
		opc[1] = (form == 5 ? 0xb6 : 0xbe) + (ssize == 2);
		/* a REX prefix so byte sources are spl..r15b, never ah..bh */
		emit(g, dsize, true, opc, 2, wreg(g),
		     rnd(g, 2) ? rm_reg(rreg(g)) : rm_mem(g, ssize), 0, 0);
		break;
	}
	case 7: /* movsxd r64, r/m32 */
		opc[0] = 0x63;
		emit(g, 8, false, opc, 1, wreg(g), rnd(g, 2) ? rm_reg(rreg(g)) : rm_mem(g, 4), 0,
		     0);
		break;
	case 8: { /* cbw cwde cdqe cwd cdq cqo */
		unsigned int k = rnd(g, 6), sz = 2 << (k % 3);

		if (sz == 2)
			b(g, 0x66);
		if (sz == 8)
			b(g, 0x48);
		b(g, k < 3 ? 0x98 : 0x99);
		break;
	}
	case 9: /* bswap */
		dst = wreg(g);
		b(g, (rnd(g, 2) ? 0x48 : 0x40) | (dst >> 3));
		b(g, 0x0f);
		b(g, 0xc8 + (dst & 7));
		break;
	case 10: /* xchg r/m, r (memory: implicitly locked) */
		opc[0] = size == 1 ? 0x86 : 0x87;
		emit(g, size, rex8, opc, 1, dst,
		     rnd(g, 2) ? rm_reg(size == 1 ? dst : wreg(g)) : rm_mem(g, size), 0, 0);
		break;
	default: /* xchg eax, r (90+r), not 90 itself */
		dst = wreg(g);
		if (!dst)
			dst = 1;
		if (size == 2)
			b(g, 0x66);
		b(g, (size == 8 ? 0x48 : 0x40) | (dst >> 3));
		b(g, 0x90 + (dst & 7));
		break;
	}
}

/* cmpxchg and xadd, register or (maybe locked) memory. */
static void gen_atomic(struct gen *g)
{
	unsigned int size = rand_size(g);
	uint8_t opc[2] = { 0x0f };
	bool rex8 = false;
	int dst, src;
	struct rm rm;

	if (size == 1)
		byte_regs(g, &rex8, &dst, &src);
	else
		dst = wreg(g);
	src = size == 1 ? dst : wreg(g); /* the source is written back */
	rm = rnd(g, 3) ? rm_mem(g, size) : rm_reg(size == 1 ? src : wreg(g));
	if (rm.mem && rnd(g, 2))
		b(g, 0xf0);
	opc[1] = (rnd(g, 2) ? 0xb0 : 0xc0) + (size != 1);
	emit(g, size, rex8, opc, 2, src, rm, 0, 0);
	/*
	 * Unicorn 2.0.1 (QEMU 5) writes eax back even when a 32-bit cmpxchg
	 * succeeds, zeroing the upper half of rax; the hardware, and the soft
	 * vCPU, leave rax alone.  mov eax, eax makes both agree.
	 */
	if (opc[1] == 0xb1 && size == 4) {
		b(g, 0x89);
		b(g, 0xc0);
	}
	g->defined = ALL;
}

/* bt bts btr btc with an immediate or a small register offset; bsf, bsr. */
static void gen_bits(struct gen *g)
{
	unsigned int size = 2 << rnd(g, 3), op = rnd(g, 4);
	uint8_t opc[2] = { 0x0f };
	struct rm rm = rnd(g, 2) ? rm_mem(g, size) : rm_reg(wreg(g));
	bool lock = rm.mem && op && rnd(g, 2);
	int r;

	switch (rnd(g, 3)) {
	case 0: /* 0F BA /4../7 ib */
		if (lock)
			b(g, 0xf0);
		opc[1] = 0xba;
		emit(g, size, false, opc, 2, 4 + op, rm, rnd(g, 256), 1);
		g->defined = CF;
		break;
	case 1: /* 0F A3/AB/B3/BB r/m, r: a small offset in r first (mov r32, imm) */
		r = wreg(g);
		b(g, 0x40 | (r >> 3));
		b(g, 0xb8 + (r & 7));
		imm(g, rnd(g, rm.mem ? 96 : 256), 4);
		if (lock)
			b(g, 0xf0);
		opc[1] = 0xa3 + op * 8;
		emit(g, size, false, opc, 2, r, rm, 0, 0);
		g->defined = CF;
		break;
	default: /* 0F BC bsf / 0F BD bsr */
		opc[1] = 0xbc + (op & 1);
		emit(g, size, false, opc, 2, wreg(g), rm, 0, 0);
		g->defined = ZF;
		break;
	}
}

/*
 * A string instruction's legacy prefixes in a random order: @rep (F3 or
 * F2, or 0), 0x66 if @word, and at random 0x67 (esi, edi and ecx, which
 * the mov imm32 above set zero-extended) and a segment override: DS or
 * CS, which 64-bit mode ignores, or FS or GS, whose base moves the source
 * (rsi) and not the destination.  The element size must come from the
 * opcode byte and these, whatever their order.
 */
static void string_prefixes(struct gen *g, uint8_t rep, bool word)
{
	uint8_t pfx[4];
	unsigned int n = 0;

	if (rep)
		pfx[n++] = rep;
	if (word)
		pfx[n++] = 0x66;
	if (rnd(g, 3) == 0)
		pfx[n++] = 0x67;
	if (rnd(g, 4) == 0)
		pfx[n++] = (const uint8_t[]){ 0x3e, 0x2e, 0x64, 0x65 }[rnd(g, 4)];
	for (unsigned int i = n; i > 1; i--) {
		unsigned int j = rnd(g, i);
		uint8_t t = pfx[i - 1];

		pfx[i - 1] = pfx[j];
		pfx[j] = t;
	}
	for (unsigned int i = 0; i < n; i++)
		b(g, pfx[i]);
}

/* movs stos lods cmps scas, with rep/repe/repne and a small count, sometimes backwards. */
static void gen_string(struct gen *g)
{
	static const uint8_t ops[] = { 0xa4, 0xaa, 0xac, 0xa6, 0xae };
	unsigned int k = rnd(g, 5), size = rand_size(g), count = rnd(g, 12), rep = rnd(g, 3);
	bool backward = !rnd(g, 4);

	b(g, 0xbe); /* mov esi, RSI_INIT + x */
	imm(g, RSI_INIT + rnd(g, 64), 4);
	b(g, 0xbf);
	imm(g, RDI_INIT + rnd(g, 64), 4);
	b(g, 0xb9); /* mov ecx, count */
	imm(g, count, 4);
	if (backward)
		b(g, 0xfd); /* std */
	string_prefixes(g, rep ? (rep == 1 ? 0xf3 : 0xf2) : 0, size == 2);
	if (size == 8)
		b(g, 0x48);
	b(g, ops[k] + (size != 1));
	if (backward)
		b(g, 0xfc); /* cld */
	if (k >= 3 && (count || !rep))
		g->defined = ALL;
}

/*
 * iretq through a frame built on the stack, as a handler returns: the rsp
 * before it, the VMM's selectors, arithmetic flags at random, and the rip
 * just past the iretq.
 */
static void gen_iretq(struct gen *g)
{
	uint32_t flags = 0x2 | (prandom_u64(g->rng) & ALL);
	int sp = wreg(g), ip = wreg(g);
	unsigned int lea_end;
	int32_t rel;

	while (ip == sp)
		ip = wreg(g);
	b(g, 0x48 | (sp & 8 ? 1 : 0)); /* mov sp, rsp */
	b(g, 0x89);
	b(g, 0xe0 | (sp & 7));
	b(g, 0x6a); /* push 0x10 (SS) */
	b(g, 0x10);
	if (sp & 8)
		b(g, 0x41);
	b(g, 0x50 + (sp & 7)); /* push sp (RSP) */
	b(g, 0x68);	       /* push imm32 (RFLAGS) */
	imm(g, flags, 4);
	b(g, 0x6a); /* push 8 (CS) */
	b(g, 0x08);
	b(g, 0x48 | (ip & 8 ? 4 : 0)); /* lea ip, [rip + L] */
	b(g, 0x8d);
	b(g, 0x05 | (ip & 7) << 3);
	imm(g, 0, 4);
	lea_end = g->len;
	if (ip & 8)
		b(g, 0x41);
	b(g, 0x50 + (ip & 7)); /* push ip (RIP) */
	b(g, 0x48);	       /* iretq */
	b(g, 0xcf);
	rel = g->len - lea_end; /* L: */
	memcpy(&g->code[lea_end - 4], &rel, 4);
	g->defined = ALL;
}

/* nop forms, pause, fences, cld. */
static void gen_misc(struct gen *g)
{
	static const uint8_t forms[][7] = {
		{ 1, 0x90 },
		{ 2, 0xf3, 0x90 },
		{ 6, 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00 },
		{ 3, 0x0f, 0x1f, 0x00 },
		{ 3, 0x0f, 0xae, 0xf0 },
		{ 3, 0x0f, 0xae, 0xe8 },
		{ 3, 0x0f, 0xae, 0xf8 },
		{ 1, 0xfc },
	};
	const uint8_t *f = forms[rnd(g, 8)];
	int i;

	for (i = 1; i <= f[0]; i++)
		b(g, f[i]);
}

/* push rbp; mov rbp, rsp; <simple>; leave (with rbp restored by leave). */
static void gen_frame(struct gen *g)
{
	b(g, 0x55);
	b(g, 0x48);
	b(g, 0x89);
	b(g, 0xe5);
	g->frame = true;
	gen_simple(g);
	g->frame = false;
	b(g, 0xc9);
}

/* What a branch may skip or a call may hold: no stack or rbp use. */
static void gen_simple(struct gen *g)
{
	switch (rnd(g, 4)) {
	case 0:
		gen_alu(g);
		break;
	case 1:
		gen_unary(g);
		break;
	case 2:
		gen_shift(g);
		break;
	default:
		gen_cond(g);
		break;
	}
}

static void gen_one(struct gen *g)
{
	switch (rnd(g, 19)) {
	case 18:
		gen_iretq(g);
		break;
	case 0:
	case 1:
		gen_alu(g);
		break;
	case 2:
		gen_indirect(g);
		break;
	case 3:
		gen_unary(g);
		break;
	case 4:
		if (rnd(g, 4))
			gen_shift(g);
		else
			gen_shiftd(g);
		break;
	case 5:
		gen_mul(g);
		break;
	case 6:
		gen_div(g);
		break;
	case 7:
		gen_cond(g);
		break;
	case 8:
		gen_jump(g);
		break;
	case 9:
		gen_call(g);
		break;
	case 10:
		gen_stack(g);
		break;
	case 11:
	case 12:
		gen_mov(g);
		break;
	case 13:
		gen_atomic(g);
		break;
	case 14:
		gen_bits(g);
		break;
	case 15:
	case 16:
		gen_string(g);
		break;
	default:
		if (rnd(g, 2))
			gen_misc(g);
		else
			gen_frame(g);
		break;
	}
}

TEST(against_unicorn)
{
	soft_diff_run(0x6e6f70696e, 6000, false, gen_one);
	soft_diff_run(0x736f6674, 4000, false, gen_one);
}

/* Retries injected at random translations change nothing architectural. */
TEST(against_unicorn_with_retries)
{
	unsigned long injected = soft_diff_run(0x7265747279, 2000, true, gen_one);

	TEST_ASSERT(injected > 1000, "only %lu retries injected", injected);
}
