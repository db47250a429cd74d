// SPDX-License-Identifier: MIT
/*
 * latency_writer.c - the writers of bench/bench_latency.c, traced with
 * LTTng-UST: the events whose live delay bench/lttng/live_latency.py
 * measures at a live viewer.
 *
 * Each of --threads writer threads writes grb_bench:write16 events (tp.h)
 * at bench_latency's rates: --load steady, one event every --period-us, or
 * --load burst, --burst events back to back every --gap-us on average
 * (each gap uniform in [gap / 2, 3 gap / 2)).  Field a is the commit time:
 * CLOCK_MONOTONIC read right before the tracepoint() call; field b the tag,
 * writer << 48 | sequence number.  A run writes --warmup-ms of events (the
 * viewer attaches meanwhile; not measured), then --window-ms of measured
 * events (as many as the rates asked give in that time, however long a
 * loaded machine takes to write them), then goes on at the same rate for
 * --tail-ms, so that the last measured events are flushed as in a steady
 * state, and exits.
 *
 * Output (stdout): first "LATENCY_WRITER threads=T warm=W measured=M" (per
 * writer: sequence numbers [W, W + M) are measured), flushed before the
 * first event; at the end "LATENCY_WRITER_DONE written=N measured_written=K
 * commit_ns_p50=... commit_ns_p99=... rate_ev_s=..." (K: the measured
 * events written, threads x M; the cost of the tracepoint() call, from the commit
 * time to its return, over the measured events; the rate the writers
 * achieved over them, events per second).
 *
 * Not part of the CMake build (it needs lttng-ust): bench/lttng/build.sh.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "tp.h"

#define BENCH_PROG "latency_writer"
#include "../harness.h"

#define MAX_THREADS 8
#define SEQ_BITS 48
#define CATCH_UP_NS 1000000ull /* 1 ms */

static struct {
	int threads;
	int burst_load;
	uint64_t period_us, burst, gap_us;
	uint64_t warmup_ms, window_ms, tail_ms;
	int pin;
} opt = {
	.threads = 1,
	.period_us = 50,
	.burst = 64,
	.gap_us = 10000,
	.warmup_ms = 2000,
	.window_ms = 1000,
	.tail_ms = 2000,
	.pin = 1,
};

struct writer {
	int idx;
	pthread_t tid;
	uint64_t t0, interval_ns, per_wake, warm, measured, tail_ns;
	uint64_t written, measured_written;
	uint64_t first, last; /* commit times of the first and last measured events */
	uint64_t *cost; /* per measured event, ns */
	pthread_barrier_t *start;
};

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s ? *s : 1;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = { (time_t)(t / 1000000000u), (long)(t % 1000000000u) };

	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

static void *writer_main(void *p)
{
	struct writer *w = (struct writer *)p;
	uint64_t seq = 0, next, k, end = 0, tag = (uint64_t)w->idx << SEQ_BITS;
	uint64_t rnd = now_ns() ^ (0x9e3779b97f4a7c15ull * (uint64_t)(w->idx + 1));

	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	pthread_barrier_wait(w->start);
	next = w->t0 + w->interval_ns * (uint64_t)w->idx / (uint64_t)opt.threads;
	for (;;) {
		uint64_t now;

		/* The tail starts once every measured event is written. */
		if (seq >= w->warm + w->measured) {
			if (!end)
				end = next + w->tail_ns;
			if (next >= end)
				break;
		}

		sleep_until(next);
		for (k = 0; k < w->per_wake; k++, seq++) {
			uint64_t c = now_ns();

			tracepoint(grb_bench, write16, c, tag | seq);
			if (seq >= w->warm && seq - w->warm < w->measured) {
				w->cost[seq - w->warm] = now_ns() - c;
				w->measured_written++;
				if (!w->first)
					w->first = c;
				w->last = c;
			}
			w->written++;
		}
		if (opt.burst_load)
			next += w->interval_ns / 2 + xorshift(&rnd) % w->interval_ns;
		else
			next += w->interval_ns;
		/* Behind by a few events (a late wake-up): catch up, so
		 * that the rate is the one asked for.  Behind by more (the
		 * thread was descheduled): start again from now. */
		now = now_ns();
		if (next + CATCH_UP_NS < now)
			next = now;
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: latency_writer [--threads T] [--load steady|burst] [--period-us U]\n"
		   "       [--burst B] [--gap-us U] [--warmup-ms M] [--window-ms M] [--tail-ms M]\n"
		   "       [--no-pin]   (see the comment at the top of latency_writer.c)\n");
}

int main(int argc, char **argv)
{
	struct writer w[MAX_THREADS];
	pthread_barrier_t start;
	uint64_t interval, per_wake, warm, measured, t0, total = 0, n = 0, mw = 0, *all;
	double rate = 0;
	int i, t, pin;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--threads")) {
			opt.threads = (int)parse_u64(v, a);
			i++;
		} else if (!strcmp(a, "--load") && v) {
			if (strcmp(v, "steady") && strcmp(v, "burst")) {
				usage(stderr);
				return 2;
			}
			opt.burst_load = !strcmp(v, "burst");
			i++;
		} else if (!strcmp(a, "--period-us")) {
			opt.period_us = parse_u64(v, a);
			i++;
		} else if (!strcmp(a, "--burst")) {
			opt.burst = parse_u64(v, a);
			i++;
		} else if (!strcmp(a, "--gap-us")) {
			opt.gap_us = parse_u64(v, a);
			i++;
		} else if (!strcmp(a, "--warmup-ms")) {
			opt.warmup_ms = parse_u64(v, a);
			i++;
		} else if (!strcmp(a, "--window-ms")) {
			opt.window_ms = parse_u64(v, a);
			i++;
		} else if (!strcmp(a, "--tail-ms")) {
			opt.tail_ms = parse_u64(v, a);
			i++;
		} else if (!strcmp(a, "--no-pin")) {
			opt.pin = 0;
		} else {
			usage(!strcmp(a, "--help") ? stdout : stderr);
			return strcmp(a, "--help") ? 2 : 0;
		}
	}
	if (opt.threads < 1 || opt.threads > MAX_THREADS || !opt.period_us || !opt.burst ||
	    !opt.gap_us || !opt.window_ms) {
		usage(stderr);
		return 2;
	}
	init_cpus();
	/* As bench_latency: pinned only when a CPU is left for the reader. */
	pin = opt.pin && nr_cpus > opt.threads;
	interval = (opt.burst_load ? opt.gap_us : opt.period_us) * 1000;
	per_wake = opt.burst_load ? opt.burst : 1;
	warm = (opt.warmup_ms * 1000000 + interval - 1) / interval * per_wake;
	measured = opt.window_ms * 1000000 / interval * per_wake;
	if (!measured)
		measured = per_wake;
	printf("LATENCY_WRITER threads=%d warm=%llu measured=%llu\n", opt.threads,
	       (unsigned long long)warm, (unsigned long long)measured);
	fflush(stdout);

	pthread_barrier_init(&start, NULL, (unsigned int)opt.threads);
	t0 = now_ns() + 1000000;
	for (t = 0; t < opt.threads; t++) {
		pthread_attr_t pa;
		cpu_set_t set;

		memset(&w[t], 0, sizeof(w[t]));
		w[t].idx = t;
		w[t].t0 = t0;
		w[t].interval_ns = interval;
		w[t].per_wake = per_wake;
		w[t].warm = warm;
		w[t].measured = measured;
		w[t].tail_ns = opt.tail_ms * 1000000;
		w[t].start = &start;
		w[t].cost = calloc(measured, sizeof(uint64_t));
		if (!w[t].cost) {
			perror("calloc");
			return 3;
		}
		pthread_attr_init(&pa);
		if (pin) {
			CPU_ZERO(&set);
			CPU_SET(cpus[t], &set);
			pthread_attr_setaffinity_np(&pa, sizeof(set), &set);
		}
		if (pthread_create(&w[t].tid, &pa, writer_main, &w[t])) {
			perror("pthread_create");
			return 3;
		}
		pthread_attr_destroy(&pa);
	}
	for (t = 0; t < opt.threads; t++) {
		pthread_join(w[t].tid, NULL);
		total += w[t].written;
	}
	pthread_barrier_destroy(&start);
	all = calloc(measured * (uint64_t)opt.threads, sizeof(uint64_t));
	if (!all) {
		perror("calloc");
		return 3;
	}
	for (t = 0; t < opt.threads; t++) {
		/* The measured events a late writer wrote (in order). */
		memcpy(all + n, w[t].cost, w[t].measured_written * sizeof(uint64_t));
		n += w[t].measured_written;
		mw += w[t].measured_written;
		if (w[t].measured_written > 1 && w[t].last > w[t].first)
			rate += (double)(w[t].measured_written - 1) * 1e9 /
				(double)(w[t].last - w[t].first);
		free(w[t].cost);
	}
	if (!n) {
		printf("LATENCY_WRITER_DONE written=%llu measured_written=0\n",
		       (unsigned long long)total);
		return 1;
	}
	qsort(all, n, sizeof(*all), cmp_u64);
	printf("LATENCY_WRITER_DONE written=%llu measured_written=%llu commit_ns_p50=%llu "
	       "commit_ns_p99=%llu rate_ev_s=%.0f\n",
	       (unsigned long long)total, (unsigned long long)mw,
	       (unsigned long long)all[(n - 1) / 2],
	       (unsigned long long)all[(n * 99 + 99) / 100 - 1], rate);
	free(all);
	return 0;
}
