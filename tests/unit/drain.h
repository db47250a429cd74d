/* SPDX-License-Identifier: MIT */
/*
 * drain.h - reads back what a unit test wrote: every delivered record of
 * stream 0, or of every stream merged, each an 8-byte payload.
 */
#ifndef GRB_TEST_DRAIN_H
#define GRB_TEST_DRAIN_H

#include <errno.h>
#include <string.h>

#include <grb/grb.h>

#include "check.h"

/* Drains stream 0 into out[] (at most max values); returns the count. */
static inline int drain(struct grb_channel *ch, uint32_t flags, uint64_t *out, int max)
{
	struct grb_iter *it = grb_iter_create(ch, 0, flags);
	struct grb_record rec;
	int n = 0, ret;

	CHECK(it != NULL);
	if (!it)
		return 0;
	while ((ret = grb_iter_next(it, &rec)) == 0) {
		CHECK(rec.payload_len == 8);
		if (n < max)
			memcpy(&out[n], rec.payload, 8);
		n++;
	}
	CHECK(ret == -EAGAIN || ret == -ENODATA);
	grb_iter_destroy(it);
	return n;
}

/* Takes the delivered packets of stream 0 (whole sub-buffers, never the
 * open one) into out[] (at most max values); returns the record count. */
static inline int drain_packets(struct grb_channel *ch, uint64_t *out, int max)
{
	struct grb_reader *r = grb_reader_create(ch, 0, 0);
	struct grb_packet pkt;
	struct grb_packet_cursor cur;
	struct grb_record rec;
	int n = 0, ret;

	CHECK(r != NULL);
	if (!r)
		return 0;
	while ((ret = grb_reader_get_next(r, &pkt)) == 0) {
		grb_packet_cursor_init(&pkt, &cur);
		while (grb_packet_record_next(r, &pkt, &cur, &rec) == 0) {
			CHECK(rec.payload_len == 8);
			if (n < max)
				memcpy(&out[n], rec.payload, 8);
			n++;
		}
		grb_reader_put(r, &pkt);
	}
	CHECK(ret == -EAGAIN || ret == -ENODATA);
	grb_reader_destroy(r);
	return n;
}

/* Drains every stream, merged, into out[] (at most max values); returns
 * the count. */
static inline int drain_merged(struct grb_channel *ch, uint64_t *out, int max)
{
	struct grb_merge *m = grb_merge_create(ch, 0);
	struct grb_record rec;
	int n = 0, ret;

	CHECK(m != NULL);
	if (!m)
		return 0;
	while ((ret = grb_merge_next(m, &rec)) == 0) {
		CHECK(rec.payload_len == 8);
		if (n < max)
			memcpy(&out[n], rec.payload, 8);
		n++;
	}
	CHECK(ret == -EAGAIN || ret == -ENODATA);
	grb_merge_destroy(m);
	return n;
}

#endif /* GRB_TEST_DRAIN_H */
