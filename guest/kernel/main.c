// SPDX-License-Identifier: GPL-2.0
/*
 * The exec guest kernel's boot (guest/kernel/README.md): vCPU 0 leaves
 * the VMM's boot stack for its own, takes the exception vectors, builds
 * its page tables and runs on them, asks the VMM what to run
 * (HC_EXEC_INFO), loads it, builds its stack and enters it in ring 3.
 * Other vCPUs halt: the process has one thread.
 */
#include "kernel.h"

#define EXEC_INFO_SIZE (128UL << 10)

/* What the VMM gave: argv, envp and the program's path (HC_EXEC_INFO). */
static char exec_info_buf[EXEC_INFO_SIZE] __attribute__((aligned(8)));
struct exec_info *exec_info = (struct exec_info *)exec_info_buf;
static unsigned long boot_ram_size;

void call_on_kernel_stack(void (*fn)(void));

/*
 * The program's path as the user named it: the string after the
 * arguments and the environment (AT_EXECFN).  /proc/self/exe is this
 * made absolute (fs.c).
 */
const char *exec_program_path(void)
{
	const char *s = exec_info->strings;

	for (unsigned long i = 0; i < exec_info->argc + exec_info->envc; i++)
		s += strlen(s) + 1;
	return s;
}

static int fetch_exec_info(void)
{
	long need = (long)hypercall(HC_EXEC_INFO, virt_to_phys(exec_info_buf), EXEC_INFO_SIZE);

	if (need < 0)
		return (int)need;
	if ((unsigned long)need > EXEC_INFO_SIZE)
		return -E2BIG;
	return 0;
}

static const char *exec_error(int err)
{
	switch (-err) {
	case ENOEXEC:
		return "not a static x86-64 ELF executable";
	case ENOMEM:
		return "out of guest memory";
	case E2BIG:
		return "arguments and environment too long";
	case GUEST_EOPNOTSUPP:
		return "the VM was not started by nopin exec";
	}
	return "cannot read it";
}

static __attribute__((noreturn)) void exec_failed(const char *what, int err)
{
	printf("nopin kernel: %s: %s (%d)\n", what, exec_error(err), err);
	guest_exit(KERNEL_EXEC_STATUS);
}

static __attribute__((noreturn)) void kernel_main(void)
{
	struct exec_image img;
	unsigned long sp;
	int ret;

	fault_init();
	ret = mm_init(boot_ram_size);
	if (ret)
		panic("mm_init: %d (HC_LOAD_CR3 needs --mmu tdp or shadow)", ret);
	syscall_init();
	ret = fetch_exec_info();
	if (ret)
		exec_failed("HC_EXEC_INFO", ret);
	fs_init();
	ret = load_program(&img);
	if (ret)
		exec_failed(exec_program_path(), ret);
	hostfs_close(HOSTFS_FD_PROGRAM);
	mm_set_brk_base(img.brk);
	mm_setup_stack();
	ret = setup_stack(&img, &sp);
	if (ret)
		exec_failed(exec_program_path(), ret);
	enter_user(img.entry, sp);
}

int guest_main(unsigned int cpu, unsigned int ncpus, unsigned long ram_size)
{
	if (cpu)
		guest_halt();
	boot_ram_size = ram_size;
	call_on_kernel_stack(kernel_main);
	return 0;
}
