// SPDX-License-Identifier: MIT
/*
 * ftrace_writer_test.c - write trace.dat files whose every event and
 * timestamp is known, for check_ftrace.py to compare with what
 * `trace-cmd report -t` and `grb ftrace show -t` print.
 *
 *	ftrace_writer_test SCENARIO TRACE_DAT EXPECTED_FILE
 *
 * The channel's clock is the test's own (GRB_FTRACE_CONFIG_CLOCK): a value
 * the writer whose turn it is sets before each event, so the timestamp of
 * every record is known.  Writer threads are pinned one or two per CPU
 * and take turns in a fixed order (a mutex and a condition variable), so
 * the per-CPU streams interleave in a known way.
 *
 * EXPECTED_FILE has one line per line the report must print, in order:
 *
 *	E <tab> cpu <tab> pid <tab> comm <tab> ts_ns <tab> event <tab> text
 *	D <tab> cpu <tab> count		"CPU:cpu [count EVENTS DROPPED]"
 *	O <tab> cpu <tab> ...		(overwrite scenarios) an event the ring
 *					may have overwritten: the report
 *					holds a suffix of the O lines, after
 *					one D line with the count of the others
 *	R <tab> padding <tab> n		the pages hold n padding records
 *	R <tab> extend|long <tab> n	at least n TIME_EXTEND / type_len 0 records
 *
 * Scenarios:
 *   events          2 CPUs (1 if the machine has one), 2 threads each,
 *                   overwrite mode with room for everything: integer,
 *                   hex, pointer, fixed and dynamic string fields, print
 *                   events, payloads over 112 bytes (type_len 0), deltas
 *                   of 2^27 - 1, 2^27 and more (TIME_EXTEND), a record
 *                   discarded after reserve (padding), a record too big
 *                   for a page (an in-band lost_events record after it)
 *   overwrite       one CPU, a ring of 4 pages, 3000 events: the pages
 *                   overwritten are reported with their exact count
 *   overwrite-full  the same with records that fill each page exactly,
 *                   so that the count needs a page of its own
 * Exit status: 0, or 1 after a message on stderr.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <grb/grb.h>
#include <grb/ftrace.h>

#define T27 (1ull << 27)

static uint64_t clk_now = 5000000000ull; /* set by the writer whose turn it is */

static uint64_t test_clock(void)
{
	return __atomic_load_n(&clk_now, __ATOMIC_RELAXED);
}

static const struct grb_config cfg = GRB_FTRACE_CONFIG_CLOCK(
	GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_OVERWRITE, test_clock);

#define REQUEST_FIELDS(F) \
	F(u64, req_id)    \
	F(s32, status)    \
	F(s8, small) F(u16, port) F(x64, flags) F(ptr, handler) F(chars, tag, 8) F(string, path)
GRB_FTRACE_EVENT(request, "itest", "request", 1001, REQUEST_FIELDS)
#define TICK_FIELDS(F) F(u32, n) F(s64, delta)
GRB_FTRACE_EVENT(tick, "itest", "tick", 1002, TICK_FIELDS)
/* 8 + 8 + 28 = 44 payload bytes: 48-byte records, 85 to a page exactly;
 * with 24 bytes of tag, 44-byte records leave room for the count. */
#define FILL_FIELDS(F) F(u64, seq) F(chars, tag, 28)
GRB_FTRACE_EVENT(fill, "itest", "fill", 1003, FILL_FIELDS)
#define SMALL_FIELDS(F) F(u64, seq) F(chars, tag, 24)
GRB_FTRACE_EVENT(small, "itest", "small", 1004, SMALL_FIELDS)

/* Functions whose addresses the events carry (named by kallsyms, from
 * dladdr: exported, as the build hides symbols by default). */
void itest_handler_a(void);
void itest_handler_b(void);
void itest_marker_site(void);
__attribute__((noinline, visibility("default"))) void itest_handler_a(void)
{
	__asm__ volatile("");
}
__attribute__((noinline, visibility("default"))) void itest_handler_b(void)
{
	__asm__ volatile("");
}
__attribute__((noinline, visibility("default"))) void itest_marker_site(void)
{
	__asm__ volatile("");
}

static FILE *expected;

static void die(const char *what)
{
	fprintf(stderr, "ftrace_writer_test: %s (%s)\n", what, grb_last_error());
	exit(1);
}

/* ------------------------------------------------------------------------ */
/* Turns: thread `turn_thread` runs step `turn_step`.                        */

#define MAX_THREADS 4
#define STEPS 400

static pthread_mutex_t turn_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_cond = PTHREAD_COND_INITIALIZER;
static int step_thread[STEPS];
static int cur_step;
static struct grb_channel *chan;

struct writer {
	pthread_t th;
	int idx, cpu;
	int32_t tid;
	char comm[16];
};

static struct writer writers[MAX_THREADS];
static int nr_writers;
static int lost_pending_cpu[MAX_THREADS]; /* by CPU: losses not reported yet */
static int discarded; /* records discarded after reserve */

static void expect_event(const struct writer *w, uint64_t ts, const char *name, const char *text)
{
	if (lost_pending_cpu[w->cpu]) {
		fprintf(expected, "E\t%d\t%d\t%s\t%" PRIu64 "\tlost_events\t%d events lost\n",
			w->cpu, w->tid, w->comm, ts, lost_pending_cpu[w->cpu]);
		lost_pending_cpu[w->cpu] = 0;
	}
	fprintf(expected, "E\t%d\t%d\t%s\t%" PRIu64 "\t%s\t%s\n", w->cpu, w->tid, w->comm, ts, name,
		text);
}

/* The delta before step i (deterministic). */
static uint64_t step_delta(int i)
{
	switch (i) {
	case 40:
		return T27 - 1; /* the largest delta of a data word (if the stream's) */
	case 41:
		return T27;
	case 90:
		return (1ull << 32) + 3;
	case 200:
		return 1ull << 40;
	default:
		break;
	}
	if (i % 37 == 5)
		return T27 + (uint64_t)i; /* a TIME_EXTEND on most streams */
	return 100 + (uint64_t)(i * 7919 % 5000);
}

static void do_step(struct writer *w, int i)
{
	char text[512], path[256];
	uint64_t ts = clk_now + step_delta(i);
	int ret, k;

	__atomic_store_n(&clk_now, ts, __ATOMIC_RELAXED);
	switch (i % 5) {
	case 0:
	case 3: {
		const char *tag = i % 2 ? "t-odd" : "tag-even!!"; /* 10 bytes: cut to 7 */
		uint64_t h = (uint64_t)(uintptr_t)(i % 3 ? &itest_handler_a : &itest_handler_b);
		int n = i % 10 == 3 ? 150 : 1 + i % 20; /* a long path: type_len 0 */
		char tagc[8] = { 0 };

		for (k = 0; k < n; k++)
			path[k] = (char)('a' + (i + k) % 26);
		path[n] = 0;
		ret = request_write(&cfg, chan, (uint64_t)i * 1000003u, -i * 17, (int8_t)(i - 100),
				    (uint16_t)(60000 + i), 0xf00d0000ull + (uint64_t)i, h, tag,
				    path);
		if (ret)
			die("request_write");
		memcpy(tagc, tag, strnlen(tag, sizeof(tagc) - 1));
		snprintf(text, sizeof(text),
			 "req_id=%llu status=%d small=%d port=%u flags=0x%llx handler=%s tag=%s "
			 "path=%s",
			 (unsigned long long)i * 1000003u, -i * 17, (int8_t)(i - 100), 60000 + i,
			 0xf00d0000ull + (unsigned long long)i,
			 i % 3 ? "itest_handler_a" : "itest_handler_b", tagc, path);
		expect_event(w, ts, "request", text);
		break;
	}
	case 1:
		ret = tick_write(&cfg, chan, (uint32_t)i, -(int64_t)ts);
		if (ret)
			die("tick_write");
		snprintf(text, sizeof(text), "n=%d delta=%lld", i, -(long long)ts);
		expect_event(w, ts, "tick", text);
		break;
	case 2:
		snprintf(path, sizeof(path), "message %d from %s", i, w->comm);
		ret = grb_ftrace_print(&cfg, chan, (uint64_t)(uintptr_t)&itest_marker_site, path);
		if (ret)
			die("grb_ftrace_print");
		snprintf(text, sizeof(text), "itest_marker_site: %s", path);
		expect_event(w, ts, "print", text);
		break;
	default:
		if (i % 20 == 4) {
			/* A record reserved, then discarded: padding in the page. */
			struct grb_ctx ctx;

			ctx.event_id = 1002;
			ctx.payload_len = 24;
			ctx.client_word = 0;
			grb_ftrace_tid();
			if (grb_reserve(&cfg, chan, &ctx))
				die("reserve to discard");
			memset(ctx.wp, 0x5a, 24);
			grb_discard(&cfg, &ctx);
			discarded++;
		} else if (i % 20 == 9) {
			/* A text larger than a page: refused, counted, and
			 * reported by the next record of this CPU. */
			static char big[6000];

			memset(big, 'x', sizeof(big) - 1);
			ret = grb_ftrace_print(&cfg, chan, 0, big);
			if (ret != -E2BIG)
				die("a print larger than a page was not refused with -E2BIG");
			lost_pending_cpu[w->cpu]++;
		} else {
			ret = tick_write(&cfg, chan, (uint32_t)i, 0);
			if (ret)
				die("tick_write");
			snprintf(text, sizeof(text), "n=%d delta=0", i);
			expect_event(w, ts, "tick", text);
		}
		break;
	}
}

static void *writer_main(void *arg)
{
	struct writer *w = (struct writer *)arg;
	cpu_set_t cs;

	CPU_ZERO(&cs);
	CPU_SET(w->cpu, &cs);
	if (pthread_setaffinity_np(pthread_self(), sizeof(cs), &cs) || sched_getcpu() != w->cpu)
		die("pinning a writer");
	pthread_setname_np(pthread_self(), w->comm);
	w->tid = grb_ftrace_tid();
	pthread_mutex_lock(&turn_lock);
	for (;;) {
		while (cur_step < STEPS && step_thread[cur_step] != w->idx)
			pthread_cond_wait(&turn_cond, &turn_lock);
		if (cur_step >= STEPS)
			break;
		do_step(w, cur_step);
		cur_step++;
		pthread_cond_broadcast(&turn_cond);
	}
	pthread_mutex_unlock(&turn_lock);
	return NULL;
}

static int usable_cpus(int want, int *cpus)
{
	cpu_set_t cs;
	int n = 0, c;

	if (sched_getaffinity(0, sizeof(cs), &cs))
		die("sched_getaffinity");
	for (c = 0; c < CPU_SETSIZE && n < want; c++)
		if (CPU_ISSET(c, &cs))
			cpus[n++] = c;
	return n;
}

static struct grb_ftrace_dat *make_dat(void)
{
	static const struct grb_ftrace_event *const events[] = { &request_event, &tick_event,
								 &fill_event, &small_event };
	struct grb_ftrace_dat_attr da;
	struct grb_ftrace_dat *d;

	grb_ftrace_dat_attr_init(&da);
	da.events = events;
	da.nr_events = 4;
	d = grb_ftrace_dat_create(&da);
	if (!d)
		die("grb_ftrace_dat_create");
	return d;
}

static void finish(struct grb_ftrace_dat *d, const char *path)
{
	if (grb_channel_finalize(chan))
		die("finalize");
	if (grb_ftrace_dat_drain(d, chan))
		die("grb_ftrace_dat_drain");
	if (grb_ftrace_dat_save(d, path))
		die("grb_ftrace_dat_save");
}

static int scenario_events(const char *path)
{
	struct grb_channel_attr a;
	struct grb_ftrace_dat *d;
	int cpus[2], ncpu, i;

	ncpu = usable_cpus(2, cpus);
	grb_ftrace_channel_attr_init(&a);
	a.subbuf_count = 64;
	chan = grb_channel_create(&cfg, &a);
	if (!chan)
		die("grb_channel_create");
	nr_writers = 2 * ncpu;
	for (i = 0; i < nr_writers; i++) {
		writers[i].idx = i;
		writers[i].cpu = cpus[i % ncpu];
		snprintf(writers[i].comm, sizeof(writers[i].comm), "itest-w%u",
			 (unsigned int)i % 100u);
	}
	/* Mostly round robin, with runs on one thread (so that a stream
	 * sees the deltas of steps 40 and 41 itself). */
	for (i = 0; i < STEPS; i++)
		step_thread[i] = (i >= 38 && i <= 42) ? 1 : (i / 3 + i) % nr_writers;
	for (i = 0; i < nr_writers; i++)
		if (pthread_create(&writers[i].th, NULL, writer_main, &writers[i]))
			die("pthread_create");
	for (i = 0; i < nr_writers; i++)
		pthread_join(writers[i].th, NULL);
	/* Losses no later record of their CPU reported stay unreported. */
	for (i = 0; i < ncpu; i++)
		if (lost_pending_cpu[cpus[i]])
			die("a refused record was the last of its CPU: change the steps");
	d = make_dat();
	finish(d, path);
	grb_ftrace_dat_destroy(d);
	grb_channel_destroy(chan);
	/* The records the file's pages must hold besides the events. */
	fprintf(expected, "R\tpadding\t%d\nR\textend\t1\nR\tlong\t1\n", discarded);
	return 0;
}

/* One thread writes n records of 48 (full) or 44 bytes into a ring of 4
 * pages; the file holds the last pages and the count of the others. */
static int scenario_overwrite(const char *path, int full)
{
	struct grb_channel_attr a;
	struct grb_stream_stats ss;
	struct grb_ftrace_dat *d;
	struct grb_ftrace_cpu_stats st;
	int cpus[1], i, n = 3000;
	uint32_t s;
	int32_t tid;

	usable_cpus(1, cpus);
	{
		cpu_set_t cs;

		CPU_ZERO(&cs);
		CPU_SET(cpus[0], &cs);
		if (pthread_setaffinity_np(pthread_self(), sizeof(cs), &cs))
			die("pinning");
	}
	pthread_setname_np(pthread_self(), "itest-ow");
	tid = grb_ftrace_tid();
	grb_ftrace_channel_attr_init(&a);
	a.subbuf_count = 4;
	chan = grb_channel_create(&cfg, &a);
	if (!chan)
		die("grb_channel_create");
	for (i = 0; i < n; i++) {
		uint64_t ts = clk_now + 1000 + (uint64_t)(i % 7);
		int ret;

		__atomic_store_n(&clk_now, ts, __ATOMIC_RELAXED);
		ret = full ? fill_write(&cfg, chan, (uint64_t)i, "fill") :
			     small_write(&cfg, chan, (uint64_t)i, "small");
		if (ret)
			die("write");
		fprintf(expected, "O\t%d\t%d\titest-ow\t%" PRIu64 "\t%s\tseq=%d tag=%s\n", cpus[0],
			tid, ts, full ? "fill" : "small", i, full ? "fill" : "small");
	}
	d = make_dat();
	finish(d, path);
	for (s = 0; s < grb_channel_nr_streams(chan); s++)
		if (!grb_channel_read_stream_stats(chan, s, &ss) && ss.cpu == (uint32_t)cpus[0])
			break;
	if (grb_ftrace_dat_cpu_stats(d, (uint32_t)cpus[0], &st))
		die("cpu stats");
	if (st.overrun != ss.lost[GRB_LOST_OVERWRITTEN] || st.events + st.overrun != (uint64_t)n) {
		fprintf(stderr,
			"ftrace_writer_test: %llu events and %llu missed in the file, the "
			"stream overwrote %llu of %d\n",
			(unsigned long long)st.events, (unsigned long long)st.overrun,
			(unsigned long long)ss.lost[GRB_LOST_OVERWRITTEN], n);
		return 1;
	}
	printf("overwrite%s: %llu events kept in %llu pages, %llu overwritten\n",
	       full ? "-full" : "", (unsigned long long)st.events, (unsigned long long)st.pages,
	       (unsigned long long)st.overrun);
	grb_ftrace_dat_destroy(d);
	grb_channel_destroy(chan);
	return 0;
}

int main(int argc, char **argv)
{
	int ret;

	if (argc != 4) {
		fprintf(stderr, "usage: %s events|overwrite|overwrite-full TRACE_DAT EXPECTED\n",
			argv[0]);
		return 2;
	}
	expected = fopen(argv[3], "w");
	if (!expected)
		die("opening the expected file");
	if (!strcmp(argv[1], "events"))
		ret = scenario_events(argv[2]);
	else if (!strcmp(argv[1], "overwrite"))
		ret = scenario_overwrite(argv[2], 0);
	else if (!strcmp(argv[1], "overwrite-full"))
		ret = scenario_overwrite(argv[2], 1);
	else
		ret = 2;
	if (fclose(expected))
		die("writing the expected file");
	return ret;
}
