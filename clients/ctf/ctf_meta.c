// SPDX-License-Identifier: MIT
/*
 * ctf_meta.c - the CTF client's description side: event validation, TSDL
 * metadata, record decoding (walks an event's fields) and the rewrite of a
 * record discarded after reserve into filler events.
 *
 * Uses the public API, plus the environment layer's error reporting.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grb/client.h>
#include <grb/ctf.h>

#include "ctf_internal.h"

static const char *const tsdl_keywords[] = {
	"align",  "callsite", "const",	   "char",	     "clock",	 "double",
	"enum",	  "env",      "event",	   "floating_point", "float",	 "integer",
	"int",	  "long",     "short",	   "signed",	     "stream",	 "string",
	"struct", "trace",    "typealias", "typedef",	     "unsigned", "variant",
	"void",	  "_Bool",    "_Complex",  "_Imaginary",     NULL,
};

static int is_ident(const char *s, size_t n)
{
	size_t i;
	int k;

	if (!n || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
		return 0;
	for (i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	for (k = 0; tsdl_keywords[k]; k++)
		if (strlen(tsdl_keywords[k]) == n && !memcmp(tsdl_keywords[k], s, n))
			return 0;
	return 1;
}

/* "ident" or "provider:ident". */
static int is_event_name(const char *s)
{
	const char *colon = strchr(s, ':');

	if (!colon)
		return is_ident(s, strlen(s));
	return is_ident(s, (size_t)(colon - s)) && is_ident(colon + 1, strlen(colon + 1));
}

static uint32_t type_size(enum grb_ctf_type t)
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

static int is_int(enum grb_ctf_type t)
{
	return t >= GRB_CTF_U8 && t <= GRB_CTF_S64;
}

#define BAD(...)                            \
	do {                                \
		grb_error_set(__VA_ARGS__); \
		return -EINVAL;             \
	} while (0)

/* The name readers show: babeltrace2 drops one leading underscore. */
static const char *shown(const char *name)
{
	return name[0] == '_' ? name + 1 : name;
}

/* Whether plain field b shows as the length field "_<a>_len" of sequence a. */
static int seq_len_clash(const struct grb_ctf_field_desc *a, const struct grb_ctf_field_desc *b)
{
	size_t n = strlen(a->name);
	const char *bn = shown(b->name);

	if (a->type != GRB_CTF_SEQUENCE)
		return 0;
	/* Two sequences' length fields differ as their names do. */
	return strlen(bn) == n + 4 && !strncmp(bn, a->name, n) && !strcmp(bn + n, "_len");
}

static int validate_field(const struct grb_ctf_event_desc *e, const struct grb_ctf_field_desc *f,
			  uint64_t *max_size)
{
	uint32_t es;

	if (!f->name || !is_ident(f->name, strlen(f->name)))
		BAD("event %s: field name \"%s\" is not a CTF identifier", e->name,
		    f->name ? f->name : "(null)");
	switch (f->type) {
	case GRB_CTF_STRING:
		if (f->len < 1 || f->len > (1u << 30))
			BAD("event %s: field %s: string maximum %u must be 1 to 2^30 bytes",
			    e->name, f->name, f->len);
		*max_size += f->len;
		return 0;
	case GRB_CTF_ARRAY:
	case GRB_CTF_SEQUENCE:
		es = type_size(f->elem);
		if (!is_int(f->elem))
			BAD("event %s: field %s: elements must be integers", e->name, f->name);
		if (f->len < 1 || f->len > (1u << 24))
			BAD("event %s: field %s: length %u must be 1 to 2^24", e->name, f->name,
			    f->len);
		*max_size += (uint64_t)f->len * es + (f->type == GRB_CTF_SEQUENCE ? 4 : 0);
		return 0;
	case GRB_CTF_ENUM: {
		uint32_t i;
		int64_t lo = 0, hi;

		if (f->elem < GRB_CTF_U8 || f->elem > GRB_CTF_U32 || !f->enm || !f->enm->nr_entries)
			BAD("event %s: field %s: an enumeration needs a u8/u16/u32 type and labels",
			    e->name, f->name);
		hi = (int64_t)((1ull << (8 * type_size(f->elem))) - 1);
		for (i = 0; i < f->enm->nr_entries; i++) {
			const struct grb_ctf_enum_entry *x = &f->enm->entries[i];

			if (!x->label || !x->label[0] || strchr(x->label, '"') ||
			    strchr(x->label, '\\'))
				BAD("event %s: field %s: enumeration label %u is empty or quotes",
				    e->name, f->name, i);
			if (x->start > x->end || x->start < lo || x->end > hi)
				BAD("event %s: field %s: label %s range [%lld, %lld] is not within "
				    "the type",
				    e->name, f->name, x->label, (long long)x->start,
				    (long long)x->end);
		}
		*max_size += type_size(f->elem);
		return 0;
	}
	default:
		if (!type_size(f->type))
			BAD("event %s: field %s: unknown type %d", e->name, f->name, (int)f->type);
		*max_size += type_size(f->type);
		return 0;
	}
}

int grb_ctf_validate_events(const struct grb_ctf_event_desc *const *events, uint32_t nr,
			    uint32_t subbuf_size)
{
	uint64_t room = subbuf_size > GRB_CTF_PACKET_HEADER_SIZE + GRB_CTF_EXTENDED_SIZE ?
				subbuf_size - GRB_CTF_PACKET_HEADER_SIZE - GRB_CTF_EXTENDED_SIZE :
				0;
	uint32_t i, j, k;

	if (!events && nr)
		BAD("events: NULL with nr_events %u", nr);
	for (i = 0; i < nr; i++) {
		const struct grb_ctf_event_desc *e = events[i];
		uint64_t max = 0;

		if (!e || !e->name)
			BAD("event %u: no description or no name", i);
		if (!is_event_name(e->name))
			BAD("event \"%s\": not a CTF identifier (or provider:identifier)", e->name);
		if (e->id > GRB_CTF_MAX_EVENT_ID)
			BAD("event %s: id %u is above %u", e->name, e->id, GRB_CTF_MAX_EVENT_ID);
		if (e->id == GRB_CTF_ID_DISCARDED || e->id == GRB_CTF_ID_DISCARDED_EMPTY)
			BAD("event %s: id %u is reserved", e->name, e->id);
		for (j = 0; j < i; j++) {
			if (events[j]->id == e->id)
				BAD("event %s: id %u is already the id of event %s", e->name, e->id,
				    events[j]->name);
			if (!strcmp(events[j]->name, e->name))
				BAD("event %s: declared twice", e->name);
		}
		if (e->nr_fields > GRB_CTF_MAX_FIELDS)
			BAD("event %s: %u fields, at most %u", e->name, e->nr_fields,
			    GRB_CTF_MAX_FIELDS);
		for (j = 0; j < e->nr_fields; j++) {
			const struct grb_ctf_field_desc *f = &e->fields[j];
			int r = validate_field(e, f, &max);

			if (r)
				return r;
			for (k = 0; k < j; k++) {
				const struct grb_ctf_field_desc *g = &e->fields[k];

				if (!strcmp(shown(g->name), shown(f->name)))
					BAD("event %s: fields %s and %s have the same name once "
					    "readers drop a leading underscore",
					    e->name, g->name, f->name);
				if (seq_len_clash(g, f) || seq_len_clash(f, g))
					BAD("event %s: field %s collides with the length field of "
					    "a sequence (shown as <name>_len)",
					    e->name, f->name);
			}
			if (max > room)
				BAD("event %s: field %s makes the largest record %llu bytes, more "
				    "than a %u-byte sub-buffer holds (%llu)",
				    e->name, f->name,
				    (unsigned long long)(max + GRB_CTF_EXTENDED_SIZE), subbuf_size,
				    (unsigned long long)(room + GRB_CTF_EXTENDED_SIZE));
		}
	}
	return 0;
}

/* A growing string. */
struct sbuf {
	char *p;
	size_t len, cap;
	int oom;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = 1;
			return;
		}
		if (b->p && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		{
			size_t cap = (b->cap ? b->cap * 2 : 4096) + (size_t)n;
			char *q = (char *)realloc(b->p, cap);

			if (!q) {
				b->oom = 1;
				return;
			}
			b->p = q;
			b->cap = cap;
		}
	}
}

/* A TSDL string literal's content: no quote, backslash or control byte. */
static void sb_quoted(struct sbuf *b, const char *s)
{
	sb_printf(b, "\"");
	for (; s && *s; s++)
		sb_printf(b, "%c",
			  (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20) ? '_' : *s);
	sb_printf(b, "\"");
}

static const char *int_name(enum grb_ctf_type t)
{
	static const char *const n[] = { "",	   "uint8_t", "uint16_t", "uint32_t", "uint64_t",
					 "int8_t", "int16_t", "int32_t",  "int64_t" };

	return is_int(t) ? n[t] : "uint8_t";
}

static void field_tsdl(struct sbuf *b, const struct grb_ctf_field_desc *f)
{
	uint32_t i;

	switch (f->type) {
	case GRB_CTF_F32:
		sb_printf(b, "\t\tfloating_point { exp_dig = 8; mant_dig = 24; align = 8; } %s;\n",
			  f->name);
		break;
	case GRB_CTF_F64:
		sb_printf(b, "\t\tfloating_point { exp_dig = 11; mant_dig = 53; align = 8; } %s;\n",
			  f->name);
		break;
	case GRB_CTF_STRING:
		sb_printf(b, "\t\tstring %s;\n", f->name);
		break;
	case GRB_CTF_ARRAY:
		sb_printf(b, "\t\t%s %s[%u];\n", int_name(f->elem), f->name, f->len);
		break;
	case GRB_CTF_SEQUENCE:
		sb_printf(b, "\t\tuint32_t _%s_len;\n\t\t%s %s[_%s_len];\n", f->name,
			  int_name(f->elem), f->name, f->name);
		break;
	case GRB_CTF_ENUM:
		sb_printf(b, "\t\tenum : %s {", int_name(f->elem));
		for (i = 0; i < f->enm->nr_entries; i++) {
			const struct grb_ctf_enum_entry *x = &f->enm->entries[i];

			sb_printf(b, "%s ", i ? "," : "");
			sb_quoted(b, x->label);
			if (x->start == x->end)
				sb_printf(b, " = %lld", (long long)x->start);
			else
				sb_printf(b, " = %lld ... %lld", (long long)x->start,
					  (long long)x->end);
		}
		sb_printf(b, " } %s;\n", f->name);
		break;
	default:
		sb_printf(b, "\t\t%s %s;\n", int_name(f->type), f->name);
		break;
	}
}

/* A stream class: its stream block, the filler events and the client's. */
static void stream_class(struct sbuf *b, uint32_t sid, uint32_t context,
			 const struct grb_ctf_event_desc *const *events, uint32_t nr)
{
	uint32_t i, j;

	sb_printf(b,
		  "stream {\n\tid = %u;\n\tevent.header := struct event_header_compact;\n"
		  "\tpacket.context := struct packet_context;\n",
		  sid);
	if (context & GRB_CTF_CONTEXT_IDS)
		sb_printf(b, "\tevent.context := struct event_context_ids;\n");
	sb_printf(b, "};\n\n");
	sb_printf(b,
		  "event {\n\tname = \"grb:discarded_empty\";\n\tid = %u;\n\tstream_id = %u;\n"
		  "};\n\n",
		  GRB_CTF_ID_DISCARDED_EMPTY, sid);
	sb_printf(b,
		  "event {\n\tname = \"grb:discarded\";\n\tid = %u;\n\tstream_id = %u;\n"
		  "\tfields := struct {\n\t\tuint8_t _n;\n\t\tuint8_t _pad[_n];\n\t};\n};\n\n",
		  GRB_CTF_ID_DISCARDED, sid);
	for (i = 0; i < nr; i++) {
		const struct grb_ctf_event_desc *e = events[i];

		sb_printf(b,
			  "event {\n\tname = \"%s\";\n\tid = %u;\n\tstream_id = %u;\n"
			  "\tloglevel = 13;\n",
			  e->name, e->id, sid);
		if (e->nr_fields) {
			sb_printf(b, "\tfields := struct {\n");
			for (j = 0; j < e->nr_fields; j++)
				field_tsdl(b, &e->fields[j]);
			sb_printf(b, "\t};\n");
		}
		sb_printf(b, "};\n\n");
	}
}

char *_grb_ctf_meta_stream_class(uint32_t sid, uint32_t context,
				 const struct grb_ctf_event_desc *const *events, uint32_t nr)
{
	struct sbuf b = { NULL, 0, 0, 0 };

	stream_class(&b, sid, context, events, nr);
	if (b.oom) {
		free(b.p);
		errno = ENOMEM;
		return NULL;
	}
	return b.p;
}

static const char *clock_name(const struct grb_ctf_trace_attr *a)
{
	return a->clock.name ? a->clock.name : "monotonic";
}

/* The metadata; with_class 0: without a stream class (a fed trace appends
 * one for each set of events, _grb_ctf_meta_stream_class). */
static char *metadata(const struct grb_ctf_trace_attr *a, const uint8_t u[16], int with_class)
{
	struct sbuf b = { NULL, 0, 0, 0 };
	const char *clk;
	char uuid[40];
	uint32_t i;
	int r;

	if (!a || a->size != sizeof(*a)) {
		grb_error_set("ctf attr.size: call grb_ctf_trace_attr_init");
		errno = EINVAL;
		return NULL;
	}
	clk = clock_name(a);
	r = grb_ctf_validate_events(a->events, a->nr_events, a->chan.subbuf_size);
	if (r) {
		errno = EINVAL;
		return NULL;
	}
	if (!is_ident(clk, strlen(clk))) {
		grb_error_set("ctf clock.name \"%s\": not a CTF identifier", clk);
		errno = EINVAL;
		return NULL;
	}
	snprintf(uuid, sizeof(uuid),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
		 u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14],
		 u[15]);
	sb_printf(&b, "/* CTF 1.8 */\n\n");
	for (i = 0; i < 4; i++) {
		sb_printf(
			&b,
			"typealias integer { size = %u; align = 8; signed = false; } := uint%u_t;\n",
			8u << i, 8u << i);
		sb_printf(
			&b,
			"typealias integer { size = %u; align = 8; signed = true; } := int%u_t;\n",
			8u << i, 8u << i);
	}
	sb_printf(&b, "typealias integer { size = 5; align = 1; signed = false; } := uint5_t;\n");
	sb_printf(&b,
		  "typealias integer { size = 27; align = 1; signed = false; "
		  "map = clock.%s.value; } := uint27_clk_t;\n",
		  clk);
	sb_printf(&b,
		  "typealias integer { size = 64; align = 8; signed = false; "
		  "map = clock.%s.value; } := uint64_clk_t;\n\n",
		  clk);
	sb_printf(&b,
		  "trace {\n\tmajor = 1;\n\tminor = 8;\n\tuuid = \"%s\";\n\tbyte_order = %s;\n"
		  "\tpacket.header := struct {\n\t\tuint32_t magic;\n\t\tuint8_t uuid[16];\n"
		  "\t\tuint32_t stream_id;\n\t\tuint64_t stream_instance_id;\n\t};\n};\n\n",
		  uuid, __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? "le" : "be");
	sb_printf(&b, "env {\n\thostname = ");
	sb_quoted(&b, a->hostname ? a->hostname : "localhost");
	sb_printf(&b, ";\n\tdomain = \"ust\";\n\ttracer_name = \"grb\";\n\ttracer_major = 0;\n"
		      "\ttracer_minor = 1;\n};\n\n");
	sb_printf(&b, "clock {\n\tname = \"%s\";\n\tuuid = ", clk);
	sb_quoted(&b, a->clock.uuid ? a->clock.uuid : "00000000-0000-0000-0000-000000000000");
	sb_printf(&b, ";\n\tdescription = ");
	sb_quoted(&b, a->clock.description ? a->clock.description : "CLOCK_MONOTONIC");
	sb_printf(&b,
		  ";\n\tfreq = %llu;\n\tprecision = 1;\n\toffset_s = %lld;\n\toffset = %llu;\n"
		  "\tabsolute = false;\n};\n\n",
		  (unsigned long long)(a->clock.freq ? a->clock.freq : 1000000000u),
		  (long long)a->clock.offset_s, (unsigned long long)a->clock.offset);
	sb_printf(&b, "struct packet_context {\n\tuint64_clk_t timestamp_begin;\n"
		      "\tuint64_clk_t timestamp_end;\n\tuint64_t content_size;\n"
		      "\tuint64_t packet_size;\n\tuint64_t packet_seq_num;\n"
		      "\tuint64_t events_discarded;\n\tuint32_t cpu_id;\n};\n\n");
	sb_printf(&b, "struct event_header_compact {\n"
		      "\tenum : uint5_t { compact = 0 ... 30, extended = 31 } id;\n"
		      "\tvariant <id> {\n\t\tstruct { uint27_clk_t timestamp; } compact;\n"
		      "\t\tstruct { uint32_t id; uint64_clk_t timestamp; } extended;\n"
		      "\t} v;\n} align(8);\n\n");
	if (a->event_context & GRB_CTF_CONTEXT_IDS)
		sb_printf(&b,
			  "struct event_context_ids {\n\tint32_t vpid;\n\tint32_t vtid;\n};\n\n");
	if (with_class)
		stream_class(&b, 0, a->event_context, a->events, a->nr_events);
	if (b.oom) {
		free(b.p);
		errno = ENOMEM;
		return NULL;
	}
	return b.p;
}

char *grb_ctf_metadata(const struct grb_ctf_trace_attr *a, const uint8_t u[16])
{
	return metadata(a, u, 1);
}

char *_grb_ctf_meta_prologue(const struct grb_ctf_trace_attr *a, const uint8_t u[16])
{
	return metadata(a, u, 0);
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
			n = (uint64_t)f->len * type_size(f->elem);
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
			n = 4 + (uint64_t)cnt * type_size(f->elem);
			break;
		}
		case GRB_CTF_ENUM:
			n = type_size(f->elem);
			break;
		default:
			n = type_size(f->type);
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
 * previous one); the others are compact (delta 0).
 */
/* The filler chain for records with ctx_len bytes of event context after
 * the header (written as the current thread's ids when there are some). */
static void discard(const struct grb_ctx *ctx, uint32_t ctx_len)
{
	char *p = ctx->rec;
	uint64_t left = ctx->slot_len;
	int extended = ctx->header_len == GRB_CTF_EXTENDED_SIZE + ctx_len;

	if (ctx_len && !grb_ctf_ids_tls.tid)
		grb_ctf_ids_refresh();
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
			memcpy(p + hdr - ctx_len, &grb_ctf_ids_tls, GRB_CTF_IDS_SIZE);
		p += take;
		left -= take;
		extended = 0;
	}
}

void grb_ctf_record_discard(const struct grb_config *cfg, const struct grb_ctx *ctx)
{
	(void)cfg;
	discard(ctx, 0);
}

void grb_ctf_record_discard_ids(const struct grb_config *cfg, const struct grb_ctx *ctx)
{
	(void)cfg;
	discard(ctx, GRB_CTF_IDS_SIZE);
}
