// SPDX-License-Identifier: GPL-2.0
/*
 * The interval tree over libbsd's red-black tree macros.
 *
 * Each node caches __subtree_last, the largest ->last in its subtree.  The
 * tree code keeps it through the RB_AUGMENT hook, which <bsd/sys/tree.h>
 * calls on a node after its children changed, and which recomputes that one
 * node from its own ->last and its children's caches.
 *
 * That hook alone is not enough.  On insert the macros augment only the new
 * leaf's parent, and on a one-child remove only the removed node's parent,
 * not the ancestors above, whose subtrees also gained or lost an interval
 * (the two-child remove happens to walk to the root; we do not rely on it).
 * So after RB_INSERT and RB_REMOVE we recompute, child before parent, up to
 * the root, from one node L: the new node on insert (from its parent, as L
 * itself has no stale cache), and on remove the lowest node whose subtree
 * lost an interval (from L itself).
 *
 * Why that is enough although the rebalancing rotations ran in between with
 * some caches stale: right after the new node is linked (or the old one
 * unlinked), only nodes whose subtree holds L can be stale.  A rotation
 * changes the subtrees of exactly two nodes and recomputes both from their
 * children; a node recomputed from exact children is exact, so a node
 * without L in its subtree stays exact through every rotation.  The final
 * pass up from L, in the final tree, then leaves every cache exact.
 */
#include <stdint.h>

#include "base/bug.h"
#include "base/interval_tree.h"

/* Recompute @node's cache from its own interval and its children's caches. */
static void interval_tree_augment(struct interval_tree_node *node)
{
	struct interval_tree_node *left = node->rb.rbe_left;
	struct interval_tree_node *right = node->rb.rbe_right;
	unsigned long max = node->last;

	if (left && left->__subtree_last > max)
		max = left->__subtree_last;
	if (right && right->__subtree_last > max)
		max = right->__subtree_last;
	node->__subtree_last = max;
}

/* Before the include: <bsd/sys/tree.h> defaults RB_AUGMENT to nothing. */
#define RB_AUGMENT(x) interval_tree_augment(x)
#include <bsd/sys/tree.h>

/*
 * By start, then by insertion: a node goes after every node of the same
 * start already in the tree, as the kernel's interval tree puts equal keys
 * to the right.  rmap depends on it: a fork links the child's VMA into the
 * parent's anon_vma with the same start, so a walk meets the parent's VMA
 * before the child's, and a migration that restores the parent's PTE first
 * also finds the child's copy of the migration entry (see dup_mmap()).
 */
static int interval_tree_cmp(const struct interval_tree_node *a, const struct interval_tree_node *b)
{
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (a->__seq != b->__seq)
		return a->__seq < b->__seq ? -1 : 1;
	return 0;
}

/*
 * RB_GENERATE_STATIC spelled out: its attribute is BSD's __unused, which
 * libbsd leaves undefined (Linux headers use the name for struct members).
 */
RB_GENERATE_INTERNAL(interval_tree_rb, interval_tree_node, rb, interval_tree_cmp,
		     __maybe_unused static)

/* Recompute the caches of @node and every ancestor, child before parent. */
static void interval_tree_propagate(struct interval_tree_node *node)
{
	for (; node; node = node->rb.rbe_parent)
		interval_tree_augment(node);
}

void interval_tree_insert(struct interval_tree_node *node, struct interval_tree_root *root)
{
	node->__subtree_last = node->last;
	node->__seq = root->next_seq++;
	/* The sequence breaks every tie: RB_INSERT finds no equal node. */
	if (WARN_ON(RB_INSERT(interval_tree_rb, &root->rb, node))) {
		interval_tree_propagate(node);
		return;
	}
	if (!root->leftmost || interval_tree_cmp(node, root->leftmost) < 0)
		root->leftmost = node;
	/* From the parent after rebalancing: rotations may have lifted @node. */
	interval_tree_propagate(node->rb.rbe_parent);
}

/*
 * The lowest node whose subtree loses an interval when @node is removed:
 * its parent if it has at most one child; otherwise RB_REMOVE moves the
 * in-order successor (the leftmost node of the right subtree) into @node's
 * place, and the successor's old parent loses it — unless that parent is
 * @node itself, whose place the successor now holds.
 */
static struct interval_tree_node *interval_tree_lowest_changed(struct interval_tree_node *node)
{
	struct interval_tree_node *succ;

	if (!node->rb.rbe_left || !node->rb.rbe_right)
		return node->rb.rbe_parent;
	succ = node->rb.rbe_right;
	while (succ->rb.rbe_left)
		succ = succ->rb.rbe_left;
	return succ->rb.rbe_parent == node ? succ : succ->rb.rbe_parent;
}

void interval_tree_remove(struct interval_tree_node *node, struct interval_tree_root *root)
{
	struct interval_tree_node *lowest;

	/* Unlinked, or a root-looking node that is not this tree's root. */
	if (WARN_ON(!interval_tree_node_linked(node)) ||
	    WARN_ON(!node->rb.rbe_parent && root->rb.rbh_root != node))
		return;
	if (root->leftmost == node)
		root->leftmost = RB_NEXT(interval_tree_rb, &root->rb, node);
	lowest = interval_tree_lowest_changed(node);
	RB_REMOVE(interval_tree_rb, &root->rb, node);
	interval_tree_propagate(lowest);
	interval_tree_node_init(node);
}

/*
 * The leftmost node overlapping [start, last] in the subtree of @node, given
 * that @node->__subtree_last >= start (something below ends late enough).
 *
 * Descend left whenever the left subtree holds an interval ending at or
 * after @start.  If none of those also begins by @last, nothing to the right
 * does either (it all begins later still), so giving up there is correct.
 */
static struct interval_tree_node *interval_tree_subtree_search(struct interval_tree_node *node,
							       unsigned long start,
							       unsigned long last)
{
	for (;;) {
		struct interval_tree_node *left = node->rb.rbe_left;

		if (left && left->__subtree_last >= start) {
			node = left;
			continue;
		}
		if (node->start > last)
			return NULL;
		if (node->last >= start)
			return node;
		node = node->rb.rbe_right;
		if (!node || node->__subtree_last < start)
			return NULL;
	}
}

struct interval_tree_node *interval_tree_iter_first(struct interval_tree_root *root,
						    unsigned long start, unsigned long last)
{
	struct interval_tree_node *top = root->rb.rbh_root;

	if (!top || top->__subtree_last < start)
		return NULL;
	if (root->leftmost->start > last)
		return NULL;
	return interval_tree_subtree_search(top, start, last);
}

/*
 * The next overlapping node after @node in start order.  Nodes before
 * @node were handled; the candidates are @node's right subtree, then each
 * ancestor reached from its left child, then that ancestor's right subtree,
 * and so on.  The walk stops at the first node beginning after @last, since
 * every later node begins later still.
 */
struct interval_tree_node *interval_tree_iter_next(struct interval_tree_node *node,
						   unsigned long start, unsigned long last)
{
	struct interval_tree_node *right = node->rb.rbe_right;
	struct interval_tree_node *prev;

	for (;;) {
		if (right && right->__subtree_last >= start)
			return interval_tree_subtree_search(right, start, last);
		/* Climb until we come up from a left child: that parent is next. */
		do {
			prev = node;
			node = node->rb.rbe_parent;
			if (!node)
				return NULL;
		} while (node->rb.rbe_right == prev);
		if (node->start > last)
			return NULL;
		if (node->last >= start)
			return node;
		right = node->rb.rbe_right;
	}
}

struct interval_tree_node *interval_tree_last(struct interval_tree_root *root)
{
	return RB_MAX(interval_tree_rb, &root->rb);
}

struct interval_tree_node *interval_tree_next(struct interval_tree_node *node)
{
	return RB_NEXT(interval_tree_rb, NULL, node);
}

struct interval_tree_node *interval_tree_prev(struct interval_tree_node *node)
{
	return RB_PREV(interval_tree_rb, NULL, node);
}
