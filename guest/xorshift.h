/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The seed and digest of the `hash` image, shared with the host test that
 * computes the same digest natively: base/prandom.h's xorshift64* for
 * data, FNV-1a (64-bit) over it.  Header-only, freestanding.
 */
#ifndef NOPIN_GUEST_XORSHIFT_H
#define NOPIN_GUEST_XORSHIFT_H

#include "base/prandom.h"

#define FNV64_OFFSET 0xcbf29ce484222325UL
#define FNV64_PRIME 0x100000001b3UL

static inline unsigned long fnv1a64_word(unsigned long h, unsigned long word)
{
	for (int i = 0; i < 8; i++) {
		h ^= (word >> (8 * i)) & 0xff;
		h *= FNV64_PRIME;
	}
	return h;
}

/* The hash image's seed ("nopin"). */
#define HASH_SEED 0x6e6f70696eUL

/* What the hash image prints for @words words: the host tests' reference. */
static inline unsigned long hash_image_digest(unsigned long words)
{
	uint64_t state = HASH_SEED;
	unsigned long h = FNV64_OFFSET;

	for (unsigned long i = 0; i < words; i++)
		h = fnv1a64_word(h, prandom_u64(&state));
	return h;
}

#endif
