// SPDX-License-Identifier: MIT
/*
 * libgrb-preload-profile.so - sample a program that knows nothing of grb:
 * `grb profile -- PROGRAM` (or LD_PRELOAD=libgrb-preload-profile.so with
 * GRB_SESSION set, and GRB_PROFILE_FREQ the samples per second of CPU
 * time, default 999).
 *
 * Its constructor creates the perf client's channel (per-thread streams,
 * memfd backing) through the recording session (<grb/session.h>, with
 * grb_perf_config() and no CTF events), creates libgrb-perf's sampler on
 * it and arms the main thread.  pthread_create is wrapped: the new thread
 * arms itself before it runs its start routine, and disarms in a cleanup
 * handler, so that pthread_exit and cancellation disarm it too.  Nothing
 * runs in a signal handler but libgrb-perf's sampler, which is
 * async-signal-safe.
 *
 * Without a session nothing is armed and pthread_create calls the C
 * library's at once.
 *
 * fork: the timers are not inherited and libgrb-ctf's fork handler
 * disables the child's copy of the channel, so a child is not sampled
 * until it calls exec (the new program registers at its start).
 *
 * At exit the thread that exits disarms itself; the channel is not
 * finalized (other threads may be in a sample): the profiler reads every
 * record committed once it sees the process gone.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <grb/session.h>
#include <grb/perf.h>

#include "preload.h" /* the thread start of pthread_create */

/* The environment variable with the sampling frequency (Hz). */
#define PROFILE_FREQ_ENV "GRB_PROFILE_FREQ"

typedef int (*pthread_create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

/* Set once by the constructor, before the program's threads exist, and
 * then only read: the threads it creates see them through pthread_create. */
static struct grb_perf_sampler *sampler;
static pthread_create_fn real_create;

static void thread_disarm(void *unused)
{
	(void)unused;
	grb_perf_sampler_thread_stop(sampler);
}

static void *thread_start(void *p)
{
	struct grb_preload_start st = grb_preload_unwrap(p);
	void *ret;

	grb_perf_sampler_thread_start(sampler);
	pthread_cleanup_push(thread_disarm, NULL);
	ret = st.fn(st.arg);
	pthread_cleanup_pop(1);
	return ret;
}

int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	if (!real_create) {
		real_create = (pthread_create_fn)dlsym(RTLD_NEXT, "pthread_create");
		if (!real_create)
			return EAGAIN;
	}
	if (!sampler)
		return real_create(t, attr, fn, arg);
	return grb_preload_create_via(real_create, t, attr, fn, arg, thread_start);
}

__attribute__((constructor)) static void profile_init(void)
{
	struct grb_perf_sampler_attr sa;
	struct grb_channel *ch;
	const char *freq;
	int ret;

	real_create = (pthread_create_fn)dlsym(RTLD_NEXT, "pthread_create");
	if (!getenv(GRB_SESSION_ENV))
		return;
	grb_perf_sampler_attr_init(&sa);
	freq = getenv(PROFILE_FREQ_ENV);
	if (freq && freq[0]) {
		char *end;
		unsigned long v = strtoul(freq, &end, 10);

		if (*end || !v || v > 100000) {
			fprintf(stderr, "libgrb-preload-profile: %s=%s: expected 1 to 100000\n",
				PROFILE_FREQ_ENV, freq);
			return;
		}
		sa.freq_hz = (uint32_t)v;
	}
	ch = grb_session_channel(grb_perf_config(), "perf", NULL, 0);
	if (!ch) {
		fprintf(stderr, "libgrb-preload-profile: not profiling: %s\n", grb_last_error());
		return;
	}
	sampler = grb_perf_sampler_create(ch, &sa);
	if (!sampler) {
		fprintf(stderr, "libgrb-preload-profile: not profiling: %s\n", grb_last_error());
		return;
	}
	ret = grb_perf_sampler_thread_start(sampler);
	if (ret)
		fprintf(stderr, "libgrb-preload-profile: the main thread is not sampled: %s\n",
			strerror(-ret));
}

__attribute__((destructor)) static void profile_fini(void)
{
	/* The exiting thread only (-EINVAL if it was not armed). */
	if (sampler)
		grb_perf_sampler_thread_stop(sampler);
}
