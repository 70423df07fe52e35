/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The software vCPU: an interpreter for the integer x86-64 subset gcc emits
 * for freestanding guests (-mgeneral-regs-only -mno-red-zone), over a small
 * memory interface so it runs on flat memory in tests and on the secondary
 * MMU's software TLB in the VMM.  See vmm/soft/README.md.
 *
 * A struct soft_cpu is driven by one thread (its vCPU thread); only
 * soft_cpu_kick() and soft_cpu_invalidate_page() may be called from others.
 */
#ifndef NOPIN_VMM_SOFT_SOFT_CPU_H
#define NOPIN_VMM_SOFT_SOFT_CPU_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/soft/decode.h"
#include "vmm/soft/flags.h"

enum soft_gpr {
	SOFT_RAX,
	SOFT_RCX,
	SOFT_RDX,
	SOFT_RBX,
	SOFT_RSP,
	SOFT_RBP,
	SOFT_RSI,
	SOFT_RDI,
	SOFT_R8,
	SOFT_R9,
	SOFT_R10,
	SOFT_R11,
	SOFT_R12,
	SOFT_R13,
	SOFT_R14,
	SOFT_R15,
	SOFT_NR_GPRS,
};

enum soft_access {
	SOFT_ACCESS_FETCH,
	SOFT_ACCESS_READ,
	SOFT_ACCESS_WRITE, /* a store, or the whole of a read-modify-write */
};

enum soft_xlate_ret {
	SOFT_XLATE_OK,
	SOFT_XLATE_RETRY,   /* no usable translation yet: re-execute the instruction */
	SOFT_XLATE_OUTSIDE, /* outside every memslot: stop the guest */
	SOFT_XLATE_FAULT,   /* inside RAM, but the host refused: stop the guest */
	/*
	 * The guest's own page tables refuse the access: a #PF for the guest,
	 * with CR2 = the address and out->error_code (the architecture's
	 * PFERR_* bits).  The interpreter delivers it if the guest registered
	 * a handler, and otherwise stops the guest.
	 */
	SOFT_XLATE_PAGE_FAULT,
};

struct soft_xlate {
	void *hva;	     /* host address of the guest byte asked for */
	uint64_t gpa;	     /* its guest-physical address (the decode cache's key) */
	uint32_t error_code; /* SOFT_XLATE_PAGE_FAULT: the #PF error code */
	/*
	 * SOFT_XLATE_OK: the translator lets the interpreter keep the
	 * translation of the whole page, for accesses of the same kind (a
	 * write's allows reads too), in its own TLB (struct soft_tlb) until
	 * soft_cpu_flush_tlb().  The interpreter clears it before each call,
	 * so a translator that says nothing is asked again for every access.
	 */
	bool cacheable;
	/*
	 * With cacheable: two consecutive words that must still hold
	 * guard_val[] for the kept translation to be used (the VMM gives the
	 * frame's state and generation, the sanitizer's stamp); on a
	 * mismatch the interpreter asks the translator again, which reports.
	 * NULL: nothing to check.
	 */
	const unsigned int *guard;
	unsigned int guard_val[2];
};

/* The #PF error code's bits, as the architecture defines them. */
#define PFERR_PRESENT_MASK (1u << 0) /* a protection violation, not a missing page */
#define PFERR_WRITE_MASK (1u << 1)
#define PFERR_USER_MASK (1u << 2)
#define PFERR_RSVD_MASK (1u << 3)  /* a reserved bit set in a paging entry */
#define PFERR_FETCH_MASK (1u << 4) /* an instruction fetch (NX) */

struct soft_mem_ops {
	/*
	 * Translate @gva for an access of @len bytes that does not cross a
	 * page, made by the instruction at @rip.  SOFT_XLATE_RETRY abandons
	 * the instruction with no architectural effect: the caller (the
	 * secondary fault path, typically) has run before returning it.
	 * The returned host address is valid until the next call.
	 */
	enum soft_xlate_ret (*translate)(void *opaque, uint64_t gva, unsigned int len,
					 enum soft_access access, uint64_t rip,
					 struct soft_xlate *out);
	/*
	 * Port I/O of @size bytes; for an IN, store the value in *@val.
	 * Returns 0 to continue, SOFT_PIO_EXIT to complete the instruction
	 * and leave soft_cpu_run() with SOFT_EXIT_PIO, or a negative errno
	 * to stop the guest.  NULL: every port reads all-ones, writes vanish.
	 */
	int (*pio)(void *opaque, uint16_t port, unsigned int size, bool in, uint32_t *val);
	/*
	 * The guest's paging instructions: `mov %reg, %cr3` (0, or a negative
	 * errno: #GP for the guest) and `invlpg` (never called for a
	 * non-canonical address, where it does nothing).  Each drops what the
	 * translations cached; the decode cache needs nothing, as it is keyed
	 * by guest-physical page.  NULL: the instruction is not supported here.
	 */
	int (*load_cr3)(void *opaque, uint64_t cr3);
	void (*invlpg)(void *opaque, uint64_t gva);
};

#define SOFT_PIO_EXIT 1

/* The exceptions the interpreter raises, by their vector. */
enum soft_vector {
	SOFT_VEC_DE = 0, /* divide error: divide by zero, quotient overflow */
	SOFT_VEC_UD = 6, /* invalid opcode: ud2, or outside the subset if the guest has a handler */
	SOFT_VEC_GP = 13, /* general protection: non-canonical address, refused CR3, bad iretq */
	SOFT_VEC_PF = 14, /* page fault: SOFT_XLATE_PAGE_FAULT */
	SOFT_VEC_MF =
		16, /* x87 floating point: an exception FCW left unmasked, at the next x87 insn */
	SOFT_VEC_XM = 19, /* SIMD floating point: an exception MXCSR leaves unmasked */
};

#define SOFT_NR_VECTORS 32

/*
 * The VMM's GDT, which the kvm backend loads too, and the only selectors
 * iretq takes: ring 0's 64-bit code and flat data, then ring 3's in the
 * order SYSRET wants them (STAR[63:48] names the first: SS is 8 above it,
 * the 64-bit CS 16 above), so a guest's STAR is SOFT_STAR_ABI.  The 32-bit
 * user code segment is there for that order only: nothing runs in it.
 */
#define SOFT_SEL_CODE 0x08
#define SOFT_SEL_DATA 0x10
#define SOFT_SEL_USER32_CODE 0x1b
#define SOFT_SEL_USER_DATA 0x23
#define SOFT_SEL_USER_CODE 0x2b
#define SOFT_STAR_ABI ((uint64_t)(SOFT_SEL_USER32_CODE & ~3) << 48 | (uint64_t)SOFT_SEL_CODE << 32)

/* The MSRs the soft vCPU has; rdmsr or wrmsr of any other is #GP(0). */
#define SOFT_MSR_EFER 0xc0000080
#define SOFT_MSR_STAR 0xc0000081
#define SOFT_MSR_LSTAR 0xc0000082
#define SOFT_MSR_CSTAR 0xc0000083
#define SOFT_MSR_FMASK 0xc0000084
#define SOFT_MSR_FS_BASE 0xc0000100
#define SOFT_MSR_GS_BASE 0xc0000101
#define SOFT_MSR_KERNEL_GS_BASE 0xc0000102

#define SOFT_EFER_SCE (1u << 0) /* syscall and sysret */
#define SOFT_EFER_FIXED 0xd00UL /* LME, LMA, NXE: long mode with NX, never changed */

/*
 * The system state beyond the registers: the privilege level (CS's RPL),
 * SS, the FS and GS bases and the MSRs of syscall and swapgs.  A new vCPU
 * is at CPL 0 on SOFT_SEL_CODE/SOFT_SEL_DATA with every MSR zero.
 */
struct soft_system {
	uint16_t cs, ss;
	uint64_t fs_base, gs_base, kernel_gs_base;
	uint64_t efer; /* SOFT_EFER_FIXED | what the guest set of SOFT_EFER_SCE */
	uint64_t star, lstar, cstar, fmask;
};

/* Where an exception goes: its handler, on a stack of its own (as an IST slot). */
struct soft_exception_handler {
	uint64_t rip;	/* 0: none; the guest stops on the exception */
	uint64_t stack; /* its top; the frame is pushed below it, 16-byte aligned */
};

enum soft_exit_reason {
	SOFT_EXIT_NONE,
	SOFT_EXIT_PIO,	 /* the pio callback asked for it; exit.port/size/in/data */
	SOFT_EXIT_HLT,	 /* rip is past the hlt */
	SOFT_EXIT_KICK,	 /* soft_cpu_kick() was called */
	SOFT_EXIT_LIMIT, /* ran the number of instructions asked for */
	SOFT_EXIT_ERROR, /* exit.error and exit.message say what; rip is the culprit */
};

enum soft_error {
	SOFT_ERR_NONE,
	SOFT_ERR_UNSUPPORTED,  /* an instruction outside the interpreted subset */
	SOFT_ERR_DECODE,       /* bytes Capstone cannot decode */
	SOFT_ERR_EXCEPTION,    /* a guest exception with no handler: exit.vector, error_code */
	SOFT_ERR_DOUBLE_FAULT, /* an exception while delivering one (exit.vector: the first) */
	SOFT_ERR_OUTSIDE,      /* an access outside every memslot */
	SOFT_ERR_PIO,	       /* the pio callback failed */
};

struct soft_exit {
	enum soft_exit_reason reason;
	enum soft_error error;
	uint64_t addr; /* SOFT_ERR_OUTSIDE: the guest address; a #PF's: CR2 */
	uint8_t vector;
	uint32_t error_code;
	uint16_t port;
	uint8_t size;
	bool in;
	uint32_t data;
	char message[1024];
};

/*
 * The interpreter's own TLB (access.h, soft_xlate()): a direct-mapped cache
 * of the translations the translator called cacheable, by guest-virtual
 * page, in front of the translate callback.  See soft_cpu_flush_tlb().
 */
#define SOFT_TLB_ENTRIES 64
#define SOFT_TLB_INVALID 1UL /* never a page address */

struct soft_tlb_entry {
	uint64_t va_read;  /* the page reads may use, or SOFT_TLB_INVALID */
	uint64_t va_write; /* the page writes may use, or SOFT_TLB_INVALID */
	char *hva;	   /* the host address of the page */
	uint64_t gpa;	   /* its guest-physical address */
	const unsigned int *guard;
	unsigned int guard_val[2];
};

struct soft_tlb {
	struct soft_tlb_entry data[SOFT_TLB_ENTRIES];
	/* The code page of the last fetch: va_read is the page fetches may use. */
	struct soft_tlb_entry code;
	uint64_t misses, flushes; /* translations asked of the translator; flushes */
};

struct soft_stats {
	uint64_t insns;
	uint64_t retries;    /* instructions abandoned on SOFT_XLATE_RETRY */
	uint64_t exceptions; /* delivered to the guest's handlers */
};

/* An SSE register, in the lane views the instructions use (little-endian, as x86). */
union soft_xmm {
	uint8_t b[16];
	uint16_t w[8];
	uint32_t d[4];
	uint64_t q[2];
	float f[4];
	double df[2];
};

#define SOFT_NR_XMMS 16
#define SOFT_MXCSR_RESET 0x1f80 /* every exception masked, round to nearest */
#define SOFT_FCW_RESET 0x037f	/* x87 control word after fninit: all masked, nearest, 64-bit */
#define SOFT_FCW_WRITABLE 0x1f3f
#define SOFT_FCW_ONE 0x0040 /* bit 6 reads as one */
#define SOFT_X87_AREA 160

struct soft_cpu {
	uint64_t gpr[SOFT_NR_GPRS];
	uint64_t rip;
	struct soft_flags flags;
	union soft_xmm xmm[SOFT_NR_XMMS];
	uint32_t mxcsr;
	uint16_t fcw; /* the x87 control word (x87.c) */
	/*
	 * The rest of the x87's state (x87.c) as bytes 0..159 of an fxsave64
	 * area: FSW (with TOP and the condition codes), the abridged tag
	 * word, FOP/FIP/FDP (kept zero), ST0..ST7 every 16 bytes.  Its FCW
	 * and MXCSR slots are not used: @fcw and @mxcsr are the state.
	 */
	uint8_t x87[SOFT_X87_AREA];
	uint64_t cr2; /* the address of the last #PF delivered */
	uint64_t cr3; /* what `mov %cr3, %reg` reads: the last CR3 loaded */
	struct soft_exception_handler handlers[SOFT_NR_VECTORS];
	struct soft_system sys;

	const struct soft_mem_ops *ops;
	void *opaque;
	struct soft_decode_cache cache;
	struct soft_tlb tlb;
	int kick; /* set by soft_cpu_kick(), cleared by the run loop */

	struct soft_exit exit;
	struct soft_stats stats;
	/* The instruction being executed, for reports made from a callback. */
	const struct soft_insn *cur_insn;
};

int soft_cpu_init(struct soft_cpu *cpu, const struct soft_mem_ops *ops, void *opaque);
void soft_cpu_destroy(struct soft_cpu *cpu);

/*
 * Execute until an exit reason; @max_insns 0 means no limit.  The kick flag
 * is checked before every instruction.  Returns cpu->exit.reason.
 */
enum soft_exit_reason soft_cpu_run(struct soft_cpu *cpu, uint64_t max_insns);

/* Any thread: make soft_cpu_run() return SOFT_EXIT_KICK before its next instruction. */
void soft_cpu_kick(struct soft_cpu *cpu);

/*
 * Any thread: drop the decoded instructions of the guest-physical page
 * holding @gpa (it was written behind the vCPU's back).  The vCPU drops
 * them before its next instruction.  SOFT_INVALIDATE_ALL drops every page.
 * A zapped translation needs no call: the flush that follows it
 * revalidates (soft_cpu_revalidate_code()).
 */
#define SOFT_INVALIDATE_ALL SOFT_CACHE_DROP_ALL
void soft_cpu_invalidate_page(struct soft_cpu *cpu, uint64_t gpa);

/*
 * The vCPU's own thread: the frames behind decoded code may have changed
 * (the VMM served a flush request).  Each decoded page is kept if its next
 * fetch finds it on the frame it was decoded from (struct soft_xlate's
 * guard), dropped if not; a translator that gives no guard loses them all.
 */
void soft_cpu_revalidate_code(struct soft_cpu *cpu);

/*
 * The vCPU's own thread: drop every translation the interpreter keeps
 * (struct soft_tlb), at once.  The VMM calls it wherever the translations
 * behind them are dropped: a flush request served, the guest's INVLPG, TLB
 * flush or CR3 load, a stale frame found.  soft_cpu_run() calls it on
 * entry, and the interpreter on its own `mov %cr3` and `invlpg`.  It may be
 * called from inside the translate callback.
 */
void soft_cpu_flush_tlb(struct soft_cpu *cpu);

/*
 * The guest's handler for @vector: @rip, entered on the stack whose top is
 * @stack, as through a 64-bit interrupt gate with an IST slot; @rip 0
 * removes it, so the exception stops the guest again.  The vCPU's own
 * thread, between runs.  0, or -EINVAL for a vector past the exceptions
 * or a non-canonical address.
 */
int soft_cpu_set_exception_handler(struct soft_cpu *cpu, unsigned int vector, uint64_t rip,
				   uint64_t stack);

/*
 * After a SOFT_EXIT_PIO for an IN: put @val in al/ax/eax (exit.size), for a
 * VMM that answers the port itself rather than in the pio callback.
 */
void soft_cpu_complete_pio_in(struct soft_cpu *cpu, uint32_t val);

/* The current privilege level: 0 or 3. */
static inline unsigned int soft_cpu_cpl(const struct soft_cpu *cpu)
{
	return cpu->sys.cs & 3;
}

/*
 * Load CS: a change of privilege drops the interpreter's TLB, whose
 * entries were checked for the privilege they were made at (the U/S check
 * is the translator's, and a supervisor translation must not serve ring 3).
 */
static inline void soft_cpu_set_cs(struct soft_cpu *cpu, uint16_t cs)
{
	if ((cs ^ cpu->sys.cs) & 3)
		soft_cpu_flush_tlb(cpu);
	cpu->sys.cs = cs;
}

uint64_t soft_cpu_get_rflags(struct soft_cpu *cpu);
void soft_cpu_set_rflags(struct soft_cpu *cpu, uint64_t rflags);

/*
 * From a callback (translate, pio): "rip 0x...: mnemonic operands" of the
 * instruction being executed, for a report.
 */
void soft_cpu_describe_insn(struct soft_cpu *cpu, char *buf, size_t len);

/* Print "rax=... rip=... rflags=..." into @buf; returns the length. */
int soft_cpu_format_regs(struct soft_cpu *cpu, char *buf, unsigned int len);

#endif
