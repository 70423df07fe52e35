// SPDX-License-Identifier: GPL-2.0
/*
 * The program (after fs/binfmt_elf.c): a static x86-64 ELF, ET_EXEC at
 * its own addresses or static-pie (ET_DYN without PT_INTERP) at
 * PIE_BASE, read from the VMM's handle HOSTFS_FD_PROGRAM.  Its PT_LOAD
 * segments are loaded eagerly, the file's bytes straight into the frames
 * (kernel memory, so the VMM gets their GPAs); the bss beyond the last
 * file page is a VMA like any anonymous one, demand-paged.  Then the
 * initial stack, as create_elf_tables() lays it out.
 */
#include "kernel.h"

#define ET_EXEC 2
#define ET_DYN 3
#define EM_X86_64 62
#define PT_LOAD 1
#define PT_INTERP 3
#define PT_PHDR 6
#define PF_X 1
#define PF_W 2
#define PF_R 4

#define AT_NULL 0
#define AT_PHDR 3
#define AT_PHENT 4
#define AT_PHNUM 5
#define AT_PAGESZ 6
#define AT_BASE 7
#define AT_FLAGS 8
#define AT_ENTRY 9
#define AT_UID 11
#define AT_EUID 12
#define AT_GID 13
#define AT_EGID 14
#define AT_PLATFORM 15
#define AT_HWCAP 16
#define AT_CLKTCK 17
#define AT_SECURE 23
#define AT_RANDOM 25
#define AT_HWCAP2 26
#define AT_EXECFN 31
#define NR_AUXV 19

struct elf64_ehdr {
	unsigned char e_ident[16];
	unsigned short e_type, e_machine;
	unsigned int e_version;
	unsigned long e_entry, e_phoff, e_shoff;
	unsigned int e_flags;
	unsigned short e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
};

struct elf64_phdr {
	unsigned int p_type, p_flags;
	unsigned long p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align;
};

#define MAX_PHDRS (PAGE_SIZE / sizeof(struct elf64_phdr))

/* The header and program headers, in the image (their GPAs are their addresses). */
static struct elf64_ehdr ehdr;
static struct elf64_phdr phdrs[MAX_PHDRS];

/* Exactly @len bytes of the program at @off into guest-physical @pa. */
static int program_read(unsigned long pa, unsigned long len, unsigned long off)
{
	while (len) {
		long n = hostfs_pread(HOSTFS_FD_PROGRAM, pa, len, off);

		if (n < 0)
			return (int)n;
		if (!n)
			return -ENOEXEC; /* a segment past the end of the file */
		pa += (unsigned long)n;
		off += (unsigned long)n;
		len -= (unsigned long)n;
	}
	return 0;
}

static int check_ehdr(void)
{
	const unsigned char *id = ehdr.e_ident;

	if (id[0] != 0x7f || id[1] != 'E' || id[2] != 'L' || id[3] != 'F')
		return -ENOEXEC;
	if (id[4] != 2 || id[5] != 1 || ehdr.e_machine != EM_X86_64)
		return -ENOEXEC; /* 64-bit little-endian x86-64 only */
	if (ehdr.e_type != ET_EXEC && ehdr.e_type != ET_DYN)
		return -ENOEXEC;
	if (ehdr.e_phentsize != sizeof(struct elf64_phdr) || !ehdr.e_phnum ||
	    ehdr.e_phnum > MAX_PHDRS)
		return -ENOEXEC;
	return 0;
}

static unsigned long segment_vm_flags(const struct elf64_phdr *ph)
{
	return (ph->p_flags & PF_R ? VM_READ : 0) | (ph->p_flags & PF_W ? VM_WRITE : 0) |
	       (ph->p_flags & PF_X ? VM_EXEC : 0);
}

/*
 * The frame of a segment's page at @va: a new one, or the one a segment
 * before already put there (two segments may share a page at their
 * edges; it then gets the rights of both).
 */
static unsigned long segment_page(unsigned long va, unsigned long vm_flags)
{
	unsigned long *pte = pte_get(va, true), val, frame;

	if (!pte)
		return 0;
	val = pte_read(pte);
	if (val & PTE_P) {
		struct vma *vma = find_vma(va);

		if (vma)
			vma->flags |= vm_flags;
		pte_write(pte,
			  (val & PTE_ADDR_MASK) | pte_prot(vma ? vma->flags : vm_flags) | PTE_P);
		return val & PTE_ADDR_MASK;
	}
	frame = frame_alloc();
	if (frame)
		pte_write(pte, frame | pte_prot(vm_flags) | PTE_P);
	return frame;
}

static int load_segment(const struct elf64_phdr *ph, unsigned long bias)
{
	unsigned long vaddr = ph->p_vaddr + bias, vm_flags = segment_vm_flags(ph);
	unsigned long start = vaddr & PAGE_MASK, end = PAGE_ALIGN(vaddr + ph->p_memsz);
	unsigned long file_end = vaddr + ph->p_filesz;
	int ret;

	if (ph->p_filesz > ph->p_memsz || vaddr < USER_MIN || end > MMAP_TOP || end < start ||
	    (ph->p_offset & ~PAGE_MASK) != (vaddr & ~PAGE_MASK))
		return -ENOEXEC;
	/* A page a segment before already holds stays in its VMA. */
	if (find_vma(start))
		start += PAGE_SIZE;
	if (start < end) {
		ret = vma_map(start, end, vm_flags);
		if (ret)
			return ret;
	}
	for (unsigned long va = vaddr & PAGE_MASK; va < file_end; va += PAGE_SIZE) {
		unsigned long lo = MAX(va, vaddr), hi = MIN(va + PAGE_SIZE, file_end);
		unsigned long frame = segment_page(va, vm_flags);

		if (!frame)
			return -ENOMEM;
		/* The rest of the frame stays zero: the bss tail of the last file page. */
		ret = program_read(frame + (lo - va), hi - lo, ph->p_offset + (lo - vaddr));
		if (ret)
			return ret;
	}
	return 0;
}

/* Where the program headers are in memory: PT_PHDR, or the PT_LOAD that holds them. */
static unsigned long phdr_address(unsigned long bias)
{
	for (unsigned int i = 0; i < ehdr.e_phnum; i++)
		if (phdrs[i].p_type == PT_PHDR)
			return phdrs[i].p_vaddr + bias;
	for (unsigned int i = 0; i < ehdr.e_phnum; i++) {
		const struct elf64_phdr *ph = &phdrs[i];

		if (ph->p_type == PT_LOAD && ehdr.e_phoff >= ph->p_offset &&
		    ehdr.e_phoff < ph->p_offset + ph->p_filesz)
			return ph->p_vaddr + bias + (ehdr.e_phoff - ph->p_offset);
	}
	return 0;
}

int load_program(struct exec_image *img)
{
	unsigned long bias = 0, lowest = ~0UL, brk = 0;
	int ret;

	ret = program_read(virt_to_phys(&ehdr), sizeof(ehdr), 0);
	if (!ret)
		ret = check_ehdr();
	if (!ret)
		ret = program_read(virt_to_phys(phdrs),
				   (unsigned long)ehdr.e_phnum * sizeof(struct elf64_phdr),
				   ehdr.e_phoff);
	if (ret)
		return ret;
	for (unsigned int i = 0; i < ehdr.e_phnum; i++) {
		if (phdrs[i].p_type == PT_INTERP)
			return -ENOEXEC; /* dynamic: the VMM says so before it starts us */
		if (phdrs[i].p_type == PT_LOAD)
			lowest = MIN(lowest, phdrs[i].p_vaddr & PAGE_MASK);
	}
	if (lowest == ~0UL)
		return -ENOEXEC;
	if (ehdr.e_type == ET_DYN)
		bias = PIE_BASE - lowest;
	for (unsigned int i = 0; i < ehdr.e_phnum; i++) {
		if (phdrs[i].p_type != PT_LOAD)
			continue;
		ret = load_segment(&phdrs[i], bias);
		if (ret)
			return ret;
		brk = MAX(brk, phdrs[i].p_vaddr + bias + phdrs[i].p_memsz);
	}
	*img = (struct exec_image){ .entry = ehdr.e_entry + bias,
				    .phdr = phdr_address(bias),
				    .phnum = ehdr.e_phnum,
				    .phent = ehdr.e_phentsize,
				    .base = bias,
				    .brk = brk };
	return 0;
}

/* ---- the initial stack ---- */

/* Push @len bytes at the stack pointer @sp (moved down): their user address, or 0. */
static unsigned long push_bytes(unsigned long *sp, const void *src, unsigned long len)
{
	*sp -= len;
	return copy_to_user(*sp, src, len) ? 0 : *sp;
}

/*
 * From the top down, as Linux: a null word, the program's name
 * (AT_EXECFN), the argument and environment strings, "x86_64"
 * (AT_PLATFORM), 16 random bytes (AT_RANDOM); then, 16-byte aligned at
 * argc, argc, argv[], NULL, envp[], NULL and the auxiliary vector.
 */
int setup_stack(const struct exec_image *img, unsigned long *sp_out)
{
	const char *strings = exec_info->strings, *execfn = exec_program_path();
	unsigned long argc = exec_info->argc, envc = exec_info->envc;
	unsigned long block = (unsigned long)(execfn - strings), sp = USER_TOP - 8;
	unsigned long u_execfn, u_strings, u_platform, u_random, *vec = (unsigned long *)bounce;
	unsigned long words = 1 + argc + 1 + envc + 1 + 2 * NR_AUXV, off = 0, n = 0, rnd[2];
	unsigned int a, b, c, d;

	if (words * 8 > BOUNCE_SIZE)
		return -E2BIG;
	u_execfn = push_bytes(&sp, execfn, strlen(execfn) + 1);
	u_strings = push_bytes(&sp, strings, block);
	u_platform = push_bytes(&sp, "x86_64", 7);
	rnd[0] = random_u64();
	rnd[1] = random_u64();
	sp &= ~15UL;
	u_random = push_bytes(&sp, rnd, 16);
	if (!u_execfn || !u_strings || !u_platform || !u_random)
		return -EFAULT;
	cpuid(1, &a, &b, &c, &d);

	vec[n++] = argc;
	if (!argc)
		vec[n++] = 0; /* argv's NULL */
	for (unsigned long i = 0; i < argc + envc; i++) {
		vec[n++] = u_strings + off;
		off += strlen(strings + off) + 1;
		if (i + 1 == argc)
			vec[n++] = 0; /* argv's NULL */
	}
	vec[n++] = 0; /* envp's NULL */
#define AUX(type, val)                                                                             \
	do {                                                                                       \
		vec[n++] = (type);                                                                 \
		vec[n++] = (val);                                                                  \
	} while (0)
	AUX(AT_HWCAP, d);
	AUX(AT_PAGESZ, PAGE_SIZE);
	AUX(AT_CLKTCK, 100);
	AUX(AT_PHDR, img->phdr);
	AUX(AT_PHENT, img->phent);
	AUX(AT_PHNUM, img->phnum);
	AUX(AT_BASE, 0); /* no interpreter */
	AUX(AT_FLAGS, 0);
	AUX(AT_ENTRY, img->entry);
	AUX(AT_UID, 0);
	AUX(AT_EUID, 0);
	AUX(AT_GID, 0);
	AUX(AT_EGID, 0);
	AUX(AT_SECURE, 0);
	AUX(AT_RANDOM, u_random);
	AUX(AT_HWCAP2, 0);
	AUX(AT_EXECFN, u_execfn);
	AUX(AT_PLATFORM, u_platform);
	AUX(AT_NULL, 0);
#undef AUX
	sp = (sp - n * 8) & ~15UL;
	if (copy_to_user(sp, vec, n * 8))
		return -EFAULT;
	*sp_out = sp;
	return 0;
}
