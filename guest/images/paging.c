// SPDX-License-Identifier: GPL-2.0
/*
 * paging: every vCPU builds page tables of its own (runtime/paging.c),
 * with an identity map of RAM, loads them, and goes through the phases:
 *
 *  - aliases: one frame at three virtual addresses (one in the upper
 *    half): a write through each is read through the others and the
 *    identity map; a read sets A in a leaf and not D, a write sets D;
 *  - remap and unmap: a page remapped to another frame and INVLPGed reads
 *    the new frame; unmapped, a read and a write fault into the #PF
 *    handler with CR2 the address and error code 0 and W; read-only, a
 *    write faults with P and W;
 *  - no-execute: code called through a page runs; with NX the call
 *    faults with P and I/D at its first byte;
 *  - address spaces: a second PML4 sharing the identity tables maps the
 *    same virtual page to another frame; CR3 switches between the two;
 *  - a 2 MiB page over a 2 MiB chunk of RAM that every vCPU shares, each
 *    its own 4 KiB pieces, written through it and read through the
 *    identity map and back; then split into 4 KiB pages that each map
 *    a piece further on (one INVLPG), and joined again (a TLB flush);
 *  - copy-on-write: read-only pages whose first write faults, and the
 *    handler copies the frame, maps the copy writable, INVLPGs and returns
 *    to the write, which goes to the copy; the originals stay;
 *  - demand paging: a region with no tables at all, each first touch (a
 *    read of zero, or a write) mapped by the handler to a zeroed frame;
 *
 * then rounds that rewrite and check all of it, while the host under
 * pressure reclaims and migrates the data and table pages.  vCPU 0 waits
 * for all and prints the results, the same lines in every MMU mode.  The
 * first check that fails ends the guest, naming what.
 */
#include "guest.h"

#define MAX_CPUS 2
#define ALIAS_ROUNDS 16
#define SWITCHES 8
#define COW_PAGES 16
#define DEMAND_PAGES 192
#define ROUNDS 16
#define TLB_PIECES 32 /* fewer than a TLB holds (KVM_TLB_ENTRIES, 64, in the VMM) */

#define ALIAS0 0x0000100000000000UL
#define ALIAS1 0x0000200000003000UL
#define ALIAS2 0xffff900000005000UL /* the upper half */
#define REMAP_VA 0x0000300000000000UL
#define EXEC_VA 0x0000380000000000UL
#define SPACE_VA 0x0000400000000000UL
#define BIG_VA 0x0000500000000000UL
#define COW_VA 0x0000600000000000UL
#define DEMAND_VA 0x0000700000000000UL

struct cpu {
	unsigned int id;
	unsigned long cr3, cr3_b;
	unsigned long alias, space_a, space_b;
	unsigned long cow_orig[COW_PAGES];
	unsigned long cow_faults, demand_reads, demand_writes, fetch_faults;
	bool demand_write; /* what the touch that faults next does */
};

static struct cpu cpus[MAX_CPUS];
static unsigned long big_chunk;
static unsigned int setup_done, finished;

static unsigned long tag(struct cpu *c, unsigned long what)
{
	return ((unsigned long)c->id + 1) << 56 | what;
}

static struct cpu *cpu_of(unsigned long sp)
{
	return &cpus[(ram_end() - sp) / GUEST_STACK_SIZE];
}

/* The first failure ends the guest: a frame or mapping that is wrong could loop. */
static void fail(struct cpu *c, const char *what, unsigned long got, unsigned long want)
{
	guest_check_failed("paging", c->id, what, got, want);
}

static void check(struct cpu *c, const char *what, unsigned long got, unsigned long want)
{
	if (got != want)
		fail(c, what, got, want);
}

static unsigned long frame(struct cpu *c)
{
	unsigned long gpa = alloc_frame();

	if (!gpa)
		fail(c, "a frame: RAM left", 0, PAGE_SIZE);
	return gpa;
}

static void map(struct cpu *c, unsigned long cr3, unsigned long va, unsigned long gpa,
		unsigned long size, unsigned long flags)
{
	check(c, "map_page()", map_page(cr3, va, gpa, size, flags), 0);
}

static unsigned long leaf(struct cpu *c, unsigned long va, unsigned int want_level)
{
	unsigned int level = 0;
	unsigned long *pte = pte_lookup(c->cr3, va, &level);

	if (!pte)
		fail(c, "no leaf at", va, 0);
	check(c, "leaf level", level, want_level);
	return pte_read(pte);
}

static bool in_region(unsigned long va, unsigned long start, unsigned long pages)
{
	return va >= start && va < start + pages * PAGE_SIZE;
}

/* The write to a read-only page faulted: copy the frame, map the copy writable. */
static void cow_fault(struct cpu *c, struct exception_frame *f)
{
	unsigned long va = f->cr2 & ~(PAGE_SIZE - 1);
	unsigned long old = leaf(c, va, 1), copy = frame(c);

	check(c, "copy-on-write error code", f->error_code, PFERR_PRESENT | PFERR_WRITE);
	copy_frame(copy, old & PTE_ADDR_MASK);
	map(c, c->cr3, va, copy, PAGE_SIZE, PTE_W);
	/*
	 * The #PF dropped the faulting address's translation already, as the
	 * processor does; a kernel still flushes a present entry it changed,
	 * and so does this one.
	 */
	guest_invlpg(va);
	c->cow_faults++;
}

/* First touch of a page of the demand region: a zeroed frame, tables as needed. */
static void demand_fault(struct cpu *c, struct exception_frame *f)
{
	unsigned long va = f->cr2 & ~(PAGE_SIZE - 1);

	check(c, "demand error code", f->error_code, c->demand_write ? PFERR_WRITE : 0);
	map(c, c->cr3, va, frame(c), PAGE_SIZE, PTE_W);
	if (c->demand_write)
		c->demand_writes++;
	else
		c->demand_reads++;
}

/* A call into the no-execute page faulted at its first byte: return 7 to the caller. */
static void fetch_fault(struct cpu *c, struct exception_frame *f)
{
	check(c, "fetch error code", f->error_code, PFERR_PRESENT | PFERR_FETCH);
	check(c, "fetch rip", f->rip, EXEC_VA);
	f->rax = 7;
	f->rip = peek(f->rsp);
	f->rsp += 8;
	c->fetch_faults++;
}

static void on_page_fault(struct exception_frame *f)
{
	struct cpu *c = cpu_of(f->rsp);

	if (probe_fixup(f))
		return;
	if (f->cr2 == EXEC_VA)
		fetch_fault(c, f);
	else if (in_region(f->cr2, COW_VA, COW_PAGES))
		cow_fault(c, f);
	else if (in_region(f->cr2, DEMAND_VA, DEMAND_PAGES))
		demand_fault(c, f);
	else
		fail(c, "unexpected #PF at", f->cr2, f->rip);
}

static void expect_fault(struct cpu *c, long ret, struct probe_fault *pf, unsigned long va,
			 unsigned long error_code)
{
	check(c, "probe", ret, -GUEST_EFAULT);
	check(c, "#PF CR2", pf->cr2, va);
	check(c, "#PF error code", pf->error_code, error_code);
}

static void aliases(struct cpu *c)
{
	static const unsigned long view[] = { ALIAS0, ALIAS1, ALIAS2 };
	unsigned long gpa = c->alias = frame(c);

	for (int v = 0; v < 3; v++) {
		map(c, c->cr3, view[v], gpa, PAGE_SIZE, PTE_W | PTE_NX);
		check(c, "A/D of a new leaf", leaf(c, view[v], 1) & (PTE_A | PTE_D), 0);
	}
	for (int v = 0; v < 3; v++) {
		check(c, "a new frame", peek(view[v]), 0);
		check(c, "A/D after a read", leaf(c, view[v], 1) & (PTE_A | PTE_D), PTE_A);
	}
	for (unsigned long r = 0; r < ALIAS_ROUNDS; r++) {
		for (int v = 0; v < 3; v++) {
			unsigned long off = 8 * ((r * 37 + v * 131) % 512);
			unsigned long val = tag(c, r << 8 | v);

			poke(view[v] + off, val);
			for (int w = 0; w < 3; w++)
				check(c, "through an alias", peek(view[w] + off), val);
			check(c, "through the identity map", peek(gpa + off), val);
		}
	}
	for (int v = 0; v < 3; v++)
		check(c, "A/D after a write", leaf(c, view[v], 1) & (PTE_A | PTE_D), PTE_A | PTE_D);
}

static void remap_unmap(struct cpu *c)
{
	unsigned long one = frame(c), two = frame(c), val;
	struct probe_fault pf;

	fill_frame(one, tag(c, 1));
	fill_frame(two, tag(c, 2));
	map(c, c->cr3, REMAP_VA, one, PAGE_SIZE, PTE_W);
	check(c, "the first frame", peek(REMAP_VA + 8), tag(c, 1));
	map(c, c->cr3, REMAP_VA, two, PAGE_SIZE, PTE_W);
	guest_invlpg(REMAP_VA);
	check(c, "remapped", peek(REMAP_VA + 8), tag(c, 2));
	poke(REMAP_VA + 16, tag(c, 3));
	check(c, "a write after the remap", peek(two + 16), tag(c, 3));
	check(c, "the old frame", peek(one + 16), tag(c, 1));

	check(c, "unmap_page()", unmap_page(c->cr3, REMAP_VA), 0);
	guest_invlpg(REMAP_VA);
	expect_fault(c, probe_read(REMAP_VA + 24, &val, &pf), &pf, REMAP_VA + 24, 0);
	expect_fault(c, probe_write(REMAP_VA + 32, 5, &pf), &pf, REMAP_VA + 32, PFERR_WRITE);

	map(c, c->cr3, REMAP_VA, one, PAGE_SIZE, 0);
	guest_invlpg(REMAP_VA);
	check(c, "probe of a read-only page", probe_read(REMAP_VA + 40, &val, &pf), 0);
	check(c, "read-only", val, tag(c, 1));
	expect_fault(c, probe_write(REMAP_VA + 48, 6, &pf), &pf, REMAP_VA + 48,
		     PFERR_PRESENT | PFERR_WRITE);
	check(c, "a refused write", peek(one + 48), tag(c, 1));
}

/*
 * A page of code, `mov $42, %eax; ret`, written through the identity map
 * and called at EXEC_VA; mapped again with NX, the call faults on the
 * fetch, and the handler returns for it.
 */
static void no_execute(struct cpu *c)
{
	static const unsigned char code[] = { 0xb8, 42, 0, 0, 0, 0xc3 };
	unsigned long (*call)(void) = (unsigned long (*)(void))EXEC_VA;
	unsigned long gpa = frame(c);
	volatile unsigned char *p = (unsigned char *)gpa;

	for (unsigned int i = 0; i < sizeof(code); i++)
		p[i] = code[i];
	map(c, c->cr3, EXEC_VA, gpa, PAGE_SIZE, 0);
	check(c, "a call into an executable page", call(), 42);
	map(c, c->cr3, EXEC_VA, gpa, PAGE_SIZE, PTE_NX);
	guest_invlpg(EXEC_VA);
	check(c, "a call into a no-execute page", call(), 7);
	check(c, "fetch faults", c->fetch_faults, 1);
}

static void load_cr3(struct cpu *c, unsigned long cr3)
{
	check(c, "HC_LOAD_CR3", guest_load_cr3(cr3), 0);
}

static void address_spaces(struct cpu *c)
{
	unsigned long *b;

	c->space_a = frame(c);
	c->space_b = frame(c);
	c->cr3_b = pgtable_new();
	if (!c->cr3_b)
		fail(c, "a PML4: RAM left", 0, PAGE_SIZE);
	/* All of RAM is under PML4 entry 0: B shares the identity tables with A. */
	b = (unsigned long *)c->cr3_b;
	pte_write(&b[0], pte_read((unsigned long *)c->cr3));
	map(c, c->cr3, SPACE_VA, c->space_a, PAGE_SIZE, PTE_W);
	map(c, c->cr3_b, SPACE_VA, c->space_b, PAGE_SIZE, PTE_W);
	for (unsigned long i = 0; i < SWITCHES; i++) {
		poke(SPACE_VA, tag(c, 0xa0 + i));
		load_cr3(c, c->cr3_b);
		check(c, "B after a switch", peek(SPACE_VA), i ? tag(c, 0xb0 + i - 1) : 0);
		poke(SPACE_VA, tag(c, 0xb0 + i));
		load_cr3(c, c->cr3);
		check(c, "A after a switch", peek(SPACE_VA), tag(c, 0xa0 + i));
	}
	check(c, "A's frame", peek(c->space_a), tag(c, 0xa0 + SWITCHES - 1));
	check(c, "B's frame", peek(c->space_b), tag(c, 0xb0 + SWITCHES - 1));
}

/* vCPU @c's 4 KiB pieces of the shared 2 MiB page: every ncpus-th from its index. */
static void big_page(struct cpu *c, unsigned int ncpus, unsigned long round)
{
	for (unsigned long off = c->id * PAGE_SIZE; off < PAGE_SIZE_2M; off += ncpus * PAGE_SIZE) {
		unsigned long word = off + 8 * ((off / PAGE_SIZE) % 511);
		unsigned long val = tag(c, round << 32 | off);

		poke(BIG_VA + word, val);
		check(c, "the 2 MiB page through the identity map", peek(big_chunk + word), val);
		poke(big_chunk + off + PAGE_SIZE - 8, ~val);
		check(c, "the identity map through the 2 MiB page",
		      peek(BIG_VA + off + PAGE_SIZE - 8), ~val);
	}
}

/*
 * The 2 MiB page split: its PDE now points to a page table of 4 KiB
 * pages, each ncpus pieces further on (this vCPU's pieces map its own).
 * One INVLPG must drop every 4 KiB piece the TLB holds of the 2 MiB
 * page: the first TLB_PIECES pieces are read just before the split, so
 * the TLB has them, and first after it.  Joined back into the 2 MiB leaf,
 * the TLB's 4 KiB entries are 512 pages of their own, which one INVLPG
 * would not drop, as on the processor: a TLB flush does.
 */
static void split_check(struct cpu *c, unsigned int ncpus, unsigned long shift, unsigned long end)
{
	for (unsigned long off = c->id * PAGE_SIZE; off < end; off += ncpus * PAGE_SIZE)
		check(c, "a piece of the 2 MiB page", peek(BIG_VA + off + 16),
		      tag(c, 0xf00000 | (off + shift) % PAGE_SIZE_2M));
}

static void split_big_page(struct cpu *c, unsigned int ncpus)
{
	unsigned long pt = frame(c), pde = leaf(c, BIG_VA, 2), shift = ncpus * PAGE_SIZE;
	unsigned int level;
	unsigned long *pdep = pte_lookup(c->cr3, BIG_VA, &level);

	for (unsigned long i = 0; i < 512; i++)
		poke(pt + 8 * i,
		     (big_chunk + (i * PAGE_SIZE + shift) % PAGE_SIZE_2M) | PTE_P | PTE_W);
	for (unsigned long off = c->id * PAGE_SIZE; off < PAGE_SIZE_2M; off += ncpus * PAGE_SIZE)
		poke(big_chunk + off + 16, tag(c, 0xf00000 | off));
	split_check(c, ncpus, 0, PAGE_SIZE_2M);
	split_check(c, ncpus, 0, TLB_PIECES * PAGE_SIZE);
	pte_write(pdep, pt | PTE_P | PTE_W | PTE_U);
	guest_invlpg(BIG_VA);
	split_check(c, ncpus, shift, PAGE_SIZE_2M);
	split_check(c, ncpus, shift, TLB_PIECES * PAGE_SIZE);
	check(c, "a leaf of the split page", leaf(c, BIG_VA + c->id * PAGE_SIZE, 1) & PTE_ADDR_MASK,
	      big_chunk + c->id * PAGE_SIZE + shift);
	/* Joined, the other 4 KiB translations are not the page's of BIG_VA: flush them all. */
	pte_write(pdep, pde);
	guest_flush_tlb();
	split_check(c, ncpus, 0, PAGE_SIZE_2M);
}

static void copy_on_write(struct cpu *c)
{
	for (unsigned long i = 0; i < COW_PAGES; i++) {
		c->cow_orig[i] = frame(c);
		fill_frame(c->cow_orig[i], tag(c, 0xc00 + i));
		map(c, c->cr3, COW_VA + i * PAGE_SIZE, c->cow_orig[i], PAGE_SIZE, 0);
		check(c, "a read-only page", peek(COW_VA + i * PAGE_SIZE + 8), tag(c, 0xc00 + i));
	}
	for (unsigned long i = 0; i < COW_PAGES; i++) {
		poke(COW_VA + i * PAGE_SIZE + 16, tag(c, 0xd00 + i));
		check(c, "copy-on-write faults", c->cow_faults, i + 1);
	}
	for (unsigned long i = 0; i < COW_PAGES; i++) {
		unsigned long va = COW_VA + i * PAGE_SIZE, pte = leaf(c, va, 1);

		check(c, "the written copy", peek(va + 16), tag(c, 0xd00 + i));
		check(c, "the rest of the copy", peek(va + 24), tag(c, 0xc00 + i));
		check(c, "the original", peek(c->cow_orig[i] + 16), tag(c, 0xc00 + i));
		if ((pte & PTE_ADDR_MASK) == c->cow_orig[i])
			fail(c, "the copy's frame is the original", pte, 0);
		check(c, "the copy's leaf", pte & (PTE_W | PTE_D), PTE_W | PTE_D);
	}
}

static void demand_paging(struct cpu *c)
{
	for (unsigned long i = 0; i < DEMAND_PAGES; i++) {
		unsigned long va = DEMAND_VA + i * PAGE_SIZE;

		c->demand_write = i & 1;
		if (c->demand_write)
			poke(va + 8, tag(c, 0xe00 + i));
		else
			check(c, "a demand-paged frame", peek(va + 8), 0);
		check(c, "demand faults", c->demand_reads + c->demand_writes, i + 1);
	}
}

static void demand_round(struct cpu *c, unsigned long round)
{
	for (unsigned long i = 0; i < DEMAND_PAGES; i++) {
		unsigned long va = DEMAND_VA + i * PAGE_SIZE;
		unsigned long val = tag(c, round << 32 | i);

		poke(va + 8 * (i % 512), val);
		check(c, "a demand-paged page", peek(va + 8 * (i % 512)), val);
	}
	check(c, "demand faults after the first touch", c->demand_reads + c->demand_writes,
	      DEMAND_PAGES);
}

/* Everything again, rewritten: the host may have reclaimed or moved any of it. */
static void round_trip(struct cpu *c, unsigned int ncpus, unsigned long round)
{
	for (unsigned long i = 0; i < 3; i++)
		poke(c->alias + 8 * i, tag(c, round << 8 | i));
	check(c, "an alias", peek(ALIAS0 + 8), tag(c, round << 8 | 1));
	check(c, "an alias", peek(ALIAS2 + 16), tag(c, round << 8 | 2));
	big_page(c, ncpus, round);
	for (unsigned long i = 0; i < COW_PAGES; i++) {
		check(c, "the copy", peek(COW_VA + i * PAGE_SIZE + 16), tag(c, 0xd00 + i));
		check(c, "the original", peek(c->cow_orig[i] + 16), tag(c, 0xc00 + i));
	}
	demand_round(c, round);
	load_cr3(c, c->cr3_b);
	check(c, "B's page", peek(SPACE_VA), tag(c, 0xb0 + SWITCHES - 1));
	load_cr3(c, c->cr3);
	check(c, "A's page", peek(SPACE_VA), tag(c, 0xa0 + SWITCHES - 1));
}

static void setup(struct cpu *c)
{
	c->cr3 = pgtable_new();
	if (!c->cr3)
		fail(c, "a PML4: RAM left", 0, PAGE_SIZE);
	check(c, "identity_map_ram()", identity_map_ram(c->cr3), 0);
	check(c, "a #PF handler", guest_set_exception_handler(PF_VECTOR, on_page_fault), 0);
	load_own_cr3("paging", c->cr3);
}

static void print_results(unsigned int ncpus)
{
	printf("paging: %u vCPUs, each on tables of its own with RAM identity-mapped\n", ncpus);
	printf("paging: aliases: 3 virtual pages over one frame, %u writes each read 4 ways, "
	       "A on read, D on write, ok\n",
	       3 * ALIAS_ROUNDS);
	printf("paging: remap with INVLPG ok; #PF unmapped read 0x0, write 0x%lx, "
	       "read-only write 0x%lx, ok\n",
	       PFERR_WRITE, PFERR_PRESENT | PFERR_WRITE);
	printf("paging: no-execute: a call faults with error code 0x%lx, ok\n",
	       PFERR_PRESENT | PFERR_FETCH);
	printf("paging: address spaces: one virtual page in 2 PML4s, %u CR3 switches, ok\n",
	       2 * SWITCHES);
	printf("paging: 2 MiB page: 512 pieces through it and the identity map, ok\n");
	printf("paging: 2 MiB page split into 4 KiB pages with one INVLPG, joined with a TLB "
	       "flush, ok\n");
	printf("paging: copy-on-write: %u #PF copies, originals intact, ok\n", COW_PAGES);
	for (unsigned int i = 0; i < ncpus; i++)
		printf("paging: demand paging: vCPU %u: %lu read faults, %lu write faults, ok\n", i,
		       cpus[i].demand_reads, cpus[i].demand_writes);
	printf("paging: %u rounds rewritten and checked, ok\n", ROUNDS);
	printf("paging: ok\n");
}

int guest_main(unsigned int cpu, unsigned int ncpus, unsigned long ram_size)
{
	struct cpu *c = &cpus[cpu];

	if (ncpus > MAX_CPUS)
		guest_check_failed("paging", cpu, "vCPUs", ncpus, MAX_CPUS);
	c->id = cpu;
	/* The shared 2 MiB chunk first, before the tables take the RAM it is aligned in. */
	if (cpu == 0) {
		unsigned long bad = ram_free_sweep(); /* so a pressure run takes pages */

		if (bad)
			fail(c, "free RAM read back at", bad, 0);
		big_chunk = alloc_frames(PAGE_SIZE_2M, PAGE_SIZE_2M);
		if (!big_chunk)
			fail(c, "a 2 MiB chunk: RAM left", 0, PAGE_SIZE_2M);
		__atomic_store_n(&setup_done, 1, __ATOMIC_RELEASE);
	}
	while (!__atomic_load_n(&setup_done, __ATOMIC_ACQUIRE))
		cpu_relax();
	setup(c);
	aliases(c);
	remap_unmap(c);
	no_execute(c);
	address_spaces(c);
	map(c, c->cr3, BIG_VA, big_chunk, PAGE_SIZE_2M, PTE_W);
	big_page(c, ncpus, 0);
	check(c, "A/D of the 2 MiB leaf", leaf(c, BIG_VA, 2) & (PTE_A | PTE_D), PTE_A | PTE_D);
	split_big_page(c, ncpus);
	copy_on_write(c);
	demand_paging(c);
	for (unsigned long r = 1; r <= ROUNDS; r++)
		round_trip(c, ncpus, r);
	__atomic_add_fetch(&finished, 1, __ATOMIC_ACQ_REL);
	if (cpu != 0)
		return 0;
	while (__atomic_load_n(&finished, __ATOMIC_ACQUIRE) != ncpus)
		cpu_relax();
	print_results(ncpus);
	return 0;
}
