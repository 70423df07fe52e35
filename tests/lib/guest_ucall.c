// SPDX-License-Identifier: GPL-2.0
/* The guest side of ucalls (tests/lib/ucall.h); part of each tests/guest image. */
#include "guest.h"
#include "tests/lib/ucall.h"

static void copy_str(char *dst, const char *src, unsigned long size)
{
	unsigned long i = 0;

	for (; src && src[i] && i + 1 < size; i++)
		dst[i] = src[i];
	dst[i] = '\0';
}

void ucall(unsigned long cmd, unsigned long arg0, unsigned long arg1)
{
	struct ucall uc = { .cmd = cmd, .args = { arg0, arg1 } };

	hypercall(HC_UCALL, (unsigned long)&uc, 0);
}

void ucall_assert(const char *file, unsigned long line, const char *expr)
{
	struct ucall uc = { .cmd = UCALL_ASSERT, .line = line };

	copy_str(uc.file, file, sizeof(uc.file));
	copy_str(uc.expr, expr, sizeof(uc.expr));
	for (;;)
		hypercall(HC_UCALL, (unsigned long)&uc, 0);
}

/* The runtime's entry wants one; tests start their vCPUs at their own functions. */
int guest_main(unsigned int cpu, unsigned int ncpus, unsigned long ram_size)
{
	return 0;
}
