// SPDX-License-Identifier: GPL-2.0
/*
 * The frame sanitizer: bad page state on free, poison on free and its
 * check on allocation, and the stamp check every translation user makes.
 * The allocator (page_alloc.c) calls in here; every report is one
 * REPORT_SANITIZER block and one count in the pool's san_counts.
 */
#include <execinfo.h>
#include <pthread.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "base/bug.h"
#include "base/current.h"
#include "base/report.h"
#include "mm/mm_types.h"
#include "mm/sanitizer.h"

static const char *const pageflag_names[NR_PAGEFLAGS] = {
	[PG_locked] = "locked",
	[PG_referenced] = "referenced",
	[PG_uptodate] = "uptodate",
	[PG_dirty] = "dirty",
	[PG_lru] = "lru",
	[PG_active] = "active",
	[PG_workingset] = "workingset",
	[PG_writeback] = "writeback",
	[PG_swapbacked] = "swapbacked",
	[PG_swapcache] = "swapcache",
	[PG_unevictable] = "unevictable",
	[PG_mlocked] = "mlocked",
	[PG_reclaim] = "reclaim",
	[PG_anon_exclusive] = "anon_exclusive",
};

static const char *const frame_state_names[NR_FRAME_STATES] = {
	[FRAME_FREE] = "free",
	[FRAME_DATA] = "data",
	[FRAME_PGTABLE] = "page table",
	[FRAME_SECONDARY] = "secondary table",
};

const char *pageflag_name(enum pageflags bit)
{
	return bit < NR_PAGEFLAGS ? pageflag_names[bit] : "?";
}

const char *frame_state_name(enum frame_state state)
{
	return state < NR_FRAME_STATES ? frame_state_names[state] : "?";
}

static void san_count(struct frame_pool *pool, enum sanitizer_kind kind)
{
	atomic_long_inc(&pool->san_counts[kind]);
}

void frame_pool_sanitizer_counters(struct frame_pool *pool, struct sanitizer_counters *c)
{
	c->bad_page_state = atomic_long_read(&pool->san_counts[SAN_BAD_PAGE_STATE]);
	c->double_free = atomic_long_read(&pool->san_counts[SAN_DOUBLE_FREE]);
	c->write_after_free = atomic_long_read(&pool->san_counts[SAN_WRITE_AFTER_FREE]);
	c->use_after_free = atomic_long_read(&pool->san_counts[SAN_USE_AFTER_FREE]);
}

/* ---- printing a frame ---- */

static void dump_page_flags(unsigned long flags)
{
	const char *sep = "";

	report_printf("  flags: %#lx(", flags);
	for (int bit = 0; bit < NR_PAGEFLAGS; bit++) {
		if (flags & BIT(bit)) {
			report_printf("%s%s", sep, pageflag_names[bit]);
			sep = "|";
		}
	}
	report_printf(")\n");
}

static void dump_page(const struct page *page)
{
	report_printf("  frame: pfn %lu at %p, state %s, gen %u\n", page_to_pfn(page),
		      page_address(page), frame_state_name(page_frame_state(page)),
		      READ_ONCE(page->gen));
	report_printf("  page: refcount %d mapcount %d pincount %d mapping %p index %#lx\n",
		      page_ref_count(page), page_mapcount(page), atomic_read(&page->_pincount),
		      (void *)READ_ONCE(page->mapping), READ_ONCE(page->index));
	dump_page_flags(READ_ONCE(page->flags));
}

#ifdef CONFIG_LOCKDEP
/* The calling thread's stack, cached: looking it up reads /proc/self/maps. */
static __thread unsigned long stack_lo, stack_hi;

static bool this_stack_bounds(void)
{
	pthread_attr_t attr;
	size_t size;
	void *lo;

	if (stack_hi)
		return true;
	if (pthread_getattr_np(pthread_self(), &attr))
		return false;
	if (!pthread_attr_getstack(&attr, &lo, &size)) {
		stack_lo = (unsigned long)lo;
		stack_hi = stack_lo + size;
	}
	pthread_attr_destroy(&attr);
	return stack_hi;
}

/*
 * The return addresses of the callers, from the frame-pointer chain (every
 * file is built with -fno-omit-frame-pointer).  glibc's backtrace() unwinds
 * from DWARF tables and costs more than the whole free; this walk costs a
 * few loads.  Each frame must lie above the last and inside this thread's
 * stack, so a frame without a frame pointer ends the walk rather than
 * derailing it; not instrumented, since it reads other functions' frames.
 */
__attribute__((no_sanitize_address, noinline)) static int save_stack(void **entries, int max,
								     int skip)
{
	struct stack_frame {
		struct stack_frame *next;
		void *ret;
	} *fp = __builtin_frame_address(0);
	int n = 0;

	if (!this_stack_bounds())
		return 0;
	while (n < max && (unsigned long)fp >= stack_lo &&
	       (unsigned long)fp + sizeof(*fp) <= stack_hi && IS_ALIGNED((unsigned long)fp, 8)) {
		if (skip)
			skip--;
		else
			entries[n++] = fp->ret;
		if (fp->next <= fp)
			break;
		fp = fp->next;
	}
	return n;
}

/*
 * The free site is written by the freeing thread and may be read by a
 * reporter on another thread at the same moment (that is the bug being
 * reported), so every word goes through relaxed atomics.
 */
void record_free_site(struct page *page)
{
	struct page_free_site *site = &page->free_site;
	unsigned long comm[ARRAY_SIZE(site->comm)] = { 0 };
	void *stack[PAGE_FREE_STACK_DEPTH];
	/* Skip this function and the allocator's free path: start at __put_page/free_frame. */
	int nr = save_stack(stack, ARRAY_SIZE(stack), 2);

	for (int i = 0; i < nr; i++)
		WRITE_ONCE(site->stack[i], stack[i]);
	WRITE_ONCE(site->nr_entries, nr);
	snprintf((char *)comm, sizeof(comm), "%s", current->comm);
	for (size_t i = 0; i < ARRAY_SIZE(comm); i++)
		WRITE_ONCE(site->comm[i], comm[i]);
}

static void print_free_site(const struct page *page)
{
	const struct page_free_site *site = &page->free_site;
	unsigned long comm[ARRAY_SIZE(site->comm)];
	void *stack[PAGE_FREE_STACK_DEPTH];
	int nr = min(READ_ONCE(site->nr_entries), PAGE_FREE_STACK_DEPTH);

	for (size_t i = 0; i < ARRAY_SIZE(comm); i++)
		comm[i] = READ_ONCE(site->comm[i]);
	((char *)comm)[sizeof(comm) - 1] = '\0';
	if (!nr) {
		report_printf("  last freed: never\n");
		return;
	}
	for (int i = 0; i < nr; i++)
		stack[i] = READ_ONCE(site->stack[i]);
	report_printf("  last freed by task %s at:\n", (char *)comm);
	fflush(stderr);
	backtrace_symbols_fd(stack, nr, 2);
}
#else
void record_free_site(struct page *page)
{
}

static void print_free_site(const struct page *page)
{
	report_printf("  last freed: (free sites are recorded in CONFIG_LOCKDEP builds)\n");
}
#endif

/* ---- bad page state ---- */

/*
 * The first thing wrong with a frame being freed, most specific first: a
 * pin is also a reference, so "pinned" beats "referenced".  @extra_refs
 * counts references beyond the one the final free drops.
 */
static const char *page_bad_reason(const struct page *page, int extra_refs)
{
	if (page_mapcount(page))
		return "page still mapped";
	if (page_maybe_dma_pinned(page))
		return "page still pinned";
	if (extra_refs)
		return "page still referenced";
	if (PageMlocked(page))
		return "page still mlocked";
	if (READ_ONCE(page->mapping))
		return "page mapping still set";
	if (PageLocked(page))
		return "page still locked";
	if (PageLRU(page))
		return "page still on an LRU list";
	if (PageWriteback(page))
		return "page still under writeback";
	return NULL;
}

static void bad_page(struct page *page, const char *reason, int refcount)
{
	report_start(REPORT_SANITIZER, "BUG: Bad page state: %s", reason);
	dump_page(page);
	if (refcount != 1)
		report_printf("  refcount when freed: %d (the final free must drop the last one)\n",
			      refcount);
	dump_stack();
	report_end();
	san_count(page->pool, SAN_BAD_PAGE_STATE);
}

/*
 * Called with the frame already marked free and its refcount zeroed; the
 * caller held 1 + @extra_refs references.  Like the kernel's bad_page(),
 * reset what was wrong so the frame can go back to the free list: the
 * report is the point, not the leak.
 */
bool free_page_is_bad(struct page *page, int extra_refs)
{
	const char *reason = page_bad_reason(page, extra_refs);

	if (likely(!reason))
		return false;
	bad_page(page, reason, extra_refs + 1);
	atomic_set(&page->_mapcount, 0);
	atomic_set(&page->_pincount, 0);
	WRITE_ONCE(page->mapping, NULL);
	return true;
}

void __put_page_underflow(struct page *page)
{
	atomic_inc(&page->_refcount); /* back to 0: the put was not ours to make */
	if (page_frame_state(page) == FRAME_FREE) {
		report_double_free(page, "put_page");
		return;
	}
	bad_page(page, "page refcount underflow", -1);
}

void __get_page_on_free(struct page *page)
{
	atomic_dec(&page->_refcount); /* the reference is not taken */
	report_start(REPORT_SANITIZER, "BUG: Bad page state: get_page on a page with no reference");
	dump_page(page);
	if (page_frame_state(page) == FRAME_FREE)
		print_free_site(page);
	dump_stack();
	report_end();
	san_count(page->pool, SAN_BAD_PAGE_STATE);
}

void report_double_free(struct page *page, const char *how)
{
	report_start(REPORT_SANITIZER, "double free: %s of free frame %lu", how, page_to_pfn(page));
	dump_page(page);
	print_free_site(page);
	report_printf("  freed again by:\n");
	dump_stack();
	report_end();
	san_count(page->pool, SAN_DOUBLE_FREE);
}

/* ---- poison ---- */

/* PAGE_POISON in every byte of a word. */
#define PAGE_POISON_WORD (PAGE_POISON * 0x0101010101010101UL)

/*
 * Poisoning and its check are on the path of every free and allocation of
 * a frame, so both run in the widest registers the CPU has: the loops below
 * are compiled three times, for AVX-512, AVX2 and the x86-64 baseline, and
 * each call takes the widest the CPU supports (the kernel patches in its
 * memset the same way, with alternatives).  Not target_clones(): its ifunc
 * resolver runs before ASan is set up and crashes the ASan+UBSan build.
 *
 * The check reads the frame alone against a register, not against a
 * poisoned copy (memcmp() reads that too, 8 KiB instead of 4), and has no
 * early exit: an intact frame, the only common case, is read whole anyway,
 * and a broken one is found to the bit.  The fill is a loop of stores that
 * the compiler must not turn back into memset's rep stos, which is slower
 * here than 64-byte stores.
 */
#define POISON_NO_MEMSET __attribute__((optimize("no-tree-loop-distribute-patterns")))
#define POISON_AVX512 __attribute__((target("avx512f")))
#define POISON_AVX2 __attribute__((target("avx2")))

static __always_inline POISON_NO_MEMSET void __poison_fill(unsigned long *p)
{
	for (size_t i = 0; i < PAGE_SIZE / sizeof(*p); i++)
		p[i] = PAGE_POISON_WORD;
}

static __always_inline bool __poison_intact(const unsigned long *p)
{
	unsigned long diff = 0;

	for (size_t i = 0; i < PAGE_SIZE / sizeof(*p); i++)
		diff |= p[i] ^ PAGE_POISON_WORD;
	return !diff;
}

static POISON_AVX512 POISON_NO_MEMSET void poison_fill_avx512(unsigned long *p)
{
	__poison_fill(p);
}

static POISON_AVX2 POISON_NO_MEMSET void poison_fill_avx2(unsigned long *p)
{
	__poison_fill(p);
}

static POISON_NO_MEMSET void poison_fill_x86_64(unsigned long *p)
{
	__poison_fill(p);
}

static POISON_AVX512 bool poison_intact_avx512(const unsigned long *p)
{
	return __poison_intact(p);
}

static POISON_AVX2 bool poison_intact_avx2(const unsigned long *p)
{
	return __poison_intact(p);
}

static bool poison_intact_x86_64(const unsigned long *p)
{
	return __poison_intact(p);
}

static void poison_fill(unsigned long *p)
{
	if (__builtin_cpu_supports("avx512f"))
		poison_fill_avx512(p);
	else if (__builtin_cpu_supports("avx2"))
		poison_fill_avx2(p);
	else
		poison_fill_x86_64(p);
}

/* Does the frame at @p hold PAGE_POISON in every byte? */
static bool poison_intact(const unsigned long *p)
{
	if (__builtin_cpu_supports("avx512f"))
		return poison_intact_avx512(p);
	if (__builtin_cpu_supports("avx2"))
		return poison_intact_avx2(p);
	return poison_intact_x86_64(p);
}

void poison_page(struct page *page)
{
	poison_fill(page_address(page));
	page->poisoned = true;
}

static void report_write_after_free(struct page *page)
{
	const unsigned char *p = page_address(page);
	unsigned long first = PAGE_SIZE, last = 0, nr = 0;

	for (unsigned long off = 0; off < PAGE_SIZE; off++) {
		if (p[off] == PAGE_POISON)
			continue;
		first = min(first, off);
		last = off;
		nr++;
	}
	report_start(REPORT_SANITIZER, "write after free in frame %lu at offset %#lx",
		     page_to_pfn(page), first);
	report_printf("  offset %#lx: %#04x, expected %#04x (poison); %lu bytes differ in "
		      "[%#lx, %#lx]\n",
		      first, p[first], PAGE_POISON, nr, first, last);
	dump_page(page);
	print_free_site(page);
	report_printf("  found when allocated by:\n");
	dump_stack();
	report_end();
	san_count(page->pool, SAN_WRITE_AFTER_FREE);
}

/* A free descriptor must be clean: anything else was written after free. */
static const char *new_page_bad_reason(const struct page *page)
{
	if (page_ref_count(page))
		return "nonzero _refcount on a free page";
	if (page_mapcount(page))
		return "nonzero _mapcount on a free page";
	if (atomic_read(&page->_pincount))
		return "nonzero _pincount on a free page";
	if (READ_ONCE(page->mapping))
		return "non-NULL mapping on a free page";
	if (READ_ONCE(page->flags))
		return "flags set on a free page";
	return NULL;
}

/*
 * A frame leaving the free list.  A bad descriptor is reported and reset;
 * broken poison is reported and repaired, and the frame is still handed out.
 */
void check_new_page(struct page *page)
{
	const char *reason = new_page_bad_reason(page);

	if (unlikely(reason)) {
		report_start(REPORT_SANITIZER, "BUG: Bad page state: %s", reason);
		dump_page(page);
		print_free_site(page);
		report_end();
		san_count(page->pool, SAN_BAD_PAGE_STATE);
		set_page_count(page, 0);
		atomic_set(&page->_mapcount, 0);
		atomic_set(&page->_pincount, 0);
		WRITE_ONCE(page->mapping, NULL);
		WRITE_ONCE(page->flags, 0);
	}
	if (page->poisoned && unlikely(!poison_intact(page_address(page)))) {
		report_write_after_free(page);
		poison_page(page);
	}
}

/* ---- stamps ---- */

/* An access of no size is a translation being made: a TLB fill or a walk of a table. */
static void print_access(const struct frame_access *acc)
{
	const char *what = acc->write ? "write" : "read";
	const char *who = acc->who ? acc->who : "(unknown)";

	if (acc->size)
		report_printf("  access: %s of %u bytes at %#lx by %s\n", what, acc->size,
			      acc->addr, who);
	else
		report_printf("  access: translation for a %s at %#lx by %s\n", what, acc->addr,
			      who);
}

/* A stale access's report ends alike: what the accessor adds, the stack, the count. */
static bool report_stamp_end(struct frame_pool *pool, const struct frame_access *acc)
{
	if (acc->describe)
		acc->describe(acc->ctx);
	dump_stack();
	report_end();
	san_count(pool, SAN_USE_AFTER_FREE);
	return false;
}

static bool report_wild_stamp(struct frame_pool *pool, const struct frame_stamp *stamp,
			      const struct frame_access *acc)
{
	report_start(REPORT_SANITIZER, "use-after-free %s: pfn %lu outside the pool",
		     acc->write ? "write" : "read", stamp->pfn);
	print_access(acc);
	report_printf("  pool: %lu frames at %p\n", pool->nr_frames, pool->base);
	return report_stamp_end(pool, acc);
}

/* The out-of-line half of frame_check_stamp(): the frame changed, say how. */
bool __frame_check_stamp(struct frame_pool *pool, const struct frame_stamp *stamp,
			 const struct frame_access *acc)
{
	struct page *page;
	enum frame_state now;
	unsigned int gen;

	if (stamp->pfn >= pool->nr_frames)
		return report_wild_stamp(pool, stamp, acc);
	page = pfn_to_page(pool, stamp->pfn);
	now = page_frame_state(page);
	gen = READ_ONCE(page->gen);
	if (now == FRAME_FREE)
		report_start(REPORT_SANITIZER, "use-after-free %s", acc->write ? "write" : "read");
	else
		report_start(REPORT_SANITIZER, "stale translation: frame reused as %s",
			     frame_state_name(now));
	print_access(acc);
	report_printf("  frame: pfn %lu at %p: %s, gen %u when translated; now %s, gen %u\n",
		      stamp->pfn, page_address(page), frame_state_name(stamp->state), stamp->gen,
		      frame_state_name(now), gen);
	print_free_site(page);
	return report_stamp_end(pool, acc);
}

/*
 * An rmap walk holds the root lock of the anon_vma a page names, and finds
 * the page still mapped.  Every VMA that maps the page is chained to the
 * anon_vma the page records (rule 7, oldest anon_vma and root lock: a page
 * that more than one process may map records the oldest anon_vma of the
 * fork tree), and a VMA keeps its chains until it is unmapped; so that
 * anon_vma cannot have been freed.  A freed one -- no reference left, back
 * in the type-stable cache, where it is still memory shaped like an
 * anon_vma -- means page->mapping dangles: the walk reaches none of the
 * page's mappings, and the first reuse of the object makes the walk lock
 * and search some unrelated tree.
 */
bool check_anon_vma_of_mapped_page(struct page *page, struct anon_vma *anon_vma)
{
	if (likely(atomic_read(&anon_vma->refcount) > 0) || !page_mapped(page))
		return true;
	report_start(REPORT_SANITIZER,
		     "use-after-free: mapped anon page %lu names a freed anon_vma",
		     page_to_pfn(page));
	report_printf("  anon_vma %p: no reference left, on the free list; the page has %d "
		      "mapping(s) an rmap walk cannot reach\n",
		      (void *)anon_vma, page_mapcount(page));
	dump_page(page);
	dump_stack();
	report_end();
	san_count(page->pool, SAN_USE_AFTER_FREE);
	return false;
}
