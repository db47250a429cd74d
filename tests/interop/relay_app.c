// SPDX-License-Identifier: MIT
/*
 * relay_app.c - the program of relay_record.sh: registers with the
 * recording session (grb record -- relay_app ...) and writes a known
 * sequence of events at a known pace, from two threads, so that a live
 * viewer follows it while it runs.
 *
 *	relay_app N PERIOD_US [GO_FILE [STALL_MS]]
 *
 * Each of the two threads writes relay_app:tick { n, thread, square }
 * for n = 0 .. N-1 (square = n * n), sleeping PERIOD_US after each event.
 * With GO_FILE, the threads start once that file exists (at most 60 s):
 * the test makes it when its viewers are attached.  With STALL_MS, thread
 * 1 also sleeps that long after its 10th event (a thread that waits with
 * a packet open).  Prints the count written and exits 0 when every write
 * succeeded.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <grb/session.h>

static const struct grb_config cfg = GRB_SESSION_CONFIG;

#define TICK_FIELDS(F) F(u32, n) F(u32, thread) F(u64, square)
GRB_CTF_EVENT(relay_app_tick, "relay_app:tick", 1, TICK_FIELDS)

static const struct grb_ctf_event_desc *const events[] = { &relay_app_tick_event };

static struct grb_channel *ch;
static unsigned long n_events, period_us, stall_ms;

struct worker {
	pthread_t thread;
	uint32_t id;
	unsigned long written, failed;
};

static void *writer(void *arg)
{
	struct worker *w = (struct worker *)arg;
	struct timespec ts = { (time_t)(period_us / 1000000), (long)(period_us % 1000000) * 1000 };
	unsigned long i;

	for (i = 0; i < n_events; i++) {
		if (relay_app_tick_write(&cfg, ch, (uint32_t)i, w->id, (uint64_t)i * i))
			w->failed++;
		else
			w->written++;
		if (period_us)
			nanosleep(&ts, NULL);
		if (w->id == 1 && i == 9 && stall_ms) {
			struct timespec st = { (time_t)(stall_ms / 1000),
					       (long)(stall_ms % 1000) * 1000000 };

			nanosleep(&st, NULL);
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct worker w[2];
	unsigned long written = 0, failed = 0;
	int i, waited = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: relay_app N PERIOD_US [GO_FILE [STALL_MS]]\n");
		return 2;
	}
	n_events = strtoul(argv[1], NULL, 10);
	period_us = strtoul(argv[2], NULL, 10);
	stall_ms = argc > 4 ? strtoul(argv[4], NULL, 10) : 0;
	ch = grb_session_channel(&cfg, "relay_app", events, 1);
	if (!ch) {
		fprintf(stderr, "relay_app: not recorded: %s\n", grb_last_error());
		return 1;
	}
	while (argc > 3 && access(argv[3], F_OK)) {
		struct timespec ts = { 0, 10000000 };

		if (++waited > 6000) {
			fprintf(stderr, "relay_app: %s did not appear in 60 s\n", argv[3]);
			return 1;
		}
		nanosleep(&ts, NULL);
	}
	for (i = 0; i < 2; i++) {
		w[i].id = (uint32_t)i;
		w[i].written = w[i].failed = 0;
		if (pthread_create(&w[i].thread, NULL, writer, &w[i])) {
			fprintf(stderr, "relay_app: pthread_create failed\n");
			return 1;
		}
	}
	for (i = 0; i < 2; i++) {
		pthread_join(w[i].thread, NULL);
		written += w[i].written;
		failed += w[i].failed;
	}
	grb_session_close(ch); /* the recorder drains every event */
	printf("relay_app: %lu events written, %lu failed\n", written, failed);
	return failed != 0;
}
