// SPDX-License-Identifier: GPL-2.0
/*
 * bench_exec: the exec label's real programs (tests/exec: busybox applets,
 * sqlite, zlib, Lua; static, gcc -O2) timed natively and under
 * `nopin exec` on the soft vCPU (tdp), and on kvm (shadow) where /dev/kvm
 * is on hardware virtualization: the wall time of each, start-up of the VM
 * and the guest kernel included, beside the native run's, as a table and
 * then as CSV.  Each guest run's stdout is compared with the native one's
 * and the table says "ok", "DIFF" or the exit status: a figure of a run
 * that went wrong is no figure.  The native time is the best of three.
 *
 * The sizes are the (100000 sqlite rows, 1 MiB through zlib), not
 * the tests' smaller ones (--small): some 4 G instructions in all, minutes
 * on the soft vCPU, so use a Release build (a Debug one runs the lock
 * checker and takes 42 s for zlib alone).  A workload that is not built,
 * or a nopin that cannot run it, gives a row that says so; the bench exits
 * 0 whatever the figures.
 *
 *	bench_exec [--csv] [--no-soft] [--small] [NAME...]	(default: all)
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench.h"
#include "tests/exec/applets.h"
#include "vmm/kvm/devkvm_util.h"

#define ROOT NOPIN_EXEC_ROOT
#define MAX_ARGS 16

static bool small;

struct workload {
	const char *name;
	const char *program; /* absolute, or a name under ROOT */
	const char *args[MAX_ARGS];
	const char *small[MAX_ARGS]; /* --small: the tests' arguments, if others */
};

/* A busybox applet: the tests' arguments are the bench's. */
#define BUSYBOX(n, ...)                                                                            \
	{                                                                                          \
		n, NOPIN_EXEC_BUSYBOX, { __VA_ARGS__, NULL },                                      \
		{                                                                                  \
			NULL                                                                       \
		}                                                                                  \
	}
static const struct workload workloads[] = {
#define APPLET(name, ...) BUSYBOX(#name, __VA_ARGS__),
	EXEC_BUSYBOX_APPLETS(APPLET)
#undef APPLET
		{ "sqlite", "exec_sqlite", { "100000", NULL }, { "10000", NULL } },
	{ "zlib", "exec_zlib", { "1024", NULL }, { "64", NULL } },
	{ "lua", "exec_lua", { "bench.lua", "20000", NULL }, { "bench.lua", "5000", NULL } },
};

struct result {
	bool ran;
	int status;
	double seconds;
	char *out;
	size_t out_len;
};

static const char *const *args_of(const struct workload *w)
{
	return small && w->small[0] ? w->small : w->args;
}

static const char *program_path(const struct workload *w)
{
	static char path[4096];

	if (w->program[0] == '/')
		return w->program;
	snprintf(path, sizeof(path), "%s/%s", ROOT, w->program);
	return path;
}

static char *slurp(const char *path, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	int fd = open(path, O_RDONLY);

	*len = 0;
	if (fd < 0)
		return NULL;
	if (!fstat(fd, &st) && (buf = malloc(st.st_size + 1))) {
		if (read(fd, buf, st.st_size) == st.st_size)
			*len = st.st_size;
		buf[*len] = '\0';
	}
	close(fd);
	return buf;
}

/* argv in ROOT, stdout to a file, stderr dropped; the wall time of it. */
static void timed_run(const char *argv[], struct result *r)
{
	char tmpl[] = "/tmp/bench-exec.XXXXXX", out[64];
	char *dir = mkdtemp(tmpl);
	double t0;
	int status;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	if (!dir)
		die("mkdtemp");
	snprintf(out, sizeof(out), "%s/out", dir);
	fflush(NULL);
	t0 = now_s();
	pid = fork();
	if (pid < 0)
		die("fork");
	if (!pid) {
		int in = open("/dev/null", O_RDONLY), null = open("/dev/null", O_WRONLY);
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (in < 0 || null < 0 || o < 0 || chdir(ROOT) || dup2(in, 0) < 0 ||
		    dup2(o, 1) < 0 || dup2(null, 2) < 0)
			_exit(126);
		/* execv() takes char *const[] but writes none of it. */
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		die("waitpid");
	r->seconds = now_s() - t0;
	r->ran = true;
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	r->out = slurp(out, &r->out_len);
	unlink(out);
	rmdir(dir);
}

static void run_native(const struct workload *w, struct result *best)
{
	const char *argv[MAX_ARGS + 2];
	int n = 0;

	argv[n++] = program_path(w);
	for (int i = 0; args_of(w)[i]; i++)
		argv[n++] = args_of(w)[i];
	argv[n] = NULL;
	memset(best, 0, sizeof(*best));
	if (access(argv[0], X_OK))
		return;
	for (int i = 0; i < 3; i++) {
		struct result r;

		timed_run(argv, &r);
		if (!best->ran || r.seconds < best->seconds) {
			free(best->out);
			*best = r;
		} else {
			free(r.out);
		}
	}
}

static void run_nopin(const struct workload *w, const char *backend, const char *mmu,
		      struct result *r)
{
	const char *argv[MAX_ARGS + 16];
	int n = 0;

	argv[n++] = NOPIN_CLI;
	argv[n++] = "exec";
	argv[n++] = "--backend";
	argv[n++] = backend;
	argv[n++] = "--mmu";
	argv[n++] = mmu;
	/* RAM for sqlite's 100000 rows in memory, and a pool that holds it all. */
	argv[n++] = "--mem";
	argv[n++] = "128M";
	argv[n++] = "--pool";
	argv[n++] = "256M";
	argv[n++] = "--root";
	argv[n++] = ROOT;
	argv[n++] = program_path(w);
	for (int i = 0; args_of(w)[i]; i++)
		argv[n++] = args_of(w)[i];
	argv[n] = NULL;
	timed_run(argv, r);
}

/* /dev/kvm works and runs on vmx or svm: where --backend auto takes kvm. */
static bool have_hardware_kvm(void)
{
	struct devkvm_err err = { "" };

	return devkvm_usable(&err) && devkvm_hardware(&err);
}

/* "ok", "DIFF", "exit N" or "-" into @buf: how a guest run compares with the native one. */
static void verdict(const struct result *native, const struct result *guest, char *buf, size_t len)
{
	if (!guest->ran)
		snprintf(buf, len, "-");
	else if (guest->status != native->status)
		snprintf(buf, len, "exit %d", guest->status);
	else if (guest->out_len != native->out_len ||
		 (native->out_len && memcmp(guest->out, native->out, native->out_len)))
		snprintf(buf, len, "DIFF");
	else
		snprintf(buf, len, "ok");
}

struct row {
	const char *name;
	struct result native, soft, kvm;
	char soft_verdict[32], kvm_verdict[32];
};

static void fmt_time(char *buf, size_t len, const struct result *r, const struct result *native)
{
	if (!r->ran)
		snprintf(buf, len, "%10s %8s", "-", "");
	else
		snprintf(buf, len, "%10.3f %7.1fx", r->seconds,
			 native->seconds > 0 ? r->seconds / native->seconds : 0);
}

static bool selected(const char *name, int argc, char **argv, int first)
{
	if (first >= argc)
		return true;
	for (int i = first; i < argc; i++)
		if (!strcmp(argv[i], name))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	struct row rows[sizeof(workloads) / sizeof(workloads[0])];
	bool csv_only = false, soft = true, kvm = have_hardware_kvm();
	int first = 1, nr = 0;

	for (; first < argc && argv[first][0] == '-'; first++) {
		if (!strcmp(argv[first], "--csv")) {
			csv_only = true;
		} else if (!strcmp(argv[first], "--no-soft")) {
			soft = false;
		} else if (!strcmp(argv[first], "--small")) {
			small = true;
		} else {
			fprintf(stderr,
				"usage: bench_exec [--csv] [--no-soft] [--small] [NAME...]\n");
			return 2;
		}
	}
	for (size_t i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++) {
		const struct workload *w = &workloads[i];
		struct row *r = &rows[nr];

		if (!selected(w->name, argc, argv, first))
			continue;
		memset(r, 0, sizeof(*r));
		r->name = w->name;
		run_native(w, &r->native);
		if (!r->native.ran) {
			fprintf(stderr, "bench_exec: %s is not built (%s)\n", w->name,
				program_path(w));
			nr++;
			continue;
		}
		if (soft)
			run_nopin(w, "soft", "tdp", &r->soft);
		if (kvm)
			run_nopin(w, "kvm", "shadow", &r->kvm);
		verdict(&r->native, &r->soft, r->soft_verdict, sizeof(r->soft_verdict));
		verdict(&r->native, &r->kvm, r->kvm_verdict, sizeof(r->kvm_verdict));
		nr++;
	}

	if (!csv_only) {
		printf("nopin exec beside native: wall seconds, VM and guest kernel start-up "
		       "included\n");
		printf("soft: --mmu tdp; kvm: --mmu shadow%s\n\n",
		       kvm ? "" : " (not run: no /dev/kvm on vmx or svm)");
		printf("%-10s %10s %10s %8s %-7s %10s %8s %-7s\n", "workload", "native", "soft",
		       "/native", "output", "kvm", "/native", "output");
		for (int i = 0; i < nr; i++) {
			struct row *r = &rows[i];
			char s[48], k[48];

			if (!r->native.ran) {
				printf("%-10s not built\n", r->name);
				continue;
			}
			fmt_time(s, sizeof(s), &r->soft, &r->native);
			fmt_time(k, sizeof(k), &r->kvm, &r->native);
			printf("%-10s %10.4f %s %-7s %s %-7s\n", r->name, r->native.seconds, s,
			       r->soft_verdict, k, r->kvm_verdict);
		}
		printf("\n");
	}
	printf("workload,native_s,soft_s,soft_output,kvm_s,kvm_output\n");
	for (int i = 0; i < nr; i++) {
		struct row *r = &rows[i];

		if (!r->native.ran)
			continue;
		printf("%s,%.6f,", r->name, r->native.seconds);
		if (r->soft.ran)
			printf("%.6f", r->soft.seconds);
		printf(",%s,", r->soft_verdict);
		if (r->kvm.ran)
			printf("%.6f", r->kvm.seconds);
		printf(",%s\n", r->kvm_verdict);
		free(r->native.out);
		free(r->soft.out);
		free(r->kvm.out);
	}
	return 0;
}
