// SPDX-License-Identifier: GPL-2.0
/*
 * The AFL++ target around one harness (FUZZ_ONE, set by CMakeLists.txt):
 * persistent mode with the input in shared memory, built by afl-clang-fast
 * or afl-gcc-fast; a FUZZ_BUG aborts, which AFL++ saves as a crash.  Built
 * by another compiler, it runs the harness on each file named (so a crash
 * can be replayed under gdb).
 */
#include <stdio.h>
#include <stdlib.h>

#include "tests/fuzz/fuzz.h"

#ifdef __AFL_FUZZ_TESTCASE_LEN
__AFL_FUZZ_INIT();

int main(void)
{
	unsigned char *buf;

	__AFL_INIT();
	buf = __AFL_FUZZ_TESTCASE_BUF;
	while (__AFL_LOOP(10000))
		if (FUZZ_ONE(buf, __AFL_FUZZ_TESTCASE_LEN) == FUZZ_BUG)
			abort();
	return 0;
}
#else
int main(int argc, char **argv)
{
	static unsigned char buf[1 << 20];
	int i, bugs = 0;

	for (i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		size_t n;

		if (!f) {
			perror(argv[i]);
			return 2;
		}
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		if (FUZZ_ONE(buf, n) == FUZZ_BUG) {
			fprintf(stderr, "%s: FUZZ_BUG\n", argv[i]);
			bugs++;
		}
	}
	return bugs ? 1 : 0;
}
#endif
