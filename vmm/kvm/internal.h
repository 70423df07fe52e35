/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kvm backend's own declarations, shared by its files (devkvm.c says
 * which does what).  Everything the backend defines is devkvm_: kvm_ is
 * the secondary MMU's (struct kvm, struct kvm_vcpu) and the uapi's
 * (struct kvm_run, struct kvm_regs), and the backend uses both.
 */
#ifndef NOPIN_VMM_KVM_INTERNAL_H
#define NOPIN_VMM_KVM_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mm/page_alloc.h"
#include "vmm/kvm/devkvm_util.h"
#include "vmm/kvm/stubs.h"
#include "vmm/vm.h"

/* The VM's side: /dev/kvm, the VM fd, the VMM's pages at the top. */
struct devkvm_vm {
	int dev_fd, vm_fd;
	int run_size;
	struct page *top[DEVKVM_TOP_PAGES];
	struct page *pdpt, *pd, *pt; /* mapping DEVKVM_TOP_VA */
	struct kvm_cpuid2 *cpuid;
};

/* What KVM_RUN exited for, kept while the flush stub runs. */
struct devkvm_exit {
	int ret; /* KVM_RUN's: 0 or -errno */
	uint32_t reason;
	uint16_t port;
	uint8_t size;
	bool in;
	uint32_t data;	 /* an OUT's */
	uint64_t cr2;	 /* the #PF stub's OUT: its rax (kvm_run's synced registers) */
	uint64_t detail; /* FAIL_ENTRY: the hardware's reason; INTERNAL_ERROR: the suberror */
};

struct devkvm_vcpu {
	struct vmm_vcpu *vcpu;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_known;
	bool in_guest; /* inside the KVM_RUN that runs guest code (atomic) */
	struct devkvm_exit exit;
	bool exit_unserved;  /* exit is this trip's: the VMM has not served it yet */
	uint64_t flush_gen;  /* the last flush asked of the guest's stub */
	char flush_err[640]; /* why the stub could not run: the vCPU stops */
	/* The vectors whose gate is the guest's own handler (bit per vector). */
	uint32_t guest_gates;
	/*
	 * The guest's #PF handler and stack (HC_SET_EXCEPTION_HANDLER): kept
	 * for the shadow MMU to inject the faults of the guest's own tables
	 * (run.c); the #PF gate stays the VMM's, the secondary fault path.
	 */
	uint64_t guest_pf_rip, guest_pf_stack;
	/* The table the hardware walks (its CR3): the flat root, or a shadow root the vCPU counts. */
	uint64_t hw_cr3;
};

static inline struct devkvm_vcpu *devkvm_vcpu_of(struct vmm_vcpu *vcpu)
{
	return vcpu->backend_data;
}

/* The VMM's page at @va in the top 16 MiB, where the VMM writes it. */
static inline void *devkvm_top_page(struct devkvm_vm *b, unsigned long va)
{
	return page_address(b->top[(va - DEVKVM_TOP_VA) >> PAGE_SHIFT]);
}

static inline struct devkvm_fault_mailbox *devkvm_fault_mailbox_of(struct vmm_vcpu *vcpu)
{
	return devkvm_top_page(vcpu->vm->backend_vm, DEVKVM_FAULT_MAILBOX_VA(vcpu->id));
}

static inline struct devkvm_flush_mailbox *devkvm_flush_mailbox_of(struct vmm_vcpu *vcpu)
{
	return devkvm_top_page(vcpu->vm->backend_vm, DEVKVM_FLUSH_MAILBOX_VA(vcpu->id));
}

/* ---- [fault.c] ---- */

/*
 * The #PF stub's exit, the fault at @cr2: the secondary fault, and in
 * shadow mode the guest's own page faults and its writes to its page
 * tables.  True: the guest goes on; false: @exit says why not.
 */
bool devkvm_handle_page_fault(struct vmm_vcpu *vcpu, uint64_t cr2, struct vmm_exit *exit);
/*
 * Before each entry, out of guest mode: the root of the vCPU's CR3 made,
 * and the hardware on it.  0, or -errno with @exit saying why.
 */
int devkvm_load_mmu(struct vmm_vcpu *vcpu, struct vmm_exit *exit);
/* kvm_vcpu_ops.flush_tlb_guest: the guest's INVLPG, TLB flush or CR3 load. */
void devkvm_kvcpu_flush_tlb_guest(struct kvm_vcpu *kv);

/* ---- [regs.c] ---- */

/*
 * Point the hardware's CR3 (KVM_SET_SREGS) at the root the vCPU counts
 * now (the flat root on the identity CR3), if it walks another.  1 if it
 * did, 0 if it was there, or -errno.  No flush: the caller's.
 */
int devkvm_sync_cr3(struct vmm_vcpu *vcpu);
/* The flat segment a selector of the VMM's GDT names: ring 0's or ring 3's code or data. */
struct kvm_segment devkvm_segment(uint16_t selector);
void devkvm_get_regs(struct vmm_vcpu *vcpu, struct vmm_regs *regs);
void devkvm_set_regs(struct vmm_vcpu *vcpu, const struct vmm_regs *regs);
/* "rip 0x...: mov ..." of the guest instruction at @rip, its bytes read from guest RAM. */
void devkvm_describe_insn(struct vmm_vcpu *vcpu, uint64_t rip, char *buf, size_t len);
/* The same for where the vCPU is now. */
void devkvm_describe_rip(struct vmm_vcpu *vcpu, char *buf, size_t len);

/* ---- [tables.c] ---- */

/*
 * Map the VMM's pages at DEVKVM_TOP_VA under root entry 511 and fill them
 * for @nr_vcpus: GDT, IDT, TSSs, the stubs.  0 or -ENOMEM.
 */
int devkvm_top_create(struct vmm *vm, struct devkvm_vm *b, unsigned int nr_vcpus);
/*
 * What the VMM has at @va in the top 16 MiB, for a message: "the VMM's
 * GDT, read-only to the guest"...  0 for no page, 1 for a read-only one,
 * 2 for a stack.
 */
int devkvm_top_describe(unsigned long va, char *buf, size_t len);
/* Unmap and free them, whatever devkvm_top_create() got to. */
void devkvm_top_destroy(struct vmm *vm, struct devkvm_vm *b);
/*
 * vCPU @i's gate of #DE, #UD or #GP to the guest's handler @rip on the
 * stack @stack (native delivery), or back to the stub for @rip 0.
 * 0 or -EINVAL.
 */
int devkvm_set_guest_gate(struct devkvm_vm *b, unsigned int i, unsigned int vector, uint64_t rip,
			  uint64_t stack);

/* vCPU @i's #PF gate to the stub that keeps the guest's CR2 (@keep_cr2), or the other. */
void devkvm_set_pf_gate(struct devkvm_vm *b, unsigned int i, bool keep_cr2);

/* ---- [flush.c] ---- */

/* Keep what KVM_RUN returned (@ret) and the exit in k->run, to serve later. */
void devkvm_keep_exit(struct devkvm_vcpu *k, int ret, struct devkvm_exit *ge);
/*
 * Let KVM finish the exit it returned (complete an OUT) without running
 * the guest, so the registers are where the guest goes on from.  0, or
 * -EIO with k->flush_err saying why.
 */
int devkvm_settle(struct vmm_vcpu *vcpu);
void devkvm_kvcpu_flush_tlb(struct kvm_vcpu *kv);
void devkvm_flush_before_ack(struct vmm_vcpu *vcpu);

/* ---- [run.c] ---- */

/* SIGUSR1, the kick, ends KVM_RUN with -EINTR. */
void devkvm_kick_signal_init(void);
void devkvm_kvcpu_kick(struct kvm_vcpu *kv);
void devkvm_kick(struct vmm_vcpu *vcpu);
void devkvm_run(struct vmm_vcpu *vcpu, struct vmm_exit *exit);
void devkvm_complete_pio_in(struct vmm_vcpu *vcpu, uint32_t val);

#endif
