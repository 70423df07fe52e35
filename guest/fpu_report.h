/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the `fpu` image computes and prints, shared with the host test that
 * computes the same text natively as its reference: a numerical integral,
 * a linear system solved by Gaussian elimination, Newton square roots in
 * double and float, conversions between integers and floating point, and
 * particles moved by struct copies, memcpy and memset.  Built without
 * -mgeneral-regs-only, gcc uses SSE2 for all of it (scalar and packed
 * arithmetic, compares, conversions, 16-byte moves).  Header-only,
 * freestanding; the output is formatted here, in fixed point, so it does
 * not depend on a libc's printf.
 */
#ifndef NOPIN_GUEST_FPU_REPORT_H
#define NOPIN_GUEST_FPU_REPORT_H

#include <stddef.h>
#include <stdint.h>

struct fpu_out {
	char *buf;
	size_t len, n;
};

static inline void fpu_putc(struct fpu_out *o, char c)
{
	if (o->n + 1 < o->len)
		o->buf[o->n++] = c;
	o->buf[o->n < o->len ? o->n : o->len - 1] = 0;
}

static inline void fpu_puts(struct fpu_out *o, const char *s)
{
	while (*s)
		fpu_putc(o, *s++);
}

static inline void fpu_putu(struct fpu_out *o, unsigned long v, int min_digits)
{
	char d[24];
	int i = 0;

	do {
		d[i++] = '0' + v % 10;
		v /= 10;
	} while (v || i < min_digits);
	while (i)
		fpu_putc(o, d[--i]);
}

static inline void fpu_puti(struct fpu_out *o, long v)
{
	if (v < 0)
		fpu_putc(o, '-');
	fpu_putu(o, v < 0 ? -(unsigned long)v : (unsigned long)v, 1);
}

/* @v with @decimals digits after the point, rounded half away from zero (|v| < 1e6). */
static inline void fpu_putf(struct fpu_out *o, double v, int decimals)
{
	double scale = 1.0;
	unsigned long fixed, unit;
	int i;

	for (i = 0; i < decimals; i++)
		scale *= 10.0;
	if (v < 0) {
		fpu_putc(o, '-');
		v = -v;
	}
	fixed = (unsigned long)(v * scale + 0.5);
	unit = (unsigned long)scale;
	fpu_putu(o, fixed / unit, 1);
	fpu_putc(o, '.');
	fpu_putu(o, fixed % unit, decimals);
}

/* Simpson's rule for 4 / (1 + x^2) on [0, 1]: pi. */
static inline double fpu_simpson_pi(int steps)
{
	double h = 1.0 / steps, sum = 0.0;
	int i;

	for (i = 0; i <= steps; i++) {
		double x = i * h, f = 4.0 / (1.0 + x * x);

		sum += (i == 0 || i == steps) ? f : (i & 1) ? 4.0 * f : 2.0 * f;
	}
	return sum * h / 3.0;
}

#define FPU_N 4

/* Solve a x = b by Gaussian elimination with partial pivoting; returns the determinant. */
static inline double fpu_solve(double a[FPU_N][FPU_N], double b[FPU_N], double x[FPU_N])
{
	double det = 1.0;
	int i, j, k;

	for (k = 0; k < FPU_N; k++) {
		int p = k;

		for (i = k + 1; i < FPU_N; i++)
			if ((a[i][k] < 0 ? -a[i][k] : a[i][k]) > (a[p][k] < 0 ? -a[p][k] : a[p][k]))
				p = i;
		if (p != k) {
			double row[FPU_N], t = b[k];

			__builtin_memcpy(row, a[k], sizeof(row));
			__builtin_memcpy(a[k], a[p], sizeof(row));
			__builtin_memcpy(a[p], row, sizeof(row));
			b[k] = b[p];
			b[p] = t;
			det = -det;
		}
		det *= a[k][k];
		for (i = k + 1; i < FPU_N; i++) {
			double m = a[i][k] / a[k][k];

			for (j = k; j < FPU_N; j++)
				a[i][j] -= m * a[k][j];
			b[i] -= m * b[k];
		}
	}
	for (i = FPU_N - 1; i >= 0; i--) {
		double s = b[i];

		for (j = i + 1; j < FPU_N; j++)
			s -= a[i][j] * x[j];
		x[i] = s / a[i][i];
	}
	return det;
}

static inline double fpu_sqrt(double v)
{
	double x = v > 1.0 ? v : 1.0;
	int i;

	for (i = 0; i < 60; i++)
		x = 0.5 * (x + v / x);
	return x;
}

static inline float fpu_sqrtf(float v)
{
	float x = v > 1.0f ? v : 1.0f;
	int i;

	for (i = 0; i < 30; i++)
		x = 0.5f * (x + v / x);
	return x;
}

struct fpu_particle {
	double pos[2], vel[2];
	float mass;
	int id;
	char name[8];
};

/* Move the particles @steps times: each step works on a copy and copies it back. */
static inline double fpu_particles(struct fpu_particle *p, int n, int steps)
{
	struct fpu_particle next[8];
	double energy = 0.0;
	int s, i;

	for (s = 0; s < steps; s++) {
		__builtin_memcpy(next, p, n * sizeof(*p));
		for (i = 0; i < n; i++) {
			struct fpu_particle q = next[i];

			q.vel[1] -= 9.81 * 0.01;
			q.pos[0] += q.vel[0] * 0.01;
			q.pos[1] += q.vel[1] * 0.01;
			if (q.pos[1] < 0.0) {
				q.pos[1] = -q.pos[1];
				q.vel[1] = -q.vel[1] * 0.9;
			}
			next[i] = q;
		}
		__builtin_memcpy(p, next, n * sizeof(*p));
	}
	for (i = 0; i < n; i++)
		energy +=
			0.5 * p[i].mass * (p[i].vel[0] * p[i].vel[0] + p[i].vel[1] * p[i].vel[1]) +
			p[i].mass * 9.81 * p[i].pos[1];
	return energy;
}

/* The conversions' inputs: volatile, so that they are not constant-folded. */
static volatile const struct {
	double d[6];
	float f[3];
	int i;
	unsigned long u;
	long l;
} fpu_in = {
	{ -2.75, 1e15, 0.1, 0.2, 0.3, 3.14159265358979 },
	{ 0.1f, 0.2f, 0.3f },
	123456789,
	0xfedcba9876543210UL,
	1L << 53,
};

/* The whole report, as the image prints it. */
static inline void fpu_report(char *buf, size_t len)
{
	struct fpu_out o = { buf, len, 0 };
	double a[FPU_N][FPU_N] = {
		{ 4, -2, 1, 3 }, { 3, 6, -4, 2 }, { 2, 1, 8, -5 }, { 1, -3, 2, 7 }
	};
	double b[FPU_N] = { 10, 7, 12, 9 }, x[FPU_N], det;
	struct fpu_particle p[8], init = { { 0.0, 10.0 }, { 1.5, 0.0 }, 1.0f, 0, "dot" };
	unsigned char scratch[200];
	unsigned long sum = 0;
	long conv[8];
	int i;

	o.buf[0] = 0;
	fpu_puts(&o, "fpu: pi by Simpson, 1000 steps: ");
	fpu_putf(&o, fpu_simpson_pi(1000), 12);
	fpu_puts(&o, "\nfpu: det ");
	det = fpu_solve(a, b, x);
	fpu_putf(&o, det, 6);
	fpu_puts(&o, ", x =");
	for (i = 0; i < FPU_N; i++) {
		fpu_putc(&o, ' ');
		fpu_putf(&o, x[i], 9);
	}
	fpu_puts(&o, "\nfpu: sqrt(2) ");
	fpu_putf(&o, fpu_sqrt(2.0), 15);
	fpu_puts(&o, ", sqrtf(3) ");
	fpu_putf(&o, fpu_sqrtf(3.0f), 7);

	/* From volatile inputs, so that gcc converts at run time rather than folding. */
	conv[0] = (long)fpu_in.d[0];
	conv[1] = (long)(fpu_in.d[1] / 7.0);
	conv[2] = (long)(float)fpu_in.i;
	conv[3] = (long)(unsigned long)(double)fpu_in.u;
	conv[4] = (int)(fpu_in.f[0] + fpu_in.f[1] == fpu_in.f[2]) +
		  2 * (int)(fpu_in.d[2] + fpu_in.d[3] == fpu_in.d[4]);
	conv[5] = (long)((double)fpu_in.l + 1.0) - fpu_in.l;
	conv[6] = (long)((float)fpu_in.d[5] * 1e6f);
	conv[7] = (long)(1e6 * (fpu_in.d[0] > fpu_in.d[5] ? fpu_in.d[0] : fpu_in.d[5]));
	fpu_puts(&o, "\nfpu: conversions");
	for (i = 0; i < 8; i++) {
		fpu_putc(&o, ' ');
		fpu_puti(&o, conv[i]);
	}

	for (i = 0; i < 8; i++) {
		p[i] = init;
		p[i].id = i;
		p[i].vel[0] += 0.25 * i;
		p[i].pos[1] += i;
		p[i].mass = 1.0f + 0.5f * i;
		p[i].name[3] = '0' + i;
	}
	fpu_puts(&o, "\nfpu: particles, energy after 500 steps ");
	fpu_putf(&o, fpu_particles(p, 8, 500), 6);
	fpu_puts(&o, ", particle 7 at ");
	fpu_putf(&o, p[7].pos[0], 6);
	fpu_putc(&o, ',');
	fpu_putf(&o, p[7].pos[1], 6);

	__builtin_memset(scratch, 0x5a, sizeof(scratch));
	__builtin_memcpy(scratch + 8, p, 3 * sizeof(p[0]));
	__builtin_memset(scratch + 64, 0, 64);
	for (i = 0; i < (int)sizeof(scratch); i++)
		sum = sum * 31 + scratch[i];
	fpu_puts(&o, "\nfpu: bytes ");
	fpu_putu(&o, sum % 1000000007UL, 1);
	fpu_puts(&o, "\nfpu: ok\n");
}

#endif
