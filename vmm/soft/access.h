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
};

/* The instruction being executed. */
struct soft_exec {
	struct soft_cpu *cpu;
	const struct soft_insn *insn;
	uint64_t next_rip;
};

/* A destination translated for writing: one host range, or two across a page boundary. */
struct soft_dest {
	uint64_t gva;
	unsigned int size;
	unsigned int split; /* bytes in the first page if it crosses, else 0 */
	struct soft_xlate x[2];
};

int soft_xlate_failed(struct soft_exec *e, enum soft_xlate_ret ret, uint64_t gva, unsigned int len,
		      enum soft_access acc);

static inline int soft_xlate(struct soft_exec *e, uint64_t gva, unsigned int len,
			     enum soft_access acc, struct soft_xlate *x)
{
	struct soft_cpu *cpu = e->cpu;
	enum soft_xlate_ret ret = cpu->ops->translate(cpu->opaque, gva, len, acc, cpu->rip, x);

	if (__builtin_expect(ret == SOFT_XLATE_OK, 1))
		return X_OK;
	return soft_xlate_failed(e, ret, gva, len, acc);
}
int soft_mem_read(struct soft_exec *e, uint64_t gva, unsigned int size, uint64_t *val);
int soft_dest_prepare(struct soft_exec *e, uint64_t gva, unsigned int size, struct soft_dest *d);
uint64_t soft_dest_load(const struct soft_dest *d);
void soft_dest_store(struct soft_exec *e, const struct soft_dest *d, uint64_t val);
/* Atomically replace *@old with @new if the destination still holds *@old. */
bool soft_dest_cmpxchg(struct soft_exec *e, const struct soft_dest *d, uint64_t *old, uint64_t new);
int soft_mem_write(struct soft_exec *e, uint64_t gva, unsigned int size, uint64_t val);

/* Stop the guest: fill cpu->exit with the error and a message ending in the registers. */
int soft_stop(struct soft_exec *e, enum soft_error err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
