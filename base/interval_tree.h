/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An interval tree: closed intervals [start, last] of unsigned long in an
 * augmented red-black tree (libbsd's <bsd/sys/tree.h>), ordered by start and
 * with each node caching the largest ->last in its subtree, so a stabbing
 * or overlap query skips every subtree that ends before the query begins.
 * It holds i_mmap (VMAs by pgoff range), the anon_vma tree (anon_vma_chains
 * by pgoff range), the mmu_interval_notifier tree and memslots by hva.
 *
 * Intervals may repeat: VMAs of different mms map the same file range, so
 * nodes with equal start are ordered by address.  Callers serialise
 * modifications and queries with their own lock (i_mmap_rwsem, ...).
 *
 *	struct interval_tree_root root = INTERVAL_TREE_ROOT_INIT;
 *
 *	node->start = pgoff; node->last = pgoff + nr_pages - 1;
 *	interval_tree_insert(node, &root);
 *	interval_tree_for_each(it, &root, first, last)
 *		... every node that overlaps [first, last], by ascending start ...
 *	interval_tree_remove(node, &root);
 *
 * Embedders get typed functions from INTERVAL_TREE_DEFINE_TYPED() below.
 */
#ifndef NOPIN_BASE_INTERVAL_TREE_H
#define NOPIN_BASE_INTERVAL_TREE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/compiler.h"

struct interval_tree_node {
	/*
	 * The fields of RB_ENTRY(interval_tree_node), spelled out so that this
	 * header does not include <bsd/sys/tree.h>: that header fixes
	 * RB_AUGMENT for the whole translation unit, and interval_tree.c must
	 * define its own first.
	 */
	struct {
		struct interval_tree_node *rbe_left;
		struct interval_tree_node *rbe_right;
		struct interval_tree_node *rbe_parent; /* self: not in a tree */
		int rbe_color;
	} rb;
	unsigned long start;	      /* first index covered */
	unsigned long last;	      /* last index covered, inclusive */
	unsigned long __subtree_last; /* max ->last in this subtree */
	unsigned long __seq;	      /* insertion order among equal starts */
};

struct interval_tree_root {
	struct interval_tree_rb { /* RB_HEAD(interval_tree_rb, interval_tree_node) */
		struct interval_tree_node *rbh_root;
	} rb;
	/* The lowest node, as rb_root_cached keeps it: lets a query end early. */
	struct interval_tree_node *leftmost;
	unsigned long next_seq; /* under the tree's writer lock, like the tree */
};

#define INTERVAL_TREE_ROOT_INIT                                                                    \
	{                                                                                          \
		.rb = { NULL }, .leftmost = NULL, .next_seq = 0                                    \
	}

static inline void interval_tree_root_init(struct interval_tree_root *root)
{
	root->rb.rbh_root = NULL;
	root->leftmost = NULL;
	root->next_seq = 0;
}

static inline bool interval_tree_empty(const struct interval_tree_root *root)
{
	return !root->rb.rbh_root;
}

/* Mark @node as in no tree (the kernel's RB_CLEAR_NODE). */
static inline void interval_tree_node_init(struct interval_tree_node *node)
{
	node->rb.rbe_parent = node;
}

/* Is @node in a tree?  False after interval_tree_node_init() or _remove(). */
static inline bool interval_tree_node_linked(const struct interval_tree_node *node)
{
	return node->rb.rbe_parent != node;
}

/*
 * Insert @node, whose ->start <= ->last the caller has set.  Inserting a node
 * already in this tree WARNs and changes nothing.
 */
void interval_tree_insert(struct interval_tree_node *node, struct interval_tree_root *root);
/* Remove @node from @root; it is left unlinked (interval_tree_node_linked() is false). */
void interval_tree_remove(struct interval_tree_node *node, struct interval_tree_root *root);

/*
 * The first node, by ascending start, that overlaps [@start, @last], or NULL.
 * Then interval_tree_iter_next() from it gives the next overlapping node.
 * To remove nodes during a walk, fetch the next one before removing.
 */
struct interval_tree_node *interval_tree_iter_first(struct interval_tree_root *root,
						    unsigned long start, unsigned long last);
struct interval_tree_node *interval_tree_iter_next(struct interval_tree_node *node,
						   unsigned long start, unsigned long last);

/*
 * In-order neighbours, whatever their intervals: the lowest node (cached,
 * O(1)), the highest, and the next or previous node by start (then address).
 */
static inline struct interval_tree_node *interval_tree_first(struct interval_tree_root *root)
{
	return root->leftmost;
}
struct interval_tree_node *interval_tree_last(struct interval_tree_root *root);
struct interval_tree_node *interval_tree_next(struct interval_tree_node *node);
struct interval_tree_node *interval_tree_prev(struct interval_tree_node *node);

#define interval_tree_for_each(node, root, start, last)                                            \
	for (node = interval_tree_iter_first(root, start, last); node;                             \
	     node = interval_tree_iter_next(node, start, last))

/*
 * Typed functions for a struct that embeds a struct interval_tree_node:
 *
 *	struct vm_area_struct { ... struct interval_tree_node shared; ... };
 *	INTERVAL_TREE_DEFINE_TYPED(vma_interval_tree, struct vm_area_struct, shared)
 *
 * gives vma_interval_tree_insert(vma, root), _remove(vma, root),
 * _iter_first(root, start, last), _iter_next(vma, start, last), _first(root),
 * _next(vma), _prev(vma) and _entry(node), returning struct vm_area_struct *
 * (NULL for none); walk them with
 * interval_tree_foreach_typed(vma_interval_tree, vma, root, start, last).
 */
#define INTERVAL_TREE_DEFINE_TYPED(prefix, type, member)                                           \
	static inline type *prefix##_entry(struct interval_tree_node *node)                        \
	{                                                                                          \
		return node ? container_of(node, type, member) : NULL;                             \
	}                                                                                          \
	static inline void prefix##_insert(type *obj, struct interval_tree_root *root)             \
	{                                                                                          \
		interval_tree_insert(&obj->member, root);                                          \
	}                                                                                          \
	static inline void prefix##_remove(type *obj, struct interval_tree_root *root)             \
	{                                                                                          \
		interval_tree_remove(&obj->member, root);                                          \
	}                                                                                          \
	static inline type *prefix##_iter_first(struct interval_tree_root *root,                   \
						unsigned long start, unsigned long last)           \
	{                                                                                          \
		return prefix##_entry(interval_tree_iter_first(root, start, last));                \
	}                                                                                          \
	static inline type *prefix##_iter_next(type *obj, unsigned long start, unsigned long last) \
	{                                                                                          \
		return prefix##_entry(interval_tree_iter_next(&obj->member, start, last));         \
	}                                                                                          \
	static inline type *prefix##_first(struct interval_tree_root *root)                        \
	{                                                                                          \
		return prefix##_entry(interval_tree_first(root));                                  \
	}                                                                                          \
	static inline type *prefix##_next(type *obj)                                               \
	{                                                                                          \
		return prefix##_entry(interval_tree_next(&obj->member));                           \
	}                                                                                          \
	static inline type *prefix##_prev(type *obj)                                               \
	{                                                                                          \
		return prefix##_entry(interval_tree_prev(&obj->member));                           \
	}

/* The walk for a tree of INTERVAL_TREE_DEFINE_TYPED(prefix, ...) objects. */
#define interval_tree_foreach_typed(prefix, obj, root, start, last)                                \
	for (obj = prefix##_iter_first(root, start, last); obj;                                    \
	     obj = prefix##_iter_next(obj, start, last))

#endif
