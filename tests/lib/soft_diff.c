// SPDX-License-Identifier: GPL-2.0
/*
 * The differential tests' encoder and runner (soft_diff.h): the soft vCPU
 * on flat memory beside Unicorn, from the same state, compared after each
 * sequence.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicorn/unicorn.h>

#include "tests/lib/soft_diff.h"
#include "tests/lib/test_util.h"
#include "vmm/soft/soft_cpu.h"

/* ---- the encoder ---- */

/* A byte register pair; @rex says whether a REX prefix is forced (spl.., r8b..) or banned (ah..). */
void byte_regs(struct gen *g, bool *rex, int *dst, int *src)
{
	static const int legacy_w[] = { 0, 1, 2, 4, 5, 6 }; /* al cl dl ah ch dh */

	*rex = rnd(g, 2);
	if (*rex) {
		*dst = wreg(g);
		*src = rreg(g);
	} else {
		*dst = legacy_w[rnd(g, 6)];
		*src = rnd(g, 8);
	}
}

struct rm rm_mem(struct gen *g, unsigned int size)
{
	struct rm m = { .mem = true, .form = rnd(g, 4) };

	if (g->frame && m.form == 2)
		m.form = 0;
	switch (m.form) {
	case 0:
		m.disp = (int)rnd(g, 200) - 100;
		break;
	case 1:
		m.disp = (int)rnd(g, 0x1000) - 0x800;
		break;
	case 2:
		m.scale = rnd(g, 4);
		m.disp = -(int)rnd(g, 120);
		break;
	default:
		m.target = DATA_BASE + rnd(g, DATA_SIZE - (size > 8 ? size : 8));
		break;
	}
	/* Not on rip-relative targets, which may lie at either end of the data. */
	if (m.form != 3 && !g->frame && !rnd(g, 6))
		m.seg = rnd(g, 2) ? 0x64 : 0x65;
	return m;
}

/*
 * Emit one instruction: [66] [REX] opcode ModRM [SIB] [disp] [imm].  @size
 * is the operand size (1 for byte opcodes), @rex8 forces a REX prefix.
 */
/*
 * Prefixes that change nothing, which a decoder must see through: a cs, ds,
 * es or ss override (ignored in 64-bit mode), and with REX.W a 0x66 (REX.W
 * wins), and on a memory operand a 0x67 (the data lies below 4 GiB, so
 * 32-bit addressing finds the same bytes), in random order around the 0x66
 * that @size 2 asks for and the fs: or gs: override @rm asks for.  Half
 * the instructions get none.  emit() adds an empty REX now and then too.
 */
static void redundant_prefixes(struct gen *g, unsigned int size, struct rm rm)
{
	/*
	 * Not beside an SSE instruction's mandatory F2 or F3 (the caller's
	 * last byte): the hardware lets F2/F3 decide, QEMU the 0x66.
	 */
	bool after_mandatory =
		g->len && (g->code[g->len - 1] == 0xf2 || g->code[g->len - 1] == 0xf3);
	static const uint8_t seg[] = { 0x26, 0x2e, 0x36, 0x3e };
	uint8_t pfx[4];
	unsigned int n = 0, i;

	if (size == 2)
		pfx[n++] = 0x66;
	if (rm.mem && rm.seg)
		pfx[n++] = rm.seg; /* the one segment override, so it is the last */
	if (rnd(g, 2)) {
		if (!(rm.mem && rm.seg))
			pfx[n++] = seg[rnd(g, 4)];
		if (size == 8 && !after_mandatory && rnd(g, 2))
			pfx[n++] = 0x66;
		if (rm.mem && !rnd(g, 4))
			pfx[n++] = 0x67;
	}
	for (i = n; i > 1; i--) {
		unsigned int j = rnd(g, i);
		uint8_t t = pfx[i - 1];

		pfx[i - 1] = pfx[j];
		pfx[j] = t;
	}
	for (i = 0; i < n; i++)
		b(g, pfx[i]);
}

void emit(struct gen *g, unsigned int size, bool rex8, const uint8_t *op, int oplen, int reg,
	  struct rm rm, uint64_t immv, int immlen)
{
	unsigned int start = g->len, rex = 0x40, disp_at = 0;
	int i;

	redundant_prefixes(g, size, rm);
	if (size == 8)
		rex |= 8;
	if (reg & 8)
		rex |= 4;
	if (!rm.mem && (rm.reg & 8))
		rex |= 1;
	/* An empty REX (0x40) changes only which byte registers exist. */
	if (rex != 0x40 || rex8 || (size != 1 && !rnd(g, 4)))
		b(g, rex);
	for (i = 0; i < oplen; i++)
		b(g, op[i]);
	if (!rm.mem) {
		b(g, 0xc0 | (reg & 7) << 3 | (rm.reg & 7));
	} else {
		switch (rm.form) {
		case 0:
			b(g, 0x40 | (reg & 7) << 3 | RBX);
			b(g, rm.disp);
			break;
		case 1:
			b(g, 0x80 | (reg & 7) << 3 | RBX);
			imm(g, rm.disp, 4);
			break;
		case 2:
			b(g, 0x44 | (reg & 7) << 3);
			b(g, rm.scale << 6 | RBP << 3 | RBX);
			b(g, rm.disp);
			break;
		default:
			b(g, 0x05 | (reg & 7) << 3);
			disp_at = g->len;
			imm(g, 0, 4);
			break;
		}
	}
	imm(g, immv, immlen);
	if (disp_at) {
		int32_t d = rm.target - (g->addr + g->len);

		memcpy(&g->code[disp_at], &d, 4);
	}
	(void)start;
}

unsigned int rand_size(struct gen *g)
{
	static const unsigned int sizes[] = { 1, 2, 4, 8 };

	return sizes[rnd(g, 4)];
}

uint64_t rand_imm(struct gen *g)
{
	switch (rnd(g, 4)) {
	case 0:
		return rnd(g, 3) - 1;
	case 1:
		return 0x80UL << rnd(g, 25);
	default:
		return prandom_u64(g->rng);
	}
}

/*
 * End the sequence in a fault: div by a register just zeroed (#DE), or
 * ud2 (#UD).  Returns the faulting instruction's address.
 */
uint64_t gen_fault(struct gen *g, unsigned int *vector)
{
	static const int divisors[] = { 1, 8, 9, 10, 11, 12, 13, 14, 15 };
	unsigned int size = rand_size(g);
	int r = divisors[rnd(g, 9)];
	uint64_t at;
	uint8_t opc[1];

	if (rnd(g, 2)) {
		*vector = 6;
		at = g->addr + g->len;
		b(g, 0x0f);
		b(g, 0x0b);
		return at;
	}
	*vector = 0;
	opc[0] = 0x31; /* xor r32, r32 */
	emit(g, 4, false, opc, 1, r, rm_reg(r), 0, 0);
	g->defined = ALL & ~AF;
	at = g->addr + g->len;
	opc[0] = size == 1 ? 0xf6 : 0xf7;
	emit(g, size, size == 1, opc, 1, rnd(g, 2) ? 7 : 6, rm_reg(r), 0, 0);
	return at;
}

/* ---- the two CPUs ---- */

struct flat {
	uint8_t *code, data[DATA_SIZE], stack[STACK_SIZE];
	uint64_t *rng; /* non-NULL: inject SOFT_XLATE_RETRY */
	unsigned long injected;
};

static enum soft_xlate_ret flat_translate(void *opaque, uint64_t gva, unsigned int len,
					  enum soft_access access, uint64_t rip,
					  struct soft_xlate *out)
{
	struct flat *m = opaque;

	if (m->rng && prandom_u64(m->rng) % 4 == 0) {
		m->injected++;
		return SOFT_XLATE_RETRY;
	}
	out->gpa = gva;
	if (gva >= CODE_BASE && gva + len <= CODE_BASE + CODE_SIZE)
		out->hva = m->code + (gva - CODE_BASE);
	else if (gva >= DATA_BASE && gva + len <= DATA_BASE + DATA_SIZE)
		out->hva = m->data + (gva - DATA_BASE);
	else if (gva >= STACK_BASE && gva + len <= STACK_BASE + STACK_SIZE)
		out->hva = m->stack + (gva - STACK_BASE);
	else
		return SOFT_XLATE_OUTSIDE;
	return SOFT_XLATE_OK;
}

static const struct soft_mem_ops flat_ops = { .translate = flat_translate };

static const int uc_gpr[16] = {
	UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RBX,
	UC_X86_REG_RSP, UC_X86_REG_RBP, UC_X86_REG_RSI, UC_X86_REG_RDI,
	UC_X86_REG_R8,	UC_X86_REG_R9,	UC_X86_REG_R10, UC_X86_REG_R11,
	UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14, UC_X86_REG_R15,
};

/*
 * Unicorn delivers no exception: it calls this, which stops it where the
 * fault is.  Undelivered, a #DE stays QEMU's "exception in progress", so
 * the next would be a #DF: after one, Unicorn goes back to its state
 * before any (unicorn_fresh).
 */
static int unicorn_vector = -1;
static uc_context *unicorn_fresh;

static void unicorn_interrupt(uc_engine *uc, uint32_t intno, void *data)
{
	unicorn_vector = intno;
	uc_emu_stop(uc);
}

static uc_engine *unicorn_open(void)
{
	static const uint64_t gdt[] = { 0, 0x00af9b000000ffffUL, 0x00cf93000000ffffUL };
	uc_x86_mmr gdtr = { .base = GDT_BASE, .limit = sizeof(gdt) - 1 };
	uc_engine *uc;
	uc_hook hook;

	TEST_ASSERT_EQ(uc_open(UC_ARCH_X86, UC_MODE_64, &uc), UC_ERR_OK);
	TEST_ASSERT_EQ(uc_mem_map(uc, CODE_BASE, CODE_SIZE, UC_PROT_ALL), UC_ERR_OK);
	TEST_ASSERT_EQ(uc_mem_map(uc, DATA_BASE, DATA_SIZE, UC_PROT_ALL), UC_ERR_OK);
	TEST_ASSERT_EQ(uc_mem_map(uc, STACK_BASE, STACK_SIZE, UC_PROT_ALL), UC_ERR_OK);
	/* The VMM's GDT, for iretq: null, 64-bit code at 0x08, data at 0x10. */
	TEST_ASSERT_EQ(uc_mem_map(uc, GDT_BASE, 0x1000, UC_PROT_ALL), UC_ERR_OK);
	TEST_ASSERT_EQ(uc_mem_write(uc, GDT_BASE, gdt, sizeof(gdt)), UC_ERR_OK);
	TEST_ASSERT_EQ(uc_reg_write(uc, UC_X86_REG_GDTR, &gdtr), UC_ERR_OK);
	TEST_ASSERT_EQ(uc_hook_add(uc, &hook, UC_HOOK_INTR, unicorn_interrupt, NULL, 1, 0),
		       UC_ERR_OK);
	/*
	 * CR4.OSFXSR and OSXMMEXCPT, as an OS sets them (without OSFXSR fxsave
	 * leaves out MXCSR and the xmm registers), and the x87 as fninit
	 * leaves it, which is what the soft vCPU's fxsave describes.
	 */
	TEST_ASSERT_EQ(uc_reg_write(uc, UC_X86_REG_CR4, &(uint64_t){ 0x600 }), UC_ERR_OK);
	TEST_ASSERT_EQ(uc_reg_write(uc, UC_X86_REG_FPCW, &(uint64_t){ 0x37f }), UC_ERR_OK);
	TEST_ASSERT_EQ(uc_reg_write(uc, UC_X86_REG_FPTAG, &(uint64_t){ 0xffff }), UC_ERR_OK);
	TEST_ASSERT_EQ(uc_context_alloc(uc, &unicorn_fresh), UC_ERR_OK);
	TEST_ASSERT_EQ(uc_context_save(uc, unicorn_fresh), UC_ERR_OK);
	return uc;
}

static uint64_t rand_reg(uint64_t *rng)
{
	uint64_t v = prandom_u64(rng);

	switch (v % 8) {
	case 0:
		return 0;
	case 1:
		return -1UL;
	case 2:
		return v >> (v % 64);
	case 3:
		return 0x80UL << (v % 57);
	default:
		return prandom_u64(rng);
	}
}

static void dump(const char *who, const uint64_t *gpr, uint64_t rip, uint64_t fl)
{
	int i;

	fprintf(stderr, "%s:", who);
	for (i = 0; i < 16; i++)
		fprintf(stderr, " r%d=%lx", i, (unsigned long)gpr[i]);
	fprintf(stderr, " rip=%lx fl=%lx\n", (unsigned long)rip, (unsigned long)fl);
}

static void disassemble(struct soft_cpu *cpu, const uint8_t *code, unsigned int len, uint64_t addr)
{
	struct soft_insn insn;
	unsigned int off = 0;
	char buf[128];

	while (off < len &&
	       !soft_decode(cpu->cache.decoder, code + off, len - off, addr + off, &insn)) {
		soft_disasm(cpu->cache.decoder, &insn, addr + off, buf, sizeof(buf));
		fprintf(stderr, "  %lx: %s\n", (unsigned long)(addr + off), buf);
		off += insn.len;
	}
}

/*
 * After a sequence that ended in a fault, the soft vCPU is on its handler's
 * hlt with the frame below HANDLER_STACK: check the frame's selectors and
 * RF, then put the registers where Unicorn stopped (rsp, rip and flags
 * from the frame) and the frame's bytes back to what Unicorn has there, so
 * the rest compares as for a sequence that ran to its end.
 */
static bool soft_unwind_fault(struct flat *m, struct soft_cpu *cpu, const uint8_t *ustack,
			      uint64_t *rip, uint64_t *fl)
{
	unsigned int off = HANDLER_STACK - FRAME_SIZE - STACK_BASE;
	uint64_t frame[5]; /* RIP, CS, RFLAGS, RSP, SS */

	if (cpu->rip != HANDLER_VA + 1 || cpu->gpr[RSP] != HANDLER_STACK - FRAME_SIZE)
		return false;
	memcpy(frame, &m->stack[off], sizeof(frame));
	memcpy(&m->stack[off], &ustack[off], sizeof(frame));
	if (frame[1] != 0x08 || frame[4] != 0x10 || !(frame[2] & X86_RF))
		return false;
	*rip = frame[0];
	*fl = frame[2] & ~X86_RF;
	cpu->gpr[RSP] = frame[3];
	return true;
}

uint32_t soft_diff_mxcsr_mask = ~0u;
uint32_t soft_diff_mxcsr_clear;

/* The SSE state both CPUs start a sequence from, and what each leaves. */
struct sse_state {
	union soft_xmm xmm[SOFT_NR_XMMS];
	uint32_t mxcsr;
};

/*
 * Random xmm registers (lanes of every float class now and then: zero,
 * one, a denormal, infinity, NaN) and MXCSR with every exception masked,
 * a random rounding mode, and now and then FTZ or DAZ.
 */
static void rand_sse(struct sse_state *s, uint64_t *rng)
{
	static const uint64_t specials[] = { 0,
					     0x3ff0000000000000UL,
					     0x0000000000000001UL,
					     0x7ff0000000000000UL,
					     0x7ff8000000000000UL,
					     0x3f8000007f800000UL,
					     0x7fc0000000000001UL };
	unsigned int r, q;

	for (r = 0; r < SOFT_NR_XMMS; r++)
		for (q = 0; q < 2; q++)
			s->xmm[r].q[q] = prandom_u64(rng) % 4 ? rand_reg(rng) :
								specials[prandom_u64(rng) % 7];
	s->mxcsr = SOFT_MXCSR_RESET | (prandom_u64(rng) % 4) << 13;
	if (prandom_u64(rng) % 8 == 0)
		s->mxcsr |= prandom_u64(rng) % 2 ? 0x8000 : 0x40; /* FTZ or DAZ */
	s->mxcsr &= ~soft_diff_mxcsr_clear;
}

static void unicorn_set_sse(uc_engine *uc, const struct sse_state *s)
{
	unsigned int r;

	for (r = 0; r < SOFT_NR_XMMS; r++)
		TEST_ASSERT_EQ(uc_reg_write(uc, UC_X86_REG_XMM0 + r, &s->xmm[r]), UC_ERR_OK);
	TEST_ASSERT_EQ(uc_reg_write(uc, UC_X86_REG_MXCSR, &s->mxcsr), UC_ERR_OK);
}

static void unicorn_get_sse(uc_engine *uc, struct sse_state *s)
{
	unsigned int r;

	for (r = 0; r < SOFT_NR_XMMS; r++)
		TEST_ASSERT_EQ(uc_reg_read(uc, UC_X86_REG_XMM0 + r, &s->xmm[r]), UC_ERR_OK);
	TEST_ASSERT_EQ(uc_reg_read(uc, UC_X86_REG_MXCSR, &s->mxcsr), UC_ERR_OK);
}

/* Print the xmm registers and MXCSR that differ; true if any does. */
static bool sse_differs(const struct soft_cpu *cpu, const struct sse_state *u)
{
	bool differs = (cpu->mxcsr ^ u->mxcsr) & soft_diff_mxcsr_mask;
	unsigned int r;

	if (differs)
		fprintf(stderr, "mxcsr: soft %#x unicorn %#x\n", cpu->mxcsr, u->mxcsr);
	for (r = 0; r < SOFT_NR_XMMS; r++) {
		if (!memcmp(&cpu->xmm[r], &u->xmm[r], sizeof(u->xmm[r])))
			continue;
		fprintf(stderr, "xmm%u: soft %016lx%016lx unicorn %016lx%016lx\n", r,
			(unsigned long)cpu->xmm[r].q[1], (unsigned long)cpu->xmm[r].q[0],
			(unsigned long)u->xmm[r].q[1], (unsigned long)u->xmm[r].q[0]);
		differs = true;
	}
	return differs;
}

unsigned long soft_diff_run(uint64_t seed, unsigned int nr, bool inject,
			    void (*gen_one)(struct gen *g))
{
	static uint8_t udata[DATA_SIZE], ustack[STACK_SIZE];
	uint64_t rng = seed, irng = seed ^ 0x5555;
	struct flat *m = calloc(1, sizeof(*m));
	uc_engine *uc = unicorn_open();
	unsigned long injected, faults = 0;
	struct soft_cpu cpu;
	unsigned int i, r;

	TEST_ASSERT(m, "calloc");
	m->code = calloc(1, CODE_SIZE);
	TEST_ASSERT(m->code, "calloc code");
	m->rng = inject ? &irng : NULL;
	TEST_ASSERT_EQ(soft_cpu_init(&cpu, &flat_ops, m), 0);
	cpu.sys.fs_base = FS_BASE_DIFF;
	cpu.sys.gs_base = GS_BASE_DIFF;
	TEST_ASSERT(nr < MAX_SEQS, "too many sequences");
	m->code[HANDLER_VA - CODE_BASE] = 0xf4;
	TEST_ASSERT_EQ(soft_cpu_set_exception_handler(&cpu, 0, HANDLER_VA, HANDLER_STACK), 0);
	TEST_ASSERT_EQ(soft_cpu_set_exception_handler(&cpu, 6, HANDLER_VA, HANDLER_STACK), 0);

	for (i = 0; i < nr; i++) {
		uint64_t addr = CODE_BASE + i * SEQ_STRIDE, end, gpr[16], ugpr[16], urip, ufl, fl;
		struct sse_state sse, usse;
		struct gen g = {
			.code = m->code + i * SEQ_STRIDE, .addr = addr, .rng = &rng, .defined = ALL
		};
		unsigned int n = 1 + prandom_u64(&rng) % 16, mask, vector = ~0u;
		uint64_t fl0 = 0x2 | (prandom_u64(&rng) & ALL), fault_at = 0, rip;
		bool ok;
		uc_err err;

		while (n-- && g.len < SEQ_STRIDE - 128)
			gen_one(&g);
		if (!rnd(&g, 4))
			fault_at = gen_fault(&g, &vector);
		end = addr + g.len;
		g.code[g.len] = 0xf4; /* hlt: where the soft vCPU stops */
		mask = g.defined;

		for (r = 0; r < 16; r++)
			gpr[r] = rand_reg(&rng);
		gpr[RBX] = RBX_INIT;
		gpr[RBP] = RBP_INIT;
		gpr[RSI] = RSI_INIT;
		gpr[RDI] = RDI_INIT;
		gpr[RSP] = STACK_BASE + STACK_SIZE - 512;
		for (r = 0; r < DATA_SIZE; r += 8) {
			uint64_t v = prandom_u64(&rng);

			memcpy(&m->data[r], &v, 8);
		}
		for (r = 0; r < STACK_SIZE; r += 8) {
			uint64_t v = prandom_u64(&rng);

			memcpy(&m->stack[r], &v, 8);
		}

		/* Unicorn: it stops on a #DE in its hook, on a ud2 with an error. */
		TEST_ASSERT_EQ(uc_mem_write(uc, addr, g.code, g.len + 1), UC_ERR_OK);
		TEST_ASSERT_EQ(uc_mem_write(uc, DATA_BASE, m->data, DATA_SIZE), UC_ERR_OK);
		TEST_ASSERT_EQ(uc_mem_write(uc, STACK_BASE, m->stack, STACK_SIZE), UC_ERR_OK);
		for (r = 0; r < 16; r++)
			uc_reg_write(uc, uc_gpr[r], &gpr[r]);
		uc_reg_write(uc, UC_X86_REG_EFLAGS, &fl0);
		uc_reg_write(uc, UC_X86_REG_FS_BASE, &(uint64_t){ FS_BASE_DIFF });
		uc_reg_write(uc, UC_X86_REG_GS_BASE, &(uint64_t){ GS_BASE_DIFF });
		rand_sse(&sse, &rng);
		unicorn_set_sse(uc, &sse);
		unicorn_vector = -1;
		err = uc_emu_start(uc, addr, end, 0, 0);
		TEST_ASSERT(vector == 6 ? err == UC_ERR_INSN_INVALID :
					  err == UC_ERR_OK && unicorn_vector == (int)vector,
			    "unicorn: %s, vector %d, seq %u", uc_strerror(err), unicorn_vector, i);
		for (r = 0; r < 16; r++)
			uc_reg_read(uc, uc_gpr[r], &ugpr[r]);
		uc_reg_read(uc, UC_X86_REG_RIP, &urip);
		uc_reg_read(uc, UC_X86_REG_EFLAGS, &ufl);
		unicorn_get_sse(uc, &usse);
		uc_mem_read(uc, DATA_BASE, udata, DATA_SIZE);
		uc_mem_read(uc, STACK_BASE, ustack, STACK_SIZE);
		if (unicorn_vector >= 0)
			TEST_ASSERT_EQ(uc_context_restore(uc, unicorn_fresh), UC_ERR_OK);

		/* soft vCPU */
		memcpy(cpu.gpr, gpr, sizeof(gpr));
		memcpy(cpu.xmm, sse.xmm, sizeof(sse.xmm));
		cpu.mxcsr = sse.mxcsr;
		cpu.rip = addr;
		soft_cpu_set_rflags(&cpu, fl0);
		if (soft_cpu_run(&cpu, 0) != SOFT_EXIT_HLT) {
			disassemble(&cpu, g.code, g.len, addr);
			TEST_FAIL("seq %u: exit %d: %s", i, cpu.exit.reason, cpu.exit.message);
		}
		rip = cpu.rip;
		fl = soft_cpu_get_rflags(&cpu);
		if (fault_at) {
			faults++;
			ok = soft_unwind_fault(m, &cpu, ustack, &rip, &fl) && rip == fault_at &&
			     urip == fault_at;
		} else {
			ok = rip == end + 1;
		}

		if (!ok || memcmp(cpu.gpr, ugpr, sizeof(ugpr)) || ((fl ^ ufl) & mask) ||
		    sse_differs(&cpu, &usse) || memcmp(m->data, udata, DATA_SIZE) ||
		    memcmp(m->stack, ustack, STACK_SIZE)) {
			disassemble(&cpu, g.code, g.len, addr);
			dump("init   ", gpr, addr, fl0);
			dump("unicorn", ugpr, urip, ufl);
			dump("soft   ", cpu.gpr, rip, fl);
			for (r = 0; r < DATA_SIZE; r++)
				if (m->data[r] != udata[r])
					fprintf(stderr, "data +%#x: soft %02x unicorn %02x\n", r,
						m->data[r], udata[r]);
			for (r = 0; r < STACK_SIZE; r++)
				if (m->stack[r] != ustack[r])
					fprintf(stderr, "stack +%#x: soft %02x unicorn %02x\n", r,
						m->stack[r], ustack[r]);
			TEST_FAIL("seq %u of seed %#lx differs (flag mask %#x, fault at %#lx)", i,
				  (unsigned long)seed, mask, (unsigned long)fault_at);
		}
		/* The VMM's invalidate-page call, so the cache stays small. */
		soft_cpu_invalidate_page(&cpu, addr);
		soft_cpu_invalidate_page(&cpu, end);
	}
	TEST_ASSERT(cpu.cache.misses > 0 && cpu.cache.invalidations > 0, "cache unused");
	TEST_ASSERT(faults > nr / 8 && cpu.stats.exceptions == faults,
		    "%lu of %u sequences ended in a fault, %lu delivered", faults, nr,
		    (unsigned long)cpu.stats.exceptions);
	uc_context_free(unicorn_fresh);
	uc_close(uc);
	soft_cpu_destroy(&cpu);
	injected = m->injected;
	free(m->code);
	free(m);
	return injected;
}
