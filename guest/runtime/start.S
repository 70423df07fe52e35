/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every vCPU enters here with rdi = vCPU index, rsi = number of vCPUs,
 * rdx = RAM size and rsp = the top of its stack (docs/design.md, "The
 * guest ABI").
 * guest_main(cpu, ncpus, ram_size) returns the exit status.
 */
	.section .text.start, "ax"
	.globl _start
	.type _start, @function
_start:
	xor	%ebp, %ebp
	and	$-16, %rsp
	call	guest_start
1:	hlt
	jmp	1b
	.size _start, . - _start

	.section .note.GNU-stack, "", @progbits
