// SPDX-License-Identifier: GPL-2.0
/*
 * The x87's control and status words, without its arithmetic.  glibc's
 * printf of a double and its strtod read the rounding mode with fnstcw
 * (get_rounding_mode()), so a program that prints or parses a double runs
 * one x87 instruction even on SSE2 code paths.  The control word is real
 * state here, kept by fldcw, fninit, fxsave and fxrstor as the processor
 * keeps it; since no x87 arithmetic is interpreted (its instructions name
 * ST registers, which stop the guest at decode), nothing ever sets a
 * status flag, the stack is empty and the status word reads zero.
 */
#include <capstone/capstone.h>

#include "vmm/soft/interp.h"

/* Bits 6 and 13..15 of the control word: 6 reads as one, the others as zero. */
static uint16_t fcw_loaded(uint16_t v)
{
	return (v & SOFT_FCW_WRITABLE) | SOFT_FCW_ONE;
}

void soft_x87_load_fcw(struct soft_cpu *cpu, uint16_t v)
{
	cpu->fcw = fcw_loaded(v);
}

static int store16(struct soft_exec *e, const struct soft_operand *op, uint16_t v)
{
	if (op->type == SOFT_OP_REG) { /* fnstsw ax */
		soft_reg_write(e->cpu, op->reg, 2, v);
		return X_OK;
	}
	return soft_mem_write(e, soft_effective_address(e, op), 2, v);
}

int soft_execute_x87(struct soft_exec *e)
{
	const struct soft_operand *op = e->insn->op;
	uint64_t v;
	int ret;

	switch (e->insn->id) {
	case X86_INS_FNSTCW:
		return store16(e, &op[0], e->cpu->fcw);
	case X86_INS_FLDCW:
		ret = soft_mem_read(e, soft_effective_address(e, &op[0]), 2, &v);
		if (!ret)
			soft_x87_load_fcw(e->cpu, v);
		return ret;
	case X86_INS_FNSTSW:
		return store16(e, &op[0], 0);
	case X86_INS_FNINIT:
		e->cpu->fcw = SOFT_FCW_RESET;
		return X_OK;
	case X86_INS_FNCLEX: /* no exception flag is ever set */
	case X86_INS_WAIT:   /* nor pending */
		return X_OK;
	}
	return soft_unsupported(e);
}
