// SPDX-License-Identifier: MIT
/*
 * recover.c - `grb recover BUFFERS_DIR -o DIR`: the CTF trace of the
 * buffers a `grb record --buffers BUFFERS_DIR` left when its recorder and
 * its writers both died.  For each description <prefix>.chan
 * (chanfile.h) the stream files <prefix>_<i> are copied into memory files
 * first (the buffers are never written: it can run again), the dead
 * recorder's claim on them is released in the copies, and the fed CTF
 * trace reads, as it would from a writer that died, every record the read
 * path trusts.  The summary accounts for each process: written = recovered
 * + taken before (by the dead recorder, grb_channel_consumed_records) +
 * lost + corrupt; then what could not be recovered, and why.
 */
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <grb/grb.h>
#include <grb/ctf.h>
#include <grb/session.h>

#include "chanfile.h"
#include "grb_tool.h"
#include "relay.h"

static const struct grb_config recover_cfg = GRB_SESSION_CONFIG;
static const struct grb_config recover_cfg_overwrite = GRB_SESSION_CONFIG_OVERWRITE;

const char recover_usage[] =
	"usage: grb recover BUFFERS_DIR -o DIR [--hostname NAME] [--relay URL\n"
	"                   [--live-timer MS] [--relay-fallback] [--relay-protocol 2.N]]\n"
	"\n"
	"Write the CTF trace of the buffers `grb record --buffers BUFFERS_DIR` left\n"
	"when both its recorder and the programs it traced died (SIGKILL, a crash):\n"
	"every record the read path trusts, per process, with the accounting\n"
	"(written = recovered + taken before by the dead recorder + lost + corrupt)\n"
	"and what could not be recovered, and why.  The buffers are copied, never\n"
	"changed: it can run again.  A process still running, or a recorder still\n"
	"draining it, is refused.\n"
	"\n"
	"  -o, --output DIR   the trace directory (created; must not exist)\n"
	"      --hostname NAME  the host the trace says it comes from, and files it\n"
	"                     under on a relay (default: this machine's name)\n"
	"      --relay URL    also send the trace to an lttng-relayd at\n"
	"                     net://HOST[:CTRL_PORT[:DATA_PORT]], as grb record\n"
	"                     --relay does (doc/relay.md), as the session named\n"
	"                     after DIR; --live-timer, --relay-fallback and\n"
	"                     --relay-protocol as for grb record\n"
	"\n"
	"Exit status: 0 every process recovered with its accounting exact (and the\n"
	"relay got all of it); 1 an accounting mismatch, a trace that could not be\n"
	"written, or a relay that refused the start; 2 usage; 3 something could not\n"
	"be recovered (the rest is in the trace), or the relay's copy is not\n"
	"complete.\n";

/* A process the buffers hold. */
struct rproc {
	struct chanfile cf;
	int src; /* the trace's source, -1: not recovered */
	uint64_t taken_before; /* by the dead recorder: returned, not corrupt */
	uint64_t corrupt_before;
};

struct recover {
	const char *bufdir;
	struct grb_ctf_trace *t;
	struct rproc *p;
	uint32_t nr;
	struct chanfile_problems problems;
};

/* A memory file holding a copy of bufdir/file, sealed against resizing;
 * -errno with why. */
static int copy_to_memfd(const char *dir, const char *file, char *why, size_t size)
{
	char path[PATH_MAX], buf[65536];
	struct stat st;
	int in, out, ret = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	in = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in < 0) {
		ret = -errno;
		snprintf(why, size, "%s: %s", file, strerror(errno));
		return ret;
	}
	if (fstat(in, &st) || !S_ISREG(st.st_mode)) {
		close(in);
		snprintf(why, size, "%s: not a regular file", file);
		return -EPROTO;
	}
	out = memfd_create("grb-recover", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (out < 0) {
		ret = -errno;
		close(in);
		snprintf(why, size, "memfd_create: %s", strerror(-ret));
		return ret;
	}
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf)), w = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0)
				ret = -errno;
			break;
		}
		while (w < n) {
			ssize_t k = write(out, buf + w, (size_t)(n - w));

			if (k < 0) {
				ret = -errno;
				break;
			}
			w += k;
		}
		if (ret)
			break;
	}
	close(in);
	if (!ret && fcntl(out, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL))
		ret = -errno;
	if (ret) {
		close(out);
		snprintf(why, size, "copying %s: %s", file, strerror(-ret));
		return ret;
	}
	return out;
}

static void close_fds(int *fds, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/*
 * One process: check that its recorder and writer are gone, copy its
 * streams, release the dead recorder's claim and count what it took (in
 * the copies), then attach the copies to the trace.  0, or -1 with the
 * problem recorded.
 */
static int recover_one(struct recover *r, struct rproc *p)
{
	const struct chanfile_head *h = &p->cf.h;
	int fds[GRB_SESSION_MAX_STREAMS];
	char why[384], file[CHANFILE_PREFIX_MAX + 16];
	const struct grb_config *cfg = h->mode == GRB_MODE_OVERWRITE ? &recover_cfg_overwrite :
								       &recover_cfg;
	struct grb_channel *ch;
	uint32_t i;
	int ret;

	if (chanfile_proc_start(h->recorder_pid) == h->recorder_start) {
		chanfile_problem(
			&r->problems,
			"process %d %s (%s_*): its recorder (pid %d) still runs and drains it: "
			"not recovered",
			h->pid, h->program, h->prefix, h->recorder_pid);
		return -1;
	}
	for (i = 0; i < h->nr_streams; i++)
		fds[i] = -1;
	for (i = 0; i < h->nr_streams; i++) {
		snprintf(file, sizeof(file), "%s_%u", h->prefix, i);
		fds[i] = copy_to_memfd(r->bufdir, file, why, sizeof(why));
		if (fds[i] < 0) {
			fds[i] = -1;
			chanfile_problem(&r->problems, "process %d %s (%s_*): %s: not recovered",
					 h->pid, h->program, h->prefix, why);
			close_fds(fds, h->nr_streams);
			return -1;
		}
	}
	/* A first view of the copies: the headers checked, the writer's
	 * liveness, and what the dead recorder consumed. */
	ch = grb_channel_attach(cfg, fds, h->nr_streams, NULL);
	if (!ch) {
		chanfile_problem(&r->problems,
				 "process %d %s (%s_*): a bad stream: %s: not recovered", h->pid,
				 h->program, h->prefix, grb_last_error());
		close_fds(fds, h->nr_streams);
		return -1;
	}
	if (grb_channel_nr_streams(ch) != h->nr_streams) {
		chanfile_problem(&r->problems,
				 "process %d %s (%s_*): %u streams, its description says %u",
				 h->pid, h->program, h->prefix, grb_channel_nr_streams(ch),
				 h->nr_streams);
		grb_channel_destroy(ch);
		close_fds(fds, h->nr_streams);
		return -1;
	}
	if (grb_channel_owner_alive(ch) != 0) {
		chanfile_problem(
			&r->problems,
			"process %d %s (%s_*): still running: not recovered (its records are "
			"still being written; recover it once it has ended)",
			h->pid, h->program, h->prefix);
		grb_channel_destroy(ch);
		close_fds(fds, h->nr_streams);
		return -1;
	}
	p->taken_before = 0;
	p->corrupt_before = 0;
	for (i = 0; i < h->nr_streams; i++) {
		struct grb_stream_stats st;
		uint64_t n;

		ret = grb_channel_consumed_records(ch, i, &n);
		if (!ret)
			ret = grb_channel_read_stream_stats(ch, i, &st);
		if (ret || st.corrupt_records > n) {
			chanfile_problem(
				&r->problems,
				"process %d %s (%s_%u): what its recorder took is not known (%s): not "
				"recovered",
				h->pid, h->program, h->prefix, i,
				ret ? grb_last_error() : "more corrupt records than consumed");
			grb_channel_destroy(ch);
			close_fds(fds, h->nr_streams);
			return -1;
		}
		p->taken_before += n - st.corrupt_records;
		p->corrupt_before += st.corrupt_records;
	}
	/* The recorder is gone: its readers' claim goes (in the copies). */
	grb_channel_consumer_gone(ch);
	grb_channel_destroy(ch);
	ret = grb_ctf_trace_attach_cfg(r->t, cfg, fds, h->nr_streams, h->name, h->pid, p->cf.events,
				       h->nr_events);
	close_fds(fds, h->nr_streams);
	if (ret < 0) {
		chanfile_problem(&r->problems, "process %d %s (%s_*): %s: not recovered", h->pid,
				 h->program, h->prefix, grb_last_error());
		return -1;
	}
	p->src = ret;
	grb_ctf_trace_source_end(r->t, (uint32_t)p->src);
	return 0;
}

/* The summary line of a process; 1 if its accounting is exact. */
static int report_one(struct recover *r, const struct rproc *p, uint64_t *tot)
{
	const struct chanfile_head *h = &p->cf.h;
	struct grb_ctf_source_stats st;
	uint64_t written, extra;
	char causes[256];
	size_t o = 0;
	int k, ok;

	if (grb_ctf_trace_source_stats(r->t, (uint32_t)p->src, &st))
		return 0;
	/* committed counts the records overwritten since (overwrite mode):
	 * they are among the losses. */
	written = st.committed + st.lost_total - st.lost[GRB_LOST_OVERWRITTEN];
	extra = st.events_dropped + st.corrupt_records;
	ok = st.ended &&
	     st.committed == st.events + p->taken_before + extra + st.lost[GRB_LOST_OVERWRITTEN];
	causes[0] = 0;
	for (k = 0; k < GRB_LOST_NR; k++)
		if (st.lost[k] && o < sizeof(causes))
			o += (size_t)snprintf(causes + o, sizeof(causes) - o, "%s%s %" PRIu64,
					      o ? ", " : " (",
					      grb_lost_cause_name((enum grb_lost_cause)k),
					      st.lost[k]);
	if (o && o < sizeof(causes))
		snprintf(causes + o, sizeof(causes) - o, ")");
	printf("process %d %s (%s): %" PRIu64 " written = %" PRIu64 " recovered + %" PRIu64
	       " taken before + %" PRIu64 " lost%s",
	       h->pid, h->program, h->name, written, st.events, p->taken_before, st.lost_total,
	       causes);
	if (st.events_dropped)
		printf(" + %" PRIu64 " dropped (I/O)", st.events_dropped);
	if (st.corrupt_records)
		printf(" + %" PRIu64 " corrupt", st.corrupt_records);
	printf(": %s; %u of %u streams written\n", ok ? "exact" : "MISMATCH", st.streams_written,
	       st.nr_streams);
	tot[0] += written;
	tot[1] += st.events;
	tot[2] += p->taken_before;
	tot[3] += st.lost_total;
	tot[4] += extra;
	tot[5] += st.streams_written;
	return ok;
}

int cmd_recover(int argc, char **argv)
{
	static const struct option longopts[] = { { "output", required_argument, NULL, 'o' },
						  RELAY_LONG_OPTIONS,
						  { "help", no_argument, NULL, 'h' },
						  { NULL, 0, NULL, 0 } };
	struct grb_ctf_trace_attr attr;
	struct recover r;
	struct relay_cli rc;
	struct relay *relay = NULL;
	const char *out = NULL, *hostname;
	char **names, why[384], host[256];
	uint64_t tot[6] = { 0 };
	uint32_t i, nr_names, procs = 0, unrecovered;
	int c, exact = 1, tries, status, ret, bad, unreached = 0, relay_ok = 1, existed;
	struct stat sb;

	memset(&r, 0, sizeof(r));
	relay_cli_init(&rc);
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		ret = relay_cli_option(&rc, c, optarg, "grb recover");
		if (ret > 0)
			return ret;
		if (!ret)
			continue;
		if (c == 'o') {
			out = optarg;
		} else if (c == 'h') {
			fputs(recover_usage, stdout);
			return 0;
		} else {
			fputs(recover_usage, stderr);
			return 2;
		}
	}
	if (!out || optind != argc - 1) {
		fputs(recover_usage, stderr);
		return 2;
	}
	ret = relay_cli_check(&rc, "grb recover");
	if (ret)
		return ret;
	hostname = relay_cli_hostname(&rc, host, sizeof(host), "grb recover", &bad);
	if (bad)
		return 2;
	r.bufdir = argv[optind];
	names = chanfile_list_dir(r.bufdir, &nr_names);
	if (!names && access(r.bufdir, R_OK | X_OK)) {
		fprintf(stderr, "grb recover: %s: %s\n", r.bufdir, strerror(errno));
		return 2;
	}
	r.p = (struct rproc *)calloc(nr_names ? nr_names : 1, sizeof(*r.p));
	if (!r.p) {
		fprintf(stderr, "grb recover: out of memory\n");
		return 1;
	}
	for (i = 0; i < nr_names; i++) {
		if (!chanfile_is_desc(names[i]))
			continue;
		if (chanfile_read(r.bufdir, names[i], &r.p[r.nr].cf, why, sizeof(why))) {
			chanfile_problem(&r.problems, "%s: %s: its streams are not recovered",
					 names[i], why);
			continue;
		}
		r.p[r.nr].src = -1;
		r.nr++;
	}

	grb_ctf_trace_attr_init(&attr);
	attr.path = out;
	attr.event_context = GRB_CTF_CONTEXT_IDS;
	attr.hostname = hostname; /* NULL: the machine's */
	existed = !stat(out, &sb);
	r.t = grb_ctf_trace_create_fed(&recover_cfg, &attr);
	if (!r.t) {
		fprintf(stderr, "grb recover: %s\n", grb_last_error());
		return 1;
	}
	/* After the trace, which may refuse its directory; before the
	 * sources, whose streams the relay gets as they are attached. */
	if (rc.url) {
		relay = relay_cli_connect(&rc, "grb recover", out, hostname, NULL, "recovering",
					  "recovered", &unreached);
		if (relay) {
			/* The records are older than their streams' attach. */
			relay_records_predate(relay);
			if (relay_attach(relay, r.t, why, sizeof(why))) {
				fprintf(stderr, "grb recover: relay %s: %s\n", rc.url, why);
				relay_free(relay);
				relay = NULL;
			}
		}
		if (!relay && !unreached) {
			grb_ctf_trace_destroy(r.t);
			/* Nothing was recovered: what creating the trace made goes. */
			snprintf(host, sizeof(host), "%s/metadata", out);
			unlink(host);
			snprintf(host, sizeof(host), "%s/index", out);
			rmdir(host);
			if (!existed)
				rmdir(out);
			return 1;
		}
	}
	printf("grb %s: recovering %s into %s (%u processes described)\n", grb_version(), r.bufdir,
	       out, r.nr);
	if (relay) {
		char url[512];

		relay_viewer_url(relay, url, sizeof(url));
		printf("grb: sending it to %s (protocol 2.%u) into %s; view it with\n"
		       "     babeltrace2 -i lttng-live %s\n",
		       rc.url, relay_minor(relay), relay_path(relay), url);
	}
	for (i = 0; i < r.nr; i++)
		recover_one(&r, &r.p[i]);
	/* Every source's writer is gone: each poll takes what is delivered,
	 * then the open packets in place; a few rounds end them all. */
	for (tries = 0; tries < 1000; tries++) {
		int all = 1;

		if (grb_ctf_trace_poll(r.t) < 0)
			break;
		for (i = 0; i < r.nr; i++) {
			struct grb_ctf_source_stats st;

			if (r.p[i].src >= 0 &&
			    (grb_ctf_trace_source_stats(r.t, (uint32_t)r.p[i].src, &st) ||
			     !st.ended))
				all = 0;
		}
		if (all)
			break;
	}
	status = grb_ctf_trace_stop(r.t);
	/* Every packet is queued: the session ends on the relay. */
	if (relay) {
		relay_ok = !relay_finish(relay);
		relay_say_lost(relay, "grb recover", "the trace went", out);
	}
	printf("\n");
	for (i = 0; i < r.nr; i++) {
		if (r.p[i].src < 0)
			continue;
		procs++;
		exact &= report_one(&r, &r.p[i], tot);
	}
	printf("total: %u processes, %" PRIu64 " written = %" PRIu64 " recovered + %" PRIu64
	       " taken before + %" PRIu64 " lost%s in %" PRIu64 " stream files: %s\n",
	       procs, tot[0], tot[1], tot[2], tot[3], tot[4] ? " + dropped or corrupt" : "", tot[5],
	       exact ? "exact" : "MISMATCH");
	/* Stream files no description covers (the recorder died before it
	 * wrote one, or it was removed): not decodable. */
	for (i = 0; i < nr_names; i++) {
		if (chanfile_is_desc(names[i]) || chanfile_described(names, nr_names, names[i]))
			continue;
		chanfile_problem(&r.problems, "%s: no description (.chan) for it: not recovered",
				 names[i]);
	}
	chanfile_problems_print(&r.problems, "could not recover:");
	if (relay)
		relay_report(relay, stdout);
	else if (unreached)
		printf("relay %s: out of reach at the start (--relay-fallback): nothing sent\n",
		       rc.url);
	if (unreached)
		relay_ok = 0;
	if (status)
		fprintf(stderr, "grb recover: %s\n", grb_ctf_trace_error(r.t));
	printf("\nTrace written to %s\n", out);
	unrecovered = r.problems.nr;
	relay_free(relay);
	grb_ctf_trace_destroy(r.t);
	for (i = 0; i < r.nr; i++)
		chanfile_free(&r.p[i].cf);
	chanfile_problems_free(&r.problems);
	chanfile_names_free(names, nr_names);
	free(r.p);
	if (status || !exact)
		return 1;
	return unrecovered || !relay_ok ? 3 : 0;
}
