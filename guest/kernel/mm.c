// SPDX-License-Identifier: GPL-2.0
/*
 * Physical memory: the frame allocator, the direct map and the page
 * tables, the way mm/page_alloc.c and arch/x86/mm do it for a machine of
 * one node and one CPU.
 *
 * Frames are tracked by two bitmaps over RAM: free, and reported to the
 * host; the lowest free frame goes first.  A frame freed by munmap, madvise or brk goes on a short list that
 * is reported with HC_PAGE_REPORT_FREE at the end of the system call, in
 * runs of contiguous frames, so the host may take it; the allocator takes
 * a reported frame back with HC_PAGE_REUSE before it writes it, with the
 * reported frames that follow it (a batch), so a run of allocations costs
 * one hypercall in REUSE_BATCH.  All free RAM starts reported.
 */
#include "kernel.h"

extern char _end[];

/* Enough for --mem 8G; the bitmaps live in the image's bss. */
#define MAX_FRAMES (8UL << 30 >> PAGE_SHIFT)
#define BITS_PER_LONG 64
#define REUSE_BATCH 64
#define FREED_BATCH 256

static unsigned long frame_free_map[MAX_FRAMES / BITS_PER_LONG];
static unsigned long frame_reported_map[MAX_FRAMES / BITS_PER_LONG];
static unsigned long nr_frames; /* frames from GUEST_RAM_BASE to the end of RAM */
static unsigned long nr_free;
/*
 * Every frame below it is in use: the lowest free frame is taken first,
 * so the process's footprint stays compact and the RAM it freed (and the
 * host may have taken) is what it reuses, not the rest of RAM.
 */
static unsigned long alloc_cursor;
static unsigned long freed[FREED_BATCH]; /* pfns freed, not yet reported */
static unsigned int nr_freed;

/*
 * 0 while the kernel runs on the VMM's identity tables (boot), PAGE_OFFSET
 * once it runs on its own: the same code builds the tables before and
 * after the switch.
 */
static unsigned long direct_map_offset;

unsigned long kernel_pml4;

void *phys_to_virt(unsigned long pa)
{
	return (void *)(pa + direct_map_offset);
}

unsigned long virt_to_phys(const void *va)
{
	unsigned long v = (unsigned long)va;

	/* The image is mapped at its own address (its GPA); the direct map at PAGE_OFFSET. */
	return v >= PAGE_OFFSET ? v - PAGE_OFFSET : v;
}

/* ---- byte moves: rep string instructions, fast on both backends ---- */

void copy_bytes(void *dst, const void *src, unsigned long n)
{
	__asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
}

void fill_bytes(void *dst, int c, unsigned long n)
{
	__asm__ volatile("rep stosb" : "+D"(dst), "+c"(n) : "a"(c) : "memory");
}

void zero_page(void *va)
{
	unsigned long n = PAGE_SIZE / 8;

	__asm__ volatile("rep stosq" : "+D"(va), "+c"(n) : "a"(0UL) : "memory");
}

/* ---- the bitmaps ---- */

static bool test_bit(const unsigned long *map, unsigned long i)
{
	return map[i / BITS_PER_LONG] >> (i % BITS_PER_LONG) & 1;
}

static void set_bit(unsigned long *map, unsigned long i)
{
	map[i / BITS_PER_LONG] |= 1UL << (i % BITS_PER_LONG);
}

static void clear_bit(unsigned long *map, unsigned long i)
{
	map[i / BITS_PER_LONG] &= ~(1UL << (i % BITS_PER_LONG));
}

/* Set bits [first, first + n) a word at a time where whole words are covered (boot: all of RAM). */
static void set_bits(unsigned long *map, unsigned long first, unsigned long n)
{
	unsigned long i = first, end = first + n;

	for (; i < end && i % BITS_PER_LONG; i++)
		set_bit(map, i);
	for (; i + BITS_PER_LONG <= end; i += BITS_PER_LONG)
		map[i / BITS_PER_LONG] = ~0UL;
	for (; i < end; i++)
		set_bit(map, i);
}

static unsigned long pfn_to_phys(unsigned long pfn)
{
	return GUEST_RAM_BASE + (pfn << PAGE_SHIFT);
}

static unsigned long phys_to_pfn(unsigned long pa)
{
	return (pa - GUEST_RAM_BASE) >> PAGE_SHIFT;
}

/* The first free frame at or after @from, or nr_frames: a word at a time. */
static unsigned long find_free_from(unsigned long from)
{
	unsigned long i = from;

	while (i < nr_frames) {
		unsigned long word = frame_free_map[i / BITS_PER_LONG] >> (i % BITS_PER_LONG);

		if (word)
			return MIN(i + (unsigned long)__builtin_ctzl(word), nr_frames);
		i = (i / BITS_PER_LONG + 1) * BITS_PER_LONG;
	}
	return nr_frames;
}

/* Take back from the host the reported free frames from @pfn on, up to a batch. */
static void reuse_reported(unsigned long pfn)
{
	unsigned long n = 0;

	while (n < REUSE_BATCH && pfn + n < nr_frames && test_bit(frame_free_map, pfn + n) &&
	       test_bit(frame_reported_map, pfn + n)) {
		clear_bit(frame_reported_map, pfn + n);
		n++;
	}
	hypercall(HC_PAGE_REUSE, pfn_to_phys(pfn), n << PAGE_SHIFT);
}

unsigned long frame_alloc(void)
{
	unsigned long pfn = find_free_from(alloc_cursor);

	if (pfn == nr_frames)
		return 0;
	if (test_bit(frame_reported_map, pfn))
		reuse_reported(pfn);
	clear_bit(frame_free_map, pfn);
	nr_free--;
	alloc_cursor = pfn + 1;
	/* A reused frame reads back as zero or as it was: zero it either way. */
	zero_page(phys_to_virt(pfn_to_phys(pfn)));
	return pfn_to_phys(pfn);
}

void frame_free(unsigned long pa)
{
	unsigned long pfn = phys_to_pfn(pa);

	if (pa < GUEST_RAM_BASE || pfn >= nr_frames || test_bit(frame_free_map, pfn))
		panic("frame_free: %lx is not an allocated frame", pa);
	set_bit(frame_free_map, pfn);
	nr_free++;
	alloc_cursor = MIN(alloc_cursor, pfn);
	if (nr_freed == FREED_BATCH)
		flush_freed_frames();
	freed[nr_freed++] = pfn;
}

static void report_free(unsigned long pfn, unsigned long n)
{
	set_bits(frame_reported_map, pfn, n);
	hypercall(HC_PAGE_REPORT_FREE, pfn_to_phys(pfn), n << PAGE_SHIFT);
}

/*
 * Sort the list (a batch at most: insertion sort), then report each run
 * of contiguous frames that are still free and not yet reported: one
 * reallocated since it was freed is in use again.
 */
void flush_freed_frames(void)
{
	unsigned long run = 0, n = 0;

	for (unsigned int i = 1; i < nr_freed; i++) {
		unsigned long v = freed[i];
		unsigned int j = i;

		for (; j && freed[j - 1] > v; j--)
			freed[j] = freed[j - 1];
		freed[j] = v;
	}
	for (unsigned int i = 0; i < nr_freed; i++) {
		unsigned long pfn = freed[i];

		if (!test_bit(frame_free_map, pfn) || test_bit(frame_reported_map, pfn))
			continue;
		if (n && pfn == run + n) {
			n++;
			continue;
		}
		if (n)
			report_free(run, n);
		run = pfn;
		n = 1;
	}
	if (n)
		report_free(run, n);
	nr_freed = 0;
}

unsigned long frames_free(void)
{
	return nr_free;
}

unsigned long frames_total(void)
{
	return nr_frames;
}

/* ---- page tables ---- */

static unsigned int pte_index(unsigned long va, unsigned int level)
{
	return (va >> (PAGE_SHIFT + 9 * (level - 1))) & 511;
}

/*
 * The entry of @va at @level (1: PTE, 2: PDE), making the tables on the
 * way with @alloc.  An upper entry grants every right: the leaf alone
 * says what a page allows, as in runtime/paging.c.  NULL where a table is
 * missing (and not made) or a large page is in the way.
 */
static unsigned long *pte_walk(unsigned long va, unsigned int level, bool alloc)
{
	unsigned long *table = phys_to_virt(kernel_pml4);

	for (unsigned int l = 4; l > level; l--) {
		unsigned long *entry = &table[pte_index(va, l)];
		unsigned long val = pte_read(entry);

		if (!(val & PTE_P)) {
			unsigned long frame = alloc ? frame_alloc() : 0;

			if (!frame)
				return NULL;
			val = frame | PTE_P | PTE_W | PTE_U;
			pte_write(entry, val);
		} else if (val & PTE_PS) {
			return NULL;
		}
		table = phys_to_virt(val & PTE_ADDR_MASK);
	}
	return &table[pte_index(va, level)];
}

unsigned long *pte_get(unsigned long va, bool alloc)
{
	return pte_walk(va, 1, alloc);
}

void flush_tlb_page(unsigned long va)
{
	hypercall(HC_INVLPG, va, 0);
}

void flush_tlb_all(void)
{
	hypercall(HC_FLUSH_TLB, 0, 0);
}

void tlb_gather_page(struct tlb_gather *tlb, unsigned long va)
{
	if (++tlb->pages <= TLB_FLUSH_PAGES)
		flush_tlb_page(va);
}

void tlb_finish(struct tlb_gather *tlb)
{
	if (tlb->pages > TLB_FLUSH_PAGES)
		flush_tlb_all();
	tlb->pages = 0;
}

static int map_kernel_page(unsigned long va, unsigned long pa, unsigned long size,
			   unsigned long flags)
{
	unsigned long *pte = pte_walk(va, size == PAGE_SIZE_2M ? 2 : 1, true);

	if (!pte)
		return -ENOMEM;
	pte_write(pte, pa | flags | PTE_P | (size == PAGE_SIZE_2M ? PTE_PS : 0));
	return 0;
}

/*
 * RAM at PAGE_OFFSET + GPA, supervisor-only and not executable: 2 MiB
 * pages where a whole one is RAM, 4 KiB pages at the ragged ends, as
 * identity_map_ram() does (a large page must not cover what is not RAM).
 */
static int map_direct(unsigned long ram_end)
{
	unsigned long pa = GUEST_RAM_BASE;

	while (pa < ram_end) {
		unsigned long size = PAGE_SIZE;
		int ret;

		if (!(pa & (PAGE_SIZE_2M - 1)) && pa + PAGE_SIZE_2M <= ram_end)
			size = PAGE_SIZE_2M;
		ret = map_kernel_page(PAGE_OFFSET + pa, pa, size, PTE_W | PTE_NX);
		if (ret)
			return ret;
		pa += size;
	}
	return 0;
}

/* The image at its own address, supervisor-only: code, data and the kernel's stacks. */
static int map_image(void)
{
	for (unsigned long pa = GUEST_RAM_BASE; pa < (unsigned long)_end; pa += PAGE_SIZE) {
		int ret = map_kernel_page(pa, pa, PAGE_SIZE, PTE_W);

		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Take over memory: every frame between the image and the VMM's vCPU
 * stacks is free (reported to the host at once, so it may take them until
 * they are used), then the kernel's tables, then HC_LOAD_CR3 (the
 * hypercall, not mov to CR3: the kvm backend sees no native CR3 load).
 */
int mm_init(unsigned long ram_size)
{
	unsigned long ram_end = GUEST_RAM_BASE + ram_size;
	unsigned long first = phys_to_pfn(ram_free_start()), last = phys_to_pfn(ram_free_end());
	long ret;

	if ((unsigned long)_end > KERNEL_IMAGE_LIMIT)
		panic("the image ends at %lx, above %lx", (unsigned long)_end, KERNEL_IMAGE_LIMIT);
	nr_frames = MIN(ram_size >> PAGE_SHIFT, MAX_FRAMES);
	last = MIN(last, nr_frames);
	set_bits(frame_free_map, first, last - first);
	nr_free = last - first;
	alloc_cursor = first;
	report_free(first, last - first);

	kernel_pml4 = frame_alloc();
	if (!kernel_pml4 || map_direct(ram_end) || map_image())
		return -ENOMEM;
	ret = (long)hypercall(HC_LOAD_CR3, kernel_pml4, 0);
	if (ret)
		return (int)ret;
	direct_map_offset = PAGE_OFFSET;
	return 0;
}
