// SPDX-License-Identifier: GPL-2.0
/*
 * `nopin run` against hostile guests and a hostile host: a guest that
 * halts every vCPU for good, a signal in the middle of a run, sizes the
 * machine cannot give, a file system that fills up, a trace file that
 * cannot be written.  Each ends in one clear line and a documented exit
 * status (vmm/cmd_run.c), never in a hang or a silent loss.  Runs the real
 * binary on the guests of tests/unit/vmm/guests/hostile.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/test_util.h"
#include "tests/lib/vmm_util.h"
#include "vmm/kvm/devkvm_util.h"
#include "vmm/vm.h"

#define MAX_ARGS 32

struct nopin_proc {
	pid_t pid;
	int out;	 /* the read end of its stdout and stderr */
	char buf[65536]; /* all it printed */
	size_t len;
	int status; /* its exit status, or 128 + the signal that killed it */
};

static const char *hostile(const char *name)
{
	static char path[4][4096];
	static int next;
	char *p = path[next++ % 4];

	snprintf(p, sizeof(path[0]), "%s/hostile_%s.elf", NOPIN_HOSTILE_DIR, name);
	return p;
}

static const char *image(const char *name)
{
	static char path[4096];

	snprintf(path, sizeof(path), "%s/%s.elf", NOPIN_GUEST_DIR, name);
	return path;
}

/* nopin_vstart()'s @resource for a run in its own mount namespace (@limit: the directory). */
#define RUN_ON_FULL_TMPFS (-2)
/* nopin_vstart()'s @resource for a run started with SIGINT ignored, as a background job. */
#define RUN_SIGINT_IGNORED (-3)
#define SMALL_TMPFS_SIZE "size=12m"

/*
 * A 12 MiB tmpfs on @dir, in a mount namespace of the calling child's own,
 * so that nothing outlives it; -errno where it may not mount.
 */
static int mount_small_tmpfs(const char *dir)
{
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("nopin-test", dir, "tmpfs", 0, SMALL_TMPFS_SIZE))
		return -errno;
	return 0;
}

/*
 * Start `nopin run ARGS...` (NULL-terminated), its output to a pipe; with
 * a @resource (not -1), under that rlimit at @limit.  Under RLIMIT_FSIZE
 * SIGXFSZ is ignored, so a write past the limit fails with EFBIG as one on
 * a full file system fails with ENOSPC.
 */
static void nopin_vstart(struct nopin_proc *p, int resource, rlim_t limit, va_list ap)
{
	const char *argv[MAX_ARGS] = { NOPIN_CLI, "run" };
	int fds[2], argc = 2;
	const char *arg;

	while ((arg = va_arg(ap, const char *)) && argc < MAX_ARGS - 1)
		argv[argc++] = arg;
	argv[argc] = NULL;
	TEST_ASSERT(!pipe(fds), "pipe");
	p->len = 0;
	p->buf[0] = '\0';
	p->pid = fork();
	TEST_ASSERT(p->pid >= 0, "fork");
	if (!p->pid) {
		struct rlimit rl = { limit, limit };

		dup2(fds[1], STDOUT_FILENO);
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		close(fds[1]);
		/* A hang is a failure, not a stuck suite: no case needs a minute. */
		alarm(300);
		if (resource == RLIMIT_FSIZE)
			signal(SIGXFSZ, SIG_IGN);
		if (resource == RUN_SIGINT_IGNORED)
			signal(SIGINT, SIG_IGN);
		if (resource >= 0 && setrlimit(resource, &rl))
			_exit(126);
		if (resource == RUN_ON_FULL_TMPFS && mount_small_tmpfs((const char *)limit))
			_exit(KSFT_SKIP);
		execv(argv[0], (char **)argv);
		_exit(127);
	}
	close(fds[1]);
	p->out = fds[0];
}

static void nopin_start(struct nopin_proc *p, ...)
{
	va_list ap;

	va_start(ap, p);
	nopin_vstart(p, -1, 0, ap);
	va_end(ap);
}

static void nopin_start_ignoring_sigint(struct nopin_proc *p, ...)
{
	va_list ap;

	va_start(ap, p);
	nopin_vstart(p, RUN_SIGINT_IGNORED, 0, ap);
	va_end(ap);
}

/* Read its output until @text appears (true) or it closes the pipe (false). */
static bool nopin_wait_for(struct nopin_proc *p, const char *text)
{
	return nopin_read_until(p->out, p->buf, sizeof(p->buf), &p->len, text);
}

/* Read the rest of its output and reap it. */
static void nopin_finish(struct nopin_proc *p)
{
	int status;

	nopin_wait_for(p, "\1never printed\1");
	close(p->out);
	TEST_ASSERT(waitpid(p->pid, &status, 0) == p->pid, "waitpid");
	p->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	TEST_ASSERT(WIFEXITED(status), "nopin exited (not killed by signal %d):\n%s",
		    WTERMSIG(status), p->buf);
}

static void nopin_run(struct nopin_proc *p, ...)
{
	va_list ap;

	va_start(ap, p);
	nopin_vstart(p, -1, 0, ap);
	va_end(ap);
	nopin_finish(p);
}

/* nopin_run() under @resource's rlimit at @limit. */
static void nopin_run_limited(struct nopin_proc *p, int resource, rlim_t limit, ...)
{
	va_list ap;

	va_start(ap, limit);
	nopin_vstart(p, resource, limit, ap);
	va_end(ap);
	nopin_finish(p);
}

#define EXPECT(p, st, text)                                                                        \
	do {                                                                                       \
		TEST_ASSERT((p)->status == (st), "exit status %d, expected %d:\n%s", (p)->status,  \
			    (st), (p)->buf);                                                       \
		TEST_ASSERT(strstr((p)->buf, text), "no '%s' in:\n%s", text, (p)->buf);            \
	} while (0)

/* The kvm backend, on hardware virtualization or not: these guests need no SSE. */
static bool kvm_runs_here(void)
{
	struct devkvm_err err = { "" };

	return devkvm_usable(&err);
}

/* ---- every vCPU halted ---- */

/*
 * hlt with nothing to wake the vCPU: this VMM raises no interrupt, so a
 * guest whose every vCPU halted is over, with IF set or clear.  Before,
 * nopin slept for ever.  The stop names each vCPU and where it halted.
 */
static void expect_all_halted(const char *backend)
{
	struct nopin_proc p;

	nopin_run(&p, "--backend", backend, hostile("halt"), NULL);
	EXPECT(&p, VMM_EXIT_GUEST_HALTED, "hostile: halting with interrupts on");
	EXPECT(&p, VMM_EXIT_GUEST_HALTED, "nopin run: every vCPU halted and nothing can wake one");
	EXPECT(&p, VMM_EXIT_GUEST_HALTED, "vCPU 0 at rip 0x");
	EXPECT(&p, VMM_EXIT_GUEST_HALTED, "(IF=1)");

	nopin_run(&p, "--backend", backend, "--vcpus", "3", hostile("cli_halt"), NULL);
	EXPECT(&p, VMM_EXIT_GUEST_HALTED, "every vCPU halted");
	EXPECT(&p, VMM_EXIT_GUEST_HALTED, "vCPU 2 at rip 0x");
	EXPECT(&p, VMM_EXIT_GUEST_HALTED, "(IF=0)");

	/* vCPU 0 halts for good while vCPU 1 halts after its work: still all halted. */
	nopin_run(&p, "--backend", backend, "--vcpus", "2", hostile("halt"), NULL);
	EXPECT(&p, VMM_EXIT_GUEST_HALTED, "vCPU 1 at rip 0x");
}

TEST(all_vcpus_halted_stops_on_soft)
{
	expect_all_halted("soft");
}

TEST(all_vcpus_halted_stops_on_kvm)
{
	TEST_REQUIRE(kvm_runs_here());
	expect_all_halted("kvm");
}

/* Some vCPUs halted while one works and exits: the guest's status, no stop line. */
TEST(some_vcpus_halted_is_not_the_end)
{
	struct nopin_proc p;

	nopin_run(&p, "--vcpus", "4", image("hello"), NULL);
	EXPECT(&p, 0, "Hello from vCPU 3 of 4");
	TEST_ASSERT(!strstr(p.buf, "nopin run:"), "no stop line:\n%s", p.buf);
}

/* ---- signals ---- */

/* A temporary file's path (removed by the caller). */
static void temp_path(char *path, size_t len, const char *what)
{
	int fd;

	snprintf(path, len, "/tmp/nopin-%s-XXXXXX", what);
	fd = mkstemp(path);
	TEST_ASSERT(fd >= 0, "mkstemp %s", path);
	close(fd);
}

static size_t read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	TEST_ASSERT(fd >= 0, "open %s", path);
	n = read(fd, buf, len - 1);
	close(fd);
	TEST_ASSERT(n >= 0, "read %s", path);
	buf[n] = '\0';
	return n;
}

/*
 * SIGINT, SIGTERM or SIGHUP in the middle of a run: the run ends as a
 * guest's exit would, with the stop line, --stats and a trace closed as
 * JSON, and nopin exits 128 + N.  Before, the default action killed it
 * mid-write.  The signal is sent once the guest said it runs.
 */
static void expect_signal_ends_run(const char *backend, int sig)
{
	static char json[1 << 22];
	char trace[64], want[64];
	struct nopin_proc p;
	size_t n;

	temp_path(trace, sizeof(trace), "trace");
	nopin_start(&p, "--backend", backend, "--stats", "--trace", trace, hostile("spin"), NULL);
	TEST_ASSERT(nopin_wait_for(&p, "hostile: spinning"), "the guest ran:\n%s", p.buf);
	kill(p.pid, sig);
	nopin_finish(&p);
	snprintf(want, sizeof(want), "nopin run: stopped by SIG%s (signal %d)", sigabbrev_np(sig),
		 sig);
	EXPECT(&p, 128 + sig, want);
	EXPECT(&p, 128 + sig, "\nsecondary_faults ");
	n = read_file(trace, json, sizeof(json));
	TEST_ASSERT(n > 6 && !strncmp(json, "{\"displayTimeUnit\"", 18), "a trace-event object");
	TEST_ASSERT(!strcmp(json + n - 4, "\n]}\n"), "closed JSON: ...%s", json + n - 40);
	unlink(trace);
}

TEST(signals_end_the_run_on_soft)
{
	expect_signal_ends_run("soft", SIGINT);
	expect_signal_ends_run("soft", SIGTERM);
	expect_signal_ends_run("soft", SIGHUP);
}

TEST(signals_end_the_run_on_kvm)
{
	TEST_REQUIRE(kvm_runs_here());
	expect_signal_ends_run("kvm", SIGTERM);
	expect_signal_ends_run("kvm", SIGINT);
}

/*
 * A signal ignored when nopin started stays ignored (a background job's
 * SIGINT, nohup's SIGHUP): blocking it for the signalfd would have made it
 * pending, and the run would have stopped.
 */
TEST(ignored_signals_stay_ignored)
{
	struct nopin_proc p;

	nopin_start_ignoring_sigint(&p, hostile("spin"), NULL);
	TEST_ASSERT(nopin_wait_for(&p, "hostile: spinning"), "the guest ran:\n%s", p.buf);
	kill(p.pid, SIGINT);
	kill(p.pid, SIGTERM);
	nopin_finish(&p);
	EXPECT(&p, 128 + SIGTERM, "nopin run: stopped by SIGTERM");
	TEST_ASSERT(!strstr(p.buf, "SIGINT"), "SIGINT was ignored:\n%s", p.buf);
}

/* ---- exit statuses: the VMM's and the guest's ---- */

/*
 * A guest may exit with any status, the VMM's own among them: only the
 * "nopin run: " line on stderr, which comes with every status the VMM
 * chose, tells them apart.
 */
TEST(guest_status_is_told_from_the_vmms)
{
	struct nopin_proc p;

	nopin_run(&p, hostile("exit121"), NULL);
	EXPECT(&p, 121, "hostile: exiting 121");
	TEST_ASSERT(!strstr(p.buf, "nopin run:"), "no VMM line for the guest's status:\n%s", p.buf);
	nopin_run(&p, image("unsupported"), NULL);
	EXPECT(&p, VMM_EXIT_GUEST_STOPPED, "nopin run: ");
}

/* ---- the trace cannot be written ---- */

/* --trace /dev/full: every write fails; said at the end, not lost in silence. */
TEST(trace_write_error_is_reported)
{
	struct nopin_proc p;

	nopin_run(&p, "--trace", "/dev/full", image("hello"), NULL);
	EXPECT(&p, VMM_EXIT_VMM_ERROR, "nopin run: cannot write trace /dev/full: No space left");
	EXPECT(&p, VMM_EXIT_VMM_ERROR, "Hello from vCPU 0");
}

/* ---- sizes the host cannot give ---- */

/*
 * A pool larger than the host's memory used to run for minutes at 20 GB
 * before failing; RAM the pool cannot hold must fit where it goes.  Each is
 * refused before anything is allocated, saying what the limit was.
 */
TEST(sizes_beyond_the_host_are_refused)
{
	struct nopin_proc p;

	nopin_run(&p, "--pool", "100000G", image("hello"), NULL);
	EXPECT(&p, VMM_EXIT_USAGE, "bad --pool '100000G': more than this host lets nopin have: ");
	TEST_ASSERT(strstr(p.buf, "physical memory"), "names the limit:\n%s", p.buf);
	nopin_run(&p, "--mem", "100000G", "--pool", "64M", image("hello"), NULL);
	EXPECT(&p, VMM_EXIT_USAGE,
	       "bad --mem '100000G': the 97.7 TiB of guest RAM the pool cannot");
	EXPECT(&p, VMM_EXIT_USAGE, "go to /tmp/, whose file system has ");
	nopin_run(&p, "--vcpus", "100000", image("hello"), NULL);
	EXPECT(&p, VMM_EXIT_USAGE, "bad --vcpus '100000': a count from 1 to 64");
}

/* ASan and TSan reserve terabytes of shadow at start: no ulimit -v for them. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SHADOW_MEMORY 1
#else
#define SHADOW_MEMORY 0
#endif

/* Under ulimit -v the limit is RLIMIT_AS, and the message says so. */
TEST(pool_beyond_rlimit_as_is_refused)
{
	struct nopin_proc p;

	TEST_REQUIRE(!SHADOW_MEMORY);
	nopin_run_limited(&p, RLIMIT_AS, 1UL << 30, "--pool", "2G", image("hello"), NULL);
	EXPECT(&p, VMM_EXIT_USAGE, "1.0 GiB, its RLIMIT_AS (ulimit -v)");
}

/* kswapd needs its watermarks: below 16 frames the reason, not "Invalid argument". */
TEST(pool_too_small_says_the_smallest)
{
	struct nopin_proc p;

	nopin_run(&p, "--pool", "4K", image("hello"), NULL);
	EXPECT(&p, VMM_EXIT_USAGE, "bad --pool '4K': the smallest pool is 64K, 16 frames");
	/*
	 * The floor is accepted.  At 16 frames a run has no slack: it says
	 * hello, or, when reclaim finds nothing it may take yet (the pages are
	 * in use or the tables), it stops with the out-of-memory report,
	 * never with a usage error.  Four times the floor leaves room to spare.
	 */
	nopin_run(&p, "--pool", "64K", image("hello"), NULL);
	TEST_ASSERT(p.status == 0 ?
			    strstr(p.buf, "Hello from vCPU 0") != NULL :
			    p.status == VMM_EXIT_GUEST_STOPPED &&
				    strstr(p.buf, "Out of memory: vCPU 0 could not get a frame"),
		    "exit status %d at the floor:\n%s", p.status, p.buf);
	nopin_run(&p, "--pool", "256K", image("hello"), NULL);
	EXPECT(&p, 0, "Hello from vCPU 0");
}

/* --pressure= asked for something and named nothing: an error, not a quiet run. */
TEST(empty_pressure_is_an_error)
{
	struct nopin_proc p;

	nopin_run(&p, "--pressure=", image("hello"), NULL);
	EXPECT(&p, VMM_EXIT_USAGE, "bad --pressure '': an empty list");
	nopin_run(&p, "--pressure", "reclaim,,age", image("hello"), NULL);
	EXPECT(&p, VMM_EXIT_USAGE, "an empty name in the list");
	nopin_run(&p, "--pressure", "reclaim=99999999999999999999s", image("hello"), NULL);
	EXPECT(&p, VMM_EXIT_USAGE, "at most a day");
}

/* ---- a full disk ---- */

/*
 * Guest RAM on a --mem-file that cannot grow past 2 MiB (RLIMIT_FSIZE, as
 * a full disk): write-back fails, reclaim frees nothing, and the run ends
 * on an allocation that found no frame.  Before, that was all it said;
 * now the failed write-back is named, file, offset and errno.
 */
TEST(full_disk_under_mem_file_names_the_write_back)
{
	char path[64];
	struct nopin_proc p;

	temp_path(path, sizeof(path), "ram");
	TEST_ASSERT(!truncate(path, 16 << 20), "size %s", path);
	nopin_run_limited(&p, RLIMIT_FSIZE, 2 << 20, "--mem", "16M", "--pool", "4M", "--mem-file",
			  path, image("memtest"), NULL);
	EXPECT(&p, VMM_EXIT_GUEST_STOPPED, "nopin: lost page write to ");
	EXPECT(&p, VMM_EXIT_GUEST_STOPPED, "nopin run: the host could not free guest RAM: ");
	EXPECT(&p, VMM_EXIT_GUEST_STOPPED, "failed: File too large");
	TEST_ASSERT(strstr(p.buf, path), "names the file:\n%s", p.buf);
	/* The access was inside RAM: the host refused it. */
	TEST_ASSERT(!strstr(p.buf, "outside every memslot"), "blames the memslots:\n%s", p.buf);
	unlink(path);
}

/*
 * The same with --swap on a 12 MiB tmpfs, which RAM beyond the pool just
 * fits at the start (so the up-front check passes) and the pool's own
 * page tables push over.  Needs a mount namespace: skipped where it may
 * not mount.
 */
TEST(full_disk_under_swap_names_the_write_back)
{
	char dir[] = "/tmp/nopin-tmpfs-XXXXXX", swap[64];
	struct nopin_proc p;

	TEST_ASSERT(mkdtemp(dir), "mkdtemp");
	snprintf(swap, sizeof(swap), "%s/swap", dir);
	nopin_run_limited(&p, RUN_ON_FULL_TMPFS, (rlim_t)(uintptr_t)dir, "--mem", "16M", "--pool",
			  "4M", "--swap", swap, image("memtest"), NULL);
	rmdir(dir);
	TEST_REQUIRE(p.status != KSFT_SKIP);
	EXPECT(&p, VMM_EXIT_GUEST_STOPPED, "nopin: Write-error on swap file ");
	EXPECT(&p, VMM_EXIT_GUEST_STOPPED, "nopin run: the host could not free guest RAM: ");
	EXPECT(&p, VMM_EXIT_GUEST_STOPPED, "failed: No space left on device");
	TEST_ASSERT(strstr(p.buf, swap), "names the file:\n%s", p.buf);
}
