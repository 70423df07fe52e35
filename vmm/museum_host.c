// SPDX-License-Identifier: GPL-2.0
/*
 * The museum's host scenarios (vmm/museum.h): the rules whose windows no
 * guest run reaches, since the VMM registers its notifier once before the
 * guest starts, never munmaps guest RAM, never has a fork child touch it
 * and never mlocks it.  Each is its tests/scenario/mm twin without the
 * test harness: the same objects, the same schedule points, the same
 * order; the tests assert the details, these only drive the race and let
 * the sanitizer speak.  A step that goes wrong (not the race: the set-up)
 * ends the scenario with -EIO and says which in @res->what.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "base/kthread.h"
#include "base/legacy.h"
#include "base/sched_point.h"
#include "mm/internal.h"
#include "mm/mmu_notifier.h"
#include "mm/page_alloc.h"
#include "mm/swap.h"
#include "mmu/mirror.h"
#include "vmm/museum.h"

#define SCENARIO_POOL (16UL << 20)

/* Give up on a set-up step that failed, saying which. */
#define EXPECT(res, cond)                                                                          \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			snprintf((res)->what, sizeof((res)->what), "%s:%d: %s", __FILE__,          \
				 __LINE__, #cond);                                                 \
			(res)->status = -EIO;                                                      \
			return -EIO;                                                               \
		}                                                                                  \
	} while (0)

/* A file of @size bytes on a temporary path, opened through the host's page cache. */
static struct file *scenario_file(struct frame_pool *pool, size_t size)
{
	char path[] = "/tmp/nopin-museum-XXXXXX";
	int fd = mkstemp(path);
	struct file *file = NULL;
	char *buf = calloc(1, size);

	if (fd >= 0 && buf) {
		memset(buf, 0x5a, size);
		if (write(fd, buf, size) == (ssize_t)size)
			file = filp_open(pool, path, O_RDWR, 0);
	}
	if (fd >= 0) {
		close(fd);
		unlink(path);
	}
	free(buf);
	return IS_ERR(file) ? NULL : file;
}

static long mm_touch(struct mm_struct *mm, unsigned long addr, bool write)
{
	char c = 0x33;

	return write ? access_remote_vm(mm, addr, &c, 1, FOLL_WRITE) :
		       access_remote_vm(mm, addr, &c, 1, 0);
}

/* The page @addr maps, with a reference; NULL if none. */
static struct page *mm_page(struct mm_struct *mm, unsigned long addr)
{
	struct page *page = NULL;

	if (get_user_pages(mm, addr, 1, 0, &page) != 1)
		return NULL;
	return page;
}

/* ---- rule 5, unlink before freeing page tables ---- */

#define PGT_BASE 0x200000000UL /* one pmd table covers the file page and the anon page */

struct pgt_scenario {
	struct file *file;
	struct mm_struct *mm;
};

static int pgt_truncate(void *data)
{
	return vfs_truncate(((struct pgt_scenario *)data)->file, 0);
}

static int pgt_munmap(void *data)
{
	return vm_munmap(((struct pgt_scenario *)data)->mm, PGT_BASE, PAGE_SIZE);
}

/*
 * Truncation parked at "zap_pte_range:pte_table" (i_mmap_rwsem held for
 * read, its pmd snapshot taken), munmap parked at "free_pgtables:unlink"
 * (with the switch the PTE table is already freed), then both go on.
 */
int museum_free_pgtables_before_unlink(bool legacy, struct museum_result *res)
{
	struct frame_pool *pool = frame_pool_create(SCENARIO_POOL, 0);
	struct pgt_scenario sc = { 0 };
	struct kthread *t, *m;
	unsigned long a;

	EXPECT(res, !IS_ERR_OR_NULL(pool));
	sc.file = scenario_file(pool, 2 * PAGE_SIZE);
	sc.mm = mm_alloc(pool, "museum");
	EXPECT(res, sc.file && sc.mm);
	if (legacy)
		sc.mm->legacy |= LEGACY_BIT(LEGACY_FREE_PGTABLES_BEFORE_UNLINK);
	a = vm_mmap(sc.mm, PGT_BASE, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		    sc.file, 0);
	EXPECT(res, a == PGT_BASE);
	a = vm_mmap(sc.mm, PGT_BASE + PMD_SIZE, PAGE_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, NULL, 0);
	EXPECT(res, a == PGT_BASE + PMD_SIZE);
	EXPECT(res, mm_touch(sc.mm, a, true) == 1 && mm_touch(sc.mm, PGT_BASE, false) == 1);

	EXPECT(res, !sched_point_arm("zap_pte_range:pte_table", "truncate"));
	t = kthread_run(pgt_truncate, &sc, "truncate");
	EXPECT(res, !IS_ERR(t) && !sched_point_wait("zap_pte_range:pte_table"));
	EXPECT(res, !sched_point_arm("free_pgtables:unlink", "munmap"));
	m = kthread_run(pgt_munmap, &sc, "munmap");
	EXPECT(res, !IS_ERR(m) && !sched_point_wait("free_pgtables:unlink"));
	sched_point_release("zap_pte_range:pte_table");
	EXPECT(res, kthread_join(t) == 0);
	sched_point_release("free_pgtables:unlink");
	EXPECT(res, kthread_join(m) == 0);

	mmput(sc.mm);
	fput(sc.file);
	frame_pool_destroy(pool);
	return 0;
}

/* ---- rule 8, mlock under the PTE lock ---- */

struct mlock_scenario {
	struct page *page;
};

static int mlock_reclaim(void *data)
{
	struct page *page = ((struct mlock_scenario *)data)->page;

	lock_page(page);
	try_to_unmap(page, 0);
	unlock_page(page);
	return 0;
}

/*
 * A file page mapped privately by x in a VM_LOCKED VMA (not yet COWed) and
 * by y, whose munlock clears the page's mark; reclaim parked at
 * "try_to_unmap:mlock" while x's write COWs the page out of the locked
 * VMA.  With the switch the mark lands late on a page no locked VMA maps,
 * and the page is freed "still mlocked".
 */
int museum_mlock_trylock(bool legacy, struct museum_result *res)
{
	struct frame_pool *pool = frame_pool_create(SCENARIO_POOL, 0);
	struct mlock_scenario sc = { 0 };
	struct mm_struct *x, *y;
	unsigned long ax, ay;
	struct kthread *reclaim;
	struct file *file;

	EXPECT(res, !IS_ERR_OR_NULL(pool));
	file = scenario_file(pool, PAGE_SIZE);
	x = mm_alloc(pool, "museum-x");
	y = mm_alloc(pool, "museum-y");
	EXPECT(res, file && x && y);
	if (legacy) {
		x->legacy |= LEGACY_BIT(LEGACY_MLOCK_TRYLOCK);
		y->legacy |= LEGACY_BIT(LEGACY_MLOCK_TRYLOCK);
	}
	ax = vm_mmap(x, 0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, file, 0);
	EXPECT(res, !IS_ERR_VALUE(ax));
	EXPECT(res, do_mlock(x, ax, PAGE_SIZE, MLOCK_ONFAULT) == 0);
	EXPECT(res, mm_touch(x, ax, false) == 1);
	ay = vm_mmap(y, 0, PAGE_SIZE, PROT_READ, MAP_SHARED | MAP_LOCKED, file, 0);
	EXPECT(res, !IS_ERR_VALUE(ay));
	sc.page = mm_page(x, ax);
	EXPECT(res, sc.page && !PageAnon(sc.page) && PageMlocked(sc.page));
	EXPECT(res, do_munlock(y, ay, PAGE_SIZE) == 0);

	EXPECT(res, !sched_point_arm("try_to_unmap:mlock", "reclaimer"));
	reclaim = kthread_run(mlock_reclaim, &sc, "reclaimer");
	EXPECT(res, !IS_ERR(reclaim) && !sched_point_wait("try_to_unmap:mlock"));
	EXPECT(res, mm_touch(x, ax, true) == 1); /* COW: the locked VMA leaves the page */
	sched_point_release("try_to_unmap:mlock");
	EXPECT(res, kthread_join(reclaim) == 0);

	put_page(sc.page);
	mmput(x);
	mmput(y);
	fput(file); /* the page leaves the page cache: its last reference */
	frame_pool_destroy(pool);
	return 0;
}

/* ---- rule 7, oldest anon_vma and root lock ---- */

/* Reclaim the page @addr maps now, through the rmap; true if it was freed. */
static bool pageout(struct mm_struct *mm, unsigned long addr)
{
	struct page *page = mm_page(mm, addr);
	LIST_HEAD(list);

	if (!page)
		return false;
	if (isolate_lru_page(page)) {
		put_page(page);
		return false;
	}
	put_page(page); /* the isolation reference stands for ours */
	list_add(&page->lru, &list);
	return reclaim_pages(mm->pool, &list) == 1;
}

/*
 * A page shared since fork goes to swap; the child swaps it in first, then
 * the parent maps it from the swap cache.  With the switch the page names
 * the child's own anon_vma; the child exits, freeing it, and reclaim's rmap
 * walk from the page, still mapped by the parent, steps into it.
 */
int museum_newest_anon_vma(bool legacy, struct museum_result *res)
{
	char path[] = "/tmp/nopin-museum-swap-XXXXXX";
	struct frame_pool *pool = NULL;
	struct mm_struct *parent, *child;
	int fd = mkstemp(path), type;
	unsigned long a;

	EXPECT(res, fd >= 0);
	close(fd);
	type = swapon(path, 16);
	unlink(path);
	EXPECT(res, type >= 0);
	pool = frame_pool_create(SCENARIO_POOL, 0);
	EXPECT(res, !IS_ERR_OR_NULL(pool));
	parent = mm_alloc(pool, "museum-parent");
	EXPECT(res, parent);
	if (legacy)
		parent->legacy |= LEGACY_BIT(LEGACY_NEWEST_ANON_VMA);
	a = vm_mmap(parent, 0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, NULL,
		    0);
	EXPECT(res, !IS_ERR_VALUE(a) && mm_touch(parent, a, true) == 1);
	child = dup_mm(parent, "museum-child");
	EXPECT(res, !IS_ERR_OR_NULL(child));
	child->legacy = parent->legacy;

	EXPECT(res, pageout(parent, a));
	EXPECT(res, mm_touch(child, a, false) == 1); /* the child first */
	EXPECT(res, mm_touch(parent, a, false) == 1);
	mmput(child); /* with the switch, frees the anon_vma the page names */
	pageout(parent, a);

	mmput(parent);
	swapoff(type);
	frame_pool_destroy(pool);
	return 0;
}

/* ---- rule 4, register under all locks ---- */

#define REG_PAGES 8UL

struct register_scenario {
	struct file *file;
	struct mm_struct *mm;
	unsigned long addr;
	struct mirror *mirror;
};

static int register_truncate(void *data)
{
	struct register_scenario *sc = data;

	return vfs_truncate(sc->file, REG_PAGES * PAGE_SIZE / 2);
}

/* The device appears (its first interval registers the mm's) and reads the file's last page. */
static int register_open_mirror(void *data)
{
	struct register_scenario *sc = data;
	char buf[PAGE_SIZE];

	sc->mirror = mirror_open(sc->mm);
	if (IS_ERR(sc->mirror))
		return PTR_ERR(sc->mirror);
	mirror_read(sc->mirror, sc->addr + (REG_PAGES - 1) * PAGE_SIZE, buf, 1, NULL);
	return 0;
}

/*
 * A truncation parked between its invalidate_range_start and its zap
 * ("zap_pte_range:pte_table", i_mmap_rwsem held for read); the mirror
 * device opens meanwhile.  Under all locks the registration queues behind
 * the truncation and then finds the last page gone; with the switch it
 * registers at once, maps the last page, and the truncation frees it
 * under the device's entry, which the device's zap then finds freed.
 */
int museum_register_without_all_locks(bool legacy, struct museum_result *res)
{
	struct frame_pool *pool = frame_pool_create(SCENARIO_POOL, 0);
	struct register_scenario sc = { 0 };
	struct kthread *t, *o;

	EXPECT(res, !IS_ERR_OR_NULL(pool));
	sc.file = scenario_file(pool, REG_PAGES * PAGE_SIZE);
	sc.mm = mm_alloc(pool, "museum");
	EXPECT(res, sc.file && sc.mm);
	if (legacy)
		sc.mm->legacy |= LEGACY_BIT(LEGACY_REGISTER_WITHOUT_ALL_LOCKS);
	sc.addr = vm_mmap(sc.mm, 0, REG_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			  sc.file, 0);
	EXPECT(res, !IS_ERR_VALUE(sc.addr));
	for (unsigned long i = 0; i < REG_PAGES; i++)
		EXPECT(res, mm_touch(sc.mm, sc.addr + i * PAGE_SIZE, false) == 1);

	EXPECT(res, !sched_point_arm("zap_pte_range:pte_table", "truncate"));
	t = kthread_run(register_truncate, &sc, "truncate");
	EXPECT(res, !IS_ERR(t) && !sched_point_wait("zap_pte_range:pte_table"));
	o = kthread_run(register_open_mirror, &sc, "device");
	EXPECT(res, !IS_ERR(o));
	if (legacy) {
		EXPECT(res, kthread_join(o) == 0); /* registered mid-invalidation */
	} else {
		/* mm_take_all_locks() queues behind the truncation's i_mmap_rwsem. */
		while (!rwsem_is_contended(&sc.file->f_mapping->i_mmap_rwsem))
			sched_yield();
	}
	sched_point_release("zap_pte_range:pte_table");
	EXPECT(res, kthread_join(t) == 0);
	if (!legacy)
		EXPECT(res, kthread_join(o) == 0);

	if (!IS_ERR_OR_NULL(sc.mirror))
		mirror_close(sc.mirror);
	mmput(sc.mm);
	fput(sc.file);
	frame_pool_destroy(pool);
	return 0;
}
