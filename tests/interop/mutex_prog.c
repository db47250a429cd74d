// SPDX-License-Identifier: MIT
/*
 * mutex_prog.c - a program that knows nothing of grb and uses mutexes of
 * every kind a known number of times, for `grb record --preload pthread`
 * (session_record.sh, scenario pthread-counts).
 *
 *	mutex_prog EXPECTED_FILE THREADS LOCKS
 *
 * THREADS threads each lock and unlock one shared mutex LOCKS times;
 * the main thread then uses a recursive mutex (3 locks, a trylock, 4
 * unlocks and one too many: EPERM), an error-checking one (locked twice:
 * EDEADLK; unlocked twice: EPERM), a robust one whose owner exited
 * (EOWNERDEAD), a priority-inheritance one, and a held one that another
 * thread tries (EBUSY) and waits 20 ms for (ETIMEDOUT); a child made by
 * fork locks the shared mutex 7 times.  EXPECTED_FILE gets what the
 * trace must hold, a line each:
 *
 *	count <tab> TID <tab> MUTEX <tab> EVENT <tab> RET <tab> N
 *	minwait <tab> TID <tab> MUTEX <tab> EVENT <tab> NS
 *	held <tab> TID <tab> MUTEX
 *
 * (N events EVENT of thread TID on the mutex at address MUTEX with return
 * value RET, and no other event of that thread on that mutex; an event
 * EVENT that waited at least NS nanoseconds; a mutex the thread held
 * when it exited).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 16
#define CHILD_LOCKS 7

static pthread_mutex_t shared = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t robust;
static long nr_locks;
static volatile long counter;
static FILE *out;
static int failed;

#define EXPECT(cond)                                                                      \
	do {                                                                              \
		if (!(cond)) {                                                            \
			fprintf(stderr, "mutex_prog:%d: %s is false\n", __LINE__, #cond); \
			failed = 1;                                                       \
		}                                                                         \
	} while (0)

static void count(pid_t tid, pthread_mutex_t *m, const char *ev, int ret, long n)
{
	fprintf(out, "count\t%d\t%lu\t%s\t%d\t%ld\n", (int)tid, (unsigned long)(uintptr_t)m, ev,
		ret, n);
}

static void *locker(void *arg)
{
	long i;

	for (i = 0; i < nr_locks; i++) {
		pthread_mutex_lock(&shared);
		counter++;
		pthread_mutex_unlock(&shared);
	}
	*(pid_t *)arg = gettid();
	return NULL;
}

static void *robust_owner(void *arg)
{
	EXPECT(pthread_mutex_lock(&robust) == 0);
	*(pid_t *)arg = gettid();
	return NULL; /* exits holding it */
}

static void *tryer(void *arg)
{
	struct timespec until;

	EXPECT(pthread_mutex_trylock(&held) == EBUSY);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += 20000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_nsec -= 1000000000;
		until.tv_sec++;
	}
	EXPECT(pthread_mutex_timedlock(&held, &until) == ETIMEDOUT);
	*(pid_t *)arg = gettid();
	return NULL;
}

static void init_kind(pthread_mutex_t *m, int type, int robustness, int protocol)
{
	pthread_mutexattr_t a;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, type);
	pthread_mutexattr_setrobust(&a, robustness);
	pthread_mutexattr_setprotocol(&a, protocol);
	EXPECT(pthread_mutex_init(m, &a) == 0);
	pthread_mutexattr_destroy(&a);
}

int main(int argc, char **argv)
{
	pthread_t th[MAX_THREADS], t;
	pid_t tids[MAX_THREADS], tid, me = gettid(), child;
	pthread_mutex_t rec, errchk, pi;
	int nr, i, status;

	if (argc != 4 || (nr = atoi(argv[2])) < 1 || nr > MAX_THREADS ||
	    (nr_locks = atol(argv[3])) < 1) {
		fprintf(stderr, "usage: %s EXPECTED_FILE THREADS (1..%d) LOCKS\n", argv[0],
			MAX_THREADS);
		return 2;
	}
	out = fopen(argv[1], "w");
	if (!out)
		return perror(argv[1]), 1;

	for (i = 0; i < nr; i++)
		EXPECT(pthread_create(&th[i], NULL, locker, &tids[i]) == 0);
	for (i = 0; i < nr; i++) {
		EXPECT(pthread_join(th[i], NULL) == 0);
		count(tids[i], &shared, "mutex_lock", 0, nr_locks);
		count(tids[i], &shared, "mutex_unlock", 0, nr_locks);
	}
	EXPECT(counter == nr * nr_locks);

	init_kind(&rec, PTHREAD_MUTEX_RECURSIVE, PTHREAD_MUTEX_STALLED, PTHREAD_PRIO_NONE);
	for (i = 0; i < 3; i++)
		EXPECT(pthread_mutex_lock(&rec) == 0);
	EXPECT(pthread_mutex_trylock(&rec) == 0);
	for (i = 0; i < 4; i++)
		EXPECT(pthread_mutex_unlock(&rec) == 0);
	EXPECT(pthread_mutex_unlock(&rec) == EPERM);
	count(me, &rec, "mutex_lock", 0, 3);
	count(me, &rec, "mutex_trylock", 0, 1);
	count(me, &rec, "mutex_unlock", 0, 4);
	count(me, &rec, "mutex_unlock", EPERM, 1);

	init_kind(&errchk, PTHREAD_MUTEX_ERRORCHECK, PTHREAD_MUTEX_STALLED, PTHREAD_PRIO_NONE);
	EXPECT(pthread_mutex_lock(&errchk) == 0);
	EXPECT(pthread_mutex_lock(&errchk) == EDEADLK);
	EXPECT(pthread_mutex_unlock(&errchk) == 0);
	EXPECT(pthread_mutex_unlock(&errchk) == EPERM);
	count(me, &errchk, "mutex_lock", 0, 1);
	count(me, &errchk, "mutex_lock", EDEADLK, 1);
	count(me, &errchk, "mutex_unlock", 0, 1);
	count(me, &errchk, "mutex_unlock", EPERM, 1);

	init_kind(&robust, PTHREAD_MUTEX_NORMAL, PTHREAD_MUTEX_ROBUST, PTHREAD_PRIO_NONE);
	EXPECT(pthread_create(&t, NULL, robust_owner, &tid) == 0);
	EXPECT(pthread_join(t, NULL) == 0);
	count(tid, &robust, "mutex_lock", 0, 1);
	fprintf(out, "held\t%d\t%lu\n", (int)tid, (unsigned long)(uintptr_t)&robust);
	EXPECT(pthread_mutex_lock(&robust) == EOWNERDEAD);
	EXPECT(pthread_mutex_consistent(&robust) == 0);
	EXPECT(pthread_mutex_unlock(&robust) == 0);
	count(me, &robust, "mutex_lock", EOWNERDEAD, 1);
	count(me, &robust, "mutex_unlock", 0, 1);

	init_kind(&pi, PTHREAD_MUTEX_NORMAL, PTHREAD_MUTEX_STALLED, PTHREAD_PRIO_INHERIT);
	EXPECT(pthread_mutex_lock(&pi) == 0);
	EXPECT(pthread_mutex_unlock(&pi) == 0);
	count(me, &pi, "mutex_lock", 0, 1);
	count(me, &pi, "mutex_unlock", 0, 1);

	EXPECT(pthread_mutex_lock(&held) == 0);
	EXPECT(pthread_create(&t, NULL, tryer, &tid) == 0);
	EXPECT(pthread_join(t, NULL) == 0);
	EXPECT(pthread_mutex_unlock(&held) == 0);
	count(me, &held, "mutex_lock", 0, 1);
	count(me, &held, "mutex_unlock", 0, 1);
	count(tid, &held, "mutex_trylock", EBUSY, 1);
	count(tid, &held, "mutex_timedlock", ETIMEDOUT, 1);
	fprintf(out, "minwait\t%d\t%lu\tmutex_timedlock\t%d\n", (int)tid,
		(unsigned long)(uintptr_t)&held, 15000000);

	fflush(out);
	child = fork();
	if (child == 0) {
		for (i = 0; i < CHILD_LOCKS; i++) {
			pthread_mutex_lock(&shared);
			counter++;
			pthread_mutex_unlock(&shared);
		}
		_exit(0);
	}
	EXPECT(child > 0 && waitpid(child, &status, 0) == child && status == 0);
	count(child, &shared, "mutex_lock", 0, CHILD_LOCKS);
	count(child, &shared, "mutex_unlock", 0, CHILD_LOCKS);

	if (fclose(out))
		failed = 1;
	printf("mutex_prog: %d threads x %ld locks, %s\n", nr, nr_locks,
	       failed ? "FAILED" : "as expected");
	return failed;
}
