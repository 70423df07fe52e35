/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest page-table walker, after FNAME(walk_addr_generic) in
 * arch/x86/kvm/mmu/paging_tmpl.h: 4-level x86-64 tables from a CR3, for one
 * guest virtual address and one access, as the processor walks them.  It
 * reads each guest PTE through the caller's accessor, so the same walk runs
 * on any way of reaching guest-physical memory: through the SPTE tables
 * (TDP, mmu/paging.c), through the host mm, or over a plain buffer (tests).
 *
 *	struct guest_walker w;
 *	r = guest_walk_addr(&w, &paging, &ops, ctx, gva, PFERR_WRITE_MASK);
 *	0: w.gpa, w.level, w.access	GUEST_WALK_EXCEPTION: w.fault
 *	-errno: the accessor's (say -EAGAIN: a table page needs a secondary fault)
 *
 * docs/design.md, "Guest paging", says what is architectural and what the
 * walker leaves out.
 */
#ifndef NOPIN_MMU_PAGING_WALK_H
#define NOPIN_MMU_PAGING_WALK_H

#include <stdbool.h>
#include <stdint.h>

#include "mmu/kvm_host.h"
#include "mmu/pte_bits.h"

/*
 * The #PF error code's bits, as the architecture defines them; the access
 * a walk is made for is given in the same bits (WRITE, USER, FETCH).
 * vmm/soft/soft_cpu.h defines the same values for the interpreter, which
 * may not include mmu/: a file that sees both gets a compiler error if
 * they ever differ.
 */
#define PFERR_PRESENT_MASK (1u << 0) /* a protection violation, not a missing page */
#define PFERR_WRITE_MASK (1u << 1)
#define PFERR_USER_MASK (1u << 2)
#define PFERR_RSVD_MASK (1u << 3)  /* a reserved bit set in a paging entry */
#define PFERR_FETCH_MASK (1u << 4) /* an instruction fetch (NX) */

/* What a translation allows, combined down the levels (the kernel's ACC_*). */
#define ACC_EXEC_MASK 1u
#define ACC_WRITE_MASK 2u /* PT_WRITABLE_MASK's bit */
#define ACC_USER_MASK 4u  /* PT_USER_MASK's bit */
#define ACC_ALL (ACC_EXEC_MASK | ACC_WRITE_MASK | ACC_USER_MASK)

/* The exceptions a walk can end in, by vector. */
enum guest_walk_vector {
	GUEST_WALK_GP = 13, /* a non-canonical address */
	GUEST_WALK_PF = 14,
};

/*
 * MAXPHYADDR of the guest's paging: guest-physical addresses have
 * KVM_GPA_BITS, so a guest PTE naming anything above is refused with a
 * reserved-bit #PF rather than looked up.
 */
#define GUEST_MAXPHYADDR KVM_GPA_BITS
/* Linear addresses of 4-level paging: bits 63:47 copy bit 47. */
#define GUEST_VA_BITS 48

/* The paging state a walk depends on: the vCPU's control registers. */
struct guest_paging {
	gpa_t cr3;		 /* the PML4's address (bits 11:0 are flags) */
	bool nxe;		 /* EFER.NXE: bit 63 is XD, not reserved */
	unsigned int maxphyaddr; /* GUEST_MAXPHYADDR, or less for a test */
};

/*
 * How the walker reaches a guest PTE: the 8 bytes at guest-physical @gpa,
 * an entry of a table of @level.  read_pte: 0, or a negative errno the
 * walk returns as it is.  cmpxchg_pte (the A/D update, as the hardware
 * makes it): replace *@old by @new if the entry still holds *@old; 1 if it
 * did, 0 with *@old updated if the entry had changed (the walk starts
 * again), or a negative errno.
 */
struct guest_walk_ops {
	int (*read_pte)(void *ctx, gpa_t gpa, int level, uint64_t *pte);
	int (*cmpxchg_pte)(void *ctx, gpa_t gpa, int level, uint64_t *old, uint64_t new);
};

/* A guest exception the walk ends in: a #PF, or a #GP for a non-canonical address. */
struct guest_walk_fault {
	uint8_t vector;	     /* enum guest_walk_vector */
	uint32_t error_code; /* PFERR_* for a #PF; 0 for the #GP */
	gva_t address;	     /* CR2 for a #PF */
	int level;	     /* the level whose entry refused (4: PML4E ... 1: PTE); 0: none */
	char reason[48];     /* "PDPTE not present", "reserved bit 51 set in PDE", ... */
};

struct guest_walker {
	gpa_t gpa;	     /* the address's guest-physical translation */
	int level;	     /* the leaf's level: 1 (4 KiB), 2 (2 MiB), 3 (1 GiB) */
	unsigned int access; /* ACC_* the translation allows */
	/* The entries the walk used, by level - 1, and where they are. */
	uint64_t ptes[PT64_ROOT_4LEVEL];
	gpa_t pte_gpa[PT64_ROOT_4LEVEL];
	unsigned int ad_written; /* entries whose A/D bits the last walk set: bit level - 1 */
	struct guest_walk_fault fault;
};

/* guest_walk_addr()'s answer for a guest exception: w->fault says which. */
#define GUEST_WALK_EXCEPTION 1

/*
 * Walk @pg's tables for @addr and an @access of PFERR_WRITE_MASK,
 * PFERR_FETCH_MASK and PFERR_USER_MASK bits (none: a supervisor read).
 * Sets A in every entry walked and D in the leaf for a write, each with a
 * cmpxchg, only when the walk does not fault.  Returns 0,
 * GUEST_WALK_EXCEPTION, or an accessor's negative errno.
 */
int guest_walk_addr(struct guest_walker *w, const struct guest_paging *pg,
		    const struct guest_walk_ops *ops, void *ctx, gva_t addr, uint32_t access);

/* "PML4E", "PDPTE", "PDE", "PTE" for levels 4 to 1. */
const char *guest_pte_name(int level);
/* The table holding them: "PML4", "PDPT", "page directory", "page table". */
const char *guest_table_name(int level);

/* Guest pages one entry of @level maps: 1, 512, 512 * 512. */
static inline uint64_t guest_level_pages(int level)
{
	return 1ULL << ((level - 1) * PT64_LEVEL_BITS);
}

static inline bool is_canonical_gva(gva_t gva)
{
	return (uint64_t)((int64_t)(gva << (64 - GUEST_VA_BITS)) >> (64 - GUEST_VA_BITS)) == gva;
}

#endif
