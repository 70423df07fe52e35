// SPDX-License-Identifier: GPL-2.0
/*
 * The reverse map, after the kernel's mm/rmap.c: from a page back to every
 * VMA (and so every PTE) that may map it, without mmap_lock.
 *
 * A file page finds its VMAs in mapping->i_mmap, an interval tree of VMAs
 * by the file pages they cover, under i_mmap_rwsem.
 *
 * An anonymous page records an anon_vma in page->mapping.  Each VMA with
 * anonymous pages has its own anon_vma (vma->anon_vma, where its new pages
 * go) and is linked, through one anon_vma_chain per anon_vma, to its own
 * and to every ancestor's anon_vma back to the root of its fork tree, each
 * chain sitting in that anon_vma's interval tree under the VMA's pgoff
 * range.  A page COWed in a child goes to the child's anon_vma, which only
 * the child and its descendants are chained to: walking it visits only
 * the processes that can map the page.  A page still shared since before
 * a fork records an anon_vma every process sharing it is chained to.  The
 * whole fork tree is locked by one rwsem, the root's (rule 7, oldest
 * anon_vma and root lock).
 *
 * Lock order, as in the kernel's mm/rmap.c (mm/mm_types.h lists it too):
 *   mmap_lock
 *     page lock
 *       mapping->i_mmap_rwsem
 *         anon_vma->root->rwsem
 *           mm->page_table_lock, then a PTE page's split lock
 */
#include <errno.h>
#include <stdlib.h>

#include "base/bug.h"
#include "base/legacy.h"
#include "base/preempt.h"
#include "base/sched_point.h"
#include "base/spinlock.h"
#include "mm/internal.h"
#include "mm/swap.h"

INTERVAL_TREE_DEFINE_TYPED(vma_interval_tree, struct vm_area_struct, shared)
INTERVAL_TREE_DEFINE_TYPED(anon_vma_interval_tree, struct anon_vma_chain, rb)

/* Both trees key a VMA by the file (or, anon, linear) pages it covers. */
static unsigned long vma_last_pgoff(const struct vm_area_struct *vma)
{
	return vma->vm_pgoff + vma_pages(vma) - 1;
}

/* ---- anon_vma objects ---- */

/*
 * anon_vmas are type-stable, as the kernel's SLAB_TYPESAFE_BY_RCU cache
 * makes them: a freed anon_vma goes onto this free list and is reused as an
 * anon_vma, never returned to malloc.  page->mapping of an unmapped anon
 * page may still name a freed anon_vma; a lockless reader
 * (page_lock_anon_vma_read()) may therefore load its ->root and try its
 * rwsem, and then finds the page unmapped and backs off.  The constructor
 * runs once per object, so the rwsem stays a valid lock across reuse.
 * Global because the kernel's kmem_cache is; ->parent links the free list.
 */
static DEFINE_SPINLOCK(anon_vma_cache_lock);
static struct anon_vma *anon_vma_cache;

static void anon_vma_ctor(struct anon_vma *anon_vma)
{
	init_rwsem(&anon_vma->rwsem);
	atomic_set(&anon_vma->refcount, 0);
	interval_tree_root_init(&anon_vma->rb_root);
}

static struct anon_vma *anon_vma_cache_alloc(void)
{
	struct anon_vma *anon_vma;

	spin_lock(&anon_vma_cache_lock);
	anon_vma = anon_vma_cache;
	if (anon_vma)
		anon_vma_cache = anon_vma->parent;
	spin_unlock(&anon_vma_cache_lock);
	if (anon_vma)
		return anon_vma;

	anon_vma = calloc(1, sizeof(*anon_vma));
	if (anon_vma)
		anon_vma_ctor(anon_vma);
	return anon_vma;
}

static struct anon_vma *anon_vma_alloc(void)
{
	struct anon_vma *anon_vma = anon_vma_cache_alloc();

	if (!anon_vma)
		return NULL;
	atomic_set(&anon_vma->refcount, 1);
	anon_vma->num_children = 0;
	anon_vma->num_active_vmas = 0;
	anon_vma->parent = anon_vma;
	anon_vma->all_locks_mark = false;
	/* A new anon_vma is its own root; lockless readers load ->root. */
	WRITE_ONCE(anon_vma->root, anon_vma);
	return anon_vma;
}

static void anon_vma_free(struct anon_vma *anon_vma)
{
	WARN_ON(atomic_read(&anon_vma->refcount));
	WARN_ON(!interval_tree_empty(&anon_vma->rb_root));

	/*
	 * page_lock_anon_vma_read() may have taken the root's rwsem by trylock
	 * on an anon_vma whose last reference then went: it holds the lock
	 * without a reference, and will find the page unmapped and drop it.
	 * Taking the lock once here waits for it, so the object is not reused
	 * under it (the kernel's anon_vma_free() does the same).
	 */
	might_sleep();
	if (rwsem_is_locked(&anon_vma->root->rwsem)) {
		anon_vma_lock_write(anon_vma);
		anon_vma_unlock_write(anon_vma);
	}

	spin_lock(&anon_vma_cache_lock);
	anon_vma->parent = anon_vma_cache;
	anon_vma_cache = anon_vma;
	spin_unlock(&anon_vma_cache_lock);
}

/* The root outlives every anon_vma of its tree: each holds a reference on it. */
static void __put_anon_vma(struct anon_vma *anon_vma)
{
	struct anon_vma *root = anon_vma->root;

	anon_vma_free(anon_vma);
	if (root != anon_vma && atomic_dec_and_test(&root->refcount))
		anon_vma_free(root);
}

void put_anon_vma(struct anon_vma *anon_vma)
{
	if (atomic_dec_and_test(&anon_vma->refcount))
		__put_anon_vma(anon_vma);
}

void anon_vma_lock_write(struct anon_vma *anon_vma)
{
	down_write(&anon_vma->root->rwsem);
}

void anon_vma_unlock_write(struct anon_vma *anon_vma)
{
	up_write(&anon_vma->root->rwsem);
}

void anon_vma_lock_read(struct anon_vma *anon_vma)
{
	down_read(&anon_vma->root->rwsem);
}

void anon_vma_unlock_read(struct anon_vma *anon_vma)
{
	up_read(&anon_vma->root->rwsem);
}

static struct anon_vma_chain *anon_vma_chain_alloc(void)
{
	return malloc(sizeof(struct anon_vma_chain));
}

static void anon_vma_chain_free(struct anon_vma_chain *avc)
{
	free(avc);
}

/* The anon_vma's root lock held (or the chain not yet visible to anyone). */
static void anon_vma_chain_link(struct vm_area_struct *vma, struct anon_vma_chain *avc,
				struct anon_vma *anon_vma)
{
	avc->vma = vma;
	avc->anon_vma = anon_vma;
	list_add(&avc->same_vma, &vma->anon_vma_chain);
	avc->rb.start = vma->vm_pgoff;
	avc->rb.last = vma_last_pgoff(vma);
	lockdep_assert_held_write(&anon_vma->root->rwsem);
	anon_vma_interval_tree_insert(avc, &anon_vma->rb_root);
}

/*
 * Every anon_vma on one VMA's chain normally shares one root; lock each
 * root once while walking the chain, switching only if it changes.
 */
static struct anon_vma *lock_anon_vma_root(struct anon_vma *root, struct anon_vma *anon_vma)
{
	struct anon_vma *new_root = anon_vma->root;

	if (new_root != root) {
		if (WARN_ON_ONCE(root))
			up_write(&root->rwsem);
		root = new_root;
		down_write(&root->rwsem);
	}
	return root;
}

static void unlock_anon_vma_root(struct anon_vma *root)
{
	if (root)
		up_write(&root->rwsem);
}

/* ---- giving a VMA its anon_vma ---- */

/*
 * May @b, just after @a, share @a's anon_vma?  Only if the two could be
 * one VMA but for their protections, so that a later mprotect can merge
 * them (the kernel's anon_vma_compatible(); no mempolicy here).
 */
static bool anon_vma_compatible(struct vm_area_struct *a, struct vm_area_struct *b)
{
	return a->vm_end == b->vm_start && a->vm_file == b->vm_file &&
	       !((a->vm_flags ^ b->vm_flags) & ~VM_ACCESS_FLAGS) &&
	       b->vm_pgoff == a->vm_pgoff + ((b->vm_start - a->vm_start) >> PAGE_SHIFT);
}

/*
 * @old's anon_vma, if @a and @b are compatible and @old was never forked
 * (a single chain: its anon_vma holds only pages no other process maps).
 * @old may be getting its anon_vma in a racing fault: the acquire pairs
 * with the release in __anon_vma_prepare(), which links the chain first,
 * and any other change of the chain needs mmap_lock for write, which
 * excludes us.
 */
static struct anon_vma *reusable_anon_vma(struct vm_area_struct *old, struct vm_area_struct *a,
					  struct vm_area_struct *b)
{
	struct anon_vma *anon_vma;

	if (!anon_vma_compatible(a, b))
		return NULL;
	anon_vma = smp_load_acquire(&old->anon_vma);
	if (anon_vma && list_is_singular(&old->anon_vma_chain))
		return anon_vma;
	return NULL;
}

/* A neighbour's anon_vma that @vma may share, so the two may merge later. */
static struct anon_vma *find_mergeable_anon_vma(struct vm_area_struct *vma)
{
	struct vm_area_struct *prev, *next;
	struct anon_vma *anon_vma = NULL;

	next = vma_next(vma);
	if (next)
		anon_vma = reusable_anon_vma(next, vma, next);
	if (anon_vma)
		return anon_vma;
	prev = vma_prev(vma);
	if (prev)
		anon_vma = reusable_anon_vma(prev, prev, vma);
	return anon_vma;
}

/*
 * The first anonymous fault of a VMA: give it an anon_vma, a neighbour's
 * if one can be shared, else a new root.  Faults run under mmap_lock held
 * for read, so two threads may get here for one VMA at once;
 * mm->page_table_lock decides which one's anon_vma the VMA takes.
 * vma->anon_vma is published last, with a release, so that whoever sees it
 * set (the fast path, a neighbour's find_mergeable_anon_vma()) also sees
 * the chain.
 */
static int __anon_vma_prepare(struct vm_area_struct *vma)
{
	struct mm_struct *mm = vma->vm_mm;
	struct anon_vma *anon_vma, *allocated = NULL;
	struct anon_vma_chain *avc;

	might_sleep();
	avc = anon_vma_chain_alloc();
	if (!avc)
		return -ENOMEM;

	anon_vma = find_mergeable_anon_vma(vma);
	if (!anon_vma) {
		anon_vma = anon_vma_alloc();
		if (!anon_vma) {
			anon_vma_chain_free(avc);
			return -ENOMEM;
		}
		anon_vma->num_children++; /* the root is its own parent */
		allocated = anon_vma;
	}
	/* Another fault of this VMA may get here too: page_table_lock decides. */
	sched_point("anon_vma_prepare:allocated");

	anon_vma_lock_write(anon_vma);
	spin_lock(&mm->page_table_lock);
	if (likely(!vma->anon_vma)) {
		anon_vma_chain_link(vma, avc, anon_vma);
		anon_vma->num_active_vmas++;
		smp_store_release(&vma->anon_vma, anon_vma);
		allocated = NULL;
		avc = NULL;
	}
	spin_unlock(&mm->page_table_lock);
	anon_vma_unlock_write(anon_vma);

	/* Another fault won the race: drop what we made. */
	if (unlikely(allocated))
		put_anon_vma(allocated);
	if (unlikely(avc))
		anon_vma_chain_free(avc);
	return 0;
}

int anon_vma_prepare(struct vm_area_struct *vma)
{
	if (likely(smp_load_acquire(&vma->anon_vma)))
		return 0;
	return __anon_vma_prepare(vma);
}

/*
 * Chain @dst to every anon_vma @src is chained to, so that the pages @src
 * maps are found through @dst too: a split VMA, a VMA moved by mremap, a
 * merge adopting a neighbour's anon_vma (@dst->anon_vma already set by the
 * caller), and the first half of anon_vma_fork() (@dst->anon_vma NULL).
 * mmap_lock held for write.
 *
 * A fork may reuse an anon_vma of the chain that has no VMA of its own left
 * and at most one child, rather than adding a level to the tree: without
 * that, a process forking in a loop would grow the chain forever.  The root
 * is never reused (it is its own parent, so it has a child).
 */
int anon_vma_clone(struct vm_area_struct *dst, struct vm_area_struct *src)
{
	struct anon_vma_chain *avc, *pavc;
	struct anon_vma *root = NULL;

	list_for_each_entry_reverse(pavc, &src->anon_vma_chain, same_vma) {
		struct anon_vma *anon_vma;

		avc = anon_vma_chain_alloc();
		if (unlikely(!avc))
			goto enomem_failure;
		anon_vma = pavc->anon_vma;
		root = lock_anon_vma_root(root, anon_vma);
		anon_vma_chain_link(dst, avc, anon_vma);

		if (!dst->anon_vma && src->anon_vma && anon_vma->num_children < 2 &&
		    anon_vma->num_active_vmas == 0)
			dst->anon_vma = anon_vma;
	}
	if (dst->anon_vma)
		dst->anon_vma->num_active_vmas++;
	unlock_anon_vma_root(root);
	return 0;

enomem_failure:
	unlock_anon_vma_root(root);
	/* Not counted active yet: unlink_anon_vmas() must not uncount it. */
	dst->anon_vma = NULL;
	unlink_anon_vmas(dst);
	return -ENOMEM;
}

/*
 * fork(): @vma is the child's copy of @pvma.  Chain it to all of the
 * parent's anon_vmas, so the pages still shared are found from the child,
 * then give it an anon_vma of its own, a child of the parent's, where the
 * pages it COWs will go.  mmap_lock of both mms held for write.
 */
int anon_vma_fork(struct vm_area_struct *vma, struct vm_area_struct *pvma)
{
	struct anon_vma_chain *avc;
	struct anon_vma *anon_vma;
	int error;

	if (!pvma->anon_vma)
		return 0;

	/* Drop the copied pointer: reuse one of the chain's, or make one. */
	vma->anon_vma = NULL;
	error = anon_vma_clone(vma, pvma);
	if (error)
		return error;
	if (vma->anon_vma)
		return 0;

	anon_vma = anon_vma_alloc();
	if (!anon_vma)
		goto out_error;
	anon_vma->num_active_vmas++;
	avc = anon_vma_chain_alloc();
	if (!avc)
		goto out_error_free_anon_vma;

	/* One tree, one lock: the root's.  It must outlive us, so hold it. */
	WRITE_ONCE(anon_vma->root, pvma->anon_vma->root);
	anon_vma->parent = pvma->anon_vma;
	get_anon_vma(anon_vma->root);
	vma->anon_vma = anon_vma;
	anon_vma_lock_write(anon_vma);
	anon_vma_chain_link(vma, avc, anon_vma);
	anon_vma->parent->num_children++;
	anon_vma_unlock_write(anon_vma);
	return 0;

out_error_free_anon_vma:
	put_anon_vma(anon_vma);
out_error:
	unlink_anon_vmas(vma);
	return -ENOMEM;
}

/*
 * The VMA leaves anon rmap (munmap, exit, a merge swallowing it): take its
 * chains out of the anon_vma trees, and free each anon_vma left with no
 * chain.  The chain list runs newest first, so the root, which every other
 * anon_vma of the tree holds, is put last.  Called before the VMA's page
 * tables are freed (free_pgtables(); rule 5, unlink before freeing page
 * tables), so an rmap walk never reaches them.
 */
void unlink_anon_vmas(struct vm_area_struct *vma)
{
	struct anon_vma_chain *avc, *next;
	struct anon_vma *root = NULL;

	list_for_each_entry_safe(avc, next, &vma->anon_vma_chain, same_vma) {
		struct anon_vma *anon_vma = avc->anon_vma;

		root = lock_anon_vma_root(root, anon_vma);
		lockdep_assert_held_write(&anon_vma->root->rwsem);
		anon_vma_interval_tree_remove(avc, &anon_vma->rb_root);

		/* Emptied: free it below, outside the root's lock that freeing takes. */
		if (interval_tree_empty(&anon_vma->rb_root)) {
			anon_vma->parent->num_children--;
			continue;
		}
		list_del(&avc->same_vma);
		anon_vma_chain_free(avc);
	}
	if (vma->anon_vma) {
		vma->anon_vma->num_active_vmas--;
		/* A VMA that lives on (a failed clone) gets a new one at its next fault. */
		vma->anon_vma = NULL;
	}
	unlock_anon_vma_root(root);

	list_for_each_entry_safe(avc, next, &vma->anon_vma_chain, same_vma) {
		struct anon_vma *anon_vma = avc->anon_vma;

		WARN_ON(anon_vma->num_children);
		WARN_ON(anon_vma->num_active_vmas);
		put_anon_vma(anon_vma);
		list_del(&avc->same_vma);
		anon_vma_chain_free(avc);
	}
}

/* ---- pages gaining and losing mappings ---- */

/* vm_flags may change under mprotect/mlock while an rmap walk looks (vma_modify_flags). */
static void mlock_vma_page(struct page *page, struct vm_area_struct *vma)
{
	if (unlikely(READ_ONCE(vma->vm_flags) & VM_LOCKED))
		mlock_page(page);
}

static void munlock_vma_page(struct page *page, struct vm_area_struct *vma)
{
	if (unlikely(READ_ONCE(vma->vm_flags) & VM_LOCKED))
		munlock_page(page);
}

/*
 * The anon_vma a page records when it becomes anonymous.  An exclusive page
 * (mapped only by this VMA) records the VMA's own anon_vma, the narrowest
 * one.  A page that other processes of the fork tree may map too (swap-in
 * or migration of a page shared since a fork) must record an anon_vma
 * every one of them is chained to: the oldest, the root (rule 7, oldest
 * anon_vma and root lock).
 */
static struct anon_vma *anon_vma_to_record(struct vm_area_struct *vma, bool exclusive)
{
	struct anon_vma *anon_vma = vma->anon_vma;

	/*
	 * LEGACY HOOK (--legacy=newest_anon_vma, the anon_vma_chain bug of
	 * 2010): the historical code recorded vma->anon_vma here for shared
	 * pages as well, so an rmap walk from the page missed the parent's
	 * VMAs, which are not chained to a child's anon_vma.  The switch
	 * returns @anon_vma here.
	 */
	if (!exclusive && !legacy_on(vma->vm_mm->legacy, LEGACY_NEWEST_ANON_VMA))
		anon_vma = anon_vma->root;
	return anon_vma;
}

/*
 * Make @page anonymous in @vma's anon_vma tree, at the index @address has
 * in @vma.  A page already anonymous keeps what it records: whichever
 * anon_vma it names, every VMA that maps it is chained to it.
 */
static void __page_set_anon_rmap(struct page *page, struct vm_area_struct *vma,
				 unsigned long address, bool exclusive)
{
	struct anon_vma *anon_vma;

	BUG_ON(!vma->anon_vma);
	if (!PageAnon(page)) {
		anon_vma = anon_vma_to_record(vma, exclusive);
		page->index = linear_page_index(vma, address);
		/*
		 * One store with the type bit, so a lockless reader never takes
		 * the anon_vma for an address_space.
		 */
		WRITE_ONCE(page->mapping,
			   (struct address_space *)((unsigned long)anon_vma + PAGE_MAPPING_ANON));
	}
	if (exclusive)
		SetPageAnonExclusive(page);
}

/* A page mapped again must belong to this VMA's tree, at this VMA's index. */
static void __page_check_anon_rmap(struct page *page, struct vm_area_struct *vma,
				   unsigned long address)
{
	struct anon_vma *anon_vma = page_anon_vma(page);

	WARN_ON(!anon_vma || anon_vma->root != vma->anon_vma->root);
	WARN_ON(page->index != linear_page_index(vma, address));
}

static bool vma_contains(const struct vm_area_struct *vma, unsigned long address)
{
	return address >= vma->vm_start && address < vma->vm_end;
}

/*
 * A page just allocated for @vma at @address (anon fault, COW copy), about
 * to be mapped by its one PTE: mapcount 1, exclusive, in the VMA's own
 * anon_vma.  Nobody else can see the page yet, so plain stores do.
 */
void page_add_new_anon_rmap(struct page *page, struct vm_area_struct *vma, unsigned long address)
{
	WARN_ON(!vma_contains(vma, address));
	WARN_ON(page_mapped(page));
	__SetPageSwapBacked(page);
	atomic_set(&page->_mapcount, 1);
	__page_set_anon_rmap(page, vma, address, true);
}

/*
 * An anon page gains a PTE in @vma (swap-in, migration, the copy of a PTE
 * at fork goes through page_try_dup_anon_rmap() instead).  PTE lock held.
 */
void page_add_anon_rmap(struct page *page, struct vm_area_struct *vma, unsigned long address,
			bool exclusive)
{
	bool first = atomic_add_return(1, &page->_mapcount) == 1;

	WARN_ON(!first && (exclusive || PageAnonExclusive(page)));
	if (first)
		__page_set_anon_rmap(page, vma, address, exclusive);
	else
		__page_check_anon_rmap(page, vma, address);
	mlock_vma_page(page, vma);
}

/* A page-cache page gains a PTE in @vma.  PTE lock held. */
void page_add_file_rmap(struct page *page, struct vm_area_struct *vma)
{
	WARN_ON(PageAnon(page));
	atomic_inc(&page->_mapcount);
	mlock_vma_page(page, vma);
}

/*
 * A PTE of @vma mapping @page is gone (zap, COW break, migration).  PTE lock
 * held.  An anon page keeps page->mapping: a racing page_add_anon_rmap()
 * may be mapping it again, and a swap-cache page is found through it; the
 * free path clears it (the kernel's free_pages_prepare()).
 */
void page_remove_rmap(struct page *page, struct vm_area_struct *vma)
{
	int mapcount = atomic_sub_return(1, &page->_mapcount);

	if (WARN_ON(mapcount < 0))
		atomic_set(&page->_mapcount, 0);
	munlock_vma_page(page, vma);
}

/* fork: the child's PTE maps the same page-cache page.  Both PTE locks held. */
void page_dup_file_rmap(struct page *page)
{
	atomic_inc(&page->_mapcount);
}

/*
 * Would a page that the mm may have pinned for DMA stop being the page the
 * pin refers to?  A COW mapping of a pinned page must not be shared at
 * fork: the parent's next write would COW away from the pinned page.
 */
static bool page_needs_cow_for_dma(struct vm_area_struct *vma, struct page *page)
{
	if (!is_cow_mapping(vma->vm_flags))
		return false;
	if (!test_bit(MMF_HAS_PINNED, &vma->vm_mm->flags))
		return false;
	return page_maybe_dma_pinned(page);
}

/*
 * fork: the child is about to map the anon page @src_vma maps.  An
 * exclusive page stops being exclusive (both processes now COW on write);
 * a possibly pinned exclusive page may not be shared at all: -EBUSY, and
 * copy_page_range() gives the child its own copy instead.  Both PTE locks
 * held.  Returns 0 with the mapping counted, or -EBUSY.
 */
int page_try_dup_anon_rmap(struct page *page, struct vm_area_struct *src_vma)
{
	WARN_ON(!PageAnon(page));
	if (PageAnonExclusive(page)) {
		if (unlikely(page_needs_cow_for_dma(src_vma, page)))
			return -EBUSY;
		ClearPageAnonExclusive(page);
	}
	atomic_inc(&page->_mapcount);
	return 0;
}

/* ---- file VMAs in i_mmap ---- */

void i_mmap_lock_write(struct address_space *mapping)
{
	down_write(&mapping->i_mmap_rwsem);
}

void i_mmap_unlock_write(struct address_space *mapping)
{
	up_write(&mapping->i_mmap_rwsem);
}

void i_mmap_lock_read(struct address_space *mapping)
{
	down_read(&mapping->i_mmap_rwsem);
}

void i_mmap_unlock_read(struct address_space *mapping)
{
	up_read(&mapping->i_mmap_rwsem);
}

/* A new file VMA joins its file's i_mmap, where rmap and truncation find it. */
void vma_link_file(struct vm_area_struct *vma)
{
	struct address_space *mapping;

	if (!vma->vm_file)
		return;
	mapping = vma->vm_file->f_mapping;
	i_mmap_lock_write(mapping);
	vma->shared.start = vma->vm_pgoff;
	vma->shared.last = vma_last_pgoff(vma);
	lockdep_assert_held_write(&mapping->i_mmap_rwsem);
	vma_interval_tree_insert(vma, &mapping->i_mmap);
	i_mmap_unlock_write(mapping);
}

/*
 * The VMA leaves i_mmap before its page tables are freed (free_pgtables();
 * rule 5, unlink before freeing page tables): truncation walking i_mmap
 * must not reach them.
 */
void unlink_file_vma(struct vm_area_struct *vma)
{
	struct address_space *mapping;

	if (!vma->vm_file)
		return;
	mapping = vma->vm_file->f_mapping;
	i_mmap_lock_write(mapping);
	/* Rule 5: for write, or a truncation walking i_mmap sees the tree mid-rebalance. */
	lockdep_assert_held_write(&mapping->i_mmap_rwsem);
	/* Twice would corrupt the tree: a VMA leaves i_mmap once. */
	if (!WARN_ON(!interval_tree_node_linked(&vma->shared)))
		vma_interval_tree_remove(vma, &mapping->i_mmap);
	i_mmap_unlock_write(mapping);
}

/* ---- walking the reverse map ---- */

/*
 * Where @page is mapped in @vma, if @vma covers its index: -EFAULT if not
 * (the trees are keyed by the same pgoff range, so only a caller with a
 * stale VMA sees that).
 */
unsigned long vma_address(struct page *page, struct vm_area_struct *vma)
{
	unsigned long address;

	if (page->index < vma->vm_pgoff)
		return -EFAULT;
	address = vma->vm_start + ((page->index - vma->vm_pgoff) << PAGE_SHIFT);
	if (address >= vma->vm_end)
		return -EFAULT;
	return address;
}

/*
 * The PTE that maps @page at @address in @vma, with the PTE lock held, or
 * NULL if there is none (any more): the page_vma_mapped_walk() of a small
 * page.  Present PTEs only: remove_migration_pte() (mm/migrate.c) looks
 * for its migration entries itself.
 */
pte_t *page_vma_mapped_pte(struct page *page, struct vm_area_struct *vma, unsigned long address,
			   spinlock_t **ptlp)
{
	pte_t *pte = pte_offset_map_lock(vma->vm_mm, address, ptlp);
	pte_t entry;

	if (!pte)
		return NULL;
	entry = ptep_get(pte);
	if (pte_present(entry) && pte_pfn(entry) == page_to_pfn(page))
		return pte;
	pte_unmap_unlock(pte, *ptlp);
	return NULL;
}

/*
 * Lock the anon_vma an anon page records, for reading, without a reference
 * and without mmap_lock (reclaim's page_referenced(), which need not hold
 * the page lock): the kernel's folio_lock_anon_vma_read().  The anon_vma
 * may be freed and reused at any moment (memory is type-stable, see
 * anon_vma_cache); what makes it the page's is that the page is still
 * mapped once the root lock is held, since unmapping the last VMA that maps
 * it needs that lock (unlink_anon_vmas()).  NULL if the page is unmapped,
 * or if @rwc asked not to wait and the lock was contended.
 */
struct anon_vma *page_lock_anon_vma_read(struct page *page, struct rmap_walk_control *rwc)
{
	struct anon_vma *anon_vma, *root_anon_vma;

	anon_vma = page_anon_vma(page);
	if (!anon_vma || !page_mapped(page))
		return NULL;

	root_anon_vma = READ_ONCE(anon_vma->root);
	if (down_read_trylock(&root_anon_vma->rwsem)) {
		/* Unmapped since: the anon_vma may no longer be this page's. */
		if (!page_mapped(page)) {
			up_read(&root_anon_vma->rwsem);
			return NULL;
		}
		return anon_vma;
	}

	if (rwc && rwc->try_lock) {
		rwc->contended = true;
		return NULL;
	}

	/* Going to sleep: a reference keeps the anon_vma ours meanwhile. */
	if (!atomic_inc_not_zero(&anon_vma->refcount))
		return NULL;
	if (!page_mapped(page)) {
		put_anon_vma(anon_vma);
		return NULL;
	}
	anon_vma_lock_read(anon_vma);
	if (atomic_dec_and_test(&anon_vma->refcount)) {
		/* Ours was the last: put_anon_vma() would take the lock we hold. */
		anon_vma_unlock_read(anon_vma);
		__put_anon_vma(anon_vma);
		return NULL;
	}
	return anon_vma;
}

static struct anon_vma *rmap_walk_anon_lock(struct page *page, struct rmap_walk_control *rwc)
{
	struct anon_vma *anon_vma;

	if (rwc->anon_lock)
		return rwc->anon_lock(page, rwc);

	/*
	 * The page is locked and mapped, or the caller holds a reference on
	 * the anon_vma: it cannot go away under us.
	 */
	anon_vma = page_anon_vma(page);
	if (!anon_vma)
		return NULL;
	if (down_read_trylock(&anon_vma->root->rwsem))
		return anon_vma;
	if (rwc->try_lock) {
		rwc->contended = true;
		return NULL;
	}
	anon_vma_lock_read(anon_vma);
	return anon_vma;
}

/* Call rwc->rmap_one for @vma, unless the walk skips it; false: stop. */
static bool rmap_walk_one(struct page *page, struct vm_area_struct *vma,
			  struct rmap_walk_control *rwc)
{
	unsigned long address = vma_address(page, vma);

	if (WARN_ON(IS_ERR_VALUE(address)))
		return true;
	if (rwc->invalid_vma && rwc->invalid_vma(vma, rwc->arg))
		return true;
	if (!rwc->rmap_one(page, vma, address, rwc->arg))
		return false;
	return !(rwc->done && rwc->done(page));
}

static void rmap_walk_anon(struct page *page, struct rmap_walk_control *rwc, bool locked)
{
	struct anon_vma *anon_vma;
	struct anon_vma_chain *avc;

	anon_vma = locked ? page_anon_vma(page) : rmap_walk_anon_lock(page, rwc);
	if (!anon_vma)
		return;
	check_anon_vma_of_mapped_page(page, anon_vma);

	interval_tree_foreach_typed(anon_vma_interval_tree, avc, &anon_vma->rb_root, page->index,
				    page->index) {
		if (!rmap_walk_one(page, avc->vma, rwc))
			break;
	}
	if (!locked)
		anon_vma_unlock_read(anon_vma);
}

static void rmap_walk_file(struct page *page, struct rmap_walk_control *rwc, bool locked)
{
	struct address_space *mapping = page_mapping(page);
	struct vm_area_struct *vma;

	if (!mapping)
		return;
	if (!locked) {
		if (!down_read_trylock(&mapping->i_mmap_rwsem)) {
			if (rwc->try_lock) {
				rwc->contended = true;
				return;
			}
			i_mmap_lock_read(mapping);
		}
	}

	interval_tree_foreach_typed(vma_interval_tree, vma, &mapping->i_mmap, page->index,
				    page->index) {
		if (!rmap_walk_one(page, vma, rwc))
			break;
	}
	if (!locked)
		i_mmap_unlock_read(mapping);
}

/*
 * Visit every VMA that may map @page: through its anon_vma (the root's
 * lock, read) or its file's i_mmap (i_mmap_rwsem, read).  The page is
 * locked, which keeps page->mapping what it is.
 */
void rmap_walk(struct page *page, struct rmap_walk_control *rwc)
{
	WARN_ON(!PageLocked(page));
	if (PageAnon(page))
		rmap_walk_anon(page, rwc, false);
	else
		rmap_walk_file(page, rwc, false);
}

/* The same, with the anon_vma or i_mmap_rwsem already held by the caller. */
void rmap_walk_locked(struct page *page, struct rmap_walk_control *rwc)
{
	if (PageAnon(page))
		rmap_walk_anon(page, rwc, true);
	else
		rmap_walk_file(page, rwc, true);
}

/* ---- page_mkclean: writeback write-protects the shared mappings ---- */

/*
 * Write-protect and clean the PTE mapping @page at @address, announcing it
 * first: a secondary MMU may hold a writable copy of this PTE, and writes
 * through it after writeback would never reach the file (rule 1, invalidate
 * before free).
 */
static bool page_mkclean_one(struct page *page, struct vm_area_struct *vma, unsigned long address,
			     void *arg)
{
	struct mm_struct *mm = vma->vm_mm;
	struct mmu_notifier_range range;
	int *cleaned = arg;
	spinlock_t *ptl;
	pte_t *pte, entry;

	mmu_notifier_range_init(&range, MMU_NOTIFY_PROTECTION_PAGE, 0, mm, address,
				address + PAGE_SIZE);
	mmu_notifier_invalidate_range_start(&range);

	pte = page_vma_mapped_pte(page, vma, address, &ptl);
	if (pte) {
		entry = ptep_get(pte);
		if (pte_dirty(entry) || pte_write(entry)) {
			/* One exchange: a dirty bit set meanwhile is not lost. */
			entry = ptep_get_and_clear(mm, address, pte);
			entry = pte_mkclean(pte_wrprotect(entry));
			set_pte_at(mm, address, pte, entry);
			(*cleaned)++;
		}
		pte_unmap_unlock(pte, ptl);
	}

	mmu_notifier_invalidate_range_end(&range);
	return true;
}

/* Only shared mappings write to the file; a private one's writes are COWed. */
static bool invalid_mkclean_vma(struct vm_area_struct *vma, void *arg)
{
	return !(vma->vm_flags & VM_SHARED);
}

/*
 * Clean and write-protect every shared PTE of a locked page-cache page, so
 * the next write through any of them faults and dirties the page again.
 * Returns how many PTEs were writable or dirty: the caller treats the page
 * as dirty if any was.
 */
int page_mkclean(struct page *page)
{
	struct rmap_walk_control rwc = {
		.rmap_one = page_mkclean_one,
		.invalid_vma = invalid_mkclean_vma,
	};
	int cleaned = 0;

	WARN_ON(!PageLocked(page));
	if (!page_mapped(page) || !page_mapping(page))
		return 0;
	rwc.arg = &cleaned;
	rmap_walk(page, &rwc);
	return cleaned;
}

/* ---- page_referenced: reclaim's question, "was it used lately?" ---- */

struct page_referenced_arg {
	int referenced; /* mappings found young */
	unsigned long vm_flags;
};

/*
 * Test and clear the accessed bit of @page's PTE in @vma, and the secondary
 * MMUs' bits for the same address (mmu_notifier_clear_flush_young): a page
 * a guest touches through its own tables is as used as one the host
 * touches.  In a VM_LOCKED VMA the page is marked mlocked instead, under
 * the PTE lock (rule 8, mlock under the PTE lock), and reclaim keeps it.
 */
static bool page_referenced_one(struct page *page, struct vm_area_struct *vma,
				unsigned long address, void *arg)
{
	struct page_referenced_arg *pra = arg;
	unsigned long vm_flags;
	spinlock_t *ptl;
	pte_t *pte;
	int referenced = 0;

	pte = page_vma_mapped_pte(page, vma, address, &ptl);
	if (!pte)
		return true;
	/* mprotect/mlock may change them now: one load (vma_modify_flags()). */
	vm_flags = READ_ONCE(vma->vm_flags);
	if (vm_flags & VM_LOCKED) {
		/* Rule 8, mlock under the PTE lock: the mapping is still there. */
		mlock_page(page);
		pte_unmap_unlock(pte, ptl);
		/* Where a COW or munlock may remove it (tests/scenario/mm/referenced_mlock.c). */
		sched_point("page_referenced_one:mlock");
		pra->vm_flags |= VM_LOCKED;
		return false; /* no need to look further */
	}
	/* Under the PTE lock, as the kernel's ptep_clear_flush_young_notify(). */
	if (ptep_test_and_clear_young(vma, address, pte))
		referenced++;
	if (mmu_notifier_clear_flush_young(vma->vm_mm, address, address + PAGE_SIZE))
		referenced++;
	pte_unmap_unlock(pte, ptl);
	if (referenced) {
		pra->referenced++;
		pra->vm_flags |= vm_flags;
	}
	return true;
}

/*
 * How many of @page's mappings were young since the last call (clearing
 * them), and the union of those VMAs' flags in *@vm_flags (VM_LOCKED: a
 * locked VMA maps it, and the page is now marked mlocked).  @is_locked: the
 * caller holds the page lock; otherwise it is tried, and a page that cannot
 * be locked counts as referenced (the kernel's folio_referenced() does the
 * same for file pages; it walks anon pages without the lock, which
 * page_lock_anon_vma_read() makes safe, but one rule for both is simpler).
 */
int folio_referenced(struct page *page, int is_locked, unsigned long *vm_flags)
{
	struct page_referenced_arg pra = { 0 };
	struct rmap_walk_control rwc = {
		.rmap_one = page_referenced_one,
		.arg = &pra,
	};

	*vm_flags = 0;
	if (!page_mapped(page) || !READ_ONCE(page->mapping))
		return 0;
	if (!is_locked && !trylock_page(page))
		return 1;
	rmap_walk(page, &rwc);
	if (!is_locked)
		unlock_page(page);
	*vm_flags = pra.vm_flags;
	return pra.referenced;
}

/* ---- try_to_unmap: take every PTE of a page away ---- */

struct try_to_unmap_arg {
	enum ttu_flags flags;
};

/*
 * The historical code that broke rule 8, mlock under the PTE lock
 * (--legacy=mlock_trylock): the PTE lock is dropped and the page is
 * marked mlocked under a trylock of mmap_lock.  By then the PTE may be
 * gone (a COW fault holds mmap_lock only for read, and its
 * page_remove_rmap() has already cleared the mark), and the page is left
 * mlocked with no locked VMA mapping it: it is freed "still mlocked".
 */
static void mlock_page_by_trylock(struct page *page, struct vm_area_struct *vma, pte_t *pte,
				  spinlock_t *ptl)
{
	struct mm_struct *mm = vma->vm_mm;

	pte_unmap_unlock(pte, ptl);
	sched_point("try_to_unmap:mlock");
	if (down_read_trylock(&mm->mmap_lock)) {
		if (vma->vm_flags & VM_LOCKED)
			mlock_page(page);
		up_read(&mm->mmap_lock);
	}
}

/*
 * Replace the PTE of @page in @vma by nothing (a page-cache page, which the
 * file still holds) or by a swap entry for its slot (an anon page in the
 * swap cache), dropping the PTE's reference.  The range is announced before
 * the PTE lock is taken (rule 1, invalidate before free; rule 6, notifier
 * outside atomic sections): a secondary MMU drops its copy before the page
 * can go.  The page is locked; with @flags TTU_MUNLOCK nothing is
 * unmapped, only a VM_LOCKED VMA mapping the page is looked for.
 */
static bool try_to_unmap_one(struct page *page, struct vm_area_struct *vma, unsigned long address,
			     void *arg)
{
	struct try_to_unmap_arg *tua = arg;
	struct mm_struct *mm = vma->vm_mm;
	struct mmu_notifier_range range;
	bool ret = true, locked_vma;
	spinlock_t *ptl;
	pte_t *pte, pteval;

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, address, address + PAGE_SIZE);
	if (!(tua->flags & TTU_MUNLOCK))
		mmu_notifier_invalidate_range_start(&range);

	pte = page_vma_mapped_pte(page, vma, address, &ptl);
	if (!pte)
		goto out;

	locked_vma = READ_ONCE(vma->vm_flags) & VM_LOCKED; /* as page_referenced_one() */
	if (locked_vma && !(tua->flags & TTU_IGNORE_MLOCK)) {
		ret = false; /* the page stays: no need to look further */
		if (legacy_on(mm->legacy, LEGACY_MLOCK_TRYLOCK)) {
			mlock_page_by_trylock(page, vma, pte, ptl);
			goto out;
		}
		/* Rule 8, mlock under the PTE lock: the mapping is still there. */
		mlock_page(page);
		pte_unmap_unlock(pte, ptl);
		sched_point("try_to_unmap:mlock");
		goto out;
	}
	if (tua->flags & TTU_MUNLOCK) {
		pte_unmap_unlock(pte, ptl);
		goto out;
	}

	pteval = ptep_get_and_clear(mm, address, pte);
	if (pte_dirty(pteval))
		set_page_dirty(page);
	if (PageAnon(page)) {
		swp_entry_t entry = page_swap_entry(page);
		pte_t swp_pte;

		/* Reclaim gave it a slot first; anything else is a caller bug. */
		if (WARN_ON(!PageSwapCache(page)) || swap_duplicate(entry)) {
			set_pte_at(mm, address, pte, pteval);
			pte_unmap_unlock(pte, ptl);
			ret = false;
			goto out;
		}
		swp_pte = swp_entry_to_pte(entry);
		if (TestClearPageAnonExclusive(page))
			swp_pte = pte_swp_mkexclusive(swp_pte);
		set_pte_at(mm, address, pte, swp_pte);
		add_mm_counter(mm, MM_ANONPAGES, -1);
		add_mm_counter(mm, MM_SWAPENTS, 1);
	} else {
		add_mm_counter(mm, mm_counter_file(page), -1);
	}
	page_remove_rmap(page, vma);
	pte_unmap_unlock(pte, ptl);
	put_page(page); /* the PTE's; the caller holds its own */
out:
	if (!(tua->flags & TTU_MUNLOCK))
		mmu_notifier_invalidate_range_end(&range);
	return ret;
}

static bool invalid_munlock_vma(struct vm_area_struct *vma, void *arg)
{
	return !(READ_ONCE(vma->vm_flags) & VM_LOCKED); /* as page_referenced_one() */
}

static int page_not_mapped(struct page *page)
{
	return !page_mapped(page);
}

/*
 * Unmap a locked page from every VMA the rmap walk finds.  Stops at the
 * first VM_LOCKED VMA (unless TTU_IGNORE_MLOCK), marking the page mlocked.
 * Returns true if the page is no longer mapped.
 */
bool try_to_unmap(struct page *page, enum ttu_flags flags)
{
	struct try_to_unmap_arg tua = { .flags = flags };
	struct rmap_walk_control rwc = {
		.rmap_one = try_to_unmap_one,
		.arg = &tua,
		.done = page_not_mapped,
	};

	WARN_ON(!PageLocked(page));
	if (flags & TTU_MUNLOCK) {
		rwc.invalid_vma = invalid_munlock_vma;
		rwc.done = NULL;
	}
	rmap_walk(page, &rwc);
	return !page_mapped(page);
}

/*
 * munlock of one VMA cleared PG_mlocked at once; if another VM_LOCKED VMA
 * still maps the locked page, mark it again (the kernel's try_to_munlock()
 * of the days before mlock_count).  True if it is mlocked after.
 */
bool try_to_munlock(struct page *page)
{
	try_to_unmap(page, TTU_MUNLOCK);
	return PageMlocked(page);
}
