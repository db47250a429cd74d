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

struct grb_reader {
	struct grb_channel *ch;
	struct grb_stream *s;
	const struct grb_config *cfg;
	uint32_t flags;
	uint32_t held;
	uint64_t held_pos;
	uint64_t held_idx; /* physical sub-buffer read */
	uint64_t held_swapped_id; /* snapshot: the id left in the slot */
	uint64_t snap_cursor, snap_end;
	uint64_t lost_packets;
	uint64_t corrupt_packets; /* skipped by this reader as corrupt */
};

static int reader_dead(const struct grb_reader *r)
{
	return _grb_load_acquire(&r->ch->priv->destroyed) != 0;
}

static void snapshot_sample(struct grb_reader *r)
{
	struct grb_stream *s = r->s;
	uint64_t buf = _grb_buf_size(s);
	uint64_t end = _grb_load_acquire(&s->shm->offset) & ~s->sb_mask;
	uint64_t c = _grb_load_acquire(&s->shm->consumed);

	r->snap_end = end;
	r->snap_cursor = end - c > buf ? end - buf : c;
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
	/* [R7] acq_rel CAS: one reader per stream; pairs with [R8]. */
	if (!_grb_cas_acqrel(&r->s->shm->reader_active, &zero, 1)) {
		_grb_env_free(r);
		_grb_env_set_error("reader: stream %u already has a reader", stream);
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
	_grb_store_release(&r->s->shm->reader_active, 0); /* [R8] */
	_grb_channel_put(r->ch);
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
	__atomic_add_fetch(&s->shm->consumed_seq, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&s->shm->writer_waiters, __ATOMIC_SEQ_CST))
		_grb_env_futex_wake(&s->shm->consumed_seq);
}

/* Swap the reader's spare into the slot if its id still shows the
 * delivered, unreferenced lap of pos.  Return the id taken, 0 if not. */
static uint64_t swap_in_spare(struct grb_reader *r, struct grb_shm_slot *x, uint64_t pos,
			      uint64_t *left)
{
	struct grb_stream *s = r->s;
	uint64_t tag = _grb_lap_tag(s, pos);
	/* [R2] acquire: pairs with [D2]: the packet's bytes are complete. */
	uint64_t id = _grb_load_acquire(&x->id);
	uint64_t spare = _grb_load_relaxed(&s->shm->reader_spare);
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
	/* relaxed: only this reader uses reader_spare while it is attached. */
	_grb_store_relaxed(&s->shm->reader_spare, id & GRB_ID_INDEX_MASK);
	*left = nid;
	return id | 1ull << 63; /* never 0 */
}

static int get_consuming(struct grb_reader *r, struct grb_packet *pkt)
{
	struct grb_stream *s = r->s;
	struct grb_shm_stream *shm = s->shm;
	int attempt;

	for (attempt = 0; attempt < 64; attempt++) {
		/* [R0] acquire: pairs with the pushers' [P3]. */
		uint64_t c = _grb_load_acquire(&shm->consumed);
		struct grb_shm_slot *x = &s->slots[_grb_slot_of(s, c)];
		/* [R1] acquire: pairs with [D3]. */
		uint64_t done = _grb_load_acquire(&x->done), id, left;
		int bad;

		if (done != c + s->sb_size) {
			if (_grb_load_acquire(&shm->consumed) != c)
				continue;
			if (_grb_load_acquire(&shm->finalized) &&
			    _grb_load_acquire(&shm->offset) == c)
				return -ENODATA;
			return -EAGAIN;
		}
		bad = packet_fill(r, x, c, &pkt->info);
		id = swap_in_spare(r, x, c, &left);
		if (!id)
			continue; /* a writer took the slot: consumed moved */
		/* [R3] acq_rel CAS: release: our reads of the slot above come
		 * before a writer reuses it ([W3], [P1]); one of us and the
		 * pushers' [P3] wins the sub-buffer. */
		if (!_grb_cas_acqrel(&shm->consumed, &c, c + s->sb_size))
			continue; /* overwritten while we took it: counted by the pusher */
		if (r->cfg->mode == GRB_MODE_BLOCKING)
			wake_blocked_writers(s);
		if (bad) {
			/* Consumed and never returned: its records join the
			 * accounting here (written = delivered + lost +
			 * corrupt_records).  The packet's memory is our spare
			 * now; the writers go on.  relaxed: counters, as the
			 * loss counters; no ordering. */
			_grb_add_relaxed(&shm->corrupt_packets, 1);
			_grb_add_relaxed(&shm->corrupt_records, pkt->info.records);
			r->corrupt_packets++;
			return -EPROTO;
		}
		r->held = 1;
		r->held_pos = c;
		r->held_idx = id & GRB_ID_INDEX_MASK;
		pkt->pos = c;
		return 0;
	}
	return -EAGAIN;
}

static int get_snapshot(struct grb_reader *r, struct grb_packet *pkt)
{
	struct grb_stream *s = r->s;
	int attempt;

	for (attempt = 0; attempt < 4096; attempt++) {
		uint64_t c = r->snap_cursor, done, id, left;
		int bad;
		struct grb_shm_slot *x = &s->slots[_grb_slot_of(s, c)];

		if (c == r->snap_end)
			return -ENODATA;
		done = _grb_load_acquire(&x->done); /* [R1] */
		if (done != c + s->sb_size) {
			if (done - (c + s->sb_size) < (1ull << 63)) {
				/* A later lap is delivered: this one is gone. */
				r->lost_packets++;
				r->snap_cursor += s->sb_size;
				continue;
			}
			return -EAGAIN; /* not delivered yet (a writer is slow) */
		}
		/* The fields are the packet's only if the swap below succeeds
		 * (a writer changes them only after clearing NOREF): check
		 * them after it. */
		bad = packet_fill(r, x, c, &pkt->info);
		id = swap_in_spare(r, x, c, &left);
		if (!id) {
			uint64_t now = _grb_load_acquire(&x->id);

			if ((now >> GRB_ID_TAG_SHIFT) != _grb_lap_tag(s, c) ||
			    !(now & GRB_ID_NOREF)) {
				r->lost_packets++;
				r->snap_cursor += s->sb_size;
			}
			continue;
		}
		r->snap_cursor += s->sb_size;
		r->held = 1;
		r->held_pos = c;
		r->held_idx = id & GRB_ID_INDEX_MASK;
		r->held_swapped_id = left;
		pkt->pos = c;
		pkt->stream_index = s->index;
		if (bad) {
			/* Give it back to the ring and move on.  A snapshot
			 * does not consume: the packet stays for a consuming
			 * reader, which counts it in the stream; only this
			 * reader counts it here. */
			grb_reader_put(r, pkt);
			r->corrupt_packets++;
			return -EPROTO;
		}
		return 0;
	}
	return -EAGAIN;
}

int grb_reader_get_next(struct grb_reader *r, struct grb_packet *pkt)
{
	int ret;

	if (!r || !pkt)
		return -EINVAL;
	if (reader_dead(r))
		return -ESHUTDOWN;
	if (r->held)
		return -EBUSY;
	ret = (r->flags & GRB_READER_SNAPSHOT) ? get_snapshot(r, pkt) : get_consuming(r, pkt);
	if (ret)
		return ret;
	pkt->data = r->s->data + (r->held_idx << r->s->sb_order);
	pkt->stream_index = r->s->index;
	pkt->header_size = r->cfg->packet_header_size;
	return 0;
}

int grb_reader_put(struct grb_reader *r, struct grb_packet *pkt)
{
	struct grb_stream *s;

	if (!r || !pkt || !r->held || pkt->pos != r->held_pos || pkt->stream_index != r->s->index)
		return -EINVAL;
	s = r->s;
	if (r->flags & GRB_READER_SNAPSHOT) {
		/* Give the packet back to the ring if no writer entered the
		 * slot meanwhile; otherwise it becomes our spare. */
		struct grb_shm_slot *x = &s->slots[_grb_slot_of(s, r->held_pos)];
		uint64_t exp = r->held_swapped_id;
		uint64_t back = (exp & ~GRB_ID_INDEX_MASK) | r->held_idx;

		/* [R5] acq_rel CAS: as [R2], in the other direction. */
		if (_grb_cas_acqrel(&x->id, &exp, back))
			_grb_store_relaxed(&s->shm->reader_spare,
					   r->held_swapped_id & GRB_ID_INDEX_MASK);
	}
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
	shm = r->s->shm;
	if (r->cfg->wakeup == GRB_WAKEUP_WRITER) {
		uint32_t seq = _grb_load_acquire(&shm->deliver_seq);
		uint64_t c;
		int ret = 0;

		/* [R6] seq_cst: Dekker pair with [D4]. */
		__atomic_store_n(&shm->reader_waiting, 1, __ATOMIC_SEQ_CST);
		c = __atomic_load_n(&shm->consumed, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&r->s->slots[_grb_slot_of(r->s, c)].done, __ATOMIC_SEQ_CST) !=
			    c + r->s->sb_size &&
		    !_grb_load_acquire(&shm->finalized))
			ret = _grb_env_futex_wait(&shm->deliver_seq, seq, timeout_ns);
		__atomic_store_n(&shm->reader_waiting, 0, __ATOMIC_SEQ_CST);
		return ret;
	}
	period = r->ch->priv->read_timer_ns;
	if (!period)
		period = 1000000;
	_grb_env_sleep_ns(period < timeout_ns ? period : timeout_ns);
	return 0;
}

void grb_packet_cursor_init(const struct grb_packet *pkt, struct grb_packet_cursor *cur)
{
	cur->off = pkt->header_size;
	cur->prev_ts = pkt->info.ts_begin;
}

int grb_packet_record_next(const struct grb_reader *r, const struct grb_packet *pkt,
			   struct grb_packet_cursor *cur, struct grb_record *rec)
{
	const struct grb_config *cfg = r->cfg;
	uint64_t end = pkt->info.content_size;

	if (cur->off < pkt->header_size)
		cur->off = pkt->header_size;
	while (cur->off < end) {
		uint64_t avail = end - cur->off;

		if (cfg->record_decode(cfg, pkt->info.client_data, pkt->data + cur->off, avail,
				       cur->prev_ts, rec) ||
		    rec->len == 0 || rec->len > avail) {
			cur->off = end;
			return -EPROTO;
		}
		cur->off += rec->len;
		cur->prev_ts = rec->ts;
		if (rec->discarded)
			continue;
		rec->stream_index = pkt->stream_index;
		return 0;
	}
	return -ENODATA;
}
