// SPDX-License-Identifier: MIT
/*
 * ft_record.c - the ftrace client's records, what both libgrb-ftrace and a
 * kernel module that writes ftrace pages build (doc/kernel.md): decoding a
 * record for the core's readers, the rewrite of a record discarded after
 * reserve, and the encoding of event descriptions that a module publishes
 * on /dev/grb (doc/ftrace.md, "Event descriptions";
 * grb_ftrace_events_decode() reads it back).  Freestanding: no
 * allocation, no system call, nothing but <string.h>.
 */
#include <errno.h>
#include <string.h>

#include <grb/ftrace.h>

#include "ft_record.h"

static uint32_t rd32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/*
 * A record of the core is, in order: a TIME_STAMP or TIME_EXTEND (8
 * bytes, optional), a grb/lost_events data record (optional), the
 * event's data record; or, once discarded, the optional time word and one
 * padding record over the rest.
 */
int grb_ftrace_record_decode(const struct grb_config *cfg, void *client_data, const void *rec,
			     size_t avail, uint64_t prev_ts, struct grb_record *out)
{
	const unsigned char *b = (const unsigned char *)rec;
	uint64_t ts = prev_ts;
	size_t off = 0;
	int lost_seen = 0;

	(void)cfg;
	(void)client_data;
	for (;;) {
		uint32_t w, type, delta, a, hdr, plen;
		const unsigned char *payload;
		uint16_t id;

		if (avail - off < 4)
			return -EPROTO;
		w = rd32(b + off);
		type = w & 31u;
		delta = w >> 5;
		if (type == GRB_FTRACE_TYPE_TIME_STAMP || type == GRB_FTRACE_TYPE_TIME_EXTEND) {
			uint64_t v;

			if (off != 0 || avail < 8)
				return -EPROTO;
			v = (uint64_t)rd32(b + 4) << GRB_FTRACE_DELTA_BITS | delta;
			ts = type == GRB_FTRACE_TYPE_TIME_STAMP ? v : ts + v;
			off = 8;
			continue;
		}
		if (type == GRB_FTRACE_TYPE_PADDING) {
			if (avail - off < 8)
				return -EPROTO;
			a = rd32(b + off + 4);
			if (a < 4 || (a & 3) || a > avail - off - 4)
				return -EPROTO;
			ts += delta;
			out->data = rec;
			out->payload = b + off + 4;
			out->payload_len = 0;
			out->len = (uint32_t)(off + 4 + a);
			out->ts = ts;
			out->event_id = 0;
			out->discarded = 1;
			return 0;
		}
		if (type == 0) {
			if (avail - off < 8)
				return -EPROTO;
			a = rd32(b + off + 4);
			if (a < 4 || (a & 3))
				return -EPROTO;
			hdr = 8;
			plen = a - 4;
		} else {
			hdr = 4;
			plen = type * 4;
		}
		if (plen > avail - off - hdr || plen < GRB_FTRACE_COMMON_SIZE)
			return -EPROTO;
		ts += delta;
		payload = b + off + hdr;
		memcpy(&id, payload, 2);
		off += hdr + plen;
		if (id == GRB_FTRACE_ID_LOST && !lost_seen) {
			/* The losses before the event: its data record follows. */
			lost_seen = 1;
			continue;
		}
		out->data = rec;
		out->payload = payload;
		out->payload_len = plen;
		out->len = (uint32_t)off;
		out->ts = ts;
		out->event_id = id;
		out->discarded = 0;
		return 0;
	}
}

/*
 * Everything after the time word becomes one padding record (ftrace's
 * discarded event) that keeps the first record's delta: readers add it,
 * so the records after it keep their times.
 */
void grb_ftrace_record_discard(const struct grb_config *cfg, const struct grb_ctx *ctx)
{
	char *p = ctx->rec;
	uint32_t w, off = 0, type;

	(void)cfg;
	memcpy(&w, p, 4);
	type = w & 31u;
	if (type == GRB_FTRACE_TYPE_TIME_EXTEND || type == GRB_FTRACE_TYPE_TIME_STAMP) {
		off = 8;
		memcpy(&w, p + off, 4);
	}
	w = (w & ~31u) | GRB_FTRACE_TYPE_PADDING;
	memcpy(p + off, &w, 4);
	w = ctx->slot_len - off - 4;
	memcpy(p + off + 4, &w, 4);
}

/* ------------------------------------------------------------------------ */
/* The encoding of event descriptions. */

struct wbuf {
	unsigned char *p;
	uint32_t len, cap;
	int over;
};

static void put(struct wbuf *b, const void *v, uint32_t n)
{
	if (b->over || n > b->cap - b->len) {
		b->over = 1;
		return;
	}
	if (n) /* a sizing pass has no buffer: memcpy takes no NULL */
		memcpy(b->p + b->len, v, n);
	b->len += n;
}

/* A string: u16 length and its bytes, or 0xffff for none. */
static void put_str(struct wbuf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	uint16_t l = s ? (uint16_t)n : FT_DESC_NO_STRING;

	if (n >= FT_DESC_NO_STRING) {
		b->over = 1;
		return;
	}
	put(b, &l, 2);
	put(b, s, (uint32_t)n);
}

int _grb_ftrace_events_encode(const struct grb_ftrace_event *const *events, uint32_t nr, void *buf,
			      uint32_t cap, uint32_t *len)
{
	struct wbuf b = { .p = (unsigned char *)buf, .len = 0, .cap = cap, .over = 0 };
	uint32_t i, j;

	for (i = 0; i < nr; i++) {
		const struct grb_ftrace_event *e = events[i];

		put(&b, &e->id, 4);
		put(&b, &e->nr_fields, 4);
		put_str(&b, e->system);
		put_str(&b, e->name);
		put_str(&b, e->print_fmt);
		for (j = 0; j < e->nr_fields; j++) {
			const struct grb_ftrace_field *f = &e->fields[j];
			uint32_t kind = (uint32_t)f->kind;

			put(&b, &kind, 4);
			put(&b, &f->len, 4);
			put_str(&b, f->name);
		}
	}
	*len = b.len;
	return b.over ? -E2BIG : 0;
}
