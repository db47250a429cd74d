/* SPDX-License-Identifier: MIT */
/*
 * grb/reader.h - consuming and snapshot reads: sub-buffers, records, and a
 * merge of all streams by timestamp.
 *
 * One consuming reader per stream at a time, and any number of snapshot
 * readers beside it.  A consuming reader takes a complete sub-buffer by
 * swapping it with its spare sub-buffer, and its iterator returns the
 * committed records of the packet still being written one by one, in
 * place (copied first in overwrite mode); a snapshot reader copies what it
 * shows and checks the copy.  Writers never write into what a reader
 * returns and never wait for it, in every mode.
 *
 * Real-time contract:
 *
 * | function                     | signal-safe | progress  | system calls          |
 * |------------------------------|-------------|-----------|-----------------------|
 * | grb_reader_create / destroy  | no          | blocking  | malloc, free          |
 * | grb_reader_get_next          | yes         | lock-free | futex wake (blocking) |
 * | grb_reader_put               | yes         | wait-free | no                    |
 * | grb_reader_wait              | no          | blocking  | futex wait, nanosleep |
 * | grb_channel_wait             | no          | blocking  | futex_waitv           |
 * | grb_packet_record_next       | yes         | wait-free | no                    |
 * | grb_reader_lost_packets, grb_reader_corrupt_packets | yes | wait-free | no  |
 * | grb_iter_* / grb_merge_next  | no          | lock-free | as get_next           |
 * | grb_merge_arm                | no          | wait-free | eventfd read          |
 * | grb_merge_wait               | no          | blocking  | eventfd read, poll    |
 * | grb_iter_create / merge_create | no        | blocking  | malloc                |
 *
 * A reader may run in any thread or process; a reader and the writers never
 * wait for each other.  One thread at a time uses a given reader handle.
 */
#ifndef GRB_READER_H
#define GRB_READER_H

#include <stdint.h>
#include <grb/config.h>
#include <grb/channel.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* grb_reader_create() flags. */
#define GRB_READER_SNAPSHOT 0x1u /* read without consuming (flight recorder dump) */

struct grb_reader;

/** A sub-buffer held by a reader, between get and put. */
struct grb_packet {
	const char *data; /* the packet's first byte (its packet header) */
	uint64_t pos; /* stream position of the packet */
	struct grb_packet_info info; /* as the core recorded it, validated */
	uint32_t stream_index;
	uint32_t header_size; /* the client's packet header size */
	/* Where grb_packet_cursor_init() starts: after the packet header and
	 * after the records a consuming reader's iterator already returned
	 * before the packet was delivered (they are consumed). */
	uint64_t start_off;
	uint64_t start_ts; /* the timestamp of the record before start_off */
};

/** Where grb_packet_record_next() is in a packet. */
struct grb_packet_cursor {
	uint64_t off;
	uint64_t prev_ts;
};

/**
 * grb_reader_create() - attach a reader to one stream of a channel.
 * @flags: 0 (consuming) or GRB_READER_SNAPSHOT
 *
 * A snapshot reader reads, oldest first and without consuming them, the
 * packets in the ring when it is created: the delivered ones whole, and the
 * records committed so far of the packet being written (no flush needed),
 * less the records the consuming reader has returned;
 * grb_reader_snapshot_restart() takes a new snapshot.
 *
 * Return: the reader, or NULL with errno: EINVAL bad stream index or flags;
 * EBUSY (consuming) the stream already has a consuming reader; ESHUTDOWN
 * the channel is destroyed; ENOMEM.
 */
struct grb_reader *grb_reader_create(struct grb_channel *ch, uint32_t stream, uint32_t flags);

/** grb_reader_destroy() - detach (puts a held packet).  Return: 0, -EINVAL. */
int grb_reader_destroy(struct grb_reader *r);

/**
 * grb_reader_get_next() - take the next complete sub-buffer.
 *
 * Return: 0 and *pkt filled; -EAGAIN nothing complete yet (flush the channel
 * to close a partially filled one); -ENODATA the stream is finalized and
 * drained, or the snapshot is read to its end; -EBUSY a packet is already
 * held (put it first); -EPROTO the sub-buffer failed validation (what the
 * stream recorded of it is inconsistent, e.g. a client clock that went
 * back): it was skipped, once, and the next call goes on with the next
 * one; the writers go on too.  A consuming reader counts it and its records
 * in the stream's corrupt_packets and corrupt_records
 * (grb_channel_read_stream_stats()); a snapshot reader leaves it in the
 * ring.  Both count it in grb_reader_corrupt_packets().  -ESHUTDOWN the
 * channel was destroyed.  -EIO (an attached channel of files): the
 * stream's file shrank under the consumer's mapping, which then reads
 * zeros (grb_channel_lost_memory()); nothing more comes from the stream,
 * and what was being copied when it happened is not returned.
 */
int grb_reader_get_next(struct grb_reader *r, struct grb_packet *pkt);

/**
 * grb_reader_put() - give back the packet taken by grb_reader_get_next().
 *
 * Return: 0; -EINVAL no packet is held or pkt is not the held one.
 */
int grb_reader_put(struct grb_reader *r, struct grb_packet *pkt);

/**
 * grb_reader_wait() - wait until a sub-buffer may be ready.
 * @timeout_ns: longest wait; 0 returns at once
 *
 * With GRB_WAKEUP_WRITER the delivering writer wakes it; otherwise it sleeps
 * for the read timer period or the timeout, whichever is shorter.
 * Return: 0 (maybe ready), -ETIMEDOUT, -ESHUTDOWN.
 */
int grb_reader_wait(struct grb_reader *r, uint64_t timeout_ns);

/* The most streams grb_channel_wait() watches at once. */
#define GRB_CHANNEL_WAIT_MAX 127u

/**
 * grb_channel_wait() - wait until any stream of a channel has a delivered
 * sub-buffer its consuming reader has not taken, or is finalized; for a
 * consumer that reads the streams from another thread (or process: an
 * attached channel), e.g. an event loop woken by a waiting thread.
 * @cancel: a process-private word (or NULL): the wait also ends when
 *	*cancel differs from @cancel_val (the canceller changes it, then
 *	wakes it with FUTEX_WAKE_PRIVATE)
 * @timeout_ns: longest wait
 *
 * Raises every stream's reader_waiting, then looks at each (no wake-up
 * between the look and the sleep is lost), sleeps on all their futexes
 * at once (futex_waitv), and lowers the flags.  The writers wake it when
 * their channel has GRB_WAKEUP_WRITER (with the packet policy: at most
 * once per delivered sub-buffer, and only while it waits); with another
 * wake-up it returns at the timeout, or when a look finds a sub-buffer.
 * The streams' readers need not be this thread's; this call only reads
 * the streams and writes the reader_waiting flags, which no reader
 * handle of the channel may use meanwhile (grb_reader_wait,
 * grb_merge_arm).
 *
 * Return: 0 (a sub-buffer may be ready, or cancelled), -ETIMEDOUT,
 * -EINTR, -E2BIG more than GRB_CHANNEL_WAIT_MAX streams, -ENOSYS no
 * futex_waitv (Linux before 5.16), -ESHUTDOWN destroyed, -EINVAL.
 */
int grb_channel_wait(struct grb_channel *ch, uint32_t *cancel, uint32_t cancel_val,
		     uint64_t timeout_ns);

/** grb_reader_snapshot_restart() - sample the stream again (snapshot readers).
 * Return: 0; -EINVAL not a snapshot reader; -EBUSY a packet is held. */
int grb_reader_snapshot_restart(struct grb_reader *r);

/** grb_reader_lost_packets() - sub-buffers a reader skipped because they were
 * overwritten while it copied them (snapshot readers). */
uint64_t grb_reader_lost_packets(const struct grb_reader *r);

/** grb_reader_corrupt_packets() - sub-buffers a reader skipped (-EPROTO from
 * grb_reader_get_next()) because they failed validation.
 * Return: the count (0 for a NULL reader). */
uint64_t grb_reader_corrupt_packets(const struct grb_reader *r);

/**
 * grb_packet_record_next() - decode the next record of a held packet.
 * @cur: zero it (or call grb_packet_cursor_init()) before the first record
 *
 * Records discarded after reserve are skipped.  Return: 0 and *rec filled;
 * -ENODATA no more records; -EPROTO corrupt record (the rest of the packet
 * is skipped).
 */
int grb_packet_record_next(const struct grb_reader *r, const struct grb_packet *pkt,
			   struct grb_packet_cursor *cur, struct grb_record *rec);

/** grb_packet_cursor_init() - position a cursor on a packet's first record. */
void grb_packet_cursor_init(const struct grb_packet *pkt, struct grb_packet_cursor *cur);

/* Record iterator over one stream; records point into a held packet and
 * stay valid until the next call. */
struct grb_iter;
struct grb_iter *grb_iter_create(struct grb_channel *ch, uint32_t stream, uint32_t flags);
/** Return: 0; -EAGAIN none now; -ENODATA finalized and drained; -EPROTO a
 * corrupt record or packet was skipped (call again); -ESHUTDOWN; -EIO the
 * stream's file shrank under an attached channel (grb_reader_get_next()). */
int grb_iter_next(struct grb_iter *it, struct grb_record *rec);
int grb_iter_destroy(struct grb_iter *it);
struct grb_reader *grb_iter_reader(struct grb_iter *it);

/*
 * Iterator that merges every stream of a channel by timestamp (the ftrace
 * "trace" view), over the committed records of every stream (those of
 * packets still being written included).  Order: each call returns the
 * oldest record among the streams that have one readable, so a record
 * comes out after a younger one of another stream only if, when the call
 * that returned the younger one began, it was not yet readable: it or
 * another record of its stream (before or after it) was in flight,
 * reserved and not yet committed, and its sub-buffer was not delivered.
 * The disorder is bounded by the time records stay in flight; after
 * grb_channel_finalize() (or with writers stopped) the order is exact.
 * Each record carries its stream's CPU or owner thread, whether it opens
 * a packet, and the losses counted on its stream since the stream's
 * previous record (struct grb_record).
 */
struct grb_merge;
struct grb_merge *grb_merge_create(struct grb_channel *ch, uint32_t flags);
/** Return: as grb_iter_next(); -EAGAIN when no stream has a record now. */
int grb_merge_next(struct grb_merge *m, struct grb_record *rec);
int grb_merge_destroy(struct grb_merge *m);

/**
 * grb_merge_arm() - prepare to sleep on grb_channel_fd().
 *
 * Clears the descriptor and tells the writers a reader waits; then looks
 * at every stream.  Return: 1 records are readable now (call
 * grb_merge_next(), do not sleep); 0 armed: poll the descriptor, it
 * becomes readable when the channel's wake-up policy fires for records
 * published after this call; -EOPNOTSUPP the channel has no wake-up
 * (GRB_WAKEUP_NONE); -ESHUTDOWN; -EINVAL.  One merge at a time may wait on
 * a channel's descriptor.  Not async-signal-safe.
 */
int grb_merge_arm(struct grb_merge *m);

/**
 * grb_merge_wait() - block until the merge may have a record.
 *
 * grb_merge_arm(), then a wait on the channel's descriptor.  Return: 0
 * (call grb_merge_next()); -ETIMEDOUT; as grb_merge_arm().  After
 * grb_channel_finalize() it returns at once and grb_merge_next() ends
 * with -ENODATA.
 */
int grb_merge_wait(struct grb_merge *m, uint64_t timeout_ns);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* GRB_READER_H */
