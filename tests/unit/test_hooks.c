// SPDX-License-Identifier: MIT
/*
 * test_hooks.c - the client hooks of the record header (struct grb_ctx's
 * prev_ts, lost and client_word), through a client whose header holds a
 * 27-bit delta to the previous record, time-extend and time-stamp records
 * and a LOST record (ft_client.h), with every sync:
 *
 *  - deltas: a clock that steps by amounts around 2^27 (ft_clock); every
 *    record carries the timestamp it was given in its payload, and the
 *    decoder, which adds deltas to the previous record's time, must find
 *    it.  One thread with signal handlers writing nested records from
 *    inside the reservation (the clock and header-size callbacks, between
 *    the offset load and its CAS), from the header write (after the CAS)
 *    and between reserve and commit, records discarded (given back with the
 *    single writer) and flushes; then several threads on one stream (atomic)
 *    and more threads than CPUs on per-CPU streams (atomic, rseq), and one
 *    thread writing two channels of the same geometry in turn.  Two
 *    records of a thread one right after the other must not need a full
 *    timestamp: the core must know the previous one exactly then;
 *  - losses: a record written after N losses reports exactly N, the next
 *    one 0; with concurrent writers the counts reported plus those not
 *    reported yet equal the loss counters;
 *  - client_word reaches both header callbacks and the header.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <grb/grb.h>

#include "check.h"
#include "ft_client.h"
#include "pin.h"

/* ---------------------------------------------------------------------- */
/* The clock: its n-th read returns T0 plus the first n steps.             */
/* ---------------------------------------------------------------------- */

#define T0 1000
#define E27 (1ull << 27)
static const uint64_t steps[] = {
	1, E27 - 1, 1, E27,	    2, E27 + 1, 3,	    E27 - 2, 1,	  2 * E27,
	5, E27 + 7, 1, 3 * E27 + 9, 4, E27 - 1, 1ull << 33, 1,	     E27, 6,
};
#define NR_STEPS (sizeof(steps) / sizeof(steps[0]))
static uint64_t step_sum, step_prefix[NR_STEPS];
static uint64_t clk_calls;

static uint64_t clk_value(uint64_t n)
{
	return T0 + n / NR_STEPS * step_sum + step_prefix[n % NR_STEPS];
}

/* Signals raised from inside a reservation (see inject()). */
static int inject_every;
static __thread int in_handler;
static __thread uint64_t inject_calls;

static void inject(void)
{
	if (inject_every && !in_handler && ++inject_calls % (uint64_t)inject_every == 0)
		raise(SIGUSR1);
}

static uint64_t ft_clock(void)
{
	/* A locked RMW: ordered with the reservation's loads and CAS. */
	uint64_t n = __atomic_fetch_add(&clk_calls, 1, __ATOMIC_SEQ_CST);

	inject();
	return clk_value(n);
}

static uint32_t hs_inject(const struct grb_config *cfg, const struct grb_ctx *ctx)
{
	inject();
	return ft_header_size(cfg, ctx);
}

static void hw_inject(const struct grb_config *cfg, const struct grb_ctx *ctx)
{
	inject();
	ft_header_write(cfg, ctx);
}

/* ---------------------------------------------------------------------- */
/* Configurations                                                          */
/* ---------------------------------------------------------------------- */

#define CFG(name, alloc, sync, mode, bits) \
	static const struct grb_config name = FT_CONFIG(alloc, sync, mode, bits, ft_clock)

CFG(cfg_atomic_global_59, GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD, 59);
CFG(cfg_atomic_global_27, GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD, 27);
CFG(cfg_atomic_cpu_59, GRB_ALLOC_PER_CPU, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD, 59);
CFG(cfg_atomic_cpu_27, GRB_ALLOC_PER_CPU, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD, 27);
CFG(cfg_rseq_59, GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_DISCARD, 59);
CFG(cfg_rseq_27, GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_DISCARD, 27);
CFG(cfg_single_59, GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_MODE_DISCARD, 59);
CFG(cfg_single_27, GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_MODE_DISCARD, 27);

/* The same with signals raised from the header callbacks too. */
#define CFG_INJ(_var, _alloc, _sync, _bits)          \
	static const struct grb_config _var = {      \
		.abi = GRB_CONFIG_ABI,               \
		.alloc = (_alloc),                   \
		.sync = (_sync),                     \
		.mode = GRB_MODE_DISCARD,            \
		.wakeup = GRB_WAKEUP_NONE,           \
		.ts_bits = (_bits),                  \
		.max_nesting = 4,                    \
		.record_align = 4,                   \
		.packet_header_size = 8,             \
		.min_record_size = FT_EVENT_SIZE,    \
		.clock_read = ft_clock,              \
		.record_header_size = hs_inject,     \
		.record_header_write = hw_inject,    \
		.packet_begin = ft_packet_begin,     \
		.packet_end = ft_packet_end,         \
		.record_decode = ft_record_decode,   \
		.record_discard = ft_record_discard, \
		.name = "ft-inject",                 \
		.packet_published = NULL,            \
		.prev_ts_exact = 1,                  \
	}

CFG_INJ(cfg_inj_atomic_59, GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, 59);
CFG_INJ(cfg_inj_atomic_27, GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, 27);
CFG_INJ(cfg_inj_rseq_59, GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, 59);
CFG_INJ(cfg_inj_rseq_27, GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, 27);
CFG_INJ(cfg_inj_single_59, GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, 59);
CFG_INJ(cfg_inj_single_27, GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, 27);

static struct grb_channel *make(const struct grb_config *cfg, uint32_t sb, uint32_t n)
{
	struct grb_channel_attr a;
	struct grb_channel *ch;

	grb_channel_attr_init(&a);
	a.subbuf_size = sb;
	a.subbuf_count = n;
	a.nr_streams = 8;
	ch = grb_channel_create(cfg, &a);
	if (!ch)
		fprintf(stderr, "test_hooks: %s: %s\n", cfg->name, grb_last_error());
	CHECK(ch != NULL);
	return ch;
}

/* ---------------------------------------------------------------------- */
/* Writing                                                                 */
/* ---------------------------------------------------------------------- */

/* A record's payload: its timestamp and who wrote it. */
struct payload {
	uint64_t ts;
	uint64_t who; /* thread << 40 | kind << 32 | sequence number */
};
#define KIND_OUTER 1ull
#define KIND_NESTED 2ull
#define KIND_ALTERNATE 3ull /* by put(), on two channels in turn */
#define WHO(thr, kind, seq) ((uint64_t)(thr) << 40 | (kind) << 32 | (uint64_t)(seq))

/* What the writers did, for the checks. */
struct tally {
	uint64_t committed, discarded, nested, lost_claimed;
};

static const struct grb_config *cur_cfg;
static struct grb_channel *cur_ch;
static __thread int cur_thr;
static __thread uint64_t nested_seq;
static __thread struct tally *cur_tally;

/* Reserves, writes the payload, commits (or discards when discard). */
static int put(const struct grb_config *cfg, struct grb_channel *ch, uint64_t who, int discard,
	       struct tally *t)
{
	struct grb_ctx ctx;
	struct payload p;
	int ret;

	ctx.event_id = 7;
	ctx.payload_len = sizeof(p);
	ctx.client_word = (uint32_t)who;
	ret = grb_reserve(cfg, ch, &ctx);
	if (ret)
		return ret;
	CHECK(ft_seen_size_word == (uint32_t)who && ft_seen_write_word == (uint32_t)who);
	p.ts = ctx.ts;
	p.who = who;
	grb_write(&ctx, &p, sizeof(p));
	if (discard) {
		grb_discard(cfg, &ctx);
		t->discarded++;
	} else {
		t->lost_claimed += ctx.lost;
		grb_commit(cfg, &ctx);
		t->committed++;
	}
	return 0;
}

static void on_usr1(int sig)
{
	int saved = errno;
	/* What the interrupted reservation's callbacks saw, kept for its
	 * checks. */
	uint32_t size_word = ft_seen_size_word, write_word = ft_seen_write_word;

	(void)sig;
	in_handler = 1;
	if (cur_ch && cur_tally) {
		uint64_t n = nested_seq++;

		/* Every third nested record is discarded: given back with the
		 * single writer when nothing came after it. */
		if (put(cur_cfg, cur_ch, WHO(cur_thr, KIND_NESTED, n), n % 3 == 2, cur_tally) == 0)
			cur_tally->nested++;
	}
	in_handler = 0;
	ft_seen_size_word = size_word;
	ft_seen_write_word = write_word;
	errno = saved;
}

/* One thread's records: n outer records, some discarded, some with a
 * signal (a nested record) between reserve and commit, and flushes when
 * flush_every is not 0. */
static void write_outer(int thr, uint64_t n, int flush_every, struct tally *t)
{
	uint64_t i;
	int ret;

	cur_thr = thr;
	cur_tally = t;
	for (i = 0; i < n; i++) {
		struct grb_ctx ctx;
		struct payload p;
		uint64_t who = WHO(thr, KIND_OUTER, i);

		ctx.event_id = 3;
		ctx.payload_len = sizeof(p);
		ctx.client_word = (uint32_t)who;
		ret = grb_reserve(cur_cfg, cur_ch, &ctx);
		if (ret != 0) {
			fprintf(stderr, "test_hooks: %s: thread %d record %llu: %s\n",
				cur_cfg->name, thr, (unsigned long long)i, strerror(-ret));
			CHECK(0);
			continue;
		}
		CHECK(ft_seen_size_word == (uint32_t)who && ft_seen_write_word == (uint32_t)who);
		p.ts = ctx.ts;
		p.who = who;
		grb_write(&ctx, &p, sizeof(p));
		if (i % 13 == 5)
			raise(SIGUSR1);
		if (i % 11 == 3) {
			grb_discard(cur_cfg, &ctx);
			t->discarded++;
		} else {
			t->lost_claimed += ctx.lost;
			grb_commit(cur_cfg, &ctx);
			t->committed++;
		}
		if (flush_every && i % (uint64_t)flush_every == (uint64_t)flush_every - 1)
			grb_channel_flush(cur_ch);
	}
	cur_tally = NULL;
}

/* ---------------------------------------------------------------------- */
/* Reading back                                                            */
/* ---------------------------------------------------------------------- */

struct readback {
	uint64_t records, discarded, packets;
	uint64_t time_stamps, time_extends, compact;
	uint64_t lost_reported; /* by records not discarded */
	uint64_t adjacent; /* outer records right after the thread's previous one */
	uint64_t bad_ts, bad_word, bad_full, bad;
	int ts_bits;
};

static void check_record(struct readback *rb, const struct ft_rec *r, const struct payload *p,
			 const struct payload *prev, int prev_valid)
{
	uint64_t kind = p->who >> 32 & 0xff, thr = p->who >> 40;

	if (r->ts != p->ts)
		rb->bad_ts++;
	if (r->client_word != (uint32_t)p->who || r->event_id != (kind == KIND_OUTER ? 3u : 7u))
		rb->bad_word++;
	if (r->time_stamp)
		rb->time_stamps++;
	else if (r->time_extend)
		rb->time_extends++;
	else
		rb->compact++;
	if (r->discarded)
		rb->discarded++;
	else
		rb->lost_reported += r->lost;
	/* The thread's previous outer record right before this one in the
	 * stream: nothing came between, the core knew its timestamp. */
	if (prev_valid && kind == KIND_OUTER && (prev->who >> 32 & 0xff) == KIND_OUTER &&
	    prev->who >> 40 == thr && (prev->who & 0xffffffffu) + 1 == (p->who & 0xffffffffu)) {
		int need_full = rb->ts_bits < 59 && p->ts - prev->ts > FT_DELTA_MAX;

		rb->adjacent++;
		if (r->time_stamp != need_full)
			rb->bad_full++;
	}
}

/* Reads every packet of every stream (the channel is finalized). */
static void read_back(struct grb_channel *ch, struct readback *rb)
{
	uint32_t s, n = grb_channel_nr_streams(ch);

	for (s = 0; s < n; s++) {
		struct grb_reader *r = grb_reader_create(ch, s, 0);
		struct grb_packet pkt;
		int ret;

		CHECK(r != NULL);
		if (!r)
			continue;
		while ((ret = grb_reader_get_next(r, &pkt)) == 0) {
			uint64_t off = pkt.header_size, end = pkt.info.content_size;
			uint64_t prev_ts = pkt.info.ts_begin;
			struct payload prev = { 0, 0 };
			int prev_valid = 0, first = 1;

			rb->packets++;
			while (off < end) {
				struct ft_rec rec;
				struct payload p;

				if (ft_decode(pkt.data + off, end - off, prev_ts, &rec) ||
				    rec.payload_len != sizeof(p)) {
					rb->bad++;
					break;
				}
				if (first && !rec.time_stamp)
					rb->bad_full++; /* a packet's first record */
				first = 0;
				memcpy(&p, pkt.data + off + rec.header_len, sizeof(p));
				check_record(rb, &rec, &p, &prev, prev_valid);
				rb->records++;
				prev = p;
				prev_valid = 1;
				prev_ts = rec.ts;
				off += rec.len;
			}
			grb_reader_put(r, &pkt);
		}
		CHECK(ret == -ENODATA);
		grb_reader_destroy(r);
	}
}

static void report(const char *what, const struct readback *rb)
{
	printf("test_hooks: %-28s %6llu records in %4llu packets: %5llu time stamps, %5llu "
	       "extends, %6llu compact, %6llu adjacent\n",
	       what, (unsigned long long)rb->records, (unsigned long long)rb->packets,
	       (unsigned long long)rb->time_stamps, (unsigned long long)rb->time_extends,
	       (unsigned long long)rb->compact, (unsigned long long)rb->adjacent);
	if (rb->bad_ts || rb->bad_word || rb->bad_full || rb->bad)
		fprintf(stderr,
			"test_hooks: %s: %llu wrong timestamps, %llu wrong words, %llu wrong "
			"full-timestamp choices, %llu undecodable\n",
			what, (unsigned long long)rb->bad_ts, (unsigned long long)rb->bad_word,
			(unsigned long long)rb->bad_full, (unsigned long long)rb->bad);
	CHECK(rb->bad_ts == 0);
	CHECK(rb->bad_word == 0);
	CHECK(rb->bad_full == 0);
	CHECK(rb->bad == 0);
}

/* ---------------------------------------------------------------------- */
/* Deltas, one thread with nested signal-handler records                   */
/* ---------------------------------------------------------------------- */

#define ONE_N 6000

static void test_one_thread(const struct grb_config *cfg, int ts_bits, int every)
{
	struct grb_channel *ch = make(cfg, 4096, 256);
	struct grb_channel_stats st;
	struct tally t = { 0 };
	struct readback rb = { 0 };
	char what[64];

	if (!ch)
		return;
	rb.ts_bits = ts_bits;
	cur_cfg = cfg;
	cur_ch = ch;
	inject_every = every;
	write_outer(0, ONE_N, 500, &t);
	inject_every = 0;
	cur_ch = NULL;
	grb_channel_finalize(ch);
	read_back(ch, &rb);
	snprintf(what, sizeof(what), "%s/%d%s", cfg->name, ts_bits, every ? " nested" : "");
	report(what, &rb);
	CHECK(grb_channel_read_stats(ch, &st) == 0 && st.lost_total == 0);
	/* Every record written is there (given-back ones are not; marked
	 * ones are, marked). */
	CHECK(rb.records - rb.discarded == t.committed);
	CHECK(t.nested > 0 && rb.adjacent > ONE_N / 4);
	/* The deltas were used: around 2^27, both sides. */
	CHECK(rb.compact > 0 && (ts_bits < 59 || rb.time_extends > 0));
	CHECK(rb.lost_reported == 0 && t.lost_claimed == 0);
	grb_channel_destroy(ch);
}

/* ---------------------------------------------------------------------- */
/* Deltas, one thread on two streams in turn                               */
/* ---------------------------------------------------------------------- */

/* Both channels have the same geometry and records: their positions are
 * the same, and only the stream tells the thread's last record on one
 * from the other's. */
static void test_two_streams(const struct grb_config *cfg, int ts_bits)
{
	struct grb_channel *ch[2] = { make(cfg, 4096, 64), make(cfg, 4096, 64) };
	struct tally t = { 0 };
	uint64_t i;
	int c;

	if (!ch[0] || !ch[1])
		return;
	for (i = 0; i < 2000; i++)
		for (c = 0; c < 2; c++)
			CHECK(put(cfg, ch[c], WHO(c, KIND_ALTERNATE, i), 0, &t) == 0);
	for (c = 0; c < 2; c++) {
		struct readback rb = { 0 };
		char what[64];

		rb.ts_bits = ts_bits;
		grb_channel_finalize(ch[c]);
		read_back(ch[c], &rb);
		snprintf(what, sizeof(what), "%s/%d channel %d of 2", cfg->name, ts_bits, c);
		report(what, &rb);
		CHECK(rb.records == 2000);
		grb_channel_destroy(ch[c]);
	}
}

/* ---------------------------------------------------------------------- */
/* Deltas, several threads                                                 */
/* ---------------------------------------------------------------------- */

#define MT_THREADS 3
#define MT_N 8000

struct mt_arg {
	int thr;
	struct tally t;
};

static void *mt_main(void *arg)
{
	struct mt_arg *a = (struct mt_arg *)arg;

	write_outer(a->thr, MT_N, 0, &a->t);
	return NULL;
}

static void test_threads(const struct grb_config *cfg, int ts_bits, int every)
{
	struct grb_channel *ch = make(cfg, 64 * 1024, 32);
	struct mt_arg args[MT_THREADS];
	pthread_t th[MT_THREADS];
	struct readback rb = { 0 };
	struct grb_channel_stats st;
	uint64_t committed = 0;
	char what[64];
	int i;

	if (!ch)
		return;
	rb.ts_bits = ts_bits;
	cur_cfg = cfg;
	cur_ch = ch;
	inject_every = every;
	for (i = 0; i < MT_THREADS; i++) {
		memset(&args[i], 0, sizeof(args[i]));
		args[i].thr = i + 1;
		CHECK(pthread_create(&th[i], NULL, mt_main, &args[i]) == 0);
	}
	for (i = 0; i < MT_THREADS; i++) {
		pthread_join(th[i], NULL);
		committed += args[i].t.committed;
	}
	inject_every = 0;
	cur_ch = NULL;
	grb_channel_finalize(ch);
	read_back(ch, &rb);
	snprintf(what, sizeof(what), "%s/%d %d threads", cfg->name, ts_bits, MT_THREADS);
	report(what, &rb);
	CHECK(grb_channel_read_stats(ch, &st) == 0 && st.lost_total == 0);
	CHECK(rb.records - rb.discarded == committed);
	CHECK(rb.compact > 0);
	grb_channel_destroy(ch);
}

/* ---------------------------------------------------------------------- */
/* Losses                                                                  */
/* ---------------------------------------------------------------------- */

/* Consumes every delivered packet of every stream; returns the losses the
 * records not discarded report. */
static uint64_t consume(struct grb_channel *ch)
{
	struct readback rb = { 0 };
	uint32_t s, n = grb_channel_nr_streams(ch);

	rb.ts_bits = 64;
	for (s = 0; s < n; s++) {
		struct grb_reader *r = grb_reader_create(ch, s, 0);
		struct grb_packet pkt;

		if (!r) {
			CHECK(0);
			continue;
		}
		while (grb_reader_get_next(r, &pkt) == 0) {
			uint64_t off = pkt.header_size, end = pkt.info.content_size;
			uint64_t prev_ts = pkt.info.ts_begin;

			while (off < end) {
				struct ft_rec rec;

				if (ft_decode(pkt.data + off, end - off, prev_ts, &rec)) {
					rb.bad++;
					break;
				}
				if (!rec.discarded)
					rb.lost_reported += rec.lost;
				prev_ts = rec.ts;
				off += rec.len;
			}
			grb_reader_put(r, &pkt);
		}
		grb_reader_destroy(r);
	}
	CHECK(rb.bad == 0);
	return rb.lost_reported;
}

static uint64_t unreported(struct grb_channel *ch)
{
	uint64_t sum = 0;
	uint32_t i;

	for (i = 0; i < ch->nr_streams; i++)
		sum += __atomic_load_n(&ch->streams[i].shm->lost_unreported, __ATOMIC_RELAXED);
	return sum;
}

/* The stream's losses that records report: all causes but overwritten
 * (no-stream losses belong to no stream). */
static uint64_t lost_counted(struct grb_channel *ch)
{
	struct grb_channel_stats st;

	CHECK(grb_channel_read_stats(ch, &st) == 0);
	return st.lost_total - st.lost[GRB_LOST_OVERWRITTEN] - st.lost[GRB_LOST_NO_STREAM];
}

/* Returns the ctx.lost of a record written now (committed), or -1. */
static int64_t put_lost(const struct grb_config *cfg, struct grb_channel *ch, uint64_t *reported)
{
	struct tally t = { 0 };

	if (put(cfg, ch, WHO(0, KIND_OUTER, 0), 0, &t) != 0)
		return -1;
	*reported += t.lost_claimed;
	return (int64_t)t.lost_claimed;
}

static void test_lost_one(const struct grb_config *cfg)
{
	struct grb_channel *ch = make(cfg, 512, 4);
	uint64_t fails = 0, reported = 0, decoded = 0, i;
	struct grb_ctx held[5];
	int ret, n;

	if (!ch)
		return;
	/* Fill the ring: discard mode refuses once every sub-buffer holds an
	 * unconsumed packet. */
	for (i = 0; i < 10000; i++) {
		struct tally t = { 0 };

		ret = put(cfg, ch, WHO(0, KIND_OUTER, i), 0, &t);
		if (ret) {
			CHECK(ret == -ENOBUFS);
			break;
		}
		CHECK(t.lost_claimed == 0);
	}
	fails = 1;
	/* Five more losses; a reservation that fails claims nothing. */
	for (i = 0; i < 5; i++) {
		struct tally t = { 0 };

		CHECK(put(cfg, ch, WHO(0, KIND_OUTER, 0), 0, &t) == -ENOBUFS);
		fails++;
	}
	CHECK(lost_counted(ch) == fails && unreported(ch) == fails);
	decoded += consume(ch);
	/* The first record after the losses reports them all, the next none. */
	CHECK(put_lost(cfg, ch, &reported) == (int64_t)fails);
	CHECK(put_lost(cfg, ch, &reported) == 0);
	CHECK(unreported(ch) == 0);
	/* A record too big is lost too. */
	{
		struct grb_ctx ctx;

		ctx.event_id = 1;
		ctx.payload_len = 4096;
		ctx.client_word = 0;
		CHECK(grb_reserve(cfg, ch, &ctx) == -E2BIG);
	}
	CHECK(put_lost(cfg, ch, &reported) == 1);
	/* A nested reservation past max_nesting (4): its loss goes to the
	 * next record that succeeds.  A record discarded after claiming
	 * gives its count back. */
	for (n = 0; n < 4; n++) {
		held[n].event_id = 1;
		held[n].payload_len = 8;
		held[n].client_word = 0;
		CHECK(grb_reserve(cfg, ch, &held[n]) == 0);
	}
	held[4].event_id = 1;
	held[4].payload_len = 8;
	held[4].client_word = 0;
	CHECK(grb_reserve(cfg, ch, &held[4]) == -EBUSY);
	for (n = 3; n >= 0; n--) {
		memset(held[n].wp, 0, 8);
		grb_commit(cfg, &held[n]);
	}
	{
		struct grb_ctx ctx;

		ctx.event_id = 1;
		ctx.payload_len = 8;
		ctx.client_word = 0;
		CHECK(grb_reserve(cfg, ch, &ctx) == 0);
		CHECK(ctx.lost == 1);
		memset(ctx.wp, 0, 8);
		grb_discard(cfg, &ctx);
		CHECK(unreported(ch) == 1);
	}
	CHECK(put_lost(cfg, ch, &reported) == 1);
	CHECK(put_lost(cfg, ch, &reported) == 0);
	grb_channel_finalize(ch);
	decoded += consume(ch);
	printf("test_hooks: %-28s %llu losses, %llu reported, %llu decoded\n", cfg->name,
	       (unsigned long long)lost_counted(ch), (unsigned long long)reported,
	       (unsigned long long)decoded);
	CHECK(reported == fails + 2);
	CHECK(decoded == reported);
	CHECK(lost_counted(ch) == reported + unreported(ch));
	CHECK(unreported(ch) == 0);
	grb_channel_destroy(ch);
}

/* Concurrent writers on a small ring that a slow consumer drains. */
#define LC_THREADS 3
#define LC_N 20000

struct lc_arg {
	const struct grb_config *cfg;
	struct grb_channel *ch;
	int thr;
	uint64_t reported;
};

static int lc_stop;

static void *lc_writer(void *arg)
{
	struct lc_arg *a = (struct lc_arg *)arg;
	struct tally t = { 0 };
	uint64_t i;

	for (i = 0; i < LC_N; i++) {
		if (i % 101 == 7) {
			struct grb_ctx ctx;

			ctx.event_id = 1;
			ctx.payload_len = 100000; /* too big: a loss */
			ctx.client_word = 0;
			CHECK(grb_reserve(a->cfg, a->ch, &ctx) == -E2BIG);
			continue;
		}
		put(a->cfg, a->ch, WHO(a->thr, KIND_OUTER, i), i % 17 == 3, &t);
	}
	a->reported = t.lost_claimed;
	return NULL;
}

static void *lc_consumer(void *arg)
{
	uint64_t *decoded = (uint64_t *)arg;

	while (!__atomic_load_n(&lc_stop, __ATOMIC_ACQUIRE)) {
		struct timespec ts = { 0, 200 * 1000 };

		*decoded += consume(cur_ch);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static void test_lost_threads(const struct grb_config *cfg)
{
	struct grb_channel *ch = make(cfg, 1024, 4);
	struct lc_arg args[LC_THREADS];
	pthread_t th[LC_THREADS], cons;
	uint64_t reported = 0, decoded = 0, counted;
	int i;

	if (!ch)
		return;
	cur_ch = ch;
	lc_stop = 0;
	CHECK(pthread_create(&cons, NULL, lc_consumer, &decoded) == 0);
	for (i = 0; i < LC_THREADS; i++) {
		args[i].cfg = cfg;
		args[i].ch = ch;
		args[i].thr = i + 1;
		args[i].reported = 0;
		CHECK(pthread_create(&th[i], NULL, lc_writer, &args[i]) == 0);
	}
	for (i = 0; i < LC_THREADS; i++) {
		pthread_join(th[i], NULL);
		reported += args[i].reported;
	}
	__atomic_store_n(&lc_stop, 1, __ATOMIC_RELEASE);
	pthread_join(cons, NULL);
	cur_ch = NULL;
	grb_channel_finalize(ch);
	decoded += consume(ch);
	counted = lost_counted(ch);
	printf("test_hooks: %-28s %d threads: %llu losses, %llu reported, %llu decoded, %llu "
	       "not reported yet\n",
	       cfg->name, LC_THREADS, (unsigned long long)counted, (unsigned long long)reported,
	       (unsigned long long)decoded, (unsigned long long)unreported(ch));
	CHECK(decoded == reported);
	CHECK(reported + unreported(ch) == counted);
	{
		struct grb_channel_stats st;

		/* The ring did fill. */
		CHECK(grb_channel_read_stats(ch, &st) == 0 && st.lost[GRB_LOST_FULL] > 0);
	}
	grb_channel_destroy(ch);
}

/* ---------------------------------------------------------------------- */

int main(void)
{
	struct sigaction sa;
	struct grb_channel *ch;
	int pinned;
	unsigned i;

	for (i = 0; i < NR_STEPS; i++) {
		step_prefix[i] = step_sum;
		step_sum += steps[i];
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);

	/* A configuration of the previous struct grb_ctx is refused. */
	{
		struct grb_config old = cfg_atomic_global_59;

		old.abi = (GRB_CONFIG_ABI & GRB_CONFIG_ABI_EMULATED) | 2u;
		errno = 0;
		ch = grb_channel_create(&old, NULL);
		CHECK(ch == NULL && errno == EINVAL);
		if (ch)
			grb_channel_destroy(ch);
	}

	/* One thread on one CPU: one stream of each per-CPU channel. */
	pinned = pin(0) == 0;
	test_one_thread(&cfg_atomic_global_59, 59, 0);
	test_one_thread(&cfg_atomic_global_27, 27, 0);
	test_one_thread(&cfg_atomic_cpu_59, 59, 0);
	test_one_thread(&cfg_atomic_cpu_27, 27, 0);
	test_one_thread(&cfg_rseq_59, 59, 0);
	test_one_thread(&cfg_rseq_27, 27, 0);
	test_one_thread(&cfg_single_59, 59, 0);
	test_one_thread(&cfg_single_27, 27, 0);
	test_one_thread(&cfg_inj_atomic_59, 59, 7);
	test_one_thread(&cfg_inj_atomic_27, 27, 7);
	test_one_thread(&cfg_inj_rseq_59, 59, 7);
	test_one_thread(&cfg_inj_rseq_27, 27, 7);
	test_one_thread(&cfg_inj_single_59, 59, 7);
	test_one_thread(&cfg_inj_single_27, 27, 7);

	test_two_streams(&cfg_atomic_global_59, 59);
	test_two_streams(&cfg_atomic_cpu_27, 27);
	test_two_streams(&cfg_rseq_59, 59);
	test_two_streams(&cfg_single_59, 59);

	test_lost_one(&cfg_atomic_global_59);
	test_lost_one(&cfg_atomic_cpu_59);
	test_lost_one(&cfg_rseq_59);
	test_lost_one(&cfg_single_59);
	if (pinned) {
		cpu_set_t all;

		CPU_ZERO(&all);
		for (i = 0; i < CPU_SETSIZE; i++)
			CPU_SET(i, &all);
		pthread_setaffinity_np(pthread_self(), sizeof(all), &all);
	}

	/* Several writers on one stream, and more threads than CPUs on
	 * per-CPU streams (preempted and migrated between and inside their
	 * reservations). */
	test_threads(&cfg_inj_atomic_59, 59, 29);
	test_threads(&cfg_inj_atomic_27, 27, 29);
	test_threads(&cfg_atomic_cpu_59, 59, 0);
	test_threads(&cfg_inj_rseq_59, 59, 29);
	test_threads(&cfg_inj_rseq_27, 27, 29);
	test_threads(&cfg_inj_single_59, 59, 29);

	test_lost_threads(&cfg_atomic_global_59);
	test_lost_threads(&cfg_atomic_cpu_59);
	test_lost_threads(&cfg_rseq_59);
	return check_exit("test_hooks");
}
