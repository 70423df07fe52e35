// SPDX-License-Identifier: GPL-2.0
/*
 * Exception handlers and the paging hypercalls, the guest's side.  Each
 * vector the ABI delivers has an entry point in exceptions.S, which hands
 * a struct exception_frame to guest_exception_dispatch(), which calls the
 * vector's C handler.  Each vCPU gives each vector a stack of its own, the
 * way the VMM wants it (an IST slot, reset at every delivery): 4 KiB of
 * the lowest 16 KiB of the vCPU's 64 KiB stack, which the vCPU finds from
 * its rsp, as the stacks are laid out down from the end of RAM.
 */
#include "guest.h"

#define EXCEPTION_STACK_SIZE 4096UL

/* exceptions.S: each vector's entry point, 0 where the ABI delivers none. */
extern const unsigned long guest_exception_entries[32];

static exception_handler_t handlers[32];

void guest_exception_dispatch(struct exception_frame *frame);

/* Which of the vCPU's four exception stacks a vector runs on, or -1. */
static int exception_stack_slot(unsigned int vector)
{
	switch (vector) {
	case DE_VECTOR:
		return 0;
	case UD_VECTOR:
		return 1;
	case GP_VECTOR:
		return 2;
	case PF_VECTOR:
		return 3;
	}
	return -1;
}

/* The lowest address of the calling vCPU's 64 KiB stack, wherever in it rsp is. */
static unsigned long this_stack_bottom(void)
{
	unsigned long sp, end = ram_end();

	__asm__ volatile("mov %%rsp, %0" : "=r"(sp));
	return end - ((end - sp) / GUEST_STACK_SIZE + 1) * GUEST_STACK_SIZE;
}

long __guest_set_exception_handler(unsigned int vector, exception_handler_t fn,
				   unsigned long stack_top)
{
	if (vector >= 32 || !guest_exception_entries[vector])
		return -GUEST_EINVAL;
	if (!fn)
		return hypercall3(HC_SET_EXCEPTION_HANDLER, vector, 0, 0);
	/* Before the VMM may deliver: another vCPU may have registered the vector already. */
	__atomic_store_n(&handlers[vector], fn, __ATOMIC_RELEASE);
	return hypercall3(HC_SET_EXCEPTION_HANDLER, vector, guest_exception_entries[vector],
			  stack_top);
}

long guest_set_exception_handler(unsigned int vector, exception_handler_t fn)
{
	int slot = exception_stack_slot(vector);

	if (slot < 0)
		return -GUEST_EINVAL;
	return __guest_set_exception_handler(
		vector, fn, this_stack_bottom() + (slot + 1) * EXCEPTION_STACK_SIZE);
}

void guest_exception_dispatch(struct exception_frame *frame)
{
	exception_handler_t fn = __atomic_load_n(&handlers[frame->vector], __ATOMIC_ACQUIRE);

	if (fn) {
		fn(frame);
		return;
	}
	/* Registered with the VMM but not here: a hypercall made without the runtime. */
	printf("exception %lu at rip %lx: no handler\n", frame->vector, frame->rip);
	guest_exit(128 + (int)frame->vector);
}

long guest_load_cr3(unsigned long cr3)
{
	return hypercall(HC_LOAD_CR3, cr3, 0);
}

long guest_invlpg(unsigned long va)
{
	return hypercall(HC_INVLPG, va, 0);
}

long guest_flush_tlb(void)
{
	return hypercall(HC_FLUSH_TLB, 0, 0);
}
