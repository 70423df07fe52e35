// SPDX-License-Identifier: GPL-2.0
/*
 * The vCPU run loop, one thread per vCPU, as kvmtool's kvm_cpu__start():
 * run the backend until an exit, serve it, repeat until the VM stops.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/current.h"
#include "mm/sanitizer.h"
#include "mmu/paging_walk.h"
#include "vmm/vm.h"

#define X86_EFLAGS_IF (1UL << 9) /* interrupts enabled */

void vmm_kick_all(struct vmm *vm)
{
	for (unsigned int i = 0; i < vm->cfg.nr_vcpus; i++)
		if (vm->vcpus[i].backend_data)
			vm->backend->kick(&vm->vcpus[i]);
	wake_up_all(&vm->halt_wq);
}

static void __vmm_stop(struct vmm *vm, int status, bool guest_exited, const char *fmt, va_list ap)
{
	uint64_t one = 1;

	mutex_lock(&vm->stop_lock);
	if (!vm->stopping) {
		vm->exit_status = status;
		vm->guest_exited = guest_exited;
		vsnprintf(vm->stop_message, sizeof(vm->stop_message), fmt, ap);
		smp_store_release(&vm->stopping, true);
		/* Adding 1 to a fresh eventfd cannot fail. */
		if (write(vm->stop_efd, &one, sizeof(one)) != sizeof(one))
			abort();
	}
	mutex_unlock(&vm->stop_lock);
	/* Wake vCPUs waiting for an mprotect window to close, too. */
	pressure_end(&vm->pressure);
	vmm_kick_all(vm);
}

void vmm_stop(struct vmm *vm, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	__vmm_stop(vm, status, false, fmt, ap);
	va_end(ap);
}

static void vmm_stop_guest(struct vmm *vm, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void vmm_stop_guest(struct vmm *vm, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	__vmm_stop(vm, status, true, fmt, ap);
	va_end(ap);
}

/*
 * A kick ends a vCPU's time in guest code, not a host call it makes for
 * the guest: a read of a terminal on soft would outlive the first ^C, and
 * on kvm a SIGUSR1 that lands just before read(2) begins is lost.  The
 * stop eventfd has neither problem: once readable it stays so, and poll(2)
 * looks at it and @fd in one call.
 */
int vmm_wait_fd(struct vmm *vm, int fd, short events)
{
	struct pollfd fds[2] = { { .fd = fd, .events = events },
				 { .fd = vm->stop_efd, .events = POLLIN } };

	for (;;) {
		if (poll(fds, 2, -1) >= 0)
			return fds[1].revents ? -EINTR : 0;
		if (errno != EINTR)
			return -errno;
	}
}

void vmm_guest_exit(struct vmm *vm, int status)
{
	vmm_stop_guest(vm, status, "the guest exited with status %d", status);
}

/*
 * The end of a VM whose every vCPU is halted: one line naming each vCPU,
 * where it halted (rip is past the hlt, as both backends leave it) and
 * whether it had interrupts enabled, which would not have saved it here.
 */
static void vmm_stop_all_halted(struct vmm *vm)
{
	char list[1200];
	size_t len = 0;

	list[0] = '\0';
	for (unsigned int i = 0; i < vm->cfg.nr_vcpus && len < sizeof(list); i++) {
		struct vmm_vcpu *v = &vm->vcpus[i];

		len += snprintf(list + len, sizeof(list) - len, "%svCPU %u at rip %#lx (IF=%d)",
				i ? ", " : "", i, (unsigned long)v->halt_rip, v->halt_if);
	}
	vmm_stop(vm, VMM_EXIT_GUEST_HALTED,
		 "every vCPU halted and nothing can wake one (no interrupt source): %s", list);
}

/*
 * hlt.  A halted vCPU waits for an interrupt, and this VMM raises none:
 * no timer, no interrupt controller, no IPI, no device with an IRQ line
 * (the kvm backend creates no in-kernel irqchip and injects nothing, so
 * KVM hands every hlt to us, IF set or clear; the soft vCPU takes no
 * interrupts).  So the only thing that ends a halt is the end of the VM,
 * by another vCPU (the exit port, a stop) or by a signal to nopin; and
 * once every vCPU is halted nothing is left to do that, whatever IF says:
 * the last vCPU to halt stops the VM (VMM_EXIT_GUEST_HALTED) instead of
 * leaving nopin asleep for ever.  A wake source added later (a timer, an
 * IPI) must keep a vCPU that can take it (IF=1, the source armed) out of
 * vm->nr_halted, as KVM's kvm_vcpu_check_block() asks
 * kvm_arch_vcpu_runnable() before it sleeps.
 *
 * halt_rip and halt_if are written before the count that publishes them
 * (a full barrier), and a halted vCPU never runs again, so the last
 * halter reads every other vCPU's.
 */
static void vmm_vcpu_halt(struct vmm_vcpu *vcpu)
{
	struct vmm *vm = vcpu->vm;
	struct vmm_regs regs;

	vm->backend->get_regs(vcpu, &regs);
	vcpu->halt_rip = regs.rip;
	vcpu->halt_if = !!(regs.rflags & X86_EFLAGS_IF);
	vcpu->halted = true;
	if (atomic_inc_return(&vm->nr_halted) == (int)vm->cfg.nr_vcpus)
		vmm_stop_all_halted(vm);
	wait_event(vm->halt_wq, vmm_stopping(vm));
}

/* For a message: what needed the secondary fault at @gpa (vm.h). */
void vmm_describe_fault_gpa(struct vmm_vcpu *vcpu, uint64_t gpa, int level, uint64_t gva, char *buf,
			    size_t len)
{
	if (level)
		snprintf(buf, len, "the guest's %s at guest address %#lx (walking to %#lx)",
			 guest_table_name(level), (unsigned long)gpa, (unsigned long)gva);
	else if (vcpu->kvcpu->cr3 != KVM_CR3_IDENTITY)
		snprintf(buf, len, "guest address %#lx (virtual %#lx)", (unsigned long)gpa,
			 (unsigned long)gva);
	else
		snprintf(buf, len, "guest address %#lx", (unsigned long)gpa);
}

/*
 * The VMM's policy for a guest access the host refused (the secondary
 * fault returned @err), the same on every backend.  The vCPU is out of
 * guest mode, so waiting is allowed: a write into RAM the mprotect agent
 * made read-only waits for the window to close and retries; a test that
 * asked to see refusals (cfg.memory_fault_exit) is told where, and the
 * access retries when it resumes the vCPU; anything else stops the guest.
 */
enum vmm_fault_action vmm_memory_fault(struct vmm_vcpu *vcpu, uint64_t gpa, bool write, int err)
{
	struct vmm *vm = vcpu->vm;

	if (err != -EFAULT)
		return VMM_FAULT_STOP;
	if (write && pressure_wait_unprotect(&vm->pressure))
		return VMM_FAULT_RETRY;
	if (!vm->cfg.memory_fault_exit)
		return VMM_FAULT_STOP;
	vcpu->fault_gpa = gpa;
	vcpu->fault_write = write;
	return VMM_FAULT_EXIT;
}

/*
 * Serve exits until the VM stops, or, for a test's vmm_vcpu_run()
 * (@harness), until a ucall or a refused access it must look at.
 */
static enum vmm_run_exit vmm_vcpu_loop(struct vmm_vcpu *vcpu, bool harness)
{
	struct vmm *vm = vcpu->vm;
	struct vmm_exit exit;
	int ret;

	while (!vmm_stopping(vm)) {
		vm->backend->run(vcpu, &exit);
		switch (exit.reason) {
		case VMM_EXIT_PIO:
			ret = vmm_handle_pio(vcpu, &exit);
			if (ret < 0) {
				vmm_stop(vm, VMM_EXIT_GUEST_STOPPED,
					 "vCPU %u: port %#x %s of %u bytes failed: %s", vcpu->id,
					 exit.port, exit.in ? "read" : "write", exit.size,
					 strerror(-ret));
				break;
			}
			if (exit.in)
				vm->backend->complete_pio_in(vcpu, exit.data);
			if (harness && vcpu->ucall_pending) {
				vcpu->ucall_pending = false;
				return VMM_RUN_UCALL;
			}
			break;
		case VMM_EXIT_HLT:
			vmm_vcpu_halt(vcpu);
			break;
		case VMM_EXIT_KICK:
			break;
		case VMM_EXIT_MEMORY_FAULT:
			vcpu->fault_pending = false;
			if (harness)
				return VMM_RUN_MEMORY_FAULT;
			vmm_stop(vm, VMM_EXIT_GUEST_STOPPED,
				 "vCPU %u: the host refused an access to %#lx", vcpu->id,
				 (unsigned long)vcpu->fault_gpa);
			break;
		case VMM_EXIT_ERROR:
			vmm_stop(vm, VMM_EXIT_GUEST_STOPPED, "vCPU %u: %s", vcpu->id, exit.message);
			break;
		}
	}
	vmm_console_flush(vcpu);
	return vm->guest_exited ? VMM_RUN_EXIT : VMM_RUN_STOPPED;
}

enum vmm_run_exit vmm_vcpu_run(struct vmm_vcpu *vcpu)
{
	return vmm_vcpu_loop(vcpu, true);
}

void *vmm_vcpu_thread(void *arg)
{
	struct vmm_vcpu *vcpu = arg;
	char name[16];

	snprintf(name, sizeof(name), "vCPU %u", vcpu->id);
	task_register(name);
	vmm_vcpu_loop(vcpu, false);
	task_unregister();
	return NULL;
}

/*
 * cfg.progress: while the vCPUs run, one line on stderr each second after
 * the first, rewritten in place, so a long run under pressure shows life;
 * the guest's console stays alone on stdout.
 */
static void vmm_wait_with_progress(struct vmm *vm)
{
	long seconds = 0;

	while (wait_event_hrtimeout(vm->halt_wq, vmm_stopping(vm), NSEC_PER_SEC)) {
		fprintf(stderr,
			"\r[nopin %lds] faults %ld, retries %ld, invalidations %ld, flushes %ld ",
			++seconds, atomic_long_read(&vm->kvm->stat.faults),
			atomic_long_read(&vm->kvm->stat.pf_retries),
			atomic_long_read(&vm->kvm->stat.invalidations),
			atomic_long_read(&vm->kvm->stat.remote_tlb_flushes));
	}
	if (seconds)
		fputc('\n', stderr);
}

int vmm_run(struct vmm *vm)
{
	unsigned int started = 0;
	int err = pressure_start(&vm->pressure, vm);

	if (err) {
		vmm_stop(vm, VMM_EXIT_VMM_ERROR, "cannot start the pressure agents: %s",
			 strerror(-err));
		return vm->exit_status;
	}
	for (; started < vm->cfg.nr_vcpus; started++) {
		err = pthread_create(&vm->vcpus[started].thread, NULL, vmm_vcpu_thread,
				     &vm->vcpus[started]);
		if (err) {
			vmm_stop(vm, VMM_EXIT_VMM_ERROR, "cannot start vCPU thread %u: %s", started,
				 strerror(err));
			break;
		}
	}
	if (vm->cfg.progress)
		vmm_wait_with_progress(vm);
	for (unsigned int i = 0; i < started; i++)
		pthread_join(vm->vcpus[i].thread, NULL);
	pressure_stop(&vm->pressure);
	return vm->exit_status;
}
