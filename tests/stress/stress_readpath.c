// SPDX-License-Identifier: MIT
/*
 * stress_readpath.c - the read path of the open packet under load: records
 * read in place and by packets while writers, their signal handlers and
 * migrations go on, beside snapshot readers that keep looking.
 *
 * Per case (every alloc and sync: global atomic, per-CPU atomic, per-CPU
 * rseq, per-thread single writer; discard and overwrite modes):
 *  - writer threads write self-checking records (writer id, sequence
 *    number, filler, checksum); a signal thread interrupts them with
 *    SIGUSR1, whose handler writes one or two nested records under ids of
 *    its own, often while the thread holds a reservation; for per-CPU
 *    streams it also moves the writers between CPUs every few ms, and
 *    with the rseq sync some commits follow a migration (remote commits);
 *    a few records are discarded after reserve;
 *  - one consumer reads every stream, each with a consuming iterator
 *    (records in place, and packets once delivered) that it now and then
 *    swaps for a packet reader and back, so that records returned in
 *    place are skipped by a packet reader and by a new iterator;
 *  - snapshot readers loop over every stream, new or restarted.
 * Checks: every record intact; the consumer returns no record twice, each
 * writer's records of a stream in order, timestamps that never go back in
 * a stream; a packet's cursor skips only records already returned; each
 * snapshot's records intact, each writer's in order, none that the
 * consumer had returned before the snapshot was sampled, its packets'
 * decoded count and native header agreeing with the reader; no snapshot
 * packet reported corrupt.  When the writers are done, without a flush, the
 * consumer reads every committed record left (returned + overwritten ==
 * committed); after the finalize nothing more.  Per writer id, every
 * sequence number is returned or was refused or discarded, never both: in
 * discard mode every committed one is returned, in overwrite mode those
 * not returned are exactly the overwritten count; refusals match the loss
 * counters by cause, and the statistics' committed count matches the
 * writers'.
 *
 * GRB_STRESS_RECORDS (records per case, default 4,000,000) and
 * GRB_STRESS_SCALE size the run; argv[1] picks one case by name.
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
#include "stress_write.h"

#define NR_WRITERS 3
#define NR_IDS (2 * NR_WRITERS) /* threads 0..W-1, their handlers W..2W-1 */
#define MAX_STREAMS 64

static const struct grb_config c_gd =
	STRESS_CFG(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD);
static const struct grb_config c_go =
	STRESS_CFG(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_OVERWRITE);
static const struct grb_config c_cd =
	STRESS_CFG(GRB_ALLOC_PER_CPU, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD);
static const struct grb_config c_co =
	STRESS_CFG(GRB_ALLOC_PER_CPU, GRB_SYNC_ATOMIC, GRB_MODE_OVERWRITE);
static const struct grb_config c_rd =
	STRESS_CFG(GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_DISCARD);
static const struct grb_config c_ro =
	STRESS_CFG(GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_OVERWRITE);
static const struct grb_config c_td =
	STRESS_CFG(GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_MODE_DISCARD);
static const struct grb_config c_to =
	STRESS_CFG(GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_MODE_OVERWRITE);

STRESS_DEFINE_WRITE(gd, c_gd)
STRESS_DEFINE_WRITE(go, c_go)
STRESS_DEFINE_WRITE(cd, c_cd)
STRESS_DEFINE_WRITE(co, c_co)
STRESS_DEFINE_WRITE(rd, c_rd)
STRESS_DEFINE_WRITE(ro, c_ro)
STRESS_DEFINE_WRITE(td, c_td)
STRESS_DEFINE_WRITE(to, c_to)

struct rp_case {
	const char *name;
	const struct grb_config *cfg;
	int (*one)(struct grb_channel *ch, const struct payload *p, uint32_t len, int how);
	int (*nested2)(struct grb_channel *ch, const struct payload *a, const struct payload *b,
		       uint32_t len);
};

static const struct rp_case cases[] = {
	{ "global-atomic-discard", &c_gd, gd_one, gd_nested2 },
	{ "global-atomic-overwrite", &c_go, go_one, go_nested2 },
	{ "percpu-atomic-discard", &c_cd, cd_one, cd_nested2 },
	{ "percpu-atomic-overwrite", &c_co, co_one, co_nested2 },
	{ "percpu-rseq-discard", &c_rd, rd_one, rd_nested2 },
	{ "percpu-rseq-overwrite", &c_ro, ro_one, ro_nested2 },
	{ "perthread-single-discard", &c_td, td_one, td_nested2 },
	{ "perthread-single-overwrite", &c_to, to_one, to_nested2 },
};

/* ---- writers ---- */

/* What one writer id did: each sequence number's fate (1 committed, 2
 * discarded by choice, 3 refused), refusals by errno. */
struct wstate {
	uint8_t *fate;
	uint64_t seq; /* next */
	uint64_t committed, discarded, enobufs, ebusy, other;
	char pad[64];
};

static struct wstate ws[NR_IDS];
static struct grb_channel *g_ch;
static const struct rp_case *g_case;
static uint64_t g_quota, g_max_seq;
static pthread_t g_writers[NR_WRITERS];
static int g_wdone[NR_WRITERS];
static int g_stop_signals;
static __thread int tls_writer = -1;

static void note(struct wstate *w, uint64_t seq, int ret)
{
	uint8_t fate = 3;

	if (ret == 0) {
		fate = 1;
		w->committed++;
	} else if (ret == 1) {
		fate = 2;
		w->discarded++;
	} else if (ret == -ENOBUFS) {
		w->enobufs++;
	} else if (ret == -EBUSY) {
		w->ebusy++;
	} else {
		w->other++;
	}
	if (seq < g_max_seq)
		w->fate[seq] = fate;
}

static void on_signal(int sig)
{
	int t = tls_writer, saved = errno;
	struct wstate *w;
	struct payload a, b;

	(void)sig;
	if (t < 0)
		return;
	w = &ws[NR_WRITERS + t];
	if (w->seq + 2 > g_max_seq)
		return;
	make_payload(&a, (uint32_t)(NR_WRITERS + t), w->seq);
	if (w->seq % 3 == 0) {
		int ret;

		make_payload(&b, (uint32_t)(NR_WRITERS + t), w->seq + 1);
		ret = g_case->nested2(g_ch, &a, &b, PAYLOAD_FIXED + a.filler_len);
		note(w, w->seq, -(ret & 0xffff));
		note(w, w->seq + 1, -((ret >> 16) & 0xffff));
		w->seq += 2;
	} else {
		note(w, w->seq, g_case->one(g_ch, &a, PAYLOAD_FIXED + a.filler_len, 0));
		w->seq++;
	}
	errno = saved;
}

static void *writer_main(void *arg)
{
	int t = (int)(intptr_t)arg;
	struct wstate *w = &ws[t];
	struct payload p;
	uint64_t i;

	tls_writer = t;
	for (i = 0; i < g_quota; i++) {
		uint32_t len = make_payload(&p, (uint32_t)t, w->seq);
		int how = i % 97 == 5;

		if (g_case->cfg->sync == GRB_SYNC_PER_CPU_RSEQ && i % 499 == 7)
			how = 2;
		note(w, w->seq, g_case->one(g_ch, &p, len, how));
		w->seq++;
		/* Some work between records, and a yield now and then, so
		 * that the consumer keeps up part of the time. */
		{
			volatile uint32_t k;

			for (k = 0; k < (uint32_t)(i % 1024); k++)
				;
		}
		if (i % 512 == 0)
			sched_yield();
	}
	/* No handler record after this: its thread's bookkeeping ends.  The
	 * thread lives on until the signals stop, so that pthread_kill()
	 * never names a thread that was joined. */
	tls_writer = -1;
	__atomic_store_n(&g_wdone[t], 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&g_stop_signals, __ATOMIC_ACQUIRE)) {
		struct timespec ts = { 0, 100000 };

		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* Interrupts writers and, on per-CPU streams, moves them between CPUs. */
static void *signal_main(void *arg)
{
	unsigned int seed = 4242, n = 0;
	int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
	struct timespec ts = { 0, 20000 };

	(void)arg;
	while (!__atomic_load_n(&g_stop_signals, __ATOMIC_ACQUIRE)) {
		int t = (int)(rand_r(&seed) % NR_WRITERS);

		pthread_kill(g_writers[t], SIGUSR1);
		if (g_case->cfg->alloc == GRB_ALLOC_PER_CPU && ++n % 100 == 0 && ncpu > 1) {
			cpu_set_t cs;
			int i;

			CPU_ZERO(&cs);
			if (rand_r(&seed) % 3 == 0)
				for (i = 0; i < ncpu; i++)
					CPU_SET(i, &cs);
			else
				CPU_SET((int)(rand_r(&seed) % (unsigned)ncpu), &cs);
			pthread_setaffinity_np(g_writers[t], sizeof(cs), &cs);
		}
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* ---- the consumer ---- */

struct cons {
	uint32_t n;
	struct grb_iter *it[MAX_STREAMS];
	struct grb_reader *r[MAX_STREAMS]; /* packet reader, when it is NULL */
	uint8_t *seen[NR_IDS];
	uint64_t last_seq[NR_IDS][MAX_STREAMS]; /* seq + 1 */
	uint64_t last_ts[MAX_STREAMS];
	uint64_t read[MAX_STREAMS], read_ids[NR_IDS];
	uint64_t packets, skipped_in_packets, swaps, in_place_seen;
	unsigned int seed;
};

static struct cons g_cons;

static void check_record(struct cons *c, uint32_t s, const struct grb_record *rec)
{
	struct payload p;

	if (payload_check(rec->payload, rec->payload_len, &p) || p.writer >= NR_IDS ||
	    p.seq >= g_max_seq) {
		FAIL("%s: stream %u: torn record (len %u)\n", g_case->name, s, rec->payload_len);
		return;
	}
	if (c->seen[p.writer][p.seq])
		FAIL("%s: writer %u seq %llu returned twice\n", g_case->name, p.writer,
		     (unsigned long long)p.seq);
	c->seen[p.writer][p.seq] = 1;
	if (p.seq + 1 <= c->last_seq[p.writer][s])
		FAIL("%s: stream %u writer %u: seq %llu after %llu\n", g_case->name, s, p.writer,
		     (unsigned long long)p.seq, (unsigned long long)c->last_seq[p.writer][s] - 1);
	c->last_seq[p.writer][s] = p.seq + 1;
	snap_returned(p.writer, s, p.seq);
	if (rec->ts < c->last_ts[s])
		FAIL("%s: stream %u: timestamp back %llu -> %llu\n", g_case->name, s,
		     (unsigned long long)c->last_ts[s], (unsigned long long)rec->ts);
	c->last_ts[s] = rec->ts;
	c->read[s]++;
	c->read_ids[p.writer]++;
}

/* A packet taken by a packet reader: the records its cursor skips were
 * returned before (in place); the others are new. */
static void consume_packet(struct cons *c, uint32_t s, struct grb_reader *r,
			   const struct grb_packet *pkt)
{
	struct grb_packet_cursor cur = { pkt->header_size, pkt->info.ts_begin };
	struct grb_record rec;
	struct payload p;
	uint64_t all = 0;
	int ret;

	c->packets++;
	while (cur.off < pkt->start_off && grb_packet_record_next(r, pkt, &cur, &rec) == 0) {
		all++;
		c->skipped_in_packets++;
		if (payload_check(rec.payload, rec.payload_len, &p) || p.writer >= NR_IDS ||
		    p.seq >= g_max_seq || !c->seen[p.writer][p.seq])
			FAIL("%s: stream %u: a packet skips a record never returned\n",
			     g_case->name, s);
	}
	if (cur.off != pkt->start_off)
		FAIL("%s: stream %u: the packet's start is not a record's\n", g_case->name, s);
	grb_packet_cursor_init(pkt, &cur);
	while ((ret = grb_packet_record_next(r, pkt, &cur, &rec)) == 0) {
		all++;
		check_record(c, s, &rec);
	}
	if (ret != -ENODATA)
		FAIL("%s: stream %u: record decode error %d\n", g_case->name, s, ret);
	if (all != pkt->info.records)
		FAIL("%s: stream %u packet %llu: %llu records, the packet says %llu\n",
		     g_case->name, s, (unsigned long long)pkt->info.seq, (unsigned long long)all,
		     (unsigned long long)pkt->info.records);
}

/* Swaps stream s's iterator for a packet reader or back; only when the
 * iterator holds no packet (it just returned -EAGAIN). */
static void swap_reader(struct cons *c, uint32_t s)
{
	c->swaps++;
	if (c->it[s]) {
		grb_iter_destroy(c->it[s]);
		c->it[s] = NULL;
		c->r[s] = grb_reader_create(g_ch, s, 0);
		if (!c->r[s])
			FAIL("%s: reader_create %u: %d\n", g_case->name, s, errno);
	} else {
		grb_reader_destroy(c->r[s]);
		c->r[s] = NULL;
		c->it[s] = grb_iter_create(g_ch, s, 0);
		if (!c->it[s])
			FAIL("%s: iter_create %u: %d\n", g_case->name, s, errno);
	}
}

/*
 * Reads stream s until it has nothing now (or up to budget records);
 * iter_only: with an iterator, swapping a packet reader back first.
 * Return what the last call returned (-EAGAIN, -ENODATA, 0 on budget).
 */
static int consume_stream(struct cons *c, uint32_t s, int budget, int iter_only)
{
	struct grb_record rec;
	struct grb_packet pkt;
	int ret;

	if (iter_only && !c->it[s])
		swap_reader(c, s);
	while (budget-- > 0) {
		if (c->it[s]) {
			ret = grb_iter_next(c->it[s], &rec);
			if (ret == 0) {
				struct grb_stream_stats ss;

				check_record(c, s, &rec);
				/* Whether records of the open packet were
				 * returned in place (consumed's low bits). */
				if (c->read[s] % 64 == 0 &&
				    grb_channel_read_stream_stats(g_ch, s, &ss) == 0 &&
				    (ss.consumed_pos & 1023))
					c->in_place_seen++;
				continue;
			}
		} else if (c->r[s]) {
			ret = grb_reader_get_next(c->r[s], &pkt);
			if (ret == 0) {
				consume_packet(c, s, c->r[s], &pkt);
				grb_reader_put(c->r[s], &pkt);
				continue;
			}
		} else {
			return -EIO;
		}
		if (ret == -EAGAIN && !iter_only && rand_r(&c->seed) % 4 == 0)
			swap_reader(c, s);
		if (ret != -EAGAIN && ret != -ENODATA)
			FAIL("%s: stream %u: read error %d\n", g_case->name, s, ret);
		return ret;
	}
	return 0;
}

static int g_phase; /* 0 run, 1 drain without a flush, 2 finalized */
static int g_phase_done;

static void *consumer_main(void *arg)
{
	struct cons *c = &g_cons;
	uint32_t s;
	int phase = 0;

	(void)arg;
	for (s = 0; s < c->n; s++) {
		c->it[s] = grb_iter_create(g_ch, s, 0);
		if (!c->it[s])
			FAIL("%s: iter_create %u: %d\n", g_case->name, s, errno);
	}
	for (;;) {
		int want = __atomic_load_n(&g_phase, __ATOMIC_ACQUIRE), busy = 0, ended = 0;

		if (want != phase) {
			/* Writers are done (phase 1): read everything left
			 * without a flush, with iterators; then (phase 2)
			 * nothing is left after the finalize. */
			phase = want;
			for (s = 0; s < c->n; s++) {
				int ret;

				while ((ret = consume_stream(c, s, 1 << 20, 1)) == 0)
					;
				if (phase == 2 && ret != -ENODATA)
					FAIL("%s: stream %u: %d after the finalize\n", g_case->name,
					     s, ret);
			}
			__atomic_store_n(&g_phase_done, phase, __ATOMIC_RELEASE);
			if (phase == 2)
				break;
			continue;
		}
		for (s = 0; s < c->n; s++) {
			int ret = consume_stream(c, s, 32, 0);

			busy += ret == 0;
			ended += ret == -ENODATA;
		}
		/* Overwrite mode: lag now and then, so that writers lap the
		 * ring under the records read in place and the snapshots. */
		if (g_case->cfg->mode == GRB_MODE_OVERWRITE && rand_r(&c->seed) % 64 == 0) {
			struct timespec ts = { 0, 200000 };

			nanosleep(&ts, NULL);
		} else if (!busy) {
			sched_yield();
		}
		(void)ended;
	}
	for (s = 0; s < c->n; s++) {
		if (c->it[s])
			grb_iter_destroy(c->it[s]);
		if (c->r[s])
			grb_reader_destroy(c->r[s]);
	}
	return NULL;
}

/* ---- a case ---- */

static void wait_phase(int phase)
{
	while (__atomic_load_n(&g_phase_done, __ATOMIC_ACQUIRE) != phase)
		sched_yield();
}

static uint64_t sum_committed_stats(uint64_t *overwritten, uint64_t *lost_other, uint64_t *corrupt)
{
	uint32_t i, n = grb_channel_nr_streams(g_ch);
	uint64_t committed = 0;

	*overwritten = *lost_other = *corrupt = 0;
	for (i = 0; i < n; i++) {
		struct grb_stream_stats ss;

		grb_channel_read_stream_stats(g_ch, i, &ss);
		committed += ss.committed;
		*overwritten += ss.lost[GRB_LOST_OVERWRITTEN];
		*lost_other += ss.lost_total - ss.lost[GRB_LOST_OVERWRITTEN];
		*corrupt += ss.corrupt_records;
		if (ss.disabled || ss.invariant_failures)
			FAIL("%s: stream %u disabled (%llu invariant failures)\n", g_case->name, i,
			     (unsigned long long)ss.invariant_failures);
	}
	return committed;
}

static int run_case(const struct rp_case *rc, uint64_t total)
{
	struct grb_channel_attr a;
	struct grb_channel_stats cs;
	pthread_t cons, sig;
	struct snap_stats ss_sum;
	uint64_t committed = 0, discarded = 0, refused = 0, enobufs = 0, ebusy = 0, other = 0;
	uint64_t read = 0, st_committed, overwritten, lost_other, corrupt, unread = 0,
		 seq_total = 0;
	uint64_t read_drain = 0;
	struct timespec t0, t1;
	int i, f0 = failures;
	uint32_t s;

	g_case = rc;
	g_quota = total / NR_WRITERS;
	g_max_seq = g_quota + 8;
	memset(ws, 0, sizeof(ws));
	memset(&g_cons, 0, sizeof(g_cons));
	for (i = 0; i < NR_IDS; i++) {
		ws[i].fate = (uint8_t *)calloc(g_max_seq, 1);
		g_cons.seen[i] = (uint8_t *)calloc(g_max_seq, 1);
	}
	grb_channel_attr_init(&a);
	a.subbuf_size = 1024;
	a.subbuf_count = 4;
	a.nr_streams = 8;
	g_ch = grb_channel_create(rc->cfg, &a);
	if (!g_ch) {
		FAIL("%s: channel_create: %s\n", rc->name, grb_last_error());
		return 1;
	}
	g_cons.n = grb_channel_nr_streams(g_ch);
	g_cons.seed = 99;
	if (g_cons.n > MAX_STREAMS) {
		FAIL("%s: %u streams\n", rc->name, g_cons.n);
		return 1;
	}
	g_phase = g_phase_done = 0;
	g_stop_signals = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (snap_start(g_ch, rc->name, NR_IDS))
		return 1;
	pthread_create(&cons, NULL, consumer_main, NULL);
	for (i = 0; i < NR_WRITERS; i++) {
		g_wdone[i] = 0;
		pthread_create(&g_writers[i], NULL, writer_main, (void *)(intptr_t)i);
	}
	pthread_create(&sig, NULL, signal_main, NULL);
	for (i = 0; i < NR_WRITERS; i++)
		while (!__atomic_load_n(&g_wdone[i], __ATOMIC_ACQUIRE)) {
			struct timespec ts = { 0, 1000000 };

			nanosleep(&ts, NULL);
		}
	__atomic_store_n(&g_stop_signals, 1, __ATOMIC_RELEASE);
	pthread_join(sig, NULL);
	for (i = 0; i < NR_WRITERS; i++)
		pthread_join(g_writers[i], NULL);

	/* Every writer is done: everything committed is readable now,
	 * without a flush (the per-thread streams were flushed at their
	 * threads' exit). */
	__atomic_store_n(&g_phase, 1, __ATOMIC_RELEASE);
	wait_phase(1);
	for (s = 0; s < g_cons.n; s++)
		read_drain += g_cons.read[s];
	st_committed = sum_committed_stats(&overwritten, &lost_other, &corrupt);
	if (read_drain + overwritten + corrupt != st_committed)
		FAIL("%s: before the finalize: read %llu + overwritten %llu + corrupt %llu != "
		     "committed %llu\n",
		     rc->name, (unsigned long long)read_drain, (unsigned long long)overwritten,
		     (unsigned long long)corrupt, (unsigned long long)st_committed);
	grb_channel_finalize(g_ch);
	__atomic_store_n(&g_phase, 2, __ATOMIC_RELEASE);
	wait_phase(2);
	pthread_join(cons, NULL);
	snap_stop(&ss_sum);
	clock_gettime(CLOCK_MONOTONIC, &t1);

	for (s = 0; s < g_cons.n; s++)
		read += g_cons.read[s];
	if (read != read_drain)
		FAIL("%s: %llu records after the finalize\n", rc->name,
		     (unsigned long long)(read - read_drain));
	for (i = 0; i < NR_IDS; i++) {
		uint64_t q;

		committed += ws[i].committed;
		discarded += ws[i].discarded;
		enobufs += ws[i].enobufs;
		ebusy += ws[i].ebusy;
		other += ws[i].other;
		seq_total += ws[i].seq;
		for (q = 0; q < g_max_seq; q++) {
			uint8_t f = ws[i].fate[q];

			if (g_cons.seen[i][q] && f != 1)
				FAIL("%s: writer %d seq %llu returned, yet %s\n", rc->name, i,
				     (unsigned long long)q, f ? "not committed" : "never written");
			if (f == 1 && !g_cons.seen[i][q]) {
				unread++;
				if (rc->cfg->mode != GRB_MODE_OVERWRITE)
					FAIL("%s: writer %d seq %llu committed, never returned\n",
					     rc->name, i, (unsigned long long)q);
			}
		}
	}
	refused = enobufs + ebusy + other;
	st_committed = sum_committed_stats(&overwritten, &lost_other, &corrupt);
	grb_channel_read_stats(g_ch, &cs);
	if (seq_total != committed + discarded + refused)
		FAIL("%s: sequence numbers do not add up\n", rc->name);
	if (read + overwritten + lost_other != seq_total - discarded)
		FAIL("%s: read %llu + overwritten %llu + lost %llu != written %llu\n", rc->name,
		     (unsigned long long)read, (unsigned long long)overwritten,
		     (unsigned long long)lost_other, (unsigned long long)(seq_total - discarded));
	if (unread != overwritten)
		FAIL("%s: %llu committed records not returned, %llu counted overwritten\n",
		     rc->name, (unsigned long long)unread, (unsigned long long)overwritten);
	if (st_committed != committed)
		FAIL("%s: statistics say %llu committed, the writers %llu\n", rc->name,
		     (unsigned long long)st_committed, (unsigned long long)committed);
	if (lost_other != refused || cs.lost[GRB_LOST_FULL] + cs.lost[GRB_LOST_WRAP] != enobufs ||
	    cs.lost[GRB_LOST_NESTED] != ebusy || other)
		FAIL("%s: refusals full+wrap %llu/%llu nested %llu/%llu other %llu\n", rc->name,
		     (unsigned long long)(cs.lost[GRB_LOST_FULL] + cs.lost[GRB_LOST_WRAP]),
		     (unsigned long long)enobufs, (unsigned long long)cs.lost[GRB_LOST_NESTED],
		     (unsigned long long)ebusy, (unsigned long long)other);
	if (corrupt || cs.corrupt_packets)
		FAIL("%s: %llu corrupt records\n", rc->name, (unsigned long long)corrupt);
	if (rc->cfg->mode != GRB_MODE_OVERWRITE && overwritten)
		FAIL("%s: overwritten records in discard mode\n", rc->name);
	if (!read || !ss_sum.records || !(ws[NR_WRITERS].seq + ws[NR_WRITERS + 1].seq))
		FAIL("%s: nothing read, no snapshot record or no handler record\n", rc->name);
	printf("%-26s %6.2fs written=%llu committed=%llu read=%llu (%llu skipped in packets, "
	       "in place seen %llu, %llu swaps) discarded=%llu lost: full/wrap=%llu "
	       "nested=%llu overwritten=%llu remote=%llu | snapshots: %llu looks, %llu records, "
	       "%llu again, %llu packets overwritten %s\n",
	       rc->name, (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
	       (unsigned long long)(seq_total - discarded), (unsigned long long)committed,
	       (unsigned long long)read, (unsigned long long)g_cons.skipped_in_packets,
	       (unsigned long long)g_cons.in_place_seen, (unsigned long long)g_cons.swaps,
	       (unsigned long long)discarded, (unsigned long long)enobufs,
	       (unsigned long long)ebusy, (unsigned long long)overwritten,
	       (unsigned long long)cs.remote_commits, (unsigned long long)ss_sum.looks,
	       (unsigned long long)ss_sum.records, (unsigned long long)ss_sum.again,
	       (unsigned long long)ss_sum.lost_packets, failures == f0 ? "ok" : "FAILED");
	fflush(stdout);
	grb_channel_destroy(g_ch);
	for (i = 0; i < NR_IDS; i++) {
		free(ws[i].fate);
		free(g_cons.seen[i]);
	}
	return failures != f0;
}

int main(int argc, char **argv)
{
	uint64_t total = stress_size(4000000, 3000);
	struct sigaction sa;
	size_t i;
	int bad = 0, ran = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	printf("stress_readpath: %llu records per case, %d writers + handlers, %d snapshot "
	       "readers, %ld CPUs\n",
	       (unsigned long long)total, NR_WRITERS, SNAP_READERS, sysconf(_SC_NPROCESSORS_ONLN));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (argc > 1 && strcmp(argv[1], cases[i].name))
			continue;
		bad += run_case(&cases[i], total);
		ran++;
	}
	printf("%d passed, %d failed\n", ran - bad, bad);
	return bad || !ran ? 1 : 0;
}
