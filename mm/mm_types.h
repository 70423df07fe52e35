/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The structures of a host address space: mm_struct, vm_area_struct,
 * anon_vma and its chains, file and address_space.  Fields keep the kernel's
 * names; where the model departs from the kernel, a comment says so.
 *
 * Lock order, outermost first, as the header of the kernel's mm/rmap.c has it:
 *   mmap_lock
 *     mm_all_locks_mutex            (only inside mm_take_all_locks)
 *       page lock                   (reclaim, truncation and migration lock the
 *                                    page, then walk its rmap)
 *         mapping->i_mmap_rwsem
 *           anon_vma->root->rwsem
 *             mm->page_table_lock, then a PTE page's split lock
 *               the secondary MMU's mmu_lock (clear_flush_young runs under
 *                                             the PTE lock)
 * docs/design.md, "The lock hierarchy, as the code takes it", has the whole
 * order, the secondary MMU's locks included.
 */
#ifndef NOPIN_MM_MM_TYPES_H
#define NOPIN_MM_MM_TYPES_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <bsd/sys/tree.h>

#include "base/atomic.h"
#include "base/interval_tree.h"
#include "base/list.h"
#include "base/rwsem.h"
#include "base/spinlock.h"
#include "mm/page.h"

struct frame_pool;
struct mmu_notifier_subscriptions;
struct swap_info_struct;

/* PAGE_SHIFT, PAGE_SIZE and PAGE_MASK come from mm/page.h. */
#define PAGE_ALIGN(x) ALIGN((unsigned long)(x), PAGE_SIZE)
#define offset_in_page(p) ((unsigned long)(p) & ~PAGE_MASK)

/* 48-bit user address space; the model maps nothing below 64 KiB. */
#define TASK_SIZE (1UL << 47)
#define FIRST_USER_ADDRESS 0x10000UL
#define TASK_UNMAPPED_BASE (1UL << 40) /* where unhinted mmaps go */

/* vm_flags: the kernel's values. */
#define VM_NONE 0x00000000UL
#define VM_READ 0x00000001UL
#define VM_WRITE 0x00000002UL
#define VM_EXEC 0x00000004UL
#define VM_SHARED 0x00000008UL
#define VM_MAYREAD 0x00000010UL
#define VM_MAYWRITE 0x00000020UL
#define VM_MAYEXEC 0x00000040UL
#define VM_MAYSHARE 0x00000080UL
#define VM_LOCKED 0x00002000UL
#define VM_DONTCOPY 0x00020000UL /* MADV_DONTFORK */
#define VM_LOCKONFAULT 0x00080000UL
#define VM_ACCESS_FLAGS (VM_READ | VM_WRITE | VM_EXEC)

/*
 * A file as the model knows it: the open-file object and its inode folded
 * together (the kernel keeps them apart; nothing here needs two opens of one
 * inode to differ).  Regular files are backed by a real file on disk read and
 * written with pread/pwrite; shmem files (MAP_SHARED|MAP_ANONYMOUS) have no
 * backing file and their pages are swap-backed.
 */
struct address_space {
	struct file *host;
	/* VMAs mapping this file, by pgoff range; under i_mmap_rwsem. */
	struct rw_semaphore i_mmap_rwsem;
	struct interval_tree_root i_mmap;
	/*
	 * The page cache: pages by index, under i_pages_lock.  A red-black tree
	 * of small entries (mm/filemap.c) where the kernel has an xarray.
	 */
	spinlock_t i_pages_lock;
	RB_HEAD(page_cache_tree, page_cache_entry) i_pages;
	unsigned long nrpages;
	unsigned long flags; /* AS_* bits */
	loff_t i_size;	     /* bytes; pages past it are not faulted in */
	int fd;		     /* backing file, -1 for shmem */
	struct frame_pool *pool;
	/*
	 * The first failed write-back (-errno, its byte offset) and how many
	 * failed, under i_pages_lock: the kernel's mapping_set_error() keeps
	 * only AS_EIO/AS_ENOSPC; the offset is for the message.
	 */
	int wb_err;
	loff_t wb_err_pos;
	unsigned long nr_wb_errors;
};

/* mapping->flags bits */
#define AS_MM_ALL_LOCKS 0 /* held by mm_take_all_locks(); see there */
#define AS_SHMEM 1	  /* no backing file: pages are swap-backed */

struct file {
	atomic_t f_count; /* get_file()/fput() */
	struct address_space f_mapping_obj;
	struct address_space *f_mapping;
	char *f_path;
};

/*
 * An anon_vma: the set of VMAs (through anon_vma_chains, in an interval tree
 * by pgoff) in which an anonymous page may be mapped.  A fork tree of
 * anon_vmas shares one root, whose rwsem locks the whole tree (rule 7,
 * oldest anon_vma and root lock).
 */
struct anon_vma {
	struct anon_vma *root;
	struct rw_semaphore rwsem; /* meaningful in the root only */
	/*
	 * Held by the anon_vma's creator until unlink_anon_vmas(), by each
	 * child on its root, and briefly by get_anon_vma() users (migration).
	 * Pages hold none: page->mapping may name an anon_vma that has gone
	 * back to the free list and been reused, which lockless readers check
	 * (see page_get_anon_vma()).
	 */
	atomic_t refcount;
	unsigned long num_children;
	unsigned long num_active_vmas;
	struct anon_vma *parent;
	struct interval_tree_root rb_root; /* anon_vma_chains by pgoff */
	/* Set (in the root) while mm_take_all_locks() holds it; see there. */
	bool all_locks_mark;
};

/*
 * Links a VMA to each anon_vma its pages may belong to: on the VMA's
 * same_vma list and in the anon_vma's tree.
 */
struct anon_vma_chain {
	struct vm_area_struct *vma;
	struct anon_vma *anon_vma;
	struct list_head same_vma;
	struct interval_tree_node rb;
};

/*
 * The first cache line holds what a walk over every VMA of an mm reads
 * (mm_take_all_locks(), exit, fork): the bounds, the VMA's place in the
 * index and the rmap anchors, as the kernel keeps "the info for VMA tree
 * walking" in its first line.  Allocated cache-line aligned (the kernel's
 * vm_area_cachep is SLAB_HWCACHE_ALIGN), so that line is one line.
 */
struct vm_area_struct {
	unsigned long vm_start; /* first byte */
	unsigned long vm_end;	/* first byte after */
	/* Its slot in mm->vma_leaves: see struct vma_leaf. */
	struct vma_leaf *vm_leaf;
	unsigned long vm_slot;
	struct file *vm_file;
	struct anon_vma *anon_vma;	 /* this VMA's own (newest) anon_vma */
	struct list_head anon_vma_chain; /* anon_vma_chains, newest first */

	struct mm_struct *vm_mm;
	unsigned long vm_flags;
	unsigned long vm_pgoff; /* offset in the file, in pages (anon: vm_start >> PAGE_SHIFT) */
	/* In mm->mm_rb, ordered by vm_start (the kernel uses a maple tree). */
	struct interval_tree_node vm_rb;
	struct interval_tree_node shared; /* in vm_file->f_mapping->i_mmap */
} __attribute__((aligned(64)));

/*
 * The VMA index's leaves: an mm's VMAs by address, VMA_LEAF_SLOTS pointers
 * to a leaf, leaves in a list by address.  The maple tree's leaf level
 * (maple_range_64 holds 16 slots), without the internal nodes: mm_rb finds
 * a VMA by address, the leaves walk them.  A walk reads the next VMA's
 * pointer from the leaf, not from the VMA before it, so the loads of
 * successive VMAs do not wait on each other and a walk can prefetch ahead;
 * through a list or an rb-tree each VMA's line must arrive before the next
 * one's address is known, a memory latency a VMA once an mm's VMAs no
 * longer fit in the caches.  A listed leaf holds at least one VMA.
 */
#define VMA_LEAF_SLOTS 16

struct vma_leaf {
	struct list_head link; /* in mm->vma_leaves, or on mm->vma_leaf_spares */
	unsigned int nr;       /* slots[0, nr) in use, by address */
	struct vm_area_struct *slots[VMA_LEAF_SLOTS];
};

enum { MM_FILEPAGES, MM_ANONPAGES, MM_SWAPENTS, MM_SHMEMPAGES, NR_MM_COUNTERS };

/* mm->flags bits */
#define MMF_OOM_SKIP 0
#define MMF_HAS_PINNED 1

typedef unsigned long pgd_t; /* a page-table entry at any level is one 64-bit word */

struct mm_struct {
	struct frame_pool *pool; /* every frame of this mm comes from here */
	struct rw_semaphore mmap_lock;
	/* VMAs by address (non-overlapping intervals [vm_start, vm_end - 1]). */
	struct interval_tree_root mm_rb;
	/* The same VMAs, for walking: struct vma_leaf. */
	struct list_head vma_leaves;
	/*
	 * Leaves allocated ahead, with the VMA that may need them, so that
	 * linking a VMA under the rmap locks never allocates (the kernel
	 * preallocates maple nodes the same way, mas_preallocate()).
	 */
	struct list_head vma_leaf_spares;
	unsigned int nr_vma_leaf_spares;
	int map_count;
	pgd_t *pgd;		    /* the top-level page-table page */
	spinlock_t page_table_lock; /* upper levels of the page tables */
	atomic_long_t rss_stat[NR_MM_COUNTERS];
	atomic_long_t pgtables_bytes;
	atomic_t mm_users; /* mmget/mmput: keeps the address space */
	atomic_t mm_count; /* mmgrab/mmdrop: keeps the struct */
	unsigned long flags;
	unsigned long locked_vm; /* pages in VM_LOCKED VMAs */
	atomic_long_t pinned_vm; /* FOLL_LONGTERM pins */
	unsigned long total_vm;
	struct mmu_notifier_subscriptions *notifier_subscriptions;
	char owner[24];	      /* who to name in an OOM report */
	unsigned long legacy; /* LEGACY_BIT()s of base/legacy.h; 0 but in museum scenarios */
};

#endif
