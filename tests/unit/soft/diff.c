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
#include <stdlib.h>
#include <string.h>
#include <unicorn/unicorn.h>

#include "base/prandom.h"
#include "tests/lib/test_util.h"
#include "vmm/soft/soft_cpu.h"

#define CODE_BASE 0x1000000UL
#define SEQ_STRIDE 1024UL
#define MAX_SEQS 12000UL
#define CODE_SIZE (SEQ_STRIDE * MAX_SEQS)
#define DATA_BASE 0x200000UL
#define DATA_SIZE 0x2000UL
#define STACK_BASE 0x300000UL
#define STACK_SIZE 0x1000UL
#define RBX_INIT (DATA_BASE + 0x1000) /* memory operands straddle the page boundary */
#define RBP_INIT 16UL		      /* the index register of SIB forms */
#define RSI_INIT (DATA_BASE + 0x200)
#define RDI_INIT (DATA_BASE + 0x1800)
#define GDT_BASE 0x400000UL
/* The soft vCPU's handler for #DE and #UD: a hlt after the last sequence, on its own stack. */
#define HANDLER_VA (CODE_BASE + CODE_SIZE - 16)
#define HANDLER_STACK (STACK_BASE + 0x100)
#define FRAME_SIZE 40 /* SS, RSP, RFLAGS, CS, RIP: neither vector has an error code */

#define CF 0x1u
#define PF 0x4u
#define AF 0x10u
#define ZF 0x40u
#define SF 0x80u
#define OF 0x800u
#define ALL (CF | PF | AF | ZF | SF | OF)

enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI };

/* Flags each condition code reads, in cc order (O NO B AE E NE BE A S NS P NP L GE LE G). */
static const unsigned int cc_reads[8] = { OF, CF, ZF, CF | ZF, SF, PF, SF | OF, ZF | SF | OF };

struct gen {
	uint8_t *code;
	unsigned int len;
	uint64_t addr; /* guest address of code[0] */
	uint64_t *rng;
	unsigned int defined; /* flags defined at this point */
	int depth;	      /* qwords pushed */
	bool frame;	      /* inside push rbp; mov rbp, rsp: no rbp-indexed operands */
};

static unsigned int rnd(struct gen *g, unsigned int n)
{
	return prandom_u64(g->rng) % n;
}

static void b(struct gen *g, uint8_t v)
{
	g->code[g->len++] = v;
}

static void imm(struct gen *g, uint64_t v, unsigned int n)
{
	while (n--) {
		b(g, v);
		v >>= 8;
	}
}

/* A register the generator may write: rax, rcx, rdx, r8..r15. */
static int wreg(struct gen *g)
{
	static const int w[] = { 0, 1, 2, 8, 9, 10, 11, 12, 13, 14, 15 };

	return w[rnd(g, 11)];
}

static int rreg(struct gen *g)
{
	return rnd(g, 16);
}

/* A byte register pair; @rex says whether a REX prefix is forced (spl.., r8b..) or banned (ah..). */
static void byte_regs(struct gen *g, bool *rex, int *dst, int *src)
{
	static const int legacy_w[] = { 0, 1, 2, 4, 5, 6 }; /* al cl dl ah ch dh */

	*rex = rnd(g, 2);
	if (*rex) {
		*dst = wreg(g);
		*src = rreg(g);
	} else {
		*dst = legacy_w[rnd(g, 6)];
		*src = rnd(g, 8);
	}
}

struct rm {
	bool mem;
	int reg;
	int form; /* 0 [rbx+d8], 1 [rbx+d32], 2 [rbx+rbp*s+d8], 3 [rip+d32] */
	int32_t disp;
	int scale;
	uint64_t target;
	uint8_t seg; /* 0x64 or 0x65 (fs:, gs:, whose bases both sides set), or 0 */
};

/* The FS and GS bases of both sides: an override moves an access by this much. */
#define FS_BASE_DIFF 0x48UL
#define GS_BASE_DIFF (-0x88UL)

static struct rm rm_reg(int reg)
{
	return (struct rm){ .reg = reg };
}

static struct rm rm_mem(struct gen *g, unsigned int size)
{
	struct rm m = { .mem = true, .form = rnd(g, 4) };

	if (g->frame && m.form == 2)
		m.form = 0;
	switch (m.form) {
	case 0:
		m.disp = (int)rnd(g, 200) - 100;
		break;
	case 1:
		m.disp = (int)rnd(g, 0x1000) - 0x800;
		break;
	case 2:
		m.scale = rnd(g, 4);
		m.disp = -(int)rnd(g, 120);
		break;
	default:
		m.target = DATA_BASE + rnd(g, DATA_SIZE - 8);
		break;
	}
	/* Not on rip-relative targets, which may lie at either end of the data. */
	if (m.form != 3 && !g->frame && !rnd(g, 6))
		m.seg = rnd(g, 2) ? 0x64 : 0x65;
	return m;
}

/*
 * Emit one instruction: [66] [REX] opcode ModRM [SIB] [disp] [imm].  @size
 * is the operand size (1 for byte opcodes), @rex8 forces a REX prefix.
 */
static void emit(struct gen *g, unsigned int size, bool rex8, const uint8_t *op, int oplen, int reg,
		 struct rm rm, uint64_t immv, int immlen)
{
	unsigned int start = g->len, rex = 0x40, disp_at = 0;
	int i;

	if (rm.mem && rm.seg)
		b(g, rm.seg);
	if (size == 2)
		b(g, 0x66);
	if (size == 8)
		rex |= 8;
	if (reg & 8)
		rex |= 4;
	if (!rm.mem && (rm.reg & 8))
		rex |= 1;
	if (rex != 0x40 || rex8)
		b(g, rex);
	for (i = 0; i < oplen; i++)
		b(g, op[i]);
	if (!rm.mem) {
		b(g, 0xc0 | (reg & 7) << 3 | (rm.reg & 7));
	} else {
		switch (rm.form) {
		case 0:
			b(g, 0x40 | (reg & 7) << 3 | RBX);
			b(g, rm.disp);
			break;
		case 1:
			b(g, 0x80 | (reg & 7) << 3 | RBX);
			imm(g, rm.disp, 4);
			break;
		case 2:
			b(g, 0x44 | (reg & 7) << 3);
			b(g, rm.scale << 6 | RBP << 3 | RBX);
			b(g, rm.disp);
			break;
		default:
			b(g, 0x05 | (reg & 7) << 3);
			disp_at = g->len;
			imm(g, 0, 4);
			break;
		}
	}
	imm(g, immv, immlen);
	if (disp_at) {
		int32_t d = rm.target - (g->addr + g->len);

		memcpy(&g->code[disp_at], &d, 4);
	}
	(void)start;
}

static unsigned int rand_size(struct gen *g)
{
	static const unsigned int sizes[] = { 1, 2, 4, 8 };

	return sizes[rnd(g, 4)];
}

static uint64_t rand_imm(struct gen *g)
{
	switch (rnd(g, 4)) {
	case 0:
		return rnd(g, 3) - 1;
	case 1:
		return 0x80UL << rnd(g, 25);
	default:
		return prandom_u64(g->rng);
	}
}

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

/*
 * End the sequence in a fault: div by a register just zeroed (#DE), or
 * ud2 (#UD).  Returns the faulting instruction's address.
 */
static uint64_t gen_fault(struct gen *g, unsigned int *vector)
{
	static const int divisors[] = { 1, 8, 9, 10, 11, 12, 13, 14, 15 };
	unsigned int size = rand_size(g);
	int r = divisors[rnd(g, 9)];
	uint64_t at;
	uint8_t opc[1];

	if (rnd(g, 2)) {
		*vector = 6;
		at = g->addr + g->len;
		b(g, 0x0f);
		b(g, 0x0b);
		return at;
	}
	*vector = 0;
	opc[0] = 0x31; /* xor r32, r32 */
	emit(g, 4, false, opc, 1, r, rm_reg(r), 0, 0);
	g->defined = ALL & ~AF;
	at = g->addr + g->len;
	opc[0] = size == 1 ? 0xf6 : 0xf7;
	emit(g, size, size == 1, opc, 1, rnd(g, 2) ? 7 : 6, rm_reg(r), 0, 0);
	return at;
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

/* ---- the two CPUs ---- */

struct flat {
	uint8_t *code, data[DATA_SIZE], stack[STACK_SIZE];
	uint64_t *rng; /* non-NULL: inject SOFT_XLATE_RETRY */
	unsigned long injected;
};

static enum soft_xlate_ret flat_translate(void *opaque, uint64_t gva, unsigned int len,
					  enum soft_access access, uint64_t rip,
					  struct soft_xlate *out)
{
	struct flat *m = opaque;

	if (m->rng && prandom_u64(m->rng) % 4 == 0) {
		m->injected++;
		return SOFT_XLATE_RETRY;
	}
	out->gpa = gva;
	if (gva >= CODE_BASE && gva + len <= CODE_BASE + CODE_SIZE)
		out->hva = m->code + (gva - CODE_BASE);
	else if (gva >= DATA_BASE && gva + len <= DATA_BASE + DATA_SIZE)
		out->hva = m->data + (gva - DATA_BASE);
	else if (gva >= STACK_BASE && gva + len <= STACK_BASE + STACK_SIZE)
		out->hva = m->stack + (gva - STACK_BASE);
	else
		return SOFT_XLATE_OUTSIDE;
	return SOFT_XLATE_OK;
}

static const struct soft_mem_ops flat_ops = { .translate = flat_translate };

static const int uc_gpr[16] = {
	UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RBX,
	UC_X86_REG_RSP, UC_X86_REG_RBP, UC_X86_REG_RSI, UC_X86_REG_RDI,
	UC_X86_REG_R8,	UC_X86_REG_R9,	UC_X86_REG_R10, UC_X86_REG_R11,
	UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14, UC_X86_REG_R15,
};

/*
 * Unicorn delivers no exception: it calls this, which stops it where the
 * fault is.  Undelivered, a #DE stays QEMU's "exception in progress", so
 * the next would be a #DF: after one, Unicorn goes back to its state
 * before any (unicorn_fresh).
 */
static int unicorn_vector = -1;
static uc_context *unicorn_fresh;

static void unicorn_interrupt(uc_engine *uc, uint32_t intno, void *data)
{
	unicorn_vector = intno;
	uc_emu_stop(uc);
}

static uc_engine *unicorn_open(void)
{
	static const uint64_t gdt[] = { 0, 0x00af9b000000ffffUL, 0x00cf93000000ffffUL };
	uc_x86_mmr gdtr = { .base = GDT_BASE, .limit = sizeof(gdt) - 1 };
	uc_engine *uc;
	uc_hook hook;

	TEST_ASSERT_EQ(uc_open(UC_ARCH_X86, UC_MODE_64, &uc), UC_ERR_OK);
	TEST_ASSERT_EQ(uc_mem_map(uc, CODE_BASE, CODE_SIZE, UC_PROT_ALL), UC_ERR_OK);
	TEST_ASSERT_EQ(uc_mem_map(uc, DATA_BASE, DATA_SIZE, UC_PROT_ALL), UC_ERR_OK);
	TEST_ASSERT_EQ(uc_mem_map(uc, STACK_BASE, STACK_SIZE, UC_PROT_ALL), UC_ERR_OK);
	/* The VMM's GDT, for iretq: null, 64-bit code at 0x08, data at 0x10. */
	TEST_ASSERT_EQ(uc_mem_map(uc, GDT_BASE, 0x1000, UC_PROT_ALL), UC_ERR_OK);
	TEST_ASSERT_EQ(uc_mem_write(uc, GDT_BASE, gdt, sizeof(gdt)), UC_ERR_OK);
	TEST_ASSERT_EQ(uc_reg_write(uc, UC_X86_REG_GDTR, &gdtr), UC_ERR_OK);
	TEST_ASSERT_EQ(uc_hook_add(uc, &hook, UC_HOOK_INTR, unicorn_interrupt, NULL, 1, 0),
		       UC_ERR_OK);
	TEST_ASSERT_EQ(uc_context_alloc(uc, &unicorn_fresh), UC_ERR_OK);
	TEST_ASSERT_EQ(uc_context_save(uc, unicorn_fresh), UC_ERR_OK);
	return uc;
}

static uint64_t rand_reg(uint64_t *rng)
{
	uint64_t v = prandom_u64(rng);

	switch (v % 8) {
	case 0:
		return 0;
	case 1:
		return -1UL;
	case 2:
		return v >> (v % 64);
	case 3:
		return 0x80UL << (v % 57);
	default:
		return prandom_u64(rng);
	}
}

static void dump(const char *who, const uint64_t *gpr, uint64_t rip, uint64_t fl)
{
	int i;

	fprintf(stderr, "%s:", who);
	for (i = 0; i < 16; i++)
		fprintf(stderr, " r%d=%lx", i, (unsigned long)gpr[i]);
	fprintf(stderr, " rip=%lx fl=%lx\n", (unsigned long)rip, (unsigned long)fl);
}

static void disassemble(struct soft_cpu *cpu, const uint8_t *code, unsigned int len, uint64_t addr)
{
	struct soft_insn insn;
	unsigned int off = 0;
	char buf[128];

	while (off < len &&
	       !soft_decode(cpu->cache.decoder, code + off, len - off, addr + off, &insn)) {
		soft_disasm(cpu->cache.decoder, &insn, addr + off, buf, sizeof(buf));
		fprintf(stderr, "  %lx: %s\n", (unsigned long)(addr + off), buf);
		off += insn.len;
	}
}

/*
 * After a sequence that ended in a fault, the soft vCPU is on its handler's
 * hlt with the frame below HANDLER_STACK: check the frame's selectors and
 * RF, then put the registers where Unicorn stopped (rsp, rip and flags
 * from the frame) and the frame's bytes back to what Unicorn has there, so
 * the rest compares as for a sequence that ran to its end.
 */
static bool soft_unwind_fault(struct flat *m, struct soft_cpu *cpu, const uint8_t *ustack,
			      uint64_t *rip, uint64_t *fl)
{
	unsigned int off = HANDLER_STACK - FRAME_SIZE - STACK_BASE;
	uint64_t frame[5]; /* RIP, CS, RFLAGS, RSP, SS */

	if (cpu->rip != HANDLER_VA + 1 || cpu->gpr[RSP] != HANDLER_STACK - FRAME_SIZE)
		return false;
	memcpy(frame, &m->stack[off], sizeof(frame));
	memcpy(&m->stack[off], &ustack[off], sizeof(frame));
	if (frame[1] != 0x08 || frame[4] != 0x10 || !(frame[2] & X86_RF))
		return false;
	*rip = frame[0];
	*fl = frame[2] & ~X86_RF;
	cpu->gpr[RSP] = frame[3];
	return true;
}

/* Run @nr sequences of @seed on both CPUs and compare; returns retries injected. */
static unsigned long run_diff(uint64_t seed, unsigned int nr, bool inject)
{
	static uint8_t udata[DATA_SIZE], ustack[STACK_SIZE];
	uint64_t rng = seed, irng = seed ^ 0x5555;
	struct flat *m = calloc(1, sizeof(*m));
	uc_engine *uc = unicorn_open();
	unsigned long injected, faults = 0;
	struct soft_cpu cpu;
	unsigned int i, r;

	TEST_ASSERT(m, "calloc");
	m->code = calloc(1, CODE_SIZE);
	TEST_ASSERT(m->code, "calloc code");
	m->rng = inject ? &irng : NULL;
	TEST_ASSERT_EQ(soft_cpu_init(&cpu, &flat_ops, m), 0);
	cpu.sys.fs_base = FS_BASE_DIFF;
	cpu.sys.gs_base = GS_BASE_DIFF;
	TEST_ASSERT(nr < MAX_SEQS, "too many sequences");
	m->code[HANDLER_VA - CODE_BASE] = 0xf4;
	TEST_ASSERT_EQ(soft_cpu_set_exception_handler(&cpu, 0, HANDLER_VA, HANDLER_STACK), 0);
	TEST_ASSERT_EQ(soft_cpu_set_exception_handler(&cpu, 6, HANDLER_VA, HANDLER_STACK), 0);

	for (i = 0; i < nr; i++) {
		uint64_t addr = CODE_BASE + i * SEQ_STRIDE, end, gpr[16], ugpr[16], urip, ufl, fl;
		struct gen g = {
			.code = m->code + i * SEQ_STRIDE, .addr = addr, .rng = &rng, .defined = ALL
		};
		unsigned int n = 1 + prandom_u64(&rng) % 16, mask, vector = ~0u;
		uint64_t fl0 = 0x2 | (prandom_u64(&rng) & ALL), fault_at = 0, rip;
		bool ok;
		uc_err err;

		while (n-- && g.len < SEQ_STRIDE - 128)
			gen_one(&g);
		if (!rnd(&g, 4))
			fault_at = gen_fault(&g, &vector);
		end = addr + g.len;
		g.code[g.len] = 0xf4; /* hlt: where the soft vCPU stops */
		mask = g.defined;

		for (r = 0; r < 16; r++)
			gpr[r] = rand_reg(&rng);
		gpr[RBX] = RBX_INIT;
		gpr[RBP] = RBP_INIT;
		gpr[RSI] = RSI_INIT;
		gpr[RDI] = RDI_INIT;
		gpr[RSP] = STACK_BASE + STACK_SIZE - 512;
		for (r = 0; r < DATA_SIZE; r += 8) {
			uint64_t v = prandom_u64(&rng);

			memcpy(&m->data[r], &v, 8);
		}
		for (r = 0; r < STACK_SIZE; r += 8) {
			uint64_t v = prandom_u64(&rng);

			memcpy(&m->stack[r], &v, 8);
		}

		/* Unicorn: it stops on a #DE in its hook, on a ud2 with an error. */
		TEST_ASSERT_EQ(uc_mem_write(uc, addr, g.code, g.len + 1), UC_ERR_OK);
		TEST_ASSERT_EQ(uc_mem_write(uc, DATA_BASE, m->data, DATA_SIZE), UC_ERR_OK);
		TEST_ASSERT_EQ(uc_mem_write(uc, STACK_BASE, m->stack, STACK_SIZE), UC_ERR_OK);
		for (r = 0; r < 16; r++)
			uc_reg_write(uc, uc_gpr[r], &gpr[r]);
		uc_reg_write(uc, UC_X86_REG_EFLAGS, &fl0);
		uc_reg_write(uc, UC_X86_REG_FS_BASE, &(uint64_t){ FS_BASE_DIFF });
		uc_reg_write(uc, UC_X86_REG_GS_BASE, &(uint64_t){ GS_BASE_DIFF });
		unicorn_vector = -1;
		err = uc_emu_start(uc, addr, end, 0, 0);
		TEST_ASSERT(vector == 6 ? err == UC_ERR_INSN_INVALID :
					  err == UC_ERR_OK && unicorn_vector == (int)vector,
			    "unicorn: %s, vector %d, seq %u", uc_strerror(err), unicorn_vector, i);
		for (r = 0; r < 16; r++)
			uc_reg_read(uc, uc_gpr[r], &ugpr[r]);
		uc_reg_read(uc, UC_X86_REG_RIP, &urip);
		uc_reg_read(uc, UC_X86_REG_EFLAGS, &ufl);
		uc_mem_read(uc, DATA_BASE, udata, DATA_SIZE);
		uc_mem_read(uc, STACK_BASE, ustack, STACK_SIZE);
		if (unicorn_vector >= 0)
			TEST_ASSERT_EQ(uc_context_restore(uc, unicorn_fresh), UC_ERR_OK);

		/* soft vCPU */
		memcpy(cpu.gpr, gpr, sizeof(gpr));
		cpu.rip = addr;
		soft_cpu_set_rflags(&cpu, fl0);
		if (soft_cpu_run(&cpu, 0) != SOFT_EXIT_HLT) {
			disassemble(&cpu, g.code, g.len, addr);
			TEST_FAIL("seq %u: exit %d: %s", i, cpu.exit.reason, cpu.exit.message);
		}
		rip = cpu.rip;
		fl = soft_cpu_get_rflags(&cpu);
		if (fault_at) {
			faults++;
			ok = soft_unwind_fault(m, &cpu, ustack, &rip, &fl) && rip == fault_at &&
			     urip == fault_at;
		} else {
			ok = rip == end + 1;
		}

		if (!ok || memcmp(cpu.gpr, ugpr, sizeof(ugpr)) || ((fl ^ ufl) & mask) ||
		    memcmp(m->data, udata, DATA_SIZE) || memcmp(m->stack, ustack, STACK_SIZE)) {
			disassemble(&cpu, g.code, g.len, addr);
			dump("init   ", gpr, addr, fl0);
			dump("unicorn", ugpr, urip, ufl);
			dump("soft   ", cpu.gpr, rip, fl);
			for (r = 0; r < DATA_SIZE; r++)
				if (m->data[r] != udata[r])
					fprintf(stderr, "data +%#x: soft %02x unicorn %02x\n", r,
						m->data[r], udata[r]);
			for (r = 0; r < STACK_SIZE; r++)
				if (m->stack[r] != ustack[r])
					fprintf(stderr, "stack +%#x: soft %02x unicorn %02x\n", r,
						m->stack[r], ustack[r]);
			TEST_FAIL("seq %u of seed %#lx differs (flag mask %#x, fault at %#lx)", i,
				  (unsigned long)seed, mask, (unsigned long)fault_at);
		}
		/* The VMM's invalidate-page call, so the cache stays small. */
		soft_cpu_invalidate_page(&cpu, addr);
		soft_cpu_invalidate_page(&cpu, end);
	}
	TEST_ASSERT(cpu.cache.misses > 0 && cpu.cache.invalidations > 0, "cache unused");
	TEST_ASSERT(faults > nr / 8 && cpu.stats.exceptions == faults,
		    "%lu of %u sequences ended in a fault, %lu delivered", faults, nr,
		    (unsigned long)cpu.stats.exceptions);
	uc_context_free(unicorn_fresh);
	uc_close(uc);
	soft_cpu_destroy(&cpu);
	injected = m->injected;
	free(m->code);
	free(m);
	return injected;
}

TEST(against_unicorn)
{
	run_diff(0x6e6f70696e, 6000, false);
	run_diff(0x736f6674, 4000, false);
}

/* Retries injected at random translations change nothing architectural. */
TEST(against_unicorn_with_retries)
{
	unsigned long injected = run_diff(0x7265747279, 2000, true);

	TEST_ASSERT(injected > 1000, "only %lu retries injected", injected);
}
