// SPDX-License-Identifier: MIT
/*
 * bench_write.c - nanoseconds per event of the write fast path.
 *
 * Every writer thread writes N events of a P-byte payload (P = 8, 16, 64 or
 * 256: --payload; 16 by default, two uint64_t) with the native client
 * through grb_reserve() + grb_write() + grb_commit() (grb_write_record() is
 * an inline wrapper of the same three calls) while a consumer thread drains
 * every stream, so that discard mode is measured in its steady state and not
 * on the full-buffer drop path.  Each configuration is its own static const
 * struct grb_config and each (configuration, payload size) pair its own
 * loop, so each loop gets the fast path specialised for it and copies a
 * payload of constant size.
 *
 * Cases: {global, per-CPU} x GRB_SYNC_ATOMIC, per-CPU x
 * GRB_SYNC_PER_CPU_RSEQ and per-thread x GRB_SYNC_SINGLE_WRITER, each in
 * discard and overwrite mode, with the CLOCK_MONOTONIC clock
 * (grb_clock_monotonic) and the TSC clock (grb_clock_tsc: lfence; rdtsc, the
 * read `grb record --clock tsc` uses), with 1 and 2 writer threads (or any
 * list given with --threads, e.g. 1,2,4).  A case whose channel the library
 * refuses to create (a sync not implemented yet) is reported as a SKIP line
 * and the others go on.  The "floor" case is the same clock read plus plain
 * stores of the same 8 + P bytes (8-byte header, payload) into a
 * thread-local 64 KiB ring: what any tracer must at least pay.  On x86-64,
 * "floor-bare-tsc" is that floor with a bare rdtsc, which a tracer may not
 * use (doc/ordering.md): it only says what the ordering of the TSC read
 * costs, and no ratio is ever taken against it.
 *
 * --disabled measures an event site whose channel is disabled
 * (grb_channel_disable): loops of grb_write_record() and of grb_reserve()
 * calls that all return -EAGAIN, next to an empty loop of the same length.
 *
 * Method: each writer thread is pinned to its own CPU when there are enough
 * (the consumer to a spare one if there is one), writes an untimed warm-up
 * (one ring's worth, so that every page is touched before timing), waits on a
 * barrier, then times its N events with clock_gettime(CLOCK_MONOTONIC).
 * Every case is repeated R times with the runs as the outer loop, so that a
 * slow phase of a shared machine is spread over all cases; the median and the
 * min/max are reported.
 *
 * Losses are never hidden: each case reports the library's loss counters
 * and checks delivered + lost (+ filtered) == written, and that every failed
 * reservation was counted lost.  See bench/RESULTS.md.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <grb/grb.h>
#include <grb/native.h>

#define BENCH_PROG "bench_write"
#include "harness.h"

#if defined(__x86_64__)
#include <x86intrin.h>
#define HAVE_BARE_TSC 1
#endif

#define HEADER_SIZE 8u /* compact native record header */
#define MAX_PAYLOAD 256u
#define MAX_THREADS 8
#define FLOOR_RING (64 * 1024)

#define barrier() __asm__ __volatile__("" ::: "memory")

/* The payload sizes, in bytes; every loop exists once per size. */
static const unsigned int payload_sizes[] = { 8, 16, 64, 256 };
#define NR_PAYLOADS (sizeof(payload_sizes) / sizeof(payload_sizes[0]))

/* ---------------------------------------------------------------------- */
/* Clocks                                                                  */
/* ---------------------------------------------------------------------- */

/*
 * The tsc cases and their floor use the product's read, grb_clock_tsc()
 * (lfence; rdtsc, TSC ticks, not converted to ns): the clock a user of
 * GRB_NATIVE_CONFIG_CLOCK(..., grb_clock_tsc) or `grb record --clock tsc`
 * gets.  Its lfence keeps the read after the reservation's offset load
 * (doc/ordering.md, "The clock is read after the offset load").
 */

#ifdef HAVE_BARE_TSC
/*
 * A bare rdtsc, for the floor-bare-tsc reference case only.  It may run
 * before earlier loads complete, so a timestamp taken with it may precede
 * the previous reservation's: doc/ordering.md forbids it as a tracer's
 * clock, and no grb case uses it.
 */
static inline uint64_t bare_rdtsc(void)
{
	return __rdtsc();
}
#endif

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };

	nanosleep(&ts, NULL);
}

/* ---------------------------------------------------------------------- */
/* The loops                                                               */
/* ---------------------------------------------------------------------- */

/* Writes n events of P bytes; returns how many reservations failed. */
#define DEFINE_WRITE_LOOP(id, P)                                                          \
	static __attribute__((noinline))                                                  \
	uint64_t loop_##id##_##P(struct grb_channel *ch, uint64_t n, uint64_t seed)       \
	{                                                                                 \
		uint64_t payload[(P) / 8], i, rejected = 0;                               \
                                                                                          \
		payload_init(payload, (P) / 8);                                           \
		for (i = 0; i < n; i++) {                                                 \
			struct grb_ctx ctx;                                               \
                                                                                          \
			payload_set(payload, (P) / 8, seed, i);                           \
			ctx.event_id = 0;                                                 \
			ctx.payload_len = sizeof(payload);                                \
			if (__builtin_expect(grb_reserve(&cfg_##id, ch, &ctx) != 0, 0)) { \
				rejected++;                                               \
				continue;                                                 \
			}                                                                 \
			grb_write(&ctx, payload, sizeof(payload));                        \
			grb_commit(&cfg_##id, &ctx);                                      \
		}                                                                         \
		return rejected;                                                          \
	}

static __thread unsigned char floor_ring[FLOOR_RING + HEADER_SIZE + MAX_PAYLOAD]
	__attribute__((aligned(64)));

/* The floor: the clock read and plain stores of the same 8 + P bytes. */
#define DEFINE_FLOOR_LOOP(clk, clock_read, P)                                              \
	static __attribute__((noinline))                                                   \
	uint64_t loop_floor_##clk##_##P(struct grb_channel *ch, uint64_t n, uint64_t seed) \
	{                                                                                  \
		uint64_t payload[(P) / 8], i, pos = 0;                                     \
                                                                                           \
		(void)ch;                                                                  \
		payload_init(payload, (P) / 8);                                            \
		for (i = 0; i < n; i++) {                                                  \
			uint64_t ts;                                                       \
			uint32_t hdr[2];                                                   \
			unsigned char *p = floor_ring + pos;                               \
                                                                                           \
			payload_set(payload, (P) / 8, seed, i);                            \
			ts = clock_read();                                                 \
			hdr[0] = (HEADER_SIZE + (P)) | GRB_NATIVE_KIND_COMPACT;            \
			hdr[1] = (uint32_t)ts;                                             \
			memcpy(p, hdr, sizeof(hdr));                                       \
			memcpy(p + sizeof(hdr), payload, sizeof(payload));                 \
			pos = (pos + HEADER_SIZE + (P)) & (FLOOR_RING - 1);                \
			barrier(); /* the stores must happen, every iteration */           \
		}                                                                          \
		return 0;                                                                  \
	}

/*
 * A disabled event site: every call returns -EAGAIN after one load and one
 * branch.  The loops return how many calls were refused.
 */
#define DEFINE_DISABLED_LOOPS(_, P)                                                           \
	static __attribute__((noinline))                                                      \
	uint64_t loop_disabled_record_##P(struct grb_channel *ch, uint64_t n, uint64_t seed)  \
	{                                                                                     \
		uint64_t payload[(P) / 8], i, written = 0;                                    \
                                                                                              \
		payload_init(payload, (P) / 8);                                               \
		for (i = 0; i < n; i++) {                                                     \
			payload_set(payload, (P) / 8, seed, i);                               \
			if (__builtin_expect(grb_write_record(&cfg_disabled, ch, 0, payload,  \
							      sizeof(payload)) != 0,          \
					     1))                                              \
				continue;                                                     \
			written++;                                                            \
		}                                                                             \
		return n - written;                                                           \
	}                                                                                     \
	static __attribute__((noinline))                                                      \
	uint64_t loop_disabled_reserve_##P(struct grb_channel *ch, uint64_t n, uint64_t seed) \
	{                                                                                     \
		uint64_t payload[(P) / 8], i, written = 0;                                    \
                                                                                              \
		payload_init(payload, (P) / 8);                                               \
		for (i = 0; i < n; i++) {                                                     \
			struct grb_ctx ctx;                                                   \
                                                                                              \
			ctx.event_id = 0;                                                     \
			ctx.payload_len = sizeof(payload);                                    \
			if (__builtin_expect(grb_reserve(&cfg_disabled, ch, &ctx) != 0, 1))   \
				continue;                                                     \
			payload_set(payload, (P) / 8, seed, i);                               \
			grb_write(&ctx, payload, sizeof(payload));                            \
			grb_commit(&cfg_disabled, &ctx);                                      \
			written++;                                                            \
		}                                                                             \
		return n - written;                                                           \
	}

/* The reference of the disabled loops: the loop alone (counter, compare,
 * branch; the asm keeps the compiler from removing it). */
static __attribute__((noinline)) uint64_t loop_empty(struct grb_channel *ch, uint64_t n,
						     uint64_t seed)
{
	uint64_t i;

	(void)ch;
	(void)seed;
	for (i = 0; i < n; i++)
		__asm__ __volatile__("" : : "r"(i));
	return 0;
}

typedef uint64_t (*loop_fn)(struct grb_channel *ch, uint64_t n, uint64_t seed);

#define FOR_EACH_PAYLOAD(X, ...) \
	X(__VA_ARGS__, 8) X(__VA_ARGS__, 16) X(__VA_ARGS__, 64) X(__VA_ARGS__, 256)
#define LOOPS_OF(prefix)                                           \
	{                                                          \
		prefix##_8, prefix##_16, prefix##_64, prefix##_256 \
	}
/* The loops' symbol names, for --list-loops (bench/insn_count.py). */
#define LOOP_NAME(fn) #fn
#define NAMES_OF(prefix)                                                               \
	{                                                                              \
		LOOP_NAME(prefix##_8), LOOP_NAME(prefix##_16), LOOP_NAME(prefix##_64), \
			LOOP_NAME(prefix##_256)                                        \
	}

/* One static const configuration and one specialised loop per case and payload. */
#define DEFINE_CASE(id, alloc, sync, mode, clock)                  \
	static const struct grb_config cfg_##id =                  \
		GRB_NATIVE_CONFIG_CLOCK(alloc, sync, mode, clock); \
	FOR_EACH_PAYLOAD(DEFINE_WRITE_LOOP, id)

#define DEFINE_CASES(clk, clock)                                                                   \
	DEFINE_CASE(global_discard_##clk, GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD,     \
		    clock)                                                                         \
	DEFINE_CASE(global_overwrite_##clk, GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_OVERWRITE, \
		    clock)                                                                         \
	DEFINE_CASE(percpu_discard_##clk, GRB_ALLOC_PER_CPU, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD,    \
		    clock)                                                                         \
	DEFINE_CASE(percpu_overwrite_##clk, GRB_ALLOC_PER_CPU, GRB_SYNC_ATOMIC,                    \
		    GRB_MODE_OVERWRITE, clock)                                                     \
	DEFINE_CASE(rseq_discard_##clk, GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ,                  \
		    GRB_MODE_DISCARD, clock)                                                       \
	DEFINE_CASE(rseq_overwrite_##clk, GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ,                \
		    GRB_MODE_OVERWRITE, clock)                                                     \
	DEFINE_CASE(perthread_discard_##clk, GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER,         \
		    GRB_MODE_DISCARD, clock)                                                       \
	DEFINE_CASE(perthread_overwrite_##clk, GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER,       \
		    GRB_MODE_OVERWRITE, clock)                                                     \
	FOR_EACH_PAYLOAD(DEFINE_FLOOR_LOOP, clk, clock)

DEFINE_CASES(mono, grb_clock_monotonic)
DEFINE_CASES(tsc, grb_clock_tsc)
#ifdef HAVE_BARE_TSC
FOR_EACH_PAYLOAD(DEFINE_FLOOR_LOOP, bare_tsc, bare_rdtsc)
#endif

/* The disabled event site: a global atomic channel, disabled before the loop. */
static const struct grb_config cfg_disabled =
	GRB_NATIVE_CONFIG(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD);
FOR_EACH_PAYLOAD(DEFINE_DISABLED_LOOPS)

enum clock_kind { CLK_MONO, CLK_TSC, CLK_NONE, CLK_NR };
static const char *const clock_names[CLK_NR] = { "mono", "tsc", "none" };

enum case_kind {
	KIND_WRITE, /* grb_reserve + grb_write + grb_commit on an enabled channel */
	KIND_FLOOR, /* the clock read and plain stores */
	KIND_FLOOR_BARE, /* the floor with a bare rdtsc: compared with the floor,
			  * never a reference itself */
	KIND_DISABLED, /* calls on a disabled channel: all refused */
	KIND_EMPTY, /* the empty loop */
	KIND_NR
};
static const char *const kind_names[KIND_NR] = { "write", "floor", "floor-bare", "disabled",
						 "empty" };

struct bench_case {
	const char *name;
	enum case_kind kind;
	enum clock_kind clk;
	const struct grb_config *cfg; /* NULL: no channel */
	loop_fn loop[NR_PAYLOADS];
	const char *loop_name[NR_PAYLOADS]; /* the function of each loop */
};

#define CASE(name, id, clk)                                                                \
	{                                                                                  \
		name, KIND_WRITE, clk, &cfg_##id, LOOPS_OF(loop_##id), NAMES_OF(loop_##id) \
	}
#define CLOCK_CASES(clk, CLK)                                                                       \
	{ "floor", KIND_FLOOR, CLK, NULL, LOOPS_OF(loop_floor_##clk), NAMES_OF(loop_floor_##clk) }, \
		CASE("global-atomic-discard", global_discard_##clk, CLK),                           \
		CASE("global-atomic-overwrite", global_overwrite_##clk, CLK),                       \
		CASE("percpu-atomic-discard", percpu_discard_##clk, CLK),                           \
		CASE("percpu-atomic-overwrite", percpu_overwrite_##clk, CLK),                       \
		CASE("percpu-rseq-discard", rseq_discard_##clk, CLK),                               \
		CASE("percpu-rseq-overwrite", rseq_overwrite_##clk, CLK),                           \
		CASE("perthread-single-discard", perthread_discard_##clk, CLK),                     \
		CASE("perthread-single-overwrite", perthread_overwrite_##clk, CLK)

static const struct bench_case cases[] = {
	CLOCK_CASES(mono, CLK_MONO),
	CLOCK_CASES(tsc, CLK_TSC),
#ifdef HAVE_BARE_TSC
	{ "floor-bare-tsc", KIND_FLOOR_BARE, CLK_TSC, NULL, LOOPS_OF(loop_floor_bare_tsc),
	  NAMES_OF(loop_floor_bare_tsc) },
#endif
	{ "empty-loop",
	  KIND_EMPTY,
	  CLK_NONE,
	  NULL,
	  { loop_empty, loop_empty, loop_empty, loop_empty },
	  { "loop_empty", "loop_empty", "loop_empty", "loop_empty" } },
	{ "disabled-write-record", KIND_DISABLED, CLK_NONE, &cfg_disabled,
	  LOOPS_OF(loop_disabled_record), NAMES_OF(loop_disabled_record) },
	{ "disabled-reserve", KIND_DISABLED, CLK_NONE, &cfg_disabled,
	  LOOPS_OF(loop_disabled_reserve), NAMES_OF(loop_disabled_reserve) },
};
#define NR_CASES (sizeof(cases) / sizeof(cases[0]))

/* ---------------------------------------------------------------------- */
/* Options                                                                 */
/* ---------------------------------------------------------------------- */

static struct {
	uint64_t events;
	uint64_t warmup;
	int warmup_set;
	int runs;
	int consumer;
	unsigned int payload; /* bytes */
	int payload_index;
	uint32_t subbuf_size;
	uint32_t subbufs;
	uint64_t poll_us;
	uint64_t timeout_s;
	const char *case_filter[NR_CASES + 1];
	int nr_case_filter;
	int disabled; /* --disabled: the disabled-site cases */
	int clock_filter; /* -1: all */
	int threads[MAX_THREADS]; /* the writer thread counts to run */
	int nr_threads;
	int pin;
	int consumer_rt;
	int verbose;
} opt = {
	.events = 2000000,
	.runs = 5,
	.consumer = 1,
	.payload = 16,
	.payload_index = 1,
	.subbuf_size = 256 * 1024,
	.subbufs = 32,
	.poll_us = 1000,
	.timeout_s = 120,
	.clock_filter = -1,
	.pin = 1,
};

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
		"usage: %s [options]\n"
		"\n"
		"Measures ns per event of grb_reserve + grb_write + grb_commit, native client,\n"
		"with a consumer thread draining every stream concurrently.\n"
		"\n"
		"  --quick           300,000 events per thread (default 2,000,000)\n"
		"  --events N        events per thread and run\n"
		"  --runs R          repetitions of every case (default 5); median and min/max\n"
		"  --payload P       payload bytes per event: 8, 16, 64 or 256 (default 16)\n"
		"  --case NAME       only this case (repeatable, or a comma-separated list);\n"
		"                    see --list; the floor case is \"floor\" (on x86-64\n"
		"                    also \"floor-bare-tsc\": the tsc floor with a bare\n"
		"                    rdtsc, for reference; ratios are never taken to it)\n"
		"  --clock C         only clock C: mono or tsc (default both)\n"
		"  --threads T       writer threads: a number or a comma-separated list, each\n"
		"                    1 to %d (default 1,2); threads are only pinned when there\n"
		"                    are at least as many CPUs\n"
		"  --disabled        instead of the write cases: an event site on a disabled\n"
		"                    channel (disabled-write-record, disabled-reserve) and the\n"
		"                    empty loop, 1 thread unless --threads says otherwise\n"
		"  --no-consumer     no concurrent consumer: the streams are drained after\n"
		"                    the writers end (discard mode then mostly measures the\n"
		"                    drop path once the ring is full)\n"
		"  --warmup N        untimed events per thread before each run (default:\n"
		"                    one ring's worth, whatever --events)\n"
		"  --subbuf-size B   sub-buffer bytes (default 262144)\n"
		"  --subbufs N       sub-buffers per stream (default 32: 8 MiB per stream,\n"
		"                    several ms of slack for a consumer kept off its CPU)\n"
		"  --poll-us U       consumer sleep when every stream is empty (default 1000:\n"
		"                    one wake-up per ms drains everything ready; the ring\n"
		"                    holds about 8 ms of events at full speed)\n"
		"  --consumer-rt     run the consumer SCHED_FIFO (priority 1, or one above the\n"
		"                    writers' when they run real-time, as under chrt -f) so\n"
		"                    that it is never kept off a CPU by the writers or other\n"
		"                    processes\n"
		"  --no-pin          do not pin threads to CPUs\n"
		"  --timeout S       give up (report a hang) after S seconds per run (default 120)\n"
		"  --verbose, -v     print every run (RUN lines, on stderr)\n"
		"  --list            list the case names and exit\n"
		"  --list-loops      list the loop function of every case, clock and payload\n"
		"                    (LOOP case=... kind=... clock=... payload=... function=...)\n"
		"                    and exit\n"
		"  --help            this text\n"
		"\n"
		"Output: a table, one ACCOUNTING line and one SUMMARY line per case, then\n"
		"\"SUMMARY bench=write done cases=N skipped=S\".  A case whose channel cannot be\n"
		"created (e.g. a sync the library does not implement yet) is reported as\n"
		"\"SKIP case=... clock=... threads=... payload=... reason=<message to the end\n"
		"of the line>\" and left out.  An rseq case whose channel fell back to\n"
		"atomics prints \"FALLBACK case=... reason=...\".  Exit status 1 if an\n"
		"accounting check failed,\n"
		"2 on a usage error, 3 on a hang or library error.\n",
		prog, MAX_THREADS);
}

static int case_known(const char *name)
{
	size_t i;

	for (i = 0; i < NR_CASES; i++)
		if (!strcmp(cases[i].name, name))
			return 1;
	return 0;
}

static void add_case_filter(char *list)
{
	char *save = NULL, *tok;

	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!case_known(tok)) {
			fprintf(stderr, "bench_write: unknown case '%s' (see --list)\n", tok);
			exit(2);
		}
		if (opt.nr_case_filter < (int)NR_CASES)
			opt.case_filter[opt.nr_case_filter++] = tok;
	}
}

static void parse_threads(char *list)
{
	char *save = NULL, *tok;

	opt.nr_threads = 0;
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		uint64_t t = parse_u64(tok, "--threads");

		if (t < 1 || t > MAX_THREADS || opt.nr_threads >= MAX_THREADS) {
			fprintf(stderr, "bench_write: --threads takes 1 to %d, at most %d values\n",
				MAX_THREADS, MAX_THREADS);
			exit(2);
		}
		opt.threads[opt.nr_threads++] = (int)t;
	}
	if (!opt.nr_threads) {
		fprintf(stderr, "bench_write: --threads needs a value\n");
		exit(2);
	}
}

static int case_selected(const struct bench_case *bc)
{
	int i;

	if (opt.clock_filter >= 0 && bc->clk != CLK_NONE && (int)bc->clk != opt.clock_filter)
		return 0;
	if (!opt.nr_case_filter) {
		if (opt.disabled)
			return bc->kind == KIND_DISABLED || bc->kind == KIND_EMPTY;
		return bc->kind == KIND_WRITE || bc->kind == KIND_FLOOR ||
		       bc->kind == KIND_FLOOR_BARE;
	}
	for (i = 0; i < opt.nr_case_filter; i++)
		if (!strcmp(opt.case_filter[i], bc->name))
			return 1;
	return 0;
}

static void parse_args(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

#define NEED_VALUE                                                             \
	do {                                                                   \
		if (!v) {                                                      \
			fprintf(stderr, "bench_write: %s needs a value\n", a); \
			exit(2);                                               \
		}                                                              \
		i++;                                                           \
	} while (0)
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout, argv[0]);
			exit(0);
		} else if (!strcmp(a, "--list")) {
			size_t k, j;

			/* Each name once: the write cases and the floor are
			 * in the table once per clock. */
			for (k = 0; k < NR_CASES; k++) {
				for (j = 0; j < k; j++)
					if (!strcmp(cases[j].name, cases[k].name))
						break;
				if (j == k)
					printf("%s\n", cases[k].name);
			}
			exit(0);
		} else if (!strcmp(a, "--list-loops")) {
			size_t k, j;

			/* The function that runs each case, clock and payload:
			 * bench/insn_count.py counts its instructions. */
			for (k = 0; k < NR_CASES; k++)
				for (j = 0; j < NR_PAYLOADS; j++)
					printf("LOOP case=%s kind=%s clock=%s payload=%u function=%s\n",
					       cases[k].name, kind_names[cases[k].kind],
					       clock_names[cases[k].clk], payload_sizes[j],
					       cases[k].loop_name[j]);
			exit(0);
		} else if (!strcmp(a, "--quick")) {
			opt.events = 300000;
		} else if (!strcmp(a, "--events")) {
			NEED_VALUE;
			opt.events = parse_u64(v, "--events");
		} else if (!strcmp(a, "--runs")) {
			NEED_VALUE;
			opt.runs = (int)parse_u64(v, "--runs");
			if (opt.runs < 1 || opt.runs > MAX_RUNS) {
				fprintf(stderr, "bench_write: --runs must be 1 to %d\n", MAX_RUNS);
				exit(2);
			}
		} else if (!strcmp(a, "--payload")) {
			size_t k;

			NEED_VALUE;
			opt.payload = (unsigned int)parse_u64(v, "--payload");
			opt.payload_index = -1;
			for (k = 0; k < NR_PAYLOADS; k++)
				if (payload_sizes[k] == opt.payload)
					opt.payload_index = (int)k;
			if (opt.payload_index < 0) {
				fprintf(stderr,
					"bench_write: --payload must be 8, 16, 64 or 256\n");
				exit(2);
			}
		} else if (!strcmp(a, "--case")) {
			NEED_VALUE;
			add_case_filter(argv[i]);
		} else if (!strcmp(a, "--disabled")) {
			opt.disabled = 1;
		} else if (!strcmp(a, "--clock")) {
			NEED_VALUE;
			if (!strcmp(v, "mono")) {
				opt.clock_filter = CLK_MONO;
			} else if (!strcmp(v, "tsc")) {
				opt.clock_filter = CLK_TSC;
			} else {
				fprintf(stderr, "bench_write: --clock must be mono or tsc\n");
				exit(2);
			}
		} else if (!strcmp(a, "--threads")) {
			NEED_VALUE;
			parse_threads(argv[i]);
		} else if (!strcmp(a, "--no-consumer")) {
			opt.consumer = 0;
		} else if (!strcmp(a, "--warmup")) {
			NEED_VALUE;
			opt.warmup = parse_u64(v, "--warmup");
			opt.warmup_set = 1;
		} else if (!strcmp(a, "--subbuf-size")) {
			NEED_VALUE;
			opt.subbuf_size = (uint32_t)parse_u64(v, "--subbuf-size");
		} else if (!strcmp(a, "--subbufs")) {
			NEED_VALUE;
			opt.subbufs = (uint32_t)parse_u64(v, "--subbufs");
		} else if (!strcmp(a, "--poll-us")) {
			NEED_VALUE;
			opt.poll_us = parse_u64(v, "--poll-us");
		} else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
			opt.verbose = 1;
		} else if (!strcmp(a, "--consumer-rt")) {
			opt.consumer_rt = 1;
		} else if (!strcmp(a, "--no-pin")) {
			opt.pin = 0;
		} else if (!strcmp(a, "--timeout")) {
			NEED_VALUE;
			opt.timeout_s = parse_u64(v, "--timeout");
		} else {
			fprintf(stderr, "bench_write: unknown option '%s'\n\n", a);
			usage(stderr, argv[0]);
			exit(2);
		}
#undef NEED_VALUE
	}
	if (!opt.nr_threads) {
		opt.threads[opt.nr_threads++] = 1;
		if (!opt.disabled)
			opt.threads[opt.nr_threads++] = 2;
	}
	if (!opt.warmup_set) {
		/* Touch every page of the ring (and the reader's spare) once,
		 * however few events are timed: a first touch is a page fault,
		 * tens of microseconds on a paravirtualised guest, so a short
		 * run that started on untouched pages would time page faults. */
		opt.warmup =
			(uint64_t)opt.subbuf_size * (opt.subbufs + 1) / (HEADER_SIZE + opt.payload);
	}
}

/* ---------------------------------------------------------------------- */
/* CPUs                                                                    */
/* ---------------------------------------------------------------------- */

static void pin_thread(pthread_t t, int cpu)
{
	static int warned;
	cpu_set_t set;
	int err;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	err = pthread_setaffinity_np(t, sizeof(set), &set);
	if (err && !warned) {
		warned = 1;
		fprintf(stderr, "bench_write: warning: pthread_setaffinity_np(%d): %s\n", cpu,
			strerror(err));
	}
}

/* SCHED_FIFO priority 1, or one above the calling thread's (the writers')
 * when the process runs real-time (under chrt, say): never below them. */
static void make_rt(pthread_t t)
{
	static int warned;
	struct sched_param sp = { .sched_priority = 1 }, self;
	int err, policy;

	if (pthread_getschedparam(pthread_self(), &policy, &self) == 0 &&
	    (policy == SCHED_FIFO || policy == SCHED_RR) &&
	    self.sched_priority < sched_get_priority_max(SCHED_FIFO))
		sp.sched_priority = self.sched_priority + 1;
	err = pthread_setschedparam(t, SCHED_FIFO, &sp);

	if (err && !warned) {
		warned = 1;
		fprintf(stderr, "bench_write: warning: SCHED_FIFO consumer: %s\n", strerror(err));
	}
}

/* ---------------------------------------------------------------------- */
/* One run of one case                                                     */
/* ---------------------------------------------------------------------- */

struct run;

struct writer {
	struct run *run;
	pthread_t tid;
	int cpu;
	uint64_t seed;
	uint64_t ns;
	uint64_t rejected;
};

struct consumer {
	struct grb_channel *ch;
	struct grb_reader **readers;
	uint32_t nr;
	int stop; /* set (release) once the channel is finalized */
	uint64_t stop_ns;
	uint64_t delivered;
	uint64_t packets;
	uint64_t eproto;
	int error; /* an unexpected return code */
	int hang;
	uint32_t hang_stream;
};

struct run {
	const struct bench_case *bc;
	loop_fn loop;
	struct grb_channel *ch;
	int threads;
	pthread_barrier_t start;
	struct writer w[MAX_THREADS];
};

struct run_result {
	double ns; /* per thread, mean over the threads */
	double mevents_s; /* aggregate */
	uint64_t written;
	uint64_t delivered;
	uint64_t rejected;
	uint64_t filtered;
	uint64_t eproto;
	uint64_t invariant_failures;
	uint64_t lost[GRB_LOST_NR];
	uint64_t lost_total;
	int accounting_ok;
	char skip_reason[256]; /* non-empty: the channel could not be created */
};

static void *writer_main(void *p)
{
	struct writer *w = p;
	struct run *r = w->run;
	uint64_t t0, t1;

	if (opt.warmup)
		w->rejected += r->loop(r->ch, opt.warmup, w->seed);
	pthread_barrier_wait(&r->start);
	t0 = now_ns();
	w->rejected += r->loop(r->ch, opt.events, w->seed + opt.warmup);
	t1 = now_ns();
	w->ns = t1 - t0;
	return NULL;
}

static void *consumer_main(void *p)
{
	struct consumer *c = p;
	int *finished = calloc(c->nr, sizeof(*finished));
	uint32_t i, left = c->nr;

	if (!finished) {
		c->error = -ENOMEM;
		return NULL;
	}
	while (left) {
		int progress = 0;

		for (i = 0; i < c->nr; i++) {
			struct grb_packet pkt;
			int ret;

			if (finished[i])
				continue;
			ret = grb_reader_get_next(c->readers[i], &pkt);
			if (ret == 0) {
				c->delivered += pkt.info.records;
				c->packets++;
				ret = grb_reader_put(c->readers[i], &pkt);
				if (ret) {
					c->error = ret;
					goto out;
				}
				progress = 1;
			} else if (ret == -ENODATA) {
				finished[i] = 1;
				left--;
				progress = 1;
			} else if (ret == -EPROTO) {
				c->eproto++;
				progress = 1;
			} else if (ret != -EAGAIN) {
				c->error = ret;
				goto out;
			}
		}
		if (progress)
			continue;
		if (__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
			/* Finalized: every stream must reach -ENODATA soon. */
			if (now_ns() - c->stop_ns > 10ull * 1000000000u) {
				for (i = 0; i < c->nr; i++)
					if (!finished[i])
						break;
				c->hang = 1;
				c->hang_stream = i;
				goto out;
			}
			sleep_ns(10 * 1000);
		} else {
			sleep_ns(opt.poll_us * 1000);
		}
	}
out:
	free(finished);
	return NULL;
}

static void fatal_hang(const struct run *r, const char *what)
{
	printf("HANG case=%s clock=%s threads=%d: %s\n", r->bc->name, clock_names[r->bc->clk],
	       r->threads, what);
	fflush(stdout);
	exit(3);
}

static void join_or_hang(struct run *r, pthread_t t, uint64_t deadline_ns, const char *what)
{
	struct timespec ts;
	int err;

	clock_gettime(CLOCK_REALTIME, &ts);
	{
		uint64_t left = deadline_ns > now_ns() ? deadline_ns - now_ns() : 0;
		uint64_t abs = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec + left;

		ts.tv_sec = (time_t)(abs / 1000000000u);
		ts.tv_nsec = (long)(abs % 1000000000u);
	}
	err = pthread_timedjoin_np(t, NULL, &ts);
	if (err == ETIMEDOUT)
		fatal_hang(r, what);
	if (err) {
		fprintf(stderr, "bench_write: pthread_join: %s\n", strerror(err));
		exit(3);
	}
}

static void run_once(const struct bench_case *bc, int threads, struct run_result *res)
{
	struct run r;
	struct consumer c;
	struct grb_channel_attr attr;
	struct grb_channel_stats st;
	pthread_t ctid;
	uint64_t deadline, max_ns = 0, sum_ns = 0;
	uint32_t i;
	int t, err, pin = opt.pin && nr_cpus >= threads;

	memset(&r, 0, sizeof(r));
	memset(&c, 0, sizeof(c));
	memset(res, 0, sizeof(*res));
	r.bc = bc;
	r.loop = bc->loop[opt.payload_index];
	r.threads = threads;
	if (bc->cfg) {
		grb_channel_attr_init(&attr);
		attr.subbuf_size = opt.subbuf_size;
		attr.subbuf_count = opt.subbufs;
		attr.nr_streams = (uint32_t)threads;
		attr.name = bc->name;
		r.ch = grb_channel_create(bc->cfg, &attr);
		if (!r.ch) {
			/* Not fatal: the library may not implement this
			 * configuration yet.  The caller reports a SKIP. */
			snprintf(res->skip_reason, sizeof(res->skip_reason),
				 "grb_channel_create: %s: %s", strerror(errno), grb_last_error());
			res->skip_reason[strcspn(res->skip_reason, "\n")] = 0;
			return;
		}
		if (bc->cfg->sync == GRB_SYNC_PER_CPU_RSEQ) {
			const char *why;

			/* Say so when restartable sequences cannot run here
			 * (valgrind, old kernels): the figures are then those
			 * of the atomic fallback. */
			if (grb_channel_sync(r.ch, &why) != GRB_SYNC_PER_CPU_RSEQ)
				printf("FALLBACK case=%s reason=%s\n", bc->name, why ? why : "?");
		}
		if (bc->kind == KIND_DISABLED)
			grb_channel_disable(r.ch);
		c.ch = r.ch;
		c.nr = grb_channel_nr_streams(r.ch);
		c.readers = calloc(c.nr, sizeof(*c.readers));
		if (!c.readers) {
			perror("calloc");
			exit(3);
		}
		for (i = 0; i < c.nr; i++) {
			c.readers[i] = grb_reader_create(r.ch, i, 0);
			if (!c.readers[i]) {
				fprintf(stderr, "bench_write: grb_reader_create(%u): %s\n", i,
					strerror(errno));
				exit(3);
			}
		}
		if (opt.consumer) {
			err = pthread_create(&ctid, NULL, consumer_main, &c);
			if (err) {
				fprintf(stderr, "bench_write: pthread_create: %s\n", strerror(err));
				exit(3);
			}
			/* A CPU of its own when one is left over. */
			if (pin && nr_cpus > threads)
				pin_thread(ctid, cpus[nr_cpus - 1]);
			if (opt.consumer_rt)
				make_rt(ctid);
		}
	}

	pthread_barrier_init(&r.start, NULL, (unsigned int)threads);
	for (t = 0; t < threads; t++) {
		struct writer *w = &r.w[t];
		pthread_attr_t pa;
		cpu_set_t set;

		w->run = &r;
		w->seed = (uint64_t)t << 48;
		w->cpu = pin ? cpus[t] : -1;
		pthread_attr_init(&pa);
		if (pin) {
			CPU_ZERO(&set);
			CPU_SET(w->cpu, &set);
			pthread_attr_setaffinity_np(&pa, sizeof(set), &set);
		}
		err = pthread_create(&w->tid, &pa, writer_main, w);
		pthread_attr_destroy(&pa);
		if (err) {
			fprintf(stderr, "bench_write: pthread_create: %s\n", strerror(err));
			exit(3);
		}
	}
	deadline = now_ns() + opt.timeout_s * 1000000000u;
	for (t = 0; t < threads; t++)
		join_or_hang(&r, r.w[t].tid, deadline, "a writer thread did not finish");
	pthread_barrier_destroy(&r.start);

	for (t = 0; t < threads; t++) {
		sum_ns += r.w[t].ns;
		if (r.w[t].ns > max_ns)
			max_ns = r.w[t].ns;
		res->rejected += r.w[t].rejected;
	}
	res->ns = opt.events ? (double)sum_ns / threads / (double)opt.events : 0;
	res->mevents_s = max_ns ? (double)opt.events * threads * 1e3 / (double)max_ns : 0;
	res->written = (opt.events + opt.warmup) * (uint64_t)threads;
	res->accounting_ok = 1;
	if (!bc->cfg)
		return;

	grb_channel_finalize(r.ch);
	c.stop_ns = now_ns();
	__atomic_store_n(&c.stop, 1, __ATOMIC_RELEASE);
	if (!opt.consumer) {
		err = pthread_create(&ctid, NULL, consumer_main, &c);
		if (err) {
			fprintf(stderr, "bench_write: pthread_create: %s\n", strerror(err));
			exit(3);
		}
	}
	join_or_hang(&r, ctid, now_ns() + opt.timeout_s * 1000000000u,
		     "the consumer did not finish");
	if (c.hang) {
		char what[128];

		snprintf(what, sizeof(what),
			 "stream %u never returned -ENODATA within 10 s of grb_channel_finalize",
			 c.hang_stream);
		fatal_hang(&r, what);
	}
	if (c.error) {
		printf("ERROR case=%s clock=%s threads=%d: reader returned %d (%s)\n", bc->name,
		       clock_names[bc->clk], threads, c.error, strerror(-c.error));
		exit(3);
	}
	grb_channel_read_stats(r.ch, &st);
	for (i = 0; i < GRB_LOST_NR; i++)
		res->lost[i] = st.lost[i];
	res->lost_total = st.lost_total;
	res->filtered = st.filtered_cpu;
	res->invariant_failures = st.invariant_failures;
	res->delivered = c.delivered;
	res->eproto = c.eproto;
	if (bc->kind == KIND_DISABLED) {
		/* Every call refused (-EAGAIN), nothing recorded, nothing lost. */
		res->accounting_ok = res->rejected == res->written && !res->delivered &&
				     !res->lost_total && !res->filtered && !res->eproto &&
				     !res->invariant_failures;
	} else {
		/*
		 * Every event written is delivered, counted lost or (per-CPU)
		 * filtered; every failed reservation is a loss that is not an
		 * overwrite.
		 */
		res->accounting_ok =
			res->delivered + res->lost_total + res->filtered == res->written &&
			res->rejected ==
				res->lost_total - res->lost[GRB_LOST_OVERWRITTEN] + res->filtered &&
			!res->eproto && !res->invariant_failures;
	}
	for (i = 0; i < c.nr; i++)
		grb_reader_destroy(c.readers[i]);
	free(c.readers);
	grb_channel_destroy(r.ch);
}

/* ---------------------------------------------------------------------- */
/* Statistics and report                                                   */
/* ---------------------------------------------------------------------- */

struct case_result {
	const struct bench_case *bc;
	int threads;
	int nr;
	int skipped;
	char skip_reason[256];
	double ns[MAX_RUNS];
	double mevents_s[MAX_RUNS];
	uint64_t written, delivered, rejected, filtered, eproto, invariant_failures;
	uint64_t lost[GRB_LOST_NR];
	uint64_t lost_total;
	int accounting_ok;
};

static double vmin(const double *v, int n)
{
	double m = v[0];
	int i;

	for (i = 1; i < n; i++)
		if (v[i] < m)
			m = v[i];
	return m;
}

static double vmax(const double *v, int n)
{
	double m = v[0];
	int i;

	for (i = 1; i < n; i++)
		if (v[i] > m)
			m = v[i];
	return m;
}

static const char *acct_str(const struct case_result *cr)
{
	if (cr->skipped)
		return "skip";
	if (!cr->bc->cfg)
		return "n/a";
	return cr->accounting_ok ? "ok" : "FAIL";
}

static void lost_detail(const struct case_result *cr, char *buf, size_t size)
{
	size_t off = 0;
	int i, any = 0;

	buf[0] = 0;
	for (i = 0; i < GRB_LOST_NR; i++) {
		if (!cr->lost[i])
			continue;
		off += (size_t)snprintf(buf + off, size - off, "%s%s:%llu", any ? "," : "",
					grb_lost_cause_name((enum grb_lost_cause)i),
					(unsigned long long)cr->lost[i]);
		any = 1;
		if (off >= size)
			break;
	}
	if (!any)
		snprintf(buf, size, "none");
}

/* The machine is shared: say how busy it was. */
static void print_loadavg(const char *when)
{
	char buf[128] = "";
	FILE *f = fopen("/proc/loadavg", "r");

	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = 0;
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = 0;
	printf("bench_write: load average %s: %s\n", when, buf[0] ? buf : "unknown");
}

/* Ticks of the tsc clock per ns (1 where grb_clock_tsc() is CLOCK_MONOTONIC). */
static double tsc_ghz(void)
{
	uint64_t t0 = now_ns(), c0 = grb_clock_tsc(), t1, c1;

	sleep_ns(50 * 1000 * 1000);
	t1 = now_ns();
	c1 = grb_clock_tsc();
	return (double)(c1 - c0) / (double)(t1 - t0);
}

/* The median ns/event of the reference of a case: the floor of the same clock
 * and thread count (for a write case and for floor-bare-tsc), or the empty
 * loop for a disabled site; 0 if not run.  floor-bare-tsc is never one. */
static double reference_ns(const struct case_result *res, int nres, const struct case_result *cr)
{
	enum case_kind want;
	int i;

	if (cr->bc->kind == KIND_WRITE || cr->bc->kind == KIND_FLOOR_BARE)
		want = KIND_FLOOR;
	else if (cr->bc->kind == KIND_DISABLED)
		want = KIND_EMPTY;
	else
		return 0;
	for (i = 0; i < nres; i++)
		if (res[i].bc->kind == want && res[i].threads == cr->threads && res[i].nr &&
		    (want == KIND_EMPTY || res[i].bc->clk == cr->bc->clk))
			return median(res[i].ns, res[i].nr);
	return 0;
}

int main(int argc, char **argv)
{
	struct case_result *res;
	struct run_result rr;
	int nres = 0, nskipped = 0, i, t, run, failed = 0;
	size_t k;

	setvbuf(stdout, NULL, _IOLBF, 0);
	parse_args(argc, argv);
	init_cpus();
	res = calloc(NR_CASES * MAX_THREADS, sizeof(*res));
	if (!res) {
		perror("calloc");
		return 3;
	}
	for (k = 0; k < NR_CASES; k++) {
		if (!case_selected(&cases[k]))
			continue;
		for (t = 0; t < opt.nr_threads; t++) {
			res[nres].bc = &cases[k];
			res[nres].threads = opt.threads[t];
			res[nres].accounting_ok = 1;
			nres++;
		}
	}
	if (!nres) {
		fprintf(stderr, "bench_write: no case selected\n");
		return 2;
	}

	printf("bench_write: grb %s, payload %u bytes, %llu events/thread/run (+%llu warm-up), "
	       "%d runs, %s consumer%s, %u x %u B sub-buffers, %d CPUs%s\n",
	       grb_version(), opt.payload, (unsigned long long)opt.events,
	       (unsigned long long)opt.warmup, opt.runs,
	       opt.consumer ? "concurrent" : "no (drain after)",
	       opt.consumer && opt.consumer_rt ? " (SCHED_FIFO)" : "", opt.subbufs, opt.subbuf_size,
	       nr_cpus, opt.pin ? ", writers pinned when threads <= CPUs" : "");
#ifdef HAVE_BARE_TSC
	printf("bench_write: tsc clock = grb_clock_tsc(), lfence; rdtsc (TSC ticks, %.3f "
	       "ticks/ns); floor-bare-tsc: a bare rdtsc, for reference only\n",
	       tsc_ghz());
#else
	printf("bench_write: tsc clock = grb_clock_tsc() (%.3f ticks/ns)\n", tsc_ghz());
#endif
	print_loadavg("at start");

	/* Runs are the outer loop so that slow phases of a noisy machine are
	 * spread over every case instead of hitting one. */
	for (run = 0; run < opt.runs; run++) {
		for (i = 0; i < nres; i++) {
			struct case_result *cr = &res[i];
			int c;

			if (cr->skipped)
				continue;
			run_once(cr->bc, cr->threads, &rr);
			if (rr.skip_reason[0]) {
				cr->skipped = 1;
				nskipped++;
				snprintf(cr->skip_reason, sizeof(cr->skip_reason), "%s",
					 rr.skip_reason);
				fprintf(stderr, "bench_write: skipping %s/%s/%d: %s\n",
					cr->bc->name, clock_names[cr->bc->clk], cr->threads,
					cr->skip_reason);
				continue;
			}
			cr->ns[cr->nr] = rr.ns;
			cr->mevents_s[cr->nr] = rr.mevents_s;
			cr->nr++;
			cr->written += rr.written;
			cr->delivered += rr.delivered;
			cr->rejected += rr.rejected;
			cr->filtered += rr.filtered;
			cr->eproto += rr.eproto;
			cr->invariant_failures += rr.invariant_failures;
			for (c = 0; c < GRB_LOST_NR; c++)
				cr->lost[c] += rr.lost[c];
			cr->lost_total += rr.lost_total;
			if (opt.verbose)
				fprintf(stderr,
					"RUN run=%d case=%s clock=%s payload=%u threads=%d ns=%.2f "
					"mevents_s=%.2f lost=%llu\n",
					run, cr->bc->name, clock_names[cr->bc->clk], opt.payload,
					cr->threads, rr.ns, rr.mevents_s,
					(unsigned long long)rr.lost_total);
			if (!rr.accounting_ok) {
				cr->accounting_ok = 0;
				fprintf(stderr,
					"bench_write: run %d %s/%s/%d: written %llu delivered %llu "
					"lost %llu filtered %llu rejected %llu eproto %llu "
					"invariant %llu\n",
					run, cr->bc->name, clock_names[cr->bc->clk], cr->threads,
					(unsigned long long)rr.written,
					(unsigned long long)rr.delivered,
					(unsigned long long)rr.lost_total,
					(unsigned long long)rr.filtered,
					(unsigned long long)rr.rejected,
					(unsigned long long)rr.eproto,
					(unsigned long long)rr.invariant_failures);
			}
		}
		fprintf(stderr, "bench_write: run %d/%d done\n", run + 1, opt.runs);
	}

	print_loadavg("at end");

	printf("\n%-27s %-5s %3s %9s %19s %9s %8s %7s %12s %9s  %s\n", "case", "clock", "thr",
	       "ns/ev", "[min - max]", "Mev/s", "ref", "xref", "lost", "lost %", "acct");
	for (i = 0; i < nres; i++) {
		struct case_result *cr = &res[i];
		double med, fl = reference_ns(res, nres, cr);
		char spread[40], flbuf[16], rbuf[16];

		if (cr->skipped) {
			printf("%-27s %-5s %3d %9s\n", cr->bc->name, clock_names[cr->bc->clk],
			       cr->threads, "SKIP");
			continue;
		}
		med = median(cr->ns, cr->nr);
		snprintf(spread, sizeof(spread), "[%.2f - %.2f]", vmin(cr->ns, cr->nr),
			 vmax(cr->ns, cr->nr));
		snprintf(flbuf, sizeof(flbuf), fl > 0 ? "%.2f" : "-", fl);
		snprintf(rbuf, sizeof(rbuf), fl > 0 ? "%.2f" : "-", med / fl);
		printf("%-27s %-5s %3d %9.2f %19s %9.1f %8s %7s %12llu %8.4f%%  %s\n", cr->bc->name,
		       clock_names[cr->bc->clk], cr->threads, med, spread,
		       median(cr->mevents_s, cr->nr), flbuf, rbuf,
		       (unsigned long long)cr->lost_total,
		       cr->written ? 100.0 * (double)cr->lost_total / (double)cr->written : 0.0,
		       acct_str(cr));
	}
	printf("\n(ns/ev: per writer thread, median of %d runs; Mev/s: all writers together; "
	       "ref: the floor of the same clock and thread count, or the empty loop for a\n"
	       "disabled site; xref: ns/ev over ref)\n\n",
	       opt.runs);

	for (i = 0; i < nres; i++) {
		struct case_result *cr = &res[i];

		if (!cr->bc->cfg || cr->skipped)
			continue;
		printf("ACCOUNTING case=%s clock=%s payload=%u threads=%d written=%llu "
		       "delivered=%llu lost=%llu filtered=%llu rejected=%llu eproto=%llu "
		       "invariant_failures=%llu %s\n",
		       cr->bc->name, clock_names[cr->bc->clk], opt.payload, cr->threads,
		       (unsigned long long)cr->written, (unsigned long long)cr->delivered,
		       (unsigned long long)cr->lost_total, (unsigned long long)cr->filtered,
		       (unsigned long long)cr->rejected, (unsigned long long)cr->eproto,
		       (unsigned long long)cr->invariant_failures, acct_str(cr));
		if (!cr->accounting_ok)
			failed = 1;
	}
	printf("\n");
	for (i = 0; i < nres; i++) {
		struct case_result *cr = &res[i];
		double med, fl = reference_ns(res, nres, cr);
		char detail[256];

		if (cr->skipped) {
			printf("SKIP case=%s clock=%s threads=%d payload=%u reason=%s\n",
			       cr->bc->name, clock_names[cr->bc->clk], cr->threads, opt.payload,
			       cr->skip_reason);
			continue;
		}
		med = median(cr->ns, cr->nr);
		lost_detail(cr, detail, sizeof(detail));
		printf("SUMMARY bench=write case=%s clock=%s payload=%u threads=%d ns_median=%.2f "
		       "ns_min=%.2f ns_max=%.2f mevents_s=%.2f ",
		       cr->bc->name, clock_names[cr->bc->clk], opt.payload, cr->threads, med,
		       vmin(cr->ns, cr->nr), vmax(cr->ns, cr->nr), median(cr->mevents_s, cr->nr));
		if (cr->bc->kind == KIND_DISABLED && fl > 0)
			printf("empty_ns=%.3f extra_ns=%.3f ", fl, med - fl);
		else if ((cr->bc->kind == KIND_WRITE || cr->bc->kind == KIND_FLOOR_BARE) && fl > 0)
			printf("floor_ns=%.2f ratio_floor=%.2f ", fl, med / fl);
		else
			printf("floor_ns=na ratio_floor=na ");
		printf("lost=%llu lost_detail=%s written=%llu delivered=%llu rejected=%llu "
		       "accounting=%s runs=%d events=%llu consumer=%d\n",
		       (unsigned long long)cr->lost_total, detail, (unsigned long long)cr->written,
		       (unsigned long long)cr->delivered, (unsigned long long)cr->rejected,
		       acct_str(cr), cr->nr, (unsigned long long)opt.events,
		       opt.consumer && cr->bc->cfg);
	}
	printf("SUMMARY bench=write done cases=%d skipped=%d\n", nres - nskipped, nskipped);
	free(res);
	return failed ? 1 : 0;
}
