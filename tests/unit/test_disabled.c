// SPDX-License-Identifier: MIT
/*
 * test_disabled.c - a stream whose shared state cannot be is disabled, and
 * every record after that is refused and counted (GRB_LOST_DISABLED).
 *
 * An overwrite-mode channel (one global stream, atomic sync; per-thread
 * streams, single writer) fills its ring; then the consumer page is made
 * to lie, claiming more records returned in place from the oldest packet
 * than it holds.  The opener that overwrites that packet finds the
 * invariant broken ("overwritten sub-buffer was never delivered"): the
 * stream counts one invariant failure and is disabled.  From the next
 * slow-path reservation on, every record is refused with -EIO and counted
 * `disabled`, exactly once each; the other counters do not move.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <grb/grb.h>
#include <grb/native.h>

#include "check.h"

#define SB 4096u
#define NSB 4u

static const struct grb_config cfg_global =
	GRB_NATIVE_CONFIG(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_OVERWRITE);
static const struct grb_config cfg_thread =
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_MODE_OVERWRITE);

static int write_one(const struct grb_config *cfg, struct grb_channel *ch, uint64_t v)
{
	struct grb_ctx ctx = { .payload_len = sizeof(v) };
	int ret = grb_reserve(cfg, ch, &ctx);

	if (ret == 0) {
		grb_write(&ctx, &v, sizeof(v));
		grb_commit(cfg, &ctx);
	}
	return ret;
}

static void run(const char *name, const struct grb_config *cfg)
{
	struct grb_channel_attr attr;
	struct grb_stream_stats before, after;
	struct grb_channel *ch;
	uint64_t i, ok = 0, refused = 0;
	int ret = 0;

	grb_channel_attr_init(&attr);
	attr.subbuf_size = SB;
	attr.subbuf_count = NSB;
	attr.nr_streams = 1;
	ch = grb_channel_create(cfg, &attr);
	CHECK(ch != NULL);
	if (!ch)
		return;
	/* About half the ring (16-byte records): packet 0 is delivered, and
	 * the wrap that overwrites it comes after the lie below. */
	for (i = 0; i < (uint64_t)NSB * SB / 32; i++)
		CHECK(write_one(cfg, ch, i) == 0);
	CHECK(grb_channel_read_stream_stats(ch, 0, &before) == 0);
	CHECK(before.invariant_failures == 0 && before.disabled == 0 && before.lost_total == 0);
	/* The lie: more records returned in place from packet 0 than it
	 * holds (k = 4000, of at most 255 16-byte records in 4 KiB). */
	__atomic_store_n(&ch->streams[0].cons->consumed, 4000, __ATOMIC_RELAXED);
	/* The writers go on until the stream refuses them. */
	for (i = 0; i < 10 * (uint64_t)NSB * SB && ret != -EIO; i++) {
		ret = write_one(cfg, ch, i);
		if (ret == 0)
			ok++;
	}
	CHECK(ret == -EIO);
	refused = ret == -EIO;
	for (i = 0; i < 100; i++) {
		ret = write_one(cfg, ch, i);
		CHECK(ret == -EIO);
		refused += ret == -EIO;
	}
	CHECK(grb_channel_read_stream_stats(ch, 0, &after) == 0);
	printf("test_disabled: %s: %llu records after the lie, then %llu refused: %llu "
	       "invariant failure(s), disabled %u, lost disabled %llu\n",
	       name, (unsigned long long)ok, (unsigned long long)refused,
	       (unsigned long long)after.invariant_failures, after.disabled,
	       (unsigned long long)after.lost[GRB_LOST_DISABLED]);
	CHECK(after.invariant_failures == 1);
	CHECK(after.disabled == 1);
	CHECK(after.lost[GRB_LOST_DISABLED] == refused);
	CHECK(after.lost_total == refused);
	/* Nothing was overwritten: the push that found the lie gave up. */
	CHECK(after.lost[GRB_LOST_OVERWRITTEN] == 0);
	grb_channel_destroy(ch);
}

int main(void)
{
	run("global atomic", &cfg_global);
	run("per-thread single writer", &cfg_thread);
	return check_exit("test_disabled");
}
