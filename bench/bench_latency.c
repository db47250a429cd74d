// SPDX-License-Identifier: MIT
/*
 * bench_latency.c - wake-up latency: the time from an event's commit to its
 * arrival at a consumer that sleeps until the channel's wake-up policy
 * fires, per policy; and a perf ring buffer with a watermark reader beside
 * it, as the kernel's peer.
 *
 * grb cases.  W writer threads (--threads, 1 and 4 by default) write events
 * at a steady rate (--load steady: one event every --period-us per writer,
 * 50 us by default) or in bursts (--load burst: --burst events back to back,
 * 64 by default, every --gap-us on average, 10 ms by default: each gap is
 * drawn uniformly from [gap / 2, 3 gap / 2), so that the bursts do not keep
 * one phase to a read timer or a live timer).  Each event is a 16-byte
 * native record: the commit time and a tag (writer, sequence number).  The
 * commit time is CLOCK_MONOTONIC read after grb_reserve(), right before the
 * payload (commit time and tag) is copied in with grb_write() and
 * grb_commit() is called (it is part of the record, so it cannot be read
 * after the commit).  One consumer thread sleeps in grb_merge_wait() on the
 * channel, reads with grb_merge_next() (records of packets still being
 * written included) and takes CLOCK_MONOTONIC as each record comes out:
 * latency = that arrival time - the commit time.  Cases: every sync
 * (per-CPU rseq, per-thread single writer, global atomic) with every policy:
 *
 *	packet-4k	GRB_WAKE_PACKET, 4 KiB sub-buffers
 *	packet-64k	GRB_WAKE_PACKET, 64 KiB sub-buffers
 *	records-1	GRB_WAKE_RECORDS, wake_every 1
 *	records-16	GRB_WAKE_RECORDS, wake_every 16
 *	bytes-1k	GRB_WAKE_BYTES, wake_every 1024 (a watermark)
 *	timer-1ms, timer-10ms, timer-100ms
 *			GRB_WAKEUP_TIMER, read_timer_us 1000, 10000, 100000
 *
 * Sub-buffers are 4 KiB x 256 per stream but for packet-64k (64 KiB x 16).
 *
 * perf cases (the kernel's peer).  Each writer thread's event is a getpid
 * system call: the syscalls:sys_enter_getpid tracepoint, one perf event per
 * writer thread (perf_event_open(pid = the thread, cpu = -1)), sample
 * period 1, PERF_SAMPLE_TID | PERF_SAMPLE_TIME with use_clockid =
 * CLOCK_MONOTONIC, a 64 KiB mmap'd ring read with data_head / data_tail as
 * perf does, the reader sleeping in poll() on every writer's descriptor:
 *
 *	perf-events-1	wakeup_events = 1 (every sample)
 *	perf-events-16	wakeup_events = 16
 *	perf-watermark-1k  watermark = 1, wakeup_watermark = 1024 bytes
 *
 * The commit time is CLOCK_MONOTONIC read right before the system call;
 * the kernel's timestamp of the sample is reported beside it (ts columns).
 * The tracepoint's id is read from tracefs (/sys/kernel/tracing, or
 * /sys/kernel/debug/tracing): without tracefs mounted, or without
 * permission, the perf cases are reported as SKIP lines.
 *
 * Method.  Each run writes a warm-up (--warmup-ms of events, not
 * measured), then --window-ms of measured events, then keeps writing at the
 * same rate until every measured event has arrived, so that a policy that
 * waits for a full packet is measured in its steady state, not cut short.
 * Writers are pinned to their own CPU when there are at least as many CPUs
 * as writers plus the consumer, else nobody is pinned.  Runs are the outer
 * loop over all cases (a slow phase of a shared machine spreads over all of
 * them); every figure is the median over --runs of each run's figure.
 *
 * Reported per case: latency p50, p99 and max (us); the same from the
 * event's own timestamp (grb: the record's timestamp, read in grb_reserve;
 * perf: the sample's kernel timestamp); the consumer's wake-ups per 1000
 * events (grb_merge_wait() returns with the channel's descriptor readable;
 * perf: poll() returns with a descriptor readable), counted until the last
 * measured event arrived; the writer's commit cost (ns from the commit time
 * to the return of grb_commit(), which makes the eventfd write when it
 * wakes; perf: of the system call); events lost.
 *
 * Checks (exit status 1): every measured event arrives, exactly once, with
 * the commit time its writer wrote; record timestamp <= commit time <=
 * arrival; delivered + lost == written; perf: the i-th sample of a writer's
 * ring has the writer's thread id and a kernel timestamp between the times
 * read before and after its i-th system call.  Timings are never judged.
 *
 * Not a test: `make bench-latency` (bench/latency.sh) runs it with LTTng
 * live beside it; `--smoke` is the few-hundred-event run of the bench-smoke
 * test.  See bench/RESULTS.md.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <grb/grb.h>
#include <grb/native.h>

#define BENCH_PROG "bench_latency"
#include "harness.h"

#define MAX_THREADS 8
#define PERF_DATA_PAGES 16 /* 64 KiB of ring per writer */
#define SEQ_BITS 48
#define CATCH_UP_NS 1000000ull /* 1 ms */
#define SEQ_MASK ((1ull << SEQ_BITS) - 1)

/* ---------------------------------------------------------------------- */
/* Configurations and the event                                            */
/* ---------------------------------------------------------------------- */

#define LAT_CONFIG(alloc, sync, wakeup) \
	GRB_NATIVE_CONFIG_WAKEUP(alloc, sync, GRB_MODE_DISCARD, grb_clock_monotonic, wakeup)

static const struct grb_config cfg_rseq_writer =
	LAT_CONFIG(GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_WAKEUP_WRITER);
static const struct grb_config cfg_rseq_timer =
	LAT_CONFIG(GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_WAKEUP_TIMER);
static const struct grb_config cfg_thread_writer =
	LAT_CONFIG(GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_WAKEUP_WRITER);
static const struct grb_config cfg_thread_timer =
	LAT_CONFIG(GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_WAKEUP_TIMER);
static const struct grb_config cfg_global_writer =
	LAT_CONFIG(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_WAKEUP_WRITER);
static const struct grb_config cfg_global_timer =
	LAT_CONFIG(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_WAKEUP_TIMER);

/* The event's payload: the commit time, then the tag (writer << 48 | seq). */
struct lat_payload {
	uint64_t commit_ns;
	uint64_t tag;
};

/*
 * Writes one event; sets *commit_ns (the clock read right before the
 * commit) and *end_ns (read when the commit returned).  Return: 0, or -1
 * when the reservation failed (the event is lost and counted by the
 * library).  One specialised copy per configuration.
 */
typedef int (*emit_fn)(struct grb_channel *ch, uint64_t tag, uint64_t *commit_ns, uint64_t *end_ns);

#define DEFINE_EMIT(id)                                                                       \
	static __attribute__((noinline)) int emit_##id(struct grb_channel *ch, uint64_t tag,  \
						       uint64_t *commit_ns, uint64_t *end_ns) \
	{                                                                                     \
		struct grb_ctx ctx;                                                           \
		struct lat_payload p;                                                         \
                                                                                              \
		ctx.event_id = 0;                                                             \
		ctx.payload_len = sizeof(p);                                                  \
		if (grb_reserve(&cfg_##id, ch, &ctx) != 0)                                    \
			return -1;                                                            \
		p.tag = tag;                                                                  \
		p.commit_ns = now_ns();                                                       \
		grb_write(&ctx, &p, sizeof(p));                                               \
		grb_commit(&cfg_##id, &ctx);                                                  \
		*end_ns = now_ns();                                                           \
		*commit_ns = p.commit_ns;                                                     \
		return 0;                                                                     \
	}

DEFINE_EMIT(rseq_writer)
DEFINE_EMIT(rseq_timer)
DEFINE_EMIT(thread_writer)
DEFINE_EMIT(thread_timer)
DEFINE_EMIT(global_writer)
DEFINE_EMIT(global_timer)

/* The perf writer's event: a getpid system call (never cached by libc). */
static __attribute__((noinline)) int emit_perf(struct grb_channel *ch, uint64_t tag,
					       uint64_t *commit_ns, uint64_t *end_ns)
{
	(void)ch;
	(void)tag;
	*commit_ns = now_ns();
	syscall(SYS_getpid);
	*end_ns = now_ns();
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Cases                                                                   */
/* ---------------------------------------------------------------------- */

enum case_kind { KIND_GRB, KIND_PERF };

struct lat_case {
	char name[40];
	const char *sync; /* grb: the sync's name; perf: "perf" */
	const char *policy;
	enum case_kind kind;
	const struct grb_config *cfg;
	emit_fn emit;
	uint32_t wake_policy;
	uint32_t wake_every;
	uint64_t read_timer_us; /* 0: a writer policy */
	uint32_t subbuf_size;
	uint32_t subbuf_count;
	uint32_t perf_wakeup_events; /* perf: wakeup_events, or 0 */
	uint32_t perf_watermark; /* perf: wakeup_watermark bytes, or 0 */
};

struct policy {
	const char *name;
	int timer; /* 1: GRB_WAKEUP_TIMER */
	uint32_t wake_policy;
	uint32_t wake_every;
	uint64_t read_timer_us;
	uint32_t subbuf_size;
	uint32_t subbuf_count;
};

static const struct policy policies[] = {
	{ "packet-4k", 0, GRB_WAKE_PACKET, 0, 0, 4096, 256 },
	{ "packet-64k", 0, GRB_WAKE_PACKET, 0, 0, 65536, 16 },
	{ "records-1", 0, GRB_WAKE_RECORDS, 1, 0, 4096, 256 },
	{ "records-16", 0, GRB_WAKE_RECORDS, 16, 0, 4096, 256 },
	{ "bytes-1k", 0, GRB_WAKE_BYTES, 1024, 0, 4096, 256 },
	{ "timer-1ms", 1, GRB_WAKE_PACKET, 0, 1000, 4096, 256 },
	{ "timer-10ms", 1, GRB_WAKE_PACKET, 0, 10000, 4096, 256 },
	{ "timer-100ms", 1, GRB_WAKE_PACKET, 0, 100000, 4096, 256 },
};
#define NR_POLICIES (sizeof(policies) / sizeof(policies[0]))

struct sync_kind {
	const char *prefix;
	const char *sync;
	const struct grb_config *writer_cfg, *timer_cfg;
	emit_fn writer_emit, timer_emit;
};

static const struct sync_kind syncs[] = {
	{ "rseq", "percpu-rseq", &cfg_rseq_writer, &cfg_rseq_timer, emit_rseq_writer,
	  emit_rseq_timer },
	{ "thread", "perthread-single", &cfg_thread_writer, &cfg_thread_timer, emit_thread_writer,
	  emit_thread_timer },
	{ "global", "global-atomic", &cfg_global_writer, &cfg_global_timer, emit_global_writer,
	  emit_global_timer },
};
#define NR_SYNCS (sizeof(syncs) / sizeof(syncs[0]))

#define NR_PERF_CASES 3
#define NR_CASES (NR_SYNCS * NR_POLICIES + NR_PERF_CASES)

static struct lat_case cases[NR_CASES];

static void init_cases(void)
{
	static const struct {
		const char *name;
		uint32_t events, watermark;
	} perf[NR_PERF_CASES] = {
		{ "perf-events-1", 1, 0 },
		{ "perf-events-16", 16, 0 },
		{ "perf-watermark-1k", 0, 1024 },
	};
	size_t s, p, n = 0;

	for (s = 0; s < NR_SYNCS; s++)
		for (p = 0; p < NR_POLICIES; p++) {
			struct lat_case *c = &cases[n++];
			const struct policy *pol = &policies[p];

			snprintf(c->name, sizeof(c->name), "%s-%s", syncs[s].prefix, pol->name);
			c->sync = syncs[s].sync;
			c->policy = pol->name;
			c->kind = KIND_GRB;
			c->cfg = pol->timer ? syncs[s].timer_cfg : syncs[s].writer_cfg;
			c->emit = pol->timer ? syncs[s].timer_emit : syncs[s].writer_emit;
			c->wake_policy = pol->wake_policy;
			c->wake_every = pol->wake_every;
			c->read_timer_us = pol->read_timer_us;
			c->subbuf_size = pol->subbuf_size;
			c->subbuf_count = pol->subbuf_count;
		}
	for (p = 0; p < NR_PERF_CASES; p++) {
		struct lat_case *c = &cases[n++];

		snprintf(c->name, sizeof(c->name), "%s", perf[p].name);
		c->sync = "perf";
		c->policy = perf[p].name + 5;
		c->kind = KIND_PERF;
		c->emit = emit_perf;
		c->perf_wakeup_events = perf[p].events;
		c->perf_watermark = perf[p].watermark;
	}
}

/* ---------------------------------------------------------------------- */
/* Options                                                                 */
/* ---------------------------------------------------------------------- */

enum load_kind { LOAD_STEADY, LOAD_BURST, LOAD_NR };
static const char *const load_names[LOAD_NR] = { "steady", "burst" };

static struct {
	uint64_t period_us;
	uint64_t burst;
	uint64_t gap_us;
	uint64_t window_ms;
	uint64_t warmup_ms;
	uint64_t timeout_s;
	int runs;
	int threads[MAX_THREADS];
	int nr_threads;
	int loads[LOAD_NR];
	int nr_loads;
	const char *case_filter[NR_CASES + 1];
	int nr_case_filter;
	int pin;
	int verbose;
} opt = {
	.period_us = 50,
	.burst = 64,
	.gap_us = 10000,
	.window_ms = 1000,
	.warmup_ms = 100,
	.timeout_s = 60,
	.runs = 5,
	.threads = { 1, 4 },
	.nr_threads = 2,
	.loads = { LOAD_STEADY, LOAD_BURST },
	.nr_loads = 2,
	.pin = 1,
};

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
		"usage: %s [options]\n"
		"\n"
		"Wake-up latency: commit time to arrival at a consumer sleeping in\n"
		"grb_merge_wait(), per wake-up policy; a perf ring buffer beside it.\n"
		"\n"
		"  --case NAME[,NAME]  only these cases (see --list; repeatable)\n"
		"  --threads T[,T]     writer threads, each 1 to %d (default 1,4)\n"
		"  --load L[,L]        steady and/or burst (default both)\n"
		"  --period-us U       steady: one event per writer every U us (default 50)\n"
		"  --burst B           burst: B events back to back per writer (default 64)\n"
		"  --gap-us U          burst: one burst per writer every U us on average\n"
		"                      (each gap uniform in [U/2, 3U/2); default 10000)\n"
		"  --window-ms M       measured events per run: M ms of them (default 1000)\n"
		"  --warmup-ms M       events written first and not measured (default 100)\n"
		"  --runs R            repetitions (default 5); figures are medians over them\n"
		"  --quick             --window-ms 300 --runs 3\n"
		"  --smoke             a few hundred events: records-1, timer-1ms and\n"
		"                      packet-4k of the per-thread sync, 1 run (a check\n"
		"                      that the benchmark works, no timing judged)\n"
		"  --no-pin            never pin threads to CPUs\n"
		"  --timeout S         give up on a run after S s (default 60)\n"
		"  --verbose, -v       one RUN line per run (stderr)\n"
		"  --list              list the case names and exit\n"
		"  --help              this text\n"
		"\n"
		"Output: a table, one SUMMARY line per case, thread count and load, then\n"
		"\"SUMMARY bench=latency done cases=N skipped=S\".  A case that cannot run\n"
		"here is a \"SKIP case=... reason=...\" line.  Exit status 1 if a check\n"
		"failed (an event missing or duplicated, a payload, timestamp order or\n"
		"accounting error), 2 on a usage error, 3 on a hang or library error.\n",
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

static int case_selected(const struct lat_case *c)
{
	int i;

	if (!opt.nr_case_filter)
		return 1;
	for (i = 0; i < opt.nr_case_filter; i++)
		if (!strcmp(opt.case_filter[i], c->name))
			return 1;
	return 0;
}

/* Splits a comma-separated list in place; calls fn on each item. */
static void for_each_item(char *list, void (*fn)(const char *item))
{
	char *save = NULL, *tok;

	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		fn(tok);
}

static void add_case(const char *name)
{
	if (!case_known(name)) {
		fprintf(stderr, BENCH_PROG ": unknown case '%s' (see --list)\n", name);
		exit(2);
	}
	if (opt.nr_case_filter < (int)NR_CASES)
		opt.case_filter[opt.nr_case_filter++] = name;
}

static void add_threads(const char *s)
{
	uint64_t t = parse_u64(s, "--threads");

	if (t < 1 || t > MAX_THREADS || opt.nr_threads >= MAX_THREADS) {
		fprintf(stderr, BENCH_PROG ": --threads: 1 to %d, at most %d values\n", MAX_THREADS,
			MAX_THREADS);
		exit(2);
	}
	opt.threads[opt.nr_threads++] = (int)t;
}

static void add_load(const char *s)
{
	int l;

	for (l = 0; l < LOAD_NR; l++)
		if (!strcmp(s, load_names[l]))
			break;
	if (l == LOAD_NR || opt.nr_loads >= LOAD_NR) {
		fprintf(stderr, BENCH_PROG ": --load: steady and/or burst\n");
		exit(2);
	}
	opt.loads[opt.nr_loads++] = l;
}

static void parse_args(int argc, char **argv)
{
	int i, threads_set = 0, loads_set = 0;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout, argv[0]);
			exit(0);
		} else if (!strcmp(a, "--list")) {
			size_t k;

			for (k = 0; k < NR_CASES; k++)
				printf("%s\n", cases[k].name);
			exit(0);
		} else if (!strcmp(a, "--case") && v) {
			for_each_item(v, add_case);
			i++;
		} else if (!strcmp(a, "--threads") && v) {
			if (!threads_set)
				opt.nr_threads = 0;
			threads_set = 1;
			for_each_item(v, add_threads);
			i++;
		} else if (!strcmp(a, "--load") && v) {
			if (!loads_set)
				opt.nr_loads = 0;
			loads_set = 1;
			for_each_item(v, add_load);
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
		} else if (!strcmp(a, "--window-ms")) {
			opt.window_ms = parse_u64(v, a);
			i++;
		} else if (!strcmp(a, "--warmup-ms")) {
			opt.warmup_ms = parse_u64(v, a);
			i++;
		} else if (!strcmp(a, "--runs")) {
			opt.runs = (int)parse_u64(v, a);
			i++;
		} else if (!strcmp(a, "--timeout")) {
			opt.timeout_s = parse_u64(v, a);
			i++;
		} else if (!strcmp(a, "--quick")) {
			opt.window_ms = 300;
			opt.runs = 3;
		} else if (!strcmp(a, "--smoke")) {
			static char smoke_cases[] = "thread-records-1,thread-timer-1ms,"
						    "thread-packet-4k";

			opt.window_ms = 20;
			opt.warmup_ms = 5;
			opt.period_us = 100;
			opt.burst = 16;
			opt.gap_us = 2000;
			opt.runs = 1;
			opt.timeout_s = 30;
			if (!threads_set) {
				opt.threads[0] = 1;
				opt.threads[1] = 2;
				opt.nr_threads = 2;
			}
			if (!opt.nr_case_filter)
				for_each_item(smoke_cases, add_case);
		} else if (!strcmp(a, "--no-pin")) {
			opt.pin = 0;
		} else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
			opt.verbose = 1;
		} else {
			usage(stderr, argv[0]);
			exit(2);
		}
	}
	if (opt.runs < 1 || opt.runs > MAX_RUNS || !opt.period_us || !opt.gap_us || !opt.burst ||
	    !opt.window_ms) {
		fprintf(stderr, BENCH_PROG ": --runs 1 to %d; periods, burst and window above 0\n",
			MAX_RUNS);
		exit(2);
	}
}

/* ---------------------------------------------------------------------- */
/* A run                                                                   */
/* ---------------------------------------------------------------------- */

struct run;

struct writer {
	struct run *run;
	int idx;
	int cpu; /* -1: not pinned */
	pthread_t thread;
	pid_t tid;
	uint64_t attempted, rejected; /* every event, measured or not */
	/* Per measured event: the commit time, and when the commit (perf:
	 * the system call) returned. */
	uint64_t *commit_ns;
	uint64_t *end_ns;
};

struct perf_ring {
	int fd;
	struct perf_event_mmap_page *pg;
	const unsigned char *data;
	uint64_t size; /* data bytes, a power of two */
	uint64_t samples; /* samples read so far */
	uint64_t lost; /* PERF_RECORD_LOST counts */
	uint64_t bad_tid;
};

struct run {
	const struct lat_case *lc;
	int threads;
	enum load_kind load;
	uint64_t warm, measured; /* events per writer: skipped, then measured */
	uint64_t interval_ns; /* between two wake-ups of a writer */
	uint64_t per_wake; /* events a writer writes per wake-up */
	uint64_t t0;
	uint64_t deadline; /* the consumer stops waiting for measured events */
	struct grb_channel *ch;
	struct perf_ring rings[MAX_THREADS];
	pthread_barrier_t ready, go;
	/* [LB1] consumer -> writers: stop writing (release / acquire). */
	int stop;
	/* [LB2] main -> perf consumer: the writers are joined. */
	int writers_done;
	struct writer w[MAX_THREADS];
	/* The consumer's, per writer and measured event. */
	uint64_t *arrival[MAX_THREADS]; /* 0: not arrived */
	uint64_t *seen_commit[MAX_THREADS]; /* grb: commit time read from the payload */
	uint64_t *event_ts[MAX_THREADS]; /* record timestamp / perf sample time */
	uint64_t got; /* measured events arrived */
	uint64_t read_before_stop, wakes, waits, timeouts;
	uint64_t read_total, duplicates, order_errors, foreign;
	uint64_t cons_cpu0, cons_wall0; /* the consumer's CPU and wall clocks at start */
	double cons_cpu_pct; /* its CPU time / wall time, until it stopped the writers */
	int error; /* a library error: fatal */
};

struct run_result {
	int skipped;
	char skip_reason[256];
	/* missing: measured events that never arrived; missing_written:
	 * those of them whose writer did write them (grb: reserved and
	 * committed; perf: the system call was made). */
	uint64_t n, missing, missing_written, errors, lost, written, delivered;
	double p50, p99, max; /* us, from the commit time */
	double ts_p50, ts_p99, ts_max; /* us, from the event's own timestamp */
	double wakes_per_1000;
	double commit_p50, commit_p99; /* ns */
	double rate; /* measured events per second, all writers */
	double cons_cpu_pct; /* the consumer thread's CPU time, % of the run */
	double timeouts;
	int accounting_ok;
	int fallback;
};

static void sleep_until(uint64_t t)
{
	struct timespec ts = { (time_t)(t / 1000000000u), (long)(t % 1000000000u) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* Marsaglia's xorshift64: the burst schedule's jitter. */
static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s ? *s : 1;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static void *writer_main(void *arg)
{
	struct writer *w = (struct writer *)arg;
	struct run *r = w->run;
	const struct lat_case *lc = r->lc;
	uint64_t seq = 0, next, k, tag_base = (uint64_t)w->idx << SEQ_BITS;
	uint64_t rnd = now_ns() ^ (0x9e3779b97f4a7c15ull * (uint64_t)(w->idx + 1));

	/* Wake at the deadline, not up to 50 us later (the default slack). */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	w->tid = (pid_t)syscall(SYS_gettid);
	pthread_barrier_wait(&r->ready); /* main opens the perf events */
	pthread_barrier_wait(&r->go);
	/* Writers are spread evenly over the interval. */
	next = r->t0 + r->interval_ns * (uint64_t)w->idx / (uint64_t)r->threads;
	for (;;) {
		uint64_t now;

		/* [LB1] acquire: pairs with the consumer's release store. */
		if (__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE))
			break;
		sleep_until(next);
		for (k = 0; k < r->per_wake; k++, seq++) {
			uint64_t c, e;

			w->attempted++;
			if (lc->emit(r->ch, tag_base | seq, &c, &e)) {
				w->rejected++;
				continue;
			}
			if (seq >= r->warm && seq - r->warm < r->measured) {
				w->commit_ns[seq - r->warm] = c;
				w->end_ns[seq - r->warm] = e;
			}
		}
		if (r->load == LOAD_BURST)
			/* Uniform in [gap / 2, 3 gap / 2): bursts at a fixed
			 * period would keep one phase to a periodic reader
			 * (a read timer) for the whole run. */
			next += r->interval_ns / 2 + xorshift(&rnd) % r->interval_ns;
		else
			next += r->interval_ns;
		/* Behind by a few events (a late wake-up): catch up, so
		 * that the rate is the one asked for.  Behind by more (the
		 * thread was descheduled): start again from now. */
		now = now_ns();
		if (next + CATCH_UP_NS < now)
			next = now;
	}
	return NULL;
}

/* Records an arrival; the consumer's only bookkeeping per event. */
static void arrived(struct run *r, uint64_t tag, uint64_t commit, uint64_t ts, uint64_t arr)
{
	uint64_t w = tag >> SEQ_BITS, seq = tag & SEQ_MASK, i;

	r->read_total++;
	if (w >= (uint64_t)r->threads) {
		r->foreign++;
		return;
	}
	if (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED))
		r->read_before_stop++;
	if (seq < r->warm || seq - r->warm >= r->measured)
		return;
	i = seq - r->warm;
	if (r->arrival[w][i]) {
		r->duplicates++;
		return;
	}
	r->arrival[w][i] = arr;
	r->seen_commit[w][i] = commit;
	r->event_ts[w][i] = ts;
	r->got++;
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The consumer decides when to stop the writers: every measured event
 * arrived, or the deadline passed.  Its CPU time until then is counted. */
static void maybe_stop(struct run *r)
{
	uint64_t now;

	if (__atomic_load_n(&r->stop, __ATOMIC_RELAXED))
		return;
	now = now_ns();
	if (r->got == r->measured * (uint64_t)r->threads || now > r->deadline) {
		if (now > r->cons_wall0)
			r->cons_cpu_pct = (double)(thread_cpu_ns() - r->cons_cpu0) * 100.0 /
					  (double)(now - r->cons_wall0);
		/* [LB1] release: the writers stop after this. */
		__atomic_store_n(&r->stop, 1, __ATOMIC_RELEASE);
	}
}

static void consumer_start(struct run *r)
{
	r->cons_cpu0 = thread_cpu_ns();
	r->cons_wall0 = now_ns();
}

static int fd_readable(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static void *grb_consumer_main(void *arg)
{
	struct run *r = (struct run *)arg;
	struct grb_merge *m = grb_merge_create(r->ch, 0);
	struct grb_record rec;
	int fd = grb_channel_fd(r->ch), ret, woken = 0;

	consumer_start(r);
	if (!m || fd < 0) {
		r->error = m ? fd : -errno;
		if (m)
			grb_merge_destroy(m);
		return NULL;
	}
	for (;;) {
		while ((ret = grb_merge_next(m, &rec)) == 0) {
			uint64_t arr = now_ns();
			struct lat_payload p;

			if (rec.discarded || rec.payload_len < sizeof(p))
				continue;
			memcpy(&p, rec.payload, sizeof(p));
			if (rec.ts > p.commit_ns || p.commit_ns > arr)
				r->order_errors++;
			arrived(r, p.tag, p.commit_ns, rec.ts, arr);
		}
		if (ret == -ENODATA)
			break;
		if (ret != -EAGAIN && ret != -EPROTO) {
			r->error = ret;
			break;
		}
		/* A wake-up: the wait returned and left the descriptor
		 * readable (it is cleared only by the next arm).  Looked at
		 * after the records were read, not to delay them. */
		if (woken && !__atomic_load_n(&r->stop, __ATOMIC_RELAXED) && fd_readable(fd))
			r->wakes++;
		maybe_stop(r);
		ret = grb_merge_wait(m, 1000ull * 1000 * 1000);
		woken = ret == 0;
		if (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
			r->waits++;
			if (ret == -ETIMEDOUT)
				r->timeouts++;
		}
		if (ret && ret != -ETIMEDOUT) {
			r->error = ret;
			break;
		}
	}
	grb_merge_destroy(m);
	return NULL;
}

/* Copies len bytes at ring offset off (wrapping). */
static void ring_copy(const struct perf_ring *pr, uint64_t off, void *dst, size_t len)
{
	uint64_t o = off & (pr->size - 1);
	size_t first = len;

	if (o + len > pr->size)
		first = (size_t)(pr->size - o);
	memcpy(dst, pr->data + o, first);
	memcpy((char *)dst + first, pr->data, len - first);
}

static void perf_drain(struct run *r, int w)
{
	struct perf_ring *pr = &r->rings[w];
	/* [LB3] acquire: pairs with the kernel's publication of data_head
	 * (its smp_wmb before the store): the records below it are written. */
	uint64_t head = __atomic_load_n(&pr->pg->data_head, __ATOMIC_ACQUIRE);
	uint64_t tail = pr->pg->data_tail; /* only this thread writes it */

	while (tail < head) {
		struct perf_event_header h;

		ring_copy(pr, tail, &h, sizeof(h));
		if (h.size < sizeof(h))
			break;
		if (h.type == PERF_RECORD_SAMPLE) {
			struct {
				uint32_t pid, tid;
				uint64_t time;
			} s;
			uint64_t arr = now_ns(), seq = pr->samples++;

			ring_copy(pr, tail + sizeof(h), &s, sizeof(s));
			if (s.tid != (uint32_t)r->w[w].tid)
				pr->bad_tid++;
			arrived(r, ((uint64_t)w << SEQ_BITS) | seq, 0, s.time, arr);
		} else if (h.type == PERF_RECORD_LOST) {
			uint64_t lost[2]; /* id, lost */

			ring_copy(pr, tail + sizeof(h), lost, sizeof(lost));
			pr->lost += lost[1];
		}
		tail += h.size;
	}
	/* [LB3] release: our reads of the records happen before the kernel
	 * may overwrite them (it reads data_tail before writing). */
	__atomic_store_n(&pr->pg->data_tail, tail, __ATOMIC_RELEASE);
}

static void *perf_consumer_main(void *arg)
{
	struct run *r = (struct run *)arg;
	struct pollfd pfd[MAX_THREADS];
	int t, n;

	consumer_start(r);
	for (t = 0; t < r->threads; t++)
		pfd[t] = (struct pollfd){ r->rings[t].fd, POLLIN, 0 };
	for (;;) {
		int stopped, done;

		for (t = 0; t < r->threads; t++)
			perf_drain(r, t);
		maybe_stop(r);
		stopped = __atomic_load_n(&r->stop, __ATOMIC_RELAXED);
		/* [LB2] acquire: pairs with main's release after the joins;
		 * every sample is in the rings, one more drain reads them. */
		done = __atomic_load_n(&r->writers_done, __ATOMIC_ACQUIRE);
		if (done) {
			for (t = 0; t < r->threads; t++)
				perf_drain(r, t);
			break;
		}
		n = poll(pfd, (nfds_t)r->threads, stopped ? 10 : 1000);
		if (!stopped) {
			r->waits++;
			if (n == 0)
				r->timeouts++;
			for (t = 0; n > 0 && t < r->threads; t++)
				if (pfd[t].revents & POLLIN) {
					r->wakes++;
					break;
				}
		}
	}
	return NULL;
}

/* The id of the syscalls:sys_enter_getpid tracepoint, or -1 (reason set). */
static long getpid_tracepoint_id(char *why, size_t len)
{
	static const char *const paths[] = {
		"/sys/kernel/tracing/events/syscalls/sys_enter_getpid/id",
		"/sys/kernel/debug/tracing/events/syscalls/sys_enter_getpid/id",
	};
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		FILE *f = fopen(paths[i], "r");
		long id;

		if (!f)
			continue;
		if (fscanf(f, "%ld", &id) == 1) {
			fclose(f);
			return id;
		}
		fclose(f);
	}
	snprintf(why, len,
		 "no syscalls/sys_enter_getpid tracepoint id in tracefs (%s: %s; as root: "
		 "mount -t tracefs nodev /sys/kernel/tracing)",
		 paths[0], strerror(errno));
	return -1;
}

static int perf_open(struct run *r, int w, long id, char *why, size_t len)
{
	struct perf_ring *pr = &r->rings[w];
	struct perf_event_attr a;
	long page = sysconf(_SC_PAGESIZE);
	void *base;
	int fd;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.type = PERF_TYPE_TRACEPOINT;
	a.config = (uint64_t)id;
	a.sample_period = 1;
	a.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME;
	a.use_clockid = 1;
	a.clockid = CLOCK_MONOTONIC;
	if (r->lc->perf_watermark) {
		a.watermark = 1;
		a.wakeup_watermark = r->lc->perf_watermark;
	} else {
		a.wakeup_events = r->lc->perf_wakeup_events;
	}
	fd = (int)syscall(SYS_perf_event_open, &a, r->w[w].tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0) {
		snprintf(why, len, "perf_event_open(syscalls:sys_enter_getpid, thread): %s",
			 strerror(errno));
		return -1;
	}
	base = mmap(NULL, (size_t)page * (1 + PERF_DATA_PAGES), PROT_READ | PROT_WRITE, MAP_SHARED,
		    fd, 0);
	if (base == MAP_FAILED) {
		snprintf(why, len, "mmap of the perf ring: %s", strerror(errno));
		close(fd);
		return -1;
	}
	pr->fd = fd;
	pr->pg = (struct perf_event_mmap_page *)base;
	pr->data = (const unsigned char *)base + page;
	pr->size = (uint64_t)page * PERF_DATA_PAGES;
	return 0;
}

static void perf_close(struct run *r)
{
	long page = sysconf(_SC_PAGESIZE);
	int t;

	for (t = 0; t < r->threads; t++)
		if (r->rings[t].pg) {
			munmap(r->rings[t].pg, (size_t)page * (1 + PERF_DATA_PAGES));
			close(r->rings[t].fd);
			r->rings[t].pg = NULL;
		}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank quantile of sorted v[n], in us. */
static double quantile_us(const uint64_t *v, uint64_t n, double q)
{
	uint64_t k;

	if (!n)
		return 0;
	k = (uint64_t)(q * (double)n + 0.999999);
	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return (double)v[k - 1] / 1e3;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p) {
		perror(BENCH_PROG ": calloc");
		exit(3);
	}
	return p;
}

static void join_or_hang(struct run *r, pthread_t t, const char *what)
{
	struct timespec ts;
	int err;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)opt.timeout_s;
	err = pthread_timedjoin_np(t, NULL, &ts);
	if (err == ETIMEDOUT) {
		printf("HANG case=%s threads=%d load=%s: %s\n", r->lc->name, r->threads,
		       load_names[r->load], what);
		fflush(stdout);
		exit(3);
	}
	if (err) {
		fprintf(stderr, BENCH_PROG ": pthread_join: %s\n", strerror(err));
		exit(3);
	}
}

static void pin_to(pthread_t t, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(t, sizeof(set), &set);
}

/* Fills res from the arrays of a finished run. */
static void run_figures(struct run *r, struct run_result *res)
{
	uint64_t total = r->measured * (uint64_t)r->threads, n = 0, i;
	uint64_t *lat = xcalloc(total, sizeof(*lat));
	uint64_t *tsl = xcalloc(total, sizeof(*tsl));
	uint64_t *cost = xcalloc(total, sizeof(*cost));
	uint64_t nc = 0, errors = 0;
	int t;

	for (t = 0; t < r->threads; t++) {
		struct writer *w = &r->w[t];
		uint64_t first = 0, last = 0, nw = 0;

		for (i = 0; i < r->measured; i++)
			if (w->commit_ns[i]) {
				if (!first)
					first = w->commit_ns[i];
				last = w->commit_ns[i];
				nw++;
			}
		/* The rate the writer achieved over its measured events. */
		if (nw > 1 && last > first)
			res->rate += (double)(nw - 1) * 1e9 / (double)(last - first);
		for (i = 0; i < r->measured; i++) {
			uint64_t arr = r->arrival[t][i], c = w->commit_ns[i], e = w->end_ns[i];

			if (c) /* written (not lost at its reservation) */
				cost[nc++] = e - c;
			if (!arr) {
				res->missing_written += c != 0;
				continue;
			}
			if (r->lc->kind == KIND_GRB) {
				/* The payload read is what the writer wrote. */
				if (r->seen_commit[t][i] != c)
					errors++;
			} else if (r->event_ts[t][i] < c || r->event_ts[t][i] > e) {
				/* The i-th sample is not the i-th system call. */
				errors++;
			}
			if (arr < c || arr < r->event_ts[t][i]) {
				errors++;
				continue;
			}
			lat[n] = arr - c;
			tsl[n] = arr - r->event_ts[t][i];
			n++;
		}
	}
	qsort(lat, n, sizeof(*lat), cmp_u64);
	qsort(tsl, n, sizeof(*tsl), cmp_u64);
	qsort(cost, nc, sizeof(*cost), cmp_u64);
	res->n = n;
	res->missing = total - r->got;

	res->p50 = quantile_us(lat, n, 0.50);
	res->p99 = quantile_us(lat, n, 0.99);
	res->max = quantile_us(lat, n, 1.0);
	res->ts_p50 = quantile_us(tsl, n, 0.50);
	res->ts_p99 = quantile_us(tsl, n, 0.99);
	res->ts_max = quantile_us(tsl, n, 1.0);
	res->commit_p50 = quantile_us(cost, nc, 0.50) * 1e3;
	res->commit_p99 = quantile_us(cost, nc, 0.99) * 1e3;
	res->wakes_per_1000 =
		r->read_before_stop ? (double)r->wakes * 1000.0 / (double)r->read_before_stop : 0;
	res->timeouts = (double)r->timeouts;
	res->cons_cpu_pct = r->cons_cpu_pct;
	res->errors = errors + r->duplicates + r->order_errors + r->foreign;
	free(lat);
	free(tsl);
	free(cost);
}

static void run_once(const struct lat_case *lc, int threads, enum load_kind load,
		     struct run_result *res)
{
	struct run *r = xcalloc(1, sizeof(*r));
	pthread_t ctid;
	uint64_t slack;
	long tp_id = -1;
	int t, err, pin = opt.pin && nr_cpus > threads;

	memset(res, 0, sizeof(*res));
	r->lc = lc;
	r->threads = threads;
	r->load = load;
	if (load == LOAD_STEADY) {
		r->interval_ns = opt.period_us * 1000;
		r->per_wake = 1;
	} else {
		r->interval_ns = opt.gap_us * 1000;
		r->per_wake = opt.burst;
	}
	r->warm = (opt.warmup_ms * 1000000 + r->interval_ns - 1) / r->interval_ns * r->per_wake;
	r->measured = opt.window_ms * 1000000 / r->interval_ns * r->per_wake;
	if (!r->measured)
		r->measured = r->per_wake;
	for (t = 0; t < threads; t++) {
		r->w[t].commit_ns = xcalloc(r->measured, sizeof(uint64_t));
		r->w[t].end_ns = xcalloc(r->measured, sizeof(uint64_t));
		r->arrival[t] = xcalloc(r->measured, sizeof(uint64_t));
		r->seen_commit[t] = xcalloc(r->measured, sizeof(uint64_t));
		r->event_ts[t] = xcalloc(r->measured, sizeof(uint64_t));
	}

	if (lc->kind == KIND_GRB) {
		struct grb_channel_attr attr;

		grb_channel_attr_init(&attr);
		attr.subbuf_size = lc->subbuf_size;
		attr.subbuf_count = lc->subbuf_count;
		attr.nr_streams = (uint32_t)threads;
		attr.wake_policy = lc->wake_policy;
		attr.wake_every = lc->wake_every;
		if (lc->read_timer_us)
			attr.read_timer_us = lc->read_timer_us;
		attr.name = lc->name;
		r->ch = grb_channel_create(lc->cfg, &attr);
		if (!r->ch) {
			res->skipped = 1;
			snprintf(res->skip_reason, sizeof(res->skip_reason),
				 "grb_channel_create: %s: %s", strerror(errno), grb_last_error());
			goto out;
		}
		if (lc->cfg->sync == GRB_SYNC_PER_CPU_RSEQ &&
		    grb_channel_sync(r->ch, NULL) != GRB_SYNC_PER_CPU_RSEQ)
			res->fallback = 1;
	} else {
		tp_id = getpid_tracepoint_id(res->skip_reason, sizeof(res->skip_reason));
		if (tp_id < 0) {
			res->skipped = 1;
			goto out;
		}
	}

	pthread_barrier_init(&r->ready, NULL, (unsigned int)threads + 1);
	pthread_barrier_init(&r->go, NULL, (unsigned int)threads + 1);
	for (t = 0; t < threads; t++) {
		struct writer *w = &r->w[t];
		pthread_attr_t pa;
		cpu_set_t set;

		w->run = r;
		w->idx = t;
		w->cpu = pin ? cpus[t] : -1;
		pthread_attr_init(&pa);
		if (pin) {
			CPU_ZERO(&set);
			CPU_SET(w->cpu, &set);
			pthread_attr_setaffinity_np(&pa, sizeof(set), &set);
		}
		err = pthread_create(&w->thread, &pa, writer_main, w);
		pthread_attr_destroy(&pa);
		if (err) {
			fprintf(stderr, BENCH_PROG ": pthread_create: %s\n", strerror(err));
			exit(3);
		}
	}
	pthread_barrier_wait(&r->ready);
	if (lc->kind == KIND_PERF) {
		for (t = 0; t < threads; t++)
			if (perf_open(r, t, tp_id, res->skip_reason, sizeof(res->skip_reason)))
				break;
		if (t < threads) {
			/* The writers exit at once: stop is set before go. */
			res->skipped = 1;
			r->stop = 1;
		}
	}
	/* The warm-up and the window, then as long as the policy may hold
	 * the last measured events back (a packet, a timer period), with a
	 * loaded machine's margin. */
	slack = 5000000000ull + 4 * lc->read_timer_us * 1000;
	r->t0 = now_ns() + 1000000;
	r->deadline = r->t0 + (r->warm + r->measured) / r->per_wake * r->interval_ns + slack;
	if (!res->skipped) {
		err = pthread_create(&ctid, NULL,
				     lc->kind == KIND_GRB ? grb_consumer_main : perf_consumer_main,
				     r);
		if (err) {
			fprintf(stderr, BENCH_PROG ": pthread_create: %s\n", strerror(err));
			exit(3);
		}
		if (pin)
			pin_to(ctid, cpus[nr_cpus - 1]);
	}
	pthread_barrier_wait(&r->go);
	for (t = 0; t < threads; t++)
		join_or_hang(r, r->w[t].thread, "a writer did not stop");
	pthread_barrier_destroy(&r->ready);
	pthread_barrier_destroy(&r->go);
	if (res->skipped) {
		perf_close(r);
		goto out;
	}
	if (lc->kind == KIND_GRB)
		grb_channel_finalize(r->ch);
	else
		/* [LB2] release: after the joins, so after every getpid. */
		__atomic_store_n(&r->writers_done, 1, __ATOMIC_RELEASE);
	join_or_hang(r, ctid, "the consumer did not finish");
	if (r->error) {
		printf("ERROR case=%s threads=%d load=%s: the consumer got %d (%s)\n", lc->name,
		       threads, load_names[load], r->error, strerror(-r->error));
		exit(3);
	}

	run_figures(r, res);
	for (t = 0; t < threads; t++)
		res->written += r->w[t].attempted;
	if (lc->kind == KIND_GRB) {
		struct grb_channel_stats st;
		uint64_t rejected = 0;

		grb_channel_read_stats(r->ch, &st);
		for (t = 0; t < threads; t++)
			rejected += r->w[t].rejected;
		res->lost = st.lost_total;
		res->delivered = r->read_total;
		res->accounting_ok = res->delivered + st.lost_total + st.filtered_cpu ==
					     res->written &&
				     rejected == st.lost_total + st.filtered_cpu &&
				     !st.corrupt_packets && !st.invariant_failures;
	} else {
		uint64_t bad = 0;

		for (t = 0; t < threads; t++) {
			res->lost += r->rings[t].lost;
			bad += r->rings[t].bad_tid;
		}
		res->delivered = r->read_total;
		res->accounting_ok = res->delivered + res->lost == res->written && !bad;
		perf_close(r);
	}
out:
	if (r->ch)
		grb_channel_destroy(r->ch);
	for (t = 0; t < threads; t++) {
		free(r->w[t].commit_ns);
		free(r->w[t].end_ns);
		free(r->arrival[t]);
		free(r->seen_commit[t]);
		free(r->event_ts[t]);
	}
	free(r);
}

/* ---------------------------------------------------------------------- */
/* Main                                                                    */
/* ---------------------------------------------------------------------- */

struct config_row {
	const struct lat_case *lc;
	int threads;
	enum load_kind load;
	struct run_result res[MAX_RUNS];
};

static void cpu_model(char *buf, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];

	snprintf(buf, len, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (!strncmp(line, "model name", 10) && colon) {
			colon++;
			while (*colon == ' ' || *colon == '\t')
				colon++;
			colon[strcspn(colon, "\n")] = 0;
			snprintf(buf, len, "%s", colon);
			break;
		}
	}
	fclose(f);
}

/* The median over runs of the double at offset off of struct run_result. */
static double med(const struct config_row *row, size_t off)
{
	double v[MAX_RUNS];
	int i;

	for (i = 0; i < opt.runs; i++)
		v[i] = *(const double *)(const void *)((const char *)&row->res[i] + off);
	return median(v, opt.runs);
}

static double fmin_of(const struct config_row *row, size_t off, int want_max)
{
	double m = *(const double *)(const void *)((const char *)&row->res[0] + off);
	int i;

	for (i = 1; i < opt.runs; i++) {
		double x = *(const double *)(const void *)((const char *)&row->res[i] + off);

		if (want_max ? x > m : x < m)
			m = x;
	}
	return m;
}

#define MED(row, field) med(row, offsetof(struct run_result, field))

int main(int argc, char **argv)
{
	struct config_row *rows;
	char model[256];
	size_t c, nrows = 0, k;
	int ti, li, run, failed = 0, skipped = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	init_cases();
	parse_args(argc, argv);
	init_cpus();
	if (nr_cpus < 1) {
		fprintf(stderr, BENCH_PROG ": no CPU in the affinity mask\n");
		return 3;
	}
	cpu_model(model, sizeof(model));
	rows = xcalloc(NR_CASES * (size_t)opt.nr_threads * (size_t)opt.nr_loads, sizeof(*rows));
	for (ti = 0; ti < opt.nr_threads; ti++)
		for (li = 0; li < opt.nr_loads; li++)
			for (c = 0; c < NR_CASES; c++)
				if (case_selected(&cases[c])) {
					rows[nrows].lc = &cases[c];
					rows[nrows].threads = opt.threads[ti];
					rows[nrows].load = (enum load_kind)opt.loads[li];
					nrows++;
				}

	printf("bench_latency: CPU model: %s; %d CPUs; grb %s\n", model, nr_cpus, grb_version());
	printf("bench_latency: steady: 1 event / %llu us / writer; burst: %llu events / %llu us "
	       "/ writer; window %llu ms, warm-up %llu ms, %d runs\n",
	       (unsigned long long)opt.period_us, (unsigned long long)opt.burst,
	       (unsigned long long)opt.gap_us, (unsigned long long)opt.window_ms,
	       (unsigned long long)opt.warmup_ms, opt.runs);
	printf("bench_latency: latency = arrival (consumer's CLOCK_MONOTONIC as the event is "
	       "read) - commit time (CLOCK_MONOTONIC read right before grb_commit / the "
	       "system call)\n");

	for (run = 0; run < opt.runs; run++)
		for (k = 0; k < nrows; k++) {
			struct config_row *row = &rows[k];
			struct run_result *res = &row->res[run];

			if (run > 0 && row->res[0].skipped) {
				*res = row->res[0];
				continue;
			}
			run_once(row->lc, row->threads, row->load, res);
			if (opt.verbose && !res->skipped)
				fprintf(stderr,
					"RUN %d case=%s threads=%d load=%s n=%llu p50_us=%.1f "
					"p99_us=%.1f max_us=%.1f wakes_per_1000=%.2f missing=%llu "
					"errors=%llu lost=%llu accounting=%s\n",
					run, row->lc->name, row->threads, load_names[row->load],
					(unsigned long long)res->n, res->p50, res->p99, res->max,
					res->wakes_per_1000, (unsigned long long)res->missing,
					(unsigned long long)res->errors,
					(unsigned long long)res->lost,
					res->accounting_ok ? "ok" : "FAIL");
		}

	printf("\nCPU: %s.  Medians over %d runs; latencies in us.\n", model, opt.runs);
	printf("%-24s %3s %-6s %9s %9s %9s %9s %9s %10s %10s %8s %6s\n", "case", "thr", "load",
	       "p50", "p99", "max", "ts p50", "ts p99", "wakes/1k", "commit ns", "lost", "check");
	for (k = 0; k < nrows; k++) {
		struct config_row *row = &rows[k];
		uint64_t missing = 0, errors = 0, lost = 0, n = 0;
		int ok = 1, fallback = 0;

		if (row->res[0].skipped) {
			printf("SKIP case=%s threads=%d load=%s reason=%s\n", row->lc->name,
			       row->threads, load_names[row->load], row->res[0].skip_reason);
			skipped++;
			continue;
		}
		for (run = 0; run < opt.runs; run++) {
			const struct run_result *res = &row->res[run];

			missing += res->missing;
			errors += res->errors;
			lost += res->lost;
			n += res->n;
			fallback |= res->fallback;
			/*
			 * Every measured event arrives, or was lost where the
			 * tracer counts it: grb at its reservation (its
			 * writer knows), perf in the kernel (a
			 * PERF_RECORD_LOST; the i-th sample is then no longer
			 * the i-th call, which the errors show).
			 */
			ok &= res->accounting_ok && !res->errors &&
			      (row->lc->kind == KIND_GRB ? !res->missing_written :
							   res->missing <= res->lost);
		}
		if (!ok)
			failed = 1;
		printf("%-24s %3d %-6s %9.1f %9.1f %9.1f %9.1f %9.1f %10.2f %10.0f %8llu %6s\n",
		       row->lc->name, row->threads, load_names[row->load], MED(row, p50),
		       MED(row, p99), MED(row, max), MED(row, ts_p50), MED(row, ts_p99),
		       MED(row, wakes_per_1000), MED(row, commit_p50), (unsigned long long)lost,
		       ok ? "ok" : "FAIL");
		printf("SUMMARY bench=latency case=%s sync=%s policy=%s threads=%d load=%s runs=%d "
		       "events=%llu p50_us=%.1f p99_us=%.1f max_us=%.1f p50_min_us=%.1f "
		       "p50_max_us=%.1f p99_min_us=%.1f p99_max_us=%.1f ts_p50_us=%.1f "
		       "ts_p99_us=%.1f ts_max_us=%.1f wakes_per_1000=%.3f commit_ns_p50=%.0f "
		       "commit_ns_p99=%.0f rate_ev_s=%.0f consumer_cpu_pct=%.2f timeouts=%.0f "
		       "lost=%llu missing=%llu errors=%llu fallback=%d check=%s "
		       "cpu_model=\"%s\"\n",
		       row->lc->name, row->lc->sync, row->lc->policy, row->threads,
		       load_names[row->load], opt.runs, (unsigned long long)n, MED(row, p50),
		       MED(row, p99), MED(row, max),
		       fmin_of(row, offsetof(struct run_result, p50), 0),
		       fmin_of(row, offsetof(struct run_result, p50), 1),
		       fmin_of(row, offsetof(struct run_result, p99), 0),
		       fmin_of(row, offsetof(struct run_result, p99), 1), MED(row, ts_p50),
		       MED(row, ts_p99), MED(row, ts_max), MED(row, wakes_per_1000),
		       MED(row, commit_p50), MED(row, commit_p99), MED(row, rate),
		       MED(row, cons_cpu_pct), MED(row, timeouts), (unsigned long long)lost,
		       (unsigned long long)missing, (unsigned long long)errors, fallback,
		       ok ? "ok" : "FAIL", model);
	}
	printf("SUMMARY bench=latency done cases=%zu skipped=%d failed=%d\n", nrows, skipped,
	       failed);
	free(rows);
	return failed ? 1 : 0;
}
