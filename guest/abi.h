/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest ABI's ports and hypercalls, shared by guest images and the VMM
 * (docs/design.md, "The guest ABI"; guest/README.md documents each one).
 * Plain C with no includes, so both a freestanding guest and the host can
 * use it.
 */
#ifndef NOPIN_GUEST_ABI_H
#define NOPIN_GUEST_ABI_H

#define GUEST_RAM_BASE 0x100000UL
#define GUEST_STACK_SIZE 0x10000UL /* per vCPU, carved from the top of RAM */

/* One byte per `out %al, %dx`; the VMM buffers it per vCPU up to a newline. */
#define PORT_CONSOLE 0xe9
/* `out %eax, %dx`: the 32-bit exit status; ends the whole VM. */
#define PORT_EXIT 0x501
/*
 * `out %eax, %dx` with eax = a HC_* number and the arguments in rdi, rsi
 * and rcx (dx holds the port): the VMM reads the registers at the port
 * exit and writes its answer to rax, 0 or a negative errno (GUEST_E*)
 * unless the call says otherwise.
 */
#define PORT_HYPERCALL 0x510

/* The errnos hypercalls answer with, negated: Linux's numbers. */
#define GUEST_ENOENT 2
#define GUEST_EBADF 9
#define GUEST_ENOMEM 12
#define GUEST_EFAULT 14
#define GUEST_EINVAL 22
#define GUEST_EMFILE 24
#define GUEST_ERANGE 34
#define GUEST_ENOSYS 38
#define GUEST_EOPNOTSUPP 95

/*
 * The VMM's top 16 MiB of the address space: its own pages on the kvm
 * backend (docs/design.md, "The guest ABI").  No handler or stack there,
 * and never the guest's, whatever its own tables map.
 */
#define GUEST_VMM_TOP 0xffffffffff000000UL

/* HC_LOAD_CR3's rdi for the VMM's identity tables (guest-virtual = guest-physical). */
#define GUEST_CR3_IDENTITY (~0UL)

/*
 * The exceptions HC_SET_EXCEPTION_HANDLER takes, by vector (KVM's names).
 * #DE, #UD and #GP have no error code but #GP's; #PF's is the
 * architecture's, with CR2 its address.
 */
#define DE_VECTOR 0
#define UD_VECTOR 6
#define GP_VECTOR 13
#define PF_VECTOR 14

/*
 * CS and SS in an exception frame, and what iretq returns to: the VMM's
 * GDT.  SS may also be null in a frame of code that was itself a handler.
 */
#define GUEST_CS 0x08
#define GUEST_SS 0x10

/*
 * Ring 3's selectors in the VMM's GDT, in the order SYSRET wants them
 * after the 32-bit user code segment STAR[63:48] names: a guest that uses
 * syscall and sysret writes GUEST_STAR to MSR_STAR.  A frame of code
 * interrupted at CPL 3 holds GUEST_USER_CS and GUEST_USER_SS.
 */
#define GUEST_USER32_CS 0x1b
#define GUEST_USER_SS 0x23
#define GUEST_USER_CS 0x2b
#define GUEST_STAR ((unsigned long)(GUEST_USER32_CS & ~3) << 48 | (unsigned long)GUEST_CS << 32)

/* The MSRs of the guest ABI (docs/design.md, "The guest ABI"). */
#define MSR_EFER 0xc0000080
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_FMASK 0xc0000084
#define MSR_FS_BASE 0xc0000100
#define MSR_GS_BASE 0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102
#define EFER_SCE (1UL << 0)

enum guest_hypercall {
	/* rdi = GPA of a struct ucall: GUEST_SYNC/ASSERT/DONE of the test harness. */
	HC_UCALL = 1,
	/*
	 * rax = the host's clock in nanoseconds: rdi = HC_CLOCK_MONOTONIC
	 * (0) or HC_CLOCK_REALTIME (1, since the epoch).
	 */
	HC_CLOCK_NS = 2,
	/*
	 * [rdi, rdi + rsi) is free in the guest: the host may discard it (its
	 * contents become zero or stay), until HC_PAGE_REUSE takes it back.
	 * Page-aligned; rax = 0 or a negative errno.
	 */
	HC_PAGE_REPORT_FREE = 3,
	/* [rdi, rdi + rsi) is in use again: the host stops discarding it. */
	HC_PAGE_REUSE = 4,
	/*
	 * Run on the page tables whose PML4 is at GPA rdi, or, for
	 * GUEST_CR3_IDENTITY, on the VMM's identity tables; this vCPU's TLB
	 * is flushed.  -GUEST_EOPNOTSUPP in flat mode (`--mmu flat`);
	 * -GUEST_EINVAL for a GPA that is not a page of RAM.
	 */
	HC_LOAD_CR3 = 5,
	/* Drop what this vCPU's TLB holds for the virtual address rdi. */
	HC_INVLPG = 6,
	/* Drop everything this vCPU's TLB holds. */
	HC_FLUSH_TLB = 7,
	/*
	 * This vCPU delivers exception rdi (a *_VECTOR above) to the handler
	 * at rsi, on the stack whose top is rcx, as a 64-bit interrupt gate
	 * with an IST slot does; rsi = 0 takes it back (the exception stops
	 * the guest again).  -GUEST_EINVAL for another vector, or a handler
	 * or stack that is not canonical or is in the VMM's top 16 MiB.
	 */
	HC_SET_EXCEPTION_HANDLER = 8,
	/*
	 * `nopin exec`: the program to run and its arguments.  rdi = GPA of a
	 * buffer of rsi bytes, which the VMM fills with a struct exec_info
	 * and its strings; rax = the size it needs (the call did nothing if
	 * that is more than rsi), or -GUEST_EOPNOTSUPP when the VM was not
	 * started by `nopin exec`.  The program's file is host file
	 * HOSTFS_FD_PROGRAM, open for reading.
	 */
	HC_EXEC_INFO = 9,
	/*
	 * The host file interface: rdi = GPA of a struct hostfs_req, whose
	 * ret the VMM sets; rax = ret too.  Buffers are guest-physical and
	 * are read and written through the host mm, page by page, so the
	 * host may take them while the call runs.
	 */
	HC_HOSTFS = 10,
	/*
	 * The program ends by a fatal signal: rdi = GPA of a struct
	 * exec_fault.  The VMM prints its one-line report (the signal, the
	 * address, the instruction at rip); the guest then exits 128 + signo.
	 */
	HC_EXEC_FAULT = 11,
	/*
	 * The guest kernel's system call counts at exit, for --stats: rdi =
	 * GPA of an array of EXEC_NR_SYSCALLS struct exec_syscall_count.
	 */
	HC_EXEC_SYSCALLS = 12,
};

/* ---- nopin exec: the program, its files, its end (guest/kernel/) ---- */

/*
 * What HC_EXEC_INFO writes: the header, then argc NUL-terminated
 * arguments, then envc NUL-terminated environment strings, then the
 * program's path as the user named it (what /proc/self/exe reads as),
 * NUL-terminated.  The strings start at strings[0].
 */
struct exec_info {
	unsigned long argc;
	unsigned long envc;
	unsigned long program_size; /* bytes of HOSTFS_FD_PROGRAM */
	unsigned long strings_len;  /* bytes of strings[], the NULs included */
	char strings[];
};

/* Host file handles open when the program starts. */
#define HOSTFS_FD_STDIN 0
#define HOSTFS_FD_STDOUT 1
#define HOSTFS_FD_STDERR 2
#define HOSTFS_FD_PROGRAM 3
#define HOSTFS_MAX_FDS 256

enum hostfs_op {
	/*
	 * path = [gpa, gpa + len), absolute or relative to the root, with no
	 * NUL; flags = Linux O_* (O_CREAT, O_TRUNC, O_APPEND, O_DIRECTORY,
	 * O_NOFOLLOW, O_EXCL); mode for O_CREAT.  ret = a new handle.
	 * Resolved inside the root: `..` and absolute symlinks stop there.
	 * Writes (O_WRONLY, O_RDWR, O_CREAT, O_TRUNC) need --rw: else -EROFS.
	 */
	HOSTFS_OPEN = 1,
	HOSTFS_CLOSE = 2, /* fd */
	/*
	 * fd, buffer [gpa, gpa + len), off: the file offset, or HOSTFS_POS
	 * for the handle's own position (which then moves, as read(2)'s).
	 * ret = bytes moved, 0 at the end of the file.
	 */
	HOSTFS_READ = 3,
	HOSTFS_WRITE = 4,
	HOSTFS_LSEEK = 5, /* fd, off, flags = whence; ret = the new position */
	/* fd: a Linux struct stat (144 bytes) into [gpa, gpa + len); len >= 144. */
	HOSTFS_FSTAT = 6,
	/*
	 * path as for open, into the struct stat at buf (stat_gpa); flags =
	 * AT_SYMLINK_NOFOLLOW or 0.
	 */
	HOSTFS_STAT = 7,
	/* fd of a directory: linux_dirent64 records into [gpa, gpa + len); ret = bytes. */
	HOSTFS_GETDENTS64 = 8,
	/* path as for open: the link's target into buf (buf_gpa, buf_len); ret = bytes. */
	HOSTFS_READLINK = 9,
	/* path as for open, mode = R_OK | W_OK | X_OK or F_OK. */
	HOSTFS_ACCESS = 10,
	/* fd: 1 if it is a terminal, else 0 (for TCGETS and TIOCGWINSZ). */
	HOSTFS_ISATTY = 11,
};

#define HOSTFS_POS (~0UL)

/* One host file call; the guest kernel's, in guest RAM. */
struct hostfs_req {
	unsigned long op;      /* enum hostfs_op */
	long fd;	       /* a handle, or -1 */
	unsigned long gpa;     /* the path or the data buffer */
	unsigned long len;     /* its length in bytes */
	unsigned long off;     /* file offset, HOSTFS_POS, or lseek's offset */
	unsigned long flags;   /* O_*, whence, AT_* */
	unsigned long mode;    /* O_CREAT's mode, access()'s mode */
	unsigned long buf_gpa; /* a second buffer: stat's struct stat, readlink's target */
	unsigned long buf_len;
	long ret; /* the VMM's answer: >= 0, or a negative Linux errno */
};

/* The fatal signal the program took (HC_EXEC_FAULT). */
struct exec_fault {
	unsigned long signo; /* Linux's: SIGSEGV 11, SIGILL 4, SIGFPE 8, SIGBUS 7 */
	unsigned long addr;  /* the faulting address (CR2 for a #PF), else rip */
	unsigned long rip;
	unsigned long cr3; /* the process's page tables, to read the instruction */
	unsigned long error_code;
};

#define EXEC_NR_SYSCALLS 512

/* How often the program made system call nr (its index), and whether the kernel had it. */
struct exec_syscall_count {
	unsigned long calls;
	unsigned long enosys; /* calls answered -ENOSYS because the kernel has no such call */
};

#define HC_CLOCK_MONOTONIC 0
#define HC_CLOCK_REALTIME 1

enum ucall_cmd {
	UCALL_SYNC = 1,	  /* args[0..]: values for the host to check; the guest resumes */
	UCALL_ASSERT = 2, /* a failed GUEST_ASSERT: file, line, expression */
	UCALL_DONE = 3,
};

#define UCALL_MAX_ARGS 6

/* Lives in guest RAM; the host reads it through the guest's mm. */
struct ucall {
	unsigned long cmd;
	unsigned long args[UCALL_MAX_ARGS];
	unsigned long line;
	char file[64];
	char expr[128];
};

#endif
