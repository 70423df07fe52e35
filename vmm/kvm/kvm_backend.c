// SPDX-License-Identifier: GPL-2.0
/*
 * The kvm backend: guest code runs on /dev/kvm, on the secondary MMU's SPTE
 * tables as its page tables (shadow paging).
 *
 * The whole frame pool is one KVM memslot at guest-physical 0, so an SPTE's
 * pool pfn is the address hardware walks to; CR3 is the SPTE root.  Guest
 * virtual addresses are the guest-physical addresses of nopin's memslots
 * (root entries 0-255); the top of the address space (root entry 511) maps
 * the VMM's own pages: GDT, IDT, TSSs, the exception stubs and their IST
 * stacks (DESIGN.md Guest ABI).
 *
 * A guest access with no SPTE raises #PF; its stub (on IST1, which is never
 * revoked) puts CR2 in rax and the error code in rcx and writes a private
 * port: the VMM runs the same kvm_mmu_page_fault() the soft vCPU uses, and
 * the stub's iretq retries the access.  A remote flush kicks the vCPU out
 * of KVM_RUN (a signal, and immediate_exit for the kick that lands between
 * two runs); on its way back in, the vCPU serves the flush request by
 * injecting an NMI whose handler reloads CR3, so no stale translation is
 * used after the flush.  Leaf SPTEs have no G bit.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <capstone/capstone.h>

#include "base/err.h"
#include "mm/page_alloc.h"
#include "mmu/spte.h"
#include "vmm/kvm/kvm_util.h"
#include "vmm/vm.h"

#define KVM_TOP_VA 0xffffffffff000000UL
#define KVM_GDT_VA (KVM_TOP_VA + 0x0000)
#define KVM_IDT_VA (KVM_TOP_VA + 0x1000)
#define KVM_TSS_VA (KVM_TOP_VA + 0x2000)
#define KVM_STUB_VA (KVM_TOP_VA + 0x3000)
#define KVM_STACKS_VA (KVM_TOP_VA + 0x4000) /* two pages per vCPU: IST1, IST2 */
#define KVM_MAX_VCPUS 16
#define KVM_TOP_PAGES (4 + 2 * KVM_MAX_VCPUS)
#define KVM_TSS_SIZE 0x68
#define KVM_TSS_STRIDE 0x80

#define PORT_PAGE_FAULT 0xf0 /* the #PF stub: rax = CR2, rcx = error code */
#define PORT_EXCEPTION 0xf1  /* any other exception: rax = vector, rcx = error, rdx = rip */

#define SEL_CODE 0x08
#define SEL_DATA 0x10
#define SEL_TSS(i) (0x18 + 16 * (i))

/*
 * The stubs, assembled into the VMM and copied to KVM_STUB_VA; position
 * independent.  Vectors with an error code: 8, 10-14, 17, 21, 29, 30.
 */
#define STUB_NOERR(n) "exc" #n ": push $0\n push $" #n "\n jmp exc_common\n"
#define STUB_ERR(n) "exc" #n ": push $" #n "\n jmp exc_common\n"
__asm__(".pushsection .rodata\n"
	".globl kvm_stub_start\n"
	"kvm_stub_start:\n"
	"pf_stub:\n"
	"	push %rax\n"
	"	push %rcx\n"
	"	mov %cr2, %rax\n"
	"	mov 16(%rsp), %rcx\n"
	"	out %eax, $0xf0\n"
	"	pop %rcx\n"
	"	pop %rax\n"
	"	add $8, %rsp\n"
	"	iretq\n"
	"nmi_stub:\n"
	"	push %rax\n"
	"	mov %cr3, %rax\n"
	"	mov %rax, %cr3\n"
	"	pop %rax\n"
	"	iretq\n"
	"exc_common:\n"
	"	mov (%rsp), %rax\n"
	"	mov 8(%rsp), %rcx\n"
	"	mov 16(%rsp), %rdx\n"
	"	out %eax, $0xf1\n"
	"1:	hlt\n"
	"	jmp 1b\n" STUB_NOERR(0) STUB_NOERR(1) STUB_NOERR(3) STUB_NOERR(4) STUB_NOERR(5)
		STUB_NOERR(6) STUB_NOERR(7) STUB_ERR(8) STUB_NOERR(9) STUB_ERR(10) STUB_ERR(11)
			STUB_ERR(12) STUB_ERR(13) STUB_NOERR(16) STUB_ERR(17) STUB_NOERR(18)
				STUB_NOERR(19) ".globl kvm_stub_end\n"
					       "kvm_stub_end:\n"
					       ".popsection\n");

extern const char kvm_stub_start[], kvm_stub_end[];
extern const char pf_stub[], nmi_stub[], exc0[], exc1[], exc3[], exc4[], exc5[], exc6[], exc7[],
	exc8[], exc9[], exc10[], exc11[], exc12[], exc13[], exc16[], exc17[], exc18[], exc19[];

/* The VM's side: /dev/kvm, the VM fd, the VMM's pages at the top. */
struct kvm_backend_vm {
	int dev_fd, vm_fd;
	int run_size;
	struct page *top[KVM_TOP_PAGES];
	struct page *pdpt, *pd, *pt; /* mapping KVM_TOP_VA */
	struct kvm_cpuid2 *cpuid;
};

struct kvm_backend_vcpu {
	struct vmm_vcpu *vcpu;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_known;
	bool flush_pending; /* inject the flush NMI before the next KVM_RUN */
	struct kvm_regs regs;
	bool regs_valid;
	char err[256];
};

static __thread struct kvm_run *kvm_this_run; /* for the kick signal's handler */

static void kvm_kick_handler(int sig)
{
	/* The kick that lands between two KVM_RUNs is not lost: the next one returns at once. */
	if (kvm_this_run)
		kvm_this_run->immediate_exit = 1;
}

static uint64_t *table_of(struct page *page)
{
	return page_address(page);
}

/* An entry of the VMM's own tables: present, writable, never the guest's business. */
static uint64_t top_entry(struct page *page)
{
	return ((uint64_t)page_to_pfn(page) << PAGE_SHIFT) | PT_PRESENT_MASK | PT_WRITABLE_MASK |
	       PT_ACCESSED_MASK | PT_DIRTY_MASK;
}

static struct page *alloc_zeroed(struct frame_pool *pool)
{
	struct page *page = alloc_frame(pool, FRAME_SECONDARY, GFP_KERNEL);

	if (page)
		memset(page_address(page), 0, PAGE_SIZE);
	return page;
}

static void *top_page(struct kvm_backend_vm *b, unsigned long va)
{
	return page_address(b->top[(va - KVM_TOP_VA) >> PAGE_SHIFT]);
}

static void set_gate(uint8_t *idt, int vec, const char *stub, int ist)
{
	uint64_t addr = KVM_STUB_VA + (stub - kvm_stub_start);
	uint8_t *g = idt + 16 * vec;

	memset(g, 0, 16);
	g[0] = addr;
	g[1] = addr >> 8;
	g[2] = SEL_CODE;
	g[4] = ist;
	g[5] = 0x8e; /* present, DPL 0, 64-bit interrupt gate */
	g[6] = addr >> 16;
	g[7] = addr >> 24;
	memcpy(g + 8, (uint32_t[]){ addr >> 32 }, 4);
}

static void build_descriptor_tables(struct kvm_backend_vm *b, unsigned int nr_vcpus)
{
	uint64_t *gdt = top_page(b, KVM_GDT_VA);
	uint8_t *idt = top_page(b, KVM_IDT_VA), *tss = top_page(b, KVM_TSS_VA);
	static const struct {
		int vec;
		const char *stub;
	} gates[] = { { 0, exc0 },   { 1, exc1 },   { 3, exc3 },   { 4, exc4 },	  { 5, exc5 },
		      { 6, exc6 },   { 7, exc7 },   { 8, exc8 },   { 9, exc9 },	  { 10, exc10 },
		      { 11, exc11 }, { 12, exc12 }, { 13, exc13 }, { 16, exc16 }, { 17, exc17 },
		      { 18, exc18 }, { 19, exc19 } };

	gdt[1] = 0x00af9b000000ffffULL; /* 64-bit code */
	gdt[2] = 0x00cf93000000ffffULL; /* data */
	for (unsigned int i = 0; i < nr_vcpus; i++) {
		uint64_t base = KVM_TSS_VA + i * KVM_TSS_STRIDE, limit = KVM_TSS_SIZE - 1;
		uint8_t *t = tss + i * KVM_TSS_STRIDE;
		uint64_t ist1 = KVM_STACKS_VA + (2 * i + 1) * PAGE_SIZE;
		uint64_t ist2 = KVM_STACKS_VA + (2 * i + 2) * PAGE_SIZE;

		gdt[3 + 2 * i] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x8bULL << 40) |
				 (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
		gdt[4 + 2 * i] = base >> 32;
		memcpy(t + 0x24, &ist1, 8);
		memcpy(t + 0x2c, &ist2, 8);
		t[0x66] = KVM_TSS_SIZE; /* no I/O bitmap */
	}
	for (size_t i = 0; i < sizeof(gates) / sizeof(gates[0]); i++)
		set_gate(idt, gates[i].vec, gates[i].stub, 1);
	set_gate(idt, 14, pf_stub, 1);
	set_gate(idt, 2, nmi_stub, 2);
	memcpy(top_page(b, KVM_STUB_VA), kvm_stub_start, kvm_stub_end - kvm_stub_start);
}

/* Map the VMM's pages at KVM_TOP_VA under root entry 511, beside the guest's. */
static int map_top(struct vmm *vm, struct kvm_backend_vm *b)
{
	uint64_t *root = table_of(vm->kvm->root);

	b->pdpt = alloc_zeroed(vm->pool);
	b->pd = alloc_zeroed(vm->pool);
	b->pt = alloc_zeroed(vm->pool);
	if (!b->pdpt || !b->pd || !b->pt)
		return -ENOMEM;
	for (int i = 0; i < KVM_TOP_PAGES; i++) {
		b->top[i] = alloc_zeroed(vm->pool);
		if (!b->top[i])
			return -ENOMEM;
		table_of(b->pt)[i] = top_entry(b->top[i]);
	}
	table_of(b->pd)[(KVM_TOP_VA >> 21) & 511] = top_entry(b->pt);
	table_of(b->pdpt)[(KVM_TOP_VA >> 30) & 511] = top_entry(b->pd);
	WRITE_ONCE(root[(KVM_TOP_VA >> 39) & 511], top_entry(b->pdpt));
	return 0;
}

static void kvm_backend_vm_free(struct vmm *vm, struct kvm_backend_vm *b)
{
	if (vm->kvm && vm->kvm->root)
		WRITE_ONCE(table_of(vm->kvm->root)[(KVM_TOP_VA >> 39) & 511], 0);
	for (int i = 0; i < KVM_TOP_PAGES; i++)
		if (b->top[i])
			free_frame(b->top[i]);
	if (b->pt)
		free_frame(b->pt);
	if (b->pd)
		free_frame(b->pd);
	if (b->pdpt)
		free_frame(b->pdpt);
	free(b->cpuid);
	if (b->vm_fd >= 0)
		close(b->vm_fd);
	if (b->dev_fd >= 0)
		close(b->dev_fd);
	free(b);
}

static int kvm_vm_create(struct vmm *vm, char *errbuf, size_t errlen)
{
	struct kvm_backend_vm *b = calloc(1, sizeof(*b));
	struct kvm_userspace_memory_region mem;
	struct kvm_err err = { "" };
	struct sigaction sa = { .sa_handler = kvm_kick_handler };
	int ret;

	if (!b)
		return -ENOMEM;
	b->vm_fd = -1;
	b->dev_fd = kvm_open_dev(&err);
	if (b->dev_fd < 0) {
		ret = b->dev_fd;
		goto fail;
	}
	ret = b->vm_fd = kvm_ioctl(b->dev_fd, KVM_CREATE_VM, 0, &err);
	if (ret < 0)
		goto fail;
	ret = b->run_size = kvm_ioctl(b->dev_fd, KVM_GET_VCPU_MMAP_SIZE, 0, &err);
	if (ret < 0)
		goto fail;
	/* The whole frame pool at guest-physical 0: SPTEs hold pool pfns. */
	mem = (struct kvm_userspace_memory_region){
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = vm->pool->nr_frames * PAGE_SIZE,
		.userspace_addr = (unsigned long)vm->pool->base,
	};
	ret = kvm_ioctl(b->vm_fd, KVM_SET_USER_MEMORY_REGION, &mem, &err);
	if (ret)
		goto fail;
	b->cpuid = calloc(1, sizeof(*b->cpuid) + 256 * sizeof(struct kvm_cpuid_entry2));
	if (!b->cpuid) {
		ret = -ENOMEM;
		goto fail;
	}
	b->cpuid->nent = 256;
	ret = kvm_ioctl(b->dev_fd, KVM_GET_SUPPORTED_CPUID, b->cpuid, &err);
	if (ret)
		goto fail;
	ret = map_top(vm, b);
	if (ret) {
		snprintf(err.msg, sizeof(err.msg), "no frames for the VMM's guest pages");
		goto fail;
	}
	build_descriptor_tables(b, vm->cfg.nr_vcpus);
	sigaction(SIGUSR1, &sa, NULL); /* no SA_RESTART: KVM_RUN returns -EINTR */
	vm->backend_vm = b;
	return 0;
fail:
	snprintf(errbuf, errlen, "kvm backend: %s", err.msg[0] ? err.msg : strerror(-ret));
	kvm_backend_vm_free(vm, b);
	return ret;
}

static void kvm_vm_destroy(struct vmm *vm)
{
	if (vm->backend_vm)
		kvm_backend_vm_free(vm, vm->backend_vm);
	vm->backend_vm = NULL;
}

static struct kvm_backend_vcpu *to_kvm(struct vmm_vcpu *vcpu)
{
	return vcpu->backend_data;
}

/* Long mode straight from the sregs: flat segments, paging on the SPTE root. */
static int kvm_setup_sregs(struct vmm_vcpu *vcpu, struct kvm_err *err)
{
	struct kvm_backend_vcpu *k = to_kvm(vcpu);
	struct kvm_sregs sregs;
	struct kvm_segment code = { .base = 0,
				    .limit = 0xffffffff,
				    .selector = SEL_CODE,
				    .type = 11,
				    .present = 1,
				    .s = 1,
				    .l = 1,
				    .g = 1 };
	struct kvm_segment data = { .base = 0,
				    .limit = 0xffffffff,
				    .selector = SEL_DATA,
				    .type = 3,
				    .present = 1,
				    .s = 1,
				    .db = 1,
				    .g = 1 };
	int ret = kvm_ioctl(k->fd, KVM_GET_SREGS, &sregs, err);

	if (ret)
		return ret;
	sregs.cs = code;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.tr = (struct kvm_segment){ .base = KVM_TSS_VA + vcpu->id * KVM_TSS_STRIDE,
					 .limit = KVM_TSS_SIZE - 1,
					 .selector = SEL_TSS(vcpu->id),
					 .type = 11,
					 .present = 1 };
	sregs.gdt.base = KVM_GDT_VA;
	sregs.gdt.limit = SEL_TSS(KVM_MAX_VCPUS) - 1;
	sregs.idt.base = KVM_IDT_VA;
	sregs.idt.limit = 256 * 16 - 1;
	sregs.cr0 = 0x80010033; /* PE MP ET NE WP PG */
	sregs.cr4 = 0x6a0;	/* PAE PGE OSFXSR OSXMMEXCPT */
	sregs.efer = 0x500;	/* LME LMA */
	sregs.cr3 = (uint64_t)page_to_pfn(vcpu->vm->kvm->root) << PAGE_SHIFT;
	return kvm_ioctl(k->fd, KVM_SET_SREGS, &sregs, err);
}

/* kvm_vcpu_ops: the remote flush's kick is a signal; its flush an NMI on re-entry. */
static void kvm_backend_kick(struct kvm_vcpu *kv)
{
	struct kvm_backend_vcpu *k = to_kvm(kv->private);

	__atomic_store_n(&k->run->immediate_exit, 1, __ATOMIC_RELEASE);
	if (__atomic_load_n(&k->thread_known, __ATOMIC_ACQUIRE))
		pthread_kill(k->thread, SIGUSR1);
}

static void kvm_backend_flush_tlb(struct kvm_vcpu *kv)
{
	to_kvm(kv->private)->flush_pending = true;
}

static const struct kvm_vcpu_ops kvm_backend_vcpu_ops = {
	.kick = kvm_backend_kick,
	.flush_tlb = kvm_backend_flush_tlb,
};

static int kvm_vcpu_create_backend(struct vmm_vcpu *vcpu)
{
	struct kvm_backend_vm *b = vcpu->vm->backend_vm;
	struct kvm_backend_vcpu *k;
	struct kvm_err err = { "" };
	int ret;

	if (vcpu->id >= KVM_MAX_VCPUS)
		return -E2BIG;
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->vcpu = vcpu;
	vcpu->backend_data = k;
	k->fd = kvm_ioctl(b->vm_fd, KVM_CREATE_VCPU, (long)vcpu->id, &err);
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
	ret = kvm_ioctl(k->fd, KVM_SET_CPUID2, b->cpuid, &err);
	if (!ret)
		ret = kvm_setup_sregs(vcpu, &err);
	if (ret)
		goto fail;
	vcpu->kvcpu = kvm_create_vcpu(vcpu->vm->kvm, vcpu->id, &kvm_backend_vcpu_ops);
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

static void kvm_vcpu_destroy_backend(struct vmm_vcpu *vcpu)
{
	struct kvm_backend_vm *b = vcpu->vm->backend_vm;
	struct kvm_backend_vcpu *k = to_kvm(vcpu);

	if (vcpu->kvcpu)
		kvm_destroy_vcpu(vcpu->kvcpu);
	munmap(k->run, b->run_size);
	close(k->fd);
	free(k);
	vcpu->backend_data = NULL;
}

/* ---- registers: kvm_regs has its own order ---- */

static void kvm_get_regs_backend(struct vmm_vcpu *vcpu, struct vmm_regs *regs)
{
	struct kvm_backend_vcpu *k = to_kvm(vcpu);
	struct kvm_regs r;
	struct kvm_err err;

	if (kvm_ioctl(k->fd, KVM_GET_REGS, &r, &err))
		memset(&r, 0, sizeof(r));
	regs->gpr[VMM_RAX] = r.rax;
	regs->gpr[VMM_RBX] = r.rbx;
	regs->gpr[VMM_RCX] = r.rcx;
	regs->gpr[VMM_RDX] = r.rdx;
	regs->gpr[VMM_RSI] = r.rsi;
	regs->gpr[VMM_RDI] = r.rdi;
	regs->gpr[VMM_RSP] = r.rsp;
	regs->gpr[VMM_RBP] = r.rbp;
	memcpy(&regs->gpr[VMM_R8], &r.r8, 8 * sizeof(uint64_t));
	regs->rip = r.rip;
	regs->rflags = r.rflags;
}

static void kvm_set_regs_backend(struct vmm_vcpu *vcpu, const struct vmm_regs *regs)
{
	struct kvm_backend_vcpu *k = to_kvm(vcpu);
	struct kvm_regs r = {
		.rax = regs->gpr[VMM_RAX],
		.rbx = regs->gpr[VMM_RBX],
		.rcx = regs->gpr[VMM_RCX],
		.rdx = regs->gpr[VMM_RDX],
		.rsi = regs->gpr[VMM_RSI],
		.rdi = regs->gpr[VMM_RDI],
		.rsp = regs->gpr[VMM_RSP],
		.rbp = regs->gpr[VMM_RBP],
		.rip = regs->rip,
		.rflags = regs->rflags | 0x2,
	};
	struct kvm_err err;

	memcpy(&r.r8, &regs->gpr[VMM_R8], 8 * sizeof(uint64_t));
	kvm_ioctl(k->fd, KVM_SET_REGS, &r, &err);
}

/* ---- the run ---- */

/*
 * "rip 0x...: mov ..." of the instruction that faulted, for an error: its
 * rip is in the #PF frame on the stub's IST stack (above the two registers
 * the stub pushed and the error code), its bytes in guest RAM.
 */
static void describe_guest_insn(struct vmm_vcpu *vcpu, uint64_t rsp, char *buf, size_t len)
{
	struct kvm_backend_vm *b = vcpu->vm->backend_vm;
	uint64_t rip, frame = rsp + 3 * sizeof(uint64_t);
	uint8_t bytes[15];
	cs_insn *insn;
	csh cs;

	snprintf(buf, len, "rip unknown");
	if (frame < KVM_STACKS_VA || frame + 8 > KVM_TOP_VA + KVM_TOP_PAGES * PAGE_SIZE)
		return;
	memcpy(&rip, (char *)top_page(b, frame & PAGE_MASK) + (frame & ~PAGE_MASK), 8);
	snprintf(buf, len, "rip %#lx", (unsigned long)rip);
	if (vmm_read_guest(vcpu->vm, rip, bytes, sizeof(bytes)) ||
	    cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK)
		return;
	if (cs_disasm(cs, bytes, sizeof(bytes), rip, 1, &insn) == 1) {
		snprintf(buf, len, "rip %#lx: %s %s", (unsigned long)rip, insn->mnemonic,
			 insn->op_str);
		cs_free(insn, 1);
	}
	cs_close(&cs);
}

/* The #PF stub's exit: the secondary fault path, then back to the stub's iretq. */
static bool kvm_handle_page_fault(struct vmm_vcpu *vcpu, struct vmm_exit *exit)
{
	struct vmm_regs regs;
	char insn[160];
	uint64_t cr2;
	bool write;
	int ret;

	kvm_get_regs_backend(vcpu, &regs);
	cr2 = regs.gpr[VMM_RAX];
	write = regs.gpr[VMM_RCX] & 2;
	ret = kvm_mmu_page_fault(vcpu->vm->kvm, vcpu->kvcpu, cr2, write);
	/* A write into RAM the mprotect agent made read-only: wait, then the stub retries. */
	if (ret == -EFAULT && write && pressure_wait_unprotect(&vcpu->vm->pressure))
		ret = 0;
	if (!ret)
		return true;
	if (ret == -EFAULT && vcpu->vm->cfg.memory_fault_exit) {
		vcpu->fault_gpa = cr2;
		vcpu->fault_write = write;
		exit->reason = VMM_EXIT_MEMORY_FAULT;
		return false;
	}
	exit->reason = VMM_EXIT_ERROR;
	describe_guest_insn(vcpu, regs.gpr[VMM_RSP], insn, sizeof(insn));
	snprintf(exit->message, sizeof(exit->message), "guest %s at %#lx %s (%s), %s",
		 write ? "write" : "read", (unsigned long)cr2,
		 ret == -EFAULT ? "outside every memslot, or refused by the host" : "failed",
		 strerror(-ret), insn);
	return false;
}

static const char *const exception_names[32] = {
	[0] = "#DE divide error",
	[1] = "#DB",
	[3] = "#BP",
	[4] = "#OF",
	[5] = "#BR",
	[6] = "#UD invalid opcode",
	[7] = "#NM",
	[8] = "#DF double fault",
	[9] = "coprocessor",
	[10] = "#TS",
	[11] = "#NP",
	[12] = "#SS",
	[13] = "#GP general protection",
	[16] = "#MF",
	[17] = "#AC",
	[18] = "#MC",
	[19] = "#XM",
};

static void kvm_exit_pio(struct vmm_vcpu *vcpu, struct vmm_exit *exit)
{
	struct kvm_run *run = to_kvm(vcpu)->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	struct vmm_regs regs;

	if (run->io.port == PORT_PAGE_FAULT) {
		if (kvm_handle_page_fault(vcpu, exit))
			exit->reason = VMM_EXIT_KICK; /* nothing for the run loop: resume */
		return;
	}
	if (run->io.port == PORT_EXCEPTION) {
		kvm_get_regs_backend(vcpu, &regs);
		exit->reason = VMM_EXIT_ERROR;
		snprintf(exit->message, sizeof(exit->message),
			 "guest exception %s (vector %lu, error code %#lx) at rip %#lx",
			 regs.gpr[VMM_RAX] < 32 && exception_names[regs.gpr[VMM_RAX]] ?
				 exception_names[regs.gpr[VMM_RAX]] :
				 "?",
			 (unsigned long)regs.gpr[VMM_RAX], (unsigned long)regs.gpr[VMM_RCX],
			 (unsigned long)regs.gpr[VMM_RDX]);
		return;
	}
	exit->reason = VMM_EXIT_PIO;
	exit->port = run->io.port;
	exit->size = run->io.size;
	exit->in = run->io.direction == KVM_EXIT_IO_IN;
	exit->data = 0;
	if (!exit->in)
		memcpy(&exit->data, data, min(run->io.size, (uint8_t)4));
}

static void kvm_run_backend(struct vmm_vcpu *vcpu, struct vmm_exit *exit)
{
	struct kvm_backend_vcpu *k = to_kvm(vcpu);
	struct kvm_err err;
	int ret;

	if (!k->thread_known) {
		k->thread = pthread_self();
		kvm_this_run = k->run;
		__atomic_store_n(&k->thread_known, true, __ATOMIC_RELEASE);
	}
	kvm_vcpu_enter_guest(vcpu->kvcpu);
	if (k->flush_pending) {
		k->flush_pending = false;
		kvm_ioctl(k->fd, KVM_NMI, NULL, &err);
	}
	ret = __kvm_ioctl(k->fd, KVM_RUN, NULL);
	if (ret < 0)
		ret = -errno;
	__atomic_store_n(&k->run->immediate_exit, 0, __ATOMIC_RELAXED);
	kvm_vcpu_exit_guest(vcpu->kvcpu);

	exit->reason = VMM_EXIT_KICK;
	if (ret == -EINTR || ret == -EAGAIN)
		return;
	if (ret < 0) {
		exit->reason = VMM_EXIT_ERROR;
		snprintf(exit->message, sizeof(exit->message), "KVM_RUN failed: %s",
			 strerror(-ret));
		return;
	}
	switch (k->run->exit_reason) {
	case KVM_EXIT_IO:
		kvm_exit_pio(vcpu, exit);
		break;
	case KVM_EXIT_HLT:
		exit->reason = VMM_EXIT_HLT;
		break;
	case KVM_EXIT_INTR:
		break;
	case KVM_EXIT_SHUTDOWN:
		exit->reason = VMM_EXIT_ERROR;
		snprintf(exit->message, sizeof(exit->message),
			 "the guest crashed: triple fault (shutdown)");
		break;
	default:
		exit->reason = VMM_EXIT_ERROR;
		snprintf(exit->message, sizeof(exit->message), "unexpected KVM exit reason %u",
			 k->run->exit_reason);
	}
}

static void kvm_kick_vcpu(struct vmm_vcpu *vcpu)
{
	kvm_backend_kick(vcpu->kvcpu);
}

static void kvm_flush_tlb_vcpu(struct vmm_vcpu *vcpu)
{
	to_kvm(vcpu)->flush_pending = true;
}

static void kvm_complete_pio_in(struct vmm_vcpu *vcpu, uint32_t val)
{
	struct kvm_run *run = to_kvm(vcpu)->run;

	memcpy((uint8_t *)run + run->io.data_offset, &val, min(run->io.size, (uint8_t)4));
}

const struct vmm_backend_ops vmm_kvm_backend = {
	.name = "kvm",
	.vm_create = kvm_vm_create,
	.vm_destroy = kvm_vm_destroy,
	.vcpu_create = kvm_vcpu_create_backend,
	.vcpu_destroy = kvm_vcpu_destroy_backend,
	.run = kvm_run_backend,
	.kick = kvm_kick_vcpu,
	.flush_tlb = kvm_flush_tlb_vcpu,
	.get_regs = kvm_get_regs_backend,
	.set_regs = kvm_set_regs_backend,
	.complete_pio_in = kvm_complete_pio_in,
};
