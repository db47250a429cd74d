// SPDX-License-Identifier: MIT
/*
 * stress_snapshot.c - flight-recorder dumps while writers overwrite.
 *
 * Writer threads (more than the cores) write self-checking records into an
 * overwrite-mode channel with a small ring, so the ring is rewritten many
 * times while a reader repeatedly flushes and takes snapshots of every
 * stream.  Each snapshot must return only intact records, in per-writer
 * order within a stream, with the packet's committed count decoded exactly;
 * packets rewritten under the reader are skipped and counted, never
 * returned torn; and the stream must never be disabled.  A final consuming
 * pass then checks delivered + overwritten == committed.
 *
 * GRB_STRESS_RECORDS / GRB_STRESS_SCALE size the run.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grb/grb.h>
#include <grb/native.h>

#include "stress_common.h"

#define NR_WRITERS 3
#define MAX_STREAMS 64

static const struct grb_config cfg_global =
	GRB_NATIVE_CONFIG(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_OVERWRITE);
static const struct grb_config cfg_percpu =
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_CPU, GRB_SYNC_ATOMIC, GRB_MODE_OVERWRITE);
static const struct grb_config cfg_thread =
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_MODE_OVERWRITE);

#define WRITE_FN(NAME, CFG)                                                            \
	static int NAME(struct grb_channel *ch, const struct payload *p, uint32_t len) \
	{                                                                              \
		return grb_write_record(&CFG, ch, 0, p, len);                          \
	}
WRITE_FN(write_global, cfg_global)
WRITE_FN(write_percpu, cfg_percpu)
WRITE_FN(write_thread, cfg_thread)

struct snap_case {
	const char *name;
	const struct grb_config *cfg;
	int (*write)(struct grb_channel *ch, const struct payload *p, uint32_t len);
};

static const struct snap_case cases[] = {
	{ "snapshot-global", &cfg_global, write_global },
	{ "snapshot-percpu", &cfg_percpu, write_percpu },
	{ "snapshot-perthread", &cfg_thread, write_thread },
};

static struct grb_channel *g_ch;
static const struct snap_case *g_case;
static uint64_t g_quota;
static uint64_t committed[NR_WRITERS];

static void *writer_main(void *arg)
{
	int w = (int)(intptr_t)arg;
	struct payload p;
	uint64_t i, ok = 0;

	for (i = 0; i < g_quota; i++) {
		uint32_t len = make_payload(&p, (uint32_t)w, i);

		if (g_case->write(g_ch, &p, len) == 0)
			ok++;
	}
	__atomic_store_n(&committed[w], ok, __ATOMIC_RELEASE);
	return NULL;
}

/* Checks one packet; last[] is the next seq expected at least, per writer. */
static uint64_t check_packet(struct grb_reader *r, const struct grb_packet *pkt,
			     uint64_t last[NR_WRITERS])
{
	struct grb_packet_cursor cur;
	struct grb_record rec;
	uint64_t n = 0;
	int ret;

	grb_packet_cursor_init(pkt, &cur);
	while ((ret = grb_packet_record_next(r, pkt, &cur, &rec)) == 0) {
		struct payload p;

		n++;
		if (payload_check(rec.payload, rec.payload_len, &p) || p.writer >= NR_WRITERS) {
			FAIL("%s: torn record in packet %llu\n", g_case->name,
			     (unsigned long long)pkt->info.seq);
			continue;
		}
		if (p.seq < last[p.writer])
			FAIL("%s: writer %u seq %llu after %llu\n", g_case->name, p.writer,
			     (unsigned long long)p.seq, (unsigned long long)last[p.writer]);
		last[p.writer] = p.seq + 1;
	}
	if (ret != -ENODATA)
		FAIL("%s: decode error %d\n", g_case->name, ret);
	if (n != pkt->info.records)
		FAIL("%s: packet %llu decoded %llu of %llu records\n", g_case->name,
		     (unsigned long long)pkt->info.seq, (unsigned long long)n,
		     (unsigned long long)pkt->info.records);
	return n;
}

static int run_case(const struct snap_case *sc, uint64_t total)
{
	struct grb_channel_attr a;
	struct grb_channel_stats st;
	pthread_t t[NR_WRITERS];
	uint64_t snaps = 0, snap_records = 0, skipped = 0, delivered = 0, sum = 0;
	uint32_t n, i;
	int w, f0 = failures, done = 0;

	g_case = sc;
	g_quota = total / NR_WRITERS;
	grb_channel_attr_init(&a);
	a.subbuf_size = 1024;
	a.subbuf_count = 4;
	a.nr_streams = 8;
	g_ch = grb_channel_create(sc->cfg, &a);
	if (!g_ch) {
		FAIL("%s: %s\n", sc->name, grb_last_error());
		return 1;
	}
	n = grb_channel_nr_streams(g_ch);
	for (w = 0; w < NR_WRITERS; w++)
		pthread_create(&t[w], NULL, writer_main, (void *)(intptr_t)w);
	while (!done) {
		done = 1;
		for (w = 0; w < NR_WRITERS; w++)
			if (!__atomic_load_n(&committed[w], __ATOMIC_ACQUIRE))
				done = 0;
		grb_channel_flush(g_ch);
		for (i = 0; i < n; i++) {
			struct grb_reader *r = grb_reader_create(g_ch, i, GRB_READER_SNAPSHOT);
			uint64_t last[NR_WRITERS] = { 0 };
			struct grb_packet pkt;
			int ret;

			if (!r) {
				FAIL("%s: snapshot reader: %d\n", sc->name, errno);
				continue;
			}
			while ((ret = grb_reader_get_next(r, &pkt)) == 0) {
				snap_records += check_packet(r, &pkt, last);
				grb_reader_put(r, &pkt);
			}
			if (ret != -ENODATA && ret != -EAGAIN)
				FAIL("%s: snapshot get_next %d\n", sc->name, ret);
			skipped += grb_reader_lost_packets(r);
			grb_reader_destroy(r);
			snaps++;
		}
	}
	for (w = 0; w < NR_WRITERS; w++) {
		pthread_join(t[w], NULL);
		sum += committed[w];
	}
	grb_channel_finalize(g_ch);
	for (i = 0; i < n; i++) {
		struct grb_reader *r = grb_reader_create(g_ch, i, 0);
		uint64_t last[NR_WRITERS] = { 0 };
		struct grb_packet pkt;

		while (grb_reader_get_next(r, &pkt) == 0) {
			delivered += check_packet(r, &pkt, last);
			grb_reader_put(r, &pkt);
		}
		grb_reader_destroy(r);
	}
	grb_channel_read_stats(g_ch, &st);
	if (st.invariant_failures)
		FAIL("%s: %llu invariant failures\n", sc->name,
		     (unsigned long long)st.invariant_failures);
	if (st.corrupt_packets)
		FAIL("%s: %llu packets skipped as corrupt\n", sc->name,
		     (unsigned long long)st.corrupt_packets);
	for (i = 0; i < n; i++) {
		struct grb_stream_stats ss;

		grb_channel_read_stream_stats(g_ch, i, &ss);
		if (ss.disabled)
			FAIL("%s: stream %u disabled\n", sc->name, i);
	}
	if (delivered + st.lost[GRB_LOST_OVERWRITTEN] != sum)
		FAIL("%s: delivered %llu + overwritten %llu != committed %llu\n", sc->name,
		     (unsigned long long)delivered,
		     (unsigned long long)st.lost[GRB_LOST_OVERWRITTEN], (unsigned long long)sum);
	if (!snap_records)
		FAIL("%s: no snapshot returned a record\n", sc->name);
	printf("%-20s snapshots=%llu records_seen=%llu packets_skipped=%llu committed=%llu "
	       "delivered=%llu overwritten=%llu %s\n",
	       sc->name, (unsigned long long)snaps, (unsigned long long)snap_records,
	       (unsigned long long)skipped, (unsigned long long)sum, (unsigned long long)delivered,
	       (unsigned long long)st.lost[GRB_LOST_OVERWRITTEN], failures == f0 ? "ok" : "FAILED");
	grb_channel_destroy(g_ch);
	memset(committed, 0, sizeof(committed));
	return failures != f0;
}

int main(int argc, char **argv)
{
	uint64_t total = stress_size(3000000, 3000);
	size_t i;
	int bad = 0, ran = 0;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (argc > 1 && strcmp(argv[1], cases[i].name))
			continue;
		bad += run_case(&cases[i], total);
		ran++;
	}
	printf("%d passed, %d failed\n", ran - bad, bad);
	return bad || !ran ? 1 : 0;
}
