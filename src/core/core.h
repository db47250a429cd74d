/* SPDX-License-Identifier: MIT */
/*
 * core_internal.h - what the core's files share: the private half of a
 * channel and the slow-path helpers.
 */
#ifndef GRB_CORE_INTERNAL_H
#define GRB_CORE_INTERNAL_H

#include <grb/grb.h>
#include "env.h"

/* owner value of a per-thread stream locked by a remote flush. */
#define GRB_OWNER_FLUSHING 0xffffffffu

struct grb_timer;

struct grb_channel_priv {
	struct grb_channel *next; /* registry list */
	struct grb_channel_attr attr;
	char name[64];
	int32_t *cpu_map;
	uint32_t nr_readers; /* under the registry lock */
	uint32_t destroyed;
	struct grb_timer *switch_timer;
	uint64_t max_payload;
	/* rseq sync: restartable sequences unusable, the streams use atomics. */
	uint32_t rseq_fallback;
	char rseq_why[128]; /* why */
};

/* frontend.c */
int _grb_stream_flush(const struct grb_config *cfg, struct grb_stream *s);
uint64_t _grb_lost_snapshot(const struct grb_stream *s);
void _grb_invariant_failure(struct grb_stream *s, const char *what);

/* channel.c */
void _grb_channel_get(struct grb_channel *ch);
void _grb_channel_put(struct grb_channel *ch);
int _grb_channel_flush_stream(struct grb_channel *ch, struct grb_stream *s);


static inline uint64_t _grb_buf_size(const struct grb_stream *s)
{
	return s->sb_size << s->count_order;
}

static inline uint32_t _grb_lap_tag(const struct grb_stream *s, uint64_t pos)
{
	return (uint32_t)(pos >> (s->sb_order + s->count_order));
}

#endif /* GRB_CORE_INTERNAL_H */
