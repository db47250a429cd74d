// SPDX-License-Identifier: MIT
/*
 * ctf_meta.c - the CTF client's description side: event validation and
 * TSDL metadata.  Record decoding and discarding are ctf_record.c's.
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
		es = _grb_ctf_type_size(f->elem);
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
		hi = (int64_t)((1ull << (8 * _grb_ctf_type_size(f->elem))) - 1);
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
		*max_size += _grb_ctf_type_size(f->elem);
		return 0;
	}
	default:
		if (!_grb_ctf_type_size(f->type))
			BAD("event %s: field %s: unknown type %d", e->name, f->name, (int)f->type);
		*max_size += _grb_ctf_type_size(f->type);
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
