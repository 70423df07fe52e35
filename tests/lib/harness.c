// SPDX-License-Identifier: GPL-2.0
/*
 * main() of every test binary: runs the TEST() cases named on the command
 * line (all of them without arguments), each in a forked child, and closes
 * with "N passed, N failed[, N skipped]".
 *
 *   test_foo              run every case
 *   test_foo NAME...      run these cases
 *   test_foo --list       print the case names
 *   test_foo --no-fork N  run one case in this process (for gdb)
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/current.h"
#include "tests/lib/test_util.h"

extern const struct test_case __start_nopin_test_cases[];
extern const struct test_case __stop_nopin_test_cases[];

#define for_each_test_case(tc)                                                                     \
	for (const struct test_case *tc = __start_nopin_test_cases; tc < __stop_nopin_test_cases;  \
	     tc++)

void test_assert(bool exp, const char *exp_str, const char *file, unsigned int line,
		 const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;

	if (exp)
		return;
	fprintf(stderr,
		"==== Test Assertion Failure ====\n  %s:%u: %s\n  task: %s, errno=%d (%s)\n  ",
		file, line, exp_str, current->comm, saved_errno, strerror(saved_errno));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	dump_stack();
	fflush(NULL);
	_exit(1); /* from any thread: the parent counts the case as failed */
}

void test_skip(const char *file, unsigned int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "skip: %s:%u: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(NULL);
	_exit(KSFT_SKIP);
}

/* A case passes if it returns and left no report it did not expect. */
static void run_case(const struct test_case *tc)
{
	task_register("test-main");
	tc->fn();
	if (report_total()) {
		fprintf(stderr, "==== %s left %lu unexpected report(s) ====\n", tc->name,
			report_total());
		fflush(NULL);
		_exit(1);
	}
	fflush(NULL);
	_exit(0);
}

static int run_forked(const struct test_case *tc)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0)
		run_case(tc);
	if (waitpid(pid, &status, 0) < 0) {
		perror("waitpid");
		return 1;
	}
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "%s: killed by signal %d (%s)\n", tc->name, WTERMSIG(status),
			strsignal(WTERMSIG(status)));
		return 1;
	}
	return WEXITSTATUS(status);
}

static const struct test_case *find_case(const char *name)
{
	for_each_test_case(tc)
		if (!strcmp(tc->name, name))
			return tc;
	return NULL;
}

struct tally {
	int passed, failed, skipped;
};

static void run_and_count(const struct test_case *tc, struct tally *t)
{
	int rc = run_forked(tc);

	if (rc == 0) {
		printf("ok      %s\n", tc->name);
		t->passed++;
	} else if (rc == KSFT_SKIP) {
		printf("skip    %s\n", tc->name);
		t->skipped++;
	} else {
		printf("FAILED  %s\n", tc->name);
		t->failed++;
	}
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct tally t = { 0 };

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && !strcmp(argv[1], "--list")) {
		for_each_test_case(tc)
			printf("%s\n", tc->name);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "--no-fork")) {
		const struct test_case *tc = find_case(argv[2]);

		if (!tc) {
			fprintf(stderr, "%s: no test case named '%s'\n", argv[0], argv[2]);
			return 2;
		}
		run_case(tc);
	}
	if (argc == 1) {
		for_each_test_case(tc)
			run_and_count(tc, &t);
	}
	for (int i = 1; i < argc; i++) {
		const struct test_case *tc = find_case(argv[i]);

		if (!tc) {
			fprintf(stderr, "%s: no test case named '%s' (try --list)\n", argv[0],
				argv[i]);
			return 2;
		}
		run_and_count(tc, &t);
	}
	printf("%d passed, %d failed, %d skipped\n", t.passed, t.failed, t.skipped);
	if (t.failed)
		return 1;
	return (t.passed == 0 && t.skipped) ? KSFT_SKIP : 0;
}
