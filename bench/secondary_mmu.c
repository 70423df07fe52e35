// SPDX-License-Identifier: GPL-2.0
/*
 * What the secondary MMU costs, each figure beside its peer in the same run:
 *
 *   fault            kvm_mmu_page_fault() on a page the host has mapped
 *                    already, and on one it has to fault in first; peer:
 *                    the host lookup alone (get_user_page_ref + put_page).
 *   invalidation     invalidate_range_start/end (MMU_NOTIFY_CLEAR, no host
 *                    change) over 1, 512 and 262,144 mapped pages, and over
 *                    a sparse 1 TiB slot holding one page; peer: the same
 *                    call over a range no slot overlaps (no lock taken).
 *                    The 262,144 SPTEs are installed directly, all naming
 *                    one frame, so that 1 GiB of guest needs no 1 GiB pool.
 *   sweeps           the same against the pages mapped (1 to 2^18, the
 *                    range being them), and against the range (16 pages
 *                    to 1 TiB, 16 of them mapped), in flat, tdp and shadow
 *                    VMs (bench/plots/invalidate_mapped.gp, _range.gp).
 *   remote flush     kvm_flush_remote_tlbs() with 1, 2, 4 and 8 vCPU
 *                    threads in guest mode (each must be kicked and
 *                    acknowledge), and with as many outside it (idle or
 *                    halted: the request alone).
 *   fault throughput a vCPU faulting pages in, alone and with a thread
 *                    invalidating random 64-page windows of its slot; the
 *                    retry rate is retries per fault.
 *   reclaimable      guest pages reclaim frees after the guest touched
 *                    them, reclaiming until the target is met (and the
 *                    first shrink_node() call's share), pin beside nopin.
 *
 * With more runnable threads than CPUs (2 spinning vCPUs and the flusher
 * on a 2-CPU machine), a flush waits for a vCPU's time slice: the
 * 2-vCPU figure then measures the scheduler as much as the protocol.
 *
 * Best of ROUNDS where a figure is a time.  Debug builds run lockdep on every
 * lock; use a Release build for figures worth quoting.
 *
 *	bench_secondary_mmu [--csv] [PAGES [SVG]]	(default 4096)
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/kthread.h"
#include "base/prandom.h"
#include "bench/bench.h"
#include "bench/bench_kvm.h"
#include "mm/swap.h"
#include "mmu/spte.h"

#define ROUNDS 5
#define MB (1UL << 20)
#define GPA 0x100000UL

struct env {
	struct frame_pool *pool;
	struct mm_struct *mm;
	struct kvm *kvm;
	struct kvm_vcpu *vcpu;
	unsigned long hva;
	unsigned long pages;
};

static void env_init_mode(struct env *e, size_t pool_bytes, unsigned long pages, unsigned int flags,
			  enum kvm_mmu_mode mode)
{
	e->kvm = bench_kvm_create(pool_bytes, flags, &e->pool, &e->mm);
	/* Before the slot: a shadow VM's slots have rmaps. */
	e->kvm->mmu_mode = mode;
	e->pages = pages;
	e->hva = bench_anon_slot(e->kvm, e->mm, GPA, pages);
	e->vcpu = kvm_create_vcpu(e->kvm, 0, NULL);
	if (IS_ERR(e->vcpu))
		die_err("kvm_create_vcpu", PTR_ERR(e->vcpu));
}

static void env_init(struct env *e, size_t pool_bytes, unsigned long pages, unsigned int flags)
{
	env_init_mode(e, pool_bytes, pages, flags, KVM_MMU_FLAT);
}

static void env_fini(struct env *e)
{
	kvm_destroy_vcpu(e->vcpu);
	kvm_destroy_vm(e->kvm);
	mmput(e->mm);
	frame_pool_destroy(e->pool);
}

static void host_touch(struct env *e)
{
	for (unsigned long i = 0; i < e->pages; i++)
		access_remote_vm(e->mm, e->hva + i * PAGE_SIZE, &i, 1, FOLL_WRITE);
}

/* ---- fault cost ---- */

static double fault_pass(struct env *e)
{
	double t0 = now_ns();

	for (unsigned long i = 0; i < e->pages; i++)
		kvm_mmu_page_fault(e->kvm, e->vcpu, GPA + i * PAGE_SIZE, true);
	return (now_ns() - t0) / e->pages;
}

static void bench_fault(unsigned long pages)
{
	double absent = 1e18, present = 1e18, lookup = 1e18;
	struct env e;

	for (int r = 0; r < ROUNDS; r++) {
		double t;

		env_init(&e, (pages * 3 + 1024) * PAGE_SIZE, pages, 0);
		t = fault_pass(&e);
		absent = t < absent ? t : absent;
		kvm_mmu_zap_all(e.kvm);
		t = fault_pass(&e);
		present = t < present ? t : present;
		t = now_ns();
		for (unsigned long i = 0; i < pages; i++) {
			struct page *page;
			bool w;

			if (!get_user_page_ref(e.mm, e.hva + i * PAGE_SIZE, true, &page, &w))
				put_page(page);
		}
		t = (now_ns() - t) / pages;
		lookup = t < lookup ? t : lookup;
		env_fini(&e);
	}
	printf("%-44s %10.0f ns/page\n", "fault, host page absent (faulted in)", absent);
	printf("%-44s %10.0f ns/page\n", "fault, host page present", present);
	printf("%-44s %10.0f ns/page\n", "  peer: host lookup alone (gup ref + put)", lookup);
	bench_csv("fault_ns", "host_absent", "ns_per_page", absent);
	bench_csv("fault_ns", "host_present", "ns_per_page", present);
	bench_csv("fault_ns", "host_lookup_alone", "ns_per_page", lookup);
}

/* ---- invalidation cost ---- */

static double invalidate_ns(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	struct mmu_notifier_range range;
	double t0;

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, start, end);
	t0 = now_ns();
	mmu_notifier_invalidate_range_start(&range);
	mmu_notifier_invalidate_range_end(&range);
	return now_ns() - t0;
}

/* Map gfns [first, first + n) all to @page, directly. */
static void map_direct(struct kvm *kvm, gfn_t first, unsigned long n, struct page *page)
{
	struct kvm_mmu_memory_cache mc = { 0 };

	for (unsigned long i = 0; i < n; i++) {
		if (kvm_mmu_topup_memory_cache(kvm, &mc))
			die_err("topup", -ENOMEM);
		write_lock(&kvm->mmu_lock);
		kvm_mmu_map(kvm, &mc, first + i, page, true, false);
		write_unlock(&kvm->mmu_lock);
	}
	kvm_mmu_free_memory_cache(&mc);
}

/*
 * The cost of invalidation against the range size as an SVG, through
 * gnuplot (gnuplot-nox) when it is installed; the CSV beside it either way.
 */
static void plot_invalidate(const char *svg, const unsigned long *sizes, const double *hit,
			    const double *miss, int n)
{
	char csv[4096];
	FILE *f, *gp;

	snprintf(csv, sizeof(csv), "%s.csv", svg);
	f = fopen(csv, "w");
	if (!f) {
		printf("cannot write %s\n", csv);
		return;
	}
	fprintf(f, "pages,mapped_ns,no_slot_ns\n");
	for (int i = 0; i < n; i++)
		fprintf(f, "%lu,%.0f,%.0f\n", sizes[i], hit[i], miss[i]);
	fclose(f);
	gp = popen("gnuplot 2>/dev/null", "w");
	if (!gp || system("command -v gnuplot >/dev/null 2>&1")) {
		printf("wrote %s; no gnuplot for the SVG (apt-get install gnuplot-nox)\n", csv);
		if (gp)
			pclose(gp);
		return;
	}
	fprintf(gp,
		"set terminal svg size 720,440 dynamic\nset output '%s'\n"
		"set datafile separator ','\nset logscale xy\nset key left top\n"
		"set title 'nopin: invalidate_range_start/end against range size'\n"
		"set xlabel 'pages in the range'\nset ylabel 'ns'\n"
		"plot '%s' every ::1 using 1:2 with linespoints title 'pages mapped in the "
		"secondary MMU', '' every ::1 using 1:3 with linespoints title 'range outside "
		"every "
		"memslot'\n",
		svg, csv);
	pclose(gp);
	printf("wrote %s and %s\n", svg, csv);
}

static void bench_invalidate(const char *svg)
{
	const unsigned long sizes[] = { 1, 8, 64, 512, 4096, 32768, 262144 };
	double hits[ARRAY_SIZE(sizes)], misses[ARRAY_SIZE(sizes)];
	const unsigned long max = 262144;
	unsigned long other;
	struct page *page;
	struct env e;
	double best;

	env_init(&e, 64 * MB, max, 0);
	page = alloc_page(e.pool, GFP_KERNEL);
	other = vm_mmap(e.mm, 0, max * PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, NULL, 0);
	for (unsigned int s = 0; s < ARRAY_SIZE(sizes); s++) {
		unsigned long n = sizes[s];
		double miss = 1e18;

		best = 1e18;
		for (int r = 0; r < ROUNDS; r++) {
			double t;

			map_direct(e.kvm, gpa_to_gfn(GPA), n, page);
			t = invalidate_ns(e.mm, e.hva, e.hva + n * PAGE_SIZE);
			best = t < best ? t : best;
			t = invalidate_ns(e.mm, other, other + n * PAGE_SIZE);
			miss = t < miss ? t : miss;
		}
		printf("invalidate %7lu mapped pages %20.0f ns (%.1f ns/page)\n", n, best,
		       best / n);
		printf("  peer: same size, no slot overlaps   %12.0f ns\n", miss);
		bench_csv_n("invalidate_ns", n, "mapped", best);
		bench_csv_n("invalidate_ns", n, "no_slot", miss);
		hits[s] = best;
		misses[s] = miss;
	}
	free_frame(page);
	env_fini(&e);

	/* A 1 TiB slot holding one page: the walk skips what is absent. */
	{
		const unsigned long tib = 1UL << 40;
		struct env s = { 0 };
		unsigned long hva;

		s.kvm = bench_kvm_create(16 * MB, 0, &s.pool, &s.mm);
		hva = bench_anon_slot(s.kvm, s.mm, 0, tib >> PAGE_SHIFT);
		s.vcpu = kvm_create_vcpu(s.kvm, 0, NULL);
		best = 1e18;
		for (int r = 0; r < ROUNDS; r++) {
			double t;

			kvm_mmu_page_fault(s.kvm, s.vcpu, tib / 2 + 12345 * PAGE_SIZE, true);
			t = invalidate_ns(s.mm, hva, hva + tib);
			best = t < best ? t : best;
		}
		printf("invalidate a 1 TiB slot holding one page %8.0f ns\n", best);
		bench_csv("invalidate_ns", "1tib_slot_one_page", "mapped", best);
		env_fini(&s);
	}
	if (svg)
		plot_invalidate(svg, sizes, hits, misses, ARRAY_SIZE(sizes));
}

/*
 * The sweeps, for each MMU mode.  The SPTEs are the same tables in all
 * three (a TDP or shadow VM's vCPU on the identity CR3 runs on them); a
 * shadow VM's invalidation also walks the rmap of every gfn of the range
 * for shadow leaves, of which these install none: its column shows that
 * walk's cost.
 */
static const char *const sweep_modes[] = {
	[KVM_MMU_FLAT] = "flat",
	[KVM_MMU_TDP] = "tdp",
	[KVM_MMU_SHADOW] = "shadow",
};

/* Against the pages mapped, 1 to 2^18, the range being exactly them. */
static void sweep_invalidate_mapped(void)
{
	const unsigned long max = 1UL << 18;

	for (int mode = KVM_MMU_FLAT; mode <= KVM_MMU_SHADOW; mode++) {
		struct page *page;
		struct env e;

		env_init_mode(&e, 64 * MB, max, 0, mode);
		page = alloc_page(e.pool, GFP_KERNEL);
		for (unsigned long n = 1; n <= max; n *= 4) {
			double best = 1e18;

			for (int r = 0; r < ROUNDS; r++) {
				double t;

				map_direct(e.kvm, gpa_to_gfn(GPA), n, page);
				t = invalidate_ns(e.mm, e.hva, e.hva + n * PAGE_SIZE);
				best = t < best ? t : best;
			}
			bench_csv_n("invalidate_mapped_ns", n, sweep_modes[mode], best);
			printf("invalidate %6lu mapped pages, %-6s %14.0f ns (%.1f ns/page)\n", n,
			       sweep_modes[mode], best, best / n);
		}
		free_frame(page);
		env_fini(&e);
	}
}

/*
 * Against the range, 16 pages to 1 TiB (2^28 pages), with 16 pages mapped
 * in it, evenly spread: the walks skip what holds nothing, the SPTE
 * tables' by their present lines, the rmaps by their summary bits.
 */
#define SWEEP_SPARSE 16

static void sweep_invalidate_range(void)
{
	for (int mode = KVM_MMU_FLAT; mode <= KVM_MMU_SHADOW; mode++) {
		const unsigned long max = 1UL << 28;
		struct page *page;
		struct env e;

		env_init_mode(&e, 16 * MB, max, 0, mode);
		page = alloc_page(e.pool, GFP_KERNEL);
		for (unsigned long n = SWEEP_SPARSE; n <= max; n *= 4) {
			double best = 1e18;

			for (int r = 0; r < ROUNDS; r++) {
				double t;

				for (int i = 0; i < SWEEP_SPARSE; i++)
					map_direct(e.kvm, gpa_to_gfn(GPA) + i * (n / SWEEP_SPARSE),
						   1, page);
				t = invalidate_ns(e.mm, e.hva, e.hva + n * PAGE_SIZE);
				best = t < best ? t : best;
			}
			bench_csv_n("invalidate_range_ns", n, sweep_modes[mode], best);
			printf("invalidate %10lu pages, %d mapped, %-6s %12.0f ns\n", n,
			       SWEEP_SPARSE, sweep_modes[mode], best);
		}
		free_frame(page);
		env_fini(&e);
	}
}

/* ---- remote flush ---- */

#define FLUSH_MAX_VCPUS 8

struct spinner {
	struct kvm_vcpu *vcpu;
	int stop;
};

/* A vCPU in guest mode that does nothing but answer kicks. */
static int spin_in_guest(void *data)
{
	struct spinner *sp = data;
	unsigned int spins = 0;

	kvm_vcpu_enter_guest(sp->vcpu);
	while (!smp_load_acquire(&sp->stop)) {
		if (kvm_vcpu_kick_pending(sp->vcpu)) {
			kvm_vcpu_exit_guest(sp->vcpu);
			kvm_vcpu_enter_guest(sp->vcpu);
		}
		/* Yields now and then: with more threads than CPUs a pure spin starves the flusher. */
		cpu_spin_wait(&spins);
	}
	kvm_vcpu_exit_guest(sp->vcpu);
	return 0;
}

/* Flushes per figure: fewer where every flush waits for many vCPU threads' time slices. */
static int flush_iters(int nr)
{
	return nr <= 2 ? 2000 : 200;
}

static double flush_ns(struct kvm *kvm, int iters)
{
	double t0 = now_ns();

	for (int i = 0; i < iters; i++) {
		write_lock(&kvm->mmu_lock);
		kvm_flush_remote_tlbs(kvm);
		write_unlock(&kvm->mmu_lock);
	}
	return (now_ns() - t0) / iters;
}

/* kvm_flush_remote_tlbs() with vCPUs 0 .. @nr - 1 spinning in guest mode. */
static double flush_in_guest_ns(struct kvm *kvm, struct kvm_vcpu **vcpus, int nr)
{
	struct spinner sp[FLUSH_MAX_VCPUS] = { { 0 } };
	struct kthread *k[FLUSH_MAX_VCPUS];
	double t;

	for (int i = 0; i < nr; i++) {
		sp[i].vcpu = vcpus[i];
		k[i] = kthread_run(spin_in_guest, &sp[i], "vcpu%d", i);
	}
	/* Let them get into guest mode. */
	for (int i = 0; i < nr; i++)
		while (smp_load_acquire(&sp[i].vcpu->mode) != IN_GUEST_MODE)
			sched_yield();
	t = flush_ns(kvm, flush_iters(nr));
	for (int i = 0; i < nr; i++) {
		smp_store_release(&sp[i].stop, 1);
		kthread_join(k[i]);
	}
	return t;
}

/*
 * The shootdown against vCPUs: 1, 2, 4 and 8 in guest mode (each kicked
 * and waited for), and as many outside it (idle, as a halted vCPU is:
 * only the request is set).  Row 0: the VM's one vCPU, outside.
 */
static void bench_flush(void)
{
	struct kvm_vcpu *vcpus[FLUSH_MAX_VCPUS];
	int created = 1;
	struct env e;
	double t;

	env_init(&e, 16 * MB, 16, 0);
	vcpus[0] = e.vcpu;
	t = flush_ns(e.kvm, flush_iters(0));
	printf("remote TLB flush, 0 vCPU(s) in guest mode %8.0f ns\n", t);
	bench_csv_n("remote_flush_ns", 0, "vcpus_in_guest_mode", t);
	for (int nr = 1; nr <= FLUSH_MAX_VCPUS; nr *= 2) {
		double out;

		for (; created < nr; created++) {
			vcpus[created] = kvm_create_vcpu(e.kvm, created, NULL);
			if (IS_ERR(vcpus[created]))
				die_err("kvm_create_vcpu", PTR_ERR(vcpus[created]));
		}
		t = flush_in_guest_ns(e.kvm, vcpus, nr);
		/* The same vCPUs, none running. */
		out = flush_ns(e.kvm, flush_iters(0));
		printf("remote TLB flush, %d vCPU(s) in guest mode %8.0f ns; outside it %6.0f ns\n",
		       nr, t, out);
		bench_csv_n("remote_flush_ns", nr, "vcpus_in_guest_mode", t);
		bench_csv_n("remote_flush_ns", nr, "vcpus_outside_guest_mode", out);
	}
	for (int i = 1; i < created; i++)
		kvm_destroy_vcpu(vcpus[i]);
	env_fini(&e);
}

/* ---- fault throughput under invalidations ---- */

struct invalidator {
	struct env *e;
	int stop;
	long rounds;
};

static int invalidate_fn(void *data)
{
	struct invalidator *inv = data;
	uint64_t x = 88172645463325252ULL;

	while (!smp_load_acquire(&inv->stop)) {
		unsigned long i = prandom_u64(&x) % (inv->e->pages - 64);

		invalidate_ns(inv->e->mm, inv->e->hva + i * PAGE_SIZE,
			      inv->e->hva + (i + 64) * PAGE_SIZE);
		inv->rounds++;
	}
	return 0;
}

static void bench_throughput(unsigned long pages)
{
	for (int with = 0; with <= 1; with++) {
		struct invalidator inv = { 0 };
		struct kthread *k = NULL;
		long faults, retries;
		struct env e;
		double t0, t;

		env_init(&e, (pages * 2 + 1024) * PAGE_SIZE, pages, 0);
		host_touch(&e);
		inv.e = &e;
		if (with)
			k = kthread_run(invalidate_fn, &inv, "invalidator");
		t0 = now_ns();
		for (int r = 0; r < 4; r++) {
			fault_pass(&e);
			kvm_mmu_zap_all(e.kvm);
		}
		t = now_ns() - t0;
		if (k) {
			smp_store_release(&inv.stop, 1);
			kthread_join(k);
		}
		faults = atomic_long_read(&e.kvm->stat.faults);
		retries = atomic_long_read(&e.kvm->stat.pf_retries);
		printf("fault throughput, %-26s %8.0f faults/s, retry rate %.4f (%ld "
		       "invalidations)\n",
		       with ? "with invalidations" : "alone", faults / (t / 1e9),
		       (double)retries / faults, inv.rounds);
		bench_csv("fault_throughput", with ? "with_invalidations" : "alone", "faults_per_s",
			  faults / (t / 1e9));
		bench_csv("fault_throughput", with ? "with_invalidations" : "alone", "retry_rate",
			  (double)retries / faults);
		env_fini(&e);
	}
}

/* ---- reclaimable memory, pin vs nopin ---- */

/*
 * How many of the pages the guest touched the host can take back: reclaim
 * with the touched count as its target, until it is met or reclaim stops
 * making progress (proactive_reclaim(), memory.reclaim's loop), as kswapd
 * or a memory.reclaim write would.  The first shrink_node() call's share
 * is printed beside it: a single call at a working set all just used
 * frees only what the aging of its passes reached (mm/vmscan.c).
 */
static void bench_reclaim(unsigned long pages)
{
	char path[] = "/tmp/nopin-bench-swap-XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0 || swapon(path, pages * 4) < 0) {
		printf("reclaimable: no swap file, skipped\n");
		return;
	}
	close(fd);
	unlink(path);
	for (int pin = 1; pin >= 0; pin--) {
		unsigned long first, freed;
		struct env e;

		env_init(&e, (pages * 2 + 1024) * PAGE_SIZE, pages, pin ? KVM_VM_PIN_MODE : 0);
		for (unsigned long i = 0; i < pages; i++)
			kvm_vcpu_write(e.vcpu, GPA + i * PAGE_SIZE, &i, sizeof(i));
		first = shrink_node(e.pool->pgdat, pages);
		freed = first + proactive_reclaim(e.pool->pgdat, pages - first);
		printf("reclaimable after the guest touched %lu pages: %-5s %6lu freed, %6lu by "
		       "the first shrink_node() (%ld pinned)\n",
		       pages, pin ? "pin" : "nopin", freed, first,
		       atomic_long_read(&e.kvm->stat.pages_pinned));
		bench_csv("reclaimable", pin ? "pin" : "nopin", "touched", pages);
		bench_csv("reclaimable", pin ? "pin" : "nopin", "freed", freed);
		bench_csv("reclaimable", pin ? "pin" : "nopin", "freed_first_call", first);
		env_fini(&e);
	}
}

int main(int argc, char **argv)
{
	unsigned long pages;
	const char *svg;

	bench_csv_init(&argc, argv);
	pages = argc > 1 ? strtoul(argv[1], NULL, 0) : 4096;
	/* bench_secondary_mmu [PAGES [SVG]]: also plot invalidation cost to SVG. */
	svg = argc > 2 ? argv[2] : NULL;
	task_register("bench");
	printf("secondary MMU, %lu pages where not said otherwise\n", pages);
	bench_fault(pages);
	bench_invalidate(svg);
	sweep_invalidate_mapped();
	sweep_invalidate_range();
	bench_flush();
	bench_throughput(pages);
	bench_reclaim(pages);
	return 0;
}
