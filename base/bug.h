/* SPDX-License-Identifier: GPL-2.0 */
#ifndef NOPIN_BASE_BUG_H
#define NOPIN_BASE_BUG_H

#include <stdlib.h>

#include "base/report.h"

void __warn(const char *file, int line, const char *cond);
void __noreturn __bug(const char *file, int line, const char *cond);

/* A broken invariant that the program can survive: a counted report. */
#define WARN_ON(cond)                                                                              \
	({                                                                                         \
		bool __c = !!(cond);                                                               \
		if (unlikely(__c))                                                                 \
			__warn(__FILE__, __LINE__, #cond);                                         \
		unlikely(__c);                                                                     \
	})

#define WARN_ON_ONCE(cond)                                                                         \
	({                                                                                         \
		static bool __warned;                                                              \
		bool __c = !!(cond);                                                               \
		if (unlikely(__c) && !__atomic_exchange_n(&__warned, true, __ATOMIC_RELAXED))      \
			__warn(__FILE__, __LINE__, #cond);                                         \
		unlikely(__c);                                                                     \
	})

/* A broken invariant that makes going on meaningless: report and abort. */
#define BUG_ON(cond)                                                                               \
	do {                                                                                       \
		if (unlikely(cond))                                                                \
			__bug(__FILE__, __LINE__, #cond);                                          \
	} while (0)
#define BUG() __bug(__FILE__, __LINE__, "BUG()")

#endif
