// SPDX-License-Identifier: GPL-2.0
/*
 * The host side of `nopin exec`: checking the program before any guest
 * runs, and the hypercalls of its guest kernel (guest/abi.h):
 * HC_EXEC_INFO hands over the arguments, the environment and the
 * program's path; HC_HOSTFS is vmm/hostfs.c's; HC_EXEC_FAULT prints the
 * one line of a fatal signal, with the instruction read through the
 * process's own page tables; HC_EXEC_SYSCALLS keeps the system call
 * counts for --stats.
 */
#include <capstone/capstone.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mm/page.h"
#include "mmu/paging_walk.h"
#include "vmm/exec.h"
#include "vmm/vm.h"

#define RUNS_WHAT "nopin exec runs static x86-64 ELF executables"

static int why_f(char *why, size_t len, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int why_f(char *why, size_t len, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return ret;
}

static const char *machine_name(unsigned int machine)
{
	switch (machine) {
	case EM_386:
		return "i386";
	case EM_ARM:
		return "32-bit Arm";
	case EM_AARCH64:
		return "aarch64";
	case EM_RISCV:
		return "RISC-V";
	case EM_PPC64:
		return "ppc64";
	case EM_S390:
		return "s390";
	case EM_MIPS:
		return "MIPS";
	case EM_LOONGARCH:
		return "LoongArch";
	}
	return "another machine";
}

/* A script's #! line, for its message: up to the newline, bounded. */
static void shebang_line(const unsigned char *buf, size_t n, char *out, size_t len)
{
	size_t i = 0;

	while (i < n && i + 1 < len && buf[i] != '\n' && buf[i] != '\r' && buf[i] >= ' ')
		i++;
	memcpy(out, buf, i);
	out[i] = '\0';
}

/* The checks of e_ident onwards, on the header and program headers read from @fd. */
static int check_elf(int fd, const char *path, const unsigned char *buf, size_t n, char *why,
		     size_t len)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)buf;
	Elf64_Phdr ph;

	if (n < EI_NIDENT || memcmp(buf, ELFMAG, SELFMAG)) {
		char line[80];

		if (n >= 2 && buf[0] == '#' && buf[1] == '!') {
			shebang_line(buf, n, line, sizeof(line));
			return why_f(why, len, -ENOEXEC, "%s is a script (%s ...): " RUNS_WHAT,
				     path, line);
		}
		return why_f(why, len, -ENOEXEC, "%s is not an ELF executable: " RUNS_WHAT, path);
	}
	if (buf[EI_CLASS] != ELFCLASS64)
		return why_f(why, len, -ENOEXEC, "%s is a %s ELF file: " RUNS_WHAT, path,
			     buf[EI_CLASS] == ELFCLASS32 ? "32-bit" : "malformed");
	if (n < sizeof(*eh))
		return why_f(why, len, -ENOEXEC, "%s is a truncated ELF file", path);
	if (buf[EI_DATA] != ELFDATA2LSB || eh->e_machine != EM_X86_64)
		return why_f(why, len, -ENOEXEC,
			     "%s is an ELF file for %s (e_machine %u): " RUNS_WHAT, path,
			     machine_name(eh->e_machine), eh->e_machine);
	if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN)
		return why_f(why, len, -ENOEXEC,
			     "%s is not an executable (ELF type %u: %s): " RUNS_WHAT, path,
			     eh->e_type,
			     eh->e_type == ET_REL  ? "a relocatable object" :
			     eh->e_type == ET_CORE ? "a core dump" :
						     "unknown");
	if (eh->e_phentsize != sizeof(ph) || !eh->e_phnum)
		return why_f(why, len, -ENOEXEC, "%s has no program headers to load", path);
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		char interp[256];
		ssize_t r;

		if (pread(fd, &ph, sizeof(ph), eh->e_phoff + (off_t)i * sizeof(ph)) != sizeof(ph))
			return why_f(why, len, -ENOEXEC, "%s is a truncated ELF file", path);
		if (ph.p_type != PT_INTERP)
			continue;
		r = pread(fd, interp, min(ph.p_filesz, (Elf64_Xword)sizeof(interp) - 1),
			  ph.p_offset);
		interp[r > 0 ? r : 0] = '\0';
		return why_f(why, len, -ENOEXEC,
			     "static executables only: %s needs the interpreter %s", path,
			     interp[0] ? interp : "(unreadable)");
	}
	/* ET_EXEC, or ET_DYN without PT_INTERP: a static-pie. */
	return 0;
}

int vmm_exec_check_program(const char *path, char *why, size_t len)
{
	unsigned char buf[sizeof(Elf64_Ehdr)];
	struct stat st;
	ssize_t n;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return why_f(why, len, -errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return why_f(why, len, -ENOEXEC, "%s is not a regular file: " RUNS_WHAT, path);
	}
	n = pread(fd, buf, sizeof(buf), 0);
	if (n < 0) {
		ret = why_f(why, len, -errno, "%s: %s", path, strerror(errno));
		close(fd);
		return ret;
	}
	ret = check_elf(fd, path, buf, n, why, len);
	close(fd);
	return ret;
}

/* struct exec_info and its strings: argv, then envp, then the program as named. */
static int build_info(struct vmm_exec *ex, const struct vmm_exec_config *cfg)
{
	size_t strings = strlen(cfg->program) + 1;
	unsigned long envc = 0;
	char *p;

	for (int i = 0; i < cfg->argc; i++)
		strings += strlen(cfg->argv[i]) + 1;
	for (; cfg->envp && cfg->envp[envc]; envc++)
		strings += strlen(cfg->envp[envc]) + 1;
	ex->info_size = sizeof(*ex->info) + strings;
	ex->info = calloc(1, ex->info_size);
	if (!ex->info)
		return -ENOMEM;
	ex->info->argc = cfg->argc;
	ex->info->envc = envc;
	ex->info->program_size = ex->program_size;
	ex->info->strings_len = strings;
	p = ex->info->strings;
	for (int i = 0; i < cfg->argc; i++)
		p = stpcpy(p, cfg->argv[i]) + 1;
	for (unsigned long i = 0; i < envc; i++)
		p = stpcpy(p, cfg->envp[i]) + 1;
	stpcpy(p, cfg->program);
	return 0;
}

int vmm_exec_create(struct vmm *vm, char *err, size_t errlen)
{
	const struct vmm_exec_config *cfg = vm->cfg.exec;
	struct vmm_exec *ex = calloc(1, sizeof(*ex));
	struct stat st;
	int fd, ret;

	if (!ex) {
		snprintf(err, errlen, "no memory for nopin exec");
		return -ENOMEM;
	}
	ex->fs.root_fd = -1;
	vm->exec = ex;
	/* Handle HOSTFS_FD_PROGRAM: the file the user named, not one under the root. */
	fd = open(cfg->program, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		ret = -errno;
		snprintf(err, errlen, "cannot open %s: %s", cfg->program, strerror(errno));
		if (fd >= 0)
			close(fd);
		return ret;
	}
	ex->program_size = st.st_size;
	ret = hostfs_init(&ex->fs, vm, cfg->root, cfg->rw, fd, err, errlen);
	if (ret)
		return ret;
	ret = build_info(ex, cfg);
	if (ret)
		snprintf(err, errlen, "no memory for the program's arguments");
	return ret;
}

void vmm_exec_destroy(struct vmm *vm)
{
	struct vmm_exec *ex = vm->exec;

	if (!ex)
		return;
	if (ex->fs.root_fd >= 0)
		hostfs_destroy(&ex->fs);
	free(ex->info);
	free(ex->syscalls);
	free(ex);
	vm->exec = NULL;
}

static long exec_info(struct vmm *vm, uint64_t gpa, uint64_t len)
{
	struct vmm_exec *ex = vm->exec;

	/* Too small: the size it needs, and nothing written, so the guest can ask again. */
	if (len < ex->info_size)
		return ex->info_size;
	if (vmm_store_guest(vm, gpa, ex->info, ex->info_size))
		return -EFAULT;
	return ex->info_size;
}

/*
 * The guest walker reads the process's tables through the host mm, and
 * sets no accessed bit: a report must not change what it reports on.
 */
static int report_read_pte(void *ctx, gpa_t gpa, int level, uint64_t *pte)
{
	return vmm_read_guest(ctx, gpa, pte, sizeof(*pte));
}

static int report_cmpxchg_pte(void *ctx, gpa_t gpa, int level, uint64_t *old, uint64_t new)
{
	return 1;
}

static const struct guest_walk_ops report_walk_ops = {
	.read_pte = report_read_pte,
	.cmpxchg_pte = report_cmpxchg_pte,
};

/*
 * Up to @len bytes at guest-virtual @va through the tables at @cr3, page
 * by page, stopping at the first that is not there.  Returns the bytes
 * read; when none, @why says what stopped it.
 */
static size_t read_guest_virtual(struct vmm *vm, uint64_t cr3, uint64_t va, uint8_t *buf,
				 size_t len, char *why, size_t whylen)
{
	struct guest_paging pg = { .cr3 = cr3, .nxe = true, .maxphyaddr = GUEST_MAXPHYADDR };
	size_t done = 0;

	while (done < len) {
		size_t n = min(len - done, (size_t)(PAGE_SIZE - ((va + done) & (PAGE_SIZE - 1))));
		struct guest_walker w;
		uint64_t gpa = va + done;

		if (cr3 != GUEST_CR3_IDENTITY) {
			int r = guest_walk_addr(&w, &pg, &report_walk_ops, vm, va + done, 0);

			if (r == GUEST_WALK_EXCEPTION) {
				snprintf(why, whylen, "%s", w.fault.reason);
				break;
			}
			if (r) {
				snprintf(why, whylen, "a page table outside guest RAM");
				break;
			}
			gpa = w.gpa;
		}
		if (vmm_read_guest(vm, gpa, buf + done, n)) {
			snprintf(why, whylen, "guest address %#lx is not RAM", (unsigned long)gpa);
			break;
		}
		done += n;
	}
	return done;
}

/* "mov qword ptr [rax], 1", or why the instruction cannot be shown. */
static void describe_insn(struct vmm *vm, uint64_t cr3, uint64_t rip, char *buf, size_t len)
{
	uint8_t bytes[15];
	char why[64] = "";
	size_t n = read_guest_virtual(vm, cr3, rip, bytes, sizeof(bytes), why, sizeof(why));
	cs_insn *insn;
	csh cs;

	if (!n) {
		snprintf(buf, len, "(its bytes cannot be read: %s)", why);
		return;
	}
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK) {
		snprintf(buf, len, "(no disassembler)");
		return;
	}
	if (cs_disasm(cs, bytes, n, rip, 1, &insn) == 1) {
		snprintf(buf, len, "%.31s%s%.80s", insn->mnemonic, insn->op_str[0] ? " " : "",
			 insn->op_str);
		cs_free(insn, 1);
	} else {
		snprintf(buf, len, "(bytes %02x %02x %02x %02x ... are no instruction)", bytes[0],
			 n > 1 ? bytes[1] : 0, n > 2 ? bytes[2] : 0, n > 3 ? bytes[3] : 0);
	}
	cs_close(&cs);
}

static long exec_fault(struct vmm *vm, uint64_t gpa)
{
	struct vmm_exec *ex = vm->exec;
	struct exec_fault f;
	const char *abbrev;
	char insn[160], sig[32];

	if (vmm_read_guest(vm, gpa, &f, sizeof(f)))
		return -EFAULT;
	abbrev = f.signo < 65 ? sigabbrev_np((int)f.signo) : NULL;
	if (abbrev)
		snprintf(sig, sizeof(sig), "SIG%s", abbrev);
	else
		snprintf(sig, sizeof(sig), "signal %lu", f.signo);
	describe_insn(vm, f.cr3, f.rip, insn, sizeof(insn));
	snprintf(ex->fault_line, sizeof(ex->fault_line),
		 "nopin exec: %s: %s (signal %lu) at address %#lx, rip %#lx: %s",
		 vm->cfg.exec->program, sig, f.signo, f.addr, f.rip, insn);
	ex->faulted = true;
	/* The program's own stderr is the VMM's: the line lands where its messages would. */
	fprintf(stderr, "%s\n", ex->fault_line);
	return 0;
}

static long exec_syscalls(struct vmm *vm, uint64_t gpa)
{
	struct vmm_exec *ex = vm->exec;
	size_t size = EXEC_NR_SYSCALLS * sizeof(*ex->syscalls);
	struct exec_syscall_count *counts = malloc(size);

	if (!counts)
		return -ENOMEM;
	if (vmm_read_guest(vm, gpa, counts, size)) {
		free(counts);
		return -EFAULT;
	}
	free(ex->syscalls);
	ex->syscalls = counts;
	return 0;
}

long vmm_exec_hypercall(struct vmm_vcpu *vcpu, unsigned long nr, const struct vmm_regs *regs)
{
	struct vmm *vm = vcpu->vm;
	uint64_t rdi = regs->gpr[VMM_RDI], rsi = regs->gpr[VMM_RSI];

	if (!vm->exec)
		return -EOPNOTSUPP;
	switch (nr) {
	case HC_EXEC_INFO:
		return exec_info(vm, rdi, rsi);
	case HC_HOSTFS:
		return hostfs_call(&vm->exec->fs, rdi);
	case HC_EXEC_FAULT:
		return exec_fault(vm, rdi);
	case HC_EXEC_SYSCALLS:
		return exec_syscalls(vm, rdi);
	}
	return -ENOSYS;
}

static void print_count(FILE *f, bool json, const char *prefix, unsigned long nr,
			unsigned long count)
{
	const char *name = exec_syscall_name(nr);
	char key[64];

	if (name)
		snprintf(key, sizeof(key), "%s%s", prefix, name);
	else
		snprintf(key, sizeof(key), "%s%lu", prefix, nr);
	if (json)
		fprintf(f, ", \"%s\": %lu", key, count);
	else
		fprintf(f, "%-32s %14lu\n", key, count);
}

void vmm_exec_print_stats(struct vmm *vm, FILE *f, bool json)
{
	struct exec_syscall_count *c = vm->exec ? vm->exec->syscalls : NULL;

	if (!c)
		return;
	for (unsigned long nr = 0; nr < EXEC_NR_SYSCALLS; nr++)
		if (c[nr].calls)
			print_count(f, json, "syscall_", nr, c[nr].calls);
	for (unsigned long nr = 0; nr < EXEC_NR_SYSCALLS; nr++)
		if (c[nr].enosys)
			print_count(f, json, "syscall_enosys_", nr, c[nr].enosys);
}
