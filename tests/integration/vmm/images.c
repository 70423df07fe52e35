// SPDX-License-Identifier: GPL-2.0
/*
 * Every guest image runs to its exit status on the soft backend, with one
 * and two vCPUs, anonymous and file-backed RAM: the output each image
 * prints when it verified itself, exit 0, and no sanitizer report (the
 * harness fails a case that leaves one).
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

static void run_image(const char *image, unsigned int vcpus, const char *expect)
{
	struct vmm_config cfg;
	struct guest_run run;

	guest_config(&cfg, image);
	cfg.nr_vcpus = vcpus;
	run_ok(&cfg, &run, expect);
	TEST_ASSERT(atomic_long_read(&run.stat.pf_fixed) > 0,
		    "the guest's pages came through the secondary MMU");
}

TEST(hello_1)
{
	run_image("hello", 1, "Hello from vCPU 0 of 1, 8 MiB of RAM\n");
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

TEST(memtest_1)
{
	run_image("memtest", 1, "memtest: ok");
}

TEST(memtest_2)
{
	run_image("memtest", 2, "memtest: ok");
}

TEST(random_1)
{
	run_image("random", 1, "random: ok");
}

TEST(random_2)
{
	run_image("random", 2, "random: ok");
}

TEST(smp_2)
{
	run_image("smp", 2, "smp: 2 vCPUs, counter 20000, ok");
}

TEST(balloon_1)
{
	run_image("balloon", 1, "balloon: 4 rounds");
}

/* The digest the hash image must print for @ram bytes of RAM and @vcpus stacks. */
static unsigned long hash_reference(unsigned long words)
{
	unsigned long state = 0x6e6f70696eUL, h = FNV64_OFFSET;

	for (unsigned long i = 0; i < words; i++)
		h = fnv1a64_word(h, xorshift64s(&state));
	return h;
}

TEST(hash_matches_native)
{
	struct vmm_config cfg;
	struct guest_run run;
	unsigned long words, digest;
	const char *line;

	guest_config(&cfg, "hash");
	run_ok(&cfg, &run, "hash: ");
	line = strstr(run.console, "hash: ");
	TEST_ASSERT(sscanf(line, "hash: %lu words: %lx", &words, &digest) == 2, "parse '%s'", line);
	TEST_ASSERT(words > (6UL << 20) / 8, "the image hashed most of RAM (%lu words)", words);
	TEST_ASSERT_EQ(digest, hash_reference(words));
}

TEST(file_backed_ram_holds_the_last_writes)
{
	char path[] = "/tmp/nopin-ram-XXXXXX";
	struct vmm_config cfg;
	struct guest_run run;
	unsigned long words, digest, state = 0x6e6f70696eUL, word;
	int fd = mkstemp(path);
	const char *line;
	off_t off;

	TEST_ASSERT(fd >= 0, "mkstemp");
	guest_config(&cfg, "hash");
	cfg.mem_file = path;
	run_ok(&cfg, &run, "hash: ");
	line = strstr(run.console, "hash: ");
	TEST_ASSERT(sscanf(line, "hash: %lu words: %lx", &words, &digest) == 2, "parse");
	TEST_ASSERT_EQ(digest, hash_reference(words));
	/* The image wrote its data from the first free page after itself: find it in the file. */
	for (off = 0; off < (off_t)cfg.mem_bytes; off += 4096) {
		TEST_ASSERT(pread(fd, &word, 8, off) == 8, "read the RAM file at %ld", (long)off);
		unsigned long first = state;

		if (word == xorshift64s(&first))
			break;
	}
	TEST_ASSERT(off < (off_t)cfg.mem_bytes, "the guest's data is in the file");
	/* Spot-check the first 64K words against the generator, in the order written. */
	for (unsigned long i = 0, s = state; i < words && i < 65536; i++) {
		unsigned long want = xorshift64s(&s);

		if (i % 509)
			continue;
		TEST_ASSERT(pread(fd, &word, 8, off + 8 * i) == 8, "read word %lu", i);
		TEST_ASSERT(word == want, "word %lu in the file: %lx, want %lx", i, word, want);
	}
	close(fd);
	unlink(path);
}
