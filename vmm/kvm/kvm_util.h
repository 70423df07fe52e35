/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small wrapper over the /dev/kvm ioctls, in the manner of the KVM
 * selftests' library: __kvm_ioctl() and friends return the raw result with
 * errno set; kvm_ioctl() returns 0 or -errno and leaves, in @err, a message
 * naming the ioctl and the error.
 */
#ifndef NOPIN_VMM_KVM_KVM_UTIL_H
#define NOPIN_VMM_KVM_KVM_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/ioctl.h>

#include <linux/kvm.h>

struct kvm_err {
	char msg[256];
};

static inline int __kvm_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg);
}

int _kvm_ioctl(int fd, unsigned long cmd, const char *name, void *arg, struct kvm_err *err);
#define kvm_ioctl(fd, cmd, arg, err) _kvm_ioctl(fd, cmd, #cmd, (void *)(arg), err)

/*
 * Open /dev/kvm and check what the backend needs (API 12, user memory,
 * immediate_exit, CPUID, vCPU events): the fd, or -errno with @err saying
 * what is missing.
 */
int kvm_open_dev(struct kvm_err *err);
/* The same check, for a choice of backend: true if the kvm backend can run here. */
bool kvm_dev_usable(struct kvm_err *err);

#endif
