// SPDX-License-Identifier: GPL-2.0
/*
 * What the matrix (matrix.c) does not check: every vCPU of a 2-vCPU guest
 * ran, file-backed RAM holds the guest's writes in the file after the run
 * (nothing lost through writeback), an exception with no handler, one
 * taken back or one only another vCPU has, stops the guest with a message
 * that names it, and a guest that writes the VMM's own pages is stopped at
 * the write.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "guest/xorshift.h"
#include "tests/lib/test_util.h"
#include "tests/lib/ucall.h"
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

/* Start vCPU @i at the exceptions image's function @fn. */
static void start_at(struct vmm *vm, unsigned int i, const char *fn)
{
	unsigned long entry = __guest_symbol(vm->cfg.image, fn);
	struct vmm_regs regs;

	TEST_ASSERT(entry, "%s in %s", fn, vm->cfg.image);
	vm->backend->get_regs(&vm->vcpus[i], &regs);
	regs.rip = entry;
	vm->backend->set_regs(&vm->vcpus[i], &regs);
}

/* The guest stopped on vCPU @i's #GP: the soft vCPU's message and the kvm stub's name the same. */
static void expect_gp_stop(struct vmm *vm, int status, unsigned int i)
{
	static const char *const named[] = { "#GP",	  "general protection",
					     "vector 13", "error code 0",
					     "at rip 0x", "mov rax, qword ptr [" };
	char who[16];

	TEST_ASSERT(!vm->guest_exited && status == VMM_EXIT_GUEST_STOPPED, "stopped: %d (%s)",
		    status, vm->stop_message);
	snprintf(who, sizeof(who), "vCPU %u: ", i);
	TEST_ASSERT(!strncmp(vm->stop_message, who, strlen(who)), "%s stopped it: %s", who,
		    vm->stop_message);
	for (unsigned int n = 0; n < ARRAY_SIZE(named); n++)
		TEST_ASSERT(strstr(vm->stop_message, named[n]), "no '%s' in: %s", named[n],
			    vm->stop_message);
}

TEST(exception_without_a_handler_stops_the_guest)
{
	struct vmm_config cfg;
	char err[512];
	struct vmm *vm;

	guest_config(&cfg, "exceptions");
	TEST_ASSERT(!vmm_create(&cfg, &vm, err, sizeof(err)), "vmm_create: %s", err);
	start_at(vm, 0, "unhandled_gp"); /* registers a #GP handler, takes it back, faults */
	expect_gp_stop(vm, vmm_run(vm), 0);
	vmm_destroy(vm);
}

/*
 * A handler is the vCPU's that registered it: vCPU 0 has one for #GP (and
 * halts), vCPU 1 has none, so its #GP stops the guest.
 */
TEST(exception_handlers_are_per_vcpu)
{
	struct vmm_config cfg;
	char err[512];
	struct vmm *vm;

	guest_config(&cfg, "exceptions");
	cfg.nr_vcpus = 2;
	TEST_ASSERT(!vmm_create(&cfg, &vm, err, sizeof(err)), "vmm_create: %s", err);
	TEST_ASSERT_EQ(vm->backend->set_exception_handler(&vm->vcpus[0], GP_VECTOR,
							  __guest_symbol(cfg.image, "never_runs"),
							  GUEST_RAM_BASE + cfg.mem_bytes - 0x8000),
		       0);
	start_at(vm, 0, "guest_halt");
	start_at(vm, 1, "noncanonical_load");
	expect_gp_stop(vm, vmm_run(vm), 1);
	vmm_destroy(vm);
}

/* ---- the VMM's own pages are not the guest's to write ---- */

/*
 * @image zeroes the VMM's page at @va, then faults (guest/images/wipe_*.c).
 * The soft vCPU refuses every access to the VMM's top 16 MiB; the kvm
 * backend maps the page read-only (CR0.WP), so the first store faults and
 * the VMM stops the run naming @page.  Either way one line, status
 * VMM_EXIT_GUEST_STOPPED, and the guest never reaches its fault: with the
 * page writable kvm once spun in KVM_RUN for ever after it (the ctest
 * timeout is this test's only watchdog).
 */
static void expect_write_refused(const char *image, unsigned long va, const char *page)
{
	struct vmm_config cfg;
	struct guest_run run;
	char addr[32], line[sizeof(run.stop_message)];

	guest_config(&cfg, image);
	guest_run(&cfg, &run);
	snprintf(addr, sizeof(addr), "%#lx", va);
	TEST_ASSERT(strstr(run.console, "zeroing the VMM's") && !strstr(run.console, "FAIL"),
		    "the guest ran up to its write:\n%s", run.console);
	TEST_ASSERT(!run.guest_exited && run.status == VMM_EXIT_GUEST_STOPPED, "stopped: %d (%s)",
		    run.status, run.stop_message);
	/* The soft vCPU adds its registers on the lines after. */
	snprintf(line, sizeof(line), "%s", run.stop_message);
	line[strcspn(line, "\n")] = '\0';
	TEST_ASSERT(strstr(line, addr) && strstr(line, "write") && strstr(line, "rip 0x") &&
			    strstr(line, "mov"),
		    "the write, its address and instruction on its first line: %s", line);
	if (cfg.backend == VMM_BACKEND_KVM)
		TEST_ASSERT(strstr(line, page) && strstr(line, "read-only to the guest") &&
				    !strchr(run.stop_message, '\n'),
			    "kvm names the page '%s', in one line: %s", page, run.stop_message);
}

TEST(a_guest_write_to_the_vmms_gdt_stops_the_guest)
{
	expect_write_refused("wipe_gdt", GUEST_VMM_TOP, "the VMM's GDT");
}

TEST(a_guest_write_to_the_vmms_stub_page_stops_the_guest)
{
	expect_write_refused("wipe_stubs", GUEST_VMM_TOP + 0x4000, "the VMM's stub page");
}
