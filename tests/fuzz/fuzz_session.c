// SPDX-License-Identifier: MIT
/*
 * fuzz_session.c - what `grb record` makes of a traced program's CHANNEL
 * message (doc/session.md, doc/fuzzing.md).
 *
 * The input is the message: a struct grb_session_channel and the encoded
 * event descriptions after it.  The recorder's checks of the head (magic,
 * version, type, sizes: tools/grb/sessd.c) are plain comparisons; the
 * target takes them as passed, with events_size the bytes that follow,
 * and runs what comes after them on untrusted bytes: the decoding of the
 * events (grb_session_events_decode, with the message's event count and
 * sub-buffer size) and, for events it accepts, the CTF metadata the
 * recorder writes for them.  The decoded descriptions are checked against
 * what the decoder promises, then freed (the leak checker sees the rest).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grb/grb.h>
#include <grb/ctf.h>
#include <grb/session.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, uint32_t i)
{
	fprintf(stderr, "fuzz_session: event %u: %s\n", i, what);
	abort();
}

static void check_events(const struct grb_ctf_event_desc *const *ev, uint32_t nr)
{
	uint32_t i, j, k;

	for (i = 0; i < nr; i++) {
		const struct grb_ctf_event_desc *e = ev[i];

		if (!e || !e->name || e->nr_fields > GRB_CTF_MAX_FIELDS ||
		    (e->nr_fields && !e->fields))
			fail("malformed description", i);
		if (strlen(e->name) > UINT16_MAX)
			fail("name longer than its encoding allows", i);
		for (j = 0; j < e->nr_fields; j++) {
			const struct grb_ctf_field_desc *f = &e->fields[j];

			if (!f->name)
				fail("field without a name", i);
			if ((f->type == GRB_CTF_ENUM) != (f->enm != NULL))
				fail("enum entries on a field of another type", i);
			for (k = 0; f->enm && k < f->enm->nr_entries; k++)
				if (!f->enm->entries[k].label)
					fail("enum entry without a label", i);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct grb_ctf_event_desc *const *events = NULL;
	struct grb_session_channel m;
	struct grb_ctf_trace_attr a;
	static const uint8_t uuid[16] = { 1 };
	uint32_t len;
	char *meta;
	int ret;

	if (size < sizeof(m) || size - sizeof(m) > GRB_SESSION_EVENTS_MAX)
		return 0; /* the recorder refuses it before any decoding */
	memcpy(&m, data, sizeof(m));
	len = (uint32_t)(size - sizeof(m));
	ret = grb_session_events_decode(len ? data + sizeof(m) : NULL, len, m.nr_events,
					m.subbuf_size, &events);
	if (ret) {
		if (ret != -EPROTO && ret != -EINVAL && ret != -ENOMEM)
			fail("unexpected return of grb_session_events_decode", 0);
		if (events)
			fail("events returned with an error", 0);
		return 0;
	}
	if (m.nr_events && !events)
		fail("no events returned", 0);
	check_events(events, m.nr_events);
	/* What the recorder writes for them: its metadata (ids context). */
	grb_ctf_trace_attr_init(&a);
	a.events = events;
	a.nr_events = m.nr_events;
	a.hostname = "fuzz";
	a.event_context = GRB_CTF_CONTEXT_IDS;
	a.chan.subbuf_size = m.subbuf_size;
	meta = grb_ctf_metadata(&a, uuid);
	if (meta && !strstr(meta, "trace {"))
		fail("metadata without a trace block", 0);
	free(meta);
	grb_session_events_free(events, m.nr_events);
	return 0;
}
