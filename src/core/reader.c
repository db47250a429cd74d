// SPDX-License-Identifier: MIT
/*
 * reader.c - the read side: take a complete sub-buffer by swapping it with
 * the reader's spare, validate what shared memory says about it, decode its
 * records (iterators and the merge are in iter.c).
 *
 * Shared memory is not trusted here: every index, size and count read from
 * it is checked before use.  A delivered sub-buffer whose contents fail
 * validation is reported (-EPROTO) once, counted and skipped; the writers
 * go on.  Only shared state that cannot be (a physical index out of range)
 * disables the stream, since using it would corrupt memory.  Ordering
 * labels [R*] pair with the writer's in write.c and static/writer.h.
 */
#include "core.h"

/*
 * A dead writer's tail as the log of nested writes resolved it (log_tail()):
 * the records it proves committed there, in position order, each decoded
 * only where its write put it.  o: the offset the verdict is for
 * (GRB_NO_POS: none yet); s0: the packet the tail begins in (it spans at
 * most s0 and the next one).
 */
struct dead_plan {
	uint64_t o, s0;
	int verdict; /* DEAD_RESOLVED or DEAD_DECLINED */
	uint32_t n;
	uint64_t pos[GRB_NLOG_MAX];
	uint64_t len[GRB_NLOG_MAX];
};

struct grb_reader {
	struct grb_channel *ch;
	struct grb_stream *s;
	const struct grb_config *cfg;
	uint32_t flags;
	uint32_t held;
	uint64_t held_pos;
	uint64_t held_idx; /* physical sub-buffer read (consuming) */
	char *copy; /* sub-buffer size: snapshot copies, overwrite-mode reads in place */
	/* Consuming: the records of the open packet returned in place. */
	uint64_t cp_max; /* the highest committed position seen */
	uint64_t ip_start; /* their packet, GRB_NO_POS for none */
	uint64_t ip_off; /* position after them */
	uint64_t ip_ts; /* timestamp of the last of them (ts_begin for none) */
	uint64_t ip_k; /* how many (discarded records not counted) */
	uint64_t ip_copy_end; /* overwrite mode: copy holds [ip_start, this) */
	/* Consuming, the writing process gone: its tail's verdict. */
	struct dead_plan dp;
	/* Snapshot: packets [snap_cursor, snap_end], snap_cp the committed
	 * position sampled with them. */
	uint64_t snap_cursor, snap_end, snap_cp;
	uint64_t lost_packets;
	uint64_t corrupt_packets; /* skipped by this reader as corrupt */
	uint64_t last_seq; /* packet of the last record returned */
	uint64_t lost_seen; /* the stream's losses when it was returned */
};

static int reader_dead(const struct grb_reader *r)
{
	return _grb_load_acquire(&r->ch->priv->destroyed) != 0;
}

/* Whether position a is after b (free-running positions). */
static int pos_after(uint64_t a, uint64_t b)
{
	return (int64_t)(a - b) > 0;
}

/*
 * What the reader can see by itself when no commit published the position:
 * the offset, when every packet from start to it is delivered and the open
 * one's committed bytes reach it, with the offset unchanged across the
 * count.  committed <= reserved at the count's load, the offset read
 * before and after it is the same, and it only grows (but for the
 * single-writer rollback of an uncommitted last record): so nothing below
 * it is missing.  Return 1 and *q, or 0.
 */
static int quiescent_pos(struct grb_reader *r, uint64_t start, uint64_t *q)
{
	struct grb_stream *s = r->s;
	struct grb_shm_stream *shm = s->shm;
	uint64_t o = _grb_load_acquire(&shm->offset); /* [W1] */
	uint64_t open = o & ~s->sb_mask, p, cc;
	struct grb_shm_slot *x = &s->slots[_grb_slot_of(s, open)];

	if (pos_after(start, o) || open - start > _grb_buf_size(s))
		return 0;
	for (p = start; p != open; p += s->sb_size)
		if (_grb_load_acquire(&s->slots[_grb_slot_of(s, p)].done) != p + s->sb_size)
			return 0; /* [R1] */
	if (o == open) {
		*q = o;
		return 1;
	}
	/* [Q4] acquire: pairs with the commits' [C1]/[C2]/[C4] releases: the
	 * bytes counted are visible.  The rseq sync's count is the sum. */
	cc = _grb_load_acquire(&x->cc) + __atomic_load_n(&x->cc_remote, __ATOMIC_SEQ_CST);
	if (_grb_lap_bytes(s->sb_mask, cc) != o - open ||
	    __atomic_load_n(&shm->offset, __ATOMIC_SEQ_CST) != o)
		return 0;
	*q = o;
	return 1;
}

/*
 * The committed position as far as this reader knows, for a head packet at
 * start and a reader that read up to from: [Q2] acquire, pairing with the writers' [Q1] and [Q3] (the records
 * below it are committed and their bytes visible), else what it sees by
 * itself.  It keeps the highest value (concurrent writers may store it out
 * of order).
 */
static uint64_t dead_complete(const struct grb_reader *r, uint64_t start);

static uint64_t committed_pos(struct grb_reader *r, uint64_t start, uint64_t from)
{
	/* [Q2] acquire, as above. */
	uint64_t cp = _grb_load_acquire(&r->s->shm->commit_pos), q;
	/* [Q8] acquire: pairs with a wake-up's CAS before its [D4]: what it
	 * published, even if a late [Q1] store set commit_pos back since. */
	uint64_t wp = _grb_load_acquire(&r->s->shm->wake_pos);
	/* [R14] acquire load of the offset after them: every byte committed
	 * was reserved first, so a position past it is a lie of shared
	 * memory, not taken. */
	uint64_t o = _grb_load_acquire(&r->s->shm->offset);

	if (pos_after(cp, r->cp_max) && !pos_after(cp, o))
		r->cp_max = cp;
	if (pos_after(wp, r->cp_max) && !pos_after(wp, o))
		r->cp_max = wp;
	/* Nor what this reader kept: its first value (0), from before it
	 * saw any position, may be past an offset far from it. */
	if (pos_after(r->cp_max, o))
		r->cp_max = o;
	/* Nor one outside [start, o] that the signed comparison cannot
	 * place: 2^63 from the offset, it is neither after it nor before it,
	 * yet after a reader's position just past it.  Nothing of this packet
	 * is known committed by it (one legitimately behind start says
	 * nothing of this packet either). */
	if (!pos_after(start, o) && r->cp_max - start > o - start)
		r->cp_max = start;
	if (!pos_after(r->cp_max, from) && quiescent_pos(r, start, &q) && pos_after(q, r->cp_max))
		r->cp_max = q;
	/* A dead writer's packet whose delivery died: committed to its
	 * content size. */
	q = dead_complete(r, start);
	if (q && pos_after(q, r->cp_max))
		r->cp_max = q;
	return r->cp_max;
}

/*
 * Copies n bytes the writers may be overwriting (the copy is then thrown
 * away): volatile byte loads, which no sanitizer intercepts as a memcpy
 * and no compiler turns into one.
 */
_GRB_NO_SANITIZE_THREAD
static void copy_racy(char *dst, const char *src, uint64_t n)
{
	const volatile char *v = src;
	uint64_t i;

	for (i = 0; i < n; i++)
		dst[i] = v[i];
}

static void snapshot_sample(struct grb_reader *r)
{
	struct grb_stream *s = r->s;
	uint64_t c = _grb_load_acquire(&s->cons->consumed) & ~s->sb_mask;
	uint64_t cp = committed_pos(r, c, _grb_load_relaxed(&s->shm->offset));
	uint64_t o = _grb_load_acquire(&s->shm->offset); /* [W1] */

	/* The open packet, whose committed records are read too; packets
	 * before it are read when delivered. */
	r->snap_end = o & ~s->sb_mask;
	if (!(o & s->sb_mask))
		r->snap_end -= s->sb_size; /* at a boundary: nothing open */
	r->snap_cp = cp;
	r->snap_cursor = c;
	/* Writers keep consumed within a ring of the open packet: one further
	 * back (shared memory that lies, an offset far ahead) would have the
	 * reader walk packets that cannot be there. */
	if (!pos_after(c, r->snap_end) && r->snap_end - c > _grb_buf_size(s))
		r->snap_cursor = r->snap_end - _grb_buf_size(s);
}

int _grb_reader_open(struct grb_channel *ch, uint32_t stream, uint32_t flags,
		     struct grb_reader **out)
{
	struct grb_reader *r;
	uint32_t zero = 0;

	if (!ch || stream >= ch->nr_streams || (flags & ~GRB_READER_SNAPSHOT)) {
		_grb_env_set_error("reader: bad channel, stream index %u or flags 0x%x", stream,
				   flags);
		return -EINVAL;
	}
	if (_grb_load_acquire(&ch->priv->destroyed))
		return -ESHUTDOWN;
	r = (struct grb_reader *)_grb_env_zalloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->ch = ch;
	r->s = &ch->streams[stream];
	r->cfg = ch->cfg;
	r->flags = flags;
	r->ip_start = GRB_NO_POS;
	r->last_seq = GRB_NO_POS;
	r->dp.o = GRB_NO_POS;
	r->copy = (char *)_grb_env_zalloc(r->s->sb_size);
	if (!r->copy) {
		_grb_env_free(r);
		return -ENOMEM;
	}
	/* [R7] acq_rel CAS: one consuming reader per stream; pairs with
	 * [R8].  Snapshot readers copy and need no exclusion. */
	if (!(flags & GRB_READER_SNAPSHOT) &&
	    !_grb_cas_acqrel(&r->s->cons->reader_active, &zero, 1)) {
		_grb_env_free(r->copy);
		_grb_env_free(r);
		_grb_env_set_error("reader: stream %u already has a consuming reader", stream);
		return -EBUSY;
	}
	_grb_channel_get(ch);
	if (flags & GRB_READER_SNAPSHOT)
		snapshot_sample(r);
	*out = r;
	return 0;
}

struct grb_reader *grb_reader_create(struct grb_channel *ch, uint32_t stream, uint32_t flags)
{
	struct grb_reader *r = NULL;
	int ret = _grb_reader_open(ch, stream, flags, &r);

	return _grb_env_return_ptr(ret, r);
}

int grb_reader_destroy(struct grb_reader *r)
{
	struct grb_packet pkt;

	if (!r)
		return -EINVAL;
	if (r->held) {
		pkt.pos = r->held_pos;
		pkt.stream_index = r->s->index;
		grb_reader_put(r, &pkt);
	}
	if (!(r->flags & GRB_READER_SNAPSHOT))
		_grb_store_release(&r->s->cons->reader_active, 0); /* [R8] */
	_grb_channel_put(r->ch);
	_grb_env_free(r->copy);
	_grb_env_free(r);
	return 0;
}

uint64_t grb_reader_lost_packets(const struct grb_reader *r)
{
	return r ? r->lost_packets : 0;
}

uint64_t grb_reader_corrupt_packets(const struct grb_reader *r)
{
	return r ? r->corrupt_packets : 0;
}

int grb_reader_snapshot_restart(struct grb_reader *r)
{
	if (!r || !(r->flags & GRB_READER_SNAPSHOT))
		return -EINVAL;
	if (r->held)
		return -EBUSY;
	snapshot_sample(r);
	return 0;
}

/* Reads and checks what the slot says of the packet at pos.  A failure
 * says the packet's contents are inconsistent (a client clock that went
 * back, a size or count no writer could produce): the packet is skipped,
 * never read, so nothing here puts memory at risk. */
static int packet_fill(struct grb_reader *r, const struct grb_shm_slot *x, uint64_t pos,
		       struct grb_packet_info *info)
{
	struct grb_stream *s = r->s;
	uint64_t phdr = r->cfg->packet_header_size;

	/* relaxed: ordered after [R1] (acquire of done). */
	info->seq = pos >> s->sb_order;
	info->ts_begin = _grb_load_relaxed(&x->ts_begin);
	info->ts_end = _grb_load_relaxed(&x->ts_end);
	info->content_size = _grb_load_relaxed(&x->data_end);
	info->packet_size = s->sb_size;
	info->lost = _grb_load_relaxed(&x->lost_snap);
	info->records = _grb_load_relaxed(&x->records);
	info->stream_id = s->index;
	info->cpu = s->shm->cpu;
	info->client_data = r->ch->priv->attr.client_data;
	if (info->content_size < phdr || info->content_size > s->sb_size)
		return -EPROTO;
	if (info->records > (info->content_size - phdr) / r->cfg->min_record_size)
		return -EPROTO;
	if (info->ts_end < info->ts_begin)
		return -EPROTO;
	return 0;
}

static void wake_blocked_writers(struct grb_stream *s)
{
	/* [R4] seq_cst: Dekker pair with [B2]. */
	__atomic_add_fetch(&s->cons->consumed_seq, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&s->shm->writer_waiters, __ATOMIC_SEQ_CST))
		_grb_env_futex_wake(&s->cons->consumed_seq);
}

/* Swap the reader's spare into the slot if its id still shows the
 * delivered, unreferenced lap of pos.  Return the id taken, 0 if not. */
static uint64_t swap_in_spare(struct grb_reader *r, struct grb_shm_slot *x, uint64_t pos)
{
	struct grb_stream *s = r->s;
	uint64_t tag = _grb_lap_tag(s, pos);
	/* [R2] acquire: pairs with [D2]: the packet's bytes are complete. */
	uint64_t id = _grb_load_acquire(&x->id);
	/* The spare from this process's memory, never from the consumer
	 * page, which another process may write: a wrong index would give
	 * the slot a sub-buffer another slot's writers use. */
	uint64_t *spare_p = &r->ch->priv->spare[s->index];
	uint64_t spare = *spare_p;
	uint64_t nid;

	if ((id >> GRB_ID_TAG_SHIFT) != tag || !(id & GRB_ID_NOREF))
		return 0;
	if (spare > s->count_mask + 1u || (id & GRB_ID_INDEX_MASK) > s->count_mask + 1u) {
		/* Not a bad packet but a bad ring: the index names memory
		 * outside the stream's sub-buffers, and a swap would hand it to
		 * the writers.  Writing on could only corrupt memory: stop the
		 * stream. */
		_grb_invariant_failure(s, "sub-buffer index out of range");
		return 0;
	}
	nid = (id & ~GRB_ID_INDEX_MASK) | spare;
	/* [R2] acq_rel CAS: after it, writers of the next lap write into the
	 * spare (they clear NOREF with [W6] on this new id). */
	if (!_grb_cas_acqrel(&x->id, &id, nid))
		return 0;
	_GRB_TP(READER_SWAP);
	/* Only this reader uses the spare while it is the stream's consuming
	 * reader ([R7], [R8] hand it to the next).  relaxed: the consumer
	 * page's copy, for observers only. */
	*spare_p = id & GRB_ID_INDEX_MASK;
	_grb_store_relaxed(&s->cons->reader_spare, id & GRB_ID_INDEX_MASK);
	return id | 1ull << 63; /* never 0 */
}

/*
 * Decodes the record at off of the packet at data, avail bytes readable.  Return 0, or -EPROTO for bytes no client writes.
 */
static int decode_at(const struct grb_reader *r, const char *data, uint64_t off, uint64_t avail,
		     uint64_t prev_ts, struct grb_record *rec)
{
	const struct grb_config *cfg = r->cfg;

	if (cfg->record_decode(cfg, r->ch->priv->attr.client_data, data + off, avail, prev_ts,
			       rec) ||
	    rec->len == 0 || rec->len > avail)
		return -EPROTO;
	return 0;
}

/*
 * Moves *off and *ts past k records (discarded ones not counted) of the
 * packet at data, up to end.  Return 0, or -EPROTO when they are not there.
 */
static int skip_records(const struct grb_reader *r, const char *data, uint64_t end, uint64_t k,
			uint64_t *off, uint64_t *ts)
{
	struct grb_record rec;

	while (k) {
		if (*off >= end || decode_at(r, data, *off, end - *off, *ts, &rec))
			return -EPROTO;
		*off += rec.len;
		*ts = rec.ts;
		if (!rec.discarded)
			k--;
	}
	return 0;
}

/* Where the records of the packet at pos not yet returned start, when k
 * of them were returned before its delivery. */
static void packet_start_after(struct grb_reader *r, struct grb_packet *pkt, uint64_t k)
{
	uint64_t off = pkt->header_size, ts = pkt->info.ts_begin;

	pkt->start_off = off;
	pkt->start_ts = ts;
	if (!k)
		return;
	if (r->ip_start == pkt->pos && r->ip_k == k) {
		/* This reader returned them: it knows where they end. */
		pkt->start_off = r->ip_off - pkt->pos;
		pkt->start_ts = r->ip_ts;
		return;
	}
	/* Another reader did (it detached): walk past them. */
	if (skip_records(r, pkt->data, pkt->info.content_size, k, &off, &ts))
		off = pkt->info.content_size;
	pkt->start_off = off;
	pkt->start_ts = ts;
}

/* Consuming: where the reading of the head packet at start is: after the
 * records returned in place, or at its first record. */
static uint64_t read_from(const struct grb_reader *r, uint64_t start)
{
	return r->ip_start == start ? r->ip_off : start + r->cfg->packet_header_size;
}

/*
 * The bytes the slot of the packet at p counts committed for p's lap:
 * every lap of a slot adds exactly the sub-buffer size, so the slot's byte
 * field is lap * size + the lap's bytes (modulo 2^40).  Return them, or
 * more than the sub-buffer size when the count is not of this lap (a lie,
 * or a lap delivered since).
 */
static uint64_t lap_committed(const struct grb_stream *s, uint64_t p)
{
	const struct grb_shm_slot *x = &s->slots[_grb_slot_of(s, p)];
	/* relaxed: read only once the writing process is gone (the reader's
	 * orphaned state): nothing in the mapping moves any more. */
	uint64_t cc = _grb_load_relaxed(&x->cc) + _grb_load_relaxed(&x->cc_remote);
	uint64_t base = (p >> (s->sb_order + s->count_order)) << s->sb_order;

	return (cc - base) & GRB_CC_BYTES_MASK;
}

/*
 * The writing process is gone and the head packet at start was closed
 * (the offset reached its end) with every byte of its lap committed, yet
 * no delivery marks it: the writer died delivering it, between the add
 * that completed the lap and [D3].  Its content size was stored before
 * the closing add (set_packet_end(), close_with_padding()), so every
 * record below start + content size is committed and whole: return that
 * position, else 0.  Any sync: the count is the sum of every writer's.
 */
static uint64_t dead_complete(const struct grb_reader *r, uint64_t start)
{
	const struct grb_stream *s = r->s;
	/* relaxed: as in lap_committed(). */
	uint64_t o = _grb_load_relaxed(&s->shm->offset);
	uint64_t de = _grb_load_relaxed(&s->slots[_grb_slot_of(s, start)].data_end);

	if (!_grb_load_relaxed(&r->ch->priv->orphaned) || pos_after(start + s->sb_size, o) ||
	    lap_committed(s, start) != s->sb_size || de < r->cfg->packet_header_size ||
	    de > s->sb_size)
		return 0;
	return start + de;
}

/*
 * The log of nested writes, read by a consumer once the writing process of
 * a single-writer stream is gone (doc/design.md, "A writer that exits or
 * dies"; the spin model tests/model/recover.pml, NLOG).  A write: an entry
 * of the log, or the gap, the thread's own write in flight (at depth 1,
 * not logged).  Its parts, in the order the writer commits them: the
 * padding to its packet's end when it closes one, the header of the packet
 * it opens, its record [rs, e).
 */
struct nwrite {
	uint64_t s, e; /* [start, end): the offset before and after its CAS */
	uint64_t pad; /* padding bytes from s, 0 for none */
	uint64_t hdr; /* the packet header it writes, GRB_NO_POS for none */
	uint64_t rs; /* its record's start, GRB_NO_POS for none (a flush) */
	uint8_t np; /* its parts */
	uint8_t choice; /* the parts committed, as the search tries them */
	uint8_t flush, done, discard, gap;
};

/* The verdicts of log_tail(). */
enum { DEAD_NONE, DEAD_RESOLVED, DEAD_DECLINED };

/* Writes whose committed parts the counts decide: the gap and the entries
 * not done (one per nesting depth); more, and the rule declines. */
#define DEAD_UNKNOWN_MAX 4

/* The parts of w; -1 for a write no writer makes. */
static int nwrite_parts(const struct grb_reader *r, struct nwrite *w)
{
	const struct grb_stream *s = r->s;
	uint64_t in = w->s & s->sb_mask, next = (w->s & ~s->sb_mask) + s->sb_size;

	w->pad = 0;
	w->hdr = w->rs = GRB_NO_POS;
	if (!pos_after(w->e, w->s))
		return -1;
	if (in && (w->flush || pos_after(w->e, next)))
		w->pad = next - w->s;
	if (w->flush) {
		if (!in || w->e != next)
			return -1;
	} else {
		if (!in)
			w->hdr = w->s;
		else if (pos_after(w->e, next))
			w->hdr = next;
		w->rs = w->hdr != GRB_NO_POS ? w->hdr + r->cfg->packet_header_size : w->s;
		/* A record, whole in one packet. */
		if (!pos_after(w->e, w->rs) || pos_after(w->e, (w->rs & ~s->sb_mask) + s->sb_size))
			return -1;
	}
	w->np = (w->pad != 0) + (w->hdr != GRB_NO_POS) + (w->rs != GRB_NO_POS);
	return 0;
}

/* Adds b bytes and n records at position p to the counts of the tail's
 * packets (from start: 0 and 1); 0, or -1 outside them. */
static int tail_add(const struct grb_stream *s, uint64_t start, uint64_t *qb, uint64_t *qr,
		    uint64_t p, uint64_t b, uint64_t n)
{
	uint64_t i = (p - start) >> s->sb_order;

	if (pos_after(start, p) || i > 1)
		return -1;
	qb[i] += b;
	qr[i] += n;
	return 0;
}

/* Adds the first w->choice parts of w to the counts; padding in a packet
 * before the tail's was read with it.  0, or -1. */
static int nwrite_count(const struct grb_reader *r, const struct nwrite *w, uint64_t start,
			uint64_t *qb, uint64_t *qr)
{
	const struct grb_stream *s = r->s;
	uint32_t i = 0;

	if (w->pad && i++ < w->choice && !pos_after(start, w->s) &&
	    tail_add(s, start, qb, qr, w->s, w->pad, 0))
		return -1;
	if (w->hdr != GRB_NO_POS && i++ < w->choice &&
	    tail_add(s, start, qb, qr, w->hdr, r->cfg->packet_header_size, 0))
		return -1;
	if (w->rs != GRB_NO_POS && i++ < w->choice &&
	    tail_add(s, start, qb, qr, w->rs, w->e - w->rs, !w->discard))
		return -1;
	return 0;
}

/* The records the slot of p counts for p's lap (its delivery's last_cc:
 * the count at the previous lap's end). */
static uint64_t lap_records(const struct grb_stream *s, uint64_t p)
{
	const struct grb_shm_slot *x = &s->slots[_grb_slot_of(s, p)];
	/* relaxed: as in lap_committed(). */
	uint64_t cc = _grb_load_relaxed(&x->cc) + _grb_load_relaxed(&x->cc_remote);

	return (cc - _grb_load_relaxed(&x->last_cc)) >> 40;
}

/* Whether the packet at p counts the bytes qb and, unless every byte of its
 * lap is committed (a delivery that died may have stored last_cc already),
 * the records qr. */
static int tail_counts(const struct grb_stream *s, uint64_t p, uint64_t qb, uint64_t qr)
{
	uint64_t b = lap_committed(s, p);

	return qb == b && (b == s->sb_size || qr == lap_records(s, p));
}

/*
 * The log rule (doc/design.md, "A writer that exits or dies"): the tail of
 * the dead single writer's stream from the committed position t (every
 * record below it read, k of them in the packet at start), with its nested
 * writes.  The log's entries in the tail and at most one gap, the thread's
 * write in flight, must tile it to the offset.  A done entry is committed
 * whole; the gap's record never (a nested write publishes first what is
 * committed); of the gap and of each entry not done every prefix of the
 * parts is tried against the packets' byte and record counts, and the
 * answers that agree must say the same of each entry's record.  Then the
 * plan holds the committed records, and *died the records left open (the
 * gap's, and each entry's whose add was not made).  Return DEAD_NONE (no
 * nested write in the tail: dead_tail()'s single-record rule applies),
 * DEAD_RESOLVED, or DEAD_DECLINED (the log is full there, or the counts
 * do not tell).  Every word read is checked: a lie declines, it never
 * makes a record decoded elsewhere than at an entry's record.
 */
static int log_tail(struct grb_reader *r, uint64_t start, uint64_t t, uint64_t k,
		    struct dead_plan *pl, uint64_t *died)
{
	struct grb_stream *s = r->s;
	struct grb_shm_stream *shm = s->shm;
	const uint64_t phdr = r->cfg->packet_header_size, next = start + s->sb_size;
	/* [N3] relaxed: read only once the writing process is gone, as in
	 * lap_committed(): nothing in the mapping moves any more. */
	uint64_t o = _grb_load_relaxed(&shm->offset), w = _grb_load_relaxed(&shm->nlog_count);
	uint64_t rt = t == start + phdr ? start : t, rp, gs = 0, ge = 0, qb[2], qr[2];
	/* The writes of the tail in order: the entries, and the gap. */
	struct nwrite wr[GRB_NLOG_MAX + 1], *unk[DEAD_UNKNOWN_MAX];
	uint32_t n = (uint32_t)(w & GRB_NLOG_COUNT), m = 0, nu = 0, i, j, first = 0;
	uint32_t gap = GRB_NLOG_MAX + 1, matches = 0, agree = 0;

	/* A full log misses writes: in the tail, nothing is known. */
	if (n > GRB_NLOG_MAX ||
	    ((w & GRB_NLOG_FULL) && pos_after(_grb_load_relaxed(&shm->nlog_full_end), rt)))
		return DEAD_DECLINED;
	for (i = 0; i < n; i++) {
		/* [N3] relaxed, as above. */
		uint64_t st = _grb_load_relaxed(&shm->nlog[i].start);
		uint64_t info = _grb_load_relaxed(&shm->nlog[i].info);

		if (info & GRB_NLOG_VOID)
			continue;
		_grb_memset(&wr[m], 0, sizeof(wr[m]));
		wr[m].s = st;
		wr[m].e = st + (info & GRB_NLOG_LEN);
		wr[m].flush = !!(info & GRB_NLOG_FLUSH);
		wr[m].done = !!(info & GRB_NLOG_DONE);
		wr[m].discard = !!(info & GRB_NLOG_DISCARD);
		m++;
	}
	/* An entry not done followed by one of the same start never made its
	 * CAS: the later one was appended while the offset was still there
	 * (its writer interrupted ours, whose CAS then fails).  So did the
	 * last ones if they start at the offset. */
	for (i = 0, j = 0; i < m; i++) {
		uint32_t l, later = 0;

		for (l = i + 1; l < m && !wr[i].done; l++)
			later |= wr[l].s == wr[i].s;
		if (!later)
			wr[j++] = wr[i];
	}
	m = j;
	while (m && wr[m - 1].s == o) {
		if (wr[m - 1].done)
			return DEAD_DECLINED;
		m--;
	}
	while (first < m && !pos_after(wr[first].e, rt))
		first++;
	if (first == m)
		return DEAD_NONE;
	/* The entries and at most one gap tile [rt, o); only the first may
	 * have begun in a packet read already (its padding there), when
	 * the tail begins at that packet's start. */
	rp = rt;
	for (i = first; i < m; i++) {
		if (pos_after(rp, wr[i].s)) {
			if (i != first || !pos_after(start, wr[i].s) || rt != start)
				return DEAD_DECLINED;
		} else if (pos_after(wr[i].s, rp)) {
			if (gap <= GRB_NLOG_MAX)
				return DEAD_DECLINED;
			gap = i;
			gs = rp;
			ge = wr[i].s;
		}
		if (nwrite_parts(r, &wr[i]))
			return DEAD_DECLINED;
		rp = wr[i].e;
	}
	if (pos_after(rp, o))
		return DEAD_DECLINED;
	if (pos_after(o, rp)) {
		if (gap <= GRB_NLOG_MAX)
			return DEAD_DECLINED;
		gap = m;
		gs = rp;
		ge = o;
	}
	if (gap <= GRB_NLOG_MAX) {
		struct nwrite *g = &wr[gap];
		/* relaxed, as above. */
		uint64_t fp = _grb_load_relaxed(&shm->flush_pos);

		for (i = m; i > gap; i--)
			wr[i] = wr[i - 1];
		m++;
		_grb_memset(g, 0, sizeof(*g));
		g->s = gs;
		g->e = ge;
		g->gap = 1;
		/* The thread's flush: from flush_pos to the packet's end. */
		g->flush = fp == gs && (gs & s->sb_mask) && ge == (gs & ~s->sb_mask) + s->sb_size;
		if (nwrite_parts(r, g))
			return DEAD_DECLINED;
	}
	/* The writes whose committed parts the counts decide. */
	for (i = first; i < m; i++) {
		wr[i].choice = wr[i].np;
		if (wr[i].gap || !wr[i].done) {
			if (nu == DEAD_UNKNOWN_MAX)
				return DEAD_DECLINED;
			wr[i].choice = 0;
			unk[nu++] = &wr[i];
		}
	}
	/* Every prefix of each (the gap's record never), in turn. */
	for (;;) {
		uint32_t added = 0, ok = 1;

		qb[0] = rt - start;
		qr[0] = k;
		qb[1] = qr[1] = 0;
		for (i = first; i < m && ok; i++)
			ok = !nwrite_count(r, &wr[i], start, qb, qr);
		if (ok && tail_counts(s, start, qb[0], qr[0]) &&
		    (!pos_after(o, next) || tail_counts(s, next, qb[1], qr[1]))) {
			for (i = 0; i < nu; i++)
				if (unk[i]->rs != GRB_NO_POS && unk[i]->choice == unk[i]->np)
					added |= 1u << i;
			if (matches++ && added != agree)
				return DEAD_DECLINED; /* two answers */
			agree = added;
		}
		for (i = 0; i < nu; i++) {
			struct nwrite *u = unk[i];
			uint32_t top = u->gap && u->rs != GRB_NO_POS ? u->np - 1u : u->np;

			if (u->choice < top) {
				u->choice++;
				break;
			}
			u->choice = 0;
		}
		if (i == nu)
			break;
	}
	if (!matches)
		return DEAD_DECLINED;
	/* The committed records, where their writes put them, and those
	 * left open. */
	*died = 0;
	pl->n = 0;
	for (i = first, j = 0; i < m; i++) {
		struct nwrite *x = &wr[i];
		int added = 1;

		if (x->gap || !x->done) {
			added = x->rs != GRB_NO_POS && !x->gap && (agree >> j & 1);
			j++;
		}
		if (x->rs == GRB_NO_POS || x->discard)
			continue; /* a flush; a record discarded, or being */
		if (!added) {
			(*died)++;
		} else {
			pl->pos[pl->n] = x->rs;
			pl->len[pl->n++] = x->e - x->rs;
		}
	}
	return DEAD_RESOLVED;
}

/* The first record of the plan pl in the packet at start from position
 * from on, or -1. */
static int plan_next(const struct dead_plan *pl, uint64_t start, uint64_t from, uint64_t sb)
{
	uint32_t i;

	for (i = 0; i < pl->n; i++)
		if (!pos_after(from, pl->pos[i]) && pl->pos[i] - start < sb)
			return (int)i;
	return -1;
}

/* Counts n records lost because the writer died with them reserved, once
 * for the offset o of its tail. */
static void count_died(struct grb_stream *s, uint64_t o, uint64_t n)
{
	/* relaxed: the consumer page's counter and its guard; one consuming
	 * reader at a time ([R7]), read by the statistics only. */
	uint64_t at = _grb_load_relaxed(&s->cons->died_at);

	if (at != o && __atomic_compare_exchange_n(&s->cons->died_at, &at, o, 0, __ATOMIC_RELAXED,
						   __ATOMIC_RELAXED))
		_grb_add_relaxed(&s->cons->died_records, n);
}

/*
 * The verdict of the log on the dead writer's tail from the committed
 * position t in the packet at start (k records of it below t): computed
 * once for the tail (the mapping no longer moves), the records it proves
 * committed then returned in place one by one (next_in_place()), and the
 * packet claimed when the tail goes on in the next (dead_tail()).  Counts
 * the records died when it resolves.  DEAD_NONE, DEAD_RESOLVED (r->dp
 * holds the plan) or DEAD_DECLINED.
 */
static int dead_plan(struct grb_reader *r, uint64_t start, uint64_t t, uint64_t k)
{
	struct grb_stream *s = r->s;
	/* relaxed: as in lap_committed(). */
	uint64_t o = _grb_load_relaxed(&s->shm->offset), died = 0;
	int v;

	if (r->dp.o == o && (start == r->dp.s0 || start == r->dp.s0 + s->sb_size))
		return r->dp.verdict;
	v = log_tail(r, start, t, k, &r->dp, &died);
	if (v == DEAD_NONE)
		return v;
	r->dp.o = o;
	r->dp.s0 = start;
	r->dp.verdict = v;
	if (v == DEAD_RESOLVED)
		count_died(s, o, died);
	return v;
}

/* The plan of the dead writer's tail that covers the packet at start, if
 * this reader resolved one (dead_plan()). */
static const struct dead_plan *plan_of(const struct grb_reader *r, uint64_t start)
{
	const struct grb_stream *s = r->s;

	/* relaxed: as in lap_committed(); orphaned: this process's flag. */
	if (!_grb_load_relaxed(&r->ch->priv->orphaned) || r->dp.o == GRB_NO_POS ||
	    r->dp.verdict != DEAD_RESOLVED || r->dp.o != _grb_load_relaxed(&s->shm->offset) ||
	    (start != r->dp.s0 && start != r->dp.s0 + s->sb_size))
		return NULL;
	return &r->dp;
}

/* dead_tail() without a nested write in the tail [t, o) of the packet at
 * start: the single-record rule (below).  Return -ENODATA. */
static int dead_single(struct grb_reader *r, uint64_t start, uint64_t t, uint64_t o)
{
	struct grb_stream *s = r->s;
	const uint64_t phdr = r->cfg->packet_header_size, next = start + s->sb_size;
	/* relaxed: as in lap_committed(). */
	uint64_t flush = _grb_load_relaxed(&s->shm->flush_pos), b, died;

	/* relaxed: as in count_died(). */
	if (_grb_load_relaxed(&s->cons->died_at) == o)
		return -ENODATA; /* counted already */
	/* What the counts say is committed of the tail: nothing, or the
	 * packet header at t when the dead reservation opened the packet. */
	b = lap_committed(s, start);
	if (pos_after(o, next)) {
		/* The reservation closed this packet and opened the next:
		 * this packet's padding from t (its content size, stored
		 * before the padding's commit) and the next packet's header
		 * may be committed, no record.  With the padding committed
		 * the lap is complete, its delivery died on the way. */
		uint64_t bn = lap_committed(s, next);

		if (b != t - start &&
		    (b != s->sb_size ||
		     _grb_load_relaxed(&s->slots[_grb_slot_of(s, start)].data_end) != t - start))
			return -ENODATA;
		if (bn != 0 && bn != phdr)
			return -ENODATA;
		died = 1;
	} else if (b != t - start && !(t == start + phdr && b == 0)) {
		return -ENODATA;
	} else if (o == next && flush == t) {
		died = 0; /* a flush's padding, not committed */
	} else {
		if (o - t < r->cfg->min_record_size)
			return -ENODATA;
		died = 1;
	}
	count_died(s, o, died);
	return -ENODATA;
}

/*
 * The writing process of a single-writer stream is gone, every record of
 * the head packet (consumed c) below the committed position is read, and
 * the offset o is past it: the dead writer's tail (doc/design.md, "A
 * writer that exits or dies").  With nested writes in it, the log decides
 * (dead_plan()): the records it proves committed are returned in place,
 * this packet is claimed once they are when the tail goes on in the next
 * ([R13]: as a delivered one), and the reservations it left open are
 * counted lost (GRB_LOST_DIED).  Without any, the tail holds no committed
 * record and at most one reserved record, the one being written at the
 * death: it is that record (with the padding and the packet header of the
 * switch it made), or only the padding of a flush (flush_pos is t and o
 * the packet's end).  The commit counts must say that nothing of the tail
 * is committed but that padding and header; otherwise nothing is trusted
 * and the tail stays uncounted.  The died records are counted once for
 * the stream.  Nothing of the tail is decoded but the plan's records.
 * Return -EAGAIN (records of the plan to read here), 1 (look again: this
 * packet claimed) or -ENODATA.
 */
static int dead_tail(struct grb_reader *r, uint64_t c)
{
	struct grb_stream *s = r->s;
	uint64_t start = c & ~s->sb_mask, t = read_from(r, start), next = start + s->sb_size;
	/* relaxed: as in lap_committed(). */
	uint64_t o = _grb_load_relaxed(&s->shm->offset);

	if (r->cfg->sync != GRB_SYNC_SINGLE_WRITER)
		return -ENODATA;
	/* Unless resolved earlier (the plan then goes on from t, which may
	 * be the packet's end once the plan's records there are read). */
	if (!plan_of(r, start)) {
		if (!pos_after(o, t) || pos_after(start, t) || !pos_after(next, t) ||
		    pos_after(o, next + s->sb_size))
			return -ENODATA;
		switch (dead_plan(r, start, t, c & s->sb_mask)) {
		case DEAD_NONE:
			return dead_single(r, start, t, o);
		case DEAD_DECLINED:
			return -ENODATA;
		default:
			break;
		}
	}
	if (plan_next(&r->dp, start, t, s->sb_size) >= 0)
		return -EAGAIN; /* next_in_place() returns them */
	/* All of them read here, and the tail goes on in the next packet:
	 * [R13] acq_rel CAS, as for a delivered packet. */
	if (start == r->dp.s0 && pos_after(o, next)) {
		if (_grb_cas_acqrel(&s->cons->consumed, &c, next)) {
			_GRB_TP(CONSUMED);
			r->ip_start = GRB_NO_POS;
		}
		return 1;
	}
	return -ENODATA;
}

/*
 * A consuming reader of another process's streams: nothing at the head is
 * delivered.  Return -ENODATA when the stream will give no more (its
 * writers finalized it at start, or its writing process is gone and every
 * record committed is read, the record it died writing counted), else
 * -EAGAIN.
 */
static int nothing_delivered(struct grb_reader *r, uint64_t c)
{
	struct grb_stream *s = r->s;
	uint64_t start = c & ~s->sb_mask, cp, end;

	if (_grb_load_acquire(&s->shm->finalized) && _grb_load_acquire(&s->shm->offset) == start)
		return -ENODATA;
	/* relaxed: set by this process (grb_channel_owner_alive). */
	if (_grb_load_relaxed(&r->ch->priv->orphaned)) {
		cp = committed_pos(r, start, read_from(r, start));
		if (pos_after(cp, read_from(r, start)))
			return -EAGAIN;
		/* A packet whose delivery died: its records in place up to
		 * its content size (committed_pos() says so), then claimed
		 * as a delivered one would be taken ([R13]: one claimer). */
		end = dead_complete(r, start);
		if (end) {
			if (!pos_after(end, read_from(r, start)) &&
			    _grb_cas_acqrel(&s->cons->consumed, &c, start + s->sb_size)) {
				_GRB_TP(CONSUMED);
				r->ip_start = GRB_NO_POS;
			}
			return 1;
		}
		return dead_tail(r, c);
	}
	return -EAGAIN;
}

/*
 * Moves consumed from c to a position past what shared memory lied about
 * (the writer cannot have left c, or the head packet can never come):
 * the skipped part counts as one corrupt packet.  Return -EPROTO, or 1
 * when consumed moved meanwhile (look again).
 */
static int consumed_move(struct grb_reader *r, uint64_t c, uint64_t to)
{
	struct grb_stream *s = r->s;

	/* [R14] acq_rel CAS: moves consumed only from the value checked;
	 * exactly one of it, the claims and the pushers' [P3] moves it
	 * from c. */
	if (!_grb_cas_acqrel(&s->cons->consumed, &c, to))
		return 1;
	/* relaxed: counters, as the loss counters. */
	_grb_add_relaxed(&s->cons->corrupt_packets, 1);
	r->corrupt_packets++;
	r->ip_start = GRB_NO_POS;
	return -EPROTO;
}

/* Whether the stream's writing process is gone: nothing in the mapping
 * moves any more, so what would be transient while it runs is final. */
static int writer_gone(const struct grb_reader *r)
{
	/* relaxed: set by this process (grb_channel_owner_alive). */
	return _grb_load_relaxed(&r->ch->priv->orphaned) != 0;
}

/*
 * Overwrite mode, the writing process gone, consumed c over a ring behind
 * the offset o: an opener moved the offset into the next lap of the packet
 * at c and died before its push ([P3]) moved consumed past it and counted
 * its records overwritten.  The packet was delivered (an opener pushes
 * only a delivered one), yet its memory may hold the next lap's first
 * bytes: it is not read.  The push is finished here, its records (but the
 * k returned in place) counted on the consumer page; anything else is a
 * lie of shared memory (consumed_move() to the oldest packet of the ring),
 * and so is consumed more than a ring behind that packet (each opener that
 * died before its push leaves one packet behind).  Return 1 (look again)
 * or as consumed_move().
 */
static int dead_push(struct grb_reader *r, uint64_t c, uint64_t o)
{
	struct grb_stream *s = r->s;
	uint64_t start = c & ~s->sb_mask, k = c & s->sb_mask;
	uint64_t oldest = ((o + s->sb_mask) & ~s->sb_mask) - _grb_buf_size(s);
	const struct grb_shm_slot *x = &s->slots[_grb_slot_of(s, start)];
	/* relaxed: the writer is gone, nothing of its part moves any more
	 * (its last stores were made before this process saw it gone). */
	uint64_t done = _grb_load_relaxed(&x->done), records = _grb_load_relaxed(&x->records);

	if (r->cfg->mode != GRB_MODE_OVERWRITE || done != start + s->sb_size || k > records ||
	    oldest - start > _grb_buf_size(s))
		return consumed_move(r, c, oldest);
	/* [R14] acq_rel CAS, as consumed_move(): one of it, the claims and
	 * other readers' pushes moves consumed from c. */
	if (_grb_cas_acqrel(&s->cons->consumed, &c, start + s->sb_size)) {
		_GRB_TP(CONSUMED);
		/* relaxed: a counter, as the loss counters. */
		_grb_add_relaxed(&s->cons->overwritten_dead, records - k);
		r->ip_start = GRB_NO_POS;
	}
	return 1;
}

/*
 * Checks the consumed position c a consuming reader loaded ([R0]): the
 * consumer page is writable by every process that maps the stream, so c
 * may be a value no writer or reader leaves.  It must name a packet not
 * after the write position's, with fewer records returned in place (k)
 * than a packet holds; and once the writer is gone, a packet of the ring
 * the write position ends (while writers run, an overwrite opener moves
 * the offset into a lap before it pushes consumed past it, so a lag of
 * over a ring may be transient).  Return 0 when c passes, with *op the
 * offset it was checked against, else as consumed_move() to the nearest
 * position that passes.
 */
static int consumed_check(struct grb_reader *r, uint64_t c, uint64_t *op)
{
	struct grb_stream *s = r->s;
	const struct grb_config *cfg = r->cfg;
	/* [R14] acquire load of the offset after [R0]: at least the offset
	 * when c was current, so a packet after it is a lie. */
	uint64_t o = _grb_load_acquire(&s->shm->offset);
	uint64_t open = o & ~s->sb_mask, start = c & ~s->sb_mask;
	/* The oldest packet of the ring that ends with the one o is in. */
	uint64_t oldest = ((o + s->sb_mask) & ~s->sb_mask) - _grb_buf_size(s);
	uint64_t kmax = (s->sb_size - cfg->packet_header_size) / cfg->min_record_size;

	*op = o;
	if (pos_after(start, open))
		return consumed_move(r, c, open);
	if (pos_after(oldest, start) && writer_gone(r))
		return dead_push(r, c, o);
	if ((c & s->sb_mask) > kmax)
		return consumed_move(r, c, start);
	return 0;
}

/*
 * Whether the packet at start is delivered, for a done loaded after the
 * offset o of consumed_check(): a delivery is of a packet the write
 * position passed, else done lies (the claim would move consumed past
 * the offset).
 */
static int delivered(const struct grb_stream *s, uint64_t start, uint64_t done, uint64_t o)
{
	return done == start + s->sb_size && !pos_after(start + s->sb_size, o);
}

/*
 * After the claim of the head packet at start (consumed moved from c past
 * it): wake the blocked writers, and either count a packet that failed
 * validation (bad) and return -EPROTO, or hold it (its memory at index idx)
 * with *k the records of it already returned in place.
 */
static int took_packet(struct grb_reader *r, struct grb_packet *pkt, uint64_t c, uint64_t start,
		       uint64_t idx, int bad, uint64_t *k)
{
	struct grb_stream *s = r->s;

	if (r->cfg->mode == GRB_MODE_BLOCKING)
		wake_blocked_writers(s);
	if (bad) {
		/* Consumed and never returned: its records join the
		 * accounting here (written = delivered + lost +
		 * corrupt_records), but those returned in place.  The
		 * writers go on.  relaxed: counters, as the loss counters. */
		uint64_t k_bad = c & s->sb_mask;

		_grb_add_relaxed(&s->cons->corrupt_packets, 1);
		_grb_add_relaxed(&s->cons->corrupt_records,
				 pkt->info.records > k_bad ? pkt->info.records - k_bad : 0);
		r->corrupt_packets++;
		r->ip_start = GRB_NO_POS;
		return -EPROTO;
	}
	r->held = 1;
	r->held_pos = start;
	r->held_idx = idx;
	pkt->pos = start;
	*k = c & s->sb_mask;
	return 0;
}

/*
 * The head packet of a consuming read: consumed, checked, and the delivery
 * of its slot.  Return 0 with *c (consumed) and *x (the slot of the packet
 * at it) when that packet is delivered; 1 to look again (consumed moved,
 * or was moved past what shared memory lied about); else what the read
 * returns (-EAGAIN, -ENODATA, -EPROTO).
 */
static int head_delivered(struct grb_reader *r, uint64_t *c, struct grb_shm_slot **x)
{
	struct grb_stream *s = r->s;
	uint64_t start, done, o;
	int bad;

	/* [R0] acquire: pairs with the pushers' [P3]. */
	*c = _grb_load_acquire(&s->cons->consumed);
	start = *c & ~s->sb_mask;
	*x = &s->slots[_grb_slot_of(s, start)];
	bad = consumed_check(r, *c, &o);
	if (bad)
		return bad;
	/* [R1] acquire: pairs with [D3]. */
	done = _grb_load_acquire(&(*x)->done);
	if (delivered(s, start, done, o))
		return 0;
	if (_grb_load_acquire(&s->cons->consumed) != *c)
		return 1;
	return nothing_delivered(r, *c);
}

/*
 * Consuming, for a consumer in another process, which writes nothing of
 * the writers' (doc/design.md, "Sharing streams between processes"): take
 * the delivered packet at the head by copying it, then claim it by moving
 * consumed past it ([R13]).  No spare is swapped in, so no slot id
 * changes.  In discard and blocking modes no writer reuses the sub-buffer
 * before consumed passes it; in overwrite mode the copy is checked as an
 * in-place copy is ([R12]), and a pusher that won consumed counted the
 * packet overwritten.  Return as get_consuming.
 */
static int take_by_copy(struct grb_reader *r, struct grb_packet *pkt, uint64_t *k)
{
	struct grb_stream *s = r->s;
	int attempt;

	for (attempt = 0; attempt < 64; attempt++) {
		uint64_t c, start, id, idx;
		struct grb_shm_slot *x;
		int bad = head_delivered(r, &c, &x);

		if (bad == 1)
			continue;
		if (bad)
			return bad;
		start = c & ~s->sb_mask;
		bad = packet_fill(r, x, start, &pkt->info);
		/* [R2] acquire (a load only: the id is the writers'): pairs
		 * with [D2]; the sub-buffer that holds the packet. */
		id = _grb_load_acquire(&x->id);
		if ((id >> GRB_ID_TAG_SHIFT) != _grb_lap_tag(s, start) || !(id & GRB_ID_NOREF)) {
			if (_grb_load_acquire(&s->cons->consumed) != c)
				continue; /* overwritten meanwhile */
			/* Overwrite mode: a writer of the slot's next lap entered
			 * it (the opener, or one that reserved after the opener's
			 * reservation, clears NOREF) before the opener's push
			 * moved consumed.  The push comes and counts the packet
			 * overwritten: look again.  Only a dead opener leaves
			 * it so. */
			if (r->cfg->mode == GRB_MODE_OVERWRITE && !writer_gone(r))
				continue;
			bad = -EPROTO; /* delivered, yet no longer tagged so */
		}
		idx = id & GRB_ID_INDEX_MASK;
		if (idx > s->count_mask + 1u)
			bad = -EPROTO; /* names memory outside the stream: never read it */
		if (!bad) {
			copy_racy(r->copy, s->data + (idx << s->sb_order), pkt->info.content_size);
			/* [R12] acquire fence, then a seq_cst load of the
			 * offset: the copy's loads come before it.  An offset
			 * past the slot's lap says writers of the next lap may
			 * have stored into what we copied: drop it; the pusher
			 * moves consumed and counts it. */
			_grb_copy_fence();
			if (pos_after(__atomic_load_n(&s->shm->offset, __ATOMIC_SEQ_CST),
				      start + _grb_buf_size(s)))
				continue;
		}
		/* [R13] acq_rel CAS: claims the packet.  release: the copy's
		 * loads come before it, so a pusher's [P3] that follows it,
		 * and the next lap's stores after that, cannot have changed the
		 * copy; our reads of the slot precede a writer's reuse of it
		 * ([W3], [P1]).  One of us and the pushers wins. */
		if (!_grb_cas_acqrel(&s->cons->consumed, &c, start + s->sb_size))
			continue; /* overwritten: counted by the pusher */
		_GRB_TP(CONSUMED);
		pkt->data = r->copy;
		return took_packet(r, pkt, c, start, idx, bad, k);
	}
	return -EAGAIN;
}

static int get_consuming(struct grb_reader *r, struct grb_packet *pkt, uint64_t *k)
{
	struct grb_stream *s = r->s;
	int attempt;

	for (attempt = 0; attempt < 64; attempt++) {
		uint64_t c, start, id;
		struct grb_shm_slot *x;
		int bad = head_delivered(r, &c, &x);

		if (bad == 1)
			continue;
		if (bad)
			return bad;
		start = c & ~s->sb_mask;
		bad = packet_fill(r, x, start, &pkt->info);
		/* [R10] seq_cst: snapshot readers that copied this packet
		 * meanwhile see it taken ([S1]) and drop the copy: the swap
		 * below gives the slot another sub-buffer. */
		__atomic_store_n(&s->cons->taking, start, __ATOMIC_SEQ_CST);
		id = swap_in_spare(r, x, start);
		if (!id) {
			__atomic_store_n(&s->cons->taking, GRB_NO_POS, __ATOMIC_SEQ_CST);
			continue; /* a writer took the slot: consumed moved */
		}
		/* [R3] acq_rel CAS: release: our reads of the slot above come
		 * before a writer reuses it ([W3], [P1]); one of us and the
		 * pushers' [P3] wins the sub-buffer. */
		if (!_grb_cas_acqrel(&s->cons->consumed, &c, start + s->sb_size)) {
			__atomic_store_n(&s->cons->taking, GRB_NO_POS, __ATOMIC_SEQ_CST);
			continue; /* overwritten while we took it: counted by the pusher */
		}
		_GRB_TP(CONSUMED);
		__atomic_store_n(&s->cons->taking, GRB_NO_POS, __ATOMIC_SEQ_CST);
		/* A bad packet's memory is our spare now. */
		return took_packet(r, pkt, c, start, id & GRB_ID_INDEX_MASK, bad, k);
	}
	return -EAGAIN;
}

/*
 * Snapshot: copies what the packet at pos holds (delivered: its content;
 * the open one: its committed records up to snap_cp) and checks that
 * nothing reused the memory meanwhile.  Return 0 with the copy in r->copy
 * and pkt->info filled, 1 to go on with the next packet, -EAGAIN to retry,
 * -EPROTO for a delivered packet that fails validation.
 */
static int snapshot_copy(struct grb_reader *r, uint64_t pos, struct grb_packet *pkt)
{
	struct grb_stream *s = r->s;
	struct grb_shm_stream *shm = s->shm;
	struct grb_shm_slot *x = &s->slots[_grb_slot_of(s, pos)];
	uint64_t done = _grb_load_acquire(&x->done); /* [R1] */
	uint64_t id0, id1, len, tk, cn, on;
	int bad = 0;

	if (done == pos + s->sb_size) {
		bad = packet_fill(r, x, pos, &pkt->info);
		len = bad ? 0 : pkt->info.content_size;
	} else if (pos_after(done, pos + s->sb_size)) {
		r->lost_packets++; /* a later lap was delivered: gone */
		return 1;
	} else if (pos_after(r->snap_cp, pos) && pos_after(pos + s->sb_size, r->snap_cp)) {
		/* The open packet: its committed records ([Q2] was in the
		 * sample). */
		len = r->snap_cp - pos;
		_grb_memset(&pkt->info, 0, sizeof(pkt->info));
		pkt->info.seq = pos >> s->sb_order;
		pkt->info.ts_begin = _grb_load_relaxed(&x->ts_begin);
		pkt->info.content_size = len;
		pkt->info.packet_size = s->sb_size;
		pkt->info.lost = _grb_lost_snapshot(s);
		pkt->info.stream_id = s->index;
		pkt->info.cpu = shm->cpu;
		pkt->info.client_data = r->ch->priv->attr.client_data;
	} else {
		return 1; /* nothing committed in it when sampled */
	}
	/* [S1] acquire: the physical sub-buffer that held the packet. */
	id0 = _grb_load_acquire(&x->id);
	if ((id0 & GRB_ID_INDEX_MASK) > s->count_mask + 1u)
		return 1; /* an index a writer checks too: never read it */
	copy_racy(r->copy, s->data + ((id0 & GRB_ID_INDEX_MASK) << s->sb_order), len);
	/* [S1] fence, then seq_cst loads: the copy's loads come before these.
	 * Writers store into that memory again only after the offset passed
	 * pos + ring size (reserving its next lap; in discard and blocking
	 * modes only after consumed passed pos); the consuming reader swaps
	 * it out only with taking set ([R10]) before and consumed past pos
	 * after.  So unchanged values prove an intact copy. */
	_grb_copy_fence();
	tk = __atomic_load_n(&s->cons->taking, __ATOMIC_SEQ_CST);
	cn = __atomic_load_n(&s->cons->consumed, __ATOMIC_SEQ_CST);
	id1 = __atomic_load_n(&x->id, __ATOMIC_SEQ_CST);
	on = __atomic_load_n(&shm->offset, __ATOMIC_SEQ_CST);
	if (pos_after(on, pos + _grb_buf_size(s))) {
		r->lost_packets++; /* overwritten while copied */
		return 1;
	}
	if (pos_after(cn & ~s->sb_mask, pos))
		return 1; /* consumed meanwhile: no longer in the ring */
	if (tk == pos || ((id1 ^ id0) & GRB_ID_INDEX_MASK))
		return -EAGAIN; /* being taken: look again */
	if (bad)
		return -EPROTO;
	pkt->data = r->copy;
	pkt->pos = pos;
	pkt->stream_index = s->index;
	pkt->header_size = r->cfg->packet_header_size;
	pkt->start_off = pkt->header_size;
	pkt->start_ts = pkt->info.ts_begin;
	/* The head packet: the records a consuming reader returned in place
	 * are consumed, not shown. */
	if ((cn & ~s->sb_mask) == pos && (cn & s->sb_mask) &&
	    skip_records(r, pkt->data, len, cn & s->sb_mask, &pkt->start_off, &pkt->start_ts)) {
		/* The open packet's copy ends at the committed position of
		 * the sample; the consuming reader may have returned records
		 * past it since.  Running out of records exactly at the end
		 * of the copy leaves nothing to show, and is no corruption. */
		if (done != pos + s->sb_size && pkt->start_off == len)
			return 1;
		return -EPROTO;
	}
	if (done != pos + s->sb_size) {
		/* Count the open packet's records and complete its header in
		 * the copy, as a delivery would. */
		uint64_t off = pkt->header_size, ts = pkt->info.ts_begin;
		struct grb_record rec;

		while (off < len && !decode_at(r, pkt->data, off, len - off, ts, &rec)) {
			off += rec.len;
			ts = rec.ts;
			pkt->info.records += !rec.discarded;
		}
		if (off != len)
			return -EPROTO;
		pkt->info.ts_end = ts;
		r->cfg->packet_end(r->cfg, r->copy, &pkt->info);
	}
	return 0;
}

/* Copies of one packet a snapshot tries while it looks taken. */
#define GRB_SNAP_TRIES 1024

static int get_snapshot(struct grb_reader *r, struct grb_packet *pkt)
{
	struct grb_stream *s = r->s;
	int attempt, again = 0, ret;

	for (attempt = 0; attempt < 4 * GRB_SNAP_TRIES; attempt++) {
		uint64_t c = r->snap_cursor;

		if (pos_after(c, r->snap_end))
			return -ENODATA;
		ret = snapshot_copy(r, c, pkt);
		/* A packet being taken is consumed once the consuming reader
		 * is done: after a while, go on as when it is.  No packet
		 * stops the snapshot, whatever shared memory says. */
		if (ret == -EAGAIN && ++again < GRB_SNAP_TRIES)
			continue;
		again = 0;
		r->snap_cursor += s->sb_size;
		if (ret == -EAGAIN)
			r->lost_packets++;
		if (ret == 1 || ret == -EAGAIN)
			continue;
		if (ret == -EPROTO) {
			/* A snapshot does not consume: the packet stays for a
			 * consuming reader, which counts it in the stream; only
			 * this reader counts it here. */
			r->corrupt_packets++;
			return -EPROTO;
		}
		r->held = 1;
		r->held_pos = c;
		return 0;
	}
	return -EAGAIN;
}

/*
 * Moves *off (relative to the packet at data) and *ts past up to n records
 * (discarded ones not counted) below end; return how many of the n are
 * left (the records ran out, or did not decode).
 */
static uint64_t skip_upto(const struct grb_reader *r, const char *data, uint64_t end, uint64_t n,
			  uint64_t *off, uint64_t *ts)
{
	struct grb_record rec;

	while (n && *off < end && !decode_at(r, data, *off, end - *off, *ts, &rec)) {
		*off += rec.len;
		*ts = rec.ts;
		if (!rec.discarded)
			n--;
	}
	return n;
}

/*
 * Consuming, nothing delivered: the next committed record of the open
 * packet at the head, returned in place and claimed by moving consumed's
 * record count ([R9]).  Once the writing process is gone, past the
 * committed position, the records the log of nested writes proves
 * committed (dead_tail()), each decoded where its write put it, never
 * what lies between.  Return 0 and *rec; -EAGAIN none now; 1 to look
 * again (the packet was delivered or overwritten meanwhile); -EPROTO a
 * corrupt record (the rest of the packet waits for its delivery).
 */
static int next_in_place(struct grb_reader *r, struct grb_record *rec)
{
	struct grb_stream *s = r->s;
	struct grb_shm_stream *shm = s->shm;
	const uint64_t phdr = r->cfg->packet_header_size;
	/* A consumer in another process copies in every mode: the bytes it
	 * decodes are then its own (doc/design.md, "Sharing streams between
	 * processes"). */
	const int copying = r->cfg->mode == GRB_MODE_OVERWRITE || r->ch->priv->attached;

	for (;;) {
		uint64_t c = _grb_load_acquire(&s->cons->consumed); /* [R0] */
		uint64_t start = c & ~s->sb_mask, k = c & s->sb_mask;
		struct grb_shm_slot *x = &s->slots[_grb_slot_of(s, start)];
		uint64_t lim, id, o, at, len, dc;
		const struct dead_plan *pl;
		const char *data, *mem;
		int ret = consumed_check(r, c, &o), i, planned;

		if (ret == 1)
			continue;
		if (ret)
			return ret;
		if (delivered(s, start, _grb_load_acquire(&x->done), o)) /* [R1] */
			return 1; /* delivered: taken whole */
		lim = committed_pos(r, start, read_from(r, start));
		/* A dead writer's tail the log resolved: its records here. */
		pl = plan_of(r, start);
		if (!pos_after(lim, start) && !pl)
			return -EAGAIN; /* nothing committed */
		/* Committed past the packet: its delivery came between our
		 * load of done and of the position (the position passes a
		 * packet only after its done): take it whole.  (0 from
		 * dead_complete() says no: a position of 0 is no exception.) */
		dc = dead_complete(r, start);
		if (!pos_after(start + s->sb_size, lim) && (!dc || lim != dc)) {
			/* A writer that is gone will deliver nothing more: the
			 * packet never comes (a position that lies), unless
			 * its delivery died (a full packet, read in place). */
			if (writer_gone(r))
				return consumed_move(r, c, start + s->sb_size);
			return 1;
		}
		/* Read in order: the committed records, from the first one
		 * (none when the committed position is before it). */
		if (pos_after(start + phdr, lim))
			lim = start + phdr;
		/* [W9]-like acquire of the id: the sub-buffer the lap writes,
		 * after the opener cleared NOREF (before [Q1] published). */
		id = _grb_load_acquire(&x->id);
		if ((id & GRB_ID_INDEX_MASK) > s->count_mask + 1u) {
			/* Memory outside the stream: read nothing of the packet
			 * in place; its delivery, if any, reports it. */
			r->ip_start = start;
			r->ip_off = start + s->sb_size;
			r->ip_k = k;
			return -EPROTO;
		}
		mem = data = s->data + ((id & GRB_ID_INDEX_MASK) << s->sb_order);
		if (r->ip_start != start) {
			r->ip_start = start;
			r->ip_off = start + phdr;
			/* relaxed: written before the header's commit, which
			 * [Q2] acquired. */
			r->ip_ts = _grb_load_relaxed(&x->ts_begin);
			r->ip_k = 0;
			r->ip_copy_end = start;
		}
		if (copying) {
			/* Overwrite: writers may reuse the memory once the slot's
			 * next lap is reserved; copy first, check, claim after
			 * ([R9]). */
			if (pos_after(lim, r->ip_copy_end)) {
				copy_racy(r->copy + (r->ip_copy_end - start),
					  data + (r->ip_copy_end - start), lim - r->ip_copy_end);
				/* [R12] acquire fence, then a seq_cst load of the
				 * offset: the copy's loads come before it.  Writers
				 * of the slot's next lap store into the sub-buffer
				 * once the offset entered that lap, and those who
				 * reserve after its opener may store before the
				 * opener's push moves consumed, so a claim alone
				 * would not see them.  An offset past the lap says
				 * the copy may hold their records: drop it, and let
				 * the pusher count the rest overwritten. */
				_grb_copy_fence();
				if (pos_after(__atomic_load_n(&shm->offset, __ATOMIC_SEQ_CST),
					      start + _grb_buf_size(s))) {
					r->ip_start = GRB_NO_POS;
					return 1;
				}
				r->ip_copy_end = lim;
			}
			data = r->copy;
			lim = r->ip_copy_end;
		}
		if (r->ip_k != k) {
			/* Records a previous reader returned: walk past them,
			 * the committed ones in order, then the plan's. */
			uint64_t off = r->ip_off - start, left = 0;

			if (r->ip_k < k) {
				left = skip_upto(r, data, lim - start, k - r->ip_k, &off,
						 &r->ip_ts);
				/* Past the committed position of a dead writer's
				 * tail: its plan, resolved from there. */
				if (left && off == lim - start && !pl && writer_gone(r) &&
				    dead_plan(r, start, lim, k - left) == DEAD_RESOLVED)
					pl = plan_of(r, start);
				while (left && pl &&
				       (i = plan_next(pl, start, start + off, s->sb_size)) >= 0) {
					off = pl->pos[i] + pl->len[i] - start;
					left--;
				}
			}
			if (r->ip_k > k || left) {
				/* Fewer records committed than consumed says were
				 * returned: the committed position may not have
				 * caught up yet, but from a writer that is gone (or
				 * a count that went back) it never will: leave the
				 * packet to its delivery, which reports it. */
				if (r->ip_k > k || writer_gone(r)) {
					r->ip_start = start;
					r->ip_off = start + s->sb_size;
					r->ip_k = k;
					return -EPROTO;
				}
				r->ip_start = GRB_NO_POS;
				return -EAGAIN;
			}
			r->ip_off = start + off;
			r->ip_k = k;
		}
		planned = 0;
		if (pos_after(lim, r->ip_off)) {
			at = r->ip_off;
			len = lim - at;
		} else if (pl && (i = plan_next(pl, start, r->ip_off, s->sb_size)) >= 0) {
			planned = 1;
			/* The plan's next record: decoded where its write put
			 * it, whole, and nothing before it. */
			at = pl->pos[i];
			len = pl->len[i];
			if (copying) {
				copy_racy(r->copy + (at - start), mem + (at - start), len);
				/* [R12] as above (the writer is gone: nothing
				 * moves any more). */
				_grb_copy_fence();
				if (pos_after(__atomic_load_n(&shm->offset, __ATOMIC_SEQ_CST),
					      start + _grb_buf_size(s))) {
					r->ip_start = GRB_NO_POS;
					return 1;
				}
			}
		} else {
			return -EAGAIN;
		}
		if (decode_at(r, data, at - start, len, r->ip_ts, rec) ||
		    (planned && rec->len != len)) {
			if (_grb_load_acquire(&s->cons->consumed) != c)
				continue; /* overwritten: the copy was stale */
			/* Committed bytes no client writes: leave the rest of
			 * the packet to its delivery, which reports it. */
			r->ip_off = start + s->sb_size;
			return -EPROTO;
		}
		r->ip_off = at;
		if (rec->discarded) {
			r->ip_off += rec->len;
			r->ip_ts = rec->ts;
			continue;
		}
		/* [R9] acq_rel CAS: claims the record.  release: in overwrite
		 * mode, the copy's loads come before it, and a pusher's [P3]
		 * that follows it comes before any store of the next lap; a
		 * success thus proves the copy intact.  Pairs with [P3]. */
		if (!_grb_cas_acqrel(&s->cons->consumed, &c, c + 1)) {
			r->ip_start = GRB_NO_POS;
			return 1; /* pushed: counted overwritten */
		}
		_GRB_TP(CONSUMED);
		r->ip_off += rec->len;
		r->ip_ts = rec->ts;
		r->ip_k++;
		rec->stream_index = s->index;
		rec->packet_seq = start >> s->sb_order;
		rec->cpu = shm->cpu;
		return 0;
	}
}

/* Consuming: whether records of the packet at the head are committed and
 * not yet returned (a position past the packet means it was delivered). */
static int committed_unread(struct grb_reader *r)
{
	struct grb_stream *s = r->s;
	uint64_t c = __atomic_load_n(&s->cons->consumed, __ATOMIC_SEQ_CST);
	uint64_t start = c & ~s->sb_mask;
	uint64_t from = read_from(r, start);

	const struct dead_plan *pl;

	if (r->flags & GRB_READER_SNAPSHOT)
		return 0;
	if (pos_after(committed_pos(r, start, from), from))
		return 1;
	/* A dead writer's tail: the records the log proved committed. */
	pl = plan_of(r, start);
	return pl && plan_next(pl, start, from, s->sb_size) >= 0;
}

void _grb_reader_annotate(struct grb_reader *r, struct grb_record *rec)
{
	const struct grb_shm_stream *shm = r->s->shm;
	uint64_t lost = 0;
	int i;

	/* relaxed: counters and a hint, as in the statistics. */
	for (i = 0; i < GRB_LOST_NR; i++)
		lost += _grb_load_relaxed(&shm->lost[i]);
	rec->lost = lost - r->lost_seen;
	r->lost_seen = lost;
	rec->tid = _grb_load_relaxed(&shm->owner);
	if (rec->tid == GRB_OWNER_FLUSHING)
		rec->tid = 0;
	rec->rflags = rec->packet_seq != r->last_seq ? GRB_REC_PACKET_START : 0;
	r->last_seq = rec->packet_seq;
}

int _grb_reader_ready(struct grb_reader *r)
{
	struct grb_stream *s = r->s;
	uint64_t c, start, done;

	if (r->flags & GRB_READER_SNAPSHOT)
		return 0;
	c = __atomic_load_n(&s->cons->consumed, __ATOMIC_SEQ_CST);
	start = c & ~s->sb_mask;
	done = __atomic_load_n(&s->slots[_grb_slot_of(s, start)].done, __ATOMIC_SEQ_CST);
	/* [R14] acquire load of the offset after the done that says the
	 * packet is delivered: the write position had passed the packet
	 * before its last commit delivered it, so a delivery of a packet the
	 * offset has not passed is a lie of shared memory, and a consumer
	 * woken by it would find nothing and wait again at once. */
	if (done == start + s->sb_size &&
	    !pos_after(start + s->sb_size, _grb_load_acquire(&s->shm->offset)))
		return 1;
	if (_grb_load_acquire(&s->shm->finalized))
		return 1;
	return committed_unread(r);
}

void _grb_reader_arm(struct grb_reader *r, uint32_t on)
{
	/* [R11] seq_cst: Dekker pair with the writers' [D4]: raise the flag,
	 * then look (_grb_reader_ready()); a writer that published after the
	 * look sees the flag and signals. */
	__atomic_store_n(&r->s->cons->reader_waiting, on, __ATOMIC_SEQ_CST);
}

/*
 * Whether the stream's file shrank under this consumer's mapping, which
 * now reads zeros (_grb_env_guard_add): nothing read from it since is
 * trusted, and nothing more is read.
 */
static int memory_lost(const struct grb_reader *r)
{
	const int32_t *g = r->ch->priv->guards;

	return g && _grb_env_guard_lost(g[r->s->index]);
}

int _grb_reader_next_in_place(struct grb_reader *r, struct grb_record *rec)
{
	int ret;

	if (reader_dead(r))
		return -ESHUTDOWN;
	if (r->held || (r->flags & GRB_READER_SNAPSHOT))
		return -EAGAIN;
	if (memory_lost(r))
		return -EIO;
	ret = next_in_place(r, rec);
	/* The record was copied (an attached reader copies): from the file,
	 * unless its memory was lost meanwhile. */
	return memory_lost(r) ? -EIO : ret;
}

int grb_reader_get_next(struct grb_reader *r, struct grb_packet *pkt)
{
	uint64_t k = 0;
	int ret;

	if (!r || !pkt)
		return -EINVAL;
	if (reader_dead(r))
		return -ESHUTDOWN;
	if (r->held)
		return -EBUSY;
	if (memory_lost(r))
		return -EIO;
	if (r->flags & GRB_READER_SNAPSHOT) {
		ret = get_snapshot(r, pkt);
		return memory_lost(r) ? -EIO : ret;
	}
	if (r->ch->priv->attached) {
		ret = take_by_copy(r, pkt, &k);
		/* The copy is the file's, unless its memory was lost. */
		if (memory_lost(r))
			return -EIO;
		if (ret)
			return ret;
	} else {
		ret = get_consuming(r, pkt, &k);
		if (ret)
			return ret;
		pkt->data = r->s->data + (r->held_idx << r->s->sb_order);
	}
	pkt->stream_index = r->s->index;
	pkt->header_size = r->cfg->packet_header_size;
	packet_start_after(r, pkt, k);
	r->ip_start = GRB_NO_POS;
	return 0;
}

int grb_reader_put(struct grb_reader *r, struct grb_packet *pkt)
{
	if (!r || !pkt || !r->held || pkt->pos != r->held_pos || pkt->stream_index != r->s->index)
		return -EINVAL;
	r->held = 0;
	return 0;
}

int grb_reader_wait(struct grb_reader *r, uint64_t timeout_ns)
{
	struct grb_shm_stream *shm;
	uint64_t period;

	if (!r)
		return -EINVAL;
	if (reader_dead(r))
		return -ESHUTDOWN;
	if (!timeout_ns)
		return -ETIMEDOUT;
	if (committed_unread(r))
		return 0;
	shm = r->s->shm;
	if (r->cfg->wakeup == GRB_WAKEUP_WRITER) {
		uint32_t seq = _grb_load_acquire(&shm->deliver_seq);
		uint64_t c;
		int ret = 0;

		/* [R6] seq_cst: Dekker pair with [D4]. */
		__atomic_store_n(&r->s->cons->reader_waiting, 1, __ATOMIC_SEQ_CST);
		c = __atomic_load_n(&r->s->cons->consumed, __ATOMIC_SEQ_CST) & ~r->s->sb_mask;
		if (__atomic_load_n(&r->s->slots[_grb_slot_of(r->s, c)].done, __ATOMIC_SEQ_CST) !=
			    c + r->s->sb_size &&
		    !_grb_load_acquire(&shm->finalized))
			ret = _grb_env_futex_wait(&shm->deliver_seq, seq, timeout_ns);
		__atomic_store_n(&r->s->cons->reader_waiting, 0, __ATOMIC_SEQ_CST);
		return ret;
	}
	period = r->ch->priv->read_timer_ns;
	if (!period)
		period = 1000000;
	_grb_env_sleep_ns(period < timeout_ns ? period : timeout_ns);
	return 0;
}

int grb_channel_wait(struct grb_channel *ch, uint32_t *cancel, uint32_t cancel_val,
		     uint64_t timeout_ns)
{
	uint32_t *addrs[GRB_CHANNEL_WAIT_MAX], seqs[GRB_CHANNEL_WAIT_MAX];
	uint32_t i, n;
	int ready = 0, ret = 0;

	if (!ch || !ch->priv)
		return -EINVAL;
	if (_grb_load_acquire(&ch->priv->destroyed))
		return -ESHUTDOWN;
	n = ch->nr_streams;
	if (n > GRB_CHANNEL_WAIT_MAX)
		return -E2BIG;
	if (!timeout_ns)
		return -ETIMEDOUT;
	for (i = 0; i < n; i++) {
		struct grb_stream *s = &ch->streams[i];
		uint64_t c;

		addrs[i] = &s->shm->deliver_seq;
		/* The futex sample first, as grb_reader_wait. */
		seqs[i] = _grb_load_acquire(&s->shm->deliver_seq);
		/* [R6] seq_cst store of the flag, then seq_cst loads of
		 * consumed and the slot's done: Dekker pair with [D4]. */
		__atomic_store_n(&s->cons->reader_waiting, 1, __ATOMIC_SEQ_CST);
		c = __atomic_load_n(&s->cons->consumed, __ATOMIC_SEQ_CST) & ~s->sb_mask;
		if (__atomic_load_n(&s->slots[_grb_slot_of(s, c)].done, __ATOMIC_SEQ_CST) ==
			    c + s->sb_size ||
		    _grb_load_acquire(&s->shm->finalized))
			ready = 1;
	}
	if (!ready) /* the kernel compares *cancel with cancel_val too */
		ret = _grb_env_futex_waitv(addrs, seqs, n, cancel, cancel_val, timeout_ns);
	for (i = 0; i < n; i++)
		/* [R6] the end of the wait, as grb_reader_wait. */
		__atomic_store_n(&ch->streams[i].cons->reader_waiting, 0, __ATOMIC_SEQ_CST);
	return ret;
}

void grb_packet_cursor_init(const struct grb_packet *pkt, struct grb_packet_cursor *cur)
{
	cur->off = pkt->start_off;
	cur->prev_ts = pkt->start_ts;
}

int grb_packet_record_next(const struct grb_reader *r, const struct grb_packet *pkt,
			   struct grb_packet_cursor *cur, struct grb_record *rec)
{
	uint64_t end = pkt->info.content_size;

	if (cur->off < pkt->header_size)
		cur->off = pkt->header_size;
	while (cur->off < end) {
		uint64_t avail = end - cur->off;

		if (decode_at(r, pkt->data, cur->off, avail, cur->prev_ts, rec)) {
			cur->off = end;
			return -EPROTO;
		}
		cur->off += rec->len;
		cur->prev_ts = rec->ts;
		if (rec->discarded)
			continue;
		rec->stream_index = pkt->stream_index;
		rec->packet_seq = pkt->info.seq;
		rec->cpu = pkt->info.cpu;
		return 0;
	}
	return -ENODATA;
}
