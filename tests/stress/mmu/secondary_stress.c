// SPDX-License-Identifier: GPL-2.0
/*
 * Integrity of guest memory behind a secondary MMU that pins nothing.
 *
 * Two access-engine vCPUs write and read back guest RAM twice the size of
 * the frame pool - an anonymous slot and a slot on a shared file - while
 * host threads reclaim (to swap and to the file), migrate, age and
 * mprotect the same memory.  Each vCPU owns every other page and keeps a
 * shadow of what it last wrote; every read must return exactly that.
 * A write that the host refuses (the range is read-only for a moment) is
 * retried later, never half-done.
 *
 * The frame sanitizer checks every guest access against the frame its
 * translation was made from, so a stale SPTE or TLB entry is a report and
 * fails the test even if the data happened to match.  At the end the
 * counters must show that invalidations, zaps, remote flushes and fault
 * retries all happened.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/kthread.h"
#include "base/prandom.h"
#include "mm/migrate.h"
#include "mm/swap.h"
#include "mmu/spte.h"
#include "tests/lib/kvm_util.h"

#define MB (1UL << 20)
#define RW (PROT_READ | PROT_WRITE)
#define POOL_SIZE (8 * MB)
#define ANON_SIZE (12 * MB)
#define FILE_SIZE (4 * MB)
#define ANON_GPA 0x100000UL
#define FILE_GPA (ANON_GPA + ANON_SIZE)
#define NR_PAGES ((ANON_SIZE + FILE_SIZE) / PAGE_SIZE)
#define VCPU_OPS 5000
#define HOST_MIN_ROUNDS 50

struct stress {
	struct frame_pool *pool;
	struct mm_struct *mm;
	struct kvm *kvm;
	struct file *file;
	unsigned long anon_hva, file_hva;
	uint64_t shadow[NR_PAGES]; /* page i belongs to vCPU i % 2 */
	int stop;
	int vcpus_done;
	long host_rounds[4];
};

struct vcpu_thread {
	struct stress *s;
	struct kvm_vcpu *vcpu;
	int id;
	long writes, reads, refused;
};

static gpa_t page_gpa(unsigned long i)
{
	return ANON_GPA + i * PAGE_SIZE + 8 * (i % 500);
}

static int vcpu_fn(void *data)
{
	struct vcpu_thread *v = data;
	struct stress *s = v->s;
	uint64_t seed = 0x1234 + v->id;

	for (long n = 0; n < VCPU_OPS; n++) {
		unsigned long i = (prandom_u64(&seed) % (NR_PAGES / 2)) * 2 + v->id;
		uint64_t val = ((uint64_t)v->id << 56) | ((uint64_t)n << 20) | i, got = 0;
		int r;

		r = __kvm_vcpu_write(v->vcpu, page_gpa(i), &val, sizeof(val));
		if (r == -EFAULT) {
			/* Write-protected for the moment by the mprotect thread. */
			v->refused++;
		} else {
			TEST_ASSERT(!r, "vCPU %d write of page %lu: %d", v->id, i, r);
			s->shadow[i] = val;
			v->writes++;
		}
		r = __kvm_vcpu_read(v->vcpu, page_gpa(i), &got, sizeof(got));
		TEST_ASSERT(!r, "vCPU %d read of page %lu: %d", v->id, i, r);
		TEST_ASSERT(got == s->shadow[i], "vCPU %d page %lu: read %#lx, wrote %#lx", v->id,
			    i, (unsigned long)got, (unsigned long)s->shadow[i]);
		v->reads++;
	}
	kvm_vcpu_exit_guest(v->vcpu);
	fetch_add(&s->vcpus_done, 1);
	return 0;
}

/* Which host threads run: NOPIN_STRESS_HOST=bits (reclaim 1, migrate 2, aging 4, mprotect 8). */
static unsigned int host_mask(void)
{
	const char *env = getenv("NOPIN_STRESS_HOST");

	return env ? strtoul(env, NULL, 0) : 0xf;
}

static bool host_should_stop(struct stress *s, int who)
{
	return smp_load_acquire(&s->stop) && s->host_rounds[who] >= HOST_MIN_ROUNDS;
}

static int reclaim_fn(void *data)
{
	struct stress *s = data;

	while (!host_should_stop(s, 0)) {
		shrink_node(s->pool->pgdat, 64);
		s->host_rounds[0]++;
	}
	return 0;
}

static int migrate_fn(void *data)
{
	struct stress *s = data;
	uint64_t seed = 99;

	while (!host_should_stop(s, 1)) {
		migrate_random_pages(s->mm, 16, &seed, NULL);
		s->host_rounds[1]++;
	}
	return 0;
}

static int aging_fn(void *data)
{
	struct stress *s = data;

	while (!host_should_stop(s, 2)) {
		mmu_notifier_clear_flush_young(s->mm, s->anon_hva, s->anon_hva + ANON_SIZE);
		mmu_notifier_clear_young(s->mm, s->file_hva, s->file_hva + FILE_SIZE);
		s->host_rounds[2]++;
	}
	return 0;
}

static int mprotect_fn(void *data)
{
	struct stress *s = data;
	uint64_t seed = 7;

	while (!host_should_stop(s, 3)) {
		unsigned long off = (prandom_u64(&seed) % (ANON_SIZE / PAGE_SIZE - 16)) * PAGE_SIZE;

		TEST_ASSERT_EQ(do_mprotect(s->mm, s->anon_hva + off, 16 * PAGE_SIZE, PROT_READ), 0);
		sched_yield();
		TEST_ASSERT_EQ(do_mprotect(s->mm, s->anon_hva + off, 16 * PAGE_SIZE, RW), 0);
		s->host_rounds[3]++;
	}
	return 0;
}

static void setup(struct stress *s)
{
	test_swapon(4 * NR_PAGES);
	s->pool = test_pool(POOL_SIZE);
	reclaim_enable(s->pool);
	s->mm = test_mm(s->pool);
	s->file = test_file(s->pool, FILE_SIZE, O_RDWR, 5);
	s->kvm = test_kvm(s->mm, 0);
	/* A retry now and then for certain; the collisions come on their own. */
	s->kvm->fault_inject_retry_interval = 101;
	s->anon_hva = test_mmap_anon(s->mm, ANON_SIZE, RW);
	s->file_hva = test_mmap(s->mm, 0, FILE_SIZE, RW, MAP_SHARED, s->file, 0);
	test_set_slot(s->kvm, 0, ANON_GPA, ANON_SIZE, s->anon_hva);
	test_set_slot(s->kvm, 1, FILE_GPA, FILE_SIZE, s->file_hva);
}

TEST(secondary_mmu_integrity)
{
	static struct stress s;
	struct vcpu_thread v[2];
	struct kthread *vk[2], *hk[4];
	struct kvm_stat *st;

	setup(&s);
	/* The file slot starts as the file's pattern: seed the shadow from it. */
	for (unsigned long i = 0; i < NR_PAGES; i++) {
		if (page_gpa(i) >= FILE_GPA)
			test_file_read(s.file, page_gpa(i) - FILE_GPA, &s.shadow[i], 8);
	}
	static int (*const host_fns[4])(void *) = { reclaim_fn, migrate_fn, aging_fn, mprotect_fn };
	static const char *const host_names[4] = { "reclaim", "migrate", "aging", "mprotect" };
	unsigned int mask = host_mask();

	for (int i = 0; i < 4; i++) {
		hk[i] = NULL;
		if (mask & (1u << i))
			hk[i] = kthread_run(host_fns[i], &s, "%s", host_names[i]);
		else
			s.host_rounds[i] = HOST_MIN_ROUNDS;
	}
	for (int i = 0; i < 2; i++) {
		v[i] = (struct vcpu_thread){ .s = &s, .id = i, .vcpu = test_vcpu(s.kvm, i) };
		vk[i] = kthread_run(vcpu_fn, &v[i], "vcpu%d", i);
	}
	for (int i = 0; i < 2; i++)
		kthread_join(vk[i]);
	smp_store_release(&s.stop, 1);
	for (int i = 0; i < 4; i++)
		if (hk[i])
			kthread_join(hk[i]);

	/* Everything, once more, through the guest and through the host. */
	for (unsigned long i = 0; i < NR_PAGES; i++) {
		uint64_t host;

		TEST_ASSERT_EQ(vcpu_read64(v[i % 2].vcpu, page_gpa(i)), s.shadow[i]);
		mm_read(s.mm, page_gpa(i) - ANON_GPA + s.anon_hva, &host, 8);
		if (page_gpa(i) < FILE_GPA)
			TEST_ASSERT_EQ(host, s.shadow[i]);
	}
	TEST_ASSERT_EQ(filemap_write_and_wait(s.file->f_mapping), 0);
	for (unsigned long i = 0; i < NR_PAGES; i++) {
		uint64_t disk;

		if (page_gpa(i) < FILE_GPA)
			continue;
		test_file_read(s.file, page_gpa(i) - FILE_GPA, &disk, 8);
		TEST_ASSERT_EQ(disk, s.shadow[i]);
	}

	st = &s.kvm->stat;
	printf("vCPU writes %ld+%ld (refused %ld+%ld), reads %ld+%ld; host rounds: reclaim %ld, "
	       "migrate %ld, aging %ld, mprotect %ld\n",
	       v[0].writes, v[1].writes, v[0].refused, v[1].refused, v[0].reads, v[1].reads,
	       s.host_rounds[0], s.host_rounds[1], s.host_rounds[2], s.host_rounds[3]);
	printf("invalidations %ld (missed %ld), zapped %ld, flushes %ld, faults %ld, retries %ld "
	       "(early %ld, injected %ld), kicks acked %ld+%ld, young cleared %ld, dirty moved "
	       "%ld\n",
	       kvm_stat_read(&st->invalidations), kvm_stat_read(&st->invalidations_missed),
	       kvm_stat_read(&st->sptes_zapped), kvm_stat_read(&st->remote_tlb_flushes),
	       kvm_stat_read(&st->faults), kvm_stat_read(&st->pf_retries),
	       kvm_stat_read(&st->pf_retries_early), kvm_stat_read(&st->pf_retries_injected),
	       kvm_stat_read(&v[0].vcpu->stat.kicks_acked),
	       kvm_stat_read(&v[1].vcpu->stat.kicks_acked), kvm_stat_read(&st->young_cleared),
	       kvm_stat_read(&st->dirty_transferred));
	TEST_ASSERT(kvm_stat_read(&st->invalidations) > 0, "no invalidation");
	TEST_ASSERT(kvm_stat_read(&st->sptes_zapped) > 0, "no zap");
	TEST_ASSERT(kvm_stat_read(&st->remote_tlb_flushes) > 0, "no flush");
	TEST_ASSERT(kvm_stat_read(&st->pf_retries) > 0, "no retry");
	TEST_ASSERT(atomic_long_read(&s.pool->pgdat->stats.pswpout) > 0, "nothing swapped");

	for (int i = 0; i < 2; i++)
		kvm_destroy_vcpu(v[i].vcpu);
	kvm_destroy_vm(s.kvm);
	mmput(s.mm);
	fput(s.file);
	test_pool_destroy(s.pool);
}
