// SPDX-License-Identifier: GPL-2.0
/*
 * exec_kernel_musl: a C program on static musl (built when musl-gcc is
 * installed), whose start-up and malloc differ from glibc's: no brk TLS,
 * mmap'd heap chunks, mremap for a large realloc, readdir by getdents64;
 * and its printf of doubles, which it formats in x87 long double, so the
 * soft vCPU's x87 runs every %f, %g and %e.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Zeros, a denormal, the extremes, an exact binary fraction: each in four formats. */
static void print_doubles(void)
{
	static const double v[] = { 0.0,    -0.0,     1.0,	     3.14159265358979, 1e300,
				    1e-300, 4.9e-324, 123456789.125, -2.5e-7 };

	for (unsigned int i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		printf("%f %g %e %.17g\n", v[i], v[i], v[i], v[i]);
	printf("%Lf %La\n", 1.0L / 3, 1.0L / 3);
}

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
	print_doubles();
	return 0;
}
