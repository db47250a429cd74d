// SPDX-License-Identifier: MIT
/*
 * stats.c - a channel's and its streams' statistics: losses by cause,
 * positions, counters.
 */
#include "core.h"

uint32_t grb_channel_nr_streams(const struct grb_channel *ch)
{
	return ch ? ch->nr_streams : 0;
}

/*
 * Records committed on s: the delivered packets' (summed at each delivery),
 * plus, per slot, those its commit counter counted since its last delivery
 * (cc at that delivery is last_cc; the rseq sync's count is cc +
 * cc_remote).  A lap delivered between our loads may be counted twice or
 * not at all: exact only when no commit runs.
 */
static uint64_t committed_records(const struct grb_stream *s)
{
	/* relaxed: counters; no record is read through them. */
	uint64_t n = _grb_load_relaxed(&s->shm->delivered_records);
	uint32_t i;

	for (i = 0; i <= s->count_mask; i++) {
		const struct grb_shm_slot *x = &s->slots[i];
		/* relaxed: as above. */
		uint64_t cc = _grb_load_relaxed(&x->cc) + _grb_load_relaxed(&x->cc_remote);

		n += (cc - _grb_load_relaxed(&x->last_cc)) >> 40;
	}
	return n;
}

int grb_channel_read_stream_stats(const struct grb_channel *ch, uint32_t stream,
				  struct grb_stream_stats *st)
{
	const struct grb_shm_stream *shm;
	const struct grb_stream *s;
	int i;

	if (!ch || !st || stream >= ch->nr_streams)
		return -EINVAL;
	s = &ch->streams[stream];
	shm = s->shm;
	_grb_memset(st, 0, sizeof(*st));
	for (i = 0; i < GRB_LOST_NR; i++) {
		st->lost[i] = _grb_load_relaxed(&shm->lost[i]);
		/* The writers never count a death: the consumer that drained
		 * what the dead writer left counted it on its page. */
		if (i == GRB_LOST_DIED)
			st->lost[i] += _grb_load_relaxed(&s->cons->died_records);
		/* Nor finish the push of an opener that died: the consumer
		 * that did counted the records on its page. */
		if (i == GRB_LOST_OVERWRITTEN)
			st->lost[i] += _grb_load_relaxed(&s->cons->overwritten_dead);
		st->lost_total += st->lost[i];
	}
	st->write_pos = _grb_load_relaxed(&shm->offset);
	st->consumed_pos = _grb_load_relaxed(&s->cons->consumed);
	st->invariant_failures = _grb_load_relaxed(&shm->invariant_failures);
	st->remote_commits = _grb_load_relaxed(&shm->remote_commits);
	st->fenced_flushes = _grb_load_relaxed(&shm->fenced_flushes);
	st->disabled = _grb_load_relaxed(&shm->disabled);
	st->cpu = shm->cpu;
	st->owner_tid = _grb_load_relaxed(&shm->owner);
	st->corrupt_packets = _grb_load_relaxed(&s->cons->corrupt_packets);
	st->corrupt_records = _grb_load_relaxed(&s->cons->corrupt_records);
	st->committed = committed_records(s);
	return 0;
}

/*
 * One look at what consuming readers consumed of s: the consumed position
 * c (S + k), the write position o, the delivered-record count d, the
 * overwritten count ov, and sum, the records of the packets from S on
 * that are delivered (not consumed yet, or S itself, of which k were
 * returned in place).  pending: a packet from S on whose lap is wholly
 * committed but not yet marked delivered (its count may or may not be in
 * d yet), or, in overwrite mode while the writers run, a reservation
 * still open in a packet from S on (its opener may have pushed consumed
 * and not yet counted the records overwritten).  Return 0, or -EPROTO
 * when the positions are impossible.
 */
struct consumed_look {
	uint64_t c, o, d, ov, sum, tail;
	int pending;
};

static int consumed_look(const struct grb_stream *s, int gone, struct consumed_look *v)
{
	/* Overwrite mode, writers alive: an opener moves consumed past the
	 * packet it overwrites ([P3]) a moment before it counts its records
	 * overwritten, inside its reservation. */
	const int pushers = !gone && s->chan->cfg->mode == GRB_MODE_OVERWRITE;
	uint64_t start, end, p;

	/* [A1] acquire: pairs with the readers' [R3], [R13], [R9] and the
	 * pushers' [P3]: each of them loaded done ([R1], [P2]) before moving
	 * consumed past a packet, so every packet below S is delivered and its
	 * count, added before [D3], is in the d loaded below. */
	v->c = _grb_load_acquire(&s->cons->consumed);
	/* [A1] acquire, as above: the write position after c. */
	v->o = _grb_load_acquire(&s->shm->offset);
	v->sum = 0;
	v->tail = 0;
	v->pending = 0;
	start = v->c & ~s->sb_mask;
	end = (v->o + s->sb_mask) & ~s->sb_mask;
	/* A dead writer's tail that the log of nested writes resolved is
	 * read in place and its first packet claimed without a delivery
	 * (reader.c, dead_tail()): the packet before S, never delivered,
	 * its lap not complete.  Every record its count holds was returned
	 * (those the log proved committed, after those below the committed
	 * position); its reservations left open are counted died.  relaxed:
	 * the writer is gone, nothing moves any more. */
	if (gone) {
		const struct grb_shm_slot *x = &s->slots[_grb_slot_of(s, start - s->sb_size)];
		uint64_t cc = _grb_load_relaxed(&x->cc) + _grb_load_relaxed(&x->cc_remote);
		uint64_t lap = ((uint64_t)_grb_lap_tag(s, start - s->sb_size) << s->sb_order) &
			       GRB_CC_BYTES_MASK;

		if (_grb_load_relaxed(&x->done) != start &&
		    (((cc & GRB_CC_BYTES_MASK) - lap) & GRB_CC_BYTES_MASK) < s->sb_size)
			v->tail = (cc - _grb_load_relaxed(&x->last_cc)) >> 40;
	}
	/* The ring from S holds the write position: writers do not pass a
	 * packet not consumed (discard, blocking), or push consumed first
	 * (overwrite: an opener moves the offset a moment before its push,
	 * a transient while it runs).  Else the memory lies. */
	if ((int64_t)(start - v->o) > 0)
		return -EPROTO;
	if (end - start > _grb_buf_size(s)) {
		if (gone)
			return -EPROTO;
		v->pending = 1;
		return 0;
	}
	for (p = start; p != end; p += s->sb_size) {
		const struct grb_shm_slot *x = &s->slots[_grb_slot_of(s, p)];
		/* [A2] acquire: pairs with [D3]; the packet's records and its
		 * add to delivered_records come before done. */
		uint64_t done = _grb_load_acquire(&x->done);
		uint64_t cc, bytes, base, last;

		if (done == p + s->sb_size) {
			/* relaxed: published by [D3], acquired by [A2]. */
			v->sum += _grb_load_relaxed(&x->records);
			continue;
		}
		/* Not delivered: is its lap wholly committed (a delivery under
		 * way)?  [A4] acquire (seq_cst for the rseq sync's remote
		 * count, as [Q4]): pairs with the commits' [C1]/[C2]/[C4]
		 * releases: an opener's count of the records it pushed past
		 * comes before its commits. */
		cc = _grb_load_acquire(&x->cc) + __atomic_load_n(&x->cc_remote, __ATOMIC_SEQ_CST);
		bytes = cc & GRB_CC_BYTES_MASK;
		base = ((uint64_t)_grb_lap_tag(s, p) << s->sb_order) & GRB_CC_BYTES_MASK;
		if (((bytes - base) & GRB_CC_BYTES_MASK) < s->sb_size) {
			/* Open: its records are not in d.  With pushers, every
			 * byte reserved in it below o must be committed: a
			 * reservation still open may be an opener between its
			 * push and its count (the one that moved consumed to c
			 * reserved below o, [A1]). */
			if (pushers && ((bytes - base) & GRB_CC_BYTES_MASK) <
					       (v->o - p < s->sb_size ? v->o - p : s->sb_size))
				v->pending = 1;
			continue;
		}
		/* relaxed: compared with cc only.  A dead writer that had
		 * not yet stored last_cc had not added the count either. */
		last = _grb_load_relaxed(&x->last_cc);
		if (!gone || last == cc)
			v->pending = 1;
	}
	/* relaxed: counters, loaded after [A2], so d holds every delivery
	 * seen there, and after [A4], so ov holds the count of every opener
	 * whose commits it saw. */
	v->d = _grb_load_relaxed(&s->shm->delivered_records);
	v->ov = _grb_load_relaxed(&s->shm->lost[GRB_LOST_OVERWRITTEN]) +
		_grb_load_relaxed(&s->cons->overwritten_dead);
	return 0;
}

int grb_channel_consumed_records(const struct grb_channel *ch, uint32_t stream, uint64_t *n)
{
	const struct grb_stream *s;
	struct consumed_look a, b;
	uint64_t k;
	int tries, gone, ret;

	if (!ch || !n || stream >= ch->nr_streams)
		return -EINVAL;
	s = &ch->streams[stream];
	/* relaxed: a flag of this process (grb_channel_owner_alive). */
	gone = ch->priv->attached && _grb_load_relaxed(&ch->priv->orphaned);
	for (tries = 0; tries < 64; tries++) {
		ret = consumed_look(s, gone, &a);
		if (ret)
			break;
		ret = consumed_look(s, gone, &b);
		if (ret)
			break;
		if (a.pending || b.pending || a.c != b.c || a.o != b.o || a.d != b.d ||
		    a.ov != b.ov || a.sum != b.sum || a.tail != b.tail)
			continue; /* writers or readers moved: look again */
		k = a.c & s->sb_mask;
		if (k > (s->sb_size - ch->cfg->packet_header_size) / ch->cfg->min_record_size ||
		    a.sum + a.ov > a.d + k) {
			_grb_env_set_error("stream %u: %llu records delivered and %llu returned "
					   "in place, fewer than the %llu after the consumed "
					   "position and overwritten (or too many in place)",
					   stream, (unsigned long long)a.d, (unsigned long long)k,
					   (unsigned long long)(a.sum + a.ov));
			return -EPROTO;
		}
		*n = a.d + k - a.sum - a.ov + a.tail;
		return 0;
	}
	if (ret) {
		_grb_env_set_error("stream %u: consumed position 0x%llx and write position "
				   "0x%llx are not of one ring",
				   stream, (unsigned long long)a.c, (unsigned long long)a.o);
		return ret;
	}
	_grb_env_set_error("stream %u: the writers kept moving, or one died delivering a "
			   "packet: the records consumed are not known",
			   stream);
	return -EAGAIN;
}

int grb_channel_read_stats(const struct grb_channel *ch, struct grb_channel_stats *st)
{
	struct grb_stream_stats ss;
	uint32_t i;
	int c;

	if (!ch || !st)
		return -EINVAL;
	_grb_memset(st, 0, sizeof(*st));
	for (i = 0; i < ch->nr_streams; i++) {
		grb_channel_read_stream_stats(ch, i, &ss);
		for (c = 0; c < GRB_LOST_NR; c++)
			st->lost[c] += ss.lost[c];
		st->invariant_failures += ss.invariant_failures;
		st->remote_commits += ss.remote_commits;
		st->fenced_flushes += ss.fenced_flushes;
		st->corrupt_packets += ss.corrupt_packets;
		st->corrupt_records += ss.corrupt_records;
	}
	for (c = 0; c < GRB_LOST_NR; c++)
		st->lost_total += st->lost[c];
	st->filtered_cpu = _grb_load_relaxed(&ch->priv->filtered_cpu);
	st->nr_streams = ch->nr_streams;
	return 0;
}
