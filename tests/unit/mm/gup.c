// SPDX-License-Identifier: GPL-2.0
/*
 * get_user_pages with references and pins, the pin rules (pins survive
 * unmapping, stay coherent across fork and COW), the secondary MMU's
 * non-pinning lookup, access_remote_vm and populate.
 */
#include <fcntl.h>
#include <string.h>

#include "mm/internal.h"
#include "tests/lib/mm_util.h"

#define RW (PROT_READ | PROT_WRITE)

static struct page *pin_one(struct mm_struct *mm, unsigned long addr, unsigned int flags)
{
	struct page *page;

	TEST_ASSERT_EQ(get_user_pages(mm, addr, 1, FOLL_PIN | flags, &page), 1L);
	return page;
}

TEST(get_user_pages_takes_references)
{
	struct frame_pool *pool = test_pool(1 << 20);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, 4 * PAGE_SIZE, RW);
	struct page *pages[4];

	mm_fill(mm, a, 4 * PAGE_SIZE, 1);
	TEST_ASSERT_EQ(get_user_pages(mm, a, 4, FOLL_GET, pages), 4L);
	for (int i = 0; i < 4; i++) {
		TEST_ASSERT_EQ((long)page_to_pfn(pages[i]), mm_pfn_at(mm, a + i * PAGE_SIZE));
		TEST_ASSERT_EQ(page_count(pages[i]), 2);
		TEST_ASSERT(!page_maybe_dma_pinned(pages[i]), "a reference is not a pin");
		put_page(pages[i]);
	}
	/* With pages and neither flag, a plain reference, as get_user_pages() always takes. */
	TEST_ASSERT_EQ(get_user_pages(mm, a, 1, 0, pages), 1L);
	TEST_ASSERT_EQ(page_count(pages[0]), 2);
	put_page(pages[0]);
	mmput(mm);
	test_pool_destroy(pool);
}

TEST(get_user_pages_faults_pages_in)
{
	struct frame_pool *pool = test_pool(1 << 20);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, 3 * PAGE_SIZE, RW);
	struct page *pages[3];

	TEST_ASSERT_EQ(get_user_pages(mm, a, 3, FOLL_GET | FOLL_WRITE, pages), 3L);
	for (int i = 0; i < 3; i++) {
		TEST_ASSERT(pte_write(__pte(mm_pte_val(mm, a + i * PAGE_SIZE))), "page %d", i);
		put_page(pages[i]);
	}
	mmput(mm);
	test_pool_destroy(pool);
}

TEST(pins_are_visible_in_the_page)
{
	struct frame_pool *pool = test_pool(1 << 20);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, 2 * PAGE_SIZE, RW);
	struct page *pages[2];

	TEST_ASSERT(!test_bit(MMF_HAS_PINNED, &mm->flags), "no pin yet");
	TEST_ASSERT_EQ(get_user_pages(mm, a, 2, FOLL_PIN | FOLL_WRITE, pages), 2L);
	TEST_ASSERT(test_bit(MMF_HAS_PINNED, &mm->flags), "the mm has pinned");
	for (int i = 0; i < 2; i++) {
		TEST_ASSERT(page_maybe_dma_pinned(pages[i]), "pinned");
		TEST_ASSERT_EQ(page_count(pages[i]), 2); /* a pin is a reference too */
	}
	unpin_user_pages(pages, 2);
	for (int i = 0; i < 2; i++) {
		TEST_ASSERT(!page_maybe_dma_pinned(pages[i]), "unpinned");
		TEST_ASSERT_EQ(page_count(pages[i]), 1);
	}
	mmput(mm);
	test_pool_destroy(pool);
}

TEST(get_user_pages_bad_arguments)
{
	struct frame_pool *pool = test_pool(1 << 20);
	struct mm_struct *mm = test_mm(pool);
	unsigned long ro = test_mmap_anon(mm, PAGE_SIZE, PROT_READ);
	unsigned long a = test_mmap_anon(mm, 3 * PAGE_SIZE, RW);
	struct page *pages[4];

	TEST_ASSERT_EQ(vm_munmap(mm, a + 2 * PAGE_SIZE, PAGE_SIZE), 0); /* a hole after 2 pages */

	TEST_ASSERT_EQ(get_user_pages(mm, a, 1, FOLL_PIN | FOLL_GET, pages), -EINVAL);
	TEST_ASSERT_EQ(get_user_pages(mm, a, 1, FOLL_GET | FOLL_LONGTERM, pages), -EINVAL);
	TEST_ASSERT_EQ(get_user_pages(mm, a, 1, FOLL_GET, NULL), -EINVAL);
	TEST_ASSERT_EQ(get_user_pages(mm, a, 1, FOLL_PIN, NULL), -EINVAL);
	TEST_ASSERT_EQ(get_user_pages(mm, a, 1, 0x2, pages), -EINVAL);
	TEST_ASSERT_EQ(get_user_pages(mm, a, 0, FOLL_GET, pages), 0L);
	TEST_ASSERT_EQ(get_user_pages(mm, 0, 1, FOLL_GET, pages), -EFAULT);
	TEST_ASSERT_EQ(get_user_pages(mm, TASK_SIZE, 1, FOLL_GET, pages), -EFAULT);
	TEST_ASSERT_EQ(get_user_pages(mm, a, ~0UL, FOLL_GET, pages), -EFAULT);
	TEST_ASSERT_EQ(get_user_pages(mm, ro, 1, FOLL_GET | FOLL_WRITE, pages), -EFAULT);
	/* A range running into the hole: the pages before it. */
	TEST_ASSERT_EQ(get_user_pages(mm, a, 4, FOLL_GET, pages), 2L);
	put_page(pages[0]);
	put_page(pages[1]);
	mmput(mm);
	test_pool_destroy(pool);
}

TEST(nofault_only_finds_what_is_mapped)
{
	struct frame_pool *pool = test_pool(1 << 20);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, PAGE_SIZE, RW);
	struct page *page;

	TEST_ASSERT_EQ(get_user_pages(mm, a, 1, FOLL_GET | FOLL_NOFAULT, &page), -EFAULT);
	TEST_ASSERT_EQ(mm_pte_val(mm, a), 0UL);
	mm_fill(mm, a, PAGE_SIZE, 1);
	TEST_ASSERT_EQ(get_user_pages(mm, a, 1, FOLL_GET | FOLL_NOFAULT, &page), 1L);
	put_page(page);
	mmput(mm);
	test_pool_destroy(pool);
}

/* A pin keeps its page through munmap of other ranges and of its own. */
TEST(pin_survives_munmap)
{
	struct frame_pool *pool = test_pool(1 << 20);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, PAGE_SIZE, RW);
	unsigned long b = test_mmap_anon(mm, 4 * PAGE_SIZE, RW);
	unsigned long frames;
	struct page *page;

	mm_fill(mm, a, PAGE_SIZE, 1);
	mm_fill(mm, b, 4 * PAGE_SIZE, 2);
	page = pin_one(mm, a, FOLL_WRITE);

	TEST_ASSERT_EQ(vm_munmap(mm, b, 4 * PAGE_SIZE), 0);
	TEST_ASSERT_EQ((long)page_to_pfn(page), mm_pfn_at(mm, a));
	mm_check(mm, a, PAGE_SIZE, 1);

	frames = test_pool_allocated(pool);
	TEST_ASSERT_EQ(vm_munmap(mm, a, PAGE_SIZE), 0);
	/* Unmapped and its tables gone, but the pinned frame itself stays. */
	TEST_ASSERT_EQ(page_frame_state(page), FRAME_DATA);
	TEST_ASSERT(!page_mapped(page) && page_maybe_dma_pinned(page), "pinned, unmapped");
	for (unsigned long i = 0; i < PAGE_SIZE; i++)
		TEST_ASSERT_EQ(((uint8_t *)page_address(page))[i], mm_pattern_byte(a + i, 1));
	frames = test_pool_allocated(pool);
	unpin_user_page(page);
	TEST_ASSERT_EQ(test_pool_allocated(pool), frames - 1);
	mmput(mm);
	test_pool_destroy(pool);
}

/*
 * fork does not share a pinned page: the child gets a copy, so the
 * parent's next write stays on the page the pin refers to.
 */
TEST(write_pin_stays_coherent_across_fork)
{
	struct frame_pool *pool = test_pool(1 << 20);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, PAGE_SIZE, RW);
	struct mm_struct *child;
	struct page *page;

	mm_fill(mm, a, PAGE_SIZE, 1);
	page = pin_one(mm, a, FOLL_WRITE);
	child = test_fork(mm);
	TEST_ASSERT(mm_pfn_at(child, a) != (long)page_to_pfn(page), "the child got a copy");
	TEST_ASSERT(pte_write(__pte(mm_pte_val(mm, a))), "the parent keeps its writable PTE");
	mm_check(child, a, PAGE_SIZE, 1);

	mm_fill(mm, a, PAGE_SIZE, 2);
	TEST_ASSERT_EQ(mm_pfn_at(mm, a), (long)page_to_pfn(page));
	TEST_ASSERT_EQ(((uint8_t *)page_address(page))[0], mm_pattern_byte(a, 2));
	mm_check(child, a, PAGE_SIZE, 1);
	unpin_user_page(page);
	mmput(child);
	mmput(mm);
	test_pool_destroy(pool);
}

/*
 * A read pin of a page shared since fork unshares it first, so the pin
 * sees the parent's later writes instead of a page COW leaves behind.
 */
TEST(read_pin_unshares_a_page_shared_with_a_child)
{
	struct frame_pool *pool = test_pool(1 << 20);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, PAGE_SIZE, RW);
	struct mm_struct *child;
	struct page *page;
	long shared;

	mm_fill(mm, a, PAGE_SIZE, 1);
	child = test_fork(mm);
	shared = mm_pfn_at(mm, a);
	page = pin_one(mm, a, 0);
	TEST_ASSERT(page_to_pfn(page) != (unsigned long)shared, "unshared into a copy");
	TEST_ASSERT_EQ(mm_pfn_at(mm, a), (long)page_to_pfn(page));
	TEST_ASSERT_EQ(mm_pfn_at(child, a), shared);
	TEST_ASSERT(PageAnonExclusive(page), "exclusive");
	TEST_ASSERT(!pte_write(__pte(mm_pte_val(mm, a))), "mapped read-only by the unshare");

	mm_fill(mm, a, PAGE_SIZE, 2);
	TEST_ASSERT_EQ(mm_pfn_at(mm, a), (long)page_to_pfn(page));
	TEST_ASSERT_EQ(((uint8_t *)page_address(page))[0], mm_pattern_byte(a, 2));
	mm_check(child, a, PAGE_SIZE, 1);
	unpin_user_page(page);
	mmput(child);
	mmput(mm);
	test_pool_destroy(pool);
}

TEST(longterm_write_pin_of_a_shared_file_is_refused)
{
	struct frame_pool *pool = test_pool(1 << 20);
	struct mm_struct *mm = test_mm(pool);
	struct file *file = test_file(pool, PAGE_SIZE, O_RDWR, 3);
	unsigned long f = test_mmap(mm, 0, PAGE_SIZE, RW, MAP_SHARED, file, 0);
	unsigned long s = test_mmap(mm, 0, PAGE_SIZE, RW, MAP_SHARED | MAP_ANONYMOUS, NULL, 0);
	unsigned int longterm = FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE;
	struct page *page;

	TEST_ASSERT_EQ(get_user_pages(mm, f, 1, longterm, &page), -EFAULT);
	TEST_ASSERT_EQ(get_user_pages(mm, f, 1, FOLL_PIN | FOLL_WRITE, &page), 1L);
	unpin_user_page(page);
	TEST_ASSERT_EQ(get_user_pages(mm, s, 1, longterm, &page), 1L); /* shmem: fine */
	unpin_user_page(page);
	mmput(mm);
	fput(file);
	test_pool_destroy(pool);
}

/* ---- the secondary MMU's lookup ---- */

TEST(get_user_page_ref_is_a_short_reference)
{
	struct frame_pool *pool = test_pool(1 << 20);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, PAGE_SIZE, RW);
	unsigned long ro = test_mmap_anon(mm, PAGE_SIZE, PROT_READ);
	bool writable = false;
	struct page *page;

	TEST_ASSERT_EQ(get_user_page_ref(mm, a, false, &page, &writable), 0);
	TEST_ASSERT(writable, "a fresh anon page is mapped writable");
	TEST_ASSERT(!page_maybe_dma_pinned(page) && page_count(page) == 2, "a reference only");
	TEST_ASSERT(!test_bit(MMF_HAS_PINNED, &mm->flags), "never a pin");
	put_page(page);

	TEST_ASSERT_EQ(get_user_page_ref(mm, ro, false, &page, &writable), 0);
	TEST_ASSERT(!writable, "read-only");
	put_page(page);
	TEST_ASSERT_EQ(get_user_page_ref(mm, ro, true, &page, &writable), -EFAULT);
	TEST_ASSERT_EQ(get_user_page_ref(mm, ro + 64 * PAGE_SIZE, false, &page, NULL), -EFAULT);
	TEST_ASSERT_EQ(get_user_page_ref(mm, a, false, NULL, NULL), -EFAULT);
	mmput(mm);
	test_pool_destroy(pool);
}

TEST(get_user_page_ref_write_breaks_cow)
{
	struct frame_pool *pool = test_pool(1 << 20);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, PAGE_SIZE, RW);
	struct mm_struct *child;
	bool writable = true;
	struct page *page;
	long shared;

	mm_fill(mm, a, PAGE_SIZE, 1);
	child = test_fork(mm);
	shared = mm_pfn_at(mm, a);
	TEST_ASSERT_EQ(get_user_page_ref(mm, a, false, &page, &writable), 0);
	TEST_ASSERT(!writable && page_to_pfn(page) == (unsigned long)shared, "shared, read-only");
	put_page(page);
	TEST_ASSERT_EQ(get_user_page_ref(mm, a, true, &page, &writable), 0);
	TEST_ASSERT(writable && page_to_pfn(page) != (unsigned long)shared, "own copy, writable");
	put_page(page);
	mm_check(mm, a, PAGE_SIZE, 1);
	mmput(child);
	mmput(mm);
	test_pool_destroy(pool);
}

/* ---- access_remote_vm and populate ---- */

TEST(access_remote_vm_crosses_pages)
{
	struct frame_pool *pool = test_pool(1 << 20);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, 3 * PAGE_SIZE, RW);
	static uint8_t in[PAGE_SIZE + 20], out[PAGE_SIZE + 20];
	unsigned long at = a + PAGE_SIZE - 10;

	for (unsigned long i = 0; i < sizeof(in); i++)
		in[i] = i * 7;
	TEST_ASSERT_EQ(access_remote_vm(mm, at, in, sizeof(in), FOLL_WRITE), (long)sizeof(in));
	TEST_ASSERT_EQ(access_remote_vm(mm, at, out, sizeof(out), 0), (long)sizeof(out));
	TEST_ASSERT(!memcmp(in, out, sizeof(in)), "round trip");
	TEST_ASSERT_EQ(access_remote_vm(mm, at, out, 0, 0), 0L);
	TEST_ASSERT_EQ(access_remote_vm(mm, a, out, 1, FOLL_GET), -EINVAL);
	mmput(mm);
	test_pool_destroy(pool);
}

TEST(populate_vma_page_range_checks_its_range)
{
	struct frame_pool *pool = test_pool(1 << 20);
	struct mm_struct *mm = test_mm(pool);
	unsigned long a = test_mmap_anon(mm, 4 * PAGE_SIZE, RW);
	unsigned long n = test_mmap_anon(mm, PAGE_SIZE, PROT_NONE);
	struct vm_area_struct *vma;

	mmap_read_lock(mm);
	vma = vma_lookup(mm, a);
	TEST_ASSERT_EQ(populate_vma_page_range(vma, a + 1, a + PAGE_SIZE), -EINVAL);
	TEST_ASSERT_EQ(populate_vma_page_range(vma, a, a + 5 * PAGE_SIZE), -EINVAL);
	TEST_ASSERT_EQ(populate_vma_page_range(vma, a + PAGE_SIZE, a + PAGE_SIZE), -EINVAL);
	TEST_ASSERT_EQ(populate_vma_page_range(vma, a + PAGE_SIZE, a + 3 * PAGE_SIZE), 2L);
	TEST_ASSERT_EQ(populate_vma_page_range(vma_lookup(mm, n), n, n + PAGE_SIZE), -EFAULT);
	mmap_read_unlock(mm);
	TEST_ASSERT_EQ(mm_pte_val(mm, a), 0UL);
	TEST_ASSERT(pte_write(__pte(mm_pte_val(mm, a + PAGE_SIZE))), "faulted for write");
	TEST_ASSERT_EQ(get_mm_counter(mm, MM_ANONPAGES), 2UL);
	mmput(mm);
	test_pool_destroy(pool);
}
