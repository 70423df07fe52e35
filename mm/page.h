/* SPDX-License-Identifier: GPL-2.0 */
/*
 * struct page: the descriptor of one 4 KiB frame, after the kernel's
 * mm_types.h and page-flags.h.  Descriptors live in an array beside the
 * frame region (the pool's mem_map), never inside a frame, so that poisoning
 * or scribbling over a frame cannot damage the record the sanitizer reads.
 *
 * Counts, with the conventions that differ from the kernel's spelled out:
 *
 *	_refcount	references; alloc_frame() returns 1, the put that drops
 *			it to 0 frees the frame.
 *	_mapcount	page-table entries mapping the frame.  0 means unmapped:
 *			this departs from the kernel, which biases it by -1.
 *	_pincount	FOLL_PIN pins.  A pin is also a reference; the kernel
 *			keeps small pages' pins in _refcount (GUP_PIN_COUNTING_BIAS),
 *			here they are counted apart so page_maybe_dma_pinned() is exact.
 */
#ifndef NOPIN_MM_PAGE_H
#define NOPIN_MM_PAGE_H

#include <stdbool.h>

#include "base/atomic.h"
#include "base/bug.h"
#include "base/compiler.h"
#include "base/current.h"
#include "base/list.h"

#define PAGE_SHIFT 12
#define PAGE_SIZE (1UL << PAGE_SHIFT)
#define PAGE_MASK (~(PAGE_SIZE - 1))

struct address_space;
struct anon_vma;
struct frame_pool;

/* What a frame holds; FRAME_FREE frames are on a free list. */
enum frame_state {
	FRAME_FREE,
	FRAME_DATA,	 /* anonymous or file data */
	FRAME_PGTABLE,	 /* a host page-table page */
	FRAME_SECONDARY, /* a secondary-MMU (SPTE) table page */
	NR_FRAME_STATES
};

enum pageflags {
	PG_locked,	   /* lock_page(): I/O, truncation and migration exclude each other */
	PG_referenced,	   /* accessed since reclaim last looked */
	PG_uptodate,	   /* contents valid (read from file or swap) */
	PG_dirty,	   /* must be written back before it may be dropped */
	PG_lru,		   /* on an LRU list */
	PG_active,	   /* on the active LRU list */
	PG_workingset,	   /* refaulted soon after eviction */
	PG_writeback,	   /* being written to its file or to swap */
	PG_swapbacked,	   /* backed by swap, not by a file */
	PG_swapcache,	   /* in the swap cache; private holds the swap entry */
	PG_unevictable,	   /* on the unevictable list (mlocked) */
	PG_mlocked,	   /* mapped by an mlocked VMA */
	PG_reclaim,	   /* reclaim wants it freed once writeback ends */
	PG_anon_exclusive, /* anon page mapped by exactly one process: no COW needed */
	NR_PAGEFLAGS
};

#ifdef CONFIG_LOCKDEP
#define PAGE_FREE_STACK_DEPTH 6
/* Who freed the frame last and from where, for use-after-free reports. */
struct page_free_site {
	unsigned long comm[TASK_COMM_LEN / sizeof(unsigned long)]; /* task name, in words */
	void *stack[PAGE_FREE_STACK_DEPTH];
	int nr_entries;
};
#endif

struct page {
	unsigned long flags; /* enum pageflags bits, atomic */
	atomic_t _refcount;
	atomic_t _mapcount;
	atomic_t _pincount;
	enum frame_state state; /* written by alloc and free, read locklessly */
	unsigned int gen;	/* bumped on every free: a frame_stamp goes stale */
	bool poisoned;		/* holds PAGE_POISON (else still zero from mmap) */
	unsigned char lru_list; /* which LRU list ->lru is on, under its lru_lock */
	/*
	 * The file's address_space, or for anonymous pages the anon_vma with
	 * the PAGE_MAPPING_ANON bit set, as the kernel packs it.
	 */
	struct address_space *mapping;
	unsigned long index;   /* offset in the mapping, in pages (pgoff) */
	unsigned long private; /* swap entry while PG_swapcache */
	struct list_head lru;  /* LRU list; the free list while FRAME_FREE */
	struct frame_pool *pool;
#ifdef CONFIG_LOCKDEP
	struct page_free_site free_site;
#endif
};

/*
 * Flag helpers, PageFoo()/SetPageFoo()/ClearPageFoo()/TestSetPageFoo()/
 * TestClearPageFoo() atomic, __SetPageFoo()/__ClearPageFoo() plain, for a
 * page nobody else can see yet.
 */
#define TESTPAGEFLAG(uname, lname)                                                                 \
	static inline bool Page##uname(const struct page *page)                                    \
	{                                                                                          \
		return test_bit(PG_##lname, &page->flags);                                         \
	}
#define SETPAGEFLAG(uname, lname)                                                                  \
	static inline void SetPage##uname(struct page *page)                                       \
	{                                                                                          \
		set_bit(PG_##lname, &page->flags);                                                 \
	}
#define CLEARPAGEFLAG(uname, lname)                                                                \
	static inline void ClearPage##uname(struct page *page)                                     \
	{                                                                                          \
		clear_bit(PG_##lname, &page->flags);                                               \
	}
#define __SETPAGEFLAG(uname, lname)                                                                \
	static inline void __SetPage##uname(struct page *page)                                     \
	{                                                                                          \
		__set_bit(PG_##lname, &page->flags);                                               \
	}
#define __CLEARPAGEFLAG(uname, lname)                                                              \
	static inline void __ClearPage##uname(struct page *page)                                   \
	{                                                                                          \
		__clear_bit(PG_##lname, &page->flags);                                             \
	}
#define TESTSETFLAG(uname, lname)                                                                  \
	static inline bool TestSetPage##uname(struct page *page)                                   \
	{                                                                                          \
		return test_and_set_bit(PG_##lname, &page->flags);                                 \
	}
#define TESTCLEARFLAG(uname, lname)                                                                \
	static inline bool TestClearPage##uname(struct page *page)                                 \
	{                                                                                          \
		return test_and_clear_bit(PG_##lname, &page->flags);                               \
	}
#define PAGEFLAG(uname, lname)                                                                     \
	TESTPAGEFLAG(uname, lname)                                                                 \
	SETPAGEFLAG(uname, lname)                                                                  \
	CLEARPAGEFLAG(uname, lname)                                                                \
	__SETPAGEFLAG(uname, lname)                                                                \
	__CLEARPAGEFLAG(uname, lname)                                                              \
	TESTSETFLAG(uname, lname)                                                                  \
	TESTCLEARFLAG(uname, lname)

/* PG_locked is taken only through lock_page()/trylock_page() (page_alloc.h). */
TESTPAGEFLAG(Locked, locked)
__SETPAGEFLAG(Locked, locked)
__CLEARPAGEFLAG(Locked, locked)
PAGEFLAG(Referenced, referenced)
PAGEFLAG(Uptodate, uptodate)
PAGEFLAG(Dirty, dirty)
PAGEFLAG(LRU, lru)
PAGEFLAG(Active, active)
PAGEFLAG(Workingset, workingset)
PAGEFLAG(Writeback, writeback)
PAGEFLAG(SwapBacked, swapbacked)
PAGEFLAG(SwapCache, swapcache)
PAGEFLAG(Unevictable, unevictable)
PAGEFLAG(Mlocked, mlocked)
PAGEFLAG(Reclaim, reclaim)
PAGEFLAG(AnonExclusive, anon_exclusive)

#undef TESTPAGEFLAG
#undef SETPAGEFLAG
#undef CLEARPAGEFLAG
#undef __SETPAGEFLAG
#undef __CLEARPAGEFLAG
#undef TESTSETFLAG
#undef TESTCLEARFLAG
#undef PAGEFLAG

/* The name of a pageflags bit ("locked", "dirty" ...), for reports. */
const char *pageflag_name(enum pageflags bit);
const char *frame_state_name(enum frame_state state);

static inline enum frame_state page_frame_state(const struct page *page)
{
	return READ_ONCE(page->state);
}

/* ---- mapping: address_space or anon_vma ---- */

#define PAGE_MAPPING_ANON 0x1UL

static inline bool PageAnon(const struct page *page)
{
	return (unsigned long)READ_ONCE(page->mapping) & PAGE_MAPPING_ANON;
}

static inline struct anon_vma *page_anon_vma(const struct page *page)
{
	unsigned long mapping = (unsigned long)READ_ONCE(page->mapping);

	if (!(mapping & PAGE_MAPPING_ANON))
		return NULL;
	return (struct anon_vma *)(mapping - PAGE_MAPPING_ANON);
}

/* The file mapping, NULL for anonymous pages (the swap cache has none yet). */
static inline struct address_space *page_mapping(const struct page *page)
{
	struct address_space *mapping = READ_ONCE(page->mapping);

	if ((unsigned long)mapping & PAGE_MAPPING_ANON)
		return NULL;
	return mapping;
}

/* ---- reference counts ---- */

void __put_page(struct page *page);
void __put_page_underflow(struct page *page);
void __get_page_on_free(struct page *page);

static inline int page_ref_count(const struct page *page)
{
	return atomic_read(&page->_refcount);
}

static inline int page_count(const struct page *page)
{
	return page_ref_count(page);
}

static inline void set_page_count(struct page *page, int v)
{
	atomic_set(&page->_refcount, v);
}

static inline void page_ref_add(struct page *page, int nr)
{
	atomic_add(nr, &page->_refcount);
}

/* Drops references without ever freeing: the caller knows others remain. */
static inline void page_ref_sub(struct page *page, int nr)
{
	atomic_sub(nr, &page->_refcount);
}

static inline bool page_ref_sub_and_test(struct page *page, int nr)
{
	return atomic_sub_return(nr, &page->_refcount) == 0;
}

/*
 * Migration's check that @count references are all there are: zero the
 * count if so (a speculative get_page_unless_zero() then fails, and the
 * exchange orders every earlier holder's writes before what follows), and
 * put it back, less what the caller dropped, with page_ref_unfreeze().
 */
static inline bool page_ref_freeze(struct page *page, int count)
{
	return atomic_cmpxchg(&page->_refcount, count, 0) == count;
}

static inline void page_ref_unfreeze(struct page *page, int count)
{
	atomic_set_release(&page->_refcount, count);
}

/* A reference on a page the caller already holds one on, or maps under the PTE lock. */
static inline void get_page(struct page *page)
{
	if (unlikely(atomic_inc_return(&page->_refcount) <= 1))
		__get_page_on_free(page);
}

/*
 * The speculative reference of a lookup that holds nothing yet (GUP-fast,
 * the secondary MMU's fault path): it fails on a page whose last reference
 * is gone, which is about to be freed or already is.  The caller must then
 * recheck that the page is still the one it looked up.
 */
static inline bool get_page_unless_zero(struct page *page)
{
	return atomic_inc_not_zero(&page->_refcount);
}

/* Drop a reference; the last one frees the frame. */
static inline void put_page(struct page *page)
{
	int refs = atomic_dec_return(&page->_refcount);

	if (refs == 0)
		__put_page(page);
	else if (unlikely(refs < 0))
		__put_page_underflow(page);
}

/* ---- map and pin counts ---- */

static inline int page_mapcount(const struct page *page)
{
	return atomic_read(&page->_mapcount);
}

static inline bool page_mapped(const struct page *page)
{
	return page_mapcount(page) > 0;
}

/*
 * The page's side of a FOLL_PIN pin, for gup's try_grab_page() and
 * unpin_user_page(): a reference plus a pin count.  The caller of
 * page_ref_pin() holds a reference or maps the page under its PTE lock.
 */
static inline void page_ref_pin(struct page *page)
{
	get_page(page);
	atomic_inc(&page->_pincount);
}

static inline void page_ref_unpin(struct page *page)
{
	if (WARN_ON(atomic_dec_return(&page->_pincount) < 0)) {
		atomic_inc(&page->_pincount); /* unpin without a pin: keep the reference */
		return;
	}
	put_page(page);
}

/* Exact here (see the header comment), where the kernel's may err towards true. */
static inline bool page_maybe_dma_pinned(const struct page *page)
{
	return atomic_read(&page->_pincount) > 0;
}

#endif
