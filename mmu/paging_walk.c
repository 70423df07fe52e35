// SPDX-License-Identifier: GPL-2.0
/*
 * The guest page-table walker (mmu/paging_walk.h), after
 * FNAME(walk_addr_generic) in arch/x86/kvm/mmu/paging_tmpl.h, for 4-level
 * x86-64 paging with CR0.WP set, CR4.PAE, EFER.LME and, as the caller says,
 * EFER.NXE; no SMEP, SMAP, protection keys or PCIDs.
 *
 * From the PML4 at CR3 down, each level reads one entry through the
 * caller's accessor and stops the walk with a #PF if the entry is not
 * present (error code P clear) or has a reserved bit set (P and RSVD).
 * The entry's W and U bits are ANDed into the translation's rights and its
 * XD bit ORed into "no execute".  PS ends the walk at a PDPTE (1 GiB) or a
 * PDE (2 MiB), whose address bits below the page's alignment (13-29 or
 * 13-20; bit 12 is PAT) are then reserved.  The leaf's combined rights are
 * checked against the access (a protection #PF, P set), and the first
 * level from the top whose entry takes the right away is the one named.
 *
 * A walk that does not fault then sets A in every entry it used and D in
 * the leaf for a write, each with a cmpxchg against the value it walked, as
 * the processor's locked update does: a guest (or another vCPU's walk)
 * that changed an entry meanwhile makes the cmpxchg fail, and the walk
 * starts again from CR3.  A faulting walk writes nothing.
 */
#include <stdarg.h>
#include <stdio.h>

#include "mmu/paging_walk.h"

const char *guest_pte_name(int level)
{
	static const char *const names[] = { "?", "PTE", "PDE", "PDPTE", "PML4E" };

	return level > 0 && level <= PT64_ROOT_4LEVEL ? names[level] : names[0];
}

const char *guest_table_name(int level)
{
	static const char *const names[] = { "?", "page table", "page directory", "PDPT", "PML4" };

	return level > 0 && level <= PT64_ROOT_4LEVEL ? names[level] : names[0];
}

/* Bits @lo to @hi, both included; none if @hi < @lo. */
static uint64_t rsvd_bits(int lo, int hi)
{
	if (hi < lo)
		return 0;
	return ((2ULL << (hi - lo)) - 1) << lo;
}

/*
 * The bits of a present entry at @level that must be zero: the address
 * bits above MAXPHYADDR, XD without EFER.NXE, PS in a PML4E, and the
 * alignment bits of a large page's address.
 */
static uint64_t guest_rsvd_mask(const struct guest_paging *pg, uint64_t pte, int level)
{
	uint64_t mask = rsvd_bits(pg->maxphyaddr, 51);

	if (!pg->nxe)
		mask |= PT64_NX_MASK;
	if (level == PT64_ROOT_4LEVEL)
		mask |= PT_PAGE_SIZE_MASK;
	else if (level == PG_LEVEL_1G && (pte & PT_PAGE_SIZE_MASK))
		mask |= rsvd_bits(13, 29);
	else if (level == PG_LEVEL_2M && (pte & PT_PAGE_SIZE_MASK))
		mask |= rsvd_bits(13, 20);
	return mask;
}

/* The rights one entry grants, as ACC_* bits. */
static unsigned int gpte_access(uint64_t pte)
{
	unsigned int access = pte & (ACC_WRITE_MASK | ACC_USER_MASK);

	if (!(pte & PT64_NX_MASK))
		access |= ACC_EXEC_MASK;
	return access;
}

static bool is_last_gpte(uint64_t pte, int level)
{
	return level == PG_LEVEL_4K || (pte & PT_PAGE_SIZE_MASK);
}

static int walk_exception(struct guest_walker *w, enum guest_walk_vector vector,
			  uint32_t error_code, gva_t addr, int level, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
static int walk_exception(struct guest_walker *w, enum guest_walk_vector vector,
			  uint32_t error_code, gva_t addr, int level, const char *fmt, ...)
{
	va_list ap;

	w->fault.vector = vector;
	w->fault.error_code = error_code;
	w->fault.address = addr;
	w->fault.level = level;
	va_start(ap, fmt);
	vsnprintf(w->fault.reason, sizeof(w->fault.reason), fmt, ap);
	va_end(ap);
	return GUEST_WALK_EXCEPTION;
}

/*
 * The #PF error code: @code (P, RSVD) and what the access was.  I/D is
 * set for every fault of a fetch once EFER.NXE is on, whatever refused.
 */
static uint32_t pf_error_code(const struct guest_paging *pg, uint32_t code, uint32_t access)
{
	code |= access & (PFERR_WRITE_MASK | PFERR_USER_MASK);
	if ((access & PFERR_FETCH_MASK) && pg->nxe)
		code |= PFERR_FETCH_MASK;
	return code;
}

/* The first level from the top whose entry has @bit set (@set) or clear. */
static int refusing_level(const struct guest_walker *w, uint64_t bit, bool set)
{
	int level;

	for (level = PT64_ROOT_4LEVEL; level > w->level; level--)
		if (!!(w->ptes[level - 1] & bit) == set)
			break;
	return level;
}

static int protection_fault(struct guest_walker *w, const struct guest_paging *pg, gva_t addr,
			    uint32_t access, uint64_t bit, bool set, const char *what)
{
	int level = refusing_level(w, bit, set);

	return walk_exception(w, GUEST_WALK_PF, pf_error_code(pg, PFERR_PRESENT_MASK, access), addr,
			      level, "%s %s", guest_pte_name(level), what);
}

/* Does the leaf's combined w->access allow @access?  0, or the #PF. */
static int permission_fault(struct guest_walker *w, const struct guest_paging *pg, gva_t addr,
			    uint32_t access)
{
	if ((access & PFERR_USER_MASK) && !(w->access & ACC_USER_MASK))
		return protection_fault(w, pg, addr, access, PT_USER_MASK, false,
					"supervisor-only");
	/* CR0.WP is set: supervisor writes obey W too. */
	if ((access & PFERR_WRITE_MASK) && !(w->access & ACC_WRITE_MASK))
		return protection_fault(w, pg, addr, access, PT_WRITABLE_MASK, false, "read-only");
	if ((access & PFERR_FETCH_MASK) && !(w->access & ACC_EXEC_MASK))
		return protection_fault(w, pg, addr, access, PT64_NX_MASK, true, "no-execute");
	return 0;
}

/*
 * A in every entry walked, D in the leaf for a write, as one locked update
 * per entry.  1 when done; 0 when an entry changed since it was read (walk
 * again: the change may have taken the translation away); or the
 * accessor's negative errno.
 */
static int update_accessed_dirty(struct guest_walker *w, const struct guest_walk_ops *ops,
				 void *ctx, bool write)
{
	int level, r;

	for (level = PT64_ROOT_4LEVEL; level >= w->level; level--) {
		uint64_t old = w->ptes[level - 1], new = old | PT_ACCESSED_MASK;

		if (level == w->level && write)
			new |= PT_DIRTY_MASK;
		if (new == old)
			continue;
		r = ops->cmpxchg_pte(ctx, w->pte_gpa[level - 1], level, &old, new);
		if (r <= 0)
			return r;
		w->ptes[level - 1] = new;
		w->ad_written |= 1u << (level - 1);
	}
	return 1;
}

int guest_walk_addr(struct guest_walker *w, const struct guest_paging *pg,
		    const struct guest_walk_ops *ops, void *ctx, gva_t addr, uint32_t access)
{
	uint64_t pte, size;
	gpa_t table;
	int level, r;

retry_walk:
	w->ad_written = 0;
	w->fault = (struct guest_walk_fault){ 0 };
	w->level = 0;
	if (!is_canonical_gva(addr))
		return walk_exception(w, GUEST_WALK_GP, 0, addr, 0, "non-canonical address");
	table = pg->cr3 & PT64_BASE_ADDR_MASK;
	w->access = ACC_ALL;
	for (level = PT64_ROOT_4LEVEL;; level--) {
		gpa_t gpa = table + PT64_INDEX(addr, level) * sizeof(uint64_t);
		uint64_t rsvd;

		r = ops->read_pte(ctx, gpa, level, &pte);
		if (r)
			return r;
		w->ptes[level - 1] = pte;
		w->pte_gpa[level - 1] = gpa;
		if (!(pte & PT_PRESENT_MASK))
			return walk_exception(w, GUEST_WALK_PF, pf_error_code(pg, 0, access), addr,
					      level, "%s not present", guest_pte_name(level));
		rsvd = pte & guest_rsvd_mask(pg, pte, level);
		if (rsvd)
			return walk_exception(
				w, GUEST_WALK_PF,
				pf_error_code(pg, PFERR_PRESENT_MASK | PFERR_RSVD_MASK, access),
				addr, level, "reserved bit %d set in %s",
				63 - __builtin_clzll(rsvd), guest_pte_name(level));
		w->access &= gpte_access(pte);
		if (is_last_gpte(pte, level))
			break;
		table = pte & PT64_BASE_ADDR_MASK;
	}
	w->level = level;
	r = permission_fault(w, pg, addr, access);
	if (r)
		return r;
	size = guest_level_pages(level) << PAGE_SHIFT;
	w->gpa = (pte & PT64_BASE_ADDR_MASK & ~(size - 1)) | (addr & (size - 1));

	r = update_accessed_dirty(w, ops, ctx, access & PFERR_WRITE_MASK);
	if (r < 0)
		return r;
	if (!r)
		goto retry_walk;
	return 0;
}
