/* SPDX-License-Identifier: GPL-2.0 */
/* The interpreter's one entry point, for the run loop. */
#ifndef NOPIN_VMM_SOFT_INTERP_H
#define NOPIN_VMM_SOFT_INTERP_H

#include "vmm/soft/access.h"

/*
 * Execute e->insn at cpu->rip; on X_OK, e->next_rip is where to go next.
 * The run loop calls e->insn->exec, which is this or a handler of one form
 * of one instruction that does the same, chosen once at decode.
 */
int soft_execute(struct soft_exec *e);
/* An SSE/SSE2 instruction (insn->kind SOFT_K_SSE) [sse.c]. */
int soft_execute_sse(struct soft_exec *e);
/* Its floating-point arithmetic, compares and conversions [sse_fp.c]. */
int soft_execute_sse_fp(struct soft_exec *e);
/* An x87 instruction (insn->kind SOFT_K_X87), or wait [x87.c]. */
int soft_execute_x87(struct soft_exec *e);
/* Load the x87 control word as fldcw does, ES and B following [x87.c]. */
void soft_x87_load_fcw(struct soft_cpu *cpu, uint16_t v);
/* The x87's part of an fxsave area (bytes 0..23 but MXCSR, and ST0..ST7) [x87.c]. */
void soft_x87_fxsave(const struct soft_cpu *cpu, uint8_t *area);
/* The same from an fxrstor area, FOP, FIP and FDP dropped [x87.c]. */
void soft_x87_fxrstor(struct soft_cpu *cpu, const uint8_t *area);
/*
 * An xmm-or-memory source: @size bytes into the low bytes of @v, the rest
 * zero; @align16, a memory operand must be 16-byte aligned (#GP(0)) [sse.c].
 */
int soft_sse_src(struct soft_exec *e, const struct soft_operand *op, unsigned int size,
		 bool align16, union soft_xmm *v);
/*
 * An instruction outside the interpreted subset: #UD for a guest with a
 * handler for it, else a stop naming it.
 */
int soft_unsupported(struct soft_exec *e);

/* Operands, as the interpreter reads them (for sse.c). */
uint64_t soft_effective_address(struct soft_exec *e, const struct soft_operand *op);
uint64_t soft_reg_read(struct soft_cpu *cpu, unsigned int reg, unsigned int size);
/* 32-bit writes zero the upper half; 8- and 16-bit writes merge. */
void soft_reg_write(struct soft_cpu *cpu, unsigned int reg, unsigned int size, uint64_t val);
/* The handler of @insn, freshly decoded. */
int (*soft_insn_handler(const struct soft_insn *insn))(struct soft_exec *e);
/* Does @insn, with its handler chosen, always jump to the same place when taken? */
bool soft_insn_fixed_target(const struct soft_insn *insn);

#endif
