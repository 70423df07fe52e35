/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Page migration [mm/migrate.c]: moving a page that processes map to a new
 * frame, after the kernel's include/linux/migrate.h.  The host may do this
 * to any unpinned page at any moment (compaction, NUMA balancing); a
 * secondary MMU hears of it through invalidate_range_start with
 * MMU_NOTIFY_MIGRATE and refaults the new frame afterwards.
 */
#ifndef NOPIN_MM_MIGRATE_H
#define NOPIN_MM_MIGRATE_H

#include <stdint.h>

#include "mm/mm.h"

enum migrate_mode {
	MIGRATE_ASYNC, /* never sleep on the page lock: -EAGAIN instead */
	MIGRATE_SYNC,  /* wait for the page lock */
};

/*
 * Move @page to a new frame of its pool.  The caller holds one reference,
 * which this consumes: the isolation reference if @isolated (the page was
 * taken off its LRU list with isolate_lru_page(); the new page, or the old
 * one on failure, goes back to a list), else a plain one, and then the
 * page must be on no LRU list and kept off them by the caller (migration
 * changes its list flags).  Returns 0, or
 * -EBUSY (pinned, or under writeback), -EAGAIN (locked in ASYNC mode,
 * referenced by someone else, or remapped meanwhile: try later), -ENOMEM.
 * On failure the page is where it was, mapped as before.  May sleep.
 */
int migrate_page_to_new(struct page *page, bool isolated, enum migrate_mode mode);

/*
 * The kernel's migrate_pages() for a list of isolated pages (on page->lru,
 * each with its isolation reference): pages migrated leave the list, the
 * ones that failed stay on it for the caller's putback_lru_pages().
 * Returns how many failed; *@nr_succeeded (may be NULL) how many moved.
 */
int migrate_pages(struct list_head *from, enum migrate_mode mode, unsigned int *nr_succeeded);

/* What migrate_random_pages() did. */
struct migrate_stats {
	unsigned long scanned;	/* addresses tried */
	unsigned long migrated; /* pages moved */
	unsigned long busy;	/* -EBUSY: pinned or under writeback */
	unsigned long again;	/* -EAGAIN: locked or referenced elsewhere */
	unsigned long nomem;	/* -ENOMEM */
};

/*
 * A stand-in for compaction and NUMA balancing: pick up to @nr random
 * present pages of @mm (up to 4 * @nr tries; @seed is the caller's
 * xorshift state) and migrate each (MIGRATE_SYNC).  Takes mmap_lock for
 * read only while it looks the pages up.  Returns pages migrated;
 * @stats (may be NULL) is added to.
 */
long migrate_random_pages(struct mm_struct *mm, unsigned long nr, uint64_t *seed,
			  struct migrate_stats *stats);

#endif
