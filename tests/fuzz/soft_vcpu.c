// SPDX-License-Identifier: GPL-2.0
/*
 * The soft vCPU's harness: arbitrary instruction bytes run on the soft
 * vCPU (vmm/soft) and on Unicorn, from the same registers, flags, SSE
 * state and flat memory (code, data, stack), then everything compared.
 *
 * The input: 8 bytes that seed the registers, xmm registers and memory
 * (base/prandom.h), then up to FUZZ_CODE_MAX bytes of code, followed by a
 * hlt.  A run is judged only when both CPUs ran it to that hlt within
 * FUZZ_MAX_INSNS: an instruction either side refuses (outside the soft
 * vCPU's subset, invalid to Unicorn), an exception, an access outside the
 * three regions or a store into the code, a loop, or an early hlt makes it
 * FUZZ_SKIP.  So do instructions whose result is the CPU's own (cpuid,
 * rdtsc, rdrand...), and a flag that one instruction leaves undefined and
 * a later one reads: the decoder's (Capstone's) flag lists say which
 * flags each instruction leaves undefined, and those are not compared.
 * Unicorn 2.0.1 never sets MXCSR's exception flags: not compared either.
 */
#include <capstone/capstone.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicorn/unicorn.h>

#include "base/prandom.h"
#include "tests/fuzz/fuzz.h"
#include "vmm/soft/soft_cpu.h"

#define FUZZ_CODE_BASE 0x1000000UL
#define FUZZ_CODE_SIZE 0x1000UL
#define FUZZ_CODE_MAX 256
#define FUZZ_DATA_BASE 0x200000UL
#define FUZZ_DATA_SIZE 0x2000UL
#define FUZZ_STACK_BASE 0x300000UL
#define FUZZ_STACK_SIZE 0x1000UL
#define FUZZ_MAX_INSNS 256
#define FUZZ_FS_BASE 0x48UL
#define FUZZ_GS_BASE (-0x88UL)
#define FUZZ_MXCSR_FLAGS 0x3fu

#define FL_CF 0x1u
#define FL_PF 0x4u
#define FL_AF 0x10u
#define FL_ZF 0x40u
#define FL_SF 0x80u
#define FL_OF 0x800u
#define FL_ARITH (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

/* The state both CPUs start from, and what each leaves. */
struct fuzz_state {
	uint64_t gpr[SOFT_NR_GPRS], rip, rflags;
	union soft_xmm xmm[SOFT_NR_XMMS];
	uint32_t mxcsr;
	uint8_t data[FUZZ_DATA_SIZE], stack[FUZZ_STACK_SIZE];
};

struct fuzz_flat {
	uint8_t code[FUZZ_CODE_SIZE];
	struct fuzz_state *s;
};

static enum soft_xlate_ret fuzz_translate(void *opaque, uint64_t gva, unsigned int len,
					  enum soft_access access, uint64_t rip,
					  struct soft_xlate *out)
{
	struct fuzz_flat *m = opaque;

	out->gpa = gva;
	if (gva >= FUZZ_CODE_BASE && gva + len <= FUZZ_CODE_BASE + FUZZ_CODE_SIZE &&
	    access != SOFT_ACCESS_WRITE)
		out->hva = m->code + (gva - FUZZ_CODE_BASE);
	else if (gva >= FUZZ_DATA_BASE && gva + len <= FUZZ_DATA_BASE + FUZZ_DATA_SIZE)
		out->hva = m->s->data + (gva - FUZZ_DATA_BASE);
	else if (gva >= FUZZ_STACK_BASE && gva + len <= FUZZ_STACK_BASE + FUZZ_STACK_SIZE)
		out->hva = m->s->stack + (gva - FUZZ_STACK_BASE);
	else
		return SOFT_XLATE_OUTSIDE;
	return SOFT_XLATE_OK;
}

/* No device on any port, as on Unicorn without an I/O hook: in reads 0, out is dropped. */
static int fuzz_pio(void *opaque, uint16_t port, unsigned int size, bool in, uint32_t *val)
{
	if (in)
		*val = 0;
	return 0;
}

static const struct soft_mem_ops fuzz_ops = { .translate = fuzz_translate, .pio = fuzz_pio };

static const int uc_gpr[SOFT_NR_GPRS] = {
	UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RBX,
	UC_X86_REG_RSP, UC_X86_REG_RBP, UC_X86_REG_RSI, UC_X86_REG_RDI,
	UC_X86_REG_R8,	UC_X86_REG_R9,	UC_X86_REG_R10, UC_X86_REG_R11,
	UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14, UC_X86_REG_R15,
};

/* A register value: 0, all ones, a power of two, a pointer into data, or anything. */
static uint64_t fuzz_rand_reg(uint64_t *rng)
{
	uint64_t v = prandom_u64(rng);

	switch (v % 8) {
	case 0:
		return 0;
	case 1:
		return -1UL;
	case 2:
		return 1UL << (v >> 8) % 64;
	case 3:
		return FUZZ_DATA_BASE + (v >> 8) % FUZZ_DATA_SIZE;
	default:
		return prandom_u64(rng);
	}
}

/* The start state of seed @seed: rbx, rsi and rdi point into the data, rsp into the stack. */
static void fuzz_init_state(struct fuzz_state *s, uint64_t seed)
{
	uint64_t rng = seed ? seed : 1;
	unsigned int i;

	for (i = 0; i < SOFT_NR_GPRS; i++)
		s->gpr[i] = fuzz_rand_reg(&rng);
	s->gpr[SOFT_RBX] = FUZZ_DATA_BASE + 0x1000;
	s->gpr[SOFT_RSI] = FUZZ_DATA_BASE + 0x200;
	s->gpr[SOFT_RDI] = FUZZ_DATA_BASE + 0x1800;
	s->gpr[SOFT_RSP] = FUZZ_STACK_BASE + FUZZ_STACK_SIZE - 512;
	s->rip = FUZZ_CODE_BASE;
	s->rflags = 0x2 | (prandom_u64(&rng) & FL_ARITH);
	for (i = 0; i < SOFT_NR_XMMS; i++) {
		s->xmm[i].q[0] = fuzz_rand_reg(&rng);
		s->xmm[i].q[1] = fuzz_rand_reg(&rng);
	}
	s->mxcsr = SOFT_MXCSR_RESET | (prandom_u64(&rng) % 4) << 13;
	for (i = 0; i < FUZZ_DATA_SIZE; i += 8) {
		uint64_t v = prandom_u64(&rng);

		memcpy(&s->data[i], &v, 8);
	}
	for (i = 0; i < FUZZ_STACK_SIZE; i += 8) {
		uint64_t v = prandom_u64(&rng);

		memcpy(&s->stack[i], &v, 8);
	}
}

/* Capstone's flag bits, as RFLAGS bits. */
static unsigned int fuzz_cs_flags(uint64_t ef, bool undefined)
{
	unsigned int f = 0;

	if (undefined) {
		f |= ef & X86_EFLAGS_UNDEFINED_CF ? FL_CF : 0;
		f |= ef & X86_EFLAGS_UNDEFINED_PF ? FL_PF : 0;
		f |= ef & X86_EFLAGS_UNDEFINED_AF ? FL_AF : 0;
		f |= ef & X86_EFLAGS_UNDEFINED_ZF ? FL_ZF : 0;
		f |= ef & X86_EFLAGS_UNDEFINED_SF ? FL_SF : 0;
		f |= ef & X86_EFLAGS_UNDEFINED_OF ? FL_OF : 0;
	} else {
		f |= ef & X86_EFLAGS_TEST_CF ? FL_CF : 0;
		f |= ef & X86_EFLAGS_TEST_PF ? FL_PF : 0;
		f |= ef & X86_EFLAGS_TEST_AF ? FL_AF : 0;
		f |= ef & X86_EFLAGS_TEST_ZF ? FL_ZF : 0;
		f |= ef & X86_EFLAGS_TEST_SF ? FL_SF : 0;
		f |= ef & X86_EFLAGS_TEST_OF ? FL_OF : 0;
	}
	return f;
}

/*
 * The flags the SDM leaves undefined after these, which Capstone 4's
 * lists miss (bsf's CF, read by an adc, differed): added to its answer.
 * Shifts and rotates by 0 change no flag; by more than 1, OF is undefined.
 */
static unsigned int fuzz_undefined_flags(unsigned int id)
{
	switch (id) {
	case X86_INS_BSF:
	case X86_INS_BSR:
		return FL_CF | FL_OF | FL_SF | FL_AF | FL_PF;
	case X86_INS_MUL:
	case X86_INS_IMUL:
		return FL_SF | FL_ZF | FL_AF | FL_PF;
	case X86_INS_DIV:
	case X86_INS_IDIV:
		return FL_ARITH;
	case X86_INS_SHL:
	case X86_INS_SHR:
	case X86_INS_SAR:
	case X86_INS_SAL:
		return FL_OF | FL_AF; /* OF for counts other than 1 */
	case X86_INS_ROL:
	case X86_INS_ROR:
	case X86_INS_RCL:
	case X86_INS_RCR:
		return FL_OF;
	case X86_INS_SHLD:
	case X86_INS_SHRD:
		return FL_OF | FL_AF | FL_CF; /* CF for counts beyond the size */
	case X86_INS_AND:
	case X86_INS_OR:
	case X86_INS_XOR:
	case X86_INS_TEST:
		return FL_AF;
	case X86_INS_BT:
	case X86_INS_BTS:
	case X86_INS_BTR:
	case X86_INS_BTC:
		return FL_OF | FL_SF | FL_AF | FL_PF;
	case X86_INS_LZCNT:
	case X86_INS_TZCNT:
		return FL_OF | FL_SF | FL_AF | FL_PF;
	case X86_INS_ANDN:
	case X86_INS_BEXTR:
	case X86_INS_BLSI:
	case X86_INS_BLSMSK:
	case X86_INS_BLSR:
	case X86_INS_BZHI:
		return FL_AF | FL_PF;
	default:
		return 0;
	}
}

/* The flags these read, which Capstone 4 lists as modified only (adc's CF). */
static unsigned int fuzz_tested_flags(unsigned int id)
{
	switch (id) {
	case X86_INS_ADC:
	case X86_INS_SBB:
	case X86_INS_RCL:
	case X86_INS_RCR:
	case X86_INS_CMC:
	case X86_INS_ADCX:
		return FL_CF;
	case X86_INS_ADOX:
		return FL_OF;
	default:
		return 0;
	}
}

/*
 * Instructions the two CPUs cannot be compared on: results that are the
 * CPU's own (cpuid, rdtsc, rdrand, the flags image of pushf and lahf),
 * string port instructions, far transfers and interrupts (Unicorn's far jmp or call through
 * a register operand is a QEMU "tcg fatal error" abort), and what the two
 * CPU models differ in.
 */
static bool fuzz_insn_incomparable(unsigned int id)
{
	switch (id) {
	case X86_INS_CPUID:
	case X86_INS_RDTSC:
	case X86_INS_RDTSCP:
	case X86_INS_RDRAND:
	case X86_INS_RDSEED:
	case X86_INS_RDPMC:
	case X86_INS_XGETBV:
	case X86_INS_PUSHFQ:
	case X86_INS_PUSHF:
	case X86_INS_PUSHFD:
	case X86_INS_LAHF:
	case X86_INS_INSB:
	case X86_INS_INSW:
	case X86_INS_INSD:
	case X86_INS_OUTSB:
	case X86_INS_OUTSW:
	case X86_INS_OUTSD:
	case X86_INS_LCALL:
	case X86_INS_LJMP:
	case X86_INS_RETF:
	case X86_INS_RETFQ:
	case X86_INS_SYSCALL:
	case X86_INS_SYSRET:
	/* The x87 state they save differs in what the two CPUs track (FIP, FDP, FOP). */
	case X86_INS_FXSAVE:
	case X86_INS_FXSAVE64:
	case X86_INS_FXRSTOR:
	case X86_INS_FXRSTOR64:
	case X86_INS_XSAVE:
	case X86_INS_XRSTOR:
	/* Unicorn's CPU has no LZCNT or TZCNT: f3 0f bd is bsr there, as on CPUs before them. */
	case X86_INS_LZCNT:
	case X86_INS_TZCNT:
		return true;
	default:
		return false;
	}
}

static bool fuzz_legacy_prefix(uint8_t b)
{
	return b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x64 || b == 0x65 ||
	       b == 0x66 || b == 0x67 || b == 0xf0 || b == 0xf2 || b == 0xf3;
}

/*
 * Groups left out: the x87 and MMX (Unicorn's x87 does not underflow: an
 * fstp of an empty register stores zeroes where the CPU, and the soft
 * vCPU, store the indefinite NaN; the fpu image checks the soft x87
 * against native code instead), 3DNow!, interrupts and privileged ones.
 */
static bool fuzz_group_incomparable(const cs_insn *insn)
{
	const cs_detail *d = insn->detail;
	unsigned int i = 0;

	/* Capstone 4 puts some x87 instructions (fstp st(i), fnstsw) in no group. */
	while (i < insn->size &&
	       (fuzz_legacy_prefix(insn->bytes[i]) || (insn->bytes[i] & 0xf0) == 0x40))
		i++;
	if (i < insn->size && insn->bytes[i] >= 0xd8 && insn->bytes[i] <= 0xdf)
		return true;
	for (i = 0; i < d->groups_count; i++)
		switch (d->groups[i]) {
		case X86_GRP_FPU:
		case X86_GRP_MMX:
		case X86_GRP_3DNOW:
		case X86_GRP_INT:
		case X86_GRP_IRET:
		case X86_GRP_PRIVILEGE:
			return true;
		}
	return false;
}

/*
 * A REX byte followed by a legacy prefix: the CPU (and the soft vCPU, and
 * Capstone) ignore that REX, as it does not come last before the opcode;
 * Unicorn 2.0.1 applies it (`48 26 bc imm32` moves into rsp, 64 bits).
 */
static bool fuzz_rex_not_last(const cs_insn *insn)
{
	bool rex = false;

	for (unsigned int i = 0; i < insn->size; i++) {
		uint8_t b = insn->bytes[i];

		if (b >= 0x40 && b <= 0x4f)
			rex = true;
		else if (fuzz_legacy_prefix(b) && rex)
			return true;
		else if (!fuzz_legacy_prefix(b))
			break;
	}
	return false;
}

/* Does @insn carry both 66 and F2 or F3 before a 0f opcode? */
static bool fuzz_66_and_rep(const cs_insn *insn)
{
	bool opsize = false, rep = false;
	unsigned int i;

	for (i = 0; i < insn->size &&
		    (fuzz_legacy_prefix(insn->bytes[i]) || (insn->bytes[i] & 0xf0) == 0x40);
	     i++) {
		opsize |= insn->bytes[i] == 0x66;
		rep |= insn->bytes[i] == 0xf2 || insn->bytes[i] == 0xf3;
	}
	return opsize && rep && i < insn->size && insn->bytes[i] == 0x0f;
}

/*
 * Where Unicorn 2.0.1 (QEMU 5) is wrong or the SDM leaves the result
 * undefined: a 32-bit cmpxchg whose comparison succeeds leaves RAX alone
 * (only a failed one loads EAX, zero-extending), Unicorn zero-extends it
 * either way; bswap of a 16-bit register is undefined, as is a 16-bit
 * shld or shrd by a count beyond 16.
 */
static bool fuzz_result_incomparable(const cs_insn *insn)
{
	const cs_x86 *x = &insn->detail->x86;

	if (insn->id == X86_INS_CMPXCHG && x->op_count && x->operands[0].size == 4)
		return true;
	/* f3 0f bc/bd with prefixes between: tzcnt/lzcnt to the CPU, bsf/bsr to Capstone 4. */
	if (insn->id == X86_INS_BSF || insn->id == X86_INS_BSR)
		for (unsigned int i = 0; i < insn->size && (fuzz_legacy_prefix(insn->bytes[i]) ||
							    (insn->bytes[i] & 0xf0) == 0x40);
		     i++)
			if (insn->bytes[i] == 0xf3)
				return true;
	/*
	 * 66 and F2/F3 on one 0f opcode: F2/F3 is the mandatory prefix (f3
	 * 66 0f e6 is cvtdq2pd), Unicorn takes the 66 (cvttpd2dq).
	 */
	if (fuzz_66_and_rep(insn))
		return true;
	/* A 16-bit shld/shrd by more than 16 leaves the result undefined. */
	if ((insn->id == X86_INS_SHLD || insn->id == X86_INS_SHRD) && x->op_count &&
	    x->operands[0].size == 2)
		return true;
	return insn->id == X86_INS_BSWAP && x->op_count && x->operands[0].size == 2;
}

/*
 * Byte patterns skipped anywhere in the code, since a jump may land in the
 * middle of an instruction: ff /3 and ff /5 with a register operand (a far
 * call or jmp through a register, invalid) and lock on a string
 * instruction abort Unicorn in QEMU's code generator ("tcg fatal error");
 * a REX before a legacy prefix is fuzz_rex_not_last()'s quirk.
 */
static bool fuzz_bytes_incomparable(const uint8_t *code, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		uint8_t n = code[i + 1];

		if (code[i] == 0xff && (n & 0xc0) == 0xc0 &&
		    ((n >> 3 & 7) == 3 || (n >> 3 & 7) == 5))
			return true;
		if ((code[i] & 0xf0) == 0x40 && fuzz_legacy_prefix(n))
			return true;
		if (code[i] == 0xf0 && ((n >= 0xa4 && n <= 0xa7) || (n >= 0xaa && n <= 0xaf)))
			return true;
	}
	return false;
}

/*
 * The flags to compare for @code, or -1 to skip it: the arithmetic flags
 * no instruction leaves undefined.  Decoded linearly, as written (bytes
 * Capstone cannot decode skip it: Unicorn aborts on some); a flag left
 * undefined and read later (by any instruction of the sequence) skips it,
 * since what the reader did depends on it.
 */
static int fuzz_flag_mask(const uint8_t *code, size_t len)
{
	static csh handle;
	unsigned int undefined = 0, tested = 0;
	const uint8_t *p = code;
	uint64_t addr = FUZZ_CODE_BASE;
	cs_insn *insn;
	bool skip = false;

	if (!handle) {
		if (cs_open(CS_ARCH_X86, CS_MODE_64, &handle) != CS_ERR_OK)
			return -1;
		cs_option(handle, CS_OPT_DETAIL, CS_OPT_ON);
	}
	insn = cs_malloc(handle);
	while (len && !skip && cs_disasm_iter(handle, &p, &len, &addr, insn)) {
		uint64_t ef = insn->detail->x86.eflags;

		skip = fuzz_insn_incomparable(insn->id) || fuzz_group_incomparable(insn) ||
		       fuzz_rex_not_last(insn) || fuzz_result_incomparable(insn);
		tested |= fuzz_cs_flags(ef, false) | fuzz_tested_flags(insn->id);
		undefined |= fuzz_cs_flags(ef, true) | fuzz_undefined_flags(insn->id);
	}
	cs_free(insn, 1);
	if (skip || len || (undefined & tested))
		return -1;
	return FL_ARITH & ~undefined;
}

/*
 * Unicorn, opened once: it calls fuzz_uc_interrupt() for an exception,
 * which stops it (and leaves QEMU's "exception in progress", so each input
 * starts from the context saved at open).
 */
static uc_engine *fuzz_uc;
static uc_context *fuzz_uc_fresh;
static bool fuzz_uc_faulted;

static void fuzz_uc_interrupt(uc_engine *uc, uint32_t intno, void *data)
{
	fuzz_uc_faulted = true;
	uc_emu_stop(uc);
}

static int fuzz_uc_open(void)
{
	static const uint64_t gdt[] = { 0, 0x00af9b000000ffffUL, 0x00cf93000000ffffUL };
	uc_x86_mmr gdtr = { .base = 0x400000, .limit = sizeof(gdt) - 1 };
	uint64_t cr4 = 0x600, fpcw = SOFT_FCW_RESET, fptag = 0xffff;
	uc_hook hook;

	if (fuzz_uc)
		return 0;
	if (uc_open(UC_ARCH_X86, UC_MODE_64, &fuzz_uc) != UC_ERR_OK ||
	    uc_mem_map(fuzz_uc, FUZZ_CODE_BASE, FUZZ_CODE_SIZE, UC_PROT_READ | UC_PROT_EXEC) ||
	    uc_mem_map(fuzz_uc, FUZZ_DATA_BASE, FUZZ_DATA_SIZE, UC_PROT_READ | UC_PROT_WRITE) ||
	    uc_mem_map(fuzz_uc, FUZZ_STACK_BASE, FUZZ_STACK_SIZE, UC_PROT_READ | UC_PROT_WRITE) ||
	    uc_mem_map(fuzz_uc, 0x400000, 0x1000, UC_PROT_READ) ||
	    uc_mem_write(fuzz_uc, 0x400000, gdt, sizeof(gdt)) ||
	    uc_reg_write(fuzz_uc, UC_X86_REG_GDTR, &gdtr) ||
	    uc_hook_add(fuzz_uc, &hook, UC_HOOK_INTR, fuzz_uc_interrupt, NULL, 1, 0) ||
	    /* CR4.OSFXSR and OSXMMEXCPT as an OS sets them; the x87 as fninit leaves it. */
	    uc_reg_write(fuzz_uc, UC_X86_REG_CR4, &cr4) ||
	    uc_reg_write(fuzz_uc, UC_X86_REG_FPCW, &fpcw) ||
	    uc_reg_write(fuzz_uc, UC_X86_REG_FPTAG, &fptag) ||
	    uc_reg_write(fuzz_uc, UC_X86_REG_FS_BASE, &(uint64_t){ FUZZ_FS_BASE }) ||
	    uc_reg_write(fuzz_uc, UC_X86_REG_GS_BASE, &(uint64_t){ FUZZ_GS_BASE }) ||
	    uc_context_alloc(fuzz_uc, &fuzz_uc_fresh) || uc_context_save(fuzz_uc, fuzz_uc_fresh))
		return -1;
	return 0;
}

/* Run @s on Unicorn; false if it did not end at the hlt at @end. */
static bool fuzz_run_unicorn(struct fuzz_state *s, const uint8_t *code, uint64_t end)
{
	unsigned int i;
	uc_err err;

	if (uc_context_restore(fuzz_uc, fuzz_uc_fresh) ||
	    uc_mem_write(fuzz_uc, FUZZ_CODE_BASE, code, FUZZ_CODE_SIZE) ||
	    uc_ctl_remove_cache(fuzz_uc, FUZZ_CODE_BASE, FUZZ_CODE_BASE + FUZZ_CODE_SIZE) ||
	    uc_mem_write(fuzz_uc, FUZZ_DATA_BASE, s->data, FUZZ_DATA_SIZE) ||
	    uc_mem_write(fuzz_uc, FUZZ_STACK_BASE, s->stack, FUZZ_STACK_SIZE))
		return false;
	for (i = 0; i < SOFT_NR_GPRS; i++)
		uc_reg_write(fuzz_uc, uc_gpr[i], &s->gpr[i]);
	uc_reg_write(fuzz_uc, UC_X86_REG_EFLAGS, &s->rflags);
	for (i = 0; i < SOFT_NR_XMMS; i++)
		uc_reg_write(fuzz_uc, UC_X86_REG_XMM0 + i, &s->xmm[i]);
	uc_reg_write(fuzz_uc, UC_X86_REG_MXCSR, &s->mxcsr);
	fuzz_uc_faulted = false;
	err = uc_emu_start(fuzz_uc, FUZZ_CODE_BASE, end, 0, FUZZ_MAX_INSNS);
	for (i = 0; i < SOFT_NR_GPRS; i++)
		uc_reg_read(fuzz_uc, uc_gpr[i], &s->gpr[i]);
	uc_reg_read(fuzz_uc, UC_X86_REG_RIP, &s->rip);
	uc_reg_read(fuzz_uc, UC_X86_REG_EFLAGS, &s->rflags);
	for (i = 0; i < SOFT_NR_XMMS; i++)
		uc_reg_read(fuzz_uc, UC_X86_REG_XMM0 + i, &s->xmm[i]);
	uc_reg_read(fuzz_uc, UC_X86_REG_MXCSR, &s->mxcsr);
	uc_mem_read(fuzz_uc, FUZZ_DATA_BASE, s->data, FUZZ_DATA_SIZE);
	uc_mem_read(fuzz_uc, FUZZ_STACK_BASE, s->stack, FUZZ_STACK_SIZE);
	return err == UC_ERR_OK && !fuzz_uc_faulted && s->rip == end;
}

/* Run @s on a new soft vCPU; false if it did not end at the hlt at @end. */
static bool fuzz_run_soft(struct fuzz_state *s, struct fuzz_flat *m, uint64_t end)
{
	struct soft_cpu cpu;
	enum soft_exit_reason r;

	m->s = s;
	if (soft_cpu_init(&cpu, &fuzz_ops, m))
		return false;
	cpu.sys.fs_base = FUZZ_FS_BASE;
	cpu.sys.gs_base = FUZZ_GS_BASE;
	memcpy(cpu.gpr, s->gpr, sizeof(s->gpr));
	memcpy(cpu.xmm, s->xmm, sizeof(s->xmm));
	cpu.mxcsr = s->mxcsr;
	cpu.rip = s->rip;
	soft_cpu_set_rflags(&cpu, s->rflags);
	r = soft_cpu_run(&cpu, FUZZ_MAX_INSNS + 1); /* + the hlt */
	memcpy(s->gpr, cpu.gpr, sizeof(s->gpr));
	memcpy(s->xmm, cpu.xmm, sizeof(s->xmm));
	s->mxcsr = cpu.mxcsr;
	s->rip = cpu.rip - 1; /* on the hlt, as Unicorn stops */
	s->rflags = soft_cpu_get_rflags(&cpu);
	soft_cpu_destroy(&cpu);
	return r == SOFT_EXIT_HLT && s->rip == end;
}

/* Print what differs; true if anything does. */
static bool fuzz_differs(const struct fuzz_state *soft, const struct fuzz_state *uc,
			 unsigned int flag_mask)
{
	bool differs = false;
	unsigned int i;

	for (i = 0; i < SOFT_NR_GPRS; i++) {
		if (soft->gpr[i] == uc->gpr[i])
			continue;
		fprintf(stderr, "gpr %u: soft %#lx unicorn %#lx\n", i, (unsigned long)soft->gpr[i],
			(unsigned long)uc->gpr[i]);
		differs = true;
	}
	if ((soft->rflags ^ uc->rflags) & flag_mask) {
		fprintf(stderr, "rflags: soft %#lx unicorn %#lx (compared %#x)\n",
			(unsigned long)soft->rflags, (unsigned long)uc->rflags, flag_mask);
		differs = true;
	}
	for (i = 0; i < SOFT_NR_XMMS; i++) {
		if (!memcmp(&soft->xmm[i], &uc->xmm[i], sizeof(uc->xmm[i])))
			continue;
		fprintf(stderr, "xmm%u: soft %016lx%016lx unicorn %016lx%016lx\n", i,
			(unsigned long)soft->xmm[i].q[1], (unsigned long)soft->xmm[i].q[0],
			(unsigned long)uc->xmm[i].q[1], (unsigned long)uc->xmm[i].q[0]);
		differs = true;
	}
	if ((soft->mxcsr ^ uc->mxcsr) & ~FUZZ_MXCSR_FLAGS) {
		fprintf(stderr, "mxcsr: soft %#x unicorn %#x\n", soft->mxcsr, uc->mxcsr);
		differs = true;
	}
	for (i = 0; i < FUZZ_DATA_SIZE; i++)
		if (soft->data[i] != uc->data[i]) {
			fprintf(stderr, "data +%#x: soft %02x unicorn %02x\n", i, soft->data[i],
				uc->data[i]);
			differs = true;
		}
	for (i = 0; i < FUZZ_STACK_SIZE; i++)
		if (soft->stack[i] != uc->stack[i]) {
			fprintf(stderr, "stack +%#x: soft %02x unicorn %02x\n", i, soft->stack[i],
				uc->stack[i]);
			differs = true;
		}
	return differs;
}

enum fuzz_result fuzz_soft_one(const uint8_t *data, size_t size)
{
	static struct fuzz_state start, soft, uc;
	static struct fuzz_flat flat;
	uint64_t seed = 0, end;
	size_t len;
	int mask;

	if (size < 9 || fuzz_uc_open())
		return FUZZ_SKIP;
	memcpy(&seed, data, 8);
	len = size - 8 > FUZZ_CODE_MAX ? FUZZ_CODE_MAX : size - 8;
	memset(flat.code, 0xf4, sizeof(flat.code)); /* hlt past the code too */
	memcpy(flat.code, data + 8, len);
	end = FUZZ_CODE_BASE + len;
	mask = fuzz_flag_mask(flat.code, len);
	if (mask < 0 || fuzz_bytes_incomparable(flat.code, len))
		return FUZZ_SKIP;
	fuzz_init_state(&start, seed);
	uc = start;
	soft = start;
	if (!fuzz_run_unicorn(&uc, flat.code, end) || !fuzz_run_soft(&soft, &flat, end))
		return FUZZ_SKIP;
	if (!fuzz_differs(&soft, &uc, mask))
		return FUZZ_OK;
	fprintf(stderr,
		"fuzz_soft: the soft vCPU and Unicorn differ after %zu code bytes, seed %#lx\n",
		len, (unsigned long)seed);
	return FUZZ_BUG;
}
