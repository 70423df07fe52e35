// SPDX-License-Identifier: GPL-2.0
/*
 * The soft vCPU's speed: millions of guest instructions per second on an
 * integer-heavy loop (loads, stores, multiply, rotate, cmov, a taken branch
 * per iteration), hand-assembled and run on flat memory, beside Unicorn
 * (QEMU's TCG, a JIT) running the same bytes from the same state in the
 * same run; and the decode cache's hit rate.  Both must end in the same
 * registers, or the table says so.
 *
 *	bench_soft_vcpu [ITERATIONS]	(default 2000000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicorn/unicorn.h>

#include "bench/bench.h"
#include "vmm/soft/soft_cpu.h"

#define CODE_BASE 0x100000UL
#define DATA_BASE 0x200000UL
#define DATA_SIZE 0x2000UL
#define INSNS_PER_ITER 13

/*
 * top:	mov eax, esi;  and eax, 0x3ff;  mov rdx, [rdi+rax*8];  add rdx, rcx
 *	imul rdx, rdx, 0x2545;  xor r8, rdx;  rol r8, 13;  mov [rdi+rax*8], rdx
 *	lea esi, [rsi+rdx+1];  cmp r8, r9;  cmovb r9, r8;  dec rcx;  jnz top
 *	hlt
 */
static const uint8_t loop_code[] = {
	0x89, 0xf0, 0x25, 0xff, 0x03, 0x00, 0x00, 0x48, 0x8b, 0x14, 0xc7, 0x48, 0x01,
	0xca, 0x48, 0x69, 0xd2, 0x45, 0x25, 0x00, 0x00, 0x49, 0x31, 0xd0, 0x49, 0xc1,
	0xc0, 0x0d, 0x48, 0x89, 0x14, 0xc7, 0x8d, 0x74, 0x16, 0x01, 0x4d, 0x39, 0xc8,
	0x4d, 0x0f, 0x42, 0xc8, 0x48, 0xff, 0xc9, 0x75, 0xd0, 0xf4,
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
	return SOFT_XLATE_OK;
}

static const struct soft_mem_ops flat_ops = { .translate = flat_translate };

static void init_regs(uint64_t *gpr, unsigned long iters)
{
	memset(gpr, 0, 16 * sizeof(*gpr));
	gpr[1] = iters;	    /* rcx */
	gpr[7] = DATA_BASE; /* rdi */
	gpr[9] = -1UL;	    /* r9 */
}

static const int uc_gpr[16] = {
	UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RBX,
	UC_X86_REG_RSP, UC_X86_REG_RBP, UC_X86_REG_RSI, UC_X86_REG_RDI,
	UC_X86_REG_R8,	UC_X86_REG_R9,	UC_X86_REG_R10, UC_X86_REG_R11,
	UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14, UC_X86_REG_R15,
};

static double run_unicorn(unsigned long iters, uint64_t *gpr)
{
	static uint8_t zero[DATA_SIZE];
	double t;
	uc_engine *uc;
	int r;

	if (uc_open(UC_ARCH_X86, UC_MODE_64, &uc) != UC_ERR_OK)
		return 0;
	uc_mem_map(uc, CODE_BASE, 0x1000, UC_PROT_ALL);
	uc_mem_map(uc, DATA_BASE, DATA_SIZE, UC_PROT_ALL);
	uc_mem_write(uc, CODE_BASE, loop_code, sizeof(loop_code));
	uc_mem_write(uc, DATA_BASE, zero, DATA_SIZE);
	init_regs(gpr, iters);
	for (r = 0; r < 16; r++)
		uc_reg_write(uc, uc_gpr[r], &gpr[r]);
	t = now_s();
	uc_emu_start(uc, CODE_BASE, CODE_BASE + sizeof(loop_code) - 1, 0, 0);
	t = now_s() - t;
	for (r = 0; r < 16; r++)
		uc_reg_read(uc, uc_gpr[r], &gpr[r]);
	uc_close(uc);
	return t;
}

struct cache_stats {
	unsigned long hits, misses;
};

static double run_soft(unsigned long iters, uint64_t *gpr, struct cache_stats *stats)
{
	struct flat *m = calloc(1, sizeof(*m));
	struct soft_cpu cpu;
	double t;

	if (!m || soft_cpu_init(&cpu, &flat_ops, m))
		return 0;
	memcpy(m->code, loop_code, sizeof(loop_code));
	init_regs(cpu.gpr, iters);
	cpu.rip = CODE_BASE;
	t = now_s();
	soft_cpu_run(&cpu, 0);
	t = now_s() - t;
	memcpy(gpr, cpu.gpr, sizeof(cpu.gpr));
	stats->hits = cpu.cache.hits;
	stats->misses = cpu.cache.misses;
	soft_cpu_destroy(&cpu);
	free(m);
	return t;
}

int main(int argc, char **argv)
{
	unsigned long iters = argc > 1 ? strtoul(argv[1], NULL, 0) : 2000000;
	double insns = (double)iters * INSNS_PER_ITER + 1, ts, tu;
	uint64_t soft_gpr[16], uc_gpr_out[16];
	struct cache_stats stats = { 0 };
	unsigned int major, minor;

	ts = run_soft(iters, soft_gpr, &stats);
	tu = run_unicorn(iters, uc_gpr_out);
	uc_version(&major, &minor);
	printf("soft vCPU beside Unicorn %u.%u, %lu iterations of a %d-instruction loop\n", major,
	       minor, iters, INSNS_PER_ITER);
	printf("%-28s %10s %10s\n", "engine", "seconds", "MIPS");
	printf("%-28s %10.3f %10.1f\n", "nopin soft vCPU (interp)", ts, insns / ts / 1e6);
	printf("%-28s %10.3f %10.1f\n", "Unicorn (QEMU TCG JIT)", tu, insns / tu / 1e6);
	printf("ratio soft/unicorn: %.3f\n", tu / ts);
	printf("decode cache: %lu hits, %lu misses, hit rate %.6f\n", stats.hits, stats.misses,
	       (double)stats.hits / (double)(stats.hits + stats.misses));
	printf("final registers %s\n",
	       memcmp(soft_gpr, uc_gpr_out, sizeof(soft_gpr)) ? "DIFFER" : "equal");
	return 0;
}
