// SPDX-License-Identifier: MIT
/*
 * An application with events of its own, recorded by a session:
 *
 *	grb record -o /tmp/app --preload libc -- ./build/examples/session_app 100
 *	babeltrace2 /tmp/app | grep session_app:tick | head -3
 *
 * Started without grb record (no GRB_SESSION) it runs the same and records
 * nothing: grb_session_channel() returns NULL at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <grb/session.h>

static const struct grb_config cfg = GRB_SESSION_CONFIG;

#define TICK_FIELDS(F) F(u32, n) F(string, parity, 8)
GRB_CTF_EVENT(session_app_tick, "session_app:tick", 1, TICK_FIELDS)

static const struct grb_ctf_event_desc *const events[] = { &session_app_tick_event };

int main(int argc, char **argv)
{
	unsigned long i, n = argc > 1 ? strtoul(argv[1], NULL, 10) : 10, sum = 0;
	struct grb_channel *ch = grb_session_channel(&cfg, "session_app", events, 1);

	if (!ch)
		printf("session_app: not recorded: %s\n", grb_last_error());
	for (i = 0; i < n; i++) {
		char *p = malloc(64 + i % 64); /* traced too, with --preload libc */

		sum += (unsigned long)(p != NULL);
		free(p);
		if (ch)
			session_app_tick_write(&cfg, ch, (uint32_t)i, i % 2 ? "odd" : "even");
	}
	if (ch)
		grb_session_close(ch); /* the recorder drains every event */
	printf("session_app: %lu ticks\n", sum);
	return 0;
}
