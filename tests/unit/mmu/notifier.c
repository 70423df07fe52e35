// SPDX-License-Identifier: GPL-2.0
/*
 * The VM's notifier callbacks, driven by real host operations: zap and
 * flush on invalidation, the sequence and in-progress count, no lock and
 * no sequence change for ranges outside every slot, aging, release at
 * exit, and the dirty bit of an SPTE reaching a file page before
 * writeback, so that data written only through the secondary MMU is in
 * the file afterwards.
 */
#include <fcntl.h>
#include <string.h>

#include "mmu/spte.h"
#include "tests/lib/kvm_util.h"

#define MB (1UL << 20)
#define RW (PROT_READ | PROT_WRITE)

TEST(invalidate_zaps_and_flushes)
{
	struct test_vm t;
	unsigned long seq;
	long flushes;

	test_vm_create(&t, 16 * MB, 0);
	for (int i = 0; i < 8; i++)
		vcpu_write64(t.vcpu, t.gpa + i * PAGE_SIZE, 100 + i);
	seq = t.kvm->mmu_invalidate_seq;
	flushes = kvm_stat_read(&t.kvm->stat.remote_tlb_flushes);

	TEST_ASSERT_EQ(do_madvise(t.mm, t.hva + 2 * PAGE_SIZE, 3 * PAGE_SIZE, MADV_DONTNEED), 0);
	for (int i = 0; i < 8; i++)
		TEST_ASSERT_EQ(is_shadow_present_pte(kvm_mmu_spte(t.kvm, gpa_to_gfn(t.gpa) + i)),
			       i < 2 || i >= 5);
	TEST_ASSERT_EQ(kvm_stat_read(&t.kvm->stat.sptes_zapped), 3L);
	TEST_ASSERT_EQ(kvm_stat_read(&t.kvm->stat.remote_tlb_flushes), flushes + 1);
	TEST_ASSERT_EQ(t.kvm->mmu_invalidate_seq, seq + 1);
	TEST_ASSERT_EQ(t.kvm->mmu_invalidate_in_progress, 0L);
	TEST_ASSERT_EQ(t.kvm->mn_active_invalidate_count, 0L);
	/* The vCPU's TLB went with the SPTEs: it sees the new, zeroed pages. */
	for (int i = 0; i < 8; i++)
		TEST_ASSERT_EQ(vcpu_read64(t.vcpu, t.gpa + i * PAGE_SIZE),
			       (uint64_t)(i < 2 || i >= 5 ? 100 + i : 0));
	test_vm_destroy(&t);
}

/* A range no slot overlaps: no lock, no sequence change, nothing counted but the miss. */
TEST(invalidate_outside_slots)
{
	struct test_vm t;
	unsigned long other, seq;
	long missed;

	test_vm_create(&t, 16 * MB, 0);
	other = test_mmap_anon(t.mm, 4 * PAGE_SIZE, RW);
	mm_fill(t.mm, other, 4 * PAGE_SIZE, 1);
	vcpu_write64(t.vcpu, t.gpa, 1);
	seq = t.kvm->mmu_invalidate_seq;
	missed = kvm_stat_read(&t.kvm->stat.invalidations_missed);
	long hit = kvm_stat_read(&t.kvm->stat.invalidations);

	TEST_ASSERT_EQ(vm_munmap(t.mm, other, 4 * PAGE_SIZE), 0);
	TEST_ASSERT(kvm_stat_read(&t.kvm->stat.invalidations_missed) > missed, "no miss counted");
	TEST_ASSERT_EQ(kvm_stat_read(&t.kvm->stat.invalidations), hit);
	TEST_ASSERT_EQ(t.kvm->mmu_invalidate_seq, seq);
	TEST_ASSERT(is_shadow_present_pte(kvm_mmu_spte(t.kvm, gpa_to_gfn(t.gpa))), "zapped");
	test_vm_destroy(&t);
}

TEST(invalidate_two_slots_one_range)
{
	struct test_vm t;

	test_vm_create(&t, 16 * MB, 0);
	/* A second slot on the second half of the same host range, elsewhere in the guest. */
	test_set_slot(t.kvm, 1, 64 * MB, t.size / 2, t.hva + t.size / 2);
	vcpu_write64(t.vcpu, t.gpa + t.size / 2, 5);
	TEST_ASSERT_EQ(vcpu_read64(t.vcpu, 64 * MB), 5UL);
	TEST_ASSERT_EQ(do_madvise(t.mm, t.hva + t.size / 2, PAGE_SIZE, MADV_DONTNEED), 0);
	TEST_ASSERT_EQ(kvm_mmu_spte(t.kvm, gpa_to_gfn(t.gpa + t.size / 2)), 0UL);
	TEST_ASSERT_EQ(kvm_mmu_spte(t.kvm, gpa_to_gfn(64 * MB)), 0UL);
	test_vm_destroy(&t);
}

TEST(young_callbacks)
{
	struct test_vm t;
	gfn_t gfn;
	long flushes;

	test_vm_create(&t, 16 * MB, 0);
	gfn = gpa_to_gfn(t.gpa);
	TEST_ASSERT_EQ(mmu_notifier_test_young(t.mm, t.hva), 0);
	vcpu_read64(t.vcpu, t.gpa);
	TEST_ASSERT(kvm_mmu_spte(t.kvm, gfn) & PT_ACCESSED_MASK, "not accessed");
	TEST_ASSERT_EQ(mmu_notifier_test_young(t.mm, t.hva), 1);
	TEST_ASSERT_EQ(mmu_notifier_test_young(t.mm, t.hva + PAGE_SIZE), 0);

	/* clear_young clears without flushing. */
	flushes = kvm_stat_read(&t.kvm->stat.remote_tlb_flushes);
	TEST_ASSERT_EQ(mmu_notifier_clear_young(t.mm, t.hva, t.hva + t.size), 1);
	TEST_ASSERT(!(kvm_mmu_spte(t.kvm, gfn) & PT_ACCESSED_MASK), "still accessed");
	TEST_ASSERT_EQ(mmu_notifier_test_young(t.mm, t.hva), 0);
	TEST_ASSERT_EQ(kvm_stat_read(&t.kvm->stat.remote_tlb_flushes), flushes);
	TEST_ASSERT_EQ(mmu_notifier_clear_young(t.mm, t.hva, t.hva + t.size), 0);

	/* A TLB hit sets no bit (hardware's A bit is set on the walk), so flush... */
	vcpu_read64(t.vcpu, t.gpa);
	TEST_ASSERT_EQ(mmu_notifier_test_young(t.mm, t.hva), 0);
	/* ...which clear_flush_young does, when something was young. */
	TEST_ASSERT_EQ(mmu_notifier_clear_flush_young(t.mm, t.hva, t.hva + t.size), 0);
	TEST_ASSERT_EQ(kvm_stat_read(&t.kvm->stat.remote_tlb_flushes), flushes);
	vcpu_read64(t.vcpu, t.gpa + PAGE_SIZE);
	TEST_ASSERT_EQ(mmu_notifier_clear_flush_young(t.mm, t.hva, t.hva + t.size), 1);
	TEST_ASSERT_EQ(kvm_stat_read(&t.kvm->stat.remote_tlb_flushes), flushes + 1);
	/* After the flush the next access walks again and is seen. */
	vcpu_read64(t.vcpu, t.gpa + PAGE_SIZE);
	TEST_ASSERT_EQ(mmu_notifier_test_young(t.mm, t.hva + PAGE_SIZE), 1);
	/* Aging never unmaps. */
	TEST_ASSERT(is_shadow_present_pte(kvm_mmu_spte(t.kvm, gfn)), "aging zapped");
	test_vm_destroy(&t);
}

TEST(release_zaps_everything)
{
	struct test_vm t;
	long flushes;

	test_vm_create(&t, 16 * MB, 0);
	for (int i = 0; i < 16; i++)
		vcpu_write64(t.vcpu, t.gpa + i * PAGE_SIZE, i);
	flushes = kvm_stat_read(&t.kvm->stat.remote_tlb_flushes);
	mmput(t.mm);
	for (int i = 0; i < 16; i++)
		TEST_ASSERT_EQ(kvm_mmu_spte(t.kvm, gpa_to_gfn(t.gpa) + i), 0UL);
	TEST_ASSERT_EQ(kvm_stat_read(&t.kvm->stat.sptes_zapped), 16L);
	TEST_ASSERT_EQ(kvm_stat_read(&t.kvm->stat.remote_tlb_flushes), flushes + 1);
	kvm_destroy_vcpu(t.vcpu);
	kvm_destroy_vm(t.kvm);
	test_pool_destroy(t.pool);
}

/*
 * Data written only through the secondary MMU reaches the file: writeback
 * write-protects the host PTEs (page_mkclean), which invalidates; the zap
 * moves the SPTE's dirty bit to the page before the page is cleaned.  In
 * this host model the write fault that made the SPTE writable dirtied the
 * page too, so the transfer is the second of two guarantees here; spte.c's
 * spte_zap_transfers_dirty tests it alone.
 */
TEST(dirty_transfer_to_file)
{
	const size_t size = 8 * PAGE_SIZE;
	struct test_vm t;
	uint8_t buf[64];

	test_vm_create_file(&t, 16 * MB, size, 3);
	for (int round = 0; round < 2; round++) {
		for (unsigned long i = 0; i < size / PAGE_SIZE; i++) {
			memset(buf, 0x10 * round + i, sizeof(buf));
			/* A read fault first: the SPTE is writable only if the host PTE is. */
			vcpu_read(t.vcpu, t.gpa + i * PAGE_SIZE + 64, buf + 32, 8);
			memset(buf, 0x10 * round + i, sizeof(buf));
			vcpu_write(t.vcpu, t.gpa + i * PAGE_SIZE + 64, buf, sizeof(buf));
		}
		TEST_ASSERT_EQ(filemap_write_and_wait(t.file->f_mapping), 0);
		for (unsigned long i = 0; i < size / PAGE_SIZE; i++) {
			uint8_t got[64];

			test_file_read(t.file, i * PAGE_SIZE + 64, got, sizeof(got));
			for (int j = 0; j < 64; j++)
				TEST_ASSERT(got[j] == (uint8_t)(0x10 * round + i),
					    "round %d page %lu byte %d: %#x", round, i, j, got[j]);
		}
		/* Writeback write-protected the host PTEs, so the SPTEs went. */
		for (unsigned long i = 0; i < size / PAGE_SIZE; i++)
			TEST_ASSERT(!is_writable_pte(kvm_mmu_spte(t.kvm, gpa_to_gfn(t.gpa) + i)),
				    "writable SPTE after writeback");
	}
	TEST_ASSERT(kvm_stat_read(&t.kvm->stat.dirty_transferred) >= (long)(size / PAGE_SIZE),
		    "%ld dirty SPTEs transferred", kvm_stat_read(&t.kvm->stat.dirty_transferred));
	test_vm_destroy(&t);
}
