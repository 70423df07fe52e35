// SPDX-License-Identifier: GPL-2.0
/*
 * The kvm backend on this machine's /dev/kvm: guest images run on the
 * secondary MMU's tables as their page tables, faults come back through
 * the #PF stub, remote flushes through the kick and the guest's flush stub.
 * Registered under the nested label only: tests/nested runs them on
 * /dev/kvm, or inside QEMU where there is none.  Run by hand without a
 * usable /dev/kvm, each case is skipped.  RAM stays small: a secondary
 * fault is a guest exit, costly under nested virtualization.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/test_util.h"
#include "tests/lib/ucall.h"
#include "tests/lib/vmm_util.h"
#include "vmm/kvm/devkvm.h"
#include "vmm/kvm/devkvm_util.h"

static void kvm_config(struct vmm_config *cfg, const char *image, unsigned int vcpus)
{
	struct devkvm_err err;

	TEST_REQUIRE(devkvm_usable(&err));
	guest_config(cfg, image);
	cfg->backend = VMM_BACKEND_KVM;
	cfg->nr_vcpus = vcpus;
	cfg->mem_bytes = 2UL << 20;
	cfg->pool_bytes = 8UL << 20;
}

static void run_ok(struct vmm_config *cfg, const char *expect)
{
	struct guest_run run;

	guest_run(cfg, &run);
	TEST_ASSERT(run.guest_exited && run.status == 0, "%s: status %d (%s)\n%s", cfg->image,
		    run.status, run.stop_message, run.console);
	TEST_ASSERT(strstr(run.console, expect), "no '%s':\n%s", expect, run.console);
	TEST_ASSERT(atomic_long_read(&run.stat.pf_fixed) > 0, "faults came through the stub");
}

TEST(hello_1)
{
	struct vmm_config cfg;

	kvm_config(&cfg, "hello", 1);
	run_ok(&cfg, "Hello from vCPU 0 of 1");
}

TEST(smp_2)
{
	struct vmm_config cfg;

	kvm_config(&cfg, "smp", 2);
	run_ok(&cfg, "smp: 2 vCPUs, counter 20000, ok");
}

/* @image on @vcpus in MMU mode @mmu, every pressure agent at work, RAM larger than the pool. */
static void run_under_pressure(const char *image, unsigned int vcpus, int mmu, const char *expect)
{
	struct vmm_config cfg;

	kvm_config(&cfg, image, vcpus);
	cfg.mmu = mmu;
	cfg.pool_bytes = 1UL << 20;
	cfg.pressure = "all";
	run_ok(&cfg, expect);
}

TEST(random_under_pressure_with_ram_larger_than_the_pool)
{
	run_under_pressure("random", 1, KVM_MMU_FLAT, "random: ok");
}

TEST(smp_2_under_pressure)
{
	run_under_pressure("smp", 2, KVM_MMU_FLAT, "smp: 2 vCPUs, counter 20000, ok");
}

TEST(wild_access_is_reported_with_the_instruction)
{
	struct vmm_config cfg;
	struct guest_run run;

	kvm_config(&cfg, "wild", 1);
	guest_run(&cfg, &run);
	TEST_ASSERT(!run.guest_exited && run.status == VMM_EXIT_GUEST_STOPPED, "stopped: %d",
		    run.status);
	TEST_ASSERT(strstr(run.stop_message, "at 0x10 outside every memslot") &&
			    strstr(run.stop_message, "rip 0x") && strstr(run.stop_message, "mov"),
		    "address, rip and instruction: %s", run.stop_message);
}

/* ---- every kick into a running guest waits for the guest's flush stub ---- */

/*
 * The acceptance of the remote flush on this backend: a kick that finds a
 * vCPU inside KVM_RUN, its flush request still pending, is answered by
 * the guest's flush stub before the vCPU acknowledges it, so before
 * kvm_flush_remote_tlbs(), and the invalidate_range_start that called it,
 * return.
 *
 * Each vCPU's kvm_vcpu_ops are wrapped.  kick runs on the flushing thread
 * (mmu_lock held, the request made, ipi_seq raised): it records such a
 * kick by its number.  flush_tlb runs on the vCPU's thread as it serves a
 * request: if the vCPU has not left guest mode, every kick it has not
 * acknowledged, (ipi_ack, ipi_seq], is still waited for, and this flush
 * answers them in time if the stub's mailbox shows a run asked for during
 * the call.  A kick acknowledged otherwise never gets an answer.
 *
 * Why such a kick must reach that flush: the request was not pending when
 * the vCPU last checked before KVM_RUN (it would be served and cleared
 * then), so it was made later, with ipi_seq raised after the vCPU's last
 * acknowledgement; and the vCPU looks for it only after leaving KVM_RUN,
 * which the kicker saw it had not yet done, after ipi_seq was raised.
 */
struct flush_span {
	unsigned long from, to; /* kicks (from, to] answered in time */
};

struct flush_watch {
	struct kvm_vcpu_ops ops; /* what the vCPU's ops point to */
	const struct kvm_vcpu_ops *real;
	struct vmm_vcpu *vcpu;
	pthread_mutex_t lock;
	unsigned long *kicks; /* kicks that found the vCPU in KVM_RUN, request pending */
	size_t nr_kicks, max_kicks;
	struct flush_span *spans; /* in order, merged */
	size_t nr_spans, max_spans;
	unsigned long flushes, stub_missing;
};

static void *grow(void *array, size_t *max, size_t size)
{
	*max = *max ? 2 * *max : 256;
	array = realloc(array, *max * size);
	TEST_ASSERT(array, "realloc");
	return array;
}

static struct flush_watch *to_watch(struct kvm_vcpu *kv)
{
	return container_of(kv->ops, struct flush_watch, ops);
}

static void watch_kick(struct kvm_vcpu *kv)
{
	struct flush_watch *w = to_watch(kv);
	unsigned long seq = smp_load_mb(kv->ipi_seq);
	bool running = devkvm_vcpu_in_guest(w->vcpu) &&
		       (smp_load_mb(kv->requests) & (1UL << KVM_REQ_TLB_FLUSH));

	w->real->kick(kv);
	if (!running)
		return;
	pthread_mutex_lock(&w->lock);
	if (w->nr_kicks == w->max_kicks)
		w->kicks = grow(w->kicks, &w->max_kicks, sizeof(*w->kicks));
	w->kicks[w->nr_kicks++] = seq;
	pthread_mutex_unlock(&w->lock);
}

static void watch_answered(struct flush_watch *w, unsigned long from, unsigned long to)
{
	struct flush_span *last = w->nr_spans ? &w->spans[w->nr_spans - 1] : NULL;

	if (last && from <= last->to) {
		last->to = to > last->to ? to : last->to;
		return;
	}
	if (w->nr_spans == w->max_spans)
		w->spans = grow(w->spans, &w->max_spans, sizeof(*w->spans));
	w->spans[w->nr_spans++] = (struct flush_span){ from, to };
}

static void watch_flush_tlb(struct kvm_vcpu *kv)
{
	struct flush_watch *w = to_watch(kv);
	const struct devkvm_flush_mailbox *mb = devkvm_vcpu_flush_mailbox(w->vcpu);
	bool in_guest = smp_load_mb(kv->mode) != OUTSIDE_GUEST_MODE;
	unsigned long acked = smp_load_mb(kv->ipi_ack);
	unsigned long seq = smp_load_mb(kv->ipi_seq);
	uint64_t req = smp_load_acquire(&mb->req);
	uint64_t runs = smp_load_acquire(&mb->runs);
	bool ran;

	w->real->flush_tlb(kv);
	ran = smp_load_acquire(&mb->runs) > runs && smp_load_acquire(&mb->ack) > req;
	pthread_mutex_lock(&w->lock);
	w->flushes++;
	if (!ran)
		w->stub_missing++;
	else if (in_guest && seq > acked)
		watch_answered(w, acked, seq);
	pthread_mutex_unlock(&w->lock);
}

static void watch_vcpu(struct flush_watch *w, struct vmm_vcpu *vcpu)
{
	memset(w, 0, sizeof(*w));
	w->real = vcpu->kvcpu->ops;
	w->ops = *w->real;
	w->ops.kick = watch_kick;
	w->ops.flush_tlb = watch_flush_tlb;
	w->vcpu = vcpu;
	pthread_mutex_init(&w->lock, NULL);
	vcpu->kvcpu->ops = &w->ops;
}

/* The kicks of @w no flush answered in time: 0 if all were. */
static unsigned long watch_unanswered(struct flush_watch *w, unsigned long *first)
{
	unsigned long missed = 0;
	size_t span = 0;

	for (size_t i = 0; i < w->nr_kicks; i++) {
		unsigned long seq = w->kicks[i];

		while (span < w->nr_spans && w->spans[span].to < seq)
			span++;
		if (span < w->nr_spans && w->spans[span].from < seq)
			continue;
		if (!missed++)
			*first = seq;
	}
	return missed;
}

TEST(every_kick_into_a_running_guest_waits_for_its_flush_stub)
{
	struct flush_watch watch[2];
	unsigned long kicks = 0;
	struct vmm_config cfg;
	char console[16384] = "", err[512];
	struct vmm *vm;
	FILE *out;
	int status;

	kvm_config(&cfg, "smp", 2);
	cfg.pool_bytes = 1UL << 20;
	cfg.pressure = "all";
	TEST_ASSERT(!vmm_create(&cfg, &vm, err, sizeof(err)), "vmm_create: %s", err);
	out = fmemopen(console, sizeof(console) - 1, "w");
	TEST_ASSERT(out, "fmemopen");
	vm->console_out = out;
	for (int i = 0; i < 2; i++)
		watch_vcpu(&watch[i], &vm->vcpus[i]);
	status = vmm_run(vm);
	fflush(out);
	TEST_ASSERT(vm->guest_exited && status == 0 &&
			    strstr(console, "smp: 2 vCPUs, counter 20000, ok"),
		    "status %d (%s)\n%s", status, vm->stop_message, console);
	for (int i = 0; i < 2; i++) {
		struct flush_watch *w = &watch[i];
		unsigned long first = 0, missed = watch_unanswered(w, &first);

		printf("vCPU %d: %lu flushes served, %zu kicks into KVM_RUN, %lu answered late\n",
		       i, w->flushes, w->nr_kicks, missed);
		TEST_ASSERT(!w->stub_missing, "vCPU %d: %lu of %lu flushes ran no flush stub", i,
			    w->stub_missing, w->flushes);
		TEST_ASSERT(!missed,
			    "vCPU %d: %lu of %zu kicks into KVM_RUN acknowledged before the "
			    "flush stub ran (the first: kick %lu)",
			    i, missed, w->nr_kicks, first);
		kicks += w->nr_kicks;
	}
	TEST_ASSERT(kicks > 0, "the pressure kicked no vCPU out of KVM_RUN: nothing was shown");
	vmm_destroy(vm);
	fclose(out);
	for (int i = 0; i < 2; i++) {
		free(watch[i].kicks);
		free(watch[i].spans);
	}
}

/* ---- a crashing guest stops the run with one line, never hangs ---- */

TEST(triple_fault_is_reported_with_the_rip)
{
	struct vmm_config cfg;
	struct guest_run run;

	kvm_config(&cfg, "crash", 2);
	guest_run(&cfg, &run);
	TEST_ASSERT(strstr(run.console, "crash: loading an empty IDT"), "the guest ran:\n%s",
		    run.console);
	TEST_ASSERT(!run.guest_exited && run.status == VMM_EXIT_GUEST_STOPPED, "stopped: %d (%s)",
		    run.status, run.stop_message);
	/* Intel keeps the registers of the shutdown; AMD's KVM resets the vCPU (then: unknown). */
	TEST_ASSERT(strstr(run.stop_message, "triple fault (KVM_EXIT_SHUTDOWN)") &&
			    ((strstr(run.stop_message, "at rip 0x") &&
			      strstr(run.stop_message, "ud2")) ||
			     strstr(run.stop_message, "KVM reset the vCPU on shutdown")),
		    "reason, rip and instruction: %s", run.stop_message);
	TEST_ASSERT(!strchr(run.stop_message, '\n'), "one line: %s", run.stop_message);
}

TEST(unexpected_exception_is_named)
{
	char path[4096], err[512];
	struct vmm_config cfg;
	struct vmm_regs regs;
	unsigned long entry;
	struct vmm *vm;
	int status;

	kvm_config(&cfg, "crash", 1);
	snprintf(path, sizeof(path), "%s", cfg.image);
	entry = __guest_symbol(path, "crash_by_exception");
	TEST_ASSERT(entry, "crash_by_exception in %s", path);
	TEST_ASSERT(!vmm_create(&cfg, &vm, err, sizeof(err)), "vmm_create: %s", err);
	vm->backend->get_regs(&vm->vcpus[0], &regs);
	regs.rip = entry;
	vm->backend->set_regs(&vm->vcpus[0], &regs);
	status = vmm_run(vm);
	TEST_ASSERT(!vm->guest_exited && status == VMM_EXIT_GUEST_STOPPED, "stopped: %d (%s)",
		    status, vm->stop_message);
	TEST_ASSERT(strstr(vm->stop_message, "exception #UD invalid opcode (vector 6") &&
			    strstr(vm->stop_message, "ud2") && !strchr(vm->stop_message, '\n'),
		    "one line naming the exception and the instruction: %s", vm->stop_message);
	vmm_destroy(vm);
}

/* ---- the guest's own exception handlers ---- */

/*
 * A flush that finds KVM holding an exception for a gate of the guest's
 * own handler drops it: delivering it would run the handler, any guest
 * code, before the flush stub.  The #GP held here is made up (nothing
 * faulted), so dropped it is gone for good, and hello runs to its end.
 * Delivered, it would go to a handler outside RAM, whose fetch stops the
 * guest.  The handler's stack is an unused page of the VMM's own, mapped
 * from the start: a #PF on a guest stack page would take the #GP's place
 * in the delivery and lose it, dropped or not.
 */
TEST(flush_drops_an_exception_held_for_the_guests_handler)
{
	struct vmm_config cfg;
	struct vmm_vcpu *vcpu;
	char err[512];
	struct vmm *vm;
	int status;

	kvm_config(&cfg, "hello", 1);
	TEST_ASSERT(!vmm_create(&cfg, &vm, err, sizeof(err)), "vmm_create: %s", err);
	vcpu = &vm->vcpus[0];
	TEST_ASSERT_EQ(vm->backend->set_exception_handler(vcpu, GP_VECTOR, 0x10,
							  DEVKVM_IST2_TOP(DEVKVM_MAX_VCPUS - 1)),
		       0);
	TEST_ASSERT_EQ(devkvm_vcpu_hold_exception(vcpu, GP_VECTOR, 0), 0);
	kvm_make_request(KVM_REQ_TLB_FLUSH, vcpu->kvcpu); /* served before the first entry */
	status = vmm_run(vm);
	TEST_ASSERT(vm->guest_exited && status == 0, "status %d (%s)", status, vm->stop_message);
	TEST_ASSERT(smp_load_acquire(&devkvm_vcpu_flush_mailbox(vcpu)->runs) > 0,
		    "the flush stub ran");
	vmm_destroy(vm);
}

/*
 * HC_LOAD_CR3 on the exceptions image's load_identity_cr3(): refused in
 * flat mode, where the guest runs on the VMM's tables; taken in shadow
 * mode, the backend's default, where a guest may run on its own.
 */
static int load_identity_cr3(int mmu)
{
	unsigned long entry;
	struct vmm_config cfg;
	struct vmm_regs regs;
	char err[512];
	struct vmm *vm;
	int status;

	kvm_config(&cfg, "exceptions", 1);
	cfg.mmu = mmu;
	entry = __guest_symbol(cfg.image, "load_identity_cr3");
	TEST_ASSERT(entry, "load_identity_cr3 in %s", cfg.image);
	TEST_ASSERT(!vmm_create(&cfg, &vm, err, sizeof(err)), "vmm_create: %s", err);
	vm->backend->get_regs(&vm->vcpus[0], &regs);
	regs.rip = entry;
	vm->backend->set_regs(&vm->vcpus[0], &regs);
	status = vmm_run(vm);
	TEST_ASSERT(vm->guest_exited, "the guest exited (%s)", vm->stop_message);
	vmm_destroy(vm);
	return status;
}

TEST(cr3_load_is_refused_in_flat_mode_and_taken_in_shadow_mode)
{
	TEST_ASSERT_EQ(load_identity_cr3(KVM_MMU_FLAT), GUEST_EOPNOTSUPP);
	TEST_ASSERT_EQ(load_identity_cr3(KVM_MMU_SHADOW), 0);
	TEST_ASSERT_EQ(load_identity_cr3(VMM_MMU_AUTO), 0);
}

/*
 * Images without tables in shadow mode (the default; the two above are
 * flat's): on the identity CR3 the vCPU runs on the flat root as in flat
 * mode, while the notifier goes through the shadow MMU's rmap too; under
 * every pressure agent, RAM larger than the pool, 1 and 2 vCPUs.
 */
TEST(random_in_shadow_mode_under_pressure)
{
	run_under_pressure("random", 1, KVM_MMU_SHADOW, "random: ok");
}

TEST(smp_2_in_shadow_mode_under_pressure)
{
	run_under_pressure("smp", 2, KVM_MMU_SHADOW, "smp: 2 vCPUs, counter 20000, ok");
}
