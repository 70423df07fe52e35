/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The soft vCPU's differential tests (tests/unit/soft/diff*.c): a generator
 * writes random instruction sequences, each family's file its own, and
 * soft_diff_run() runs them on the soft vCPU and on Unicorn from the same
 * registers (general, xmm, MXCSR), flags and memory, and compares what
 * both leave.  This header has the layout both CPUs see, the encoder the
 * generators share, and the runner.
 */
#ifndef NOPIN_TESTS_LIB_SOFT_DIFF_H
#define NOPIN_TESTS_LIB_SOFT_DIFF_H

#include <stdbool.h>
#include <stdint.h>

#include "base/prandom.h"

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

struct gen {
	uint8_t *code;
	unsigned int len;
	uint64_t addr; /* guest address of code[0] */
	uint64_t *rng;
	unsigned int defined; /* flags defined at this point */
	int depth;	      /* qwords pushed */
	bool frame;	      /* inside push rbp; mov rbp, rsp: no rbp-indexed operands */
};

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

static inline unsigned int rnd(struct gen *g, unsigned int n)
{
	return prandom_u64(g->rng) % n;
}

static inline void b(struct gen *g, uint8_t v)
{
	g->code[g->len++] = v;
}

static inline void imm(struct gen *g, uint64_t v, unsigned int n)
{
	while (n--) {
		b(g, v);
		v >>= 8;
	}
}

/* A register the generator may write: rax, rcx, rdx, r8..r15. */
static inline int wreg(struct gen *g)
{
	static const int w[] = { 0, 1, 2, 8, 9, 10, 11, 12, 13, 14, 15 };

	return w[rnd(g, 11)];
}

static inline int rreg(struct gen *g)
{
	return rnd(g, 16);
}

static inline struct rm rm_reg(int reg)
{
	return (struct rm){ .reg = reg };
}

/* A byte register pair; @rex says whether a REX prefix is forced (spl.., r8b..) or banned (ah..). */
void byte_regs(struct gen *g, bool *rex, int *dst, int *src);

/* A memory operand in one of struct rm's forms, in the data pages. */
struct rm rm_mem(struct gen *g, unsigned int size);

/*
 * Emit one instruction: [66] [REX] opcode ModRM [SIB] [disp] [imm].  @size
 * is the operand size (1 for byte opcodes), @rex8 forces a REX prefix.
 */
void emit(struct gen *g, unsigned int size, bool rex8, const uint8_t *op, int oplen, int reg,
	  struct rm rm, uint64_t immv, int immlen);

/* 1, 2, 4 or 8. */
unsigned int rand_size(struct gen *g);

/* An immediate near 0, a power of two, or anything. */
uint64_t rand_imm(struct gen *g);

/*
 * End the sequence in a fault: div by a register just zeroed (#DE), or
 * ud2 (#UD).  Returns the faulting instruction's address.
 */
uint64_t gen_fault(struct gen *g, unsigned int *vector);

/*
 * The MXCSR bits compared, all unless a generator says otherwise: Unicorn
 * 2.0.1 never sets the six exception flags (diff_sse_fp.c).
 */
extern uint32_t soft_diff_mxcsr_mask;
/* MXCSR bits never set at the start of a sequence (FTZ, DAZ: see diff_sse_fp.c). */
extern uint32_t soft_diff_mxcsr_clear;

/*
 * Run @nr sequences of @seed, each of up to 16 instructions from @gen_one,
 * a quarter of them ending in a fault (gen_fault()), on both CPUs and
 * compare.  @inject: a quarter of all translations answer
 * SOFT_XLATE_RETRY.  Returns the number of retries injected.
 */
unsigned long soft_diff_run(uint64_t seed, unsigned int nr, bool inject,
			    void (*gen_one)(struct gen *g));

#endif
