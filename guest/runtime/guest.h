/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest runtime: console output, exit, hypercalls, the free RAM between
 * the image and the stacks, and the few libc functions gcc may call.
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

static inline unsigned long hypercall(unsigned long nr, unsigned long a0, unsigned long a1)
{
	unsigned long ret = nr;

	__asm__ volatile("outl %%eax, %w1"
			 : "+a"(ret)
			 : "Nd"(PORT_HYPERCALL), "D"(a0), "S"(a1)
			 : "memory");
	return ret;
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
/* RAM from the end of the image to the lowest vCPU stack, page-aligned. */
unsigned long ram_free_start(void);
unsigned long ram_free_end(void);

#endif
