// SPDX-License-Identifier: MIT
/*
 * takeover_count.c - grb_channel_consumed_records() in overwrite mode
 * while a writer runs: what a consumer that takes over learns its
 * predecessor took.  A writer thread fills an overwrite channel flat out
 * (its openers push consumed past the packets they overwrite); this
 * thread's consuming reader takes a few packets now and then and counts
 * their records.  The count must be exactly those records whenever it
 * returns 0:
 *
 *  - between the takes, while the writer runs, at random moments;
 *  - with the writer parked at the test point between an opener's push
 *    ([P3]: consumed moved past the packet it overwrites) and its count of
 *    that packet's records as overwritten (GRB_TP_PUSH_CLAIMED), where a
 *    look that trusted the positions would count the pushed packet as
 *    consumed: the answer is then -EAGAIN (a reservation is open), never a
 *    wrong count;
 *  - once the writer is stopped.
 *
 *   takeover_count [--rounds N]
 *
 * Per-thread streams (the single writer) and a global stream (atomic).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grb/grb.h>
#include <grb/native.h>

#include "../unit/check.h"

#ifndef GRB_TEST_POINTS
#error "takeover_count needs the test points (link grb_tp)"
#endif

#define SB 4096u
#define NSB 4u

static const struct grb_config cfg_thread =
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_MODE_OVERWRITE);
static const struct grb_config cfg_global =
	GRB_NATIVE_CONFIG(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_OVERWRITE);

/* The hook's handshake with this thread: arm, the writer parks at its
 * next push and says so, release lets it go on. */
static int armed, parked, release_writer;
static int stop_writer;

static void tp_hook(enum grb_tp p, uint64_t pass, void *arg)
{
	int one = 1;

	(void)pass;
	(void)arg;
	if (p != GRB_TP_PUSH_CLAIMED)
		return;
	/* Only the first pusher after the arming parks. */
	if (!__atomic_compare_exchange_n(&armed, &one, 0, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return;
	__atomic_store_n(&parked, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&release_writer, __ATOMIC_ACQUIRE))
		sched_yield();
	__atomic_store_n(&parked, 0, __ATOMIC_RELEASE);
}

struct writer {
	const struct grb_config *cfg;
	struct grb_channel *ch;
	uint64_t written;
};

static void *writer_main(void *arg)
{
	struct writer *w = (struct writer *)arg;
	uint64_t v[2] = { 0, 0 };

	while (!__atomic_load_n(&stop_writer, __ATOMIC_ACQUIRE)) {
		struct grb_ctx ctx = { .payload_len = sizeof(v) };

		if (grb_reserve(w->cfg, w->ch, &ctx) == 0) {
			grb_write(&ctx, v, sizeof(v));
			grb_commit(w->cfg, &ctx);
			v[0]++;
		}
		w->written++;
	}
	return NULL;
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

/* Take up to n packets; return the records they held. */
static uint64_t take(struct grb_reader *r, int n)
{
	struct grb_packet pkt;
	uint64_t got = 0;

	while (n-- > 0 && grb_reader_get_next(r, &pkt) == 0) {
		got += pkt.info.records;
		grb_reader_put(r, &pkt);
	}
	return got;
}

/* Its answers, for the report. */
struct tally {
	uint64_t exact, again, parked_again, parked_exact;
};

/* The count, when it answers, must be what the reader took. */
static void check_count(struct grb_channel *ch, uint64_t taken, int is_parked, struct tally *t,
			const char *what)
{
	uint64_t n = 0;
	int ret = grb_channel_consumed_records(ch, 0, &n);

	if (ret == -EAGAIN) {
		if (is_parked)
			t->parked_again++;
		else
			t->again++;
		return;
	}
	CHECK(ret == 0);
	if (ret == 0 && n != taken)
		fprintf(stderr,
			"takeover_count: %s: %" PRIu64 " consumed, the reader took %" PRIu64 "%s\n",
			what, n, taken, is_parked ? " (writer parked inside its push)" : "");
	CHECK(ret != 0 || n == taken);
	if (is_parked)
		t->parked_exact++;
	else
		t->exact++;
}

static void run(const char *name, const struct grb_config *cfg, int rounds)
{
	struct grb_channel_attr attr;
	struct grb_channel *ch;
	struct grb_reader *r;
	struct writer w;
	struct tally t;
	pthread_t th;
	uint64_t taken = 0, n = 0;
	int i, k;

	memset(&t, 0, sizeof(t));
	grb_channel_attr_init(&attr);
	attr.subbuf_size = SB;
	attr.subbuf_count = NSB;
	attr.nr_streams = 1;
	ch = grb_channel_create(cfg, &attr);
	CHECK(ch != NULL);
	if (!ch)
		return;
	r = grb_reader_create(ch, 0, 0);
	CHECK(r != NULL);
	memset(&w, 0, sizeof(w));
	w.cfg = cfg;
	w.ch = ch;
	__atomic_store_n(&stop_writer, 0, __ATOMIC_RELEASE);
	CHECK(pthread_create(&th, NULL, writer_main, &w) == 0);
	for (i = 0; i < rounds && r; i++) {
		uint64_t deadline = grb_clock_monotonic() + 2000000000ull;

		taken += take(r, 1 + i % 3);
		for (k = 0; k < 20; k++)
			check_count(ch, taken, 0, &t, "while the writer runs");
		/* Park the writer's next push between its move and its count. */
		__atomic_store_n(&release_writer, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&armed, 1, __ATOMIC_RELEASE);
		while (!__atomic_load_n(&parked, __ATOMIC_ACQUIRE) &&
		       grb_clock_monotonic() < deadline)
			sched_yield();
		if (__atomic_load_n(&parked, __ATOMIC_ACQUIRE)) {
			for (k = 0; k < 3; k++)
				check_count(ch, taken, 1, &t, "parked");
		} else {
			fprintf(stderr, "takeover_count: %s: the writer did not push in 2 s\n",
				name);
			CHECK(0);
		}
		__atomic_store_n(&armed, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&release_writer, 1, __ATOMIC_RELEASE);
		while (__atomic_load_n(&parked, __ATOMIC_ACQUIRE))
			sched_yield();
		sleep_us(200 + 37 * (i % 11));
	}
	__atomic_store_n(&stop_writer, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	/* The writer stopped: every answer is the count. */
	CHECK(grb_channel_consumed_records(ch, 0, &n) == 0);
	CHECK(n == taken);
	printf("takeover_count: %s: %d rounds, %" PRIu64 " records taken, %" PRIu64
	       " written; while running %" PRIu64 " exact, %" PRIu64
	       " -EAGAIN; parked in a push %" PRIu64 " -EAGAIN, %" PRIu64 " exact\n",
	       name, rounds, taken, w.written, t.exact, t.again, t.parked_again, t.parked_exact);
	/* Parked between the push and its count, the count must not answer. */
	CHECK(t.parked_exact == 0);
	CHECK(t.parked_again > 0);
	CHECK(t.exact > 0);
	grb_reader_destroy(r);
	grb_channel_destroy(ch);
}

int main(int argc, char **argv)
{
	int rounds = 200, i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--rounds") && i + 1 < argc) {
			rounds = atoi(argv[++i]);
		} else {
			fprintf(stderr, "usage: takeover_count [--rounds N]\n");
			return 2;
		}
	}
	grb_tp_set_hook(tp_hook, NULL);
	run("per-thread single writer", &cfg_thread, rounds);
	run("global atomic", &cfg_global, rounds);
	grb_tp_set_hook(NULL, NULL);
	return check_exit("takeover_count");
}
