// SPDX-License-Identifier: GPL-2.0
/*
 * A guest on page tables of its own, on the soft vCPU in TDP mode and in
 * shadow mode (each test runs in both), and on the kvm backend in shadow
 * mode (label nested; TDP is the soft vCPU's only): the test
 * builds the tables in guest RAM through the host mm and loads CR3, INVLPGs
 * and switches address spaces from the host side between the guest's
 * stages (the guest ABI's own hypercalls and instructions for these come
 * with the guest runtime).  The guest checks its results itself:
 *
 *  1. one GPA at three virtual addresses: a write through each is read
 *     through the others;
 *  2-4. code in a page reached through two virtual addresses, and rewritten
 *     through a third (the decode cache is keyed by guest-physical page):
 *     a branch decoded through one runs right through the other, a store
 *     through an alias reaches the code, and a remap with INVLPG runs what
 *     the page maps now;
 *  5. an instruction whose immediate is a guest PTE: the walk's A update
 *     rewrites it, and the next run of the instruction sees that;
 *  6-8. two address spaces over one virtual address, switched by CR3;
 *  9. a 2 MiB page, aliased by the identity map.
 *
 * A guest that rewrites its own PTE through an alias of its page table
 * (in shadow mode, an emulated write the shadow MMU must hear of).
 *
 * A guest that does it all itself, through the portable hypercalls: its
 * #PF handler gets the architectural frame, error code and CR2, and fixes
 * the fault by writing its own page table (a write-protected page made
 * writable, a page mapped on demand); a remap with its own INVLPG; two
 * address spaces switched by its own CR3 loads; a mapping at
 * 0xffffffff80000000 beside the VMM's top; a mapping of the VMM's top 16
 * MiB, which is refused.  And the same while every pressure agent works
 * on RAM larger than the pool.
 *
 * Then the guest's faults that stop it, each named in the stop message,
 * and the aliases and large pages again while the host reclaims and
 * migrates the guest's table pages under it.
 */
#include "tests/lib/ucall.h"

/*
 * Guest RAM is [1 MiB, 17 MiB).  The identity map covers [0, 16 MiB) with
 * 2 MiB pages and the stacks at the top with 4 KiB pages; the scratch pages
 * at 16 MiB are reached only through the test's virtual addresses.
 */
#define MB (1UL << 20)
#define RAM_END (GUEST_RAM_BASE + 16 * MB)
#define IDENTITY_2M_END (16 * MB)
#define STACKS (RAM_END - 512 * 1024) /* identity-mapped 4 KiB pages to RAM_END */
#define SCRATCH(n) (16 * MB + (n)*4096UL)
#define TABLES (12 * MB) /* the host's table pages, 256 of them */

#define ALIAS1 0x0000100000000000UL
#define ALIAS2 0x0000200000003000UL
#define ALIAS3 0xffff900000005000UL /* the upper half */
#define CODE_V1 0x0000300000000000UL
#define CODE_V2 0x0000300000200000UL
#define CODE_RW_P 0x0000310000000000UL /* data aliases of the code pages */
#define CODE_RW_Q 0x0000310000001000UL
#define SPACE_VA 0x0000400000000000UL /* a page in address space A, another in B */
#define BIG_VA 0x0000500000000000UL   /* a 2 MiB page ... */
#define BIG_GPA (4 * MB)	      /* ... over identity-mapped RAM */
#define AD_CODE_VA 0x0000600000000000UL
#define AD_Z 0x0000610000000000UL /* its page table is the code page */
#define AD_INDEX 16		  /* the PTE the code's immediate is */
#define RO_VA 0x0000700000000000UL
#define HOLE_VA 0x0000700000200000UL /* under the same PDPTE, no PDE */
#define FAR_VA 0x0000710000000000UL  /* its page table is outside RAM */

#define REMAP_VA 0x0000720000000000UL	 /* remapped by the guest ... */
#define PT_ALIAS_VA 0x0000730000000000UL /* ... through its page table, mapped here */

#define DATA_PAGE SCRATCH(0)
#define CODE_P SCRATCH(1)
#define CODE_Q SCRATCH(2)
#define SPACE_A_PAGE SCRATCH(3)
#define SPACE_B_PAGE SCRATCH(4)
#define AD_TABLE SCRATCH(5)
#define AD_DATA SCRATCH(6)
#define REMAP_OLD SCRATCH(7)
#define REMAP_NEW SCRATCH(8)

/* guest_own_tables(): pages of RO_VA's page table, which PT_ALIAS_VA maps for the guest. */
#define DEMAND_VA (RO_VA + 0x1000)	       /* not present until the #PF handler maps it */
#define OWN_REMAP_VA (RO_VA + 0x2000)	       /* REMAP_OLD, then REMAP_NEW */
#define TOP_KERNEL 0xffffffff80000000UL	       /* PML4 slot 511, beside the VMM's top */
#define TOP_REFUSED (GUEST_VMM_TOP + 0x200000) /* in the VMM's top, where it maps nothing */
#define DEMAND_PAGE SCRATCH(11)
#define KERNEL_PAGE SCRATCH(9)
#define TOP_PAGE SCRATCH(10) /* what the guest's tables name for TOP_REFUSED */
#define TOP_MARKER 0x70b0070b0UL

/* The pressure test's words: the guest's round, and the host's "enough". */
#define PROGRESS (8 * MB)
#define STOP_FLAG (8 * MB + 8)

#ifdef NOPIN_GUEST

#include "guest.h"

/*
 * Two position-independent routines, as bytes in .rodata for the guest to
 * copy into its code pages: a loop with a backward branch, and a relative
 * call.
 */
__asm__(".pushsection .rodata\n"
	".globl code_a, code_a_end, code_b, code_b_end\n"
	"code_a:\n" /* long code_a(long n): sum of 3i + 1 for i < n */
	"	xor %eax, %eax\n"
	"	xor %ecx, %ecx\n"
	"1:	cmp %rdi, %rcx\n"
	"	jge 2f\n"
	"	lea 1(%rcx,%rcx,2), %rdx\n"
	"	add %rdx, %rax\n"
	"	inc %rcx\n"
	"	jmp 1b\n"
	"2:	ret\n"
	"code_a_end:\n"
	"code_b:\n" /* long code_b(long n): n * 1000 + 7 */
	"	call 3f\n"
	"	ret\n"
	"3:	imul $1000, %rdi, %rax\n"
	"	add $7, %rax\n"
	"	ret\n"
	"code_b_end:\n"
	".popsection\n");
extern const char code_a[], code_a_end[], code_b[], code_b_end[];

typedef long (*code_fn)(long);

static long call_at(unsigned long va, long n)
{
	return ((code_fn)va)(n);
}

static long expect_a(long n)
{
	return 3 * n * (n - 1) / 2 + n;
}

static void write_read_aliases(unsigned long round)
{
	static const unsigned long alias[] = { ALIAS1, ALIAS2, ALIAS3 };

	for (unsigned long i = 0; i < 3; i++) {
		volatile unsigned long *w = (unsigned long *)(alias[i] + 8 * (i + round % 64));

		*w = round * 100 + i;
		for (unsigned long j = 0; j < 3; j++)
			GUEST_ASSERT(*(volatile unsigned long *)(alias[j] + 8 * (i + round % 64)) ==
				     round * 100 + i);
	}
}

static void write_read_big(unsigned long round)
{
	for (unsigned long off = 0; off < 2 * MB; off += 64 * 1024 + 8) {
		volatile unsigned long *big = (unsigned long *)(BIG_VA + off);
		volatile unsigned long *ident = (unsigned long *)(BIG_GPA + off);

		*big = off ^ round;
		GUEST_ASSERT(*ident == (off ^ round));
		*ident = ~off;
		GUEST_ASSERT(*big == ~off);
	}
}

__attribute__((used, noinline)) void guest_code(void)
{
	unsigned long len_a = code_a_end - code_a, len_b = code_b_end - code_b;
	unsigned long pte, pte_a;

	write_read_aliases(1);
	GUEST_SYNC(1);

	/* Code in page P, run through V1; its bytes written through a data alias. */
	memcpy((void *)CODE_RW_P, code_a, len_a);
	memcpy((void *)CODE_RW_Q, code_b, len_b);
	GUEST_ASSERT(call_at(CODE_V1, 100) == expect_a(100));
	GUEST_SYNC(2); /* the host unmaps V1 */
	/* Decoded through V1, run through V2: its branches must stay in V2. */
	GUEST_ASSERT(call_at(CODE_V2, 77) == expect_a(77));
	/* Rewritten through the data alias: V2 runs the new code. */
	memcpy((void *)CODE_RW_P, code_b, len_b);
	GUEST_ASSERT(call_at(CODE_V2, 5) == 5007);
	memcpy((void *)CODE_RW_P, code_a, len_a);
	GUEST_ASSERT(call_at(CODE_V2, 5) == expect_a(5));
	GUEST_SYNC(3); /* the host remaps V2 to page Q, and INVLPGs it */
	GUEST_ASSERT(call_at(CODE_V2, 6) == 6007);
	GUEST_SYNC(4);

	/* movabs $PTE, %rax; ret: its immediate is the PTE of AD_Z's page. */
	pte = call_at(AD_CODE_VA + 8 * AD_INDEX - 2, 0);
	GUEST_ASSERT(pte & 1);
	GUEST_ASSERT(!(pte & 0x20));
	(void)*(volatile unsigned long *)(AD_Z + AD_INDEX * 4096UL); /* the walk sets A */
	pte_a = call_at(AD_CODE_VA + 8 * AD_INDEX - 2, 0);
	GUEST_ASSERT(pte_a == (pte | 0x20));
	GUEST_SYNC(5);

	*(volatile unsigned long *)SPACE_VA = 0xa;
	GUEST_SYNC(6); /* the host loads address space B */
	GUEST_ASSERT(*(volatile unsigned long *)SPACE_VA == 0);
	*(volatile unsigned long *)SPACE_VA = 0xb;
	GUEST_SYNC(7); /* ... and A again */
	GUEST_ASSERT(*(volatile unsigned long *)SPACE_VA == 0xa);
	GUEST_SYNC(8);

	write_read_big(9);
	GUEST_SYNC(9);
	GUEST_DONE();
}

/* One access the host asked for: rdi = address, rsi = write. */
__attribute__((used, noinline)) void guest_touch(unsigned long va, unsigned long write)
{
	if (write)
		*(volatile unsigned long *)va = 1;
	else
		(void)*(volatile unsigned long *)va;
	GUEST_DONE();
}

/*
 * Rewrite the PTE of REMAP_VA through PT_ALIAS_VA, an alias of its page
 * table: @pte_off is the PTE's offset there, @pte its new value.  After
 * the host's CR3 reload (a TLB flush) the new page must be what REMAP_VA
 * reads: in shadow mode the store reached the MMU, which dropped the
 * shadow made from the old PTE.
 */
__attribute__((used, noinline)) void guest_remap(unsigned long pte_off, unsigned long pte)
{
	GUEST_ASSERT(*(volatile unsigned long *)REMAP_VA == 0x01d);
	*(volatile unsigned long *)(PT_ALIAS_VA + pte_off) = pte;
	GUEST_SYNC(1); /* the host reloads CR3 */
	GUEST_ASSERT(*(volatile unsigned long *)REMAP_VA == 0x2e3);
	GUEST_DONE();
}

/*
 * The same rewrite as an SSE store (gcc's way of copying 8 or 16 bytes):
 * on kvm in shadow mode the VMM emulates it with the guest's xmm
 * registers.  The image is built -mgeneral-regs-only, so nothing of the
 * compiler's lives in xmm0 and the asm names none.
 */
__attribute__((used, noinline)) void guest_remap_sse(unsigned long pte_off, unsigned long pte)
{
	GUEST_ASSERT(*(volatile unsigned long *)REMAP_VA == 0x01d);
	__asm__ volatile("movq %1, %%xmm0\n\tmovq %%xmm0, (%0)"
			 :
			 : "r"(PT_ALIAS_VA + pte_off), "r"(pte)
			 : "memory");
	GUEST_SYNC(1); /* the host reloads CR3 */
	GUEST_ASSERT(*(volatile unsigned long *)REMAP_VA == 0x2e3);
	GUEST_DONE();
}

/* ---- guest_own_tables() ---- */

static unsigned char pf_stack[4096] __attribute__((aligned(16)));
static volatile unsigned long pf_count, pf_cr2, pf_frame_cr2, pf_error, pf_rip, pf_cs, pf_ss;
static volatile unsigned long pf_fix; /* what the handler does: one of the below */
#define FIX_WRITABLE 1
#define FIX_DEMAND 2
#define FIX_SKIP 3 /* past a 3-byte mov (%rcx), %rax */

/* Its own page table, through PT_ALIAS_VA: each store an emulated write in shadow mode. */
static void set_pte(unsigned long va, unsigned long pte)
{
	*(volatile unsigned long *)(PT_ALIAS_VA + 8 * ((va >> 12) & 511)) = pte;
	GUEST_ASSERT(guest_invlpg(va) == 0);
}

static void pf_handler(struct exception_frame *f)
{
	pf_count++;
	pf_cr2 = guest_read_cr2();
	pf_frame_cr2 = f->cr2;
	pf_error = f->error_code;
	pf_rip = f->rip;
	pf_cs = f->cs;
	pf_ss = f->ss;
	if (pf_fix == FIX_WRITABLE)
		set_pte(RO_VA, DATA_PAGE | 0x3);
	else if (pf_fix == FIX_DEMAND)
		set_pte(DEMAND_VA, DEMAND_PAGE | 0x3);
	else
		f->rip += 3;
}

/* A store of @val at @va, and the rip of the store. */
static unsigned long store_at(unsigned long va, unsigned long val)
{
	unsigned long rip;

	__asm__ volatile("lea 1f(%%rip), %0\n\t"
			 "1: movq %2, (%1)"
			 : "=&r"(rip)
			 : "r"(va), "r"(val)
			 : "memory");
	return rip;
}

/* A load from @va with a 3-byte instruction, and its rip in *@rip. */
static unsigned long load_at(unsigned long va, unsigned long *rip)
{
	unsigned long val = 0;

	__asm__ volatile("lea 1f(%%rip), %1\n\t"
			 "1: mov (%%rcx), %%rax"
			 : "+a"(val), "=&r"(*rip)
			 : "c"(va)
			 : "memory");
	return val;
}

static void expect_pf(unsigned long count, unsigned long cr2, unsigned long error,
		      unsigned long rip)
{
	GUEST_ASSERT(pf_count == count);
	GUEST_ASSERT(pf_cr2 == cr2 && pf_frame_cr2 == cr2);
	GUEST_ASSERT(pf_error == error);
	GUEST_ASSERT(pf_rip == rip);
	GUEST_ASSERT(pf_cs == GUEST_CS && pf_ss == GUEST_SS);
}

/* Everything through the portable hypercalls: @cr3_a its tables, @cr3_b another space. */
__attribute__((used, noinline)) void guest_own_tables(unsigned long cr3_a, unsigned long cr3_b)
{
	unsigned long rip, val;

	GUEST_ASSERT(__guest_set_exception_handler(PF_VECTOR, pf_handler,
						   (unsigned long)pf_stack + sizeof(pf_stack)) ==
		     0);
	/* Through RO_VA's page table first: shadowed, so each write to it below is tracked. */
	GUEST_ASSERT(*(volatile unsigned long *)OWN_REMAP_VA == 0x01d);
	/* A write to a read-only page: P and W in the error code; the handler makes it writable. */
	pf_fix = FIX_WRITABLE;
	rip = store_at(RO_VA + 0x18, 0x5eed);
	expect_pf(1, RO_VA + 0x18, 0x3, rip);
	GUEST_ASSERT(*(volatile unsigned long *)(ALIAS1 + 0x18) == 0x5eed);
	/* A read of a page not present: error code 0; the handler maps it. */
	pf_fix = FIX_DEMAND;
	val = load_at(DEMAND_VA + 8, &rip);
	expect_pf(2, DEMAND_VA + 8, 0, rip);
	GUEST_ASSERT(val == 0xde);
	/* A remap with its own INVLPG. */
	set_pte(OWN_REMAP_VA, REMAP_NEW | 0x1);
	GUEST_ASSERT(*(volatile unsigned long *)OWN_REMAP_VA == 0x2e3);
	/* A kernel's address, in PML4 slot 511 beside the VMM's top. */
	*(volatile unsigned long *)(TOP_KERNEL + 0x40) = 0x8080;
	GUEST_ASSERT(*(volatile unsigned long *)(TOP_KERNEL + 0x40) == 0x8080);
	/* The VMM's top 16 MiB: the guest's own mapping there is refused, a #PF. */
	pf_fix = FIX_SKIP;
	val = load_at(TOP_REFUSED, &rip);
	expect_pf(3, TOP_REFUSED, 0, rip);
	GUEST_ASSERT(val != TOP_MARKER);
	/* Two address spaces, switched by its own CR3 loads. */
	*(volatile unsigned long *)SPACE_VA = 0xa;
	GUEST_ASSERT(guest_load_cr3(cr3_b) == 0);
	GUEST_ASSERT(*(volatile unsigned long *)SPACE_VA == 0);
	*(volatile unsigned long *)SPACE_VA = 0xb;
	GUEST_ASSERT(guest_load_cr3(cr3_a) == 0);
	GUEST_ASSERT(*(volatile unsigned long *)SPACE_VA == 0xa);
	GUEST_ASSERT(guest_flush_tlb() == 0);
	GUEST_ASSERT(*(volatile unsigned long *)SPACE_VA == 0xa);
	GUEST_ASSERT(guest_load_cr3(cr3_b) == 0);
	GUEST_ASSERT(*(volatile unsigned long *)SPACE_VA == 0xb);
	GUEST_ASSERT(guest_load_cr3(cr3_a) == 0);
	GUEST_DONE();
}

/* The TLB hypercalls one by one, a sync after each: the kvm backend's flush stub runs for each. */
__attribute__((used, noinline)) void guest_tlb_hypercalls(unsigned long cr3)
{
	GUEST_SYNC(1);
	GUEST_ASSERT(guest_invlpg(ALIAS1) == 0);
	GUEST_SYNC(2);
	GUEST_ASSERT(guest_flush_tlb() == 0);
	GUEST_SYNC(3);
	GUEST_ASSERT(guest_load_cr3(cr3) == 0);
	GUEST_SYNC(4);
	GUEST_DONE();
}

__attribute__((used, noinline)) void guest_loop(void)
{
	for (unsigned long round = 1; !*(volatile unsigned long *)STOP_FLAG; round++) {
		*(volatile unsigned long *)PROGRESS = round;
		write_read_aliases(round);
		/* PML4 slot 511, which the root shares with the VMM's top on kvm. */
		*(volatile unsigned long *)(TOP_KERNEL + 8) = round;
		GUEST_ASSERT(*(volatile unsigned long *)(TOP_KERNEL + 8) == round);
		if (!(round % 64))
			write_read_big(round);
	}
	GUEST_DONE();
}

#else /* the host side */

#include <sched.h>
#include <string.h>

#include "base/kthread.h"
#include "tests/lib/guest_tables.h"
#include "tests/lib/mm_util.h"
#include "tests/lib/test_util.h"
#include "tests/lib/vmm_util.h"
#include "vmm/kvm/devkvm.h"

struct paging_vm {
	struct vmm *vm;
	struct vmm_vcpu *vcpu;
	struct guest_tables gt;
	gpa_t cr3;
};

static void ram_read(void *ctx, gpa_t gpa, void *buf, size_t len)
{
	TEST_ASSERT(!vmm_read_guest(ctx, gpa, buf, len), "read guest %#lx", (unsigned long)gpa);
}

static void ram_write(void *ctx, gpa_t gpa, const void *buf, size_t len)
{
	TEST_ASSERT(!vmm_write_guest(ctx, gpa, buf, len), "write guest %#lx", (unsigned long)gpa);
}

static const struct guest_tables_ops ram_ops = { .read = ram_read, .write = ram_write };

static void map_4k(struct paging_vm *p, gpa_t cr3, gva_t va, gpa_t gpa, uint64_t flags)
{
	guest_map(&p->gt, cr3, va, gpa, flags, PG_LEVEL_4K);
}

/* The identity map of RAM: what the image, its data and the stacks need. */
static void map_identity(struct paging_vm *p, gpa_t cr3)
{
	for (gpa_t gpa = 0; gpa < IDENTITY_2M_END; gpa += 2 * MB)
		guest_map(&p->gt, cr3, gpa, gpa, PT_WRITABLE_MASK, PG_LEVEL_2M);
	for (gpa_t gpa = STACKS; gpa < RAM_END; gpa += PAGE_SIZE)
		map_4k(p, cr3, gpa, gpa, PT_WRITABLE_MASK);
}

/*
 * A VM in @mode whose vCPU starts at @fn on tables that map RAM and the
 * test's pages, on the backend NOPIN_TEST_BACKEND names: TDP needs the
 * soft vCPU, so a TDP case skips on kvm.
 */
static void paging_vm_create(struct paging_vm *p, const char *fn, enum kvm_mmu_mode mode)
{
	TEST_REQUIRE(mode != KVM_MMU_TDP || test_backend() == VMM_BACKEND_SOFT);
	p->vm = __vm_create_with_one_vcpu_mmu(NOPIN_TEST_GUEST_ELF, &p->vcpu, fn, 16 * MB, 32 * MB,
					      mode);
	TEST_ASSERT_EQ(p->vm->kvm->mmu_mode, mode);
	guest_tables_init(&p->gt, &ram_ops, p->vm, TABLES, 256);
	p->cr3 = guest_table_alloc(&p->gt);
	map_identity(p, p->cr3);
	map_4k(p, p->cr3, ALIAS1, DATA_PAGE, PT_WRITABLE_MASK | PT64_NX_MASK);
	map_4k(p, p->cr3, ALIAS2, DATA_PAGE, PT_WRITABLE_MASK | PT64_NX_MASK);
	map_4k(p, p->cr3, ALIAS3, DATA_PAGE, PT_WRITABLE_MASK | PT64_NX_MASK);
	map_4k(p, p->cr3, TOP_KERNEL, KERNEL_PAGE, PT_WRITABLE_MASK | PT64_NX_MASK);
	guest_map(&p->gt, p->cr3, BIG_VA, BIG_GPA, PT_WRITABLE_MASK, PG_LEVEL_2M);
	TEST_ASSERT_EQ(kvm_vcpu_load_cr3(p->vcpu->kvcpu, p->cr3), 0);
}

static void set_args(struct paging_vm *p, unsigned long a0, unsigned long a1)
{
	struct vmm_regs regs;

	p->vm->backend->get_regs(p->vcpu, &regs);
	regs.gpr[VMM_RDI] = a0;
	regs.gpr[VMM_RSI] = a1;
	p->vm->backend->set_regs(p->vcpu, &regs);
}

static void run_to(struct paging_vm *p, unsigned long cmd, unsigned long stage)
{
	enum vmm_run_exit r = vcpu_run(p->vcpu);
	struct ucall uc;

	TEST_ASSERT(r == VMM_RUN_UCALL, "stage %lu: run ended with %d: %s", stage, r,
		    p->vm->stop_message);
	TEST_ASSERT_EQ(get_ucall(p->vcpu, &uc), cmd);
	if (cmd == UCALL_SYNC)
		TEST_ASSERT_EQ(uc.args[0], stage);
}

/*
 * The code page of stage 5, which is also the page table of AD_Z: bytes
 * 48 b8 (movabs $imm64, %rax) end just before entry AD_INDEX, which is
 * the immediate, and c3 (ret) follows it.  The entries around the
 * immediate are not present, or never walked.
 */
static void build_ad_page(struct paging_vm *p)
{
	uint8_t code[] = { 0x48, 0xb8 };
	uint8_t ret = 0xc3;
	uint64_t pte = AD_DATA | PT_PRESENT_MASK | PT_WRITABLE_MASK;
	gpa_t pde = guest_pte_gpa(&p->gt, p->cr3, AD_Z, PG_LEVEL_2M);

	ram_write(p->vm, AD_TABLE + 8 * AD_INDEX - 2, code, sizeof(code));
	ram_write(p->vm, AD_TABLE + 8 * AD_INDEX, &pte, sizeof(pte));
	ram_write(p->vm, AD_TABLE + 8 * AD_INDEX + 8, &ret, 1);
	guest_pte_write(&p->gt, pde, AD_TABLE | GUEST_TABLE_BITS);
	map_4k(p, p->cr3, AD_CODE_VA, AD_TABLE, 0);
}

static void paging_stages(enum kvm_mmu_mode mode)
{
	struct kvm_vcpu *kv;
	struct paging_vm p;
	gpa_t cr3_b;

	paging_vm_create(&p, "guest_code", mode);
	kv = p.vcpu->kvcpu;
	map_4k(&p, p.cr3, CODE_V1, CODE_P, 0);
	map_4k(&p, p.cr3, CODE_V2, CODE_P, 0);
	map_4k(&p, p.cr3, CODE_RW_P, CODE_P, PT_WRITABLE_MASK | PT64_NX_MASK);
	map_4k(&p, p.cr3, CODE_RW_Q, CODE_Q, PT_WRITABLE_MASK | PT64_NX_MASK);
	map_4k(&p, p.cr3, SPACE_VA, SPACE_A_PAGE, PT_WRITABLE_MASK);
	build_ad_page(&p);
	/* Address space B: the same identity map, another page at SPACE_VA. */
	cr3_b = guest_table_alloc(&p.gt);
	map_identity(&p, cr3_b);
	map_4k(&p, cr3_b, SPACE_VA, SPACE_B_PAGE, PT_WRITABLE_MASK);

	run_to(&p, UCALL_SYNC, 1);
	run_to(&p, UCALL_SYNC, 2);
	guest_pte_write(&p.gt, guest_pte_gpa(&p.gt, p.cr3, CODE_V1, PG_LEVEL_4K), 0);
	kvm_vcpu_invlpg(kv, CODE_V1);
	run_to(&p, UCALL_SYNC, 3);
	map_4k(&p, p.cr3, CODE_V2, CODE_Q, 0);
	kvm_vcpu_invlpg(kv, CODE_V2);
	run_to(&p, UCALL_SYNC, 4);
	run_to(&p, UCALL_SYNC, 5);
	run_to(&p, UCALL_SYNC, 6);
	TEST_ASSERT_EQ(kvm_vcpu_load_cr3(kv, cr3_b), 0);
	run_to(&p, UCALL_SYNC, 7);
	TEST_ASSERT_EQ(kvm_vcpu_load_cr3(kv, p.cr3), 0);
	run_to(&p, UCALL_SYNC, 8);
	run_to(&p, UCALL_SYNC, 9);
	run_to(&p, UCALL_DONE, 10);
	vmm_destroy(p.vm);
}

TEST(paging_stages_tdp)
{
	paging_stages(KVM_MMU_TDP);
}

TEST(paging_stages_shadow)
{
	paging_stages(KVM_MMU_SHADOW);
}

/* The guest rewrites its own PTE through an alias of its page table (@fn: how). */
static void guest_writes_its_page_table(enum kvm_mmu_mode mode, const char *fn)
{
	uint64_t old = 0x01d, new = 0x2e3;
	struct paging_vm p;
	gpa_t pte_gpa;

	paging_vm_create(&p, fn, mode);
	ram_write(p.vm, REMAP_OLD, &old, sizeof(old));
	ram_write(p.vm, REMAP_NEW, &new, sizeof(new));
	map_4k(&p, p.cr3, REMAP_VA, REMAP_OLD, 0);
	pte_gpa = guest_pte_gpa(&p.gt, p.cr3, REMAP_VA, PG_LEVEL_4K);
	map_4k(&p, p.cr3, PT_ALIAS_VA, pte_gpa & PAGE_MASK, PT_WRITABLE_MASK | PT64_NX_MASK);
	set_args(&p, pte_gpa & ~PAGE_MASK, REMAP_NEW | PT_PRESENT_MASK);
	run_to(&p, UCALL_SYNC, 1);
	TEST_ASSERT_EQ(kvm_vcpu_load_cr3(p.vcpu->kvcpu, p.cr3), 0);
	run_to(&p, UCALL_DONE, 2);
	if (mode == KVM_MMU_SHADOW)
		TEST_ASSERT_EQ(atomic_long_read(&p.vcpu->kvcpu->stat.tracked_writes), 1L);
	vmm_destroy(p.vm);
}

TEST(guest_writes_its_page_table_tdp)
{
	guest_writes_its_page_table(KVM_MMU_TDP, "guest_remap");
}

TEST(guest_writes_its_page_table_shadow)
{
	guest_writes_its_page_table(KVM_MMU_SHADOW, "guest_remap");
}

TEST(guest_writes_its_page_table_with_sse_tdp)
{
	guest_writes_its_page_table(KVM_MMU_TDP, "guest_remap_sse");
}

TEST(guest_writes_its_page_table_with_sse_shadow)
{
	guest_writes_its_page_table(KVM_MMU_SHADOW, "guest_remap_sse");
}

/*
 * guest_own_tables()'s tables: RO_VA read-only, and its page table mapped
 * at PT_ALIAS_VA for the guest to edit; a page at 0xffffffff80000000; a
 * page of the guest's own named at an address in the VMM's top 16 MiB;
 * address space B.  Returns B's CR3.
 */
static gpa_t own_tables_setup(struct paging_vm *p)
{
	uint64_t demand = 0xde, old = 0x01d, new = 0x2e3, marker = TOP_MARKER;
	gpa_t cr3_b;

	map_4k(p, p->cr3, RO_VA, DATA_PAGE, 0);
	map_4k(p, p->cr3, OWN_REMAP_VA, REMAP_OLD, 0);
	guest_pte_write(&p->gt, guest_pte_gpa(&p->gt, p->cr3, DEMAND_VA, PG_LEVEL_4K), 0);
	map_4k(p, p->cr3, PT_ALIAS_VA, guest_table_of(&p->gt, p->cr3, RO_VA, PG_LEVEL_4K),
	       PT_WRITABLE_MASK | PT64_NX_MASK);
	map_4k(p, p->cr3, TOP_REFUSED, TOP_PAGE, PT_WRITABLE_MASK | PT64_NX_MASK);
	map_4k(p, p->cr3, SPACE_VA, SPACE_A_PAGE, PT_WRITABLE_MASK);
	ram_write(p->vm, DEMAND_PAGE + 8, &demand, sizeof(demand));
	ram_write(p->vm, REMAP_OLD, &old, sizeof(old));
	ram_write(p->vm, REMAP_NEW, &new, sizeof(new));
	ram_write(p->vm, TOP_PAGE, &marker, sizeof(marker));
	cr3_b = guest_table_alloc(&p->gt);
	map_identity(p, cr3_b);
	map_4k(p, cr3_b, SPACE_VA, SPACE_B_PAGE, PT_WRITABLE_MASK);
	set_args(p, p->cr3, cr3_b);
	return cr3_b;
}

static void own_tables_check(struct paging_vm *p)
{
	uint64_t val;

	ram_read(p->vm, KERNEL_PAGE + 0x40, &val, sizeof(val));
	TEST_ASSERT_EQ(val, 0x8080UL);
	ram_read(p->vm, TOP_PAGE, &val, sizeof(val));
	TEST_ASSERT_EQ(val, TOP_MARKER);
	TEST_ASSERT(atomic_long_read(&p->vcpu->kvcpu->stat.cr3_loads) >= 5, "CR3 loads");
	if (p->vm->kvm->mmu_mode == KVM_MMU_SHADOW)
		TEST_ASSERT(atomic_long_read(&p->vcpu->kvcpu->stat.tracked_writes) >= 3,
			    "the page-table writes were emulated (%ld)",
			    atomic_long_read(&p->vcpu->kvcpu->stat.tracked_writes));
}

static void guest_on_its_own_tables(enum kvm_mmu_mode mode)
{
	struct paging_vm p;

	paging_vm_create(&p, "guest_own_tables", mode);
	own_tables_setup(&p);
	run_to(&p, UCALL_DONE, 0);
	own_tables_check(&p);
	vmm_destroy(p.vm);
}

TEST(guest_on_its_own_tables_tdp)
{
	guest_on_its_own_tables(KVM_MMU_TDP);
}

TEST(guest_on_its_own_tables_shadow)
{
	guest_on_its_own_tables(KVM_MMU_SHADOW);
}

/*
 * The same with every pressure agent at work and RAM larger than the
 * pool, a few times over: the sanitizer reports nothing (the harness
 * fails a case on any report), and the guest's own checks hold.
 */
static void guest_on_its_own_tables_under_pressure(enum kvm_mmu_mode mode)
{
	struct vmm_config cfg;
	struct paging_vm p;

	TEST_REQUIRE(mode != KVM_MMU_TDP || test_backend() == VMM_BACKEND_SOFT);
	vmm_config_init(&cfg);
	cfg.image = NOPIN_TEST_GUEST_ELF;
	cfg.backend = test_backend();
	cfg.mem_bytes = 16 * MB; /* the layout's: RAM_END */
	cfg.pool_bytes = 8 * MB;
	cfg.pressure = "all";
	cfg.quiet = true;
	cfg.mmu = mode;
	for (int round = 0; round < 3; round++) {
		p.vm = __vm_create_with_one_vcpu_cfg(&cfg, &p.vcpu, "guest_own_tables");
		guest_tables_init(&p.gt, &ram_ops, p.vm, TABLES, 256);
		p.cr3 = guest_table_alloc(&p.gt);
		map_identity(&p, p.cr3);
		map_4k(&p, p.cr3, ALIAS1, DATA_PAGE, PT_WRITABLE_MASK | PT64_NX_MASK);
		map_4k(&p, p.cr3, TOP_KERNEL, KERNEL_PAGE, PT_WRITABLE_MASK | PT64_NX_MASK);
		TEST_ASSERT_EQ(kvm_vcpu_load_cr3(p.vcpu->kvcpu, p.cr3), 0);
		own_tables_setup(&p);
		run_to(&p, UCALL_DONE, 0);
		own_tables_check(&p);
		vmm_destroy(p.vm);
	}
}

TEST(guest_on_its_own_tables_under_pressure_tdp)
{
	guest_on_its_own_tables_under_pressure(KVM_MMU_TDP);
}

TEST(guest_on_its_own_tables_under_pressure_shadow)
{
	guest_on_its_own_tables_under_pressure(KVM_MMU_SHADOW);
}

/*
 * The kvm backend: HC_INVLPG, HC_FLUSH_TLB and HC_LOAD_CR3 each leave the
 * hardware's TLB clean before the guest runs on, through the flush stub,
 * whose runs the flush mailbox counts.  Nothing else flushes here: the
 * guest's accesses between two syncs hit leaves already made.
 */
TEST(guest_tlb_hypercalls_run_the_flush_stub_kvm)
{
	const struct devkvm_flush_mailbox *mb;
	unsigned long runs, now;
	struct paging_vm p;

	TEST_REQUIRE(test_backend() == VMM_BACKEND_KVM);
	paging_vm_create(&p, "guest_tlb_hypercalls", KVM_MMU_SHADOW);
	set_args(&p, p.cr3, 0);
	mb = devkvm_vcpu_flush_mailbox(p.vcpu);
	run_to(&p, UCALL_SYNC, 1);
	runs = smp_load_acquire(&mb->runs);
	for (unsigned long stage = 2; stage <= 4; stage++) {
		run_to(&p, UCALL_SYNC, stage);
		now = smp_load_acquire(&mb->runs);
		TEST_ASSERT(now > runs, "stage %lu: the flush stub ran (%lu runs)", stage, now);
		runs = now;
	}
	run_to(&p, UCALL_DONE, 5);
	vmm_destroy(p.vm);
}

/* Run guest_touch(@va, @write), which must stop the guest with @expect in the message. */
static void expect_stop(enum kvm_mmu_mode mode, void (*setup)(struct paging_vm *p), gva_t va,
			bool write, const char *expect)
{
	struct paging_vm p;
	enum vmm_run_exit r;

	paging_vm_create(&p, "guest_touch", mode);
	if (setup)
		setup(&p);
	set_args(&p, va, write);
	r = vcpu_run(p.vcpu);
	TEST_ASSERT(r == VMM_RUN_STOPPED, "the guest stopped, not %d", r);
	TEST_ASSERT(strstr(p.vm->stop_message, expect), "no '%s' in: %s", expect,
		    p.vm->stop_message);
	vmm_destroy(p.vm);
}

static void map_ro(struct paging_vm *p)
{
	map_4k(p, p->cr3, RO_VA, DATA_PAGE, 0);
}

static void map_far(struct paging_vm *p)
{
	gpa_t pde = guest_pte_gpa(&p->gt, p->cr3, FAR_VA, PG_LEVEL_2M);

	guest_pte_write(&p->gt, pde, 0x40000000UL | GUEST_TABLE_BITS);
}

/*
 * A guest with no #PF handler stops with a message naming the address,
 * the level and the reason, and the instruction (in the interpreter's part).
 */
static void unhandled_write_to_read_only_page_stops(enum kvm_mmu_mode mode)
{
	expect_stop(mode, map_ro, RO_VA + 0x18, true,
		    "guest page fault: write of virtual address 0x700000000018: PTE read-only "
		    "(level 1), error code 0x3; rip ");
}

TEST(unhandled_write_to_read_only_page_stops_tdp)
{
	unhandled_write_to_read_only_page_stops(KVM_MMU_TDP);
}

TEST(unhandled_write_to_read_only_page_stops_shadow)
{
	unhandled_write_to_read_only_page_stops(KVM_MMU_SHADOW);
}

static void unhandled_read_of_unmapped_page_stops(enum kvm_mmu_mode mode)
{
	expect_stop(mode, map_ro, HOLE_VA, false,
		    "guest page fault: read of virtual address 0x700000200000: PDE not present "
		    "(level 2), error code 0");
}

TEST(unhandled_read_of_unmapped_page_stops_tdp)
{
	unhandled_read_of_unmapped_page_stops(KVM_MMU_TDP);
}

TEST(unhandled_read_of_unmapped_page_stops_shadow)
{
	unhandled_read_of_unmapped_page_stops(KVM_MMU_SHADOW);
}

static void page_table_outside_ram_stops(enum kvm_mmu_mode mode)
{
	expect_stop(mode, map_far, FAR_VA, false,
		    "the guest's page table at guest address 0x40000000 (walking to "
		    "0x710000000000) is outside guest RAM");
}

TEST(page_table_outside_ram_stops_tdp)
{
	page_table_outside_ram_stops(KVM_MMU_TDP);
}

TEST(page_table_outside_ram_stops_shadow)
{
	page_table_outside_ram_stops(KVM_MMU_SHADOW);
}

/* The soft vCPU names the address; on kvm the CPU raises the #GP, and the stub names it. */
static void non_canonical_address_stops(enum kvm_mmu_mode mode)
{
	expect_stop(mode, NULL, 0x0000800000000000UL, false,
		    test_backend() == VMM_BACKEND_KVM ?
			    "exception #GP general protection (vector 13, error code 0) at rip" :
			    "a read of 8 bytes at non-canonical address 0x800000000000");
}

TEST(non_canonical_address_stops_tdp)
{
	non_canonical_address_stops(KVM_MMU_TDP);
}

TEST(non_canonical_address_stops_shadow)
{
	non_canonical_address_stops(KVM_MMU_SHADOW);
}

/*
 * The host's side of the tests below: a round of @round each time the
 * guest has gone one round further, until @round says it has done
 * enough; then it tells the guest to stop.
 */
struct pressure_arg {
	struct paging_vm *p;
	unsigned long rounds, out, moved;
	bool (*round)(struct pressure_arg *a);
};

static int host_rounds(void *data)
{
	struct pressure_arg *a = data;
	struct vmm *vm = a->p->vm;
	unsigned long stop = 1, seen = 0, now;

	while (!kthread_should_stop()) {
		ram_read(vm, PROGRESS, &now, sizeof(now));
		if (now == seen) {
			sched_yield();
			continue;
		}
		seen = now;
		if (a->round(a))
			ram_write(vm, STOP_FLAG, &stop, sizeof(stop));
	}
	return 0;
}

/* guest_loop() in @mode, the host's rounds beside it. */
static void run_with_host_rounds(struct pressure_arg *a, enum kvm_mmu_mode mode)
{
	struct kthread *k;

	paging_vm_create(a->p, "guest_loop", mode);
	k = kthread_run(host_rounds, a, "host-rounds");
	run_to(a->p, UCALL_DONE, 0);
	kthread_stop(k);
}

/*
 * Reclaim and migrate the guest's table pages, and its data page, until
 * each was done a few times.
 */
static bool table_pressure_round(struct pressure_arg *a)
{
	struct vmm *vm = a->p->vm;

	for (gpa_t gpa = TABLES; gpa <= a->p->gt.next; gpa += PAGE_SIZE) {
		gpa_t page = gpa < a->p->gt.next ? gpa : DATA_PAGE;
		unsigned long hva = vm->ram_hva + (page - GUEST_RAM_BASE);

		if (a->rounds % 2)
			a->out += mm_try_pageout(vm->mm, hva);
		else
			a->moved += mm_try_migrate(vm->mm, hva);
	}
	return ++a->rounds >= 8 && a->out >= 16 && a->moved >= 16;
}

static void paging_under_table_pressure(enum kvm_mmu_mode mode)
{
	struct paging_vm p;
	struct pressure_arg a = { .p = &p, .round = table_pressure_round };

	test_swapon(8192);
	run_with_host_rounds(&a, mode);
	TEST_ASSERT(a.rounds >= 8, "the host got to work (%lu rounds)", a.rounds);
	TEST_ASSERT(atomic_long_read(&p.vm->kvm->stat.sptes_zapped) > 0, "SPTEs zapped");
	vmm_destroy(p.vm);
}

/*
 * The host zaps every SPTE and shadow page (what release and a slot
 * deletion do) each round, 16 times: the vCPU's root is zapped while it
 * counts it, under a running guest.  On kvm the hardware is on that
 * root: its flush stub runs on it (the VMM's top stays in every root),
 * the guest's next access faults, and the new root replaces it before
 * the guest goes on.
 */
static bool zap_all_round(struct pressure_arg *a)
{
	kvm_mmu_zap_all(a->p->vm->kvm);
	return ++a->rounds >= 16;
}

TEST(roots_zapped_under_a_running_guest_shadow)
{
	struct paging_vm p;
	struct pressure_arg a = { .p = &p, .round = zap_all_round };

	run_with_host_rounds(&a, KVM_MMU_SHADOW);
	TEST_ASSERT(a.rounds >= 16, "the host zapped (%lu rounds)", a.rounds);
	TEST_ASSERT(atomic_long_read(&p.vm->kvm->stat.shadow_pages_zapped) >= 16, "roots zapped");
	vmm_destroy(p.vm);
}

TEST(paging_under_table_pressure_tdp)
{
	paging_under_table_pressure(KVM_MMU_TDP);
}

TEST(paging_under_table_pressure_shadow)
{
	paging_under_table_pressure(KVM_MMU_SHADOW);
}

#endif
