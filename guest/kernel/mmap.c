// SPDX-License-Identifier: GPL-2.0
/*
 * The process's address space, after mm/mmap.c, mm/mprotect.c,
 * mm/mremap.c and mm/madvise.c: a sorted array of VMAs, the brk heap, the
 * mmap area below the stack, and the demand paging of anonymous memory
 * (mm/memory.c's do_anonymous_page()).
 *
 * Every private mapping is anonymous once it exists: the ELF loader and
 * file mmap() read the file's bytes into frames eagerly, and the rest of
 * a VMA is zero-filled at its first touch.  Page tables are never freed
 * (the process is the machine's only one, and exits with it).
 */
#include "kernel.h"

#define MAX_VMAS 1024

#define PROT_READ 0x1
#define PROT_WRITE 0x2
#define PROT_EXEC 0x4
#define MAP_SHARED 0x01
#define MAP_PRIVATE 0x02
#define MAP_SHARED_VALIDATE 0x03
#define MAP_TYPE 0x0f
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20
#define MAP_GROWSDOWN 0x0100
#define MAP_FIXED_NOREPLACE 0x100000
#define MREMAP_MAYMOVE 1
#define MREMAP_FIXED 2
#define MADV_DONTNEED 4

/* The process's address space: it is the kernel's only one. */
static struct vma vmas[MAX_VMAS];
static unsigned int nr_vmas;
static unsigned long brk_start, brk_cur;

/* The VMA that holds @addr, or NULL. */
struct vma *find_vma(unsigned long addr)
{
	unsigned int lo = 0, hi = nr_vmas;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;

		if (addr < vmas[mid].start)
			hi = mid;
		else if (addr >= vmas[mid].end)
			lo = mid + 1;
		else
			return &vmas[mid];
	}
	return NULL;
}

/* The index of the first VMA that ends above @addr (nr_vmas if none). */
static unsigned int vma_index_after(unsigned long addr)
{
	unsigned int lo = 0, hi = nr_vmas;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;

		if (vmas[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool range_is_free(unsigned long start, unsigned long end)
{
	unsigned int i = vma_index_after(start);

	return i == nr_vmas || vmas[i].start >= end;
}

/* PTE bits for a VMA's rights: x86 reads whatever it may write or execute. */
unsigned long pte_prot(unsigned long vm_flags)
{
	unsigned long prot = PTE_U;

	if (vm_flags & VM_WRITE)
		prot |= PTE_W;
	if (!(vm_flags & VM_EXEC))
		prot |= PTE_NX;
	return prot;
}

static bool vma_accessible(unsigned long vm_flags)
{
	return vm_flags & (VM_READ | VM_WRITE | VM_EXEC);
}

/* Split the VMA that holds @addr so that one starts there. */
static int vma_split(unsigned long addr)
{
	struct vma *vma = find_vma(addr);
	unsigned int i;

	if (!vma || vma->start == addr)
		return 0;
	if (nr_vmas == MAX_VMAS)
		return -ENOMEM;
	i = (unsigned int)(vma - vmas);
	for (unsigned int j = nr_vmas; j > i + 1; j--)
		vmas[j] = vmas[j - 1];
	nr_vmas++;
	vmas[i + 1] = vmas[i];
	vmas[i].end = addr;
	vmas[i + 1].start = addr;
	return 0;
}

/* Join neighbours with the same flags, so an mprotect() round trip leaves one VMA. */
static void vma_merge_all(void)
{
	unsigned int out = 0;

	for (unsigned int i = 0; i < nr_vmas; i++) {
		if (out && vmas[out - 1].end == vmas[i].start &&
		    vmas[out - 1].flags == vmas[i].flags)
			vmas[out - 1].end = vmas[i].end;
		else
			vmas[out++] = vmas[i];
	}
	nr_vmas = out;
}

/*
 * Clear the PTEs of [start, end) and free their frames, skipping the
 * tables that are not there, so unmapping a large reservation costs what
 * was touched.
 */
static void zap_range(unsigned long start, unsigned long end)
{
	struct tlb_gather tlb = { 0 };
	unsigned long va = start;

	while (va < end) {
		unsigned long *pte = pte_get(va, false), val;

		if (!pte) {
			/* No table here: skip to the next 2 MiB. */
			va = (va + PAGE_SIZE_2M) & ~(PAGE_SIZE_2M - 1);
			continue;
		}
		val = pte_read(pte);
		if (val & (PTE_P | PTE_PROTNONE)) {
			pte_write(pte, 0);
			frame_free(val & PTE_ADDR_MASK);
			if (val & PTE_P)
				tlb_gather_page(&tlb, va);
		}
		va += PAGE_SIZE;
	}
	tlb_finish(&tlb);
}

int vma_unmap(unsigned long start, unsigned long end)
{
	unsigned int i, j;
	int ret;

	ret = vma_split(start);
	if (!ret)
		ret = vma_split(end);
	if (ret)
		return ret;
	zap_range(start, end);
	i = vma_index_after(start);
	for (j = i; j < nr_vmas && vmas[j].end <= end; j++)
		;
	for (unsigned int k = j; k < nr_vmas; k++)
		vmas[i + k - j] = vmas[k];
	nr_vmas -= j - i;
	return 0;
}

/* A new VMA over [start, end), which must be free. */
int vma_map(unsigned long start, unsigned long end, unsigned long flags)
{
	unsigned int i;

	if (start >= end || !range_is_free(start, end))
		return -EINVAL;
	if (nr_vmas == MAX_VMAS)
		return -ENOMEM;
	i = vma_index_after(start);
	for (unsigned int j = nr_vmas; j > i; j--)
		vmas[j] = vmas[j - 1];
	vmas[i] = (struct vma){ .start = start, .end = end, .flags = flags };
	nr_vmas++;
	vma_merge_all();
	return 0;
}

/*
 * A #PF in user memory (mm/memory.c): an access the VMA allows to a page
 * not there yet gets a zeroed frame; one to a page that is there but the
 * PTE refused it is a stale translation (the rights grew since): the PTE
 * gets the VMA's rights and the TLB forgets the page.  A page of a file
 * mapping past the end of the file is -EIO, the caller's SIGBUS; anything
 * else is -EFAULT, its SIGSEGV.
 */
int handle_mm_fault(unsigned long addr, unsigned long error_code)
{
	struct vma *vma = find_vma(addr);
	unsigned long *pte, val, frame;

	if (!vma || !vma_accessible(vma->flags))
		return -EFAULT;
	if (vma->flags & VM_PAST_EOF)
		return -EIO;
	if ((error_code & PFERR_WRITE) && !(vma->flags & VM_WRITE))
		return -EFAULT;
	if ((error_code & PFERR_FETCH) && !(vma->flags & VM_EXEC))
		return -EFAULT;
	pte = pte_get(addr, true);
	if (!pte)
		return -ENOMEM;
	val = pte_read(pte);
	if (val & (PTE_P | PTE_PROTNONE)) {
		pte_write(pte, (val & PTE_ADDR_MASK) | pte_prot(vma->flags) | PTE_P);
		flush_tlb_page(addr);
		return 0;
	}
	frame = frame_alloc();
	if (!frame)
		return -ENOMEM;
	pte_write(pte, frame | pte_prot(vma->flags) | PTE_P);
	return 0;
}

/* ---- brk ---- */

void mm_set_brk_base(unsigned long base)
{
	brk_start = brk_cur = PAGE_ALIGN(base);
}

/*
 * brk(2): the heap is the VMA [brk_start, PAGE_ALIGN(brk)); growing it
 * may not reach the next mapping, shrinking it frees the pages.  The
 * answer is the new break, or the old one when it could not move.
 */
long sys_brk(unsigned long brk)
{
	unsigned long old_end = PAGE_ALIGN(brk_cur), new_end = PAGE_ALIGN(brk);

	if (brk < brk_start || brk > MMAP_TOP)
		return (long)brk_cur;
	if (new_end > old_end) {
		if (vma_map(old_end, new_end, VM_READ | VM_WRITE))
			return (long)brk_cur;
	} else if (new_end < old_end) {
		vma_unmap(new_end, old_end);
	}
	brk_cur = brk;
	return (long)brk_cur;
}

/* ---- the stack ---- */

/* The stack's VMA: RLIMIT_STACK below USER_TOP, demand-paged, so its size costs nothing. */
void mm_setup_stack(void)
{
	vma_map(USER_TOP - STACK_MAX, USER_TOP, VM_READ | VM_WRITE | VM_GROWSDOWN);
}

/* ---- mmap ---- */

static unsigned long prot_to_vm(unsigned long prot)
{
	return (prot & PROT_READ ? VM_READ : 0) | (prot & PROT_WRITE ? VM_WRITE : 0) |
	       (prot & PROT_EXEC ? VM_EXEC : 0);
}

/* The highest free range of @len below MMAP_TOP (top-down, as Linux's default layout). */
static unsigned long get_unmapped_area(unsigned long len)
{
	unsigned int i = vma_index_after(MMAP_TOP);
	unsigned long end = i < nr_vmas ? MIN(MMAP_TOP, vmas[i].start) : MMAP_TOP;

	/* Walk the gaps below MMAP_TOP downwards: vmas[i - 1] is the one under [.., end). */
	for (; i > 0; i--) {
		struct vma *below = &vmas[i - 1];

		if (end - below->end >= len)
			return end - len;
		end = below->start;
	}
	return end >= USER_MIN + len ? end - len : 0;
}

/*
 * Fill a private file mapping from the file, a page at a time, into
 * frames of its own.  *past_eof is where the pages wholly past the end of
 * the file start (0 if none): touching them is SIGBUS, as on Linux.
 */
static int populate_from_file(unsigned long start, unsigned long len, unsigned long vm_flags,
			      long fd, unsigned long off, unsigned long *past_eof)
{
	*past_eof = 0;
	for (unsigned long va = start; va < start + len; va += PAGE_SIZE) {
		unsigned long *pte = pte_get(va, true), frame;
		long n;

		if (!pte)
			return -ENOMEM;
		frame = frame_alloc();
		if (!frame)
			return -ENOMEM;
		n = file_read_into(fd, frame, PAGE_SIZE, off + (va - start));
		if (n <= 0) {
			frame_free(frame);
			if (!n)
				*past_eof = va;
			return n < 0 ? (int)n : 0;
		}
		pte_write(pte, frame | pte_prot(vm_flags) |
				       (vma_accessible(vm_flags) ? PTE_P : PTE_PROTNONE));
		if (n < (long)PAGE_SIZE) {
			/* The last page of the file: its tail reads zero. */
			if (va + PAGE_SIZE < start + len)
				*past_eof = va + PAGE_SIZE;
			return 0;
		}
	}
	return 0;
}

/* The part of a file mapping past the end of the file: a VMA of its own, marked. */
static int mark_past_eof(unsigned long start)
{
	struct vma *vma;
	int ret = vma_split(start);

	if (ret)
		return ret;
	vma = find_vma(start);
	vma->flags |= VM_PAST_EOF;
	return 0;
}

long sys_mmap(unsigned long addr, unsigned long len, unsigned long prot, unsigned long flags,
	      long fd, unsigned long off)
{
	unsigned long vm_flags = prot_to_vm(prot), type = flags & MAP_TYPE;
	bool anon = flags & MAP_ANONYMOUS;
	int ret;

	if (!len || (off & ~PAGE_MASK) ||
	    (addr & ~PAGE_MASK && flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)))
		return -EINVAL;
	if (type != MAP_PRIVATE && type != MAP_SHARED && type != MAP_SHARED_VALIDATE)
		return -EINVAL;
	len = PAGE_ALIGN(len);
	if (!len || len > USER_TOP)
		return -ENOMEM;
	/* One process, no fork: shared anonymous memory is private memory. */
	if (type != MAP_PRIVATE && anon)
		vm_flags |= VM_SHARED;
	if (type != MAP_PRIVATE && !anon && (prot & PROT_WRITE))
		return -ENODEV; /* no write-back of a shared file mapping */
	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
		if (addr < USER_MIN || addr + len > USER_TOP || addr + len < addr)
			return -EINVAL;
		if (!range_is_free(addr, addr + len)) {
			if (flags & MAP_FIXED_NOREPLACE)
				return -EEXIST;
			ret = vma_unmap(addr, addr + len);
			if (ret)
				return ret;
		}
	} else {
		addr &= PAGE_MASK;
		if (addr < USER_MIN || addr + len > MMAP_TOP || !range_is_free(addr, addr + len))
			addr = get_unmapped_area(len);
		if (!addr)
			return -ENOMEM;
	}
	if (flags & MAP_GROWSDOWN)
		vm_flags |= VM_GROWSDOWN;
	ret = vma_map(addr, addr + len, vm_flags);
	if (ret)
		return ret == -EINVAL ? -ENOMEM : ret;
	if (!anon) {
		unsigned long past_eof;

		ret = populate_from_file(addr, len, vm_flags, fd, off, &past_eof);
		if (!ret && past_eof)
			ret = mark_past_eof(past_eof);
		if (ret) {
			vma_unmap(addr, addr + len);
			return ret;
		}
	}
	return (long)addr;
}

long sys_munmap(unsigned long addr, unsigned long len)
{
	if ((addr & ~PAGE_MASK) || !len || addr + len < addr)
		return -EINVAL;
	return vma_unmap(addr, addr + PAGE_ALIGN(len));
}

/* The PTEs of [va, end) that hold a frame get the rights of @vm (mm/mprotect.c). */
static void change_protection(unsigned long va, unsigned long end, unsigned long vm)
{
	struct tlb_gather tlb = { 0 };

	for (; va < end; va += PAGE_SIZE) {
		unsigned long *pte = pte_get(va, false), val;

		if (!pte) {
			va = ((va + PAGE_SIZE_2M) & ~(PAGE_SIZE_2M - 1)) - PAGE_SIZE;
			continue;
		}
		val = pte_read(pte);
		if (!(val & (PTE_P | PTE_PROTNONE)))
			continue;
		pte_write(pte, (val & PTE_ADDR_MASK) | pte_prot(vm) |
				       (vma_accessible(vm) ? PTE_P : PTE_PROTNONE));
		if (val & PTE_P)
			tlb_gather_page(&tlb, va);
	}
	tlb_finish(&tlb);
}

/* mprotect(2): split at the edges, new flags on each VMA, then the PTEs that exist. */
long sys_mprotect(unsigned long addr, unsigned long len, unsigned long prot)
{
	unsigned long end = addr + PAGE_ALIGN(len), vm = prot_to_vm(prot);
	int ret;

	if (addr & ~PAGE_MASK || end < addr)
		return -EINVAL;
	/* Linux: -ENOMEM if any page of the range is not mapped. */
	for (unsigned long a = addr; a < end;) {
		struct vma *vma = find_vma(a);

		if (!vma)
			return -ENOMEM;
		a = vma->end;
	}
	ret = vma_split(addr);
	if (!ret)
		ret = vma_split(end);
	if (ret)
		return ret;
	for (unsigned int i = vma_index_after(addr); i < nr_vmas && vmas[i].start < end; i++)
		vmas[i].flags = (vmas[i].flags & ~(VM_READ | VM_WRITE | VM_EXEC)) | vm;
	change_protection(addr, end, vm);
	vma_merge_all();
	return 0;
}

/* Move the pages of [old, old + len) to new, PTE by PTE (the frames go with them). */
static int move_ptes(unsigned long old, unsigned long new, unsigned long len)
{
	struct tlb_gather tlb = { 0 };
	int ret = 0;

	for (unsigned long off = 0; off < len; off += PAGE_SIZE) {
		unsigned long *src = pte_get(old + off, false), *dst, val;

		if (!src || !((val = pte_read(src)) & (PTE_P | PTE_PROTNONE)))
			continue;
		dst = pte_get(new + off, true);
		if (!dst) {
			ret = -ENOMEM;
			break;
		}
		pte_write(dst, val);
		pte_write(src, 0);
		if (val & PTE_P)
			tlb_gather_page(&tlb, old + off);
	}
	tlb_finish(&tlb);
	return ret;
}

/*
 * mremap(2): shrink in place, grow in place where the next range is free,
 * else (with MREMAP_MAYMOVE) move: a new range, the PTEs moved there,
 * the old VMA gone.  glibc's realloc() of a large block comes here.
 */
long sys_mremap(unsigned long addr, unsigned long old_len, unsigned long new_len,
		unsigned long flags, unsigned long new_addr)
{
	struct vma *vma = find_vma(addr);
	unsigned long vm_flags, dst;
	int ret;

	old_len = PAGE_ALIGN(old_len);
	new_len = PAGE_ALIGN(new_len);
	if (addr & ~PAGE_MASK || !new_len || flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED))
		return -EINVAL;
	if (!vma || addr + old_len > vma->end)
		return -EFAULT;
	vm_flags = vma->flags;
	if (flags & MREMAP_FIXED) {
		if (!(flags & MREMAP_MAYMOVE) || new_addr & ~PAGE_MASK)
			return -EINVAL;
		vma_unmap(new_addr, new_addr + new_len);
		dst = new_addr;
	} else {
		if (new_len <= old_len) {
			if (new_len < old_len)
				vma_unmap(addr + new_len, addr + old_len);
			return (long)addr;
		}
		if (addr + new_len <= USER_TOP && range_is_free(addr + old_len, addr + new_len)) {
			ret = vma_map(addr + old_len, addr + new_len, vm_flags);
			return ret ? ret : (long)addr;
		}
		if (!(flags & MREMAP_MAYMOVE))
			return -ENOMEM;
		dst = get_unmapped_area(new_len);
		if (!dst)
			return -ENOMEM;
	}
	ret = vma_map(dst, dst + new_len, vm_flags);
	if (ret)
		return ret;
	ret = move_ptes(addr, dst, MIN(old_len, new_len));
	if (ret)
		return ret;
	vma_unmap(addr, addr + old_len);
	return (long)dst;
}

/*
 * madvise(2): MADV_DONTNEED drops the pages (the next touch reads zeros,
 * as for Linux's private anonymous memory) and gives the frames to the
 * host; every other advice is a hint this kernel takes as done.
 */
long sys_madvise(unsigned long addr, unsigned long len, long advice)
{
	unsigned long end = addr + PAGE_ALIGN(len);

	if (addr & ~PAGE_MASK || end < addr)
		return -EINVAL;
	if (advice != MADV_DONTNEED)
		return 0;
	for (unsigned long a = addr; a < end;) {
		struct vma *vma = find_vma(a);

		if (!vma)
			return -ENOMEM;
		a = vma->end;
	}
	zap_range(addr, end);
	return 0;
}
