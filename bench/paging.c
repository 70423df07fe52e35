// SPDX-License-Identifier: GPL-2.0
/*
 * What guest paging costs the soft vCPU's translation, TDP and the shadow
 * MMU beside flat in one run, through the access engine
 * (kvm_vcpu_access_gva() beside kvm_vcpu_write()/__kvm_vcpu_read(),
 * mmu/access.c), per page or access:
 *
 *   secondary fault   a first write to each of PAGES pages whose host pages
 *                     are present: flat, one fault each; tdp, one fault
 *                     each with the guest's tables mapped already, and
 *                     with the tables' SPTEs zapped too (the walk faults
 *                     them back, one per table page, 1 for 512 pages);
 *                     shadow, a shadow fault each (the guest walk, then
 *                     FNAME(fetch) under mmu_lock) with the shadow pages
 *                     there already, and from no shadow page at all.
 *   TLB miss          reads cycling over PAGES pages (more than the 64
 *                     TLB entries: each misses), every SPTE present: flat,
 *                     one SPTE walk; tdp, the guest's 4-level walk (4 SPTE
 *                     walks for the tables, then the page's), and with
 *                     2 MiB guest pages (3 levels); shadow, the 4-level
 *                     walk of the shadow root.
 *   TLB hit           reads of one address over and over.
 *
 * and, for the shadow MMU alone (mmu/shadow*.c):
 *
 *   guest PTE write   one store to a guest PTE through an alias of its
 *                     page table: the emulated write, then
 *                     kvm_vcpu_track_write() zapping the leaf made from it.
 *   invalidation      invalidate_range_start and _end of one gfn mapped
 *                     at 1, 8 and 64 virtual addresses (each alias's leaf
 *                     zapped through the rmap, and the flush).
 *   CR3 switch        a CR3 load and the first access after it, between
 *                     two address spaces whose roots stay cached, and
 *                     round five, where the root falls out of the cache
 *                     each time and is made again.
 *
 * The guest's tables map PAGES pages at VA, built in guest RAM through
 * the host mm.  Best of ROUNDS.  Debug builds run lockdep on every lock;
 * use a Release build for figures worth quoting.
 *
 *	bench_paging [--csv] [PAGES]	(default 4096, a multiple of 512)
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench/bench.h"
#include "bench/bench_kvm.h"
#include "mmu/paging_walk.h"
#include "mmu/shadow.h"

#define ROUNDS 5
#define MB (1UL << 20)
#define GPA (2 * MB)		/* 2 MiB aligned: the data pages, then the tables */
#define VA 0x0000123400000000UL /* 1 GiB aligned */
#define HITS 100000
#define VA_ALIAS 0x0000567800000000UL	   /* 1 GiB aligned: the aliases, one PTE each */
#define VA_PT (VA_ALIAS + 511 * PAGE_SIZE) /* their page table, mapped as data */
#define SWITCHES 2000
#define NR_SPACES 5 /* more than the cached roots and the current one */
#define TABLE_BITS (PT_PRESENT_MASK | PT_WRITABLE_MASK | PT_USER_MASK)

struct env {
	struct frame_pool *pool;
	struct mm_struct *mm;
	struct kvm *kvm;
	struct kvm_vcpu *vcpu;
	unsigned long hva, pages;
	gpa_t tables; /* PML4, PDPT, PD, then the page tables */
};

static void env_init(struct env *e, unsigned long pages, enum kvm_mmu_mode mode)
{
	/* The data pages, their tables, and 16 pages for the shadow-only figures' tables. */
	unsigned long slot_pages = pages + pages / PT64_ENT_PER_PAGE + 3 + 16;

	e->kvm = bench_kvm_create((2 * slot_pages + 1024) * PAGE_SIZE, 0, &e->pool, &e->mm);
	e->kvm->mmu_mode = mode;
	e->pages = pages;
	e->tables = GPA + pages * PAGE_SIZE;
	e->hva = bench_anon_slot(e->kvm, e->mm, GPA, slot_pages);
	e->vcpu = kvm_create_vcpu(e->kvm, 0, NULL);
	if (IS_ERR(e->vcpu))
		die_err("kvm_create_vcpu", PTR_ERR(e->vcpu));
	/* Every host page present, so that only the secondary MMU is measured. */
	for (unsigned long i = 0; i < slot_pages; i++)
		access_remote_vm(e->mm, e->hva + i * PAGE_SIZE, &i, 1, FOLL_WRITE);
}

static void env_fini(struct env *e)
{
	kvm_destroy_vcpu(e->vcpu);
	kvm_destroy_vm(e->kvm);
	mmput(e->mm);
	frame_pool_destroy(e->pool);
}

static void put_pte(struct env *e, gpa_t gpa, uint64_t pte)
{
	access_remote_vm(e->mm, e->hva + (gpa - GPA), &pte, sizeof(pte), FOLL_WRITE);
}

/* VA + i pages -> GPA + i pages, with 4 KiB or 2 MiB leaves; then CR3. */
static void build_tables(struct env *e, bool large)
{
	gpa_t pml4 = e->tables, pdpt = pml4 + PAGE_SIZE, pd = pdpt + PAGE_SIZE;
	unsigned long i;

	put_pte(e, pml4 + PT64_INDEX(VA, 4) * 8, pdpt | TABLE_BITS);
	put_pte(e, pdpt + PT64_INDEX(VA, 3) * 8, pd | TABLE_BITS);
	for (i = 0; i < e->pages / PT64_ENT_PER_PAGE; i++) {
		gpa_t pt = pd + (i + 1) * PAGE_SIZE;

		if (large) {
			put_pte(e, pd + i * 8, (GPA + i * 2 * MB) | PT_PAGE_SIZE_MASK | TABLE_BITS);
			continue;
		}
		put_pte(e, pd + i * 8, pt | TABLE_BITS);
		for (unsigned long j = 0; j < PT64_ENT_PER_PAGE; j++)
			put_pte(e, pt + j * 8,
				(GPA + (i * PT64_ENT_PER_PAGE + j) * PAGE_SIZE) | TABLE_BITS);
	}
	if (kvm_vcpu_load_cr3(e->vcpu, pml4))
		die_err("kvm_vcpu_load_cr3", -EINVAL);
}

/* One access per page, in guest mode all along; by GPA (flat) or by VA. */
static double pass_ns(struct env *e, bool tdp, uint32_t access)
{
	struct guest_walker w;
	uint64_t val = 1;
	double t0 = now_ns();
	int r = 0;

	for (unsigned long i = 0; i < e->pages && !r; i++) {
		if (tdp)
			r = __kvm_vcpu_access_gva(e->vcpu, VA + i * PAGE_SIZE, &val, sizeof(val),
						  access, &w);
		else if (access & PFERR_WRITE_MASK)
			r = __kvm_vcpu_write(e->vcpu, GPA + i * PAGE_SIZE, &val, sizeof(val));
		else
			r = __kvm_vcpu_read(e->vcpu, GPA + i * PAGE_SIZE, &val, sizeof(val));
	}
	kvm_vcpu_exit_guest(e->vcpu);
	if (r)
		die_err("guest access", r);
	return (now_ns() - t0) / e->pages;
}

static double hits_ns(struct env *e, bool tdp)
{
	struct guest_walker w;
	uint64_t val;
	double t0;
	int r = 0;

	pass_ns(e, tdp, 0);
	t0 = now_ns();
	for (int i = 0; i < HITS && !r; i++)
		r = tdp ? __kvm_vcpu_access_gva(e->vcpu, VA + 64, &val, sizeof(val), 0, &w) :
			  __kvm_vcpu_read(e->vcpu, GPA + 64, &val, sizeof(val));
	kvm_vcpu_exit_guest(e->vcpu);
	if (r)
		die_err("guest access", r);
	return (now_ns() - t0) / HITS;
}

/* Zap the data pages' SPTEs only, flat and shadow leaves: the guest's tables stay mapped. */
static void zap_data(struct env *e)
{
	int idx = srcu_read_lock(&e->kvm->srcu);
	struct kvm_memory_slot *slot = gfn_to_memslot(e->kvm, gpa_to_gfn(GPA));
	bool flush;

	write_lock(&e->kvm->mmu_lock);
	flush = kvm_mmu_zap_gfn_range(e->kvm, gpa_to_gfn(GPA), gpa_to_gfn(e->tables));
	flush |= kvm_shadow_zap_gfn_range(e->kvm, slot, gpa_to_gfn(GPA), gpa_to_gfn(e->tables));
	if (flush)
		kvm_flush_remote_tlbs(e->kvm);
	write_unlock(&e->kvm->mmu_lock);
	srcu_read_unlock(&e->kvm->srcu, idx);
}

/* The shadow-only figures' table pages, after the data's tables. */
static gpa_t extra_table(struct env *e, int n)
{
	return e->tables + (3 + e->pages / PT64_ENT_PER_PAGE + n) * PAGE_SIZE;
}

static void gva_access(struct env *e, gva_t va, uint32_t access)
{
	struct guest_walker w;
	uint64_t val = 0;
	int r = __kvm_vcpu_access_gva(e->vcpu, va, &val, sizeof(val), access, &w);

	if (r)
		die_err("guest access", r);
}

/*
 * The guest's own page table for VA_ALIAS, reachable at VA_PT, its last
 * entry: its entries are written through that alias, as a guest edits
 * its tables.  Returns the table.
 */
static gpa_t build_alias_table(struct env *e)
{
	gpa_t pdpt = extra_table(e, 0), pd = extra_table(e, 1), pt = extra_table(e, 2);

	put_pte(e, e->tables + PT64_INDEX(VA_ALIAS, 4) * 8, pdpt | TABLE_BITS);
	put_pte(e, pdpt + PT64_INDEX(VA_ALIAS, 3) * 8, pd | TABLE_BITS);
	put_pte(e, pd + PT64_INDEX(VA_ALIAS, 2) * 8, pt | TABLE_BITS);
	put_pte(e, pt + PT64_INDEX(VA_PT, 1) * 8, pt | TABLE_BITS | PT_DIRTY_MASK);
	return pt;
}

/* A store of a PTE through the table's alias: the emulated write and its tracker. */
static double pte_write_ns(struct env *e)
{
	double t0;

	build_alias_table(e);
	gva_access(e, VA_PT, 0);
	t0 = now_ns();
	for (int i = 0; i < SWITCHES; i++) {
		uint64_t pte = (GPA + (i % 2) * PAGE_SIZE) | TABLE_BITS;
		struct guest_walker w;

		/* Rewrite its PTE through VA_PT, then map it again (a shadow fault). */
		if (__kvm_vcpu_access_gva(e->vcpu, VA_PT, &pte, sizeof(pte), PFERR_WRITE_MASK, &w))
			die_err("PTE write", -EFAULT);
		gva_access(e, VA_ALIAS, 0);
	}
	kvm_vcpu_exit_guest(e->vcpu);
	return (now_ns() - t0) / SWITCHES;
}

/* The kvm notifier's start and end, as the host calls them, on one page. */
static double invalidate_ns(struct env *e, unsigned int aliases)
{
	struct mmu_notifier *mn = &e->kvm->mmu_notifier;
	struct mmu_notifier_range range = {
		.mm = e->mm,
		.start = e->hva,
		.end = e->hva + PAGE_SIZE,
		.event = MMU_NOTIFY_CLEAR,
	};
	double t = 0;

	/* Written from the host, not tracked: the shadows start afresh. */
	for (unsigned int i = 0; i < aliases; i++)
		put_pte(e, build_alias_table(e) + i * 8, GPA | TABLE_BITS);
	kvm_mmu_zap_all(e->kvm);
	for (int round = 0; round < 200; round++) {
		double t0;

		for (unsigned int i = 0; i < aliases; i++)
			gva_access(e, VA_ALIAS + i * PAGE_SIZE, 0);
		kvm_vcpu_exit_guest(e->vcpu);
		t0 = now_ns();
		mn->ops->invalidate_range_start(mn, &range);
		mn->ops->invalidate_range_end(mn, &range);
		t += now_ns() - t0;
	}
	return t / 200;
}

/* A CR3 switch and one access, over @spaces address spaces in turn. */
static double cr3_switch_ns(struct env *e, int spaces)
{
	gpa_t pml4[NR_SPACES];
	double t0;

	for (int i = 0; i < NR_SPACES; i++) {
		pml4[i] = extra_table(e, 3 + i);
		/* Each its own PML4 over the data's PDPT. */
		put_pte(e, pml4[i] + PT64_INDEX(VA, 4) * 8, (e->tables + PAGE_SIZE) | TABLE_BITS);
	}
	t0 = now_ns();
	for (int i = 0; i < SWITCHES; i++) {
		if (kvm_vcpu_load_cr3(e->vcpu, pml4[i % spaces]))
			die_err("kvm_vcpu_load_cr3", -EINVAL);
		gva_access(e, VA + (i % 64) * PAGE_SIZE, 0);
	}
	kvm_vcpu_exit_guest(e->vcpu);
	return (now_ns() - t0) / SWITCHES;
}

enum {
	FAULT_FLAT,
	FAULT_TDP,
	FAULT_TDP_TABLES,
	FAULT_SHADOW,
	FAULT_SHADOW_TABLES,
	MISS_FLAT,
	MISS_TDP,
	MISS_TDP_2M,
	MISS_SHADOW,
	HIT_FLAT,
	HIT_TDP,
	HIT_SHADOW,
	PTE_WRITE,
	INVAL_1,
	INVAL_8,
	INVAL_64,
	CR3_CACHED,
	CR3_UNCACHED,
	NR_FIGURES
};

/* Each figure's CSV name: section, row, column (the table's row and column). */
static const char *const figure_ids[NR_FIGURES][3] = {
	[FAULT_FLAT] = { "secondary_fault_ns", "first_write", "flat" },
	[FAULT_TDP] = { "secondary_fault_ns", "first_write", "tdp" },
	[FAULT_TDP_TABLES] = { "secondary_fault_ns", "first_write_tables_zapped", "tdp" },
	[FAULT_SHADOW] = { "secondary_fault_ns", "first_write", "shadow" },
	[FAULT_SHADOW_TABLES] = { "secondary_fault_ns", "first_write_tables_zapped", "shadow" },
	[MISS_FLAT] = { "tlb_miss_ns", "4_level", "flat" },
	[MISS_TDP] = { "tlb_miss_ns", "4_level", "tdp" },
	[MISS_TDP_2M] = { "tlb_miss_ns", "3_level_2m", "tdp" },
	[MISS_SHADOW] = { "tlb_miss_ns", "4_level", "shadow" },
	[HIT_FLAT] = { "tlb_hit_ns", "one_address", "flat" },
	[HIT_TDP] = { "tlb_hit_ns", "one_address", "tdp" },
	[HIT_SHADOW] = { "tlb_hit_ns", "one_address", "shadow" },
	[PTE_WRITE] = { "shadow_ns", "pte_write", "shadow" },
	[INVAL_1] = { "shadow_invalidate_ns", "1", "aliases" },
	[INVAL_8] = { "shadow_invalidate_ns", "8", "aliases" },
	[INVAL_64] = { "shadow_invalidate_ns", "64", "aliases" },
	[CR3_CACHED] = { "shadow_ns", "cr3_switch_root_cached", "shadow" },
	[CR3_UNCACHED] = { "shadow_ns", "cr3_switch_root_made_again", "shadow" },
};

static void min_of(double *best, double t)
{
	if (t < *best)
		*best = t;
}

int main(int argc, char **argv)
{
	unsigned long pages;
	double f[NR_FIGURES];
	struct env e;

	bench_csv_init(&argc, argv);
	pages = argc > 1 ? strtoul(argv[1], NULL, 0) : 4096;
	if (!pages || pages % PT64_ENT_PER_PAGE)
		die_err("PAGES must be a multiple of 512", (long)pages);
	for (int i = 0; i < NR_FIGURES; i++)
		f[i] = 1e18;
	for (int r = 0; r < ROUNDS; r++) {
		env_init(&e, pages, KVM_MMU_TDP);
		min_of(&f[FAULT_FLAT], pass_ns(&e, false, PFERR_WRITE_MASK));
		min_of(&f[MISS_FLAT], pass_ns(&e, false, 0));
		min_of(&f[HIT_FLAT], hits_ns(&e, false));

		build_tables(&e, false);
		kvm_mmu_zap_all(e.kvm);
		min_of(&f[FAULT_TDP_TABLES], pass_ns(&e, true, PFERR_WRITE_MASK));
		zap_data(&e);
		min_of(&f[FAULT_TDP], pass_ns(&e, true, PFERR_WRITE_MASK));
		min_of(&f[MISS_TDP], pass_ns(&e, true, 0));
		min_of(&f[HIT_TDP], hits_ns(&e, true));

		build_tables(&e, true);
		pass_ns(&e, true, 0);
		min_of(&f[MISS_TDP_2M], pass_ns(&e, true, 0));
		env_fini(&e);

		env_init(&e, pages, KVM_MMU_SHADOW);
		build_tables(&e, false);
		min_of(&f[FAULT_SHADOW_TABLES], pass_ns(&e, true, PFERR_WRITE_MASK));
		zap_data(&e);
		min_of(&f[FAULT_SHADOW], pass_ns(&e, true, PFERR_WRITE_MASK));
		min_of(&f[MISS_SHADOW], pass_ns(&e, true, 0));
		min_of(&f[HIT_SHADOW], hits_ns(&e, true));
		min_of(&f[PTE_WRITE], pte_write_ns(&e));
		min_of(&f[INVAL_1], invalidate_ns(&e, 1));
		min_of(&f[INVAL_8], invalidate_ns(&e, 8));
		min_of(&f[INVAL_64], invalidate_ns(&e, 64));
		min_of(&f[CR3_CACHED], cr3_switch_ns(&e, 2));
		min_of(&f[CR3_UNCACHED], cr3_switch_ns(&e, NR_SPACES));
		env_fini(&e);
	}
	printf("guest paging, %lu pages, best of %d (ns per page or access)\n", pages, ROUNDS);
	printf("%-56s %10s %10s %10s\n", "", "flat", "tdp", "shadow");
	printf("%-56s %10.0f %10.0f %10.0f\n", "secondary fault, first write (tables mapped)",
	       f[FAULT_FLAT], f[FAULT_TDP], f[FAULT_SHADOW]);
	printf("%-56s %10s %10.0f %10.0f\n",
	       "secondary fault, first write, tables' SPTEs zapped too", "", f[FAULT_TDP_TABLES],
	       f[FAULT_SHADOW_TABLES]);
	printf("%-56s %10.0f %10.0f %10.0f\n", "TLB miss, every SPTE present (a 4-level walk)",
	       f[MISS_FLAT], f[MISS_TDP], f[MISS_SHADOW]);
	printf("%-56s %10s %10.0f\n", "TLB miss, 2 MiB guest pages (a 3-level walk)", "",
	       f[MISS_TDP_2M]);
	printf("%-56s %10.0f %10.0f %10.0f\n", "TLB hit", f[HIT_FLAT], f[HIT_TDP], f[HIT_SHADOW]);
	printf("\nshadow MMU (ns per operation)\n");
	printf("%-56s %10.0f\n", "emulated guest PTE write (with the fault that remaps)",
	       f[PTE_WRITE]);
	printf("%-56s %10.0f\n", "invalidation of a gfn with 1 alias", f[INVAL_1]);
	printf("%-56s %10.0f\n", "invalidation of a gfn with 8 aliases", f[INVAL_8]);
	printf("%-56s %10.0f\n", "invalidation of a gfn with 64 aliases", f[INVAL_64]);
	printf("%-56s %10.0f\n", "CR3 switch and an access, root cached", f[CR3_CACHED]);
	printf("%-56s %10.0f\n", "CR3 switch and an access, root made again", f[CR3_UNCACHED]);
	for (int i = 0; i < NR_FIGURES; i++)
		bench_csv(figure_ids[i][0], figure_ids[i][1], figure_ids[i][2], f[i]);
	return 0;
}
