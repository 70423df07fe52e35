// SPDX-License-Identifier: GPL-2.0
/*
 * Host memory pressure agents (--pressure).  Each agent is a host thread
 * that does one kind of damage to guest RAM every period, through the host
 * mm's own paths: nothing here touches the secondary MMU, which learns of
 * every change through its mmu_notifier, as KVM does.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/current.h"
#include "base/err.h"
#include "base/prandom.h"
#include "base/sched_point.h"
#include "mm/migrate.h"
#include "mm/mm.h"
#include "mm/page_alloc.h"
#include "mm/swap.h"
#include "vmm/pressure.h"
#include "vmm/vm.h"

#define MS (1000UL * 1000)

static const struct {
	const char *name;
	const char *stat; /* --stats: what its rounds did */
	unsigned long period_ns;
	bool in_all; /* what a busy host does anyway; not a window opened on purpose */
} pressure_kinds[NR_PRESSURE_KINDS] = {
	[PRESSURE_RECLAIM] = { "reclaim", "pressure_reclaim_pages", 20 * MS, true },
	[PRESSURE_MIGRATE] = { "migrate", "pressure_migrated_pages", 10 * MS, true },
	[PRESSURE_MPROTECT] = { "mprotect", "pressure_mprotect_pages", 30 * MS, true },
	[PRESSURE_AGE] = { "age", "pressure_aged_pages", 20 * MS, true },
	[PRESSURE_DONTNEED_FREE] = { "dontneed-free", "pressure_discarded_pages", 10 * MS, true },
	[PRESSURE_FORK] = { "fork", "pressure_forks", 100 * MS, true },
	[PRESSURE_FAULT_RACE] = { "fault-race", "pressure_raced_faults", 2 * MS, false },
};

const char *pressure_name(enum pressure_kind kind)
{
	return pressure_kinds[kind].name;
}

const char *pressure_stat_name(enum pressure_kind kind)
{
	return pressure_kinds[kind].stat;
}

/* "50ms", "200us", "1s", "5000000ns" */
static int parse_period(const char *s, unsigned long *ns)
{
	static const struct {
		const char *suffix;
		unsigned long mult;
	} units[] = { { "ns", 1 }, { "us", 1000 }, { "ms", 1000000 }, { "s", 1000000000 } };
	char *end;
	unsigned long v;

	if (!isdigit((unsigned char)*s))
		return -EINVAL; /* strtoul() would take "-1" and " 5" */
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || !v)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (!strcmp(end, units[i].suffix)) {
			/* Up to a day: a longer period is a typo, and 1e20ns would wrap. */
			if (v > PRESSURE_MAX_PERIOD_NS / units[i].mult)
				return -ERANGE;
			*ns = v * units[i].mult;
			return 0;
		}
	}
	return -EINVAL;
}

static int pressure_parse_item(struct pressure *p, char *item, char *err, size_t errlen)
{
	char *eq = strchr(item, '=');
	unsigned long period = 0;

	if (eq) {
		*eq = '\0';
		if (parse_period(eq + 1, &period)) {
			snprintf(err, errlen,
				 "'%s': the period must be like 50ms, 200us or 1s, at most a day",
				 eq + 1);
			return -EINVAL;
		}
	}
	for (int k = 0; k < NR_PRESSURE_KINDS; k++) {
		if (strcmp(item, "all") ? strcmp(item, pressure_kinds[k].name) :
					  !pressure_kinds[k].in_all)
			continue;
		p->agents[k].enabled = true;
		p->agents[k].period_ns = period ? period : pressure_kinds[k].period_ns;
		if (strcmp(item, "all"))
			return 0;
	}
	if (!strcmp(item, "all"))
		return 0;
	snprintf(err, errlen,
		 "unknown pressure '%s' (reclaim, migrate, mprotect, age, dontneed-free, fork, "
		 "fault-race, all)",
		 item);
	return -EINVAL;
}

int pressure_parse(struct pressure *p, const char *list, char *err, size_t errlen)
{
	char *copy, *rest, *item;
	int ret = 0;

	/* "--pressure=" or "reclaim,,age" is a mistake, not a request for no pressure. */
	if (!*list) {
		snprintf(err, errlen, "an empty list (name an agent, or leave --pressure out)");
		return -EINVAL;
	}
	copy = strdup(list);
	if (!copy)
		return -ENOMEM;
	for (rest = copy; rest && !ret;) {
		item = strsep(&rest, ",");
		if (!*item) {
			snprintf(err, errlen, "an empty name in the list");
			ret = -EINVAL;
		} else {
			ret = pressure_parse_item(p, item, err, errlen);
		}
	}
	free(copy);
	return ret;
}

int pressure_init(struct pressure *p, unsigned long nr_pages)
{
	memset(p, 0, sizeof(*p));
	p->nr_pages = nr_pages;
	p->free_map = calloc(nr_pages ? nr_pages : 1, 1);
	if (!p->free_map)
		return -ENOMEM;
	init_waitqueue_head(&p->wq);
	mutex_init(&p->free_lock);
	for (int k = 0; k < NR_PRESSURE_KINDS; k++)
		p->agents[k].kind = k;
	return 0;
}

void pressure_destroy(struct pressure *p)
{
	free(p->free_map);
}

/* Sleep @ns or until the run ends; false when it ended. */
static bool pressure_sleep(struct pressure *p, unsigned long ns)
{
	wait_event_hrtimeout(p->wq, READ_ONCE(p->stop), ns);
	return !READ_ONCE(p->stop);
}

void pressure_end(struct pressure *p)
{
	WRITE_ONCE(p->stop, true);
	wake_up_all(&p->wq);
}

/*
 * @a's first round has done its damage: pressure_start() may start the
 * guest.  A round that then waits (a window held open, a child held, a
 * fault awaited) says so before it waits, or the guest it waits for would
 * never start.
 */
static void agent_ready(struct pressure_agent *a)
{
	struct pressure *p = &a->vm->pressure;

	if (READ_ONCE(a->ready))
		return;
	smp_store_release(&a->ready, true);
	wake_up_all(&p->wq);
}

static bool pressure_agents_ready(struct pressure *p)
{
	for (int k = 0; k < NR_PRESSURE_KINDS; k++)
		if (p->agents[k].started && !smp_load_acquire(&p->agents[k].ready))
			return false;
	return true;
}

static uint64_t agent_rand(struct pressure_agent *a)
{
	return prandom_u64(&a->rand);
}

/* A random page-aligned range of guest RAM of up to @max pages: [*hva, *hva + *len). */
static void agent_range(struct pressure_agent *a, unsigned long max, unsigned long *hva,
			size_t *len)
{
	struct vmm *vm = a->vm;
	unsigned long pages = vm->cfg.mem_bytes >> PAGE_SHIFT;
	unsigned long n = 1 + agent_rand(a) % max, first;

	n = min(n, pages);
	first = agent_rand(a) % (pages - n + 1);
	*hva = vm->ram_hva + (first << PAGE_SHIFT);
	*len = n << PAGE_SHIFT;
}

/* ---- the agents ---- */

/*
 * Write-protect a range, let the guest run into it, restore.  Guest writes
 * refused meanwhile wait in pressure_wait_unprotect() and retry.
 */
static long agent_mprotect(struct pressure_agent *a)
{
	struct pressure *p = &a->vm->pressure;
	unsigned long hva;
	size_t len;
	int ret;

	agent_range(a, 256, &hva, &len);
	smp_store_release(&p->protect_seq, p->protect_seq + 1); /* odd: a window is open */
	ret = do_mprotect(a->vm->mm, hva, len, PROT_READ);
	agent_ready(a);
	if (!ret)
		pressure_sleep(p, a->period_ns / 4);
	do_mprotect(a->vm->mm, hva, len, PROT_READ | PROT_WRITE);
	/* Release: a waiter that sees the window closed finds RAM writable. */
	smp_store_release(&p->protect_seq, p->protect_seq + 1);
	wake_up_all(&p->wq);
	return ret ? ret : (long)(len >> PAGE_SHIFT);
}

static bool pressure_window_closed(struct pressure *p)
{
	return !(smp_load_acquire(&p->protect_seq) & 1) || READ_ONCE(p->stop);
}

bool pressure_wait_unprotect(struct pressure *p)
{
	/* Without the mprotect agent no window opens: the refusal is real. */
	if (!p->agents[PRESSURE_MPROTECT].enabled)
		return false;
	wait_event(p->wq, pressure_window_closed(p));
	/* A write refused just after a window closed: retrying is right too. */
	return true;
}

/* Fork the VMM's mm and drop the child: every guest page is COW-shared meanwhile. */
static long agent_fork(struct pressure_agent *a)
{
	struct mm_struct *child = dup_mm(a->vm->mm, "nopin-fork");

	if (IS_ERR_OR_NULL(child))
		return child ? PTR_ERR(child) : -ENOMEM;
	agent_ready(a);
	pressure_sleep(&a->vm->pressure, a->period_ns / 2);
	mmput(child);
	return a->vm->cfg.mem_bytes >> PAGE_SHIFT;
}

void pressure_report_free(struct pressure *p, unsigned long first, unsigned long n)
{
	mutex_lock(&p->free_lock);
	for (unsigned long i = first; i < first + n && i < p->nr_pages; i++)
		p->free_map[i] = 1;
	mutex_unlock(&p->free_lock);
}

/* After this returns, no discard of the range is in flight or will start. */
void pressure_reuse(struct pressure *p, unsigned long first, unsigned long n)
{
	mutex_lock(&p->free_lock);
	for (unsigned long i = first; i < first + n && i < p->nr_pages; i++)
		p->free_map[i] = 0;
	mutex_unlock(&p->free_lock);
}

/* MADV_DONTNEED one run of pages the guest reported free, under the free lock. */
static long agent_dontneed_free(struct pressure_agent *a)
{
	struct pressure *p = &a->vm->pressure;
	unsigned long start = agent_rand(a) % p->nr_pages, i, n = 0;
	long ret = 0;

	mutex_lock(&p->free_lock);
	for (i = start; i < p->nr_pages && !p->free_map[i]; i++)
		;
	if (i == p->nr_pages)
		for (i = 0; i < start && !p->free_map[i]; i++)
			;
	while (i + n < p->nr_pages && p->free_map[i + n] && n < 512)
		n++;
	if (n)
		ret = do_madvise(a->vm->mm, a->vm->ram_hva + (i << PAGE_SHIFT), n << PAGE_SHIFT,
				 MADV_DONTNEED);
	mutex_unlock(&p->free_lock);
	return ret ? ret : (long)n;
}

/* What kswapd would do, on demand: reclaim a batch from the pool's LRU lists. */
static long agent_reclaim(struct pressure_agent *a)
{
	return shrink_node(a->vm->pool->pgdat, 4 * SWAP_CLUSTER_MAX);
}

/* Compaction / NUMA balancing: move random guest pages to new frames. */
static long agent_migrate(struct pressure_agent *a)
{
	return migrate_random_pages(a->vm->mm, 32, &a->rand, NULL);
}

/* A working-set estimator: clear accessed bits, the secondary MMU's included. */
static long agent_age(struct pressure_agent *a)
{
	unsigned long hva;
	size_t len;

	agent_range(a, 512, &hva, &len);
	page_idle_clear_range(a->vm->mm, hva, len);
	return len >> PAGE_SHIFT;
}

#define FAULT_RACE_POINT "kvm:fault_after_gup"
#define FAULT_RACE_POLL_NS (50 * 1000)

/*
 * The window rule 2 (retry instead of pin) closes, opened on purpose: park
 * the next secondary fault between its page lookup and its install, page
 * that very page out (MADV_PAGEOUT: unmapped through the rmap with the
 * notifier told, then kept in the swap cache, since the fault holds it),
 * and let the fault go on.  With the rule, it sees the invalidation
 * sequence moved and faults again, finding the page in the swap cache;
 * without it (--legacy=no_invalidate_retry) it maps a page nothing maps
 * any more, which the next reclaim frees under the SPTE, and the
 * sanitizer reports the guest's next access.  A busy host hits this window
 * by chance, how often depending on how fast the vCPU runs; this agent hits
 * it every round at any speed.  Not part of "all": while it waits, every
 * schedule point takes the slow path.
 */
static long agent_fault_race(struct pressure_agent *a)
{
	struct pressure *p = &a->vm->pressure;
	void *hva = NULL;
	int ret = 0;

	if (sched_point_arm(FAULT_RACE_POINT, NULL))
		return -EBUSY;
	agent_ready(a);
	while (!sched_point_parked_data(FAULT_RACE_POINT, &hva))
		if (!pressure_sleep(p, FAULT_RACE_POLL_NS))
			break;
	if (hva)
		ret = do_madvise(a->vm->mm, (unsigned long)hva & PAGE_MASK, PAGE_SIZE,
				 MADV_PAGEOUT);
	sched_point_release(FAULT_RACE_POINT);
	return ret ? ret : hva != NULL;
}

static long (*const agent_step[NR_PRESSURE_KINDS])(struct pressure_agent *a) = {
	[PRESSURE_RECLAIM] = agent_reclaim,
	[PRESSURE_MIGRATE] = agent_migrate,
	[PRESSURE_MPROTECT] = agent_mprotect,
	[PRESSURE_AGE] = agent_age,
	[PRESSURE_DONTNEED_FREE] = agent_dontneed_free,
	[PRESSURE_FORK] = agent_fork,
	[PRESSURE_FAULT_RACE] = agent_fault_race,
};

static void *agent_thread(void *arg)
{
	struct pressure_agent *a = arg;
	struct pressure *p = &a->vm->pressure;
	char name[32];

	snprintf(name, sizeof(name), "pressure/%s", pressure_name(a->kind));
	task_register(name);
	/* The first round comes at once: see pressure_start(). */
	do {
		long n = agent_step[a->kind](a);

		agent_ready(a);
		a->rounds++;
		if (n > 0)
			a->pages += n;
	} while (pressure_sleep(p, a->period_ns));
	task_unregister();
	return NULL;
}

int pressure_start(struct pressure *p, struct vmm *vm)
{
	for (int k = 0; k < NR_PRESSURE_KINDS; k++) {
		struct pressure_agent *a = &p->agents[k];
		int err;

		if (!a->enabled)
			continue;
		if (!agent_step[k])
			return -EOPNOTSUPP;
		a->vm = vm;
		a->rand = 0x9e3779b97f4a7c15ULL * (k + 1);
		err = pthread_create(&a->thread, NULL, agent_thread, a);
		if (err) {
			pressure_stop(p);
			return -err;
		}
		a->started = true;
	}
	wait_event(p->wq, pressure_agents_ready(p));
	return 0;
}

void pressure_stop(struct pressure *p)
{
	pressure_end(p);
	for (int k = 0; k < NR_PRESSURE_KINDS; k++) {
		if (p->agents[k].started)
			pthread_join(p->agents[k].thread, NULL);
		p->agents[k].started = false;
	}
}
