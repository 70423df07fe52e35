// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory the host holds, over time, under reclaim pressure: pin mode
 * beside nopin, in the same run.  The question pinning answers badly: how
 * much of what a guest once touched can the host take back while the guest
 * keeps running.
 *
 *	bench_reclaimable [--csv] [PAGES [MS]]	(defaults 4096 pages, 2000 ms a mode)
 *
 * An in-process model of `nopin run --pressure reclaim`: a guest (one vCPU
 * thread, through the access engine, so through the SPTEs and their
 * accessed bits) writes every one of PAGES pages once, as a boot would,
 * then keeps writing a working set of a quarter of them, round and round.
 * Beside it the pressure agent's reclaim, as vmm/pressure.c runs it: every
 * 20 ms, shrink_node() for 4 * SWAP_CLUSTER_MAX frames, which ages pages
 * through folio_referenced() and so through the secondary MMU's
 * clear_young.  Every SAMPLE_MS the guest pages resident in host memory
 * (the mm's anon RSS) are sampled.
 *
 * Pin mode holds every touched page for the VM's life: its line stays at
 * PAGES.  Nopin's falls towards the working set as reclaim takes the pages
 * the guest no longer uses; the working set stays, its pages young.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/kthread.h"
#include "bench/bench.h"
#include "bench/bench_kvm.h"
#include "mm/mm.h"
#include "mm/swap.h"
#include "mmu/kvm_host.h"

#define GPA 0x100000UL
#define SAMPLE_MS 50
#define RECLAIM_MS 20 /* vmm/pressure.c's period for "reclaim" */
#define MS 1000000.0

struct env {
	struct frame_pool *pool;
	struct mm_struct *mm;
	struct kvm *kvm;
	struct kvm_vcpu *vcpu;
	unsigned long pages;
	int stop; /* smp_store_release() by main */
};

static void env_init(struct env *e, unsigned long pages, bool pin)
{
	e->pages = pages;
	e->stop = 0;
	e->kvm = bench_kvm_create((pages * 2 + 1024) * PAGE_SIZE, pin ? KVM_VM_PIN_MODE : 0,
				  &e->pool, &e->mm);
	bench_anon_slot(e->kvm, e->mm, GPA, pages);
	e->vcpu = kvm_create_vcpu(e->kvm, 0, NULL);
	if (IS_ERR(e->vcpu))
		die_err("kvm_create_vcpu", PTR_ERR(e->vcpu));
}

static void env_fini(struct env *e)
{
	kvm_destroy_vcpu(e->vcpu);
	kvm_destroy_vm(e->kvm);
	mmput(e->mm);
	frame_pool_destroy(e->pool);
}

/* The guest after its boot: its working set, the first quarter, round and round. */
static int guest_fn(void *data)
{
	struct env *e = data;
	unsigned long ws = e->pages / 4;

	for (unsigned long i = 0; !smp_load_acquire(&e->stop); i = (i + 1) % ws) {
		int r = kvm_vcpu_write(e->vcpu, GPA + i * PAGE_SIZE, &i, sizeof(i));

		if (r)
			die_err("kvm_vcpu_write", r);
	}
	return 0;
}

/* --pressure reclaim's agent: a batch every RECLAIM_MS. */
static int reclaim_fn(void *data)
{
	struct env *e = data;

	while (!smp_load_acquire(&e->stop)) {
		shrink_node(e->pool->pgdat, 4 * SWAP_CLUSTER_MAX);
		usleep(RECLAIM_MS * 1000);
	}
	return 0;
}

/* Resident guest pages at each sample of one mode, into @resident[]. */
static void run_mode(unsigned long pages, bool pin, unsigned long *resident, int nr_samples)
{
	struct kthread *guest, *reclaim;
	struct env e;
	double t0;

	env_init(&e, pages, pin);
	for (unsigned long i = 0; i < pages; i++) {
		int r = kvm_vcpu_write(e.vcpu, GPA + i * PAGE_SIZE, &i, sizeof(i));

		if (r)
			die_err("kvm_vcpu_write", r);
	}
	guest = kthread_run(guest_fn, &e, "vcpu/0");
	reclaim = kthread_run(reclaim_fn, &e, "pressure/reclaim");
	t0 = now_ns();
	for (int s = 0; s < nr_samples; s++) {
		double next = t0 + (double)s * SAMPLE_MS * MS;

		while (now_ns() < next)
			usleep(1000);
		resident[s] = get_mm_counter(e.mm, MM_ANONPAGES);
	}
	smp_store_release(&e.stop, 1);
	kthread_join(guest);
	kthread_join(reclaim);
	env_fini(&e);
}

int main(int argc, char **argv)
{
	char path[] = "/tmp/nopin-bench-swap-XXXXXX";
	unsigned long pages, ms, *pin, *nopin;
	int fd, nr_samples;

	bench_csv_init(&argc, argv);
	pages = argc > 1 ? strtoul(argv[1], NULL, 0) : 4096;
	ms = argc > 2 ? strtoul(argv[2], NULL, 0) : 2000;
	if (pages < 16 || ms < SAMPLE_MS) {
		fprintf(stderr, "bench_reclaimable: PAGES must be at least 16 and MS at least %d\n",
			SAMPLE_MS);
		return 2;
	}
	task_register("bench");
	fd = mkstemp(path);
	if (fd < 0 || swapon(path, pages * 2) < 0) {
		printf("reclaimable: no swap file, nothing measured\n");
		return 0;
	}
	close(fd);
	unlink(path);

	nr_samples = ms / SAMPLE_MS + 1;
	pin = calloc(nr_samples, sizeof(*pin));
	nopin = calloc(nr_samples, sizeof(*nopin));
	if (!pin || !nopin)
		die_err("calloc", -ENOMEM);
	run_mode(pages, true, pin, nr_samples);
	run_mode(pages, false, nopin, nr_samples);

	printf("guest pages resident in host memory under reclaim (a batch of %lu every %d ms):\n"
	       "the guest touched %lu, then keeps writing %lu\n",
	       4 * SWAP_CLUSTER_MAX, RECLAIM_MS, pages, pages / 4);
	printf("%8s %12s %12s\n", "ms", "pin", "nopin");
	for (int s = 0; s < nr_samples; s++) {
		unsigned long t = (unsigned long)s * SAMPLE_MS;

		printf("%8lu %12lu %12lu\n", t, pin[s], nopin[s]);
		bench_csv_n("reclaimable_over_time", t, "pin_resident", pin[s]);
		bench_csv_n("reclaimable_over_time", t, "nopin_resident", nopin[s]);
		bench_csv_n("reclaimable_over_time", t, "working_set", pages / 4);
	}
	printf("taken back by the end, of the %lu touched: pin %lu, nopin %lu\n", pages,
	       pages - pin[nr_samples - 1], pages - nopin[nr_samples - 1]);
	free(pin);
	free(nopin);
	return 0;
}
