// SPDX-License-Identifier: GPL-2.0
/*
 * What rule 4, register under all locks, costs: mm_take_all_locks() +
 * mm_drop_all_locks() over an mm of 1k, 10k and 100k VMAs, and
 * mmu_notifier_register() with it, beside the same registration with
 * LEGACY_REGISTER_WITHOUT_ALL_LOCKS (mmap_lock only), measured in the same
 * run.
 *
 *	bench_all_locks [--csv]
 *
 * The VMAs are as a real address space has them: many VMAs sharing few
 * locks.  A quarter of them in each of two private mappings of two shmem
 * files and two anonymous regions, each region touched once (an anon_vma)
 * and then split into one VMA per page by mprotecting every other page:
 * 2 i_mmap_rwsems and 4 anon_vma roots, whatever the VMA count.  The cost
 * is the walk over the VMAs and their anon_vma chains, two passes to take
 * (files, then anon_vmas) and one to drop; each lock is taken once.
 *
 * Beside it, "walk": one bare for_each_vma() pass reading each VMA's
 * vm_file, the floor any pass pays.  At 100k VMAs the VMAs and their chains
 * (some 40 MB) are out of every cache: what keeps the per-VMA cost near the
 * 1k figure is that the walks prefetch a leaf of VMAs, and their chains,
 * ahead (mm/mm_take_all_locks.c).  Other processes' memory traffic shows in
 * the 100k row first, hence the best of REPEATS.
 *
 * Each figure is the best of REPEATS runs.  Use a Release build: in Debug
 * builds every lock also goes through the lock checker.
 */
#include <stdio.h>
#include <stdlib.h>

#include "base/err.h"
#include "base/legacy.h"
#include "bench/bench.h"
#include "mm/mm.h"
#include "mm/mmu_notifier.h"

#define REPEATS 9
#define POOL_SIZE (256UL << 20)

/* @nr_pages of @file (NULL: anonymous), touched, then one VMA per page. */
static void map_split(struct mm_struct *mm, struct file *file, unsigned long nr_pages)
{
	unsigned long flags = MAP_PRIVATE | (file ? 0 : MAP_ANONYMOUS);
	unsigned long addr;
	char byte = 1;
	long ret;

	addr = vm_mmap(mm, 0, nr_pages * PAGE_SIZE, PROT_READ | PROT_WRITE, flags, file, 0);
	if (IS_ERR_VALUE(addr))
		die_err("vm_mmap", (long)addr);
	ret = access_remote_vm(mm, addr, &byte, 1, FOLL_WRITE);
	if (ret != 1)
		die_err("access_remote_vm", ret);
	for (unsigned long i = 1; i < nr_pages; i += 2) {
		ret = do_mprotect(mm, addr + i * PAGE_SIZE, PAGE_SIZE, PROT_READ);
		if (ret)
			die_err("do_mprotect", ret);
	}
}

struct setup {
	struct frame_pool *pool;
	struct mm_struct *mm;
	struct file *files[2];
};

static void setup_vmas(struct setup *s, unsigned long nr_vmas)
{
	unsigned long per_region = nr_vmas / 4;

	s->pool = frame_pool_create(POOL_SIZE, 0);
	if (!s->pool)
		die_err("frame_pool_create", -ENOMEM);
	s->mm = mm_alloc(s->pool, "bench");
	if (!s->mm)
		die_err("mm_alloc", -ENOMEM);
	for (int i = 0; i < 2; i++) {
		s->files[i] = shmem_file_setup(s->pool, "bench", per_region * PAGE_SIZE);
		if (IS_ERR(s->files[i]))
			die_err("shmem_file_setup", PTR_ERR(s->files[i]));
		map_split(s->mm, s->files[i], per_region);
		map_split(s->mm, NULL, per_region);
	}
}

static void teardown(struct setup *s)
{
	mmput(s->mm);
	for (int i = 0; i < 2; i++)
		fput(s->files[i]);
	frame_pool_destroy(s->pool);
}

/* Best over REPEATS of take + drop, and of the take alone, in ns. */
static void time_take_drop(struct mm_struct *mm, double *take, double *take_drop)
{
	*take = *take_drop = 1e30;
	for (int r = 0; r < REPEATS; r++) {
		double t0, t1, t2;

		mmap_write_lock(mm);
		t0 = now_ns();
		if (mm_take_all_locks(mm))
			die_err("mm_take_all_locks", -EINTR);
		t1 = now_ns();
		mm_drop_all_locks(mm);
		t2 = now_ns();
		mmap_write_unlock(mm);
		*take = min(*take, t1 - t0);
		*take_drop = min(*take_drop, t2 - t0);
	}
}

/* Best over REPEATS of one for_each_vma() pass reading vm_file, in ns. */
static double time_walk(struct mm_struct *mm)
{
	double best = 1e30;

	for (int r = 0; r < REPEATS; r++) {
		struct vm_area_struct *vma;
		unsigned long files = 0;
		double t0;

		mmap_write_lock(mm);
		t0 = now_ns();
		for_each_vma(mm, vma)
			files += !!READ_ONCE(vma->vm_file);
		best = min(best, now_ns() - t0);
		mmap_write_unlock(mm);
		if (!files)
			die_err("for_each_vma", -ENOENT);
	}
	return best;
}

static const struct mmu_notifier_ops bench_ops = { 0 };

/* Best over REPEATS of mmu_notifier_register() (the unregister is not timed). */
static double time_register(struct mm_struct *mm, bool legacy)
{
	double best = 1e30;

	if (legacy)
		mm->legacy |= LEGACY_BIT(LEGACY_REGISTER_WITHOUT_ALL_LOCKS);
	for (int r = 0; r < REPEATS; r++) {
		struct mmu_notifier mn = { .ops = &bench_ops };
		double t0 = now_ns();
		int ret = mmu_notifier_register(&mn, mm);

		best = min(best, now_ns() - t0);
		if (ret)
			die_err("mmu_notifier_register", ret);
		mmu_notifier_unregister(&mn, mm);
	}
	mm->legacy &= ~LEGACY_BIT(LEGACY_REGISTER_WITHOUT_ALL_LOCKS);
	return best;
}

int main(int argc, char **argv)
{
	static const unsigned long sizes[] = { 1000, 10000, 100000 };

	bench_csv_init(&argc, argv);

	/* 100k VMAs is past the default vm.max_map_count, as it is on Linux. */
	sysctl_max_map_count = 200000;

	printf("mm_take_all_locks: 2 files and 4 anon_vma roots shared by every VMA; best of %d\n",
	       REPEATS);
	printf("%8s %14s %14s %12s %12s %18s %16s\n", "VMAs", "take (us)", "take+drop (us)",
	       "ns per VMA", "walk ns/VMA", "register (us)", "register, legacy");
	for (unsigned int i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct setup s;
		double take, take_drop, walk, reg, reg_legacy;

		setup_vmas(&s, sizes[i]);
		walk = time_walk(s.mm);
		time_take_drop(s.mm, &take, &take_drop);
		reg = time_register(s.mm, false);
		reg_legacy = time_register(s.mm, true);
		printf("%8lu %14.1f %14.1f %12.1f %12.1f %18.1f %16.1f\n", sizes[i], take / 1e3,
		       take_drop / 1e3, take_drop / sizes[i], walk / sizes[i], reg / 1e3,
		       reg_legacy / 1e3);
		bench_csv_n("all_locks", sizes[i], "take_us", take / 1e3);
		bench_csv_n("all_locks", sizes[i], "take_drop_us", take_drop / 1e3);
		bench_csv_n("all_locks", sizes[i], "ns_per_vma", take_drop / sizes[i]);
		bench_csv_n("all_locks", sizes[i], "walk_ns_per_vma", walk / sizes[i]);
		bench_csv_n("all_locks", sizes[i], "register_us", reg / 1e3);
		bench_csv_n("all_locks", sizes[i], "register_legacy_us", reg_legacy / 1e3);
		teardown(&s);
	}
	printf("walk: one bare for_each_vma() pass, the floor of each of take+drop's three.\n");
	printf("register, legacy: mmap_lock only (LEGACY_REGISTER_WITHOUT_ALL_LOCKS),\n"
	       "the registration rule 4, register under all locks, forbids; its time is\n"
	       "what the locks add to.\n");
	return 0;
}
