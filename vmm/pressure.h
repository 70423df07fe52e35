/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host memory pressure on a running guest (--pressure LIST): host threads
 * that keep reclaiming, migrating, write-protecting, aging, discarding and
 * COW-sharing guest RAM behind the guest's back, through the same host mm
 * paths a real kernel would take, so the secondary MMU is invalidated all
 * the time.
 */
#ifndef NOPIN_VMM_PRESSURE_H
#define NOPIN_VMM_PRESSURE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/mutex.h"
#include "base/wait.h"

struct vmm;

/* The longest period an agent may have (NAME=PERIOD): a day. */
#define PRESSURE_MAX_PERIOD_NS (86400UL * 1000000000UL)

enum pressure_kind {
	PRESSURE_RECLAIM,
	PRESSURE_MIGRATE,
	PRESSURE_MPROTECT,
	PRESSURE_AGE,
	PRESSURE_DONTNEED_FREE,
	PRESSURE_FORK,
	PRESSURE_FAULT_RACE,
	NR_PRESSURE_KINDS,
};

struct pressure_agent {
	enum pressure_kind kind;
	bool enabled;
	unsigned long period_ns; /* between two rounds */
	unsigned long rounds;	 /* rounds done */
	unsigned long pages;	 /* pages the rounds touched (reclaimed, migrated ...) */
	pthread_t thread;
	bool started;
	bool ready; /* its first round has done its damage (pressure_start() waits) */
	struct vmm *vm;
	uint64_t rand;
};

struct pressure {
	struct pressure_agent agents[NR_PRESSURE_KINDS];
	/* The end of the run (pressure_end()). */
	bool stop;
	/*
	 * The mprotect agent's window: while odd, part of guest RAM is
	 * read-only and a refused guest write waits for the next even value
	 * and retries (a guest on a real host would take the same fault).
	 * Written by that agent only.
	 */
	unsigned long protect_seq;
	/* Agents between rounds, and refused writes waiting out a window, sleep here. */
	wait_queue_head_t wq;
	/*
	 * Pages the guest reported free (HC_PAGE_REPORT_FREE), a byte each.
	 * The dontneed-free agent discards under free_lock, so it is taken
	 * before the host mm's locks (vmm/vm.h has the VMM's lock order).
	 */
	struct mutex free_lock;
	unsigned char *free_map;
	unsigned long nr_pages;
};

const char *pressure_name(enum pressure_kind kind);
/* Its --stats counter: pages its rounds touched (forks, faults raced). */
const char *pressure_stat_name(enum pressure_kind kind);
/*
 * Parse "reclaim,migrate=20ms,all" into @p's agents: a name, or name=PERIOD
 * with ns/us/ms/s; "all" enables every agent a busy host has at its default
 * period (fault-race, which opens a window on purpose, only by name).
 * 0, or -EINVAL with @err saying which item was wrong.
 */
int pressure_parse(struct pressure *p, const char *list, char *err, size_t errlen);
int pressure_init(struct pressure *p, unsigned long nr_pages);
void pressure_destroy(struct pressure *p);
/*
 * Start the enabled agents on @vm, and return once each has done the
 * damage of its first round (for fault-race: armed its schedule point), so
 * that the guest, started next, runs on memory the host has already been
 * at however short the run is.  Stop and join them.
 */
int pressure_start(struct pressure *p, struct vmm *vm);
void pressure_stop(struct pressure *p);
/*
 * The run ends: agents leave after their round, refused writes waiting in
 * pressure_wait_unprotect() return.  Any thread; waits for nothing.
 */
void pressure_end(struct pressure *p);

/* Hypercalls of the balloon: record reported-free pages, take them back. */
void pressure_report_free(struct pressure *p, unsigned long first, unsigned long n);
void pressure_reuse(struct pressure *p, unsigned long first, unsigned long n);

/*
 * A guest write was refused by the host: if the mprotect agent has RAM
 * write-protected now, wait until it restores it and return true (retry);
 * false if the refusal is real.
 */
bool pressure_wait_unprotect(struct pressure *p);

#endif
