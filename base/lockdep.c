// SPDX-License-Identifier: GPL-2.0
/*
 * lockdep: classes, the per-task held-lock stack, the dependency graph and
 * its reports.  See lockdep.h for the rules it checks.
 *
 * Cost model.  Classes and dependencies are never freed, so both hash
 * tables are append-only: a new entry is fully written and then published
 * with a release store under graph_lock, and lookups walk the chains with
 * acquire loads and no lock.  An acquisition whose order is already in the
 * graph therefore costs a class lookup (usually the map's cache), a scan of
 * the few held locks, and one lookup per new dependency; only the first
 * sighting of an order takes graph_lock and searches the graph.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/bug.h"
#include "base/current.h"
#include "base/list.h"
#include "base/lockdep.h"
#include "base/preempt.h"
#include "base/report.h"

#ifdef CONFIG_LOCKDEP

/*
 * A dependency "@to was taken while @from was held", with the two sites of
 * its first sighting.  @dep has one bit per kind seen (exclusive or shared
 * holder, recursive-shared or other taker), see dep_bit().
 */
struct lock_list {
	struct lock_list *next;	     /* in from->deps */
	struct lock_list *hash_next; /* in dep_hash */
	struct lock_class *from, *to;
	const struct lock_site *from_site, *to_site;
	unsigned int dep;      /* kinds in the graph */
	unsigned int reported; /* kinds that would have closed a cycle */
};

struct lock_class {
	struct lock_class *hash_next;
	const void *key;
	const char *name;
	unsigned int subclass;
	struct lock_list *deps;
	/* Search scratch, under graph_lock: per state "reached via a recursive-shared take". */
	unsigned long bfs_gen[2];
	struct lock_list *bfs_parent[2];
	unsigned char bfs_parent_state[2];
};

#define CLASSHASH_BITS 12
#define DEPHASH_BITS 14

/*
 * Global like the kernel's lockdep tables: the classes and the graph are
 * facts about the program's code, not about any one object or thread.
 * graph_lock is a raw pthread mutex: the checker must not check itself.
 */
static pthread_mutex_t graph_lock = PTHREAD_MUTEX_INITIALIZER;
static struct lock_class *class_hash[1U << CLASSHASH_BITS];
static struct lock_list *dep_hash[1U << DEPHASH_BITS];
static unsigned long bfs_generation;
struct bfs_item {
	struct lock_class *class;
	unsigned int state;
};
static struct bfs_item *bfs_queue;
static size_t bfs_queue_size;

static unsigned long hash_ptr(const void *p, unsigned int bits)
{
	return ((unsigned long)p * 0x9e3779b97f4a7c15UL) >> (64 - bits);
}

static unsigned long hash_pair(const void *a, const void *b, unsigned int bits)
{
	return (((unsigned long)a * 0x9e3779b97f4a7c15UL) ^
		((unsigned long)b * 0xc2b2ae3d27d4eb4fUL)) >>
	       (64 - bits);
}

static const char *site_file(const struct lock_site *site)
{
	const char *slash;

	if (!site)
		return "?";
	slash = strrchr(site->file, '/');
	return slash ? slash + 1 : site->file;
}

static int site_line(const struct lock_site *site)
{
	return site ? site->line : 0;
}

static const char *map_name(const struct lockdep_map *map)
{
	return map->name ? map->name : "(unnamed)";
}

static void print_site(const char *what, const struct lock_site *site)
{
	if (site)
		report_printf("%s%s:%d %s()\n", what, site->file, site->line, site->func);
	else
		report_printf("%s(unknown site)\n", what);
}

/* ---- classes ------------------------------------------------------------ */

static const void *class_key(const struct lockdep_map *map, unsigned int subclass)
{
	const char *base = map->key ? (const char *)map->key : (const char *)map;

	return base + subclass;
}

static struct lock_class *find_class(const void *key)
{
	struct lock_class *class;

	class = __atomic_load_n(&class_hash[hash_ptr(key, CLASSHASH_BITS)], __ATOMIC_ACQUIRE);
	for (; class; class = __atomic_load_n(&class->hash_next, __ATOMIC_ACQUIRE))
		if (class->key == key)
			return class;
	return NULL;
}

static struct lock_class *register_class(struct lockdep_map *map, unsigned int subclass)
{
	const void *key = class_key(map, subclass);
	struct lock_class *class, **bucket;

	pthread_mutex_lock(&graph_lock);
	class = find_class(key);
	if (!class) {
		class = calloc(1, sizeof(*class));
		if (!class)
			abort();
		class->key = key;
		class->name = map->name;
		class->subclass = subclass;
		bucket = &class_hash[hash_ptr(key, CLASSHASH_BITS)];
		class->hash_next = *bucket;
		__atomic_store_n(bucket, class, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&graph_lock);
	return class;
}

static void report_uninitialized(struct lockdep_map *map)
{
	report_start(REPORT_LOCKDEP, "lock used before initialization (%p)", (void *)map);
	report_printf("  a lock must be set up with its *_init() or a static initializer\n");
	dump_stack();
	report_end();
	map->name = "(uninitialized)";
}

static struct lock_class *lookup_class(struct lockdep_map *map, unsigned int subclass)
{
	struct lock_class *class;

	if (subclass < NR_LOCKDEP_CACHING_CLASSES) {
		class = __atomic_load_n(&map->class_cache[subclass], __ATOMIC_ACQUIRE);
		if (likely(class))
			return class;
	}
	if (unlikely(!map->name))
		report_uninitialized(map);
	class = find_class(class_key(map, subclass));
	if (!class)
		class = register_class(map, subclass);
	if (subclass < NR_LOCKDEP_CACHING_CLASSES)
		__atomic_store_n(&map->class_cache[subclass], class, __ATOMIC_RELEASE);
	return class;
}

void lockdep_init_map(struct lockdep_map *map, const char *name, struct lock_class_key *key,
		      unsigned int subclass)
{
	map->key = key;
	map->name = name;
	for (unsigned int i = 0; i < NR_LOCKDEP_CACHING_CLASSES; i++)
		map->class_cache[i] = NULL;
}

/* ---- the held-lock stack ------------------------------------------------- */

static bool hlock_matches(const struct held_lock *hlock, const struct lockdep_map *map)
{
	if (hlock->instance == map)
		return true;
	/* A nest-locked entry stands for every lock of its class taken under the nest. */
	return hlock->nest_lock && hlock->class->key == class_key(map, hlock->class->subclass);
}

static struct held_lock *find_held_lock(struct lockdep_task *ld, const struct lockdep_map *map)
{
	for (int i = (int)ld->depth - 1; i >= 0; i--)
		if (hlock_matches(&ld->held_locks[i], map))
			return &ld->held_locks[i];
	return NULL;
}

static const char *hlock_name(const struct held_lock *hlock)
{
	return hlock->class->name ? hlock->class->name : "(unnamed)";
}

static void print_held_lock(unsigned int i, const struct held_lock *hlock)
{
	report_printf("   #%u: %s%s%s", i, hlock_name(hlock), hlock->read ? " (read)" : "",
		      hlock->trylock ? " (trylock)" : "");
	if (hlock->class->subclass)
		report_printf(" (subclass %u)", hlock->class->subclass);
	if (hlock->references > 1)
		report_printf(" x%u", hlock->references);
	print_site(", taken at ", hlock->site);
}

void lockdep_print_held_locks(struct task_struct *tsk)
{
	struct lockdep_task *ld = &tsk->lockdep;

	if (!ld->depth) {
		report_printf("  no locks held by %s/%d\n", tsk->comm, tsk->tid);
		return;
	}
	report_printf("  %u lock%s held by %s/%d:\n", ld->depth, ld->depth > 1 ? "s" : "",
		      tsk->comm, tsk->tid);
	for (unsigned int i = 0; i < ld->depth; i++)
		print_held_lock(i, &ld->held_locks[i]);
}

unsigned int lockdep_depth(void)
{
	return current->lockdep.depth;
}

/* ---- the dependency graph ------------------------------------------------ */

/*
 * The four kinds of dependency of the kernel's lockdep: the holder of
 * @from held it exclusive (E) or shared (S), and @to was taken
 * recursive-shared (R) or otherwise (N).  A cycle is a deadlock only if it
 * is "strong": no lock in it is entered by an -(xR)-> and left by an
 * -(Sx)->, since a recursive reader never waits for another reader.
 */
enum { DEP_EN, DEP_ER, DEP_SN, DEP_SR };
#define DEP_E_MASK (1U << DEP_EN | 1U << DEP_ER)
#define DEP_N_MASK (1U << DEP_EN | 1U << DEP_SN)
#define DEP_R_MASK (1U << DEP_ER | 1U << DEP_SR)

static unsigned int dep_bit(const struct held_lock *from, const struct held_lock *to)
{
	return 1U << ((from->read ? 2 : 0) | (to->read == 2 ? 1 : 0));
}

static struct lock_list *find_dep(struct lock_class *from, struct lock_class *to)
{
	struct lock_list *entry;

	entry = __atomic_load_n(&dep_hash[hash_pair(from, to, DEPHASH_BITS)], __ATOMIC_ACQUIRE);
	for (; entry; entry = __atomic_load_n(&entry->hash_next, __ATOMIC_ACQUIRE))
		if (entry->from == from && entry->to == to)
			return entry;
	return NULL;
}

/* Under graph_lock. */
static struct lock_list *add_dep_entry(const struct held_lock *from, const struct held_lock *to)
{
	struct lock_list *entry = calloc(1, sizeof(*entry)), **bucket;

	if (!entry)
		abort();
	entry->from = from->class;
	entry->to = to->class;
	entry->from_site = from->site;
	entry->to_site = to->site;
	entry->next = from->class->deps;
	from->class->deps = entry;
	bucket = &dep_hash[hash_pair(entry->from, entry->to, DEPHASH_BITS)];
	entry->hash_next = *bucket;
	__atomic_store_n(bucket, entry, __ATOMIC_RELEASE);
	return entry;
}

static bool bfs_push(struct lock_class *class, unsigned int state, struct lock_list *via,
		     unsigned int via_state, size_t *tail)
{
	/* Reaching a class with the freer state (0) subsumes reaching it with 1. */
	if (class->bfs_gen[0] == bfs_generation || (state && class->bfs_gen[1] == bfs_generation))
		return false;
	class->bfs_gen[state] = bfs_generation;
	class->bfs_parent[state] = via;
	class->bfs_parent_state[state] = via_state;
	if (*tail == bfs_queue_size) {
		bfs_queue_size = bfs_queue_size ? 2 * bfs_queue_size : 256;
		bfs_queue = realloc(bfs_queue, bfs_queue_size * sizeof(*bfs_queue));
		if (!bfs_queue)
			abort();
	}
	bfs_queue[(*tail)++] = (struct bfs_item){ class, state };
	return true;
}

/*
 * Breadth-first search, under graph_lock, for a strong path from @start
 * (entered in @start_state) back to @target, where arriving in state 1 is
 * a dead end if the new dependency leaves @target shared
 * (@target_shared).  State 1 means "entered by a recursive-shared take",
 * from which only dependencies whose holder was exclusive may continue.
 * Returns the state in which @target was reached, or -1.
 */
static int find_strong_path(struct lock_class *start, unsigned int start_state,
			    struct lock_class *target, bool target_shared)
{
	size_t head = 0, tail = 0;

	bfs_generation++;
	bfs_push(start, start_state, NULL, 0, &tail);
	while (head < tail) {
		struct bfs_item item = bfs_queue[head++];
		unsigned int allowed = item.state ? DEP_E_MASK : ~0U;

		if (item.class == target && !(item.state && target_shared))
			return item.state;
		for (struct lock_list *dep = item.class->deps; dep; dep = dep->next) {
			unsigned int kinds = __atomic_load_n(&dep->dep, __ATOMIC_RELAXED) & allowed;

			if (!kinds)
				continue;
			bfs_push(dep->to, (kinds & DEP_N_MASK) ? 0 : 1, dep, item.state, &tail);
		}
	}
	return -1;
}

static void print_dep(const struct lock_list *dep)
{
	report_printf("    %s -> %s:\n", dep->from->name, dep->to->name);
	print_site("      took the second at ", dep->to_site);
	print_site("      holding the first, taken at ", dep->from_site);
}

/* The kernel's "possible unsafe locking scenario", for a cycle of two locks. */
static void print_scenario(const struct held_lock *prev, const struct held_lock *next)
{
	report_printf("\n  possible unsafe locking scenario:\n\n");
	report_printf("        thread A                thread B\n");
	report_printf("        ----                    ----\n");
	report_printf("   lock(%s);\n", hlock_name(next));
	report_printf("                                lock(%s);\n", hlock_name(prev));
	report_printf("                                lock(%s);\n", hlock_name(next));
	report_printf("   lock(%s);\n\n", hlock_name(prev));
	report_printf("   *** DEADLOCK ***\n\n");
}

/*
 * Under graph_lock: @prev -> @next closes a cycle through the path the
 * search left in the classes' parent links, from @target_state at @prev's
 * class back to @next's class.
 */
static void print_circular_bug(const struct held_lock *prev, const struct held_lock *next,
			       int target_state)
{
	struct task_struct *tsk = current;
	struct lock_list *path[64];
	unsigned int n = 0, state = target_state;
	struct lock_class *class = prev->class;

	/* Walk the parent links back to the search's start, @next's class. */
	for (struct lock_list *dep; (dep = class->bfs_parent[state]);) {
		if (n < ARRAY_SIZE(path))
			path[n++] = dep;
		state = class->bfs_parent_state[state];
		class = dep->from;
	}
	report_start(REPORT_LOCKDEP,
		     "possible circular locking dependency: %s (%s:%d) while holding %s (%s:%d)",
		     hlock_name(next), site_file(next->site), site_line(next->site),
		     hlock_name(prev), site_file(prev->site), site_line(prev->site));
	report_printf("  %s/%d is trying to acquire %s%s\n", tsk->comm, tsk->tid, hlock_name(next),
		      next->read ? " (read)" : "");
	print_site("    at ", next->site);
	report_printf("  while holding %s%s\n", hlock_name(prev), prev->read ? " (read)" : "");
	print_site("    taken at ", prev->site);
	report_printf(
		"\n  but the reverse order was seen before, the existing dependency chain:\n");
	for (unsigned int i = n; i; i--)
		print_dep(path[i - 1]);
	if (n == 1 && prev->read == 0 && next->read == 0)
		print_scenario(prev, next);
	lockdep_print_held_locks(tsk);
	dump_stack();
	report_end();
}

/*
 * Record @prev -> @next.  Known kinds cost one lockless lookup; a new one
 * is checked for a cycle under graph_lock, and a kind that would close one
 * is reported once and kept out of the graph, so the graph stays acyclic
 * and the same inversion is not reported again.
 */
static void check_prev_add(const struct held_lock *prev, const struct held_lock *next)
{
	unsigned int bit = dep_bit(prev, next);
	struct lock_list *entry = find_dep(prev->class, next->class);
	int state;

	if (entry && (__atomic_load_n(&entry->dep, __ATOMIC_ACQUIRE) & bit))
		return;
	pthread_mutex_lock(&graph_lock);
	entry = find_dep(prev->class, next->class);
	if (entry && ((entry->dep | entry->reported) & bit))
		goto out;
	state = find_strong_path(next->class, next->read == 2, prev->class, prev->read != 0);
	if (!entry)
		entry = add_dep_entry(prev, next);
	if (state >= 0) {
		entry->reported |= bit;
		print_circular_bug(prev, next, state);
		goto out;
	}
	__atomic_fetch_or(&entry->dep, bit, __ATOMIC_RELEASE);
out:
	pthread_mutex_unlock(&graph_lock);
}

/*
 * Order @next after the held locks.  The top one suffices, since it is
 * already ordered after those below it, unless it was a trylock, which
 * recorded no order: then continue below it, as the kernel does.
 */
static void check_prevs_add(struct lockdep_task *ld, const struct held_lock *next)
{
	for (int i = (int)ld->depth - 1; i >= 0; i--) {
		const struct held_lock *prev = &ld->held_locks[i];

		if (prev->class != next->class)
			check_prev_add(prev, next);
		if (!prev->trylock)
			break;
	}
}

static void print_deadlock_bug(const struct held_lock *prev, const struct held_lock *next)
{
	struct task_struct *tsk = current;

	report_start(REPORT_LOCKDEP, "possible recursive locking: %s (%s:%d) already held (%s:%d)",
		     hlock_name(next), site_file(next->site), site_line(next->site),
		     site_file(prev->site), site_line(prev->site));
	report_printf("  %s/%d is trying to acquire %s\n", tsk->comm, tsk->tid, hlock_name(next));
	print_site("    at ", next->site);
	report_printf("  but a lock of the same class is already held\n");
	print_site("    taken at ", prev->site);
	report_printf("  (a second lock of one class needs *_nested() or a nest_lock)\n");
	lockdep_print_held_locks(tsk);
	dump_stack();
	report_end();
}

/*
 * A second lock of a held class is a deadlock unless both are shared and
 * the new one recursive, or they are ordered by a held nest_lock.
 */
static bool check_deadlock(struct lockdep_task *ld, const struct held_lock *next)
{
	for (unsigned int i = 0; i < ld->depth; i++) {
		const struct held_lock *prev = &ld->held_locks[i];

		if (prev->class != next->class)
			continue;
		if (next->read == 2 && prev->read)
			continue;
		if (next->nest_lock)
			continue;
		print_deadlock_bug(prev, next);
		return false;
	}
	return true;
}

static void print_nest_lock_not_held(const struct held_lock *next)
{
	report_start(REPORT_LOCKDEP, "nest_lock %s not held taking %s (%s:%d)",
		     map_name(next->nest_lock), hlock_name(next), site_file(next->site),
		     site_line(next->site));
	print_site("  at ", next->site);
	lockdep_print_held_locks(current);
	dump_stack();
	report_end();
}

static void print_depth_overflow(const struct held_lock *next)
{
	report_start(REPORT_LOCKDEP, "more than %u locks held taking %s (%s:%d)", MAX_LOCK_DEPTH,
		     hlock_name(next), site_file(next->site), site_line(next->site));
	lockdep_print_held_locks(current);
	report_end();
}

static void __lock_acquire(struct lockdep_task *ld, struct held_lock *next)
{
	if (next->nest_lock) {
		if (!find_held_lock(ld, next->nest_lock))
			print_nest_lock_not_held(next);
		for (int i = (int)ld->depth - 1; i >= 0; i--) {
			struct held_lock *hlock = &ld->held_locks[i];

			if (hlock->class == next->class && hlock->nest_lock == next->nest_lock) {
				hlock->references++;
				return;
			}
		}
	}
	/* As the kernel: a trylock cannot wait, so it neither deadlocks nor orders. */
	if (!next->trylock && check_deadlock(ld, next))
		check_prevs_add(ld, next);
	if (ld->depth == MAX_LOCK_DEPTH) {
		if (!ld->overflow++)
			print_depth_overflow(next);
		return;
	}
	ld->held_locks[ld->depth++] = *next;
}

void lock_acquire(struct lockdep_map *map, unsigned int subclass, int trylock, int read,
		  struct lockdep_map *nest_lock, const struct lock_site *site)
{
	struct lockdep_task *ld = &current->lockdep;
	struct held_lock next;

	if (ld->recursion)
		return;
	ld->recursion++;
	if (subclass >= MAX_LOCKDEP_SUBCLASSES) {
		WARN_ON(subclass >= MAX_LOCKDEP_SUBCLASSES);
		subclass = MAX_LOCKDEP_SUBCLASSES - 1;
	}
	next = (struct held_lock){
		.instance = map,
		.nest_lock = nest_lock,
		.class = lookup_class(map, subclass),
		.site = site,
		.references = 1,
		.read = read,
		.trylock = trylock,
	};
	__lock_acquire(ld, &next);
	ld->recursion--;
}

static void print_unlock_imbalance_bug(struct lockdep_map *map, const struct lock_site *site)
{
	struct task_struct *tsk = current;

	report_start(REPORT_LOCKDEP, "bad unlock balance: %s released (%s:%d) but not held",
		     map_name(map), site_file(site), site_line(site));
	report_printf("  %s/%d is trying to release a lock it does not hold\n", tsk->comm,
		      tsk->tid);
	print_site("    at ", site);
	lockdep_print_held_locks(tsk);
	dump_stack();
	report_end();
}

void lock_release(struct lockdep_map *map, const struct lock_site *site)
{
	struct lockdep_task *ld = &current->lockdep;
	struct held_lock *hlock;
	unsigned int i;

	if (ld->recursion)
		return;
	ld->recursion++;
	hlock = find_held_lock(ld, map);
	if (!hlock) {
		if (ld->overflow)
			ld->overflow--;
		else
			print_unlock_imbalance_bug(map, site);
		goto out;
	}
	if (hlock->references > 1) {
		hlock->references--;
		goto out;
	}
	i = hlock - ld->held_locks;
	memmove(hlock, hlock + 1, (ld->depth - i - 1) * sizeof(*hlock));
	ld->depth--;
out:
	ld->recursion--;
}

void lock_downgrade(struct lockdep_map *map, const struct lock_site *site)
{
	struct lockdep_task *ld = &current->lockdep;
	struct held_lock *hlock;

	if (ld->recursion)
		return;
	ld->recursion++;
	hlock = find_held_lock(ld, map);
	if (!hlock)
		print_unlock_imbalance_bug(map, site);
	else
		hlock->read = 1;
	ld->recursion--;
}

void lock_sync(struct lockdep_map *map, unsigned int subclass, int read,
	       const struct lock_site *site)
{
	lock_acquire(map, subclass, 0, read, NULL, site);
	lock_release(map, site);
}

bool lock_is_held_type(const struct lockdep_map *map, int read)
{
	const struct held_lock *hlock = find_held_lock(&current->lockdep, map);

	if (!hlock)
		return false;
	return read < 0 || (read == 0) == (hlock->read == 0);
}

/* ---- assertions and atomic-section reports -------------------------------- */

void lockdep_assert_held_failed(const struct lockdep_map *map, int read,
				const struct lock_site *site)
{
	static const char *const how[] = { "", " for write", " for read" };

	report_start(REPORT_LOCKDEP, "lock %s not held%s at %s:%d", map_name(map), how[read + 1],
		     site_file(site), site_line(site));
	print_site("  lockdep_assert_held failed at ", site);
	lockdep_print_held_locks(current);
	dump_stack();
	report_end();
}

/* A list walk whose read-side condition is false: see __list_check_rcu(). */
void __list_rcu_check_failed(const char *cond, const char *file, int line)
{
	report_start(REPORT_LOCKDEP, "RCU-list traversed in non-reader section");
	report_printf("  %s:%d: %s is false\n", file, line, cond);
	lockdep_print_held_locks(current);
	dump_stack();
	report_end();
}

void __lockdep_assert_not_held(const struct lockdep_map *map, const struct lock_site *site)
{
	if (!lock_is_held_type(map, -1))
		return;
	report_start(REPORT_LOCKDEP, "lock %s held at %s:%d", map_name(map), site_file(site),
		     site_line(site));
	print_site("  lockdep_assert_not_held failed at ", site);
	lockdep_print_held_locks(current);
	dump_stack();
	report_end();
}

void __lockdep_assert_none_held(const struct lock_site *site)
{
	struct task_struct *tsk = current;

	if (!tsk->lockdep.depth)
		return;
	report_start(REPORT_LOCKDEP, "locks held at %s:%d, where none may be", site_file(site),
		     site_line(site));
	print_site("  lockdep_assert_none_held failed at ", site);
	lockdep_print_held_locks(tsk);
	dump_stack();
	report_end();
}

void __might_sleep_report(const struct lock_site *site)
{
	struct task_struct *tsk = current;

	report_start(REPORT_ATOMIC_SLEEP, "sleeping function called from invalid context at %s:%d",
		     site_file(site), site_line(site));
	print_site("  at ", site);
	report_printf("  in_atomic(): 1, preempt_count: %u, task: %s/%d\n", tsk->preempt_count,
		      tsk->comm, tsk->tid);
	print_site("  atomic section opened at ", tsk->lockdep.preempt_site);
	lockdep_print_held_locks(tsk);
	dump_stack();
	report_end();
}

void __preempt_count_underflow(const struct lock_site *site)
{
	report_start(REPORT_LOCKDEP, "preempt_count underflow at %s:%d", site_file(site),
		     site_line(site));
	print_site("  preempt_enable() without preempt_disable() at ", site);
	dump_stack();
	report_end();
}

#endif /* CONFIG_LOCKDEP */
