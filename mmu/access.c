// SPDX-License-Identifier: GPL-2.0
/*
 * The access engine: a vCPU's software TLB and the loads and stores a test
 * or benchmark thread makes by guest-physical address (or, with
 * kvm_vcpu_access_gva(), by guest-virtual address through the guest's
 * tables, mmu/paging.c), through the TLB, the SPTE tables and, on a miss,
 * the fault path.  The soft vCPU (vmm/soft/)
 * makes every guest access the same way:
 *
 *	kvm_vcpu_enter_guest(vcpu);
 *	per access:
 *	  kvm_vcpu_kick_pending()	true: kvm_vcpu_exit_guest(), come back
 *	  kvm_vcpu_translate(&xl)	-EAGAIN: kvm_vcpu_page_fault(), again
 *	  kvm_vcpu_check_frame(&xl)	false: reported
 *	  load or store at xl.hva
 *
 * A thread in guest mode must not block nor run host memory operations: a
 * flush waits for it.  kvm_vcpu_read/write() do all of that and leave guest
 * mode; __kvm_vcpu_read/write() stay in it.
 *
 * Every access is checked against the frame stamp taken when its TLB entry
 * was filled, and that stamp is the one the SPTE was made from: a frame
 * freed or reused under a translation is a sanitizer report, never a
 * silent read.
 */
#include <stdio.h>
#include <string.h>

#include "base/bug.h"
#include "mmu/paging_walk.h"
#include "mmu/spte.h"

struct kvm_tlb_entry *kvm_tlb_entry(struct kvm_vcpu *vcpu, gfn_t vpn)
{
	return &vcpu->tlb[vpn % KVM_TLB_ENTRIES];
}

/* The engine polls kvm_vcpu_kick_pending() between accesses: nothing more to do. */
static void access_kick(struct kvm_vcpu *vcpu)
{
	(void)vcpu;
}

/* Nothing of its own to flush: kvm_vcpu_flush_tlb() clears the software TLB. */
const struct kvm_vcpu_ops kvm_access_vcpu_ops = {
	.kick = access_kick,
};

/*
 * Set the accessed bit (and dirty, for a write) in the leaf, as the
 * hardware walker does: with a cmpxchg that fails if the entry changed
 * (zapped) since it was read.  Returns the entry as set, or 0 if the
 * access is not allowed by it.  A write through a leaf that only write
 * tracking keeps read-only is allowed: the caller emulates it, and D
 * records it for the host page all the same.
 */
static uint64_t spte_mark_access(uint64_t *sptep, bool write)
{
	uint64_t spte = spte_read(sptep);

	for (;;) {
		uint64_t new;

		if (!is_shadow_present_pte(spte) || (write && !spte_mmu_writable(spte)))
			return 0;
		new = spte | PT_ACCESSED_MASK | (write ? PT_DIRTY_MASK : 0);
		if (new == spte || try_cmpxchg_acq_rel(sptep, &spte, new))
			return new;
	}
}

int kvm_vcpu_sptep_frame(struct kvm_vcpu *vcpu, uint64_t *sptep, gpa_t gpa, bool write,
			 struct kvm_spte_frame *f)
{
	struct frame_access acc = { .addr = gpa, .write = write, .who = vcpu->name };
	uint64_t spte = spte_mark_access(sptep, write);

	if (!spte)
		return -EAGAIN;
	f->spte = spte;
	f->tracked = write && !is_writable_pte(spte);
	f->hva = page_address(pfn_to_page(vcpu->kvm->pool, spte_to_pfn(spte)));
	f->stamp = spte_frame_stamp(vcpu->kvm, spte);
	/* A frame gone under its SPTE: the bug of rule 2, retry instead of pin. */
	if (vcpu->ops->describe_access) {
		acc.describe = (void (*)(void *))vcpu->ops->describe_access;
		acc.ctx = vcpu;
	}
	return frame_check_stamp(vcpu->kvm->pool, &f->stamp, &acc) ? 0 : -EFAULT;
}

int kvm_vcpu_spte_frame(struct kvm_vcpu *vcpu, gpa_t gpa, bool write, struct kvm_spte_frame *f)
{
	uint64_t *sptep = kvm_mmu_walk_lockless(vcpu->kvm, gpa_to_gfn(gpa));

	if (!sptep)
		return -EAGAIN;
	return kvm_vcpu_sptep_frame(vcpu, sptep, gpa, write, f);
}

void kvm_tlb_hit(const struct kvm_tlb_entry *e, gpa_t gpa, struct kvm_tlb_xlate *xl)
{
	xl->hva = (char *)e->hva + (gpa & ~PAGE_MASK);
	xl->stamp = e->stamp;
	xl->writable = e->writable;
	xl->track_write = false;
	xl->gpa = gpa;
}

int kvm_vcpu_translate(struct kvm_vcpu *vcpu, gpa_t gpa, bool write, struct kvm_tlb_xlate *xl)
{
	gfn_t gfn = gpa_to_gfn(gpa);
	struct kvm_tlb_entry *e = kvm_tlb_entry(vcpu, gfn);
	struct kvm_spte_frame f;
	int r;

	if (likely(e->valid && e->vpn == gfn && !e->paged && (!write || e->writable))) {
		atomic_long_inc(&vcpu->stat.tlb_hits);
		goto hit;
	}
	atomic_long_inc(&vcpu->stat.tlb_misses);
	r = kvm_vcpu_spte_frame(vcpu, gpa, write, &f);
	if (r) {
		xl->fault_gpa = gpa;
		xl->fault_write = write;
		xl->fault_level = 0;
		return r;
	}
	*e = (struct kvm_tlb_entry){
		.vpn = gfn,
		.gfn = gfn,
		.hva = f.hva,
		.stamp = f.stamp,
		.valid = true,
		.writable = spte_writable_dirty(f.spte),
		.exec = true,
		.user = true,
		.level = PG_LEVEL_4K,
	};
	kvm_tlb_hit(e, gpa, xl);
	xl->track_write = f.tracked;
	return 0;
hit:
	kvm_tlb_hit(e, gpa, xl);
	return 0;
}

bool kvm_vcpu_check_frame(struct kvm_vcpu *vcpu, const struct kvm_tlb_xlate *xl, gpa_t gpa,
			  unsigned int size, bool write)
{
	struct frame_access acc = { .addr = gpa, .size = size, .write = write, .who = vcpu->name };

	if (vcpu->ops->describe_access) {
		acc.describe = (void (*)(void *))vcpu->ops->describe_access;
		acc.ctx = vcpu;
	}

	return frame_check_stamp(vcpu->kvm->pool, &xl->stamp, &acc);
}

/*
 * The secondary fault of a vCPU thread, as KVM takes an EPT violation: out
 * of guest mode (the fault path sleeps and takes locks, which a vCPU in
 * guest mode must not, since a remote flush waits for it), then
 * kvm_mmu_page_fault(), then back in for the caller to retry the access.
 * A vCPU that was outside guest mode (the kvm backend serving its exit)
 * stays outside.  On an error the vCPU stays outside too, as KVM returns
 * to userspace: the caller decides what the refusal means, which may
 * sleep, and calls kvm_vcpu_enter_guest() before it retries.
 */
int kvm_vcpu_page_fault(struct kvm_vcpu *vcpu, gpa_t gpa, bool write)
{
	/* Only this thread moves its vCPU out of guest mode: a plain look is exact. */
	bool in_guest = READ_ONCE(vcpu->mode) != OUTSIDE_GUEST_MODE;
	int r;

	if (in_guest)
		kvm_vcpu_exit_guest(vcpu);
	atomic_long_inc(&vcpu->stat.page_faults);
	r = kvm_mmu_page_fault(vcpu->kvm, vcpu, gpa, write);
	if (!r && in_guest)
		kvm_vcpu_enter_guest(vcpu);
	return r;
}

/*
 * A store to a guest page table: an aligned 8-byte one is a single
 * access, as on the processor, since another vCPU's walk may be setting
 * an A or D bit in the same entry by cmpxchg.
 */
static void guest_table_store(void *hva, const void *buf, size_t len)
{
	uint64_t val;

	if (len != sizeof(val) || ((unsigned long)hva & (sizeof(val) - 1))) {
		memcpy(hva, buf, len);
		return;
	}
	memcpy(&val, buf, sizeof(val));
	WRITE_ONCE(*(uint64_t *)hva, val);
}

/*
 * One access within a page, in guest mode, faulting as often as it takes:
 * by guest-physical address, or, with @w, by guest-virtual address
 * through the guest's tables (which may refuse it: GUEST_WALK_EXCEPTION).
 */
static int kvm_vcpu_access_page(struct kvm_vcpu *vcpu, uint64_t addr, void *buf, size_t len,
				uint32_t access, struct guest_walker *w)
{
	bool write = access & PFERR_WRITE_MASK;
	struct kvm_tlb_xlate xl;
	int r;

	for (;;) {
		if (READ_ONCE(vcpu->mode) == OUTSIDE_GUEST_MODE)
			kvm_vcpu_enter_guest(vcpu);
		/* The "interrupt" check between two guest accesses. */
		if (kvm_vcpu_kick_pending(vcpu)) {
			kvm_vcpu_exit_guest(vcpu);
			continue;
		}
		r = w ? kvm_vcpu_translate_gva(vcpu, addr, access, &xl, w) :
			kvm_vcpu_translate(vcpu, addr, write, &xl);
		if (!r)
			break;
		if (r != -EAGAIN) {
			kvm_vcpu_exit_guest(vcpu);
			return r;
		}
		r = kvm_vcpu_page_fault(vcpu, xl.fault_gpa, xl.fault_write);
		if (r)
			return r;
	}
	if (!kvm_vcpu_check_frame(vcpu, &xl, xl.gpa, len, write))
		return -EFAULT;
	if (!buf)
		return 0;
	if (!write) {
		memcpy(buf, xl.hva, len);
		return 0;
	}
	/* A guest page table the shadow MMU shadows: written first, then the shadows follow. */
	if (xl.track_write) {
		guest_table_store(xl.hva, buf, len);
		kvm_vcpu_track_write(vcpu, xl.gpa, len);
		return 0;
	}
	memcpy(xl.hva, buf, len);
	return 0;
}

static int kvm_vcpu_access(struct kvm_vcpu *vcpu, uint64_t addr, void *buf, size_t len,
			   uint32_t access, struct guest_walker *w)
{
	while (len) {
		size_t n = PAGE_SIZE - (addr & ~PAGE_MASK);
		int r;

		if (n > len)
			n = len;
		r = kvm_vcpu_access_page(vcpu, addr, buf, n, access, w);
		if (r)
			return r;
		addr += n;
		if (buf)
			buf = (char *)buf + n;
		len -= n;
	}
	return 0;
}

int __kvm_vcpu_read(struct kvm_vcpu *vcpu, gpa_t gpa, void *buf, size_t len)
{
	return kvm_vcpu_access(vcpu, gpa, buf, len, 0, NULL);
}

int __kvm_vcpu_write(struct kvm_vcpu *vcpu, gpa_t gpa, const void *buf, size_t len)
{
	return kvm_vcpu_access(vcpu, gpa, (void *)buf, len, PFERR_WRITE_MASK, NULL);
}

int __kvm_vcpu_access_gva(struct kvm_vcpu *vcpu, gva_t gva, void *buf, size_t len, uint32_t access,
			  struct guest_walker *w)
{
	return kvm_vcpu_access(vcpu, gva, buf, len, access, w);
}

int kvm_vcpu_access_gva(struct kvm_vcpu *vcpu, gva_t gva, void *buf, size_t len, uint32_t access,
			struct guest_walker *w)
{
	int r = kvm_vcpu_access(vcpu, gva, buf, len, access, w);

	kvm_vcpu_exit_guest(vcpu);
	return r;
}

int kvm_vcpu_read(struct kvm_vcpu *vcpu, gpa_t gpa, void *buf, size_t len)
{
	int r = __kvm_vcpu_read(vcpu, gpa, buf, len);

	kvm_vcpu_exit_guest(vcpu);
	return r;
}

int kvm_vcpu_write(struct kvm_vcpu *vcpu, gpa_t gpa, const void *buf, size_t len)
{
	int r = __kvm_vcpu_write(vcpu, gpa, buf, len);

	kvm_vcpu_exit_guest(vcpu);
	return r;
}
