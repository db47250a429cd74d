// SPDX-License-Identifier: MIT
/*
 * stress_churn.c - per-thread streams under thread churn.
 *
 * Thousands of short-lived threads, a few alive at a time, each write a
 * burst of self-checking records into a per-thread channel (single-writer
 * and atomic sync) whose stream pool is larger than the live threads but
 * far smaller than the threads in all, while a consumer drains.  Each
 * exiting thread must flush and give back its stream: every record is
 * delivered (delivered == committed, no stream ever missing), every record
 * intact and in order per writer, and at the end no stream is still owned.
 * LeakSanitizer (the ASan build) checks that nothing leaks.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grb/grb.h>
#include <grb/native.h>

#include "stress_common.h"

#define POOL 6
#define LIVE 4

static const struct grb_config cfg_single =
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_MODE_BLOCKING);
static const struct grb_config cfg_atomic =
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_THREAD, GRB_SYNC_ATOMIC, GRB_MODE_BLOCKING);

static struct grb_channel *g_ch;
static const struct grb_config *g_cfg;
static uint32_t g_records;
static uint64_t g_committed, g_refused;
static uint64_t *g_next_seq; /* per writer id, consumer side */
static uint32_t g_threads;

static void *writer_main(void *arg)
{
	uint32_t w = (uint32_t)(uintptr_t)arg, i;
	struct payload p;
	uint64_t ok = 0, bad = 0;

	for (i = 0; i < g_records; i++) {
		uint32_t len = make_payload(&p, w, i);
		int r = g_cfg == &cfg_single ? grb_write_record(&cfg_single, g_ch, 0, &p, len) :
					       grb_write_record(&cfg_atomic, g_ch, 0, &p, len);

		if (r == 0)
			ok++;
		else
			bad++;
	}
	__atomic_add_fetch(&g_committed, ok, __ATOMIC_RELAXED);
	__atomic_add_fetch(&g_refused, bad, __ATOMIC_RELAXED);
	return NULL;
}

static void *consumer_main(void *arg)
{
	uint64_t *delivered = (uint64_t *)arg;
	struct grb_reader *r[POOL];
	struct grb_packet pkt;
	uint32_t i, ended = 0;

	for (i = 0; i < POOL; i++)
		r[i] = grb_reader_create(g_ch, i, 0);
	while (ended < POOL) {
		int progress = 0;

		ended = 0;
		for (i = 0; i < POOL; i++) {
			int ret;

			while ((ret = grb_reader_get_next(r[i], &pkt)) == 0) {
				struct grb_packet_cursor cur;
				struct grb_record rec;

				grb_packet_cursor_init(&pkt, &cur);
				while (grb_packet_record_next(r[i], &pkt, &cur, &rec) == 0) {
					struct payload p;

					if (payload_check(rec.payload, rec.payload_len, &p) ||
					    p.writer >= g_threads) {
						FAIL("churn: torn record\n");
						continue;
					}
					/* A writer uses one stream for its life: strict order. */
					if (p.seq != g_next_seq[p.writer])
						FAIL("churn: writer %u seq %llu, expected %llu\n",
						     p.writer, (unsigned long long)p.seq,
						     (unsigned long long)g_next_seq[p.writer]);
					g_next_seq[p.writer] = p.seq + 1;
					(*delivered)++;
				}
				grb_reader_put(r[i], &pkt);
				progress = 1;
			}
			ended += ret == -ENODATA;
		}
		if (!progress)
			grb_reader_wait(r[0], 1000000);
	}
	for (i = 0; i < POOL; i++)
		grb_reader_destroy(r[i]);
	return NULL;
}

static int run(const char *name, const struct grb_config *cfg, uint32_t threads)
{
	struct grb_channel_attr a;
	struct grb_channel_stats st;
	pthread_t live[LIVE], cons;
	uint64_t delivered = 0;
	uint32_t t, i;
	int f0 = failures;

	g_cfg = cfg;
	g_threads = threads;
	g_committed = g_refused = 0;
	g_next_seq = (uint64_t *)calloc(threads, sizeof(uint64_t));
	grb_channel_attr_init(&a);
	a.subbuf_size = 4096;
	a.subbuf_count = 4;
	a.nr_streams = POOL;
	a.blocking_timeout_us = UINT64_MAX; /* blocking forever: nothing may be lost */
	g_ch = grb_channel_create(cfg, &a);
	if (!g_ch) {
		FAIL("%s: %s\n", name, grb_last_error());
		return 1;
	}
	pthread_create(&cons, NULL, consumer_main, &delivered);
	for (t = 0; t < threads; t++) {
		if (t >= LIVE)
			pthread_join(live[t % LIVE], NULL);
		pthread_create(&live[t % LIVE], NULL, writer_main, (void *)(uintptr_t)t);
	}
	for (t = 0; t < LIVE && t < threads; t++)
		pthread_join(live[t], NULL);
	for (i = 0; i < POOL; i++) {
		struct grb_stream_stats ss;

		grb_channel_read_stream_stats(g_ch, i, &ss);
		if (ss.owner_tid)
			FAIL("%s: stream %u still owned by %u after every thread exited\n", name, i,
			     ss.owner_tid);
	}
	grb_channel_finalize(g_ch);
	pthread_join(cons, NULL);
	grb_channel_read_stats(g_ch, &st);
	if (g_refused || st.lost_total)
		FAIL("%s: %llu refused, %llu lost (no_stream %llu)\n", name,
		     (unsigned long long)g_refused, (unsigned long long)st.lost_total,
		     (unsigned long long)st.lost[GRB_LOST_NO_STREAM]);
	if (delivered != g_committed || g_committed != (uint64_t)threads * g_records)
		FAIL("%s: delivered %llu, committed %llu, written %llu\n", name,
		     (unsigned long long)delivered, (unsigned long long)g_committed,
		     (unsigned long long)threads * g_records);
	printf("%-16s threads=%u records=%llu delivered=%llu lost=%llu %s\n", name, threads,
	       (unsigned long long)g_committed, (unsigned long long)delivered,
	       (unsigned long long)st.lost_total, failures == f0 ? "ok" : "FAILED");
	grb_channel_destroy(g_ch);
	free(g_next_seq);
	return failures != f0;
}

int main(void)
{
	const char *scale = getenv("GRB_STRESS_SCALE");
	double f = scale ? atof(scale) : 1.0;
	uint32_t threads = (uint32_t)(3000 * f);
	int bad = 0;

	if (threads < 50)
		threads = 50;
	g_records = 300;
	bad += run("churn-single", &cfg_single, threads);
	bad += run("churn-atomic", &cfg_atomic, threads);
	printf("%d passed, %d failed\n", 2 - bad, bad);
	return bad ? 1 : 0;
}
