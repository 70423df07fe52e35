// SPDX-License-Identifier: GPL-2.0
/*
 * What the matrix (matrix.c) does not check: every vCPU of a 2-vCPU guest
 * ran, and file-backed RAM holds the guest's writes in the file after the
 * run (nothing lost through writeback).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "guest/xorshift.h"
#include "tests/lib/test_util.h"
#include "tests/lib/vmm_util.h"

static void run_ok(struct vmm_config *cfg, struct guest_run *run, const char *expect)
{
	guest_run(cfg, run);
	TEST_ASSERT(run->guest_exited && run->status == 0, "%s: status %d (%s)\n%s", cfg->image,
		    run->status, run->stop_message, run->console);
	TEST_ASSERT(strstr(run->console, expect), "%s printed no '%s':\n%s", cfg->image, expect,
		    run->console);
}

TEST(hello_2)
{
	struct vmm_config cfg;
	struct guest_run run;

	guest_config(&cfg, "hello");
	cfg.nr_vcpus = 2;
	run_ok(&cfg, &run, "Hello from vCPU 0 of 2");
	TEST_ASSERT(strstr(run.console, "Hello from vCPU 1 of 2"), "vCPU 1 ran:\n%s", run.console);
}

TEST(file_backed_ram_holds_the_last_writes)
{
	char path[] = "/tmp/nopin-ram-XXXXXX";
	struct vmm_config cfg;
	struct guest_run run;
	unsigned long words, digest, word;
	const uint64_t seed = HASH_SEED;
	int fd = mkstemp(path);
	const char *line;
	off_t off;

	TEST_ASSERT(fd >= 0, "mkstemp");
	guest_config(&cfg, "hash");
	cfg.mem_file = path;
	run_ok(&cfg, &run, "hash: ");
	line = strstr(run.console, "hash: ");
	TEST_ASSERT(sscanf(line, "hash: %lu words: %lx", &words, &digest) == 2, "parse");
	TEST_ASSERT_EQ(digest, hash_image_digest(words));
	/* The image wrote its data from the first free page after itself: find it in the file. */
	for (off = 0; off < (off_t)cfg.mem_bytes; off += 4096) {
		TEST_ASSERT(pread(fd, &word, 8, off) == 8, "read the RAM file at %ld", (long)off);
		uint64_t first = seed;

		if (word == prandom_u64(&first))
			break;
	}
	TEST_ASSERT(off < (off_t)cfg.mem_bytes, "the guest's data is in the file");
	/* Spot-check the first 64K words against the generator, in the order written. */
	for (uint64_t i = 0, s = seed; i < words && i < 65536; i++) {
		unsigned long want = prandom_u64(&s);

		if (i % 509)
			continue;
		TEST_ASSERT(pread(fd, &word, 8, off + 8 * i) == 8, "read word %lu", i);
		TEST_ASSERT(word == want, "word %lu in the file: %lx, want %lx", i, word, want);
	}
	close(fd);
	unlink(path);
}
