/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ABI-only guest's entry, written from docs/design.md, "The guest
 * ABI", alone: each vCPU enters at e_entry in 64-bit mode at CPL 0 with
 * rdi = vCPU index, rsi = number of vCPUs, rdx = RAM size and rsp = the
 * top of its own stack; every other register is zero and interrupts are
 * off.  abi_main(cpu, ncpus, ram_size) gets them as they are and returns
 * the exit status, which goes to the exit port (ending the whole VM).
 */
#define PORT_EXIT 0x501

	.section .text.start, "ax"
	.globl _start
	.type _start, @function
_start:
	and	$-16, %rsp
	call	abi_main
	mov	$PORT_EXIT, %dx
	out	%eax, %dx
1:	hlt
	jmp	1b
	.size _start, . - _start

	.section .note.GNU-stack, "", @progbits
