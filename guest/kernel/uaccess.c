// SPDX-License-Identifier: GPL-2.0
/*
 * User memory, reached the way access_process_vm() reaches another
 * process's: each user page is looked up in the page tables (faulted in
 * first, as get_user_pages() does, when the VMA allows the access) and
 * copied through the direct map.  The kernel never dereferences a user
 * address, so it takes no #PF of its own, and a bad pointer is -EFAULT
 * however the program made it.
 */
#include "kernel.h"

/*
 * The kernel address of user byte @uaddr for a read or a @write: the
 * page is faulted in if the VMA allows the access.  NULL for -EFAULT.
 */
static void *user_addr(unsigned long uaddr, bool write)
{
	unsigned long *pte, val;

	if (uaddr < USER_MIN || uaddr >= USER_TOP)
		return NULL;
	pte = pte_get(uaddr, false);
	val = pte ? pte_read(pte) : 0;
	if (!(val & PTE_P) || !(val & PTE_U) || (write && !(val & PTE_W))) {
		if (handle_mm_fault(uaddr, write ? PFERR_WRITE : 0))
			return NULL;
		pte = pte_get(uaddr, false);
		val = pte ? pte_read(pte) : 0;
		if (!(val & PTE_P))
			return NULL;
	}
	return (char *)phys_to_virt(val & PTE_ADDR_MASK) + (uaddr & ~PAGE_MASK);
}

long copy_from_user(void *dst, unsigned long usrc, unsigned long n)
{
	char *d = dst;

	while (n) {
		unsigned long chunk = MIN(n, PAGE_SIZE - (usrc & ~PAGE_MASK));
		void *src = user_addr(usrc, false);

		if (!src)
			return -EFAULT;
		copy_bytes(d, src, chunk);
		d += chunk;
		usrc += chunk;
		n -= chunk;
	}
	return 0;
}

long copy_to_user(unsigned long udst, const void *src, unsigned long n)
{
	const char *s = src;

	while (n) {
		unsigned long chunk = MIN(n, PAGE_SIZE - (udst & ~PAGE_MASK));
		void *dst = user_addr(udst, true);

		if (!dst)
			return -EFAULT;
		copy_bytes(dst, s, chunk);
		s += chunk;
		udst += chunk;
		n -= chunk;
	}
	return 0;
}

long clear_user(unsigned long udst, unsigned long n)
{
	while (n) {
		unsigned long chunk = MIN(n, PAGE_SIZE - (udst & ~PAGE_MASK));
		void *dst = user_addr(udst, true);

		if (!dst)
			return -EFAULT;
		fill_bytes(dst, 0, chunk);
		udst += chunk;
		n -= chunk;
	}
	return 0;
}

long strncpy_from_user(char *dst, unsigned long usrc, unsigned long size)
{
	unsigned long len = 0;

	while (len < size) {
		unsigned long chunk = PAGE_SIZE - (usrc & ~PAGE_MASK);
		const char *src = user_addr(usrc, false);

		if (!src)
			return -EFAULT;
		for (unsigned long i = 0; i < chunk && len < size; i++, len++) {
			dst[len] = src[i];
			if (!src[i])
				return (long)len;
		}
		usrc += chunk;
	}
	return -ENAMETOOLONG;
}
