// SPDX-License-Identifier: GPL-2.0
/*
 * The ELF64 loader: a well-formed image lands in guest RAM with its .bss
 * zeroed, and every malformed case fails with its errno and a message that
 * names what was wrong, before anything is written.
 */
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/test_util.h"
#include "vmm/elf.h"

#define RAM_BASE 0x100000UL
#define RAM_SIZE (1UL << 20)

struct fake_ram {
	unsigned char bytes[RAM_SIZE];
	unsigned int writes;
};

static int ram_write(void *opaque, uint64_t gpa, const void *src, size_t len)
{
	struct fake_ram *ram = opaque;

	TEST_ASSERT(gpa >= RAM_BASE && gpa + len <= RAM_BASE + RAM_SIZE, "write %#lx+%zu",
		    (unsigned long)gpa, len);
	memcpy(&ram->bytes[gpa - RAM_BASE], src, len);
	ram->writes++;
	return 0;
}

/* An image with two PT_LOAD segments: text at 0x100000 and data+bss at 0x101000. */
struct image {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[3];
	unsigned char text[64];
	unsigned char data[32];
};

static void image_init(struct image *img)
{
	memset(img, 0, sizeof(*img));
	memcpy(img->eh.e_ident, ELFMAG, SELFMAG);
	img->eh.e_ident[EI_CLASS] = ELFCLASS64;
	img->eh.e_ident[EI_DATA] = ELFDATA2LSB;
	img->eh.e_ident[EI_VERSION] = EV_CURRENT;
	img->eh.e_type = ET_EXEC;
	img->eh.e_machine = EM_X86_64;
	img->eh.e_version = EV_CURRENT;
	img->eh.e_entry = RAM_BASE + 4;
	img->eh.e_phoff = offsetof(struct image, ph);
	img->eh.e_ehsize = sizeof(Elf64_Ehdr);
	img->eh.e_phentsize = sizeof(Elf64_Phdr);
	img->eh.e_phnum = 3;

	img->ph[0].p_type = PT_LOAD;
	img->ph[0].p_offset = offsetof(struct image, text);
	img->ph[0].p_vaddr = RAM_BASE;
	img->ph[0].p_filesz = sizeof(img->text);
	img->ph[0].p_memsz = sizeof(img->text);
	img->ph[1].p_type = PT_NOTE;
	img->ph[2].p_type = PT_LOAD;
	img->ph[2].p_offset = offsetof(struct image, data);
	img->ph[2].p_vaddr = RAM_BASE + 0x1000;
	img->ph[2].p_filesz = sizeof(img->data);
	img->ph[2].p_memsz = 0x2000;
	memset(img->text, 0x90, sizeof(img->text));
	memset(img->data, 0xab, sizeof(img->data));
}

static struct fake_ram *ram_new(void)
{
	struct fake_ram *ram = malloc(sizeof(*ram));

	TEST_ASSERT(ram, "malloc");
	memset(ram->bytes, 0x5a, sizeof(ram->bytes));
	ram->writes = 0;
	return ram;
}

/* Load @img expecting @err and a message containing @what; nothing written. */
static void expect_error(struct image *img, size_t size, int err, const char *what)
{
	struct fake_ram *ram = ram_new();
	struct elf_image out;
	int ret;

	ret = elf_load(img, size, RAM_BASE, RAM_SIZE, ram_write, ram, &out);
	TEST_ASSERT(ret == err, "elf_load returned %d, expected %d (%s)", ret, err, out.error);
	TEST_ASSERT(strstr(out.error, what), "error \"%s\" does not name \"%s\"", out.error, what);
	TEST_ASSERT_EQ(ram->writes, 0u);
	free(ram);
}

TEST(loads_segments_and_zeroes_bss)
{
	struct fake_ram *ram = ram_new();
	struct elf_image out;
	struct image img;
	unsigned int i;

	image_init(&img);
	TEST_ASSERT_EQ(elf_load(&img, sizeof(img), RAM_BASE, RAM_SIZE, ram_write, ram, &out), 0);
	TEST_ASSERT_EQ(out.entry, RAM_BASE + 4);
	TEST_ASSERT_EQ(out.nr_segments, 2u);
	TEST_ASSERT_EQ(out.lo, RAM_BASE);
	TEST_ASSERT_EQ(out.hi, RAM_BASE + 0x3000);
	for (i = 0; i < sizeof(img.text); i++)
		TEST_ASSERT_EQ(ram->bytes[i], 0x90);
	TEST_ASSERT_EQ(ram->bytes[sizeof(img.text)], 0x5a); /* untouched past the segment */
	for (i = 0; i < 0x2000; i++)
		TEST_ASSERT_EQ(ram->bytes[0x1000 + i], i < sizeof(img.data) ? 0xab : 0);
	free(ram);
}

TEST(bad_magic)
{
	struct image img;

	image_init(&img);
	img.eh.e_ident[1] = 'X';
	expect_error(&img, sizeof(img), -ENOEXEC, "magic");
}

TEST(bad_class)
{
	struct image img;

	image_init(&img);
	img.eh.e_ident[EI_CLASS] = ELFCLASS32;
	expect_error(&img, sizeof(img), -ENOEXEC, "class");
}

TEST(wrong_machine)
{
	struct image img;

	image_init(&img);
	img.eh.e_machine = EM_AARCH64;
	expect_error(&img, sizeof(img), -ENOEXEC, "e_machine");
}

TEST(no_loadable_segment)
{
	struct image img;

	image_init(&img);
	img.ph[0].p_type = PT_NOTE;
	img.ph[2].p_type = PT_NULL;
	expect_error(&img, sizeof(img), -ENOEXEC, "no loadable");
}

TEST(segment_outside_ram)
{
	struct image img;

	image_init(&img);
	img.ph[2].p_vaddr = RAM_BASE + RAM_SIZE - 0x1000; /* memsz 0x2000 runs past the end */
	expect_error(&img, sizeof(img), -EFAULT, "segment 2");
	image_init(&img);
	img.ph[0].p_vaddr = 0x1000; /* below RAM */
	img.eh.e_entry = 0x1000;
	expect_error(&img, sizeof(img), -EFAULT, "outside RAM");
	image_init(&img);
	img.ph[2].p_vaddr = UINT64_MAX - 0xfff; /* wraps */
	expect_error(&img, sizeof(img), -EFAULT, "outside RAM");
}

TEST(overlapping_segments)
{
	struct image img;

	image_init(&img);
	img.ph[2].p_vaddr = RAM_BASE + 0x20;
	expect_error(&img, sizeof(img), -ENOEXEC, "overlaps segment 0");
}

TEST(truncated_file)
{
	struct image img;

	image_init(&img);
	expect_error(&img, sizeof(Elf64_Ehdr) - 8, -EINVAL, "truncated");
	expect_error(&img, offsetof(struct image, ph) + sizeof(Elf64_Phdr), -EINVAL,
		     "program headers");
	expect_error(&img, offsetof(struct image, data) + 8, -EINVAL, "segment 2");
}

TEST(misaligned_program_headers)
{
	struct image img;

	image_init(&img);
	img.eh.e_phoff += 4;
	expect_error(&img, sizeof(img), -ENOEXEC, "e_phoff");
}

TEST(entry_outside_segments)
{
	struct image img;

	image_init(&img);
	img.eh.e_entry = RAM_BASE + 0x800; /* between the two segments */
	expect_error(&img, sizeof(img), -ENOEXEC, "entry point");
}

static int check_overlaps(struct elf_range *r, unsigned int nr, struct elf_image *out)
{
	memset(out, 0, sizeof(*out));
	return elf_check_overlaps(r, nr, out);
}

/*
 * The sort-and-neighbours check: out-of-order, touching and nested ranges.
 * Without the sort, the disjoint ranges below (in index order 50, 0, 60)
 * would look overlapping, and the overlap of 0 and 2 (not neighbours in
 * index order) would be found only by the pairwise check it replaces.
 */
TEST(overlap_check_sorts_then_compares_neighbours)
{
	struct elf_range disjoint[] = {
		{ 50, 60, 0 }, { 0, 50, 1 }, { 60, 61, 2 }, { 61, 100, 3 }
	};
	struct elf_range apart[] = { { 50, 60, 0 }, { 0, 10, 1 }, { 55, 70, 2 } };
	struct elf_range nested[] = { { 30, 40, 0 }, { 0, 100, 1 }, { 10, 20, 2 } };
	struct elf_range same_start[] = { { 7, 8, 0 }, { 9, 10, 1 }, { 7, 9, 2 } };
	struct elf_image out;

	TEST_ASSERT_EQ(check_overlaps(disjoint, 4, &out), 0);
	TEST_ASSERT_EQ(check_overlaps(disjoint, 0, &out), 0);
	TEST_ASSERT_EQ(check_overlaps(apart, 3, &out), -ENOEXEC);
	TEST_ASSERT(!strcmp(out.error, "segment 2 [0x37, 0x46) overlaps segment 0 [0x32, 0x3c)"),
		    "%s", out.error);
	TEST_ASSERT_EQ(check_overlaps(nested, 3, &out), -ENOEXEC);
	TEST_ASSERT(strstr(out.error, "overlaps segment 1 [0, 0x64)"), "%s", out.error);
	TEST_ASSERT_EQ(check_overlaps(same_start, 3, &out), -ENOEXEC);
	TEST_ASSERT(strstr(out.error, "segment 2 [0x7, 0x9) overlaps segment 0"), "%s", out.error);
}

/*
 * The most PT_LOADs an ELF header can name (e_phnum is 16 bits), one byte
 * each, in descending address order: loaded many times over, the pairwise
 * overlap check took minutes (seconds per load, 232 s once under ASan);
 * the sorted check takes milliseconds.  The ctest TIMEOUT of this binary
 * (tests/CMakeLists.txt) is the guard: generous for O(n log n), far short
 * of O(n^2).  Then one more segment, overlapping the first, is refused.
 */
#define MANY_SEGMENTS 65535u
#define MANY_LOADS 32

TEST(many_one_byte_segments_load)
{
	size_t size = sizeof(Elf64_Ehdr) + MANY_SEGMENTS * sizeof(Elf64_Phdr) + 1;
	unsigned char *buf = calloc(1, size);
	struct fake_ram *ram = ram_new();
	Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
	Elf64_Phdr *ph = (Elf64_Phdr *)(eh + 1);
	struct elf_image out;
	unsigned int i;

	TEST_ASSERT(buf, "calloc");
	image_init((struct image *)buf); /* its header; the program headers follow */
	eh->e_phoff = sizeof(*eh);
	eh->e_phnum = MANY_SEGMENTS;
	buf[size - 1] = 0xcc;
	for (i = 0; i < MANY_SEGMENTS; i++) {
		ph[i] = (Elf64_Phdr){
			.p_type = PT_LOAD, .p_offset = size - 1, .p_filesz = 1, .p_memsz = 1
		};
		ph[i].p_vaddr = RAM_BASE + MANY_SEGMENTS - 1 - i;
	}
	eh->e_entry = RAM_BASE;
	for (i = 0; i < MANY_LOADS; i++) {
		ram->writes = 0;
		TEST_ASSERT(!elf_load(buf, size, RAM_BASE, RAM_SIZE, ram_write, ram, &out), "%s",
			    out.error);
		TEST_ASSERT_EQ(out.nr_segments, MANY_SEGMENTS);
		TEST_ASSERT_EQ(ram->writes, MANY_SEGMENTS);
	}
	TEST_ASSERT_EQ(ram->bytes[0], 0xcc);
	TEST_ASSERT_EQ(ram->bytes[MANY_SEGMENTS - 1], 0xcc);
	ph[MANY_SEGMENTS - 1].p_vaddr = RAM_BASE + MANY_SEGMENTS - 1; /* onto segment 0 */
	TEST_ASSERT_EQ(elf_load(buf, size, RAM_BASE, RAM_SIZE, ram_write, ram, &out), -ENOEXEC);
	TEST_ASSERT(strstr(out.error, "segment 65534 [0x10fffe, 0x10ffff) overlaps segment 0"),
		    "%s", out.error);
	free(ram);
	free(buf);
}
