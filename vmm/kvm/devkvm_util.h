/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small wrapper over the /dev/kvm ioctls, in the manner of the KVM
 * selftests' library: __devkvm_ioctl() returns the raw result with errno
 * set; devkvm_ioctl() returns 0 or -errno and leaves, in @err, a message
 * naming the ioctl and the error.  devkvm_, as the rest of the backend
 * (vmm/README.md): kvm_ is the secondary MMU's and the uapi's.
 */
#ifndef NOPIN_VMM_KVM_DEVKVM_UTIL_H
#define NOPIN_VMM_KVM_DEVKVM_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/ioctl.h>

#include <linux/kvm.h>

struct devkvm_err {
	char msg[256];
};

static inline int __devkvm_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg);
}

int _devkvm_ioctl(int fd, unsigned long cmd, const char *name, void *arg, struct devkvm_err *err);
#define devkvm_ioctl(fd, cmd, arg, err) _devkvm_ioctl(fd, cmd, #cmd, (void *)(arg), err)

/*
 * Open /dev/kvm and check what the backend needs (API 12, user memory,
 * immediate_exit, CPUID, vCPU events): the fd, or -errno with @err saying
 * what is missing.
 */
int devkvm_open(struct devkvm_err *err);
/* The same check, for a choice of backend: true if the kvm backend can run here. */
bool devkvm_usable(struct devkvm_err *err);
/*
 * Does this CPU have hardware virtualization (vmx or svm in /proc/cpuinfo)?
 * A /dev/kvm without it is a paravirtual KVM, which runs guest code through
 * an emulator at about a million instructions a second and stops on SSE:
 * --backend auto takes the soft vCPU there.  false with @err saying why.
 */
bool devkvm_hardware(struct devkvm_err *err);

#endif
