// SPDX-License-Identifier: GPL-2.0
/*
 * Sleepable RCU with a read side free of atomic read-modify-writes and of
 * fences, after the kernel's kernel/rcu/srcutree.c and liburcu's memb flavour.
 */
#include <errno.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/bug.h"
#include "base/completion.h"
#include "base/err.h"
#include "base/kthread.h"
#include "base/preempt.h"
#include "base/report.h"
#include "base/sched_point.h"
#include "notifier/srcu.h"

/*
 * How a grace period knows that the readers are gone
 * ===================================================
 *
 * Every thread that reads a domain owns a record (struct srcu_reader) with
 * two pairs of counters that no other thread writes.  A read section takes
 * idx = srcu_idx & 1, adds one to srcu_lock_count[idx] on entry and to
 * srcu_unlock_count[idx] on exit (same idx: srcu_read_unlock() is handed it).
 * An index is quiet when, summed over every record of the domain, its
 * unlocks equal its locks.  The two sides:
 *
 *	srcu_read_lock()			the check of index i (srcu_readers_quiet)
 *	  idx = load_acquire(srcu_idx) & 1	  U = sum of unlock_count[i], acquire loads
 *	  lock_count[idx]++			  membarrier()				A
 *	  barrier()			B	  L = sum of lock_count[i]
 *	  ... section ...			  quiet if L == U
 *	srcu_read_unlock()
 *	  barrier()			C
 *	  store_release(unlock_count[idx]++)
 *
 * and a grace period (srcu_gp_run, under srcu_gp_mutex) is
 *
 *	scan(idx ^ 1)	repeat the check until the index nobody enters is quiet
 *	srcu_idx++	the flip, a release store: new readers count on idx ^ 1
 *	scan(idx)	repeat the check until the index that was in use is quiet
 *
 * membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) makes every thread of the
 * process that is running execute a full barrier before the call returns,
 * and a thread that is not running passes one when it is switched back in.
 * So A acts as if each reader had executed smp_mb() at some point P of its
 * own program: what the reader did before P is visible to whatever the
 * updater does after A, and what the updater did before A is visible to
 * whatever the reader does after P.  B and C only need to keep the compiler
 * from moving the section's accesses across the counter updates, so that P
 * falls before or after an update but never leaves a section access on the
 * wrong side of it.  The kernel's classic SRCU has a real smp_mb() at B and
 * C; a domain with srcu_reader_fence set does too, and A is then smp_mb().
 *
 * Why a reader R that is inside when synchronize_srcu() is called is
 * always waited for.  Say R counts on index i; both indexes are scanned, so
 * some check of the grace period found i quiet, and its L either counted
 * R's increment of lock_count[i] or did not.
 *
 *  - Not counted.  What R did before P, L would have seen; so R's increment
 *    and its whole section come after P, and R sees every store the updater
 *    made before A, including the rcu_assign_pointer() that unpublished the
 *    old object before synchronize_srcu() was called.  R cannot reach the
 *    old object: it was not really inside.
 *
 *  - Counted.  First, per record, L_r >= U_r: U_r was read (acquire) from
 *    the owner's store at some moment T of the owner's program, so L_r,
 *    read after it, is at least the owner's lock count at T, and that is
 *    at least its unlock count at T, U_r.  Hence L == U forces L_r == U_r
 *    for every record.  If R was inside at T, its record had more locks
 *    than unlocks on i at T, and L_r > U_r.  If R entered after T, L_r
 *    counts R's entry on top of at least U_r earlier ones, and L_r > U_r
 *    again.  So R had left by T: its unlock_count store, at or before T,
 *    was read with acquire, and every access of R's section happens before
 *    the updater's next step (the free).
 *
 * Why a reader that enters after the flip cannot see the old pointer: its
 * acquire load of srcu_idx read the flip, a release store that follows the
 * unpublishing store in the updater's program.  (The same pair rules out
 * the second case above for such a reader in scan(idx ^ 1): the check there
 * came before the flip, which came before the reader's increment.)
 *
 * Safety therefore comes from the check, on each index; the flip and the
 * order of the scans give progress.  A check of the index that new readers
 * use might never find it quiet.  Each index is therefore scanned while no
 * new reader takes it: idx ^ 1 before the flip, idx after.  Besides the
 * sections that began earlier, the only readers of a scanned index are
 * stragglers, threads that loaded srcu_idx before a flip and bump the old
 * index's count after it, at most one per thread; the first membarrier()
 * after the flip makes each thread's next srcu_read_lock() see it.  Both
 * scans end when the sections that began before them end.  (The kernel's
 * per-CPU counters let a section lock on one CPU and unlock on another; it
 * needs a bound on stragglers to keep the sums from wrapping.  Here the
 * counters are per thread and 64 bits wide.)
 *
 * Waiting polls, with sched_yield() and then short sleeps (srcu_backoff),
 * as the kernel's SRCU does.  Readers could wake a waiting updater without
 * a fence of their own, as liburcu's memb flavour does: the updater sets a
 * "waiter present" flag, runs membarrier() and sums the counts once more
 * before it sleeps, so a reader whose unlock missed the flag is seen by
 * that last sum.  It is not done here because it puts a load and a branch
 * in every unlock, where polling costs only grace-period latency while
 * readers are busy (bench_srcu's sweep).  Each poll first sums the counts
 * with a plain smp_mb() and only makes the membarrier() check once they
 * balance: an unbalanced sum proves nothing but costs nothing, so busy
 * readers cost no IPIs.
 *
 * Concurrent synchronize_srcu() calls share grace periods: srcu_gp_seq
 * counts them (odd while one runs), and a caller that finds that a whole
 * grace period began and ended after it snapshotted the sequence returns
 * (the kernel's rcu_seq_snap()/rcu_seq_done()).  The smp_mb() before the
 * snapshot orders the caller's updates before any grace period that began
 * after it, which is ordered before its check's A.
 */

/*
 * Reader-record lifetimes
 * =======================
 *
 * A record is on two lists: its domain's (srcu_readers, under
 * srcu_readers_lock, for the scans) and its owner thread's (srcu_self, for
 * lookups, touched by the owner only).  Each list holds a reference; the
 * record is freed when both are gone.  The owner drops its references at
 * thread exit (a pthread key destructor: userspace's do_exit() hook), and
 * earlier for domains already cleaned up.  The domain drops its reference
 * in cleanup_srcu_struct(), and at the start of each grace period for
 * records whose owner has exited with its counts balanced: those counts are
 * final, and taking the record out of both sums at once, under
 * srcu_readers_lock and never inside a check, leaves every check exact.  A
 * thread that exits inside a read section is reported and its record stays
 * counted, so grace periods of that domain wait forever, as in the kernel.
 */

/* Poll schedule of a grace period that finds readers inside. */
#define SRCU_YIELDS 8		   /* sched_yield() rounds before sleeping */
#define SRCU_EXP_YIELDS 64	   /* the same for synchronize_srcu_expedited() */
#define SRCU_MIN_DELAY_NS 5000L	   /* the kernel's SRCU_RETRY_CHECK_DELAY */
#define SRCU_MAX_DELAY_NS 1000000L /* a jiffy at HZ=1000 */
#define SRCU_EXP_MAX_DELAY_NS 100000L

/* One thread's records, and whether its exit hook is set. */
struct srcu_task {
	struct srcu_reader *readers;
	bool exit_hooked;
};

/*
 * The thread-local state stands in for the kernel's per-CPU srcu_data: the
 * cache lets srcu_read_lock() find the caller's record in two loads, and
 * srcu_self lists every record the thread owns.
 */
__srcu_tls unsigned long srcu_cache_gen[SRCU_CACHE_SLOTS] = {
	[0 ... SRCU_CACHE_SLOTS - 1] = SRCU_GEN_EMPTY,
};
__srcu_tls struct srcu_reader *srcu_cache_reader[SRCU_CACHE_SLOTS];
static __thread struct srcu_task srcu_self;

/*
 * Global because a domain's generation must never repeat in the process:
 * a thread's cache may still name a cleaned-up domain whose memory now
 * holds a new one.  The kernel has no such cache (its readers index
 * per-CPU data that each domain allocates), hence no counter.
 */
static atomic_long_t srcu_next_gen = ATOMIC_INIT(0);

/*
 * Global like the kernel's choice of barrier: membarrier() registration is
 * per process, probed once at the first init_srcu_struct().
 */
static bool srcu_have_membarrier;
static pthread_once_t srcu_probe_once = PTHREAD_ONCE_INIT;

/* Global: a pthread key is how a userspace library hears of thread exit. */
static pthread_key_t srcu_exit_key;
static pthread_once_t srcu_exit_key_once = PTHREAD_ONCE_INIT;

static int sys_membarrier(int cmd)
{
	return syscall(__NR_membarrier, cmd, 0, 0);
}

static void srcu_probe_membarrier(void)
{
	int cmds = sys_membarrier(MEMBARRIER_CMD_QUERY);

	/* Without it, every domain's readers fence themselves (srcu_reader_fence). */
	if (cmds < 0 || !(cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED))
		return;
	if (sys_membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED))
		return;
	srcu_have_membarrier = true;
}

/* A: a full barrier here and, in effect, in every reader thread. */
static void srcu_membarrier(struct srcu_struct *ssp)
{
	if (ssp->srcu_reader_fence) {
		smp_mb();
		return;
	}
	/* Registered at init; a failure now would leave readers unordered. */
	BUG_ON(sys_membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED));
}

/* ---- reader records ------------------------------------------------------ */

static long srcu_reader_nesting(const struct srcu_reader *r)
{
	return (long)(r->srcu_lock_count[0] - r->srcu_unlock_count[0]) +
	       (long)(r->srcu_lock_count[1] - r->srcu_unlock_count[1]);
}

static void srcu_reader_put(struct srcu_reader *r)
{
	if (atomic_dec_and_test(&r->refs))
		free(r);
}

/* The calling thread's record for the domain of generation @gen, if any. */
static struct srcu_reader *srcu_task_find(unsigned long gen)
{
	struct srcu_reader *r;

	for (r = srcu_self.readers; r; r = r->task_next)
		if (r->gen == gen)
			return r;
	return NULL;
}

/* Drop the calling thread's records of domains that were cleaned up. */
static void srcu_task_prune(void)
{
	struct srcu_reader **link = &srcu_self.readers;
	struct srcu_reader *r;

	while ((r = *link)) {
		if (smp_load_acquire(&r->domain_gone)) {
			*link = r->task_next;
			srcu_reader_put(r);
		} else {
			link = &r->task_next;
		}
	}
}

static void srcu_report_exit_in_section(struct srcu_reader *r)
{
	report_start(REPORT_WARN, "task exited inside an SRCU read section of %s", r->ssp_name);
	report_printf("  %ld section(s) still open; grace periods of %s will never end\n",
		      srcu_reader_nesting(r), r->ssp_name);
	report_end();
}

/* Thread exit: hand every record to its domain alone. */
static void srcu_task_exit(void *arg)
{
	struct srcu_task *self = arg;
	struct srcu_reader *r, *next;

	for (r = self->readers; r; r = next) {
		next = r->task_next;
		if (!smp_load_acquire(&r->domain_gone) && srcu_reader_nesting(r))
			srcu_report_exit_in_section(r);
		/* Pairs with the acquire in srcu_reap_readers(): the counts are final. */
		smp_store_release(&r->owner_gone, true);
		srcu_reader_put(r);
	}
	self->readers = NULL;
	self->exit_hooked = false;
	for (int i = 0; i < SRCU_CACHE_SLOTS; i++)
		srcu_cache_gen[i] = SRCU_GEN_EMPTY;
}

static void srcu_exit_key_create(void)
{
	BUG_ON(pthread_key_create(&srcu_exit_key, srcu_task_exit));
}

static void srcu_task_add(struct srcu_reader *r)
{
	if (!srcu_self.exit_hooked) {
		pthread_once(&srcu_exit_key_once, srcu_exit_key_create);
		BUG_ON(pthread_setspecific(srcu_exit_key, &srcu_self));
		srcu_self.exit_hooked = true;
		/* So a debugger finds a task's records from its task record. */
		current->srcu_readers = &srcu_self;
	}
	r->task_next = srcu_self.readers;
	srcu_self.readers = r;
}

static struct srcu_reader *srcu_reader_create(struct srcu_struct *ssp)
{
	struct srcu_reader *r = aligned_alloc(__alignof__(*r), sizeof(*r));

	/* srcu_read_lock() cannot fail, and the kernel's never allocates. */
	BUG_ON(!r);
	memset(r, 0, sizeof(*r));
	r->ssp_name = ssp->name;
	r->gen = READ_ONCE(ssp->srcu_gen);
	atomic_set(&r->refs, 2);
	srcu_task_prune();
	srcu_task_add(r);
	spin_lock(&ssp->srcu_readers_lock);
	list_add_tail(&r->node, &ssp->srcu_readers);
	spin_unlock(&ssp->srcu_readers_lock);
	return r;
}

/*
 * The caller's record for @ssp, made by its first section in the domain.
 * The record goes into the cache, where the next section's fast path finds
 * it; a fenced domain's under a tag that only this function looks for, so
 * that its sections do not walk the thread's list each time, nor the fast
 * path test for a fence.  A later miss (two domains sharing a slot) finds
 * the record on the thread's list.
 */
static struct srcu_reader *srcu_reader_find(struct srcu_struct *ssp)
{
	unsigned long gen = READ_ONCE(ssp->srcu_gen);
	unsigned long tag = ssp->srcu_reader_fence ? gen | SRCU_GEN_FENCED : gen;
	unsigned int slot = gen % SRCU_CACHE_SLOTS;
	struct srcu_reader *r;

	/* Used before init_srcu_struct() or after cleanup_srcu_struct(). */
	BUG_ON(!gen);
	if (srcu_cache_gen[slot] == tag)
		return srcu_cache_reader[slot];
	r = srcu_task_find(gen);
	if (!r)
		r = srcu_reader_create(ssp);
	srcu_cache_gen[slot] = tag;
	srcu_cache_reader[slot] = r;
	return r;
}

/*
 * The fast path's twin for a cache miss: the same steps, and for a fenced
 * domain with smp_mb() at B, since no membarrier() will stand in for it.
 */
int __srcu_read_lock_slow(struct srcu_struct *ssp)
{
	struct srcu_reader *r = srcu_reader_find(ssp);
	int idx = smp_load_acquire(&ssp->srcu_idx) & 1;

	sched_point("srcu:read_lock_idx");
	WRITE_ONCE(r->srcu_lock_count[idx], r->srcu_lock_count[idx] + 1);
	if (ssp->srcu_reader_fence)
		smp_mb(); /* B */
	else
		barrier(); /* B */
	return idx;
}

void __srcu_read_unlock_slow(struct srcu_struct *ssp, int idx)
{
	struct srcu_reader *r = srcu_reader_find(ssp);

	if (ssp->srcu_reader_fence)
		smp_mb(); /* C */
	else
		barrier(); /* C */
	smp_store_release(&r->srcu_unlock_count[idx], r->srcu_unlock_count[idx] + 1);
}

bool srcu_read_lock_held(struct srcu_struct *ssp)
{
	int slot = srcu_cache_slot(ssp);
	struct srcu_reader *r;

	r = slot >= 0 ? srcu_cache_reader[slot] : srcu_task_find(READ_ONCE(ssp->srcu_gen));
	return r && srcu_reader_nesting(r) > 0;
}

void __srcu_read_unlock_check(struct srcu_struct *ssp, int idx)
{
	WARN_ON_ONCE(idx & ~1);
}

void __srcu_dereference_report(struct srcu_struct *ssp, const char *file, int line)
{
	report_start(REPORT_LOCKDEP, "suspicious srcu_dereference() usage");
	report_printf("  %s:%d: outside a read section of %s and without the updater's lock\n",
		      file, line, ssp->name);
	dump_stack();
	report_end();
}

/* ---- the scan ------------------------------------------------------------ */

/*
 * Unlink records whose owner exited with balanced counts; under
 * srcu_readers_lock, between checks, so both sums lose the same amount.
 */
static void srcu_reap_readers(struct srcu_struct *ssp)
{
	struct srcu_reader *r, *tmp;

	spin_lock(&ssp->srcu_readers_lock);
	list_for_each_entry_safe(r, tmp, &ssp->srcu_readers, node) {
		if (!smp_load_acquire(&r->owner_gone) || srcu_reader_nesting(r))
			continue;
		list_del(&r->node);
		srcu_reader_put(r);
	}
	spin_unlock(&ssp->srcu_readers_lock);
}

/*
 * One check of index @idx: the unlocks, then A, then the locks.  @strict
 * makes A a membarrier() and the answer a proof; otherwise A is smp_mb()
 * and only "unbalanced" means anything (some reader is certainly inside).
 */
static bool srcu_readers_quiet(struct srcu_struct *ssp, int idx, bool strict)
{
	unsigned long unlocks = 0, locks = 0;
	struct srcu_reader *r;

	spin_lock(&ssp->srcu_readers_lock);
	list_for_each_entry(r, &ssp->srcu_readers, node)
		unlocks += smp_load_acquire(&r->srcu_unlock_count[idx]);
	/* A test moves a reader here to show why the unlocks come first. */
	sched_point("srcu:between_sums");
	if (strict)
		srcu_membarrier(ssp); /* A: pairs with B and C */
	else
		smp_mb();
	list_for_each_entry(r, &ssp->srcu_readers, node)
		locks += READ_ONCE(r->srcu_lock_count[idx]);
	spin_unlock(&ssp->srcu_readers_lock);
	return locks == unlocks;
}

static void srcu_backoff(unsigned int tries, bool expedited)
{
	unsigned int yields = expedited ? SRCU_EXP_YIELDS : SRCU_YIELDS;
	long max_ns = expedited ? SRCU_EXP_MAX_DELAY_NS : SRCU_MAX_DELAY_NS;
	struct timespec ts = { 0 };

	if (tries <= yields) {
		sched_yield();
		return;
	}
	ts.tv_nsec = min(SRCU_MIN_DELAY_NS << min(tries - yields, 10U), max_ns);
	nanosleep(&ts, NULL);
}

/* Wait until no reader that may have begun before this scan counts on @idx. */
static void srcu_scan(struct srcu_struct *ssp, int idx, bool expedited)
{
	unsigned int tries = 0;

	if (srcu_readers_quiet(ssp, idx, true))
		return;
	do {
		sched_point("srcu:readers_busy");
		srcu_backoff(++tries, expedited);
	} while (!srcu_readers_quiet(ssp, idx, false) || !srcu_readers_quiet(ssp, idx, true));
}

/* One grace period; the caller holds srcu_gp_mutex. */
static void srcu_gp_run(struct srcu_struct *ssp, bool expedited)
{
	unsigned int idx = ssp->srcu_idx;

	lockdep_assert_held(&ssp->srcu_gp_mutex);
	WRITE_ONCE(ssp->srcu_gp_seq, ssp->srcu_gp_seq + 1);
	smp_mb(); /* the sequence is odd before any check: pairs with srcu_gp_snap() */
	srcu_reap_readers(ssp);
	srcu_scan(ssp, (idx + 1) & 1, expedited);
	/* Release: pairs with srcu_read_lock()'s acquire of srcu_idx. */
	smp_store_release(&ssp->srcu_idx, idx + 1);
	sched_point("srcu:after_flip");
	srcu_scan(ssp, idx & 1, expedited);
	WRITE_ONCE(ssp->srcu_gp_seq, ssp->srcu_gp_seq + 1);
}

/* The sequence value at which a grace period that begins after now has ended. */
static unsigned long srcu_gp_snap(struct srcu_struct *ssp)
{
	smp_mb(); /* the caller's updates come before the grace periods it counts on */
	return (READ_ONCE(ssp->srcu_gp_seq) + 3) & ~1UL;
}

static bool srcu_gp_done(struct srcu_struct *ssp, unsigned long snap)
{
	return (long)(READ_ONCE(ssp->srcu_gp_seq) - snap) >= 0;
}

/* Waiting for our own section would never end: report it and do not wait. */
static bool srcu_check_not_in_section(struct srcu_struct *ssp, const char *what)
{
	if (!srcu_read_lock_held(ssp))
		return true;
	report_start(REPORT_LOCKDEP, "%s() inside a read section of the same domain", what);
	report_printf("  domain %s: the grace period would wait for the caller itself\n",
		      ssp->name);
	dump_stack();
	report_end();
	return false;
}

static void __synchronize_srcu(struct srcu_struct *ssp, bool expedited)
{
	unsigned long snap;

	might_sleep();
	if (!srcu_check_not_in_section(ssp, "synchronize_srcu"))
		return;
	/* Orders against locks that readers take inside their sections. */
	lock_map_sync(&ssp->dep_map);
	snap = srcu_gp_snap(ssp);
	mutex_lock(&ssp->srcu_gp_mutex);
	if (!srcu_gp_done(ssp, snap))
		srcu_gp_run(ssp, expedited);
	mutex_unlock(&ssp->srcu_gp_mutex);
}

/**
 * synchronize_srcu - wait until every read section of @ssp that began
 * before the call has ended.  May sleep; never call it inside a read
 * section of @ssp (reported, and it then returns without waiting).
 */
void synchronize_srcu(struct srcu_struct *ssp)
{
	__synchronize_srcu(ssp, false);
}

/* The same grace period, polled harder before it starts sleeping. */
void synchronize_srcu_expedited(struct srcu_struct *ssp)
{
	__synchronize_srcu(ssp, true);
}

/* ---- callbacks ------------------------------------------------------------ */

static bool srcu_cb_has_work(struct srcu_struct *ssp)
{
	return READ_ONCE(ssp->srcu_cb_head) || kthread_should_stop();
}

/* Take every queued callback, wait a grace period, run them in order. */
static void srcu_cb_run_batch(struct srcu_struct *ssp)
{
	struct rcu_head *head, *next;
	unsigned long n = 0;

	spin_lock(&ssp->srcu_cb_lock);
	head = ssp->srcu_cb_head;
	WRITE_ONCE(ssp->srcu_cb_head, NULL);
	ssp->srcu_cb_tail = &ssp->srcu_cb_head;
	spin_unlock(&ssp->srcu_cb_lock);

	/* Begins after every callback of the batch was queued. */
	synchronize_srcu(ssp);
	for (; head; head = next, n++) {
		next = head->next;
		head->func(head);
	}

	spin_lock(&ssp->srcu_cb_lock);
	ssp->srcu_cb_pending -= n;
	spin_unlock(&ssp->srcu_cb_lock);
}

static int srcu_cb_worker(void *arg)
{
	struct srcu_struct *ssp = arg;

	for (;;) {
		wait_event(ssp->srcu_cb_wq, srcu_cb_has_work(ssp));
		/* Callbacks still queued now were leaked by the caller; cleanup says so. */
		if (kthread_should_stop())
			return 0;
		srcu_cb_run_batch(ssp);
	}
}

static void srcu_cb_worker_start(struct srcu_struct *ssp)
{
	struct kthread *k = kthread_run(srcu_cb_worker, ssp, "srcu:%s", ssp->name);

	if (WARN_ON(IS_ERR(k)))
		return;
	ssp->srcu_cb_worker = k;
}

/**
 * call_srcu - run @func(@head) on @ssp's worker thread after a grace period.
 *
 * Callbacks run in the order they were queued, each once, and only after
 * every read section that began before call_srcu() has ended.  Never
 * sleeps, except that the first call on a domain starts its worker.
 */
void call_srcu(struct srcu_struct *ssp, struct rcu_head *head, rcu_callback_t func)
{
	bool start;

	head->func = func;
	head->next = NULL;
	spin_lock(&ssp->srcu_cb_lock);
	WRITE_ONCE(*ssp->srcu_cb_tail, head);
	ssp->srcu_cb_tail = &head->next;
	ssp->srcu_cb_pending++;
	start = !ssp->srcu_cb_started;
	ssp->srcu_cb_started = true;
	spin_unlock(&ssp->srcu_cb_lock);
	if (unlikely(start))
		srcu_cb_worker_start(ssp);
	wake_up_all(&ssp->srcu_cb_wq);
}

struct srcu_barrier_head {
	struct rcu_head head;
	struct completion done;
};

static void srcu_barrier_cb(struct rcu_head *head)
{
	complete(&container_of(head, struct srcu_barrier_head, head)->done);
}

static unsigned long srcu_cbs_pending(struct srcu_struct *ssp)
{
	unsigned long n;

	spin_lock(&ssp->srcu_cb_lock);
	n = ssp->srcu_cb_pending;
	spin_unlock(&ssp->srcu_cb_lock);
	return n;
}

/**
 * srcu_barrier - wait until every callback queued on @ssp before the call
 * has run.  Callbacks run in order, so one more callback that completes
 * us runs after all of them.  Not from a callback, nor inside a section.
 */
void srcu_barrier(struct srcu_struct *ssp)
{
	struct srcu_barrier_head barrier;

	might_sleep();
	if (!srcu_check_not_in_section(ssp, "srcu_barrier"))
		return;
	if (!srcu_cbs_pending(ssp))
		return;
	init_completion(&barrier.done);
	call_srcu(ssp, &barrier.head, srcu_barrier_cb);
	wait_for_completion(&barrier.done);
}

/* ---- domains -------------------------------------------------------------- */

int __init_srcu_struct(struct srcu_struct *ssp, const char *name, struct lock_class_key *key,
		       bool reader_fence)
{
	pthread_once(&srcu_probe_once, srcu_probe_membarrier);
	memset(ssp, 0, sizeof(*ssp));
	ssp->name = name;
	ssp->srcu_reader_fence = reader_fence || !srcu_have_membarrier;
	lockdep_init_map(&ssp->dep_map, name, key, 0);
	mutex_init(&ssp->srcu_gp_mutex);
	spin_lock_init(&ssp->srcu_readers_lock);
	INIT_LIST_HEAD(&ssp->srcu_readers);
	spin_lock_init(&ssp->srcu_cb_lock);
	ssp->srcu_cb_tail = &ssp->srcu_cb_head;
	init_waitqueue_head(&ssp->srcu_cb_wq);
	/* Last: a domain is live once it has a generation. */
	smp_store_release(&ssp->srcu_gen, atomic_long_inc_return(&srcu_next_gen));
	return 0;
}

static bool srcu_readers_active(struct srcu_struct *ssp)
{
	return !srcu_readers_quiet(ssp, 0, true) || !srcu_readers_quiet(ssp, 1, true);
}

/* Hand every record to its owner alone; owners free them at their next miss or exit. */
static void srcu_drop_readers(struct srcu_struct *ssp)
{
	struct srcu_reader *r, *tmp;

	spin_lock(&ssp->srcu_readers_lock);
	list_for_each_entry_safe(r, tmp, &ssp->srcu_readers, node) {
		list_del(&r->node);
		/* Pairs with srcu_task_prune()'s acquire. */
		smp_store_release(&r->domain_gone, true);
		srcu_reader_put(r);
	}
	spin_unlock(&ssp->srcu_readers_lock);
}

/**
 * cleanup_srcu_struct - stop @ssp's worker and free its reader records.
 *
 * The caller guarantees that nobody enters a section, calls call_srcu() or
 * waits for a grace period any more.  A reader still inside, or a callback
 * still queued (srcu_barrier() forgotten: it is leaked, never run), is a
 * bug, reported as the kernel WARNs.
 */
void cleanup_srcu_struct(struct srcu_struct *ssp)
{
	unsigned long pending;

	if (ssp->srcu_cb_worker)
		kthread_stop(ssp->srcu_cb_worker);
	ssp->srcu_cb_worker = NULL;
	pending = srcu_cbs_pending(ssp);
	if (pending) {
		report_start(REPORT_WARN, "cleanup_srcu_struct(%s) with callbacks queued",
			     ssp->name);
		report_printf("  %lu callback(s) leaked: srcu_barrier() first\n", pending);
		dump_stack();
		report_end();
	}
	if (srcu_readers_active(ssp)) {
		report_start(REPORT_WARN, "cleanup_srcu_struct(%s) with readers inside", ssp->name);
		dump_stack();
		report_end();
	}
	srcu_drop_readers(ssp);
	WRITE_ONCE(ssp->srcu_gen, 0);
}
