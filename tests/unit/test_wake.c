// SPDX-License-Identifier: MIT
/*
 * test_wake.c - the channel's pollable descriptor and the wake-up policies.
 *
 * One thread writes record by record and looks at the descriptor after
 * each commit (poll with no timeout), so every wake-up is seen where it
 * happens:
 * - the descriptor is readable only when the policy's unit was reached
 *   (records, bytes, a delivered packet), at most once per unit, never
 *   when nobody is armed;
 * - whenever it is readable, the records it woke for are readable: the
 *   merge returns every record written so far (never a wake-up before
 *   publication);
 * - a unit crossed while an earlier record is still reserved does not
 *   wake; the commit of that record does;
 * - with the timer policy no commit makes it readable; the read timer
 *   does, once there is something new;
 * - finalize wakes an armed merge, which then ends with -ENODATA;
 * - grb_channel_wait() times out with nothing delivered, returns at once
 *   when a delivered packet is unread, is woken by the delivering writer
 *   and by its cancel word.
 */
#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <grb/grb.h>
#include <grb/native.h>

#include "check.h"

static const struct grb_config cfg_writer =
	GRB_NATIVE_CONFIG_WAKEUP(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD,
				 grb_clock_monotonic, GRB_WAKEUP_WRITER);
static const struct grb_config cfg_single =
	GRB_NATIVE_CONFIG_WAKEUP(GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_MODE_DISCARD,
				 grb_clock_monotonic, GRB_WAKEUP_WRITER);
static const struct grb_config cfg_timer = GRB_NATIVE_CONFIG_WAKEUP(
	GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD, grb_clock_monotonic, GRB_WAKEUP_TIMER);
static const struct grb_config cfg_none =
	GRB_NATIVE_CONFIG(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD);

static int readable(int fd, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

static struct grb_channel *make(const struct grb_config *cfg, uint32_t policy, uint32_t every)
{
	struct grb_channel_attr attr;
	struct grb_channel *ch;

	grb_channel_attr_init(&attr);
	attr.subbuf_size = 1024;
	attr.subbuf_count = 8;
	attr.nr_streams = 2;
	attr.wake_policy = policy;
	attr.wake_every = every;
	attr.read_timer_us = 20 * 1000;
	ch = grb_channel_create(cfg, &attr);
	if (!ch)
		fprintf(stderr, "test_wake: %s\n", grb_last_error());
	return ch;
}

/* Reads what the merge has; returns the count, checks the values follow
 * *next. */
static int drain(struct grb_merge *m, uint64_t *next)
{
	struct grb_record rec;
	uint64_t v;
	int n = 0;

	while (grb_merge_next(m, &rec) == 0) {
		memcpy(&v, rec.payload, sizeof(v));
		CHECK(v == *next);
		*next = v + 1;
		n++;
	}
	return n;
}

/*
 * Writes total records one at a time; after each, a readable descriptor
 * must come with every record so far readable, and is counted.  Returns
 * the wake-ups.
 */
static int run_policy(const struct grb_config *cfg, uint32_t policy, uint32_t every, uint64_t total,
		      int *first_at)
{
	struct grb_channel *ch = make(cfg, policy, every);
	struct grb_merge *m;
	uint64_t i, next = 0;
	int fd, wakes = 0;

	CHECK(ch != NULL);
	if (!ch)
		return -1;
	m = grb_merge_create(ch, 0);
	fd = grb_channel_fd(ch);
	CHECK(m != NULL && fd >= 0);
	CHECK(grb_merge_arm(m) == 0); /* nothing yet: armed */
	*first_at = -1;
	for (i = 0; i < total; i++) {
		CHECK(grb_write_record(cfg, ch, 0, &i, sizeof(i)) == 0);
		if (!readable(fd, 0))
			continue;
		wakes++;
		if (*first_at < 0)
			*first_at = (int)i + 1;
		/* Woken: everything written is readable now. */
		CHECK(drain(m, &next) > 0);
		CHECK(next == i + 1);
		CHECK(grb_merge_arm(m) == 0);
	}
	/* Not armed: no wake-up however much is written. */
	drain(m, &next);
	grb_merge_destroy(m);
	grb_channel_destroy(ch);
	return wakes;
}

/*
 * A 1024-byte sub-buffer holds 59 records here (a 64-byte packet header, a
 * 24-byte first record with its full timestamp, 16-byte records): 400
 * records fill 6 packets and 46 records of a 7th, one per slot.
 */
static void test_records(void)
{
	int first, wakes;

	/* Units of 8 records of a slot's count: 7 in each full packet, 5 in
	 * the 7th: 47, each one wake-up. */
	wakes = run_policy(&cfg_writer, GRB_WAKE_RECORDS, 8, 400, &first);
	CHECK(first == 8);
	CHECK(wakes == 47);
	wakes = run_policy(&cfg_single, GRB_WAKE_RECORDS, 8, 400, &first);
	CHECK(first == 8);
	CHECK(wakes == 47);
}

static void test_bytes(void)
{
	int first, wakes;

	/* A 512-byte watermark: 88 + 16 * 27 = 520 bytes after record 28.
	 * Two units a full packet (the second reached by the padding of the
	 * reservation that closes it: the delivery wakes), one in the 7th
	 * (88 + 16 * 45 = 808 bytes): 13. */
	wakes = run_policy(&cfg_writer, GRB_WAKE_BYTES, 512, 400, &first);
	CHECK(first == 28);
	CHECK(wakes == 13);
}

static void test_packet(void)
{
	int first, wakes;

	/* Record 60 does not fit the first packet: its reservation closes
	 * it, and the padding's commit delivers it. */
	wakes = run_policy(&cfg_writer, GRB_WAKE_PACKET, 0, 400, &first);
	CHECK(first == 60);
	CHECK(wakes == 6);
}

static void *commit_later(void *arg)
{
	struct grb_channel *ch = (struct grb_channel *)arg;
	uint64_t v;
	int i;

	for (i = 1; i <= 8; i++) {
		v = (uint64_t)i;
		CHECK(grb_write_record(&cfg_writer, ch, 0, &v, sizeof(v)) == 0);
	}
	return NULL;
}

/* A unit crossed while an earlier record is reserved wakes only when that
 * record is committed. */
static void test_crossing_in_flight(void)
{
	struct grb_channel *ch = make(&cfg_writer, GRB_WAKE_RECORDS, 8);
	struct grb_merge *m;
	struct grb_ctx ctx;
	pthread_t t;
	uint64_t v = 0, next = 0;
	int fd;

	CHECK(ch != NULL);
	if (!ch)
		return;
	m = grb_merge_create(ch, 0);
	fd = grb_channel_fd(ch);
	CHECK(grb_merge_arm(m) == 0);
	ctx.event_id = 0;
	ctx.payload_len = sizeof(v);
	CHECK(grb_reserve(&cfg_writer, ch, &ctx) == 0);
	grb_write(&ctx, &v, sizeof(v));
	/* Eight more records from another thread: the eighth crosses the
	 * unit, but record 0 is in flight: nothing is readable, no wake-up. */
	CHECK(pthread_create(&t, NULL, commit_later, ch) == 0);
	pthread_join(t, NULL);
	CHECK(!readable(fd, 0));
	CHECK(drain(m, &next) == 0);
	CHECK(grb_merge_arm(m) == 0);
	grb_commit(&cfg_writer, &ctx);
	CHECK(readable(fd, 0));
	CHECK(drain(m, &next) == 9);
	grb_merge_destroy(m);
	grb_channel_destroy(ch);
}

/* The timer policy: commits never make the descriptor readable; the read
 * timer does when there is something new, and grb_merge_wait() wakes. */
static void test_timer(void)
{
	struct grb_channel *ch = make(&cfg_timer, GRB_WAKE_PACKET, 0);
	struct grb_merge *m;
	uint64_t i, next = 0;
	int fd;

	CHECK(ch != NULL);
	if (!ch)
		return;
	m = grb_merge_create(ch, 0);
	fd = grb_channel_fd(ch);
	CHECK(grb_merge_arm(m) == 0);
	/* Nothing new: several periods pass without a wake-up. */
	CHECK(!readable(fd, 70));
	for (i = 0; i < 200; i++)
		CHECK(grb_write_record(&cfg_timer, ch, 0, &i, sizeof(i)) == 0);
	/* Timer wake-up: within a few 20 ms periods (a generous bound for a
	 * loaded machine; the pass condition is only that it comes). */
	CHECK(readable(fd, 5000));
	CHECK(drain(m, &next) == 200);
	CHECK(grb_merge_wait(m, 70 * 1000 * 1000) == -ETIMEDOUT);
	grb_merge_destroy(m);
	grb_channel_destroy(ch);
}

static void *finalize_later(void *arg)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	nanosleep(&ts, NULL);
	grb_channel_finalize((struct grb_channel *)arg);
	return NULL;
}

static void test_finalize_and_errors(void)
{
	struct grb_channel *ch = make(&cfg_writer, GRB_WAKE_RECORDS, 64);
	struct grb_channel_attr attr;
	struct grb_merge *m;
	struct grb_record rec;
	pthread_t t;

	CHECK(ch != NULL);
	if (!ch)
		return;
	m = grb_merge_create(ch, 0);
	CHECK(pthread_create(&t, NULL, finalize_later, ch) == 0);
	CHECK(grb_merge_wait(m, 10ull * 1000 * 1000 * 1000) == 0);
	pthread_join(t, NULL);
	CHECK(grb_merge_next(m, &rec) == -ENODATA);
	grb_merge_destroy(m);
	grb_channel_destroy(ch);

	ch = make(&cfg_none, GRB_WAKE_PACKET, 0);
	CHECK(ch != NULL && grb_channel_fd(ch) == -EOPNOTSUPP);
	m = grb_merge_create(ch, 0);
	CHECK(grb_merge_arm(m) == -EOPNOTSUPP);
	grb_merge_destroy(m);
	grb_channel_destroy(ch);
	CHECK(grb_channel_fd(NULL) == -EINVAL);

	/* Policies the configuration cannot serve, or units not a power of
	 * two, are refused with a message naming the field. */
	grb_channel_attr_init(&attr);
	attr.wake_policy = GRB_WAKE_RECORDS;
	attr.wake_every = 8;
	CHECK(grb_channel_create(&cfg_timer, &attr) == NULL && errno == EINVAL);
	CHECK(strstr(grb_last_error(), "attr.wake_policy") != NULL);
	attr.wake_every = 6;
	CHECK(grb_channel_create(&cfg_writer, &attr) == NULL && errno == EINVAL);
	CHECK(strstr(grb_last_error(), "attr.wake_every") != NULL);
	attr.wake_policy = GRB_WAKE_BYTES;
	attr.wake_every = attr.subbuf_size * 2;
	CHECK(grb_channel_create(&cfg_writer, &attr) == NULL && errno == EINVAL);
	attr.wake_policy = 7;
	CHECK(grb_channel_create(&cfg_writer, &attr) == NULL && errno == EINVAL);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *deliver_later(void *arg)
{
	struct grb_channel *ch = (struct grb_channel *)arg;
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	uint64_t v;

	nanosleep(&ts, NULL);
	/* 60 records of 8 bytes fill the first 1 KiB packet (test_packet). */
	for (v = 0; v < 60; v++)
		CHECK(grb_write_record(&cfg_writer, ch, 0, &v, sizeof(v)) == 0);
	return NULL;
}

static uint32_t cancel_word;

static void *cancel_later(void *arg)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	(void)arg;
	nanosleep(&ts, NULL);
	__atomic_add_fetch(&cancel_word, 1, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, &cancel_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	return NULL;
}

static void test_channel_wait(void)
{
	struct grb_channel *ch = make(&cfg_writer, GRB_WAKE_PACKET, 0);
	const uint64_t long_ns = 10ull * 1000 * 1000 * 1000;
	struct grb_reader *r;
	struct grb_packet pkt;
	pthread_t t;
	uint64_t t0;

	CHECK(ch != NULL);
	if (!ch)
		return;
	r = grb_reader_create(ch, 0, 0);
	CHECK(r != NULL);
	CHECK(grb_channel_wait(NULL, NULL, 0, 1000) == -EINVAL);
	CHECK(grb_channel_wait(ch, NULL, 0, 0) == -ETIMEDOUT);
	/* Nothing delivered: the whole timeout. */
	t0 = mono_ns();
	CHECK(grb_channel_wait(ch, NULL, 0, 20 * 1000 * 1000) == -ETIMEDOUT);
	CHECK(mono_ns() - t0 >= 20 * 1000 * 1000);
	/* The cancel word, changed and woken by another thread. */
	t0 = mono_ns();
	CHECK(pthread_create(&t, NULL, cancel_later, NULL) == 0);
	CHECK(grb_channel_wait(ch, &cancel_word, 0, long_ns) == 0);
	CHECK(mono_ns() - t0 < long_ns / 2);
	pthread_join(t, NULL);
	CHECK(grb_reader_get_next(r, &pkt) == -EAGAIN);
	/* The writer that delivers the packet wakes it. */
	t0 = mono_ns();
	CHECK(pthread_create(&t, NULL, deliver_later, ch) == 0);
	CHECK(grb_channel_wait(ch, &cancel_word, 1, long_ns) == 0);
	CHECK(mono_ns() - t0 < long_ns / 2);
	pthread_join(t, NULL);
	/* Delivered and unread: at once, whatever the timeout. */
	t0 = mono_ns();
	CHECK(grb_channel_wait(ch, NULL, 0, long_ns) == 0);
	CHECK(mono_ns() - t0 < long_ns / 2);
	CHECK(grb_reader_get_next(r, &pkt) == 0);
	CHECK(grb_reader_put(r, &pkt) == 0);
	/* Taken: asleep again until the timeout. */
	CHECK(grb_channel_wait(ch, NULL, 0, 10 * 1000 * 1000) == -ETIMEDOUT);
	grb_reader_destroy(r);
	grb_channel_destroy(ch);
}

int main(void)
{
	test_records();
	test_bytes();
	test_packet();
	test_crossing_in_flight();
	test_timer();
	test_finalize_and_errors();
	test_channel_wait();
	return check_exit("test_wake");
}
