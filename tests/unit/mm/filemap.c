// SPDX-License-Identifier: GPL-2.0
/*
 * Files and the page cache: opening, reading pages in (and waiting for a
 * read in progress), shmem, dirtying and writeback, truncation of i_size,
 * and what shared and private file mappings do to the file.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/kthread.h"
#include "base/sched_point.h"
#include "mm/internal.h"
#include "tests/lib/mm_util.h"

#define POOL_SIZE (16UL << 20)
#define SEED 0x5eed

/* The page holds test_file()'s pattern for file offsets [off, off + len). */
static void check_page_bytes(struct page *page, unsigned long pgoff, size_t len, uint64_t seed)
{
	const uint8_t *p = page_address(page);

	for (size_t i = 0; i < len; i++)
		TEST_ASSERT(p[pgoff + i] ==
				    mm_pattern_byte(page->index * PAGE_SIZE + pgoff + i, seed),
			    "page %lu byte %#zx", page->index, pgoff + i);
}

static void check_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		TEST_ASSERT(!p[i], "byte %#zx is %#x, expected 0", i, p[i]);
}

static off_t file_size(struct file *file)
{
	struct stat st;

	TEST_ASSERT(!fstat(file->f_mapping->fd, &st), "fstat");
	return st.st_size;
}

static struct page *get_page_at(struct file *file, unsigned long index)
{
	struct page *page = filemap_get_page(file->f_mapping, index);

	TEST_ASSERT(!IS_ERR_OR_NULL(page), "filemap_get_page(%lu): %ld", index, PTR_ERR(page));
	return page;
}

/* ---- opening ---- */

TEST(open_errors)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);

	TEST_ASSERT_EQ(PTR_ERR(filp_open(pool, "/nonexistent/nopin", O_RDWR, 0)), -ENOENT);
	TEST_ASSERT_EQ(PTR_ERR(filp_open(pool, "/tmp", O_RDONLY, 0)), -EINVAL);
	TEST_ASSERT_EQ(PTR_ERR(filp_open(NULL, "/tmp", O_RDONLY, 0)), -EINVAL);
	TEST_ASSERT_EQ(PTR_ERR(filp_open(pool, NULL, O_RDONLY, 0)), -EINVAL);
	TEST_ASSERT_EQ(PTR_ERR(shmem_file_setup(pool, "x", -1)), -EINVAL);
	TEST_ASSERT_EQ(PTR_ERR(shmem_file_setup(NULL, "x", PAGE_SIZE)), -EINVAL);
	test_pool_destroy(pool);
}

/* ---- reading pages in ---- */

TEST(pages_are_read_in_once_and_cached)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	size_t size = 3 * PAGE_SIZE + 100;
	struct file *file = test_file(pool, size, O_RDWR, SEED);
	struct address_space *mapping = file->f_mapping;
	struct page *p0, *again, *last;

	TEST_ASSERT_EQ(i_size_read(mapping), size);
	p0 = get_page_at(file, 0);
	TEST_ASSERT(PageUptodate(p0) && !PageLocked(p0), "page 0 not uptodate and unlocked");
	TEST_ASSERT(page_mapping(p0) == mapping && p0->index == 0, "page 0 not in the mapping");
	check_page_bytes(p0, 0, PAGE_SIZE, SEED);
	TEST_ASSERT_EQ(page_count(p0), 2); /* the cache's and ours */

	again = find_get_page(mapping, 0);
	TEST_ASSERT(again == p0, "a second lookup found another page");
	TEST_ASSERT(get_page_at(file, 0) == p0, "filemap_get_page read page 0 again");
	TEST_ASSERT_EQ(mapping->nrpages, 1);
	TEST_ASSERT(!find_get_page(mapping, 1), "page 1 cached before anyone asked");

	/* The last page ends in zeroes; past it there is nothing. */
	last = get_page_at(file, 3);
	check_page_bytes(last, 0, 100, SEED);
	check_zero((uint8_t *)page_address(last) + 100, PAGE_SIZE - 100);
	TEST_ASSERT(!filemap_get_page(mapping, 4), "a page past i_size");

	put_page(p0);
	put_page(p0);
	put_page(p0);
	put_page(last);
	TEST_ASSERT_EQ(test_pool_allocated(pool), 2);
	fput(file);
	test_pool_destroy(pool);
}

TEST(read_error_leaves_nothing_cached)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct file *file = test_file(pool, PAGE_SIZE, O_WRONLY, SEED);

	TEST_ASSERT_EQ(PTR_ERR(filemap_get_page(file->f_mapping, 0)), -EIO);
	TEST_ASSERT_EQ(file->f_mapping->nrpages, 0);
	TEST_ASSERT_EQ(test_pool_allocated(pool), 0);
	fput(file);
	test_pool_destroy(pool);
}

struct get_arg {
	struct address_space *mapping;
	struct page *page;
};

static int get_page_thread(void *data)
{
	struct get_arg *arg = data;

	arg->page = filemap_get_page(arg->mapping, 1);
	return 0;
}

/*
 * A page is cached before it is read: a lookup that finds it then must wait
 * for the read, on the page lock, and see what was read, not poison.
 */
TEST(lookup_waits_for_a_read_in_progress)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct file *file = test_file(pool, 2 * PAGE_SIZE, O_RDWR, SEED);
	struct get_arg reader = { .mapping = file->f_mapping },
		       waiter = { .mapping = file->f_mapping };
	struct kthread *r, *w;
	struct page *page;

	TEST_ASSERT_EQ(sched_point_arm("filemap:read_page", "reader"), 0);
	r = kthread_run(get_page_thread, &reader, "reader");
	TEST_ASSERT(!IS_ERR(r), "kthread_run");
	sched_point_wait("filemap:read_page");

	page = find_get_page(file->f_mapping, 1);
	TEST_ASSERT(page, "page not cached while being read");
	TEST_ASSERT(PageLocked(page) && !PageUptodate(page),
		    "a page being read is locked, not uptodate");

	w = kthread_run(get_page_thread, &waiter, "waiter");
	TEST_ASSERT(!IS_ERR(w), "kthread_run");
	sched_point_release("filemap:read_page");
	kthread_stop(r);
	kthread_stop(w);

	TEST_ASSERT(reader.page == page && waiter.page == page, "lookups got different pages");
	TEST_ASSERT(PageUptodate(page), "not uptodate after the read");
	check_page_bytes(page, 0, PAGE_SIZE, SEED);
	put_page(page);
	put_page(reader.page);
	put_page(waiter.page);
	fput(file);
	test_pool_destroy(pool);
}

TEST(shmem_pages_start_zeroed_and_stay_dirty)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct file *file = shmem_file_setup(pool, "shm", 2 * PAGE_SIZE);
	struct page *page;

	TEST_ASSERT(!IS_ERR(file), "shmem_file_setup");
	page = get_page_at(file, 1);
	check_zero(page_address(page), PAGE_SIZE);
	TEST_ASSERT(PageSwapBacked(page), "shmem page not swap-backed");
	TEST_ASSERT(!filemap_get_page(file->f_mapping, 2), "a page past the size");

	/* No file behind it: writeback has nowhere to put it. */
	TEST_ASSERT(set_page_dirty(page), "clean page");
	TEST_ASSERT_EQ(filemap_write_and_wait(file->f_mapping), 0);
	TEST_ASSERT(PageDirty(page), "shmem page cleaned by writeback");
	put_page(page);
	fput(file);
	test_pool_destroy(pool);
}

/* ---- dirty pages and writeback ---- */

TEST(write_one_page_writes_and_cleans)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct file *file = test_file(pool, 2 * PAGE_SIZE, O_RDWR, SEED);
	struct page *page = get_page_at(file, 1);
	char buf[5];

	memcpy(page_address(page), "hello", 5);
	TEST_ASSERT(set_page_dirty(page), "a clean page was dirty");
	TEST_ASSERT(!set_page_dirty(page), "dirtied twice");

	lock_page(page);
	TEST_ASSERT_EQ(write_one_page(page), 0);
	TEST_ASSERT(PageLocked(page), "write_one_page unlocked the page");
	TEST_ASSERT(!PageDirty(page) && !PageWriteback(page), "page not clean after writeback");
	unlock_page(page);
	test_file_read(file, PAGE_SIZE, buf, 5);
	TEST_ASSERT(!memcmp(buf, "hello", 5), "file not written");

	/* Clean: nothing written. */
	memcpy(page_address(page), "HELLO", 5);
	lock_page(page);
	TEST_ASSERT_EQ(write_one_page(page), 0);
	unlock_page(page);
	test_file_read(file, PAGE_SIZE, buf, 5);
	TEST_ASSERT(!memcmp(buf, "hello", 5), "a clean page was written");

	put_page(page);
	fput(file);
	test_pool_destroy(pool);
}

TEST(write_and_wait_writes_only_dirty_pages)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct file *file = test_file(pool, 3 * PAGE_SIZE, O_RDWR, SEED);
	struct page *pages[3];
	char buf[2];

	for (int i = 0; i < 3; i++) {
		pages[i] = get_page_at(file, i);
		memcpy(page_address(pages[i]), "XY", 2);
	}
	set_page_dirty(pages[0]);
	set_page_dirty(pages[2]);
	TEST_ASSERT_EQ(filemap_write_and_wait(file->f_mapping), 0);

	for (int i = 0; i < 3; i++) {
		test_file_read(file, i * PAGE_SIZE, buf, 2);
		TEST_ASSERT(!memcmp(buf, "XY", 2) == (i != 1), "page %d written: %d", i,
			    !memcmp(buf, "XY", 2));
		TEST_ASSERT(!PageDirty(pages[i]), "page %d still dirty", i);
		put_page(pages[i]);
	}
	fput(file);
	test_pool_destroy(pool);
}

TEST(truncate_moves_i_size)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct file *file = test_file(pool, 3 * PAGE_SIZE, O_RDWR, SEED);
	struct address_space *mapping = file->f_mapping;
	struct page *page;

	TEST_ASSERT_EQ(vfs_truncate(file, -1), -EINVAL);
	TEST_ASSERT_EQ(vfs_truncate(NULL, 0), -EINVAL);
	TEST_ASSERT_EQ(vfs_truncate(file, PAGE_SIZE + 10), 0);
	TEST_ASSERT_EQ(i_size_read(mapping), PAGE_SIZE + 10);
	TEST_ASSERT_EQ(file_size(file), PAGE_SIZE + 10);
	TEST_ASSERT(!filemap_get_page(mapping, 2), "a page past the new size");

	/* Writeback of the page holding the end writes nothing past it. */
	page = get_page_at(file, 1);
	check_page_bytes(page, 0, 10, SEED);
	check_zero((uint8_t *)page_address(page) + 10, PAGE_SIZE - 10);
	memset(page_address(page), 0xaa, PAGE_SIZE);
	set_page_dirty(page);
	TEST_ASSERT_EQ(filemap_write_and_wait(mapping), 0);
	TEST_ASSERT_EQ(file_size(file), PAGE_SIZE + 10);
	put_page(page);

	/* Growing: the new pages read as zeroes. */
	TEST_ASSERT_EQ(vfs_truncate(file, 4 * PAGE_SIZE), 0);
	page = get_page_at(file, 3);
	check_zero(page_address(page), PAGE_SIZE);
	put_page(page);
	fput(file);
	test_pool_destroy(pool);
}

/* ---- through mappings ---- */

TEST(shared_mapping_writes_reach_the_file_after_writeback)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct file *file = test_file(pool, 2 * PAGE_SIZE, O_RDWR, SEED);
	struct mm_struct *mm = test_mm(pool);
	unsigned long addr =
		test_mmap(mm, 0, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, file, 0);
	char buf[6];

	mm_write(mm, addr + 100, "first", 5);
	TEST_ASSERT_EQ(filemap_write_and_wait(file->f_mapping), 0);
	test_file_read(file, 100, buf, 5);
	TEST_ASSERT(!memcmp(buf, "first", 5), "first write not in the file");

	/*
	 * Writeback write-protected the PTE (page_mkclean): this write faults,
	 * dirties the page again and so reaches the file too.
	 */
	mm_write(mm, addr + 200, "second", 6);
	TEST_ASSERT_EQ(filemap_write_and_wait(file->f_mapping), 0);
	test_file_read(file, 200, buf, 6);
	TEST_ASSERT(!memcmp(buf, "second", 6), "write after writeback lost");

	/* Unmapped: the page stays dirty in the cache until written back. */
	mm_write(mm, addr + PAGE_SIZE, "third", 5);
	mmput(mm);
	TEST_ASSERT_EQ(filemap_write_and_wait(file->f_mapping), 0);
	test_file_read(file, PAGE_SIZE, buf, 5);
	TEST_ASSERT(!memcmp(buf, "third", 5), "write lost at munmap");
	fput(file);
	test_pool_destroy(pool);
}

/* fput() writes back and drops the cache: check through a second open of the same path. */
TEST(last_fput_writes_back_dirty_pages)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	char path[] = "/tmp/nopin-filemap-XXXXXX";
	int fd = mkstemp(path);
	struct file *file;
	struct mm_struct *mm;
	unsigned long addr;
	char buf[5];

	TEST_ASSERT(fd >= 0 && !ftruncate(fd, 2 * PAGE_SIZE), "mkstemp");
	file = filp_open(pool, path, O_RDWR, 0);
	TEST_ASSERT(!IS_ERR(file), "filp_open");
	mm = test_mm(pool);
	addr = test_mmap(mm, 0, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, file, 0);
	fput(file); /* the VMA holds the file now */
	mm_write(mm, addr + PAGE_SIZE + 7, "dirty", 5);
	mmput(mm);

	TEST_ASSERT_EQ(pread(fd, buf, 5, PAGE_SIZE + 7), 5);
	unlink(path);
	close(fd);
	TEST_ASSERT(!memcmp(buf, "dirty", 5), "lost at the last fput");
	test_pool_destroy(pool);
}

TEST(private_mapping_cow_leaves_the_file_untouched)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct file *file = test_file(pool, 2 * PAGE_SIZE, O_RDWR, SEED);
	struct mm_struct *mm = test_mm(pool);
	unsigned long priv, shared;
	struct page *cached;
	char buf[7];

	priv = test_mmap(mm, 0, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, file, 0);
	shared = test_mmap(mm, 0, 2 * PAGE_SIZE, PROT_READ, MAP_SHARED, file, 0);
	mm_write(mm, priv + 10, "private", 7);
	TEST_ASSERT_EQ(filemap_write_and_wait(file->f_mapping), 0);

	cached = find_get_page(file->f_mapping, 0);
	TEST_ASSERT(cached, "page 0 not cached");
	TEST_ASSERT(!PageDirty(cached), "COW dirtied the page cache page");
	check_page_bytes(cached, 0, PAGE_SIZE, SEED);
	put_page(cached);
	test_file_read(file, 10, buf, 7);
	TEST_ASSERT(memcmp(buf, "private", 7), "a private write reached the file");
	mm_read(mm, shared + 10, buf, 7);
	TEST_ASSERT(memcmp(buf, "private", 7), "a private write is seen by a shared mapping");
	mm_read(mm, priv + 10, buf, 7);
	TEST_ASSERT(!memcmp(buf, "private", 7), "the private copy lost the write");

	mmput(mm);
	fput(file);
	test_pool_destroy(pool);
}
