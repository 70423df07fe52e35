/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VMM's VM and vCPU objects, over the secondary MMU (mmu/kvm_host.h).
 *
 * One host mm per VM; guest RAM is one VMA of it (anonymous, or a shared
 * mapping of --mem-file) registered as memslot 0 at GUEST_RAM_BASE, so every
 * guest page is an ordinary host page the host may reclaim, migrate or
 * truncate.  Each vCPU is a thread running a backend (soft: the Capstone
 * interpreter; kvm: /dev/kvm) in the run loop of vmm/vcpu.c; port exits go
 * to the devices of vmm/devices.c.
 *
 *	struct vmm_config cfg;
 *	struct vmm *vm;
 *	char err[256];
 *	vmm_config_init(&cfg);  cfg.image = "hello.elf";
 *	ret = vmm_create(&cfg, &vm, err, sizeof(err));	 pool, mm, RAM, kvm, image, vCPUs
 *	status = vmm_run(vm);		 vCPU threads until the guest exits
 *	vmm_destroy(vm);
 *
 * Lock order, outermost first: pressure.free_lock (mutex; the dontneed-free
 * agent discards under it), then the host's locks (mm/mm_types.h) and the
 * secondary MMU's (mmu/kvm_host.h).  stop_lock (mutex) is a leaf: nothing
 * is taken under it.  The VMM's other waits (halted vCPUs, the mprotect
 * window, the agents' periods) are wait queues on flags, with no lock.
 * vCPU threads and pressure agents are registered tasks, so the lock
 * checker names them.
 */
#ifndef NOPIN_VMM_VM_H
#define NOPIN_VMM_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/compiler.h"
#include "base/mutex.h"
#include "base/wait.h"
#include "guest/abi.h"
#include "mmu/kvm_host.h"
#include "vmm/pressure.h"

/* Exit statuses of `nopin run` besides the guest's own (its low 8 bits). */
#define VMM_EXIT_USAGE 2	   /* a bad option (before any guest ran) */
#define VMM_EXIT_SANITIZER 122	   /* the guest exited 0 but the sanitizer reported */
#define VMM_EXIT_VMM_ERROR 120	   /* the VMM could not build or run the VM */
#define VMM_EXIT_GUEST_STOPPED 121 /* the guest was stopped: wild access, bad insn ... */
#define VMM_EXIT_GUEST_HALTED 123  /* every vCPU halted: nothing can wake one (vmm/vcpu.c) */
/* `nopin exec` refusing its PROGRAM before any guest ran, with a shell's statuses. */
#define VMM_EXIT_CANNOT_EXEC 126 /* not a static x86-64 ELF executable */
#define VMM_EXIT_NOT_FOUND 127	 /* missing or unreadable */

enum vmm_backend_kind {
	VMM_BACKEND_AUTO,
	VMM_BACKEND_SOFT,
	VMM_BACKEND_KVM,
};

struct vmm_config {
	const char *image; /* ELF path */
	enum vmm_backend_kind backend;
	size_t mem_bytes;  /* guest RAM */
	size_t pool_bytes; /* host frames: may be smaller than RAM */
	unsigned int nr_vcpus;
	const char *mem_file;  /* file-backed RAM, or NULL */
	const char *swap_file; /* swap file for reclaim, or NULL */
	unsigned long legacy;  /* LEGACY_BIT()s */
	bool pin;	       /* the pinning baseline */
	int mmu;	       /* enum kvm_mmu_mode, or VMM_MMU_AUTO */
	const char *pressure;  /* --pressure LIST, or NULL */
	/* Tests: a guest access the host refuses returns to vmm_vcpu_run(). */
	bool memory_fault_exit;
	/* A progress line on stderr for runs longer than a second. */
	bool progress;
	bool quiet;			    /* no "backend: ..." line */
	const struct vmm_exec_config *exec; /* `nopin exec`, or NULL */
};

/*
 * `nopin exec` (vmm/cmd_exec.c, vmm/exec.c): the program the guest kernel
 * runs, what it is given, and the host files it sees.  The VMM answers
 * HC_EXEC_INFO, HC_HOSTFS, HC_EXEC_FAULT and HC_EXEC_SYSCALLS only for a
 * VM made with one, and prints the guest's console to stderr, so that
 * stdout is the program's alone.
 */
struct vmm_exec_config {
	const char *program; /* as the user named it: opened, and shown to the guest */
	int argc;
	char *const *argv; /* argc arguments, argv[0] the program as named */
	char *const *envp; /* NULL-terminated */
	const char *root;  /* --root: what the program's paths resolve in; NULL: "." */
	bool rw;	   /* --rw: writes under the root allowed */
};

/*
 * The smallest frame pool: kswapd's watermarks (vmm_setup_reclaim()) are a
 * 32nd and a 16th of the pool, but at least these many frames, and a pool
 * must hold its high watermark.  Which guest runs well in it is another
 * matter: the hello image does, memtest thrashes for minutes.
 */
#define VMM_MIN_POOL_WMARK_LOW 8UL
#define VMM_MIN_POOL_WMARK_HIGH 16UL
#define VMM_MIN_POOL (VMM_MIN_POOL_WMARK_HIGH << PAGE_SHIFT)

/* --mmu unset: tdp on the soft backend, shadow on kvm (vmm_mmu_mode()). */
#define VMM_MMU_AUTO (-1)

void vmm_config_init(struct vmm_config *cfg);
/*
 * The MMU mode @cfg asks for on its backend, VMM_MMU_AUTO resolved; or
 * -EINVAL with the reason in @err for a mode the backend cannot run.
 */
int vmm_mmu_mode(const struct vmm_config *cfg, enum kvm_mmu_mode *mode, char *err, size_t errlen);

enum vmm_reg {
	VMM_RAX,
	VMM_RCX,
	VMM_RDX,
	VMM_RBX,
	VMM_RSP,
	VMM_RBP,
	VMM_RSI,
	VMM_RDI,
	VMM_R8,
	VMM_R9,
	VMM_R10,
	VMM_R11,
	VMM_R12,
	VMM_R13,
	VMM_R14,
	VMM_R15,
	VMM_NR_GPRS,
};

struct vmm_regs {
	uint64_t gpr[VMM_NR_GPRS];
	uint64_t rip;
	uint64_t rflags;
};

enum vmm_exit_reason {
	VMM_EXIT_PIO, /* port, size, in, data */
	VMM_EXIT_HLT,
	VMM_EXIT_KICK,	       /* kicked: look at the VM's state, run again */
	VMM_EXIT_ERROR,	       /* message says what; the guest cannot go on */
	VMM_EXIT_MEMORY_FAULT, /* cfg.memory_fault_exit: vcpu->fault_* say where */
};

struct vmm_exit {
	enum vmm_exit_reason reason;
	uint16_t port;
	uint8_t size;
	bool in;
	uint32_t data; /* out: the value written; in: the device's answer */
	char message[1400];
};

struct vmm_vcpu;

/*
 * A backend runs guest code for one vCPU.  run() enters the guest and
 * returns at the next exit; kick() (any thread, never sleeps) makes run()
 * return soon.  How a vCPU drops its cached translations when it serves a
 * flush request is its kvm_vcpu_ops.flush_tlb (mmu/kvm_host.h).
 */
struct vmm_backend_ops {
	const char *name;
	/* Optional: the backend's per-VM state (vm->backend_vm), after the MMU exists. */
	int (*vm_create)(struct vmm *vm, char *err, size_t errlen);
	void (*vm_destroy)(struct vmm *vm);
	int (*vcpu_create)(struct vmm_vcpu *vcpu);
	void (*vcpu_destroy)(struct vmm_vcpu *vcpu);
	void (*run)(struct vmm_vcpu *vcpu, struct vmm_exit *exit);
	void (*kick)(struct vmm_vcpu *vcpu);
	void (*get_regs)(struct vmm_vcpu *vcpu, struct vmm_regs *regs);
	void (*set_regs)(struct vmm_vcpu *vcpu, const struct vmm_regs *regs);
	/* Complete an IN: put @val in the destination register. */
	void (*complete_pio_in)(struct vmm_vcpu *vcpu, uint32_t val);
	/*
	 * HC_SET_EXCEPTION_HANDLER, checked by vmm/devices.c: this vCPU
	 * delivers @vector to the guest's handler @rip on the stack @stack
	 * (its top); @rip 0: the exception stops the guest again.  0 or -errno.
	 */
	int (*set_exception_handler)(struct vmm_vcpu *vcpu, unsigned int vector, uint64_t rip,
				     uint64_t stack);
	/* Can the guest run on its own page tables here (HC_LOAD_CR3)? */
	bool guest_page_tables;
};

extern const struct vmm_backend_ops vmm_soft_backend;
extern const struct vmm_backend_ops vmm_kvm_backend;

#define VMM_CONSOLE_LINE 256

struct vmm_vcpu {
	struct vmm *vm;
	unsigned int id;
	pthread_t thread;
	struct kvm_vcpu *kvcpu;
	void *backend_data;
	char console[VMM_CONSOLE_LINE];
	unsigned int console_len;
	bool halted;
	uint64_t halt_rip; /* where it halted (past the hlt) */
	bool halt_if;	   /* and whether IF was set */
	/* The last HC_UCALL: the guest address of its struct ucall. */
	uint64_t ucall_gpa;
	bool ucall_pending;
	/* A refused guest access (cfg.memory_fault_exit); the instruction will retry. */
	uint64_t fault_gpa;
	bool fault_write;
	bool fault_pending;
};

/* Why vmm_vcpu_run() returned. */
enum vmm_run_exit {
	VMM_RUN_UCALL,	      /* vcpu->ucall_gpa */
	VMM_RUN_EXIT,	      /* the guest wrote the exit port */
	VMM_RUN_STOPPED,      /* the VM was stopped: vm->stop_message */
	VMM_RUN_MEMORY_FAULT, /* vcpu->fault_gpa, fault_write */
};

/* A port's handler: 0 to go on, or a negative errno to stop the guest. */
typedef int (*vmm_pio_fn)(struct vmm_vcpu *vcpu, uint16_t port, unsigned int size, bool in,
			  uint32_t *data);

struct vmm_port {
	uint16_t port;
	vmm_pio_fn fn;
	const char *name;
};

#define VMM_MAX_PORTS 16

struct vmm {
	struct vmm_config cfg;
	const struct vmm_backend_ops *backend;
	void *backend_vm;
	struct frame_pool *pool;
	struct mm_struct *mm; /* the VMM's host address space, mm_users held */
	struct file *mem_file;
	int swap_type;	       /* swapon()'s, or -1 */
	unsigned long ram_hva; /* where guest RAM is mapped in @mm */
	struct kvm *kvm;
	uint64_t entry;
	struct vmm_vcpu *vcpus;

	struct pressure pressure;

	struct vmm_port ports[VMM_MAX_PORTS];
	unsigned int nr_ports;

	/* The end of the run: the first vCPU to stop the VM sets these. */
	struct mutex stop_lock;
	bool stopping;
	bool guest_exited; /* through the exit port, not stopped by the VMM */
	int exit_status;
	char stop_message[1500];
	/* Halted vCPUs, and vmm_run() showing progress, wait here for the end. */
	wait_queue_head_t halt_wq;
	/*
	 * An eventfd that becomes readable when the run stops: a vCPU about
	 * to block in a host call on a terminal or a pipe polls it beside the
	 * fd (vmm_wait_fd()), which a kick could not interrupt on soft, and
	 * on kvm only if it came after the call began.
	 */
	int stop_efd;
	atomic_t nr_halted; /* vCPUs halted: all of them ends the run */
	FILE *console_out;
	struct vmm_exec *exec; /* cfg.exec's state (vmm/exec.h), or NULL */
};

int vmm_create(const struct vmm_config *cfg, struct vmm **vmp, char *err, size_t errlen);
/* Run every vCPU until the guest exits or is stopped; returns the exit status. */
int vmm_run(struct vmm *vm);
void vmm_destroy(struct vmm *vm);
/*
 * Did writing guest RAM back fail (a full disk under --swap or
 * --mem-file)?  Reclaim then frees nothing and the run ends in an
 * allocation failure, which hides the cause: this names the file, the
 * offset and the errno, into @buf.  Before vmm_destroy().
 */
bool vmm_describe_writeback_error(struct vmm *vm, char *buf, size_t len);

/* End the run with @status (first caller wins) and kick every vCPU. */
void vmm_stop(struct vmm *vm, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The guest wrote @status to the exit port. */
void vmm_guest_exit(struct vmm *vm, int status);
/*
 * Wait until @fd is ready for @events (POLLIN, POLLOUT) or the run stops:
 * 0, -EINTR when it stopped (the caller gives up its host call), or
 * -errno from poll(2).  For a vCPU's host call that may block for ever.
 */
int vmm_wait_fd(struct vmm *vm, int fd, short events);
static inline bool vmm_stopping(struct vmm *vm)
{
	return smp_load_acquire(&vm->stopping);
}

/* Guest RAM through the host mm (faulting in as needed): 0 or -EFAULT. */
int vmm_write_guest(struct vmm *vm, uint64_t gpa, const void *buf, size_t len);
int vmm_read_guest(struct vmm *vm, uint64_t gpa, void *buf, size_t len);
/*
 * vmm_write_guest() for a device's answer while the guest runs: under
 * --pressure mprotect the host may have made that RAM read-only for a
 * while, as it may for the guest's own stores, so a refused write waits
 * for the window to close and is made again.  0 or -EFAULT.
 */
int vmm_store_guest(struct vmm *vm, uint64_t gpa, const void *buf, size_t len);

/* [vmm/devices.c] */
int vmm_register_port(struct vmm *vm, uint16_t port, const char *name, vmm_pio_fn fn);
void vmm_register_default_ports(struct vmm *vm);
int vmm_handle_pio(struct vmm_vcpu *vcpu, struct vmm_exit *exit);
void vmm_console_flush(struct vmm_vcpu *vcpu);

/* [vmm/stats.c] --stats: a table, or one JSON object */
void vmm_print_stats(struct vmm *vm, FILE *f, bool json);

/* [vmm/vcpu.c] */
void *vmm_vcpu_thread(void *arg);

/* What a backend does with a guest access the secondary fault path refused. */
enum vmm_fault_action {
	VMM_FAULT_RETRY, /* retry the access now */
	VMM_FAULT_EXIT,	 /* leave the run (VMM_EXIT_MEMORY_FAULT); retry when resumed */
	VMM_FAULT_STOP,	 /* stop the guest */
};
enum vmm_fault_action vmm_memory_fault(struct vmm_vcpu *vcpu, uint64_t gpa, bool write, int err);
/*
 * For a message: what needed the secondary fault at @gpa (@level 0: the
 * page; 1-4: the guest's table of that level) on the way to @gva, "the
 * guest's page table at guest address ... (walking to ...)" or "guest
 * address ... (virtual ...)".
 */
void vmm_describe_fault_gpa(struct vmm_vcpu *vcpu, uint64_t gpa, int level, uint64_t gva, char *buf,
			    size_t len);

/* [vmm/soft_backend.c] */
/*
 * Emulate the one guest instruction at @regs->rip with the soft
 * interpreter, for a backend whose CPU cannot make the access itself (the
 * kvm backend's write to a write-tracked guest page table).  Its accesses
 * go through the vCPU's translations as the soft backend's do
 * (soft_translate(): the identity map or the guest's own tables, secondary
 * faults taken and the instruction retried), a write to a write-tracked
 * gfn is made in place and then reported with kvm_vcpu_track_write().
 * The vCPU's own thread, out of guest mode.  0 with @regs after the
 * instruction; -EAGAIN, @regs untouched, when every try was retried (the
 * host invalidated what each secondary fault installed): the caller lets
 * the guest execute the instruction again, as a CPU would; -EIO when the
 * interpreter cannot run it, with @msg saying why and naming the
 * instruction.  @sys is the state the instruction runs in beyond the
 * registers: CS (its CPL makes the accesses user ones at CPL 3, as the
 * hardware's were), the FS and GS bases an override adds, and the SSE
 * registers (an SSE store to a guest page table is a tracked write too),
 * which come back in @sys as the instruction left them.
 */
struct vmm_sys_regs {
	uint16_t cs;
	uint64_t fs_base, gs_base;
	uint8_t xmm[16][16];
	uint32_t mxcsr;
	/*
	 * The x87 as bytes 0..159 of an fxsave64 area: FCW, FSW, the abridged
	 * tags, FOP, FIP, FDP, ST0..ST7 every 16 bytes (its MXCSR slots unused).
	 */
	uint8_t x87[160];
};
int vmm_soft_emulate_insn(struct vmm_vcpu *vcpu, struct vmm_regs *regs, struct vmm_sys_regs *sys,
			  char *msg, size_t len);
/* The instructions a soft vCPU retired so far, for a benchmark's MIPS (0 on kvm). */
uint64_t vmm_soft_insns(struct vmm_vcpu *vcpu);
/*
 * Run @vcpu on the calling thread (a test's) until a ucall, the end of the
 * run or a refused memory access, as the KVM selftests' vcpu_run() does.
 */
enum vmm_run_exit vmm_vcpu_run(struct vmm_vcpu *vcpu);
void vmm_kick_all(struct vmm *vm);

#endif
