/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Allocation flags, after the kernel's gfp_types.h: what an allocation of a
 * frame may do to find one.  Only the bits the pool acts on exist here.
 *
 *	GFP_KERNEL	may enter direct reclaim, and so may sleep: it calls
 *			might_sleep() and must not be used in an atomic section.
 *	GFP_NOWAIT	never reclaims, never sleeps: NULL when the pool is empty.
 *	GFP_ATOMIC	the same as GFP_NOWAIT here (the kernel's also dips into
 *			reserves below the min watermark; this pool keeps none).
 */
#ifndef NOPIN_MM_GFP_H
#define NOPIN_MM_GFP_H

#include <stdbool.h>

typedef unsigned int gfp_t;

#define ___GFP_ZERO 0x01u
#define ___GFP_DIRECT_RECLAIM 0x02u
#define ___GFP_NORETRY 0x04u

/* Return the frame filled with zeroes. */
#define __GFP_ZERO ((gfp_t)___GFP_ZERO)
/* The caller may sleep while the allocator reclaims frames. */
#define __GFP_DIRECT_RECLAIM ((gfp_t)___GFP_DIRECT_RECLAIM)
/* Try direct reclaim once, then fail rather than retry. */
#define __GFP_NORETRY ((gfp_t)___GFP_NORETRY)

#define GFP_KERNEL (__GFP_DIRECT_RECLAIM)
#define GFP_NOWAIT ((gfp_t)0)
#define GFP_ATOMIC ((gfp_t)0)

static inline bool gfpflags_allow_blocking(gfp_t gfp)
{
	return gfp & __GFP_DIRECT_RECLAIM;
}

#endif
