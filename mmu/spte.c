// SPDX-License-Identifier: GPL-2.0
/*
 * The SPTE tables: allocation, install, range walks for zapping and aging,
 * and the vCPU's lockless walk (arch/x86/kvm/mmu/tdp_mmu.c, in a small way).
 *
 * A range walk visits only present entries: an absent subtree costs one
 * load at the level where it is absent, so zapping a range nothing maps
 * costs (almost) nothing and a sparse range costs what it holds.
 */
#include "mmu/shadow.h"
#include "mmu/spte.h"

#include "base/bug.h"
#include "base/report.h"

static uint64_t *table_of(struct page *table)
{
	return page_address(table);
}

/*
 * The table an upper entry points at.  A frame that is no longer a
 * secondary table is a stale walk: reported, and the walk stops.
 */
struct page *kvm_mmu_spte_table(struct kvm *kvm, uint64_t spte)
{
	struct page *page = pfn_to_page(kvm->pool, spte_to_pfn(spte));

	if (unlikely(page_frame_state(page) != FRAME_SECONDARY)) {
		struct frame_stamp stamp = {
			.pfn = spte_to_pfn(spte),
			.gen = READ_ONCE(page->gen),
			.state = FRAME_SECONDARY,
		};
		struct frame_access acc = { .who = "secondary-table walk" };

		__frame_check_stamp(kvm->pool, &stamp, &acc);
		return NULL;
	}
	return page;
}

static struct page *alloc_table(struct kvm *kvm, gfp_t gfp)
{
	struct page *page = alloc_frame(kvm->pool, FRAME_SECONDARY, gfp | __GFP_ZERO);

	if (!page)
		return NULL;
	spin_lock(&kvm->tables_lock);
	list_add(&page->lru, &kvm->tables);
	spin_unlock(&kvm->tables_lock);
	atomic_long_inc(&kvm->stat.tables_allocated);
	return page;
}

int kvm_mmu_alloc_root(struct kvm *kvm)
{
	kvm->root = alloc_table(kvm, GFP_KERNEL);
	return kvm->root ? 0 : -ENOMEM;
}

/* At VM destruction: no vCPU and no notifier callback can reach them any more. */
void kvm_mmu_free_tables(struct kvm *kvm)
{
	struct page *page, *tmp;

	list_for_each_entry_safe(page, tmp, &kvm->tables, lru) {
		list_del(&page->lru);
		free_frame(page);
	}
	kvm->root = NULL;
}

int kvm_mmu_topup_memory_cache(struct kvm *kvm, struct kvm_mmu_memory_cache *mc)
{
	might_sleep();
	while (mc->nobjs < KVM_MMU_CACHE_PAGES) {
		struct page *page =
			alloc_frame(kvm->pool, FRAME_SECONDARY, GFP_KERNEL | __GFP_ZERO);

		if (!page)
			return mc->nobjs >= PT64_ROOT_4LEVEL - 1 ? 0 : -ENOMEM;
		mc->objects[mc->nobjs++] = page;
	}
	return 0;
}

void kvm_mmu_free_memory_cache(struct kvm_mmu_memory_cache *mc)
{
	while (mc->nobjs)
		free_frame(mc->objects[--mc->nobjs]);
}

static struct page *table_from_cache(struct kvm *kvm, struct kvm_mmu_memory_cache *mc)
{
	struct page *page;

	if (WARN_ON(!mc->nobjs))
		return NULL;
	page = mc->objects[--mc->nobjs];
	spin_lock(&kvm->tables_lock);
	list_add(&page->lru, &kvm->tables);
	spin_unlock(&kvm->tables_lock);
	atomic_long_inc(&kvm->stat.tables_allocated);
	return page;
}

struct frame_stamp spte_frame_stamp(struct kvm *kvm, uint64_t spte)
{
	struct page *page = pfn_to_page(kvm->pool, spte_to_pfn(spte));
	unsigned int gen = READ_ONCE(page->gen);

	return (struct frame_stamp){
		.pfn = spte_to_pfn(spte),
		.gen = (gen & ~(unsigned int)SPTE_GEN_MASK) | spte_gen(spte),
		.state = FRAME_DATA,
	};
}

void __kvm_mmu_map(struct kvm *kvm, struct kvm_mmu_memory_cache *mc, gfn_t gfn, struct page *page,
		   bool writable, bool tracked, bool dirty)
{
	unsigned long pfn = page_to_pfn(page);
	struct page *table = kvm->root;
	uint64_t *sptep, old, new;
	int level;

	lockdep_assert_held_write(&kvm->mmu_lock);
	for (level = PT64_ROOT_4LEVEL; level > PG_LEVEL_4K; level--) {
		uint64_t spte;

		sptep = &table_of(table)[spte_index(gfn, level)];
		spte = spte_read(sptep);
		if (!is_shadow_present_pte(spte)) {
			struct page *child = table_from_cache(kvm, mc);

			if (!child)
				return;
			spte = ((uint64_t)page_to_pfn(child) << PAGE_SHIFT) | SPTE_TABLE_BITS;
			/* Release: the zeroed table is seen before the link to it. */
			smp_store_release(sptep, spte);
		}
		table = kvm_mmu_spte_table(kvm, spte);
		if (!table)
			return;
	}
	sptep = &table_of(table)[spte_index(gfn, PG_LEVEL_4K)];
	old = spte_read(sptep);
	/* A permission upgrade of the same frame keeps what the vCPU recorded. */
	if (is_shadow_present_pte(old) && spte_to_pfn(old) == pfn)
		dirty |= old & PT_DIRTY_MASK;
	new = make_spte(pfn, READ_ONCE(page->gen), writable && !tracked, dirty);
	if (writable && tracked)
		new |= SPTE_MMU_WRITABLE;
	smp_store_release(sptep, new);
}

void kvm_mmu_map(struct kvm *kvm, struct kvm_mmu_memory_cache *mc, gfn_t gfn, struct page *page,
		 bool writable, bool dirty)
{
	__kvm_mmu_map(kvm, mc, gfn, page, writable, false, dirty);
}

/*
 * The leaf stays, with its frame and what the vCPU recorded: only W goes,
 * so the next write through it is the MMU's to emulate (its
 * SPTE_MMU_WRITABLE says the host allows it).
 */
bool kvm_mmu_write_protect_gfn(struct kvm *kvm, gfn_t gfn)
{
	uint64_t *sptep = kvm_mmu_walk_lockless(kvm, gfn);
	uint64_t spte;

	lockdep_assert_held_write(&kvm->mmu_lock);
	if (!sptep)
		return false;
	spte = spte_read(sptep);
	do {
		if (!is_shadow_present_pte(spte) || !is_writable_pte(spte))
			return false;
	} while (
		!try_cmpxchg_acq_rel(sptep, &spte, (spte & ~PT_WRITABLE_MASK) | SPTE_MMU_WRITABLE));
	return true;
}

/* Move what the secondary MMU recorded to the host page it is dropping. */
void kvm_mmu_transfer_spte_state(struct kvm *kvm, uint64_t spte)
{
	struct page *page = pfn_to_page(kvm->pool, spte_to_pfn(spte));
	struct frame_stamp stamp = spte_frame_stamp(kvm, spte);

	/*
	 * Only a museum switch lets an SPTE outlive its frame; the vCPU's
	 * access reports that, not this.
	 */
	if (page_frame_state(page) != FRAME_DATA || READ_ONCE(page->gen) != stamp.gen)
		return;
	if (spte & PT_DIRTY_MASK) {
		/* Without this a file page is clean at writeback and the write is lost. */
		set_page_dirty(page);
		atomic_long_inc(&kvm->stat.dirty_transferred);
	}
	if (spte & PT_ACCESSED_MASK)
		SetPageReferenced(page);
}

struct spte_walk {
	struct kvm *kvm;
	gfn_t start, end;
	/* Called on each present leaf; returns true if it did something. */
	bool (*leaf)(struct spte_walk *w, uint64_t *sptep, uint64_t spte);
	bool clear; /* aging: clear the accessed bit */
};

/* Visit the present leaves of [w->start, w->end) under @table, which maps from @base. */
static bool walk_range(struct spte_walk *w, struct page *table, int level, gfn_t base)
{
	gfn_t size = spte_level_pages(level);
	gfn_t first = w->start > base ? w->start : base;
	gfn_t last =
		w->end < base + size * SPTE_ENT_PER_PAGE ? w->end : base + size * SPTE_ENT_PER_PAGE;
	unsigned int i = (first - base) / size, end = (last - base + size - 1) / size;
	uint64_t *sptes = table_of(table);
	bool ret = false;

	for (; i < end; i++) {
		uint64_t spte = spte_read(&sptes[i]);
		struct page *child;

		if (!is_shadow_present_pte(spte))
			continue;
		if (level == PG_LEVEL_4K) {
			ret |= w->leaf(w, &sptes[i], spte);
			continue;
		}
		child = kvm_mmu_spte_table(w->kvm, spte);
		if (child)
			ret |= walk_range(w, child, level - 1, base + i * size);
	}
	return ret;
}

static bool walk_gfn_range(struct spte_walk *w)
{
	if (w->start >= w->end || !w->kvm->root)
		return false;
	if (w->end > KVM_MAX_GFN)
		w->end = KVM_MAX_GFN;
	return walk_range(w, w->kvm->root, PT64_ROOT_4LEVEL, 0);
}

static bool zap_leaf(struct spte_walk *w, uint64_t *sptep, uint64_t spte)
{
	/* An exchange: the bits a vCPU sets up to this instant come with it. */
	spte = xchg_acq_rel(sptep, 0);
	if (!is_shadow_present_pte(spte))
		return false;
	kvm_mmu_transfer_spte_state(w->kvm, spte);
	atomic_long_inc(&w->kvm->stat.sptes_zapped);
	return true;
}

bool kvm_mmu_zap_gfn_range(struct kvm *kvm, gfn_t start, gfn_t end)
{
	struct spte_walk w = { .kvm = kvm, .start = start, .end = end, .leaf = zap_leaf };

	lockdep_assert_held_write(&kvm->mmu_lock);
	return walk_gfn_range(&w);
}

static bool age_leaf(struct spte_walk *w, uint64_t *sptep, uint64_t spte)
{
	if (!(spte & PT_ACCESSED_MASK))
		return false;
	if (w->clear) {
		fetch_and_relaxed(sptep, ~PT_ACCESSED_MASK);
		atomic_long_inc(&w->kvm->stat.young_cleared);
	}
	return true;
}

bool kvm_mmu_age_gfn_range(struct kvm *kvm, gfn_t start, gfn_t end, bool clear)
{
	struct spte_walk w = {
		.kvm = kvm, .start = start, .end = end, .leaf = age_leaf, .clear = clear
	};

	lockdep_assert_held(&kvm->mmu_lock);
	return walk_gfn_range(&w);
}

uint64_t *kvm_mmu_walk_lockless(struct kvm *kvm, gfn_t gfn)
{
	struct page *table = kvm->root;
	int level;

	if (gfn >= KVM_MAX_GFN || !table)
		return NULL;
	for (level = PT64_ROOT_4LEVEL; level > PG_LEVEL_4K; level--) {
		uint64_t spte = spte_read(&table_of(table)[spte_index(gfn, level)]);

		if (!is_shadow_present_pte(spte))
			return NULL;
		table = kvm_mmu_spte_table(kvm, spte);
		if (!table)
			return NULL;
	}
	return &table_of(table)[spte_index(gfn, PG_LEVEL_4K)];
}

uint64_t kvm_mmu_spte(struct kvm *kvm, gfn_t gfn)
{
	uint64_t *sptep = kvm_mmu_walk_lockless(kvm, gfn);

	return sptep ? spte_read(sptep) : 0;
}

void kvm_mmu_zap_all(struct kvm *kvm)
{
	LIST_HEAD(invalid_list);
	bool flush;
	int idx;

	idx = srcu_read_lock(&kvm->srcu);
	write_lock(&kvm->mmu_lock);
	flush = kvm_mmu_zap_gfn_range(kvm, 0, KVM_MAX_GFN);
	flush |= kvm_mmu_zap_all_shadow(kvm, &invalid_list);
	kvm_mmu_remote_flush_or_zap(kvm, &invalid_list, flush);
	write_unlock(&kvm->mmu_lock);
	srcu_read_unlock(&kvm->srcu, idx);
}
