// SPDX-License-Identifier: MIT
/*
 * test_packet_published.c - the packet_published callback runs once the
 * packet it names is visible to readers.
 *
 * The callback takes the packet at once with a consuming reader, in the
 * writer's own thread: every call must find exactly the packet it was told
 * about (never -EAGAIN), and there must be one call per delivered packet
 * (counted by packet_end, and by the stream's write and consumed
 * positions).  Deliveries by a commit and by a flush, with the atomic, the
 * single-writer and the per-CPU rseq syncs (or its fallback to atomics),
 * and with the writer's futex wake-up.  A configuration compiled against
 * the previous struct grb_config (ABI version 1) is refused.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <grb/grb.h>
#include <grb/native.h>

#include "check.h"

#define SUBBUF 256u
#define RECORDS 20000u
#define MAX_STREAMS 256u

/* What the callbacks saw; the channel's client_data. */
struct probe {
	struct grb_reader *readers[MAX_STREAMS];
	uint32_t nr_readers;
	uint64_t ended; /* packet_end calls */
	uint64_t published; /* packet_published calls */
	uint64_t found; /* ... that took the packet they named */
	uint64_t nothing; /* ... whose reader found nothing (-EAGAIN) */
	uint64_t other; /* ... any other failure or mismatch */
};

static void counting_packet_end(const struct grb_config *cfg, void *packet,
				const struct grb_packet_info *info)
{
	struct probe *p = (struct probe *)info->client_data;

	p->ended++;
	grb_native_packet_end(cfg, packet, info);
}

static void take_published(const struct grb_config *cfg, const struct grb_packet_info *info)
{
	struct probe *p = (struct probe *)info->client_data;
	struct grb_reader *r;
	struct grb_packet pkt;
	int ret;

	(void)cfg;
	p->published++;
	if (info->stream_id >= p->nr_readers || !p->readers[info->stream_id]) {
		p->other++;
		return;
	}
	r = p->readers[info->stream_id];
	ret = grb_reader_get_next(r, &pkt);
	if (ret == -EAGAIN) {
		p->nothing++;
		return;
	}
	if (ret) {
		fprintf(stderr, "packet %llu of stream %u: get_next %d\n",
			(unsigned long long)info->seq, info->stream_id, ret);
		p->other++;
		return;
	}
	if (pkt.pos == info->seq * info->packet_size && pkt.info.seq == info->seq &&
	    pkt.info.records == info->records && pkt.info.content_size == info->content_size)
		p->found++;
	else
		p->other++;
	if (grb_reader_put(r, &pkt))
		p->other++;
}

/* One field a line, in declaration order. */
/* clang-format off */
#define PUB_CONFIG(_alloc, _sync, _wakeup)                                                 \
	{                                                                                  \
		.abi = GRB_CONFIG_ABI,                                                     \
		.alloc = (_alloc),                                                         \
		.sync = (_sync),                                                           \
		.mode = GRB_MODE_DISCARD,                                                  \
		.wakeup = (_wakeup),                                                       \
		.ts_bits = 32,                                                             \
		.max_nesting = 4,                                                          \
		.record_align = 8,                                                         \
		.packet_header_size = (unsigned int)sizeof(struct grb_native_packet),      \
		.min_record_size = GRB_NATIVE_COMPACT_SIZE,                                \
		.clock_read = grb_clock_monotonic,                                         \
		.record_header_size = grb_native_header_size,                              \
		.record_header_write = grb_native_header_write,                            \
		.packet_begin = grb_native_packet_begin,                                   \
		.packet_end = counting_packet_end,                                         \
		.record_decode = grb_native_record_decode,                                 \
		.record_discard = grb_native_record_discard,                               \
		.name = "published",                                                       \
		.packet_published = take_published,                                        \
		.prev_ts_exact = 0,                                                        \
	}
/* clang-format on */

static const struct grb_config cfg_atomic =
	PUB_CONFIG(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_WAKEUP_NONE);
static const struct grb_config cfg_atomic_wake =
	PUB_CONFIG(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_WAKEUP_WRITER);
static const struct grb_config cfg_single =
	PUB_CONFIG(GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_WAKEUP_NONE);
static const struct grb_config cfg_rseq =
	PUB_CONFIG(GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_WAKEUP_NONE);

static void run(const struct grb_config *cfg, const char *what)
{
	struct grb_channel_attr a;
	struct grb_channel_stats cst;
	struct grb_channel *ch;
	struct probe p;
	uint64_t written = 0, consumed = 0, i;
	uint32_t s;
	const char *why = NULL;

	memset(&p, 0, sizeof(p));
	grb_channel_attr_init(&a);
	a.subbuf_size = SUBBUF;
	a.subbuf_count = 4;
	a.switch_timer_us = 0;
	a.client_data = &p;
	if (cfg->alloc == GRB_ALLOC_PER_THREAD)
		a.nr_streams = 1;
	ch = grb_channel_create(cfg, &a);
	CHECK(ch != NULL);
	if (!ch) {
		fprintf(stderr, "%s: %s\n", what, grb_last_error());
		return;
	}
	p.nr_readers = grb_channel_nr_streams(ch);
	CHECK(p.nr_readers >= 1 && p.nr_readers <= MAX_STREAMS);
	if (p.nr_readers > MAX_STREAMS)
		p.nr_readers = MAX_STREAMS;
	for (s = 0; s < p.nr_readers; s++) {
		p.readers[s] = grb_reader_create(ch, s, 0);
		CHECK(p.readers[s] != NULL);
	}
	/* Deliveries by the commit that completes each packet. */
	for (i = 0; i < RECORDS; i++)
		CHECK(grb_write_record(cfg, ch, 0, &i, sizeof(i)) == 0);
	CHECK(p.published > RECORDS / (SUBBUF / 16));
	/* The open packet, delivered by a flush. */
	CHECK(grb_channel_flush(ch) == 0);

	CHECK(p.published == p.ended);
	CHECK(p.found == p.published);
	CHECK(p.nothing == 0);
	CHECK(p.other == 0);
	for (s = 0; s < p.nr_readers; s++) {
		struct grb_stream_stats st;
		struct grb_packet pkt;

		CHECK(grb_channel_read_stream_stats(ch, s, &st) == 0);
		written += st.write_pos;
		consumed += st.consumed_pos;
		/* The callbacks took every packet: nothing is left. */
		if (p.readers[s])
			CHECK(grb_reader_get_next(p.readers[s], &pkt) == -EAGAIN);
	}
	CHECK(written % SUBBUF == 0 && written / SUBBUF == p.published);
	CHECK(consumed == written);
	CHECK(grb_channel_read_stats(ch, &cst) == 0);
	CHECK(cst.lost_total == 0);
	grb_channel_sync(ch, &why);
	printf("%s%s%s: %llu packets published, %llu found, %llu found nothing\n", what,
	       why ? " (" : "", why ? "fallback to atomics)" : "", (unsigned long long)p.published,
	       (unsigned long long)p.found, (unsigned long long)p.nothing);
	for (s = 0; s < p.nr_readers; s++)
		if (p.readers[s])
			grb_reader_destroy(p.readers[s]);
	grb_channel_destroy(ch);
}

/* A configuration built against version 1 of struct grb_config (without
 * packet_published), 2 (a struct grb_ctx without client_word, prev_ts
 * and lost) or 3 (a struct grb_ctx without slot) is refused. */
static void test_old_abi(void)
{
	uint32_t v;

	for (v = 1; v < GRB_CONFIG_ABI_VERSION; v++) {
		struct grb_config old = cfg_atomic;
		struct grb_channel *ch;

		old.abi = (GRB_CONFIG_ABI & GRB_CONFIG_ABI_EMULATED) | v;
		errno = 0;
		ch = grb_channel_create(&old, NULL);
		CHECK(ch == NULL && errno == EINVAL);
		CHECK(strstr(grb_last_error(), "config.abi") != NULL);
		if (ch)
			grb_channel_destroy(ch);
	}
}

int main(void)
{
	CHECK(GRB_CONFIG_ABI_VERSION == 4u);
	run(&cfg_atomic, "atomic");
	run(&cfg_atomic_wake, "atomic, writer wake-up");
	run(&cfg_single, "single writer");
	run(&cfg_rseq, "per-CPU rseq");
	test_old_abi();
	return check_exit("test_packet_published");
}
