// SPDX-License-Identifier: GPL-2.0
/*
 * Faults and the zap (the kernel's mm/memory.c): handle_mm_fault() for
 * anonymous, file, swap and write-protect faults; the one PTE zap that
 * munmap, exit, MADV_DONTNEED, the OOM reaper and truncation's
 * unmap_mapping_range() share; free_pgtables().
 *
 * Every path here that removes or weakens a PTE a secondary MMU may have
 * copied announces the range first with mmu_notifier_invalidate_range_start()
 * (rule 1, invalidate before free) and frees pages only after it returned,
 * through the TLB gather or after invalidate_range_end:
 *
 *	path			event			pages freed
 *	unmap_vmas		MMU_NOTIFY_UNMAP	tlb_finish_mmu()
 *	zap_page_range_single	MMU_NOTIFY_CLEAR	tlb_finish_mmu()
 *	wp_page_copy (COW)	MMU_NOTIFY_CLEAR	after range_end
 *
 * The start is always called with no spinlock held and outside the zap's
 * atomic section (rule 6, notifier outside atomic sections); the PTE lock
 * is taken after it.
 */
#include <limits.h>

#include "base/bug.h"
#include "base/legacy.h"
#include "base/report.h"
#include "base/sched_point.h"
#include "mm/internal.h"
#include "mm/swap.h"

/* Not an error: the fault found the PTE already fixed by someone else. */
#define VM_FAULT_NOPAGE 0x0100

/*
 * What one fault is about (the kernel's struct vm_fault).  @pte and @ptl
 * are set while the PTE lock is held; @orig_pte is the value the decision
 * was made on, rechecked under the lock before anything is changed.
 */
struct vm_fault {
	struct vm_area_struct *vma;
	unsigned long address; /* page-aligned */
	unsigned int flags;    /* FAULT_FLAG_* */
	unsigned long pgoff;   /* in the file, or the anon linear index */
	pmd_t *pmd;
	pte_t *pte;
	pte_t orig_pte;
	spinlock_t *ptl;
	struct page *page;     /* the file page being mapped, locked, with a reference */
	struct page *cow_page; /* a private copy of it, for a write to a private mapping */
};

/* ---- small helpers ---- */

static void print_bad_pte(struct vm_area_struct *vma, unsigned long addr, pte_t pte,
			  const char *why)
{
	report_start(REPORT_WARN, "BUG: Bad page map: %s", why);
	report_printf("  mm %s, addr %#lx, pte %#lx, vma [%#lx, %#lx) flags %#lx\n",
		      vma->vm_mm->owner, addr, pte_val(pte), vma->vm_start, vma->vm_end,
		      vma->vm_flags);
	dump_stack();
	report_end();
}

/*
 * A live PTE to a frame that is no longer data (freed, or reused as a
 * table) means the free broke rule 1, invalidate before free: reported by
 * the frame sanitizer.
 */
static bool pte_frame_is_data(struct frame_pool *pool, struct page *page, unsigned long addr)
{
	struct frame_stamp stamp = { page_to_pfn(page), READ_ONCE(page->gen), FRAME_DATA };
	struct frame_access acc = {
		.addr = addr,
		.size = PAGE_SIZE,
		.who = "host page-table walk",
	};

	return frame_check_stamp(pool, &stamp, &acc);
}

struct page *vm_normal_page(struct vm_area_struct *vma, unsigned long addr, pte_t pte)
{
	struct frame_pool *pool = vma->vm_mm->pool;
	unsigned long pfn = pte_pfn(pte);
	struct page *page;

	if (unlikely(!pfn_valid(pool, pfn))) {
		print_bad_pte(vma, addr, pte, "pfn outside the pool");
		return NULL;
	}
	page = pfn_to_page(pool, pfn);
	if (unlikely(!pte_frame_is_data(pool, page, addr)))
		return NULL;
	return page;
}

struct page *alloc_anon_page(struct vm_area_struct *vma, gfp_t gfp)
{
	struct page *page = alloc_page(vma->vm_mm->pool, gfp);

	if (page) {
		__SetPageUptodate(page);
		__SetPageSwapBacked(page);
	}
	return page;
}

static void lock_fault_pte(struct vm_fault *vmf)
{
	vmf->pte = __pte_offset_map_lock(vmf->vma->vm_mm, vmf->pmd, vmf->address, &vmf->ptl);
}

/* ---- anonymous faults ---- */

/*
 * First touch of an anonymous page.  The kernel maps the shared zero page
 * on a read; the model has none and always allocates a zeroed page, mapped
 * writable at once if the VMA is (it is exclusive: nobody else can see it).
 */
static vm_fault_t do_anonymous_page(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct page *page;
	pte_t entry;

	/* MAP_SHARED|MAP_ANONYMOUS is shmem, with a file: never here. */
	if (vma->vm_flags & VM_SHARED)
		return VM_FAULT_SIGBUS;
	if (anon_vma_prepare(vma))
		return VM_FAULT_OOM;
	page = alloc_anon_page(vma, GFP_KERNEL | __GFP_ZERO);
	if (!page)
		return VM_FAULT_OOM;
	entry = mk_pte(page, vma_page_prot(vma));
	if (vma->vm_flags & VM_WRITE)
		entry = pte_mkwrite(pte_mkdirty(entry));

	sched_point("fault:anon_before_pte_lock");
	lock_fault_pte(vmf);
	if (!vmf->pte) {
		put_page(page);
		return 0;
	}
	if (!pte_none(ptep_get(vmf->pte))) {
		/* Another thread faulted it in meanwhile; ours was never visible. */
		pte_unmap_unlock(vmf->pte, vmf->ptl);
		put_page(page);
		return 0;
	}
	add_mm_counter(vma->vm_mm, MM_ANONPAGES, 1);
	page_add_new_anon_rmap(page, vma, vmf->address);
	if (vma->vm_flags & VM_LOCKED)
		mlock_new_page(page);
	lru_cache_add(page);
	set_pte_at(vma->vm_mm, vmf->address, vmf->pte, entry);
	pte_unmap_unlock(vmf->pte, vmf->ptl);
	return 0;
}

/* ---- file faults ---- */

/*
 * Find the file page, locked: with the page lock held, truncation (which
 * locks each page before it removes it from the cache) cannot take it away
 * between our check of page->mapping and the PTE that maps it.
 */
static vm_fault_t __do_fault(struct vm_fault *vmf)
{
	struct address_space *mapping = vmf->vma->vm_file->f_mapping;
	struct page *page;

	for (;;) {
		page = filemap_get_page(mapping, vmf->pgoff);
		if (!page)
			return VM_FAULT_SIGBUS; /* past the end of the file */
		if (IS_ERR(page))
			return PTR_ERR(page) == -ENOMEM ? VM_FAULT_OOM : VM_FAULT_SIGBUS;
		lock_page(page);
		if (likely(READ_ONCE(page->mapping) == mapping))
			break;
		/* Truncated while we waited for the lock: look again. */
		unlock_page(page);
		put_page(page);
	}
	vmf->page = page;
	return 0;
}

/*
 * Map @page at the fault address, PTE lock held.  The reference the caller
 * holds becomes the PTE's.
 */
static void do_set_pte(struct vm_fault *vmf, struct page *page)
{
	struct vm_area_struct *vma = vmf->vma;
	bool write = vmf->flags & FAULT_FLAG_WRITE;
	pte_t entry = mk_pte(page, vma_page_prot(vma));

	if (write)
		entry = maybe_mkwrite(pte_mkdirty(entry), vma);
	if (write && !(vma->vm_flags & VM_SHARED)) {
		/* The private copy of a file page: anonymous from now on. */
		add_mm_counter(vma->vm_mm, MM_ANONPAGES, 1);
		page_add_new_anon_rmap(page, vma, vmf->address);
		if (vma->vm_flags & VM_LOCKED)
			mlock_new_page(page);
		lru_cache_add(page);
	} else {
		add_mm_counter(vma->vm_mm, mm_counter_file(page), 1);
		page_add_file_rmap(page, vma);
	}
	set_pte_at(vma->vm_mm, vmf->address, vmf->pte, entry);
}

/* Map vmf->cow_page or vmf->page; VM_FAULT_NOPAGE if someone else mapped the address first. */
static vm_fault_t finish_fault(struct vm_fault *vmf)
{
	struct page *page = vmf->cow_page ? vmf->cow_page : vmf->page;
	vm_fault_t ret = 0;

	lock_fault_pte(vmf);
	if (!vmf->pte)
		return VM_FAULT_NOPAGE;
	if (likely(pte_none(ptep_get(vmf->pte))))
		do_set_pte(vmf, page);
	else
		ret = VM_FAULT_NOPAGE;
	pte_unmap_unlock(vmf->pte, vmf->ptl);
	return ret;
}

static vm_fault_t do_read_fault(struct vm_fault *vmf)
{
	vm_fault_t ret = __do_fault(vmf);

	if (ret)
		return ret;
	ret = finish_fault(vmf);
	unlock_page(vmf->page);
	if (ret)
		put_page(vmf->page); /* not mapped: the reference was not handed over */
	return ret;
}

/* A write to a private file mapping: the process gets its own copy; the file is untouched. */
static vm_fault_t do_cow_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	vm_fault_t ret;

	if (anon_vma_prepare(vma))
		return VM_FAULT_OOM;
	vmf->cow_page = alloc_anon_page(vma, GFP_KERNEL);
	if (!vmf->cow_page)
		return VM_FAULT_OOM;
	ret = __do_fault(vmf);
	if (ret) {
		put_page(vmf->cow_page);
		return ret;
	}
	copy_user_highpage(vmf->cow_page, vmf->page);
	ret = finish_fault(vmf);
	unlock_page(vmf->page);
	put_page(vmf->page);
	if (ret)
		put_page(vmf->cow_page);
	return ret;
}

/*
 * A write to a shared file mapping: map the page cache page writable and
 * mark it dirty, still under the page lock, so that writeback (which locks
 * the page) sees the dirty bit no later than the writable PTE.
 */
static vm_fault_t do_shared_fault(struct vm_fault *vmf)
{
	vm_fault_t ret = __do_fault(vmf);
	struct page *page = vmf->page;

	if (ret)
		return ret;
	ret = finish_fault(vmf);
	if (ret) {
		unlock_page(page);
		put_page(page);
		return ret;
	}
	/* The page cache holds the page too: the PTE's reference is not our only guarantee. */
	set_page_dirty(page);
	unlock_page(page);
	return 0;
}

static vm_fault_t do_fault(struct vm_fault *vmf)
{
	if (!(vmf->flags & FAULT_FLAG_WRITE))
		return do_read_fault(vmf);
	if (!(vmf->vma->vm_flags & VM_SHARED))
		return do_cow_fault(vmf);
	return do_shared_fault(vmf);
}

/* ---- write-protect faults ---- */

/* The PTE maps a page nobody else can see: make it writable in place. PTE lock held. */
static vm_fault_t wp_page_reuse(struct vm_fault *vmf)
{
	pte_t entry = pte_mkyoung(vmf->orig_pte);

	entry = maybe_mkwrite(pte_mkdirty(entry), vmf->vma);
	set_pte_at(vmf->vma->vm_mm, vmf->address, vmf->pte, entry);
	pte_unmap_unlock(vmf->pte, vmf->ptl);
	return 0;
}

/*
 * May a write reuse this anon page instead of copying it?  Yes if it is
 * marked exclusive; otherwise if ours is the only reference left (every
 * other process that shared it after fork has copied or unmapped it): no
 * other PTE maps it and no pin or lookup holds it.  Nothing can take a new
 * reference through this mm's PTE while we hold the PTE lock.  The kernel
 * also moves the page to this VMA's own anon_vma (page_move_anon_rmap()); the
 * model leaves it on the oldest one, which an rmap walk reaches just as well.
 */
static bool wp_can_reuse_anon_page(struct page *page)
{
	if (PageAnonExclusive(page))
		return true;
	/*
	 * Acquire: the other process's last access to the page (its COW copy
	 * of it) happens before our reuse; its put_page() released them.
	 */
	if (atomic_read_acquire(&page->_refcount) != 1)
		return false;
	SetPageAnonExclusive(page);
	return true;
}

/*
 * Break COW: copy @old_page (we hold a reference) into a new exclusive page
 * and swap it into the PTE.  The old translation goes away, so secondary
 * MMUs are told first, with no lock held; the old page's PTE reference is
 * dropped only after invalidate_range_end.
 */
static vm_fault_t wp_page_copy(struct vm_fault *vmf, struct page *old_page)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	struct mmu_notifier_range range;
	struct page *new_page, *to_put;
	pte_t entry;

	if (anon_vma_prepare(vma))
		goto oom;
	new_page = alloc_anon_page(vma, GFP_KERNEL);
	if (!new_page)
		goto oom;
	copy_user_highpage(new_page, old_page);

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, vmf->address,
				vmf->address + PAGE_SIZE);
	mmu_notifier_invalidate_range_start(&range);
	sched_point("fault:cow_after_invalidate_start");

	to_put = new_page;
	lock_fault_pte(vmf);
	if (vmf->pte && likely(pte_same(ptep_get(vmf->pte), vmf->orig_pte))) {
		if (!PageAnon(old_page)) {
			add_mm_counter(mm, mm_counter_file(old_page), -1);
			add_mm_counter(mm, MM_ANONPAGES, 1);
		}
		entry = mk_pte(new_page, vma_page_prot(vma));
		if (!(vmf->flags & FAULT_FLAG_UNSHARE))
			entry = maybe_mkwrite(pte_mkdirty(entry), vma);
		ptep_get_and_clear(mm, vmf->address, vmf->pte);
		page_add_new_anon_rmap(new_page, vma, vmf->address);
		if (vma->vm_flags & VM_LOCKED)
			mlock_new_page(new_page);
		lru_cache_add(new_page);
		set_pte_at(mm, vmf->address, vmf->pte, entry);
		page_remove_rmap(old_page, vma);
		to_put = old_page; /* the reference the old PTE held */
	}
	if (vmf->pte)
		pte_unmap_unlock(vmf->pte, vmf->ptl);
	mmu_notifier_invalidate_range_end(&range);
	put_page(to_put);
	put_page(old_page);
	return 0;
oom:
	put_page(old_page);
	return VM_FAULT_OOM;
}

/*
 * A write to a read-only PTE of a shared mapping (writenotify): the page
 * becomes writable and dirty.  Nothing is weakened, so no notifier.
 */
static vm_fault_t wp_page_shared(struct vm_fault *vmf, struct page *page)
{
	get_page(page);
	wp_page_reuse(vmf);
	lock_page(page);
	set_page_dirty(page);
	unlock_page(page);
	put_page(page);
	return 0;
}

/*
 * A write (or an unshare request) hit a present read-only PTE; PTE lock
 * held, released on return.
 */
static vm_fault_t do_wp_page(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	bool unshare = vmf->flags & FAULT_FLAG_UNSHARE;
	struct page *page = vm_normal_page(vma, vmf->address, vmf->orig_pte);

	if (!page) {
		pte_unmap_unlock(vmf->pte, vmf->ptl);
		return VM_FAULT_SIGBUS;
	}
	if (vma->vm_flags & (VM_SHARED | VM_MAYSHARE)) {
		if (unshare) {
			pte_unmap_unlock(vmf->pte, vmf->ptl);
			return 0;
		}
		return wp_page_shared(vmf, page);
	}
	if (PageAnon(page) && wp_can_reuse_anon_page(page)) {
		if (unshare) {
			pte_unmap_unlock(vmf->pte, vmf->ptl);
			return 0;
		}
		return wp_page_reuse(vmf);
	}
	get_page(page);
	pte_unmap_unlock(vmf->pte, vmf->ptl);
	return wp_page_copy(vmf, page);
}

/* ---- the fault entry ---- */

/*
 * A swap PTE: map the slot's page, from the swap cache or read back from the
 * swap file (mm/swap_state.c).  The page lock is taken before the PTE is
 * rechecked, so reclaim (which holds it from the rmap walk to the free) and
 * another fault on the same entry are ordered with us; a page no longer in
 * the swap cache for this entry, or a PTE that changed, sends the caller
 * back to look again.  The slot's count for our PTE goes; if no swap PTE is
 * left and nobody else maps the page, it leaves the swap cache and is
 * exclusive again, and a write fault maps it writable at once.
 */
static vm_fault_t do_swap_page(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	swp_entry_t entry = pte_to_swp_entry(vmf->orig_pte);
	bool exclusive, oom;
	struct page *page;
	vm_fault_t ret = 0;
	pte_t pte;

	if (unlikely(non_swap_entry(entry))) {
		/* Migration entries: mm/migrate.c. */
		return VM_FAULT_SIGBUS;
	}
	if (anon_vma_prepare(vma))
		return VM_FAULT_OOM;

	page = read_swap_cache_async(entry, mm->pool, &oom);
	if (!page) {
		/* The slot was freed: whoever freed it changed our PTE; look again. */
		return oom ? VM_FAULT_OOM : 0;
	}
	lock_page(page);
	if (unlikely(!PageSwapCache(page) || page_swap_entry(page).val != entry.val))
		goto out_page; /* reclaimed, or swapped in and freed, meanwhile */
	if (unlikely(!PageUptodate(page))) {
		ret = VM_FAULT_SIGBUS; /* the read failed */
		goto out_page;
	}

	sched_point("swapin:before_pte_lock");
	lock_fault_pte(vmf);
	if (unlikely(!vmf->pte || !pte_same(ptep_get(vmf->pte), vmf->orig_pte))) {
		if (vmf->pte)
			pte_unmap_unlock(vmf->pte, vmf->ptl);
		goto out_page;
	}

	swap_free(entry);
	add_mm_counter(mm, MM_SWAPENTS, -1);
	add_mm_counter(mm, MM_ANONPAGES, 1);
	/*
	 * The last swap PTE of the slot is gone: the page leaves the swap
	 * cache (the kernel keeps it there until swap runs short, to spare a
	 * write of a page still clean; here it goes at once, so no page can
	 * linger in the cache unmapped).  Exclusive if the PTE says the page
	 * was when it went out, or if nothing else maps it now either.
	 */
	exclusive = pte_swp_exclusive(vmf->orig_pte);
	if (!__swap_count(entry) && try_to_free_swap(page) && !page_mapped(page))
		exclusive = true;
	pte = mk_pte(page, vma_page_prot(vma));
	/* Not exclusive: mapped read-only, and the caller's retry breaks COW. */
	if ((vmf->flags & FAULT_FLAG_WRITE) && exclusive)
		pte = maybe_mkwrite(pte_mkdirty(pte), vma);
	page_add_anon_rmap(page, vma, vmf->address, exclusive);
	set_pte_at(mm, vmf->address, vmf->pte, pte_mkyoung(pte));
	pte_unmap_unlock(vmf->pte, vmf->ptl);
	unlock_page(page);
	/* The reference from the swap cache lookup is the PTE's now. */
	return 0;

out_page:
	/* The PTE went meanwhile (a zap that could not lock the page): no slot left behind. */
	try_to_free_swap(page);
	unlock_page(page);
	put_page(page);
	return ret;
}

static vm_fault_t handle_pte_fault(struct vm_fault *vmf)
{
	struct mm_struct *mm = vmf->vma->vm_mm;
	pte_t entry;

	if (pte_alloc(mm, vmf->pmd))
		return VM_FAULT_OOM;
	/* A first look without the lock; every decision is rechecked under it. */
	vmf->orig_pte = ptep_get(pte_offset_kernel(mm, vmf->pmd, vmf->address));
	if (pte_none(vmf->orig_pte))
		return vma_is_anonymous(vmf->vma) ? do_anonymous_page(vmf) : do_fault(vmf);
	if (!pte_present(vmf->orig_pte)) {
		/* The page is being moved: wait for it (mm/migrate.c), then fault again. */
		if (is_migration_entry(pte_to_swp_entry(vmf->orig_pte))) {
			migration_entry_wait(mm, vmf->pmd, vmf->address);
			return 0;
		}
		return do_swap_page(vmf);
	}
	/* A PROT_NONE PTE in a VMA the caller found accessible: only FOLL_FORCE reaches it. */
	if (pte_protnone(vmf->orig_pte))
		return VM_FAULT_SIGSEGV;

	lock_fault_pte(vmf);
	if (!vmf->pte)
		return 0;
	entry = vmf->orig_pte;
	if (unlikely(!pte_same(ptep_get(vmf->pte), entry))) {
		pte_unmap_unlock(vmf->pte, vmf->ptl); /* changed under us: the caller retries */
		return 0;
	}
	if ((vmf->flags & (FAULT_FLAG_WRITE | FAULT_FLAG_UNSHARE)) && !pte_write(entry))
		return do_wp_page(vmf);
	if (vmf->flags & FAULT_FLAG_WRITE)
		entry = pte_mkdirty(entry);
	set_pte_at(mm, vmf->address, vmf->pte, pte_mkyoung(entry));
	pte_unmap_unlock(vmf->pte, vmf->ptl);
	return 0;
}

/**
 * handle_mm_fault - resolve one fault
 * @vma: the VMA containing @address (the caller checked the access against it)
 * @address: the faulting address
 * @flags: FAULT_FLAG_WRITE, FAULT_FLAG_UNSHARE, FAULT_FLAG_REMOTE
 *
 * mmap_lock held for read.  Returns 0 when the caller should look at the
 * PTE again (it is in place, or someone else changed it meanwhile), or
 * VM_FAULT_OOM / VM_FAULT_SIGBUS / VM_FAULT_SIGSEGV.
 */
vm_fault_t handle_mm_fault(struct vm_area_struct *vma, unsigned long address, unsigned int flags)
{
	struct vm_fault vmf = {
		.vma = vma,
		.address = address & PAGE_MASK,
		.flags = flags,
	};

	mmap_assert_locked(vma->vm_mm);
	if (address < vma->vm_start || address >= vma->vm_end)
		return VM_FAULT_SIGSEGV;
	vmf.pgoff = linear_page_index(vma, vmf.address);
	vmf.pmd = mm_alloc_pmd(vma->vm_mm, address);
	if (!vmf.pmd)
		return VM_FAULT_OOM;
	return handle_pte_fault(&vmf);
}

/* ---- zapping ---- */

/*
 * One zap serves every path that takes PTEs away: munmap and exit
 * (unmap_vmas()), MADV_DONTNEED and the OOM reaper (unmap_single_vma(),
 * zap_page_range_single()), truncation and hole punching
 * (unmap_mapping_range()).  Each path announces its range with
 * invalidate_range_start before the zap's atomic section opens (rule 1,
 * invalidate before free; rule 6, notifier outside atomic sections), and
 * the pages it gathers are freed by tlb_finish_mmu(), after the end.
 * @details says which PTEs go; NULL means all of them.
 */

/* Does the zap take private anonymous pages (a file mapping's COWs) and swap entries? */
static inline bool should_zap_cows(const struct zap_details *details)
{
	return !details || details->even_cows;
}

/*
 * Does the zap take the PTE of @page?  NULL for a present PTE that maps no
 * page the pool knows (reported by vm_normal_page()): it goes, unless the
 * zap is after one particular page.
 */
static bool should_zap_page(const struct zap_details *details, struct page *page)
{
	if (!details)
		return true;
	if (details->single_page)
		return page == details->single_page;
	if (should_zap_cows(details) || !page)
		return true;
	return !PageAnon(page);
}

/* The cleared PTE of @addr must leave the TLB before the gathered pages are freed. */
static void tlb_remove_tlb_entry(struct mmu_gather *tlb, unsigned long addr)
{
	tlb->start = min(tlb->start, addr);
	tlb->end = max(tlb->end, addr + PAGE_SIZE);
}

static void zap_present_pte(struct mmu_gather *tlb, struct vm_area_struct *vma, pte_t *pte,
			    unsigned long addr, const struct zap_details *details, long *rss)
{
	struct page *page = vm_normal_page(vma, addr, ptep_get(pte));
	pte_t ptent;

	if (!should_zap_page(details, page))
		return;
	ptent = ptep_get_and_clear(tlb->mm, addr, pte);
	tlb_remove_tlb_entry(tlb, addr);
	if (unlikely(!page))
		return;
	if (!PageAnon(page)) {
		/* What the "hardware" recorded in the PTE is the page's now. */
		if (pte_dirty(ptent))
			set_page_dirty(page);
		if (pte_young(ptent))
			SetPageReferenced(page);
	}
	rss[mm_counter(page)]--;
	/*
	 * A PTE to a page with no mapping counted: the PTE and rmap disagree.
	 * The kernel looks for the mapcount gone negative after the removal;
	 * page_remove_rmap() here repairs an underflow itself, so the zap
	 * looks first, and reports the PTE instead of removing a mapping
	 * that is not there.
	 */
	if (unlikely(!page_mapped(page)))
		print_bad_pte(vma, addr, ptent, "page not mapped");
	else
		page_remove_rmap(page, vma);
	tlb_remove_page(tlb, page);
}

static void zap_nonpresent_pte(struct mmu_gather *tlb, struct vm_area_struct *vma, pte_t *pte,
			       unsigned long addr, const struct zap_details *details, long *rss)
{
	swp_entry_t entry = pte_to_swp_entry(ptep_get(pte));
	struct page *page;

	if (is_migration_entry(entry)) {
		/* No reference, no mapcount: migration finds the entry gone and maps nothing. */
		page = pfn_swap_entry_to_page(tlb->mm->pool, entry);
		if (!should_zap_page(details, page))
			return;
		rss[mm_counter(page)]--;
	} else if (!non_swap_entry(entry)) {
		/* A swapped-out anonymous page: to a file mapping, a private COW. */
		if (!should_zap_cows(details))
			return;
		rss[MM_SWAPENTS]--;
		free_swap_and_cache(entry);
	}
	pte_clear(tlb->mm, addr, pte);
}

/*
 * The PTE table is found from a snapshot of the pmd entry, and the entry
 * is checked, once the table's lock is held, to still name it, as the
 * kernel's pte_offset_map_lock() does; if it changed, the zap looks again.
 * munmap, exit and MADV_DONTNEED hold mmap_lock, and only free_pgtables(),
 * under the write lock, frees tables; truncation holds only i_mmap_rwsem,
 * and between the snapshot and the lock only rule 5 (unlink before freeing
 * page tables) keeps the table alive: munmap unlinks the VMA from i_mmap
 * before it frees the VMA's tables.  The kernel rechecks on every path,
 * since khugepaged replaces tables under i_mmap_rwsem alone; so does this.
 */
static void zap_pte_range(struct mmu_gather *tlb, struct vm_area_struct *vma, pmd_t *pmd,
			  unsigned long addr, unsigned long end, const struct zap_details *details)
{
	long rss[NR_MM_COUNTERS] = { 0 };
	pte_t *start_pte, *pte;
	spinlock_t *ptl;
	pmd_t pmdval;

again:
	pmdval = pmdp_get(pmd);
	if (pmd_none(pmdval))
		return;
	sched_point("zap_pte_range:pte_table");
	start_pte = __pte_offset_map_lock(tlb->mm, &pmdval, addr, &ptl);
	if (!start_pte)
		return;
	if (unlikely(pmdp_get(pmd) != pmdval)) {
		pte_unmap_unlock(start_pte, ptl);
		goto again;
	}
	pte = start_pte;
	do {
		pte_t ptent = ptep_get(pte);

		if (pte_none(ptent))
			continue;
		if (pte_present(ptent))
			zap_present_pte(tlb, vma, pte, addr, details, rss);
		else
			zap_nonpresent_pte(tlb, vma, pte, addr, details, rss);
	} while (pte++, addr += PAGE_SIZE, addr != end);
	add_mm_rss_vec(tlb->mm, rss);
	pte_unmap_unlock(start_pte, ptl);
}

static void unmap_page_range(struct mmu_gather *tlb, struct vm_area_struct *vma, unsigned long addr,
			     unsigned long end, const struct zap_details *details)
{
	unsigned long next;
	pmd_t *pmd;

	for (; addr != end; addr = next) {
		pmd = pmd_span(tlb->mm, addr, end, &next);
		if (pmd)
			zap_pte_range(tlb, vma, pmd, addr, next, details);
	}
}

/*
 * Zap the part of @vma inside [start_addr, end_addr).  The caller has
 * called invalidate_range_start on the range: only now does the atomic
 * section open (rule 6, notifier outside atomic sections).
 */
void unmap_single_vma(struct mmu_gather *tlb, struct vm_area_struct *vma, unsigned long start_addr,
		      unsigned long end_addr, const struct zap_details *details)
{
	unsigned long start = max(vma->vm_start, start_addr);
	unsigned long end = min(vma->vm_end, end_addr);

	if (start >= end)
		return;
	tlb_start_zap(tlb);
	unmap_page_range(tlb, vma, start, end, details);
	tlb_end_zap(tlb);
}

/*
 * LEGACY HOOK (--legacy=start_in_tlb_gather): unmap_vmas() as it was from
 * the first mmu_notifier (2.6.27, 2008) until the preemptible mmu_gather
 * (3.0, 2011).  The gather was per-CPU (tlb_gather_mmu() took it with
 * get_cpu_var(), preemption off until tlb_finish_mmu()), and
 * invalidate_range_start was called inside it: callbacks could not sleep,
 * which kept out the subscribers that must (XPMEM, then RDMA on-demand
 * paging, whose series took the last calls out of the PT lock in 3.6).
 * Here the zap's atomic section opens before the start: might_sleep() in
 * the start reports it, and so does every lock a callback sleeps on.
 */
static void legacy_unmap_vmas_start_in_gather(struct mmu_gather *tlb, struct vm_area_struct *vma,
					      struct mmu_notifier_range *range)
{
	tlb_start_zap(tlb);
	mmu_notifier_invalidate_range_start(range);
	for (; vma && vma->vm_start < range->end; vma = vma_next(vma)) {
		unsigned long start = max(vma->vm_start, range->start);
		unsigned long end = min(vma->vm_end, range->end);

		if (start < end)
			unmap_page_range(tlb, vma, start, end, NULL);
	}
	tlb_end_zap(tlb);
	mmu_notifier_invalidate_range_end(range);
}

void unmap_vmas(struct mmu_gather *tlb, struct vm_area_struct *vma, unsigned long start,
		unsigned long end)
{
	struct mmu_notifier_range range;

	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, vma->vm_mm, start, end);
	if (unlikely(legacy_on(vma->vm_mm->legacy, LEGACY_START_IN_TLB_GATHER))) {
		legacy_unmap_vmas_start_in_gather(tlb, vma, &range);
		return;
	}
	mmu_notifier_invalidate_range_start(&range);
	for (; vma && vma->vm_start < end; vma = vma_next(vma))
		unmap_single_vma(tlb, vma, start, end, NULL);
	mmu_notifier_invalidate_range_end(&range);
}

void zap_page_range_single(struct vm_area_struct *vma, unsigned long address, unsigned long size,
			   const struct zap_details *details)
{
	struct mmu_notifier_range range;
	unsigned long end = address + size;
	struct mmu_gather tlb;

	if (end <= address)
		return;
	tlb_gather_mmu(&tlb, vma->vm_mm);
	if (unlikely(legacy_on(vma->vm_mm->legacy, LEGACY_ZAP_WITHOUT_NOTIFIER))) {
		/* LEGACY (--legacy=zap_without_notifier): no secondary MMU hears of it. */
		unmap_single_vma(&tlb, vma, address, end, details);
		tlb_finish_mmu(&tlb);
		return;
	}
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, vma->vm_mm, address, end);
	mmu_notifier_invalidate_range_start(&range);
	unmap_single_vma(&tlb, vma, address, end, details);
	mmu_notifier_invalidate_range_end(&range);
	tlb_finish_mmu(&tlb);
}

/* ---- unmapping a file range from every process ---- */

INTERVAL_TREE_DEFINE_TYPED(vma_interval_tree, struct vm_area_struct, shared)

/* Every VMA of the file overlapping pages [first, last], i_mmap_rwsem held. */
static void unmap_mapping_range_tree(struct address_space *mapping, unsigned long first,
				     unsigned long last, const struct zap_details *details)
{
	struct vm_area_struct *vma;

	interval_tree_foreach_typed(vma_interval_tree, vma, &mapping->i_mmap, first, last) {
		unsigned long vba = vma->vm_pgoff;
		unsigned long vea = vba + vma_pages(vma) - 1;
		unsigned long zba = max(first, vba);
		unsigned long zea = min(last, vea);
		unsigned long start = vma->vm_start + ((zba - vba) << PAGE_SHIFT);

		zap_page_range_single(vma, start, (zea - zba + 1) << PAGE_SHIFT, details);
	}
}

/*
 * Without any process's mmap_lock: i_mmap_rwsem (read) keeps each VMA
 * found in i_mmap, and its page tables (rule 5, unlink before freeing page
 * tables), until the walk is done.
 */
static void __unmap_mapping_pages(struct address_space *mapping, unsigned long start,
				  unsigned long nr, const struct zap_details *details)
{
	unsigned long last = start + nr - 1;

	if (last < start)
		last = ULONG_MAX;
	i_mmap_lock_read(mapping);
	if (!interval_tree_empty(&mapping->i_mmap))
		unmap_mapping_range_tree(mapping, start, last, details);
	i_mmap_unlock_read(mapping);
}

/**
 * unmap_mapping_pages - unmap pages [start, start + nr) of a file everywhere
 * @mapping: the file
 * @start: first page index
 * @nr: number of pages (0 is treated as "to the end", as ULONG_MAX is)
 * @even_cows: remove the private anonymous COWs of these pages too
 */
void unmap_mapping_pages(struct address_space *mapping, unsigned long start, unsigned long nr,
			 bool even_cows)
{
	struct zap_details details = { .even_cows = even_cows };

	if (!nr)
		nr = ULONG_MAX - start;
	__unmap_mapping_pages(mapping, start, nr, &details);
}

/**
 * unmap_mapping_range - unmap a byte range of a file from every process
 * @mapping: the file
 * @holebegin: first byte; rounded down to its page
 * @holelen: bytes; rounded up to whole pages; 0 means to the end of the file
 * @even_cows: 1 to remove private COWs as well (truncation), 0 to keep them
 *	(hole punching, invalidation)
 */
void unmap_mapping_range(struct address_space *mapping, loff_t holebegin, loff_t holelen,
			 int even_cows)
{
	unsigned long start = (unsigned long)holebegin >> PAGE_SHIFT;
	unsigned long nr = 0;

	if (holelen) {
		unsigned long hole_end = PAGE_ALIGN((unsigned long)holebegin + holelen);

		nr = (hole_end >> PAGE_SHIFT) - start;
		if (!nr)
			return;
	}
	unmap_mapping_pages(mapping, start, nr, even_cows);
}

/* The PTEs of one locked page-cache page, and not its COWs (the kernel's unmap_mapping_folio()). */
void unmap_mapping_page(struct page *page)
{
	struct zap_details details = { .single_page = page };

	WARN_ON(!PageLocked(page));
	__unmap_mapping_pages(page_mapping(page), page->index, 1, &details);
}

/* ---- freeing page tables ---- */

/*
 * Rule 5, unlink before freeing page tables: rmap walkers (reclaim,
 * truncation) find a VMA through its anon_vma chains and i_mmap without
 * mmap_lock and then walk its page tables.  Once the VMA is off both, no
 * new walker can reach its tables; one already inside holds the anon_vma or
 * i_mmap lock that the unlink took, so it has finished.  Only then may the
 * tables go.
 */
static void free_pgtables_unlink(struct vm_area_struct *vma)
{
	unlink_anon_vmas(vma);
	if (vma->vm_file)
		unlink_file_vma(vma);
}

void free_pgtables(struct mmu_gather *tlb, struct vm_area_struct *vma, unsigned long floor,
		   unsigned long ceiling)
{
	struct vm_area_struct *next;

	for (; vma && vma->vm_start <= ceiling - 1; vma = next) {
		next = vma_next(vma);
		if (next && next->vm_start > ceiling - 1)
			next = NULL;
		sched_point("free_pgtables:unlink");
		free_pgtables_unlink(vma);
		free_pgd_range(tlb, vma->vm_start, vma->vm_end, floor,
			       next ? next->vm_start : ceiling);
	}
}

/*
 * LEGACY HOOK (--legacy=free_pgtables_before_unlink): munmap as it was
 * before the kernel unlinked VMAs in free_pgtables() (2005).  The page
 * tables are freed and the gather finished first; the VMAs leave their
 * anon_vma chains and i_mmap only afterwards.  A truncation or rmap walk
 * that found a VMA in i_mmap meanwhile steps into freed tables, which the
 * host page-table walk reports.  Finishes @tlb.
 */
void legacy_free_pgtables_before_unlink(struct mmu_gather *tlb, struct vm_area_struct *vma,
					unsigned long floor, unsigned long ceiling)
{
	struct vm_area_struct *first = vma, *next;

	for (; vma && vma->vm_start <= ceiling - 1; vma = next) {
		next = vma_next(vma);
		if (next && next->vm_start > ceiling - 1)
			next = NULL;
		free_pgd_range(tlb, vma->vm_start, vma->vm_end, floor,
			       next ? next->vm_start : ceiling);
	}
	tlb_finish_mmu(tlb);
	for (vma = first; vma && vma->vm_start <= ceiling - 1; vma = vma_next(vma)) {
		sched_point("free_pgtables:unlink");
		free_pgtables_unlink(vma);
	}
}
