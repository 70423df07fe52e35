// SPDX-License-Identifier: GPL-2.0
/*
 * The fuzzers' inputs as regression cases, without AFL++: every file of
 * tests/fuzz/<harness>/corpus/ and tests/fuzz/<harness>/crashes/ through
 * its harness (tests/fuzz/fuzz.h).  A crash AFL++ found stays here after
 * its fix, so the bug cannot come back unnoticed; the corpus keeps the
 * harness itself working (most of it must be judged, not skipped).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "tests/lib/test_util.h"

struct fuzz_tally {
	unsigned int files, ok, skipped;
};

static void fuzz_dir(const char *harness, const char *sub,
		     enum fuzz_result (*one)(const uint8_t *, size_t), struct fuzz_tally *t)
{
	static uint8_t buf[1 << 20];
	char dir[4096], path[8192];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/tests/fuzz/%s/%s", NOPIN_SOURCE_DIR, harness, sub);
	d = opendir(dir);
	TEST_ASSERT(d, "opendir %s", dir);
	while ((de = readdir(d))) {
		enum fuzz_result r;
		FILE *f;
		size_t n;

		if (de->d_name[0] == '.' || !strncmp(de->d_name, "README", 6))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		f = fopen(path, "rb");
		TEST_ASSERT(f, "open %s", path);
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		r = one(buf, n);
		TEST_ASSERT(r != FUZZ_BUG, "%s: the harness found a bug (above)", path);
		t->files++;
		t->ok += r == FUZZ_OK;
		t->skipped += r == FUZZ_SKIP;
	}
	closedir(d);
}

TEST(elf_corpus_and_crashes)
{
	struct fuzz_tally t = {};

	fuzz_dir("elf", "corpus", fuzz_elf_one, &t);
	TEST_ASSERT(t.files >= 4 && t.ok == t.files, "%u files, %u judged", t.files, t.ok);
	fuzz_dir("elf", "crashes", fuzz_elf_one, &t);
}

TEST(soft_corpus_and_crashes)
{
	struct fuzz_tally t = {};

	fuzz_dir("soft", "corpus", fuzz_soft_one, &t);
	TEST_ASSERT(t.files >= 4 && t.ok * 2 > t.files, "%u files, %u judged, %u skipped", t.files,
		    t.ok, t.skipped);
	fuzz_dir("soft", "crashes", fuzz_soft_one, &t);
	fprintf(stderr, "soft: %u files, %u judged, %u skipped\n", t.files, t.ok, t.skipped);
}
