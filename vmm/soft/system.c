// SPDX-License-Identifier: GPL-2.0
/*
 * The system instructions of the soft vCPU: the privilege level a guest
 * kernel runs its user code at, and the ways between the two levels.
 *
 * The vCPU is at CPL 0 or CPL 3, CS's RPL (cpu->sys.cs).  syscall enters
 * CPL 0 at LSTAR with the selectors of STAR[47:32], sysret leaves for CPL
 * 3 with those of STAR[63:48]; an exception enters its handler at CPL 0
 * (exception.c) and iretq may return to CPL 3.  Nothing checks the
 * selectors syscall and sysret load against the GDT, as the processor does
 * not: they load fixed descriptors, and a guest whose STAR names others
 * than SOFT_STAR_ABI's gets selectors iretq refuses.  At CPL 3 the
 * privileged instructions (swapgs too) are #GP(0), and every access is a
 * user one for the translate callback (the U/S check of the guest's
 * tables), but the pushes of an exception frame, made at CPL 0.
 */
#include "vmm/soft/system.h"

#include <capstone/capstone.h>

/* What sysret loads of R11, as the processor's SYSRET: RF and VM cleared, bit 1 set. */
#define SYSRET_RFLAGS_MASK 0x3c7fd7UL

static int privileged_gp(struct soft_exec *e, const char *why)
{
	return soft_fault(e, SOFT_VEC_GP, 0, "%s", why);
}

int soft_privileged(struct soft_exec *e)
{
	if (!soft_cpu_cpl(e->cpu))
		return X_OK;
	return privileged_gp(e, "a privileged instruction at CPL 3");
}

static int syscall_disabled(struct soft_exec *e)
{
	return soft_fault(e, SOFT_VEC_UD, 0, "%s", "EFER.SCE is clear");
}

/*
 * syscall: rcx gets the next rip and r11 RFLAGS; RFLAGS loses FMASK's
 * bits and RF; CS and SS become STAR[47:32] (RPL 0) and 8 above it;
 * rip becomes LSTAR, which wrmsr keeps canonical.  The stack is the
 * caller's: switching it is the kernel's, through swapgs.
 */
static int exec_syscall(struct soft_exec *e)
{
	struct soft_cpu *cpu = e->cpu;
	struct soft_system *sys = &cpu->sys;
	uint64_t rflags = soft_cpu_get_rflags(cpu) & ~X86_RF;
	uint16_t cs = (sys->star >> 32) & 0xfffc;

	if (!(sys->efer & SOFT_EFER_SCE))
		return syscall_disabled(e);
	cpu->gpr[SOFT_RCX] = e->next_rip;
	cpu->gpr[SOFT_R11] = rflags;
	soft_cpu_set_rflags(cpu, rflags & ~(uint32_t)sys->fmask);
	soft_cpu_set_cs(cpu, cs);
	sys->ss = (uint16_t)(sys->star >> 32) + 8;
	e->next_rip = sys->lstar;
	return X_OK;
}

/*
 * sysretq: back to CPL 3 at rcx with RFLAGS from r11; CS and SS become
 * STAR[63:48] + 16 and + 8, RPL 3.  A non-canonical rcx is #GP(0) at CPL
 * 0, before anything changes, as on Intel's processors (AMD's would fault
 * in ring 3).  The 32-bit form returns to compatibility mode, which the
 * soft vCPU does not have.
 */
static int exec_sysret(struct soft_exec *e)
{
	struct soft_cpu *cpu = e->cpu;
	struct soft_system *sys = &cpu->sys;
	uint16_t base = sys->star >> 48;
	uint64_t rip = cpu->gpr[SOFT_RCX];

	if (!(sys->efer & SOFT_EFER_SCE))
		return syscall_disabled(e);
	if (soft_cpu_cpl(cpu))
		return privileged_gp(e, "sysret at CPL 3");
	if (e->insn->opsize != 8)
		return soft_unsupported(e);
	if (!soft_canonical(rip))
		return soft_fault(e, SOFT_VEC_GP, 0, "sysret to non-canonical rip %#lx",
				  (unsigned long)rip);
	soft_cpu_set_rflags(cpu, cpu->gpr[SOFT_R11] & SYSRET_RFLAGS_MASK);
	soft_cpu_set_cs(cpu, (base + 16) | 3);
	sys->ss = (base + 8) | 3;
	e->next_rip = rip;
	return X_OK;
}

/* swapgs: the GS base and KERNEL_GS_BASE trade places; #GP(0) at CPL 3. */
static int exec_swapgs(struct soft_exec *e)
{
	struct soft_system *sys = &e->cpu->sys;
	uint64_t gs = sys->gs_base;

	if (soft_cpu_cpl(e->cpu))
		return privileged_gp(e, "swapgs at CPL 3");
	sys->gs_base = sys->kernel_gs_base;
	sys->kernel_gs_base = gs;
	return X_OK;
}

/* The MSR @msr, or NULL if the soft vCPU has no such MSR. */
static uint64_t *msr_slot(struct soft_system *sys, uint32_t msr)
{
	switch (msr) {
	case SOFT_MSR_EFER:
		return &sys->efer;
	case SOFT_MSR_STAR:
		return &sys->star;
	case SOFT_MSR_LSTAR:
		return &sys->lstar;
	case SOFT_MSR_CSTAR:
		return &sys->cstar;
	case SOFT_MSR_FMASK:
		return &sys->fmask;
	case SOFT_MSR_FS_BASE:
		return &sys->fs_base;
	case SOFT_MSR_GS_BASE:
		return &sys->gs_base;
	case SOFT_MSR_KERNEL_GS_BASE:
		return &sys->kernel_gs_base;
	}
	return NULL;
}

/* Can @msr hold @val?  EFER may change SCE only; an address must be canonical. */
static bool msr_valid(uint32_t msr, uint64_t val)
{
	switch (msr) {
	case SOFT_MSR_EFER:
		return (val & ~(uint64_t)SOFT_EFER_SCE) == SOFT_EFER_FIXED;
	case SOFT_MSR_FMASK:
		return !(val >> 32);
	case SOFT_MSR_STAR:
		return true;
	}
	return soft_canonical(val);
}

/* rdmsr and wrmsr of ecx, through edx:eax: #GP(0) at CPL 3, for an MSR that is not there or a value it cannot hold. */
static int exec_msr(struct soft_exec *e, bool write)
{
	struct soft_cpu *cpu = e->cpu;
	uint32_t msr = cpu->gpr[SOFT_RCX];
	uint64_t *slot = msr_slot(&cpu->sys, msr), val;

	if (soft_cpu_cpl(cpu))
		return privileged_gp(e, write ? "wrmsr at CPL 3" : "rdmsr at CPL 3");
	if (!slot)
		return soft_fault(e, SOFT_VEC_GP, 0, "MSR %#x is not there", msr);
	if (!write) {
		cpu->gpr[SOFT_RAX] = (uint32_t)*slot;
		cpu->gpr[SOFT_RDX] = *slot >> 32;
		return X_OK;
	}
	val = (uint32_t)cpu->gpr[SOFT_RAX] | cpu->gpr[SOFT_RDX] << 32;
	if (!msr_valid(msr, val))
		return soft_fault(e, SOFT_VEC_GP, 0, "MSR %#x cannot hold %#lx", msr,
				  (unsigned long)val);
	*slot = val;
	return X_OK;
}

/*
 * rdfsbase, rdgsbase, wrfsbase, wrgsbase (CPUID.7.EBX.FSGSBASE, CR4's bit
 * set): at any CPL; the 32-bit forms read the low half, zero-extended, and
 * write a base of 32 bits; a non-canonical base is #GP(0).
 */
static int exec_segbase(struct soft_exec *e)
{
	const struct soft_operand *op = &e->insn->op[0];
	struct soft_system *sys = &e->cpu->sys;
	unsigned int id = e->insn->id;
	bool fs = id == X86_INS_RDFSBASE || id == X86_INS_WRFSBASE;
	uint64_t *base = fs ? &sys->fs_base : &sys->gs_base;
	uint64_t mask = op->size == 8 ? ~0UL : 0xffffffffUL, val;

	if (op->type != SOFT_OP_REG)
		return soft_unsupported(e);
	if (id == X86_INS_RDFSBASE || id == X86_INS_RDGSBASE) {
		e->cpu->gpr[op->reg] = *base & mask;
		return X_OK;
	}
	val = e->cpu->gpr[op->reg] & mask;
	if (!soft_canonical(val))
		return soft_fault(e, SOFT_VEC_GP, 0, "%s base %#lx is not canonical",
				  fs ? "FS" : "GS", (unsigned long)val);
	*base = val;
	return X_OK;
}

/* cli and sti: #GP(0) where CPL > IOPL.  IF does nothing more: the soft vCPU takes no interrupts. */
static int exec_set_if(struct soft_exec *e, bool on)
{
	struct soft_cpu *cpu = e->cpu;

	if (soft_cpu_cpl(cpu) > soft_iopl(cpu))
		return privileged_gp(e, on ? "sti at CPL 3 above IOPL" : "cli at CPL 3 above IOPL");
	soft_flags_materialize(&cpu->flags);
	cpu->flags.rflags = on ? cpu->flags.rflags | X86_IF : cpu->flags.rflags & ~X86_IF;
	return X_OK;
}

int soft_exec_system(struct soft_exec *e)
{
	switch (e->insn->id) {
	case X86_INS_SYSCALL:
		return exec_syscall(e);
	case X86_INS_SYSRET:
		return exec_sysret(e);
	case X86_INS_SWAPGS:
		return exec_swapgs(e);
	case X86_INS_RDMSR:
		return exec_msr(e, false);
	case X86_INS_WRMSR:
		return exec_msr(e, true);
	case X86_INS_CLI:
		return exec_set_if(e, false);
	case X86_INS_STI:
		return exec_set_if(e, true);
	default:
		return exec_segbase(e);
	}
}
