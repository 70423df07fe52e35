// SPDX-License-Identifier: GPL-2.0
/*
 * The ELF loader's harness: any bytes as an image, loaded into a small
 * fake RAM.  The loader's contract (vmm/elf.h) is checked, not just that it
 * survives: on success, every write inside RAM, the entry inside a loaded
 * segment, and RAM holding exactly each PT_LOAD's file bytes and zeroes
 * past p_filesz; on failure, one of the documented errnos, a message, and
 * nothing written.
 */
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "vmm/elf.h"

/* Small, so that random addresses land in it now and then. */
#define FUZZ_RAM_BASE 0x100000UL
#define FUZZ_RAM_SIZE 0x10000UL

struct fuzz_ram {
	uint8_t bytes[FUZZ_RAM_SIZE];
	unsigned long writes;
	bool outside;
};

static int fuzz_ram_write(void *opaque, uint64_t gpa, const void *src, size_t len)
{
	struct fuzz_ram *ram = opaque;

	if (gpa < FUZZ_RAM_BASE || len > FUZZ_RAM_SIZE ||
	    gpa - FUZZ_RAM_BASE > FUZZ_RAM_SIZE - len) {
		ram->outside = true;
		return -EFAULT;
	}
	memcpy(&ram->bytes[gpa - FUZZ_RAM_BASE], src, len);
	ram->writes++;
	return 0;
}

static enum fuzz_result fuzz_elf_bug(const char *what, const struct elf_image *out)
{
	fprintf(stderr, "fuzz_elf: %s (error \"%s\")\n", what, out->error);
	return FUZZ_BUG;
}

/* After a successful load: RAM holds each segment as the file says. */
static enum fuzz_result fuzz_elf_check_ram(const uint8_t *image, const struct fuzz_ram *ram,
					   const struct elf_image *out)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)image;
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(image + eh->e_phoff);
	unsigned int i, loaded = 0;

	for (i = 0; i < eh->e_phnum; i++) {
		const uint8_t *at;
		uint64_t b;

		if (ph[i].p_type != PT_LOAD || !ph[i].p_memsz)
			continue;
		loaded++;
		at = &ram->bytes[ph[i].p_vaddr - FUZZ_RAM_BASE];
		if (memcmp(at, image + ph[i].p_offset, ph[i].p_filesz))
			return fuzz_elf_bug("a segment's file bytes are not in RAM", out);
		for (b = ph[i].p_filesz; b < ph[i].p_memsz; b++)
			if (at[b])
				return fuzz_elf_bug("a segment's tail past p_filesz is not zero",
						    out);
	}
	if (loaded != out->nr_segments)
		return fuzz_elf_bug("nr_segments is not the number of PT_LOADs", out);
	return FUZZ_OK;
}

enum fuzz_result fuzz_elf_one(const uint8_t *data, size_t size)
{
	/* The loader wants 8-byte alignment, as mmap() gives it. */
	uint8_t *image = malloc(size ? size : 1);
	struct fuzz_ram *ram = calloc(1, sizeof(*ram));
	enum fuzz_result res = FUZZ_OK;
	struct elf_image out;
	int ret;

	if (!image || !ram) {
		free(image);
		free(ram);
		return FUZZ_SKIP;
	}
	memcpy(image, data, size);
	ret = elf_load(image, size, FUZZ_RAM_BASE, FUZZ_RAM_SIZE, fuzz_ram_write, ram, &out);
	if (ram->outside)
		res = fuzz_elf_bug("a write outside RAM", &out);
	else if (ret && ret != -ENOEXEC && ret != -EFAULT && ret != -EINVAL && ret != -ENOMEM)
		res = fuzz_elf_bug("an errno elf.h does not name", &out);
	else if (ret && (ram->writes || !out.error[0] || !memchr(out.error, 0, sizeof(out.error))))
		res = fuzz_elf_bug("a refusal that wrote, or said nothing", &out);
	else if (!ret && (!out.nr_segments || out.entry < out.lo || out.entry >= out.hi ||
			  out.lo < FUZZ_RAM_BASE || out.hi > FUZZ_RAM_BASE + FUZZ_RAM_SIZE))
		res = fuzz_elf_bug("a load whose entry or bounds are wrong", &out);
	else if (!ret)
		res = fuzz_elf_check_ram(image, ram, &out);
	free(image);
	free(ram);
	return res;
}
