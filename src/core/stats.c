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
