// SPDX-License-Identifier: MIT
/*
 * stress_merge_wait.c - a merged consumer that sleeps in grb_merge_wait()
 * while writers write, nest records from a signal handler and (per-CPU
 * streams) migrate.
 *
 * Checked exactly, per variant:
 * - every record read is intact and read once; every record written is
 *   read or counted lost: read + lost == written, by writer and in the
 *   channel's counters;
 * - within a stream the records come in stream order;
 * - the merge's order bound (include/grb/reader.h): a record r returned
 *   after a younger record q of another stream was still in flight when
 *   the call that returned q began, or a record of its stream was (which
 *   keeps the stream's committed position behind r).  Writers note the
 *   time before each reservation and after each commit; the check is that
 *   r's commit ended after the start of q's call, or that some record of
 *   r's stream was between its two times then;
 * - the consumer ends by -ENODATA after finalize, woken by it;
 * - two snapshot readers look at every stream all along (stress_snap.h):
 *   each look intact, in order, newest last, and without a record the
 *   merge had returned before it.
 *
 * Variants (argument, or all): every sync and alloc (per-CPU rseq and
 * atomic, per-thread single-writer and atomic, global atomic) with the
 * records, bytes and packet wake-up policies; the per-CPU atomic sync with
 * the timer policy; overwrite mode on per-CPU, per-thread and global
 * streams.
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
#include <grb/native.h>

#include "stress_common.h"
#include "stress_snap.h"

#define WRITERS 4
#define HANDLER_ID(w) ((w) + WRITERS) /* the writer id of a handler's records */
#define IDS (2 * WRITERS)
/* A store becomes visible to another CPU within this (a generous bound). */
#define VISIBLE_NS 2000

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* What a writer noted of each record it wrote. */
struct wlog {
	uint64_t pos; /* stream position */
	uint64_t reserve_start; /* CLOCK_MONOTONIC before grb_reserve() */
	uint64_t ts; /* the record's timestamp (ctx.ts) */
	uint64_t commit_end; /* CLOCK_MONOTONIC after grb_commit() returned */
	uint32_t stream;
	uint32_t ok; /* committed (1) or lost (0) */
};

/* What the consumer noted of each record it read. */
struct rlog {
	uint64_t call_start; /* when the grb_merge_next() call began */
	uint64_t ts;
	uint64_t seq;
	uint32_t id;
	uint32_t stream;
};

struct variant {
	const char *name;
	const struct grb_config *cfg;
	int (*reserve)(struct grb_channel *ch, struct grb_ctx *ctx);
	void (*commit)(struct grb_ctx *ctx);
	uint32_t policy, every;
	uint32_t subbuf_size, subbuf_count;
	int migrate;
};

/* A configuration and its write calls: one call site per configuration,
 * which the fast path is specialised for. */
#define CFG_WRITE(NAME, ALLOC, SYNC, MODE, WAKEUP)                                        \
	static const struct grb_config NAME =                                             \
		GRB_NATIVE_CONFIG_WAKEUP(ALLOC, SYNC, MODE, grb_clock_monotonic, WAKEUP); \
	static int NAME##_reserve(struct grb_channel *ch, struct grb_ctx *ctx)            \
	{                                                                                 \
		return grb_reserve(&NAME, ch, ctx);                                       \
	}                                                                                 \
	static void NAME##_commit(struct grb_ctx *ctx)                                    \
	{                                                                                 \
		grb_commit(&NAME, ctx);                                                   \
	}
#define RW(NAME) &NAME, NAME##_reserve, NAME##_commit

CFG_WRITE(cfg_rseq, GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_DISCARD, GRB_WAKEUP_WRITER)
CFG_WRITE(cfg_single, GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_MODE_DISCARD,
	  GRB_WAKEUP_WRITER)
CFG_WRITE(cfg_atomic, GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD, GRB_WAKEUP_WRITER)
CFG_WRITE(cfg_cpu_atomic, GRB_ALLOC_PER_CPU, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD, GRB_WAKEUP_WRITER)
CFG_WRITE(cfg_thread_atomic, GRB_ALLOC_PER_THREAD, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD,
	  GRB_WAKEUP_WRITER)
CFG_WRITE(cfg_timer, GRB_ALLOC_PER_CPU, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD, GRB_WAKEUP_TIMER)
CFG_WRITE(cfg_over, GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_OVERWRITE, GRB_WAKEUP_WRITER)
CFG_WRITE(cfg_single_over, GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_MODE_OVERWRITE,
	  GRB_WAKEUP_WRITER)
CFG_WRITE(cfg_atomic_over, GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_OVERWRITE, GRB_WAKEUP_WRITER)

static const struct variant variants[] = {
	{ "percpu-rseq", RW(cfg_rseq), GRB_WAKE_RECORDS, 16, 4096, 64, 1 },
	{ "perthread-single", RW(cfg_single), GRB_WAKE_RECORDS, 16, 4096, 64, 0 },
	{ "global-atomic", RW(cfg_atomic), GRB_WAKE_BYTES, 1024, 4096, 128, 0 },
	{ "percpu-atomic", RW(cfg_cpu_atomic), GRB_WAKE_RECORDS, 8, 4096, 64, 1 },
	{ "perthread-atomic", RW(cfg_thread_atomic), GRB_WAKE_BYTES, 512, 4096, 64, 1 },
	{ "percpu-atomic-timer", RW(cfg_timer), GRB_WAKE_PACKET, 0, 4096, 64, 1 },
	{ "percpu-rseq-overwrite", RW(cfg_over), GRB_WAKE_RECORDS, 4, 1024, 4, 1 },
	{ "perthread-single-overwrite", RW(cfg_single_over), GRB_WAKE_PACKET, 0, 1024, 4, 0 },
	{ "global-atomic-overwrite", RW(cfg_atomic_over), GRB_WAKE_RECORDS, 2, 1024, 4, 0 },
};

static const struct variant *v;

static struct grb_channel *g_ch;
static uint64_t per_writer;
static struct wlog *wlogs[IDS];
static uint64_t written[IDS]; /* records attempted, by id */
static uint32_t writers_done;
static pthread_t writer_threads[WRITERS];
static __thread int t_writer = -1;

/* One record: reserve, note where, write, commit, note when. */
static void write_one(uint32_t id, uint64_t seq)
{
	struct payload p;
	struct grb_ctx ctx;
	struct wlog *l = &wlogs[id][seq];
	uint32_t len = make_payload(&p, id, seq);
	int ret;

	memset(&ctx, 0, sizeof(ctx));
	ctx.payload_len = len;
	l->reserve_start = now_ns();
	ret = v->reserve(g_ch, &ctx);
	if (ret) {
		l->ok = 0;
		return;
	}
	l->pos = ctx.pos;
	l->ts = ctx.ts;
	l->stream = ctx.stream->index;
	grb_write(&ctx, &p, len);
	v->commit(&ctx);
	l->commit_end = now_ns();
	l->ok = 1;
}

/* SIGUSR1: a nested record, in the writer's handler id space. */
static void on_signal(int sig)
{
	int w = t_writer;
	uint64_t seq;

	(void)sig;
	if (w < 0)
		return;
	seq = written[HANDLER_ID(w)];
	if (seq >= per_writer)
		return;
	written[HANDLER_ID(w)] = seq + 1;
	write_one(HANDLER_ID(w), seq);
}

static void *writer_main(void *arg)
{
	int w = (int)(intptr_t)arg;
	uint64_t i;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	t_writer = w;
	for (i = 0; i < per_writer; i++) {
		if (v->migrate && ncpu > 1 && i % 500 == 0) {
			cpu_set_t set;

			CPU_ZERO(&set);
			CPU_SET((int)((i / 500 + (uint64_t)w) % (uint64_t)ncpu), &set);
			sched_setaffinity(0, sizeof(set), &set);
		}
		/* Counted before the write, so a handler that interrupts it
		 * sees the writer's own count settled (it uses its own id). */
		written[w] = i + 1;
		write_one((uint32_t)w, i);
		/* A steady rate with bursts: sleep a little every 64 records. */
		if (i % 64 == 63) {
			struct timespec ts = { 0, 20000 };

			nanosleep(&ts, NULL);
		}
	}
	t_writer = -1;
	__atomic_add_fetch(&writers_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Joins the writers, then finalizes: that wakes the merge, which then
 * reads to -ENODATA. */
static void *finisher_main(void *arg)
{
	int w;

	for (w = 0; w < WRITERS; w++)
		pthread_join(writer_threads[w], NULL);
	pthread_join(*(pthread_t *)arg, NULL);
	grb_channel_finalize(g_ch);
	return NULL;
}

static void *signaller_main(void *arg)
{
	(void)arg;
	while (__atomic_load_n(&writers_done, __ATOMIC_ACQUIRE) < WRITERS) {
		struct timespec ts = { 0, 200000 };
		int w;

		for (w = 0; w < WRITERS; w++)
			pthread_kill(writer_threads[w], SIGUSR1);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* A record's time in flight, by stream. */
struct span {
	uint64_t from, to; /* before its reservation, after its commit */
};

static int cmp_span(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return x->from < y->from ? -1 : x->from > y->from;
}

/* Per stream: spans sorted by start, to[] turned into a running maximum. */
struct flights {
	struct span *sp;
	size_t n;
};

static struct flights *flights_build(uint32_t nstreams)
{
	struct flights *f = calloc(nstreams, sizeof(*f));
	uint32_t id, st;
	uint64_t i;

	for (id = 0; id < IDS; id++)
		for (i = 0; i < written[id]; i++)
			if (wlogs[id][i].ok)
				f[wlogs[id][i].stream].n++;
	for (st = 0; st < nstreams; st++) {
		f[st].sp = calloc(f[st].n ? f[st].n : 1, sizeof(struct span));
		f[st].n = 0;
	}
	for (id = 0; id < IDS; id++)
		for (i = 0; i < written[id]; i++)
			if (wlogs[id][i].ok) {
				struct flights *x = &f[wlogs[id][i].stream];

				x->sp[x->n++] = (struct span){ wlogs[id][i].reserve_start,
							       wlogs[id][i].commit_end };
			}
	for (st = 0; st < nstreams; st++) {
		qsort(f[st].sp, f[st].n, sizeof(struct span), cmp_span);
		for (i = 1; i < f[st].n; i++)
			if (f[st].sp[i].to < f[st].sp[i - 1].to)
				f[st].sp[i].to = f[st].sp[i - 1].to;
	}
	return f;
}

/* Whether a record of the stream was in flight at time t. */
static int in_flight(const struct flights *f, uint64_t t)
{
	size_t lo = 0, hi = f->n;

	while (lo < hi) { /* the spans that started at or before t */
		size_t mid = (lo + hi) / 2;

		if (f->sp[mid].from <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && f->sp[lo - 1].to >= t;
}

/* Fenwick tree over timestamp ranks: the latest call start among records
 * returned so far whose timestamp ranks at or above a given rank. */
static void fw_update(uint64_t *t, size_t n, size_t rank, uint64_t val)
{
	for (rank = n - rank; rank <= n; rank += rank & -rank)
		if (t[rank] < val)
			t[rank] = val;
}

static uint64_t fw_query(const uint64_t *t, size_t n, size_t rank)
{
	uint64_t m = 0;

	for (rank = n - rank; rank > 0; rank -= rank & -rank)
		if (t[rank] > m)
			m = t[rank];
	return m;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static size_t rank_of(const uint64_t *sorted, size_t n, uint64_t ts)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (sorted[mid] < ts)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* On a failure: the stream's records around the call, times relative to
 * its start. */
static void dump_stream(uint32_t stream, const struct wlog *lr, uint64_t at)
{
	uint32_t id;
	uint64_t j;

	fprintf(stderr, "call at %llu; the record: pos %llu reserve %+lld commit %+lld\n",
		(unsigned long long)at, (unsigned long long)lr->pos,
		(long long)(lr->reserve_start - at), (long long)(lr->commit_end - at));
	for (id = 0; id < IDS; id++)
		for (j = 0; j < written[id]; j++) {
			const struct wlog *x = &wlogs[id][j];

			if (x->ok && x->stream == stream && x->reserve_start + 300000 > at &&
			    x->commit_end < at + 300000)
				fprintf(stderr, "  %u/%llu pos %llu reserve %+lld commit %+lld\n",
					id, (unsigned long long)j, (unsigned long long)x->pos,
					(long long)(x->reserve_start - at),
					(long long)(x->commit_end - at));
		}
}

static int cmp_wref_pos(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b; /* stream, pos, ts, id, seq */

	if (x[0] != y[0])
		return x[0] < y[0] ? -1 : 1;
	return x[1] < y[1] ? -1 : x[1] > y[1];
}

/* Timestamps never decrease in stream order. */
static void check_stream_ts(void)
{
	uint64_t n = 0, i, k = 0, (*a)[5];
	uint32_t id;

	for (id = 0; id < IDS; id++)
		n += written[id];
	a = calloc(n ? n : 1, sizeof(*a));
	for (id = 0; id < IDS; id++)
		for (i = 0; i < written[id]; i++)
			if (wlogs[id][i].ok) {
				a[k][0] = wlogs[id][i].stream;
				a[k][1] = wlogs[id][i].pos;
				a[k][2] = wlogs[id][i].ts;
				a[k][3] = id;
				a[k++][4] = i;
			}
	qsort(a, k, sizeof(*a), cmp_wref_pos);
	for (i = 1; i < k; i++)
		if (a[i][0] == a[i - 1][0] && a[i][2] < a[i - 1][2])
			FAIL("%s: stream %llu: record %llu/%llu at %llu has timestamp %llu, before "
			     "%llu of %llu/%llu at %llu\n",
			     v->name, (unsigned long long)a[i][0], (unsigned long long)a[i][3],
			     (unsigned long long)a[i][4], (unsigned long long)a[i][1],
			     (unsigned long long)a[i][2], (unsigned long long)a[i - 1][2],
			     (unsigned long long)a[i - 1][3], (unsigned long long)a[i - 1][4],
			     (unsigned long long)a[i - 1][1]);
	free(a);
}

static void check_order(const struct rlog *rl, size_t n)
{
	uint32_t nstreams = grb_channel_nr_streams(g_ch), st;
	struct flights *fl = flights_build(nstreams);
	uint64_t *sorted = malloc((n ? n : 1) * sizeof(uint64_t));
	uint64_t *fw = calloc(n + 2, sizeof(uint64_t));
	uint64_t inversions = 0, bad = 0;
	size_t i;

	for (i = 0; i < n; i++)
		sorted[i] = rl[i].ts;
	qsort(sorted, n, sizeof(uint64_t), cmp_u64);
	for (i = 0; i < n; i++) {
		/* Records returned before with a strictly younger timestamp. */
		size_t above = rank_of(sorted, n, rl[i].ts + 1);
		uint64_t latest = above < n ? fw_query(fw, n, above) : 0;

		if (latest) {
			const struct wlog *lr = &wlogs[rl[i].id][rl[i].seq];

			inversions++;
			if (lr->commit_end + VISIBLE_NS < latest &&
			    !in_flight(&fl[rl[i].stream], latest) && ++bad <= 5) {
				FAIL("%s: record %u/%llu (ts %llu, stream %u, committed %llu ns "
				     "before) came after a younger one although its stream was "
				     "quiescent when that call began\n",
				     v->name, rl[i].id, (unsigned long long)rl[i].seq,
				     (unsigned long long)rl[i].ts, rl[i].stream,
				     (unsigned long long)(latest - lr->commit_end));
				if (bad == 1)
					dump_stream(rl[i].stream, lr, latest);
			}
		}
		fw_update(fw, n, rank_of(sorted, n, rl[i].ts), rl[i].call_start);
	}
	printf("%s: %llu records, %llu out of timestamp order (all within the bound: %s)\n",
	       v->name, (unsigned long long)n, (unsigned long long)inversions, bad ? "no" : "yes");
	for (st = 0; st < nstreams; st++)
		free(fl[st].sp);
	free(fl);
	free(sorted);
	free(fw);
}

static int run_variant(const struct variant *var)
{
	struct grb_channel_attr attr;
	struct grb_channel_stats st;
	struct grb_merge *m;
	struct grb_record rec;
	struct sigaction sa;
	pthread_t sig_thread, fin_thread;
	struct rlog *rl;
	struct snap_stats snaps;
	size_t nread = 0, cap;
	uint64_t lost_w = 0, total = 0, waits = 0, eproto = 0, t0 = now_ns();
	uint64_t *last_pos;
	unsigned char *seen[IDS];
	int ret, w, start_failures = failures;
	uint32_t id;

	v = var;
	grb_channel_attr_init(&attr);
	attr.subbuf_size = v->subbuf_size;
	attr.subbuf_count = v->subbuf_count;
	attr.nr_streams = 2 * WRITERS;
	attr.wake_policy = v->policy;
	attr.wake_every = v->every;
	attr.read_timer_us = 2000;
	g_ch = grb_channel_create(v->cfg, &attr);
	if (!g_ch) {
		FAIL("%s: channel: %s\n", v->name, grb_last_error());
		return 1;
	}
	for (id = 0; id < IDS; id++) {
		wlogs[id] = calloc(per_writer, sizeof(struct wlog));
		seen[id] = calloc(per_writer, 1);
		written[id] = 0;
	}
	cap = IDS * per_writer;
	rl = calloc(cap, sizeof(*rl));
	last_pos = calloc(grb_channel_nr_streams(g_ch), sizeof(uint64_t));
	for (id = 0; id < grb_channel_nr_streams(g_ch); id++)
		last_pos[id] = UINT64_MAX;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	m = grb_merge_create(g_ch, 0);
	if (snap_start(g_ch, v->name, IDS))
		return 1;
	writers_done = 0;
	for (w = 0; w < WRITERS; w++)
		pthread_create(&writer_threads[w], NULL, writer_main, (void *)(intptr_t)w);
	pthread_create(&sig_thread, NULL, signaller_main, NULL);
	pthread_create(&fin_thread, NULL, finisher_main, &sig_thread);

	for (;;) {
		uint64_t call_start = now_ns();
		struct payload p;

		ret = grb_merge_next(m, &rec);

		if (ret == -EAGAIN) {
			waits++;
			/* Writers write all the time: a 2 s wait that times out
			 * while they run is a lost wake-up. */
			if (grb_merge_wait(m, 2000ull * 1000 * 1000) == -ETIMEDOUT &&
			    __atomic_load_n(&writers_done, __ATOMIC_ACQUIRE) < WRITERS)
				FAIL("%s: no wake-up for 2 s while writers run\n", v->name);
			continue;
		}
		if (ret == -ENODATA)
			break;
		if (ret == -EPROTO) {
			eproto++;
			continue;
		}
		if (ret) {
			FAIL("%s: grb_merge_next: %d\n", v->name, ret);
			break;
		}
		if (payload_check(rec.payload, rec.payload_len, &p) || p.writer >= IDS ||
		    p.seq >= per_writer) {
			FAIL("%s: corrupt record\n", v->name);
			continue;
		}
		if (seen[p.writer][p.seq]++) {
			FAIL("%s: record %u/%llu read twice\n", v->name, p.writer,
			     (unsigned long long)p.seq);
			continue;
		}
		if (rec.stream_index < grb_channel_nr_streams(g_ch)) {
			const struct wlog *l = &wlogs[p.writer][p.seq];

			if (l->ts != rec.ts)
				FAIL("%s: record %u/%llu read with timestamp %llu, written with "
				     "%llu\n",
				     v->name, p.writer, (unsigned long long)p.seq,
				     (unsigned long long)rec.ts, (unsigned long long)l->ts);
			if (l->stream != rec.stream_index)
				FAIL("%s: record %u/%llu read from stream %u, written to %u\n",
				     v->name, p.writer, (unsigned long long)p.seq, rec.stream_index,
				     l->stream);
			else if (last_pos[l->stream] != UINT64_MAX && l->pos <= last_pos[l->stream])
				FAIL("%s: stream %u out of order\n", v->name, l->stream);
			last_pos[l->stream] = l->pos;
		}
		snap_returned(p.writer, rec.stream_index, p.seq);
		if (nread < cap)
			rl[nread++] = (struct rlog){ call_start, rec.ts, p.seq, p.writer,
						     rec.stream_index };
	}
	pthread_join(fin_thread, NULL);
	snap_stop(&snaps);
	grb_merge_destroy(m);
	if (!snaps.records)
		FAIL("%s: the snapshot readers saw no record\n", v->name);

	/* Accounting: every attempt is read or lost, exactly. */
	for (id = 0; id < IDS; id++) {
		uint64_t i;

		total += written[id];
		for (i = 0; i < written[id]; i++) {
			if (!wlogs[id][i].ok)
				lost_w++;
			if (wlogs[id][i].ok && !seen[id][i] && v->cfg->mode != GRB_MODE_OVERWRITE)
				FAIL("%s: record %u/%llu committed but never read\n", v->name, id,
				     (unsigned long long)i);
		}
	}
	grb_channel_read_stats(g_ch, &st);
	if (st.lost_total - st.lost[GRB_LOST_OVERWRITTEN] != lost_w)
		FAIL("%s: writers lost %llu, the channel counts %llu\n", v->name,
		     (unsigned long long)lost_w,
		     (unsigned long long)(st.lost_total - st.lost[GRB_LOST_OVERWRITTEN]));
	if (nread + st.lost_total != total)
		FAIL("%s: read %zu + lost %llu != written %llu\n", v->name, nread,
		     (unsigned long long)st.lost_total, (unsigned long long)total);
	check_stream_ts();
	check_order(rl, nread);
	if (eproto)
		FAIL("%s: %llu corrupt records or packets (-EPROTO)\n", v->name,
		     (unsigned long long)eproto);
	printf("%s: written %llu read %zu lost %llu (overwritten %llu), %llu waits, %.1f s; "
	       "snapshots: %llu looks, %llu records, %llu packets overwritten while read\n",
	       v->name, (unsigned long long)total, nread, (unsigned long long)st.lost_total,
	       (unsigned long long)st.lost[GRB_LOST_OVERWRITTEN], (unsigned long long)waits,
	       (double)(now_ns() - t0) / 1e9, (unsigned long long)snaps.looks,
	       (unsigned long long)snaps.records, (unsigned long long)snaps.lost_packets);
	grb_channel_destroy(g_ch);
	for (id = 0; id < IDS; id++) {
		free(wlogs[id]);
		free(seen[id]);
	}
	free(rl);
	free(last_pos);
	return failures != start_failures;
}

int main(int argc, char **argv)
{
	size_t i;
	int bad = 0, ran = 0;

	per_writer = stress_size(150000, 2000);

	for (i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		if (argc > 1 && strcmp(argv[1], variants[i].name))
			continue;
		ran++;
		bad |= run_variant(&variants[i]);
	}
	if (!ran) {
		fprintf(stderr, "stress_merge_wait: no variant '%s'\n", argv[1]);
		return 2;
	}
	if (failures) {
		fprintf(stderr, "stress_merge_wait: %d checks failed\n", failures);
		return 1;
	}
	printf("stress_merge_wait: all checks passed\n");
	return bad;
}
