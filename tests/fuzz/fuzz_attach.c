// SPDX-License-Identifier: MIT
/*
 * fuzz_attach.c - a consumer in another process attaching a channel whose
 * memory a hostile writer filled (doc/fuzzing.md).
 *
 * The input is the channel's mapping as the shared layout defines it
 * (grb/static/layout.h): every stream's memory, in index order, each as
 * long as stream 0's header says (map_size); the last stream gets what
 * is left.  Each goes into a sealed memory file, the consumer attaches
 * them as the recorder does (grb_channel_attach), declares the writer
 * gone (a dead writer's memory never changes, so every reader must end)
 * and drains them four times, each on a fresh copy: consuming readers as
 * the recorder drains (packets, then the open packets' records in place),
 * snapshot readers, the merge, and the snapshot merge.  Every record and
 * packet returned is read whole (the sanitizers see any byte outside what
 * was mapped or copied) and checked against what the API promises.
 * A reader that neither ends nor gives anything within a bound set by the
 * input's size is a hang: the target aborts.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_configs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t sink;

static void fail(const char *what, uint32_t stream, uint64_t v)
{
	fprintf(stderr, "fuzz_attach: stream %u: %s (%llu)\n", stream, what, (unsigned long long)v);
	abort();
}

/* Reads every byte of [p, p + n): out of bounds, the sanitizers say so. */
static void touch(const void *p, uint64_t n)
{
	const volatile unsigned char *b = (const volatile unsigned char *)p;
	uint64_t i, s = 0;

	for (i = 0; i < n; i++)
		s += b[i];
	sink += s;
}

struct input {
	const uint8_t *data;
	size_t size;
	uint32_t nr; /* streams */
	uint64_t len[FUZZ_MAX_STREAMS]; /* bytes of each */
	uint64_t steps; /* the bound of each drain */
};

/* Splits the input into its streams' mappings. */
static void input_split(struct input *in, const uint8_t *data, size_t size)
{
	struct grb_shm_stream h;
	uint64_t chunk = size;
	uint32_t i, nr = 1;

	in->data = data;
	in->size = size;
	if (size >= sizeof(h)) {
		memcpy(&h, data, sizeof(h));
		if (h.nr_streams >= 1 && h.nr_streams <= FUZZ_MAX_STREAMS && h.map_size &&
		    h.map_size <= size / h.nr_streams) {
			nr = h.nr_streams;
			chunk = h.map_size;
		}
	}
	in->nr = nr;
	for (i = 0; i + 1 < nr; i++)
		in->len[i] = chunk;
	in->len[nr - 1] = size - (uint64_t)(nr - 1) * chunk;
	/* Each step returns a record, a packet, a skipped packet or
	 * nothing yet; a static mapping holds at most one record per
	 * minimum record size.  Generous, yet finite. */
	in->steps = 256 + 4 * (size / GRB_NATIVE_COMPACT_SIZE);
}

/* Fresh sealed memory files holding the input's streams: 0 or -1. */
static int input_fds(const struct input *in, int *fds)
{
	uint64_t off = 0;
	uint32_t i;

	for (i = 0; i < in->nr; i++)
		fds[i] = -1;
	for (i = 0; i < in->nr; i++) {
		int fd = memfd_create("fuzz_attach", MFD_CLOEXEC | MFD_ALLOW_SEALING);

		if (fd < 0)
			return -1;
		fds[i] = fd;
		if (in->len[i] && pwrite(fd, in->data + off, in->len[i], 0) != (ssize_t)in->len[i])
			return -1;
		if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW))
			return -1;
		off += in->len[i];
	}
	return 0;
}

static void close_fds(const struct input *in, int *fds)
{
	uint32_t i;

	for (i = 0; i < in->nr; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* The consumer's channel over a fresh copy of the input, its writer
 * declared gone; NULL when no client's checks pass. */
static struct grb_channel *attach(const struct input *in)
{
	int fds[FUZZ_MAX_STREAMS];
	struct grb_channel *ch = NULL;
	size_t c;

	if (input_fds(in, fds)) {
		close_fds(in, fds);
		return NULL;
	}
	for (c = 0; c < FUZZ_NR_CFGS && !ch; c++)
		ch = grb_channel_attach(&fuzz_cfgs[c], fds, in->nr, NULL);
	close_fds(in, fds);
	if (ch && grb_channel_owner_gone(ch))
		fail("owner_gone refused", 0, 0);
	return ch;
}

static void check_record(const struct grb_channel *ch, const struct grb_record *rec)
{
	const unsigned char *d = (const unsigned char *)rec->data;
	const unsigned char *p = (const unsigned char *)rec->payload;

	if (!d || rec->len == 0)
		fail("empty record", rec->stream_index, rec->len);
	if (rec->stream_index >= ch->nr_streams)
		fail("record of no stream", rec->stream_index, rec->stream_index);
	if (rec->payload_len > rec->len ||
	    (rec->payload_len &&
	     (p < d || p > d + rec->len || rec->payload_len > d + rec->len - p)))
		fail("payload outside its record", rec->stream_index, rec->payload_len);
	touch(d, rec->len);
}

static void check_packet(const struct grb_reader *r, const struct grb_channel *ch,
			 const struct grb_packet *pkt, uint64_t *steps, uint64_t max)
{
	struct grb_packet_cursor cur;
	struct grb_record rec;
	int ret;

	if (pkt->stream_index >= ch->nr_streams)
		fail("packet of no stream", pkt->stream_index, pkt->stream_index);
	if (pkt->info.content_size > pkt->info.packet_size ||
	    pkt->header_size > pkt->info.content_size)
		fail("packet content outside the packet", pkt->stream_index,
		     pkt->info.content_size);
	if (pkt->start_off < pkt->header_size || pkt->start_off > pkt->info.content_size)
		fail("records start outside the packet", pkt->stream_index, pkt->start_off);
	touch(pkt->data, pkt->info.content_size);
	grb_packet_cursor_init(pkt, &cur);
	while ((ret = grb_packet_record_next(r, pkt, &cur, &rec)) == 0) {
		check_record(ch, &rec);
		if (++*steps > max)
			fail("a packet's records do not end", pkt->stream_index, *steps);
	}
	if (ret != -ENODATA && ret != -EPROTO)
		fail("unexpected return of grb_packet_record_next", pkt->stream_index,
		     (uint64_t)-ret);
}

/* -EAGAIN, -EPROTO or 0: go on; -ENODATA: ended; anything else fails. */
static int step(int ret, uint32_t stream, uint64_t *steps, uint64_t max, const char *what)
{
	if (ret == -ENODATA)
		return 1;
	if (ret && ret != -EAGAIN && ret != -EPROTO)
		fail(what, stream, (uint64_t)-ret);
	if (++*steps > max) {
		fprintf(stderr, "fuzz_attach: %s: no end\n", what);
		fail("a reader of a dead writer's memory never ends", stream, *steps);
	}
	return 0;
}

/* Consuming, as the recorder drains a stream of a process that is gone:
 * the delivered packets, then the open packet's records in place. */
static void drain_consuming(const struct input *in, struct grb_channel *ch, uint32_t i)
{
	struct grb_iter *it = grb_iter_create(ch, i, 0);
	struct grb_reader *r;
	uint64_t steps = 0;
	int ended = 0;

	if (!it)
		return; /* reader_active set: -EBUSY */
	r = grb_iter_reader(it);
	while (!ended) {
		struct grb_packet pkt;
		struct grb_record rec;
		int ret;

		ret = grb_reader_get_next(r, &pkt);
		if (!ret) {
			check_packet(r, ch, &pkt, &steps, in->steps);
			if (grb_reader_put(r, &pkt))
				fail("put refused", i, 0);
		}
		ended = step(ret, i, &steps, in->steps, "grb_reader_get_next");
		if (ret != -EAGAIN)
			continue;
		do {
			ret = grb_iter_next(it, &rec);
			if (!ret)
				check_record(ch, &rec);
			ended = step(ret, i, &steps, in->steps, "grb_iter_next");
		} while (!ended && (ret == 0 || ret == -EPROTO));
	}
	grb_iter_destroy(it);
}

static void drain_snapshot(const struct input *in, struct grb_channel *ch, uint32_t i)
{
	struct grb_reader *r = grb_reader_create(ch, i, GRB_READER_SNAPSHOT);
	uint64_t steps = 0;
	int ended = 0, ret;

	if (!r)
		fail("no snapshot reader", i, (uint64_t)errno);
	while (!ended) {
		struct grb_packet pkt;

		ret = grb_reader_get_next(r, &pkt);
		if (!ret) {
			check_packet(r, ch, &pkt, &steps, in->steps);
			if (grb_reader_put(r, &pkt))
				fail("put refused", i, 0);
		}
		ended = step(ret, i, &steps, in->steps, "grb_reader_get_next (snapshot)");
	}
	grb_reader_destroy(r);
}

static void drain_merge(const struct input *in, struct grb_channel *ch, uint32_t flags)
{
	struct grb_merge *m = grb_merge_create(ch, flags);
	struct grb_record rec;
	uint64_t steps = 0;
	int ended = 0, ret;

	memset(&rec, 0, sizeof(rec));
	if (!m)
		return; /* a stream's reader_active set: -EBUSY */
	while (!ended) {
		ret = grb_merge_next(m, &rec);
		if (!ret)
			check_record(ch, &rec);
		ended = step(ret, rec.stream_index, &steps, in->steps, "grb_merge_next");
	}
	grb_merge_destroy(m);
}

static void stats(struct grb_channel *ch)
{
	struct grb_channel_stats cs;
	struct grb_stream_stats ss;
	uint32_t i;

	for (i = 0; i < ch->nr_streams; i++)
		if (!grb_channel_read_stream_stats(ch, i, &ss))
			sink += ss.lost_total + ss.committed;
	if (!grb_channel_read_stats(ch, &cs))
		sink += cs.lost_total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct grb_channel *ch;
	struct input in;
	uint32_t i;

	input_split(&in, data, size);
	ch = attach(&in);
	if (!ch)
		return 0; /* refused at the attach: checked headers */
	stats(ch);
	for (i = 0; i < ch->nr_streams; i++)
		drain_consuming(&in, ch, i);
	grb_channel_destroy(ch);

	if ((ch = attach(&in)) == NULL)
		fail("a second attach refused", 0, 0);
	for (i = 0; i < ch->nr_streams; i++)
		drain_snapshot(&in, ch, i);
	grb_channel_destroy(ch);

	if ((ch = attach(&in)) == NULL)
		fail("a third attach refused", 0, 0);
	drain_merge(&in, ch, 0);
	grb_channel_destroy(ch);

	if ((ch = attach(&in)) == NULL)
		fail("a fourth attach refused", 0, 0);
	drain_merge(&in, ch, GRB_READER_SNAPSHOT);
	grb_channel_destroy(ch);
	return 0;
}
