// SPDX-License-Identifier: MIT
/*
 * test_read_robust.c - a read-side check never takes the writers down:
 * geometry the reader would call corrupt is refused at creation, and a
 * delivered packet that fails validation (here: a client clock that steps
 * back once) is reported, counted and skipped, by consuming and snapshot
 * readers, while the stream stays writable and the accounting exact.
 * And what another process that maps a stream writes on its consumer
 * page cannot make the reader hand the writers a sub-buffer in use, nor,
 * written into a slot, make a waiting consumer see records that are not
 * there.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include <grb/grb.h>
#include <grb/native.h>

#include "check.h"

static uint64_t fake_now = 1000000;
static uint64_t fake_clock(void)
{
	return __atomic_load_n(&fake_now, __ATOMIC_RELAXED);
}

static const struct grb_config cfg_discard =
	GRB_NATIVE_CONFIG_CLOCK(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD, fake_clock);
static const struct grb_config cfg_over =
	GRB_NATIVE_CONFIG_CLOCK(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_OVERWRITE, fake_clock);

#define NR 200 /* records written by the clock tests */
#define STEP 90 /* the record before which the clock goes back */

static struct grb_channel *make(const struct grb_config *cfg, uint32_t sb, uint32_t n)
{
	struct grb_channel_attr a;

	grb_channel_attr_init(&a);
	a.subbuf_size = sb;
	a.subbuf_count = n;
	return grb_channel_create(cfg, &a);
}

/* Writes record i (its payload is i) at the clock's next tick; before
 * record STEP the clock goes back once, by more than a packet's span. */
static int write_tick(const struct grb_config *cfg, struct grb_channel *ch, uint64_t i)
{
	if (i == STEP)
		__atomic_sub_fetch(&fake_now, 5000, __ATOMIC_RELAXED);
	else
		__atomic_add_fetch(&fake_now, 10, __ATOMIC_RELAXED);
	return grb_write_record(cfg, ch, 0, &i, sizeof(i));
}

/* Takes every complete packet from r, marks the records it holds in
 * seen[] and counts the -EPROTO returns; stops at -EAGAIN or -ENODATA. */
static int read_packets(struct grb_reader *r, unsigned char *seen, int *eproto)
{
	struct grb_packet p;
	struct grb_packet_cursor cur;
	struct grb_record rec;
	uint64_t v;
	int ret;

	for (;;) {
		ret = grb_reader_get_next(r, &p);
		if (ret == -EPROTO) {
			(*eproto)++;
			continue;
		}
		if (ret)
			return ret;
		grb_packet_cursor_init(&p, &cur);
		while ((ret = grb_packet_record_next(r, &p, &cur, &rec)) == 0) {
			CHECK(rec.payload_len == sizeof(v));
			memcpy(&v, rec.payload, sizeof(v));
			CHECK(v < NR && !seen[v]);
			if (v < NR)
				seen[v] = 1;
		}
		CHECK(ret == -ENODATA);
		CHECK(grb_reader_put(r, &p) == 0);
	}
}

/* The records of the first nr not seen: one run, which holds the record
 * before the step (its packet opened before the step and closed after it);
 * returns its length. */
static uint64_t missing_run(const unsigned char *seen, int nr)
{
	int i, first = -1, last = -1;
	uint64_t n = 0;

	for (i = 0; i < nr; i++) {
		if (seen[i])
			continue;
		if (first < 0)
			first = i;
		last = i;
		n++;
	}
	CHECK(n > 0 && (uint64_t)(last - first + 1) == n);
	CHECK(first <= STEP - 1 && STEP - 1 <= last);
	CHECK(last < nr - 1); /* records after the step are read */
	return n;
}

static uint32_t zero_header(const struct grb_config *cfg, const struct grb_ctx *ctx)
{
	(void)cfg;
	return ctx->flags ? GRB_NATIVE_EXTENDED_SIZE : 0;
}

static void expect_refused(const struct grb_config *cfg, const char *field)
{
	struct grb_channel *ch;

	errno = 0;
	ch = grb_channel_create(cfg, NULL);
	CHECK(ch == NULL && errno == EINVAL);
	CHECK(strstr(grb_last_error(), field) != NULL);
	if (ch)
		grb_channel_destroy(ch);
}

static void test_geometry(void)
{
	struct grb_config bad = cfg_discard;
	struct grb_channel *ch;

	/* The smallest native record is its 8-byte compact header: a larger
	 * min_record_size would make the reader call sound packets corrupt. */
	bad.min_record_size = GRB_NATIVE_COMPACT_SIZE + 1;
	expect_refused(&bad, "config.min_record_size");
	bad.min_record_size = GRB_NATIVE_EXTENDED_SIZE;
	expect_refused(&bad, "config.min_record_size");
	/* Equal is sound, smaller too (a weaker bound). */
	bad.min_record_size = GRB_NATIVE_COMPACT_SIZE;
	ch = grb_channel_create(&bad, NULL);
	CHECK(ch != NULL);
	grb_channel_destroy(ch);
	bad.min_record_size = 1;
	ch = grb_channel_create(&bad, NULL);
	CHECK(ch != NULL);
	grb_channel_destroy(ch);

	/* A client whose empty record has no header would reserve nothing. */
	bad = cfg_discard;
	bad.record_header_size = zero_header;
	expect_refused(&bad, "config.min_record_size");

	/* Records start after the packet header: it keeps them aligned. */
	bad = cfg_discard;
	bad.packet_header_size = 60;
	expect_refused(&bad, "config.packet_header_size");
}

/*
 * A consuming reader keeps up with a writer whose clock goes back once: the
 * packet that spans the step ends before it begins and fails validation.
 * The reader returns -EPROTO for it once and goes on; the stream stays
 * writable; the skipped records are counted, so the accounting is exact.
 */
static void test_clock_back_consuming(void)
{
	struct grb_channel *ch = make(&cfg_discard, 256, 4);
	struct grb_reader *r;
	struct grb_stream_stats ss;
	struct grb_channel_stats cs;
	unsigned char seen[NR] = { 0 };
	uint64_t i, delivered = 0, run;
	int eproto = 0, ret;

	CHECK(ch != NULL);
	if (!ch)
		return;
	r = grb_reader_create(ch, 0, 0);
	CHECK(r != NULL);
	for (i = 0; i < NR; i++) {
		CHECK(write_tick(&cfg_discard, ch, i) == 0);
		ret = read_packets(r, seen, &eproto);
		CHECK(ret == -EAGAIN);
	}
	CHECK(grb_channel_finalize(ch) == 0);
	CHECK(read_packets(r, seen, &eproto) == -ENODATA);
	for (i = 0; i < NR; i++)
		delivered += seen[i];
	run = missing_run(seen, NR);
	CHECK(eproto == 1);
	CHECK(grb_reader_corrupt_packets(r) == 1);
	CHECK(grb_channel_read_stream_stats(ch, 0, &ss) == 0);
	CHECK(ss.disabled == 0 && ss.invariant_failures == 0);
	CHECK(ss.corrupt_packets == 1 && ss.corrupt_records == run);
	CHECK(ss.lost_total == 0);
	CHECK(delivered + ss.lost_total + ss.corrupt_records == NR);
	CHECK(grb_channel_read_stats(ch, &cs) == 0);
	CHECK(cs.corrupt_packets == 1 && cs.corrupt_records == run);
	CHECK(cs.invariant_failures == 0 && cs.lost_total == 0);
	printf("clock step back: %llu records delivered, %llu in 1 packet skipped as corrupt\n",
	       (unsigned long long)delivered, (unsigned long long)ss.corrupt_records);
	grb_reader_destroy(r);
	grb_channel_destroy(ch);
}

/*
 * A snapshot reader gets -EPROTO for the same packet once, reads the others
 * and leaves it in the ring (a second snapshot sees it again); the stream
 * stays writable.  A consuming reader then counts it.
 */
static void test_clock_back_snapshot(void)
{
	/* 32 sub-buffers of 256 bytes: the NR records fit, none overwritten. */
	struct grb_channel *ch = make(&cfg_over, 256, 32);
	struct grb_reader *r;
	struct grb_stream_stats ss;
	unsigned char seen[NR];
	uint64_t i, delivered = 0, run;
	int eproto = 0, pass;

	CHECK(ch != NULL);
	if (!ch)
		return;
	for (i = 0; i < NR - 1; i++)
		CHECK(write_tick(&cfg_over, ch, i) == 0);
	CHECK(grb_channel_flush(ch) == 0);
	r = grb_reader_create(ch, 0, GRB_READER_SNAPSHOT);
	CHECK(r != NULL);
	for (pass = 1; pass <= 2; pass++) {
		memset(seen, 0, sizeof(seen));
		eproto = 0;
		CHECK(read_packets(r, seen, &eproto) == -ENODATA);
		CHECK(eproto == 1);
		CHECK(grb_reader_corrupt_packets(r) == (uint64_t)pass);
		missing_run(seen, NR - 1);
		CHECK(grb_reader_snapshot_restart(r) == 0);
	}
	CHECK(grb_reader_lost_packets(r) == 0);
	grb_reader_destroy(r);
	CHECK(grb_channel_read_stream_stats(ch, 0, &ss) == 0);
	CHECK(ss.disabled == 0 && ss.invariant_failures == 0);
	CHECK(ss.corrupt_packets == 0 && ss.corrupt_records == 0);
	CHECK(write_tick(&cfg_over, ch, NR - 1) == 0); /* still writable */

	/* The consuming reader skips it for good and counts it. */
	memset(seen, 0, sizeof(seen));
	eproto = 0;
	CHECK(grb_channel_finalize(ch) == 0);
	r = grb_reader_create(ch, 0, 0);
	CHECK(r != NULL);
	CHECK(read_packets(r, seen, &eproto) == -ENODATA);
	CHECK(eproto == 1);
	run = missing_run(seen, NR);
	CHECK(seen[NR - 1]);
	for (i = 0; i < NR; i++)
		delivered += seen[i];
	CHECK(grb_channel_read_stream_stats(ch, 0, &ss) == 0);
	CHECK(ss.corrupt_packets == 1 && ss.corrupt_records == run);
	CHECK(delivered + ss.lost[GRB_LOST_OVERWRITTEN] + ss.corrupt_records == NR);
	CHECK(ss.disabled == 0 && ss.invariant_failures == 0);
	CHECK(ss.lost[GRB_LOST_OVERWRITTEN] == 0 && ss.lost_total == 0);
	grb_reader_destroy(r);
	grb_channel_destroy(ch);
}

/*
 * The reader's spare sub-buffer is its own: another process that maps the
 * stream's memory file (read-write, as a consumer must) and writes the
 * consumer page's reader_spare cannot make the reader swap a sub-buffer
 * that a slot still uses into the ring, which would have two slots'
 * writers share one sub-buffer.
 */
/*
 * A channel of one stream of 4 sub-buffers of sb bytes in a memory file,
 * and another process's view of it: the whole file mapped read-write
 * (*map, *size bytes).  NULL, nothing left mapped, when either fails.
 */
static struct grb_channel *make_mapped(const struct grb_config *cfg, uint32_t sb, char **map,
				       size_t *size)
{
	struct grb_channel_attr a;
	struct grb_stream_shm shm;
	struct grb_channel *ch;

	grb_channel_attr_init(&a);
	a.subbuf_size = sb;
	a.subbuf_count = 4;
	a.backing = GRB_BACKING_MEMFD;
	ch = grb_channel_create(cfg, &a);
	CHECK(ch != NULL);
	if (!ch)
		return NULL;
	CHECK(grb_channel_stream_shm(ch, 0, &shm) == 0);
	*size = shm.size;
	*map = (char *)mmap(NULL, shm.size, PROT_READ | PROT_WRITE, MAP_SHARED, shm.fd, 0);
	CHECK(*map != MAP_FAILED);
	if (*map == MAP_FAILED) {
		grb_channel_destroy(ch);
		return NULL;
	}
	return ch;
}

static void test_spare_not_shared(void)
{
	static const struct grb_config cfg =
		GRB_NATIVE_CONFIG(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD);
	struct grb_stream_stats ss;
	struct grb_shm_stream *h;
	struct grb_shm_consumer *cons;
	struct grb_shm_slot *slots;
	struct grb_channel *ch;
	struct grb_reader *r;
	unsigned char seen[NR];
	uint64_t i, next = 0;
	int eproto = 0, round;
	size_t size;
	char *map;

	ch = make_mapped(&cfg, 128, &map, &size);
	if (!ch)
		return;
	h = (struct grb_shm_stream *)map;
	cons = (struct grb_shm_consumer *)(map + h->consumer_offset);
	slots = (struct grb_shm_slot *)(map + h->slots_offset);
	r = grb_reader_create(ch, 0, 0);
	CHECK(r != NULL);
	memset(seen, 0, sizeof(seen));
	for (round = 0; round < 8 && r; round++) {
		/* Two packets of records (16 bytes each, 4 per 128-byte packet
		 * after the header), so one packet waits delivered while the
		 * reader takes the other. */
		for (i = 0; i < 8; i++, next++)
			CHECK(grb_write_record(&cfg, ch, 0, &next, sizeof(next)) == 0);
		/* The lie: the spare is the sub-buffer the next slot's writers
		 * use. */
		cons->reader_spare = slots[(round + 1) % 4].id & GRB_ID_INDEX_MASK;
		read_packets(r, seen, &eproto);
	}
	CHECK(grb_channel_flush(ch) == 0);
	if (r)
		read_packets(r, seen, &eproto);
	CHECK(eproto == 0);
	CHECK(next <= sizeof(seen));
	for (i = 0; i < next; i++)
		if (!seen[i]) {
			fprintf(stderr, "spare: record %llu missing\n", (unsigned long long)i);
			CHECK(seen[i]);
			break;
		}
	CHECK(grb_channel_read_stream_stats(ch, 0, &ss) == 0);
	CHECK(ss.disabled == 0 && ss.invariant_failures == 0 && ss.lost_total == 0);
	if (r)
		grb_reader_destroy(r);
	munmap(map, size);
	grb_channel_destroy(ch);
}

/*
 * A slot's done forged to say the open packet is delivered, while the
 * write position is still inside it: the merge's readiness must not
 * believe it (the consumer would wake, find nothing and wait again at
 * once, for ever), and the records written after it are still read.
 */
static void test_forged_delivery_not_ready(void)
{
	static const struct grb_config cfg =
		GRB_NATIVE_CONFIG_WAKEUP(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD,
					 grb_clock_monotonic, GRB_WAKEUP_WRITER);
	const uint32_t sb = 256;
	struct grb_shm_stream *h;
	struct grb_shm_slot *slots;
	struct grb_channel *ch;
	struct grb_merge *m;
	struct grb_record rec;
	uint64_t i, got = 0;
	size_t size;
	char *map;

	ch = make_mapped(&cfg, sb, &map, &size);
	if (!ch)
		return;
	m = grb_merge_create(ch, 0);
	CHECK(m != NULL);
	if (!m)
		goto out;
	h = (struct grb_shm_stream *)map;
	slots = (struct grb_shm_slot *)(map + h->slots_offset);
	/* Two records in the first packet, read in place. */
	for (i = 0; i < 2; i++)
		CHECK(grb_write_record(&cfg, ch, 0, &i, sizeof(i)) == 0);
	while (grb_merge_next(m, &rec) == 0)
		got++;
	CHECK(got == 2);
	CHECK(grb_merge_arm(m) == 0);
	/* The lie: the packet at 0, still open, delivered. */
	__atomic_store_n(&slots[0].done, (uint64_t)sb, __ATOMIC_SEQ_CST);
	CHECK(grb_merge_arm(m) == 0);
	CHECK(grb_merge_wait(m, 20 * 1000 * 1000) == -ETIMEDOUT);
	CHECK(grb_merge_next(m, &rec) == -EAGAIN);
	/* A record written after it is seen. */
	CHECK(grb_write_record(&cfg, ch, 0, &i, sizeof(i)) == 0);
	CHECK(grb_merge_arm(m) == 1);
out:
	if (m)
		grb_merge_destroy(m);
	munmap(map, size);
	grb_channel_destroy(ch);
}

int main(void)
{
	test_geometry();
	test_clock_back_consuming();
	test_clock_back_snapshot();
	test_spare_not_shared();
	test_forged_delivery_not_ready();
	return check_exit("test_read_robust");
}
