// SPDX-License-Identifier: GPL-2.0
/*
 * The trace-event writer: one JSON array, appended under a lock.  A thread
 * gets a "thread_name" metadata event the first time it writes, so each
 * track is labelled with its task's name.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "base/current.h"
#include "base/trace.h"

struct trace_sink {
	FILE *f;
	pthread_mutex_t lock;
	struct timespec t0;
	unsigned long nr_events;
	int err; /* the first write error, -errno */
	/* Thread ids already named (a small set; the VMM has few threads). */
	int named[256];
	int nr_named;
};

struct trace_sink *trace_sink;

int trace_open(const char *path)
{
	struct trace_sink *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->f = fopen(path, "w");
	if (!t->f) {
		int err = -errno;

		free(t);
		return err;
	}
	pthread_mutex_init(&t->lock, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t->t0);
	fprintf(t->f, "{\"displayTimeUnit\": \"ns\", \"traceEvents\": [\n");
	fprintf(t->f, "{\"ph\": \"M\", \"pid\": 1, \"name\": \"process_name\", "
		      "\"args\": {\"name\": \"nopin\"}}");
	__atomic_store_n(&trace_sink, t, __ATOMIC_RELEASE);
	return 0;
}

/*
 * stdio reports a failed write only as the stream's error flag, and errno
 * at that moment: keep the first, under the lock.  A write into the buffer
 * fails nothing; the flush that follows when it fills does.
 */
static void trace_check_write(struct trace_sink *t)
{
	if (!t->err && ferror(t->f))
		t->err = errno ? -errno : -EIO;
}

int trace_close(void)
{
	struct trace_sink *t = __atomic_exchange_n(&trace_sink, NULL, __ATOMIC_ACQ_REL);
	int err;

	if (!t)
		return 0;
	/* Writers that loaded the pointer finish under the lock before we close. */
	pthread_mutex_lock(&t->lock);
	errno = 0;
	fprintf(t->f, "\n]}\n");
	fflush(t->f);
	trace_check_write(t);
	if (fclose(t->f) && !t->err)
		t->err = -errno;
	err = t->err;
	pthread_mutex_unlock(&t->lock);
	pthread_mutex_destroy(&t->lock);
	free(t);
	return err;
}

static void trace_name_thread(struct trace_sink *t, int tid)
{
	for (int i = 0; i < t->nr_named; i++)
		if (t->named[i] == tid)
			return;
	if (t->nr_named < (int)ARRAY_SIZE(t->named))
		t->named[t->nr_named++] = tid;
	fprintf(t->f,
		",\n{\"ph\": \"M\", \"pid\": 1, \"tid\": %d, \"name\": \"thread_name\", "
		"\"args\": {\"name\": \"%s\"}}",
		tid, current->comm);
}

void __trace_event(char phase, const char *cat, const char *name, long arg)
{
	struct trace_sink *t = __atomic_load_n(&trace_sink, __ATOMIC_ACQUIRE);
	int tid = current->tid;
	struct timespec now;
	double us;

	if (!t)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	us = (now.tv_sec - t->t0.tv_sec) * 1e6 + (now.tv_nsec - t->t0.tv_nsec) / 1e3;
	pthread_mutex_lock(&t->lock);
	trace_name_thread(t, tid);
	fprintf(t->f,
		",\n{\"ph\": \"%c\", \"pid\": 1, \"tid\": %d, \"ts\": %.3f, \"cat\": \"%s\", "
		"\"name\": \"%s\"",
		phase, tid, us, cat, name);
	if (phase == 'i')
		fprintf(t->f, ", \"s\": \"t\", \"args\": {\"value\": %ld}", arg);
	fputc('}', t->f);
	trace_check_write(t);
	t->nr_events++;
	pthread_mutex_unlock(&t->lock);
}
