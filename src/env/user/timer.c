// SPDX-License-Identifier: MIT
/*
 * timer.c - periodic callbacks on a thread of their own (user space); the
 * switch timer of a channel flushes its streams for live reading.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "core/env.h"

struct grb_timer {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop;
	uint64_t period_ns;
	void (*fn)(void *);
	void *arg;
};

static void *timer_main(void *arg)
{
	struct grb_timer *t = (struct grb_timer *)arg;
	struct timespec next;

	clock_gettime(CLOCK_MONOTONIC, &next);
	pthread_mutex_lock(&t->lock);
	while (!t->stop) {
		/* Seconds and nanoseconds apart: no sum overflows, even for a
		 * period of UINT64_MAX ns (584 years: never, in effect). */
		uint64_t sec = t->period_ns / 1000000000u;
		long nsec = next.tv_nsec + (long)(t->period_ns % 1000000000u);

		if (nsec >= 1000000000) {
			nsec -= 1000000000;
			sec++;
		}
		next.tv_sec += (time_t)sec;
		next.tv_nsec = nsec;
		while (!t->stop && pthread_cond_timedwait(&t->cond, &t->lock, &next) != ETIMEDOUT)
			;
		if (t->stop)
			break;
		pthread_mutex_unlock(&t->lock);
		t->fn(t->arg);
		pthread_mutex_lock(&t->lock);
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

struct grb_timer *_grb_timer_start(uint64_t period_ns, void (*fn)(void *), void *arg)
{
	struct grb_timer *t = (struct grb_timer *)calloc(1, sizeof(*t));
	pthread_condattr_t ca;

	if (!t)
		return NULL;
	t->period_ns = period_ns;
	t->fn = fn;
	t->arg = arg;
	pthread_mutex_init(&t->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&t->thread, NULL, timer_main, t)) {
		pthread_cond_destroy(&t->cond);
		pthread_mutex_destroy(&t->lock);
		free(t);
		return NULL;
	}
	return t;
}

void _grb_timer_stop(struct grb_timer *t)
{
	pthread_mutex_lock(&t->lock);
	t->stop = 1;
	pthread_cond_signal(&t->cond);
	pthread_mutex_unlock(&t->lock);
	pthread_join(t->thread, NULL);
	pthread_cond_destroy(&t->cond);
	pthread_mutex_destroy(&t->lock);
	free(t);
}
