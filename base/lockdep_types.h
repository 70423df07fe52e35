/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The lock checker's types, split from lockdep.h so that current.h and the
 * lock types can embed them without pulling in the checker's functions.
 *
 * Without CONFIG_LOCKDEP every type here is an empty struct (size 0 in GNU
 * C), so a lock is its raw word and nothing else, yet code that names
 * ->dep_map or a class key compiles the same in both builds.
 */
#ifndef NOPIN_BASE_LOCKDEP_TYPES_H
#define NOPIN_BASE_LOCKDEP_TYPES_H

#include <stdbool.h>

#define MAX_LOCKDEP_SUBCLASSES 8U

/*
 * Where a lock was taken.  One static instance per call site, made by
 * _THIS_SITE, so a held lock or a dependency records a pointer, not a copy.
 */
struct lock_site {
	const char *file;
	int line;
	const char *func;
};

#ifdef CONFIG_LOCKDEP

#define _THIS_SITE                                                                                 \
	({                                                                                         \
		static const struct lock_site __this_site = { __FILE__, __LINE__, __func__ };      \
		&__this_site;                                                                      \
	})

/*
 * A lock class is named by the address of a static key: one key per
 * *_init() call site, so every lock initialised there is one class (all
 * anon_vma root rwsems, every mm's mmap_lock).  Subclass n of the class is
 * the address of subkeys[n]: nested annotations make distinct classes.
 */
struct lockdep_subclass_key {
	char __one_byte;
};

struct lock_class_key {
	struct lockdep_subclass_key subkeys[MAX_LOCKDEP_SUBCLASSES];
};

struct lock_class;

/* Classes looked up without the hash: subclass 0 and 1 (the nested ones). */
#define NR_LOCKDEP_CACHING_CLASSES 2

/*
 * What every lock (and every pseudo-lock such as an SRCU domain) embeds.
 * A static lock may leave @key NULL: its own address is then its class key,
 * as the kernel does for statically allocated locks.
 */
struct lockdep_map {
	struct lock_class_key *key;
	const char *name;
	struct lock_class *class_cache[NR_LOCKDEP_CACHING_CLASSES];
};

/* One lock the task holds (the kernel's struct held_lock). */
struct held_lock {
	struct lockdep_map *instance;
	struct lockdep_map *nest_lock;
	struct lock_class *class;
	const struct lock_site *site;
	/*
	 * Acquisitions of one class under one held nest_lock share this
	 * entry (mm_take_all_locks() holds thousands): how many it stands for.
	 */
	unsigned int references;
	unsigned char read; /* 0: exclusive, 1: shared, 2: shared recursive */
	bool trylock;
};

/* Deep enough for the mm lock hierarchy; nest_lock keeps bulk takers at one entry. */
#define MAX_LOCK_DEPTH 48U

struct lockdep_task {
	unsigned int depth;
	unsigned int recursion; /* > 0: inside the checker, which must not check itself */
	unsigned int overflow;	/* acquisitions past MAX_LOCK_DEPTH, not tracked */
	/* Where the outermost atomic section was opened, for might_sleep(). */
	const struct lock_site *preempt_site;
	struct held_lock held_locks[MAX_LOCK_DEPTH];
};

#define STATIC_LOCKDEP_MAP_INIT(_name, _key)                                                       \
	{                                                                                          \
		.key = (_key), .name = (_name)                                                     \
	}

#else /* !CONFIG_LOCKDEP */

#define _THIS_SITE ((const struct lock_site *)0)

struct lock_class_key {
};
struct lockdep_map {
};
struct lockdep_task {
};

#define STATIC_LOCKDEP_MAP_INIT(_name, _key)                                                       \
	{                                                                                          \
	}

#endif /* CONFIG_LOCKDEP */

#endif
