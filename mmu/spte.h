/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Secondary page-table entries (SPTEs), after arch/x86/kvm/mmu/spte.h: the
 * x86-64 4-level format, so that the same tables can later be the page
 * tables a guest runs on.  A 48-bit guest-physical address splits as the
 * host's virtual addresses do (mm/pgtable.h); an entry holds the pool pfn
 * of the next table or of the data frame where hardware has a physical
 * address.  Every table is a frame of the VM's pool in FRAME_SECONDARY.
 *
 * Entries change with atomics: the fault path installs under mmu_lock
 * (write), zaps take mmu_lock too, and the vCPU's walker reads without any
 * lock and sets the accessed and dirty bits with a cmpxchg that fails if
 * the entry changed, as a hardware page walker does.  Table pages are never
 * freed while the VM lives, so a lockless walker never steps into a freed
 * table; a zap frees nothing but the translation.  Each table keeps a
 * summary of which of its cache lines hold a present entry (mmu/spte.c),
 * so that zapping and aging a range cost what it maps, not its size.
 */
#ifndef NOPIN_MMU_SPTE_H
#define NOPIN_MMU_SPTE_H

#include <stdbool.h>
#include <stdint.h>

#include "mmu/kvm_host.h"
#include "mmu/pte_bits.h"

#define SPTE_BASE_ADDR_MASK PT64_BASE_ADDR_MASK
/*
 * Bits 52-62 are free for software, as KVM uses them too: here a leaf
 * keeps the low bits of its frame's generation when it was installed, so
 * that a vCPU filling its TLB from an SPTE that outlived its frame (only a
 * museum switch allows that) is caught even if the frame was reused.
 */
#define SPTE_GEN_SHIFT 52
#define SPTE_GEN_MASK 0x3ffULL
/*
 * KVM's mmu-writable bit: the leaf would be writable (the host PTE allows
 * the write, and so do the guest's tables for a shadow leaf) but for
 * write tracking (mmu/shadow_rmap.c), which keeps W clear.  A write
 * through such a leaf is not a fault but the MMU's to emulate: it goes
 * to the frame, and kvm_vcpu_track_write() follows it.
 */
#define SPTE_MMU_WRITABLE (1ULL << 62)
/* What a non-leaf entry carries besides the next table. */
#define SPTE_TABLE_BITS (PT_PRESENT_MASK | PT_WRITABLE_MASK | PT_USER_MASK | PT_ACCESSED_MASK)

#define SPTE_LEVEL_BITS PT64_LEVEL_BITS
#define SPTE_ENT_PER_PAGE PT64_ENT_PER_PAGE

/* The index of @gfn in a table of @level (1: the last level, 4: the root). */
static inline unsigned int spte_index(gfn_t gfn, int level)
{
	return (gfn >> ((level - 1) * SPTE_LEVEL_BITS)) & (SPTE_ENT_PER_PAGE - 1);
}

/* Guest frames one entry of @level covers. */
static inline gfn_t spte_level_pages(int level)
{
	return 1ULL << ((level - 1) * SPTE_LEVEL_BITS);
}

static inline bool is_shadow_present_pte(uint64_t spte)
{
	return spte & PT_PRESENT_MASK;
}

static inline bool is_writable_pte(uint64_t spte)
{
	return spte & PT_WRITABLE_MASK;
}

static inline unsigned long spte_to_pfn(uint64_t spte)
{
	return (spte & SPTE_BASE_ADDR_MASK) >> PAGE_SHIFT;
}

static inline unsigned int spte_gen(uint64_t spte)
{
	return (spte >> SPTE_GEN_SHIFT) & SPTE_GEN_MASK;
}

/* Writable, or would be but for write tracking. */
static inline bool spte_mmu_writable(uint64_t spte)
{
	return spte & (PT_WRITABLE_MASK | SPTE_MMU_WRITABLE);
}

static inline uint64_t make_spte(unsigned long pfn, unsigned int gen, bool writable, bool dirty)
{
	/*
	 * Guest RAM is executable, as a KVM memslot is by default: no NX.  The
	 * kvm backend's vCPUs walk these on the identity CR3 (EFER.NXE is set
	 * for the shadow leaves, which carry the guest's XD).
	 */
	uint64_t spte = ((uint64_t)pfn << PAGE_SHIFT) | PT_PRESENT_MASK | PT_USER_MASK |
			PT_ACCESSED_MASK | (((uint64_t)gen & SPTE_GEN_MASK) << SPTE_GEN_SHIFT);

	if (writable)
		spte |= PT_WRITABLE_MASK;
	if (dirty)
		spte |= PT_DIRTY_MASK;
	return spte;
}

static inline uint64_t spte_read(uint64_t *sptep)
{
	return smp_load_acquire(sptep);
}

/* ---- [mmu/spte.c], for the files of mmu/ ---- */

int kvm_mmu_alloc_root(struct kvm *kvm);
void kvm_mmu_free_tables(struct kvm *kvm);
/* Fill @mc with table pages before mmu_lock is taken; 0 or -ENOMEM. */
int kvm_mmu_topup_memory_cache(struct kvm *kvm, struct kvm_mmu_memory_cache *mc);
void kvm_mmu_free_memory_cache(struct kvm_mmu_memory_cache *mc);
/* Install the leaf SPTE of @gfn (mmu_lock held for write). */
void kvm_mmu_map(struct kvm *kvm, struct kvm_mmu_memory_cache *mc, gfn_t gfn, struct page *page,
		 bool writable, bool dirty);
/* The same, with W withheld (SPTE_MMU_WRITABLE instead) if @tracked. */
void __kvm_mmu_map(struct kvm *kvm, struct kvm_mmu_memory_cache *mc, gfn_t gfn, struct page *page,
		   bool writable, bool tracked, bool dirty);
/* The table an upper SPTE links; NULL (reported) if its frame is no secondary table. */
struct page *kvm_mmu_spte_table(struct kvm *kvm, uint64_t spte);
/* Move a zapped leaf's dirty and accessed bits to the host page. */
void kvm_mmu_transfer_spte_state(struct kvm *kvm, uint64_t spte);
/* Clear W of @gfn's leaf (write tracking); true if it was writable. */
bool kvm_mmu_write_protect_gfn(struct kvm *kvm, gfn_t gfn);
/*
 * The stamp of the frame a leaf maps, as it was when the leaf was made; a
 * frame freed or reused since then fails frame_check_stamp().
 */
struct frame_stamp spte_frame_stamp(struct kvm *kvm, uint64_t spte);
/*
 * Zap the leaf SPTEs of [start, end), moving their dirty and accessed bits
 * to the host pages.  mmu_lock held for write.  True if any was present
 * (the caller must flush remote TLBs before dropping mmu_lock).
 */
bool kvm_mmu_zap_gfn_range(struct kvm *kvm, gfn_t start, gfn_t end);
/*
 * For tests: walk every entry of every table, ignoring the present
 * summaries the range walks go by; the present leaves, or -EUCLEAN if
 * some table's summary is not exactly the cache lines of its present
 * entries.  mmu_lock held.
 */
long kvm_mmu_audit_sptes(struct kvm *kvm);
/* Aging: whether any leaf of [start, end) was accessed; clear the bits if @clear. */
bool kvm_mmu_age_gfn_range(struct kvm *kvm, gfn_t start, gfn_t end, bool clear);
/*
 * The lockless walk of a vCPU: the leaf entry of @gfn, or NULL if no table
 * reaches it.  Each table stepped into is checked to still be a secondary
 * table (reported if not).
 */
uint64_t *kvm_mmu_walk_lockless(struct kvm *kvm, gfn_t gfn);

/* ---- [mmu/access.c]: the software TLB, for mmu/paging.c ---- */

/* A guest-physical page's frame as a vCPU reaches it through its SPTE. */
struct kvm_spte_frame {
	uint64_t spte; /* the leaf, with A (and D) set */
	void *hva;     /* page_address() of its frame */
	struct frame_stamp stamp;
	bool tracked; /* a write through a write-tracked leaf: the MMU's to emulate */
};

/*
 * In guest mode: the lockless walk to @gpa's SPTE, A (and D for @write)
 * set in it, and its frame's stamp checked.  0; -EAGAIN when no SPTE
 * allows the access (a secondary fault); -EFAULT when the frame was freed
 * under it (reported).  A write through a leaf that only write tracking
 * keeps read-only is allowed with f->tracked set.
 */
int kvm_vcpu_spte_frame(struct kvm_vcpu *vcpu, gpa_t gpa, bool write, struct kvm_spte_frame *f);
/* The same for the leaf at @sptep, of guest-physical @gpa. */
int kvm_vcpu_sptep_frame(struct kvm_vcpu *vcpu, uint64_t *sptep, gpa_t gpa, bool write,
			 struct kvm_spte_frame *f);
struct kvm_tlb_entry *kvm_tlb_entry(struct kvm_vcpu *vcpu, gfn_t vpn);
/* Answer for the byte at @gpa from entry @e. */
void kvm_tlb_hit(const struct kvm_tlb_entry *e, gpa_t gpa, struct kvm_tlb_xlate *xl);

/* A leaf a write may go through at once: the vCPU has marked it dirty. */
static inline bool spte_writable_dirty(uint64_t spte)
{
	return (spte & (PT_WRITABLE_MASK | PT_DIRTY_MASK)) == (PT_WRITABLE_MASK | PT_DIRTY_MASK);
}

#endif
