/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nopin museum (vmm/cmd_museum.c): what one run of an exhibit came to, and
 * the host scenarios (vmm/museum_host.c) for the rules no guest path
 * reaches.  Each scenario builds its own pool and mm, drives the race with
 * schedule points as its tests/scenario/ twin does, and tears everything
 * down; the caller reads the reports it made (base/report.h).
 */
#ifndef NOPIN_VMM_MUSEUM_H
#define NOPIN_VMM_MUSEUM_H

#include <stdbool.h>

#include "base/report.h"

struct museum_result {
	/* A guest run: vmm_run()'s status; a host scenario: 0, or -errno if it could not run. */
	int status;
	bool guest_exited;
	char what[1500]; /* why the guest stopped, or what went wrong */
	char console[16384];
	unsigned long reports[NR_REPORT_CLASSES];
	char title[NR_REPORT_CLASSES][160];
};

/*
 * Rule 4, register under all locks: a truncation announces its range, a
 * KVM-shaped subscriber registers (under all locks it waits for the
 * truncation; with @legacy it lands mid-invalidation) and maps the page,
 * which the truncation then frees under it.
 */
int museum_register_without_all_locks(bool legacy, struct museum_result *res);
/* Rule 5: truncation parked in a VMA's PTE table walk while munmap frees the tables. */
int museum_free_pgtables_before_unlink(bool legacy, struct museum_result *res);
/* Rule 7: a fork child swaps a shared page in first and exits; reclaim walks its anon_vma. */
int museum_newest_anon_vma(bool legacy, struct museum_result *res);
/* Rule 8: reclaim parked at its mlock while a COW fault takes the page from the locked VMA. */
int museum_mlock_trylock(bool legacy, struct museum_result *res);

#endif
