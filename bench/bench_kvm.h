/* SPDX-License-Identifier: GPL-2.0 */
/*
 * For the benchmarks that drive the secondary MMU directly (secondary_mmu,
 * paging, fault_vs_inval, reclaimable): a VM on an mm on a frame pool, and
 * guest RAM as the VMM makes it, an anonymous private mapping of the mm
 * behind memslot 0.
 */
#ifndef NOPIN_BENCH_BENCH_KVM_H
#define NOPIN_BENCH_BENCH_KVM_H

#include "bench/bench.h"
#include "mmu/kvm_host.h"

/* A frame pool of @pool_bytes, an mm on it, and a VM on the mm (kvm_create_vm()'s @flags). */
static inline struct kvm *bench_kvm_create(size_t pool_bytes, unsigned int flags,
					   struct frame_pool **pool, struct mm_struct **mm)
{
	struct kvm *kvm;

	*pool = frame_pool_create(pool_bytes, 0);
	*mm = *pool ? mm_alloc(*pool, "bench") : NULL;
	if (!*mm)
		die_err("pool/mm", -ENOMEM);
	kvm = kvm_create_vm(*mm, flags);
	if (IS_ERR(kvm))
		die_err("kvm_create_vm", PTR_ERR(kvm));
	return kvm;
}

/* Map @pages anonymous pages in @mm and make them slot 0 at @gpa; the hva. */
static inline unsigned long bench_anon_slot(struct kvm *kvm, struct mm_struct *mm, gpa_t gpa,
					    unsigned long pages)
{
	unsigned long hva = vm_mmap(mm, 0, pages * PAGE_SIZE, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, NULL, 0);
	int r;

	if (IS_ERR_VALUE(hva))
		die_err("vm_mmap", (long)hva);
	r = kvm_set_memory_region(kvm, 0, 0, gpa, pages * PAGE_SIZE, hva);
	if (r)
		die_err("kvm_set_memory_region", r);
	return hva;
}

#endif
