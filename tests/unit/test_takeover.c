// SPDX-License-Identifier: MIT
/*
 * test_takeover.c - a consumer that takes over the streams of one that
 * died: grb_channel_consumed_records() says what the first one took, and
 * written == taken by the second + taken before + lost + corrupt.
 *
 *  - the writer is this process (a channel in memory files, one global
 *    stream, discard mode); a first consumer, a child that attached the
 *    descriptors, reads part with a consuming iterator (whole packets,
 *    then records of the open packet in place), logs each sequence number
 *    it got in shared memory and kills itself; the writer writes on
 *    (filling the ring: losses); a second consumer attaches, releases the
 *    dead one's claim (grb_channel_consumer_gone), counts what was taken
 *    before, and drains while the writer writes on and finalizes;
 *  - the count equals what the first one claimed: every record it
 *    returned, or (stopped inside a packet it held) the whole packet; no
 *    record is in both, every committed record is in one or in the rest
 *    of the first one's packet, and the accounting is exact;
 *  - the count while a writer thread writes: each answer 0 is stable and
 *    covers what the consumer returned, within the packet it holds; all
 *    of them once the writer finalized and the consumer drained.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <grb/grb.h>
#include <grb/native.h>

#include "check.h"
#include "shm_pass.h"

#define SB 4096u
#define NSB 4u
#define MAXSEQ 200000u

static const struct grb_config cfg =
	GRB_NATIVE_CONFIG(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD);

/* What the first consumer got, in memory shared with it. */
struct first_log {
	uint64_t n; /* sequence numbers returned */
	uint64_t seq[MAXSEQ];
};

static uint64_t next_seq;

/* Writes n records numbered on from next_seq; returns those committed. */
static uint64_t write_n(struct grb_channel *ch, uint64_t n, uint8_t *committed)
{
	uint64_t i, c = 0;

	for (i = 0; i < n; i++, next_seq++) {
		struct grb_ctx ctx = { .payload_len = sizeof(struct shm_rec) };
		struct shm_rec r = { 0, SHM_REC_MAGIC, next_seq };

		if (grb_reserve(&cfg, ch, &ctx) == 0) {
			grb_write(&ctx, &r, sizeof(r));
			grb_commit(&cfg, &ctx);
			committed[next_seq] = 1;
			c++;
		}
	}
	return c;
}

static int seq_of(const struct grb_record *rec, uint64_t *seq)
{
	struct shm_rec r;

	if (rec->payload_len != sizeof(r))
		return -1;
	memcpy(&r, rec->payload, sizeof(r));
	if (r.magic != SHM_REC_MAGIC || r.seq >= MAXSEQ)
		return -1;
	*seq = r.seq;
	return 0;
}

/* Reads it until it has nothing: each record's sequence number is marked
 * in seen (*n counts them, *dup those seen already, *bad the undecodable).
 * Return what ended the reading. */
static int take_records(struct grb_iter *it, uint8_t *seen, uint64_t *n, uint64_t *dup,
			uint64_t *bad)
{
	struct grb_record rec;
	uint64_t seq;
	int ret;

	while ((ret = grb_iter_next(it, &rec)) == 0) {
		if (seq_of(&rec, &seq)) {
			(*bad)++;
			continue;
		}
		*dup += seen[seq];
		seen[seq] = 1;
		(*n)++;
	}
	return ret;
}

/*
 * The first consumer: attach, read with a consuming iterator, stop after
 * `stop` records (0: when nothing more is ready), and die.  Stopped inside
 * a delivered packet, it took the whole packet: held_end says where the
 * packet ends (its records are in the ring still, as a copy the consumer
 * made: read them with the iterator's own reader is not possible, so
 * the parent derives them from the writer's numbering).
 */
static void first_consumer(const int *fds, uint32_t nfd, uint64_t stop, struct first_log *log)
{
	struct grb_channel *ch = grb_channel_attach(&cfg, fds, nfd, NULL);
	struct grb_iter *it;
	struct grb_record rec;
	uint64_t seq;

	if (!ch)
		_exit(3);
	it = grb_iter_create(ch, 0, 0);
	if (!it)
		_exit(4);
	while (!stop || log->n < stop) {
		if (grb_iter_next(it, &rec) || seq_of(&rec, &seq))
			break;
		log->seq[log->n] = seq;
		__atomic_store_n(&log->n, log->n + 1, __ATOMIC_RELAXED);
	}
	raise(SIGKILL);
	_exit(5);
}

/* Runs the first consumer to its death; the records it returned. */
static uint64_t run_first(const int *fds, uint32_t nfd, uint64_t stop, struct first_log *log)
{
	pid_t pid = fork();
	int st;

	if (pid == 0)
		first_consumer(fds, nfd, stop, log);
	CHECK(pid > 0);
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	return log->n;
}

/*
 * One take-over.  stop: the first consumer stops after that many records
 * (0: all it can get, the open packet's records in place included).
 */
static void takeover(uint64_t stop)
{
	struct first_log *log =
		mmap(NULL, sizeof(*log), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	uint8_t *committed = calloc(MAXSEQ, 1), *seen = calloc(MAXSEQ, 1);
	struct grb_channel_attr a;
	struct grb_channel *w, *ch2;
	struct grb_stream_stats ws, st;
	struct grb_iter *it;
	int fds[1];
	struct grb_stream_shm shm;
	uint64_t i, seq, before = 0, second = 0, dup = 0, bad = 0, missing = 0, extra = 0;
	uint64_t written, consumed = 0;
	int ret;

	CHECK(log != MAP_FAILED && committed && seen);
	if (log == MAP_FAILED || !committed || !seen)
		return;
	next_seq = 0;
	grb_channel_attr_init(&a);
	a.subbuf_size = SB;
	a.subbuf_count = NSB;
	a.backing = GRB_BACKING_MEMFD;
	w = grb_channel_create(&cfg, &a);
	CHECK(w != NULL);
	if (!w)
		return;
	CHECK(grb_channel_stream_shm(w, 0, &shm) == 0);
	fds[0] = shm.fd;
	/* Two and a half packets: two delivered, one open. */
	write_n(w, (SB / 32) * 2 + SB / 64, committed);
	before = run_first(fds, 1, stop, log);
	/* The writer writes on, nobody reads: the ring fills, the rest is
	 * lost. */
	write_n(w, SB / 8 * NSB * 2, committed);

	ch2 = grb_channel_attach(&cfg, fds, 1, NULL);
	CHECK(ch2 != NULL);
	if (!ch2)
		return;
	/* The dead consumer still claims the stream. */
	CHECK(grb_iter_create(ch2, 0, 0) == NULL && errno == EBUSY);
	CHECK(grb_channel_consumer_gone(ch2) == 0);
	ret = grb_channel_consumed_records(ch2, 0, &consumed);
	CHECK(ret == 0);
	CHECK(grb_channel_read_stream_stats(ch2, 0, &st) == 0);
	/* What the first one claimed: what it returned, and the rest of a
	 * packet it held (numbers are consecutive until the first loss,
	 * which comes after it stopped). */
	for (i = 0; i < log->n; i++) {
		CHECK(log->seq[i] == i);
		seen[log->seq[i]] = 1;
	}
	if (!stop)
		CHECK(consumed == log->n); /* took the open packet's records in place */
	else
		CHECK(consumed > log->n && consumed - log->n < SB / 16);
	CHECK(st.corrupt_records == 0);
	printf("first consumer returned %" PRIu64 ", took %" PRIu64 " (consumed position 0x%" PRIx64
	       ")\n",
	       before, consumed, st.consumed_pos);

	/* The second drains while the writer writes on. */
	it = grb_iter_create(ch2, 0, 0);
	CHECK(it != NULL);
	for (i = 0; it && i < 4; i++) {
		CHECK(take_records(it, seen, &second, &dup, &bad) == -EAGAIN);
		write_n(w, SB / 8, committed);
	}
	grb_channel_finalize(w);
	CHECK(!it || take_records(it, seen, &second, &dup, &bad) == -ENODATA);
	CHECK(grb_channel_read_stream_stats(w, 0, &ws) == 0);
	/* Every committed record is in one of the two, or is the rest of
	 * the packet the first one held (seen by neither: consumed - n of
	 * them, right after what it returned). */
	for (seq = 0; seq < next_seq; seq++) {
		if (committed[seq] && !seen[seq]) {
			if (seq >= log->n && seq < consumed)
				extra++;
			else
				missing++;
		}
		if (seen[seq] && !committed[seq])
			bad++;
	}
	written = ws.committed + ws.lost_total;
	printf("written %" PRIu64 " = second %" PRIu64 " + taken before %" PRIu64 " + lost %" PRIu64
	       " + corrupt %" PRIu64 "\n",
	       written, second, consumed - st.corrupt_records, ws.lost_total, ws.corrupt_records);
	CHECK(ws.lost[GRB_LOST_FULL] > 0);
	CHECK(written ==
	      second + (consumed - st.corrupt_records) + ws.lost_total + ws.corrupt_records);
	CHECK(dup == 0 && bad == 0 && missing == 0);
	CHECK(extra == consumed - log->n);
	if (it)
		grb_iter_destroy(it);
	grb_channel_destroy(ch2);
	grb_channel_destroy(w);
	munmap(log, sizeof(*log));
	free(committed);
	free(seen);
}

/* The count while a writer thread writes and nobody consumes: every
 * answer 0 must be the one the stopped stream gives. */
struct live {
	struct grb_channel *w;
	int stop;
};

static void *live_writer(void *arg)
{
	struct live *l = (struct live *)arg;
	uint64_t seq = 0;

	while (!__atomic_load_n(&l->stop, __ATOMIC_RELAXED)) {
		struct grb_ctx ctx = { .payload_len = sizeof(struct shm_rec) };
		struct shm_rec r = { 0, SHM_REC_MAGIC, seq++ };

		if (grb_reserve(&cfg, l->w, &ctx) == 0) {
			grb_write(&ctx, &r, sizeof(r));
			grb_commit(&cfg, &ctx);
		}
	}
	return NULL;
}

static void live_count(void)
{
	struct grb_channel_attr a;
	struct live l = { NULL, 0 };
	struct grb_channel *ch;
	struct grb_iter *it;
	struct grb_record rec;
	struct grb_stream_shm shm;
	uint64_t taken = 0, n, ok = 0, again = 0, wrong = 0, i;
	pthread_t t;
	int fd, ret;

	grb_channel_attr_init(&a);
	a.subbuf_size = SB;
	a.subbuf_count = NSB;
	a.backing = GRB_BACKING_MEMFD;
	l.w = grb_channel_create(&cfg, &a);
	CHECK(l.w != NULL);
	if (!l.w)
		return;
	CHECK(grb_channel_stream_shm(l.w, 0, &shm) == 0);
	fd = shm.fd;
	ch = grb_channel_attach(&cfg, &fd, 1, NULL);
	CHECK(ch != NULL);
	if (!ch)
		return;
	it = grb_iter_create(ch, 0, 0);
	CHECK(it != NULL);
	CHECK(grb_channel_consumed_records(ch, 0, &n) == 0 && n == 0);
	pthread_create(&t, NULL, live_writer, &l);
	/* At least 2000 rounds, and on until the writer has written more
	 * than 10000 records meanwhile, however it is scheduled (a bound of
	 * 2,000,000 rounds, minutes, for a writer that never runs). */
	for (i = 0; i < 2000 || (taken <= 10000 && i < 2000000); i++) {
		uint32_t j;

		if (i % 8 == 0)
			usleep(100); /* the writer fills packets meanwhile */
		/* Take some, then ask while the writer runs on. */
		for (j = 0; j < 50 && grb_iter_next(it, &rec) == 0; j++)
			taken++;
		/* The iterator holds a packet: the count is the records of
		 * every packet it claimed, returned or not; ask twice with the
		 * consumer still, the writer running. */
		ret = grb_channel_consumed_records(ch, 0, &n);
		if (ret == 0) {
			uint64_t m;

			ok++;
			/* Stable while this consumer does not move. */
			if (grb_channel_consumed_records(ch, 0, &m) == 0 && m != n)
				wrong++;
			/* Every record returned, and the rest of the
			 * packet the iterator holds. */
			if (n < taken || n - taken > SB / 16)
				wrong++;
		} else {
			CHECK(ret == -EAGAIN);
			again++;
		}
	}
	__atomic_store_n(&l.stop, 1, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	grb_channel_finalize(l.w);
	while ((ret = grb_iter_next(it, &rec)) == 0)
		taken++;
	CHECK(ret == -ENODATA);
	CHECK(grb_channel_consumed_records(ch, 0, &n) == 0);
	CHECK(n == taken);
	printf("live: %" PRIu64 " counts, %" PRIu64 " to take again, %" PRIu64 " wrong; %" PRIu64
	       " records taken in all\n",
	       ok, again, wrong, taken);
	CHECK(ok > 0 && wrong == 0 && taken > 10000);
	grb_iter_destroy(it);
	grb_channel_destroy(ch);
	grb_channel_destroy(l.w);
}

int main(void)
{
	uint64_t n;

	CHECK(grb_channel_consumed_records(NULL, 0, &n) == -EINVAL);
	CHECK(grb_channel_consumer_gone(NULL) == -EINVAL);
	takeover(0);
	takeover(SB / 32 + 7); /* inside the second packet */
	live_count();
	return check_exit("test_takeover");
}
