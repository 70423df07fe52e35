/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Intrusive doubly linked lists with the kernel's names: a struct embeds a
 * struct list_head (or, for hash chains and notifier lists, a struct
 * hlist_node) and the list is threaded through those members.
 *
 * Deleted entries are poisoned (LIST_POISON1/2 point into the unmapped first
 * page), so walking or deleting an entry a second time faults at once
 * instead of corrupting a neighbour.
 *
 * The _rcu variants publish for lockless readers: an adder makes the new
 * entry fully formed before a release store links it in; a reader loads
 * every link with acquire (the C11 stand-in for the kernel's address
 * dependency, and free on x86-64); a deleter leaves the deleted entry's
 * ->next valid so that a reader standing on it can still step off it.
 * Writers still serialise among themselves with a lock, and the entry may be
 * freed only after a grace period of the readers' RCU or SRCU domain.
 *
 * Links that lockless readers load are written with WRITE_ONCE (or release)
 * even in the plain variants, as the kernel does, so a plain list_del() on
 * an RCU list is still a single untorn store (and TSan sees the race as
 * intended).
 */
#ifndef NOPIN_BASE_LIST_H
#define NOPIN_BASE_LIST_H

#include <stdbool.h>
#include <stddef.h>

#include "base/compiler.h"

/* Non-NULL, unmapped addresses: a deleted entry faults when followed. */
#define LIST_POISON1 ((void *)0x100)
#define LIST_POISON2 ((void *)0x122)

struct list_head {
	struct list_head *next, *prev;
};

struct hlist_head {
	struct hlist_node *first;
};

struct hlist_node {
	struct hlist_node *next;
	struct hlist_node **pprev; /* the pointer that points at us; NULL: unhashed */
};

/* ---- list_head ---------------------------------------------------------- */

#define LIST_HEAD_INIT(name)                                                                       \
	{                                                                                          \
		&(name), &(name)                                                                   \
	}
#define LIST_HEAD(name) struct list_head name = LIST_HEAD_INIT(name)

static inline void INIT_LIST_HEAD(struct list_head *list)
{
	WRITE_ONCE(list->next, list);
	WRITE_ONCE(list->prev, list);
}

/* Link @new between two entries known to be adjacent. */
static inline void __list_add(struct list_head *new, struct list_head *prev, struct list_head *next)
{
	next->prev = new;
	new->next = next;
	new->prev = prev;
	WRITE_ONCE(prev->next, new);
}

/* Insert @new right after @head: a stack. */
static inline void list_add(struct list_head *new, struct list_head *head)
{
	__list_add(new, head, head->next);
}

/* Insert @new right before @head: a queue. */
static inline void list_add_tail(struct list_head *new, struct list_head *head)
{
	__list_add(new, head->prev, head);
}

/*
 * Make @prev and @next neighbours, dropping whatever was between them.
 *
 * A release store, where the kernel has WRITE_ONCE: a lockless reader that
 * loads prev->next and finds @next must also see @next's initialisation.
 * The kernel gets that from the address dependency; C11 (and TSan) only
 * from pairing the reader's acquire with a release on the same link.  On
 * x86-64 both are a plain store.
 */
static inline void __list_del(struct list_head *prev, struct list_head *next)
{
	next->prev = prev;
	smp_store_release(&prev->next, next);
}

static inline void __list_del_entry(struct list_head *entry)
{
	__list_del(entry->prev, entry->next);
}

/* Unlink @entry and poison it: it is in no list afterwards, not even its own. */
static inline void list_del(struct list_head *entry)
{
	__list_del_entry(entry);
	entry->next = LIST_POISON1;
	entry->prev = LIST_POISON2;
}

/* Unlink @entry and make it an empty list, so list_empty(entry) is true. */
static inline void list_del_init(struct list_head *entry)
{
	__list_del_entry(entry);
	INIT_LIST_HEAD(entry);
}

static inline void list_replace(struct list_head *old, struct list_head *new)
{
	new->next = old->next;
	new->next->prev = new;
	new->prev = old->prev;
	WRITE_ONCE(new->prev->next, new);
}

static inline void list_replace_init(struct list_head *old, struct list_head *new)
{
	list_replace(old, new);
	INIT_LIST_HEAD(old);
}

/* Take @list off its list and add it after @head. */
static inline void list_move(struct list_head *list, struct list_head *head)
{
	__list_del_entry(list);
	list_add(list, head);
}

/* Take @list off its list and add it before @head (at the tail). */
static inline void list_move_tail(struct list_head *list, struct list_head *head)
{
	__list_del_entry(list);
	list_add_tail(list, head);
}

static inline bool list_is_first(const struct list_head *list, const struct list_head *head)
{
	return list->prev == head;
}

static inline bool list_is_last(const struct list_head *list, const struct list_head *head)
{
	return list->next == head;
}

static inline bool list_is_head(const struct list_head *list, const struct list_head *head)
{
	return list == head;
}

/* READ_ONCE: callers test emptiness locklessly (a waiter polling a queue). */
static inline bool list_empty(const struct list_head *head)
{
	return READ_ONCE(head->next) == head;
}

static inline bool list_is_singular(const struct list_head *head)
{
	return !list_empty(head) && head->next == head->prev;
}

/* Link the entries of @list (not empty) between @prev and @next. */
static inline void __list_splice(const struct list_head *list, struct list_head *prev,
				 struct list_head *next)
{
	struct list_head *first = list->next;
	struct list_head *last = list->prev;

	first->prev = prev;
	WRITE_ONCE(prev->next, first);
	last->next = next;
	next->prev = last;
}

/* Move the entries of @list to the front of @head; @list is left dangling. */
static inline void list_splice(const struct list_head *list, struct list_head *head)
{
	if (!list_empty(list))
		__list_splice(list, head, head->next);
}

/* Move the entries of @list to the back of @head; @list is left dangling. */
static inline void list_splice_tail(struct list_head *list, struct list_head *head)
{
	if (!list_empty(list))
		__list_splice(list, head->prev, head);
}

/* Move the entries of @list to the front of @head and leave @list empty. */
static inline void list_splice_init(struct list_head *list, struct list_head *head)
{
	if (!list_empty(list)) {
		__list_splice(list, head, head->next);
		INIT_LIST_HEAD(list);
	}
}

/* Move the entries of @list to the back of @head and leave @list empty. */
static inline void list_splice_tail_init(struct list_head *list, struct list_head *head)
{
	if (!list_empty(list)) {
		__list_splice(list, head->prev, head);
		INIT_LIST_HEAD(list);
	}
}

#define list_entry(ptr, type, member) container_of(ptr, type, member)
#define list_first_entry(ptr, type, member) list_entry((ptr)->next, type, member)
#define list_last_entry(ptr, type, member) list_entry((ptr)->prev, type, member)
#define list_first_entry_or_null(ptr, type, member)                                                \
	({                                                                                         \
		struct list_head *head__ = (ptr);                                                  \
		struct list_head *pos__ = READ_ONCE(head__->next);                                 \
		pos__ != head__ ? list_entry(pos__, type, member) : NULL;                          \
	})
#define list_next_entry(pos, member) list_entry((pos)->member.next, typeof(*(pos)), member)
#define list_prev_entry(pos, member) list_entry((pos)->member.prev, typeof(*(pos)), member)
/* True when @pos is the container_of() of the head itself: the walk is over. */
#define list_entry_is_head(pos, head, member) (&(pos)->member == (head))

#define list_for_each(pos, head)                                                                   \
	for (pos = (head)->next; !list_is_head(pos, (head)); pos = pos->next)

/* @n caches the next entry, so @pos may be deleted in the body. */
#define list_for_each_safe(pos, n, head)                                                           \
	for (pos = (head)->next, n = pos->next; !list_is_head(pos, (head)); pos = n, n = pos->next)

#define list_for_each_entry(pos, head, member)                                                     \
	for (pos = list_first_entry(head, typeof(*(pos)), member);                                 \
	     !list_entry_is_head(pos, head, member); pos = list_next_entry(pos, member))

#define list_for_each_entry_reverse(pos, head, member)                                             \
	for (pos = list_last_entry(head, typeof(*(pos)), member);                                  \
	     !list_entry_is_head(pos, head, member); pos = list_prev_entry(pos, member))

/* Resume a walk after @pos (which may be the head: then from the start). */
#define list_for_each_entry_continue(pos, head, member)                                            \
	for (pos = list_next_entry(pos, member); !list_entry_is_head(pos, head, member);           \
	     pos = list_next_entry(pos, member))

/* Resume a walk at @pos itself. */
#define list_for_each_entry_from(pos, head, member)                                                \
	for (; !list_entry_is_head(pos, head, member); pos = list_next_entry(pos, member))

/* @n caches the next entry, so @pos may be deleted (or moved) in the body. */
#define list_for_each_entry_safe(pos, n, head, member)                                             \
	for (pos = list_first_entry(head, typeof(*(pos)), member),                                 \
	    n = list_next_entry(pos, member);                                                      \
	     !list_entry_is_head(pos, head, member); pos = n, n = list_next_entry(n, member))

#define list_for_each_entry_safe_reverse(pos, n, head, member)                                     \
	for (pos = list_last_entry(head, typeof(*(pos)), member),                                  \
	    n = list_prev_entry(pos, member);                                                      \
	     !list_entry_is_head(pos, head, member); pos = n, n = list_prev_entry(n, member))

/* ---- list_head, RCU publication ------------------------------------------ */

/*
 * Fill in @new, then publish it with a release store: a reader that loads
 * prev->next and finds @new also sees @new->next and whatever the caller
 * initialised before adding it.
 */
static inline void __list_add_rcu(struct list_head *new, struct list_head *prev,
				  struct list_head *next)
{
	new->next = next;
	new->prev = prev;
	smp_store_release(&prev->next, new);
	next->prev = new;
}

static inline void list_add_rcu(struct list_head *new, struct list_head *head)
{
	__list_add_rcu(new, head, head->next);
}

static inline void list_add_tail_rcu(struct list_head *new, struct list_head *head)
{
	__list_add_rcu(new, head->prev, head);
}

/*
 * Unlink @entry for new readers but keep @entry->next intact: a reader
 * already on @entry continues to the rest of the list.  Only ->prev is
 * poisoned (readers never follow it).  Free after a grace period.
 */
static inline void list_del_rcu(struct list_head *entry)
{
	__list_del_entry(entry);
	entry->prev = LIST_POISON2;
}

/* Acquire load of a link a writer may be publishing right now. */
#define list_next_rcu(ptr) smp_load_acquire(&(ptr)->next)
#define list_entry_rcu(ptr, type, member) container_of(smp_load_acquire(&(ptr)), type, member)

/*
 * The kernel's CONFIG_PROVE_RCU_LIST: in lockdep builds, a walk given a
 * condition (srcu_read_lock_held(&ssp), a lock held) evaluates it once as
 * it begins and reports a walk outside its read section, where an element
 * may be freed under it.  A walk given none is not checked (there is no
 * global rcu_read_lock() to fall back on).  @extra only swallows the
 * default that stands in for a missing condition.
 */
#ifdef CONFIG_LOCKDEP
void __list_rcu_check_failed(const char *cond, const char *file, int line);
#define __list_check_rcu(dummy, cond, extra...)                                                    \
	({                                                                                         \
		if (unlikely(!(cond)))                                                             \
			__list_rcu_check_failed(#cond, __FILE__, __LINE__);                        \
	})
#else
#define __list_check_rcu(dummy, cond, extra...) ({})
#endif

/*
 * Walk a list under rcu_read_lock()/srcu_read_lock() while writers add and
 * delete with the _rcu variants.  The optional trailing argument is the
 * kernel's lockdep condition, checked as above.
 */
#define list_for_each_entry_rcu(pos, head, member, cond...)                                        \
	for (__list_check_rcu(dummy, ##cond, 1),                                                   \
	     pos = list_entry(list_next_rcu(head), typeof(*(pos)), member);                        \
	     !list_entry_is_head(pos, head, member);                                               \
	     pos = list_entry(list_next_rcu(&(pos)->member), typeof(*(pos)), member))

#define list_for_each_entry_srcu(pos, head, member, cond...)                                       \
	list_for_each_entry_rcu(pos, head, member, ##cond)

/* ---- hlist ------------------------------------------------------------------ */

#define HLIST_HEAD_INIT                                                                            \
	{                                                                                          \
		.first = NULL                                                                      \
	}
#define HLIST_HEAD(name) struct hlist_head name = { .first = NULL }

static inline void INIT_HLIST_HEAD(struct hlist_head *h)
{
	WRITE_ONCE(h->first, NULL);
}

static inline void INIT_HLIST_NODE(struct hlist_node *n)
{
	n->next = NULL;
	n->pprev = NULL;
}

/* Not on any list: never added, or removed with hlist_del_init(). */
static inline bool hlist_unhashed(const struct hlist_node *n)
{
	return !READ_ONCE(n->pprev);
}

static inline bool hlist_empty(const struct hlist_head *h)
{
	return !READ_ONCE(h->first);
}

/* The release store pairs with readers' acquire, as in __list_del(). */
static inline void __hlist_del(struct hlist_node *n)
{
	struct hlist_node *next = n->next;
	struct hlist_node **pprev = n->pprev;

	smp_store_release(pprev, next);
	if (next)
		WRITE_ONCE(next->pprev, pprev);
}

static inline void hlist_del(struct hlist_node *n)
{
	__hlist_del(n);
	n->next = LIST_POISON1;
	n->pprev = LIST_POISON2;
}

/* Unlink @n if it is hashed, and leave it unhashed. */
static inline void hlist_del_init(struct hlist_node *n)
{
	if (!hlist_unhashed(n)) {
		__hlist_del(n);
		INIT_HLIST_NODE(n);
	}
}

static inline void hlist_add_head(struct hlist_node *n, struct hlist_head *h)
{
	struct hlist_node *first = h->first;

	n->next = first;
	if (first)
		WRITE_ONCE(first->pprev, &n->next);
	WRITE_ONCE(h->first, n);
	WRITE_ONCE(n->pprev, &h->first);
}

/* Insert @n after @prev, which is on a list. */
static inline void hlist_add_behind(struct hlist_node *n, struct hlist_node *prev)
{
	n->next = prev->next;
	WRITE_ONCE(prev->next, n);
	WRITE_ONCE(n->pprev, &prev->next);
	if (n->next)
		WRITE_ONCE(n->next->pprev, &n->next);
}

#define hlist_entry(ptr, type, member) container_of(ptr, type, member)
#define hlist_entry_safe(ptr, type, member)                                                        \
	({                                                                                         \
		typeof(ptr) ____ptr = (ptr);                                                       \
		____ptr ? hlist_entry(____ptr, type, member) : NULL;                               \
	})

#define hlist_for_each(pos, head) for (pos = (head)->first; pos; pos = pos->next)

#define hlist_for_each_entry(pos, head, member)                                                    \
	for (pos = hlist_entry_safe((head)->first, typeof(*(pos)), member); pos;                   \
	     pos = hlist_entry_safe((pos)->member.next, typeof(*(pos)), member))

/* @n caches the next node, so @pos may be deleted in the body. */
#define hlist_for_each_entry_safe(pos, n, head, member)                                            \
	for (pos = hlist_entry_safe((head)->first, typeof(*pos), member);                          \
	     pos && ({                                                                             \
		     n = pos->member.next;                                                         \
		     1;                                                                            \
	     });                                                                                   \
	     pos = hlist_entry_safe(n, typeof(*pos), member))

/* ---- hlist, RCU publication ------------------------------------------------ */

/*
 * Publish @n at the head of @h for lockless readers: @n->next is set before
 * the release store of h->first makes @n reachable.
 */
static inline void hlist_add_head_rcu(struct hlist_node *n, struct hlist_head *h)
{
	struct hlist_node *first = h->first;

	n->next = first;
	WRITE_ONCE(n->pprev, &h->first);
	smp_store_release(&h->first, n);
	if (first)
		WRITE_ONCE(first->pprev, &n->next);
}

/*
 * Unlink @n for new readers, keeping @n->next valid for readers already on
 * it; only ->pprev is poisoned.  Free after a grace period.
 */
static inline void hlist_del_rcu(struct hlist_node *n)
{
	__hlist_del(n);
	WRITE_ONCE(n->pprev, LIST_POISON2);
}

/*
 * As hlist_del_rcu() but leaves @n unhashed, so hlist_unhashed() tells a
 * later remover (mmu_notifier_unregister racing exit) that it is done.
 */
static inline void hlist_del_init_rcu(struct hlist_node *n)
{
	if (!hlist_unhashed(n)) {
		__hlist_del(n);
		WRITE_ONCE(n->pprev, NULL);
	}
}

/*
 * Walk an hlist inside an RCU or SRCU read-side section while writers use
 * hlist_add_head_rcu()/hlist_del_rcu(): every link is an acquire load,
 * pairing with the release store in hlist_add_head_rcu().  The optional
 * trailing argument is the kernel's lockdep condition (srcu_read_lock_held),
 * checked as the walk begins in lockdep builds (__list_check_rcu()).
 */
#define hlist_for_each_entry_srcu(pos, head, member, cond...)                                      \
	for (__list_check_rcu(dummy, ##cond, 1),                                                   \
	     pos = hlist_entry_safe(smp_load_acquire(&(head)->first), typeof(*(pos)), member);     \
	     pos; pos = hlist_entry_safe(smp_load_acquire(&(pos)->member.next), typeof(*(pos)),    \
					 member))

#define hlist_for_each_entry_rcu(pos, head, member, cond...)                                       \
	hlist_for_each_entry_srcu(pos, head, member, ##cond)

#endif
