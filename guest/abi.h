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
 * `out %eax, %dx` with eax = a HC_* number and the arguments in rdi, rsi:
 * the VMM reads the registers at the port exit and writes its answer to rax.
 */
#define PORT_HYPERCALL 0x510

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
