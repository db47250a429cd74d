// SPDX-License-Identifier: MIT
/*
 * test_tsd_signal.c - a thread's first record on a per-thread channel,
 * written by a signal handler that interrupted the thread inside malloc()
 * or free(), in a process that already uses 40 thread-specific keys.
 *
 * The first record claims a stream for the thread and makes sure the
 * stream comes back when the thread exits.  glibc keeps the values of a
 * thread's first 32 keys in its descriptor; the first store to a higher
 * key in a thread callocs a second-level block, which in a handler that
 * interrupted malloc() waits forever for the arena lock the thread holds.
 * grb_reserve() is async-signal-safe: it must never allocate there.
 *
 * Checks: the handler's first records all interrupted malloc() or free()
 * (glibc's own calloc(), which pthread_setspecific() calls, cannot be
 * replaced, so the test looks for its effect): none of them deadlocks
 * (the handler must finish its record within 2 s); every record is
 * delivered and every stream given back once its thread has exited (at
 * its exit, or at the next flush when the library had to do without its
 * key), with no record lost.
 *
 * By default the keys are created in main(), after the library was
 * loaded.  GRB_TEST_EARLY_KEYS=n creates n keys in a constructor that runs
 * before the library's own, as when the library is loaded late: its key
 * then has a high index.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <grb/grb.h>
#include <grb/native.h>

#include "check.h"
#include "drain.h"

#define NR_KEYS 40
#define NR_THREADS 24
#define NR_STREAMS 4

static const struct grb_config cfg =
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_MODE_DISCARD);

struct worker {
	pthread_t thread;
	uint32_t tid;
	int index;
	int ready; /* the thread runs its malloc() loop */
	int done; /* the handler wrote the thread's first record */
	int entered; /* the handler is writing it */
	int in_alloc; /* the handler interrupted malloc() or free() */
	int ret; /* the handler's grb_write_record() */
};

static struct grb_channel *ch;
static __thread struct worker *self;
static __thread volatile sig_atomic_t in_alloc;
static __thread char *volatile sink;

static pthread_key_t early[PTHREAD_KEYS_MAX];
static int nr_early;

/* Before the library's constructor (same executable, lower priority). */
__attribute__((constructor(101))) static void create_early_keys(void)
{
	const char *e = getenv("GRB_TEST_EARLY_KEYS");
	int n = e ? atoi(e) : 0;

	while (nr_early < n && nr_early < PTHREAD_KEYS_MAX &&
	       pthread_key_create(&early[nr_early], NULL) == 0)
		nr_early++;
}

static void on_alarm(int sig)
{
	static const char msg[] = "test_tsd_signal: timed out\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(2);
	_exit(1);
}

static void on_usr1(int sig)
{
	struct worker *w = self;
	int saved = errno;

	(void)sig;
	if (w && in_alloc && !__atomic_load_n(&w->done, __ATOMIC_RELAXED)) {
		uint64_t v = (uint64_t)w->index;

		__atomic_store_n(&w->entered, 1, __ATOMIC_RELAXED);
		w->ret = grb_write_record(&cfg, ch, 0, &v, sizeof(v));
		w->in_alloc = 1;
		__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	}
	errno = saved;
}

/* malloc() and free() of sizes beyond the thread cache, under the arena's
 * lock, until the handler has written the thread's first record. */
static void *churn(void *arg)
{
	struct worker *w = (struct worker *)arg;
	unsigned int seed = (unsigned int)w->index * 7919u + 1;

	self = w;
	w->tid = (uint32_t)syscall(SYS_gettid);
	__atomic_store_n(&w->ready, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&w->done, __ATOMIC_ACQUIRE)) {
		size_t size = 2048 + (size_t)(rand_r(&seed) % 65536);
		char *p;

		in_alloc = 1;
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		p = (char *)malloc(size);
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		in_alloc = 0;
		if (p)
			p[size - 1] = 1;
		sink = p; /* the pair must not be optimised away */
		in_alloc = 1;
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		free(p);
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		in_alloc = 0;
	}
	return NULL;
}

/* Whether thread tid of this process is gone for the kernel. */
static int thread_gone(uint32_t tid)
{
	return syscall(SYS_tgkill, getpid(), (pid_t)tid, 0) < 0 && errno == ESRCH;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void run_worker(struct worker *w)
{
	struct timespec pause = { 0, 20 * 1000 }, ms = { 0, 1000 * 1000 };
	uint64_t t0 = now_ns(), entered = 0;
	int i;

	CHECK(pthread_create(&w->thread, NULL, churn, w) == 0);
	while (!__atomic_load_n(&w->ready, __ATOMIC_ACQUIRE))
		sched_yield();
	while (!__atomic_load_n(&w->done, __ATOMIC_ACQUIRE)) {
		uint64_t now = now_ns();

		if (!entered && __atomic_load_n(&w->entered, __ATOMIC_RELAXED))
			entered = now;
		if (entered && now - entered > 2000000000ull) {
			fprintf(stderr,
				"test_tsd_signal: thread %d: the handler's first record "
				"has not returned for 2 s: deadlocked\n",
				w->index);
			_exit(1);
		}
		if (!entered && now - t0 > 5000000000ull)
			break;
		if (!entered)
			pthread_kill(w->thread, SIGUSR1);
		nanosleep(&pause, NULL);
	}
	CHECK(__atomic_load_n(&w->done, __ATOMIC_ACQUIRE));
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	pthread_join(w->thread, NULL);
	/* The kernel releases an exited thread shortly after the join. */
	for (i = 0; i < 5000 && !thread_gone(w->tid); i++)
		nanosleep(&ms, NULL);
	CHECK(thread_gone(w->tid));
}

int main(void)
{
	static struct worker workers[NR_THREADS];
	pthread_key_t keys[NR_KEYS];
	struct grb_channel_attr a;
	struct grb_channel_stats st;
	struct sigaction sa;
	uint64_t vals[NR_THREADS];
	int i, nr_keys = 0, hits = 0, seen[NR_THREADS] = { 0 }, records = 0, owned = 0;
	uint32_t s;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	alarm(20);
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);

	if (!nr_early)
		while (nr_keys < NR_KEYS && pthread_key_create(&keys[nr_keys], NULL) == 0)
			nr_keys++;
	CHECK(nr_keys + nr_early >= NR_KEYS);

	grb_channel_attr_init(&a);
	a.subbuf_size = 4096;
	a.subbuf_count = 16; /* a packet per thread: the exit hook flushes */
	a.nr_streams = NR_STREAMS;
	ch = grb_channel_create(&cfg, &a);
	CHECK(ch != NULL);
	if (!ch)
		return check_exit("test_tsd_signal");

	for (i = 0; i < NR_THREADS; i++) {
		workers[i].index = i;
		run_worker(&workers[i]);
		CHECK(workers[i].ret == 0);
		hits += workers[i].in_alloc;
	}
	CHECK(hits == NR_THREADS);

	/* With the key it took at load, one of the first 32, the library
	 * gives a stream back when its thread exits.  Loaded after 40 keys,
	 * it has no exit hook: streams of exited threads stay theirs until a
	 * flush or a claim gives them back. */
	for (s = 0; s < grb_channel_nr_streams(ch); s++) {
		struct grb_stream_stats ss;

		CHECK(grb_channel_read_stream_stats(ch, s, &ss) == 0);
		owned += ss.owner_tid != 0;
	}
	if (nr_early)
		CHECK(owned > 0);
	else
		CHECK(owned == 0);
	CHECK(grb_channel_flush(ch) == 0);
	for (s = 0; s < grb_channel_nr_streams(ch); s++) {
		struct grb_stream_stats ss;

		CHECK(grb_channel_read_stream_stats(ch, s, &ss) == 0);
		CHECK(ss.owner_tid == 0);
	}
	records = drain_merged(ch, vals, NR_THREADS);
	for (i = 0; i < records && i < NR_THREADS; i++)
		if (vals[i] < NR_THREADS)
			seen[vals[i]]++;
	CHECK(records == NR_THREADS);
	for (i = 0; i < NR_THREADS; i++)
		CHECK(seen[i] == 1);
	CHECK(grb_channel_read_stats(ch, &st) == 0);
	CHECK(st.lost_total == 0 && st.lost[GRB_LOST_NO_STREAM] == 0);
	grb_channel_destroy(ch);
	alarm(0);
	printf("test_tsd_signal: %d keys created before the library %s, %d first records "
	       "written in malloc/free\n",
	       nr_early ? nr_early : nr_keys, nr_early ? "was loaded" : "created its channel",
	       hits);
	return check_exit("test_tsd_signal");
}
