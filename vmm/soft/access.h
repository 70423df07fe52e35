/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest memory accesses of the interpreter, all through the translate
 * callback.  The rule that makes SOFT_XLATE_RETRY safe: an instruction
 * translates everything it will touch before it changes anything, so an
 * abandoned instruction has had no effect (a rep string instruction
 * commits per iteration, as the hardware does).
 */
#ifndef NOPIN_VMM_SOFT_ACCESS_H
#define NOPIN_VMM_SOFT_ACCESS_H

#include <string.h>

#include "base/compiler.h"
#include "vmm/soft/soft_cpu.h"

/* What an execution step returns inside the interpreter. */
enum {
	X_OK,
	X_RETRY, /* a translation asked for it: re-execute this instruction */
	X_STOP,	 /* cpu->exit is filled in */
	X_FAULT, /* an exception for the guest's handler: e->fault, delivered by the run loop */
};

/* An exception the instruction raised, to deliver (exception.c). */
struct soft_fault {
	uint8_t vector;
	uint32_t error_code;
	uint64_t cr2; /* a #PF's address */
};

/* The instruction being executed. */
struct soft_exec {
	struct soft_cpu *cpu;
	const struct soft_insn *insn; /* NULL until fetched */
	uint64_t next_rip;
	struct soft_fault fault;
	bool delivering; /* pushing e->fault's frame: another fault now is a double fault */
};

/* An address whose bits 63..47 are all equal (48-bit linear addresses). */
static inline bool soft_canonical(uint64_t va)
{
	return (uint64_t)((int64_t)(va << 16) >> 16) == va;
}

/* A destination translated for writing: one host range, or two across a page boundary. */
struct soft_dest {
	uint64_t gva;
	unsigned int size;
	unsigned int split; /* bytes in the first page if it crosses, else 0 */
	struct soft_xlate x[2];
};

int soft_xlate_failed(struct soft_exec *e, enum soft_xlate_ret ret, uint64_t gva, unsigned int len,
		      enum soft_access acc, const struct soft_xlate *x);
int soft_noncanonical(struct soft_exec *e, uint64_t gva, unsigned int len, enum soft_access acc);

/* Ask the translator (and keep what it lets us keep); see soft_xlate(). */
int soft_xlate_slow(struct soft_exec *e, uint64_t gva, unsigned int len, enum soft_access acc,
		    struct soft_xlate *x);

/* Is the frame behind a kept translation still the one it was made to? */
static inline bool soft_tlb_guard_holds(const struct soft_tlb_entry *t)
{
	return READ_ONCE(t->guard[0]) == t->guard_val[0] &&
	       READ_ONCE(t->guard[1]) == t->guard_val[1];
}

/*
 * Translate @gva for a load or store of @len bytes, which must not cross
 * a page (fetches go through soft_xlate_slow() and the code entry).  A
 * non-canonical address is the architecture's #GP(0), raised before any
 * translation.
 *
 * The interpreter's TLB answers first.  It holds only what a translator
 * called cacheable, and it is exactly as strong as asking again:
 *
 *  - every use still runs the sanitizer's check: the guard words (the
 *    frame's state and generation) must hold what they held when the
 *    translation was made, else the translator is asked, and it reports
 *    the freed or reused frame as it would have;
 *  - it is dropped whole (soft_cpu_flush_tlb()) wherever the translations
 *    behind it are: the VMM's flush request (rule 3, flush before
 *    return), the guest's INVLPG, TLB flush and CR3 load, a stale frame,
 *    and every soft_cpu_run() entry, so nothing kept crosses a return to
 *    the VMM, where a hypercall may have changed CR3;
 *  - a write needs an entry a write filled (the translator made it
 *    writable and dirty); a read may use either;
 *  - a translation the translator would not let us keep (a write to a
 *    page table the shadow MMU tracks) is asked for every time, and drops
 *    the code entry, so the next fetch reaches the translator, which
 *    completes the tracked write at the instruction boundary.
 *
 * Retry safety is unchanged: a hit has no side effect, and a miss is the
 * translate callback as before.  Entries are by guest-virtual page for the
 * current privilege: a change of it (syscall, sysret, iretq to ring 3, an
 * exception into ring 0) flushes (soft_cpu_set_cs()), since the U/S check
 * is the translator's.
 */
static inline int soft_xlate(struct soft_exec *e, uint64_t gva, unsigned int len,
			     enum soft_access acc, struct soft_xlate *x)
{
	struct soft_tlb_entry *t = &e->cpu->tlb.data[(gva >> SOFT_PAGE_SHIFT) % SOFT_TLB_ENTRIES];
	uint64_t page = gva & ~(SOFT_PAGE_SIZE - 1), off = gva & (SOFT_PAGE_SIZE - 1);
	uint64_t va = acc == SOFT_ACCESS_WRITE ? t->va_write : t->va_read;

	if (likely(acc != SOFT_ACCESS_FETCH && va == page && soft_tlb_guard_holds(t))) {
		x->hva = t->hva + off;
		x->gpa = t->gpa + off;
		return X_OK;
	}
	return soft_xlate_slow(e, gva, len, acc, x);
}

int soft_dest_prepare(struct soft_exec *e, uint64_t gva, unsigned int size, struct soft_dest *d);
uint64_t soft_dest_load(const struct soft_dest *d);
void soft_dest_store(struct soft_exec *e, const struct soft_dest *d, uint64_t val);
/* Atomically replace *@old with @new if the destination still holds *@old. */
bool soft_dest_cmpxchg(struct soft_exec *e, const struct soft_dest *d, uint64_t *old, uint64_t new);
bool soft_dest_cmpxchg16(struct soft_exec *e, const struct soft_dest *d, unsigned __int128 *old,
			 unsigned __int128 new);
/* The same for bytes as they lie in memory, up to a page (SSE operands, an fxsave area). */
int soft_mem_read_bytes(struct soft_exec *e, uint64_t gva, unsigned int size, void *buf);
void soft_dest_store_bytes(struct soft_exec *e, const struct soft_dest *d, const void *buf);
int soft_mem_write_bytes(struct soft_exec *e, uint64_t gva, unsigned int size, const void *buf);

/* Naturally aligned loads and stores are single host accesses, atomic as on x86. */
static inline bool soft_aligned(const void *p, unsigned int size)
{
	return !((uintptr_t)p & (size - 1));
}

static inline uint64_t soft_host_load(const void *p, unsigned int size)
{
	uint64_t v = 0;

	if (soft_aligned(p, size)) {
		switch (size) {
		case 1:
			return READ_ONCE(*(const uint8_t *)p);
		case 2:
			return READ_ONCE(*(const uint16_t *)p);
		case 4:
			return READ_ONCE(*(const uint32_t *)p);
		case 8:
			return READ_ONCE(*(const uint64_t *)p);
		}
	}
	memcpy(&v, p, size);
	return v;
}

static inline void soft_host_store(void *p, unsigned int size, uint64_t v)
{
	if (soft_aligned(p, size)) {
		switch (size) {
		case 1:
			WRITE_ONCE(*(uint8_t *)p, v);
			return;
		case 2:
			WRITE_ONCE(*(uint16_t *)p, v);
			return;
		case 4:
			WRITE_ONCE(*(uint32_t *)p, v);
			return;
		case 8:
			WRITE_ONCE(*(uint64_t *)p, v);
			return;
		}
	}
	memcpy(p, &v, size);
}

static inline unsigned int soft_first_part(uint64_t gva, unsigned int size)
{
	unsigned int room = SOFT_PAGE_SIZE - (gva & (SOFT_PAGE_SIZE - 1));

	return size > room ? room : 0;
}

int __soft_mem_read(struct soft_exec *e, uint64_t gva, unsigned int size, uint64_t *val);
int __soft_mem_write(struct soft_exec *e, uint64_t gva, unsigned int size, uint64_t val);

/* A load of @size bytes at @gva; the common case (within a page) inline. */
static inline int soft_mem_read(struct soft_exec *e, uint64_t gva, unsigned int size, uint64_t *val)
{
	struct soft_xlate x;
	int ret;

	if (__builtin_expect(soft_first_part(gva, size), 0))
		return __soft_mem_read(e, gva, size, val);
	ret = soft_xlate(e, gva, size, SOFT_ACCESS_READ, &x);
	if (__builtin_expect(!ret, 1))
		*val = soft_host_load(x.hva, size);
	return ret;
}

/* A plain store of @size bytes at @gva; the common case (within a page) inline. */
static inline int soft_mem_write(struct soft_exec *e, uint64_t gva, unsigned int size, uint64_t val)
{
	struct soft_xlate x;
	int ret;

	if (__builtin_expect(soft_first_part(gva, size), 0))
		return __soft_mem_write(e, gva, size, val);
	ret = soft_xlate(e, gva, size, SOFT_ACCESS_WRITE, &x);
	if (__builtin_expect(!ret, 1)) {
		soft_host_store(x.hva, size, val);
		soft_decode_cache_written(&e->cpu->cache, x.gpa);
	}
	return ret;
}

/* Stop the guest: fill cpu->exit with the error and a message ending in the registers. */
int soft_stop(struct soft_exec *e, enum soft_error err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "rip 0x...: mnemonic operands" of the instruction being executed, or of its fetch. */
void soft_describe(struct soft_exec *e, char *buf, size_t len);

/* ---- exceptions [exception.c] ---- */

/*
 * The instruction raises @vector (with @error_code, where the vector has
 * one): X_FAULT if the guest registered a handler for it, which the run
 * loop then enters (soft_deliver()); otherwise the guest stops with
 * SOFT_ERR_EXCEPTION and "#GP (general protection, ...) at rip ...: <the
 * instruction>: <@why>".  Call it before the instruction changes anything.
 */
int soft_fault(struct soft_exec *e, unsigned int vector, uint32_t error_code, const char *why, ...)
	__attribute__((format(printf, 4, 5)));
/* Has the guest a handler for @vector? */
static inline bool soft_has_handler(const struct soft_cpu *cpu, unsigned int vector)
{
	return cpu->handlers[vector].rip != 0;
}
/* X_FAULT for @vector, which has a handler. */
int soft_raise(struct soft_exec *e, unsigned int vector, uint32_t error_code);
/* Enter the handler of e->fault: X_OK (rip is the handler's), X_RETRY or X_STOP. */
int soft_deliver(struct soft_exec *e);
/* iretq: back from a handler, through the frame at rsp. */
int soft_exec_iretq(struct soft_exec *e);

#endif
