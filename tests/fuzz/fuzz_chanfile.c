// SPDX-License-Identifier: MIT
/*
 * fuzz_chanfile.c - what `grb recover` makes of a description file
 * (<prefix>.chan, tools/grb/chanfile.h; doc/session.md, doc/fuzzing.md).
 *
 * The input is the file's bytes.  chanfile_parse() checks the head (magic,
 * version, sizes, pids, geometry, names) and decodes the event
 * descriptions; an accepted description must hold what the parser
 * promises (terminated names, the prefix of the channel and pid, the
 * events decoded), then it is freed (the leak checker sees the rest).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grb/grb.h>
#include <grb/session.h>

#include "../../tools/grb/chanfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_chanfile: %s\n", what);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct chanfile c;
	char why[256];
	uint32_t i;

	why[0] = 0;
	if (chanfile_parse(data, size, &c, why, sizeof(why))) {
		if (c.events)
			fail("events returned with an error");
		if (!why[0] || !memchr(why, 0, sizeof(why)))
			fail("refused without saying why");
		return 0;
	}
	if (!memchr(c.h.name, 0, sizeof(c.h.name)) ||
	    !memchr(c.h.program, 0, sizeof(c.h.program)) ||
	    !memchr(c.h.prefix, 0, sizeof(c.h.prefix)) || strchr(c.h.prefix, '/'))
		fail("accepted an unterminated name or a path");
	if (c.h.size != size || c.h.nr_streams == 0 || c.h.nr_streams > GRB_SESSION_MAX_STREAMS ||
	    c.h.pid <= 0)
		fail("accepted a head its checks refuse");
	if (c.h.mode != GRB_MODE_DISCARD && c.h.mode != GRB_MODE_OVERWRITE)
		fail("accepted a mode that is not discard or overwrite");
	if (c.h.nr_events && !c.events)
		fail("no events returned");
	for (i = 0; i < c.h.nr_events; i++)
		if (!c.events[i] || !c.events[i]->name)
			fail("an event without a name");
	chanfile_free(&c);
	return 0;
}
