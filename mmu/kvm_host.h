/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The secondary MMU's VM and vCPU, after the kernel's include/linux/kvm_host.h:
 * a guest-physical address space (memslots) mapped onto a host mm through
 * SPTE tables that hold no reference on any page, kept coherent by an
 * mmu_notifier (docs/design.md: rule 1, invalidate before free; rule 2,
 * retry instead of pin; rule 3, flush before return).
 *
 *	struct kvm *kvm = kvm_create_vm(mm, 0);
 *	kvm_set_memory_region(kvm, 0, 0, 0x100000, 16 << 20, hva);
 *	struct kvm_vcpu *vcpu = kvm_create_vcpu(kvm, 0, NULL);	  the access engine
 *	kvm_vcpu_write(vcpu, 0x100000, buf, len);	  faults in, through the TLB
 *	kvm_destroy_vcpu(vcpu);
 *	kvm_destroy_vm(kvm);
 *
 * Lock order, outermost first: slots_lock (mutex), then kvm->srcu (read),
 * then the host's locks (mmap_lock ... the PTE lock), then mmu_lock, then
 * tables_lock (kvm_mmu_map() links a new table page under mmu_lock).
 * vcpu_lock (mutex) is taken before mmu_lock, with no host lock held.
 * mn_invalidate_lock is a leaf taken under the host's locks (the notifier
 * counts its invalidations there), never together with mmu_lock.  mmu_lock
 * is a spinning rwlock: everything under it is an atomic section, so SPTE
 * table pages are allocated before it is taken (kvm_mmu_topup_memory_cache()).
 */
#ifndef NOPIN_MMU_KVM_HOST_H
#define NOPIN_MMU_KVM_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include "base/atomic.h"
#include "base/mutex.h"
#include "base/rwlock.h"
#include "base/spinlock.h"
#include "base/wait.h"
#include "mm/mm.h"
#include "mm/mmu_notifier.h"
#include "mm/sanitizer.h"
#include "notifier/srcu.h"

typedef uint64_t gpa_t;
typedef uint64_t gfn_t;
typedef uint64_t gva_t; /* a guest virtual address */
typedef uint64_t hpa_t;

#define INVALID_GPA (~(gpa_t)0)
#define gpa_to_gfn(gpa) ((gfn_t)(gpa) >> PAGE_SHIFT)
#define gfn_to_gpa(gfn) ((gpa_t)(gfn) << PAGE_SHIFT)

/*
 * Guest-physical addresses have 47 bits: the lower half of what 4-level
 * tables map.  The upper half (root entries 256-511) belongs to the kvm
 * backend, which maps its own pages at the top of the address space there
 * (docs/design.md, "The guest ABI"); zaps never reach it.
 */
#define KVM_GPA_BITS 47
#define KVM_MAX_GFN (1ULL << (KVM_GPA_BITS - PAGE_SHIFT))

#define KVM_USER_MEM_SLOTS 32

/* kvm_set_memory_region() flags */
/* The uapi's value, which the kvm backend also sees through <linux/kvm.h>. */
#ifndef KVM_MEM_READONLY
#define KVM_MEM_READONLY (1u << 1)
#endif
/* Internal: the slot is being deleted or moved; faults on it retry. */
#define KVM_MEMSLOT_INVALID (1u << 16)

struct kvm_memory_slot {
	gfn_t base_gfn;
	unsigned long npages;
	unsigned long userspace_addr; /* host virtual address of base_gfn */
	uint32_t flags;
	short id;
	/* Pin mode only: the page each gfn is pinned on, or NULL. */
	struct page **pinned;
	/*
	 * The shadow MMU's, per gfn (mmu/shadow.c): every shadow leaf that
	 * maps it (KVM's rmap), and how many shadow pages shadow a guest
	 * table there (KVM's gfn_write_track): while not zero, no shadow
	 * entry of the gfn is writable.
	 */
	struct kvm_rmap_head *rmap;
	unsigned short *gfn_write_track;
	/*
	 * Which rmaps may be non-empty, so that a range walk skips the rest
	 * (mmu/shadow_rmap.c): bit g of rmap_groups for the 64 gfns from
	 * 64 g, bit G of rmap_blocks for the 64 groups from 64 G.
	 */
	unsigned long *rmap_groups;
	unsigned long *rmap_blocks;
};

/* A list of SPTE pointers: one inline, or a chain of pte_list_desc (mmu/shadow.h). */
struct kvm_rmap_head {
	unsigned long val;
};

/*
 * One generation of memslots, immutable once published: an update copies,
 * changes the copy and swaps it in (kvm_swap_active_memslots()).  Sorted
 * by base_gfn.  The kernel keeps gfn and hva trees; with at most
 * KVM_USER_MEM_SLOTS slots a scan does as well.
 */
struct kvm_memslots {
	uint64_t generation;
	int nr;
	struct kvm_memory_slot slots[KVM_USER_MEM_SLOTS];
};

/* ---- vCPUs ---- */

enum kvm_vcpu_mode {
	OUTSIDE_GUEST_MODE,
	IN_GUEST_MODE,
	EXITING_GUEST_MODE,
	READING_SHADOW_PAGE_TABLES,
};

/* vcpu->requests bits, and how kvm_make_all_cpus_request() delivers them. */
#define KVM_REQ_TLB_FLUSH 0
#define KVM_REQUEST_MASK 0xff
#define KVM_REQUEST_NO_WAKEUP (1u << 8)
#define KVM_REQUEST_WAIT (1u << 9)

/*
 * The software TLB: a direct-mapped cache of translations, written and
 * read by the vCPU's own thread only, indexed by page number: a
 * guest-virtual one when the vCPU runs on the guest's tables (paged), the
 * gfn itself on the identity map.  Each entry keeps the frame stamp taken
 * when it was filled, so every access checks the frame is still what the
 * translation was made from (docs/design.md, "The frame sanitizer").  The
 * rights are those of the whole translation: the guest's tables' combined
 * with the SPTE's.
 */
#define KVM_TLB_ENTRIES 64

struct kvm_tlb_entry {
	gfn_t vpn; /* the page's number: guest-virtual if paged, else its gfn */
	gfn_t gfn;
	void *hva; /* page_address() of the frame */
	struct frame_stamp stamp;
	bool valid;
	bool paged;    /* vpn is a page of the guest's tables, not a gfn */
	bool writable; /* the SPTE is writable and dirty (and so is the guest's leaf) */
	bool exec;     /* no XD on the guest's way to it */
	bool user;     /* U all the way down the guest's tables */
	uint8_t level; /* the guest leaf's level: INVLPG drops all of a large page */
};

struct kvm_vcpu;

/*
 * What a backend (the software vCPU, the access engine, /dev/kvm) provides
 * to the remote flush: kick the vCPU out of guest mode, the way an IPI does,
 * and drop the translations it caches beside the software TLB, which
 * kvm_vcpu_flush_tlb() clears itself.  kick may be called with mmu_lock
 * held: it must not sleep.
 */
struct kvm_vcpu_ops {
	void (*kick)(struct kvm_vcpu *vcpu);
	/* Optional: the soft vCPU's decoded instructions, the kvm guest's TLB. */
	void (*flush_tlb)(struct kvm_vcpu *vcpu);
	/* Optional: print the guest instruction behind an access, inside a report. */
	void (*describe_access)(struct kvm_vcpu *vcpu);
	/*
	 * Optional: the vCPU's walk of the guest's tables wrote guest memory
	 * at @gpa (an A or D bit), as a guest store would: the soft vCPU
	 * drops what it decoded from that page.
	 */
	void (*guest_written)(struct kvm_vcpu *vcpu, gpa_t gpa);
	/*
	 * Optional (KVM's flush_tlb_guest): the guest itself asked its TLB to
	 * drop translations (INVLPG, its TLB flush, a CR3 load), on the
	 * vCPU's own thread: the kvm backend's hardware TLB, before the guest
	 * runs again.  The software TLB is done already.
	 */
	void (*flush_tlb_guest)(struct kvm_vcpu *vcpu);
};

/* SPTE table pages allocated before mmu_lock is taken (the kernel's kvm_mmu_memory_cache). */
#define KVM_MMU_CACHE_PAGES 4
struct kvm_mmu_memory_cache {
	int nobjs;
	struct page *objects[KVM_MMU_CACHE_PAGES];
};

/* The shadow MMU's shadow-page headers and rmap descriptors, allocated likewise. */
#define KVM_MMU_CACHE_OBJS 8
struct kvm_mmu_obj_cache {
	int nobjs;
	void *objects[KVM_MMU_CACHE_OBJS];
};

/*
 * A shadow root and the CR3 it shadows (KVM's kvm_mmu_root_info).  The
 * vCPU holds a root count on sp while it is current or cached.
 */
struct kvm_mmu_page;
struct kvm_mmu_root_info {
	gpa_t pgd; /* the guest's CR3, bits 11:0 clear */
	struct kvm_mmu_page *sp;
};
/* Previous roots a vCPU keeps, as KVM does, so that a CR3 switch back costs nothing. */
#define KVM_MMU_NUM_PREV_ROOTS 3

struct kvm_vcpu_stat {
	atomic_long_t tlb_hits;
	atomic_long_t tlb_misses;
	atomic_long_t tlb_flushes;
	atomic_long_t kicks_acked;
	atomic_long_t page_faults;
	/* Guest paging (mmu/paging.c). */
	atomic_long_t guest_walks;	 /* TLB misses that walked the guest's tables */
	atomic_long_t guest_page_faults; /* walks the guest's tables refused */
	atomic_long_t cr3_loads;
	atomic_long_t invlpgs;
	/* The shadow MMU (mmu/shadow*.c). */
	atomic_long_t shadow_faults;	/* shadow leaves installed by FNAME(fetch) */
	atomic_long_t cached_root_hits; /* CR3 loads that found their root cached */
	atomic_long_t tracked_writes;	/* guest writes to write-tracked gfns */
};

/*
 * How a guest virtual address becomes a guest-physical one.  FLAT: it is
 * one (va == gpa), the guest has no tables.  TDP: the vCPU walks the
 * guest's own tables in guest-physical space, every table page through the
 * SPTE tables, as a CPU with EPT does.  SHADOW: the VMM walks the guest's
 * tables and builds shadow tables from guest-virtual to host.  In TDP and
 * SHADOW a vCPU whose CR3 is KVM_CR3_IDENTITY runs on the identity map,
 * as in FLAT.
 */
enum kvm_mmu_mode {
	KVM_MMU_FLAT,
	KVM_MMU_TDP,
	KVM_MMU_SHADOW,
};

/* The CR3 the guest ABI reserves for "the VMM's identity tables". */
#define KVM_CR3_IDENTITY (~(gpa_t)0)

struct kvm_vcpu {
	struct kvm *kvm;
	int vcpu_id;
	int mode;		/* enum kvm_vcpu_mode, see mmu/tlb.c */
	unsigned long requests; /* KVM_REQ_* bits */
	unsigned long ipi_seq;	/* kicks sent (atomic) */
	unsigned long ipi_ack;	/* kicks the vCPU has acknowledged (atomic) */
	const struct kvm_vcpu_ops *ops;
	struct kvm_tlb_entry tlb[KVM_TLB_ENTRIES];
	gpa_t cr3; /* the guest's page-table root, or KVM_CR3_IDENTITY */
	/* SHADOW: the shadow of cr3 (sp NULL until the first miss), and the cache. */
	struct kvm_mmu_root_info root;
	struct kvm_mmu_root_info prev_roots[KVM_MMU_NUM_PREV_ROOTS];
	struct kvm_mmu_memory_cache mmu_page_cache;
	struct kvm_mmu_obj_cache mmu_shadow_page_cache;
	struct kvm_mmu_obj_cache mmu_pte_list_desc_cache;
	struct kvm_vcpu_stat stat;
	char name[16]; /* "vCPU 0", for reports */
	void *private; /* the backend's */
};

/* ---- the VM ---- */

struct kvm_stat {
	atomic_long_t invalidations;	    /* invalidate_range_start calls that hit a slot */
	atomic_long_t invalidations_missed; /* ... that hit none (no lock taken) */
	/* Invalidations that hit a slot, by mmu_notifier_range event. */
	atomic_long_t invalidations_by_event[MMU_NOTIFY_EXCLUSIVE + 1];
	atomic_long_t sptes_zapped;
	atomic_long_t remote_tlb_flushes;
	atomic_long_t faults;		/* kvm_mmu_page_fault() calls */
	atomic_long_t pf_fixed;		/* SPTEs installed */
	atomic_long_t pf_retries;	/* faults retried (invalidation collision) */
	atomic_long_t pf_retries_early; /* ... of which caught by the lockless pre-check */
	atomic_long_t pf_retries_injected;
	atomic_long_t young_cleared;
	atomic_long_t dirty_transferred; /* SPTE dirty bits moved to the host page */
	atomic_long_t pages_pinned;	 /* pin mode */
	atomic_long_t tables_allocated;
	/* The shadow MMU. */
	atomic_long_t shadow_pages; /* live shadow pages */
	atomic_long_t shadow_pages_zapped;
	atomic_long_t shadow_pages_freed;
	atomic_long_t shadow_sptes_zapped; /* leaves zapped through the rmap */
	atomic_long_t shadow_pte_writes;   /* kvm_mmu_track_write() calls */
};

/*
 * The kvm backend's own pages at the top of the guest's address space,
 * from KVM_VMM_TOP_GVA (docs/design.md, "The guest ABI": the VMM's top 16
 * MiB), which every shadow root must reach too, whatever the guest's
 * tables say: the flush stub runs on whatever root the vCPU is on.  The
 * entries the VMM's own tables have on the way there, which the shadow
 * pages on the same way carry in the same slots (role.vmm_top,
 * mmu/shadow.h).  All zero on the soft backend, which has none.
 */
#define KVM_VMM_TOP_GVA 0xffffffffff000000ULL
#define KVM_VMM_TOP_PDES 8 /* the PD slots of the top 16 MiB, 504-511 */
struct kvm_vmm_top {
	uint64_t pml4e;			/* root slot 511: the VMM's PDPT; 0: no top */
	uint64_t pdpte;			/* its slot 511: the VMM's PD */
	uint64_t pde[KVM_VMM_TOP_PDES]; /* the PD's slots 504-511 */
};

/* Buckets of kvm->mmu_page_hash. */
#define KVM_MMU_HASH_SHIFT 10
#define KVM_NUM_MMU_PAGES (1 << KVM_MMU_HASH_SHIFT)

/* kvm_create_vm() flags */
#define KVM_VM_PIN_MODE 0x1u /* the baseline: long-term pins, no notifier */

struct kvm {
	struct mm_struct *mm; /* held with mmgrab(), never mmget() */
	struct frame_pool *pool;
	unsigned int flags;
	unsigned long legacy; /* LEGACY_BIT(LEGACY_NO_INVALIDATE_RETRY / _NO_REMOTE_FLUSH) */

	struct mmu_notifier mmu_notifier;
	/* x86's mmu_lock is an rwlock; this model takes it for write everywhere. */
	rwlock_t mmu_lock;
	unsigned long mmu_invalidate_seq;
	long mmu_invalidate_in_progress;
	gfn_t mmu_invalidate_range_start;
	gfn_t mmu_invalidate_range_end;

	/* Memslots: read under srcu, updated under slots_lock. */
	struct srcu_struct srcu;
	struct mutex slots_lock;
	struct kvm_memslots *memslots;
	uint64_t memslots_generation;
	/* A memslot swap waits while an invalidation is between start and end. */
	spinlock_t mn_invalidate_lock;
	long mn_active_invalidate_count;
	wait_queue_head_t mn_memslots_update_wq;

	/*
	 * Remote flushes by number (mmu/tlb.c): the last requested, under
	 * mmu_lock, and the last done, every one before it done too; a
	 * flusher waiting outside mmu_lock sleeps on tlb_flush_wq.
	 */
	unsigned long tlb_flush_requested;
	unsigned long tlb_flush_done;
	wait_queue_head_t tlb_flush_wq;

	/* The SPTE root: a FRAME_SECONDARY table of the pool. */
	struct page *root;
	spinlock_t tables_lock; /* every table page, on page->lru */
	struct list_head tables;

	/*
	 * The shadow MMU (mmu/shadow.c), under mmu_lock: every shadow page,
	 * by the gfn of the guest table it shadows, and on a list.  Zapped
	 * pages wait on zapped_mmu_pages for a remote flush before they are
	 * freed (kvm_mmu_commit_zap_page()).
	 */
	struct hlist_head *mmu_page_hash;
	struct list_head active_mmu_pages;
	/* The backend's pages every shadow root maps; set before any vCPU runs. */
	struct kvm_vmm_top vmm_top;

	struct mutex vcpu_lock;
	struct kvm_vcpu *vcpus[NR_CPUS];
	int online_vcpus;

	/* Fault injection: every Nth retry check fails (0: never). */
	unsigned int fault_inject_retry_interval;
	atomic_long_t fault_inject_count;

	enum kvm_mmu_mode mmu_mode; /* set before the first vCPU runs */
	struct kvm_stat stat;
};

/* ---- VM and vCPU lifetime [mmu/kvm_main.c] ---- */

/*
 * A VM on @mm (the caller holds an mm_users reference; the VM keeps only
 * mm_count).  Registers the mmu_notifier unless KVM_VM_PIN_MODE.
 * ERR_PTR(-ENOMEM) on failure.
 */
struct kvm *kvm_create_vm(struct mm_struct *mm, unsigned int flags);
/* vCPUs must be destroyed first. */
void kvm_destroy_vm(struct kvm *kvm);
/* A vCPU with the access engine's backend unless @ops; ERR_PTR on failure. */
struct kvm_vcpu *kvm_create_vcpu(struct kvm *kvm, int id, const struct kvm_vcpu_ops *ops);
void kvm_destroy_vcpu(struct kvm_vcpu *vcpu);

static inline bool kvm_pin_mode(const struct kvm *kvm)
{
	return kvm->flags & KVM_VM_PIN_MODE;
}

/* ---- memslots [mmu/memslot.c] ---- */

/*
 * Create (size > 0, new id), move (new gpa), or delete (size 0) slot @id
 * mapping [gpa, gpa + size) to host [hva, hva + size).  Returns 0,
 * -EINVAL (misaligned, out of range, id too big, a change of size, hva or
 * flags), -EEXIST (overlaps another slot), -ENOMEM.
 */
int kvm_set_memory_region(struct kvm *kvm, int id, uint32_t flags, gpa_t gpa, uint64_t size,
			  unsigned long hva);
/* The slot holding @gfn, or NULL; inside an srcu read section of kvm->srcu. */
struct kvm_memory_slot *gfn_to_memslot(struct kvm *kvm, gfn_t gfn);
static inline unsigned long gfn_to_hva_memslot(const struct kvm_memory_slot *slot, gfn_t gfn)
{
	return slot->userspace_addr + ((gfn - slot->base_gfn) << PAGE_SHIFT);
}
static inline struct kvm_memslots *kvm_memslots(struct kvm *kvm)
{
	return srcu_dereference_check(kvm->memslots, &kvm->srcu, lockdep_is_held(&kvm->slots_lock));
}
#define kvm_for_each_memslot(slot, slots)                                                          \
	for (slot = (slots)->slots; slot < (slots)->slots + (slots)->nr; slot++)
/* Free every memslot at VM destruction (unpins in pin mode). */
void kvm_free_memslots(struct kvm *kvm);

/* ---- the fault path [mmu/fault.c] ---- */

/*
 * Map @gpa in the SPTE tables, faulting in the host page (a write fault
 * breaks COW).  Returns 0, -EFAULT (no slot, or the host refuses the
 * access), -ENOMEM.  Retries internally on invalidation collisions.
 * @vcpu may be NULL (then a local cache of table pages is used).
 */
int kvm_mmu_page_fault(struct kvm *kvm, struct kvm_vcpu *vcpu, gpa_t gpa, bool write);

/*
 * The retry checks (rule 2, retry instead of pin).  _unsafe: lockless,
 * may err both ways, a pre-check only; the locked one errs only towards
 * retrying.
 */
bool mmu_invalidate_retry_gfn_unsafe(struct kvm *kvm, unsigned long mmu_seq, gfn_t gfn);
bool mmu_invalidate_retry_gfn(struct kvm *kvm, unsigned long mmu_seq, gfn_t gfn);

/* ---- the notifier side [mmu/kvm_mmu_notifier.c] ---- */

int kvm_init_mmu_notifier(struct kvm *kvm);
void kvm_mmu_invalidate_begin(struct kvm *kvm);
void kvm_mmu_invalidate_range_add(struct kvm *kvm, gfn_t start, gfn_t end);
void kvm_mmu_invalidate_end(struct kvm *kvm);

/* ---- remote TLB flush and requests [mmu/tlb.c] ---- */

void kvm_make_request(int req, struct kvm_vcpu *vcpu);
bool kvm_request_pending(struct kvm_vcpu *vcpu);
bool kvm_check_request(int req, struct kvm_vcpu *vcpu);
/* Send @req to every vCPU; with KVM_REQUEST_WAIT wait for each in guest mode to ack. */
bool kvm_make_all_cpus_request(struct kvm *kvm, unsigned int req);
/* Every vCPU drops its cached translations before this returns; mmu_lock held. */
void kvm_flush_remote_tlbs(struct kvm *kvm);
/*
 * The same in two halves, so that mmu_lock need not be held while the
 * vCPUs are waited for (the notifier's invalidate_range_start):
 * _begin() under mmu_lock (write) requests the flush if @zapped, else
 * notes the flushes others requested; _wait() after mmu_lock is dropped,
 * inside kvm->srcu, returns once they are all done.  Its comment has the
 * argument that this keeps rule 3.
 */
struct kvm_tlb_flush {
	unsigned long gen; /* the flush number to wait for */
	bool zapped;	   /* ours: the caller zapped something */
	bool kicked;	   /* some vCPU was kicked: seqs holds what each must ack */
	unsigned long seqs[NR_CPUS];
};
void kvm_flush_remote_tlbs_begin(struct kvm *kvm, struct kvm_tlb_flush *f, bool zapped);
void kvm_flush_remote_tlbs_wait(struct kvm *kvm, struct kvm_tlb_flush *f, bool may_block);
/* A flush was requested and is not done yet (mmu_lock held). */
bool kvm_tlb_flush_pending(struct kvm *kvm);
/*
 * The vCPU's side.  enter: OUTSIDE -> IN_GUEST, serving requests first;
 * exit: back to OUTSIDE.  kvm_vcpu_kick_pending() is the "interrupt"
 * check a backend makes between guest instructions; on true it must exit.
 */
void kvm_vcpu_enter_guest(struct kvm_vcpu *vcpu);
void kvm_vcpu_exit_guest(struct kvm_vcpu *vcpu);
bool kvm_vcpu_kick_pending(struct kvm_vcpu *vcpu);
/* Drop every entry of the vCPU's software TLB; its own thread only. */
void kvm_vcpu_clear_tlb(struct kvm_vcpu *vcpu);

/* ---- the guest's paging, the vCPU's side [mmu/paging.c] ---- */

/*
 * The guest loads CR3 (the GPA of its PML4, or KVM_CR3_IDENTITY), or
 * invalidates what it cached for one page (INVLPG) or everything (a CR3
 * reload): the vCPU's own thread, as the instructions are.  0, or
 * -EOPNOTSUPP in FLAT mode, -EINVAL for a CR3 that is not a page of RAM.
 */
int kvm_vcpu_load_cr3(struct kvm_vcpu *vcpu, gpa_t cr3);
void kvm_vcpu_invlpg(struct kvm_vcpu *vcpu, gva_t gva);
void kvm_vcpu_flush_guest_tlb(struct kvm_vcpu *vcpu);
const char *kvm_mmu_mode_name(enum kvm_mmu_mode mode);

struct guest_walker;
struct kvm_tlb_xlate;
/*
 * TDP: in guest mode, on the vCPU's own thread, translate guest-virtual
 * @gva for @access (PFERR_WRITE_MASK, _FETCH_MASK, _USER_MASK of
 * mmu/paging_walk.h) as a CPU with EPT does: the TLB, or the guest's
 * tables from vcpu->cr3 with every table page read through the SPTE
 * tables, then the page's own SPTE.  On the identity map @gva is the GPA.
 * Returns 0 (xl->hva, xl->gpa); -EAGAIN when a GPA on the way has no SPTE
 * that allows the access, the page or a guest table (xl->fault_*):
 * kvm_vcpu_page_fault() there, then again; GUEST_WALK_EXCEPTION when the
 * guest's tables refuse it (@w->fault); -EFAULT when a freed frame was
 * reported.
 */
int kvm_vcpu_translate_gva(struct kvm_vcpu *vcpu, gva_t gva, uint32_t access,
			   struct kvm_tlb_xlate *xl, struct guest_walker *w);
/* Serve a flush on the vCPU's thread: kvm_vcpu_clear_tlb(), then ops->flush_tlb. */
void kvm_vcpu_flush_tlb(struct kvm_vcpu *vcpu);

/* ---- the access engine [mmu/access.c] ---- */

/* The engine's backend: kick is the counter it polls; no flush_tlb of its own. */
extern const struct kvm_vcpu_ops kvm_access_vcpu_ops;

/*
 * One translation, as the soft vCPU uses it: the host pointer to the byte
 * asked for and the stamp to check before touching it; or, when it needs
 * a secondary fault first, where.
 */
struct kvm_tlb_xlate {
	void *hva;
	struct frame_stamp stamp;
	bool writable;
	gpa_t gpa; /* the byte's guest-physical address */
	/*
	 * SHADOW: a write to a gfn the shadow MMU write-tracks (it holds a
	 * guest page table): hva is the page's, writable, but the caller must
	 * call kvm_vcpu_track_write() once the write is done.
	 */
	bool track_write;
	/* -EAGAIN: the GPA to fault in, for a write or not, and whose it is. */
	gpa_t fault_gpa;
	bool fault_write;
	int fault_level; /* 0: the page itself; 1-4: the guest's table of that level */
};

/*
 * In guest mode: translate @gpa through the TLB, then the SPTE tables
 * (a lockless walk, as hardware does), filling the TLB and setting the
 * SPTE's accessed (and, for a write, dirty) bit.  Returns 0, or -EAGAIN
 * when no SPTE allows the access: kvm_vcpu_page_fault(), then retry.
 */
int kvm_vcpu_translate(struct kvm_vcpu *vcpu, gpa_t gpa, bool write, struct kvm_tlb_xlate *xl);
/*
 * The vCPU's secondary fault at @gpa: leave guest mode, kvm_mmu_page_fault(),
 * enter again (a vCPU that was outside guest mode stays outside).  0: retry
 * the access.  An error of kvm_mmu_page_fault() leaves the vCPU outside
 * guest mode, as KVM returns to userspace: the caller decides what it means
 * (it may sleep), then kvm_vcpu_enter_guest() to retry.
 */
int kvm_vcpu_page_fault(struct kvm_vcpu *vcpu, gpa_t gpa, bool write);
/* Check a translation's frame before an access; false: reported. */
bool kvm_vcpu_check_frame(struct kvm_vcpu *vcpu, const struct kvm_tlb_xlate *xl, gpa_t gpa,
			  unsigned int size, bool write);
/*
 * Loads and stores of the access engine: translate, fault as needed, check
 * the frame, copy; @len may cross pages.  0 or -EFAULT/-ENOMEM.  These
 * leave guest mode when done, like one trip through KVM_RUN, so the
 * calling thread may then do anything.
 */
int kvm_vcpu_read(struct kvm_vcpu *vcpu, gpa_t gpa, void *buf, size_t len);
int kvm_vcpu_write(struct kvm_vcpu *vcpu, gpa_t gpa, const void *buf, size_t len);
/*
 * The same, staying in guest mode afterwards, for a vCPU thread doing many:
 * a flush then has to kick it.  Such a thread must not block, nor run host
 * memory operations itself, before kvm_vcpu_exit_guest(): a flush waits
 * for it.
 */
int __kvm_vcpu_read(struct kvm_vcpu *vcpu, gpa_t gpa, void *buf, size_t len);
int __kvm_vcpu_write(struct kvm_vcpu *vcpu, gpa_t gpa, const void *buf, size_t len);
/*
 * The same by guest-virtual address, through kvm_vcpu_translate_gva(),
 * for an @access of PFERR_* bits: a write copies from @buf, a read or a
 * fetch into it (@buf may be NULL: translate only).  0, GUEST_WALK_EXCEPTION
 * (@w->fault), or -EFAULT/-ENOMEM.
 */
int kvm_vcpu_access_gva(struct kvm_vcpu *vcpu, gva_t gva, void *buf, size_t len, uint32_t access,
			struct guest_walker *w);
int __kvm_vcpu_access_gva(struct kvm_vcpu *vcpu, gva_t gva, void *buf, size_t len, uint32_t access,
			  struct guest_walker *w);

/* ---- the shadow MMU [mmu/shadow.c, mmu/shadow_fault.c] ---- */

/*
 * A vCPU wrote @len bytes at @gpa through a translation with track_write
 * (a write-tracked gfn: a guest page table some shadow page shadows):
 * update the shadows derived from what it wrote (KVM's kvm_mmu_pte_write,
 * after kvm_page_track_write).  Call it after the write is in guest
 * memory and before the vCPU translates for its next instruction; the
 * soft vCPU's interpreter writes in place and calls it at the next
 * instruction boundary, the kvm backend emulates the faulting store with
 * the same interpreter and calls it after.  Leaves and re-enters guest
 * mode as kvm_vcpu_page_fault() does.
 */
void kvm_vcpu_track_write(struct kvm_vcpu *vcpu, gpa_t gpa, unsigned int len);
/* The same from outside guest mode, on any thread (a VMM device's write, a test). */
void kvm_mmu_track_write(struct kvm *kvm, gpa_t gpa, unsigned int len);
/* How many shadow pages shadow a guest table at @gfn (0: not write-tracked). */
unsigned int kvm_gfn_write_track_count(struct kvm *kvm, gfn_t gfn);
/* How many shadow leaves map @gfn (its rmap). */
unsigned int kvm_gfn_rmap_count(struct kvm *kvm, gfn_t gfn);
/*
 * The shadow leaf of @gva in the vCPU's current root right now (0 if
 * none), a lockless read for tests and the kvm backend's fault handler.
 */
uint64_t kvm_vcpu_shadow_spte(struct kvm_vcpu *vcpu, gva_t gva);
/*
 * KVM's kvm_mmu_reload(), for a backend whose hardware walks the shadow
 * root (the kvm backend, before each entry): make the root of the vCPU's
 * CR3 now if it has none or it was zapped, out of guest mode.  0 with
 * *@root_hpa the root table's address in the frame pool, or -ENOMEM.
 */
int kvm_mmu_reload(struct kvm_vcpu *vcpu, hpa_t *root_hpa);
/* The address of the vCPU's current shadow root, zapped or not, or 0 if it has none. */
hpa_t kvm_mmu_root_hpa(struct kvm_vcpu *vcpu);
/* Drop the vCPU's shadow roots (at vCPU destruction). */
void kvm_mmu_unload(struct kvm_vcpu *vcpu);

/* ---- SPTEs for tests and the flush of a slot [mmu/spte.c] ---- */

/* The SPTE of @gfn right now (0 if none): a lockless read. */
uint64_t kvm_mmu_spte(struct kvm *kvm, gfn_t gfn);
/* Zap every SPTE and flush (release, slot deletion). */
void kvm_mmu_zap_all(struct kvm *kvm);

#endif
