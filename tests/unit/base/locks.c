// SPDX-License-Identifier: GPL-2.0
/*
 * The lock primitives do their job: mutual exclusion under contention for
 * every lock type, writer fairness and downgrade of the rwsem, interruptible
 * sleeps that end with -EINTR, and wait queues and completions that lose
 * no wakeup.  Threads are ordered by completions and by observing that a
 * waiter is queued (a state, not a time).
 */
#include <errno.h>
#include <sched.h>

#include "base/completion.h"
#include "base/err.h"
#include "base/kthread.h"
#include "base/mutex.h"
#include "base/rwlock.h"
#include "base/rwsem.h"
#include "base/spinlock.h"
#include "base/wait.h"
#include "tests/lib/test_util.h"

#define NR_INCREMENTS 100000

static struct kthread *start(int (*fn)(void *), void *arg, const char *name)
{
	struct kthread *k = kthread_run(fn, arg, "%s", name);

	TEST_ASSERT(!IS_ERR(k), "kthread_run: %ld", PTR_ERR(k));
	return k;
}

/* ---- mutual exclusion --------------------------------------------------- */

enum lock_kind { SPIN, RWLOCK_W, MUTEX, RWSEM_W, RWSEM_RW };

struct counter_test {
	enum lock_kind kind;
	spinlock_t spin;
	rwlock_t rw;
	struct mutex mutex;
	struct rw_semaphore sem;
	struct completion go;
	unsigned long counter; /* plain: only the lock protects it */
};

static void locked_increment(struct counter_test *t, int i)
{
	switch (t->kind) {
	case SPIN:
		spin_lock(&t->spin);
		t->counter++;
		spin_unlock(&t->spin);
		break;
	case RWLOCK_W:
		write_lock(&t->rw);
		t->counter++;
		write_unlock(&t->rw);
		break;
	case MUTEX:
		mutex_lock(&t->mutex);
		t->counter++;
		mutex_unlock(&t->mutex);
		break;
	case RWSEM_W:
		down_write(&t->sem);
		t->counter++;
		up_write(&t->sem);
		break;
	case RWSEM_RW:
		/* Readers interleaved: a reader must never see a half-done write. */
		if (i % 4 == 0) {
			unsigned long seen;

			down_read(&t->sem);
			seen = READ_ONCE(t->counter);
			TEST_ASSERT_EQ(seen, READ_ONCE(t->counter));
			up_read(&t->sem);
		} else {
			down_write(&t->sem);
			WRITE_ONCE(t->counter, t->counter + 1);
			up_write(&t->sem);
		}
		break;
	}
}

static int increment_thread(void *arg)
{
	struct counter_test *t = arg;

	wait_for_completion(&t->go);
	for (int i = 0; i < NR_INCREMENTS; i++)
		locked_increment(t, i);
	return 0;
}

static void run_counter_test(enum lock_kind kind)
{
	static struct counter_test t;
	struct kthread *k[2];

	t = (struct counter_test){ .kind = kind };
	spin_lock_init(&t.spin);
	rwlock_init(&t.rw);
	mutex_init(&t.mutex);
	init_rwsem(&t.sem);
	init_completion(&t.go);
	k[0] = start(increment_thread, &t, "inc-0");
	k[1] = start(increment_thread, &t, "inc-1");
	complete_all(&t.go); /* both start together */
	TEST_ASSERT_EQ(kthread_join(k[0]), 0);
	TEST_ASSERT_EQ(kthread_join(k[1]), 0);
	if (kind == RWSEM_RW)
		TEST_ASSERT_EQ(t.counter, 2UL * NR_INCREMENTS * 3 / 4);
	else
		TEST_ASSERT_EQ(t.counter, 2UL * NR_INCREMENTS);
}

TEST(spinlock_excludes)
{
	run_counter_test(SPIN);
}

TEST(rwlock_excludes)
{
	run_counter_test(RWLOCK_W);
}

TEST(mutex_excludes)
{
	run_counter_test(MUTEX);
}

TEST(rwsem_excludes)
{
	run_counter_test(RWSEM_W);
}

TEST(rwsem_readers_and_writers)
{
	run_counter_test(RWSEM_RW);
}

TEST(trylocks)
{
	struct rw_semaphore sem;
	struct mutex m;
	spinlock_t l;
	rwlock_t rw;

	init_rwsem(&sem);
	mutex_init(&m);
	spin_lock_init(&l);
	rwlock_init(&rw);

	TEST_ASSERT(spin_trylock(&l), "free spinlock");
	TEST_ASSERT(spin_is_locked(&l), "held");
	spin_unlock(&l);
	TEST_ASSERT(mutex_trylock(&m), "free mutex");
	TEST_ASSERT(mutex_is_locked(&m), "held");
	mutex_unlock(&m);
	TEST_ASSERT(!mutex_is_locked(&m), "released");

	TEST_ASSERT(down_read_trylock(&sem), "free rwsem, read");
	TEST_ASSERT(down_read_trylock(&sem), "second reader");
	TEST_ASSERT(!down_write_trylock(&sem), "writer against readers");
	up_read(&sem);
	up_read(&sem);
	TEST_ASSERT(down_write_trylock(&sem), "free rwsem, write");
	TEST_ASSERT(!down_read_trylock(&sem), "reader against a writer");
	up_write(&sem);
	TEST_ASSERT(!rwsem_is_locked(&sem), "released");

	TEST_ASSERT(read_trylock(&rw), "free rwlock, read");
	TEST_ASSERT(!write_trylock(&rw), "writer against a reader");
	read_unlock(&rw);
	TEST_ASSERT(write_trylock(&rw), "free rwlock, write");
	TEST_ASSERT(!read_trylock(&rw), "reader against a writer");
	write_unlock(&rw);
	TEST_ASSERT(!in_atomic(), "every failed trylock closed its atomic section");
}

/* ---- observing waiters --------------------------------------------------- */

static unsigned int count_waiters(arch_spinlock_t *lock, struct list_head *list)
{
	unsigned int n = 0;
	struct list_head *pos;

	arch_spin_lock(lock);
	list_for_each(pos, list)
		n++;
	arch_spin_unlock(lock);
	return n;
}

/* Yield until @n waiters are queued: ordering by state, not by time. */
static void wait_for_rwsem_waiters(struct rw_semaphore *sem, unsigned int n)
{
	while (count_waiters(&sem->wait_lock, &sem->wait_list) < n)
		sched_yield();
}

static void wait_for_mutex_waiters(struct mutex *m, unsigned int n)
{
	while (count_waiters(&m->wait_lock, &m->wait_list) < n)
		sched_yield();
}

/* ---- rwsem and rwlock fairness, rwsem downgrade ------------------------------------------ */

#define NR_EVENTS 8

struct fairness_test {
	struct rw_semaphore sem;
	arch_spinlock_t log_lock;
	char log[NR_EVENTS];
	int nr;
	atomic_t readers_in;
	wait_queue_head_t wq;
	rwlock_t rw;
	int go;	     /* the main thread holds rw: the writer may try */
	int checked; /* the main thread tried rw after handing it over */
};

static void log_event(struct fairness_test *t, char ev)
{
	arch_spin_lock(&t->log_lock);
	t->log[t->nr++] = ev;
	arch_spin_unlock(&t->log_lock);
}

static void init_fairness_test(struct fairness_test *t)
{
	init_rwsem(&t->sem);
	init_waitqueue_head(&t->wq);
	rwlock_init(&t->rw);
	t->go = 0;
	t->log_lock = (arch_spinlock_t)__ARCH_SPIN_LOCK_UNLOCKED;
	t->nr = 0;
	atomic_set(&t->readers_in, 0);
}

static int fair_writer(void *arg)
{
	struct fairness_test *t = arg;

	down_write(&t->sem);
	log_event(t, 'W');
	up_write(&t->sem);
	return 0;
}

static int fair_reader(void *arg)
{
	struct fairness_test *t = arg;

	down_read(&t->sem);
	log_event(t, 'R');
	up_read(&t->sem);
	return 0;
}

/*
 * A reader holds the rwsem; a writer queues; a second reader arrives
 * after the writer.  It must not join the first reader (that would starve
 * writers): it queues, and gets the lock only after the writer had it.
 */
TEST(rwsem_waiting_writer_blocks_new_readers)
{
	static struct fairness_test t;
	struct kthread *w, *r;

	init_fairness_test(&t);
	down_read(&t.sem);
	w = start(fair_writer, &t, "writer");
	wait_for_rwsem_waiters(&t.sem, 1);
	TEST_ASSERT(rwsem_is_contended(&t.sem), "a queued writer shows");
	TEST_ASSERT(!down_read_trylock(&t.sem), "a new reader must not pass a waiting writer");
	r = start(fair_reader, &t, "reader");
	wait_for_rwsem_waiters(&t.sem, 2);
	TEST_ASSERT_EQ(t.nr, 0);
	up_read(&t.sem);
	TEST_ASSERT_EQ(kthread_join(w), 0);
	TEST_ASSERT_EQ(kthread_join(r), 0);
	TEST_ASSERT_EQ(t.nr, 2);
	TEST_ASSERT(t.log[0] == 'W' && t.log[1] == 'R', "order %c%c, expected WR", t.log[0],
		    t.log[1]);
	TEST_ASSERT(!rwsem_is_locked(&t.sem) && !rwsem_is_contended(&t.sem), "all released");
}

/* ---- rwlock queueing ------------------------------------------------------ */

static int queued_rwlock_writer(void *arg)
{
	struct fairness_test *t = arg;

	while (!__atomic_load_n(&t->go, __ATOMIC_ACQUIRE))
		sched_yield();
	write_lock(&t->rw);
	log_event(t, 'W');
	/* Held until the main thread's trylocks are done: a lock already gone proves nothing. */
	while (!__atomic_load_n(&t->checked, __ATOMIC_ACQUIRE))
		sched_yield();
	write_unlock(&t->rw);
	return 0;
}

/*
 * A writer spins for an rwlock another writer holds.  When the holder drops
 * the lock and at once wants it again, it must queue behind the waiter, not
 * take the lock back: a loop that re-takes mmu_lock for every memslot would
 * otherwise starve an invalidation (and everyone behind its mmap_lock).
 */
TEST(rwlock_writer_requeues_behind_waiting_writer)
{
	static struct fairness_test t;
	struct kthread *w;

	init_fairness_test(&t);
	w = start(queued_rwlock_writer, &t, "writer");
	write_lock(&t.rw);
	__atomic_store_n(&t.go, 1, __ATOMIC_RELEASE);
	while (!(__atomic_load_n(&t.rw.cnts, __ATOMIC_ACQUIRE) & _QW_WAITING))
		sched_yield();
	TEST_ASSERT(rwlock_is_contended(&t.rw), "the waiting writer shows as queued");
	write_unlock(&t.rw);
	TEST_ASSERT(!write_trylock(&t.rw), "the lock passed a waiting writer by");
	TEST_ASSERT(!read_trylock(&t.rw), "a reader passed a waiting writer by");
	__atomic_store_n(&t.checked, 1, __ATOMIC_RELEASE);
	write_lock(&t.rw);
	log_event(&t, 'M');
	write_unlock(&t.rw);
	TEST_ASSERT_EQ(kthread_join(w), 0);
	TEST_ASSERT(t.nr == 2 && t.log[0] == 'W' && t.log[1] == 'M', "order %.*s, expected WM",
		    t.nr, t.log);
	TEST_ASSERT(!rwlock_is_contended(&t.rw), "queue empty");
}

static int reader_in(void *arg)
{
	struct fairness_test *t = arg;

	down_read(&t->sem);
	atomic_inc(&t->readers_in);
	wake_up_all(&t->wq);
	up_read(&t->sem);
	return 0;
}

/* Each reader holds its read lock until both are in: they must be in together. */
static int reader_until_both_in(void *arg)
{
	struct fairness_test *t = arg;

	down_read(&t->sem);
	atomic_inc(&t->readers_in);
	wake_up_all(&t->wq);
	wait_event(t->wq, atomic_read(&t->readers_in) == 2);
	up_read(&t->sem);
	return 0;
}

/* Readers queued behind a writer all get in together when it leaves. */
TEST(rwsem_queued_readers_enter_together)
{
	static struct fairness_test t;
	struct kthread *r[2];

	init_fairness_test(&t);
	down_write(&t.sem);
	r[0] = start(reader_until_both_in, &t, "reader-0");
	r[1] = start(reader_until_both_in, &t, "reader-1");
	wait_for_rwsem_waiters(&t.sem, 2);
	TEST_ASSERT_EQ(atomic_read(&t.readers_in), 0);
	up_write(&t.sem);
	TEST_ASSERT_EQ(kthread_join(r[0]), 0);
	TEST_ASSERT_EQ(kthread_join(r[1]), 0);
	TEST_ASSERT(!rwsem_is_locked(&t.sem), "all released");
}

TEST(rwsem_downgrade_lets_readers_in)
{
	static struct fairness_test t;
	struct kthread *r;

	init_fairness_test(&t);
	down_write(&t.sem);
	r = start(reader_in, &t, "reader");
	wait_for_rwsem_waiters(&t.sem, 1);
	downgrade_write(&t.sem);
	/* The reader gets in while we still hold the lock, now for read. */
	wait_event(t.wq, atomic_read(&t.readers_in) == 1);
	TEST_ASSERT(!down_write_trylock(&t.sem), "still read-held");
	TEST_ASSERT_EQ(kthread_join(r), 0);
	up_read(&t.sem);
	TEST_ASSERT(!rwsem_is_locked(&t.sem), "all released");
}

/* ---- interruptible sleeps ------------------------------------------------- */

struct interrupt_test {
	struct mutex m;
	struct rw_semaphore sem;
	wait_queue_head_t wq;
	bool cond;
	int ret;
};

static int interruptible_mutex_locker(void *arg)
{
	struct interrupt_test *t = arg;

	t->ret = mutex_lock_interruptible(&t->m);
	if (!t->ret)
		mutex_unlock(&t->m);
	return 0;
}

TEST(mutex_lock_interruptible_eintr)
{
	static struct interrupt_test t;
	struct kthread *k;

	mutex_init(&t.m);
	mutex_lock(&t.m);
	k = start(interruptible_mutex_locker, &t, "waiter");
	wait_for_mutex_waiters(&t.m, 1);
	task_raise_interrupt(kthread_task(k));
	TEST_ASSERT_EQ(kthread_join(k), 0);
	TEST_ASSERT_EQ(t.ret, -EINTR);
	TEST_ASSERT_EQ(count_waiters(&t.m.wait_lock, &t.m.wait_list), 0U);
	mutex_unlock(&t.m);
	TEST_ASSERT(!mutex_is_locked(&t.m), "released, no stale waiter flag");
	/* Without an interrupt it just waits its turn. */
	mutex_lock(&t.m);
	k = start(interruptible_mutex_locker, &t, "waiter-2");
	wait_for_mutex_waiters(&t.m, 1);
	mutex_unlock(&t.m);
	TEST_ASSERT_EQ(kthread_join(k), 0);
	TEST_ASSERT_EQ(t.ret, 0);
}

/* An interrupted waiter must pass on a wakeup it might have been given. */
TEST(mutex_interrupted_waiter_does_not_strand_others)
{
	static struct interrupt_test t;
	struct kthread *k[2];

	mutex_init(&t.m);
	mutex_lock(&t.m);
	k[0] = start(interruptible_mutex_locker, &t, "waiter-0");
	wait_for_mutex_waiters(&t.m, 1);
	k[1] = start(interruptible_mutex_locker, &t, "waiter-1");
	wait_for_mutex_waiters(&t.m, 2);
	mutex_unlock(&t.m);
	task_raise_interrupt(kthread_task(k[0]));
	/* Whichever way waiter-0 ends, waiter-1 gets the lock. */
	TEST_ASSERT_EQ(kthread_join(k[0]), 0);
	TEST_ASSERT_EQ(kthread_join(k[1]), 0);
	TEST_ASSERT(!mutex_is_locked(&t.m), "released");
}

static int killable_writer(void *arg)
{
	struct interrupt_test *t = arg;

	t->ret = down_write_killable(&t->sem);
	if (!t->ret)
		up_write(&t->sem);
	return 0;
}

TEST(down_write_killable_eintr)
{
	static struct interrupt_test t;
	struct kthread *k;

	init_rwsem(&t.sem);
	down_read(&t.sem);
	k = start(killable_writer, &t, "writer");
	wait_for_rwsem_waiters(&t.sem, 1);
	TEST_ASSERT(!down_read_trylock(&t.sem), "the queued writer keeps readers out");
	task_raise_interrupt(kthread_task(k));
	TEST_ASSERT_EQ(kthread_join(k), 0);
	TEST_ASSERT_EQ(t.ret, -EINTR);
	/* The writer left the queue: readers may come in again. */
	TEST_ASSERT(!rwsem_is_contended(&t.sem), "queue empty");
	TEST_ASSERT(down_read_trylock(&t.sem), "readers pass again");
	up_read(&t.sem);
	up_read(&t.sem);
	TEST_ASSERT(!rwsem_is_locked(&t.sem), "released");
}

static int blocked_reader(void *arg)
{
	struct interrupt_test *t = arg;

	down_read(&t->sem);
	up_read(&t->sem);
	return 0;
}

/* A reader queued behind an interrupted writer is let in when the writer leaves. */
TEST(down_write_killable_eintr_releases_readers_behind)
{
	static struct interrupt_test t;
	struct kthread *w, *r;

	init_rwsem(&t.sem);
	down_read(&t.sem);
	w = start(killable_writer, &t, "writer");
	wait_for_rwsem_waiters(&t.sem, 1);
	r = start(blocked_reader, &t, "reader");
	wait_for_rwsem_waiters(&t.sem, 2);
	task_raise_interrupt(kthread_task(w));
	TEST_ASSERT_EQ(kthread_join(w), 0);
	TEST_ASSERT_EQ(t.ret, -EINTR);
	TEST_ASSERT_EQ(kthread_join(r), 0); /* while we still hold our read lock */
	up_read(&t.sem);
}

struct holder {
	struct mutex m;
	struct completion held, release;
};

static int hold_mutex(void *arg)
{
	struct holder *h = arg;

	mutex_lock(&h->m);
	complete(&h->held);
	wait_for_completion(&h->release);
	mutex_unlock(&h->m);
	return 0;
}

/* An interrupt already pending fails a contended lock at once, not a free one. */
TEST(pending_interrupt_and_mutex_lock_interruptible)
{
	static struct holder h;
	struct kthread *k;

	mutex_init(&h.m);
	init_completion(&h.held);
	init_completion(&h.release);
	k = start(hold_mutex, &h, "holder");
	wait_for_completion(&h.held);
	task_raise_interrupt(current);
	TEST_ASSERT_EQ(mutex_lock_interruptible(&h.m), -EINTR);
	complete(&h.release);
	TEST_ASSERT_EQ(kthread_join(k), 0);
	TEST_ASSERT_EQ(mutex_lock_interruptible(&h.m), 0);
	mutex_unlock(&h.m);
	task_clear_interrupt(current);
}

static int interruptible_waiter(void *arg)
{
	struct interrupt_test *t = arg;

	t->ret = wait_event_interruptible(t->wq, READ_ONCE(t->cond));
	return 0;
}

TEST(wait_event_interruptible_eintr)
{
	static struct interrupt_test t;
	struct kthread *k;

	init_waitqueue_head(&t.wq);
	k = start(interruptible_waiter, &t, "waiter");
	while (!waitqueue_active(&t.wq))
		sched_yield();
	task_raise_interrupt(kthread_task(k));
	TEST_ASSERT_EQ(kthread_join(k), 0);
	TEST_ASSERT_EQ(t.ret, -EINTR);
	TEST_ASSERT(!waitqueue_active(&t.wq), "the waiter left the queue");

	k = start(interruptible_waiter, &t, "waiter-2");
	WRITE_ONCE(t.cond, true);
	wake_up_all(&t.wq);
	TEST_ASSERT_EQ(kthread_join(k), 0);
	TEST_ASSERT_EQ(t.ret, 0);
}

static int hrtimeout_waiter(void *arg)
{
	struct interrupt_test *t = arg;

	/* So long that, in a passing run, only the wakeup ends it. */
	t->ret = wait_event_hrtimeout(t->wq, READ_ONCE(t->cond), 3600 * NSEC_PER_SEC);
	return 0;
}

TEST(wait_event_hrtimeout_times_out_or_is_woken)
{
	static struct interrupt_test t;
	struct kthread *k;

	init_waitqueue_head(&t.wq);
	/* Nobody wakes it: the time runs out and the waiter leaves the queue. */
	TEST_ASSERT_EQ(wait_event_hrtimeout(t.wq, READ_ONCE(t.cond), NSEC_PER_MSEC), -ETIME);
	TEST_ASSERT(!waitqueue_active(&t.wq), "the waiter left the queue");

	k = start(hrtimeout_waiter, &t, "waiter");
	while (!waitqueue_active(&t.wq))
		sched_yield();
	WRITE_ONCE(t.cond, true);
	wake_up_all(&t.wq);
	TEST_ASSERT_EQ(kthread_join(k), 0);
	TEST_ASSERT_EQ(t.ret, 0);
	/* A true condition wins over a time already gone. */
	TEST_ASSERT_EQ(wait_event_hrtimeout(t.wq, READ_ONCE(t.cond), 0), 0);
}

/* ---- no lost wakeups ------------------------------------------------------- */

#define NR_ROUNDS 20000

struct pingpong {
	struct completion ping, pong;
	wait_queue_head_t wq;
	unsigned long turn; /* even: the main thread's turn; odd: the other's */
};

static int pong_completion(void *arg)
{
	struct pingpong *p = arg;

	for (int i = 0; i < NR_ROUNDS; i++) {
		wait_for_completion(&p->ping);
		complete(&p->pong);
	}
	return 0;
}

/* A lost wakeup hangs this test (and the ctest timeout fails it). */
TEST(completion_pingpong)
{
	static struct pingpong p;
	struct kthread *k;

	init_completion(&p.ping);
	init_completion(&p.pong);
	k = start(pong_completion, &p, "pong");
	for (int i = 0; i < NR_ROUNDS; i++) {
		complete(&p.ping);
		wait_for_completion(&p.pong);
	}
	TEST_ASSERT_EQ(kthread_join(k), 0);
	TEST_ASSERT(!try_wait_for_completion(&p.ping) && !try_wait_for_completion(&p.pong),
		    "every count consumed");
}

TEST(completion_counts_and_complete_all)
{
	struct completion c;

	init_completion(&c);
	TEST_ASSERT(!completion_done(&c), "fresh");
	complete(&c);
	complete(&c);
	wait_for_completion(&c);
	TEST_ASSERT(try_wait_for_completion(&c), "second count");
	TEST_ASSERT(!try_wait_for_completion(&c), "no third");
	complete_all(&c);
	for (int i = 0; i < 10; i++)
		wait_for_completion(&c);
	reinit_completion(&c);
	TEST_ASSERT(!completion_done(&c), "reinit");
}

static int pong_wait_event(void *arg)
{
	struct pingpong *p = arg;

	for (unsigned long i = 0; i < NR_ROUNDS; i++) {
		wait_event(p->wq, READ_ONCE(p->turn) == 2 * i + 1);
		WRITE_ONCE(p->turn, 2 * i + 2);
		wake_up_all(&p->wq);
	}
	return 0;
}

TEST(wait_event_pingpong)
{
	static struct pingpong p;
	struct kthread *k;

	init_waitqueue_head(&p.wq);
	k = start(pong_wait_event, &p, "pong");
	for (unsigned long i = 0; i < NR_ROUNDS; i++) {
		WRITE_ONCE(p.turn, 2 * i + 1);
		wake_up_all(&p.wq);
		wait_event(p.wq, READ_ONCE(p.turn) == 2 * i + 2);
	}
	TEST_ASSERT_EQ(kthread_join(k), 0);
}

/* Many sleepers on one mutex: every unlock wakes someone while anyone waits. */
struct mutex_crowd {
	struct mutex m;
	unsigned long counter;
};

static int crowd_member(void *arg)
{
	struct mutex_crowd *c = arg;

	for (int i = 0; i < NR_ROUNDS / 4; i++) {
		mutex_lock(&c->m);
		c->counter++;
		if (i % 64 == 0)
			sched_yield(); /* hold it a while: make others sleep */
		mutex_unlock(&c->m);
	}
	return 0;
}

TEST(mutex_crowd_no_lost_wakeup)
{
	static struct mutex_crowd c;
	struct kthread *k[4];

	mutex_init(&c.m);
	for (int i = 0; i < 4; i++)
		k[i] = start(crowd_member, &c, "crowd");
	for (int i = 0; i < 4; i++)
		TEST_ASSERT_EQ(kthread_join(k[i]), 0);
	TEST_ASSERT_EQ(c.counter, 4UL * (NR_ROUNDS / 4));
	TEST_ASSERT(!mutex_is_locked(&c.m), "released");
}
