/* SPDX-License-Identifier: GPL-2.0 */
/*
 * For the benchmarks that drive the secondary MMU directly (secondary_mmu,
 * paging, fault_vs_inval): guest RAM as the VMM makes it, an anonymous
 * private mapping of the mm behind memslot 0.
 */
#ifndef NOPIN_BENCH_BENCH_KVM_H
#define NOPIN_BENCH_BENCH_KVM_H

#include "bench/bench.h"
#include "mmu/kvm_host.h"

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
