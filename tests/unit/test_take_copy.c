// SPDX-License-Identifier: MIT
/*
 * test_take_copy.c - a consumer in another process takes a delivered
 * packet by copy (doc/design.md, "Who writes what") while, in overwrite
 * mode, a writer of the slot's next lap has entered the slot and its
 * opener has not pushed consumed yet.
 *
 * One global atomic stream of two sub-buffers in a memory file, attached
 * as a consumer in another process would (the same process here: the
 * take by copy is the attached channel's).  Thread A fills packets 0 and
 * 1; its record that does not fit in packet 1 closes it, which delivers
 * it, and A is held in the client's packet_published, after its
 * reservation moved the offset into packet 2 (slot 0's next lap) and
 * before it pushes consumed past packet 0.  The main thread then writes
 * a record into packet 2 (it clears slot 0's NOREF, as any writer after
 * the opener does) and asks for packet 0:
 *  - the take must not call packet 0 corrupt (it did: -EPROTO, counted in
 *    corrupt_packets and corrupt_records); it is being overwritten, and
 *    the answer is -EAGAIN;
 *  - once A goes on, its push counts packet 0 overwritten; packet 1 and
 *    then packet 2 are returned, and returned + overwritten == committed.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>

#include <grb/grb.h>
#include <grb/native.h>

#include "check.h"

#define SB 512u

static sem_t held, release;
static pthread_t thread_a;
static int a_held;

/* Holds thread A after the delivery of packet 1 (its padding's commit). */
static void hold_published(const struct grb_config *cfg, const struct grb_packet_info *info)
{
	(void)cfg;
	if (info->seq == 1 && pthread_equal(pthread_self(), thread_a) && !a_held) {
		a_held = 1;
		sem_post(&held);
		while (sem_wait(&release))
			;
	}
}

static const struct grb_config cfg = {
	.abi = GRB_CONFIG_ABI,
	.alloc = GRB_ALLOC_GLOBAL,
	.sync = GRB_SYNC_ATOMIC,
	.mode = GRB_MODE_OVERWRITE,
	.wakeup = GRB_WAKEUP_NONE,
	.ts_bits = 32,
	.max_nesting = 4,
	.record_align = 8,
	.packet_header_size = (unsigned int)sizeof(struct grb_native_packet),
	.min_record_size = GRB_NATIVE_COMPACT_SIZE,
	.clock_read = grb_clock_monotonic,
	.record_header_size = grb_native_header_size,
	.record_header_write = grb_native_header_write,
	.packet_begin = grb_native_packet_begin,
	.packet_end = grb_native_packet_end,
	.record_decode = grb_native_record_decode,
	.record_discard = grb_native_record_discard,
	.name = "take-copy",
	.packet_published = hold_published,
	.prev_ts_exact = 0,
};

static struct grb_channel *wch;
static uint64_t committed_a;

static int write_one(uint64_t v)
{
	struct grb_ctx ctx = { .payload_len = sizeof(v) };
	int ret = grb_reserve(&cfg, wch, &ctx);

	if (ret)
		return ret;
	grb_write(&ctx, &v, sizeof(v));
	grb_commit(&cfg, &ctx);
	return 0;
}

/* Thread A: records until the one that opened packet 2 was committed. */
static void *writer_a(void *arg)
{
	uint64_t i;

	(void)arg;
	for (i = 0; !a_held; i++)
		if (write_one(i) == 0)
			committed_a++;
	return NULL;
}

int main(void)
{
	struct grb_channel_attr a;
	struct grb_channel *ch;
	struct grb_stream_shm shm;
	struct grb_stream_stats st;
	struct grb_reader *r;
	struct grb_packet pkt;
	struct grb_iter *it;
	struct grb_record rec;
	uint64_t returned = 0, p1_records;
	int fd, ret;

	sem_init(&held, 0, 0);
	sem_init(&release, 0, 0);
	grb_channel_attr_init(&a);
	a.subbuf_size = SB;
	a.subbuf_count = 2;
	a.backing = GRB_BACKING_MEMFD;
	wch = grb_channel_create(&cfg, &a);
	CHECK(wch != NULL);
	if (!wch)
		return check_exit("test_take_copy");
	CHECK(grb_channel_stream_shm(wch, 0, &shm) == 0);
	fd = shm.fd;
	ch = grb_channel_attach(&cfg, &fd, 1, NULL);
	CHECK(ch != NULL);
	if (!ch)
		return check_exit("test_take_copy");
	r = grb_reader_create(ch, 0, 0);
	CHECK(r != NULL);

	/* A writes packets 0 and 1, and is held opening packet 2. */
	pthread_create(&thread_a, NULL, writer_a, NULL);
	while (sem_wait(&held))
		;
	/* A writer after the opener: into slot 0's next lap. */
	CHECK(write_one(1u << 20) == 0);
	/* Packet 0 is delivered, its slot entered by the next lap, consumed
	 * not pushed yet: not a corrupt packet, not to take. */
	ret = grb_reader_get_next(r, &pkt);
	CHECK(ret == -EAGAIN);
	if (ret == 0)
		grb_reader_put(r, &pkt);
	CHECK(grb_channel_read_stream_stats(ch, 0, &st) == 0);
	CHECK(st.corrupt_packets == 0 && st.corrupt_records == 0);
	CHECK(st.lost[GRB_LOST_OVERWRITTEN] == 0);

	/* A pushes: packet 0 is counted overwritten, packet 1 comes. */
	sem_post(&release);
	pthread_join(thread_a, NULL);
	CHECK(grb_channel_read_stream_stats(ch, 0, &st) == 0);
	CHECK(st.lost[GRB_LOST_OVERWRITTEN] > 0);
	ret = grb_reader_get_next(r, &pkt);
	CHECK(ret == 0);
	CHECK(ret != 0 || pkt.pos == SB);
	p1_records = ret == 0 ? pkt.info.records : 0;
	if (ret == 0)
		grb_reader_put(r, &pkt);
	grb_reader_destroy(r);

	/* The rest (packet 2, flushed), then the accounting. */
	grb_channel_finalize(wch);
	it = grb_iter_create(ch, 0, 0);
	CHECK(it != NULL);
	while (it && (ret = grb_iter_next(it, &rec)) == 0)
		returned++;
	CHECK(!it || ret == -ENODATA);
	CHECK(grb_channel_read_stream_stats(ch, 0, &st) == 0);
	printf("packet 1: %llu records; then %llu returned, %llu overwritten, %llu committed "
	       "(%llu by A and 1 more), %llu corrupt\n",
	       (unsigned long long)p1_records, (unsigned long long)returned,
	       (unsigned long long)st.lost[GRB_LOST_OVERWRITTEN], (unsigned long long)st.committed,
	       (unsigned long long)committed_a, (unsigned long long)st.corrupt_records);
	CHECK(st.committed == committed_a + 1);
	CHECK(p1_records > 0 && returned >= 2);
	CHECK(p1_records + returned + st.lost[GRB_LOST_OVERWRITTEN] == st.committed);
	CHECK(st.corrupt_packets == 0 && st.corrupt_records == 0);
	if (it)
		grb_iter_destroy(it);
	grb_channel_destroy(ch);
	grb_channel_destroy(wch);
	return check_exit("test_take_copy");
}
