// SPDX-License-Identifier: GPL-2.0
/*
 * Truncation and hole punching, after the kernel's mm/truncate.c: taking a
 * range of a file away from the page cache and from every process that
 * maps it, without any process's mmap_lock.  Taking it from the processes
 * is unmap_mapping_range() in mm/memory.c, the zap every other path uses.
 *
 * Shrinking a file goes in the kernel's order (truncate_setsize() and
 * truncate_pagecache()):
 *   1. i_size drops first, so that no new fault maps a page past it
 *      (filemap_get_page() rechecks i_size once its new page is cached);
 *   2. unmap_mapping_range(): every PTE mapping the range, found through
 *      i_mmap under i_mmap_rwsem (read), is zapped under
 *      invalidate_range_start/end (MMU_NOTIFY_CLEAR; rule 1, invalidate
 *      before free), the private anonymous COWs of the file's pages too
 *      (even_cows): past the end of the file a private mapping gets SIGBUS
 *      like a shared one;
 *   3. truncate_inode_pages_range(): each page is locked, unmapped again
 *      if a fault mapped it meanwhile, and dropped from the cache;
 *   4. unmap_mapping_range() once more, for COWs copied from a page
 *      between 2 and 3;
 *   5. the backing file shrinks.
 * Pages go back to the pool from the zap's gather, after the notifier
 * start, or when the cache drops its reference: never while mapped.
 *
 * The kernel serialises truncations of one inode with its i_rwsem, and
 * keeps faults out of a range being truncated or punched with the
 * mapping's invalidate_lock.  The model has neither: callers serialise
 * their truncations of one file, and a fault racing a hole punch may map
 * the old contents until the punch's second pass (see vfs_fallocate()).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "base/bug.h"
#include "base/sched_point.h"
#include "mm/internal.h"

/* ---- dropping pages from the cache ---- */

/*
 * A locked page of @mapping leaves the cache: unmapped first if a fault
 * mapped it since the range was unmapped, its dirt thrown away (the bytes
 * are gone from the file), and the cache's reference dropped.
 */
static void truncate_inode_page(struct address_space *mapping, struct page *page)
{
	if (page_mapped(page))
		unmap_mapping_page(page);
	ClearPageDirty(page);
	delete_from_page_cache(page);
}

/* Zero [from, to) of the cached page at @index, if it is cached (a partial page of the range). */
static void truncate_partial_page(struct address_space *mapping, unsigned long index,
				  unsigned int from, unsigned int to)
{
	struct page *page = find_get_page(mapping, index);

	if (!page)
		return;
	lock_page(page);
	if (page->mapping == mapping && PageUptodate(page))
		memset((char *)page_address(page) + from, 0, to - from);
	unlock_page(page);
	put_page(page);
}

#define TRUNCATE_BATCH 16

/*
 * Drop the whole pages [start, end) from the cache.  A page whose mapping
 * changed while we waited for its lock was truncated by someone else, or
 * migrated, and then its replacement is in the cache: look again until a
 * pass finds nothing of ours left.
 */
static void truncate_whole_pages(struct address_space *mapping, unsigned long start,
				 unsigned long end)
{
	struct page *pages[TRUNCATE_BATCH];
	bool again;

	do {
		unsigned long index = start;
		unsigned int nr;

		again = false;
		while (index < end &&
		       (nr = find_get_pages(mapping, &index, false, pages, TRUNCATE_BATCH))) {
			for (unsigned int i = 0; i < nr; i++) {
				struct page *page = pages[i];

				if (page->index < end) {
					lock_page(page);
					if (page->mapping == mapping)
						truncate_inode_page(mapping, page);
					else
						again = true;
					unlock_page(page);
				}
				put_page(page);
			}
		}
	} while (again);
}

/**
 * truncate_inode_pages_range - drop a byte range of a file from the page cache
 * @mapping: the file
 * @lstart: first byte
 * @lend: last byte, inclusive; -1 for the end of the file
 *
 * Whole pages inside the range leave the cache (and any PTE that still
 * maps them); the parts of partial pages at either end are zeroed in place.
 * The caller unmapped the range first (unmap_mapping_range()), so most
 * pages are unmapped already.  May sleep.
 */
void truncate_inode_pages_range(struct address_space *mapping, loff_t lstart, loff_t lend)
{
	unsigned long start = ((unsigned long)lstart + PAGE_SIZE - 1) >> PAGE_SHIFT;
	unsigned int partial_start = lstart & ~PAGE_MASK;
	unsigned int partial_end = 0;
	unsigned long end = ULONG_MAX; /* first page past the whole ones */

	might_sleep();
	if (lend != -1) {
		end = ((unsigned long)lend + 1) >> PAGE_SHIFT;
		partial_end = (lend + 1) & ~PAGE_MASK;
	}
	if (partial_start) {
		unsigned long index = start - 1;
		unsigned int to = PAGE_SIZE;

		/* The range may begin and end in this one page. */
		if (lend != -1 && index == (unsigned long)lend >> PAGE_SHIFT) {
			to = partial_end;
			partial_end = 0;
		}
		truncate_partial_page(mapping, index, partial_start, to);
	}
	if (partial_end)
		truncate_partial_page(mapping, end, 0, partial_end);
	if (start < end)
		truncate_whole_pages(mapping, start, end);
}

void truncate_inode_pages(struct address_space *mapping, loff_t lstart)
{
	truncate_inode_pages_range(mapping, lstart, -1);
}

/*
 * The page cache side of shrinking a file to @newsize, i_size already set:
 * the kernel's truncate_pagecache(), steps 2 to 4 of the header comment.
 */
void truncate_pagecache(struct address_space *mapping, loff_t newsize)
{
	loff_t holebegin = PAGE_ALIGN(newsize);

	unmap_mapping_range(mapping, holebegin, 0, 1);
	sched_point("truncate:after_unmap");
	truncate_inode_pages(mapping, newsize);
	unmap_mapping_range(mapping, holebegin, 0, 1);
}

/*
 * The page cache side of punching [lstart, lend]: whole pages unmapped
 * (their private COWs stay: a private mapping keeps its copy of bytes the
 * file no longer has), partial pages zeroed.  The kernel's
 * truncate_pagecache_range().
 */
void truncate_pagecache_range(struct address_space *mapping, loff_t lstart, loff_t lend)
{
	loff_t unmap_start = PAGE_ALIGN(lstart);
	loff_t unmap_end = ((lend + 1) & PAGE_MASK) - 1;

	if (unmap_end > unmap_start)
		unmap_mapping_range(mapping, unmap_start, 1 + unmap_end - unmap_start, 0);
	sched_point("punch_hole:after_unmap");
	truncate_inode_pages_range(mapping, lstart, lend);
}

/* ---- files ---- */

/**
 * vfs_truncate - set the size of a file
 * @file: the file
 * @size: the new size in bytes
 *
 * Growing only moves i_size (and the backing file's end): the new pages
 * read as zeroes.  Shrinking drops everything past the new end from the
 * cache and from every mapping, shared or private, and zeroes the tail of
 * a partial last page, so a later growth reads zeroes there too.  Returns
 * 0, -EINVAL, or the backing file's -errno.
 */
int vfs_truncate(struct file *file, loff_t size)
{
	struct address_space *mapping;
	loff_t oldsize;

	if (!file || size < 0)
		return -EINVAL;
	mapping = file->f_mapping;
	oldsize = i_size_read(mapping);
	if (size >= oldsize) {
		if (mapping->fd >= 0 && ftruncate(mapping->fd, size) < 0)
			return -errno;
		WRITE_ONCE(mapping->i_size, size);
		return 0;
	}
	/* The kernel's truncate_setsize(): i_size first, then the pages. */
	WRITE_ONCE(mapping->i_size, size);
	truncate_pagecache(mapping, size);
	/* Last, so a writeback that read the old i_size cannot write past the new end. */
	if (mapping->fd >= 0 && ftruncate(mapping->fd, size) < 0)
		return -errno;
	return 0;
}

/*
 * The backing file's side of a punch.  The kernel frees the blocks; a
 * filesystem that cannot punch makes the model write zeroes instead.
 */
static int punch_backing_file(int fd, loff_t offset, loff_t len)
{
	static const char zeroes[PAGE_SIZE];

	if (!fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, len))
		return 0;
	if (errno != EOPNOTSUPP)
		return -errno;
	while (len > 0) {
		size_t n = len < (loff_t)sizeof(zeroes) ? (size_t)len : sizeof(zeroes);
		ssize_t done = pwrite(fd, zeroes, n, offset);

		if (done < 0 && errno == EINTR)
			continue;
		if (done <= 0)
			return -EIO;
		offset += done;
		len -= done;
	}
	return 0;
}

/**
 * vfs_fallocate - punch a hole in a file
 * @file: the file
 * @mode: FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, the only mode modelled
 * @offset: first byte
 * @len: bytes
 *
 * The bytes read as zeroes afterwards, through the cache, every shared
 * mapping and the backing file; private COWs of the punched pages stay.
 * The cache is dropped before the backing file is punched (a dirty page
 * written back later would bring the old bytes back) and again after (a
 * fault in between may have read them in); a reader racing the punch may
 * see the old bytes until it returns.  0, -EINVAL, -EOPNOTSUPP or -errno.
 */
int vfs_fallocate(struct file *file, int mode, loff_t offset, loff_t len)
{
	struct address_space *mapping;
	loff_t end;
	int err = 0;

	if (!file || offset < 0 || len <= 0)
		return -EINVAL;
	if (mode != (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE))
		return -EOPNOTSUPP;
	mapping = file->f_mapping;
	/* Nothing past the end of the file to punch. */
	if (offset >= i_size_read(mapping))
		return 0;
	end = offset + min(len, i_size_read(mapping) - offset) - 1;

	truncate_pagecache_range(mapping, offset, end);
	if (mapping->fd >= 0) {
		err = punch_backing_file(mapping->fd, offset, end + 1 - offset);
		sched_point("punch_hole:after_backing_file");
		truncate_pagecache_range(mapping, offset, end);
	}
	return err;
}
