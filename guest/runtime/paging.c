// SPDX-License-Identifier: GPL-2.0
/*
 * Page tables of the guest's own: a bump allocator of guest frames over
 * ram_free_start()..ram_free_end(), map, unmap and lookup of 4 KiB and
 * 2 MiB pages in 4-level x86-64 tables, an identity map of RAM, and
 * probes, a load or store whose #PF the caller expects.  Every table is
 * reached at its GPA, so the guest keeps an identity map of RAM in every
 * address space it loads (docs/design.md, "The guest ABI").
 */
#include "guest.h"

/* The next free byte; 0 until the first allocation, as every vCPU may be first. */
static unsigned long frame_next;

unsigned long alloc_frames(unsigned long bytes, unsigned long align)
{
	unsigned long cur = __atomic_load_n(&frame_next, __ATOMIC_RELAXED);

	for (;;) {
		unsigned long base = cur ? cur : ram_free_start();
		unsigned long start = (base + align - 1) & ~(align - 1);

		if (start + bytes > ram_free_end() || start + bytes < start)
			return 0;
		if (__atomic_compare_exchange_n(&frame_next, &cur, start + bytes, false,
						__ATOMIC_RELAXED, __ATOMIC_RELAXED))
			return start;
	}
}

/* A word loop: the runtime's memset() and memcpy() go a byte at a time. */
void fill_frame(unsigned long gpa, unsigned long word)
{
	volatile unsigned long *p = (unsigned long *)gpa;

	for (unsigned long i = 0; i < PAGE_SIZE / 8; i++)
		p[i] = word;
}

void copy_frame(unsigned long dst, unsigned long src)
{
	volatile unsigned long *d = (unsigned long *)dst;
	const volatile unsigned long *s = (const unsigned long *)src;

	for (unsigned long i = 0; i < PAGE_SIZE / 8; i++)
		d[i] = s[i];
}

unsigned long alloc_frame(void)
{
	unsigned long gpa = alloc_frames(PAGE_SIZE, PAGE_SIZE);

	/* RAM may hold anything: a frame is a page table's before it is a page's. */
	if (gpa)
		fill_frame(gpa, 0);
	return gpa;
}

unsigned long pgtable_new(void)
{
	return alloc_frame();
}

/*
 * A single 8-byte access each: another vCPU's walk sets A or D in the
 * entry by cmpxchg, and must see the whole old or the whole new value.
 */
unsigned long pte_read(const unsigned long *pte)
{
	return __atomic_load_n(pte, __ATOMIC_RELAXED);
}

void pte_write(unsigned long *pte, unsigned long val)
{
	__atomic_store_n(pte, val, __ATOMIC_RELEASE);
}

static unsigned int pte_index(unsigned long va, unsigned int level)
{
	return (va >> (12 + 9 * (level - 1))) & 511;
}

static unsigned long *table_of(unsigned long entry)
{
	return (unsigned long *)(entry & PTE_ADDR_MASK);
}

/*
 * The entry of @va at @level, walking from @pml4 and, with @alloc, making
 * the missing tables on the way.  An upper entry grants every right (W,
 * U, no NX): the leaf alone says what a page allows, so a remap needs to
 * change one entry.  NULL for a large page on the way, or no RAM left.
 */
static unsigned long *pte_walk(unsigned long pml4, unsigned long va, unsigned int level, bool alloc)
{
	unsigned long *table = (unsigned long *)pml4;

	for (unsigned int l = 4; l > level; l--) {
		unsigned long *entry = &table[pte_index(va, l)];
		unsigned long val = pte_read(entry);

		if (!(val & PTE_P)) {
			unsigned long frame = alloc ? alloc_frame() : 0;

			if (!frame)
				return NULL;
			val = frame | PTE_P | PTE_W | PTE_U;
			pte_write(entry, val);
		} else if (val & PTE_PS) {
			return NULL;
		}
		table = table_of(val);
	}
	return &table[pte_index(va, level)];
}

unsigned long *pte_alloc(unsigned long pml4, unsigned long va)
{
	return pte_walk(pml4, va, 1, true);
}

long map_page(unsigned long pml4, unsigned long va, unsigned long gpa, unsigned long size,
	      unsigned long flags)
{
	unsigned int level = size == PAGE_SIZE_2M ? 2 : 1;
	unsigned long *pte;

	if ((size != PAGE_SIZE && size != PAGE_SIZE_2M) || ((va | gpa) & (size - 1)))
		return -GUEST_EINVAL;
	pte = pte_walk(pml4, va, level, true);
	if (!pte)
		return -GUEST_ENOMEM;
	pte_write(pte, gpa | flags | PTE_P | (level > 1 ? PTE_PS : 0));
	return 0;
}

unsigned long *pte_lookup(unsigned long pml4, unsigned long va, unsigned int *level)
{
	unsigned long *table = (unsigned long *)pml4;

	for (unsigned int l = 4; l >= 1; l--) {
		unsigned long *entry = &table[pte_index(va, l)];
		unsigned long val = pte_read(entry);

		if (!(val & PTE_P))
			return NULL;
		if (l == 1 || (val & PTE_PS)) {
			*level = l;
			return entry;
		}
		table = table_of(val);
	}
	return NULL;
}

long unmap_page(unsigned long pml4, unsigned long va)
{
	unsigned int level;
	unsigned long *pte = pte_lookup(pml4, va, &level);

	if (!pte)
		return -GUEST_EINVAL;
	pte_write(pte, 0);
	return 0;
}

long identity_map_ram(unsigned long pml4)
{
	unsigned long gpa = GUEST_RAM_BASE, end = ram_end();

	while (gpa < end) {
		unsigned long size = PAGE_SIZE;
		long ret;

		if (!(gpa & (PAGE_SIZE_2M - 1)) && gpa + PAGE_SIZE_2M <= end)
			size = PAGE_SIZE_2M;
		ret = map_page(pml4, gpa, gpa, size, PTE_W);
		if (ret)
			return ret;
		gpa += size;
	}
	return 0;
}

void load_own_cr3(const char *image, unsigned long pml4)
{
	long ret = guest_load_cr3(pml4);

	if (!ret)
		return;
	/* A guest MMU is the VMM's choice: say which one refuses. */
	printf("%s: HC_LOAD_CR3 of %lx: %ld%s: FAILED\n", image, pml4, ret,
	       ret == -GUEST_EOPNOTSUPP ? " (the MMU runs flat: no tables of the guest's)" : "");
	guest_exit(1);
}

/*
 * The probes' instructions, between labels the fixup knows.  A fault
 * there resumes after the instruction with rdx = 1, rcx = the error code
 * and rsi = CR2, which the probe returns.
 */
__asm__(".text\n"
	"probe_read_insn:\n"
	"	mov (%rdi), %rax\n"
	"probe_read_done:\n"
	"	ret\n"
	"probe_write_insn:\n"
	"	mov %rax, (%rdi)\n"
	"probe_write_done:\n"
	"	ret\n");
extern const char probe_read_insn[], probe_read_done[], probe_write_insn[], probe_write_done[];

bool probe_fixup(struct exception_frame *frame)
{
	unsigned long next;

	if (frame->rip == (unsigned long)probe_read_insn)
		next = (unsigned long)probe_read_done;
	else if (frame->rip == (unsigned long)probe_write_insn)
		next = (unsigned long)probe_write_done;
	else
		return false;
	frame->rip = next;
	frame->rdx = 1;
	frame->rcx = frame->error_code;
	frame->rsi = frame->cr2;
	return true;
}

long probe_read(unsigned long va, unsigned long *val, struct probe_fault *fault)
{
	unsigned long rax, faulted = 0, error_code = 0, cr2 = 0;

	__asm__ volatile("call probe_read_insn"
			 : "=a"(rax), "+d"(faulted), "+c"(error_code), "+S"(cr2)
			 : "D"(va)
			 : "memory", "cc");
	if (!faulted) {
		*val = rax;
		return 0;
	}
	fault->error_code = error_code;
	fault->cr2 = cr2;
	return -GUEST_EFAULT;
}

long probe_write(unsigned long va, unsigned long val, struct probe_fault *fault)
{
	unsigned long faulted = 0, error_code = 0, cr2 = 0;

	__asm__ volatile("call probe_write_insn"
			 : "+d"(faulted), "+c"(error_code), "+S"(cr2)
			 : "D"(va), "a"(val)
			 : "memory", "cc");
	if (!faulted)
		return 0;
	fault->error_code = error_code;
	fault->cr2 = cr2;
	return -GUEST_EFAULT;
}
