// SPDX-License-Identifier: GPL-2.0
/*
 * `nopin run` on bad input: a clear one-line message naming what was wrong,
 * a documented non-zero exit status, no crash, and the input file left as
 * it was.  Runs the real binary; quick, so it is a unit test and runs under
 * ASan and TSan too.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/test_util.h"
#include "vmm/vm.h"

struct cli_result {
	int status;
	char out[16384]; /* stdout and stderr together */
};

/* Run `nopin run ARGS...` (NULL-terminated), capturing its output. */
static void nopin_run(struct cli_result *r, ...)
{
	/* The soft backend whatever the machine has: the messages checked are its. */
	char cmd[4096] = NOPIN_CLI " run --backend soft", *arg;
	va_list ap;
	FILE *p;
	size_t n;

	va_start(ap, r);
	while ((arg = va_arg(ap, char *)))
		snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), " '%s'", arg);
	va_end(ap);
	strncat(cmd, " 2>&1", sizeof(cmd) - strlen(cmd) - 1);
	p = popen(cmd, "r");
	TEST_ASSERT(p, "popen %s", cmd);
	n = fread(r->out, 1, sizeof(r->out) - 1, p);
	r->out[n] = '\0';
	r->status = pclose(p);
	TEST_ASSERT(WIFEXITED(r->status), "nopin exited normally (no crash):\n%s", r->out);
	r->status = WEXITSTATUS(r->status);
}

static const char *image(const char *name)
{
	static char path[4096];

	snprintf(path, sizeof(path), "%s/%s.elf", NOPIN_GUEST_DIR, name);
	return path;
}

#define EXPECT(r, st, text)                                                                        \
	do {                                                                                       \
		TEST_ASSERT((r)->status == (st), "exit status %d, expected %d:\n%s", (r)->status,  \
			    (st), (r)->out);                                                       \
		TEST_ASSERT(strstr((r)->out, text), "no '%s' in:\n%s", text, (r)->out);            \
	} while (0)

TEST(runs_hello)
{
	struct cli_result r;

	nopin_run(&r, image("hello"), NULL);
	EXPECT(&r, 0, "Hello from vCPU 0 of 1");
}

/*
 * RAM as large as the pool cannot all be resident beside the page tables:
 * the VMM gives it a swap file, as it does when RAM is larger.  Without one
 * the run ended in an OOM report (the defaults, 64M and 64M, did).
 */
TEST(ram_as_large_as_the_pool_swaps)
{
	struct cli_result r;
	const char *line;
	unsigned long swap_outs = 0;

	nopin_run(&r, "--backend", "soft", "--mem", "4M", "--pool", "4M", "--stats",
		  image("memtest"), NULL);
	EXPECT(&r, 0, "memtest: ok");
	line = strstr(r.out, "\nswap_outs ");
	TEST_ASSERT(line && sscanf(line, " swap_outs %lu", &swap_outs) == 1, "stats:\n%s", r.out);
	TEST_ASSERT(swap_outs > 0, "no page went to swap:\n%s", r.out);
}

/* One counter of a --stats table. */
static unsigned long stat_of(const struct cli_result *r, const char *name)
{
	char key[64];
	const char *line;
	unsigned long v = 0;

	snprintf(key, sizeof(key), "\n%s ", name);
	line = strstr(r->out, key);
	TEST_ASSERT(line && sscanf(line + strlen(key), "%lu", &v) == 1, "no %s in:\n%s", name,
		    r->out);
	return v;
}

/* In shadow mode --stats shows what the shadow MMU did for a guest on its own tables. */
TEST(stats_show_the_shadow_mmu)
{
	struct cli_result r;

	nopin_run(&r, "--backend", "soft", "--mmu", "shadow", "--stats", image("paging"), NULL);
	EXPECT(&r, 0, "paging: ok");
	TEST_ASSERT(stat_of(&r, "shadow_faults") > 0, "shadow leaves installed");
	TEST_ASSERT(stat_of(&r, "shadow_pages") > 0, "shadow pages live at the end");
	TEST_ASSERT(stat_of(&r, "shadow_cached_root_hits") > 0, "CR3 switches back hit the cache");
	TEST_ASSERT(stat_of(&r, "shadow_tracked_writes") > 0, "PTE writes were tracked");
	TEST_ASSERT(stat_of(&r, "shadow_sptes_zapped") > 0, "INVLPG and writes zapped leaves");
	stat_of(&r, "shadow_pages_zapped");
	stat_of(&r, "shadow_pages_freed");
}

TEST(bad_options)
{
	struct cli_result r;

	nopin_run(&r, "--mem", "12Q", image("hello"), NULL);
	EXPECT(&r, VMM_EXIT_USAGE, "bad --mem '12Q'");
	nopin_run(&r, "--vcpus", "0", image("hello"), NULL);
	EXPECT(&r, VMM_EXIT_USAGE, "bad --vcpus '0'");
	nopin_run(&r, "--legacy", "no_such_bug", image("hello"), NULL);
	EXPECT(&r, VMM_EXIT_USAGE, "bad --legacy 'no_such_bug'");
	nopin_run(&r, "--backend", "qemu", image("hello"), NULL);
	EXPECT(&r, VMM_EXIT_USAGE, "bad --backend 'qemu'");
	nopin_run(&r, "--pressure", "reclaim=fast", image("hello"), NULL);
	EXPECT(&r, VMM_EXIT_USAGE, "the period must be like 50ms");
	nopin_run(&r, "--mmu", "ept", image("hello"), NULL);
	EXPECT(&r, VMM_EXIT_USAGE, "bad --mmu 'ept': use flat, tdp or shadow");
	nopin_run(&r, "--frobnicate", image("hello"), NULL);
	EXPECT(&r, VMM_EXIT_USAGE, "frobnicate");
	nopin_run(&r, NULL);
	EXPECT(&r, VMM_EXIT_USAGE, "no guest image given");
}

/* The MMU mode: tdp by default on soft, flat or shadow on request; kvm refuses tdp. */
TEST(mmu_mode_is_chosen_and_reported)
{
	struct cli_result r;

	nopin_run(&r, "--stats", image("hello"), NULL);
	EXPECT(&r, 0, "mmu_mode                                    tdp\n");
	nopin_run(&r, "--mmu", "flat", "--stats=json", image("hello"), NULL);
	EXPECT(&r, 0, "{\"mmu_mode\": \"flat\", ");
	nopin_run(&r, "--mmu", "shadow", "--stats", image("hello"), NULL);
	EXPECT(&r, 0, "mmu_mode                                 shadow\n");
	nopin_run(&r, "--backend", "kvm", "--mmu", "tdp", image("hello"), NULL);
	EXPECT(&r, VMM_EXIT_USAGE, "--mmu tdp runs on the soft backend only");
}

TEST(missing_image)
{
	struct cli_result r;

	nopin_run(&r, "/nonexistent/image.elf", NULL);
	EXPECT(&r, VMM_EXIT_VMM_ERROR, "cannot open image /nonexistent/image.elf");
}

TEST(malformed_image_is_named_and_left_intact)
{
	char path[] = "/tmp/nopin-bad-XXXXXX";
	static const char junk[] = "this is not an ELF file\n";
	int fd = mkstemp(path);
	struct cli_result r;
	struct stat before, after;
	char back[sizeof(junk)];

	TEST_ASSERT(fd >= 0 && write(fd, junk, sizeof(junk)) == sizeof(junk), "write %s", path);
	fstat(fd, &before);
	nopin_run(&r, path, NULL);
	EXPECT(&r, VMM_EXIT_VMM_ERROR, path);
	TEST_ASSERT(strstr(r.out, "magic") || strstr(r.out, "ELF"), "says why:\n%s", r.out);
	fstat(fd, &after);
	TEST_ASSERT(pread(fd, back, sizeof(back), 0) == sizeof(back) &&
			    !memcmp(back, junk, sizeof(junk)),
		    "the file is intact");
	TEST_ASSERT_EQ(before.st_size, after.st_size);
	close(fd);
	unlink(path);
}

TEST(image_too_big_for_ram)
{
	struct cli_result r;

	nopin_run(&r, "--mem", "64K", image("hello"), NULL);
	EXPECT(&r, VMM_EXIT_VMM_ERROR, "--mem");
}

TEST(wild_access_is_reported_with_the_instruction)
{
	struct cli_result r;

	nopin_run(&r, image("wild"), NULL);
	EXPECT(&r, VMM_EXIT_GUEST_STOPPED, "outside every memslot");
	TEST_ASSERT(strstr(r.out, "0x10"), "names the address:\n%s", r.out);
	TEST_ASSERT(strstr(r.out, "mov"), "shows the instruction:\n%s", r.out);
	TEST_ASSERT(strstr(r.out, "rip="), "shows the registers:\n%s", r.out);
}

TEST(unsupported_instruction_is_named)
{
	struct cli_result r;

	nopin_run(&r, image("unsupported"), NULL);
	EXPECT(&r, VMM_EXIT_GUEST_STOPPED, "fsin");
}

TEST(mem_file_is_kept_and_holds_the_ram)
{
	char path[] = "/tmp/nopin-ram-XXXXXX";
	int fd = mkstemp(path);
	struct cli_result r;
	struct stat st;

	TEST_ASSERT(fd >= 0, "mkstemp");
	nopin_run(&r, "--mem", "4M", "--mem-file", path, image("hello"), NULL);
	EXPECT(&r, 0, "Hello from vCPU 0 of 1, 4 MiB");
	TEST_ASSERT(!fstat(fd, &st) && st.st_size == 4 << 20, "the RAM file is 4 MiB");
	close(fd);
	unlink(path);
}

/* Every agent "all" starts has its counter; fault-race is not among them unless named. */
TEST(stats_name_every_pressure_agent)
{
	struct cli_result r;

	nopin_run(&r, "--mem", "8M", "--pool", "4M", "--pressure", "all", "--stats", image("hello"),
		  NULL);
	EXPECT(&r, 0, "pressure_forks ");
	TEST_ASSERT(!strstr(r.out, "pressure_raced_faults"), "not in all:\n%s", r.out);
	nopin_run(&r, "--mem", "8M", "--pool", "4M", "--pressure", "all,fault-race", "--stats",
		  image("hello"), NULL);
	EXPECT(&r, 0, "pressure_raced_faults ");
	TEST_ASSERT(!strstr(r.out, "(null)"), "every counter named:\n%s", r.out);
}

TEST(trace_and_stats_are_written)
{
	char path[] = "/tmp/nopin-trace-XXXXXX";
	int fd = mkstemp(path);
	struct cli_result r;
	static char json[1 << 20];
	ssize_t n;

	TEST_ASSERT(fd >= 0, "mkstemp");
	nopin_run(&r, "--mem", "8M", "--pool", "4M", "--pressure", "reclaim=5ms", "--stats=json",
		  "--trace", path, image("hello"), NULL);
	EXPECT(&r, 0, "\"secondary_faults\": ");
	TEST_ASSERT(strstr(r.out, "\"sanitizer_reports\": 0"), "no reports:\n%s", r.out);
	n = pread(fd, json, sizeof(json) - 1, 0);
	TEST_ASSERT(n > 0, "the trace has something");
	json[n] = '\0';
	TEST_ASSERT(!strncmp(json, "{\"displayTimeUnit\"", 18), "a trace-event object");
	TEST_ASSERT(strstr(json, "\"args\": {\"name\": \"vCPU 0\"}"), "a vCPU track");
	TEST_ASSERT(strstr(json, "\"name\": \"fault (write)\""), "fault spans");
	TEST_ASSERT(strstr(json, "\"name\": \"mmu mode: tdp\""), "the MMU mode");
	TEST_ASSERT(strstr(json + n - 6, "]}"), "closed JSON");
	close(fd);
	unlink(path);
}
