/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The system instructions and state of the soft vCPU (system.c): the two
 * privilege levels, syscall and sysret, swapgs, the MSRs, the FS and GS
 * bases and what a segment override adds to an address.
 */
#ifndef NOPIN_VMM_SOFT_SYSTEM_H
#define NOPIN_VMM_SOFT_SYSTEM_H

#include "vmm/soft/interp.h"

/*
 * The FS or GS base an override prefix adds to a memory operand's
 * effective address (0x64, 0x65; the other segments have base 0 in
 * 64-bit mode), else 0.
 */
static inline uint64_t soft_segment_base(const struct soft_exec *e)
{
	uint8_t pfx = e->insn->prefix;

	if (__builtin_expect(!(pfx & (SOFT_PFX_FS | SOFT_PFX_GS)), 1))
		return 0;
	return pfx & SOFT_PFX_FS ? e->cpu->sys.fs_base : e->cpu->sys.gs_base;
}

/* IOPL, the privilege level IN, OUT, CLI and STI need. */
static inline unsigned int soft_iopl(struct soft_cpu *cpu)
{
	return (cpu->flags.rflags >> 12) & 3;
}

/*
 * A privileged instruction: X_OK at CPL 0, #GP(0) at CPL 3, raised before
 * the instruction does anything.
 */
int soft_privileged(struct soft_exec *e);

/* syscall, sysret, swapgs, rdmsr, wrmsr, cli, sti and {rd,wr}{fs,gs}base. */
int soft_exec_system(struct soft_exec *e);

#endif
