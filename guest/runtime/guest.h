/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest runtime: console output, exit, hypercalls, the free RAM between
 * the image and the stacks, exception handlers and the paging hypercalls,
 * and the few libc functions gcc may call.
 */
#ifndef NOPIN_GUEST_RUNTIME_H
#define NOPIN_GUEST_RUNTIME_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi.h"

#define PAGE_SIZE 4096UL

/* Each image defines it; runs on every vCPU; its return is the exit status. */
int guest_main(unsigned int cpu, unsigned int ncpus, unsigned long ram_size);

static inline void outb(uint16_t port, uint8_t val)
{
	__asm__ volatile("outb %0, %1" : : "a"(val), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t val)
{
	__asm__ volatile("outl %0, %1" : : "a"(val), "Nd"(port));
}

/* A hypercall: its arguments in rdi, rsi and rcx (dx is the port), its answer in rax. */
static inline unsigned long hypercall3(unsigned long nr, unsigned long a0, unsigned long a1,
				       unsigned long a2)
{
	unsigned long ret = nr;

	__asm__ volatile("outl %%eax, %w1"
			 : "+a"(ret)
			 : "Nd"(PORT_HYPERCALL), "D"(a0), "S"(a1), "c"(a2)
			 : "memory");
	return ret;
}

static inline unsigned long hypercall(unsigned long nr, unsigned long a0, unsigned long a1)
{
	return hypercall3(nr, a0, a1, 0);
}

static inline void cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

__attribute__((noreturn)) void guest_exit(int status);
/* Park this vCPU for good (another one will exit the VM). */
__attribute__((noreturn)) void guest_halt(void);

int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void *memset(void *s, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

unsigned long clock_ns(void);

/* An image's self-check failed: "<image>: vCPU <cpu>: <what> <got>, expected <want>: FAILED", exit 1. */
__attribute__((noreturn)) void guest_check_failed(const char *image, unsigned int cpu,
						  const char *what, unsigned long got,
						  unsigned long want);

/*
 * What an exception handler gets (runtime/exceptions.S builds it): the
 * interrupted code's registers, written back when the handler returns,
 * and the CPU's frame, whose rip the handler may move (past the faulting
 * instruction, say); iretq goes there.  error_code is 0 for a vector that
 * has none; cr2 is only a #PF's address.
 */
struct exception_frame {
	unsigned long cr2;
	unsigned long rax, rbx, rcx, rdx, rsi, rdi, rbp;
	unsigned long r8, r9, r10, r11, r12, r13, r14, r15;
	unsigned long vector, error_code;
	unsigned long rip, cs, rflags, rsp, ss; /* as the CPU pushed them */
};

typedef void (*exception_handler_t)(struct exception_frame *frame);

/*
 * This vCPU runs @fn on exception @vector (abi.h: DE_VECTOR, UD_VECTOR,
 * GP_VECTOR, PF_VECTOR), on a stack of the vector's own, the lowest 16 KiB
 * of the vCPU's stack; NULL takes it back.  A guest has one handler per
 * vector, which each vCPU registers for itself.  A handler may fault with
 * another vector, not with its own (its stack starts over each time, as
 * an IST stack does).  0, or the hypercall's -errno.
 */
long guest_set_exception_handler(unsigned int vector, exception_handler_t fn);
/* The same on a stack of the caller's, for code that did not enter through guest_main(). */
long __guest_set_exception_handler(unsigned int vector, exception_handler_t fn,
				   unsigned long stack_top);
/* The hypercalls of guest paging (abi.h): 0 or a negative errno. */
long guest_load_cr3(unsigned long cr3);
long guest_invlpg(unsigned long va);
long guest_flush_tlb(void);

/* The last #PF's address: a native instruction on both backends. */
static inline unsigned long guest_read_cr2(void)
{
	unsigned long cr2;

	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	return cr2;
}
/* RAM from the end of the image to the lowest vCPU stack, page-aligned. */
unsigned long ram_free_start(void);
unsigned long ram_free_end(void);
/* The end of RAM: the top of vCPU 0's stack (docs/design.md, "The guest ABI"). */
unsigned long ram_end(void);
/*
 * Write every word of free RAM and read it back, before anything lives
 * there: in a pressure run (RAM larger than the host's pool) the host must
 * take pages during the run, however fast the vCPU is, and give them back
 * intact.  0, or the first address that read back wrong.
 */
unsigned long ram_free_sweep(void);

/*
 * Page tables of the guest's own (runtime/paging.c): 4-level x86-64
 * tables in guest RAM, which the guest reaches through an identity map
 * (guest-virtual = guest-physical), the VMM's before its first CR3 load,
 * its own after.  A table has one writer at a time: the caller sees to it
 * (the walks of other vCPUs only set A and D, by cmpxchg).
 */
#define GUEST_ENOMEM 12

#define PTE_P (1UL << 0)   /* present */
#define PTE_W (1UL << 1)   /* writable */
#define PTE_U (1UL << 2)   /* user */
#define PTE_A (1UL << 5)   /* accessed: set by a walk that used the entry */
#define PTE_D (1UL << 6)   /* dirty: set in the leaf by a write */
#define PTE_PS (1UL << 7)  /* a 2 MiB (PDE) or 1 GiB (PDPTE) leaf */
#define PTE_NX (1UL << 63) /* no execute */
#define PTE_ADDR_MASK 0x000ffffffffff000UL

#define PAGE_SIZE_2M (1UL << 21)

/* #PF error code bits. */
#define PFERR_PRESENT (1UL << 0)
#define PFERR_WRITE (1UL << 1)
#define PFERR_FETCH (1UL << 4)

/* @bytes of RAM aligned to @align (a power of two), not zeroed; 0 when none is left. */
unsigned long alloc_frames(unsigned long bytes, unsigned long align);
/* One zeroed 4 KiB frame, or 0. */
unsigned long alloc_frame(void);
/* Fill a 4 KiB frame, or copy one, a word at a time. */
void fill_frame(unsigned long gpa, unsigned long word);
void copy_frame(unsigned long dst, unsigned long src);

/* A new, empty PML4: its GPA, or 0. */
unsigned long pgtable_new(void);
/*
 * Map @va to @gpa under @pml4 as a page of @size (PAGE_SIZE or
 * PAGE_SIZE_2M) with @flags (PTE_W, PTE_U, PTE_NX...; P and PS are
 * added), making the tables above it.  Replaces a leaf already there: the
 * caller invalidates the old translation (guest_invlpg()).  0 or -errno.
 */
long map_page(unsigned long pml4, unsigned long va, unsigned long gpa, unsigned long size,
	      unsigned long flags);
/* Clear the leaf of @va; the caller invalidates it.  0, or -GUEST_EINVAL if none. */
long unmap_page(unsigned long pml4, unsigned long va);
/* The leaf entry of @va (its level in @level: 1, 2 or 3), or NULL. */
unsigned long *pte_lookup(unsigned long pml4, unsigned long va, unsigned int *level);
/* The level-1 entry of @va, making the tables above it; NULL if out of RAM or under a large page. */
unsigned long *pte_alloc(unsigned long pml4, unsigned long va);
/* An entry as a walk sees it, and a store of one: one 8-byte access each. */
unsigned long pte_read(const unsigned long *pte);
void pte_write(unsigned long *pte, unsigned long val);
/* Map all of RAM at its own address, writable: 2 MiB pages where they fit. */
long identity_map_ram(unsigned long pml4);
/* Load the image's own tables; a refusal says why ("<image>: ... FAILED") and exits 1. */
void load_own_cr3(const char *image, unsigned long pml4);

/*
 * A load or a store that may fault.  The image's #PF handler calls
 * probe_fixup() first: for a probe's instruction it returns true and
 * the probe returns -GUEST_EFAULT with the fault's error code and CR2 in
 * @fault.
 */
struct probe_fault {
	unsigned long error_code, cr2;
};
long probe_read(unsigned long va, unsigned long *val, struct probe_fault *fault);
long probe_write(unsigned long va, unsigned long val, struct probe_fault *fault);
bool probe_fixup(struct exception_frame *frame);

/* Plain accesses through a virtual address, never merged or moved by the compiler. */
static inline unsigned long peek(unsigned long va)
{
	return *(volatile unsigned long *)va;
}

static inline void poke(unsigned long va, unsigned long val)
{
	*(volatile unsigned long *)va = val;
}

#endif
