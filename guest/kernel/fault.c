// SPDX-License-Identifier: GPL-2.0
/*
 * Exceptions (after arch/x86/mm/fault.c and arch/x86/kernel/traps.c).
 *
 * A #PF from ring 3 is demand paging when the VMA allows the access
 * (handle_mm_fault()); any other #PF (SIGSEGV, or SIGBUS past the end of
 * a mapped file), #GP, #UD or #DE from ring 3 is a fatal signal, since this kernel delivers none to handlers: the VMM gets
 * a struct exec_fault (HC_EXEC_FAULT) and prints its one-line report, and
 * the program exits 128 + the signal, as a shell shows a program killed
 * by it.  An exception in ring 0 is the kernel's own bug: it says so on
 * the console and stops with KERNEL_BUG_STATUS.
 *
 * The runtime's entry stubs (runtime/exceptions.S) save the registers;
 * each vector gets a stack of its own in the image, as an IST slot.
 */
#include "kernel.h"

#define SIGILL 4
#define SIGBUS 7
#define SIGFPE 8
#define SIGKILL 9
#define SIGSEGV 11
#define EXCEPTION_STACK_SIZE 0x4000UL

static char exception_stacks[4][EXCEPTION_STACK_SIZE] __attribute__((aligned(16)));

void panic(const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printf("nopin kernel: %s\n", buf);
	guest_exit(KERNEL_BUG_STATUS);
}

static bool from_user(const struct exception_frame *f)
{
	return (f->cs & 3) == 3;
}

static __attribute__((noreturn)) void kernel_oops(const struct exception_frame *f)
{
	panic("exception %lu in the kernel at rip %lx, error code %lx, cr2 %lx", f->vector, f->rip,
	      f->error_code, f->cr2);
}

/* The program dies of @signo: the VMM reports it, the exit status says it. */
static __attribute__((noreturn)) void force_sig(unsigned long signo, unsigned long addr,
						const struct exception_frame *f)
{
	static struct exec_fault fault; /* in the image: its GPA is its address */

	fault = (struct exec_fault){ .signo = signo,
				     .addr = addr,
				     .rip = f->rip,
				     .cr3 = kernel_pml4,
				     .error_code = f->error_code };
	hypercall(HC_EXEC_FAULT, virt_to_phys(&fault), 0);
	do_exit(128 + (int)signo);
}

static void do_page_fault(struct exception_frame *f)
{
	int ret;

	if (!from_user(f))
		kernel_oops(f);
	ret = handle_mm_fault(f->cr2, f->error_code);
	if (ret == -ENOMEM) {
		/* The OOM killer's verdict: SIGKILL, no fault of the program's to report. */
		printf("nopin kernel: out of guest memory at %lx: the program is killed\n", f->cr2);
		do_exit(128 + SIGKILL);
	}
	if (ret)
		force_sig(ret == -EIO ? SIGBUS : SIGSEGV, f->cr2, f);
}

static void do_trap(struct exception_frame *f)
{
	unsigned long signo = f->vector == DE_VECTOR ? SIGFPE :
			      f->vector == UD_VECTOR ? SIGILL :
						       SIGSEGV;

	if (!from_user(f))
		kernel_oops(f);
	force_sig(signo, f->rip, f);
}

void fault_init(void)
{
	static const unsigned int vectors[] = { DE_VECTOR, UD_VECTOR, GP_VECTOR, PF_VECTOR };

	for (unsigned int i = 0; i < ARRAY_SIZE(vectors); i++) {
		unsigned long top = (unsigned long)exception_stacks[i] + EXCEPTION_STACK_SIZE;
		long ret = __guest_set_exception_handler(
			vectors[i], vectors[i] == PF_VECTOR ? do_page_fault : do_trap, top);

		if (ret)
			panic("HC_SET_EXCEPTION_HANDLER of vector %u: %ld", vectors[i], ret);
	}
}
