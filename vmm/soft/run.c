// SPDX-License-Identifier: GPL-2.0
/*
 * The soft vCPU's run loop: fetch through the translate callback, find the
 * decoded instruction in the cache (decoding it on a miss), execute, and
 * look at the kick flag and queued invalidations between instructions.
 */
#include <stdio.h>
#include <string.h>

#include "base/compiler.h"
#include "vmm/soft/interp.h"

int soft_cpu_init(struct soft_cpu *cpu, const struct soft_mem_ops *ops, void *opaque)
{
	memset(cpu, 0, sizeof(*cpu));
	cpu->ops = ops;
	cpu->opaque = opaque;
	cpu->flags.rflags = 0x2; /* bit 1 always reads as one */
	cpu->mxcsr = SOFT_MXCSR_RESET;
	cpu->sys.cs = SOFT_SEL_CODE;
	cpu->sys.ss = SOFT_SEL_DATA;
	cpu->sys.efer = SOFT_EFER_FIXED;
	return soft_decode_cache_init(&cpu->cache);
}

void soft_cpu_destroy(struct soft_cpu *cpu)
{
	soft_decode_cache_destroy(&cpu->cache);
}

void soft_cpu_kick(struct soft_cpu *cpu)
{
	smp_store_release(&cpu->kick, 1);
}

void soft_cpu_invalidate_page(struct soft_cpu *cpu, uint64_t gpa)
{
	soft_decode_cache_invalidate(&cpu->cache, gpa);
}

void soft_cpu_complete_pio_in(struct soft_cpu *cpu, uint32_t val)
{
	uint64_t *rax = &cpu->gpr[SOFT_RAX];

	switch (cpu->exit.size) {
	case 1:
		*rax = (*rax & ~0xffUL) | (val & 0xff);
		break;
	case 2:
		*rax = (*rax & ~0xffffUL) | (val & 0xffff);
		break;
	default:
		*rax = val;
		break;
	}
	cpu->exit.data = val;
}

uint64_t soft_cpu_get_rflags(struct soft_cpu *cpu)
{
	return soft_flags_get(&cpu->flags);
}

void soft_cpu_set_rflags(struct soft_cpu *cpu, uint64_t rflags)
{
	cpu->flags.op = SOFT_CC_EFLAGS;
	cpu->flags.rflags = rflags | 0x2;
}

int soft_cpu_format_regs(struct soft_cpu *cpu, char *buf, unsigned int len)
{
	static const char *const names[SOFT_NR_GPRS] = { "rax", "rcx", "rdx", "rbx", "rsp", "rbp",
							 "rsi", "rdi", "r8",  "r9",  "r10", "r11",
							 "r12", "r13", "r14", "r15" };
	unsigned int i, n = 0;

	for (i = 0; i < SOFT_NR_GPRS && n < len; i++)
		n += snprintf(buf + n, len - n, "%s=%016lx%s", names[i], (unsigned long)cpu->gpr[i],
			      i % 4 == 3 ? "\n" : " ");
	if (n < len)
		n += snprintf(buf + n, len - n, "rip=%016lx rflags=%08lx", (unsigned long)cpu->rip,
			      (unsigned long)soft_cpu_get_rflags(cpu));
	return n < len ? n : len - 1;
}

/*
 * The instruction at cpu->rip: from the decode cache, or decoded now from
 * the bytes up to the end of the page, and from the next page if the
 * instruction may run into it.
 */
static int fetch(struct soft_exec *e, struct soft_insn *scratch)
{
	struct soft_cpu *cpu = e->cpu;
	struct soft_decode_cache *c = &cpu->cache;
	uint8_t bytes[SOFT_MAX_INSN_LEN];
	bool next_outside = false;
	unsigned int avail;
	struct soft_xlate x, x2;
	int ret;

	ret = soft_xlate(e, cpu->rip, 1, SOFT_ACCESS_FETCH, &x);
	if (ret)
		return ret;
	e->insn = soft_decode_cache_lookup(c, x.gpa);
	if (e->insn)
		return X_OK;

	avail = SOFT_PAGE_SIZE - (cpu->rip & (SOFT_PAGE_SIZE - 1));
	if (avail > SOFT_MAX_INSN_LEN)
		avail = SOFT_MAX_INSN_LEN;
	memcpy(bytes, x.hva, avail);
	if (avail < SOFT_MAX_INSN_LEN) {
		/*
		 * The instruction may run into the next page: it is fetched
		 * too, if it is there; if not, and the instruction needs it,
		 * that fetch is what faults.
		 */
		ret = soft_canonical(cpu->rip + avail) ?
			      cpu->ops->translate(cpu->opaque, cpu->rip + avail, 1,
						  SOFT_ACCESS_FETCH, cpu->rip, &x2) :
			      SOFT_XLATE_OUTSIDE;
		if (ret == SOFT_XLATE_RETRY)
			return X_RETRY;
		if (ret == SOFT_XLATE_OK) {
			memcpy(bytes + avail, x2.hva, SOFT_MAX_INSN_LEN - avail);
			avail = SOFT_MAX_INSN_LEN;
		} else {
			next_outside = true;
		}
	}
	if (soft_decode(c->decoder, bytes, avail, cpu->rip, scratch) ||
	    (next_outside && scratch->len > avail)) {
		/* Bytes cut short by the end of a memslot: report the fetch outside it. */
		if (next_outside)
			return soft_xlate(e, cpu->rip + avail, 1, SOFT_ACCESS_FETCH, &x2);
		/* Undecodable bytes are #UD on the hardware too. */
		if (soft_has_handler(cpu, SOFT_VEC_UD))
			return soft_raise(e, SOFT_VEC_UD, 0);
		e->insn = scratch;
		return soft_stop(e, SOFT_ERR_DECODE,
				 "undecodable instruction at rip %#lx: bytes %02x %02x %02x %02x",
				 (unsigned long)cpu->rip, bytes[0], bytes[1], bytes[2], bytes[3]);
	}
	e->insn = soft_decode_cache_insert(c, x.gpa, scratch);
	if (!e->insn)
		e->insn = scratch;
	return X_OK;
}

void soft_cpu_describe_insn(struct soft_cpu *cpu, char *buf, size_t len)
{
	char text[128] = "(between instructions)";

	if (cpu->cur_insn)
		soft_disasm(cpu->cache.decoder, cpu->cur_insn, cpu->rip, text, sizeof(text));
	snprintf(buf, len, "rip %#lx: %s", (unsigned long)cpu->rip, text);
}

/*
 * One instruction: fetched, executed, retired.  One that raises an
 * exception is not retired: rip stays on it while its frame is pushed,
 * and the step ends at the handler's first instruction, so the run loop
 * looks at kicks and queued invalidations before that one as before any.
 */
static int step(struct soft_cpu *cpu)
{
	struct soft_exec e = { .cpu = cpu };
	struct soft_insn scratch;
	int ret;

	ret = fetch(&e, &scratch);
	if (!ret) {
		e.next_rip = cpu->rip + e.insn->len;
		cpu->cur_insn = e.insn;
		ret = soft_execute(&e);
	}
	if (ret == X_FAULT) {
		ret = soft_deliver(&e);
	} else if (!ret) {
		cpu->rip = e.next_rip;
		cpu->stats.insns++;
	}
	cpu->cur_insn = NULL;
	return ret;
}

enum soft_exit_reason soft_cpu_run(struct soft_cpu *cpu, uint64_t max_insns)
{
	uint64_t n;

	cpu->exit.reason = SOFT_EXIT_NONE;
	cpu->exit.error = SOFT_ERR_NONE;
	for (n = 0;; n++) {
		if (smp_load_acquire(&cpu->kick)) {
			WRITE_ONCE(cpu->kick, 0);
			cpu->exit.reason = SOFT_EXIT_KICK;
			break;
		}
		if (max_insns && n == max_insns) {
			cpu->exit.reason = SOFT_EXIT_LIMIT;
			break;
		}
		if (soft_decode_cache_pending(&cpu->cache))
			soft_decode_cache_sync(&cpu->cache);
		switch (step(cpu)) {
		case X_RETRY:
			cpu->stats.retries++;
			continue;
		case X_STOP:
			return cpu->exit.reason;
		}
		if (cpu->exit.reason != SOFT_EXIT_NONE)
			break;
	}
	return cpu->exit.reason;
}
