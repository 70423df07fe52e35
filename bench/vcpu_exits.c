// SPDX-License-Identifier: GPL-2.0
/*
 * What a guest exit costs on the backend this machine has (kvm when
 * /dev/kvm opens with what the backend needs, else soft), each figure
 * beside its peer from the same run, as median and p90:
 *
 *   secondary fault   a guest's first write to a page, from the write to the
 *   round trip        next one: #PF, the VMM's stub, its port exit,
 *                     kvm_mmu_page_fault() (mmu/fault.c), KVM_RUN again,
 *                     the stub's iretq and the retried write; with the host
 *                     page absent (faulted in too), present, and present
 *                     after an invalidation zapped its SPTE (kvm: a frame
 *                     /dev/kvm has seen before).  Peer: an empty port exit
 *                     round trip (`out` to a port nobody claims).
 *   kick latency      kvm_flush_remote_tlbs() while the vCPU spins in guest
 *                     mode: the request, the backend's kick (kvm: a signal
 *                     and immediate_exit; soft: the interpreter's flag) and
 *                     the wait until the vCPU is out of KVM_RUN (or the
 *                     interpreter) and has acknowledged, with whatever the
 *                     backend does before its ack (kvm: an entry into the
 *                     guest's flush stub, where it serves the flush
 *                     first).  Peer: the same flush while the vCPU is
 *                     outside guest mode, where the request alone is
 *                     enough.  The vCPU thread and the flusher are pinned
 *                     to two CPUs, and the notes say how often other load
 *                     switched either away.
 *
 * On kvm every fault is an exit the host sees, so each interval between
 * two is one sample.  The soft vCPU takes a fault inside the interpreter,
 * with no exit, so there the guest writes BATCH fresh pages between two
 * empty exits and a sample is (that interval - the median interval of the
 * same loop over mapped pages) / BATCH.
 *
 * The environment comes from CPUID (leaf 1 ECX bit 31, leaf 0x40000000):
 * "bare metal", "nested under KVM", "nested under QEMU TCG" or the raw
 * signature, with what /dev/kvm runs guests on (VMX, SVM, or a software
 * hypervisor such as kvm_pvm).  Under a hypervisor an exit of the VMM's
 * guest goes through more than one hypervisor, so those figures are
 * labelled, the CSV's bare_metal_comparable column says no, and they are
 * never set beside bare-metal ones.  With --backend kvm and no usable
 * /dev/kvm the bench says so and exits 0.
 *
 * The guest is this file compiled with -DNOPIN_GUEST: it asks for commands
 * on a control port and the bench drives the backend's run() itself, as a
 * KVM selftest drives KVM_RUN.  Use a Release build for figures worth
 * quoting: Debug builds run the lock checker on every lock.
 *
 *	bench_vcpu_exits [--backend auto|soft|kvm] [--csv] [PAGES]	(default 4096)
 */

/* ---- shared by the guest and the host ---- */

#define PORT_BENCH_CTRL 0x520 /* the guest takes its next command: rax, rdi, rsi, rcx */
#define PORT_BENCH_NOP 0x521  /* claimed by nobody: the cheapest exit */

enum bench_cmd {
	CMD_EXITS = 1, /* rdi empty exits */
	CMD_TOUCH,     /* write rsi pages from rdi, an empty exit before every rcx-th (0: none) */
	CMD_SPIN,      /* count at rdi until told to stop */
};

/* The spin's words on their own cache lines: the guest counts, the host stops it. */
struct spin_ctl {
	volatile unsigned long count;
	char pad[56];
	volatile unsigned long stop;
};

#ifdef NOPIN_GUEST

#include "guest.h"

/* Hand the host rdi, rsi, rcx and take the next command from rax, rdi, rsi, rcx. */
static unsigned long next_cmd(unsigned long *a0, unsigned long *a1, unsigned long *a2)
{
	unsigned long cmd = 0;

	__asm__ volatile("outl %%eax, %w4"
			 : "+a"(cmd), "+D"(*a0), "+S"(*a1), "+c"(*a2)
			 : "Nd"((uint16_t)PORT_BENCH_CTRL)
			 : "memory");
	return cmd;
}

static void empty_exits(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		outb(PORT_BENCH_NOP, 0);
}

static void touch(unsigned long base, unsigned long n, unsigned long batch)
{
	for (unsigned long i = 0; i < n; i++) {
		if (batch && i % batch == 0)
			outb(PORT_BENCH_NOP, 0);
		*(volatile unsigned char *)(base + i * PAGE_SIZE) = 1;
	}
}

static void spin(struct spin_ctl *ctl)
{
	while (!ctl->stop)
		ctl->count++;
}

int guest_main(unsigned int cpu, unsigned int ncpus, unsigned long ram_size)
{
	/* The first exit tells the host where free RAM is. */
	unsigned long a0 = ram_free_start(), a1 = ram_free_end(), a2 = 0;

	for (;;) {
		switch (next_cmd(&a0, &a1, &a2)) {
		case CMD_EXITS:
			empty_exits(a0);
			break;
		case CMD_TOUCH:
			touch(a0, a1, a2);
			break;
		case CMD_SPIN:
			spin((struct spin_ctl *)a0);
			break;
		default:
			return 0;
		}
	}
}

#else /* the host side */

#include <cpuid.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/err.h"
#include "base/kthread.h"
#include "base/spinlock.h"
#include "bench/bench.h"
#include "mm/mm.h"
#include "mm/mmu_notifier.h"
#include "mm/page_alloc.h"
#include "vmm/kvm/devkvm_util.h"
#include "vmm/vm.h"

#define BATCH 16 /* soft: fresh pages written between two empty exits */
#define NR_EXITS 10000
#define NR_KICKS 2000
#define NR_REQUESTS 10000

/* Times of the exits of one command, and of the control exit that ended it. */
struct stamps {
	double *t;
	unsigned long n, cap;
	double end;
};

struct figure {
	double median, p90;
	unsigned long n;
};

enum {
	FIG_FAULT_ABSENT,
	FIG_FAULT_PRESENT,
	FIG_FAULT_AGAIN,
	FIG_EXIT,
	FIG_KICK,
	FIG_REQUEST,
	NR_FIGS
};

struct bench {
	struct vmm *vm;
	struct vmm_vcpu *vcpu;
	bool kvm;
	unsigned long pages;
	uint64_t free_start, free_end;
	uint64_t ctl_gpa, absent_gpa, present_gpa;
	struct page *ctl_page;
	struct spin_ctl *ctl; /* the host's view of the guest's spin_ctl */
	struct stamps st;
	double *scratch; /* intervals, sorted in place */
	struct figure fig[NR_FIGS];
	long faults, retries, kicks_sent, kicks_acked, requests_kicked;
	long vcpu_preempted, flusher_preempted; /* during the kicks */
	int cpu[2];				/* the vCPU's and the flusher's, or -1 */
};

/* ---- the environment ---- */

struct host_env {
	char label[64];
	char sig[13];
	bool nested;
	/* What /dev/kvm runs guests with: VMX, SVM, or software (kvm_pvm). */
	const char *dev_kvm;
};

/*
 * A /dev/kvm on a CPU without VMX or SVM is a software hypervisor, such
 * as PVM (kvm_pvm), which runs its guests on shadow page tables.
 */
static const char *dev_kvm_kind(void)
{
	unsigned int a, b, c, d;

	__cpuid(1, a, b, c, d);
	if (c & (1u << 5))
		return "VMX";
	if (__get_cpuid(0x80000001, &a, &b, &c, &d) && c & (1u << 2))
		return "SVM";
	if (!access("/sys/module/kvm_pvm", F_OK))
		return "kvm_pvm without VMX/SVM";
	return "without VMX/SVM";
}

/* The hypervisor's signature: CPUID leaf 0x40000000, EBX ECX EDX. */
static void read_signature(char sig[13])
{
	unsigned int a, b, c, d;

	__cpuid(0x40000000, a, b, c, d);
	memcpy(sig, &b, 4);
	memcpy(sig + 4, &c, 4);
	memcpy(sig + 8, &d, 4);
	sig[12] = '\0';
}

/*
 * Leaf 0x40000000 is read even without the hypervisor bit, which QEMU's
 * TCG CPU models need not set; on bare metal it holds no such signature.
 */
static void host_env_probe(struct host_env *e)
{
	unsigned int a, b, c, d;
	bool hypervisor_bit;

	memset(e, 0, sizeof(*e));
	e->dev_kvm = dev_kvm_kind();
	__cpuid(1, a, b, c, d);
	hypervisor_bit = c & (1u << 31);
	read_signature(e->sig);
	e->nested = true;
	if (!memcmp(e->sig, "KVMKVMKVM\0\0\0", 12)) {
		snprintf(e->label, sizeof(e->label), "nested under KVM");
	} else if (!memcmp(e->sig, "TCGTCGTCGTCG", 12)) {
		snprintf(e->label, sizeof(e->label), "nested under QEMU TCG");
	} else if (hypervisor_bit) {
		for (int i = 0; i < 12; i++)
			if (e->sig[i] && (e->sig[i] < 0x20 || e->sig[i] > 0x7e || e->sig[i] == '"'))
				e->sig[i] = '.';
		snprintf(e->label, sizeof(e->label), "nested under \"%s\"", e->sig);
	} else {
		e->nested = false;
		e->sig[0] = '\0';
		snprintf(e->label, sizeof(e->label), "bare metal");
	}
}

/* ---- driving the vCPU ---- */

static void stamp(struct stamps *st, double t)
{
	if (st->n < st->cap)
		st->t[st->n++] = t;
}

/* Serve exits until the guest asks for its next command; 0, or -EIO if it stopped. */
static int run_until_ctrl(struct bench *b)
{
	const struct vmm_backend_ops *ops = b->vm->backend;
	struct vmm_exit exit;

	b->st.n = 0;
	for (;;) {
		double t;

		ops->run(b->vcpu, &exit);
		t = now_ns();
		if (exit.reason == VMM_EXIT_PIO && exit.port == PORT_BENCH_CTRL) {
			b->st.end = t;
			return 0;
		}
		if (exit.reason == VMM_EXIT_PIO) {
			vmm_handle_pio(b->vcpu, &exit);
			if (exit.in)
				ops->complete_pio_in(b->vcpu, exit.data);
		} else if (exit.reason != VMM_EXIT_KICK) {
			fprintf(stderr, "bench_vcpu_exits: the guest stopped: %s\n",
				exit.reason == VMM_EXIT_ERROR ? exit.message : "unexpected exit");
			return -EIO;
		}
		stamp(&b->st, t);
	}
}

static int command(struct bench *b, unsigned long cmd, uint64_t a0, uint64_t a1, uint64_t a2)
{
	struct vmm_regs regs;

	b->vm->backend->get_regs(b->vcpu, &regs);
	regs.gpr[VMM_RAX] = cmd;
	regs.gpr[VMM_RDI] = a0;
	regs.gpr[VMM_RSI] = a1;
	regs.gpr[VMM_RCX] = a2;
	b->vm->backend->set_regs(b->vcpu, &regs);
	return run_until_ctrl(b);
}

/* ---- figures ---- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median and p90 of @v (sorted in place). */
static void set_figure(struct figure *f, double *v, unsigned long n)
{
	f->n = n;
	if (!n)
		return;
	qsort(v, n, sizeof(*v), cmp_double);
	f->median = v[n / 2];
	f->p90 = v[n * 9 / 10];
}

/* The intervals between the command's exits, not counting the control exit. */
static unsigned long exit_intervals(const struct bench *b, double *out)
{
	unsigned long n = 0;

	for (unsigned long i = 1; i < b->st.n; i++)
		out[n++] = b->st.t[i] - b->st.t[i - 1];
	return n;
}

/* Soft: from each batch's exit to the next, the last batch ending at the control exit. */
static unsigned long batch_intervals(const struct bench *b, double *out)
{
	unsigned long n = exit_intervals(b, out);

	if (b->st.n)
		out[n++] = b->st.end - b->st.t[b->st.n - 1];
	return n;
}

/* ---- the measurements ---- */

static int measure_empty_exits(struct bench *b)
{
	int ret = command(b, CMD_EXITS, NR_EXITS, 0, 0);

	if (!ret)
		set_figure(&b->fig[FIG_EXIT], b->scratch, exit_intervals(b, b->scratch));
	return ret;
}

/* kvm: each fault is an exit; the interval between two is one round trip. */
static int measure_faults_kvm(struct bench *b, uint64_t gpa, struct figure *f)
{
	int ret = command(b, CMD_TOUCH, gpa, b->pages, 0);

	if (!ret)
		set_figure(f, b->scratch, exit_intervals(b, b->scratch));
	return ret;
}

/* Soft: BATCH faults between two exits, less the same loop over the then mapped pages. */
static int measure_faults_soft(struct bench *b, uint64_t gpa, struct figure *f)
{
	double *mapped = b->scratch + b->st.cap;
	struct figure peer = { 0 };
	unsigned long n;
	int ret = command(b, CMD_TOUCH, gpa, b->pages, BATCH);

	if (ret)
		return ret;
	n = batch_intervals(b, b->scratch);
	ret = command(b, CMD_TOUCH, gpa, b->pages, BATCH);
	if (ret)
		return ret;
	set_figure(&peer, mapped, batch_intervals(b, mapped));
	for (unsigned long i = 0; i < n; i++)
		b->scratch[i] = (b->scratch[i] - peer.median) / BATCH;
	set_figure(f, b->scratch, n);
	return 0;
}

/* What a host invalidation leaves: the pages stay, their SPTEs go (with a flush). */
static void invalidate_region(struct bench *b, uint64_t gpa)
{
	unsigned long hva = b->vm->ram_hva + (gpa - GUEST_RAM_BASE);
	struct mmu_notifier_range range;

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, b->vm->mm, hva,
				hva + b->pages * PAGE_SIZE);
	mmu_notifier_invalidate_range_start(&range);
	mmu_notifier_invalidate_range_end(&range);
}

static int measure_faults(struct bench *b)
{
	struct kvm_stat *stat = &b->vm->kvm->stat;
	long faults = atomic_long_read(&stat->faults),
	     retries = atomic_long_read(&stat->pf_retries);
	int (*measure)(struct bench *, uint64_t, struct figure *) =
		b->kvm ? measure_faults_kvm : measure_faults_soft;
	int ret;

	/* The host faults these in now, so that only the secondary MMU has work left. */
	for (unsigned long i = 0; i < b->pages; i++)
		if (vmm_write_guest(b->vm, b->present_gpa + i * PAGE_SIZE, "", 1))
			return -EFAULT;
	ret = measure(b, b->absent_gpa, &b->fig[FIG_FAULT_ABSENT]);
	if (!ret)
		ret = measure(b, b->present_gpa, &b->fig[FIG_FAULT_PRESENT]);
	if (!ret) {
		/* The same pages again: host pages present, frames /dev/kvm has mapped before. */
		invalidate_region(b, b->absent_gpa);
		ret = measure(b, b->absent_gpa, &b->fig[FIG_FAULT_AGAIN]);
	}
	b->faults = atomic_long_read(&stat->faults) - faults;
	b->retries = atomic_long_read(&stat->pf_retries) - retries;
	return ret;
}

/*
 * The vCPU and the flusher each on a CPU of its own, when there are two:
 * the flusher kicks only a guest it has just seen running, which then
 * means running on the other CPU, not waiting for the flusher's time slice.
 */
static void pick_cpus(struct bench *b)
{
	cpu_set_t set;
	int n = 0;

	b->cpu[0] = b->cpu[1] = -1;
	if (sched_getaffinity(0, sizeof(set), &set))
		return;
	for (int i = 0; i < CPU_SETSIZE && n < 2; i++)
		if (CPU_ISSET(i, &set))
			b->cpu[n++] = i;
	if (n < 2)
		b->cpu[0] = b->cpu[1] = -1;
}

static void pin_self(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* The thread that flushes while the vCPU spins in guest mode. */
struct flusher {
	struct bench *b;
	unsigned long done;
	int abort; /* the vCPU stopped: nothing will come back into guest mode */
};

/* Wait until the guest counts past @seen: it runs, so the vCPU is in guest mode. */
static bool wait_guest_running(struct flusher *f, unsigned long seen)
{
	struct kvm_vcpu *kv = f->b->vcpu->kvcpu;
	unsigned int spins = 0;

	while (smp_load_acquire(&f->b->ctl->count) == seen ||
	       smp_load_acquire(&kv->mode) != IN_GUEST_MODE) {
		if (smp_load_acquire(&f->abort))
			return false;
		cpu_spin_wait(&spins);
	}
	return true;
}

/* Involuntary context switches of the calling thread so far. */
static long preemptions(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_THREAD, &ru) ? 0 : ru.ru_nivcsw;
}

static double timed_flush(struct kvm *kvm)
{
	double t0 = now_ns();

	write_lock(&kvm->mmu_lock);
	kvm_flush_remote_tlbs(kvm);
	write_unlock(&kvm->mmu_lock);
	return now_ns() - t0;
}

static int flusher_fn(void *data)
{
	struct flusher *f = data;
	long preempted = preemptions();
	unsigned long seen = 0;

	pin_self(f->b->cpu[1]);
	for (; f->done < NR_KICKS; f->done++) {
		if (!wait_guest_running(f, seen))
			break;
		f->b->scratch[f->done] = timed_flush(f->b->vm->kvm);
		/* Out and acknowledged: the count can only move once the vCPU is back in. */
		seen = smp_load_acquire(&f->b->ctl->count);
	}
	f->b->flusher_preempted = preemptions() - preempted;
	smp_store_release(&f->b->ctl->stop, 1);
	return 0;
}

/* The vCPU runs on this thread, the one its kick signals; the flusher is another. */
static int measure_kicks(struct bench *b)
{
	struct kvm_vcpu *kv = b->vcpu->kvcpu;
	long seq = READ_ONCE(kv->ipi_seq);
	long acked = atomic_long_read(&kv->stat.kicks_acked);
	struct flusher f = { .b = b };
	long preempted;
	struct kthread *k;
	cpu_set_t saved;
	int ret;

	pick_cpus(b);
	pthread_getaffinity_np(pthread_self(), sizeof(saved), &saved);
	pin_self(b->cpu[0]);
	preempted = preemptions();
	k = kthread_run(flusher_fn, &f, "flusher");
	if (IS_ERR(k))
		return PTR_ERR(k);
	ret = command(b, CMD_SPIN, b->ctl_gpa, 0, 0);
	b->vcpu_preempted = preemptions() - preempted;
	pthread_setaffinity_np(pthread_self(), sizeof(saved), &saved);
	if (ret)
		smp_store_release(&f.abort, 1);
	kthread_join(k);
	b->kicks_sent = READ_ONCE(kv->ipi_seq) - seq;
	b->kicks_acked = atomic_long_read(&kv->stat.kicks_acked) - acked;
	set_figure(&b->fig[FIG_KICK], b->scratch, f.done);
	return ret;
}

/* The peer: the vCPU is outside guest mode (between commands), the request is enough. */
static void measure_requests(struct bench *b)
{
	struct kvm_vcpu *kv = b->vcpu->kvcpu;
	long seq = READ_ONCE(kv->ipi_seq);

	for (unsigned long i = 0; i < NR_REQUESTS; i++)
		b->scratch[i] = timed_flush(b->vm->kvm);
	b->requests_kicked = READ_ONCE(kv->ipi_seq) - seq;
	set_figure(&b->fig[FIG_REQUEST], b->scratch, NR_REQUESTS);
}

/* ---- setup ---- */

/* The guest's first exit says where free RAM is: the spin page, then two regions. */
static int bench_layout(struct bench *b)
{
	struct vmm_regs regs;
	int ret = run_until_ctrl(b);

	if (ret)
		return ret;
	b->vm->backend->get_regs(b->vcpu, &regs);
	b->free_start = regs.gpr[VMM_RDI];
	b->free_end = regs.gpr[VMM_RSI];
	b->ctl_gpa = b->free_start;
	b->absent_gpa = b->ctl_gpa + PAGE_SIZE;
	b->present_gpa = b->absent_gpa + b->pages * PAGE_SIZE;
	if (b->present_gpa + b->pages * PAGE_SIZE > b->free_end)
		return -ENOSPC;
	ret = get_user_page_ref(b->vm->mm, b->vm->ram_hva + (b->ctl_gpa - GUEST_RAM_BASE), true,
				&b->ctl_page, NULL);
	if (!ret)
		b->ctl = page_address(b->ctl_page);
	return ret;
}

static int bench_create(struct bench *b, enum vmm_backend_kind kind, char *err, size_t len)
{
	unsigned long cap = max(b->pages, (unsigned long)max(NR_EXITS, NR_REQUESTS)) + 16;
	struct vmm_config cfg;
	int ret;

	b->st.t = calloc(cap, sizeof(double));
	b->scratch = calloc(2 * cap, sizeof(double));
	if (!b->st.t || !b->scratch)
		return -ENOMEM;
	b->st.cap = cap;
	vmm_config_init(&cfg);
	cfg.image = NOPIN_BENCH_GUEST_ELF;
	cfg.backend = kind;
	cfg.mem_bytes = (2 * b->pages + 64) * PAGE_SIZE + (2UL << 20);
	cfg.pool_bytes = cfg.mem_bytes + (16UL << 20); /* no reclaim: tables and the VMM's pages */
	cfg.quiet = true;
	ret = vmm_create(&cfg, &b->vm, err, len);
	if (ret) {
		b->vm = NULL;
		return ret;
	}
	b->vcpu = &b->vm->vcpus[0];
	ret = bench_layout(b);
	if (ret)
		snprintf(err, len, "cannot lay out %lu pages twice in guest RAM: %s", b->pages,
			 strerror(-ret));
	return ret;
}

static void bench_destroy(struct bench *b)
{
	if (b->ctl_page)
		put_page(b->ctl_page);
	if (b->vm)
		vmm_destroy(b->vm);
	free(b->st.t);
	free(b->scratch);
}

/* ---- output ---- */

static const char *const fig_ids[NR_FIGS] = {
	[FIG_FAULT_ABSENT] = "fault_host_absent",
	[FIG_FAULT_PRESENT] = "fault_host_present",
	[FIG_FAULT_AGAIN] = "fault_after_invalidation",
	[FIG_EXIT] = "empty_port_exit",
	[FIG_KICK] = "kick_in_guest",
	[FIG_REQUEST] = "flush_request_outside",
};

static const char *const fig_names[NR_FIGS] = {
	[FIG_FAULT_ABSENT] = "secondary fault round trip, host page absent",
	[FIG_FAULT_PRESENT] = "secondary fault round trip, host page present",
	[FIG_FAULT_AGAIN] = "secondary fault round trip, after invalidation",
	[FIG_EXIT] = "  peer: empty port exit round trip",
	[FIG_KICK] = "kick latency, vCPU in guest mode (kick to ack)",
	[FIG_REQUEST] = "  peer: flush request, vCPU outside guest mode",
};

static void print_csv(const struct bench *b, const struct host_env *e)
{
	printf("backend,dev_kvm,environment,cpuid_signature,figure,median_ns,p90_ns,samples,"
	       "bare_metal_comparable\n");
	for (int i = 0; i < NR_FIGS; i++)
		printf("%s,\"%s\",\"%s\",\"%s\",%s,%.0f,%.0f,%lu,%s\n", b->vm->backend->name,
		       b->kvm ? e->dev_kvm : "", e->label, e->sig, fig_ids[i], b->fig[i].median,
		       b->fig[i].p90, b->fig[i].n, e->nested ? "no" : "yes");
}

/* To stderr under --csv, beside the notes: one run gives the table and the CSV. */
static void print_table(const struct bench *b, const struct host_env *e, FILE *f)
{
	fprintf(f, "vCPU exits on the %s backend", b->vm->backend->name);
	if (b->kvm)
		fprintf(f, " (/dev/kvm: %s)", e->dev_kvm);
	fprintf(f, ", %s", e->label);
	if (e->nested)
		fprintf(f, " (CPUID 0x40000000 \"%s\")", e->sig);
	fprintf(f, "\n%-48s %10s %10s %8s\n", "", "median ns", "p90 ns", "samples");
	for (int i = 0; i < NR_FIGS; i++)
		fprintf(f, "%-48s %10.0f %10.0f %8lu\n", fig_names[i], b->fig[i].median,
			b->fig[i].p90, b->fig[i].n);
}

static const char *why_not_comparable(const struct bench *b, const struct host_env *e)
{
	if (strstr(e->label, "TCG"))
		return "the outer CPU is QEMU's TCG emulation";
	if (!b->kvm)
		return "the VMM itself runs in a VM: its clock, scheduling and memory are virtual";
	if (strstr(e->dev_kvm, "without"))
		return "this /dev/kvm has no VMX/SVM: a software hypervisor takes every guest #PF";
	return "each exit of the nested guest is taken by the outer hypervisor first";
}

/* What the figures mean, and whether each counts what it says; stderr under --csv. */
static void print_notes(const struct bench *b, const struct host_env *e, FILE *f)
{
	if (e->nested)
		fprintf(f,
			"%s: figures measured under nesting are not comparable with bare metal\n"
			"  (%s);\n  compare them only with runs in the same environment\n",
			e->label, why_not_comparable(b, e));
	if (!b->kvm)
		fprintf(f,
			"soft: a fault is no exit; per fault = (%d first writes + 1 empty exit - "
			"median of the same over mapped pages) / %d\n",
			BATCH, BATCH);
	fprintf(f, "secondary faults taken: %ld for %lu writes that needed one (%ld retried)\n",
		b->faults, 3 * b->pages, b->retries);
	fprintf(f, "kicks sent %ld, acknowledged %ld; flush requests that needed a kick: %ld\n",
		b->kicks_sent, b->kicks_acked, b->requests_kicked);
	/* Other load on the machine: a kick may then wait for the vCPU's time slice. */
	fprintf(f,
		"during the kicks, switches away from the runnable vCPU thread (CPU %d): %ld, "
		"from the flusher (CPU %d): %ld\n",
		b->cpu[0], b->vcpu_preempted, b->cpu[1], b->flusher_preempted);
#ifdef CONFIG_LOCKDEP
	fprintf(f, "Debug build: the lock checker runs on every lock; use Release for figures\n");
#endif
}

static int run_bench(struct bench *b)
{
	int ret = measure_empty_exits(b);

	if (!ret)
		ret = measure_faults(b);
	if (!ret)
		ret = measure_kicks(b);
	if (!ret)
		measure_requests(b);
	return ret;
}

static int usage(void)
{
	fprintf(stderr, "usage: bench_vcpu_exits [--backend auto|soft|kvm] [--csv] [PAGES]\n");
	return 2;
}

/* auto: kvm when /dev/kvm opens with what the backend needs, else soft; say which. */
static enum vmm_backend_kind choose_backend(const char *arg, bool csv)
{
	struct devkvm_err err = { "" };

	if (!strcmp(arg, "soft")) {
		fprintf(csv ? stderr : stdout, "backend soft (--backend soft)\n");
		return VMM_BACKEND_SOFT;
	}
	if (devkvm_usable(&err)) {
		fprintf(csv ? stderr : stdout, "backend kvm (/dev/kvm)\n");
		return VMM_BACKEND_KVM;
	}
	if (!strcmp(arg, "kvm")) {
		printf("bench_vcpu_exits: the kvm backend is unavailable: %s; nothing measured\n",
		       err.msg);
		return VMM_BACKEND_AUTO;
	}
	fprintf(csv ? stderr : stdout, "backend soft (%s)\n", err.msg);
	return VMM_BACKEND_SOFT;
}

/* Options into @b and *@backend, *@csv; false on a bad one. */
static bool parse_args(int argc, char **argv, struct bench *b, const char **backend, bool *csv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--csv"))
			*csv = true;
		else if (!strcmp(argv[i], "--backend") && i + 1 < argc)
			*backend = argv[++i];
		else if (argv[i][0] != '-' && strtoul(argv[i], NULL, 0) >= BATCH)
			b->pages = strtoul(argv[i], NULL, 0);
		else
			return false;
	}
	/* Whole batches, for the soft backend's method. */
	b->pages = (b->pages + BATCH - 1) / BATCH * BATCH;
	return !strcmp(*backend, "auto") || !strcmp(*backend, "soft") || !strcmp(*backend, "kvm");
}

static void print_results(const struct bench *b, const struct host_env *env, bool csv)
{
	print_table(b, env, csv ? stderr : stdout);
	if (csv)
		print_csv(b, env);
	print_notes(b, env, csv ? stderr : stdout);
}

int main(int argc, char **argv)
{
	struct bench b = { .pages = 4096 };
	const char *backend = "auto";
	enum vmm_backend_kind kind;
	struct host_env env;
	bool csv = false;
	char err[512];
	int ret;

	if (!parse_args(argc, argv, &b, &backend, &csv))
		return usage();
	task_register("bench");
	host_env_probe(&env);
	kind = choose_backend(backend, csv);
	if (kind == VMM_BACKEND_AUTO)
		return 0;
	b.kvm = kind == VMM_BACKEND_KVM;
	ret = bench_create(&b, kind, err, sizeof(err));
	if (!ret) {
		ret = run_bench(&b);
		snprintf(err, sizeof(err), "%s", strerror(-ret));
	}
	if (ret)
		printf("bench_vcpu_exits: nothing measured on the %s backend: %s\n",
		       b.kvm ? "kvm" : "soft", err);
	else
		print_results(&b, &env, csv);
	bench_destroy(&b);
	return 0;
}

#endif
