// SPDX-License-Identifier: MIT
/*
 * test_ctf_read.c - reading a trace back: a trace recorded with the CTF
 * client has its clock and its packet index read with grb_ctf_read_clock()
 * and grb_ctf_index_*(), checked against what was recorded and against the
 * stream file itself; then metadata and index files damaged on purpose
 * give the documented errors.  Works in a temporary directory under the
 * current one (the build tree), removed at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <grb/grb.h>
#include <grb/ctf.h>

#include "check.h"

#define CHAN "chan"
#define STREAM CHAN "_0" /* the one stream of a global channel */
#define SUBBUF 4096u
#define NR_EVENTS 3000u
#define CLOCK_STEP 7u

/* A clock that every read advances: the writer, the consumer and the
 * switch timer may read it.  Relaxed: a counter, it orders nothing. */
static uint64_t clk_now = 1000000;
static uint64_t test_clock(void)
{
	return __atomic_add_fetch(&clk_now, CLOCK_STEP, __ATOMIC_RELAXED);
}

static const struct grb_config cfg =
	GRB_CTF_CONFIG_CLOCK(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD, test_clock);
static const struct grb_config cfg_monotonic =
	GRB_CTF_CONFIG(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD);

#define TICK_FIELDS(F) \
	F(u64, n)      \
	F(string, msg, 32)
GRB_CTF_EVENT(tick, "test:tick", 1, TICK_FIELDS)

static const struct grb_ctf_event_desc *const events[] = { &tick_event };

static char top[64]; /* the temporary directory */

static void path_of(char *buf, size_t n, const char *a, const char *b)
{
	snprintf(buf, n, "%s/%s%s%s", top, a, b[0] ? "/" : "", b);
}

static int write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	int ok;

	if (!f)
		return -1;
	ok = fwrite(data, 1, len, f) == len;
	return fclose(f) == 0 && ok ? 0 : -1;
}

static unsigned char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = (unsigned char *)malloc(n > 0 ? (size_t)n : 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static int rm_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(path);
}

/* Record NR_EVENTS events into a trace at dir with the test's clock. */
static int record(const char *dir, struct grb_ctf_stream_stats *st, uint64_t *first_ts,
		  uint64_t *last_ts)
{
	struct grb_ctf_trace_attr a;
	struct grb_ctf_trace *t;
	struct grb_channel *ch;
	uint32_t i;
	int ret;

	grb_ctf_trace_attr_init(&a);
	a.path = dir;
	a.channel_name = CHAN;
	a.events = events;
	a.nr_events = 1;
	/* Room for every event: nothing is lost however late the consumer. */
	a.chan.subbuf_size = SUBBUF;
	a.chan.subbuf_count = 64;
	a.chan.switch_timer_us = 0;
	a.read_period_us = 1000;
	a.clock.name = "test_clock";
	a.clock.description = "freq = 5; offset_s = 6; }; clock { freq = 7; };";
	a.clock.freq = 2500000000u;
	a.clock.offset_s = 1700000000;
	a.clock.offset = 123456789;
	a.clock.offset_set = 1;
	a.clock.uuid = "0b7d3a54-8a2b-4d5e-9f10-112233445566";
	t = grb_ctf_trace_create(&cfg, &a);
	CHECK(t != NULL);
	if (!t) {
		fprintf(stderr, "grb_ctf_trace_create: %s\n", grb_last_error());
		return -1;
	}
	ch = grb_ctf_trace_channel(t);
	*first_ts = __atomic_load_n(&clk_now, __ATOMIC_RELAXED);
	for (i = 0; i < NR_EVENTS; i++)
		CHECK(tick_write(&cfg, ch, i, (i & 7) ? "tick" : "a longer message, tock") == 0);
	ret = grb_ctf_trace_stop(t);
	CHECK(ret == 0);
	*last_ts = __atomic_load_n(&clk_now, __ATOMIC_RELAXED);
	CHECK(grb_ctf_trace_stream_stats(t, 0, st) == 0);
	grb_ctf_trace_destroy(t);
	return ret;
}

static uint64_t hdr64(const unsigned char *p, size_t off)
{
	uint64_t v;

	memcpy(&v, p + off, 8);
	return v;
}

static uint64_t be64_at(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* The entry against LTTng's layout, decoded here by hand: nine big-endian
 * u64 in this order. */
static void check_raw_entry(const unsigned char *raw, const struct grb_ctf_index_entry *e)
{
	CHECK(be64_at(raw + 0) == e->offset);
	CHECK(be64_at(raw + 8) == e->packet_size);
	CHECK(be64_at(raw + 16) == e->content_size);
	CHECK(be64_at(raw + 24) == e->timestamp_begin);
	CHECK(be64_at(raw + 32) == e->timestamp_end);
	CHECK(be64_at(raw + 40) == e->events_discarded);
	CHECK(be64_at(raw + 48) == e->stream_id);
	CHECK(be64_at(raw + 56) == e->stream_instance_id);
	CHECK(be64_at(raw + 64) == e->packet_seq_num);
}

/* The recorded trace read back with the new API, checked against the
 * stream file's own packet headers and the writer's figures. */
static void test_read_back(void)
{
	struct grb_ctf_stream_stats st;
	struct grb_ctf_clock_info clk;
	struct grb_ctf_index_entry e, prev = { 0 };
	struct grb_ctf_index *idx;
	char dir[128], path[160];
	uint64_t first_ts, last_ts, sum = 0, n = 0;
	static const unsigned char idx_header[16] = { 0xc1, 0xf1, 0xdc, 0xc1, 0, 0, 0, 1,
						      0,    0,	  0,	1,    0, 0, 0, 72 };
	unsigned char *data, *raw;
	size_t size = 0, raw_len = 0;
	int ret, i;

	path_of(dir, sizeof(dir), "trace", "");
	if (record(dir, &st, &first_ts, &last_ts))
		return;
	CHECK(st.events == NR_EVENTS);
	for (i = 0; i < GRB_LOST_NR; i++)
		CHECK(st.lost[i] == 0);

	memset(&clk, 0, sizeof(clk));
	CHECK(grb_ctf_read_clock(dir, &clk) == 0);
	CHECK(clk.freq == 2500000000u);
	CHECK(clk.offset_s == 1700000000);
	CHECK(clk.offset == 123456789);

	snprintf(path, sizeof(path), "%s/" STREAM, dir);
	data = read_file(path, &size);
	CHECK(data != NULL);
	if (!data)
		return;
	CHECK(size == st.bytes);
	snprintf(path, sizeof(path), "%s/index/" STREAM ".idx", dir);
	raw = read_file(path, &raw_len);
	CHECK(raw != NULL && raw_len >= 16);
	if (!raw || raw_len < 16) {
		free(data);
		free(raw);
		return;
	}
	CHECK(!memcmp(raw, idx_header, 16));

	ret = grb_ctf_index_open(dir, STREAM, &idx);
	CHECK(ret == 0);
	if (ret) {
		fprintf(stderr, "grb_ctf_index_open: %s\n", grb_last_error());
		free(data);
		free(raw);
		return;
	}
	while ((ret = grb_ctf_index_next(idx, &e)) == 0) {
		const unsigned char *p = data + e.offset;
		uint32_t magic;

		CHECK(e.offset == sum); /* packets back to back */
		CHECK(e.packet_size == e.content_size);
		CHECK(e.packet_size % 8 == 0);
		CHECK(e.packet_size / 8 > GRB_CTF_PACKET_HEADER_SIZE); /* no empty packet here */
		CHECK(e.packet_size / 8 <= SUBBUF);
		CHECK(e.packet_seq_num == n); /* consecutive from 0 */
		CHECK(e.timestamp_begin <= e.timestamp_end);
		CHECK(e.timestamp_begin > first_ts && e.timestamp_end <= last_ts);
		if (n) {
			CHECK(e.timestamp_begin >= prev.timestamp_end);
			CHECK(e.timestamp_begin > prev.timestamp_begin);
		}
		CHECK(e.events_discarded == 0);
		CHECK(e.stream_id == 0);
		CHECK(e.stream_instance_id == 0);
		/* The entry says what the packet's own header says. */
		CHECK(e.offset + e.packet_size / 8 <= size);
		if (e.offset + GRB_CTF_PACKET_HEADER_SIZE <= size) {
			memcpy(&magic, p + GRB_CTF_OFF_MAGIC, 4);
			CHECK(magic == GRB_CTF_MAGIC);
			CHECK(hdr64(p, GRB_CTF_OFF_TS_BEGIN) == e.timestamp_begin);
			CHECK(hdr64(p, GRB_CTF_OFF_TS_END) == e.timestamp_end);
			CHECK(hdr64(p, GRB_CTF_OFF_CONTENT) == e.content_size);
			CHECK(hdr64(p, GRB_CTF_OFF_PACKET) == e.packet_size);
			CHECK(hdr64(p, GRB_CTF_OFF_SEQ) == e.packet_seq_num);
			CHECK(hdr64(p, GRB_CTF_OFF_DISCARDED) == e.events_discarded);
			CHECK(hdr64(p, GRB_CTF_OFF_INSTANCE) == e.stream_instance_id);
		}
		CHECK(16 + (n + 1) * 72 <= raw_len);
		if (16 + (n + 1) * 72 <= raw_len)
			check_raw_entry(raw + 16 + n * 72, &e);
		sum += e.packet_size / 8;
		prev = e;
		n++;
	}
	CHECK(ret == -ENODATA);
	CHECK(grb_ctf_index_next(idx, &e) == -ENODATA); /* and stays there */
	grb_ctf_index_close(idx);
	CHECK(sum == size); /* the entries cover the stream file exactly */
	CHECK(n == st.packets);
	CHECK(raw_len == 16 + n * 72);
	/* 3000 events of 17 to 44 bytes in 4 KiB packets: many packets. */
	CHECK(n > 10);
	printf("read back: %" PRIu64 " packets, %" PRIu64 " bytes, clock %" PRIu64 " Hz\n", n, sum,
	       clk.freq);
	free(data);
	free(raw);
}

/* The default clock: CLOCK_MONOTONIC at 1 GHz, placed on the Unix time
 * line by the offset sampled when the trace was created. */
static void test_default_clock(void)
{
	struct grb_ctf_trace_attr a;
	struct grb_ctf_clock_info clk;
	struct grb_ctf_trace *t;
	struct timespec rt, mono;
	char dir[128];
	int64_t want, got;

	path_of(dir, sizeof(dir), "trace_monotonic", "");
	grb_ctf_trace_attr_init(&a);
	a.path = dir;
	a.events = events;
	a.nr_events = 1;
	a.chan.subbuf_count = 2;
	a.chan.switch_timer_us = 0;
	t = grb_ctf_trace_create(&cfg_monotonic, &a);
	CHECK(t != NULL);
	if (!t)
		return;
	CHECK(tick_write(&cfg_monotonic, grb_ctf_trace_channel(t), 1, "x") == 0);
	CHECK(grb_ctf_trace_destroy(t) == 0);
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	CHECK(grb_ctf_read_clock(dir, &clk) == 0);
	CHECK(clk.freq == 1000000000u);
	CHECK(clk.offset < 1000000000u);
	want = (int64_t)rt.tv_sec - (int64_t)mono.tv_sec;
	got = clk.offset_s;
	CHECK(got >= want - 2 && got <= want + 2);
}

/* grb_ctf_read_clock() on metadata text: 0 and the values, or the error
 * with a message containing needle and *clk untouched. */
static void clock_case(const char *text, size_t len, int want, const char *needle, uint64_t freq,
		       int64_t offset_s, uint64_t offset)
{
	struct grb_ctf_clock_info clk = { 42, 43, 44 };
	char dir[128], path[160];
	int ret;

	path_of(dir, sizeof(dir), "meta", "");
	snprintf(path, sizeof(path), "%s/metadata", dir);
	CHECK(write_file(path, text, len) == 0);
	ret = grb_ctf_read_clock(dir, &clk);
	CHECK(ret == want);
	if (!want) {
		CHECK(clk.freq == freq);
		CHECK(clk.offset_s == offset_s);
		CHECK(clk.offset == offset);
	} else {
		CHECK(clk.freq == 42 && clk.offset_s == 43 && clk.offset == 44);
		CHECK(strstr(grb_last_error(), needle) != NULL);
	}
	if (ret != want || (want && !strstr(grb_last_error(), needle)))
		fprintf(stderr, "  metadata: %.60s...\n  returned %d: %s\n", text, ret,
			grb_last_error());
}

#define CLOCK_CASE(text, want, needle, freq, offset_s, offset) \
	clock_case(text, sizeof(text) - 1, want, needle, freq, offset_s, offset)

static void test_clock_parse(void)
{
	struct grb_ctf_clock_info clk;
	char dir[128], path[160];
	int fd;

	path_of(dir, sizeof(dir), "meta", "");
	CHECK(mkdir(dir, 0755) == 0);
	CHECK(grb_ctf_read_clock(dir, &clk) == -ENOENT);
	CHECK(strstr(grb_last_error(), "metadata") != NULL);
	CHECK(grb_ctf_read_clock(NULL, &clk) == -EINVAL);
	CHECK(grb_ctf_read_clock(dir, NULL) == -EINVAL);

	/* Decoys in a comment, in strings, in other blocks; C literals. */
	CLOCK_CASE("/* CTF 1.8 */\n"
		   "/* clock { freq = 5; }; */ // clock { freq = 6; };\n"
		   "typealias integer { size = 64; map = clock.c.value; } := t;\n"
		   "env { clock = 3; freq = 9; };\n"
		   "clock {\n\tname = \"c\";\n\tdescription = \"say \\\"freq = 7; };\\\" \";\n"
		   "\tfreq = 0x3B9ACA00u;\n\tx = { freq = 8; };\n\toffset_s = -5;\n"
		   "\toffset = 010;\n\tabsolute = false;\n};\n"
		   "event { name = \"clock\"; };\n",
		   0, NULL, 1000000000u, -5, 8);
	/* Unsaid values take CTF's defaults. */
	CLOCK_CASE("clock { name = c; };", 0, NULL, 1000000000u, 0, 0);
	CLOCK_CASE("clock { offset_s = -9223372036854775808; freq = 3; offset = "
		   "18446744073709551615; };",
		   0, NULL, 3, INT64_MIN, UINT64_MAX);
	CLOCK_CASE("trace { major = 1; };", -ENODATA, "no clock block", 0, 0, 0);
	CLOCK_CASE("clock { freq = 0; };", -EPROTO, "freq = 0", 0, 0, 0);
	CLOCK_CASE("clock { freq = 1; };\nclock { freq = 2; };", -EPROTO,
		   ":2: a second clock block", 0, 0, 0);
	CLOCK_CASE("clock { freq = 1; freq = 1; };", -EPROTO, "freq given twice", 0, 0, 0);
	CLOCK_CASE("clock { freq = \"1000\"; };", -EPROTO, "freq: expected an integer", 0, 0, 0);
	CLOCK_CASE("clock { freq = 12abc; };", -EPROTO, "freq: expected an integer", 0, 0, 0);
	CLOCK_CASE("clock { freq = 100000000000000000000; };", -EPROTO, "freq: out of range", 0, 0,
		   0);
	CLOCK_CASE("clock { offset_s = 9223372036854775808; };", -EPROTO, "offset_s: out of range",
		   0, 0, 0);
	CLOCK_CASE("clock { offset = -1; };", -EPROTO, "offset: expected an integer", 0, 0, 0);
	CLOCK_CASE("clock { freq = 1 };", -EPROTO, "expected ';'", 0, 0, 0);
	CLOCK_CASE("clock { freq = 1; }", -EPROTO, "after the clock block", 0, 0, 0);
	CLOCK_CASE("\n\nclock { freq = 1;\n", -EPROTO, ":3: clock block not closed", 0, 0, 0);
	CLOCK_CASE("/* CTF 1.8 \n clock { freq = 1; };", -EPROTO, ":1: unterminated comment", 0, 0,
		   0);
	CLOCK_CASE("clock { description = \"abc; };", -EPROTO, "unterminated string", 0, 0, 0);
	CLOCK_CASE("env { };\n};\nclock { };", -EPROTO, ":2: '}' closes no block", 0, 0, 0);
	CLOCK_CASE("env { x = 1;\nclock { freq = 1; };", -EPROTO, "not closed", 0, 0, 0);
	CLOCK_CASE("clock { freq = 1; };\0 binary", -EPROTO, "NUL byte", 0, 0, 0);
	CLOCK_CASE("\x57\x1d\xd1\x75 packet", -EPROTONOSUPPORT, "packetized", 0, 0, 0);
	CLOCK_CASE("\x75\xd1\x1d\x57 packet", -EPROTONOSUPPORT, "packetized", 0, 0, 0);

	/* Larger than GRB_CTF_METADATA_MAX (a sparse file: no disk used). */
	snprintf(path, sizeof(path), "%s/metadata", dir);
	fd = open(path, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK(ftruncate(fd, (off_t)GRB_CTF_METADATA_MAX + 1) == 0);
		close(fd);
		CHECK(grb_ctf_read_clock(dir, &clk) == -EFBIG);
	}
}

/* An index file made of bytes, opened and read to its end: the code of
 * the open, else of the first next() that fails; *entries counts the
 * entries read. */
static int index_case(const void *bytes, size_t len, uint64_t *entries,
		      struct grb_ctf_index_entry *last)
{
	struct grb_ctf_index_entry e;
	struct grb_ctf_index *idx = (struct grb_ctf_index *)&idx; /* must become NULL */
	char dir[128], path[160];
	int ret;

	path_of(dir, sizeof(dir), "bad", "");
	snprintf(path, sizeof(path), "%s/index/" STREAM ".idx", dir);
	CHECK(write_file(path, bytes, len) == 0);
	*entries = 0;
	ret = grb_ctf_index_open(dir, STREAM, &idx);
	if (ret) {
		CHECK(idx == NULL);
		return ret;
	}
	while ((ret = grb_ctf_index_next(idx, &e)) == 0) {
		if (last)
			*last = e;
		(*entries)++;
	}
	CHECK(grb_ctf_index_next(idx, &e) == ret); /* the end, or the error, stays */
	grb_ctf_index_close(idx);
	return ret;
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static void test_bad_index(void)
{
	struct grb_ctf_index_entry e, last, want_last;
	struct grb_ctf_index *idx;
	unsigned char *good, *buf, *wide;
	char dir[128], path[160];
	size_t len = 0, nr, i;
	uint64_t n;

	path_of(path, sizeof(path), "trace/index", STREAM ".idx");
	good = read_file(path, &len);
	CHECK(good != NULL && len > 16 && (len - 16) % 72 == 0);
	if (!good || len <= 16 || (len - 16) % 72)
		return;
	nr = (len - 16) / 72;
	buf = (unsigned char *)malloc(len);
	wide = (unsigned char *)malloc(16 + nr * 80);
	if (!buf || !wide)
		abort();
	path_of(dir, sizeof(dir), "bad", "");
	CHECK(mkdir(dir, 0755) == 0);
	path_of(dir, sizeof(dir), "bad", "index");
	CHECK(mkdir(dir, 0755) == 0);
	path_of(dir, sizeof(dir), "bad", "");

	/* Intact: every entry. */
	CHECK(index_case(good, len, &n, &want_last) == -ENODATA);
	CHECK(n == nr);

	/* Bad magic. */
	memcpy(buf, good, len);
	buf[0] ^= 0x40;
	CHECK(index_case(buf, len, &n, NULL) == -EPROTO);
	CHECK(strstr(grb_last_error(), "not a CTF packet index") != NULL);

	/* A truncated last entry: the whole ones, then -EBADMSG naming it. */
	CHECK(index_case(good, len - 10, &n, &last) == -EBADMSG);
	CHECK(n == nr - 1);
	snprintf(path, sizeof(path), "truncated: entry %zu (from 0) has 62 of its 72 bytes",
		 nr - 1);
	CHECK(strstr(grb_last_error(), path) != NULL);
	if (!strstr(grb_last_error(), path))
		fprintf(stderr, "  message: %s\n", grb_last_error());
	/* Truncated to one byte of its first entry. */
	CHECK(index_case(good, 17, &n, NULL) == -EBADMSG);
	CHECK(n == 0);

	/* A truncated header; a header and no entry. */
	CHECK(index_case(good, 10, &n, NULL) == -EBADMSG);
	CHECK(strstr(grb_last_error(), "header has 10 of its 16 bytes") != NULL);
	CHECK(index_case(good, 16, &n, NULL) == -ENODATA);
	CHECK(n == 0);
	CHECK(index_case(good, 0, &n, NULL) == -EBADMSG);

	/* Versions: 2.1 and 1.0 are refused; 1.5 is read. */
	memcpy(buf, good, len);
	put32(buf + 4, 2);
	CHECK(index_case(buf, len, &n, NULL) == -EPROTONOSUPPORT);
	CHECK(strstr(grb_last_error(), "version 2.1") != NULL);
	put32(buf + 4, 1);
	put32(buf + 8, 0);
	CHECK(index_case(buf, len, &n, NULL) == -EPROTONOSUPPORT);
	put32(buf + 8, 5);
	CHECK(index_case(buf, len, &n, NULL) == -ENODATA);
	CHECK(n == nr);

	/* Entry sizes: too small, too large. */
	memcpy(buf, good, len);
	put32(buf + 12, 56);
	CHECK(index_case(buf, len, &n, NULL) == -EPROTO);
	CHECK(strstr(grb_last_error(), "entry size 56") != NULL);
	put32(buf + 12, 4097);
	CHECK(index_case(buf, len, &n, NULL) == -EPROTO);

	/* Larger entries of a later minor version: their tail is skipped. */
	memcpy(wide, good, 16);
	put32(wide + 12, 80);
	for (i = 0; i < nr; i++) {
		memcpy(wide + 16 + i * 80, good + 16 + i * 72, 72);
		memset(wide + 16 + i * 80 + 72, 0xee, 8);
	}
	CHECK(index_case(wide, 16 + nr * 80, &n, &last) == -ENODATA);
	CHECK(n == nr);
	CHECK(!memcmp(&last, &want_last, sizeof(last)));

	/* No index file; bad arguments. */
	CHECK(grb_ctf_index_open(dir, "nosuch_0", &idx) == -ENOENT);
	CHECK(idx == NULL);
	CHECK(strstr(grb_last_error(), "nosuch_0.idx") != NULL);
	CHECK(grb_ctf_index_open(dir, "../index/" STREAM, &idx) == -EINVAL);
	CHECK(grb_ctf_index_open(dir, "", &idx) == -EINVAL);
	CHECK(grb_ctf_index_open(dir, ".hidden", &idx) == -EINVAL);
	CHECK(grb_ctf_index_open(NULL, STREAM, &idx) == -EINVAL);
	CHECK(grb_ctf_index_open(dir, STREAM, NULL) == -EINVAL);
	CHECK(grb_ctf_index_next(NULL, &e) == -EINVAL);
	grb_ctf_index_close(NULL);

	free(good);
	free(buf);
	free(wide);
}

int main(void)
{
	snprintf(top, sizeof(top), "test_ctf_read.XXXXXX");
	if (!mkdtemp(top)) {
		perror("mkdtemp");
		return 1;
	}
	test_read_back();
	test_default_clock();
	test_clock_parse();
	test_bad_index();
	if (!failures)
		nftw(top, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	else
		fprintf(stderr, "test_ctf_read: files kept in %s\n", top);
	return check_exit("test_ctf_read");
}
