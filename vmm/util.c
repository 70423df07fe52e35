// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

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

void format_size(size_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double v = (double)bytes;
	size_t u = 0;

	while (v >= 1024 && u + 1 < ARRAY_SIZE(units)) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%zu bytes", bytes);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
}

/* A "Name:   N kB" line of /proc/meminfo, in bytes; 0 if absent. */
static size_t meminfo_bytes(const char *name)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	size_t len = strlen(name), kb = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, name, len) && line[len] == ':') {
			sscanf(line + len + 1, "%zu", &kb);
			break;
		}
	}
	fclose(f);
	return kb << 10;
}

static int overcommit_mode(void)
{
	FILE *f = fopen("/proc/sys/vm/overcommit_memory", "r");
	int mode = 0;

	if (f) {
		if (fscanf(f, "%d", &mode) != 1)
			mode = 0;
		fclose(f);
	}
	return mode;
}

static void limit_by(size_t *limit, size_t bytes, const char *why, char *what, size_t len)
{
	if (bytes && bytes < *limit) {
		*limit = bytes;
		snprintf(what, len, "%s", why);
	}
}

size_t host_memory_limit(char *what, size_t len)
{
	long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGESIZE);
	size_t limit = (size_t)-1;
	struct rlimit rl;

	snprintf(what, len, "no limit found");
	if (pages > 0 && page_size > 0)
		limit_by(&limit, (size_t)pages * page_size, "physical memory", what, len);
	if (!getrlimit(RLIMIT_AS, &rl) && rl.rlim_cur != RLIM_INFINITY)
		limit_by(&limit, rl.rlim_cur, "RLIMIT_AS (ulimit -v)", what, len);
	if (!getrlimit(RLIMIT_DATA, &rl) && rl.rlim_cur != RLIM_INFINITY)
		limit_by(&limit, rl.rlim_cur, "RLIMIT_DATA (ulimit -d)", what, len);
	if (overcommit_mode() == 2) {
		size_t commit = meminfo_bytes("CommitLimit"), used = meminfo_bytes("Committed_AS");

		limit_by(&limit, commit > used ? commit - used : 1,
			 "what strict overcommit (vm.overcommit_memory = 2) leaves to commit", what,
			 len);
	}
	return limit;
}

int fs_free_bytes(const char *path, size_t *bytes)
{
	char dir[4096];
	struct statvfs st;
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (statvfs(dir, &st))
		return -errno;
	*bytes = (size_t)st.f_bavail * st.f_frsize;
	return 0;
}
