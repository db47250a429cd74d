// SPDX-License-Identifier: MIT
/*
 * record.c - `grb record`: parse the options, create the CTF trace, run
 * the demo workload's writer threads (workload.c) for the duration, show
 * a status line on a terminal, then stop and print the per-stream summary.
 */
#include <errno.h>
#include <getopt.h>
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
#include <grb/session.h>

#include "grb_tool.h"
#include "relay.h"

#define MAX_THREADS 256

/* Long options without a short one (the relay's: relay.h). */
enum {
	OPT_KERNEL = 256,
	OPT_FORMAT,
	OPT_ATTACH,
};

static volatile sig_atomic_t interrupted;

/* ------------------------------------------------------------------------ */
/* Option parsing and number formatting helpers. */

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

const char record_usage[] =
	"usage: grb record [-o DIR] [--duration S] [--mode discard|overwrite]\n"
	"                  [--subbuf-size N] [--subbuf-count N] [--threads N] [--clock C]\n"
	"                  [--hostname NAME] [--relay URL [--live-timer MS]\n"
	"                  [--relay-fallback] [--relay-protocol 2.N]]\n"
	"       grb record --kernel [-o DIR|FILE] [--duration S] [--format ctf|ftrace]\n"
	"                  [--hostname NAME] [--relay URL [--live-timer MS] ...] (ctf)\n"
	"       grb record [-o DIR] [--preload LIST] [--streams N] [--subbuf-size N]\n"
	"                  [--subbuf-count N] [--wakeup writer|none] [--buffers DIR]\n"
	"                  [--hostname NAME] [--relay URL [--live-timer MS]\n"
	"                  [--relay-fallback] [--relay-protocol 2.N]] -- PROGRAM [ARGS...]\n"
	"       grb record --attach BUFFERS_DIR [-o DIR] [--duration S]\n"
	"\n"
	"Run a built-in workload - a simulated request-processing server whose\n"
	"threads write typed events as fast as they can - into a per-CPU channel,\n"
	"and write it to DIR as a CTF trace (babeltrace2, Trace Compass).\n"
	"\n"
	"With a PROGRAM: start it with the recording session in its environment\n"
	"(GRB_SESSION); it and every process it starts that is linked with libgrb\n"
	"or preloaded (--preload) registers its channel, and every event goes into\n"
	"the one trace in DIR, with its process and thread ids.  The recording ends\n"
	"when the program and all its children have exited (or on Ctrl-C), then\n"
	"each process's events are accounted for (doc/session.md).\n"
	"\n"
	"With --kernel: record the channels the kernel modules publish on /dev/grb\n"
	"(grb.ko and a probe module such as grb_sched.ko: context switches) until\n"
	"Ctrl-C, SIGTERM or --duration, then stop them, drain them and account for\n"
	"every record their writers committed meanwhile (doc/kernel.md); a CTF\n"
	"trace in DIR, or with --format ftrace the ftrace client's channels in a\n"
	"trace.dat FILE (default trace.dat) for trace-cmd report.\n"

	"With --attach: take over the buffers a `grb record --buffers BUFFERS_DIR`\n"
	"left when it was killed, while its programs write on: drain them in place\n"
	"into DIR until every process has ended (or Ctrl-C, or --duration), then\n"
	"account for each process: written = on disk + taken before (by the dead\n"
	"recorder) + lost.  Exit status 0 exact, 1 a mismatch or a trace that could\n"
	"not be written, 2 nothing taken over (its recorder still runs, ...), 3\n"
	"something not taken over (the rest is in the trace).\n"
	"\n"
	"  -o, --output DIR      trace directory to create; it must not exist or be\n"
	"                        empty (default: grb-trace-YYYYMMDD-HHMMSS)\n"
	"  -d, --duration S      seconds to record, decimals allowed (default 1;\n"
	"                        with --kernel, until Ctrl-C)\n"
	"  -m, --mode MODE       discard: a full ring drops new events (default);\n"
	"                        overwrite: a full ring drops its oldest packet\n"
	"  -s, --subbuf-size N   sub-buffer (packet) size, a power of two; K/M\n"
	"                        suffixes (default 256K)\n"
	"  -c, --subbuf-count N  sub-buffers per CPU, a power of two (default 8)\n"
	"  -t, --threads N       writer threads, 1 to 256 (default 4)\n"
	"  -k, --clock C         monotonic (CLOCK_MONOTONIC, the default) or tsc (the\n"
	"                        invariant TSC, calibrated; described in the metadata)\n"
	"  -p, --preload LIST    with a PROGRAM: preload instrumentation libraries,\n"
	"                        comma-separated: libc (malloc, calloc, realloc,\n"
	"                        free, memalign, ...), pthread (mutex lock, trylock,\n"
	"                        timedlock, unlock), cyg-profile (function entry and\n"
	"                        exit of -finstrument-functions programs)\n"
	"  -n, --streams N       with a PROGRAM: per-thread streams of each process,\n"
	"                        1 to 250 (default 32); a thread beyond them loses\n"
	"                        its events (counted)\n"
	"  -w, --wakeup W        with a PROGRAM: writer: the writer that fills a\n"
	"                        sub-buffer wakes the recorder (default); none: the\n"
	"                        recorder polls, the writers make no system call\n"
	"  -b, --buffers DIR     with a PROGRAM: the streams are files in DIR\n"
	"                        (created if missing; e.g. on /dev/shm, or a disk\n"
	"                        to outlive a crash) instead of memory files; each\n"
	"                        process's files go once its events are written\n"
	"      --hostname NAME   the host the trace says it comes from, and files it\n"
	"                        under on a relay (default: this machine's name; at\n"
	"                        most 63 bytes)\n"
	"      --relay URL       also stream the trace live to an lttng-relayd at\n"
	"                        net://HOST[:CTRL_PORT[:DATA_PORT]] (default ports\n"
	"                        5342 and 5343; doc/relay.md), as the session named\n"
	"                        after DIR; view it with babeltrace2 -i lttng-live\n"
	"                        net://HOST/host/HOSTNAME/SESSION.  The built-in\n"
	"                        workload's stream files are then <name>_<pid>_<i>\n"
	"      --live-timer MS   with --relay: a beacon for each idle stream every\n"
	"                        MS milliseconds (default 1000)\n"
	"      --relay-fallback  with --relay: a relay out of reach at the start\n"
	"                        does not stop the recording (the local trace only)\n"
	"      --relay-protocol 2.N  with --relay: announce protocol 2.N, 4 to 13\n"
	"                        (default 2.13; an older one for tests)\n"
	"      --kernel          record the kernel's channels (/dev/grb)\n"
	"      --format F        with --kernel: ctf (the default) or ftrace\n"
	"      --attach BUFFERS_DIR  take over the buffers of a killed grb record\n"
	"                        --buffers BUFFERS_DIR (with -o and --duration only)\n"
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

/* fed_pid: a fed trace's stream files are <chan_name>_<pid>_<i>, else
 * <chan_name>_<CPU>. */
static void print_summary(struct grb_ctf_trace *t, uint32_t n, struct grb_channel *ch,
			  const char *chan_name, int32_t fed_pid, const char *dir, double secs,
			  uint64_t ok, uint64_t failed)
{
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
		if (st.packets && fed_pid) {
			snprintf(file, sizeof(file), "%s_%d_%u", chan_name, (int)fed_pid, i);
		} else if (st.packets) {
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
	       grouped(c, sizeof(c), tot.events_dropped), grouped(path, sizeof(path), tot.lost_all),
	       ok + failed == tot.events + tot.events_dropped + tot.lost_all ? "exact" :
									       "MISMATCH");
}

/* Whether the list names known preloads, each once. */
static int preload_list_valid(const char *list)
{
	static const char *const known[] = { "libc", "pthread", "cyg-profile" };
	unsigned int seen = 0, i;

	for (;;) {
		size_t len = strcspn(list, ",");

		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (len == strlen(known[i]) && !strncmp(list, known[i], len))
				break;
		if (i == sizeof(known) / sizeof(known[0]) || seen & (1u << i))
			return 0;
		seen |= 1u << i;
		if (!list[len])
			return 1;
		list += len + 1;
	}
}

/* --buffers DIR: an absolute path to a directory (made if missing) short
 * enough for the session's WELCOME; NULL after saying why not. */
static char *buffers_dir(const char *dir)
{
	struct stat st;
	char *abs;

	if (mkdir(dir, 0700) && errno != EEXIST) {
		fprintf(stderr, "grb record: --buffers %s: %s\n", dir, strerror(errno));
		return NULL;
	}
	abs = realpath(dir, NULL);
	if (!abs) {
		fprintf(stderr, "grb record: --buffers %s: %s\n", dir, strerror(errno));
		return NULL;
	}
	if (stat(abs, &st) || !S_ISDIR(st.st_mode) || access(abs, W_OK | X_OK)) {
		fprintf(stderr, "grb record: --buffers %s: not a writable directory\n", dir);
		free(abs);
		return NULL;
	}
	if (strlen(abs) >= GRB_SESSION_PATH_MAX - 40) {
		fprintf(stderr,
			"grb record: --buffers %s: the path is too long (at most %u bytes)\n", dir,
			GRB_SESSION_PATH_MAX - 41);
		free(abs);
		return NULL;
	}
	return abs;
}

int cmd_record(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "duration", required_argument, NULL, 'd' },
		{ "mode", required_argument, NULL, 'm' },
		{ "clock", required_argument, NULL, 'k' },
		{ "subbuf-size", required_argument, NULL, 's' },
		{ "subbuf-count", required_argument, NULL, 'c' },
		{ "threads", required_argument, NULL, 't' },
		{ "preload", required_argument, NULL, 'p' },
		{ "streams", required_argument, NULL, 'n' },
		{ "wakeup", required_argument, NULL, 'w' },
		{ "buffers", required_argument, NULL, 'b' },
		RELAY_LONG_OPTIONS,
		{ "kernel", no_argument, NULL, OPT_KERNEL },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "attach", required_argument, NULL, OPT_ATTACH },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct workload *wl;
	struct grb_tsc_calibration cal;
	int use_tsc = 0, overwrite = 0;
	const char *dir = NULL, *mode = "discard", *chan_name = "channel0";
	char defdir[64], sz[32], dirbuf[4096];
	double duration = 1.0;
	uint64_t subbuf_size = 256 * 1024, subbuf_count = 8, threads = 4;
	uint64_t t0, ok = 0, failed = 0, last_bytes = 0;
	double secs, last_t = 0, io_error_at = 0;
	struct grb_ctf_trace_attr attr;
	struct grb_ctf_trace *t;
	struct grb_channel *ch;
	struct worker *w;
	struct sigaction sa;
	sigset_t block, old;
	int tty = isatty(STDOUT_FILENO), c, ret, status = 0, workload_opt = 0;
	const char *preload = NULL, *buffers = NULL, *hostname;
	uint64_t streams = 32;
	int kernel = 0, other_opt = 0, duration_set = 0, kernel_ftrace = 0, format_set = 0;
	const char *attach = NULL;
	uint32_t wakeup = GRB_WAKEUP_WRITER, wakeup_set = 0;
	struct relay_cli rc;
	struct relay *relay = NULL;
	struct grb_channel *wch = NULL; /* with --relay: the writers' channel */
	int unreached = 0, relay_ok = 1, bad;
	char host[256], err[512];
	int32_t fed_pid = 0; /* with --relay: the stream files' pid */
	uint32_t i, n;

	argv[0] = (char *)"grb record"; /* for getopt's messages */
	optind = 1;
	relay_cli_init(&rc);
	/* "+": options end at the PROGRAM, whose own options are its own. */
	while ((c = getopt_long(argc, argv, "+o:d:m:s:c:t:k:p:n:w:b:h", opts, NULL)) != -1) {
		char *end;

		if (c == 'd' || c == 'm' || c == 't' || c == 'k')
			workload_opt = c;
		ret = relay_cli_option(&rc, c, optarg, "grb record");
		if (ret > 0)
			return ret;
		if (!ret)
			continue; /* a relay option: checked below */
		if (c != 'o' && c != 'd' && c != OPT_KERNEL && c != OPT_FORMAT && c != OPT_ATTACH &&
		    c != 'h')
			other_opt = c;
		switch (c) {
		case 'o':
			dir = optarg;
			break;
		case 'd':
			errno = 0;
			duration = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(duration > 0) || duration > 1e6) {
				fprintf(stderr,
					"grb record: --duration %s: expected seconds, "
					"more than 0 (e.g. 2 or 0.5)\n",
					optarg);
				return 2;
			}
			duration_set = 1;
			break;
		case 'm':
			if (!strcmp(optarg, "discard")) {
				overwrite = 0;
			} else if (!strcmp(optarg, "overwrite")) {
				overwrite = 1;
			} else {
				fprintf(stderr,
					"grb record: --mode %s: expected discard or "
					"overwrite\n",
					optarg);
				return 2;
			}
			mode = optarg;
			break;
		case 's':
			if (!parse_size(optarg, 32u << 20, &subbuf_size) || !is_pow2(subbuf_size) ||
			    subbuf_size < 4096) {
				fprintf(stderr,
					"grb record: --subbuf-size %s: expected a power of "
					"two from 4K to 32M (e.g. 64K, 256K, 1M)\n",
					optarg);
				return 2;
			}
			break;
		case 'c':
			if (!parse_size(optarg, 1u << 20, &subbuf_count) ||
			    !is_pow2(subbuf_count) || subbuf_count < 2) {
				fprintf(stderr,
					"grb record: --subbuf-count %s: expected a power "
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
				fprintf(stderr,
					"grb record: --clock %s: expected monotonic or tsc\n",
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
		case 'p':
			if (!preload_list_valid(optarg)) {
				fprintf(stderr,
					"grb record: --preload %s: expected a comma-separated "
					"list of libc, pthread and cyg-profile\n",
					optarg);
				return 2;
			}
			preload = optarg;
			break;
		case 'n':
			if (!parse_size(optarg, GRB_SESSION_MAX_STREAMS, &streams) || !streams) {
				fprintf(stderr, "grb record: --streams %s: expected 1 to %u\n",
					optarg, GRB_SESSION_MAX_STREAMS);
				return 2;
			}
			break;
		case 'w':
			if (!strcmp(optarg, "writer")) {
				wakeup = GRB_WAKEUP_WRITER;
			} else if (!strcmp(optarg, "none")) {
				wakeup = GRB_WAKEUP_NONE;
			} else {
				fprintf(stderr,
					"grb record: --wakeup %s: expected writer or none\n",
					optarg);
				return 2;
			}
			wakeup_set = 1;
			break;
		case 'b':
			buffers = optarg;
			break;
		case OPT_KERNEL:
			kernel = 1;
			break;
		case OPT_FORMAT:
			if (!strcmp(optarg, "ctf")) {
				kernel_ftrace = 0;
			} else if (!strcmp(optarg, "ftrace")) {
				kernel_ftrace = 1;
			} else {
				fprintf(stderr, "grb record: --format %s: expected ctf or ftrace\n",
					optarg);
				return 2;
			}
			format_set = 1;
			break;
		case OPT_ATTACH:
			attach = optarg;
			break;
		case 'h':
			fputs(record_usage, stdout);
			return 0;
		default:
			fputs(record_usage, stderr);
			return 2;
		}
	}
	if (kernel && (optind < argc || other_opt)) {
		fprintf(stderr, "grb record: --kernel takes -o, --duration, --format and the "
				"relay's options only (the channels' geometry is the modules', "
				"doc/kernel.md)\n");
		return 2;
	}
	if (kernel && kernel_ftrace && (rc.url || rc.hostname || rc.relay_only)) {
		fprintf(stderr, "grb record: --relay and --hostname go with a CTF trace, not "
				"--format ftrace\n");
		return 2;
	}
	if (format_set && !kernel) {
		fprintf(stderr, "grb record: --format goes with --kernel\n");
		return 2;
	}
	if (attach &&
	    (other_opt || optind < argc || kernel || rc.url || rc.hostname || rc.relay_only)) {
		fprintf(stderr, "grb record: --attach BUFFERS_DIR takes -o DIR and --duration S "
				"only, and no PROGRAM\n");
		return 2;
	}
	if (optind >= argc && !kernel && !attach &&
	    (preload || streams != 32 || wakeup_set || buffers)) {
		fprintf(stderr,
			"grb record: --preload, --streams, --wakeup and --buffers go with a PROGRAM "
			"(grb record [options] -- PROGRAM [ARGS...])\n");
		return 2;
	}
	ret = relay_cli_check(&rc, "grb record");
	if (ret)
		return ret;
	if (optind < argc && workload_opt) {
		fprintf(stderr,
			"grb record: -%c is an option of the built-in workload, not of a "
			"PROGRAM's recording\n",
			workload_opt);
		return 2;
	}
	if (dir && strlen(dir) < sizeof(dirbuf)) {
		size_t len = strlen(dir);

		memcpy(dirbuf, dir, len + 1);
		while (len > 1 && dirbuf[len - 1] == '/')
			dirbuf[--len] = 0;
		dir = dirbuf;
	}
	if (!dir && kernel_ftrace) {
		dir = "trace.dat"; /* as grb ftrace record */
	} else if (!dir) {
		time_t now = time(NULL);
		struct tm tm;

		localtime_r(&now, &tm);
		strftime(defdir, sizeof(defdir), "grb-trace-%Y%m%d-%H%M%S", &tm);
		dir = defdir;
	}

	if (attach)
		return record_attach(attach, dir, duration_set ? duration : 0);
	if (kernel) {
		struct kernel_opts ko;

		ko.dir = dir;
		ko.ftrace = kernel_ftrace;
		ko.rc = &rc;
		ko.duration_ms = duration_set ? (uint64_t)(duration * 1000 + 0.5) : 0;
		if (duration_set && !ko.duration_ms)
			ko.duration_ms = 1;
		return record_kernel(&ko);
	}
	if (optind < argc) {
		struct program_opts po;

		po.dir = dir;
		po.preload = preload;
		po.subbuf_size = (uint32_t)subbuf_size;
		po.subbuf_count = (uint32_t)subbuf_count;
		po.streams = (uint32_t)streams;
		po.buffers = NULL;
		po.rc = &rc;
		if (buffers && !(po.buffers = buffers_dir(buffers)))
			return 2;
		if (wakeup_set && wakeup == GRB_WAKEUP_WRITER && streams > GRB_CHANNEL_WAIT_MAX) {
			fprintf(stderr, "grb record: --wakeup writer watches at most %u streams\n",
				GRB_CHANNEL_WAIT_MAX);
			return 2;
		}
		/* A waiter watches at most GRB_CHANNEL_WAIT_MAX streams. */
		po.wakeup = streams <= GRB_CHANNEL_WAIT_MAX ? wakeup : GRB_WAKEUP_NONE;
		ret = record_program(&po, argv + optind);
		free(po.buffers);
		return ret;
	}

	hostname = relay_cli_hostname(&rc, host, sizeof(host), "grb record", &bad);
	if (bad)
		return 2;
	grb_ctf_trace_attr_init(&attr);
	attr.path = dir;
	attr.channel_name = chan_name;
	attr.events = workload_events;
	attr.nr_events = workload_nr_events;
	attr.hostname = hostname; /* NULL: the machine's */
	attr.chan.subbuf_size = (uint32_t)subbuf_size;
	attr.chan.subbuf_count = (uint32_t)subbuf_count;
	wl = workload_select(overwrite, 0);
	if (use_tsc) {
		ret = grb_tsc_calibrate(&cal);
		if (ret) {
			fprintf(stderr, "grb record: --clock tsc: %s; use --clock monotonic\n",
				grb_last_error());
			return 2;
		}
		wl = workload_select(overwrite, 1);
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
	if (rc.url) {
		/*
		 * With a relay the trace is fed, as a PROGRAM's: the writers'
		 * channel lives in memory files, which the trace attaches as a
		 * source of this process, and this thread drains it and gives
		 * the relay its beacons (doc/relay.md).
		 */
		struct grb_channel_attr ca = attr.chan;
		struct stat st;
		int *fds, existed;

		ca.backing = GRB_BACKING_MEMFD;
		ca.name = chan_name;
		wch = grb_channel_create(wl->cfg, &ca);
		if (!wch) {
			fprintf(stderr, "grb record: %s\n", grb_last_error());
			return 1;
		}
		n = grb_channel_nr_streams(wch);
		fds = (int *)calloc(n ? n : 1, sizeof(*fds));
		for (i = 0; fds && i < n; i++) {
			struct grb_stream_shm shm;

			if (grb_channel_stream_shm(wch, i, &shm))
				break;
			fds[i] = shm.fd;
		}
		if (!fds || i < n) {
			fprintf(stderr, "grb record: %s\n",
				fds ? grb_last_error() : "out of memory");
			free(fds);
			grb_channel_destroy(wch);
			return 1;
		}
		existed = !stat(dir, &st);
		t = grb_ctf_trace_create_fed(wl->cfg, &attr);
		if (!t) {
			fprintf(stderr, "grb record: %s\n", grb_last_error());
			if (errno == EEXIST)
				fprintf(stderr, "grb record: choose another directory with -o DIR "
						"(a trace is never overwritten)\n");
			free(fds);
			grb_channel_destroy(wch);
			return 1;
		}
		relay = relay_cli_connect(&rc, "grb record", dir, hostname, wl->cfg->clock_read,
					  "recording", "recorded", &unreached);
		ret = 0;
		if (relay && relay_attach(relay, t, err, sizeof(err))) {
			fprintf(stderr, "grb record: relay %s: %s\n", rc.url, err);
			ret = -1;
		}
		if (!ret && (relay || unreached)) {
			ret = grb_ctf_trace_attach(t, fds, n, chan_name, (int32_t)getpid(),
						   workload_events, workload_nr_events);
			if (ret < 0)
				fprintf(stderr, "grb record: %s\n", grb_last_error());
		}
		free(fds);
		if (ret < 0 || (!relay && !unreached)) {
			relay_free(relay);
			grb_ctf_trace_destroy(t);
			grb_channel_destroy(wch);
			/* Nothing was traced: what creating the trace made goes. */
			snprintf(host, sizeof(host), "%s/metadata", dir);
			unlink(host);
			snprintf(host, sizeof(host), "%s/index", dir);
			rmdir(host);
			if (!existed)
				rmdir(dir);
			return 1;
		}
		fed_pid = (int32_t)getpid();
		ch = wch;
	} else {
		t = grb_ctf_trace_create(wl->cfg, &attr);
		if (!t) {
			fprintf(stderr, "grb record: %s\n", grb_last_error());
			if (errno == EEXIST)
				fprintf(stderr, "grb record: choose another directory with -o DIR "
						"(a trace is never overwritten)\n");
			return 1;
		}
		ch = grb_ctf_trace_channel(t);
		n = grb_channel_nr_streams(ch);
	}
	w = (struct worker *)calloc(threads, sizeof(*w));
	if (!w) {
		fprintf(stderr, "grb record: out of memory\n");
		relay_free(relay);
		grb_ctf_trace_destroy(t);
		grb_channel_destroy(wch);
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

		if (grb_channel_sync(ch, &why) == GRB_SYNC_PER_CPU_RSEQ)
			printf("grb: writers use restartable sequences (no locked instruction)\n");
		else
			printf("grb: writers use atomic instructions: restartable sequences "
			       "unavailable (%s)\n",
			       why ? why : "?");
	}
	if (relay) {
		char url[512];

		relay_viewer_url(relay, url, sizeof(url));
		printf("grb: streaming live to %s (protocol 2.%u, a beacon every %" PRIu64
		       " ms) into %s; view it with\n     babeltrace2 -i lttng-live %s\n",
		       rc.url, relay_minor(relay), rc.live_timer_ms, relay_path(relay), url);
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
		w[i].ch = ch;
		ret = pthread_create(&w[i].thread, NULL, wl->writer, &w[i]);
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
		uint64_t wake = next;
		struct timespec ts;

		if (el >= end)
			break;
		if (next > end)
			next = end;
		/* A fed trace is drained here, every millisecond. */
		wake = fed_pid && el + 1000000 < next ? el + 1000000 : next;
		ts.tv_sec = (time_t)((wake - el) / 1000000000u);
		ts.tv_nsec = (long)((wake - el) % 1000000000u);
		nanosleep(&ts, NULL);
		if (fed_pid) {
			grb_ctf_trace_poll(t);
			if (relay) {
				relay_tick(relay);
				relay_say_lost(relay, "grb record", "the recording goes on", dir);
			}
			if (now_ns() - t0 < next)
				continue;
		}
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
			       now > last_t ?
				       (double)(tot.bytes - last_bytes) / (now - last_t) / 1e6 :
				       0.0,
			       tot.lost_all);
			fflush(stdout);
			last_bytes = tot.bytes;
			last_t = now;
		}
	}
	workload_stop();
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
	/* The writers are done: a fed trace reads their channel to its end. */
	if (wch)
		grb_channel_finalize(wch);
	ret = grb_ctf_trace_stop(t);
	/* The last packets are queued: the session ends on the relay. */
	if (relay) {
		relay_ok = !relay_finish(relay);
		relay_say_lost(relay, "grb record", "the recording went", dir);
	}

	print_summary(t, n, ch, chan_name, fed_pid, dir, secs, ok, failed);
	if (relay)
		relay_report(relay, stdout);
	else if (unreached)
		printf("relay %s: out of reach at the start (--relay-fallback): nothing sent\n",
		       rc.url);
	if (unreached)
		relay_ok = 0;
	if (ret) {
		struct totals tot;

		sum_stats(t, n, &tot);
		fflush(stdout);
		fprintf(stderr, "\ngrb record: %s\n", grb_ctf_trace_error(t));
		if (tot.packets)
			fprintf(stderr,
				"grb record: the trace keeps the %" PRIu64 " whole packets "
				"written before the error and is valid; the %" PRIu64
				" packets (%" PRIu64 " events) taken after it were "
				"dropped\n",
				tot.packets, tot.packets_dropped, tot.events_dropped);
		else
			fprintf(stderr,
				"grb record: no packet reached the disk; the trace is "
				"valid but empty (%" PRIu64 " packets, %" PRIu64
				" events dropped)\n",
				tot.packets_dropped, tot.events_dropped);
		status = 1;
	}
	if (!status && !relay_ok)
		status = 3; /* the local trace is whole, the relay's copy is not */
	printf("\nTrace written to %s\n", dir);
	printf("Open it with:  grb view %s\n", dir);
	printf("           or  babeltrace2 %s\n", dir);
	printf("           or  Trace Compass: File > Open Trace, select %s/metadata\n", dir);
	relay_free(relay);
	grb_ctf_trace_destroy(t);
	grb_channel_destroy(wch);
	free(w);
	return status;
}
