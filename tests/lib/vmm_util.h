/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for tests that run guest images on the VMM: a VM from an image
 * of <build>/guest in one call, its console captured.
 *
 *	struct guest_run run;
 *	guest_config(&cfg, "memtest");  cfg.nr_vcpus = 2;
 *	guest_run(&cfg, &run);
 *	TEST_ASSERT_EQ(run.status, 0);
 *	TEST_ASSERT(strstr(run.console, "memtest: ok"), ...);
 */
#ifndef NOPIN_TESTS_VMM_UTIL_H
#define NOPIN_TESTS_VMM_UTIL_H

#include <stddef.h>

#include "vmm/vm.h"

struct guest_run {
	int status;		 /* vmm_run()'s exit status */
	bool guest_exited;	 /* through the exit port */
	char console[16384];	 /* everything the guest printed */
	char stop_message[1500]; /* why the VM stopped */
	struct kvm_stat stat;	 /* the secondary MMU's counters at the end */
	unsigned long reclaimed; /* frames the host's reclaim freed during the run */
};

/*
 * @cfg for <build>/guest/<image>.elf with test-sized defaults (8M RAM, 16M
 * pool), on the backend NOPIN_TEST_BACKEND names: "soft" (the default) or
 * "kvm".  One test list, two backends: ctest registers the integration
 * suite a second time with NOPIN_TEST_BACKEND=kvm (label nested), run on
 * /dev/kvm or inside QEMU by tests/nested.
 */
void guest_config(struct vmm_config *cfg, const char *image);
/* The backend NOPIN_TEST_BACKEND asks for; a bad value fails the test. */
enum vmm_backend_kind test_backend(void);
/* The MMU mode NOPIN_TEST_MMU asks for (enum kvm_mmu_mode), or VMM_MMU_AUTO. */
int test_mmu(void);
/* Build, run and destroy the VM; fails the test if it cannot be built. */
void guest_run(const struct vmm_config *cfg, struct guest_run *run);

/*
 * Read @fd, the output of a nopin process a test started, into @buf
 * (@size bytes, kept NUL-terminated, *@len of them read so far) until
 * @text appears in it: true, or false if the fd closed first.
 */
bool nopin_read_until(int fd, char *buf, size_t size, size_t *len, const char *text);

#endif
