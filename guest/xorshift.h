/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The generator and digest of the `hash` image, shared with the host test
 * that computes the same digest natively: xorshift64* for data, FNV-1a
 * (64-bit) over it.  Header-only, no includes.
 */
#ifndef NOPIN_GUEST_XORSHIFT_H
#define NOPIN_GUEST_XORSHIFT_H

static inline unsigned long xorshift64s(unsigned long *state)
{
	unsigned long x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dUL;
}

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
	unsigned long state = HASH_SEED, h = FNV64_OFFSET;

	for (unsigned long i = 0; i < words; i++)
		h = fnv1a64_word(h, xorshift64s(&state));
	return h;
}

#endif
