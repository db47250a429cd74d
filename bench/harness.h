/* SPDX-License-Identifier: MIT */
/*
 * bench/harness.h - the pieces bench_write.c and its LTTng-UST peer
 * bench/lttng/bench_lttng.c share, so that both sides of a side-by-side
 * measurement time, fill payloads, pick CPUs and take medians the same way.
 *
 * Each benchmark is one translation unit: define BENCH_PROG (the name its
 * messages start with) and _GNU_SOURCE, then include this header.
 */
#ifndef GRB_BENCH_HARNESS_H
#define GRB_BENCH_HARNESS_H

#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef BENCH_PROG
#error "define BENCH_PROG before including harness.h"
#endif

#define MAX_RUNS 101

/* The benchmark's own stopwatch. */
static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * The payload of event i: words[0] = seed + i, words[1] = i, the other words
 * a constant pattern set once before the loop.
 */
static inline __attribute__((always_inline)) void payload_init(uint64_t *w, unsigned int words)
{
	unsigned int k;

	for (k = 0; k < words; k++)
		w[k] = 0x0101010101010101ull * k;
}

static inline __attribute__((always_inline)) void payload_set(uint64_t *w, unsigned int words,
							      uint64_t seed, uint64_t i)
{
	w[0] = seed + i;
	if (words > 1)
		w[1] = i;
}

/* The CPUs this process may run on, in order; writers are pinned to them. */
static int cpus[CPU_SETSIZE];
static int nr_cpus;

static void init_cpus(void)
{
	cpu_set_t set;
	int c;

	nr_cpus = 0;
	if (sched_getaffinity(0, sizeof(set), &set))
		return;
	for (c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set))
			cpus[nr_cpus++] = c;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median of n <= MAX_RUNS values (the mean of the middle two for
 * an even n).  Not every benchmark takes one. */
static __attribute__((unused)) double median(const double *v, int n)
{
	double s[MAX_RUNS];

	memcpy(s, v, sizeof(*v) * (size_t)n);
	qsort(s, (size_t)n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* The value of option what: a whole non-negative number, or exit 2. */
static uint64_t parse_u64(const char *s, const char *what)
{
	char *end;
	unsigned long long v;

	if (!s) {
		fprintf(stderr, BENCH_PROG ": %s needs a value\n", what);
		exit(2);
	}
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-') {
		fprintf(stderr, BENCH_PROG ": bad %s: '%s'\n", what, s);
		exit(2);
	}
	return v;
}

#endif
