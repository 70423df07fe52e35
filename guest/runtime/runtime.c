// SPDX-License-Identifier: GPL-2.0
/* The guest runtime: entry, exit, console printf and a few libc routines. */
#include "guest.h"

extern char _end[];

static unsigned int nr_cpus;
static unsigned long ram_bytes;

void guest_start(unsigned int cpu, unsigned int ncpus, unsigned long ram_size);

void guest_start(unsigned int cpu, unsigned int ncpus, unsigned long ram_size)
{
	int status;

	nr_cpus = ncpus;
	ram_bytes = ram_size;
	status = guest_main(cpu, ncpus, ram_size);
	if (cpu == 0 || status)
		guest_exit(status);
	guest_halt();
}

void guest_exit(int status)
{
	for (;;)
		outl(PORT_EXIT, (uint32_t)status);
}

void guest_halt(void)
{
	for (;;)
		__asm__ volatile("hlt");
}

unsigned long clock_ns(void)
{
	return hypercall(HC_CLOCK_NS, 0, 0);
}

void guest_check_failed(const char *image, unsigned int cpu, const char *what, unsigned long got,
			unsigned long want)
{
	printf("%s: vCPU %u: %s %lx, expected %lx: FAILED\n", image, cpu, what, got, want);
	guest_exit(1);
}

unsigned long ram_free_start(void)
{
	return ((unsigned long)_end + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
}

unsigned long ram_free_end(void)
{
	return ram_end() - (unsigned long)nr_cpus * GUEST_STACK_SIZE;
}

unsigned long ram_end(void)
{
	return GUEST_RAM_BASE + ram_bytes;
}

unsigned long ram_free_sweep(void)
{
	unsigned long *lo = (unsigned long *)ram_free_start(),
		      *hi = (unsigned long *)ram_free_end();
	unsigned long *p;

	for (p = lo; p < hi; p++)
		*p = (unsigned long)p * 0x9e3779b97f4a7c15UL;
	for (p = lo; p < hi; p++)
		if (*p != (unsigned long)p * 0x9e3779b97f4a7c15UL)
			return (unsigned long)p;
	return 0;
}

void *memset(void *s, int c, size_t n)
{
	unsigned char *p = s;

	while (n--)
		*p++ = (unsigned char)c;
	return s;
}

void *memcpy(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

/* ---- a small vsnprintf: %d %i %u %x %X %p %s %c %%, flags 0 -, width, l/ll/z ---- */

struct out {
	char *buf;
	size_t size, len;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void put_number(struct out *o, unsigned long v, unsigned int base, bool upper, bool neg,
		       int width, bool zero, bool left)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0, pad;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	if (neg)
		tmp[n++] = '-';
	pad = width > n ? width - n : 0;
	if (zero && !left && neg) {
		put(o, '-');
		n--;
	}
	while (!left && pad--)
		put(o, zero ? '0' : ' ');
	while (n--)
		put(o, tmp[n]);
	while (left && pad-- > 0)
		put(o, ' ');
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };

	for (; *fmt; fmt++) {
		bool zero = false, left = false, upper = false;
		int width = 0, lng = 0;
		unsigned long v;

		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		for (fmt++; *fmt == '0' || *fmt == '-'; fmt++)
			*fmt == '0' ? (zero = true) : (left = true);
		for (; *fmt >= '0' && *fmt <= '9'; fmt++)
			width = width * 10 + (*fmt - '0');
		for (; *fmt == 'l' || *fmt == 'z'; fmt++)
			lng++;
		switch (*fmt) {
		case 'd':
		case 'i': {
			long s = lng ? va_arg(ap, long) : va_arg(ap, int);

			put_number(&o, s < 0 ? -(unsigned long)s : (unsigned long)s, 10, false,
				   s < 0, width, zero, left);
			break;
		}
		case 'u':
		case 'x':
		case 'X':
			v = lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int);
			upper = *fmt == 'X';
			put_number(&o, v, *fmt == 'u' ? 10 : 16, upper, false, width, zero, left);
			break;
		case 'p':
			put(&o, '0');
			put(&o, 'x');
			put_number(&o, (unsigned long)va_arg(ap, void *), 16, false, false, width,
				   zero, left);
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			int n = (int)strlen(s ? s : "(null)");

			while (!left && width-- > n)
				put(&o, ' ');
			for (const char *p = s ? s : "(null)"; *p; p++)
				put(&o, *p);
			while (left && width-- > n)
				put(&o, ' ');
			break;
		}
		case 'c':
			put(&o, (char)va_arg(ap, int));
			break;
		case '%':
			put(&o, '%');
			break;
		default: /* unknown conversion: print it as it stands */
			put(&o, '%');
			if (!*fmt)
				goto out;
			put(&o, *fmt);
		}
	}
out:
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

int printf(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	for (const char *p = buf; *p; p++)
		outb(PORT_CONSOLE, (uint8_t)*p);
	return n;
}
