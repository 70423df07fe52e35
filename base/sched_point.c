// SPDX-License-Identifier: GPL-2.0
/*
 * The slow path of sched_point() and the test side that arms, waits for and
 * releases points.  See sched_point.h for the protocol.
 *
 * Everything here is serialised by one raw pthread mutex and one condition
 * variable, broadcast on every state change (a thread parked, a point
 * released): there are a handful of armed points and threads at most, and
 * a raw mutex is the one lock a thread inside an atomic section may still
 * block on without tripping might_sleep() or lockdep.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "base/bug.h"
#include "base/current.h"
#include "base/sched_point.h"

#define SCHED_POINT_NAME_LEN 64

enum sched_point_state {
	SCHED_POINT_FREE,   /* slot unused */
	SCHED_POINT_ARMED,  /* counting matching hits */
	SCHED_POINT_PARKED, /* a thread waits in __sched_point() */
};

struct sched_point_slot {
	enum sched_point_state state;
	char name[SCHED_POINT_NAME_LEN];
	char task[TASK_COMM_LEN]; /* "" matches any thread */
	unsigned int nth;	  /* park on this matching hit, 1-based */
	unsigned int hits;	  /* matching hits so far */
	void *data;		  /* what the parked thread passed to sched_point_data() */
	/*
	 * Bumped when the slot is released: a parked thread waits for it to
	 * change, so a slot re-armed before the thread wakes cannot keep it.
	 */
	unsigned long gen;
};

/*
 * Global like the kernel's fault-injection attributes: a test arms a point
 * by name and whichever thread reaches it, in whatever object, is stopped.
 * sched_points_armed is read without the lock by sched_point()'s fast path
 * and changed only under it.
 */
static pthread_mutex_t sched_point_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sched_point_cond = PTHREAD_COND_INITIALIZER;
static struct sched_point_slot sched_point_table[SCHED_POINT_MAX];
atomic_t sched_points_armed;

/* The armed (or parked) slot for @name, or NULL.  Under sched_point_lock. */
static struct sched_point_slot *sched_point_find(const char *name)
{
	for (int i = 0; i < SCHED_POINT_MAX; i++) {
		struct sched_point_slot *sp = &sched_point_table[i];

		if (sp->state != SCHED_POINT_FREE && !strcmp(sp->name, name))
			return sp;
	}
	return NULL;
}

static struct sched_point_slot *sched_point_free_slot(void)
{
	for (int i = 0; i < SCHED_POINT_MAX; i++)
		if (sched_point_table[i].state == SCHED_POINT_FREE)
			return &sched_point_table[i];
	return NULL;
}

static bool sched_point_matches(const struct sched_point_slot *sp, const char *name,
				const char *comm)
{
	if (sp->state != SCHED_POINT_ARMED || strcmp(sp->name, name))
		return false;
	return !sp->task[0] || !strcmp(sp->task, comm);
}

/* Park the caller at @sp until sched_point_release() bumps the generation. */
static void sched_point_park(struct sched_point_slot *sp)
{
	unsigned long gen = sp->gen;

	sp->state = SCHED_POINT_PARKED;
	pthread_cond_broadcast(&sched_point_cond);
	while (sp->gen == gen)
		pthread_cond_wait(&sched_point_cond, &sched_point_lock);
}

void __sched_point(const char *name, void *data)
{
	/* Looked up before the lock: the first use of current may allocate. */
	const char *comm = current->comm;

	pthread_mutex_lock(&sched_point_lock);
	for (int i = 0; i < SCHED_POINT_MAX; i++) {
		struct sched_point_slot *sp = &sched_point_table[i];

		if (!sched_point_matches(sp, name, comm))
			continue;
		if (++sp->hits == sp->nth) {
			sp->data = data;
			sched_point_park(sp);
		}
		break;
	}
	pthread_mutex_unlock(&sched_point_lock);
}

static int sched_point_fill(struct sched_point_slot *sp, const char *name, const char *task_name,
			    unsigned int nth)
{
	if (strlen(name) >= sizeof(sp->name) ||
	    (task_name && strlen(task_name) >= sizeof(sp->task)))
		return -ENAMETOOLONG;
	strcpy(sp->name, name);
	strcpy(sp->task, task_name ? task_name : "");
	sp->nth = nth;
	sp->hits = 0;
	sp->state = SCHED_POINT_ARMED;
	atomic_inc(&sched_points_armed);
	return 0;
}

int sched_point_arm_count(const char *name, const char *task_name, unsigned int nth)
{
	struct sched_point_slot *sp;
	int ret;

	pthread_mutex_lock(&sched_point_lock);
	if (!nth)
		ret = -EINVAL;
	else if (sched_point_find(name))
		ret = -EBUSY;
	else if (!(sp = sched_point_free_slot()))
		ret = -ENOSPC;
	else
		ret = sched_point_fill(sp, name, task_name, nth);
	pthread_mutex_unlock(&sched_point_lock);
	/* Report outside the lock: WARN takes the report lock and current. */
	WARN_ON(ret);
	return ret;
}

int sched_point_wait(const char *name)
{
	struct sched_point_slot *sp;
	int ret = -ENOENT;

	pthread_mutex_lock(&sched_point_lock);
	sp = sched_point_find(name);
	if (sp) {
		unsigned long gen = sp->gen;

		while (sp->gen == gen && sp->state == SCHED_POINT_ARMED)
			pthread_cond_wait(&sched_point_cond, &sched_point_lock);
		/* Another thread may have released it while we waited. */
		if (sp->gen == gen)
			ret = 0;
	}
	pthread_mutex_unlock(&sched_point_lock);
	WARN_ON(ret);
	return ret;
}

bool sched_point_parked_data(const char *name, void **data)
{
	struct sched_point_slot *sp;
	bool parked;

	pthread_mutex_lock(&sched_point_lock);
	sp = sched_point_find(name);
	parked = sp && sp->state == SCHED_POINT_PARKED;
	if (parked && data)
		*data = sp->data;
	pthread_mutex_unlock(&sched_point_lock);
	return parked;
}

void sched_point_release(const char *name)
{
	struct sched_point_slot *sp;

	pthread_mutex_lock(&sched_point_lock);
	sp = sched_point_find(name);
	if (sp) {
		sp->state = SCHED_POINT_FREE;
		sp->gen++;
		atomic_dec(&sched_points_armed);
		pthread_cond_broadcast(&sched_point_cond);
	}
	pthread_mutex_unlock(&sched_point_lock);
	WARN_ON(!sp);
}
