// SPDX-License-Identifier: MIT
/*
 * ft_events.c - event descriptions read back from their encoding
 * (doc/ftrace.md, "Event descriptions"; ft_record.c writes it): what a
 * kernel module's ftrace channel says of its events on /dev/grb, for
 * `grb record --kernel --format ftrace`.  The buffer comes from elsewhere:
 * every length and count is checked against it, and each event against
 * ftrace's rules (ft_event_validate()).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <grb/client.h>
#include <grb/ftrace.h>

#include "ft_internal.h"
#include "ft_record.h"

struct rbuf {
	const unsigned char *p;
	uint32_t len, off;
};

static int get(struct rbuf *b, void *v, uint32_t n)
{
	if (n > b->len - b->off)
		return -1;
	memcpy(v, b->p + b->off, n);
	b->off += n;
	return 0;
}

/* A malloc'd, terminated copy of the next string (NULL for none, with
 * *ok still 1); *ok = 0 when it is short or memory runs out. */
static char *get_str(struct rbuf *b, int *ok)
{
	uint16_t l;
	char *s;

	if (get(b, &l, 2)) {
		*ok = 0;
		return NULL;
	}
	if (l == FT_DESC_NO_STRING)
		return NULL;
	if (l > b->len - b->off || memchr(b->p + b->off, 0, l)) {
		*ok = 0;
		return NULL;
	}
	s = (char *)malloc((size_t)l + 1);
	if (!s) {
		*ok = 0;
		return NULL;
	}
	memcpy(s, b->p + b->off, l);
	s[l] = 0;
	b->off += l;
	return s;
}

static void event_free(struct grb_ftrace_event *e)
{
	uint32_t i;

	if (!e)
		return;
	for (i = 0; e->fields && i < e->nr_fields; i++)
		free((char *)e->fields[i].name);
	free((void *)e->fields);
	free((char *)e->system);
	free((char *)e->name);
	free((char *)e->print_fmt);
	free(e);
}

void grb_ftrace_events_free(const struct grb_ftrace_event *const *events, uint32_t nr)
{
	uint32_t i;

	if (!events)
		return;
	for (i = 0; i < nr; i++)
		event_free((struct grb_ftrace_event *)events[i]);
	free((void *)events);
}

int grb_ftrace_events_decode(const void *buf, uint32_t size, uint32_t nr,
			     const struct grb_ftrace_event *const **events)
{
	struct rbuf b = { .p = (const unsigned char *)buf, .len = size, .off = 0 };
	struct grb_ftrace_event **ev;
	uint32_t i, j;
	int ok = 1, ret;

	if (!events || (size && !buf) || nr > GRB_FTRACE_MAX_ID) {
		grb_error_set("ftrace events: bad arguments");
		return -EINVAL;
	}
	*events = NULL;
	ev = (struct grb_ftrace_event **)calloc(nr ? nr : 1, sizeof(*ev));
	if (!ev)
		return -ENOMEM;
	for (i = 0; i < nr && ok; i++) {
		struct grb_ftrace_event *e = (struct grb_ftrace_event *)calloc(1, sizeof(*e));
		struct grb_ftrace_field *f;
		uint32_t nf;

		if (!e) {
			grb_ftrace_events_free((const struct grb_ftrace_event *const *)ev, nr);
			return -ENOMEM;
		}
		ev[i] = e;
		/* Each field takes at least 10 bytes: a bound before calloc. */
		if (get(&b, &e->id, 4) || get(&b, &nf, 4) || nf > 128 ||
		    nf > (b.len - b.off) / 10) {
			ok = 0;
			break;
		}
		e->system = get_str(&b, &ok);
		e->name = ok ? get_str(&b, &ok) : NULL;
		e->print_fmt = ok ? get_str(&b, &ok) : NULL;
		f = (struct grb_ftrace_field *)calloc(nf ? nf : 1, sizeof(*f));
		if (!f) {
			ok = 0;
			break;
		}
		e->fields = f;
		e->nr_fields = nf;
		for (j = 0; j < nf && ok; j++) {
			uint32_t kind;

			if (get(&b, &kind, 4) || get(&b, &f[j].len, 4)) {
				ok = 0;
				break;
			}
			f[j].kind = (enum grb_ftrace_kind)kind;
			f[j].name = get_str(&b, &ok);
			if (ok && !f[j].name)
				ok = 0;
		}
	}
	if (!ok || b.off != b.len) {
		grb_ftrace_events_free((const struct grb_ftrace_event *const *)ev, nr);
		grb_error_set("ftrace events: a malformed description (%u bytes, %u events)", size,
			      nr);
		return -EPROTO;
	}
	for (i = 0; i < nr; i++) {
		ret = ft_event_validate(ev[i]);
		for (j = 0; !ret && j < i; j++)
			if (ev[j]->id == ev[i]->id) {
				grb_error_set("ftrace events: id %u twice", ev[i]->id);
				ret = -EINVAL;
			}
		if (ret) {
			grb_ftrace_events_free((const struct grb_ftrace_event *const *)ev, nr);
			return ret;
		}
	}
	*events = (const struct grb_ftrace_event *const *)ev;
	return 0;
}
