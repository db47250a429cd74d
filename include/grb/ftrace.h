/* SPDX-License-Identifier: MIT */
/*
 * grb/ftrace.h - the ftrace client (libgrb-ftrace): each sub-buffer is an
 * ftrace ring-buffer page, records carry ftrace's 4-byte event header, and
 * the channel's pages become a trace.dat file that `trace-cmd report`
 * reads.  doc/ftrace.md describes the layout and what maps to what.
 *
 * A page (sub-buffer of GRB_FTRACE_PAGE_SIZE bytes):
 *
 *	u64 timestamp	the time of the page's first record (ns)
 *	u64 commit	data bytes (bits 0-26); the trace.dat writer adds the
 *			missed-events flags (bits 31 and 30)
 *	data		records, each 4-byte aligned:
 *
 *	u32 type_len:5, time_delta:27 (type_len in the low bits)
 *	type_len 1-28	data: type_len * 4 payload bytes follow
 *	type_len 0	data: u32 array[0] = payload bytes + 4, then the payload
 *	type_len 29	padding: u32 array[0] = bytes after the 4-byte word
 *			(a record discarded after reserve)
 *	type_len 30	TIME_EXTEND: u32 array[0]; delta = array[0] << 27 | time_delta
 *	type_len 31	TIME_STAMP: u32 array[0]; ts = array[0] << 27 | time_delta
 *
 * Every word but TIME_STAMP adds its time_delta to the running clock,
 * which starts at the page's timestamp.  A record's payload starts with
 * the common fields (u16 common_type = the event id, u8 common_flags,
 * u8 common_preempt_count, s32 common_pid = the writing thread's id).
 *
 * Losses: records overwritten in overwrite mode are reported as ftrace
 * does, in the commit word of the first page after them; every other loss
 * (too big, nested, full in discard mode, ...) in band, as a record of the
 * event grb/lost_events (GRB_FTRACE_ID_LOST) placed where it happened.
 *
 * Declaring an event: list its fields with an X-macro, then
 * GRB_FTRACE_EVENT:
 *
 *	#define MYAPP_REQ_FIELDS(F)      \
 *		F(u64, req_id)           \
 *		F(s32, status)           \
 *		F(x64, flags)            \  (printed 0x%llx)
 *		F(ptr, handler)          \  (an address, printed as a symbol)
 *		F(chars, tag, 8)         \  (char tag[8], printed %s)
 *		F(string, path)             (__data_loc char[], any length)
 *	GRB_FTRACE_EVENT(myapp_req, "myapp", "request", 1001, MYAPP_REQ_FIELDS)
 *
 * This defines myapp_req_event (struct grb_ftrace_event: its format file,
 * for the trace.dat writer) and the inline, typed
 *
 *	int myapp_req_write(const struct grb_config *cfg, struct grb_channel *ch,
 *			    uint64_t req_id, int32_t status, uint64_t flags,
 *			    uint64_t handler, const char *tag, const char *path);
 *
 * returning grb_reserve()'s codes.  Event ids are 100 to 65535, unique in
 * a trace; ids below 100 are the client's own events (ftrace's print,
 * funcgraph_entry and funcgraph_exit, and grb/lost_events).
 * GRB_FTRACE_EVENT_FMT gives the print fmt text instead of the generated
 * one ("field=%llu ..." in field order).
 *
 * Real-time contract:
 *
 * | function                                  | signal-safe | progress  | system calls        |
 * |-------------------------------------------|-------------|-----------|---------------------|
 * | <event>_write, grb_ftrace_print,           | yes         | as grb_reserve() + grb_commit() | a thread's first event: gettid, prctl |
 * | grb_ftrace_func_entry, grb_ftrace_func_exit |            |           |                     |
 * | grb_ftrace_tid                             | yes         | wait-free | the first call of a thread |
 * | grb_ftrace_record_decode / _discard        | yes         | wait-free | no                  |
 * | grb_ftrace_event_format                    | no          | blocking  | malloc              |
 * | grb_ftrace_events_decode, _events_free     | no          | blocking  | malloc, free        |
 * | grb_ftrace_dat_*                           | no          | blocking  | malloc, memfd/open, read, write |
 * | grb_ftrace_file_*, grb_ftrace_show         | no          | blocking  | malloc (and open, read for grb_ftrace_file_load) |
 */
#ifndef GRB_FTRACE_H
#define GRB_FTRACE_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <grb/config.h>
#include <grb/channel.h>
#include <grb/writer.h>
#include <grb/reader.h>
#include <grb/clock.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* The client's inline functions are never instrumented: a program built
 * with -finstrument-functions calls grb_ftrace_func_entry() from its
 * __cyg_profile_func_enter(), which must not enter itself again through
 * a copy of them the compiler did not inline. */
#define _grb_ftrace_inline inline __attribute__((no_instrument_function))

#define GRB_FTRACE_PAGE_SIZE 4096u
#define GRB_FTRACE_PAGE_HEADER_SIZE 16u
#define GRB_FTRACE_DATA_SIZE (GRB_FTRACE_PAGE_SIZE - GRB_FTRACE_PAGE_HEADER_SIZE)
#define GRB_FTRACE_TYPE_DATA_MAX 28u
#define GRB_FTRACE_TYPE_PADDING 29u
#define GRB_FTRACE_TYPE_TIME_EXTEND 30u
#define GRB_FTRACE_TYPE_TIME_STAMP 31u
#define GRB_FTRACE_DELTA_BITS 27u
#define GRB_FTRACE_DELTA_MAX ((1u << GRB_FTRACE_DELTA_BITS) - 1)
#define GRB_FTRACE_SMALL_MAX (GRB_FTRACE_TYPE_DATA_MAX * 4u) /* payload of type_len 1-28 */
#define GRB_FTRACE_COMMIT_MASK ((1u << 27) - 1)
#define GRB_FTRACE_MISSED_EVENTS (1ull << 31)
#define GRB_FTRACE_MISSED_STORED (1ull << 30)
#define GRB_FTRACE_COMMON_SIZE 8u
#define GRB_FTRACE_TS_BITS 59u

/* The client's own event ids. */
#define GRB_FTRACE_ID_PRINT 5u /* ftrace/print: ip, buf (trace_marker) */
#define GRB_FTRACE_ID_FUNCGRAPH_EXIT 10u /* ftrace/funcgraph_exit */
#define GRB_FTRACE_ID_FUNCGRAPH_ENTRY 11u /* ftrace/funcgraph_entry */
#define GRB_FTRACE_ID_LOST 30u /* grb/lost_events: count */
#define GRB_FTRACE_MIN_USER_ID 100u
#define GRB_FTRACE_MAX_ID 65535u
/* The lost_events record: a data word (type_len 4) and 16 payload bytes. */
#define GRB_FTRACE_LOST_REC_SIZE 20u
/* Calls deeper than this still nest, but their exits carry no calltime. */
#define GRB_FTRACE_GRAPH_DEPTH 128u

/* Field kinds of a user event. */
enum grb_ftrace_kind {
	GRB_FTRACE_U8 = 1,
	GRB_FTRACE_U16,
	GRB_FTRACE_U32,
	GRB_FTRACE_U64,
	GRB_FTRACE_S8,
	GRB_FTRACE_S16,
	GRB_FTRACE_S32,
	GRB_FTRACE_S64,
	GRB_FTRACE_X64, /* u64 printed in hex */
	GRB_FTRACE_PTR, /* unsigned long: an address, printed as its symbol (%ps) */
	GRB_FTRACE_CHARS, /* char name[len]: a fixed array, NUL-padded */
	GRB_FTRACE_STRING, /* __data_loc char[]: any length, after the fixed fields */
};

struct grb_ftrace_field {
	const char *name;
	enum grb_ftrace_kind kind;
	uint32_t len; /* GRB_FTRACE_CHARS: the array's bytes; else 0 */
};

/* An event: what its format file says. */
struct grb_ftrace_event {
	const char *system; /* e.g. "myapp" */
	const char *name;
	uint32_t id; /* GRB_FTRACE_MIN_USER_ID .. GRB_FTRACE_MAX_ID */
	uint32_t nr_fields;
	const struct grb_ftrace_field *fields;
	const char *print_fmt; /* the text after "print fmt: "; NULL: generated */
};

/* The common fields at the start of every payload. */
struct grb_ftrace_common {
	uint16_t common_type;
	uint8_t common_flags;
	uint8_t common_preempt_count;
	int32_t common_pid;
};

/* Per thread: its id, cached (0 until its first event), and the stack of
 * its instrumented calls. */
extern __thread int32_t _grb_ftrace_tid_cache;
struct _grb_ftrace_graph {
	uint32_t depth;
	uint64_t calltime[GRB_FTRACE_GRAPH_DEPTH];
};
extern __thread struct _grb_ftrace_graph _grb_ftrace_graph_tls;

/* Out of line: the thread's id (gettid) and name (prctl) recorded for the
 * trace's saved_cmdlines.  Async-signal-safe.  Return: the id. */
int32_t _grb_ftrace_thread_init(void);

#ifdef GRB_ENV_TASK_ID
/* The environment knows the running task itself (the kernel's current,
 * whose comm a consumer names): no cache, nothing to register. */
static _grb_ftrace_inline int32_t grb_ftrace_tid(void)
{
	return GRB_ENV_TASK_ID();
}
#define _GRB_FTRACE_TID_KNOWN() GRB_ENV_TASK_ID()
#else
/** grb_ftrace_tid() - the calling thread's id, as records carry it. */
static _grb_ftrace_inline int32_t grb_ftrace_tid(void)
{
	int32_t t = _grb_ftrace_tid_cache;

	return _grb_likely(t != 0) ? t : _grb_ftrace_thread_init();
}
/* The id a record's grb_ftrace_tid() found, for the lost_events record
 * its header writes. */
#define _GRB_FTRACE_TID_KNOWN() _grb_ftrace_tid_cache
#endif

/* Field placement, shared by the inline writers and the format files:
 * each field at the next multiple of its alignment. */
static _grb_ftrace_inline uint32_t _grb_ftrace_place(uint32_t *off, uint32_t size, uint32_t align)
{
	uint32_t at = (*off + align - 1) & ~(align - 1);

	*off = at + size;
	return at;
}

/* A field's size and alignment by its kind, as the inline writers place
 * it: the format files and readers of the records use the same. */
static _grb_ftrace_inline void _grb_ftrace_field_size(const struct grb_ftrace_field *f,
						      uint32_t *size, uint32_t *align)
{
	switch (f->kind) {
	case GRB_FTRACE_U8:
	case GRB_FTRACE_S8:
		*size = *align = 1;
		break;
	case GRB_FTRACE_U16:
	case GRB_FTRACE_S16:
		*size = *align = 2;
		break;
	case GRB_FTRACE_U32:
	case GRB_FTRACE_S32:
	case GRB_FTRACE_STRING:
		*size = *align = 4;
		break;
	case GRB_FTRACE_CHARS:
		*size = f->len;
		*align = 1;
		break;
	default:
		*size = *align = 8;
		break;
	}
}

static _grb_ftrace_inline uint32_t _grb_ftrace_align4(uint32_t n)
{
	return (n + 3u) & ~3u;
}

/* The data word's size: 4, or 8 with array[0] (a payload over 112 bytes,
 * or none). */
static _grb_ftrace_inline uint32_t _grb_ftrace_data_hdr(uint32_t payload_len)
{
	return (payload_len == 0 || payload_len > GRB_FTRACE_SMALL_MAX) ? 8u : 4u;
}

static _grb_ftrace_inline uint32_t grb_ftrace_header_size(const struct grb_config *cfg,
							  const struct grb_ctx *ctx)
{
	uint32_t n = _grb_ftrace_data_hdr(ctx->payload_len);

	(void)cfg;
	/* A packet's first record is at the page's timestamp: delta 0. */
	if (!(ctx->flags & GRB_RFLAG_PACKET_START) &&
	    ((ctx->flags & GRB_RFLAG_FULL_TS) || ctx->ts - ctx->prev_ts > GRB_FTRACE_DELTA_MAX))
		n += 8;
	if (ctx->lost)
		n += GRB_FTRACE_LOST_REC_SIZE;
	return n;
}

static _grb_ftrace_inline uint32_t _grb_ftrace_word(uint32_t type_len, uint64_t delta)
{
	return type_len | (uint32_t)(delta & GRB_FTRACE_DELTA_MAX) << 5;
}

static _grb_ftrace_inline void _grb_ftrace_put32(char *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static _grb_ftrace_inline void grb_ftrace_header_write(const struct grb_config *cfg,
						       const struct grb_ctx *ctx)
{
	char *p = ctx->rec;
	uint64_t delta = 0;
	uint32_t len = ctx->payload_len;

	(void)cfg;
	if (!(ctx->flags & GRB_RFLAG_PACKET_START)) {
		if (ctx->flags & GRB_RFLAG_FULL_TS) {
			_grb_ftrace_put32(p, _grb_ftrace_word(GRB_FTRACE_TYPE_TIME_STAMP, ctx->ts));
			_grb_ftrace_put32(p + 4, (uint32_t)(ctx->ts >> GRB_FTRACE_DELTA_BITS));
			p += 8;
		} else {
			delta = ctx->ts - ctx->prev_ts;
			if (delta > GRB_FTRACE_DELTA_MAX) {
				_grb_ftrace_put32(p, _grb_ftrace_word(GRB_FTRACE_TYPE_TIME_EXTEND,
								      delta));
				_grb_ftrace_put32(p + 4,
						  (uint32_t)(delta >> GRB_FTRACE_DELTA_BITS));
				p += 8;
				delta = 0;
			}
		}
	}
	if (ctx->lost) {
		struct grb_ftrace_common c;

		c.common_type = GRB_FTRACE_ID_LOST;
		c.common_flags = 0;
		c.common_preempt_count = 0;
		c.common_pid = _GRB_FTRACE_TID_KNOWN();
		_grb_ftrace_put32(p, _grb_ftrace_word(4, delta));
		memcpy(p + 4, &c, sizeof(c));
		memcpy(p + 12, &ctx->lost, 8);
		p += GRB_FTRACE_LOST_REC_SIZE;
		delta = 0;
	}
	if (_grb_ftrace_data_hdr(len) == 8) {
		_grb_ftrace_put32(p, _grb_ftrace_word(0, delta));
		_grb_ftrace_put32(p + 4, _grb_ftrace_align4(len) + 4);
	} else {
		_grb_ftrace_put32(p, _grb_ftrace_word(_grb_ftrace_align4(len) / 4, delta));
	}
}

/* The page header: the timestamp of its first record, commit 0 until the
 * page is delivered. */
static _grb_ftrace_inline void grb_ftrace_packet_begin(const struct grb_config *cfg, void *packet,
						       const struct grb_packet_info *info)
{
	uint64_t zero = 0;

	(void)cfg;
	memcpy(packet, &info->ts_begin, 8);
	memcpy((char *)packet + 8, &zero, 8);
}

static _grb_ftrace_inline void grb_ftrace_packet_end(const struct grb_config *cfg, void *packet,
						     const struct grb_packet_info *info)
{
	uint64_t commit = info->content_size - GRB_FTRACE_PAGE_HEADER_SIZE;

	(void)cfg;
	memcpy((char *)packet + 8, &commit, 8);
}

/* Out of line (clients/ftrace). */
int grb_ftrace_record_decode(const struct grb_config *cfg, void *client_data, const void *rec,
			     size_t avail, uint64_t prev_ts, struct grb_record *out);
void grb_ftrace_record_discard(const struct grb_config *cfg, const struct grb_ctx *ctx);

/**
 * GRB_FTRACE_CONFIG(alloc, sync, mode) - a struct grb_config initializer
 * for ftrace pages with the CLOCK_MONOTONIC clock (trace_clock "mono");
 * GRB_FTRACE_CONFIG_CLOCK to give another nanosecond clock,
 * GRB_FTRACE_CONFIG_WAKEUP a wake-up, GRB_FTRACE_CONFIG_CLOCK_WAKEUP both.
 * GRB_FTRACE_CONFIG_DEFAULT: per-CPU streams, restartable sequences (the
 * channel falls back to atomics where they cannot run), overwrite mode
 * (the flight recorder).  Create the channel with attributes from
 * grb_ftrace_channel_attr_init(): sub-buffers of one page.
 */
/* clang-format off */
#define GRB_FTRACE_CONFIG_CLOCK_WAKEUP(_alloc, _sync, _mode, _clock, _wakeup)              \
	{                                                                                  \
		.abi = GRB_CONFIG_ABI,                                                     \
		.alloc = (_alloc),                                                         \
		.sync = (_sync),                                                           \
		.mode = (_mode),                                                           \
		.wakeup = (_wakeup),                                                       \
		.ts_bits = GRB_FTRACE_TS_BITS,                                             \
		.max_nesting = 4,                                                          \
		.record_align = 4,                                                         \
		.packet_header_size = GRB_FTRACE_PAGE_HEADER_SIZE,                         \
		.min_record_size = 8,                                                      \
		.clock_read = (_clock),                                                    \
		.record_header_size = grb_ftrace_header_size,                              \
		.record_header_write = grb_ftrace_header_write,                            \
		.packet_begin = grb_ftrace_packet_begin,                                   \
		.packet_end = grb_ftrace_packet_end,                                       \
		.record_decode = grb_ftrace_record_decode,                                 \
		.record_discard = grb_ftrace_record_discard,                               \
		.name = "ftrace",                                                          \
		.packet_published = NULL,                                                  \
		.prev_ts_exact = 1,                                                        \
	}
#define GRB_FTRACE_CONFIG_CLOCK(_alloc, _sync, _mode, _clock)                              \
	GRB_FTRACE_CONFIG_CLOCK_WAKEUP(_alloc, _sync, _mode, _clock, GRB_WAKEUP_NONE)
#define GRB_FTRACE_CONFIG(_alloc, _sync, _mode)                                            \
	GRB_FTRACE_CONFIG_CLOCK(_alloc, _sync, _mode, grb_clock_monotonic)
/* The same pages with a wake-up (a kernel module's channel read through
 * /dev/grb: the delivering writer wakes the device's poll). */
#define GRB_FTRACE_CONFIG_WAKEUP(_alloc, _sync, _mode, _wakeup)                             \
	GRB_FTRACE_CONFIG_CLOCK_WAKEUP(_alloc, _sync, _mode, grb_clock_monotonic, _wakeup)
#define GRB_FTRACE_CONFIG_DEFAULT                                                          \
	GRB_FTRACE_CONFIG(GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_OVERWRITE)
/* clang-format on */

/**
 * grb_ftrace_channel_attr_init() - channel attributes for ftrace pages:
 * grb_channel_attr_init() with sub-buffers of GRB_FTRACE_PAGE_SIZE and
 * 256 of them per stream (1 MiB).
 */
void grb_ftrace_channel_attr_init(struct grb_channel_attr *attr);

/* Reserve a record of event id with payload_len bytes and write its
 * common fields; the caller writes the rest at ctx->wp and commits.
 * Padding bytes of the payload are zeroed. */
static _grb_ftrace_inline int _grb_ftrace_reserve(const struct grb_config *cfg,
						  struct grb_channel *ch, struct grb_ctx *ctx,
						  uint32_t id, uint32_t payload_len)
{
	struct grb_ftrace_common c;
	int ret;

	c.common_pid = grb_ftrace_tid();
	c.common_type = (uint16_t)id;
	c.common_flags = 0;
	c.common_preempt_count = 0;
	ctx->event_id = id;
	ctx->payload_len = payload_len;
	ctx->client_word = 0;
	ret = grb_reserve(cfg, ch, ctx);
	if (_grb_unlikely(ret))
		return ret;
	memset(ctx->wp, 0, _grb_ftrace_align4(payload_len));
	memcpy(ctx->wp, &c, sizeof(c));
	return 0;
}

/**
 * grb_ftrace_print() - a trace_marker-style free-text record: ftrace's
 * print event, ip and the text.  ip is an address in the calling code
 * (its function's, or __builtin_return_address(0) of a wrapper), printed
 * as the symbol that holds it.  A text that does not fit a page is refused (-E2BIG, counted
 * GRB_LOST_TOO_BIG).  Return: as grb_reserve().
 */
static _grb_ftrace_inline int grb_ftrace_print(const struct grb_config *cfg, struct grb_channel *ch,
					       uint64_t ip, const char *text)
{
	struct grb_ctx ctx;
	size_t n = strlen(text) + 1;
	int ret;

	if (_grb_unlikely(!grb_enabled(ch)))
		return -EAGAIN;
	ret = _grb_ftrace_reserve(cfg, ch, &ctx, GRB_FTRACE_ID_PRINT,
				  n > GRB_FTRACE_PAGE_SIZE ? UINT32_MAX : (uint32_t)(16 + n));
	if (ret)
		return ret;
	memcpy(ctx.wp + 8, &ip, 8);
	memcpy(ctx.wp + 16, text, n);
	grb_commit(cfg, &ctx);
	return 0;
}

/**
 * grb_ftrace_func_entry() / grb_ftrace_func_exit() - ftrace's
 * funcgraph_entry (func, depth) and funcgraph_exit (func, depth, overrun,
 * calltime, rettime) for the function at func, as -finstrument-functions'
 * hooks receive it.  The depth is the calling thread's count of entries
 * not yet exited (a stack of GRB_FTRACE_GRAPH_DEPTH entry times per
 * thread); an exit's calltime is its entry's timestamp (0 beyond that
 * depth), its rettime its own.  Each call moves the depth whether or not
 * its record is written.  Return: as grb_reserve().
 */
static _grb_ftrace_inline int grb_ftrace_func_entry(const struct grb_config *cfg,
						    struct grb_channel *ch, uint64_t func)
{
	struct _grb_ftrace_graph *g = &_grb_ftrace_graph_tls;
	uint32_t depth = g->depth++;
	struct grb_ctx ctx;
	int32_t d = (int32_t)depth;
	int ret;

	if (_grb_unlikely(!grb_enabled(ch)))
		ret = -EAGAIN;
	else
		ret = _grb_ftrace_reserve(cfg, ch, &ctx, GRB_FTRACE_ID_FUNCGRAPH_ENTRY, 20);
	if (depth < GRB_FTRACE_GRAPH_DEPTH)
		g->calltime[depth] = ret ? cfg->clock_read() : ctx.ts;
	if (ret)
		return ret;
	memcpy(ctx.wp + 8, &func, 8);
	memcpy(ctx.wp + 16, &d, 4);
	grb_commit(cfg, &ctx);
	return 0;
}

static _grb_ftrace_inline int grb_ftrace_func_exit(const struct grb_config *cfg,
						   struct grb_channel *ch, uint64_t func)
{
	struct _grb_ftrace_graph *g = &_grb_ftrace_graph_tls;
	uint32_t depth = g->depth ? --g->depth : 0;
	uint64_t calltime = depth < GRB_FTRACE_GRAPH_DEPTH ? g->calltime[depth] : 0;
	struct grb_ctx ctx;
	int32_t d = (int32_t)depth;
	int ret;

	if (_grb_unlikely(!grb_enabled(ch)))
		return -EAGAIN;
	ret = _grb_ftrace_reserve(cfg, ch, &ctx, GRB_FTRACE_ID_FUNCGRAPH_EXIT, 40);
	if (ret)
		return ret;
	memcpy(ctx.wp + 8, &func, 8);
	memcpy(ctx.wp + 16, &d, 4);
	memcpy(ctx.wp + 24, &calltime, 8);
	memcpy(ctx.wp + 32, &ctx.ts, 8);
	grb_commit(cfg, &ctx);
	return 0;
}

/* Field-kind expansions used by GRB_FTRACE_EVENT (P: parameter, S: size
 * and place, W: write, D: description). */
#define _GRB_FT_P(kind, ...) _GRB_FT_P_##kind(__VA_ARGS__)
#define _GRB_FT_S(kind, ...) _GRB_FT_S_##kind(__VA_ARGS__)
#define _GRB_FT_W(kind, ...) _GRB_FT_W_##kind(__VA_ARGS__)
#define _GRB_FT_D(kind, ...) _GRB_FT_D_##kind(__VA_ARGS__)
#define _GRB_FT_FIELD(_name, _kind, _len) { .name = (_name), .kind = (_kind), .len = (_len) },
#define _GRB_FT_NUM_S(n, size) uint32_t _grb_o_##n = _grb_ftrace_place(&_grb_fix, size, size);
#define _GRB_FT_NUM_W(n, size) memcpy(_grb_ctx.wp + _grb_o_##n, &n, size);
#define _GRB_FT_P_u8(n) , uint8_t n
#define _GRB_FT_S_u8(n) _GRB_FT_NUM_S(n, 1)
#define _GRB_FT_W_u8(n) _GRB_FT_NUM_W(n, 1)
#define _GRB_FT_D_u8(n) _GRB_FT_FIELD(#n, GRB_FTRACE_U8, 0)
#define _GRB_FT_P_u16(n) , uint16_t n
#define _GRB_FT_S_u16(n) _GRB_FT_NUM_S(n, 2)
#define _GRB_FT_W_u16(n) _GRB_FT_NUM_W(n, 2)
#define _GRB_FT_D_u16(n) _GRB_FT_FIELD(#n, GRB_FTRACE_U16, 0)
#define _GRB_FT_P_u32(n) , uint32_t n
#define _GRB_FT_S_u32(n) _GRB_FT_NUM_S(n, 4)
#define _GRB_FT_W_u32(n) _GRB_FT_NUM_W(n, 4)
#define _GRB_FT_D_u32(n) _GRB_FT_FIELD(#n, GRB_FTRACE_U32, 0)
#define _GRB_FT_P_u64(n) , uint64_t n
#define _GRB_FT_S_u64(n) _GRB_FT_NUM_S(n, 8)
#define _GRB_FT_W_u64(n) _GRB_FT_NUM_W(n, 8)
#define _GRB_FT_D_u64(n) _GRB_FT_FIELD(#n, GRB_FTRACE_U64, 0)
#define _GRB_FT_P_s8(n) , int8_t n
#define _GRB_FT_S_s8(n) _GRB_FT_NUM_S(n, 1)
#define _GRB_FT_W_s8(n) _GRB_FT_NUM_W(n, 1)
#define _GRB_FT_D_s8(n) _GRB_FT_FIELD(#n, GRB_FTRACE_S8, 0)
#define _GRB_FT_P_s16(n) , int16_t n
#define _GRB_FT_S_s16(n) _GRB_FT_NUM_S(n, 2)
#define _GRB_FT_W_s16(n) _GRB_FT_NUM_W(n, 2)
#define _GRB_FT_D_s16(n) _GRB_FT_FIELD(#n, GRB_FTRACE_S16, 0)
#define _GRB_FT_P_s32(n) , int32_t n
#define _GRB_FT_S_s32(n) _GRB_FT_NUM_S(n, 4)
#define _GRB_FT_W_s32(n) _GRB_FT_NUM_W(n, 4)
#define _GRB_FT_D_s32(n) _GRB_FT_FIELD(#n, GRB_FTRACE_S32, 0)
#define _GRB_FT_P_s64(n) , int64_t n
#define _GRB_FT_S_s64(n) _GRB_FT_NUM_S(n, 8)
#define _GRB_FT_W_s64(n) _GRB_FT_NUM_W(n, 8)
#define _GRB_FT_D_s64(n) _GRB_FT_FIELD(#n, GRB_FTRACE_S64, 0)
#define _GRB_FT_P_x64(n) , uint64_t n
#define _GRB_FT_S_x64(n) _GRB_FT_NUM_S(n, 8)
#define _GRB_FT_W_x64(n) _GRB_FT_NUM_W(n, 8)
#define _GRB_FT_D_x64(n) _GRB_FT_FIELD(#n, GRB_FTRACE_X64, 0)
#define _GRB_FT_P_ptr(n) , uint64_t n
#define _GRB_FT_S_ptr(n) _GRB_FT_NUM_S(n, 8)
#define _GRB_FT_W_ptr(n) _GRB_FT_NUM_W(n, 8)
#define _GRB_FT_D_ptr(n) _GRB_FT_FIELD(#n, GRB_FTRACE_PTR, 0)
/* chars: the text's first N - 1 bytes at most, NUL-padded. */
#define _GRB_FT_P_chars(n, N) , const char *n
#define _GRB_FT_S_chars(n, N) uint32_t _grb_o_##n = _grb_ftrace_place(&_grb_fix, (N), 1);
#define _GRB_FT_W_chars(n, N) memcpy(_grb_ctx.wp + _grb_o_##n, n, strnlen(n, (N)-1));
#define _GRB_FT_D_chars(n, N) _GRB_FT_FIELD(#n, GRB_FTRACE_CHARS, (N))
/* string: a __data_loc word in the fixed part, the text (with its NUL)
 * after the fixed part. */
#define _GRB_FT_P_string(n) , const char *n
#define _GRB_FT_S_string(n)                                       \
	uint32_t _grb_o_##n = _grb_ftrace_place(&_grb_fix, 4, 4); \
	size_t _grb_l_##n = strlen(n) + 1;                        \
	_grb_dyn += _grb_l_##n;
#define _GRB_FT_W_string(n)                                               \
	{                                                                 \
		uint32_t _grb_loc = (uint32_t)_grb_l_##n << 16 | _grb_at; \
		memcpy(_grb_ctx.wp + _grb_o_##n, &_grb_loc, 4);           \
		memcpy(_grb_ctx.wp + _grb_at, n, _grb_l_##n);             \
		_grb_at += (uint32_t)_grb_l_##n;                          \
	}
#define _GRB_FT_D_string(n) _GRB_FT_FIELD(#n, GRB_FTRACE_STRING, 0)

/** GRB_FTRACE_EVENT_FMT(sym, "system", "name", id, FIELDS, "print fmt"). */
#define GRB_FTRACE_EVENT_FMT(sym, esystem, ename, eid, FIELDS, efmt)                              \
	static const struct grb_ftrace_field sym##_fields[] = { FIELDS(                           \
		_GRB_FT_D) _GRB_FT_FIELD(NULL, GRB_FTRACE_U8, 0) };                               \
	static const struct grb_ftrace_event sym##_event = {                                      \
		.system = esystem,                                                                \
		.name = ename,                                                                    \
		.id = (eid),                                                                      \
		.nr_fields = sizeof(sym##_fields) / sizeof(sym##_fields[0]) - 1,                  \
		.fields = sym##_fields,                                                           \
		.print_fmt = efmt,                                                                \
	};                                                                                        \
	static _grb_ftrace_inline __attribute__((unused)) int sym##_write(                        \
		const struct grb_config *_grb_cfg, struct grb_channel *_grb_ch FIELDS(_GRB_FT_P)) \
	{                                                                                         \
		struct grb_ctx _grb_ctx;                                                          \
		uint32_t _grb_fix = GRB_FTRACE_COMMON_SIZE, _grb_at;                              \
		uint64_t _grb_dyn = 0;                                                            \
		int _grb_ret;                                                                     \
		if (_grb_unlikely(!grb_enabled(_grb_ch)))                                         \
			return -EAGAIN;                                                           \
		FIELDS(_GRB_FT_S)                                                                 \
		_grb_at = _grb_fix;                                                               \
		_grb_ret = _grb_ftrace_reserve(_grb_cfg, _grb_ch, &_grb_ctx, (eid),               \
					       _grb_dyn > GRB_FTRACE_PAGE_SIZE ?                  \
						       UINT32_MAX :                               \
						       _grb_fix + (uint32_t)_grb_dyn);            \
		if (_grb_unlikely(_grb_ret))                                                      \
			return _grb_ret;                                                          \
		FIELDS(_GRB_FT_W)                                                                 \
		(void)_grb_at;                                                                    \
		grb_commit(_grb_cfg, &_grb_ctx);                                                  \
		return 0;                                                                         \
	}

/** GRB_FTRACE_EVENT(sym, "system", "name", id, FIELDS) - see the top of this file. */
#define GRB_FTRACE_EVENT(sym, esystem, ename, eid, FIELDS) \
	GRB_FTRACE_EVENT_FMT(sym, esystem, ename, eid, FIELDS, NULL)

/**
 * grb_ftrace_event_format() - the format file text of an event (as
 * tracefs shows events/<system>/<name>/format), malloc'd.
 * Return: the text, or NULL with errno EINVAL (grb_last_error() says why:
 * a bad id, name or field) or ENOMEM.
 */
char *grb_ftrace_event_format(const struct grb_ftrace_event *ev);

/**
 * grb_ftrace_events_decode() - rebuild the events a kernel module's ftrace
 * channel describes on /dev/grb (doc/ftrace.md, "Event descriptions";
 * doc/kernel.md), nr of them in size bytes.  Every length and count is
 * checked against the buffer, each event against ftrace's rules (as
 * grb_ftrace_event_format()), and ids against each other.
 * Return: 0 and *events (free with grb_ftrace_events_free()); -EPROTO a
 * malformed encoding; -EINVAL an invalid event (grb_last_error() says
 * which); -ENOMEM.
 */
int grb_ftrace_events_decode(const void *buf, uint32_t size, uint32_t nr,
			     const struct grb_ftrace_event *const **events);

/** grb_ftrace_events_free() - free what grb_ftrace_events_decode() made. */
void grb_ftrace_events_free(const struct grb_ftrace_event *const *events, uint32_t nr);

/* The trace.dat writer. */

/* Names an address for the kallsyms section: the start and name of the
 * function that contains addr.  Return 0, or -1 when unknown. */
typedef int (*grb_ftrace_symbolize_fn)(void *arg, uint64_t addr, uint64_t *start, char *name,
				       size_t size);

/* Sees each page a writer adds, once it is added (grb_ftrace_dat_add_page(),
 * a drain's pages included): page and missed as they were passed, the
 * page valid during the call only.  For a live view of what is recorded
 * (`grb ftrace record --pipe`): a writer fed the same pages has the same
 * records and missed events; a drain's figures of its streams (their
 * other losses, the CPUs of streams that delivered no page) are no pages. */
typedef void (*grb_ftrace_page_fn)(void *arg, uint32_t cpu, const void *page, uint64_t missed);

/** Attributes of a trace.dat writer; initialise with grb_ftrace_dat_attr_init(). */
struct grb_ftrace_dat_attr {
	uint32_t size; /* sizeof(struct grb_ftrace_dat_attr) */
	const struct grb_ftrace_event *const *events; /* the user events */
	uint32_t nr_events;
	uint32_t nr_cpus; /* CPUs of the file; 0: those of the pages added */
	const char *clock; /* the trace_clock name, default "mono" (CLOCK_MONOTONIC) */
	const char *spool_dir; /* pages are kept in an unlinked file there; NULL: memfd */
	grb_ftrace_symbolize_fn symbolize; /* NULL: dladdr() in this process */
	void *symbolize_arg;
	grb_ftrace_page_fn on_page; /* NULL: none */
	void *on_page_arg;
};

struct grb_ftrace_dat;

/* Per CPU of a writer: what reached it (and the file's CPUSTAT option). */
struct grb_ftrace_cpu_stats {
	uint64_t pages;
	uint64_t events; /* data records, lost_events records included */
	uint64_t bytes; /* data bytes (the pages' commit) */
	uint64_t overrun; /* records overwritten before a page (missed events) */
	uint64_t lost; /* records lost otherwise, as the stream counted them */
	uint64_t oldest_ts, newest_ts;
};

void grb_ftrace_dat_attr_init(struct grb_ftrace_dat_attr *attr);

/** grb_ftrace_dat_create() - a writer with no pages yet.
 * Return: the writer, or NULL with errno EINVAL (grb_last_error() names
 * the event or field) or ENOMEM. */
struct grb_ftrace_dat *grb_ftrace_dat_create(const struct grb_ftrace_dat_attr *attr);

/**
 * grb_ftrace_dat_add_page() - append one page (GRB_FTRACE_PAGE_SIZE bytes,
 * its commit word as the channel wrote it) to the data of a CPU.
 * @missed: records lost right before this page: 0, a count, or
 * UINT64_MAX for an unknown number.  The file's page gets
 * MISSED_EVENTS and, with a count, MISSED_STORED and the count after the
 * data (as ftrace's splice does); a page too full to hold the count is
 * split in two, its first record alone in the first page.
 * Return: 0; -EINVAL (a CPU over 4095, a commit larger than the page, a
 * record that overruns it); -EIO, -ENOSPC, ... writing the spool.
 */
int grb_ftrace_dat_add_page(struct grb_ftrace_dat *d, uint32_t cpu, const void *page,
			    uint64_t missed);

/**
 * grb_ftrace_dat_drain() - take every delivered page of every stream of
 * ch (consuming readers, created at the first call and kept), with the
 * records overwritten before each as its missed events, and add them.
 * Call it periodically while recording, and once after
 * grb_channel_finalize() (or, for an attached channel, once its owner is
 * gone) for the rest.  With overwrite mode and no drain before the
 * finalize, the ring's last pages are the flight recording.  Several
 * channels may be drained into one writer (one per process of a
 * recording): each stream's pages go to the CPU it ran on, after the
 * pages already there, and a CPU's losses are those of its streams in
 * every channel.
 * Return: 0; -EINVAL (not a channel of GRB_FTRACE_CONFIG with one-page
 * sub-buffers); as grb_ftrace_dat_add_page(); -EBUSY (a stream already
 * has a consuming reader); -ENOMEM.
 */
int grb_ftrace_dat_drain(struct grb_ftrace_dat *d, struct grb_channel *ch);

/** grb_ftrace_dat_add_task() - name a thread in saved_cmdlines (threads
 * that wrote through this library are named without it). Return 0, -ENOMEM. */
int grb_ftrace_dat_add_task(struct grb_ftrace_dat *d, int32_t pid, const char *comm);

/**
 * grb_ftrace_dat_write() - write the trace.dat file (version 6) to fd,
 * sequentially (a pipe works): the headers, the event formats, kallsyms
 * for the addresses the records carry, saved_cmdlines, the options
 * (TRACECLOCK, UNAME, CPUSTAT) and every page added.
 * Return: 0, or -errno of the failed write.
 */
int grb_ftrace_dat_write(struct grb_ftrace_dat *d, int fd);

/** grb_ftrace_dat_save() - grb_ftrace_dat_write() into a new file at path
 * (replaced if it exists).  Return: 0 or -errno (grb_last_error() says which). */
int grb_ftrace_dat_save(struct grb_ftrace_dat *d, const char *path);

/** grb_ftrace_dat_cpu_stats() - what a CPU's pages hold.  Return 0, -EINVAL. */
int grb_ftrace_dat_cpu_stats(const struct grb_ftrace_dat *d, uint32_t cpu,
			     struct grb_ftrace_cpu_stats *st);

/** grb_ftrace_dat_destroy() - free the writer and its readers (NULL: nothing). */
void grb_ftrace_dat_destroy(struct grb_ftrace_dat *d);

/* Reading a trace.dat back (untrusted input: every offset and length is
 * checked; an error names what is wrong). */

struct grb_ftrace_file;

/** One event of a trace.dat, in time order across the CPUs. */
struct grb_ftrace_entry {
	uint64_t ts;
	uint32_t cpu;
	int32_t pid;
	uint32_t id; /* common_type */
	uint32_t size; /* payload bytes */
	const unsigned char *data; /* the payload (common fields first) */
	/* Events the page header says were lost on this CPU right before
	 * this one: 0, a count, or UINT64_MAX for an unknown number. */
	uint64_t missed;
};

/**
 * grb_ftrace_file_open() - parse a trace.dat (version 6, little or big
 * endian, as this writer and trace-cmd write it) held in buf; buf must
 * stay valid until grb_ftrace_file_close().
 * Return: 0 with *f set; -EPROTO (not a trace.dat, or malformed:
 * grb_last_error() says what and where); -EPROTONOSUPPORT (another
 * version, or latency data); -ENOMEM.
 */
int grb_ftrace_file_open(const void *buf, size_t len, struct grb_ftrace_file **f);

/** grb_ftrace_file_load() - read the file at path into memory and open it.
 * Return: as grb_ftrace_file_open(); -errno of opening or reading. */
int grb_ftrace_file_load(const char *path, struct grb_ftrace_file **f);

/** grb_ftrace_file_cpus() - the number of CPUs the file has. */
uint32_t grb_ftrace_file_cpus(const struct grb_ftrace_file *f);

/** grb_ftrace_file_next() - the next event.  Return: 0; -ENODATA at the
 * end; -EPROTO a corrupt page or record (grb_last_error() says where; the
 * rest of that page is skipped, call again for the next). */
int grb_ftrace_file_next(struct grb_ftrace_file *f, struct grb_ftrace_entry *e);

/** grb_ftrace_file_format() - "name: text" of an event as its print fmt
 * makes it (the fields as name=value when the print fmt is beyond this
 * reader), into buf (truncated, NUL-terminated).  The task's name is
 * grb_ftrace_file_comm().  Return: the length it would have. */
size_t grb_ftrace_file_format(const struct grb_ftrace_file *f, const struct grb_ftrace_entry *e,
			      char *buf, size_t size);

/** grb_ftrace_file_comm() - the name of a pid in saved_cmdlines, or "<...>". */
const char *grb_ftrace_file_comm(const struct grb_ftrace_file *f, int32_t pid);

/** grb_ftrace_file_symbol() - the kallsyms name of the function that
 * holds addr, or NULL. */
const char *grb_ftrace_file_symbol(const struct grb_ftrace_file *f, uint64_t addr);

void grb_ftrace_file_close(struct grb_ftrace_file *f);

/* grb_ftrace_show() flags. */
#define GRB_FTRACE_SHOW_NS 0x1u /* full nanosecond timestamps */
#define GRB_FTRACE_SHOW_GRAPH 0x2u /* the function-graph view */
/* No "cpus=" line first: the file is one piece of a longer text (the
 * pages of one step of `grb ftrace record --pipe`). */
#define GRB_FTRACE_SHOW_BODY 0x4u

/**
 * grb_ftrace_show() - print the trace.dat in buf (len bytes) to out in
 * ftrace's trace layout ("comm-pid [cpu] secs.usecs: event: fields"), or
 * with GRB_FTRACE_SHOW_GRAPH as ftrace's function_graph tracer prints
 * funcgraph_entry and funcgraph_exit (the other events as comments).
 * Return: 0; the first error of grb_ftrace_file_open() or
 * grb_ftrace_file_next() (what was printed before it stays printed).
 */
int grb_ftrace_show(const void *buf, size_t len, FILE *out, unsigned int flags);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* GRB_FTRACE_H */
