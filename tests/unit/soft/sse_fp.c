// SPDX-License-Identifier: GPL-2.0
/*
 * The soft vCPU's SSE floating point against the host's own instructions
 * (an x86-64 host), where Unicorn cannot be the reference
 * (diff_sse_fp.c says where it differs): MXCSR's six exception flags,
 * FTZ and DAZ in every rounding mode, which NaN an operation returns, a
 * compare's ignored immediate bits, and unmasked exceptions, which on the
 * host trap as SIGFPE and on the soft vCPU are #XM (vector 19).
 *
 * Each instruction is run on the host from an executable page holding its
 * bytes, as the guest has them, and on the soft vCPU from flat memory,
 * from the same xmm0, xmm1, rax and MXCSR.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "base/compiler.h"
#include "base/prandom.h"
#include "tests/lib/test_util.h"
#include "vmm/soft/soft_cpu.h"

#define RAM_BASE 0x100000UL
#define RAM_SIZE 0x4000UL
#define CODE RAM_BASE
#define XM_HANDLER (RAM_BASE + 0x1000)
#define XM_STACK (RAM_BASE + 0x3000)
#define STACK_TOP (RAM_BASE + 0x4000)

#define MXCSR_FLAGS 0x3fu
#define MXCSR_MASKS 0x1f80u
#define MXCSR_DAZ 0x40u
#define MXCSR_FTZ 0x8000u
#define IE 0x01u
#define ZE 0x04u
#define OE 0x08u
#define UE 0x10u
#define PE 0x20u

static uint8_t ram[RAM_SIZE];

static enum soft_xlate_ret ram_translate(void *opaque, uint64_t gva, unsigned int len,
					 enum soft_access access, uint64_t rip,
					 struct soft_xlate *out)
{
	if (gva < RAM_BASE || gva + len > RAM_BASE + RAM_SIZE)
		return SOFT_XLATE_OUTSIDE;
	out->gpa = gva;
	out->hva = ram + (gva - RAM_BASE);
	return SOFT_XLATE_OK;
}

static const struct soft_mem_ops ram_ops = { .translate = ram_translate };

/* What one instruction starts from and leaves. */
struct fp_state {
	union soft_xmm x0, x1;
	uint64_t rax;
	uint64_t rflags; /* the arithmetic flags */
	uint32_t mxcsr;
	bool trapped; /* an unmasked exception: SIGFPE on the host, #XM on the soft vCPU */
};

/* ---- the host ---- */

static uint8_t *host_page;
static volatile sig_atomic_t host_trapped;
static volatile uint32_t host_trap_mxcsr;

/*
 * SIGFPE from an unmasked SSE exception: note MXCSR as the instruction
 * left it, then mask everything in the interrupted context, so that the
 * instruction runs again to completion when the handler returns.
 */
static void host_sigfpe(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;

	host_trapped = 1;
	host_trap_mxcsr = uc->uc_mcontext.fpregs->mxcsr;
	uc->uc_mcontext.fpregs->mxcsr |= MXCSR_MASKS;
}

/*
 * Run @insn on the host: the page holds it, then pushfq; pop rdx; ret.
 * The call goes below the red zone, as the compiler may keep data there.
 */
static void host_run(const uint8_t *insn, unsigned int len, struct fp_state *s)
{
	uint32_t saved, mx = s->mxcsr;
	uint64_t fl;

	memcpy(host_page, insn, len);
	memcpy(host_page + len, (const uint8_t[]){ 0x9c, 0x5a, 0xc3 }, 3);
	__builtin___clear_cache((char *)host_page, (char *)host_page + len + 3);
	host_trapped = 0;
	asm volatile("stmxcsr %[saved]\n\t"
		     "ldmxcsr %[mx]\n\t"
		     "movdqu %[x0], %%xmm0\n\t"
		     "movdqu %[x1], %%xmm1\n\t"
		     "sub $128, %%rsp\n\t"
		     "call *%[fn]\n\t"
		     "add $128, %%rsp\n\t"
		     "stmxcsr %[mx]\n\t"
		     "ldmxcsr %[saved]\n\t"
		     "movdqu %%xmm0, %[x0]"
		     : [x0] "+m"(s->x0), [mx] "+m"(mx), [saved] "=m"(saved), "+a"(s->rax), "=d"(fl)
		     : [x1] "m"(s->x1), [fn] "r"(host_page)
		     : "rcx", "rsi", "rdi", "r8", "r9", "r10", "r11", "xmm0", "xmm1", "cc",
		       "memory");
	s->rflags = fl & 0x8d5;
	s->trapped = host_trapped;
	s->mxcsr = host_trapped ? host_trap_mxcsr : mx;
}

/* ---- the soft vCPU ---- */

static void soft_run(const uint8_t *insn, unsigned int len, struct fp_state *s)
{
	struct soft_cpu cpu;
	enum soft_exit_reason why;

	memset(ram, 0, sizeof(ram));
	memcpy(ram, insn, len);
	ram[len] = 0xf4;		   /* hlt */
	ram[XM_HANDLER - RAM_BASE] = 0xf4; /* hlt */
	TEST_ASSERT_EQ(soft_cpu_init(&cpu, &ram_ops, NULL), 0);
	TEST_ASSERT_EQ(soft_cpu_set_exception_handler(&cpu, SOFT_VEC_XM, XM_HANDLER, XM_STACK), 0);
	cpu.rip = CODE;
	cpu.gpr[SOFT_RSP] = STACK_TOP;
	cpu.gpr[SOFT_RAX] = s->rax;
	cpu.xmm[0] = s->x0;
	cpu.xmm[1] = s->x1;
	cpu.mxcsr = s->mxcsr;
	soft_cpu_set_rflags(&cpu, 0x2);
	why = soft_cpu_run(&cpu, 0);
	TEST_ASSERT(why == SOFT_EXIT_HLT, "exit %d: %s", why, cpu.exit.message);
	s->trapped = cpu.rip == XM_HANDLER + 1;
	if (s->trapped)
		TEST_ASSERT_EQ(cpu.stats.exceptions, 1UL);
	else
		TEST_ASSERT_EQ(cpu.rip, CODE + len + 1);
	s->x0 = cpu.xmm[0];
	s->rax = cpu.gpr[SOFT_RAX];
	s->rflags = soft_cpu_get_rflags(&cpu) & 0x8d5;
	s->mxcsr = cpu.mxcsr;
	soft_cpu_destroy(&cpu);
}

/* ---- the instructions: op xmm0, xmm1 (or eax/rax where a gpr is one side) ---- */

struct fp_insn {
	const char *name;
	uint8_t bytes[6];
	uint8_t len;
	bool imm; /* the last byte is an immediate, randomized */
};

#define I(name, ...)                                                                               \
	{                                                                                          \
		name, { __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }), false             \
	}
#define IMM(name, ...)                                                                             \
	{                                                                                          \
		name, { __VA_ARGS__, 0 }, sizeof((const uint8_t[]){ __VA_ARGS__ }) + 1, true       \
	}
#define FOUR(op, opc)                                                                              \
	I(op "ps", 0x0f, opc, 0xc1), I(op "pd", 0x66, 0x0f, opc, 0xc1),                            \
		I(op "ss", 0xf3, 0x0f, opc, 0xc1), I(op "sd", 0xf2, 0x0f, opc, 0xc1)

static const struct fp_insn insns[] = {
	FOUR("add", 0x58),
	FOUR("sub", 0x5c),
	FOUR("mul", 0x59),
	FOUR("div", 0x5e),
	FOUR("min", 0x5d),
	FOUR("max", 0x5f),
	FOUR("sqrt", 0x51),
	IMM("cmpps", 0x0f, 0xc2, 0xc1),
	IMM("cmppd", 0x66, 0x0f, 0xc2, 0xc1),
	IMM("cmpss", 0xf3, 0x0f, 0xc2, 0xc1),
	IMM("cmpsd", 0xf2, 0x0f, 0xc2, 0xc1),
	I("ucomiss", 0x0f, 0x2e, 0xc1),
	I("ucomisd", 0x66, 0x0f, 0x2e, 0xc1),
	I("comiss", 0x0f, 0x2f, 0xc1),
	I("comisd", 0x66, 0x0f, 0x2f, 0xc1),
	I("cvtsi2ss eax", 0xf3, 0x0f, 0x2a, 0xc0),
	I("cvtsi2ss rax", 0xf3, 0x48, 0x0f, 0x2a, 0xc0),
	I("cvtsi2sd eax", 0xf2, 0x0f, 0x2a, 0xc0),
	I("cvtsi2sd rax", 0xf2, 0x48, 0x0f, 0x2a, 0xc0),
	I("cvtss2si eax", 0xf3, 0x0f, 0x2d, 0xc1),
	I("cvtss2si rax", 0xf3, 0x48, 0x0f, 0x2d, 0xc1),
	I("cvtsd2si eax", 0xf2, 0x0f, 0x2d, 0xc1),
	I("cvtsd2si rax", 0xf2, 0x48, 0x0f, 0x2d, 0xc1),
	I("cvttss2si eax", 0xf3, 0x0f, 0x2c, 0xc1),
	I("cvttss2si rax", 0xf3, 0x48, 0x0f, 0x2c, 0xc1),
	I("cvttsd2si eax", 0xf2, 0x0f, 0x2c, 0xc1),
	I("cvttsd2si rax", 0xf2, 0x48, 0x0f, 0x2c, 0xc1),
	I("cvtss2sd", 0xf3, 0x0f, 0x5a, 0xc1),
	I("cvtsd2ss", 0xf2, 0x0f, 0x5a, 0xc1),
	I("cvtps2pd", 0x0f, 0x5a, 0xc1),
	I("cvtpd2ps", 0x66, 0x0f, 0x5a, 0xc1),
	I("cvtdq2ps", 0x0f, 0x5b, 0xc1),
	I("cvtps2dq", 0x66, 0x0f, 0x5b, 0xc1),
	I("cvttps2dq", 0xf3, 0x0f, 0x5b, 0xc1),
	I("cvtdq2pd", 0xf3, 0x0f, 0xe6, 0xc1),
	I("cvtpd2dq", 0xf2, 0x0f, 0xe6, 0xc1),
	I("cvttpd2dq", 0x66, 0x0f, 0xe6, 0xc1),
	IMM("shufps", 0x0f, 0xc6, 0xc1),
	IMM("shufpd", 0x66, 0x0f, 0xc6, 0xc1),
	I("unpcklps", 0x0f, 0x14, 0xc1),
	I("unpckhps", 0x0f, 0x15, 0xc1),
	I("unpcklpd", 0x66, 0x0f, 0x14, 0xc1),
	I("unpckhpd", 0x66, 0x0f, 0x15, 0xc1),
	I("movmskps", 0x0f, 0x50, 0xc1),
	I("movmskpd", 0x66, 0x0f, 0x50, 0xc1),
};

/* A 32-bit lane: the float classes, and their edges. */
static uint32_t rand_f32(uint64_t *rng)
{
	static const uint32_t special[] = { 0,		0x80000000, 0x3f800000, 0x00000001,
					    0x807fffff, 0x00800000, 0x7f7fffff, 0x7f800000,
					    0xff800000, 0x7fc00000, 0x7fc00001, 0x7f800001,
					    0xffa00002, 0x4f000000, 0xcf000000, 0x3f000000 };
	uint64_t v = prandom_u64(rng);

	switch (v % 4) {
	case 0:
		return special[(v >> 8) % 16];
	case 1: /* near the denormal boundary, for FTZ and underflow; near the top, for overflow */
		if (v & 0x100)
			return (0x7f7fffff - (uint32_t)(v >> 32) % 0x01000000) | (v & 0x80000000);
		return (uint32_t)(v >> 32) % 0x01800000 | (v & 0x80000000);
	default:
		return v >> 32;
	}
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
		0x7ff8000000000001UL,
		0x7ff0000000000001UL,
		0xfff4000000000002UL,
		0x41e0000000000000UL,
		0xc3e0000000000000UL,
		0x36a0000000000000UL, /* 2^-149: a float denormal as a double */
	};
	uint64_t v = prandom_u64(rng);

	switch (v % 4) {
	case 0:
		return special[(v >> 8) % 16];
	case 1:
		if (v & 0x100)
			return (0x7fefffffffffffffUL - prandom_u64(rng) % 0x0020000000000000UL) |
			       (v & 0x80000000) << 32;
		return (uint64_t)((uint32_t)(v >> 32) % 0x03800000 | (v & 0x80000000)) << 32 |
		       prandom_u64(rng) >> 32;
	default:
		return prandom_u64(rng);
	}
}

static void rand_xmm(uint64_t *rng, union soft_xmm *x)
{
	unsigned int i;

	if (prandom_u64(rng) % 2) {
		for (i = 0; i < 4; i++)
			x->d[i] = rand_f32(rng);
	} else {
		for (i = 0; i < 2; i++)
			x->q[i] = rand_f64(rng);
	}
}

/*
 * Random operands and MXCSR: every rounding mode, FTZ and DAZ, sticky
 * flags already set, and a quarter of the time some exceptions unmasked.
 */
static void rand_state(uint64_t *rng, struct fp_state *s)
{
	uint64_t v = prandom_u64(rng);

	memset(s, 0, sizeof(*s));
	rand_xmm(rng, &s->x0);
	rand_xmm(rng, &s->x1);
	s->rax = v % 3 ? (uint64_t)(int64_t)(int32_t)prandom_u64(rng) : prandom_u64(rng);
	s->mxcsr = MXCSR_MASKS | (v >> 8 & 3) << 13 | (v >> 10 & 1 ? MXCSR_FTZ : 0) |
		   (v >> 11 & 1 ? MXCSR_DAZ : 0) | (v >> 12 & 1 ? (v >> 16) & MXCSR_FLAGS : 0);
	if ((v >> 24) % 4 == 0)
		s->mxcsr &= ~((v >> 32) & MXCSR_MASKS);
}

static void expect_same(const struct fp_insn *in, const uint8_t *bytes,
			const struct fp_state *start, const struct fp_state *host,
			const struct fp_state *soft)
{
	/* Only (u)comis* write the flags: the host's others are the caller's. */
	bool flags = strstr(in->name, "comi");
	bool same =
		host->trapped == soft->trapped && host->mxcsr == soft->mxcsr &&
		(host->trapped || (!memcmp(&host->x0, &soft->x0, 16) && host->rax == soft->rax &&
				   (!flags || host->rflags == soft->rflags)));

	if (same && soft->trapped)
		same = !memcmp(&start->x0, &soft->x0, 16) && start->rax == soft->rax;
	if (same)
		return;
	fprintf(stderr, "%s (imm %#x): mxcsr %#x x0 %016lx%016lx x1 %016lx%016lx rax %#lx\n",
		in->name, bytes[in->len - 1], start->mxcsr, (unsigned long)start->x0.q[1],
		(unsigned long)start->x0.q[0], (unsigned long)start->x1.q[1],
		(unsigned long)start->x1.q[0], (unsigned long)start->rax);
	fprintf(stderr, "host: trapped %d mxcsr %#x x0 %016lx%016lx rax %#lx fl %#lx\n",
		host->trapped, host->mxcsr, (unsigned long)host->x0.q[1],
		(unsigned long)host->x0.q[0], (unsigned long)host->rax,
		(unsigned long)host->rflags);
	fprintf(stderr, "soft: trapped %d mxcsr %#x x0 %016lx%016lx rax %#lx fl %#lx\n",
		soft->trapped, soft->mxcsr, (unsigned long)soft->x0.q[1],
		(unsigned long)soft->x0.q[0], (unsigned long)soft->rax,
		(unsigned long)soft->rflags);
	TEST_FAIL("%s differs from the host", in->name);
}

static void host_setup(void)
{
	struct sigaction sa = { .sa_sigaction = host_sigfpe, .sa_flags = SA_SIGINFO };

	host_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(host_page != MAP_FAILED, "mmap an executable page");
	TEST_ASSERT_EQ(sigaction(SIGFPE, &sa, NULL), 0);
}

/* Run @bytes from @start on both; the soft vCPU must leave what the host leaves. */
static void run_both(const struct fp_insn *in, const uint8_t *bytes, const struct fp_state *start,
		     struct fp_state *host)
{
	struct fp_state soft = *start;

	*host = *start;
	host_run(bytes, in->len, host);
	soft_run(bytes, in->len, &soft);
	expect_same(in, bytes, start, host, &soft);
}

TEST(sse_fp_against_the_host)
{
	uint64_t rng = 0x686f7374;
	unsigned int n, traps = 0;

	host_setup();
	for (n = 0; n < 20000; n++) {
		const struct fp_insn *in = &insns[prandom_u64(&rng) % ARRAY_SIZE(insns)];
		struct fp_state start, host;
		uint8_t bytes[6];

		memcpy(bytes, in->bytes, in->len);
		if (in->imm)
			bytes[in->len - 1] = prandom_u64(&rng);
		rand_state(&rng, &start);
		run_both(in, bytes, &start, &host);
		traps += host.trapped;
	}
	TEST_ASSERT(traps > 200, "only %u unmasked exceptions", traps);
}

/*
 * Where Unicorn differs from the hardware, the hardware's answer, checked
 * on the host and on the soft vCPU: the constants are the architecture's.
 */
struct pinned {
	const char *what;
	struct fp_insn in;
	uint64_t x0, x1;
	uint32_t mxcsr;
	uint64_t want; /* xmm0's low qword after, or rax's for a conversion to an integer */
	uint32_t want_flags;
};

/*
 * Run @p on both (a compare's immediate is 0x49: predicate 1 in its low
 * bits); the host must trap as @traps says, leave @p's MXCSR and, if it
 * does not trap, @p's result.
 */
static void run_pinned(const struct pinned *p, bool traps)
{
	struct fp_state start = { .x0.q = { p->x0, 0 }, .x1.q = { p->x1, 0 }, .mxcsr = p->mxcsr },
			host;
	bool to_gpr = strstr(p->in.name, "2si");
	uint8_t bytes[6];
	uint64_t got;

	memcpy(bytes, p->in.bytes, p->in.len);
	if (p->in.imm)
		bytes[p->in.len - 1] = 0x49;
	run_both(&p->in, bytes, &start, &host);
	TEST_ASSERT(host.trapped == traps, "%s: trapped %d", p->what, host.trapped);
	got = to_gpr ? host.rax : host.x0.q[0];
	TEST_ASSERT(traps || got == p->want, "%s: %#lx, not %#lx", p->what, (unsigned long)got,
		    (unsigned long)p->want);
	TEST_ASSERT(host.mxcsr == (p->mxcsr | p->want_flags), "%s: MXCSR %#x, not %#x", p->what,
		    host.mxcsr, p->mxcsr | p->want_flags);
}

static const struct pinned pinned[] = {
	{ "two QNaNs: the first", I("addsd", 0xf2, 0x0f, 0x58, 0xc1), 0x7ff8000000000001UL,
	  0x7ff8000000000002UL, 0x1f80, 0x7ff8000000000001UL, 0 },
	{ "an SNaN first: it, quieted", I("mulsd", 0xf2, 0x0f, 0x59, 0xc1), 0x7ff0000000000001UL,
	  0x7ff8000000000002UL, 0x1f80, 0x7ff8000000000001UL, IE },
	{ "a QNaN first, an SNaN second: the first", I("subsd", 0xf2, 0x0f, 0x5c, 0xc1),
	  0xfff8000000000005UL, 0x7ff0000000000009UL, 0x1f80, 0xfff8000000000005UL, IE },
	{ "min under DAZ: the zero it read", I("minsd", 0xf2, 0x0f, 0x5d, 0xc1),
	  0x0000000000000005UL, 0x3ff0000000000000UL, 0x1fc0, 0, 0 },
	{ "FTZ rounding down: -0, not the smallest denormal", I("mulss", 0xf3, 0x0f, 0x59, 0xc1),
	  0x80800000UL, 0x3f000001UL, 0x9f80 | 0x2000, 0x80000000UL, UE | PE },
	{ "cvtsd2ss under FTZ: zero", I("cvtsd2ss", 0xf2, 0x0f, 0x5a, 0xc1), 0,
	  0x3690000000000000UL, 0x9f80, 0, UE | PE },
	{ "a compare's immediate above 7: its low 3 bits (lt)",
	  IMM("cmpss", 0xf3, 0x0f, 0xc2, 0xc1), 0x3f800000UL, 0x40000000UL, 0x1f80, 0xffffffffUL,
	  0 },
	{ "cvttsd2si of a NaN: the integer indefinite", I("cvttsd2si eax", 0xf2, 0x0f, 0x2c, 0xc1),
	  0, 0x7ff8000000000000UL, 0x1f80, 0x80000000UL, IE },
	{ "divide by zero: infinity and ZE", I("divsd", 0xf2, 0x0f, 0x5e, 0xc1),
	  0x3ff0000000000000UL, 0, 0x1f80, 0x7ff0000000000000UL, ZE },
};

TEST(where_unicorn_differs_the_hardware_answers)
{
	unsigned int i;

	host_setup();
	for (i = 0; i < ARRAY_SIZE(pinned); i++)
		run_pinned(&pinned[i], false);
}

/*
 * Unmasked overflow and underflow: the instruction traps, and its
 * precision flag says whether the significand, rounded at an unbounded
 * exponent, is inexact; an exact tiny result traps too.
 */
static const struct pinned unmasked[] = {
	{ "max + max: exact", I("addsd", 0xf2, 0x0f, 0x58, 0xc1), 0x7fefffffffffffffUL,
	  0x7fefffffffffffffUL, 0x1b80, 0, OE },
	{ "max + 1.0 rounding up: inexact", I("addsd", 0xf2, 0x0f, 0x58, 0xc1),
	  0x7fefffffffffffffUL, 0x3ff0000000000000UL, 0x5b80, 0, OE | PE },
	{ "2^127 * 3: exact", I("mulss", 0xf3, 0x0f, 0x59, 0xc1), 0x7f000000UL, 0x40400000UL,
	  0x1b80, 0, OE },
	{ "max * max: inexact", I("mulsd", 0xf2, 0x0f, 0x59, 0xc1), 0x7fefffffffffffffUL,
	  0x7fefffffffffffffUL, 0x1b80, 0, OE | PE },
	{ "denormal + 0: exact and tiny", I("addsd", 0xf2, 0x0f, 0x58, 0xc1), 1, 0, 0x1780, 0,
	  0x02 | UE },
	{ "a tiny product of denormals, exact", I("mulss", 0xf3, 0x0f, 0x59, 0xc1), 0x00000003UL,
	  0x00000005UL, 0x1780, 0, 0x02 | UE },
};

TEST(unmasked_overflow_and_underflow_trap_with_the_hardware_flags)
{
	unsigned int i;

	host_setup();
	for (i = 0; i < ARRAY_SIZE(unmasked); i++)
		run_pinned(&unmasked[i], true);
}

/* An unmasked exception: #XM with the frame of a fault, or a stop naming it without a handler. */
TEST(unmasked_exception_is_xm)
{
	/* divsd xmm0, xmm1; hlt */
	static const uint8_t code[] = { 0xf2, 0x0f, 0x5e, 0xc1, 0xf4 };
	struct soft_cpu cpu;
	uint64_t frame[5];

	memset(ram, 0, sizeof(ram));
	memcpy(ram, code, sizeof(code));
	ram[XM_HANDLER - RAM_BASE] = 0xf4;
	TEST_ASSERT_EQ(soft_cpu_init(&cpu, &ram_ops, NULL), 0);
	cpu.rip = CODE;
	cpu.gpr[SOFT_RSP] = STACK_TOP;
	cpu.xmm[0].df[0] = 1.0;
	cpu.xmm[1].df[0] = 0.0;
	cpu.mxcsr = 0x1f80 & ~(ZE << 7);

	TEST_ASSERT_EQ(soft_cpu_run(&cpu, 0), SOFT_EXIT_ERROR);
	TEST_ASSERT_EQ(cpu.exit.error, SOFT_ERR_EXCEPTION);
	TEST_ASSERT_EQ(cpu.exit.vector, (unsigned int)SOFT_VEC_XM);
	TEST_ASSERT(strstr(cpu.exit.message, "#XM (SIMD floating-point exception, vector 19)"),
		    "%s", cpu.exit.message);
	TEST_ASSERT(strstr(cpu.exit.message, "divsd xmm0, xmm1"), "%s", cpu.exit.message);
	TEST_ASSERT_EQ(cpu.rip, CODE);
	TEST_ASSERT(cpu.xmm[0].df[0] == 1.0, "the destination changed");

	TEST_ASSERT_EQ(soft_cpu_set_exception_handler(&cpu, SOFT_VEC_XM, XM_HANDLER, XM_STACK), 0);
	cpu.mxcsr = 0x1f80 & ~(ZE << 7);
	TEST_ASSERT_EQ(soft_cpu_run(&cpu, 0), SOFT_EXIT_HLT);
	TEST_ASSERT_EQ(cpu.rip, XM_HANDLER + 1);
	TEST_ASSERT(cpu.xmm[0].df[0] == 1.0, "the destination changed");
	TEST_ASSERT_EQ(cpu.mxcsr, (0x1f80 & ~(ZE << 7)) | ZE);
	memcpy(frame, ram + (XM_STACK - 40 - RAM_BASE), sizeof(frame));
	TEST_ASSERT_EQ(frame[0], CODE); /* rip: the instruction, no error code */
	TEST_ASSERT_EQ(frame[1], 0x08UL);
	TEST_ASSERT_EQ(frame[3], STACK_TOP);
	TEST_ASSERT_EQ(frame[4], 0x10UL);
	soft_cpu_destroy(&cpu);
}

/* A packed operand in memory must be 16-byte aligned (#GP(0)); a scalar one need not be. */
TEST(packed_memory_operands_are_aligned)
{
	/* addps xmm0, [rax]; addss xmm0, [rax]; hlt */
	static const uint8_t code[] = { 0x0f, 0x58, 0x00, 0xf3, 0x0f, 0x58, 0x00, 0xf4 };
	struct soft_cpu cpu;

	memset(ram, 0, sizeof(ram));
	memcpy(ram, code, sizeof(code));
	TEST_ASSERT_EQ(soft_cpu_init(&cpu, &ram_ops, NULL), 0);
	cpu.rip = CODE;
	cpu.gpr[SOFT_RSP] = STACK_TOP;
	cpu.gpr[SOFT_RAX] = RAM_BASE + 0x2004;
	TEST_ASSERT_EQ(soft_cpu_run(&cpu, 0), SOFT_EXIT_ERROR);
	TEST_ASSERT_EQ(cpu.exit.vector, (unsigned int)SOFT_VEC_GP);
	TEST_ASSERT_EQ(cpu.rip, CODE);

	cpu.rip = CODE + 3;
	TEST_ASSERT_EQ(soft_cpu_run(&cpu, 0), SOFT_EXIT_HLT);
	cpu.rip = CODE;
	cpu.gpr[SOFT_RAX] = RAM_BASE + 0x2010;
	TEST_ASSERT_EQ(soft_cpu_run(&cpu, 0), SOFT_EXIT_HLT);
	soft_cpu_destroy(&cpu);
}
