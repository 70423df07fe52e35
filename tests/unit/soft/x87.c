// SPDX-License-Identifier: GPL-2.0
/*
 * The soft vCPU's x87 against the host's own instructions (an x86-64
 * host): results, FSW (TOP, condition codes, flags), tags, RFLAGS of the
 * fcomi family, stores to memory, under every precision and rounding
 * control, with unmasked exceptions too, whose #MF comes at the next
 * waiting instruction.
 *
 * Both run the same bytes: `fxrstor64 [rsi]; <insn>; fxsave64 [rdx]`,
 * the instruction's memory operand at [rdi], the host from an executable
 * page (its own state saved and restored around), the soft vCPU from
 * flat memory.  fxsave64 does not wait, so neither raises the #MF an
 * unmasked exception leaves pending; the areas and the operand are
 * compared but FOP, FIP and FDP (the host's addresses; zero on the soft
 * vCPU) and each register's pad bytes.
 */
#include <signal.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "base/compiler.h"
#include "base/prandom.h"
#include "tests/lib/test_util.h"
#include "vmm/soft/soft_cpu.h"

#define RAM_BASE 0x100000UL
#define RAM_SIZE 0x10000UL
#define CODE RAM_BASE
#define IMG_IN (RAM_BASE + 0x1000)
#define IMG_OUT (RAM_BASE + 0x1200)
#define DATA (RAM_BASE + 0x1400)
#define HANDLER (RAM_BASE + 0x2000) /* #MF and #PF: fxsave64 [rdx]; hlt */
#define MF_STACK (RAM_BASE + 0x3000)
#define PF_STACK (RAM_BASE + 0x3800)
#define STACK_TOP (RAM_BASE + 0x4000)
#define FAULT_PAGE (RAM_BASE + 0x5000) /* a #PF for every access */

#define DATA_SIZE 112
#define FLAGS_MASK 0x8d5UL /* OF SF ZF AF PF CF */

#define FSW_ES 0x0080
#define FSW_B 0x8000

static alignas(16) uint8_t ram[RAM_SIZE];
static unsigned int retry_writes; /* SOFT_XLATE_RETRY for this many writes to DATA */

static enum soft_xlate_ret ram_translate(void *opaque, uint64_t gva, unsigned int len,
					 enum soft_access access, uint64_t rip,
					 struct soft_xlate *out)
{
	if (gva >= FAULT_PAGE && gva < FAULT_PAGE + 0x1000) {
		out->error_code = access == SOFT_ACCESS_WRITE ? 2 : 0;
		return SOFT_XLATE_PAGE_FAULT;
	}
	if (gva < RAM_BASE || gva + len > RAM_BASE + RAM_SIZE)
		return SOFT_XLATE_OUTSIDE;
	if (access == SOFT_ACCESS_WRITE && gva >= DATA && gva < DATA + DATA_SIZE && retry_writes) {
		retry_writes--;
		return SOFT_XLATE_RETRY;
	}
	out->gpa = gva;
	out->hva = ram + (gva - RAM_BASE);
	return SOFT_XLATE_OK;
}

static const struct soft_mem_ops ram_ops = { .translate = ram_translate };

/* What a sequence starts from and leaves. */
struct x87_state {
	alignas(16) uint8_t img[512]; /* in: what fxrstor64 loads; out: what fxsave64 stored */
	alignas(16) uint8_t data[DATA_SIZE];
	uint64_t rflags;
};

static const uint8_t nothing[1];

/* fxrstor64 [rsi]; ...; fxsave64 [rdx] */
static const uint8_t fxrstor_rsi[] = { 0x48, 0x0f, 0xae, 0x0e };
static const uint8_t fxsave_rdx[] = { 0x48, 0x0f, 0xae, 0x02 };

static unsigned int sequence(uint8_t *code, const uint8_t *insn, unsigned int len)
{
	unsigned int n = 0;

	memcpy(code, fxrstor_rsi, 4);
	n += 4;
	memcpy(code + n, insn, len);
	n += len;
	memcpy(code + n, fxsave_rdx, 4);
	return n + 4;
}

/* ---- the host ---- */

static uint8_t *host_page;

static void host_setup(void)
{
	if (host_page)
		return;
	host_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(host_page != MAP_FAILED, "mmap an executable page");
}

/* Call the page with rsi, rdx, rdi and RFLAGS set, below the red zone, the host's state kept. */
static void host_call(void *in, void *out, void *data, uint64_t *rflags)
{
	alignas(16) uint8_t saved[512];
	uint64_t fl = (*rflags & FLAGS_MASK) | 2;

	asm volatile("fxsave64 %[saved]\n\t"
		     "sub $128, %%rsp\n\t"
		     "push %[fl]\n\t"
		     "popfq\n\t"
		     "call *%[fn]\n\t"
		     "pushfq\n\t"
		     "pop %[fl]\n\t"
		     "add $128, %%rsp\n\t"
		     "fxrstor64 %[saved]"
		     : [saved] "=m"(saved), [fl] "+r"(fl), "+S"(in), "+d"(out), "+D"(data)
		     : [fn] "r"(host_page)
		     : "cc", "memory");
	*rflags = fl & FLAGS_MASK;
}

static void host_run(const uint8_t *insn, unsigned int len, struct x87_state *s)
{
	alignas(16) uint8_t out[512];
	unsigned int n = sequence(host_page, insn, len);

	host_page[n] = 0xc3; /* ret */
	__builtin___clear_cache((char *)host_page, (char *)host_page + n + 1);
	memcpy(out, s->img, sizeof(out));
	host_call(s->img, out, s->data, &s->rflags);
	memcpy(s->img, out, sizeof(out));
}

/* ---- the soft vCPU ---- */

static void soft_start(struct soft_cpu *cpu, const uint8_t *insn, unsigned int len,
		       const struct x87_state *s, uint64_t data)
{
	unsigned int n;

	memset(ram, 0, sizeof(ram));
	n = sequence(ram, insn, len);
	ram[n] = 0xf4; /* hlt */
	memcpy(ram + (HANDLER - RAM_BASE), fxsave_rdx, 4);
	ram[HANDLER - RAM_BASE + 4] = 0xf4;
	memcpy(ram + (IMG_IN - RAM_BASE), s->img, 512);
	memcpy(ram + (IMG_OUT - RAM_BASE), s->img, 512);
	memcpy(ram + (DATA - RAM_BASE), s->data, DATA_SIZE);
	TEST_ASSERT_EQ(soft_cpu_init(cpu, &ram_ops, NULL), 0);
	cpu->rip = CODE;
	cpu->gpr[SOFT_RSP] = STACK_TOP;
	cpu->gpr[SOFT_RSI] = IMG_IN;
	cpu->gpr[SOFT_RDX] = IMG_OUT;
	cpu->gpr[SOFT_RDI] = data;
	soft_cpu_set_rflags(cpu, (s->rflags & FLAGS_MASK) | 2);
}

static void soft_finish(struct soft_cpu *cpu, struct x87_state *s)
{
	memcpy(s->img, ram + (IMG_OUT - RAM_BASE), 512);
	memcpy(s->data, ram + (DATA - RAM_BASE), DATA_SIZE);
	s->rflags = soft_cpu_get_rflags(cpu) & FLAGS_MASK;
	soft_cpu_destroy(cpu);
}

static void soft_run(const uint8_t *insn, unsigned int len, struct x87_state *s)
{
	struct soft_cpu cpu;
	enum soft_exit_reason why;

	soft_start(&cpu, insn, len, s, DATA);
	why = soft_cpu_run(&cpu, 0);
	TEST_ASSERT(why == SOFT_EXIT_HLT, "exit %d: %s", why, cpu.exit.message);
	TEST_ASSERT_EQ(cpu.rip, CODE + len + 9);
	soft_finish(&cpu, s);
}

/* ---- random states ---- */

/* An 80-bit value: every class, the odd encodings (pseudo-denormals, unnormals...) too. */
static void rand_f80(uint64_t *rng, uint8_t *p)
{
	uint64_t v = prandom_u64(rng), m = prandom_u64(rng);
	uint16_t se = (v & 0x8000) | (v >> 16) % 0x7fff;

	switch (v % 12) {
	case 0:
		m = 0, se &= 0x8000; /* zero */
		break;
	case 1:
		m &= ~(1UL << 63), se &= 0x8000; /* denormal */
		break;
	case 2:
		m |= 1UL << 63, se &= 0x8000; /* pseudo-denormal */
		break;
	case 3:
		m &= ~(1UL << 63); /* unnormal */
		break;
	case 4:
		m = 1UL << 63, se |= 0x7fff; /* infinity */
		break;
	case 5:
		m |= 3UL << 62, se |= 0x7fff; /* QNaN */
		break;
	case 6:
		m = (m | 1UL << 63) & ~(1UL << 62), m |= !(m << 2), se |= 0x7fff; /* SNaN */
		break;
	case 7:
		m = 3UL << 62, se = 0xffff; /* the real indefinite */
		break;
	case 8:
		m &= ~(1UL << 63), se |= 0x7fff; /* pseudo-NaN, pseudo-infinity */
		break;
	case 9: /* near 1, an integer, or near the limits of the formats */
		m |= 1UL << 63;
		se = (v & 0x8000) | (uint16_t)(0x3fff + (int)((v >> 24) % 140) - 70);
		if (v & 0x10000)
			se = (v & 0x8000) | (uint16_t)((v >> 32) & 1 ? 0x3c00 + (v >> 40) % 0x80 :
								       0x4380 + (v >> 40) % 0x80);
		break;
	default:
		m |= 1UL << 63; /* a normal */
		break;
	}
	memcpy(p, &m, 8);
	memcpy(p + 8, &se, 2);
}

static uint32_t rand_f32(uint64_t *rng)
{
	static const uint32_t special[] = { 0,		0x80000000, 0x3f800000, 0x00000001,
					    0x807fffff, 0x00800000, 0x7f7fffff, 0x7f800000,
					    0xff800000, 0x7fc00000, 0x7f800001, 0xffa00002 };
	uint64_t v = prandom_u64(rng);

	return v % 3 ? v >> 32 : special[(v >> 8) % ARRAY_SIZE(special)];
}

static uint64_t rand_f64(uint64_t *rng)
{
	static const uint64_t special[] = {
		0,
		0x8000000000000000UL,
		0x3ff0000000000000UL,
		0x0000000000000001UL,
		0x800fffffffffffffUL,
		0x0010000000000000UL,
		0x7fefffffffffffffUL,
		0x7ff0000000000000UL,
		0xfff0000000000000UL,
		0x7ff8000000000000UL,
		0x7ff0000000000001UL,
		0x43e0000000000000UL, /* 2^63 */
		0xc3e0000000000000UL,
	};
	uint64_t v = prandom_u64(rng);

	if (v % 3 == 0)
		return special[(v >> 8) % ARRAY_SIZE(special)];
	if (v % 3 == 1) /* an exponent near a format's edge or an integer's */
		return (prandom_u64(rng) & 0x800fffffffffffffUL) |
		       (uint64_t)((v >> 16) % 2 ? 0x3b0 + (v >> 24) % 0x60 : 0x3ff + (v >> 24) % 70)
			       << 52;
	return prandom_u64(rng);
}

/* An integer operand: small, at the type's edges, or anything. */
static uint64_t rand_int(uint64_t *rng, unsigned int size)
{
	uint64_t v = prandom_u64(rng), bits = size * 8;
	uint64_t min = 1UL << (bits - 1);

	switch (v % 4) {
	case 0:
		return (int64_t)(int8_t)(v >> 8);
	case 1:
		return min + (v >> 8) % 3 - 1; /* around the indefinite */
	default:
		return prandom_u64(rng);
	}
}

/*
 * FCW: each precision and rounding control, and a
 * quarter of the time some exceptions unmasked; FSW: any TOP and
 * condition codes, masked flags already set (an unmasked one would be
 * pending before the instruction: x87_pending_exception_is_mf); tags and
 * registers of every kind.
 */
static void rand_state(uint64_t *rng, struct x87_state *s)
{
	static const uint16_t pc[] = { 0, 1, 2, 3 }; /* 1 is reserved: the hardware's answer too */
	uint64_t v = prandom_u64(rng);
	uint16_t fcw = 0x3f | pc[(v >> 2) % 4] << 8 | (v >> 4 & 3) << 10 | (v >> 6 & 1) << 12;
	uint16_t fsw;
	unsigned int i;

	memset(s, 0, sizeof(*s));
	if ((v >> 8) % 4 == 0)
		fcw &= ~(v >> 16 & 0x3f);
	fsw = ((v >> 24) & 0x7f00) | ((v >> 40) & fcw & 0x3f);
	memcpy(&s->img[0], &fcw, 2);
	memcpy(&s->img[2], &fsw, 2);
	switch ((v >> 48) % 4) {
	case 0:
		s->img[4] = 0xff;
		break;
	case 1:
		s->img[4] = 0;
		break;
	default:
		s->img[4] = prandom_u64(rng) | prandom_u64(rng);
		break;
	}
	s->img[24] = 0x80; /* MXCSR 0x1f80 */
	s->img[25] = 0x1f;
	for (i = 0; i < 8; i++)
		rand_f80(rng, &s->img[32 + 16 * i]);
	for (i = 0; i < DATA_SIZE; i++)
		s->data[i] = prandom_u64(rng);
	s->rflags = prandom_u64(rng) & FLAGS_MASK;
}

/* ---- the instructions ---- */

enum operand { O_NONE, O_F32, O_F64, O_F80, O_I16, O_I32, O_I64, O_BCD, O_ENV, O_SAVE };

/* Memory forms: escape and reg; the operand at [rdi] as a load takes it. */
struct mem_form {
	const char *name;
	uint8_t esc, reg;
	uint8_t operand;
};

static const struct mem_form mem_forms[] = {
	{ "fadd m32", 0xd8, 0, O_F32 },	   { "fmul m32", 0xd8, 1, O_F32 },
	{ "fcom m32", 0xd8, 2, O_F32 },	   { "fcomp m32", 0xd8, 3, O_F32 },
	{ "fsub m32", 0xd8, 4, O_F32 },	   { "fsubr m32", 0xd8, 5, O_F32 },
	{ "fdiv m32", 0xd8, 6, O_F32 },	   { "fdivr m32", 0xd8, 7, O_F32 },
	{ "fld m32", 0xd9, 0, O_F32 },	   { "fst m32", 0xd9, 2, O_NONE },
	{ "fstp m32", 0xd9, 3, O_NONE },   { "fldenv", 0xd9, 4, O_ENV },
	{ "fnstenv", 0xd9, 6, O_NONE },	   { "fnstcw", 0xd9, 7, O_NONE },
	{ "fiadd m32", 0xda, 0, O_I32 },   { "fimul m32", 0xda, 1, O_I32 },
	{ "ficom m32", 0xda, 2, O_I32 },   { "ficomp m32", 0xda, 3, O_I32 },
	{ "fisub m32", 0xda, 4, O_I32 },   { "fisubr m32", 0xda, 5, O_I32 },
	{ "fidiv m32", 0xda, 6, O_I32 },   { "fidivr m32", 0xda, 7, O_I32 },
	{ "fild m32", 0xdb, 0, O_I32 },	   { "fisttp m32", 0xdb, 1, O_NONE },
	{ "fist m32", 0xdb, 2, O_NONE },   { "fistp m32", 0xdb, 3, O_NONE },
	{ "fld m80", 0xdb, 5, O_F80 },	   { "fstp m80", 0xdb, 7, O_NONE },
	{ "fadd m64", 0xdc, 0, O_F64 },	   { "fmul m64", 0xdc, 1, O_F64 },
	{ "fcom m64", 0xdc, 2, O_F64 },	   { "fcomp m64", 0xdc, 3, O_F64 },
	{ "fsub m64", 0xdc, 4, O_F64 },	   { "fsubr m64", 0xdc, 5, O_F64 },
	{ "fdiv m64", 0xdc, 6, O_F64 },	   { "fdivr m64", 0xdc, 7, O_F64 },
	{ "fld m64", 0xdd, 0, O_F64 },	   { "fisttp m64", 0xdd, 1, O_NONE },
	{ "fst m64", 0xdd, 2, O_NONE },	   { "fstp m64", 0xdd, 3, O_NONE },
	{ "frstor", 0xdd, 4, O_SAVE },	   { "fnsave", 0xdd, 6, O_NONE },
	{ "fnstsw m16", 0xdd, 7, O_NONE }, { "fiadd m16", 0xde, 0, O_I16 },
	{ "fimul m16", 0xde, 1, O_I16 },   { "ficom m16", 0xde, 2, O_I16 },
	{ "ficomp m16", 0xde, 3, O_I16 },  { "fisub m16", 0xde, 4, O_I16 },
	{ "fisubr m16", 0xde, 5, O_I16 },  { "fidiv m16", 0xde, 6, O_I16 },
	{ "fidivr m16", 0xde, 7, O_I16 },  { "fild m16", 0xdf, 0, O_I16 },
	{ "fisttp m16", 0xdf, 1, O_NONE }, { "fist m16", 0xdf, 2, O_NONE },
	{ "fistp m16", 0xdf, 3, O_NONE },  { "fbld", 0xdf, 4, O_BCD },
	{ "fild m64", 0xdf, 5, O_I64 },	   { "fbstp", 0xdf, 6, O_NONE },
	{ "fistp m64", 0xdf, 7, O_NONE },
};

/* Register forms: escape and a range of ModRM bytes. */
struct reg_form {
	const char *name;
	uint8_t esc, first, last;
};

static const struct reg_form reg_forms[] = {
	{ "fadd..fdivr st, st(i)", 0xd8, 0xc0, 0xff },
	{ "fld st(i), fxch", 0xd9, 0xc0, 0xcf },
	{ "fnop", 0xd9, 0xd0, 0xd0 },
	{ "fchs, fabs", 0xd9, 0xe0, 0xe1 },
	{ "ftst, fxam", 0xd9, 0xe4, 0xe5 },
	{ "the constants", 0xd9, 0xe8, 0xee },
	{ "fxtract, fprem1, fdecstp, fincstp, fprem", 0xd9, 0xf4, 0xf8 },
	{ "fsqrt", 0xd9, 0xfa, 0xfa },
	{ "frndint, fscale", 0xd9, 0xfc, 0xfd },
	{ "fcmovb, e, be, u", 0xda, 0xc0, 0xdf },
	{ "fucompp", 0xda, 0xe9, 0xe9 },
	{ "fcmovnb, ne, nbe, nu", 0xdb, 0xc0, 0xdf },
	{ "fnclex, fninit", 0xdb, 0xe2, 0xe3 },
	{ "fucomi, fcomi", 0xdb, 0xe8, 0xf7 },
	{ "fadd..fdiv st(i), st", 0xdc, 0xc0, 0xff },
	{ "ffree", 0xdd, 0xc0, 0xc7 },
	{ "fst, fstp, fucom, fucomp st(i)", 0xdd, 0xd0, 0xef },
	{ "faddp, fmulp", 0xde, 0xc0, 0xcf },
	{ "fcompp", 0xde, 0xd9, 0xd9 },
	{ "fsubrp..fdivp", 0xde, 0xe0, 0xff },
	{ "fucomip, fcomip", 0xdf, 0xe8, 0xf7 },
};

static void rand_operand(uint64_t *rng, uint8_t operand, uint8_t *data)
{
	uint64_t v;
	unsigned int i;

	switch (operand) {
	case O_F32:
		v = rand_f32(rng);
		memcpy(data, &v, 4);
		break;
	case O_F64:
		v = rand_f64(rng);
		memcpy(data, &v, 8);
		break;
	case O_F80:
		rand_f80(rng, data);
		break;
	case O_I16:
	case O_I32:
	case O_I64:
		v = rand_int(rng, operand == O_I16 ? 2 : operand == O_I32 ? 4 : 8);
		memcpy(data, &v, 8);
		break;
	case O_BCD: /* eighteen digits and a sign */
		for (i = 0; i < 9; i++)
			data[i] = (prandom_u64(rng) % 10) << 4 | prandom_u64(rng) % 10;
		data[9] = prandom_u64(rng) & 0x80;
		break;
	case O_ENV: /* random bytes but a control word with the reserved bits clear */
	case O_SAVE:
		data[1] &= 0x1f;
		break;
	}
}

/* The bytes that must match: the area but FOP/FIP/FDP/MXCSR and pad; the operand. */
static bool same_state(const struct x87_state *a, const struct x87_state *b, bool env, bool rflags)
{
	unsigned int i;

	if (memcmp(a->img, b->img, 6))
		return false;
	for (i = 0; i < 8; i++)
		if (memcmp(&a->img[32 + 16 * i], &b->img[32 + 16 * i], 10))
			return false;
	if (rflags && a->rflags != b->rflags)
		return false;
	if (!env)
		return !memcmp(a->data, b->data, DATA_SIZE);
	/* fnstenv and fnsave: their pointers (FIP, FCS, FOP, FDP, FDS) are the host's. */
	return !memcmp(a->data, b->data, 12) && !memcmp(a->data + 28, b->data + 28, DATA_SIZE - 28);
}

static void dump(const char *who, const struct x87_state *s)
{
	unsigned int i;

	fprintf(stderr, "%s: fcw %02x%02x fsw %02x%02x ftw %02x fl %#lx st", who, s->img[1],
		s->img[0], s->img[3], s->img[2], s->img[4], (unsigned long)s->rflags);
	for (i = 0; i < 8; i++)
		fprintf(stderr, " %02x%02x:%016lx", s->img[32 + 16 * i + 9],
			s->img[32 + 16 * i + 8], *(const unsigned long *)&s->img[32 + 16 * i]);
	fprintf(stderr, "\n  data");
	for (i = 0; i < 16; i++)
		fprintf(stderr, " %02x", s->data[i]);
	fprintf(stderr, "\n");
}

static void run_both(const char *name, const uint8_t *insn, unsigned int len,
		     const struct x87_state *start, bool env, bool rflags)
{
	struct x87_state host = *start, soft = *start;

	host_run(insn, len, &host);
	soft_run(insn, len, &soft);
	if (same_state(&host, &soft, env, rflags))
		return;
	fprintf(stderr, "%s (%02x %02x):\n", name, insn[0], len > 1 ? insn[1] : 0);
	dump("start", start);
	dump("host ", &host);
	dump("soft ", &soft);
	TEST_FAIL("%s differs from the host", name);
}

TEST(x87_against_the_host)
{
	uint64_t rng = 0x78383720;
	unsigned int n, unmasked = 0;

	host_setup();
	for (n = 0; n < 40000; n++) {
		struct x87_state start;
		uint8_t insn[2];
		bool env = false, comi = false;
		const char *name;

		rand_state(&rng, &start);
		if (prandom_u64(&rng) % 2) {
			const struct reg_form *f =
				&reg_forms[prandom_u64(&rng) % ARRAY_SIZE(reg_forms)];

			insn[0] = f->esc;
			insn[1] = f->first + prandom_u64(&rng) % (f->last - f->first + 1);
			name = f->name;
			comi = (f->esc == 0xdb || f->esc == 0xdf) && insn[1] >= 0xe8;
		} else {
			const struct mem_form *f =
				&mem_forms[prandom_u64(&rng) % ARRAY_SIZE(mem_forms)];

			insn[0] = f->esc;
			insn[1] = f->reg << 3 | 7; /* [rdi] */
			name = f->name;
			rand_operand(&rng, f->operand, start.data);
			env = !strcmp(name, "fnstenv") || !strcmp(name, "fnsave");
		}
		unmasked += (~start.img[0] & 0x3f) != 0;
		run_both(name, insn, 2, &start, env, comi);
	}
	TEST_ASSERT(unmasked > 4000, "only %u with exceptions unmasked", unmasked);
}

/*
 * Pinned edges, each against the host: stack overflow and underflow (IE,
 * SF and C1), the integer indefinite, a denormal load, each rounding
 * control on a halfway value.
 */
static void run_pinned(const char *what, const uint8_t *insn, unsigned int len, uint16_t fcw,
		       uint8_t tags, uint16_t top, const void *st0, const void *data,
		       unsigned int data_len, uint16_t want_fsw_mask, uint16_t want_fsw)
{
	struct x87_state s, host;

	memset(&s, 0, sizeof(s));
	memcpy(&s.img[0], &fcw, 2);
	top <<= 11;
	memcpy(&s.img[2], &top, 2);
	s.img[4] = tags;
	s.img[24] = 0x80;
	s.img[25] = 0x1f;
	if (st0)
		memcpy(&s.img[32], st0, 10);
	if (data)
		memcpy(s.data, data, data_len);
	run_both(what, insn, len, &s, false, true);
	host = s;
	host_run(insn, len, &host);
	TEST_ASSERT((*(uint16_t *)&host.img[2] & want_fsw_mask) == want_fsw, "%s: fsw %#x", what,
		    *(uint16_t *)&host.img[2]);
}

TEST(x87_edges_are_the_hardware_s)
{
	static const uint8_t fld1[] = { 0xd9, 0xe8 }, fstp_m64[] = { 0xdd, 0x1f },
			     fistp_m32[] = { 0xdb, 0x1f }, fld_m80[] = { 0xdb, 0x2f },
			     frndint[] = { 0xd9, 0xfc }, fld_m64[] = { 0xdd, 0x07 };
	static const uint8_t big[10] = { 0, 0, 0, 0, 0, 0, 0, 0x80, 0x40, 0x40 }; /* 2^65 */
	static const uint8_t pseudo_denormal[10] = { 1, 0, 0, 0, 0, 0, 0, 0x80, 0, 0 };
	static const uint8_t two_and_half[10] = { 0, 0, 0, 0, 0, 0, 0, 0xa0, 0, 0x40 };
	static const uint64_t denormal = 1;
	unsigned int rc;

	host_setup();
	/* Overflow: all eight full. IE, SF, C1 set; the indefinite pushed. */
	run_pinned("fld1 on a full stack", fld1, 2, 0x37f, 0xff, 0, NULL, NULL, 0, 0x0241, 0x0241);
	/* Underflow: fstp of an empty ST0: IE, SF, C1 clear, the indefinite stored. */
	run_pinned("fstp of an empty register", fstp_m64, 2, 0x37f, 0, 0, NULL, NULL, 0, 0x0241,
		   0x0041);
	run_pinned("fistp of 2^65: the integer indefinite", fistp_m32, 2, 0x37f, 0x01, 0, big, NULL,
		   0, 0x0001, 0x0001);
	run_pinned("fld of a pseudo-denormal", fld_m80, 2, 0x37f, 0, 0, NULL, pseudo_denormal, 10,
		   0, 0);
	run_pinned("fld of a double denormal: DE", fld_m64, 2, 0x37f, 0, 0, NULL, &denormal, 8,
		   0x0002, 0x0002);
	for (rc = 0; rc < 4; rc++)
		run_pinned("frndint of 2.5", frndint, 2, 0x37f | rc << 10, 0x01, 0, two_and_half,
			   NULL, 0, 0x0020, 0x0020);
	/* Unmasked: the store does not happen, the stack is not popped, ES is set. */
	run_pinned("fistp of 2^65, IE unmasked", fistp_m32, 2, 0x37e, 0x01, 0, big, NULL, 0, 0x80ff,
		   0x8081);
}

/* fxsave64 after fxrstor64: the same state, ES and B as the flags and masks say. */
TEST(fxsave_and_fxrstor_round_trip_the_state)
{
	uint64_t rng = 0x6678;
	unsigned int n;

	host_setup();
	for (n = 0; n < 2000; n++) {
		struct x87_state s;

		rand_state(&rng, &s);
		if (n % 2) /* any flags: ES recomputed */
			s.img[2] = prandom_u64(&rng);
		run_both("fxrstor64; fxsave64", nothing, 0, &s, false, false);
	}
}

/* ---- #MF ---- */

static volatile sig_atomic_t host_mf_offset;

/* SIGFPE: note where, then clear the flags so that the instruction runs again. */
static void host_sigfpe(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;

	host_mf_offset = uc->uc_mcontext.gregs[REG_RIP] - (long)host_page;
	uc->uc_mcontext.fpregs->swd &= ~0x80ff;
}

/*
 * A divide by zero with ZE unmasked completes (the destination unchanged)
 * and sets ES; the next waiting instruction raises #MF, at its own rip.
 * The host agrees: its SIGFPE comes at the same instruction.
 */
TEST(unmasked_exception_is_mf_at_the_next_waiting_instruction)
{
	/* fld1; fldz; fdivp; fnstsw ax; fld1 */
	static const uint8_t insn[] = {
		0xd9, 0xe8, 0xd9, 0xee, 0xde, 0xf9, 0xdf, 0xe0, 0xd9, 0xe8
	};
	struct sigaction sa = { .sa_sigaction = host_sigfpe, .sa_flags = SA_SIGINFO };
	struct x87_state s;
	struct soft_cpu cpu;
	uint64_t frame[5];
	uint16_t fcw = 0x37b, fsw;

	memset(&s, 0, sizeof(s));
	memcpy(&s.img[0], &fcw, 2);
	s.img[24] = 0x80;
	s.img[25] = 0x1f;

	/* Without a handler: a stop naming #MF and the instruction. */
	soft_start(&cpu, insn, sizeof(insn), &s, DATA);
	TEST_ASSERT_EQ(soft_cpu_run(&cpu, 0), SOFT_EXIT_ERROR);
	TEST_ASSERT_EQ(cpu.exit.error, SOFT_ERR_EXCEPTION);
	TEST_ASSERT_EQ(cpu.exit.vector, (unsigned int)SOFT_VEC_MF);
	TEST_ASSERT(strstr(cpu.exit.message, "#MF (x87 floating-point exception, vector 16)"), "%s",
		    cpu.exit.message);
	TEST_ASSERT(strstr(cpu.exit.message, "fld1"), "%s", cpu.exit.message);
	TEST_ASSERT_EQ(cpu.rip, CODE + 4 + 8);
	/* fnstsw ax did not wait: it read ES, B and ZE. */
	TEST_ASSERT_EQ(cpu.gpr[SOFT_RAX] & 0x80ff, 0x8084UL);
	soft_cpu_destroy(&cpu);

	/* With one: the frame of a fault at the fld1, the state as fdivp left it. */
	soft_start(&cpu, insn, sizeof(insn), &s, DATA);
	TEST_ASSERT_EQ(soft_cpu_set_exception_handler(&cpu, SOFT_VEC_MF, HANDLER, MF_STACK), 0);
	TEST_ASSERT_EQ(soft_cpu_run(&cpu, 0), SOFT_EXIT_HLT);
	TEST_ASSERT_EQ(cpu.rip, HANDLER + 5);
	memcpy(frame, ram + (MF_STACK - 40 - RAM_BASE), sizeof(frame));
	TEST_ASSERT_EQ(frame[0], CODE + 4 + 8); /* no error code */
	memcpy(&fsw, ram + (IMG_OUT - RAM_BASE) + 2, 2);
	/* Two pushed, and fdivp's pop did not happen: the trapping response keeps the stack. */
	TEST_ASSERT_EQ(fsw & 0xb8ff, 0x8084 | 6 << 11);
	soft_cpu_destroy(&cpu);

	host_setup();
	TEST_ASSERT_EQ(sigaction(SIGFPE, &sa, NULL), 0);
	host_mf_offset = -1;
	host_run(insn, sizeof(insn), &s);
	TEST_ASSERT_EQ(host_mf_offset, 4 + 8); /* after fxrstor64, at the second fld1 */
	signal(SIGFPE, SIG_DFL);
}

/* A flag fldcw unmasks is pending at once: wait raises #MF; fnclex clears it. */
TEST(x87_pending_exception_is_mf)
{
	/* fldcw [rdi]; fnclex-less: wait */
	static const uint8_t insn[] = { 0xd9, 0x2f, 0x9b };
	static const uint8_t cleared[] = { 0xd9, 0x2f, 0xdb, 0xe2, 0x9b };
	struct x87_state s;
	struct soft_cpu cpu;
	uint16_t fcw = 0x37f, fsw = 0x0004, unmask = 0x37b;

	memset(&s, 0, sizeof(s));
	memcpy(&s.img[0], &fcw, 2);
	memcpy(&s.img[2], &fsw, 2);
	s.img[24] = 0x80;
	s.img[25] = 0x1f;
	memcpy(s.data, &unmask, 2);
	soft_start(&cpu, insn, sizeof(insn), &s, DATA);
	TEST_ASSERT_EQ(soft_cpu_run(&cpu, 0), SOFT_EXIT_ERROR);
	TEST_ASSERT_EQ(cpu.exit.vector, (unsigned int)SOFT_VEC_MF);
	TEST_ASSERT_EQ(cpu.rip, CODE + 4 + 2);
	soft_cpu_destroy(&cpu);

	soft_start(&cpu, cleared, sizeof(cleared), &s, DATA);
	TEST_ASSERT_EQ(soft_cpu_run(&cpu, 0), SOFT_EXIT_HLT);
	soft_cpu_destroy(&cpu);
}

/* ---- faults ---- */

/*
 * A #PF on a store leaves the x87 state unchanged (nothing popped, no
 * flag); a retried translation leaves the same result as none.
 */
TEST(a_faulting_store_leaves_the_x87_state)
{
	static const uint8_t fstp[] = { 0xdd, 0x1f }, fnsave[] = { 0xdd, 0x37 };
	uint64_t rng = 0x7066;
	unsigned int n;

	host_setup();
	for (n = 0; n < 200; n++) {
		const uint8_t *insn = n % 2 ? fstp : fnsave;
		struct x87_state s, soft;
		struct soft_cpu cpu;

		rand_state(&rng, &s);
		s.img[0] |= 0x3f; /* an unmasked exception stores nothing, so faults on nothing */
		soft = s;
		soft_start(&cpu, insn, 2, &soft, FAULT_PAGE + 8);
		TEST_ASSERT_EQ(soft_cpu_set_exception_handler(&cpu, SOFT_VEC_PF, HANDLER, PF_STACK),
			       0);
		TEST_ASSERT_EQ(soft_cpu_run(&cpu, 0), SOFT_EXIT_HLT);
		TEST_ASSERT_EQ(cpu.rip, HANDLER + 5);
		TEST_ASSERT_EQ(cpu.cr2, FAULT_PAGE + 8);
		soft_finish(&cpu, &soft);
		/* What fxrstor64 loaded, ES and B as the flags say: compare with no instruction. */
		{
			struct x87_state none = s;

			soft_run(nothing, 0, &none);
			TEST_ASSERT(same_state(&none, &soft, false, false),
				    "state changed by a #PF");
		}
		retry_writes = 1 + n % 3;
		run_both(n % 2 ? "fstp m64, retried" : "fnsave, retried", insn, 2, &s, n % 2 == 0,
			 false);
		TEST_ASSERT_EQ(retry_writes, 0U);
	}
}

/* Capstone decodes a wait before a control instruction as one (fstcw, fstsw, finit...). */
TEST(waiting_control_forms_are_the_hardware_s)
{
	static const struct {
		const char *name;
		uint8_t bytes[3];
		bool env;
	} forms[] = {
		{ "fstcw", { 0x9b, 0xd9, 0x3f }, false }, { "fstsw", { 0x9b, 0xdd, 0x3f }, false },
		{ "finit", { 0x9b, 0xdb, 0xe3 }, false }, { "fclex", { 0x9b, 0xdb, 0xe2 }, false },
		{ "fstenv", { 0x9b, 0xd9, 0x37 }, true }, { "fsave", { 0x9b, 0xdd, 0x37 }, true },
	};
	uint64_t rng = 0x9b;
	unsigned int n;

	host_setup();
	for (n = 0; n < 600; n++) {
		struct x87_state s;

		rand_state(&rng, &s);
		run_both(forms[n % ARRAY_SIZE(forms)].name, forms[n % ARRAY_SIZE(forms)].bytes, 3,
			 &s, forms[n % ARRAY_SIZE(forms)].env, false);
	}
}

/*
 * The non-waiting forms run with an exception pending (a flag the FCW
 * leaves unmasked, which fxrstor64 turns into ES): no #MF on either, and
 * the same state after.
 */
TEST(non_waiting_forms_run_with_an_exception_pending)
{
	static const struct {
		const char *name;
		uint8_t bytes[2];
		bool env;
	} forms[] = {
		{ "fnstcw", { 0xd9, 0x3f }, false }, { "fnstsw", { 0xdd, 0x3f }, false },
		{ "fninit", { 0xdb, 0xe3 }, false }, { "fnclex", { 0xdb, 0xe2 }, false },
		{ "fnstenv", { 0xd9, 0x37 }, true }, { "fnsave", { 0xdd, 0x37 }, true },
	};
	uint64_t rng = 0x6e77;
	unsigned int n;

	host_setup();
	for (n = 0; n < 600; n++) {
		struct x87_state s;

		rand_state(&rng, &s);
		s.img[0] &= ~0x01; /* IM clear, IE set: pending */
		s.img[2] |= 0x01;
		run_both(forms[n % ARRAY_SIZE(forms)].name, forms[n % ARRAY_SIZE(forms)].bytes, 2,
			 &s, forms[n % ARRAY_SIZE(forms)].env, false);
	}
}

/*
 * A lock prefix makes an x87 instruction #UD: a stop, nothing run
 * (Capstone 4 already refuses the bytes; x87.c checks too).
 */
TEST(locked_x87_is_refused)
{
	static const uint8_t lock_fld[] = { 0xf0, 0xdd, 0x07 };
	struct x87_state s;
	struct soft_cpu cpu;

	memset(&s, 0, sizeof(s));
	s.img[0] = 0x7f;
	s.img[1] = 0x03;
	s.img[24] = 0x80;
	s.img[25] = 0x1f;
	soft_start(&cpu, lock_fld, sizeof(lock_fld), &s, DATA);
	TEST_ASSERT_EQ(soft_cpu_run(&cpu, 0), SOFT_EXIT_ERROR);
	TEST_ASSERT(cpu.exit.error == SOFT_ERR_UNSUPPORTED || cpu.exit.error == SOFT_ERR_DECODE,
		    "%s", cpu.exit.message);
	TEST_ASSERT_EQ(cpu.rip, CODE + 4);
	soft_cpu_destroy(&cpu);
}

/* An m80 operand across a page boundary, loaded and stored whole. */
TEST(an_m80_across_pages_is_one_operand)
{
	/* fld tword [rdi]; fstp tword [rdi + 0x1000] */
	static const uint8_t insn[] = { 0xdb, 0x2f, 0xdb, 0xbf, 0x00, 0x10, 0x00, 0x00 };
	static const uint8_t value[10] = { 0x21, 0x43, 0x65, 0x87, 0xa9,
					   0xcb, 0xed, 0x8f, 0x34, 0x12 };
	uint64_t at = RAM_BASE + 0x7000 - 5;
	struct x87_state s;
	struct soft_cpu cpu;

	memset(&s, 0, sizeof(s));
	s.img[0] = 0x7f;
	s.img[1] = 0x03;
	s.img[24] = 0x80;
	s.img[25] = 0x1f;
	soft_start(&cpu, insn, sizeof(insn), &s, at);
	memcpy(ram + (at - RAM_BASE), value, 10);
	TEST_ASSERT(soft_cpu_run(&cpu, 0) == SOFT_EXIT_HLT, "%s", cpu.exit.message);
	TEST_ASSERT(!memcmp(ram + (at + 0x1000 - RAM_BASE), value, 10),
		    "the m80 came back changed");
	soft_cpu_destroy(&cpu);
}
