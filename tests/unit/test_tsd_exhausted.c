// SPDX-License-Identifier: MIT
/*
 * test_tsd_exhausted.c - per-thread streams in a process that has taken
 * every thread-specific key (PTHREAD_KEYS_MAX).
 *
 * The library never touches a key it did not create: no key of the
 * application gets a value from it (their destructors never run).  And
 * per-thread channels still work without a thread-exit hook: every record
 * is delivered, and the streams of exited threads are given back, so that
 * later threads lose nothing.
 *
 * By default the keys are taken in main(), after the library was loaded.
 * GRB_TEST_EARLY_KEYS=all takes them in a constructor that runs before the
 * library's own, as when the library is loaded late: it then has no key.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
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

#define NR_THREADS 6
#define NR_STREAMS 2
#define NR_RECORDS 100

static const struct grb_config cfg =
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_MODE_DISCARD);

static pthread_key_t keys[PTHREAD_KEYS_MAX];
static int nr_keys, early;
static unsigned long dtor_calls;
static struct grb_channel *ch;

static void app_dtor(void *value)
{
	(void)value;
	__atomic_add_fetch(&dtor_calls, 1, __ATOMIC_RELAXED);
}

static void take_all_keys(void)
{
	while (nr_keys < PTHREAD_KEYS_MAX && pthread_key_create(&keys[nr_keys], app_dtor) == 0)
		nr_keys++;
}

/* Before the library's constructor (same executable, lower priority). */
__attribute__((constructor(101))) static void take_keys_early(void)
{
	const char *e = getenv("GRB_TEST_EARLY_KEYS");

	if (e && !strcmp(e, "all")) {
		early = 1;
		take_all_keys();
	}
}

struct writer {
	int index;
	uint32_t tid;
	int ok; /* records written */
	int app_values; /* application keys holding a value at the end */
};

static void *write_records(void *arg)
{
	struct writer *w = (struct writer *)arg;
	int i;

	w->tid = (uint32_t)syscall(SYS_gettid);
	for (i = 0; i < NR_RECORDS; i++) {
		uint64_t v = (uint64_t)w->index * 1000 + (uint64_t)i;

		w->ok += grb_write_record(&cfg, ch, 0, &v, sizeof(v)) == 0;
	}
	for (i = 0; i < nr_keys; i++)
		w->app_values += pthread_getspecific(keys[i]) != NULL;
	return NULL;
}

/* Whether thread tid of this process is gone for the kernel. */
static int thread_gone(uint32_t tid)
{
	return syscall(SYS_tgkill, getpid(), (pid_t)tid, 0) < 0 && errno == ESRCH;
}

/* What a writer that lost records found: each stream's owner and losses. */
static void report(int i, const struct writer *w)
{
	uint32_t s;
	int c;

	fprintf(stderr, "writer %d (tid %u) wrote %d of %d records\n", i, w->tid, w->ok,
		NR_RECORDS);
	for (s = 0; s < grb_channel_nr_streams(ch); s++) {
		struct grb_stream_stats ss;

		if (grb_channel_read_stream_stats(ch, s, &ss))
			continue;
		fprintf(stderr, "  stream %u: owner %u (%s),", s, ss.owner_tid,
			ss.owner_tid && thread_gone(ss.owner_tid) ? "gone" : "alive or none");
		for (c = 0; c < GRB_LOST_NR; c++)
			if (ss.lost[c])
				fprintf(stderr, " lost %s %llu",
					grb_lost_cause_name((enum grb_lost_cause)c),
					(unsigned long long)ss.lost[c]);
		fprintf(stderr, "\n");
	}
	{
		struct grb_channel_stats cs;

		if (!grb_channel_read_stats(ch, &cs))
			fprintf(stderr, "  channel: lost no_stream %llu, total %llu\n",
				(unsigned long long)cs.lost[GRB_LOST_NO_STREAM],
				(unsigned long long)cs.lost_total);
	}
}

int main(void)
{
	struct timespec ms = { 0, 1000 * 1000 };
	struct grb_channel_attr a;
	struct grb_channel_stats st;
	uint64_t vals[NR_THREADS * NR_RECORDS];
	int i, j, records, seen[NR_THREADS] = { 0 };
	uint32_t s;

	if (!early)
		take_all_keys();
	CHECK(nr_keys > 0);
	{
		pthread_key_t k;

		CHECK(pthread_key_create(&k, NULL) == EAGAIN);
	}
	grb_channel_attr_init(&a);
	a.subbuf_size = 4096;
	/* Every thread's records make a packet of their own, and the stream
	 * a thread gets follows from its id: room for all of them on one. */
	a.subbuf_count = 8;
	a.nr_streams = NR_STREAMS;
	ch = grb_channel_create(&cfg, &a);
	CHECK(ch != NULL);
	if (!ch) {
		fprintf(stderr, "test_tsd_exhausted: %s\n", grb_last_error());
		return check_exit("test_tsd_exhausted");
	}
	/* More threads than streams, one after the other: each needs a stream
	 * an exited one gave back. */
	for (i = 0; i < NR_THREADS; i++) {
		struct writer w = { .index = i };
		pthread_t t;

		CHECK(pthread_create(&t, NULL, write_records, &w) == 0);
		pthread_join(t, NULL);
		CHECK(w.ok == NR_RECORDS);
		if (w.ok != NR_RECORDS)
			report(i, &w);
		CHECK(w.app_values == 0);
		/* The kernel releases an exited thread shortly after the join. */
		for (j = 0; j < 5000 && !thread_gone(w.tid); j++)
			nanosleep(&ms, NULL);
		CHECK(thread_gone(w.tid));
	}
	CHECK(__atomic_load_n(&dtor_calls, __ATOMIC_RELAXED) == 0);
	CHECK(grb_channel_read_stats(ch, &st) == 0);
	CHECK(st.lost_total == 0 && st.lost[GRB_LOST_NO_STREAM] == 0);

	/* Every stream is free again, and every record readable, after a
	 * flush. */
	CHECK(grb_channel_flush(ch) == 0);
	for (s = 0; s < grb_channel_nr_streams(ch); s++) {
		struct grb_stream_stats ss;

		CHECK(grb_channel_read_stream_stats(ch, s, &ss) == 0);
		CHECK(ss.owner_tid == 0);
	}
	records = drain_merged(ch, vals, NR_THREADS * NR_RECORDS);
	for (i = 0; i < records && i < NR_THREADS * NR_RECORDS; i++)
		if (vals[i] / 1000 < NR_THREADS && vals[i] % 1000 < NR_RECORDS)
			seen[vals[i] / 1000]++;
	CHECK(records == NR_THREADS * NR_RECORDS);
	for (i = 0; i < NR_THREADS; i++)
		CHECK(seen[i] == NR_RECORDS);
	grb_channel_destroy(ch);
	printf("test_tsd_exhausted: %d keys taken %s; %d threads on %d streams, %d records\n",
	       nr_keys, early ? "before the library was loaded" : "in main()", NR_THREADS,
	       NR_STREAMS, records);
	return check_exit("test_tsd_exhausted");
}
