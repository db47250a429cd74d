/* SPDX-License-Identifier: MIT */
/*
 * ft_client.h - a test client whose record header is built like ftrace's:
 * 32-bit words, each event word a 5-bit type and a 27-bit time delta to
 * the previous record of the stream.  It uses the hooks of struct grb_ctx
 * that the native and CTF clients do not need: prev_ts (the delta is
 * relative to it), lost (a LOST record where a loss happened) and
 * client_word (carried in the header).
 *
 * A record's header is, in this order:
 *
 *	TIME_STAMP  (8 bytes, when GRB_RFLAG_FULL_TS is set)
 *		w0 = FT_TIME_STAMP | (ts & (2^27 - 1)) << 5, w1 = ts >> 27
 *		the absolute timestamp (59 bits); the event's delta is 0
 *	TIME_EXTEND (8 bytes, when ts - prev_ts does not fit 27 bits)
 *		w0 = FT_TIME_EXTEND | (d & (2^27 - 1)) << 5, w1 = d >> 27
 *		a 59-bit delta d; the event's delta is 0
 *	LOST        (12 bytes, when ctx->lost is not 0)
 *		w0 = FT_LOST, w1 w2 = the 64-bit count
 *	event       (12 bytes)
 *		w0 = FT_DATA (FT_DISCARDED once discarded) | delta << 5
 *		w1 = payload length (16 bits) | event id << 16 (16 bits)
 *		w2 = ctx->client_word
 *
 * then the payload, padded to 4 bytes.  With ts_bits 59 the core sets
 * FULL_TS only when prev_ts is not certain (a packet's first record, a
 * reservation that could not know the record before it); a large delta
 * becomes a TIME_EXTEND.  With ts_bits 27 the core also sets it for every
 * delta that does not fit the event word.
 *
 * The packet header is 8 bytes: FT_PACKET_MAGIC and the stream id.
 */
#ifndef GRB_TEST_FT_CLIENT_H
#define GRB_TEST_FT_CLIENT_H

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <grb/grb.h>

#define FT_DATA 1u
#define FT_DISCARDED 2u
#define FT_LOST 28u
#define FT_TIME_EXTEND 30u
#define FT_TIME_STAMP 31u
#define FT_DELTA_BITS 27
#define FT_DELTA_MAX ((1u << FT_DELTA_BITS) - 1)
#define FT_PACKET_MAGIC 0x46545031u /* "1PTF" */
#define FT_EVENT_SIZE 12u
#define FT_EXT_SIZE 8u
#define FT_LOST_SIZE 12u

/* What the callbacks last saw, for the test (the header callbacks run in
 * the writer's thread). */
static __thread uint32_t ft_seen_size_word, ft_seen_write_word;

static inline uint32_t ft_word(uint32_t type, uint64_t v)
{
	return type | (uint32_t)(v & FT_DELTA_MAX) << 5;
}

static inline uint32_t ft_header_size(const struct grb_config *cfg, const struct grb_ctx *ctx)
{
	uint32_t n = FT_EVENT_SIZE;

	(void)cfg;
	ft_seen_size_word = ctx->client_word;
	if (ctx->flags & GRB_RFLAG_FULL_TS)
		n += FT_EXT_SIZE;
	else if (ctx->ts - ctx->prev_ts > FT_DELTA_MAX)
		n += FT_EXT_SIZE;
	if (ctx->lost)
		n += FT_LOST_SIZE;
	return n;
}

static inline void ft_header_write(const struct grb_config *cfg, const struct grb_ctx *ctx)
{
	uint32_t w[3];
	char *p = ctx->rec;
	uint64_t delta;

	(void)cfg;
	ft_seen_write_word = ctx->client_word;
	if (ctx->flags & GRB_RFLAG_FULL_TS) {
		w[0] = ft_word(FT_TIME_STAMP, ctx->ts);
		w[1] = (uint32_t)(ctx->ts >> FT_DELTA_BITS);
		memcpy(p, w, 8);
		p += 8;
		delta = 0;
	} else {
		delta = ctx->ts - ctx->prev_ts;
		if (delta > FT_DELTA_MAX) {
			w[0] = ft_word(FT_TIME_EXTEND, delta);
			w[1] = (uint32_t)(delta >> FT_DELTA_BITS);
			memcpy(p, w, 8);
			p += 8;
			delta = 0;
		}
	}
	if (ctx->lost) {
		w[0] = FT_LOST;
		memcpy(p, w, 4);
		memcpy(p + 4, &ctx->lost, 8);
		p += 12;
	}
	w[0] = ft_word(FT_DATA, delta);
	w[1] = (ctx->payload_len & 0xffffu) | ctx->event_id << 16;
	w[2] = ctx->client_word;
	memcpy(p, w, 12);
}

static inline void ft_packet_begin(const struct grb_config *cfg, void *packet,
				   const struct grb_packet_info *info)
{
	uint32_t w[2] = { FT_PACKET_MAGIC, info->stream_id };

	(void)cfg;
	memcpy(packet, w, 8);
}

static inline void ft_packet_end(const struct grb_config *cfg, void *packet,
				 const struct grb_packet_info *info)
{
	(void)cfg;
	(void)packet;
	(void)info;
}

/* Everything a record's header says. */
struct ft_rec {
	uint64_t ts;
	uint64_t lost;
	uint32_t len, header_len, payload_len, event_id, client_word;
	int discarded, time_stamp, time_extend;
};

/* Decodes the record at rec (avail bytes) after a record at prev_ts.
 * Return 0 or -EPROTO; reads nothing past avail. */
static inline int ft_decode(const void *rec, size_t avail, uint64_t prev_ts, struct ft_rec *out)
{
	const unsigned char *b = (const unsigned char *)rec;
	size_t off = 0;
	uint64_t ts = prev_ts;
	uint32_t w[3], type;

	memset(out, 0, sizeof(*out));
	for (;;) {
		if (avail - off < 4)
			return -EPROTO;
		memcpy(w, b + off, 4);
		type = w[0] & 31u;
		if (type == FT_TIME_STAMP || type == FT_TIME_EXTEND) {
			uint64_t v;

			if (off != 0 || avail - off < 8)
				return -EPROTO;
			memcpy(&w[1], b + off + 4, 4);
			v = (uint64_t)(w[0] >> 5) | (uint64_t)w[1] << FT_DELTA_BITS;
			if (type == FT_TIME_STAMP) {
				ts = v;
				out->time_stamp = 1;
			} else {
				ts += v;
				out->time_extend = 1;
			}
			off += 8;
		} else if (type == FT_LOST) {
			if (out->lost || avail - off < 12)
				return -EPROTO;
			memcpy(&out->lost, b + off + 4, 8);
			if (!out->lost)
				return -EPROTO;
			off += 12;
		} else if (type == FT_DATA || type == FT_DISCARDED) {
			if (avail - off < FT_EVENT_SIZE)
				return -EPROTO;
			memcpy(w, b + off, 12);
			ts += w[0] >> 5;
			out->discarded = type == FT_DISCARDED;
			out->payload_len = w[1] & 0xffffu;
			out->event_id = w[1] >> 16;
			out->client_word = w[2];
			off += FT_EVENT_SIZE;
			break;
		} else {
			return -EPROTO;
		}
	}
	out->header_len = (uint32_t)off;
	out->len = (uint32_t)(off + ((out->payload_len + 3u) & ~3u));
	if (out->len > avail)
		return -EPROTO;
	out->ts = ts;
	return 0;
}

static inline int ft_record_decode(const struct grb_config *cfg, void *client_data, const void *rec,
				   size_t avail, uint64_t prev_ts, struct grb_record *out)
{
	struct ft_rec r;

	(void)cfg;
	(void)client_data;
	if (ft_decode(rec, avail, prev_ts, &r))
		return -EPROTO;
	out->data = rec;
	out->payload = (const char *)rec + r.header_len;
	out->len = r.len;
	out->payload_len = r.payload_len;
	out->ts = r.ts;
	out->event_id = r.event_id;
	out->discarded = (uint32_t)r.discarded;
	return 0;
}

static inline void ft_record_discard(const struct grb_config *cfg, const struct grb_ctx *ctx)
{
	char *ev = ctx->rec + ctx->header_len - FT_EVENT_SIZE;
	uint32_t w0;

	(void)cfg;
	memcpy(&w0, ev, 4);
	w0 = (w0 & ~31u) | FT_DISCARDED;
	memcpy(ev, &w0, 4);
}

/* clang-format off */
#define FT_CONFIG(_alloc, _sync, _mode, _ts_bits, _clock)                                   \
	{                                                                                  \
		.abi = GRB_CONFIG_ABI,                                                     \
		.alloc = (_alloc),                                                         \
		.sync = (_sync),                                                           \
		.mode = (_mode),                                                           \
		.wakeup = GRB_WAKEUP_NONE,                                                 \
		.ts_bits = (_ts_bits),                                                     \
		.max_nesting = 4,                                                          \
		.record_align = 4,                                                         \
		.packet_header_size = 8,                                                   \
		.min_record_size = FT_EVENT_SIZE,                                          \
		.clock_read = (_clock),                                                    \
		.record_header_size = ft_header_size,                                      \
		.record_header_write = ft_header_write,                                    \
		.packet_begin = ft_packet_begin,                                           \
		.packet_end = ft_packet_end,                                               \
		.record_decode = ft_record_decode,                                         \
		.record_discard = ft_record_discard,                                       \
		.name = "ft",                                                              \
		.packet_published = NULL,                                                  \
		.prev_ts_exact = 1,                                                        \
	}
/* clang-format on */

#endif /* GRB_TEST_FT_CLIENT_H */
