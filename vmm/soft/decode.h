/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Decoding: Capstone (detail mode) turns guest bytes into a compact struct
 * soft_insn once; the decode cache keeps them per guest-physical code page
 * until that page is invalidated.
 */
#ifndef NOPIN_VMM_SOFT_DECODE_H
#define NOPIN_VMM_SOFT_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/spinlock.h"

#define SOFT_PAGE_SHIFT 12
#define SOFT_PAGE_SIZE (1UL << SOFT_PAGE_SHIFT)
#define SOFT_MAX_INSN_LEN 15

enum soft_op_type {
	SOFT_OP_NONE,
	SOFT_OP_REG,
	SOFT_OP_IMM,
	SOFT_OP_MEM,
	SOFT_OP_CR,  /* a control register of mov: reg is its number */
	SOFT_OP_XMM, /* an SSE register: reg is its number */
};

#define SOFT_REG_NONE 0xff
#define SOFT_REG_RIP 16
#define SOFT_REG_HIGH8 0x80 /* ah, ch, dh, bh: bits 8..15 of gpr (reg & 3) */

struct soft_operand {
	uint8_t type;
	uint8_t size; /* bytes */
	uint8_t reg;  /* SOFT_OP_REG: gpr index, maybe | SOFT_REG_HIGH8 */
	uint8_t base; /* SOFT_OP_MEM: gpr, SOFT_REG_RIP or SOFT_REG_NONE */
	uint8_t index;
	uint8_t scale;
	uint8_t addr32; /* 0x67: the effective address wraps at 4 GiB */
	int64_t val;	/* immediate, or displacement */
};

/* What the interpreter does with an instruction, chosen once at decode. */
enum soft_kind {
	SOFT_K_UNSUPPORTED,
	SOFT_K_NORMAL, /* dispatched on id */
	SOFT_K_MOV_CR, /* mov to or from a control register */
	SOFT_K_SSE,    /* SSE/SSE2 and the state they keep: sse.c */
	SOFT_K_X87,    /* an x87 escape (D8..DF), or one after a wait (9B): x87.c */
};

#define SOFT_PFX_LOCK 1
#define SOFT_PFX_REP 2
#define SOFT_PFX_REPNE 4
#define SOFT_PFX_OPSIZE 8    /* 0x66 */
#define SOFT_PFX_ADDRSIZE 16 /* 0x67: esi, edi, ecx and addresses wrap at 4 GiB */
#define SOFT_PFX_FS 32	     /* 0x64: a memory operand's address is offset by the FS base */
#define SOFT_PFX_GS 64	     /* 0x65: by the GS base */

struct soft_exec;

struct soft_insn {
	/* The handler the interpreter chose for it at decode (soft_insn_handler()). */
	int (*exec)(struct soft_exec *e);
	/*
	 * Cached instructions only: the one that follows it in the same page,
	 * once execution fell through to it (the run loop's chain, run.c);
	 * both go when the page goes.
	 */
	struct soft_insn *next;
	/*
	 * Likewise for a jmp or jcc with a fixed target (@fixed_target): the
	 * instruction it jumped to in the same page, once taken.
	 */
	struct soft_insn *taken;
	bool fixed_target;
	uint16_t id; /* x86_insn */
	uint8_t len;
	uint8_t nops;
	uint8_t prefix;	 /* SOFT_PFX_* */
	uint8_t opsize;	 /* operand size from the 0x66/REX.W prefixes: 2, 4 or 8 */
	uint8_t strsize; /* a string instruction's element size, from its opcode byte and prefixes */
	uint8_t kind;
	uint8_t cc; /* condition code of jcc/setcc/cmovcc */
	struct soft_operand op[3];
	uint8_t bytes[SOFT_MAX_INSN_LEN]; /* as decoded: legacy prefixes sorted (decode.c) */
};

/*
 * Decode one instruction from @bytes (@len available, guest address @rip).
 * Returns 0, or -EILSEQ when Capstone cannot decode them.  Branch targets
 * are stored relative to the next instruction, so a decoded instruction
 * does not depend on the guest-virtual address it was found at.
 */
struct soft_decoder;
struct soft_decoder *soft_decoder_create(void);
/* Is @b a legacy prefix or a REX, which may come before an opcode? */
bool soft_is_prefix(uint8_t b);
void soft_decoder_destroy(struct soft_decoder *d);
int soft_decode(struct soft_decoder *d, const uint8_t *bytes, size_t len, uint64_t rip,
		struct soft_insn *insn);
/* "mnemonic op_str" of @insn as Capstone prints it, at @rip. */
void soft_disasm(struct soft_decoder *d, const struct soft_insn *insn, uint64_t rip, char *buf,
		 size_t len);
const char *soft_insn_name(struct soft_decoder *d, unsigned int id);

/*
 * The frame a code page's bytes were read from, as the translation gave it
 * (struct soft_xlate's guard): two words of the frame and their values
 * then, the frame's state and generation for the VMM.  NULL guard: not
 * known, so the page cannot outlive a revalidation.
 */
struct soft_code_source {
	const unsigned int *guard;
	unsigned int val[2];
};

/* The decoded instructions of one guest-physical page, by byte offset. */
struct insn_chunk;
struct soft_code_page {
	struct soft_code_page *next; /* hash chain */
	uint64_t pfn;
	struct soft_code_source src;
	unsigned long epoch; /* the cache's epoch it was last found valid in */
	struct insn_chunk *chunks;
	struct soft_insn *slot[SOFT_PAGE_SIZE];
};

/*
 * The decode cache of one vCPU.  Only its vCPU thread looks up, fills and
 * frees pages; soft_decode_cache_invalidate() may come from any thread and
 * only queues the page, which the vCPU drops at its next instruction
 * boundary (soft_decode_cache_sync()).  Decoded instructions are copies,
 * never pointers into guest memory, so a late drop is stale code, never a
 * use-after-free.
 */
#define SOFT_CACHE_BUCKETS 256
#define SOFT_CACHE_PENDING 32
#define SOFT_CACHE_DROP_ALL (~0UL) /* as a gpa: drop every page */

struct soft_decode_cache {
	struct soft_decoder *decoder;
	struct soft_code_page *buckets[SOFT_CACHE_BUCKETS];
	struct soft_code_page *last; /* the page of the last lookup, valid in this epoch */
	unsigned long epoch;	     /* bumped by soft_decode_cache_revalidate() */
	/* Direct-mapped hint of which page frame numbers have a cached page. */
	uint64_t present[4096 / 64];
	uint64_t written_pfn; /* queued by a store since the last sync */

	spinlock_t pending_lock;
	int pending; /* nr of queued gpas, or > SOFT_CACHE_PENDING: drop all */
	uint64_t pending_gpa[SOFT_CACHE_PENDING];

	uint64_t hits, misses, uncached, invalidations, revalidated;
};

int soft_decode_cache_init(struct soft_decode_cache *c);
void soft_decode_cache_destroy(struct soft_decode_cache *c);
const struct soft_insn *__soft_decode_cache_lookup(struct soft_decode_cache *c, uint64_t gpa,
						   const struct soft_code_source *src);

/*
 * The cached instruction at @gpa, or NULL; counts a hit or a miss.  @src is
 * the frame the fetch's translation gives now: a page not yet checked in
 * this epoch is kept if it was decoded from that frame, dropped if not.
 */
static inline const struct soft_insn *soft_decode_cache_lookup(struct soft_decode_cache *c,
							       uint64_t gpa,
							       const struct soft_code_source *src)
{
	struct soft_code_page *p = c->last;
	struct soft_insn *insn;

	if (__builtin_expect(p && p->pfn == gpa >> SOFT_PAGE_SHIFT, 1)) {
		insn = p->slot[gpa & (SOFT_PAGE_SIZE - 1)];
		if (insn) {
			c->hits++;
			return insn;
		}
	}
	return __soft_decode_cache_lookup(c, gpa, src);
}
/* Cache @insn, decoded at @gpa from the frame @src (@insn must not run past the page). */
const struct soft_insn *soft_decode_cache_insert(struct soft_decode_cache *c, uint64_t gpa,
						 const struct soft_insn *insn,
						 const struct soft_code_source *src);
/*
 * vCPU thread: the translations of the cached pages may have changed (a
 * flush request served).  Nothing is dropped now; each page is checked at
 * its next lookup against the frame the fetch's translation gives, and
 * dropped if it is not the frame its bytes were read from.
 */
void soft_decode_cache_revalidate(struct soft_decode_cache *c);
/* Any thread: queue the page of @gpa (or SOFT_CACHE_DROP_ALL) for dropping. */
void soft_decode_cache_invalidate(struct soft_decode_cache *c, uint64_t gpa);
/* vCPU thread: drop the pages queued by soft_decode_cache_invalidate(). */
void soft_decode_cache_sync(struct soft_decode_cache *c);
/*
 * vCPU thread: a store to @gpa; its page, if it holds decoded code, is
 * dropped before the next fetch.
 */
void soft_decode_cache_written(struct soft_decode_cache *c, uint64_t gpa);

static inline bool soft_decode_cache_pending(struct soft_decode_cache *c)
{
	return READ_ONCE(c->pending);
}

static inline bool soft_decode_cache_may_hold(struct soft_decode_cache *c, uint64_t gpa)
{
	uint64_t pfn = (gpa >> SOFT_PAGE_SHIFT) & 4095;

	return c->present[pfn / 64] & (1UL << (pfn % 64));
}

#endif
