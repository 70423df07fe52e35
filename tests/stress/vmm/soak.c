// SPDX-License-Identifier: GPL-2.0
/*
 * The soak under the stress label: 50 randomized runs of `nopin soak`
 * (vmm/cmd_soak.c), each checked for its exit status, the image's
 * self-check, no sanitizer report and no leak at VM exit.  The seed is
 * fixed so a red run repeats; NOPIN_SOAK_SEED picks another.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "tests/lib/test_util.h"

TEST(soak_50_runs)
{
	const char *seed = getenv("NOPIN_SOAK_SEED") ? getenv("NOPIN_SOAK_SEED") : "0x50a6";
	char cmd[4096];
	int status;

	snprintf(cmd, sizeof(cmd), "%s soak --runs 50 --seed '%s' --images %s", NOPIN_CLI, seed,
		 NOPIN_GUEST_DIR);
	status = system(cmd);
	TEST_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "%s: status %#x (its failures are printed above, each with its command)", cmd,
		    status);
}
