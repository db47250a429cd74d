// SPDX-License-Identifier: MIT
/*
 * ctf_writer_test.c - record CTF traces whose every event and timestamp is
 * known, for check_trace.py to compare with what babeltrace2 reads.
 *
 *	ctf_writer_test SCENARIO TRACE_DIR EXPECTED_FILE
 *	ctf_writer_test bad-input WORK_DIR
 *	ctf_writer_test list
 *
 * The trace's clock is the test's own (GRB_CTF_CONFIG_CLOCK): either a
 * counter that every read advances by a fixed step (many writer threads),
 * or a value the single writer sets before each event (exact deltas).  The
 * clock remembers, per thread, the last value it returned: after a
 * successful write that is the event's timestamp, because grb_reserve()
 * reads the clock last in the attempt that succeeds.  So every timestamp in
 * the trace is known exactly.  The clock is described as 1 GHz with offset
 * 0, so `babeltrace2 --clock-cycles` prints the raw values.
 *
 * EXPECTED_FILE (JSON lines, written outside the trace directory because
 * babeltrace2 reads every file there as a stream) holds one line per event
 * whose write returned 0:
 *
 *	{"ts":T,"name":"itest:all","w":WRITER,"q":SEQ,"f":[[FIELD,VALUE],...]}
 *
 * in the order each writer wrote them (interleaved between writers), with
 * VALUE an integer, a string, a list of integers (arrays, sequences),
 * ["f32"|"f64", BITS] or ["enum", VALUE, [LABELS]]; then one summary line
 * {"summary":{...}} with the scenario's checks and grb's per-stream figures.
 * Exit status: 0, or 1 after a message on stderr.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sched_getaffinity, pthread_setaffinity_np */
#endif
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <grb/grb.h>
#include <grb/ctf.h>

#define CLOCK_UUID "6d3f2a10-5b7e-4c1d-9a8b-0c1d2e3f4a5b"
#define T27 (1ull << 27)

/* ------------------------------------------------------------------------ */
/* The clock                                                                 */

static uint64_t clk_now = 1000; /* the current value */
static uint64_t clk_step; /* added by every read; 0: the writer sets clk_now */
static __thread uint64_t clk_last; /* last value returned to this thread */

static uint64_t test_clock(void)
{
	uint64_t step = __atomic_load_n(&clk_step, __ATOMIC_RELAXED);
	uint64_t v;

	if (step)
		v = __atomic_add_fetch(&clk_now, step, __ATOMIC_SEQ_CST);
	else
		v = __atomic_load_n(&clk_now, __ATOMIC_SEQ_CST);
	clk_last = v;
	return v;
}

static void clock_set(uint64_t v)
{
	__atomic_store_n(&clk_now, v, __ATOMIC_SEQ_CST);
}

#define CFG(alloc, sync, mode) GRB_CTF_CONFIG_CLOCK(alloc, sync, mode, test_clock)
static const struct grb_config cfg_cpu_discard =
	CFG(GRB_ALLOC_PER_CPU, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD);
static const struct grb_config cfg_cpu_overwrite =
	CFG(GRB_ALLOC_PER_CPU, GRB_SYNC_ATOMIC, GRB_MODE_OVERWRITE);
static const struct grb_config cfg_rseq_overwrite =
	CFG(GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_OVERWRITE);
static const struct grb_config cfg_thread_discard =
	CFG(GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_MODE_DISCARD);
static const struct grb_config cfg_thread_overwrite =
	CFG(GRB_ALLOC_PER_THREAD, GRB_SYNC_ATOMIC, GRB_MODE_OVERWRITE);
static const struct grb_config cfg_global_discard =
	CFG(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD);

/* ------------------------------------------------------------------------ */
/* The events                                                                */

/* Overlapping ranges (5-9), gaps (21-254 of st8) and single values. */
GRB_CTF_ENUM(st8_map, { "ZERO", 0, 0 }, { "LOW", 1, 9 }, { "OVERLAP", 5, 20 }, { "TOP", 255, 255 })
GRB_CTF_ENUM(st16_map, { "NONE", 0, 0 }, { "high \xc3\xa9t\xc3\xa9 range", 1000, 65535 })
GRB_CTF_ENUM(st32_map, { "SMALL", 0, 99 }, { "HUGE", 4000000000ll, 4294967295ll })

#define TEXT_MAX 64
#define TAG_MAX 8
#define ALL_FIELDS(F)               \
	F(u32, wid)                 \
	F(u32, seq)                 \
	F(u8, v_u8)                 \
	F(u16, v_u16)               \
	F(u32, v_u32)               \
	F(u64, v_u64)               \
	F(s8, v_s8)                 \
	F(s16, v_s16)               \
	F(s32, v_s32)               \
	F(s64, v_s64)               \
	F(f32, v_f32)               \
	F(f64, v_f64)               \
	F(string, text, TEXT_MAX)   \
	F(string, tag, TAG_MAX)     \
	F(array_u8, a_u8, 3)        \
	F(array_s16, a_s16, 2)      \
	F(array_u32, a_u32, 4)      \
	F(array_s64, a_s64, 2)      \
	F(seq_u8, q_u8, 5)          \
	F(seq_s32, q_s32, 3)        \
	F(seq_u64, q_u64, 4)        \
	F(enum_u8, st8, st8_map)    \
	F(enum_u16, st16, st16_map) \
	F(enum_u32, st32, st32_map)
GRB_CTF_EVENT(ev_all, "itest:all", 3, ALL_FIELDS)

/* The loss scenarios' event: small, of varying size. */
#define BURST_FIELDS(F) \
	F(u32, wid)     \
	F(u32, seq)     \
	F(u64, val)     \
	F(seq_u8, blob, 48)
GRB_CTF_EVENT(ev_burst, "itest:burst", 2, BURST_FIELDS)

/* The timestamp scenarios' events: compact ids 0 and 28 (the largest),
 * extended ids 31 (the escape id itself), 40, 1000, 65535 (the largest),
 * and events without fields. */
#define EDGE_FIELDS(F) \
	F(u32, seq)    \
	F(u64, when)
#define NO_FIELDS(F)
GRB_CTF_EVENT(ev_c0, "itest:c0", 0, EDGE_FIELDS)
GRB_CTF_EVENT(ev_c28, "itest:c28", 28, EDGE_FIELDS)
GRB_CTF_EVENT(ev_cnof, "itest:compact_nofields", 27, NO_FIELDS)
GRB_CTF_EVENT(ev_x31, "itest:x31", 31, EDGE_FIELDS)
GRB_CTF_EVENT(ev_x40, "itest:x40", 40, EDGE_FIELDS)
GRB_CTF_EVENT(ev_x1000, "itest:x1000", 1000, EDGE_FIELDS)
GRB_CTF_EVENT(ev_x65535, "itest:x65535", 65535, EDGE_FIELDS)
GRB_CTF_EVENT(ev_xnof, "itest:extended_nofields", 4242, NO_FIELDS)

static const struct grb_ctf_event_desc *const all_events[] = {
	&ev_all_event, &ev_burst_event, &ev_c0_event,	 &ev_c28_event,	   &ev_cnof_event,
	&ev_x31_event, &ev_x40_event,	&ev_x1000_event, &ev_x65535_event, &ev_xnof_event,
};
#define NR_EVENTS ((uint32_t)(sizeof(all_events) / sizeof(all_events[0])))

/* ------------------------------------------------------------------------ */
/* Scenarios                                                                 */

/* Field names that collide once a CTF reader drops the leading underscore
 * of "_x" (CTF 1.8, TSDL identifiers): "_x" and "x" are both "x"; the
 * length field "_data_len" of sequence "data" and a field "data_len". */
#define UNDERSCORE_FIELDS(F) \
	F(u32, _x)           \
	F(u32, x)
GRB_CTF_EVENT(ev_under, "itest:underscore", 5, UNDERSCORE_FIELDS)
static const struct grb_ctf_field_desc seqlen_fields[] = {
	{ "data", GRB_CTF_SEQUENCE, GRB_CTF_U8, 4, NULL },
	{ "data_len", GRB_CTF_U32, GRB_CTF_U32, 0, NULL },
};
static const struct grb_ctf_event_desc ev_seqlen_event = { "itest:seq_length", 6, 2,
							   seqlen_fields };
static const struct grb_ctf_event_desc *const under_events[] = { &ev_under_event };
static const struct grb_ctf_event_desc *const seqlen_events[] = { &ev_seqlen_event };

enum pattern { P_ALL, P_EDGES, P_BURSTS, P_LOSS_AT_END, P_NAMES, P_NO_PACKET, P_FIRST_PACKET };

struct scenario {
	const char *name;
	const struct grb_config *cfg;
	enum pattern pattern;
	const struct grb_ctf_event_desc *const *event_list; /* NULL: all_events */
	uint32_t nr_event_list;
	uint32_t subbuf_size, subbuf_count;
	uint32_t nr_streams; /* per-thread stream pool; 0: default */
	uint32_t nr_writers;
	uint32_t wave; /* writers started together (then joined); 0: all */
	uint32_t events; /* per writer (P_ALL), per burst (P_BURSTS) */
	uint64_t clock_step; /* 0: the writer sets the clock (one writer only) */
	uint64_t read_period_us; /* 0: default */
	uint64_t switch_timer_us; /* 0: default */
	const char *check; /* check_trace.py mode: "exact" or "subset" */
	int no_loss; /* every write must succeed and nothing be lost */
	int expect_enospc; /* grb_ctf_trace_stop must fail with -ENOSPC */
	int expect_discarded_packets; /* babeltrace2 must report some */
	int expect_lost; /* some writes must fail (discard mode) */
	/* grb may refuse the events (EINVAL, the message naming these);
	 * if it accepts them, babeltrace2 must read the trace. */
	const char *refuse_event, *refuse_field;
};

static const struct scenario scenarios[] = {
	/* 1. Every field kind; several threads; per-CPU and per-thread
	 * streams; discard and overwrite modes, rings that keep everything. */
	{ .name = "all-percpu-discard",
	  .cfg = &cfg_cpu_discard,
	  .pattern = P_ALL,
	  .subbuf_size = 16384,
	  .subbuf_count = 128,
	  .nr_writers = 4,
	  .events = 2500,
	  .clock_step = 1000003,
	  .check = "exact",
	  .no_loss = 1 },
	/* Two waves of three threads on a pool of four streams: the second
	 * wave reuses the streams the first one left. */
	{ .name = "all-perthread-discard",
	  .cfg = &cfg_thread_discard,
	  .pattern = P_ALL,
	  .subbuf_size = 16384,
	  .subbuf_count = 128,
	  .nr_streams = 4,
	  .nr_writers = 6,
	  .wave = 3,
	  .events = 2000,
	  .clock_step = (1ull << 25) + 3,
	  .check = "exact",
	  .no_loss = 1 },
	{ .name = "all-percpu-overwrite",
	  .cfg = &cfg_cpu_overwrite,
	  .pattern = P_ALL,
	  .subbuf_size = 16384,
	  .subbuf_count = 256,
	  .nr_writers = 4,
	  .events = 2500,
	  .clock_step = 777,
	  .check = "exact",
	  .no_loss = 1 },
	/* Per-CPU streams written with restartable sequences. */
	{ .name = "all-percpu-rseq",
	  .cfg = &cfg_rseq_overwrite,
	  .pattern = P_ALL,
	  .subbuf_size = 16384,
	  .subbuf_count = 256,
	  .nr_writers = 4,
	  .events = 2500,
	  .clock_step = 1000003,
	  .check = "exact",
	  .no_loss = 1 },
	/* Overwrite with a small ring: old packets go. */
	{ .name = "overwrite-lossy",
	  .cfg = &cfg_thread_overwrite,
	  .pattern = P_BURSTS,
	  .subbuf_size = 4096,
	  .subbuf_count = 4,
	  .nr_writers = 3,
	  .events = 3000,
	  .clock_step = 12345,
	  .read_period_us = 30000,
	  .check = "subset",
	  .expect_discarded_packets = 1 },
	/* 2. Timestamp edge cases, one writer, exact deltas. */
	{ .name = "edges",
	  .cfg = &cfg_global_discard,
	  .pattern = P_EDGES,
	  .subbuf_size = 65536,
	  .subbuf_count = 16,
	  .nr_writers = 1,
	  .check = "exact",
	  .no_loss = 1 },
	{ .name = "edges-small-packets",
	  .cfg = &cfg_global_discard,
	  .pattern = P_EDGES,
	  .subbuf_size = 512,
	  .subbuf_count = 1024,
	  .nr_writers = 1,
	  .check = "exact",
	  .no_loss = 1 },
	/* 3. Forced losses: 2 x 4 KiB, bursts far larger than the ring. */
	{ .name = "losses-perthread",
	  .cfg = &cfg_thread_discard,
	  .pattern = P_BURSTS,
	  .subbuf_size = 4096,
	  .subbuf_count = 2,
	  .nr_writers = 2,
	  .events = 1500,
	  .clock_step = 999,
	  .read_period_us = 20000,
	  .check = "exact",
	  .expect_lost = 1 },
	{ .name = "losses-percpu",
	  .cfg = &cfg_cpu_discard,
	  .pattern = P_BURSTS,
	  .subbuf_size = 4096,
	  .subbuf_count = 2,
	  .nr_writers = 3,
	  .events = 1500,
	  .clock_step = 1001,
	  .read_period_us = 20000,
	  .check = "exact",
	  .expect_lost = 1 },
	/* Losses after the stream's last packet was closed (by the switch
	 * timer), then the stop: no packet carries their count. */
	{ .name = "losses-at-end",
	  .cfg = &cfg_global_discard,
	  .pattern = P_LOSS_AT_END,
	  .subbuf_size = 4096,
	  .subbuf_count = 2,
	  .nr_writers = 1,
	  .clock_step = 1000,
	  .read_period_us = 5000000,
	  .switch_timer_us = 50000,
	  .check = "exact",
	  .expect_lost = 1 },
	/* Losses in a stream that never delivers a packet: one writer only
	 * writes records too big for their declaration. */
	{ .name = "losses-no-packet",
	  .cfg = &cfg_thread_discard,
	  .pattern = P_NO_PACKET,
	  .subbuf_size = 4096,
	  .subbuf_count = 2,
	  .nr_writers = 2,
	  .events = 100,
	  .clock_step = 1000,
	  .check = "exact",
	  .expect_lost = 1 },
	/* A loss while the stream's first packet is open. */
	{ .name = "losses-in-first-packet",
	  .cfg = &cfg_thread_discard,
	  .pattern = P_FIRST_PACKET,
	  .subbuf_size = 4096,
	  .subbuf_count = 4,
	  .nr_writers = 1,
	  .events = 300,
	  .clock_step = 1000,
	  .check = "exact",
	  .expect_lost = 1 },
	/* 4. Full disk (TRACE_DIR on a 512 KiB tmpfs). */
	{ .name = "full-disk",
	  .cfg = &cfg_cpu_discard,
	  .pattern = P_ALL,
	  .subbuf_size = 65536,
	  .subbuf_count = 32,
	  .nr_writers = 2,
	  .events = 8000,
	  .clock_step = 4099,
	  .check = "subset",
	  .expect_enospc = 1 },
	/* 5. Names a CTF reader cannot tell apart: refused, or read. */
	{ .name = "names-underscore",
	  .cfg = &cfg_global_discard,
	  .pattern = P_NAMES,
	  .event_list = under_events,
	  .nr_event_list = 1,
	  .events = 10,
	  .subbuf_size = 4096,
	  .subbuf_count = 4,
	  .nr_writers = 1,
	  .clock_step = 10,
	  .check = "exact",
	  .no_loss = 1,
	  .refuse_event = "itest:underscore",
	  .refuse_field = "x" },
	{ .name = "names-seq-length",
	  .cfg = &cfg_global_discard,
	  .pattern = P_NAMES,
	  .event_list = seqlen_events,
	  .nr_event_list = 1,
	  .events = 10,
	  .subbuf_size = 4096,
	  .subbuf_count = 4,
	  .nr_writers = 1,
	  .clock_step = 10,
	  .check = "exact",
	  .no_loss = 1,
	  .refuse_event = "itest:seq_length",
	  .refuse_field = "data_len" },
};
#define NR_SCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

static int failures;

#define FAIL(...)                                      \
	do {                                           \
		fprintf(stderr, "FAIL: " __VA_ARGS__); \
		fputc('\n', stderr);                   \
		failures++;                            \
	} while (0)

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void sleep_us(uint64_t us)
{
	struct timespec ts = { (time_t)(us / 1000000u), (long)(us % 1000000u) * 1000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int check_msg(const char *what, const char *msg, const char *n1, const char *n2)
{
	if (!strstr(msg, n1) || (n2 && !strstr(msg, n2))) {
		FAIL("%s: message \"%s\" does not name \"%s\"%s%s%s", what, msg, n1,
		     n2 ? " and \"" : "", n2 ? n2 : "", n2 ? "\"" : "");
		return 1;
	}
	printf("ok: %s: %s\n", what, msg);
	return 0;
}

/* A JSON string: bytes >= 0x80 (UTF-8) as they are. */
static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void json_labels(FILE *f, const struct grb_ctf_enum_desc *e, uint64_t v)
{
	uint32_t i;
	int first = 1;

	fputc('[', f);
	for (i = 0; i < e->nr_entries; i++) {
		if ((int64_t)v < e->entries[i].start || (int64_t)v > e->entries[i].end)
			continue;
		if (!first)
			fputc(',', f);
		json_str(f, e->entries[i].label);
		first = 0;
	}
	fputc(']', f);
}

static uint32_t f32_bits(float v)
{
	uint32_t b;

	memcpy(&b, &v, 4);
	return b;
}

static uint64_t f64_bits(double v)
{
	uint64_t b;

	memcpy(&b, &v, 8);
	return b;
}

static float bits_f32(uint32_t b)
{
	float v;

	memcpy(&v, &b, 4);
	return v;
}

static double bits_f64(uint64_t b)
{
	double v;

	memcpy(&v, &b, 8);
	return v;
}

/* ------------------------------------------------------------------------ */
/* The writers                                                               */

struct run;

struct writer {
	pthread_t thread;
	uint32_t wid;
	struct run *run;
	char *buf;
	size_t len;
	FILE *out; /* this writer's expected lines */
	uint64_t attempts, ok, failed;
	int first_err;
	uint64_t seed;
};

struct run {
	const struct scenario *sc;
	struct grb_ctf_trace *t;
	struct grb_channel *ch;
	struct writer *w;
};

/* The CPUs this process may run on. */
static int cpus[CPU_SETSIZE], nr_cpus;

static void init_cpus(void)
{
	cpu_set_t set;
	int c;

	if (sched_getaffinity(0, sizeof(set), &set))
		return;
	for (c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set))
			cpus[nr_cpus++] = c;
}

/* Per-CPU channels: move the writer to the CPU of its turn, so that every
 * stream gets events from several writers and each writer's events are
 * spread over several streams. */
static void move_writer(const struct writer *w, uint32_t turn)
{
	cpu_set_t set;

	if (w->run->sc->cfg->alloc != GRB_ALLOC_PER_CPU || nr_cpus < 2)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpus[(w->wid + turn) % (uint32_t)nr_cpus], &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void note_result(struct writer *w, int ret)
{
	w->attempts++;
	if (!ret) {
		w->ok++;
		return;
	}
	w->failed++;
	if (!w->first_err)
		w->first_err = ret;
}

struct all_vals {
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	int8_t s8;
	int16_t s16;
	int32_t s32;
	int64_t s64;
	float f32;
	double f64;
	char text[TEXT_MAX];
	char tag[TAG_MAX];
	uint8_t a_u8[3];
	int16_t a_s16[2];
	uint32_t a_u32[4];
	int64_t a_s64[2];
	uint8_t q_u8[5];
	uint32_t q_u8_len;
	int32_t q_s32[3];
	uint32_t q_s32_len;
	uint64_t q_u64[4];
	uint32_t q_u64_len;
	uint8_t st8;
	uint16_t st16;
	uint32_t st32;
};

static const char *const texts[] = {
	"",
	" ",
	"hello grb",
	"  spaces  around and   inside  ",
	/* UTF-8: e-acute, o-umlaut, a check mark, CJK, an emoji. */
	"utf-8: h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x99\x82",
	"quote \" backslash \\ tab\t brace } comma , equals =",
	"[1] = { x = 2 }, :", /* looks like babeltrace2's own syntax */
	/* 63 bytes: the longest that fits TEXT_MAX with its NUL. */
	"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_",
};
#define NR_TEXTS (sizeof(texts) / sizeof(texts[0]))

static const uint32_t f32_special[] = {
	0x00000000u,
	0x80000000u,
	0x3fc00000u /* 1.5 */,
	0xc0100000u /* -2.25 */,
	0x7f7fffffu /* FLT_MAX */,
	0xff7fffffu,
	0x00800000u /* FLT_MIN */,
	0x00000001u /* smallest denormal */,
	0x7f800000u /* inf */,
	0xff800000u,
	0x40490fdbu /* pi */,
	0x3dcccccdu /* 0.1 */,
};
static const uint64_t f64_special[] = {
	0x0000000000000000ull,		 0x8000000000000000ull,
	0x3ff8000000000000ull,		 0x7fefffffffffffffull /* DBL_MAX */,
	0xffefffffffffffffull,		 0x0010000000000000ull /* DBL_MIN */,
	0x0000000000000001ull,		 0x7ff0000000000000ull /* inf */,
	0xfff0000000000000ull,		 0x400921fb54442d18ull /* pi */,
	0x3fb999999999999aull /* 0.1 */, 0x3ff0000000000001ull /* 1 + ulp */,
};
static const uint8_t st8_values[] = { 0, 1, 5, 9, 10, 20, 21, 128, 254, 255 };
static const uint16_t st16_values[] = { 0, 1, 999, 1000, 65535 };
static const uint32_t st32_values[] = { 0, 99, 100, 3999999999u, 4000000000u, 4294967295u };
#define NR(a) (sizeof(a) / sizeof((a)[0]))

static void gen_all(struct all_vals *v, uint32_t wid, uint32_t seq)
{
	uint64_t s = ((uint64_t)wid << 32 | seq) * 0x2545f4914f6cdd1dull + 17;
	uint64_t r[8];
	uint32_t i, kind = seq % 8;

	for (i = 0; i < 8; i++)
		r[i] = splitmix(&s);
	memset(v, 0, sizeof(*v));
	if (kind == 0) { /* maxima */
		v->u8 = UINT8_MAX;
		v->u16 = UINT16_MAX;
		v->u32 = UINT32_MAX;
		v->u64 = UINT64_MAX;
		v->s8 = INT8_MAX;
		v->s16 = INT16_MAX;
		v->s32 = INT32_MAX;
		v->s64 = INT64_MAX;
		v->f32 = FLT_MAX;
		v->f64 = DBL_MAX;
	} else if (kind == 1) { /* minima */
		v->s8 = INT8_MIN;
		v->s16 = INT16_MIN;
		v->s32 = INT32_MIN;
		v->s64 = INT64_MIN;
		v->f32 = -FLT_MAX;
		v->f64 = -DBL_MAX;
	} else if (kind == 2) { /* -1 everywhere signed, 1 unsigned */
		v->u8 = 1;
		v->u16 = 1;
		v->u32 = 1;
		v->u64 = 1;
		v->s8 = -1;
		v->s16 = -1;
		v->s32 = -1;
		v->s64 = -1;
		v->f32 = bits_f32(f32_special[seq / 8 % NR(f32_special)]);
		v->f64 = bits_f64(f64_special[seq / 8 % NR(f64_special)]);
	} else {
		uint32_t b32 = (uint32_t)r[1];
		uint64_t b64 = r[2];

		v->u8 = (uint8_t)r[0];
		v->u16 = (uint16_t)(r[0] >> 8);
		v->u32 = (uint32_t)(r[0] >> 24);
		v->u64 = r[3];
		v->s8 = (int8_t)(r[4]);
		v->s16 = (int16_t)(r[4] >> 8);
		v->s32 = (int32_t)(r[4] >> 24);
		v->s64 = (int64_t)r[5];
		/* Random bit patterns, but no NaN (its payload is not the
		 * point here). */
		if ((b32 & 0x7f800000u) == 0x7f800000u)
			b32 &= ~0x00800000u;
		if ((b64 & 0x7ff0000000000000ull) == 0x7ff0000000000000ull)
			b64 &= ~0x0010000000000000ull;
		v->f32 = bits_f32(b32);
		v->f64 = bits_f64(b64);
	}
	if (seq % 5 == 0) {
		snprintf(v->text, sizeof(v->text), "%s", texts[seq / 5 % NR_TEXTS]);
	} else {
		uint32_t n = (uint32_t)(r[6] % TEXT_MAX); /* 0 to 63 characters */

		for (i = 0; i < n; i++)
			v->text[i] = (char)(' ' + (r[(i % 6) + 1] >> (i % 8 * 7)) % 95);
		v->text[n] = 0;
	}
	{
		uint32_t n = seq % TAG_MAX; /* 0 to 7 */

		for (i = 0; i < n; i++)
			v->tag[i] = (char)('a' + i);
		v->tag[n] = 0;
	}
	for (i = 0; i < 3; i++)
		v->a_u8[i] = (uint8_t)(r[7] >> (8 * i));
	v->a_s16[0] = kind == 1 ? INT16_MIN : (int16_t)(r[6] >> 16);
	v->a_s16[1] = kind == 0 ? INT16_MAX : (int16_t)(r[6] >> 32);
	for (i = 0; i < 4; i++)
		v->a_u32[i] = kind == 0 ? UINT32_MAX : (uint32_t)(r[i] >> 16);
	v->a_s64[0] = kind == 1 ? INT64_MIN : (int64_t)r[5] >> 3;
	v->a_s64[1] = kind == 0 ? INT64_MAX : -(int64_t)(r[2] >> 2);
	/* Sequences: empty, full (the maximum), and in between. */
	v->q_u8_len = kind == 0 ? 5 : kind == 1 ? 0 : (uint32_t)(r[7] % 6);
	for (i = 0; i < v->q_u8_len; i++)
		v->q_u8[i] = (uint8_t)(r[i] >> 40);
	v->q_s32_len = kind == 0 ? 3 : kind == 1 ? 0 : (uint32_t)(r[6] % 4);
	for (i = 0; i < v->q_s32_len; i++)
		v->q_s32[i] = kind == 0 ? INT32_MIN : (int32_t)(r[i + 2] >> 20);
	v->q_u64_len = kind == 0 ? 4 : kind == 1 ? 0 : (uint32_t)(r[5] % 5);
	for (i = 0; i < v->q_u64_len; i++)
		v->q_u64[i] = kind == 0 ? UINT64_MAX : r[i + 1];
	v->st8 = st8_values[seq % NR(st8_values)];
	v->st16 = st16_values[seq % NR(st16_values)];
	v->st32 = st32_values[seq % NR(st32_values)];
}

static void emit_ints_u(FILE *f, const uint64_t *v, uint32_t n)
{
	uint32_t i;

	fputc('[', f);
	for (i = 0; i < n; i++)
		fprintf(f, "%s%" PRIu64, i ? "," : "", v[i]);
	fputc(']', f);
}

static void emit_ints_s(FILE *f, const int64_t *v, uint32_t n)
{
	uint32_t i;

	fputc('[', f);
	for (i = 0; i < n; i++)
		fprintf(f, "%s%" PRId64, i ? "," : "", v[i]);
	fputc(']', f);
}

static void emit_head(FILE *f, uint64_t ts, const char *name, uint32_t wid, uint32_t seq)
{
	fprintf(f, "{\"ts\":%" PRIu64 ",\"name\":\"%s\",\"w\":%u,\"q\":%u,\"f\":[", ts, name, wid,
		seq);
}

static void emit_all(FILE *f, uint64_t ts, uint32_t wid, uint32_t seq, const struct all_vals *v)
{
	uint64_t u[5];
	int64_t s[5];
	uint32_t i;

	emit_head(f, ts, "itest:all", wid, seq);
	fprintf(f, "[\"wid\",%u],[\"seq\",%u],", wid, seq);
	fprintf(f, "[\"v_u8\",%u],[\"v_u16\",%u],[\"v_u32\",%u],[\"v_u64\",%" PRIu64 "],", v->u8,
		v->u16, v->u32, v->u64);
	fprintf(f, "[\"v_s8\",%d],[\"v_s16\",%d],[\"v_s32\",%d],[\"v_s64\",%" PRId64 "],", v->s8,
		v->s16, v->s32, v->s64);
	fprintf(f, "[\"v_f32\",[\"f32\",%u]],[\"v_f64\",[\"f64\",%" PRIu64 "]],", f32_bits(v->f32),
		f64_bits(v->f64));
	fputs("[\"text\",", f);
	json_str(f, v->text);
	fputs("],[\"tag\",", f);
	json_str(f, v->tag);
	fputs("],[\"a_u8\",", f);
	for (i = 0; i < 3; i++)
		u[i] = v->a_u8[i];
	emit_ints_u(f, u, 3);
	fputs("],[\"a_s16\",", f);
	for (i = 0; i < 2; i++)
		s[i] = v->a_s16[i];
	emit_ints_s(f, s, 2);
	fputs("],[\"a_u32\",", f);
	for (i = 0; i < 4; i++)
		u[i] = v->a_u32[i];
	emit_ints_u(f, u, 4);
	fputs("],[\"a_s64\",", f);
	emit_ints_s(f, v->a_s64, 2);
	/* A sequence's length is the field "_q_u8_len" of the metadata; CTF
	 * readers drop an identifier's leading underscore. */
	fprintf(f, "],[\"q_u8_len\",%u],[\"q_u8\",", v->q_u8_len);
	for (i = 0; i < v->q_u8_len; i++)
		u[i] = v->q_u8[i];
	emit_ints_u(f, u, v->q_u8_len);
	fprintf(f, "],[\"q_s32_len\",%u],[\"q_s32\",", v->q_s32_len);
	for (i = 0; i < v->q_s32_len; i++)
		s[i] = v->q_s32[i];
	emit_ints_s(f, s, v->q_s32_len);
	fprintf(f, "],[\"q_u64_len\",%u],[\"q_u64\",", v->q_u64_len);
	emit_ints_u(f, v->q_u64, v->q_u64_len);
	fprintf(f, "],[\"st8\",[\"enum\",%u,", v->st8);
	json_labels(f, &st8_map, v->st8);
	fprintf(f, "]],[\"st16\",[\"enum\",%u,", v->st16);
	json_labels(f, &st16_map, v->st16);
	fprintf(f, "]],[\"st32\",[\"enum\",%u,", v->st32);
	json_labels(f, &st32_map, v->st32);
	fputs("]]]}\n", f);
}

static int write_all(const struct grb_config *cfg, struct grb_channel *ch, uint32_t wid,
		     uint32_t seq, const struct all_vals *v)
{
	return ev_all_write(cfg, ch, wid, seq, v->u8, v->u16, v->u32, v->u64, v->s8, v->s16, v->s32,
			    v->s64, v->f32, v->f64, v->text, v->tag, v->a_u8, v->a_s16, v->a_u32,
			    v->a_s64, v->q_u8, v->q_u8_len, v->q_s32, v->q_s32_len, v->q_u64,
			    v->q_u64_len, v->st8, v->st16, v->st32);
}

static void pattern_all(struct writer *w)
{
	const struct scenario *sc = w->run->sc;
	struct all_vals v;
	uint32_t seq;

	for (seq = 0; seq < sc->events; seq++) {
		int ret;

		gen_all(&v, w->wid, seq);
		ret = write_all(sc->cfg, w->run->ch, w->wid, seq, &v);
		note_result(w, ret);
		if (!ret)
			emit_all(w->out, clk_last, w->wid, seq, &v);
		if (seq % 500 == 0)
			move_writer(w, seq / 500);
		if (seq % 64 == 63)
			sched_yield();
	}
}

static int write_burst(struct writer *w, uint32_t seq)
{
	uint8_t blob[48];
	uint64_t val = splitmix(&w->seed), u[48];
	uint32_t n = (uint32_t)(val % 49), i;
	int ret;

	for (i = 0; i < n; i++)
		blob[i] = (uint8_t)(val >> (i % 8 * 8)) ^ (uint8_t)i;
	ret = ev_burst_write(w->run->sc->cfg, w->run->ch, w->wid, seq, val, blob, n);
	note_result(w, ret);
	if (!ret) {
		emit_head(w->out, clk_last, "itest:burst", w->wid, seq);
		fprintf(w->out,
			"[\"wid\",%u],[\"seq\",%u],[\"val\",%" PRIu64 "],[\"blob_len\",%u],"
			"[\"blob\",",
			w->wid, seq, val, n);
		for (i = 0; i < n; i++)
			u[i] = blob[i];
		emit_ints_u(w->out, u, n);
		fputs("]]}\n", w->out);
	}
	return ret;
}

/* A sequence one element longer than declared: refused whole (-E2BIG) and
 * counted lost (too big), so readers must be told of it too. */
static void write_too_big(struct writer *w, uint32_t seq)
{
	uint8_t blob[49] = { 0 };
	int ret = ev_burst_write(w->run->sc->cfg, w->run->ch, w->wid, seq, 0, blob, 49);

	note_result(w, ret);
	if (ret != -E2BIG)
		FAIL("writer %u: a 49-element sequence of at most 48: %d, expected -E2BIG", w->wid,
		     ret);
}

/* Wait (3 s at most) until the consumer has written n packets in all. */
/* Wait until the consumer has taken every packet the writers delivered so
 * far: in each stream, consumed (or overwritten) up to the start of the
 * packet the write position is in.  Packets still open (a full one in a
 * discard-mode ring that has no free sub-buffer stays open) do not count.
 * The consumer reads every read_period_us, so this takes a few periods; a
 * minute without it is a failure, not something to go on from. */
static void wait_packets(struct run *r)
{
	uint32_t i, nr = grb_channel_nr_streams(r->ch);
	uint64_t sb = r->sc->subbuf_size;
	int tries;

	for (tries = 0; tries < 6000; tries++) {
		uint32_t behind = 0;

		for (i = 0; i < nr; i++) {
			struct grb_stream_stats st;

			if (grb_channel_read_stream_stats(r->ch, i, &st))
				continue;
			if (st.consumed_pos < st.write_pos / sb * sb)
				behind++;
		}
		if (!behind)
			return;
		sleep_us(10000);
	}
	fprintf(stderr, "%s: the consumer did not take the delivered packets in 60 s\n",
		r->sc->name);
	exit(1);
}

/* Bursts far larger than the ring, each followed by a pause long enough for
 * the consumer to drain it; then a few events that close a last packet. */
static void pattern_bursts(struct writer *w)
{
	const struct scenario *sc = w->run->sc;
	uint64_t pause = 3 * (sc->read_period_us ? sc->read_period_us : 10000);
	uint32_t seq = 0, b, i;

	/* Packets that the consumer takes before the bursts (overwrite mode:
	 * so that babeltrace2 sees a gap in the sequence numbers after
	 * them). */
	move_writer(w, 0);
	for (i = 0; i < 250; i++)
		write_burst(w, seq++);
	/* Losses in a stream's first packet are a separate case
	 * (losses-in-first-packet): from here on, the streams written to
	 * have delivered theirs. */
	wait_packets(w->run);
	sleep_us(pause);
	for (b = 0; b < 3; b++) {
		move_writer(w, b);
		for (i = 0; i < sc->events; i++) {
			write_burst(w, seq++);
			if (i % 100 == 50)
				write_too_big(w, seq++);
		}
		sleep_us(pause);
	}
	for (i = 0; i < 10; i++)
		write_burst(w, seq++);
	sleep_us(pause);
}

/* Writer 1 writes events; writer 2 only records that are refused. */
static void pattern_no_packet(struct writer *w)
{
	uint32_t seq;

	for (seq = 0; seq < w->run->sc->events; seq++) {
		if (w->wid == 1)
			write_burst(w, seq);
		else if (seq % 10 == 0)
			write_too_big(w, seq);
	}
}

/* A record refused while the first packet is open, then enough events to
 * close that packet and fill a few more. */
static void pattern_first_packet(struct writer *w)
{
	uint32_t seq;

	for (seq = 0; seq < w->run->sc->events; seq++)
		if (seq == 5)
			write_too_big(w, seq);
		else
			write_burst(w, seq);
}

/* Fill the ring (the consumer sleeps), let the switch timer close the
 * partial packet, lose records, stop: the losses happen after the last
 * packet of the stream was closed. */
static void pattern_loss_at_end(struct writer *w)
{
	const struct scenario *sc = w->run->sc;
	uint32_t seq = 0;

	while (w->failed == 0 && seq < 100000)
		write_burst(w, seq++);
	/* The ring is full; the current packet is partial.  Let the timer
	 * close it, then lose more. */
	sleep_us(4 * sc->switch_timer_us);
	while (w->failed < 100 && seq < 200000)
		write_burst(w, seq++);
}

/* Timestamp edge cases, one writer, the clock set before each event. */
static int write_edge(struct writer *w, uint32_t which, uint32_t seq, uint64_t ts)
{
	const struct grb_config *cfg = w->run->sc->cfg;
	struct grb_channel *ch = w->run->ch;
	static const char *const names[] = {
		"itest:c0",  "itest:c28",   "itest:compact_nofields", "itest:x31",
		"itest:x40", "itest:x1000", "itest:x65535",	      "itest:extended_nofields"
	};
	int ret;

	clock_set(ts);
	switch (which) {
	case 0:
		ret = ev_c0_write(cfg, ch, seq, ts);
		break;
	case 1:
		ret = ev_c28_write(cfg, ch, seq, ts);
		break;
	case 2:
		ret = ev_cnof_write(cfg, ch);
		break;
	case 3:
		ret = ev_x31_write(cfg, ch, seq, ts);
		break;
	case 4:
		ret = ev_x40_write(cfg, ch, seq, ts);
		break;
	case 5:
		ret = ev_x1000_write(cfg, ch, seq, ts);
		break;
	case 6:
		ret = ev_x65535_write(cfg, ch, seq, ts);
		break;
	default:
		ret = ev_xnof_write(cfg, ch);
		break;
	}
	note_result(w, ret);
	if (ret)
		return ret;
	if (clk_last != ts)
		FAIL("edges: event %u: the clock returned %" PRIu64 ", not %" PRIu64, seq, clk_last,
		     ts);
	emit_head(w->out, ts, names[which], w->wid, seq);
	if (which != 2 && which != 7)
		fprintf(w->out, "[\"seq\",%u],[\"when\",%" PRIu64 "]", seq, ts);
	fputs("]}\n", w->out);
	return 0;
}

static void pattern_edges(struct writer *w)
{
	static const uint64_t fixed[] = {
		/* around 2^27: fits, fits, does not, does not, ... */
		T27 - 1,
		T27 - 1,
		T27 + 1,
		T27,
		1,
		0,
		0,
		T27 - 2,
		2,
		T27 + 1,
		T27 - 1,
		3 * T27,
		1,
		0,
		T27 - 1,
		1,
		T27 - 1,
		/* gaps longer than 2^27, and much longer */
		1ull << 28,
		5,
		1ull << 32,
		1ull << 40,
		7,
		(1ull << 40) + 1,
		T27 - 1,
		(1ull << 50) + 12345,
		0,
		1,
		(1ull << 33) - 1,
		2,
		(1ull << 45) + (T27 - 1),
		3,
	};
	static const uint64_t rnd_steps[] = { 0,       1,   2,	     T27 / 2 + 1,
					      T27 - 1, T27, T27 + 1, 1ull << 33 };
	uint64_t ts = 1000, seed = 42;
	uint32_t seq = 0, i, which = 0;

	/* Many steps of about 2^26: the low 27 bits wrap every other event
	 * while every delta fits the compact header. */
	for (i = 0; i < 400; i++) {
		ts += (1ull << 26) + 12345 + i;
		write_edge(w, which++ % 8, seq++, ts);
	}
	for (i = 0; i < NR(fixed); i++) {
		ts += fixed[i];
		write_edge(w, which++ % 8, seq++, ts);
	}
	/* Walk over 27-bit boundaries one cycle at a time. */
	for (i = 0; i < 6; i++) {
		uint32_t k;

		ts = ((ts >> 27) + 1 + i * 3) << 27;
		ts += T27 - 3;
		for (k = 0; k < 6; k++)
			write_edge(w, which++ % 8, seq++, ts + k);
		ts += 5;
	}
	/* Exactly a multiple of 2^32, minus one, then plus one. */
	ts = ((ts >> 32) + 1) << 32;
	write_edge(w, 0, seq++, ts - 1);
	write_edge(w, 3, seq++, ts);
	write_edge(w, 1, seq++, ts + 1);
	ts += 1;
	/* Random mixes of steps and events. */
	for (i = 0; i < 2000; i++) {
		uint64_t r = splitmix(&seed);
		uint64_t step = rnd_steps[r % NR(rnd_steps)];

		if (r >> 60 == 0)
			step = (r >> 8) % T27;
		else if (r >> 60 == 1)
			step = (r >> 8) % (8 * T27);
		ts += step;
		write_edge(w, (uint32_t)(r >> 32) % 8, seq++, ts);
	}
	if (ts >= (1ull << 62))
		FAIL("edges: timestamps went past 2^62");
}

/* Events whose field names a CTF reader may not tell apart. */
static void pattern_names(struct writer *w)
{
	const struct scenario *sc = w->run->sc;
	uint32_t seq;

	for (seq = 0; seq < sc->events; seq++) {
		uint32_t a = seq * 3 + 1, b = seq * 5 + 2;
		int ret;

		if (sc->event_list == under_events) {
			ret = ev_under_write(sc->cfg, w->run->ch, a, b);
			note_result(w, ret);
			if (ret)
				continue;
			/* As a CTF reader names them: "_x" is "x". */
			emit_head(w->out, clk_last, "itest:underscore", w->wid, seq);
			fprintf(w->out, "[\"x\",%u],[\"x\",%u]]}\n", a, b);
		} else {
			unsigned char p[4 + 4 + 4];
			uint32_t n = seq % 5;

			memcpy(p, &n, 4);
			memset(p + 4, (int)seq, n);
			memcpy(p + 4 + n, &a, 4);
			ret = grb_write_record(sc->cfg, w->run->ch, ev_seqlen_event.id, p, 8 + n);
			note_result(w, ret);
			if (ret)
				continue;
			emit_head(w->out, clk_last, "itest:seq_length", w->wid, seq);
			fprintf(w->out, "[\"data_len\",%u],[\"data\",[", n);
			for (a = 0; a < n; a++)
				fprintf(w->out, "%s%u", a ? "," : "", seq & 0xff);
			fprintf(w->out, "]],[\"data_len\",%u]]}\n", seq * 3 + 1);
		}
	}
}

static void *writer_main(void *arg)
{
	struct writer *w = (struct writer *)arg;

	switch (w->run->sc->pattern) {
	case P_ALL:
		pattern_all(w);
		break;
	case P_EDGES:
		pattern_edges(w);
		break;
	case P_BURSTS:
		pattern_bursts(w);
		break;
	case P_LOSS_AT_END:
		pattern_loss_at_end(w);
		break;
	case P_NAMES:
		pattern_names(w);
		break;
	case P_NO_PACKET:
		pattern_no_packet(w);
		break;
	case P_FIRST_PACKET:
		pattern_first_packet(w);
		break;
	}
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* A recording scenario                                                      */

static void stream_file_name(const struct run *r, uint32_t i, char *buf, size_t size)
{
	struct grb_stream_stats st;
	uint32_t n = i;

	if (!grb_channel_read_stream_stats(r->ch, i, &st) && st.cpu != UINT32_MAX)
		n = st.cpu;
	snprintf(buf, size, "channel0_%u", n);
}

static int record(const struct scenario *sc, const char *dir, const char *expected)
{
	struct grb_ctf_trace_attr a;
	struct run r;
	FILE *f;
	uint32_t i, k, nr_streams, wave, first;
	uint64_t attempts = 0, ok = 0, failed = 0, disk_events = 0, dropped_events = 0;
	uint64_t lost[GRB_LOST_NR] = { 0 };
	int stop_ret;
	const char *err;

	memset(&r, 0, sizeof(r));
	r.sc = sc;
	__atomic_store_n(&clk_step, sc->clock_step, __ATOMIC_SEQ_CST);
	clock_set(1000);

	grb_ctf_trace_attr_init(&a);
	a.path = dir;
	a.events = sc->event_list ? sc->event_list : all_events;
	a.nr_events = sc->event_list ? sc->nr_event_list : NR_EVENTS;
	a.chan.subbuf_size = sc->subbuf_size;
	a.chan.subbuf_count = sc->subbuf_count;
	if (sc->nr_streams)
		a.chan.nr_streams = sc->nr_streams;
	if (sc->switch_timer_us)
		a.chan.switch_timer_us = sc->switch_timer_us;
	if (sc->read_period_us)
		a.read_period_us = sc->read_period_us;
	a.clock.name = "itest_clock";
	a.clock.description = "the test's controlled clock";
	a.clock.freq = 1000000000u;
	a.clock.offset_set = 1;
	a.clock.offset_s = 0;
	a.clock.offset = 0;
	a.clock.uuid = CLOCK_UUID;
	a.hostname = "itest-host";

	r.t = grb_ctf_trace_create(sc->cfg, &a);
	if (!r.t && sc->refuse_event && errno == EINVAL) {
		/* Refusing is a right answer: with a message naming both. */
		check_msg(sc->name, grb_last_error(), sc->refuse_event, sc->refuse_field);
		f = fopen(expected, "w");
		if (!f ||
		    fprintf(f, "{\"summary\":{\"scenario\":\"%s\",\"refused\":1}}\n", sc->name) <
			    0 ||
		    fclose(f))
			FAIL("%s: writing %s failed", sc->name, expected);
		return failures ? 1 : 0;
	}
	if (!r.t) {
		FAIL("%s: grb_ctf_trace_create(%s): %s (%s)", sc->name, dir, strerror(errno),
		     grb_last_error());
		return 1;
	}
	r.ch = grb_ctf_trace_channel(r.t);
	r.w = (struct writer *)calloc(sc->nr_writers, sizeof(*r.w));
	if (!r.w)
		return 1;
	wave = sc->wave ? sc->wave : sc->nr_writers;
	for (first = 0; first < sc->nr_writers; first += wave) {
		uint32_t end = first + wave < sc->nr_writers ? first + wave : sc->nr_writers;

		for (i = first; i < end; i++) {
			struct writer *w = &r.w[i];

			w->wid = i + 1;
			w->run = &r;
			w->seed = 0x1234567ull * (i + 1);
			w->out = open_memstream(&w->buf, &w->len);
			if (!w->out) {
				FAIL("open_memstream: %s", strerror(errno));
				return 1;
			}
			if (pthread_create(&w->thread, NULL, writer_main, w)) {
				FAIL("pthread_create failed");
				return 1;
			}
		}
		for (i = first; i < end; i++)
			pthread_join(r.w[i].thread, NULL);
	}

	stop_ret = grb_ctf_trace_stop(r.t);
	err = grb_ctf_trace_error(r.t);
	if (sc->expect_enospc) {
		char want[4096];

		if (stop_ret != -ENOSPC)
			FAIL("%s: grb_ctf_trace_stop returned %d (%s), expected -ENOSPC", sc->name,
			     stop_ret, strerror(-stop_ret));
		snprintf(want, sizeof(want), "%s/", dir);
		if (!strstr(err, want) || !strstr(err, "channel0_") ||
		    !strstr(err, "No space left on device"))
			FAIL("%s: grb_ctf_trace_error() = \"%s\": expected the file (%s...) and "
			     "\"No space left on device\"",
			     sc->name, err, want);
		else
			printf("%s: grb_ctf_trace_stop: %d, error: %s\n", sc->name, stop_ret, err);
	} else if (stop_ret) {
		FAIL("%s: grb_ctf_trace_stop returned %d: %s", sc->name, stop_ret, err);
	} else if (err[0]) {
		FAIL("%s: grb_ctf_trace_error() = \"%s\" after a clean stop", sc->name, err);
	}

	f = fopen(expected, "w");
	if (!f) {
		FAIL("%s: %s", expected, strerror(errno));
		return 1;
	}
	for (i = 0; i < sc->nr_writers; i++) {
		struct writer *w = &r.w[i];

		fclose(w->out);
		fwrite(w->buf, 1, w->len, f);
		free(w->buf);
		attempts += w->attempts;
		ok += w->ok;
		failed += w->failed;
		if (w->failed && sc->no_loss)
			FAIL("%s: writer %u: %" PRIu64 " of %" PRIu64 " writes failed (first: %s)",
			     sc->name, w->wid, w->failed, w->attempts, strerror(-w->first_err));
	}
	nr_streams = grb_channel_nr_streams(r.ch);
	fprintf(f,
		"{\"summary\":{\"scenario\":\"%s\",\"check\":\"%s\",\"writers\":%u,"
		"\"attempts\":%" PRIu64 ",\"ok\":%" PRIu64 ",\"failed\":%" PRIu64
		",\"stop\":%d,\"expect_discarded_packets\":%d,\"streams\":[",
		sc->name, sc->check, sc->nr_writers, attempts, ok, failed, stop_ret,
		sc->expect_discarded_packets);
	for (i = 0; i < nr_streams; i++) {
		struct grb_ctf_stream_stats st;
		char name[64];
		uint64_t nonover = 0;

		if (grb_ctf_trace_stream_stats(r.t, i, &st)) {
			FAIL("%s: grb_ctf_trace_stream_stats(%u) failed", sc->name, i);
			continue;
		}
		for (k = 0; k < GRB_LOST_NR; k++) {
			lost[k] += st.lost[k];
			if (k != GRB_LOST_OVERWRITTEN)
				nonover += st.lost[k];
		}
		disk_events += st.events;
		dropped_events += st.events_dropped;
		stream_file_name(&r, i, name, sizeof(name));
		fprintf(f,
			"%s{\"index\":%u,\"file\":\"%s\",\"packets\":%" PRIu64
			",\"events\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"packets_dropped\":%" PRIu64
			",\"events_dropped\":%" PRIu64 ",\"lost_discarded\":%" PRIu64
			",\"lost_overwritten\":%" PRIu64 ",\"lost\":",
			i ? "," : "", i, name, st.packets, st.events, st.bytes, st.packets_dropped,
			st.events_dropped, nonover, st.lost[GRB_LOST_OVERWRITTEN]);
		emit_ints_u(f, st.lost, GRB_LOST_NR);
		fputc('}', f);
	}
	fprintf(f, "]}}\n");
	if (fclose(f))
		FAIL("%s: writing %s failed", sc->name, expected);

	printf("%s: %u writer(s), %" PRIu64 " writes, %" PRIu64 " ok, %" PRIu64
	       " failed; %u stream(s), %" PRIu64 " events on disk; lost:",
	       sc->name, sc->nr_writers, attempts, ok, failed, nr_streams, disk_events);
	for (k = 0; k < GRB_LOST_NR; k++)
		if (lost[k])
			printf(" %s %" PRIu64, grb_lost_cause_name((enum grb_lost_cause)k),
			       lost[k]);
	printf("\n");

	/* grb's own books must balance before babeltrace2 is asked. */
	{
		uint64_t nonover = 0;

		for (k = 0; k < GRB_LOST_NR; k++)
			if (k != GRB_LOST_OVERWRITTEN)
				nonover += lost[k];
		if (attempts - ok != nonover)
			FAIL("%s: %" PRIu64 " writes failed but grb counted %" PRIu64
			     " lost (all causes but overwritten)",
			     sc->name, attempts - ok, nonover);
		if (sc->no_loss && (nonover || lost[GRB_LOST_OVERWRITTEN]))
			FAIL("%s: records were lost in a ring meant to keep everything", sc->name);
		if (sc->expect_lost && !failed)
			FAIL("%s: no write failed: the scenario did not force losses", sc->name);
		if (disk_events + dropped_events + lost[GRB_LOST_OVERWRITTEN] != ok)
			FAIL("%s: %" PRIu64 " events on disk + %" PRIu64 " dropped + %" PRIu64
			     " overwritten != %" PRIu64 " written",
			     sc->name, disk_events, dropped_events, lost[GRB_LOST_OVERWRITTEN], ok);
	}
	grb_ctf_trace_destroy(r.t);
	free(r.w);
	return failures ? 1 : 0;
}

/* ------------------------------------------------------------------------ */
/* 5. Bad input                                                              */

/* Events that CTF or grb refuse. */
#define ONE_FIELD(F) F(u32, x)
GRB_CTF_EVENT(bad_name, "itest:bad-name", 5, ONE_FIELD)
GRB_CTF_EVENT(bad_name2, "itest:9lives", 5, ONE_FIELD)
GRB_CTF_EVENT(bad_dup, "itest:dup", 3, ONE_FIELD) /* the id of itest:all */
GRB_CTF_EVENT(bad_reserved, "itest:reserved", 29, ONE_FIELD)
#define KEYWORD_FIELD(F) F(u32, integer)
GRB_CTF_EVENT(bad_keyword, "itest:keyword", 6, KEYWORD_FIELD)
#define KEYWORD2_FIELD(F) F(u32, x) F(u32, variant)
GRB_CTF_EVENT(bad_keyword2, "itest:keyword2", 7, KEYWORD2_FIELD)
#define HUGE_STRING(F) F(u32, x) F(string, huge_text, 100000)
GRB_CTF_EVENT(bad_huge, "itest:huge", 8, HUGE_STRING)
#define JUST_TOO_BIG(F) F(u64, x) F(seq_u8, just_too_big, 4096)
GRB_CTF_EVENT(bad_just, "itest:just_too_big", 9, JUST_TOO_BIG)

static const struct grb_ctf_field_desc nonident_fields[] = {
	{ "ok_field", GRB_CTF_U32, GRB_CTF_U32, 0, NULL },
	{ "has-dash", GRB_CTF_U32, GRB_CTF_U32, 0, NULL },
};
static const struct grb_ctf_event_desc bad_nonident = { "itest:nonident", 10, 2, nonident_fields };
static const struct grb_ctf_field_desc space_fields[] = {
	{ "has space", GRB_CTF_U8, GRB_CTF_U8, 0, NULL },
};
static const struct grb_ctf_event_desc bad_space = { "itest:space", 11, 1, space_fields };
static const struct grb_ctf_field_desc digit_fields[] = {
	{ "9lives", GRB_CTF_U8, GRB_CTF_U8, 0, NULL },
};
static const struct grb_ctf_event_desc bad_digit = { "itest:digit", 12, 1, digit_fields };

/* Nothing a later create would trip over: the path is absent or empty. */
static void check_nothing_left(const char *what, const char *path)
{
	char cmd[4200];
	struct stat st;

	if (stat(path, &st))
		return;
	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s')\"", path);
	if (system(cmd))
		FAIL("%s: the failed create left files in %s", what, path);
}

static void expect_create_fails(const char *what, const char *path,
				const struct grb_ctf_event_desc *const *ev, uint32_t nr, int err,
				const char *n1, const char *n2)
{
	struct grb_ctf_trace_attr a;
	struct grb_ctf_trace *t;

	grb_ctf_trace_attr_init(&a);
	a.path = path;
	a.events = ev;
	a.nr_events = nr;
	a.chan.subbuf_size = 4096;
	a.chan.subbuf_count = 2;
	a.clock.offset_set = 1;
	a.clock.uuid = CLOCK_UUID;
	errno = 0;
	t = grb_ctf_trace_create(&cfg_global_discard, &a);
	if (t) {
		FAIL("%s: grb_ctf_trace_create succeeded", what);
		grb_ctf_trace_destroy(t);
		return;
	}
	if (errno != err) {
		FAIL("%s: errno %d (%s), expected %d (%s)", what, errno, strerror(errno), err,
		     strerror(err));
		return;
	}
	check_msg(what, grb_last_error(), n1, n2);
	if (err == EINVAL) {
		/* The same verdict from the validation function itself. */
		int r = grb_ctf_validate_events(ev, nr, 4096);

		if (r != -EINVAL)
			FAIL("%s: grb_ctf_validate_events returned %d, expected -EINVAL", what, r);
		else if (!strstr(grb_last_error(), n1) || (n2 && !strstr(grb_last_error(), n2)))
			check_msg(what, grb_last_error(), n1, n2); /* says why */
		check_nothing_left(what, path);
	}
}

static int bad_input(const char *work)
{
	char nonempty[4096], missing[4096], fresh[4096], file[4200];
	FILE *f;
	uint32_t i;

	snprintf(nonempty, sizeof(nonempty), "%s/nonempty", work);
	snprintf(missing, sizeof(missing), "%s/no/such/parent/trace", work);
	snprintf(fresh, sizeof(fresh), "%s/fresh", work);
	if (mkdir(nonempty, 0755) && errno != EEXIST) {
		FAIL("mkdir %s: %s", nonempty, strerror(errno));
		return 1;
	}
	snprintf(file, sizeof(file), "%s/somebody_elses_file", nonempty);
	f = fopen(file, "w");
	if (!f || fputs("keep me\n", f) < 0 || fclose(f)) {
		FAIL("creating %s failed", file);
		return 1;
	}

	{
		const struct grb_ctf_event_desc *const ok[] = { &ev_all_event };

		expect_create_fails("non-empty directory", nonempty, ok, 1, EEXIST, nonempty, NULL);
		f = fopen(file, "r");
		if (!f)
			FAIL("non-empty directory: %s is gone", file);
		else
			fclose(f);
		expect_create_fails("missing parent", missing, ok, 1, ENOENT, missing, NULL);
		/* A regular file in the way. */
		expect_create_fails("file in the way", file, ok, 1, EEXIST, file, NULL);
	}
	{
		struct {
			const char *what;
			const struct grb_ctf_event_desc *e;
			const char *n1, *n2;
		} cases[] = {
			{ "invalid event name (dash)", &bad_name_event, "itest:bad-name", NULL },
			{ "invalid event name (digit)", &bad_name2_event, "itest:9lives", NULL },
			{ "duplicate event id", &bad_dup_event, "itest:dup", "itest:all" },
			{ "reserved event id", &bad_reserved_event, "itest:reserved", "29" },
			{ "field named by a TSDL keyword", &bad_keyword_event, "itest:keyword",
			  "integer" },
			{ "second field a TSDL keyword", &bad_keyword2_event, "itest:keyword2",
			  "variant" },
			{ "field name with a dash", &bad_nonident, "itest:nonident", "has-dash" },
			{ "field name with a space", &bad_space, "itest:space", "has space" },
			{ "field name starting with a digit", &bad_digit, "itest:digit", "9lives" },
			{ "string max larger than the sub-buffer", &bad_huge_event, "itest:huge",
			  "huge_text" },
			{ "sequence just too large for the sub-buffer", &bad_just_event,
			  "itest:just_too_big", "just_too_big" },
		};

		for (i = 0; i < NR(cases); i++) {
			const struct grb_ctf_event_desc *const list[] = { &ev_all_event,
									  cases[i].e };

			expect_create_fails(cases[i].what, fresh, list, 2, EINVAL, cases[i].n1,
					    cases[i].n2);
		}
	}
	{
		/* GRB_CTF_MAX_FIELDS + 1 fields. */
		static struct grb_ctf_field_desc many[GRB_CTF_MAX_FIELDS + 1];
		static char names[GRB_CTF_MAX_FIELDS + 1][8];
		static const struct grb_ctf_event_desc too_many = { "itest:too_many", 13,
								    GRB_CTF_MAX_FIELDS + 1, many };
		static const struct grb_ctf_event_desc just_enough = { "itest:just_enough", 14,
								       GRB_CTF_MAX_FIELDS, many };
		const struct grb_ctf_event_desc *const list[] = { &too_many };
		const struct grb_ctf_event_desc *const list_ok[] = { &just_enough };

		for (i = 0; i <= GRB_CTF_MAX_FIELDS; i++) {
			snprintf(names[i], sizeof(names[i]), "f%u", i);
			many[i].name = names[i];
			many[i].type = GRB_CTF_U8;
			many[i].elem = GRB_CTF_U8;
		}
		expect_create_fails("too many fields", fresh, list, 1, EINVAL, "itest:too_many",
				    "129");
		if (grb_ctf_validate_events(list_ok, 1, 4096))
			FAIL("%u fields refused: %s", GRB_CTF_MAX_FIELDS, grb_last_error());
	}
	{
		/* The largest sequence that fits is accepted: the limit is exact. */
		struct grb_ctf_field_desc fd[2] = {
			{ "x", GRB_CTF_U64, GRB_CTF_U64, 0, NULL },
			{ "s", GRB_CTF_SEQUENCE, GRB_CTF_U8, 0, NULL },
		};
		struct grb_ctf_event_desc e = { "itest:limit", 16, 2, fd };
		const struct grb_ctf_event_desc *const l2[] = { &e };

		/* record: 13 header + 8 + 4 + n <= 4096 - 84 */
		fd[1].len = 4096 - 84 - 13 - 8 - 4;
		if (grb_ctf_validate_events(l2, 1, 4096))
			FAIL("the largest sequence that fits is refused: %s", grb_last_error());
		fd[1].len++;
		if (grb_ctf_validate_events(l2, 1, 4096) != -EINVAL)
			FAIL("a sequence one byte too large is accepted");
	}
	return failures ? 1 : 0;
}

/* ------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	init_cpus();
	if (argc == 2 && !strcmp(argv[1], "list")) {
		for (i = 0; i < NR_SCENARIOS; i++)
			printf("%s\n", scenarios[i].name);
		printf("bad-input\n");
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "bad-input"))
		return bad_input(argv[2]);
	if (argc == 4)
		for (i = 0; i < NR_SCENARIOS; i++)
			if (!strcmp(argv[1], scenarios[i].name))
				return record(&scenarios[i], argv[2], argv[3]);
	fprintf(stderr, "usage: %s SCENARIO TRACE_DIR EXPECTED_FILE | bad-input WORK_DIR | list\n",
		argv[0]);
	return 2;
}
