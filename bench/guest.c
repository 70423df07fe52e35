// SPDX-License-Identifier: GPL-2.0
/*
 * bench_guest: the memtest guest on the soft vCPU, quiet and under
 * --pressure all with RAM twice the pool: guest MB/s as memtest measures it
 * (the mean of its passes), and how many invalidations per second the host
 * sustained while the guest ran.  Then an integer-heavy C guest, the hash
 * image (xorshift64* fill, FNV-1a digest, gcc -O2) on one soft vCPU: the
 * instructions it retired over the seconds the VM ran, start-up included.
 *
 *	bench_guest [--csv] [MEM_MiB]    default 32
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/current.h"
#include "bench/bench.h"
#include "vmm/vm.h"

/* The mean of memtest's "pass N: X MB/s" lines. */
static double memtest_mbps(const char *console)
{
	const char *p = console;
	double sum = 0;
	int n = 0;

	while ((p = strstr(p, ": pass "))) {
		unsigned int pass;
		unsigned long mbps;

		if (sscanf(p, ": pass %u: %lu MB/s", &pass, &mbps) == 2) {
			sum += mbps;
			n++;
		}
		p++;
	}
	return n ? sum / n : 0;
}

/* The image @name on soft vCPUs; NULL (said under @label) if it cannot run. */
static struct vmm *guest_create(const char *label, const char *name, size_t mem, size_t pool,
				unsigned int nr_vcpus, const char *pressure)
{
	struct vmm_config cfg;
	char err[512], image[4096];
	struct vmm *vm;

	snprintf(image, sizeof(image), "%s/%s.elf", NOPIN_GUEST_DIR, name);
	vmm_config_init(&cfg);
	cfg.image = image;
	cfg.backend = VMM_BACKEND_SOFT;
	cfg.mem_bytes = mem;
	cfg.pool_bytes = pool;
	cfg.nr_vcpus = nr_vcpus;
	cfg.pressure = pressure;
	if (vmm_create(&cfg, &vm, err, sizeof(err))) {
		printf("%-34s cannot run: %s\n", label, err);
		return NULL;
	}
	return vm;
}

static void run(const char *label, const char *id, size_t mem, size_t pool, const char *pressure)
{
	static char console[16384];
	struct vmm *vm = guest_create(label, "memtest", mem, pool, 2, pressure);
	FILE *out;
	double t0, t;
	long inval;
	int status;

	if (!vm)
		return;
	memset(console, 0, sizeof(console));
	out = fmemopen(console, sizeof(console) - 1, "w");
	vm->console_out = out;
	t0 = now_s();
	status = vmm_run(vm);
	t = now_s() - t0;
	fclose(out);
	inval = atomic_long_read(&vm->kvm->stat.invalidations);
	printf("%-34s %10.1f %12.0f %10.1f %s\n", label, memtest_mbps(console), inval / t, t,
	       status ? "(memtest FAILED)" : "");
	/* A failed run measured nothing. */
	if (!status) {
		bench_csv("memtest_2vcpus", id, "mb_per_s", memtest_mbps(console));
		bench_csv("memtest_2vcpus", id, "inval_per_s", inval / t);
	}
	vmm_destroy(vm);
}

/* The hash image on one soft vCPU: millions of instructions retired per second. */
static void run_hash(size_t mem)
{
	struct vmm *vm = guest_create("hash", "hash", mem, 2 * mem, 1, NULL);
	FILE *out;
	uint64_t insns;
	double t;
	int status;

	if (!vm)
		return;
	out = fopen("/dev/null", "w");
	vm->console_out = out;
	t = now_s();
	status = vmm_run(vm);
	t = now_s() - t;
	fclose(out);
	insns = vmm_soft_insns(&vm->vcpus[0]);
	printf("\nhash on 1 soft vCPU, %zu MiB of guest RAM\n\n", mem >> 20);
	printf("%-34s %10s %12s %10s\n", "run", "MIPS", "insns", "seconds");
	printf("%-34s %10.1f %12lu %10.2f %s\n", "quiet (pool = 2 x RAM)", insns / t / 1e6,
	       (unsigned long)insns, t, status ? "(hash FAILED)" : "");
	if (!status)
		bench_csv("hash_1vcpu", "quiet", "mips", insns / t / 1e6);
	vmm_destroy(vm);
}

int main(int argc, char **argv)
{
	size_t mem;

	bench_csv_init(&argc, argv);
	mem = (argc > 1 ? strtoul(argv[1], NULL, 0) : 32) << 20;

	task_register("bench");
	printf("memtest on 2 soft vCPUs, %zu MiB of guest RAM\n\n", mem >> 20);
	printf("%-34s %10s %12s %10s\n", "run", "MB/s", "inval/s", "seconds");
	run("quiet (pool = 2 x RAM)", "quiet", mem, 2 * mem, NULL);
	run("--pressure all (pool = RAM / 2)", "pressure_all", mem, mem / 2, "all");
	run_hash(mem);
	return 0;
}
