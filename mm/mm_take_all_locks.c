// SPDX-License-Identifier: GPL-2.0
/*
 * mm_take_all_locks(): hold every rmap lock an address space's pages can be
 * reached through, after the kernel's mm/vma.c (mm/mmap.c before v6.12).
 *
 * A path that changes a PTE of an mm holds mmap_lock (faults, munmap,
 * mprotect, madvise) or reaches the page through the reverse map and holds
 * its file's i_mmap_rwsem or its anon_vma root's rwsem (truncation,
 * reclaim, migration, writeback's page_mkclean).  With mmap_lock held for
 * write and all of those taken, none of them is anywhere between its
 * mmu_notifier_invalidate_range_start() and _end() on this mm: a notifier
 * registered under them cannot see an end without its start (rule 4,
 * register under all locks).
 */
#include <errno.h>

#include "base/bug.h"
#include "base/current.h"
#include "base/mutex.h"
#include "base/sched_point.h"
#include "mm/internal.h"

/*
 * Serialises every mm_take_all_locks() of every mm: the marks below are in
 * objects (a file's mapping, an anon_vma tree) that VMAs of several mms may
 * share, so two takers at once could not tell whose mark they see.  Global
 * because the kernel's is.
 */
static DEFINE_MUTEX(mm_all_locks_mutex);

/*
 * One anon_vma tree: the root's rwsem locks it, and the root's mark says
 * this taker already holds it.  The mark is a plain bool, set only with the
 * rwsem held for write and mm_all_locks_mutex held, which is what keeps
 * anyone else from writing it.
 */
static void vm_lock_anon_vma(struct mm_struct *mm, struct anon_vma *anon_vma)
{
	struct anon_vma *root = anon_vma->root;

	if (READ_ONCE(root->all_locks_mark))
		return;
	/*
	 * Thousands of rwsems of one class at once: the nest annotation
	 * says mmap_lock orders them, so lockdep keeps one held entry and
	 * does not call the second a recursive acquisition.
	 */
	down_write_nest_lock(&root->rwsem, &mm->mmap_lock);
	WRITE_ONCE(root->all_locks_mark, true);
}

/*
 * One file: its i_mmap_rwsem, marked by AS_MM_ALL_LOCKS in the mapping's
 * flags.  Other bits of ->flags change under other locks, hence the atomic
 * bit operation; the mark is set before the lock is taken, which is safe
 * because only a holder of mm_all_locks_mutex looks at it.
 */
static void vm_lock_mapping(struct mm_struct *mm, struct address_space *mapping)
{
	if (test_and_set_bit(AS_MM_ALL_LOCKS, &mapping->flags))
		return;
	down_write_nest_lock(&mapping->i_mmap_rwsem, &mm->mmap_lock);
}

static void vm_unlock_anon_vma(struct anon_vma *anon_vma)
{
	struct anon_vma *root = anon_vma->root;

	if (!READ_ONCE(root->all_locks_mark))
		return;
	/*
	 * Cleared while still holding the rwsem: the next holder of the
	 * rwsem, whoever it is, finds the mark as it was before we came.
	 */
	WRITE_ONCE(root->all_locks_mark, false);
	anon_vma_unlock_write(anon_vma);
}

static void vm_unlock_mapping(struct address_space *mapping)
{
	if (!test_bit(AS_MM_ALL_LOCKS, &mapping->flags))
		return;
	/*
	 * Nobody but a holder of mm_all_locks_mutex sets the bit, so it
	 * cannot go away under us between the test and here.
	 */
	i_mmap_unlock_write(mapping);
	if (!test_and_clear_bit(AS_MM_ALL_LOCKS, &mapping->flags))
		BUG();
}

/*
 * Entering a leaf of VMAs, start loading each one's first anon_vma_chain:
 * the iterator prefetched these VMAs a leaf ago, so their chain pointers
 * are there to read, and the chains, allocated apart from the VMAs, are a
 * walk's other miss a VMA.  Started together, the misses overlap instead of
 * each stalling its VMA's turn.
 */
static void prefetch_anon_chains(const struct vma_iterator *vmi)
{
	const struct vma_leaf *leaf = vma_iter_entered_leaf(vmi);

	for (unsigned int i = 0; leaf && i < leaf->nr; i++)
		if (leaf->slots[i]->anon_vma)
			__builtin_prefetch(READ_ONCE(leaf->slots[i]->anon_vma_chain.next));
}

static bool all_locks_interrupted(void)
{
	return signal_pending(current);
}

/*
 * Take, for writing, every i_mmap_rwsem of every file mapped in @mm and
 * every anon_vma root rwsem of every anon_vma on its VMAs' chains, each
 * once however many VMAs share it.  The caller holds mmap_lock for write
 * and keeps it until mm_drop_all_locks() has returned; nothing may be
 * allocated in between (reclaim could need one of these locks).
 *
 * Order: files first, then anon_vmas, as the rmap order (i_mmap_rwsem
 * above anon_vma->rwsem) requires; the kernel takes hugetlbfs mappings in
 * a pass of their own before the rest, for the hugetlb VMA lock, which
 * this model does not have.
 *
 * The marks.  A lock reached twice through two VMAs must not be taken
 * twice (it would deadlock against ourselves), and a set of locks already
 * taken would cost an allocation under them.  So the object carries the
 * mark: AS_MM_ALL_LOCKS in the mapping's flags, all_locks_mark in the
 * anon_vma root (the kernel steals bit 0 of the root's rb_root node
 * pointer instead, to keep struct anon_vma small).  A mark means "the one
 * running mm_take_all_locks() holds this", and there is one running at a
 * time, system-wide, because mm_all_locks_mutex says so: a VMA of another
 * mm may share the file or the anon_vma tree, and without the mutex its
 * taker would read our mark as its own and skip a lock it does not hold.
 *
 * The mapping's mark is set with an atomic bit operation before taking the
 * rwsem, because other flags of the word change under other locks.  The
 * anon_vma's is written only with the root's rwsem held for write (and the
 * mutex), so nobody else can be writing it; in the kernel that same rule
 * is what lets a non-atomic bit operation into a pointer every rb-tree
 * user reads, and the bit is cleared before the rwsem is dropped so that
 * those users never see it.  Here too each mark is cleared while its lock
 * is still ours (the anon_vma's) or before anyone else can test it (the
 * mapping's, under the mutex), so a mark never outlives the hold.
 *
 * Interruptible: before each VMA a pending interrupt (signal_pending())
 * drops what was taken and returns -EINTR, holding nothing.
 *
 * Expensive, as the kernel warns, but linear: two walks over the VMAs
 * here and one in mm_drop_all_locks(), each lock taken once however many
 * VMAs share it, so most of a walk is mark tests.  What a walk pays a VMA
 * is reaching its first cache line (which holds vm_file and the chain
 * head, see struct vm_area_struct) and its first anon_vma_chain: a few ns
 * while the mm fits in L2, a memory latency each at 100k VMAs if taken one
 * after the other.  So the walks do not take them one after the other: the
 * iterator reads VMA pointers from the index's leaves and prefetches a
 * leaf ahead (the kernel's maple tree nodes give it the same), and the
 * anon_vma passes prefetch a leaf's chains as they enter it, so the misses
 * of some sixteen VMAs are in flight together.
 *
 * Returns 0 with everything held, or -EINTR.
 */
int mm_take_all_locks(struct mm_struct *mm)
{
	struct vm_area_struct *vma;
	struct anon_vma_chain *avc;
	struct vma_iterator vmi;

	mmap_assert_write_locked(mm);

	mutex_lock(&mm_all_locks_mutex);

	for_each_vma(mm, vma) {
		if (all_locks_interrupted())
			goto out_unlock;
		if (vma->vm_file && vma->vm_file->f_mapping)
			vm_lock_mapping(mm, vma->vm_file->f_mapping);
	}

	sched_point("mm_take_all_locks:files_locked");
	vmi = vma_iter_init(mm);
	while ((vma = vma_iter_next(&vmi))) {
		prefetch_anon_chains(&vmi);
		if (all_locks_interrupted())
			goto out_unlock;
		if (vma->anon_vma)
			list_for_each_entry(avc, &vma->anon_vma_chain, same_vma)
				vm_lock_anon_vma(mm, avc->anon_vma);
	}

	return 0;

out_unlock:
	mm_drop_all_locks(mm);
	return -EINTR;
}

/*
 * Drop what mm_take_all_locks() took (or, on its error path, what it had
 * taken so far: the marks say which).  mmap_lock still held for write.
 */
void mm_drop_all_locks(struct mm_struct *mm)
{
	VMA_ITERATOR(vmi, mm);
	struct vm_area_struct *vma;
	struct anon_vma_chain *avc;

	mmap_assert_write_locked(mm);
	lockdep_assert_held(&mm_all_locks_mutex);

	while ((vma = vma_iter_next(&vmi))) {
		prefetch_anon_chains(&vmi);
		if (vma->anon_vma)
			list_for_each_entry(avc, &vma->anon_vma_chain, same_vma)
				vm_unlock_anon_vma(avc->anon_vma);
		if (vma->vm_file && vma->vm_file->f_mapping)
			vm_unlock_mapping(vma->vm_file->f_mapping);
	}

	mutex_unlock(&mm_all_locks_mutex);
}
