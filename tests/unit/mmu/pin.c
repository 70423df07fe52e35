// SPDX-License-Identifier: GPL-2.0
/*
 * Pin mode, the baseline the project argues against, beside the default:
 * with the same guest workload, pinned guest memory can be neither
 * reclaimed nor migrated, and the guest stops seeing what the host maps;
 * without pins the host reclaims and migrates it and the guest follows.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mm/migrate.h"
#include "mm/swap.h"
#include "mmu/spte.h"
#include "tests/lib/kvm_util.h"

#define MB (1UL << 20)
#define NR 64

static void guest_touch(struct test_vm *t, unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		vcpu_write64(t->vcpu, t->gpa + i * PAGE_SIZE, i + 1);
}

TEST(pin_mode_pins)
{
	struct test_vm t;

	test_vm_create(&t, 16 * MB, KVM_VM_PIN_MODE);
	TEST_ASSERT(!mm_has_notifiers(t.mm), "pin mode registered a notifier");
	guest_touch(&t, 16);
	TEST_ASSERT_EQ(kvm_stat_read(&t.kvm->stat.pages_pinned), 16L);
	for (unsigned long i = 0; i < 16; i++) {
		struct page *page = mm_lookup_page(t.mm, t.hva + i * PAGE_SIZE);

		TEST_ASSERT(page_maybe_dma_pinned(page), "page %lu not pinned", i);
		put_page(page);
	}
	/* Reading again pins nothing more. */
	TEST_ASSERT_EQ(vcpu_read64(t.vcpu, t.gpa), 1UL);
	TEST_ASSERT_EQ(kvm_stat_read(&t.kvm->stat.pages_pinned), 16L);
	/* Deleting the slot unpins. */
	TEST_ASSERT_EQ(kvm_set_memory_region(t.kvm, 0, 0, t.gpa, 0, 0), 0);
	TEST_ASSERT_EQ(kvm_stat_read(&t.kvm->stat.pages_pinned), 0L);
	test_vm_destroy(&t);
}

/* Without a notifier the guest keeps the old page after the host replaced it. */
TEST(pin_mode_is_incoherent)
{
	struct test_vm t;
	uint64_t v;

	test_vm_create(&t, 16 * MB, KVM_VM_PIN_MODE);
	vcpu_write64(t.vcpu, t.gpa, 0x1111);
	TEST_ASSERT_EQ(do_madvise(t.mm, t.hva, PAGE_SIZE, MADV_DONTNEED), 0);
	mm_read(t.mm, t.hva, &v, sizeof(v));
	TEST_ASSERT_EQ(v, 0UL);
	TEST_ASSERT_EQ(vcpu_read64(t.vcpu, t.gpa), 0x1111UL);
	test_vm_destroy(&t);
}

static long run_reclaim(unsigned int flags, long *left_pinned)
{
	struct test_vm t;
	unsigned long freed;

	test_vm_create(&t, 16 * MB, flags);
	test_swapon(1024);
	guest_touch(&t, NR);
	freed = shrink_node(t.pool->pgdat, 4 * NR);
	*left_pinned = kvm_stat_read(&t.kvm->stat.pages_pinned);
	for (unsigned long i = 0; i < NR; i++)
		TEST_ASSERT_EQ(vcpu_read64(t.vcpu, t.gpa + i * PAGE_SIZE), i + 1);
	test_vm_destroy(&t);
	return freed;
}

TEST(pin_vs_nopin_reclaim)
{
	long pinned, freed_pin, freed_nopin;

	freed_pin = run_reclaim(KVM_VM_PIN_MODE, &pinned);
	TEST_ASSERT_EQ(pinned, (long)NR);
	freed_nopin = run_reclaim(0, &pinned);
	printf("reclaim of %d guest pages: pin mode freed %ld, nopin freed %ld\n", NR, freed_pin,
	       freed_nopin);
	/* Only the page tables and what is not guest RAM can go under pins. */
	TEST_ASSERT(freed_pin < NR / 8, "pin mode freed %ld", freed_pin);
	TEST_ASSERT(freed_nopin >= NR, "nopin freed %ld", freed_nopin);
}

static long run_migrate(unsigned int flags, struct migrate_stats *st)
{
	uint64_t seed = 7;
	struct test_vm t;
	long migrated;

	test_vm_create(&t, 16 * MB, flags);
	guest_touch(&t, NR);
	migrated = migrate_random_pages(t.mm, NR, &seed, st);
	for (unsigned long i = 0; i < NR; i++)
		TEST_ASSERT_EQ(vcpu_read64(t.vcpu, t.gpa + i * PAGE_SIZE), i + 1);
	test_vm_destroy(&t);
	return migrated;
}

TEST(pin_vs_nopin_migration)
{
	struct migrate_stats pin = { 0 }, nopin = { 0 };
	long m_pin = run_migrate(KVM_VM_PIN_MODE, &pin);
	long m_nopin = run_migrate(0, &nopin);

	printf("migration of guest pages: pin mode %ld moved, %lu busy; nopin %ld moved, %lu "
	       "busy\n",
	       m_pin, pin.busy, m_nopin, nopin.busy);
	TEST_ASSERT_EQ(m_pin, 0L);
	TEST_ASSERT(pin.busy > 0, "no pinned page refused");
	TEST_ASSERT(m_nopin > 0, "nopin migrated nothing");
	TEST_ASSERT_EQ(nopin.busy, 0UL);
}
