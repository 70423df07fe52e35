// SPDX-License-Identifier: GPL-2.0
/*
 * Guest exceptions, as an x86-64 CPU in long mode delivers them through a
 * 64-bit interrupt gate with an IST slot: the guest registers a handler
 * and a stack per vector (soft_cpu_set_exception_handler()); an exception
 * pushes SS, RSP, RFLAGS, CS, RIP and the error code below that stack's
 * 16-byte aligned top, clears IF, TF, NT and RF, and jumps to the handler,
 * whose iretq pops the frame back.  An exception with no handler stops
 * the guest, naming it.
 *
 * Faults are precise: an instruction raises its exception before it
 * changes anything (the rule of access.h that makes SOFT_XLATE_RETRY
 * safe), so the frame's rip is the faulting instruction and re-executing
 * it there is the same instruction again.  A fault while the frame is
 * being pushed (the handler's stack unmapped, say) is a double fault,
 * which the soft vCPU does not deliver: the guest stops, naming both.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "vmm/soft/access.h"

static const char *const vector_name[SOFT_NR_VECTORS] = {
	[SOFT_VEC_DE] = "#DE (divide error",
	[SOFT_VEC_UD] = "#UD (invalid opcode",
	[SOFT_VEC_GP] = "#GP (general protection",
	[SOFT_VEC_PF] = "#PF (page fault",
	[SOFT_VEC_MF] = "#MF (x87 floating-point exception",
	[SOFT_VEC_XM] = "#XM (SIMD floating-point exception",
};

/* The vectors for which the CPU pushes an error code: #DF, #TS, #NP, #SS, #GP, #PF, #AC. */
static bool has_error_code(unsigned int vector)
{
	return vector == 8 || (vector >= 10 && vector <= 14) || vector == 17;
}

/* "#GP (general protection, vector 13, error code 0)" */
static void describe_vector(unsigned int vector, uint32_t error_code, char *buf, size_t len)
{
	const char *name = vector_name[vector] ? vector_name[vector] : "(exception";
	int n = snprintf(buf, len, "%s, vector %u", name, vector);

	if (n >= 0 && (size_t)n < len && has_error_code(vector))
		n += snprintf(buf + n, len - n, ", error code %#x", error_code);
	if (n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - n, ")");
}

int soft_cpu_set_exception_handler(struct soft_cpu *cpu, unsigned int vector, uint64_t rip,
				   uint64_t stack)
{
	if (vector >= SOFT_NR_VECTORS)
		return -EINVAL;
	if (rip && (!soft_canonical(rip) || !soft_canonical(stack)))
		return -EINVAL;
	cpu->handlers[vector] =
		(struct soft_exception_handler){ .rip = rip, .stack = rip ? stack : 0 };
	return 0;
}

int soft_raise(struct soft_exec *e, unsigned int vector, uint32_t error_code)
{
	e->fault.vector = vector;
	e->fault.error_code = has_error_code(vector) ? error_code : 0;
	return X_FAULT;
}

/* A second exception while the first's frame was being pushed: stop, naming both. */
static int double_fault(struct soft_exec *e, unsigned int vector, uint32_t error_code,
			const char *why)
{
	char first[96], second[96], where[192];

	describe_vector(e->fault.vector, e->fault.error_code, first, sizeof(first));
	describe_vector(vector, error_code, second, sizeof(second));
	soft_describe(e, where, sizeof(where));
	e->cpu->exit.vector = e->fault.vector;
	e->cpu->exit.error_code = e->fault.error_code;
	return soft_stop(e, SOFT_ERR_DOUBLE_FAULT,
			 "double fault: %s while delivering %s to its handler at %#lx, stack %#lx, "
			 "%s: %s",
			 second, first, (unsigned long)e->cpu->handlers[e->fault.vector].rip,
			 (unsigned long)e->cpu->handlers[e->fault.vector].stack, where, why);
}

int soft_fault(struct soft_exec *e, unsigned int vector, uint32_t error_code, const char *fmt, ...)
{
	struct soft_cpu *cpu = e->cpu;
	char why[160], name[96], where[192];
	va_list ap;

	if (!e->delivering && soft_has_handler(cpu, vector))
		return soft_raise(e, vector, error_code);
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (e->delivering)
		return double_fault(e, vector, error_code, why);
	describe_vector(vector, error_code, name, sizeof(name));
	soft_describe(e, where, sizeof(where));
	cpu->exit.vector = vector;
	cpu->exit.error_code = error_code;
	return soft_stop(e, SOFT_ERR_EXCEPTION, "%s at %s%s%s", name, where, why[0] ? ": " : "",
			 why);
}

/*
 * Push e->fault's frame on its handler's stack and enter the handler.
 * Every slot of the frame is translated for writing before anything is
 * stored, so a retry (or a double fault) leaves the guest as it was.
 * RFLAGS is pushed with RF set, as the hardware does for a fault (the soft
 * vCPU has no instruction breakpoints for RF to suppress).  The frame
 * holds CS and SS as they were; the handler runs at CPL 0, and the pushes
 * are its accesses, supervisor ones.  From CPL 3, SS becomes null, as the
 * processor loads it on a change of privilege in 64-bit mode; from CPL 0
 * it stays.
 */
int soft_deliver(struct soft_exec *e)
{
	struct soft_cpu *cpu = e->cpu;
	const struct soft_fault *f = &e->fault;
	const struct soft_exception_handler *h = &cpu->handlers[f->vector];
	uint64_t rflags = soft_cpu_get_rflags(cpu), top = h->stack & ~15UL, frame[6];
	uint16_t cs = cpu->sys.cs, ss = cpu->sys.ss;
	struct soft_dest slot[6];
	unsigned int n = 0, i;
	int ret;

	frame[n++] = ss;
	frame[n++] = cpu->gpr[SOFT_RSP];
	frame[n++] = rflags | X86_RF;
	frame[n++] = cs;
	frame[n++] = cpu->rip;
	if (has_error_code(f->vector))
		frame[n++] = f->error_code;
	e->delivering = true;
	soft_cpu_set_cs(cpu, SOFT_SEL_CODE);
	for (i = 0; i < n; i++) {
		ret = soft_dest_prepare(e, top - 8 * (i + 1), 8, &slot[i]);
		if (ret) {
			soft_cpu_set_cs(cpu, cs);
			return ret;
		}
	}
	if (cs & 3)
		cpu->sys.ss = 0;
	for (i = 0; i < n; i++)
		soft_dest_store(e, &slot[i], frame[i]);
	e->delivering = false;
	if (f->vector == SOFT_VEC_PF)
		cpu->cr2 = f->cr2;
	cpu->gpr[SOFT_RSP] = top - 8 * n;
	soft_cpu_set_rflags(cpu, rflags & ~(X86_IF | X86_TF | X86_NT | X86_RF | X86_VM));
	cpu->rip = h->rip;
	cpu->stats.exceptions++;
	return X_OK;
}

/* What iretq loads of the frame's RFLAGS at CPL 0: all but VM and the reserved bits. */
#define IRET_RFLAGS_MASK 0x3d7fd5UL
#define X86_IOPL (3UL << 12)

/*
 * The RFLAGS iretq loads from the frame's @new: at CPL 3 IOPL stays as it
 * is, and IF too unless CPL <= IOPL, as the processor has it.
 */
static uint64_t iret_rflags(struct soft_cpu *cpu, uint64_t new)
{
	uint64_t old = soft_cpu_get_rflags(cpu), keep = 0;
	unsigned int cpl = soft_cpu_cpl(cpu);

	new &= IRET_RFLAGS_MASK & ~X86_RF;
	if (cpl)
		keep |= X86_IOPL;
	if (cpl > ((old >> 12) & 3))
		keep |= X86_IF;
	return (new & ~keep) | (old & keep);
}

/*
 * The selectors iretq may return to, with the RPL of @cs: #GP(selector) for
 * anything else, as a return to a segment the GDT does not have or of the
 * wrong privilege: CPL 0's code with its data or a null SS, or CPL 3's
 * code and data (a null SS is #GP(0) there); never to a CPL below the
 * current one.
 */
static int iret_check_selectors(struct soft_exec *e, uint16_t cs, uint16_t ss)
{
	unsigned int rpl = cs & 3;

	if (rpl < soft_cpu_cpl(e->cpu) || cs != (rpl ? SOFT_SEL_USER_CODE : SOFT_SEL_CODE))
		return soft_fault(e, SOFT_VEC_GP, cs & 0xfffc,
				  "iretq to CS %#x: at CPL %u only %#x (CPL 0) or %#x (CPL 3), "
				  "the 64-bit code segments, are there",
				  cs, soft_cpu_cpl(e->cpu), SOFT_SEL_CODE, SOFT_SEL_USER_CODE);
	if (rpl ? ss != SOFT_SEL_USER_DATA : ss != SOFT_SEL_DATA && ss != 0)
		return soft_fault(e, SOFT_VEC_GP, ss & 0xfffc,
				  "iretq to SS %#x with CS %#x: only %#x, its data segment%s, is "
				  "there",
				  ss, cs, rpl ? SOFT_SEL_USER_DATA : SOFT_SEL_DATA,
				  rpl ? "" : ", or null");
	return X_OK;
}

/*
 * iretq in 64-bit mode: pops RIP, CS, RFLAGS, RSP and SS, to the same
 * privilege or from CPL 0 to CPL 3 (iret_check_selectors()).  RF is
 * dropped at once: it would only suppress an instruction breakpoint on the
 * first instruction, and the soft vCPU has none.  TF and IF are kept but
 * do nothing: the soft vCPU neither single-steps nor takes interrupts.
 */
int soft_exec_iretq(struct soft_exec *e)
{
	struct soft_cpu *cpu = e->cpu;
	uint64_t sp = cpu->gpr[SOFT_RSP], v[5]; /* RIP, CS, RFLAGS, RSP, SS */
	uint16_t cs, ss;
	int ret;

	for (unsigned int i = 0; i < 5; i++) {
		ret = soft_mem_read(e, sp + 8 * i, 8, &v[i]);
		if (ret)
			return ret;
	}
	cs = v[1];
	ss = v[4];
	if (cpu->flags.rflags & X86_NT)
		return soft_fault(e, SOFT_VEC_GP, 0, "iretq with NT set (a task return)");
	ret = iret_check_selectors(e, cs, ss);
	if (ret)
		return ret;
	if (!soft_canonical(v[0]))
		return soft_fault(e, SOFT_VEC_GP, 0, "iretq to non-canonical rip %#lx",
				  (unsigned long)v[0]);
	cpu->gpr[SOFT_RSP] = v[3];
	soft_cpu_set_rflags(cpu, iret_rflags(cpu, v[2]));
	soft_cpu_set_cs(cpu, cs);
	cpu->sys.ss = ss;
	e->next_rip = v[0];
	return X_OK;
}
