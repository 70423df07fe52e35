// SPDX-License-Identifier: GPL-2.0
/*
 * `nopin exec` from the command line, the VMM's side: a PROGRAM it
 * cannot run is refused with one line and a defined status before any
 * guest runs; one it can is handed, with its arguments and the
 * environment, to the kernel image, whose exit status becomes nopin's;
 * the kernel's console goes to stderr, never into the program's stdout;
 * HC_EXEC_FAULT prints its report; --stats names the system calls.
 * The kernel here is the stand-in of tests/guest/exec_kernel/, which
 * reports what it got on the program's stdout.
 */
#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/test_util.h"
#include "tests/lib/vmm_util.h"
#include "vmm/vm.h"

struct exec_result {
	int status;
	char out[32768]; /* the program's stdout */
	char err[16384]; /* stderr */
};

/* A scratch directory: root/ is the --root, the rest is the test's. */
struct scratch {
	char dir[64];
	char root[96];
	char path[160];		/* a scratch file name, see at() */
	const char *stdin_pipe; /* a file piped into nopin's stdin, or NULL */
};

static void scratch_make(struct scratch *s)
{
	*s = (struct scratch){ .stdin_pipe = NULL };
	snprintf(s->dir, sizeof(s->dir), "/tmp/nopin-exec-XXXXXX");
	TEST_ASSERT(mkdtemp(s->dir), "mkdtemp");
	snprintf(s->root, sizeof(s->root), "%s/root", s->dir);
	TEST_ASSERT(!mkdir(s->root, 0755), "mkdir %s", s->root);
}

static void scratch_remove(struct scratch *s)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
	TEST_ASSERT(!system(cmd), "%s", cmd);
}

static const char *at(struct scratch *s, const char *name)
{
	snprintf(s->path, sizeof(s->path), "%s/%s", s->dir, name);
	return s->path;
}

static void write_file(const char *path, const void *buf, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	TEST_ASSERT(fd >= 0 && write(fd, buf, len) == (ssize_t)len, "write %s", path);
	close(fd);
}

static void read_all(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, size - 1) : -1;

	buf[n > 0 ? n : 0] = '\0';
	if (fd >= 0)
		close(fd);
}

/*
 * `nopin exec --backend soft ARGS...` (NULL-terminated) in @s->root as the
 * current directory, with NOPIN_EXEC_TEST=hello in the environment; stdout
 * and stderr captured apart.
 */
static void nopin_exec(struct exec_result *r, struct scratch *s, ...)
{
	char cmd[8192], errpath[160], *arg;
	va_list ap;
	FILE *p;
	size_t n;

	snprintf(errpath, sizeof(errpath), "%s/stderr", s->dir);
	snprintf(cmd, sizeof(cmd), "cd '%s' && %s%s%sNOPIN_EXEC_TEST=hello %s exec --backend soft",
		 s->root, s->stdin_pipe ? "cat '" : "", s->stdin_pipe ? s->stdin_pipe : "",
		 s->stdin_pipe ? "' | " : "", NOPIN_CLI);
	va_start(ap, s);
	while ((arg = va_arg(ap, char *)))
		snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), " '%s'", arg);
	va_end(ap);
	snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), " 2>'%s'", errpath);
	p = popen(cmd, "r");
	TEST_ASSERT(p, "popen %s", cmd);
	n = fread(r->out, 1, sizeof(r->out) - 1, p);
	r->out[n] = '\0';
	r->status = pclose(p);
	read_all(errpath, r->err, sizeof(r->err));
	TEST_ASSERT(WIFEXITED(r->status), "nopin exited normally (no crash):\n%s%s", r->out,
		    r->err);
	r->status = WEXITSTATUS(r->status);
}

#define EXPECT_STATUS(r, st)                                                                       \
	TEST_ASSERT((r)->status == (st), "exit status %d, expected %d:\nstdout:\n%s\nstderr:\n%s", \
		    (r)->status, (st), (r)->out, (r)->err)
#define EXPECT_OUT(r, text)                                                                        \
	TEST_ASSERT(strstr((r)->out, text), "no '%s' in stdout:\n%s\nstderr:\n%s", text, (r)->out, \
		    (r)->err)
#define EXPECT_ERR(r, text)                                                                        \
	TEST_ASSERT(strstr((r)->err, text), "no '%s' in stderr:\n%s", text, (r)->err)

static bool is_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	return strlen(text) == n + 1 && !memcmp(text, line, n) && text[n] == '\n';
}

/* One line, and no more, on stderr: a refusal says what and stops. */
#define EXPECT_REFUSED(r, st, line)                                                                \
	do {                                                                                       \
		EXPECT_STATUS(r, st);                                                              \
		TEST_ASSERT(is_line((r)->err, line), "stderr is not '%s':\n%s", line, (r)->err);   \
		TEST_ASSERT(!(r)->out[0], "nothing on stdout:\n%s", (r)->out);                     \
	} while (0)

/*
 * An ELF file with just the headers the check reads: @class and @machine,
 * @type, one PT_LOAD and, if @interp, a PT_INTERP naming it.
 */
static void make_elf(const char *path, int class, int machine, int type, const char *interp)
{
	struct {
		Elf64_Ehdr eh;
		Elf64_Phdr ph[2];
		char interp[64];
	} f = { 0 };

	memcpy(f.eh.e_ident, ELFMAG, SELFMAG);
	f.eh.e_ident[EI_CLASS] = class;
	f.eh.e_ident[EI_DATA] = ELFDATA2LSB;
	f.eh.e_ident[EI_VERSION] = EV_CURRENT;
	f.eh.e_type = type;
	f.eh.e_machine = machine;
	f.eh.e_version = EV_CURRENT;
	f.eh.e_entry = 0x401000;
	f.eh.e_phoff = offsetof(typeof(f), ph);
	f.eh.e_ehsize = sizeof(f.eh);
	f.eh.e_phentsize = sizeof(Elf64_Phdr);
	f.eh.e_phnum = interp ? 2 : 1;
	f.ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD,
				.p_vaddr = 0x400000,
				.p_filesz = sizeof(f),
				.p_memsz = sizeof(f),
				.p_align = 0x1000 };
	if (interp) {
		snprintf(f.interp, sizeof(f.interp), "%s", interp);
		f.ph[1] = (Elf64_Phdr){ .p_type = PT_INTERP,
					.p_offset = offsetof(typeof(f), interp),
					.p_filesz = strlen(interp) + 1 };
	}
	write_file(path, &f, sizeof(f), 0755);
}

static char kernel_opt[512];

static const char *kernel(void)
{
	snprintf(kernel_opt, sizeof(kernel_opt), "--kernel=%s", NOPIN_EXEC_TEST_KERNEL);
	return kernel_opt;
}

/* A real static executable the check accepts: any guest image is one. */
static const char *static_program(void)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/hello.elf", NOPIN_GUEST_DIR);
	return path;
}

TEST(programs_it_cannot_run_are_refused_before_any_guest)
{
	struct scratch s;
	struct exec_result r;
	char line[512], p[160];

	scratch_make(&s);
	nopin_exec(&r, &s, kernel(), at(&s, "missing"), NULL);
	snprintf(line, sizeof(line), "nopin exec: %s: No such file or directory", s.path);
	EXPECT_REFUSED(&r, VMM_EXIT_NOT_FOUND, line);

	write_file(at(&s, "script"), "#!/bin/sh -e\necho hi\n", 21, 0755);
	nopin_exec(&r, &s, kernel(), s.path, NULL);
	snprintf(line, sizeof(line),
		 "nopin exec: %s is a script (#!/bin/sh -e ...): nopin exec runs static x86-64 "
		 "ELF executables",
		 s.path);
	EXPECT_REFUSED(&r, VMM_EXIT_CANNOT_EXEC, line);

	write_file(at(&s, "text"), "hello\n", 6, 0755);
	nopin_exec(&r, &s, kernel(), s.path, NULL);
	snprintf(line, sizeof(line),
		 "nopin exec: %s is not an ELF executable: nopin exec runs static x86-64 ELF "
		 "executables",
		 s.path);
	EXPECT_REFUSED(&r, VMM_EXIT_CANNOT_EXEC, line);

	write_file(at(&s, "empty"), "", 0, 0755);
	nopin_exec(&r, &s, kernel(), s.path, NULL);
	EXPECT_STATUS(&r, VMM_EXIT_CANNOT_EXEC);
	EXPECT_ERR(&r, "is not an ELF executable");

	make_elf(at(&s, "dynamic"), ELFCLASS64, EM_X86_64, ET_DYN, "/lib64/ld-linux-x86-64.so.2");
	nopin_exec(&r, &s, kernel(), s.path, NULL);
	snprintf(line, sizeof(line),
		 "nopin exec: static executables only: %s needs the interpreter "
		 "/lib64/ld-linux-x86-64.so.2",
		 s.path);
	EXPECT_REFUSED(&r, VMM_EXIT_CANNOT_EXEC, line);

	/* A dynamic ET_EXEC (non-PIE) too. */
	make_elf(at(&s, "dynexec"), ELFCLASS64, EM_X86_64, ET_EXEC, "/lib/ld-musl-x86_64.so.1");
	nopin_exec(&r, &s, kernel(), s.path, NULL);
	EXPECT_STATUS(&r, VMM_EXIT_CANNOT_EXEC);
	EXPECT_ERR(&r, "needs the interpreter /lib/ld-musl-x86_64.so.1");

	make_elf(at(&s, "elf32"), ELFCLASS32, EM_386, ET_EXEC, NULL);
	nopin_exec(&r, &s, kernel(), s.path, NULL);
	snprintf(line, sizeof(line),
		 "nopin exec: %s is a 32-bit ELF file: nopin exec runs static x86-64 ELF "
		 "executables",
		 s.path);
	EXPECT_REFUSED(&r, VMM_EXIT_CANNOT_EXEC, line);

	make_elf(at(&s, "arm64"), ELFCLASS64, EM_AARCH64, ET_EXEC, NULL);
	nopin_exec(&r, &s, kernel(), s.path, NULL);
	snprintf(line, sizeof(line),
		 "nopin exec: %s is an ELF file for aarch64 (e_machine 183): nopin exec runs "
		 "static x86-64 ELF executables",
		 s.path);
	EXPECT_REFUSED(&r, VMM_EXIT_CANNOT_EXEC, line);

	make_elf(at(&s, "object"), ELFCLASS64, EM_X86_64, ET_REL, NULL);
	nopin_exec(&r, &s, kernel(), s.path, NULL);
	EXPECT_STATUS(&r, VMM_EXIT_CANNOT_EXEC);
	EXPECT_ERR(&r, "is not an executable (ELF type 1: a relocatable object)");

	nopin_exec(&r, &s, kernel(), s.root, NULL);
	EXPECT_STATUS(&r, VMM_EXIT_CANNOT_EXEC);
	EXPECT_ERR(&r, "is not a regular file");

	/* Unreadable: root reads it anyway, so only as another user. */
	if (geteuid()) {
		make_elf(at(&s, "unreadable"), ELFCLASS64, EM_X86_64, ET_EXEC, NULL);
		chmod(s.path, 0111);
		snprintf(p, sizeof(p), "%s", s.path);
		nopin_exec(&r, &s, kernel(), p, NULL);
		snprintf(line, sizeof(line), "nopin exec: %s: Permission denied", p);
		EXPECT_REFUSED(&r, VMM_EXIT_NOT_FOUND, line);
	}
	scratch_remove(&s);
}

TEST(static_executables_are_accepted)
{
	struct scratch s;
	struct exec_result r;

	scratch_make(&s);
	make_elf(at(&s, "static"), ELFCLASS64, EM_X86_64, ET_EXEC, NULL);
	nopin_exec(&r, &s, kernel(), s.path, "exit", "7", NULL);
	EXPECT_STATUS(&r, 7);
	/* A static-pie: ET_DYN with no interpreter. */
	make_elf(at(&s, "static-pie"), ELFCLASS64, EM_X86_64, ET_DYN, NULL);
	nopin_exec(&r, &s, kernel(), s.path, "exit", "0", NULL);
	EXPECT_STATUS(&r, 0);
	nopin_exec(&r, &s, kernel(), static_program(), "exit", "255", NULL);
	EXPECT_STATUS(&r, 255);
	scratch_remove(&s);
}

TEST(bad_options)
{
	struct scratch s;
	struct exec_result r;

	scratch_make(&s);
	nopin_exec(&r, &s, kernel(), NULL);
	EXPECT_REFUSED(&r, VMM_EXIT_USAGE,
		       "nopin exec: no program given (try 'nopin exec --help')");
	nopin_exec(&r, &s, "--vcpus", "2", kernel(), static_program(), NULL);
	EXPECT_REFUSED(&r, VMM_EXIT_USAGE,
		       "nopin exec: the exec kernel runs on one vCPU: drop --vcpus");
	nopin_exec(&r, &s, "--root", at(&s, "nonexistent"), kernel(), static_program(), NULL);
	EXPECT_STATUS(&r, VMM_EXIT_USAGE);
	EXPECT_ERR(&r, "bad --root");
	nopin_exec(&r, &s, "--mem", "12Q", kernel(), static_program(), NULL);
	EXPECT_STATUS(&r, VMM_EXIT_USAGE);
	EXPECT_ERR(&r, "nopin exec: bad --mem '12Q'");
	nopin_exec(&r, &s, "--kernel", at(&s, "no-kernel.elf"), static_program(), NULL);
	EXPECT_STATUS(&r, VMM_EXIT_VMM_ERROR);
	EXPECT_ERR(&r, "no-kernel.elf");
	scratch_remove(&s);
}

/* Options after PROGRAM are its own, not nopin's. */
TEST(arguments_environment_and_program_reach_the_kernel)
{
	struct scratch s;
	struct exec_result r;
	char line[2048];
	struct stat st;

	scratch_make(&s);
	TEST_ASSERT(!stat(static_program(), &st), "stat");
	nopin_exec(&r, &s, kernel(), static_program(), "info", "--mem", "a b", "", NULL);
	EXPECT_STATUS(&r, 0);
	snprintf(line, sizeof(line),
		 "env NOPIN_EXEC_TEST=hello\n"
		 "arg 0 %s\narg 1 info\narg 2 --mem\narg 3 a b\narg 4 \n"
		 "program %s size %lu\nfstat size %lu\nprogram is ELF\n",
		 static_program(), static_program(), (unsigned long)st.st_size,
		 (unsigned long)st.st_size);
	TEST_ASSERT(!strcmp(r.out, line), "stdout:\n%s\nexpected:\n%s", r.out, line);
	/* The kernel's console is on stderr, not in the program's stdout. */
	EXPECT_ERR(&r, "exec test kernel: console line\n");
	scratch_remove(&s);
}

TEST(files_come_from_the_root_only)
{
	struct scratch s;
	struct exec_result r;
	static char big[20000], back[sizeof(big) + 1];

	scratch_make(&s);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = 'a' + i % 23;
	write_file(at(&s, "root/big"), big, sizeof(big), 0644);
	write_file(at(&s, "secret"), "secret\n", 7, 0644);
	TEST_ASSERT(!symlink("/secret", at(&s, "root/abs")), "symlink");
	/* A file the size of several pieces comes through whole. */
	nopin_exec(&r, &s, kernel(), static_program(), "cat", "big", NULL);
	EXPECT_STATUS(&r, 0);
	TEST_ASSERT(!memcmp(r.out, big, sizeof(big)) && strlen(r.out) == sizeof(big),
		    "the file came through whole: %zu bytes", strlen(r.out));
	/* The same with the root named, from another directory. */
	nopin_exec(&r, &s, "--root", s.root, kernel(), static_program(), "cat", "/big", NULL);
	EXPECT_STATUS(&r, 0);
	TEST_ASSERT(!memcmp(r.out, big, sizeof(big)), "through --root");
	/* The file beside the root is out of reach, by .. or by a symlink. */
	nopin_exec(&r, &s, kernel(), static_program(), "cat", "../secret", NULL);
	EXPECT_STATUS(&r, 1);
	EXPECT_OUT(&r, "open ../secret: -2\n");
	nopin_exec(&r, &s, kernel(), static_program(), "cat", "abs", NULL);
	EXPECT_OUT(&r, "open abs: -2\n");
	TEST_ASSERT(!strstr(r.out, "secret\n"), "nothing of the secret:\n%s", r.out);
	/* Read-only unless --rw. */
	nopin_exec(&r, &s, kernel(), static_program(), "write", "new", "hello", NULL);
	EXPECT_STATUS(&r, 1);
	EXPECT_OUT(&r, "open new: -30\n");
	TEST_ASSERT(access(at(&s, "root/new"), F_OK), "no file was made");
	nopin_exec(&r, &s, "--rw", kernel(), static_program(), "write", "new", "hello", NULL);
	EXPECT_STATUS(&r, 0);
	EXPECT_OUT(&r, "wrote 5\n");
	read_all(at(&s, "root/new"), back, sizeof(back));
	TEST_ASSERT(!strcmp(back, "hello"), "the file holds '%s'", back);
	scratch_remove(&s);
}

/* stdin and stdout are nopin's, pipes here: what goes in comes out, whole. */
TEST(stdin_and_stdout_are_nopins)
{
	static char big[30000]; /* several of the kernel's reads, less than r.out */
	struct scratch s;
	struct exec_result r;
	char in[160];

	scratch_make(&s);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = 'A' + i % 26;
	write_file(at(&s, "input"), big, sizeof(big), 0644);
	snprintf(in, sizeof(in), "%s", s.path);
	s.stdin_pipe = in;
	nopin_exec(&r, &s, kernel(), static_program(), "cat", "-", NULL);
	EXPECT_STATUS(&r, 0);
	TEST_ASSERT(strlen(r.out) == sizeof(big) && !memcmp(r.out, big, sizeof(big)),
		    "stdin came out on stdout: %zu bytes", strlen(r.out));
	scratch_remove(&s);
}

/*
 * A signal ends a run whose program waits on a stdin nobody writes to,
 * with the stop line and --stats, as it ends one in guest code.  The
 * kick that ends guest code cannot end the host read(2) behind the
 * program's: before the stop eventfd, only a second signal ended nopin,
 * by its default action, having printed nothing.
 */
TEST(a_signal_ends_a_read_of_an_idle_stdin)
{
	static char buf[65536];
	int in[2], out[2], status;
	size_t len = 0;
	pid_t pid;

	buf[0] = '\0';
	TEST_ASSERT(!pipe(in) && !pipe(out), "pipe");
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork");
	if (!pid) {
		dup2(in[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		dup2(out[1], STDERR_FILENO);
		close(in[0]), close(in[1]), close(out[0]), close(out[1]);
		alarm(60); /* a hang is a failure, by SIGALRM */
		execl(NOPIN_CLI, NOPIN_CLI, "exec", "--backend", "soft", "--stats", kernel(),
		      static_program(), "cat", "-", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	/* The program is in its read loop once the first line came back. */
	TEST_ASSERT(write(in[1], "ready\n", 6) == 6, "write");
	TEST_ASSERT(nopin_read_until(out[0], buf, sizeof(buf), &len, "ready\n"), "cat ran:\n%s",
		    buf);
	kill(pid, SIGTERM);
	nopin_read_until(out[0], buf, sizeof(buf), &len, "\1never printed\1");
	TEST_ASSERT(waitpid(pid, &status, 0) == pid, "waitpid");
	TEST_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGTERM,
		    "status %#x (killed by signal %d), not exit %d:\n%s", status,
		    WIFSIGNALED(status) ? WTERMSIG(status) : 0, 128 + SIGTERM, buf);
	TEST_ASSERT(strstr(buf, "nopin exec: stopped by SIGTERM"), "the stop line:\n%s", buf);
	TEST_ASSERT(strstr(buf, "\nsecondary_faults "), "--stats:\n%s", buf);
	close(in[1]);
	close(out[0]);
}

TEST(a_fatal_signal_is_reported_with_the_instruction)
{
	struct scratch s;
	struct exec_result r;
	char line[2048];

	scratch_make(&s);
	nopin_exec(&r, &s, kernel(), static_program(), "fault", "identity", NULL);
	EXPECT_STATUS(&r, 139);
	snprintf(line, sizeof(line), "nopin exec: %s: SIGSEGV (signal 11) at address 0x10, rip 0x",
		 static_program());
	EXPECT_ERR(&r, line);
	EXPECT_ERR(&r, ": mov qword ptr [rdi], 1\n");
	/* Through the process's own tables, at the address they map the code at. */
	nopin_exec(&r, &s, kernel(), static_program(), "fault", "mapped", NULL);
	EXPECT_STATUS(&r, 139);
	EXPECT_ERR(&r, line);
	EXPECT_ERR(&r, ", rip 0x7f0000000");
	EXPECT_ERR(&r, ": mov qword ptr [rdi], 1\n");
	nopin_exec(&r, &s, kernel(), static_program(), "fault", "unmapped", NULL);
	EXPECT_STATUS(&r, 139);
	EXPECT_ERR(&r, ": (its bytes cannot be read: PML4E not present)\n");
	scratch_remove(&s);
}

TEST(stats_name_the_system_calls)
{
	struct scratch s;
	struct exec_result r;

	scratch_make(&s);
	nopin_exec(&r, &s, "--stats", kernel(), static_program(), "syscalls", NULL);
	EXPECT_STATUS(&r, 0);
	EXPECT_ERR(&r, "\nsyscall_read                                  3\n");
	EXPECT_ERR(&r, "\nsyscall_openat                               12\n");
	EXPECT_ERR(&r, "\nsyscall_clone                                 1\n");
	EXPECT_ERR(&r, "\nsyscall_enosys_clone                          1\n");
	TEST_ASSERT(!strstr(r.err, "syscall_write"), "only the calls made:\n%s", r.err);
	nopin_exec(&r, &s, "--stats=json", kernel(), static_program(), "syscalls", NULL);
	EXPECT_STATUS(&r, 0);
	EXPECT_ERR(&r, ", \"syscall_read\": 3, \"syscall_clone\": 1, \"syscall_openat\": 12");
	EXPECT_ERR(&r, ", \"syscall_enosys_clone\": 1}\n");
	scratch_remove(&s);
}
