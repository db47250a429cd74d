// SPDX-License-Identifier: MIT
/*
 * header_c.c - the public headers compiled stand-alone as C and linked with
 * the shared libraries, as an application sees them.  It uses every inline
 * function of the headers (abi_symbols checks that it does, then that the
 * libraries export every symbol this program refers to): a record written
 * and read back through each sync and allocation, the native and CTF
 * configuration macros field by field, a CTF event of each field kind, and
 * records with the process and thread ids (GRB_SESSION_CONFIG) written by
 * a process and by its child.
 */
#include <grb/grb.h>
#include <grb/native.h>
#include <grb/client.h>
#include <grb/ctf.h>
#include <grb/kdev.h>
#include <grb/ftrace.h>
#include <grb/session.h>
#include <grb/version.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define RECORDS 100

/* One site per sync and allocation: a record by reserve + write + commit,
 * one reserved then discarded, one by grb_write_record().  Return the
 * records committed, or a negative error. */
#define SITE(n, alloc, sync) SITE_CFG(n, GRB_NATIVE_CONFIG(alloc, sync, GRB_MODE_DISCARD))
#define SITE_CFG(n, config)                                             \
	static const struct grb_config cfg_##n = config;                \
	int site_##n(struct grb_channel *ch, uint64_t v);               \
	int site_##n(struct grb_channel *ch, uint64_t v)                \
	{                                                               \
		struct grb_ctx ctx;                                     \
		uint64_t w = ~v;                                        \
		int ret;                                                \
                                                                        \
		if (!grb_enabled(ch))                                   \
			return -EAGAIN;                                 \
		ctx.event_id = 0;                                       \
		ctx.payload_len = sizeof(v);                            \
		ret = grb_reserve(&cfg_##n, ch, &ctx);                  \
		if (ret)                                                \
			return ret;                                     \
		grb_write(&ctx, &v, sizeof(v));                         \
		grb_commit(&cfg_##n, &ctx);                             \
		ctx.event_id = 2;                                       \
		ctx.payload_len = sizeof(w);                            \
		ret = grb_reserve(&cfg_##n, ch, &ctx);                  \
		if (ret)                                                \
			return ret;                                     \
		grb_write(&ctx, &w, sizeof(w));                         \
		grb_discard(&cfg_##n, &ctx);                            \
		ret = grb_write_record(&cfg_##n, ch, 1, &w, sizeof(w)); \
		return ret ? ret : 2;                                   \
	}

SITE(global_atomic, GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC)
SITE(cpu_atomic, GRB_ALLOC_PER_CPU, GRB_SYNC_ATOMIC)
SITE(cpu_rseq, GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ)
SITE(thread_atomic, GRB_ALLOC_PER_THREAD, GRB_SYNC_ATOMIC)
SITE(thread_single, GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER)
/* Writers that wake readers: the wake-up calls of the commit. */
SITE_CFG(global_wake, GRB_NATIVE_CONFIG_WAKEUP(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD,
					       grb_clock_monotonic, GRB_WAKEUP_WRITER))

static void run_site(const char *name, const struct grb_config *cfg,
		     int (*site)(struct grb_channel *, uint64_t))
{
	struct grb_channel_attr attr;
	struct grb_channel_stats st;
	struct grb_channel *ch;
	struct grb_merge *m;
	struct grb_record rec;
	uint64_t i, n = 0, n_id1 = 0, sum = 0, expect = 0;
	int ret;

	grb_channel_attr_init(&attr);
	attr.subbuf_size = 4096;
	attr.subbuf_count = 4;
	attr.nr_streams = 4;
	ch = grb_channel_create(cfg, &attr);
	CHECK(ch != NULL);
	if (!ch) {
		fprintf(stderr, "%s: %s\n", name, grb_last_error());
		return;
	}
	grb_channel_disable(ch);
	CHECK(site(ch, 0) == -EAGAIN);
	grb_channel_enable(ch);
	for (i = 0; i < RECORDS; i++) {
		ret = site(ch, i);
		CHECK(ret == 2);
		if (ret != 2)
			fprintf(stderr, "%s: record %llu: %d\n", name, (unsigned long long)i, ret);
		expect += i + ~i;
	}
	grb_channel_finalize(ch);
	m = grb_merge_create(ch, 0);
	CHECK(m != NULL);
	while (m && (ret = grb_merge_next(m, &rec)) == 0) {
		uint64_t v;

		CHECK(rec.payload_len == sizeof(v));
		CHECK(rec.event_id <= 1);
		n_id1 += rec.event_id;
		memcpy(&v, rec.payload, sizeof(v));
		sum += v;
		n++;
	}
	CHECK(n == 2 * RECORDS);
	CHECK(n_id1 == RECORDS);
	CHECK(sum == expect);
	CHECK(grb_channel_read_stats(ch, &st) == 0);
	CHECK(st.lost_total == 0);
	printf("%s: %llu records (%s)\n", name, (unsigned long long)n,
	       grb_channel_sync(ch, NULL) == cfg->sync ? "as configured" : "fallback");
	if (m)
		grb_merge_destroy(m);
	grb_channel_destroy(ch);
}

/* The configuration macros put each value in its field. */
static uint64_t clock_fixed(void)
{
	return 42;
}

static void test_config_macros(void)
{
	static const struct grb_config n = GRB_NATIVE_CONFIG_CLOCK(
		GRB_ALLOC_PER_CPU, GRB_SYNC_ATOMIC, GRB_MODE_OVERWRITE, clock_fixed);
	static const struct grb_config nd =
		GRB_NATIVE_CONFIG(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_BLOCKING);
	static const struct grb_config c = GRB_CTF_CONFIG_CLOCK(
		GRB_ALLOC_PER_THREAD, GRB_SYNC_SINGLE_WRITER, GRB_MODE_DISCARD, clock_fixed);
	static const struct grb_config cd =
		GRB_CTF_CONFIG(GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_OVERWRITE);
	static const struct grb_config cw = GRB_CTF_CONFIG_WAKEUP(
		GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_DISCARD, GRB_WAKEUP_WRITER);

	CHECK(n.abi == GRB_CONFIG_ABI);
	CHECK(n.alloc == GRB_ALLOC_PER_CPU);
	CHECK(n.sync == GRB_SYNC_ATOMIC);
	CHECK(n.mode == GRB_MODE_OVERWRITE);
	CHECK(n.wakeup == GRB_WAKEUP_NONE);
	CHECK(n.ts_bits == 32);
	CHECK(n.max_nesting == 4);
	CHECK(n.record_align == 8);
	CHECK(n.packet_header_size == sizeof(struct grb_native_packet));
	CHECK(n.min_record_size == GRB_NATIVE_COMPACT_SIZE);
	CHECK(n.clock_read == clock_fixed);
	CHECK(n.record_header_size == grb_native_header_size);
	CHECK(n.record_header_write == grb_native_header_write);
	CHECK(n.packet_begin == grb_native_packet_begin);
	CHECK(n.packet_end == grb_native_packet_end);
	CHECK(n.record_decode == grb_native_record_decode);
	CHECK(n.record_discard == grb_native_record_discard);
	CHECK(strcmp(n.name, "native") == 0);
	CHECK(n.packet_published == NULL);
	CHECK(nd.clock_read == grb_clock_monotonic);
	CHECK(nd.alloc == GRB_ALLOC_GLOBAL && nd.mode == GRB_MODE_BLOCKING);

	CHECK(c.abi == GRB_CONFIG_ABI);
	CHECK(c.alloc == GRB_ALLOC_PER_THREAD);
	CHECK(c.sync == GRB_SYNC_SINGLE_WRITER);
	CHECK(c.mode == GRB_MODE_DISCARD);
	CHECK(c.wakeup == GRB_WAKEUP_NONE);
	CHECK(c.ts_bits == GRB_CTF_TS_BITS);
	CHECK(c.max_nesting == 4);
	CHECK(c.record_align == 1);
	CHECK(c.packet_header_size == GRB_CTF_PACKET_HEADER_SIZE);
	CHECK(c.min_record_size == GRB_CTF_COMPACT_SIZE);
	CHECK(c.clock_read == clock_fixed);
	CHECK(c.record_header_size == grb_ctf_header_size);
	CHECK(c.record_header_write == grb_ctf_header_write);
	CHECK(c.packet_begin == grb_ctf_packet_begin);
	CHECK(c.packet_end == grb_ctf_packet_end);
	CHECK(c.record_decode == grb_ctf_record_decode);
	CHECK(c.record_discard == grb_ctf_record_discard);
	CHECK(strcmp(c.name, "ctf") == 0);
	CHECK(c.packet_published == NULL);
	CHECK(cd.clock_read == grb_clock_monotonic);
	CHECK(cd.sync == GRB_SYNC_PER_CPU_RSEQ && cd.mode == GRB_MODE_OVERWRITE);
	CHECK(cw.wakeup == GRB_WAKEUP_WRITER && cw.clock_read == grb_clock_monotonic);
	CHECK(cw.record_header_size == grb_ctf_header_size && strcmp(cw.name, "ctf") == 0);
	CHECK(cw.sync == GRB_SYNC_PER_CPU_RSEQ && cw.mode == GRB_MODE_DISCARD);
}

/* The generated header and the loaded library agree. */
static void test_version(void)
{
	char v[64];

	snprintf(v, sizeof(v), "%d.%d.%d", GRB_VERSION_MAJOR, GRB_VERSION_MINOR, GRB_VERSION_PATCH);
	CHECK(strcmp(v, GRB_VERSION_STRING) == 0);
	CHECK(strcmp(grb_version(), GRB_VERSION_STRING) == 0);
}

static void test_clocks(void)
{
	uint64_t m0 = grb_clock_monotonic(), t0 = grb_clock_tsc();

	/* Unix time is decades past the boot time CLOCK_MONOTONIC counts from. */
	CHECK(grb_clock_realtime() > grb_clock_monotonic());
	CHECK(grb_clock_monotonic() >= m0);
	CHECK(t0 != 0);
}

/* A CTF event of every field kind, written and decoded by libgrb-ctf. */
GRB_CTF_ENUM(hdr_states, { "OFF", 0, 0 }, { "ON", 1, 1 })
#define HDR_FIELDS(F)     \
	F(u8, a)          \
	F(u16, b)         \
	F(u32, c)         \
	F(u64, d)         \
	F(s8, e)          \
	F(s16, f)         \
	F(s32, g)         \
	F(s64, h)         \
	F(f32, i)         \
	F(f64, j)         \
	F(string, k, 16)  \
	F(array_u8, l, 2) \
	F(seq_s64, m, 3)  \
	F(enum_u8, n, hdr_states)
GRB_CTF_EVENT(hdr_all, "header:all", 40, HDR_FIELDS)

static const struct grb_config cfg_ctf =
	GRB_CTF_CONFIG(GRB_ALLOC_GLOBAL, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD);

static void test_ctf_event(void)
{
	static const struct grb_ctf_event_desc *const events[] = { &hdr_all_event };
	const uint8_t l[2] = { 1, 2 };
	const int64_t m[3] = { -1, -2, -3 };
	struct grb_ctf_chan_data cd;
	struct grb_channel_attr attr;
	struct grb_channel *ch;
	struct grb_iter *it;
	struct grb_record rec;
	int n = 0;

	CHECK(grb_ctf_validate_events(events, 1, 4096) == 0);
	memset(&cd, 0, sizeof(cd));
	cd.events = events;
	cd.nr_events = 1;
	cd.by_id = (const struct grb_ctf_event_desc **)calloc(GRB_CTF_MAX_EVENT_ID + 1,
							      sizeof(*cd.by_id));
	CHECK(cd.by_id != NULL);
	if (!cd.by_id)
		return;
	cd.by_id[hdr_all_event.id] = &hdr_all_event;
	grb_channel_attr_init(&attr);
	attr.subbuf_size = 4096;
	attr.subbuf_count = 2;
	attr.client_data = &cd;
	ch = grb_channel_create(&cfg_ctf, &attr);
	CHECK(ch != NULL);
	if (!ch) {
		free(cd.by_id);
		return;
	}
	grb_channel_enable(ch);
	CHECK(hdr_all_write(&cfg_ctf, ch, 1, 2, 3, 4, -5, -6, -7, -8, 0.5f, 0.25, "header", l, m, 3,
			    1) == 0);
	/* Longer than its 16 bytes: refused whole. */
	CHECK(hdr_all_write(&cfg_ctf, ch, 1, 2, 3, 4, -5, -6, -7, -8, 0.5f, 0.25,
			    "seventeen bytes!!", l, m, 3, 1) == -E2BIG);
	grb_channel_finalize(ch);
	it = grb_iter_create(ch, 0, 0);
	CHECK(it != NULL);
	while (it && grb_iter_next(it, &rec) == 0) {
		CHECK(rec.event_id == hdr_all_event.id);
		/* 1+2+4+8 + 1+2+4+8 + 4+8 + "header" + 2 + 4+3*8 + 1 */
		CHECK(rec.payload_len == 15 + 15 + 12 + 7 + 2 + 28 + 1);
		n++;
	}
	CHECK(n == 1);
	if (it)
		grb_iter_destroy(it);
	grb_channel_destroy(ch);
	free(cd.by_id);
}

/* The ftrace client's inline writers and configuration macro. */
#define HDR_FT_FIELDS(F) F(u32, n) F(string, s)
GRB_FTRACE_EVENT(hdr_ft, "hdr", "ev", 100, HDR_FT_FIELDS)

static void test_ftrace(void)
{
	static const struct grb_config c = GRB_FTRACE_CONFIG_DEFAULT;
	static const struct grb_config cw = GRB_FTRACE_CONFIG_WAKEUP(
		GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_DISCARD, GRB_WAKEUP_WRITER);
	struct grb_channel_attr a;
	struct grb_channel *ch;
	struct grb_merge *m;
	struct grb_record rec;
	int n = 0;

	CHECK(cw.wakeup == GRB_WAKEUP_WRITER && cw.mode == GRB_MODE_DISCARD);
	CHECK(cw.record_header_size == grb_ftrace_header_size && cw.prev_ts_exact == 1);
	CHECK(cw.clock_read == grb_clock_monotonic && strcmp(cw.name, "ftrace") == 0);
	CHECK(c.record_header_size == grb_ftrace_header_size);
	CHECK(c.record_header_write == grb_ftrace_header_write);
	CHECK(c.packet_begin == grb_ftrace_packet_begin);
	CHECK(c.packet_end == grb_ftrace_packet_end);
	CHECK(c.record_decode == grb_ftrace_record_decode);
	CHECK(c.record_discard == grb_ftrace_record_discard);
	CHECK(grb_ftrace_tid() > 0);
	CHECK(hdr_ft_event.id == 100 && hdr_ft_event.nr_fields == 2);
	grb_ftrace_channel_attr_init(&a);
	a.subbuf_count = 4;
	ch = grb_channel_create(&c, &a);
	CHECK(ch != NULL);
	if (!ch)
		return;
	CHECK(hdr_ft_write(&c, ch, 1, "x") == 0);
	CHECK(grb_ftrace_print(&c, ch, 0, "text") == 0);
	CHECK(grb_ftrace_func_entry(&c, ch, 1) == 0);
	CHECK(grb_ftrace_func_exit(&c, ch, 1) == 0);
	grb_channel_finalize(ch);
	m = grb_merge_create(ch, 0);
	while (m && grb_merge_next(m, &rec) == 0)
		n++;
	CHECK(n == 4);
	if (m)
		grb_merge_destroy(m);
	grb_channel_destroy(ch);
}

/* Records with the ids: each carries its writer's pid and tid after the
 * header, in a child of fork too (the fork handler clears the copy the
 * child inherits); a discarded record leaves filler events with them. */
static const struct grb_config cfg_ids = GRB_SESSION_CONFIG;

/* Write two events and a discarded record into a new channel, read them
 * back: the events read, or -1 if one did not carry (pid, tid). */
static int ids_round(struct grb_ctf_chan_data *cd, int32_t pid, int32_t tid, int *fillers)
{
	const uint8_t l[2] = { 1, 2 };
	const int64_t m[3] = { -1, -2, -3 };
	struct grb_channel_attr attr;
	struct grb_channel *ch;
	struct grb_record rec;
	struct grb_ctx ctx;
	int32_t ids[2];
	uint32_t s;
	int n = 0, bad = 0;

	grb_channel_attr_init(&attr);
	attr.subbuf_size = 4096;
	attr.subbuf_count = 2;
	attr.nr_streams = 2;
	attr.client_data = cd;
	ch = grb_channel_create(&cfg_ids, &attr);
	if (!ch)
		return -1;
	grb_channel_enable(ch);
	bad |= hdr_all_write(&cfg_ids, ch, 1, 2, 3, 4, -5, -6, -7, -8, 0.5f, 0.25, "ids", l, m, 3,
			     1) != 0;
	ctx.event_id = hdr_all_event.id;
	ctx.payload_len = 40;
	bad |= grb_reserve(&cfg_ids, ch, &ctx) != 0;
	/* Event id 40: the extended header. */
	bad |= ctx.header_len != GRB_CTF_EXTENDED_SIZE + GRB_CTF_IDS_SIZE;
	/* A record reserved after it (as by a signal handler) keeps the
	 * discarded one from being given back: it becomes filler events. */
	bad |= hdr_all_write(&cfg_ids, ch, 1, 2, 3, 4, -5, -6, -7, -8, 0.5f, 0.25, "ids", l, m, 3,
			     1) != 0;
	grb_discard(&cfg_ids, &ctx);
	grb_channel_finalize(ch);
	/* Every record of the packets, decoded as a reader of the trace
	 * does: the event, then the filler events of the discarded one. */
	for (s = 0; s < 2; s++) {
		struct grb_reader *r = grb_reader_create(ch, s, 0);
		struct grb_packet pkt;

		while (r && grb_reader_get_next(r, &pkt) == 0) {
			uint64_t off = pkt.header_size, prev = pkt.info.ts_begin;

			while (off < pkt.info.content_size &&
			       grb_ctf_record_decode_ids(&cfg_ids, cd, pkt.data + off,
							 pkt.info.content_size - off, prev,
							 &rec) == 0) {
				memcpy(ids, (const char *)rec.payload - GRB_CTF_IDS_SIZE,
				       sizeof(ids));
				bad |= ids[0] != pid || ids[1] != tid;
				off += rec.len;
				prev = rec.ts;
				if (rec.discarded) {
					(*fillers)++;
					continue;
				}
				bad |= rec.event_id != hdr_all_event.id ||
				       strcmp((const char *)rec.payload + 42, "ids") != 0;
				n++;
			}
			bad |= off != pkt.info.content_size;
			grb_reader_put(r, &pkt);
		}
		if (r)
			grb_reader_destroy(r);
	}
	grb_channel_destroy(ch);
	return bad ? -1 : n;
}

static void test_ctf_ids(void)
{
	static const struct grb_ctf_event_desc *const events[] = { &hdr_all_event };
	struct grb_ctf_chan_data cd;
	int fillers = 0, status = 0;
	pid_t pid;

	CHECK(cfg_ids.record_header_size == grb_ctf_header_size_ids);
	CHECK(cfg_ids.record_header_write == grb_ctf_header_write_ids);
	CHECK(cfg_ids.record_decode == grb_ctf_record_decode_ids);
	CHECK(cfg_ids.record_discard == grb_ctf_record_discard_ids);
	CHECK(cfg_ids.min_record_size == GRB_CTF_COMPACT_SIZE + GRB_CTF_IDS_SIZE);
	memset(&cd, 0, sizeof(cd));
	cd.events = events;
	cd.nr_events = 1;
	cd.by_id = (const struct grb_ctf_event_desc **)calloc(GRB_CTF_MAX_EVENT_ID + 1,
							      sizeof(*cd.by_id));
	CHECK(cd.by_id != NULL);
	if (!cd.by_id)
		return;
	cd.by_id[hdr_all_event.id] = &hdr_all_event;
	CHECK(ids_round(&cd, (int32_t)getpid(), (int32_t)syscall(SYS_gettid), &fillers) == 2);
	CHECK(fillers >= 1);
	CHECK(grb_ctf_ids_tls.pid == (int32_t)getpid());
	pid = fork();
	if (pid == 0) {
		int f = 0;

		/* The parent's ids were inherited, and cleared at the fork. */
		_exit(ids_round(&cd, (int32_t)getpid(), (int32_t)getpid(), &f) == 2 && f ? 0 : 1);
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	free(cd.by_id);
}

int main(void)
{
	test_version();
	test_ftrace();
	test_config_macros();
	test_clocks();
	run_site("global_atomic", &cfg_global_atomic, site_global_atomic);
	run_site("cpu_atomic", &cfg_cpu_atomic, site_cpu_atomic);
	run_site("cpu_rseq", &cfg_cpu_rseq, site_cpu_rseq);
	run_site("thread_atomic", &cfg_thread_atomic, site_thread_atomic);
	run_site("thread_single", &cfg_thread_single, site_thread_single);
	run_site("global_wake", &cfg_global_wake, site_global_wake);
	test_ctf_event();
	test_ctf_ids();
	return check_exit("header_c");
}
