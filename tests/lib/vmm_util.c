// SPDX-License-Identifier: GPL-2.0
/* Running guest images from tests; see vmm_util.h. */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mm/swap.h"
#include "tests/lib/test_util.h"
#include "tests/lib/ucall.h"
#include "tests/lib/vmm_util.h"

enum vmm_backend_kind test_backend(void)
{
	const char *name = getenv("NOPIN_TEST_BACKEND");

	if (!name || !*name || !strcmp(name, "soft"))
		return VMM_BACKEND_SOFT;
	TEST_ASSERT(!strcmp(name, "kvm"), "NOPIN_TEST_BACKEND=%s: expected soft or kvm", name);
	return VMM_BACKEND_KVM;
}

/*
 * NOPIN_TEST_MMU=flat|tdp|shadow runs every image and guest test in that
 * mode (unset: the backend's default): images without tables run on the
 * identity CR3 in each.
 */
int test_mmu(void)
{
	static const char *const names[] = {
		[KVM_MMU_FLAT] = "flat",
		[KVM_MMU_TDP] = "tdp",
		[KVM_MMU_SHADOW] = "shadow",
	};
	const char *name = getenv("NOPIN_TEST_MMU");

	if (!name || !*name)
		return VMM_MMU_AUTO;
	for (unsigned int i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(name, names[i]))
			return i;
	TEST_FAIL("NOPIN_TEST_MMU=%s: expected flat, tdp or shadow", name);
	return VMM_MMU_AUTO;
}

void guest_config(struct vmm_config *cfg, const char *image)
{
	static char path[4096]; /* one image per test process (each case forks) */

	snprintf(path, sizeof(path), "%s/%s.elf", NOPIN_GUEST_DIR, image);
	vmm_config_init(cfg);
	cfg->image = path;
	cfg->mem_bytes = 8UL << 20;
	cfg->pool_bytes = 16UL << 20;
	cfg->backend = test_backend();
	cfg->mmu = test_mmu();
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
	run->reclaimed = atomic_long_read(&vm->pool->pgdat->stats.pgsteal);
	vmm_destroy(vm);
	fclose(console);
}

/* ---- the selftests-style harness (tests/lib/ucall.h) ---- */

unsigned long __guest_symbol(const char *elf, const char *name)
{
	FILE *f = fopen(elf, "rb");
	unsigned long addr = 0;
	Elf64_Ehdr eh;
	Elf64_Shdr *sh = NULL;

	TEST_ASSERT(f, "open guest image %s", elf);
	if (fread(&eh, sizeof(eh), 1, f) != 1 || eh.e_shentsize != sizeof(Elf64_Shdr))
		goto out;
	sh = calloc(eh.e_shnum, sizeof(*sh));
	if (!sh || fseek(f, eh.e_shoff, SEEK_SET) ||
	    fread(sh, sizeof(*sh), eh.e_shnum, f) != eh.e_shnum)
		goto out;
	for (unsigned int i = 0; i < eh.e_shnum && !addr; i++) {
		Elf64_Shdr *strtab = &sh[sh[i].sh_link];

		if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh.e_shnum)
			continue;
		for (unsigned long off = 0; off < sh[i].sh_size && !addr;
		     off += sizeof(Elf64_Sym)) {
			Elf64_Sym sym;
			char sname[128] = "";

			if (fseek(f, sh[i].sh_offset + off, SEEK_SET) ||
			    fread(&sym, sizeof(sym), 1, f) != 1)
				break;
			if (fseek(f, strtab->sh_offset + sym.st_name, SEEK_SET) ||
			    !fgets(sname, sizeof(sname), f))
				continue;
			/* fgets stops at a newline, not a NUL: compare as a C string. */
			if (!strcmp(sname, name) && ELF64_ST_TYPE(sym.st_info) == STT_FUNC)
				addr = sym.st_value;
		}
	}
out:
	free(sh);
	fclose(f);
	return addr;
}

struct vmm *__vm_create_with_one_vcpu(const char *elf, struct vmm_vcpu **vcpup, const char *fn,
				      size_t mem, size_t pool)
{
	return __vm_create_with_one_vcpu_mmu(elf, vcpup, fn, mem, pool, test_mmu());
}

struct vmm *__vm_create_with_one_vcpu_mmu(const char *elf, struct vmm_vcpu **vcpup, const char *fn,
					  size_t mem, size_t pool, int mmu)
{
	struct vmm_config cfg;

	vmm_config_init(&cfg);
	cfg.image = elf;
	cfg.backend = test_backend();
	cfg.mem_bytes = mem;
	cfg.pool_bytes = pool;
	cfg.memory_fault_exit = true;
	cfg.quiet = true;
	cfg.mmu = mmu;
	return __vm_create_with_one_vcpu_cfg(&cfg, vcpup, fn);
}

struct vmm *__vm_create_with_one_vcpu_cfg(const struct vmm_config *cfg, struct vmm_vcpu **vcpup,
					  const char *fn)
{
	unsigned long entry = __guest_symbol(cfg->image, fn);
	struct vmm_regs regs;
	struct vmm *vm;
	char err[512];
	int ret;

	TEST_ASSERT(entry, "no function %s in guest image %s", fn, cfg->image);
	ret = vmm_create(cfg, &vm, err, sizeof(err));
	TEST_ASSERT(ret == 0, "vmm_create(%s): %s", cfg->image, err);
	*vcpup = &vm->vcpus[0];
	vm->backend->get_regs(*vcpup, &regs);
	regs.rip = entry;
	vm->backend->set_regs(*vcpup, &regs);
	return vm;
}

unsigned long get_ucall(struct vmm_vcpu *vcpu, struct ucall *uc)
{
	TEST_ASSERT(vmm_read_guest(vcpu->vm, vcpu->ucall_gpa, uc, sizeof(*uc)) == 0,
		    "read the ucall at %#lx", (unsigned long)vcpu->ucall_gpa);
	if (uc->cmd == UCALL_ASSERT)
		TEST_FAIL("guest assertion failed: %.*s:%lu: %.*s", (int)sizeof(uc->file), uc->file,
			  uc->line, (int)sizeof(uc->expr), uc->expr);
	return uc->cmd;
}

bool nopin_read_until(int fd, char *buf, size_t size, size_t *len, const char *text)
{
	while (!strstr(buf, text)) {
		ssize_t n = read(fd, buf + *len, size - 1 - *len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		*len += n;
		buf[*len] = '\0';
	}
	return true;
}
