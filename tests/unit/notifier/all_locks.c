// SPDX-License-Identifier: GPL-2.0
/*
 * mm_take_all_locks() and mm_drop_all_locks(): every i_mmap_rwsem and
 * anon_vma root of an mm taken for write, each once however many VMAs
 * share it, all dropped again; -EINTR holds nothing; and while a taker
 * holds them, no invalidation of the mm is between its start and end.
 */
#include <fcntl.h>
#include <pthread.h>

#include "base/current.h"
#include "base/sched_point.h"
#include "mm/internal.h"
#include "mm/mmu_notifier.h"
#include "tests/lib/mm_util.h"

#define POOL_SIZE (64UL << 20)
#define MAX_LOCKS 16

/* The distinct rmap locks an mm reaches, found by walking its VMAs. */
struct lock_set {
	struct address_space *mappings[MAX_LOCKS];
	int nr_mappings;
	struct anon_vma *roots[MAX_LOCKS];
	int nr_roots;
	int nr_vmas;
};

static void add_mapping(struct lock_set *set, struct address_space *mapping)
{
	for (int i = 0; i < set->nr_mappings; i++)
		if (set->mappings[i] == mapping)
			return;
	TEST_ASSERT(set->nr_mappings < MAX_LOCKS, "too many mappings");
	set->mappings[set->nr_mappings++] = mapping;
}

static void add_root(struct lock_set *set, struct anon_vma *root)
{
	for (int i = 0; i < set->nr_roots; i++)
		if (set->roots[i] == root)
			return;
	TEST_ASSERT(set->nr_roots < MAX_LOCKS, "too many anon_vma roots");
	set->roots[set->nr_roots++] = root;
}

/* mmap_lock held. */
static void collect_locks(struct mm_struct *mm, struct lock_set *set)
{
	struct vm_area_struct *vma;
	struct anon_vma_chain *avc;

	*set = (struct lock_set){ 0 };
	for_each_vma(mm, vma) {
		set->nr_vmas++;
		if (vma->vm_file)
			add_mapping(set, vma->vm_file->f_mapping);
		list_for_each_entry(avc, &vma->anon_vma_chain, same_vma)
			add_root(set, avc->anon_vma->root);
	}
}

/*
 * Each lock is held for write exactly once: a second down_write would
 * have deadlocked, a reader would show in the count.  Marks as expected.
 */
static void assert_all_held(const struct lock_set *set)
{
	for (int i = 0; i < set->nr_mappings; i++) {
		struct address_space *mapping = set->mappings[i];

		TEST_ASSERT_EQ(atomic_long_read(&mapping->i_mmap_rwsem.count), RWSEM_WRITER_LOCKED);
		TEST_ASSERT(test_bit(AS_MM_ALL_LOCKS, &mapping->flags), "mapping %d not marked", i);
	}
	for (int i = 0; i < set->nr_roots; i++) {
		struct anon_vma *root = set->roots[i];

		TEST_ASSERT_EQ(atomic_long_read(&root->rwsem.count), RWSEM_WRITER_LOCKED);
		TEST_ASSERT(root->all_locks_mark, "anon_vma root %d not marked", i);
	}
}

static void assert_none_held(const struct lock_set *set)
{
	for (int i = 0; i < set->nr_mappings; i++) {
		struct address_space *mapping = set->mappings[i];

		TEST_ASSERT(!rwsem_is_locked(&mapping->i_mmap_rwsem), "mapping %d still locked", i);
		TEST_ASSERT(!test_bit(AS_MM_ALL_LOCKS, &mapping->flags), "mapping %d still marked",
			    i);
	}
	for (int i = 0; i < set->nr_roots; i++) {
		struct anon_vma *root = set->roots[i];

		TEST_ASSERT(!rwsem_is_locked(&root->rwsem), "anon_vma root %d still locked", i);
		TEST_ASSERT(!root->all_locks_mark, "anon_vma root %d still marked", i);
	}
}

/*
 * @nr_pages pages of @file (or anonymous memory if NULL), touched so an
 * anon_vma exists, then split into one VMA per page by giving every other
 * page another protection: many VMAs sharing one lock.
 */
static unsigned long map_split(struct mm_struct *mm, struct file *file, unsigned long nr_pages)
{
	unsigned long len = nr_pages * PAGE_SIZE, addr;
	const char byte = 1;

	if (file)
		addr = test_mmap(mm, 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, file, 0);
	else
		addr = test_mmap_anon(mm, len, PROT_READ | PROT_WRITE);
	/* A private write: an anon_vma for file and anonymous VMAs alike. */
	mm_write(mm, addr, &byte, 1);
	for (unsigned long i = 1; i < nr_pages; i += 2)
		TEST_ASSERT_EQ(do_mprotect(mm, addr + i * PAGE_SIZE, PAGE_SIZE, PROT_READ), 0);
	return addr;
}

struct setup {
	struct frame_pool *pool;
	struct mm_struct *mm;
	struct file *files[2];
};

/* 10,000 VMAs over two files and two anonymous regions. */
static void setup_many_vmas(struct setup *s, unsigned long per_region)
{
	s->pool = test_pool(POOL_SIZE);
	s->mm = test_mm(s->pool);
	for (int i = 0; i < 2; i++) {
		s->files[i] = test_file(s->pool, per_region * PAGE_SIZE, O_RDWR, i);
		map_split(s->mm, s->files[i], per_region);
		map_split(s->mm, NULL, per_region);
	}
}

static void teardown(struct setup *s)
{
	mmput(s->mm);
	for (int i = 0; i < 2; i++)
		fput(s->files[i]);
	test_pool_destroy(s->pool);
}

TEST(takes_each_shared_lock_once_over_10000_vmas)
{
	struct setup s;
	struct lock_set set;
	unsigned int depth;

	setup_many_vmas(&s, 2500);

	mmap_write_lock(s.mm);
	collect_locks(s.mm, &set);
	TEST_ASSERT_EQ(set.nr_vmas, 10000);
	/* Two files; four anon_vma trees (one per region, file ones included). */
	TEST_ASSERT_EQ(set.nr_mappings, 2);
	TEST_ASSERT_EQ(set.nr_roots, 4);
	depth = lockdep_depth();

	TEST_ASSERT_EQ(mm_take_all_locks(s.mm), 0);
	assert_all_held(&set);
#ifdef CONFIG_LOCKDEP
	/* The mutex, and one nest-locked entry per class: not 10,000. */
	TEST_ASSERT(lockdep_depth() <= depth + 3, "depth %u from %u", lockdep_depth(), depth);
#endif
	mm_drop_all_locks(s.mm);

	assert_none_held(&set);
	TEST_ASSERT_EQ(lockdep_depth(), depth);
	mmap_write_unlock(s.mm);

	teardown(&s);
}

/* A fork child shares its parent's files and anon_vma roots: the marks are per object. */
TEST(parent_and_child_take_the_shared_locks_in_turn)
{
	struct setup s;
	struct lock_set pset, cset;
	struct mm_struct *child;

	setup_many_vmas(&s, 16);
	child = test_fork(s.mm);

	for (int round = 0; round < 2; round++) {
		struct mm_struct *mm = round ? child : s.mm;
		struct lock_set *set = round ? &cset : &pset;

		mmap_write_lock(mm);
		collect_locks(mm, set);
		TEST_ASSERT_EQ(mm_take_all_locks(mm), 0);
		assert_all_held(set);
		mm_drop_all_locks(mm);
		assert_none_held(set);
		mmap_write_unlock(mm);
	}
	/* The child's trees have the parent's roots, and its files are the parent's. */
	TEST_ASSERT_EQ(cset.nr_mappings, pset.nr_mappings);
	for (int i = 0; i < pset.nr_roots; i++) {
		bool found = false;

		for (int j = 0; j < cset.nr_roots; j++)
			found |= cset.roots[j] == pset.roots[i];
		TEST_ASSERT(found, "parent root %d not shared with the child", i);
	}

	mmput(child);
	teardown(&s);
}

TEST(pending_interrupt_returns_eintr_holding_nothing)
{
	struct setup s;
	struct lock_set set;
	unsigned int depth;

	setup_many_vmas(&s, 64);
	mmap_write_lock(s.mm);
	collect_locks(s.mm, &set);
	depth = lockdep_depth();

	task_raise_interrupt(current);
	TEST_ASSERT_EQ(mm_take_all_locks(s.mm), -EINTR);
	assert_none_held(&set);
	TEST_ASSERT_EQ(lockdep_depth(), depth);

	task_clear_interrupt(current);
	TEST_ASSERT_EQ(mm_take_all_locks(s.mm), 0);
	assert_all_held(&set);
	mm_drop_all_locks(s.mm);
	mmap_write_unlock(s.mm);

	teardown(&s);
}

struct taker {
	struct mm_struct *mm;
	struct task_struct *task;
	int ret;
};

static void *take_all_locks_thread(void *arg)
{
	struct taker *t = arg;

	WRITE_ONCE(t->task, current);
	mmap_write_lock(t->mm);
	t->ret = mm_take_all_locks(t->mm);
	if (!t->ret)
		mm_drop_all_locks(t->mm);
	mmap_write_unlock(t->mm);
	return NULL;
}

/* Interrupted after the files are locked: the unwind drops exactly those. */
TEST(interrupt_between_passes_drops_the_files_taken)
{
	struct setup s;
	struct lock_set set;
	struct taker t = { 0 };
	pthread_t thread;

	setup_many_vmas(&s, 64);
	mmap_read_lock(s.mm);
	collect_locks(s.mm, &set);
	mmap_read_unlock(s.mm);
	t.mm = s.mm;

	sched_point_arm("mm_take_all_locks:files_locked", NULL);
	TEST_ASSERT_EQ(pthread_create(&thread, NULL, take_all_locks_thread, &t), 0);
	sched_point_wait("mm_take_all_locks:files_locked");
	/* Files held, anon_vmas not yet. */
	for (int i = 0; i < set.nr_mappings; i++)
		TEST_ASSERT(rwsem_is_locked(&set.mappings[i]->i_mmap_rwsem), "file %d", i);
	for (int i = 0; i < set.nr_roots; i++)
		TEST_ASSERT(!rwsem_is_locked(&set.roots[i]->rwsem), "root %d", i);
	task_raise_interrupt(READ_ONCE(t.task));
	sched_point_release("mm_take_all_locks:files_locked");
	pthread_join(thread, NULL);

	TEST_ASSERT_EQ(t.ret, -EINTR);
	mmap_write_lock(s.mm);
	assert_none_held(&set);
	mmap_write_unlock(s.mm);
	teardown(&s);
}

/* ---- no invalidation in flight while the locks are held ---- */

struct counter {
	struct mmu_notifier mn;
	atomic_t in_progress;
};

static int counter_start(struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	atomic_inc(&container_of(mn, struct counter, mn)->in_progress);
	return 0;
}

static void counter_end(struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	atomic_dec(&container_of(mn, struct counter, mn)->in_progress);
}

static const struct mmu_notifier_ops counter_ops = {
	.invalidate_range_start = counter_start,
	.invalidate_range_end = counter_end,
};

struct cow_faulter {
	struct mm_struct *mm;
	unsigned long addr;
};

static void *cow_fault_thread(void *arg)
{
	struct cow_faulter *f = arg;
	const char byte = 2;

	mm_write(f->mm, f->addr, &byte, 1);
	return NULL;
}

/*
 * A COW fault parked between its invalidate_range_start and _end holds
 * mmap_lock for read: a taker cannot get in until it has ended.  Then,
 * with everything held, the counter must read zero.
 */
TEST(no_invalidation_in_flight_while_all_locks_are_held)
{
	struct frame_pool *pool = test_pool(POOL_SIZE);
	struct mm_struct *mm = test_mm(pool);
	struct counter c = { .mn.ops = &counter_ops };
	struct cow_faulter f = { .mm = mm };
	struct mm_struct *child;
	pthread_t faulter;
	const char byte = 1;

	f.addr = test_mmap_anon(mm, PAGE_SIZE, PROT_READ | PROT_WRITE);
	mm_write(mm, f.addr, &byte, 1);
	child = dup_mm(mm, "child"); /* the page is now COW in the parent */
	TEST_ASSERT_EQ(mmu_notifier_register(&c.mn, mm), 0);

	sched_point_arm("fault:cow_after_invalidate_start", NULL);
	TEST_ASSERT_EQ(pthread_create(&faulter, NULL, cow_fault_thread, &f), 0);
	sched_point_wait("fault:cow_after_invalidate_start");
	TEST_ASSERT_EQ(atomic_read(&c.in_progress), 1);
	/* The taker would wait for mmap_lock: it cannot get in between. */
	TEST_ASSERT(!down_write_trylock(&mm->mmap_lock), "mmap_lock free mid-invalidation");
	sched_point_release("fault:cow_after_invalidate_start");

	mmap_write_lock(mm);
	TEST_ASSERT_EQ(mm_take_all_locks(mm), 0);
	TEST_ASSERT_EQ(atomic_read(&c.in_progress), 0);
	mm_drop_all_locks(mm);
	mmap_write_unlock(mm);
	pthread_join(faulter, NULL);

	mmu_notifier_unregister(&c.mn, mm);
	mmput(child);
	mmput(mm);
	test_pool_destroy(pool);
}
