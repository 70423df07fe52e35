// SPDX-License-Identifier: GPL-2.0
/*
 * base/interval_tree.h: after every operation the whole tree is checked
 * (order by start then address, parent links, red-black rules, the cached
 * __subtree_last exact in every node, the cached leftmost), and queries are
 * compared, node for node and in order, with a brute-force scan of a model
 * array.  Plus the edges: empty tree, duplicates, [0, ULONG_MAX], intervals
 * that end at ULONG_MAX, removal during a walk, and the typed wrapper.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/interval_tree.h"
#include "base/prandom.h"
#include "tests/lib/test_util.h"

#define RB_BLACK 0 /* <bsd/sys/tree.h>'s colours */
#define RB_RED 1

#define LEFT(n) ((n)->rb.rbe_left)
#define RIGHT(n) ((n)->rb.rbe_right)
#define PARENT(n) ((n)->rb.rbe_parent)

static bool node_before(const struct interval_tree_node *a, const struct interval_tree_node *b)
{
	return a->start < b->start || (a->start == b->start && a->__seq < b->__seq);
}

/*
 * Check the subtree of @node, whose nodes must all lie strictly between
 * @lo and @hi (either NULL: unbounded); count its nodes into @count and
 * return its black height.
 */
static int check_subtree(struct interval_tree_node *node, struct interval_tree_node *lo,
			 struct interval_tree_node *hi, unsigned long *count)
{
	unsigned long max;
	int lh, rh;

	if (!node)
		return 1;
	(*count)++;
	TEST_ASSERT(node->start <= node->last, "bad interval [%lu, %lu]", node->start, node->last);
	TEST_ASSERT(!lo || node_before(lo, node), "order broken at start %lu", node->start);
	TEST_ASSERT(!hi || node_before(node, hi), "order broken at start %lu", node->start);
	TEST_ASSERT(!LEFT(node) || PARENT(LEFT(node)) == node, "left child's parent link");
	TEST_ASSERT(!RIGHT(node) || PARENT(RIGHT(node)) == node, "right child's parent link");
	if (node->rb.rbe_color == RB_RED) {
		TEST_ASSERT(!LEFT(node) || LEFT(node)->rb.rbe_color == RB_BLACK, "red-red");
		TEST_ASSERT(!RIGHT(node) || RIGHT(node)->rb.rbe_color == RB_BLACK, "red-red");
	}
	lh = check_subtree(LEFT(node), lo, node, count);
	rh = check_subtree(RIGHT(node), node, hi, count);
	TEST_ASSERT(lh == rh, "black heights %d != %d", lh, rh);
	max = node->last;
	if (LEFT(node) && LEFT(node)->__subtree_last > max)
		max = LEFT(node)->__subtree_last;
	if (RIGHT(node) && RIGHT(node)->__subtree_last > max)
		max = RIGHT(node)->__subtree_last;
	TEST_ASSERT(node->__subtree_last == max, "__subtree_last %lu, want %lu (node [%lu, %lu])",
		    node->__subtree_last, max, node->start, node->last);
	return lh + (node->rb.rbe_color == RB_BLACK);
}

/* first/next walk up in order, last/prev walk down, each seeing every node. */
static void check_neighbours(struct interval_tree_root *root, unsigned long nr_nodes)
{
	struct interval_tree_node *n, *prev = NULL;
	unsigned long up = 0, down = 0;

	for (n = interval_tree_first(root); n; prev = n, n = interval_tree_next(n)) {
		TEST_ASSERT(!prev || node_before(prev, n), "next() out of order");
		up++;
	}
	TEST_ASSERT(interval_tree_last(root) == prev, "last() is not the last in order");
	for (n = interval_tree_last(root); n; prev = n, n = interval_tree_prev(n)) {
		TEST_ASSERT(!down || node_before(n, prev), "prev() out of order");
		down++;
	}
	TEST_ASSERT(up == nr_nodes && down == nr_nodes, "walked %lu up, %lu down, of %lu", up, down,
		    nr_nodes);
}

static void check_tree(struct interval_tree_root *root, unsigned long nr_nodes)
{
	struct interval_tree_node *top = root->rb.rbh_root;
	struct interval_tree_node *min = top;
	unsigned long count = 0;

	TEST_ASSERT_EQ(interval_tree_empty(root), nr_nodes == 0);
	if (top) {
		TEST_ASSERT(PARENT(top) == NULL, "root has a parent");
		TEST_ASSERT(top->rb.rbe_color == RB_BLACK, "red root");
		while (LEFT(min))
			min = LEFT(min);
	}
	TEST_ASSERT(root->leftmost == min, "cached leftmost is not the lowest node");
	check_subtree(top, NULL, NULL, &count);
	TEST_ASSERT_EQ(count, nr_nodes);
	check_neighbours(root, nr_nodes);
}

/* ---- the model ---------------------------------------------------------- */

struct model {
	struct interval_tree_root root;
	struct interval_tree_node *nodes; /* one array: address order = index order */
	bool *in_tree;
	unsigned long nr, nr_in_tree;
};

static void model_init(struct model *m, unsigned long nr)
{
	m->root = (struct interval_tree_root)INTERVAL_TREE_ROOT_INIT;
	m->nodes = calloc(nr, sizeof(*m->nodes));
	m->in_tree = calloc(nr, sizeof(*m->in_tree));
	TEST_ASSERT(m->nodes && m->in_tree, "calloc");
	m->nr = nr;
	m->nr_in_tree = 0;
	for (unsigned long i = 0; i < nr; i++)
		interval_tree_node_init(&m->nodes[i]);
}

static void model_free(struct model *m)
{
	free(m->nodes);
	free(m->in_tree);
}

static void model_insert(struct model *m, unsigned long i, unsigned long start, unsigned long last)
{
	TEST_ASSERT(!interval_tree_node_linked(&m->nodes[i]), "node %lu linked before insert", i);
	m->nodes[i].start = start;
	m->nodes[i].last = last;
	interval_tree_insert(&m->nodes[i], &m->root);
	TEST_ASSERT(interval_tree_node_linked(&m->nodes[i]), "node %lu unlinked after insert", i);
	m->in_tree[i] = true;
	m->nr_in_tree++;
}

static void model_remove(struct model *m, unsigned long i)
{
	interval_tree_remove(&m->nodes[i], &m->root);
	TEST_ASSERT(!interval_tree_node_linked(&m->nodes[i]), "node %lu linked after remove", i);
	m->in_tree[i] = false;
	m->nr_in_tree--;
}

static int cmp_nodes(const void *a, const void *b)
{
	struct interval_tree_node *const *x = a, *const *y = b;

	return node_before(*x, *y) ? -1 : node_before(*y, *x) ? 1 : 0;
}

/*
 * The tree's answer must be the model's, node for node, in order: every
 * node of the model that overlaps [start, last] (brute force), sorted by
 * start then address.
 */
static void check_query(struct model *m, unsigned long start, unsigned long last)
{
	struct interval_tree_node **want = malloc(m->nr * sizeof(*want));
	struct interval_tree_node *n;
	unsigned long nr_want = 0, found = 0;

	TEST_ASSERT(want, "malloc");
	for (unsigned long i = 0; i < m->nr; i++) {
		n = &m->nodes[i];
		if (m->in_tree[i] && n->start <= last && n->last >= start)
			want[nr_want++] = n;
	}
	qsort(want, nr_want, sizeof(*want), cmp_nodes);
	interval_tree_for_each(n, &m->root, start, last) {
		TEST_ASSERT(found < nr_want, "query [%#lx, %#lx]: extra node [%#lx, %#lx]", start,
			    last, n->start, n->last);
		TEST_ASSERT(n == want[found], "query [%#lx, %#lx], result %lu: node %ld, want %ld",
			    start, last, found, (long)(n - m->nodes),
			    (long)(want[found] - m->nodes));
		found++;
	}
	TEST_ASSERT(found == nr_want, "query [%#lx, %#lx]: %lu nodes, want %lu", start, last, found,
		    nr_want);
	free(want);
}

/* ---- cases ----------------------------------------------------------------- */

TEST(empty_tree)
{
	struct interval_tree_root root = INTERVAL_TREE_ROOT_INIT;
	struct interval_tree_node node;

	TEST_ASSERT(interval_tree_empty(&root), "new root not empty");
	TEST_ASSERT(!interval_tree_iter_first(&root, 0, ULONG_MAX), "found in an empty tree");
	TEST_ASSERT(!interval_tree_iter_first(&root, 5, 5), "found in an empty tree");
	check_tree(&root, 0);

	interval_tree_node_init(&node);
	TEST_ASSERT(!interval_tree_node_linked(&node), "initialised node linked");
	node.start = 1;
	node.last = 2;
	interval_tree_insert(&node, &root);
	interval_tree_remove(&node, &root);
	interval_tree_root_init(&root);
	TEST_ASSERT(interval_tree_empty(&root), "not empty after removing the only node");
	check_tree(&root, 0);
}

TEST(single_interval_bounds_are_inclusive)
{
	struct interval_tree_root root = INTERVAL_TREE_ROOT_INIT;
	struct interval_tree_node n = { .start = 5, .last = 10 };

	interval_tree_node_init(&n);
	interval_tree_insert(&n, &root);
	check_tree(&root, 1);
	TEST_ASSERT(!interval_tree_iter_first(&root, 0, 4), "[0,4] overlaps [5,10]?");
	TEST_ASSERT(interval_tree_iter_first(&root, 0, 5) == &n, "[0,5] misses [5,10]");
	TEST_ASSERT(interval_tree_iter_first(&root, 10, 10) == &n, "[10,10] misses [5,10]");
	TEST_ASSERT(interval_tree_iter_first(&root, 7, 8) == &n, "[7,8] misses [5,10]");
	TEST_ASSERT(interval_tree_iter_first(&root, 0, ULONG_MAX) == &n, "full range misses");
	TEST_ASSERT(!interval_tree_iter_first(&root, 11, ULONG_MAX), "[11,max] overlaps?");
	TEST_ASSERT(!interval_tree_iter_next(&n, 0, ULONG_MAX), "a second node?");
	interval_tree_remove(&n, &root);
	TEST_ASSERT(!interval_tree_node_linked(&n), "linked after remove");
	check_tree(&root, 0);
}

TEST(identical_intervals_are_distinct_nodes)
{
	struct model m;
	struct interval_tree_node *n;
	unsigned long i, seen = 0;

	model_init(&m, 100);
	for (i = 0; i < 100; i++)
		model_insert(&m, (i * 37) % 100, 7, 9); /* insert out of address order */
	check_tree(&m.root, 100);
	/* All of them, in insertion order (rmap's parent-before-child rule). */
	interval_tree_for_each(n, &m.root, 8, 8)
		TEST_ASSERT_EQ(n - m.nodes, (long)((seen++ * 37) % 100));
	TEST_ASSERT_EQ(seen, 100);
	for (i = 0; i < 100; i += 2)
		model_remove(&m, i);
	check_tree(&m.root, 50);
	check_query(&m, 8, 8);
	check_query(&m, 0, 6);
	check_query(&m, 9, ULONG_MAX);
	model_free(&m);
}

TEST(full_range_query_and_top_of_range)
{
	static const unsigned long iv[][2] = {
		{ 0, ULONG_MAX }, { ULONG_MAX, ULONG_MAX },
		{ 0, 0 },	  { ULONG_MAX - 1, ULONG_MAX },
		{ 100, 200 },	  { 1UL << 63, ULONG_MAX - 2 },
		{ 50, 50 },
	};
	struct model m;

	model_init(&m, ARRAY_SIZE(iv));
	for (unsigned long i = 0; i < ARRAY_SIZE(iv); i++) {
		model_insert(&m, i, iv[i][0], iv[i][1]);
		check_tree(&m.root, i + 1);
	}
	check_query(&m, 0, ULONG_MAX);
	check_query(&m, ULONG_MAX, ULONG_MAX);
	check_query(&m, ULONG_MAX - 1, ULONG_MAX - 1);
	check_query(&m, 0, 0);
	check_query(&m, 1, 49);
	check_query(&m, 201, (1UL << 63) - 1);
	check_query(&m, 150, 150);
	model_remove(&m, 0); /* [0, ULONG_MAX]: the widest goes, caches shrink */
	check_tree(&m.root, ARRAY_SIZE(iv) - 1);
	check_query(&m, 1, 49);
	check_query(&m, 201, (1UL << 63) - 1);
	check_query(&m, 0, ULONG_MAX);
	model_free(&m);
}

/* An interval of the random workload: mostly short, some long, some at the top. */
static void random_interval(uint64_t *seed, unsigned long span, unsigned long *start,
			    unsigned long *last)
{
	uint64_t r = prandom_u64(seed);

	switch (r % 16) {
	case 0:
		*start = ULONG_MAX - prandom_u64(seed) % span;
		*last = *start + prandom_u64(seed) % (ULONG_MAX - *start + 1);
		return;
	case 1:
		*start = prandom_u64(seed) % span;
		*last = *start + prandom_u64(seed) % (span * 4);
		return;
	default:
		*start = prandom_u64(seed) % span;
		*last = *start + prandom_u64(seed) % 16;
		return;
	}
}

static void random_query(uint64_t *seed, unsigned long span, unsigned long *start,
			 unsigned long *last)
{
	uint64_t r = prandom_u64(seed);

	if (r % 32 == 0) {
		*start = 0;
		*last = ULONG_MAX;
	} else if (r % 32 == 1) {
		*start = prandom_u64(seed) % span;
		*last = ULONG_MAX;
	} else if (r % 32 == 2) {
		*start = *last = prandom_u64(seed) % span;
	} else {
		*start = prandom_u64(seed) % span;
		*last = *start + prandom_u64(seed) % (span / 8);
	}
}

/*
 * 10^4 random inserts and removes over a pool of nodes, the tree checked in
 * full after every one and queried against the model.  @span sets how
 * crowded the starts are (a small span gives many duplicates).
 */
static void random_workload(uint64_t seed, unsigned long pool, unsigned long span)
{
	struct model m;

	model_init(&m, pool);
	for (int op = 0; op < 10000; op++) {
		unsigned long i = prandom_u64(&seed) % pool;
		unsigned long start, last;

		if (m.in_tree[i]) {
			model_remove(&m, i);
		} else {
			random_interval(&seed, span, &start, &last);
			model_insert(&m, i, start, last);
		}
		check_tree(&m.root, m.nr_in_tree);
		random_query(&seed, span, &start, &last);
		check_query(&m, start, last);
	}
	for (int q = 0; q < 200; q++) {
		unsigned long start, last;

		random_query(&seed, span, &start, &last);
		check_query(&m, start, last);
	}
	model_free(&m);
}

TEST(random_against_model_sparse)
{
	random_workload(0x6e6f70696eULL, 1024, 1UL << 20);
}

TEST(random_against_model_crowded)
{
	random_workload(0x1234567ULL, 512, 64);
}

TEST(remove_while_walking)
{
	uint64_t seed = 42;
	struct model m;
	struct interval_tree_node *n, *next;

	model_init(&m, 500);
	for (unsigned long i = 0; i < 500; i++) {
		unsigned long start, last;

		random_interval(&seed, 4096, &start, &last);
		model_insert(&m, i, start, last);
	}
	/* Fetch the next overlapping node before removing the current one. */
	for (n = interval_tree_iter_first(&m.root, 1000, 2000); n; n = next) {
		next = interval_tree_iter_next(n, 1000, 2000);
		model_remove(&m, n - m.nodes);
	}
	check_tree(&m.root, m.nr_in_tree);
	TEST_ASSERT(!interval_tree_iter_first(&m.root, 1000, 2000), "overlapping node left");
	check_query(&m, 0, ULONG_MAX);
	check_query(&m, 0, 999);
	check_query(&m, 2001, ULONG_MAX);
	model_free(&m);
}

/* The typed wrapper: a VMA-like struct gets itself back from queries. */
struct fake_vma {
	unsigned long vm_pgoff;
	struct interval_tree_node shared;
	int id;
};

INTERVAL_TREE_DEFINE_TYPED(fake_vma_tree, struct fake_vma, shared)

TEST(typed_wrapper)
{
	struct interval_tree_root root = INTERVAL_TREE_ROOT_INIT;
	struct fake_vma vmas[4], *vma;
	int seen = 0;

	for (int i = 0; i < 4; i++) {
		vmas[i].id = i;
		vmas[i].vm_pgoff = i * 10;
		vmas[i].shared.start = vmas[i].vm_pgoff;
		vmas[i].shared.last = vmas[i].vm_pgoff + 9;
		interval_tree_node_init(&vmas[i].shared);
		fake_vma_tree_insert(&vmas[i], &root);
	}
	interval_tree_foreach_typed(fake_vma_tree, vma, &root, 15, 25)
		TEST_ASSERT_EQ(vma->id, 1 + seen++);
	TEST_ASSERT_EQ(seen, 2);
	fake_vma_tree_remove(&vmas[2], &root);
	vma = fake_vma_tree_iter_first(&root, 15, 25);
	TEST_ASSERT(vma == &vmas[1], "first is not vma 1");
	TEST_ASSERT(!fake_vma_tree_iter_next(vma, 15, 25), "vma 2 still found");
	TEST_ASSERT(!fake_vma_tree_iter_first(&root, 20, 29), "removed vma found");
	TEST_ASSERT(fake_vma_tree_first(&root) == &vmas[0], "first is not vma 0");
	TEST_ASSERT(fake_vma_tree_next(&vmas[1]) == &vmas[3], "vma 1's next is not vma 3");
	TEST_ASSERT(fake_vma_tree_prev(&vmas[3]) == &vmas[1], "vma 3's prev is not vma 1");
	TEST_ASSERT(!fake_vma_tree_prev(&vmas[0]) && !fake_vma_tree_next(&vmas[3]), "ends");
	check_tree(&root, 3);
}

TEST(double_insert_warns_and_keeps_the_tree)
{
	struct model m;

	model_init(&m, 64);
	for (unsigned long i = 0; i < 64; i++)
		model_insert(&m, i, i * 3, i * 3 + (i % 5) * 10);
	/* An inner node with a large subtree max: resetting its cache would show. */
	interval_tree_insert(m.root.rb.rbh_root, &m.root);
	expect_reports(REPORT_WARN, 1);
	check_tree(&m.root, 64);
	check_query(&m, 0, ULONG_MAX);
	check_query(&m, 100, 120);
	model_free(&m);
}

TEST(remove_unlinked_node_warns)
{
	struct interval_tree_root root = INTERVAL_TREE_ROOT_INIT;
	struct interval_tree_node a = { .start = 1, .last = 1 };
	struct interval_tree_node b = { .start = 2, .last = 2 };

	interval_tree_node_init(&a);
	interval_tree_remove(&a, &root);
	expect_reports(REPORT_WARN, 1);
	interval_tree_insert(&a, &root);
	/* Never initialised: looks like a root, but not this tree's. */
	b.rb.rbe_parent = NULL;
	interval_tree_remove(&b, &root);
	expect_reports(REPORT_WARN, 1);
	check_tree(&root, 1);
}
