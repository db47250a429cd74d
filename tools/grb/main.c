// SPDX-License-Identifier: MIT
/*
 * grb.c - the grb command line tool.
 *
 *	grb record [-o DIR] [--duration S] [--mode discard|overwrite]
 *		   [--subbuf-size N] [--subbuf-count N] [--threads N]
 *	grb view DIR [babeltrace2 arguments...]
 *
 * `record` runs a built-in workload (a simulated request-processing
 * server, several threads writing typed CTF events as fast as they can)
 * into a per-CPU channel and writes a CTF trace that babeltrace2 and Trace
 * Compass read; `view` shows a trace with babeltrace2.
 */
#include <errno.h>
#include <getopt.h>
#include <dirent.h>
#include <endian.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <grb/grb.h>
#include <grb/ctf.h>

#define MAX_THREADS 256

/* ------------------------------------------------------------------------ */
/* The workload's events: together they use every CTF field kind. */

GRB_CTF_ENUM(demo_methods, { "GET", 0, 0 }, { "POST", 1, 1 }, { "PUT", 2, 2 },
	     { "DELETE", 3, 3 })
GRB_CTF_ENUM(demo_states, { "IDLE", 0, 0 }, { "PARSING", 1, 1 }, { "WORKING", 2, 2 },
	     { "WAITING_IO", 3, 3 }, { "REPLYING", 4, 4 }, { "ERROR", 5, 255 })

#define REQUEST_START_FIELDS(F)                                                            \
	F(u64, req_id)                                                                     \
	F(u32, client_ip)                                                                  \
	F(u16, port)                                                                       \
	F(enum_u8, method, demo_methods)                                                   \
	F(string, path, 48)
GRB_CTF_EVENT(request_start, "grb_demo:request_start", 1, REQUEST_START_FIELDS)

#define REQUEST_END_FIELDS(F)                                                              \
	F(u64, req_id)                                                                     \
	F(u16, status)                                                                     \
	F(s64, latency_ns)                                                                 \
	F(u32, bytes_out)                                                                  \
	F(f32, cpu_share)
GRB_CTF_EVENT(request_end, "grb_demo:request_end", 2, REQUEST_END_FIELDS)

#define WORKER_STATE_FIELDS(F)                                                             \
	F(u8, worker)                                                                      \
	F(enum_u8, state, demo_states)                                                     \
	F(s32, queue_delta)
GRB_CTF_EVENT(worker_state, "grb_demo:worker_state", 3, WORKER_STATE_FIELDS)

#define LOG_FIELDS(F)                                                                      \
	F(s8, level)                                                                       \
	F(s16, code)                                                                       \
	F(string, msg, 96)
GRB_CTF_EVENT(log_msg, "grb_demo:log", 4, LOG_FIELDS)

#define LATENCY_HIST_FIELDS(F)                                                             \
	F(u8, worker)                                                                      \
	F(seq_u32, buckets, 16)                                                            \
	F(array_u16, percentiles_ns, 4)                                                    \
	F(f64, mean_us)
GRB_CTF_EVENT(latency_hist, "grb_demo:latency_histogram", 5, LATENCY_HIST_FIELDS)

/* Rare, and its id above 28 takes the extended event header. */
#define CONFIG_RELOAD_FIELDS(F)                                                            \
	F(u32, generation)                                                                 \
	F(array_s32, limits, 4)                                                            \
	F(s64, since_last_ns)                                                              \
	F(string, reason, 32)
GRB_CTF_EVENT(config_reload, "grb_demo:config_reload", 40, CONFIG_RELOAD_FIELDS)

static const struct grb_ctf_event_desc *const demo_events[] = {
	&request_start_event, &request_end_event, &worker_state_event,
	&log_msg_event,	      &latency_hist_event, &config_reload_event,
};

/* Per-CPU streams written with restartable sequences (atomics where they
 * cannot run: the banner says which). */
static const struct grb_config cfg_discard =
	GRB_CTF_CONFIG(GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_DISCARD);
static const struct grb_config cfg_overwrite =
	GRB_CTF_CONFIG(GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_OVERWRITE);
static const struct grb_config cfg_discard_tsc = GRB_CTF_CONFIG_CLOCK(
	GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_DISCARD, grb_clock_tsc);
static const struct grb_config cfg_overwrite_tsc = GRB_CTF_CONFIG_CLOCK(
	GRB_ALLOC_PER_CPU, GRB_SYNC_PER_CPU_RSEQ, GRB_MODE_OVERWRITE, grb_clock_tsc);

static const char *const paths[] = {
	"/", "/index.html", "/api/v1/users", "/api/v1/orders/42", "/static/app.js",
	"/api/v1/search?q=ring+buffer", "/healthz", "/api/v1/cart",
};

static const char *const messages[] = {
	"cache miss, fetching from the backing store",
	"slow client, response buffered",
	"retrying upstream connection",
	"request body larger than 64 KiB, streaming",
	"rate limit close for this client",
};

struct worker {
	pthread_t thread;
	uint32_t id;
	uint64_t ok, failed; /* writes that returned 0 / an error */
};

static int stop_writers;
static volatile sig_atomic_t interrupted;

static uint64_t now_ns(void)
{
	return grb_clock_monotonic();
}

/* A little computation between events, as a server would do. */
static uint32_t busy_work(uint32_t *seed, unsigned n)
{
	uint32_t x = *seed;
	unsigned i;

	for (i = 0; i < n; i++)
		x = x * 1664525u + 1013904223u;
	*seed = x;
	return x;
}

#define COUNT(w, call)                                                                     \
	do {                                                                               \
		if ((call) == 0)                                                           \
			ok++;                                                              \
		else                                                               \
			failed++;                                                          \
	} while (0)

static inline __attribute__((always_inline)) void workload(const struct grb_config *cfg,
							   struct grb_channel *ch,
							   struct worker *w)
{
	uint32_t seed = 0x9e3779b9u * (w->id + 1), generation = 0;
	uint32_t hist[16] = { 0 };
	uint64_t req = (uint64_t)w->id << 48, ok = 0, failed = 0, lat_sum = 0, last_reload = 0;
	uint8_t wid = (uint8_t)w->id;

	while (!__atomic_load_n(&stop_writers, __ATOMIC_RELAXED)) {
		uint32_t r = busy_work(&seed, 4);
		uint64_t t0 = now_ns(), lat;
		float share;

		req++;
		COUNT(w, request_start_write(cfg, ch, req, 0x0a000000u | (r >> 8), 443,
					     (uint8_t)(r & 3), paths[(r >> 4) & 7]));
		COUNT(w, worker_state_write(cfg, ch, wid, 2, 1));
		r = busy_work(&seed, 16 + (r & 31));
		if ((r & 15) == 0) {
			COUNT(w, worker_state_write(cfg, ch, wid, 3, 0));
			r = busy_work(&seed, 32);
		}
		if ((r & 63) == 1)
			COUNT(w, log_msg_write(cfg, ch, (int8_t)((r >> 6) % 5), (int16_t)(r >> 16),
					       messages[(r >> 8) % 5]));
		COUNT(w, worker_state_write(cfg, ch, wid, 4, 0));
		lat = now_ns() - t0;
		share = (float)(r & 0xffff) / 65536.0f;
		COUNT(w, request_end_write(cfg, ch, req, (r & 127) ? 200 : 503, (int64_t)lat,
					   512 + (r & 0x3fff), share));
		COUNT(w, worker_state_write(cfg, ch, wid, 0, -1));
		hist[lat < 1024 ? lat >> 6 : 15]++;
		lat_sum += lat;
		if ((req & 1023) == 0) {
			uint16_t pct[4] = { 0 };
			uint32_t i, acc = 0, nb = 16;
			const uint16_t marks[4] = { 512, 922, 1014, 1023 };

			for (i = 0; i < 16; i++) {
				uint32_t k;

				acc += hist[i];
				for (k = 0; k < 4; k++)
					if (!pct[k] && acc > marks[k])
						pct[k] = (uint16_t)((i + 1) * 64);
			}
			while (nb > 1 && !hist[nb - 1])
				nb--;
			COUNT(w, latency_hist_write(cfg, ch, wid, hist, nb, pct,
						    (double)lat_sum / 1024.0 / 1000.0));
			memset(hist, 0, sizeof(hist));
			lat_sum = 0;
		}
		if ((req & 0xfffff) == 0) {
			const int32_t limits[4] = { 1024, -1, 30000, (int32_t)generation };
			uint64_t now = now_ns();

			COUNT(w, config_reload_write(cfg, ch, ++generation, limits,
						     last_reload ? (int64_t)(now - last_reload) : 0,
						     "periodic reload"));
			last_reload = now;
		}
	}
	w->ok = ok;
	w->failed = failed;
}

static struct grb_channel *the_channel;

static void *writer_discard(void *arg)
{
	workload(&cfg_discard, the_channel, (struct worker *)arg);
	return NULL;
}

static void *writer_overwrite(void *arg)
{
	workload(&cfg_overwrite, the_channel, (struct worker *)arg);
	return NULL;
}

static void *writer_discard_tsc(void *arg)
{
	workload(&cfg_discard_tsc, the_channel, (struct worker *)arg);
	return NULL;
}

static void *writer_overwrite_tsc(void *arg)
{
	workload(&cfg_overwrite_tsc, the_channel, (struct worker *)arg);
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* Option parsing helpers. */

/* "256K", "1M", "4096", "2G", "64KiB": 1 on success. */
static int parse_size(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;
	uint64_t mul = 1;

	if (!s || !*s || *s == '-' || *s == '+')
		return 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return 0;
	switch (*end) {
	case 'k':
	case 'K':
		mul = 1024;
		end++;
		break;
	case 'm':
	case 'M':
		mul = 1024 * 1024;
		end++;
		break;
	case 'g':
	case 'G':
		mul = 1024 * 1024 * 1024;
		end++;
		break;
	}
	if (mul > 1 && (!strcmp(end, "iB") || !strcmp(end, "B")))
		end += strlen(end);
	if (*end || v > max / mul)
		return 0;
	*out = v * mul;
	return 1;
}

static int is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static void print_size(char *buf, size_t n, uint64_t v)
{
	if (v >= 1024 * 1024 && !(v % (1024 * 1024)))
		snprintf(buf, n, "%" PRIu64 " MiB", v / (1024 * 1024));
	else if (v >= 1024 && !(v % 1024))
		snprintf(buf, n, "%" PRIu64 " KiB", v / 1024);
	else
		snprintf(buf, n, "%" PRIu64 " B", v);
}

/* 1234567 -> "1,234,567" */
static const char *grouped(char *buf, size_t n, uint64_t v)
{
	char tmp[32];
	size_t len, i, o = 0;

	snprintf(tmp, sizeof(tmp), "%" PRIu64, v);
	len = strlen(tmp);
	for (i = 0; i < len && o + 2 < n; i++) {
		if (i && (len - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = 0;
	return buf;
}

/* ------------------------------------------------------------------------ */
/* grb record */

static const char record_usage[] =
	"usage: grb record [-o DIR] [--duration S] [--mode discard|overwrite]\n"
	"                  [--subbuf-size N] [--subbuf-count N] [--threads N] [--clock C]\n"
	"\n"
	"Run a built-in workload - a simulated request-processing server whose\n"
	"threads write typed events as fast as they can - into a per-CPU channel,\n"
	"and write it to DIR as a CTF trace (babeltrace2, Trace Compass).\n"
	"\n"
	"  -o, --output DIR      trace directory to create; it must not exist or be\n"
	"                        empty (default: grb-trace-YYYYMMDD-HHMMSS)\n"
	"  -d, --duration S      seconds to record, decimals allowed (default 1)\n"
	"  -m, --mode MODE       discard: a full ring drops new events (default);\n"
	"                        overwrite: a full ring drops its oldest packet\n"
	"  -s, --subbuf-size N   sub-buffer (packet) size, a power of two; K/M\n"
	"                        suffixes (default 256K)\n"
	"  -c, --subbuf-count N  sub-buffers per CPU, a power of two (default 8)\n"
	"  -t, --threads N       writer threads, 1 to 256 (default 4)\n"
	"  -k, --clock C         monotonic (CLOCK_MONOTONIC, the default) or tsc (the\n"
	"                        invariant TSC, calibrated; described in the metadata)\n"
	"  -h, --help            this help\n"
	"\n"
	"Ctrl-C stops the recording early; the trace is still complete.\n";

struct totals {
	uint64_t packets, events, bytes, packets_dropped, events_dropped;
	uint64_t lost[GRB_LOST_NR], lost_all;
};

static void sum_stats(struct grb_ctf_trace *t, uint32_t n, struct totals *tot)
{
	uint32_t i;
	int k;

	memset(tot, 0, sizeof(*tot));
	for (i = 0; i < n; i++) {
		struct grb_ctf_stream_stats st;

		if (grb_ctf_trace_stream_stats(t, i, &st))
			continue;
		tot->packets += st.packets;
		tot->events += st.events;
		tot->bytes += st.bytes;
		tot->packets_dropped += st.packets_dropped;
		tot->events_dropped += st.events_dropped;
		for (k = 0; k < GRB_LOST_NR; k++) {
			tot->lost[k] += st.lost[k];
			tot->lost_all += st.lost[k];
		}
	}
}

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

static double seconds_since(uint64_t t0)
{
	return (double)(now_ns() - t0) / 1e9;
}

/* The loss causes the summary shows, in enum order. */
#define NR_SHOWN_CAUSES 6

static void print_summary(struct grb_ctf_trace *t, uint32_t n, const char *chan_name,
			  const char *dir, double secs, uint64_t ok, uint64_t failed)
{
	struct grb_channel *ch = grb_ctf_trace_channel(t);
	struct totals tot;
	char a[32], b[32], c[32];
	uint32_t i;
	int k, any_dropped;
	uint64_t meta = 0;
	struct stat sb;
	char path[4096];

	sum_stats(t, n, &tot);
	any_dropped = tot.packets_dropped != 0;
	printf("\n%-6s %-14s %9s %13s %14s", "stream", "file", "packets", "events", "bytes");
	for (k = 0; k < NR_SHOWN_CAUSES; k++)
		printf(" %*s", k == GRB_LOST_OVERWRITTEN ? 11 : 8,
		       grb_lost_cause_name((enum grb_lost_cause)k));
	if (any_dropped)
		printf(" %12s", "dropped(I/O)");
	printf("\n");
	for (i = 0; i < n; i++) {
		struct grb_ctf_stream_stats st;
		struct grb_stream_stats ss;
		char file[160];

		if (grb_ctf_trace_stream_stats(t, i, &st))
			continue;
		if (st.packets) {
			uint32_t num = i;

			if (!grb_channel_read_stream_stats(ch, i, &ss) && ss.cpu != UINT32_MAX)
				num = ss.cpu;
			snprintf(file, sizeof(file), "%s_%u", chan_name, num);
		} else {
			snprintf(file, sizeof(file), "-");
		}
		printf("%-6u %-14s %9" PRIu64 " %13s %14s", i, file, st.packets,
		       grouped(a, sizeof(a), st.events), grouped(b, sizeof(b), st.bytes));
		for (k = 0; k < NR_SHOWN_CAUSES; k++)
			printf(" %*" PRIu64, k == GRB_LOST_OVERWRITTEN ? 11 : 8, st.lost[k]);
		if (any_dropped)
			printf(" %12s", grouped(c, sizeof(c), st.events_dropped));
		printf("\n");
	}
	printf("%-6s %-14s %9" PRIu64 " %13s %14s", "total", "", tot.packets,
	       grouped(a, sizeof(a), tot.events), grouped(b, sizeof(b), tot.bytes));
	for (k = 0; k < NR_SHOWN_CAUSES; k++)
		printf(" %*" PRIu64, k == GRB_LOST_OVERWRITTEN ? 11 : 8, tot.lost[k]);
	if (any_dropped)
		printf(" %12s", grouped(c, sizeof(c), tot.events_dropped));
	printf("\n\n");

	if (snprintf(path, sizeof(path), "%s/metadata", dir) < (int)sizeof(path) &&
	    !stat(path, &sb))
		meta = (uint64_t)sb.st_size;
	printf("%s events recorded in %.2f s: %.2f M events/s, %.1f MB/s to disk, "
	       "%.1f bytes/event on disk\n",
	       grouped(a, sizeof(a), tot.events), secs, (double)tot.events / secs / 1e6,
	       (double)tot.bytes / secs / 1e6,
	       tot.events ? (double)tot.bytes / (double)tot.events : 0.0);
	printf("on disk: %s bytes of packets + %" PRIu64 " bytes of metadata\n",
	       grouped(a, sizeof(a), tot.bytes), meta);
	printf("accounting: %s writes = %s on disk + %s dropped + %s lost: %s\n",
	       grouped(a, sizeof(a), ok + failed), grouped(b, sizeof(b), tot.events),
	       grouped(c, sizeof(c), tot.events_dropped),
	       grouped(path, sizeof(path), tot.lost_all),
	       ok + failed == tot.events + tot.events_dropped + tot.lost_all ? "exact"
									 : "MISMATCH");
}

static int cmd_record(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "duration", required_argument, NULL, 'd' },
		{ "mode", required_argument, NULL, 'm' },
		{ "clock", required_argument, NULL, 'k' },
		{ "subbuf-size", required_argument, NULL, 's' },
		{ "subbuf-count", required_argument, NULL, 'c' },
		{ "threads", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct grb_config *cfg = &cfg_discard;
	struct grb_tsc_calibration cal;
	void *(*writer_fn)(void *);
	int use_tsc = 0;
	const char *dir = NULL, *mode = "discard", *chan_name = "channel0";
	char defdir[64], sz[32], dirbuf[4096];
	double duration = 1.0;
	uint64_t subbuf_size = 256 * 1024, subbuf_count = 8, threads = 4;
	uint64_t t0, ok = 0, failed = 0, last_bytes = 0;
	double secs, last_t = 0, io_error_at = 0;
	struct grb_ctf_trace_attr attr;
	struct grb_ctf_trace *t;
	struct worker *w;
	struct sigaction sa;
	sigset_t block, old;
	int tty = isatty(STDOUT_FILENO), c, ret, status = 0;
	uint32_t i, n;

	argv[0] = (char *)"grb record"; /* for getopt's messages */
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:d:m:s:c:t:k:h", opts, NULL)) != -1) {
		char *end;

		switch (c) {
		case 'o':
			dir = optarg;
			break;
		case 'd':
			errno = 0;
			duration = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(duration > 0) || duration > 1e6) {
				fprintf(stderr, "grb record: --duration %s: expected seconds, "
						"more than 0 (e.g. 2 or 0.5)\n",
					optarg);
				return 2;
			}
			break;
		case 'm':
			if (!strcmp(optarg, "discard")) {
				cfg = &cfg_discard;
			} else if (!strcmp(optarg, "overwrite")) {
				cfg = &cfg_overwrite;
			} else {
				fprintf(stderr, "grb record: --mode %s: expected discard or "
						"overwrite\n",
					optarg);
				return 2;
			}
			mode = optarg;
			break;
		case 's':
			if (!parse_size(optarg, 32u << 20, &subbuf_size) || !is_pow2(subbuf_size) ||
			    subbuf_size < 4096) {
				fprintf(stderr, "grb record: --subbuf-size %s: expected a power of "
						"two from 4K to 32M (e.g. 64K, 256K, 1M)\n",
					optarg);
				return 2;
			}
			break;
		case 'c':
			if (!parse_size(optarg, 1u << 20, &subbuf_count) ||
			    !is_pow2(subbuf_count) || subbuf_count < 2) {
				fprintf(stderr, "grb record: --subbuf-count %s: expected a power "
						"of two from 2 to 1M (e.g. 4, 8, 64)\n",
					optarg);
				return 2;
			}
			break;
		case 'k':
			if (!strcmp(optarg, "tsc")) {
				use_tsc = 1;
			} else if (!strcmp(optarg, "monotonic")) {
				use_tsc = 0;
			} else {
				fprintf(stderr, "grb record: --clock %s: expected monotonic or tsc\n",
					optarg);
				return 2;
			}
			break;
		case 't':
			if (!parse_size(optarg, MAX_THREADS, &threads) || threads < 1) {
				fprintf(stderr, "grb record: --threads %s: expected 1 to %d\n",
					optarg, MAX_THREADS);
				return 2;
			}
			break;
		case 'h':
			fputs(record_usage, stdout);
			return 0;
		default:
			fputs(record_usage, stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "grb record: unexpected argument '%s'\n", argv[optind]);
		fputs(record_usage, stderr);
		return 2;
	}
	if (dir && strlen(dir) < sizeof(dirbuf)) {
		size_t len = strlen(dir);

		memcpy(dirbuf, dir, len + 1);
		while (len > 1 && dirbuf[len - 1] == '/')
			dirbuf[--len] = 0;
		dir = dirbuf;
	}
	if (!dir) {
		time_t now = time(NULL);
		struct tm tm;

		localtime_r(&now, &tm);
		strftime(defdir, sizeof(defdir), "grb-trace-%Y%m%d-%H%M%S", &tm);
		dir = defdir;
	}

	grb_ctf_trace_attr_init(&attr);
	attr.path = dir;
	attr.channel_name = chan_name;
	attr.events = demo_events;
	attr.nr_events = sizeof(demo_events) / sizeof(demo_events[0]);
	attr.chan.subbuf_size = (uint32_t)subbuf_size;
	attr.chan.subbuf_count = (uint32_t)subbuf_count;
	writer_fn = cfg == &cfg_overwrite ? writer_overwrite : writer_discard;
	if (use_tsc) {
		ret = grb_tsc_calibrate(&cal);
		if (ret) {
			fprintf(stderr, "grb record: --clock tsc: %s; use --clock monotonic\n",
				grb_last_error());
			return 2;
		}
		cfg = cfg == &cfg_overwrite ? &cfg_overwrite_tsc : &cfg_discard_tsc;
		writer_fn = cfg == &cfg_overwrite_tsc ? writer_overwrite_tsc : writer_discard_tsc;
		/* The metadata says what a cycle is and where 0 lies in Unix time. */
		attr.clock.name = "tsc";
		attr.clock.description = "invariant TSC, calibrated against CLOCK_MONOTONIC";
		attr.clock.freq = cal.freq_hz;
		attr.clock.offset_s = cal.epoch_offset_s;
		attr.clock.offset = cal.epoch_offset_cycles;
		attr.clock.offset_set = 1;
	}
	/* The workload writes flat out: poll often so the rings rarely fill. */
	attr.read_period_us = 1000;
	t = grb_ctf_trace_create(cfg, &attr);
	if (!t) {
		fprintf(stderr, "grb record: %s\n", grb_last_error());
		if (errno == EEXIST)
			fprintf(stderr, "grb record: choose another directory with -o DIR "
					"(a trace is never overwritten)\n");
		return 1;
	}
	the_channel = grb_ctf_trace_channel(t);
	n = grb_channel_nr_streams(the_channel);
	w = (struct worker *)calloc(threads, sizeof(*w));
	if (!w) {
		fprintf(stderr, "grb record: out of memory\n");
		grb_ctf_trace_destroy(t);
		return 1;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	print_size(sz, sizeof(sz), subbuf_size);
	printf("grb %s: recording %" PRIu64 " threads for %g s into %s (%s mode, %u per-CPU "
	       "streams of %" PRIu64 " x %s)\n",
	       grb_version(), threads, duration, dir, mode, n, subbuf_count, sz);
	{
		const char *why;

		if (grb_channel_sync(the_channel, &why) == GRB_SYNC_PER_CPU_RSEQ)
			printf("grb: writers use restartable sequences (no locked instruction)\n");
		else
			printf("grb: writers use atomic instructions: restartable sequences "
			       "unavailable (%s)\n",
			       why ? why : "?");
	}
	fflush(stdout);

	/* Only this thread takes Ctrl-C. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	t0 = now_ns();
	for (i = 0; i < threads; i++) {
		w[i].id = i;
		ret = pthread_create(&w[i].thread, NULL, writer_fn, &w[i]);
		if (ret) {
			fprintf(stderr, "grb record: starting writer thread %u: %s\n", i,
				strerror(ret));
			threads = i;
			status = 1;
			break;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	while (!status && !interrupted) {
		uint64_t el = now_ns() - t0, end = (uint64_t)(duration * 1e9);
		uint64_t next = (el / 500000000u + 1) * 500000000u; /* on the half second */
		struct timespec ts;

		if (el >= end)
			break;
		if (next > end)
			next = end;
		ts.tv_sec = (time_t)((next - el) / 1000000000u);
		ts.tv_nsec = (long)((next - el) % 1000000000u);
		nanosleep(&ts, NULL);
		if (grb_ctf_trace_error(t)[0]) {
			io_error_at = seconds_since(t0);
			break;
		}
		if (tty) {
			struct totals tot;
			double now = seconds_since(t0);

			sum_stats(t, n, &tot);
			printf("\r  %5.1f s  %8.2f M events/s  %8.1f MB/s to disk  lost %-12" PRIu64
			       "\033[K",
			       now, now > 0 ? (double)tot.events / now / 1e6 : 0.0,
			       now > last_t
				       ? (double)(tot.bytes - last_bytes) / (now - last_t) / 1e6
				       : 0.0,
			       tot.lost_all);
			fflush(stdout);
			last_bytes = tot.bytes;
			last_t = now;
		}
	}
	__atomic_store_n(&stop_writers, 1, __ATOMIC_RELAXED);
	for (i = 0; i < threads; i++) {
		pthread_join(w[i].thread, NULL);
		ok += w[i].ok;
		failed += w[i].failed;
	}
	secs = seconds_since(t0);
	if (tty)
		printf("\r\033[K");
	if (interrupted)
		printf("interrupted after %.2f s\n", secs);
	if (io_error_at > 0)
		printf("stopped after %.2f s: I/O error\n", io_error_at);
	ret = grb_ctf_trace_stop(t);

	print_summary(t, n, chan_name, dir, secs, ok, failed);
	if (ret) {
		struct totals tot;

		sum_stats(t, n, &tot);
		fflush(stdout);
		fprintf(stderr, "\ngrb record: %s\n", grb_ctf_trace_error(t));
		if (tot.packets)
			fprintf(stderr, "grb record: the trace keeps the %" PRIu64 " whole packets "
					"written before the error and is valid; the %" PRIu64
					" packets (%" PRIu64 " events) taken after it were "
					"dropped\n",
				tot.packets, tot.packets_dropped, tot.events_dropped);
		else
			fprintf(stderr, "grb record: no packet reached the disk; the trace is "
					"valid but empty (%" PRIu64 " packets, %" PRIu64
					" events dropped)\n",
				tot.packets_dropped, tot.events_dropped);
		status = 1;
	}
	printf("\nTrace written to %s\n", dir);
	printf("Open it with:  grb view %s\n", dir);
	printf("           or  babeltrace2 %s\n", dir);
	printf("           or  Trace Compass: File > Open Trace, select %s/metadata\n", dir);
	grb_ctf_trace_destroy(t);
	free(w);
	return status;
}

/* ------------------------------------------------------------------------ */
/* grb view */

static const char view_usage[] =
	"usage: grb view DIR [babeltrace2 arguments...]\n"
	"\n"
	"Print the events of the CTF trace in DIR with babeltrace2 (extra arguments\n"
	"are passed to it).  Without babeltrace2, print a per-packet summary read\n"
	"from the trace's index files.\n";

struct clock_desc {
	uint64_t freq, offset;
	int64_t offset_s;
};

/* The clock's freq and offsets from the metadata (a TSDL "clock" block). */
static void read_clock(const char *dir, struct clock_desc *clk)
{
	char path[4096], *text = NULL, *blk, *p;
	size_t len = 0;
	FILE *f;

	clk->freq = 1000000000u;
	clk->offset = 0;
	clk->offset_s = 0;
	snprintf(path, sizeof(path), "%s/metadata", dir);
	f = fopen(path, "r");
	if (!f)
		return;
	if (getdelim(&text, &len, 0, f) < 0) {
		fclose(f);
		free(text);
		return;
	}
	fclose(f);
	blk = strstr(text, "\nclock {");
	if (blk) {
		char *end = strstr(blk, "};");

		if (end)
			*end = 0;
		if ((p = strstr(blk, "\tfreq = ")))
			clk->freq = strtoull(p + 8, NULL, 10);
		if ((p = strstr(blk, "\toffset_s = ")))
			clk->offset_s = strtoll(p + 12, NULL, 10);
		if ((p = strstr(blk, "\toffset = ")))
			clk->offset = strtoull(p + 10, NULL, 10);
		if (!clk->freq)
			clk->freq = 1000000000u;
	}
	free(text);
}

static void print_time(const struct clock_desc *clk, uint64_t cycles)
{
	uint64_t c = cycles + clk->offset;
	int64_t s = clk->offset_s + (int64_t)(c / clk->freq);
	uint64_t ns = (c % clk->freq) * 1000000000u / clk->freq;
	time_t tt = (time_t)s;
	struct tm tm;
	char buf[32];

	localtime_r(&tt, &tm);
	strftime(buf, sizeof(buf), "%H:%M:%S", &tm);
	printf("%s.%09" PRIu64, buf, ns);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static uint64_t be64_at(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return be64toh(v);
}

/* A per-packet summary from index/<file>.idx of every stream file. */
static int view_index(const char *dir)
{
	struct clock_desc clk;
	struct dirent *de;
	char **names = NULL;
	size_t nr = 0, i;
	uint64_t all_packets = 0, all_bytes = 0;
	int bad = 0;
	DIR *d = opendir(dir);

	if (!d) {
		fprintf(stderr, "grb view: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	while ((de = readdir(d))) {
		char path[4096];
		struct stat sb;
		char **nn;

		if (de->d_name[0] == '.' || !strcmp(de->d_name, "metadata"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &sb) || !S_ISREG(sb.st_mode) || !sb.st_size)
			continue;
		nn = (char **)realloc(names, (nr + 1) * sizeof(*names));
		if (!nn)
			break;
		names = nn;
		names[nr] = strdup(de->d_name);
		if (names[nr])
			nr++;
	}
	closedir(d);
	qsort(names, nr, sizeof(*names), cmp_names);
	read_clock(dir, &clk);
	printf("%-14s %8s %12s %10s  %-18s  %-18s %10s\n", "stream", "seq", "offset", "bytes",
	       "begin", "end", "discarded");
	for (i = 0; i < nr; i++) {
		char path[4096];
		unsigned char hdr[16], e[72];
		uint64_t sum = 0, packets = 0;
		struct stat sb;
		uint32_t magic, entry_len;
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (stat(path, &sb))
			continue;
		snprintf(path, sizeof(path), "%s/index/%s.idx", dir, names[i]);
		f = fopen(path, "rb");
		if (!f) {
			printf("%-14s (no index: %s)\n", names[i], strerror(errno));
			bad = 1;
			continue;
		}
		if (fread(hdr, 1, 16, f) != 16) {
			printf("%-14s (index too short)\n", names[i]);
			fclose(f);
			bad = 1;
			continue;
		}
		memcpy(&magic, hdr, 4);
		memcpy(&entry_len, hdr + 12, 4);
		magic = be32toh(magic);
		entry_len = be32toh(entry_len);
		if (magic != 0xC1F1DCC1u || entry_len < 72) {
			printf("%-14s (not a CTF packet index)\n", names[i]);
			fclose(f);
			bad = 1;
			continue;
		}
		while (fread(e, 1, 72, f) == 72) {
			if (entry_len > 72 && fseek(f, (long)(entry_len - 72), SEEK_CUR))
				break;
			printf("%-14s %8" PRIu64 " %12" PRIu64 " %10" PRIu64 "  ", names[i],
			       be64_at(e + 64), be64_at(e), be64_at(e + 8) / 8);
			print_time(&clk, be64_at(e + 24));
			printf("  ");
			print_time(&clk, be64_at(e + 32));
			printf(" %10" PRIu64 "\n", be64_at(e + 40));
			sum += be64_at(e + 8) / 8;
			packets++;
		}
		fclose(f);
		all_packets += packets;
		all_bytes += sum;
		if (sum != (uint64_t)sb.st_size) {
			printf("%-14s index covers %" PRIu64 " of %" PRIu64 " bytes\n", names[i],
			       sum, (uint64_t)sb.st_size);
			bad = 1;
		}
	}
	printf("%zu stream files, %" PRIu64 " packets, %" PRIu64 " bytes\n", nr, all_packets,
	       all_bytes);
	for (i = 0; i < nr; i++)
		free(names[i]);
	free(names);
	return bad;
}

static int cmd_view(int argc, char **argv)
{
	char path[4096];
	struct stat sb;
	char **args;
	int i;

	if (argc < 2) {
		fputs(view_usage, stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(view_usage, stdout);
		return 0;
	}
	snprintf(path, sizeof(path), "%s/metadata", argv[1]);
	if (stat(path, &sb)) {
		fprintf(stderr, "grb view: %s is not a CTF trace directory (%s: %s)\n", argv[1],
			path, strerror(errno));
		return 1;
	}
	args = (char **)calloc((size_t)argc + 1, sizeof(*args));
	if (!args) {
		fprintf(stderr, "grb view: out of memory\n");
		return 1;
	}
	args[0] = (char *)"babeltrace2";
	args[1] = argv[1];
	for (i = 2; i < argc; i++)
		args[i] = argv[i];
	fflush(stdout);
	execvp("babeltrace2", args);
	free(args);
	if (errno != ENOENT) {
		fprintf(stderr, "grb view: running babeltrace2: %s\n", strerror(errno));
		return 1;
	}
	fprintf(stderr, "babeltrace2 is not installed (Debian: apt-get install babeltrace2)\n");
	fprintf(stderr, "grb view: a per-packet summary from the index files follows\n");
	view_index(argv[1]);
	return 1;
}

/* ------------------------------------------------------------------------ */

static const char main_usage[] =
	"usage: grb <command> [options]\n"
	"\n"
	"commands:\n"
	"  record   run a built-in multi-threaded workload and write a CTF trace\n"
	"  view     print a CTF trace with babeltrace2\n"
	"  help     this help (grb <command> --help for a command's options)\n"
	"\n"
	"example:\n"
	"  grb record -o /tmp/t1 --duration 1 && grb view /tmp/t1 | head\n";

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(main_usage, stderr);
		return 2;
	}
	if (!strcmp(argv[1], "record"))
		return cmd_record(argc - 1, argv + 1);
	if (!strcmp(argv[1], "view"))
		return cmd_view(argc - 1, argv + 1);
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		if (argc > 2 && !strcmp(argv[2], "record"))
			fputs(record_usage, stdout);
		else if (argc > 2 && !strcmp(argv[2], "view"))
			fputs(view_usage, stdout);
		else
			fputs(main_usage, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("grb %s\n", grb_version());
		return 0;
	}
	fprintf(stderr, "grb: unknown command '%s'\n\n", argv[1]);
	fputs(main_usage, stderr);
	return 2;
}
