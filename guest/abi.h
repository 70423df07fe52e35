/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest ABI's ports and hypercalls, shared by guest images and the VMM
 * (docs/design.md, "The guest ABI"; guest/README.md documents each one).
 * Plain C with no includes, so both a freestanding guest and the host can
 * use it.
 */
#ifndef NOPIN_GUEST_ABI_H
#define NOPIN_GUEST_ABI_H

#define GUEST_RAM_BASE 0x100000UL
#define GUEST_STACK_SIZE 0x10000UL /* per vCPU, carved from the top of RAM */

/* One byte per `out %al, %dx`; the VMM buffers it per vCPU up to a newline. */
#define PORT_CONSOLE 0xe9
/* `out %eax, %dx`: the 32-bit exit status; ends the whole VM. */
#define PORT_EXIT 0x501
/*
 * `out %eax, %dx` with eax = a HC_* number and the arguments in rdi, rsi
 * and rcx (dx holds the port): the VMM reads the registers at the port
 * exit and writes its answer to rax, 0 or a negative errno (GUEST_E*)
 * unless the call says otherwise.
 */
#define PORT_HYPERCALL 0x510

/* The errnos hypercalls answer with, negated: Linux's numbers. */
#define GUEST_EFAULT 14
#define GUEST_EINVAL 22
#define GUEST_ENOSYS 38
#define GUEST_EOPNOTSUPP 95

/*
 * The VMM's top 16 MiB of the address space: its own pages on the kvm
 * backend (docs/design.md, "The guest ABI").  No handler or stack there,
 * and never the guest's, whatever its own tables map.
 */
#define GUEST_VMM_TOP 0xffffffffff000000UL

/* HC_LOAD_CR3's rdi for the VMM's identity tables (guest-virtual = guest-physical). */
#define GUEST_CR3_IDENTITY (~0UL)

/*
 * The exceptions HC_SET_EXCEPTION_HANDLER takes, by vector (KVM's names).
 * #DE, #UD and #GP have no error code but #GP's; #PF's is the
 * architecture's, with CR2 its address.
 */
#define DE_VECTOR 0
#define UD_VECTOR 6
#define GP_VECTOR 13
#define PF_VECTOR 14

/*
 * CS and SS in an exception frame, and what iretq returns to: the VMM's
 * GDT.  SS may also be null in a frame of code that was itself a handler.
 */
#define GUEST_CS 0x08
#define GUEST_SS 0x10

/*
 * Ring 3's selectors in the VMM's GDT, in the order SYSRET wants them
 * after the 32-bit user code segment STAR[63:48] names: a guest that uses
 * syscall and sysret writes GUEST_STAR to MSR_STAR.  A frame of code
 * interrupted at CPL 3 holds GUEST_USER_CS and GUEST_USER_SS.
 */
#define GUEST_USER32_CS 0x1b
#define GUEST_USER_SS 0x23
#define GUEST_USER_CS 0x2b
#define GUEST_STAR ((unsigned long)(GUEST_USER32_CS & ~3) << 48 | (unsigned long)GUEST_CS << 32)

/* The MSRs of the guest ABI (docs/design.md, "The guest ABI"). */
#define MSR_EFER 0xc0000080
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_FMASK 0xc0000084
#define MSR_FS_BASE 0xc0000100
#define MSR_GS_BASE 0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102
#define EFER_SCE (1UL << 0)

enum guest_hypercall {
	/* rdi = GPA of a struct ucall: GUEST_SYNC/ASSERT/DONE of the test harness. */
	HC_UCALL = 1,
	/* rax = the host's monotonic clock in nanoseconds. */
	HC_CLOCK_NS = 2,
	/*
	 * [rdi, rdi + rsi) is free in the guest: the host may discard it (its
	 * contents become zero or stay), until HC_PAGE_REUSE takes it back.
	 * Page-aligned; rax = 0 or a negative errno.
	 */
	HC_PAGE_REPORT_FREE = 3,
	/* [rdi, rdi + rsi) is in use again: the host stops discarding it. */
	HC_PAGE_REUSE = 4,
	/*
	 * Run on the page tables whose PML4 is at GPA rdi, or, for
	 * GUEST_CR3_IDENTITY, on the VMM's identity tables; this vCPU's TLB
	 * is flushed.  -GUEST_EOPNOTSUPP in flat mode (`--mmu flat`);
	 * -GUEST_EINVAL for a GPA that is not a page of RAM.
	 */
	HC_LOAD_CR3 = 5,
	/* Drop what this vCPU's TLB holds for the virtual address rdi. */
	HC_INVLPG = 6,
	/* Drop everything this vCPU's TLB holds. */
	HC_FLUSH_TLB = 7,
	/*
	 * This vCPU delivers exception rdi (a *_VECTOR above) to the handler
	 * at rsi, on the stack whose top is rcx, as a 64-bit interrupt gate
	 * with an IST slot does; rsi = 0 takes it back (the exception stops
	 * the guest again).  -GUEST_EINVAL for another vector, or a handler
	 * or stack that is not canonical or is in the VMM's top 16 MiB.
	 */
	HC_SET_EXCEPTION_HANDLER = 8,
};

enum ucall_cmd {
	UCALL_SYNC = 1,	  /* args[0..]: values for the host to check; the guest resumes */
	UCALL_ASSERT = 2, /* a failed GUEST_ASSERT: file, line, expression */
	UCALL_DONE = 3,
};

#define UCALL_MAX_ARGS 6

/* Lives in guest RAM; the host reads it through the guest's mm. */
struct ucall {
	unsigned long cmd;
	unsigned long args[UCALL_MAX_ARGS];
	unsigned long line;
	char file[64];
	char expr[128];
};

#endif
