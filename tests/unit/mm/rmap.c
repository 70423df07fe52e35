// SPDX-License-Identifier: GPL-2.0
/*
 * The reverse map: anon_vmas and their chains through fork, COW and exit,
 * which anon_vma a page records (rule 7, oldest anon_vma and root lock),
 * i_mmap of file VMAs, and rmap_walk() finding exactly the processes that
 * map a page.
 */
#include <fcntl.h>
#include <string.h>

#include "base/kthread.h"
#include "base/sched_point.h"
#include "mm/internal.h"
#include "tests/lib/mm_util.h"

#define POOL_SIZE (16UL << 20)
#define BASE 0x200000000UL

/* The VMA containing @addr.  Tests are single-threaded: it stays valid until @mm changes. */
static struct vm_area_struct *vma_at(struct mm_struct *mm, unsigned long addr)
{
	struct vm_area_struct *vma;

	mmap_read_lock(mm);
	vma = vma_lookup(mm, addr);
	mmap_read_unlock(mm);
	TEST_ASSERT(vma, "no VMA at %#lx", addr);
	return vma;
}

static int chain_length(struct vm_area_struct *vma)
{
	struct anon_vma_chain *avc;
	int n = 0;

	list_for_each_entry(avc, &vma->anon_vma_chain, same_vma)
		n++;
	return n;
}

/* The page mapped at @addr, which must be there; the reference is dropped (the PTE keeps it). */
/* ---- recording an rmap walk ---- */

#define MAX_VISITS 16

struct visit {
	struct mm_struct *mm;
	unsigned long address;
	bool mapped; /* the VMA's PTE there maps the page */
};

struct walk_record {
	int nr;
	struct visit v[MAX_VISITS];
};

static bool record_one(struct page *page, struct vm_area_struct *vma, unsigned long address,
		       void *arg)
{
	struct walk_record *r = arg;
	spinlock_t *ptl;
	pte_t *pte;

	TEST_ASSERT(r->nr < MAX_VISITS, "walk visited too many VMAs");
	TEST_ASSERT(address >= vma->vm_start && address < vma->vm_end, "address %#lx outside VMA",
		    address);
	pte = page_vma_mapped_pte(page, vma, address, &ptl);
	r->v[r->nr++] = (struct visit){ vma->vm_mm, address, pte != NULL };
	if (pte)
		pte_unmap_unlock(pte, ptl);
	return true;
}

static void walk_page(struct page *page, struct walk_record *r)
{
	struct rmap_walk_control rwc = { .arg = r, .rmap_one = record_one };

	memset(r, 0, sizeof(*r));
	lock_page(page);
	rmap_walk(page, &rwc);
	unlock_page(page);
}

/* How many visits were to @mm at @address, with the page mapped there. */
static int visits_mapped(const struct walk_record *r, struct mm_struct *mm, unsigned long address)
{
	int n = 0;

	for (int i = 0; i < r->nr; i++)
		n += r->v[i].mm == mm && r->v[i].address == address && r->v[i].mapped;
	return n;
}

static bool visited_mm(const struct walk_record *r, struct mm_struct *mm)
{
	for (int i = 0; i < r->nr; i++)
		if (r->v[i].mm == mm)
			return true;
	return false;
}

/* ---- anon_vmas ---- */

TEST(new_anon_page_is_exclusive_in_its_vma_anon_vma)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	unsigned long addr = test_mmap_anon(mm, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE);
	struct vm_area_struct *vma;
	struct page *page;

	TEST_ASSERT(!vma_at(mm, addr)->anon_vma, "anon_vma before the first fault");
	mm_fill(mm, addr + PAGE_SIZE, PAGE_SIZE, 1);
	vma = vma_at(mm, addr);
	page = mm_page_at(mm, addr + PAGE_SIZE);

	TEST_ASSERT(vma->anon_vma, "no anon_vma after a fault");
	TEST_ASSERT(vma->anon_vma->root == vma->anon_vma, "a new anon_vma is its own root");
	TEST_ASSERT_EQ(chain_length(vma), 1);
	TEST_ASSERT(PageAnon(page), "page not anonymous");
	TEST_ASSERT(page_anon_vma(page) == vma->anon_vma, "page records another anon_vma");
	TEST_ASSERT(PageAnonExclusive(page), "a new page is exclusive");
	TEST_ASSERT_EQ(page_mapcount(page), 1);
	TEST_ASSERT_EQ(page->index, linear_page_index(vma, addr + PAGE_SIZE));

	mmput(mm);
	test_pool_destroy(pool);
}

struct fault_arg {
	struct mm_struct *mm;
	unsigned long addr;
};

static int fault_thread(void *data)
{
	struct fault_arg *arg = data;

	mm_fill(arg->mm, arg->addr, PAGE_SIZE, 1);
	return 0;
}

/*
 * Two faults give a VMA its first anon_vma at once (both under mmap_lock
 * for read): one wins under page_table_lock, the other drops the anon_vma
 * it made, and both pages end up in the winner's.
 */
TEST(racing_first_faults_agree_on_one_anon_vma)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	unsigned long addr = test_mmap_anon(mm, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE);
	struct fault_arg arg = { .mm = mm, .addr = addr };
	struct vm_area_struct *vma;
	struct kthread *k;

	TEST_ASSERT_EQ(sched_point_arm("anon_vma_prepare:allocated", "loser"), 0);
	k = kthread_run(fault_thread, &arg, "loser");
	TEST_ASSERT(!IS_ERR(k), "kthread_run");
	sched_point_wait("anon_vma_prepare:allocated");

	mm_fill(mm, addr + PAGE_SIZE, PAGE_SIZE, 2); /* wins the race */
	vma = vma_at(mm, addr);
	TEST_ASSERT(vma->anon_vma, "the winner did not install its anon_vma");
	sched_point_release("anon_vma_prepare:allocated");
	TEST_ASSERT_EQ(kthread_stop(k), 0);

	TEST_ASSERT_EQ(chain_length(vma), 1);
	TEST_ASSERT(page_anon_vma(mm_page_at(mm, addr)) == vma->anon_vma, "loser's page elsewhere");
	TEST_ASSERT(page_anon_vma(mm_page_at(mm, addr + PAGE_SIZE)) == vma->anon_vma,
		    "winner's page elsewhere");
	TEST_ASSERT_EQ(atomic_read(&vma->anon_vma->refcount), 1);
	mm_check(mm, addr, PAGE_SIZE, 1);
	mm_check(mm, addr + PAGE_SIZE, PAGE_SIZE, 2);
	mmput(mm);
	test_pool_destroy(pool);
}

/*
 * A VMA next to one that has an anon_vma, differing only in protection,
 * shares it (find_mergeable_anon_vma), so that the two can merge once their
 * protections agree again.
 */
TEST(neighbours_share_anon_vma_and_merge)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	unsigned long rw = PROT_READ | PROT_WRITE;
	struct vm_area_struct *a, *b;

	test_mmap(mm, BASE, 2 * PAGE_SIZE, rw, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, NULL, 0);
	test_mmap(mm, BASE + 2 * PAGE_SIZE, 2 * PAGE_SIZE, rw | PROT_EXEC,
		  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, NULL, 0);
	mm_fill(mm, BASE, PAGE_SIZE, 1);
	mm_fill(mm, BASE + 2 * PAGE_SIZE, PAGE_SIZE, 2);

	a = vma_at(mm, BASE);
	b = vma_at(mm, BASE + 2 * PAGE_SIZE);
	TEST_ASSERT(a != b, "VMAs with different protections merged");
	TEST_ASSERT(a->anon_vma && a->anon_vma == b->anon_vma, "neighbour's anon_vma not shared");

	TEST_ASSERT_EQ(do_mprotect(mm, BASE + 2 * PAGE_SIZE, 2 * PAGE_SIZE, rw), 0);
	assert_vmas(mm, BASE, BASE + 4 * PAGE_SIZE,
		    { BASE, BASE + 4 * PAGE_SIZE, VM_READ | VM_WRITE });
	mm_check(mm, BASE, PAGE_SIZE, 1);
	mm_check(mm, BASE + 2 * PAGE_SIZE, PAGE_SIZE, 2);

	mmput(mm);
	test_pool_destroy(pool);
}

TEST(fork_chains_child_to_parent_anon_vma)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *parent = test_mm(pool), *child;
	unsigned long addr = test_mmap_anon(parent, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE);
	struct vm_area_struct *pvma, *cvma;
	struct anon_vma *root;
	struct page *shared, *copy;

	mm_fill(parent, addr, 2 * PAGE_SIZE, 1);
	child = test_fork(parent);
	pvma = vma_at(parent, addr);
	cvma = vma_at(child, addr);
	root = pvma->anon_vma;

	/* The child: chained to the parent's anon_vma and to its own, a child of it. */
	TEST_ASSERT(cvma->anon_vma && cvma->anon_vma != root, "child has no anon_vma of its own");
	TEST_ASSERT(cvma->anon_vma->root == root, "child's anon_vma in another tree");
	TEST_ASSERT(cvma->anon_vma->parent == root, "child's anon_vma parent");
	TEST_ASSERT_EQ(chain_length(pvma), 1);
	TEST_ASSERT_EQ(chain_length(cvma), 2);
	TEST_ASSERT_EQ(atomic_read(&root->refcount), 2); /* its own, and the child's hold */
	TEST_ASSERT_EQ(root->num_children, 2);		 /* itself, and the child's */

	/* A page shared since the fork: two mappings, not exclusive any more. */
	shared = mm_page_at(parent, addr);
	TEST_ASSERT(mm_page_at(child, addr) == shared, "fork copied an unpinned page");
	TEST_ASSERT_EQ(page_mapcount(shared), 2);
	TEST_ASSERT(!PageAnonExclusive(shared), "a page shared by fork is exclusive");
	TEST_ASSERT(page_anon_vma(shared) == root, "shared page moved anon_vma");

	/* The child's COW copy goes to the child's own anon_vma. */
	mm_fill(child, addr, PAGE_SIZE, 2);
	copy = mm_page_at(child, addr);
	TEST_ASSERT(copy != shared, "write did not COW");
	TEST_ASSERT(page_anon_vma(copy) == cvma->anon_vma, "COW copy not in the child's anon_vma");
	TEST_ASSERT(PageAnonExclusive(copy), "COW copy not exclusive");
	TEST_ASSERT_EQ(page_mapcount(shared), 1);

	mmput(child);
	TEST_ASSERT_EQ(atomic_read(&root->refcount), 1);
	TEST_ASSERT_EQ(root->num_children, 1);
	mm_check(parent, addr, 2 * PAGE_SIZE, 1);
	mmput(parent);
	test_pool_destroy(pool);
}

/*
 * A process forking in a loop while its ancestors exit must not grow its
 * chain forever: an anon_vma with no VMA of its own left and one child is
 * reused by the next fork instead of a new level.
 */
TEST(fork_reuses_an_abandoned_anon_vma)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *p = test_mm(pool), *c, *g, *gg;
	unsigned long addr = test_mmap_anon(p, PAGE_SIZE, PROT_READ | PROT_WRITE);
	struct anon_vma *c_anon_vma;

	mm_fill(p, addr, PAGE_SIZE, 1);
	c = dup_mm(p, "c");
	TEST_ASSERT(c, "dup_mm");
	g = dup_mm(c, "g");
	TEST_ASSERT(g, "dup_mm");
	c_anon_vma = vma_at(c, addr)->anon_vma;
	TEST_ASSERT_EQ(chain_length(vma_at(g, addr)), 3);

	mmput(c);
	TEST_ASSERT_EQ(c_anon_vma->num_active_vmas, 0);
	TEST_ASSERT_EQ(c_anon_vma->num_children, 1);

	gg = dup_mm(g, "gg");
	TEST_ASSERT(gg, "dup_mm");
	TEST_ASSERT(vma_at(gg, addr)->anon_vma == c_anon_vma, "abandoned anon_vma not reused");
	TEST_ASSERT_EQ(chain_length(vma_at(gg, addr)), 3);

	/* The page is still found from all three who map it. */
	{
		struct walk_record r;

		walk_page(mm_page_at(gg, addr), &r);
		TEST_ASSERT_EQ(visits_mapped(&r, p, addr), 1);
		TEST_ASSERT_EQ(visits_mapped(&r, g, addr), 1);
		TEST_ASSERT_EQ(visits_mapped(&r, gg, addr), 1);
	}
	mm_check(gg, addr, PAGE_SIZE, 1);
	mmput(gg);
	mmput(g);
	mmput(p);
	test_pool_destroy(pool);
}

/*
 * Rule 7, oldest anon_vma and root lock: a page that becomes anonymous
 * while other processes of the fork tree may map it (swap-in, migration of
 * a shared page) records the root, the one anon_vma every VMA of the tree
 * is chained to.  An exclusive one records the VMA's own.
 */
TEST(shared_page_records_the_root_anon_vma)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *parent = test_mm(pool), *child;
	unsigned long addr = test_mmap_anon(parent, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE);
	struct vm_area_struct *cvma;
	struct page *shared, *excl;
	struct walk_record r;

	mm_fill(parent, addr, 2 * PAGE_SIZE, 1);
	child = test_fork(parent);
	cvma = vma_at(child, addr);

	shared = alloc_page(pool, GFP_KERNEL);
	excl = alloc_page(pool, GFP_KERNEL);
	TEST_ASSERT(shared && excl, "alloc_page");
	page_add_anon_rmap(shared, cvma, addr, false);
	page_add_anon_rmap(excl, cvma, addr + PAGE_SIZE, true);

	TEST_ASSERT(page_anon_vma(shared) == cvma->anon_vma->root, "shared page: not the root");
	TEST_ASSERT(!PageAnonExclusive(shared), "shared page marked exclusive");
	TEST_ASSERT(page_anon_vma(excl) == cvma->anon_vma, "exclusive page: not the VMA's own");
	TEST_ASSERT(PageAnonExclusive(excl), "exclusive page not marked");
	TEST_ASSERT_EQ(shared->index, linear_page_index(cvma, addr));
	TEST_ASSERT_EQ(excl->index, linear_page_index(cvma, addr + PAGE_SIZE));

	/* Walks from them: the root's tree holds the parent, the child's only the child. */
	walk_page(shared, &r);
	TEST_ASSERT(visited_mm(&r, parent) && visited_mm(&r, child), "root walk missed a process");
	walk_page(excl, &r);
	TEST_ASSERT(!visited_mm(&r, parent) && visited_mm(&r, child),
		    "child walk: wrong processes");

	page_remove_rmap(shared, cvma);
	page_remove_rmap(excl, cvma);
	put_page(shared);
	put_page(excl);
	mmput(child);
	mmput(parent);
	test_pool_destroy(pool);
}

/* ---- rmap_walk ---- */

TEST(anon_walk_finds_exactly_the_processes_mapping_the_page)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *p = test_mm(pool), *c1, *c2, *g;
	unsigned long addr = test_mmap_anon(p, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE);
	unsigned long at = addr + 2 * PAGE_SIZE;
	struct page *orig, *cow;
	struct walk_record r;

	mm_fill(p, addr, 4 * PAGE_SIZE, 1);
	orig = mm_page_at(p, at);
	c1 = dup_mm(p, "c1");
	c2 = dup_mm(p, "c2");
	TEST_ASSERT(c1 && c2, "dup_mm");
	mm_fill(c1, at, PAGE_SIZE, 2); /* c1 COWs, then forks g, which shares c1's copy */
	cow = mm_page_at(c1, at);
	g = dup_mm(c1, "g");
	TEST_ASSERT(g, "dup_mm");

	walk_page(orig, &r);
	TEST_ASSERT_EQ(visits_mapped(&r, p, at), 1);
	TEST_ASSERT_EQ(visits_mapped(&r, c2, at), 1);
	TEST_ASSERT_EQ(visits_mapped(&r, c1, at), 0);
	TEST_ASSERT_EQ(visits_mapped(&r, g, at), 0);

	/* The copy is in c1's anon_vma: p and c2 are not even visited. */
	walk_page(cow, &r);
	TEST_ASSERT_EQ(visits_mapped(&r, c1, at), 1);
	TEST_ASSERT_EQ(visits_mapped(&r, g, at), 1);
	TEST_ASSERT(!visited_mm(&r, p) && !visited_mm(&r, c2),
		    "walk of c1's copy left its subtree");

	/* A process that unmaps leaves the walk. */
	TEST_ASSERT_EQ(vm_munmap(c2, addr, 4 * PAGE_SIZE), 0);
	walk_page(orig, &r);
	TEST_ASSERT(!visited_mm(&r, c2), "walk reached an unmapped VMA");
	TEST_ASSERT_EQ(visits_mapped(&r, p, at), 1);

	mmput(g);
	mmput(c1);
	mmput(c2);
	mmput(p);
	test_pool_destroy(pool);
}

TEST(file_walk_visits_every_vma_of_the_page)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct file *file = test_file(pool, 4 * PAGE_SIZE, O_RDWR, 7);
	struct address_space *mapping = file->f_mapping;
	struct mm_struct *m1 = test_mm(pool), *m2 = test_mm(pool);
	unsigned long rw = PROT_READ | PROT_WRITE, a1, a2, a3;
	struct walk_record r;
	struct page *page;
	uint8_t byte;

	a1 = test_mmap(m1, 0, 4 * PAGE_SIZE, rw, MAP_SHARED, file, 0);
	a2 = test_mmap(m2, 0, 2 * PAGE_SIZE, rw, MAP_SHARED, file, PAGE_SIZE);
	a3 = test_mmap(m2, 0, 4 * PAGE_SIZE, PROT_READ, MAP_PRIVATE, file, 0);
	mm_read(m1, a1 + PAGE_SIZE, &byte, 1);
	mm_read(m2, a2, &byte, 1);
	mm_read(m2, a3 + PAGE_SIZE, &byte, 1);

	page = find_get_page(mapping, 1);
	TEST_ASSERT(page, "page 1 not cached");
	TEST_ASSERT_EQ(page_mapcount(page), 3);
	walk_page(page, &r);
	TEST_ASSERT_EQ(r.nr, 3);
	TEST_ASSERT_EQ(visits_mapped(&r, m1, a1 + PAGE_SIZE), 1);
	TEST_ASSERT_EQ(visits_mapped(&r, m2, a2), 1);
	TEST_ASSERT_EQ(visits_mapped(&r, m2, a3 + PAGE_SIZE), 1);
	put_page(page);

	/* Page 3 is outside m2's shared window: not visited there. */
	mm_read(m1, a1 + 3 * PAGE_SIZE, &byte, 1);
	page = find_get_page(mapping, 3);
	TEST_ASSERT(page, "page 3 not cached");
	walk_page(page, &r);
	TEST_ASSERT_EQ(visits_mapped(&r, m1, a1 + 3 * PAGE_SIZE), 1);
	for (int i = 0; i < r.nr; i++)
		TEST_ASSERT(r.v[i].mm == m1 || r.v[i].address == a3 + 3 * PAGE_SIZE,
			    "visited %#lx, which does not cover page 3", r.v[i].address);
	put_page(page);

	mmput(m1);
	mmput(m2);
	TEST_ASSERT(interval_tree_empty(&mapping->i_mmap), "i_mmap not empty after exit");
	fput(file);
	test_pool_destroy(pool);
}

/*
 * Reclaim locks a page's anon_vma without the page lock or a reference:
 * the lock is only good while the page is mapped.
 */
TEST(lock_anon_vma_read_only_while_mapped)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	unsigned long addr = test_mmap_anon(mm, PAGE_SIZE, PROT_READ | PROT_WRITE);
	struct rmap_walk_control rwc = { .try_lock = true };
	struct anon_vma *anon_vma, *mine;
	struct page *page;

	mm_fill(mm, addr, PAGE_SIZE, 1);
	page = mm_lookup_page(mm, addr); /* keep it past the munmap */
	mine = vma_at(mm, addr)->anon_vma;
	anon_vma = page_lock_anon_vma_read(page, &rwc);
	TEST_ASSERT(anon_vma && anon_vma == mine, "mapped page's anon_vma");
	TEST_ASSERT(rwsem_is_locked(&anon_vma->root->rwsem), "not locked");
	anon_vma_unlock_read(anon_vma);

	/* Held for write elsewhere: a try_lock walk gives up and says so. */
	anon_vma_lock_write(anon_vma);
	TEST_ASSERT(!page_lock_anon_vma_read(page, &rwc) && rwc.contended, "not contended");
	anon_vma_unlock_write(anon_vma);

	TEST_ASSERT_EQ(vm_munmap(mm, addr, PAGE_SIZE), 0);
	TEST_ASSERT(PageAnon(page), "page->mapping cleared at unmap");
	TEST_ASSERT(!page_lock_anon_vma_read(page, NULL),
		    "locked the anon_vma of an unmapped page");
	put_page(page);
	mmput(mm);
	test_pool_destroy(pool);
}

/* ---- page_mkclean ---- */

TEST(mkclean_write_protects_shared_ptes_only)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct file *file = test_file(pool, 2 * PAGE_SIZE, O_RDWR, 7);
	struct mm_struct *mm = test_mm(pool);
	unsigned long rw = PROT_READ | PROT_WRITE, shared, priv;
	struct page *page;
	uint8_t byte = 0x42;

	shared = test_mmap(mm, 0, 2 * PAGE_SIZE, rw, MAP_SHARED, file, 0);
	priv = test_mmap(mm, 0, 2 * PAGE_SIZE, PROT_READ, MAP_PRIVATE, file, 0);
	mm_write(mm, shared, &byte, 1);
	mm_read(mm, priv, &byte, 1);
	page = find_get_page(file->f_mapping, 0);
	TEST_ASSERT(page && mm_page_at(mm, priv) == page, "both mappings map the cached page");
	TEST_ASSERT(pte_write(__pte(mm_pte_val(mm, shared))), "shared PTE not writable");
	TEST_ASSERT(PageDirty(page), "write did not dirty the page");

	lock_page(page);
	TEST_ASSERT_EQ(page_mkclean(page), 1);
	unlock_page(page);
	TEST_ASSERT(!pte_write(__pte(mm_pte_val(mm, shared))), "shared PTE still writable");
	TEST_ASSERT(!pte_dirty(__pte(mm_pte_val(mm, shared))), "shared PTE still dirty");
	TEST_ASSERT(pte_present(__pte(mm_pte_val(mm, priv))), "private PTE touched");

	/* Cleaned and clean: nothing more to do. */
	lock_page(page);
	TEST_ASSERT_EQ(page_mkclean(page), 0);
	unlock_page(page);
	put_page(page);

	mmput(mm);
	fput(file);
	test_pool_destroy(pool);
}

/* ---- fork of a pinned page ---- */

/*
 * An exclusive anon page the parent pinned may not be shared at fork
 * (page_try_dup_anon_rmap() says -EBUSY): the child gets a copy, and the
 * pin keeps seeing what the parent sees.
 */
TEST(fork_copies_a_pinned_exclusive_page)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *parent = test_mm(pool), *child;
	unsigned long addr = test_mmap_anon(parent, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE);
	struct page *pinned, *other;

	mm_fill(parent, addr, 2 * PAGE_SIZE, 1);
	TEST_ASSERT_EQ(get_user_pages(parent, addr, 1, FOLL_PIN | FOLL_WRITE, &pinned), 1);
	other = mm_page_at(parent, addr + PAGE_SIZE);

	child = test_fork(parent);
	TEST_ASSERT(mm_page_at(child, addr) != pinned, "pinned page shared with the child");
	TEST_ASSERT(PageAnonExclusive(pinned), "pinned page lost exclusivity");
	TEST_ASSERT_EQ(page_mapcount(pinned), 1);
	TEST_ASSERT(mm_page_at(child, addr + PAGE_SIZE) == other, "unpinned page not shared");
	TEST_ASSERT(!PageAnonExclusive(other), "shared page still exclusive");
	mm_check(child, addr, 2 * PAGE_SIZE, 1);

	unpin_user_page(pinned);
	mmput(child);
	mmput(parent);
	test_pool_destroy(pool);
}
