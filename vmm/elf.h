/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ELF64 loader: validates a static x86-64 executable and writes its
 * PT_LOAD segments into guest RAM through a callback, so the VMM can write
 * them through the host mm (they become ordinary, reclaimable guest pages).
 */
#ifndef NOPIN_VMM_ELF_H
#define NOPIN_VMM_ELF_H

#include <stddef.h>
#include <stdint.h>

/*
 * Write @len bytes from @src at guest-physical @gpa; 0 or a negative errno.
 * The loader zero-fills p_memsz beyond p_filesz through the same callback.
 */
typedef int (*elf_write_fn)(void *opaque, uint64_t gpa, const void *src, size_t len);

struct elf_image {
	uint64_t entry;
	/* Lowest and one past the highest guest address of the loaded segments. */
	uint64_t lo, hi;
	unsigned int nr_segments;
	/* Why elf_load() failed, naming the field and where it was wrong. */
	char error[160];
};

/*
 * Validate @image (@size bytes) and load it into guest RAM [@ram_base,
 * @ram_base + @ram_size).  Returns 0, or a negative errno with
 * @out->error set: -ENOEXEC (not an ELF64 x86-64 executable, no PT_LOAD,
 * entry outside every segment, overlapping segments), -EFAULT (a segment
 * outside RAM), -EINVAL (the file is truncated), -ENOMEM, or the write
 * callback's error.  Nothing is written unless the whole image validates.  @image
 * must be 8-byte aligned (as malloc() and mmap() give).
 */
int elf_load(const void *image, size_t size, uint64_t ram_base, uint64_t ram_size,
	     elf_write_fn write, void *opaque, struct elf_image *out);

/* A loadable segment's guest range [start, end), and its program header's index. */
struct elf_range {
	uint64_t start, end;
	unsigned int index;
};

/*
 * 0 if no two of the @nr nonempty @ranges overlap, else -ENOEXEC with
 * @out->error naming the two segments.  Sorts @ranges by start: O(n log n).
 */
int elf_check_overlaps(struct elf_range *ranges, unsigned int nr, struct elf_image *out);

/* An image file mapped read-only: @data is NULL for an empty file. */
struct elf_file {
	const void *data;
	size_t size;
};

/*
 * Map the image file at @path for elf_load(); it is never read whole.
 * 0, or a negative errno with a one-line reason in @err: the open, stat or
 * mmap error, or -EINVAL for anything but a regular file (a FIFO, a
 * directory, a device), refused without blocking.
 */
int elf_map_file(const char *path, struct elf_file *f, char *err, size_t errlen);
void elf_unmap_file(struct elf_file *f);

#endif
