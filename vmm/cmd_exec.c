// SPDX-License-Identifier: GPL-2.0
/*
 * nopin exec: run an unmodified static Linux x86-64 program on the exec
 * guest kernel (guest/kernel/), which gets the program, its arguments and
 * the VMM's environment through HC_EXEC_INFO and its files through
 * HC_HOSTFS (vmm/exec.c, vmm/hostfs.c).  Every `nopin run` option
 * applies; the guest has one vCPU.
 *
 * PROGRAM is checked before any guest runs, and refused with one line:
 * VMM_EXIT_NOT_FOUND (127) if it is missing or unreadable,
 * VMM_EXIT_CANNOT_EXEC (126) if it is not a static x86-64 ELF executable
 * (a script, 32-bit or another machine's ELF, a dynamic executable), as a
 * shell answers a command it cannot find or run.
 *
 * Exit status: the program's, which the kernel exits with (128 + N after
 * a fatal signal N, with the one-line report of HC_EXEC_FAULT on
 * stderr); otherwise `nopin run`'s (VMM_EXIT_GUEST_STOPPED,
 * VMM_EXIT_VMM_ERROR, VMM_EXIT_SANITIZER, 2 for bad options).  A program
 * that itself exits 2, 120-123, 126, 127 or 128 + N is told apart by
 * the "nopin exec: " line on stderr that comes with every status of the
 * VMM's (vmm/cmd_run.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/commands.h"
#include "vmm/exec.h"
#include "vmm/util.h"
#include "vmm/vm.h"

static void exec_usage(FILE *f)
{
	fprintf(f, "usage: nopin exec [run options] [--root DIR] [--rw] [--kernel FILE] PROGRAM "
		   "[ARG...]\n"
		   "\n"
		   "Run PROGRAM, a static Linux x86-64 executable (ET_EXEC or static-pie), with\n"
		   "its ARGs and this environment, on the exec guest kernel.  Its stdin, stdout\n"
		   "and stderr are nopin's; the guest kernel's own console goes to stderr.\n"
		   "\n"
		   "  --root DIR               the directory the program sees as / (default: the\n"
		   "                           current directory); its paths never leave it:\n"
		   "                           '..', absolute paths and symlinks stop at DIR\n"
		   "  --rw                     allow writes under DIR (default: read-only, EROFS)\n"
		   "  --kernel FILE            the guest kernel image (default: guest/kernel.elf\n"
		   "                           of the build nopin is in)\n"
		   "\n"
		   "Run options (nopin run --help), all of which apply; the guest has one vCPU.\n"
		   "--stats adds the program's system calls, each by name (syscall_openat 12)\n"
		   "and each the kernel answered ENOSYS (syscall_enosys_clone 1); with --backend\n"
		   "auto, the backend picked is said only with --stats.\n"
		   "\n");
	run_options_help(f);
	fprintf(f,
		"\n"
		"Exit status: the program's (128+N after a fatal signal N, reported on\n"
		"stderr with the address and the instruction); %d if PROGRAM is missing or\n"
		"unreadable; %d if it is not a static x86-64 ELF executable; %d if the\n"
		"guest was stopped; %d if its vCPU halted for good; %d if the VM could not\n"
		"be built or the trace written; %d if the program exited 0 but the\n"
		"sanitizer reported; 128+N after nopin got SIGINT, SIGTERM or SIGHUP;\n"
		"2 for bad options.  Each status of the VMM's own comes with a line on\n"
		"stderr beginning 'nopin exec: '.\n",
		VMM_EXIT_NOT_FOUND, VMM_EXIT_CANNOT_EXEC, VMM_EXIT_GUEST_STOPPED,
		VMM_EXIT_GUEST_HALTED, VMM_EXIT_VMM_ERROR, VMM_EXIT_SANITIZER);
}

/*
 * The default kernel: <build>/guest/kernel.elf, beside <build>/vmm/nopin,
 * found from the binary itself so it does not depend on the current
 * directory.  0, or -ENOENT with the path looked at in @path.
 */
static int default_kernel(char *path, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n <= 0) {
		snprintf(path, len, "/proc/self/exe unreadable");
		return -ENOENT;
	}
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	snprintf(path, len, "%s/../guest/kernel.elf", self);
	return access(path, R_OK) ? -ENOENT : 0;
}

int cmd_exec(int argc, char **argv)
{
	struct run_options o = { 0 };
	char kernel[PATH_MAX + 32], why[512];
	int ret;

	vmm_config_init(&o.cfg);
	ret = run_parse_options("exec", argc, argv, &o, exec_usage);
	if (ret)
		return ret < 0 ? 0 : ret;
	if (optind == argc) {
		fprintf(stderr, "nopin exec: no program given (try 'nopin exec --help')\n");
		return VMM_EXIT_USAGE;
	}
	if (o.cfg.nr_vcpus != 1) {
		fprintf(stderr, "nopin exec: the exec kernel runs on one vCPU: drop --vcpus\n");
		return VMM_EXIT_USAGE;
	}
	if (o.exec.root) {
		int fd = open(o.exec.root, O_PATH | O_DIRECTORY | O_CLOEXEC);

		if (fd < 0)
			return bad_option("exec", "--root", o.exec.root, strerror(errno));
		close(fd);
	}
	o.exec.program = argv[optind];
	o.exec.argc = argc - optind;
	o.exec.argv = argv + optind;
	o.exec.envp = environ;
	ret = vmm_exec_check_program(o.exec.program, why, sizeof(why));
	if (ret) {
		fprintf(stderr, "nopin exec: %s\n", why);
		return ret == -ENOEXEC ? VMM_EXIT_CANNOT_EXEC : VMM_EXIT_NOT_FOUND;
	}
	if (o.kernel) {
		snprintf(kernel, sizeof(kernel), "%s", o.kernel);
	} else if (default_kernel(kernel, sizeof(kernel))) {
		fprintf(stderr,
			"nopin exec: no guest kernel at %s: build the kernel target, or give "
			"--kernel FILE\n",
			kernel);
		return VMM_EXIT_VMM_ERROR;
	}
	o.cfg.image = kernel;
	o.cfg.exec = &o.exec;
	/*
	 * The terminal is the program's: no progress line, and the backend
	 * --backend auto picked is said only with --stats.
	 */
	o.cfg.progress = false;
	o.cfg.quiet = !o.stats;
	return run_vm("exec", &o);
}
