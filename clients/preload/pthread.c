// SPDX-License-Identifier: MIT
/*
 * libgrb-preload-pthread.so - trace the mutexes of a program that knows
 * nothing of grb: `grb record --preload pthread -- PROGRAM` (or
 * LD_PRELOAD=libgrb-preload-pthread.so with GRB_SESSION set).
 *
 * pthread_mutex_lock, pthread_mutex_trylock, pthread_mutex_timedlock and
 * pthread_mutex_unlock call the C library's and record an event with the
 * mutex's address, the return value, the caller's address and, for lock
 * and timedlock, the nanoseconds spent waiting, into a channel registered
 * with the recording session (preload.h).  Calls the C library makes
 * inside itself (pthread_cond_wait's release and re-acquisition, its
 * internal locks) do not go through these functions and are not
 * recorded.
 *
 * Waiting: lock first tries the mutex (pthread_mutex_trylock); only when
 * that says EBUSY does it read the clock, take the lock and read the
 * clock again: an uncontended lock costs one more atomic operation and
 * no clock read.  This is right for every kind of mutex, since trylock
 * and lock differ only where trylock says EBUSY: a recursive mutex its
 * thread holds is taken again (or EAGAIN at its limit) by both; an
 * error-checking one its thread holds is EBUSY for trylock, then lock
 * says EDEADLK; a robust one whose owner died is acquired by both with
 * EOWNERDEAD (an acquired lock), or ENOTRECOVERABLE; a priority
 * inheritance or protection mutex is tried with its own protocol (EINVAL
 * from both for a ceiling below the caller's priority).
 *
 * Without a session (GRB_SESSION unset, or the recorder refused or is
 * gone) a call pays one load and one predictable branch more than the C
 * library's, and nothing is written.
 *
 * Recursion: grb's own code (a registration, a thread's first record
 * claiming a stream) may take mutexes: while a thread is in it (the
 * guard of preload.h) the wrappers call the C library's functions
 * without recording.  So do calls from grb's libraries outside the guard
 * (the registry's mutex in libgrb's thread-exit hook, once the thread
 * gave its streams back): the caller's address, or the mutex's (a tail
 * call returns elsewhere), is in grb's libraries.  Until the constructor has looked up the next
 * definitions with dlsym (which may allocate), the C library's own
 * names for them (__pthread_mutex_lock...) are called.
 *
 * fork: the child registers a channel of its own at its first mutex call
 * (preload.c).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "preload.h"

/* clang-format off */
#define PT_LOCK_FIELDS(F)	F(u64, mutex) F(s32, ret) F(u64, wait_ns) F(u64, caller)
#define PT_TRY_FIELDS(F)	F(u64, mutex) F(s32, ret) F(u64, caller)
/* clang-format on */
GRB_CTF_EVENT(ev_lock, "pthread:mutex_lock", 1, PT_LOCK_FIELDS)
GRB_CTF_EVENT(ev_trylock, "pthread:mutex_trylock", 2, PT_TRY_FIELDS)
GRB_CTF_EVENT(ev_timedlock, "pthread:mutex_timedlock", 3, PT_LOCK_FIELDS)
GRB_CTF_EVENT(ev_unlock, "pthread:mutex_unlock", 4, PT_TRY_FIELDS)

static const struct grb_ctf_event_desc *const events[] = {
	&ev_lock_event,
	&ev_trylock_event,
	&ev_timedlock_event,
	&ev_unlock_event,
};

static struct grb_preload pt_preload = GRB_PRELOAD_INIT("pthread", events);

/* The C library's names of its functions (GLIBC_2.2.5), for the calls made
 * before the constructor found the next definitions. */
extern int __pthread_mutex_lock(pthread_mutex_t *m);
extern int __pthread_mutex_trylock(pthread_mutex_t *m);
extern int __pthread_mutex_unlock(pthread_mutex_t *m);

/* The next definitions (the C library's, or another preload's).  Set by
 * the constructor, before the program's threads exist. */
static struct {
	int (*lock)(pthread_mutex_t *);
	int (*trylock)(pthread_mutex_t *);
	int (*unlock)(pthread_mutex_t *);
	int (*timedlock)(pthread_mutex_t *, const struct timespec *);
} real = { __pthread_mutex_lock, __pthread_mutex_trylock, __pthread_mutex_unlock, NULL };

/* timedlock before the constructor: the C library's own clocklock, which
 * its timedlock is (CLOCK_REALTIME). */
static int boot_timedlock(pthread_mutex_t *m, const struct timespec *abstime)
{
	return pthread_mutex_clocklock(m, CLOCK_REALTIME, abstime);
}

#define P(x) , uint64_t x
#define S(x) , int32_t x
GRB_PRELOAD_DEFINE_TRACE(&pt_preload, ev_lock, P(mutex) S(ret) P(wait_ns) P(caller), mutex, ret,
			 wait_ns, caller)
GRB_PRELOAD_DEFINE_TRACE(&pt_preload, ev_timedlock, P(mutex) S(ret) P(wait_ns) P(caller), mutex,
			 ret, wait_ns, caller)
GRB_PRELOAD_DEFINE_TRACE(&pt_preload, ev_trylock, P(mutex) S(ret) P(caller), mutex, ret, caller)
GRB_PRELOAD_DEFINE_TRACE(&pt_preload, ev_unlock, P(mutex) S(ret) P(caller), mutex, ret, caller)
#undef S
#undef P

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * A lock, or a timedlock until abstime (timed), past an open gate: try first,
 * time the wait only if it would block.  A thread inside grb's code takes
 * the lock as the program would, unrecorded.
 */
static __attribute__((noinline)) int lock_traced(struct grb_channel *g, pthread_mutex_t *m,
						 const struct timespec *abstime, int timed,
						 uint64_t caller)
{
	struct grb_channel *ch = grb_preload_channel(&pt_preload, g);
	uint64_t wait = 0, t0;
	int ret;

	if (!ch || grb_preload_own(caller) || grb_preload_own(GRB_PRELOAD_U64(m)))
		return timed ? real.timedlock(m, abstime) : real.lock(m);
	ret = real.trylock(m);
	if (ret == EBUSY) {
		t0 = now_ns();
		ret = timed ? real.timedlock(m, abstime) : real.lock(m);
		wait = now_ns() - t0;
	}
	if (timed)
		trace_ev_timedlock(ch, GRB_PRELOAD_U64(m), ret, wait, caller);
	else
		trace_ev_lock(ch, GRB_PRELOAD_U64(m), ret, wait, caller);
	return ret;
}

int pthread_mutex_lock(pthread_mutex_t *m)
{
	/* [G2] acquire, pairs with [G1]: the channel is created. */
	struct grb_channel *g = GRB_PRELOAD_GATE(&pt_preload);

	if (__builtin_expect(g != NULL, 0))
		return lock_traced(g, m, NULL, 0, GRB_PRELOAD_CALLER);
	return real.lock(m);
}

int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *abstime)
{
	/* [G2] acquire, pairs with [G1]: the channel is created. */
	struct grb_channel *g = GRB_PRELOAD_GATE(&pt_preload);

	if (__builtin_expect(!real.timedlock, 0))
		return boot_timedlock(m, abstime);
	if (__builtin_expect(g != NULL, 0))
		return lock_traced(g, m, abstime, 1, GRB_PRELOAD_CALLER);
	return real.timedlock(m, abstime);
}

/* A trylock or unlock (unlock) that returned ret, past an open gate. */
static __attribute__((noinline, cold)) void
trace_try_unlock(struct grb_channel *g, int unlock, pthread_mutex_t *m, int ret, uint64_t caller)
{
	if (grb_preload_own(caller) || grb_preload_own(GRB_PRELOAD_U64(m)))
		return;
	if (unlock)
		trace_ev_unlock(g, GRB_PRELOAD_U64(m), ret, caller);
	else
		trace_ev_trylock(g, GRB_PRELOAD_U64(m), ret, caller);
}

/* A trylock or unlock (unlock), then its event unless the gate is shut. */
static inline __attribute__((always_inline)) int try_unlock(pthread_mutex_t *m, int unlock,
							    uint64_t caller)
{
	int ret = unlock ? real.unlock(m) : real.trylock(m);
	/* [G2] acquire, pairs with [G1]: the channel is created. */
	struct grb_channel *g = GRB_PRELOAD_GATE(&pt_preload);

	if (__builtin_expect(g != NULL, 0))
		trace_try_unlock(g, unlock, m, ret, caller);
	return ret;
}

int pthread_mutex_trylock(pthread_mutex_t *m)
{
	return try_unlock(m, 0, GRB_PRELOAD_CALLER);
}

int pthread_mutex_unlock(pthread_mutex_t *m)
{
	return try_unlock(m, 1, GRB_PRELOAD_CALLER);
}

GRB_PRELOAD_CONSTRUCTOR(pthread_preload_init, &pt_preload)
{
	void *lock = dlsym(RTLD_NEXT, "pthread_mutex_lock");
	void *trylock = dlsym(RTLD_NEXT, "pthread_mutex_trylock");
	void *unlock = dlsym(RTLD_NEXT, "pthread_mutex_unlock");
	void *timedlock = dlsym(RTLD_NEXT, "pthread_mutex_timedlock");

	/* All or none: a lock and an unlock of one mutex must be a pair. */
	if (lock && trylock && unlock && timedlock) {
		real.lock = (int (*)(pthread_mutex_t *))lock;
		real.trylock = (int (*)(pthread_mutex_t *))trylock;
		real.unlock = (int (*)(pthread_mutex_t *))unlock;
		real.timedlock = (int (*)(pthread_mutex_t *, const struct timespec *))timedlock;
	} else {
		real.timedlock = boot_timedlock;
	}
}
