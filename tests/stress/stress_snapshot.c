// SPDX-License-Identifier: MIT
/*
 * stress_snapshot.c - flight-recorder dumps while writers overwrite.
 *
 * Writer threads (more than the cores) write self-checking records into an
 * overwrite-mode channel with a small ring, so the ring is rewritten many
 * times while the reader, in rounds, flushes and takes two snapshots of
 * each stream back to back.  Global streams (atomic sync), per-CPU streams
 * (atomic sync; writers move between CPUs) and per-thread streams (single
 * writer).  Checked:
 *
 * (a) intact: every record of a snapshot passes its checksum, every
 *     packet's decoded records agree with its header, no packet is
 *     corrupt, the stream is never disabled;
 *
 * (b) newest last: within a stream each writer's records come in commit
 *     order (its sequence numbers rise), positions rise, timestamps never
 *     go back, and no record is newer than what its writer had committed
 *     when the snapshot ended.  And the snapshot holds the newest record
 *     each writer had committed in the stream before the snapshot began,
 *     where "before" is exactly what the flush/sample protocol gives.
 *     A round first reads what each writer published after its commits
 *     (per stream: the sequence number and position of its newest
 *     committed record R), then calls grb_channel_flush(), then bumps an
 *     epoch and reads what each writer has in flight, then samples.  R
 *     must be in the snapshot when:
 *       - single-writer sync: always (its writer's outermost commit
 *         publishes the committed position, doc/design.md "The committed
 *         position"), whether or not the owner has acted on the flush;
 *       - atomic sync: R's packet was closed when sampled (the stream's
 *         write position, read after the flush, is past it) and no record
 *         of that packet was in flight: then it is delivered.  Writers
 *         store, before each reservation, "reserving" with the epoch they
 *         saw, and after it the record's stream and position: a record in
 *         flight in R's packet, or one reserving under an older epoch (it
 *         may have reserved before the flush), makes R unsettled and not
 *         checked (counted).  A reservation that saw the new epoch comes
 *         after the flush, in a later packet.
 *     In both cases only if the writers did not overwrite R's packet
 *     before the snapshot ended: the write position read after it is at
 *     most the packet's start plus the ring size (a later lap's writers
 *     store into the sub-buffer only past that).
 *
 * (c) no history destroyed: every record of the first snapshot whose
 *     packet the writers did not overwrite before the second one ended
 *     (from the write position read after it, as above, not from the
 *     second snapshot) is in the second, at the same position, the same
 *     record.  The first snapshot is by turns a new reader's or a restart
 *     of the kept one (grb_reader_snapshot_restart()); the second is a
 *     restart of the same reader, which keeps the highest committed
 *     position it knew (a new reader knows only what the writers
 *     published: it may show less of a packet still being written,
 *     doc/design.md, reader rule 5).  After the writers are done and the channel
 *     finalized, a last snapshot must hold each writer's last record of
 *     each stream, and a consuming pass must then return exactly the
 *     records that snapshot held, every record of the last snapshot of the
 *     run not overwritten since, and delivered + overwritten == committed.
 *
 * GRB_STRESS_RECORDS / GRB_STRESS_SCALE size the run.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grb/grb.h>
#include <grb/native.h>

#include "stress_common.h"

#define NR_WRITERS 3
#define MAX_STREAMS 64
#define SB_SIZE 1024u
#define SB_COUNT 4u
#define RING ((uint64_t)SB_SIZE * SB_COUNT)
/* Records a look at one stream can hold: the ring over the smallest record. */
#define MAX_LOOK (RING / 24 + 64)
#define NONE UINT64_MAX

static const struct grb_config cfg_global =
	GRB_NATIVE_CONFIG(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_OVERWRITE);
static const struct grb_config cfg_percpu =
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_CPU, GRB_SYNC_ATOMIC, GRB_MODE_OVERWRITE);
static const struct grb_config cfg_thread =
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_MODE_OVERWRITE);

/*
 * What a writer publishes.  flight: 0 nothing in flight; FL_RESERVING |
 * epoch << 2 before a reservation (the epoch it read first); FL_AT |
 * stream << 2 | position << 8 after it, until its commit.  last[s]: its
 * newest committed record of stream s (sequence number and position),
 * under a sequence count (odd while it changes).
 */
#define FL_RESERVING 1u
#define FL_AT 2u

struct wlast {
	uint64_t ver, seq, pos;
};

struct wstate {
	uint64_t flight;
	uint64_t committing; /* 1 + the sequence number whose commit began */
	uint64_t committed; /* records committed, stored when done */
	uint64_t done;
	struct wlast last[MAX_STREAMS];
} __attribute__((aligned(64)));

static struct wstate ws[NR_WRITERS];
static uint64_t g_epoch;

/* The seq_cst fence of the two sides of a store-then-load handshake.  gcc
 * refuses fences under ThreadSanitizer (-Wtsan, an error with -Werror);
 * there a seq_cst read-modify-write of one word that both sides make
 * stands for it: a full barrier on x86-64, and an order TSan sees. */
#if defined(__SANITIZE_THREAD__)
static uint64_t g_fence_word;
#define full_fence() ((void)__atomic_fetch_add(&g_fence_word, 0, __ATOMIC_SEQ_CST))
#else
#define full_fence() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#endif

static inline void before_reserve(struct wstate *s)
{
	/* acquire: pairs with the reader's bump after its flush: an epoch
	 * seen new means the flush happened before our reservation. */
	uint64_t e = __atomic_load_n(&g_epoch, __ATOMIC_ACQUIRE);

	/* release (as every store of flight): what came before, the
	 * previous commit included, before the new state; pairs with the
	 * reader's acquire of flight. */
	__atomic_store_n(&s->flight, FL_RESERVING | e << 2, __ATOMIC_RELEASE);
	/* seq_cst fence: the store above comes before the reservation's
	 * read of the offset; pairs with the reader's fence between its
	 * flush and its reads of flight. */
	full_fence();
}

static inline void after_reserve(struct wstate *s, const struct grb_ctx *ctx)
{
	__atomic_store_n(&s->flight, FL_AT | (uint64_t)ctx->stream->index << 2 | ctx->pos << 8,
			 __ATOMIC_RELEASE);
}

static inline void after_commit(struct wstate *s, const struct grb_ctx *ctx, uint64_t seq)
{
	struct wlast *l = &s->last[ctx->stream->index];
	uint64_t v = __atomic_load_n(&l->ver, __ATOMIC_RELAXED);

	/* A sequence count: odd while seq and pos change.  release stores
	 * of the values: the odd count before them (pairs with the reader's
	 * acquire loads of them in last_read(), which then see the count
	 * odd or changed); the release of the even count after them (and
	 * after the commit) pairs with the reader's acquire of it. */
	__atomic_store_n(&l->ver, v + 1, __ATOMIC_RELAXED);
	__atomic_store_n(&l->seq, seq, __ATOMIC_RELEASE);
	__atomic_store_n(&l->pos, ctx->pos, __ATOMIC_RELEASE);
	__atomic_store_n(&l->ver, v + 2, __ATOMIC_RELEASE);
	/* release: the commit before "nothing in flight"; pairs with the
	 * reader's acquire of flight. */
	__atomic_store_n(&s->flight, 0, __ATOMIC_RELEASE);
}

#define WRITE_FN(NAME, CFG)                                                                \
	static int NAME(struct grb_channel *ch, struct wstate *s, const struct payload *p, \
			uint32_t len)                                                      \
	{                                                                                  \
		struct grb_ctx ctx;                                                        \
		memset(&ctx, 0, sizeof(ctx));                                              \
		ctx.payload_len = len;                                                     \
		before_reserve(s);                                                         \
		if (grb_reserve(&CFG, ch, &ctx)) {                                         \
			__atomic_store_n(&s->flight, 0, __ATOMIC_RELEASE);                 \
			return -1;                                                         \
		}                                                                          \
		after_reserve(s, &ctx);                                                    \
		grb_write(&ctx, p, len);                                                   \
		__atomic_store_n(&s->committing, p->seq + 1, __ATOMIC_RELEASE);            \
		grb_commit(&CFG, &ctx);                                                    \
		after_commit(s, &ctx, p->seq);                                             \
		return 0;                                                                  \
	}
WRITE_FN(write_global, cfg_global)
WRITE_FN(write_percpu, cfg_percpu)
WRITE_FN(write_thread, cfg_thread)

struct snap_case {
	const char *name;
	const struct grb_config *cfg;
	int (*write)(struct grb_channel *ch, struct wstate *s, const struct payload *p,
		     uint32_t len);
};

static const struct snap_case cases[] = {
	{ "snapshot-global", &cfg_global, write_global },
	{ "snapshot-percpu", &cfg_percpu, write_percpu },
	{ "snapshot-perthread", &cfg_thread, write_thread },
};

static struct grb_channel *g_ch;
static const struct snap_case *g_case;
static uint64_t g_quota;

static void *writer_main(void *arg)
{
	int w = (int)(intptr_t)arg;
	struct payload p;
	uint64_t i, ok = 0;

	for (i = 0; i < g_quota; i++) {
		uint32_t len = make_payload(&p, (uint32_t)w, i);

		if (g_case->write(g_ch, &ws[w], &p, len) == 0)
			ok++;
	}
	__atomic_store_n(&ws[w].committed, ok, __ATOMIC_RELAXED);
	__atomic_store_n(&ws[w].done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Writer w's newest committed record of stream s: 0 and *seq, *pos; -1
 * none yet. */
static int last_read(uint32_t w, uint32_t s, uint64_t *seq, uint64_t *pos)
{
	struct wlast *l = &ws[w].last[s];

	for (;;) {
		/* acquire: pairs with after_commit()'s release of the count. */
		uint64_t v = __atomic_load_n(&l->ver, __ATOMIC_ACQUIRE), v2;

		if (!v)
			return -1;
		if (v & 1) {
			sched_yield();
			continue;
		}
		/* acquire: pairs with after_commit()'s release stores of
		 * them, and keeps the recheck after them. */
		*seq = __atomic_load_n(&l->seq, __ATOMIC_ACQUIRE);
		*pos = __atomic_load_n(&l->pos, __ATOMIC_ACQUIRE);
		v2 = __atomic_load_n(&l->ver, __ATOMIC_RELAXED);
		if (v2 == v)
			return 0;
	}
}

static uint64_t write_pos(uint32_t s)
{
	struct grb_stream_stats ss;

	if (grb_channel_read_stream_stats(g_ch, s, &ss)) {
		FAIL("%s: stream %u stats\n", g_case->name, s);
		return 0;
	}
	return ss.write_pos;
}

/* Whether position a is after b. */
static int after(uint64_t a, uint64_t b)
{
	return (int64_t)(a - b) > 0;
}

/* A record a look returned. */
struct seen {
	uint64_t pos, seq, ts;
	uint32_t writer;
};

struct look {
	struct seen r[MAX_LOOK];
	uint32_t n;
};

struct counts {
	uint64_t looks, records, lost_packets;
	uint64_t newest_checked, newest_unsettled, newest_overwritten;
	uint64_t kept_checked, kept_overwritten;
};

/* Reads a look through r (sampled), checking (a) and the order of (b). */
static void read_look(struct grb_reader *r, uint32_t s, struct look *lk)
{
	uint64_t last[NR_WRITERS], last_ts = 0, last_pos = 0;
	struct grb_packet pkt;
	int ret, w;

	for (w = 0; w < NR_WRITERS; w++)
		last[w] = NONE;
	lk->n = 0;
	while ((ret = grb_reader_get_next(r, &pkt)) == 0) {
		struct grb_packet_cursor cur;
		struct grb_record rec;
		uint64_t k = 0;
		int rr;

		grb_packet_cursor_init(&pkt, &cur);
		while ((rr = grb_packet_record_next(r, &pkt, &cur, &rec)) == 0) {
			uint64_t pos = pkt.pos + (uint64_t)((const char *)rec.data - pkt.data);
			struct payload p;

			k++;
			if (payload_check(rec.payload, rec.payload_len, &p) ||
			    p.writer >= NR_WRITERS) {
				FAIL("%s: stream %u: torn record at %llu\n", g_case->name, s,
				     (unsigned long long)pos);
				continue;
			}
			if (last[p.writer] != NONE && p.seq <= last[p.writer])
				FAIL("%s: stream %u: writer %u seq %llu after %llu\n", g_case->name,
				     s, p.writer, (unsigned long long)p.seq,
				     (unsigned long long)last[p.writer]);
			if (lk->n && (pos <= last_pos || rec.ts < last_ts))
				FAIL("%s: stream %u: record at %llu (ts %llu) after %llu (ts %llu)\n",
				     g_case->name, s, (unsigned long long)pos,
				     (unsigned long long)rec.ts, (unsigned long long)last_pos,
				     (unsigned long long)last_ts);
			last[p.writer] = p.seq;
			last_pos = pos;
			last_ts = rec.ts;
			if (lk->n < MAX_LOOK)
				lk->r[lk->n++] = (struct seen){ pos, p.seq, rec.ts, p.writer };
			else
				FAIL("%s: stream %u: more than %u records in a look\n",
				     g_case->name, s, (unsigned int)MAX_LOOK);
		}
		if (rr != -ENODATA)
			FAIL("%s: stream %u: decode error %d\n", g_case->name, s, rr);
		if (k != pkt.info.records)
			FAIL("%s: stream %u packet %llu: decoded %llu of %llu records\n",
			     g_case->name, s, (unsigned long long)pkt.info.seq,
			     (unsigned long long)k, (unsigned long long)pkt.info.records);
		grb_reader_put(r, &pkt);
	}
	/* No consuming reader runs: nothing is being taken, nothing else
	 * than the end can stop a look. */
	if (ret != -ENODATA)
		FAIL("%s: stream %u: snapshot get_next %d\n", g_case->name, s, ret);
}

/* No record of lk newer than the newest whose commit its writer had begun
 * when bound[] was read (after the look). */
static void check_bound(const struct look *lk, uint32_t s, const uint64_t *bound)
{
	uint32_t i;

	for (i = 0; i < lk->n; i++) {
		const struct seen *x = &lk->r[i];

		if (bound[x->writer] == NONE || x->seq > bound[x->writer])
			FAIL("%s: stream %u: writer %u seq %llu shown before its commit "
			     "began\n",
			     g_case->name, s, x->writer, (unsigned long long)x->seq);
	}
}

/* The record at pos in a look (sorted by position): its index, or -1. */
static int find(const struct look *lk, uint64_t pos)
{
	uint32_t lo = 0, hi = lk->n;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (lk->r[mid].pos < pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < lk->n && lk->r[lo].pos == pos ? (int)lo : -1;
}

/* Each writer's newest sequence number whose commit began, now. */
static void bound_now(uint64_t *bound)
{
	int w;

	for (w = 0; w < NR_WRITERS; w++) {
		/* acquire: pairs with the release before grb_commit(). */
		uint64_t c = __atomic_load_n(&ws[w].committing, __ATOMIC_ACQUIRE);

		bound[w] = c ? c - 1 : NONE;
	}
}

/* (b): writer w's record R (seq, pos), newest before the round, in lk? */
static void check_newest(const struct look *lk, uint32_t s, uint32_t w, uint64_t seq, uint64_t pos,
			 uint64_t wp_after, struct counts *c)
{
	int i;

	if (after(wp_after, (pos & ~(uint64_t)(SB_SIZE - 1)) + RING)) {
		c->newest_overwritten++;
		return;
	}
	c->newest_checked++;
	i = find(lk, pos);
	if (i < 0 || lk->r[i].writer != w || lk->r[i].seq != seq)
		FAIL("%s: stream %u: writer %u's seq %llu at %llu, committed and flushed before "
		     "the snapshot, not in it (%u records, %llu..%llu)\n",
		     g_case->name, s, w, (unsigned long long)seq, (unsigned long long)pos, lk->n,
		     lk->n ? (unsigned long long)lk->r[0].pos : 0ull,
		     lk->n ? (unsigned long long)lk->r[lk->n - 1].pos : 0ull);
}

/* (c): every record of a whose packet was not overwritten by wp is in b. */
static void check_kept(const struct look *a, const struct look *b, uint32_t s, uint64_t wp,
		       const char *what, struct counts *c)
{
	uint32_t i;

	for (i = 0; i < a->n; i++) {
		const struct seen *x = &a->r[i];
		int j;

		if (after(wp, (x->pos & ~(uint64_t)(SB_SIZE - 1)) + RING)) {
			c->kept_overwritten++;
			continue;
		}
		c->kept_checked++;
		j = find(b, x->pos);
		if (j < 0 || b->r[j].writer != x->writer || b->r[j].seq != x->seq)
			FAIL("%s: stream %u: writer %u seq %llu at %llu, not overwritten, "
			     "missing from the %s (%u records, %llu..%llu; write position "
			     "%llu)\n",
			     g_case->name, s, x->writer, (unsigned long long)x->seq,
			     (unsigned long long)x->pos, what, b->n,
			     b->n ? (unsigned long long)b->r[0].pos : 0ull,
			     b->n ? (unsigned long long)b->r[b->n - 1].pos : 0ull,
			     (unsigned long long)wp);
	}
}

static struct look look1[MAX_STREAMS], look2[MAX_STREAMS], lookf[MAX_STREAMS];

/* One round: pre-sample, flush, then two snapshots of each stream. */
static void round_once(uint32_t n, struct grb_reader **keep, int turn, struct counts *c)
{
	uint64_t pre_seq[NR_WRITERS][MAX_STREAMS], pre_pos[NR_WRITERS][MAX_STREAMS];
	uint64_t fl[NR_WRITERS], epoch;
	const int single = g_case->cfg->sync == GRB_SYNC_SINGLE_WRITER;
	uint32_t s, w;

	for (w = 0; w < NR_WRITERS; w++)
		for (s = 0; s < n; s++)
			if (last_read(w, s, &pre_seq[w][s], &pre_pos[w][s]))
				pre_seq[w][s] = NONE;
	grb_channel_flush(g_ch);
	/* release: pairs with before_reserve()'s acquire. */
	epoch = __atomic_add_fetch(&g_epoch, 1, __ATOMIC_RELEASE);
	/* seq_cst fence: pairs with before_reserve()'s, so that a writer
	 * whose reservation the flush saw is seen in flight below. */
	full_fence();
	for (w = 0; w < NR_WRITERS; w++)
		fl[w] = __atomic_load_n(&ws[w].flight, __ATOMIC_ACQUIRE);
	for (s = 0; s < n; s++) {
		uint64_t wp0 = write_pos(s), wp1, wp2, bound[NR_WRITERS];
		struct grb_reader *r = keep[s];

		/* The first snapshot: by turns a new reader, or the kept one
		 * sampled again. */
		if (r && (turn & 1)) {
			c->lost_packets += grb_reader_lost_packets(r);
			grb_reader_destroy(r);
			r = keep[s] = NULL;
		}
		if (r && grb_reader_snapshot_restart(r))
			FAIL("%s: snapshot restart failed\n", g_case->name);
		if (!r) {
			r = keep[s] = grb_reader_create(g_ch, s, GRB_READER_SNAPSHOT);
			if (!r) {
				FAIL("%s: snapshot reader: %d\n", g_case->name, errno);
				return;
			}
		}
		read_look(r, s, &look1[s]);
		bound_now(bound);
		check_bound(&look1[s], s, bound);
		wp1 = write_pos(s);
		/* The second right after: the same reader sampled again. */
		if (grb_reader_snapshot_restart(r))
			FAIL("%s: snapshot restart failed\n", g_case->name);
		read_look(r, s, &look2[s]);
		wp2 = write_pos(s);
		bound_now(bound);
		check_bound(&look2[s], s, bound);
		c->looks += 2;
		c->records += look1[s].n + look2[s].n;
		/* (b) */
		for (w = 0; w < NR_WRITERS; w++) {
			uint64_t pkt, seq = pre_seq[w][s], pos = pre_pos[w][s];
			int settled = 1;
			uint32_t v;

			if (seq == NONE)
				continue;
			pkt = pos & ~(uint64_t)(SB_SIZE - 1);
			if (!single) {
				if (after(pkt + SB_SIZE, wp0))
					settled = 0; /* its packet still open */
				for (v = 0; v < NR_WRITERS; v++) {
					uint64_t f = fl[v];

					if ((f & 3) == FL_RESERVING && (f >> 2) != epoch)
						settled = 0; /* may have reserved before */
					if ((f & 3) == FL_AT && ((f >> 2) & 63) == s &&
					    ((f >> 8) & ~(uint64_t)(SB_SIZE - 1)) == pkt)
						settled = 0; /* in flight in R's packet */
				}
			}
			if (!settled) {
				c->newest_unsettled++;
				continue;
			}
			check_newest(&look1[s], s, w, seq, pos, wp1, c);
			check_newest(&look2[s], s, w, seq, pos, wp2, c);
		}
		/* (c) */
		check_kept(&look1[s], &look2[s], s, wp2, "second snapshot", c);
	}
}

static int run_case(const struct snap_case *sc, uint64_t total)
{
	struct grb_reader *keep[MAX_STREAMS] = { NULL };
	struct grb_channel_attr a;
	struct grb_channel_stats st;
	struct counts c;
	pthread_t t[NR_WRITERS];
	uint64_t delivered = 0, sum = 0, rounds = 0, final_checked = 0;
	uint32_t n, i;
	int w, f0 = failures, done = 0;

	memset(&c, 0, sizeof(c));
	memset(ws, 0, sizeof(ws));
	g_case = sc;
	g_quota = total / NR_WRITERS;
	grb_channel_attr_init(&a);
	a.subbuf_size = SB_SIZE;
	a.subbuf_count = SB_COUNT;
	a.nr_streams = 8;
	g_ch = grb_channel_create(sc->cfg, &a);
	if (!g_ch) {
		FAIL("%s: %s\n", sc->name, grb_last_error());
		return 1;
	}
	n = grb_channel_nr_streams(g_ch);
	if (n > MAX_STREAMS) {
		FAIL("%s: %u streams\n", sc->name, n);
		grb_channel_destroy(g_ch);
		return 1;
	}
	for (w = 0; w < NR_WRITERS; w++)
		pthread_create(&t[w], NULL, writer_main, (void *)(intptr_t)w);
	while (!done) {
		done = 1;
		for (w = 0; w < NR_WRITERS; w++)
			if (!__atomic_load_n(&ws[w].done, __ATOMIC_ACQUIRE))
				done = 0;
		round_once(n, keep, (int)rounds++, &c);
	}
	for (w = 0; w < NR_WRITERS; w++) {
		pthread_join(t[w], NULL);
		sum += ws[w].committed;
	}
	for (i = 0; i < n; i++) {
		if (keep[i]) {
			c.lost_packets += grb_reader_lost_packets(keep[i]);
			if (grb_reader_corrupt_packets(keep[i]))
				FAIL("%s: snapshot found a corrupt packet\n", sc->name);
			grb_reader_destroy(keep[i]);
		}
	}
	grb_channel_finalize(g_ch);
	for (i = 0; i < n; i++) {
		struct grb_reader *r = grb_reader_create(g_ch, i, GRB_READER_SNAPSHOT);
		struct look *lc = &look1[i];
		uint64_t bound[NR_WRITERS], wp = write_pos(i);
		uint32_t k = 0;

		if (!r) {
			FAIL("%s: snapshot reader: %d\n", sc->name, errno);
			continue;
		}
		bound_now(bound);
		/* The writers are done: the last snapshot ends with each
		 * writer's last record of the stream. */
		read_look(r, i, &lookf[i]);
		check_bound(&lookf[i], i, bound);
		grb_reader_destroy(r);
		for (w = 0; w < NR_WRITERS; w++) {
			uint64_t seq, pos;

			if (!last_read((uint32_t)w, i, &seq, &pos))
				check_newest(&lookf[i], i, (uint32_t)w, seq, pos, wp, &c);
		}
		/* The consuming pass returns exactly what that snapshot held,
		 * and every record of the run's last snapshot not overwritten
		 * since. */
		r = grb_reader_create(g_ch, i, 0);
		if (!r) {
			FAIL("%s: consuming reader: %d\n", sc->name, errno);
			continue;
		}
		lc->n = 0;
		read_look(r, i, lc);
		grb_reader_destroy(r);
		delivered += lc->n;
		if (lc->n != lookf[i].n)
			FAIL("%s: stream %u: consumed %u records, the last snapshot held %u\n",
			     sc->name, i, lc->n, lookf[i].n);
		for (k = 0; k < lc->n && k < lookf[i].n; k++)
			if (lc->r[k].pos != lookf[i].r[k].pos ||
			    lc->r[k].writer != lookf[i].r[k].writer ||
			    lc->r[k].seq != lookf[i].r[k].seq) {
				FAIL("%s: stream %u: consumed record %u differs from the last "
				     "snapshot's\n",
				     sc->name, i, k);
				break;
			}
		final_checked += lc->n;
		check_kept(&look2[i], lc, i, wp, "consuming pass", &c);
	}
	grb_channel_read_stats(g_ch, &st);
	if (st.invariant_failures)
		FAIL("%s: %llu invariant failures\n", sc->name,
		     (unsigned long long)st.invariant_failures);
	if (st.corrupt_packets)
		FAIL("%s: %llu packets skipped as corrupt\n", sc->name,
		     (unsigned long long)st.corrupt_packets);
	for (i = 0; i < n; i++) {
		struct grb_stream_stats ss;

		grb_channel_read_stream_stats(g_ch, i, &ss);
		if (ss.disabled)
			FAIL("%s: stream %u disabled\n", sc->name, i);
	}
	if (delivered + st.lost[GRB_LOST_OVERWRITTEN] != sum)
		FAIL("%s: delivered %llu + overwritten %llu != committed %llu\n", sc->name,
		     (unsigned long long)delivered,
		     (unsigned long long)st.lost[GRB_LOST_OVERWRITTEN], (unsigned long long)sum);
	/* Each check must have been made, not only skipped. */
	if (!c.records || !c.newest_checked || !c.kept_checked || !final_checked)
		FAIL("%s: nothing checked (records %llu, newest %llu, kept %llu, final %llu)\n",
		     sc->name, (unsigned long long)c.records, (unsigned long long)c.newest_checked,
		     (unsigned long long)c.kept_checked, (unsigned long long)final_checked);
	printf("%-19s rounds=%llu looks=%llu records=%llu skipped_packets=%llu "
	       "newest: checked=%llu unsettled=%llu overwritten=%llu; kept: checked=%llu "
	       "overwritten=%llu; committed=%llu delivered=%llu overwritten=%llu %s\n",
	       sc->name, (unsigned long long)rounds, (unsigned long long)c.looks,
	       (unsigned long long)c.records, (unsigned long long)c.lost_packets,
	       (unsigned long long)c.newest_checked, (unsigned long long)c.newest_unsettled,
	       (unsigned long long)c.newest_overwritten, (unsigned long long)c.kept_checked,
	       (unsigned long long)c.kept_overwritten, (unsigned long long)sum,
	       (unsigned long long)delivered, (unsigned long long)st.lost[GRB_LOST_OVERWRITTEN],
	       failures == f0 ? "ok" : "FAILED");
	grb_channel_destroy(g_ch);
	return failures != f0;
}

int main(int argc, char **argv)
{
	uint64_t total = stress_size(3000000, 3000);
	size_t i;
	int bad = 0, ran = 0;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (argc > 1 && strcmp(argv[1], cases[i].name))
			continue;
		bad += run_case(&cases[i], total);
		ran++;
	}
	printf("%d passed, %d failed\n", ran - bad, bad);
	return bad || !ran ? 1 : 0;
}
