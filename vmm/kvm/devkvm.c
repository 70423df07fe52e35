// SPDX-License-Identifier: GPL-2.0
/*
 * The kvm backend: guest code runs on /dev/kvm, on the secondary MMU's SPTE
 * tables as its page tables: the flat root, or in shadow mode the shadow
 * root of the CR3 the guest loaded.
 *
 * The whole frame pool is one KVM memslot at guest-physical 0, so an SPTE's
 * pool pfn is the address hardware walks to; CR3 is the root.  On the
 * identity CR3, guest virtual addresses are the guest-physical addresses
 * of nopin's memslots (root entries 0-255); on its own tables (--mmu
 * shadow) the guest maps what it likes below the top 16 MiB, and the
 * hardware walks the shadow MMU's tables made from them.  The top of the
 * address space (root entry 511 of every root) maps the VMM's own pages:
 * GDT, IDT, TSSs, the exception stubs and their IST stacks (stubs.h;
 * docs/design.md, Guest ABI, for what the guest sees).
 *
 * A guest access with no SPTE raises #PF; its stub (on IST1, which is never
 * revoked) loads CR2 into rax and writes a private port, one exit and one
 * KVM_RUN per fault, with no other ioctl: rax comes with the exit in
 * kvm_run (KVM_CAP_SYNC_REGS), the error code and the faulting RIP are
 * read from the CPU's frame on IST1, a page of the VMM's.  The VMM runs
 * the same kvm_mmu_page_fault() the soft vCPU uses, and the stub's iretq
 * retries the access.  Leaf SPTEs have no G bit.  In shadow mode the
 * VMM asks the shadow MMU instead, which may answer that the guest's own
 * tables refuse the access, a #PF the VMM delivers to the guest's handler,
 * or that the write is to a write-tracked guest page table, which the soft
 * interpreter emulates (fault.c says how; before each entry the root of
 * the guest's CR3 is made and the hardware put on it).  Each vCPU has its
 * own IDT, so the #DE, #UD and #GP a guest registers a handler for go
 * there through the gate, on an IST slot holding the guest's stack, with
 * no exit at all (tables.c); any other exception stops the guest.
 *
 * A remote flush kicks the vCPU out of KVM_RUN (a signal, and
 * immediate_exit for the kick that lands between two runs).  Before the
 * vCPU acknowledges the kick it serves the flush request: it sets the
 * guest's registers to enter a flush stub (on IST2, at CPL 0) as an
 * interrupt would; the stub reloads CR3 and acknowledges in the flush
 * mailbox, and its iretq goes through a trampoline that writes a port and
 * returns to the guest, at CPL 0 or 3, through the guest's own frame.  So
 * kvm_flush_remote_tlbs(), and the invalidate_range_start behind it,
 * return only once the guest's TLB is clean (rule 3, flush before
 * return).  The exit the kick interrupted is kept aside meanwhile and
 * served after.
 *
 * Why not an injected NMI: on kvm_pvm an NMI queued after a signal ended
 * KVM_RUN was not taken on the next entry; the guest ran on to its next
 * exit first.  Entering the stub through its registers needs nothing of
 * the hypervisor's event delivery.
 *
 * The files: this one creates the VM and its vCPUs and holds the ops;
 * run.c runs KVM_RUN and serves its exits; fault.c serves the #PF stub's
 * and puts the hardware on the root of the guest's CR3; flush.c serves a
 * flush through the flush stub, the interrupted exit kept aside; regs.c
 * reads and writes the registers, the hardware's CR3 among them, and says
 * where the guest is; tables.c builds the top 16 MiB (GDT, IDT, TSSs,
 * page tables) and copies in the guest side, stubs.S, whose layout and
 * mailboxes stubs.h shares with the C; devkvm_util.c wraps the ioctls.
 * Each calls only those after it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/atomic.h"
#include "base/err.h"
#include "vmm/kvm/devkvm.h"
#include "vmm/kvm/internal.h"

static void devkvm_vm_free(struct vmm *vm, struct devkvm_vm *b)
{
	devkvm_top_destroy(vm, b);
	free(b->cpuid);
	if (b->vm_fd >= 0)
		close(b->vm_fd);
	if (b->dev_fd >= 0)
		close(b->dev_fd);
	free(b);
}

static int devkvm_vm_create(struct vmm *vm, char *errbuf, size_t errlen)
{
	struct devkvm_vm *b = calloc(1, sizeof(*b));
	struct kvm_userspace_memory_region mem;
	struct devkvm_err err = { "" };
	int ret;

	if (!b)
		return -ENOMEM;
	b->vm_fd = -1;
	b->dev_fd = devkvm_open(&err);
	if (b->dev_fd < 0) {
		ret = b->dev_fd;
		goto fail;
	}
	ret = b->vm_fd = devkvm_ioctl(b->dev_fd, KVM_CREATE_VM, 0, &err);
	if (ret < 0)
		goto fail;
	ret = b->run_size = devkvm_ioctl(b->dev_fd, KVM_GET_VCPU_MMAP_SIZE, 0, &err);
	if (ret < 0)
		goto fail;
	/* The whole frame pool at guest-physical 0: SPTEs hold pool pfns. */
	mem = (struct kvm_userspace_memory_region){
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = vm->pool->nr_frames * PAGE_SIZE,
		.userspace_addr = (unsigned long)vm->pool->base,
	};
	ret = devkvm_ioctl(b->vm_fd, KVM_SET_USER_MEMORY_REGION, &mem, &err);
	if (ret)
		goto fail;
	b->cpuid = calloc(1, sizeof(*b->cpuid) + 256 * sizeof(struct kvm_cpuid_entry2));
	if (!b->cpuid) {
		ret = -ENOMEM;
		goto fail;
	}
	b->cpuid->nent = 256;
	ret = devkvm_ioctl(b->dev_fd, KVM_GET_SUPPORTED_CPUID, b->cpuid, &err);
	if (ret)
		goto fail;
	ret = devkvm_top_create(vm, b, vm->cfg.nr_vcpus);
	if (ret) {
		snprintf(err.msg, sizeof(err.msg), "no frames for the VMM's guest pages");
		goto fail;
	}
	devkvm_kick_signal_init();
	vm->backend_vm = b;
	return 0;
fail:
	snprintf(errbuf, errlen, "kvm backend: %s", err.msg[0] ? err.msg : strerror(-ret));
	devkvm_vm_free(vm, b);
	return ret;
}

static void devkvm_vm_destroy(struct vmm *vm)
{
	if (vm->backend_vm)
		devkvm_vm_free(vm, vm->backend_vm);
	vm->backend_vm = NULL;
}

/*
 * Does the CPUID the vCPUs get offer FSGSBASE (leaf 7, EBX bit 0)?  Then
 * CR4.FSGSBASE is set, so rdfsbase and its kin run at CPL 3 as the guest
 * ABI has them (KVM refuses the bit without the CPUID one).
 */
static bool devkvm_cpuid_fsgsbase(const struct kvm_cpuid2 *cpuid)
{
	for (unsigned int i = 0; i < cpuid->nent; i++)
		if (cpuid->entries[i].function == 7 && cpuid->entries[i].index == 0)
			return cpuid->entries[i].ebx & 1;
	return false;
}

/* Long mode straight from the sregs: flat segments, paging on the SPTE root. */
static int devkvm_setup_sregs(struct vmm_vcpu *vcpu, struct devkvm_err *err)
{
	struct devkvm_vcpu *k = devkvm_vcpu_of(vcpu);
	struct kvm_sregs sregs;
	int ret = devkvm_ioctl(k->fd, KVM_GET_SREGS, &sregs, err);

	if (ret)
		return ret;
	sregs.cs = devkvm_segment(DEVKVM_SEL_CODE);
	sregs.ds = devkvm_segment(DEVKVM_SEL_DATA);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.tr = (struct kvm_segment){ .base = DEVKVM_TSS_VA + vcpu->id * DEVKVM_TSS_STRIDE,
					 .limit = DEVKVM_TSS_SIZE - 1,
					 .selector = DEVKVM_SEL_TSS(vcpu->id),
					 .type = 11,
					 .present = 1 };
	sregs.gdt.base = DEVKVM_GDT_VA;
	sregs.gdt.limit = DEVKVM_SEL_TSS(DEVKVM_MAX_VCPUS) - 1;
	sregs.idt.base = DEVKVM_IDT_VA_OF(vcpu->id);
	sregs.idt.limit = DEVKVM_IDT_STRIDE - 1;
	sregs.cr0 = 0x80010033; /* PE MP ET NE WP PG */
	sregs.cr4 = 0x6a0;	/* PAE PGE OSFXSR OSXMMEXCPT */
	if (devkvm_cpuid_fsgsbase(((struct devkvm_vm *)vcpu->vm->backend_vm)->cpuid))
		sregs.cr4 |= 1UL << 16; /* FSGSBASE */
	sregs.efer = 0xd00;		/* LME LMA NXE: shadow leaves carry NX (bit 63) */
	sregs.cr3 = (uint64_t)page_to_pfn(vcpu->vm->kvm->root) << PAGE_SHIFT;
	k->hw_cr3 = sregs.cr3;
	return devkvm_ioctl(k->fd, KVM_SET_SREGS, &sregs, err);
}

/*
 * The secondary MMU's side of the vCPU: the kick is a signal, the flush
 * the guest's flush stub, which the guest's own INVLPG, TLB flush and CR3
 * load ask for too (fault.c).
 */
static const struct kvm_vcpu_ops devkvm_kvcpu_ops = {
	.kick = devkvm_kvcpu_kick,
	.flush_tlb = devkvm_kvcpu_flush_tlb,
	.flush_tlb_guest = devkvm_kvcpu_flush_tlb_guest,
};

static int devkvm_vcpu_create(struct vmm_vcpu *vcpu)
{
	struct devkvm_vm *b = vcpu->vm->backend_vm;
	struct devkvm_vcpu *k;
	struct devkvm_err err = { "" };
	int ret;

	if (vcpu->id >= DEVKVM_MAX_VCPUS)
		return -E2BIG;
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->vcpu = vcpu;
	vcpu->backend_data = k;
	k->fd = devkvm_ioctl(b->vm_fd, KVM_CREATE_VCPU, (long)vcpu->id, &err);
	if (k->fd < 0) {
		ret = k->fd;
		goto fail;
	}
	k->run = mmap(NULL, b->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, k->fd, 0);
	if (k->run == MAP_FAILED) {
		ret = -errno;
		k->run = NULL;
		goto fail;
	}
	/* The registers at each exit in kvm_run: the #PF stub's CR2 comes in rax (fault.c). */
	k->run->kvm_valid_regs = KVM_SYNC_X86_REGS;
	ret = devkvm_ioctl(k->fd, KVM_SET_CPUID2, b->cpuid, &err);
	if (!ret)
		ret = devkvm_setup_sregs(vcpu, &err);
	if (ret)
		goto fail;
	vcpu->kvcpu = kvm_create_vcpu(vcpu->vm->kvm, vcpu->id, &devkvm_kvcpu_ops);
	if (IS_ERR(vcpu->kvcpu)) {
		ret = PTR_ERR(vcpu->kvcpu);
		vcpu->kvcpu = NULL;
		goto fail;
	}
	vcpu->kvcpu->private = vcpu;
	return 0;
fail:
	if (err.msg[0])
		fprintf(stderr, "nopin: vCPU %u: %s\n", vcpu->id, err.msg);
	if (k->run)
		munmap(k->run, b->run_size);
	if (k->fd >= 0)
		close(k->fd);
	free(k);
	vcpu->backend_data = NULL;
	return ret;
}

static void devkvm_vcpu_destroy(struct vmm_vcpu *vcpu)
{
	struct devkvm_vm *b = vcpu->vm->backend_vm;
	struct devkvm_vcpu *k = devkvm_vcpu_of(vcpu);

	if (vcpu->kvcpu)
		kvm_destroy_vcpu(vcpu->kvcpu);
	munmap(k->run, b->run_size);
	close(k->fd);
	free(k);
	vcpu->backend_data = NULL;
}

/*
 * HC_SET_EXCEPTION_HANDLER: #DE, #UD and #GP go to the guest's handler
 * through this vCPU's own IDT gate, so the CPU delivers them (tables.c).
 * #PF is the VMM's gate, the secondary fault path: the guest's handler is
 * kept for the faults the guest's own tables raise in shadow mode, which
 * the VMM delivers (fault.c); in flat mode there are none.  With a
 * handler the gate goes to the #PF stub that keeps the guest's CR2
 * (stubs.S).
 */
static int devkvm_set_exception_handler(struct vmm_vcpu *vcpu, unsigned int vector, uint64_t rip,
					uint64_t stack)
{
	struct devkvm_vcpu *k = devkvm_vcpu_of(vcpu);
	int ret;

	if (vector == PF_VECTOR) {
		k->guest_pf_rip = rip;
		k->guest_pf_stack = stack;
		/*
		 * From the VMM's next fault on, CR2 is put back to the guest's.
		 * Not at once with KVM_SET_SREGS here: with that, the exec
		 * kernel's sqlite under pressure hung in nested SVM (the
		 * nested label), for a reason not found yet.
		 */
		devkvm_set_pf_gate(vcpu->vm->backend_vm, vcpu->id, rip);
		return 0;
	}
	ret = devkvm_set_guest_gate(vcpu->vm->backend_vm, vcpu->id, vector, rip, stack);
	if (ret)
		return ret;
	if (rip)
		k->guest_gates |= 1u << vector;
	else
		k->guest_gates &= ~(1u << vector);
	return 0;
}

/* ---- for tests (devkvm.h) ---- */

const struct devkvm_flush_mailbox *devkvm_vcpu_flush_mailbox(struct vmm_vcpu *vcpu)
{
	return devkvm_flush_mailbox_of(vcpu);
}

bool devkvm_vcpu_in_guest(struct vmm_vcpu *vcpu)
{
	return smp_load_mb(devkvm_vcpu_of(vcpu)->in_guest);
}

int devkvm_vcpu_hold_exception(struct vmm_vcpu *vcpu, unsigned int vector, uint32_t error_code)
{
	struct devkvm_vcpu *k = devkvm_vcpu_of(vcpu);
	struct kvm_vcpu_events ev;
	struct devkvm_err err;
	int ret = devkvm_ioctl(k->fd, KVM_GET_VCPU_EVENTS, &ev, &err);

	if (ret)
		return ret;
	ev.exception.injected = 1;
	ev.exception.nr = vector;
	ev.exception.has_error_code = 1;
	ev.exception.error_code = error_code;
	return devkvm_ioctl(k->fd, KVM_SET_VCPU_EVENTS, &ev, &err);
}

const struct vmm_backend_ops vmm_kvm_backend = {
	.name = "kvm",
	.vm_create = devkvm_vm_create,
	.vm_destroy = devkvm_vm_destroy,
	.vcpu_create = devkvm_vcpu_create,
	.vcpu_destroy = devkvm_vcpu_destroy,
	.run = devkvm_run,
	.kick = devkvm_kick,
	.get_regs = devkvm_get_regs,
	.set_regs = devkvm_set_regs,
	.complete_pio_in = devkvm_complete_pio_in,
	.set_exception_handler = devkvm_set_exception_handler,
	.guest_page_tables = true,
};
