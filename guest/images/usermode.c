// SPDX-License-Identifier: GPL-2.0
/*
 * usermode: a guest kernel with a user program, the system state of the
 * guest ABI on whichever backend runs it.  vCPU 0:
 *
 *  - registers its #DE, #UD, #GP and #PF handlers and reads CPUID for
 *    SYSCALL and FSGSBASE;
 *  - sets EFER.SCE, STAR, LSTAR, FMASK, FS_BASE and GS_BASE (its per-CPU
 *    block, which swapgs trades with the user's) with wrmsr, and finds an
 *    MSR that is not there and a reserved EFER bit to be #GP;
 *  - enters ring 3 with iretq on the VMM's identity map, where every page
 *    is a user page, and takes syscalls back;
 *  - writes and reads back all of its free RAM, more than the pool a
 *    pressure run gives it, so the host must take pages while it runs;
 *  - builds tables of its own: RAM identity-mapped for the kernel, and
 *    the pages of the user program (its code in section usertext, its
 *    data and stack in userdata, a buffer) with U set;
 *  - enters ring 3 with sysret: the user program reads and writes TLS
 *    through FS (the base the kernel wrote, then one of its own with
 *    wrfsbase), keeps a GS base of its own across syscalls (the kernel's
 *    entry swapgs to its per-CPU block), sees DF survive a syscall that
 *    the kernel ran with DF clear (FMASK), and touches what ring 3 may
 *    not: a supervisor page (read, write, fetch: #PF with U), hlt and
 *    rdmsr and swapgs (#GP), ud2 (#UD), a divide by zero (#DE); each handler
 *    records the frame and resumes the program where the probe said;
 *  - enters ring 3 again with iretq and takes syscalls back;
 *
 * and prints what it saw, the same text on every backend.  The first
 * check that fails says what broke and exits 1.
 */
#include "guest.h"

#define EFER_FIXED 0xd00UL /* LME, LMA, NXE */
#define FMASK (X86_TF | X86_DF | X86_IF | X86_NT | X86_AC)
#define X86_TF (1UL << 8)
#define X86_IF (1UL << 9)
#define X86_DF (1UL << 10)
#define X86_NT (1UL << 14)
#define X86_AC (1UL << 18)
#define NO_SUCH_MSR 0x12345678
#define EFER_RESERVED_BIT (1UL << 1)
#define ARITH_FLAGS 0x8d5UL /* CF PF AF ZF SF OF: whatever the user's last compare left */

enum { SYS_EXIT, SYS_REPORT, SYS_DF };
enum { R_FS_MSR, R_FS_INSN, R_GS, R_DF, R_ITER, R_WORK, NR_REPORTS };

/* A user buffer at an address of its own: ring 3 rewrites and checks it, round after round. */
#define USER_BUF_VA 0x0000100000000000UL
#define USER_BUF_PAGES 256
#define WORK_ROUNDS 16
#define WORDS_PER_PAGE 8

/* ---- the user program: its code, data and stack, on pages with U ---- */

#define USER_TEXT __attribute__((section("usertext"), noinline, used))
#define USER_DATA __attribute__((section("userdata"), aligned(64)))

/* Section starts page-aligned, so no kernel byte shares their first page. */
__asm__(".section usertext, \"ax\", @progbits\n\t.balign 4096\n\t.previous\n"
	".section userdata, \"aw\", @progbits\n\t.balign 4096\n\t.previous\n");
extern const char __start_usertext[], __stop_usertext[];
extern char __start_userdata[], __stop_userdata[];

static unsigned long user_stack[1024] USER_DATA;
static unsigned long tls_a[4] USER_DATA;
static unsigned long tls_b[4] USER_DATA;
static unsigned long user_gs[4] USER_DATA;
static unsigned char df_probe[4] USER_DATA;
/* Written by the kernel before it enters ring 3: what the probes touch. */
static unsigned long kernel_data_va USER_DATA, kernel_text_va USER_DATA;

static inline __attribute__((always_inline)) long usys(long nr, long a0, long a1, long a2)
{
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a0), "S"(a1), "d"(a2)
			 : "rcx", "r11", "memory");
	return ret;
}

/* fs_load(), fs_store(), gs_load(), gs_store(): a word at @off from the segment's base. */
#define SEGMENT_ACCESSORS(seg)                                                                     \
	static inline __attribute__((always_inline)) unsigned long seg##_load(unsigned long off)   \
	{                                                                                          \
		unsigned long v;                                                                   \
                                                                                                   \
		__asm__ volatile("mov %%" #seg ":(%1), %0" : "=r"(v) : "r"(off) : "memory");       \
		return v;                                                                          \
	}                                                                                          \
	static inline __attribute__((always_inline)) void seg##_store(unsigned long off,           \
								      unsigned long v)             \
	{                                                                                          \
		__asm__ volatile("mov %1, %%" #seg ":(%0)" : : "r"(off), "r"(v) : "memory");       \
	}
SEGMENT_ACCESSORS(fs)
SEGMENT_ACCESSORS(gs)

/*
 * The probes: r10 holds where to resume, the handler sends the program
 * there (the instruction that faulted did nothing).
 */
#define PROBE(insn, ...) __asm__ volatile("lea 1f(%%rip), %%r10\n\t" insn "\n1:" __VA_ARGS__)

/* std, a syscall, and a lodsb to see which way DF points after sysret; cld. */
static inline __attribute__((always_inline)) unsigned long df_across_syscall(void)
{
	unsigned long rsi = (unsigned long)&df_probe[1], nr = SYS_DF;

	__asm__ volatile("std\n\tsyscall\n\tlodsb\n\tcld"
			 : "+a"(nr), "+S"(rsi)
			 :
			 : "rcx", "r11", "rdi", "rdx", "memory");
	return rsi == (unsigned long)&df_probe[0];
}

USER_TEXT void user_probes(void)
{
	unsigned long v = 0, zero = 0;

	PROBE("mov (%1), %0", : "+a"(v) : "r"(kernel_data_va) : "r10", "memory");
	PROBE("movq $1, (%0)", : : "r"(kernel_data_va) : "r10", "memory");
	PROBE("jmp *%0", : : "r"(kernel_text_va) : "r10", "memory");
	PROBE("hlt", : : : "r10", "memory");
	PROBE("rdmsr", : : "c"(MSR_EFER) : "rax", "rdx", "r10", "memory");
	PROBE("swapgs", : : : "r10", "memory");
	PROBE("ud2", : : : "r10", "memory");
	PROBE("div %1", : "+a"(v) : "r"(zero) : "rdx", "r10", "memory");
}

/*
 * Rounds over the user buffer: write a word pattern of the round into
 * every page, check them all.  The number of words found wrong goes to
 * the kernel.  Under pressure the host reclaims and migrates the pages
 * while the vCPU is at CPL 3.
 */
USER_TEXT void user_work(void)
{
	unsigned long round, page, w, bad = 0;

	for (round = 0; round < WORK_ROUNDS; round++) {
		for (page = 0; page < USER_BUF_PAGES; page++)
			for (w = 0; w < WORDS_PER_PAGE; w++)
				*(volatile unsigned long *)(USER_BUF_VA + page * PAGE_SIZE +
							    w * 512) = round << 32 | page << 8 | w;
		for (page = 0; page < USER_BUF_PAGES; page++)
			for (w = 0; w < WORDS_PER_PAGE; w++)
				bad += *(volatile unsigned long *)(USER_BUF_VA + page * PAGE_SIZE +
								   w * 512) !=
				       (round << 32 | page << 8 | w);
	}
	usys(SYS_REPORT, R_WORK, WORK_ROUNDS, bad);
}

/* Entered at CPL 3 by sysret, with FS_BASE at tls_a; leaves with SYS_EXIT. */
USER_TEXT void user_sysret_main(void)
{
	unsigned long v;

	v = fs_load(0);
	fs_store(8, v + 1);
	usys(SYS_REPORT, R_FS_MSR, v, tls_a[1]);

	__asm__ volatile("wrfsbase %0" : : "r"((unsigned long)tls_b) : "memory");
	fs_store(16, 0x7b7b);
	__asm__ volatile("rdfsbase %0" : "=r"(v));
	usys(SYS_REPORT, R_FS_INSN, v == (unsigned long)tls_b, tls_b[2]);

	__asm__ volatile("wrgsbase %0" : : "r"((unsigned long)user_gs) : "memory");
	gs_store(8, 0x6565);
	usys(SYS_REPORT, R_GS, 0, 0);
	__asm__ volatile("rdgsbase %0" : "=r"(v));
	usys(SYS_REPORT, R_GS, gs_load(8), v == (unsigned long)user_gs);

	usys(SYS_REPORT, R_DF, df_across_syscall(), 0);
	user_work();
	user_probes();
	usys(SYS_EXIT, 0x55, 0, 0);
}

/* Entered at CPL 3 by iretq: a few syscalls, the last an exit. */
USER_TEXT void user_iretq_main(void)
{
	unsigned long i;

	for (i = 0; i < 3; i++)
		usys(SYS_REPORT, R_ITER, i, fs_load(0));
	usys(SYS_EXIT, 7, 0, 0);
}

/* ---- the kernel ---- */

struct percpu {
	unsigned long kernel_stack; /* the syscall entry's stack top */
	unsigned long user_rsp;	    /* the user's rsp while in a syscall */
};

static unsigned long kernel_stack[1024] __attribute__((aligned(16)));
static struct percpu percpu;
unsigned long kernel_saved_rsp; /* the kernel's rsp in enter_user_*() */
/* A supervisor page of its own, which the user program probes. */
static unsigned long kernel_page[512] __attribute__((aligned(4096)));

struct report {
	unsigned long a, b, rcx, r11, kernel_gs, user_gs;
	unsigned int count;
};
static struct report reports[NR_REPORTS];
static unsigned long df_r11; /* RFLAGS of the SYS_DF syscall */

struct fault {
	unsigned long vector, error_code, cr2, rip, cs, ss;
};
static struct fault faults[16];
static unsigned int nr_faults;

/*
 * syscall_entry (LSTAR): swapgs to the per-CPU block, the kernel stack,
 * syscall_dispatch(a0, a1, a2, nr, user rip, user rflags) with every
 * register the user gave kept, then back with swapgs and sysretq.
 * enter_user_sysret() and enter_user_iretq() (rip, rsp, rflags) keep the
 * kernel's callee-saved registers and rsp, for leave_user() (the exit
 * syscall) to return from them.
 */
__asm__(".text\n"
	"syscall_entry:\n"
	"	swapgs\n"
	"	mov %rsp, %gs:8\n"
	"	mov %gs:0, %rsp\n"
	"	push %rcx\n"
	"	push %r11\n"
	"	push %rdi\n"
	"	push %rsi\n"
	"	push %rdx\n"
	"	push %r8\n"
	"	push %r9\n"
	"	push %r10\n"
	"	mov %rax, %rcx\n"
	"	mov 56(%rsp), %r8\n"
	"	mov 48(%rsp), %r9\n"
	"	call syscall_dispatch\n"
	"	pop %r10\n"
	"	pop %r9\n"
	"	pop %r8\n"
	"	pop %rdx\n"
	"	pop %rsi\n"
	"	pop %rdi\n"
	"	pop %r11\n"
	"	pop %rcx\n"
	"	mov %gs:8, %rsp\n"
	"	swapgs\n"
	"	sysretq\n"
	"enter_user_sysret:\n"
	"	push %rbx\n"
	"	push %rbp\n"
	"	push %r12\n"
	"	push %r13\n"
	"	push %r14\n"
	"	push %r15\n"
	"	mov %rsp, kernel_saved_rsp(%rip)\n"
	"	mov %rdi, %rcx\n"
	"	mov %rdx, %r11\n"
	"	mov %rsi, %rsp\n"
	"	swapgs\n"
	"	sysretq\n"
	"enter_user_iretq:\n"
	"	push %rbx\n"
	"	push %rbp\n"
	"	push %r12\n"
	"	push %r13\n"
	"	push %r14\n"
	"	push %r15\n"
	"	mov %rsp, kernel_saved_rsp(%rip)\n"
	"	pushq $0x23\n" /* GUEST_USER_SS */
	"	push %rsi\n"
	"	push %rdx\n"
	"	pushq $0x2b\n" /* GUEST_USER_CS */
	"	push %rdi\n"
	"	swapgs\n"
	"	iretq\n"
	"leave_user:\n"
	"	mov kernel_saved_rsp(%rip), %rsp\n"
	"	mov %rdi, %rax\n"
	"	pop %r15\n"
	"	pop %r14\n"
	"	pop %r13\n"
	"	pop %r12\n"
	"	pop %rbp\n"
	"	pop %rbx\n"
	"	ret\n");
extern const char syscall_entry[];
long enter_user_sysret(unsigned long rip, unsigned long rsp, unsigned long rflags);
long enter_user_iretq(unsigned long rip, unsigned long rsp, unsigned long rflags);
__attribute__((noreturn)) void leave_user(long status);
long syscall_dispatch(long a0, long a1, long a2, long nr, unsigned long rcx, unsigned long r11);

static void fail(const char *what, unsigned long got, unsigned long want)
{
	guest_check_failed("usermode", 0, what, got, want);
}

static void expect(const char *what, unsigned long got, unsigned long want)
{
	if (got != want)
		fail(what, got, want);
}

static unsigned long rdmsr(unsigned int msr)
{
	unsigned int lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (unsigned long)hi << 32 | lo;
}

static void wrmsr(unsigned int msr, unsigned long v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((unsigned int)v), "d"(v >> 32) : "memory");
}

static unsigned long in_user_text(unsigned long rip)
{
	return rip >= (unsigned long)__start_usertext && rip < (unsigned long)__stop_usertext;
}

long syscall_dispatch(long a0, long a1, long a2, long nr, unsigned long rcx, unsigned long r11)
{
	struct report *r;

	switch (nr) {
	case SYS_EXIT:
		leave_user(a0);
	case SYS_REPORT:
		if (a0 < 0 || a0 >= NR_REPORTS)
			return -GUEST_EINVAL;
		r = &reports[a0];
		r->a = a1;
		r->b = a2;
		r->rcx = rcx;
		r->r11 = r11;
		r->count++;
		/* In the kernel: GS is the per-CPU block, KERNEL_GS_BASE the user's. */
		r->kernel_gs = rdmsr(MSR_GS_BASE);
		r->user_gs = rdmsr(MSR_KERNEL_GS_BASE);
		return 0;
	case SYS_DF:
		df_r11 = r11;
		return SYS_DF;
	}
	return -GUEST_ENOSYS;
}

/* Every fault is a probe's: record its frame and resume where r10 says. */
static void probe_handler(struct exception_frame *f)
{
	if (nr_faults == 16)
		fail("faults", nr_faults, 16);
	faults[nr_faults++] = (struct fault){ .vector = f->vector,
					      .error_code = f->error_code,
					      .cr2 = f->vector == PF_VECTOR ? f->cr2 : 0,
					      .rip = f->rip,
					      .cs = f->cs,
					      .ss = f->ss };
	f->rip = f->r10;
}

/* The kernel's own probes: rdmsr and wrmsr that must #GP. */
static unsigned long kernel_msr_probe(bool write, unsigned int msr, unsigned long v)
{
	unsigned int before = nr_faults;

	if (write)
		PROBE("wrmsr", : : "c"(msr), "a"((unsigned int)v), "d"(v >> 32) : "r10", "memory");
	else
		PROBE("rdmsr", : : "c"(msr) : "rax", "rdx", "r10", "memory");
	if (nr_faults != before + 1)
		fail(write ? "wrmsr faults" : "rdmsr faults", nr_faults - before, 1);
	return faults[before].vector == GP_VECTOR && faults[before].error_code == 0 &&
	       faults[before].cs == GUEST_CS;
}

static void cpuid(unsigned int leaf, unsigned int *a, unsigned int *b, unsigned int *c,
		  unsigned int *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

static void check_cpuid(void)
{
	unsigned int a, b, c, d, max;
	bool sc, fsgs;

	cpuid(0, &max, &b, &c, &d);
	cpuid(0x80000001, &a, &b, &c, &d);
	sc = d & (1u << 11);
	fsgs = false;
	if (max >= 7) {
		cpuid(7, &a, &b, &c, &d);
		fsgs = b & 1;
	}
	printf("usermode: cpuid: syscall %s, fsgsbase %s\n", sc ? "yes" : "no",
	       fsgs ? "yes" : "no");
	if (!sc || !fsgs)
		fail("cpuid: syscall and fsgsbase", sc + 2 * fsgs, 3);
}

/* Set U in the leaves of [start, end): pages of the first MiB, mapped 4 KiB each. */
static void make_user(unsigned long pml4, unsigned long start, unsigned long end)
{
	unsigned long va;
	unsigned int level;

	for (va = start & ~(PAGE_SIZE - 1); va < end; va += PAGE_SIZE) {
		unsigned long *pte = pte_lookup(pml4, va, &level);

		if (!pte || level != 1)
			fail("user page mapped 4 KiB", va, 1);
		pte_write(pte, pte_read(pte) | PTE_U);
	}
}

/*
 * Remap the user buffer's first page with a store through an fs: override,
 * FS_BASE at the page table: on the kvm backend in shadow mode that table
 * is write-tracked once a walk used it, and the VMM emulates the store,
 * which must go where FS_BASE says.
 */
static void remap_through_fs(unsigned long pml4)
{
	unsigned int level;
	unsigned long *pte = pte_lookup(pml4, USER_BUF_VA, &level);
	unsigned long table = (unsigned long)pte & ~(PAGE_SIZE - 1), frame = alloc_frame();

	if (!pte || !frame)
		fail("the user buffer's PTE", (unsigned long)pte, frame);
	poke(frame, 0x5eed);
	expect("the user buffer before the remap", peek(USER_BUF_VA), 0); /* the table is walked */
	wrmsr(MSR_FS_BASE, table);
	fs_store((unsigned long)pte - table, frame | PTE_P | PTE_W | PTE_U | PTE_NX);
	wrmsr(MSR_FS_BASE, (unsigned long)tls_a);
	guest_invlpg(USER_BUF_VA);
	expect("the user buffer after a PTE store through fs:", peek(USER_BUF_VA), 0x5eed);
	printf("usermode: a PTE stored through fs: (FS_BASE at its table) remaps the page: ok\n");
}

static void setup_tables(void)
{
	unsigned long pml4 = pgtable_new();

	if (!pml4 || identity_map_ram(pml4))
		fail("identity map", pml4, 0);
	make_user(pml4, (unsigned long)__start_usertext, (unsigned long)__stop_usertext);
	make_user(pml4, (unsigned long)__start_userdata, (unsigned long)__stop_userdata);
	for (unsigned long i = 0; i < USER_BUF_PAGES; i++) {
		unsigned long frame = alloc_frame();

		if (!frame || map_page(pml4, USER_BUF_VA + i * PAGE_SIZE, frame, PAGE_SIZE,
				       PTE_W | PTE_U | PTE_NX))
			fail("user buffer page", i, frame);
	}
	load_own_cr3("usermode", pml4);
	remap_through_fs(pml4);
}

static void setup_msrs(void)
{
	unsigned long efer;

	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
	wrmsr(MSR_STAR, GUEST_STAR);
	wrmsr(MSR_LSTAR, (unsigned long)syscall_entry);
	wrmsr(MSR_FMASK, FMASK);
	percpu.kernel_stack = (unsigned long)kernel_stack + sizeof(kernel_stack);
	wrmsr(MSR_GS_BASE, (unsigned long)&percpu);
	wrmsr(MSR_KERNEL_GS_BASE, 0);
	wrmsr(MSR_FS_BASE, (unsigned long)tls_a);
	efer = rdmsr(MSR_EFER);
	printf("usermode: EFER 0x%lx, STAR 0x%lx, LSTAR %s, FMASK 0x%lx\n", efer, rdmsr(MSR_STAR),
	       rdmsr(MSR_LSTAR) == (unsigned long)syscall_entry ? "the entry" : "WRONG",
	       rdmsr(MSR_FMASK));
	expect("EFER", efer, EFER_FIXED | EFER_SCE);
	expect("rdmsr of an MSR not there is #GP(0)", kernel_msr_probe(false, NO_SUCH_MSR, 0), 1);
	/*
	 * Not a non-canonical LSTAR: an SVM host lets the guest write LSTAR
	 * itself, and QEMU's TCG, under the nested tests, takes any value.
	 */
	expect("wrmsr of a reserved EFER bit is #GP(0)",
	       kernel_msr_probe(true, MSR_EFER, efer | EFER_RESERVED_BIT), 1);
	expect("EFER after the refused wrmsr", rdmsr(MSR_EFER), efer);
	printf("usermode: rdmsr of MSR 0x%x and wrmsr of EFER 0x%lx: #GP(0)\n", NO_SUCH_MSR,
	       efer | EFER_RESERVED_BIT);
	nr_faults = 0;
}

static const char *const fault_names[] = {
	"read of a supervisor page",
	"write of it",
	"fetch from kernel text",
	"hlt",
	"rdmsr",
	"swapgs",
	"ud2",
	"div by 0",
};

static void check_faults(void)
{
	static const unsigned long vectors[] = { PF_VECTOR, PF_VECTOR, PF_VECTOR, GP_VECTOR,
						 GP_VECTOR, GP_VECTOR, UD_VECTOR, DE_VECTOR };
	static const char *const vnames[] = {
		[DE_VECTOR] = "#DE", [UD_VECTOR] = "#UD", [GP_VECTOR] = "#GP", [PF_VECTOR] = "#PF"
	};
	unsigned int i;

	expect("faults from ring 3", nr_faults, 8);
	for (i = 0; i < nr_faults; i++) {
		struct fault *f = &faults[i];
		unsigned long cr2 = i == 2 ? kernel_text_va : i < 2 ? kernel_data_va : 0;

		expect(fault_names[i], f->vector, vectors[i]);
		expect("frame CS: ring 3's", f->cs, GUEST_USER_CS);
		expect("frame SS: ring 3's", f->ss, GUEST_USER_SS);
		expect("CR2", f->cr2, cr2);
		expect("rip in the user program", in_user_text(f->rip) || i == 2, 1);
		printf("usermode: ring 3: %s: %s", fault_names[i], vnames[f->vector]);
		if (f->vector == PF_VECTOR || f->vector == GP_VECTOR)
			printf(" error code 0x%lx", f->error_code);
		printf(", frame CS 0x%lx SS 0x%lx\n", f->cs, f->ss);
	}
	expect("kernel page untouched", kernel_page[0], 0x4b4b);
}

static void run_sysret_program(void)
{
	struct report *r;
	long ret;

	tls_a[0] = 0x7a7a;
	kernel_data_va = (unsigned long)kernel_page;
	kernel_text_va = (unsigned long)syscall_entry;
	kernel_page[0] = 0x4b4b; /* the TLB holds it as a supervisor page now */
	ret = enter_user_sysret((unsigned long)user_sysret_main,
				(unsigned long)user_stack + sizeof(user_stack) - 8, 0x2);
	expect("sysret program's exit", ret, 0x55);
	printf("usermode: sysret to ring 3 and syscalls back: exit 0x%lx\n", ret);

	r = &reports[R_FS_MSR];
	expect("TLS read through FS_BASE", r->a, 0x7a7a);
	expect("TLS write through FS_BASE", r->b, 0x7a7b);
	expect("syscall's rcx in the user program", in_user_text(r->rcx), 1);
	expect("syscall's r11: the user's RFLAGS", r->r11 & ~ARITH_FLAGS, 0x2);
	expect("FS_BASE in the kernel", rdmsr(MSR_FS_BASE), (unsigned long)tls_b);
	printf("usermode: ring 3: TLS through the FS_BASE wrmsr set: read 0x%lx, wrote 0x%lx\n",
	       r->a, r->b);
	r = &reports[R_FS_INSN];
	expect("rdfsbase after wrfsbase", r->a, 1);
	expect("TLS write after wrfsbase", r->b, 0x7b7b);
	printf("usermode: ring 3: TLS through wrfsbase: wrote 0x%lx, rdfsbase ok\n", r->b);
	r = &reports[R_GS];
	expect("GS reports", r->count, 2);
	expect("the user's GS across a syscall", r->a, 0x6565);
	expect("rdgsbase", r->b, 1);
	expect("GS_BASE in the kernel: its per-CPU block", r->kernel_gs, (unsigned long)&percpu);
	expect("KERNEL_GS_BASE in the kernel: the user's", r->user_gs, (unsigned long)user_gs);
	printf("usermode: ring 3: its own GS base across syscalls (swapgs in the entry), "
	       "the kernel's per-CPU block in between: ok\n");
	r = &reports[R_DF];
	expect("DF after sysret", r->a, 1);
	expect("r11 of the syscall with DF set", df_r11 & ~ARITH_FLAGS, 0x2 | X86_DF);
	printf("usermode: syscall: r11 0x%lx (DF set), the kernel ran with FMASK 0x%lx clear, "
	       "DF back after sysret: ok\n",
	       df_r11 & ~ARITH_FLAGS, FMASK);
	r = &reports[R_WORK];
	expect("words wrong in the user buffer", r->b, 0);
	printf("usermode: ring 3: %lu rounds over %u user pages, ok\n", r->a, USER_BUF_PAGES);
	check_faults();
}

/* @where: on the VMM's identity map, where every page is a user page, or on its own tables. */
static void run_iretq_program(const char *where)
{
	struct report *r = &reports[R_ITER];
	long ret;

	r->count = 0;
	tls_a[0] = 0x7a7a;
	wrmsr(MSR_FS_BASE, (unsigned long)tls_a);
	ret = enter_user_iretq((unsigned long)user_iretq_main,
			       (unsigned long)user_stack + sizeof(user_stack) - 8, 0x2);
	expect("iretq program's exit", ret, 7);
	expect("syscalls from the iretq program", r->count, 3);
	expect("its last", r->a, 2);
	expect("its TLS", r->b, 0x7a7a);
	printf("usermode: iretq to ring 3 %s: %u syscalls, exit %ld\n", where, r->count, ret);
}

static void sweep_free_ram(void)
{
	unsigned long bad = ram_free_sweep();

	if (bad)
		fail("free RAM read back at", bad, 0);
	printf("usermode: free RAM written and read back: ok\n");
}

int guest_main(unsigned int cpu, unsigned int ncpus, unsigned long ram_size)
{
	static const unsigned int vectors[] = { DE_VECTOR, UD_VECTOR, GP_VECTOR, PF_VECTOR };

	if (cpu)
		guest_halt();
	for (unsigned int i = 0; i < 4; i++)
		if (guest_set_exception_handler(vectors[i], probe_handler))
			fail("exception handler", vectors[i], 0);
	check_cpuid();
	setup_msrs();
	run_iretq_program("on the identity map");
	sweep_free_ram();
	setup_tables();
	run_sysret_program();
	run_iretq_program("on its own tables");
	printf("usermode: ok\n");
	return 0;
}
