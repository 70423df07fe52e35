/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The bits of an x86-64 paging-structure entry, with the names KVM gives
 * them (arch/x86/kvm/mmu.h): the secondary MMU's SPTEs are entries of this
 * format (mmu/spte.h), and the kvm backend builds the VMM's own tables in
 * the top 16 MiB of the guest's address space with them, since hardware
 * walks both.  Four levels of 512 entries; level 1 maps 4 KiB pages.
 */
#ifndef NOPIN_MMU_PTE_BITS_H
#define NOPIN_MMU_PTE_BITS_H

#define PT_PRESENT_MASK (1ULL << 0)
#define PT_WRITABLE_MASK (1ULL << 1)
#define PT_USER_MASK (1ULL << 2)
#define PT_ACCESSED_MASK (1ULL << 5)
#define PT_DIRTY_MASK (1ULL << 6)
#define PT_PAGE_SIZE_MASK (1ULL << 7) /* PS: a large leaf above level 1 */
#define PT64_NX_MASK (1ULL << 63)
/* The physical address of the next table or of the frame, bits 12-51. */
#define PT64_BASE_ADDR_MASK 0x000ffffffffff000ULL

#define PT64_ROOT_4LEVEL 4
/* The levels a leaf may sit at: PS in a PDE maps 2 MiB, in a PDPTE 1 GiB. */
#define PG_LEVEL_4K 1
#define PG_LEVEL_2M 2
#define PG_LEVEL_1G 3

#define PT64_LEVEL_BITS 9
#define PT64_ENT_PER_PAGE 512
/* The index of @addr in a table of @level (1: the last level, 4: the root). */
#define PT64_INDEX(addr, level)                                                                    \
	(((addr) >> (12 + ((level)-1) * PT64_LEVEL_BITS)) & (PT64_ENT_PER_PAGE - 1))

#endif
