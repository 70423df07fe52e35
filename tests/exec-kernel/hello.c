// SPDX-License-Identifier: GPL-2.0
/*
 * exec_kernel_hello: the exec guest kernel's second target, a plain C
 * program on static glibc: its start-up (TLS in brk, IRELATIVE relocs,
 * stdio's fstat and TCGETS), printf of integers and a double, malloc
 * small (brk) and large (mmap), getenv, and the exit status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	char *small = malloc(100), *big = malloc(1 << 20);
	const char *home = getenv("EXEC_KERNEL_TEST");

	printf("hello, world\n");
	for (int i = 1; i < argc; i++)
		printf("argv[%d] = %s\n", i, argv[i]);
	printf("EXEC_KERNEL_TEST=%s\n", home ? home : "(unset)");
	memset(big, 0x5a, 1 << 20);
	strcpy(small, "small");
	printf("%s %d %.3f\n", small, big[12345] + big[(1 << 20) - 1], 22.0 / 7);
	free(big);
	free(small);
	return argc > 1 && !strcmp(argv[1], "fail") ? 3 : 0;
}
