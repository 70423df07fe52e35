/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest's exception entry points, one per vector the ABI delivers
 * (abi.h: #DE, #UD, #GP, #PF), each registered by
 * guest_set_exception_handler() with HC_SET_EXCEPTION_HANDLER.  The VMM
 * enters one as a 64-bit interrupt gate does, on the vector's own stack,
 * below the frame SS, RSP, RFLAGS, CS, RIP and (for #GP and #PF) the error
 * code.
 *
 * An entry point pushes a 0 where the vector has no error code, so every
 * frame is alike, then its vector, and goes to exception_entry, which
 * saves every general register and CR2 (a #PF's address: read before
 * anything else could change it) into a struct exception_frame
 * (runtime/guest.h), calls guest_exception_dispatch() with it on a 16-byte
 * aligned stack and DF clear, as the C calling convention asks, puts the
 * registers back from it (a handler may change them, and rip) and returns
 * with iretq.
 */
	.text

exception_entry:
	push	%r15
	push	%r14
	push	%r13
	push	%r12
	push	%r11
	push	%r10
	push	%r9
	push	%r8
	push	%rbp
	push	%rdi
	push	%rsi
	push	%rdx
	push	%rcx
	push	%rbx
	push	%rax
	mov	%cr2, %rax
	push	%rax
	mov	%rsp, %rdi			/* the struct exception_frame */
	mov	%rsp, %rbx			/* kept across the call: callee-saved */
	and	$-16, %rsp
	cld
	call	guest_exception_dispatch
	mov	%rbx, %rsp
	add	$8, %rsp			/* CR2 */
	pop	%rax
	pop	%rbx
	pop	%rcx
	pop	%rdx
	pop	%rsi
	pop	%rdi
	pop	%rbp
	pop	%r8
	pop	%r9
	pop	%r10
	pop	%r11
	pop	%r12
	pop	%r13
	pop	%r14
	pop	%r15
	add	$16, %rsp			/* the vector and the error code */
	iretq

.macro ENTRY vector, error_code=0
exception_\vector:
	.if !\error_code
	push	$0
	.endif
	push	$\vector
	jmp	exception_entry
.endm

	ENTRY	0		/* #DE */
	ENTRY	6		/* #UD */
	ENTRY	13, 1		/* #GP */
	ENTRY	14, 1		/* #PF */

/* Each vector's entry point, 0 where the ABI delivers none. */
	.section .rodata
	.balign 8
	.globl	guest_exception_entries
guest_exception_entries:
	.quad	exception_0, 0, 0, 0, 0, 0, exception_6, 0		/* 0-7 */
	.quad	0, 0, 0, 0, 0, exception_13, exception_14, 0	/* 8-15 */
	.fill	16, 8, 0					/* 16-31 */

	.section .note.GNU-stack, "", @progbits
