/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The exec guest kernel (guest/kernel/README.md): one process, one vCPU,
 * Linux's x86-64 system call ABI.  This header is what its files share:
 * the memory layout, the frame allocator and page tables (mm.c), the
 * address space (mmap.c), user copies (uaccess.c), files (fs.c), the
 * program loader (elf.c), system calls (syscall.c) and faults (fault.c).
 */
#ifndef NOPIN_KERNEL_H
#define NOPIN_KERNEL_H

#include "guest.h"

/* ---- errnos (Linux's), as the system calls return them, negated ---- */
#define EPERM 1
#define ENOENT 2
#define ESRCH 3
#define EINTR 4
#define EIO 5
#define E2BIG 7
#define ENOEXEC 8
#define EBADF 9
#define ECHILD 10
#define EAGAIN 11
#define ENOMEM 12
#define EACCES 13
#define EFAULT 14
#define EEXIST 17
#define ENODEV 19
#define ENOTDIR 20
#define EISDIR 21
#define EINVAL 22
#define ENFILE 23
#define EMFILE 24
#define ENOTTY 25
#define ESPIPE 29
#define EPIPE 32
#define ERANGE 34
#define ENAMETOOLONG 36
#define ENOSYS 38

#define AT_FDCWD (-100)
#define AT_SYMLINK_NOFOLLOW 0x100

#define PAGE_SHIFT 12
#define PAGE_MASK (~(PAGE_SIZE - 1))
#define PAGE_ALIGN(x) (((x) + PAGE_SIZE - 1) & PAGE_MASK)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/*
 * The kernel's view of memory.  The image runs where the VMM loaded it
 * (0x100000, guest.ld), mapped supervisor-only at that address, so it
 * stays below the lowest user address an ET_EXEC asks for (0x400000).
 * All of RAM is also mapped at PAGE_OFFSET (Linux's direct map), which
 * is how the kernel reaches page tables and the process's frames.
 */
#define PAGE_OFFSET 0xffff888000000000UL
#define KERNEL_IMAGE_LIMIT 0x400000UL
/* The lowest user address: the image is below (Linux's mmap_min_addr is 64 KiB). */
#define USER_MIN KERNEL_IMAGE_LIMIT
#define USER_TOP 0x7ffffffff000UL /* TASK_SIZE: the stack ends here */
#define STACK_MAX (8UL << 20)	  /* RLIMIT_STACK: the stack VMA */
#define MMAP_TOP (USER_TOP - STACK_MAX - (128UL << 20))
#define PIE_BASE 0x555555554000UL /* ELF_ET_DYN_BASE, as Linux loads static-pie */

/* A software PTE bit: a PROT_NONE page keeps its frame with P clear (Linux's _PAGE_PROTNONE). */
#define PTE_PROTNONE (1UL << 10)

/* ---- mm.c: frames, the direct map, the page tables ---- */
void *phys_to_virt(unsigned long pa);
unsigned long virt_to_phys(const void *va);
int mm_init(unsigned long ram_size);
/* A zeroed frame's GPA, or 0 when RAM is out. */
unsigned long frame_alloc(void);
void frame_free(unsigned long pa);
/* Report the frames freed since the last call to the host (HC_PAGE_REPORT_FREE). */
void flush_freed_frames(void);
unsigned long frames_free(void);
unsigned long frames_total(void);
/* The process's (and the kernel's) one PML4. */
extern unsigned long kernel_pml4;
/* The leaf PTE of @va, with @alloc making the tables above it; NULL if none. */
unsigned long *pte_get(unsigned long va, bool alloc);
void flush_tlb_page(unsigned long va);
void flush_tlb_all(void);
/*
 * The TLB side of a change to many PTEs (after Linux's mmu_gather): each
 * page that was present is INVLPGed, up to TLB_FLUSH_PAGES; past that,
 * one flush of everything when the change is done.  Nothing runs in ring
 * 3 in between, and the kernel reaches memory through the direct map.
 */
#define TLB_FLUSH_PAGES 32
struct tlb_gather {
	unsigned long pages;
};
void tlb_gather_page(struct tlb_gather *tlb, unsigned long va);
void tlb_finish(struct tlb_gather *tlb);
void zero_page(void *va);
void copy_bytes(void *dst, const void *src, unsigned long n);
void fill_bytes(void *dst, int c, unsigned long n);

/* ---- mmap.c: the process's address space ---- */
#define VM_READ 0x1
#define VM_WRITE 0x2
#define VM_EXEC 0x4
#define VM_SHARED 0x8
#define VM_GROWSDOWN 0x100
#define VM_PAST_EOF 0x200 /* pages of a file mapping past the file's end: SIGBUS */

struct vma {
	unsigned long start, end; /* [start, end), page-aligned */
	unsigned long flags;	  /* VM_* */
};

struct vma *find_vma(unsigned long addr);
int vma_map(unsigned long start, unsigned long end, unsigned long flags);
int vma_unmap(unsigned long start, unsigned long end);
unsigned long pte_prot(unsigned long vm_flags);
/* The first touch of a page, or a write to a page that allows it: 0, -EFAULT (SIGSEGV), -EIO (SIGBUS). */
int handle_mm_fault(unsigned long addr, unsigned long error_code);
void mm_set_brk_base(unsigned long base);
void mm_setup_stack(void);

long sys_brk(unsigned long brk);
long sys_mmap(unsigned long addr, unsigned long len, unsigned long prot, unsigned long flags,
	      long fd, unsigned long off);
long sys_munmap(unsigned long addr, unsigned long len);
long sys_mprotect(unsigned long addr, unsigned long len, unsigned long prot);
long sys_mremap(unsigned long addr, unsigned long old_len, unsigned long new_len,
		unsigned long flags, unsigned long new_addr);
long sys_madvise(unsigned long addr, unsigned long len, long advice);

/* ---- uaccess.c: user memory through the page tables ---- */
long copy_from_user(void *dst, unsigned long usrc, unsigned long n);
long copy_to_user(unsigned long udst, const void *src, unsigned long n);
long clear_user(unsigned long udst, unsigned long n);
/* A NUL-terminated user string into @dst of @size: its length, -EFAULT or -ENAMETOOLONG. */
long strncpy_from_user(char *dst, unsigned long usrc, unsigned long size);

/* ---- hostfs: the VMM's files (fs.c) ---- */
long hostfs_call(struct hostfs_req *req);
long hostfs_pread(long hfd, unsigned long gpa, unsigned long len, unsigned long off);
long hostfs_close(long hfd);

/* The bounce buffer: user data goes through it to and from the VMM. */
#define BOUNCE_SIZE (64UL << 10)
extern char bounce[BOUNCE_SIZE];

void fs_init(void);
long sys_read(long fd, unsigned long buf, unsigned long len);
long sys_write(long fd, unsigned long buf, unsigned long len);
long sys_readv(long fd, unsigned long iov, long iovcnt);
long sys_writev(long fd, unsigned long iov, long iovcnt);
long sys_pread64(long fd, unsigned long buf, unsigned long len, long off);
long sys_pwrite64(long fd, unsigned long buf, unsigned long len, long off);
long sys_openat(long dirfd, unsigned long upath, long flags, long mode);
long sys_close(long fd);
long sys_lseek(long fd, long off, long whence);
long sys_fsync(long fd);
long sys_fstat(long fd, unsigned long ustat);
long sys_newfstatat(long dirfd, unsigned long upath, unsigned long ustat, long flags);
long sys_statx(long dirfd, unsigned long upath, long flags, unsigned long mask,
	       unsigned long ustatx);
long sys_getdents64(long fd, unsigned long buf, unsigned long len);
long sys_readlinkat(long dirfd, unsigned long upath, unsigned long buf, unsigned long len);
long sys_faccessat(long dirfd, unsigned long upath, long mode);
long sys_getcwd(unsigned long buf, unsigned long size);
long sys_chdir(unsigned long upath);
long sys_dup(long fd);
long sys_dup3(long oldfd, long newfd, long flags);
long sys_fcntl(long fd, long cmd, unsigned long arg);
long sys_pipe2(unsigned long ufds, long flags);
long sys_ioctl(long fd, unsigned long cmd, unsigned long arg);
long sys_poll(unsigned long ufds, unsigned long nfds);
long sys_sendfile(long out_fd, long in_fd, unsigned long uoff, unsigned long count);
/* Read @len bytes of the file open as @fd at @off into the frame at @pa + its offset. */
long file_read_into(long fd, unsigned long pa, unsigned long len, unsigned long off);

/* ---- elf.c, main.c: the program ---- */
struct exec_image {
	unsigned long entry, phdr, phnum, phent, base, brk;
};
int load_program(struct exec_image *img);
int setup_stack(const struct exec_image *img, unsigned long *sp);
extern struct exec_info *exec_info;
const char *exec_program_path(void);

/* ---- syscall.c, entry.S ---- */
struct pt_regs {
	unsigned long r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8;
	unsigned long rax, rcx, rdx, rsi, rdi, orig_rax;
	unsigned long rip, cs, rflags, rsp, ss;
};

void syscall_init(void);
void do_syscall_64(struct pt_regs *regs);
__attribute__((noreturn)) void enter_user(unsigned long rip, unsigned long rsp);
__attribute__((noreturn)) void do_exit(int status);
/* Deliver @sig to the process: nothing if ignored, else its end (128 + @sig). */
void signal_self(int sig);
#define SIGPIPE 13

/* ---- fault.c ---- */
void fault_init(void);
/* The kernel itself went wrong: say what, and stop with KERNEL_BUG_STATUS. */
#define KERNEL_BUG_STATUS 70
#define KERNEL_EXEC_STATUS 126 /* the program could not be loaded */
__attribute__((noreturn)) void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- small helpers ---- */
static inline unsigned long rdmsr(unsigned int msr)
{
	unsigned int lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (unsigned long)hi << 32 | lo;
}

static inline void wrmsr(unsigned int msr, unsigned long v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((unsigned int)v), "d"(v >> 32) : "memory");
}

static inline void cpuid(unsigned int leaf, unsigned int *a, unsigned int *b, unsigned int *c,
			 unsigned int *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

int strcmp(const char *a, const char *b);
unsigned long random_u64(void);

#endif
