/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The host side of `nopin exec` (docs/design.md, "The guest ABI"): what
 * the guest kernel asks the VMM through HC_EXEC_INFO, HC_HOSTFS,
 * HC_EXEC_FAULT and HC_EXEC_SYSCALLS, for a VM made with cfg.exec.
 * vmm_create() makes it, vmm/devices.c hands it those hypercalls,
 * vmm_print_stats() prints its system call counts.
 */
#ifndef NOPIN_VMM_EXEC_H
#define NOPIN_VMM_EXEC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "guest/abi.h"
#include "vmm/hostfs.h"

struct vmm;
struct vmm_vcpu;
struct vmm_regs;

struct vmm_exec {
	struct vmm_hostfs fs;
	uint64_t program_size;
	/* HC_EXEC_INFO's answer, built once: struct exec_info and its strings. */
	struct exec_info *info;
	size_t info_size;
	/* HC_EXEC_SYSCALLS's counts (EXEC_NR_SYSCALLS), or NULL before it. */
	struct exec_syscall_count *syscalls;
	/* HC_EXEC_FAULT's report, as printed (tests read it). */
	bool faulted;
	char fault_line[512];
};

/*
 * Can `nopin exec` run @path?  0 for a static x86-64 ELF64 executable
 * (ET_EXEC, or ET_DYN with no PT_INTERP: static-pie); else @why holds one
 * line naming the file and what is wrong with it, and the answer is
 * -ENOENT or -EACCES (it cannot be opened or read: errno's) or -ENOEXEC
 * (not an ELF, a script, 32-bit or another machine's, a dynamic
 * executable, not an executable).
 */
int vmm_exec_check_program(const char *path, char *why, size_t len);

/* For vmm_create() and vmm_destroy(): cfg.exec's state in vm->exec. */
int vmm_exec_create(struct vmm *vm, char *err, size_t errlen);
void vmm_exec_destroy(struct vmm *vm);

/* The exec hypercall @nr with @regs' arguments; rax's answer. */
long vmm_exec_hypercall(struct vmm_vcpu *vcpu, unsigned long nr, const struct vmm_regs *regs);

/*
 * --stats: the system calls the program made, each nonzero one by name
 * ("syscall_openat 12") and each the kernel answered -ENOSYS
 * ("syscall_enosys_clone 1"), as table lines or as JSON members each
 * starting ", ".
 */
void vmm_exec_print_stats(struct vmm *vm, FILE *f, bool json);

/* x86-64 system call @nr's name ("openat"), or NULL (vmm/syscall_names.c, generated). */
const char *exec_syscall_name(unsigned long nr);

#endif
