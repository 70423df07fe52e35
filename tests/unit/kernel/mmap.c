// SPDX-License-Identifier: GPL-2.0
/*
 * The exec guest kernel's address space (guest/kernel/mmap.c), built on
 * the host with what it calls below it stubbed: page tables are a table
 * of leaf entries by virtual page, frames a counter, the TLB and the file
 * reads counted.  Checks VMA placement, splits and merges, demand faults
 * and their refusals, brk, mremap in place and moved, and the SIGBUS
 * part of a file mapping.
 */
#include "tests/lib/test_util.h"

#include "guest/kernel/mmap.c"

/* ---- the stubs: what mmap.c calls of mm.c, fs.c and the runtime ---- */

#define NR_PTES 8192

static struct {
	unsigned long vpn[NR_PTES], pte[NR_PTES];
	bool used[NR_PTES];
} ptes;
static unsigned long next_frame = 0x200000, frames_allocated, frames_freed, tlb_flushes;
static unsigned long file_size; /* what file_read_into() finds */

/* The entry of a virtual page number in the table, made with @make. */
static unsigned long *entry(unsigned long vpn, bool make)
{
	unsigned long i = (vpn * 0x9e3779b97f4a7c15UL) % NR_PTES;

	for (;; i = (i + 1) % NR_PTES) {
		if (ptes.used[i] && ptes.vpn[i] == vpn)
			return &ptes.pte[i];
		if (!ptes.used[i]) {
			if (!make)
				return NULL;
			ptes.used[i] = true;
			ptes.vpn[i] = vpn;
			ptes.pte[i] = 0;
			return &ptes.pte[i];
		}
	}
}

/*
 * As mm.c's: NULL without @alloc only where no page table covers the
 * 2 MiB around @va (a table stands for one of them, marked by a key of
 * its own above any page number).
 */
unsigned long *pte_get(unsigned long va, bool alloc)
{
	unsigned long table = (1UL << 60) | va >> 21;

	if (!entry(table, alloc))
		return NULL;
	return entry(va >> PAGE_SHIFT, true);
}

unsigned long pte_read(const unsigned long *pte)
{
	return *pte;
}

void pte_write(unsigned long *pte, unsigned long val)
{
	*pte = val;
}

unsigned long frame_alloc(void)
{
	frames_allocated++;
	next_frame += PAGE_SIZE;
	return next_frame;
}

void frame_free(unsigned long pa)
{
	(void)pa;
	frames_freed++;
}

void flush_tlb_page(unsigned long va)
{
	(void)va;
	tlb_flushes++;
}

void tlb_gather_page(struct tlb_gather *tlb, unsigned long va)
{
	tlb->pages++;
	flush_tlb_page(va);
}

void tlb_finish(struct tlb_gather *tlb)
{
	tlb->pages = 0;
}

long file_read_into(long fd, unsigned long pa, unsigned long len, unsigned long off)
{
	(void)fd;
	(void)pa;
	if (off >= file_size)
		return 0;
	return (long)MIN(len, file_size - off);
}

/* ---- helpers ---- */

static void reset(void)
{
	memset(&ptes, 0, sizeof(ptes));
	nr_vmas = 0;
	frames_allocated = frames_freed = tlb_flushes = 0;
	file_size = 0;
}

static unsigned long mmap_anon(unsigned long addr, unsigned long len, unsigned long prot,
			       unsigned long flags)
{
	return (unsigned long)sys_mmap(addr, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
}

static unsigned long leaf(unsigned long va)
{
	unsigned long *pte = pte_get(va, false);

	return pte ? *pte : 0;
}

#define RW (PROT_READ | PROT_WRITE)

/* ---- the cases ---- */

TEST(mmap_places_top_down_below_mmap_top_page_aligned)
{
	unsigned long a, b;

	reset();
	a = mmap_anon(0, 3 * PAGE_SIZE + 1, RW, 0);
	b = mmap_anon(0, PAGE_SIZE, RW, 0);
	TEST_ASSERT_EQ(a, MMAP_TOP - 4 * PAGE_SIZE);
	TEST_ASSERT_EQ(b, a - PAGE_SIZE);
	/* Adjacent with the same rights: one VMA, as Linux merges them. */
	TEST_ASSERT_EQ(nr_vmas, 1);
	TEST_ASSERT_EQ(frames_allocated, 0); /* nothing touched yet */
}

TEST(a_hint_is_taken_where_free_and_fixed_replaces)
{
	unsigned long a;

	reset();
	a = mmap_anon(0x10000000, 2 * PAGE_SIZE, RW, 0);
	TEST_ASSERT_EQ(a, 0x10000000);
	TEST_ASSERT_EQ(handle_mm_fault(a, PFERR_WRITE), 0);
	TEST_ASSERT_EQ(mmap_anon(a, PAGE_SIZE, RW, 0), MMAP_TOP - PAGE_SIZE);
	TEST_ASSERT_EQ((long)sys_mmap(a, PAGE_SIZE, RW,
				      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0),
		       -EEXIST);
	TEST_ASSERT_EQ(mmap_anon(a, PAGE_SIZE, PROT_READ, MAP_FIXED), a);
	TEST_ASSERT_EQ(frames_freed, 1); /* the touched page the fixed mapping replaced */
	TEST_ASSERT_EQ(leaf(a), 0);
	TEST_ASSERT_EQ(find_vma(a)->flags, VM_READ);
	TEST_ASSERT_EQ(find_vma(a + PAGE_SIZE)->flags, VM_READ | VM_WRITE);
	TEST_ASSERT_EQ((long)mmap_anon(a + 1, PAGE_SIZE, RW, MAP_FIXED), -EINVAL);
	TEST_ASSERT_EQ((long)mmap_anon(0, 0, RW, 0), -EINVAL);
}

TEST(munmap_of_the_middle_splits_and_frees_what_was_touched)
{
	unsigned long a;

	reset();
	a = mmap_anon(0, 3 * PAGE_SIZE, RW, 0);
	for (int i = 0; i < 3; i++)
		TEST_ASSERT_EQ(handle_mm_fault(a + i * PAGE_SIZE, 0), 0);
	TEST_ASSERT_EQ(frames_allocated, 3);
	TEST_ASSERT_EQ(sys_munmap(a + PAGE_SIZE, 1), 0);
	TEST_ASSERT_EQ(nr_vmas, 2);
	TEST_ASSERT(find_vma(a) && !find_vma(a + PAGE_SIZE) && find_vma(a + 2 * PAGE_SIZE),
		    "a hole in the middle");
	TEST_ASSERT_EQ(frames_freed, 1);
	TEST_ASSERT_EQ(leaf(a + PAGE_SIZE), 0);
	TEST_ASSERT(leaf(a) & PTE_P, "the pages beside stay");
	TEST_ASSERT_EQ(sys_munmap(a, 3 * PAGE_SIZE), 0);
	TEST_ASSERT_EQ(nr_vmas, 0);
	TEST_ASSERT_EQ(frames_freed, 3);
	TEST_ASSERT_EQ(sys_munmap(a + 1, PAGE_SIZE), -EINVAL);
}

TEST(demand_faults_follow_the_vma_rights)
{
	unsigned long ro, none, rw;

	reset();
	ro = mmap_anon(0, PAGE_SIZE, PROT_READ, 0);
	none = mmap_anon(0, PAGE_SIZE, 0, 0);
	rw = mmap_anon(0, PAGE_SIZE, RW, 0);
	TEST_ASSERT_EQ(handle_mm_fault(ro, PFERR_WRITE), -EFAULT);
	TEST_ASSERT_EQ(handle_mm_fault(ro, PFERR_FETCH), -EFAULT);
	TEST_ASSERT_EQ(handle_mm_fault(ro, 0), 0);
	TEST_ASSERT_EQ(leaf(ro) & (PTE_P | PTE_U | PTE_W | PTE_NX), PTE_P | PTE_U | PTE_NX);
	TEST_ASSERT_EQ(handle_mm_fault(none, 0), -EFAULT);
	TEST_ASSERT_EQ(handle_mm_fault(rw, PFERR_WRITE), 0);
	TEST_ASSERT_EQ(leaf(rw) & (PTE_P | PTE_W), PTE_P | PTE_W);
	TEST_ASSERT_EQ(handle_mm_fault(USER_MIN - PAGE_SIZE, 0), -EFAULT);
	TEST_ASSERT_EQ(frames_allocated, 2);
}

TEST(mprotect_splits_changes_present_ptes_and_merges_back)
{
	unsigned long a;

	reset();
	a = mmap_anon(0, 4 * PAGE_SIZE, RW, 0);
	TEST_ASSERT_EQ(handle_mm_fault(a + PAGE_SIZE, PFERR_WRITE), 0);
	TEST_ASSERT_EQ(sys_mprotect(a + PAGE_SIZE, PAGE_SIZE, PROT_READ), 0);
	TEST_ASSERT_EQ(nr_vmas, 3);
	TEST_ASSERT_EQ(leaf(a + PAGE_SIZE) & (PTE_P | PTE_W), PTE_P);
	TEST_ASSERT_EQ(tlb_flushes, 1);
	TEST_ASSERT_EQ(handle_mm_fault(a + PAGE_SIZE, PFERR_WRITE | PFERR_PRESENT), -EFAULT);
	/* PROT_NONE keeps the frame with P clear. */
	TEST_ASSERT_EQ(sys_mprotect(a + PAGE_SIZE, PAGE_SIZE, 0), 0);
	TEST_ASSERT_EQ(leaf(a + PAGE_SIZE) & (PTE_P | PTE_PROTNONE), PTE_PROTNONE);
	TEST_ASSERT_EQ(sys_mprotect(a, 4 * PAGE_SIZE, RW), 0);
	TEST_ASSERT_EQ(nr_vmas, 1);
	TEST_ASSERT_EQ(leaf(a + PAGE_SIZE) & (PTE_P | PTE_W), PTE_P | PTE_W);
	TEST_ASSERT_EQ(sys_mprotect(a + 8 * PAGE_SIZE, PAGE_SIZE, RW), -ENOMEM);
	TEST_ASSERT_EQ(frames_freed, 0);
}

TEST(brk_grows_to_the_next_mapping_and_shrinking_frees)
{
	unsigned long base = 0x600000;

	reset();
	mm_set_brk_base(base - 100);
	TEST_ASSERT_EQ(sys_brk(0), base);
	TEST_ASSERT_EQ(sys_brk(base + 2 * PAGE_SIZE + 8), base + 2 * PAGE_SIZE + 8);
	TEST_ASSERT_EQ(handle_mm_fault(base + 2 * PAGE_SIZE, PFERR_WRITE), 0);
	TEST_ASSERT_EQ(sys_brk(base + PAGE_SIZE), base + PAGE_SIZE);
	TEST_ASSERT_EQ(frames_freed, 1);
	TEST_ASSERT(!find_vma(base + PAGE_SIZE), "the heap ends at the new break");
	TEST_ASSERT_EQ(mmap_anon(base + 4 * PAGE_SIZE, PAGE_SIZE, RW, MAP_FIXED),
		       base + 4 * PAGE_SIZE);
	/* Into the mapping: refused, the break stays. */
	TEST_ASSERT_EQ(sys_brk(base + 8 * PAGE_SIZE), base + PAGE_SIZE);
	TEST_ASSERT_EQ(sys_brk(base - PAGE_SIZE), base + PAGE_SIZE);
}

TEST(mremap_grows_in_place_or_moves_the_pages)
{
	unsigned long a, b, moved, frame;

	reset();
	a = mmap_anon(0, 2 * PAGE_SIZE, RW, 0);
	TEST_ASSERT_EQ(handle_mm_fault(a, PFERR_WRITE), 0);
	frame = leaf(a) & PTE_ADDR_MASK;
	/* Free above (below MMAP_TOP is the gap to the stack): in place. */
	TEST_ASSERT_EQ(sys_mremap(a, 2 * PAGE_SIZE, 3 * PAGE_SIZE, MREMAP_MAYMOVE, 0), a);
	TEST_ASSERT_EQ(find_vma(a)->end, a + 3 * PAGE_SIZE);
	/* Blocked above: without MAYMOVE -ENOMEM, with it a move that takes the frame along. */
	b = mmap_anon(a + 3 * PAGE_SIZE, PAGE_SIZE, PROT_READ, MAP_FIXED);
	TEST_ASSERT_EQ(b, a + 3 * PAGE_SIZE);
	TEST_ASSERT_EQ(sys_mremap(a, 3 * PAGE_SIZE, 5 * PAGE_SIZE, 0, 0), -ENOMEM);
	moved = (unsigned long)sys_mremap(a, 3 * PAGE_SIZE, 5 * PAGE_SIZE, MREMAP_MAYMOVE, 0);
	TEST_ASSERT(moved != a && (long)moved > 0, "moved");
	TEST_ASSERT_EQ(leaf(moved) & PTE_ADDR_MASK, frame);
	TEST_ASSERT_EQ(leaf(a), 0);
	TEST_ASSERT(!find_vma(a), "the old range is gone");
	TEST_ASSERT_EQ(frames_freed, 0);
	/* Shrinking frees the tail. */
	TEST_ASSERT_EQ(handle_mm_fault(moved + 4 * PAGE_SIZE, 0), 0);
	TEST_ASSERT_EQ(sys_mremap(moved, 5 * PAGE_SIZE, PAGE_SIZE, 0, 0), moved);
	TEST_ASSERT_EQ(frames_freed, 1);
	TEST_ASSERT_EQ(sys_mremap(b + PAGE_SIZE, PAGE_SIZE, 2 * PAGE_SIZE, 0, 0), -EFAULT);
}

TEST(a_file_mapping_is_read_in_and_past_its_end_is_sigbus)
{
	unsigned long a;

	reset();
	file_size = PAGE_SIZE + 100;
	a = (unsigned long)sys_mmap(0, 4 * PAGE_SIZE, PROT_READ, MAP_PRIVATE, 3, 0);
	TEST_ASSERT((long)a > 0, "mapped");
	TEST_ASSERT_EQ(frames_allocated, 2); /* the file's two pages, eagerly */
	TEST_ASSERT(leaf(a + PAGE_SIZE) & PTE_P, "the last file page");
	TEST_ASSERT_EQ(handle_mm_fault(a + 2 * PAGE_SIZE, 0), -EIO);
	TEST_ASSERT_EQ(find_vma(a + 3 * PAGE_SIZE)->flags, VM_READ | VM_PAST_EOF);
	TEST_ASSERT_EQ(sys_munmap(a, 4 * PAGE_SIZE), 0);
	TEST_ASSERT_EQ(frames_freed, 2);
	/* A writable shared file mapping would need write-back: refused. */
	TEST_ASSERT_EQ(sys_mmap(0, PAGE_SIZE, RW, MAP_SHARED, 3, 0), -ENODEV);
}

TEST(madvise_dontneed_drops_pages_and_the_next_touch_is_fresh)
{
	unsigned long a;

	reset();
	a = mmap_anon(0, 2 * PAGE_SIZE, RW, 0);
	TEST_ASSERT_EQ(handle_mm_fault(a, PFERR_WRITE), 0);
	TEST_ASSERT_EQ(sys_madvise(a, 2 * PAGE_SIZE, MADV_DONTNEED), 0);
	TEST_ASSERT_EQ(frames_freed, 1);
	TEST_ASSERT_EQ(leaf(a), 0);
	TEST_ASSERT(find_vma(a), "the mapping stays");
	TEST_ASSERT_EQ(handle_mm_fault(a, 0), 0);
	TEST_ASSERT_EQ(frames_allocated, 2);
	TEST_ASSERT_EQ(sys_madvise(a + 4 * PAGE_SIZE, PAGE_SIZE, MADV_DONTNEED), -ENOMEM);
}
