// SPDX-License-Identifier: GPL-2.0
/*
 * nopin: the command line.  Like kvmtool and git, one binary with
 * subcommands; each lives in its own vmm/cmd_*.c and returns the process exit
 * status.
 */
#include <stdio.h>
#include <string.h>

#include "base/current.h"
#include "vmm/commands.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};

static const struct command commands[] = {
	{ "run", cmd_run, "run a guest image" },
	{ "exec", cmd_exec, "run a static Linux x86-64 program on the exec guest kernel" },
	{ "museum", cmd_museum, "bring back each historical bug that broke a protocol rule" },
	{ "pool-stress", cmd_pool_stress,
	  "allocate and free frames from threads, with the sanitizer" },
	{ "soak", cmd_soak, "many short randomized runs, each checked for reports and leaks" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: nopin <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-14s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n'nopin <command> --help' describes a command's options.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	task_register("nopin-main");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "nopin: unknown command '%s' (try 'nopin --help')\n", argv[1]);
	return 2;
}
