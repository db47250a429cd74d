// SPDX-License-Identifier: MIT
/*
 * test_ctf.c - the CTF client without files: event validation messages,
 * typed writes decoded back through the core's iterator (every field kind,
 * compact and extended headers, 27-bit wraps), the discarded-record
 * fillers, and the metadata text.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grb/grb.h>
#include <grb/ctf.h>

#include "check.h"

static uint64_t now_ts = 1000;
static uint64_t test_clock(void)
{
	return now_ts;
}

static const struct grb_config cfg =
	GRB_CTF_CONFIG_CLOCK(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD, test_clock);

GRB_CTF_ENUM(states, { "IDLE", 0, 0 }, { "BUSY", 1, 9 })

#define ALL_FIELDS(F)        \
	F(u8, a8)            \
	F(u16, a16)          \
	F(u32, a32)          \
	F(u64, a64)          \
	F(s8, b8)            \
	F(s16, b16)          \
	F(s32, b32)          \
	F(s64, b64)          \
	F(f32, f)            \
	F(f64, d)            \
	F(string, msg, 32)   \
	F(array_u16, arr, 3) \
	F(seq_u32, seq, 5)   \
	F(enum_u8, st, states)
GRB_CTF_EVENT(ev_all, "test:all", 3, ALL_FIELDS)

#define ONE_FIELD(F) F(u32, x)
GRB_CTF_EVENT(ev_big, "test:big_id", 1000, ONE_FIELD)
GRB_CTF_EVENT(ev_dup, "test:dup", 3, ONE_FIELD)
GRB_CTF_EVENT(ev_reserved, "test:reserved", 30, ONE_FIELD)
#define BAD_FIELD(F) F(u32, integer)
GRB_CTF_EVENT(ev_kw, "test:kw", 4, BAD_FIELD)
GRB_CTF_EVENT(ev_badname, "test:bad-name", 5, ONE_FIELD)
#define HUGE_FIELD(F) F(string, text, 100000)
GRB_CTF_EVENT(ev_huge, "test:huge", 6, HUGE_FIELD)
#define UNDERSCORE_FIELDS(F) F(u32, x) F(u32, _x)
GRB_CTF_EVENT(ev_under, "test:under", 7, UNDERSCORE_FIELDS)
#define SEQLEN_FIELDS(F) F(seq_u8, data, 4) F(u32, _data_len)
GRB_CTF_EVENT(ev_seqlen, "test:seqlen", 8, SEQLEN_FIELDS)

static const struct grb_ctf_event_desc *good[] = { &ev_all_event, &ev_big_event };

static void expect_invalid(const struct grb_ctf_event_desc *e, const char *needle1,
			   const char *needle2)
{
	const struct grb_ctf_event_desc *list[] = { &ev_all_event, e };

	CHECK(grb_ctf_validate_events(list, 2, 65536) == -EINVAL);
	CHECK(strstr(grb_last_error(), needle1) != NULL);
	if (needle2)
		CHECK(strstr(grb_last_error(), needle2) != NULL);
	if (failures)
		fprintf(stderr, "  message: %s\n", grb_last_error());
}

static void test_validation(void)
{
	CHECK(grb_ctf_validate_events(good, 2, 65536) == 0);
	expect_invalid(&ev_dup_event, "test:dup", "id 3");
	expect_invalid(&ev_reserved_event, "test:reserved", "reserved");
	expect_invalid(&ev_kw_event, "test:kw", "integer");
	expect_invalid(&ev_badname_event, "test:bad-name", NULL);
	expect_invalid(&ev_huge_event, "test:huge", "text");
	expect_invalid(&ev_under_event, "test:under", "_x");
	expect_invalid(&ev_seqlen_event, "test:seqlen", "data_len");
}

static struct grb_ctf_chan_data chan_data;
static const struct grb_ctf_event_desc *by_id[GRB_CTF_MAX_EVENT_ID + 1];

static struct grb_channel *make_channel(void)
{
	struct grb_channel_attr a;

	grb_channel_attr_init(&a);
	a.subbuf_size = 4096;
	a.subbuf_count = 4;
	memset(&chan_data, 0, sizeof(chan_data));
	memset(chan_data.uuid, 0xab, 16);
	chan_data.events = good;
	chan_data.nr_events = 2;
	by_id[3] = &ev_all_event;
	by_id[1000] = &ev_big_event;
	chan_data.by_id = by_id;
	a.client_data = &chan_data;
	return grb_channel_create(&cfg, &a);
}

static void test_round_trip(void)
{
	struct grb_channel *ch = make_channel();
	uint16_t arr[3] = { 1, 0xffff, 3 };
	uint32_t seq[5] = { 10, 20, 30, 40, 50 };
	uint64_t want_ts[8];
	struct grb_iter *it;
	struct grb_record rec;
	int i, n = 0;

	CHECK(ch != NULL);
	for (i = 0; i < 8; i++) {
		/* steps: small, just under 2^27, just over, a huge gap */
		static const uint64_t step[8] = { 1, (1u << 27) - 1, (1u << 27) + 1, 5, 1ull << 40,
						  3, 1u << 26,	     1u << 26 };

		now_ts += step[i];
		want_ts[i] = now_ts;
		if (i == 5) {
			CHECK(ev_big_write(&cfg, ch, 77) == 0);
			continue;
		}
		CHECK(ev_all_write(&cfg, ch, 200, 60000, 4000000000u, UINT64_MAX, -100, -30000,
				   INT32_MIN, INT64_MIN, 1.5f, -2.25, i == 2 ? "" : "hello grb",
				   arr, seq, (uint32_t)(i % 6), 7) == 0);
	}
	/* Too long: refused whole and counted. */
	CHECK(ev_all_write(&cfg, ch, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
			   "this string is longer than thirty-two bytes", arr, seq, 1,
			   0) == -E2BIG);
	CHECK(ev_all_write(&cfg, ch, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, "x", arr, seq, 6, 0) == -E2BIG);
	grb_channel_finalize(ch);
	it = grb_iter_create(ch, 0, 0);
	while (grb_iter_next(it, &rec) == 0) {
		const unsigned char *p = (const unsigned char *)rec.payload;

		CHECK(n < 8 && rec.ts == want_ts[n]);
		if (n == 5) {
			CHECK(rec.event_id == 1000 && rec.payload_len == 4);
		} else {
			uint64_t a64;
			int64_t b64;
			double d;

			CHECK(rec.event_id == 3);
			CHECK(p[0] == 200);
			memcpy(&a64, p + 7, 8);
			CHECK(a64 == UINT64_MAX);
			memcpy(&b64, p + 22, 8);
			CHECK(b64 == INT64_MIN);
			memcpy(&d, p + 34, 8);
			CHECK(d == -2.25);
			CHECK(!strcmp((const char *)p + 42, n == 2 ? "" : "hello grb"));
		}
		n++;
	}
	CHECK(n == 8);
	{
		struct grb_channel_stats st;

		grb_channel_read_stats(ch, &st);
		CHECK(st.lost[GRB_LOST_TOO_BIG] == 2);
	}
	grb_iter_destroy(it);
	grb_channel_destroy(ch);
}

/* Nested reservations discarded out of order become filler events that
 * the decoder skips; the records around them stay intact. */
static void test_discard_fillers(void)
{
	struct grb_channel *ch = make_channel();
	struct grb_ctx outer, inner;
	struct grb_iter *it;
	struct grb_record rec;
	uint32_t x = 5, lens[] = { 0, 1, 3, 9, 255, 256, 300, 600 };
	unsigned i;
	int n = 0;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		outer.event_id = i % 2 ? 1000 : 2; /* id 2 is unknown: must be discarded */
		outer.payload_len = lens[i];
		if (grb_reserve(&cfg, ch, &outer) != 0) {
			CHECK(0);
			continue;
		}
		memset(outer.wp, 0x5a, lens[i]);
		inner.event_id = 1000;
		inner.payload_len = 4;
		if (grb_reserve(&cfg, ch, &inner) != 0) {
			CHECK(0);
			grb_discard(&cfg, &outer);
			continue;
		}
		grb_write(&inner, &x, 4);
		grb_commit(&cfg, &inner);
		grb_discard(&cfg, &outer); /* not the last one: rewritten as fillers */
		x++;
	}
	grb_channel_finalize(ch);
	it = grb_iter_create(ch, 0, 0);
	while (grb_iter_next(it, &rec) == 0) {
		uint32_t v;

		CHECK(rec.event_id == 1000 && rec.payload_len == 4);
		memcpy(&v, rec.payload, 4);
		CHECK(v == 5u + (uint32_t)n);
		n++;
	}
	CHECK(n == (int)(sizeof(lens) / sizeof(lens[0])));
	grb_iter_destroy(it);
	grb_channel_destroy(ch);
}

static void test_metadata(void)
{
	struct grb_ctf_trace_attr a;
	uint8_t uuid[16] = { 0x12, 0x34 };
	char *m;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	grb_channel_attr_init(&a.chan);
	a.events = good;
	a.nr_events = 2;
	a.hostname = "host\"quote";
	m = grb_ctf_metadata(&a, uuid);
	CHECK(m != NULL);
	if (!m)
		return;
	CHECK(!strncmp(m, "/* CTF 1.8 */", 13));
	CHECK(strstr(m, "uuid = \"12340000-0000-0000-0000-000000000000\"") != NULL);
	CHECK(strstr(m, "name = \"test:all\";\n\tid = 3;") != NULL);
	CHECK(strstr(m, "uint32_t _seq_len;\n\t\tuint32_t seq[_seq_len];") != NULL);
	CHECK(strstr(m, "enum : uint8_t { \"IDLE\" = 0, \"BUSY\" = 1 ... 9 } st;") != NULL);
	CHECK(strstr(m, "hostname = \"host_quote\"") != NULL);
	free(m);
}

int main(void)
{
	test_validation();
	test_round_trip();
	test_discard_fillers();
	test_metadata();
	return check_exit("test_ctf");
}
