// SPDX-License-Identifier: MIT
/*
 * ctf_record.c - the CTF client's records, what both libgrb-ctf and a
 * kernel module that writes CTF build (doc/kernel.md): decoding a record
 * (it walks its event's fields), the rewrite of a record discarded after
 * reserve into filler events, and the encoding of event descriptions that
 * a recording session carries (doc/session.md, "Event descriptions") and
 * that a module publishes on /dev/grb.  Freestanding: no allocation, no
 * system call, nothing but <string.h>.
 */
#include <errno.h>
#include <string.h>

#include <grb/ctf.h>

#include "ctf_internal.h"

uint32_t _grb_ctf_type_size(enum grb_ctf_type t)
{
	switch (t) {
	case GRB_CTF_U8:
	case GRB_CTF_S8:
		return 1;
	case GRB_CTF_U16:
	case GRB_CTF_S16:
		return 2;
	case GRB_CTF_U32:
	case GRB_CTF_S32:
	case GRB_CTF_F32:
		return 4;
	case GRB_CTF_U64:
	case GRB_CTF_S64:
	case GRB_CTF_F64:
		return 8;
	default:
		return 0;
	}
}

/* Length of the fields of e at p (avail bytes); 0 and *ok = 0 if corrupt. */
static uint64_t fields_len(const struct grb_ctf_event_desc *e, const unsigned char *p, size_t avail,
			   int *ok)
{
	uint64_t off = 0;
	uint32_t i;

	*ok = 1;
	for (i = 0; i < e->nr_fields; i++) {
		const struct grb_ctf_field_desc *f = &e->fields[i];
		uint64_t n;

		switch (f->type) {
		case GRB_CTF_STRING: {
			const unsigned char *z =
				off < avail ?
					(const unsigned char *)memchr(p + off, 0, avail - off) :
					NULL;

			if (!z) {
				*ok = 0;
				return 0;
			}
			n = (uint64_t)(z - (p + off)) + 1;
			break;
		}
		case GRB_CTF_ARRAY:
			n = (uint64_t)f->len * _grb_ctf_type_size(f->elem);
			break;
		case GRB_CTF_SEQUENCE: {
			uint32_t cnt;

			if (avail - off < 4 || off > avail) {
				*ok = 0;
				return 0;
			}
			memcpy(&cnt, p + off, 4);
			if (cnt > f->len) {
				*ok = 0;
				return 0;
			}
			n = 4 + (uint64_t)cnt * _grb_ctf_type_size(f->elem);
			break;
		}
		case GRB_CTF_ENUM:
			n = _grb_ctf_type_size(f->elem);
			break;
		default:
			n = _grb_ctf_type_size(f->type);
			break;
		}
		if (off > avail || n > avail - off) {
			*ok = 0;
			return 0;
		}
		off += n;
	}
	return off;
}

/* Decode a record whose header is followed by ctx_len bytes of event
 * context (0, or the ids). */
static int decode(void *client_data, const void *rec, size_t avail, uint64_t prev_ts,
		  uint32_t ctx_len, struct grb_record *out)
{
	const struct grb_ctf_chan_data *d = (const struct grb_ctf_chan_data *)client_data;
	const unsigned char *b = (const unsigned char *)rec;
	uint32_t id, hdr;
	uint64_t ts, len;
	int ok;

	if (avail < GRB_CTF_COMPACT_SIZE + ctx_len)
		return -EPROTO;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	id = b[0] & 31u;
#else
	id = b[0] >> 3;
#endif
	if (id == GRB_CTF_ID_EXTENDED) {
		if (avail < GRB_CTF_EXTENDED_SIZE + ctx_len)
			return -EPROTO;
		memcpy(&id, b + 1, 4);
		memcpy(&ts, b + 5, 8);
		hdr = GRB_CTF_EXTENDED_SIZE + ctx_len;
	} else {
		uint32_t w, low;

		memcpy(&w, b, 4);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		low = w >> 5;
#else
		low = w & 0x7ffffffu;
#endif
		ts = (prev_ts & ~0x7ffffffull) | low;
		if (low < (prev_ts & 0x7ffffffull))
			ts += 1ull << 27;
		hdr = GRB_CTF_COMPACT_SIZE + ctx_len;
	}
	out->discarded = 0;
	if (id == GRB_CTF_ID_DISCARDED_EMPTY) {
		len = 0;
		out->discarded = 1;
	} else if (id == GRB_CTF_ID_DISCARDED) {
		if (avail < hdr + 1u)
			return -EPROTO;
		len = 1u + b[hdr];
		out->discarded = 1;
	} else {
		const struct grb_ctf_event_desc *e =
			d && d->by_id && id <= GRB_CTF_MAX_EVENT_ID ? d->by_id[id] : NULL;

		if (!e)
			return -EPROTO;
		len = fields_len(e, b + hdr, avail - hdr, &ok);
		if (!ok)
			return -EPROTO;
	}
	if (hdr + len > avail)
		return -EPROTO;
	out->data = rec;
	out->payload = b + hdr;
	out->len = (uint32_t)(hdr + len);
	out->payload_len = (uint32_t)len;
	out->ts = ts;
	out->event_id = id;
	return 0;
}

int grb_ctf_record_decode(const struct grb_config *cfg, void *client_data, const void *rec,
			  size_t avail, uint64_t prev_ts, struct grb_record *out)
{
	(void)cfg;
	return decode(client_data, rec, avail, prev_ts, 0, out);
}

int grb_ctf_record_decode_ids(const struct grb_config *cfg, void *client_data, const void *rec,
			      size_t avail, uint64_t prev_ts, struct grb_record *out)
{
	(void)cfg;
	return decode(client_data, rec, avail, prev_ts, GRB_CTF_IDS_SIZE, out);
}

/*
 * Rewrite the reserved bytes as a chain of filler events with the record's
 * timestamp: "grb:discarded" (header, u8 n, n bytes) and, for a 4-byte
 * remainder, "grb:discarded_empty".  The first keeps the record's header
 * form (an extended header stays extended: its timestamp may be far from the
 * previous one); the others are compact (delta 0).  ctx_len bytes of event
 * context follow each header: ids (the writer's), or none.
 */
void _grb_ctf_discard(const struct grb_ctx *ctx, uint32_t ctx_len, const void *ids)
{
	char *p = ctx->rec;
	uint64_t left = ctx->slot_len;
	int extended = ctx->header_len == GRB_CTF_EXTENDED_SIZE + ctx_len;

	while (left) {
		uint32_t hdr = (extended ? GRB_CTF_EXTENDED_SIZE : GRB_CTF_COMPACT_SIZE) + ctx_len;
		uint64_t take = left < hdr + 1u + 255u ? left : hdr + 1u + 255u;

		if (left - take && left - take < GRB_CTF_COMPACT_SIZE + ctx_len)
			take = left - GRB_CTF_COMPACT_SIZE - ctx_len;
		if (take == hdr) {
			_grb_ctf_write_header(p, GRB_CTF_ID_DISCARDED_EMPTY, ctx->ts, extended);
		} else {
			_grb_ctf_write_header(p, GRB_CTF_ID_DISCARDED, ctx->ts, extended);
			p[hdr] = (char)(take - hdr - 1);
			memset(p + hdr + 1, 0, take - hdr - 1);
		}
		if (ctx_len)
			memcpy(p + hdr - ctx_len, ids, ctx_len);
		p += take;
		left -= take;
		extended = 0;
	}
}

void grb_ctf_record_discard(const struct grb_config *cfg, const struct grb_ctx *ctx)
{
	(void)cfg;
	_grb_ctf_discard(ctx, 0, NULL);
}

/* ------------------------------------------------------------------------ */
/* The encoding of event descriptions (doc/session.md, "Event descriptions") */

struct wbuf {
	unsigned char *p;
	uint32_t len, cap;
	int over;
};

static void put(struct wbuf *b, const void *v, size_t n)
{
	if (b->over || n > b->cap - b->len) {
		b->over = 1;
		return;
	}
	memcpy(b->p + b->len, v, n);
	b->len += (uint32_t)n;
}

static void put_str(struct wbuf *b, const char *s)
{
	size_t n = strlen(s);
	uint16_t l = (uint16_t)n;

	if (n > UINT16_MAX) {
		b->over = 1;
		return;
	}
	put(b, &l, 2);
	put(b, s, n);
}

static int events_put(const struct grb_ctf_event_desc *const *events, uint32_t nr, struct wbuf *b)
{
	uint32_t i, j, k;

	for (i = 0; i < nr; i++) {
		const struct grb_ctf_event_desc *e = events[i];
		uint32_t nf = e->nr_fields;

		put(b, &e->id, 4);
		put(b, &nf, 4);
		put_str(b, e->name);
		for (j = 0; j < nf; j++) {
			const struct grb_ctf_field_desc *f = &e->fields[j];
			uint8_t type = (uint8_t)f->type, elem = (uint8_t)f->elem;
			uint32_t ne = f->type == GRB_CTF_ENUM && f->enm ? f->enm->nr_entries : 0;

			put(b, &type, 1);
			put(b, &elem, 1);
			put(b, &f->len, 4);
			put(b, &ne, 4);
			put_str(b, f->name);
			for (k = 0; k < ne; k++) {
				const struct grb_ctf_enum_entry *x = &f->enm->entries[k];

				put(b, &x->start, 8);
				put(b, &x->end, 8);
				put_str(b, x->label);
			}
		}
	}
	return b->over ? -E2BIG : 0;
}

int _grb_ctf_events_encode(const struct grb_ctf_event_desc *const *events, uint32_t nr, void *buf,
			   uint32_t cap, uint32_t *len)
{
	struct wbuf b = { .p = (unsigned char *)buf, .len = 0, .cap = cap, .over = 0 };
	int ret = events_put(events, nr, &b);

	*len = b.len;
	return ret;
}
