// SPDX-License-Identifier: MIT
/*
 * test_attr_us.c - the microsecond attributes at the edge of their
 * nanosecond form: blocking_timeout_us, switch_timer_us and read_timer_us
 * of 2^64 / 1000 and above.
 *
 * A value whose nanoseconds do not fit 64 bits (or whose deadline, now
 * plus the nanoseconds, does not) means forever (a timeout) or never (a
 * period): channel creation takes it, a blocking writer stays blocked
 * until room is made, the switch timer does not fire, and the reader's
 * wait lasts its own timeout.  None gives up after a few microseconds.
 * The same for the CTF trace's read_period_us: its consumer sleeps until
 * the trace stops, rather than waking every few microseconds (counted as
 * the process's voluntary context switches).
 */
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <grb/grb.h>
#include <grb/ctf.h>
#include <grb/native.h>

#include "check.h"

/* 2^64 / 1000 rounded down: the largest value whose ns form fits. */
#define US_MAX_NS (UINT64_MAX / 1000)

static const uint64_t edges[] = {
	US_MAX_NS, /* fits as ns, but not added to the clock */
	US_MAX_NS + 1, /* the first that does not fit */
	UINT64_MAX - 1,
	UINT64_MAX,
};
#define NR_EDGES (sizeof(edges) / sizeof(edges[0]))

#define WAIT_NS (50ull * 1000 * 1000)

static const struct grb_config cfg_block =
	GRB_NATIVE_CONFIG(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_BLOCKING);
static const struct grb_config cfg_discard =
	GRB_NATIVE_CONFIG(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD);
static const struct grb_config cfg_ctf =
	GRB_CTF_CONFIG(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD);
static const struct grb_config cfg_timer = {
	.abi = GRB_CONFIG_ABI,
	.alloc = GRB_ALLOC_GLOBAL,
	.sync = GRB_SYNC_ATOMIC,
	.mode = GRB_MODE_DISCARD,
	.wakeup = GRB_WAKEUP_TIMER,
	.ts_bits = 32,
	.max_nesting = 4,
	.record_align = 8,
	.packet_header_size = (unsigned int)sizeof(struct grb_native_packet),
	.min_record_size = 8,
	.clock_read = grb_clock_monotonic,
	.record_header_size = grb_native_header_size,
	.record_header_write = grb_native_header_write,
	.packet_begin = grb_native_packet_begin,
	.packet_end = grb_native_packet_end,
	.record_decode = grb_native_record_decode,
	.record_discard = grb_native_record_discard,
	.name = "native",
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Writes until a reservation blocks, then returns that one's result. */
struct writer {
	struct grb_channel *ch;
	uint64_t started; /* when the current write began; 0 between writes */
	int ret; /* the last write's result */
	int done;
};

static void *write_until_blocked(void *arg)
{
	struct writer *w = (struct writer *)arg;
	uint64_t i;

	for (i = 0; i < 100000; i++) {
		uint64_t t0 = now_ns(), took;

		__atomic_store_n(&w->started, t0, __ATOMIC_RELEASE);
		w->ret = grb_write_record(&cfg_block, w->ch, 0, &i, sizeof(i));
		took = now_ns() - t0;
		__atomic_store_n(&w->started, 0, __ATOMIC_RELEASE);
		if (w->ret || took >= WAIT_NS)
			break;
	}
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void test_blocking_timeout(uint64_t us)
{
	struct grb_channel_attr a;
	struct grb_channel *ch;
	struct grb_channel_stats st;
	struct writer w;
	pthread_t t;
	int blocked = 0, i;

	grb_channel_attr_init(&a);
	a.subbuf_size = 256;
	a.subbuf_count = 2;
	a.blocking_timeout_us = us;
	ch = grb_channel_create(&cfg_block, &a);
	CHECK(ch != NULL);
	if (!ch)
		return;
	memset(&w, 0, sizeof(w));
	w.ch = ch;
	CHECK(pthread_create(&t, NULL, write_until_blocked, &w) == 0);
	/* Wait until a write has lasted 50 ms (at most 5 s). */
	for (i = 0; i < 5000 && !__atomic_load_n(&w.done, __ATOMIC_ACQUIRE); i++) {
		uint64_t started = __atomic_load_n(&w.started, __ATOMIC_ACQUIRE);

		if (started && now_ns() - started >= WAIT_NS) {
			blocked = 1;
			break;
		}
		pause_ms(1);
	}
	CHECK(blocked);
	if (blocked) {
		/* Room for it: the reader takes the delivered packet. */
		struct grb_reader *r = grb_reader_create(ch, 0, 0);
		struct grb_packet p;

		CHECK(r != NULL);
		CHECK(r && grb_reader_get_next(r, &p) == 0);
		CHECK(r && grb_reader_put(r, &p) == 0);
		pthread_join(t, NULL);
		grb_reader_destroy(r);
	} else {
		pthread_join(t, NULL);
	}
	CHECK(w.ret == 0);
	CHECK(grb_channel_read_stats(ch, &st) == 0);
	CHECK(st.lost[GRB_LOST_TIMEOUT] == 0);
	if (!blocked || w.ret)
		fprintf(stderr, "blocking_timeout_us %llu: blocked %d, write returned %d\n",
			(unsigned long long)us, blocked, w.ret);
	grb_channel_destroy(ch);
}

static void test_switch_timer(uint64_t us)
{
	struct grb_channel_attr a;
	struct grb_channel *ch;
	struct grb_reader *r;
	struct grb_packet p;
	uint64_t v = 1;
	int got;

	grb_channel_attr_init(&a);
	a.subbuf_size = 4096;
	a.switch_timer_us = us;
	ch = grb_channel_create(&cfg_discard, &a);
	CHECK(ch != NULL);
	if (!ch)
		return;
	CHECK(grb_write_record(&cfg_discard, ch, 0, &v, sizeof(v)) == 0);
	pause_ms(50);
	/* The timer has not flushed the open packet. */
	r = grb_reader_create(ch, 0, 0);
	got = grb_reader_get_next(r, &p);
	CHECK(got == -EAGAIN);
	if (got == 0) {
		fprintf(stderr, "switch_timer_us %llu: flushed within 50 ms\n",
			(unsigned long long)us);
		grb_reader_put(r, &p);
	}
	grb_reader_destroy(r);
	grb_channel_destroy(ch);
}

static void test_read_timer(uint64_t us)
{
	struct grb_channel_attr a;
	struct grb_channel *ch;
	struct grb_reader *r;
	uint64_t t0, waited;

	grb_channel_attr_init(&a);
	a.read_timer_us = us;
	ch = grb_channel_create(&cfg_timer, &a);
	CHECK(ch != NULL);
	if (!ch)
		return;
	r = grb_reader_create(ch, 0, 0);
	CHECK(r != NULL);
	t0 = now_ns();
	CHECK(grb_reader_wait(r, WAIT_NS) == 0);
	waited = now_ns() - t0;
	/* The period is longer than the timeout: the wait lasts the latter. */
	CHECK(waited >= WAIT_NS);
	if (waited < WAIT_NS)
		fprintf(stderr, "read_timer_us %llu: waited %llu ns\n", (unsigned long long)us,
			(unsigned long long)waited);
	grb_reader_destroy(r);
	grb_channel_destroy(ch);
}

#define ONE_FIELD(F) F(u32, x)
GRB_CTF_EVENT(ev_tick, "test:tick", 1, ONE_FIELD)

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static long voluntary_switches(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_nvcsw;
}

static void test_ctf_read_period(uint64_t us)
{
	static const struct grb_ctf_event_desc *events[] = { &ev_tick_event };
	char dir[] = "test_attr_us.XXXXXX", path[sizeof(dir) + 8];
	struct grb_ctf_trace_attr a;
	struct grb_ctf_trace *t;
	long before, switches;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/trace", dir);
	grb_ctf_trace_attr_init(&a);
	a.path = path;
	a.events = events;
	a.nr_events = 1;
	a.chan.subbuf_size = 4096;
	a.chan.switch_timer_us = 0;
	a.read_period_us = us;
	t = grb_ctf_trace_create(&cfg_ctf, &a);
	CHECK(t != NULL);
	if (t) {
		CHECK(ev_tick_write(&cfg_ctf, grb_ctf_trace_channel(t), 1) == 0);
		pause_ms(10); /* the consumer goes to sleep */
		before = voluntary_switches();
		pause_ms(100);
		switches = voluntary_switches() - before;
		/* This thread's sleep, and not one per wake-up of the consumer. */
		CHECK(switches < 20);
		if (switches >= 20)
			fprintf(stderr, "read_period_us %llu: %ld context switches in 100 ms\n",
				(unsigned long long)us, switches);
		CHECK(grb_ctf_trace_stop(t) == 0);
		CHECK(grb_ctf_trace_destroy(t) == 0);
	} else {
		fprintf(stderr, "grb_ctf_trace_create: %s\n", grb_last_error());
	}
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	unsigned int i;

	for (i = 0; i < NR_EDGES; i++) {
		test_blocking_timeout(edges[i]);
		test_switch_timer(edges[i]);
		test_read_timer(edges[i]);
		test_ctf_read_period(edges[i]);
	}
	return check_exit("test_attr_us");
}
