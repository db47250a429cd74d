// SPDX-License-Identifier: MIT
/*
 * test_ctf_sink.c - a fed CTF trace's sink (grb_ctf_trace_set_sink) gets
 * what the files get: the metadata text, in order, equal to the metadata
 * file; each stream of a source as it is attached, with an empty opening
 * packet stamped between the attach's start and end; each packet once
 * written, its bytes those of the stream file and its entry that of the
 * index file.  grb_ctf_trace_stream_idle() says 1 for a stream whose
 * reservations are all written, 0 while one is open or not yet taken, 2
 * once its source ended; grb_ctf_trace_stream_quiet() says 3 instead of 1
 * for a stream that no thread owns (never written, or given back by a
 * thread that exited), 1 for this thread's; grb_ctf_trace_stream_take()
 * writes the records of an open packet as packets of their own, then the
 * packet without them, numbered on, each part beginning at its first
 * record, and the stream counts as idle when all it reserved is written;
 * the refusals of set_sink.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <grb/grb.h>
#include <grb/ctf.h>
#include <grb/session.h>

#include "check.h"

static const struct grb_config cfg = GRB_SESSION_CONFIG;

#define TICK_FIELDS(F) F(u32, n)
GRB_CTF_EVENT(sink_tick, "sink:tick", 1, TICK_FIELDS)
static const struct grb_ctf_event_desc *const events[] = { &sink_tick_event };

#define NSTREAMS 2

/* A thread that writes three events and exits: its exit hook closes its
 * packet and gives its stream back. */
static void *write_three(void *arg)
{
	uint32_t i;

	for (i = 0; i < 3; i++)
		CHECK(sink_tick_write(&cfg, (struct grb_channel *)arg, 100 + i) == 0);
	return NULL;
}
#define MAX_PACKETS 64

struct seen_packet {
	uint32_t stream;
	uint64_t len, records;
	struct grb_ctf_index_entry e;
	char *bytes;
};

static struct {
	char *meta;
	size_t meta_len;
	uint8_t uuid[16];
	int meta_calls;
	uint32_t nr_streams;
	char names[NSTREAMS][128];
	char open[NSTREAMS][GRB_CTF_PACKET_HEADER_SIZE];
	uint32_t nr_packets;
	struct seen_packet p[MAX_PACKETS];
} seen;

static void on_metadata(void *arg, const uint8_t uuid[16], const char *text, size_t len)
{
	CHECK(arg == &seen);
	seen.meta = (char *)realloc(seen.meta, seen.meta_len + len + 1);
	memcpy(seen.meta + seen.meta_len, text, len);
	seen.meta_len += len;
	seen.meta[seen.meta_len] = 0;
	memcpy(seen.uuid, uuid, 16);
	seen.meta_calls++;
}

static void on_stream(void *arg, uint32_t stream, const char *name, const void *open_packet)
{
	CHECK(arg == &seen);
	CHECK(stream == seen.nr_streams);
	if (stream >= NSTREAMS)
		return;
	snprintf(seen.names[stream], sizeof(seen.names[stream]), "%s", name);
	memcpy(seen.open[stream], open_packet, GRB_CTF_PACKET_HEADER_SIZE);
	seen.nr_streams++;
}

static void on_packet(void *arg, uint32_t stream, const void *header, const void *body,
		      uint64_t len, const struct grb_ctf_index_entry *e, uint64_t records)
{
	struct seen_packet *p;

	CHECK(arg == &seen);
	CHECK(seen.nr_packets < MAX_PACKETS);
	if (seen.nr_packets >= MAX_PACKETS)
		return;
	p = &seen.p[seen.nr_packets++];
	p->stream = stream;
	p->len = len;
	p->records = records;
	p->e = *e;
	p->bytes = (char *)malloc(len);
	memcpy(p->bytes, header, GRB_CTF_PACKET_HEADER_SIZE);
	if (len > GRB_CTF_PACKET_HEADER_SIZE)
		memcpy(p->bytes + GRB_CTF_PACKET_HEADER_SIZE, body,
		       len - GRB_CTF_PACKET_HEADER_SIZE);
}

static uint64_t hdr64(const char *h, size_t off)
{
	uint64_t v;

	memcpy(&v, h + off, 8);
	return v;
}

/* The whole file dir/name, malloc'd (*len its size), or NULL. */
static char *slurp(const char *dir, const char *name, size_t *len)
{
	char path[512];
	struct stat st;
	char *buf;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st)) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	buf = (char *)malloc((size_t)st.st_size + 1);
	if (buf && read(fd, buf, (size_t)st.st_size) != st.st_size) {
		free(buf);
		buf = NULL;
	}
	close(fd);
	if (buf) {
		buf[st.st_size] = 0;
		*len = (size_t)st.st_size;
	}
	return buf;
}

static void check_metadata(const char *dir)
{
	size_t len = 0;
	char *file = slurp(dir, "metadata", &len);

	CHECK(file != NULL);
	CHECK(file && len == seen.meta_len && !memcmp(file, seen.meta, len));
	free(file);
}

/* The packets the sink saw are the stream files' and their indexes'. */
static void check_packets(const char *dir)
{
	uint32_t i, j;

	for (i = 0; i < seen.nr_streams; i++) {
		struct grb_ctf_index *idx = NULL;
		struct grb_ctf_index_entry e;
		size_t len = 0;
		char *file = slurp(dir, seen.names[i], &len);
		uint32_t n = 0;

		for (j = 0; j < seen.nr_packets; j++)
			n += seen.p[j].stream == i;
		if (!n) {
			CHECK(file == NULL); /* no packet, no file */
			free(file);
			continue;
		}
		CHECK(file != NULL);
		CHECK(grb_ctf_index_open(dir, seen.names[i], &idx) == 0);
		for (j = 0; file && idx && j < seen.nr_packets; j++) {
			const struct seen_packet *p = &seen.p[j];

			if (p->stream != i)
				continue;
			CHECK(grb_ctf_index_next(idx, &e) == 0);
			CHECK(!memcmp(&e, &p->e, sizeof(e)));
			CHECK(p->e.offset + p->len <= len);
			CHECK(p->e.offset + p->len <= len &&
			      !memcmp(file + p->e.offset, p->bytes, p->len));
			CHECK(p->e.packet_size == p->len * 8);
		}
		if (idx)
			CHECK(grb_ctf_index_next(idx, &e) == -ENODATA);
		grb_ctf_index_close(idx);
		free(file);
	}
}

int main(void)
{
	char dir[] = "/tmp/grb-sink-XXXXXX", path[256];
	struct grb_ctf_trace_attr attr;
	struct grb_channel_attr ca;
	struct grb_ctf_sink sink;
	struct grb_ctf_trace *t;
	struct grb_channel *w;
	int fds[NSTREAMS], src, mine = -1;
	uint64_t t0, t1, r0, r1;
	uint32_t i, before;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/trace", dir);
	grb_ctf_trace_attr_init(&attr);
	attr.path = path;
	attr.event_context = GRB_CTF_CONTEXT_IDS;
	t = grb_ctf_trace_create_fed(&cfg, &attr);
	CHECK(t != NULL);
	if (!t)
		return check_exit("test_ctf_sink");

	memset(&sink, 0, sizeof(sink));
	sink.size = sizeof(sink) - 1;
	sink.arg = &seen;
	sink.metadata = on_metadata;
	sink.stream = on_stream;
	sink.packet = on_packet;
	CHECK(grb_ctf_trace_set_sink(t, &sink) == -EINVAL);
	sink.size = sizeof(sink);
	sink.packet = NULL;
	CHECK(grb_ctf_trace_set_sink(t, &sink) == -EINVAL);
	sink.packet = on_packet;
	CHECK(grb_ctf_trace_set_sink(NULL, &sink) == -EINVAL);
	CHECK(seen.meta_calls == 0);
	CHECK(grb_ctf_trace_set_sink(t, &sink) == 0);
	/* The metadata so far, at once. */
	CHECK(seen.meta_calls == 1);
	check_metadata(path);
	CHECK(grb_ctf_trace_set_sink(t, &sink) == -EBUSY);
	CHECK(grb_ctf_trace_stream_idle(t, 0, NULL) == -EINVAL); /* no stream yet */

	/* A program's channel, attached in this process. */
	grb_channel_attr_init(&ca);
	ca.subbuf_size = 4096;
	ca.subbuf_count = 4;
	ca.nr_streams = NSTREAMS;
	ca.backing = GRB_BACKING_MEMFD;
	w = grb_channel_create(&cfg, &ca);
	CHECK(w != NULL);
	if (!w)
		return check_exit("test_ctf_sink");
	for (i = 0; i < NSTREAMS; i++) {
		struct grb_stream_shm d;

		CHECK(grb_channel_stream_shm(w, i, &d) == 0);
		fds[i] = d.fd;
	}
	t0 = grb_clock_monotonic();
	src = grb_ctf_trace_attach(t, fds, NSTREAMS, "sink", (int32_t)getpid(), events, 1);
	t1 = grb_clock_monotonic();
	CHECK(src == 0);
	/* Its stream class appended, and each stream with its opening. */
	CHECK(seen.meta_calls == 2);
	check_metadata(path);
	CHECK(seen.nr_streams == NSTREAMS);
	for (i = 0; i < seen.nr_streams; i++) {
		const char *h = seen.open[i];
		char name[128];
		uint32_t magic, cls;

		snprintf(name, sizeof(name), "sink_%d_%u", (int)getpid(), i);
		CHECK(!strcmp(seen.names[i], name));
		memcpy(&magic, h + GRB_CTF_OFF_MAGIC, 4);
		memcpy(&cls, h + GRB_CTF_OFF_STREAM_ID, 4);
		CHECK(magic == GRB_CTF_MAGIC);
		CHECK(!memcmp(h + GRB_CTF_OFF_UUID, seen.uuid, 16));
		CHECK(cls == 0);
		CHECK(hdr64(h, GRB_CTF_OFF_INSTANCE) == i);
		CHECK(hdr64(h, GRB_CTF_OFF_SEQ) == 0);
		CHECK(hdr64(h, GRB_CTF_OFF_TS_BEGIN) >= t0 && hdr64(h, GRB_CTF_OFF_TS_BEGIN) <= t1);
		CHECK(hdr64(h, GRB_CTF_OFF_TS_END) == hdr64(h, GRB_CTF_OFF_TS_BEGIN));
		CHECK(hdr64(h, GRB_CTF_OFF_CONTENT) == GRB_CTF_PACKET_HEADER_SIZE * 8);
		CHECK(hdr64(h, GRB_CTF_OFF_PACKET) == GRB_CTF_PACKET_HEADER_SIZE * 8);
		CHECK(hdr64(h, GRB_CTF_OFF_DISCARDED) == 0);
		CHECK(grb_ctf_trace_stream_idle(t, i, &r0) == 1 && r0 == 0);
		/* No thread owns it yet. */
		CHECK(grb_ctf_trace_stream_quiet(t, i, &r1) == 3 && r1 == 0);
	}
	CHECK(grb_ctf_trace_stream_idle(t, NSTREAMS, NULL) == -EINVAL);
	CHECK(grb_ctf_trace_stream_quiet(t, NSTREAMS, NULL) == -EINVAL);

	/* Ten events of this thread: its stream has an open packet. */
	for (i = 0; i < 10; i++)
		CHECK(sink_tick_write(&cfg, w, i) == 0);
	for (i = 0; i < NSTREAMS; i++) {
		struct grb_stream_stats st;

		CHECK(grb_channel_read_stream_stats(w, i, &st) == 0);
		if (st.owner_tid == (uint32_t)syscall(SYS_gettid))
			mine = (int)i;
	}
	CHECK(mine >= 0);
	if (mine < 0)
		return check_exit("test_ctf_sink");
	CHECK(grb_ctf_trace_stream_idle(t, (uint32_t)mine, &r0) == 0);
	CHECK(r0 > 0);
	CHECK(grb_ctf_trace_stream_quiet(t, (uint32_t)mine, &r1) == 0 && r1 == r0);
	CHECK(grb_ctf_trace_poll(t) == 0); /* nothing delivered */
	CHECK(seen.nr_packets == 0);
	/* Closed: delivered, still not taken. */
	CHECK(grb_channel_flush(w) == 0);
	CHECK(grb_ctf_trace_stream_idle(t, (uint32_t)mine, &r1) == 0);
	CHECK(r1 > r0);
	CHECK(grb_ctf_trace_poll(t) == 1);
	CHECK(seen.nr_packets == 1);
	CHECK(seen.p[0].stream == (uint32_t)mine && seen.p[0].records == 10);
	/* Taken and written: idle, and the same count at each look. */
	CHECK(grb_ctf_trace_stream_idle(t, (uint32_t)mine, &r0) == 1);
	CHECK(grb_ctf_trace_stream_idle(t, (uint32_t)mine, &r1) == 1);
	CHECK(r0 == r1);
	/* This thread owns it: a record it reserves later may carry a time
	 * read before the look.  The other is still owned by none. */
	CHECK(grb_ctf_trace_stream_quiet(t, (uint32_t)mine, &r1) == 1 && r1 == r0);
	for (i = 0; i < NSTREAMS; i++)
		if (i != (uint32_t)mine) {
			CHECK(grb_ctf_trace_stream_idle(t, i, &r0) == 1 && r0 == 0);
			CHECK(grb_ctf_trace_stream_quiet(t, i, &r0) == 3 && r0 == 0);
		}
	/* Another thread writes into the other stream and exits: taken and
	 * written, owned by none again. */
	{
		pthread_t th;
		uint32_t other = 1 - (uint32_t)mine;

		CHECK(pthread_create(&th, NULL, write_three, w) == 0);
		pthread_join(th, NULL);
		CHECK(grb_ctf_trace_poll(t) == 1);
		CHECK(seen.p[seen.nr_packets - 1].stream == other);
		CHECK(seen.p[seen.nr_packets - 1].records == 3);
		CHECK(grb_ctf_trace_stream_idle(t, other, &r0) == 1 && r0 > 0);
		CHECK(grb_ctf_trace_stream_quiet(t, other, &r1) == 3 && r1 == r0);
	}

	/* Four left open, taken early: a packet of their own, numbered after
	 * the last, and the stream idle (all it reserved is written); two
	 * more, taken as a second part; three more, then the packet closed:
	 * written without the six. */
	{
		const struct seen_packet *a, *b, *c, *prev = &seen.p[0];
		uint64_t seq0 = hdr64(prev->bytes, GRB_CTF_OFF_SEQ);

		for (i = 0; i < 4; i++)
			CHECK(sink_tick_write(&cfg, w, 20 + i) == 0);
		CHECK(grb_ctf_trace_stream_idle(t, (uint32_t)mine, &r0) == 0);
		before = seen.nr_packets;
		CHECK(grb_ctf_trace_stream_take(t, (uint32_t)mine) == 4);
		CHECK(seen.nr_packets == before + 1);
		a = &seen.p[before];
		CHECK(a->stream == (uint32_t)mine && a->records == 4);
		CHECK(hdr64(a->bytes, GRB_CTF_OFF_SEQ) == seq0 + 1);
		CHECK(hdr64(a->bytes, GRB_CTF_OFF_TS_BEGIN) >=
		      hdr64(prev->bytes, GRB_CTF_OFF_TS_END));
		CHECK(grb_ctf_trace_stream_idle(t, (uint32_t)mine, &r1) == 1 && r1 == r0);
		CHECK(grb_ctf_trace_stream_quiet(t, (uint32_t)mine, NULL) == 1); /* owned */
		CHECK(grb_ctf_trace_stream_take(t, (uint32_t)mine) == 0); /* nothing new */
		for (i = 0; i < 2; i++)
			CHECK(sink_tick_write(&cfg, w, 24 + i) == 0);
		CHECK(grb_ctf_trace_stream_idle(t, (uint32_t)mine, NULL) == 0);
		CHECK(grb_ctf_trace_stream_take(t, (uint32_t)mine) == 2);
		b = &seen.p[before + 1];
		CHECK(b->records == 2 && hdr64(b->bytes, GRB_CTF_OFF_SEQ) == seq0 + 2);
		CHECK(hdr64(b->bytes, GRB_CTF_OFF_TS_BEGIN) >= hdr64(a->bytes, GRB_CTF_OFF_TS_END));
		for (i = 0; i < 3; i++)
			CHECK(sink_tick_write(&cfg, w, 26 + i) == 0);
		CHECK(grb_channel_flush(w) == 0);
		CHECK(grb_ctf_trace_poll(t) == 1);
		CHECK(seen.nr_packets == before + 3);
		c = &seen.p[before + 2];
		CHECK(c->records == 3 && hdr64(c->bytes, GRB_CTF_OFF_SEQ) == seq0 + 3);
		CHECK(hdr64(c->bytes, GRB_CTF_OFF_TS_BEGIN) >= hdr64(b->bytes, GRB_CTF_OFF_TS_END));
		/* The rest holds three records of the size of the second
		 * part's two (the packet's first, with a full timestamp, was
		 * in the first part). */
		CHECK((c->len - GRB_CTF_PACKET_HEADER_SIZE) * 2 ==
		      (b->len - GRB_CTF_PACKET_HEADER_SIZE) * 3);
		CHECK(hdr64(c->bytes, GRB_CTF_OFF_CONTENT) == c->len * 8);
		CHECK(grb_ctf_trace_stream_idle(t, (uint32_t)mine, NULL) == 1);
	}

	/* Five more, left open, two of them taken early; the writer declared
	 * gone: the other three come as a last packet, then the source
	 * ends. */
	for (i = 10; i < 12; i++)
		CHECK(sink_tick_write(&cfg, w, i) == 0);
	CHECK(grb_ctf_trace_stream_take(t, (uint32_t)mine) == 2);
	for (i = 12; i < 15; i++)
		CHECK(sink_tick_write(&cfg, w, i) == 0);
	CHECK(grb_ctf_trace_stream_idle(t, (uint32_t)mine, NULL) == 0);
	CHECK(grb_ctf_trace_source_end(t, (uint32_t)src) == 0);
	before = seen.nr_packets;
	for (i = 0; i < 100 && grb_ctf_trace_stream_idle(t, (uint32_t)mine, NULL) != 2; i++)
		grb_ctf_trace_poll(t);
	CHECK(seen.nr_packets == before + 1);
	CHECK(seen.p[before].records == 3);
	for (i = 0; i < NSTREAMS; i++) {
		CHECK(grb_ctf_trace_stream_idle(t, i, NULL) == 2);
		CHECK(grb_ctf_trace_stream_quiet(t, i, NULL) == 2);
	}
	CHECK(grb_ctf_trace_stop(t) == 0);
	check_metadata(path);
	check_packets(path);
	CHECK(grb_ctf_trace_set_sink(t, &sink) == -EINVAL); /* stopped */
	grb_ctf_trace_destroy(t);
	grb_channel_destroy(w);

	for (i = 0; i < seen.nr_packets; i++)
		free(seen.p[i].bytes);
	free(seen.meta);
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		CHECK(system(cmd) == 0);
	}
	return check_exit("test_ctf_sink");
}
