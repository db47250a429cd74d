/* SPDX-License-Identifier: MIT */
/*
 * grb/config.h - the compile-time configuration a client declares.
 *
 * A client (a trace format, a test, an application) declares
 *
 *	static const struct grb_config my_config = {
 *		.abi = GRB_CONFIG_ABI,
 *		.alloc = GRB_ALLOC_PER_CPU,
 *		...
 *	};
 *
 * (or uses a format's macro: GRB_NATIVE_CONFIG(), GRB_CTF_CONFIG()) and
 * passes &my_config to every fast-path call.  Name every field: a field
 * added to the structure then cannot shift the others.  From C++ this
 * needs C++20, with the fields in declaration order.  Because the structure is a
 * constant known at the call site and the fast path is static inline, the
 * compiler folds every option and inlines every callback: each client gets
 * its own branch-free fast path.  The same structure drives the out-of-line
 * slow paths at run time.  grb_channel_create() refuses inconsistent
 * configurations with -EINVAL and a message naming the field.
 */
#ifndef GRB_CONFIG_H
#define GRB_CONFIG_H

#include <stdint.h>
#include <stddef.h>
#include <grb/static/env.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The version of struct grb_config and struct grb_ctx a client was
 * compiled against (2 since packet_published; 3 since the reservation
 * context carries client_word, prev_ts and lost; 4 since it carries the
 * record's slot), plus
 * GRB_CONFIG_ABI_EMULATED when its restartable sequences are emulated with
 * atomics (TSan, GRB_NO_LOCAL_ASM, not x86-64).  Native and emulated
 * sequences must not write the same per-CPU rseq streams: the library
 * refuses an rseq configuration compiled the other way.
 */
#define GRB_CONFIG_ABI_VERSION 4u
#define GRB_CONFIG_ABI_EMULATED 0x10000u
#ifdef GRB_RSEQ_NATIVE
#define GRB_CONFIG_ABI GRB_CONFIG_ABI_VERSION
#else
#define GRB_CONFIG_ABI (GRB_CONFIG_ABI_VERSION | GRB_CONFIG_ABI_EMULATED)
#endif

/** How many streams a channel has and who writes each. */
enum grb_alloc {
	GRB_ALLOC_GLOBAL = 1, /* one stream for the whole channel */
	GRB_ALLOC_PER_CPU = 2, /* one stream per CPU of the channel's CPU set */
	GRB_ALLOC_PER_THREAD = 3, /* a stream claimed by each writing thread */
};

/** How writers synchronise on one stream. */
enum grb_sync {
	/* Any number of writers, threads or processes: one CAS to reserve, one
	 * atomic add to commit. */
	GRB_SYNC_ATOMIC = 1,
	/* One writer thread per stream (and that thread's signal handlers):
	 * instructions without the lock prefix.  Only with GRB_ALLOC_PER_THREAD. */
	GRB_SYNC_SINGLE_WRITER = 2,
	/* Per-CPU streams written by restartable sequences on the stream's
	 * CPU: no lock prefix; a commit made after the writer migrated is an
	 * atomic add to a second counter.  Only with GRB_ALLOC_PER_CPU.  Where
	 * the sequences cannot run, the channel falls back to atomics
	 * (grb_channel_sync() says so and why). */
	GRB_SYNC_PER_CPU_RSEQ = 3,
};

/** What a writer does when the next sub-buffer is not free. */
enum grb_mode {
	GRB_MODE_DISCARD = 1, /* drop the new record, count it lost (full) */
	GRB_MODE_OVERWRITE = 2, /* flight recorder: drop the oldest sub-buffer */
	GRB_MODE_BLOCKING = 3, /* wait up to the channel's timeout, then drop */
};

/** How a waiting reader learns that a sub-buffer is ready. */
enum grb_wakeup {
	GRB_WAKEUP_NONE = 1, /* the reader polls; writers never make a system call */
	GRB_WAKEUP_TIMER = 2, /* the reader wakes on its read timer period */
	GRB_WAKEUP_WRITER = 3, /* the writer that delivers a sub-buffer wakes it (futex) */
};

/**
 * Why a record was lost.  Counted per stream; GRB_LOST_NO_STREAM, which has
 * no stream of its own, in the channel's first stream (so that a consumer
 * in another process sees it in the mapping).
 */
enum grb_lost_cause {
	GRB_LOST_FULL = 0, /* discard mode: the next sub-buffer was not consumed */
	GRB_LOST_OVERWRITTEN = 1, /* overwrite mode: dropped with its oldest sub-buffer */
	GRB_LOST_TOO_BIG = 2, /* larger than a sub-buffer minus its packet header */
	GRB_LOST_NESTED = 3, /* deeper than max_nesting reservations on one thread */
	GRB_LOST_TIMEOUT = 4, /* blocking mode: no space within the timeout */
	GRB_LOST_WRAP = 5, /* the next sub-buffer still held an uncommitted record
			    * (its writer was stalled for a whole lap of the ring) */
	GRB_LOST_DISABLED = 6, /* the stream was disabled by an internal invariant failure */
	GRB_LOST_NO_STREAM = 7, /* per-thread alloc: no free stream for the thread */
	GRB_LOST_DIED = 8, /* reserved and never committed: the writing process died
			    * (counted by the consumer that drains what it left) */
	GRB_LOST_NR = 9,
};

/*
 * Record flags seen by the client's callbacks (struct grb_ctx.flags).
 *
 * GRB_RFLAG_FULL_TS: the record must carry its full (absolute) timestamp.
 * Set when the record opens a packet, when ts - prev_ts does not fit
 * cfg->ts_bits, and (with cfg->prev_ts_exact) when the core cannot
 * guarantee that ctx->prev_ts is exactly the timestamp of the record just
 * before this one in the stream.  When it is clear, ts - prev_ts <
 * 2^ts_bits, and prev_ts is exact with cfg->prev_ts_exact (a header may
 * hold the delta), else at most the previous record's timestamp (a header
 * may hold the low ts_bits bits of ts).
 */
#define GRB_RFLAG_FULL_TS 0x1u
#define GRB_RFLAG_PACKET_START 0x2u /* first record of a packet (FULL_TS is set too) */

struct grb_config;
struct grb_stream;
struct grb_shm_slot;

/**
 * The state of one reservation, on the writer's stack.  The caller sets
 * the "in" fields before grb_reserve() (event_id and client_word only if
 * its header callbacks read them); grb_reserve() sets the "out" fields
 * before it calls record_header_size() and record_header_write(), which
 * may read every field but rec, wp and header_len (only record_header_write
 * gets rec and header_len).
 */
struct grb_ctx {
	/* In: set by the caller before grb_reserve(). */
	uint32_t event_id; /* client's meaning; passed to the header callbacks */
	uint32_t payload_len; /* bytes of payload after the record header */
	/* Client's meaning (perf's misc bits, say); passed to the header
	 * callbacks untouched, as event_id. */
	uint32_t client_word;
	/* Out: set by grb_reserve(). */
	uint32_t flags; /* GRB_RFLAG_* */
	uint32_t header_len; /* record header bytes, as the client computed */
	uint32_t slot_len; /* bytes reserved: header + payload + alignment */
	uint64_t ts; /* the record's timestamp */
	/* The timestamp of the record just before this one in the stream's
	 * order (the one a delta is relative to).  Exact when
	 * GRB_RFLAG_FULL_TS is clear; otherwise a value not to be relied on. */
	uint64_t prev_ts;
	/* Records of this stream lost since the previous record in stream
	 * order (with concurrent writers: not yet reported by another record),
	 * every cause but GRB_LOST_OVERWRITTEN, which packets account for.
	 * Each loss is reported once, by the first reservation of the stream
	 * that succeeds after it; a record that is then discarded gives its
	 * count back to a later record, so a decoder ignores the count a
	 * discarded record carries. */
	uint64_t lost;
	uint64_t pos; /* stream position of the record's first byte */
	char *rec; /* the record's first byte (its header) */
	char *wp; /* write cursor: the next payload byte */
	struct grb_stream *stream;
	/* The core's: the slot of the record's packet, whose commit counter
	 * grb_commit() adds to. */
	struct grb_shm_slot *slot;
};

/** What the core knows of a packet when it opens or closes it. */
struct grb_packet_info {
	uint64_t seq; /* packet sequence number in the stream (position / subbuf size) */
	uint64_t ts_begin; /* timestamp of the reservation that opened it */
	uint64_t ts_end; /* timestamp sampled by the reservation that closed it */
	uint64_t content_size; /* bytes used, headers and records, without padding */
	uint64_t packet_size; /* the sub-buffer size */
	uint64_t lost; /* cumulative records lost in the stream when it closed,
			* all causes but overwrite (the CTF events_discarded) */
	uint64_t records; /* records committed in this packet (discarded ones excluded) */
	uint32_t stream_id;
	uint32_t cpu; /* CPU of a per-CPU stream, else UINT32_MAX */
	void *client_data; /* struct grb_channel_attr.client_data */
};

/** One decoded record, returned by the client's record_decode. */
struct grb_record {
	const void *data; /* the record's first byte (its header) */
	const void *payload;
	uint32_t len; /* total bytes the record occupies */
	uint32_t payload_len; /* payload bytes (may include alignment padding) */
	uint64_t ts; /* full timestamp, rebuilt from the previous one */
	uint32_t event_id;
	uint32_t discarded; /* 1: discarded after reserve: skip it */
	uint32_t stream_index; /* filled by the iterators */
	/* The rest is filled by the iterators and the merge. */
	uint32_t rflags; /* GRB_REC_PACKET_START */
	uint32_t cpu; /* its stream's CPU (per-CPU streams), else UINT32_MAX */
	uint32_t tid; /* per-thread streams: the stream's owner thread when
		       * read, 0 if none */
	uint64_t packet_seq; /* its packet's sequence number in the stream */
	/* Records the stream counted lost (every cause, overwrite included)
	 * between the reading of the previous record of the stream and this
	 * one: the losses happened before this record was read, not
	 * necessarily before it was written.  A client that needs the exact
	 * place writes it in band (struct grb_ctx.lost). */
	uint64_t lost;
};

/* struct grb_record.rflags */
#define GRB_REC_PACKET_START 0x1u /* the first record read from its packet */

/**
 * struct grb_config - a client's compile-time configuration.
 *
 * Every callback but record_decode may run in a writer's context: inside
 * grb_reserve(), grb_commit() or grb_discard() (maybe in a signal handler),
 * or in a flush (grb_channel_flush(), the switch timer, finalize).  These
 * must be async-signal-safe, must not block and must not reserve records
 * themselves.  record_decode runs in the reader.
 */
struct grb_config {
	uint32_t abi; /* GRB_CONFIG_ABI */
	enum grb_alloc alloc;
	enum grb_sync sync;
	enum grb_mode mode;
	enum grb_wakeup wakeup;
	/* Bits of timestamp delta the compact record header holds (1-64); a
	 * larger delta to ctx->prev_ts sets GRB_RFLAG_FULL_TS. */
	unsigned int ts_bits;
	/* Records a thread may have reserved and not committed at once (the
	 * first plus nested signal handlers); 1-16. */
	unsigned int max_nesting;
	/* Every reserved slot is a multiple of this (a power of two, 1-64). */
	unsigned int record_align;
	/* Bytes the client's packet header occupies at the start of every
	 * sub-buffer (may be 0); a multiple of record_align. */
	unsigned int packet_header_size;
	/* Smallest slot a record can occupy (header + empty payload, aligned);
	 * bounds the records per sub-buffer for the commit counters, and the
	 * reader calls a packet with more records than its content divided by
	 * it corrupt.  1 to the slot of an empty record with no flags and
	 * event id 0 (record_header_size aligned to record_align); creation
	 * refuses a larger value. */
	unsigned int min_record_size;

	/* The clock: returns a timestamp that never decreases on one CPU and is
	 * synchronised across CPUs (CLOCK_MONOTONIC by default). */
	uint64_t (*clock_read)(void);
	/* Size of the record header for ctx.  It may read ctx->flags,
	 * event_id, client_word, payload_len, ts, prev_ts and lost, and must
	 * return the same size for the same values.  Creation asks it for the
	 * largest header (FULL_TS and PACKET_START set, event_id, client_word
	 * and lost all ones, prev_ts 0, ts all ones) and the smallest (all
	 * zero). */
	uint32_t (*record_header_size)(const struct grb_config *cfg, const struct grb_ctx *ctx);
	/* Writes the record header at ctx->rec (ctx->header_len bytes, what
	 * record_header_size returned for the same ctx). */
	void (*record_header_write)(const struct grb_config *cfg, const struct grb_ctx *ctx);
	/* Writes the packet header at the start of a new sub-buffer. */
	void (*packet_begin)(const struct grb_config *cfg, void *packet,
			     const struct grb_packet_info *info);
	/* Completes the packet header when the sub-buffer is delivered. */
	void (*packet_end)(const struct grb_config *cfg, void *packet,
			   const struct grb_packet_info *info);
	/* Decodes the record at rec (avail bytes readable) given the previous
	 * record's full timestamp; returns 0 or -EPROTO for corrupt bytes.  It
	 * must read nothing past avail.  client_data: the channel's. */
	int (*record_decode)(const struct grb_config *cfg, void *client_data, const void *rec,
			     size_t avail, uint64_t prev_ts, struct grb_record *out);
	/* Marks the reserved record of ctx (ctx->slot_len bytes at ctx->rec)
	 * as discarded, so that readers skip it, without changing its length. */
	void (*record_discard)(const struct grb_config *cfg, const struct grb_ctx *ctx);
	const char *name;
	/* Optional (NULL: not called).  Called once per delivered packet,
	 * after packet_end, once the packet is visible to readers: after the
	 * delivery's release stores and the wake-up of a waiting reader, so a
	 * consumer it wakes (an eventfd write is async-signal-safe) finds the
	 * packet.  info is what packet_end got; the packet's bytes are not
	 * passed, because a reader may already have taken it (and in
	 * overwrite mode writers may already reuse it).  Position of the
	 * packet in its stream: info->seq * info->packet_size.  It runs in the
	 * writer that delivers: the commit that completes the packet (maybe
	 * in a signal handler, maybe on another CPU than the stream's after
	 * a migration with the rseq sync) or a flush (grb_channel_flush(),
	 * the switch timer, finalize).  Calls for successive packets of a
	 * stream may run concurrently, in other threads, and return in any
	 * order.  The rules above hold: async-signal-safe, no blocking, no
	 * reservation.  A consuming reader of the stream that no other
	 * thread uses at the time may take the packet from the call. */
	void (*packet_published)(const struct grb_config *cfg, const struct grb_packet_info *info);
	/* 1: the header callbacks need ctx->prev_ts to be exactly the
	 * timestamp of the record just before (a header that holds a delta,
	 * as ftrace's): with the atomic sync, a record whose predecessor
	 * another thread wrote then takes the slow path with FULL_TS.  0 (a
	 * header that holds the low ts_bits bits of ts, rebuilt by the reader
	 * from the previous record, as the native and CTF clients): with the
	 * atomic sync (and emulated rseq) prev_ts may be a lower bound of
	 * that timestamp (this thread's own last record on the stream), and
	 * FULL_TS is set only when ts - prev_ts does not fit ts_bits.  So
	 * writers sharing a stream stay on the fast path. */
	unsigned int prev_ts_exact;
};

#ifdef __cplusplus
}
#endif

#endif /* GRB_CONFIG_H */
