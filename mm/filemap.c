// SPDX-License-Identifier: GPL-2.0
/*
 * Files and the page cache, after the kernel's mm/filemap.c and the parts of
 * fs/ a mapping needs: opening a real file, the cache of its pages, reading
 * a page in, dirtying and writing one back.
 *
 * A regular file is a real file on disk, read and written a page at a time
 * with pread()/pwrite().  A shmem file (MAP_SHARED|MAP_ANONYMOUS) has no
 * backing file: its pages start zeroed and are swap-backed, so writeback
 * leaves them alone (and reclaim does not swap them out yet: mm/vmscan.c).
 *
 * The cache of a mapping is a red-black tree of pages by index under
 * mapping->i_pages_lock (the kernel's xarray and its lock).  The cache
 * holds one reference on each of its pages.  A page enters the cache locked
 * and not uptodate; whoever inserted it reads it in and unlocks it, and a
 * lookup that finds it not uptodate waits on the page lock.
 *
 * Lock order: the page lock, then i_pages_lock (innermost: nothing is taken
 * under it).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/sys/tree.h>

#include "base/bug.h"
#include "base/sched_point.h"
#include "mm/internal.h"
#include "mm/swap.h"

/* One cached page: the node of mapping->i_pages. */
struct page_cache_entry {
	RB_ENTRY(page_cache_entry) rb;
	unsigned long index;
	struct page *page;
};

static int page_cache_cmp(struct page_cache_entry *a, struct page_cache_entry *b)
{
	if (a->index != b->index)
		return a->index < b->index ? -1 : 1;
	return 0;
}

/* RB_GENERATE_STATIC spelled out: libbsd leaves BSD's __unused undefined. */
RB_GENERATE_INTERNAL(page_cache_tree, page_cache_entry, rb, page_cache_cmp, __maybe_unused static)

/*
 * Pages read from the file or zeroed are published uptodate: the contents
 * are written before the bit is set (the kernel's folio_mark_uptodate()).
 */
static void page_mark_uptodate(struct page *page)
{
	smp_wmb();
	SetPageUptodate(page);
}

/*
 * Pairs with page_mark_uptodate(): whoever sees the bit sees the contents
 * (the kernel's folio_test_uptodate()).  A page not uptodate is not read,
 * so it needs no barrier.
 */
static bool page_test_uptodate(struct page *page)
{
	bool ret = PageUptodate(page);

	if (ret)
		smp_rmb();
	return ret;
}

static bool mapping_shmem(const struct address_space *mapping)
{
	return test_bit(AS_SHMEM, &mapping->flags);
}

/* Pages [0, i_size) exist; the one holding the last byte is the last. */
static unsigned long mapping_nr_pages(const struct address_space *mapping)
{
	return ((unsigned long)i_size_read(mapping) + PAGE_SIZE - 1) >> PAGE_SHIFT;
}

/* ---- the cache tree, i_pages_lock held ---- */

static struct page_cache_entry *page_cache_lookup(struct address_space *mapping,
						  unsigned long index)
{
	struct page_cache_entry key = { .index = index };

	return RB_FIND(page_cache_tree, &mapping->i_pages, &key);
}

/* The first cached entry at or after @index. */
static struct page_cache_entry *page_cache_next(struct address_space *mapping, unsigned long index)
{
	struct page_cache_entry key = { .index = index };

	return RB_NFIND(page_cache_tree, &mapping->i_pages, &key);
}

/*
 * Up to @nr pages from index *@start on, dirty ones only if @dirty, each
 * with a reference; *@start moves past the last one returned.  The kernel's
 * find_get_pages_range_tag() (or filemap_get_folios()).
 */
unsigned int find_get_pages(struct address_space *mapping, unsigned long *start, bool dirty,
			    struct page **pages, unsigned int nr)
{
	struct page_cache_entry *entry;
	unsigned int found = 0;

	spin_lock(&mapping->i_pages_lock);
	for (entry = page_cache_next(mapping, *start); entry && found < nr;
	     entry = RB_NEXT(page_cache_tree, &mapping->i_pages, entry)) {
		*start = entry->index + 1;
		if (dirty && !PageDirty(entry->page))
			continue;
		get_page(entry->page);
		pages[found++] = entry->page;
	}
	spin_unlock(&mapping->i_pages_lock);
	return found;
}

/* ---- lookup and insertion ---- */

/* The cached page at @index with a reference, or NULL. */
struct page *find_get_page(struct address_space *mapping, unsigned long index)
{
	struct page_cache_entry *entry;
	struct page *page = NULL;

	spin_lock(&mapping->i_pages_lock);
	entry = page_cache_lookup(mapping, index);
	if (entry) {
		page = entry->page;
		/* The cache's own reference keeps it alive under the lock. */
		get_page(page);
	}
	spin_unlock(&mapping->i_pages_lock);
	return page;
}

/*
 * Insert a new locked @page at @index.  Returns 0, or -EEXIST if another
 * thread cached a page there first (the caller then uses that one).
 */
static int add_to_page_cache_locked(struct page *page, struct address_space *mapping,
				    unsigned long index)
{
	struct page_cache_entry *entry = malloc(sizeof(*entry));

	if (!entry)
		return -ENOMEM;
	entry->index = index;
	entry->page = page;
	page->index = index;
	page->mapping = mapping;

	spin_lock(&mapping->i_pages_lock);
	if (RB_INSERT(page_cache_tree, &mapping->i_pages, entry)) {
		spin_unlock(&mapping->i_pages_lock);
		page->mapping = NULL;
		free(entry);
		return -EEXIST;
	}
	get_page(page); /* the cache's reference */
	mapping->nrpages++;
	spin_unlock(&mapping->i_pages_lock);
	return 0;
}

/*
 * Remove a page from the cache: the kernel's __filemap_remove_folio() and
 * the put of the cache's reference.  The page is locked (which keeps
 * lookups that wait on it from taking it for a cached page) and unmapped.
 */
void delete_from_page_cache(struct page *page)
{
	struct address_space *mapping = page_mapping(page);
	struct page_cache_entry *entry;

	WARN_ON(!PageLocked(page));
	WARN_ON(page_mapped(page));
	if (WARN_ON(!mapping))
		return;

	spin_lock(&mapping->i_pages_lock);
	entry = page_cache_lookup(mapping, page->index);
	if (WARN_ON(!entry || entry->page != page)) {
		spin_unlock(&mapping->i_pages_lock);
		return;
	}
	RB_REMOVE(page_cache_tree, &mapping->i_pages, entry);
	mapping->nrpages--;
	WRITE_ONCE(page->mapping, NULL);
	spin_unlock(&mapping->i_pages_lock);

	free(entry);
	put_page(page);
}

/*
 * Migration's step in the cache (the page-cache half of the kernel's
 * folio_migrate_mapping()): if @page, locked and unmapped, holds exactly
 * @expected_count references (the migrator's and the cache's), its slot
 * now names @newpage, which takes over the mapping, the index and the
 * cache's reference.  Under i_pages_lock, so no lookup can take a new
 * reference to @page after the count was checked.  0 or -EAGAIN.
 */
int filemap_migrate_page(struct address_space *mapping, struct page *newpage, struct page *page,
			 int expected_count)
{
	struct page_cache_entry *entry;

	WARN_ON(!PageLocked(page) || !PageLocked(newpage));
	spin_lock(&mapping->i_pages_lock);
	entry = page_cache_lookup(mapping, page->index);
	if (WARN_ON(!entry || entry->page != page) || !page_ref_freeze(page, expected_count)) {
		spin_unlock(&mapping->i_pages_lock);
		return -EAGAIN;
	}
	newpage->index = page->index;
	WRITE_ONCE(newpage->mapping, mapping);
	get_page(newpage);
	entry->page = newpage;
	WRITE_ONCE(page->mapping, NULL);
	page_ref_unfreeze(page, expected_count - 1); /* less the cache's */
	spin_unlock(&mapping->i_pages_lock);
	return 0;
}

/* ---- reading a page in ---- */

static int read_full(int fd, void *buf, size_t len, off_t pos, size_t *done)
{
	*done = 0;
	while (*done < len) {
		ssize_t n = pread(fd, (char *)buf + *done, len - *done, pos + *done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -EIO;
		if (n == 0)
			break; /* end of file: the rest reads as zeroes */
		*done += n;
	}
	return 0;
}

/* Fill a new, locked page-cache page from the file, or with zeroes (shmem). */
static int filemap_read_page(struct address_space *mapping, struct page *page)
{
	void *addr = page_address(page);
	size_t done = 0;
	int err = 0;

	if (!mapping_shmem(mapping))
		err = read_full(mapping->fd, addr, PAGE_SIZE, (off_t)page->index << PAGE_SHIFT,
				&done);
	if (err)
		return err;
	memset((char *)addr + done, 0, PAGE_SIZE - done);
	page_mark_uptodate(page);
	return 0;
}

/*
 * Allocate, cache and read the page at @index.  Returns it with a
 * reference, NULL if another thread cached that index first (look again),
 * or ERR_PTR(-ENOMEM/-EIO).
 */
static struct page *filemap_create_page(struct address_space *mapping, unsigned long index)
{
	struct page *page;
	int err;

	page = alloc_page(mapping->pool, GFP_KERNEL);
	if (!page)
		return ERR_PTR(-ENOMEM);
	if (mapping_shmem(mapping))
		__SetPageSwapBacked(page);
	/* Nobody can see it yet: this cannot fail, but lockdep must hear of it. */
	WARN_ON(!trylock_page(page));

	err = add_to_page_cache_locked(page, mapping, index);
	if (err) {
		unlock_page(page);
		put_page(page);
		return err == -EEXIST ? NULL : ERR_PTR(err);
	}
	/* Reclaim finds it on the LRU from now on (locked until it is read). [mm/swap.c] */
	lru_cache_add(page);

	/*
	 * A truncation that lowered i_size after our caller checked it may
	 * have passed this index already: it sets i_size before it looks in
	 * the cache, and i_pages_lock orders its look after our insertion or
	 * our check after its store.  Past the end, take the page back out.
	 */
	if (index >= mapping_nr_pages(mapping)) {
		delete_from_page_cache(page);
		unlock_page(page);
		put_page(page);
		return NULL;
	}

	/* Cached, locked, not yet uptodate: what a racing lookup must wait for. */
	sched_point("filemap:read_page");
	err = filemap_read_page(mapping, page);
	if (err) {
		delete_from_page_cache(page);
		unlock_page(page);
		put_page(page);
		return ERR_PTR(err);
	}
	unlock_page(page);
	return page;
}

/*
 * A cached page that is not uptodate is being read in by whoever inserted
 * it: wait for that on the page lock.  False if the read failed (the page
 * has then left the cache); the caller drops it and looks again.
 */
static bool filemap_wait_uptodate(struct address_space *mapping, struct page *page)
{
	bool ok;

	if (page_test_uptodate(page))
		return true;
	lock_page(page);
	ok = page->mapping == mapping && page_test_uptodate(page);
	unlock_page(page);
	return ok;
}

/*
 * The page at @index of @mapping, from the cache or read in, uptodate and
 * unlocked, with a reference the caller drops.  NULL if @index is past
 * i_size (the fault's SIGBUS); ERR_PTR(-ENOMEM) or ERR_PTR(-EIO).  May sleep.
 */
struct page *filemap_get_page(struct address_space *mapping, unsigned long index)
{
	struct page *page;
	int tries = 0;

	might_sleep();
	for (;;) {
		if (index >= mapping_nr_pages(mapping))
			return NULL;
		page = find_get_page(mapping, index);
		if (!page) {
			page = filemap_create_page(mapping, index);
			if (page)
				return page;
			continue; /* lost the race to insert: take the winner's */
		}
		if (filemap_wait_uptodate(mapping, page))
			return page;
		put_page(page);
		/* Someone else's read failed; try one read of our own, then give up. */
		if (++tries > 1)
			return ERR_PTR(-EIO);
	}
}

/* ---- dirty pages and writeback ---- */

/*
 * Mark a page dirty: it must be written back before it may be dropped.
 * True if it was clean.  For a page-cache page the caller holds the page
 * lock or a PTE lock of a PTE mapping it (the kernel's rule), so the page
 * cannot leave the cache meanwhile.
 */
bool set_page_dirty(struct page *page)
{
	return !TestSetPageDirty(page);
}

/*
 * Clean the page for writing it out: first move the dirty bits of its
 * shared PTEs into the page and write-protect them (page_mkclean), then
 * test-and-clear the page's own.  A write through a PTE after this faults,
 * and the fault dirties the page again under the page lock we hold, so no
 * write is lost between the copy to the file and the clearing of the bit.
 * (The kernel's folio_clear_dirty_for_io().)
 */
static bool clear_page_dirty_for_io(struct page *page)
{
	if (page_mkclean(page))
		set_page_dirty(page);
	return TestClearPageDirty(page);
}

/*
 * A page's write-back failed: the caller redirties it and returns -EIO,
 * all the mm needs.  The cause (a full disk, a file-size limit) is the
 * user's to fix and what reclaim reports later would hide it, so, as the
 * kernel's "lost async page write", say it once per file with the file,
 * the offset and the errno, and keep the first (mapping_describe_error()).
 */
static void mapping_write_error(struct address_space *mapping, loff_t pos, int err)
{
	bool first;

	spin_lock(&mapping->i_pages_lock);
	first = !mapping->wb_err;
	if (first) {
		mapping->wb_err = err;
		mapping->wb_err_pos = pos;
	}
	mapping->nr_wb_errors++;
	spin_unlock(&mapping->i_pages_lock);
	if (first)
		fprintf(stderr, "nopin: lost page write to %s at offset %#llx: %s\n",
			mapping->host && mapping->host->f_path ? mapping->host->f_path : "a file",
			(unsigned long long)pos, strerror(-err));
}

bool mapping_describe_error(struct address_space *mapping, char *buf, size_t len)
{
	bool found;

	spin_lock(&mapping->i_pages_lock);
	found = mapping->wb_err;
	if (found)
		snprintf(buf, len, "a write-back to %s at offset %#llx failed: %s (%lu failed)",
			 mapping->host && mapping->host->f_path ? mapping->host->f_path : "a file",
			 (unsigned long long)mapping->wb_err_pos, strerror(-mapping->wb_err),
			 mapping->nr_wb_errors);
	spin_unlock(&mapping->i_pages_lock);
	return found;
}

/* 0, or -errno with the byte offset that failed in *@failed. */
static int write_full(int fd, const void *buf, size_t len, off_t pos, off_t *failed)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done, pos + done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*failed = pos + done;
			return n < 0 ? -errno : -EIO;
		}
		done += n;
	}
	return 0;
}

/* The bytes of the page below i_size go to the file; past it there is no file. */
static int filemap_write_page(struct address_space *mapping, struct page *page)
{
	loff_t pos = (loff_t)page->index << PAGE_SHIFT;
	loff_t size = i_size_read(mapping);
	off_t failed;
	size_t len;
	int err;

	if (pos >= size)
		return 0;
	len = size - pos < (loff_t)PAGE_SIZE ? (size_t)(size - pos) : PAGE_SIZE;
	err = write_full(mapping->fd, page_address(page), len, pos, &failed);
	if (err) {
		mapping_write_error(mapping, failed, err);
		return -EIO;
	}
	return 0;
}

/*
 * Write a locked page-cache page to its file if it is dirty, and clean it.
 * The page stays locked.  0, or -EIO with the page dirty again.  A shmem
 * page has nowhere to go but swap, which is reclaim's business: left dirty.
 */
int write_one_page(struct page *page)
{
	struct address_space *mapping = page_mapping(page);
	int err;

	WARN_ON(!PageLocked(page));
	if (!mapping || mapping_shmem(mapping))
		return 0;
	if (!clear_page_dirty_for_io(page))
		return 0;

	SetPageWriteback(page);
	err = filemap_write_page(mapping, page);
	if (err)
		set_page_dirty(page); /* redirty: the data is not on disk */
	ClearPageWriteback(page);
	return err;
}

#define PAGE_BATCH 16 /* the kernel's PAGEVEC_SIZE, give or take */

/*
 * Write every dirty page of @mapping to its file.  Each page is written
 * under its page lock; a page truncated from the cache meanwhile is
 * skipped.  0, or -EIO if any page failed (the others are still written).
 */
int filemap_write_and_wait(struct address_space *mapping)
{
	struct page *pages[PAGE_BATCH];
	unsigned long index = 0;
	unsigned int nr, i;
	int err = 0;

	might_sleep();
	if (mapping_shmem(mapping))
		return 0;
	while ((nr = find_get_pages(mapping, &index, true, pages, PAGE_BATCH))) {
		for (i = 0; i < nr; i++) {
			struct page *page = pages[i];

			lock_page(page);
			if (page->mapping == mapping && write_one_page(page))
				err = -EIO;
			unlock_page(page);
			put_page(page);
		}
	}
	return err;
}

/*
 * Drop every page of the cache: the file's last reference is gone, so no
 * VMA maps it (each holds a reference).  The kernel's
 * truncate_inode_pages_final().
 */
static void truncate_inode_pages_final(struct address_space *mapping)
{
	struct page *pages[PAGE_BATCH];
	unsigned long index = 0;
	unsigned int nr, i;

	while ((nr = find_get_pages(mapping, &index, false, pages, PAGE_BATCH))) {
		for (i = 0; i < nr; i++) {
			struct page *page = pages[i];

			lock_page(page);
			if (page->mapping == mapping) {
				ClearPageDirty(page);
				delete_from_page_cache(page);
			}
			unlock_page(page);
			put_page(page);
		}
	}
	WARN_ON(mapping->nrpages);
}

/* ---- files ---- */

static void address_space_init_once(struct address_space *mapping)
{
	/* One site, so every mapping's i_mmap_rwsem is one lockdep class. */
	init_rwsem(&mapping->i_mmap_rwsem);
	interval_tree_root_init(&mapping->i_mmap);
	spin_lock_init(&mapping->i_pages_lock);
	RB_INIT(&mapping->i_pages);
	mapping->nrpages = 0;
	mapping->flags = 0;
}

static struct file *alloc_file(struct frame_pool *pool, const char *path, int fd, loff_t size)
{
	struct file *file = calloc(1, sizeof(*file));

	if (!file)
		return NULL;
	file->f_path = strdup(path);
	if (!file->f_path) {
		free(file);
		return NULL;
	}
	atomic_set(&file->f_count, 1);
	file->f_mapping = &file->f_mapping_obj;
	address_space_init_once(file->f_mapping);
	file->f_mapping->host = file;
	file->f_mapping->i_size = size;
	file->f_mapping->fd = fd;
	file->f_mapping->pool = pool;
	return file;
}

/*
 * Open @path (open(2)'s @flags and @mode) as a file that can be mapped.
 * The descriptor keeps the access mode, which mmap checks.  ERR_PTR(-errno).
 */
struct file *filp_open(struct frame_pool *pool, const char *path, int flags, mode_t mode)
{
	struct file *file;
	struct stat st;
	int fd, err;

	if (!pool || !path)
		return ERR_PTR(-EINVAL);
	fd = open(path, flags | O_CLOEXEC, mode);
	if (fd < 0)
		return ERR_PTR(-errno);
	if (fstat(fd, &st) < 0) {
		err = -errno;
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL; /* only regular files have pages to map */
		goto out_close;
	}
	file = alloc_file(pool, path, fd, st.st_size);
	if (!file) {
		err = -ENOMEM;
		goto out_close;
	}
	return file;

out_close:
	close(fd);
	return ERR_PTR(err);
}

/* An unnamed file of @size bytes whose pages start zeroed and live on swap. */
struct file *shmem_file_setup(struct frame_pool *pool, const char *name, loff_t size)
{
	struct file *file;

	if (!pool || size < 0)
		return ERR_PTR(-EINVAL);
	file = alloc_file(pool, name ? name : "shmem", -1, size);
	if (!file)
		return ERR_PTR(-ENOMEM);
	set_bit(AS_SHMEM, &file->f_mapping->flags);
	return file;
}

/*
 * The last reference: every VMA of the file is gone (each held one).  Write
 * back what is dirty, drop the cache, close the backing file.
 */
static void __fput(struct file *file)
{
	struct address_space *mapping = file->f_mapping;

	WARN_ON(!interval_tree_empty(&mapping->i_mmap));
	filemap_write_and_wait(mapping);
	truncate_inode_pages_final(mapping);
	if (mapping->fd >= 0)
		close(mapping->fd);
	free(file->f_path);
	free(file);
}

void fput(struct file *file)
{
	if (atomic_dec_and_test(&file->f_count))
		__fput(file);
}
