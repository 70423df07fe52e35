/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The nopin subcommands: each takes its own argv (argv[0] is the command
 * name) and returns the process exit status, 2 for a usage error.
 */
#ifndef NOPIN_VMM_COMMANDS_H
#define NOPIN_VMM_COMMANDS_H

/* nopin pool-stress [--pool SIZE] [--threads N] [--iterations N] [--no-show-sanitizer] */
int cmd_pool_stress(int argc, char **argv);

/* nopin run [options] IMAGE: see vmm/cmd_run.c and 'nopin run --help' */
int cmd_run(int argc, char **argv);

#endif
