// SPDX-License-Identifier: MIT
/*
 * test_core.c - single-threaded behaviour of the core: configuration and
 * attribute errors, record round trips, sub-buffer switch and padding,
 * exact fits, too-big records, nesting limit, discard after reserve,
 * timestamps (compact and extended), overwrite accounting, snapshot reads,
 * reader misuse, destroyed channels, per-thread and per-CPU allocation.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grb/grb.h>
#include <grb/native.h>

#include "check.h"
#include "drain.h"

static uint64_t fake_now = 1000;
static uint64_t fake_clock(void)
{
	return __atomic_load_n(&fake_now, __ATOMIC_RELAXED);
}

static const struct grb_config cfg_discard =
	GRB_NATIVE_CONFIG_CLOCK(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD, fake_clock);
static const struct grb_config cfg_over =
	GRB_NATIVE_CONFIG_CLOCK(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_OVERWRITE, fake_clock);
static const struct grb_config cfg_thread =
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_MODE_DISCARD);
static const struct grb_config cfg_cpu =
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_CPU, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD);

static struct grb_channel *make(const struct grb_config *cfg, uint32_t sb, uint32_t n)
{
	struct grb_channel_attr a;

	grb_channel_attr_init(&a);
	a.subbuf_size = sb;
	a.subbuf_count = n;
	return grb_channel_create(cfg, &a);
}

static int put_u64(const struct grb_config *cfg, struct grb_channel *ch, uint64_t v)
{
	return grb_write_record(cfg, ch, 0, &v, sizeof(v));
}

static void test_config_errors(void)
{
	struct grb_config bad = cfg_discard;
	struct grb_channel_attr a;

	bad.ts_bits = 0;
	errno = 0;
	CHECK(grb_channel_create(&bad, NULL) == NULL && errno == EINVAL);
	CHECK(strstr(grb_last_error(), "ts_bits") != NULL);
	bad = cfg_discard;
	bad.sync = GRB_SYNC_SINGLE_WRITER;
	CHECK(grb_channel_create(&bad, NULL) == NULL && errno == EINVAL);
	CHECK(strstr(grb_last_error(), "sync") != NULL);
	bad = cfg_discard;
	bad.sync = GRB_SYNC_PER_CPU_RSEQ; /* cfg_discard is a global stream */
	CHECK(grb_channel_create(&bad, NULL) == NULL && errno == EINVAL);
	CHECK(strstr(grb_last_error(), "per-CPU") != NULL);
	bad = cfg_discard;
	bad.record_align = 3;
	CHECK(grb_channel_create(&bad, NULL) == NULL && errno == EINVAL);
	bad = cfg_discard;
	bad.clock_read = NULL;
	CHECK(grb_channel_create(&bad, NULL) == NULL && errno == EINVAL);

	grb_channel_attr_init(&a);
	a.subbuf_size = 3000;
	CHECK(grb_channel_create(&cfg_discard, &a) == NULL && errno == EINVAL);
	CHECK(strstr(grb_last_error(), "subbuf_size") != NULL);
	a.subbuf_size = 0;
	CHECK(grb_channel_create(&cfg_discard, &a) == NULL && errno == EINVAL);
	grb_channel_attr_init(&a);
	a.subbuf_count = 1;
	CHECK(grb_channel_create(&cfg_discard, &a) == NULL && errno == EINVAL);
	CHECK(strstr(grb_last_error(), "subbuf_count") != NULL);
	a.subbuf_count = 6;
	CHECK(grb_channel_create(&cfg_discard, &a) == NULL && errno == EINVAL);
	grb_channel_attr_init(&a);
	a.size = 4;
	CHECK(grb_channel_create(&cfg_discard, &a) == NULL && errno == EINVAL);
	CHECK(strstr(grb_last_error(), "attr.size") != NULL);
	grb_channel_attr_init(&a);
	a.subbuf_size = 128; /* 64-byte packet header + 16-byte record header fits */
	{
		struct grb_channel *ch = grb_channel_create(&cfg_discard, &a);

		CHECK(ch != NULL);
		grb_channel_destroy(ch);
	}
}

static void test_round_trip(void)
{
	struct grb_channel *ch = make(&cfg_discard, 256, 4);
	uint64_t out[64];
	int i, n;
	struct grb_channel_stats st;

	CHECK(ch != NULL);
	/* 256-byte sub-buffers: 64 header + 16 (first, extended) + 8 x 16-byte
	 * compact records = 208; then 24 bytes... 3 packets fit in the ring
	 * beyond the one being written. */
	for (i = 0; i < 30; i++)
		CHECK(put_u64(&cfg_discard, ch, (uint64_t)i) == 0);
	n = drain_packets(ch, out, 64);
	CHECK(n > 0 && n < 30); /* the current packet is not complete */
	for (i = 0; i < n; i++)
		CHECK(out[i] == (uint64_t)i);
	/* Its committed records are read in place, without a flush. */
	n += drain(ch, 0, out + n, 64 - n);
	CHECK(n == 30);
	grb_channel_flush(ch);
	CHECK(drain(ch, 0, out, 64) == 0); /* the flush delivers nothing new */
	for (i = 0; i < n; i++)
		CHECK(out[i] == (uint64_t)i);
	CHECK(grb_channel_read_stats(ch, &st) == 0 && st.lost_total == 0);
	grb_channel_destroy(ch);
}

static void test_full_and_too_big(void)
{
	struct grb_channel *ch = make(&cfg_discard, 256, 2);
	char big[256];
	int i, ok = 0, full = 0;
	uint64_t out[64];
	struct grb_channel_stats st;

	memset(big, 0, sizeof(big));
	CHECK(grb_write_record(&cfg_discard, ch, 0, big, 256 - 64 - 16 + 1) == -E2BIG);
	/* The largest that fits: 256 - 64 - 16 = 176 bytes. */
	CHECK(grb_write_record(&cfg_discard, ch, 0, big, 176) == 0);
	for (i = 0; i < 100; i++) {
		int r = put_u64(&cfg_discard, ch, (uint64_t)i);

		if (r == 0)
			ok++;
		else if (r == -ENOBUFS)
			full++;
		else
			CHECK(0);
	}
	CHECK(full > 0);
	grb_channel_read_stats(ch, &st);
	CHECK(st.lost[GRB_LOST_TOO_BIG] == 1);
	CHECK(st.lost[GRB_LOST_FULL] == (uint64_t)full);
	grb_channel_finalize(ch);
	/* 1 big record + ok small ones are delivered, exactly. */
	{
		struct grb_iter *it = grb_iter_create(ch, 0, 0);
		struct grb_record rec;
		int n = 0, ret;

		while ((ret = grb_iter_next(it, &rec)) == 0)
			n++;
		CHECK(ret == -ENODATA);
		CHECK(n == ok + 1);
		grb_iter_destroy(it);
	}
	(void)out;
	grb_channel_destroy(ch);
}

static void test_nesting_and_discard(void)
{
	struct grb_channel *ch = make(&cfg_discard, 4096, 4);
	struct grb_ctx c[5];
	uint64_t v = 7, out[16];
	int i, n;
	struct grb_channel_stats st;

	for (i = 0; i < 4; i++) {
		c[i].event_id = 0;
		c[i].payload_len = 8;
		CHECK(grb_reserve(&cfg_discard, ch, &c[i]) == 0);
	}
	c[4].event_id = 0;
	c[4].payload_len = 8;
	CHECK(grb_reserve(&cfg_discard, ch, &c[4]) == -EBUSY);
	/* Out-of-order commits; record 1 discarded in the middle. */
	for (i = 3; i >= 0; i--) {
		v = (uint64_t)i;
		grb_write(&c[i], &v, 8);
		if (i == 1)
			grb_discard(&cfg_discard, &c[i]);
		else
			grb_commit(&cfg_discard, &c[i]);
	}
	/* The last reserved record is given back by discard. */
	c[0].payload_len = 8;
	CHECK(grb_reserve(&cfg_discard, ch, &c[0]) == 0);
	grb_discard(&cfg_discard, &c[0]);
	CHECK(put_u64(&cfg_discard, ch, 9) == 0);
	grb_channel_flush(ch);
	n = drain(ch, 0, out, 16);
	CHECK(n == 4);
	CHECK(out[0] == 0 && out[1] == 2 && out[2] == 3 && out[3] == 9);
	grb_channel_read_stats(ch, &st);
	CHECK(st.lost[GRB_LOST_NESTED] == 1);
	grb_channel_destroy(ch);
}

static void test_timestamps(void)
{
	struct grb_channel *ch = make(&cfg_discard, 4096, 4);
	uint64_t want[6] = { 2000,
			     2001,
			     2000 + (1ull << 32) + 5,
			     2000 + (3ull << 32),
			     2000 + (3ull << 32) + 0xfffffffful,
			     1ull << 62 };
	struct grb_iter *it;
	struct grb_record rec;
	int i = 0, ext = 0;

	for (i = 0; i < 6; i++) {
		__atomic_store_n(&fake_now, want[i], __ATOMIC_RELAXED);
		CHECK(put_u64(&cfg_discard, ch, (uint64_t)i) == 0);
	}
	grb_channel_flush(ch);
	it = grb_iter_create(ch, 0, 0);
	for (i = 0; grb_iter_next(it, &rec) == 0; i++) {
		CHECK(i < 6 && rec.ts == want[i]);
		ext += (((const uint32_t *)rec.data)[0] & 3) == 2;
	}
	CHECK(i == 6);
	/* extended: first of packet, +2^32+5 and +2^33 gaps, 2^62; compact:
	 * +1, and +0xffffffff, the largest delta that fits 32 bits. */
	CHECK(ext == 4);
	grb_iter_destroy(it);
	grb_channel_destroy(ch);
}

static void test_overwrite(void)
{
	struct grb_channel *ch = make(&cfg_over, 256, 4);
	uint64_t out[256];
	int i, n;
	struct grb_channel_stats st;

	for (i = 0; i < 200; i++)
		CHECK(put_u64(&cfg_over, ch, (uint64_t)i) == 0);
	grb_channel_flush(ch);
	/* Snapshot first: does not consume, sees the newest complete packets. */
	n = drain(ch, GRB_READER_SNAPSHOT, out, 256);
	CHECK(n > 0);
	for (i = 1; i < n; i++)
		CHECK(out[i] == out[i - 1] + 1);
	CHECK(out[n - 1] == 199);
	CHECK(drain(ch, GRB_READER_SNAPSHOT, out, 256) == n);
	n = drain(ch, 0, out, 256);
	grb_channel_read_stats(ch, &st);
	CHECK(out[n - 1] == 199);
	CHECK((uint64_t)n + st.lost[GRB_LOST_OVERWRITTEN] == 200);
	CHECK(out[0] == st.lost[GRB_LOST_OVERWRITTEN]);
	CHECK(drain(ch, 0, out, 256) == 0);
	grb_channel_destroy(ch);
}

/* A snapshot taken, then a writer opens the next lap of its oldest slot:
 * that packet must be skipped and counted, the rest read, and the stream
 * stay enabled (the slot's fields already belong to the new lap). */
static void test_snapshot_overtaken(void)
{
	struct grb_channel *ch = make(&cfg_over, 256, 2);
	struct grb_reader *r;
	struct grb_packet p;
	struct grb_stream_stats ss;
	int i;

	for (i = 0; i < 12; i++) { /* fills slot 0 and slot 1, opens slot 0 lap 1 */
		__atomic_add_fetch(&fake_now, 10, __ATOMIC_RELAXED);
		CHECK(put_u64(&cfg_over, ch, (uint64_t)i) == 0);
	}
	grb_channel_flush(ch);
	r = grb_reader_create(ch, 0, GRB_READER_SNAPSHOT);
	for (i = 0; i < 12; i++) { /* the ring moves on: slot 0 reopened */
		__atomic_add_fetch(&fake_now, 10, __ATOMIC_RELAXED);
		CHECK(put_u64(&cfg_over, ch, (uint64_t)(100 + i)) == 0);
	}
	while (grb_reader_get_next(r, &p) == 0)
		grb_reader_put(r, &p);
	CHECK(grb_reader_lost_packets(r) >= 1);
	grb_channel_read_stream_stats(ch, 0, &ss);
	CHECK(ss.disabled == 0 && ss.invariant_failures == 0);
	CHECK(put_u64(&cfg_over, ch, 7) == 0);
	grb_reader_destroy(r);
	grb_channel_destroy(ch);
}

static void test_reader_misuse(void)
{
	struct grb_channel *ch = make(&cfg_discard, 256, 4);
	struct grb_reader *r, *r2;
	struct grb_packet p, q;
	int i;

	for (i = 0; i < 40; i++)
		put_u64(&cfg_discard, ch, (uint64_t)i);
	r = grb_reader_create(ch, 0, 0);
	CHECK(r != NULL);
	r2 = grb_reader_create(ch, 0, 0);
	CHECK(r2 == NULL && errno == EBUSY);
	CHECK(grb_reader_create(ch, 5, 0) == NULL && errno == EINVAL);
	memset(&p, 0, sizeof(p));
	CHECK(grb_reader_put(r, &p) == -EINVAL);
	CHECK(grb_reader_get_next(r, &p) == 0);
	CHECK(grb_reader_get_next(r, &q) == -EBUSY);
	q = p;
	q.pos += 256;
	CHECK(grb_reader_put(r, &q) == -EINVAL);
	CHECK(grb_reader_put(r, &p) == 0);
	CHECK(grb_reader_put(r, &p) == -EINVAL);
	CHECK(grb_reader_get_next(r, &p) == 0);
	CHECK(p.info.records > 0 && p.info.content_size <= 256);
	grb_channel_destroy(ch);
	CHECK(grb_reader_get_next(r, &q) == -ESHUTDOWN);
	CHECK(grb_reader_put(r, &p) == 0);
	CHECK(grb_reader_destroy(r) == 0);
}

static void *thread_writer(void *arg)
{
	struct grb_channel *ch = (struct grb_channel *)arg;
	int i;

	for (i = 0; i < 100; i++)
		CHECK(put_u64(&cfg_thread, ch, (uint64_t)i) == 0);
	return NULL;
}

static void test_per_thread(void)
{
	struct grb_channel_attr a;
	struct grb_channel *ch;
	pthread_t t[3];
	int i, total = 0;
	uint32_t s;

	grb_channel_attr_init(&a);
	a.subbuf_size = 4096;
	a.nr_streams = 2;
	ch = grb_channel_create(&cfg_thread, &a);
	CHECK(ch && grb_channel_nr_streams(ch) == 2);
	/* Two threads at a time claim the two streams; streams come back at
	 * thread exit and are reused. */
	for (i = 0; i < 3; i++) {
		pthread_create(&t[i], NULL, thread_writer, ch);
		pthread_join(t[i], NULL);
	}
	for (s = 0; s < 2; s++) {
		struct grb_iter *it = grb_iter_create(ch, s, 0);
		struct grb_record rec;

		while (grb_iter_next(it, &rec) == 0)
			total++;
		grb_iter_destroy(it);
	}
	CHECK(total == 300);
	grb_channel_destroy(ch);
}

static void test_per_cpu_set(void)
{
	struct grb_channel_attr a;
	struct grb_channel *ch;
	unsigned char set[1] = { 0x1 };
	struct grb_channel_stats st;
	cpu_set_t cs;
	int i, ok = 0;

	grb_channel_attr_init(&a);
	a.cpu_set = set;
	a.cpu_set_size = 1;
	ch = grb_channel_create(&cfg_cpu, &a);
	CHECK(ch && grb_channel_nr_streams(ch) == 1);
	CPU_ZERO(&cs);
	CPU_SET(0, &cs);
	if (sched_setaffinity(0, sizeof(cs), &cs) == 0) {
		for (i = 0; i < 10; i++)
			ok += put_u64(&cfg_cpu, ch, (uint64_t)i) == 0;
		CHECK(ok == 10);
	}
	if (grb_channel_nr_streams(ch) == 1) {
		CPU_ZERO(&cs);
		CPU_SET(1, &cs);
		if (sched_setaffinity(0, sizeof(cs), &cs) == 0) {
			CHECK(put_u64(&cfg_cpu, ch, 1) == -ENODEV);
			grb_channel_read_stats(ch, &st);
			CHECK(st.filtered_cpu == 1);
		}
	}
	CPU_ZERO(&cs);
	for (i = 0; i < CPU_SETSIZE; i++)
		CPU_SET(i, &cs);
	sched_setaffinity(0, sizeof(cs), &cs);
	grb_channel_destroy(ch);
}

static void test_merge(void)
{
	static const struct grb_config cfg = GRB_NATIVE_CONFIG_CLOCK(
		GRB_ALLOC_PER_THREAD, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD, fake_clock);
	struct grb_channel_attr a;
	struct grb_channel *ch;
	struct grb_merge *m;
	struct grb_record rec;
	uint64_t prev = 0;
	int n = 0;

	grb_channel_attr_init(&a);
	a.subbuf_size = 4096;
	a.nr_streams = 3;
	ch = grb_channel_create(&cfg, &a);
	for (n = 0; n < 30; n++) {
		__atomic_store_n(&fake_now, 5000 + (uint64_t)n, __ATOMIC_RELAXED);
		/* Spread records over the streams by writing from threads
		 * would need threads; one thread writes to one stream, so
		 * merge must still return them in order. */
		put_u64(&cfg, ch, (uint64_t)n);
	}
	grb_channel_finalize(ch);
	m = grb_merge_create(ch, 0);
	CHECK(m != NULL);
	n = 0;
	while (grb_merge_next(m, &rec) == 0) {
		CHECK(rec.ts >= prev);
		prev = rec.ts;
		n++;
	}
	CHECK(n == 30);
	CHECK(grb_merge_next(m, &rec) == -ENODATA);
	grb_merge_destroy(m);
	grb_channel_destroy(ch);
}

static struct grb_channel *wake_ch;
static const struct grb_config cfg_wake = {
	.abi = GRB_CONFIG_ABI,
	.alloc = GRB_ALLOC_GLOBAL,
	.sync = GRB_SYNC_ATOMIC,
	.mode = GRB_MODE_DISCARD,
	.wakeup = GRB_WAKEUP_WRITER,
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
	.name = "wake",
};

static void *late_writer(void *arg)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	int i;

	(void)arg;
	nanosleep(&ts, NULL);
	for (i = 0; i < 40; i++) /* fills more than one 256-byte sub-buffer */
		put_u64(&cfg_wake, wake_ch, (uint64_t)i);
	return NULL;
}

static uint64_t now_ns(void)
{
	return grb_clock_monotonic();
}

/* A reader sleeping in grb_reader_wait() is woken by the delivering writer. */
static void test_writer_wakeup(void)
{
	struct grb_reader *r;
	struct grb_packet p;
	pthread_t t;
	uint64_t t0;
	int ret, got = 0, i;

	wake_ch = make(&cfg_wake, 256, 4);
	r = grb_reader_create(wake_ch, 0, 0);
	CHECK(grb_reader_get_next(r, &p) == -EAGAIN);
	pthread_create(&t, NULL, late_writer, NULL);
	t0 = now_ns();
	for (i = 0; i < 100 && !got; i++) {
		ret = grb_reader_wait(r, 5ull * 1000 * 1000 * 1000);
		CHECK(ret == 0);
		if (grb_reader_get_next(r, &p) == 0) {
			got = 1;
			grb_reader_put(r, &p);
		}
	}
	CHECK(got);
	CHECK(now_ns() - t0 < 4ull * 1000 * 1000 * 1000); /* woken, not timed out */
	pthread_join(t, NULL);
	grb_reader_destroy(r);
	grb_channel_destroy(wake_ch);
}

/* The switch timer makes a partially filled sub-buffer readable. */
static void test_switch_timer(void)
{
	struct grb_channel_attr a;
	struct grb_channel *ch;
	struct grb_reader *r;
	struct grb_packet p;
	int i, got = 0;

	grb_channel_attr_init(&a);
	a.subbuf_size = 4096;
	a.switch_timer_us = 2000;
	ch = grb_channel_create(&cfg_discard, &a);
	CHECK(ch != NULL);
	CHECK(put_u64(&cfg_discard, ch, 42) == 0);
	r = grb_reader_create(ch, 0, 0);
	for (i = 0; i < 2000 && !got; i++) {
		struct timespec ts = { 0, 1000 * 1000 };

		if (grb_reader_get_next(r, &p) == 0) {
			got = 1;
			CHECK(p.info.records == 1);
			grb_reader_put(r, &p);
		} else {
			nanosleep(&ts, NULL);
		}
	}
	CHECK(got);
	grb_reader_destroy(r);
	grb_channel_destroy(ch);
}

/* Blocking mode without a reader: the writer waits its timeout, then the
 * record is counted lost. */
static void test_blocking_timeout(void)
{
	static const struct grb_config cfg = GRB_NATIVE_CONFIG_CLOCK(
		GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_BLOCKING, fake_clock);
	struct grb_channel_attr a;
	struct grb_channel *ch;
	struct grb_channel_stats st;
	uint64_t t0, waited;
	int i, ret = 0;

	grb_channel_attr_init(&a);
	a.subbuf_size = 256;
	a.subbuf_count = 2;
	a.blocking_timeout_us = 20000;
	ch = grb_channel_create(&cfg, &a);
	for (i = 0; i < 100 && ret == 0; i++)
		ret = put_u64(&cfg, ch, (uint64_t)i);
	CHECK(ret == -ETIMEDOUT);
	t0 = now_ns();
	CHECK(put_u64(&cfg, ch, 1) == -ETIMEDOUT);
	waited = now_ns() - t0;
	CHECK(waited >= 19ull * 1000 * 1000);
	grb_channel_read_stats(ch, &st);
	CHECK(st.lost[GRB_LOST_TIMEOUT] == 2 && st.lost_total == 2);
	a.blocking_timeout_us = 0;
	CHECK(grb_channel_create(&cfg, &a) == NULL && errno == EINVAL);
	grb_channel_destroy(ch);
}

int main(void)
{
	test_config_errors();
	test_round_trip();
	test_full_and_too_big();
	test_nesting_and_discard();
	test_timestamps();
	test_overwrite();
	test_snapshot_overtaken();
	test_reader_misuse();
	test_per_thread();
	test_per_cpu_set();
	test_merge();
	test_writer_wakeup();
	test_switch_timer();
	test_blocking_timeout();
	return check_exit("test_core");
}
