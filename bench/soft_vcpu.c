// SPDX-License-Identifier: GPL-2.0
/*
 * The soft vCPU's speed: millions of guest instructions per second on four
 * hand-assembled loops run on flat memory, each beside Unicorn (QEMU's TCG,
 * a JIT) running the same bytes from the same state in the same run; and
 * the decode cache's hit rate.  Both must end in the same registers, or
 * the table says so.  The loops:
 *
 *  - integer: loads, stores, multiply, rotate, cmov, a taken branch;
 *  - memory: a load, a load-add and a store per iteration, strided over
 *    64 KiB (16 pages), so the data TLB is exercised and not one entry;
 *  - branchy: a linear congruential generator whose bits steer three
 *    data-dependent branches;
 *  - sse2 string: a 16-byte compare and a pmovmskb per iteration, as a
 *    strlen or memchr does; "unsupported" on an interpreter without SSE2.
 *
 * The instruction count is the soft vCPU's own (retired instructions,
 * the hlt included); Unicorn runs the same instructions, since the loops
 * end in the same registers.  Where the soft vCPU cannot run a loop,
 * Unicorn's figure is from the loop's fixed count per iteration.
 *
 *	bench_soft_vcpu [--csv] [ITERATIONS [LOOP]]	(default 2000000, every loop)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicorn/unicorn.h>

#include "bench/bench.h"
#include "vmm/soft/soft_cpu.h"

#define CODE_BASE 0x100000UL
#define DATA_BASE 0x200000UL
#define DATA_SIZE 0x10000UL

struct loop {
	const char *name;
	const uint8_t *code;
	size_t len;
	unsigned int data_pattern; /* 0: zeros; else a byte pattern with a zero every 61 bytes */
	unsigned int per_iter;	   /* instructions per iteration, when it is fixed */
};

/*
 * top:	mov eax, esi;  and eax, 0x3ff;  mov rdx, [rdi+rax*8];  add rdx, rcx
 *	imul rdx, rdx, 0x2545;  xor r8, rdx;  rol r8, 13;  mov [rdi+rax*8], rdx
 *	lea esi, [rsi+rdx+1];  cmp r8, r9;  cmovb r9, r8;  dec rcx;  jnz top
 *	hlt
 */
static const uint8_t integer_code[] = {
	0x89, 0xf0, 0x25, 0xff, 0x03, 0x00, 0x00, 0x48, 0x8b, 0x14, 0xc7, 0x48, 0x01,
	0xca, 0x48, 0x69, 0xd2, 0x45, 0x25, 0x00, 0x00, 0x49, 0x31, 0xd0, 0x49, 0xc1,
	0xc0, 0x0d, 0x48, 0x89, 0x14, 0xc7, 0x8d, 0x74, 0x16, 0x01, 0x4d, 0x39, 0xc8,
	0x4d, 0x0f, 0x42, 0xc8, 0x48, 0xff, 0xc9, 0x75, 0xd0, 0xf4,
};

/*
 * top:	mov eax, ebx;  and eax, 0x1ffe;  mov rdx, [rdi+rax*8]
 *	add rdx, [rdi+rax*8+8];  mov [rdi+rax*8], rdx;  add ebx, 0x209
 *	dec rcx;  jnz top
 *	hlt
 */
static const uint8_t memory_code[] = {
	0x89, 0xd8, 0x25, 0xfe, 0x1f, 0x00, 0x00, 0x48, 0x8b, 0x14, 0xc7,
	0x48, 0x03, 0x54, 0xc7, 0x08, 0x48, 0x89, 0x14, 0xc7, 0x81, 0xc3,
	0x09, 0x02, 0x00, 0x00, 0x48, 0xff, 0xc9, 0x75, 0xe1, 0xf4,
};

/*
 * top:	imul ebx, ebx, 0x41c64e6d;  add ebx, 12345;  mov eax, ebx;  shr eax, 16
 *	test al, 1;  jz 1f;  inc rdx
 * 1:	test al, 2;  jz 2f;  add rdx, 3
 * 2:	cmp al, 0x80;  jb 3f;  xor rdx, rax
 * 3:	dec rcx;  jnz top
 *	hlt
 */
static const uint8_t branchy_code[] = {
	0x69, 0xdb, 0x6d, 0x4e, 0xc6, 0x41, 0x81, 0xc3, 0x39, 0x30, 0x00, 0x00, 0x89, 0xd8, 0xc1,
	0xe8, 0x10, 0xa8, 0x01, 0x74, 0x03, 0x48, 0xff, 0xc2, 0xa8, 0x02, 0x74, 0x04, 0x48, 0x83,
	0xc2, 0x03, 0x3c, 0x80, 0x72, 0x03, 0x48, 0x31, 0xc2, 0x48, 0xff, 0xc9, 0x75, 0xd4, 0xf4,
};

/*
 * top:	mov eax, ebx;  and eax, 0xff0;  movdqu xmm0, [rdi+rax]
 *	pcmpeqb xmm0, xmm1;  pmovmskb edx, xmm0;  add r8, rdx;  add ebx, 16
 *	dec rcx;  jnz top
 *	hlt
 */
static const uint8_t sse2_code[] = {
	0x89, 0xd8, 0x25, 0xf0, 0x0f, 0x00, 0x00, 0xf3, 0x0f, 0x6f, 0x04,
	0x07, 0x66, 0x0f, 0x74, 0xc1, 0x66, 0x0f, 0xd7, 0xd0, 0x49, 0x01,
	0xd0, 0x83, 0xc3, 0x10, 0x48, 0xff, 0xc9, 0x75, 0xe1, 0xf4,
};

static const struct loop loops[] = {
	{ "integer", integer_code, sizeof(integer_code), 0, 13 },
	{ "memory", memory_code, sizeof(memory_code), 0, 8 },
	{ "branchy", branchy_code, sizeof(branchy_code), 0, 0 },
	{ "sse2 string", sse2_code, sizeof(sse2_code), 1, 9 },
};

struct flat {
	uint8_t code[0x1000];
	uint8_t data[DATA_SIZE];
};

static enum soft_xlate_ret flat_translate(void *opaque, uint64_t gva, unsigned int len,
					  enum soft_access access, uint64_t rip,
					  struct soft_xlate *out)
{
	struct flat *m = opaque;

	out->gpa = gva;
	if (gva >= CODE_BASE && gva + len <= CODE_BASE + sizeof(m->code))
		out->hva = m->code + (gva - CODE_BASE);
	else if (gva >= DATA_BASE && gva + len <= DATA_BASE + DATA_SIZE)
		out->hva = m->data + (gva - DATA_BASE);
	else
		return SOFT_XLATE_OUTSIDE;
	out->cacheable = true; /* the map never changes */
	return SOFT_XLATE_OK;
}

static const struct soft_mem_ops flat_ops = { .translate = flat_translate };

static void fill_data(uint8_t *data, const struct loop *l)
{
	memset(data, 0, DATA_SIZE);
	if (!l->data_pattern)
		return;
	for (size_t i = 0; i < DATA_SIZE; i++)
		data[i] = i % 61 ? 'a' + i % 26 : 0;
}

static void init_regs(uint64_t *gpr, unsigned long iters)
{
	memset(gpr, 0, 16 * sizeof(*gpr));
	gpr[1] = iters;	    /* rcx */
	gpr[3] = 1;	    /* rbx */
	gpr[7] = DATA_BASE; /* rdi */
	gpr[9] = -1UL;	    /* r9 */
}

static const int uc_gpr[16] = {
	UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RBX,
	UC_X86_REG_RSP, UC_X86_REG_RBP, UC_X86_REG_RSI, UC_X86_REG_RDI,
	UC_X86_REG_R8,	UC_X86_REG_R9,	UC_X86_REG_R10, UC_X86_REG_R11,
	UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14, UC_X86_REG_R15,
};

static double run_unicorn(const struct loop *l, unsigned long iters, uint64_t *gpr)
{
	static uint8_t data[DATA_SIZE];
	double t;
	uc_engine *uc;
	int r;

	if (uc_open(UC_ARCH_X86, UC_MODE_64, &uc) != UC_ERR_OK)
		return 0;
	uc_mem_map(uc, CODE_BASE, 0x1000, UC_PROT_ALL);
	uc_mem_map(uc, DATA_BASE, DATA_SIZE, UC_PROT_ALL);
	uc_mem_write(uc, CODE_BASE, l->code, l->len);
	fill_data(data, l);
	uc_mem_write(uc, DATA_BASE, data, DATA_SIZE);
	init_regs(gpr, iters);
	for (r = 0; r < 16; r++)
		uc_reg_write(uc, uc_gpr[r], &gpr[r]);
	t = now_s();
	uc_emu_start(uc, CODE_BASE, CODE_BASE + l->len - 1, 0, 0);
	t = now_s() - t;
	for (r = 0; r < 16; r++)
		uc_reg_read(uc, uc_gpr[r], &gpr[r]);
	uc_close(uc);
	return t;
}

struct soft_result {
	double seconds;
	uint64_t insns;
	unsigned long hits, misses;
	bool unsupported;
};

static void run_soft(const struct loop *l, unsigned long iters, uint64_t *gpr,
		     struct soft_result *res)
{
	struct flat *m = calloc(1, sizeof(*m));
	struct soft_cpu cpu;

	if (!m || soft_cpu_init(&cpu, &flat_ops, m))
		die("soft vCPU");
	memcpy(m->code, l->code, l->len);
	fill_data(m->data, l);
	init_regs(cpu.gpr, iters);
	cpu.rip = CODE_BASE;
	res->seconds = now_s();
	soft_cpu_run(&cpu, 0);
	res->seconds = now_s() - res->seconds;
	res->unsupported = cpu.exit.reason == SOFT_EXIT_ERROR;
	res->insns = cpu.stats.insns;
	memcpy(gpr, cpu.gpr, sizeof(cpu.gpr));
	res->hits = cpu.cache.hits;
	res->misses = cpu.cache.misses;
	soft_cpu_destroy(&cpu);
	free(m);
}

int main(int argc, char **argv)
{
	unsigned long iters;
	const char *only;
	unsigned int major, minor;

	bench_csv_init(&argc, argv);
	iters = argc > 1 ? strtoul(argv[1], NULL, 0) : 2000000;
	only = argc > 2 ? argv[2] : NULL;

	uc_version(&major, &minor);
	printf("soft vCPU beside Unicorn %u.%u (QEMU TCG JIT), %lu iterations of each loop\n\n",
	       major, minor, iters);
	printf("%-12s %12s %10s %10s %8s %12s %s\n", "loop", "insns", "soft MIPS", "uc MIPS",
	       "ratio", "decode hits", "registers");
	for (size_t i = 0; i < sizeof(loops) / sizeof(loops[0]); i++) {
		const struct loop *l = &loops[i];
		uint64_t soft_gpr[16], uc_gpr_out[16];
		struct soft_result s;
		double tu;

		if (only && strncmp(l->name, only, strlen(only)))
			continue;
		run_soft(l, iters, soft_gpr, &s);
		tu = run_unicorn(l, iters, uc_gpr_out);
		if (s.unsupported) {
			s.insns = (uint64_t)iters * l->per_iter + 1;
			printf("%-12s %12lu %10s %10.1f %8s %12s soft vCPU: unsupported\n", l->name,
			       (unsigned long)s.insns, "-", s.insns / tu / 1e6, "-", "-");
			bench_csv("mips", l->name, "unicorn", s.insns / tu / 1e6);
			continue;
		}
		printf("%-12s %12lu %10.1f %10.1f %8.3f %12.6f %s\n", l->name,
		       (unsigned long)s.insns, s.insns / s.seconds / 1e6, s.insns / tu / 1e6,
		       tu / s.seconds, (double)s.hits / (double)(s.hits + s.misses),
		       memcmp(soft_gpr, uc_gpr_out, sizeof(soft_gpr)) ? "DIFFER" : "equal");
		/* A loop that ends in other registers than Unicorn's gives no figure. */
		if (memcmp(soft_gpr, uc_gpr_out, sizeof(soft_gpr)))
			continue;
		bench_csv("mips", l->name, "soft", s.insns / s.seconds / 1e6);
		bench_csv("mips", l->name, "unicorn", s.insns / tu / 1e6);
		bench_csv("decode_hit_rate", l->name, "soft",
			  (double)s.hits / (double)(s.hits + s.misses));
	}
	return 0;
}
