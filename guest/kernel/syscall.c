// SPDX-License-Identifier: GPL-2.0
/*
 * System calls (after arch/x86/entry/common.c and kernel/sys.c): the MSRs
 * that make `syscall` land in entry.S, the dispatch by Linux's x86-64
 * numbers, the calls too small for a file of their own (identity, time,
 * limits, signals, uname, getrandom), the per-number counts that --stats
 * prints (HC_EXEC_SYSCALLS) and the process's end.
 *
 * Signals are never delivered: rt_sigaction and rt_sigprocmask keep what
 * the program sets and give it back, which is all a program that raises
 * none sees.  fork, vfork, clone, execve and wait4 are -ENOSYS, as is
 * every call not here.
 */
#include "kernel.h"
#include "unistd.h"
#include "base/prandom.h"

#define FMASK_BITS 0x47700UL /* TF, IF, DF, IOPL, NT, AC: as Linux's syscall_init() */

#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003
#define ARCH_GET_GS 0x1004
#define RLIMIT_STACK 3
#define RLIMIT_NOFILE 7
#define RLIM_NLIMITS 16
#define RLIM_INFINITY (~0UL)
#define NSIG 64
#define SIGKILL 9
#define SIGSTOP 19
#define SIG_BLOCK 0
#define SIG_UNBLOCK 1
#define SIG_SETMASK 2
#define SS_DISABLE 2
#define SIG_DFL 0UL
#define SIG_IGN 1UL
#define TIMER_ABSTIME 1
#define PR_SET_NAME 15
#define PR_GET_NAME 16
#define CLOCK_MONOTONIC 1
#define F_GETFD 1
/* Not 1: a program may act as init there (reap, ignore signals). Its parent "is" init. */
#define PID 2
#define PPID 1
#define NSEC_PER_SEC 1000000000UL

extern const char entry_SYSCALL_64[];

/* The process's state beyond its memory and files: one process. */
static struct exec_syscall_count syscall_counts[EXEC_NR_SYSCALLS];
static unsigned long sigactions[NSIG][4]; /* handler, flags, restorer, mask */
static unsigned long sigmask;
static unsigned long altstack[3]; /* ss_sp, ss_flags, ss_size */
static unsigned long rlimits[RLIM_NLIMITS][2];
static unsigned long umask_bits = 022;
static unsigned long start_ns;
static uint64_t random_state;

void syscall_init(void)
{
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
	wrmsr(MSR_STAR, GUEST_STAR);
	wrmsr(MSR_LSTAR, (unsigned long)entry_SYSCALL_64);
	wrmsr(MSR_FMASK, FMASK_BITS);
	wrmsr(MSR_FS_BASE, 0);
	wrmsr(MSR_GS_BASE, 0);
	wrmsr(MSR_KERNEL_GS_BASE, 0);
	for (unsigned int i = 0; i < RLIM_NLIMITS; i++)
		rlimits[i][0] = rlimits[i][1] = RLIM_INFINITY;
	rlimits[RLIMIT_STACK][0] = STACK_MAX;
	rlimits[RLIMIT_NOFILE][0] = rlimits[RLIMIT_NOFILE][1] = 256;
	start_ns = hypercall(HC_CLOCK_NS, HC_CLOCK_MONOTONIC, 0);
	random_state = hypercall(HC_CLOCK_NS, HC_CLOCK_REALTIME, 0) ^ start_ns << 17 ^ 1;
}

/* ---- small library routines ---- */

int strcmp(const char *a, const char *b)
{
	for (; *a && *a == *b; a++, b++)
		;
	return (unsigned char)*a - (unsigned char)*b;
}

/* Not for secrets: AT_RANDOM and getrandom() seed hash tables and the like. */
unsigned long random_u64(void)
{
	return prandom_u64(&random_state);
}

/* ---- the end ---- */

void do_exit(int status)
{
	flush_freed_frames();
	hypercall(HC_EXEC_SYSCALLS, virt_to_phys(syscall_counts), 0);
	guest_exit(status & 0xff);
}

/* ---- time ---- */

static bool clock_is_realtime(long clk)
{
	return clk == 0 || clk == 5 || clk == 8 || clk == 11; /* REALTIME(_COARSE, _ALARM), TAI */
}

static unsigned long clock_now(long clk)
{
	unsigned long ns = hypercall(
		HC_CLOCK_NS, clock_is_realtime(clk) ? HC_CLOCK_REALTIME : HC_CLOCK_MONOTONIC, 0);

	/* The CPU-time clocks: the process has run since the kernel started it. */
	if (clk == 2 || clk == 3 || clk < 0)
		ns -= start_ns;
	return ns;
}

static long put_timespec(unsigned long uts, unsigned long ns)
{
	unsigned long ts[2] = { ns / NSEC_PER_SEC, ns % NSEC_PER_SEC };

	return copy_to_user(uts, ts, sizeof(ts));
}

static long sys_clock_gettime(long clk, unsigned long uts)
{
	if (clk > 11)
		return -EINVAL;
	return put_timespec(uts, clock_now(clk));
}

static long sys_clock_getres(long clk, unsigned long uts)
{
	if (clk > 11)
		return -EINVAL;
	return uts ? put_timespec(uts, 1) : 0;
}

static long sys_gettimeofday(unsigned long utv, unsigned long utz)
{
	unsigned long ns = clock_now(0), tv[2] = { ns / NSEC_PER_SEC, ns % NSEC_PER_SEC / 1000 };
	unsigned int tz[2] = { 0, 0 };

	if (utv && copy_to_user(utv, tv, sizeof(tv)))
		return -EFAULT;
	if (utz && copy_to_user(utz, tz, sizeof(tz)))
		return -EFAULT;
	return 0;
}

static long sys_time(unsigned long utloc)
{
	long t = (long)(clock_now(0) / NSEC_PER_SEC);

	if (utloc && copy_to_user(utloc, &t, sizeof(t)))
		return -EFAULT;
	return t;
}

/* Sleep by watching the clock: hlt would stop the vCPU for good (the guest ABI). */
static long sleep_until(long clk, unsigned long deadline)
{
	while (clock_now(clk) < deadline)
		cpu_relax();
	return 0;
}

static long sys_clock_nanosleep(long clk, long flags, unsigned long ureq, unsigned long urem)
{
	unsigned long ts[2];

	if (copy_from_user(ts, ureq, sizeof(ts)))
		return -EFAULT;
	if (ts[1] >= NSEC_PER_SEC || (long)ts[0] < 0)
		return -EINVAL;
	if (urem && !(flags & TIMER_ABSTIME) && clear_user(urem, 16))
		return -EFAULT;
	if (flags & TIMER_ABSTIME)
		return sleep_until(clk, ts[0] * NSEC_PER_SEC + ts[1]);
	return sleep_until(clk, clock_now(clk) + ts[0] * NSEC_PER_SEC + ts[1]);
}

/* ---- identity, limits, uname ---- */

static long sys_prlimit64(long pid, unsigned long res, unsigned long unew, unsigned long uold)
{
	unsigned long lim[2];

	if (pid && pid != PID)
		return -ESRCH;
	if (res >= RLIM_NLIMITS)
		return -EINVAL;
	if (uold && copy_to_user(uold, rlimits[res], sizeof(lim)))
		return -EFAULT;
	if (unew) {
		if (copy_from_user(lim, unew, sizeof(lim)))
			return -EFAULT;
		if (lim[0] > lim[1])
			return -EINVAL;
		rlimits[res][0] = lim[0];
		rlimits[res][1] = lim[1];
	}
	return 0;
}

static long sys_uname(unsigned long ubuf)
{
	static const char *const fields[6] = { "Linux",	   "nopin",  "6.1.0",
					       "#1 nopin", "x86_64", "(none)" };
	static char uts[6][65];

	fill_bytes(uts, 0, sizeof(uts));
	for (unsigned int i = 0; i < 6; i++)
		copy_bytes(uts[i], fields[i], strlen(fields[i]));
	return copy_to_user(ubuf, uts, sizeof(uts));
}

/*
 * prctl(2): the name (PR_SET_NAME, PR_GET_NAME: busybox reads it at
 * start), at first the program file's last component, as the kernel's
 * comm; any other option is -EINVAL.
 */
static long sys_prctl(long option, unsigned long arg)
{
	static char comm[16];

	if (!comm[0]) {
		const char *path = exec_program_path(), *base = path;

		for (const char *p = path; *p; p++)
			if (*p == '/' && p[1])
				base = p + 1;
		copy_bytes(comm, base, MIN(strlen(base), sizeof(comm) - 1));
	}
	if (option == PR_GET_NAME)
		return copy_to_user(arg, comm, sizeof(comm));
	if (option == PR_SET_NAME) {
		long n = strncpy_from_user(comm, arg, sizeof(comm));

		if (n == -ENAMETOOLONG)
			comm[sizeof(comm) - 1] = '\0';
		return n == -EFAULT ? -EFAULT : 0;
	}
	return -EINVAL;
}

/* sysinfo(2): RAM as the kernel sees it (what sort sizes its buffer by), one process. */
static long sys_sysinfo(unsigned long uinfo)
{
	struct {
		long uptime;
		unsigned long loads[3], totalram, freeram, sharedram, bufferram, totalswap,
			freeswap;
		unsigned short procs, pad;
		unsigned int pad2;
		unsigned long totalhigh, freehigh;
		unsigned int mem_unit;
		char reserved[4];
	} info;

	fill_bytes(&info, 0, sizeof(info));
	info.uptime = (long)(clock_now(CLOCK_MONOTONIC) / NSEC_PER_SEC);
	info.totalram = frames_total() * PAGE_SIZE;
	info.freeram = frames_free() * PAGE_SIZE;
	info.procs = 1;
	info.mem_unit = 1;
	return copy_to_user(uinfo, &info, sizeof(info));
}

static long sys_getrandom(unsigned long ubuf, unsigned long len, unsigned long flags)
{
	unsigned long done = 0;

	while (done < len) {
		unsigned long v = random_u64(), n = MIN(len - done, sizeof(v));

		if (copy_to_user(ubuf + done, &v, n))
			return done ? (long)done : -EFAULT;
		done += n;
	}
	return (long)done;
}

static long sys_arch_prctl(long code, unsigned long addr)
{
	switch (code) {
	case ARCH_SET_FS:
	case ARCH_SET_GS:
		if (addr >= USER_TOP)
			return -EPERM;
		wrmsr(code == ARCH_SET_FS ? MSR_FS_BASE : MSR_GS_BASE, addr);
		return 0;
	case ARCH_GET_FS:
	case ARCH_GET_GS: {
		unsigned long v = rdmsr(code == ARCH_GET_FS ? MSR_FS_BASE : MSR_GS_BASE);

		return copy_to_user(addr, &v, sizeof(v));
	}
	}
	return -EINVAL;
}

/* ---- signals: kept, never delivered ---- */

static long sys_rt_sigaction(long sig, unsigned long uact, unsigned long uold, unsigned long size)
{
	unsigned long act[4];

	if (sig < 1 || sig > NSIG || size != 8)
		return -EINVAL;
	if (uact && (sig == SIGKILL || sig == SIGSTOP))
		return -EINVAL;
	if (uact && copy_from_user(act, uact, sizeof(act)))
		return -EFAULT;
	if (uold && copy_to_user(uold, sigactions[sig - 1], sizeof(act)))
		return -EFAULT;
	if (uact)
		copy_bytes(sigactions[sig - 1], act, sizeof(act));
	return 0;
}

static long sys_rt_sigprocmask(long how, unsigned long uset, unsigned long uold, unsigned long size)
{
	unsigned long set;

	if (size != 8)
		return -EINVAL;
	if (uold && copy_to_user(uold, &sigmask, sizeof(sigmask)))
		return -EFAULT;
	if (!uset)
		return 0;
	if (copy_from_user(&set, uset, sizeof(set)))
		return -EFAULT;
	set &= ~(1UL << (SIGKILL - 1) | 1UL << (SIGSTOP - 1));
	if (how == SIG_BLOCK)
		sigmask |= set;
	else if (how == SIG_UNBLOCK)
		sigmask &= ~set;
	else if (how == SIG_SETMASK)
		sigmask = set;
	else
		return -EINVAL;
	return 0;
}

static long sys_sigaltstack(unsigned long uss, unsigned long uold)
{
	unsigned long ss[3];

	if (uold) {
		unsigned long old[3] = { altstack[0], altstack[1] ? altstack[1] : SS_DISABLE,
					 altstack[2] };

		if (copy_to_user(uold, old, sizeof(old)))
			return -EFAULT;
	}
	if (uss) {
		if (copy_from_user(ss, uss, sizeof(ss)))
			return -EFAULT;
		copy_bytes(altstack, ss, sizeof(ss));
	}
	return 0;
}

/*
 * A signal the process sends itself: one whose action is to ignore it,
 * or that is ignored by default, does nothing; any other ends the program
 * as its default action would, with 128 + the signal, since no handler is
 * ever run.  Silent, as Linux is: the shell names the signal.
 */
void signal_self(int sig)
{
	static const unsigned long ignored_by_default =
		1UL << (17 - 1) | 1UL << (18 - 1) | 1UL << (23 - 1) | 1UL << (28 - 1);
	unsigned long handler = sigactions[sig - 1][0];

	if (handler == SIG_IGN || (handler == SIG_DFL && ignored_by_default >> (sig - 1) & 1))
		return;
	do_exit(128 + sig);
}

/* kill(2), tkill(2), tgkill(2): to the process itself only (abort() raises SIGABRT). */
static long sys_kill(long pid, long sig)
{
	if (pid != PID && pid != 0 && pid != -1)
		return -ESRCH;
	if (sig < 0 || sig > NSIG)
		return -EINVAL;
	if (sig)
		signal_self((int)sig);
	return 0;
}

/* ---- dispatch ---- */

static long dispatch(unsigned long nr, unsigned long a0, unsigned long a1, unsigned long a2,
		     unsigned long a3, unsigned long a4, unsigned long a5)
{
	/* int arguments: Linux reads their low 32 bits (glibc leaves -100 as 0xffffff9c). */
	long fd = (int)a0;

	switch (nr) {
	case __NR_read:
		return sys_read(fd, a1, a2);
	case __NR_write:
		return sys_write(fd, a1, a2);
	case __NR_open:
		return sys_openat(AT_FDCWD, a0, (int)a1, (int)a2);
	case __NR_close:
		return sys_close(fd);
	case __NR_stat:
		return sys_newfstatat(AT_FDCWD, a0, a1, 0);
	case __NR_fstat:
		return sys_fstat(fd, a1);
	case __NR_lstat:
		return sys_newfstatat(AT_FDCWD, a0, a1, AT_SYMLINK_NOFOLLOW);
	case __NR_poll:
	case __NR_ppoll:
		return sys_poll(a0, a1);
	case __NR_lseek:
		return sys_lseek(fd, (long)a1, (int)a2);
	case __NR_mmap:
		return sys_mmap(a0, a1, a2, a3, (int)a4, a5);
	case __NR_mprotect:
		return sys_mprotect(a0, a1, a2);
	case __NR_munmap:
		return sys_munmap(a0, a1);
	case __NR_brk:
		return sys_brk(a0);
	case __NR_rt_sigaction:
		return sys_rt_sigaction((int)a0, a1, a2, a3);
	case __NR_rt_sigprocmask:
		return sys_rt_sigprocmask((int)a0, a1, a2, a3);
	case __NR_ioctl:
		return sys_ioctl(fd, a1, a2);
	case __NR_pread64:
		return sys_pread64(fd, a1, a2, (long)a3);
	case __NR_pwrite64:
		return sys_pwrite64(fd, a1, a2, (long)a3);
	case __NR_readv:
		return sys_readv(fd, a1, (int)a2);
	case __NR_writev:
		return sys_writev(fd, a1, (int)a2);
	case __NR_access:
		return sys_faccessat(AT_FDCWD, a0, (int)a1);
	case __NR_pipe:
		return sys_pipe2(a0, 0);
	case __NR_sched_yield:
		return 0;
	case __NR_mremap:
		return sys_mremap(a0, a1, a2, a3, a4);
	case __NR_madvise:
		return sys_madvise(a0, a1, (int)a2);
	case __NR_dup:
		return sys_dup(fd);
	case __NR_dup2: /* dup2: dup3 without flags, and dup2(fd, fd) checks fd */
		if (a0 == a1)
			return sys_fcntl(fd, F_GETFD, 0) < 0 ? -EBADF : fd;
		return sys_dup3(fd, (int)a1, 0);
	case __NR_nanosleep:
		return sys_clock_nanosleep(CLOCK_MONOTONIC, 0, a0, a1);
	case __NR_getpid:
	case __NR_gettid:
		return PID;
	case __NR_exit:
	case __NR_exit_group: /* one thread: the same */
		do_exit((int)a0);
	case __NR_uname:
		return sys_uname(a0);
	case __NR_fcntl:
		return sys_fcntl(fd, (int)a1, a2);
	case __NR_fsync:
	case __NR_fdatasync:
		return sys_fsync(fd);
	case __NR_getcwd:
		return sys_getcwd(a0, a1);
	case __NR_chdir:
		return sys_chdir(a0);
	case __NR_readlink:
		return sys_readlinkat(AT_FDCWD, a0, a1, a2);
	case __NR_umask: {
		unsigned long old = umask_bits;

		umask_bits = a0 & 0777;
		return (long)old;
	}
	case __NR_gettimeofday:
		return sys_gettimeofday(a0, a1);
	case __NR_getrlimit:
		return sys_prlimit64(0, (unsigned int)a0, 0, a1);
	case __NR_getuid:
	case __NR_getgid:
	case __NR_geteuid:
	case __NR_getegid:
		return 0;
	case __NR_getgroups: /* no supplementary groups */
		return 0;
	case __NR_prctl:
		return sys_prctl((int)a0, a1);
	case __NR_sysinfo:
		return sys_sysinfo(a0);
	case __NR_sendfile:
		return sys_sendfile(fd, (int)a1, a2, a3);
	case __NR_getppid:
		return PPID;
	case __NR_sigaltstack:
		return sys_sigaltstack(a0, a1);
	case __NR_arch_prctl:
		return sys_arch_prctl((int)a0, a1);
	case __NR_time:
		return sys_time(a0);
	case __NR_kill:
		return sys_kill((int)a0, (int)a1);
	case __NR_tkill:
		return sys_kill((int)a0, (int)a1);
	case __NR_tgkill:
		return sys_kill((int)a1, (int)a2);
	case __NR_set_tid_address:
		return PID;
	case __NR_clock_gettime:
		return sys_clock_gettime((int)a0, a1);
	case __NR_clock_getres:
		return sys_clock_getres((int)a0, a1);
	case __NR_clock_nanosleep:
		return sys_clock_nanosleep((int)a0, (int)a1, a2, a3);
	case __NR_openat:
		return sys_openat(fd, a1, (int)a2, (int)a3);
	case __NR_newfstatat:
		return sys_newfstatat(fd, a1, a2, (int)a3);
	case __NR_readlinkat:
		return sys_readlinkat(fd, a1, a2, a3);
	case __NR_faccessat:
	case __NR_faccessat2:
		return sys_faccessat(fd, a1, (int)a2);
	case __NR_set_robust_list: /* futexes are never waited on */
		return 0;
	case __NR_dup3:
		return sys_dup3(fd, (int)a1, (int)a2);
	case __NR_pipe2:
		return sys_pipe2(a0, (int)a1);
	case __NR_prlimit64:
		return sys_prlimit64((int)a0, (unsigned int)a1, a2, a3);
	case __NR_getrandom:
		return sys_getrandom(a0, a1, a2);
	case __NR_statx:
		return sys_statx(fd, a1, (int)a2, a3, a4);
	case __NR_getdents64:
		return sys_getdents64(fd, a1, a2);
	}
	/* rseq (334), fork, vfork, clone, execve, wait4 and the rest. */
	return -ENOSYS;
}

void do_syscall_64(struct pt_regs *regs)
{
	unsigned long nr = regs->orig_rax;
	long ret;

	/* Counted first: exit_group does not return. */
	if (nr < EXEC_NR_SYSCALLS)
		syscall_counts[nr].calls++;
	ret = dispatch(nr, regs->rdi, regs->rsi, regs->rdx, regs->r10, regs->r8, regs->r9);
	if (nr < EXEC_NR_SYSCALLS && ret == -ENOSYS)
		syscall_counts[nr].enosys++;
	regs->rax = (unsigned long)ret;
	/* What munmap, madvise or brk freed goes to the host before the program runs on. */
	flush_freed_frames();
}
