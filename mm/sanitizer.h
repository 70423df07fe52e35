/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The frame sanitizer (docs/design.md, "The frame sanitizer").
 *
 * Three checks, each a REPORT_SANITIZER report and a count in the pool:
 *
 *  - On free, the kernel's "bad page state" checks: a frame must not be
 *    freed while mapped, referenced, pinned, mlocked, locked, on an LRU
 *    list, under writeback or with its mapping set.  A second free of a
 *    free frame is a "double free" and leaves the free lists alone.
 *  - Poison: a freed frame is filled with PAGE_POISON; allocation verifies
 *    it, and anything else was a "write after free".
 *  - Stamps: whoever makes a translation to a frame (a host PTE, an SPTE, a
 *    vCPU TLB entry) records frame_stamp_of() and calls frame_check_stamp()
 *    when it uses it.  A frame freed, or freed and reused, since the stamp
 *    was taken is a "use-after-free" or a "stale translation".
 */
#ifndef NOPIN_MM_SANITIZER_H
#define NOPIN_MM_SANITIZER_H

#include <stdbool.h>

#include "mm/page_alloc.h"

/* The byte freed frames are filled with (the kernel's PAGE_POISON). */
#define PAGE_POISON 0x6b

/* What a translation was made from: frame, generation, state. */
struct frame_stamp {
	unsigned long pfn;
	unsigned int gen;
	enum frame_state state;
};

/* One access through a translation, described for the report. */
struct frame_access {
	unsigned long addr; /* the address used: guest-physical or host virtual */
	unsigned int size;
	bool write;
	const char *who;	     /* "vCPU 1", "host page-table walk" */
	void (*describe)(void *ctx); /* prints more (the guest instruction) */
	void *ctx;
};

struct sanitizer_counters {
	unsigned long bad_page_state;
	unsigned long double_free;
	unsigned long write_after_free;
	unsigned long use_after_free; /* including stale translations */
};

static inline struct frame_stamp frame_stamp_of(const struct page *page)
{
	return (struct frame_stamp){
		.pfn = page_to_pfn(page),
		.gen = READ_ONCE(page->gen),
		.state = READ_ONCE(page->state),
	};
}

bool __frame_check_stamp(struct frame_pool *pool, const struct frame_stamp *stamp,
			 const struct frame_access *acc);

/*
 * Is the frame still what the translation was made from?  True if so;
 * otherwise reports and returns false.  The common case is two relaxed
 * loads: the free path bumps gen and flips state, either shows a change.
 */
static inline bool frame_check_stamp(struct frame_pool *pool, const struct frame_stamp *stamp,
				     const struct frame_access *acc)
{
	const struct page *page = pool->mem_map + stamp->pfn;

	if (likely(stamp->pfn < pool->nr_frames && READ_ONCE(page->gen) == stamp->gen &&
		   READ_ONCE(page->state) == stamp->state))
		return true;
	return __frame_check_stamp(pool, stamp, acc);
}

void frame_pool_sanitizer_counters(struct frame_pool *pool, struct sanitizer_counters *c);

/* ---- called by rmap (mm/rmap.c) ---- */

struct anon_vma;
/* A mapped page's anon_vma, held locked by an rmap walk, must be live.  False: reported. */
bool check_anon_vma_of_mapped_page(struct page *page, struct anon_vma *anon_vma);

/* ---- called by the allocator (mm/page_alloc.c) ---- */

/* Checks and clears a frame being freed; reports what was wrong.  False: no problem. */
bool free_page_is_bad(struct page *page, int extra_refs);
/* Checks a frame leaving the free list: clean descriptor and intact poison. */
void check_new_page(struct page *page);
void poison_page(struct page *page);
void report_double_free(struct page *page, const char *how);
void record_free_site(struct page *page);

#endif
