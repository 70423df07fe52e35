// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "vmm/util.h"
#include "vmm/vm.h"

int bad_option(const char *cmd, const char *opt, const char *arg, const char *why)
{
	fprintf(stderr, "nopin %s: bad %s '%s': %s (try 'nopin %s --help')\n", cmd, opt, arg, why,
		cmd);
	return VMM_EXIT_USAGE;
}

static int size_shift(const char *suffix)
{
	static const struct {
		const char *name;
		int shift;
	} suffixes[] = {
		{ "", 0 },    { "b", 0 },    { "k", 10 }, { "kb", 10 }, { "kib", 10 }, { "m", 20 },
		{ "mb", 20 }, { "mib", 20 }, { "g", 30 }, { "gb", 30 }, { "gib", 30 },
	};

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		if (!strcasecmp(suffix, suffixes[i].name))
			return suffixes[i].shift;
	return -1;
}

int parse_count(const char *str, unsigned long *count)
{
	unsigned long long v;
	char *end;

	if (!str || !isdigit((unsigned char)str[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(str, &end, 10);
	if (errno == ERANGE || v > (unsigned long)-1)
		return -ERANGE;
	if (*end || !v)
		return -EINVAL;
	*count = v;
	return 0;
}

int parse_size(const char *str, size_t *bytes)
{
	unsigned long long v;
	char *end;
	int shift;

	if (!str || !isdigit((unsigned char)str[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(str, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	shift = size_shift(end);
	if (shift < 0 || !v)
		return -EINVAL;
	if (v > ((size_t)-1 >> shift))
		return -ERANGE;
	*bytes = (size_t)v << shift;
	return 0;
}
