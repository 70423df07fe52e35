// SPDX-License-Identifier: GPL-2.0
/*
 * exec_kernel_raw: a static program with no libc, raw system calls only,
 * the exec guest kernel's first target.  Run natively and under `nopin
 * exec` with the same arguments, it must print the same bytes and exit
 * the same way (tests/exec-kernel/run.sh compares them).
 *
 *   exec_kernel_raw [FILE]      every check below, one line each; FILE is read and summed
 *   exec_kernel_raw segv|ud2|div0|exit N   die of that signal, or exit N
 *   exec_kernel_raw sigbus FILE   the checks, then a touch past FILE's end in its mapping
 *
 * Checks: argv, envp and the auxiliary vector (AT_PAGESZ, AT_RANDOM,
 * AT_PHDR's magic, AT_EXECFN, 16-byte alignment at entry); brk up and
 * down; anonymous mmap, its pages zero and demand-paged, munmap; mremap
 * growing and moving; madvise(MADV_DONTNEED) reading back zero;
 * mprotect; a deep stack; open, read, fstat, lseek, close; pipe2, poll, dup2,
 * fcntl; getcwd; uname; clock_gettime; getrandom.
 */
#define SYS_read 0
#define SYS_write 1
#define SYS_close 3
#define SYS_poll 7
#define SYS_fstat 5
#define SYS_lseek 8
#define SYS_mmap 9
#define SYS_mprotect 10
#define SYS_munmap 11
#define SYS_brk 12
#define SYS_mremap 25
#define SYS_madvise 28
#define SYS_dup2 33
#define SYS_uname 63
#define SYS_fcntl 72
#define SYS_getcwd 79
#define SYS_clock_gettime 228
#define SYS_exit_group 231
#define SYS_openat 257
#define SYS_pipe2 293
#define SYS_getrandom 318

typedef unsigned long u64;

__asm__(".text\n.globl _start\n_start:\n"
	"	mov %rsp, %rdi\n"
	"	test $15, %rsp\n"
	"	setnz %sil\n"
	"	and $-16, %rsp\n"
	"	call start_c\n"
	"	hlt\n");

static long sys6(long nr, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d, r8 __asm__("r8") = e, r9 __asm__("r9") = f;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

#define sys(nr, a, b, c) sys6(nr, (long)(a), (long)(b), (long)(c), 0, 0, 0)

static u64 slen(const char *s)
{
	u64 n = 0;

	while (s[n])
		n++;
	return n;
}

static void out(const char *s)
{
	sys(SYS_write, 1, s, slen(s));
}

static void out_num(long v)
{
	char buf[24];
	int n = 0;
	u64 u = v < 0 ? -(u64)v : (u64)v;

	do {
		buf[sizeof(buf) - 1 - n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		buf[sizeof(buf) - 1 - n++] = '-';
	sys(SYS_write, 1, buf + sizeof(buf) - n, n);
}

static void line(const char *what, long v)
{
	out(what);
	out(" ");
	out_num(v);
	out("\n");
}

static void check(const char *what, int ok)
{
	out(what);
	out(ok ? ": ok\n" : ": FAILED\n");
	if (!ok)
		sys(SYS_exit_group, 1, 0, 0);
}

static int prefix(const char *s, const char *p)
{
	while (*p)
		if (*s++ != *p++)
			return 0;
	return 1;
}

static void die_of(const char *how)
{
	volatile long zero = 0;

	if (prefix(how, "segv"))
		*(volatile long *)8 = 1;
	if (prefix(how, "ud2"))
		__asm__ volatile("ud2");
	if (prefix(how, "div0"))
		__asm__ volatile("xor %%edx, %%edx\n\tdivq %1" : : "a"(1L), "r"(zero) : "rdx");
	if (prefix(how, "segv") || prefix(how, "ud2") || prefix(how, "div0")) {
		out("no fault\n");
		sys(SYS_exit_group, 2, 0, 0);
	}
}

static void check_auxv(u64 *auxv, const char *argv0)
{
	u64 pagesz = 0, random = 0, phdr = 0, execfn = 0;

	for (; auxv[0]; auxv += 2) {
		if (auxv[0] == 6)
			pagesz = auxv[1];
		if (auxv[0] == 25)
			random = auxv[1];
		if (auxv[0] == 3)
			phdr = auxv[1];
		if (auxv[0] == 31)
			execfn = auxv[1];
	}
	line("AT_PAGESZ", (long)pagesz);
	check("AT_RANDOM given", random != 0);
	/* The first program header of a static executable: PT_LOAD or PT_PHDR. */
	check("AT_PHDR points at program headers",
	      phdr && (*(unsigned int *)phdr == 1 || *(unsigned int *)phdr == 6));
	check("AT_EXECFN given", execfn != 0);
	(void)argv0;
}

static void check_brk(void)
{
	char *base = (char *)sys(SYS_brk, 0, 0, 0), *top;

	top = (char *)sys(SYS_brk, base + 3 * 4096 + 100, 0, 0);
	check("brk grows", top == base + 3 * 4096 + 100);
	check("brk pages read zero", base[0] == 0 && base[2 * 4096 + 8] == 0);
	base[3 * 4096 + 99] = 7;
	top = (char *)sys(SYS_brk, base + 4096, 0, 0);
	check("brk shrinks", top == base + 4096);
	top = (char *)sys(SYS_brk, base + 3 * 4096 + 100, 0, 0);
	check("brk regrown reads zero", base[3 * 4096 + 99] == 0);
	sys(SYS_brk, base, 0, 0);
}

static void check_mmap(void)
{
	u64 len = 64 * 4096, sum = 0;
	long *p = (long *)sys6(SYS_mmap, 0, (long)len, 3, 0x22, -1, 0), *q;

	check("mmap anonymous", (long)p > 0 && !((u64)p & 4095));
	for (u64 i = 0; i < len / 8; i += 512)
		sum += (u64)p[i];
	check("fresh pages read zero", sum == 0);
	for (u64 i = 0; i < len / 8; i++)
		p[i] = (long)i;
	sum = 0;
	for (u64 i = 0; i < len / 8; i++)
		sum += (u64)p[i];
	line("sum of written words", (long)sum);
	check("madvise DONTNEED", sys(SYS_madvise, p, 4096 * 4, 4) == 0);
	check("dropped pages read zero", p[0] == 0 && p[3 * 512 + 5] == 0 && p[4 * 512] == 4 * 512);
	q = (long *)sys6(SYS_mremap, (long)p, (long)len, (long)(len * 16), 1, 0, 0);
	check("mremap grows", (long)q > 0);
	check("mremap keeps the data",
	      q[4 * 512] == 4 * 512 && q[len / 8 - 1] == (long)(len / 8 - 1));
	q[len * 16 / 8 - 1] = 5;
	check("mprotect read-only", sys(SYS_mprotect, q, 4096, 1) == 0 && q[1] == 0);
	check("mprotect back", sys(SYS_mprotect, q, 4096, 3) == 0);
	q[1] = 9;
	check("munmap", sys(SYS_munmap, q, len * 16, 0) == 0);
	check("munmap of nothing", sys(SYS_munmap, q, len * 16, 0) == 0);
	/* A neighbour right above: growing must move the pages. */
	p = (long *)sys6(SYS_mmap, 0, (long)(2 * len), 3, 0x22, -1, 0);
	check("mmap two regions' worth",
	      (long)p > 0 && sys(SYS_munmap, (char *)p + len, len, 0) == 0);
	q = (long *)sys6(SYS_mmap, (long)((char *)p + len), (long)len, 3, 0x100022, -1, 0);
	check("MAP_FIXED_NOREPLACE right above", q == (long *)((char *)p + len));
	for (u64 i = 0; i < len / 8; i += 512)
		p[i] = (long)i + 1;
	q = (long *)sys6(SYS_mremap, (long)p, (long)len, (long)(len * 4), 1, 0, 0);
	check("mremap moves", (long)q > 0 && q != p);
	sum = 0;
	for (u64 i = 0; i < len / 8; i += 512)
		sum += (u64)q[i] - i - 1;
	check("the moved pages kept their data", sum == 0 && q[len / 8] == 0);
	sys(SYS_munmap, q, len * 4, 0);
	sys(SYS_munmap, (char *)p + len, len, 0);
	check("mmap of a bad length", sys6(SYS_mmap, 0, 0, 3, 0x22, -1, 0) == -22);
}

static long deep(long n)
{
	volatile char pad[1024];

	pad[0] = (char)n;
	pad[1023] = (char)n;
	return n ? deep(n - 1) + pad[0] - pad[1023] + 1 : 0;
}

/* A private file mapping reads as the file, and writing it changes only the copy. */
static void check_file_mmap(long fd, u64 size, int sigbus)
{
	char buf[4096];
	u64 len = size < sizeof(buf) ? size : sizeof(buf), same = 1;
	char *p = (char *)sys6(SYS_mmap, 0, (long)(size + 4096), 3, 0x02, fd, 0);

	check("mmap of the file", (long)p > 0);
	check("pread of its start", sys6(17, fd, (long)buf, (long)len, 0, 0, 0) == (long)len);
	for (u64 i = 0; i < len; i++)
		same &= p[i] == buf[i];
	check("the mapping reads as the file", same);
	check("past the end of the file: zero", p[size] == 0 && p[(size | 4095)] == 0);
	p[0] ^= 1;
	check("a write to the mapping stays private",
	      sys6(17, fd, (long)buf, 1, 0, 0, 0) == 1 && buf[0] == (p[0] ^ 1));
	if (sigbus) /* the page after the file's last is SIGBUS */
		p[(size | 4095) + 1] = 1;
	check("munmap of the file", sys(SYS_munmap, p, size + 4096, 0) == 0);
}

static void check_file(const char *path, int sigbus)
{
	char buf[4096];
	u64 st[18], sum = 0, total = 0;
	long fd = sys6(SYS_openat, -100, (long)path, 0, 0, 0, 0), n;

	check("open", fd >= 3);
	check("fstat", sys(SYS_fstat, fd, st, 0) == 0);
	line("st_size", (long)st[6]);
	while ((n = sys(SYS_read, fd, buf, sizeof(buf))) > 0) {
		for (long i = 0; i < n; i++)
			sum = sum * 31 + (unsigned char)buf[i];
		total += (u64)n;
	}
	line("bytes read", (long)total);
	line("hash", (long)(sum & 0xffffffff));
	check_file_mmap(fd, total, sigbus);
	check("lseek to 1", sys(SYS_lseek, fd, 1, 0) == 1);
	check("read after lseek", sys(SYS_read, fd, buf, 1) == (total > 1));
	check("close", sys(SYS_close, fd, 0, 0) == 0);
	check("close again: EBADF", sys(SYS_close, fd, 0, 0) == -9);
	check("open of a missing file: ENOENT",
	      sys6(SYS_openat, -100, (long)"no/such/file", 0, 0, 0, 0) == -2);
}

/* poll(2) of @fd for input, no waiting: 1 if readable. */
static long poll_in(int fd)
{
	struct {
		int fd;
		short events, revents;
	} pfd = { fd, 1, 0 };
	long n = sys(SYS_poll, &pfd, 1, 0);

	return n == 1 && pfd.revents == 1 ? 1 : n;
}

static void check_fds(void)
{
	int fds[2];
	char buf[8];

	check("pipe2", sys(SYS_pipe2, fds, 0, 0) == 0);
	check("write to the pipe", sys(SYS_write, fds[1], "pipe", 4) == 4);
	check("poll of the pipe: readable", poll_in(fds[0]) == 1);
	check("read it back", sys(SYS_read, fds[0], buf, 8) == 4 && buf[0] == 'p' && buf[3] == 'e');
	check("poll of the empty pipe: nothing", poll_in(fds[0]) == 0);
	check("dup2", sys(SYS_dup2, fds[1], 10, 0) == 10);
	check("F_GETFD", sys(SYS_fcntl, 10, 1, 0) == 0);
	check("F_DUPFD_CLOEXEC",
	      sys(SYS_fcntl, 10, 1030, 20) == 20 && sys(SYS_fcntl, 20, 1, 0) == 1);
	sys(SYS_close, 10, 0, 0);
	sys(SYS_close, 20, 0, 0);
	sys(SYS_close, fds[0], 0, 0);
	sys(SYS_close, fds[1], 0, 0);
	check("a bad pointer is EFAULT", sys(SYS_write, 1, 16, 1) == -14);
}

static void check_misc(void)
{
	char uts[6][65], cwd[256];
	long ts[2], r[4];

	check("uname", sys(SYS_uname, uts, 0, 0) == 0 && prefix(uts[0], "Linux") &&
			       prefix(uts[4], "x86_64"));
	check("getcwd", sys(SYS_getcwd, cwd, sizeof(cwd), 0) > 0 && cwd[0] == '/');
	check("clock_gettime", sys(SYS_clock_gettime, 1, ts, 0) == 0 && ts[1] < 1000000000);
	check("getrandom", sys(SYS_getrandom, r, sizeof(r), 0) == sizeof(r));
}

void start_c(u64 *sp, int misaligned);

void start_c(u64 *sp, int misaligned)
{
	long argc = (long)sp[0];
	char **argv = (char **)(sp + 1), **envp = argv + argc + 1;
	u64 *auxv;

	for (auxv = (u64 *)envp; *auxv; auxv++)
		;
	auxv++;
	if (argc > 1 && prefix(argv[1], "exit"))
		sys(SYS_exit_group, argc > 2 ? argv[2][0] - '0' : 0, 0, 0);
	if (argc > 1)
		die_of(argv[1]);
	line("argc", argc);
	check("rsp 16-byte aligned at entry", !misaligned);
	check_auxv(auxv, argv[0]);
	check_brk();
	check_mmap();
	line("deep stack", deep(2000));
	if (argc > 1)
		check_file(argv[argc - 1], argc > 2 && prefix(argv[1], "sigbus"));
	check_fds();
	check_misc();
	out("raw: ok\n");
	sys(SYS_exit_group, 0, 0, 0);
}
