/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the kvm backend shows of a vCPU beyond struct vmm_backend_ops, for
 * tests that check the remote flush: the mailbox its guest flush handler
 * writes, and whether the vCPU is inside KVM_RUN.
 *
 * A remote flush kicks the vCPU out of KVM_RUN; before the vCPU acknowledges
 * the kick (kvm_vcpu_exit_guest()), it serves the flush request: it writes a
 * new number to req and sets the guest's registers to enter a stub in the
 * VMM's own pages, which reloads CR3, copies req to ack and counts the run;
 * once the stub has returned, a trampoline writes a port.  So
 * kvm_flush_remote_tlbs() returns only after the stub ran.
 */
#ifndef NOPIN_VMM_KVM_KVM_BACKEND_H
#define NOPIN_VMM_KVM_KVM_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

struct vmm_vcpu;

/* At the bottom of each vCPU's IST2 stack page; read it with atomic loads. */
struct kvm_flush_mailbox {
	uint64_t req;	     /* the VMM's: the flush it asks for before it enters the stub */
	uint64_t ack;	     /* the stub's: req, copied once CR3 is reloaded */
	uint64_t runs;	     /* the stub's: how many times it ran */
	uint64_t resume_rip; /* the VMM's: where the guest goes on after the trampoline */
	uint64_t trampoline; /* the VMM's: where the stub returns to acknowledge */
};

const struct kvm_flush_mailbox *kvm_backend_flush_mailbox(struct vmm_vcpu *vcpu);
/* Is @vcpu's thread inside the KVM_RUN that runs guest code (not a flush handler's)? */
bool kvm_backend_in_guest(struct vmm_vcpu *vcpu);

#endif
