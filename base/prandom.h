/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Deterministic pseudo-random numbers: xorshift64* (Marsaglia's xorshift
 * and Vigna's multiplier), one uint64_t of state per caller.  Tests,
 * benchmarks, the VMM's pressure agents and the guest images draw from
 * this one generator; the hash image's digest, recomputed on the host,
 * depends on it giving the same sequence on both sides.
 *
 * Header-only and freestanding (only <stdint.h>), so guest/ includes it
 * too.  Not for anything that must be unpredictable.
 */
#ifndef NOPIN_BASE_PRANDOM_H
#define NOPIN_BASE_PRANDOM_H

#include <stdint.h>

/* The next number of @state's sequence.  A state of 0 stays 0: seed with anything else. */
static inline uint64_t prandom_u64(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

#endif
