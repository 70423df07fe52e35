// SPDX-License-Identifier: GPL-2.0
/*
 * The exec label (issue 16): real static programs - busybox applets, a
 * sqlite, a zlib and a Lua workload (workloads/) - run natively and then
 * under `nopin exec`, quiet and with the host taking pages away; each case
 * passes only if stdout is byte-identical to the native run's, the exit
 * status is the same, and --stats shows `sanitizer_reports 0`.  Under
 * pressure the host must also have reclaimed and migrated guest pages
 * while the program ran; with --pin, it must say how many pages it pinned.
 *
 * Cases are named <workload>_<mmu>[_pressure|_pin].  The backend is
 * NOPIN_TEST_BACKEND's (soft by default; ctest registers every case again
 * as nested.* with kvm, tests/nested), and a tdp case skips on kvm, which
 * has only the shadow MMU.  The native run goes first in each case, so a
 * failure there (a missing file, a broken build) is told apart from one
 * of the VMM's.
 */
#include <elf.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/exec/applets.h"
#include "tests/lib/test_util.h"

#define ROOT NOPIN_EXEC_ROOT
#define MAX_ARGS 16

/*
 * Guest RAM and the host's frame pool: quiet runs have a pool larger than
 * RAM, so nothing is taken but what the guest gives back; pressure runs
 * have RAM twice the pool (the VMM adds a swap file) and every pressure
 * agent of `all` (pressure_list() says at which periods).  The guest starts
 * only after each agent's first round, so the reclaim and migration the
 * pressure cases ask for happen however short the program is.
 */
static const char *const quiet_opts[] = { "--mem", "32M", "--pool", "64M", NULL };
static const char *pressure_opts[] = { "--mem", "32M", "--pool", "16M", "--pressure", NULL, NULL };
static const char *const pin_opts[] = { "--mem", "32M", "--pool", "64M", "--pin", NULL };

struct workload {
	const char *program; /* absolute, or a name under ROOT */
	const char *args[MAX_ARGS];
	const char *file; /* a file it writes under ROOT (with --rw), compared too */
};

/*
 * Sized so that each runs in well under a second natively and in about a
 * second on the soft vCPU (~200 MIPS): ~700 M instructions for the set,
 * counted natively with glibc's SSE2 string functions (what it picks on
 * the soft vCPU), sqlite 250 M of them.  text.txt is 10000 lines (185 KB),
 * data.bin 512 KiB; sqlite inserts 10000 rows, not the 100000
 * (2.5 G instructions, ~15 s a run; bench/exec.c runs those); sort is
 * plain, as `-k 2n` costs busybox six times as much.
 */
#define BUSYBOX(...)                                                                               \
	{                                                                                          \
		NOPIN_EXEC_BUSYBOX, { __VA_ARGS__, NULL }, NULL                                    \
	}
#define APPLET(name, ...) static const struct workload w_##name = BUSYBOX(__VA_ARGS__);
EXEC_BUSYBOX_APPLETS(APPLET)
#undef APPLET
/* An exit status that is not 0 must come through too. */
static const struct workload w_exitcode = BUSYBOX("false");
static const struct workload w_sqlite = { "exec_sqlite", { "10000", NULL }, NULL };
static const struct workload w_zlib = { "exec_zlib", { "64", NULL }, NULL };
static const struct workload w_zlib_pie = { "exec_zlib_pie", { "64", NULL }, NULL };
static const struct workload w_lua = { "exec_lua", { "bench.lua", "5000", NULL }, NULL };
/*
 * sqlite on a database file under the root, --rw: writes through the host
 * file interface from guest buffers the host may take mid-call.  One file
 * per case, as ctest runs cases side by side.
 */
static const struct workload w_sqlite_file_tdp = { "exec_sqlite",
						   { "5000", "sqlite_file_tdp.db", NULL },
						   "sqlite_file_tdp.db" };
static const struct workload w_sqlite_file_shadow = { "exec_sqlite",
						      { "5000", "sqlite_file_shadow.db", NULL },
						      "sqlite_file_shadow.db" };

struct run {
	int status; /* the exit status, or 128 + the signal, as a shell says */
	char *out;  /* stdout */
	size_t out_len;
	char *err; /* stderr (the program's, and nopin's --stats) */
};

static char *slurp(const char *path, size_t *len)
{
	struct stat st;
	char *buf;
	int fd = open(path, O_RDONLY);

	TEST_ASSERT(fd >= 0, "open %s", path);
	TEST_ASSERT(!fstat(fd, &st), "fstat %s", path);
	buf = malloc(st.st_size + 1);
	TEST_ASSERT(buf, "malloc");
	TEST_ASSERT(read(fd, buf, st.st_size) == st.st_size, "read %s", path);
	buf[st.st_size] = '\0';
	close(fd);
	if (len)
		*len = st.st_size;
	return buf;
}

/* Run argv in ROOT, stdin empty, stdout and stderr each to a file. */
static void spawn(const char *argv[], struct run *r)
{
	char dir_tmpl[] = "/tmp/nopin-exec.XXXXXX", out[64], err[64];
	char *dir = mkdtemp(dir_tmpl);
	int status;
	pid_t pid;

	TEST_ASSERT(dir, "mkdtemp");
	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(err, sizeof(err), "%s/err", dir);
	fflush(NULL);
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork");
	if (!pid) {
		int in = open("/dev/null", O_RDONLY);
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (in < 0 || o < 0 || e < 0 || chdir(ROOT) || dup2(in, 0) < 0 || dup2(o, 1) < 0 ||
		    dup2(e, 2) < 0)
			_exit(126);
		/* execv() takes char *const[] but writes none of it. */
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	TEST_ASSERT(waitpid(pid, &status, 0) == pid, "waitpid");
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	r->out = slurp(out, &r->out_len);
	r->err = slurp(err, NULL);
	unlink(out);
	unlink(err);
	rmdir(dir);
}

static const char *program_path(const struct workload *w)
{
	static char path[4096];

	if (w->program[0] == '/')
		return w->program;
	snprintf(path, sizeof(path), "%s/%s", ROOT, w->program);
	return path;
}

static void run_native(const struct workload *w, struct run *r)
{
	const char *argv[MAX_ARGS + 2];
	int n = 0;

	argv[n++] = program_path(w);
	for (int i = 0; w->args[i]; i++)
		argv[n++] = w->args[i];
	argv[n] = NULL;
	TEST_ASSERT(access(argv[0], X_OK) == 0, "workload %s is not built", argv[0]);
	spawn(argv, r);
}

/*
 * The nopin command: the one this build made, or NOPIN_EXEC_CLI's (another
 * build's, or a stand-in that checks the harness itself).
 */
static const char *nopin_cli(void)
{
	const char *cli = getenv("NOPIN_EXEC_CLI");

	return cli && *cli ? cli : NOPIN_CLI;
}

static const char *backend(void)
{
	const char *b = getenv("NOPIN_TEST_BACKEND");

	return b && *b ? b : "soft";
}

/* Is this machine a guest itself (CPUID's hypervisor bit, in /proc/cpuinfo)? */
static bool under_a_hypervisor(void)
{
	char line[4096];
	bool hv = false;
	FILE *f = fopen("/proc/cpuinfo", "r");

	while (f && !hv && fgets(line, sizeof(line), f))
		hv = !strncmp(line, "flags", 5) && strstr(line, " hypervisor");
	if (f)
		fclose(f);
	return hv;
}

/*
 * The agents' periods: their defaults (10-100 ms) on soft, where 2 ms
 * made the sqlite case six times slower (63 s against 10 s quiet, in a
 * Debug build).  On kvm on bare metal the short workloads end within
 * milliseconds, so there they run every 5 ms.  Inside QEMU (tests/nested,
 * the hypervisor bit set) every exit goes through TCG, so a period of the
 * host's clock is a thousand times more of the guest's progress: at the
 * defaults the age agent kept sqlite's working set cold for reclaim, which
 * swapped 200,000 pages in and out over 130-210 s (the case's limit is
 * 300); every 50 ms it swaps 30,000 in 25 s on a quiet host but took
 * 104 s on a busy one (the slower the guest, the more rounds per unit of
 * its work: the cost grows faster than the slowdown), every 100 ms 2,700
 * in 4 s.  The first round of each comes before the guest starts whatever the
 * period (vmm/pressure.c).  NOPIN_EXEC_PRESSURE overrides.
 */
static const char *pressure_list(void)
{
	const char *env = getenv("NOPIN_EXEC_PRESSURE");

	if (env && *env)
		return env;
	if (!strcmp(backend(), "kvm"))
		return under_a_hypervisor() ? "all=100ms" : "all=5ms";
	return "all";
}

/* nopin exec --backend B --mmu M OPTS --stats --root ROOT PROGRAM ARGS... */
static void run_nopin(const struct workload *w, const char *mmu, const char *const *opts,
		      struct run *r)
{
	const char *argv[MAX_ARGS + 24];
	int n = 0;

	argv[n++] = nopin_cli();
	argv[n++] = "exec";
	argv[n++] = "--backend";
	argv[n++] = backend();
	argv[n++] = "--mmu";
	argv[n++] = mmu;
	for (int i = 0; opts[i]; i++)
		argv[n++] = opts[i];
	argv[n++] = "--stats";
	if (w->file)
		argv[n++] = "--rw";
	argv[n++] = "--root";
	argv[n++] = ROOT;
	argv[n++] = program_path(w);
	for (int i = 0; w->args[i]; i++)
		argv[n++] = w->args[i];
	argv[n] = NULL;
	spawn(argv, r);
}

/* One counter of the --stats table on stderr: "name   value" on its own line. */
static long stat_of(const struct run *r, const char *name)
{
	char key[64];
	const char *p = r->err;
	long v;

	snprintf(key, sizeof(key), "\n%s ", name);
	p = strstr(p, key);
	TEST_ASSERT(p && sscanf(p + strlen(key), "%ld", &v) == 1, "no %s in --stats:\n%s", name,
		    r->err);
	return v;
}

/* Where two outputs part, for the failure message. */
static size_t first_difference(const struct run *a, const struct run *b)
{
	size_t i, n = a->out_len < b->out_len ? a->out_len : b->out_len;

	for (i = 0; i < n && a->out[i] == b->out[i]; i++)
		;
	return i;
}

/*
 * The line of @r's stdout that holds byte @at, at most 100 bytes of it, in
 * @buf with what does not print as '.' (gzip's output is binary).
 */
static const char *line_at(const struct run *r, size_t at, char buf[static 101])
{
	size_t b = at, e = at, n = 0;

	while (b > 0 && b <= r->out_len && r->out[b - 1] != '\n' && at - b < 60)
		b--;
	while (e < r->out_len && r->out[e] != '\n' && e - b < 100)
		e++;
	for (size_t i = b; i < e; i++)
		buf[n++] = r->out[i] >= 0x20 && r->out[i] < 0x7f ? r->out[i] : '.';
	buf[n] = '\0';
	return buf;
}

static void remove_file(const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", ROOT, name);
	TEST_ASSERT(!unlink(path) || errno == ENOENT, "unlink %s", path);
}

static char *read_file(const char *name, size_t *len)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", ROOT, name);
	return slurp(path, len);
}

enum mode { QUIET, PRESSURE, PIN };

static void check(const struct workload *w, const char *mmu, enum mode mode)
{
	const char *const *const opts[] = { quiet_opts, pressure_opts, pin_opts };
	struct run native, guest;
	char *native_file = NULL, *guest_file = NULL;
	size_t at, native_file_len = 0, guest_file_len = 0;

	/* kvm has the shadow MMU only (vmm/kvm): its tdp cases are soft's. */
	TEST_REQUIRE(strcmp(backend(), "kvm") || strcmp(mmu, "tdp"));
	pressure_opts[5] = pressure_list();
	if (w->file)
		remove_file(w->file);
	run_native(w, &native);
	TEST_ASSERT(native.out_len > 0 || native.status, "the native run printed nothing:\n%s",
		    native.err);
	if (w->file) {
		native_file = read_file(w->file, &native_file_len);
		remove_file(w->file);
	}
	run_nopin(w, mmu, opts[mode], &guest);

	TEST_ASSERT(guest.status == native.status, "exit status %d under nopin, %d natively:\n%s",
		    guest.status, native.status, guest.err);
	at = first_difference(&native, &guest);
	if (native.out_len != guest.out_len || at != native.out_len) {
		char nl[101], gl[101];

		TEST_FAIL(
			"stdout differs from the native run's at byte %zu (%zu bytes under nopin, "
			"%zu natively):\n  native: %s\n  nopin:  %s\nnopin's stderr:\n%s",
			at, guest.out_len, native.out_len, line_at(&native, at, nl),
			line_at(&guest, at, gl), guest.err);
	}
	if (w->file) {
		guest_file = read_file(w->file, &guest_file_len);
		TEST_ASSERT(
			guest_file_len == native_file_len &&
				!memcmp(guest_file, native_file, native_file_len),
			"%s differs from the native run's (%zu bytes under nopin, %zu natively)",
			w->file, guest_file_len, native_file_len);
		remove_file(w->file);
		free(native_file);
		free(guest_file);
	}
	TEST_ASSERT(stat_of(&guest, "sanitizer_reports") == 0, "sanitizer reports:\n%s", guest.err);
	if (mode == PRESSURE) {
		TEST_ASSERT(stat_of(&guest, "reclaimed") + stat_of(&guest, "swap_outs") > 0,
			    "the host reclaimed no guest page during the run:\n%s", guest.err);
		TEST_ASSERT(stat_of(&guest, "pressure_migrated_pages") > 0,
			    "the host migrated no guest page during the run:\n%s", guest.err);
	}
	if (mode == PIN)
		TEST_ASSERT(stat_of(&guest, "pages_pinned") > 0,
			    "--pin, yet no pinned pages counted:\n%s", guest.err);
	free(native.out);
	free(native.err);
	free(guest.out);
	free(guest.err);
}

#define EXEC_CASES(name)                                                                           \
	TEST(name##_tdp)                                                                           \
	{                                                                                          \
		check(&w_##name, "tdp", QUIET);                                                    \
	}                                                                                          \
	TEST(name##_shadow)                                                                        \
	{                                                                                          \
		check(&w_##name, "shadow", QUIET);                                                 \
	}                                                                                          \
	TEST(name##_tdp_pressure)                                                                  \
	{                                                                                          \
		check(&w_##name, "tdp", PRESSURE);                                                 \
	}                                                                                          \
	TEST(name##_shadow_pressure)                                                               \
	{                                                                                          \
		check(&w_##name, "shadow", PRESSURE);                                              \
	}                                                                                          \
	/* --pin: the same output, and the count of pages that stayed pinned. */                   \
	TEST(name##_shadow_pin)                                                                    \
	{                                                                                          \
		check(&w_##name, "shadow", PIN);                                                   \
	}

EXEC_CASES(sha256sum)
EXEC_CASES(md5sum)
EXEC_CASES(gzip)
EXEC_CASES(gunzip)
EXEC_CASES(sort)
EXEC_CASES(awk)
EXEC_CASES(sed)
EXEC_CASES(wc)
EXEC_CASES(od)
EXEC_CASES(exitcode)
EXEC_CASES(sqlite)
EXEC_CASES(zlib)
EXEC_CASES(lua)

/* A static PIE (gcc -static-pie) is loaded at a base of the kernel's choosing. */
TEST(zlib_pie_tdp)
{
	check(&w_zlib_pie, "tdp", QUIET);
}

TEST(zlib_pie_shadow_pressure)
{
	check(&w_zlib_pie, "shadow", PRESSURE);
}

TEST(sqlite_file_tdp)
{
	check(&w_sqlite_file_tdp, "tdp", QUIET);
}

TEST(sqlite_file_shadow_pressure)
{
	check(&w_sqlite_file_shadow, "shadow", PRESSURE);
}

/* Does @path have no PT_INTERP, as `file` says "statically linked"? */
static bool is_static(const char *path)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	bool interp = false;
	int fd = open(path, O_RDONLY);

	TEST_ASSERT(fd >= 0, "open %s", path);
	TEST_ASSERT(pread(fd, &eh, sizeof(eh), 0) == sizeof(eh) &&
			    !memcmp(eh.e_ident, ELFMAG, SELFMAG) &&
			    eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_machine == EM_X86_64,
		    "%s is no x86-64 ELF64", path);
	for (int i = 0; i < eh.e_phnum; i++) {
		TEST_ASSERT(pread(fd, &ph, sizeof(ph), eh.e_phoff + i * eh.e_phentsize) ==
				    sizeof(ph),
			    "program header %d of %s", i, path);
		interp |= ph.p_type == PT_INTERP;
	}
	close(fd);
	return !interp;
}

/*
 * The native side alone: the workloads are static x86-64 executables (what
 * nopin exec takes), they run, and they say what they should.
 */
TEST(native_workloads_run)
{
	static const struct {
		const struct workload *w;
		const char *expect;
	} checks[] = {
		{ &w_sqlite, "PRAGMA integrity_check\nok\n" },
		{ &w_zlib, "stream: " },
		{ &w_zlib_pie, "stream: " },
		{ &w_lua, "fib(89) = 1779979416004714189" },
		{ &w_wc, "text.txt" },
		{ &w_gunzip, "frame " },
	};

	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		struct run r;

		TEST_ASSERT(is_static(program_path(checks[i].w)), "%s is not statically linked",
			    program_path(checks[i].w));
		run_native(checks[i].w, &r);
		TEST_ASSERT(r.status == 0 && strstr(r.out, checks[i].expect),
			    "%s: status %d, no '%s' in:\n%s%s", program_path(checks[i].w), r.status,
			    checks[i].expect, r.out, r.err);
		free(r.out);
		free(r.err);
	}
}
