// SPDX-License-Identifier: MIT
/*
 * test_ftrace_events.c - the encoding of ftrace event descriptions
 * (doc/ftrace.md, "Event descriptions"), which a kernel module publishes
 * on /dev/grb: what ft_record.c encodes, grb_ftrace_events_decode() gives
 * back field for field; every truncation of the buffer and every byte
 * changed is refused or decoded into valid events, never read past its
 * end; invalid events are refused with -EINVAL.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <grb/grb.h>
#include <grb/ftrace.h>

#include "check.h"
#include "ft_record.h"

#define SW_FIELDS(F)            \
	F(chars, prev_comm, 16) \
	F(s32, prev_pid)        \
	F(s64, prev_state)      \
	F(string, note)         \
	F(x64, flags)
GRB_FTRACE_EVENT_FMT(sw, "sched", "sched_switch", 300, SW_FIELDS,
		     "\"prev_comm=%s\", REC->prev_comm")
#define PLAIN_FIELDS(F) F(u8, a) F(ptr, where)
GRB_FTRACE_EVENT(plain, "myapp", "plain", 1001, PLAIN_FIELDS)

static const struct grb_ftrace_event *const events[] = { &sw_event, &plain_event };

static void same(const struct grb_ftrace_event *a, const struct grb_ftrace_event *b)
{
	uint32_t i;

	CHECK(a->id == b->id && a->nr_fields == b->nr_fields);
	CHECK(!strcmp(a->system, b->system) && !strcmp(a->name, b->name));
	CHECK((!a->print_fmt && !b->print_fmt) ||
	      (a->print_fmt && b->print_fmt && !strcmp(a->print_fmt, b->print_fmt)));
	for (i = 0; i < a->nr_fields && i < b->nr_fields; i++) {
		CHECK(!strcmp(a->fields[i].name, b->fields[i].name));
		CHECK(a->fields[i].kind == b->fields[i].kind &&
		      a->fields[i].len == b->fields[i].len);
	}
}

int main(void)
{
	const struct grb_ftrace_event *const *out;
	unsigned char buf[1024], bad[1024];
	uint32_t len, n, i;
	int ret, decoded = 0, refused = 0;
	struct grb_ftrace_event wrong;

	CHECK(_grb_ftrace_events_encode(events, 2, buf, sizeof(buf), &len) == 0);
	CHECK(_grb_ftrace_events_encode(events, 2, buf, len - 1, &n) == -E2BIG);
	CHECK(grb_ftrace_events_decode(buf, len, 2, &out) == 0);
	if (out) {
		same(events[0], out[0]);
		same(events[1], out[1]);
		CHECK(out[1]->print_fmt == NULL);
		grb_ftrace_events_free(out, 2);
	}
	/* More or fewer events than encoded, every truncation. */
	CHECK(grb_ftrace_events_decode(buf, len, 3, &out) == -EPROTO && !out);
	CHECK(grb_ftrace_events_decode(buf, len, 1, &out) == -EPROTO && !out);
	for (n = 0; n < len; n++)
		CHECK(grb_ftrace_events_decode(buf, n, 2, &out) == -EPROTO && !out);
	/* Every byte changed: refused, or events that pass ftrace's rules. */
	for (i = 0; i < len; i++) {
		memcpy(bad, buf, len);
		bad[i] ^= 0x5a;
		ret = grb_ftrace_events_decode(bad, len, 2, &out);
		CHECK(ret == 0 || ret == -EPROTO || ret == -EINVAL);
		if (ret == 0) {
			decoded++;
			grb_ftrace_events_free(out, 2);
		} else {
			CHECK(!out);
			refused++;
		}
	}
	CHECK(refused > 0);
	/* An event the rules refuse: a reserved id. */
	wrong = plain_event;
	wrong.id = 50;
	{
		const struct grb_ftrace_event *one[] = { &wrong };

		CHECK(_grb_ftrace_events_encode(one, 1, buf, sizeof(buf), &len) == 0);
		CHECK(grb_ftrace_events_decode(buf, len, 1, &out) == -EINVAL && !out);
	}
	/* The same id twice. */
	{
		const struct grb_ftrace_event *two[] = { &plain_event, &plain_event };

		CHECK(_grb_ftrace_events_encode(two, 2, buf, sizeof(buf), &len) == 0);
		CHECK(grb_ftrace_events_decode(buf, len, 2, &out) == -EINVAL && !out);
	}
	CHECK(grb_ftrace_events_decode(NULL, 0, 0, &out) == 0);
	grb_ftrace_events_free(out, 0);
	printf("test_ftrace_events: %d changed bytes decoded, %d refused\n", decoded, refused);
	return check_exit("test_ftrace_events");
}
