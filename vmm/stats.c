// SPDX-License-Identifier: GPL-2.0
/*
 * --stats: the MMU mode, and what the secondary MMU, the guest's paging,
 * the host's reclaim and the sanitizer did during the run, and for `nopin
 * exec` the program's system calls, as a kvm_stat-like table or as JSON.
 */
#include <stddef.h>
#include <stdio.h>

#include "base/report.h"
#include "mm/page_alloc.h"
#include "mm/swap.h"
#include "vmm/exec.h"
#include "vmm/vm.h"

struct stat_item {
	const char *name;
	long value;
};

static const char *const event_names[] = {
	[MMU_NOTIFY_UNMAP] = "invalidations_unmap",
	[MMU_NOTIFY_CLEAR] = "invalidations_clear",
	[MMU_NOTIFY_PROTECTION_VMA] = "invalidations_protection_vma",
	[MMU_NOTIFY_PROTECTION_PAGE] = "invalidations_protection_page",
	[MMU_NOTIFY_SOFT_DIRTY] = "invalidations_soft_dirty",
	[MMU_NOTIFY_RELEASE] = "invalidations_release",
	[MMU_NOTIFY_MIGRATE] = "invalidations_migrate",
	[MMU_NOTIFY_EXCLUSIVE] = "invalidations_exclusive",
};

#define MAX_ITEMS 64

/* One counter of struct kvm_vcpu_stat, at @offset, summed over the vCPUs. */
static long vcpu_stat_sum(struct vmm *vm, size_t offset)
{
	long sum = 0;

	for (unsigned int i = 0; i < vm->cfg.nr_vcpus; i++) {
		struct kvm_vcpu *kv = vm->vcpus[i].kvcpu;

		if (kv)
			sum += atomic_long_read((atomic_long_t *)((char *)&kv->stat + offset));
	}
	return sum;
}

static int collect(struct vmm *vm, struct stat_item *it)
{
	struct kvm_stat *ks = &vm->kvm->stat;
	struct reclaim_stats *rs = &vm->pool->pgdat->stats;
	int n = 0;

#define ITEM(nm, v) (it[n++] = (struct stat_item){ nm, (long)(v) })
	ITEM("secondary_faults", atomic_long_read(&ks->faults));
	ITEM("sptes_installed", atomic_long_read(&ks->pf_fixed));
	ITEM("fault_retries", atomic_long_read(&ks->pf_retries));
	ITEM("fault_retries_precheck", atomic_long_read(&ks->pf_retries_early));
	ITEM("invalidations", atomic_long_read(&ks->invalidations));
	for (unsigned int e = 0; e < ARRAY_SIZE(event_names); e++)
		ITEM(event_names[e], atomic_long_read(&ks->invalidations_by_event[e]));
	ITEM("invalidations_no_slot", atomic_long_read(&ks->invalidations_missed));
	ITEM("sptes_zapped", atomic_long_read(&ks->sptes_zapped));
	ITEM("remote_tlb_flushes", atomic_long_read(&ks->remote_tlb_flushes));
	ITEM("young_cleared", atomic_long_read(&ks->young_cleared));
	ITEM("dirty_transferred", atomic_long_read(&ks->dirty_transferred));
	ITEM("pages_pinned", atomic_long_read(&ks->pages_pinned));
	ITEM("guest_walks", vcpu_stat_sum(vm, offsetof(struct kvm_vcpu_stat, guest_walks)));
	ITEM("guest_page_faults",
	     vcpu_stat_sum(vm, offsetof(struct kvm_vcpu_stat, guest_page_faults)));
	ITEM("guest_cr3_loads", vcpu_stat_sum(vm, offsetof(struct kvm_vcpu_stat, cr3_loads)));
	ITEM("guest_invlpgs", vcpu_stat_sum(vm, offsetof(struct kvm_vcpu_stat, invlpgs)));
	ITEM("tlb_misses", vcpu_stat_sum(vm, offsetof(struct kvm_vcpu_stat, tlb_misses)));
	ITEM("shadow_faults", vcpu_stat_sum(vm, offsetof(struct kvm_vcpu_stat, shadow_faults)));
	ITEM("shadow_cached_root_hits",
	     vcpu_stat_sum(vm, offsetof(struct kvm_vcpu_stat, cached_root_hits)));
	ITEM("shadow_tracked_writes",
	     vcpu_stat_sum(vm, offsetof(struct kvm_vcpu_stat, tracked_writes)));
	ITEM("shadow_pages", atomic_long_read(&ks->shadow_pages));
	ITEM("shadow_pages_zapped", atomic_long_read(&ks->shadow_pages_zapped));
	ITEM("shadow_pages_freed", atomic_long_read(&ks->shadow_pages_freed));
	ITEM("shadow_sptes_zapped", atomic_long_read(&ks->shadow_sptes_zapped));
	ITEM("swap_outs", atomic_long_read(&rs->pswpout));
	ITEM("swap_ins", atomic_long_read(&rs->pswpin));
	ITEM("reclaimed", atomic_long_read(&rs->pgsteal));
	ITEM("file_writebacks", atomic_long_read(&rs->pgwriteback));
	ITEM("kswapd_runs", atomic_long_read(&rs->kswapd_runs));
	ITEM("direct_reclaims", atomic_long_read(&rs->direct_calls));
	for (int k = 0; k < NR_PRESSURE_KINDS; k++) {
		struct pressure_agent *a = &vm->pressure.agents[k];

		if (a->enabled)
			ITEM(pressure_stat_name(k), k == PRESSURE_FORK ? a->rounds : a->pages);
	}
	ITEM("sanitizer_reports", report_total());
#undef ITEM
	return n;
}

void vmm_print_stats(struct vmm *vm, FILE *f, bool json)
{
	struct stat_item items[MAX_ITEMS];
	int n = collect(vm, items);
	const char *mode = kvm_mmu_mode_name(vm->kvm->mmu_mode);

	if (json) {
		fprintf(f, "{\"mmu_mode\": \"%s\"", mode);
		for (int i = 0; i < n; i++)
			fprintf(f, ", \"%s\": %ld", items[i].name, items[i].value);
		vmm_exec_print_stats(vm, f, true);
		fprintf(f, "}\n");
		return;
	}
	fprintf(f, "%-32s %14s\n", "mmu_mode", mode);
	fprintf(f, "%-32s %14s\n", "event", "count");
	for (int i = 0; i < n; i++)
		fprintf(f, "%-32s %14ld\n", items[i].name, items[i].value);
	vmm_exec_print_stats(vm, f, false);
}
