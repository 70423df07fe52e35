// SPDX-License-Identifier: GPL-2.0
/*
 * The decode cache: decoded instructions per guest-physical code page, found
 * by a hash of the page frame number, each page a table of 4096 slots (one
 * per byte offset) filled as execution reaches them.  An instruction that
 * runs past its page is never cached: invalidating either page must drop
 * it, and it is rare enough to decode every time.
 *
 * A page's bytes can change three ways, and each ends its decoded code:
 * a store through a guest mapping (soft_decode_cache_written() by this
 * vCPU, soft_decode_cache_invalidate() queued by the VMM for another), or
 * the host giving the guest-physical page another frame (reclaimed and
 * swapped back in, migrated, discarded, truncated, COW-broken).  The last
 * always comes with a flush request, whose revalidation makes the next
 * lookup of each page compare the frame the translation gives now with
 * the one the page was decoded from: the frame's state and generation,
 * which change whenever a frame is freed, so the same frame with the same
 * generation is the same bytes.  A flush that left the frame in place (an
 * aging pass, a write-protect, a zap the page came back from) costs one
 * compare per page instead of decoding it all again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/soft/decode.h"

#define INSNS_PER_CHUNK 64

struct insn_chunk {
	struct insn_chunk *next;
	unsigned int used;
	struct soft_insn insns[INSNS_PER_CHUNK];
};

static unsigned int bucket_of(uint64_t pfn)
{
	return (pfn * 0x9e3779b97f4a7c15ull) >> 56;
}

static void hint_update(struct soft_decode_cache *c, uint64_t pfn)
{
	unsigned int h = pfn & 4095, b;
	struct soft_code_page *p;

	/* Recompute the hint bit of @pfn's alias class after a drop. */
	for (b = 0; b < SOFT_CACHE_BUCKETS; b++)
		for (p = c->buckets[b]; p; p = p->next)
			if ((p->pfn & 4095) == h)
				return;
	c->present[h / 64] &= ~(1UL << (h % 64));
}

int soft_decode_cache_init(struct soft_decode_cache *c)
{
	memset(c, 0, sizeof(*c));
	c->written_pfn = ~0UL;
	spin_lock_init(&c->pending_lock);
	c->decoder = soft_decoder_create();
	return c->decoder ? 0 : -ENOMEM;
}

static void free_page(struct soft_code_page *p)
{
	struct insn_chunk *ch, *next;

	for (ch = p->chunks; ch; ch = next) {
		next = ch->next;
		free(ch);
	}
	free(p);
}

static void drop_page(struct soft_decode_cache *c, uint64_t pfn)
{
	struct soft_code_page **pp, *p;

	for (pp = &c->buckets[bucket_of(pfn)]; (p = *pp); pp = &p->next) {
		if (p->pfn != pfn)
			continue;
		*pp = p->next;
		if (c->last == p)
			c->last = NULL;
		free_page(p);
		c->invalidations++;
		hint_update(c, pfn);
		return;
	}
}

static void drop_all(struct soft_decode_cache *c)
{
	struct soft_code_page *p, *next;
	unsigned int b;

	for (b = 0; b < SOFT_CACHE_BUCKETS; b++) {
		for (p = c->buckets[b]; p; p = next) {
			next = p->next;
			free_page(p);
			c->invalidations++;
		}
		c->buckets[b] = NULL;
	}
	c->last = NULL;
	memset(c->present, 0, sizeof(c->present));
}

void soft_decode_cache_destroy(struct soft_decode_cache *c)
{
	drop_all(c);
	soft_decoder_destroy(c->decoder);
	c->decoder = NULL;
}

static bool same_source(const struct soft_code_source *a, const struct soft_code_source *b)
{
	return a->guard && a->guard == b->guard && a->val[0] == b->val[0] && a->val[1] == b->val[1];
}

void soft_decode_cache_revalidate(struct soft_decode_cache *c)
{
	c->epoch++;
	c->last = NULL;
}

/* @pfn's page, checked against @src if this epoch has not seen it yet. */
static struct soft_code_page *find_page(struct soft_decode_cache *c, uint64_t pfn,
					const struct soft_code_source *src)
{
	struct soft_code_page *p = c->last;

	if (p && p->pfn == pfn)
		return p;
	for (p = c->buckets[bucket_of(pfn)]; p; p = p->next)
		if (p->pfn == pfn)
			break;
	if (!p)
		return NULL;
	if (p->epoch != c->epoch) {
		if (!same_source(&p->src, src)) {
			drop_page(c, pfn);
			return NULL;
		}
		p->epoch = c->epoch;
		c->revalidated++;
	}
	return c->last = p;
}

/* The lookup past the last page's fast path (in decode.h). */
const struct soft_insn *__soft_decode_cache_lookup(struct soft_decode_cache *c, uint64_t gpa,
						   const struct soft_code_source *src)
{
	struct soft_code_page *p = find_page(c, gpa >> SOFT_PAGE_SHIFT, src);
	struct soft_insn *insn = p ? p->slot[gpa & (SOFT_PAGE_SIZE - 1)] : NULL;

	if (insn)
		c->hits++;
	else
		c->misses++;
	return insn;
}

const struct soft_insn *soft_decode_cache_insert(struct soft_decode_cache *c, uint64_t gpa,
						 const struct soft_insn *insn,
						 const struct soft_code_source *src)
{
	uint64_t pfn = gpa >> SOFT_PAGE_SHIFT, off = gpa & (SOFT_PAGE_SIZE - 1);
	struct soft_code_page *p = find_page(c, pfn, src);
	struct insn_chunk *ch;
	struct soft_insn *slot;

	if (off + insn->len > SOFT_PAGE_SIZE) {
		c->uncached++;
		return NULL;
	}
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return NULL;
		p->pfn = pfn;
		p->src = *src;
		p->epoch = c->epoch;
		p->next = c->buckets[bucket_of(pfn)];
		c->buckets[bucket_of(pfn)] = p;
		c->present[(pfn & 4095) / 64] |= 1UL << (pfn % 64);
		c->last = p;
	}
	ch = p->chunks;
	if (!ch || ch->used == INSNS_PER_CHUNK) {
		ch = malloc(sizeof(*ch));
		if (!ch)
			return NULL;
		ch->used = 0;
		ch->next = p->chunks;
		p->chunks = ch;
	}
	slot = &ch->insns[ch->used++];
	*slot = *insn;
	slot->next = NULL;
	p->slot[off] = slot;
	return slot;
}

void soft_decode_cache_invalidate(struct soft_decode_cache *c, uint64_t gpa)
{
	int n;

	spin_lock(&c->pending_lock);
	n = c->pending;
	if (gpa == SOFT_CACHE_DROP_ALL)
		n = SOFT_CACHE_PENDING + 1;
	else if (n < SOFT_CACHE_PENDING)
		c->pending_gpa[n++] = gpa;
	else
		n = SOFT_CACHE_PENDING + 1;
	/* Past the array, sync drops everything. */
	WRITE_ONCE(c->pending, n);
	spin_unlock(&c->pending_lock);
}

void soft_decode_cache_sync(struct soft_decode_cache *c)
{
	uint64_t gpas[SOFT_CACHE_PENDING];
	int n, i;

	c->written_pfn = ~0UL;
	spin_lock(&c->pending_lock);
	n = c->pending;
	memcpy(gpas, c->pending_gpa, sizeof(gpas));
	WRITE_ONCE(c->pending, 0);
	spin_unlock(&c->pending_lock);

	if (n > SOFT_CACHE_PENDING) {
		drop_all(c);
		return;
	}
	for (i = 0; i < n; i++)
		drop_page(c, gpas[i] >> SOFT_PAGE_SHIFT);
}

/*
 * The instruction making the store may itself have been decoded from that
 * page (and xadd, say, still reads its operands after the store), so the
 * page is queued like any other invalidation and dropped at the next
 * instruction boundary, before the next fetch.  written_pfn keeps a rep
 * store over a code page from queueing it once per iteration.
 */
void soft_decode_cache_written(struct soft_decode_cache *c, uint64_t gpa)
{
	uint64_t pfn = gpa >> SOFT_PAGE_SHIFT;

	if (soft_decode_cache_may_hold(c, gpa) && pfn != c->written_pfn) {
		c->written_pfn = pfn;
		soft_decode_cache_invalidate(c, gpa);
	}
}
