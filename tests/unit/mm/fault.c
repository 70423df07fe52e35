// SPDX-License-Identifier: GPL-2.0
/*
 * Faults: anonymous zero-fill, copy-on-write after fork in both
 * directions and the reuse of an exclusive page, shared anonymous memory,
 * private and shared file faults, write-protect faults, and the errors;
 * then what munmap, MADV_DONTNEED, mprotect and mlock do to the PTEs that
 * faults made, and a deterministic race of two faults on one page.
 */
#include <fcntl.h>
#include <pthread.h>
#include <string.h>

#include "base/preempt.h"
#include "base/sched_point.h"
#include "mm/internal.h"
#include "tests/lib/mm_util.h"

#define RW (PROT_READ | PROT_WRITE)

/* The page at @addr with a reference the caller drops; asserts there is one. */
static struct page *page_at(struct mm_struct *mm, unsigned long addr)
{
	struct page *page = mm_lookup_page(mm, addr);

	TEST_ASSERT(page, "no page mapped at %#lx", addr);
	return page;
}

/* ---- anonymous memory ---- */

TEST(anon_read_fault_zero_fills_an_exclusive_page)
{
	struct frame_pool *pool = test_pool(1 << 20);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, 4 * PAGE_SIZE, RW);
	pte_t pte;
	struct page *page;

	TEST_ASSERT_EQ(mm_pte_val(mm, a), 0UL); /* nothing until touched */
	mm_check_zero(mm, a, 4 * PAGE_SIZE);
	TEST_ASSERT_EQ(get_mm_counter(mm, MM_ANONPAGES), 4UL);

	pte = __pte(mm_pte_val(mm, a));
	/* Exclusive from birth, so mapped writable at once even for a read. */
	TEST_ASSERT(pte_present(pte) && pte_write(pte) && !pte_exec(pte), "pte %#lx", pte_val(pte));
	page = page_at(mm, a);
	TEST_ASSERT(PageAnon(page) && PageAnonExclusive(page), "flags %#lx", page->flags);
	TEST_ASSERT_EQ(page_mapcount(page), 1);
	TEST_ASSERT_EQ(page_count(page), 2); /* the PTE's and ours */
	put_page(page);

	mm_fill(mm, a, 4 * PAGE_SIZE, 1);
	mm_check(mm, a, 4 * PAGE_SIZE, 1);
	mmput(mm);
	test_pool_destroy(pool);
}

TEST(read_only_mapping_maps_read_only_and_refuses_writes)
{
	struct frame_pool *pool = test_pool(1 << 20);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, PAGE_SIZE, PROT_READ);
	char c = 1;

	mm_check_zero(mm, a, PAGE_SIZE);
	TEST_ASSERT(!pte_write(__pte(mm_pte_val(mm, a))), "read-only PTE");
	TEST_ASSERT_EQ(mm_try_write(mm, a, &c, 1), -EFAULT);
	mmput(mm);
	test_pool_destroy(pool);
}

TEST(access_outside_vmas_is_efault)
{
	struct frame_pool *pool = test_pool(1 << 20);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, 2 * PAGE_SIZE, RW);
	struct vm_area_struct *vma;
	char buf[2 * PAGE_SIZE];

	TEST_ASSERT_EQ(mm_try_read(mm, a + 2 * PAGE_SIZE, buf, 1), -EFAULT);
	TEST_ASSERT_EQ(mm_try_read(mm, 0, buf, 1), -EFAULT);
	TEST_ASSERT_EQ(mm_try_read(mm, TASK_SIZE - 1, buf, 2), -EFAULT);
	/* A range running off the end of the VMA stops there. */
	TEST_ASSERT_EQ(mm_try_read(mm, a + PAGE_SIZE + 100, buf, PAGE_SIZE), (long)PAGE_SIZE - 100);
	TEST_ASSERT_EQ(access_remote_vm(mm, a, buf, 1, FOLL_PIN), -EINVAL);

	mmap_read_lock(mm);
	vma = vma_lookup(mm, a);
	TEST_ASSERT_EQ(handle_mm_fault(vma, a + 2 * PAGE_SIZE, 0), VM_FAULT_SIGSEGV);
	TEST_ASSERT_EQ(handle_mm_fault(vma, a, FAULT_FLAG_WRITE), 0U);
	mmap_read_unlock(mm);
	mmput(mm);
	test_pool_destroy(pool);
}

TEST(prot_none_is_reached_only_by_force)
{
	struct frame_pool *pool = test_pool(1 << 20);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, PAGE_SIZE, PROT_NONE);
	char c = 7;

	TEST_ASSERT_EQ(mm_try_read(mm, a, &c, 1), -EFAULT);
	TEST_ASSERT_EQ(mm_try_write(mm, a, &c, 1), -EFAULT);
	TEST_ASSERT_EQ(mm_pte_val(mm, a), 0UL);
	/* A debugger's read: faults the page in behind a PROT_NONE PTE. */
	TEST_ASSERT_EQ(access_remote_vm(mm, a, &c, 1, FOLL_FORCE), 1L);
	TEST_ASSERT_EQ(c, 0);
	TEST_ASSERT(pte_protnone(__pte(mm_pte_val(mm, a))), "pte %#lx", mm_pte_val(mm, a));
	mmput(mm);
	test_pool_destroy(pool);
}

/* FOLL_FORCE writes a read-only private mapping through a private copy; the PTE stays read-only. */
TEST(force_write_to_read_only_private_mapping)
{
	struct frame_pool *pool = test_pool(1 << 20);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, PAGE_SIZE, PROT_READ);
	char in = 0x5a, out = 0;
	struct page *page;

	TEST_ASSERT_EQ(access_remote_vm(mm, a, &in, 1, FOLL_WRITE | FOLL_FORCE), 1L);
	mm_read(mm, a, &out, 1);
	TEST_ASSERT_EQ(out, in);
	TEST_ASSERT(!pte_write(__pte(mm_pte_val(mm, a))), "still read-only");
	page = page_at(mm, a);
	TEST_ASSERT(PageAnonExclusive(page), "our own copy");
	put_page(page);
	mmput(mm);
	test_pool_destroy(pool);
}

/* ---- copy-on-write ---- */

TEST(cow_after_fork_parent_writes)
{
	struct frame_pool *pool = test_pool(1 << 20);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, 2 * PAGE_SIZE, RW);
	struct mm_struct *child;
	long pfn;

	mm_fill(mm, a, 2 * PAGE_SIZE, 1);
	pfn = mm_pfn_at(mm, a);
	child = test_fork(mm);
	/* Shared after fork, write-protected on both sides. */
	TEST_ASSERT_EQ(mm_pfn_at(child, a), pfn);
	TEST_ASSERT(!pte_write(__pte(mm_pte_val(mm, a))), "parent write-protected");
	TEST_ASSERT(!pte_write(__pte(mm_pte_val(child, a))), "child write-protected");
	TEST_ASSERT_EQ(get_mm_counter(child, MM_ANONPAGES), 2UL);

	mm_fill(mm, a, PAGE_SIZE, 2);
	TEST_ASSERT(mm_pfn_at(mm, a) != pfn, "the writer got a copy");
	TEST_ASSERT_EQ(mm_pfn_at(child, a), pfn);
	mm_check(mm, a, PAGE_SIZE, 2);
	mm_check(child, a, PAGE_SIZE, 1);
	mm_check(mm, a + PAGE_SIZE, PAGE_SIZE, 1); /* the untouched page is still shared */
	TEST_ASSERT_EQ(mm_pfn_at(mm, a + PAGE_SIZE), mm_pfn_at(child, a + PAGE_SIZE));
	mmput(child);
	mmput(mm);
	test_pool_destroy(pool);
}

TEST(cow_after_fork_child_writes)
{
	struct frame_pool *pool = test_pool(1 << 20);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, PAGE_SIZE, RW);
	struct mm_struct *child;
	long pfn;

	mm_fill(mm, a, PAGE_SIZE, 1);
	pfn = mm_pfn_at(mm, a);
	child = test_fork(mm);
	mm_fill(child, a, PAGE_SIZE, 3);
	TEST_ASSERT(mm_pfn_at(child, a) != pfn, "the child got a copy");
	mm_check(child, a, PAGE_SIZE, 3);
	mm_check(mm, a, PAGE_SIZE, 1);
	/* The parent is now alone on the old page: its write reuses it. */
	mm_fill(mm, a, PAGE_SIZE, 4);
	TEST_ASSERT_EQ(mm_pfn_at(mm, a), pfn);
	mm_check(child, a, PAGE_SIZE, 3);
	mmput(mm);
	mmput(child);
	test_pool_destroy(pool);
}

TEST(cow_reuses_the_page_once_the_child_is_gone)
{
	struct frame_pool *pool = test_pool(1 << 20);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, PAGE_SIZE, RW);
	unsigned long frames;
	struct page *page;
	long pfn;

	mm_fill(mm, a, PAGE_SIZE, 1);
	pfn = mm_pfn_at(mm, a);
	mmput(test_fork(mm));
	page = page_at(mm, a);
	TEST_ASSERT(!PageAnonExclusive(page), "no longer exclusive after the fork");
	put_page(page);

	frames = test_pool_allocated(pool);
	mm_fill(mm, a, PAGE_SIZE, 2);
	TEST_ASSERT_EQ(mm_pfn_at(mm, a), pfn);
	TEST_ASSERT_EQ(test_pool_allocated(pool), frames); /* no copy was made */
	TEST_ASSERT(pte_write(__pte(mm_pte_val(mm, a))), "writable again");
	page = page_at(mm, a);
	TEST_ASSERT(PageAnonExclusive(page), "exclusive again");
	put_page(page);
	mmput(mm);
	test_pool_destroy(pool);
}

/* A reference held elsewhere (a lookup, a pin) keeps a write from reusing the page. */
TEST(cow_copies_a_page_someone_else_holds)
{
	struct frame_pool *pool = test_pool(1 << 20);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, PAGE_SIZE, RW);
	struct page *held;
	long pfn;

	mm_fill(mm, a, PAGE_SIZE, 1);
	pfn = mm_pfn_at(mm, a);
	mmput(test_fork(mm));
	held = page_at(mm, a);
	mm_fill(mm, a, PAGE_SIZE, 2);
	TEST_ASSERT(mm_pfn_at(mm, a) != pfn, "copied");
	TEST_ASSERT_EQ(page_mapcount(held), 0);
	put_page(held); /* the last reference: the old page is freed now */
	mmput(mm);
	test_pool_destroy(pool);
}

/* ---- the notifier at COW and fork ---- */

struct recorded_event {
	enum mmu_notifier_event event;
	unsigned long start, end;
	bool atomic;
	unsigned long pte_at_start; /* of the watched address */
	unsigned long pte_at_end;
};

struct recorder {
	struct mmu_notifier mn;
	unsigned long watch;
	int nr;
	struct recorded_event ev[8];
};

static int rec_start(struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	struct recorder *rec = container_of(mn, struct recorder, mn);
	struct recorded_event *e = &rec->ev[rec->nr];

	TEST_ASSERT(rec->nr < (int)ARRAY_SIZE(rec->ev), "too many events");
	*e = (struct recorded_event){
		.event = range->event,
		.start = range->start,
		.end = range->end,
		.atomic = in_atomic(),
	};
	/* Inside the path under test, which holds mmap_lock. */
	e->pte_at_start = __mm_pte_val(range->mm, rec->watch);
	return 0;
}

static void rec_end(struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	struct recorder *rec = container_of(mn, struct recorder, mn);

	rec->ev[rec->nr++].pte_at_end = __mm_pte_val(range->mm, rec->watch);
}

static const struct mmu_notifier_ops rec_ops = {
	.invalidate_range_start = rec_start,
	.invalidate_range_end = rec_end,
};

/*
 * Fork write-protects the parent's PTEs (PROTECTION_PAGE over the VMA); the
 * COW break announces the one page (CLEAR) while the PTE still maps the old
 * frame, and the new frame appears only after start returned.
 */
TEST(fork_and_cow_break_announce_before_changing_ptes)
{
	struct frame_pool *pool = test_pool(1 << 20);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, 2 * PAGE_SIZE, RW);
	struct recorder rec = { .mn.ops = &rec_ops, .watch = a + PAGE_SIZE };
	struct mm_struct *child;
	pte_t before, after;

	mm_fill(mm, a, 2 * PAGE_SIZE, 1);
	before = __pte(mm_pte_val(mm, a + PAGE_SIZE));
	TEST_ASSERT_EQ(mmu_notifier_register(&rec.mn, mm), 0);

	child = test_fork(mm);
	TEST_ASSERT_EQ(rec.nr, 1);
	TEST_ASSERT_EQ(rec.ev[0].event, MMU_NOTIFY_PROTECTION_PAGE);
	TEST_ASSERT(rec.ev[0].start == a && rec.ev[0].end == a + 2 * PAGE_SIZE, "[%#lx, %#lx)",
		    rec.ev[0].start, rec.ev[0].end);
	TEST_ASSERT(pte_write(__pte(rec.ev[0].pte_at_start)), "writable when announced");
	TEST_ASSERT(!pte_write(__pte(rec.ev[0].pte_at_end)), "write-protected by the end");

	mm_fill(mm, a + PAGE_SIZE, 1, 2);
	after = __pte(mm_pte_val(mm, a + PAGE_SIZE));
	TEST_ASSERT_EQ(rec.nr, 2);
	TEST_ASSERT_EQ(rec.ev[1].event, MMU_NOTIFY_CLEAR);
	TEST_ASSERT(rec.ev[1].start == a + PAGE_SIZE && rec.ev[1].end == a + 2 * PAGE_SIZE,
		    "[%#lx, %#lx)", rec.ev[1].start, rec.ev[1].end);
	TEST_ASSERT_EQ(pte_pfn(__pte(rec.ev[1].pte_at_start)), pte_pfn(before));
	TEST_ASSERT_EQ(pte_pfn(__pte(rec.ev[1].pte_at_end)), pte_pfn(after));
	TEST_ASSERT(pte_pfn(after) != pte_pfn(before), "copied");
	for (int i = 0; i < rec.nr; i++)
		TEST_ASSERT(!rec.ev[i].atomic, "event %d started in an atomic section", i);

	mmu_notifier_unregister(&rec.mn, mm);
	mmput(child);
	mmput(mm);
	test_pool_destroy(pool);
}

/* ---- shared anonymous memory ---- */

TEST(shared_anon_is_shared_with_the_child)
{
	struct frame_pool *pool = test_pool(1 << 20);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap(mm, 0, 2 * PAGE_SIZE, RW, MAP_SHARED | MAP_ANONYMOUS, NULL, 0);
	struct mm_struct *child;

	mm_fill(mm, a, PAGE_SIZE, 1);
	TEST_ASSERT_EQ(get_mm_counter(mm, MM_SHMEMPAGES), 1UL);
	child = test_fork(mm);
	mm_check(child, a, PAGE_SIZE, 1);
	mm_fill(child, a, 2 * PAGE_SIZE, 2);
	mm_check(mm, a, 2 * PAGE_SIZE, 2);
	TEST_ASSERT_EQ(mm_pfn_at(mm, a), mm_pfn_at(child, a));
	TEST_ASSERT(pte_write(__pte(mm_pte_val(mm, a))), "shared: no COW");
	mmput(child);
	mmput(mm);
	test_pool_destroy(pool);
}

/* ---- files ---- */

TEST(private_file_cow_leaves_the_file_untouched)
{
	struct frame_pool *pool = test_pool(1 << 20);
	struct mm_struct *mm = test_mm(pool);
	struct file *file = test_file(pool, 2 * PAGE_SIZE, O_RDWR, 5);
	unsigned long a = test_mmap(mm, 0, 2 * PAGE_SIZE, RW, MAP_PRIVATE, file, 0);
	uint8_t buf[PAGE_SIZE];
	struct page *page;

	mm_read(mm, a, buf, PAGE_SIZE);
	for (unsigned long i = 0; i < PAGE_SIZE; i++)
		TEST_ASSERT_EQ(buf[i], mm_pattern_byte(i, 5));
	TEST_ASSERT_EQ(get_mm_counter(mm, MM_FILEPAGES), 1UL);
	page = page_at(mm, a);
	TEST_ASSERT(!PageAnon(page) && !pte_write(__pte(mm_pte_val(mm, a))), "file page, COW");
	put_page(page);

	mm_fill(mm, a, PAGE_SIZE, 6);
	mm_check(mm, a, PAGE_SIZE, 6);
	TEST_ASSERT_EQ(get_mm_counter(mm, MM_FILEPAGES), 0UL);
	TEST_ASSERT_EQ(get_mm_counter(mm, MM_ANONPAGES), 1UL);
	page = page_at(mm, a);
	TEST_ASSERT(PageAnon(page) && PageAnonExclusive(page), "a private copy");
	put_page(page);
	/* A write fault on an untouched page copies straight from the file. */
	mm_fill(mm, a + PAGE_SIZE, 1, 7);

	TEST_ASSERT_EQ(filemap_write_and_wait(file->f_mapping), 0);
	test_file_read(file, 0, buf, PAGE_SIZE);
	for (unsigned long i = 0; i < PAGE_SIZE; i++)
		TEST_ASSERT_EQ(buf[i], mm_pattern_byte(i, 5));
	test_file_read(file, PAGE_SIZE, buf, 1);
	TEST_ASSERT_EQ(buf[0], mm_pattern_byte(PAGE_SIZE, 5));
	mmput(mm);
	fput(file);
	test_pool_destroy(pool);
}

TEST(shared_file_write_dirties_the_page_and_reaches_the_file)
{
	struct frame_pool *pool = test_pool(1 << 20);
	struct mm_struct *mm = test_mm(pool);
	struct file *file = test_file(pool, PAGE_SIZE, O_RDWR, 5);
	unsigned long a = test_mmap(mm, 0, PAGE_SIZE, RW, MAP_SHARED, file, 0);
	uint8_t buf[64], got[64];
	struct page *page;

	mm_read(mm, a, got, sizeof(got));
	/* writenotify: mapped read-only until the first write marks the page dirty. */
	TEST_ASSERT(!pte_write(__pte(mm_pte_val(mm, a))), "read-only before the first write");
	page = page_at(mm, a);
	TEST_ASSERT(!PageDirty(page), "clean after a read");

	memset(buf, 0xab, sizeof(buf));
	mm_write(mm, a + 100, buf, sizeof(buf));
	TEST_ASSERT(pte_write(__pte(mm_pte_val(mm, a))), "writable after the write fault");
	TEST_ASSERT(PageDirty(page), "dirty after the write");
	put_page(page);

	TEST_ASSERT_EQ(filemap_write_and_wait(file->f_mapping), 0);
	test_file_read(file, 100, got, sizeof(got));
	TEST_ASSERT(!memcmp(got, buf, sizeof(buf)), "the write reached the file");
	mmput(mm);
	fput(file);
	test_pool_destroy(pool);
}

TEST(file_fault_past_eof_is_efault)
{
	struct frame_pool *pool = test_pool(1 << 20);
	struct mm_struct *mm = test_mm(pool);
	struct file *file = test_file(pool, PAGE_SIZE, O_RDWR, 5);
	unsigned long a = test_mmap(mm, 0, 2 * PAGE_SIZE, PROT_READ, MAP_SHARED, file, 0);
	char c;

	TEST_ASSERT_EQ(mm_try_read(mm, a, &c, 1), 1L);
	TEST_ASSERT_EQ(mm_try_read(mm, a + PAGE_SIZE, &c, 1), -EFAULT); /* SIGBUS */
	mmput(mm);
	fput(file);
	test_pool_destroy(pool);
}

/* ---- what unmapping and protecting do to faulted pages ---- */

TEST(munmap_frees_pages_and_tables)
{
	struct frame_pool *pool = test_pool(4 << 20);
	struct mm_struct *mm = test_mm(pool);
	unsigned long before = test_pool_allocated(pool);
	unsigned long len = 600 * PAGE_SIZE;
	unsigned long a = test_mmap_anon(mm, len, RW);

	mm_fill(mm, a, len, 1);
	TEST_ASSERT(test_pool_allocated(pool) >= before + 600 + 2, "pages and tables");
	TEST_ASSERT_EQ(vm_munmap(mm, a, len), 0);
	TEST_ASSERT_EQ(test_pool_allocated(pool), before);
	TEST_ASSERT_EQ(get_mm_counter(mm, MM_ANONPAGES), 0UL);
	TEST_ASSERT_EQ(atomic_long_read(&mm->pgtables_bytes), 0L);
	mmput(mm);
	test_pool_destroy(pool);
}

TEST(munmap_of_the_middle_keeps_the_rest)
{
	struct frame_pool *pool = test_pool(1 << 20);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, 8 * PAGE_SIZE, RW);

	mm_fill(mm, a, 8 * PAGE_SIZE, 1);
	TEST_ASSERT_EQ(vm_munmap(mm, a + 2 * PAGE_SIZE, 4 * PAGE_SIZE), 0);
	TEST_ASSERT_EQ(get_mm_counter(mm, MM_ANONPAGES), 4UL);
	mm_check(mm, a, 2 * PAGE_SIZE, 1);
	mm_check(mm, a + 6 * PAGE_SIZE, 2 * PAGE_SIZE, 1);
	TEST_ASSERT_EQ(mm_pte_val(mm, a + 3 * PAGE_SIZE), 0UL);
	mmput(mm);
	test_pool_destroy(pool);
}

TEST(madv_dontneed_zaps_and_refaults_zero)
{
	struct frame_pool *pool = test_pool(1 << 20);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, 4 * PAGE_SIZE, RW);
	unsigned long before;

	mm_fill(mm, a, 4 * PAGE_SIZE, 1);
	before = test_pool_allocated(pool);
	TEST_ASSERT_EQ(do_madvise(mm, a + PAGE_SIZE, 2 * PAGE_SIZE, MADV_DONTNEED), 0);
	TEST_ASSERT_EQ(test_pool_allocated(pool), before - 2);
	TEST_ASSERT_EQ(get_mm_counter(mm, MM_ANONPAGES), 2UL);
	mm_check(mm, a, PAGE_SIZE, 1);
	mm_check_zero(mm, a + PAGE_SIZE, 2 * PAGE_SIZE);
	mm_check(mm, a + 3 * PAGE_SIZE, PAGE_SIZE, 1);
	mmput(mm);
	test_pool_destroy(pool);
}

TEST(mprotect_write_protects_and_restores)
{
	struct frame_pool *pool = test_pool(1 << 20);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, 2 * PAGE_SIZE, RW);
	char c = 1;
	long pfn;

	mm_fill(mm, a, 2 * PAGE_SIZE, 1);
	pfn = mm_pfn_at(mm, a);
	TEST_ASSERT_EQ(do_mprotect(mm, a, 2 * PAGE_SIZE, PROT_READ), 0);
	TEST_ASSERT(!pte_write(__pte(mm_pte_val(mm, a))), "write-protected");
	TEST_ASSERT_EQ(mm_try_write(mm, a, &c, 1), -EFAULT);
	mm_check(mm, a, 2 * PAGE_SIZE, 1);

	TEST_ASSERT_EQ(do_mprotect(mm, a, 2 * PAGE_SIZE, PROT_NONE), 0);
	TEST_ASSERT(pte_protnone(__pte(mm_pte_val(mm, a))), "PROT_NONE PTE");
	TEST_ASSERT_EQ(mm_try_read(mm, a, &c, 1), -EFAULT);

	TEST_ASSERT_EQ(do_mprotect(mm, a, 2 * PAGE_SIZE, RW), 0);
	mm_check(mm, a, 2 * PAGE_SIZE, 1);
	mm_fill(mm, a, PAGE_SIZE, 2);
	TEST_ASSERT_EQ(mm_pfn_at(mm, a), pfn); /* exclusive: reused, not copied */
	mmput(mm);
	test_pool_destroy(pool);
}

TEST(fault_in_locked_vma_mlocks_the_page)
{
	struct frame_pool *pool = test_pool(1 << 20);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, 2 * PAGE_SIZE, RW);
	struct page *page;

	TEST_ASSERT_EQ(do_mlock(mm, a, 2 * PAGE_SIZE, MLOCK_ONFAULT), 0);
	TEST_ASSERT_EQ(mm_pte_val(mm, a), 0UL); /* on fault: nothing yet */
	mm_fill(mm, a, PAGE_SIZE, 1);
	page = page_at(mm, a);
	TEST_ASSERT(PageMlocked(page), "mlocked at fault");
	put_page(page);
	/* Unmapping a locked page munlocks it: its free is clean. */
	TEST_ASSERT_EQ(vm_munmap(mm, a, 2 * PAGE_SIZE), 0);
	mmput(mm);
	test_pool_destroy(pool);
}

TEST(map_populate_faults_everything_in)
{
	struct frame_pool *pool = test_pool(1 << 20);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap(mm, 0, 8 * PAGE_SIZE, RW,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, NULL, 0);

	for (int i = 0; i < 8; i++)
		TEST_ASSERT(pte_present(__pte(mm_pte_val(mm, a + i * PAGE_SIZE))), "page %d", i);
	TEST_ASSERT_EQ(get_mm_counter(mm, MM_ANONPAGES), 8UL);
	mmput(mm);
	test_pool_destroy(pool);
}

TEST(out_of_frames_is_enomem)
{
	struct frame_pool *pool = test_pool(32 * PAGE_SIZE);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, 64 * PAGE_SIZE, RW);
	long ret = 0;
	int i;
	char c = 1;

	for (i = 0; i < 64 && ret >= 0; i++)
		ret = mm_try_write(mm, a + i * PAGE_SIZE, &c, 1);
	TEST_ASSERT_EQ(ret, -ENOMEM);
	TEST_ASSERT(i > 16, "only %d pages before running out", i);
	mmput(mm);
	test_pool_destroy(pool);
}

/* ---- a race ---- */

struct fault_thread {
	struct mm_struct *mm;
	unsigned long addr;
	uint64_t seed;
};

static void *fault_fn(void *arg)
{
	struct fault_thread *t = arg;
	char c = (char)t->seed;

	task_register(t->seed == 1 ? "faulter-a" : "faulter-b");
	mm_write(t->mm, t->addr, &c, 1);
	task_unregister();
	return NULL;
}

/*
 * Two threads fault the same untouched page.  A stops after allocating
 * its page, before the PTE lock; B faults the page in; A then finds the PTE
 * taken and must give its page back: one frame mapped, none leaked.
 */
TEST(racing_anon_faults_map_one_frame)
{
	struct frame_pool *pool = test_pool(1 << 20);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, PAGE_SIZE, RW);
	struct fault_thread ta = { mm, a, 1 }, tb = { mm, a + 1, 2 };
	unsigned long before = test_pool_allocated(pool);
	pthread_t a_thread, b_thread;
	char buf[2];

	TEST_ASSERT_EQ(sched_point_arm("fault:anon_before_pte_lock", "faulter-a"), 0);
	pthread_create(&a_thread, NULL, fault_fn, &ta);
	TEST_ASSERT_EQ(sched_point_wait("fault:anon_before_pte_lock"), 0);
	pthread_create(&b_thread, NULL, fault_fn, &tb);
	pthread_join(b_thread, NULL);
	sched_point_release("fault:anon_before_pte_lock");
	pthread_join(a_thread, NULL);

	mm_read(mm, a, buf, 2);
	TEST_ASSERT(buf[0] == 1 && buf[1] == 2, "both writes landed in one page: %d %d", buf[0],
		    buf[1]);
	TEST_ASSERT_EQ(get_mm_counter(mm, MM_ANONPAGES), 1UL);
	/* The PTE table and one page: A's page went back. */
	TEST_ASSERT_EQ(test_pool_allocated(pool), before + 3 + 1);
	mmput(mm);
	test_pool_destroy(pool);
}

struct fill_thread {
	struct mm_struct *mm;
	unsigned long addr;
	unsigned long pages;
	int parity;
	pthread_barrier_t *start;
};

static void *fill_every_other_page(void *arg)
{
	struct fill_thread *t = arg;

	task_register(t->parity ? "odd" : "even");
	pthread_barrier_wait(t->start);
	for (unsigned long i = t->parity; i < t->pages; i += 2)
		mm_fill(t->mm, t->addr + i * PAGE_SIZE, PAGE_SIZE, 9);
	task_unregister();
	return NULL;
}

/* How many tables of each level [start, end) needs. */
static unsigned long tables_spanned(unsigned long start, unsigned long end)
{
	unsigned long n = 0;

	n += ((end - 1) >> PMD_SHIFT) - (start >> PMD_SHIFT) + 1;
	n += ((end - 1) >> PUD_SHIFT) - (start >> PUD_SHIFT) + 1;
	n += ((end - 1) >> PGDIR_SHIFT) - (start >> PGDIR_SHIFT) + 1;
	return n;
}

/*
 * Two threads fault interleaved pages of one region at once, racing to
 * populate every table: each table is installed once (the loser of a race
 * gives its table back) and every page holds what its thread wrote.
 */
TEST(concurrent_faults_populate_each_table_once)
{
	struct frame_pool *pool = test_pool(8 << 20);
	struct mm_struct *mm = test_mm(pool);
	unsigned long pages = 1536, len = pages * PAGE_SIZE;
	unsigned long a = test_mmap_anon(mm, len, RW);
	pthread_barrier_t start;
	struct fill_thread t[2];
	pthread_t tid[2];

	pthread_barrier_init(&start, NULL, 2);
	for (int i = 0; i < 2; i++) {
		t[i] = (struct fill_thread){ mm, a, pages, i, &start };
		pthread_create(&tid[i], NULL, fill_every_other_page, &t[i]);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(tid[i], NULL);
	pthread_barrier_destroy(&start);

	mm_check(mm, a, len, 9);
	TEST_ASSERT_EQ(get_mm_counter(mm, MM_ANONPAGES), pages);
	TEST_ASSERT_EQ((unsigned long)atomic_long_read(&mm->pgtables_bytes),
		       tables_spanned(a, a + len) * PAGE_SIZE);
	mmput(mm);
	test_pool_destroy(pool);
}
