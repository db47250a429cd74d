// SPDX-License-Identifier: MIT
/*
 * bench_lttng.c - nanoseconds per event of an LTTng-UST tracepoint, the
 * side-by-side peer of bench/bench_write.c.
 *
 * Each writer thread calls tracepoint(grb_bench, writeP, ...) N times: one
 * event with a P-byte payload (--payload P: 8, 16, 64 or 256; two uint64_t
 * fields for 16), the same bytes as bench_write's payload of that size.  The
 * session, channel geometry and buffering mode are set up by
 * bench/lttng/run.sh or bench/suite.sh with the lttng command; this program
 * only traces and times, exactly as bench_write does: each writer is pinned
 * to its own CPU when there are enough CPUs, writes an untimed warm-up, waits
 * on a barrier, then times its N events with clock_gettime(CLOCK_MONOTONIC).
 * Runs are repeated R times; the median and min/max of ns/event are reported
 * (with several threads, the mean of the threads).
 *
 * LTTng-UST's consumer daemon (lttng-consumerd) drains the buffers
 * concurrently; the events it had to discard are reported by run.sh from the
 * tracer's own counters, not here.
 *
 * Not part of the CMake build (it needs lttng-ust): see bench/lttng/build.sh.
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
#include <time.h>

#include "tp.h"

#define BENCH_PROG "bench_lttng"
#include "../harness.h"

#define MAX_THREADS 8
#define MAX_WORDS 32 /* 256 bytes */

static struct {
	uint64_t events;
	uint64_t warmup;
	int runs;
	int threads;
	unsigned int payload; /* bytes */
	int pin;
	int verbose;
	const char *case_name;
} opt = {
	.events = 2000000,
	.warmup = UINT64_MAX, /* default: as bench_write, see main() */
	.runs = 5,
	.threads = 1,
	.payload = 16,
	.pin = 1,
	.case_name = "lttng-ust-discard",
};

/*
 * The payload of event i, as in bench_write (harness.h).  One loop per
 * payload size, each kept out of line so that it is one loop to look at.
 */
static __attribute__((noinline)) void trace_loop_8(uint64_t n, uint64_t seed)
{
	uint64_t i;

	for (i = 0; i < n; i++)
		tracepoint(grb_bench, write8, seed + i);
}

static __attribute__((noinline)) void trace_loop_16(uint64_t n, uint64_t seed)
{
	uint64_t i;

	for (i = 0; i < n; i++)
		tracepoint(grb_bench, write16, seed + i, i);
}

static __attribute__((noinline)) void trace_loop_64(uint64_t n, uint64_t seed)
{
	uint64_t w[8], i;

	payload_init(w, 8);
	for (i = 0; i < n; i++) {
		payload_set(w, 8, seed, i);
		tracepoint(grb_bench, write64, w);
	}
}

static __attribute__((noinline)) void trace_loop_256(uint64_t n, uint64_t seed)
{
	uint64_t w[MAX_WORDS], i;

	payload_init(w, MAX_WORDS);
	for (i = 0; i < n; i++) {
		payload_set(w, MAX_WORDS, seed, i);
		tracepoint(grb_bench, write256, w);
	}
}

static void trace_loop(uint64_t n, uint64_t seed)
{
	switch (opt.payload) {
	case 8:
		trace_loop_8(n, seed);
		break;
	case 64:
		trace_loop_64(n, seed);
		break;
	case 256:
		trace_loop_256(n, seed);
		break;
	default:
		trace_loop_16(n, seed);
		break;
	}
}

static int payload_enabled(void)
{
	switch (opt.payload) {
	case 8:
		return tracepoint_enabled(grb_bench, write8) ? 1 : 0;
	case 64:
		return tracepoint_enabled(grb_bench, write64) ? 1 : 0;
	case 256:
		return tracepoint_enabled(grb_bench, write256) ? 1 : 0;
	default:
		return tracepoint_enabled(grb_bench, write16) ? 1 : 0;
	}
}

struct writer {
	pthread_t tid;
	pthread_barrier_t *start;
	uint64_t seed;
	uint64_t ns;
};

static void *writer_main(void *p)
{
	struct writer *w = p;
	uint64_t t0, t1;

	if (opt.warmup)
		trace_loop(opt.warmup, w->seed);
	pthread_barrier_wait(w->start);
	t0 = now_ns();
	trace_loop(opt.events, w->seed + opt.warmup);
	t1 = now_ns();
	w->ns = t1 - t0;
	return NULL;
}

/* One run: returns ns/event (mean over the threads); *mevents_s gets the
 * aggregate rate (all events over the slowest thread's time). */
static double one_run(int run, double *mevents_s)
{
	struct writer w[MAX_THREADS];
	pthread_barrier_t start;
	uint64_t max_ns = 0;
	double sum = 0;
	int i;

	pthread_barrier_init(&start, NULL, (unsigned)opt.threads);
	for (i = 0; i < opt.threads; i++) {
		pthread_attr_t pa;

		w[i].start = &start;
		w[i].seed = ((uint64_t)run << 40) | ((uint64_t)i << 32);
		w[i].ns = 0;
		pthread_attr_init(&pa);
		/* As bench_write: pinned only when every writer gets a CPU. */
		if (opt.pin && nr_cpus >= opt.threads) {
			cpu_set_t set;

			CPU_ZERO(&set);
			CPU_SET(cpus[i], &set);
			pthread_attr_setaffinity_np(&pa, sizeof(set), &set);
		}
		if (pthread_create(&w[i].tid, &pa, writer_main, &w[i])) {
			fprintf(stderr, "bench_lttng: pthread_create failed\n");
			exit(3);
		}
		pthread_attr_destroy(&pa);
	}
	for (i = 0; i < opt.threads; i++) {
		pthread_join(w[i].tid, NULL);
		sum += (double)w[i].ns / (double)opt.events;
		if (w[i].ns > max_ns)
			max_ns = w[i].ns;
	}
	pthread_barrier_destroy(&start);
	*mevents_s = max_ns ? (double)opt.events * opt.threads * 1e3 / (double)max_ns : 0;
	return sum / opt.threads;
}

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
		"usage: %s [options]\n"
		"\n"
		"Measures ns per LTTng-UST tracepoint() call (event grb_bench:writeP, a\n"
		"P-byte payload; write16 is two uint64_t fields).  The tracing session must\n"
		"be set up beforehand (bench/lttng/run.sh and bench/suite.sh do it);\n"
		"otherwise the tracepoint is disabled and the program refuses to run\n"
		"(exit status 4).\n"
		"\n"
		"  --events N     events per thread and run (default 2,000,000)\n"
		"  --runs R       repetitions (default 5); median and min/max\n"
		"  --threads T    writer threads: 1 to 8 (default 1); pinned to CPUs only\n"
		"                 when there are at least as many CPUs\n"
		"  --payload P    payload bytes: 8, 16, 64 or 256 (default 16)\n"
		"  --warmup N     untimed events per thread before each run (default, as\n"
		"                 bench_write: one 8.25 MiB ring's worth of 8 + P byte\n"
		"                 records, 360448 for 16 bytes)\n"
		"  --case NAME    label of the SUMMARY line (default lttng-ust-discard)\n"
		"  --allow-disabled  run even if the tracepoint is disabled\n"
		"  --no-pin       do not pin threads to CPUs\n"
		"  --verbose, -v  print every run\n",
		prog);
}

int main(int argc, char **argv)
{
	double ns[MAX_RUNS], mev[MAX_RUNS], sorted[MAX_RUNS], med, mev_sorted[MAX_RUNS];
	int allow_disabled = 0, enabled, r, i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout, argv[0]);
			return 0;
		} else if (!strcmp(a, "--events")) {
			opt.events = parse_u64(v, a);
			i++;
		} else if (!strcmp(a, "--runs")) {
			opt.runs = (int)parse_u64(v, a);
			i++;
		} else if (!strcmp(a, "--threads")) {
			opt.threads = (int)parse_u64(v, a);
			i++;
		} else if (!strcmp(a, "--payload")) {
			opt.payload = (unsigned int)parse_u64(v, a);
			i++;
			if (opt.payload != 8 && opt.payload != 16 && opt.payload != 64 &&
			    opt.payload != 256) {
				fprintf(stderr,
					"bench_lttng: --payload must be 8, 16, 64 or 256\n");
				return 2;
			}
		} else if (!strcmp(a, "--warmup")) {
			opt.warmup = parse_u64(v, a);
			i++;
		} else if (!strcmp(a, "--case")) {
			if (!v) {
				fprintf(stderr, "bench_lttng: --case needs a value\n");
				return 2;
			}
			opt.case_name = v;
			i++;
		} else if (!strcmp(a, "--allow-disabled")) {
			allow_disabled = 1;
		} else if (!strcmp(a, "--no-pin")) {
			opt.pin = 0;
		} else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
			opt.verbose = 1;
		} else {
			usage(stderr, argv[0]);
			return 2;
		}
	}
	if (opt.events == 0 || opt.runs < 1 || opt.runs > MAX_RUNS || opt.threads < 1 ||
	    opt.threads > MAX_THREADS) {
		fprintf(stderr, "bench_lttng: need --events > 0, --runs 1..%d, --threads 1..%d\n",
			MAX_RUNS, MAX_THREADS);
		return 2;
	}
	/* bench_write's default warm-up: one ring's worth of its 8 + P byte
	 * records (33 x 256 KiB / 24 = 360,448 for 16 bytes). */
	if (opt.warmup == UINT64_MAX)
		opt.warmup = 33ull * 256 * 1024 / (8 + opt.payload);
	init_cpus();

	/* lttng-ust registers with the session daemon in a constructor and
	 * waits for it (LTTNG_UST_REGISTER_TIMEOUT), so an enabled event is
	 * already enabled here. */
	enabled = payload_enabled();
	printf("bench_lttng: case=%s payload=%u events=%llu warmup=%llu runs=%d threads=%d "
	       "tracepoint_enabled=%d\n",
	       opt.case_name, opt.payload, (unsigned long long)opt.events,
	       (unsigned long long)opt.warmup, opt.runs, opt.threads, enabled);
	if (!enabled && !allow_disabled) {
		fprintf(stderr,
			"bench_lttng: tracepoint grb_bench:write%u is not enabled "
			"(no session?); refusing to time a disabled tracepoint\n",
			opt.payload);
		return 4;
	}
	fflush(stdout);

	for (r = 0; r < opt.runs; r++) {
		ns[r] = one_run(r, &mev[r]);
		if (opt.verbose)
			fprintf(stderr, "RUN run=%d case=%s threads=%d ns=%.2f mevents_s=%.2f\n",
				r + 1, opt.case_name, opt.threads, ns[r], mev[r]);
	}
	memcpy(sorted, ns, sizeof(double) * (size_t)opt.runs);
	qsort(sorted, (size_t)opt.runs, sizeof(double), cmp_double);
	memcpy(mev_sorted, mev, sizeof(double) * (size_t)opt.runs);
	qsort(mev_sorted, (size_t)opt.runs, sizeof(double), cmp_double);
	med = median(ns, opt.runs);

	printf("%-24s %8s %10s %10s %10s %10s\n", "case", "threads", "ns_median", "ns_min",
	       "ns_max", "Mev/s_med");
	printf("%-24s %8d %10.2f %10.2f %10.2f %10.2f\n", opt.case_name, opt.threads, med,
	       sorted[0], sorted[opt.runs - 1], mev_sorted[opt.runs / 2]);
	printf("SUMMARY bench=lttng case=%s payload=%u threads=%d ns_median=%.2f ns_min=%.2f "
	       "ns_max=%.2f mevents_s=%.2f runs=%d events=%llu warmup=%llu "
	       "written=%llu tracepoint_enabled=%d\n",
	       opt.case_name, opt.payload, opt.threads, med, sorted[0], sorted[opt.runs - 1],
	       mev_sorted[opt.runs / 2], opt.runs, (unsigned long long)opt.events,
	       (unsigned long long)opt.warmup,
	       (unsigned long long)((opt.events + opt.warmup) * (uint64_t)opt.threads *
				    (uint64_t)opt.runs),
	       enabled);
	return 0;
}
