/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The fuzz harnesses (tests/fuzz/README.md): each takes one input and
 * returns FUZZ_OK, FUZZ_SKIP (an input the harness cannot judge: the soft
 * vCPU or Unicorn refused an instruction, a run that did not end where
 * both can be compared) or FUZZ_BUG, after printing what was wrong on
 * stderr.  Under AFL++ (afl_main.c) a FUZZ_BUG aborts, which AFL++ counts
 * as a crash; without AFL the regression driver (tests/unit/fuzz/corpus.c)
 * feeds every saved input to the same functions.
 */
#ifndef NOPIN_TESTS_FUZZ_FUZZ_H
#define NOPIN_TESTS_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>

enum fuzz_result {
	FUZZ_OK,
	FUZZ_SKIP,
	FUZZ_BUG,
};

/* The ELF loader on @data as an image file: its contract, and what it wrote. */
enum fuzz_result fuzz_elf_one(const uint8_t *data, size_t size);

/*
 * @data as x86-64 code (after 8 bytes that seed the registers and memory)
 * on the soft vCPU and on Unicorn, both on the same flat memory: the
 * registers, flags, SSE state and memory both leave must agree.
 */
enum fuzz_result fuzz_soft_one(const uint8_t *data, size_t size);

#endif
