// SPDX-License-Identifier: MIT
/*
 * profile.c - `grb profile -- PROGRAM`: a sampling profiler for unmodified
 * programs.  Start the program with the session's socket (GRB_SESSION),
 * libgrb-preload-profile.so in LD_PRELOAD and the frequency in
 * GRB_PROFILE_FREQ; accept the perf channel each of its processes
 * registers (doc/session.md, with grb_perf_config() instead of the CTF
 * configuration), attach it and drain it into one perf.data with
 * libgrb-perf's writer; add each process's COMM and MMAP2 records (its
 * threads and executable mappings, looked up in /proc while it runs); end
 * when the program and all its children have exited, or on Ctrl-C.  Then
 * account for every sample of every process.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <grb/grb.h>
#include <grb/perf.h>
#include <grb/session.h>

#include "grb_tool.h"
#include "sessd.h"

#define POLL_MS 10
/* How often the live processes' threads and mappings are looked up. */
#define PROC_SCAN_NS 50000000ull
#define PROFILE_STREAMS 64u
#define PROFILE_SUBBUF_SIZE (64u * 1024u)
#define PROFILE_SUBBUF_COUNT 8u

const char profile_usage[] =
	"usage: grb profile [-F HZ] [-o FILE] [--folded FILE] -- PROGRAM [ARGS...]\n"
	"\n"
	"Sample PROGRAM, and every process it starts that calls exec, on the CPU\n"
	"time of each of its threads (as perf record -e cpu-clock), with a\n"
	"frame-pointer call chain, and write perf.data for perf report and perf\n"
	"script.  The program is not rebuilt: a preload library samples it.\n"
	"\n"
	"  -F, --freq HZ         samples per second of a thread's CPU time, 1 to\n"
	"                        100000 (default 999; the kernel's tick caps it)\n"
	"  -o, --output FILE     the perf.data to write (default perf.data)\n"
	"  -f, --folded FILE     also write folded stacks (flame graph input)\n"
	"  -h, --help            this help\n";

struct pconn {
	struct sessd_conn sc; /* first */
	struct grb_channel *ch; /* attached */
	int src; /* the writer's channel index, -1 before */
	int gone; /* its process will write no more */
	struct grb_perf_data_stats st; /* its records in perf.data, before close */
	struct profiler *p;
};

struct profiler {
	const char *out, *folded;
	uint32_t freq;
	char cmdline[1024];
	struct grb_perf_data *w;
	uint64_t last_scan;
	struct sessd sd;
};

static struct pconn *conn_at(const struct profiler *p, uint32_t i)
{
	return (struct pconn *)p->sd.conns[i];
}

/* A thread of a live process not seen before: its COMM record. */
static void add_comm(void *arg, uint32_t tid, const char *comm)
{
	struct pconn *c = (struct pconn *)arg;

	grb_perf_data_add_comm(c->p->w, (uint32_t)c->sc.hello.pid, tid, comm);
}

static void scan_process(struct profiler *p, struct pconn *c)
{
	c->p = p;
	sessd_new_threads(&c->sc, add_comm, c);
	/* The mappings the writer has are not added again. */
	grb_perf_data_add_maps(p->w, (uint32_t)c->sc.hello.pid);
}

static void on_conn_init(struct sessd *sd, struct sessd_conn *sc)
{
	(void)sd;
	((struct pconn *)sc)->src = -1;
}

static int on_hello(struct sessd *sd, const struct grb_session_hello *h, char *why, size_t size)
{
	const struct grb_config *cfg = grb_perf_config();

	(void)sd;
	if (strcmp(h->config, cfg->name) || h->alloc != (uint32_t)cfg->alloc ||
	    h->sync != (uint32_t)cfg->sync || h->mode != (uint32_t)cfg->mode ||
	    h->ts_bits != cfg->ts_bits || h->packet_header_size != cfg->packet_header_size) {
		snprintf(why, size, "grb profile attaches the perf client's channels only");
		return EPROTO;
	}
	return 0;
}

static void on_welcome(struct sessd *sd, struct sessd_conn *c, struct grb_session_welcome *w)
{
	(void)sd;
	w->subbuf_size = PROFILE_SUBBUF_SIZE;
	w->subbuf_count = PROFILE_SUBBUF_COUNT;
	w->nr_streams = PROFILE_STREAMS;
	w->switch_timer_us = 100000;
	/* The profiler drains on its timer and never waits. */
	w->wakeup = sessd_wakeup_polled(c);
}

/* The same pid registering again has called exec: its earlier channels
 * have no writer any more. */
static void on_exec(struct sessd *sd, struct sessd_conn *sc)
{
	struct pconn *o = (struct pconn *)sc;

	sessd_exec_channel(sd, sc, o->ch, &o->gone);
}

static int on_channel(struct sessd *sd, struct sessd_conn *sc, const struct grb_session_channel *m,
		      const int *fds, uint32_t nfd, char *why, size_t size)
{
	struct profiler *p = (struct profiler *)sd->arg;
	struct pconn *c = (struct pconn *)sc;

	if (m->nr_streams != nfd || nfd != sc->welcome.nr_streams ||
	    m->subbuf_size != sc->welcome.subbuf_size ||
	    m->subbuf_count != sc->welcome.subbuf_count) {
		snprintf(why, size, "not the geometry of the welcome");
		return EPROTO;
	}
	c->ch = grb_channel_attach(grb_perf_config(), fds, nfd, NULL);
	if (!c->ch) {
		int err = errno ? errno : EPROTO;

		snprintf(why, size, "%s", grb_last_error());
		return err;
	}
	if (!p->w) {
		struct grb_perf_data_attr a;

		grb_perf_data_attr_init(&a);
		a.sample_freq = p->freq;
		a.pid = (uint32_t)sc->hello.pid;
		a.cmdline = p->cmdline;
		a.folded_path = p->folded;
		p->w = grb_perf_data_create(p->out, c->ch, &a);
		if (!p->w) {
			fprintf(stderr, "grb profile: %s: %s\n", p->out, grb_last_error());
			exit(1);
		}
		c->src = 0;
	} else {
		c->src = grb_perf_data_add_channel(p->w, c->ch, (uint32_t)sc->hello.pid);
		if (c->src < 0) {
			int err = -c->src;

			grb_channel_destroy(c->ch);
			c->ch = NULL;
			snprintf(why, size, "the profiler cannot add the channel");
			return err;
		}
	}
	grb_perf_data_add_comm(p->w, (uint32_t)sc->hello.pid, (uint32_t)sc->hello.pid,
			       sc->hello.program);
	scan_process(p, c);
	return 0;
}

/* Look at the registered processes: new threads and mappings of the live
 * ones; those whose channel has no writer any more are gone.  Return: 1
 * if every registered process is gone. */
static int scan(struct profiler *p, int look_up)
{
	uint32_t i;
	int all = 1;

	for (i = 0; i < p->sd.nr_conns; i++) {
		struct pconn *c = conn_at(p, i);

		if (!c->ch) {
			if (c->sc.fd >= 0)
				all = 0; /* a registration under way */
			continue;
		}
		if (c->gone)
			continue;
		if (c->sc.fd < 0 && grb_channel_owner_alive(c->ch) == 0) {
			c->gone = 1;
			continue;
		}
		all = 0;
		if (look_up)
			scan_process(p, c);
	}
	return all;
}

/* The summary: every sample of every process accounted for.  Return 1 if
 * exact. */
static int report(struct profiler *p, const struct grb_perf_data_stats *tot)
{
	uint64_t tw = 0, tc = 0, tl = 0;
	uint32_t i, procs = 0, idle = 0;
	int exact = 1;

	printf("\n");
	for (i = 0; i < p->sd.nr_conns; i++) {
		struct pconn *c = conn_at(p, i);
		const struct grb_perf_data_stats *st = &c->st;
		struct grb_channel_stats cs;
		uint64_t committed = 0, lost, written;
		uint32_t s, threads = 0;
		int ok;

		if (!c->ch || c->src < 0 || grb_channel_read_stats(c->ch, &cs))
			continue;
		for (s = 0; s < cs.nr_streams; s++) {
			struct grb_stream_stats ss;

			if (!grb_channel_read_stream_stats(c->ch, s, &ss)) {
				committed += ss.committed;
				threads += ss.committed || ss.lost_total;
			}
		}
		lost = cs.lost_total - cs.lost[GRB_LOST_OVERWRITTEN];
		written = committed + lost;
		procs++;
		if (!written && !st->samples && !st->lost_samples && !st->corrupt) {
			idle++; /* ran too briefly for a sample: one line for all */
			continue;
		}
		/* Each committed record holds one SAMPLE (a loss rides in the
		 * record of the next sample of its thread); the losses no
		 * record carried are written at close. */
		ok = st->samples == committed && st->lost_samples <= lost && !st->corrupt;
		printf("process %d %s: %" PRIu64 " samples written = %" PRIu64
		       " in perf.data + %" PRIu64 " lost",
		       c->sc.hello.pid, c->sc.hello.program, written, st->samples, lost);
		if (lost)
			printf(" (full %" PRIu64 ", no stream %" PRIu64 ", other %" PRIu64
			       "; %" PRIu64 " reported in band)",
			       cs.lost[GRB_LOST_FULL], cs.lost[GRB_LOST_NO_STREAM],
			       lost - cs.lost[GRB_LOST_FULL] - cs.lost[GRB_LOST_NO_STREAM],
			       st->lost_samples);
		if (st->corrupt)
			printf(" + %" PRIu64 " corrupt", st->corrupt);
		printf(": %s; %u threads sampled%s\n", ok ? "exact" : "MISMATCH", threads,
		       c->gone ? "" : "; still running");
		exact &= ok;
		tw += written;
		tc += committed;
		tl += lost;
	}
	if (idle)
		printf("%u processes ran too briefly for a sample\n", idle);
	/* The file's own figures, as perf counts them. */
	exact &= tot->samples == tc && tot->lost_samples == tl;
	printf("total: %u processes, %" PRIu64 " samples written = %" PRIu64
	       " in perf.data + %" PRIu64 " lost: %s\n",
	       procs, tw, tot->samples, tot->lost_samples, exact ? "exact" : "MISMATCH");
	if (p->sd.refused)
		printf("refused registrations: %u\n", p->sd.refused);
	if (p->sd.child_reaped) {
		if (WIFSIGNALED(p->sd.child_status))
			printf("the program was killed by signal %d\n",
			       WTERMSIG(p->sd.child_status));
		else
			printf("the program exited with status %d\n",
			       WEXITSTATUS(p->sd.child_status));
	}
	return exact;
}

/* After each round of events: look at the processes (every
 * PROC_SCAN_NS), drain.  1 if every registered process is gone, -1 if
 * perf.data cannot be written. */
static int on_tick(struct sessd *sd)
{
	struct profiler *p = (struct profiler *)sd->arg;
	uint64_t now = now_ns();
	int all_gone = scan(p, now - p->last_scan >= PROC_SCAN_NS);

	if (now - p->last_scan >= PROC_SCAN_NS)
		p->last_scan = now;
	if (p->w) {
		long r = grb_perf_data_drain(p->w);

		if (r < 0 && r != -EAGAIN && r != -ENODATA) {
			fprintf(stderr, "grb profile: writing %s: %s\n", p->out, strerror((int)-r));
			return -1;
		}
	}
	return all_gone;
}

static const struct sessd_ops profile_ops = {
	.conn_size = sizeof(struct pconn),
	.conn_init = on_conn_init,
	.hello = on_hello,
	.welcome = on_welcome,
	.exec = on_exec,
	.channel = on_channel,
	.tick = on_tick,
	.malformed_channel = "malformed channel message (a perf channel has no events)",
	.ending = "the profile is ending",
};

int cmd_profile(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "freq", required_argument, NULL, 'F' },
		{ "output", required_argument, NULL, 'o' },
		{ "folded", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct profiler p;
	struct grb_perf_data_stats tot;
	char preload[PATH_MAX], freq[16];
	const char *env[] = { "GRB_PROFILE_FREQ", NULL, NULL };
	size_t o = 0;
	int c, i, exact, ret, status;
	uint32_t k;

	memset(&p, 0, sizeof(p));
	p.out = "perf.data";
	p.freq = 999;
	argv[0] = (char *)"grb profile";
	optind = 1;
	while ((c = getopt_long(argc, argv, "+F:o:f:h", opts, NULL)) != -1) {
		char *end;
		unsigned long v;

		switch (c) {
		case 'F':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || !v || v > 100000) {
				fprintf(stderr, "grb profile: -F %s: expected 1 to 100000 Hz\n",
					optarg);
				return 2;
			}
			p.freq = (uint32_t)v;
			break;
		case 'o':
			p.out = optarg;
			break;
		case 'f':
			p.folded = optarg;
			break;
		case 'h':
			fputs(profile_usage, stdout);
			return 0;
		default:
			fputs(profile_usage, stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fputs(profile_usage, stderr);
		return 2;
	}
	for (i = optind; i < argc && o + 1 < sizeof(p.cmdline); i++)
		o += (size_t)snprintf(p.cmdline + o, sizeof(p.cmdline) - o, "%s%s",
				      i > optind ? " " : "", argv[i]);
	if (find_preload("profile", preload, sizeof(preload)))
		return 2;
	if (sessd_listen(&p.sd, &profile_ops, &p, "grb profile", "grb-profile"))
		return 1;
	p.sd.timeout_ms = POLL_MS;
	if (sessd_start(&p.sd)) {
		sessd_close(&p.sd);
		return 1;
	}

	printf("grb %s: profiling %s at %u Hz into %s\n", grb_version(), argv[optind], p.freq,
	       p.out);
	fflush(stdout);
	snprintf(freq, sizeof(freq), "%u", p.freq);
	env[1] = freq;
	sessd_launch(&p.sd, argv + optind, preload, env);
	sessd_run(&p.sd); /* a failed drain said why: what was drained is written */
	if (p.sd.interrupted)
		printf("interrupted\n");
	status = 0;
	if (!p.w) {
		printf("no process registered: nothing was sampled (is %s a dynamically "
		       "linked program?)\n",
		       argv[optind]);
		status = 1;
		memset(&tot, 0, sizeof(tot));
	} else {
		/* The last records, the figures of each channel, then
		 * close (which writes the losses no record carried). */
		long r;

		do
			r = grb_perf_data_drain(p.w);
		while (r > 0);
		for (k = 0; k < p.sd.nr_conns; k++)
			if (conn_at(&p, k)->src >= 0)
				grb_perf_data_channel_stats(p.w, (uint32_t)conn_at(&p, k)->src,
							    &conn_at(&p, k)->st);
		ret = grb_perf_data_close(p.w, &tot);
		exact = report(&p, &tot);
		if (ret) {
			fprintf(stderr, "grb profile: %s: %s\n", p.out, strerror(-ret));
			status = 1;
		} else if (!exact) {
			status = 1;
		}
		printf("\nperf.data written to %s", p.out);
		if (p.folded)
			printf(", folded stacks to %s", p.folded);
		printf("\nOpen it with:  perf report -i %s\n", p.out);
	}
	for (k = 0; k < p.sd.nr_conns; k++)
		if (conn_at(&p, k)->ch)
			grb_channel_destroy(conn_at(&p, k)->ch);
	sessd_close(&p.sd);
	return status;
}
