// SPDX-License-Identifier: GPL-2.0
/*
 * The ELF64 loader.  Validation is complete before the first byte is
 * written, so a malformed image leaves guest RAM untouched and the error
 * names the first thing found wrong.
 */
#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

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

static int elf_check_overlap(const Elf64_Phdr *phdr, unsigned int phnum, unsigned int i,
			     struct elf_image *out)
{
	const Elf64_Phdr *a = &phdr[i];
	unsigned int j;

	for (j = 0; j < i; j++) {
		const Elf64_Phdr *b = &phdr[j];

		if (b->p_type != PT_LOAD || !b->p_memsz)
			continue;
		if (a->p_vaddr < b->p_vaddr + b->p_memsz && b->p_vaddr < a->p_vaddr + a->p_memsz)
			return elf_error(out, -ENOEXEC,
					 "segment %u [%#lx, %#lx) overlaps segment %u [%#lx, %#lx)",
					 i, (unsigned long)a->p_vaddr,
					 (unsigned long)(a->p_vaddr + a->p_memsz), j,
					 (unsigned long)b->p_vaddr,
					 (unsigned long)(b->p_vaddr + b->p_memsz));
	}
	return 0;
}

static int elf_validate(const Elf64_Ehdr *eh, size_t size, uint64_t ram_base, uint64_t ram_size,
			struct elf_image *out)
{
	const Elf64_Phdr *phdr;
	bool entry_found = false;
	unsigned int i;
	int ret;

	ret = elf_check_header(eh, size, out);
	if (ret)
		return ret;
	phdr = (const Elf64_Phdr *)((const char *)eh + eh->e_phoff);
	out->lo = UINT64_MAX;
	out->hi = 0;
	for (i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = &phdr[i];

		if (ph->p_type != PT_LOAD || !ph->p_memsz)
			continue;
		ret = elf_check_segment(ph, i, size, ram_base, ram_size, out);
		if (!ret)
			ret = elf_check_overlap(phdr, eh->e_phnum, i, out);
		if (ret)
			return ret;
		if (eh->e_entry >= ph->p_vaddr && eh->e_entry < ph->p_vaddr + ph->p_memsz)
			entry_found = true;
		if (ph->p_vaddr < out->lo)
			out->lo = ph->p_vaddr;
		if (ph->p_vaddr + ph->p_memsz > out->hi)
			out->hi = ph->p_vaddr + ph->p_memsz;
		out->nr_segments++;
	}
	if (!out->nr_segments)
		return elf_error(out, -ENOEXEC,
				 "no loadable (PT_LOAD) segment in %u program headers",
				 eh->e_phnum);
	if (!entry_found)
		return elf_error(out, -ENOEXEC, "entry point %#lx outside every loadable segment",
				 (unsigned long)eh->e_entry);
	out->entry = eh->e_entry;
	return 0;
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
