// SPDX-License-Identifier: GPL-2.0
/*
 * The input files of the exec workloads (issue 16), generated at build time
 * from a fixed LCG, so every machine gets the same bytes without keeping
 * megabytes of data in the tree:
 *
 *   text.txt   LINES lines "word number word" (sort, awk, sed, wc, gzip)
 *   data.bin   KIB KiB of pseudo-random bytes (sha256sum, md5sum, od, wc)
 *
 *   exec_gen DIR [LINES [KIB]]    (default 10000 lines, 512 KiB)
 */
#include <stdio.h>
#include <stdlib.h>

static unsigned long long lcg_state = 2026;

static unsigned int lcg(void)
{
	lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned int)(lcg_state >> 33);
}

static FILE *create(const char *dir, const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(1);
	}
	return f;
}

static void done(FILE *f, const char *name)
{
	if (ferror(f) || fclose(f)) {
		fprintf(stderr, "exec_gen: writing %s failed\n", name);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	static const char *const words[] = { "page",	 "frame", "guest",  "host",
					     "notifier", "srcu",  "shadow", "reclaim",
					     "migrate",	 "pin",	  "fault",  "tlb" };
	long lines = argc > 2 ? atol(argv[2]) : 10000;
	long kib = argc > 3 ? atol(argv[3]) : 512;
	FILE *f;
	long i;

	if (argc < 2) {
		fprintf(stderr, "usage: exec_gen DIR [LINES [KIB]]\n");
		return 2;
	}
	f = create(argv[1], "text.txt");
	for (i = 0; i < lines; i++)
		fprintf(f, "%s %u %s\n", words[lcg() % 12], lcg() % 100000, words[lcg() % 12]);
	done(f, "text.txt");
	f = create(argv[1], "data.bin");
	for (i = 0; i < kib * 1024; i++)
		putc((int)(lcg() & 0xff), f);
	done(f, "data.bin");
	return 0;
}
