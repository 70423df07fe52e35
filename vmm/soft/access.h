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

/*
 * Translate @gva for an access of @len bytes.  A non-canonical address is
 * the architecture's #GP(0), raised before any translation.
 */
static inline int soft_xlate(struct soft_exec *e, uint64_t gva, unsigned int len,
			     enum soft_access acc, struct soft_xlate *x)
{
	struct soft_cpu *cpu = e->cpu;
	enum soft_xlate_ret ret;

	if (__builtin_expect(!soft_canonical(gva), 0))
		return soft_noncanonical(e, gva, len, acc);
	ret = cpu->ops->translate(cpu->opaque, gva, len, acc, cpu->rip, x);
	if (__builtin_expect(ret == SOFT_XLATE_OK, 1))
		return X_OK;
	return soft_xlate_failed(e, ret, gva, len, acc, x);
}
int soft_mem_read(struct soft_exec *e, uint64_t gva, unsigned int size, uint64_t *val);
int soft_dest_prepare(struct soft_exec *e, uint64_t gva, unsigned int size, struct soft_dest *d);
uint64_t soft_dest_load(const struct soft_dest *d);
void soft_dest_store(struct soft_exec *e, const struct soft_dest *d, uint64_t val);
/* Atomically replace *@old with @new if the destination still holds *@old. */
bool soft_dest_cmpxchg(struct soft_exec *e, const struct soft_dest *d, uint64_t *old, uint64_t new);
bool soft_dest_cmpxchg16(struct soft_exec *e, const struct soft_dest *d, unsigned __int128 *old,
			 unsigned __int128 new);
int soft_mem_write(struct soft_exec *e, uint64_t gva, unsigned int size, uint64_t val);
/* The same for bytes as they lie in memory, up to a page (SSE operands, an fxsave area). */
int soft_mem_read_bytes(struct soft_exec *e, uint64_t gva, unsigned int size, void *buf);
void soft_dest_store_bytes(struct soft_exec *e, const struct soft_dest *d, const void *buf);
int soft_mem_write_bytes(struct soft_exec *e, uint64_t gva, unsigned int size, const void *buf);

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
