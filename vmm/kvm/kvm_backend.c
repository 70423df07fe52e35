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
 * revoked) writes CR2, the error code and the faulting RIP to the fault
 * mailbox at the bottom of its stack page and writes a private port: the
 * VMM runs the same kvm_mmu_page_fault() the soft vCPU uses, and the stub's
 * iretq retries the access.  Leaf SPTEs have no G bit.
 *
 * A remote flush kicks the vCPU out of KVM_RUN (a signal, and
 * immediate_exit for the kick that lands between two runs).  Before the
 * vCPU acknowledges the kick it serves the flush request: it sets the
 * guest's registers to enter a flush stub (on IST2) as an interrupt would;
 * the stub reloads CR3 and acknowledges in the flush mailbox, and its
 * iretq goes through a trampoline that writes a port and jumps back.  So
 * kvm_flush_remote_tlbs(), and the invalidate_range_start behind it,
 * return only once the guest's TLB is clean (kvm_backend.h).  The exit
 * the kick interrupted is kept aside meanwhile and served after.
 *
 * Why not an injected NMI: on kvm_pvm an NMI queued after a signal ended
 * KVM_RUN was not taken on the next entry; the guest ran on to its next
 * exit first.  Entering the stub through its registers needs nothing of
 * the hypervisor's event delivery.
 */
#include <ctype.h>
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
#include "vmm/kvm/kvm_backend.h"
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

#define PORT_PAGE_FAULT 0xf0 /* the #PF stub: the fault mailbox says what */
#define PORT_EXCEPTION 0xf1  /* any other exception: rax = vector, rcx = error, rdx = rip */
#define PORT_FLUSH_ACK 0xf2  /* the flush trampoline: the flush mailbox says which */

#define SEL_CODE 0x08
#define SEL_DATA 0x10
#define SEL_TSS(i) (0x18 + 16 * (i))

/* Each vCPU's trampoline: out %al, $PORT_FLUSH_ACK; jmp *resume_rip (absolute). */
#define KVM_TRAMPOLINES_OFFSET 0x800 /* in the stub page */
#define KVM_TRAMPOLINE_SIZE 16

/* At the bottom of each vCPU's #PF stack page (IST1), written by the #PF stub. */
struct kvm_fault_mailbox {
	uint64_t cr2;
	uint64_t error_code;
	uint64_t rip;
};

/*
 * The stubs, assembled into the VMM and copied to KVM_STUB_VA; position
 * independent.  Each finds its vCPU's mailbox at the bottom of the IST page
 * it runs on.  The flush stub is entered by the VMM (see
 * kvm_enter_flush_stub()) and returns to its vCPU's trampoline.  Any other
 * exception, an NMI included, stops the guest through exc_common.
 * Vectors with an error code: 8, 10-14, 17.
 */
__asm__(".pushsection .rodata\n"
	".globl kvm_stub_start\n"
	"kvm_stub_start:\n"
	"pf_stub:\n"
	"	push %rax\n"
	"	push %rcx\n"
	"	mov %rsp, %rcx\n"
	"	and $-4096, %rcx\n"
	"	mov %cr2, %rax\n"
	"	mov %rax, (%rcx)\n"
	"	mov 16(%rsp), %rax\n"
	"	mov %rax, 8(%rcx)\n"
	"	mov 24(%rsp), %rax\n"
	"	mov %rax, 16(%rcx)\n"
	"	out %al, $0xf0\n"
	"	pop %rcx\n"
	"	pop %rax\n"
	"	add $8, %rsp\n"
	"	iretq\n"
	"flush_stub:\n"
	"	push %rax\n"
	"	push %rdx\n"
	"	mov %cr3, %rax\n"
	"	mov %rax, %cr3\n"
	"	mov %rsp, %rdx\n"
	"	and $-4096, %rdx\n"
	"	mov (%rdx), %rax\n"
	"	mov %rax, 8(%rdx)\n"
	"	incq 16(%rdx)\n"
	"	pop %rdx\n"
	"	pop %rax\n"
	"	iretq\n"
	"exc_common:\n"
	"	mov (%rsp), %rax\n"
	"	mov 8(%rsp), %rcx\n"
	"	mov 16(%rsp), %rdx\n"
	"	out %eax, $0xf1\n"
	"1:	hlt\n"
	"	jmp 1b\n"
	"exc0:	push $0\n"
	"	push $0\n"
	"	jmp exc_common\n"
	"exc1:	push $0\n"
	"	push $1\n"
	"	jmp exc_common\n"
	"exc2:	push $0\n"
	"	push $2\n"
	"	jmp exc_common\n"
	"exc3:	push $0\n"
	"	push $3\n"
	"	jmp exc_common\n"
	"exc4:	push $0\n"
	"	push $4\n"
	"	jmp exc_common\n"
	"exc5:	push $0\n"
	"	push $5\n"
	"	jmp exc_common\n"
	"exc6:	push $0\n"
	"	push $6\n"
	"	jmp exc_common\n"
	"exc7:	push $0\n"
	"	push $7\n"
	"	jmp exc_common\n"
	"exc8:	push $8\n"
	"	jmp exc_common\n"
	"exc9:	push $0\n"
	"	push $9\n"
	"	jmp exc_common\n"
	"exc10:	push $10\n"
	"	jmp exc_common\n"
	"exc11:	push $11\n"
	"	jmp exc_common\n"
	"exc12:	push $12\n"
	"	jmp exc_common\n"
	"exc13:	push $13\n"
	"	jmp exc_common\n"
	"exc16:	push $0\n"
	"	push $16\n"
	"	jmp exc_common\n"
	"exc17:	push $17\n"
	"	jmp exc_common\n"
	"exc18:	push $0\n"
	"	push $18\n"
	"	jmp exc_common\n"
	"exc19:	push $0\n"
	"	push $19\n"
	"	jmp exc_common\n"
	".globl kvm_stub_end\n"
	"kvm_stub_end:\n"
	".popsection\n");

extern const char kvm_stub_start[], kvm_stub_end[];
extern const char pf_stub[], flush_stub[], exc0[], exc1[], exc2[], exc3[], exc4[], exc5[], exc6[],
	exc7[], exc8[], exc9[], exc10[], exc11[], exc12[], exc13[], exc16[], exc17[], exc18[],
	exc19[];

/* The VM's side: /dev/kvm, the VM fd, the VMM's pages at the top. */
struct kvm_backend_vm {
	int dev_fd, vm_fd;
	int run_size;
	struct page *top[KVM_TOP_PAGES];
	struct page *pdpt, *pd, *pt; /* mapping KVM_TOP_VA */
	struct kvm_cpuid2 *cpuid;
};

/* What KVM_RUN exited for, kept while the flush stub runs. */
struct kvm_guest_exit {
	int ret; /* KVM_RUN's: 0 or -errno */
	uint32_t reason;
	uint16_t port;
	uint8_t size;
	bool in;
	uint32_t data;	 /* an OUT's */
	uint64_t detail; /* FAIL_ENTRY: the hardware's reason; INTERNAL_ERROR: the suberror */
};

struct kvm_backend_vcpu {
	struct vmm_vcpu *vcpu;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_known;
	bool in_guest; /* inside the KVM_RUN that runs guest code (atomic) */
	struct kvm_guest_exit exit;
	bool exit_unserved;  /* exit is this trip's: the VMM has not served it yet */
	uint64_t flush_gen;  /* the last flush asked of the guest's stub */
	char flush_err[640]; /* why the stub could not run: the vCPU stops */
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

/*
 * vCPU @i's trampoline, where its flush stub returns to: out %al,
 * $PORT_FLUSH_ACK; jmp *resume_rip, the address in 32 sign-extended bits as
 * the top 16 MiB allow.  The acknowledgement comes after the stub's iretq,
 * so the guest is never left inside the stub, on its stack.
 */
static void build_trampoline(struct kvm_backend_vm *b, unsigned int i)
{
	uint64_t va = KVM_STUB_VA + KVM_TRAMPOLINES_OFFSET + i * KVM_TRAMPOLINE_SIZE;
	uint64_t mailbox = KVM_STACKS_VA + (2 * i + 1) * PAGE_SIZE;
	int32_t resume = (int32_t)(mailbox + offsetof(struct kvm_flush_mailbox, resume_rip));
	uint8_t *code = (uint8_t *)top_page(b, KVM_STUB_VA) + (va - KVM_STUB_VA);
	struct kvm_flush_mailbox *mb = top_page(b, mailbox);

	BUILD_BUG_ON(KVM_TRAMPOLINES_OFFSET + KVM_MAX_VCPUS * KVM_TRAMPOLINE_SIZE > PAGE_SIZE);
	memcpy(code, (uint8_t[]){ 0xe6, PORT_FLUSH_ACK, 0xff, 0x24, 0x25 }, 5);
	memcpy(code + 5, &resume, 4);
	mb->trampoline = va;
}

static void build_descriptor_tables(struct kvm_backend_vm *b, unsigned int nr_vcpus)
{
	uint64_t *gdt = top_page(b, KVM_GDT_VA);
	uint8_t *idt = top_page(b, KVM_IDT_VA), *tss = top_page(b, KVM_TSS_VA);
	static const struct {
		int vec;
		const char *stub;
	} gates[] = { { 0, exc0 },   { 1, exc1 },   { 2, exc2 },   { 3, exc3 },	  { 4, exc4 },
		      { 5, exc5 },   { 6, exc6 },   { 7, exc7 },   { 8, exc8 },	  { 9, exc9 },
		      { 10, exc10 }, { 11, exc11 }, { 12, exc12 }, { 13, exc13 }, { 16, exc16 },
		      { 17, exc17 }, { 18, exc18 }, { 19, exc19 } };

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
	memcpy(top_page(b, KVM_STUB_VA), kvm_stub_start, kvm_stub_end - kvm_stub_start);
	for (unsigned int i = 0; i < nr_vcpus; i++)
		build_trampoline(b, i);
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
	/* The stubs share their page with the trampolines. */
	if (kvm_stub_end - kvm_stub_start > KVM_TRAMPOLINES_OFFSET) {
		ret = -E2BIG;
		snprintf(err.msg, sizeof(err.msg), "the guest stubs outgrew their page");
		goto fail;
	}
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

/* kvm_vcpu_ops: the remote flush's kick is a signal; its flush the guest's flush stub. */
static void kvm_backend_kick(struct kvm_vcpu *kv)
{
	struct kvm_backend_vcpu *k = to_kvm(kv->private);

	__atomic_store_n(&k->run->immediate_exit, 1, __ATOMIC_RELEASE);
	if (__atomic_load_n(&k->thread_known, __ATOMIC_ACQUIRE))
		pthread_kill(k->thread, SIGUSR1);
}

static void kvm_backend_flush_tlb(struct kvm_vcpu *kv);

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

/* ---- the mailboxes ---- */

static struct kvm_fault_mailbox *fault_mailbox(struct vmm_vcpu *vcpu)
{
	return top_page(vcpu->vm->backend_vm, KVM_STACKS_VA + 2 * vcpu->id * PAGE_SIZE);
}

static struct kvm_flush_mailbox *flush_mailbox(struct vmm_vcpu *vcpu)
{
	return top_page(vcpu->vm->backend_vm, KVM_STACKS_VA + (2 * vcpu->id + 1) * PAGE_SIZE);
}

const struct kvm_flush_mailbox *kvm_backend_flush_mailbox(struct vmm_vcpu *vcpu)
{
	return flush_mailbox(vcpu);
}

bool kvm_backend_in_guest(struct vmm_vcpu *vcpu)
{
	return __atomic_load_n(&to_kvm(vcpu)->in_guest, __ATOMIC_SEQ_CST);
}

/* ---- describing where the guest was, for errors ---- */

/* "rip 0x...: mov ..." of the guest instruction at @rip, its bytes read from guest RAM. */
static void describe_guest_insn(struct vmm_vcpu *vcpu, uint64_t rip, char *buf, size_t len)
{
	uint8_t bytes[15];
	cs_insn *insn;
	csh cs;

	if (rip >= KVM_TOP_VA) {
		snprintf(buf, len, "rip %#lx (in the VMM's stubs)", (unsigned long)rip);
		return;
	}
	snprintf(buf, len, "rip %#lx", (unsigned long)rip);
	if (vmm_read_guest(vcpu->vm, rip, bytes, sizeof(bytes)) ||
	    cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK)
		return;
	if (cs_disasm(cs, bytes, sizeof(bytes), rip, 1, &insn) == 1) {
		/* Bounded, so a message quoting it stays one readable line. */
		snprintf(buf, len, "rip %#lx: %.31s%s%.80s", (unsigned long)rip, insn->mnemonic,
			 insn->op_str[0] ? " " : "", insn->op_str);
		cs_free(insn, 1);
	}
	cs_close(&cs);
}

/* The same for where the vCPU is now. */
static void describe_vcpu_rip(struct vmm_vcpu *vcpu, char *buf, size_t len)
{
	struct kvm_regs r;
	struct kvm_err err;

	if (kvm_ioctl(to_kvm(vcpu)->fd, KVM_GET_REGS, &r, &err))
		snprintf(buf, len, "rip unknown (%.100s)", err.msg);
	else
		describe_guest_insn(vcpu, r.rip, buf, len);
}

static const char *const exception_names[32] = {
	[0] = "#DE divide error",
	[1] = "#DB",
	[2] = "NMI",
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

static void kvm_keep_exit(struct kvm_backend_vcpu *k, int ret, struct kvm_guest_exit *ge)
{
	struct kvm_run *run = k->run;

	memset(ge, 0, sizeof(*ge));
	ge->ret = ret;
	if (ret)
		return;
	ge->reason = run->exit_reason;
	if (ge->reason == KVM_EXIT_IO) {
		ge->port = run->io.port;
		ge->size = run->io.size;
		ge->in = run->io.direction == KVM_EXIT_IO_IN;
		if (!ge->in)
			memcpy(&ge->data, (uint8_t *)run + run->io.data_offset,
			       min(run->io.size, (uint8_t)4));
	} else if (ge->reason == KVM_EXIT_FAIL_ENTRY) {
		ge->detail = run->fail_entry.hardware_entry_failure_reason;
	} else if (ge->reason == KVM_EXIT_INTERNAL_ERROR) {
		ge->detail = run->internal.suberror;
	}
}

/*
 * May the guest run on (the flush handler) before the VMM has served this
 * exit?  After a kick, a hlt or an OUT, yes: KVM completes the OUT on the
 * next KVM_RUN and its data is kept.  Not after an IN, which the next
 * KVM_RUN would complete before the VMM has answered, nor after an exit
 * that ends the run.
 */
static bool kvm_exit_resumable(const struct kvm_guest_exit *ge)
{
	if (ge->ret == -EINTR || ge->ret == -EAGAIN)
		return true;
	if (ge->ret)
		return false;
	switch (ge->reason) {
	case KVM_EXIT_INTR:
	case KVM_EXIT_HLT:
		return true;
	case KVM_EXIT_IO:
		return !ge->in && ge->port != PORT_EXCEPTION;
	default:
		return false;
	}
}

/* ---- the flush ---- */

/* An exit that carries nothing to serve: a kick. */
static bool kvm_exit_is_kick(const struct kvm_guest_exit *ge)
{
	return ge->ret == -EINTR || ge->ret == -EAGAIN || (!ge->ret && ge->reason == KVM_EXIT_INTR);
}

/* KVM_RUN for the flush, a kick that lands meanwhile only makes it go round again. */
static int kvm_run_again(struct kvm_backend_vcpu *k)
{
	int ret;

	do {
		ret = __kvm_ioctl(k->fd, KVM_RUN, NULL) < 0 ? -errno : 0;
		__atomic_store_n(&k->run->immediate_exit, 0, __ATOMIC_RELAXED);
	} while (ret == -EINTR || ret == -EAGAIN);
	return ret;
}

static void kvm_flush_failed(struct vmm_vcpu *vcpu, int ret, const char *what)
{
	struct kvm_backend_vcpu *k = to_kvm(vcpu);
	char why[96], where[160];

	if (ret)
		snprintf(why, sizeof(why), "%s", strerror(-ret));
	else if (k->run->exit_reason == KVM_EXIT_SHUTDOWN)
		snprintf(why, sizeof(why), "a triple fault (KVM_EXIT_SHUTDOWN)");
	else if (k->run->exit_reason == KVM_EXIT_IO)
		snprintf(why, sizeof(why), "port %#x (KVM_EXIT_IO)", k->run->io.port);
	else
		snprintf(why, sizeof(why), "KVM exit reason %u", k->run->exit_reason);
	describe_vcpu_rip(vcpu, where, sizeof(where));
	snprintf(k->flush_err, sizeof(k->flush_err), "TLB flush: %s: %s at %s", what, why, where);
}

/*
 * Let KVM finish the exit it returned (complete an OUT, or an IN with the
 * VMM's answer) without running the guest, so that its registers are
 * where the guest goes on from.
 */
static int kvm_settle(struct vmm_vcpu *vcpu)
{
	struct kvm_backend_vcpu *k = to_kvm(vcpu);
	int ret;

	__atomic_store_n(&k->run->immediate_exit, 1, __ATOMIC_RELAXED);
	ret = __kvm_ioctl(k->fd, KVM_RUN, NULL) < 0 ? -errno : 0;
	__atomic_store_n(&k->run->immediate_exit, 0, __ATOMIC_RELAXED);
	if (ret == -EINTR)
		return 0;
	kvm_flush_failed(vcpu, ret, "KVM_RUN with immediate_exit did not return at once");
	return -EIO;
}

/*
 * An exception KVM still holds for the guest (a #PF it was delivering when
 * the kick came) would be taken before the flush stub's first instruction.
 * Let the guest take it first: its stub exits before any guest instruction
 * runs, and that exit is the one the VMM serves after the flush.
 */
static int kvm_take_pending_exception(struct vmm_vcpu *vcpu)
{
	struct kvm_backend_vcpu *k = to_kvm(vcpu);
	struct kvm_vcpu_events ev;
	struct kvm_err err;
	int ret = kvm_ioctl(k->fd, KVM_GET_VCPU_EVENTS, &ev, &err);

	if (ret) {
		snprintf(k->flush_err, sizeof(k->flush_err), "TLB flush: %s", err.msg);
		return ret;
	}
	if (!ev.exception.injected && !ev.exception.pending)
		return 0;
	if (k->exit_unserved && !kvm_exit_is_kick(&k->exit)) {
		kvm_flush_failed(vcpu, 0, "an exception is pending behind an exit not served yet");
		return -EIO;
	}
	ret = kvm_run_again(k);
	if (ret || k->run->exit_reason != KVM_EXIT_IO ||
	    (k->run->io.port != PORT_PAGE_FAULT && k->run->io.port != PORT_EXCEPTION)) {
		kvm_flush_failed(vcpu, ret, "the pending exception did not reach its stub");
		return -EIO;
	}
	kvm_keep_exit(k, 0, &k->exit);
	k->exit_unserved = true;
	return 0;
}

/*
 * Enter the flush stub as an interrupt gate would, on the vCPU's IST2
 * stack, with a frame that returns to the vCPU's trampoline; the
 * trampoline jumps on to where the guest was.  A guest already in its
 * trampoline goes through it again, to the rip saved the first time.
 */
static int kvm_enter_flush_stub(struct vmm_vcpu *vcpu)
{
	struct kvm_backend_vcpu *k = to_kvm(vcpu);
	struct kvm_flush_mailbox *mb = flush_mailbox(vcpu);
	uint64_t *frame = (uint64_t *)((char *)mb + PAGE_SIZE) - 5;
	struct kvm_regs r;
	struct kvm_err err;
	int ret = kvm_ioctl(k->fd, KVM_GET_REGS, &r, &err);

	if (!ret) {
		if (r.rip - mb->trampoline >= KVM_TRAMPOLINE_SIZE)
			mb->resume_rip = r.rip;
		frame[0] = mb->trampoline;
		frame[1] = SEL_CODE;
		frame[2] = r.rflags;
		frame[3] = r.rsp;
		frame[4] = SEL_DATA;
		r.rip = KVM_STUB_VA + (flush_stub - kvm_stub_start);
		r.rsp = KVM_STACKS_VA + (2 * vcpu->id + 2) * PAGE_SIZE - 5 * sizeof(uint64_t);
		r.rflags = 0x2; /* IF and TF clear, as through an interrupt gate */
		ret = kvm_ioctl(k->fd, KVM_SET_REGS, &r, &err);
	}
	if (ret)
		snprintf(k->flush_err, sizeof(k->flush_err), "TLB flush: %s", err.msg);
	return ret;
}

/*
 * Run the guest's flush stub: a new number in the flush mailbox, the
 * guest's registers set to enter the stub, and KVM_RUN until the
 * trampoline acknowledges that number.  The stub is the first thing the
 * guest runs and it, and the trampoline, live in the VMM's pages: no guest
 * code runs meanwhile.  0, or -EIO with k->flush_err saying why.
 */
static int kvm_run_flush_stub(struct vmm_vcpu *vcpu)
{
	struct kvm_backend_vcpu *k = to_kvm(vcpu);
	struct kvm_flush_mailbox *mb = flush_mailbox(vcpu);
	uint64_t gen = ++k->flush_gen;
	int ret;

	ret = kvm_take_pending_exception(vcpu);
	if (ret || (k->exit_unserved && !kvm_exit_resumable(&k->exit)))
		return ret; /* the guest crashed: it will not run again */
	ret = kvm_settle(vcpu);
	if (!ret)
		ret = kvm_enter_flush_stub(vcpu);
	if (ret)
		return -EIO;
	__atomic_store_n(&mb->req, gen, __ATOMIC_RELEASE);
	ret = kvm_run_again(k);
	if (!ret && k->run->exit_reason == KVM_EXIT_IO && k->run->io.port == PORT_FLUSH_ACK &&
	    __atomic_load_n(&mb->ack, __ATOMIC_ACQUIRE) == gen)
		return 0;
	kvm_flush_failed(vcpu, ret, "the guest's flush stub did not acknowledge");
	return -EIO;
}

/*
 * kvm_vcpu_ops.flush_tlb: the vCPU's thread serves KVM_REQ_TLB_FLUSH, on its
 * way into guest mode or (kvm_flush_before_ack()) out of it.  On the way
 * in, the flush's own KVM_RUNs clear immediate_exit: a kick that came
 * meanwhile, still unacknowledged, or the end of the VM, is for the guest's
 * KVM_RUN next, so it is set again.
 */
static void kvm_backend_flush_tlb(struct kvm_vcpu *kv)
{
	struct vmm_vcpu *vcpu = kv->private;
	struct kvm_backend_vcpu *k = to_kvm(vcpu);
	bool entering = __atomic_load_n(&kv->mode, __ATOMIC_ACQUIRE) == OUTSIDE_GUEST_MODE;

	if (k->flush_err[0])
		return;
	kvm_run_flush_stub(vcpu);
	if (entering && (kvm_vcpu_kick_pending(kv) || vmm_stopping(vcpu->vm)))
		__atomic_store_n(&k->run->immediate_exit, 1, __ATOMIC_RELEASE);
}

/*
 * Before the vCPU acknowledges a kick (kvm_vcpu_exit_guest()), serve the
 * flush requests that came while it ran: the kvm_flush_remote_tlbs() that
 * kicked it waits, so it returns only after the guest's stub ran.  Past
 * an exit the guest cannot go on from without the VMM (an IN waiting for
 * its answer, a crash), a request waits for the next entry, which serves
 * it before the guest's next instruction.
 */
static void kvm_flush_before_ack(struct vmm_vcpu *vcpu)
{
	struct kvm_backend_vcpu *k = to_kvm(vcpu);

	while (!k->flush_err[0] && kvm_exit_resumable(&k->exit) &&
	       kvm_check_request(KVM_REQ_TLB_FLUSH, vcpu->kvcpu))
		kvm_vcpu_flush_tlb(vcpu->kvcpu);
}

/* ---- serving the exit ---- */

/* The #PF stub's exit: the secondary fault path, then back to the stub's iretq. */
static bool kvm_handle_page_fault(struct vmm_vcpu *vcpu, struct vmm_exit *exit)
{
	const struct kvm_fault_mailbox *mb = fault_mailbox(vcpu);
	uint64_t cr2 = mb->cr2;
	bool write = mb->error_code & 2;
	char insn[160];
	int ret;

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
	describe_guest_insn(vcpu, mb->rip, insn, sizeof(insn));
	snprintf(exit->message, sizeof(exit->message), "guest %s at %#lx %s (%s), %s",
		 write ? "write" : "read", (unsigned long)cr2,
		 ret == -EFAULT ? "outside every memslot, or refused by the host" : "failed",
		 strerror(-ret), insn);
	return false;
}

/* An exception no guest expects: the stub's exit, the vector, error code and rip in registers. */
static void kvm_guest_exception(struct vmm_vcpu *vcpu, struct vmm_exit *exit)
{
	struct vmm_regs regs;
	unsigned long vector;
	char insn[160];

	kvm_get_regs_backend(vcpu, &regs);
	vector = regs.gpr[VMM_RAX];
	describe_guest_insn(vcpu, regs.gpr[VMM_RDX], insn, sizeof(insn));
	exit->reason = VMM_EXIT_ERROR;
	snprintf(exit->message, sizeof(exit->message),
		 "the guest crashed: exception %s (vector %lu, error code %#lx) at %s",
		 vector < 32 && exception_names[vector] ? exception_names[vector] : "?", vector,
		 (unsigned long)regs.gpr[VMM_RCX], insn);
}

static void kvm_exit_pio(struct vmm_vcpu *vcpu, const struct kvm_guest_exit *ge,
			 struct vmm_exit *exit)
{
	if (ge->port == PORT_PAGE_FAULT) {
		if (kvm_handle_page_fault(vcpu, exit))
			exit->reason = VMM_EXIT_KICK; /* nothing for the run loop: resume */
		return;
	}
	if (ge->port == PORT_EXCEPTION) {
		kvm_guest_exception(vcpu, exit);
		return;
	}
	exit->reason = VMM_EXIT_PIO;
	exit->port = ge->port;
	exit->size = ge->size;
	exit->in = ge->in;
	exit->data = ge->data;
}

/* An exit that ends the run: what KVM said, and where the guest was. */
static void kvm_exit_fatal(struct vmm_vcpu *vcpu, const struct kvm_guest_exit *ge,
			   struct vmm_exit *exit)
{
	char where[160];

	exit->reason = VMM_EXIT_ERROR;
	describe_vcpu_rip(vcpu, where, sizeof(where));
	/*
	 * On AMD, KVM answers a shutdown by resetting the VMCB: the registers
	 * then hold the reset vector, not where the guest was.
	 */
	if (ge->reason == KVM_EXIT_SHUTDOWN && !strncmp(where, "rip 0xfff0", 10) &&
	    !isxdigit((unsigned char)where[10]))
		snprintf(where, sizeof(where),
			 "an unknown rip (KVM reset the vCPU on shutdown, as on AMD SVM)");
	switch (ge->reason) {
	case KVM_EXIT_SHUTDOWN:
		snprintf(exit->message, sizeof(exit->message),
			 "the guest crashed: triple fault (KVM_EXIT_SHUTDOWN) at %s", where);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(exit->message, sizeof(exit->message),
			 "KVM could not enter the guest (KVM_EXIT_FAIL_ENTRY, hardware reason "
			 "%#lx) at %s",
			 (unsigned long)ge->detail, where);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(exit->message, sizeof(exit->message),
			 "KVM internal error (KVM_EXIT_INTERNAL_ERROR, suberror %lu) at %s",
			 (unsigned long)ge->detail, where);
		break;
	default:
		snprintf(exit->message, sizeof(exit->message),
			 "unexpected KVM exit reason %u at %s", ge->reason, where);
	}
}

static void kvm_serve_exit(struct vmm_vcpu *vcpu, const struct kvm_guest_exit *ge,
			   struct vmm_exit *exit)
{
	if (ge->ret == -EINTR || ge->ret == -EAGAIN)
		return;
	if (ge->ret < 0) {
		exit->reason = VMM_EXIT_ERROR;
		snprintf(exit->message, sizeof(exit->message), "KVM_RUN failed: %s",
			 strerror(-ge->ret));
		return;
	}
	switch (ge->reason) {
	case KVM_EXIT_IO:
		kvm_exit_pio(vcpu, ge, exit);
		break;
	case KVM_EXIT_HLT:
		exit->reason = VMM_EXIT_HLT;
		break;
	case KVM_EXIT_INTR:
		break;
	default:
		kvm_exit_fatal(vcpu, ge, exit);
	}
}

/* ---- the run ---- */

/* One trip through KVM_RUN running guest code, its exit kept. */
static void kvm_run_guest(struct kvm_backend_vcpu *k)
{
	int ret;

	__atomic_store_n(&k->in_guest, true, __ATOMIC_SEQ_CST);
	ret = __kvm_ioctl(k->fd, KVM_RUN, NULL) < 0 ? -errno : 0;
	/*
	 * A full barrier: a kicker that saw in_guest set had made its
	 * request before, and kvm_flush_before_ack() looks after this.
	 */
	__atomic_store_n(&k->in_guest, false, __ATOMIC_SEQ_CST);
	__atomic_store_n(&k->run->immediate_exit, 0, __ATOMIC_RELAXED);
	kvm_keep_exit(k, ret, &k->exit);
	k->exit_unserved = true;
}

static void kvm_run_backend(struct vmm_vcpu *vcpu, struct vmm_exit *exit)
{
	struct kvm_backend_vcpu *k = to_kvm(vcpu);

	if (!k->thread_known) {
		k->thread = pthread_self();
		kvm_this_run = k->run;
		__atomic_store_n(&k->thread_known, true, __ATOMIC_RELEASE);
	}
	exit->reason = VMM_EXIT_KICK;
	/* Serves pending flushes; one may hand over an exit of its own to serve. */
	kvm_vcpu_enter_guest(vcpu->kvcpu);
	if (!k->flush_err[0] && !k->exit_unserved)
		kvm_run_guest(k);
	kvm_flush_before_ack(vcpu);
	kvm_vcpu_exit_guest(vcpu->kvcpu);
	k->exit_unserved = false;
	if (k->flush_err[0]) {
		exit->reason = VMM_EXIT_ERROR;
		snprintf(exit->message, sizeof(exit->message), "%s", k->flush_err);
		return;
	}
	kvm_serve_exit(vcpu, &k->exit, exit);
}

static void kvm_kick_vcpu(struct vmm_vcpu *vcpu)
{
	kvm_backend_kick(vcpu->kvcpu);
}

static void kvm_flush_tlb_vcpu(struct vmm_vcpu *vcpu)
{
	kvm_backend_flush_tlb(vcpu->kvcpu);
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
