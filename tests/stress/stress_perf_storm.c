// SPDX-License-Identifier: MIT
/*
 * stress_perf_storm.c - a signal storm on the perf client: 4 threads on
 * the machine's CPUs, each sampled by its timer at 10 kHz (wall time: a
 * CPU-time timer expires at the kernel's tick only), each
 * also writing samples of its own (so the timer's signal often lands
 * inside a reservation of its thread), into a small ring that a slow
 * consumer drains through the data_head / data_tail views.
 *
 * Exact accounting, nothing uncounted:
 *  - every sample the handler or a thread tried to write was committed or
 *    refused: written == committed + refused, for each;
 *  - grb's counters agree: the streams' committed records are the
 *    accepted samples, the channel's losses the refused ones;
 *  - the consumer read every committed sample once (by kind: the
 *    handler's and the threads' own), intact, each stream's in time
 *    order, and the LOST_SAMPLES counts it read are at most the losses,
 *    the rest being those no later sample of their stream reported.
 * GRB_STRESS_SCALE scales the duration (default 3 s).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <grb/perf.h>

#include "stress_common.h"

#define FAILN(fmt, ...) FAIL("stress_perf_storm: " fmt "\n", ##__VA_ARGS__)

#define THREADS 4
#define STREAMS 8
#define OWN_IP 0x0badc0deull

struct worker {
	struct grb_perf_sampler *s;
	struct grb_channel *ch;
	uint64_t own_written, own_ok, own_refused;
	uint64_t sink;
};

static int stop;

static void *worker_fn(void *p)
{
	struct worker *w = (struct worker *)p;
	uint64_t callers[4] = { 1, 2, 3, 4 }, x = 1, i;
	struct grb_perf_sample smp;

	memset(&smp, 0, sizeof(smp));
	smp.ip = OWN_IP;
	smp.pid = (uint32_t)getpid();
	smp.tid = (uint32_t)syscall(SYS_gettid);
	smp.period = 1;
	smp.nr_callers = 4;
	smp.callers = callers;
	if (grb_perf_sampler_thread_start(w->s))
		FAILN("thread_start failed");
	/* Relaxed: a flag that only ends the loop; join orders the rest. */
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		for (i = 0; i < 2000; i++)
			x = x * 6364136223846793005ull + 1;
		w->own_written++;
		if (grb_perf_write_sample(w->ch, &smp, NULL) == 0)
			w->own_ok++;
		else
			w->own_refused++;
	}
	w->sink = x;
	if (grb_perf_sampler_thread_stop(w->s))
		FAILN("thread_stop failed");
	return NULL;
}

struct reader {
	struct grb_perf_mmap *m[STREAMS];
	uint64_t last_ts[STREAMS];
	uint64_t handler_samples, own_samples, lost, lost_records, bad;
	char *bounce;
};

/* Reads each view from its tail to its head and releases it. */
static void read_views(struct reader *r)
{
	uint32_t i;

	for (i = 0; i < STREAMS; i++) {
		uint64_t head = grb_perf_mmap_data_head(r->m[i]);
		uint64_t pos = grb_perf_mmap_data_tail(r->m[i]);

		while (pos < head) {
			const struct grb_perf_event_header *h =
				grb_perf_mmap_event(r->m[i], pos, r->bounce);
			uint64_t v[6];

			if (!h) {
				r->bad++;
				break;
			}
			memcpy(v, h, h->size < sizeof(v) ? h->size : sizeof(v));
			if (h->type == GRB_PERF_RECORD_LOST_SAMPLES &&
			    h->size == GRB_PERF_LOST_SIZE) {
				r->lost += v[1];
				r->lost_records++;
			} else if (h->type == GRB_PERF_RECORD_SAMPLE &&
				   h->size >= GRB_PERF_SAMPLE_FIXED + 16 &&
				   v[5] == (h->size - GRB_PERF_SAMPLE_FIXED) / 8u) {
				if (v[3] < r->last_ts[i])
					r->bad++;
				r->last_ts[i] = v[3];
				if (v[1] == OWN_IP)
					r->own_samples++;
				else
					r->handler_samples++;
			} else {
				r->bad++;
			}
			pos += h->size;
		}
		if (grb_perf_mmap_set_tail(r->m[i], head))
			r->bad++;
	}
}

int main(void)
{
	uint64_t ms = stress_size(3000, 200), handler_written, all_written;
	struct grb_perf_sampler_stats ss;
	struct grb_perf_sampler_attr sa;
	struct grb_channel_stats cs;
	struct grb_channel_attr attr;
	struct worker w[THREADS];
	struct reader r;
	struct timespec t0, t1;
	pthread_t th[THREADS];
	uint64_t committed = 0, own_ok = 0, own_refused = 0, own_written = 0;
	uint32_t i;

	memset(&r, 0, sizeof(r));
	memset(w, 0, sizeof(w));
	r.bounce = malloc(GRB_PERF_BOUNCE_SIZE);
	grb_perf_channel_attr_init(&attr, 0, 0);
	attr.subbuf_size = 8192;
	attr.subbuf_count = 4;
	attr.nr_streams = STREAMS;
	struct grb_channel *ch = grb_perf_channel_create(&attr);

	if (!ch || !r.bounce) {
		fprintf(stderr, "stress_perf_storm: channel: %s\n", grb_last_error());
		return 1;
	}
	for (i = 0; i < STREAMS; i++) {
		r.m[i] = grb_perf_mmap_open(ch, i, GRB_PERF_MMAP_MIN_SIZE);
		if (!r.m[i]) {
			fprintf(stderr, "stress_perf_storm: view %u: %s\n", i, strerror(errno));
			return 1;
		}
	}
	grb_perf_sampler_attr_init(&sa);
	sa.freq_hz = 10000;
	/* Wall time: CPU-time timers expire at the kernel's tick only, and
	 * the storm wants the full rate. */
	sa.clock = CLOCK_MONOTONIC;
	struct grb_perf_sampler *s = grb_perf_sampler_create(ch, &sa);

	if (!s) {
		fprintf(stderr, "stress_perf_storm: sampler: %s\n", grb_last_error());
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < THREADS; i++) {
		w[i].s = s;
		w[i].ch = ch;
		if (pthread_create(&th[i], NULL, worker_fn, &w[i]))
			FAILN("pthread_create");
	}
	/* A slow consumer: a look every 2 ms. */
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if ((t1.tv_sec - t0.tv_sec) * 1000000000ll + (t1.tv_nsec - t0.tv_nsec) >=
		    (long long)ms * 1000000ll)
			break;
		read_views(&r);
		usleep(2000);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	grb_channel_finalize(ch);
	/* Drain: after finalize every committed record is readable. */
	for (;;) {
		uint64_t before = r.handler_samples + r.own_samples + r.lost_records;

		read_views(&r);
		if (r.handler_samples + r.own_samples + r.lost_records == before)
			break;
	}

	if (grb_perf_sampler_stats(s, &ss) || grb_channel_read_stats(ch, &cs))
		FAILN("stats");
	for (i = 0; i < STREAMS; i++) {
		struct grb_stream_stats st;

		if (grb_channel_read_stream_stats(ch, i, &st))
			FAILN("stream stats");
		committed += st.committed;
		if (grb_perf_mmap_corrupt(r.m[i]))
			FAILN("stream %u: %" PRIu64 " corrupt", i, grb_perf_mmap_corrupt(r.m[i]));
	}
	for (i = 0; i < THREADS; i++) {
		own_written += w[i].own_written;
		own_ok += w[i].own_ok;
		own_refused += w[i].own_refused;
	}
	handler_written = ss.written;
	all_written = handler_written + own_written;
	printf("stress_perf_storm: %" PRIu64 " ms, %u threads at %u Hz: handler %" PRIu64
	       " written = %" PRIu64 " committed + %" PRIu64 " refused; own %" PRIu64
	       " written = %" PRIu64 " + %" PRIu64 "\n",
	       ms, THREADS, sa.freq_hz, handler_written, ss.committed, ss.refused, own_written,
	       own_ok, own_refused);
	printf("stress_perf_storm: grb: %" PRIu64 " committed, %" PRIu64 " lost (full %" PRIu64
	       ", nested %" PRIu64 ", no stream %" PRIu64 "); read %" PRIu64 " handler + %" PRIu64
	       " own samples, %" PRIu64 " lost in %" PRIu64 " LOST_SAMPLES records\n",
	       committed, cs.lost_total, cs.lost[GRB_LOST_FULL], cs.lost[GRB_LOST_NESTED],
	       cs.lost[GRB_LOST_NO_STREAM], r.handler_samples, r.own_samples, r.lost,
	       r.lost_records);
	if (ss.threads != THREADS)
		FAILN("%" PRIu64 " threads armed", ss.threads);
	if (handler_written != ss.committed + ss.refused)
		FAILN("handler: written != committed + refused");
	if (own_written != own_ok + own_refused)
		FAILN("own: written != committed + refused");
	if (all_written != committed + cs.lost_total)
		FAILN("written %" PRIu64 " != committed %" PRIu64 " + lost %" PRIu64, all_written,
		      committed, cs.lost_total);
	if (committed != ss.committed + own_ok)
		FAILN("grb committed %" PRIu64 " != accepted %" PRIu64, committed,
		      ss.committed + own_ok);
	if (cs.lost_total != ss.refused + own_refused)
		FAILN("grb lost %" PRIu64 " != refused %" PRIu64, cs.lost_total,
		      ss.refused + own_refused);
	if (r.handler_samples != ss.committed || r.own_samples != own_ok)
		FAILN("read %" PRIu64 " + %" PRIu64 " samples, committed %" PRIu64 " + %" PRIu64,
		      r.handler_samples, r.own_samples, ss.committed, own_ok);
	if (r.lost > cs.lost_total)
		FAILN("LOST_SAMPLES say %" PRIu64 ", grb lost %" PRIu64, r.lost, cs.lost_total);
	if (r.bad)
		FAILN("%" PRIu64 " bad records or releases", r.bad);
	if (!ss.committed || !cs.lost_total || !r.lost_records)
		FAILN("the storm wrote no handler sample, lost nothing, or reported no loss");
	for (i = 0; i < STREAMS; i++)
		grb_perf_mmap_close(r.m[i]);
	if (grb_perf_sampler_destroy(s))
		FAILN("sampler destroy");
	grb_channel_destroy(ch);
	free(r.bounce);
	if (failures)
		return 1;
	printf("stress_perf_storm: OK\n");
	return 0;
}
