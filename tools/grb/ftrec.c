// SPDX-License-Identifier: MIT
/*
 * ftrec.c - `grb ftrace record [-o FILE] [--preload LIST] -- PROGRAM`:
 * start the program with the session's socket (GRB_SESSION),
 * libgrb-preload-ftrace.so in LD_PRELOAD and what it records in
 * GRB_FTRACE_PRELOAD; accept the ftrace client's channel each of its
 * processes registers (doc/session.md, with GRB_FTRACE_CONFIG_DEFAULT
 * instead of the CTF configuration), attach it and drain every channel
 * into one trace.dat writer (libgrb-ftrace).  Each process's executable
 * mappings are read from /proc while it runs, so that the addresses the
 * records carry get names (kallsyms) from the files' ELF symbols; its
 * threads' names go to saved_cmdlines.  End when the program and all its
 * children have exited, or on Ctrl-C; write the file and account for
 * every record.
 *
 * --pipe prints the records as they are taken, as ftrace's trace_pipe
 * does: the writer hands each page it adds to on_page(), which adds it to
 * a second writer of this step's pages only; after each step that writer
 * writes its trace.dat into a memfd and grb_ftrace_show() prints it (in
 * time order across the CPUs within the step).  A page is added once, so
 * a record is printed once, and the records overwritten before a page was
 * taken are printed as its "EVENTS DROPPED" line, as in the file.
 *
 * --snapshot-on SIGUSR1 makes a flight recorder: nothing is drained while
 * the program runs (its per-CPU buffers overwrite their oldest pages);
 * each SIGUSR1 writes FILE.1, FILE.2, ... with what the buffers hold then,
 * read by snapshot readers (nothing consumed), and the end writes FILE
 * with what they hold at the end, as without the option.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <grb/grb.h>
#include <grb/ftrace.h>
#include <grb/perf.h>
#include <grb/session.h>

#include "grb_tool.h"
#include "sessd.h"

#define POLL_MS 10
#define PROC_SCAN_NS 50000000ull
#define FTREC_SUBBUF_COUNT 256u

const char ftrec_usage[] =
	"usage: grb ftrace record [-o FILE] [--preload LIST] [--pipe | --snapshot-on SIGUSR1]\n"
	"                         -- PROGRAM [ARGS...]\n"
	"\n"
	"Record PROGRAM, and every process it starts that calls exec, with grb's\n"
	"ftrace client (per-CPU flight-recorder buffers of ftrace pages) and\n"
	"write one trace.dat for trace-cmd report and grb ftrace show.  A preload\n"
	"library writes the records: the program is not rebuilt.\n"
	"\n"
	"  -o, --output FILE     the trace.dat to write (default trace.dat)\n"
	"  -p, --preload LIST    what is recorded, comma-separated (default\n"
	"                        cyg-profile): cyg-profile = the function graph of\n"
	"                        a program built with -finstrument-functions\n"
	"      --pipe            also print the records as they are taken, as\n"
	"                        ftrace's trace_pipe does (each once, in time order\n"
	"                        within a step of 10 ms; overwritten ones as\n"
	"                        \"CPU:n [k EVENTS DROPPED]\")\n"
	"      --snapshot-on SIGUSR1  flight recorder: take nothing while PROGRAM\n"
	"                        runs; each SIGUSR1 sent to grb writes FILE.1,\n"
	"                        FILE.2, ... with the buffers' current contents\n"
	"                        (not consumed); the end writes FILE as usual\n"
	"  -h, --help            this help\n";

struct map {
	uint64_t start, end, off;
	char *path;
};

struct fconn {
	struct sessd_conn sc; /* first */
	struct grb_channel *ch; /* attached */
	int gone; /* its process will write no more */
};

/* A file's symbols, loaded once. */
struct symfile {
	char *path;
	struct grb_perf_symtab *t; /* NULL: none */
};

/* A thread named, for --pipe's writers too. */
struct task {
	int32_t tid;
	char comm[16];
};

struct ftrec {
	const char *out;
	struct grb_ftrace_dat *d;
	struct grb_ftrace_dat_attr da;
	int pipe;
	int snap; /* --snapshot-on SIGUSR1 */
	uint32_t snaps; /* snapshots written */
	struct grb_ftrace_dat *step; /* --pipe: this step's pages; NULL: none yet */
	int pipe_err; /* -errno of the first failure of --pipe */
	uint64_t piped_pages;
	struct task *tasks;
	uint32_t nr_tasks, cap_tasks;
	uint64_t last_scan;
	struct map *maps; /* every executable mapping seen, of every process */
	uint32_t nr_maps, cap_maps;
	struct symfile *files;
	uint32_t nr_files;
	struct sessd sd;
};

static const struct grb_config ft_cfg = GRB_FTRACE_CONFIG_DEFAULT;

static struct fconn *conn_at(const struct ftrec *r, uint32_t i)
{
	return (struct fconn *)r->sd.conns[i];
}

/* The executable file mappings of a live process, each one new kept. */
static void scan_maps(struct ftrec *r, pid_t pid)
{
	char path[64], line[PATH_MAX + 128];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e, off;
		char perms[8];
		int at = 0;
		char *file;
		uint32_t i;

		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %n", &s, &e, perms, &off, &at) < 4 ||
		    !at || perms[2] != 'x')
			continue;
		file = line + at;
		file[strcspn(file, "\n")] = 0;
		if (file[0] != '/')
			continue;
		for (i = 0; i < r->nr_maps; i++)
			if (r->maps[i].start == s && r->maps[i].end == e && r->maps[i].off == off &&
			    !strcmp(r->maps[i].path, file))
				break;
		if (i < r->nr_maps)
			continue;
		if (r->nr_maps == r->cap_maps) {
			uint32_t cap = r->cap_maps ? 2 * r->cap_maps : 32;
			struct map *m = (struct map *)realloc(r->maps, cap * sizeof(*m));

			if (!m)
				break;
			r->maps = m;
			r->cap_maps = cap;
		}
		r->maps[r->nr_maps].path = strdup(file);
		if (!r->maps[r->nr_maps].path)
			break;
		r->maps[r->nr_maps].start = s;
		r->maps[r->nr_maps].end = e;
		r->maps[r->nr_maps].off = off;
		r->nr_maps++;
	}
	fclose(f);
}

/* A thread of a live process not seen before: saved_cmdlines names it
 * (and --pipe's writers). */
static void add_task(void *arg, uint32_t tid, const char *comm)
{
	struct ftrec *r = (struct ftrec *)arg;

	grb_ftrace_dat_add_task(r->d, (int32_t)tid, comm);
	if (!r->pipe && !r->snap)
		return;
	if (r->nr_tasks == r->cap_tasks) {
		uint32_t cap = r->cap_tasks ? 2 * r->cap_tasks : 16;
		struct task *t = (struct task *)realloc(r->tasks, cap * sizeof(*t));

		if (!t)
			return;
		r->tasks = t;
		r->cap_tasks = cap;
	}
	r->tasks[r->nr_tasks].tid = (int32_t)tid;
	snprintf(r->tasks[r->nr_tasks].comm, sizeof(r->tasks[0].comm), "%.15s", comm);
	r->nr_tasks++;
}

/* The threads of a live process: each new one named. */
static void scan_threads(struct ftrec *r, struct fconn *c)
{
	sessd_new_threads(&c->sc, add_task, r);
}

/* kallsyms: the function of the mapped file that holds addr. */
static int symbolize(void *arg, uint64_t addr, uint64_t *start, char *name, size_t size)
{
	struct ftrec *r = (struct ftrec *)arg;
	uint32_t i, k;

	for (i = 0; i < r->nr_maps; i++) {
		struct map *m = &r->maps[i];
		struct symfile *sf = NULL;
		uint64_t into;
		const char *n;

		if (addr < m->start || addr >= m->end)
			continue;
		for (k = 0; k < r->nr_files; k++)
			if (!strcmp(r->files[k].path, m->path))
				sf = &r->files[k];
		if (!sf) {
			struct symfile *fs = (struct symfile *)realloc(
				r->files, (r->nr_files + 1) * sizeof(*fs));

			if (!fs)
				return -1;
			r->files = fs;
			sf = &fs[r->nr_files];
			sf->path = strdup(m->path);
			if (!sf->path)
				return -1;
			sf->t = grb_perf_symtab_open(m->path);
			r->nr_files++;
		}
		n = grb_perf_symtab_find(sf->t, addr - m->start + m->off, &into);
		if (!n)
			continue;
		*start = addr - into;
		snprintf(name, size, "%s", n);
		return 0;
	}
	return -1;
}

/* --pipe: each page the file's writer adds goes to this step's writer. */
static void on_page(void *arg, uint32_t cpu, const void *page, uint64_t missed)
{
	struct ftrec *r = (struct ftrec *)arg;
	int ret;

	if (r->pipe_err)
		return;
	if (!r->step) {
		struct grb_ftrace_dat_attr a = r->da;

		a.on_page = NULL;
		r->step = grb_ftrace_dat_create(&a);
		if (!r->step) {
			r->pipe_err = -ENOMEM;
			return;
		}
	}
	ret = grb_ftrace_dat_add_page(r->step, cpu, page, missed);
	if (ret)
		r->pipe_err = ret;
	else
		r->piped_pages++;
}

/* --pipe: print this step's pages and start the next step.  The
 * processes' threads and mappings are looked at first, so that the names
 * are those the file will have. */
static void pipe_print(struct ftrec *r)
{
	struct grb_ftrace_dat *d = r->step;
	void *buf = MAP_FAILED;
	off_t size = 0;
	uint32_t i;
	int fd = -1, ret = 0;

	if (!d)
		return;
	r->step = NULL;
	for (i = 0; i < r->sd.nr_conns; i++) {
		struct fconn *c = conn_at(r, i);

		if (c->ch && !c->gone) {
			scan_maps(r, c->sc.hello.pid);
			scan_threads(r, c);
		}
	}
	for (i = 0; i < r->nr_tasks && !ret; i++)
		ret = grb_ftrace_dat_add_task(d, r->tasks[i].tid, r->tasks[i].comm);
	if (!ret) {
		fd = memfd_create("grb-ftrace-pipe", MFD_CLOEXEC);
		ret = fd < 0 ? -errno : grb_ftrace_dat_write(d, fd);
	}
	if (!ret) {
		size = lseek(fd, 0, SEEK_END);
		buf = size > 0 ? mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0) :
				 MAP_FAILED;
		ret = buf == MAP_FAILED ? -EIO : 0;
	}
	if (!ret)
		ret = grb_ftrace_show(buf, (size_t)size, stdout, GRB_FTRACE_SHOW_BODY);
	fflush(stdout);
	if (ret && !r->pipe_err)
		r->pipe_err = ret;
	if (buf != MAP_FAILED)
		munmap(buf, (size_t)size);
	if (fd >= 0)
		close(fd);
	grb_ftrace_dat_destroy(d);
}

static int on_hello(struct sessd *sd, const struct grb_session_hello *h, char *why, size_t size)
{
	(void)sd;
	if (strcmp(h->config, ft_cfg.name) || h->alloc != (uint32_t)ft_cfg.alloc ||
	    h->sync != (uint32_t)ft_cfg.sync || h->mode != (uint32_t)ft_cfg.mode ||
	    h->ts_bits != ft_cfg.ts_bits || h->packet_header_size != ft_cfg.packet_header_size) {
		snprintf(why, size,
			 "grb ftrace record attaches the ftrace client's default channels only");
		return EPROTO;
	}
	return 0;
}

static void on_welcome(struct sessd *sd, struct sessd_conn *c, struct grb_session_welcome *w)
{
	(void)sd;
	w->subbuf_size = GRB_FTRACE_PAGE_SIZE;
	w->subbuf_count = FTREC_SUBBUF_COUNT;
	w->nr_streams = GRB_SESSION_MAX_STREAMS; /* per-CPU: the CPUs decide */
	w->switch_timer_us = 100000;
	/* The recorder drains on its timer and never waits (the ftrace
	 * client offers no wake-up by default). */
	w->wakeup = sessd_wakeup_polled(c);
}

/* The same pid registering again has called exec. */
static void on_exec(struct sessd *sd, struct sessd_conn *sc)
{
	struct fconn *o = (struct fconn *)sc;

	sessd_exec_channel(sd, sc, o->ch, &o->gone);
}

static int on_channel(struct sessd *sd, struct sessd_conn *sc, const struct grb_session_channel *m,
		      const int *fds, uint32_t nfd, char *why, size_t size)
{
	struct ftrec *r = (struct ftrec *)sd->arg;
	struct fconn *c = (struct fconn *)sc;
	int ret;

	/* Per-CPU streams: as many as the program's CPUs, at most the
	 * welcome's. */
	if (m->nr_streams != nfd || !nfd || nfd > sc->welcome.nr_streams ||
	    m->subbuf_size != sc->welcome.subbuf_size ||
	    m->subbuf_count != sc->welcome.subbuf_count) {
		snprintf(why, size, "not the geometry of the welcome");
		return EPROTO;
	}
	c->ch = grb_channel_attach(&ft_cfg, fds, nfd, NULL);
	if (!c->ch) {
		int err = errno ? errno : EPROTO;

		snprintf(why, size, "%s", grb_last_error());
		return err;
	}
	/* The first drain creates the channel's readers (a flight
	 * recorder's too: they take nothing before the end). */
	ret = r->snap ? 0 : grb_ftrace_dat_drain(r->d, c->ch);
	if (ret) {
		grb_channel_destroy(c->ch);
		c->ch = NULL;
		snprintf(why, size, "the recorder cannot read the channel");
		return -ret;
	}
	scan_maps(r, sc->hello.pid);
	scan_threads(r, c);
	return 0;
}

/* Drain every channel; look at the live processes.  Return: 1 if every
 * registered process is gone and its channel drained, <0 an error. */
static int step(struct ftrec *r, int look_up)
{
	uint32_t i;
	int all = 1, ret;

	for (i = 0; i < r->sd.nr_conns; i++) {
		struct fconn *c = conn_at(r, i);

		if (!c->ch) {
			if (c->sc.fd >= 0)
				all = 0; /* a registration under way */
			continue;
		}
		if (!c->gone && c->sc.fd < 0 && grb_channel_owner_alive(c->ch) == 0)
			c->gone = 1; /* this drain reads it to its end */
		/* A flight recorder drains once, at the end. */
		ret = r->snap ? 0 : grb_ftrace_dat_drain(r->d, c->ch);
		if (ret)
			return ret;
		if (c->gone)
			continue;
		all = 0;
		if (look_up) {
			scan_maps(r, c->sc.hello.pid);
			scan_threads(r, c);
		}
	}
	return all;
}

/* One stream's pages, as a snapshot reader sees them now, into d.  The
 * records overwritten before a page (the first one's, and those of a gap)
 * are its missed events, as the stream counted them so far. */
static int snap_stream(struct grb_ftrace_dat *d, struct grb_channel *ch, uint32_t i,
		       uint64_t *pages, uint64_t *records)
{
	struct grb_reader *rd = grb_reader_create(ch, i, GRB_READER_SNAPSHOT);
	struct grb_stream_stats ss;
	struct grb_packet pkt;
	uint64_t next = 0, accounted = 0;
	uint32_t cpu = i;
	int ret;

	if (!rd)
		return -errno;
	if (!grb_channel_read_stream_stats(ch, i, &ss) && ss.cpu != UINT32_MAX)
		cpu = ss.cpu;
	while ((ret = grb_reader_get_next(rd, &pkt)) == 0 || ret == -EPROTO) {
		uint64_t missed = 0;

		if (ret == -EPROTO)
			continue; /* left in the ring; the gap reports it */
		if (pkt.header_size != GRB_FTRACE_PAGE_HEADER_SIZE ||
		    pkt.info.packet_size != GRB_FTRACE_PAGE_SIZE) {
			grb_reader_put(rd, &pkt);
			grb_reader_destroy(rd);
			return -EINVAL;
		}
		if (pkt.info.seq != next && !grb_channel_read_stream_stats(ch, i, &ss)) {
			uint64_t lost = ss.lost[GRB_LOST_OVERWRITTEN] + ss.corrupt_records;

			missed = lost > accounted ? lost - accounted : UINT64_MAX;
			accounted = lost;
		}
		next = pkt.info.seq + 1;
		ret = grb_ftrace_dat_add_page(d, cpu, pkt.data, missed);
		*pages += 1;
		*records += pkt.info.records;
		grb_reader_put(rd, &pkt);
		if (ret) {
			grb_reader_destroy(rd);
			return ret;
		}
	}
	grb_reader_destroy(rd);
	return ret == -ENODATA || ret == -EAGAIN ? 0 : ret;
}

/* --snapshot-on: write FILE.<n> with every channel's pages as they are
 * now, without consuming them. */
static int take_snapshot(struct ftrec *r)
{
	struct grb_ftrace_dat_attr a = r->da;
	uint64_t pages = 0, records = 0, overwritten = 0;
	struct grb_ftrace_dat *d;
	char path[PATH_MAX];
	uint32_t i, k;
	int ret = 0;

	a.on_page = NULL;
	d = grb_ftrace_dat_create(&a);
	if (!d)
		return -ENOMEM;
	r->snaps++;
	snprintf(path, sizeof(path), "%s.%u", r->out, r->snaps);
	for (i = 0; i < r->sd.nr_conns && !ret; i++) {
		struct fconn *c = conn_at(r, i);
		struct grb_channel_stats cs;

		if (!c->ch)
			continue;
		if (!c->gone) {
			scan_maps(r, c->sc.hello.pid);
			scan_threads(r, c);
		}
		for (k = 0; k < grb_channel_nr_streams(c->ch) && !ret; k++)
			ret = snap_stream(d, c->ch, k, &pages, &records);
		if (!grb_channel_read_stats(c->ch, &cs))
			overwritten += cs.lost[GRB_LOST_OVERWRITTEN];
	}
	for (i = 0; i < r->nr_tasks && !ret; i++)
		ret = grb_ftrace_dat_add_task(d, r->tasks[i].tid, r->tasks[i].comm);
	if (!ret)
		ret = grb_ftrace_dat_save(d, path);
	if (ret)
		fprintf(stderr, "grb ftrace record: snapshot %u: %s: %s\n", r->snaps, path,
			grb_last_error());
	else
		printf("snapshot %u: %" PRIu64 " records in %" PRIu64
		       " pages written to %s (%" PRIu64 " records overwritten before)\n",
		       r->snaps, records, pages, path, overwritten);
	fflush(stdout);
	grb_ftrace_dat_destroy(d);
	return ret;
}

/* After each round of events: drain every channel, look at the live
 * processes (every PROC_SCAN_NS), print this step's records (--pipe).  1
 * if every registered process is gone and its channel drained, -1 if a
 * drain failed. */
static int on_tick(struct sessd *sd)
{
	struct ftrec *r = (struct ftrec *)sd->arg;
	uint64_t now = now_ns();
	int all_gone = step(r, now - r->last_scan >= PROC_SCAN_NS);

	if (now - r->last_scan >= PROC_SCAN_NS)
		r->last_scan = now;
	pipe_print(r);
	while (r->snap && r->snaps < r->sd.usr1 && all_gone >= 0)
		if (take_snapshot(r))
			all_gone = -1;
	if (all_gone < 0) {
		fprintf(stderr, "grb ftrace record: %s\n", grb_last_error());
		return -1;
	}
	return all_gone;
}

static const struct sessd_ops ftrec_ops = {
	.conn_size = sizeof(struct fconn),
	.hello = on_hello,
	.welcome = on_welcome,
	.exec = on_exec,
	.channel = on_channel,
	.tick = on_tick,
	.malformed_channel = "malformed channel message (an ftrace channel has no events)",
	.ending = "the recording is ending",
};

int dat_tally(const char *prog, const char *path, struct dat_tally *t)
{
	struct grb_ftrace_file *f;
	struct grb_ftrace_entry e;
	int ret;

	memset(t, 0, sizeof(*t));
	ret = grb_ftrace_file_load(path, &f);
	if (ret) {
		fprintf(stderr, "%s: reading %s back: %s\n", prog, path, grb_last_error());
		return -1;
	}
	while ((ret = grb_ftrace_file_next(f, &e)) != -ENODATA) {
		if (ret) {
			fprintf(stderr, "%s: %s: %s\n", prog, path, grb_last_error());
			grb_ftrace_file_close(f);
			return -1;
		}
		if (e.missed == UINT64_MAX)
			t->unknown = 1;
		else
			t->missed += e.missed;
		if (e.id == GRB_FTRACE_ID_LOST && e.size >= 16) {
			uint64_t n;

			memcpy(&n, e.data + 8, 8);
			t->in_band += n;
		} else {
			t->data++;
		}
	}
	grb_ftrace_file_close(f);
	return 0;
}

int dat_tally_exact(const struct dat_tally *t, uint64_t committed, const uint64_t *lost,
		    uint64_t other)
{
	return !t->unknown && t->data == committed - lost[GRB_LOST_OVERWRITTEN] &&
	       t->missed == lost[GRB_LOST_OVERWRITTEN] && t->in_band <= other;
}

/* Every record accounted for, from the file as written: its data records
 * are those committed and not overwritten, its missed events those
 * overwritten, its grb/lost_events counts the other losses (a loss that
 * no later record of its stream carried is only in the figures).
 * Return 1 if exact. */
static int report(struct ftrec *r)
{
	uint64_t committed = 0, lost[GRB_LOST_NR], other = 0;
	struct dat_tally t;
	uint32_t i, s, procs = 0;
	int k, exact;

	memset(lost, 0, sizeof(lost));
	for (i = 0; i < r->sd.nr_conns; i++) {
		struct fconn *c = conn_at(r, i);
		struct grb_channel_stats cs;

		if (!c->ch || grb_channel_read_stats(c->ch, &cs))
			continue;
		procs++;
		for (s = 0; s < cs.nr_streams; s++) {
			struct grb_stream_stats ss;

			if (!grb_channel_read_stream_stats(c->ch, s, &ss))
				committed += ss.committed;
		}
		for (k = 0; k < GRB_LOST_NR; k++)
			lost[k] += cs.lost[k];
	}
	for (k = 0; k < GRB_LOST_NR; k++)
		if (k != GRB_LOST_OVERWRITTEN)
			other += lost[k];
	if (dat_tally("grb ftrace record", r->out, &t))
		return 0;
	exact = dat_tally_exact(&t, committed, lost, other);
	printf("\n%u processes: %" PRIu64 " records written = %" PRIu64 " in %s + %" PRIu64
	       " overwritten (%" PRIu64 "%s missed events in the file) + %" PRIu64
	       " lost (full %" PRIu64 ", no stream %" PRIu64 ", other %" PRIu64 "; %" PRIu64
	       " reported in band): %s\n",
	       procs, committed + other, t.data, r->out, lost[GRB_LOST_OVERWRITTEN], t.missed,
	       t.unknown ? "+?" : "", other, lost[GRB_LOST_FULL], lost[GRB_LOST_NO_STREAM],
	       other - lost[GRB_LOST_FULL] - lost[GRB_LOST_NO_STREAM], t.in_band,
	       exact ? "exact" : "MISMATCH");
	if (r->sd.refused)
		printf("refused registrations: %u\n", r->sd.refused);
	if (r->sd.child_reaped) {
		if (WIFSIGNALED(r->sd.child_status))
			printf("the program was killed by signal %d\n",
			       WTERMSIG(r->sd.child_status));
		else
			printf("the program exited with status %d\n",
			       WEXITSTATUS(r->sd.child_status));
	}
	return exact;
}

int cmd_ftrace_record(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "preload", required_argument, NULL, 'p' },
		{ "pipe", no_argument, NULL, 'P' },
		{ "snapshot-on", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ftrec r;
	char preload[PATH_MAX];
	const char *what = "cyg-profile";
	const char *env[] = { "GRB_FTRACE_PRELOAD", NULL, NULL };
	int c, status = 0, ret;
	uint32_t k;

	memset(&r, 0, sizeof(r));
	r.out = "trace.dat";
	argv[0] = (char *)"grb ftrace record";
	optind = 1;
	while ((c = getopt_long(argc, argv, "+o:p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			r.out = optarg;
			break;
		case 'p': {
			const char *w = optarg;

			/* Each word must be one the preload library knows. */
			while (*w) {
				size_t len = strcspn(w, ",");

				if (len != strlen("cyg-profile") ||
				    strncmp(w, "cyg-profile", len)) {
					fprintf(stderr,
						"grb ftrace record: --preload %s: expected "
						"cyg-profile\n",
						optarg);
					return 2;
				}
				w += len;
				if (*w == ',')
					w++;
			}
			what = optarg;
			break;
		}
		case 'P':
			r.pipe = 1;
			break;
		case 'S':
			if (strcmp(optarg, "SIGUSR1") && strcmp(optarg, "USR1")) {
				fprintf(stderr,
					"grb ftrace record: --snapshot-on %s: expected SIGUSR1\n",
					optarg);
				return 2;
			}
			r.snap = 1;
			break;
		case 'h':
			fputs(ftrec_usage, stdout);
			return 0;
		default:
			fputs(ftrec_usage, stderr);
			return 2;
		}
	}
	if (optind >= argc || (r.pipe && r.snap)) {
		fputs(ftrec_usage, stderr);
		return 2;
	}
	if (find_preload("ftrace", preload, sizeof(preload)))
		return 2;
	grb_ftrace_dat_attr_init(&r.da);
	r.da.symbolize = symbolize;
	r.da.symbolize_arg = &r;
	if (r.pipe) {
		r.da.on_page = on_page;
		r.da.on_page_arg = &r;
	}
	r.d = grb_ftrace_dat_create(&r.da);
	if (!r.d) {
		fprintf(stderr, "grb ftrace record: %s\n", grb_last_error());
		return 1;
	}
	if (sessd_listen(&r.sd, &ftrec_ops, &r, "grb ftrace record", "grb-ftrace")) {
		grb_ftrace_dat_destroy(r.d);
		return 1;
	}
	r.sd.timeout_ms = POLL_MS;
	r.sd.catch_usr1 = r.snap;
	if (sessd_start(&r.sd)) {
		grb_ftrace_dat_destroy(r.d);
		sessd_close(&r.sd);
		return 1;
	}

	printf("grb %s: recording %s (%s) into %s\n", grb_version(), argv[optind], what, r.out);
	if (r.snap)
		printf("flight recorder: kill -USR1 %d writes %s.1, %s.2, ...\n", (int)getpid(),
		       r.out, r.out);
	fflush(stdout);
	env[1] = what;
	sessd_launch(&r.sd, argv + optind, preload, env);
	if (sessd_run(&r.sd))
		status = 1; /* a drain failed: it said why */
	if (r.sd.interrupted)
		printf("interrupted\n");
	/* A snapshot asked for at the very end. */
	while (r.snap && r.snaps < r.sd.usr1)
		if (take_snapshot(&r))
			status = 1;
	/* The last pages: those of processes still running too. */
	for (k = 0; k < r.sd.nr_conns; k++)
		if (conn_at(&r, k)->ch && grb_ftrace_dat_drain(r.d, conn_at(&r, k)->ch))
			status = 1;
	pipe_print(&r);
	if (r.pipe_err) {
		fprintf(stderr, "grb ftrace record: --pipe: %s: not every record was printed\n",
			strerror(-r.pipe_err));
		status = 1;
	}
	if (!r.sd.nr_conns) {
		printf("no process registered: nothing was recorded (is %s a dynamically "
		       "linked program?)\n",
		       argv[optind]);
		status = 1;
	}
	ret = grb_ftrace_dat_save(r.d, r.out);
	if (ret) {
		fprintf(stderr, "grb ftrace record: %s: %s\n", r.out, grb_last_error());
		status = 1;
	} else {
		if (!report(&r))
			status = 1;
		printf("\ntrace.dat written to %s\nRead it with:  trace-cmd report %s\n", r.out,
		       r.out);
	}
	/* The writer's readers first, then the channels they read. */
	grb_ftrace_dat_destroy(r.d);
	for (k = 0; k < r.sd.nr_conns; k++)
		if (conn_at(&r, k)->ch)
			grb_channel_destroy(conn_at(&r, k)->ch);
	free(r.tasks);
	for (k = 0; k < r.nr_maps; k++)
		free(r.maps[k].path);
	free(r.maps);
	for (k = 0; k < r.nr_files; k++) {
		free(r.files[k].path);
		grb_perf_symtab_close(r.files[k].t);
	}
	free(r.files);
	sessd_close(&r.sd);
	return status;
}
