// SPDX-License-Identifier: MIT
/*
 * test_ftrace_read.c - the trace.dat reader on corrupt input: a valid file
 * written by the ftrace client, then every truncation of it, bad CPU
 * offsets, and seeded random byte changes.  Each must give an error or a
 * printout, never a read outside the buffer (the ASan build runs this).
 * Also: a writer's on_page hook sees every page it adds (a second writer
 * fed by the hook has the same pages, records and missed events), and
 * GRB_FTRACE_SHOW_BODY prints what the plain show does but its "cpus="
 * line.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <grb/grb.h>
#include <grb/ftrace.h>

#include "check.h"

static const struct grb_config cfg =
	GRB_FTRACE_CONFIG(GRB_ALLOC_PER_CPU, GRB_SYNC_ATOMIC, GRB_MODE_OVERWRITE);

#define RT_FIELDS(F) F(u64, a) F(s8, b) F(chars, c, 6) F(string, s)
GRB_FTRACE_EVENT(rt, "rt", "ev", 200, RT_FIELDS)

/* The second writer of make_file(), fed by the first one's on_page. */
static void copy_page(void *arg, uint32_t cpu, const void *page, uint64_t missed)
{
	CHECK(grb_ftrace_dat_add_page((struct grb_ftrace_dat *)arg, cpu, page, missed) == 0);
}

static char *write_file(struct grb_ftrace_dat *d, size_t *len)
{
	char *buf;
	int fd = memfd_create("t", 0);

	CHECK(fd >= 0);
	CHECK(grb_ftrace_dat_write(d, fd) == 0);
	*len = (size_t)lseek(fd, 0, SEEK_END);
	buf = malloc(*len);
	CHECK(buf && pread(fd, buf, *len, 0) == (ssize_t)*len);
	close(fd);
	return buf;
}

/* What grb_ftrace_show() prints of a file (malloc'd). */
static char *show_text(const char *file, size_t len, unsigned int flags)
{
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);

	CHECK(f != NULL);
	CHECK(grb_ftrace_show(file, len, f, flags) == 0);
	fclose(f);
	return text;
}

static char *make_file(size_t *len)
{
	static const struct grb_ftrace_event *const evs[] = { &rt_event };
	struct grb_channel_attr a;
	struct grb_ftrace_dat_attr da;
	struct grb_ftrace_dat *d, *copy;
	struct grb_channel *ch;
	char *buf, *copied;
	size_t copied_len;
	int i;

	grb_ftrace_channel_attr_init(&a);
	a.subbuf_count = 4;
	ch = grb_channel_create(&cfg, &a);
	CHECK(ch != NULL);
	for (i = 0; i < 800; i++) { /* more than the 4 pages hold */
		CHECK(rt_write(&cfg, ch, (uint64_t)i, (int8_t)-i, "abcdefg", "some text") == 0);
		if (i % 50 == 0) {
			CHECK(grb_ftrace_print(&cfg, ch, (uint64_t)(uintptr_t)&make_file, "m") ==
			      0);
			grb_ftrace_func_entry(&cfg, ch, (uint64_t)(uintptr_t)&make_file);
			grb_ftrace_func_exit(&cfg, ch, (uint64_t)(uintptr_t)&make_file);
		}
	}
	grb_channel_finalize(ch);
	grb_ftrace_dat_attr_init(&da);
	da.events = evs;
	da.nr_events = 1;
	copy = grb_ftrace_dat_create(&da);
	CHECK(copy != NULL);
	da.on_page = copy_page;
	da.on_page_arg = copy;
	d = grb_ftrace_dat_create(&da);
	CHECK(d != NULL);
	CHECK(grb_ftrace_dat_drain(d, ch) == 0);
	buf = write_file(d, len);
	copied = write_file(copy, &copied_len);
	/* The same pages; not the drain's figures of the streams (their
	 * other losses, a CPU whose stream delivered no page). */
	for (i = 0; i < 64; i++) {
		struct grb_ftrace_cpu_stats a1, a2;

		CHECK(grb_ftrace_dat_cpu_stats(d, (uint32_t)i, &a1) == 0);
		CHECK(grb_ftrace_dat_cpu_stats(copy, (uint32_t)i, &a2) == 0);
		CHECK(a1.pages == a2.pages && a1.events == a2.events && a1.bytes == a2.bytes &&
		      a1.overrun == a2.overrun && a1.oldest_ts == a2.oldest_ts &&
		      a1.newest_ts == a2.newest_ts);
	}
	{
		char *t1 = show_text(buf, *len, GRB_FTRACE_SHOW_BODY);
		char *t2 = show_text(copied, copied_len, GRB_FTRACE_SHOW_BODY);

		CHECK(t1 && t2 && strstr(t1, "EVENTS DROPPED") && !strcmp(t1, t2));
		free(t1);
		free(t2);
	}
	free(copied);
	grb_ftrace_dat_destroy(copy);
	grb_ftrace_dat_destroy(d);
	grb_channel_destroy(ch);
	return buf;
}

/* Shows a copy of exactly len bytes (so that ASan sees a read past it). */
static int show(const char *src, size_t len, unsigned int flags, FILE *out)
{
	char *b = malloc(len ? len : 1);
	int ret;

	memcpy(b, src, len);
	ret = grb_ftrace_show(b, len, out, flags);
	free(b);
	return ret;
}

int main(void)
{
	FILE *null = fopen("/dev/null", "w");
	size_t len, n, errors = 0;
	char *file = make_file(&len), *m;
	uint64_t seed = 12345;
	int i;

	CHECK(null != NULL);
	CHECK(show(file, len, 0, null) == 0);
	{
		char *whole = show_text(file, len, 0),
		     *body = show_text(file, len, GRB_FTRACE_SHOW_BODY);

		CHECK(!strncmp(whole, "cpus=", 5) && strchr(whole, '\n'));
		CHECK(body[0] && !strcmp(body, strchr(whole, '\n') + 1));
		free(whole);
		free(body);
	}
	CHECK(show(file, len, GRB_FTRACE_SHOW_GRAPH, null) == 0);
	/* Every truncation before the data is refused with a message. */
	for (n = 0; n < len; n += n < 8192 ? 1 : 97) {
		int ret = show(file, n, 0, null);

		if (ret)
			errors++;
		CHECK(ret == 0 || ret == -EPROTO || ret == -EPROTONOSUPPORT);
		CHECK(ret == 0 || strlen(grb_last_error()) > 0);
	}
	CHECK(show(file, 3, 0, null) == -EPROTO);
	printf("truncations: %zu refused\n", errors);
	/* Random bytes changed, 1 to 8 at a time. */
	m = malloc(len);
	for (i = 0; i < 3000; i++) {
		int k, nb = 1 + i % 8, ret;

		memcpy(m, file, len);
		for (k = 0; k < nb; k++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			m[(seed >> 17) % len] = (char)(seed >> 40);
		}
		ret = show(m, len, (unsigned int)i & GRB_FTRACE_SHOW_GRAPH, null);
		CHECK(ret == 0 || ret == -EPROTO || ret == -EPROTONOSUPPORT || ret == -ENOMEM);
	}
	free(m);
	free(file);
	fclose(null);
	return check_exit("test_ftrace_read");
}
