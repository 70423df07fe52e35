/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A mirror device, after the kernel's lib/test_hmm.c (dmirror): a device
 * with its own page table over a host address space, kept coherent by one
 * interval notifier covering the whole address space.  It is the smallest
 * secondary MMU there is: no guest, no memslots, just "the device reads
 * and writes host virtual addresses through translations it made itself".
 *
 *	struct mirror *m = mirror_open(mm);
 *	struct mirror_cmd cmd = { 0 };
 *	mirror_read(m, addr, buf, npages, &cmd);	faults what is missing
 *	mirror_snapshot(m, addr, perms, npages, &cmd);	what the host maps, no fault
 *	mirror_close(m);
 *
 * The device page table holds no reference on any page.  A translation is
 * installed only through the read_begin/read_retry protocol of
 * mm/mmu_notifier.h, and torn down by the interval notifier's invalidate
 * before the host changes or frees the page; each entry keeps the frame's
 * stamp, so a device access through an entry the notifier should have
 * removed is a sanitizer report (a stale translation), not silent
 * corruption.
 */
#ifndef NOPIN_MMU_MIRROR_H
#define NOPIN_MMU_MIRROR_H

#include <stdint.h>

#include "mm/mm.h"

struct mirror;

/* What one command did, as the HMM selftests check it. */
struct mirror_cmd {
	unsigned long cpages; /* pages read, written or snapshotted */
	unsigned long faults; /* device faults taken (chunks faulted in) */
};

/* mirror_snapshot() bytes, the kernel's HMM_DMIRROR_PROT_* values. */
#define MIRROR_PROT_ERROR 0xff /* no VMA */
#define MIRROR_PROT_NONE 0x00  /* nothing mapped at the host */
#define MIRROR_PROT_READ 0x01
#define MIRROR_PROT_WRITE 0x02

/*
 * A device mirroring @mm; the caller holds an mm_users reference for the
 * call.  ERR_PTR(-ENOMEM / -EINTR) on failure.
 */
struct mirror *mirror_open(struct mm_struct *mm);
/* Remove the notifier (waiting out a running invalidation) and free the table. */
void mirror_close(struct mirror *m);

/*
 * Device access to @npages pages at @addr (page aligned) through the
 * device page table, faulting missing translations in from the host (a
 * write fault where the entry is missing or read-only).  Returns 0, or
 * -EFAULT (no VMA, PROT_NONE, or the address space has exited), -EPERM
 * (write to a read-only mapping), -ENOMEM.  @cmd may be NULL.
 */
int mirror_read(struct mirror *m, unsigned long addr, void *buf, unsigned long npages,
		struct mirror_cmd *cmd);
int mirror_write(struct mirror *m, unsigned long addr, const void *buf, unsigned long npages,
		 struct mirror_cmd *cmd);

/*
 * What the host maps at each of @npages pages from @addr, without
 * faulting anything in, into @perms (MIRROR_PROT_*), validated against
 * invalidations by a temporary interval notifier over the range.  0 or
 * -errno.
 */
int mirror_snapshot(struct mirror *m, unsigned long addr, uint8_t *perms, unsigned long npages,
		    struct mirror_cmd *cmd);

/* Device page table entries right now (tests). */
unsigned long mirror_nr_entries(struct mirror *m);
/* Total device faults and invalidations the mirror has seen. */
unsigned long mirror_faults(struct mirror *m);
unsigned long mirror_invalidations(struct mirror *m);

#endif
