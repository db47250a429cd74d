// SPDX-License-Identifier: MIT
/*
 * test_record_lost.c - the losses the iterators and the merge hand out with
 * each record (struct grb_record.lost: what the stream counted lost since
 * the stream's previous record was read).  A discard-mode channel fills,
 * losing records; a consuming iterator (or the merge) reads everything;
 * the records' counts add up to the stream's losses exactly, each loss
 * told once, in two rounds.
 */
#include <errno.h>
#include <stdio.h>

#include <grb/grb.h>
#include <grb/native.h>

#include "check.h"

#define SB 4096u
#define NSB 4u
#define PER_ROUND 3000u

static const struct grb_config cfg =
	GRB_NATIVE_CONFIG(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD);

static void write_round(struct grb_channel *ch, uint64_t *written)
{
	uint32_t i;

	for (i = 0; i < PER_ROUND; i++, (*written)++) {
		struct grb_ctx ctx = { .payload_len = sizeof(*written) };

		if (grb_reserve(&cfg, ch, &ctx) == 0) {
			grb_write(&ctx, written, sizeof(*written));
			grb_commit(&cfg, &ctx);
		}
	}
}

static uint64_t lost_total(struct grb_channel *ch)
{
	struct grb_channel_stats st;

	CHECK(grb_channel_read_stats(ch, &st) == 0);
	return st.lost_total;
}

static void run(int merge)
{
	const char *name = merge ? "merge" : "iterator";
	struct grb_channel_attr attr;
	struct grb_channel *ch;
	struct grb_iter *it = NULL;
	struct grb_merge *m = NULL;
	uint64_t written = 0, read = 0, told = 0;
	int round, ret;

	grb_channel_attr_init(&attr);
	attr.subbuf_size = SB;
	attr.subbuf_count = NSB;
	ch = grb_channel_create(&cfg, &attr);
	CHECK(ch != NULL);
	if (!ch)
		return;
	if (merge)
		m = grb_merge_create(ch, 0);
	else
		it = grb_iter_create(ch, 0, 0);
	CHECK(merge ? m != NULL : it != NULL);
	for (round = 0; round < 2 && (m || it); round++) {
		struct grb_record rec;
		uint64_t lost;

		write_round(ch, &written);
		lost = lost_total(ch);
		CHECK(lost > told); /* the ring was full: this round lost records */
		while ((ret = merge ? grb_merge_next(m, &rec) : grb_iter_next(it, &rec)) == 0) {
			read++;
			told += rec.lost;
		}
		CHECK(ret == -EAGAIN);
		printf("test_record_lost: %s, round %d: %llu written, %llu read, %llu lost, "
		       "%llu told with the records\n",
		       name, round, (unsigned long long)written, (unsigned long long)read,
		       (unsigned long long)lost, (unsigned long long)told);
		CHECK(told == lost);
		CHECK(read + lost == written);
	}
	if (m)
		grb_merge_destroy(m);
	if (it)
		grb_iter_destroy(it);
	grb_channel_destroy(ch);
}

int main(void)
{
	run(0);
	run(1);
	return check_exit("test_record_lost");
}
