// SPDX-License-Identifier: GPL-2.0
/*
 * base/list.h: every list_head and hlist operation, checked against the
 * expected order of ids after each step, with the links verified in both
 * directions; splicing; deletion during iteration; poisoning; and the _rcu
 * variants, including a reader standing on an entry while it is deleted.
 */
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/list.h"
#include "tests/lib/test_util.h"

/*
 * The kernel's OPTIMIZER_HIDE_VAR(): the compiler forgets where @var points,
 * so a walk from a bare list head, or a deliberate use of a poisoned entry,
 * is left to run time instead of flagged by -Warray-bounds at -O2.
 */
#define OPTIMIZER_HIDE_VAR(var) __asm__("" : "=r"(var) : "0"(var))

struct item {
	int id;
	struct list_head link;
	struct hlist_node hnode;
};

static void init_items(struct item *items, int n)
{
	for (int i = 0; i < n; i++) {
		items[i].id = i;
		INIT_HLIST_NODE(&items[i].hnode);
	}
}

/*
 * Assert that @head holds exactly the ids in @want, in order, walking
 * forward and backward, with every ->prev the mirror of a ->next.
 */
static void __assert_list(struct list_head *head, const int *want, int n, int line)
{
	struct list_head *pos;
	struct item *it;
	int i = 0;

	list_for_each(pos, head) {
		TEST_ASSERT(pos->next->prev == pos, "line %d: broken back link at %d", line, i);
		TEST_ASSERT(i < n, "line %d: more than %d entries", line, n);
		it = list_entry(pos, struct item, link);
		TEST_ASSERT(it->id == want[i], "line %d: entry %d is %d, want %d", line, i, it->id,
			    want[i]);
		i++;
	}
	TEST_ASSERT(i == n, "line %d: %d entries, want %d", line, i, n);
	TEST_ASSERT(head->next->prev == head, "line %d: head back link", line);
	list_for_each_entry_reverse(it, head, link) {
		i--;
		TEST_ASSERT(it->id == want[i], "line %d: reverse entry %d is %d", line, i, it->id);
	}
	TEST_ASSERT_EQ(list_empty(head), n == 0);
	TEST_ASSERT_EQ(list_is_singular(head), n == 1);
}

#define assert_list(head, ...)                                                                     \
	do {                                                                                       \
		const int __want[] = { __VA_ARGS__ };                                              \
		__assert_list(head, __want, ARRAY_SIZE(__want), __LINE__);                         \
	} while (0)
#define assert_list_empty(head) __assert_list(head, NULL, 0, __LINE__)

TEST(list_init_and_empty)
{
	LIST_HEAD(a);
	struct list_head b;

	INIT_LIST_HEAD(&b);
	assert_list_empty(&a);
	assert_list_empty(&b);
	TEST_ASSERT(list_first_entry_or_null(&a, struct item, link) == NULL, "empty: not NULL");
}

TEST(list_add_is_a_stack_add_tail_a_queue)
{
	struct item it[4];
	LIST_HEAD(head);

	init_items(it, 4);
	list_add(&it[0].link, &head);
	assert_list(&head, 0);
	list_add(&it[1].link, &head);
	list_add_tail(&it[2].link, &head);
	list_add(&it[3].link, &head);
	assert_list(&head, 3, 1, 0, 2);
	TEST_ASSERT_EQ(list_first_entry(&head, struct item, link)->id, 3);
	TEST_ASSERT_EQ(list_last_entry(&head, struct item, link)->id, 2);
	TEST_ASSERT_EQ(list_first_entry_or_null(&head, struct item, link)->id, 3);
	TEST_ASSERT(list_is_first(&it[3].link, &head), "3 first");
	TEST_ASSERT(list_is_last(&it[2].link, &head), "2 last");
	TEST_ASSERT(!list_is_last(&it[0].link, &head), "0 not last");
	TEST_ASSERT_EQ(list_next_entry(&it[1], link)->id, 0);
	TEST_ASSERT_EQ(list_prev_entry(&it[1], link)->id, 3);
}

TEST(list_del_unlinks_and_poisons)
{
	struct item it[3];
	LIST_HEAD(head);

	init_items(it, 3);
	for (int i = 0; i < 3; i++)
		list_add_tail(&it[i].link, &head);
	list_del(&it[1].link);
	assert_list(&head, 0, 2);
	TEST_ASSERT(it[1].link.next == LIST_POISON1, "next not poisoned");
	TEST_ASSERT(it[1].link.prev == LIST_POISON2, "prev not poisoned");
	list_del(&it[0].link);
	list_del(&it[2].link);
	assert_list_empty(&head);
}

TEST(list_del_init_leaves_an_empty_list)
{
	struct item it[2];
	LIST_HEAD(head);

	init_items(it, 2);
	list_add_tail(&it[0].link, &head);
	list_add_tail(&it[1].link, &head);
	list_del_init(&it[0].link);
	assert_list(&head, 1);
	TEST_ASSERT(list_empty(&it[0].link), "deleted entry not empty");
	/* An emptied entry may be deleted again, harmlessly. */
	list_del_init(&it[0].link);
	TEST_ASSERT(list_empty(&it[0].link), "second del_init");
	assert_list(&head, 1);
}

TEST(list_replace_takes_the_place)
{
	struct item it[3];
	LIST_HEAD(head);

	init_items(it, 3);
	list_add_tail(&it[0].link, &head);
	list_add_tail(&it[1].link, &head);
	list_replace_init(&it[0].link, &it[2].link);
	assert_list(&head, 2, 1);
	TEST_ASSERT(list_empty(&it[0].link), "replaced entry not empty");
}

TEST(list_move_between_lists)
{
	struct item it[4];
	LIST_HEAD(a);
	LIST_HEAD(b);

	init_items(it, 4);
	for (int i = 0; i < 4; i++)
		list_add_tail(&it[i].link, &a);
	list_move(&it[2].link, &b);
	list_move_tail(&it[0].link, &b);
	list_move(&it[3].link, &b);
	assert_list(&a, 1);
	assert_list(&b, 3, 2, 0);
	/* Within one list: rotate the head entry to the tail. */
	list_move_tail(&it[3].link, &b);
	assert_list(&b, 2, 0, 3);
}

TEST(list_splice_init_front_and_tail)
{
	struct item it[6];
	LIST_HEAD(dst);
	LIST_HEAD(src);

	init_items(it, 6);
	list_add_tail(&it[0].link, &dst);
	list_add_tail(&it[1].link, &dst);
	list_add_tail(&it[2].link, &src);
	list_add_tail(&it[3].link, &src);
	list_splice_init(&src, &dst);
	assert_list(&dst, 2, 3, 0, 1);
	assert_list_empty(&src);

	list_add_tail(&it[4].link, &src);
	list_add_tail(&it[5].link, &src);
	list_splice_tail_init(&src, &dst);
	assert_list(&dst, 2, 3, 0, 1, 4, 5);
	assert_list_empty(&src);

	/* Splicing an empty list changes nothing. */
	list_splice_init(&src, &dst);
	list_splice_tail_init(&src, &dst);
	assert_list(&dst, 2, 3, 0, 1, 4, 5);
	assert_list_empty(&src);
}

TEST(list_splice_without_init)
{
	struct item it[3];
	LIST_HEAD(dst);
	LIST_HEAD(src);

	init_items(it, 3);
	list_add_tail(&it[0].link, &dst);
	list_add_tail(&it[1].link, &src);
	list_splice(&src, &dst);
	assert_list(&dst, 1, 0);
	INIT_LIST_HEAD(&src);
	list_add_tail(&it[2].link, &src);
	list_splice_tail(&src, &dst);
	assert_list(&dst, 1, 0, 2);
}

TEST(list_for_each_entry_visits_in_order)
{
	struct item it[5], *pos;
	LIST_HEAD(head);
	int seen = 0;

	init_items(it, 5);
	for (int i = 0; i < 5; i++)
		list_add_tail(&it[i].link, &head);
	list_for_each_entry(pos, &head, link)
		TEST_ASSERT_EQ(pos->id, seen++);
	TEST_ASSERT_EQ(seen, 5);
	TEST_ASSERT(list_entry_is_head(pos, &head, link), "walk did not end on the head");
}

TEST(list_for_each_entry_continue_and_from)
{
	struct item it[5], *pos;
	struct list_head *h;
	LIST_HEAD(head);
	int seen;

	init_items(it, 5);
	for (int i = 0; i < 5; i++)
		list_add_tail(&it[i].link, &head);

	pos = &it[1];
	seen = 2;
	list_for_each_entry_continue(pos, &head, link)
		TEST_ASSERT_EQ(pos->id, seen++);
	TEST_ASSERT_EQ(seen, 5);

	/* Continuing from the head itself walks the whole list. */
	h = &head;
	OPTIMIZER_HIDE_VAR(h); /* not an item: only its link may be touched */
	pos = list_entry(h, struct item, link);
	seen = 0;
	list_for_each_entry_continue(pos, &head, link)
		TEST_ASSERT_EQ(pos->id, seen++);
	TEST_ASSERT_EQ(seen, 5);

	pos = &it[3];
	seen = 3;
	list_for_each_entry_from(pos, &head, link)
		TEST_ASSERT_EQ(pos->id, seen++);
	TEST_ASSERT_EQ(seen, 5);
}

TEST(list_for_each_safe_deletes_during_walk)
{
	struct item it[6], *pos, *n;
	struct list_head *p, *tmp;
	LIST_HEAD(head);
	LIST_HEAD(odd);

	init_items(it, 6);
	for (int i = 0; i < 6; i++)
		list_add_tail(&it[i].link, &head);
	/* Delete (poisoning) the entry under the cursor: the walk must go on. */
	list_for_each_entry_safe(pos, n, &head, link)
		if (pos->id % 3 == 0)
			list_del(&pos->link);
	assert_list(&head, 1, 2, 4, 5);
	/* Move entries to another list in the middle of a walk. */
	list_for_each_safe(p, tmp, &head)
		if (list_entry(p, struct item, link)->id % 2)
			list_move_tail(p, &odd);
	assert_list(&head, 2, 4);
	assert_list(&odd, 1, 5);
	list_for_each_entry_safe_reverse(pos, n, &odd, link)
		list_del_init(&pos->link);
	assert_list_empty(&odd);
}

/*
 * Run @fn in a child process and assert that it dies: the poison pointers
 * must make a use after delete fault (a signal, or ASan's report and exit)
 * rather than quietly rewrite a neighbour.
 */
static void assert_faults(void (*fn)(void), const char *what)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork");
	if (pid == 0) {
		/* The expected fault's report (a sanitizer's) is noise here. */
		int devnull = open("/dev/null", O_WRONLY);

		if (devnull >= 0)
			dup2(devnull, STDERR_FILENO);
		fn();
		_exit(0);
	}
	TEST_ASSERT(waitpid(pid, &status, 0) == pid, "waitpid");
	TEST_ASSERT(!WIFEXITED(status) || WEXITSTATUS(status) != 0, "%s did not fault", what);
}

static void list_del_twice(void)
{
	struct list_head *entry;
	struct item it[2];
	LIST_HEAD(head);

	list_add(&it[0].link, &head);
	list_add(&it[1].link, &head);
	entry = &it[0].link;
	list_del(entry);
	OPTIMIZER_HIDE_VAR(entry); /* the fault is the point, at run time */
	list_del(entry);
}

static void hlist_del_twice(void)
{
	struct hlist_node *node;
	struct item it[2];
	HLIST_HEAD(head);

	hlist_add_head(&it[0].hnode, &head);
	hlist_add_head(&it[1].hnode, &head);
	node = &it[1].hnode;
	hlist_del(node);
	OPTIMIZER_HIDE_VAR(node);
	hlist_del(node);
}

TEST(use_after_del_faults)
{
	assert_faults(list_del_twice, "list_del() twice");
	assert_faults(hlist_del_twice, "hlist_del() twice");
}

/* ---- hlist ------------------------------------------------------------------ */

static void __assert_hlist(struct hlist_head *head, const int *want, int n, int line)
{
	struct hlist_node *pos;
	struct hlist_node **pprev = &head->first;
	int i = 0;

	hlist_for_each(pos, head) {
		struct item *it = hlist_entry(pos, struct item, hnode);

		TEST_ASSERT(pos->pprev == pprev, "line %d: bad pprev at %d", line, i);
		TEST_ASSERT(i < n && it->id == want[i], "line %d: entry %d is %d", line, i, it->id);
		pprev = &pos->next;
		i++;
	}
	TEST_ASSERT(i == n, "line %d: %d entries, want %d", line, i, n);
	TEST_ASSERT_EQ(hlist_empty(head), n == 0);
}

#define assert_hlist(head, ...)                                                                    \
	do {                                                                                       \
		const int __want[] = { __VA_ARGS__ };                                              \
		__assert_hlist(head, __want, ARRAY_SIZE(__want), __LINE__);                        \
	} while (0)

TEST(hlist_add_head_and_del)
{
	struct item it[4];
	struct hlist_head head;

	INIT_HLIST_HEAD(&head);
	init_items(it, 4);
	TEST_ASSERT(hlist_empty(&head), "new head not empty");
	TEST_ASSERT(hlist_unhashed(&it[0].hnode), "new node hashed");
	for (int i = 0; i < 4; i++)
		hlist_add_head(&it[i].hnode, &head);
	assert_hlist(&head, 3, 2, 1, 0);
	TEST_ASSERT(!hlist_unhashed(&it[0].hnode), "added node unhashed");

	hlist_del(&it[3].hnode); /* the first */
	hlist_del(&it[1].hnode); /* a middle one */
	hlist_del(&it[0].hnode); /* the last */
	assert_hlist(&head, 2);
	TEST_ASSERT(it[1].hnode.next == LIST_POISON1, "next not poisoned");
	TEST_ASSERT(it[1].hnode.pprev == LIST_POISON2, "pprev not poisoned");
	hlist_del_init(&it[2].hnode);
	TEST_ASSERT(hlist_empty(&head), "not empty after deleting all");
	TEST_ASSERT(hlist_unhashed(&it[2].hnode), "del_init left it hashed");
	/* hlist_del_init of an unhashed node is a no-op. */
	hlist_del_init(&it[2].hnode);
	TEST_ASSERT(hlist_empty(&head), "second del_init");
}

TEST(hlist_add_behind_and_static_head)
{
	static HLIST_HEAD(head);
	struct item it[3];

	init_items(it, 3);
	TEST_ASSERT(hlist_empty(&head), "HLIST_HEAD not empty");
	hlist_add_head(&it[0].hnode, &head);
	hlist_add_behind(&it[2].hnode, &it[0].hnode);
	hlist_add_behind(&it[1].hnode, &it[0].hnode);
	assert_hlist(&head, 0, 1, 2);
}

TEST(hlist_for_each_entry_and_safe_delete)
{
	struct item it[6], *pos;
	struct hlist_node *n;
	struct hlist_head head = HLIST_HEAD_INIT;
	int seen = 5;

	init_items(it, 6);
	for (int i = 0; i < 6; i++)
		hlist_add_head(&it[i].hnode, &head);
	hlist_for_each_entry(pos, &head, hnode)
		TEST_ASSERT_EQ(pos->id, seen--);
	TEST_ASSERT_EQ(seen, -1);
	TEST_ASSERT(pos == NULL, "walk did not end with NULL");

	hlist_for_each_entry_safe(pos, n, &head, hnode)
		if (pos->id % 2)
			hlist_del(&pos->hnode);
	assert_hlist(&head, 4, 2, 0);
	hlist_for_each_entry_safe(pos, n, &head, hnode)
		hlist_del_init(&pos->hnode);
	TEST_ASSERT(hlist_empty(&head), "not empty");
}

/* ---- RCU variants ---------------------------------------------------------- */

TEST(list_rcu_add_del_keep_next_for_readers)
{
	struct item it[4], *pos;
	LIST_HEAD(head);
	int seen = 0;

	init_items(it, 4);
	list_add_rcu(&it[1].link, &head);
	list_add_tail_rcu(&it[2].link, &head);
	list_add_rcu(&it[0].link, &head);
	list_add_tail_rcu(&it[3].link, &head);
	assert_list(&head, 0, 1, 2, 3);
	list_for_each_entry_rcu(pos, &head, link)
		TEST_ASSERT_EQ(pos->id, seen++);
	TEST_ASSERT_EQ(seen, 4);

	/* A reader standing on 1 while it is deleted still reaches 2 and 3. */
	pos = &it[1];
	list_del_rcu(&it[1].link);
	assert_list(&head, 0, 2, 3);
	TEST_ASSERT(it[1].link.prev == LIST_POISON2, "prev not poisoned");
	seen = 2;
	list_for_each_entry_continue(pos, &head, link)
		TEST_ASSERT_EQ(pos->id, seen++);
	TEST_ASSERT_EQ(seen, 4);
	/* The kernel's optional lockdep condition is accepted. */
	seen = 0;
	list_for_each_entry_srcu(pos, &head, link, true)
		seen++;
	TEST_ASSERT_EQ(seen, 3);
}

TEST(hlist_rcu_add_del_keep_next_for_readers)
{
	struct item it[4], *pos;
	struct hlist_head head = HLIST_HEAD_INIT;
	int seen = 3;

	init_items(it, 4);
	for (int i = 0; i < 4; i++)
		hlist_add_head_rcu(&it[i].hnode, &head);
	assert_hlist(&head, 3, 2, 1, 0);
	hlist_for_each_entry_srcu(pos, &head, hnode)
		TEST_ASSERT_EQ(pos->id, seen--);
	TEST_ASSERT_EQ(seen, -1);

	/* A reader on 2 while it is deleted still walks on to 1 and 0. */
	hlist_del_rcu(&it[2].hnode);
	assert_hlist(&head, 3, 1, 0);
	TEST_ASSERT(it[2].hnode.next == &it[1].hnode, "->next not kept");
	TEST_ASSERT(it[2].hnode.pprev == LIST_POISON2, "pprev not poisoned");
	TEST_ASSERT(!hlist_unhashed(&it[2].hnode), "hlist_del_rcu must not look unhashed");

	hlist_del_init_rcu(&it[3].hnode);
	assert_hlist(&head, 1, 0);
	TEST_ASSERT(hlist_unhashed(&it[3].hnode), "del_init_rcu left it hashed");
	TEST_ASSERT(it[3].hnode.next == &it[1].hnode, "->next not kept");
	hlist_del_init_rcu(&it[3].hnode); /* a second remover sees it gone */
	assert_hlist(&head, 1, 0);

	seen = 0;
	hlist_for_each_entry_rcu(pos, &head, hnode, true)
		seen++;
	TEST_ASSERT_EQ(seen, 2);
}

/*
 * In lockdep builds a walk whose read-side condition is false is reported
 * once as it begins (the kernel's CONFIG_PROVE_RCU_LIST); a true condition
 * and no condition are silent.
 */
TEST(rcu_walk_outside_its_section_reported)
{
	struct item it[2], *pos;
	struct hlist_head head = HLIST_HEAD_INIT;
	LIST_HEAD(list);
	int seen = 0;

#ifndef CONFIG_LOCKDEP
	TEST_REQUIRE(false /* CONFIG_LOCKDEP */);
#endif
	init_items(it, 2);
	for (int i = 0; i < 2; i++) {
		hlist_add_head_rcu(&it[i].hnode, &head);
		list_add_tail_rcu(&it[i].link, &list);
	}
	hlist_for_each_entry_srcu(pos, &head, hnode, true)
		seen++;
	list_for_each_entry_srcu(pos, &list, link)
		seen++;
	expect_reports(REPORT_LOCKDEP, 0);
	hlist_for_each_entry_srcu(pos, &head, hnode, false)
		seen++;
	expect_reports(REPORT_LOCKDEP, 1);
	list_for_each_entry_rcu(pos, &list, link, false)
		seen++;
	expect_reports(REPORT_LOCKDEP, 1);
	TEST_ASSERT_EQ(seen, 8);
}

/*
 * A lockless reader walks two lists while a writer publishes entries and
 * unlinks others.  Entries are never reused (there are no grace periods
 * here), so every entry a walk reaches must be fully initialised: the
 * writer sets ->id with a plain store before publishing, the reader checks
 * it with a plain load, and TSan reports the pair as a race unless the
 * link the reader followed was stored with release.
 *
 * The hlist gains entries at the head and loses its oldest.  The list holds
 * one entry at a time: each new entry is added behind the current one,
 * which is then deleted, so a fresh walk first meets the new entry through
 * the link that list_del_rcu() rewrote.
 */
#define RCU_ITEMS 4096
#define RCU_LIVE 16

struct rcu_walk {
	struct hlist_head head;
	struct list_head list;
	struct item items[RCU_ITEMS];
	int stop;
};

static void rcu_check_entry(struct rcu_walk *w, struct item *pos)
{
	TEST_ASSERT(pos->id == 1000 + (pos - w->items), "entry %ld reached uninitialised",
		    (long)(pos - w->items));
}

static void *rcu_reader(void *arg)
{
	struct rcu_walk *w = arg;
	struct item *pos;

	while (!smp_load_acquire(&w->stop)) {
		hlist_for_each_entry_srcu(pos, &w->head, hnode)
			rcu_check_entry(w, pos);
		list_for_each_entry_rcu(pos, &w->list, link)
			rcu_check_entry(w, pos);
	}
	return NULL;
}

static void rcu_writer_step(struct rcu_walk *w, int i)
{
	struct item *it = &w->items[i];

	it->id = 1000 + i;
	hlist_add_head_rcu(&it->hnode, &w->head);
	if (i >= RCU_LIVE)
		hlist_del_rcu(&w->items[i - RCU_LIVE].hnode);
	if (i == 0) {
		list_add_tail_rcu(&it->link, &w->list);
	} else {
		list_add_rcu(&it->link, &w->items[i - 1].link);
		list_del_rcu(&w->items[i - 1].link);
	}
}

TEST(rcu_walks_race_with_publication)
{
	static struct rcu_walk w;
	pthread_t reader;
	struct item *pos;
	int n = 0;

	INIT_HLIST_HEAD(&w.head);
	INIT_LIST_HEAD(&w.list);
	TEST_ASSERT(!pthread_create(&reader, NULL, rcu_reader, &w), "pthread_create");
	for (int i = 0; i < RCU_ITEMS; i++)
		rcu_writer_step(&w, i);
	smp_store_release(&w.stop, 1);
	pthread_join(reader, NULL);
	assert_list(&w.list, RCU_ITEMS - 1 + 1000);
	hlist_for_each_entry(pos, &w.head, hnode)
		TEST_ASSERT_EQ(pos->id, 1000 + RCU_ITEMS - 1 - n++);
	TEST_ASSERT_EQ(n, RCU_LIVE);
}
