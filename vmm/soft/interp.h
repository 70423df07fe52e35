/* SPDX-License-Identifier: GPL-2.0 */
/* The interpreter's one entry point, for the run loop. */
#ifndef NOPIN_VMM_SOFT_INTERP_H
#define NOPIN_VMM_SOFT_INTERP_H

#include "vmm/soft/access.h"

/*
 * Execute e->insn at cpu->rip; on X_OK, e->next_rip is where to go next.
 * The run loop calls e->insn->exec, which is this or a handler of one form
 * of one instruction that does the same, chosen once at decode.
 */
int soft_execute(struct soft_exec *e);
/* The handler of @insn, freshly decoded. */
int (*soft_insn_handler(const struct soft_insn *insn))(struct soft_exec *e);

#endif
