// SPDX-License-Identifier: MIT
/*
 * write.c - the out-of-line write paths: sub-buffer switch, delivery,
 * reader push in overwrite mode, blocking waits, discard, flush.
 *
 * Labels [W*], [C*], [D*], [P*], [B*] name memory-ordering pairs; the reader's
 * side is [R*] in reader.c.  doc/ordering.md lists them all.
 */
#include "core.h"

_GRB_TLS_DEFINE(uint32_t, _grb_tls_nesting);
_GRB_TLS_DEFINE(struct _grb_tls_stream[GRB_TLS_STREAMS], _grb_tls_streams);
_GRB_TLS_DEFINE(struct _grb_tls_writer[GRB_TLS_STREAMS], _grb_tls_writers);
_GRB_TLS_DEFINE(struct _grb_tls_prev, _grb_tls_prev);
_GRB_TLS_DEFINE(struct _grb_rseq *, _grb_tls_rseq_area);

void _grb_count_lost(struct grb_stream *s, enum grb_lost_cause cause)
{
	/* relaxed: a counter; its atomicity makes it exact, and the packet
	 * snapshots below need no ordering with the records. */
	_grb_add_relaxed(&s->shm->lost[cause], 1);
	_GRB_TP(LOST_COUNTED);
	/* relaxed: a counter too; every unit moves by an atomic RMW (this add,
	 * claim_lost's exchange, give_back_lost's add), so exactly one record
	 * reports it.  Overwritten records are accounted per packet. */
	if (cause != GRB_LOST_OVERWRITTEN)
		_grb_add_relaxed(&s->shm->lost_unreported, 1);
}

/* Moves the stream's unreported losses into the reservation's count. */
static void claim_lost(struct grb_stream *s, struct grb_ctx *ctx)
{
	uint64_t *w = &s->shm->lost_unreported;

	/* relaxed: see _grb_count_lost(); the load only spares the exchange
	 * when there is nothing to claim. */
	if (_grb_load_relaxed(w))
		ctx->lost += __atomic_exchange_n(w, 0, __ATOMIC_RELAXED);
}

/* A reservation that failed, or a record given back or discarded, returns
 * its claim: a later record reports it. */
static void give_back_lost(struct grb_stream *s, struct grb_ctx *ctx)
{
	if (ctx->lost) {
		/* relaxed: see _grb_count_lost(). */
		_grb_add_relaxed(&s->shm->lost_unreported, ctx->lost);
		ctx->lost = 0;
	}
}

uint64_t _grb_lost_snapshot(const struct grb_stream *s)
{
	uint64_t sum = 0;
	int i;

	for (i = 0; i < GRB_LOST_NR; i++)
		if (i != GRB_LOST_OVERWRITTEN)
			sum += _grb_load_relaxed(&s->shm->lost[i]);
	return sum;
}

void _grb_invariant_failure(struct grb_stream *s, const char *what)
{
	(void)what;
	_grb_add_relaxed(&s->shm->invariant_failures, 1);
	_grb_store_relaxed(&s->shm->disabled, 1);
}

uint64_t _grb_clear_noref(struct grb_stream *s, uint32_t slot)
{
	uint64_t *idp = &s->slots[slot].id;
	/* [W9] acquire, as in grb_reserve(). */
	uint64_t id = _grb_load_acquire(idp);

	/* [W6] acq_rel CAS: the id read is the one the reader's swap [R2]
	 * left, and after it the reader can no longer swap this slot (it needs
	 * NOREF).  Pairs with [R2]. */
	while (id & GRB_ID_NOREF)
		if (_grb_cas_acqrel(idp, &id, id & ~GRB_ID_NOREF))
			return id & ~GRB_ID_NOREF;
	return id;
}

/* _grb_commit_slot() for the slow paths, which may run in any thread (a
 * flush): the slot of pos, and the calling thread's rseq area as the
 * environment finds it. */
void _grb_commit_bytes(const struct grb_config *cfg, struct grb_stream *s, uint64_t pos,
		       uint64_t add)
{
	_grb_commit_slot(cfg, s, &s->slots[_grb_slot_of(s, pos)],
			 cfg->sync == GRB_SYNC_PER_CPU_RSEQ ? _grb_env_rseq_area() : NULL, pos, add,
			 0);
}

/*
 * Moves the committed position over the packets delivered from where it is
 * (a commit publishes it within a packet only once it reached the packet's
 * start).  A delivery that finds it behind an undelivered packet stops
 * there; that packet's delivery goes on over this one.  Returns the
 * position it leaves (a value commit_pos held: true, for the wake-up).
 */
static uint64_t advance_committed(struct grb_stream *s, uint64_t delivered)
{
	/* [Q3] seq_cst, with the seq_cst [D3]: of two deliveries of
	 * consecutive packets, the later one in the total order sees the
	 * other's done or its advance, so none is left behind. */
	uint64_t cp = __atomic_load_n(&s->shm->commit_pos, __ATOMIC_SEQ_CST);
	/* The floor: the end of the packet a ring behind the one delivered
	 * (delivered: its next lap was opened, as was every packet's up to
	 * it).  A late store may set the position back further than the
	 * walk below reaches, even while it runs: each step starts from the
	 * floor then. */
	uint64_t floor = delivered + s->sb_size - _grb_buf_size(s);
	uint32_t n;

	for (n = 0; n <= s->count_mask + 1; n++) {
		uint64_t start = ((int64_t)(floor - cp) > 0 ? floor : cp) & ~s->sb_mask;
		uint64_t end = start + s->sb_size;

		uint64_t done =
			__atomic_load_n(&s->slots[_grb_slot_of(s, start)].done, __ATOMIC_SEQ_CST);

		/* A later lap's delivery says this one was delivered too (a
		 * slot's laps are delivered in order), for a position stored
		 * late by a preempted committer. */
		if ((int64_t)(done - end) < 0)
			return cp;
		/* [Q3] CAS: a failure reloads cp, and the loop goes on from
		 * the value another writer stored. */
		if (__atomic_compare_exchange_n(&s->shm->commit_pos, &cp, end, 0, __ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST))
			cp = end;
	}
	return cp;
}

/*
 * Called by the one commit whose add completed the lap of the sub-buffer at
 * pos: no writer references it any more and the next lap cannot open before
 * [D3] publishes it, so the slot's fields are ours.
 */
void _grb_deliver(const struct grb_config *cfg, struct grb_stream *s, uint64_t pos, uint64_t cc)
{
	struct grb_shm_slot *x = &s->slots[_grb_slot_of(s, pos)];
	uint64_t start = pos & ~s->sb_mask;
	uint64_t id = _grb_load_relaxed(&x->id);
	uint64_t records = (cc - _grb_load_relaxed(&x->last_cc)) >> 40, cp;
	struct grb_packet_info info;

	if (cfg->sync == GRB_SYNC_PER_CPU_RSEQ) {
		uint64_t prev = start + s->sb_size - _grb_buf_size(s);

		/* [D5] acq_rel CAS: a local committer [C4]+[C5] and a remote
		 * one [C2]+[C3] may both see the lap complete; one delivers. */
		if (!_grb_cas_acqrel(&x->claimed, &prev, start + s->sb_size))
			return;
	}
	if (_grb_unlikely(id & GRB_ID_NOREF) ||
	    _grb_unlikely((id & GRB_ID_INDEX_MASK) > s->count_mask + 1u)) {
		_grb_invariant_failure(s, "delivery of a sub-buffer no writer opened");
		return;
	}
	/* relaxed: published by [D3]; the fields below were written before
	 * commits [C1] that this delivery's add acquired. */
	_grb_store_relaxed(&x->last_cc, cc);
	_grb_store_relaxed(&x->records, records);
	info.seq = start >> s->sb_order;
	info.ts_begin = _grb_load_relaxed(&x->ts_begin);
	info.ts_end = _grb_load_relaxed(&x->ts_end);
	info.content_size = _grb_load_relaxed(&x->data_end);
	info.packet_size = s->sb_size;
	info.lost = _grb_load_relaxed(&x->lost_snap);
	info.records = records;
	info.stream_id = s->shm->stream_id;
	info.cpu = s->shm->cpu;
	info.client_data = s->chan->priv->attr.client_data;
	cfg->packet_end(cfg, s->data + ((id & GRB_ID_INDEX_MASK) << s->sb_order), &info);
	/* relaxed: a counter, as the loss counters. */
	_grb_add_relaxed(&s->shm->delivered_records, records);
	/* [D2] release: the packet's bytes before the id that lets the reader
	 * swap it; pairs with [R2]. */
	_grb_store_release(&x->id, ((uint64_t)_grb_lap_tag(s, start) << GRB_ID_TAG_SHIFT) |
					   GRB_ID_NOREF | (id & GRB_ID_INDEX_MASK));
	/* [D3] release: everything above before "delivered"; pairs with the
	 * reader's [R1], the next lap's opener [W4] and the pusher [P2].
	 * seq_cst for [Q3]. */
	__atomic_store_n(&x->done, start + s->sb_size, __ATOMIC_SEQ_CST);
	_GRB_TP(DELIVERED);
	cp = advance_committed(s, start);
	/* The packet policy wakes at each delivery; the others when a unit
	 * crossed before its records could be published by a commit (a
	 * stream never quiescent is read packet by packet). */
	if (cfg->wakeup == GRB_WAKEUP_WRITER)
		_grb_wake_if(s, !s->wake_mask, 1, cp, cp);
	/* After [D3] and [D4]: a reader this call wakes, or runs, finds the
	 * packet delivered.  info is on our stack; the packet itself may be
	 * the reader's already. */
	if (cfg->packet_published)
		cfg->packet_published(cfg, &info);
}

/* Raises *p to v (a CAS loop, seq_cst): positions that only grow. */
static void raise_pos(uint64_t *p, uint64_t v)
{
	uint64_t cur = __atomic_load_n(p, __ATOMIC_SEQ_CST);

	while ((int64_t)(v - cur) > 0)
		if (__atomic_compare_exchange_n(p, &cur, v, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			break;
}

/*
 * Wakes a reader waiting on the stream (grb_reader_wait()) or armed on the
 * channel's descriptor (grb_merge_arm()).  Called after what it wakes for
 * is readable: pub, the position its caller published (a delivery's [Q3],
 * a [Q1] store, a [Q6] CAS).  own: for a unit the caller's add crossed
 * (or the packet policy's delivery), whose records end at or below bound;
 * otherwise for the requests ([Q5]) up to pub.  One wake-up per claim:
 * the caller that raises wake_done wakes, to pub for its own unit (every
 * record below pub is readable, so every request up to it is answered),
 * else to the requests it covers; an own unit that another claim covers
 * already (wake_done at or past bound: that waker published past it)
 * wakes nobody.
 */
void _grb_wake_stream(struct grb_stream *s, int own, uint64_t bound, uint64_t pub)
{
	int fd = s->chan->priv->event_fd;
	uint64_t req = __atomic_load_n(&s->shm->wake_req, __ATOMIC_SEQ_CST);
	uint64_t claim = own || (int64_t)(req - pub) > 0 ? pub : req;
	uint64_t done = __atomic_load_n(&s->shm->wake_done, __ATOMIC_SEQ_CST);

	/* [Q5] seq_cst CAS raising wake_done to the claim, before [D4]: of
	 * two publishers that found the same requests pending, one claims
	 * them and wakes.  Never lowered: a request above the claim stays
	 * until a wake-up after a publication that covers it. */
	for (;;) {
		if ((own && (int64_t)(done - bound) >= 0) || (int64_t)(claim - done) <= 0)
			return;
		if (__atomic_compare_exchange_n(&s->shm->wake_done, &done, claim, 0,
						__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			break;
	}
	/* [Q8] seq_cst CAS loop, before [D4]: a reader woken loads wake_pos
	 * (acquire, beside [Q2]) and reads up to it even if a late [Q1]
	 * store of another commit set commit_pos back meanwhile. */
	raise_pos(&s->shm->wake_pos, pub);
	/* [D4] seq_cst: pairs with the reader's [R6]/[R11]: if we see no
	 * waiter, its own check after raising the flag sees what we
	 * published, or its futex wait compares deliver_seq and returns at
	 * once. */
	__atomic_add_fetch(&s->shm->deliver_seq, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&s->cons->reader_waiting, __ATOMIC_SEQ_CST)) {
		_grb_env_futex_wake(&s->shm->deliver_seq);
		if (fd >= 0)
			_grb_env_event_signal(fd);
	}
}

/*
 * A commit crossed a wake-up unit while another record of the stream was
 * in flight, so its records are not published yet: leave the wake-up to
 * the commit that publishes them (_grb_wake_if() after its store), then
 * look again in case that commit already passed.
 */
void _grb_wake_later(struct grb_stream *s, uint64_t pos)
{
	struct grb_shm_stream *shm = s->shm;
	struct grb_shm_slot *x = &s->slots[_grb_slot_of(s, pos)];
	uint64_t start = pos & ~s->sb_mask;
	uint64_t o, cc, cp, req;

	/* [Q5] seq_cst CAS loop raising wake_req to the offset, or to the
	 * end of our packet if the offset is past it (every record our add
	 * counted ends below both: the count is of this packet's lap), then
	 * seq_cst loads of cc, offset and commit_pos: against a publisher's
	 * add (a locked RMW with the atomic sync; this thread with the single
	 * writer) and its load of wake_req after its [Q1] store, one of us
	 * sees the other. */
	req = __atomic_load_n(&shm->offset, __ATOMIC_SEQ_CST);
	if ((int64_t)(req - (start + s->sb_size)) > 0)
		req = start + s->sb_size;
	raise_pos(&shm->wake_req, req);
	cc = __atomic_load_n(&x->cc, __ATOMIC_SEQ_CST) +
	     __atomic_load_n(&x->cc_remote, __ATOMIC_SEQ_CST);
	o = __atomic_load_n(&shm->offset, __ATOMIC_SEQ_CST);
	cp = __atomic_load_n(&shm->commit_pos, __ATOMIC_SEQ_CST);
	if (o - start == _grb_lap_bytes(s->sb_mask, cc) && (int64_t)(cp - start) >= 0) {
		/* [Q1] release, as in _grb_publish_committed(). */
		_grb_store_release(&shm->commit_pos, o);
		_grb_wake_if(s, 1, 0, req, o);
	}
}

/*
 * A commit found every byte of its packet up to the offset o committed, but
 * the committed position behind the packet: publish o if every packet
 * between the two is delivered (the one at the position is then complete,
 * and everything before the position already was).  It happens after each
 * packet switch whose delivery has not moved the position yet, and after a
 * late store moved it back over a packet boundary: a commit preempted (or
 * interrupted by a signal handler whose records it then hides) between
 * its loads and its store.
 */
void _grb_publish_behind(struct grb_stream *s, uint64_t pos, uint64_t o, int crossed)
{
	struct grb_shm_stream *shm = s->shm;
	uint64_t start = pos & ~s->sb_mask;
	/* [Q6] acquire loads of commit_pos and of the packets' done
	 * (pairing with [D3]), then a CAS that never moves it back. */
	uint64_t cp = _grb_load_acquire(&shm->commit_pos), at = cp;
	/* The floor: our packet was opened, so the packet a ring behind it
	 * was delivered, and every packet before that (as in
	 * advance_committed()). */
	uint64_t floor = start + s->sb_size - _grb_buf_size(s);
	uint32_t n;

	if ((int64_t)(floor - at) > 0)
		at = floor;

	for (n = 0; (int64_t)(at - start) < 0; n++) {
		uint64_t end = (at & ~s->sb_mask) + s->sb_size;

		if (n > s->count_mask ||
		    (int64_t)(_grb_load_acquire(&s->slots[_grb_slot_of(s, at)].done) - end) < 0) {
			if (crossed)
				_grb_wake_later(s, pos);
			return;
		}
		at = end;
	}
	while ((int64_t)(o - cp) > 0)
		if (_grb_cas_acqrel(&shm->commit_pos, &cp, o))
			break;
	if (s->chan->cfg->wakeup == GRB_WAKEUP_WRITER)
		_grb_wake_if(s, crossed, 0, o, o);
}

/*
 * _grb_publish_exact() found the offset moved after its [Q1] store: a
 * signal handler reserved (and committed) between its load and its store.
 * Store the offset again until it stays; return the value published.
 */
uint64_t _grb_publish_again(struct grb_stream *s)
{
	struct grb_shm_stream *shm = s->shm;
	uint64_t o = _grb_load_relaxed(&shm->offset), again;

	for (;;) {
		/* [Q1] release and [Q7], as in _grb_publish_exact(). */
		_grb_store_release(&shm->commit_pos, o);
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		again = _grb_load_relaxed(&shm->offset);
		if (again == o)
			return o;
		o = again;
	}
}

/*
 * The log of nested writes of a single-writer stream (struct grb_shm_stream,
 * nlog; doc/design.md, "A writer that exits or dies").  Each write at
 * nesting depth 2 or more -- a reservation, or the flush one makes for
 * flush_req -- appends its entry before its CAS on the offset and marks it
 * done after its commit's add; a write whose CAS fails, or whose record a
 * rollback gives back, marks it void.  The depth-1 paths never touch it.
 * Only the owner thread and its signal handlers write it, and a consumer
 * reads it only once the writing process is gone ([O3]): its stores are
 * relaxed, ordered against the handlers and the death by signal fences,
 * and changed with local atomics where a handler may change the same word
 * in between ([N1], [N2]).
 */

/* The nesting depth an entry's info word records. */
static uint32_t nlog_depth(uint64_t info)
{
	return (uint32_t)(info >> GRB_NLOG_DEPTH_SHIFT);
}

/*
 * Before a nested write: when every byte below the offset is committed
 * (the lap's bytes equal the offset's place in its packet) and the
 * committed position reached the packet, publish the offset.  A record a
 * lower depth is committing (its add made, its publication not yet) then
 * never lies in a dead writer's tail with a nested write behind it.
 */
static void nlog_publish(const struct grb_config *cfg, struct grb_stream *s)
{
	struct grb_shm_stream *shm = s->shm;
	/* relaxed: the owner thread's own words: only it and its handlers
	 * change the offset, the counts and commit_pos while it owns the
	 * stream. */
	uint64_t o = _grb_load_relaxed(&shm->offset), in = o & s->sb_mask, cc, cp;

	if (!in)
		return;
	cc = _grb_load_relaxed(&s->slots[_grb_slot_of(s, o)].cc); /* relaxed: as above */
	if (_grb_lap_bytes(s->sb_mask, cc) != in)
		return;
	cp = _grb_load_relaxed(&shm->commit_pos); /* relaxed: as above */
	if ((int64_t)(cp - (o - in)) < 0 || (int64_t)(o - cp) <= 0)
		return;
	/* [Q1] release: the records below o (stored earlier by this thread
	 * and its handlers) before the position; pairs with [Q2]. */
	_grb_store_release(&shm->commit_pos, o);
	_GRB_TP(COMMIT_PUBLISHED);
	if (cfg->wakeup == GRB_WAKEUP_WRITER)
		_grb_wake_if(s, 0, 0, o, o);
}

/*
 * Whether every write the log of count word w holds, and every write a full
 * log did not record, ends at or below cp: a consumer's dead tail begins at
 * the committed position or after it, so none of them can be in it.
 */
static int nlog_behind(const struct grb_shm_stream *shm, uint64_t w, uint64_t cp)
{
	uint32_t i, n = (uint32_t)(w & GRB_NLOG_COUNT);

	/* relaxed: the thread's own words, as in nlog_publish(). */
	if ((w & GRB_NLOG_FULL) && (int64_t)(_grb_load_relaxed(&shm->nlog_full_end) - cp) > 0)
		return 0;
	for (i = 0; i < n && i < GRB_NLOG_MAX; i++) {
		/* relaxed: as above. */
		uint64_t end = _grb_load_relaxed(&shm->nlog[i].start) +
			       (_grb_load_relaxed(&shm->nlog[i].info) & GRB_NLOG_LEN);

		if ((int64_t)(end - cp) > 0)
			return 0;
	}
	return 1;
}

/*
 * A write of [o, end) at nesting depth depth >= 2 (flags: GRB_NLOG_FLUSH for
 * a flush's padding), before its CAS on the offset: publish what is
 * committed, then append its entry.  A write at depth 2 first restarts the
 * log when every write in it ends at or below the committed position.  Only
 * depth 2 restarts: commit_pos steps back only when a handler's publication
 * is interrupted between its load of the offset and its store by a deeper
 * handler that publishes further, and no depth-2 write runs inside a
 * handler, so the position a restart compared with is never set back below.
 * A full log records nothing and marks itself (GRB_NLOG_FULL, with the
 * farthest end it missed).  Nothing is appended either when a handler moved
 * the offset since the caller loaded it: the caller's CAS then fails.
 */
static void nlog_begin(const struct grb_config *cfg, struct grb_stream *s, uint64_t o, uint64_t end,
		       uint64_t flags, uint32_t depth)
{
	struct grb_shm_stream *shm = s->shm;
	uint64_t info = (end - o) | flags | (uint64_t)depth << GRB_NLOG_DEPTH_SHIFT, w, nw;
	uint32_t n;

	nlog_publish(cfg, s);
	for (;;) {
		/* relaxed: the thread's own words, as in nlog_publish(). */
		w = _grb_load_relaxed(&shm->nlog_count);
		n = (uint32_t)(w & GRB_NLOG_COUNT);
		nw = (((w >> GRB_NLOG_SEQ_SHIFT) + 1) << GRB_NLOG_SEQ_SHIFT) | (w & GRB_NLOG_FULL);
		/* relaxed: as above. */
		if (depth == 2 && (n || (w & GRB_NLOG_FULL)) &&
		    nlog_behind(shm, w, _grb_load_relaxed(&shm->commit_pos))) {
			n = 0;
			nw &= ~GRB_NLOG_FULL;
		}
		/* relaxed: as above.  A handler reserved since the caller's
		 * load (its write is logged): the caller's CAS fails. */
		if (_grb_load_relaxed(&shm->offset) != o)
			return;
		if ((nw & GRB_NLOG_FULL) || n >= GRB_NLOG_MAX) {
			/* [N1] relaxed store of the farthest end the log
			 * misses, before the count that marks it full. */
			if (!(nw & GRB_NLOG_FULL) ||
			    (int64_t)(end - _grb_load_relaxed(&shm->nlog_full_end)) > 0)
				_grb_store_relaxed(&shm->nlog_full_end, end);
			nw |= GRB_NLOG_FULL | (n < GRB_NLOG_MAX ? n : GRB_NLOG_MAX);
		} else {
			/* [N1] relaxed stores of the entry, before the count. */
			_grb_store_relaxed(&shm->nlog[n].start, o);
			_grb_store_relaxed(&shm->nlog[n].info, info);
			nw |= n + 1;
		}
		/* [N1] signal fence, then a local CAS of the count: a
		 * handler that appended or restarted in between changed it
		 * (every change bumps the sequence number), so it fails and
		 * the entry is written again where the log now ends. */
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		if (_grb_local_cas(&shm->nlog_count, &w, nw))
			break;
	}
	/* [N1] signal fence: the entry before the caller's CAS. */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	_GRB_TP(NESTED_LOGGED);
}

/*
 * Sets flag on the entry of the calling writer's write at its nesting depth
 * that ends at end, starts at start (GRB_NO_POS: anywhere) and is a flush
 * or not as flush says: the last such entry neither done nor void.  A
 * writer has at most one (its earlier ones are done or void), and only it
 * marks its entries.  A handler may restart the log and reuse the entry in
 * between; its entries are deeper, so the local CAS then fails and the
 * entry is looked for again (and no longer found).
 */
static void nlog_mark(struct grb_stream *s, uint64_t start, uint64_t end, uint64_t flush,
		      uint64_t flag)
{
	struct grb_shm_stream *shm = s->shm;
	uint32_t depth = _grb_tls(_grb_tls_nesting);

	for (;;) {
		/* relaxed: the thread's own words, as in nlog_publish(). */
		uint32_t i = (uint32_t)(_grb_load_relaxed(&shm->nlog_count) & GRB_NLOG_COUNT);
		uint64_t st = 0, info = 0;

		if (i > GRB_NLOG_MAX)
			i = GRB_NLOG_MAX;
		while (i--) {
			/* relaxed: as above. */
			st = _grb_load_relaxed(&shm->nlog[i].start);
			info = _grb_load_relaxed(&shm->nlog[i].info);
			if (nlog_depth(info) == depth &&
			    !(info & (GRB_NLOG_DONE | GRB_NLOG_VOID)) &&
			    (info & GRB_NLOG_FLUSH) == flush && st + (info & GRB_NLOG_LEN) == end &&
			    (start == GRB_NO_POS || st == start))
				break;
		}
		if (i == (uint32_t)-1)
			return; /* not logged: the log was full */
		/* [N2] local CAS of the entry's info word (relaxed stores
		 * otherwise: the thread's own word). */
		if (_grb_local_cas(&shm->nlog[i].info, &info, info | flag))
			return;
	}
}

/*
 * The commit of a record reserved at nesting depth 2 or more on a
 * single-writer stream, ending at end: after its add (_grb_commit_slot()),
 * its entry is done.
 */
void _grb_nlog_done(struct grb_stream *s, uint64_t end)
{
	/* [N2] signal fence: the commit's add before the mark. */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	nlog_mark(s, GRB_NO_POS, end, 0, GRB_NLOG_DONE);
}

/* Overwrite mode: move consumed past every sub-buffer the ring at begin
 * overwrites, counting their records but those a consuming reader already
 * returned (consumed's k). */
static void push_reader(struct grb_stream *s, uint64_t begin)
{
	struct grb_shm_stream *shm = s->shm;
	uint64_t buf = _grb_buf_size(s);

	for (;;) {
		/* [P1] acquire: pairs with the reader's [R3]: its reads of the
		 * slot's fields precede our reuse of them. */
		uint64_t c = _grb_load_acquire(&s->cons->consumed);
		uint64_t start = c & ~s->sb_mask, taken = c & s->sb_mask;
		struct grb_shm_slot *x;
		uint64_t done, records;

		if (begin - start < buf)
			return;
		x = &s->slots[_grb_slot_of(s, start)];
		/* [P2] acquire: pairs with [D3]; records is the lap's count. */
		done = _grb_load_acquire(&x->done);
		records = _grb_load_relaxed(&x->records);
		if (_grb_unlikely(done != start + s->sb_size || taken > records)) {
			if (_grb_load_acquire(&s->cons->consumed) != c)
				continue; /* raced with the reader or another push */
			_grb_invariant_failure(s, "overwritten sub-buffer was never delivered");
			return;
		}
		/* [P3] acq_rel CAS: exactly one of the readers' [R3] (or its
		 * claim of a record in place, [R9]) and the pushers moves
		 * consumed from c, so each record is either returned or counted
		 * overwritten, never both. */
		if (_grb_cas_acqrel(&s->cons->consumed, &c, start + s->sb_size)) {
			_GRB_TP(PUSH_CLAIMED);
			_grb_add_relaxed(&shm->lost[GRB_LOST_OVERWRITTEN], records - taken);
			_GRB_TP(PUSHED);
		}
	}
}

/* Blocking mode: wait for the reader to free the sub-buffer at begin.
 * Return 0 to retry the reservation, -ETIMEDOUT when out of time. */
static int block_wait(const struct grb_config *cfg, struct grb_stream *s, uint64_t begin,
		      uint64_t *deadline)
{
	struct grb_shm_stream *shm = s->shm;
	uint64_t now = _grb_env_monotonic_ns();
	uint64_t slice = 10 * 1000 * 1000, left;
	uint32_t seq;

	(void)cfg;
	/* UINT64_MAX: forever (a timeout of UINT64_MAX us, or one that does
	 * not fit in ns or in the clock). */
	if (!*deadline)
		*deadline = _grb_deadline(now, s->chan->priv->blocking_timeout_ns);
	if (now >= *deadline)
		return -ETIMEDOUT;
	left = *deadline - now;
	/* [B1] acquire: pairs with the reader's [R4] bump of consumed_seq. */
	seq = _grb_load_acquire(&s->cons->consumed_seq);
	/* [B2] seq_cst: pairs with [R4]: either the reader sees the waiter
	 * and wakes it, or it bumped consumed_seq before our wait, whose
	 * futex compare then returns at once. */
	__atomic_add_fetch(&shm->writer_waiters, 1, __ATOMIC_SEQ_CST);
	if (begin - (__atomic_load_n(&s->cons->consumed, __ATOMIC_SEQ_CST) & ~s->sb_mask) >=
	    _grb_buf_size(s))
		_grb_env_futex_wait(&s->cons->consumed_seq, seq, left < slice ? left : slice);
	__atomic_sub_fetch(&shm->writer_waiters, 1, __ATOMIC_SEQ_CST);
	return 0;
}

/*
 * Whether the sub-buffer a reservation opens at begin may be used.
 * Return 0 (free), 1 (the offset moved: retry), -EAGAIN (waited: retry) or
 * a negative errno with the loss counted.
 */
static int check_next_free(const struct grb_config *cfg, struct grb_stream *s, uint64_t o,
			   uint64_t begin, uint64_t *deadline)
{
	struct grb_shm_stream *shm = s->shm;
	uint64_t buf = _grb_buf_size(s);
	uint64_t done;

	if (cfg->mode != GRB_MODE_OVERWRITE) {
		/* [W3] acquire: pairs with the reader's [R3]: it has swapped
		 * the sub-buffer out and read the slot's fields. */
		uint64_t c = _grb_load_acquire(&s->cons->consumed) & ~s->sb_mask;

		if (begin - c >= buf) {
			if (_grb_load_relaxed(&shm->offset) != o)
				return 1;
			/* A writer nested in a reservation of its own thread
			 * (a signal handler) does not wait: the record it would
			 * wait for may be the one it interrupted. */
			if (cfg->mode == GRB_MODE_BLOCKING && _grb_tls(_grb_tls_nesting) == 1) {
				if (block_wait(cfg, s, begin, deadline) == 0)
					return -EAGAIN;
				_grb_count_lost(s, GRB_LOST_TIMEOUT);
				return -ETIMEDOUT;
			}
			_grb_count_lost(s, GRB_LOST_FULL);
			return -ENOBUFS;
		}
	}
	/* [W4] acquire: pairs with [D3]: the previous lap of this slot is
	 * delivered, its fields and id are final. */
	done = _grb_load_acquire(&s->slots[_grb_slot_of(s, begin)].done);
	if (_grb_unlikely(done != begin + s->sb_size - buf)) {
		if (_grb_load_relaxed(&shm->offset) != o)
			return 1;
		_grb_count_lost(s, GRB_LOST_WRAP);
		return -ENOBUFS;
	}
	return 0;
}

/* Records how the packet in x ends; relaxed: published by the commit [C1]
 * that follows (the padding's, or the closing record's). */
static void set_packet_end(struct grb_shm_slot *x, uint64_t ts, uint64_t data_end, uint64_t snap)
{
	_grb_store_relaxed(&x->ts_end, ts);
	_grb_store_relaxed(&x->data_end, data_end);
	_grb_store_relaxed(&x->lost_snap, snap);
}

/*
 * Closes the packet holding position o, whose rest the caller reserved as
 * padding, by a closing reservation or a flush.  The reader may still take
 * the slot's previous lap while its NOREF is set (the opener may not have
 * cleared it yet): clear it before changing the slot's packet fields.
 */
static void close_with_padding(const struct grb_config *cfg, struct grb_stream *s, uint64_t o,
			       uint64_t ts, uint64_t snap)
{
	uint32_t slot = _grb_slot_of(s, o);
	uint64_t in_sb = o & s->sb_mask;

	_grb_clear_noref(s, slot);
	set_packet_end(&s->slots[slot], ts, in_sb, snap);
	_grb_commit_bytes(cfg, s, o, s->sb_size - in_sb);
	_GRB_TP(PACKET_CLOSED);
}

/* reserve_slow(): the calling thread is not on the stream's CPU any more. */
#define GRB_REPICK 1

/* rseq sync: whether the calling thread runs on another CPU than the stream
 * its reservation started on (never with the atomic fallback). */
static int left_stream_cpu(const struct grb_stream *s)
{
	return s->rseq_cpu != GRB_RSEQ_NO_CPU &&
	       _grb_load_relaxed(&_grb_env_rseq_area()->cpu_id) != s->rseq_cpu;
}

/*
 * Moves the offset from o to end for the slow paths; with the native rseq
 * sync, the sequence also stores the stream's pair (end, ts) ([W13]; prev,
 * the last_ts read after o, is the emulation's).  Return 1 when moved, 0 to
 * retry (the offset changed), -1 when the thread left the CPU of an rseq
 * stream (pick the stream again).
 */
static int offset_cas(const struct grb_config *cfg, struct grb_stream *s, uint64_t o, uint64_t end,
		      uint64_t prev, uint64_t ts)
{
	struct grb_shm_stream *shm = s->shm;
	struct _grb_rseq *rs;
	int r;

	/* [W5] local CAS: as [W2]; the release also publishes the [W4]/[P*]
	 * observations to the writers that reserve after. */
	if (_grb_single(cfg))
		return _grb_local_cas(&shm->offset, &o, end);
	if (cfg->sync != GRB_SYNC_PER_CPU_RSEQ || s->rseq_cpu == GRB_RSEQ_NO_CPU)
		return _grb_cas_acqrel(&shm->offset, &o, end); /* [W5] */
	rs = _grb_env_rseq_area();
	/* [W11] acquire: pairs with the flusher's [F1]: with the fence held,
	 * the offset is changed by locked instructions only ([W10] tests the
	 * fence inside its sequence and aborts).  [W13] either sequence stores
	 * last_end and last_ts before it moves the offset. */
	if (_grb_load_acquire(&shm->flush_req))
		r = _grb_rseq_cas_pair_locked(rs, s->rseq_cpu, &shm->offset, &shm->last_end, o,
					      prev, end, ts);
	else
		r = _grb_rseq_cas_pair(rs, s->rseq_cpu, &shm->offset, &shm->last_end, o, prev, end,
				       ts, &shm->flush_req);
	if (r == GRB_RSEQ_DONE)
		return 1;
	if (r == GRB_RSEQ_ABORTED && left_stream_cpu(s))
		return -1;
	return 0;
}

/* Whether the stream's pair (last_end, last_ts) gives s's prev_ts (else
 * the thread's pair does): see _grb_prev_in_stream(). */
static int prev_in_stream(const struct grb_config *cfg, const struct grb_stream *s)
{
	return _grb_prev_in_stream(cfg) &&
	       (cfg->sync != GRB_SYNC_PER_CPU_RSEQ || s->rseq_cpu != GRB_RSEQ_NO_CPU);
}

/*
 * Loads the timestamp of the record that ends at o into *prev (after the
 * [W1] load of o); returns whether it is certainly that one's (else the
 * record needs GRB_RFLAG_FULL_TS).  doc/ordering.md, "prev_ts".
 */
static int load_prev(const struct grb_config *cfg, struct grb_stream *s, uint64_t o, uint64_t *prev)
{
	struct grb_shm_stream *shm = s->shm;

	*prev = 0;
	if (_grb_single(cfg)) {
		/* [W15] relaxed: as in grb_reserve(): stored by the owner at
		 * depth 1 only. */
		*prev = _grb_load_relaxed(&shm->last_ts);
		return _grb_tls(_grb_tls_nesting) == 1 && _grb_load_relaxed(&shm->last_end) == o;
	}
	if (prev_in_stream(cfg, s)) {
		/* [W14] as in grb_reserve(). */
		*prev = _grb_load_acquire(&shm->last_ts);
		return _grb_load_relaxed(&shm->last_end) == o;
	}
	return _grb_tls(_grb_tls_nesting) == 1 && _grb_prev_mine(s, o, prev);
}

static int stream_flush(const struct grb_config *cfg, struct grb_stream *s, uint32_t depth);

static int reserve_slow(const struct grb_config *cfg, struct grb_stream *s, struct grb_ctx *ctx,
			uint64_t *deadlinep)
{
	struct grb_shm_stream *shm = s->shm;
	const uint64_t sb = s->sb_size;
	const uint32_t phdr = cfg->packet_header_size;
	uint64_t o, ts, prev, in_sb, begin, end, slot_len, snap = 0, rec_pos, id;
	uint32_t hdr, depth = _grb_tls(_grb_tls_nesting);
	int open_new, close_old, exact_end, exact_prev, ret;
	/* A write nested in a reservation of the thread (the single writer's
	 * signal handlers): logged. */
	int nested = _grb_single(cfg) && depth > 1;
	char *base;

	if (_grb_unlikely(_grb_load_relaxed(&shm->disabled))) {
		_grb_count_lost(s, GRB_LOST_DISABLED);
		return -EIO;
	}
	if (ctx->payload_len > s->chan->priv->max_payload) {
		_grb_count_lost(s, GRB_LOST_TOO_BIG);
		return -E2BIG;
	}
	if (_grb_single(cfg) && _grb_load_relaxed(&shm->flush_req)) {
		/* A remote flush asked the owner thread to close its sub-buffer.
		 * Nested in a reservation of the thread (a signal handler's),
		 * the flush is a nested write: logged (stream_flush()). */
		_grb_store_relaxed(&shm->flush_req, 0);
		stream_flush(cfg, s, depth);
	}
	for (;;) {
		o = _grb_load_acquire(&shm->offset); /* [W1], see writer.h */
		exact_prev = load_prev(cfg, s, o, &prev);
		/* Losses counted since the last attempt (by a signal handler,
		 * or by another writer) go with this record too. */
		claim_lost(s, ctx);
		ts = cfg->clock_read();
		ctx->flags = exact_prev ? _grb_ts_flags(cfg, ts, prev) : GRB_RFLAG_FULL_TS;
		ctx->ts = ts;
		ctx->prev_ts = prev;
		in_sb = o & s->sb_mask;
		open_new = close_old = exact_end = 0;
		begin = o;
		if (in_sb) {
			hdr = cfg->record_header_size(cfg, ctx);
			slot_len = _grb_align((uint64_t)hdr + ctx->payload_len, cfg->record_align);
			if (in_sb + slot_len <= sb) {
				end = o + slot_len;
				exact_end = in_sb + slot_len == sb;
			} else {
				close_old = 1;
				begin = o + (sb - in_sb);
				open_new = 1;
			}
		} else {
			open_new = 1;
		}
		if (open_new) {
			ctx->flags |= GRB_RFLAG_FULL_TS | GRB_RFLAG_PACKET_START;
			hdr = cfg->record_header_size(cfg, ctx);
			slot_len = _grb_align((uint64_t)hdr + ctx->payload_len, cfg->record_align);
			if (phdr + slot_len > sb) {
				_grb_count_lost(s, GRB_LOST_TOO_BIG);
				return -E2BIG;
			}
			end = begin + phdr + slot_len;
			exact_end = phdr + slot_len == sb;
			ret = check_next_free(cfg, s, o, begin, deadlinep);
			/* rseq: a thread that waited may wake on another CPU,
			 * whose stream is the one to write. */
			if (ret == -EAGAIN && cfg->sync == GRB_SYNC_PER_CPU_RSEQ &&
			    left_stream_cpu(s))
				return GRB_REPICK;
			if (ret == 1 || ret == -EAGAIN)
				continue;
			if (ret)
				return ret;
		}
		if (close_old || exact_end)
			snap = _grb_lost_snapshot(s);
		/* A reservation nested in another of the thread: its entry in
		 * the log before the CAS, so that a death between them shows
		 * it too (doc/design.md, "A writer that exits or dies"). */
		if (nested)
			nlog_begin(cfg, s, o, end, 0, depth);
		ret = offset_cas(cfg, s, o, end, prev, ts);
		if (ret > 0)
			break;
		/* A handler reserved in between: the entry, if any, is void. */
		if (nested)
			nlog_mark(s, o, end, 0, GRB_NLOG_VOID);
		if (ret < 0)
			return GRB_REPICK;
	}
	_GRB_TP(RESERVED);
	/* The pair of our record, at depth 1 (the native rseq sequence stored
	 * the stream's, [W13]). */
	if (_grb_tls(_grb_tls_nesting) == 1) {
		if (_grb_single(cfg)) {
			/* [W15] as in grb_reserve(). */
			_grb_store_relaxed(&shm->last_ts, ts);
			__atomic_signal_fence(__ATOMIC_SEQ_CST);
			_grb_store_relaxed(&shm->last_end, end);
		} else if (!prev_in_stream(cfg, s)) {
			_grb_prev_set_mine(s, end, ts);
		}
	}
	if (close_old)
		close_with_padding(cfg, s, o, ts, snap);
	if (open_new) {
		struct grb_shm_slot *x = &s->slots[_grb_slot_of(s, begin)];
		struct grb_packet_info info = { 0 };

		if (cfg->mode == GRB_MODE_OVERWRITE)
			push_reader(s, begin);
		id = _grb_clear_noref(s, _grb_slot_of(s, begin));
		base = s->data + ((id & GRB_ID_INDEX_MASK) << s->sb_order);
		/* relaxed: published by the header commit [C1] below. */
		_grb_store_relaxed(&x->ts_begin, ts);
		info.seq = begin >> s->sb_order;
		info.ts_begin = ts;
		info.packet_size = sb;
		info.stream_id = shm->stream_id;
		info.cpu = shm->cpu;
		info.client_data = s->chan->priv->attr.client_data;
		cfg->packet_begin(cfg, base, &info);
		if (phdr)
			_grb_commit_bytes(cfg, s, begin, phdr);
		_GRB_TP(PACKET_OPENED);
		rec_pos = begin + phdr;
	} else {
		/* [W9] acquire load of the id, NOREF cleared if set. */
		id = _grb_clear_noref(s, _grb_slot_of(s, o));
		base = s->data + ((id & GRB_ID_INDEX_MASK) << s->sb_order);
		rec_pos = o;
	}
	if (exact_end)
		set_packet_end(&s->slots[_grb_slot_of(s, rec_pos)], ts, sb, snap);
	ctx->stream = s;
	ctx->slot = &s->slots[_grb_slot_of(s, rec_pos)];
	ctx->pos = rec_pos;
	ctx->header_len = hdr;
	ctx->slot_len = (uint32_t)slot_len;
	ctx->rec = base + (rec_pos & s->sb_mask);
	cfg->record_header_write(cfg, ctx);
	_GRB_TP(HEADER_WRITTEN);
	ctx->wp = ctx->rec + hdr;
	return 0;
}

/* A reservation of the slow path, with the stream's unreported losses
 * claimed for the record and given back if it fails. */
static int reserve_claiming(const struct grb_config *cfg, struct grb_stream *s, struct grb_ctx *ctx,
			    uint64_t *deadlinep)
{
	int ret = reserve_slow(cfg, s, ctx, deadlinep);

	if (ret)
		give_back_lost(s, ctx);
	return ret;
}

/* The stream of CPU cpu, or NULL when cpu is not in the channel's CPU set
 * (or is a negative, unregistered rseq cpu_id). */
static struct grb_stream *cpu_stream(struct grb_channel *ch, uint32_t cpu)
{
	if (cpu < ch->nr_cpu_map) {
		int32_t i = ch->cpu_map[cpu];

		if (i >= 0)
			return &ch->streams[i];
	}
	return NULL;
}

/*
 * Counts a loss on the stream of the calling thread's CPU.  Return 0, or
 * -ENODEV when that CPU is outside the channel's set: the record is then
 * filtered (counted in filtered_cpu), not lost.
 */
static int count_lost_here(struct grb_channel *ch, enum grb_lost_cause cause)
{
	struct grb_stream *s = cpu_stream(ch, (uint32_t)_grb_env_getcpu_slow());

	if (s) {
		_grb_count_lost(s, cause);
		return 0;
	}
	_grb_add_relaxed(&ch->priv->filtered_cpu, 1); /* relaxed: a statistic */
	return -ENODEV;
}

/*
 * The stream the calling thread's record goes to, with the atomic and
 * single-writer syncs: NULL when its CPU is outside the channel's set
 * (counted in filtered_cpu) or it finds no per-thread stream (counted
 * GRB_LOST_NO_STREAM).
 */
static struct grb_stream *pick_stream(const struct grb_config *cfg, struct grb_channel *ch)
{
	struct grb_stream *s;

	if (cfg->alloc == GRB_ALLOC_GLOBAL)
		return &ch->streams[0];
	if (cfg->alloc == GRB_ALLOC_PER_THREAD)
		return _grb_stream_for_thread(ch);
	s = cpu_stream(ch, (uint32_t)_grb_env_getcpu());
	if (!s)
		_grb_add_relaxed(&ch->priv->filtered_cpu, 1); /* relaxed: a statistic */
	return s;
}

/*
 * The rseq sync's slow reservation: the stream of the CPU the thread runs
 * on, picked again whenever the thread migrates before its offset moved.
 */
static int reserve_rseq(const struct grb_config *cfg, struct grb_channel *ch, struct grb_ctx *ctx,
			uint32_t depth)
{
	int fallback = ch->streams[0].rseq_cpu == GRB_RSEQ_NO_CPU;
	uint64_t deadline = 0; /* blocking mode: one timeout across migrations */

	/* For grb_commit(), which adds in the area's sequences: set before
	 * any reservation succeeds, and so before the writer cache can send
	 * the fast path to this channel's streams. */
	_grb_tls(_grb_tls_rseq_area) = _grb_env_rseq_area();
	if (depth > cfg->max_nesting) {
		/* Without a stream from the area's CPU (an unregistered area,
		 * or a CPU outside the set): the CPU the thread runs on decides,
		 * the CPU set first, as with the other syncs. */
		struct grb_stream *s =
			cpu_stream(ch, _grb_load_relaxed(&_grb_tls(_grb_tls_rseq_area)->cpu_id));

		if (!s)
			return count_lost_here(ch, GRB_LOST_NESTED) ? -ENODEV : -EBUSY;
		_grb_count_lost(s, GRB_LOST_NESTED);
		return -EBUSY;
	}
	for (;;) {
		struct _grb_rseq *rs = _grb_env_rseq_area();
		int cpu = (int)_grb_load_relaxed(&rs->cpu_id);
		struct grb_stream *s;
		int ret;

		if (fallback) {
			/* Atomics only: the CPU merely picks a stream. */
			cpu = _grb_env_getcpu_slow();
		} else if (cpu < 0) {
			/* No registration yet (the library registers its own
			 * when glibc made none), or none possible: without one
			 * the thread cannot write into rseq streams. */
			if (_grb_env_rseq_register() == 0)
				continue;
			_grb_count_no_stream(ch);
			return -ENOSPC;
		}
		s = cpu_stream(ch, (uint32_t)cpu);
		if (!s) {
			_grb_add_relaxed(&ch->priv->filtered_cpu, 1); /* relaxed: a statistic */
			return -ENODEV;
		}
		ret = reserve_claiming(cfg, s, ctx, &deadline);
		if (ret != GRB_REPICK)
			return ret;
	}
}

/*
 * Points the calling thread's writer cache of ch at the packet of the
 * record ctx reserved (the stream, the packet's end position, the address
 * of position 0 as if the packet's buffer were there, and its slot), so
 * that the fast path reserves the next records there.  The id that gives
 * the packet's base was read by this thread ([W9] or [W6]) for this lap,
 * and stays the lap's until its delivery, which comes after every record
 * reserved in it is committed (doc/ordering.md, "The writer cache").  At
 * depth 1 only: a signal handler's reservation (depth 2 or more) neither
 * reads nor writes the cache, so it never sees the entry half written.
 */
static void fill_writer(struct grb_channel *ch, const struct grb_ctx *ctx)
{
	struct _grb_tls_writer *e = _grb_writer(ch);
	struct grb_stream *s = ctx->stream;

	e->uid = ch->uid;
	e->stream = s;
	e->shm = s->shm;
	e->wend = (ctx->pos & ~s->sb_mask) + s->sb_size;
	e->bias = (uintptr_t)ctx->rec - (uintptr_t)ctx->pos;
	e->slot = ctx->slot;
}

int _grb_reserve_slow(const struct grb_config *cfg, struct grb_channel *ch, struct grb_ctx *ctx)
{
	uint32_t depth = _grb_tls(_grb_tls_nesting);
	uint64_t deadline = 0;
	struct grb_stream *s;
	int ret;

	if (cfg->sync == GRB_SYNC_PER_CPU_RSEQ) {
		ret = reserve_rseq(cfg, ch, ctx, depth);
	} else {
		/* The stream first: a record filtered or without a stream is
		 * so however deep it nests. */
		s = pick_stream(cfg, ch);
		if (!s) {
			ret = cfg->alloc == GRB_ALLOC_PER_CPU ? -ENODEV : -ENOSPC;
		} else if (depth > cfg->max_nesting) {
			_grb_count_lost(s, GRB_LOST_NESTED);
			ret = -EBUSY;
		} else {
			ret = reserve_claiming(cfg, s, ctx, &deadline);
		}
	}
	if (ret == 0) {
		if (depth == 1)
			fill_writer(ch, ctx);
		return 0;
	}
	/* No reservation: the depth the caller took is given back. */
	_grb_barrier();
	_grb_tls(_grb_tls_nesting)--;
	return ret;
}

/*
 * A commit whose restartable add aborted: retried while the thread is on the
 * stream's CPU, else made remotely.  With the channel fallen back to
 * atomics, every commit is an atomic add to cc.
 */
void _grb_commit_rseq_slow(const struct grb_config *cfg, struct grb_stream *s, uint64_t pos,
			   uint64_t add)
{
	struct grb_shm_slot *x = &s->slots[_grb_slot_of(s, pos)];
	uint64_t cc, bytes;

	if (s->rseq_cpu == GRB_RSEQ_NO_CPU) {
		cc = _grb_add_return_acqrel(&x->cc, add); /* [C1] */
		goto check;
	}
	for (;;) {
		struct _grb_rseq *rs = _grb_env_rseq_area();

		if (_grb_load_relaxed(&rs->cpu_id) != s->rseq_cpu)
			break;
		if (_grb_rseq_commit_local(rs, s, x, add, &cc) == GRB_RSEQ_DONE) /* [C4] [C5] */
			goto check;
	}
	/* [C2] seq_cst add: release: the record's stores before the count;
	 * acquire: as [C1].  Pairs with [C5] through [C3]. */
	__atomic_add_fetch(&x->cc_remote, add, __ATOMIC_SEQ_CST);
	_grb_add_relaxed(&s->shm->remote_commits, 1); /* relaxed: a statistic */
	/* [C3] a memory barrier on the stream's CPU (membarrier): a local
	 * committer's [C4] store there either precedes it, and our load of cc
	 * below sees it, or its [C5] load follows it and sees our add.  The
	 * emulated sequences (no assembly) are seq_cst and need none; the
	 * kernel module's (GRB_RSEQ_LOCAL: local atomics on the stream's CPU,
	 * where a commit from another CPU breaks the module's contract) do. */
#if defined(GRB_RSEQ_NATIVE) || defined(GRB_RSEQ_LOCAL)
	if (_grb_unlikely(_grb_env_membarrier_cpu(s->rseq_cpu)))
		_grb_invariant_failure(s, "membarrier failed after a remote commit");
#endif
	cc = __atomic_load_n(&x->cc, __ATOMIC_SEQ_CST) +
	     __atomic_load_n(&x->cc_remote, __ATOMIC_SEQ_CST);
check:
	_GRB_TP(COMMIT_ADDED);
	bytes = _grb_lap_bytes(s->sb_mask, cc);
	_grb_publish_committed(cfg, s, pos, s->sb_mask, bytes, cc, add);
	if (bytes == 0)
		_grb_deliver(cfg, s, pos, cc);
}

int _grb_discard_slow(const struct grb_config *cfg, struct grb_ctx *ctx)
{
	struct grb_stream *s = ctx->stream;
	/* A record nested in a reservation of the thread: logged. */
	int nested = _grb_single(cfg) && _grb_tls(_grb_tls_nesting) > 1;
	uint64_t end = ctx->pos + ctx->slot_len;

	/* The record reports no loss: a later one does. */
	give_back_lost(s, ctx);
	/*
	 * Give the space back when nothing was reserved after it -- only with
	 * the single-writer sync.  With several writers a rollback is an ABA
	 * hazard: a writer that loaded the offset before the rollback would
	 * succeed its CAS after it and take the given-back record as its
	 * predecessor.
	 */
	if (_grb_single(cfg) && !(ctx->flags & GRB_RFLAG_PACKET_START)) {
		uint64_t expected = end;

		/* A record at depth 1 stored the stream's pair: the next
		 * record must not trust it, whatever is reserved after the
		 * rollback (a nested record stores no pair, and may end where
		 * this one did).  Stored before the CAS, with a signal fence,
		 * so that no reservation can come between the rollback and
		 * it.  relaxed: the owner's own word ([W15]).  A nested record
		 * stored no pair: the pair of the record before it stays
		 * true. */
		if (_grb_tls(_grb_tls_nesting) == 1) {
			_grb_store_relaxed(&s->shm->last_end, GRB_LAST_END_NONE);
			__atomic_signal_fence(__ATOMIC_SEQ_CST);
		}
		/* [W7] local CAS, as [W2]. */
		if (_grb_local_cas(&s->shm->offset, &expected, ctx->pos)) {
			/* A nested record's entry is void once its space is
			 * given back; until then its start is the offset, which
			 * a consumer reads as a CAS never made. */
			if (nested)
				nlog_mark(s, ctx->pos, end, 0, GRB_NLOG_VOID);
			return 0;
		}
	}
	cfg->record_discard(cfg, ctx);
	if (_grb_single(cfg)) {
		/* A nested record's entry says, before the add, that the
		 * add counts no record; done after it. */
		if (nested) {
			nlog_mark(s, GRB_NO_POS, end, 0, GRB_NLOG_DISCARD);
			/* [N2] signal fence: the mark before the add. */
			__atomic_signal_fence(__ATOMIC_SEQ_CST);
		}
		_grb_commit_slot(cfg, s, ctx->slot, NULL, ctx->pos, ctx->slot_len,
				 _grb_tls(_grb_tls_nesting) == 1);
		if (nested)
			_grb_nlog_done(s, end);
	} else {
		_grb_commit_bytes(cfg, s, ctx->pos, ctx->slot_len);
	}
	return 0;
}

/* _grb_stream_flush() itself; depth: the caller's nesting depth when it is
 * the single writer's owner thread reserving (a flush at depth 2 or more is
 * a nested write, logged), else 0. */
static int stream_flush(const struct grb_config *cfg, struct grb_stream *s, uint32_t depth)
{
	struct grb_shm_stream *shm = s->shm;
	uint64_t o, ts = 0, in_sb, snap = 0, was;
	int nested = _grb_single(cfg) && depth > 1;
	int fenced = cfg->sync == GRB_SYNC_PER_CPU_RSEQ && s->rseq_cpu != GRB_RSEQ_NO_CPU;
	int closed = 0;

	/* A stream at a packet boundary has nothing to flush: a record written
	 * before this call moved the offset visibly to us. */
	if (!(_grb_load_acquire(&shm->offset) & s->sb_mask)) /* [W1] */
		return 0;
	if (fenced) {
		uint32_t free_fence = 0;

		/* [F1] acq_rel CAS: one flusher holds the fence at a time;
		 * pairs with the previous holder's [F3] and with the writers'
		 * [W11]. */
		while (!_grb_cas_acqrel(&shm->flush_req, &free_fence, 1)) {
			free_fence = 0;
			_grb_env_yield();
		}
		/* [F2] membarrier: every [W10] in progress on the stream's CPU
		 * restarts, and every later one sees the fence: from here on
		 * the offset changes only by locked instructions, like ours. */
		if (_grb_unlikely(_grb_env_membarrier_cpu(s->rseq_cpu)))
			_grb_invariant_failure(s, "membarrier failed in a flush");
	}
	o = _grb_load_acquire(&shm->offset); /* [W1] */
	for (;;) {
		in_sb = o & s->sb_mask;
		if (!in_sb)
			break;
		ts = cfg->clock_read();
		snap = _grb_lost_snapshot(s);
		if (_grb_single(cfg)) {
			/* relaxed: read only by a consumer once the writing
			 * process is gone (doc/design.md, "A writer that exits
			 * or dies"): the tail from o to the packet's end may be
			 * this flush's padding.  Before the CAS, so that a
			 * death between them shows it too; the signal fence
			 * keeps the compiler from sinking it. */
			_grb_store_relaxed(&shm->flush_pos, o);
			__atomic_signal_fence(__ATOMIC_SEQ_CST);
			if (nested)
				nlog_begin(cfg, s, o, o + (s->sb_size - in_sb), GRB_NLOG_FLUSH,
					   depth);
		}
		was = o;
		/* [W8] acq_rel CAS, as [W5]. */
		if (_grb_cas_acqrel(&shm->offset, &o, o + (s->sb_size - in_sb))) {
			closed = 1;
			break;
		}
		if (nested)
			nlog_mark(s, was, was + (s->sb_size - in_sb), GRB_NLOG_FLUSH,
				  GRB_NLOG_VOID);
	}
	if (fenced) {
		_grb_store_release(&shm->flush_req, 0); /* [F3] */
		if (closed)
			_grb_add_relaxed(&shm->fenced_flushes, 1); /* relaxed: a statistic */
	}
	if (closed) {
		close_with_padding(cfg, s, o, ts, snap);
		if (nested) {
			/* [N2] signal fence: the padding's add before the
			 * mark. */
			__atomic_signal_fence(__ATOMIC_SEQ_CST);
			nlog_mark(s, o, o + (s->sb_size - in_sb), GRB_NLOG_FLUSH, GRB_NLOG_DONE);
		}
	}
	return closed;
}

struct flush_call {
	const struct grb_config *cfg;
	struct grb_stream *s;
	int closed;
};

static void flush_call_fn(void *arg)
{
	struct flush_call *f = (struct flush_call *)arg;

	f->closed = stream_flush(f->cfg, f->s, 0);
}

/*
 * Close the partially filled sub-buffer: the rest becomes padding.  Safe
 * from any thread with the atomic sync; with the single-writer sync only
 * from the owner or while no thread owns the stream; with the rseq sync
 * where the environment runs it (_grb_env_on_cpu(): here in user space, on
 * the stream's CPU in the kernel).  Return 1 if it closed one, 0 if the
 * stream was at a sub-buffer boundary (or the environment could not run
 * the flush).
 */
int _grb_stream_flush(const struct grb_config *cfg, struct grb_stream *s)
{
	struct flush_call f = { cfg, s, 0 };

	if (cfg->sync != GRB_SYNC_PER_CPU_RSEQ || s->rseq_cpu == GRB_RSEQ_NO_CPU)
		return stream_flush(cfg, s, 0);
	if (_grb_env_on_cpu(s->rseq_cpu, flush_call_fn, &f))
		return 0;
	return f.closed;
}
