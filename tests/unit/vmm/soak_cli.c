// SPDX-License-Identifier: GPL-2.0
/*
 * `nopin soak` catches a failing run and says how to repeat it: over a
 * directory where every image the soak draws is the crash image, each run
 * fails, and the failure line names the seed and the run, and prints the
 * `nopin run` command.  Bad options get one line and status 2.  (The soak
 * itself, 50 runs, is tests/stress/vmm/soak.c.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/test_util.h"

struct soak_result {
	int status;
	char out[65536];
};

static void soak(struct soak_result *r, const char *args)
{
	char cmd[4096];
	size_t n;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "timeout 300 %s soak %s 2>&1", NOPIN_CLI, args);
	p = popen(cmd, "r");
	TEST_ASSERT(p, "popen %s", cmd);
	n = fread(r->out, 1, sizeof(r->out) - 1, p);
	r->out[n] = '\0';
	r->status = pclose(p);
	TEST_ASSERT(WIFEXITED(r->status), "nopin soak exited normally:\n%s", r->out);
	r->status = WEXITSTATUS(r->status);
}

TEST(failing_runs_print_seed_and_command)
{
	static const char *const names[] = { "hello", "exceptions", "memtest", "hash",	  "random",
					     "smp",   "balloon",    "paging",  "usermode" };
	char dir[] = "/tmp/nopin-soak-images-XXXXXX", link[4096], target[4096], args[4096];
	struct soak_result *r = malloc(sizeof(*r));
	unsigned int i;

	TEST_ASSERT(r && mkdtemp(dir), "mkdtemp");
	snprintf(target, sizeof(target), "%s/crash.elf", NOPIN_GUEST_DIR);
	TEST_REQUIRE(!access(target, R_OK));
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(link, sizeof(link), "%s/%s.elf", dir, names[i]);
		TEST_ASSERT(!symlink(target, link), "symlink %s", link);
	}
	snprintf(args, sizeof(args), "--runs 2 --seed 0x1234 --images %s", dir);
	soak(r, args);
	TEST_ASSERT(r->status == 1, "status %d:\n%s", r->status, r->out);
	TEST_ASSERT(strstr(r->out, "soak: seed 0x1234 run 0 FAILED: exit status"), "%s", r->out);
	TEST_ASSERT(strstr(r->out, "soak: seed 0x1234 run 1 FAILED"), "%s", r->out);
	TEST_ASSERT(strstr(r->out, "  reproduce: nopin run --backend "), "%s", r->out);
	TEST_ASSERT(strstr(r->out, "2 runs of seed 0x1234: 0 passed, 2 failed"), "%s", r->out);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(link, sizeof(link), "%s/%s.elf", dir, names[i]);
		unlink(link);
	}
	rmdir(dir);
	free(r);
}

TEST(bad_options)
{
	struct soak_result r;

	soak(&r, "--runs 0");
	TEST_ASSERT(r.status == 2 && strstr(r.out, "--runs"), "%d: %s", r.status, r.out);
	soak(&r, "--seed zero");
	TEST_ASSERT(r.status == 2 && strstr(r.out, "--seed"), "%d: %s", r.status, r.out);
	soak(&r, "--images /nonexistent");
	TEST_ASSERT(r.status == 2 && strstr(r.out, "no guest images at /nonexistent"), "%d: %s",
		    r.status, r.out);
}
