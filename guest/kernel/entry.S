/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ways into and out of ring 3 (after arch/x86/entry/entry_64.S).
 *
 * entry_SYSCALL_64 is LSTAR.  The CPU left the user's rip in rcx and its
 * rflags in r11 and masked rflags with FMASK; the entry saves the user's
 * rsp, switches to the kernel stack and builds a struct pt_regs there
 * (kernel.h: Linux's layout), calls do_syscall_64(regs) and returns with
 * sysretq, every register as the program left it but rax (the answer),
 * rcx and r11, as on Linux.  There is one CPU and one process, so the
 * kernel stack's top and the user's rsp live in plain variables: no
 * swapgs, and the user's GS base is never touched.
 */
/* abi.h's ring 3 selectors (that header is C only). */
#define GUEST_USER_SS 0x23
#define GUEST_USER_CS 0x2b

#define KERNEL_STACK_SIZE 0x10000

	.bss
	.balign 16
kernel_stack:
	.skip	KERNEL_STACK_SIZE
	.globl	kernel_stack_top
kernel_stack_top:

	.data
	.balign 8
user_rsp:
	.quad	0

	.text
	.globl	entry_SYSCALL_64
	.type	entry_SYSCALL_64, @function
entry_SYSCALL_64:
	mov	%rsp, user_rsp(%rip)
	lea	kernel_stack_top(%rip), %rsp
	pushq	$GUEST_USER_SS			/* ss */
	pushq	user_rsp(%rip)			/* rsp */
	push	%r11				/* rflags */
	pushq	$GUEST_USER_CS			/* cs */
	push	%rcx				/* rip */
	push	%rax				/* orig_rax */
	push	%rdi
	push	%rsi
	push	%rdx
	push	%rcx
	pushq	$-38				/* rax: -ENOSYS until the call answers */
	push	%r8
	push	%r9
	push	%r10
	push	%r11
	push	%rbx
	push	%rbp
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	mov	%rsp, %rdi
	sub	$8, %rsp			/* 21 words: align the call to 16 */
	call	do_syscall_64
	add	$8, %rsp
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbp
	pop	%rbx
	pop	%r11
	pop	%r10
	pop	%r9
	pop	%r8
	pop	%rax
	pop	%rcx
	pop	%rdx
	pop	%rsi
	pop	%rdi
	add	$8, %rsp			/* orig_rax */
	mov	(%rsp), %rcx			/* rip */
	mov	16(%rsp), %r11			/* rflags */
	mov	24(%rsp), %rsp			/* the user's rsp */
	sysretq
	.size	entry_SYSCALL_64, . - entry_SYSCALL_64

/*
 * enter_user(rip, rsp): the program's first instruction, as Linux's
 * start_thread() leaves it: every register zero but rsp (rdx = 0: no
 * rtld_fini for atexit), rflags with only the reserved bit, through
 * iretq's frame of ring 3's selectors.
 */
	.globl	enter_user
	.type	enter_user, @function
enter_user:
	pushq	$GUEST_USER_SS
	push	%rsi
	pushq	$0x2
	pushq	$GUEST_USER_CS
	push	%rdi
	xor	%eax, %eax
	xor	%ebx, %ebx
	xor	%ecx, %ecx
	xor	%edx, %edx
	xor	%esi, %esi
	xor	%edi, %edi
	xor	%ebp, %ebp
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	xor	%r10d, %r10d
	xor	%r11d, %r11d
	xor	%r12d, %r12d
	xor	%r13d, %r13d
	xor	%r14d, %r14d
	xor	%r15d, %r15d
	iretq
	.size	enter_user, . - enter_user

/*
 * call_on_kernel_stack(fn): leave the VMM's boot stack (at the top of RAM,
 * where user addresses may go) for the kernel's own, in the image, and
 * call fn there; fn does not return.
 */
	.globl	call_on_kernel_stack
	.type	call_on_kernel_stack, @function
call_on_kernel_stack:
	lea	kernel_stack_top(%rip), %rsp
	xor	%ebp, %ebp
	call	*%rdi
	ud2
	.size	call_on_kernel_stack, . - call_on_kernel_stack

	.section .note.GNU-stack, "", @progbits
