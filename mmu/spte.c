// SPDX-License-Identifier: GPL-2.0
/*
 * The SPTE tables: allocation, install, range walks for zapping and aging,
 * and the vCPU's lockless walk (arch/x86/kvm/mmu/tdp_mmu.c, in a small way).
 *
 * A range walk reads only the cache lines of a table that hold a present
 * entry, as each table's summary says (below), and steps only into
 * present links: a subtree nothing maps costs one load where it is
 * absent, an empty table one load of its summary, so zapping a range
 * costs what it maps rather than how large it is, as KVM's TDP MMU
 * iterator skips what is not present.
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
 * Each flat/TDP table's present summary, in the private word of its struct
 * page (KVM keeps a table's struct kvm_mmu_page there; these tables need
 * no more than this word, and the shadow MMU's pages, which keep their
 * kvm_mmu_page there, are never walked here): bit j is set while one of
 * the entries [8j, 8j + 8), the table's j-th cache line, is present.
 * Installs set it and zaps clear it, both under mmu_lock held for write;
 * range walks read it under mmu_lock, so it is exact for them.  A walk
 * thus reads only the lines that hold a present entry: an empty table
 * costs one load of its struct page and a sparse one a line per present
 * entry, where reading the entries costs 512 loads a table.  The
 * lockless walk of a vCPU reads the entries themselves and never this.
 */
#define SPTE_PER_LINE 8
#define SPTE_LINES (SPTE_ENT_PER_PAGE / SPTE_PER_LINE)

static unsigned long table_present_lines(struct page *table)
{
	return READ_ONCE(table->private);
}

static void table_mark_present(struct kvm *kvm, struct page *table, unsigned int i)
{
	lockdep_assert_held_write(&kvm->mmu_lock);
	WRITE_ONCE(table->private, table->private | 1UL << (i / SPTE_PER_LINE));
}

/*
 * After a zap in line @line (of all of it if @whole): clear its bit if
 * nothing in it is present any more.
 */
static void table_update_line(struct kvm *kvm, struct page *table, unsigned int line, bool whole)
{
	uint64_t *sptes = &table_of(table)[line * SPTE_PER_LINE];

	lockdep_assert_held_write(&kvm->mmu_lock);
	for (unsigned int i = 0; !whole && i < SPTE_PER_LINE; i++)
		if (is_shadow_present_pte(spte_read(&sptes[i])))
			return;
	WRITE_ONCE(table->private, table->private & ~(1UL << line));
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
			table_mark_present(kvm, table, spte_index(gfn, level));
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
	table_mark_present(kvm, table, spte_index(gfn, PG_LEVEL_4K));
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

/* The bits of the lines that hold entries [first, end) of a table, end > first. */
static unsigned long lines_of(unsigned int first, unsigned int end)
{
	unsigned int lo = first / SPTE_PER_LINE, hi = (end - 1) / SPTE_PER_LINE;

	BUILD_BUG_ON(SPTE_LINES != BITS_PER_LONG);
	return (~0UL << lo) & (~0UL >> (BITS_PER_LONG - 1 - hi));
}

struct spte_walk {
	struct kvm *kvm;
	gfn_t start, end;
	/* Called on each present leaf; returns true if it did something. */
	bool (*leaf)(struct spte_walk *w, uint64_t *sptep, uint64_t spte);
	bool clear; /* aging: clear the accessed bit */
	bool zap;   /* leaf() makes leaves non-present: keep the summaries */
};

static bool walk_range(struct spte_walk *w, struct page *table, int level, gfn_t base);

/* Visit the present entries of line @line of @table that fall in [i, end). */
static bool walk_line(struct spte_walk *w, struct page *table, int level, gfn_t base,
		      unsigned int line, unsigned int i, unsigned int end)
{
	gfn_t size = spte_level_pages(level);
	uint64_t *sptes = table_of(table);
	bool whole, ret = false;

	if (i < line * SPTE_PER_LINE)
		i = line * SPTE_PER_LINE;
	if (end > (line + 1) * SPTE_PER_LINE)
		end = (line + 1) * SPTE_PER_LINE;
	whole = end - i == SPTE_PER_LINE;
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
	/*
	 * Links stay (tables are not freed while the VM lives); leaves may
	 * have gone: all of them if the range covered the whole line.
	 */
	if (w->zap && level == PG_LEVEL_4K)
		table_update_line(w->kvm, table, line, whole);
	return ret;
}

/*
 * Visit the present leaves of [w->start, w->end) under @table, which maps
 * from @base: only the lines its summary says hold a present entry.
 */
static bool walk_range(struct spte_walk *w, struct page *table, int level, gfn_t base)
{
	gfn_t size = spte_level_pages(level);
	gfn_t first = w->start > base ? w->start : base;
	gfn_t last =
		w->end < base + size * SPTE_ENT_PER_PAGE ? w->end : base + size * SPTE_ENT_PER_PAGE;
	unsigned int i = (first - base) / size, end = (last - base + size - 1) / size;
	unsigned long lines = table_present_lines(table) & lines_of(i, end);
	bool ret = false;

	while (lines) {
		unsigned int line = __builtin_ctzl(lines);

		lines &= lines - 1;
		ret |= walk_line(w, table, level, base, line, i, end);
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
	struct spte_walk w = {
		.kvm = kvm, .start = start, .end = end, .leaf = zap_leaf, .zap = true
	};

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

/*
 * Every entry of @table and the tables below it, summary or not: the
 * present leaves, or -EUCLEAN at the first table whose summary is not
 * exactly the lines of its present entries.
 */
static long audit_table(struct kvm *kvm, struct page *table, int level)
{
	uint64_t *sptes = table_of(table);
	unsigned long lines = 0;
	long leaves = 0;

	for (unsigned int i = 0; i < SPTE_ENT_PER_PAGE; i++) {
		uint64_t spte = spte_read(&sptes[i]);
		struct page *child;
		long r;

		if (!is_shadow_present_pte(spte))
			continue;
		lines |= 1UL << (i / SPTE_PER_LINE);
		if (level == PG_LEVEL_4K) {
			leaves++;
			continue;
		}
		child = kvm_mmu_spte_table(kvm, spte);
		if (!child)
			return -EUCLEAN;
		r = audit_table(kvm, child, level - 1);
		if (r < 0)
			return r;
		leaves += r;
	}
	return lines == table_present_lines(table) ? leaves : -EUCLEAN;
}

long kvm_mmu_audit_sptes(struct kvm *kvm)
{
	lockdep_assert_held(&kvm->mmu_lock);
	return kvm->root ? audit_table(kvm, kvm->root, PT64_ROOT_4LEVEL) : 0;
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
