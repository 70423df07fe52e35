// SPDX-License-Identifier: GPL-2.0
/*
 * ptedit: random page-table edits by every vCPU on one address space that
 * vCPU 0 builds (runtime/paging.c, RAM identity-mapped) and all load.
 *
 * Private: each vCPU owns a page table of SLOTS virtual pages and
 * FRAMES / ncpus frames, and with xorshift64* remaps a slot to a random
 * frame (aliases come and go), unmaps one, writes a frame through a slot
 * (a new version in its first and last word) or reads one back.  It
 * INVLPGs what it changed, for itself only.  A read checks the version
 * the frame has now, whichever slot it went through; an unmapped slot
 * must fault into the #PF handler, with CR2 the address and the error
 * code of the access.
 *
 * Shared: vCPU 0 also edits a page table every vCPU reads through, one
 * entry per generation (a remap, or now and then an unmap), then bumps
 * the generation; each vCPU drops the stale translation (INVLPG of the
 * entry in odd generations, its whole TLB in even ones), checks every
 * slot against what the mapping says now, and acknowledges; vCPU 0 waits
 * for every acknowledgement before the next edit: a software shootdown
 * through shared memory.
 *
 * Before any of it vCPU 0 writes and reads back all of its free RAM
 * (ram_free_sweep()), more than a pressure run's pool, so the host takes
 * pages during every such run.  vCPU 0 prints the counts at the end, the
 * same in every MMU mode and run; the first check that fails ends the
 * guest, naming what.
 */
#include "base/prandom.h"
#include "guest.h"

#define MAX_CPUS 2
#define SLOTS 64
#define FRAMES 768 /* the private frames of all vCPUs */
#define SHARED_SLOTS 16
#define SHARED_FRAMES 32
#define GENERATIONS 150
#define OPS_PER_GENERATION 20
#define OPS (GENERATIONS * OPS_PER_GENERATION)

#define PRIVATE_VA(cpu) (0x0000100000000000UL + (cpu)*PAGE_SIZE_2M)
#define SHARED_VA 0x0000200000000000UL

struct cpu {
	unsigned int id;
	uint64_t rng;
	unsigned long va, nr_frames, *frames;
	unsigned long *slot_pte[SLOTS];
	int slot_frame[SLOTS]; /* -1: unmapped */
	unsigned long remaps, unmaps, writes, reads, faults;
	unsigned long seen, shared_checks, shared_faults;
};

static struct cpu cpus[MAX_CPUS];
static unsigned long cr3;
static unsigned long private_frames[FRAMES];
static unsigned short version[FRAMES];
static unsigned long shared_frames[SHARED_FRAMES];
static unsigned long *shared_pte[SHARED_SLOTS];

/* What vCPU 0 publishes with each generation, and each vCPU's answer. */
static int shared_map[SHARED_SLOTS]; /* frame index, or -1 */
static unsigned int shared_changed;  /* the slot the last edit changed */
static unsigned long generation, ack[MAX_CPUS];
static unsigned int setup_done, edits_done, finished;

/* The first failure ends the guest: a frame or mapping that is wrong could loop. */
static void fail(struct cpu *c, const char *what, unsigned long got, unsigned long want)
{
	guest_check_failed("ptedit", c->id, what, got, want);
}

static void check(struct cpu *c, const char *what, unsigned long got, unsigned long want)
{
	if (got != want)
		fail(c, what, got, want);
}

static void on_page_fault(struct exception_frame *f)
{
	if (!probe_fixup(f))
		fail(&cpus[(ram_end() - f->rsp) / GUEST_STACK_SIZE], "unexpected #PF at", f->cr2,
		     f->rip);
}

/* What frame @f of all private frames holds at version @v: first word, last word ~. */
static unsigned long frame_word(unsigned long f, unsigned long v)
{
	return 0x7e00000000000000UL | f << 16 | v;
}

static unsigned long shared_word(unsigned long f)
{
	return 0x5e00000000000000UL | f;
}

static void expect_fault(struct cpu *c, long ret, struct probe_fault *pf, unsigned long va,
			 unsigned long error_code)
{
	check(c, "probe of an unmapped page", ret, -GUEST_EFAULT);
	check(c, "#PF CR2", pf->cr2, va);
	check(c, "#PF error code", pf->error_code, error_code);
}

static unsigned long slot_va(struct cpu *c, unsigned int slot)
{
	return c->va + slot * PAGE_SIZE;
}

/* @f indexes all private frames, whose words name it: an alias read names its frame. */
static void check_slot(struct cpu *c, unsigned int slot)
{
	unsigned long va = slot_va(c, slot), f = c->slot_frame[slot], want;

	want = frame_word(f, version[f]);
	check(c, "a private page, first word", peek(va), want);
	check(c, "a private page, last word", peek(va + PAGE_SIZE - 8), ~want);
	c->reads++;
}

static void write_slot(struct cpu *c, unsigned int slot)
{
	unsigned long va = slot_va(c, slot), f = c->slot_frame[slot];
	unsigned long val = frame_word(f, ++version[f]);

	poke(va, val);
	poke(va + PAGE_SIZE - 8, ~val);
	c->writes++;
}

static void remap_slot(struct cpu *c, unsigned int slot, unsigned long nr)
{
	unsigned long f = c->frames - private_frames + nr;

	pte_write(c->slot_pte[slot], private_frames[f] | PTE_P | PTE_W | PTE_NX);
	guest_invlpg(slot_va(c, slot));
	c->slot_frame[slot] = (int)f;
	c->remaps++;
}

static void unmap_slot(struct cpu *c, unsigned int slot)
{
	pte_write(c->slot_pte[slot], 0);
	guest_invlpg(slot_va(c, slot));
	c->slot_frame[slot] = -1;
	c->unmaps++;
}

static void private_op(struct cpu *c)
{
	unsigned long r = prandom_u64(&c->rng);
	unsigned int slot = (r >> 8) % SLOTS, op = r & 7;
	unsigned long va = slot_va(c, slot), val;
	struct probe_fault pf;

	if (op <= 1) {
		remap_slot(c, slot, (r >> 16) % c->nr_frames);
	} else if (op == 2) {
		unmap_slot(c, slot);
	} else if (c->slot_frame[slot] < 0) {
		bool write = op <= 4;

		if (write)
			expect_fault(c, probe_write(va + 8, 1, &pf), &pf, va + 8, PFERR_WRITE);
		else
			expect_fault(c, probe_read(va + 16, &val, &pf), &pf, va + 16, 0);
		c->faults++;
	} else if (op <= 4) {
		write_slot(c, slot);
	} else {
		check_slot(c, slot);
	}
}

/* Every shared slot against what the mapping says now. */
static void check_shared(struct cpu *c)
{
	for (unsigned int s = 0; s < SHARED_SLOTS; s++) {
		unsigned long va = SHARED_VA + s * PAGE_SIZE, val;
		int f = __atomic_load_n(&shared_map[s], __ATOMIC_RELAXED);
		struct probe_fault pf;

		if (f < 0) {
			expect_fault(c, probe_read(va + 8, &val, &pf), &pf, va + 8, 0);
			c->shared_faults++;
		} else {
			check(c, "a shared page", peek(va + 8), shared_word(f));
		}
		c->shared_checks++;
	}
}

/* vCPU 0: one edit of the shared table, then every vCPU's acknowledgement. */
static void shared_edit(struct cpu *c, unsigned int ncpus, unsigned long gen)
{
	unsigned long r = prandom_u64(&c->rng);
	unsigned int slot = (r >> 8) % SHARED_SLOTS, f = (r >> 16) % (SHARED_FRAMES + 4);

	if (f < SHARED_FRAMES)
		pte_write(shared_pte[slot], shared_frames[f] | PTE_P | PTE_NX);
	else
		pte_write(shared_pte[slot], 0);
	guest_invlpg(SHARED_VA + slot * PAGE_SIZE);
	__atomic_store_n(&shared_map[slot], f < SHARED_FRAMES ? (int)f : -1, __ATOMIC_RELAXED);
	__atomic_store_n(&shared_changed, slot, __ATOMIC_RELAXED);
	__atomic_store_n(&generation, gen, __ATOMIC_RELEASE);
	check_shared(c);
	for (unsigned int i = 1; i < ncpus; i++)
		while (__atomic_load_n(&ack[i], __ATOMIC_ACQUIRE) != gen)
			cpu_relax();
}

/* Another vCPU: a new generation drops the stale translation, is checked and acknowledged. */
static void shared_serve(struct cpu *c)
{
	unsigned long gen = __atomic_load_n(&generation, __ATOMIC_ACQUIRE);

	if (gen == c->seen)
		return;
	if (gen & 1)
		guest_invlpg(SHARED_VA +
			     __atomic_load_n(&shared_changed, __ATOMIC_RELAXED) * PAGE_SIZE);
	else
		guest_flush_tlb();
	check_shared(c);
	c->seen = gen;
	__atomic_store_n(&ack[c->id], gen, __ATOMIC_RELEASE);
}

/* vCPU 0: the tables, the frames, every slot's page table; the others wait for it. */
static void setup(struct cpu *c, unsigned int ncpus)
{
	unsigned long bad = ram_free_sweep(); /* so a pressure run takes pages */

	if (bad)
		fail(c, "free RAM read back at", bad, 0);
	cr3 = pgtable_new();
	if (!cr3 || identity_map_ram(cr3))
		fail(c, "the identity map: RAM left", 0, 0);
	for (unsigned long f = 0; f < FRAMES; f++) {
		private_frames[f] = alloc_frames(PAGE_SIZE, PAGE_SIZE);
		if (!private_frames[f])
			fail(c, "a frame: RAM left", f, FRAMES);
		poke(private_frames[f], frame_word(f, 0));
		poke(private_frames[f] + PAGE_SIZE - 8, ~frame_word(f, 0));
	}
	for (unsigned int f = 0; f < SHARED_FRAMES; f++) {
		shared_frames[f] = alloc_frame();
		if (!shared_frames[f])
			fail(c, "a frame: RAM left", f, SHARED_FRAMES);
		poke(shared_frames[f] + 8, shared_word(f));
	}
	for (unsigned int s = 0; s < SHARED_SLOTS; s++) {
		shared_pte[s] = pte_alloc(cr3, SHARED_VA + s * PAGE_SIZE);
		if (!shared_pte[s])
			fail(c, "a page table: RAM left", s, SHARED_SLOTS);
		shared_map[s] = -1;
	}
	for (unsigned int i = 0; i < ncpus; i++) {
		struct cpu *v = &cpus[i];

		v->id = i;
		v->rng = 0x9e3779b97f4a7c15UL * (i + 1);
		v->va = PRIVATE_VA(i);
		v->nr_frames = FRAMES / ncpus;
		v->frames = &private_frames[i * v->nr_frames];
		for (unsigned int s = 0; s < SLOTS; s++) {
			v->slot_pte[s] = pte_alloc(cr3, slot_va(v, s));
			if (!v->slot_pte[s])
				fail(c, "a page table: RAM left", s, SLOTS);
			v->slot_frame[s] = -1;
		}
	}
}

static void check_all_private(struct cpu *c)
{
	for (unsigned int s = 0; s < SLOTS; s++)
		if (c->slot_frame[s] >= 0)
			check_slot(c, s);
	for (unsigned long i = 0; i < c->nr_frames; i++) {
		unsigned long f = c->frames - private_frames + i;

		check(c, "a private frame through the identity map", peek(private_frames[f]),
		      frame_word(f, version[f]));
	}
}

static void run_editor(struct cpu *c, unsigned int ncpus)
{
	for (unsigned long gen = 1; gen <= GENERATIONS; gen++) {
		for (unsigned int i = 0; i < OPS_PER_GENERATION; i++)
			private_op(c);
		shared_edit(c, ncpus, gen);
	}
	__atomic_store_n(&edits_done, 1, __ATOMIC_RELEASE);
}

static void run_other(struct cpu *c)
{
	for (unsigned int op = 0; op < OPS; op++) {
		private_op(c);
		shared_serve(c);
	}
	while (!__atomic_load_n(&edits_done, __ATOMIC_ACQUIRE) || c->seen != GENERATIONS)
		shared_serve(c);
}

static void print_results(unsigned int ncpus)
{
	printf("ptedit: %u vCPUs on one address space, %u private frames, %u shared\n", ncpus,
	       FRAMES, SHARED_FRAMES);
	for (unsigned int i = 0; i < ncpus; i++) {
		struct cpu *c = &cpus[i];

		printf("ptedit: vCPU %u: %d ops: %lu remaps, %lu unmaps, %lu writes, %lu reads, "
		       "%lu #PF, ok\n",
		       i, OPS, c->remaps, c->unmaps, c->writes, c->reads, c->faults);
	}
	printf("ptedit: shootdown: %u generations, each acknowledged by %u vCPUs, "
	       "%lu checks, %lu #PF, ok\n",
	       GENERATIONS, ncpus, cpus[0].shared_checks, cpus[0].shared_faults);
	printf("ptedit: ok\n");
}

int guest_main(unsigned int cpu, unsigned int ncpus, unsigned long ram_size)
{
	struct cpu *c = &cpus[cpu];

	if (ncpus > MAX_CPUS)
		guest_check_failed("ptedit", cpu, "vCPUs", ncpus, MAX_CPUS);
	if (cpu == 0) {
		c->id = 0;
		setup(c, ncpus);
		__atomic_store_n(&setup_done, 1, __ATOMIC_RELEASE);
	}
	while (!__atomic_load_n(&setup_done, __ATOMIC_ACQUIRE))
		cpu_relax();
	check(c, "a #PF handler", guest_set_exception_handler(PF_VECTOR, on_page_fault), 0);
	load_own_cr3("ptedit", cr3);
	if (cpu == 0)
		run_editor(c, ncpus);
	else
		run_other(c);
	check_all_private(c);
	__atomic_add_fetch(&finished, 1, __ATOMIC_ACQ_REL);
	if (cpu != 0)
		return 0;
	while (__atomic_load_n(&finished, __ATOMIC_ACQUIRE) != ncpus)
		cpu_relax();
	for (unsigned int i = 1; i < ncpus; i++)
		check(&cpus[i], "shared checks", cpus[i].shared_checks, cpus[0].shared_checks);
	print_results(ncpus);
	return 0;
}
