// SPDX-License-Identifier: GPL-2.0
/*
 * A stand-in for the exec guest kernel, for the VMM's own tests of `nopin
 * exec` (tests/unit/vmm/exec_cli.c): it runs no program, but makes the
 * host calls the real kernel makes, chosen by the program's arguments,
 * and writes what it got to the program's stdout (HOSTFS handle 1), so
 * the test sees the VMM's side alone:
 *
 *	info			each argument, the program's path and size,
 *				NOPIN_EXEC_TEST from the environment
 *	cat PATH		open PATH under the root, copy it to stdout;
 *				PATH "-": stdin (handle 0)
 *	write PATH TEXT		create PATH and write TEXT: needs --rw
 *	fault identity|mapped|unmapped	report a SIGSEGV (exit 139) at an
 *				instruction read through the identity map, the
 *				kernel's own tables, or tables that map nothing
 *	syscalls		hand over counts for --stats: read 3, openat 12,
 *				clone 1 answered -ENOSYS
 *	exit N			exit N
 *
 * It also prints a line to its console, which must reach stderr, never
 * the program's stdout.
 */
#include "guest.h"

#define O_WRONLY 01
#define O_CREAT 0100
#define O_TRUNC 01000

static char info_buf[8192];
static struct exec_syscall_count counts[EXEC_NR_SYSCALLS];
static struct hostfs_req req; /* static: a request in guest RAM, as the ABI wants */

static long hostfs(unsigned long op, long fd, const void *buf, unsigned long len, unsigned long off,
		   unsigned long flags)
{
	req = (struct hostfs_req){ .op = op,
				   .fd = fd,
				   .gpa = (unsigned long)buf,
				   .len = len,
				   .off = off,
				   .flags = flags,
				   .mode = 0644 };
	long ret = (long)hypercall(HC_HOSTFS, (unsigned long)&req, 0);

	/* The ABI answers twice: rax and the request's ret. */
	if (ret != req.ret)
		guest_exit(99);
	return ret;
}

static void out(const char *s)
{
	hostfs(HOSTFS_WRITE, HOSTFS_FD_STDOUT, s, strlen(s), HOSTFS_POS, 0);
}

static void outf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void outf(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	out(line);
}

static bool streq(const char *a, const char *b)
{
	size_t n = strlen(a);

	return n == strlen(b) && !memcmp(a, b, n);
}

static long cat(const char *path)
{
	static char buf[6000]; /* more than a page: the VMM's copy goes in pieces */
	bool in = streq(path, "-");
	long fd = in ? HOSTFS_FD_STDIN : hostfs(HOSTFS_OPEN, -1, path, strlen(path), 0, 0), n;

	if (fd < 0) {
		outf("open %s: %ld\n", path, fd);
		return 1;
	}
	while ((n = hostfs(HOSTFS_READ, fd, buf, sizeof(buf), HOSTFS_POS, 0)) > 0)
		hostfs(HOSTFS_WRITE, HOSTFS_FD_STDOUT, buf, n, HOSTFS_POS, 0);
	if (!in)
		hostfs(HOSTFS_CLOSE, fd, 0, 0, 0, 0);
	return n < 0 ? 2 : 0;
}

static long write_file(const char *path, const char *text)
{
	long fd = hostfs(HOSTFS_OPEN, -1, path, strlen(path), 0, O_WRONLY | O_CREAT | O_TRUNC), n;

	if (fd < 0) {
		outf("open %s: %ld\n", path, fd);
		return 1;
	}
	n = hostfs(HOSTFS_WRITE, fd, text, strlen(text), HOSTFS_POS, 0);
	outf("wrote %ld\n", n);
	hostfs(HOSTFS_CLOSE, fd, 0, 0, 0, 0);
	return 0;
}

/* The instruction the fault reports: a known one, in a function of its own. */
__attribute__((noinline, used)) void faulting_store(volatile unsigned long *p)
{
	*p = 1;
}

static int fault(const char *how)
{
	struct exec_fault f = { .signo = 11, .addr = 0x10, .error_code = 6 };
	unsigned long code = (unsigned long)faulting_store, va = 0x7f0000000000UL;

	f.rip = code;
	f.cr3 = GUEST_CR3_IDENTITY;
	if (!streq(how, "identity")) {
		f.cr3 = pgtable_new();
		/* The page of the code at a user address, as a process's text would be. */
		if (streq(how, "mapped"))
			map_page(f.cr3, va, code & ~0xfffUL, 4096, PTE_U);
		f.rip = va + (code & 0xfff);
	}
	hypercall(HC_EXEC_FAULT, (unsigned long)&f, 0);
	return 128 + 11;
}

static int syscalls(void)
{
	counts[0].calls = 3;
	counts[257].calls = 12;
	counts[56].calls = 1;
	counts[56].enosys = 1;
	return hypercall(HC_EXEC_SYSCALLS, (unsigned long)counts, 0) ? 1 : 0;
}

int guest_main(unsigned int cpu, unsigned int ncpus, unsigned long ram_size)
{
	struct exec_info *info = (struct exec_info *)info_buf;
	const char *argv[16], *program, *s, *env = "(none)";
	unsigned long size, argc;
	char elf[4];

	printf("exec test kernel: console line\n");
	/* Too small: the size needed, nothing written. */
	size = hypercall(HC_EXEC_INFO, (unsigned long)info_buf, sizeof(*info));
	if ((long)size < 0 || size <= sizeof(*info) || size > sizeof(info_buf) || info->argc)
		return 98;
	if (hypercall(HC_EXEC_INFO, (unsigned long)info_buf, sizeof(info_buf)) != size)
		return 97;
	s = info->strings;
	argc = info->argc < 16 ? info->argc : 16;
	for (unsigned long i = 0; i < info->argc; i++, s += strlen(s) + 1)
		if (i < 16)
			argv[i] = s;
	for (unsigned long i = 0; i < info->envc; i++, s += strlen(s) + 1)
		if (!memcmp(s, "NOPIN_EXEC_TEST=", 16))
			env = s;
	program = s;
	if (s + strlen(s) + 1 != info->strings + info->strings_len)
		return 96;
	if (argc < 2 || streq(argv[1], "info")) {
		struct {
			unsigned long dev, ino, nlink, mode_uid, gid_pad, rdev, size;
			char rest[144 - 56];
		} st;

		outf("env %s\n", env);
		for (unsigned long i = 0; i < argc; i++)
			outf("arg %lu %s\n", i, argv[i]);
		outf("program %s size %lu\n", program, info->program_size);
		if (hostfs(HOSTFS_FSTAT, HOSTFS_FD_PROGRAM, &st, sizeof(st), 0, 0) == 0)
			outf("fstat size %lu\n", st.size);
		if (hostfs(HOSTFS_READ, HOSTFS_FD_PROGRAM, elf, 4, 0, 0) == 4 &&
		    !memcmp(elf, "\177ELF", 4))
			out("program is ELF\n");
		return 0;
	}
	if (streq(argv[1], "cat") && argc == 3)
		return cat(argv[2]);
	if (streq(argv[1], "write") && argc == 4)
		return write_file(argv[2], argv[3]);
	if (streq(argv[1], "fault") && argc == 3)
		return fault(argv[2]);
	if (streq(argv[1], "syscalls"))
		return syscalls();
	if (streq(argv[1], "exit") && argc == 3) {
		int n = 0;

		for (s = argv[2]; *s; s++)
			n = n * 10 + (*s - '0');
		return n;
	}
	out("usage\n");
	return 95;
}
