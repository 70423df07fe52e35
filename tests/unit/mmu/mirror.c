// SPDX-License-Identifier: GPL-2.0
/*
 * The mirror device, after the kernel's HMM selftests
 * (tools/testing/selftests/mm/hmm-tests.c) that apply without device
 * memory: the device reads and writes host memory through its own page
 * table, faulted in through the interval notifier's retry loop and torn
 * down by it, holding no page reference.
 *
 * Every case ends with test_pool_destroy(), which fails on any sanitizer
 * report: a device access through a translation the notifier should have
 * removed, or a host path freeing a page before telling the device.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/kthread.h"
#include "base/sched_point.h"
#include "mm/migrate.h"
#include "mm/mmu_notifier.h"
#include "mmu/mirror.h"
#include "tests/lib/mm_util.h"

#define POOL_SIZE (32UL << 20)
#define NPAGES 256UL /* 1 MiB */
#define SIZE (NPAGES * PAGE_SIZE)
#define NTIMES 10

struct fixture {
	struct frame_pool *pool;
	struct mm_struct *mm;
	struct mirror *m;
	uint8_t *buf;
};

static void fixture_init(struct fixture *f)
{
	f->pool = test_pool(POOL_SIZE);
	f->mm = test_mm(f->pool);
	f->m = mirror_open(f->mm);
	TEST_ASSERT(!IS_ERR(f->m), "mirror_open: %ld", PTR_ERR(f->m));
	f->buf = malloc(SIZE);
	TEST_ASSERT(f->buf, "malloc");
}

static void fixture_fini(struct fixture *f)
{
	free(f->buf);
	mirror_close(f->m);
	mmput(f->mm);
	test_pool_destroy(f->pool);
}

/* Does @buf hold @seed's pattern for the addresses [addr, addr + len)? */
static void check_pattern(const uint8_t *buf, unsigned long addr, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] != mm_pattern_byte(addr + i, seed))
			TEST_FAIL("byte %#lx: %#x, expected %#x", addr + i, buf[i],
				  mm_pattern_byte(addr + i, seed));
}

static void fill_pattern(uint8_t *buf, unsigned long addr, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = mm_pattern_byte(addr + i, seed);
}

TEST(open_close)
{
	struct fixture f;

	fixture_init(&f);
	TEST_ASSERT(mm_has_notifiers(f.mm), "no interval notifier");
	TEST_ASSERT_EQ(mirror_nr_entries(f.m), 0);
	fixture_fini(&f);
}

/* Two untouched pages then data, read-only: all read in one fault. */
TEST(anon_read)
{
	struct fixture f;
	struct mirror_cmd cmd = { 0 };
	unsigned long addr;

	fixture_init(&f);
	addr = test_mmap_anon(f.mm, SIZE, PROT_READ | PROT_WRITE);
	mm_fill(f.mm, addr + 2 * PAGE_SIZE, SIZE - 2 * PAGE_SIZE, 1);
	TEST_ASSERT_EQ(do_mprotect(f.mm, addr, SIZE, PROT_READ), 0);

	TEST_ASSERT_EQ(mirror_read(f.m, addr, f.buf, NPAGES, &cmd), 0);
	TEST_ASSERT_EQ(cmd.cpages, NPAGES);
	TEST_ASSERT_EQ(cmd.faults, 1);
	for (size_t i = 0; i < 2 * PAGE_SIZE; i++)
		TEST_ASSERT(!f.buf[i], "untouched page reads %#x", f.buf[i]);
	check_pattern(f.buf + 2 * PAGE_SIZE, addr + 2 * PAGE_SIZE, SIZE - 2 * PAGE_SIZE, 1);

	/* Again: everything is mapped, no fault. */
	cmd = (struct mirror_cmd){ 0 };
	TEST_ASSERT_EQ(mirror_read(f.m, addr, f.buf, NPAGES, &cmd), 0);
	TEST_ASSERT_EQ(cmd.faults, 0);
	fixture_fini(&f);
}

TEST(anon_read_prot)
{
	struct fixture f;
	struct mirror_cmd cmd = { 0 };
	unsigned long addr;

	fixture_init(&f);
	addr = test_mmap_anon(f.mm, SIZE, PROT_READ | PROT_WRITE);
	mm_fill(f.mm, addr, SIZE, 2);
	TEST_ASSERT_EQ(do_mprotect(f.mm, addr, SIZE, PROT_NONE), 0);

	memset(f.buf, 0xab, SIZE);
	TEST_ASSERT_EQ(mirror_read(f.m, addr, f.buf, NPAGES, &cmd), -EFAULT);
	TEST_ASSERT_EQ(mirror_nr_entries(f.m), 0);
	TEST_ASSERT_EQ(f.buf[0], 0xab); /* nothing copied */
	fixture_fini(&f);
}

TEST(anon_write)
{
	struct fixture f;
	struct mirror_cmd cmd = { 0 };
	unsigned long addr;

	fixture_init(&f);
	addr = test_mmap_anon(f.mm, SIZE, PROT_READ | PROT_WRITE);
	fill_pattern(f.buf, addr, SIZE, 3);
	TEST_ASSERT_EQ(mirror_write(f.m, addr, f.buf, NPAGES, &cmd), 0);
	TEST_ASSERT_EQ(cmd.cpages, NPAGES);
	TEST_ASSERT_EQ(cmd.faults, 1);
	mm_check(f.mm, addr, SIZE, 3);
	fixture_fini(&f);
}

/* Read-only: reads work, writes are refused until mprotect makes it writable. */
TEST(anon_write_prot)
{
	struct fixture f;
	struct mirror_cmd cmd = { 0 };
	unsigned long addr;

	fixture_init(&f);
	addr = test_mmap_anon(f.mm, SIZE, PROT_READ);
	TEST_ASSERT_EQ(mirror_read(f.m, addr, f.buf, NPAGES, &cmd), 0);
	TEST_ASSERT_EQ(cmd.faults, 1);
	for (size_t i = 0; i < SIZE; i++)
		TEST_ASSERT(!f.buf[i], "fresh page reads %#x", f.buf[i]);

	fill_pattern(f.buf, addr, SIZE, 4);
	TEST_ASSERT_EQ(mirror_write(f.m, addr, f.buf, NPAGES, &cmd), -EPERM);
	mm_check_zero(f.mm, addr, SIZE);

	TEST_ASSERT_EQ(do_mprotect(f.mm, addr, SIZE, PROT_READ | PROT_WRITE), 0);
	cmd = (struct mirror_cmd){ 0 };
	TEST_ASSERT_EQ(mirror_write(f.m, addr, f.buf, NPAGES, &cmd), 0);
	TEST_ASSERT_EQ(cmd.faults, 1);
	mm_check(f.mm, addr, SIZE, 4);
	fixture_fini(&f);
}

/* The child's device writes its private copy (COW); the parent keeps its data. */
static void write_child(unsigned long flags)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *parent = test_mm(pool), *child;
	struct mirror_cmd cmd = { 0 };
	struct mirror *m;
	uint8_t *buf = malloc(SIZE);
	unsigned long addr;

	TEST_ASSERT(buf, "malloc");
	addr = test_mmap(parent, 0, SIZE, PROT_READ | PROT_WRITE, flags, NULL, 0);
	mm_fill(parent, addr, SIZE, 5);
	child = test_fork(parent);

	m = mirror_open(child);
	TEST_ASSERT(!IS_ERR(m), "mirror_open");
	mirror_read(m, addr, buf, NPAGES, &cmd);
	check_pattern(buf, addr, SIZE, 5);
	fill_pattern(buf, addr, SIZE, 6);
	TEST_ASSERT_EQ(mirror_write(m, addr, buf, NPAGES, &cmd), 0);
	mm_check(child, addr, SIZE, 6);
	if (flags & MAP_SHARED)
		mm_check(parent, addr, SIZE, 6);
	else
		mm_check(parent, addr, SIZE, 5);

	mirror_close(m);
	mmput(child);
	mmput(parent);
	free(buf);
	test_pool_destroy(pool);
}

TEST(anon_write_child)
{
	write_child(MAP_PRIVATE | MAP_ANONYMOUS);
}

TEST(anon_write_child_shared)
{
	write_child(MAP_SHARED | MAP_ANONYMOUS);
}

TEST(file_read)
{
	struct fixture f;
	struct mirror_cmd cmd = { 0 };
	struct file *file;
	unsigned long addr;

	fixture_init(&f);
	file = test_file(f.pool, SIZE, O_RDWR, 7);
	addr = test_mmap(f.mm, 0, SIZE, PROT_READ, MAP_SHARED, file, 0);
	TEST_ASSERT_EQ(mirror_read(f.m, addr, f.buf, NPAGES, &cmd), 0);
	TEST_ASSERT_EQ(cmd.faults, 1);
	/* The file's pattern is by file offset. */
	check_pattern(f.buf, 0, SIZE, 7);
	TEST_ASSERT_EQ(vm_munmap(f.mm, addr, SIZE), 0);
	fput(file);
	fixture_fini(&f);
}

/* A device write to a shared file mapping reaches the file. */
TEST(file_write)
{
	struct fixture f;
	struct mirror_cmd cmd = { 0 };
	struct file *file;
	unsigned long addr;
	uint8_t *disk = malloc(SIZE);

	fixture_init(&f);
	TEST_ASSERT(disk, "malloc");
	file = test_file(f.pool, SIZE, O_RDWR, 8);
	addr = test_mmap(f.mm, 0, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, file, 0);
	fill_pattern(f.buf, 0, SIZE, 9);
	TEST_ASSERT_EQ(mirror_write(f.m, addr, f.buf, NPAGES, &cmd), 0);
	TEST_ASSERT_EQ(cmd.faults, 1);

	TEST_ASSERT_EQ(filemap_write_and_wait(file->f_mapping), 0);
	test_file_read(file, 0, disk, SIZE);
	check_pattern(disk, 0, SIZE, 9);

	TEST_ASSERT_EQ(vm_munmap(f.mm, addr, SIZE), 0);
	fput(file);
	free(disk);
	fixture_fini(&f);
}

/* Fresh buffers, one after another: each faults once, and unmapping drops the entries. */
TEST(anon_read_multiple)
{
	struct fixture f;

	fixture_init(&f);
	for (int i = 0; i < NTIMES; i++) {
		struct mirror_cmd cmd = { 0 };
		unsigned long addr = test_mmap_anon(f.mm, SIZE, PROT_READ | PROT_WRITE);

		mm_fill(f.mm, addr, SIZE, 10 + i);
		TEST_ASSERT_EQ(mirror_read(f.m, addr, f.buf, NPAGES, &cmd), 0);
		TEST_ASSERT_EQ(cmd.faults, 1);
		check_pattern(f.buf, addr, SIZE, 10 + i);
		TEST_ASSERT_EQ(mirror_nr_entries(f.m), NPAGES);
		TEST_ASSERT_EQ(vm_munmap(f.mm, addr, SIZE), 0);
		TEST_ASSERT_EQ(mirror_nr_entries(f.m), 0);
	}
	fixture_fini(&f);
}

struct unmapper {
	struct mm_struct *mm;
	unsigned long addr;
};

static void *unmap_half_thread(void *arg)
{
	struct unmapper *u = arg;

	TEST_ASSERT_EQ(vm_munmap(u->mm, u->addr + SIZE / 2, SIZE / 2), 0);
	return NULL;
}

/*
 * The race hmm-tests calls anon_teardown: the device reads while another
 * thread unmaps the second half.  Either the read gets everything with
 * the right data, or it fails cleanly, and whatever it got is right.
 */
TEST(anon_teardown)
{
	struct fixture f;
	int ok = 0, failed = 0;

	fixture_init(&f);
	for (int i = 0; i < NTIMES * 4; i++) {
		struct mirror_cmd cmd = { 0 };
		struct unmapper u = { .mm = f.mm };
		pthread_t thread;
		int ret;

		u.addr = test_mmap_anon(f.mm, SIZE, PROT_READ | PROT_WRITE);
		mm_fill(f.mm, u.addr, SIZE, 20 + i);
		memset(f.buf, 0, SIZE);
		TEST_ASSERT_EQ(pthread_create(&thread, NULL, unmap_half_thread, &u), 0);
		ret = mirror_read(f.m, u.addr, f.buf, NPAGES, &cmd);
		pthread_join(thread, NULL);

		if (ret == 0) {
			ok++;
			check_pattern(f.buf, u.addr, SIZE, 20 + i);
		} else {
			failed++;
			TEST_ASSERT_EQ(ret, -EFAULT);
			/* What was copied before the failure is right. */
			check_pattern(f.buf, u.addr, cmd.cpages * PAGE_SIZE, 20 + i);
		}
		TEST_ASSERT_EQ(vm_munmap(f.mm, u.addr, SIZE / 2), 0);
		TEST_ASSERT_EQ(mirror_nr_entries(f.m), 0);
	}
	TEST_ASSERT_EQ(ok + failed, NTIMES * 4);
	fixture_fini(&f);
}

/* Hole, untouched, COW-shared, read-only and writable pages, without faulting any in. */
TEST(snapshot)
{
	struct fixture f;
	struct mm_struct *child;
	struct mirror_cmd cmd = { 0 };
	uint8_t perms[6];
	unsigned long addr, rss;
	const char byte = 1;

	fixture_init(&f);
	addr = test_mmap_anon(f.mm, 6 * PAGE_SIZE, PROT_READ | PROT_WRITE);
	TEST_ASSERT_EQ(vm_munmap(f.mm, addr, PAGE_SIZE), 0); /* 0: hole */
	mm_write(f.mm, addr + 2 * PAGE_SIZE, &byte, 1);	     /* 2: COW after fork */
	mm_write(f.mm, addr + 3 * PAGE_SIZE, &byte, 1);	     /* 3: read-only */
	mm_write(f.mm, addr + 4 * PAGE_SIZE, &byte, 1);	     /* 4: writable */
	TEST_ASSERT_EQ(do_mprotect(f.mm, addr + 3 * PAGE_SIZE, PAGE_SIZE, PROT_READ), 0);
	TEST_ASSERT_EQ(do_madvise(f.mm, addr + 4 * PAGE_SIZE, PAGE_SIZE, MADV_DONTFORK), 0);
	child = dup_mm(f.mm, "child"); /* write-protects page 2 in the parent */
	TEST_ASSERT(child, "dup_mm");
	/* 1 and 5: never touched */
	rss = get_mm_counter(f.mm, MM_ANONPAGES);

	TEST_ASSERT_EQ(mirror_snapshot(f.m, addr, perms, 6, &cmd), 0);
	TEST_ASSERT_EQ(cmd.cpages, 6);
	TEST_ASSERT_EQ(perms[0], MIRROR_PROT_ERROR);
	TEST_ASSERT_EQ(perms[1], MIRROR_PROT_NONE);
	TEST_ASSERT_EQ(perms[2], MIRROR_PROT_READ);
	TEST_ASSERT_EQ(perms[3], MIRROR_PROT_READ);
	TEST_ASSERT_EQ(perms[4], MIRROR_PROT_WRITE);
	TEST_ASSERT_EQ(perms[5], MIRROR_PROT_NONE);
	/* Nothing faulted in, nothing installed in the device table. */
	TEST_ASSERT_EQ(get_mm_counter(f.mm, MM_ANONPAGES), rss);
	TEST_ASSERT_EQ(mirror_nr_entries(f.m), 0);

	mmput(child);
	fixture_fini(&f);
}

/* The address space exits under the device: release drops every entry, later faults fail. */
TEST(exit_releases_the_device_table)
{
	struct fixture f;
	struct mirror_cmd cmd = { 0 };
	unsigned long addr;

	fixture_init(&f);
	addr = test_mmap_anon(f.mm, SIZE, PROT_READ | PROT_WRITE);
	mm_fill(f.mm, addr, SIZE, 30);
	TEST_ASSERT_EQ(mirror_read(f.m, addr, f.buf, NPAGES, &cmd), 0);
	TEST_ASSERT_EQ(mirror_nr_entries(f.m), NPAGES);

	mmgrab(f.mm);
	mmput(f.mm); /* exit_mmap */
	TEST_ASSERT_EQ(mirror_nr_entries(f.m), 0);
	TEST_ASSERT_EQ(mirror_read(f.m, addr, f.buf, NPAGES, &cmd), -EFAULT);

	free(f.buf);
	mirror_close(f.m);
	mmdrop(f.mm);
	test_pool_destroy(f.pool);
}

/* Truncation unmaps the file's pages from the host and, first, from the device. */
TEST(truncation_under_a_mirrored_file)
{
	struct fixture f;
	struct mirror_cmd cmd = { 0 };
	struct file *file;
	unsigned long addr, invalidations;

	fixture_init(&f);
	file = test_file(f.pool, SIZE, O_RDWR, 31);
	addr = test_mmap(f.mm, 0, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, file, 0);
	TEST_ASSERT_EQ(mirror_read(f.m, addr, f.buf, NPAGES, &cmd), 0);
	check_pattern(f.buf, 0, SIZE, 31);
	invalidations = mirror_invalidations(f.m);

	TEST_ASSERT_EQ(vfs_truncate(file, SIZE / 2), 0);
	TEST_ASSERT(mirror_invalidations(f.m) > invalidations, "truncation not announced");
	TEST_ASSERT_EQ(mirror_nr_entries(f.m), NPAGES / 2);
	/* The first half still reads; past the end of the file is a fault (SIGBUS). */
	TEST_ASSERT_EQ(mirror_read(f.m, addr, f.buf, NPAGES / 2, &cmd), 0);
	check_pattern(f.buf, 0, SIZE / 2, 31);
	TEST_ASSERT_EQ(mirror_read(f.m, addr + SIZE / 2, f.buf, 1, &cmd), -EFAULT);

	TEST_ASSERT_EQ(vm_munmap(f.mm, addr, SIZE), 0);
	fput(file);
	fixture_fini(&f);
}

/*
 * The host moves every page to a new frame (compaction, NUMA balancing):
 * each move announces MMU_NOTIFY_MIGRATE first, so the device drops its
 * entries, and its next read faults the new frames in with the same data.
 */
TEST(migrate_then_read)
{
	struct fixture f;
	struct mirror_cmd cmd = { 0 };
	unsigned long addr, old_pfn, new_pfn;
	struct page *page;

	fixture_init(&f);
	addr = test_mmap_anon(f.mm, SIZE, PROT_READ | PROT_WRITE);
	mm_fill(f.mm, addr, SIZE, 40);
	TEST_ASSERT_EQ(mirror_read(f.m, addr, f.buf, NPAGES, &cmd), 0);
	TEST_ASSERT_EQ(mirror_nr_entries(f.m), NPAGES);
	old_pfn = mm_pte_val(f.mm, addr) >> PAGE_SHIFT;

	for (unsigned long i = 0; i < NPAGES; i++) {
		TEST_ASSERT_EQ(get_user_pages(f.mm, addr + i * PAGE_SIZE, 1, FOLL_GET, &page), 1);
		/* Consumes our reference. */
		TEST_ASSERT_EQ(migrate_page_to_new(page, false, MIGRATE_SYNC), 0);
	}
	new_pfn = mm_pte_val(f.mm, addr) >> PAGE_SHIFT;
	TEST_ASSERT(new_pfn != old_pfn, "page did not move");
	TEST_ASSERT_EQ(mirror_nr_entries(f.m), 0);

	cmd = (struct mirror_cmd){ 0 };
	memset(f.buf, 0, SIZE);
	TEST_ASSERT_EQ(mirror_read(f.m, addr, f.buf, NPAGES, &cmd), 0);
	TEST_ASSERT_EQ(cmd.faults, 1);
	check_pattern(f.buf, addr, SIZE, 40);
	fixture_fini(&f);
}

struct racing_read {
	struct mirror *m;
	unsigned long addr;
	uint8_t buf[PAGE_SIZE];
	struct mirror_cmd cmd;
};

static int racing_read_fn(void *data)
{
	struct racing_read *r = data;

	return mirror_read(r->m, r->addr, r->buf, 1, &r->cmd);
}

/*
 * The collision-retry loop's check belongs under the device lock.  A
 * device fault parked after its host lookup, before it takes the lock
 * (mirror_range_fault:lock), while MADV_DONTNEED runs whole: the
 * invalidation finds nothing to zap yet, and the page is freed.  Going on,
 * the fault must see the interval's sequence moved and fault again,
 * reading the new zero page.  Had it checked before taking the lock, the
 * check would have passed before the invalidation and it would install the
 * freed frame, which its read then reports.
 */
TEST(fault_rechecks_under_the_lock_after_an_invalidation)
{
	struct racing_read r = { 0 };
	struct fixture f;
	struct kthread *k;

	fixture_init(&f);
	r.m = f.m;
	r.addr = test_mmap_anon(f.mm, PAGE_SIZE, PROT_READ | PROT_WRITE);
	mm_fill(f.mm, r.addr, PAGE_SIZE, 50);
	TEST_ASSERT_EQ(sched_point_arm("mirror_range_fault:lock", "reader"), 0);
	k = kthread_run(racing_read_fn, &r, "reader");
	TEST_ASSERT(!IS_ERR(k), "kthread_run");
	TEST_ASSERT_EQ(sched_point_wait("mirror_range_fault:lock"), 0);

	TEST_ASSERT_EQ(do_madvise(f.mm, r.addr, PAGE_SIZE, MADV_DONTNEED), 0);
	sched_point_release("mirror_range_fault:lock");
	TEST_ASSERT_EQ(kthread_stop(k), 0);

	for (unsigned long i = 0; i < PAGE_SIZE; i++)
		TEST_ASSERT_EQ(r.buf[i], 0);
	expect_reports(REPORT_SANITIZER, 0);
	fixture_fini(&f);
}
