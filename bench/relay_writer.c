// SPDX-License-Identifier: MIT
/*
 * relay_writer.c - the workload of bench/relay.sh: a known number of
 * events of a known size, from T threads, as fast as they can or at a
 * fixed rate, traced with grb (a program of `grb record -- PROGRAM`, built
 * by CMake) or with LTTng-UST (built with -DRELAY_WRITER_LTTNG by
 * bench/lttng/build.sh, the provider of bench/lttng/tp.h).
 *
 * Every event is grb_bench:write16 { a, b }: two 64-bit integers, 16 bytes
 * of payload on both sides.  a is the commit time: CLOCK_MONOTONIC read
 * right before the write (the live delay is measured from it); b is the
 * tag, thread << 48 | the thread's sequence number.
 *
 *	relay_writer [--threads T] --events N [--go FILE] [--report FILE]
 *	relay_writer [--threads T] --rate R --warmup-ms W --window-ms M
 *	             --tail-ms X [--go FILE] [--report FILE]
 *
 * --events: each thread writes N events back to back.  --rate: each
 * thread writes R events a second (one every 1/R s, on an absolute
 * schedule, catching up after a late wake-up of up to 1 ms): W ms of
 * warm-up, then M ms of measured events (sequence numbers [warm, warm +
 * measured)), then X ms more at the same rate, so that the last measured
 * events are flushed as in a steady state.  --go: the threads start once
 * FILE exists (at most 60 s; the caller attaches its viewer first).
 *
 * Report (to FILE, else standard output), one line each:
 *	RELAY_WRITER threads=T warm=W measured=M	(before the first event)
 *	RELAY_WRITER_DONE written=N failed=F measured_written=K start_ns=S
 *	    end_ns=E cpu_ns=C
 * written: events the writers handed to the tracer (for LTTng-UST every
 * call; for grb the writes that returned 0), failed: grb's refused writes
 * (each counted lost by the channel), S and E: CLOCK_MONOTONIC at the
 * first event of the earliest thread and after the last event of the
 * latest, C: the process's CPU time (user + system) at the end, its
 * tracer's threads included (grb's switch timer, LTTng-UST's listeners).  Exit status 0 (refused writes are the tracer's losses, counted
 * by it), 1 when grb's session refused the channel, 2 for bad options.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#ifdef RELAY_WRITER_LTTNG
#include "tp.h"
#else
#include <grb/session.h>
#endif

#define MAX_THREADS 16
#define SEQ_BITS 48
#define CATCH_UP_NS 1000000ull

#ifndef RELAY_WRITER_LTTNG
static const struct grb_config cfg = GRB_SESSION_CONFIG;
static const struct grb_config cfg_wake = GRB_SESSION_CONFIG_WAKE;

#define WRITE16_FIELDS(F) F(u64, a) F(u64, b)
GRB_CTF_EVENT(bench_write16, "grb_bench:write16", 1, WRITE16_FIELDS)

static const struct grb_ctf_event_desc *const events[] = { &bench_write16_event };
static struct grb_channel *ch;
static const struct grb_config *used;
#endif

static struct {
	int threads;
	uint64_t events, rate, warmup_ms, window_ms, tail_ms;
	const char *go, *report;
} opt = { .threads = 1 };

struct writer {
	pthread_t tid;
	uint64_t idx, n, interval_ns, warm, measured, tail_ns;
	uint64_t written, failed, measured_written, first, last;
	pthread_barrier_t *start;
};

/* One event: 0, or the tracer refused it (grb: counted lost). */
static inline __attribute__((always_inline)) int write16(uint64_t a, uint64_t b)
{
#ifdef RELAY_WRITER_LTTNG
	tracepoint(grb_bench, write16, a, b);
	return 0;
#else
	if (used == &cfg_wake)
		return bench_write16_write(&cfg_wake, ch, a, b);
	return bench_write16_write(&cfg, ch, a, b);
#endif
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The value of option what: a whole non-negative number, or exit 2. */
static uint64_t parse_u64(const char *s, const char *what)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-') {
		fprintf(stderr, "relay_writer: bad %s: '%s'\n", what, s);
		exit(2);
	}
	return v;
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = { (time_t)(t / 1000000000u), (long)(t % 1000000000u) };

	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

static void *writer_flat(void *p)
{
	struct writer *w = (struct writer *)p;
	uint64_t i, tag = w->idx << SEQ_BITS;

	pthread_barrier_wait(w->start);
	w->first = now_ns();
	for (i = 0; i < w->n; i++) {
		if (write16(now_ns(), tag | i))
			w->failed++;
		else
			w->written++;
	}
	w->last = now_ns();
	return NULL;
}

static void *writer_rate(void *p)
{
	struct writer *w = (struct writer *)p;
	uint64_t seq = 0, next, end = 0, tag = w->idx << SEQ_BITS;

	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	pthread_barrier_wait(w->start);
	w->first = now_ns();
	/* The threads' events interleave evenly. */
	next = w->first + w->interval_ns * w->idx / (uint64_t)opt.threads;
	for (;;) {
		uint64_t c, now;

		if (seq >= w->warm + w->measured) {
			if (!end)
				end = next + w->tail_ns;
			if (next >= end)
				break;
		}
		sleep_until(next);
		c = now_ns();
		if (write16(c, tag | seq)) {
			w->failed++;
		} else {
			w->written++;
			if (seq >= w->warm && seq - w->warm < w->measured)
				w->measured_written++;
		}
		seq++;
		next += w->interval_ns;
		now = now_ns();
		if (next + CATCH_UP_NS < now)
			next = now; /* descheduled: start again from now */
	}
	w->last = now_ns();
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: relay_writer [--threads T] --events N [--go FILE] [--report FILE]\n"
		   "       relay_writer [--threads T] --rate R --warmup-ms W --window-ms M"
		   " --tail-ms X\n"
		   "                    [--go FILE] [--report FILE]\n");
}

int main(int argc, char **argv)
{
	struct writer w[MAX_THREADS];
	pthread_barrier_t start;
	uint64_t warm = 0, measured = 0, written = 0, failed = 0, mw = 0, first = UINT64_MAX;
	uint64_t last = 0;
	FILE *rep = stdout;
	struct rusage ru;
	int i, t, waited = 0;

	/* Every option takes a value: they go by two. */
	for (i = 1; i < argc; i += 2) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--threads") && v)
			opt.threads = (int)parse_u64(v, a);
		else if (!strcmp(a, "--events") && v)
			opt.events = parse_u64(v, a);
		else if (!strcmp(a, "--rate") && v)
			opt.rate = parse_u64(v, a);
		else if (!strcmp(a, "--warmup-ms") && v)
			opt.warmup_ms = parse_u64(v, a);
		else if (!strcmp(a, "--window-ms") && v)
			opt.window_ms = parse_u64(v, a);
		else if (!strcmp(a, "--tail-ms") && v)
			opt.tail_ms = parse_u64(v, a);
		else if (!strcmp(a, "--go") && v)
			opt.go = v;
		else if (!strcmp(a, "--report") && v)
			opt.report = v;
		else {
			usage(!strcmp(a, "--help") ? stdout : stderr);
			return strcmp(a, "--help") ? 2 : 0;
		}
	}
	if (opt.threads < 1 || opt.threads > MAX_THREADS || !opt.events == !opt.rate ||
	    (opt.rate && (opt.rate > 1000000000u || !opt.window_ms))) {
		usage(stderr);
		return 2;
	}
	if (opt.report) {
		rep = fopen(opt.report, "w");
		if (!rep) {
			perror(opt.report);
			return 3;
		}
	}
#ifndef RELAY_WRITER_LTTNG
	ch = grb_session_channel_pick(&cfg, &cfg_wake, "relay_writer", events, 1, &used);
	if (!ch) {
		fprintf(stderr, "relay_writer: not recorded: %s\n", grb_last_error());
		return 1;
	}
#endif
	if (opt.rate) {
		warm = opt.warmup_ms * opt.rate / 1000;
		measured = opt.window_ms * opt.rate / 1000;
		if (!measured)
			measured = 1;
	}
	fprintf(rep, "RELAY_WRITER threads=%d warm=%llu measured=%llu\n", opt.threads,
		(unsigned long long)warm, (unsigned long long)measured);
	fflush(rep);
	while (opt.go && access(opt.go, F_OK)) {
		struct timespec ts = { 0, 10000000 };

		if (++waited > 6000) {
			fprintf(stderr, "relay_writer: %s did not appear in 60 s\n", opt.go);
			return 1;
		}
		nanosleep(&ts, NULL);
	}
	pthread_barrier_init(&start, NULL, (unsigned int)opt.threads);
	for (t = 0; t < opt.threads; t++) {
		memset(&w[t], 0, sizeof(w[t]));
		w[t].idx = (uint64_t)t;
		w[t].n = opt.events;
		w[t].interval_ns = opt.rate ? 1000000000u / opt.rate : 0;
		w[t].warm = warm;
		w[t].measured = measured;
		w[t].tail_ns = opt.tail_ms * 1000000u;
		w[t].start = &start;
		if (pthread_create(&w[t].tid, NULL, opt.rate ? writer_rate : writer_flat, &w[t])) {
			perror("pthread_create");
			return 3;
		}
	}
	for (t = 0; t < opt.threads; t++) {
		pthread_join(w[t].tid, NULL);
		written += w[t].written;
		failed += w[t].failed;
		mw += w[t].measured_written;
		if (w[t].first < first)
			first = w[t].first;
		if (w[t].last > last)
			last = w[t].last;
	}
	pthread_barrier_destroy(&start);
#ifndef RELAY_WRITER_LTTNG
	grb_session_close(ch); /* the recorder drains every event */
#endif
	getrusage(RUSAGE_SELF, &ru);
	fprintf(rep,
		"RELAY_WRITER_DONE written=%llu failed=%llu measured_written=%llu start_ns=%llu "
		"end_ns=%llu cpu_ns=%llu\n",
		(unsigned long long)written, (unsigned long long)failed, (unsigned long long)mw,
		(unsigned long long)first, (unsigned long long)last,
		(unsigned long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000u +
			(unsigned long long)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000u);
	if (rep != stdout)
		fclose(rep);
	return 0;
}
