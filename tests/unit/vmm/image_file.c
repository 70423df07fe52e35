// SPDX-License-Identifier: GPL-2.0
/*
 * How `nopin run` reads its IMAGE: mapped, never read whole, so an image
 * of gigabytes costs the pages of its segments; and only a regular file,
 * refused with a clear line before anything blocks (open(2) of a FIFO
 * without O_NONBLOCK waits for a writer for ever).  Runs the real binary.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/test_util.h"
#include "vmm/vm.h"

struct cli_result {
	int status;
	char out[16384];
};

/*
 * `nopin run --backend soft IMAGE`, output captured; timeout(1) turns a
 * hang into a failure that says so rather than the ctest timeout.
 */
static void run_image(struct cli_result *r, const char *image)
{
	char cmd[4096];
	FILE *p;
	size_t n;

	snprintf(cmd, sizeof(cmd), "timeout 120 %s run --backend soft '%s' 2>&1", NOPIN_CLI, image);
	p = popen(cmd, "r");
	TEST_ASSERT(p, "popen %s", cmd);
	n = fread(r->out, 1, sizeof(r->out) - 1, p);
	r->out[n] = '\0';
	r->status = pclose(p);
	TEST_ASSERT(WIFEXITED(r->status), "nopin exited normally:\n%s", r->out);
	r->status = WEXITSTATUS(r->status);
	TEST_ASSERT(r->status != 124, "nopin run %s hung (killed by timeout)", image);
}

static void expect(const struct cli_result *r, int status, const char *text)
{
	TEST_ASSERT(r->status == status, "exit status %d, expected %d:\n%s", r->status, status,
		    r->out);
	TEST_ASSERT(strstr(r->out, text), "no '%s' in:\n%s", text, r->out);
	if (status)
		TEST_ASSERT(strchr(r->out, '\n') == r->out + strlen(r->out) - 1,
			    "not one line:\n%s", r->out);
}

static char *tmpdir_path(char *dir, const char *name)
{
	static char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

TEST(fifo_refused_without_blocking)
{
	char dir[] = "/tmp/nopin-image-XXXXXX";
	struct cli_result r;
	char *fifo;

	TEST_ASSERT(mkdtemp(dir), "mkdtemp");
	fifo = tmpdir_path(dir, "image.fifo");
	TEST_ASSERT(!mkfifo(fifo, 0600), "mkfifo");
	run_image(&r, fifo);
	expect(&r, VMM_EXIT_VMM_ERROR, "is a FIFO: an image must be a regular file");
	unlink(fifo);
	rmdir(dir);
}

TEST(directory_and_device_refused)
{
	struct cli_result r;

	run_image(&r, "/tmp");
	expect(&r, VMM_EXIT_VMM_ERROR, "image /tmp is a directory");
	run_image(&r, "/dev/zero");
	expect(&r, VMM_EXIT_VMM_ERROR, "image /dev/zero is a character device");
	run_image(&r, "/nonexistent/image.elf");
	expect(&r, VMM_EXIT_VMM_ERROR, "cannot open image /nonexistent/image.elf: No such file");
}

/* An empty file is refused by the loader (nothing to map). */
TEST(empty_file_refused)
{
	char dir[] = "/tmp/nopin-image-XXXXXX";
	struct cli_result r;
	char *path;
	int fd;

	TEST_ASSERT(mkdtemp(dir), "mkdtemp");
	path = tmpdir_path(dir, "empty.elf");
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	TEST_ASSERT(fd >= 0, "create %s", path);
	close(fd);
	run_image(&r, path);
	expect(&r, VMM_EXIT_VMM_ERROR, "bad ELF magic");
	unlink(path);
	rmdir(dir);
}

/*
 * The hello image with 3 GiB of hole after it (a sparse file, so it costs
 * no disk): read whole, it failed ("cannot read image", pread stops short
 * of 2 GiB) or cost its size in memory.  Mapped, it runs, and the run's
 * peak RSS (the largest of this process's waited-for children) stays far
 * below the file's size.
 */
TEST(sparse_3g_image_runs_without_reading_it_whole)
{
	char dir[] = "/tmp/nopin-image-XXXXXX", src[4096];
	unsigned long size = 3UL << 30;
	struct cli_result r;
	struct rusage ru;
	char buf[65536];
	int in, out;
	ssize_t n;
	char *path;

	TEST_ASSERT(mkdtemp(dir), "mkdtemp");
	path = tmpdir_path(dir, "big.elf");
	snprintf(src, sizeof(src), "%s/hello.elf", NOPIN_GUEST_DIR);
	in = open(src, O_RDONLY);
	TEST_REQUIRE(in >= 0);
	out = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	TEST_ASSERT(out >= 0, "create %s", path);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		TEST_ASSERT(write(out, buf, n) == n, "write");
	close(in);
	TEST_ASSERT(!ftruncate(out, size), "ftruncate to 3 GiB");
	close(out);
	run_image(&r, path);
	expect(&r, 0, "Hello from vCPU 0 of 1");
	TEST_ASSERT(!getrusage(RUSAGE_CHILDREN, &ru), "getrusage");
	TEST_ASSERT((unsigned long)ru.ru_maxrss < (size >> 10) / 8,
		    "peak RSS %ld KiB for a %lu KiB image", ru.ru_maxrss, size >> 10);
	unlink(path);
	rmdir(dir);
}
