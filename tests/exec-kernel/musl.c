// SPDX-License-Identifier: GPL-2.0
/*
 * exec_kernel_musl: a C program on static musl (built when musl-gcc is
 * installed), whose start-up and malloc differ from glibc's: no brk TLS,
 * mmap'd heap chunks, mremap for a large realloc, readdir by getdents64.
 * No floating point: musl formats doubles with x87 long double, which
 * the soft vCPU does not interpret.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char *big = malloc(1 << 20), buf[256];
	struct dirent *e;
	int sum = 0, entries = 0, fd;
	DIR *dir;

	memset(big, 1, 1 << 20);
	for (int i = 0; i < (1 << 20); i++)
		sum += big[i];
	printf("musl: %d args, sum %d\n", argc, sum);
	dir = opendir(".");
	while (dir && (e = readdir(dir)))
		entries += !strcmp(e->d_name, "data.txt");
	if (dir)
		closedir(dir);
	printf("data.txt listed: %d\n", entries);
	fd = open("data.txt", O_RDONLY);
	printf("read %zd\n", read(fd, buf, sizeof(buf)));
	free(big);
	big = realloc(malloc(100000), 3000000);
	big[2999999] = 1;
	printf("realloc to 3 MB: %d\n", big[2999999]);
	return 0;
}
