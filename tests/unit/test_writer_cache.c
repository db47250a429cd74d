// SPDX-License-Identifier: MIT
/*
 * test_writer_cache.c - the thread's writer cache (struct _grb_tls_writer),
 * through which the inline fast path reserves inside the packet of the
 * thread's previous record without looking at the slot's id: every case
 * where the cached stream or packet is no longer the one to write must
 * send the record where the slow path would.
 *
 *  - two channels whose cache entries are the same slot (uids 16 apart),
 *    written alternately: each record lands in its own channel, in order;
 *  - a channel destroyed and another created on the same slot: the new
 *    one gets its records (no stale entry is trusted: ASan would see a
 *    use of the freed streams);
 *  - per-CPU streams, atomic and rseq: a thread that moves to another CPU
 *    writes that CPU's stream, and one that moves to a CPU outside the set
 *    has its record filtered, though its cache names a stream;
 *  - two threads on one global stream across many packet switches (each
 *    thread's cache goes stale whenever the other opens a packet): every
 *    record once, each thread's in order;
 *  - records that end their packet exactly, and records in a packet that
 *    a flush closed: the flush moves the offset to the packet's end.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grb/grb.h>
#include <grb/native.h>

#include "check.h"
#include "pin.h"

static const struct grb_config cfg_global =
	GRB_NATIVE_CONFIG(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD);
static const struct grb_config cfg_thread =
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_MODE_DISCARD);
static const struct grb_config cfg_cpu =
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_CPU, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD);
static const struct grb_config cfg_rseq =
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_DISCARD);

static const struct grb_config *const cfgs[] = { &cfg_global, &cfg_thread, &cfg_cpu, &cfg_rseq };
static const char *const cfg_names[] = { "global atomic", "per-thread single", "per-CPU atomic",
					 "per-CPU rseq" };

static struct grb_channel *make(const struct grb_config *cfg, uint32_t sb, uint32_t n,
				const unsigned char *set, uint32_t set_size)
{
	struct grb_channel_attr a;

	grb_channel_attr_init(&a);
	a.subbuf_size = sb;
	a.subbuf_count = n;
	a.nr_streams = 2;
	a.cpu_set = set;
	a.cpu_set_size = set_size;
	return grb_channel_create(cfg, &a);
}

static int put(const struct grb_config *cfg, struct grb_channel *ch, uint64_t tag, uint64_t v)
{
	uint64_t p[2] = { tag, v };

	return grb_write_record(cfg, ch, 0, p, sizeof(p));
}

/* Reads every record of every stream of ch (after finalize): checks that
 * each carries a tag below ntags, and that the values of each tag come in
 * order (per stream), counting them into count[tag].  If on1 is not NULL,
 * the records of stream 1, whose values must be in [lo1, hi1). */
static void read_all_on1(struct grb_channel *ch, uint64_t ntags, uint64_t *count, uint64_t *records,
			 uint64_t *on1, uint64_t lo1, uint64_t hi1)
{
	uint32_t s;

	for (s = 0; s < grb_channel_nr_streams(ch); s++) {
		struct grb_iter *it = grb_iter_create(ch, s, 0);
		struct grb_record rec;
		uint64_t next[4] = { 0, 0, 0, 0 };
		int ret;

		CHECK(it != NULL);
		if (!it)
			continue;
		while ((ret = grb_iter_next(it, &rec)) == 0) {
			uint64_t p[2];

			CHECK(rec.payload_len == sizeof(p));
			memcpy(p, rec.payload, sizeof(p));
			CHECK(p[0] < ntags && ntags <= 4);
			if (on1 && s == 1) {
				CHECK(p[1] >= lo1 && p[1] < hi1);
				(*on1)++;
			}
			if (p[0] < ntags && ntags <= 4) {
				/* In order within a stream; a thread that wrote two
				 * streams of one channel restarts per stream. */
				CHECK(p[1] >= next[p[0]]);
				next[p[0]] = p[1] + 1;
				count[p[0]]++;
			}
			(*records)++;
		}
		CHECK(ret == -ENODATA);
		grb_iter_destroy(it);
	}
}

static void read_all(struct grb_channel *ch, uint64_t ntags, uint64_t *count, uint64_t *records)
{
	read_all_on1(ch, ntags, count, records, NULL, 0, 0);
}

/* Two live channels on the same cache slot, written alternately. */
static void test_slot_collision(const struct grb_config *cfg, const char *name)
{
	struct grb_channel *ch[17];
	uint64_t count[2][4] = { { 0 } }, records[2] = { 0, 0 };
	int i, ok = 0, n = 3000;

	/* Consecutive uids: channels 0 and 16 share the slot. */
	for (i = 0; i < 17; i++) {
		ch[i] = make(cfg, 4096, 64, NULL, 0);
		CHECK(ch[i] != NULL);
		if (!ch[i])
			return;
	}
	for (i = 0; i < n; i++) {
		ok += put(cfg, ch[0], 0, (uint64_t)i) == 0;
		ok += put(cfg, ch[16], 1, (uint64_t)i) == 0;
		/* Now and then the other channels too. */
		if (i % 97 == 0)
			ok += put(cfg, ch[1 + i % 15], 2, (uint64_t)i) == 0;
	}
	for (i = 0; i < 17; i++)
		grb_channel_finalize(ch[i]);
	read_all(ch[0], 3, count[0], &records[0]);
	read_all(ch[16], 3, count[1], &records[1]);
	printf("%s: collision: %d written, %llu + %llu read\n", name, ok,
	       (unsigned long long)records[0], (unsigned long long)records[1]);
	CHECK(count[0][0] == (uint64_t)n && records[0] == (uint64_t)n);
	CHECK(count[1][1] == (uint64_t)n && records[1] == (uint64_t)n);
	for (i = 0; i < 17; i++)
		grb_channel_destroy(ch[i]);
}

/* A channel destroyed, then another one created on its cache slot. */
static void test_slot_reuse(const struct grb_config *cfg, const char *name)
{
	struct grb_channel *first, *other[15], *second;
	uint64_t count[4] = { 0 }, records = 0;
	int i, ok = 0;

	first = make(cfg, 4096, 4, NULL, 0);
	CHECK(first != NULL);
	if (!first)
		return;
	for (i = 0; i < 100; i++)
		ok += put(cfg, first, 0, (uint64_t)i) == 0;
	CHECK(ok == 100);
	grb_channel_destroy(first);
	for (i = 0; i < 15; i++)
		other[i] = make(cfg, 4096, 4, NULL, 0);
	second = make(cfg, 4096, 4, NULL, 0); /* uid 16 after the first */
	CHECK(second != NULL);
	if (second) {
		for (i = 0; i < 100; i++)
			ok += put(cfg, second, 1, (uint64_t)i) == 0;
		CHECK(ok == 200);
		grb_channel_finalize(second);
		read_all(second, 2, count, &records);
		CHECK(count[1] == 100 && records == 100);
		grb_channel_destroy(second);
	}
	for (i = 0; i < 15; i++)
		if (other[i])
			grb_channel_destroy(other[i]);
	printf("%s: slot reused: %llu records read\n", name, (unsigned long long)records);
}

/* Records of a thread that moves between CPUs 0 and 1. */
static void test_migration(const struct grb_config *cfg, const char *name)
{
	static const unsigned char only0[1] = { 0x1 };
	struct grb_channel *ch;
	struct grb_channel_stats st;
	uint64_t count[4] = { 0 }, records = 0, on1 = 0;
	int i, r;

	if (pin(0) || pin(1) || pin(0)) {
		printf("%s: migration: needs CPUs 0 and 1: skipped\n", name);
		return;
	}
	ch = make(cfg, 4096, 8, NULL, 0);
	CHECK(ch && grb_channel_nr_streams(ch) >= 2);
	if (!ch || grb_channel_nr_streams(ch) < 2)
		goto out;
	for (i = 0; i < 300; i++) {
		CHECK(pin(i / 100 == 1 ? 1 : 0) == 0);
		CHECK(put(cfg, ch, 0, (uint64_t)i) == 0);
	}
	grb_channel_finalize(ch);
	/* Streams are indexed by CPU here (no CPU set): records 100-199 on
	 * stream 1, the others on stream 0. */
	read_all_on1(ch, 1, count, &records, &on1, 100, 200);
	CHECK(records == 300 && on1 == 100);
	grb_channel_destroy(ch);

	/* A CPU outside the set, with a cache that names CPU 0's stream. */
	ch = make(cfg, 4096, 8, only0, sizeof(only0));
	CHECK(ch && grb_channel_nr_streams(ch) == 1);
	if (!ch)
		goto out;
	CHECK(pin(0) == 0);
	for (i = 0; i < 10; i++)
		CHECK(put(cfg, ch, 0, (uint64_t)i) == 0);
	CHECK(pin(1) == 0);
	r = put(cfg, ch, 0, 10);
	CHECK(r == -ENODEV);
	CHECK(grb_channel_read_stats(ch, &st) == 0 && st.filtered_cpu == 1);
	CHECK(pin(0) == 0);
	CHECK(put(cfg, ch, 0, 11) == 0);
	grb_channel_finalize(ch);
	records = 0;
	memset(count, 0, sizeof(count));
	read_all(ch, 1, count, &records);
	CHECK(records == 11);
	printf("%s: migration: ok (filtered %llu)\n", name, (unsigned long long)st.filtered_cpu);
	grb_channel_destroy(ch);
out:;
	{
		cpu_set_t cs;

		CPU_ZERO(&cs);
		for (i = 0; i < CPU_SETSIZE; i++)
			CPU_SET(i, &cs);
		pthread_setaffinity_np(pthread_self(), sizeof(cs), &cs);
	}
}

struct shared {
	struct grb_channel *ch;
	uint64_t tag;
	int n;
	int ok;
};

static void *shared_writer(void *arg)
{
	struct shared *w = (struct shared *)arg;
	int i;

	for (i = 0; i < w->n; i++)
		w->ok += put(&cfg_global, w->ch, w->tag, (uint64_t)i) == 0;
	return NULL;
}

/* Two threads on a global stream: each one's cache goes stale whenever the
 * other opens a packet. */
static void test_shared_stream(void)
{
	struct shared w[2];
	pthread_t t[2];
	uint64_t count[4] = { 0 }, records = 0;
	int i;

	/* 2 x 40000 records of 32 bytes in 512-byte packets: room for all. */
	w[0].ch = make(&cfg_global, 512, 8192, NULL, 0);
	CHECK(w[0].ch != NULL);
	if (!w[0].ch)
		return;
	for (i = 0; i < 2; i++) {
		w[i].ch = w[0].ch;
		w[i].tag = (uint64_t)i;
		w[i].n = 40000;
		w[i].ok = 0;
		pthread_create(&t[i], NULL, shared_writer, &w[i]);
	}
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	grb_channel_finalize(w[0].ch);
	read_all(w[0].ch, 2, count, &records);
	printf("global atomic: 2 writers: %d + %d written, %llu + %llu read\n", w[0].ok, w[1].ok,
	       (unsigned long long)count[0], (unsigned long long)count[1]);
	CHECK(w[0].ok == 40000 && w[1].ok == 40000);
	CHECK(count[0] == 40000 && count[1] == 40000 && records == 80000);
	grb_channel_destroy(w[0].ch);
}

/* Records that end their packet exactly, and a packet a flush closed
 * between two records of the thread. */
static void test_packet_ends(const struct grb_config *cfg, const char *name)
{
	struct grb_channel *ch = make(cfg, 256, 1024, NULL, 0);
	uint64_t count[4] = { 0 }, records = 0;
	int i, ok = 0;

	CHECK(ch != NULL);
	if (!ch)
		return;
	/* 256-byte packets: a 64-byte header, then 24-byte records (the
	 * first of each packet 32): 192 = 32 + 6 * 24 + 16, so records fall
	 * on every place relative to the end, and a flush now and then
	 * closes the packet the cache names. */
	for (i = 0; i < 1000; i++) {
		ok += put(cfg, ch, 0, (uint64_t)i) == 0;
		if (i % 37 == 0)
			CHECK(grb_channel_flush(ch) == 0);
	}
	CHECK(ok == 1000);
	grb_channel_finalize(ch);
	read_all(ch, 1, count, &records);
	CHECK(count[0] == 1000 && records == 1000);
	printf("%s: packet ends: %llu records read\n", name, (unsigned long long)records);
	grb_channel_destroy(ch);
}

int main(void)
{
	size_t k;

	for (k = 0; k < sizeof(cfgs) / sizeof(cfgs[0]); k++) {
		test_slot_collision(cfgs[k], cfg_names[k]);
		test_slot_reuse(cfgs[k], cfg_names[k]);
		test_packet_ends(cfgs[k], cfg_names[k]);
	}
	test_migration(&cfg_cpu, "per-CPU atomic");
	test_migration(&cfg_rseq, "per-CPU rseq");
	test_shared_stream();
	return check_exit("test_writer_cache");
}
