// SPDX-License-Identifier: GPL-2.0
#include <execinfo.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/bug.h"
#include "base/current.h"
#include "base/legacy.h"
#include "base/report.h"

/*
 * Global like the kernel's printk state: one report at a time, whatever
 * object it is about.  A raw pthread mutex, not a checked lock: the lock
 * checker itself reports through here.
 */
static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long report_counts[NR_REPORT_CLASSES];
static char report_titles[NR_REPORT_CLASSES][160];

static const char *const class_names[NR_REPORT_CLASSES] = {
	[REPORT_LOCKDEP] = "lockdep",	  [REPORT_ATOMIC_SLEEP] = "sleep-in-atomic",
	[REPORT_SANITIZER] = "sanitizer", [REPORT_WARN] = "warning",
	[REPORT_OOM] = "out-of-memory",
};

const char *report_class_name(enum report_class cls)
{
	return cls < NR_REPORT_CLASSES ? class_names[cls] : "?";
}

void report_start(enum report_class cls, const char *fmt, ...)
{
	char *title = report_titles[cls];
	va_list ap;

	pthread_mutex_lock(&report_lock);
	va_start(ap, fmt);
	vsnprintf(title, sizeof(report_titles[cls]), fmt, ap);
	va_end(ap);
	report_counts[cls]++;
	fprintf(stderr, "\n==================================================================\n");
	fprintf(stderr, "nopin %s: %s\n", class_names[cls], title);
}

void report_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

/*
 * Every report ends with the legacy switches the process has taken, as the
 * kernel's reports print its taint flags: a use-after-free seen while
 * no_remote_flush is on is most likely no_remote_flush's, and says so.
 */
void report_end(void)
{
	struct task_struct *tsk = current;
	unsigned long legacy = legacy_tainted();
	char names[256];

	if (legacy)
		fprintf(stderr, "  legacy switches taken: %s\n",
			legacy_names(legacy, names, sizeof(names)));
	fprintf(stderr, "  task: %s (tid %d)\n", tsk->comm, tsk->tid);
	fprintf(stderr, "==================================================================\n");
	fflush(stderr);
	pthread_mutex_unlock(&report_lock);
}

unsigned long report_count(enum report_class cls)
{
	unsigned long n;

	pthread_mutex_lock(&report_lock);
	n = report_counts[cls];
	pthread_mutex_unlock(&report_lock);
	return n;
}

unsigned long report_total(void)
{
	unsigned long n = 0;

	pthread_mutex_lock(&report_lock);
	for (int i = 0; i < NR_REPORT_CLASSES; i++)
		n += report_counts[i];
	pthread_mutex_unlock(&report_lock);
	return n;
}

unsigned long report_consume(enum report_class cls)
{
	unsigned long n;

	pthread_mutex_lock(&report_lock);
	n = report_counts[cls];
	report_counts[cls] = 0;
	pthread_mutex_unlock(&report_lock);
	return n;
}

const char *report_last_title(enum report_class cls, char *buf, unsigned long len)
{
	pthread_mutex_lock(&report_lock);
	snprintf(buf, len, "%s", report_titles[cls]);
	pthread_mutex_unlock(&report_lock);
	return buf;
}

void dump_stack(void)
{
	void *frames[32];
	int n = backtrace(frames, ARRAY_SIZE(frames));

	fprintf(stderr, "  backtrace:\n");
	/* Skip dump_stack itself; symbols need -rdynamic (set for every binary). */
	backtrace_symbols_fd(frames + 1, n - 1, 2);
}

void __warn(const char *file, int line, const char *cond)
{
	report_start(REPORT_WARN, "WARN_ON(%s) at %s:%d", cond, file, line);
	dump_stack();
	report_end();
}

void __bug(const char *file, int line, const char *cond)
{
	report_start(REPORT_WARN, "BUG_ON(%s) at %s:%d", cond, file, line);
	dump_stack();
	report_end();
	abort();
}
