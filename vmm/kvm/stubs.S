/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest side of the kvm backend: the code of the stub page, which
 * tables.c copies whole (devkvm_stub_start to devkvm_stub_end) to
 * DEVKVM_STUB_VA in the VMM's top 16 MiB.  It is assembled into the VMM's
 * .rodata and never runs there.  Every jump inside is relative and every
 * address it names comes from stubs.h's layout, so the copy runs as is.
 *
 * Each stub runs on one of its vCPU's IST stacks (the TSS of tables.c) and
 * finds its mailbox at the bottom of that stack's page, from rsp: IST1
 * for #PF and every other exception, with the fault mailbox; IST2 for the
 * flush stub, with the flush mailbox.  The mailboxes' layout
 * is stubs.h's, where the C structs are checked against these offsets.
 * A stub that returns to the guest leaves every register as it found it.
 */
#include "vmm/kvm/stubs.h"

	.section .rodata, "a"
	.globl devkvm_stub_start
devkvm_stub_start:

/*
 * #PF, through its IDT gate on IST1: a guest access with no SPTE that
 * allows it.  Exits on DEVKVM_PORT_PAGE_FAULT with CR2 in rax, which KVM
 * hands the VMM in kvm_run with the exit (KVM_CAP_SYNC_REGS), the guest's
 * rax pushed; the VMM reads the error code and the faulting rip from the
 * CPU's frame above (struct devkvm_pf_frame), serves the fault (fault.c)
 * and lets the guest go on here, where the iretq retries the access.  In
 * shadow mode the VMM may instead unwind the stub and send the guest
 * elsewhere: its own #PF handler, or past a write it emulated.
 *
 * As few instructions as the job takes: where /dev/kvm emulates guest
 * code (kvm_pvm) each costs a good part of an exit, and every secondary
 * fault runs them all; no ioctl either, which costs as much there.
 *
 * Two entry points.  pf_stub leaves CR2 holding the VMM's fault: the
 * vCPU's gate points here while the guest has no #PF handler, so no #PF
 * of its own can ever be in CR2 for it to read.  Once it registers one
 * (HC_SET_EXCEPTION_HANDLER; tables.c), the gate points at
 * pf_stub_keep_cr2, which puts back the CR2 the guest last saw before its
 * iretq (guest_cr2 in the fault mailbox, the VMM's), so the VMM's faults
 * never show there.  The CPU starts IST1 at its page-aligned top each
 * time, so below the frame and rax the mailbox is a fixed distance from
 * rsp.
 */
	.globl devkvm_pf_stub_keep_cr2
devkvm_pf_stub_keep_cr2:
	push %rax
	mov %cr2, %rax
	out %al, $DEVKVM_PORT_PAGE_FAULT
	mov DEVKVM_PF_MAILBOX_FROM_RSP + DEVKVM_FAULT_GUEST_CR2(%rsp), %rax
	mov %rax, %cr2
	pop %rax
	add $8, %rsp					/* the error code */
	iretq

pf_stub:
	push %rax
	mov %cr2, %rax
	out %al, $DEVKVM_PORT_PAGE_FAULT
	pop %rax
	add $8, %rsp					/* the error code */
	iretq

/*
 * The flush stub, on IST2.  No gate leads here: the VMM enters it through
 * the vCPU's registers, as an interrupt gate would, with a frame on IST2
 * that returns to the vCPU's trampoline (flush.c).  Reloads CR3, which
 * drops every translation (leaf SPTEs have no G bit), then copies req to
 * ack and counts the run in the flush mailbox: ack says the TLB is clean.
 */
	.globl devkvm_flush_stub
devkvm_flush_stub:
	push %rax
	push %rdx
	mov %cr3, %rax
	mov %rax, %cr3
	mov %rsp, %rdx
	and $-DEVKVM_PAGE_SIZE, %rdx			/* the flush mailbox */
	mov DEVKVM_FLUSH_REQ(%rdx), %rax
	mov %rax, DEVKVM_FLUSH_ACK(%rdx)
	incq DEVKVM_FLUSH_RUNS(%rdx)
	pop %rdx
	pop %rax
	iretq

/*
 * Any other exception, an NMI included, on IST1: no guest expects one, so
 * it stops the guest.  Exits on DEVKVM_PORT_EXCEPTION with the vector in
 * rax, the error code in rcx and the faulting rip in rdx (run.c), and
 * never returns.  The entry points below push the vector (and a 0 error
 * code where the CPU pushes none) so the frame is always the same.
 */
exc_common:
	mov (%rsp), %rax				/* the vector */
	mov 8(%rsp), %rcx				/* the error code */
	mov 16(%rsp), %rdx				/* rip */
	out %eax, $DEVKVM_PORT_EXCEPTION
1:	hlt
	jmp 1b

/* Vectors with an error code: 8, 10-14, 17. */
.macro exception vec, error_code=0
exc\vec:
	.if !\error_code
	push $0
	.endif
	push $\vec
	jmp exc_common
.endm

	exception 0
	exception 1
	exception 2
	exception 3
	exception 4
	exception 5
	exception 6
	exception 7
	exception 8, error_code=1
	exception 9
	exception 10, error_code=1
	exception 11, error_code=1
	exception 12, error_code=1
	exception 13, error_code=1
	exception 16
	exception 17, error_code=1
	exception 18
	exception 19

/*
 * The trampolines, one per vCPU, where the flush stub's iretq returns, at
 * CPL 0 on the top of IST2: write DEVKVM_PORT_FLUSH_ACK (al is only
 * read), then iretq through the frame the VMM left at the top of IST2 to
 * where the guest was, at CPL 0 or 3.  The acknowledgement comes after
 * the stub's iretq, so the guest is never left inside the stub; between
 * the two it is in its trampoline, whose frame the next flush keeps.
 * Each starts at its slot (.org fails if the code before outgrew it).
 */
	.set .Lvcpu, 0
	.rept DEVKVM_MAX_VCPUS
	.org devkvm_stub_start + DEVKVM_TRAMPOLINES_OFFSET + .Lvcpu * DEVKVM_TRAMPOLINE_SIZE, 0
	out %al, $DEVKVM_PORT_FLUSH_ACK
	iretq
	.set .Lvcpu, .Lvcpu + 1
	.endr
	.org devkvm_stub_start + DEVKVM_TRAMPOLINES_OFFSET + .Lvcpu * DEVKVM_TRAMPOLINE_SIZE, 0
	.globl devkvm_stub_end
devkvm_stub_end:

/*
 * Not copied: each exception vector's entry point as a guest address, for
 * the IDT tables.c builds; 0 where there is no gate (15, reserved).
 */
#define DEVKVM_VA_OF(sym) (DEVKVM_STUB_VA + ((sym) - devkvm_stub_start))
	.balign 8
	.globl devkvm_idt_entries
devkvm_idt_entries:
	.quad DEVKVM_VA_OF(exc0), DEVKVM_VA_OF(exc1), DEVKVM_VA_OF(exc2), DEVKVM_VA_OF(exc3)
	.quad DEVKVM_VA_OF(exc4), DEVKVM_VA_OF(exc5), DEVKVM_VA_OF(exc6), DEVKVM_VA_OF(exc7)
	.quad DEVKVM_VA_OF(exc8), DEVKVM_VA_OF(exc9), DEVKVM_VA_OF(exc10), DEVKVM_VA_OF(exc11)
	.quad DEVKVM_VA_OF(exc12), DEVKVM_VA_OF(exc13), DEVKVM_VA_OF(pf_stub), 0
	.quad DEVKVM_VA_OF(exc16), DEVKVM_VA_OF(exc17), DEVKVM_VA_OF(exc18), DEVKVM_VA_OF(exc19)
	.if . - devkvm_idt_entries - 8 * DEVKVM_NR_GATES
	.error "devkvm_idt_entries is not DEVKVM_NR_GATES long"
	.endif

	.section .note.GNU-stack, "", @progbits
