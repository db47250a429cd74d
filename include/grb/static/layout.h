/* SPDX-License-Identifier: MIT */
/*
 * grb/static/layout.h - the memory layout of a stream and the handles the
 * inline fast path reads.  Not to be included directly: include <grb/grb.h>.
 *
 * A stream lives in one mapping:
 *
 *	+---------------------------+ 0
 *	| struct grb_shm_stream     |  self-describing header, positions, counters
 *	+---------------------------+ consumer_offset (one page)
 *	| struct grb_shm_consumer   |  the words the consumer writes
 *	+---------------------------+ slots_offset
 *	| struct grb_shm_slot [n]   |  per sub-buffer slot: commit counter, id, packet info
 *	+---------------------------+ data_offset (page aligned)
 *	| n + 1 sub-buffers         |  n in the ring, one spare owned by the reader
 *	+---------------------------+ map_size
 *
 * Nothing in it is a pointer: every reference is an offset or an index, so the
 * mapping can be shared with another process or read after the writer died.
 * A consumer in another process maps it read-only but for the consumer page
 * (doc/design.md, "Sharing streams between processes").
 * Positions are free-running 64-bit byte counts.  For a position p, with a
 * sub-buffer size of 2^sb_order bytes and 2^count_order sub-buffers:
 *	offset in sub-buffer	p & (sb_size - 1)
 *	slot			(p >> sb_order) & (count - 1)
 *	lap			p >> (sb_order + count_order)
 */
#ifndef GRB_STATIC_LAYOUT_H
#define GRB_STATIC_LAYOUT_H

#include <stdint.h>
#include <grb/config.h>
#include <grb/static/env.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GRB_SHM_MAGIC 0x31304d4853425247ull /* "GRBSHM01" in little-endian bytes */
#define GRB_LAYOUT_VERSION 8u
#define GRB_BYTE_ORDER_LITTLE 1u
#define GRB_BYTE_ORDER_BIG 2u

/*
 * A slot's commit counter packs two counts so that one atomic add commits a
 * record and counts it: bytes in bits 0-39, records from bit 40 up.  Bytes
 * wrap into the record field only at whole laps (2^40 is a multiple of the
 * sub-buffer size), and the records of one lap are the high bits of the
 * difference of two lap-end values, so both stay exact.  It bounds a
 * sub-buffer to fewer than 2^24 records (checked at channel creation).
 */
#define GRB_CC_RECORD (1ull << 40)
#define GRB_CC_BYTES_MASK (GRB_CC_RECORD - 1)
#define GRB_CC_MAX_RECORDS (1ull << 24)

/*
 * A slot's id: which physical sub-buffer the writers of the slot use.
 * bits 0-30: physical index (0..count, count is the initial reader spare)
 * bit 31: NOREF, no writer references it: set at delivery, cleared by the
 *         first writer of the next lap; only a NOREF id may be swapped by the
 *         reader
 * bits 32-63: tag, the low 32 bits of the lap of the last delivery
 */
#define GRB_ID_INDEX_MASK 0x7fffffffull
#define GRB_ID_NOREF (1ull << 31)
#define GRB_ID_TAG_SHIFT 32

/* No position (an empty taking). */
#define GRB_NO_POS (~0ull)

/*
 * The log of nested writes of a single-writer stream (struct grb_shm_stream,
 * nlog): its entries, and the fields of the count word and of an entry's
 * info word.  A write is a record's reservation (with the padding and the
 * packet header of the switch it makes) or a flush's padding (FLUSH).
 * DONE: its commit's add was made; VOID: its CAS failed, or a rollback gave
 * the space back; DISCARD: its record is committed as discarded (no record
 * unit).  The depth is the writer's nesting depth.
 */
#define GRB_NLOG_MAX 16
#define GRB_NLOG_COUNT 0xffull
#define GRB_NLOG_FULL (1ull << 8)
#define GRB_NLOG_SEQ_SHIFT 32
#define GRB_NLOG_LEN 0xffffffffull
#define GRB_NLOG_FLUSH (1ull << 32)
#define GRB_NLOG_DONE (1ull << 33)
#define GRB_NLOG_VOID (1ull << 34)
#define GRB_NLOG_DISCARD (1ull << 35)
#define GRB_NLOG_DEPTH_SHIFT 48

/* last_end when no record's timestamp is known: no position equals it. */
#define GRB_LAST_END_NONE UINT64_MAX

/* An entry of the log of nested writes. */
struct grb_shm_nlog {
	uint64_t start; /* the offset before the write's CAS */
	uint64_t info; /* GRB_NLOG_LEN bytes, the GRB_NLOG_* flags, the depth */
};

struct grb_shm_stream {
	/* Written once at creation, then read-only. */
	uint64_t magic;
	uint32_t version;
	uint32_t header_size; /* sizeof(struct grb_shm_stream) */
	uint8_t byte_order; /* GRB_BYTE_ORDER_* */
	uint8_t word_size; /* bytes of a position: 8 */
	uint16_t slot_size; /* sizeof(struct grb_shm_slot) */
	uint32_t stream_id;
	uint32_t cpu; /* per-CPU stream's CPU, else UINT32_MAX */
	uint32_t sb_order;
	uint32_t count_order;
	uint32_t packet_header_size;
	uint64_t map_size;
	uint64_t slots_offset;
	uint64_t data_offset;
	uint32_t mode, alloc, sync, ts_bits; /* the configuration, for readers */
	uint64_t channel_uid;
	/* Layout version 5, in what was the line's padding: the consumer page,
	 * the client's fingerprint (a hash of its record format, checked by a
	 * consumer that attaches), the writing process (its pid and start time,
	 * so that a consumer can tell it is gone), the channel's stream count. */
	uint64_t consumer_offset;
	uint64_t client_hash;
	uint64_t writer_start;
	uint32_t writer_pid;
	uint32_t nr_streams;

	/* Writers' line. */
	uint64_t offset __attribute__((aligned(GRB_CACHELINE))); /* write position */
	uint64_t last_ts; /* timestamp of the record that ends at last_end
			   * (doc/ordering.md, "prev_ts") */
	uint32_t flush_req; /* single-writer: a flush asked by another thread;
			     * rseq: the fence a remote flusher holds */
	uint32_t owner; /* per-thread: the claiming thread's id, 0 when free */
	/* Every record that ends at or below it is committed: stored by a
	 * commit that saw every byte reserved up to it committed (doc/design.md,
	 * "The committed position").  Concurrent commits may store it out of
	 * order, so it can step back; every value it ever held is true. */
	uint64_t commit_pos;
	/* Added in the writers' line's padding, so no field moved.  The end
	 * position of the record whose timestamp last_ts holds (single-writer
	 * and native rseq syncs; GRB_LAST_END_NONE: none), and the losses of
	 * the stream (every cause but overwritten) that no record has reported
	 * in its struct grb_ctx.lost yet. */
	uint64_t last_end;
	uint64_t lost_unreported;
	/* Layout version 7, the rest of the line, for a consumer that drains
	 * a dead writer's single-writer stream (doc/design.md, "A writer that
	 * exits or dies"): the offset from which a flush last tried to pad
	 * its packet (flush_pos), stored before the offset's CAS (GRB_NO_POS:
	 * none yet).  The word before it was version 7's nest_pos, replaced
	 * by the log of nested writes (nlog, below) in version 8. */
	uint64_t _reserved_nest;
	uint64_t flush_pos;

	/* Wake-up line (the reader's line up to layout version 4: the words a
	 * consumer writes moved to struct grb_shm_consumer, and what is left
	 * here the writing process alone writes). */
	uint32_t writer_waiters __attribute__((aligned(GRB_CACHELINE)));
	uint32_t deliver_seq; /* futex: bumped at each delivery (writer wake-up) */
	uint32_t disabled; /* set on an internal invariant failure */
	uint32_t finalized; /* the channel will write no more */

	/* Loss counters, by enum grb_lost_cause (GRB_LOST_NO_STREAM: the
	 * channel's, in stream 0 only; writers of every stream add to it). */
	uint64_t lost[GRB_LOST_NR] __attribute__((aligned(GRB_CACHELINE)));
	uint64_t invariant_failures;
	uint64_t remote_commits; /* rseq sync: commits from another CPU */
	uint64_t fenced_flushes; /* rseq sync: packets closed by a fenced flush */
	/* Layout version 4.  Records of the delivered packets, summed at each
	 * delivery; with the open packets' counts, the records committed. */
	uint64_t delivered_records;
	uint64_t _reserved0; /* layout version 4's taking, now on the consumer page */
	/* Layout version 6, GRB_WAKEUP_WRITER: positions that only grow.
	 * wake_req: the farthest offset a commit that crossed a wake-up unit
	 * before its records were published asked a wake-up for ([Q5]); a
	 * commit that publishes, or a delivery, wakes while it is past
	 * wake_done, the farthest position a wake-up served.  wake_pos: the
	 * farthest position a wake-up published, raised before it wakes
	 * ([Q8]): a reader's view is at least it, whatever a late [Q1] store
	 * did to commit_pos. */
	uint64_t wake_req;
	uint64_t wake_done;
	uint64_t wake_pos;

	/* Layout version 8, single-writer streams: the log of nested writes
	 * (doc/design.md, "A writer that exits or dies").  Each write at
	 * nesting depth 2 or more (a reservation, or the flush one makes
	 * for flush_req) appends [start, start + len) before its CAS on the
	 * offset and marks it done after its commit's add; a consumer that
	 * drains the stream once the writing process is gone reads it with
	 * the commit counts.  nlog_count: the entries (GRB_NLOG_COUNT), the
	 * mark of a log that had no room (GRB_NLOG_FULL) and a sequence
	 * number every change bumps; nlog_full_end: the farthest end of a
	 * write the full log did not record.  Only the owner thread and its
	 * signal handlers write them; all zeros is an empty log. */
	uint64_t nlog_count __attribute__((aligned(GRB_CACHELINE)));
	uint64_t nlog_full_end;
	struct grb_shm_nlog nlog[GRB_NLOG_MAX];
} __attribute__((aligned(GRB_CACHELINE)));

/*
 * The consumer page: the only words a consumer in another process writes
 * (it maps the rest of the stream read-only).  Writers read consumed,
 * consumed_seq and reader_waiting, and in overwrite mode move consumed past
 * the packets they overwrite.
 */
struct grb_shm_consumer {
	/* consumed = S + k: S the start of the oldest packet not wholly
	 * consumed, k (< the sub-buffer size) the records of it a consuming
	 * reader already returned before its delivery.  Writers use S only. */
	uint64_t consumed __attribute__((aligned(GRB_CACHELINE)));
	/* A copy, for observers, of the physical index an in-process
	 * consuming reader owns; the reader keeps its own in its process's
	 * memory and never reads this one back. */
	uint64_t reader_spare;
	/* The packet an in-process consuming reader is swapping out, else
	 * GRB_NO_POS: snapshot readers that copied it in the meantime drop
	 * their copy. */
	uint64_t taking;
	uint32_t consumed_seq; /* futex: bumped when consumed moves (blocking mode) */
	uint32_t reader_waiting;
	uint32_t reader_active; /* 0 or 1: one consuming reader per stream */
	uint32_t _pad;
	/* Packets a consuming reader took and skipped because their contents
	 * failed validation, and their records (written = delivered + lost +
	 * corrupt_records). */
	uint64_t corrupt_packets;
	uint64_t corrupt_records;
	/* Layout version 7: the records a consuming reader counted lost
	 * because the writing process died with them reserved and not
	 * committed (GRB_LOST_DIED), and the offset it counted them at
	 * (GRB_NO_POS: none), so that they are counted once. */
	uint64_t died_records;
	uint64_t died_at;
	/* Overwrite mode: the records of packets a consuming reader moved
	 * consumed past for a writing process that died between an opener's
	 * move of the offset into their next lap and its push ([P3]), which
	 * would have counted them overwritten (GRB_LOST_OVERWRITTEN).  In
	 * the page's padding: zero on every stream that never needed it. */
	uint64_t overwritten_dead;
} __attribute__((aligned(GRB_CACHELINE)));

struct grb_shm_slot {
	/* Hot: every commit adds to cc; every reservation reads id. */
	uint64_t cc __attribute__((aligned(GRB_CACHELINE)));
	uint64_t id;
	/* Per-CPU rseq sync: cc is changed only by restartable sequences on
	 * the stream's CPU; commits from a thread that migrated after its
	 * reservation are atomic adds here.  The slot's count is the sum. */
	uint64_t cc_remote;
	/* Cold: touched once per packet. */
	uint64_t done __attribute__((aligned(GRB_CACHELINE))); /* end position of the
							      * last delivered packet */
	uint64_t last_cc; /* cc at that delivery */
	uint64_t records; /* records in that packet */
	uint64_t ts_begin; /* set when the packet is opened */
	uint64_t ts_end; /* set by the reservation that closes it */
	uint64_t data_end; /* content bytes, set with ts_end */
	uint64_t lost_snap; /* cumulative lost (but overwritten), set with ts_end */
	uint64_t claimed; /* rseq sync: end position of the last lap whose delivery
			   * a committer claimed (two may see it complete) */
} __attribute__((aligned(GRB_CACHELINE)));

/* The in-process handle of a stream (not in shared memory). */
struct grb_stream {
	struct grb_shm_stream *shm;
	struct grb_shm_slot *slots;
	char *data;
	uint64_t sb_size;
	uint64_t sb_mask;
	uint32_t sb_order;
	uint32_t count_order;
	uint32_t count_mask;
	uint32_t index; /* in the channel */
	/* rseq sync: the CPU whose restartable sequences may change the
	 * stream; GRB_RSEQ_NO_CPU when the channel fell back to atomics. */
	uint32_t rseq_cpu;
	/* GRB_WAKEUP_WRITER: bits of cc whose change wakes a waiting reader
	 * (attr.wake_policy: records or bytes), 0 for none. */
	uint64_t wake_mask;
	struct grb_channel *chan;
	uint64_t map_size;
	/* Never the same for two streams of a process: the channel's uid
	 * times 2^24 plus the index (struct _grb_tls_prev). */
	uint64_t uid;
	/* The consumer page (struct grb_shm_consumer) in the same mapping. */
	struct grb_shm_consumer *cons;
};

/*
 * The channel as the fast path sees it: fields only read after creation, so
 * that the line every writer reads is never written (the counters writers
 * add to are in struct grb_channel_priv).  The rest is private to the
 * library; applications use only the functions.
 */
struct grb_channel {
	uint32_t enabled; /* the disabled event site costs one load and branch */
	uint32_t nr_streams;
	struct grb_stream *streams;
	const int32_t *cpu_map; /* per-CPU: CPU -> stream index, -1 if not in the set */
	uint32_t nr_cpu_map;
	uint32_t tls_slot; /* the thread's writer cache entry; per-thread: preferred stream slot */
	uint64_t uid; /* never reused in a process */
	/* The writer cache entry's offset from the thread pointer (with
	 * GRB_ENV_TLS_OFFSET): the same in every thread. */
	intptr_t tls_off;
	const struct grb_config *cfg;
	struct grb_channel_priv *priv;
};

#define GRB_TLS_STREAMS 16

/* A thread's per-thread streams, one entry per channel it wrote to. */
struct _grb_tls_stream {
	uint64_t uid;
	struct grb_stream *stream;
};

/*
 * A thread's writer cache of a channel: entry ch->tls_slot of
 * _grb_tls_writers, whatever the alloc, valid when uid is the channel's.
 * The stream the thread's last record at nesting depth 1 went to, and
 * the packet of that record: its end position (wend), the address of its
 * byte at position p (bias + p) and its slot.  The fast path reserves in
 * that packet without looking at the slot's id (doc/ordering.md, "The
 * writer cache").  Only reservations at depth 1 read or write it, so it is
 * never half written when read.
 */
struct _grb_tls_writer {
	uint64_t uid;
	struct grb_stream *stream;
	struct grb_shm_stream *shm; /* stream->shm */
	uint64_t wend;
	uintptr_t bias;
	struct grb_shm_slot *slot;
};

/*
 * The last record a thread reserved at nesting depth 1 (no other
 * reservation of the thread held): its stream's uid (0: none), end
 * position and timestamp.  With the atomic sync (and the rseq sync without
 * native sequences) a reservation at depth 1 whose offset is that end, on
 * that stream, follows that record (doc/ordering.md, "prev_ts").
 */
struct _grb_tls_prev {
	uint64_t stream;
	uint64_t end;
	uint64_t ts;
};

#ifdef __cplusplus
}
#endif

#endif /* GRB_STATIC_LAYOUT_H */
