// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory accesses: translation, loads and stores that may cross a
 * page, and the atomic read-modify-write a lock prefix asks for.  Naturally
 * aligned accesses are single host accesses (atomic, as on x86); a locked
 * RMW is a compare-and-exchange on the host address, so it is atomic
 * against other vCPUs whatever host page backs the guest page.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/atomic.h"
#include "vmm/soft/access.h"

static const char *const access_name[] = { "fetch", "read", "write" };

int soft_stop(struct soft_exec *e, enum soft_error err, const char *fmt, ...)
{
	struct soft_cpu *cpu = e->cpu;
	char *buf = cpu->exit.message;
	size_t size = sizeof(cpu->exit.message);
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < size - 1) {
		buf[n++] = '\n';
		soft_cpu_format_regs(cpu, buf + n, size - n);
	}
	cpu->exit.reason = SOFT_EXIT_ERROR;
	cpu->exit.error = err;
	return X_STOP;
}

void soft_describe(struct soft_exec *e, char *buf, size_t len)
{
	struct soft_cpu *cpu = e->cpu;
	char dis[128];

	if (e->insn)
		soft_disasm(cpu->cache.decoder, e->insn, cpu->rip, dis, sizeof(dis));
	else
		snprintf(dis, sizeof(dis), "(instruction fetch)");
	snprintf(buf, len, "rip %#lx: %s", (unsigned long)cpu->rip, dis);
}

/*
 * The slow path of soft_xlate(): a retry; a #PF the guest's own tables
 * raise; or an access outside every memslot (or refused by the host), which
 * stops the guest.
 */
int soft_xlate_failed(struct soft_exec *e, enum soft_xlate_ret ret, uint64_t gva, unsigned int len,
		      enum soft_access acc, const struct soft_xlate *x)
{
	struct soft_cpu *cpu = e->cpu;
	char where[192];

	if (ret == SOFT_XLATE_RETRY)
		return X_RETRY;
	if (ret == SOFT_XLATE_PAGE_FAULT) {
		if (!e->delivering) /* else a double fault: e->fault stays the first */
			e->fault.cr2 = gva;
		cpu->exit.addr = gva;
		return soft_fault(e, SOFT_VEC_PF, x->error_code, "a %s of %u bytes at %#lx",
				  access_name[acc], len, (unsigned long)gva);
	}
	cpu->exit.addr = gva;
	soft_describe(e, where, sizeof(where));
	return soft_stop(
		e, SOFT_ERR_OUTSIDE, "guest %s of %u bytes at %#lx %s%s, %s", access_name[acc], len,
		(unsigned long)gva, ret == SOFT_XLATE_FAULT ? "failed" : "outside every memslot",
		e->delivering ? " while delivering an exception to its handler" : "", where);
}

/* bits 63..47 of @gva differ: #GP(0), as on the hardware (#SS for rsp/rbp is not modelled). */
int soft_noncanonical(struct soft_exec *e, uint64_t gva, unsigned int len, enum soft_access acc)
{
	e->cpu->exit.addr = gva;
	return soft_fault(e, SOFT_VEC_GP, 0, "a %s of %u bytes at non-canonical address %#lx",
			  access_name[acc], len, (unsigned long)gva);
}

/* The guard of a translation that has nothing to check: two words that never change. */
static const unsigned int no_guard[2];

/* Keep @x, a translation of @gva for @acc, in the interpreter's TLB. */
static void soft_tlb_fill(struct soft_cpu *cpu, uint64_t gva, enum soft_access acc,
			  const struct soft_xlate *x)
{
	uint64_t page = gva & ~(SOFT_PAGE_SIZE - 1), off = gva & (SOFT_PAGE_SIZE - 1);
	struct soft_tlb_entry *t =
		acc == SOFT_ACCESS_FETCH ?
			&cpu->tlb.code :
			&cpu->tlb.data[(gva >> SOFT_PAGE_SHIFT) % SOFT_TLB_ENTRIES];

	t->va_read = page;
	/* A read's translation is no proof that the page may be written. */
	t->va_write = acc == SOFT_ACCESS_WRITE ? page : SOFT_TLB_INVALID;
	t->hva = (char *)x->hva - off;
	t->gpa = x->gpa - off;
	t->guard = x->guard ? x->guard : no_guard;
	t->guard_val[0] = x->guard ? x->guard_val[0] : 0;
	t->guard_val[1] = x->guard ? x->guard_val[1] : 0;
}

int soft_xlate_slow(struct soft_exec *e, uint64_t gva, unsigned int len, enum soft_access acc,
		    struct soft_xlate *x)
{
	struct soft_cpu *cpu = e->cpu;
	enum soft_xlate_ret ret;

	if (__builtin_expect(!soft_canonical(gva), 0))
		return soft_noncanonical(e, gva, len, acc);
	x->cacheable = false;
	x->guard = NULL;
	cpu->tlb.misses++;
	ret = cpu->ops->translate(cpu->opaque, gva, len, acc, cpu->rip, x);
	if (__builtin_expect(ret != SOFT_XLATE_OK, 0))
		return soft_xlate_failed(e, ret, gva, len, acc, x);
	if (x->cacheable)
		soft_tlb_fill(cpu, gva, acc, x);
	else /* the next fetch asks the translator: see soft_xlate() */
		cpu->tlb.code.va_read = SOFT_TLB_INVALID;
	return X_OK;
}

int __soft_mem_read(struct soft_exec *e, uint64_t gva, unsigned int size, uint64_t *val)
{
	unsigned int split = soft_first_part(gva, size);
	struct soft_xlate x[2];
	uint64_t v = 0;
	int ret;

	if (!split) {
		ret = soft_xlate(e, gva, size, SOFT_ACCESS_READ, &x[0]);
		if (ret)
			return ret;
		*val = soft_host_load(x[0].hva, size);
		return X_OK;
	}
	ret = soft_xlate(e, gva, split, SOFT_ACCESS_READ, &x[0]);
	if (!ret)
		ret = soft_xlate(e, gva + split, size - split, SOFT_ACCESS_READ, &x[1]);
	if (ret)
		return ret;
	memcpy(&v, x[0].hva, split);
	memcpy((char *)&v + split, x[1].hva, size - split);
	*val = v;
	return X_OK;
}

/* @size bytes (up to 16: an SSE operand) at @gva into @buf. */
int soft_mem_read_bytes(struct soft_exec *e, uint64_t gva, unsigned int size, void *buf)
{
	unsigned int split = soft_first_part(gva, size);
	struct soft_xlate x[2];
	int ret;

	ret = soft_xlate(e, gva, split ? split : size, SOFT_ACCESS_READ, &x[0]);
	if (!ret && split)
		ret = soft_xlate(e, gva + split, size - split, SOFT_ACCESS_READ, &x[1]);
	if (ret)
		return ret;
	if (!split) {
		memcpy(buf, x[0].hva, size);
		return X_OK;
	}
	memcpy(buf, x[0].hva, split);
	memcpy((char *)buf + split, x[1].hva, size - split);
	return X_OK;
}

int soft_dest_prepare(struct soft_exec *e, uint64_t gva, unsigned int size, struct soft_dest *d)
{
	int ret;

	d->gva = gva;
	d->size = size;
	d->split = soft_first_part(gva, size);
	if (!d->split)
		return soft_xlate(e, gva, size, SOFT_ACCESS_WRITE, &d->x[0]);
	ret = soft_xlate(e, gva, d->split, SOFT_ACCESS_WRITE, &d->x[0]);
	if (!ret)
		ret = soft_xlate(e, gva + d->split, size - d->split, SOFT_ACCESS_WRITE, &d->x[1]);
	return ret;
}

uint64_t soft_dest_load(const struct soft_dest *d)
{
	uint64_t v = 0;

	if (!d->split)
		return soft_host_load(d->x[0].hva, d->size);
	memcpy(&v, d->x[0].hva, d->split);
	memcpy((char *)&v + d->split, d->x[1].hva, d->size - d->split);
	return v;
}

void soft_dest_store(struct soft_exec *e, const struct soft_dest *d, uint64_t val)
{
	struct soft_decode_cache *c = &e->cpu->cache;

	if (!d->split) {
		soft_host_store(d->x[0].hva, d->size, val);
	} else {
		memcpy(d->x[0].hva, &val, d->split);
		memcpy(d->x[1].hva, (char *)&val + d->split, d->size - d->split);
		soft_decode_cache_written(c, d->x[1].gpa);
	}
	soft_decode_cache_written(c, d->x[0].gpa);
}

void soft_dest_store_bytes(struct soft_exec *e, const struct soft_dest *d, const void *buf)
{
	struct soft_decode_cache *c = &e->cpu->cache;

	if (!d->split) {
		memcpy(d->x[0].hva, buf, d->size);
	} else {
		memcpy(d->x[0].hva, buf, d->split);
		memcpy(d->x[1].hva, (const char *)buf + d->split, d->size - d->split);
		soft_decode_cache_written(c, d->x[1].gpa);
	}
	soft_decode_cache_written(c, d->x[0].gpa);
}

/*
 * A locked access that crosses a page cannot be one host atomic; it is
 * done as a plain load and store (a split lock, which the hardware also
 * handles specially and which gcc never emits).
 */
bool soft_dest_cmpxchg(struct soft_exec *e, const struct soft_dest *d, uint64_t *old, uint64_t new)
{
	void *p = d->x[0].hva;
	uint64_t cur;
	bool ok;

	if (d->split || !soft_aligned(p, d->size)) {
		cur = soft_dest_load(d);
		if (cur != *old) {
			*old = cur;
			return false;
		}
		soft_dest_store(e, d, new);
		return true;
	}
	switch (d->size) {
	case 1: {
		uint8_t o = *old;

		ok = try_cmpxchg((uint8_t *)p, &o, new);
		*old = o;
		break;
	}
	case 2: {
		uint16_t o = *old;

		ok = try_cmpxchg((uint16_t *)p, &o, new);
		*old = o;
		break;
	}
	case 4: {
		uint32_t o = *old;

		ok = try_cmpxchg((uint32_t *)p, &o, new);
		*old = o;
		break;
	}
	default:
		ok = try_cmpxchg((uint64_t *)p, old, new);
		break;
	}
	if (ok)
		soft_decode_cache_written(&e->cpu->cache, d->x[0].gpa);
	return ok;
}

/*
 * The same for 16 bytes (cmpxchg16b: a 16-byte aligned operand, never
 * split): one host cmpxchg16b where the host address is aligned too, else
 * a plain load and store.
 */
bool soft_dest_cmpxchg16(struct soft_exec *e, const struct soft_dest *d, unsigned __int128 *old,
			 unsigned __int128 new)
{
	unsigned __int128 cur;
	void *p = d->x[0].hva;
	bool ok = true;

	if (soft_aligned(p, 16)) {
		ok = try_cmpxchg128(p, old, new);
	} else {
		memcpy(&cur, p, 16);
		if (cur != *old) {
			*old = cur;
			ok = false;
		} else {
			memcpy(p, &new, 16);
		}
	}
	if (ok)
		soft_decode_cache_written(&e->cpu->cache, d->x[0].gpa);
	return ok;
}

int __soft_mem_write(struct soft_exec *e, uint64_t gva, unsigned int size, uint64_t val)
{
	struct soft_dest d;
	int ret = soft_dest_prepare(e, gva, size, &d);

	if (!ret)
		soft_dest_store(e, &d, val);
	return ret;
}

int soft_mem_write_bytes(struct soft_exec *e, uint64_t gva, unsigned int size, const void *buf)
{
	struct soft_dest d;
	int ret = soft_dest_prepare(e, gva, size, &d);

	if (!ret)
		soft_dest_store_bytes(e, &d, buf);
	return ret;
}
