/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The host address space: what a process (or a VMM) does to its memory.
 * Every function returns 0 (or an address, or a count) or a negative errno;
 * addresses returned as unsigned long are errors when IS_ERR_VALUE().
 *
 * [file] after a declaration names the file that implements it.
 */
#ifndef NOPIN_MM_MM_H
#define NOPIN_MM_MM_H

#include <sys/mman.h> /* PROT_*, MAP_*, MADV_*, MREMAP_*, MLOCK_ONFAULT: the kernel's values */

#include "base/err.h"
#include "mm/gfp.h"
#include "mm/mm_types.h"
#include "mm/page_alloc.h"

/* ---- mm_struct lifetime [mm/fork.c] ---- */

/* A new, empty address space drawing frames from @pool; NULL on -ENOMEM. */
struct mm_struct *mm_alloc(struct frame_pool *pool, const char *owner);
static inline void mmgrab(struct mm_struct *mm)
{
	atomic_inc(&mm->mm_count);
}
void mmdrop(struct mm_struct *mm); /* last: frees the struct and the pgd */
static inline void mmget(struct mm_struct *mm)
{
	atomic_inc(&mm->mm_users);
}
static inline bool mmget_not_zero(struct mm_struct *mm)
{
	return atomic_inc_not_zero(&mm->mm_users);
}
void mmput(struct mm_struct *mm); /* last: exit_mmap(), then mmdrop() */
/* Tear down every mapping: release notifiers, unmap, free page tables. [mm/mmap.c] */
void exit_mmap(struct mm_struct *mm);
/* A copy of @oldmm as fork() makes it (COW for private memory); NULL on -ENOMEM. */
struct mm_struct *dup_mm(struct mm_struct *oldmm, const char *owner);

static inline void mmap_read_lock(struct mm_struct *mm)
{
	down_read(&mm->mmap_lock);
}
static inline bool mmap_read_trylock(struct mm_struct *mm)
{
	return down_read_trylock(&mm->mmap_lock);
}

static inline void mmap_read_unlock(struct mm_struct *mm)
{
	up_read(&mm->mmap_lock);
}
static inline void mmap_write_lock(struct mm_struct *mm)
{
	down_write(&mm->mmap_lock);
}
static inline void mmap_write_unlock(struct mm_struct *mm)
{
	up_write(&mm->mmap_lock);
}
#define mmap_assert_locked(mm) lockdep_assert_held(&(mm)->mmap_lock)
#define mmap_assert_write_locked(mm) lockdep_assert_held_write(&(mm)->mmap_lock)

static inline unsigned long get_mm_counter(struct mm_struct *mm, int member)
{
	return atomic_long_read(&mm->rss_stat[member]);
}
static inline void add_mm_counter(struct mm_struct *mm, int member, long value)
{
	atomic_long_add(value, &mm->rss_stat[member]);
}

/* ---- VMAs [mm/mmap.c] ---- */

/* The first VMA with vm_end > addr, or NULL.  mmap_lock held. */
struct vm_area_struct *find_vma(struct mm_struct *mm, unsigned long addr);
/* The VMA containing addr, or NULL. */
struct vm_area_struct *vma_lookup(struct mm_struct *mm, unsigned long addr);
struct vm_area_struct *vma_next(struct vm_area_struct *vma);
struct vm_area_struct *vma_prev(struct vm_area_struct *vma);
/* The first VMA overlapping [start, end), or NULL. */
struct vm_area_struct *find_vma_intersection(struct mm_struct *mm, unsigned long start,
					     unsigned long end);
/* find_vma(), and the VMA before it in *pprev (the last VMA when it returns NULL). */
struct vm_area_struct *find_vma_prev(struct mm_struct *mm, unsigned long addr,
				     struct vm_area_struct **pprev);
/* The kernel's vm.max_map_count: a split or mmap past it fails with -ENOMEM. */
#define DEFAULT_MAX_MAP_COUNT 65530
extern int sysctl_max_map_count;

/*
 * A walk over every VMA of an mm, leaf by leaf (the kernel's VMA_ITERATOR
 * over the maple tree).  The next VMA comes from the leaf the iterator
 * holds, not from the VMA before it, so the walk can ask for VMAs ahead of
 * its turn: entering a leaf, it prefetches every VMA of the next one, a
 * leaf's walk ahead, which is what covers a memory latency once an mm's
 * VMAs no longer fit in the caches.  The VMAs must not change under it
 * (mmap_lock held).
 */
struct vma_iterator {
	struct mm_struct *mm;
	struct vma_leaf *leaf; /* NULL: done */
	unsigned int slot;     /* of the next VMA */
};

struct vma_iterator vma_iter_init(struct mm_struct *mm);
#define VMA_ITERATOR(name, mm) struct vma_iterator name = vma_iter_init(mm)

/* Prefetch the VMAs of the leaf after @leaf, if there is one. */
static inline void vma_leaf_prefetch_next(struct mm_struct *mm, const struct vma_leaf *leaf)
{
	const struct vma_leaf *next;

	if (list_is_last(&leaf->link, &mm->vma_leaves))
		return;
	next = list_next_entry(leaf, link);
	for (unsigned int i = 0; i < next->nr; i++)
		__builtin_prefetch(next->slots[i]);
}

static inline struct vm_area_struct *vma_iter_next(struct vma_iterator *vmi)
{
	struct vma_leaf *leaf = vmi->leaf;

	if (!leaf)
		return NULL;
	if (vmi->slot == leaf->nr) {
		if (list_is_last(&leaf->link, &vmi->mm->vma_leaves)) {
			vmi->leaf = NULL;
			return NULL;
		}
		leaf = vmi->leaf = list_next_entry(leaf, link);
		vmi->slot = 0;
	}
	if (!vmi->slot)
		vma_leaf_prefetch_next(vmi->mm, leaf);
	return leaf->slots[vmi->slot++];
}

/*
 * The leaf whose first VMA the last vma_iter_next() returned, or NULL: for
 * a walk that prefetches what a leaf's VMAs point to as it enters it.
 */
static inline const struct vma_leaf *vma_iter_entered_leaf(const struct vma_iterator *vmi)
{
	return vmi->leaf && vmi->slot == 1 ? vmi->leaf : NULL;
}

#define for_each_vma(mm, vma)                                                                      \
	for (struct vma_iterator __vmi = vma_iter_init(mm); ((vma) = vma_iter_next(&__vmi));)
#define for_each_vma_range(mm, vma, start, end)                                                    \
	for (vma = find_vma(mm, start); vma && vma->vm_start < (end); vma = vma_next(vma))

static inline bool vma_is_anonymous(const struct vm_area_struct *vma)
{
	return !vma->vm_file;
}
static inline unsigned long vma_pages(const struct vm_area_struct *vma)
{
	return (vma->vm_end - vma->vm_start) >> PAGE_SHIFT;
}
static inline unsigned long linear_page_index(const struct vm_area_struct *vma,
					      unsigned long address)
{
	return ((address - vma->vm_start) >> PAGE_SHIFT) + vma->vm_pgoff;
}
static inline bool is_cow_mapping(unsigned long flags)
{
	return (flags & (VM_SHARED | VM_MAYWRITE)) == VM_MAYWRITE;
}

/*
 * mmap: prot PROT_*, flags MAP_PRIVATE/MAP_SHARED [| MAP_ANONYMOUS | MAP_FIXED
 * | MAP_FIXED_NOREPLACE | MAP_POPULATE | MAP_LOCKED].  do_mmap() runs with
 * mmap_lock held for write; vm_mmap() takes it.  Returns the address or
 * -EINVAL (bad length, alignment, flag mix), -ENOMEM (no room), -EEXIST
 * (MAP_FIXED_NOREPLACE), -EACCES (shared writable on a read-only file).
 */
unsigned long do_mmap(struct mm_struct *mm, unsigned long addr, unsigned long len,
		      unsigned long prot, unsigned long flags, struct file *file,
		      unsigned long pgoff);
unsigned long vm_mmap(struct mm_struct *mm, unsigned long addr, unsigned long len,
		      unsigned long prot, unsigned long flags, struct file *file,
		      unsigned long offset);
int do_munmap(struct mm_struct *mm, unsigned long start, size_t len);
int vm_munmap(struct mm_struct *mm, unsigned long start, size_t len);
/* Split @vma at @addr; new_below: the new VMA is the lower part. */
int split_vma(struct vm_area_struct *vma, unsigned long addr, int new_below);

/*
 * Hold every i_mmap_rwsem and anon_vma root rwsem reachable from @mm's
 * VMAs, each once (mmu_notifier registration: rule 4, register under all
 * locks).  mmap_lock held for write until mm_drop_all_locks() returns.  0,
 * or -EINTR on a pending interrupt, holding nothing.
 * [mm/mm_take_all_locks.c]
 */
int mm_take_all_locks(struct mm_struct *mm);
void mm_drop_all_locks(struct mm_struct *mm);

/* [mm/mprotect.c] */
int do_mprotect(struct mm_struct *mm, unsigned long start, size_t len, unsigned long prot);
/* [mm/mlock.c]  flags: 0 or MLOCK_ONFAULT */
int do_mlock(struct mm_struct *mm, unsigned long start, size_t len, unsigned int flags);
int do_munlock(struct mm_struct *mm, unsigned long start, size_t len);
/* [mm/madvise.c]  MADV_DONTNEED, MADV_PAGEOUT, MADV_DONTFORK, MADV_DOFORK */
int do_madvise(struct mm_struct *mm, unsigned long start, size_t len, int behavior);
/* [mm/mremap.c]  flags: MREMAP_MAYMOVE [| MREMAP_FIXED] */
unsigned long do_mremap(struct mm_struct *mm, unsigned long addr, unsigned long old_len,
			unsigned long new_len, unsigned long flags, unsigned long new_addr);

/* ---- faults and host access [mm/memory.c, mm/gup.c] ---- */

typedef unsigned int vm_fault_t;
#define VM_FAULT_OOM 0x0001
#define VM_FAULT_SIGBUS 0x0002
#define VM_FAULT_SIGSEGV 0x0040
#define VM_FAULT_RETRY 0x0400 /* dropped mmap_lock (waited on a page); retry */
#define VM_FAULT_ERROR (VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV)

#define FAULT_FLAG_WRITE 0x01
#define FAULT_FLAG_ALLOW_RETRY 0x04
#define FAULT_FLAG_REMOTE 0x80 /* not the mm's own "CPU": GUP, access_remote_vm */

/* Resolve one fault at @address in @vma (mmap_lock held for read). [mm/memory.c] */
vm_fault_t handle_mm_fault(struct vm_area_struct *vma, unsigned long address, unsigned int flags);
static inline int vm_fault_to_errno(vm_fault_t f)
{
	if (f & VM_FAULT_OOM)
		return -ENOMEM;
	if (f & (VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV))
		return -EFAULT;
	return 0;
}

/* gup_flags [mm/gup.c] */
#define FOLL_WRITE 0x01
#define FOLL_GET 0x04	  /* a short reference: the caller drops it with put_page() */
#define FOLL_FORCE 0x10	  /* access_remote_vm of a non-writable private mapping */
#define FOLL_NOFAULT 0x80 /* do not fault in: lookup only */
#define FOLL_PIN 0x40000  /* a pin: page_maybe_dma_pinned(); unpin_user_page() */
#define FOLL_LONGTERM 0x10000

/*
 * Look up (faulting in as needed) @nr_pages pages from @start; returns how
 * many it got (>= 1) or -EFAULT/-ENOMEM.  With FOLL_PIN each page is pinned
 * until unpin_user_page(); with FOLL_GET each holds a plain reference.
 * Takes mmap_lock for read.
 */
long get_user_pages(struct mm_struct *mm, unsigned long start, unsigned long nr_pages,
		    unsigned int gup_flags, struct page **pages);
/*
 * Age [start, start + len): clear the accessed bits of its present pages in
 * every mapping, secondary MMUs included.  Returns how many were young.
 * [mm/page_idle.c]
 */
long page_idle_clear_range(struct mm_struct *mm, unsigned long start, unsigned long len);
/*
 * The OOM reaper: zap @mm's private anonymous VMAs without blocking, with
 * non-blockable notifier ranges; -EAGAIN if it had to leave some (retry).
 * [mm/oom_kill.c]
 */
int __oom_reap_task_mm(struct mm_struct *mm);
void unpin_user_page(struct page *page);
void unpin_user_pages(struct page **pages, unsigned long n);

/*
 * The lookup a secondary MMU uses instead of a pin: resolve @addr to its
 * page, faulting it in (a write fault breaks COW when @write), and return it
 * with a short reference in *@pagep and whether the host PTE is writable in
 * *@writable.  The caller drops the reference with put_page() once its own
 * mapping is installed (or abandoned); the notifier, not the reference, keeps
 * the mapping valid after that.
 */
int get_user_page_ref(struct mm_struct *mm, unsigned long addr, bool write, struct page **pagep,
		      bool *writable);

/*
 * Read or write @len bytes at @addr of @mm through its page tables, faulting
 * in as needed, as a debugger's access_process_vm() does.  Returns the bytes
 * done, or -EFAULT if none.  gup_flags: FOLL_WRITE (write), FOLL_FORCE.
 */
long access_remote_vm(struct mm_struct *mm, unsigned long addr, void *buf, size_t len,
		      unsigned int gup_flags);

/* ---- files [mm/filemap.c] ---- */

/* Open (creating if O_CREAT) a real file as a mappable file; ERR_PTR on error. */
struct file *filp_open(struct frame_pool *pool, const char *path, int flags, mode_t mode);
/* An unnamed swap-backed file for MAP_SHARED|MAP_ANONYMOUS (shmem). */
struct file *shmem_file_setup(struct frame_pool *pool, const char *name, loff_t size);
static inline struct file *get_file(struct file *f)
{
	atomic_inc(&f->f_count);
	return f;
}
void fput(struct file *file); /* last: writes back dirty pages, drops the cache */
/*
 * Set the file's size; shrinking unmaps (private COWs included) and drops
 * every page past the new end. [mm/truncate.c]
 */
int vfs_truncate(struct file *file, loff_t size);
/*
 * The first write-back of @mapping that failed, for the message of a run
 * it ended: "a write-back to PATH at offset 0x... failed: No space left
 * on device (N failed)" into @buf; false if none did.
 */
bool mapping_describe_error(struct address_space *mapping, char *buf, size_t len);
/*
 * Punch a hole: @mode must be FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
 * (<fcntl.h>).  [offset, offset + len) reads as zeroes after. [mm/truncate.c]
 */
int vfs_fallocate(struct file *file, int mode, loff_t offset, loff_t len);
/* Write back every dirty page of the mapping to its file; 0 or -EIO. */
int filemap_write_and_wait(struct address_space *mapping);
/*
 * Mark a page dirty; true if it was clean.  For a secondary MMU dropping a
 * translation it wrote through (the page is still mapped by the host, so
 * its mapping is stable).  Also in mm/internal.h.  [mm/filemap.c]
 */
bool set_page_dirty(struct page *page);

#endif
