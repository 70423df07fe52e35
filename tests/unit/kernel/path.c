// SPDX-License-Identifier: GPL-2.0
/*
 * The exec guest kernel's paths (guest/kernel/fs.c): path_join() and
 * resolve_path() on the host, the user copies stubbed as plain copies
 * (a "user address" here is a host pointer).  The VMM resolves what it
 * gets inside --root, so what matters is that every path leaves the
 * kernel absolute and normalized, and relative to the right directory.
 */
#include <string.h>

#include "tests/lib/test_util.h"

#include "guest/kernel/fs.c"

/* ---- the stubs: what fs.c calls of the rest of the kernel ---- */

long strncpy_from_user(char *dst, unsigned long usrc, unsigned long size)
{
	unsigned long n = strnlen((const char *)usrc, size);

	if (n == size)
		return -ENAMETOOLONG;
	memcpy(dst, (const char *)usrc, n + 1);
	return (long)n;
}

long copy_from_user(void *dst, unsigned long usrc, unsigned long n)
{
	memcpy(dst, (const void *)usrc, n);
	return 0;
}

long copy_to_user(unsigned long udst, const void *src, unsigned long n)
{
	memcpy((void *)udst, src, n);
	return 0;
}

void copy_bytes(void *dst, const void *src, unsigned long n)
{
	memmove(dst, src, n);
}

void fill_bytes(void *dst, int c, unsigned long n)
{
	memset(dst, c, n);
}

void *phys_to_virt(unsigned long pa)
{
	return (void *)pa;
}

unsigned long virt_to_phys(const void *va)
{
	return (unsigned long)va;
}

unsigned long frame_alloc(void)
{
	return 0;
}

void frame_free(unsigned long pa)
{
	(void)pa;
}

void signal_self(int sig)
{
	(void)sig;
}

const char *exec_program_path(void)
{
	return "bin/prog";
}

/* ---- helpers ---- */

static const char *join(const char *base, const char *rel)
{
	static char out[PATH_MAX];
	long n = path_join(base, rel, out, sizeof(out));

	TEST_ASSERT(n == (long)strlen(out), "the length returned: %ld for %s", n, out);
	return out;
}

#define EXPECT_PATH(got, want) TEST_ASSERT(!strcmp((got), (want)), "got %s, want %s", (got), (want))

/* ---- the cases ---- */

TEST(relative_paths_join_the_base_and_absolute_ones_replace_it)
{
	EXPECT_PATH(join("/", "a"), "/a");
	EXPECT_PATH(join("/x/y", "a/b"), "/x/y/a/b");
	EXPECT_PATH(join("/x/y", "/a"), "/a");
	EXPECT_PATH(join("/", "."), "/");
}

TEST(dot_dotdot_and_repeated_slashes_are_normalized)
{
	EXPECT_PATH(join("/x/y", "./a//b/."), "/x/y/a/b");
	EXPECT_PATH(join("/x/y", "../a"), "/x/a");
	EXPECT_PATH(join("/x/y", "a/../../b"), "/x/b");
	EXPECT_PATH(join("/", "a/b/"), "/a/b");
}

TEST(dotdot_stops_at_the_root)
{
	EXPECT_PATH(join("/", ".."), "/");
	EXPECT_PATH(join("/x", "../../../etc/passwd"), "/etc/passwd");
	EXPECT_PATH(join("/x", "/../.."), "/");
}

TEST(a_path_too_long_for_the_buffer_is_enametoolong)
{
	char small[8];

	TEST_ASSERT_EQ(path_join("/", "abcdefgh", small, sizeof(small)), -ENAMETOOLONG);
	TEST_ASSERT_EQ(path_join("/", "abcdef", small, sizeof(small)), 7);
}

TEST(resolve_takes_the_cwd_or_the_directory_fd)
{
	struct file *dir;

	strcpy(cwd, "/work");
	TEST_ASSERT_EQ(resolve_path(AT_FDCWD, (unsigned long)"f.txt"), 11);
	EXPECT_PATH(path_buf, "/work/f.txt");
	TEST_ASSERT_EQ(resolve_path(AT_FDCWD, (unsigned long)""), -ENOENT);

	dir = file_alloc(FILE_HOST, 0);
	strcpy(dir->path, "/data/sub");
	fd_install(7, dir, false);
	TEST_ASSERT_EQ(resolve_path(7, (unsigned long)"../g"), 7);
	EXPECT_PATH(path_buf, "/data/g");
	/* An absolute path ignores the directory fd, as openat(2) does. */
	TEST_ASSERT_EQ(resolve_path(7, (unsigned long)"/h"), 2);
	TEST_ASSERT_EQ(resolve_path(8, (unsigned long)"g"), -EBADF);
	dir->path[0] = '\0'; /* a path kept too long to store */
	TEST_ASSERT_EQ(resolve_path(7, (unsigned long)"g"), -ENOTDIR);
	fd_table[7].file = NULL;
	dir->type = FILE_NONE;
}
