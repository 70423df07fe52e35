// SPDX-License-Identifier: GPL-2.0
/*
 * The guest page-table walker against hand-built tables in a plain buffer
 * of "guest-physical" pages: each bit of an entry at each level, reserved
 * bits, 2 MiB and 1 GiB pages, non-canonical addresses, the error code,
 * and the A/D rules (a read sets A only, a write D in the leaf only, a
 * faulting walk nothing, a lost cmpxchg walks again).
 */
#include <errno.h>
#include <string.h>

#include "mmu/paging_walk.h"
#include "tests/lib/test_util.h"

#define MEM_PAGES 16
#define MEM_BASE 0x200000UL /* the buffer's first guest-physical address */
#define TABLE_BITS (PT_PRESENT_MASK | PT_WRITABLE_MASK | PT_USER_MASK)
#define LEAF_BITS TABLE_BITS

/* Pages of the buffer: the four tables of the test address, then data. */
enum { PML4, PDPT, PD, PT, DATA };

static struct {
	uint64_t page[MEM_PAGES][PT64_ENT_PER_PAGE];
	int reads, cmpxchgs;
	int read_level[16], cmpxchg_level[16]; /* the level each accessor call named */
	/* Before the cmpxchg numbered race_at (1: the first), store race_value there. */
	int race_at;
	uint64_t race_value;
	gpa_t eagain_gpa; /* read_pte of this address answers -EAGAIN */
} mem __attribute__((aligned(4096)));

static gpa_t page_gpa(int n)
{
	return MEM_BASE + n * PAGE_SIZE;
}

static uint64_t *mem_ptr(gpa_t gpa)
{
	if (gpa < MEM_BASE || gpa + 8 > MEM_BASE + sizeof(mem.page))
		return NULL;
	return (uint64_t *)((char *)mem.page + (gpa - MEM_BASE));
}

static int buf_read_pte(void *ctx, gpa_t gpa, int level, uint64_t *pte)
{
	uint64_t *p = mem_ptr(gpa);

	mem.read_level[mem.reads++ % 16] = level;
	if (gpa == mem.eagain_gpa)
		return -EAGAIN;
	if (!p)
		return -EFAULT;
	*pte = READ_ONCE(*p);
	return 0;
}

static int buf_cmpxchg_pte(void *ctx, gpa_t gpa, int level, uint64_t *old, uint64_t new)
{
	uint64_t *p = mem_ptr(gpa);

	if (!p)
		return -EFAULT;
	mem.cmpxchg_level[mem.cmpxchgs % 16] = level;
	if (++mem.cmpxchgs == mem.race_at)
		WRITE_ONCE(*p, mem.race_value);
	return try_cmpxchg(p, old, new) ? 1 : 0;
}

static const struct guest_walk_ops buf_ops = {
	.read_pte = buf_read_pte,
	.cmpxchg_pte = buf_cmpxchg_pte,
};

static const struct guest_paging paging = {
	.cr3 = MEM_BASE, /* page PML4 */
	.nxe = true,
	.maxphyaddr = GUEST_MAXPHYADDR,
};

/* A canonical lower-half address with a distinct index at every level. */
#define I4 0x024
#define I3 0x1d1
#define I2 0x0b3
#define I1 0x189
#define VA_OF(i4, i3, i2, i1)                                                                      \
	(((gva_t)(i4) << 39) | ((gva_t)(i3) << 30) | ((i2) << 21) | ((i1) << 12))
#define TEST_VA (VA_OF(I4, I3, I2, I1) + 0x567)

/* The entry of TEST_VA at @level. */
static uint64_t *ent(int level)
{
	static const int table[] = { [4] = PML4, [3] = PDPT, [2] = PD, [1] = PT };
	static const int index[] = { [4] = I4, [3] = I3, [2] = I2, [1] = I1 };

	return &mem.page[table[level]][index[level]];
}

/* TEST_VA -> page DATA through four tables, every entry P, W, U, A and D clear. */
static void build_4k(void)
{
	memset(&mem, 0, sizeof(mem));
	mem.eagain_gpa = INVALID_GPA;
	*ent(4) = page_gpa(PDPT) | TABLE_BITS;
	*ent(3) = page_gpa(PD) | TABLE_BITS;
	*ent(2) = page_gpa(PT) | TABLE_BITS;
	*ent(1) = page_gpa(DATA) | LEAF_BITS;
}

static int walk(struct guest_walker *w, gva_t va, uint32_t access)
{
	return guest_walk_addr(w, &paging, &buf_ops, NULL, va, access);
}

static void assert_fault(const struct guest_walker *w, int r, int level, uint32_t error_code,
			 const char *reason)
{
	TEST_ASSERT(r == GUEST_WALK_EXCEPTION, "walk returned %d, expected a fault (%s)", r,
		    reason);
	TEST_ASSERT_EQ(w->fault.vector, GUEST_WALK_PF);
	TEST_ASSERT_EQ(w->fault.level, level);
	TEST_ASSERT_EQ(w->fault.error_code, error_code);
	TEST_ASSERT(!strcmp(w->fault.reason, reason), "reason '%s', expected '%s'", w->fault.reason,
		    reason);
}

/* Walk with @access, expecting a fault that writes nothing. */
static void expect_fault(gva_t va, uint32_t access, int level, uint32_t error_code,
			 const char *reason)
{
	static uint64_t before[MEM_PAGES][PT64_ENT_PER_PAGE];
	struct guest_walker w;
	int r;

	memcpy(before, mem.page, sizeof(before));
	mem.cmpxchgs = 0;
	r = walk(&w, va, access);
	assert_fault(&w, r, level, error_code, reason);
	TEST_ASSERT_EQ(w.fault.address, va);
	TEST_ASSERT(!memcmp(before, mem.page, sizeof(before)), "a faulting walk wrote (%s)",
		    reason);
	TEST_ASSERT_EQ(mem.cmpxchgs, 0);
}

static void expect_gpa(gva_t va, uint32_t access, gpa_t gpa, int level)
{
	struct guest_walker w;
	int r = walk(&w, va, access);

	TEST_ASSERT(r == 0, "walk of %#lx: %d (%s)", (unsigned long)va, r, w.fault.reason);
	TEST_ASSERT_EQ(w.gpa, gpa);
	TEST_ASSERT_EQ(w.level, level);
}

TEST(walk_4k_page)
{
	struct guest_walker w;

	build_4k();
	TEST_ASSERT_EQ(walk(&w, TEST_VA, 0), 0);
	TEST_ASSERT_EQ(w.gpa, page_gpa(DATA) + 0x567);
	TEST_ASSERT_EQ(w.level, PG_LEVEL_4K);
	TEST_ASSERT_EQ(w.access, ACC_ALL);
	TEST_ASSERT_EQ(mem.reads, 4);
	TEST_ASSERT_EQ(mem.cmpxchgs, 4);
	for (int level = 4; level >= 1; level--) {
		TEST_ASSERT_EQ(mem.read_level[4 - level], level);
		TEST_ASSERT_EQ(mem.cmpxchg_level[4 - level], level);
	}
	for (int level = 4; level >= 1; level--)
		TEST_ASSERT_EQ(w.pte_gpa[level - 1],
			       (gpa_t)(MEM_BASE + ((char *)ent(level) - (char *)mem.page)));
	/* Every address of the page, its last byte included, lands in the page. */
	expect_gpa(VA_OF(I4, I3, I2, I1), 0, page_gpa(DATA), 1);
	expect_gpa(VA_OF(I4, I3, I2, I1) + 0xfff, 0, page_gpa(DATA) + 0xfff, 1);
	/* Its neighbour has no PTE. */
	expect_fault(VA_OF(I4, I3, I2, I1 + 1), 0, 1, 0, "PTE not present");
}

TEST(cr3_flag_bits_are_ignored)
{
	struct guest_paging pg = paging;
	struct guest_walker w;

	build_4k();
	pg.cr3 |= 0x18 | 0x7; /* PCD, PWT and ignored low bits */
	TEST_ASSERT_EQ(guest_walk_addr(&w, &pg, &buf_ops, NULL, TEST_VA, 0), 0);
	TEST_ASSERT_EQ(w.gpa, page_gpa(DATA) + 0x567);
}

TEST(not_present_at_each_level)
{
	static const char *const reasons[] = { "", "PTE not present", "PDE not present",
					       "PDPTE not present", "PML4E not present" };

	for (int level = 4; level >= 1; level--) {
		build_4k();
		*ent(level) &= ~PT_PRESENT_MASK;
		/* The error code says what the access was; P clear: not a protection fault. */
		expect_fault(TEST_VA, 0, level, 0, reasons[level]);
		expect_fault(TEST_VA, PFERR_WRITE_MASK, level, PFERR_WRITE_MASK, reasons[level]);
		expect_fault(TEST_VA, PFERR_FETCH_MASK, level, PFERR_FETCH_MASK, reasons[level]);
		expect_fault(TEST_VA, PFERR_USER_MASK | PFERR_WRITE_MASK, level,
			     PFERR_USER_MASK | PFERR_WRITE_MASK, reasons[level]);
	}
}

TEST(fetch_fault_has_no_id_bit_without_nxe)
{
	struct guest_paging pg = paging;
	struct guest_walker w;
	int r;

	build_4k();
	pg.nxe = false;
	*ent(2) &= ~PT_PRESENT_MASK;
	r = guest_walk_addr(&w, &pg, &buf_ops, NULL, TEST_VA, PFERR_FETCH_MASK);
	assert_fault(&w, r, 2, 0, "PDE not present");
}

/* Only P is looked at in an entry that is not present: the rest is the OS's. */
TEST(not_present_entry_bits_are_ignored)
{
	build_4k();
	*ent(2) = ~PT_PRESENT_MASK;
	expect_fault(TEST_VA, 0, 2, 0, "PDE not present");
}

TEST(reserved_address_bits_at_each_level)
{
	static const char *const names[] = { "", "PTE", "PDE", "PDPTE", "PML4E" };
	const uint32_t rsvd = PFERR_PRESENT_MASK | PFERR_RSVD_MASK;
	char reason[48];

	for (int level = 4; level >= 1; level--) {
		/* Bits 51 down to MAXPHYADDR are reserved ... */
		for (int bit = 51; bit >= GUEST_MAXPHYADDR; bit -= 51 - GUEST_MAXPHYADDR) {
			build_4k();
			*ent(level) |= 1ULL << bit;
			snprintf(reason, sizeof(reason), "reserved bit %d set in %s", bit,
				 names[level]);
			expect_fault(TEST_VA, 0, level, rsvd, reason);
			expect_fault(TEST_VA, PFERR_WRITE_MASK | PFERR_FETCH_MASK, level,
				     rsvd | PFERR_WRITE_MASK | PFERR_FETCH_MASK, reason);
		}
		/* ... but not bits 52-62 (ignored) nor bit 8 (G, ignored above the leaf). */
		build_4k();
		*ent(level) |= 0x7ffULL << 52 | 1ULL << 8;
		expect_gpa(TEST_VA, PFERR_WRITE_MASK, page_gpa(DATA) + 0x567, 1);
	}
}

TEST(maxphyaddr_is_the_first_reserved_bit)
{
	struct guest_paging pg = paging;
	struct guest_walker w;

	build_4k();
	*ent(1) |= 1ULL << (GUEST_MAXPHYADDR - 1); /* the highest address bit there is */
	TEST_ASSERT_EQ(walk(&w, TEST_VA, 0), 0);
	TEST_ASSERT_EQ(w.gpa, (1ULL << (GUEST_MAXPHYADDR - 1)) + page_gpa(DATA) + 0x567);
	/* A narrower guest: the same entry names an address it cannot have. */
	build_4k();
	pg.maxphyaddr = 40;
	*ent(1) |= 1ULL << 40;
	assert_fault(&w, guest_walk_addr(&w, &pg, &buf_ops, NULL, TEST_VA, 0), 1,
		     PFERR_PRESENT_MASK | PFERR_RSVD_MASK, "reserved bit 40 set in PTE");
}

TEST(xd_is_reserved_without_nxe)
{
	struct guest_paging pg = paging;
	struct guest_walker w;

	build_4k();
	pg.nxe = false;
	*ent(3) |= PT64_NX_MASK;
	assert_fault(&w, guest_walk_addr(&w, &pg, &buf_ops, NULL, TEST_VA, 0), 3,
		     PFERR_PRESENT_MASK | PFERR_RSVD_MASK, "reserved bit 63 set in PDPTE");
	/* With NXE the same entry only forbids fetches. */
	expect_gpa(TEST_VA, 0, page_gpa(DATA) + 0x567, 1);
}

TEST(ps_is_reserved_in_a_pml4e)
{
	build_4k();
	*ent(4) |= PT_PAGE_SIZE_MASK;
	expect_fault(TEST_VA, 0, 4, PFERR_PRESENT_MASK | PFERR_RSVD_MASK,
		     "reserved bit 7 set in PML4E");
}

/* In a 4 KiB PTE bit 7 is PAT, not PS. */
TEST(pat_bit_of_a_pte_is_not_ps)
{
	build_4k();
	*ent(1) |= PT_PAGE_SIZE_MASK;
	expect_gpa(TEST_VA, 0, page_gpa(DATA) + 0x567, 1);
}

TEST(write_needs_w_at_every_level)
{
	static const char *const reasons[] = { "", "PTE read-only", "PDE read-only",
					       "PDPTE read-only", "PML4E read-only" };

	for (int level = 4; level >= 1; level--) {
		build_4k();
		*ent(level) &= ~PT_WRITABLE_MASK;
		/* CR0.WP: a supervisor write is refused too. */
		expect_fault(TEST_VA, PFERR_WRITE_MASK, level,
			     PFERR_PRESENT_MASK | PFERR_WRITE_MASK, reasons[level]);
		expect_gpa(TEST_VA, 0, page_gpa(DATA) + 0x567, 1);
		expect_gpa(TEST_VA, PFERR_FETCH_MASK, page_gpa(DATA) + 0x567, 1);
	}
}

/* Two levels take W away: the fault names the one nearer the root. */
TEST(refusal_names_the_topmost_level)
{
	build_4k();
	*ent(3) &= ~PT_WRITABLE_MASK;
	*ent(1) &= ~PT_WRITABLE_MASK;
	expect_fault(TEST_VA, PFERR_WRITE_MASK, 3, PFERR_PRESENT_MASK | PFERR_WRITE_MASK,
		     "PDPTE read-only");
	build_4k();
	*ent(2) |= PT64_NX_MASK;
	*ent(1) |= PT64_NX_MASK;
	expect_fault(TEST_VA, PFERR_FETCH_MASK, 2, PFERR_PRESENT_MASK | PFERR_FETCH_MASK,
		     "PDE no-execute");
}

TEST(fetch_needs_no_xd_at_every_level)
{
	static const char *const reasons[] = { "", "PTE no-execute", "PDE no-execute",
					       "PDPTE no-execute", "PML4E no-execute" };
	struct guest_walker w;

	for (int level = 4; level >= 1; level--) {
		build_4k();
		*ent(level) |= PT64_NX_MASK;
		expect_fault(TEST_VA, PFERR_FETCH_MASK, level,
			     PFERR_PRESENT_MASK | PFERR_FETCH_MASK, reasons[level]);
		expect_gpa(TEST_VA, PFERR_WRITE_MASK, page_gpa(DATA) + 0x567, 1);
		TEST_ASSERT_EQ(walk(&w, TEST_VA, 0), 0);
		TEST_ASSERT_EQ(w.access, ACC_WRITE_MASK | ACC_USER_MASK);
	}
}

TEST(user_access_needs_u_at_every_level)
{
	static const char *const reasons[] = { "", "PTE supervisor-only", "PDE supervisor-only",
					       "PDPTE supervisor-only", "PML4E supervisor-only" };
	struct guest_walker w;

	for (int level = 4; level >= 1; level--) {
		build_4k();
		*ent(level) &= ~PT_USER_MASK;
		expect_fault(TEST_VA, PFERR_USER_MASK, level, PFERR_PRESENT_MASK | PFERR_USER_MASK,
			     reasons[level]);
		/* No SMAP, no SMEP: the supervisor reads, writes and runs it. */
		expect_gpa(TEST_VA, PFERR_WRITE_MASK, page_gpa(DATA) + 0x567, 1);
		expect_gpa(TEST_VA, PFERR_FETCH_MASK, page_gpa(DATA) + 0x567, 1);
		TEST_ASSERT_EQ(walk(&w, TEST_VA, 0), 0);
		TEST_ASSERT_EQ(w.access, ACC_WRITE_MASK | ACC_EXEC_MASK);
	}
	/* A user write to a supervisor page that is also read-only: both bits, U named first. */
	build_4k();
	*ent(1) &= ~(PT_USER_MASK | PT_WRITABLE_MASK);
	expect_fault(TEST_VA, PFERR_USER_MASK | PFERR_WRITE_MASK, 1,
		     PFERR_PRESENT_MASK | PFERR_USER_MASK | PFERR_WRITE_MASK,
		     "PTE supervisor-only");
}

/* A PDE with PS maps 2 MiB: 21 bits of offset, bit 12 is PAT, 13-20 reserved. */
TEST(walk_2m_page)
{
	const gpa_t base = 0x40000000UL; /* 2 MiB aligned, outside the buffer: never read */
	gva_t va = VA_OF(I4, I3, I2, 0) + 0x1aace0;
	struct guest_walker w;

	build_4k();
	*ent(2) = base | PT_PAGE_SIZE_MASK | LEAF_BITS;
	TEST_ASSERT_EQ(walk(&w, va, PFERR_WRITE_MASK), 0);
	TEST_ASSERT_EQ(w.gpa, base + 0x1aace0);
	TEST_ASSERT_EQ(w.level, PG_LEVEL_2M);
	TEST_ASSERT_EQ(mem.reads, 3);
	TEST_ASSERT_EQ(*ent(2),
		       base | PT_PAGE_SIZE_MASK | LEAF_BITS | PT_ACCESSED_MASK | PT_DIRTY_MASK);
	TEST_ASSERT_EQ(*ent(1) & (PT_ACCESSED_MASK | PT_DIRTY_MASK), 0ULL);
	expect_gpa(VA_OF(I4, I3, I2, 0), 0, base, 2);
	expect_gpa(VA_OF(I4, I3, I2, 0) + (2UL << 20) - 1, 0, base + (2UL << 20) - 1, 2);

	*ent(2) |= 1ULL << 12; /* PAT */
	expect_gpa(va, 0, base + 0x1aace0, 2);
	for (int bit = 13; bit <= 20; bit += 7) {
		char reason[48];

		*ent(2) = base | 1ULL << bit | PT_PAGE_SIZE_MASK | LEAF_BITS;
		snprintf(reason, sizeof(reason), "reserved bit %d set in PDE", bit);
		expect_fault(va, 0, 2, PFERR_PRESENT_MASK | PFERR_RSVD_MASK, reason);
	}
	/* Bit 21 is the address again. */
	*ent(2) = base | 1ULL << 21 | PT_PAGE_SIZE_MASK | LEAF_BITS;
	expect_gpa(va, 0, base + (2UL << 20) + 0x1aace0, 2);
}

/* A PDPTE with PS maps 1 GiB: 30 bits of offset, 13-29 reserved. */
TEST(walk_1g_page)
{
	const gpa_t base = 0x3c0000000UL; /* 1 GiB aligned */
	gva_t va = VA_OF(I4, I3, 0, 0) + 0x2bcdef01;
	struct guest_walker w;

	build_4k();
	*ent(3) = base | PT_PAGE_SIZE_MASK | LEAF_BITS;
	TEST_ASSERT_EQ(walk(&w, va, 0), 0);
	TEST_ASSERT_EQ(w.gpa, base + 0x2bcdef01);
	TEST_ASSERT_EQ(w.level, PG_LEVEL_1G);
	TEST_ASSERT_EQ(mem.reads, 2);
	TEST_ASSERT_EQ(*ent(3) & (PT_ACCESSED_MASK | PT_DIRTY_MASK), PT_ACCESSED_MASK);
	expect_gpa(VA_OF(I4, I3, 0, 0) + (1UL << 30) - 1, 0, base + (1UL << 30) - 1, 3);

	*ent(3) |= 1ULL << 12; /* PAT */
	expect_gpa(va, 0, base + 0x2bcdef01, 3);
	for (int bit = 13; bit <= 29; bit += 16) {
		char reason[48];

		*ent(3) = base | 1ULL << bit | PT_PAGE_SIZE_MASK | LEAF_BITS;
		snprintf(reason, sizeof(reason), "reserved bit %d set in PDPTE", bit);
		expect_fault(va, 0, 3, PFERR_PRESENT_MASK | PFERR_RSVD_MASK, reason);
	}
	/* The rights of a large leaf are checked like any leaf's. */
	*ent(3) = base | PT_PAGE_SIZE_MASK | LEAF_BITS;
	*ent(3) &= ~PT_WRITABLE_MASK;
	expect_fault(va, PFERR_WRITE_MASK, 3, PFERR_PRESENT_MASK | PFERR_WRITE_MASK,
		     "PDPTE read-only");
}

TEST(non_canonical_address)
{
	static const gva_t bad[] = { 1UL << 47, 0x0000ffffffffffffUL + 1, 0xffff7fffffffffffUL,
				     0x8000000000000000UL, 1UL << 63 | 0x1000 };
	struct guest_walker w;

	build_4k();
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		int r = walk(&w, bad[i], PFERR_WRITE_MASK);

		TEST_ASSERT_EQ(r, GUEST_WALK_EXCEPTION);
		TEST_ASSERT_EQ(w.fault.vector, GUEST_WALK_GP);
		TEST_ASSERT_EQ(w.fault.error_code, 0u);
		TEST_ASSERT(!strcmp(w.fault.reason, "non-canonical address"), "%s", w.fault.reason);
	}
	TEST_ASSERT_EQ(mem.reads, 0); /* refused before any table is read */
	/* The upper half is canonical: PML4 entry 256 and up. */
	mem.page[PML4][256] = page_gpa(PDPT) | TABLE_BITS;
	expect_gpa(0xffff800000000000UL | VA_OF(0, I3, I2, I1), 0, page_gpa(DATA), 1);
}

TEST(read_sets_accessed_not_dirty)
{
	struct guest_walker w;

	build_4k();
	TEST_ASSERT_EQ(walk(&w, TEST_VA, 0), 0);
	for (int level = 4; level >= 1; level--)
		TEST_ASSERT_EQ(*ent(level) & (PT_ACCESSED_MASK | PT_DIRTY_MASK), PT_ACCESSED_MASK);
	TEST_ASSERT_EQ(w.ad_written, 0xfu);
	TEST_ASSERT_EQ(mem.cmpxchgs, 4);
	/* Once set, nothing is written again. */
	TEST_ASSERT_EQ(walk(&w, TEST_VA, PFERR_FETCH_MASK), 0);
	TEST_ASSERT_EQ(mem.cmpxchgs, 4);
	TEST_ASSERT_EQ(w.ad_written, 0u);
	TEST_ASSERT_EQ(*ent(1) & PT_DIRTY_MASK, 0ULL);
}

TEST(write_sets_dirty_in_the_leaf_only)
{
	struct guest_walker w;

	build_4k();
	TEST_ASSERT_EQ(walk(&w, TEST_VA, PFERR_WRITE_MASK), 0);
	for (int level = 4; level >= 2; level--)
		TEST_ASSERT_EQ(*ent(level) & (PT_ACCESSED_MASK | PT_DIRTY_MASK), PT_ACCESSED_MASK);
	TEST_ASSERT_EQ(*ent(1) & (PT_ACCESSED_MASK | PT_DIRTY_MASK),
		       PT_ACCESSED_MASK | PT_DIRTY_MASK);
	TEST_ASSERT_EQ(w.ptes[0], *ent(1));
	/* A read first, then the write: D comes with the write, A is already there. */
	build_4k();
	TEST_ASSERT_EQ(walk(&w, TEST_VA, 0), 0);
	TEST_ASSERT_EQ(walk(&w, TEST_VA, PFERR_WRITE_MASK), 0);
	TEST_ASSERT_EQ(w.ad_written, 1u);
	TEST_ASSERT_EQ(mem.cmpxchgs, 5);
	TEST_ASSERT_EQ(*ent(1) & PT_DIRTY_MASK, PT_DIRTY_MASK);
	TEST_ASSERT_EQ(*ent(2) & PT_DIRTY_MASK, 0ULL);
}

/* A protection fault is found after the whole walk: still nothing is written. */
TEST(faulting_walk_sets_nothing)
{
	build_4k();
	*ent(1) &= ~PT_WRITABLE_MASK;
	expect_fault(TEST_VA, PFERR_WRITE_MASK, 1, PFERR_PRESENT_MASK | PFERR_WRITE_MASK,
		     "PTE read-only");
	build_4k();
	*ent(1) |= 1ULL << 50;
	expect_fault(TEST_VA, 0, 1, PFERR_PRESENT_MASK | PFERR_RSVD_MASK,
		     "reserved bit 50 set in PTE");
}

/* The guest clears P in the PTE between the walk's read and its A/D update. */
TEST(lost_cmpxchg_walks_again)
{
	struct guest_walker w;
	uint64_t pte;
	int r;

	build_4k();
	pte = *ent(1);
	mem.race_at = 4; /* the PTE's A update, after the three tables' */
	mem.race_value = pte & ~PT_PRESENT_MASK;
	r = walk(&w, TEST_VA, PFERR_WRITE_MASK);
	assert_fault(&w, r, 1, PFERR_WRITE_MASK, "PTE not present");
	TEST_ASSERT_EQ(*ent(1), pte & ~PT_PRESENT_MASK);
	TEST_ASSERT_EQ(mem.reads, 8);

	/* Another walker set A meanwhile: the second walk only adds D. */
	build_4k();
	pte = *ent(1);
	mem.race_at = 4;
	mem.race_value = pte | PT_ACCESSED_MASK;
	TEST_ASSERT_EQ(walk(&w, TEST_VA, PFERR_WRITE_MASK), 0);
	TEST_ASSERT_EQ(*ent(1), pte | PT_ACCESSED_MASK | PT_DIRTY_MASK);
	TEST_ASSERT_EQ(w.ad_written, 1u);
}

/* An accessor's error ends the walk as it is, with nothing written. */
TEST(accessor_error_is_returned)
{
	struct guest_walker w;

	build_4k();
	mem.eagain_gpa = MEM_BASE + ((char *)ent(2) - (char *)mem.page);
	TEST_ASSERT_EQ(walk(&w, TEST_VA, PFERR_WRITE_MASK), -EAGAIN);
	TEST_ASSERT_EQ(mem.cmpxchgs, 0);
	TEST_ASSERT_EQ(*ent(4) & PT_ACCESSED_MASK, 0ULL);
	/* A table outside the buffer. */
	build_4k();
	*ent(3) = 0x7000000000UL | TABLE_BITS;
	TEST_ASSERT_EQ(walk(&w, TEST_VA, 0), -EFAULT);
}
