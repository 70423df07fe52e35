// SPDX-License-Identifier: GPL-2.0
/*
 * Building and tearing down a VM: the frame pool, the VMM's host mm with
 * guest RAM as one of its VMAs, the secondary MMU over that mm with RAM as
 * memslot 0, the guest image written through the mm, and the vCPUs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/trace.h"
#include "mm/mm.h"
#include "mm/page_alloc.h"
#include "mm/swap.h"
#include "vmm/elf.h"
#include "vmm/exec.h"
#include "vmm/vm.h"

void vmm_config_init(struct vmm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->backend = VMM_BACKEND_AUTO;
	cfg->mem_bytes = 64UL << 20;
	cfg->pool_bytes = 64UL << 20;
	cfg->nr_vcpus = 1;
	cfg->mmu = VMM_MMU_AUTO;
}

static int vmm_errf(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int vmm_errf(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}

int vmm_write_guest(struct vmm *vm, uint64_t gpa, const void *buf, size_t len)
{
	if (gpa < GUEST_RAM_BASE || gpa + len > GUEST_RAM_BASE + vm->cfg.mem_bytes)
		return -EFAULT;
	if (access_remote_vm(vm->mm, vm->ram_hva + (gpa - GUEST_RAM_BASE), (void *)buf, len,
			     FOLL_WRITE) != (long)len)
		return -EFAULT;
	return 0;
}

int vmm_read_guest(struct vmm *vm, uint64_t gpa, void *buf, size_t len)
{
	if (gpa < GUEST_RAM_BASE || gpa + len > GUEST_RAM_BASE + vm->cfg.mem_bytes)
		return -EFAULT;
	if (access_remote_vm(vm->mm, vm->ram_hva + (gpa - GUEST_RAM_BASE), buf, len, 0) !=
	    (long)len)
		return -EFAULT;
	return 0;
}

int vmm_store_guest(struct vmm *vm, uint64_t gpa, const void *buf, size_t len)
{
	for (;;) {
		int ret = vmm_write_guest(vm, gpa, buf, len);

		/* Outside RAM, or refused with no window to wait for: the refusal is real. */
		if (!ret || gpa < GUEST_RAM_BASE ||
		    gpa + len > GUEST_RAM_BASE + vm->cfg.mem_bytes || vmm_stopping(vm) ||
		    !pressure_wait_unprotect(&vm->pressure))
			return ret;
	}
}

/* The loader's write callback: zero-fill comes as a NULL-free buffer too. */
static int vmm_load_write(void *opaque, uint64_t gpa, const void *src, size_t len)
{
	return vmm_write_guest(opaque, gpa, src, len);
}

static int vmm_load_image(struct vmm *vm, char *err, size_t errlen)
{
	struct elf_image img;
	struct elf_file file;
	int ret = elf_map_file(vm->cfg.image, &file, err, errlen);

	if (ret)
		return ret;
	ret = elf_load(file.data, file.size, GUEST_RAM_BASE, vm->cfg.mem_bytes, vmm_load_write, vm,
		       &img);
	elf_unmap_file(&file);
	if (ret)
		return vmm_errf(err, errlen, ret, "%s: %s", vm->cfg.image, img.error);
	if (img.hi > GUEST_RAM_BASE + vm->cfg.mem_bytes - vm->cfg.nr_vcpus * GUEST_STACK_SIZE)
		return vmm_errf(
			err, errlen, -EFAULT,
			"%s: the image reaches %#lx, into the vCPU stacks at the top of RAM",
			vm->cfg.image, (unsigned long)img.hi);
	vm->entry = img.entry;
	return 0;
}

/* Guest RAM: an anonymous private VMA, or a shared mapping of --mem-file. */
static int vmm_map_ram(struct vmm *vm, char *err, size_t errlen)
{
	unsigned long flags = MAP_PRIVATE | MAP_ANONYMOUS, addr;
	struct file *file = NULL;

	if (vm->cfg.mem_file) {
		struct stat st;
		bool grow = stat(vm->cfg.mem_file, &st) || st.st_size < (off_t)vm->cfg.mem_bytes;

		file = filp_open(vm->pool, vm->cfg.mem_file, O_RDWR | O_CREAT, 0644);
		if (IS_ERR(file))
			return vmm_errf(err, errlen, PTR_ERR(file), "cannot open --mem-file %s: %s",
					vm->cfg.mem_file, strerror(-PTR_ERR(file)));
		if (grow) {
			int ret = vfs_truncate(file, vm->cfg.mem_bytes);

			if (ret) {
				fput(file);
				return vmm_errf(err, errlen, ret, "cannot size --mem-file %s: %s",
						vm->cfg.mem_file, strerror(-ret));
			}
		}
		flags = MAP_SHARED;
		vm->mem_file = file;
	}
	addr = vm_mmap(vm->mm, 0, vm->cfg.mem_bytes, PROT_READ | PROT_WRITE, flags, file, 0);
	if (IS_ERR_VALUE(addr))
		return vmm_errf(err, errlen, (long)addr, "cannot map %zu bytes of guest RAM: %s",
				vm->cfg.mem_bytes, strerror(-(long)addr));
	vm->ram_hva = addr;
	return 0;
}

/*
 * Does anonymous guest RAM need somewhere to go?  Not when all of it, with
 * the page tables of both MMUs, fits the pool with room to spare, nor when
 * RAM is --mem-file's, whose pages go back to the file; but the fork
 * agent's child shares RAM copy-on-write, and every write of the guest
 * then needs a second frame while the child lives.
 */
static bool vmm_needs_swap(const struct vmm *vm)
{
	return (!vm->cfg.mem_file &&
		vm->cfg.mem_bytes + vm->cfg.mem_bytes / 8 > vm->cfg.pool_bytes) ||
	       vm->pressure.agents[PRESSURE_FORK].enabled ||
	       vm->pressure.agents[PRESSURE_FAULT_RACE].enabled;
}

/*
 * Reclaim as a host has it: direct reclaim when an allocation finds the
 * pool empty, kswapd between the watermarks, and a swap file for anonymous
 * RAM: --swap's, or, when RAM may not fit (vmm_needs_swap()), an unlinked
 * temporary one.
 */
static int vmm_setup_reclaim(struct vmm *vm, char *err, size_t errlen)
{
	unsigned long frames = vm->cfg.pool_bytes >> PAGE_SHIFT;
	char tmp[] = "/tmp/nopin-swap-XXXXXX";
	const char *path = vm->cfg.swap_file;
	int ret, fd = -1;

	reclaim_enable(vm->pool);
	ret = kswapd_run(vm->pool, max(frames / 32, VMM_MIN_POOL_WMARK_LOW),
			 max(frames / 16, VMM_MIN_POOL_WMARK_HIGH));
	if (ret)
		return vmm_errf(err, errlen, ret, "cannot start kswapd: %s", strerror(-ret));
	if (!path && !vmm_needs_swap(vm))
		return 0;
	if (!path) {
		fd = mkstemp(tmp);
		if (fd < 0)
			return vmm_errf(err, errlen, -errno,
					"cannot create a swap file in /tmp: %s", strerror(errno));
		path = tmp;
	}
	/* Room for all of RAM twice: the guest's pages and a fork child's COW copies. */
	ret = swapon(path, 2 * (vm->cfg.mem_bytes >> PAGE_SHIFT) + 1);
	if (fd >= 0) {
		unlink(tmp);
		close(fd);
	}
	if (ret < 0)
		return vmm_errf(err, errlen, ret, "cannot use swap file %s: %s", path,
				strerror(-ret));
	vm->swap_type = ret;
	return 0;
}

static int vmm_create_vcpus(struct vmm *vm, char *err, size_t errlen)
{
	vm->vcpus = calloc(vm->cfg.nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return vmm_errf(err, errlen, -ENOMEM, "no memory for %u vCPUs", vm->cfg.nr_vcpus);
	for (unsigned int i = 0; i < vm->cfg.nr_vcpus; i++) {
		struct vmm_vcpu *vcpu = &vm->vcpus[i];
		struct vmm_regs regs = { 0 };
		int ret;

		vcpu->vm = vm;
		vcpu->id = i;
		ret = vm->backend->vcpu_create(vcpu);
		if (ret)
			return vmm_errf(err, errlen, ret, "cannot create vCPU %u: %s", i,
					strerror(-ret));
		/* The entry registers of the guest ABI; vCPU 0's stack is highest. */
		regs.gpr[VMM_RDI] = i;
		regs.gpr[VMM_RSI] = vm->cfg.nr_vcpus;
		regs.gpr[VMM_RDX] = vm->cfg.mem_bytes;
		regs.gpr[VMM_RSP] = GUEST_RAM_BASE + vm->cfg.mem_bytes - i * GUEST_STACK_SIZE;
		regs.rip = vm->entry;
		regs.rflags = 0x2;
		vm->backend->set_regs(vcpu, &regs);
	}
	return 0;
}

/*
 * TDP is the soft vCPU's: it needs a CPU that walks the guest's tables in
 * guest-physical space, which the kvm backend's vCPU, running on the
 * VMM's tables, is not.  The shadow MMU runs on both: the kvm backend's
 * vCPU runs on the shadow root of its CR3.  Unset, soft takes tdp and kvm
 * shadow, so an image with tables of its own runs on either; one without
 * runs on the identity CR3 as in flat mode.
 */
int vmm_mmu_mode(const struct vmm_config *cfg, enum kvm_mmu_mode *mode, char *err, size_t errlen)
{
	bool kvm = cfg->backend == VMM_BACKEND_KVM;

	if (cfg->mmu == VMM_MMU_AUTO) {
		*mode = kvm ? KVM_MMU_SHADOW : KVM_MMU_TDP;
		return 0;
	}
	if (cfg->mmu == KVM_MMU_TDP && kvm)
		return vmm_errf(err, errlen, -EINVAL,
				"--mmu tdp runs on the soft backend only; the kvm backend has flat "
				"and shadow");
	if (cfg->mmu != KVM_MMU_FLAT && cfg->mmu != KVM_MMU_TDP && cfg->mmu != KVM_MMU_SHADOW)
		return vmm_errf(err, errlen, -EINVAL, "no MMU mode %d", cfg->mmu);
	*mode = cfg->mmu;
	return 0;
}

/* The mode, on the trace's timeline: an instant of the thread building the VM. */
static void vmm_trace_mmu_mode(enum kvm_mmu_mode mode)
{
	static const char *const names[] = {
		[KVM_MMU_FLAT] = "mmu mode: flat",
		[KVM_MMU_TDP] = "mmu mode: tdp",
		[KVM_MMU_SHADOW] = "mmu mode: shadow",
	};

	trace_instant("mmu", names[mode], mode);
}

static int vmm_check_config(const struct vmm_config *cfg, char *err, size_t errlen)
{
	enum kvm_mmu_mode mode;

	if (vmm_mmu_mode(cfg, &mode, err, errlen))
		return -EINVAL;
	if (!cfg->image)
		return vmm_errf(err, errlen, -EINVAL, "no guest image given");
	if (!cfg->nr_vcpus || cfg->nr_vcpus > NR_CPUS)
		return vmm_errf(err, errlen, -EINVAL, "--vcpus must be 1 to %d", NR_CPUS);
	if (cfg->mem_bytes & (PAGE_SIZE - 1) || cfg->pool_bytes & (PAGE_SIZE - 1))
		return vmm_errf(err, errlen, -EINVAL, "--mem and --pool must be multiples of 4K");
	if (cfg->pool_bytes < VMM_MIN_POOL)
		return vmm_errf(err, errlen, -EINVAL,
				"--pool %zu is too small: kswapd needs at least %lu frames",
				cfg->pool_bytes, VMM_MIN_POOL >> PAGE_SHIFT);
	if (cfg->mem_bytes < cfg->nr_vcpus * GUEST_STACK_SIZE + (1UL << 20))
		return vmm_errf(err, errlen, -EINVAL,
				"--mem %zu is too small for %u vCPU stacks and an image",
				cfg->mem_bytes, cfg->nr_vcpus);
	if (GUEST_RAM_BASE + cfg->mem_bytes > (1UL << KVM_GPA_BITS))
		return vmm_errf(err, errlen, -EINVAL,
				"--mem is larger than the guest address space");
	return 0;
}

int vmm_create(const struct vmm_config *cfg, struct vmm **vmp, char *err, size_t errlen)
{
	struct vmm *vm;
	int ret = vmm_check_config(cfg, err, errlen);

	if (ret)
		return ret;
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return vmm_errf(err, errlen, -ENOMEM, "no memory for the VM");
	vm->cfg = *cfg;
	vm->swap_type = -1;
	vm->backend = cfg->backend == VMM_BACKEND_KVM ? &vmm_kvm_backend : &vmm_soft_backend;
	/* In exec mode stdout is the program's alone: the kernel's console goes beside its stderr. */
	vm->console_out = cfg->exec ? stderr : stdout;
	mutex_init(&vm->stop_lock);
	init_waitqueue_head(&vm->halt_wq);
	vmm_register_default_ports(vm);
	vm->stop_efd = eventfd(0, EFD_CLOEXEC);
	if (vm->stop_efd < 0) {
		ret = vmm_errf(err, errlen, -errno, "cannot create the stop eventfd: %s",
			       strerror(errno));
		free(vm);
		return ret;
	}

	ret = pressure_init(&vm->pressure, cfg->mem_bytes >> PAGE_SHIFT);
	if (!ret && cfg->pressure)
		ret = pressure_parse(&vm->pressure, cfg->pressure, err, errlen);
	if (ret)
		goto fail_pressure;

	vm->pool = frame_pool_create(cfg->pool_bytes, 0);
	if (IS_ERR(vm->pool)) {
		ret = vmm_errf(err, errlen, PTR_ERR(vm->pool),
			       "cannot create a frame pool of %zu bytes: %s", cfg->pool_bytes,
			       strerror(-PTR_ERR(vm->pool)));
		vm->pool = NULL;
		goto fail;
	}
	ret = vmm_setup_reclaim(vm, err, errlen);
	if (ret)
		goto fail;
	vm->mm = mm_alloc(vm->pool, "nopin-vmm");
	if (!vm->mm) {
		ret = vmm_errf(err, errlen, -ENOMEM, "cannot create the host mm");
		goto fail;
	}
	vm->mm->legacy = cfg->legacy;
	ret = vmm_map_ram(vm, err, errlen);
	if (ret)
		goto fail;
	ret = vmm_load_image(vm, err, errlen);
	if (ret)
		goto fail;
	if (cfg->exec) {
		ret = vmm_exec_create(vm, err, errlen);
		if (ret)
			goto fail;
	}
	vm->kvm = kvm_create_vm(vm->mm, cfg->pin ? KVM_VM_PIN_MODE : 0);
	if (IS_ERR(vm->kvm)) {
		ret = vmm_errf(err, errlen, PTR_ERR(vm->kvm), "cannot create the secondary MMU: %s",
			       strerror(-PTR_ERR(vm->kvm)));
		vm->kvm = NULL;
		goto fail;
	}
	vm->kvm->legacy = cfg->legacy;
	vmm_mmu_mode(cfg, &vm->kvm->mmu_mode, err, errlen);
	vm->cfg.mmu = vm->kvm->mmu_mode;
	vmm_trace_mmu_mode(vm->kvm->mmu_mode);
	ret = kvm_set_memory_region(vm->kvm, 0, 0, GUEST_RAM_BASE, cfg->mem_bytes, vm->ram_hva);
	if (ret) {
		vmm_errf(err, errlen, ret, "cannot register guest RAM as a memslot: %s",
			 strerror(-ret));
		goto fail;
	}
	if (vm->backend->vm_create) {
		ret = vm->backend->vm_create(vm, err, errlen);
		if (ret)
			goto fail;
	}
	ret = vmm_create_vcpus(vm, err, errlen);
	if (ret)
		goto fail;
	*vmp = vm;
	return 0;
fail:
	vmm_destroy(vm);
	return ret;
fail_pressure:
	if (ret == -ENOMEM)
		vmm_errf(err, errlen, ret, "no memory for the pressure agents");
	pressure_destroy(&vm->pressure);
	close(vm->stop_efd);
	free(vm);
	return ret;
}

bool vmm_describe_writeback_error(struct vmm *vm, char *buf, size_t len)
{
	if (vm->mem_file && mapping_describe_error(vm->mem_file->f_mapping, buf, len))
		return true;
	return vm->swap_type >= 0 && swap_describe_error(buf, len);
}

void vmm_destroy(struct vmm *vm)
{
	if (vm->vcpus) {
		for (unsigned int i = 0; i < vm->cfg.nr_vcpus; i++)
			if (vm->vcpus[i].backend_data)
				vm->backend->vcpu_destroy(&vm->vcpus[i]);
		free(vm->vcpus);
	}
	if (vm->backend_vm)
		vm->backend->vm_destroy(vm);
	vmm_exec_destroy(vm);
	if (vm->kvm)
		kvm_destroy_vm(vm->kvm);
	if (vm->mm)
		mmput(vm->mm);
	if (vm->mem_file)
		fput(vm->mem_file);
	if (vm->pool)
		kswapd_stop(vm->pool);
	/* The mm is gone: no swap PTE holds a slot now, only the swap cache may. */
	if (vm->swap_type >= 0 && swapoff(vm->swap_type))
		fprintf(stderr, "nopin: swap slots still in use at exit (a leak)\n");
	if (vm->pool)
		frame_pool_destroy(vm->pool);
	pressure_destroy(&vm->pressure);
	close(vm->stop_efd);
	free(vm);
}
