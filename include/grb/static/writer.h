/* SPDX-License-Identifier: MIT */
/*
 * grb/static/writer.h - the inline write fast path.  Not to be included
 * directly: include <grb/writer.h>.
 *
 * Every function takes the client's constant configuration; with it declared
 * static const, the compiler removes every test on it.  Ordering labels ([W1]
 * etc.) are explained in doc/ordering.md.
 */
#ifndef GRB_STATIC_WRITER_H
#define GRB_STATIC_WRITER_H

#include <grb/config.h>
#include <grb/static/env.h>
#include <grb/static/layout.h>
#include <grb/static/testpoint.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* Thread-local (<grb/static/env.h>: _GRB_TLS_DECLARE, _grb_tls()). */
/* Reservations the calling thread holds (nesting depth). */
_GRB_TLS_DECLARE(uint32_t, _grb_tls_nesting);
/* The calling thread's writer caches, one entry per channel slot. */
_GRB_TLS_DECLARE(struct _grb_tls_writer[GRB_TLS_STREAMS], _grb_tls_writers);
/* The calling thread's last record at nesting depth 1. */
_GRB_TLS_DECLARE(struct _grb_tls_prev, _grb_tls_prev);
/* The calling thread's rseq area, set by its first reservation on an rseq
 * channel (the slow path), before any entry of _grb_tls_writers can send
 * the fast path to a per-CPU rseq stream. */
_GRB_TLS_DECLARE(struct _grb_rseq *, _grb_tls_rseq_area);

/* Out of line (src/core/write.c). */
int _grb_reserve_slow(const struct grb_config *cfg, struct grb_channel *ch, struct grb_ctx *ctx);
void _grb_deliver(const struct grb_config *cfg, struct grb_stream *s, uint64_t pos, uint64_t cc);
int _grb_discard_slow(const struct grb_config *cfg, struct grb_ctx *ctx);
void _grb_commit_rseq_slow(const struct grb_config *cfg, struct grb_stream *s, uint64_t pos,
			   uint64_t add);
void _grb_wake_stream(struct grb_stream *s, int own, uint64_t bound, uint64_t pub);
void _grb_wake_later(struct grb_stream *s, uint64_t pos);
void _grb_publish_behind(struct grb_stream *s, uint64_t pos, uint64_t o, int crossed);
uint64_t _grb_publish_again(struct grb_stream *s);
void _grb_nlog_done(struct grb_stream *s, uint64_t end);

static _grb_always_inline int _grb_single(const struct grb_config *cfg)
{
	return cfg->sync == GRB_SYNC_SINGLE_WRITER;
}

static _grb_always_inline uint32_t _grb_slot_of(const struct grb_stream *s, uint64_t pos)
{
	return (uint32_t)(pos >> s->sb_order) & s->count_mask;
}

static _grb_always_inline uint64_t _grb_align(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/*
 * Where a reservation learns the timestamp of the record before it
 * (doc/ordering.md, "prev_ts"): from the stream's pair (last_end, last_ts)
 * with the single-writer sync and the native rseq sync, else from the
 * thread's own last record (_grb_tls_prev): the atomic sync, and the rseq
 * sync when its sequences are emulated (or, in its slow path, when it fell
 * back to atomics).
 */
static _grb_always_inline int _grb_prev_in_stream(const struct grb_config *cfg)
{
#ifdef GRB_RSEQ_NATIVE
	return cfg->sync != GRB_SYNC_ATOMIC;
#else
	return cfg->sync == GRB_SYNC_SINGLE_WRITER;
#endif
}

/*
 * The thread's pair: whether the thread's last record at depth 1 is on s
 * and ends at o, with *prev its timestamp.  Only reservations at depth 1
 * read and write it, and one at depth 1 interrupts no other (a signal
 * handler that interrupts a reservation is at depth 2 or more), so its
 * three words are always one record's.  relaxed: the thread's own words.
 */
static _grb_always_inline int _grb_prev_mine(const struct grb_stream *s, uint64_t o, uint64_t *prev)
{
	if (_grb_load_relaxed(&_grb_tls(_grb_tls_prev).stream) != s->uid ||
	    _grb_load_relaxed(&_grb_tls(_grb_tls_prev).end) != o)
		return 0;
	*prev = _grb_load_relaxed(&_grb_tls(_grb_tls_prev).ts);
	return 1;
}

/*
 * Without cfg->prev_ts_exact, a lower bound of the timestamp of the record
 * before any new one on s, for a reservation at depth 1: the thread's own
 * last record on s at depth 1 (it precedes in stream order, and timestamps
 * never decrease in stream order, [W1]).
 */
static _grb_always_inline int _grb_prev_bound(const struct grb_config *cfg,
					      const struct grb_stream *s, uint64_t *prev)
{
	if (cfg->prev_ts_exact || _grb_load_relaxed(&_grb_tls(_grb_tls_prev).stream) != s->uid)
		return 0;
	/* relaxed: the thread's own words */
	*prev = _grb_load_relaxed(&_grb_tls(_grb_tls_prev).ts);
	return 1;
}

/* Records the thread's reservation at depth 1 of [o, end) with ts on s. */
static _grb_always_inline void _grb_prev_set_mine(const struct grb_stream *s, uint64_t end,
						  uint64_t ts)
{
	/* relaxed: the thread's own words (see _grb_prev_mine()).  Named,
	 * not through a pointer: gcc 12's -fsanitize=null check of a pointer
	 * to a thread-local, computed from a thread pointer the function
	 * also reads (_grb_writer()), branches on stale flags. */
	_grb_store_relaxed(&_grb_tls(_grb_tls_prev).stream, s->uid);
	_grb_store_relaxed(&_grb_tls(_grb_tls_prev).end, end);
	_grb_store_relaxed(&_grb_tls(_grb_tls_prev).ts, ts);
}

/* GRB_RFLAG_FULL_TS when ts - last does not fit in ts_bits. */
static _grb_always_inline uint32_t _grb_ts_flags(const struct grb_config *cfg, uint64_t ts,
						 uint64_t last)
{
	if (cfg->ts_bits >= 64)
		return 0;
	return ((ts - last) >> cfg->ts_bits) ? GRB_RFLAG_FULL_TS : 0;
}

/* The calling thread's writer cache entry of ch (struct _grb_tls_writer). */
static _grb_always_inline struct _grb_tls_writer *_grb_writer(const struct grb_channel *ch)
{
#ifdef GRB_ENV_TLS_OFFSET
	return (struct _grb_tls_writer *)(_grb_env_thread_pointer() + ch->tls_off);
#else
	return &_grb_tls(_grb_tls_writers)[ch->tls_slot];
#endif
}

/*
 * The bytes cc, a commit count of the slot of pos taken by a commit of
 * pos's lap, holds for that lap, modulo the sub-buffer size (mask is the
 * size - 1).  Every lap of a slot adds exactly the sub-buffer size (a power
 * of two dividing 2^40), so cc's byte field is lap * size + b, with b the
 * lap's bytes: the low bits are b, and 0 only when b is the size (b > 0
 * after an add).  Zero: the lap is complete.
 */
static _grb_always_inline uint64_t _grb_lap_bytes(uint64_t mask, uint64_t cc)
{
	return cc & mask;
}

/*
 * The rseq sync's local commit: add to the slot's cc on the stream's CPU,
 * then read the slot's count.  Return GRB_RSEQ_DONE with *cc the count
 * (both counters), or GRB_RSEQ_ABORTED when nothing was added (the thread is
 * on another CPU, or was preempted or signalled in the sequence).
 */
static _grb_always_inline int _grb_rseq_commit_local(struct _grb_rseq *rs,
						     const struct grb_stream *s,
						     struct grb_shm_slot *slot, uint64_t add,
						     uint64_t *cc)
{
	uint64_t cl;

	/* [C4] restartable add on the stream's CPU: a plain store, ordered
	 * after the record's stores by x86-TSO (release), and serialised with
	 * every other [C4]/[W10] on that CPU. */
	if (_grb_unlikely(_grb_rseq_add(rs, s->rseq_cpu, &slot->cc, add, &cl) != GRB_RSEQ_DONE))
		return GRB_RSEQ_ABORTED;
	/* [C5] seq_cst (a plain load on x86-64): pairs with a remote
	 * committer's [C2] + [C3]: of the two, at least one sees the other's
	 * add, so a completed lap is never missed. */
	*cc = cl + __atomic_load_n(&slot->cc_remote, __ATOMIC_SEQ_CST);
	return GRB_RSEQ_DONE;
}

/*
 * After a publication of pub (a [Q1] store, a [Q6] CAS, a delivery's [Q3]):
 * wake for a unit the caller's own add crossed (own), or for one a commit
 * left to the next publication ([Q5]: wake_req past wake_done).  A commit
 * wakes for a request only once it published up to it; a delivery (part)
 * also below it: the open packet's records may be readable only by the
 * reader's own look ([Q4]), when the commit that completed them found the
 * position behind this packet.  relaxed loads: the request's [Q5] is
 * seq_cst against the publisher's add (a locked RMW, or this thread), so
 * if we miss it, its own look sees our publication.  bound: for own, where
 * the unit's records end at most (_grb_wake_stream()).
 */
static _grb_always_inline void _grb_wake_if(struct grb_stream *s, int own, int part, uint64_t bound,
					    uint64_t pub)
{
	/* [Q5] relaxed loads, as above. */
	uint64_t req = _grb_load_relaxed(&s->shm->wake_req);

	if (_grb_unlikely(own || ((int64_t)(req - _grb_load_relaxed(&s->shm->wake_done)) > 0 &&
				  (part || (int64_t)(pub - req) >= 0))))
		_grb_wake_stream(s, own, bound, pub);
}

/*
 * After an add to the slot of pos returned cc (mask: the sub-buffer size
 * - 1; bytes: the lap's committed bytes in cc): when every byte reserved so
 * far is committed -- the offset equals the lap's start plus the lap's
 * committed bytes in cc -- and every packet before this one is (the
 * committed position already reached this packet), publish the offset as
 * the committed position.  committed <= reserved at the add, and the
 * offset only grows after it (the single-writer rollback takes back only
 * an uncommitted last record), so equality means nothing below the offset
 * is missing.  Deliveries move it over whole packets (_grb_advance_committed).
 */
static _grb_always_inline void _grb_publish_committed(const struct grb_config *cfg,
						      struct grb_stream *s, uint64_t pos,
						      uint64_t mask, uint64_t bytes, uint64_t cc,
						      uint64_t add)
{
	struct grb_shm_stream *shm = s->shm;
	uint64_t start = pos & ~mask, o, cp;
	int crossed = cfg->wakeup == GRB_WAKEUP_WRITER && (((cc - add) ^ cc) & s->wake_mask);

	/* Atomic sync: fewer bytes committed than reserved up to our
	 * record's end (the offset is at least that) means one below it is
	 * in flight, and the equality below cannot hold.  Writers sharing a
	 * stream then leave the writers' line alone: their reservations'
	 * CASes keep it busy enough.  (The add's bytes are below 2^32.) */
	if (cfg->sync == GRB_SYNC_ATOMIC && bytes < pos + (uint32_t)add - start) {
		if (_grb_unlikely(crossed))
			_grb_wake_later(s, pos);
		return;
	}
	/* [Q1] relaxed loads after the add: the add's acquire ([C1], [C5],
	 * or the single writer's program order) keeps them there, so every
	 * record whose commit cc counts ends at or below the offset read. */
	o = _grb_load_relaxed(&shm->offset);
	cp = _grb_load_relaxed(&shm->commit_pos);
	/* A complete lap (bytes 0) is published by its delivery. */
	if (o == start + bytes) {
		if (_grb_unlikely((int64_t)(cp - start) < 0)) {
			/* Behind this packet (a delivery has not moved it yet,
			 * or a late store set it back): out of line. */
			_grb_publish_behind(s, pos, o, crossed);
			return;
		}
		/* [Q1] release: the records below o (their commits acquired
		 * by our add) before the position; pairs with [Q2]. */
		_grb_store_release(&shm->commit_pos, o);
		_GRB_TP(COMMIT_PUBLISHED);
		/* A wake-up unit crossed here or by an earlier commit: its
		 * records are readable now. */
		if (cfg->wakeup == GRB_WAKEUP_WRITER)
			_grb_wake_if(s, crossed, 0, o, o);
	} else if (_grb_unlikely(crossed)) {
		_grb_wake_later(s, pos);
	}
}

/*
 * The single writer's commit at nesting depth 1 (grb_commit() or
 * grb_discard() of the thread's outermost record), after its add and its
 * delivery: every record reserved on the stream is committed (a signal
 * handler's nested ones too: it returned) and every packet before the
 * offset's delivered, so the offset is the committed position.  Only the
 * owner thread and its handlers store commit_pos (a flush by another
 * thread takes the stream first).  A handler that runs between our load
 * and our store may publish further; we would set it back: [Q7] reload
 * the offset after a signal fence and store again while it moved.
 */
static _grb_always_inline void _grb_publish_exact(const struct grb_config *cfg,
						  struct grb_stream *s, int crossed)
{
	struct grb_shm_stream *shm = s->shm;
	uint64_t o = _grb_load_relaxed(&shm->offset);

	/* [Q1] release: the records below o before the position; pairs with
	 * [Q2]. */
	_grb_store_release(&shm->commit_pos, o);
	_GRB_TP(COMMIT_PUBLISHED);
	/* [Q7] signal fence, then a relaxed reload: a handler that interrupted
	 * us before the store reserved, so moved the offset (it ran to
	 * completion before we went on).  Out of line, the same again until
	 * the offset stays. */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (_grb_unlikely(_grb_load_relaxed(&shm->offset) != o))
		o = _grb_publish_again(s);
	if (cfg->wakeup == GRB_WAKEUP_WRITER)
		_grb_wake_if(s, crossed, 0, o, o);
}

/*
 * Adds add (bytes, and a record) to x, the slot of pos; the add that
 * completes the sub-buffer for its lap delivers it.  rs: the calling
 * thread's rseq area (rseq sync only).  outer: 1 for the single writer's
 * commit at nesting depth 1 (_grb_publish_exact()); 2 for its commit of a
 * record reserved at depth 2 or more, whose entry in the log of nested
 * writes is then done (_grb_nlog_done()); 0 for the other syncs, and for
 * the slow paths' headers and padding, committed while the record that
 * made them is reserved.
 */
static _grb_always_inline void _grb_commit_slot(const struct grb_config *cfg, struct grb_stream *s,
						struct grb_shm_slot *x, struct _grb_rseq *rs,
						uint64_t pos, uint64_t add, int outer)
{
	uint64_t cc, mask = s->sb_mask, bytes;

	if (cfg->sync == GRB_SYNC_PER_CPU_RSEQ) {
		/* Aborted: the thread migrated since its reservation (it
		 * commits remotely, [C2]) or was interrupted (it retries). */
		if (_grb_unlikely(_grb_rseq_commit_local(rs, s, x, add, &cc) != GRB_RSEQ_DONE)) {
			_grb_commit_rseq_slow(cfg, s, pos, add);
			return;
		}
		bytes = _grb_lap_bytes(mask, cc);
	} else {
		uint64_t old;

		/* [C1] release: the record's stores (and, for a closing commit,
		 * the slot's ts_end/data_end/lost_snap) before the count;
		 * acquire: the commit that completes the lap sees every other
		 * commit's stores.  Pairs with itself across committers and
		 * with [R1] through [D3].  Local xadd (single writer) or
		 * acq_rel add. */
		if (_grb_single(cfg))
			old = _grb_local_fetch_add(&x->cc, add);
		else
			old = _grb_fetch_add_acqrel(&x->cc, add);
		/* The record count is above the mask: the bytes need only the
		 * add's bytes, below 2^32 (a sub-buffer is at most 2^30), a
		 * constant for a record of constant size. */
		bytes = _grb_lap_bytes(mask, old + (uint32_t)add);
		cc = old + add;
	}
	_GRB_TP(COMMIT_ADDED);
	if (_grb_single(cfg) && outer == 1) {
		if (_grb_unlikely(bytes == 0))
			_grb_deliver(cfg, s, pos, cc);
		_grb_publish_exact(cfg, s,
				   cfg->wakeup == GRB_WAKEUP_WRITER &&
					   (((cc - add) ^ cc) & s->wake_mask));
		return;
	}
	_grb_publish_committed(cfg, s, pos, mask, bytes, cc, add);
	if (_grb_unlikely(bytes == 0))
		_grb_deliver(cfg, s, pos, cc);
	/* After the add (the record's end: the add's bytes). */
	if (_grb_single(cfg) && outer == 2)
		_grb_nlog_done(s, pos + (uint32_t)add);
}

/*
 * Whether the stream has losses no record reported yet: the slow path
 * claims them for this record (ctx->lost).  relaxed: a counter; a loss this
 * load misses is reported by a later record, and the slow path claims the
 * count with an atomic exchange.  Before the reservation's loop, off the
 * chain offset -> size -> CAS: one load and a predicted branch.
 */
static _grb_always_inline int _grb_lost_unreported(const struct grb_shm_stream *shm)
{
	return _grb_load_relaxed(&shm->lost_unreported) != 0;
}

/*
 * The out-of-line reservation, with the nesting depth taken (the slow path
 * gives it back if it fails): anything the fast path does not do.
 */
static _grb_always_inline int _grb_reserve_slow_call(const struct grb_config *cfg,
						     struct grb_channel *ch, struct grb_ctx *ctx)
{
	/* The slow path gets a copy: were the caller's ctx's address to
	 * escape here, the compiler would keep it in memory on the fast path
	 * too. */
	struct grb_ctx slow_ctx = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL };
	int ret;

	slow_ctx.event_id = ctx->event_id;
	slow_ctx.payload_len = ctx->payload_len;
	/* A caller whose client reads no client_word need not set it: it is
	 * then passed as it is, unread.  (A copy by bytes would keep the
	 * caller's ctx in memory on the fast path.) */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
	slow_ctx.client_word = ctx->client_word;
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
	ret = _grb_reserve_slow(cfg, ch, &slow_ctx);
	*ctx = slow_ctx;
	return ret;
}

/**
 * grb_reserve() - reserve a record in the calling thread's stream.
 * @cfg: the client's constant configuration
 * @ch: the channel
 * @ctx: in: payload_len (and event_id, client_word for the client); out: the
 *	 reservation, with ts, prev_ts, lost and flags as the header callbacks
 *	 saw them (struct grb_ctx)
 *
 * Reserves header + payload, writes the record header (client callback) and
 * leaves ctx->wp on the first payload byte.  Every successful reserve must be
 * followed by grb_commit() or grb_discard() on the same thread.  A record
 * that reports losses (ctx->lost) and is discarded gives them back.
 *
 * Return: 0; -EAGAIN the channel is not recording; -EBUSY more than
 * cfg->max_nesting reservations held by this thread (counted
 * GRB_LOST_NESTED on the stream the record would have gone to); -E2BIG the
 * record does not fit in a sub-buffer (counted GRB_LOST_TOO_BIG); -ENOBUFS
 * no free sub-buffer (discard mode, and blocking mode for a reservation
 * nested in another of the same thread, which must not wait for the record
 * it interrupted: counted GRB_LOST_FULL; overwrite mode, the next
 * sub-buffer still being written by a stalled writer: GRB_LOST_WRAP);
 * -ETIMEDOUT blocking mode gave up (GRB_LOST_TIMEOUT); -ENOSPC per-thread
 * alloc found no free stream (GRB_LOST_NO_STREAM); -ENODEV the CPU is not in
 * the channel's CPU set (counted in the channel's filtered_cpu); -EIO the
 * stream was disabled after an internal invariant failure (GRB_LOST_DISABLED).
 * The stream is chosen before the nesting depth is checked: a record on a
 * CPU outside the set is filtered (-ENODEV, counted once, in filtered_cpu,
 * not as a loss) however deep it nests, and one that finds no free
 * per-thread stream gets -ENOSPC however deep it nests.
 *
 * The inline fast path reserves a record at nesting depth 1 inside the
 * packet of the thread's previous record on the channel (the writer cache,
 * struct _grb_tls_writer); everything else (a packet boundary, a record in
 * another packet, a migration, a signal handler's nested record, losses to
 * report, a flush request) is the out-of-line _grb_reserve_slow().
 *
 * Real-time: async-signal-safe; nestable up to cfg->max_nesting; lock-free
 * (atomic and rseq syncs), wait-free in the common case (single writer); no
 * system call except in blocking mode (futex wait), with GRB_WAKEUP_WRITER
 * (futex wake when a sub-buffer is delivered, in grb_commit()), with the
 * rseq sync, the rseq registration of a thread's first reservation when
 * glibc made none, and, on a per-thread channel without a thread-exit hook
 * (doc/design.md), tgkill(tid, 0) per stream when a thread's first
 * reservation finds no free stream.
 */
static _grb_always_inline int grb_reserve(const struct grb_config *cfg, struct grb_channel *ch,
					  struct grb_ctx *ctx)
{
	struct _grb_tls_writer *e;
	struct grb_stream *s;
	struct grb_shm_stream *shm;
	struct _grb_rseq *rs = NULL;
	struct grb_shm_slot *x;
	uint64_t o, prev, ts, slot_len, wend;
	uintptr_t bias;
	uint32_t hdr;
	int r;

	if (_grb_unlikely(!_grb_load_relaxed(&ch->enabled)))
		return -EAGAIN;
	/* After the test above: a disabled site costs one load and branch. */
	_grb_barrier();
	/* The depth, taken before anything else.  Nested in another
	 * reservation of the thread (a signal handler): the slow path.  The
	 * add and the test need no atomicity: a handler that runs between
	 * them gives its depth back before it returns. */
	_grb_tls(_grb_tls_nesting)++;
	_grb_barrier();
	if (_grb_unlikely(_grb_tls(_grb_tls_nesting) != 1))
		goto slow;
	e = _grb_writer(ch);
	if (_grb_unlikely(e->uid != ch->uid))
		goto slow;
	/* The geometry, loaded once: the asm and atomics below may clobber
	 * memory, so the compiler would reload it from s at each use. */
	s = e->stream;
	shm = e->shm;
	wend = e->wend;
	bias = e->bias;
	x = e->slot;
	/* Per-CPU streams with atomics: the CPU picks the stream (the cache is
	 * the last one's).  The rseq sync's sequences test the CPU themselves
	 * and abort to the slow path when the thread left it. */
	if (cfg->alloc == GRB_ALLOC_PER_CPU && cfg->sync != GRB_SYNC_PER_CPU_RSEQ &&
	    _grb_unlikely((uint32_t)_grb_env_getcpu() != shm->cpu))
		goto slow;
	if (cfg->sync == GRB_SYNC_PER_CPU_RSEQ)
		rs = _grb_tls(_grb_tls_rseq_area);
	ctx->stream = s;
	if (_grb_unlikely(_grb_lost_unreported(shm)))
		goto slow;
	for (;;) {
		/* [W1] acquire: the clock read and the loss snapshot come after
		 * this load, so timestamps and cumulative losses never decrease
		 * in stream order; pairs with the [W2]/[W5] release of the
		 * previous reservation (or [W10] with the rseq sync).  A plain
		 * load on x86-64. */
		o = _grb_load_acquire(&shm->offset);
		if (_grb_single(cfg)) {
			if (_grb_unlikely(_grb_load_relaxed(&shm->flush_req)))
				goto slow;
			/* [W15] relaxed: the stream's pair, stored by its
			 * owner at depth 1 only: last_end == o says last_ts
			 * is the timestamp of the record that ends at o. */
			prev = _grb_load_relaxed(&shm->last_ts);
			if (_grb_unlikely(_grb_load_relaxed(&shm->last_end) != o))
				goto slow;
		} else if (_grb_prev_in_stream(cfg)) {
			/* [W14] acquire load of last_ts: the timestamp of the
			 * record that ends at o if last_end is still o when
			 * the sequence below moves the offset (it tests that,
			 * and leaves FULL_TS to the slow path otherwise).
			 * [W1] saw the sequence that moved the offset to o,
			 * and so its [W13] stores; an aborted sequence's later
			 * [W13] pair, whose last_ts store this load may see,
			 * stored its last_end (never o) first. */
			prev = _grb_load_acquire(&shm->last_ts);
		} else if (_grb_unlikely(!_grb_prev_mine(s, o, &prev)) &&
			   !_grb_prev_bound(cfg, s, &prev)) {
			/* Atomic sync (and emulated sequences): unless this
			 * thread's own last record ends at o, another writer's
			 * may, and its timestamp is not known. */
			goto slow;
		}
		ts = cfg->clock_read();
		/* A record that needs a full timestamp (rare: the delta
		 * outgrew ts_bits) takes the slow path.  As a predicted
		 * branch, the test keeps the clock's latency off the chain
		 * offset -> size -> CAS -> next offset; computed into the
		 * header size, it made every reservation wait for the clock
		 * (+6 ns with the TSC). */
		if (_grb_unlikely(_grb_ts_flags(cfg, ts, prev)))
			goto slow;
		ctx->flags = 0;
		ctx->ts = ts;
		ctx->prev_ts = prev;
		ctx->lost = 0;
		hdr = cfg->record_header_size(cfg, ctx);
		slot_len = _grb_align((uint64_t)hdr + ctx->payload_len, cfg->record_align);
		/* One compare for the cached packet, the boundary and the fit:
		 * the record must end before the cached packet's end (one that
		 * ends it exactly, or crosses it, takes the slow path).  Its
		 * start is then in the packet, past the packet's first byte:
		 * the offset was past the packet's start when the cache was
		 * filled, and it never goes back to it (doc/ordering.md, "The
		 * writer cache"). */
		if (_grb_unlikely(o + slot_len >= wend))
			goto slow;
		if (cfg->sync == GRB_SYNC_PER_CPU_RSEQ) {
			/* [W10] restartable compare-and-store on the stream's
			 * CPU, the fence clear: serialised with every other
			 * [W10]/[C4] there (the CPU runs one of them at a time;
			 * a preempted one restarts).  x86-TSO orders the loads
			 * before it, as [W2]'s acquire/release do.  [W14] it
			 * aborts (to the slow path) unless last_end is o, then
			 * [W13] stores last_end, then last_ts of our record
			 * before its final store.  Aborted: the thread left the
			 * CPU (or was preempted or signalled there), or a
			 * remote flusher holds the fence. */
			if (_grb_prev_in_stream(cfg))
				r = _grb_rseq_cas_pair_at_end(rs, s->rseq_cpu, &shm->offset,
							      &shm->last_end, o, prev, o + slot_len,
							      ts, &shm->flush_req);
			else
				r = _grb_rseq_cas_pair(rs, s->rseq_cpu, &shm->offset,
						       &shm->last_end, o, prev, o + slot_len, ts,
						       &shm->flush_req);
			if (_grb_likely(r == GRB_RSEQ_DONE))
				break;
			/* Changed too: another thread of the CPU reserved since
			 * our load (it preempted us), a rare case. */
			goto slow;
		} else if (_grb_single(cfg)) {
			/* [W2] local CAS: acquire orders our stores into the
			 * packet after the opening writer's [W5].  Pairs with
			 * other writers' [W2] and the switch's [W5]. */
			if (_grb_likely(_grb_local_cas(&shm->offset, &o, o + slot_len)))
				break;
			/* Only a signal handler of the thread moves the offset
			 * between our load and our CAS: rare. */
			goto slow;
		} else if (_grb_likely(_grb_cas_acqrel(&shm->offset, &o, o + slot_len))) {
			/* [W2] acq_rel CAS, as above: pairs with other
			 * writers' [W2] and the switch's [W5]. */
			break;
		}
	}
	_GRB_TP(RESERVED);
	if (_grb_single(cfg)) {
		/* [W15] the stream's pair (last_end, last_ts) for our record,
		 * after the CAS, last_ts first: the next reservation at depth
		 * 1 trusts last_ts only if last_end is its offset.  Only the
		 * owner thread at depth 1 stores or reads them (relaxed); the
		 * signal fence keeps a pair half stored by a thread that died
		 * in between from matching (doc/ordering.md, "prev_ts"). */
		_grb_store_relaxed(&shm->last_ts, ts);
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		_grb_store_relaxed(&shm->last_end, o + slot_len);
	} else if (!_grb_prev_in_stream(cfg)) {
		_grb_prev_set_mine(s, o + slot_len, ts);
	}
	/* The cached packet's base: the thread's own [W9] or [W6] on the
	 * slot's id, when it cached it, ordered the reader's reads of the
	 * sub-buffer before our stores (doc/ordering.md, "The writer
	 * cache"). */
	ctx->pos = o;
	ctx->header_len = hdr;
	ctx->slot_len = (uint32_t)slot_len;
	ctx->slot = x;
	ctx->rec = (char *)(bias + (uintptr_t)o);
	cfg->record_header_write(cfg, ctx);
	_GRB_TP(HEADER_WRITTEN);
	ctx->wp = ctx->rec + hdr;
	return 0;
slow:
	return _grb_reserve_slow_call(cfg, ch, ctx);
}

/**
 * grb_write() - copy len bytes of payload at the write cursor.
 *
 * The caller writes at most ctx->payload_len bytes in all.  Constant sizes
 * compile to plain stores.  Real-time: async-signal-safe, wait-free.
 */
static _grb_always_inline void grb_write(struct grb_ctx *ctx, const void *src, size_t len)
{
	_grb_memcpy(ctx->wp, src, len);
	ctx->wp += len;
}

/**
 * grb_commit() - publish a reserved record.
 *
 * Commits may complete in any order (a signal handler's record nested in the
 * thread's).  The commit that completes a sub-buffer delivers it to readers
 * (client packet_end callback; a futex wake with GRB_WAKEUP_WRITER).
 * Real-time: async-signal-safe; wait-free; a system call only with
 * GRB_WAKEUP_WRITER when a reader sleeps, and with the rseq sync a
 * membarrier when the thread migrated since its reservation (the commit is
 * then made from another CPU).
 */
static _grb_always_inline void grb_commit(const struct grb_config *cfg, struct grb_ctx *ctx)
{
	/* The rseq area: set before the reservation (the slow path sets it
	 * before it returns, or before it fills the writer cache). */
	_grb_commit_slot(cfg, ctx->stream, ctx->slot,
			 cfg->sync == GRB_SYNC_PER_CPU_RSEQ ? _grb_tls(_grb_tls_rseq_area) : NULL,
			 ctx->pos, ctx->slot_len + GRB_CC_RECORD,
			 _grb_single(cfg) ? (_grb_tls(_grb_tls_nesting) == 1 ? 1 : 2) : 0);
	_grb_barrier();
	_grb_tls(_grb_tls_nesting)--;
}

/**
 * grb_discard() - drop a reserved record instead of committing it.
 *
 * When nothing was reserved after it, the space is given back; otherwise the
 * record is marked discarded (readers skip it).  Either way it is neither
 * delivered nor counted lost.  Return: 0.  Real-time: as grb_commit().
 */
static _grb_always_inline int grb_discard(const struct grb_config *cfg, struct grb_ctx *ctx)
{
	int ret = _grb_discard_slow(cfg, ctx);

	_grb_barrier();
	_grb_tls(_grb_tls_nesting)--;
	return ret;
}

/**
 * grb_write_record() - reserve, copy payload and commit in one call.
 *
 * Return: as grb_reserve().  Real-time: as grb_reserve().
 */
static _grb_always_inline int grb_write_record(const struct grb_config *cfg, struct grb_channel *ch,
					       uint32_t event_id, const void *payload, uint32_t len)
{
	struct grb_ctx ctx;
	int ret;

	ctx.event_id = event_id;
	ctx.payload_len = len;
	ctx.client_word = 0;
	ret = grb_reserve(cfg, ch, &ctx);
	if (_grb_unlikely(ret))
		return ret;
	grb_write(&ctx, payload, len);
	grb_commit(cfg, &ctx);
	return 0;
}

/** grb_enabled() - whether the channel records (one load). */
static _grb_always_inline int grb_enabled(const struct grb_channel *ch)
{
	return (int)_grb_load_relaxed(&ch->enabled);
}

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* GRB_STATIC_WRITER_H */
