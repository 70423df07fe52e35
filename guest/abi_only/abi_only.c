// SPDX-License-Identifier: GPL-2.0
/*
 * abi_only: a guest written against the documented ABI alone
 * (docs/design.md, "The guest ABI" and "Guest paging"; guest/abi.h), with
 * none of guest/runtime: its own entry (start.S), console, exit and
 * hypercalls, and its own 4-level page tables in its RAM.
 *
 * Address space A maps all of RAM at its own address (what the guest runs
 * from: code, data, its tables, the stack), and beside it:
 *  - NR_ALIASED pages, each at three virtual addresses in three PML4
 *    slots (one in the upper canonical half): written through one,
 *    checked through the other two;
 *  - VA_SPLIT, which maps one page in A and another in address space B
 *    (a second PML4 sharing every other table of A), switched with
 *    HC_LOAD_CR3;
 *  - VA_REMAP, flipped between two pages by a PTE store and HC_INVLPG;
 *  - NR_TALIAS table slots: VA_X(k) maps one of two pages through page
 *    table T(k), and VA_TALIAS(k) maps T(k) itself.  Each round flips
 *    VA_X(k) by a store through VA_TALIAS(k), reloads CR3 and checks the
 *    new page is used: a table write the VMM did not see (a shadow MMU
 *    that lost the table's write protection) fails here.
 *
 * Each vCPU builds its own A and B in its own slice of the free RAM.
 * Each round writes every work page (RAM larger than the host's pool, so
 * the host reclaims and migrates data and table pages under the guest) and
 * checks the round before, and between pages keeps re-reading the aliases
 * and VA_SPLIT, so a translation the host left stale is read and caught.
 * Every check prints what broke and ends the run with status 1; a good
 * run prints the same lines on every backend and MMU mode.
 */
#include "abi.h"

#define PAGE_SIZE 4096UL
#define PTE_P 0x1UL
#define PTE_W 0x2UL
#define PTE_A 0x20UL
#define PTE_D 0x40UL
#define PTE_ADDR 0x000ffffffffff000UL

#define NR_ROUNDS 16
#define NR_ALIASED 16
#define NR_TALIAS 8
#define WORDS_PER_PAGE 8 /* checked words per work page, spread over the page */
#define CHECK_EVERY 32	 /* work pages between two alias checks */

/* One PML4 slot each, so each has tables of its own. */
#define VA_ALIAS0 0x0000100000000000UL			/* + i pages */
#define VA_ALIAS1 0x00007f0000000000UL			/* + i * (2 MiB + 1 page): a PT each */
#define VA_ALIAS2 0xffff800000000000UL			/* upper half, + i pages */
#define VA_SPLIT 0x0000200000000000UL			/* A and B differ here */
#define VA_REMAP 0x0000300000000000UL			/* remapped with HC_INVLPG */
#define VA_X(k) (0x0000400000000000UL + (k)*0x200000UL) /* one PT each */
#define VA_TALIAS(k) (0x0000500000000000UL + (k)*PAGE_SIZE)

typedef unsigned long u64;

extern char image_end[]; /* abi_only.ld */

/* A vCPU's own: its slice of RAM, its tables and pages, where it is. */
struct abi_cpu {
	unsigned int cpu, round;
	u64 next_free, work_start, work_end;
	u64 cr3_a, cr3_b;
	u64 aliased[NR_ALIASED];
	u64 split_page[2], remap_page[2], x_page[NR_TALIAS][2];
	u64 talias_pte[NR_TALIAS]; /* the offset of VA_X(k)'s PTE in T(k) */
	unsigned int remap_cur, x_cur;
};

#define MAX_CPUS 64
static struct abi_cpu cpus[MAX_CPUS];
static unsigned int arrived; /* barrier(): vCPUs done */

/* ---- ports ---- */

static void outb(unsigned short port, unsigned char v)
{
	asm volatile("outb %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static long hypercall(u64 nr, u64 a0, u64 a1, u64 a2)
{
	long ret;

	asm volatile("outl %%eax, %%dx"
		     : "=a"(ret)
		     : "a"(nr), "d"(PORT_HYPERCALL), "D"(a0), "S"(a1), "c"(a2)
		     : "memory");
	return ret;
}

static void put_str(const char *s)
{
	while (*s)
		outb(PORT_CONSOLE, *s++);
}

static void put_num(u64 v, unsigned int base)
{
	char buf[24];
	int n = 0;

	do {
		buf[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (base == 16)
		put_str("0x");
	while (n)
		outb(PORT_CONSOLE, buf[--n]);
}

static void put_dec(u64 v)
{
	put_num(v, 10);
}

static void put_hex(u64 v)
{
	put_num(v, 16);
}

/* ---- checks ---- */

/* Says what broke, where, and ends the run: nothing after a wrong read can be trusted. */
static void fail(struct abi_cpu *c, const char *what, u64 va, u64 got, u64 want, const char *why)
{
	put_str("abi: FAIL: vCPU ");
	put_dec(c->cpu);
	put_str(", round ");
	put_dec(c->round);
	put_str(": ");
	put_str(what);
	put_str(" at ");
	put_hex(va);
	put_str(" reads ");
	put_hex(got);
	put_str(", expected ");
	put_hex(want);
	put_str(" (");
	put_str(why);
	put_str(")\n");
	asm volatile("outl %%eax, %%dx" : : "a"(1), "d"(PORT_EXIT) : "memory");
	for (;;)
		asm volatile("hlt");
}

static u64 read64(u64 va)
{
	return *(volatile u64 *)va;
}

static void write64(u64 va, u64 v)
{
	*(volatile u64 *)va = v;
}

static void expect(struct abi_cpu *c, const char *what, u64 va, u64 want, const char *why)
{
	u64 got = read64(va);

	if (got != want)
		fail(c, what, va, got, want, why);
}

/* What a page's first word says: which page it is (the aliases write over it). */
static u64 tag_of(u64 gpa)
{
	return gpa ^ 0x7a6700000000abcdUL;
}

/* A work page's word @w in round @r: every round writes every page anew. */
static u64 word_of(u64 page, unsigned int w, unsigned int r)
{
	u64 x = page ^ ((u64)w << 52) ^ ((u64)r << 56) ^ 0x2545f4914f6cdd1dUL;

	x ^= x >> 31;
	x *= 0x9e3779b97f4a7c15UL;
	return x ^ (x >> 29);
}

/* Wait for every vCPU to arrive here (once: a spinning soft vCPU takes a host CPU). */
static void barrier(unsigned int ncpus)
{
	__atomic_add_fetch(&arrived, 1, __ATOMIC_ACQ_REL);
	while (__atomic_load_n(&arrived, __ATOMIC_ACQUIRE) < ncpus)
		asm volatile("pause");
}

/* ---- page tables, built while the VMM's identity tables run us (VA = GPA) ---- */

static u64 alloc_page(struct abi_cpu *c)
{
	u64 page = c->next_free;

	c->next_free += PAGE_SIZE;
	for (unsigned int i = 0; i < PAGE_SIZE / 8; i++)
		write64(page + 8 * i, 0);
	return page;
}

static unsigned int index_of(u64 va, int level)
{
	return (va >> (12 + 9 * (level - 1))) & 511;
}

/* The PTE that maps @va under @pml4 (a GPA, reached at its own address), tables made as needed. */
static u64 pte_of(struct abi_cpu *c, u64 pml4, u64 va)
{
	u64 table = pml4;

	for (int level = 4; level > 1; level--) {
		u64 entry = table + 8 * index_of(va, level);

		if (!(read64(entry) & PTE_P))
			write64(entry, alloc_page(c) | PTE_P | PTE_W);
		table = read64(entry) & PTE_ADDR;
	}
	return table + 8 * index_of(va, 1);
}

static void map(struct abi_cpu *c, u64 pml4, u64 va, u64 gpa)
{
	write64(pte_of(c, pml4, va), gpa | PTE_P | PTE_W);
}

static u64 alias_va(unsigned int i, unsigned int j)
{
	if (j == 0)
		return VA_ALIAS0 + i * PAGE_SIZE;
	if (j == 1)
		return VA_ALIAS1 + i * (0x200000UL + PAGE_SIZE);
	return VA_ALIAS2 + i * PAGE_SIZE;
}

static u64 data_page(struct abi_cpu *c)
{
	u64 page = alloc_page(c);

	write64(page, tag_of(page));
	return page;
}

/* Each vCPU builds its own two address spaces, from its own slice of RAM. */
static void build_tables(struct abi_cpu *c, u64 ram_base, u64 ram_end)
{
	c->cr3_a = alloc_page(c);
	c->cr3_b = alloc_page(c);
	for (unsigned int i = 0; i < NR_ALIASED; i++)
		c->aliased[i] = data_page(c);
	for (unsigned int i = 0; i < 2; i++) {
		c->split_page[i] = data_page(c);
		c->remap_page[i] = data_page(c);
		for (unsigned int k = 0; k < NR_TALIAS; k++)
			c->x_page[k][i] = data_page(c);
	}

	for (unsigned int i = 0; i < NR_ALIASED; i++)
		for (unsigned int j = 0; j < 3; j++)
			map(c, c->cr3_a, alias_va(i, j), c->aliased[i]);
	map(c, c->cr3_a, VA_SPLIT, c->split_page[0]);
	map(c, c->cr3_a, VA_REMAP, c->remap_page[0]);
	for (unsigned int k = 0; k < NR_TALIAS; k++) {
		u64 pte = pte_of(c, c->cr3_a, VA_X(k));

		write64(pte, c->x_page[k][0] | PTE_P | PTE_W);
		c->talias_pte[k] = pte & ~PTE_ADDR;
		/*
		 * Dirty already: the first write through a clean PTE faults
		 * again to set D, and that fault would come after T(k) is
		 * shadowed.
		 */
		write64(pte_of(c, c->cr3_a, VA_TALIAS(k)),
			(pte & PTE_ADDR) | PTE_P | PTE_W | PTE_A | PTE_D);
	}
	/* B: A's PML4 but for VA_SPLIT's slot, which gets tables of its own. */
	for (unsigned int i = 0; i < 512; i++)
		if (i != index_of(VA_SPLIT, 4))
			write64(c->cr3_b + 8 * i, read64(c->cr3_a + 8 * i));
	map(c, c->cr3_b, VA_SPLIT, c->split_page[1]);

	/* Last, the identity map: every table page is allocated by now. */
	for (u64 gpa = ram_base; gpa < ram_end; gpa += PAGE_SIZE) {
		map(c, c->cr3_a, gpa, gpa);
		/* A new PML4 slot of A after B's copy would be missing from B. */
		if (gpa == ram_base)
			write64(c->cr3_b + 8 * index_of(gpa, 4),
				read64(c->cr3_a + 8 * index_of(gpa, 4)));
	}
}

/* ---- the checks of a round ---- */

static void load_cr3(struct abi_cpu *c, u64 cr3)
{
	long ret = hypercall(HC_LOAD_CR3, cr3, 0, 0);

	if (ret)
		fail(c, "HC_LOAD_CR3", cr3, ret, 0, "the VMM refused the guest's page tables");
}

static void check_aliases(struct abi_cpu *c, unsigned int i, unsigned int r)
{
	u64 v = tag_of(c->aliased[i]) + r, writer = alias_va(i, r % 3);

	write64(writer + 8 * (r % 7 + 1), v);
	for (unsigned int j = 0; j < 3; j++)
		expect(c, "alias", alias_va(i, j) + 8 * (r % 7 + 1), v,
		       "one page at three virtual addresses reads differently");
	expect(c, "alias tag", alias_va(i, (r + 1) % 3), tag_of(c->aliased[i]),
	       "the alias maps another page");
}

static void check_split(struct abi_cpu *c, unsigned int as)
{
	expect(c, "address space", VA_SPLIT, tag_of(c->split_page[as]),
	       "VA_SPLIT does not map this CR3's page");
}

static void remap_with_invlpg(struct abi_cpu *c)
{
	u64 pte = pte_of(c, c->cr3_a, VA_REMAP);

	c->remap_cur ^= 1;
	write64(pte, c->remap_page[c->remap_cur] | PTE_P | PTE_W);
	hypercall(HC_INVLPG, VA_REMAP, 0, 0);
	expect(c, "remap", VA_REMAP, tag_of(c->remap_page[c->remap_cur]),
	       "a remapped page still reads the old page after HC_INVLPG");
}

/*
 * Flip every VA_X(k) by storing its PTE through VA_TALIAS(k), an alias of
 * the page table itself, then reload CR3, as the architecture asks for a
 * changed PTE to be used, and check the new page is.  VA_TALIAS(k) is read
 * before VA_X(k) is first used, so its translation exists before T(k) is
 * a table the VMM shadows (and write-protects); in later rounds the host
 * may have taken T(k) away and brought it back, and the write protection
 * must have come back with it.
 */
static void remap_through_table_alias(struct abi_cpu *c)
{
	for (unsigned int k = 0; k < NR_TALIAS; k++) {
		u64 at = VA_TALIAS(k) + c->talias_pte[k], pte = read64(at);

		if ((pte & PTE_ADDR) != c->x_page[k][c->x_cur])
			fail(c, "PTE read through its table's alias", at, pte,
			     c->x_page[k][c->x_cur] | PTE_P | PTE_W, "the alias maps another page");
		expect(c, "table slot", VA_X(k), tag_of(c->x_page[k][c->x_cur]),
		       "VA_X maps another page than its PTE says");
	}
	c->x_cur ^= 1;
	for (unsigned int k = 0; k < NR_TALIAS; k++)
		write64(VA_TALIAS(k) + c->talias_pte[k], c->x_page[k][c->x_cur] | PTE_P | PTE_W);
	load_cr3(c, c->cr3_a);
	for (unsigned int k = 0; k < NR_TALIAS; k++)
		expect(c, "table slot after a PTE write through its table's alias", VA_X(k),
		       tag_of(c->x_page[k][c->x_cur]),
		       "the guest page-table write went unseen: its table was not write-protected");
}

/* One pass over the work pages: check round @r - 1's words, write round @r's. */
static void work_round(struct abi_cpu *c, unsigned int r, unsigned int as)
{
	unsigned int n = 0;

	for (u64 page = c->work_start; page < c->work_end; page += PAGE_SIZE, n++) {
		for (unsigned int w = 0; w < WORDS_PER_PAGE; w++) {
			u64 va = page + w * (PAGE_SIZE / WORDS_PER_PAGE) + 8 * (n % 64);

			if (r)
				expect(c, "work page", va, word_of(page, w, r - 1),
				       "guest memory lost a write");
			write64(va, word_of(page, w, r));
		}
		if (n % CHECK_EVERY == 0) {
			check_aliases(c, (n / CHECK_EVERY) % NR_ALIASED, r + n);
			check_split(c, as);
		}
	}
}

static void print_start(u64 ncpus, u64 ram_size)
{
	put_str("abi: ");
	put_dec(ncpus);
	put_str(" vCPUs, ");
	put_dec(ram_size >> 20);
	put_str(" MiB of RAM; each: ");
	put_dec(NR_ALIASED);
	put_str(" pages at 3 addresses, 2 address spaces, ");
	put_dec(NR_TALIAS);
	put_str(" table aliases\n");
}

/*
 * Every vCPU runs the rounds on tables of its own over its slice of the
 * free RAM.  Only vCPU 0 prints, its rounds and, once every vCPU is done,
 * "abi: ok", so the lines are the same whatever the interleaving; a vCPU
 * whose check fails prints its own line and ends the VM.
 */
int abi_main(u64 cpu, u64 ncpus, u64 ram_size)
{
	u64 ram_base = GUEST_RAM_BASE, ram_end = ram_base + ram_size;
	u64 free = (u64)image_end, free_end = ram_end - ncpus * GUEST_STACK_SIZE;
	u64 slice = (free_end - free) / ncpus & ~(PAGE_SIZE - 1);
	struct abi_cpu *c = &cpus[cpu];

	if (ncpus > MAX_CPUS)
		return 2;
	c->cpu = cpu;
	c->next_free = free + cpu * slice;
	c->work_end = c->next_free + slice;
	build_tables(c, ram_base, ram_end);
	c->work_start = c->next_free;
	if (!cpu)
		print_start(ncpus, ram_size);

	load_cr3(c, c->cr3_a);
	for (c->round = 0; c->round < NR_ROUNDS; c->round++) {
		unsigned int as = c->round & 1;

		load_cr3(c, as ? c->cr3_b : c->cr3_a);
		check_split(c, as);
		work_round(c, c->round, as);
		load_cr3(c, c->cr3_a);
		check_split(c, 0);
		remap_with_invlpg(c);
		remap_through_table_alias(c);
		if (!cpu) {
			put_str("abi: round ");
			put_dec(c->round);
			put_str(" ok\n");
		}
	}
	/* Back on the VMM's tables, every work page once more through the identity map. */
	load_cr3(c, GUEST_CR3_IDENTITY);
	for (u64 page = c->work_start; page < c->work_end; page += PAGE_SIZE)
		expect(c, "work page on the identity CR3",
		       page + 8 * ((page - c->work_start) / PAGE_SIZE % 64),
		       word_of(page, 0, NR_ROUNDS - 1), "guest memory lost a write");
	barrier(ncpus);
	if (cpu)
		for (;;)
			asm volatile("hlt");
	put_str("abi: ok\n");
	return 0;
}
