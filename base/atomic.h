/* SPDX-License-Identifier: GPL-2.0 */
/*
 * atomic_t, atomic_long_t, xchg()/cmpxchg()/try_cmpxchg() on plain words,
 * and bit operations, with the kernel's names and ordering: plain read/set
 * are relaxed, value-returning RMWs are fully ordered, void RMWs are
 * relaxed.  Code outside base/ and guest/ uses these (and compiler.h's
 * READ_ONCE() and smp_*() helpers), not raw __atomic builtins; one it
 * needs and does not find is added here, with a line in
 * tests/unit/base/atomic.c.
 */
#ifndef NOPIN_BASE_ATOMIC_H
#define NOPIN_BASE_ATOMIC_H

#include <stdbool.h>

#include "base/compiler.h"

typedef struct {
	int counter;
} atomic_t;

typedef struct {
	long counter;
} atomic_long_t;

#define ATOMIC_INIT(i)                                                                             \
	{                                                                                          \
		(i)                                                                                \
	}

#define __ATOMIC_OPS(pfx, T, t)                                                                    \
	static inline T pfx##_read(const t *v)                                                     \
	{                                                                                          \
		return __atomic_load_n(&v->counter, __ATOMIC_RELAXED);                             \
	}                                                                                          \
	static inline void pfx##_set(t *v, T i)                                                    \
	{                                                                                          \
		__atomic_store_n(&v->counter, i, __ATOMIC_RELAXED);                                \
	}                                                                                          \
	static inline void pfx##_add(T i, t *v)                                                    \
	{                                                                                          \
		__atomic_fetch_add(&v->counter, i, __ATOMIC_RELAXED);                              \
	}                                                                                          \
	static inline void pfx##_sub(T i, t *v)                                                    \
	{                                                                                          \
		__atomic_fetch_sub(&v->counter, i, __ATOMIC_RELAXED);                              \
	}                                                                                          \
	static inline void pfx##_inc(t *v)                                                         \
	{                                                                                          \
		pfx##_add(1, v);                                                                   \
	}                                                                                          \
	static inline void pfx##_dec(t *v)                                                         \
	{                                                                                          \
		pfx##_sub(1, v);                                                                   \
	}                                                                                          \
	static inline T pfx##_add_return(T i, t *v)                                                \
	{                                                                                          \
		return __atomic_add_fetch(&v->counter, i, __ATOMIC_SEQ_CST);                       \
	}                                                                                          \
	static inline T pfx##_sub_return(T i, t *v)                                                \
	{                                                                                          \
		return __atomic_sub_fetch(&v->counter, i, __ATOMIC_SEQ_CST);                       \
	}                                                                                          \
	static inline T pfx##_inc_return(t *v)                                                     \
	{                                                                                          \
		return pfx##_add_return(1, v);                                                     \
	}                                                                                          \
	static inline T pfx##_dec_return(t *v)                                                     \
	{                                                                                          \
		return pfx##_sub_return(1, v);                                                     \
	}                                                                                          \
	static inline bool pfx##_dec_and_test(t *v)                                                \
	{                                                                                          \
		return pfx##_sub_return(1, v) == 0;                                                \
	}                                                                                          \
	static inline bool pfx##_inc_and_test(t *v)                                                \
	{                                                                                          \
		return pfx##_add_return(1, v) == 0;                                                \
	}                                                                                          \
	static inline T pfx##_read_acquire(const t *v)                                             \
	{                                                                                          \
		return __atomic_load_n(&v->counter, __ATOMIC_ACQUIRE);                             \
	}                                                                                          \
	static inline void pfx##_set_release(t *v, T i)                                            \
	{                                                                                          \
		__atomic_store_n(&v->counter, i, __ATOMIC_RELEASE);                                \
	}                                                                                          \
	static inline T pfx##_xchg(t *v, T i)                                                      \
	{                                                                                          \
		return __atomic_exchange_n(&v->counter, i, __ATOMIC_SEQ_CST);                      \
	}                                                                                          \
	/* Returns the old value, as the kernel's atomic_cmpxchg(). */                             \
	static inline T pfx##_cmpxchg(t *v, T old, T new)                                          \
	{                                                                                          \
		__atomic_compare_exchange_n(&v->counter, &old, new, false, __ATOMIC_SEQ_CST,       \
					    __ATOMIC_SEQ_CST);                                     \
		return old;                                                                        \
	}                                                                                          \
	/* Add @a unless the value is @u; true if it added. */                                     \
	static inline bool pfx##_add_unless(t *v, T a, T u)                                        \
	{                                                                                          \
		T c = pfx##_read(v);                                                               \
		do {                                                                               \
			if (c == u)                                                                \
				return false;                                                      \
		} while (!__atomic_compare_exchange_n(&v->counter, &c, c + a, true,                \
						      __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));        \
		return true;                                                                       \
	}                                                                                          \
	static inline bool pfx##_inc_not_zero(t *v)                                                \
	{                                                                                          \
		return pfx##_add_unless(v, 1, 0);                                                  \
	}

__ATOMIC_OPS(atomic, int, atomic_t)
__ATOMIC_OPS(atomic_long, long, atomic_long_t)
#undef __ATOMIC_OPS

/*
 * xchg(), cmpxchg() and try_cmpxchg() on any naturally aligned word, with
 * the kernel's names and ordering: fully ordered unless the suffix says
 * otherwise.  cmpxchg() returns the old value; try_cmpxchg() returns
 * whether it swapped and, when not, stores the value it found in *oldp, so
 * a retry loop needs no second load.
 */
#define __xchg(ptr, v, order) __atomic_exchange_n((ptr), (v), (order))
#define xchg(ptr, v) __xchg(ptr, v, __ATOMIC_SEQ_CST)
#define xchg_acquire(ptr, v) __xchg(ptr, v, __ATOMIC_ACQUIRE)
#define xchg_release(ptr, v) __xchg(ptr, v, __ATOMIC_RELEASE)
#define xchg_relaxed(ptr, v) __xchg(ptr, v, __ATOMIC_RELAXED)
/* Not the kernel's: an exchange that both publishes and consumes, no more (a zapped SPTE). */
#define xchg_acq_rel(ptr, v) __xchg(ptr, v, __ATOMIC_ACQ_REL)

#define __try_cmpxchg(ptr, oldp, new, order)                                                       \
	__atomic_compare_exchange_n((ptr), (oldp), (new), false, (order),                          \
				    (order) == __ATOMIC_RELEASE ? __ATOMIC_RELAXED :               \
				    (order) == __ATOMIC_ACQ_REL ? __ATOMIC_ACQUIRE :               \
								  (order))
#define try_cmpxchg(ptr, oldp, new) __try_cmpxchg(ptr, oldp, new, __ATOMIC_SEQ_CST)
#define try_cmpxchg_acquire(ptr, oldp, new) __try_cmpxchg(ptr, oldp, new, __ATOMIC_ACQUIRE)
#define try_cmpxchg_release(ptr, oldp, new) __try_cmpxchg(ptr, oldp, new, __ATOMIC_RELEASE)
#define try_cmpxchg_relaxed(ptr, oldp, new) __try_cmpxchg(ptr, oldp, new, __ATOMIC_RELAXED)
#define try_cmpxchg_acq_rel(ptr, oldp, new) __try_cmpxchg(ptr, oldp, new, __ATOMIC_ACQ_REL)

#define __cmpxchg(ptr, old, new, order)                                                            \
	({                                                                                         \
		__typeof__(*(ptr)) __old = (old);                                                  \
		__try_cmpxchg(ptr, &__old, new, order);                                            \
		__old;                                                                             \
	})
#define cmpxchg(ptr, old, new) __cmpxchg(ptr, old, new, __ATOMIC_SEQ_CST)
#define cmpxchg_acquire(ptr, old, new) __cmpxchg(ptr, old, new, __ATOMIC_ACQUIRE)
#define cmpxchg_release(ptr, old, new) __cmpxchg(ptr, old, new, __ATOMIC_RELEASE)
#define cmpxchg_relaxed(ptr, old, new) __cmpxchg(ptr, old, new, __ATOMIC_RELAXED)

/*
 * try_cmpxchg128(): try_cmpxchg() on a 16-byte aligned pair of words, low
 * word first (the kernel's try_cmpxchg128(), x86's lock cmpxchg16b), for
 * an emulated cmpxchg16b.  Fully ordered.
 */
static inline bool try_cmpxchg128(unsigned __int128 *ptr, unsigned __int128 *old,
				  unsigned __int128 new)
{
#if defined(__x86_64__)
	unsigned long lo = *old, hi = *old >> 64;
	bool ok;

	asm volatile("lock cmpxchg16b %[mem]"
		     : [mem] "+m"(*ptr), "=@ccz"(ok), "+a"(lo), "+d"(hi)
		     : "b"((unsigned long)new), "c"((unsigned long)(new >> 64))
		     : "memory");
	if (!ok)
		*old = (unsigned __int128)hi << 64 | lo;
	return ok;
#else
	return __atomic_compare_exchange_n(ptr, old, new, false, __ATOMIC_SEQ_CST,
					   __ATOMIC_SEQ_CST);
#endif
}

/*
 * smp_store_mb(): a store and a full barrier after it, the kernel's (KVM
 * sets vcpu->mode with it); here a seq_cst store, xchg on x86-64.
 * smp_load_mb(): its reading side, nopin's own name for a seq_cst load,
 * which takes part in the one total order of smp_store_mb() and the fully
 * ordered RMWs (a plain load on x86-64).
 */
#define smp_store_mb(var, v) __atomic_store_n(&(var), (v), __ATOMIC_SEQ_CST)
#define smp_load_mb(var) __atomic_load_n(&(var), __ATOMIC_SEQ_CST)

/* Fetch-and-op on a plain word, for the few the kernel also edits that way (pte bits). */
#define fetch_or_relaxed(ptr, v) __atomic_fetch_or((ptr), (v), __ATOMIC_RELAXED)
#define fetch_and_relaxed(ptr, v) __atomic_fetch_and((ptr), (v), __ATOMIC_RELAXED)
#define fetch_add(ptr, v) __atomic_fetch_add((ptr), (v), __ATOMIC_SEQ_CST)

#define BITS_PER_LONG 64
#define BIT(n) (1UL << (n))
#define BIT_WORD(nr) ((nr) / BITS_PER_LONG)
#define BIT_MASK(nr) (1UL << ((nr) % BITS_PER_LONG))

/* Atomic bit operations on an unsigned long array (set_bit and friends). */
static inline void set_bit(long nr, unsigned long *addr)
{
	__atomic_fetch_or(addr + BIT_WORD(nr), BIT_MASK(nr), __ATOMIC_RELAXED);
}

static inline void clear_bit(long nr, unsigned long *addr)
{
	__atomic_fetch_and(addr + BIT_WORD(nr), ~BIT_MASK(nr), __ATOMIC_RELAXED);
}

static inline bool test_bit(long nr, const unsigned long *addr)
{
	return __atomic_load_n(addr + BIT_WORD(nr), __ATOMIC_RELAXED) & BIT_MASK(nr);
}

static inline bool test_and_set_bit(long nr, unsigned long *addr)
{
	return __atomic_fetch_or(addr + BIT_WORD(nr), BIT_MASK(nr), __ATOMIC_SEQ_CST) &
	       BIT_MASK(nr);
}

static inline bool test_and_clear_bit(long nr, unsigned long *addr)
{
	return __atomic_fetch_and(addr + BIT_WORD(nr), ~BIT_MASK(nr), __ATOMIC_SEQ_CST) &
	       BIT_MASK(nr);
}

/* Lock-acquire/-release flavours for bit locks (PG_locked). */
static inline bool test_and_set_bit_lock(long nr, unsigned long *addr)
{
	return __atomic_fetch_or(addr + BIT_WORD(nr), BIT_MASK(nr), __ATOMIC_ACQUIRE) &
	       BIT_MASK(nr);
}

static inline void clear_bit_unlock(long nr, unsigned long *addr)
{
	__atomic_fetch_and(addr + BIT_WORD(nr), ~BIT_MASK(nr), __ATOMIC_RELEASE);
}

/* Non-atomic variants, for words only the caller can reach. */
static inline void __set_bit(long nr, unsigned long *addr)
{
	addr[BIT_WORD(nr)] |= BIT_MASK(nr);
}

static inline void __clear_bit(long nr, unsigned long *addr)
{
	addr[BIT_WORD(nr)] &= ~BIT_MASK(nr);
}

#endif
