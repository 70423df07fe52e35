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
	cpu->fcw = SOFT_FCW_RESET;
	cpu->sys.cs = SOFT_SEL_CODE;
	cpu->sys.ss = SOFT_SEL_DATA;
	cpu->sys.efer = SOFT_EFER_FIXED;
	soft_cpu_flush_tlb(cpu);
	return soft_decode_cache_init(&cpu->cache);
}

void soft_cpu_flush_tlb(struct soft_cpu *cpu)
{
	struct soft_tlb *tlb = &cpu->tlb;

	for (unsigned int i = 0; i < SOFT_TLB_ENTRIES; i++) {
		tlb->data[i].va_read = SOFT_TLB_INVALID;
		tlb->data[i].va_write = SOFT_TLB_INVALID;
	}
	tlb->code.va_read = SOFT_TLB_INVALID;
	tlb->code.va_write = SOFT_TLB_INVALID;
	tlb->flushes++;
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

void soft_cpu_revalidate_code(struct soft_cpu *cpu)
{
	soft_decode_cache_revalidate(&cpu->cache);
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
 *
 * While rip stays in the page of the last fetch, that fetch's translation
 * is used again (the TLB's code entry, access.h), with the sanitizer's
 * check on the frame as for any kept translation, and the translator is
 * not asked.  This is as strong as asking, because everything that could
 * make the answer differ ends the code entry first:
 *
 *  - the translation going: the VMM's flush request (rule 3, flush before
 *    return), the guest's INVLPG, TLB flush or CR3 load, a stale frame,
 *    all soft_cpu_flush_tlb(), and so is every entry into soft_cpu_run();
 *  - the frame freed or reused under it: the guard check here, before the
 *    decode cache is looked at, sends the fetch to the translator, which
 *    reports it;
 *  - the page's decoded code going (its page written, by this vCPU or
 *    through another mapping, or its translation zapped): the decode
 *    cache, keyed by guest-physical page, has dropped it at the
 *    instruction boundary (soft_decode_cache_sync()) before this fetch, so
 *    the lookup misses and the bytes are decoded again from the page;
 *  - a translation the translator would not let us keep (a tracked page
 *    table write): soft_xlate_slow() drops the code entry, so this fetch
 *    asks, and the translator ends the previous instruction's business
 *    there.
 *
 * Leaving the page, for a branch or by running off its end, asks the
 * translator again, as does an instruction that crosses into the next
 * page (never cached, and decoded every time).
 *
 * @link is the link slot of the cached instruction that just brought us
 * to rip, if any: its insn->next when it fell through, its insn->taken
 * when it was a jmp or jcc with a fixed target (soft_insn_fixed_target())
 * that jumped.  Either way rip is where it always goes that way.  The
 * instruction found there is linked to it, so the next time only the code
 * entry is checked and the lookup skipped.  The link lives in the decoded
 * page of both, which goes whole; the run loop forgets @link whenever it
 * syncs the decode cache, and a link is only followed through the code
 * entry, so it is never used across a page (a jump out of the page finds
 * the code entry on another), a new translation or a drop.
 */
static int fetch(struct soft_exec *e, struct soft_insn *scratch, struct soft_insn **link)
{
	struct soft_cpu *cpu = e->cpu;
	struct soft_decode_cache *c = &cpu->cache;
	const struct soft_tlb_entry *code = &cpu->tlb.code;
	uint64_t off = cpu->rip & (SOFT_PAGE_SIZE - 1);
	uint8_t bytes[SOFT_MAX_INSN_LEN];
	bool next_outside = false;
	unsigned int avail;
	struct soft_code_source src;
	struct soft_xlate x, x2;
	int ret;

	if (likely(code->va_read == cpu->rip - off && soft_tlb_guard_holds(code))) {
		if (link && *link) {
			c->hits++;
			e->insn = *link;
			return X_OK;
		}
		x.gpa = code->gpa + off;
		x.hva = code->hva + off;
		src = (struct soft_code_source){ code->guard,
						 { code->guard_val[0], code->guard_val[1] } };
	} else {
		link = NULL;
		ret = soft_xlate_slow(e, cpu->rip, 1, SOFT_ACCESS_FETCH, &x);
		if (ret)
			return ret;
		src = (struct soft_code_source){ x.guard, { x.guard_val[0], x.guard_val[1] } };
	}
	e->insn = soft_decode_cache_lookup(c, x.gpa, &src);
	if (e->insn) {
		if (link)
			*link = (struct soft_insn *)e->insn;
		return X_OK;
	}

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
	scratch->exec = soft_insn_handler(scratch);
	scratch->next = NULL;
	scratch->taken = NULL;
	scratch->fixed_target = soft_insn_fixed_target(scratch);
	e->insn = soft_decode_cache_insert(c, x.gpa, scratch, &src);
	if (!e->insn) {
		e->insn = scratch;
		return X_OK;
	}
	if (link)
		*link = (struct soft_insn *)e->insn;
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
 * *@chain is the link slot of the cached instruction that brought us to
 * rip (fetch()), and becomes this one's if it falls through, or takes its
 * fixed jump.
 */
static int step(struct soft_cpu *cpu, struct soft_exec *e, struct soft_insn ***chain)
{
	struct soft_insn scratch;
	int ret;

	/* What an instruction may find set; e->fault is written before it is read. */
	e->insn = NULL;
	e->delivering = false;
	ret = fetch(e, &scratch, *chain);
	*chain = NULL;
	if (!ret) {
		e->next_rip = cpu->rip + e->insn->len;
		cpu->cur_insn = e->insn;
		ret = e->insn->exec(e);
	}
	if (ret == X_FAULT) {
		ret = soft_deliver(e);
	} else if (!ret) {
		struct soft_insn *insn = (struct soft_insn *)e->insn;

		if (insn != &scratch) {
			if (e->next_rip == cpu->rip + insn->len)
				*chain = &insn->next;
			else if (insn->fixed_target)
				*chain = &insn->taken;
		}
		cpu->rip = e->next_rip;
		cpu->stats.insns++;
	}
	cpu->cur_insn = NULL;
	return ret;
}

enum soft_exit_reason soft_cpu_run(struct soft_cpu *cpu, uint64_t max_insns)
{
	struct soft_insn **chain = NULL;
	struct soft_exec e = { .cpu = cpu };
	/* No limit is one that is never reached: one compare per instruction. */
	uint64_t n, limit = max_insns ? max_insns : UINT64_MAX;

	cpu->exit.reason = SOFT_EXIT_NONE;
	cpu->exit.error = SOFT_ERR_NONE;
	/* Between runs the VMM may have changed what translations give (a hypercall's CR3). */
	soft_cpu_flush_tlb(cpu);
	for (n = 0;; n++) {
		if (unlikely(smp_load_acquire(&cpu->kick))) {
			WRITE_ONCE(cpu->kick, 0);
			cpu->exit.reason = SOFT_EXIT_KICK;
			break;
		}
		if (unlikely(n == limit)) {
			cpu->exit.reason = SOFT_EXIT_LIMIT;
			break;
		}
		if (unlikely(soft_decode_cache_pending(&cpu->cache))) {
			soft_decode_cache_sync(&cpu->cache);
			chain = NULL; /* its page may be gone */
		}
		switch (step(cpu, &e, &chain)) {
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
