/* SPDX-License-Identifier: MIT */
/*
 * grb/ctf.h - the CTF 1.8 client: LTTng-compatible packets and event
 * headers, typed events declared once in C, and a trace writer whose output
 * babeltrace2 and Trace Compass read.
 *
 * Declaring an event: list its fields with an X-macro, then GRB_CTF_EVENT:
 *
 *	#define MYAPP_TICK_FIELDS(F)            \
 *		F(u32, cpu)                     \
 *		F(s64, delta)                   \
 *		F(f64, ratio)                   \
 *		F(string, msg, 64)              \  (at most 64 bytes with the NUL)
 *		F(array_u16, regs, 4)           \  (exactly 4 elements)
 *		F(seq_u32, samples, 16)         \  (0 to 16 elements: samples, samples_len)
 *		F(enum_u8, state, myapp_states)
 *	GRB_CTF_EVENT(myapp_tick, "myapp:tick", 3, MYAPP_TICK_FIELDS)
 *
 * This defines `myapp_tick_event` (struct grb_ctf_event_desc, given to
 * grb_ctf_trace_create) and the inline, typed
 *
 *	int myapp_tick_write(const struct grb_config *cfg, struct grb_channel *ch,
 *			     uint32_t cpu, int64_t delta, double ratio, const char *msg,
 *			     const uint16_t *regs, const uint32_t *samples,
 *			     uint32_t samples_len, uint8_t state);
 *
 * returning grb_reserve()'s codes (marked unused: a file may declare an
 * event only for its descriptor, e.g. to validate it).  It is always
 * inlined, so that cfg, a constant, folds into every call: a copy out of
 * line would take cfg as a parameter and test each of its fields, and
 * call the clock and the header through pointers, at every event (about
 * twice the instructions).  A string or sequence longer than its
 * declared maximum is refused whole (-E2BIG, counted GRB_LOST_TOO_BIG),
 * never truncated.  Field kinds: u8 u16 u32 u64 s8 s16 s32 s64 f32 f64,
 * string, array_<int>, seq_<int>, enum_<u8|u16|u32> (with a struct
 * grb_ctf_enum_desc declared by GRB_CTF_ENUM).
 *
 * Event ids 29 and 30 are reserved (records discarded after reserve are
 * rewritten as "grb:discarded" filler events); ids up to 28 use the 4-byte
 * compact header, larger ids the 13-byte extended one.
 *
 * Real-time contract:
 *
 * | function                          | signal-safe | progress  | system calls          |
 * |-----------------------------------|-------------|-----------|-----------------------|
 * | <event>_write (GRB_CTF_EVENT)      | yes         | as grb_reserve() + grb_commit(), plus strlen of strings |
 * | grb_ctf_record_decode / _discard  | yes         | wait-free | no                    |
 * | grb_ctf_validate_events           | no          | blocking  | no (formats messages) |
 * | grb_ctf_metadata                  | no          | blocking  | malloc                |
 * | grb_ctf_trace_create              | no          | blocking  | mkdir, open, write, mmap, thread create |
 * | grb_ctf_trace_stop / _destroy     | no          | blocking  | write, ftruncate, close, thread join |
 * | grb_ctf_trace_channel, _error, _stream_stats, _attr_init | yes | wait-free | no |
 * | grb_ctf_trace_create_fed          | no          | blocking  | mkdir, open, write    |
 * | grb_ctf_trace_attach (_cfg)       | no          | blocking  | as grb_channel_attach, open, write (metadata) |
 * | grb_ctf_trace_poll                | no          | blocking  | open, write           |
 * | grb_ctf_trace_source_channel, _source_stats, _source_end | yes | wait-free | no |
 * | grb_ctf_trace_set_sink            | no          | blocking  | as its sink's metadata callback |
 * | grb_ctf_trace_stream_idle, _quiet | yes         | wait-free | no                    |
 * | grb_ctf_trace_stream_take         | no          | blocking  | as grb_ctf_trace_poll, malloc |
 * | grb_ctf_ids_refresh               | yes         | wait-free | getpid, gettid        |
 * | grb_ctf_read_clock                | no          | blocking  | open, read, malloc    |
 * | grb_ctf_index_open                | no          | blocking  | open, read, malloc    |
 * | grb_ctf_index_next                | no          | blocking  | read, once per 4 KiB  |
 * | grb_ctf_index_close               | no          | blocking  | close                 |
 *
 * Reading a trace back (a trace directory this client wrote, or any CTF
 * trace of text metadata with LTTng packet indexes):
 *
 *	struct grb_ctf_clock_info clk;
 *	struct grb_ctf_index_entry e;
 *	struct grb_ctf_index *idx;
 *	int ret;
 *
 *	if (grb_ctf_read_clock("my-trace", &clk))
 *		errx(1, "%s", grb_last_error());
 *	if (grb_ctf_index_open("my-trace", "channel0_0", &idx))
 *		errx(1, "%s", grb_last_error());
 *	while ((ret = grb_ctf_index_next(idx, &e)) == 0)
 *		... e.offset, e.packet_size / 8, e.timestamp_begin ...
 *	grb_ctf_index_close(idx);   (ret: -ENODATA at the end, else an error)
 */
#ifndef GRB_CTF_H
#define GRB_CTF_H

#include <stdint.h>
#include <string.h>
#include <grb/config.h>
#include <grb/channel.h>
#include <grb/writer.h>
#include <grb/clock.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* Packet header and context, byte-packed, in the host's byte order. */
#define GRB_CTF_MAGIC 0xC1FC1FC1u
#define GRB_CTF_PACKET_HEADER_SIZE 84u
#define GRB_CTF_OFF_MAGIC 0
#define GRB_CTF_OFF_UUID 4
#define GRB_CTF_OFF_STREAM_ID 20
#define GRB_CTF_OFF_INSTANCE 24
#define GRB_CTF_OFF_TS_BEGIN 32
#define GRB_CTF_OFF_TS_END 40
#define GRB_CTF_OFF_CONTENT 48
#define GRB_CTF_OFF_PACKET 56
#define GRB_CTF_OFF_SEQ 64
#define GRB_CTF_OFF_DISCARDED 72
#define GRB_CTF_OFF_CPU 80

#define GRB_CTF_COMPACT_SIZE 4u
#define GRB_CTF_EXTENDED_SIZE 13u
#define GRB_CTF_COMPACT_MAX_ID 28u /* user ids up to this use the compact header */
#define GRB_CTF_ID_DISCARDED_EMPTY 29u
#define GRB_CTF_ID_DISCARDED 30u
#define GRB_CTF_ID_EXTENDED 31u
#define GRB_CTF_TS_BITS 27u
#define GRB_CTF_MAX_FIELDS 128u
#define GRB_CTF_MAX_EVENT_ID 65535u

enum grb_ctf_type {
	GRB_CTF_U8 = 1,
	GRB_CTF_U16,
	GRB_CTF_U32,
	GRB_CTF_U64,
	GRB_CTF_S8,
	GRB_CTF_S16,
	GRB_CTF_S32,
	GRB_CTF_S64,
	GRB_CTF_F32,
	GRB_CTF_F64,
	GRB_CTF_STRING,
	GRB_CTF_ARRAY,
	GRB_CTF_SEQUENCE,
	GRB_CTF_ENUM,
};

struct grb_ctf_enum_entry {
	const char *label;
	int64_t start, end; /* inclusive range */
};

struct grb_ctf_enum_desc {
	const struct grb_ctf_enum_entry *entries;
	uint32_t nr_entries;
};

/** GRB_CTF_ENUM(sym, {"IDLE", 0, 0}, {"BUSY", 1, 9}) defines sym. */
#define GRB_CTF_ENUM(sym, ...)                                                    \
	static const struct grb_ctf_enum_entry sym##_entries[] = { __VA_ARGS__ }; \
	static const struct grb_ctf_enum_desc sym = {                             \
		.entries = sym##_entries,                                         \
		.nr_entries = sizeof(sym##_entries) / sizeof(sym##_entries[0]),   \
	};

struct grb_ctf_field_desc {
	const char *name;
	enum grb_ctf_type type;
	enum grb_ctf_type elem; /* element type of arrays, sequences, enums, strings */
	uint32_t len; /* array length; sequence elements or string bytes at most */
	const struct grb_ctf_enum_desc *enm;
};

struct grb_ctf_event_desc {
	const char *name; /* "provider:event" */
	uint32_t id;
	uint32_t nr_fields;
	const struct grb_ctf_field_desc *fields;
};

/* The channel data (struct grb_channel_attr.client_data) of a CTF channel. */
struct grb_ctf_chan_data {
	uint8_t uuid[16];
	const struct grb_ctf_event_desc *const *events;
	uint32_t nr_events;
	const struct grb_ctf_event_desc **by_id; /* GRB_CTF_MAX_EVENT_ID + 1 entries */
};

static _grb_always_inline uint32_t grb_ctf_header_size(const struct grb_config *cfg,
						       const struct grb_ctx *ctx)
{
	(void)cfg;
	return ((ctx->flags & GRB_RFLAG_FULL_TS) || ctx->event_id > GRB_CTF_COMPACT_MAX_ID) ?
		       GRB_CTF_EXTENDED_SIZE :
		       GRB_CTF_COMPACT_SIZE;
}

/* Compact: 5-bit id then 27-bit timestamp; extended: id 31, u32 id, u64 ts. */
static _grb_always_inline void _grb_ctf_write_header(char *p, uint32_t id, uint64_t ts,
						     int extended)
{
	if (!extended) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		uint32_t w = id | ((uint32_t)ts & 0x7ffffffu) << 5;
#else
		uint32_t w = id << 27 | ((uint32_t)ts & 0x7ffffffu);
#endif
		memcpy(p, &w, 4);
	} else {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		p[0] = (char)GRB_CTF_ID_EXTENDED;
#else
		p[0] = (char)(GRB_CTF_ID_EXTENDED << 3);
#endif
		memcpy(p + 1, &id, 4);
		memcpy(p + 5, &ts, 8);
	}
}

static _grb_always_inline void grb_ctf_header_write(const struct grb_config *cfg,
						    const struct grb_ctx *ctx)
{
	(void)cfg;
	_grb_ctf_write_header(ctx->rec, ctx->event_id, ctx->ts,
			      ctx->header_len == GRB_CTF_EXTENDED_SIZE);
}

/*
 * Process and thread ids in every record (LTTng's vpid and vtid contexts):
 * GRB_CTF_CONFIG_IDS writes them after the event header, and the trace's
 * metadata declares them as its stream's event context, which babeltrace2
 * prints with every event.  Each thread keeps its ids in grb_ctf_ids_tls,
 * read once (getpid, gettid) by its first record and again in a child
 * after fork (a pthread_atfork handler of the library clears them).
 */
#define GRB_CTF_IDS_SIZE 8u

struct grb_ctf_ids {
	int32_t pid, tid; /* tid 0: not read yet */
};

extern __thread struct grb_ctf_ids grb_ctf_ids_tls __attribute__((tls_model("initial-exec")));

/** grb_ctf_ids_refresh() - read this thread's ids into grb_ctf_ids_tls
 * (signal-safe: two system calls). */
void grb_ctf_ids_refresh(void);

static _grb_always_inline uint32_t grb_ctf_header_size_ids(const struct grb_config *cfg,
							   const struct grb_ctx *ctx)
{
	return grb_ctf_header_size(cfg, ctx) + GRB_CTF_IDS_SIZE;
}

static _grb_always_inline void grb_ctf_header_write_ids(const struct grb_config *cfg,
							const struct grb_ctx *ctx)
{
	uint32_t base = ctx->header_len - GRB_CTF_IDS_SIZE;

	(void)cfg;
	_grb_ctf_write_header(ctx->rec, ctx->event_id, ctx->ts, base == GRB_CTF_EXTENDED_SIZE);
	if (__builtin_expect(!grb_ctf_ids_tls.tid, 0))
		grb_ctf_ids_refresh();
	memcpy(ctx->rec + base, &grb_ctf_ids_tls, GRB_CTF_IDS_SIZE);
}

static inline void grb_ctf_packet_begin(const struct grb_config *cfg, void *packet,
					const struct grb_packet_info *info)
{
	char *p = (char *)packet;
	const struct grb_ctf_chan_data *d = (const struct grb_ctf_chan_data *)info->client_data;
	/* cpu_id: the CPU of a per-CPU stream, else the stream's index, so
	 * that viewers that group by CPU still tell streams apart. */
	uint32_t magic = GRB_CTF_MAGIC, sid = 0,
		 cpu = info->cpu != UINT32_MAX ? info->cpu : info->stream_id;
	uint64_t instance = info->stream_id;

	(void)cfg;
	memcpy(p + GRB_CTF_OFF_MAGIC, &magic, 4);
	if (d)
		memcpy(p + GRB_CTF_OFF_UUID, d->uuid, 16);
	else
		memset(p + GRB_CTF_OFF_UUID, 0, 16);
	memcpy(p + GRB_CTF_OFF_STREAM_ID, &sid, 4);
	memcpy(p + GRB_CTF_OFF_INSTANCE, &instance, 8);
	memcpy(p + GRB_CTF_OFF_TS_BEGIN, &info->ts_begin, 8);
	memcpy(p + GRB_CTF_OFF_SEQ, &info->seq, 8);
	memcpy(p + GRB_CTF_OFF_CPU, &cpu, 4);
}

/* packet_size = content_size: the trace writer stores no padding. */
static inline void grb_ctf_packet_end(const struct grb_config *cfg, void *packet,
				      const struct grb_packet_info *info)
{
	char *p = (char *)packet;
	uint64_t bits = info->content_size * 8;

	(void)cfg;
	memcpy(p + GRB_CTF_OFF_TS_END, &info->ts_end, 8);
	memcpy(p + GRB_CTF_OFF_CONTENT, &bits, 8);
	memcpy(p + GRB_CTF_OFF_PACKET, &bits, 8);
	memcpy(p + GRB_CTF_OFF_DISCARDED, &info->lost, 8);
}

/* Out of line (clients/ctf): decode walks the fields of the event's
 * description; discard rewrites the record as filler events. */
int grb_ctf_record_decode(const struct grb_config *cfg, void *client_data, const void *rec,
			  size_t avail, uint64_t prev_ts, struct grb_record *out);
void grb_ctf_record_discard(const struct grb_config *cfg, const struct grb_ctx *ctx);
/* The same for records with the ids (GRB_CTF_CONFIG_IDS): the filler
 * events carry them too. */
int grb_ctf_record_decode_ids(const struct grb_config *cfg, void *client_data, const void *rec,
			      size_t avail, uint64_t prev_ts, struct grb_record *out);
void grb_ctf_record_discard_ids(const struct grb_config *cfg, const struct grb_ctx *ctx);

/**
 * GRB_CTF_CONFIG(alloc, sync, mode) - a struct grb_config initializer for
 * CTF traces with the CLOCK_MONOTONIC clock; GRB_CTF_CONFIG_CLOCK to give
 * another clock (describe it in struct grb_ctf_trace_attr.clock),
 * GRB_CTF_CONFIG_WAKEUP a wake-up, GRB_CTF_CONFIG_CLOCK_WAKEUP both.  Each
 * field is named (a designated initializer), in declaration order: from
 * C++ the macros need C++20 (g++ and clang++ accept them in C++17 as an
 * extension, with a warning under -pedantic).
 */
/* One field a line, in declaration order: kept as written. */
/* clang-format off */
#define GRB_CTF_CONFIG_CLOCK_WAKEUP(_alloc, _sync, _mode, _clock, _wakeup)                 \
	{                                                                                  \
		.abi = GRB_CONFIG_ABI,                                                     \
		.alloc = (_alloc),                                                         \
		.sync = (_sync),                                                           \
		.mode = (_mode),                                                           \
		.wakeup = (_wakeup),                                                       \
		.ts_bits = GRB_CTF_TS_BITS,                                                \
		.max_nesting = 4,                                                          \
		.record_align = 1,                                                         \
		.packet_header_size = GRB_CTF_PACKET_HEADER_SIZE,                          \
		.min_record_size = GRB_CTF_COMPACT_SIZE,                                   \
		.clock_read = (_clock),                                                    \
		.record_header_size = grb_ctf_header_size,                                 \
		.record_header_write = grb_ctf_header_write,                               \
		.packet_begin = grb_ctf_packet_begin,                                      \
		.packet_end = grb_ctf_packet_end,                                          \
		.record_decode = grb_ctf_record_decode,                                    \
		.record_discard = grb_ctf_record_discard,                                  \
		.name = "ctf",                                                             \
		.packet_published = NULL,                                                  \
		.prev_ts_exact = 0,                                                        \
	}
#define GRB_CTF_CONFIG_CLOCK(_alloc, _sync, _mode, _clock)                                 \
	GRB_CTF_CONFIG_CLOCK_WAKEUP(_alloc, _sync, _mode, _clock, GRB_WAKEUP_NONE)
#define GRB_CTF_CONFIG(_alloc, _sync, _mode)                                               \
	GRB_CTF_CONFIG_CLOCK(_alloc, _sync, _mode, grb_clock_monotonic)
/* The same record format with a wake-up other than GRB_WAKEUP_NONE (the
 * writer that delivers a sub-buffer wakes a waiting reader): what a
 * kernel module's channel read through /dev/grb uses (doc/kernel.md). */
#define GRB_CTF_CONFIG_WAKEUP(_alloc, _sync, _mode, _wakeup)                                \
	GRB_CTF_CONFIG_CLOCK_WAKEUP(_alloc, _sync, _mode, grb_clock_monotonic, _wakeup)
/* Records that carry the writer's process and thread ids (vpid, vtid):
 * give the trace attr.event_context = GRB_CTF_CONTEXT_IDS.  _WAKEUP: with
 * a wake-up other than GRB_WAKEUP_NONE (the same record format). */
#define GRB_CTF_CONFIG_IDS_WAKEUP(_alloc, _sync, _mode, _wakeup)                            \
	{                                                                                  \
		.abi = GRB_CONFIG_ABI,                                                     \
		.alloc = (_alloc),                                                         \
		.sync = (_sync),                                                           \
		.mode = (_mode),                                                           \
		.wakeup = (_wakeup),                                                       \
		.ts_bits = GRB_CTF_TS_BITS,                                                \
		.max_nesting = 4,                                                          \
		.record_align = 1,                                                         \
		.packet_header_size = GRB_CTF_PACKET_HEADER_SIZE,                          \
		.min_record_size = GRB_CTF_COMPACT_SIZE + GRB_CTF_IDS_SIZE,                \
		.clock_read = grb_clock_monotonic,                                         \
		.record_header_size = grb_ctf_header_size_ids,                             \
		.record_header_write = grb_ctf_header_write_ids,                           \
		.packet_begin = grb_ctf_packet_begin,                                      \
		.packet_end = grb_ctf_packet_end,                                          \
		.record_decode = grb_ctf_record_decode_ids,                                \
		.record_discard = grb_ctf_record_discard_ids,                              \
		.name = "ctf-ids",                                                         \
		.packet_published = NULL,                                                  \
		.prev_ts_exact = 0,                                                        \
	}
#define GRB_CTF_CONFIG_IDS(_alloc, _sync, _mode)                                           \
	GRB_CTF_CONFIG_IDS_WAKEUP(_alloc, _sync, _mode, GRB_WAKEUP_NONE)
/* clang-format on */

/* Field-kind expansions used by GRB_CTF_EVENT (P: parameter, S: size,
 * W: write, D: description). */
#define _GRB_CTF_P(kind, ...) _GRB_CTF_P_##kind(__VA_ARGS__)
#define _GRB_CTF_S(kind, ...) _GRB_CTF_S_##kind(__VA_ARGS__)
#define _GRB_CTF_W(kind, ...) _GRB_CTF_W_##kind(__VA_ARGS__)
#define _GRB_CTF_D(kind, ...) _GRB_CTF_D_##kind(__VA_ARGS__)
#define _GRB_CTF_FIELD(_name, _type, _elem, _len, _enm) \
	{ .name = (_name), .type = (_type), .elem = (_elem), .len = (_len), .enm = (_enm) },
#define _GRB_CTF_P_u8(n) , uint8_t n
#define _GRB_CTF_S_u8(n) _grb_len += sizeof(uint8_t);
#define _GRB_CTF_W_u8(n) grb_write(&_grb_ctx, &n, sizeof(uint8_t));
#define _GRB_CTF_D_u8(n) _GRB_CTF_FIELD(#n, GRB_CTF_U8, GRB_CTF_U8, 0, NULL)
#define _GRB_CTF_P_u16(n) , uint16_t n
#define _GRB_CTF_S_u16(n) _grb_len += sizeof(uint16_t);
#define _GRB_CTF_W_u16(n) grb_write(&_grb_ctx, &n, sizeof(uint16_t));
#define _GRB_CTF_D_u16(n) _GRB_CTF_FIELD(#n, GRB_CTF_U16, GRB_CTF_U16, 0, NULL)
#define _GRB_CTF_P_u32(n) , uint32_t n
#define _GRB_CTF_S_u32(n) _grb_len += sizeof(uint32_t);
#define _GRB_CTF_W_u32(n) grb_write(&_grb_ctx, &n, sizeof(uint32_t));
#define _GRB_CTF_D_u32(n) _GRB_CTF_FIELD(#n, GRB_CTF_U32, GRB_CTF_U32, 0, NULL)
#define _GRB_CTF_P_u64(n) , uint64_t n
#define _GRB_CTF_S_u64(n) _grb_len += sizeof(uint64_t);
#define _GRB_CTF_W_u64(n) grb_write(&_grb_ctx, &n, sizeof(uint64_t));
#define _GRB_CTF_D_u64(n) _GRB_CTF_FIELD(#n, GRB_CTF_U64, GRB_CTF_U64, 0, NULL)
#define _GRB_CTF_P_s8(n) , int8_t n
#define _GRB_CTF_S_s8(n) _grb_len += sizeof(int8_t);
#define _GRB_CTF_W_s8(n) grb_write(&_grb_ctx, &n, sizeof(int8_t));
#define _GRB_CTF_D_s8(n) _GRB_CTF_FIELD(#n, GRB_CTF_S8, GRB_CTF_S8, 0, NULL)
#define _GRB_CTF_P_s16(n) , int16_t n
#define _GRB_CTF_S_s16(n) _grb_len += sizeof(int16_t);
#define _GRB_CTF_W_s16(n) grb_write(&_grb_ctx, &n, sizeof(int16_t));
#define _GRB_CTF_D_s16(n) _GRB_CTF_FIELD(#n, GRB_CTF_S16, GRB_CTF_S16, 0, NULL)
#define _GRB_CTF_P_s32(n) , int32_t n
#define _GRB_CTF_S_s32(n) _grb_len += sizeof(int32_t);
#define _GRB_CTF_W_s32(n) grb_write(&_grb_ctx, &n, sizeof(int32_t));
#define _GRB_CTF_D_s32(n) _GRB_CTF_FIELD(#n, GRB_CTF_S32, GRB_CTF_S32, 0, NULL)
#define _GRB_CTF_P_s64(n) , int64_t n
#define _GRB_CTF_S_s64(n) _grb_len += sizeof(int64_t);
#define _GRB_CTF_W_s64(n) grb_write(&_grb_ctx, &n, sizeof(int64_t));
#define _GRB_CTF_D_s64(n) _GRB_CTF_FIELD(#n, GRB_CTF_S64, GRB_CTF_S64, 0, NULL)
#define _GRB_CTF_P_f32(n) , float n
#define _GRB_CTF_S_f32(n) _grb_len += sizeof(float);
#define _GRB_CTF_W_f32(n) grb_write(&_grb_ctx, &n, sizeof(float));
#define _GRB_CTF_D_f32(n) _GRB_CTF_FIELD(#n, GRB_CTF_F32, GRB_CTF_F32, 0, NULL)
#define _GRB_CTF_P_f64(n) , double n
#define _GRB_CTF_S_f64(n) _grb_len += sizeof(double);
#define _GRB_CTF_W_f64(n) grb_write(&_grb_ctx, &n, sizeof(double));
#define _GRB_CTF_D_f64(n) _GRB_CTF_FIELD(#n, GRB_CTF_F64, GRB_CTF_F64, 0, NULL)
#define _GRB_CTF_P_array_u8(n, N) , const uint8_t *n
#define _GRB_CTF_S_array_u8(n, N) _grb_len += (uint64_t)(N) * sizeof(uint8_t);
#define _GRB_CTF_W_array_u8(n, N) grb_write(&_grb_ctx, n, (size_t)(N) * sizeof(uint8_t));
#define _GRB_CTF_D_array_u8(n, N) _GRB_CTF_FIELD(#n, GRB_CTF_ARRAY, GRB_CTF_U8, (N), NULL)
#define _GRB_CTF_P_seq_u8(n, MAX) , const uint8_t *n, uint32_t n##_len
#define _GRB_CTF_S_seq_u8(n, MAX)        \
	_grb_too_big |= n##_len > (MAX); \
	_grb_len += 4 + (uint64_t)n##_len * sizeof(uint8_t);
#define _GRB_CTF_W_seq_u8(n, MAX)          \
	grb_write(&_grb_ctx, &n##_len, 4); \
	grb_write(&_grb_ctx, n, (size_t)n##_len * sizeof(uint8_t));
#define _GRB_CTF_D_seq_u8(n, MAX) _GRB_CTF_FIELD(#n, GRB_CTF_SEQUENCE, GRB_CTF_U8, (MAX), NULL)
#define _GRB_CTF_P_array_u16(n, N) , const uint16_t *n
#define _GRB_CTF_S_array_u16(n, N) _grb_len += (uint64_t)(N) * sizeof(uint16_t);
#define _GRB_CTF_W_array_u16(n, N) grb_write(&_grb_ctx, n, (size_t)(N) * sizeof(uint16_t));
#define _GRB_CTF_D_array_u16(n, N) _GRB_CTF_FIELD(#n, GRB_CTF_ARRAY, GRB_CTF_U16, (N), NULL)
#define _GRB_CTF_P_seq_u16(n, MAX) , const uint16_t *n, uint32_t n##_len
#define _GRB_CTF_S_seq_u16(n, MAX)       \
	_grb_too_big |= n##_len > (MAX); \
	_grb_len += 4 + (uint64_t)n##_len * sizeof(uint16_t);
#define _GRB_CTF_W_seq_u16(n, MAX)         \
	grb_write(&_grb_ctx, &n##_len, 4); \
	grb_write(&_grb_ctx, n, (size_t)n##_len * sizeof(uint16_t));
#define _GRB_CTF_D_seq_u16(n, MAX) _GRB_CTF_FIELD(#n, GRB_CTF_SEQUENCE, GRB_CTF_U16, (MAX), NULL)
#define _GRB_CTF_P_array_u32(n, N) , const uint32_t *n
#define _GRB_CTF_S_array_u32(n, N) _grb_len += (uint64_t)(N) * sizeof(uint32_t);
#define _GRB_CTF_W_array_u32(n, N) grb_write(&_grb_ctx, n, (size_t)(N) * sizeof(uint32_t));
#define _GRB_CTF_D_array_u32(n, N) _GRB_CTF_FIELD(#n, GRB_CTF_ARRAY, GRB_CTF_U32, (N), NULL)
#define _GRB_CTF_P_seq_u32(n, MAX) , const uint32_t *n, uint32_t n##_len
#define _GRB_CTF_S_seq_u32(n, MAX)       \
	_grb_too_big |= n##_len > (MAX); \
	_grb_len += 4 + (uint64_t)n##_len * sizeof(uint32_t);
#define _GRB_CTF_W_seq_u32(n, MAX)         \
	grb_write(&_grb_ctx, &n##_len, 4); \
	grb_write(&_grb_ctx, n, (size_t)n##_len * sizeof(uint32_t));
#define _GRB_CTF_D_seq_u32(n, MAX) _GRB_CTF_FIELD(#n, GRB_CTF_SEQUENCE, GRB_CTF_U32, (MAX), NULL)
#define _GRB_CTF_P_array_u64(n, N) , const uint64_t *n
#define _GRB_CTF_S_array_u64(n, N) _grb_len += (uint64_t)(N) * sizeof(uint64_t);
#define _GRB_CTF_W_array_u64(n, N) grb_write(&_grb_ctx, n, (size_t)(N) * sizeof(uint64_t));
#define _GRB_CTF_D_array_u64(n, N) _GRB_CTF_FIELD(#n, GRB_CTF_ARRAY, GRB_CTF_U64, (N), NULL)
#define _GRB_CTF_P_seq_u64(n, MAX) , const uint64_t *n, uint32_t n##_len
#define _GRB_CTF_S_seq_u64(n, MAX)       \
	_grb_too_big |= n##_len > (MAX); \
	_grb_len += 4 + (uint64_t)n##_len * sizeof(uint64_t);
#define _GRB_CTF_W_seq_u64(n, MAX)         \
	grb_write(&_grb_ctx, &n##_len, 4); \
	grb_write(&_grb_ctx, n, (size_t)n##_len * sizeof(uint64_t));
#define _GRB_CTF_D_seq_u64(n, MAX) _GRB_CTF_FIELD(#n, GRB_CTF_SEQUENCE, GRB_CTF_U64, (MAX), NULL)
#define _GRB_CTF_P_array_s8(n, N) , const int8_t *n
#define _GRB_CTF_S_array_s8(n, N) _grb_len += (uint64_t)(N) * sizeof(int8_t);
#define _GRB_CTF_W_array_s8(n, N) grb_write(&_grb_ctx, n, (size_t)(N) * sizeof(int8_t));
#define _GRB_CTF_D_array_s8(n, N) _GRB_CTF_FIELD(#n, GRB_CTF_ARRAY, GRB_CTF_S8, (N), NULL)
#define _GRB_CTF_P_seq_s8(n, MAX) , const int8_t *n, uint32_t n##_len
#define _GRB_CTF_S_seq_s8(n, MAX)        \
	_grb_too_big |= n##_len > (MAX); \
	_grb_len += 4 + (uint64_t)n##_len * sizeof(int8_t);
#define _GRB_CTF_W_seq_s8(n, MAX)          \
	grb_write(&_grb_ctx, &n##_len, 4); \
	grb_write(&_grb_ctx, n, (size_t)n##_len * sizeof(int8_t));
#define _GRB_CTF_D_seq_s8(n, MAX) _GRB_CTF_FIELD(#n, GRB_CTF_SEQUENCE, GRB_CTF_S8, (MAX), NULL)
#define _GRB_CTF_P_array_s16(n, N) , const int16_t *n
#define _GRB_CTF_S_array_s16(n, N) _grb_len += (uint64_t)(N) * sizeof(int16_t);
#define _GRB_CTF_W_array_s16(n, N) grb_write(&_grb_ctx, n, (size_t)(N) * sizeof(int16_t));
#define _GRB_CTF_D_array_s16(n, N) _GRB_CTF_FIELD(#n, GRB_CTF_ARRAY, GRB_CTF_S16, (N), NULL)
#define _GRB_CTF_P_seq_s16(n, MAX) , const int16_t *n, uint32_t n##_len
#define _GRB_CTF_S_seq_s16(n, MAX)       \
	_grb_too_big |= n##_len > (MAX); \
	_grb_len += 4 + (uint64_t)n##_len * sizeof(int16_t);
#define _GRB_CTF_W_seq_s16(n, MAX)         \
	grb_write(&_grb_ctx, &n##_len, 4); \
	grb_write(&_grb_ctx, n, (size_t)n##_len * sizeof(int16_t));
#define _GRB_CTF_D_seq_s16(n, MAX) _GRB_CTF_FIELD(#n, GRB_CTF_SEQUENCE, GRB_CTF_S16, (MAX), NULL)
#define _GRB_CTF_P_array_s32(n, N) , const int32_t *n
#define _GRB_CTF_S_array_s32(n, N) _grb_len += (uint64_t)(N) * sizeof(int32_t);
#define _GRB_CTF_W_array_s32(n, N) grb_write(&_grb_ctx, n, (size_t)(N) * sizeof(int32_t));
#define _GRB_CTF_D_array_s32(n, N) _GRB_CTF_FIELD(#n, GRB_CTF_ARRAY, GRB_CTF_S32, (N), NULL)
#define _GRB_CTF_P_seq_s32(n, MAX) , const int32_t *n, uint32_t n##_len
#define _GRB_CTF_S_seq_s32(n, MAX)       \
	_grb_too_big |= n##_len > (MAX); \
	_grb_len += 4 + (uint64_t)n##_len * sizeof(int32_t);
#define _GRB_CTF_W_seq_s32(n, MAX)         \
	grb_write(&_grb_ctx, &n##_len, 4); \
	grb_write(&_grb_ctx, n, (size_t)n##_len * sizeof(int32_t));
#define _GRB_CTF_D_seq_s32(n, MAX) _GRB_CTF_FIELD(#n, GRB_CTF_SEQUENCE, GRB_CTF_S32, (MAX), NULL)
#define _GRB_CTF_P_array_s64(n, N) , const int64_t *n
#define _GRB_CTF_S_array_s64(n, N) _grb_len += (uint64_t)(N) * sizeof(int64_t);
#define _GRB_CTF_W_array_s64(n, N) grb_write(&_grb_ctx, n, (size_t)(N) * sizeof(int64_t));
#define _GRB_CTF_D_array_s64(n, N) _GRB_CTF_FIELD(#n, GRB_CTF_ARRAY, GRB_CTF_S64, (N), NULL)
#define _GRB_CTF_P_seq_s64(n, MAX) , const int64_t *n, uint32_t n##_len
#define _GRB_CTF_S_seq_s64(n, MAX)       \
	_grb_too_big |= n##_len > (MAX); \
	_grb_len += 4 + (uint64_t)n##_len * sizeof(int64_t);
#define _GRB_CTF_W_seq_s64(n, MAX)         \
	grb_write(&_grb_ctx, &n##_len, 4); \
	grb_write(&_grb_ctx, n, (size_t)n##_len * sizeof(int64_t));
#define _GRB_CTF_D_seq_s64(n, MAX) _GRB_CTF_FIELD(#n, GRB_CTF_SEQUENCE, GRB_CTF_S64, (MAX), NULL)
#define _GRB_CTF_P_enum_u8(n, E) , uint8_t n
#define _GRB_CTF_S_enum_u8(n, E) _grb_len += sizeof(uint8_t);
#define _GRB_CTF_W_enum_u8(n, E) grb_write(&_grb_ctx, &n, sizeof(uint8_t));
#define _GRB_CTF_D_enum_u8(n, E) _GRB_CTF_FIELD(#n, GRB_CTF_ENUM, GRB_CTF_U8, 0, &(E))
#define _GRB_CTF_P_enum_u16(n, E) , uint16_t n
#define _GRB_CTF_S_enum_u16(n, E) _grb_len += sizeof(uint16_t);
#define _GRB_CTF_W_enum_u16(n, E) grb_write(&_grb_ctx, &n, sizeof(uint16_t));
#define _GRB_CTF_D_enum_u16(n, E) _GRB_CTF_FIELD(#n, GRB_CTF_ENUM, GRB_CTF_U16, 0, &(E))
#define _GRB_CTF_P_enum_u32(n, E) , uint32_t n
#define _GRB_CTF_S_enum_u32(n, E) _grb_len += sizeof(uint32_t);
#define _GRB_CTF_W_enum_u32(n, E) grb_write(&_grb_ctx, &n, sizeof(uint32_t));
#define _GRB_CTF_D_enum_u32(n, E) _GRB_CTF_FIELD(#n, GRB_CTF_ENUM, GRB_CTF_U32, 0, &(E))
#define _GRB_CTF_P_enum_u64(n, E) , uint64_t n
#define _GRB_CTF_S_enum_u64(n, E) _grb_len += sizeof(uint64_t);
#define _GRB_CTF_W_enum_u64(n, E) grb_write(&_grb_ctx, &n, sizeof(uint64_t));
#define _GRB_CTF_D_enum_u64(n, E) _GRB_CTF_FIELD(#n, GRB_CTF_ENUM, GRB_CTF_U64, 0, &(E))
#define _GRB_CTF_P_string(n, MAX) , const char *n
#define _GRB_CTF_S_string(n, MAX)           \
	size_t _grb_l_##n = strlen(n) + 1;  \
	_grb_too_big |= _grb_l_##n > (MAX); \
	_grb_len += _grb_l_##n;
#define _GRB_CTF_W_string(n, MAX) grb_write(&_grb_ctx, n, _grb_l_##n);
#define _GRB_CTF_D_string(n, MAX) _GRB_CTF_FIELD(#n, GRB_CTF_STRING, GRB_CTF_U8, (MAX), NULL)

/** GRB_CTF_EVENT(sym, "provider:name", id, FIELDS) - see the top of this file. */
#define GRB_CTF_EVENT(sym, ename, eid, FIELDS)                                                     \
	static const struct grb_ctf_field_desc sym##_fields[] = { FIELDS(                          \
		_GRB_CTF_D) _GRB_CTF_FIELD(NULL, GRB_CTF_U8, GRB_CTF_U8, 0, NULL) };               \
	static const struct grb_ctf_event_desc sym##_event = {                                     \
		.name = ename,                                                                     \
		.id = (eid),                                                                       \
		.nr_fields = sizeof(sym##_fields) / sizeof(sym##_fields[0]) - 1,                   \
		.fields = sym##_fields,                                                            \
	};                                                                                         \
	static _grb_always_inline __attribute__((unused)) int sym##_write(                         \
		const struct grb_config *_grb_cfg, struct grb_channel *_grb_ch FIELDS(_GRB_CTF_P)) \
	{                                                                                          \
		struct grb_ctx _grb_ctx;                                                           \
		uint64_t _grb_len = 0;                                                             \
		int _grb_too_big = 0, _grb_ret;                                                    \
		if (_grb_unlikely(!grb_enabled(_grb_ch)))                                          \
			return -EAGAIN;                                                            \
		FIELDS(_GRB_CTF_S)                                                                 \
		_grb_ctx.event_id = (eid);                                                         \
		_grb_ctx.payload_len =                                                             \
			(_grb_too_big || _grb_len > UINT32_MAX) ? UINT32_MAX : (uint32_t)_grb_len; \
		_grb_ret = grb_reserve(_grb_cfg, _grb_ch, &_grb_ctx);                              \
		if (_grb_unlikely(_grb_ret))                                                       \
			return _grb_ret;                                                           \
		/* A payload of UINT32_MAX never fits (-E2BIG): no field is over \
		 * its maximum below, which the compiler may then assume. */                 \
		if (_grb_too_big)                                                                  \
			__builtin_unreachable();                                                   \
		FIELDS(_GRB_CTF_W)                                                                 \
		grb_commit(_grb_cfg, &_grb_ctx);                                                   \
		return 0;                                                                          \
	}

/** A CTF clock description (zeroed fields take the CLOCK_MONOTONIC defaults). */
struct grb_ctf_clock {
	const char *name; /* TSDL identifier; default "monotonic" */
	const char *description;
	uint64_t freq; /* Hz; default 1000000000 */
	int64_t offset_s; /* Epoch seconds of clock value 0; default: now - CLOCK_MONOTONIC */
	uint64_t offset; /* in cycles, added to offset_s */
	const char *uuid; /* default: this boot's id, as LTTng does */
	int offset_set; /* 1: offset_s/offset are given (else computed) */
};

/** Attributes of a CTF trace; initialise with grb_ctf_trace_attr_init(). */
struct grb_ctf_trace_attr {
	uint32_t size; /* sizeof(struct grb_ctf_trace_attr) */
	const char *path; /* the trace directory: must not exist, or be empty */
	const char *channel_name; /* stream file prefix; default "channel0" */
	const struct grb_ctf_event_desc *const *events;
	uint32_t nr_events;
	struct grb_channel_attr chan; /* geometry, CPU set, switch timer */
	struct grb_ctf_clock clock;
	uint64_t read_period_us; /* consumer poll period; default 10 ms; over
				  * UINT64_MAX / 1000: until the trace stops */
	const char *hostname; /* env.hostname; default gethostname() */
	/* What every event carries after its header: 0, or
	 * GRB_CTF_CONTEXT_IDS for a configuration of GRB_CTF_CONFIG_IDS. */
	uint32_t event_context;
	uint32_t _pad;
};

/* struct grb_ctf_trace_attr.event_context */
#define GRB_CTF_CONTEXT_IDS 1u /* int32 vpid, vtid (GRB_CTF_CONFIG_IDS) */

struct grb_ctf_trace;

/** Per-stream figures of a trace (what reached the disk). */
struct grb_ctf_stream_stats {
	uint64_t packets; /* packets written to the stream file */
	uint64_t events; /* events in those packets */
	uint64_t bytes; /* bytes written to the stream file */
	uint64_t packets_dropped; /* packets taken from the ring but not written (I/O error) */
	uint64_t events_dropped;
	uint64_t lost[GRB_LOST_NR]; /* the ring's loss counters */
};

void grb_ctf_trace_attr_init(struct grb_ctf_trace_attr *attr);

/**
 * grb_ctf_validate_events() - check event descriptions against CTF's rules
 * and the sub-buffer size: names, field names, duplicate ids, reserved ids,
 * too many fields, a maximal event larger than a sub-buffer.
 * Return: 0; -EINVAL with grb_last_error() naming the event and the field.
 */
int grb_ctf_validate_events(const struct grb_ctf_event_desc *const *events, uint32_t nr,
			    uint32_t subbuf_size);

/**
 * grb_ctf_metadata() - the TSDL text of a trace (malloc'd, NUL-terminated).
 * Return: the text, or NULL with errno (EINVAL: invalid events; ENOMEM).
 */
char *grb_ctf_metadata(const struct grb_ctf_trace_attr *attr, const uint8_t uuid[16]);

/**
 * grb_ctf_trace_create() - create the trace directory and its metadata,
 * create the channel, start the consumer thread that writes its packets.
 * Return: the trace, or NULL with errno: EINVAL (grb_last_error() says
 * which field or event), EEXIST (a non-empty directory is in the way),
 * ENOENT/EACCES/ENOSPC/... from creating the directory or the metadata.
 */
struct grb_ctf_trace *grb_ctf_trace_create(const struct grb_config *cfg,
					   const struct grb_ctf_trace_attr *attr);

/** grb_ctf_trace_channel() - the channel events are written to. */
struct grb_channel *grb_ctf_trace_channel(struct grb_ctf_trace *t);

/**
 * grb_ctf_trace_stop() - stop recording, flush, drain every stream to
 * disk, write the index files and close.  Writers must be done.
 * Return: 0, or the first I/O error (e.g. -ENOSPC); the files then hold
 * every whole packet written before it, a valid trace.  -ETIMEDOUT: a
 * stream did not drain within 2 s of the stop (a writer that never
 * committed a reservation); what was written is still a valid trace.
 */
int grb_ctf_trace_stop(struct grb_ctf_trace *t);

/** grb_ctf_trace_error() - the message of the first I/O error, or "". */
const char *grb_ctf_trace_error(const struct grb_ctf_trace *t);

/** grb_ctf_trace_stream_stats() - figures of one stream.
 * Return: 0; -EINVAL bad index. */
int grb_ctf_trace_stream_stats(const struct grb_ctf_trace *t, uint32_t stream,
			       struct grb_ctf_stream_stats *st);

/** grb_ctf_trace_destroy() - stop if needed, then free.  Return: 0, -EINVAL. */
int grb_ctf_trace_destroy(struct grb_ctf_trace *t);

/*
 * A fed trace: the streams of channels attached from other processes
 * (grb_channel_attach), each with the events it writes, in one trace
 * (`grb record -- PROGRAM`).  It has no channel and no consumer thread of
 * its own: the caller drains it with grb_ctf_trace_poll(), then stops and
 * destroys it as any trace.  Each source's events form a stream class of
 * the metadata (sources with the same events share one); its stream files
 * are <name>_<pid>_<stream> (<name>_<pid>.<n>_<stream> for the n-th
 * source of the same name and pid after the first: a program that called
 * exec), and each stream is a stream instance of its own.
 */

/** Figures of one source of a fed trace. */
struct grb_ctf_source_stats {
	int32_t pid;
	uint32_t nr_streams; /* streams of its channel */
	uint32_t streams_written; /* of them, with a stream file */
	uint32_t ended; /* 1: every stream ended (the writer is gone and all
			 * it committed is on disk or counted) */
	uint64_t packets, events, bytes; /* on disk */
	uint64_t events_dropped; /* taken but not written (I/O error) */
	uint64_t committed; /* records its writers committed (the streams' count) */
	uint64_t corrupt_records; /* in packets that failed validation */
	uint64_t lost[GRB_LOST_NR]; /* by cause, the channel's (no-stream included) */
	uint64_t lost_total;
};

/** grb_ctf_trace_create_fed() - as grb_ctf_trace_create(), but the trace
 * gets its streams from grb_ctf_trace_attach() (attr.events and
 * attr.chan are not used; cfg is the writers' configuration). */
struct grb_ctf_trace *grb_ctf_trace_create_fed(const struct grb_config *cfg,
					       const struct grb_ctf_trace_attr *attr);

/**
 * grb_ctf_trace_attach() - attach another process's channel (its stream
 * descriptors, in index order: grb_channel_attach) to a fed trace.
 * @name: the stream files' prefix (a file name, as attr.channel_name)
 * @pid: the writing process, for the file names and the figures
 * @events: the events its records use; they must outlive the trace
 * Return: the source's index (0, 1, ...), or a negative errno:
 * grb_channel_attach's (-EPROTO...), -EINVAL (bad name or events, a trace
 * that is not fed or stopped), -ENOMEM, or an error appending the
 * metadata; grb_last_error() says what.
 */
int grb_ctf_trace_attach(struct grb_ctf_trace *t, const int *fds, uint32_t nr, const char *name,
			 int32_t pid, const struct grb_ctf_event_desc *const *events,
			 uint32_t nr_events);

/**
 * grb_ctf_trace_attach_cfg() - as grb_ctf_trace_attach(), for a source
 * whose writers use @cfg rather than the trace's configuration: the same
 * record format (the same record and packet callbacks, clock, timestamp
 * bits and header sizes) in another mode, allocation, sync or wake-up
 * (GRB_SESSION_CONFIG_OVERWRITE beside GRB_SESSION_CONFIG).  @cfg must
 * outlive the trace.  Return: as grb_ctf_trace_attach(); -EINVAL also for
 * a configuration of another record format.
 */
int grb_ctf_trace_attach_cfg(struct grb_ctf_trace *t, const struct grb_config *cfg, const int *fds,
			     uint32_t nr, const char *name, int32_t pid,
			     const struct grb_ctf_event_desc *const *events, uint32_t nr_events);

/** grb_ctf_trace_source_channel() - the attached channel of a source
 * (grb_channel_owner_alive, grb_channel_owner_gone); NULL: bad index. */
struct grb_channel *grb_ctf_trace_source_channel(struct grb_ctf_trace *t, uint32_t src);

/**
 * grb_ctf_trace_source_end() - the source's writing process is gone
 * (exited, died, or called exec: grb_channel_owner_alive said 0, or the
 * caller knows): from the next poll, the records it committed in packets
 * it never delivered are read in place and written as a last packet of
 * each stream, then the source ends.  Return: 0; -EINVAL.
 */
int grb_ctf_trace_source_end(struct grb_ctf_trace *t, uint32_t src);

/**
 * grb_ctf_trace_poll() - take every packet ready in every source and
 * write it; a source whose streams all ended gets its closing packets and
 * is marked ended.  Return: packets taken (0: none ready); -EINVAL not a
 * running fed trace.  I/O errors as for a trace's consumer
 * (grb_ctf_trace_error).
 */
int grb_ctf_trace_poll(struct grb_ctf_trace *t);

/** grb_ctf_trace_source_stats() - figures of a source.  Return: 0; -EINVAL. */
int grb_ctf_trace_source_stats(const struct grb_ctf_trace *t, uint32_t src,
			       struct grb_ctf_source_stats *st);

/*
 * A sink: a second destination of what a fed trace writes (the network
 * stream of `grb record --relay`, doc/relay.md).  It gets the metadata
 * text, each stream when its source is attached, and each packet once it
 * is in its stream file, with its index entry: the same trace, packet for
 * packet.  Its callbacks run in the thread that calls
 * grb_ctf_trace_attach(), _poll() and _stop(), inside those calls; they
 * must not call the trace, and should not block (queue and return).
 */
struct grb_ctf_index_entry; /* below */

struct grb_ctf_sink {
	uint32_t size; /* sizeof(struct grb_ctf_sink) */
	uint32_t _pad;
	void *arg; /* passed to each callback */
	/* TSDL text appended to the metadata; the first call has all of it
	 * so far.  uuid: the trace's (its packets' headers carry it). */
	void (*metadata)(void *arg, const uint8_t uuid[16], const char *text, size_t len);
	/* A stream of the trace (0, 1, ... in attach order), its file's
	 * name, and the GRB_CTF_PACKET_HEADER_SIZE bytes of an empty packet
	 * that would open it when its source was attached: sequence number
	 * 0, begin = end = that time, nothing discarded, the stream's class
	 * and instance.  Every record of the source comes after that time. */
	void (*stream)(void *arg, uint32_t stream, const char *name, const void *open_packet);
	/* A packet appended to the stream's file: its header as written
	 * (GRB_CTF_PACKET_HEADER_SIZE bytes), the rest of its len bytes at
	 * body, its index entry (offset: in the local file) and records. */
	void (*packet)(void *arg, uint32_t stream, const void *header, const void *body,
		       uint64_t len, const struct grb_ctf_index_entry *e, uint64_t records);
};

/**
 * grb_ctf_trace_set_sink() - give a fed trace a sink, before its first
 * source is attached; the metadata so far goes to it at once.
 * Return: 0; -EINVAL (not a fed trace, stopped, a bad size or a NULL
 * callback); -EBUSY (a source is attached already, or a sink is set).
 */
int grb_ctf_trace_set_sink(struct grb_ctf_trace *t, const struct grb_ctf_sink *sink);

/**
 * grb_ctf_trace_stream_idle() - is everything a fed stream's writers
 * reserved so far in the packets the trace wrote?  *reserved (if not
 * NULL) gets the bytes reserved in the stream since it was created: a
 * count that grows with each reservation, so two calls that see the same
 * count saw no reservation published between their looks.
 * Return: 1 idle (nothing reserved that is not written); 0 not (a packet
 * is open, or delivered and not yet taken); 2 the stream ended (its
 * source's writer is gone and everything it committed is written: it
 * will never get another packet); -EINVAL (a bad index, not a fed trace).
 */
int grb_ctf_trace_stream_idle(const struct grb_ctf_trace *t, uint32_t stream, uint64_t *reserved);

/**
 * grb_ctf_trace_stream_quiet() - grb_ctf_trace_stream_idle(), and whether
 * the stream can still get a record older than the caller's clock read.
 * Read the trace's clock (an ordered read: the vDSO's CLOCK_MONOTONIC,
 * grb_clock_tsc()), then call it.  A per-thread stream that no thread
 * owns, and in whose packets everything reserved is written, gets its
 * next record from a thread that claims it first, and a writer reads its
 * clock after its claim: that record's time comes after the caller's
 * ([O4], doc/ordering.md).
 * Return: 3 idle and owned by no thread (per-thread streams only):
 * nothing older than the caller's clock read will come; 1 idle; 0 not;
 * 2 ended; -EINVAL; *reserved as grb_ctf_trace_stream_idle().
 */
int grb_ctf_trace_stream_quiet(const struct grb_ctf_trace *t, uint32_t stream, uint64_t *reserved);

/**
 * grb_ctf_trace_stream_take() - write, as a packet of their own, the
 * records committed so far in the packet a fed stream's writer keeps open
 * (read by a snapshot reader, nothing consumed), after the packets
 * delivered; the packet, once delivered, is written without them (its
 * header's begin then the time of the last of them), and read in place
 * without them if its writer is gone.  For a live destination (the sink)
 * that must not wait for a thread's next event; the cumulative losses
 * stay those of the packet before, the next part's header carries them.
 * Not in overwrite mode, where the ring may reuse the packet first.
 * grb_ctf_trace_stream_idle() then counts the records so written: a
 * stream whose every reserved byte is committed and written is idle.
 * Return: records written (0: none); -EINVAL (a bad index, not a fed
 * trace, stopped).
 */
int grb_ctf_trace_stream_take(struct grb_ctf_trace *t, uint32_t stream);

/* Reading a trace back: its clock and its packet indexes. */

/** A trace's clock, as its metadata's clock block gives it. */
struct grb_ctf_clock_info {
	uint64_t freq; /* Hz, never 0; 1000000000 when the block does not say */
	int64_t offset_s; /* Unix time in seconds of clock value 0 (0 when unsaid) */
	uint64_t offset; /* in cycles, added to offset_s (0 when unsaid) */
};

/* The largest metadata grb_ctf_read_clock() reads. */
#define GRB_CTF_METADATA_MAX (64u << 20)

/**
 * grb_ctf_read_clock() - read the clock of the trace in directory dir from
 * dir/metadata (text TSDL): the freq, offset_s and offset of its one clock
 * block.  The whole text is tokenized (comments, strings and nested blocks
 * are skipped, so a description that mentions "freq = " misleads nothing).
 * The block's other fields (name, uuid, description, precision, absolute)
 * are not returned.  On error *clk is left as it was.
 * Return: 0; -EINVAL: a NULL argument; -ENOENT, -EACCES, -EIO, ...: opening
 * or reading the metadata; -EFBIG: metadata larger than
 * GRB_CTF_METADATA_MAX; -EPROTONOSUPPORT: packetized (binary) metadata;
 * -EPROTO: malformed metadata (an unterminated comment or string, unbalanced
 * braces, a NUL byte, more than one clock block, a clock field given twice,
 * not an integer, out of range, or a freq of 0); -ENODATA: no clock block;
 * -ENOMEM.  Every error sets grb_last_error() (file, line and reason).
 */
int grb_ctf_read_clock(const char *dir, struct grb_ctf_clock_info *clk);

/** One entry of a packet index: one packet of the stream file. */
struct grb_ctf_index_entry {
	uint64_t offset; /* of the packet in the stream file, in bytes */
	uint64_t packet_size; /* in bits */
	uint64_t content_size; /* in bits; this client writes packet_size == content_size */
	uint64_t timestamp_begin; /* clock cycles (struct grb_ctf_clock_info) */
	uint64_t timestamp_end;
	uint64_t events_discarded; /* cumulative, see doc/ctf.md "Losses" */
	uint64_t stream_id; /* the stream class: 0 in this client's traces */
	uint64_t stream_instance_id;
	uint64_t packet_seq_num;
};

/* An open packet index (index/<stream>.idx). */
struct grb_ctf_index;

/**
 * grb_ctf_index_open() - open dir/index/<stream>.idx, the LTTng packet
 * index of stream file dir/<stream>, and check its header: magic
 * 0xC1F1DCC1, version 1.x with x >= 1 (1.0 lacks stream_instance_id and
 * packet_seq_num), entries of 72 to 4096 bytes (fields after the 72 known
 * bytes of a later minor version are skipped).
 * Return: 0 with *idx set; -EINVAL: a NULL argument, or a stream name that
 * is empty, contains '/' or starts with '.'; -ENOENT, -EACCES, ...: opening
 * or reading the file; -EBADMSG: the file ends inside the 16-byte header;
 * -EPROTO: not a packet index (bad magic) or a bad entry size;
 * -EPROTONOSUPPORT: another version; -ENOMEM.  Every error sets
 * grb_last_error() and leaves *idx NULL.
 */
int grb_ctf_index_open(const char *dir, const char *stream, struct grb_ctf_index **idx);

/**
 * grb_ctf_index_next() - the next entry, in file order.
 * Return: 0 with *e filled; -ENODATA: no more entries (the file ends after
 * a whole entry); -EBADMSG: the file ends inside an entry (a truncated
 * index: grb_last_error() says which entry and how many of its bytes are
 * there); -EIO, ...: reading; -EINVAL: a NULL argument.  After an error or
 * -ENODATA every later call returns the same code.
 */
int grb_ctf_index_next(struct grb_ctf_index *idx, struct grb_ctf_index_entry *e);

/** grb_ctf_index_close() - close and free (NULL is ignored). */
void grb_ctf_index_close(struct grb_ctf_index *idx);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* GRB_CTF_H */
