// SPDX-License-Identifier: GPL-2.0
/*
 * The x87.  musl's printf formats every %f, %g and %e through long double,
 * and sqlite's REAL code computes in it, so the guest runs x87 loads,
 * arithmetic, compares and stores.  As sse_fp.c does for SSE, each
 * instruction runs as the host's own instruction on a copy of the guest's
 * state, so its results, NaNs, flags, condition codes and tags are the
 * hardware's bit for bit:
 *
 *  - the guest's state (cpu->fcw and cpu->x87, bytes 0..159 of an
 *    fxsave64 area) is loaded with fxrstor64 after the host's own state is
 *    saved; the instruction runs from a fixed stub (x87_stubs below: one
 *    per register form, one per memory form addressing [rdi]); fxsave64
 *    takes the result state and fxrstor64 puts the host's back, all in one
 *    asm statement, so no code of the compiler's runs on the guest's state;
 *  - a memory operand is read through the interpreter's access functions
 *    into a host buffer first, and a store's bytes are written back after
 *    the run, before the result state is kept, so a retried translation
 *    or a #PF leaves the x87 state as it was;
 *  - the guest's FCW is the host's during the run, exception masks too.
 *    Unlike SSE's, an x87 exception is never raised by the instruction
 *    that detects it: with CR0.NE set the instruction completes with the
 *    unmasked response (destination unchanged, or the exponent-adjusted
 *    result of an unmasked overflow or underflow), sets ES and B, and
 *    #MF (vector 16) is raised before the next waiting x87 instruction or
 *    wait.  So the host computes the unmasked response itself; its state
 *    is saved by fxsave64, which does not wait, and the host's own state
 *    (ES clear) is restored before any waiting instruction runs.  The
 *    soft vCPU raises #MF here, before a waiting instruction, whenever
 *    FSW.ES is set; the non-waiting ones (fninit, fnclex, fnstsw, fnstcw,
 *    fnstenv, fnsave) run regardless.  The processor recomputes ES and B
 *    from the flags and masks whenever either is loaded (fxrstor, fldcw,
 *    fldenv, frstor): the C paths here do the same (x87_summarize());
 *  - what is not modelled: FIP, FDP and FOP read as zero (as AMD's fxsave
 *    leaves them with no exception pending; they would otherwise hold host
 *    addresses), and a memory store with an unmasked exception other than
 *    precision writes nothing, as the SDM describes for fst, fist and
 *    fbstp (the host's buffer is not looked at).
 *
 * f2xm1, fyl2x, fyl2xp1, fptan, fpatan, fsin, fcos and fsincos stay
 * unsupported: their approximations differ between Intel's and AMD's
 * processors (AMD documents its own error bounds; Intel's fsin, for one,
 * reduces its argument with a 66-bit pi), so no host result is "the
 * hardware's".  So do the undocumented aliases (fstp1, fcomp5, ffreep...),
 * the 16-bit environment formats (a 66 prefix on fnstenv, fldenv, fnsave,
 * frstor), and fneni, fndisi and fnsetpm.
 */
#include <capstone/capstone.h>
#include <stdalign.h>
#include <string.h>

#include "vmm/soft/interp.h"

#if !defined(__x86_64__)
#error "x87.c runs x87 instructions on the host: an x86-64 host"
#endif

/* The fxsave area. */
#define FX_SIZE 512
#define FX_FCW 0
#define FX_FSW 2
#define FX_FTW 4
#define FX_FOP 6    /* FOP, FIP and FDP: bytes 6..23 */
#define FX_MXCSR 24 /* the host's MXCSR during a run */
#define FX_ST0 32

#define FSW_FLAGS 0x003f /* IE DE ZE OE UE PE, each masked by the FCW bit of the same place */
#define FSW_PE 0x0020
#define FSW_SF 0x0040
#define FSW_ES 0x0080
#define FSW_B 0x8000

/*
 * The stubs: `endbr64; <escape> <modrm>; ret; int3`, eight bytes each.
 * The first 512 are the register forms, D8 C0 .. DF FF; then 64 memory
 * forms, escape D8..DF with reg 0..7, mod 00 and rm 111: [rdi].  Only
 * the forms the tables below allow are ever called.
 */
#define STUB_SIZE 8
#define STUB_MEM 512

asm(".pushsection .text\n\t"
    ".balign 64\n\t"
    ".globl soft_x87_stubs\n\t"
    ".hidden soft_x87_stubs\n"
    "soft_x87_stubs:\n\t"
    ".set .Lx87_esc, 0xd8\n\t"
    ".rept 8\n\t"
    ".set .Lx87_modrm, 0xc0\n\t"
    ".rept 64\n\t"
    "endbr64\n\t"
    ".byte .Lx87_esc, .Lx87_modrm, 0xc3, 0xcc\n\t"
    ".set .Lx87_modrm, .Lx87_modrm + 1\n\t"
    ".endr\n\t"
    ".set .Lx87_esc, .Lx87_esc + 1\n\t"
    ".endr\n\t"
    ".set .Lx87_esc, 0xd8\n\t"
    ".rept 8\n\t"
    ".set .Lx87_reg, 0\n\t"
    ".rept 8\n\t"
    "endbr64\n\t"
    ".byte .Lx87_esc, (.Lx87_reg << 3) | 7, 0xc3, 0xcc\n\t"
    ".set .Lx87_reg, .Lx87_reg + 1\n\t"
    ".endr\n\t"
    ".set .Lx87_esc, .Lx87_esc + 1\n\t"
    ".endr\n\t"
    ".popsection");

extern const uint8_t soft_x87_stubs[];

/* What a register form (escape, modrm 0xc0..0xff) is. */
enum x87_reg_form {
	XR_NONE,   /* unsupported */
	XR_HOST,   /* runs on the host */
	XR_COMI,   /* the same, and its result is RFLAGS' ZF, PF and CF */
	XR_FCMOV,  /* the same, and it reads CF, ZF and PF */
	XR_FNSTSW, /* fnstsw ax */
	XR_FNCLEX,
	XR_NOWAIT, /* fninit: on the host (TOP moves, and ST0..7 with it), without #MF first */
};

static const uint8_t reg_forms[8][64] = {
	[0][0x00 ... 0x3f] = XR_HOST,  /* fadd .. fdivr st, st(i) */
	[1][0x00 ... 0x0f] = XR_HOST,  /* fld st(i), fxch */
	[1][0x10] = XR_HOST,	       /* fnop */
	[1][0x20] = XR_HOST,	       /* fchs */
	[1][0x21] = XR_HOST,	       /* fabs */
	[1][0x24] = XR_HOST,	       /* ftst */
	[1][0x25] = XR_HOST,	       /* fxam */
	[1][0x28 ... 0x2e] = XR_HOST,  /* fld1, fldl2t, fldl2e, fldpi, fldlg2, fldln2, fldz */
	[1][0x34] = XR_HOST,	       /* fxtract */
	[1][0x35] = XR_HOST,	       /* fprem1 */
	[1][0x36] = XR_HOST,	       /* fdecstp */
	[1][0x37] = XR_HOST,	       /* fincstp */
	[1][0x38] = XR_HOST,	       /* fprem */
	[1][0x3a] = XR_HOST,	       /* fsqrt */
	[1][0x3c] = XR_HOST,	       /* frndint */
	[1][0x3d] = XR_HOST,	       /* fscale */
	[2][0x00 ... 0x1f] = XR_FCMOV, /* fcmovb, fcmove, fcmovbe, fcmovu */
	[2][0x29] = XR_HOST,	       /* fucompp */
	[3][0x00 ... 0x1f] = XR_FCMOV, /* fcmovnb, fcmovne, fcmovnbe, fcmovnu */
	[3][0x22] = XR_FNCLEX,	       [3][0x23] = XR_NOWAIT, /* fninit */
	[3][0x28 ... 0x37] = XR_COMI,			      /* fucomi, fcomi */
	[4][0x00 ... 0x3f] = XR_HOST,			      /* fadd .. fdiv st(i), st */
	[5][0x00 ... 0x07] = XR_HOST,			      /* ffree */
	[5][0x10 ... 0x2f] = XR_HOST,			      /* fst, fstp, fucom, fucomp st(i) */
	[6][0x00 ... 0x0f] = XR_HOST,			      /* faddp, fmulp */
	[6][0x19] = XR_HOST,				      /* fcompp */
	[6][0x20 ... 0x3f] = XR_HOST,			      /* fsubrp, fsubp, fdivrp, fdivp */
	[7][0x20] = XR_FNSTSW,	       [7][0x28 ... 0x37] = XR_COMI, /* fucomip, fcomip */
};

/* What a memory form (escape, reg) does with its operand. */
#define XM_LOAD 0x01
#define XM_STORE 0x02
#define XM_NOWAIT 0x04 /* fnstenv, fnsave: no #MF first */
#define XM_ENV 0x08    /* an environment: the 16-bit format (66) is not offered */
#define XM_FLDCW 0x10  /* the control and status words, here in C */
#define XM_FNSTCW 0x20
#define XM_FNSTSW 0x40

struct x87_mem_form {
	uint8_t size; /* bytes of the operand */
	uint8_t how;  /* XM_*, 0: unsupported */
};

static const struct x87_mem_form mem_forms[8][8] = {
	[0][0 ... 7] = { 4, XM_LOAD },			 /* fadd .. fdivr m32 */
	[1][0] = { 4, XM_LOAD },			 /* fld m32 */
	[1][2 ... 3] = { 4, XM_STORE },			 /* fst, fstp m32 */
	[1][4] = { 28, XM_LOAD | XM_ENV },		 /* fldenv */
	[1][5] = { 2, XM_FLDCW },			 /* fldcw */
	[1][6] = { 28, XM_STORE | XM_NOWAIT | XM_ENV },	 /* fnstenv */
	[1][7] = { 2, XM_FNSTCW },			 /* fnstcw */
	[2][0 ... 7] = { 4, XM_LOAD },			 /* fiadd .. fidivr m32int */
	[3][0] = { 4, XM_LOAD },			 /* fild m32int */
	[3][1 ... 3] = { 4, XM_STORE },			 /* fisttp, fist, fistp m32int */
	[3][5] = { 10, XM_LOAD },			 /* fld m80 */
	[3][7] = { 10, XM_STORE },			 /* fstp m80 */
	[4][0 ... 7] = { 8, XM_LOAD },			 /* fadd .. fdivr m64 */
	[5][0] = { 8, XM_LOAD },			 /* fld m64 */
	[5][1 ... 3] = { 8, XM_STORE },			 /* fisttp m64int, fst, fstp m64 */
	[5][4] = { 108, XM_LOAD | XM_ENV },		 /* frstor */
	[5][6] = { 108, XM_STORE | XM_NOWAIT | XM_ENV }, /* fnsave */
	[5][7] = { 2, XM_FNSTSW },			 /* fnstsw */
	[6][0 ... 7] = { 2, XM_LOAD },			 /* fiadd .. fidivr m16int */
	[7][0] = { 2, XM_LOAD },			 /* fild m16int */
	[7][1 ... 3] = { 2, XM_STORE },			 /* fisttp, fist, fistp m16int */
	[7][4] = { 10, XM_LOAD },			 /* fbld */
	[7][5] = { 8, XM_LOAD },			 /* fild m64int */
	[7][6] = { 10, XM_STORE },			 /* fbstp */
	[7][7] = { 8, XM_STORE },			 /* fistp m64int */
};

/* One instruction as the bytes give it. */
struct x87_insn {
	bool wait;   /* after a 9B (Capstone's fstcw, fstsw, finit...) */
	uint8_t esc; /* 0..7: D8..DF */
	uint8_t modrm;
	const struct soft_operand *mem; /* the memory operand, or NULL */
};

/* The escape byte and ModRM; false for bytes that are not one x87 instruction. */
static bool parse_insn(const struct soft_insn *insn, struct x87_insn *xi)
{
	unsigned int i = 0, n = insn->len;

	memset(xi, 0, sizeof(*xi));
	for (;;) {
		while (i < n && soft_is_prefix(insn->bytes[i]))
			i++;
		if (i >= n || insn->bytes[i] != 0x9b)
			break;
		xi->wait = true;
		i++;
	}
	if (i + 1 >= n || insn->bytes[i] < 0xd8 || insn->bytes[i] > 0xdf)
		return false;
	xi->esc = insn->bytes[i] - 0xd8;
	xi->modrm = insn->bytes[i + 1];
	for (i = 0; i < insn->nops; i++)
		if (insn->op[i].type == SOFT_OP_MEM)
			xi->mem = &insn->op[i];
	return (xi->modrm >= 0xc0) == !xi->mem;
}

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

/* Bits 6 and 13..15 of the control word: 6 reads as one, the others as zero. */
static uint16_t fcw_loaded(uint16_t v)
{
	return (v & SOFT_FCW_WRITABLE) | SOFT_FCW_ONE;
}

/* ES and B: set while a flag the control word leaves unmasked is set. */
static uint16_t x87_summarize(uint16_t fsw, uint16_t fcw)
{
	if (fsw & ~fcw & FSW_FLAGS)
		return fsw | FSW_ES | FSW_B;
	return fsw & ~(FSW_ES | FSW_B);
}

static uint16_t x87_fsw(const struct soft_cpu *cpu)
{
	return get16(&cpu->x87[FX_FSW]);
}

void soft_x87_load_fcw(struct soft_cpu *cpu, uint16_t v)
{
	cpu->fcw = fcw_loaded(v);
	put16(&cpu->x87[FX_FSW], x87_summarize(x87_fsw(cpu), cpu->fcw));
}

void soft_x87_fxsave(const struct soft_cpu *cpu, uint8_t *area)
{
	unsigned int i;

	memcpy(area, cpu->x87, FX_ST0);
	put16(&area[FX_FCW], cpu->fcw);
	area[FX_FTW + 1] = 0;
	/* Each register's six pad bytes are left as they were. */
	for (i = 0; i < 8; i++)
		memcpy(&area[FX_ST0 + 16 * i], &cpu->x87[FX_ST0 + 16 * i], 10);
}

void soft_x87_fxrstor(struct soft_cpu *cpu, const uint8_t *area)
{
	memcpy(cpu->x87, area, SOFT_X87_AREA);
	memset(&cpu->x87[FX_FOP], 0, FX_MXCSR - FX_FOP);
	memset(&cpu->x87[FX_MXCSR], 0, FX_ST0 - FX_MXCSR);
	cpu->x87[FX_FTW + 1] = 0;
	soft_x87_load_fcw(cpu, get16(&area[FX_FCW]));
}

/* The host's run of one instruction: the fxsave64 area and the memory operand. */
struct x87_run {
	alignas(16) uint8_t area[FX_SIZE];
	alignas(16) uint8_t buf[112];
	uint64_t rflags; /* in: the guest's arithmetic flags (fcmov); out: the host's (fcomi) */
};

#define HOST_RFLAGS_IN (X86_ARITH_FLAGS | 2)

/*
 * fxrstor64 the guest's state, call the stub with the buffer in rdi and
 * the guest's arithmetic flags in RFLAGS, fxsave64 the result, put the
 * host's state back.  The call is made below the red zone.
 */
static void x87_host_run(struct x87_run *r, const uint8_t *stub)
{
	alignas(16) uint8_t host[FX_SIZE];
	uint64_t fl = r->rflags & HOST_RFLAGS_IN;
	void *buf = r->buf;

	asm volatile("fxsave64 %[host]\n\t"
		     "fxrstor64 %[area]\n\t"
		     "sub $128, %%rsp\n\t"
		     "push %[fl]\n\t"
		     "popfq\n\t"
		     "call *%[stub]\n\t"
		     "pushfq\n\t"
		     "pop %[fl]\n\t"
		     "add $128, %%rsp\n\t"
		     "fxsave64 %[area]\n\t"
		     "fxrstor64 %[host]"
		     : [area] "+m"(r->area), [host] "=m"(host), [fl] "+r"(fl), "+D"(buf),
		       "+m"(r->buf)
		     : [stub] "r"(stub)
		     : "cc", "memory");
	r->rflags = fl;
}

/* #MF before a waiting instruction, for a flag an earlier one left unmasked. */
static int x87_pending(struct soft_exec *e)
{
	uint16_t fsw = x87_fsw(e->cpu);

	if (!(fsw & FSW_ES))
		return X_OK;
	return soft_fault(e, SOFT_VEC_MF, 0,
			  "unmasked x87 floating-point exception, FSW %#x FCW %#x", fsw,
			  e->cpu->fcw);
}

static void run_prepare(const struct soft_cpu *cpu, struct x87_run *r)
{
	uint32_t mxcsr = SOFT_MXCSR_RESET;

	memset(r->area + SOFT_X87_AREA, 0, FX_SIZE - SOFT_X87_AREA);
	memcpy(r->area, cpu->x87, SOFT_X87_AREA);
	put16(&r->area[FX_FCW], cpu->fcw);
	memcpy(&r->area[FX_MXCSR], &mxcsr, 4);
	r->rflags = cpu->flags.rflags;
}

/* Keep the result state: FOP, FIP and FDP read as zero (the comment at the top). */
static void run_commit(struct soft_cpu *cpu, const struct x87_run *r)
{
	memcpy(cpu->x87, r->area, SOFT_X87_AREA);
	memset(&cpu->x87[FX_FOP], 0, FX_MXCSR - FX_FOP);
	memset(&cpu->x87[FX_MXCSR], 0, FX_ST0 - FX_MXCSR);
	cpu->fcw = get16(&r->area[FX_FCW]);
}

/* fcomi and its kin: ZF, PF and CF as the host left them (OF, SF, AF too: cleared). */
static void set_comi_flags(struct soft_cpu *cpu, uint64_t host)
{
	soft_flags_materialize(&cpu->flags);
	cpu->flags.rflags = (cpu->flags.rflags & ~X86_ARITH_FLAGS) | (host & X86_ARITH_FLAGS);
}

static int exec_reg_form(struct soft_exec *e, const struct x87_insn *xi)
{
	struct soft_cpu *cpu = e->cpu;
	unsigned int index = xi->esc * 64 + (xi->modrm - 0xc0);
	uint8_t form = reg_forms[xi->esc][xi->modrm - 0xc0];
	struct x87_run r;
	int ret;

	switch (form) {
	case XR_NONE:
		return soft_unsupported(e);
	case XR_FNSTSW:
		soft_reg_write(cpu, SOFT_RAX, 2, x87_fsw(cpu));
		return X_OK;
	case XR_FNCLEX:
		put16(&cpu->x87[FX_FSW], x87_fsw(cpu) & ~(FSW_FLAGS | FSW_SF | FSW_ES | FSW_B));
		return X_OK;
	}
	if (form != XR_NOWAIT) {
		ret = x87_pending(e);
		if (ret)
			return ret;
	}
	if (form == XR_FCMOV)
		soft_flags_materialize(&cpu->flags);
	run_prepare(cpu, &r);
	x87_host_run(&r, soft_x87_stubs + STUB_SIZE * index);
	run_commit(cpu, &r);
	if (form == XR_COMI)
		set_comi_flags(cpu, r.rflags);
	return X_OK;
}

static int exec_fldcw(struct soft_exec *e, uint64_t gva)
{
	uint64_t v;
	int ret = soft_mem_read(e, gva, 2, &v);

	if (!ret)
		soft_x87_load_fcw(e->cpu, v);
	return ret;
}

/*
 * The bytes of fnstenv's and fnsave's environment that hold the last
 * instruction's and operand's pointers and the opcode (FIP, FCS and FOP,
 * FDP, FDS in the 32-bit format): zero, as the state keeps them, and so
 * that no host address or selector reaches the guest.
 */
#define ENV_POINTERS 12
#define ENV_POINTERS_END 28

/*
 * A memory form: the operand is read (a load) before the run, and a
 * store's bytes are written after it, before the result state is kept,
 * so a fault or retry leaves the x87 state unchanged.
 */
static int exec_mem_form(struct soft_exec *e, const struct x87_insn *xi)
{
	unsigned int reg = (xi->modrm >> 3) & 7;
	const struct x87_mem_form *f = &mem_forms[xi->esc][reg];
	struct soft_cpu *cpu = e->cpu;
	uint64_t gva = soft_effective_address(e, xi->mem);
	uint16_t unmasked;
	struct x87_run r;
	int ret;

	if (!f->how || ((f->how & XM_ENV) && (e->insn->prefix & SOFT_PFX_OPSIZE)))
		return soft_unsupported(e);
	if (f->how & XM_FNSTCW)
		return soft_mem_write(e, gva, 2, cpu->fcw);
	if (f->how & XM_FNSTSW)
		return soft_mem_write(e, gva, 2, x87_fsw(cpu));
	if (!(f->how & XM_NOWAIT)) {
		ret = x87_pending(e);
		if (ret)
			return ret;
	}
	if (f->how & XM_FLDCW)
		return exec_fldcw(e, gva);
	run_prepare(cpu, &r);
	if (f->how & XM_LOAD) {
		ret = soft_mem_read_bytes(e, gva, f->size, r.buf);
		if (ret)
			return ret;
	}
	x87_host_run(&r, soft_x87_stubs + STUB_SIZE * (STUB_MEM + xi->esc * 8 + reg));
	if (f->how & XM_STORE) {
		unmasked = get16(&r.area[FX_FSW]) & ~get16(&r.area[FX_FCW]) & FSW_FLAGS;
		if (f->how & XM_ENV)
			memset(&r.buf[ENV_POINTERS], 0, ENV_POINTERS_END - ENV_POINTERS);
		if ((f->how & XM_NOWAIT) || !(unmasked & ~FSW_PE)) {
			ret = soft_mem_write_bytes(e, gva, f->size, r.buf);
			if (ret)
				return ret;
		}
	}
	run_commit(cpu, &r);
	return X_OK;
}

/* wait (fwait): #MF if an unmasked exception is pending, else nothing. */
static int exec_wait(struct soft_exec *e)
{
	return x87_pending(e);
}

int soft_execute_x87(struct soft_exec *e)
{
	struct x87_insn xi;
	int ret;

	if (e->insn->id == X86_INS_WAIT && e->insn->len == 1)
		return exec_wait(e);
	/* A lock prefix on an x87 instruction is #UD on the hardware. */
	if (!parse_insn(e->insn, &xi) || (e->insn->prefix & SOFT_PFX_LOCK))
		return soft_unsupported(e);
	if (xi.wait) {
		ret = exec_wait(e);
		if (ret)
			return ret;
	}
	if (xi.mem)
		return exec_mem_form(e, &xi);
	return exec_reg_form(e, &xi);
}
