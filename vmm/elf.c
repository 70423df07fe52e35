// SPDX-License-Identifier: GPL-2.0
/*
 * The ELF64 loader.  Validation is complete before the first byte is
 * written, so a malformed image leaves guest RAM untouched and the error
 * names the first thing found wrong.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/elf.h"

static int __attribute__((format(printf, 3, 4)))
elf_error(struct elf_image *out, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out->error, sizeof(out->error), fmt, ap);
	va_end(ap);
	return err;
}

static int elf_check_header(const Elf64_Ehdr *eh, size_t size, struct elf_image *out)
{
	if (size < EI_NIDENT || memcmp(eh->e_ident, ELFMAG, SELFMAG))
		return elf_error(out, -ENOEXEC, "bad ELF magic at offset 0");
	if (eh->e_ident[EI_CLASS] != ELFCLASS64)
		return elf_error(out, -ENOEXEC, "ELF class %u at offset %u, expected ELFCLASS64",
				 eh->e_ident[EI_CLASS], EI_CLASS);
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return elf_error(out, -ENOEXEC, "ELF data encoding %u at offset %u, expected LSB",
				 eh->e_ident[EI_DATA], EI_DATA);
	if (size < sizeof(*eh))
		return elf_error(out, -EINVAL, "truncated file: %zu bytes, ELF header needs %zu",
				 size, sizeof(*eh));
	if (eh->e_machine != EM_X86_64)
		return elf_error(out, -ENOEXEC, "e_machine %u, expected EM_X86_64 (%u)",
				 eh->e_machine, EM_X86_64);
	if (eh->e_type != ET_EXEC)
		return elf_error(out, -ENOEXEC, "e_type %u, expected ET_EXEC (a static executable)",
				 eh->e_type);
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return elf_error(out, -ENOEXEC, "e_phentsize %u, expected %zu", eh->e_phentsize,
				 sizeof(Elf64_Phdr));
	if (eh->e_phoff % sizeof(uint64_t))
		return elf_error(out, -ENOEXEC, "e_phoff %#lx is not 8-byte aligned",
				 (unsigned long)eh->e_phoff);
	if (eh->e_phoff > size || (size - eh->e_phoff) / sizeof(Elf64_Phdr) < eh->e_phnum)
		return elf_error(
			out, -EINVAL,
			"truncated file: %u program headers at offset %#lx overrun %zu bytes",
			eh->e_phnum, (unsigned long)eh->e_phoff, size);
	return 0;
}

static int elf_check_segment(const Elf64_Phdr *ph, unsigned int i, size_t size, uint64_t ram_base,
			     uint64_t ram_size, struct elf_image *out)
{
	uint64_t end = ph->p_vaddr + ph->p_memsz;

	if (ph->p_filesz > ph->p_memsz)
		return elf_error(out, -ENOEXEC, "segment %u: p_filesz %#lx > p_memsz %#lx", i,
				 (unsigned long)ph->p_filesz, (unsigned long)ph->p_memsz);
	if (ph->p_offset > size || size - ph->p_offset < ph->p_filesz)
		return elf_error(out, -EINVAL,
				 "truncated file: segment %u [%#lx, +%#lx) overruns %zu bytes", i,
				 (unsigned long)ph->p_offset, (unsigned long)ph->p_filesz, size);
	if (ph->p_vaddr < ram_base || end < ph->p_vaddr || end > ram_base + ram_size)
		return elf_error(out, -EFAULT, "segment %u [%#lx, %#lx) outside RAM [%#lx, %#lx)",
				 i, (unsigned long)ph->p_vaddr, (unsigned long)end,
				 (unsigned long)ram_base, (unsigned long)(ram_base + ram_size));
	return 0;
}

static int elf_range_cmp(const void *a, const void *b)
{
	const struct elf_range *ra = a, *rb = b;

	if (ra->start != rb->start)
		return ra->start < rb->start ? -1 : 1;
	return ra->index < rb->index ? -1 : ra->index > rb->index;
}

/*
 * Do any two of the @nr nonempty ranges @r overlap?  Sorted by start, a
 * range that overlaps any later one reaches past that one's start, and so
 * past the start of its own next neighbour, which starts no later: the
 * neighbours alone show every overlap.  So one sort and one pass, O(n log
 * n): the pairwise check this replaces took seconds on the 65,535 PT_LOADs
 * an ELF header can name.  @r is reordered.
 */
int elf_check_overlaps(struct elf_range *r, unsigned int nr, struct elf_image *out)
{
	unsigned int i;

	qsort(r, nr, sizeof(*r), elf_range_cmp);
	for (i = 1; i < nr; i++) {
		const struct elf_range *a = &r[i - 1], *b = &r[i];
		const struct elf_range *lo = a->index < b->index ? a : b;
		const struct elf_range *hi = a->index < b->index ? b : a;

		if (a->end > b->start)
			return elf_error(out, -ENOEXEC,
					 "segment %u [%#lx, %#lx) overlaps segment %u [%#lx, %#lx)",
					 hi->index, (unsigned long)hi->start,
					 (unsigned long)hi->end, lo->index,
					 (unsigned long)lo->start, (unsigned long)lo->end);
	}
	return 0;
}

/*
 * Check every loadable segment on its own, in program-header order, then
 * all of them against each other.  -ENOMEM if the ranges do not fit in
 * memory (one small struct per PT_LOAD).
 */
static int elf_check_segments(const Elf64_Ehdr *eh, const Elf64_Phdr *phdr, size_t size,
			      uint64_t ram_base, uint64_t ram_size, struct elf_image *out)
{
	struct elf_range *ranges = malloc(sizeof(*ranges) * (eh->e_phnum ? eh->e_phnum : 1));
	bool entry_found = false;
	unsigned int i, nr = 0;
	int ret = 0;

	if (!ranges)
		return elf_error(out, -ENOMEM, "no memory to check %u program headers",
				 eh->e_phnum);
	out->lo = UINT64_MAX;
	out->hi = 0;
	for (i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = &phdr[i];

		if (ph->p_type != PT_LOAD || !ph->p_memsz)
			continue;
		ret = elf_check_segment(ph, i, size, ram_base, ram_size, out);
		if (ret)
			break;
		ranges[nr++] = (struct elf_range){ ph->p_vaddr, ph->p_vaddr + ph->p_memsz, i };
		if (eh->e_entry >= ph->p_vaddr && eh->e_entry < ph->p_vaddr + ph->p_memsz)
			entry_found = true;
		if (ph->p_vaddr < out->lo)
			out->lo = ph->p_vaddr;
		if (ph->p_vaddr + ph->p_memsz > out->hi)
			out->hi = ph->p_vaddr + ph->p_memsz;
	}
	if (!ret)
		ret = elf_check_overlaps(ranges, nr, out);
	free(ranges);
	if (ret)
		return ret;
	out->nr_segments = nr;
	if (!nr)
		return elf_error(out, -ENOEXEC,
				 "no loadable (PT_LOAD) segment in %u program headers",
				 eh->e_phnum);
	if (!entry_found)
		return elf_error(out, -ENOEXEC, "entry point %#lx outside every loadable segment",
				 (unsigned long)eh->e_entry);
	return 0;
}

static int elf_validate(const Elf64_Ehdr *eh, size_t size, uint64_t ram_base, uint64_t ram_size,
			struct elf_image *out)
{
	int ret = elf_check_header(eh, size, out);

	if (!ret)
		ret = elf_check_segments(eh, (const Elf64_Phdr *)((const char *)eh + eh->e_phoff),
					 size, ram_base, ram_size, out);
	if (!ret)
		out->entry = eh->e_entry;
	return ret;
}

/* Zero [@gpa, @gpa + @len) through @write: the .bss tail of a segment. */
static int elf_zero(elf_write_fn write, void *opaque, uint64_t gpa, uint64_t len)
{
	static const char zeroes[4096]; /* read-only, shared by every caller */
	int ret;

	while (len) {
		size_t n = len < sizeof(zeroes) ? len : sizeof(zeroes);

		ret = write(opaque, gpa, zeroes, n);
		if (ret)
			return ret;
		gpa += n;
		len -= n;
	}
	return 0;
}

int elf_load(const void *image, size_t size, uint64_t ram_base, uint64_t ram_size,
	     elf_write_fn write, void *opaque, struct elf_image *out)
{
	const Elf64_Ehdr *eh = image;
	const Elf64_Phdr *phdr;
	unsigned int i;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = elf_validate(eh, size, ram_base, ram_size, out);
	if (ret)
		return ret;
	phdr = (const Elf64_Phdr *)((const char *)image + eh->e_phoff);
	for (i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = &phdr[i];

		if (ph->p_type != PT_LOAD || !ph->p_memsz)
			continue;
		ret = ph->p_filesz ? write(opaque, ph->p_vaddr, (const char *)image + ph->p_offset,
					   ph->p_filesz) :
				     0;
		if (!ret)
			ret = elf_zero(write, opaque, ph->p_vaddr + ph->p_filesz,
				       ph->p_memsz - ph->p_filesz);
		if (ret)
			return elf_error(out, ret, "segment %u: writing guest %#lx failed (%d)", i,
					 (unsigned long)ph->p_vaddr, ret);
	}
	return 0;
}

/* What a non-regular file is, for the refusal. */
static const char *elf_file_kind(mode_t mode)
{
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISSOCK(mode))
		return "a socket";
	return "not a regular file";
}

/*
 * Map the image at @path read-only: only the pages the loader touches (the
 * headers and the PT_LOAD contents) are ever read, so a large image costs
 * its segments, not its size.  O_NONBLOCK because open(2) of a FIFO waits
 * for a writer, for ever if none comes; fstat() then refuses anything but a
 * regular file before a byte is read.  An empty file maps to nothing, which
 * elf_load() then refuses by its magic.
 */
int elf_map_file(const char *path, struct elf_file *f, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	int ret = 0;

	memset(f, 0, sizeof(*f));
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot open image %s: %s", path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st)) {
		ret = -errno;
		snprintf(err, errlen, "cannot stat image %s: %s", path, strerror(-ret));
	} else if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		snprintf(err, errlen, "image %s is %s: an image must be a regular file", path,
			 elf_file_kind(st.st_mode));
	} else if (st.st_size) {
		void *p = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);

		if (p == MAP_FAILED) {
			ret = -errno;
			snprintf(err, errlen, "cannot map image %s (%lld bytes): %s", path,
				 (long long)st.st_size, strerror(-ret));
		} else {
			f->data = p;
			f->size = st.st_size;
		}
	}
	close(fd);
	return ret;
}

void elf_unmap_file(struct elf_file *f)
{
	if (f->data)
		munmap((void *)f->data, f->size);
	memset(f, 0, sizeof(*f));
}
