// SPDX-License-Identifier: GPL-2.0
/* Helpers for tests of the host address space; see mm_util.h. */
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/compiler.h"
#include "mm/internal.h"
#include "mm/sanitizer.h"
#include "mm/migrate.h"
#include "mm/swap.h"
#include "tests/lib/mm_util.h"

struct frame_pool *test_pool(size_t bytes)
{
	struct frame_pool *pool = frame_pool_create(bytes, 0);

	TEST_ASSERT(!IS_ERR_OR_NULL(pool), "frame_pool_create(%zu): %ld", bytes, PTR_ERR(pool));
	return pool;
}

unsigned long test_pool_allocated(struct frame_pool *pool)
{
	struct frame_pool_stats st;

	frame_pool_stats(pool, &st);
	return st.allocated;
}

void test_pool_destroy(struct frame_pool *pool)
{
	struct sanitizer_counters c;

	frame_pool_sanitizer_counters(pool, &c);
	TEST_ASSERT(!c.bad_page_state && !c.double_free && !c.write_after_free && !c.use_after_free,
		    "sanitizer: %lu bad page state, %lu double free, %lu write after free, "
		    "%lu use after free",
		    c.bad_page_state, c.double_free, c.write_after_free, c.use_after_free);
	TEST_ASSERT(test_pool_allocated(pool) == 0, "%lu frames still allocated (leaked)",
		    test_pool_allocated(pool));
	frame_pool_destroy(pool);
}

struct mm_struct *test_mm(struct frame_pool *pool)
{
	struct mm_struct *mm = mm_alloc(pool, "test");

	TEST_ASSERT(mm, "mm_alloc");
	return mm;
}

int test_swapon(unsigned long nr_pages)
{
	char path[] = "/tmp/nopin-swap-XXXXXX";
	int fd = mkstemp(path);
	int type;

	TEST_ASSERT(fd >= 0, "mkstemp %s", path);
	close(fd);
	type = swapon(path, nr_pages);
	unlink(path);
	TEST_ASSERT(type >= 0, "swapon(%lu pages): %d", nr_pages, type);
	return type;
}

unsigned long test_mmap(struct mm_struct *mm, unsigned long addr, size_t len, unsigned long prot,
			unsigned long flags, struct file *file, unsigned long offset)
{
	unsigned long ret = vm_mmap(mm, addr, len, prot, flags, file, offset);

	TEST_ASSERT(!IS_ERR_VALUE(ret), "vm_mmap(%#lx, %#zx, prot %#lx, flags %#lx): %ld", addr,
		    len, prot, flags, (long)ret);
	return ret;
}

unsigned long test_mmap_anon(struct mm_struct *mm, size_t len, unsigned long prot)
{
	return test_mmap(mm, 0, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, NULL, 0);
}

unsigned long test_mmap_fixed(struct mm_struct *mm, unsigned long addr, size_t len,
			      unsigned long prot)
{
	return test_mmap(mm, addr, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, NULL, 0);
}

struct mm_struct *test_fork(struct mm_struct *mm)
{
	struct mm_struct *child = dup_mm(mm, "child");

	TEST_ASSERT(!IS_ERR_OR_NULL(child), "dup_mm: %ld", PTR_ERR(child));
	return child;
}

long mm_try_write(struct mm_struct *mm, unsigned long addr, const void *buf, size_t len)
{
	return access_remote_vm(mm, addr, (void *)buf, len, FOLL_WRITE);
}

long mm_try_read(struct mm_struct *mm, unsigned long addr, void *buf, size_t len)
{
	return access_remote_vm(mm, addr, buf, len, 0);
}

void mm_write(struct mm_struct *mm, unsigned long addr, const void *buf, size_t len)
{
	long ret = mm_try_write(mm, addr, buf, len);

	TEST_ASSERT(ret == (long)len, "write %#zx bytes at %#lx: %ld", len, addr, ret);
}

void mm_read(struct mm_struct *mm, unsigned long addr, void *buf, size_t len)
{
	long ret = mm_try_read(mm, addr, buf, len);

	TEST_ASSERT(ret == (long)len, "read %#zx bytes at %#lx: %ld", len, addr, ret);
}

uint8_t mm_pattern_byte(unsigned long addr, uint64_t seed)
{
	uint64_t x = ((addr >> 3) + 1) * 0x9e3779b97f4a7c15ull ^ (seed * 0xbf58476d1ce4e5b9ull);

	x ^= x >> 29;
	return x >> ((addr & 7) * 8);
}

/* Patterns go through a bounce buffer of this many bytes at a time. */
#define MM_UTIL_CHUNK (64UL << 10)

void mm_fill(struct mm_struct *mm, unsigned long addr, size_t len, uint64_t seed)
{
	uint8_t *buf = malloc(MM_UTIL_CHUNK);

	TEST_ASSERT(buf, "malloc");
	for (size_t done = 0; done < len;) {
		size_t n = min(len - done, MM_UTIL_CHUNK);

		for (size_t i = 0; i < n; i++)
			buf[i] = mm_pattern_byte(addr + done + i, seed);
		mm_write(mm, addr + done, buf, n);
		done += n;
	}
	free(buf);
}

static void mm_check_bytes(struct mm_struct *mm, unsigned long addr, size_t len, uint64_t seed,
			   bool zero)
{
	uint8_t *buf = malloc(MM_UTIL_CHUNK);

	TEST_ASSERT(buf, "malloc");
	for (size_t done = 0; done < len;) {
		size_t n = min(len - done, MM_UTIL_CHUNK);

		mm_read(mm, addr + done, buf, n);
		for (size_t i = 0; i < n; i++) {
			unsigned long a = addr + done + i;
			uint8_t want = zero ? 0 : mm_pattern_byte(a, seed);

			TEST_ASSERT(buf[i] == want, "byte at %#lx is %#x, expected %#x (%s)", a,
				    buf[i], want, zero ? "zero" : "pattern");
		}
		done += n;
	}
	free(buf);
}

void mm_check(struct mm_struct *mm, unsigned long addr, size_t len, uint64_t seed)
{
	mm_check_bytes(mm, addr, len, seed, false);
}

void mm_check_zero(struct mm_struct *mm, unsigned long addr, size_t len)
{
	mm_check_bytes(mm, addr, len, 0, true);
}

struct file *test_file(struct frame_pool *pool, size_t size, int flags, uint64_t seed)
{
	char path[] = "/tmp/nopin-test-XXXXXX";
	uint8_t *buf = malloc(size ? size : 1);
	struct file *file;
	int fd = mkstemp(path);

	TEST_ASSERT(fd >= 0 && buf, "mkstemp/malloc");
	for (size_t i = 0; i < size; i++)
		buf[i] = mm_pattern_byte(i, seed);
	TEST_ASSERT(write(fd, buf, size) == (ssize_t)size, "write %s", path);
	close(fd);
	free(buf);
	file = filp_open(pool, path, flags, 0);
	unlink(path);
	TEST_ASSERT(!IS_ERR_OR_NULL(file), "filp_open(%s): %ld", path, PTR_ERR(file));
	return file;
}

void test_file_read(struct file *file, off_t off, void *buf, size_t len)
{
	ssize_t n = pread(file->f_mapping->fd, buf, len, off);

	TEST_ASSERT(n == (ssize_t)len, "pread %zu at %ld: %zd", len, (long)off, n);
}

int mm_nr_vmas(struct mm_struct *mm)
{
	struct vm_area_struct *vma;
	int n = 0;

	mmap_read_lock(mm);
	for_each_vma(mm, vma)
		n++;
	mmap_read_unlock(mm);
	return n;
}

static void print_vmas(struct mm_struct *mm, unsigned long lo, unsigned long hi,
		       const struct vma_shape *shape, int n)
{
	struct vm_area_struct *vma;

	fprintf(stderr, "  expected:\n");
	for (int i = 0; i < n; i++)
		fprintf(stderr, "    [%#lx, %#lx) flags %#lx\n", shape[i].start, shape[i].end,
			shape[i].flags);
	fprintf(stderr, "  found:\n");
	for_each_vma_range(mm, vma, lo, hi)
		fprintf(stderr, "    [%#lx, %#lx) flags %#lx pgoff %#lx\n", vma->vm_start,
			vma->vm_end, vma->vm_flags & VMA_SHAPE_FLAGS, vma->vm_pgoff);
}

void __assert_vmas(struct mm_struct *mm, unsigned long lo, unsigned long hi,
		   const struct vma_shape *shape, int n, const char *file, int line)
{
	struct vm_area_struct *vma;
	bool ok = true;
	int i = 0, total = 0;

	mmap_read_lock(mm);
	for_each_vma_range(mm, vma, lo, hi) {
		if (i >= n || vma->vm_start != shape[i].start || vma->vm_end != shape[i].end ||
		    (vma->vm_flags & VMA_SHAPE_FLAGS) != shape[i].flags)
			ok = false;
		i++;
	}
	if (i != n)
		ok = false;
	for_each_vma(mm, vma)
		total++;
	if (!ok)
		print_vmas(mm, lo, hi, shape, n);
	test_assert(ok, "VMAs match", file, line, "VMAs of [%#lx, %#lx) differ (see above)", lo,
		    hi);
	test_assert(total == mm->map_count, "map_count", file, line,
		    "map_count %d but %d VMAs in the tree", mm->map_count, total);
	mmap_read_unlock(mm);
}

/* The VMA after @prev (the first one for NULL) in mm_rb's own order. */
static struct vm_area_struct *tree_next_vma(struct mm_struct *mm, struct vm_area_struct *prev)
{
	struct interval_tree_node *node;

	node = prev ? interval_tree_next(&prev->vm_rb) : interval_tree_first(&mm->mm_rb);
	return node ? container_of(node, struct vm_area_struct, vm_rb) : NULL;
}

/*
 * Every VMA where each tree expects it: in the mm's tree under its bounds
 * and in the VMA leaves in the tree's order,
 * in its file's i_mmap and each anon_vma's tree under its pgoff range.
 */
void mm_check_rmap_trees(struct mm_struct *mm)
{
	struct vm_area_struct *vma, *prev = NULL;
	struct anon_vma_chain *avc;

	mmap_read_lock(mm);
	for_each_vma(mm, vma) {
		unsigned long last = vma->vm_pgoff + vma_pages(vma) - 1;

		TEST_ASSERT(vma->vm_start < vma->vm_end, "empty VMA at %#lx", vma->vm_start);
		TEST_ASSERT(!prev || prev->vm_end <= vma->vm_start, "VMAs overlap at %#lx",
			    vma->vm_start);
		TEST_ASSERT(vma->vm_rb.start == vma->vm_start && vma->vm_rb.last == vma->vm_end - 1,
			    "mm tree node of %#lx stale", vma->vm_start);
		TEST_ASSERT(vma->vm_leaf->slots[vma->vm_slot] == vma &&
				    (prev ? vma_next(prev) == vma && vma_prev(vma) == prev :
					    !vma_prev(vma)) &&
				    tree_next_vma(mm, prev) == vma,
			    "VMA leaves at %#lx are not the tree's order", vma->vm_start);
		if (vma->vm_file) {
			TEST_ASSERT(interval_tree_node_linked(&vma->shared) &&
					    vma->shared.start == vma->vm_pgoff &&
					    vma->shared.last == last,
				    "i_mmap node of %#lx: [%#lx, %#lx] for pgoff [%#lx, %#lx]",
				    vma->vm_start, vma->shared.start, vma->shared.last,
				    vma->vm_pgoff, last);
		}
		TEST_ASSERT(!vma->anon_vma || !list_empty(&vma->anon_vma_chain),
			    "VMA %#lx has an anon_vma but no chain", vma->vm_start);
		list_for_each_entry(avc, &vma->anon_vma_chain, same_vma) {
			TEST_ASSERT(avc->vma == vma, "chain of %#lx names another VMA",
				    vma->vm_start);
			TEST_ASSERT(interval_tree_node_linked(&avc->rb) &&
					    avc->rb.start == vma->vm_pgoff && avc->rb.last == last,
				    "anon_vma node of %#lx: [%#lx, %#lx] for pgoff [%#lx, %#lx]",
				    vma->vm_start, avc->rb.start, avc->rb.last, vma->vm_pgoff,
				    last);
		}
		prev = vma;
	}
	TEST_ASSERT(!tree_next_vma(mm, prev) && (!prev || !vma_next(prev)),
		    "VMA leaves end before the tree");
	mmap_read_unlock(mm);
}

struct page *mm_lookup_page(struct mm_struct *mm, unsigned long addr)
{
	struct page *page = NULL;
	spinlock_t *ptl;
	pte_t *pte;

	mmap_read_lock(mm);
	pte = pte_offset_map_lock(mm, addr, &ptl);
	if (pte) {
		if (pte_present(ptep_get(pte))) {
			page = pfn_to_page(mm->pool, pte_pfn(ptep_get(pte)));
			get_page(page);
		}
		pte_unmap_unlock(pte, ptl);
	}
	mmap_read_unlock(mm);
	return page;
}

struct page *mm_page_at(struct mm_struct *mm, unsigned long addr)
{
	struct page *page = mm_lookup_page(mm, addr);

	TEST_ASSERT(page, "nothing mapped at %#lx", addr);
	put_page(page);
	return page;
}

bool mm_pageout(struct mm_struct *mm, unsigned long addr)
{
	struct page *page = mm_page_at(mm, addr);
	LIST_HEAD(list);

	TEST_ASSERT_EQ(isolate_lru_page(page), 0);
	list_add(&page->lru, &list);
	return reclaim_pages(mm->pool, &list) == 1;
}

/* The page at @addr taken off its LRU list, holding the isolation reference only; or NULL. */
static struct page *mm_isolate_page_at(struct mm_struct *mm, unsigned long addr)
{
	struct page *page = mm_lookup_page(mm, addr);

	if (!page)
		return NULL;
	if (isolate_lru_page(page)) {
		put_page(page);
		return NULL;
	}
	put_page(page); /* the isolation reference stands for ours */
	return page;
}

bool mm_try_pageout(struct mm_struct *mm, unsigned long addr)
{
	struct page *page = mm_isolate_page_at(mm, addr);
	LIST_HEAD(list);

	if (!page)
		return false;
	list_add(&page->lru, &list);
	return reclaim_pages(mm->pool, &list) == 1;
}

bool mm_try_migrate(struct mm_struct *mm, unsigned long addr)
{
	struct page *page = mm_isolate_page_at(mm, addr);

	return page && !migrate_page_to_new(page, true, MIGRATE_SYNC);
}

unsigned long __mm_pte_val(struct mm_struct *mm, unsigned long addr)
{
	unsigned long val = 0;
	spinlock_t *ptl;
	pte_t *pte = pte_offset_map_lock(mm, addr, &ptl);

	if (pte) {
		val = pte_val(ptep_get(pte));
		pte_unmap_unlock(pte, ptl);
	}
	return val;
}

long mm_pte_pfn(struct mm_struct *mm, unsigned long addr)
{
	pte_t pte = __pte(__mm_pte_val(mm, addr));

	return pte_present(pte) ? (long)pte_pfn(pte) : -1;
}

unsigned long mm_pte_val(struct mm_struct *mm, unsigned long addr)
{
	unsigned long val;

	mmap_read_lock(mm);
	val = __mm_pte_val(mm, addr);
	mmap_read_unlock(mm);
	return val;
}

long mm_pfn_at(struct mm_struct *mm, unsigned long addr)
{
	long pfn;

	mmap_read_lock(mm);
	pfn = mm_pte_pfn(mm, addr);
	mmap_read_unlock(mm);
	return pfn;
}

static void *prot_flipper_fn(void *arg)
{
	struct prot_flipper *f = arg;

	for (int i = 0; !READ_ONCE(f->stop); i++) {
		TEST_ASSERT_EQ(do_mprotect(f->mm, f->addr, f->len,
					   i & 1 ? PROT_READ : PROT_READ | PROT_WRITE),
			       0);
		WRITE_ONCE(f->started, 1);
	}
	return NULL;
}

void prot_flipper_start(struct prot_flipper *f, struct mm_struct *mm, unsigned long addr,
			size_t len)
{
	*f = (struct prot_flipper){ .mm = mm, .addr = addr, .len = len };
	TEST_ASSERT_EQ(pthread_create(&f->thread, NULL, prot_flipper_fn, f), 0);
	while (!READ_ONCE(f->started))
		sched_yield();
}

void prot_flipper_stop(struct prot_flipper *f)
{
	WRITE_ONCE(f->stop, 1);
	pthread_join(f->thread, NULL);
}
