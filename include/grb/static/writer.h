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

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* Reservations the calling thread holds (nesting depth). */
extern __thread uint32_t _grb_tls_nesting __attribute__((tls_model("initial-exec")));
/* The calling thread's per-thread streams. */
extern __thread struct _grb_tls_stream _grb_tls_streams[GRB_TLS_STREAMS]
	__attribute__((tls_model("initial-exec")));
/* The calling thread's last record at nesting depth 1. */
extern __thread struct _grb_tls_prev _grb_tls_prev __attribute__((tls_model("initial-exec")));

/* Out of line (src/core/write.c, src/core/select.c). */
int _grb_reserve_slow(const struct grb_config *cfg, struct grb_stream *s, struct grb_ctx *ctx);
uint64_t _grb_clear_noref(struct grb_stream *s, uint32_t slot);
void _grb_deliver(const struct grb_config *cfg, struct grb_stream *s, uint64_t pos, uint64_t cc);
void _grb_count_lost(struct grb_stream *s, enum grb_lost_cause cause);
int _grb_discard_slow(const struct grb_config *cfg, struct grb_ctx *ctx);
struct grb_stream *_grb_stream_for_thread(struct grb_channel *ch);
struct grb_stream *_grb_stream_for_cpu_slow(struct grb_channel *ch, int cpu);
int _grb_reserve_slow_rseq(const struct grb_config *cfg, struct grb_channel *ch,
			   struct grb_ctx *ctx);
void _grb_commit_rseq_slow(const struct grb_config *cfg, struct grb_stream *s, uint64_t pos,
			   uint64_t add);
int _grb_count_lost_here(struct grb_channel *ch, enum grb_lost_cause cause);
void _grb_wake_stream(struct grb_stream *s);
void _grb_wake_later(struct grb_stream *s, uint64_t pos);
void _grb_publish_behind(struct grb_stream *s, uint64_t pos, uint64_t o, int crossed);

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
	struct _grb_tls_prev *t = &_grb_tls_prev;

	if (_grb_load_relaxed(&t->stream) != s->uid || _grb_load_relaxed(&t->end) != o)
		return 0;
	*prev = _grb_load_relaxed(&t->ts);
	return 1;
}

/*
 * Without cfg->prev_ts_exact, a lower bound of the timestamp of the record
 * before any new one on s: the thread's own last record on s at depth 1
 * (it precedes in stream order, and timestamps never decrease in stream
 * order, [W1]).  Only at depth 1, where the pair is never half written.
 */
static _grb_always_inline int _grb_prev_bound(const struct grb_config *cfg,
					      const struct grb_stream *s, uint32_t depth,
					      uint64_t *prev)
{
	struct _grb_tls_prev *t = &_grb_tls_prev;

	if (cfg->prev_ts_exact || depth != 1 || _grb_load_relaxed(&t->stream) != s->uid)
		return 0;
	*prev = _grb_load_relaxed(&t->ts); /* relaxed: the thread's own words */
	return 1;
}

/* Records the thread's reservation at depth 1 of [o, end) with ts on s. */
static _grb_always_inline void _grb_prev_set_mine(const struct grb_stream *s, uint64_t end,
						  uint64_t ts)
{
	struct _grb_tls_prev *t = &_grb_tls_prev;

	/* relaxed: the thread's own words (see _grb_prev_mine()). */
	_grb_store_relaxed(&t->stream, s->uid);
	_grb_store_relaxed(&t->end, end);
	_grb_store_relaxed(&t->ts, ts);
}

/* GRB_RFLAG_FULL_TS when ts - last does not fit in ts_bits. */
static _grb_always_inline uint32_t _grb_ts_flags(const struct grb_config *cfg, uint64_t ts,
						 uint64_t last)
{
	if (cfg->ts_bits >= 64)
		return 0;
	return ((ts - last) >> cfg->ts_bits) ? GRB_RFLAG_FULL_TS : 0;
}

/* The per-CPU stream of CPU cpu, or NULL when cpu is not in the channel's
 * CPU set (or is a negative, unregistered rseq cpu_id). */
static _grb_always_inline struct grb_stream *_grb_cpu_stream(struct grb_channel *ch, uint32_t cpu)
{
	if (_grb_likely(cpu < ch->nr_cpu_map)) {
		int32_t i = ch->cpu_map[cpu];

		if (_grb_likely(i >= 0))
			return &ch->streams[i];
	}
	return NULL;
}

static _grb_always_inline struct grb_stream *_grb_pick_stream(const struct grb_config *cfg,
							      struct grb_channel *ch)
{
	if (cfg->alloc == GRB_ALLOC_GLOBAL)
		return &ch->streams[0];
	if (cfg->alloc == GRB_ALLOC_PER_CPU) {
		int cpu = _grb_env_getcpu();
		struct grb_stream *s = _grb_cpu_stream(ch, (uint32_t)cpu);

		if (_grb_likely(s != NULL))
			return s;
		return _grb_stream_for_cpu_slow(ch, cpu);
	}
	/* Per-thread: the thread's cache entry for this channel. */
	{
		struct _grb_tls_stream *e = &_grb_tls_streams[ch->tls_slot];

		if (_grb_likely(e->uid == ch->uid))
			return e->stream;
		return _grb_stream_for_thread(ch);
	}
}

/*
 * The bytes cc, a commit count of the slot of pos taken by a commit of
 * pos's lap, holds for that lap, modulo the sub-buffer size.  Every lap
 * of a slot adds exactly the sub-buffer size (a power of two dividing
 * 2^40), so cc's byte field is lap * size + b, with b the lap's bytes: the
 * low bits are b, and 0 only when b is the size (b > 0 after an add).
 * Zero: the lap is complete.
 */
static _grb_always_inline uint64_t _grb_lap_bytes(const struct grb_stream *s, uint64_t cc)
{
	return cc & s->sb_mask;
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
 * After an add to the slot of pos returned cc: when every byte reserved so
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
						      uint64_t bytes, uint64_t cc, uint64_t add)
{
	uint64_t start = pos & ~s->sb_mask;
	/* [Q1] relaxed loads after the add: the add's acquire ([C1], [C5],
	 * or the single writer's program order) keeps them there, so every
	 * record whose commit cc counts ends at or below the offset read. */
	uint64_t o = _grb_load_relaxed(&s->shm->offset);
	uint64_t cp = _grb_load_relaxed(&s->shm->commit_pos);

	int crossed = cfg->wakeup == GRB_WAKEUP_WRITER && (((cc - add) ^ cc) & s->wake_mask);

	/* A complete lap (bytes 0) is published by its delivery. */
	if (o - start == bytes) {
		if (_grb_unlikely((int64_t)(cp - start) < 0)) {
			/* Behind this packet (a delivery has not moved it yet,
			 * or a late store set it back): out of line. */
			_grb_publish_behind(s, pos, o, crossed);
			return;
		}
		/* [Q1] release: the records below o (their commits acquired
		 * by our add) before the position; pairs with [Q2]. */
		_grb_store_release(&s->shm->commit_pos, o);
		/* A wake-up unit crossed here or by an earlier commit: its
		 * records are readable now. */
		if (cfg->wakeup == GRB_WAKEUP_WRITER &&
		    _grb_unlikely(crossed || _grb_load_relaxed(&s->shm->wake_pending)))
			_grb_wake_stream(s);
	} else if (_grb_unlikely(crossed)) {
		_grb_wake_later(s, pos);
	}
}

/* Adds len committed bytes (and a record if rec) to the slot of pos; the
 * add that completes the sub-buffer for its lap delivers it. */
static _grb_always_inline void _grb_commit_bytes(const struct grb_config *cfg, struct grb_stream *s,
						 uint64_t pos, uint64_t add)
{
	struct grb_shm_slot *slot = &s->slots[_grb_slot_of(s, pos)];
	uint64_t cc, bytes;

	if (cfg->sync == GRB_SYNC_PER_CPU_RSEQ) {
		/* Aborted: the thread migrated since its reservation (it
		 * commits remotely, [C2]) or was interrupted (it retries). */
		if (_grb_unlikely(_grb_rseq_commit_local(_grb_rseq_area(), s, slot, add, &cc) !=
				  GRB_RSEQ_DONE)) {
			_grb_commit_rseq_slow(cfg, s, pos, add);
			return;
		}
	} else if (_grb_single(cfg)) {
		/* [C1] release: the record's stores (and, for a closing commit,
		 * the slot's ts_end/data_end/lost_snap) before the count;
		 * acquire: the commit that completes the lap sees every other
		 * commit's stores.  Pairs with itself across committers and
		 * with [R1] through [D3]. */
		cc = _grb_local_add_return(&slot->cc, add);
	} else {
		cc = _grb_add_return_acqrel(&slot->cc, add); /* [C1] */
	}
	bytes = _grb_lap_bytes(s, cc);
	_grb_publish_committed(cfg, s, pos, bytes, cc, add);
	if (_grb_unlikely(bytes == 0))
		_grb_deliver(cfg, s, pos, cc);
}

/*
 * The common case of a reservation at offset o, once o and prev (the
 * timestamp of the record that ends at o, which the caller made sure of or
 * which the CAS will check) are loaded: reads the clock and sizes the
 * record.  Return 0 with ts, hdr and slot_len set when the record fits
 * strictly inside the current sub-buffer with a compact timestamp; 1 for
 * the slow path (a packet boundary, a record that does not fit, or one
 * that needs a full timestamp).
 */
static _grb_always_inline int _grb_reserve_fits(const struct grb_config *cfg,
						const struct grb_stream *s, struct grb_ctx *ctx,
						uint64_t o, uint64_t prev, uint64_t *ts,
						uint32_t *hdr, uint64_t *slot_len)
{
	uint64_t in_sb = o & s->sb_mask;

	*ts = cfg->clock_read();
	/* A record that needs a full timestamp (rare: the delta outgrew
	 * ts_bits) takes the slow path.  As a predicted branch, the test keeps
	 * the clock's latency off the chain offset -> size -> CAS -> next
	 * offset; computed into the header size, it made every reservation
	 * wait for the clock (+6 ns with the TSC). */
	if (_grb_unlikely(_grb_ts_flags(cfg, *ts, prev)))
		return 1;
	ctx->flags = 0;
	if (_grb_unlikely(in_sb == 0))
		return 1;
	ctx->ts = *ts;
	ctx->prev_ts = prev;
	ctx->lost = 0;
	*hdr = cfg->record_header_size(cfg, ctx);
	*slot_len = _grb_align((uint64_t)*hdr + ctx->payload_len, cfg->record_align);
	return in_sb + *slot_len >= s->sb_size;
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

/* After the reservation of slot_len bytes at o: the record's header. */
static _grb_always_inline void _grb_reserve_finish(const struct grb_config *cfg,
						   struct grb_stream *s, struct grb_ctx *ctx,
						   uint64_t o, uint64_t ts, uint32_t hdr,
						   uint64_t slot_len)
{
	char *base;

	/* The fast path reserves at depth 1 only, except with the native rseq
	 * sync, whose sequence stored the stream's pair ([W13]). */
	if (_grb_single(cfg)) {
		struct grb_shm_stream *shm = s->shm;

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
	ctx->pos = o;
	ctx->header_len = hdr;
	ctx->slot_len = (uint32_t)slot_len;
	{
		uint32_t slot = _grb_slot_of(s, o);
		/* [W9] acquire: the id comes from the release sequence of the
		 * reader's swap [R2] continued by the opener's [W6]: the
		 * reader's reads of the sub-buffer it gave back happen before
		 * our stores into it.  A NOREF id is fixed by a CAS. */
		uint64_t id = _grb_load_acquire(&s->slots[slot].id);

		if (_grb_unlikely(id & GRB_ID_NOREF))
			id = _grb_clear_noref(s, slot);
		base = s->data + ((id & GRB_ID_INDEX_MASK) << s->sb_order);
	}
	ctx->rec = base + (o & s->sb_mask);
	cfg->record_header_write(cfg, ctx);
	ctx->wp = ctx->rec + hdr;
}

/* The out-of-line reservation, with the nesting depth taken. */
static _grb_always_inline int _grb_reserve_slow_call(const struct grb_config *cfg,
						     struct grb_channel *ch, struct grb_stream *s,
						     struct grb_ctx *ctx)
{
	/* The slow path gets a copy: were the caller's ctx's address to
	 * escape here, the compiler would keep it in memory on the fast path
	 * too. */
	struct grb_ctx slow_ctx = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL };
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
	if (cfg->sync == GRB_SYNC_PER_CPU_RSEQ)
		ret = _grb_reserve_slow_rseq(cfg, ch, &slow_ctx);
	else
		ret = _grb_reserve_slow(cfg, s, &slow_ctx);
	*ctx = slow_ctx;
	if (_grb_unlikely(ret < 0)) {
		_grb_barrier();
		_grb_tls_nesting--;
	}
	return ret;
}

/*
 * grb_reserve() for the per-CPU rseq sync: the offset moves by a restartable
 * sequence on the stream's CPU ([W10]), with no lock prefix.  Anything
 * unusual (a migration, a preemption or signal inside the sequence, a
 * remote flush holding the fence, a packet boundary, a CPU without a
 * registration) takes the slow path, which picks the stream again.
 */
static _grb_always_inline int _grb_reserve_rseq(const struct grb_config *cfg,
						struct grb_channel *ch, struct grb_ctx *ctx)
{
	struct _grb_rseq *rs;
	struct grb_stream *s;
	struct grb_shm_stream *shm;
	uint64_t o, prev, ts, slot_len;
	uint32_t hdr, depth, cpu;
	int r;

	if (_grb_unlikely(!_grb_load_relaxed(&ch->enabled)))
		return -EAGAIN;
	/* After the test above: a disabled site costs one load and branch. */
	_grb_barrier();
	rs = _grb_rseq_area();
	/* relaxed: the kernel's own updates of the area; a stale CPU only
	 * makes the sequence abort. */
	cpu = _grb_load_relaxed(&rs->cpu_id);
	s = _grb_cpu_stream(ch, cpu);
	depth = ++_grb_tls_nesting;
	_grb_barrier();
	if (_grb_unlikely(depth > cfg->max_nesting)) {
		/* Without a stream from the area's CPU (an unregistered area,
		 * or a CPU outside the set): the CPU the thread runs on decides,
		 * the CPU set first, as in grb_reserve(). */
		int filtered = 0;

		if (s)
			_grb_count_lost(s, GRB_LOST_NESTED);
		else
			filtered = _grb_count_lost_here(ch, GRB_LOST_NESTED) != 0;
		_grb_barrier();
		_grb_tls_nesting--;
		return filtered ? -ENODEV : -EBUSY;
	}
	if (_grb_unlikely(!s))
		goto slow;
	ctx->stream = s;
	shm = s->shm;
	if (_grb_unlikely(_grb_lost_unreported(shm)))
		goto slow;
	for (;;) {
		o = _grb_load_acquire(&shm->offset); /* [W1] */
		if (_grb_prev_in_stream(cfg)) {
			/* [W14] acquire load of last_ts: the timestamp of the
			 * record that ends at o if last_end is still o when
			 * the sequence below moves the offset (it tests that,
			 * and leaves FULL_TS to the slow path otherwise).
			 * [W1] saw the sequence that moved the offset to o,
			 * and so its [W13] stores; an aborted sequence's later
			 * [W13] pair, whose last_ts store this load may see,
			 * stored its last_end (never o) first. */
			prev = _grb_load_acquire(&shm->last_ts);
		} else if (_grb_unlikely(depth != 1 || !_grb_prev_mine(s, o, &prev)) &&
			   !_grb_prev_bound(cfg, s, depth, &prev)) {
			/* Emulated sequences: the thread's pair. */
			goto slow;
		}
		if (_grb_unlikely(_grb_reserve_fits(cfg, s, ctx, o, prev, &ts, &hdr, &slot_len)))
			goto slow;
		/* [W10] restartable compare-and-store on the stream's CPU, the
		 * fence clear: serialised with every other [W10]/[C4] there
		 * (the CPU runs one of them at a time; a preempted one
		 * restarts).  x86-TSO orders the loads before it and the slot
		 * id load after it, as [W2]'s acquire/release do.  [W14] it
		 * aborts (to the slow path) unless last_end is o, then [W13]
		 * stores last_end, then last_ts of our record before its
		 * final store. */
		if (_grb_prev_in_stream(cfg))
			r = _grb_rseq_cas_pair_at_end(rs, s->rseq_cpu, &shm->offset, &shm->last_end,
						      o, prev, o + slot_len, ts, &shm->flush_req);
		else
			r = _grb_rseq_cas_pair(rs, s->rseq_cpu, &shm->offset, &shm->last_end, o,
					       prev, o + slot_len, ts, &shm->flush_req);
		if (_grb_likely(r == GRB_RSEQ_DONE))
			break;
		if (r == GRB_RSEQ_ABORTED)
			goto slow;
	}
	_grb_reserve_finish(cfg, s, ctx, o, ts, hdr, slot_len);
	return 0;
slow:
	return _grb_reserve_slow_call(cfg, ch, s, ctx);
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
	struct grb_stream *s;
	struct grb_shm_stream *shm;
	uint64_t o, prev, ts, slot_len;
	uint32_t hdr, depth;

	if (cfg->sync == GRB_SYNC_PER_CPU_RSEQ)
		return _grb_reserve_rseq(cfg, ch, ctx);
	if (_grb_unlikely(!_grb_load_relaxed(&ch->enabled)))
		return -EAGAIN;
	s = _grb_pick_stream(cfg, ch);
	if (_grb_unlikely(!s))
		return cfg->alloc == GRB_ALLOC_PER_CPU ? -ENODEV : -ENOSPC;
	depth = ++_grb_tls_nesting;
	_grb_barrier();
	if (_grb_unlikely(depth > cfg->max_nesting)) {
		_grb_count_lost(s, GRB_LOST_NESTED);
		_grb_barrier();
		_grb_tls_nesting--;
		return -EBUSY;
	}
	ctx->stream = s;
	shm = s->shm;
	if (_grb_unlikely(_grb_lost_unreported(shm)))
		goto slow;
	for (;;) {
		/* [W1] acquire: the clock read and the loss snapshot come after
		 * this load, so timestamps and cumulative losses never decrease
		 * in stream order; pairs with the [W2]/[W5] release of the
		 * previous reservation.  A plain load on x86-64. */
		o = _grb_load_acquire(&shm->offset);
		/* The timestamp of the record that ends at o, known only at
		 * depth 1: a reservation nested in another of this thread (a
		 * signal handler) gets FULL_TS from the slow path. */
		if (_grb_single(cfg)) {
			if (_grb_unlikely(_grb_load_relaxed(&shm->flush_req)))
				goto slow;
			/* [W15] relaxed: the stream's pair, stored by its
			 * owner at depth 1 only: last_end == o says last_ts
			 * is the timestamp of the record that ends at o. */
			prev = _grb_load_relaxed(&shm->last_ts);
			if (_grb_unlikely(depth != 1 || _grb_load_relaxed(&shm->last_end) != o))
				goto slow;
		} else if (_grb_unlikely(depth != 1 || !_grb_prev_mine(s, o, &prev)) &&
			   !_grb_prev_bound(cfg, s, depth, &prev)) {
			/* Atomic sync: unless this thread's own last record
			 * ends at o, another writer's may, and its timestamp
			 * is not known. */
			goto slow;
		}
		if (_grb_unlikely(_grb_reserve_fits(cfg, s, ctx, o, prev, &ts, &hdr, &slot_len)))
			goto slow;
		if (_grb_single(cfg)) {
			/* [W2] local CAS: acquire orders the slot id load
			 * after the opening writer's [W5].  Pairs with other
			 * writers' [W2] and the switch's [W5]. */
			if (_grb_likely(_grb_local_cas(&shm->offset, &o, o + slot_len)))
				break;
		} else if (_grb_likely(_grb_cas_acqrel(&shm->offset, &o, o + slot_len))) {
			/* [W2] acq_rel CAS, as above: pairs with other
			 * writers' [W2] and the switch's [W5]. */
			break;
		}
	}
	_grb_reserve_finish(cfg, s, ctx, o, ts, hdr, slot_len);
	return 0;
slow:
	return _grb_reserve_slow_call(cfg, ch, s, ctx);
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
	_grb_commit_bytes(cfg, ctx->stream, ctx->pos, ctx->slot_len + GRB_CC_RECORD);
	_grb_barrier();
	_grb_tls_nesting--;
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
	_grb_tls_nesting--;
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
