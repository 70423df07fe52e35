// SPDX-License-Identifier: GPL-2.0
/*
 * Host-side access to an address space through its page tables (the
 * kernel's mm/gup.c and access_remote_vm()): look a page up under its PTE
 * lock, fault it in when the PTE does not allow the access, and hand it out
 * with a reference (FOLL_GET), a pin (FOLL_PIN), or nothing (populate).
 *
 * Pins and references are different promises.  A FOLL_GET reference only
 * keeps the frame from being freed; the mapping may change under it (COW,
 * munmap), and the holder must not care.  A FOLL_PIN pin promises that the
 * process and the pinner keep seeing the same page, so GUP makes a pinned
 * anon page exclusive first (a read pin unshares it, a write pin breaks
 * COW), and fork copies a pinned page for the child instead of sharing it
 * (copy_page_range()).  A secondary MMU wants neither: get_user_page_ref()
 * returns a reference it drops as soon as its own mapping is made, and the
 * mmu_notifier keeps that mapping honest from then on.
 */
#include <string.h>

#include "base/bug.h"
#include "mm/internal.h"

/* What the lookup saw, besides the page. */
struct follow_page_context {
	bool writable; /* the host PTE allowed writes */
};

#define FOLL_VALID (FOLL_WRITE | FOLL_GET | FOLL_FORCE | FOLL_NOFAULT | FOLL_PIN | FOLL_LONGTERM)

/* ---- may this access go through? ---- */

/*
 * A long-term pin of a writable shared file page would let the pinner write
 * to a page the file system may write back and clean at any time without
 * hearing of it: refused, as the kernel does (shmem is fine).
 */
static bool writable_file_mapping_allowed(struct vm_area_struct *vma, unsigned int gup_flags)
{
	if ((gup_flags & (FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE)) !=
	    (FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE))
		return true;
	return !vma->vm_file || test_bit(AS_SHMEM, &vma->vm_file->f_mapping->flags);
}

/* The VMA-level check: the access the protection allows, or FOLL_FORCE's exceptions. */
static int check_vma_flags(struct vm_area_struct *vma, unsigned int gup_flags)
{
	unsigned long vm_flags = vma->vm_flags;

	if (gup_flags & FOLL_WRITE) {
		/* FOLL_FORCE writes only to private mappings, into a private copy. */
		if (!(vm_flags & VM_WRITE) &&
		    (!(gup_flags & FOLL_FORCE) || !is_cow_mapping(vm_flags)))
			return -EFAULT;
		if (!writable_file_mapping_allowed(vma, gup_flags))
			return -EFAULT;
	} else if (!(vm_flags & VM_READ)) {
		if (!(gup_flags & FOLL_FORCE) || !(vm_flags & VM_MAYREAD))
			return -EFAULT;
	}
	return 0;
}

/*
 * A write through a read-only PTE: only FOLL_FORCE on a private mapping the
 * VMA does not let us write, once the fault has given us our own copy.
 */
static bool can_follow_write_pte(pte_t pte, struct page *page, struct vm_area_struct *vma,
				 unsigned int flags)
{
	if (pte_write(pte))
		return true;
	if (!(flags & FOLL_FORCE) || (vma->vm_flags & (VM_WRITE | VM_SHARED | VM_MAYSHARE)))
		return false;
	return PageAnon(page) && PageAnonExclusive(page);
}

/* A read pin of an anon page others may share must not stay on it (see the top). */
static bool gup_must_unshare(struct vm_area_struct *vma, unsigned int flags, struct page *page)
{
	if ((flags & (FOLL_WRITE | FOLL_PIN)) != FOLL_PIN)
		return false;
	if (!is_cow_mapping(vma->vm_flags) || !PageAnon(page))
		return false;
	return !PageAnonExclusive(page);
}

/* ---- lookup ---- */

/* What the kernel's FOLL_TOUCH does: the access counts as one. */
static void follow_page_touch(pte_t pte, struct page *page, unsigned int flags)
{
	if ((flags & FOLL_WRITE) && !PageAnon(page) && !pte_dirty(pte) && !PageDirty(page))
		set_page_dirty(page);
	SetPageReferenced(page);
}

/*
 * The page at @addr with a reference or pin taken under the PTE lock, or
 * NULL if a fault is needed first, ERR_PTR(-EMLINK) if it needs
 * unsharing, ERR_PTR(-EFAULT) for a PTE that maps no valid page.
 */
static struct page *follow_page_pte(struct vm_area_struct *vma, unsigned long addr, pmd_t *pmd,
				    unsigned int flags, struct follow_page_context *ctx)
{
	struct page *page = NULL;
	spinlock_t *ptl;
	pte_t *ptep = __pte_offset_map_lock(vma->vm_mm, pmd, addr, &ptl);
	pte_t pte;

	if (!ptep)
		return NULL;
	pte = ptep_get(ptep);
	/* PROT_NONE pages are followed only by FOLL_FORCE (a debugger reading them). */
	if (!pte_present(pte) || (pte_protnone(pte) && !(flags & FOLL_FORCE)))
		goto out;
	page = vm_normal_page(vma, addr, pte);
	if (!page) {
		page = ERR_PTR(-EFAULT);
		goto out;
	}
	if ((flags & FOLL_WRITE) && !can_follow_write_pte(pte, page, vma, flags)) {
		page = NULL;
		goto out;
	}
	if (!pte_write(pte) && gup_must_unshare(vma, flags, page)) {
		page = ERR_PTR(-EMLINK);
		goto out;
	}
	if (flags & FOLL_PIN)
		page_ref_pin(page);
	else if (flags & FOLL_GET)
		get_page(page);
	follow_page_touch(pte, page, flags);
	ctx->writable = pte_write(pte);
out:
	pte_unmap_unlock(ptep, ptl);
	return page;
}

static struct page *follow_page_mask(struct vm_area_struct *vma, unsigned long addr,
				     unsigned int flags, struct follow_page_context *ctx)
{
	pmd_t *pmd = mm_find_pmd(vma->vm_mm, addr);

	if (!pmd || pmd_none(pmdp_get(pmd)))
		return NULL;
	return follow_page_pte(vma, addr, pmd, flags, ctx);
}

/* Fault the page in for the access @flags describes; 0 or -errno. */
static int faultin_page(struct vm_area_struct *vma, unsigned long addr, unsigned int flags,
			bool unshare)
{
	unsigned int fault_flags = FAULT_FLAG_REMOTE;
	vm_fault_t ret;

	if (flags & FOLL_NOFAULT)
		return -EFAULT;
	if (flags & FOLL_WRITE)
		fault_flags |= FAULT_FLAG_WRITE;
	if (unshare)
		fault_flags |= FAULT_FLAG_UNSHARE;
	ret = handle_mm_fault(vma, addr, fault_flags);
	if (ret & VM_FAULT_ERROR)
		return vm_fault_to_errno(ret);
	return 0;
}

/*
 * One page for the access @gup_flags describes: look it up; if the PTE does
 * not allow the access yet, fault (or unshare) and look again.
 */
static int gup_one_page(struct vm_area_struct *vma, unsigned long addr, unsigned int gup_flags,
			struct follow_page_context *ctx, struct page **pagep)
{
	struct page *page;
	int ret;

	for (;;) {
		cond_resched();
		page = follow_page_mask(vma, addr, gup_flags, ctx);
		if (!IS_ERR_OR_NULL(page))
			break;
		if (IS_ERR(page) && PTR_ERR(page) != -EMLINK)
			return PTR_ERR(page);
		ret = faultin_page(vma, addr, gup_flags, /* unshare: */ IS_ERR(page));
		if (ret)
			return ret;
	}
	*pagep = page;
	return 0;
}

/*
 * The loop of get_user_pages, mmap_lock held.  Returns the number of pages
 * done, or -errno if none.
 */
static long __get_user_pages(struct mm_struct *mm, unsigned long start, unsigned long nr_pages,
			     unsigned int gup_flags, struct page **pages,
			     struct follow_page_context *ctx)
{
	struct vm_area_struct *vma = NULL;
	struct page *page = NULL;
	long i;
	int ret = 0;

	mmap_assert_locked(mm);
	for (i = 0; i < nr_pages; i++, start += PAGE_SIZE) {
		if (!vma || start >= vma->vm_end) {
			vma = vma_lookup(mm, start);
			ret = vma ? check_vma_flags(vma, gup_flags) : -EFAULT;
			if (ret)
				break;
		}
		ret = gup_one_page(vma, start, gup_flags, ctx, &page);
		if (ret)
			break;
		if (pages)
			pages[i] = page;
	}
	return i ? i : ret;
}

/* The public flag rules: one of FOLL_GET and FOLL_PIN with @pages, LONGTERM only pinning. */
static int gup_check_flags(unsigned int *gup_flags, struct page **pages)
{
	unsigned int flags = *gup_flags;

	if (flags & ~FOLL_VALID)
		return -EINVAL;
	if ((flags & (FOLL_GET | FOLL_PIN)) == (FOLL_GET | FOLL_PIN))
		return -EINVAL;
	if ((flags & FOLL_LONGTERM) && !(flags & FOLL_PIN))
		return -EINVAL;
	if (!pages && (flags & (FOLL_GET | FOLL_PIN)))
		return -EINVAL;
	if (pages && !(flags & FOLL_PIN))
		*gup_flags = flags | FOLL_GET;
	return 0;
}

long get_user_pages(struct mm_struct *mm, unsigned long start, unsigned long nr_pages,
		    unsigned int gup_flags, struct page **pages)
{
	struct follow_page_context ctx;
	long ret;

	ret = gup_check_flags(&gup_flags, pages);
	if (ret)
		return ret;
	if (!nr_pages)
		return 0;
	start &= PAGE_MASK;
	if (start >= TASK_SIZE || nr_pages > (TASK_SIZE - start) >> PAGE_SHIFT)
		return -EFAULT;
	if (gup_flags & FOLL_PIN)
		set_bit(MMF_HAS_PINNED, &mm->flags);
	mmap_read_lock(mm);
	ret = __get_user_pages(mm, start, nr_pages, gup_flags, pages, &ctx);
	mmap_read_unlock(mm);
	return ret;
}

/* Drop a FOLL_PIN pin (and the reference that came with it). */
void unpin_user_page(struct page *page)
{
	page_ref_unpin(page);
}

void unpin_user_pages(struct page **pages, unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		unpin_user_page(pages[i]);
}

int get_user_page_ref(struct mm_struct *mm, unsigned long addr, bool write, struct page **pagep,
		      bool *writable)
{
	struct follow_page_context ctx = { 0 };
	unsigned int gup_flags = FOLL_GET | (write ? FOLL_WRITE : 0);
	long ret;

	if (!pagep || addr >= TASK_SIZE)
		return -EFAULT;
	mmap_read_lock(mm);
	ret = __get_user_pages(mm, addr & PAGE_MASK, 1, gup_flags, pagep, &ctx);
	mmap_read_unlock(mm);
	if (ret < 0)
		return ret;
	if (writable)
		*writable = ctx.writable;
	return 0;
}

/* Copy to or from one page we hold; returns the bytes copied. */
static size_t access_page(struct page *page, unsigned long addr, void *buf, size_t len, bool write)
{
	unsigned long offset = offset_in_page(addr);
	size_t bytes = min(len, PAGE_SIZE - offset);
	char *maddr = (char *)page_address(page) + offset;

	if (write)
		memcpy(maddr, buf, bytes);
	else
		memcpy(buf, maddr, bytes);
	return bytes;
}

long access_remote_vm(struct mm_struct *mm, unsigned long addr, void *buf, size_t len,
		      unsigned int gup_flags)
{
	struct follow_page_context ctx;
	struct page *page = NULL;
	size_t done = 0;
	long ret = 0;

	if (gup_flags & ~(FOLL_WRITE | FOLL_FORCE))
		return -EINVAL;
	if (addr >= TASK_SIZE || len > TASK_SIZE - addr)
		return -EFAULT;
	mmap_read_lock(mm);
	while (done < len) {
		ret = __get_user_pages(mm, addr & PAGE_MASK, 1, gup_flags | FOLL_GET, &page, &ctx);
		if (ret <= 0)
			break;
		ret = access_page(page, addr, (char *)buf + done, len - done,
				  gup_flags & FOLL_WRITE);
		/* The kernel's set_page_dirty_lock(): writeback must see this write. */
		if (gup_flags & FOLL_WRITE) {
			lock_page(page);
			set_page_dirty(page);
			unlock_page(page);
		}
		put_page(page);
		done += ret;
		addr += ret;
	}
	mmap_read_unlock(mm);
	return done ? (long)done : (ret < 0 ? ret : 0);
}

/*
 * Fault in [start, end) of @vma for MAP_POPULATE and mlock, with mmap_lock
 * held.  Private writable memory is faulted for write, so COW is broken
 * now rather than at the first store; anything but PROT_NONE is faulted
 * with FOLL_FORCE, so that mlock of a write-only or exec-only range works.
 * Returns the pages done or -errno.
 */
long populate_vma_page_range(struct vm_area_struct *vma, unsigned long start, unsigned long end)
{
	unsigned long nr_pages = (end - start) >> PAGE_SHIFT;
	struct follow_page_context ctx;
	unsigned int gup_flags = 0;

	if (offset_in_page(start) || offset_in_page(end) || start >= end || start < vma->vm_start ||
	    end > vma->vm_end)
		return -EINVAL;
	mmap_assert_locked(vma->vm_mm);
	if (vma->vm_flags & VM_LOCKONFAULT)
		return nr_pages;
	if ((vma->vm_flags & (VM_WRITE | VM_SHARED)) == VM_WRITE)
		gup_flags |= FOLL_WRITE;
	if (vma->vm_flags & VM_ACCESS_FLAGS)
		gup_flags |= FOLL_FORCE;
	return __get_user_pages(vma->vm_mm, start, nr_pages, gup_flags, NULL, &ctx);
}
