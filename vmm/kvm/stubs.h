/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the guest stubs (stubs.S) and the backend's C agree on: where the
 * VMM's pages sit in the top 16 MiB of the guest's address space (root
 * entry 511, beside the guest's RAM under entries 0-255), the selectors,
 * the private ports, and the mailboxes the stubs write.  stubs.S includes
 * this header too (__ASSEMBLER__): the layout is macros, and the C structs
 * below are checked against the offsets the stubs use.  What the guest
 * itself may rely on is docs/design.md's Guest ABI.
 *
 *	DEVKVM_GDT_VA	  null, code, data, ring 3's 32-bit code, data and 64-bit
 *			  code (SYSRET's order), then a 16-byte TSS descriptor
 *			  per vCPU
 *	DEVKVM_IDT_VA	  two pages: an IDT of the 32 exception vectors per vCPU,
 *			  DEVKVM_IDT_STRIDE apart; a present gate goes to a stub
 *			  on IST1, or to the guest's handler on the vector's IST
 *	DEVKVM_TSS_VA	  a TSS per vCPU, DEVKVM_TSS_STRIDE apart: IST1 and IST2
 *			  the stubs', IST3-5 the guest's #DE, #UD and #GP handlers'
 *	DEVKVM_STUB_VA	  the stubs; the trampolines from DEVKVM_TRAMPOLINES_OFFSET
 *	DEVKVM_STACKS_VA  two pages per vCPU: IST1, the fault mailbox at its
 *			  bottom; IST2, the flush mailbox at its bottom
 */
#ifndef NOPIN_VMM_KVM_STUBS_H
#define NOPIN_VMM_KVM_STUBS_H

#include <linux/const.h>

#define DEVKVM_TOP_VA _AC(0xffffffffff000000, UL)
#define DEVKVM_GDT_VA (DEVKVM_TOP_VA + 0x0000)
#define DEVKVM_IDT_VA (DEVKVM_TOP_VA + 0x1000)
#define DEVKVM_TSS_VA (DEVKVM_TOP_VA + 0x3000)
#define DEVKVM_STUB_VA (DEVKVM_TOP_VA + 0x4000)
#define DEVKVM_STACKS_VA (DEVKVM_TOP_VA + 0x5000)
#define DEVKVM_PAGE_SIZE 0x1000 /* a stack is one: a stub finds its mailbox by rounding rsp down */
#define DEVKVM_MAX_VCPUS 16
#define DEVKVM_TOP_PAGES (5 + 2 * DEVKVM_MAX_VCPUS)
/*
 * The pages below the stacks (GDT, IDT, TSS, stubs) are mapped read-only
 * and CR0.WP is set, so the guest cannot write them even at CPL 0; the
 * CPU only reads them.  The stacks stay writable: the CPU pushes the
 * exception frames there (tables.c says what that leaves the guest).
 */
#define DEVKVM_TOP_READ_ONLY_PAGES ((DEVKVM_STACKS_VA - DEVKVM_TOP_VA) / DEVKVM_PAGE_SIZE)
#define DEVKVM_TSS_SIZE 0x68
#define DEVKVM_TSS_STRIDE 0x80

/* vCPU @i's IDT: the exception vectors only (no interrupt reaches a guest). */
#define DEVKVM_IDT_VECTORS 32
#define DEVKVM_IDT_STRIDE (16 * DEVKVM_IDT_VECTORS)
#define DEVKVM_IDT_VA_OF(i) (DEVKVM_IDT_VA + DEVKVM_IDT_STRIDE * (i))

/* The TSS's IST slots: the stubs' two stacks, then the guest's handlers' (tables.c). */
#define DEVKVM_IST_FAULT 1
#define DEVKVM_IST_FLUSH 2
#define DEVKVM_IST_GUEST_DE 3
#define DEVKVM_IST_GUEST_UD 4
#define DEVKVM_IST_GUEST_GP 5

/* vCPU @i's stacks, each mailbox at the bottom of its own. */
#define DEVKVM_FAULT_MAILBOX_VA(i) (DEVKVM_STACKS_VA + (2 * (i)) * DEVKVM_PAGE_SIZE)
#define DEVKVM_FLUSH_MAILBOX_VA(i) (DEVKVM_STACKS_VA + (2 * (i) + 1) * DEVKVM_PAGE_SIZE)
#define DEVKVM_IST1_TOP(i) (DEVKVM_FAULT_MAILBOX_VA(i) + DEVKVM_PAGE_SIZE)
#define DEVKVM_IST2_TOP(i) (DEVKVM_FLUSH_MAILBOX_VA(i) + DEVKVM_PAGE_SIZE)

/* vCPU @i's trampoline, in the stub page. */
#define DEVKVM_TRAMPOLINES_OFFSET 0x800
#define DEVKVM_TRAMPOLINE_SIZE 16
#define DEVKVM_TRAMPOLINE_VA(i)                                                                    \
	(DEVKVM_STUB_VA + DEVKVM_TRAMPOLINES_OFFSET + DEVKVM_TRAMPOLINE_SIZE * (i))

/* The vectors devkvm_idt_entries[] covers: the exceptions, 0-19. */
#define DEVKVM_NR_GATES 20

#define DEVKVM_PORT_PAGE_FAULT 0xf0 /* the #PF stub: CR2 in rax, the CPU's frame on IST1 */
#define DEVKVM_PORT_EXCEPTION 0xf1  /* any other exception: rax = vector, rcx = error, rdx = rip */
#define DEVKVM_PORT_FLUSH_ACK 0xf2  /* the trampoline: the flush mailbox says which */

#define DEVKVM_SEL_CODE 0x08
#define DEVKVM_SEL_DATA 0x10
#define DEVKVM_SEL_USER32_CODE 0x1b
#define DEVKVM_SEL_USER_DATA 0x23
#define DEVKVM_SEL_USER_CODE 0x2b
#define DEVKVM_SEL_TSS(i) (0x30 + 16 * (i))

/* The fault mailbox: guest_cr2, the VMM's, read by the #PF stub. */
#define DEVKVM_FAULT_GUEST_CR2 0

/*
 * The #PF stub's stack once it pushed rax: struct devkvm_pf_frame, at the
 * top of IST1, where the CPU starts the stack every time; the fault
 * mailbox at the bottom of the page is this far from rsp.
 */
#define DEVKVM_PF_FRAME_SIZE 56
#define DEVKVM_PF_MAILBOX_FROM_RSP (DEVKVM_PF_FRAME_SIZE - DEVKVM_PAGE_SIZE)

/* The flush mailbox: req the VMM's, ack and runs the flush stub's. */
#define DEVKVM_FLUSH_REQ 0
#define DEVKVM_FLUSH_ACK 8
#define DEVKVM_FLUSH_RUNS 16

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"

struct devkvm_fault_mailbox {
	/*
	 * The VMM's: CR2 as the guest last saw it, the address of the last
	 * #PF delivered to its handler, which the stub puts back before its
	 * iretq, so the VMM's own faults never show in the guest's CR2.
	 */
	uint64_t guest_cr2;
};

/*
 * The #PF stub's IST1 stack at its exit, from its rsp up to the top of
 * the page: what the stub pushed (rax), then the CPU's frame, with the
 * error code and the rip of the faulting instruction.
 */
struct devkvm_pf_frame {
	uint64_t rax;
	uint64_t error_code, rip, cs, rflags, rsp, ss;
};

/* Read it with atomic loads: the guest writes ack and runs while the VMM looks. */
struct devkvm_flush_mailbox {
	uint64_t req;  /* the VMM's: the flush it asks for before it enters the stub */
	uint64_t ack;  /* the stub's: req, copied once CR3 is reloaded */
	uint64_t runs; /* the stub's: how many times it ran */
};

BUILD_BUG_ON(offsetof(struct devkvm_fault_mailbox, guest_cr2) != DEVKVM_FAULT_GUEST_CR2);
BUILD_BUG_ON(sizeof(struct devkvm_pf_frame) != DEVKVM_PF_FRAME_SIZE);
BUILD_BUG_ON(offsetof(struct devkvm_flush_mailbox, req) != DEVKVM_FLUSH_REQ);
BUILD_BUG_ON(offsetof(struct devkvm_flush_mailbox, ack) != DEVKVM_FLUSH_ACK);
BUILD_BUG_ON(offsetof(struct devkvm_flush_mailbox, runs) != DEVKVM_FLUSH_RUNS);
BUILD_BUG_ON(DEVKVM_TRAMPOLINES_OFFSET + DEVKVM_MAX_VCPUS * DEVKVM_TRAMPOLINE_SIZE >
	     DEVKVM_PAGE_SIZE);
BUILD_BUG_ON(DEVKVM_IDT_VA_OF(DEVKVM_MAX_VCPUS) > DEVKVM_TSS_VA);
BUILD_BUG_ON(DEVKVM_MAX_VCPUS *DEVKVM_TSS_STRIDE > DEVKVM_PAGE_SIZE);

/* stubs.S: the stub page's contents, copied whole to DEVKVM_STUB_VA. */
extern const char devkvm_stub_start[], devkvm_stub_end[];
extern const char devkvm_flush_stub[], devkvm_pf_stub_keep_cr2[];
/* The guest address of each exception vector's entry point; 0: no gate. */
extern const uint64_t devkvm_idt_entries[DEVKVM_NR_GATES];

/* Where stubs.S's @sym runs, in the guest. */
static inline uint64_t devkvm_stub_va(const char *sym)
{
	return DEVKVM_STUB_VA + (sym - devkvm_stub_start);
}
#endif

#endif
