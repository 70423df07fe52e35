/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The nopin subcommands: each takes its own argv (argv[0] is the command
 * name) and returns the process exit status, 2 for a usage error.
 */
#ifndef NOPIN_VMM_COMMANDS_H
#define NOPIN_VMM_COMMANDS_H

#include <stdio.h>

#include "vmm/vm.h"

/* nopin pool-stress [--pool SIZE] [--threads N] [--iterations N] [--no-show-sanitizer] */
int cmd_pool_stress(int argc, char **argv);

/* nopin run [options] IMAGE: see vmm/cmd_run.c and 'nopin run --help' */
int cmd_run(int argc, char **argv);

/* nopin museum [--backend soft|kvm] [--rule N] [--guest-dir DIR] [--verbose]: vmm/cmd_museum.c */
int cmd_museum(int argc, char **argv);

/* nopin exec [run options] [--root DIR] [--rw] [--kernel FILE] PROGRAM [ARG...]: vmm/cmd_exec.c */
int cmd_exec(int argc, char **argv);

/* nopin soak [--runs N] [--seed S] [--timeout SECONDS] [--images DIR] [--verbose] */
int cmd_soak(int argc, char **argv);

/* ---- what `nopin exec` shares with `nopin run` (vmm/cmd_run.c) ---- */

struct run_options {
	struct vmm_config cfg;
	int stats;			/* --stats: 0, 1 (a table) or 2 (JSON) */
	const char *trace;		/* --trace FILE */
	const char *mem_arg, *pool_arg; /* --mem and --pool as given, for messages */
	/* exec's own, which run refuses */
	struct vmm_exec_config exec; /* root and rw */
	const char *kernel;
};

/*
 * Parse the options of `nopin @cmd` ("run" or "exec": exec stops at the
 * first argument that is not an option, its PROGRAM, and takes --root,
 * --rw and --kernel) into @o, whose cfg vmm_config_init() made; optind is
 * then the first argument left.  0; -1 when --help printed @usage; or the
 * exit status of a bad option, said on stderr.
 */
int run_parse_options(const char *cmd, int argc, char **argv, struct run_options *o,
		      void (*usage)(FILE *f));
/* The option lines of `nopin run --help`, which exec's help repeats. */
void run_options_help(FILE *f);
/*
 * Build the VM of @o, run it, print why it stopped if the guest did not
 * exit, and --stats; the exit status of `nopin @cmd` (vmm/cmd_run.c's top
 * comment).
 */
int run_vm(const char *cmd, struct run_options *o);

#endif
