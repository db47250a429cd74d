/* SPDX-License-Identifier: MIT */
/*
 * grb/native.h - grb's own record and packet format: the reference client
 * used by the tests, the benchmarks and applications that want no trace
 * format of their own.
 *
 * Record header (8-byte aligned records, little- or native-endian words):
 *
 *	compact (8 bytes):	u32 len_kind | u32 ts_low      (event id 0, delta < 2^32)
 *	extended (16 bytes):	u32 len_kind | u32 event_id | u64 ts
 *
 * len_kind: bits 0-1 kind (1 compact, 2 extended), bit 2 discarded, the rest
 * the record length in bytes (a multiple of 8, header included).  A compact
 * timestamp is the low 32 bits; the reader adds the 32-bit difference to the
 * previous record's timestamp.  The first record of each packet is extended.
 *
 * Packet header: struct grb_native_packet (64 bytes).
 */
#ifndef GRB_NATIVE_H
#define GRB_NATIVE_H

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <grb/config.h>
#include <grb/clock.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GRB_NATIVE_PACKET_MAGIC 0x50425247u /* "GRBP" */
#define GRB_NATIVE_KIND_COMPACT 1u
#define GRB_NATIVE_KIND_EXTENDED 2u
#define GRB_NATIVE_DISCARDED 4u
#define GRB_NATIVE_COMPACT_SIZE 8u
#define GRB_NATIVE_EXTENDED_SIZE 16u

struct grb_native_packet {
	uint32_t magic;
	uint32_t stream_id;
	uint64_t seq;
	uint64_t ts_begin;
	uint64_t ts_end;
	uint64_t content_size;
	uint64_t packet_size;
	uint64_t lost; /* cumulative, all causes but overwrite */
	uint64_t records;
};

static inline uint32_t grb_native_header_size(const struct grb_config *cfg,
					      const struct grb_ctx *ctx)
{
	(void)cfg;
	return ((ctx->flags & GRB_RFLAG_FULL_TS) || ctx->event_id) ? GRB_NATIVE_EXTENDED_SIZE :
								     GRB_NATIVE_COMPACT_SIZE;
}

static inline void grb_native_header_write(const struct grb_config *cfg, const struct grb_ctx *ctx)
{
	uint32_t *w = (uint32_t *)(void *)ctx->rec;

	(void)cfg;
	if (ctx->header_len == GRB_NATIVE_COMPACT_SIZE) {
		w[0] = ctx->slot_len | GRB_NATIVE_KIND_COMPACT;
		w[1] = (uint32_t)ctx->ts;
	} else {
		uint64_t ts = ctx->ts;

		w[0] = ctx->slot_len | GRB_NATIVE_KIND_EXTENDED;
		w[1] = ctx->event_id;
		memcpy(ctx->rec + 8, &ts, 8);
	}
}

static inline void grb_native_packet_begin(const struct grb_config *cfg, void *packet,
					   const struct grb_packet_info *info)
{
	struct grb_native_packet *p = (struct grb_native_packet *)packet;

	(void)cfg;
	p->magic = GRB_NATIVE_PACKET_MAGIC;
	p->stream_id = info->stream_id;
	p->seq = info->seq;
	p->ts_begin = info->ts_begin;
}

static inline void grb_native_packet_end(const struct grb_config *cfg, void *packet,
					 const struct grb_packet_info *info)
{
	struct grb_native_packet *p = (struct grb_native_packet *)packet;

	(void)cfg;
	p->ts_end = info->ts_end;
	p->content_size = info->content_size;
	p->packet_size = info->packet_size;
	p->lost = info->lost;
	p->records = info->records;
}

/* Reads nothing past avail; every length is checked. */
static inline int grb_native_record_decode(const struct grb_config *cfg, void *client_data,
					   const void *rec, size_t avail, uint64_t prev_ts,
					   struct grb_record *out)
{
	const unsigned char *b = (const unsigned char *)rec;
	uint32_t w0, w1, len, hdr;

	(void)cfg;
	(void)client_data;
	if (avail < GRB_NATIVE_COMPACT_SIZE)
		return -EPROTO;
	memcpy(&w0, b, 4);
	memcpy(&w1, b + 4, 4);
	len = w0 & ~7u;
	switch (w0 & 3u) {
	case GRB_NATIVE_KIND_COMPACT:
		hdr = GRB_NATIVE_COMPACT_SIZE;
		out->ts = prev_ts + (uint32_t)(w1 - (uint32_t)prev_ts);
		out->event_id = 0;
		break;
	case GRB_NATIVE_KIND_EXTENDED:
		hdr = GRB_NATIVE_EXTENDED_SIZE;
		if (avail < hdr)
			return -EPROTO;
		memcpy(&out->ts, b + 8, 8);
		out->event_id = w1;
		break;
	default:
		return -EPROTO;
	}
	if (len < hdr || len > avail)
		return -EPROTO;
	out->data = rec;
	out->payload = b + hdr;
	out->len = len;
	out->payload_len = len - hdr;
	out->discarded = (w0 & GRB_NATIVE_DISCARDED) ? 1 : 0;
	return 0;
}

static inline void grb_native_record_discard(const struct grb_config *cfg,
					     const struct grb_ctx *ctx)
{
	uint32_t w0;

	(void)cfg;
	memcpy(&w0, ctx->rec, 4);
	w0 |= GRB_NATIVE_DISCARDED;
	memcpy(ctx->rec, &w0, 4);
}

/**
 * GRB_NATIVE_CONFIG() - initializer of a struct grb_config for the native
 * format, e.g.
 *
 *	static const struct grb_config cfg =
 *		GRB_NATIVE_CONFIG(GRB_ALLOC_PER_CPU, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD);
 *
 * GRB_NATIVE_CONFIG_CLOCK() takes the clock too.  Each field is named (a
 * designated initializer), in declaration order: from C++ the macros need
 * C++20 (g++ and clang++ accept them in C++17 as an extension, with a
 * warning under -pedantic).
 */
/* One field a line, in declaration order: kept as written. */
/* clang-format off */
#define GRB_NATIVE_CONFIG_WAKEUP(_alloc, _sync, _mode, _clock, _wakeup)                     \
	{                                                                                  \
		.abi = GRB_CONFIG_ABI,                                                     \
		.alloc = (_alloc),                                                         \
		.sync = (_sync),                                                           \
		.mode = (_mode),                                                           \
		.wakeup = (_wakeup),                                                       \
		.ts_bits = 32,                                                             \
		.max_nesting = 4,                                                          \
		.record_align = 8,                                                         \
		.packet_header_size = (unsigned int)sizeof(struct grb_native_packet),      \
		.min_record_size = GRB_NATIVE_COMPACT_SIZE,                                \
		.clock_read = (_clock),                                                    \
		.record_header_size = grb_native_header_size,                              \
		.record_header_write = grb_native_header_write,                            \
		.packet_begin = grb_native_packet_begin,                                   \
		.packet_end = grb_native_packet_end,                                       \
		.record_decode = grb_native_record_decode,                                 \
		.record_discard = grb_native_record_discard,                               \
		.name = "native",                                                          \
		.packet_published = NULL,                                                  \
		.prev_ts_exact = 0,                                                        \
	}
#define GRB_NATIVE_CONFIG_CLOCK(_alloc, _sync, _mode, _clock)                                \
	GRB_NATIVE_CONFIG_WAKEUP(_alloc, _sync, _mode, _clock, GRB_WAKEUP_NONE)
#define GRB_NATIVE_CONFIG(_alloc, _sync, _mode)                                            \
	GRB_NATIVE_CONFIG_CLOCK(_alloc, _sync, _mode, grb_clock_monotonic)
/* clang-format on */

#ifdef __cplusplus
}
#endif

#endif /* GRB_NATIVE_H */
