// SPDX-License-Identifier: GPL-2.0
/*
 * Secondary fault throughput against the rate of invalidations, with the
 * retry rate beside it: what rule 2 (retry instead of pin) costs a vCPU as
 * the host invalidates more often.
 *
 *	bench_fault_vs_inval [--csv] [PAGES [MS]]	(defaults 4096 pages, 300 ms a point)
 *
 * vCPU threads (one fewer than the CPUs, at least one, at most MAX_VCPUS)
 * each fault their own part of one slot through
 * kvm_mmu_page_fault() (host pages present, so a fault is the secondary
 * side: lookup, mmu_lock, install; a present SPTE is installed again the
 * same way), while an invalidator thread runs invalidate_range_start/end
 * (MMU_NOTIFY_CLEAR, host PTEs kept) over random 64-page windows at a set
 * rate: none (the peer, in the same run), then 1k to 256k per second, then
 * as fast as it can.  A fault that meets an invalidation in progress on its
 * gfn, or one that ran between its sequence read and its install, retries.
 *
 * The invalidator keeps its pace by spinning on the clock, not by sleeping:
 * a thread that sleeps 4 us at a time on a busy machine wakes when the
 * scheduler lets it, and the rate it reaches is the scheduler's.  It spins
 * in the peer's point too, without invalidating, so that every point runs
 * the same threads.  Each point prints the rate reached (the x of the
 * plot), faults per second over all vCPUs, and retries per fault.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "base/kthread.h"
#include "base/prandom.h"
#include "bench/bench.h"
#include "bench/bench_kvm.h"
#include "mm/mm.h"
#include "mm/mmu_notifier.h"
#include "mmu/kvm_host.h"

#define MAX_VCPUS 4
#define WINDOW 64 /* pages per invalidation */
#define GPA 0x100000UL

struct env {
	struct frame_pool *pool;
	struct mm_struct *mm;
	struct kvm *kvm;
	struct kvm_vcpu *vcpus[MAX_VCPUS];
	int nr_vcpus;
	unsigned long hva;
	unsigned long pages;
	int stop; /* smp_store_release() by main, read by every thread */
};

static void env_init(struct env *e, unsigned long pages, int nr_vcpus)
{
	e->pages = pages;
	e->nr_vcpus = nr_vcpus;
	e->stop = 0;
	e->kvm = bench_kvm_create((pages * 2 + 1024) * PAGE_SIZE, 0, &e->pool, &e->mm);
	e->hva = bench_anon_slot(e->kvm, e->mm, GPA, pages);
	for (int i = 0; i < nr_vcpus; i++) {
		e->vcpus[i] = kvm_create_vcpu(e->kvm, i, NULL);
		if (IS_ERR(e->vcpus[i]))
			die_err("kvm_create_vcpu", PTR_ERR(e->vcpus[i]));
	}
	/* Host pages present: the figures are the secondary side's. */
	for (unsigned long i = 0; i < pages; i++)
		access_remote_vm(e->mm, e->hva + i * PAGE_SIZE, &i, 1, FOLL_WRITE);
}

static void env_fini(struct env *e)
{
	for (int i = 0; i < e->nr_vcpus; i++)
		kvm_destroy_vcpu(e->vcpus[i]);
	kvm_destroy_vm(e->kvm);
	mmput(e->mm);
	frame_pool_destroy(e->pool);
}

struct vcpu_thread {
	struct env *e;
	int id;
};

/* Fault this vCPU's share of the slot, page after page, until told to stop. */
static int vcpu_fn(void *data)
{
	struct vcpu_thread *v = data;
	struct env *e = v->e;
	unsigned long share = e->pages / e->nr_vcpus, first = v->id * share;

	while (!smp_load_acquire(&e->stop)) {
		for (unsigned long i = 0; i < share; i++) {
			int r = kvm_mmu_page_fault(e->kvm, e->vcpus[v->id],
						   GPA + (first + i) * PAGE_SIZE, true);

			if (r)
				die_err("kvm_mmu_page_fault", r);
		}
	}
	return 0;
}

struct invalidator {
	struct env *e;
	double per_s; /* 0: as fast as it can; below 0: none, spin only */
	long rounds;
};

/* Sleep to @deadline_ns of CLOCK_MONOTONIC; at once if it has passed. */
static void sleep_until(double deadline_ns)
{
	struct timespec ts = { .tv_sec = (time_t)(deadline_ns / 1e9) };

	ts.tv_nsec = (long)(deadline_ns - ts.tv_sec * 1e9);
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

/* Spin to @deadline_ns, or until the point ends: false then. */
static bool spin_until(struct env *e, double deadline_ns)
{
	while (now_ns() < deadline_ns)
		if (smp_load_acquire(&e->stop))
			return false;
	return true;
}

static int invalidate_fn(void *data)
{
	struct invalidator *inv = data;
	struct env *e = inv->e;
	uint64_t x = 88172645463325252ULL;
	double t0 = now_ns();

	if (inv->per_s < 0) {
		spin_until(e, 1e30);
		return 0;
	}
	while (!smp_load_acquire(&e->stop)) {
		unsigned long i = prandom_u64(&x) % (e->pages - WINDOW);
		struct mmu_notifier_range range;

		mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, e->mm, e->hva + i * PAGE_SIZE,
					e->hva + (i + WINDOW) * PAGE_SIZE);
		mmu_notifier_invalidate_range_start(&range);
		mmu_notifier_invalidate_range_end(&range);
		inv->rounds++;
		if (inv->per_s && !spin_until(e, t0 + inv->rounds * 1e9 / inv->per_s))
			break;
	}
	return 0;
}

/* One point: @per_s invalidations asked for (0: flat out, -1: none), for @ms. */
static void run_point(unsigned long pages, int nr_vcpus, double per_s, unsigned long ms)
{
	struct vcpu_thread vt[MAX_VCPUS];
	struct kthread *k[MAX_VCPUS], *ki;
	struct invalidator inv = { 0 };
	long faults, retries;
	double t0, t, reached;
	struct env e;

	env_init(&e, pages, nr_vcpus);
	inv.e = &e;
	inv.per_s = per_s;
	t0 = now_ns();
	for (int i = 0; i < nr_vcpus; i++) {
		vt[i] = (struct vcpu_thread){ .e = &e, .id = i };
		k[i] = kthread_run(vcpu_fn, &vt[i], "vcpu/%d", i);
	}
	ki = kthread_run(invalidate_fn, &inv, "invalidator");
	sleep_until(t0 + ms * 1e6);
	smp_store_release(&e.stop, 1);
	for (int i = 0; i < nr_vcpus; i++)
		kthread_join(k[i]);
	t = now_ns() - t0;
	kthread_join(ki);
	faults = atomic_long_read(&e.kvm->stat.faults);
	retries = atomic_long_read(&e.kvm->stat.pf_retries);
	reached = inv.rounds / (t / 1e9);
	if (per_s < 0)
		printf("%14s %14.0f %14.0f %12.5f\n", "none", 0.0, faults / (t / 1e9),
		       (double)retries / faults);
	else if (per_s == 0)
		printf("%14s %14.0f %14.0f %12.5f\n", "max", reached, faults / (t / 1e9),
		       (double)retries / faults);
	else
		printf("%14.0f %14.0f %14.0f %12.5f\n", per_s, reached, faults / (t / 1e9),
		       (double)retries / faults);
	/* The sweep's row is the rate reached: the x that was measured. */
	bench_csv_n("fault_vs_inval", (unsigned long)reached, "faults_per_s", faults / (t / 1e9));
	bench_csv_n("fault_vs_inval", (unsigned long)reached, "retry_rate",
		    (double)retries / faults);
	env_fini(&e);
}

int main(int argc, char **argv)
{
	static const double rates[] = { 1000, 4000, 16000, 64000, 256000, 0 };
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int nr_vcpus = cpus > MAX_VCPUS ? MAX_VCPUS : cpus > 2 ? (int)cpus - 1 : 1;
	unsigned long pages, ms;

	bench_csv_init(&argc, argv);
	pages = argc > 1 ? strtoul(argv[1], NULL, 0) : 4096;
	ms = argc > 2 ? strtoul(argv[2], NULL, 0) : 300;
	if (pages < 2 * WINDOW || !ms) {
		fprintf(stderr, "bench_fault_vs_inval: PAGES must be at least %d and MS above 0\n",
			2 * WINDOW);
		return 2;
	}
	task_register("bench");
	printf("secondary faults against invalidations: %d vCPU thread(s) over %lu pages, "
	       "%d-page windows, %lu ms a point\n",
	       nr_vcpus, pages, WINDOW, ms);
	printf("%14s %14s %14s %12s\n", "inval/s asked", "inval/s", "faults/s", "retry rate");
	run_point(pages, nr_vcpus, -1, ms);
	for (unsigned int i = 0; i < sizeof(rates) / sizeof(rates[0]); i++)
		run_point(pages, nr_vcpus, rates[i], ms);
	printf("retry rate: faults retried per fault; the first row, no invalidator, is the\n"
	       "peer.\n");
	return 0;
}
