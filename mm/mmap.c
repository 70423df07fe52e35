// SPDX-License-Identifier: GPL-2.0
/*
 * The VMA layer of a host address space, after the kernel's mm/mmap.c:
 * the VMA tree, mmap, munmap, splitting and merging VMAs, and tearing the
 * whole space down at exit (the mm_struct itself is mm/fork.c's).
 *
 * VMAs live in mm->mm_rb, an interval tree of [vm_start, vm_end - 1] that
 * finds them, and in mm->vma_leaves, leaves of VMA pointers by address that
 * walk them (vma_next(), for_each_vma()): the kernel's maple tree does both.
 * The tree, the leaves and every VMA's bounds change only
 * under mmap_lock held for write; page faults and GUP read them under
 * mmap_lock held for read.  Reverse-map walkers (reclaim, truncation) hold
 * no mmap_lock at all: they find VMAs through a file's i_mmap tree and an
 * anon_vma's tree, both keyed by the VMA's pgoff range, so every change of a
 * VMA's bounds is made inside those trees' locks (vma_prepare() and
 * vma_complete() below), and a VMA leaves rmap before its page tables are
 * freed (free_pgtables(); rule 5, unlink before freeing page tables).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/bug.h"
#include "base/legacy.h"
#include "mm/internal.h"

/*
 * The kernel's vm.max_map_count sysctl: how many VMAs one mm may have.  A
 * global because it is one in the kernel (a system-wide tunable); tests
 * lower it to reach the -ENOMEM of a split that would exceed it.
 */
int sysctl_max_map_count = DEFAULT_MAX_MAP_COUNT;

/* ---- the VMA tree ---- */

INTERVAL_TREE_DEFINE_TYPED(vma_tree, struct vm_area_struct, vm_rb)

/* ---- the VMA index's leaves (struct vma_leaf) ---- */

#define VMA_LEAF_SPARES 2

static void vma_leaf_set(struct vma_leaf *leaf, unsigned int slot, struct vm_area_struct *vma)
{
	leaf->slots[slot] = vma;
	vma->vm_leaf = leaf;
	vma->vm_slot = slot;
}

/*
 * Keep VMA_LEAF_SPARES leaves ready: called with each VMA allocated, so
 * that linking it, and the unlink and relink around its neighbours'
 * changes (a split links two VMAs), never allocates.  0 or -ENOMEM.
 */
int vma_leaf_topup(struct mm_struct *mm)
{
	while (mm->nr_vma_leaf_spares < VMA_LEAF_SPARES) {
		struct vma_leaf *leaf = calloc(1, sizeof(*leaf));

		if (!leaf)
			return -ENOMEM;
		list_add(&leaf->link, &mm->vma_leaf_spares);
		mm->nr_vma_leaf_spares++;
	}
	return 0;
}

static struct vma_leaf *vma_leaf_get(struct mm_struct *mm)
{
	struct vma_leaf *leaf;

	/* Every link follows a topup or an unlink that left a spare. */
	BUG_ON(!mm->nr_vma_leaf_spares);
	leaf = list_first_entry(&mm->vma_leaf_spares, struct vma_leaf, link);
	list_del(&leaf->link);
	mm->nr_vma_leaf_spares--;
	leaf->nr = 0;
	return leaf;
}

/* An emptied leaf leaves the index: a spare, or freed when there are enough. */
static void vma_leaf_put(struct mm_struct *mm, struct vma_leaf *leaf)
{
	list_del(&leaf->link);
	if (mm->nr_vma_leaf_spares < VMA_LEAF_SPARES) {
		list_add(&leaf->link, &mm->vma_leaf_spares);
		mm->nr_vma_leaf_spares++;
	} else {
		free(leaf);
	}
}

/* The mm is going: its index is empty, only the spares are left. */
void vma_leaves_destroy(struct mm_struct *mm)
{
	struct vma_leaf *leaf, *tmp;

	WARN_ON(!list_empty(&mm->vma_leaves));
	list_for_each_entry_safe(leaf, tmp, &mm->vma_leaf_spares, link)
		free(leaf);
	INIT_LIST_HEAD(&mm->vma_leaf_spares);
	mm->nr_vma_leaf_spares = 0;
}

/*
 * Put @vma at @slot of @leaf, after the VMA before it.  A full leaf is
 * split in halves, or, when @vma goes after its last slot (an mm growing
 * upwards, a run of splits), gets a new leaf after it, so that leaves
 * filled in address order stay full.
 */
static void vma_leaf_insert(struct mm_struct *mm, struct vma_leaf *leaf, unsigned int slot,
			    struct vm_area_struct *vma)
{
	if (leaf->nr == VMA_LEAF_SLOTS) {
		struct vma_leaf *new = vma_leaf_get(mm);
		unsigned int half = VMA_LEAF_SLOTS / 2;

		list_add(&new->link, &leaf->link);
		if (slot == VMA_LEAF_SLOTS) {
			leaf = new;
			slot = 0;
		} else {
			for (unsigned int i = half; i < VMA_LEAF_SLOTS; i++)
				vma_leaf_set(new, i - half, leaf->slots[i]);
			new->nr = VMA_LEAF_SLOTS - half;
			leaf->nr = half;
			if (slot > half) {
				leaf = new;
				slot -= half;
			}
		}
	}
	for (unsigned int i = leaf->nr; i > slot; i--)
		vma_leaf_set(leaf, i, leaf->slots[i - 1]);
	vma_leaf_set(leaf, slot, vma);
	leaf->nr++;
}

/* Into the tree, and into the leaves after its predecessor in the tree. */
static void vma_tree_insert_vma(struct vm_area_struct *vma)
{
	struct mm_struct *mm = vma->vm_mm;
	struct vm_area_struct *prev;

	vma->vm_rb.start = vma->vm_start;
	vma->vm_rb.last = vma->vm_end - 1;
	vma_tree_insert(vma, &mm->mm_rb);

	prev = vma_tree_prev(vma);
	if (prev) {
		vma_leaf_insert(mm, prev->vm_leaf, prev->vm_slot + 1, vma);
	} else if (!list_empty(&mm->vma_leaves)) {
		vma_leaf_insert(mm, list_first_entry(&mm->vma_leaves, struct vma_leaf, link), 0,
				vma);
	} else {
		struct vma_leaf *leaf = vma_leaf_get(mm);

		list_add(&leaf->link, &mm->vma_leaves);
		vma_leaf_insert(mm, leaf, 0, vma);
	}
}

static void vma_tree_remove_vma(struct vm_area_struct *vma)
{
	struct mm_struct *mm = vma->vm_mm;
	struct vma_leaf *leaf = vma->vm_leaf;

	vma_tree_remove(vma, &mm->mm_rb);
	for (unsigned int i = vma->vm_slot; i + 1 < leaf->nr; i++)
		vma_leaf_set(leaf, i, leaf->slots[i + 1]);
	if (!--leaf->nr)
		vma_leaf_put(mm, leaf);
	vma->vm_leaf = NULL;
}

/*
 * VMAs never overlap, so the first one (by start) whose interval reaches
 * @addr is the lowest one with vm_end > addr.
 */
struct vm_area_struct *find_vma(struct mm_struct *mm, unsigned long addr)
{
	mmap_assert_locked(mm);
	return vma_tree_iter_first(&mm->mm_rb, addr, ULONG_MAX);
}

struct vm_area_struct *vma_lookup(struct mm_struct *mm, unsigned long addr)
{
	struct vm_area_struct *vma = find_vma(mm, addr);

	if (vma && vma->vm_start > addr)
		return NULL;
	return vma;
}

struct vm_area_struct *find_vma_intersection(struct mm_struct *mm, unsigned long start,
					     unsigned long end)
{
	struct vm_area_struct *vma = find_vma(mm, start);

	if (vma && vma->vm_start >= end)
		return NULL;
	return vma;
}

struct vm_area_struct *vma_next(struct vm_area_struct *vma)
{
	struct vma_leaf *leaf = vma->vm_leaf;

	if (vma->vm_slot + 1 < leaf->nr)
		return leaf->slots[vma->vm_slot + 1];
	if (list_is_last(&leaf->link, &vma->vm_mm->vma_leaves))
		return NULL;
	return list_next_entry(leaf, link)->slots[0];
}

struct vm_area_struct *vma_prev(struct vm_area_struct *vma)
{
	struct vma_leaf *leaf = vma->vm_leaf;

	if (vma->vm_slot)
		return leaf->slots[vma->vm_slot - 1];
	if (list_is_first(&leaf->link, &vma->vm_mm->vma_leaves))
		return NULL;
	leaf = list_prev_entry(leaf, link);
	return leaf->slots[leaf->nr - 1];
}

struct vma_iterator vma_iter_init(struct mm_struct *mm)
{
	struct vma_iterator vmi = { .mm = mm };

	mmap_assert_locked(mm);
	if (!list_empty(&mm->vma_leaves))
		vmi.leaf = list_first_entry(&mm->vma_leaves, struct vma_leaf, link);
	return vmi;
}

struct vm_area_struct *find_vma_prev(struct mm_struct *mm, unsigned long addr,
				     struct vm_area_struct **pprev)
{
	struct vm_area_struct *vma = find_vma(mm, addr);

	/* Nothing at or above @addr: the previous VMA is the last one. */
	*pprev = vma ? vma_prev(vma) : vma_tree_entry(interval_tree_last(&mm->mm_rb));
	return vma;
}

/* ---- VMA objects ---- */

/* Cache-line aligned, as the kernel's SLAB_HWCACHE_ALIGN vm_area_cachep. */
static struct vm_area_struct *vm_area_cache_alloc(void)
{
	return aligned_alloc(_Alignof(struct vm_area_struct), sizeof(struct vm_area_struct));
}

struct vm_area_struct *vm_area_alloc(struct mm_struct *mm)
{
	struct vm_area_struct *vma;

	if (vma_leaf_topup(mm))
		return NULL;
	vma = vm_area_cache_alloc();
	if (!vma)
		return NULL;
	memset(vma, 0, sizeof(*vma));
	vma->vm_mm = mm;
	INIT_LIST_HEAD(&vma->anon_vma_chain);
	interval_tree_node_init(&vma->shared);
	interval_tree_node_init(&vma->vm_rb);
	return vma;
}

/*
 * A copy of @orig's fields, in no tree and on no anon_vma chain.  The
 * caller links the chains (anon_vma_clone/anon_vma_fork) and takes its own
 * reference on vm_file.
 */
struct vm_area_struct *vm_area_dup(struct vm_area_struct *orig)
{
	struct vm_area_struct *new;

	if (vma_leaf_topup(orig->vm_mm))
		return NULL;
	new = vm_area_cache_alloc();
	if (!new)
		return NULL;
	*new = *orig;
	new->vm_leaf = NULL;
	INIT_LIST_HEAD(&new->anon_vma_chain);
	interval_tree_node_init(&new->shared);
	interval_tree_node_init(&new->vm_rb);
	return new;
}

void vm_area_free(struct vm_area_struct *vma)
{
	free(vma);
}

/* The last of a VMA that is in no tree and on no chain any more. */
static void remove_vma(struct vm_area_struct *vma)
{
	if (vma->vm_file)
		fput(vma->vm_file);
	vm_area_free(vma);
}

void vm_stat_account(struct mm_struct *mm, unsigned long flags, long npages)
{
	WRITE_ONCE(mm->total_vm, READ_ONCE(mm->total_vm) + npages);
	if (flags & VM_LOCKED)
		WRITE_ONCE(mm->locked_vm, READ_ONCE(mm->locked_vm) + npages);
}

/* ---- the rmap trees' view of a VMA: its pgoff range ---- */

static unsigned long vma_last_pgoff(const struct vm_area_struct *vma)
{
	return vma->vm_pgoff + vma_pages(vma) - 1;
}

/* A VMA's node in its file's i_mmap; i_mmap_rwsem held for write. */
static void __vma_link_file(struct vm_area_struct *vma, struct address_space *mapping)
{
	/* Rule 5: i_mmap changes under i_mmap_rwsem for write; walkers hold it for read. */
	lockdep_assert_held_write(&mapping->i_mmap_rwsem);
	vma->shared.start = vma->vm_pgoff;
	vma->shared.last = vma_last_pgoff(vma);
	interval_tree_insert(&vma->shared, &mapping->i_mmap);
}

static void __vma_unlink_file(struct vm_area_struct *vma, struct address_space *mapping)
{
	lockdep_assert_held_write(&mapping->i_mmap_rwsem);
	interval_tree_remove(&vma->shared, &mapping->i_mmap);
}

/*
 * Each anon_vma_chain of a VMA sits in its anon_vma's tree under the VMA's
 * pgoff range; when the range changes the chains leave and re-enter, under
 * the root's rwsem (every anon_vma on one VMA's chain shares the root).
 */
static void anon_vma_interval_tree_pre_update_vma(struct vm_area_struct *vma)
{
	struct anon_vma_chain *avc;

	list_for_each_entry(avc, &vma->anon_vma_chain, same_vma) {
		/*
		 * Rule 7: the root's rwsem, not this anon_vma's own (which
		 * locks nothing), or a walker of the tree under the root
		 * sees the chain half-moved.
		 */
		lockdep_assert_held_write(&avc->anon_vma->root->rwsem);
		interval_tree_remove(&avc->rb, &avc->anon_vma->rb_root);
	}
}

static void anon_vma_interval_tree_post_update_vma(struct vm_area_struct *vma)
{
	struct anon_vma_chain *avc;

	list_for_each_entry(avc, &vma->anon_vma_chain, same_vma) {
		avc->rb.start = vma->vm_pgoff;
		avc->rb.last = vma_last_pgoff(vma);
		lockdep_assert_held_write(&avc->anon_vma->root->rwsem);
		interval_tree_insert(&avc->rb, &avc->anon_vma->rb_root);
	}
}

/*
 * Changing a VMA's bounds (split, merge, mremap growth), after the kernel's
 * struct vma_prepare.  Reverse-map walkers find VMAs by pgoff range in
 * i_mmap and in the anon_vma trees without mmap_lock, so the change is made
 * with the VMA out of both trees and their locks held (i_mmap_rwsem, then
 * the anon_vma root's rwsem, the order of mm_types.h): a walker sees the
 * VMA either before or after, never half-changed.  A VMA split off
 * (@insert) enters i_mmap, and a VMA swallowed by a merge (@remove) leaves
 * it, inside the same critical section, so no page of the range is ever in
 * no VMA that a walker can find.
 */
struct vma_prepare {
	struct vm_area_struct *vma;    /* whose bounds change */
	struct vm_area_struct *insert; /* split: the new part, entering i_mmap */
	struct vm_area_struct *remove; /* merge: the swallowed VMA, leaving i_mmap */
	struct address_space *mapping;
	struct anon_vma *anon_vma;
};

static void init_vma_prep(struct vma_prepare *vp, struct vm_area_struct *vma)
{
	memset(vp, 0, sizeof(*vp));
	vp->vma = vma;
	vp->anon_vma = vma->anon_vma;
	if (vma->vm_file)
		vp->mapping = vma->vm_file->f_mapping;
}

static void vma_prepare(struct vma_prepare *vp)
{
	if (vp->mapping) {
		i_mmap_lock_write(vp->mapping);
		__vma_unlink_file(vp->vma, vp->mapping);
	}
	if (vp->anon_vma) {
		anon_vma_lock_write(vp->anon_vma);
		anon_vma_interval_tree_pre_update_vma(vp->vma);
	}
	vma_tree_remove_vma(vp->vma);
}

static void vma_complete(struct vma_prepare *vp)
{
	vma_tree_insert_vma(vp->vma);
	if (vp->anon_vma) {
		anon_vma_interval_tree_post_update_vma(vp->vma);
		anon_vma_unlock_write(vp->anon_vma);
	}
	if (vp->mapping) {
		__vma_link_file(vp->vma, vp->mapping);
		if (vp->insert)
			__vma_link_file(vp->insert, vp->mapping);
		if (vp->remove)
			__vma_unlink_file(vp->remove, vp->mapping);
		i_mmap_unlock_write(vp->mapping);
	}
}

/* Move @vma to [start, end) at @pgoff under the rmap locks. */
static void vma_set_range(struct vm_area_struct *vma, unsigned long start, unsigned long end,
			  unsigned long pgoff)
{
	vma->vm_start = start;
	vma->vm_end = end;
	vma->vm_pgoff = pgoff;
}

/* ---- linking ---- */

/*
 * Put a new VMA into the mm's tree and, for a file mapping, into the file's
 * i_mmap.  An anonymous VMA joins rmap lazily: anon_vma_prepare() at its
 * first anonymous fault.
 */
void vma_link(struct mm_struct *mm, struct vm_area_struct *vma)
{
	mmap_assert_write_locked(mm);
	if (vma->vm_file)
		vma_link_file(vma);
	vma_tree_insert_vma(vma);
	mm->map_count++;
}

/* ---- splitting ---- */

/*
 * Split @vma at @addr into two VMAs.  With @new_below the new VMA is the
 * part below @addr and @vma keeps the rest; otherwise the new VMA is the
 * part from @addr up.  The new part shares @vma's file (one more reference)
 * and anon_vmas (anon_vma_clone), so the pages already mapped in it stay
 * reachable from rmap.
 */
static int __split_vma(struct vm_area_struct *vma, unsigned long addr, int new_below)
{
	struct mm_struct *mm = vma->vm_mm;
	struct vm_area_struct *new;
	struct vma_prepare vp;
	unsigned long delta;
	int err;

	mmap_assert_write_locked(mm);
	if (addr <= vma->vm_start || addr >= vma->vm_end || offset_in_page(addr))
		return -EINVAL;

	new = vm_area_dup(vma);
	if (!new)
		return -ENOMEM;
	delta = (addr - vma->vm_start) >> PAGE_SHIFT;
	if (new_below) {
		new->vm_end = addr;
	} else {
		new->vm_start = addr;
		new->vm_pgoff += delta;
	}

	/* Chains for the new part, in the anon_vma trees under its own range. */
	err = anon_vma_clone(new, vma);
	if (err) {
		vm_area_free(new);
		return err;
	}
	if (new->vm_file)
		get_file(new->vm_file);

	init_vma_prep(&vp, vma);
	vp.insert = new;
	vma_prepare(&vp);
	if (new_below)
		vma_set_range(vma, addr, vma->vm_end, vma->vm_pgoff + delta);
	else
		vma_set_range(vma, vma->vm_start, addr, vma->vm_pgoff);
	vma_complete(&vp);

	vma_tree_insert_vma(new);
	mm->map_count++;
	return 0;
}

int split_vma(struct vm_area_struct *vma, unsigned long addr, int new_below)
{
	if (vma->vm_mm->map_count >= sysctl_max_map_count)
		return -ENOMEM;
	return __split_vma(vma, addr, new_below);
}

/* ---- merging ---- */

/*
 * May @prev take over @next's anon_vma state?  Equal anon_vmas (or none in
 * @next) trivially; if only @next has one, @prev adopts it, which the
 * kernel allows only when @next's chain is a single link: a VMA that was
 * forked carries its parents' anon_vmas too, and merging it would spread
 * them (and the cost of rmap walks) over a larger range.
 */
static bool is_mergeable_anon_vma(struct vm_area_struct *prev, struct vm_area_struct *next)
{
	if (prev->anon_vma == next->anon_vma || !next->anon_vma)
		return true;
	if (!prev->anon_vma)
		return list_is_singular(&next->anon_vma_chain);
	return false;
}

/* Can two adjacent VMAs be one: same flags, same file, contiguous offsets? */
static bool can_vma_merge(struct vm_area_struct *prev, struct vm_area_struct *next)
{
	if (prev->vm_end != next->vm_start)
		return false;
	if (prev->vm_flags != next->vm_flags || prev->vm_file != next->vm_file)
		return false;
	if (prev->vm_pgoff + vma_pages(prev) != next->vm_pgoff)
		return false;
	return is_mergeable_anon_vma(prev, next);
}

/*
 * @vma grows over @next, which goes away.  @next's page tables and pages
 * stay where they are: the addresses, offsets and anon_vma do not change,
 * only which VMA covers them.  Returns 0, or -ENOMEM if @vma could not
 * adopt @next's anon_vma (the two are then simply left apart).
 */
static int vma_merge_next(struct vm_area_struct *vma, struct vm_area_struct *next)
{
	struct vma_prepare vp;

	if (next->anon_vma && !vma->anon_vma) {
		/* The kernel's dup_anon_vma(). */
		vma->anon_vma = next->anon_vma;
		if (anon_vma_clone(vma, next)) {
			vma->anon_vma = NULL;
			return -ENOMEM;
		}
	}

	vma_tree_remove_vma(next);
	init_vma_prep(&vp, vma);
	vp.remove = next;
	vma_prepare(&vp);
	vma_set_range(vma, vma->vm_start, next->vm_end, vma->vm_pgoff);
	vma_complete(&vp);
	vma->vm_mm->map_count--;

	/* Out of every tree: drop its chains and its file reference. */
	unlink_anon_vmas(next);
	remove_vma(next);
	return 0;
}

/*
 * Merge @vma with whichever neighbours now match it, and return the VMA
 * that covers @vma's range afterwards.  The kernel's vma_merge() works out
 * the merged shape before touching anything, through eight cases, and so
 * never splits what it then merges; here a change is applied first (split,
 * new flags) and merged after.  The VMAs come out the same; the price is a
 * transient split, which at the map_count limit fails with -ENOMEM where
 * the kernel would have merged.
 */
struct vm_area_struct *vma_merge_neighbours(struct vm_area_struct *vma)
{
	struct vm_area_struct *prev = vma_prev(vma);
	struct vm_area_struct *next;

	/* Prev first, as vma_merge() prefers it when prev and next cannot both join. */
	if (prev && can_vma_merge(prev, vma) && !vma_merge_next(prev, vma))
		vma = prev;
	next = vma_next(vma);
	if (next && can_vma_merge(vma, next))
		vma_merge_next(vma, next);
	return vma;
}

/*
 * Give [start, end) of @vma the flags @new_flags: split it off @vma where it
 * does not cover the whole VMA, set the flags, and merge with neighbours
 * that now match.  Returns the VMA covering [start, end) (maybe merged into
 * a larger one) or ERR_PTR(-ENOMEM).  What the flags mean for the page
 * tables (mprotect, mlock) is the caller's to apply afterwards.
 */
struct vm_area_struct *vma_modify_flags(struct vm_area_struct *vma, unsigned long start,
					unsigned long end, unsigned long new_flags)
{
	int err;

	mmap_assert_write_locked(vma->vm_mm);
	if (vma->vm_start < start) {
		err = split_vma(vma, start, 1);
		if (err)
			return ERR_PTR(err);
	}
	if (vma->vm_end > end) {
		err = split_vma(vma, end, 0);
		if (err)
			return ERR_PTR(err);
	}
	/* Rmap walkers read vm_flags without mmap_lock (VM_LOCKED): one untorn store. */
	WRITE_ONCE(vma->vm_flags, new_flags);
	return vma_merge_neighbours(vma);
}

/*
 * Call @fixup on each VMA's part of [start, end), in address order: the
 * walk of mprotect and mlock.  A hole ends it with -ENOMEM, and @fixup's
 * first error ends it with that, leaving the VMAs before changed, as in
 * the kernel.  A fixup may split or merge, so each next VMA is looked up
 * afresh; a merge may have made one VMA of this and the next, which then
 * starts below where the walk is: not a hole.  mmap_lock held for write.
 */
int apply_vma_range(struct mm_struct *mm, unsigned long start, unsigned long end,
		    vma_range_fixup_t fixup, unsigned long arg)
{
	struct vm_area_struct *vma;
	unsigned long tmp;
	int error;

	mmap_assert_write_locked(mm);
	for (;;) {
		vma = find_vma(mm, start);
		if (!vma || vma->vm_start > start)
			return -ENOMEM;
		tmp = min(vma->vm_end, end);
		error = fixup(vma, start, tmp, arg);
		if (error || tmp >= end)
			return error;
		start = tmp;
	}
}

/*
 * mremap growing in place: extend @vma by @delta bytes into the free space
 * above it (the caller checked it is free) and merge with the next VMA if
 * they now touch and match.
 */
struct vm_area_struct *vma_merge_extend(struct vm_area_struct *vma, unsigned long delta)
{
	struct vma_prepare vp;

	mmap_assert_write_locked(vma->vm_mm);
	init_vma_prep(&vp, vma);
	vma_prepare(&vp);
	vma_set_range(vma, vma->vm_start, vma->vm_end + delta, vma->vm_pgoff);
	vma_complete(&vp);
	return vma_merge_neighbours(vma);
}

/*
 * mremap moving a mapping: a VMA at [addr, addr + len) with @vma's flags,
 * file and anon_vmas, whose offsets continue @vma's from @pgoff, so that
 * every page moved there keeps its index (linear_page_index) and stays
 * reachable through the same anon_vma.  Returns NULL on -ENOMEM.
 */
struct vm_area_struct *copy_vma(struct vm_area_struct *vma, unsigned long addr, unsigned long len,
				unsigned long pgoff)
{
	struct mm_struct *mm = vma->vm_mm;
	struct vm_area_struct *new;

	mmap_assert_write_locked(mm);
	if (mm->map_count >= sysctl_max_map_count)
		return NULL;
	new = vm_area_dup(vma);
	if (!new)
		return NULL;
	new->vm_start = addr;
	new->vm_end = addr + len;
	new->vm_pgoff = pgoff;
	if (anon_vma_clone(new, vma)) {
		vm_area_free(new);
		return NULL;
	}
	if (new->vm_file)
		get_file(new->vm_file);
	vma_link(mm, new);
	return new;
}

/* ---- finding room ---- */

/* The lowest gap of @len bytes within [low, high), or -ENOMEM. */
static unsigned long unmapped_area(struct mm_struct *mm, unsigned long low, unsigned long high,
				   unsigned long len)
{
	unsigned long gap_start = low;
	struct vm_area_struct *vma;

	for_each_vma_range(mm, vma, low, high) {
		if (vma->vm_start >= gap_start && vma->vm_start - gap_start >= len)
			return gap_start;
		gap_start = max(gap_start, vma->vm_end);
	}
	if (gap_start <= high && high - gap_start >= len)
		return gap_start;
	return -ENOMEM;
}

/*
 * Where a mapping of @len bytes goes: at @addr if MAP_FIXED (the caller
 * unmaps what is there) or if the hint is free; else the lowest gap at or
 * above TASK_UNMAPPED_BASE, else the lowest below it.  The kernel searches
 * top-down from mmap_base with gap sizes cached in the tree; a walk of the
 * VMAs in address order is enough for the model's address spaces.
 */
unsigned long get_unmapped_area(struct mm_struct *mm, unsigned long addr, unsigned long len,
				unsigned long pgoff, unsigned long flags)
{
	if (len > TASK_SIZE - FIRST_USER_ADDRESS)
		return -ENOMEM;
	if (flags & MAP_FIXED) {
		if (offset_in_page(addr))
			return -EINVAL;
		if (addr > TASK_SIZE - len)
			return -ENOMEM;
		if (addr < FIRST_USER_ADDRESS)
			return -EPERM; /* the kernel's mmap_min_addr */
		return addr;
	}
	if (addr) {
		addr = PAGE_ALIGN(addr);
		if (addr >= FIRST_USER_ADDRESS && addr <= TASK_SIZE - len &&
		    !find_vma_intersection(mm, addr, addr + len))
			return addr;
	}
	addr = unmapped_area(mm, TASK_UNMAPPED_BASE, TASK_SIZE, len);
	if (IS_ERR_VALUE(addr))
		addr = unmapped_area(mm, FIRST_USER_ADDRESS, TASK_UNMAPPED_BASE, len);
	return addr;
}

/* ---- mmap ---- */

/*
 * The open mode of a file: the model's struct file has no f_mode, so a real
 * file's is read from its descriptor; shmem files are always read-write.
 */
static int file_accmode(struct file *file)
{
	int fd = file->f_mapping->fd;
	int fl;

	if (fd < 0)
		return O_RDWR;
	fl = fcntl(fd, F_GETFL);
	return fl < 0 ? O_RDONLY : (fl & O_ACCMODE);
}

#define MAP_SUPPORTED                                                                              \
	(MAP_SHARED | MAP_PRIVATE | MAP_SHARED_VALIDATE | MAP_ANONYMOUS | MAP_FIXED |              \
	 MAP_FIXED_NOREPLACE | MAP_POPULATE | MAP_LOCKED | MAP_NORESERVE)

/* The VM_* flags of a new mapping, or a negative errno. */
static long mmap_vm_flags(struct file *file, unsigned long prot, unsigned long flags)
{
	unsigned long vm_flags = calc_vm_prot_bits(prot) | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
	int accmode = file ? file_accmode(file) : O_RDWR;

	if (flags & MAP_LOCKED)
		vm_flags |= VM_LOCKED;
	if (accmode == O_WRONLY)
		return -EACCES; /* every mapping can be read */

	switch (flags & MAP_TYPE) {
	case MAP_SHARED:
	case MAP_SHARED_VALIDATE:
		vm_flags |= VM_SHARED | VM_MAYSHARE;
		if (accmode == O_RDONLY) {
			if (prot & PROT_WRITE)
				return -EACCES;
			/* It can never be made writable: mprotect says -EACCES. */
			vm_flags &= ~(VM_MAYWRITE | VM_SHARED);
		}
		break;
	case MAP_PRIVATE:
		break;
	default:
		return -EINVAL;
	}
	return vm_flags;
}

/*
 * Create the VMA for [addr, addr + len), replacing whatever MAP_FIXED lands
 * on, and merge it with its neighbours when they match.
 */
static unsigned long mmap_region(struct mm_struct *mm, struct file *file, unsigned long addr,
				 unsigned long len, unsigned long vm_flags, unsigned long pgoff)
{
	struct vm_area_struct *vma;
	int err;

	err = do_munmap(mm, addr, len);
	if (err)
		return err;
	if (mm->map_count >= sysctl_max_map_count)
		return -ENOMEM;

	vma = vm_area_alloc(mm);
	if (!vma)
		return -ENOMEM;
	vma->vm_start = addr;
	vma->vm_end = addr + len;
	vma->vm_flags = vm_flags;
	vma->vm_pgoff = pgoff;
	if (file) {
		vma->vm_file = get_file(file);
	} else if (vm_flags & VM_SHARED) {
		/* MAP_SHARED|MAP_ANONYMOUS: the kernel's shmem_zero_setup(). */
		file = shmem_file_setup(mm->pool, "dev/zero", len);
		if (IS_ERR(file)) {
			vm_area_free(vma);
			return PTR_ERR(file);
		}
		vma->vm_file = file;
	}

	vma_link(mm, vma);
	vm_stat_account(mm, vm_flags, len >> PAGE_SHIFT);
	vma_merge_neighbours(vma);
	return addr;
}

/*
 * Map @len bytes of @file from page @pgoff (or anonymous memory) with
 * @prot.  mmap_lock is held for write.  MAP_POPULATE and MAP_LOCKED
 * mappings are faulted in by the caller after the lock is dropped, as the
 * kernel's do_mmap() leaves it to vm_mmap(): faulting needs only the read
 * lock.
 */
unsigned long do_mmap(struct mm_struct *mm, unsigned long addr, unsigned long len,
		      unsigned long prot, unsigned long flags, struct file *file,
		      unsigned long pgoff)
{
	long vm_flags;

	mmap_assert_write_locked(mm);
	if (!len)
		return -EINVAL;
	if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC))
		return -EINVAL;
	if (flags & ~MAP_SUPPORTED)
		return -EINVAL;
	/* The kernel ignores the fd of MAP_ANONYMOUS, and says -EBADF for a missing one. */
	if (!!file == !!(flags & MAP_ANONYMOUS))
		return -EINVAL;
	len = PAGE_ALIGN(len);
	if (!len || len > TASK_SIZE)
		return -ENOMEM;
	if (pgoff + (len >> PAGE_SHIFT) < pgoff)
		return -EOVERFLOW;
	if (flags & MAP_FIXED_NOREPLACE)
		flags |= MAP_FIXED;

	vm_flags = mmap_vm_flags(file, prot, flags);
	if (vm_flags < 0)
		return vm_flags;

	addr = get_unmapped_area(mm, addr, len, pgoff, flags);
	if (IS_ERR_VALUE(addr))
		return addr;
	if ((flags & MAP_FIXED_NOREPLACE) && find_vma_intersection(mm, addr, addr + len))
		return -EEXIST;

	if (!file) {
		/* Anonymous memory: shmem starts at offset 0, private at its own address. */
		pgoff = (vm_flags & VM_SHARED) ? 0 : addr >> PAGE_SHIFT;
	}
	return mmap_region(mm, file, addr, len, vm_flags, pgoff);
}

unsigned long vm_mmap(struct mm_struct *mm, unsigned long addr, unsigned long len,
		      unsigned long prot, unsigned long flags, struct file *file,
		      unsigned long offset)
{
	unsigned long ret;

	if (offset_in_page(offset))
		return -EINVAL;
	mmap_write_lock(mm);
	ret = do_mmap(mm, addr, len, prot, flags, file, offset >> PAGE_SHIFT);
	mmap_write_unlock(mm);
	if (!IS_ERR_VALUE(ret) && (flags & (MAP_POPULATE | MAP_LOCKED)))
		mm_populate(mm, ret, PAGE_ALIGN(len));
	return ret;
}

/* ---- munmap ---- */

/*
 * Unmap [start, end) of the VMAs from @vma on, which are still in the tree
 * between @prev and @next.  In the kernel's order: the zap is bracketed by
 * invalidate_range_start/end inside unmap_vmas() and its atomic section
 * opens after start returned (rule 1, invalidate before free; rule 6,
 * notifier outside atomic sections); free_pgtables() unlinks each VMA from
 * rmap before it frees the VMA's page tables (rule 5, unlink before
 * freeing page tables), keeping those shared with @prev and @next; the
 * pages and tables gathered are freed only at tlb_finish_mmu().
 */
static void unmap_region(struct mm_struct *mm, struct vm_area_struct *vma,
			 struct vm_area_struct *prev, struct vm_area_struct *next,
			 unsigned long start, unsigned long end)
{
	unsigned long floor = prev ? prev->vm_end : FIRST_USER_ADDRESS;
	unsigned long ceiling = next ? next->vm_start : USER_PGTABLES_CEILING;
	struct mmu_gather tlb;

	tlb_gather_mmu(&tlb, mm);
	unmap_vmas(&tlb, vma, start, end);
	if (unlikely(legacy_on(mm->legacy, LEGACY_FREE_PGTABLES_BEFORE_UNLINK))) {
		legacy_free_pgtables_before_unlink(&tlb, vma, floor, ceiling);
		return;
	}
	free_pgtables(&tlb, vma, floor, ceiling);
	tlb_finish_mmu(&tlb);
}

/*
 * Unmap [start, start + len): split the VMAs at the ends so that whole VMAs
 * cover exactly the range, unmap their pages and page tables, and free the
 * VMAs.  mmap_lock is held for write.  Nothing mapped there is not an error.
 */
int do_munmap(struct mm_struct *mm, unsigned long start, size_t len)
{
	struct vm_area_struct *vma, *prev, *next, *last;
	unsigned long end;
	int err;

	mmap_assert_write_locked(mm);
	if (offset_in_page(start) || start > TASK_SIZE || len > TASK_SIZE - start)
		return -EINVAL;
	len = PAGE_ALIGN(len);
	if (!len)
		return -EINVAL;
	end = start + len;

	vma = find_vma_intersection(mm, start, end);
	if (!vma)
		return 0;

	/*
	 * Punching a hole in one VMA leaves one more VMA than before: refuse
	 * that past the limit, before touching anything.  Otherwise the count
	 * may go one above the limit between the two splits, as the kernel
	 * lets it, since the unmap then brings it down.
	 */
	if (start > vma->vm_start) {
		if (end < vma->vm_end && mm->map_count >= sysctl_max_map_count)
			return -ENOMEM;
		err = __split_vma(vma, start, 0);
		if (err)
			return err;
		vma = vma_next(vma);
	}
	last = find_vma_intersection(mm, end - 1, end);
	if (last && last->vm_end > end) {
		err = __split_vma(last, end, 1);
		if (err)
			return err;
		/* The lower part, now its own VMA, may have been the first. */
		vma = find_vma(mm, start);
	}

	prev = vma_prev(vma);
	next = find_vma(mm, end);
	for (last = vma; last && last->vm_start < end; last = vma_next(last))
		vm_stat_account(mm, last->vm_flags, -(long)vma_pages(last));

	unmap_region(mm, vma, prev, next, start, end);

	/* Unlinked from rmap by free_pgtables(); now from the mm, and freed. */
	while (vma != next) {
		last = vma_next(vma);
		vma_tree_remove_vma(vma);
		mm->map_count--;
		remove_vma(vma);
		vma = last;
	}
	return 0;
}

int vm_munmap(struct mm_struct *mm, unsigned long start, size_t len)
{
	int ret;

	mmap_write_lock(mm);
	ret = do_munmap(mm, start, len);
	mmap_write_unlock(mm);
	return ret;
}

/* ---- exit ---- */

/*
 * Tear down every mapping of an mm nobody uses any more (the last mmput).
 * The modern kernel's order: secondary MMUs are told first, with release,
 * so that they drop every translation of the mm before a single PTE goes;
 * then one zap of the whole space, each VMA's unlink from rmap before its
 * page tables are freed, and the pages freed at the end of the gather.
 */
void exit_mmap(struct mm_struct *mm)
{
	struct vm_area_struct *vma, *next;
	struct mmu_gather tlb;

	mmu_notifier_release(mm);

	/*
	 * The kernel holds the read lock across the zap so that the OOM
	 * reaper may run beside it; nothing here reaps, so one write hold.
	 */
	mmap_write_lock(mm);
	vma = find_vma(mm, 0);
	if (vma) {
		tlb_gather_mmu_fullmm(&tlb, mm);
		unmap_vmas(&tlb, vma, 0, ULONG_MAX);
		free_pgtables(&tlb, vma, FIRST_USER_ADDRESS, USER_PGTABLES_CEILING);
		tlb_finish_mmu(&tlb);
	}
	for (; vma; vma = next) {
		next = vma_next(vma);
		vma_tree_remove_vma(vma);
		vm_stat_account(mm, vma->vm_flags, -(long)vma_pages(vma));
		mm->map_count--;
		remove_vma(vma);
	}
	WARN_ON(mm->map_count);
	mmap_write_unlock(mm);
}
