// SPDX-License-Identifier: MIT
/*
 * demo.c - several threads write events into a per-CPU channel while a
 * consumer drains it; prints what was written, delivered and lost, per
 * stream and by cause.
 *
 *	demo [--threads N] [--events N] [--mode discard|overwrite|blocking]
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grb/grb.h>
#include <grb/native.h>

static const struct grb_config cfg_discard =
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_CPU, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD);
static const struct grb_config cfg_overwrite =
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_CPU, GRB_SYNC_ATOMIC, GRB_MODE_OVERWRITE);
static const struct grb_config cfg_blocking =
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_CPU, GRB_SYNC_ATOMIC, GRB_MODE_BLOCKING);

struct event {
	uint32_t thread;
	uint32_t kind;
	uint64_t seq;
	double value;
};

static struct grb_channel *ch;
static const struct grb_config *cfg;
static uint64_t events_per_thread = 1000000;
static uint64_t written, refused;

#define WRITER(NAME, CFG)                                              \
	static int NAME(const struct event *ev)                        \
	{                                                              \
		return grb_write_record(&CFG, ch, 0, ev, sizeof(*ev)); \
	}
WRITER(write_discard, cfg_discard)
WRITER(write_overwrite, cfg_overwrite)
WRITER(write_blocking, cfg_blocking)
static int (*write_event)(const struct event *ev);

static void *writer(void *arg)
{
	struct event ev = { (uint32_t)(uintptr_t)arg, 0, 0, 0.0 };
	uint64_t ok = 0, bad = 0;

	for (ev.seq = 0; ev.seq < events_per_thread; ev.seq++) {
		ev.kind = (uint32_t)(ev.seq % 3);
		ev.value = (double)ev.seq * 0.5;
		if (write_event(&ev) == 0)
			ok++;
		else
			bad++;
	}
	__atomic_add_fetch(&written, ok, __ATOMIC_RELAXED);
	__atomic_add_fetch(&refused, bad, __ATOMIC_RELAXED);
	return NULL;
}

static void *consumer(void *arg)
{
	uint64_t *delivered = (uint64_t *)arg;
	uint32_t n = grb_channel_nr_streams(ch), i, ended = 0;
	struct grb_reader **r = calloc(n, sizeof(*r));
	struct grb_packet pkt;

	for (i = 0; i < n; i++)
		r[i] = grb_reader_create(ch, i, 0);
	while (ended < n) {
		ended = 0;
		for (i = 0; i < n; i++) {
			int ret;

			while ((ret = grb_reader_get_next(r[i], &pkt)) == 0) {
				delivered[i] += pkt.info.records;
				grb_reader_put(r[i], &pkt);
			}
			ended += ret == -ENODATA;
		}
		if (ended < n)
			grb_reader_wait(r[0], 1000000);
	}
	for (i = 0; i < n; i++)
		grb_reader_destroy(r[i]);
	free(r);
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = 4, i;
	const char *mode = "discard";
	struct grb_channel_attr attr;
	struct grb_channel_stats st;
	pthread_t t[64], c;
	uint64_t *delivered, total = 0;
	struct timespec t0, t1;
	double secs;
	uint32_t s;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			threads = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--events") && i + 1 < argc)
			events_per_thread = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--mode") && i + 1 < argc)
			mode = argv[++i];
		else {
			fprintf(stderr, "usage: demo [--threads N] [--events N per thread] "
					"[--mode discard|overwrite|blocking]\n");
			return 2;
		}
	}
	if (threads < 1 || threads > 64)
		threads = 4;
	cfg = !strcmp(mode, "overwrite") ? &cfg_overwrite :
	      !strcmp(mode, "blocking")	 ? &cfg_blocking :
					   &cfg_discard;
	write_event = cfg == &cfg_overwrite ? write_overwrite :
		      cfg == &cfg_blocking  ? write_blocking :
					      write_discard;
	grb_channel_attr_init(&attr);
	attr.subbuf_size = 256 * 1024;
	attr.subbuf_count = 8;
	attr.switch_timer_us = 100000;
	attr.name = "demo";
	ch = grb_channel_create(cfg, &attr);
	if (!ch) {
		fprintf(stderr, "demo: %s\n", grb_last_error());
		return 1;
	}
	delivered = calloc(grb_channel_nr_streams(ch), sizeof(*delivered));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_create(&c, NULL, consumer, delivered);
	for (i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, writer, (void *)(uintptr_t)i);
	for (i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	grb_channel_finalize(ch);
	pthread_join(c, NULL);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	grb_channel_read_stats(ch, &st);

	printf("grb %s demo: %d threads x %llu events, %s mode, %u streams, %.2f s "
	       "(%.1f M events/s)\n",
	       grb_version(), threads, (unsigned long long)events_per_thread, mode,
	       grb_channel_nr_streams(ch), secs, (double)(written + refused) / secs / 1e6);
	printf("%-8s %12s %12s %12s\n", "stream", "delivered", "lost", "overwritten");
	for (s = 0; s < grb_channel_nr_streams(ch); s++) {
		struct grb_stream_stats ss;

		grb_channel_read_stream_stats(ch, s, &ss);
		printf("%-8u %12llu %12llu %12llu\n", s, (unsigned long long)delivered[s],
		       (unsigned long long)(ss.lost_total - ss.lost[GRB_LOST_OVERWRITTEN]),
		       (unsigned long long)ss.lost[GRB_LOST_OVERWRITTEN]);
		total += delivered[s];
	}
	printf("lost by cause:");
	for (i = 0; i < GRB_LOST_NR; i++)
		printf(" %s=%llu", grb_lost_cause_name((enum grb_lost_cause)i),
		       (unsigned long long)st.lost[i]);
	printf("\nwritten %llu + refused %llu; delivered %llu + lost %llu = %llu: %s\n",
	       (unsigned long long)written, (unsigned long long)refused, (unsigned long long)total,
	       (unsigned long long)st.lost_total, (unsigned long long)(total + st.lost_total),
	       total + st.lost_total == written + refused ? "accounting exact" :
							    "ACCOUNTING MISMATCH");
	grb_channel_destroy(ch);
	free(delivered);
	return total + st.lost_total == written + refused ? 0 : 1;
}
