// SPDX-License-Identifier: GPL-2.0
/*
 * Truncation and hole punching: pages past the new end leave the cache and
 * every mapping (shared, private, and with vfs_truncate the private COWs),
 * partial pages are zeroed, each zap is announced to secondary MMUs before
 * any of its frames is freed, and a fault racing a truncation cannot leave
 * a page behind.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/kthread.h"
#include "base/sched_point.h"
#include "mm/internal.h"
#include "mm/sanitizer.h"
#include "mm/swap.h"
#include "tests/lib/mm_util.h"

#define POOL_SIZE (16UL << 20)
#define SEED 7
#define RW (PROT_READ | PROT_WRITE)

/* [addr, addr + len) of @mm holds the file's bytes from @off (test_file()'s pattern). */
static void check_file_bytes(struct mm_struct *mm, unsigned long addr, loff_t off, size_t len)
{
	uint8_t buf[PAGE_SIZE];

	for (size_t done = 0; done < len; done += PAGE_SIZE) {
		size_t n = min(len - done, PAGE_SIZE);

		mm_read(mm, addr + done, buf, n);
		for (size_t i = 0; i < n; i++)
			TEST_ASSERT(buf[i] == mm_pattern_byte(off + done + i, SEED),
				    "byte at %#lx: %#x, file offset %ld", addr + done + i, buf[i],
				    (long)(off + done + i));
	}
}

static bool fault_fails(struct mm_struct *mm, unsigned long addr)
{
	uint8_t byte;

	return mm_try_read(mm, addr, &byte, 1) == -EFAULT;
}

static void check_disk_zero(struct file *file, off_t off, size_t len)
{
	uint8_t buf[PAGE_SIZE];

	TEST_ASSERT(len <= sizeof(buf), "test reads one page at most");
	test_file_read(file, off, buf, len);
	for (size_t i = 0; i < len; i++)
		TEST_ASSERT(!buf[i], "file byte %ld not zero", (long)(off + i));
}

/* ---- a secondary MMU that records what it is told ---- */

#define MAX_SPTES 16
#define MAX_LOG 32

struct mirror {
	struct mmu_notifier mn;
	struct mm_struct *mm;
	struct {
		unsigned long addr;
		struct frame_stamp stamp;
		bool valid;
	} sptes[MAX_SPTES];
	int nr_sptes;
	struct {
		enum mmu_notifier_event event;
		unsigned long start, end;
	} log[MAX_LOG];
	int nr_log;
};

/*
 * Drop the translations in the range; each frame must still be live and
 * still mapped by the host PTE (announced before changed: rule 1,
 * invalidate before free).
 */
static int mirror_start(struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	struct mirror *m = container_of(mn, struct mirror, mn);
	struct frame_access acc = { .size = 1, .who = "mirror zap" };

	TEST_ASSERT(!in_atomic(), "invalidate_range_start in an atomic section");
	TEST_ASSERT(m->nr_log < MAX_LOG, "log full");
	m->log[m->nr_log].event = range->event;
	m->log[m->nr_log].start = range->start;
	m->log[m->nr_log++].end = range->end;
	for (int i = 0; i < m->nr_sptes; i++) {
		unsigned long addr = m->sptes[i].addr;

		if (!m->sptes[i].valid || addr < range->start || addr >= range->end)
			continue;
		acc.addr = addr;
		TEST_ASSERT(frame_check_stamp(m->mm->pool, &m->sptes[i].stamp, &acc),
			    "frame of %#lx freed before the notifier heard of it", addr);
		TEST_ASSERT_EQ(mm_pte_pfn(m->mm, addr), (long)m->sptes[i].stamp.pfn);
		m->sptes[i].valid = false;
	}
	return 0;
}

static const struct mmu_notifier_ops mirror_ops = {
	.invalidate_range_start = mirror_start,
};

static void mirror_register(struct mirror *m, struct mm_struct *mm)
{
	memset(m, 0, sizeof(*m));
	m->mm = mm;
	m->mn.ops = &mirror_ops;
	TEST_ASSERT_EQ(mmu_notifier_register(&m->mn, mm), 0);
}

static void mirror_map(struct mirror *m, unsigned long addr)
{
	struct page *page;
	bool writable;

	TEST_ASSERT(m->nr_sptes < MAX_SPTES, "mirror full");
	TEST_ASSERT_EQ(get_user_page_ref(m->mm, addr, false, &page, &writable), 0);
	m->sptes[m->nr_sptes].addr = addr;
	m->sptes[m->nr_sptes].stamp = frame_stamp_of(page);
	m->sptes[m->nr_sptes++].valid = true;
	put_page(page);
}

static bool mirror_logged(struct mirror *m, enum mmu_notifier_event event, unsigned long addr)
{
	for (int i = 0; i < m->nr_log; i++)
		if (m->log[i].event == event && m->log[i].start <= addr && addr < m->log[i].end)
			return true;
	return false;
}

/* ---- truncation ---- */

TEST(truncate_unmaps_shared_pages_past_the_end)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct file *file = test_file(pool, 4 * PAGE_SIZE, O_RDWR, SEED);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap(mm, 0, 4 * PAGE_SIZE, RW, MAP_SHARED, file, 0);
	unsigned long before;
	struct mirror m;

	mirror_register(&m, mm);
	check_file_bytes(mm, a, 0, 4 * PAGE_SIZE);
	for (int i = 0; i < 4; i++)
		mirror_map(&m, a + i * PAGE_SIZE);
	TEST_ASSERT_EQ(file->f_mapping->nrpages, 4);
	TEST_ASSERT_EQ(get_mm_counter(mm, MM_FILEPAGES), 4);
	before = test_pool_allocated(pool);

	TEST_ASSERT_EQ(vfs_truncate(file, 2 * PAGE_SIZE), 0);

	TEST_ASSERT_EQ(file->f_mapping->nrpages, 2);
	TEST_ASSERT_EQ(get_mm_counter(mm, MM_FILEPAGES), 2);
	TEST_ASSERT_EQ(test_pool_allocated(pool), before - 2);
	TEST_ASSERT(!m.sptes[2].valid && !m.sptes[3].valid, "secondary kept truncated pages");
	TEST_ASSERT(m.sptes[0].valid && m.sptes[1].valid, "secondary lost pages inside i_size");
	TEST_ASSERT(mirror_logged(&m, MMU_NOTIFY_CLEAR, a + 3 * PAGE_SIZE), "no CLEAR announced");
	TEST_ASSERT(fault_fails(mm, a + 2 * PAGE_SIZE), "page past the end still readable");
	TEST_ASSERT(fault_fails(mm, a + 3 * PAGE_SIZE), "page past the end still readable");
	check_file_bytes(mm, a, 0, 2 * PAGE_SIZE);
	TEST_ASSERT_EQ(lseek(file->f_mapping->fd, 0, SEEK_END), 2 * PAGE_SIZE);

	mmu_notifier_unregister(&m.mn, mm);
	mmput(mm);
	fput(file);
	test_pool_destroy(pool);
}

/* The private COW of a page past the end goes too: SIGBUS, as for a shared mapping. */
TEST(truncate_removes_private_cows)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct file *file = test_file(pool, 4 * PAGE_SIZE, O_RDWR, SEED);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap(mm, 0, 4 * PAGE_SIZE, RW, MAP_PRIVATE, file, 0);
	uint8_t byte = 0x5a;

	check_file_bytes(mm, a, 0, 4 * PAGE_SIZE);
	mm_write(mm, a + PAGE_SIZE, &byte, 1);	   /* a COW inside the new size */
	mm_write(mm, a + 3 * PAGE_SIZE, &byte, 1); /* and one past it */
	TEST_ASSERT_EQ(get_mm_counter(mm, MM_ANONPAGES), 2);

	TEST_ASSERT_EQ(vfs_truncate(file, 2 * PAGE_SIZE), 0);

	TEST_ASSERT_EQ(get_mm_counter(mm, MM_ANONPAGES), 1);
	TEST_ASSERT(fault_fails(mm, a + 3 * PAGE_SIZE), "COW past the end survived");
	TEST_ASSERT(fault_fails(mm, a + 2 * PAGE_SIZE), "page past the end still readable");
	mm_read(mm, a + PAGE_SIZE, &byte, 1);
	TEST_ASSERT_EQ(byte, 0x5a);
	check_file_bytes(mm, a, 0, PAGE_SIZE);

	mmput(mm);
	fput(file);
	test_pool_destroy(pool);
}

/* A partial last page keeps its head; its tail reads as zeroes once the file grows again. */
TEST(truncate_zeroes_the_tail_of_a_partial_page)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct file *file = test_file(pool, 4 * PAGE_SIZE, O_RDWR, SEED);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap(mm, 0, 4 * PAGE_SIZE, RW, MAP_SHARED, file, 0);
	const size_t head = PAGE_SIZE + 100;
	uint8_t buf[PAGE_SIZE];

	check_file_bytes(mm, a, 0, 4 * PAGE_SIZE);
	TEST_ASSERT_EQ(vfs_truncate(file, head), 0);
	TEST_ASSERT_EQ(file->f_mapping->nrpages, 2);
	check_file_bytes(mm, a, 0, head);
	TEST_ASSERT(fault_fails(mm, a + 2 * PAGE_SIZE), "page past the end still readable");

	TEST_ASSERT_EQ(vfs_truncate(file, 4 * PAGE_SIZE), 0);
	mm_read(mm, a + head, buf, PAGE_SIZE - 100);
	for (size_t i = 0; i < PAGE_SIZE - 100; i++)
		TEST_ASSERT(!buf[i], "old byte %zu past the truncation point came back", i);
	mm_check_zero(mm, a + 2 * PAGE_SIZE, 2 * PAGE_SIZE);
	check_file_bytes(mm, a, 0, head);

	mmput(mm);
	fput(file);
	test_pool_destroy(pool);
}

/* Several processes, forked and not: every mapping of the truncated pages goes. */
TEST(truncate_reaches_every_process)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct file *file = test_file(pool, 4 * PAGE_SIZE, O_RDWR, SEED);
	struct mm_struct *m1 = test_mm(pool), *m2 = test_mm(pool), *child;
	unsigned long a1 = test_mmap(m1, 0, 4 * PAGE_SIZE, RW, MAP_SHARED, file, 0);
	unsigned long a2 =
		test_mmap(m2, 0, 2 * PAGE_SIZE, PROT_READ, MAP_PRIVATE, file, 2 * PAGE_SIZE);
	uint8_t byte = 1;

	check_file_bytes(m1, a1, 0, 4 * PAGE_SIZE);
	check_file_bytes(m2, a2, 2 * PAGE_SIZE, 2 * PAGE_SIZE);
	mm_write(m1, a1 + 3 * PAGE_SIZE, &byte, 1);
	child = test_fork(m1);
	mm_read(child, a1 + 3 * PAGE_SIZE, &byte, 1);
	TEST_ASSERT_EQ(byte, 1);

	TEST_ASSERT_EQ(vfs_truncate(file, PAGE_SIZE), 0);
	for (int i = 1; i < 4; i++) {
		TEST_ASSERT(fault_fails(m1, a1 + i * PAGE_SIZE), "m1 page %d", i);
		TEST_ASSERT(fault_fails(child, a1 + i * PAGE_SIZE), "child page %d", i);
	}
	TEST_ASSERT(fault_fails(m2, a2), "m2 page 2");
	TEST_ASSERT(fault_fails(m2, a2 + PAGE_SIZE), "m2 page 3");
	TEST_ASSERT_EQ(get_mm_counter(m2, MM_FILEPAGES), 0);
	check_file_bytes(child, a1, 0, PAGE_SIZE);
	TEST_ASSERT_EQ(file->f_mapping->nrpages, 1);

	mmput(child);
	mmput(m1);
	mmput(m2);
	fput(file);
	test_pool_destroy(pool);
}

struct truncate_arg {
	struct file *file;
	loff_t size;
};

static int truncate_thread(void *data)
{
	struct truncate_arg *arg = data;

	return vfs_truncate(arg->file, arg->size);
}

struct write_arg {
	struct mm_struct *mm;
	unsigned long addr;
};

static int write_thread(void *data)
{
	struct write_arg *arg = data;
	uint8_t byte = 0x33;

	mm_write(arg->mm, arg->addr, &byte, 1);
	return 0;
}

/*
 * A write fault that found a page before i_size dropped copies it into a
 * private mapping after truncation's first unmap: the second unmap, with
 * even_cows, takes the copy away.
 */
TEST(cow_made_between_the_unmaps_is_removed_too)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct file *file = test_file(pool, 4 * PAGE_SIZE, O_RDWR, SEED);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap(mm, 0, 4 * PAGE_SIZE, RW, MAP_PRIVATE, file, 0);
	struct truncate_arg targ = { file, 2 * PAGE_SIZE };
	struct write_arg warg = { mm, a + 3 * PAGE_SIZE };
	struct kthread *w, *t;

	/* The writer caches page 3 and stops before reading it in, page locked. */
	TEST_ASSERT_EQ(sched_point_arm("filemap:read_page", "writer"), 0);
	w = kthread_run(write_thread, &warg, "writer");
	TEST_ASSERT(!IS_ERR(w), "kthread_run");
	sched_point_wait("filemap:read_page");

	TEST_ASSERT_EQ(sched_point_arm("truncate:after_unmap", "truncate"), 0);
	t = kthread_run(truncate_thread, &targ, "truncate");
	TEST_ASSERT(!IS_ERR(t), "kthread_run");
	sched_point_wait("truncate:after_unmap");

	/* The writer maps its copy of page 3, past the new end, after the first unmap. */
	sched_point_release("filemap:read_page");
	TEST_ASSERT_EQ(kthread_stop(w), 0);
	TEST_ASSERT_EQ(get_mm_counter(mm, MM_ANONPAGES), 1);

	sched_point_release("truncate:after_unmap");
	TEST_ASSERT_EQ(kthread_stop(t), 0);
	TEST_ASSERT_EQ(get_mm_counter(mm, MM_ANONPAGES), 0);
	TEST_ASSERT(fault_fails(mm, a + 3 * PAGE_SIZE), "COW past the end survived");
	TEST_ASSERT_EQ(file->f_mapping->nrpages, 0);
	check_file_bytes(mm, a, 0, 2 * PAGE_SIZE);

	mmput(mm);
	fput(file);
	test_pool_destroy(pool);
}

/* ---- hole punching ---- */

TEST(punch_hole_zeroes_shared_and_keeps_private_cows)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct file *file = test_file(pool, 4 * PAGE_SIZE, O_RDWR, SEED);
	struct mm_struct *mm = test_mm(pool);
	unsigned long s = test_mmap(mm, 0, 4 * PAGE_SIZE, RW, MAP_SHARED, file, 0);
	unsigned long p = test_mmap(mm, 0, 4 * PAGE_SIZE, RW, MAP_PRIVATE, file, 0);
	int mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	uint8_t byte = 0x77, buf[PAGE_SIZE];
	struct mirror m;

	mirror_register(&m, mm);
	check_file_bytes(mm, s, 0, 4 * PAGE_SIZE);
	check_file_bytes(mm, p, 0, 4 * PAGE_SIZE);
	mm_write(mm, p + 2 * PAGE_SIZE, &byte, 1); /* a private COW of page 2 */
	mm_write(mm, s + PAGE_SIZE, &byte, 1);	   /* dirty page 1 in the cache */
	mirror_map(&m, s + PAGE_SIZE);

	/* Page 1 and 2 whole, and the last 100 bytes of page 0. */
	TEST_ASSERT_EQ(vfs_fallocate(file, mode, PAGE_SIZE - 100, 2 * PAGE_SIZE + 100), 0);

	TEST_ASSERT(!m.sptes[0].valid, "secondary kept a punched page");
	TEST_ASSERT(mirror_logged(&m, MMU_NOTIFY_CLEAR, s + PAGE_SIZE), "no CLEAR announced");
	check_file_bytes(mm, s, 0, PAGE_SIZE - 100);
	mm_check_zero(mm, s + PAGE_SIZE - 100, 2 * PAGE_SIZE + 100);
	check_file_bytes(mm, s + 3 * PAGE_SIZE, 3 * PAGE_SIZE, PAGE_SIZE);
	/* The private mapping: its COW kept, its other pages show the hole. */
	mm_read(mm, p + 2 * PAGE_SIZE, buf, PAGE_SIZE);
	TEST_ASSERT_EQ(buf[0], 0x77);
	check_file_bytes(mm, p + 2 * PAGE_SIZE + 1, 2 * PAGE_SIZE + 1, PAGE_SIZE - 1);
	mm_check_zero(mm, p + PAGE_SIZE, PAGE_SIZE);
	/* The file: the hole is on disk, the size unchanged, and writeback brings nothing back. */
	TEST_ASSERT_EQ(filemap_write_and_wait(file->f_mapping), 0);
	check_disk_zero(file, PAGE_SIZE - 100, 100);
	check_disk_zero(file, PAGE_SIZE, PAGE_SIZE);
	check_disk_zero(file, 2 * PAGE_SIZE, PAGE_SIZE);
	TEST_ASSERT_EQ(i_size_read(file->f_mapping), 4 * PAGE_SIZE);

	TEST_ASSERT_EQ(vfs_fallocate(file, 0, 0, PAGE_SIZE), -EOPNOTSUPP);
	TEST_ASSERT_EQ(vfs_fallocate(file, mode, 0, 0), -EINVAL);
	mmu_notifier_unregister(&m.mn, mm);
	mmput(mm);
	fput(file);
	test_pool_destroy(pool);
}

struct punch_arg {
	struct file *file;
	loff_t offset, len;
};

static int punch_thread(void *data)
{
	struct punch_arg *arg = data;

	return vfs_fallocate(arg->file, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, arg->offset,
			     arg->len);
}

/*
 * A fault maps a page again between the punch's unmap and its drop from
 * the cache: the drop unmaps that page (unmap_mapping_page()), and only
 * that page, so a private COW of the same file offset stays.
 */
TEST(page_mapped_again_during_a_punch_goes_and_the_private_cow_stays)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct file *file = test_file(pool, 4 * PAGE_SIZE, O_RDWR, SEED);
	struct mm_struct *mm = test_mm(pool);
	unsigned long s = test_mmap(mm, 0, 4 * PAGE_SIZE, RW, MAP_SHARED, file, 0);
	unsigned long p = test_mmap(mm, 0, 4 * PAGE_SIZE, RW, MAP_PRIVATE, file, 0);
	struct punch_arg parg = { file, 2 * PAGE_SIZE, PAGE_SIZE };
	uint8_t byte = 0x77, buf[PAGE_SIZE];
	struct kthread *t;

	mm_write(mm, p + 2 * PAGE_SIZE, &byte, 1); /* a private COW of page 2 */
	TEST_ASSERT_EQ(get_mm_counter(mm, MM_ANONPAGES), 1);

	TEST_ASSERT_EQ(sched_point_arm("punch_hole:after_unmap", "punch"), 0);
	t = kthread_run(punch_thread, &parg, "punch");
	TEST_ASSERT(!IS_ERR(t), "kthread_run");
	sched_point_wait("punch_hole:after_unmap");
	/* The shared mapping faults page 2 back in from the cache, old bytes and all. */
	check_file_bytes(mm, s + 2 * PAGE_SIZE, 2 * PAGE_SIZE, PAGE_SIZE);
	TEST_ASSERT(mm_pfn_at(mm, s + 2 * PAGE_SIZE) >= 0, "page 2 mapped again");
	sched_point_release("punch_hole:after_unmap");
	TEST_ASSERT_EQ(kthread_stop(t), 0);

	mm_check_zero(mm, s + 2 * PAGE_SIZE, PAGE_SIZE);
	TEST_ASSERT_EQ(get_mm_counter(mm, MM_ANONPAGES), 1);
	mm_read(mm, p + 2 * PAGE_SIZE, buf, PAGE_SIZE);
	TEST_ASSERT_EQ(buf[0], 0x77);
	check_file_bytes(mm, p + 2 * PAGE_SIZE + 1, 2 * PAGE_SIZE + 1, PAGE_SIZE - 1);

	mmput(mm);
	fput(file);
	test_pool_destroy(pool);
}

/* shmem has no backing file: a punch and a truncation only drop pages. */
TEST(shmem_truncate_and_punch)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap(mm, 0, 4 * PAGE_SIZE, RW, MAP_SHARED | MAP_ANONYMOUS, NULL, 0);
	struct vm_area_struct *vma;
	struct file *file;

	mm_fill(mm, a, 4 * PAGE_SIZE, 3);
	mmap_read_lock(mm);
	vma = vma_lookup(mm, a);
	file = vma->vm_file;
	mmap_read_unlock(mm);
	TEST_ASSERT(file, "shared anonymous memory without a shmem file");
	TEST_ASSERT_EQ(vfs_fallocate(file, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, PAGE_SIZE,
				     PAGE_SIZE),
		       0);
	mm_check_zero(mm, a + PAGE_SIZE, PAGE_SIZE);
	mm_check(mm, a + 2 * PAGE_SIZE, 2 * PAGE_SIZE, 3);
	TEST_ASSERT_EQ(vfs_truncate(file, 2 * PAGE_SIZE), 0);
	TEST_ASSERT(fault_fails(mm, a + 2 * PAGE_SIZE), "shmem page past the end readable");
	mm_check(mm, a, PAGE_SIZE, 3);
	TEST_ASSERT_EQ(file->f_mapping->nrpages, 2);

	mmput(mm);
	test_pool_destroy(pool);
}

/* A private COW swapped out: truncation drops its swap entry and frees the slot. */
TEST(truncate_frees_the_swap_slot_of_a_swapped_cow)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct file *file = test_file(pool, 4 * PAGE_SIZE, O_RDWR, SEED);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap(mm, 0, 4 * PAGE_SIZE, RW, MAP_PRIVATE, file, 0);
	uint8_t byte = 0x11;
	struct page *cow;
	LIST_HEAD(list);
	int type;

	type = test_swapon(16);
	mm_write(mm, a + 3 * PAGE_SIZE, &byte, 1);
	cow = mm_lookup_page(mm, a + 3 * PAGE_SIZE);
	TEST_ASSERT(cow && PageAnon(cow), "no COW");
	TEST_ASSERT_EQ(isolate_lru_page(cow), 0);
	put_page(cow);
	list_add(&cow->lru, &list);
	TEST_ASSERT_EQ(reclaim_pages(pool, &list), 1);
	TEST_ASSERT_EQ(get_mm_counter(mm, MM_SWAPENTS), 1);
	TEST_ASSERT_EQ(nr_swap_pages_used(), 1);

	TEST_ASSERT_EQ(vfs_truncate(file, 2 * PAGE_SIZE), 0);
	TEST_ASSERT_EQ(get_mm_counter(mm, MM_SWAPENTS), 0);
	TEST_ASSERT_EQ(nr_swap_pages_used(), 0);
	TEST_ASSERT(fault_fails(mm, a + 3 * PAGE_SIZE), "swapped COW past the end readable");

	mmput(mm);
	fput(file);
	TEST_ASSERT_EQ(swapoff(type), 0);
	test_pool_destroy(pool);
}
