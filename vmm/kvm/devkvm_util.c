// SPDX-License-Identifier: GPL-2.0
/* The /dev/kvm wrapper; see devkvm_util.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vmm/kvm/devkvm_util.h"

int _devkvm_ioctl(int fd, unsigned long cmd, const char *name, void *arg, struct devkvm_err *err)
{
	int ret = __devkvm_ioctl(fd, cmd, arg);

	if (ret < 0) {
		ret = -errno;
		snprintf(err->msg, sizeof(err->msg), "%s failed: %s", name, strerror(errno));
	}
	return ret;
}

static const struct {
	int cap;
	const char *name;
} devkvm_needed_caps[] = {
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	{ KVM_CAP_VCPU_EVENTS, "KVM_CAP_VCPU_EVENTS" },
	{ KVM_CAP_SYNC_REGS, "KVM_CAP_SYNC_REGS" }, /* the #PF stub's CR2, in rax */
};

int devkvm_open(struct devkvm_err *err)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC), ret;

	if (fd < 0) {
		ret = -errno;
		snprintf(err->msg, sizeof(err->msg), "cannot open /dev/kvm: %s", strerror(errno));
		return ret;
	}
	ret = __devkvm_ioctl(fd, KVM_GET_API_VERSION, NULL);
	if (ret != KVM_API_VERSION) {
		snprintf(err->msg, sizeof(err->msg), "/dev/kvm speaks API %d, not %d", ret,
			 KVM_API_VERSION);
		close(fd);
		return -ENOTSUP;
	}
	for (size_t i = 0; i < sizeof(devkvm_needed_caps) / sizeof(devkvm_needed_caps[0]); i++) {
		if (__devkvm_ioctl(fd, KVM_CHECK_EXTENSION,
				   (void *)(long)devkvm_needed_caps[i].cap) <= 0) {
			snprintf(err->msg, sizeof(err->msg), "/dev/kvm lacks %s",
				 devkvm_needed_caps[i].name);
			close(fd);
			return -ENOTSUP;
		}
	}
	return fd;
}

bool devkvm_hardware(struct devkvm_err *err)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[4096];
	bool found = false;

	if (!f) {
		snprintf(err->msg, sizeof(err->msg), "cannot read /proc/cpuinfo: %s",
			 strerror(errno));
		return false;
	}
	while (!found && fgets(line, sizeof(line), f))
		found = !strncmp(line, "flags", 5) &&
			(strstr(line, " vmx") || strstr(line, " svm"));
	fclose(f);
	if (!found)
		snprintf(err->msg, sizeof(err->msg),
			 "/dev/kvm is paravirtual: this CPU has no vmx or svm, so KVM would "
			 "emulate guest code slowly and stop on SSE; --backend kvm to use it");
	return found;
}

bool devkvm_usable(struct devkvm_err *err)
{
	int fd = devkvm_open(err);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}
