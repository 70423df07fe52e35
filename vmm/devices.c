// SPDX-License-Identifier: GPL-2.0
/*
 * Port devices: the console (0xE9), exit (0x501) and hypercall (0x510)
 * ports of the Guest ABI (guest/README.md), in a small table that other
 * devices join with vmm_register_port().  The hypercalls run on the
 * calling vCPU's thread, out of guest mode, as its own instructions would:
 * CR3 loads and TLB flushes go to the vCPU's side of the MMU
 * (mmu/paging.c), exception handlers to the backend.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "vmm/exec.h"
#include "vmm/vm.h"

int vmm_register_port(struct vmm *vm, uint16_t port, const char *name, vmm_pio_fn fn)
{
	for (unsigned int i = 0; i < vm->nr_ports; i++)
		if (vm->ports[i].port == port)
			return -EEXIST;
	if (vm->nr_ports == VMM_MAX_PORTS)
		return -ENOSPC;
	vm->ports[vm->nr_ports++] = (struct vmm_port){ .port = port, .fn = fn, .name = name };
	return 0;
}

/* Print the vCPU's buffered console line, if any. */
void vmm_console_flush(struct vmm_vcpu *vcpu)
{
	if (!vcpu->console_len)
		return;
	fprintf(vcpu->vm->console_out, "%.*s", (int)vcpu->console_len, vcpu->console);
	fflush(vcpu->vm->console_out);
	vcpu->console_len = 0;
}

/* One byte per OUT; whole lines reach stdout, so vCPUs' lines never mix. */
static int console_pio(struct vmm_vcpu *vcpu, uint16_t port, unsigned int size, bool in,
		       uint32_t *data)
{
	char c = (char)*data;

	if (in) {
		*data = 0xff;
		return 0;
	}
	vcpu->console[vcpu->console_len++] = c;
	if (c == '\n' || vcpu->console_len == VMM_CONSOLE_LINE)
		vmm_console_flush(vcpu);
	return 0;
}

static int exit_pio(struct vmm_vcpu *vcpu, uint16_t port, unsigned int size, bool in,
		    uint32_t *data)
{
	if (in)
		return -EINVAL;
	vmm_console_flush(vcpu);
	vmm_guest_exit(vcpu->vm, (int)*data);
	return 0;
}

/*
 * HC_CLOCK_NS: the host's monotonic clock (0, what every guest passed
 * before there was a choice) or its wall clock (1, for the exec kernel's
 * clock_gettime(CLOCK_REALTIME) and time()); anything else is -EINVAL
 * rather than a guess, so a guest asking for a clock it is not told about
 * finds out.
 */
static long clock_ns(uint64_t clock)
{
	struct timespec ts;

	if (clock == HC_CLOCK_MONOTONIC)
		clock_gettime(CLOCK_MONOTONIC, &ts);
	else if (clock == HC_CLOCK_REALTIME)
		clock_gettime(CLOCK_REALTIME, &ts);
	else
		return -EINVAL;
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/* [rdi, rdi + rsi) must be page-aligned guest RAM. */
static long check_ram_range(struct vmm *vm, uint64_t gpa, uint64_t len)
{
	if ((gpa | len) & (PAGE_SIZE - 1) || !len)
		return -EINVAL;
	if (gpa < GUEST_RAM_BASE || gpa + len > GUEST_RAM_BASE + vm->cfg.mem_bytes ||
	    gpa + len < gpa)
		return -EFAULT;
	return 0;
}

BUILD_BUG_ON(GUEST_CR3_IDENTITY != KVM_CR3_IDENTITY);
BUILD_BUG_ON(GUEST_EINVAL != EINVAL || GUEST_EOPNOTSUPP != EOPNOTSUPP);
BUILD_BUG_ON(GUEST_EFAULT != EFAULT || GUEST_ENOSYS != ENOSYS);

/*
 * Only a backend whose vCPU can run on the guest's own tables takes a CR3
 * (both can; in flat mode kvm_vcpu_load_cr3() refuses it).
 */
static long hc_load_cr3(struct vmm_vcpu *vcpu, uint64_t cr3)
{
	if (!vcpu->vm->backend->guest_page_tables)
		return -EOPNOTSUPP;
	return kvm_vcpu_load_cr3(vcpu->kvcpu, cr3);
}

/* Where a handler or its stack may be: canonical, and not the VMM's top 16 MiB. */
static bool guest_va_usable(uint64_t va)
{
	return va < 0x0000800000000000UL || (va >= 0xffff800000000000UL && va < GUEST_VMM_TOP);
}

static long hc_set_exception_handler(struct vmm_vcpu *vcpu, uint64_t vector, uint64_t rip,
				     uint64_t stack)
{
	const struct vmm_backend_ops *backend = vcpu->vm->backend;

	if (vector != DE_VECTOR && vector != UD_VECTOR && vector != GP_VECTOR &&
	    vector != PF_VECTOR)
		return -EINVAL;
	if (rip && (!guest_va_usable(rip) || !guest_va_usable(stack)))
		return -EINVAL;
	if (!backend->set_exception_handler)
		return -EOPNOTSUPP;
	return backend->set_exception_handler(vcpu, vector, rip, rip ? stack : 0);
}

static int hypercall_pio(struct vmm_vcpu *vcpu, uint16_t port, unsigned int size, bool in,
			 uint32_t *data)
{
	struct vmm *vm = vcpu->vm;
	struct vmm_regs regs;
	long ret;

	if (in || size != 4)
		return -EINVAL;
	vm->backend->get_regs(vcpu, &regs);
	switch (*data) {
	case HC_CLOCK_NS:
		ret = clock_ns(regs.gpr[VMM_RDI]);
		break;
	case HC_PAGE_REPORT_FREE:
	case HC_PAGE_REUSE: {
		unsigned long first = (regs.gpr[VMM_RDI] - GUEST_RAM_BASE) >> PAGE_SHIFT;
		unsigned long n = regs.gpr[VMM_RSI] >> PAGE_SHIFT;

		ret = check_ram_range(vm, regs.gpr[VMM_RDI], regs.gpr[VMM_RSI]);
		if (ret)
			break;
		/* The dontneed-free pressure agent discards only reported pages. */
		if (*data == HC_PAGE_REPORT_FREE)
			pressure_report_free(&vm->pressure, first, n);
		else
			pressure_reuse(&vm->pressure, first, n);
		break;
	}
	case HC_UCALL:
		vcpu->ucall_gpa = regs.gpr[VMM_RDI];
		vcpu->ucall_pending = true;
		ret = 0;
		break;
	case HC_LOAD_CR3:
		ret = hc_load_cr3(vcpu, regs.gpr[VMM_RDI]);
		break;
	case HC_INVLPG:
		kvm_vcpu_invlpg(vcpu->kvcpu, regs.gpr[VMM_RDI]);
		ret = 0;
		break;
	case HC_FLUSH_TLB:
		kvm_vcpu_flush_guest_tlb(vcpu->kvcpu);
		ret = 0;
		break;
	case HC_SET_EXCEPTION_HANDLER:
		ret = hc_set_exception_handler(vcpu, regs.gpr[VMM_RDI], regs.gpr[VMM_RSI],
					       regs.gpr[VMM_RCX]);
		break;
	case HC_EXEC_INFO:
	case HC_HOSTFS:
	case HC_EXEC_FAULT:
	case HC_EXEC_SYSCALLS:
		/* -EOPNOTSUPP unless the VM was made by `nopin exec` (vmm/exec.c). */
		ret = vmm_exec_hypercall(vcpu, *data, &regs);
		break;
	default:
		ret = -ENOSYS;
	}
	regs.gpr[VMM_RAX] = ret;
	vm->backend->set_regs(vcpu, &regs);
	return 0;
}

void vmm_register_default_ports(struct vmm *vm)
{
	vmm_register_port(vm, PORT_CONSOLE, "console", console_pio);
	vmm_register_port(vm, PORT_EXIT, "exit", exit_pio);
	vmm_register_port(vm, PORT_HYPERCALL, "hypercall", hypercall_pio);
}

/*
 * Dispatch a port exit.  An unclaimed port reads all-ones and ignores
 * writes, as on a PC.  Returns the handler's error to stop the guest.
 */
int vmm_handle_pio(struct vmm_vcpu *vcpu, struct vmm_exit *exit)
{
	struct vmm *vm = vcpu->vm;

	for (unsigned int i = 0; i < vm->nr_ports; i++) {
		if (vm->ports[i].port != exit->port)
			continue;
		return vm->ports[i].fn(vcpu, exit->port, exit->size, exit->in, &exit->data);
	}
	if (exit->in)
		exit->data = ~0u;
	return 0;
}
