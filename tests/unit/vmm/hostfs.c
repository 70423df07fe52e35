// SPDX-License-Identifier: GPL-2.0
/*
 * The host file interface (vmm/hostfs.c), called as HC_HOSTFS calls it,
 * with each struct hostfs_req and buffer in the guest RAM of a VM built
 * for `nopin exec` but not run: paths stay in the root whatever they say
 * (.., absolute paths, absolute and relative symlinks out, a loop, a
 * magic link); writes are -EROFS without --rw and work with it; read,
 * write, lseek and positioned reads and writes move the position as
 * read(2) and pread(2) do; fstat, stat, getdents64, readlink and access
 * answer as the host's calls; bad handles, ops, flags and buffers are
 * refused; a buffer across pages comes through whole while the host
 * reclaims its pages between the pieces of the call; and a store into
 * RAM the host made read-only for a while waits until it is writable.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/current.h"
#include "base/wait.h"
#include "mm/page.h"
#include "tests/lib/mm_util.h"
#include "tests/lib/test_util.h"
#include "tests/lib/vmm_util.h"
#include "vmm/exec.h"
#include "vmm/hostfs.h"
#include "vmm/vm.h"

/* Where the tests put a request and its buffers in guest RAM (8M from GUEST_RAM_BASE). */
#define REQ_GPA (GUEST_RAM_BASE + (2UL << 20))
#define PATH_GPA (REQ_GPA + 0x1000)
#define BUF_GPA (REQ_GPA + 0x10000)

static const char hello[] = "hello, world\n";

struct fs_test {
	struct vmm *vm;
	struct vmm_hostfs *fs;
	struct vmm_exec_config exec;
	char *argv[1];
	char dir[64];
	char root[96];
	char program[4096];
};

static void put_file(const char *dir, const char *name, const void *buf, size_t len)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	TEST_ASSERT(fd >= 0 && write(fd, buf, len) == (ssize_t)len, "write %s", path);
	close(fd);
}

static void put_link(const char *dir, const char *name, const char *target)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	TEST_ASSERT(!symlink(target, path), "symlink %s", path);
}

/*
 * A VM for exec with @root as its root (NULL: a fresh one holding
 * hello.txt, sub/{a,b}, and the links abs -> /hello.txt, out_abs -> the
 * secret beside the root by its host path, out_rel -> ../secret, loop ->
 * loop), and the secret beside it.  RAM as large as the pool, so the host
 * has a swap file to reclaim it to.
 */
static void fs_test_create(struct fs_test *t, const char *root, bool rw)
{
	struct vmm_config cfg;
	char err[512], target[160];

	memset(t, 0, sizeof(*t));
	snprintf(t->dir, sizeof(t->dir), "/tmp/nopin-hostfs-XXXXXX");
	TEST_ASSERT(mkdtemp(t->dir), "mkdtemp");
	snprintf(t->root, sizeof(t->root), "%s/root", t->dir);
	TEST_ASSERT(!mkdir(t->root, 0755), "mkdir");
	put_file(t->dir, "secret", "secret\n", 7);
	put_file(t->root, "hello.txt", hello, strlen(hello));
	snprintf(target, sizeof(target), "%s/sub", t->root);
	TEST_ASSERT(!mkdir(target, 0755), "mkdir sub");
	put_file(target, "a", "a", 1);
	put_file(target, "b", "b", 1);
	put_link(t->root, "abs", "/hello.txt");
	snprintf(target, sizeof(target), "%s/secret", t->dir);
	put_link(t->root, "out_abs", target);
	put_link(t->root, "out_rel", "../secret");
	put_link(t->root, "loop", "loop");

	guest_config(&cfg, "hello");
	cfg.pool_bytes = cfg.mem_bytes;
	snprintf(t->program, sizeof(t->program), "%s", cfg.image);
	t->argv[0] = t->program;
	t->exec = (struct vmm_exec_config){ .program = t->program,
					    .argc = 1,
					    .argv = t->argv,
					    .root = root ? root : t->root,
					    .rw = rw };
	cfg.exec = &t->exec;
	TEST_ASSERT(!vmm_create(&cfg, &t->vm, err, sizeof(err)), "vmm_create: %s", err);
	t->fs = &t->vm->exec->fs;
}

static void fs_test_destroy(struct fs_test *t)
{
	char cmd[128];

	vmm_destroy(t->vm);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	TEST_ASSERT(!system(cmd), "%s", cmd);
}

/* Make the call as the guest does, with the request at REQ_GPA; check rax == req.ret. */
static long call(struct fs_test *t, struct hostfs_req req)
{
	struct hostfs_req back;
	long ret;

	req.ret = 0x5a5a;
	TEST_ASSERT_EQ(vmm_write_guest(t->vm, REQ_GPA, &req, sizeof(req)), 0);
	ret = hostfs_call(t->fs, REQ_GPA);
	TEST_ASSERT_EQ(vmm_read_guest(t->vm, REQ_GPA, &back, sizeof(back)), 0);
	TEST_ASSERT(back.ret == ret, "op %lu: req.ret %ld, rax %ld", req.op, back.ret, ret);
	return ret;
}

/* The path in guest RAM at PATH_GPA, as the ABI has it: no NUL. */
static struct hostfs_req path_req(struct fs_test *t, unsigned long op, const char *path)
{
	TEST_ASSERT_EQ(vmm_write_guest(t->vm, PATH_GPA, path, strlen(path)), 0);
	return (struct hostfs_req){ .op = op, .fd = -1, .gpa = PATH_GPA, .len = strlen(path) };
}

static long open_path(struct fs_test *t, const char *path, unsigned long flags)
{
	struct hostfs_req req = path_req(t, HOSTFS_OPEN, path);

	req.flags = flags;
	req.mode = 0644;
	return call(t, req);
}

static long rw_call(struct fs_test *t, unsigned long op, long fd, uint64_t gpa, size_t len,
		    unsigned long off)
{
	return call(t,
		    (struct hostfs_req){ .op = op, .fd = fd, .gpa = gpa, .len = len, .off = off });
}

/* READ into BUF_GPA; the bytes read, NUL-terminated, in @out. */
static long read_into(struct fs_test *t, long fd, size_t len, unsigned long off, char *out)
{
	long n = rw_call(t, HOSTFS_READ, fd, BUF_GPA, len, off);

	if (n > 0)
		TEST_ASSERT_EQ(vmm_read_guest(t->vm, BUF_GPA, out, n), 0);
	out[n > 0 ? n : 0] = '\0';
	return n;
}

static long write_from(struct fs_test *t, long fd, const char *text, unsigned long off)
{
	TEST_ASSERT_EQ(vmm_write_guest(t->vm, BUF_GPA, text, strlen(text)), 0);
	return rw_call(t, HOSTFS_WRITE, fd, BUF_GPA, strlen(text), off);
}

static long stat_path(struct fs_test *t, const char *path, unsigned long flags, struct stat *st)
{
	struct hostfs_req req = path_req(t, HOSTFS_STAT, path);
	long ret;

	req.flags = flags;
	req.buf_gpa = BUF_GPA;
	req.buf_len = sizeof(*st);
	ret = call(t, req);
	if (!ret)
		TEST_ASSERT_EQ(vmm_read_guest(t->vm, BUF_GPA, st, sizeof(*st)), 0);
	return ret;
}

static long readlink_path(struct fs_test *t, const char *path, size_t len, char *out)
{
	struct hostfs_req req = path_req(t, HOSTFS_READLINK, path);
	long n;

	req.buf_gpa = BUF_GPA;
	req.buf_len = len;
	n = call(t, req);
	if (n > 0)
		TEST_ASSERT_EQ(vmm_read_guest(t->vm, BUF_GPA, out, n), 0);
	out[n > 0 ? n : 0] = '\0';
	return n;
}

static long access_path(struct fs_test *t, const char *path, unsigned long mode)
{
	struct hostfs_req req = path_req(t, HOSTFS_ACCESS, path);

	req.mode = mode;
	return call(t, req);
}

static long close_fd(struct fs_test *t, long fd)
{
	return call(t, (struct hostfs_req){ .op = HOSTFS_CLOSE, .fd = fd });
}

TEST(paths_stay_in_the_root)
{
	struct fs_test t;
	char buf[64];
	long fd;

	fs_test_create(&t, NULL, false);
	/* Relative and absolute name the same file: "/" is the root. */
	fd = open_path(&t, "hello.txt", O_RDONLY);
	TEST_ASSERT(fd > HOSTFS_FD_PROGRAM, "a new handle: %ld", fd);
	TEST_ASSERT_EQ(read_into(&t, fd, sizeof(buf) - 1, HOSTFS_POS, buf), (long)strlen(hello));
	TEST_ASSERT(!strcmp(buf, hello), "read '%s'", buf);
	TEST_ASSERT_EQ(close_fd(&t, fd), 0);
	fd = open_path(&t, "/hello.txt", O_RDONLY);
	TEST_ASSERT(fd >= 0, "absolute: %ld", fd);
	close_fd(&t, fd);
	/* .. stops at the root, as at "/". */
	TEST_ASSERT_EQ(open_path(&t, "/../hello.txt", O_RDONLY) >= 0, 1);
	TEST_ASSERT_EQ(open_path(&t, "../secret", O_RDONLY), -ENOENT);
	TEST_ASSERT_EQ(open_path(&t, "sub/../../secret", O_RDONLY), -ENOENT);
	TEST_ASSERT_EQ(open_path(&t, "/../../secret", O_RDONLY), -ENOENT);
	/* An absolute symlink is resolved in the root. */
	fd = open_path(&t, "abs", O_RDONLY);
	TEST_ASSERT(fd >= 0, "abs: %ld", fd);
	TEST_ASSERT(read_into(&t, fd, sizeof(buf) - 1, HOSTFS_POS, buf) > 0 && !strcmp(buf, hello),
		    "abs reads hello.txt: '%s'", buf);
	/* Symlinks out of the root, by host path or by .., lead nowhere. */
	TEST_ASSERT_EQ(open_path(&t, "out_abs", O_RDONLY), -ENOENT);
	TEST_ASSERT_EQ(open_path(&t, "out_rel", O_RDONLY), -ENOENT);
	TEST_ASSERT_EQ(open_path(&t, "loop", O_RDONLY), -ELOOP);
	TEST_ASSERT_EQ(open_path(&t, "abs", O_RDONLY | O_NOFOLLOW), -ELOOP);
	/* The other path ops resolve the same way. */
	{
		struct stat st;

		TEST_ASSERT_EQ(stat_path(&t, "../secret", 0, &st), -ENOENT);
		TEST_ASSERT_EQ(stat_path(&t, "out_abs", 0, &st), -ENOENT);
		TEST_ASSERT_EQ(access_path(&t, "out_rel", F_OK), -ENOENT);
		TEST_ASSERT_EQ(access_path(&t, "loop", F_OK), -ELOOP);
		TEST_ASSERT_EQ(readlink_path(&t, "../out_abs", 64, buf), (long)strlen(t.dir) + 7);
	}
	fs_test_destroy(&t);
}

/* With the host's / as the root, a /proc magic link is still no way out. */
TEST(magic_links_are_not_followed)
{
	struct fs_test t;
	long fd;

	fs_test_create(&t, "/", false);
	TEST_ASSERT_EQ(open_path(&t, "/proc/self/root/etc/hostname", O_RDONLY), -ELOOP);
	TEST_ASSERT_EQ(open_path(&t, "/proc/self/fd/0", O_RDONLY), -ELOOP);
	fd = open_path(&t, "/proc/self/status", O_RDONLY);
	TEST_ASSERT(fd >= 0, "an ordinary /proc file opens: %ld", fd);
	fs_test_destroy(&t);
}

TEST(writes_need_rw)
{
	struct fs_test t;
	char path[256], buf[64];
	long fd;

	fs_test_create(&t, NULL, false);
	TEST_ASSERT_EQ(open_path(&t, "hello.txt", O_WRONLY), -EROFS);
	TEST_ASSERT_EQ(open_path(&t, "hello.txt", O_RDWR), -EROFS);
	TEST_ASSERT_EQ(open_path(&t, "hello.txt", O_RDONLY | O_TRUNC), -EROFS);
	TEST_ASSERT_EQ(open_path(&t, "new", O_RDONLY | O_CREAT), -EROFS);
	TEST_ASSERT_EQ(access_path(&t, "hello.txt", W_OK), -EROFS);
	TEST_ASSERT_EQ(access_path(&t, "hello.txt", R_OK), 0);
	fd = open_path(&t, "hello.txt", O_RDONLY);
	TEST_ASSERT_EQ(write_from(&t, fd, "x", HOSTFS_POS), -EROFS);
	TEST_ASSERT_EQ(write_from(&t, HOSTFS_FD_PROGRAM, "x", 0), -EROFS);
	snprintf(path, sizeof(path), "%s/new", t.root);
	TEST_ASSERT(access(path, F_OK), "nothing was made");
	fs_test_destroy(&t);

	fs_test_create(&t, NULL, true);
	fd = open_path(&t, "new", O_WRONLY | O_CREAT | O_EXCL);
	TEST_ASSERT(fd >= 0, "created: %ld", fd);
	TEST_ASSERT_EQ(write_from(&t, fd, "abc", HOSTFS_POS), 3);
	TEST_ASSERT_EQ(write_from(&t, fd, "def", HOSTFS_POS), 3);
	/* pwrite: at its offset, the position stays. */
	TEST_ASSERT_EQ(write_from(&t, fd, "XY", 1), 2);
	TEST_ASSERT_EQ(write_from(&t, fd, "g", HOSTFS_POS), 1);
	close_fd(&t, fd);
	snprintf(path, sizeof(path), "%s/new", t.root);
	{
		int hfd = open(path, O_RDONLY);
		ssize_t n = read(hfd, buf, sizeof(buf) - 1);

		close(hfd);
		buf[n > 0 ? n : 0] = '\0';
		TEST_ASSERT(!strcmp(buf, "aXYdefg"), "the file holds '%s'", buf);
	}
	TEST_ASSERT_EQ(open_path(&t, "new", O_WRONLY | O_CREAT | O_EXCL), -EEXIST);
	fd = open_path(&t, "new", O_WRONLY | O_APPEND);
	TEST_ASSERT_EQ(write_from(&t, fd, "!", HOSTFS_POS), 1);
	TEST_ASSERT_EQ(access_path(&t, "new", W_OK), 0);
	/* With --rw a handle opened for reading is still not written: the host says so. */
	fd = open_path(&t, "hello.txt", O_RDONLY);
	TEST_ASSERT_EQ(write_from(&t, fd, "x", HOSTFS_POS), -EBADF);
	TEST_ASSERT_EQ(write_from(&t, HOSTFS_FD_PROGRAM, "x", 0), -EBADF);
	fs_test_destroy(&t);
}

TEST(read_lseek_and_pread_move_the_position_as_linux_does)
{
	struct fs_test t;
	char buf[64];
	long fd;

	fs_test_create(&t, NULL, false);
	fd = open_path(&t, "hello.txt", O_RDONLY);
	TEST_ASSERT_EQ(read_into(&t, fd, 5, HOSTFS_POS, buf), 5);
	TEST_ASSERT(!strcmp(buf, "hello"), "'%s'", buf);
	/* pread at an offset: the position stays where it was. */
	TEST_ASSERT_EQ(read_into(&t, fd, 5, 7, buf), 5);
	TEST_ASSERT(!strcmp(buf, "world"), "'%s'", buf);
	TEST_ASSERT_EQ(read_into(&t, fd, 2, HOSTFS_POS, buf), 2);
	TEST_ASSERT(!strcmp(buf, ", "), "'%s'", buf);
	TEST_ASSERT_EQ(call(&t,
			    (struct hostfs_req){
				    .op = HOSTFS_LSEEK, .fd = fd, .off = 0, .flags = SEEK_CUR }),
		       7);
	TEST_ASSERT_EQ(call(&t,
			    (struct hostfs_req){
				    .op = HOSTFS_LSEEK, .fd = fd, .off = -1UL, .flags = SEEK_END }),
		       12);
	TEST_ASSERT_EQ(read_into(&t, fd, 64, HOSTFS_POS, buf), 1);
	TEST_ASSERT(!strcmp(buf, "\n"), "'%s'", buf);
	/* At the end: 0, and a pread past it too. */
	TEST_ASSERT_EQ(read_into(&t, fd, 64, HOSTFS_POS, buf), 0);
	TEST_ASSERT_EQ(read_into(&t, fd, 64, 1000, buf), 0);
	TEST_ASSERT_EQ(call(&t,
			    (struct hostfs_req){
				    .op = HOSTFS_LSEEK, .fd = fd, .off = 0, .flags = SEEK_SET }),
		       0);
	TEST_ASSERT_EQ(call(&t,
			    (struct hostfs_req){
				    .op = HOSTFS_LSEEK, .fd = fd, .off = -5UL, .flags = SEEK_SET }),
		       -EINVAL);
	TEST_ASSERT_EQ(call(&t, (struct hostfs_req){ .op = HOSTFS_LSEEK, .fd = fd, .flags = 9 }),
		       -EINVAL);
	/* A zero-length read reads nothing, wherever its buffer says. */
	TEST_ASSERT_EQ(rw_call(&t, HOSTFS_READ, fd, 0, 0, HOSTFS_POS), 0);
	/* The program file is handle 3, readable from the start. */
	TEST_ASSERT_EQ(read_into(&t, HOSTFS_FD_PROGRAM, 4, 0, buf), 4);
	TEST_ASSERT(!memcmp(buf, "\177ELF", 4), "the program's ELF magic");
	fs_test_destroy(&t);
}

TEST(fstat_stat_readlink_access_answer_as_the_host)
{
	struct fs_test t;
	struct stat st, host;
	char buf[PATH_MAX], path[256];
	long fd;

	fs_test_create(&t, NULL, false);
	snprintf(path, sizeof(path), "%s/hello.txt", t.root);
	TEST_ASSERT(!stat(path, &host), "stat");
	fd = open_path(&t, "hello.txt", O_RDONLY);
	TEST_ASSERT_EQ(call(&t, (struct hostfs_req){ .op = HOSTFS_FSTAT,
						     .fd = fd,
						     .gpa = BUF_GPA,
						     .len = sizeof(st) }),
		       0);
	TEST_ASSERT_EQ(vmm_read_guest(t.vm, BUF_GPA, &st, sizeof(st)), 0);
	TEST_ASSERT(!memcmp(&st, &host, sizeof(st)), "fstat is the host's struct stat");
	TEST_ASSERT_EQ(call(&t, (struct hostfs_req){ .op = HOSTFS_FSTAT,
						     .fd = fd,
						     .gpa = BUF_GPA,
						     .len = sizeof(st) - 1 }),
		       -EINVAL);
	/* stat follows a link; with AT_SYMLINK_NOFOLLOW it is the link's own. */
	TEST_ASSERT_EQ(stat_path(&t, "abs", 0, &st), 0);
	TEST_ASSERT(st.st_ino == host.st_ino && S_ISREG(st.st_mode), "stat abs is hello.txt");
	TEST_ASSERT_EQ(stat_path(&t, "abs", AT_SYMLINK_NOFOLLOW, &st), 0);
	TEST_ASSERT(S_ISLNK(st.st_mode) && st.st_size == 10, "lstat abs is a 10-byte link");
	TEST_ASSERT_EQ(stat_path(&t, "sub", 0, &st), 0);
	TEST_ASSERT(S_ISDIR(st.st_mode), "sub is a directory");
	TEST_ASSERT_EQ(stat_path(&t, "missing", 0, &st), -ENOENT);
	TEST_ASSERT_EQ(stat_path(&t, "hello.txt", AT_REMOVEDIR, &st), -EINVAL);
	/* readlink: the target as written, cut to the buffer, and -EINVAL for no link. */
	TEST_ASSERT_EQ(readlink_path(&t, "abs", sizeof(buf), buf), 10);
	TEST_ASSERT(!strcmp(buf, "/hello.txt"), "'%s'", buf);
	TEST_ASSERT_EQ(readlink_path(&t, "abs", 4, buf), 4);
	TEST_ASSERT(!strcmp(buf, "/hel"), "'%s'", buf);
	TEST_ASSERT_EQ(readlink_path(&t, "hello.txt", sizeof(buf), buf), -EINVAL);
	TEST_ASSERT_EQ(readlink_path(&t, "missing", sizeof(buf), buf), -ENOENT);
	TEST_ASSERT_EQ(readlink_path(&t, "abs", 0, buf), -EINVAL);
	/* access */
	TEST_ASSERT_EQ(access_path(&t, "hello.txt", F_OK), 0);
	TEST_ASSERT_EQ(access_path(&t, "hello.txt", R_OK), 0);
	TEST_ASSERT_EQ(access_path(&t, "missing", F_OK), -ENOENT);
	TEST_ASSERT_EQ(access_path(&t, "hello.txt", 8), -EINVAL);
	if (geteuid()) /* root may execute anything with an x bit, and this has none */
		TEST_ASSERT_EQ(access_path(&t, "hello.txt", X_OK), -EACCES);
	/* isatty: a file is none. */
	TEST_ASSERT_EQ(call(&t, (struct hostfs_req){ .op = HOSTFS_ISATTY, .fd = fd }), 0);
	fs_test_destroy(&t);
}

TEST(getdents64_lists_a_directory)
{
	struct fs_test t;
	char buf[4096];
	bool seen_a = false, seen_b = false, seen_dot = false;
	long fd, n;

	fs_test_create(&t, NULL, false);
	fd = open_path(&t, "sub", O_RDONLY | O_DIRECTORY);
	TEST_ASSERT(fd >= 0, "open sub: %ld", fd);
	n = rw_call(&t, HOSTFS_GETDENTS64, fd, BUF_GPA, sizeof(buf), 0);
	TEST_ASSERT(n > 0 && n <= (long)sizeof(buf), "getdents64: %ld", n);
	TEST_ASSERT_EQ(vmm_read_guest(t.vm, BUF_GPA, buf, n), 0);
	for (long off = 0; off < n;) {
		struct dirent64 *d = (struct dirent64 *)(buf + off);

		seen_a |= !strcmp(d->d_name, "a") && d->d_type == DT_REG;
		seen_b |= !strcmp(d->d_name, "b");
		seen_dot |= !strcmp(d->d_name, "..") && d->d_type == DT_DIR;
		TEST_ASSERT(d->d_reclen > 0, "a record");
		off += d->d_reclen;
	}
	TEST_ASSERT(seen_a && seen_b && seen_dot, "a, b and .. listed");
	/* Then the end; a buffer too small for a record is the host's -EINVAL. */
	TEST_ASSERT_EQ(rw_call(&t, HOSTFS_GETDENTS64, fd, BUF_GPA, sizeof(buf), 0), 0);
	TEST_ASSERT_EQ(
		call(&t, (struct hostfs_req){ .op = HOSTFS_LSEEK, .fd = fd, .flags = SEEK_SET }),
		0);
	TEST_ASSERT_EQ(rw_call(&t, HOSTFS_GETDENTS64, fd, BUF_GPA, 8, 0), -EINVAL);
	/* A file is not a directory. */
	TEST_ASSERT_EQ(open_path(&t, "hello.txt", O_RDONLY | O_DIRECTORY), -ENOTDIR);
	fd = open_path(&t, "hello.txt", O_RDONLY);
	TEST_ASSERT_EQ(rw_call(&t, HOSTFS_GETDENTS64, fd, BUF_GPA, sizeof(buf), 0), -ENOTDIR);
	fs_test_destroy(&t);
}

TEST(bad_handles_ops_flags_and_buffers_are_refused)
{
	struct fs_test t;
	uint64_t ram_end;
	struct hostfs_req req;
	char buf[16], longpath[PATH_MAX + 8];
	long fd;

	fs_test_create(&t, NULL, false);
	ram_end = GUEST_RAM_BASE + t.vm->cfg.mem_bytes;
	/* Handles: out of range, never opened, closed. */
	TEST_ASSERT_EQ(read_into(&t, -1, 4, HOSTFS_POS, buf), -EBADF);
	TEST_ASSERT_EQ(read_into(&t, HOSTFS_MAX_FDS, 4, HOSTFS_POS, buf), -EBADF);
	TEST_ASSERT_EQ(read_into(&t, 100, 4, HOSTFS_POS, buf), -EBADF);
	fd = open_path(&t, "hello.txt", O_RDONLY);
	TEST_ASSERT_EQ(close_fd(&t, fd), 0);
	TEST_ASSERT_EQ(close_fd(&t, fd), -EBADF);
	TEST_ASSERT_EQ(read_into(&t, fd, 4, HOSTFS_POS, buf), -EBADF);
	TEST_ASSERT_EQ(call(&t,
			    (struct hostfs_req){
				    .op = HOSTFS_FSTAT, .fd = fd, .gpa = BUF_GPA, .len = 144 }),
		       -EBADF);
	TEST_ASSERT_EQ(call(&t, (struct hostfs_req){ .op = HOSTFS_ISATTY, .fd = 7 }), -EBADF);
	/* Closing stdout drops the handle, not the VMM's own fd 1. */
	TEST_ASSERT_EQ(close_fd(&t, HOSTFS_FD_STDOUT), 0);
	TEST_ASSERT(fcntl(STDOUT_FILENO, F_GETFD) >= 0, "the VMM's stdout is open");
	TEST_ASSERT_EQ(write_from(&t, HOSTFS_FD_STDOUT, "x", HOSTFS_POS), -EBADF);
	/* Ops and flags. */
	TEST_ASSERT_EQ(call(&t, (struct hostfs_req){ .op = 0 }), -EINVAL);
	TEST_ASSERT_EQ(call(&t, (struct hostfs_req){ .op = HOSTFS_ISATTY + 1 }), -EINVAL);
	TEST_ASSERT_EQ(open_path(&t, "hello.txt", O_PATH), -EINVAL);
	TEST_ASSERT_EQ(open_path(&t, "sub", O_TMPFILE | O_RDWR), -EINVAL);
	TEST_ASSERT_EQ(open_path(&t, "hello.txt", O_ACCMODE), -EINVAL);
	TEST_ASSERT(open_path(&t, "hello.txt", O_RDONLY | O_CLOEXEC | 0100000) >= 0,
		    "O_CLOEXEC and the kernel's O_LARGEFILE are taken");
	/* Paths: empty, a NUL inside, too long. */
	TEST_ASSERT_EQ(open_path(&t, "", O_RDONLY), -ENOENT);
	req = path_req(&t, HOSTFS_OPEN, "hello.txt");
	TEST_ASSERT_EQ(vmm_write_guest(t.vm, PATH_GPA + 5, "\0", 1), 0);
	TEST_ASSERT_EQ(call(&t, req), -EINVAL);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	TEST_ASSERT_EQ(open_path(&t, longpath, O_RDONLY), -ENAMETOOLONG);
	/* A request outside RAM, or across its end. */
	TEST_ASSERT_EQ(hostfs_call(t.fs, 0), -EFAULT);
	TEST_ASSERT_EQ(hostfs_call(t.fs, GUEST_RAM_BASE - 8), -EFAULT);
	TEST_ASSERT_EQ(hostfs_call(t.fs, ram_end - 8), -EFAULT);
	TEST_ASSERT_EQ(hostfs_call(t.fs, -64UL), -EFAULT);
	/* Buffers outside RAM, across its end, or wrapping. */
	fd = open_path(&t, "hello.txt", O_RDONLY);
	TEST_ASSERT_EQ(rw_call(&t, HOSTFS_READ, fd, 0x1000, 4, HOSTFS_POS), -EFAULT);
	TEST_ASSERT_EQ(rw_call(&t, HOSTFS_READ, fd, ram_end - 2, 4, HOSTFS_POS), -EFAULT);
	TEST_ASSERT_EQ(rw_call(&t, HOSTFS_READ, fd, BUF_GPA, -BUF_GPA, HOSTFS_POS), -EFAULT);
	TEST_ASSERT_EQ(rw_call(&t, HOSTFS_WRITE, HOSTFS_FD_STDERR, ram_end, 1, HOSTFS_POS),
		       -EFAULT);
	TEST_ASSERT_EQ(call(&t,
			    (struct hostfs_req){
				    .op = HOSTFS_FSTAT, .fd = fd, .gpa = ram_end - 8, .len = 144 }),
		       -EFAULT);
	req = path_req(&t, HOSTFS_OPEN, "hello.txt");
	req.gpa = ram_end - 4;
	TEST_ASSERT_EQ(call(&t, req), -EFAULT);
	/* The position did not move for the refused reads. */
	TEST_ASSERT_EQ(read_into(&t, fd, 5, HOSTFS_POS, buf), 5);
	fs_test_destroy(&t);
}

TEST(the_handle_table_fills_up)
{
	struct fs_test t;
	long fd, opened = 0;

	fs_test_create(&t, NULL, false);
	while ((fd = open_path(&t, "hello.txt", O_RDONLY)) >= 0)
		opened++;
	TEST_ASSERT_EQ(fd, -EMFILE);
	TEST_ASSERT_EQ(opened, HOSTFS_MAX_FDS - 4);
	TEST_ASSERT_EQ(close_fd(&t, 10), 0);
	TEST_ASSERT_EQ(open_path(&t, "hello.txt", O_RDONLY), 10);
	fs_test_destroy(&t);
}

/* The host takes the pages of the buffer as the call goes, one after each piece. */
struct reclaimer {
	struct vmm *vm;
	unsigned long pieces, reclaimed;
};

static void reclaim_around(void *arg, uint64_t gpa)
{
	struct reclaimer *r = arg;
	unsigned long hva = r->vm->ram_hva + (gpa - GUEST_RAM_BASE);

	r->pieces++;
	/* The page just copied, then the next one before the call reaches it. */
	r->reclaimed += mm_try_pageout(r->vm->mm, hva & PAGE_MASK);
	r->reclaimed += mm_try_pageout(r->vm->mm, (hva & PAGE_MASK) + PAGE_SIZE);
}

TEST(a_buffer_across_pages_survives_reclaim_mid_call)
{
	enum { LEN = 3 * 4096 + 100 };
	static char data[LEN], back[LEN];
	struct reclaimer rec;
	struct fs_test t;
	/* Unaligned, so the pieces are a head, whole pages and a tail. */
	uint64_t gpa = BUF_GPA + 0x10000 + 123;
	char path[256];
	long fd;

	fs_test_create(&t, NULL, true);
	for (int i = 0; i < LEN; i++)
		data[i] = (char)mm_pattern_byte(i, 7);
	put_file(t.root, "data", data, LEN);
	rec = (struct reclaimer){ .vm = t.vm };
	t.fs->after_piece = reclaim_around;
	t.fs->after_piece_arg = &rec;

	/* READ: into pages reclaimed around it as it writes them. */
	memset(back, 0xee, LEN);
	TEST_ASSERT_EQ(vmm_write_guest(t.vm, gpa, back, LEN), 0);
	fd = open_path(&t, "data", O_RDONLY);
	rec.pieces = rec.reclaimed = 0;
	TEST_ASSERT_EQ(rw_call(&t, HOSTFS_READ, fd, gpa, LEN, HOSTFS_POS), LEN);
	TEST_ASSERT(rec.pieces >= 4 && rec.reclaimed >= 4, "%lu pieces, %lu pages reclaimed",
		    rec.pieces, rec.reclaimed);
	t.fs->after_piece = NULL;
	TEST_ASSERT_EQ(vmm_read_guest(t.vm, gpa, back, LEN), 0);
	TEST_ASSERT(!memcmp(back, data, LEN), "the data read survived reclaim");

	/* WRITE: from pages reclaimed before it reads them. */
	fd = open_path(&t, "copy", O_WRONLY | O_CREAT);
	t.fs->after_piece = reclaim_around;
	rec.pieces = rec.reclaimed = 0;
	mm_try_pageout(t.vm->mm, t.vm->ram_hva + (gpa - GUEST_RAM_BASE));
	TEST_ASSERT_EQ(rw_call(&t, HOSTFS_WRITE, fd, gpa, LEN, HOSTFS_POS), LEN);
	TEST_ASSERT(rec.pieces >= 4 && rec.reclaimed >= 4, "%lu pieces, %lu pages reclaimed",
		    rec.pieces, rec.reclaimed);
	snprintf(path, sizeof(path), "%s/copy", t.root);
	{
		int hfd = open(path, O_RDONLY);

		TEST_ASSERT(hfd >= 0 && read(hfd, back, LEN) == LEN, "read copy");
		close(hfd);
	}
	TEST_ASSERT(!memcmp(back, data, LEN), "the data written survived reclaim");
	t.fs->after_piece = NULL;
	fs_test_destroy(&t);
}

/*
 * The mprotect agent's window: guest RAM read-only for a while.  A host
 * file call's store into it waits for the window to close, as a guest
 * store does, rather than failing the program's read with -EFAULT.  The
 * window here closes once the call is seen waiting in it.
 */
struct window {
	struct vmm *vm;
	unsigned long hva;
	size_t len;
	pthread_t thread;
};

static void *close_window_when_waited_on(void *arg)
{
	struct window *w = arg;
	struct pressure *p = &w->vm->pressure;

	task_register("window");
	while (!waitqueue_active(&p->wq))
		sched_yield();
	TEST_ASSERT_EQ(do_mprotect(w->vm->mm, w->hva, w->len, PROT_READ | PROT_WRITE), 0);
	smp_store_release(&p->protect_seq, p->protect_seq + 1);
	wake_up_all(&p->wq);
	task_unregister();
	return NULL;
}

TEST(a_store_into_ram_made_read_only_waits_for_the_window)
{
	struct fs_test t;
	struct window w;
	struct vmm_config cfg;
	char buf[64];
	long fd;

	fs_test_create(&t, NULL, false);
	/* The same VM with the mprotect agent enabled, not started: the test is the agent. */
	cfg = t.vm->cfg;
	vmm_destroy(t.vm);
	cfg.pressure = "mprotect";
	TEST_ASSERT(!vmm_create(&cfg, &t.vm, buf, sizeof(buf)), "vmm_create: %s", buf);
	t.fs = &t.vm->exec->fs;
	fd = open_path(&t, "hello.txt", O_RDONLY);
	w = (struct window){ .vm = t.vm,
			     .hva = t.vm->ram_hva + (BUF_GPA - GUEST_RAM_BASE),
			     .len = PAGE_SIZE };
	TEST_ASSERT_EQ(vmm_write_guest(t.vm, BUF_GPA, "........", 8), 0);
	smp_store_release(&t.vm->pressure.protect_seq, 1); /* odd: a window is open */
	TEST_ASSERT_EQ(do_mprotect(t.vm->mm, w.hva, w.len, PROT_READ), 0);
	TEST_ASSERT_EQ(pthread_create(&w.thread, NULL, close_window_when_waited_on, &w), 0);
	TEST_ASSERT_EQ(read_into(&t, fd, 5, HOSTFS_POS, buf), 5);
	TEST_ASSERT(!strcmp(buf, "hello"), "'%s'", buf);
	pthread_join(w.thread, NULL);
	fs_test_destroy(&t);
}
