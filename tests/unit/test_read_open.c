// SPDX-License-Identifier: MIT
/*
 * test_read_open.c - reading the open packet: the committed position, the
 * consuming iterator's records read in place (claimed in consumed's low
 * bits) and the snapshot readers' copies, for every sync and alloc (global
 * atomic, per-CPU atomic, per-CPU rseq, per-thread single writer), in
 * discard and overwrite modes.
 *
 * Every thread runs on CPU 0 (the per-CPU streams are then one stream).
 * Deterministic: threads take turns through semaphores, nested records
 * come from a handler the writing thread raises itself.  Checks:
 *  - an idle stream's records are readable without a flush, also those of
 *    another thread that stays alive;
 *  - a reserved, uncommitted record hides itself and every later record,
 *    never an earlier one, within a packet and across packets (the
 *    position moved past delivered packets, and seen by the reader
 *    itself when no commit published it);
 *  - k records read in place, then the packet delivered (filled or
 *    flushed): the rest come exactly once, from the same iterator, a new
 *    one or a packet reader; a discarded record in between is passed
 *    over and not counted among the k;
 *  - overwrite: returned + overwritten == written after a lap, and a
 *    record returned in place stays intact while the ring is rewritten;
 *  - snapshots: looks that leave the ring as it was, several snapshot
 *    readers beside the consuming one, the records consumed in place not
 *    shown, a complete packet header in the open packet's copy, no packet
 *    missed while its delivery is under way;
 *  - the merge reads every stream's open packet, and a reader waiting for
 *    a delivery returns at once while committed records are unread;
 *  - the committed count of the stream statistics: committed + lost ==
 *    written, and returned + overwritten == committed once all is read.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <grb/grb.h>
#include <grb/native.h>

#include "check.h"
#include "pin.h"

#define SB 512u /* a packet: 64-byte header, 24-byte first record, 16-byte others */
#define NSB 4u
#define MAXV 4096

/*
 * A delivery can be held inside the client's packet_end, in the thread
 * named by hold_thread, until the test lets it go: a writer preempted
 * while it delivers.
 */
struct job;
static struct job *volatile g_sig_job; /* what the SIGUSR1 handler writes */
static pthread_t hold_thread;
static int hold_armed;
static uint64_t hold_seq; /* the packet whose delivery is held */
static struct job *hold_nested; /* written by the held thread's handler */
static sem_t hold_entered, hold_release;

static void test_packet_end(const struct grb_config *cfg, void *packet,
			    const struct grb_packet_info *info)
{
	grb_native_packet_end(cfg, packet, info);
	if (__atomic_load_n(&hold_armed, __ATOMIC_ACQUIRE) &&
	    pthread_equal(pthread_self(), hold_thread) && info->seq == hold_seq) {
		__atomic_store_n(&hold_armed, 0, __ATOMIC_RELAXED);
		if (hold_nested) {
			g_sig_job = hold_nested;
			raise(SIGUSR1);
			g_sig_job = NULL;
		}
		sem_post(&hold_entered);
		while (sem_wait(&hold_release))
			;
	}
}

#define CFG(ALLOC, SYNC, MODE)                                                                 \
	{                                                                                      \
		.abi = GRB_CONFIG_ABI, .alloc = (ALLOC), .sync = (SYNC), .mode = (MODE),       \
		.wakeup = GRB_WAKEUP_NONE, .ts_bits = 32, .max_nesting = 4, .record_align = 8, \
		.packet_header_size = (unsigned int)sizeof(struct grb_native_packet),          \
		.min_record_size = GRB_NATIVE_COMPACT_SIZE, .clock_read = grb_clock_monotonic, \
		.record_header_size = grb_native_header_size,                                  \
		.record_header_write = grb_native_header_write,                                \
		.packet_begin = grb_native_packet_begin, .packet_end = test_packet_end,        \
		.record_decode = grb_native_record_decode,                                     \
		.record_discard = grb_native_record_discard, .name = "read_open",              \
	}

static const struct grb_config c_gd = CFG(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD);
static const struct grb_config c_go = CFG(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_OVERWRITE);
static const struct grb_config c_cd = CFG(GRB_ALLOC_PER_CPU, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD);
static const struct grb_config c_co = CFG(GRB_ALLOC_PER_CPU, GRB_SYNC_ATOMIC, GRB_MODE_OVERWRITE);
static const struct grb_config c_rd =
	CFG(GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_DISCARD);
static const struct grb_config c_ro =
	CFG(GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_OVERWRITE);
static const struct grb_config c_td =
	CFG(GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_MODE_DISCARD);
static const struct grb_config c_to =
	CFG(GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_MODE_OVERWRITE);

struct variant {
	const char *name;
	const struct grb_config *cfg;
};

static const struct variant variants[] = {
	{ "global-atomic-discard", &c_gd },    { "global-atomic-overwrite", &c_go },
	{ "percpu-atomic-discard", &c_cd },    { "percpu-atomic-overwrite", &c_co },
	{ "percpu-rseq-discard", &c_rd },      { "percpu-rseq-overwrite", &c_ro },
	{ "perthread-single-discard", &c_td }, { "perthread-single-overwrite", &c_to },
};

/* The variant under test, for the messages and the signal handler. */
static const struct variant *V;
static struct grb_channel *CH;

static int overwrite(void)
{
	return V->cfg->mode == GRB_MODE_OVERWRITE;
}

/* CHECK() naming the variant; cond is evaluated once. */
#define VCHECK(cond)                                                                        \
	do {                                                                                \
		if (!(cond)) {                                                              \
			fprintf(stderr, "%s:%d: CHECK(%s) failed (variant %s)\n", __FILE__, \
				__LINE__, #cond, V ? V->name : "-");                        \
			failures++;                                                         \
		}                                                                           \
	} while (0)

static struct grb_channel *make(void)
{
	struct grb_channel_attr a;

	grb_channel_attr_init(&a);
	a.subbuf_size = SB;
	a.subbuf_count = NSB;
	a.nr_streams = 8;
	CH = grb_channel_create(V->cfg, &a);
	VCHECK(CH != NULL);
	return CH;
}

static int put(uint64_t v)
{
	return grb_write_record(V->cfg, CH, 0, &v, sizeof(v));
}

/* The one stream written so far. */
static uint32_t the_stream(void)
{
	uint32_t i, n = grb_channel_nr_streams(CH), found = UINT32_MAX, many = 0;

	for (i = 0; i < n; i++) {
		struct grb_stream_stats ss;

		grb_channel_read_stream_stats(CH, i, &ss);
		if (ss.write_pos) {
			many += found != UINT32_MAX;
			found = i;
		}
	}
	VCHECK(found != UINT32_MAX && !many);
	return found == UINT32_MAX ? 0 : found;
}

static uint64_t write_pos(uint32_t stream)
{
	struct grb_stream_stats ss;

	grb_channel_read_stream_stats(CH, stream, &ss);
	return ss.write_pos;
}

/*
 * Writes values from *v on until the write position of stream enters the
 * next packet (the current one is then closed), plus extra more.  Return
 * the count written.
 */
static int fill_packet(uint32_t stream, uint64_t *v, int extra)
{
	uint64_t pkt = write_pos(stream) / SB;
	int n = 0;

	while (write_pos(stream) / SB == pkt && n < 1000) {
		VCHECK(put((*v)++) == 0);
		n++;
	}
	while (extra-- > 0) {
		VCHECK(put((*v)++) == 0);
		n++;
	}
	return n;
}

/* Takes up to max records (8-byte values) from it until it has none now. */
static int take(struct grb_iter *it, uint64_t *out, int max)
{
	struct grb_record rec;
	int n = 0, ret = 0;

	while (n < max && (ret = grb_iter_next(it, &rec)) == 0) {
		VCHECK(rec.payload_len == 8);
		memcpy(&out[n++], rec.payload, 8);
	}
	if (n < max)
		VCHECK(ret == -EAGAIN || ret == -ENODATA);
	return n;
}

/* Whether out[0..n) is first, first + 1, ... */
static int is_run(const uint64_t *out, int n, uint64_t first)
{
	int i;

	for (i = 0; i < n; i++)
		if (out[i] != first + (uint64_t)i)
			return 0;
	return 1;
}

static struct grb_stream_stats stats(uint32_t stream)
{
	struct grb_stream_stats ss;

	grb_channel_read_stream_stats(CH, stream, &ss);
	return ss;
}

/*
 * The accounting of a quiet stream: committed + lost (at reservation) ==
 * written; and, with returned records read, returned + overwritten +
 * corrupt == committed when read is 1 (everything readable was read).
 */
static void check_accounting(uint32_t stream, uint64_t written, uint64_t returned, int read)
{
	struct grb_stream_stats ss = stats(stream);
	uint64_t ow = ss.lost[GRB_LOST_OVERWRITTEN];

	VCHECK(ss.committed + ss.lost_total - ow == written);
	if (read)
		VCHECK(returned + ow + ss.corrupt_records == ss.committed);
	if (!overwrite())
		VCHECK(ow == 0);
	VCHECK(ss.invariant_failures == 0 && ss.corrupt_packets == 0);
}

/*
 * A snapshot of stream: every record into out[], each packet checked: its
 * records decode to its count, and the native packet header in the packet
 * (the copy's, completed for the open packet) agrees with what the reader
 * reports.  Return the count, or -1 when the snapshot failed.
 */
static int snapshot(struct grb_reader *r, uint64_t *out, int max)
{
	struct grb_packet pkt;
	int n = 0, ret;

	while ((ret = grb_reader_get_next(r, &pkt)) == 0) {
		const struct grb_native_packet *h = (const struct grb_native_packet *)pkt.data;
		struct grb_packet_cursor cur = { 0, 0 };
		struct grb_record rec;
		uint64_t all = 0, last_ts = pkt.info.ts_begin;

		/* Every record from the header on, those consumed included. */
		cur.prev_ts = pkt.info.ts_begin;
		while (grb_packet_record_next(r, &pkt, &cur, &rec) == 0) {
			all++;
			last_ts = rec.ts;
		}
		VCHECK(cur.off == pkt.info.content_size);
		VCHECK(all == pkt.info.records);
		VCHECK(h->magic == GRB_NATIVE_PACKET_MAGIC);
		VCHECK(h->seq == pkt.info.seq && pkt.pos == pkt.info.seq * SB);
		VCHECK(h->ts_begin == pkt.info.ts_begin && h->ts_end == pkt.info.ts_end);
		VCHECK(h->ts_end >= last_ts);
		VCHECK(h->content_size == pkt.info.content_size && h->packet_size == SB);
		VCHECK(h->records == pkt.info.records && h->lost == pkt.info.lost);
		/* The records shown: those not consumed. */
		grb_packet_cursor_init(&pkt, &cur);
		while (grb_packet_record_next(r, &pkt, &cur, &rec) == 0) {
			VCHECK(rec.payload_len == 8);
			if (n < max)
				memcpy(&out[n], rec.payload, 8);
			n++;
		}
		grb_reader_put(r, &pkt);
	}
	VCHECK(ret == -ENODATA);
	if (ret != -ENODATA)
		fprintf(stderr, "  snapshot get_next: %d\n", ret);
	return ret == -ENODATA ? n : -1;
}

/* A new snapshot reader's look at stream. */
static int look(uint32_t stream, uint64_t *out, int max)
{
	struct grb_reader *r = grb_reader_create(CH, stream, GRB_READER_SNAPSHOT);
	int n;

	VCHECK(r != NULL);
	if (!r)
		return -1;
	n = snapshot(r, out, max);
	grb_reader_destroy(r);
	return n;
}

/* ---- a thread that stays alive and runs what it is given ---- */

struct worker {
	pthread_t t;
	sem_t go, done;
	void (*fn)(void *);
	void *arg;
	int quit;
};

static void *worker_main(void *p)
{
	struct worker *w = (struct worker *)p;

	for (;;) {
		while (sem_wait(&w->go))
			;
		if (w->quit)
			break;
		w->fn(w->arg);
		sem_post(&w->done);
	}
	return NULL;
}

static void worker_start(struct worker *w)
{
	sem_init(&w->go, 0, 0);
	sem_init(&w->done, 0, 0);
	w->quit = 0;
	CHECK(pthread_create(&w->t, NULL, worker_main, w) == 0);
}

/* Runs fn(arg) in the worker; worker_wait() waits for it to return. */
static void worker_post(struct worker *w, void (*fn)(void *), void *arg)
{
	w->fn = fn;
	w->arg = arg;
	sem_post(&w->go);
}

static void worker_wait(struct worker *w)
{
	while (sem_wait(&w->done))
		;
}

static void worker_run(struct worker *w, void (*fn)(void *), void *arg)
{
	worker_post(w, fn, arg);
	worker_wait(w);
}

static void worker_stop(struct worker *w)
{
	w->quit = 1;
	sem_post(&w->go);
	pthread_join(w->t, NULL);
	sem_destroy(&w->go);
	sem_destroy(&w->done);
}

/* What a worker or the signal handler writes. */
struct job {
	uint64_t first; /* values first .. first + n - 1 */
	int n;
	int fill; /* or: until the stream's write position enters the next
		   * packet, plus n */
	uint32_t stream;
	int written; /* out */
	struct grb_ctx ctx; /* a held reservation */
	uint64_t held; /* its value */
	struct job *nested; /* written by a handler while held */
};

static void job_write(struct job *j)
{
	uint64_t v = j->first;
	int i;

	if (j->fill) {
		j->written = fill_packet(j->stream, &v, j->n);
		return;
	}
	for (i = 0; i < j->n; i++)
		VCHECK(put(v++) == 0);
	j->written = j->n;
}

static void on_signal(int sig)
{
	struct job *j = g_sig_job;

	(void)sig;
	if (j)
		job_write(j);
}

static void do_write(void *p)
{
	job_write((struct job *)p);
}

/* Reserves and fills the held record, then lets a handler write nested. */
static void do_reserve(void *p)
{
	struct job *j = (struct job *)p;

	j->ctx.event_id = 0;
	j->ctx.payload_len = 8;
	VCHECK(grb_reserve(V->cfg, CH, &j->ctx) == 0);
	grb_write(&j->ctx, &j->held, 8);
	if (j->nested) {
		g_sig_job = j->nested;
		raise(SIGUSR1);
		g_sig_job = NULL;
	}
}

static void do_commit(void *p)
{
	grb_commit(V->cfg, &((struct job *)p)->ctx);
}

static void do_discard(void *p)
{
	grb_discard(V->cfg, &((struct job *)p)->ctx);
}

static void do_flush(void *p)
{
	(void)p;
	grb_channel_flush(CH);
}

/* ---- the tests ---- */

/* An idle stream's records, without a flush; then more, then a flush that
 * brings nothing new. */
static void test_idle(void)
{
	uint64_t out[MAXV], v = 0;
	struct grb_iter *it;
	uint32_t s;
	int n;

	if (!make())
		return;
	for (; v < 5; v++)
		VCHECK(put(v) == 0);
	s = the_stream();
	it = grb_iter_create(CH, s, 0);
	n = take(it, out, MAXV);
	VCHECK(n == 5 && is_run(out, n, 0));
	VCHECK(take(it, out, MAXV) == 0);
	check_accounting(s, 5, 5, 1);
	for (; v < 8; v++)
		VCHECK(put(v) == 0);
	n = take(it, out, MAXV);
	VCHECK(n == 3 && is_run(out, n, 5));
	grb_channel_flush(CH);
	VCHECK(take(it, out, MAXV) == 0);
	/* Several packets, the last one open. */
	n = fill_packet(s, &v, 0);
	n += fill_packet(s, &v, 3);
	VCHECK(take(it, out, MAXV) == n && is_run(out, n, 8));
	check_accounting(s, v, v, 1);
	grb_iter_destroy(it);
	grb_channel_destroy(CH);
}

/* The records of another thread that stays alive and writes no more. */
static void test_idle_other_thread(void)
{
	struct worker w;
	struct job j = { 0 };
	uint64_t out[MAXV];
	struct grb_iter *it;
	uint32_t s;
	int n;

	if (!make())
		return;
	worker_start(&w);
	j.first = 100;
	j.n = 7;
	worker_run(&w, do_write, &j);
	s = the_stream();
	it = grb_iter_create(CH, s, 0);
	n = take(it, out, MAXV);
	VCHECK(n == 7 && is_run(out, n, 100));
	/* A snapshot sees them too. */
	n = look(s, out, MAXV);
	VCHECK(n == 0); /* consumed */
	j.first = 107;
	j.n = 2;
	worker_run(&w, do_write, &j);
	n = look(s, out, MAXV);
	VCHECK(n == 2 && is_run(out, n, 107));
	n = take(it, out, MAXV);
	VCHECK(n == 2 && is_run(out, n, 107));
	check_accounting(s, 9, 9, 1);
	grb_iter_destroy(it);
	worker_stop(&w);
	grb_channel_destroy(CH);
}

/*
 * A reserved, uncommitted record A hides itself and what follows, not what
 * precedes.  The records after A come from a handler that interrupts the
 * thread holding A (nested), or, with the atomic syncs, from another
 * thread; they stay in A's packet (cross = 0) or close it and go on in
 * the next one (cross = 1).  Then, with cross, a record E written after A
 * is committed and a record D held again: E shows, D and what follows
 * does not.
 */
/*
 * The single writer's commit at nesting depth 1 leaves commit_pos at the
 * offset (doc/ordering.md, [Q7]), also when a handler nested in its record
 * wrote into the next packet and the commit completed the record's packet.
 */
static void check_exact(uint32_t s)
{
	const struct grb_shm_stream *shm = CH->streams[s].shm;

	if (V->cfg->sync == GRB_SYNC_SINGLE_WRITER)
		VCHECK(__atomic_load_n(&shm->commit_pos, __ATOMIC_ACQUIRE) ==
		       __atomic_load_n(&shm->offset, __ATOMIC_ACQUIRE));
}

static void test_open_hides(int other_thread, int cross)
{
	struct worker w, x;
	struct job before = { 0 }, a = { 0 }, after = { 0 }, e = { 0 }, d = { 0 }, f = { 0 };
	uint64_t out[MAXV], snap[MAXV];
	struct grb_iter *it;
	uint32_t s;
	int n, m;

	if (!make())
		return;
	worker_start(&w);
	if (other_thread)
		worker_start(&x);
	before.first = 0;
	before.n = 3;
	worker_run(&w, do_write, &before);
	s = the_stream();
	a.held = 3;
	after.first = 4;
	after.n = cross ? 2 : 4;
	after.fill = cross;
	after.stream = s;
	if (!other_thread)
		a.nested = &after;
	worker_run(&w, do_reserve, &a);
	if (other_thread)
		worker_run(&x, do_write, &after);
	VCHECK(after.written >= 2);
	it = grb_iter_create(CH, s, 0);
	n = take(it, out, MAXV);
	VCHECK(n == 3 && is_run(out, n, 0));
	m = look(s, snap, MAXV);
	VCHECK(m == 0); /* 0..2 consumed, the rest hidden */
	worker_run(&w, do_commit, &a);
	check_exact(s);
	n = take(it, out, MAXV);
	VCHECK(n == 1 + after.written && is_run(out, n, 3));
	if (cross) {
		/* E's commit publishes, the position having passed A's
		 * delivered packet (moved by the delivery, or by E's commit
		 * over the delivered packets); D hides itself and F. */
		e.first = 4 + (uint64_t)after.written;
		e.n = 1;
		worker_run(&w, do_write, &e);
		d.held = e.first + 1;
		f.first = d.held + 1;
		f.n = 2;
		if (!other_thread)
			d.nested = &f;
		worker_run(&w, do_reserve, &d);
		if (other_thread)
			worker_run(&x, do_write, &f);
		n = take(it, out, MAXV);
		VCHECK(n == 1 && out[0] == e.first);
		m = look(s, snap, MAXV);
		VCHECK(m == 0);
		worker_run(&w, do_commit, &d);
		check_exact(s);
		n = take(it, out, MAXV);
		VCHECK(n == 3 && is_run(out, n, d.held));
		check_accounting(s, f.first + 2, f.first + 2, 1);
	} else {
		check_accounting(s, 4 + (uint64_t)after.written, 4 + (uint64_t)after.written, 1);
	}
	grb_iter_destroy(it);
	if (other_thread)
		worker_stop(&x);
	worker_stop(&w);
	grb_channel_destroy(CH);
}

/*
 * k records read in place, then the packet is delivered.  how: 0 the same
 * iterator goes on after the packet was filled, 1 after a flush, 2 a new
 * iterator, 3 a packet reader after a flush.
 */
static void test_k_then_delivered(int how)
{
	uint64_t out[MAXV], v = 0;
	struct grb_iter *it;
	uint32_t s;
	int n, k = 3, rest;

	if (!make())
		return;
	for (; v < 6; v++)
		VCHECK(put(v) == 0);
	s = the_stream();
	it = grb_iter_create(CH, s, 0);
	VCHECK(take(it, out, k) == k && is_run(out, k, 0));
	switch (how) {
	case 0:
		rest = 3 + fill_packet(s, &v, 2);
		n = take(it, out, MAXV);
		VCHECK(n == rest && is_run(out, n, 3));
		break;
	case 1:
		grb_channel_flush(CH);
		n = take(it, out, MAXV);
		VCHECK(n == 3 && is_run(out, n, 3));
		break;
	case 2:
		grb_iter_destroy(it);
		it = grb_iter_create(CH, s, 0);
		n = take(it, out, MAXV);
		VCHECK(n == 3 && is_run(out, n, 3));
		/* And after its delivery, nothing again. */
		grb_iter_destroy(it);
		it = grb_iter_create(CH, s, 0);
		rest = fill_packet(s, &v, 2);
		n = take(it, out, MAXV);
		VCHECK(n == rest && is_run(out, n, 6));
		break;
	default: {
		struct grb_reader *r;
		struct grb_packet pkt;
		struct grb_packet_cursor cur;
		struct grb_record rec;

		grb_iter_destroy(it);
		it = NULL;
		grb_channel_flush(CH);
		r = grb_reader_create(CH, s, 0);
		VCHECK(r != NULL);
		n = 0;
		while (r && grb_reader_get_next(r, &pkt) == 0) {
			grb_packet_cursor_init(&pkt, &cur);
			while (grb_packet_record_next(r, &pkt, &cur, &rec) == 0)
				memcpy(&out[n++], rec.payload, 8);
			grb_reader_put(r, &pkt);
		}
		VCHECK(n == 3 && is_run(out, n, 3));
		grb_reader_destroy(r);
		it = grb_iter_create(CH, s, 0);
		VCHECK(take(it, out, MAXV) == 0);
		break;
	}
	}
	check_accounting(s, v, v, 1);
	grb_iter_destroy(it);
	grb_channel_destroy(CH);
}

/*
 * A record discarded after later ones were reserved stays in the packet,
 * marked: read in place it is passed over, and the k records returned
 * before it do not count it, whoever skips them.
 */
static void test_discarded(void)
{
	struct worker w;
	struct job j = { 0 }, a = { 0 }, nested = { 0 };
	uint64_t out[MAXV];
	struct grb_iter *it;
	struct grb_reader *r;
	struct grb_packet pkt;
	struct grb_packet_cursor cur;
	struct grb_record rec;
	uint32_t s;
	int n;

	if (!make())
		return;
	worker_start(&w);
	j.first = 0;
	j.n = 1;
	worker_run(&w, do_write, &j);
	s = the_stream();
	a.held = 99;
	nested.first = 1;
	nested.n = 1;
	a.nested = &nested;
	worker_run(&w, do_reserve, &a);
	worker_run(&w, do_discard, &a);
	j.first = 2;
	j.n = 2;
	worker_run(&w, do_write, &j);
	it = grb_iter_create(CH, s, 0);
	n = take(it, out, 2);
	VCHECK(n == 2 && is_run(out, n, 0));
	grb_iter_destroy(it);
	it = grb_iter_create(CH, s, 0);
	n = take(it, out, 1);
	VCHECK(n == 1 && out[0] == 2);
	grb_iter_destroy(it);
	/* The packet, delivered: its cursor starts after the three returned. */
	worker_run(&w, do_flush, NULL);
	r = grb_reader_create(CH, s, 0);
	VCHECK(r != NULL);
	n = 0;
	while (r && grb_reader_get_next(r, &pkt) == 0) {
		grb_packet_cursor_init(&pkt, &cur);
		while (grb_packet_record_next(r, &pkt, &cur, &rec) == 0)
			memcpy(&out[n++], rec.payload, 8);
		grb_reader_put(r, &pkt);
	}
	VCHECK(n == 1 && out[0] == 3);
	grb_reader_destroy(r);
	check_accounting(s, 4, 4, 1);
	worker_stop(&w);
	grb_channel_destroy(CH);
}

/*
 * Overwrite: k records read in place, then the ring lapped several times.
 * Every value written is returned once or counted overwritten, returned
 * values increase, and the record last returned in place is intact while
 * the ring is rewritten under it (valid until the next call).
 */
static void test_overwrite_lap(void)
{
	uint64_t out[MAXV], v = 0, got = 0, kept, prev;
	struct grb_record rec;
	struct grb_iter *it;
	uint32_t s;
	int n, i, k = 3;

	if (!make())
		return;
	for (; v < 6; v++)
		VCHECK(put(v) == 0);
	s = the_stream();
	it = grb_iter_create(CH, s, 0);
	VCHECK(take(it, out, k - 1) == k - 1 && is_run(out, k - 1, 0));
	VCHECK(grb_iter_next(it, &rec) == 0 && rec.payload_len == 8);
	memcpy(&kept, rec.payload, 8);
	VCHECK(kept == (uint64_t)k - 1);
	got = k;
	for (i = 0; i < 600; i++)
		VCHECK(put(v++) == 0);
	memcpy(&prev, rec.payload, 8);
	VCHECK(prev == kept);
	n = take(it, out, MAXV);
	VCHECK(n > 0 && out[n - 1] == v - 1);
	for (i = 0; i < n; i++)
		VCHECK(out[i] >= (uint64_t)k && (i == 0 || out[i] > out[i - 1]));
	got += (uint64_t)n;
	VCHECK(stats(s).lost[GRB_LOST_OVERWRITTEN] > 0);
	check_accounting(s, v, got, 1);
	/* Again, k in place then a flush and a lap. */
	for (i = 0; i < 10; i++)
		VCHECK(put(v++) == 0);
	n = take(it, out, 4);
	VCHECK(n == 4 && is_run(out, n, v - 10));
	got += 4;
	grb_channel_flush(CH);
	for (i = 0; i < 600; i++)
		VCHECK(put(v++) == 0);
	n = take(it, out, MAXV);
	VCHECK(n > 0 && out[n - 1] == v - 1);
	got += (uint64_t)n;
	check_accounting(s, v, got, 1);
	grb_iter_destroy(it);
	grb_channel_destroy(CH);
}

/*
 * Looks between writes leave the ring as it was: a twin channel written
 * the same way without looks reads back the same.  Each look shows every
 * record in the ring, the newest last; 16 of them in a row show the same.
 */
static void test_snapshot_looks(void)
{
	static uint64_t out[MAXV], first[MAXV], twin[MAXV];
	const struct variant *v0 = V;
	struct grb_channel *ch, *ch2;
	uint64_t v = 0, in_ring;
	struct grb_iter *it;
	uint32_t s = 0;
	int i, j, n, n0 = 0, nt, rounds = overwrite() ? 40 : 8;

	if (!make())
		return;
	ch = CH;
	for (i = 0; i < rounds; i++) {
		for (j = 0; j < 10; j++)
			VCHECK(put(v++) == 0);
		s = the_stream();
		in_ring = stats(s).committed - stats(s).lost[GRB_LOST_OVERWRITTEN];
		n = look(s, out, MAXV);
		VCHECK(n == (int)in_ring && n > 0 && is_run(out, n, v - (uint64_t)n));
	}
	for (i = 0; i < 16; i++) {
		n = look(s, out, MAXV);
		if (i == 0) {
			memcpy(first, out, sizeof(out[0]) * (size_t)(n > 0 ? n : 0));
			n0 = n;
		}
		VCHECK(n == n0 && n > 0 && !memcmp(out, first, sizeof(out[0]) * (size_t)n));
	}
	if (overwrite())
		VCHECK(stats(s).lost[GRB_LOST_OVERWRITTEN] > 0);
	else
		VCHECK(n0 == (int)v);
	it = grb_iter_create(ch, s, 0);
	n = take(it, out, MAXV);
	VCHECK(n == n0 && !memcmp(out, first, sizeof(out[0]) * (size_t)n));
	check_accounting(s, v, (uint64_t)n, 1);
	grb_iter_destroy(it);
	/* The twin, without looks. */
	V = v0;
	if (!make())
		return;
	ch2 = CH;
	for (v = 0, i = 0; i < rounds * 10; i++)
		VCHECK(put(v++) == 0);
	it = grb_iter_create(ch2, the_stream(), 0);
	nt = take(it, twin, MAXV);
	VCHECK(nt == n0 && !memcmp(twin, first, sizeof(out[0]) * (size_t)nt));
	grb_iter_destroy(it);
	grb_channel_destroy(ch2);
	grb_channel_destroy(ch);
}

/*
 * Two snapshot readers and a consuming one at once; a snapshot shows what
 * the consuming reader has not returned, in place or after the delivery.
 */
static void test_snapshot_beside(void)
{
	uint64_t out[MAXV], out2[MAXV], v = 0;
	struct grb_reader *s1, *s2, *busy;
	struct grb_iter *it;
	uint32_t s;
	int n;

	if (!make())
		return;
	for (; v < 6; v++)
		VCHECK(put(v) == 0);
	s = the_stream();
	it = grb_iter_create(CH, s, 0);
	VCHECK(it != NULL);
	s1 = grb_reader_create(CH, s, GRB_READER_SNAPSHOT);
	s2 = grb_reader_create(CH, s, GRB_READER_SNAPSHOT);
	VCHECK(s1 != NULL && s2 != NULL);
	errno = 0;
	busy = grb_reader_create(CH, s, 0);
	VCHECK(busy == NULL && errno == EBUSY);
	if (!it || !s1 || !s2)
		return;
	VCHECK(take(it, out, 2) == 2 && is_run(out, 2, 0));
	/* Sampled before the consuming reader read two: they show 2..5. */
	n = snapshot(s1, out, MAXV);
	VCHECK(n == 4 && is_run(out, n, 2));
	VCHECK(grb_reader_snapshot_restart(s1) == 0);
	VCHECK(snapshot(s1, out2, MAXV) == 4 && !memcmp(out, out2, 4 * sizeof(out[0])));
	/* Delivered, not yet taken: still 2..5. */
	grb_channel_flush(CH);
	VCHECK(grb_reader_snapshot_restart(s2) == 0);
	n = snapshot(s2, out, MAXV);
	VCHECK(n == 4 && is_run(out, n, 2));
	/* Taken: nothing left but what follows. */
	VCHECK(take(it, out, MAXV) == 4 && is_run(out, 4, 2));
	for (; v < 9; v++)
		VCHECK(put(v) == 0);
	VCHECK(take(it, out, 1) == 1 && out[0] == 6);
	VCHECK(grb_reader_snapshot_restart(s1) == 0);
	n = snapshot(s1, out, MAXV);
	VCHECK(n == 2 && is_run(out, n, 7));
	check_accounting(s, v, 7, 0);
	grb_reader_destroy(s1);
	grb_reader_destroy(s2);
	grb_iter_destroy(it);
	grb_channel_destroy(CH);
}

/*
 * A snapshot sampled before the consuming reader read in place past what
 * the snapshot sampled: the records it would show are consumed, and the
 * packet is no error.
 */
static void test_snapshot_sampled_before(void)
{
	uint64_t out[MAXV], v = 0;
	struct grb_reader *sr;
	struct grb_iter *it;
	uint32_t s;
	int n, i;

	if (!make())
		return;
	for (; v < 4; v++)
		VCHECK(put(v) == 0);
	s = the_stream();
	sr = grb_reader_create(CH, s, GRB_READER_SNAPSHOT);
	VCHECK(sr != NULL);
	if (!sr)
		return;
	for (; v < 8; v++)
		VCHECK(put(v) == 0);
	it = grb_iter_create(CH, s, 0);
	VCHECK(take(it, out, 6) == 6 && is_run(out, 6, 0));
	n = snapshot(sr, out, MAXV);
	/* Nothing consumed, nothing out of order; the records it sampled are
	 * all consumed, so those written since are all it may show. */
	VCHECK(n >= 0);
	for (i = 0; i < n; i++)
		VCHECK(out[i] == 6 + (uint64_t)i);
	VCHECK(grb_reader_corrupt_packets(sr) == 0);
	grb_reader_destroy(sr);
	grb_iter_destroy(it);
	grb_channel_destroy(CH);
}

/*
 * A packet whose records are all committed while its delivery is under
 * way (the writer that delivers it is held in packet_end): the snapshot
 * shows its records, or says "not yet" and shows them once delivered,
 * never passes over it as if it held nothing; the consuming iterator
 * returns each record once, before or after the delivery.
 */
static void test_delivery_under_way(void)
{
	uint64_t out[MAXV];
	struct worker w;
	struct job j = { 0 };
	struct grb_reader *sr;
	struct grb_packet pkt;
	struct grb_iter *it;
	uint32_t s;
	int n, ret;

	if (!make())
		return;
	worker_start(&w);
	j.first = 0;
	j.n = 5;
	worker_run(&w, do_write, &j);
	s = the_stream();
	sem_init(&hold_entered, 0, 0);
	sem_init(&hold_release, 0, 0);
	hold_thread = w.t;
	hold_seq = 0;
	hold_nested = NULL;
	__atomic_store_n(&hold_armed, 1, __ATOMIC_RELEASE);
	/* The worker's flush closes the packet and delivers it: held in
	 * packet_end, before the packet is marked delivered. */
	worker_post(&w, do_flush, NULL);
	while (sem_wait(&hold_entered))
		;
	sr = grb_reader_create(CH, s, GRB_READER_SNAPSHOT);
	VCHECK(sr != NULL);
	if (!sr)
		return;
	ret = grb_reader_get_next(sr, &pkt);
	if (ret != 0 && ret != -EAGAIN)
		fprintf(stderr, "  snapshot while delivering: %d\n", ret);
	VCHECK(ret == 0 || ret == -EAGAIN);
	if (ret == 0) {
		VCHECK(pkt.info.records == 5);
		grb_reader_put(sr, &pkt);
	}
	it = grb_iter_create(CH, s, 0);
	n = take(it, out, MAXV);
	VCHECK(is_run(out, n, 0));
	sem_post(&hold_release);
	worker_wait(&w);
	if (ret == -EAGAIN) {
		int m;

		VCHECK(grb_reader_snapshot_restart(sr) == 0);
		m = snapshot(sr, out + n, MAXV - n);
		VCHECK(m == 5 - n && is_run(out + n, m, (uint64_t)n));
	}
	n += take(it, out + n, MAXV - n);
	VCHECK(n == 5 && is_run(out, n, 0));
	check_accounting(s, 5, 5, 1);
	grb_reader_destroy(sr);
	grb_iter_destroy(it);
	worker_stop(&w);
	sem_destroy(&hold_entered);
	sem_destroy(&hold_release);
	grb_channel_destroy(CH);
}

/*
 * Overwrite: a reader pauses exactly between its checks of a packet and its
 * copy of it (the copy faults on the sub-buffer, which the test protected),
 * and meanwhile the writers go round the ring: the writer that opens the
 * slot's next lap is held in packet_end (it closed the packet before), so
 * it has not pushed consumed yet, while its signal handler writes records
 * into that lap's sub-buffer.  The copy the reader then makes holds those
 * records in the place of the packet's: a consuming iterator must not
 * return them, a snapshot must not show them.
 */
static char *g_fault_page;
static size_t g_fault_len;
static void (*g_fault_fn)(void);

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	char *a = (char *)si->si_addr;

	(void)uc;
	if (!g_fault_page || a < g_fault_page || a >= g_fault_page + g_fault_len) {
		signal(sig, SIG_DFL); /* not ours: fault again, and die */
		return;
	}
	mprotect(g_fault_page, g_fault_len, PROT_READ | PROT_WRITE);
	g_fault_page = NULL;
	if (g_fault_fn)
		g_fault_fn();
}

static struct worker *g_lap_worker;
static struct job g_lap_nested;
static uint32_t g_lap_stream;
static uint64_t g_lap_sb, g_lap_v;

/* Writes until the write position enters lap 1 of slot 0. */
static void do_write_to_lap(void *p)
{
	(void)p;
	while (write_pos(g_lap_stream) < 2 * g_lap_sb && g_lap_v < 100000)
		VCHECK(put(g_lap_v++) == 0);
}

/* In the reader's fault handler: the writers lap the ring under it. */
static void lap_under_copy(void)
{
	hold_thread = g_lap_worker->t;
	hold_seq = 1; /* packet 1's delivery, by the opener of slot 0's lap 1 */
	hold_nested = &g_lap_nested;
	__atomic_store_n(&hold_armed, 1, __ATOMIC_RELEASE);
	worker_post(g_lap_worker, do_write_to_lap, NULL);
	while (sem_wait(&hold_entered))
		;
}

static void test_lapped_while_copying(int snapshot)
{
	struct grb_channel_attr a;
	struct sigaction sa, old;
	struct worker w;
	struct job j = { 0 };
	uint64_t out[MAXV], page = (uint64_t)sysconf(_SC_PAGESIZE), idx, prev;
	struct grb_stream *gs;
	struct grb_iter *it = NULL;
	struct grb_reader *sr = NULL;
	struct grb_packet pkt;
	struct grb_record rec;
	int n, i, ret;

	grb_channel_attr_init(&a);
	a.subbuf_size = (uint32_t)page; /* a sub-buffer is one page */
	a.subbuf_count = 2;
	a.nr_streams = 8;
	CH = grb_channel_create(V->cfg, &a);
	VCHECK(CH != NULL);
	if (!CH)
		return;
	worker_start(&w);
	j.first = 0;
	j.n = snapshot ? 4 : 3;
	worker_run(&w, do_write, &j);
	g_lap_stream = the_stream();
	g_lap_sb = page;
	g_lap_v = 4;
	g_lap_worker = &w;
	/* Records the handler writes into lap 1 of slot 0, over v1..v3. */
	g_lap_nested.first = 100000;
	g_lap_nested.n = 3;
	g_lap_nested.fill = 0;
	if (!snapshot) {
		it = grb_iter_create(CH, g_lap_stream, 0);
		VCHECK(take(it, out, 3) == 3 && is_run(out, 3, 0));
		j.first = 3;
		j.n = 1;
		worker_run(&w, do_write, &j); /* v3: the next record in place */
	} else {
		sr = grb_reader_create(CH, g_lap_stream, GRB_READER_SNAPSHOT);
		VCHECK(sr != NULL);
	}
	sem_init(&hold_entered, 0, 0);
	sem_init(&hold_release, 0, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &old);
	gs = &CH->streams[g_lap_stream];
	idx = __atomic_load_n(&gs->slots[0].id, __ATOMIC_ACQUIRE) & GRB_ID_INDEX_MASK;
	g_fault_len = (size_t)page;
	g_fault_fn = lap_under_copy;
	g_fault_page = gs->data + (idx << gs->sb_order);
	VCHECK(mprotect(g_fault_page, g_fault_len, PROT_NONE) == 0);
	if (!snapshot) {
		ret = grb_iter_next(it, &rec);
		if (ret == 0) {
			memcpy(&prev, rec.payload, 8);
			/* v3, intact, or nothing: never a record of lap 1. */
			if (prev != 3)
				fprintf(stderr, "  returned %llu for v3\n",
					(unsigned long long)prev);
			VCHECK(prev == 3);
		} else {
			VCHECK(ret == -EAGAIN);
		}
	} else {
		ret = sr ? grb_reader_get_next(sr, &pkt) : -1;
		if (ret == 0) {
			struct grb_packet_cursor cur;

			grb_packet_cursor_init(&pkt, &cur);
			for (n = 0; grb_packet_record_next(sr, &pkt, &cur, &rec) == 0; n++) {
				memcpy(&prev, rec.payload, 8);
				if (prev != (uint64_t)n)
					fprintf(stderr, "  snapshot shows %llu for v%d\n",
						(unsigned long long)prev, n);
				VCHECK(prev == (uint64_t)n);
			}
			grb_reader_put(sr, &pkt);
		} else {
			/* Overwritten while copied: dropped and counted. */
			VCHECK(ret == -ENODATA && grb_reader_lost_packets(sr) == 1);
		}
	}
	VCHECK(g_fault_page == NULL); /* the copy did fault */
	g_fault_fn = NULL;
	sem_post(&hold_release);
	worker_wait(&w);
	sigaction(SIGSEGV, &old, NULL);
	/* Everything now: each value once, increasing, the count exact. */
	if (!it)
		it = grb_iter_create(CH, g_lap_stream, 0);
	n = take(it, out, MAXV);
	for (i = 1; i < n; i++)
		VCHECK(out[i] > out[i - 1]);
	for (i = 0; i < n; i++)
		VCHECK(out[i] < g_lap_v || (out[i] >= 100000 && out[i] < 100003));
	check_accounting(g_lap_stream, g_lap_v + 3, (uint64_t)n + (snapshot ? 0 : 3) + (ret == 0),
			 1);
	grb_iter_destroy(it);
	grb_reader_destroy(sr);
	worker_stop(&w);
	sem_destroy(&hold_entered);
	sem_destroy(&hold_release);
	grb_channel_destroy(CH);
}

/* The merge reads every stream's open packet without a flush. */
static void test_merge(void)
{
	struct worker w;
	struct job j = { 0 };
	struct grb_merge *m;
	struct grb_record rec;
	uint64_t seen[20] = { 0 }, prev_ts = 0, val;
	int n = 0, ret = 0;

	if (!make())
		return;
	worker_start(&w);
	j.first = 10;
	j.n = 10;
	for (val = 0; val < 5; val++)
		VCHECK(put(val) == 0);
	worker_run(&w, do_write, &j);
	for (val = 5; val < 10; val++)
		VCHECK(put(val) == 0);
	m = grb_merge_create(CH, 0);
	VCHECK(m != NULL);
	while (m && n < 40 && (ret = grb_merge_next(m, &rec)) == 0) {
		memcpy(&val, rec.payload, 8);
		VCHECK(val < 20 && !seen[val]);
		if (val < 20)
			seen[val] = 1;
		VCHECK(rec.ts >= prev_ts);
		prev_ts = rec.ts;
		n++;
	}
	VCHECK(n == 20 && ret == -EAGAIN);
	grb_merge_destroy(m);
	worker_stop(&w);
	grb_channel_destroy(CH);
}

/*
 * With the writer wake-up, a reader waits for a delivery; committed
 * records of the open packet it has not returned make it return at once
 * (0), where a wait for a delivery that does not come would time out.
 */
static const struct grb_config c_wake = {
	.abi = GRB_CONFIG_ABI,
	.alloc = GRB_ALLOC_GLOBAL,
	.sync = GRB_SYNC_ATOMIC,
	.mode = GRB_MODE_DISCARD,
	.wakeup = GRB_WAKEUP_WRITER,
	.ts_bits = 32,
	.max_nesting = 4,
	.record_align = 8,
	.packet_header_size = (unsigned int)sizeof(struct grb_native_packet),
	.min_record_size = GRB_NATIVE_COMPACT_SIZE,
	.clock_read = grb_clock_monotonic,
	.record_header_size = grb_native_header_size,
	.record_header_write = grb_native_header_write,
	.packet_begin = grb_native_packet_begin,
	.packet_end = grb_native_packet_end,
	.record_decode = grb_native_record_decode,
	.record_discard = grb_native_record_discard,
	.name = "read_open_wake",
};

static void test_wait_unread(void)
{
	static const struct variant vw = { "global-atomic-discard-wakeup", &c_wake };
	uint64_t out[MAXV], v;
	struct grb_iter *it;
	int f0 = failures;

	V = &vw;
	if (!make())
		return;
	for (v = 0; v < 3; v++)
		VCHECK(put(v) == 0);
	it = grb_iter_create(CH, 0, 0);
	VCHECK(grb_reader_wait(grb_iter_reader(it), 5ull * 1000 * 1000 * 1000) == 0);
	VCHECK(take(it, out, 1) == 1 && out[0] == 0);
	VCHECK(grb_reader_wait(grb_iter_reader(it), 5ull * 1000 * 1000 * 1000) == 0);
	VCHECK(take(it, out, MAXV) == 2 && is_run(out, 2, 1));
	grb_iter_destroy(it);
	grb_channel_destroy(CH);
	printf("%-28s %s\n", vw.name, failures == f0 ? "ok" : "FAILED");
}

static void run_variant(const struct variant *v)
{
	int f0 = failures;

	V = v;
	test_idle();
	test_idle_other_thread();
	test_open_hides(0, 0);
	test_open_hides(0, 1);
	if (v->cfg->sync != GRB_SYNC_SINGLE_WRITER) {
		test_open_hides(1, 0);
		test_open_hides(1, 1);
	}
	test_k_then_delivered(0);
	test_k_then_delivered(1);
	test_k_then_delivered(2);
	test_k_then_delivered(3);
	test_discarded();
	if (overwrite()) {
		test_overwrite_lap();
		test_lapped_while_copying(0);
		test_lapped_while_copying(1);
	}
	test_snapshot_looks();
	test_snapshot_beside();
	test_snapshot_sampled_before();
	test_delivery_under_way();
	test_merge();
	printf("%-28s %s\n", v->name, failures == f0 ? "ok" : "FAILED");
}

int main(void)
{
	struct sigaction sa;
	size_t i;

	/* Every thread on CPU 0: the per-CPU channels then use one stream. */
	if (pin(0)) {
		printf("test_read_open: cannot run on CPU 0, skipped\n");
		return 77;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	for (i = 0; i < sizeof(variants) / sizeof(variants[0]); i++)
		run_variant(&variants[i]);
	test_wait_unread();
	return check_exit("test_read_open");
}
