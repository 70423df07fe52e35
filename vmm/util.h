/* SPDX-License-Identifier: GPL-2.0 */
/* Option parsing helpers for the nopin commands. */
#ifndef NOPIN_VMM_UTIL_H
#define NOPIN_VMM_UTIL_H

#include <stddef.h>

/*
 * A bad value of an option of `nopin @cmd`: one line on stderr naming the
 * option, the value and what was wrong; returns the usage exit status.
 */
int bad_option(const char *cmd, const char *opt, const char *arg, const char *why);

/*
 * Parse a byte count: decimal digits with an optional K, M or G suffix
 * (binary: 1K = 1024), upper or lower case, optionally followed by "B" or
 * "iB" ("64M", "256MiB", "4096").  Returns 0 and sets *@bytes, or -EINVAL
 * for anything else, zero included, and -ERANGE if it overflows.
 */
int parse_size(const char *str, size_t *bytes);

/* Parse a positive decimal count that fits an unsigned long; 0 or -EINVAL/-ERANGE. */
int parse_count(const char *str, unsigned long *count);

/* @bytes for a message: "23.4 GiB", "64.0 KiB", "512 bytes". */
void format_size(size_t bytes, char *buf, size_t len);

/*
 * The most memory this process can have, to check a size option against
 * before anything is allocated: the least of physical memory, RLIMIT_AS,
 * RLIMIT_DATA and, under strict overcommit (vm.overcommit_memory = 2),
 * what is left to commit.  @what says which, for the message.
 */
size_t host_memory_limit(char *what, size_t len);

/* The bytes an unprivileged user may still write on the file system of @path's directory. */
int fs_free_bytes(const char *path, size_t *bytes);

#endif
