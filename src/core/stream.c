// SPDX-License-Identifier: MIT
/*
 * stream.c - the layout of a stream's mapping (see grb/static/layout.h).
 */
#include "core.h"

/*
 * Layout version 5 moved the words a consumer writes to their own page
 * (struct grb_shm_consumer) and left every field the writers' inline fast
 * path reads where version 4 had it: the writers' line (offset, last_ts,
 * flush_req, commit_pos, last_end, lost_unreported).  Version 6 replaced
 * wake_pending with the positions wake_req, wake_done and wake_pos.
 * Version 7 added a cause to the loss counters (GRB_LOST_DIED), which moved
 * the fields after them by 8 bytes, and nest_pos and flush_pos in the rest
 * of the writers' line.  Version 8 added the log of nested writes after the
 * loss line, on lines of its own (nest_pos is unused since).
 */
_Static_assert(offsetof(struct grb_shm_stream, offset) == 128 &&
		       offsetof(struct grb_shm_stream, last_ts) == 136 &&
		       offsetof(struct grb_shm_stream, flush_req) == 144 &&
		       offsetof(struct grb_shm_stream, commit_pos) == 152 &&
		       offsetof(struct grb_shm_stream, last_end) == 160 &&
		       offsetof(struct grb_shm_stream, lost_unreported) == 168 &&
		       offsetof(struct grb_shm_stream, flush_pos) + sizeof(uint64_t) <= 192 &&
		       offsetof(struct grb_shm_stream, lost) == 256 &&
		       offsetof(struct grb_shm_stream, wake_req) == 368,
	       "a field the writers' fast path reads moved");
/* The log of nested writes, written by the slow path only, is off the
 * lines the fast path and the readers use. */
_Static_assert(offsetof(struct grb_shm_stream, nlog_count) % GRB_CACHELINE == 0 &&
		       offsetof(struct grb_shm_stream, nlog_count) >=
			       offsetof(struct grb_shm_stream, wake_pos) + sizeof(uint64_t),
	       "the log of nested writes must have lines of its own");
_Static_assert(offsetof(struct grb_shm_stream, nr_streams) + sizeof(uint32_t) <=
		       offsetof(struct grb_shm_stream, offset),
	       "the descriptive fields must stay before the writers' line");
/* Version 4 added commit_pos beside the offset: a reader reads both. */
_Static_assert(offsetof(struct grb_shm_stream, commit_pos) + sizeof(uint64_t) <=
		       offsetof(struct grb_shm_stream, offset) + GRB_CACHELINE,
	       "commit_pos must stay on the writers' line");
/* The header and the consumer page each fit in the smallest page. */
_Static_assert(sizeof(struct grb_shm_stream) <= 4096 && sizeof(struct grb_shm_consumer) <= 4096,
	       "the header and the consumer page must fit in a page");

int _grb_stream_layout(uint32_t sb_order, uint32_t count_order, uint64_t page,
		       struct grb_stream_layout *l)
{
	uint64_t count, sb;

	if (sb_order < 7 || sb_order > 30 || count_order < 1 || count_order > 20 || page < 4096 ||
	    (page & (page - 1)) || page > (1u << 30))
		return -EINVAL;
	count = 1ull << count_order;
	sb = 1ull << sb_order;
	l->consumer_off = page; /* the header is alone on the first page */
	l->slots_off = 2 * page;
	l->data_off = (l->slots_off + count * sizeof(struct grb_shm_slot) + page - 1) & ~(page - 1);
	l->map_size = l->data_off + (count + 1) * sb;
	return 0;
}

/* Lays out one stream's mapping (see grb/static/layout.h). */
int _grb_stream_init(struct grb_channel *ch, const struct grb_config *c, uint32_t index,
		     uint32_t cpu)
{
	const struct grb_channel_attr *a = &ch->priv->attr;
	struct grb_stream *s = &ch->streams[index];
	struct grb_channel_priv *priv = ch->priv;
	uint64_t count = a->subbuf_count, sb = a->subbuf_size, buf = sb * count;
	struct grb_stream_layout l;
	uint64_t map_size, i;
	struct grb_shm_stream *shm;
	int err = 0;

	if (_grb_stream_layout(_grb_log2(sb), _grb_log2(count), _grb_env_page_size(), &l)) {
		_grb_env_set_error("stream %u: the page size is not a power of two from 4 KiB",
				   index);
		return -EINVAL;
	}
	map_size = l.map_size;
	if (a->backing == GRB_BACKING_ANON)
		shm = (struct grb_shm_stream *)_grb_env_map(map_size);
	else
		shm = (struct grb_shm_stream *)_grb_env_map_shared(
			map_size, a->backing == GRB_BACKING_DIR ? priv->shm_path : NULL,
			priv->file_name, index, &priv->fds[index], &err);
	if (!shm) {
		if (!err) {
			_grb_env_set_error("stream %u: cannot map %llu bytes", index,
					   (unsigned long long)map_size);
			err = -ENOMEM;
		}
		return err;
	}
	shm->magic = GRB_SHM_MAGIC;
	shm->version = GRB_LAYOUT_VERSION;
	shm->header_size = sizeof(*shm);
	shm->byte_order = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? GRB_BYTE_ORDER_LITTLE :
								      GRB_BYTE_ORDER_BIG;
	shm->word_size = 8;
	shm->slot_size = sizeof(struct grb_shm_slot);
	shm->stream_id = index;
	shm->cpu = cpu;
	shm->sb_order = _grb_log2(sb);
	shm->count_order = _grb_log2(count);
	shm->packet_header_size = c->packet_header_size;
	shm->map_size = map_size;
	shm->slots_offset = l.slots_off;
	shm->data_offset = l.data_off;
	shm->consumer_offset = l.consumer_off;
	shm->client_hash = priv->client_hash;
	shm->writer_pid = priv->writer_pid;
	shm->writer_start = priv->writer_start;
	shm->nr_streams = ch->nr_streams;
	shm->mode = c->mode;
	shm->alloc = c->alloc;
	shm->sync = c->sync;
	shm->ts_bits = c->ts_bits;
	shm->channel_uid = ch->uid;
	shm->last_end = GRB_LAST_END_NONE; /* no record yet */
	shm->flush_pos = GRB_NO_POS;
	/* The log of nested writes is empty: zeros. */
	s->shm = shm;
	s->cons = (struct grb_shm_consumer *)((char *)shm + l.consumer_off);
	s->cons->reader_spare = count;
	ch->priv->spare[index] = count; /* the reader's own copy */
	s->cons->taking = GRB_NO_POS;
	s->cons->died_at = GRB_NO_POS;
	s->uid = (ch->uid << 24) | index; /* index < 2^24: CPUs or nr_streams */
	s->slots = (struct grb_shm_slot *)((char *)shm + l.slots_off);
	s->data = (char *)shm + l.data_off;
	s->sb_size = sb;
	s->sb_mask = sb - 1;
	s->sb_order = shm->sb_order;
	s->count_order = shm->count_order;
	s->count_mask = (uint32_t)count - 1;
	s->index = index;
	s->rseq_cpu = c->sync == GRB_SYNC_PER_CPU_RSEQ && !ch->priv->rseq_fallback ?
			      cpu :
			      GRB_RSEQ_NO_CPU;
	s->chan = ch;
	s->map_size = map_size;
	for (i = 0; i < count; i++) {
		/* Lap -1 of every slot is "delivered" and empty. */
		s->slots[i].id = (0xffffffffull << GRB_ID_TAG_SHIFT) | GRB_ID_NOREF | i;
		s->slots[i].done = i * sb + sb - buf;
		s->slots[i].claimed = s->slots[i].done;
	}
	return 0;
}
