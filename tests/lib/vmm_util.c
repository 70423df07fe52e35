// SPDX-License-Identifier: GPL-2.0
/* Running guest images from tests; see vmm_util.h. */
#include <stdio.h>
#include <string.h>

#include "tests/lib/test_util.h"
#include "tests/lib/vmm_util.h"

void guest_config(struct vmm_config *cfg, const char *image)
{
	static char path[4096]; /* one image per test process (each case forks) */

	snprintf(path, sizeof(path), "%s/%s.elf", NOPIN_GUEST_DIR, image);
	vmm_config_init(cfg);
	cfg->image = path;
	cfg->mem_bytes = 8UL << 20;
	cfg->pool_bytes = 16UL << 20;
	cfg->backend = VMM_BACKEND_SOFT;
	cfg->quiet = true;
}

void guest_run(const struct vmm_config *cfg, struct guest_run *run)
{
	char err[512];
	struct vmm *vm;
	FILE *console;
	int ret;

	memset(run, 0, sizeof(*run));
	ret = vmm_create(cfg, &vm, err, sizeof(err));
	TEST_ASSERT(ret == 0, "vmm_create(%s): %s", cfg->image, err);
	console = fmemopen(run->console, sizeof(run->console) - 1, "w");
	TEST_ASSERT(console, "fmemopen");
	vm->console_out = console;
	run->status = vmm_run(vm);
	run->guest_exited = vm->guest_exited;
	snprintf(run->stop_message, sizeof(run->stop_message), "%s", vm->stop_message);
	memcpy(&run->stat, &vm->kvm->stat, sizeof(run->stat));
	vmm_destroy(vm);
	fclose(console);
}
