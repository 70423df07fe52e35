// SPDX-License-Identifier: GPL-2.0
/*
 * Swap files and their slots, after the kernel's mm/swapfile.c.
 *
 * A swap file is a real file, created sparse at the caller's path: slot n
 * is the page at byte n * PAGE_SIZE, and slot 0 (the kernel's header) is
 * never handed out, so a swap entry is never all zeroes.  swap_map[n]
 * counts the swap PTEs that name the slot, plus SWAP_HAS_CACHE while a page
 * of the swap cache stands for it; the slot is free when both are gone.
 *
 * swap_info[] is global, as the kernel's is: a swap entry names its file by
 * type, and one swap file serves every pool and mm.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/bug.h"
#include "mm/swap.h"

/* The swap files by type, and the lock that adds and removes them (the kernel's swap_lock). */
static DEFINE_SPINLOCK(swap_lock);
static struct swap_info_struct *swap_info[MAX_SWAPFILES];

int swapon(const char *path, unsigned long nr_pages)
{
	struct swap_info_struct *si;
	int type, fd;

	if (nr_pages < 2 || nr_pages > SWP_PTE_MAX_OFFSET)
		return -EINVAL;
	si = calloc(1, sizeof(*si));
	if (!si)
		return -ENOMEM;
	si->swap_map = calloc(nr_pages, sizeof(*si->swap_map));
	si->swap_cache = calloc(nr_pages, sizeof(*si->swap_cache));
	si->path = strdup(path);
	if (!si->swap_map || !si->swap_cache || !si->path) {
		type = -ENOMEM;
		goto err;
	}
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		type = -errno;
		goto err;
	}
	/* Sparse: the file takes disk space only where slots are written. */
	if (ftruncate(fd, (off_t)(nr_pages << PAGE_SHIFT))) {
		type = -errno;
		close(fd);
		goto err;
	}
	si->fd = fd;
	si->max = nr_pages;
	si->cluster_next = 1;
	spin_lock_init(&si->lock);

	spin_lock(&swap_lock);
	for (type = 0; type < MAX_SWAPFILES && swap_info[type]; type++)
		;
	if (type < MAX_SWAPFILES) {
		si->type = type;
		swap_info[type] = si;
	}
	spin_unlock(&swap_lock);
	if (type < MAX_SWAPFILES)
		return type;
	close(fd);
	type = -EPERM; /* the kernel's answer to one swapon too many */
err:
	free(si->path);
	free(si->swap_cache);
	free(si->swap_map);
	free(si);
	return type;
}

/*
 * Slots that only the swap cache holds: the last swap PTE went while its
 * page was locked (free_swap_and_cache() only tries the lock), and reclaim
 * has not come by to drop the page since.  Drop each such page now.  The
 * map is read without the lock first, as the kernel's
 * find_next_to_unuse() reads it, and each candidate checked again under
 * it: a swap file of 64 GiB has 16 M slots, nearly all free at exit.
 */
static void drop_orphaned_swap_cache(struct swap_info_struct *si)
{
	for (unsigned long offset = 1; offset < si->max; offset++) {
		struct page *page = NULL;

		if (READ_ONCE(si->swap_map[offset]) != SWAP_HAS_CACHE)
			continue;
		spin_lock(&si->lock);
		if (si->swap_map[offset] == SWAP_HAS_CACHE) {
			page = si->swap_cache[offset];
			get_page(page);
		}
		spin_unlock(&si->lock);
		if (!page)
			continue;
		lock_page(page);
		try_to_free_swap(page);
		unlock_page(page);
		put_page(page);
	}
}

int swapoff(int type)
{
	struct swap_info_struct *si;
	unsigned long busy = 0;

	if (type < 0 || type >= MAX_SWAPFILES)
		return -EINVAL;
	spin_lock(&swap_lock);
	si = swap_info[type];
	spin_unlock(&swap_lock);
	if (!si)
		return -EINVAL;
	might_sleep();
	drop_orphaned_swap_cache(si);

	spin_lock(&swap_lock);
	si = swap_info[type];
	if (si) {
		spin_lock(&si->lock);
		busy = si->inuse_pages;
		spin_unlock(&si->lock);
		if (!busy)
			swap_info[type] = NULL;
	}
	spin_unlock(&swap_lock);
	if (!si)
		return -EINVAL;
	if (busy)
		return -EBUSY;
	close(si->fd);
	free(si->path);
	free(si->swap_cache);
	free(si->swap_map);
	free(si);
	return 0;
}

/*
 * The swap file an entry names.  An entry in a PTE or the swap cache holds
 * its slot, and swapoff() refuses while a slot is held, so the file stays.
 */
struct swap_info_struct *swp_swap_info(swp_entry_t entry)
{
	struct swap_info_struct *si;
	unsigned int type = swp_type(entry);

	if (WARN_ON(type >= MAX_SWAPFILES))
		return NULL;
	spin_lock(&swap_lock);
	si = swap_info[type];
	spin_unlock(&swap_lock);
	if (WARN_ON(!si || !swp_offset(entry) || swp_offset(entry) >= si->max))
		return NULL;
	return si;
}

static unsigned long count_slots(bool used)
{
	unsigned long n = 0;

	spin_lock(&swap_lock);
	for (int type = 0; type < MAX_SWAPFILES; type++) {
		struct swap_info_struct *si = swap_info[type];

		if (!si)
			continue;
		spin_lock(&si->lock);
		n += used ? si->inuse_pages : si->max - 1 - si->inuse_pages;
		spin_unlock(&si->lock);
	}
	spin_unlock(&swap_lock);
	return n;
}

unsigned long nr_swap_pages_used(void)
{
	return count_slots(true);
}

unsigned long nr_swap_pages_free(void)
{
	return count_slots(false);
}

/* ---- slots ---- */

/*
 * A free slot of @si (next fit from the last one), or 0: no swap clusters,
 * as the kernel's allocator has.  si->lock held.
 */
static unsigned long scan_swap_map(struct swap_info_struct *si)
{
	unsigned long offset = si->cluster_next;

	if (si->inuse_pages >= si->max - 1)
		return 0;
	for (unsigned long n = 0; n < si->max; n++, offset++) {
		if (offset >= si->max)
			offset = 1;
		if (!si->swap_map[offset]) {
			si->cluster_next = offset + 1;
			return offset;
		}
	}
	return 0;
}

/*
 * Give the locked, unmapped-or-not anon page @page a slot and make it the
 * slot's swap cache page in one step under si->lock, so that a slot has
 * SWAP_HAS_CACHE exactly while its cache entry is set: a faulting thread
 * that finds SWAP_HAS_CACHE (read_swap_cache_async()) always finds the page.
 */
int add_to_swap_slot(struct page *page)
{
	WARN_ON(!PageLocked(page));
	WARN_ON(PageSwapCache(page));

	for (int type = 0; type < MAX_SWAPFILES; type++) {
		struct swap_info_struct *si;
		unsigned long offset;

		spin_lock(&swap_lock);
		si = swap_info[type];
		if (si)
			spin_lock(&si->lock);
		spin_unlock(&swap_lock);
		if (!si)
			continue;
		offset = scan_swap_map(si);
		if (offset) {
			si->swap_map[offset] = SWAP_HAS_CACHE;
			si->inuse_pages++;
			get_page(page); /* the swap cache's */
			si->swap_cache[offset] = page;
			WRITE_ONCE(page->private, swp_entry(type, offset).val);
			SetPageSwapCache(page);
		}
		spin_unlock(&si->lock);
		if (offset)
			return 0;
	}
	return -ENOSPC;
}

/* si->lock held: a count went to zero, is the slot free now? */
static void swap_slot_maybe_free(struct swap_info_struct *si, unsigned long offset)
{
	if (!si->swap_map[offset])
		si->inuse_pages--;
}

int swap_duplicate(swp_entry_t entry)
{
	struct swap_info_struct *si = swp_swap_info(entry);
	unsigned long offset = swp_offset(entry);
	int ret = 0;

	if (!si)
		return -ENOENT;
	spin_lock(&si->lock);
	if (!si->swap_map[offset])
		ret = -ENOENT;
	else if (WARN_ON((si->swap_map[offset] & SWAP_MAP_MAX) == SWAP_MAP_MAX))
		ret = -ENOMEM;
	else
		si->swap_map[offset]++;
	spin_unlock(&si->lock);
	return ret;
}

void swap_free(swp_entry_t entry)
{
	struct swap_info_struct *si = swp_swap_info(entry);
	unsigned long offset = swp_offset(entry);

	if (!si)
		return;
	spin_lock(&si->lock);
	if (!WARN_ON(!(si->swap_map[offset] & SWAP_MAP_MAX))) {
		si->swap_map[offset]--;
		swap_slot_maybe_free(si, offset);
	}
	spin_unlock(&si->lock);
}

int __swap_count(swp_entry_t entry)
{
	struct swap_info_struct *si = swp_swap_info(entry);
	int count;

	if (!si)
		return 0;
	spin_lock(&si->lock);
	count = si->swap_map[swp_offset(entry)] & SWAP_MAP_MAX;
	spin_unlock(&si->lock);
	return count;
}

/*
 * zap of a swap PTE (munmap, exit, MADV_DONTNEED): the PTE's count goes.
 * If the swap cache page is all that holds the slot now, try to free both
 * (the kernel's free_swap_and_cache()): the page lock is only tried, as the
 * caller holds the PTE lock; a page we cannot lock stays in the swap cache
 * for reclaim to find and drop.
 */
void free_swap_and_cache(swp_entry_t entry)
{
	struct swap_info_struct *si = swp_swap_info(entry);
	unsigned long offset = swp_offset(entry);
	struct page *page = NULL;

	if (!si)
		return;
	spin_lock(&si->lock);
	if (!WARN_ON(!(si->swap_map[offset] & SWAP_MAP_MAX))) {
		si->swap_map[offset]--;
		if (si->swap_map[offset] == SWAP_HAS_CACHE) {
			page = si->swap_cache[offset];
			get_page(page);
		}
		swap_slot_maybe_free(si, offset);
	}
	spin_unlock(&si->lock);
	if (!page)
		return;
	if (trylock_page(page)) {
		try_to_free_swap(page);
		unlock_page(page);
	}
	put_page(page);
}

/* ---- I/O ---- */

/*
 * A slot's I/O failed.  Callers see -EIO and keep the page (a write-back
 * leaves it dirty in the swap cache, as the kernel's end_swap_bio_write()
 * does), which is all the mm needs; but the cause is the user's to fix (a
 * full disk, a file-size limit), and what reclaim reports later -- an
 * allocation that found nothing to free -- would hide it.  So, as the
 * kernel's pr_alert_ratelimited("Write-error on swap-device"), say it once
 * per swap file, naming the file, the offset and the errno, and keep the
 * first for swap_describe_error().
 */
static void swap_io_error(struct swap_info_struct *si, off_t pos, int err, bool write)
{
	bool first;

	spin_lock(&si->lock);
	first = !si->io_error;
	if (first) {
		si->io_error = err;
		si->io_error_pos = pos;
		si->io_error_write = write;
	}
	si->nr_io_errors++;
	spin_unlock(&si->lock);
	if (first)
		fprintf(stderr, "nopin: %s-error on swap file %s at offset %#llx: %s\n",
			write ? "Write" : "Read", si->path, (unsigned long long)pos,
			strerror(-err));
}

static int swap_rw(struct swap_info_struct *si, unsigned long offset, void *buf, bool write)
{
	off_t pos = (off_t)(offset << PAGE_SHIFT);
	size_t done = 0;

	while (done < PAGE_SIZE) {
		ssize_t n =
			write ? pwrite(si->fd, (char *)buf + done, PAGE_SIZE - done, pos + done) :
				pread(si->fd, (char *)buf + done, PAGE_SIZE - done, pos + done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			swap_io_error(si, pos + done, n < 0 ? -errno : -EIO, write);
			return -EIO;
		}
		done += n;
	}
	atomic_long_inc(write ? &si->nr_writes : &si->nr_reads);
	return 0;
}

int swap_writepage(struct page *page)
{
	swp_entry_t entry = page_swap_entry(page);
	struct swap_info_struct *si = swp_swap_info(entry);

	WARN_ON(!PageLocked(page) || !PageSwapCache(page));
	if (!si)
		return -EIO;
	return swap_rw(si, swp_offset(entry), page_address(page), true);
}

int swap_readpage(struct page *page)
{
	swp_entry_t entry = page_swap_entry(page);
	struct swap_info_struct *si = swp_swap_info(entry);

	WARN_ON(!PageLocked(page) || !PageSwapCache(page));
	if (!si)
		return -EIO;
	return swap_rw(si, swp_offset(entry), page_address(page), false);
}

bool swap_describe_error(char *buf, size_t len)
{
	bool found = false;

	spin_lock(&swap_lock);
	for (int type = 0; type < MAX_SWAPFILES && !found; type++) {
		struct swap_info_struct *si = swap_info[type];

		if (!si)
			continue;
		spin_lock(&si->lock);
		if (si->io_error) {
			snprintf(buf, len,
				 "%s of swap file %s at offset %#llx failed: %s (%lu failed)",
				 si->io_error_write ? "a write-back" : "a read", si->path,
				 (unsigned long long)si->io_error_pos, strerror(-si->io_error),
				 si->nr_io_errors);
			found = true;
		}
		spin_unlock(&si->lock);
	}
	spin_unlock(&swap_lock);
	return found;
}
