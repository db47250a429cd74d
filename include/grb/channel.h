/* SPDX-License-Identifier: MIT */
/*
 * grb/channel.h - creating, flushing and inspecting channels.
 *
 * Real-time contract of this header's functions:
 *
 * | function                      | signal-safe | progress     | system calls        |
 * |-------------------------------|-------------|--------------|---------------------|
 * | grb_channel_attr_init         | yes         | wait-free    | no                  |
 * | grb_channel_create            | no          | blocking     | mmap, thread (2) (4)|
 * | grb_channel_destroy           | no          | blocking     | munmap, thread join |
 * | grb_channel_enable / disable  | yes         | wait-free    | no                  |
 * | grb_channel_flush             | yes (1)     | lock-free (1)| no (1) (3) (5)      |
 * | grb_channel_finalize          | no          | lock-free (1)| futex wake (1) (5)  |
 * | grb_channel_read_stream_stats | yes         | wait-free    | no                  |
 * | grb_channel_read_stats        | yes         | wait-free    | no                  |
 * | grb_channel_consumed_records  | no          | wait-free    | no                  |
 * | grb_channel_nr_streams        | yes         | wait-free    | no                  |
 * | grb_channel_sync              | yes         | wait-free    | no                  |
 * | grb_channel_stream_shm        | yes         | wait-free    | no                  |
 * | grb_channel_attach (_dir)     | no          | blocking     | open, pread, mmap, sigaction (files) |
 * | grb_channel_lost_memory       | yes         | wait-free    | no                  |
 * | grb_channel_owner_alive       | no          | blocking     | open, read (/proc)  |
 * | grb_channel_owner_gone        | yes         | wait-free    | no                  |
 * | grb_channel_consumer_gone     | yes         | wait-free    | no                  |
 * | grb_last_error, grb_version   | yes         | wait-free    | no                  |
 *
 * None of them may be called between a grb_reserve() and its commit on the
 * same thread except the stats, enable/disable and flush functions.
 *
 * (1) With GRB_SYNC_PER_CPU_RSEQ, flushes of one stream wait for each other
 * (sched_yield), and each one that finds the stream's current packet open
 * calls membarrier: grb_channel_flush() is then not async-signal-safe.
 * (2) With GRB_SYNC_PER_CPU_RSEQ also rseq (registration) and membarrier
 * (query, registration, a test call) to decide between rseq and the fallback.
 * (3) Per-thread streams without a thread-exit hook (the process left the
 * library no thread-specific key, doc/design.md): tgkill(tid, 0) for each
 * stream a thread owns, to give back those of exited threads.
 * (4) With a shared backing also memfd_create or open, ftruncate, fcntl
 * (seals); grb_channel_destroy then closes and removes them.
 * (5) With GRB_WAKEUP_WRITER, a flush that delivers a packet wakes a
 * waiting reader as a commit does (<grb/writer.h>, (4)): a futex wake and
 * an eventfd write.
 */
#ifndef GRB_CHANNEL_H
#define GRB_CHANNEL_H

#include <stdint.h>
#include <stddef.h>
#include <grb/config.h>
#include <grb/static/layout.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/** Run-time attributes of a channel; initialise with grb_channel_attr_init(). */
struct grb_channel_attr {
	uint32_t size; /* sizeof(struct grb_channel_attr), set by attr_init */
	uint32_t subbuf_size; /* bytes, a power of two, 128 to 2^30 (default 64 KiB) */
	uint32_t subbuf_count; /* a power of two, 2 to 2^20 (default 8) */
	uint32_t nr_streams; /* per-thread alloc: size of the stream pool (default 64) */
	/* Per-CPU alloc: bitmap of the CPUs that get a stream (bit i of byte
	 * i / 8 is CPU i); NULL means every possible CPU. */
	const unsigned char *cpu_set;
	size_t cpu_set_size; /* bytes in cpu_set */
	/* Times in microseconds.  One whose nanoseconds do not fit 64 bits
	 * (over UINT64_MAX / 1000 us, 584 years) is taken as UINT64_MAX ns,
	 * and a timeout whose end does not fit the 64-bit CLOCK_MONOTONIC
	 * ns never ends: such values mean never or forever, never a short
	 * time. */
	uint64_t switch_timer_us; /* flush partially filled sub-buffers this often; 0: never */
	uint64_t read_timer_us; /* GRB_WAKEUP_TIMER: reader wake-up period (default 100 ms) */
	uint64_t blocking_timeout_us; /* GRB_MODE_BLOCKING: longest wait of a writer
				       * (default 100 ms; UINT64_MAX: forever) */
	const char *name; /* for messages (copied); may be NULL */
	/* The client's data for this channel, passed to its packet callbacks
	 * (struct grb_packet_info.client_data) and to record_decode. */
	void *client_data;
	/* GRB_WAKEUP_WRITER: when a writer wakes a waiting reader (and makes
	 * grb_channel_fd() readable), enum grb_wake_policy. */
	uint32_t wake_policy;
	/* GRB_WAKE_RECORDS: every this many records of a sub-buffer (a power
	 * of two).  GRB_WAKE_BYTES: every this many committed bytes (a power
	 * of two, at most the sub-buffer size). */
	uint32_t wake_every;
	/* Where the streams live (enum grb_backing): GRB_BACKING_ANON (the
	 * default) for readers of this process only; GRB_BACKING_MEMFD or
	 * GRB_BACKING_DIR for a consumer in another process
	 * (grb_channel_stream_shm(), grb_channel_attach()). */
	uint32_t backing;
	uint32_t _pad;
	/* GRB_BACKING_DIR: the directory that gets one file per stream,
	 * <shm_path>/<name>_<index> (name: attr.name, "grb" when NULL),
	 * created exclusive and removed by grb_channel_destroy().  A writer
	 * that dies leaves them for a consumer to drain.  Copied. */
	const char *shm_path;
};

/**
 * Where a channel's streams live.  Every backing has the same layout
 * (<grb/static/layout.h>); the shared ones can be mapped by a consumer in
 * another process (doc/design.md, "Sharing streams between processes").
 */
enum grb_backing {
	GRB_BACKING_ANON = 0, /* private anonymous memory: this process only */
	GRB_BACKING_MEMFD = 1, /* a memory file per stream (memfd), sealed against
				* resizing: pass its descriptor to the consumer */
	GRB_BACKING_DIR = 2, /* a file per stream in attr.shm_path (/dev/shm, a disk) */
};

/** A stream's shared memory, for a consumer in another process. */
struct grb_stream_shm {
	int fd; /* owned by the channel: pass it (SCM_RIGHTS), never close it */
	uint32_t stream; /* the stream's index */
	uint64_t size; /* bytes of the mapping (the file's size) */
};

/**
 * When writers wake a waiting reader (GRB_WAKEUP_WRITER), always after what
 * they wake it for is readable, at most once per unit of the policy.
 */
enum grb_wake_policy {
	GRB_WAKE_PACKET = 0, /* each delivered sub-buffer (the default) */
	GRB_WAKE_RECORDS = 1, /* every wake_every records committed in a sub-buffer */
	GRB_WAKE_BYTES = 2, /* every wake_every bytes committed (a watermark) */
};

/** Per-stream statistics (a consistent-enough snapshot, counters are exact). */
struct grb_stream_stats {
	uint64_t lost[GRB_LOST_NR]; /* by enum grb_lost_cause */
	uint64_t lost_total;
	uint64_t write_pos; /* bytes reserved since creation */
	/* Bytes consumed or overwritten since creation: the start of the
	 * oldest packet not wholly consumed, plus in the low bits (below the
	 * sub-buffer size) the records of it returned in place. */
	uint64_t consumed_pos;
	uint64_t invariant_failures; /* internal errors (shared state that cannot
				      * be); the stream is then disabled */
	uint64_t remote_commits; /* rseq sync: commits made from another CPU (the
				  * writer migrated after its reservation) */
	uint64_t fenced_flushes; /* rseq sync: packets closed by a flush (which
				  * holds the stream's fence) */
	uint32_t disabled;
	uint32_t cpu; /* per-CPU streams, else UINT32_MAX */
	uint32_t owner_tid; /* per-thread single-writer streams: the owning thread, 0 if free */
	uint32_t _pad;
	/* Packets a consuming reader took and skipped (-EPROTO) because what
	 * the stream recorded of them failed validation (e.g. ts_end before
	 * ts_begin: a clock that went back), and the records they held.  Not
	 * losses by cause (not in lost_total nor in the packets' cumulative
	 * count): in discard and blocking modes written == delivered +
	 * lost_total + corrupt_records.  The stream stays enabled. */
	uint64_t corrupt_packets;
	uint64_t corrupt_records;
	/* Records committed since creation: those of the delivered packets
	 * and those committed so far in the packets not yet delivered.
	 * Overwritten records stay counted, so with no commit under way:
	 * written == committed + lost_total - lost[GRB_LOST_OVERWRITTEN], and
	 * once a consuming reader read every record: committed == returned +
	 * lost[GRB_LOST_OVERWRITTEN] + corrupt_records.  While writers
	 * commit, a sample of counters each read once. */
	uint64_t committed;
};

/** Channel totals: sum over streams plus the channel's own counters. */
struct grb_channel_stats {
	uint64_t lost[GRB_LOST_NR];
	uint64_t lost_total;
	uint64_t filtered_cpu; /* records written on CPUs outside the CPU set */
	uint64_t invariant_failures;
	uint64_t remote_commits; /* sums of the streams' */
	uint64_t fenced_flushes;
	uint32_t nr_streams;
	uint32_t _pad;
	uint64_t corrupt_packets; /* sums of the streams' */
	uint64_t corrupt_records;
};

/** grb_channel_attr_init() - fill attr with the defaults. */
void grb_channel_attr_init(struct grb_channel_attr *attr);

/**
 * grb_channel_create() - create a channel and map its streams.
 * @cfg: the client's configuration; it must outlive the channel
 * @attr: run-time attributes (NULL: defaults)
 *
 * Return: the channel, or NULL with errno set: EINVAL an invalid or
 * inconsistent configuration or attribute (grb_last_error() names the
 * field); ENOMEM no memory for the channel or a stream's mapping; EAGAIN
 * the thread-exit hook of per-thread streams or the switch timer's thread
 * could not be set up.
 */
struct grb_channel *grb_channel_create(const struct grb_config *cfg,
				       const struct grb_channel_attr *attr);

/**
 * grb_channel_destroy() - stop the timers, unmap the streams, free the channel.
 *
 * No writer may use the channel any more.  Readers still open keep the
 * memory mapped; their calls then return -ESHUTDOWN.  Return: 0, -EINVAL
 * for NULL.
 */
int grb_channel_destroy(struct grb_channel *ch);

/** grb_channel_enable() / grb_channel_disable() - start / stop recording.
 * A disabled channel's grb_reserve() returns -EAGAIN.  Return: 0. */
int grb_channel_enable(struct grb_channel *ch);
int grb_channel_disable(struct grb_channel *ch);

/**
 * grb_channel_flush() - close the partially filled sub-buffer of every stream
 * so that its records become readable.
 *
 * A single-writer stream whose thread is alive is flushed by that thread at
 * its next reservation (the request is recorded here).  Without a
 * thread-exit hook, the streams of exited threads are given back here.  An
 * rseq stream is flushed here, under its fence (see the table above).
 * Return: 0; -EINVAL for NULL.
 */
int grb_channel_flush(struct grb_channel *ch);

/**
 * grb_channel_finalize() - stop recording, flush every stream and mark it
 * finalized: readers get -ENODATA once they have drained it.  Writers must
 * have committed their records: none may be inside or still enter
 * grb_reserve()..grb_commit(), and their last commits must happen before
 * this call (e.g. pthread_join).  Return: 0, -EINVAL for NULL.
 */
int grb_channel_finalize(struct grb_channel *ch);

/**
 * grb_channel_sync() - the sync the channel's writers use.
 * @why: if not NULL, set to the reason of a fallback (else NULL); the
 *	string lives as long as the channel
 *
 * The configured sync, except for GRB_SYNC_PER_CPU_RSEQ when restartable
 * sequences cannot run here (no registration, no membarrier with a target
 * CPU, or GRB_RSEQ=0 in the environment): then GRB_SYNC_ATOMIC, the per-CPU
 * streams being written with atomic instructions, through the slow path.
 * Return: the sync; 0 for NULL.  Real-time: wait-free.
 */
enum grb_sync grb_channel_sync(const struct grb_channel *ch, const char **why);

/** grb_channel_nr_streams() - the number of streams (readers index 0..n-1). */
uint32_t grb_channel_nr_streams(const struct grb_channel *ch);

/** grb_channel_read_stream_stats() - counters of one stream.
 * Return: 0; -EINVAL bad index or NULL. */
int grb_channel_read_stream_stats(const struct grb_channel *ch, uint32_t stream,
				  struct grb_stream_stats *st);

/**
 * grb_channel_fd() - the channel's pollable file descriptor (an eventfd).
 *
 * It becomes readable when records are ready for an armed reader
 * (grb_merge_arm()): with GRB_WAKEUP_WRITER when a writer's wake-up policy
 * (attr.wake_policy) fires, always after the records it fires for are
 * readable; with GRB_WAKEUP_TIMER when the channel's read timer (period
 * attr.read_timer_us) finds new records, and writers never make a system
 * call.  Owned by the channel (closed by grb_channel_destroy()); add it to
 * poll/epoll, never read or close it yourself (grb_merge_arm() clears it).
 *
 * Return: the descriptor; -EINVAL a NULL channel; -EOPNOTSUPP the channel
 * has GRB_WAKEUP_NONE.  Real-time: wait-free, no system call.
 */
int grb_channel_fd(const struct grb_channel *ch);

/**
 * grb_channel_stream_shm() - the descriptor and size of a stream's memory.
 *
 * For a consumer in another process: pass the descriptors of every stream,
 * in index order, to grb_channel_attach() there.  Return: 0 and *shm;
 * -EINVAL a NULL argument or a bad index; -EOPNOTSUPP the channel's
 * backing is GRB_BACKING_ANON.  Real-time: wait-free, no system call.
 */
int grb_channel_stream_shm(const struct grb_channel *ch, uint32_t stream,
			   struct grb_stream_shm *shm);

/**
 * grb_channel_attach() - a consumer's view of another process's channel.
 * @cfg: the consumer's copy of the writers' client configuration (the same
 *	client compiled in); it must outlive the channel
 * @fds: the descriptors of every stream of the channel, in index order
 *	(grb_channel_stream_shm() in the writing process); not taken over:
 *	the caller may close them after the call
 * @nr: how many
 * @client_data: passed to the client's record_decode and packet_end
 *
 * Each stream's header is read and checked before anything is mapped:
 * magic, layout version, byte order, word size, geometry and the offsets
 * it implies, the descriptor's real size, the stream's index and count,
 * the writing process, and the client: its mode, alloc, sync, timestamp
 * bits, packet header size and record format's fingerprint must be the
 * consumer's.  The stream is then mapped read-only, but for its consumer
 * page.  Readers, iterators and the merge work on the channel as on a
 * channel of this process; they copy every packet before decoding it, and
 * write nothing but the consumer pages.  Writes, flushes, finalize and
 * enable are refused (-EPERM); grb_channel_fd() says -EOPNOTSUPP.
 *
 * Return: the channel (grb_channel_destroy() unmaps it), or NULL with
 * errno: EPROTO a header that fails a check, a truncated or resizable
 * memory, or another client (grb_last_error() says which stream and
 * what); EINVAL bad arguments; ENOMEM; or the error of a system call
 * (EACCES for a descriptor not open for writing).
 */
struct grb_channel *grb_channel_attach(const struct grb_config *cfg, const int *fds, uint32_t nr,
				       void *client_data);

/**
 * grb_channel_attach_dir() - grb_channel_attach() on the files a channel
 * with GRB_BACKING_DIR made: <dir>/<name>_0 and the rest of the count its
 * header says.  Return: as grb_channel_attach(); ENOENT no such stream.
 */
struct grb_channel *grb_channel_attach_dir(const struct grb_config *cfg, const char *dir,
					   const char *name, void *client_data);

/**
 * grb_channel_lost_memory() - how many streams of an attached channel lost
 * their memory: a file (GRB_BACKING_DIR, grb_channel_attach_dir(), or a
 * file descriptor that is not a sealed memory file) can be truncated by
 * any process that may write it, and the consumer's next access past its
 * end faults.  Attaching such a file installs a SIGBUS handler (once per
 * process; a SIGBUS anywhere else goes to the handler that was there
 * before, or kills as by default; a handler the program installs later
 * replaces it) that replaces that stream's whole
 * mapping with private zero pages: the access goes on reading zeros, the
 * stream's readers return -EIO from then on, and this function counts it.
 * Return: the streams (0 for none, or for NULL).  Real-time: wait-free,
 * no system call.
 */
int grb_channel_lost_memory(const struct grb_channel *ch);

/**
 * grb_channel_owner_alive() - whether the process that writes an attached
 * channel still runs.
 *
 * Once it says 0, the writer has exited or died: readers of the channel
 * return every record committed before (up to each stream's committed
 * position), then -ENODATA instead of -EAGAIN.  Records a writer had
 * reserved and not committed, and those after them in their stream, are
 * not returned.  Return: 1 alive; 0 gone; -EINVAL NULL or a channel of
 * this process.  Real-time: blocking (reads /proc).
 */
int grb_channel_owner_alive(struct grb_channel *ch);

/**
 * grb_channel_owner_gone() - tell an attached channel that its writing
 * process will write it no more, although that process still runs: it
 * called exec (a new program image has no writer of the old channel), a
 * fact the consumer learnt otherwise (e.g. the new image registered
 * again under the same pid).  From then on it is treated as a channel
 * whose owner has gone: readers return every record committed, then
 * -ENODATA, and grb_channel_owner_alive() says 0.  Return: 0; -EINVAL NULL
 * or a channel of this process.  Real-time: wait-free, no system call.
 */
int grb_channel_owner_gone(struct grb_channel *ch);

/**
 * grb_channel_consumer_gone() - the consuming readers of an attached
 * channel's earlier consumer are gone (the caller knows: its process
 * died) without destroying them: release their claim on every stream
 * (one consuming reader per stream), so that readers of this channel may
 * consume.  Calling it while that consumer runs breaks the exclusion.
 * Return: 0; -EINVAL NULL or a channel of this process.  Real-time:
 * wait-free, no system call.
 */
int grb_channel_consumer_gone(struct grb_channel *ch);

/**
 * grb_channel_consumed_records() - the records of a stream that consuming
 * readers consumed since its creation: returned (taken in a packet or in
 * place) or counted corrupt; not those overwritten.  A consumer that takes
 * over the streams of one that stopped (attached them after it, in this or
 * another process) learns what the earlier one took: this count, less the
 * stream's corrupt_records, at the moment it attached; then written ==
 * its own + that + lost_total + corrupt_records.
 *
 * It is the delivered-record count, less the records of the delivered
 * packets from the consumed position S + k on, plus k, less the
 * overwritten ones, plus, once the writing process is gone, the records of
 * the packet before S if a consumer claimed it without a delivery (a dead
 * single writer's tail, read in place by the log of nested writes), from
 * two identical looks at every counter.  Exact once the writers are gone;
 * while they run, exact when it returns 0: a look that a delivery or a
 * reader crossed is taken again, at most 64 times, and so, in overwrite
 * mode, is a look that finds a reservation open in the packets from S on
 * (its opener may have moved consumed past the packet it overwrites and
 * not yet counted that packet's records).
 * Return: 0 and *n; -EINVAL a bad argument; -EAGAIN the writers kept
 * moving (in overwrite mode: a reservation stayed open; call again), or a
 * writer that died left a delivery half done (its packet's count may or
 * may not be in the delivered one); -EPROTO positions or counts no stream
 * has (shared memory that lies).  grb_last_error() says which.
 * Real-time: wait-free (bounded), no system call.
 */
int grb_channel_consumed_records(const struct grb_channel *ch, uint32_t stream, uint64_t *n);

/** grb_channel_read_stats() - totals over the channel.  Return: 0; -EINVAL for NULL. */
int grb_channel_read_stats(const struct grb_channel *ch, struct grb_channel_stats *st);

/** grb_lost_cause_name() - a short name for a cause ("full", ...). */
const char *grb_lost_cause_name(enum grb_lost_cause cause);

/** grb_last_error() - message of the last failed grb call on this thread. */
const char *grb_last_error(void);

/** grb_version() - the library's version string. */
const char *grb_version(void);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* GRB_CHANNEL_H */
