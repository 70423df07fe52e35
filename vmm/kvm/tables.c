// SPDX-License-Identifier: GPL-2.0
/*
 * The VMM's top 16 MiB of the guest's address space (layout: stubs.h):
 * its page tables under root entry 511, beside the guest's, and what they
 * map: the GDT, an IDT per vCPU with gates into the stubs, a TSS per vCPU
 * giving its IST stacks, and the stub page, stubs.S copied in.  Built once,
 * when the VM is; afterwards only a vCPU's gates for the guest's own
 * exception handlers change, on that vCPU's thread, out of KVM_RUN.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mmu/pte_bits.h"
#include "vmm/kvm/internal.h"

BUILD_BUG_ON(DEVKVM_PAGE_SIZE != PAGE_SIZE);
BUILD_BUG_ON(DEVKVM_TOP_VA != KVM_VMM_TOP_GVA);
BUILD_BUG_ON(DEVKVM_TOP_READ_ONLY_PAGES != 5); /* devkvm_top_describe()'s names */

static uint64_t *devkvm_table(struct page *page)
{
	return page_address(page);
}

/* An entry of the VMM's own tables: present, writable, never the guest's business. */
static uint64_t devkvm_top_entry(struct page *page)
{
	return ((uint64_t)page_to_pfn(page) << PAGE_SHIFT) | PT_PRESENT_MASK | PT_WRITABLE_MASK |
	       PT_ACCESSED_MASK | PT_DIRTY_MASK;
}

/*
 * The leaf of top page @i.  GDT, IDT, TSS and the stubs are read-only:
 * with CR0.WP (devkvm.c) a guest write to them faults even at CPL 0, and
 * fault.c stops the guest naming the page, where a zeroed GDT or stub
 * page would have left the next exception with no way out of the guest
 * (KVM_RUN never returning).  The CPU never writes them: every segment
 * descriptor is made with its accessed bit set, the TSS descriptor busy,
 * and long mode has no task switch writing a TSS.
 *
 * The IST stacks stay writable, since the CPU pushes each exception's
 * frame there at CPL 0, so a CPL 0 guest can write them too, another
 * vCPU's included.  Nothing there is trusted beyond the guest's own VM:
 * a fault address read from them is checked like any access of the
 * guest's, the flush stub's return goes to the trampoline's address the
 * VMM computes (DEVKVM_TRAMPOLINE_VA()), and a frame the guest spoiled
 * ends in an exception of the stubs', which stops the guest.
 */
static uint64_t devkvm_top_leaf(struct page *page, int i)
{
	uint64_t pte = devkvm_top_entry(page);

	return i < DEVKVM_TOP_READ_ONLY_PAGES ? pte & ~(PT_WRITABLE_MASK | PT_DIRTY_MASK) : pte;
}

static struct page *devkvm_alloc_zeroed(struct frame_pool *pool)
{
	struct page *page = alloc_frame(pool, FRAME_SECONDARY, GFP_KERNEL);

	if (page)
		memset(page_address(page), 0, PAGE_SIZE);
	return page;
}

/* A 64-bit interrupt gate, DPL 0, into the stub at guest address @addr, on stack @ist. */
static void devkvm_set_gate(uint8_t *idt, int vec, uint64_t addr, int ist)
{
	uint8_t *g = idt + 16 * vec;

	memset(g, 0, 16);
	g[0] = addr;
	g[1] = addr >> 8;
	g[2] = DEVKVM_SEL_CODE;
	g[4] = ist;
	g[5] = 0x8e; /* present, DPL 0, 64-bit interrupt gate */
	g[6] = addr >> 16;
	g[7] = addr >> 24;
	memcpy(g + 8, (uint32_t[]){ addr >> 32 }, 4);
}

/* The VMM's byte at guest address @va in the top 16 MiB. */
static uint8_t *devkvm_top_byte(struct devkvm_vm *b, unsigned long va)
{
	return (uint8_t *)devkvm_top_page(b, va) + (va & (PAGE_SIZE - 1));
}

/* IST slot @ist of vCPU @i's TSS (1-7): the stack top the CPU switches to. */
static void devkvm_set_ist(struct devkvm_vm *b, unsigned int i, int ist, uint64_t top)
{
	memcpy(devkvm_top_byte(b, DEVKVM_TSS_VA + i * DEVKVM_TSS_STRIDE) + 0x24 + 8 * (ist - 1),
	       &top, 8);
}

/* vCPU @i's descriptor and TSS: IST1 for the exceptions, IST2 for the flush stub. */
static void devkvm_set_tss(struct devkvm_vm *b, unsigned int i)
{
	uint64_t *gdt = devkvm_top_page(b, DEVKVM_GDT_VA);
	uint8_t *t = devkvm_top_byte(b, DEVKVM_TSS_VA + i * DEVKVM_TSS_STRIDE);
	uint64_t base = DEVKVM_TSS_VA + i * DEVKVM_TSS_STRIDE, limit = DEVKVM_TSS_SIZE - 1;
	unsigned int slot = DEVKVM_SEL_TSS(i) / 8;

	gdt[slot] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x8bULL << 40) |
		    (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	gdt[slot + 1] = base >> 32;
	devkvm_set_ist(b, i, DEVKVM_IST_FAULT, DEVKVM_IST1_TOP(i));
	devkvm_set_ist(b, i, DEVKVM_IST_FLUSH, DEVKVM_IST2_TOP(i));
	t[0x66] = DEVKVM_TSS_SIZE; /* no I/O bitmap */
}

/* vCPU @i's gate of @vec into the VMM's stub, as the VM starts. */
static void devkvm_set_stub_gate(struct devkvm_vm *b, unsigned int i, int vec)
{
	devkvm_set_gate(devkvm_top_byte(b, DEVKVM_IDT_VA_OF(i)), vec, devkvm_idt_entries[vec],
			DEVKVM_IST_FAULT);
}

/* The IST slot of the guest's handler for @vector, or 0 if the guest cannot have one. */
static int devkvm_guest_ist(unsigned int vector)
{
	switch (vector) {
	case DE_VECTOR:
		return DEVKVM_IST_GUEST_DE;
	case UD_VECTOR:
		return DEVKVM_IST_GUEST_UD;
	case GP_VECTOR:
		return DEVKVM_IST_GUEST_GP;
	}
	return 0;
}

/*
 * HC_SET_EXCEPTION_HANDLER for #DE, #UD or #GP: vCPU @i's gate of @vector
 * goes to the guest's handler @rip, on the vector's IST slot holding
 * @stack, so the CPU itself delivers the exception with the architectural
 * frame and the guest's iretq returns from it; @rip 0 puts the stub back
 * (an exception that stops the guest).  The vCPU is out of KVM_RUN, on its
 * own thread: the CPU reads the gate and the slot at the next delivery.
 * 0, or -EINVAL for a vector delivered otherwise.
 */
int devkvm_set_guest_gate(struct devkvm_vm *b, unsigned int i, unsigned int vector, uint64_t rip,
			  uint64_t stack)
{
	int ist = devkvm_guest_ist(vector);

	if (!ist)
		return -EINVAL;
	if (!rip) {
		devkvm_set_stub_gate(b, i, vector);
		devkvm_set_ist(b, i, ist, 0);
		return 0;
	}
	devkvm_set_ist(b, i, ist, stack);
	devkvm_set_gate(devkvm_top_byte(b, DEVKVM_IDT_VA_OF(i)), vector, rip, ist);
	return 0;
}

/*
 * vCPU @i's #PF gate: the stub that puts back the guest's CR2 once the
 * guest has a #PF handler (@keep_cr2), the shorter one until then
 * (stubs.S says why two).  The vCPU is out of KVM_RUN, on its own thread.
 */
void devkvm_set_pf_gate(struct devkvm_vm *b, unsigned int i, bool keep_cr2)
{
	uint64_t stub =
		keep_cr2 ? devkvm_stub_va(devkvm_pf_stub_keep_cr2) : devkvm_idt_entries[PF_VECTOR];

	devkvm_set_gate(devkvm_top_byte(b, DEVKVM_IDT_VA_OF(i)), PF_VECTOR, stub, DEVKVM_IST_FAULT);
}

static void devkvm_build_tables(struct devkvm_vm *b, unsigned int nr_vcpus)
{
	uint64_t *gdt = devkvm_top_page(b, DEVKVM_GDT_VA);

	gdt[DEVKVM_SEL_CODE / 8] = 0x00af9b000000ffffULL;	 /* 64-bit code */
	gdt[DEVKVM_SEL_DATA / 8] = 0x00cf93000000ffffULL;	 /* data */
	gdt[DEVKVM_SEL_USER32_CODE / 8] = 0x00cffb000000ffffULL; /* DPL 3: 32-bit code */
	gdt[DEVKVM_SEL_USER_DATA / 8] = 0x00cff3000000ffffULL;	 /* data */
	gdt[DEVKVM_SEL_USER_CODE / 8] = 0x00affb000000ffffULL;	 /* 64-bit code */
	for (unsigned int i = 0; i < nr_vcpus; i++) {
		devkvm_set_tss(b, i);
		for (int vec = 0; vec < DEVKVM_NR_GATES; vec++)
			if (devkvm_idt_entries[vec])
				devkvm_set_stub_gate(b, i, vec);
	}
	memcpy(devkvm_top_page(b, DEVKVM_STUB_VA), devkvm_stub_start,
	       devkvm_stub_end - devkvm_stub_start);
}

int devkvm_top_create(struct vmm *vm, struct devkvm_vm *b, unsigned int nr_vcpus)
{
	uint64_t *root = devkvm_table(vm->kvm->root);

	b->pdpt = devkvm_alloc_zeroed(vm->pool);
	b->pd = devkvm_alloc_zeroed(vm->pool);
	b->pt = devkvm_alloc_zeroed(vm->pool);
	if (!b->pdpt || !b->pd || !b->pt)
		return -ENOMEM;
	for (int i = 0; i < DEVKVM_TOP_PAGES; i++) {
		b->top[i] = devkvm_alloc_zeroed(vm->pool);
		if (!b->top[i])
			return -ENOMEM;
		devkvm_table(b->pt)[i] = devkvm_top_leaf(b->top[i], i);
	}
	devkvm_table(b->pd)[PT64_INDEX(DEVKVM_TOP_VA, 2)] = devkvm_top_entry(b->pt);
	devkvm_table(b->pdpt)[PT64_INDEX(DEVKVM_TOP_VA, 3)] = devkvm_top_entry(b->pd);
	WRITE_ONCE(root[PT64_INDEX(DEVKVM_TOP_VA, 4)], devkvm_top_entry(b->pdpt));
	/* Every shadow root maps the same, from the same entries (mmu/shadow.h, role.vmm_top). */
	vm->kvm->vmm_top.pml4e = devkvm_top_entry(b->pdpt);
	vm->kvm->vmm_top.pdpte = devkvm_top_entry(b->pd);
	for (int i = 0; i < KVM_VMM_TOP_PDES; i++)
		vm->kvm->vmm_top.pde[i] = devkvm_table(b->pd)[PT64_INDEX(DEVKVM_TOP_VA, 2) + i];
	devkvm_build_tables(b, nr_vcpus);
	return 0;
}

int devkvm_top_describe(unsigned long va, char *buf, size_t len)
{
	unsigned long i = (va - DEVKVM_TOP_VA) / DEVKVM_PAGE_SIZE;
	static const char *const ro[DEVKVM_TOP_READ_ONLY_PAGES] = { "GDT", "IDT", "IDT", "TSSs",
								    "stub page" };

	if (va < DEVKVM_TOP_VA || i >= DEVKVM_TOP_PAGES) {
		snprintf(buf, len, "no page of the VMM's");
		return 0;
	}
	if (i < DEVKVM_TOP_READ_ONLY_PAGES) {
		snprintf(buf, len, "the VMM's %s, read-only to the guest", ro[i]);
		return 1;
	}
	i -= DEVKVM_TOP_READ_ONLY_PAGES;
	snprintf(buf, len, "vCPU %lu's %s stack of the VMM's", i / 2,
		 i % 2 ? "flush (IST2)" : "fault (IST1)");
	return 2;
}

void devkvm_top_destroy(struct vmm *vm, struct devkvm_vm *b)
{
	if (vm->kvm && vm->kvm->root)
		WRITE_ONCE(devkvm_table(vm->kvm->root)[PT64_INDEX(DEVKVM_TOP_VA, 4)], 0);
	for (int i = 0; i < DEVKVM_TOP_PAGES; i++)
		if (b->top[i])
			free_frame(b->top[i]);
	if (b->pt)
		free_frame(b->pt);
	if (b->pd)
		free_frame(b->pd);
	if (b->pdpt)
		free_frame(b->pdpt);
}
