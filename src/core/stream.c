// SPDX-License-Identifier: MIT
/*
 * stream.c - the layout of a stream's mapping (see grb/static/layout.h).
 */
#include "core.h"

/* Layout version 3 added the reader's corrupt-packet counters in the
 * padding of the reader's line: the loss counters stay where version 2 had
 * them, on the next line. */
_Static_assert(offsetof(struct grb_shm_stream, corrupt_records) + sizeof(uint64_t) <=
		       offsetof(struct grb_shm_stream, consumed) + GRB_CACHELINE,
	       "the reader's counters must stay on the reader's line");
/* Version 4 added commit_pos beside the offset: a reader reads both. */
_Static_assert(offsetof(struct grb_shm_stream, commit_pos) + sizeof(uint64_t) <=
		       offsetof(struct grb_shm_stream, offset) + GRB_CACHELINE,
	       "commit_pos must stay on the writers' line");

/* Lays out one stream's mapping (see grb/static/layout.h). */
int _grb_stream_init(struct grb_channel *ch, const struct grb_config *c, uint32_t index,
		     uint32_t cpu)
{
	const struct grb_channel_attr *a = &ch->priv->attr;
	struct grb_stream *s = &ch->streams[index];
	size_t page = _grb_env_page_size();
	uint64_t count = a->subbuf_count, sb = a->subbuf_size, buf = sb * count;
	uint64_t slots_off = (sizeof(struct grb_shm_stream) + 63) & ~(uint64_t)63;
	uint64_t data_off = (slots_off + count * sizeof(struct grb_shm_slot) + page - 1) &
			    ~(uint64_t)(page - 1);
	uint64_t map_size = data_off + (count + 1) * sb, i;
	struct grb_shm_stream *shm = (struct grb_shm_stream *)_grb_env_map(map_size);

	if (!shm) {
		_grb_env_set_error("stream %u: cannot map %llu bytes", index,
				   (unsigned long long)map_size);
		return -ENOMEM;
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
	shm->slots_offset = slots_off;
	shm->data_offset = data_off;
	shm->mode = c->mode;
	shm->alloc = c->alloc;
	shm->sync = c->sync;
	shm->ts_bits = c->ts_bits;
	shm->channel_uid = ch->uid;
	shm->reader_spare = count;
	shm->taking = GRB_NO_POS;
	shm->last_end = GRB_LAST_END_NONE; /* no record yet */
	s->shm = shm;
	s->uid = (ch->uid << 24) | index; /* index < 2^24: CPUs or nr_streams */
	s->slots = (struct grb_shm_slot *)((char *)shm + slots_off);
	s->data = (char *)shm + data_off;
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
