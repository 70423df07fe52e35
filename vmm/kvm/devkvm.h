/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the kvm backend shows of a vCPU beyond struct vmm_backend_ops, for
 * tests that check the remote flush: the mailbox its guest flush stub
 * writes (stubs.h), whether the vCPU is inside KVM_RUN, and an exception
 * KVM holds for it.
 *
 * A remote flush kicks the vCPU out of KVM_RUN; before the vCPU acknowledges
 * the kick (kvm_vcpu_exit_guest()), it serves the flush request: it writes a
 * new number to req and sets the guest's registers to enter a stub in the
 * VMM's own pages, which reloads CR3, copies req to ack and counts the run;
 * once the stub has returned, a trampoline writes a port.  So
 * kvm_flush_remote_tlbs() returns only after the stub ran (flush.c).
 */
#ifndef NOPIN_VMM_KVM_DEVKVM_H
#define NOPIN_VMM_KVM_DEVKVM_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/kvm/stubs.h"

struct vmm_vcpu;

/* @vcpu's flush mailbox, at the bottom of its IST2 stack page; read it with atomic loads. */
const struct devkvm_flush_mailbox *devkvm_vcpu_flush_mailbox(struct vmm_vcpu *vcpu);
/* Is @vcpu's thread inside the KVM_RUN that runs guest code (not a flush handler's)? */
bool devkvm_vcpu_in_guest(struct vmm_vcpu *vcpu);
/*
 * Make KVM hold exception @vector (error code @error_code) for @vcpu's
 * next entry, as when an exit cut its delivery short.  0 or -errno.
 */
int devkvm_vcpu_hold_exception(struct vmm_vcpu *vcpu, unsigned int vector, uint32_t error_code);

#endif
