// SPDX-License-Identifier: GPL-2.0
/*
 * exceptions: every vCPU registers handlers for #DE, #UD and #GP, then
 * takes each ROUNDS times: a divide by zero, a ud2, a load from a
 * non-canonical address.  Each handler checks the frame it is given
 * against what the faulting code wrote down just before the instruction:
 * the vector and error code, the instruction's rip, the rsp and the flags
 * of the code it interrupted (IF and TF clear in the handler), CS and SS;
 * that it runs on a stack of its own; then it steps over the instruction
 * and returns.  The faulting code checks that its registers came back.
 * The first #GP's handler executes a ud2 itself, whose frame must point
 * into that handler, on its stack.  vCPU 0 waits for all, then prints the
 * counts.  The first check that fails ends the guest, naming what.
 *
 * unhandled_gp() is for a test that starts a vCPU there: it registers a
 * #GP handler, takes it back and faults, which must stop the guest with a
 * message naming the vector, the rip and the instruction.
 * noncanonical_load() and never_runs() are for tests of a handler that one
 * vCPU has and another has not, load_identity_cr3() for one of HC_LOAD_CR3.
 */
#include "guest.h"

#define ROUNDS 3
#define MAX_CPUS 16
#define NONCANONICAL 0x8000000000000000UL
#define CHECKED_FLAGS 0xfd5UL /* CF PF AF ZF SF TF IF DF OF */
#define CMP_FLAGS 0x95UL      /* CF PF AF SF: what `cmp $1` of a zero register leaves */

/* What the faulting code wrote down for its vCPU's handler. */
struct expect {
	unsigned long vector, rip, next, rsp, rflags;
	unsigned long nested_rip; /* the ud2 in #GP's handler */
	unsigned long count[32], nested;
};

static struct expect expect[MAX_CPUS];
static unsigned int finished;

static unsigned int cpu_of(unsigned long sp)
{
	return (ram_end() - sp) / GUEST_STACK_SIZE;
}

/* The first failure ends the guest: a bad frame returned from could loop. */
static void fail(struct expect *x, const char *what, unsigned long got, unsigned long want)
{
	printf("exceptions: vCPU %u: %s %lx, expected %lx: FAILED\n", (unsigned int)(x - expect),
	       what, got, want);
	guest_exit(1);
}

static void check(struct expect *x, const char *what, unsigned long got, unsigned long want)
{
	if (got != want)
		fail(x, what, got, want);
}

/*
 * @in_handler: the interrupted code is a handler, on its exception stack,
 * where SS may be null (the ABI lets a CPU load a null SS on that switch).
 */
static void check_frame(struct expect *x, struct exception_frame *f, unsigned long rip,
			unsigned long rsp, unsigned long rflags, bool in_handler)
{
	check(x, "rip", f->rip, rip);
	check(x, "rsp", f->rsp, rsp);
	/* RF is the CPU's business: a fault sets it on hardware, an emulator may not. */
	check(x, "rflags", f->rflags & CHECKED_FLAGS, rflags);
	check(x, "cs", f->cs, GUEST_CS);
	if (!in_handler || f->ss)
		check(x, "ss", f->ss, GUEST_SS);
	check(x, "error code", f->error_code, 0);
	/* On a stack of the vector's own, not the interrupted code's. */
	if ((unsigned long)f / PAGE_SIZE == (f->rsp - 1) / PAGE_SIZE)
		fail(x, "handler stack", (unsigned long)f, f->rsp);
}

static void on_exception(struct exception_frame *f)
{
	struct expect *x = &expect[cpu_of(f->rsp)];

	x->count[f->vector]++;
	if (f->vector == UD_VECTOR && f->rip == x->nested_rip) {
		/* From inside #GP's handler, whose own frame is on another stack. */
		check_frame(x, f, x->nested_rip, f->rsp, CMP_FLAGS, true);
		x->nested++;
		f->rip += 2;
		return;
	}
	check(x, "vector", f->vector, x->vector);
	check_frame(x, f, x->rip, x->rsp, x->rflags, false);
	f->rip = x->next;
	if (f->vector == GP_VECTOR && x->count[GP_VECTOR] == 1) {
		__asm__ volatile("lea 1f(%%rip), %%rax\n\t"
				 "mov %%rax, %0\n\t"
				 "xor %%eax, %%eax\n\t"
				 "cmp $1, %%eax\n\t"
				 "1: ud2"
				 : "=m"(x->nested_rip)
				 :
				 : "rax", "cc", "memory");
	}
}

/*
 * Fault with @insn (its operands set up by @setup), the rip, rsp and
 * flags written down first (CMP_FLAGS; IF and TF are clear in a guest),
 * and registers r8-r11 holding values the handler must give back.
 */
#define FAULT(x, vec, setup, insn)                                                                 \
	do {                                                                                       \
		register unsigned long r8 __asm__("r8") = 0x8888;                                  \
		register unsigned long r9 __asm__("r9") = 0x9999;                                  \
		register unsigned long r10 __asm__("r10") = 0xaaaa;                                \
		register unsigned long r11 __asm__("r11") = 0xbbbb;                                \
                                                                                                   \
		(x)->vector = (vec);                                                               \
		(x)->rflags = CMP_FLAGS;                                                           \
		__asm__ volatile(                                                                  \
			"lea 1f(%%rip), %%rax\n\t"                                                 \
			"mov %%rax, %[rip]\n\t"                                                    \
			"lea 2f(%%rip), %%rax\n\t"                                                 \
			"mov %%rax, %[next]\n\t"                                                   \
			"mov %%rsp, %[rsp]\n\t" setup "\n\t"                                       \
			"xor %%ecx, %%ecx\n\t"                                                     \
			"cmp $1, %%ecx\n\t"                                                        \
			"1: " insn "\n\t"                                                          \
			"2:"                                                                       \
			: [rip] "=m"((x)->rip), [next] "=m"((x)->next), [rsp] "=m"((x)->rsp),      \
			  "+r"(r8), "+r"(r9), "+r"(r10), "+r"(r11)                                 \
			:                                                                          \
			: "rax", "rcx", "rdx", "cc", "memory");                                    \
		check(x, "r8 after the handler", r8, 0x8888);                                      \
		check(x, "r9 after the handler", r9, 0x9999);                                      \
		check(x, "r10 after the handler", r10, 0xaaaa);                                    \
		check(x, "r11 after the handler", r11, 0xbbbb);                                    \
	} while (0)

static void register_handlers(struct expect *x)
{
	static const unsigned int vectors[] = { DE_VECTOR, UD_VECTOR, GP_VECTOR };

	for (unsigned int i = 0; i < 3; i++) {
		long ret = guest_set_exception_handler(vectors[i], on_exception);

		if (ret)
			fail(x, "registering a handler", ret, 0);
	}
}

int guest_main(unsigned int cpu, unsigned int ncpus, unsigned long ram_size)
{
	struct expect *x = &expect[cpu];
	unsigned long want[32] = {
		[DE_VECTOR] = ROUNDS, [UD_VECTOR] = ROUNDS + 1, [GP_VECTOR] = ROUNDS
	};

	if (ncpus > MAX_CPUS)
		return cpu == 0 ? 2 : 0;
	register_handlers(x);
	for (int i = 0; i < ROUNDS; i++) {
		FAULT(x, DE_VECTOR, "mov $7, %%eax; xor %%edx, %%edx", "div %%rcx");
		FAULT(x, UD_VECTOR, "", "ud2");
		FAULT(x, GP_VECTOR, "movabs $0x8000000000000000, %%rdx", "mov (%%rdx), %%rax");
	}
	__atomic_add_fetch(&finished, 1, __ATOMIC_ACQ_REL);
	if (cpu != 0)
		return 0;
	while (__atomic_load_n(&finished, __ATOMIC_ACQUIRE) != ncpus)
		cpu_relax();
	for (unsigned int c = 0; c < ncpus; c++) {
		for (unsigned int v = 0; v < 32; v++)
			check(&expect[c], "exceptions of a vector", expect[c].count[v], want[v]);
		check(&expect[c], "nested #UD", expect[c].nested, 1);
	}
	printf("exceptions: %u vCPUs, each #DE %lu #UD %lu (1 nested) #GP %lu, ok\n", ncpus,
	       want[DE_VECTOR], want[UD_VECTOR], want[GP_VECTOR]);
	return 0;
}

/* A handler that must not run: a test gives it to a vCPU, or takes it back. */
static void never_runs(struct exception_frame *f)
{
	printf("exceptions: a handler that must not run ran\n");
	guest_exit(1);
}

/* A #GP, for a vCPU that a test starts here. */
__attribute__((used, noinline, noreturn)) void noncanonical_load(void)
{
	__asm__ volatile("mov (%0), %%rax" : : "r"(NONCANONICAL) : "rax", "memory");
	guest_exit(4);
}

/* HC_LOAD_CR3 of the identity tables, for a test: the exit status is its -errno, or 0. */
__attribute__((used, noinline, noreturn)) void load_identity_cr3(void)
{
	guest_exit((int)-guest_load_cr3(GUEST_CR3_IDENTITY));
}

__attribute__((used, noinline, noreturn)) void unhandled_gp(void)
{
	static unsigned char stack[4096] __attribute__((aligned(16)));
	unsigned long top = (unsigned long)stack + sizeof(stack);

	if (__guest_set_exception_handler(GP_VECTOR, never_runs, top) ||
	    __guest_set_exception_handler(GP_VECTOR, NULL, 0))
		guest_exit(3);
	noncanonical_load();
}
